/**
 * Progress while a source's tables are read (`walk`, `dump`, `diff`): a bar on a terminal
 * (stderr) that counts tables read of those found so far, cleared at the end; nothing in a pipe;
 * no bar for a load too small to report. `loadTables` reports every 16 tables and at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVirtBoard } from '@mmkit/boards';
import { bootKernel, exportTranslationState, MAP, PROT } from '@mmkit/kernel';
import { loadTables } from '@mmkit/scenario';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from '../arch-registry.js';
import { generateTables, parseGenSpec } from '../commands/gen.js';
import type { CliIo } from '../io.js';
import { toJson } from '../json.js';
import { runCli } from '../run-cli.js';
import { readExportFile } from './export-source.js';

const example = new URL('../../examples/virt-tables.yaml', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mmkit-load-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A process with one touched page in each of 64 2 MiB regions: 64 leaf tables and a few above. */
function manyTables(): string {
  const k = bootKernel({
    arch: createBackend('aarch64'),
    machine: createVirtBoard({ ramBytes: 64 * 2 ** 20 }),
  });
  const spawned = k.spawn({ text: new Uint8Array(8) });
  if (!spawned.ok) throw new Error('spawn failed');
  const p = spawned.process;
  const m = k.mmap(p, 0, 128 * 2 ** 20, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!m.ok) throw new Error('mmap failed');
  for (let i = 0n; i < 64n; i++) k.store(p, m.value + i * 0x20_0000n, 8, i);
  const file = join(dir, 'many.json');
  writeFileSync(file, toJson(exportTranslationState(k, p)));
  return file;
}

async function dump(file: string, tty: boolean, extra: readonly string[] = []) {
  let stderr = '';
  let stdout = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: tty, columns: 80 } as CliIo['stderr'],
    env: {},
  };
  const code = await runCli(['dump', '--from', file, '--json', ...extra], io);
  return { code, stdout, stderr };
}

describe('table-read progress', () => {
  const many = manyTables();

  it('loadTables reports every 16 tables and at the end, total = read + queued', async () => {
    const calls: [number, number][] = [];
    const state = await loadTables(await readExportFile(many), { onProgress: (d, t) => calls.push([d, t]) });
    const n = state.tables.length + state.unreadable.length;
    expect(n).toBeGreaterThan(64);
    expect(calls.at(-1)).toEqual([n, n]);
    // Every multiple of 16 up to n, then n itself unless that was one of them: each done once.
    const multiples = Array.from({ length: Math.floor(n / 16) }, (_, i) => 16 * (i + 1));
    expect(calls.map(([d]) => d)).toEqual(n % 16 === 0 ? multiples : [...multiples, n]);
    for (const [d, t] of calls) expect(t).toBeGreaterThanOrEqual(d);
  });

  it('dump draws it on a terminal and clears it; stdout stays the document', async () => {
    const r = await dump(many, true);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/mmkit read tables \[[=-]+\] 16\/\d+ · export /);
    expect(r.stderr.endsWith('\u001b[2K')).toBe(true);
    expect(JSON.parse(r.stdout).ranges.length).toBeGreaterThan(0);
  });

  it('nothing in a pipe, and nothing for a small load', async () => {
    expect((await dump(many, false)).stderr).toBe('');
    // The 7 tables `mmkit gen` builds from the shipped virt example, as an image with registers.
    const g = generateTables(parseGenSpec(readFileSync(example, 'utf8'), example));
    expect(g.tables.length).toBeLessThan(16);
    const small = join(dir, 'small.bin');
    writeFileSync(small, g.image);
    const regs = Object.entries(g.registers)
      .map(([k, v]) => `${k}=0x${v.toString(16)}`)
      .join(',');
    const r = await dump(`image:${small}@0x${g.spec.tablesPa.toString(16)}`, true, ['--regs', regs]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});
