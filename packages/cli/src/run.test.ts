import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const TWO = `name: two
board: virt
steps:
  - { op: spawn, as: a }
  - { op: mmap, process: a, length: 4K, prot: rw-, as: buf }
  - { op: write, process: a, addr: buf, value: 7 }
  - { op: spawn, as: b }
`;

describe('mmkit run', () => {
  it('exits 1 when a step does not meet its expectation, and says which', async () => {
    const p = file(
      'fail.yaml',
      'board: virt\nsteps:\n  - { op: spawn, as: a }\n  - { op: read, process: a, addr: wild, expect: ok }\n',
    );
    const r = await mmkit(['run', p]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ expected ok');
    expect(r.stdout).toContain('Expectations: 0 of 1 met');
    expect(r.stdout).toContain('step 2 (read a wild 8 bytes): expected ok, got killed: invalid address');
  });

  it('reads the scenario from stdin and runs it on another board with --board/--arch', async () => {
    const r = await mmkit(['run', '-', '--board', 'pc', '--arch', 'x86-pae', '--json'], TWO);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.arch.id).toBe('x86-pae');
    expect(j.steps.map((s: { status: string }) => s.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(j.frames.final).toBeLessThan(j.frames.baseline); // two processes still running
  });

  it('--export writes the state of the last running process (or --process)', async () => {
    const p = file('two.yaml', TWO);
    const out = join(dir, 'state.json');
    const r = await mmkit(['run', p, '--export', out]);
    expect(r.code).toBe(0);
    const state = JSON.parse(readFileSync(out, 'utf8'));
    expect(state).toMatchObject({ format: 'mmkit-translation-state/1', arch: 'aarch64', pid: 2 });
    expect(state.registers.TTBR0_EL1).toMatch(/^0x0002/); // ASID 2 in TTBR0_EL1[63:48]
    await mmkit(['run', p, '--export', out, '--process', 'a']);
    expect(JSON.parse(readFileSync(out, 'utf8')).pid).toBe(1);
  });

  it('usage errors: a missing file, --process without --export, an unknown process', async () => {
    expect((await mmkit(['run', join(dir, 'none.yaml')])).stderr).toMatch(
      /scenario file ".*none\.yaml" cannot be read \(ENOENT\)/,
    );
    const p = file('two2.yaml', TWO);
    expect((await mmkit(['run', p, '--process', 'a'])).stderr).toBe(
      'mmkit: error: --process chooses the process to export; expected it with --export <file>\n',
    );
    const r = await mmkit(['run', p, '--export', '-', '--process', 'zed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'mmkit: error: --process "zed" names no process of the scenario; expected one of: a (pid 1, running), b (pid 2, running)\n',
    );
  });
});

describe('mmkit run: swap', () => {
  it('shows swap events in the log: swapon, swap-out per PTE, a major then a minor swap-in, swap-free, swapoff', async () => {
    const p = file(
      'swap.yaml',
      `board: virt
steps:
  - { op: spawn, as: a }
  - { op: brk, process: a, to: heap+0x1000 }
  - { op: write, process: a, addr: heap, value: 9 }
  - { op: fork, process: a, as: b }
  - { op: swapon, size: 8 pages }
  - { op: reclaim, pages: 8 }
  - { op: read, process: a, addr: heap, equals: 9 }
  - { op: read, process: b, addr: heap, equals: 9 }
  - { op: swapoff, type: 0 }
`,
    );
    const r = await mmkit(['run', p]);
    expect(r.code).toBe(0);
    const swap = r.stdout.split('\n').filter((l) => l.trim().startsWith('swap '));
    expect(swap[0]).toContain('swap    swapon type 0: swap0: 8 pages, priority -2');
    expect(swap.some((l) => /swap-out pid 2 0x0001_0000_0000 0x[0-9A-F_]+ → swap 0:2$/.test(l))).toBe(true);
    expect(swap.some((l) => /swap-in pid 1 0x0001_0000_0000 swap 0:2 → 0x[0-9A-F_]+ \(major\)/.test(l))).toBe(
      true,
    );
    expect(swap.some((l) => /swap-in pid 2 0x0001_0000_0000 swap 0:2 → 0x[0-9A-F_]+ \(minor\)/.test(l))).toBe(
      true,
    );
    expect(swap).toContain('      swap    swap-free swap 0:2');
    expect(swap.at(-1)).toContain('swap    swapoff type 0: swap0 removed');
  });
});

describe('mmkit export', () => {
  it('--step 0 exports the kernel alone (no process yet)', async () => {
    const r = await mmkit(['export', '--demo', '--step', '0', '-o', '-']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.pid).toBeNull();
    expect(j.tables.length).toBeGreaterThan(0);
  });

  it('takes the state in the middle of a scenario by --pid', async () => {
    const p = file('mid.yaml', TWO);
    const r = await mmkit(['export', p, '--step', '3', '--pid', '1', '-o', '-']);
    expect(JSON.parse(r.stdout)).toMatchObject({ pid: 1, asid: 1 });
  });

  it.each([
    [['export', '-o', '-'], 'export needs a scenario; expected a scenario file or --demo'],
    [
      ['export', 'x.yaml', '--demo', '-o', '-'],
      'export got both a scenario file ("x.yaml") and --demo; expected exactly one of them',
    ],
    [
      ['export', '--demo', '-o', '-', '--step', '99'],
      '--step "99" is not a step of the scenario; expected a number from 0 to 26 (0: right after boot)',
    ],
    [
      ['export', '--demo', '-o', '-', '--pid', '1', '--process', 'init'],
      "option '--pid <n>' cannot be used with option '--process <name>' (see 'mmkit export --help')",
    ],
  ])('%j is a usage error', async (argv, message) => {
    const r = await mmkit(argv);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `mmkit: error: ${message}\n` });
  });
});
