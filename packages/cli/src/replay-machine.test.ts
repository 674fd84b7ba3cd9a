import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { formatMachineTimelineSvg, replayOnMachine } from '@mmkit/scenario';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

async function mmkit(argv: string[], options: { ttyErr?: boolean } = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: options.ttyErr ?? false, columns: 100 },
    env: {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'mmkit-mreplay-cli-'));

/** A small program's lackey trace: text fetches, a stack written and read, a heap page read then written. */
function lackey(): string {
  const lines = ['==7== Lackey, an example Valgrind tool'];
  for (let r = 0; r < 20; r++) {
    for (let i = 0; i < 8; i++) lines.push(`I  ${(0x401000 + i * 0x400 + r * 4).toString(16)},4`);
    lines.push(` S 1ffefff${(r % 8).toString(16)}f8,8`);
    lines.push(` L 1ffefff${(r % 8).toString(16)}f8,8`);
    lines.push(` L ${(0x4a0000 + (r % 3) * 0x1000).toString(16)},8`);
    lines.push(` M ${(0x4a0000 + (r % 5) * 0x1000).toString(16)},4`);
  }
  return `${lines.join('\n')}\n`;
}

/** The same references as page numbers and kinds (I fetch 2, L read 0, S/M write 1). */
function lackeyPages(): { pages: number[]; kinds: number[] } {
  const pages: number[] = [];
  const kinds: number[] = [];
  for (const line of lackey().split('\n')) {
    const m = /^\s*([ILSM])\s+([0-9a-f]+),/.exec(line);
    if (!m) continue;
    pages.push(Math.floor(Number.parseInt(m[2]!, 16) / 4096));
    kinds.push(m[1] === 'I' ? 2 : m[1] === 'L' ? 0 : 1);
  }
  return { pages, kinds };
}

