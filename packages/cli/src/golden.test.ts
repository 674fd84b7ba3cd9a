/**
 * Golden outputs: `decode --batch` and `run` print exactly what test/golden/*.out hold (stdout)
 * and *.err (stderr), with the exit code on the first line of the .out file. Regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run --project cli golden` after an intended change, and review the diff.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

const golden = (name: string) => fileURLToPath(new URL(`../test/golden/${name}`, import.meta.url));

async function mmkit(argv: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    stdin: async () => stdin,
    env: {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

const CASES: [name: string, argv: string[], stdin?: string][] = [
  ['decode-batch-entries', ['decode', 'aarch64', '--batch', golden('entries.txt')]],
  [
    'decode-batch-esr',
    ['decode', 'aarch64', '--batch', '-', '--syndromes'],
    readFileSync(golden('esr.txt'), 'utf8'),
  ],
  [
    'decode-batch-x86',
    ['decode', 'x86-pae', '--batch', '-', '--level', 'PD'],
    '0x8000_0000_0020_00E3\n0x0000_0000_0010_2007 PT\n0x1_0000 PDPT\n',
  ],
  ['decode-batch-json', ['decode', 'x86', '--batch', '-', '--syndromes', '--json'], '0x6\nseven\n'],
  ['run-fork-exec', ['run', golden('fork-exec.yaml')]],
  ['run-brk-growth-json', ['run', golden('brk-growth.yaml'), '--json']],
  ['run-madvise-mlock', ['run', golden('madvise-mlock.yaml')]],
];

describe('golden outputs', () => {
  it.each(CASES)('%s', async (name, argv, stdin) => {
    const r = await mmkit(argv, stdin);
    const dirName = fileURLToPath(new URL('../test/golden/', import.meta.url));
    const out = `exit ${r.code}\n${r.stdout}`.replaceAll(dirName, '<golden>/');
    const err = r.stderr.replaceAll(dirName, '<golden>/');
    if (process.env.UPDATE_GOLDEN) {
      writeFileSync(golden(`${name}.out`), out);
      writeFileSync(golden(`${name}.err`), err);
    }
    expect(existsSync(golden(`${name}.out`)), `${name}.out is missing: run with UPDATE_GOLDEN=1`).toBe(true);
    expect(out).toBe(readFileSync(golden(`${name}.out`), 'utf8'));
    expect(err).toBe(readFileSync(golden(`${name}.err`), 'utf8'));
  });
});
