import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { guessFormat } from './commands/replay.js';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

const FIXTURE = new URL('../fixtures/replay/small.pages', import.meta.url).pathname;
const SVG_GOLDEN = new URL('../fixtures/replay/small-mrc.svg', import.meta.url).pathname;

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

const tmp = () => mkdtempSync(join(tmpdir(), 'mmkit-replay-cli-'));

const TEXT_GOLDEN = `FIXTURE (pages): 120 references, 28 distinct pages

policy  size  accesses  hits  misses  miss ratio
fifo       1       120     0     120      1.0000
fifo       2       120     0     120      1.0000
fifo       5       120    13     107      0.8917
fifo      12       120    24      96      0.8000
fifo      28       120    92      28      0.2333
lru        1       120     0     120      1.0000
lru        2       120     0     120      1.0000
lru        5       120    14     106      0.8833
lru       12       120    28      92      0.7667
lru       28       120    92      28      0.2333
sieve      1       120     0     120      1.0000
sieve      2       120     0     120      1.0000
sieve      5       120    25      95      0.7917
sieve     12       120    44      76      0.6333
sieve     28       120    92      28      0.2333
opt        1       120     0     120      1.0000
opt        2       120    17     103      0.8583
opt        5       120    40      80      0.6667
opt       12       120    70      50      0.4167
opt       28       120    92      28      0.2333
`;

