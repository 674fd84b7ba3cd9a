/**
 * PSTATE.PAN (AArch64) and EFLAGS.AC with CR4.SMAP (x86) in walks, on fixed states: a kernel-mode
 * data access to a user page is the permission fault the CPU raises when PAN is set / AC is clear
 * under SMAP, and translates when PAN is clear / AC is set; `--pan` and `--ac` override what the
 * source says, `--regs PSTATE=…` / `EFLAGS=…` give it for images. Arch-facts A6 (PAN: data only,
 * EL1 only; Data Abort from the current EL, permission fault), B5 (SMAP), B6 (#PF error code).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toJson } from '../json.js';
import { buildStates, CONFIGS, mmkit, rawImageOf, regsArg } from './test-states.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-pan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  ok: boolean;
  pa?: string;
  fault?: string;
  level?: string;
  exception?: string;
  syndrome?: string;
  cause?: string;
}
const hexVa = (v: bigint) => `0x${v.toString(16)}`;

async function walk(args: readonly string[]): Promise<{ outcome: Outcome; notes: string[] }> {
  const r = await mmkit(['walk', ...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('PAN on AArch64 (virt)', () => {
  const s = buildStates(CONFIGS[0]);
  const exported = join(dir, 'aarch64.json');
  writeFileSync(exported, toJson(s.a));
  const { base, bytes } = rawImageOf(s.a);
  const image = join(dir, 'aarch64.bin');
  writeFileSync(image, bytes);
  const img = `image:${image}@${hexVa(BigInt(base))}`;
  const heap = hexVa(s.heap);

  it('--pan 1: an EL1 read of a user page is a permission fault (ESR_EL1 0x9600004F for a write, 0x9600000F for a read)', async () => {
    const read = await walk([heap, '--from', exported, '--pan', '1']);
    // EC 0x25 (Data Abort, current EL) << 26 | IL | DFSC 0b001111 (permission, level 3); WnR [6] for a write.
    expect(read.outcome).toMatchObject({
      ok: false,
      fault: 'permission',
      level: 'L3',
      exception: 'Data Abort',
      syndrome: '0x9600000F',
      cause: 'PSTATE.PAN = 1: EL1 data access to EL0-accessible memory (PAN)',
    });
    expect(read.notes).toContain('PSTATE.PAN = 1 (PSTATE bit 22)');
    const write = await walk([heap, '--from', exported, '--pan', '1', '--access', 'write']);
    expect(write.outcome).toMatchObject({ ok: false, fault: 'permission', syndrome: '0x9600004F' });
  });

  it('--pan 0, no PAN at all, an EL0 access, and an instruction fetch all translate as before', async () => {
    const plain = await walk([heap, '--from', exported]);
    expect(plain.outcome.ok).toBe(true);
    expect((await walk([heap, '--from', exported, '--pan', '0'])).outcome).toEqual(plain.outcome);
    expect((await walk([heap, '--from', exported, '--pan', '1', '--el0'])).outcome.ok).toBe(true);
    // PAN restricts data accesses only: the fetch's outcome is the same with PAN on and off.
    const text = hexVa(s.text);
    const fetchOff = await walk([text, '--from', exported, '--access', 'fetch', '--pan', '0']);
    const fetchOn = await walk([text, '--from', exported, '--access', 'fetch', '--pan', '1']);
    expect(fetchOn.outcome).toEqual(fetchOff.outcome);
    // A kernel page is not EL0-accessible: PAN does not touch it.
    const kva = hexVa(s.kernelVa + 0x1000n);
    expect((await walk([kva, '--from', exported, '--pan', '1'])).outcome.ok).toBe(true);
  });

  it('an image takes PSTATE from --regs (bit 22); --pan overrides it', async () => {
    const regs = regsArg(s.a);
    const on = await walk([heap, '--from', img, '--regs', `${regs},PSTATE=0x400000`]);
    expect(on.outcome).toMatchObject({ ok: false, fault: 'permission', syndrome: '0x9600000F' });
    const cpsr = await walk([heap, '--from', img, '--regs', `${regs},CPSR=0x3C5`]);
    expect(cpsr.outcome.ok).toBe(true);
    const over = await walk([heap, '--from', img, '--regs', `${regs},PSTATE=0x400000`, '--pan', '0']);
    expect(over.outcome.ok).toBe(true);
  });

  it('--ac on AArch64, --pan 2: usage errors', async () => {
    const ac = await mmkit(['walk', heap, '--from', exported, '--ac', '1']);
    expect(ac.code).toBe(2);
    expect(ac.stderr).toBe(
      `mmkit: error: --ac "1" does not apply to aarch64 (export ${exported}); expected --pan for AArch64 (PSTATE.PAN)\n`,
    );
    const two = await mmkit(['walk', heap, '--from', exported, '--pan', '2']);
    expect(two.code).toBe(2);
    expect(two.stderr).toBe('mmkit: error: --pan "2" is not a flag value; expected 0 or 1 (or off, on)\n');
  });
});

describe.each([CONFIGS[1], CONFIGS[2], CONFIGS[3]])('SMAP and EFLAGS.AC on $name', (config) => {
  const s = buildStates(config);
  const { base, bytes } = rawImageOf(s.a);
  const image = join(dir, `${config.name}.bin`);
  writeFileSync(image, bytes);
  const img = `image:${image}@${hexVa(BigInt(base))}`;
  const cr4 = BigInt(s.a.registers.CR4!);
  const SMAP = 1n << 21n;
  const regs = (extra: string, smap = true) =>
    `${regsArg(s.a).replace(/CR4=[^,]+/, `CR4=${hexVa(smap ? cr4 | SMAP : cr4 & ~SMAP)}`)}${extra}`;
  const heap = hexVa(s.heap);

  it('CR4.SMAP with EFLAGS.AC = 0: a supervisor read of a user page is #PF error code 0x1, a write 0x3', async () => {
    const read = await walk([heap, '--from', img, '--regs', regs('')]);
    expect(read.outcome).toMatchObject({
      ok: false,
      fault: 'permission',
      exception: '#PF',
      syndrome: '0x1',
      cause: 'CR4.SMAP = 1 and EFLAGS.AC = 0: supervisor data access to a user page (SMAP)',
    });
    const write = await walk([heap, '--from', img, '--regs', regs(''), '--access', 'write']);
    expect(write.outcome).toMatchObject({ ok: false, fault: 'permission', syndrome: '0x3' });
    const ac0 = await walk([heap, '--from', img, '--regs', regs(',EFLAGS=0x2')]);
    expect(ac0.outcome).toEqual(read.outcome);
    expect(ac0.notes).toContain('EFLAGS.AC = 0 (EFLAGS bit 18) with CR4.SMAP = 1');
  });

  it('EFLAGS.AC = 1 (STAC), no SMAP, a user access: the page translates', async () => {
    const plain = await walk([heap, '--from', img, '--regs', regs('', false)]);
    expect(plain.outcome.ok).toBe(true);
    expect((await walk([heap, '--from', img, '--regs', regs(',EFLAGS=0x40002')])).outcome).toEqual(
      plain.outcome,
    );
    expect((await walk([heap, '--from', img, '--regs', regs(''), '--ac', '1'])).outcome).toEqual(
      plain.outcome,
    );
    expect((await walk([heap, '--from', img, '--regs', regs(''), '--user'])).outcome.ok).toBe(true);
    // --ac overrides the source's EFLAGS both ways.
    const off = await walk([heap, '--from', img, '--regs', regs(',RFLAGS=0x40002'), '--ac', 'off']);
    expect(off.outcome).toMatchObject({ ok: false, fault: 'permission', syndrome: '0x1' });
  });

  it('--pan on x86: a usage error', async () => {
    const r = await mmkit(['walk', heap, '--from', img, '--regs', regs(''), '--pan', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^mmkit: error: --pan "1" does not apply to x86[-_a-z0-9]* \(image .*\); expected --ac for x86/,
    );
  });
});
