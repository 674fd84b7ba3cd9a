import { isPcBoard } from '@mmkit/boards';
import { boardArchs } from '@mmkit/scenario';
import { describe, expect, it } from 'vitest';
import { demoScenario } from './commands/demo.js';
import { startScenario } from './commands/run.js';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

async function mmkit(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

describe('mmkit demo', () => {
  it('runs on virt: demand faults with real ESR values, every kill reason, frees back to baseline', async () => {
    const r = await mmkit(['demo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain('QEMU virt');
    expect(out).toContain('ESR_EL1=0x92000045'); // first heap touch: translation fault at L1, EL0 write
    expect(out).toContain('ESR_EL1=0x92000047'); // later pages: translation fault at L3, EL0 write
    expect(out).toContain('ESR_EL1=0x9200004F'); // write to text: permission fault at L3
    expect(out).toContain('copy_to_user init wild "x"');
    expect(out).toContain('⇒ EFAULT (the process lives on) ✓ EFAULT');
    expect(out).toContain('read init heap 19 bytes as text\n      ⇒ reads "hello from the heap"');
    expect(out).toContain('TLBI VALE1IS');
    expect(out).toContain('TLBI ASIDE1IS');
    expect(out).toContain('killed: stack overflow');
    expect(out).toContain('killed: invalid address');
    expect(out).toContain('killed: permission fault');
    expect(out).toMatch(
      /L3\[0\] va 0x000000400000 0x0020000040[0-9A-F]{3}FC3 → 0x40[0-9A-F]{6} user r-x kernel r-- normal-wb/,
    );
    expect(out).toMatch(/TTBR0_EL1 +0x0001/); // ASID 1 in bits [63:48]
    expect(out).toMatch(/Free frames: (\d+) at the end, baseline \1 — audit clean OK/);
  });

  it('runs on an 8 GiB rpi4b and reports JSON with frames back at the baseline', async () => {
    const r = await mmkit(['demo', '--board', 'rpi4b', '--ram', '8G', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.board.id).toBe('rpi4b');
    expect(j.arch.id).toBe('aarch64');
    expect(j.frames.final).toBe(j.frames.baseline);
    expect(j.audit).toEqual({ ok: true, problems: [] });
    expect(j.ok).toBe(true);
    expect(j.steps.length).toBe(26);
    const maps = j.steps.find((s: { op: string }) => s.op === 'maps').lines;
    expect(maps.some((l: string) => l.endsWith('[anon:buf]') && / r--p /.test(l))).toBe(true);
    const faults = j.steps
      .flatMap((s: { events: { type: string }[] }) => s.events)
      .filter((e: { type: string }) => e.type === 'fault');
    expect(faults.length).toBeGreaterThan(5);
    expect(typeof faults[0].syndrome).toBe('string'); // bigints as hex strings
    const dump = j.steps.find((s: { op: string }) => s.op === 'dump');
    expect(dump.registers.TCR_EL1).toBe('0x00000195B5103510');
  });
});

describe('demo --arch (option parsing)', () => {
  it('defaults to the board default: aarch64 on virt and rpi4b, x86_64 on pc', () => {
    const demo = demoScenario();
    expect(startScenario(demo, {}).machine.arch.id).toBe('aarch64');
    expect(startScenario(demo, { board: 'rpi4b' }).machine.arch.id).toBe('aarch64');
    const pc = startScenario(demo, { board: 'pc' });
    expect(pc.machine.arch.id).toBe('x86_64');
    expect(pc.board.defaultArch).toBe('x86_64');
  });

  it.each([
    ['x86_64', '64'],
    ['x86_64-la57', '64'],
    ['x86-pae', '32'],
    ['x86-32', '32'],
  ])('pc --arch %s builds the %s-bit flavour of the board', (arch, flavour) => {
    const o = startScenario(demoScenario(), { board: 'pc', arch, ram: '512M' });
    expect(o.machine.arch.id).toBe(arch);
    expect(isPcBoard(o.board) && o.board.flavour).toBe(flavour);
    expect(o.board.archs).toContain(arch);
    expect(o.board.ram.reduce((n, r) => n + r.end - r.start, 0)).toBeLessThanOrEqual(512 * 2 ** 20);
  });

  it('the pc accepts every x86 mode and nothing else', () => {
    expect(boardArchs('pc')).toEqual(['x86_64', 'x86_64-la57', 'x86-32', 'x86-pae']);
    expect(boardArchs('virt')).toEqual(['aarch64']);
  });

  it.each([
    [
      'an x86 mode on virt',
      ['demo', '--arch', 'x86_64'],
      'mmkit: error: --arch "x86_64" does not run on board virt; expected aarch64',
    ],
    [
      'aarch64 on the pc',
      ['demo', '--board', 'pc', '--arch', 'aarch64'],
      'mmkit: error: --arch "aarch64" does not run on board pc; expected one of: x86_64, x86_64-la57, x86-32, x86-pae',
    ],
    [
      'an x86 mode on rpi4b',
      ['demo', '--board', 'rpi4b', '--arch', 'x86-32'],
      'mmkit: error: --arch "x86-32" does not run on board rpi4b; expected aarch64',
    ],
    [
      'an unknown paging format',
      ['demo', '--board', 'pc', '--arch', 'x86'],
      'mmkit: error: --arch "x86" is not a paging format; expected one of: aarch64, x86_64, x86_64-la57, x86-pae, x86-32',
    ],
    [
      'a RAM size the pc rejects',
      ['demo', '--board', 'pc', '--ram', '2M'],
      'mmkit: error: --ram "2M" is not a RAM size of board pc; expected a multiple of 2 MiB from 4M to 1022G (QEMU q35 -m)',
    ],
    [
      '--arch without a value',
      ['demo', '--arch'],
      "mmkit: error: option '--arch <mode>' argument missing (see 'mmkit demo --help')",
    ],
  ])('%s is a usage error', async (_name, argv, message) => {
    const r = await mmkit(argv);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
  });
});

describe('mmkit demo on the pc', () => {
  it('runs on pc/x86_64: #PF error codes with CR2, INVPCID flushes, CR3 with the PCID, frames back at the baseline', async () => {
    const r = await mmkit(['demo', '--board', 'pc', '--arch', 'x86_64', '--ram', '256M', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.board).toEqual({
      id: 'pc',
      name: 'QEMU q35 PC (x86_64), 256 MiB RAM',
      ramBytes: 0x0ffd_8000 - 0x10_0000 + 0x9_f000,
    });
    expect(j.arch.id).toBe('x86_64');
    expect(j.frames.final).toBe(j.frames.baseline);
    expect(j.audit).toEqual({ ok: true, problems: [] });
    const events = j.steps.flatMap((s: { events: { type: string }[] }) => s.events);
    const faults = events.filter((e: { type: string }) => e.type === 'fault');
    // arch-facts B6: the first heap touch is a user write to a not-present page (0x6); writing the
    // text of a fork is a user write protection fault (0x7).
    expect(faults[0]).toMatchObject({
      kind: 'translation',
      syndrome: '0x6',
      access: 'write',
      privilege: 'user',
    });
    expect(faults.some((f: { syndrome: string }) => f.syndrome === '0x7')).toBe(true);
    const ops = new Set(
      events.filter((e: { type: string }) => e.type === 'tlb').map((e: { op: string }) => e.op),
    );
    expect(ops.has('INVPCID type 0')).toBe(true);
    const text = JSON.stringify(j.steps);
    expect(text).toContain('killed: stack overflow');
    expect(text).toContain('killed: permission fault');
    const dump = j.steps.find((s: { op: string }) => s.op === 'dump');
    expect(Object.keys(dump.registers)).toEqual(['CR0', 'CR3', 'CR4', 'EFER', 'IA32_PAT']);
  });

  it.each(['x86_64-la57', 'x86-pae', 'x86-32'])('runs on pc/%s with a clean audit', async (arch) => {
    const r = await mmkit(['demo', '--board', 'pc', '--arch', arch, '--ram', '64M', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.arch.id).toBe(arch);
    expect(j.frames.final).toBe(j.frames.baseline);
    expect(j.audit.ok).toBe(true);
  });
});
