/**
 * `--json` errors: every command, given a bad argument (a usage mistake commander finds, a value
 * mmkit refuses, a file or source that cannot be loaded), prints exactly one JSON document on
 * stderr — `{"error":{"kind":"usage","message":…,"exitCode":2}}` — nothing on stdout, and exits
 * with the code the document names (README, Conventions).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-json-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

async function run(argv: readonly string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env: {},
    stdin: async () => 'not a trace\n',
  });
  return { code, stdout, stderr };
}

const missing = join(dir, 'missing');
const notJson = file('bad.json', '{ "format": "mmkit-translation-state/1", ');
const badSpec = file('bad-spec.yaml', 'arch: vax\ntables: 0x1000\nregions: []\n');
const badScenario = file('bad-scenario.yaml', 'board: virt\nsteps:\n  - { op: mmap, as: x, length: lots }\n');
const trace = file('t.lackey', ' L 00001000,8\n');
const image = file('img.bin', 'x'.repeat(8192));

/** [command, argv without --json, what the message must mention]. */
const CASES: readonly [string, readonly string[], RegExp][] = [
  ['decode', ['decode', 'aarch64', '0xZZ'], /descriptor "0xZZ" is not a number/],
  ['decode (missing operand)', ['decode'], /missing required argument 'arch'/],
  ['decode (unknown option)', ['decode', 'aarch64', '0x1', '--levle', 'L2'], /unknown option '--levle'/],
  [
    'decode (repeated option)',
    ['decode', 'aarch64', '0x1', '--level', 'L2', '--level', 'L3'],
    /more than once/,
  ],
  ['decode --batch (file)', ['decode', 'aarch64', '--batch', missing], /missing/],
  ['boards', ['boards', 'extra'], /too many arguments/],
  ['demo', ['demo', '--board', 'vax'], /--board "vax" is not a known board/],
  ['demo (ram)', ['demo', '--board', 'rpi4b', '--ram', '3G'], /--ram "3G" is not a RAM size/],
  ['run (file)', ['run', missing], /missing/],
  ['run (scenario)', ['run', badScenario], /length "lots" is not valid/],
  ['export', ['export', '--demo', '-o', '-', '--step', 'x'], /--step/],
  ['gen (missing -o)', ['gen', badSpec], /-o/],
  ['gen (spec)', ['gen', badSpec, '-o', join(dir, 'out')], /vax/],
  ['plan (file)', ['plan', missing], /missing/],
  ['plan (spec)', ['plan', badSpec], /vax/],
  ['walk (va)', ['walk', '0xZZ', '--from', notJson], /virtual address "0xZZ"/],
  ['walk (export)', ['walk', '0x1000', '--from', notJson], /bad\.json/],
  ['walk (image regs)', ['walk', '0x1000', '--from', `image:${image}@0x0`], /no root registers/],
  ['walk (--pan)', ['walk', '0x1000', '--from', notJson, '--pan', 'yes'], /--pan "yes"/],
  ['walk (gdb)', ['walk', '0x1000', '--from', 'gdb:127.0.0.1:1', '--timeout', '500'], /127\.0\.0\.1:1/],
  ['walk (source form)', ['walk', '0x1000', '--from', 'ftp:x'], /is not a known form/],
  ['dump (image)', ['dump', '--from', `image:${missing}@0x0`, '--regs', 'CR3=0x1000'], /cannot read/],
  ['dump (filter)', ['dump', '--from', notJson, '--half', 'middle'], /--half "middle"/],
  ['dump (--kernel-split)', ['dump', '--from', notJson, '--kernel-split', '0x1_0000_0000'], /--kernel-split/],
  ['diff (missing operand)', ['diff', notJson], /missing required argument/],
  ['diff (source)', ['diff', notJson, missing], /bad\.json|missing/],
  ['replay (policy)', ['replay', '--policy', 'magic', trace], /magic/],
  ['replay (--machine)', ['replay', '--machine', 'vax', trace], /vax/],
  ['replay (stdin trace)', ['replay', '--machine', 'pc', '-'], /trace|reference|lackey/i],
  ['help', ['help', 'nosuch'], /unknown command "nosuch"/],
  ['help (extra)', ['help', 'decode', 'extra'], /too many arguments for 'help'/],
];

describe('--json: every error is one JSON document on stderr', () => {
  it.each(CASES)('%s', async (_name, argv, mentions) => {
    const r = await run([...argv, '--json']);
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    const doc = JSON.parse(r.stderr) as { error: { kind: string; message: string; exitCode: number } };
    expect(Object.keys(doc)).toEqual(['error']);
    expect(doc.error.kind).toBe('usage');
    expect(doc.error.exitCode).toBe(2);
    expect(r.code).toBe(2);
    expect(doc.error.message).toMatch(mentions);
    expect(doc.error.message).not.toMatch(/\n|^mmkit: /);
    // Without --json the same mistake is the one-line text form.
    const text = await run(argv);
    expect(text.code).toBe(2);
    expect(text.stderr).toBe(`mmkit: error: ${doc.error.message}\n`);
  });

  it('no command: the same one-line error, as JSON with --json', async () => {
    const r = await run(['--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.message).toMatch(/^missing command; expected one of: decode, /);
    const text = await run([]);
    expect(text.stderr).toBe(`mmkit: error: ${JSON.parse(r.stderr).error.message}\n`);
  });

  it('export --json and help --json succeed with one document on stdout', async () => {
    const out = join(dir, 'state.json');
    const e = await run(['export', '--demo', '--step', '3', '--process', 'init', '-o', out, '--json']);
    expect(e.stderr).toBe('');
    expect(JSON.parse(e.stdout)).toEqual({
      output: out,
      format: 'mmkit-translation-state/1',
      arch: 'aarch64',
      pid: 1,
    });
    const h = await run(['help', '--json']);
    expect(JSON.parse(h.stdout).commands.map((c: { name: string }) => c.name)).toContain('walk');
    const w = await run(['help', 'walk', '--json']);
    const doc = JSON.parse(w.stdout) as { usage: string; options: { flags: string }[] };
    expect(doc.usage).toMatch(/^mmkit walk /);
    expect(doc.options.map((o) => o.flags)).toContain('--pan <0|1>');
  });

  it('every command is covered', async () => {
    const help = await run(['--help']);
    const commands = [...help.stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThanOrEqual(12);
    const covered = new Set(CASES.map(([name]) => name.split(' ')[0]!));
    for (const c of commands.filter((c) => !['mmkit'].includes(c))) expect(covered, c).toContain(c);
  });
});