describe('mmkit replay: golden outputs on the committed trace', () => {
  const args = ['replay', FIXTURE, '--policy', 'fifo,lru,sieve,opt', '--mrc', '--points', '5'];

  it('text table (sizes log-spaced from 0.1 % of the distinct pages to all 28)', async () => {
    const r = await mmkit(args);
    expect(r).toEqual({ code: 0, stdout: TEXT_GOLDEN.replace('FIXTURE', FIXTURE), stderr: '' });
  });

  it('CSV, and the SVG plot byte for byte (written only at the end)', async () => {
    const dir = tmp();
    const svg = join(dir, 'mrc.svg');
    const r = await mmkit([...args, '--csv', '--svg', svg]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'policy,capacity,accesses,hits,misses,miss_ratio',
      'fifo,1,120,0,120,1.000000',
      'fifo,2,120,0,120,1.000000',
      'fifo,5,120,13,107,0.891667',
    ]);
    expect(lines).toHaveLength(22); // header + 20 rows + the final newline
    expect(readFileSync(svg, 'utf8')).toBe(readFileSync(SVG_GOLDEN, 'utf8'));
    expect(readdirSync(dir)).toEqual(['mrc.svg']); // no temporary file left behind
  });

  it('JSON', async () => {
    const r = await mmkit(['replay', FIXTURE, '--policy', 'lru,arc', '--sizes', '4,8', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      trace: { file: FIXTURE, format: 'pages', references: 120, distinctPages: 28 },
      results: [
        { policy: 'lru', capacity: 4, accesses: 120, hits: 13, misses: 107, missRatio: 107 / 120 },
        { policy: 'lru', capacity: 8, accesses: 120, hits: 21, misses: 99, missRatio: 99 / 120 },
        { policy: 'arc', capacity: 4, accesses: 120, hits: 18, misses: 102, missRatio: 102 / 120 },
        { policy: 'arc', capacity: 8, accesses: 120, hits: 38, misses: 82, missRatio: 82 / 120 },
      ],
    });
  });

  it('worker threads print exactly what one thread prints (every policy)', async () => {
    const base = ['replay', FIXTURE, '--policy', 'all', '--sizes', '3,6,12', '--csv'];
    const one = await mmkit([...base, '--workers', '0']);
    const two = await mmkit([...base, '--workers', '2']);
    expect(one.code).toBe(0);
    expect(two).toEqual(one);
    expect(one.stdout.split('\n')).toHaveLength(32);
  }, 60_000);

  it('--size, gzip, lackey --data-only, oracle-bin and oracle-csv', async () => {
    const dir = tmp();
    const gz = join(dir, 'small.pages.gz');
    writeFileSync(gz, gzipSync(readFileSync(FIXTURE)));
    const a = await mmkit(['replay', gz, '--size', '8', '--policy', 'lru', '--csv']);
    expect(a.stdout).toBe('policy,capacity,accesses,hits,misses,miss_ratio\nlru,8,120,21,99,0.825000\n');
    const lackey = join(dir, 'prog.lackey');
    writeFileSync(lackey, '==1== Lackey\nI  04000d7d4,3\n L 7ff000398,8\n M 7ff000390,8\nI  04000d7d8,5\n');
    const all = await mmkit(['replay', lackey, '--size', '2', '--csv']);
    const data = await mmkit(['replay', lackey, '--size', '2', '--csv', '--data-only']);
    expect(all.stdout.split('\n')[1]).toBe('lru,2,4,2,2,0.500000');
    expect(data.stdout.split('\n')[1]).toBe('lru,2,2,1,1,0.500000');
    const bin = join(dir, 'trace.oracleGeneral.bin');
    const records = Buffer.alloc(24 * 3);
    for (const [i, id] of [7, 9, 7].entries()) {
      records.writeUInt32LE(i, i * 24);
      records.writeBigUInt64LE(BigInt(id), i * 24 + 4);
      records.writeUInt32LE(4096, i * 24 + 12);
      records.writeBigInt64LE(-1n, i * 24 + 16);
    }
    writeFileSync(bin, records);
    expect((await mmkit(['replay', bin, '--size', '1', '--csv'])).stdout.split('\n')[1]).toBe(
      'lru,1,3,0,3,1.000000',
    );
    expect((await mmkit(['replay', bin, '--size', '2', '--csv'])).stdout.split('\n')[1]).toBe(
      'lru,2,3,1,2,0.666667',
    );
    const csv = join(dir, 'trace.csv');
    writeFileSync(csv, 'time,obj,size\n1,5,10\n2,6,10\n3,5,10\n');
    expect((await mmkit(['replay', csv, '--size', '2', '--csv'])).stdout.split('\n')[1]).toBe(
      'lru,2,3,1,2,0.666667',
    );
    expect(
      (await mmkit(['replay', csv, '--size', '2', '--csv', '--obj-id-col', '1'])).stdout.split('\n')[1],
    ).toBe('lru,2,3,0,3,1.000000');
  });

  it('guesses the format from the name', () => {
    expect(guessFormat('a/b.lackey.gz')).toBe('lackey');
    expect(guessFormat('x.CSV')).toBe('oracle-csv');
    expect(guessFormat('w.oracleGeneral.zst.part')).toBe('oracle-bin');
    expect(guessFormat('t.bin')).toBe('oracle-bin');
    expect(guessFormat('pages.txt')).toBe('pages');
  });
});

