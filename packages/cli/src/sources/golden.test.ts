/**
 * Golden outputs of `walk`, `dump` and `diff` on fixed states of all five configurations (built
 * through the kernel: `test-states.ts`), compared with the files under `test/golden/`. Set
 * UPDATE_GOLDEN=1 to rewrite them (and the committed fixtures the README uses) after a deliberate
 * change, then review the diff.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toJson } from '../json.js';
import { buildStates, CONFIGS, mmkit } from './test-states.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const ROOT = new URL('../../test/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mmkit-golden-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Fixtures the README's examples read (committed; checked to be what the states produce). */
const README_FIXTURES: Readonly<Record<string, readonly ('a' | 'b')[]>> = {
  'aarch64-virt': ['a', 'b'],
  'x86-pae-pc': ['a'],
};

function golden(name: string, actual: string): void {
  const file = join(ROOT, 'golden', name);
  if (UPDATE) writeFileSync(file, actual);
  if (!existsSync(file)) throw new Error(`${file} is missing; run with UPDATE_GOLDEN=1 to create it`);
  expect(actual, `${name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)`).toBe(
    readFileSync(file, 'utf8'),
  );
}

describe.each(CONFIGS)('golden outputs on $name', (config) => {
  const states = buildStates(config);
  const fileA = join(dir, `${config.name}.a.json`);
  const fileB = join(dir, `${config.name}.b.json`);
  writeFileSync(fileA, toJson(states.a));
  writeFileSync(fileB, toJson(states.b));
  const clean = (text: string) => text.replaceAll(dir, '<fixtures>');

  it('the committed README fixtures are what the states export', () => {
    for (const which of README_FIXTURES[config.name] ?? []) {
      const file = join(ROOT, 'fixtures', `${config.name}.${which}.json`);
      const text = `${toJson(states[which])}\n`;
      if (UPDATE) writeFileSync(file, text);
      expect(readFileSync(file, 'utf8')).toBe(text);
    }
  });

  it('walk', async () => {
    const hex = (v: bigint) => `0x${v.toString(16)}`;
    const walks: string[][] = [
      [hex(states.text), '--el0', '--access', 'fetch'],
      [hex(states.heap + 0x10n), '--el0', '--access', 'write'],
      [hex(states.buffer), '--el0', '--access', 'write'],
      [hex(states.buffer), '--el0'],
      [hex(states.buffer - 0x1000n), '--access', 'fetch'],
      ['0x7000', '--el0'],
      [hex(states.kernelVa + 0x1234n)],
      [hex(states.kernelVa), '--el0'],
      [hex(states.kernelVa), '--access', 'fetch'],
    ];
    if (config.arch !== 'x86-32' && config.arch !== 'x86-pae') walks.push(['0x0080_0000_0000_0000']);
    let text = '';
    for (const w of walks) {
      const r = await mmkit(['walk', ...w, '--from', fileA]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      text += `$ mmkit walk ${w.join(' ')}\n${r.stdout}\n`;
    }
    golden(`${config.name}.walk.txt`, clean(text));
    const json = await mmkit([
      'walk',
      hex(states.buffer),
      '--el0',
      '--access',
      'write',
      '--from',
      fileA,
      '--json',
    ]);
    golden(`${config.name}.walk.json`, clean(json.stdout));
  });

  it('dump', async () => {
    const r = await mmkit(['dump', '--from', fileA, '--check']);
    expect(r.stderr).toBe('');
    // x86-32 has no execute-disable bit: its writable kernel and user pages are executable.
    expect(r.code).toBe(config.arch === 'x86-32' ? 1 : 0);
    golden(`${config.name}.dump.txt`, clean(r.stdout));
    const j = await mmkit(['dump', '--from', fileA, '--half', 'user', '--json']);
    expect(j.code).toBe(0);
    golden(`${config.name}.dump.json`, clean(j.stdout));
  });

  it('diff', async () => {
    const r = await mmkit(['diff', fileA, fileB]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    golden(`${config.name}.diff.txt`, clean(r.stdout));
    const same = await mmkit(['diff', fileA, fileA, '--exit-code']);
    expect(same.stdout).toMatch(/no differences/);
    expect(same.code).toBe(0);
    expect((await mmkit(['diff', fileA, fileB, '--exit-code'])).code).toBe(1);
  });
});