describe('mmkit replay --machine', () => {
  it('--json: the API result with the trace named, equal to replayOnMachine on the same references', async () => {
    const dir = tmp();
    const file = join(dir, 'prog.lackey');
    writeFileSync(file, lackey());
    const r = await mmkit(['replay', '--machine', 'pc', '--arch', 'x86-pae', '--tlb', '16', '--json', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    const want = await replayOnMachine(lackeyPages(), { board: 'pc', arch: 'x86-pae', tlbEntries: 16 });
    expect(json).toEqual({
      trace: { file, format: 'lackey', dataOnly: false },
      ...JSON.parse(JSON.stringify(want)),
    });
    expect(Object.keys(json)).toEqual([
      'trace',
      'machine',
      'accesses',
      'reads',
      'writes',
      'fetches',
      'tlb',
      'walks',
      'faults',
      'faultCounters',
      'cow',
      'swapIns',
      'swapOuts',
      'rssPages',
      'peakRssPages',
      'pid',
      'forked',
      'regions',
      'timeline',
    ]);
    expect(json.accesses).toBe(240);
    expect([json.reads, json.writes, json.fetches]).toEqual([40, 40, 160]);
    const data = await mmkit(['replay', '--machine', 'pc', '--data-only', '--json', file]);
    expect([JSON.parse(data.stdout).accesses, JSON.parse(data.stdout).fetches]).toEqual([80, 0]);
  });

  it('text summary; gzip; --fork; the SVG timeline written atomically, equal to the renderer', async () => {
    const dir = tmp();
    const file = join(dir, 'prog.lackey.gz');
    writeFileSync(file, gzipSync(lackey()));
    const svg = join(dir, 'timeline.svg');
    const r = await mmkit([
      'replay',
      '--machine',
      'virt',
      '--ram',
      '512',
      '--fork',
      '100',
      '--sample-every',
      '40',
      '--svg',
      svg,
      file,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`${file} (lackey) on virt/aarch64, 512 MiB of RAM, TLB 4096 entries`);
    expect(lines[2]).toBe('accesses      240 (40 reads, 40 writes, 160 fetches)');
    expect(r.stdout).toMatch(/\nfork {10}after 100 accesses; the child \(pid 2\) ran the rest\n/);
    expect(r.stdout).toMatch(/\ncopy-on-write [1-9]\d* copies/);
    const want = await replayOnMachine(lackeyPages(), {
      board: 'virt',
      ramMiB: 512,
      fork: 100,
      sampleEvery: 40,
    });
    expect(readFileSync(svg, 'utf8')).toBe(
      formatMachineTimelineSvg(want, { title: 'prog.lackey.gz on virt/aarch64: 240 accesses' }),
    );
    expect(readdirSync(dir).sort()).toEqual(['prog.lackey.gz', 'timeline.svg']); // no temporary file left
  });

  it('a pages trace with --access write; a progress bar only on a terminal', async () => {
    const dir = tmp();
    const file = join(dir, 'p.pages');
    writeFileSync(file, `${[0x40000, 0x40001, 0x40000].join('\n')}\n`);
    const r = await mmkit(['replay', '--machine', 'pc', '--access', 'write', '--json', file], {
      ttyErr: true,
    });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect([json.writes, json.rssPages, json.faults.minor]).toEqual([3, 2, 2]);
    expect(r.stderr).toContain('replay [');
  });

  it.each([
    [
      ['--machine', 'vax'],
      'mmkit: error: --machine "vax" is not a known board; expected one of: virt, rpi4b, pc',
    ],
    [['--machine', 'virt', '--arch', 'x86_64'], '--arch "x86_64" does not run on board virt'],
    [['--machine', 'pc', '--arch', 'sparc'], '--arch "sparc" is not a paging format'],
    [['--machine', 'pc', '--ram', '3'], '--ram "3M" is not a RAM size of board pc'],
    [['--machine', 'pc', '--ram', 'lots'], '--ram "lots" is not a whole number'],
    [['--machine', 'pc', '--tlb', '24'], '--tlb "24" is not a power of two'],
    [['--machine', 'pc', '--fork', '-1'], '--fork "-1" is not a whole number'],
    [['--machine', 'pc', '--sample-every', '0'], '--sample-every "0" is out of range'],
    [
      ['--machine', 'pc', '--access', 'exec'],
      '--access "exec" is not an access kind; expected read, write or fetch',
    ],
    [['--machine', 'pc', '--policy', 'lru'], '--policy is an option of policy replay, not of --machine'],
    [['--machine', 'pc', '--mrc'], '--mrc is an option of policy replay, not of --machine'],
    [
      ['--machine', 'pc', '--format', 'oracle-bin'],
      '--machine replays addresses, and oracle-bin traces hold object ids',
    ],
    [['--tlb', '64'], '--tlb goes with --machine'],
    [['--fork', '1'], '--fork goes with --machine'],
  ])('usage error %j → exit 2, one line', async (args, message) => {
    const dir = tmp();
    const file = join(dir, 'prog.lackey');
    writeFileSync(file, lackey());
    const svg = join(dir, 'out.svg');
    const r = await mmkit(['replay', ...args, '--svg', svg, file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toContain(message);
    expect(readdirSync(dir)).toEqual(['prog.lackey']); // no SVG
  });

  it('bad trace files → exit 2 naming the file (and the line)', async () => {
    const dir = tmp();
    const bad = join(dir, 'bad.lackey');
    writeFileSync(bad, 'I  401000,4\n X 12,8\n');
    const empty = join(dir, 'empty.lackey');
    writeFileSync(empty, '==1== nothing\n');
    const r1 = await mmkit(['replay', '--machine', 'pc', bad]);
    expect([r1.code, r1.stdout]).toEqual([2, '']);
    expect(r1.stderr).toContain(`${bad}:2: found " X 12,8"; expected a lackey line`);
    const r2 = await mmkit(['replay', '--machine', 'pc', empty]);
    expect(r2.stderr).toBe(
      `mmkit: error: trace file "${empty}" has no references (lackey); expected at least one reference\n`,
    );
    const r3 = await mmkit(['replay', '--machine', 'pc', join(dir, 'missing.lackey')]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('does not exist');
    const r4 = await mmkit(['replay', '--machine', 'pc', dir]);
    expect(r4.stderr).toContain('is a directory');
  });
});