describe('mmkit replay: progress bar only on a terminal', () => {
  it('draws rate and ETA on a TTY stderr, then clears it', async () => {
    const r = await mmkit(['replay', FIXTURE, '--policy', 'fifo', '--sizes', '2,4', '--workers', '0'], {
      ttyErr: true,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/replay \[[=\- ]*\] \d+% \| \d+\/240 refs \| .* refs\/s \| ETA /);
    expect(r.stderr).toMatch(/read {3}\[[=\- ]*\] \d+% \| [\d.]+\/0\.0 MiB \| .*B\/s \| ETA /);
    expect(r.stdout).toContain('fifo       4');
  });
  it('writes nothing to a pipe', async () => {
    const r = await mmkit(['replay', FIXTURE, '--policy', 'fifo', '--sizes', '2,4', '--workers', '0']);
    expect(r.stderr).toBe('');
  });
});

describe('mmkit replay: bad input is one line, exit 2, nothing written', () => {
  async function usage(argv: string[], message: RegExp) {
    const r = await mmkit(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2); // one line and its newline
    expect(r.stderr).toMatch(/^mmkit: error: /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    return r;
  }

  it('a malformed line names the file and the line; the SVG is not written', async () => {
    const dir = tmp();
    const bad = join(dir, 'bad.pages');
    writeFileSync(bad, '0x10\n17\nabc\n5\n');
    const svg = join(dir, 'out.svg');
    await usage(['replay', bad, '--svg', svg], /bad\.pages:3: found "abc"; expected a page number/);
    expect(existsSync(svg)).toBe(false);
    expect(readdirSync(dir)).toEqual(['bad.pages']);
  });

  it('a truncated binary record names the byte offset; an existing SVG is left as it was', async () => {
    const dir = tmp();
    const bin = join(dir, 'cut.bin');
    writeFileSync(bin, Buffer.alloc(24 + 10));
    const svg = join(dir, 'out.svg');
    writeFileSync(svg, 'old');
    await usage(['replay', bin, '--svg', svg], /cut\.bin@byte 24: .*expected/);
    expect(readFileSync(svg, 'utf8')).toBe('old');
  });

  it('a malformed lackey line and a bad csv id', async () => {
    const dir = tmp();
    const lackey = join(dir, 'x.lackey');
    writeFileSync(lackey, 'I  04000d7d4,3\n Q 1234,8\n');
    await usage(['replay', lackey], /x\.lackey:2: found " Q 1234,8"; expected /);
    const csv = join(dir, 'x.csv');
    writeFileSync(csv, '1,5,10\n2,zz,10\n');
    await usage(['replay', csv], /x\.csv:2: .*expected/);
  });

  it('missing file, directory, empty trace', async () => {
    const dir = tmp();
    await usage(
      ['replay', join(dir, 'nope.pages')],
      /trace file ".*nope\.pages" does not exist; expected a readable/,
    );
    await usage(['replay', dir], /is a directory/);
    const empty = join(dir, 'empty.pages');
    writeFileSync(empty, '# nothing\n');
    await usage(['replay', empty], /has no references \(pages\); expected at least one reference/);
  });

  it('bad options name the value and what was expected', async () => {
    await usage(
      ['replay', FIXTURE, '--format', 'zip'],
      /--format "zip" is not a trace format; expected one of lackey, pages, oracle-bin, oracle-csv/,
    );
    await usage(
      ['replay', FIXTURE, '--policy', 'lru,mru'],
      /--policy "mru" is not a policy; expected .*fifo.*or all/,
    );
    await usage(
      ['replay', FIXTURE, '--size', '0'],
      /--size "0" is out of range; expected a number of pages from 1/,
    );
    await usage(['replay', FIXTURE, '--sizes', '4,x'], /--sizes "x" is not a whole number/);
    await usage(['replay', FIXTURE, '--size', '4', '--mrc'], /--size and --mrc cannot be combined/);
    // Under --json every error is JSON too (the CLI's convention), still one line on stderr, exit 2.
    const both = await mmkit(['replay', FIXTURE, '--csv', '--json']);
    expect(both.code).toBe(2);
    expect(both.stdout).toBe('');
    expect(JSON.parse(both.stderr)).toEqual({
      error: {
        kind: 'usage',
        message: '--csv and --json cannot be combined; expected at most one',
        exitCode: 2,
      },
    });
    await usage(['replay', FIXTURE, '--data-only'], /--data-only applies to lackey traces/);
    await usage(['replay', FIXTURE, '--points', '1'], /--points "1" is out of range/);
    await usage(['replay', FIXTURE, '--workers', 'many'], /--workers "many" is not a whole number/);
    await usage(['replay'], /missing required argument 'trace'/);
  });

  it('an SVG path that cannot be written: exit 2, no temporary file left', async () => {
    const dir = tmp();
    await usage(
      ['replay', FIXTURE, '--size', '4', '--svg', join(dir, 'no', 'such', 'dir.svg')],
      /--svg ".*dir\.svg" cannot be written \(ENOENT\)/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});
