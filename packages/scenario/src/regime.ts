/**
 * From root and control registers to a paging backend and a loaded MMU: the architecture and mode
 * come from the registers where they say it (x86: CR4.PAE, EFER.LMA, CR4.LA57; AArch64: the
 * presence of TTBRn_EL1/TCR_EL1, checked against the one regime the backend models).
 *
 * Register bits are read with the backends' own constants (`TCR_EL1_BITS`, `CR4_BITS`, …); the
 * walking and decoding are the backends' (`createMmu`, `codec`, `syndromes`).
 */
import { type Aarch64Backend, createAarch64Arch, SCTLR_EL1_BITS, TCR_EL1_BITS } from '@mmkit/arch-aarch64';
import { CR0_BITS, CR4_BITS, createX86Arch, EFER_BITS, type X86Backend, type X86Mode } from '@mmkit/arch-x86';
import { type ArchBackend, hex, type Mmu, type PhysicalMemory } from '@mmkit/core';
import { PageTableSourceError } from './page-table-source.js';

const HEX = /^0x[0-9a-f]+(?:_[0-9a-f]+)*$/i;
const BIN = /^0b[01]+(?:_[01]+)*$/i;
const DEC = /^[0-9]+(?:_[0-9]+)*$/;

/**
 * Parses a register value: hex `0x…`, binary `0b…` or decimal, with single underscores between
 * digits (`0x0040_0000_4000_0705`), below 2^64. `what` names the value in the message.
 * @throws PageTableSourceError naming `what` and the text for anything else.
 */
export function parseRegisterValue(text: string, what: string): bigint {
  const t = text.trim();
  if (!HEX.test(t) && !BIN.test(t) && !DEC.test(t)) {
    throw new PageTableSourceError(
      `${what} ${JSON.stringify(text)} is not a number; expected hex (0x…), binary (0b…) or decimal digits, with optional _ between digits`,
      text,
    );
  }
  const value = BigInt(t.replace(/_/g, ''));
  if (value >= 1n << 64n) {
    throw new PageTableSourceError(
      `${what} ${JSON.stringify(text)} does not fit in 64 bits; expected a value at most 0xFFFF_FFFF_FFFF_FFFF`,
      text,
    );
  }
  return value;
}

/** Register names as given on the command line → the architectural name. */
const ALIASES: Readonly<Record<string, string>> = {
  TTBR0: 'TTBR0_EL1',
  TTBR1: 'TTBR1_EL1',
  TCR: 'TCR_EL1',
  MAIR: 'MAIR_EL1',
  SCTLR: 'SCTLR_EL1',
  PAT: 'IA32_PAT',
  CPSR: 'PSTATE',
  RFLAGS: 'EFLAGS',
};
/** Every register a source may carry. */
export const REGISTER_NAMES = [
  'TTBR0_EL1',
  'TTBR1_EL1',
  'TCR_EL1',
  'MAIR_EL1',
  'SCTLR_EL1',
  'CR0',
  'CR3',
  'CR4',
  'EFER',
  'IA32_PAT',
  'PKRU',
  'PSTATE',
  'EFLAGS',
] as const;

/** PSTATE.PAN: bit 22 of the SPSR / gdb `cpsr` view of PSTATE (Arm ARM D1.4; arch-facts A6). */
export const PSTATE_PAN_BIT = 22;
/** EFLAGS.AC: bit 18 (Intel SDM vol. 1 §3.4.3.3; with CR4.SMAP, arch-facts B5). */
export const EFLAGS_AC_BIT = 18;

/** Normalises a register name (`ttbr0` → `TTBR0_EL1`); undefined if unknown. */
export function registerName(text: string): string | undefined {
  const upper = text.trim().toUpperCase();
  const name = ALIASES[upper] ?? upper;
  return (REGISTER_NAMES as readonly string[]).includes(name) ? name : undefined;
}

/**
 * Parses `NAME=VALUE,NAME=VALUE` (`--regs`, or the tail of an image spec).
 * @throws PageTableSourceError for an unknown name, a malformed value or a name given twice.
 */
export function parseRegisterList(text: string, what: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? undefined : registerName(part.slice(0, eq));
    if (name === undefined) {
      throw new PageTableSourceError(
        `${what}: ${JSON.stringify(part.trim())} is not a register assignment; expected NAME=VALUE with NAME one of ${REGISTER_NAMES.join(', ')} (TTBR0, TCR, … and PAT also work)`,
        part,
      );
    }
    if (name in out) throw new PageTableSourceError(`${what}: register ${name} is given twice`, part);
    out[name] = parseRegisterValue(part.slice(eq + 1), `${what} ${name}`);
  }
  return out;
}

const bit = (v: bigint | undefined, n: number): boolean => v !== undefined && ((v >> BigInt(n)) & 1n) === 1n;
const field = (v: bigint, shift: number, width: number): number =>
  Number((v >> BigInt(shift)) & ((1n << BigInt(width)) - 1n));

/** A backend with its MMU loaded from registers. */
export interface Regime {
  /** The paging backend the registers select, configured from their control bits. */
  readonly backend: ArchBackend;
  /** An MMU over the memory with the roots loaded (walks and probes read the source's bytes). */
  readonly mmu: Mmu;
  /** Root tables the registers select: `[pa, internal level]` (AArch64 TTBR0 and TTBR1; x86 CR3). */
  readonly roots: readonly { readonly name: string; readonly pa: number }[];
  /** What was assumed because a register was not given. */
  readonly notes: readonly string[];
}

function fail(source: string, message: string): never {
  throw new PageTableSourceError(`${source}: ${message}`);
}

/** Options of {@link backendFor}, {@link loadRegime} and `loadTables`. */
export interface RegimeOptions {
  /**
   * x86-32 and PAE: the first kernel virtual address (the user/kernel split, Linux's
   * `PAGE_OFFSET`), which decides which half a mapping is in; default 0xC000_0000 (Linux's 3G/1G
   * `VMSPLIT_3G`). The backend's rule applies: a multiple of 4 MiB (x86-32) or 1 GiB (PAE, as
   * Linux's `VMSPLIT_*` choices with `X86_PAE`) inside 4 GiB. Refused for other formats, whose
   * halves the architecture fixes.
   */
  readonly kernelSplit?: number;
}

/** The backend (without memory) the registers select; see {@link loadRegime}. */
export function backendFor(
  source: string,
  regs: Readonly<Record<string, bigint>>,
  options: RegimeOptions = {},
): { backend: ArchBackend; notes: string[] } {
  const notes: string[] = [];
  if (options === null || typeof options !== 'object') fail(source, 'regime options are not an object');
  const split = options.kernelSplit;
  if (split !== undefined && (typeof split !== 'number' || !Number.isSafeInteger(split) || split < 0))
    fail(
      source,
      `kernel split ${String(split)} is not an address; expected a whole number of bytes between 0 and 4 GiB`,
    );
  const noSplit = (format: string) => {
    if (split !== undefined)
      fail(
        source,
        `a kernel split (${hex(split)}) does not apply to ${format}: its user and kernel halves are fixed by the architecture; expected x86-32 or PAE registers`,
      );
  };
  const isArm = ['TTBR0_EL1', 'TTBR1_EL1', 'TCR_EL1'].some((n) => n in regs);
  const isX86 = 'CR3' in regs;
  if (isArm && isX86) fail(source, 'registers of two architectures (TTBRn_EL1/TCR_EL1 and CR3)');
  if (isArm) {
    noSplit('AArch64');
    const t = TCR_EL1_BITS;
    const tcr = regs.TCR_EL1;
    if (tcr === undefined) {
      fail(
        source,
        'TCR_EL1 is missing; expected TCR_EL1=… with TTBR0_EL1/TTBR1_EL1 (the walk depends on it)',
      );
    }
    const t0sz = field(tcr, t.T0SZ, 6);
    const t1sz = field(tcr, t.T1SZ, 6);
    const tg0 = field(tcr, t.TG0, 2);
    const tg1 = field(tcr, t.TG1, 2);
    if (t0sz !== 16 || t1sz !== 16 || tg0 !== 0 || tg1 !== 2) {
      fail(
        source,
        `TCR_EL1 ${hex(tcr, 16)} selects T0SZ=${t0sz} T1SZ=${t1sz} TG0=${tg0} TG1=${tg1}; expected T0SZ=T1SZ=16 (48-bit VA) and TG0=0b00, TG1=0b10 (4 KiB granule), the regime the AArch64 backend models`,
      );
    }
    if (bit(tcr, t.HPD0) || bit(tcr, t.HPD1)) {
      fail(source, `TCR_EL1 ${hex(tcr, 16)} sets HPD0/HPD1; expected 0 (hierarchical permissions on)`);
    }
    if (bit(tcr, t.EPD0) || bit(tcr, t.EPD1)) {
      fail(source, `TCR_EL1 ${hex(tcr, 16)} sets EPD0/EPD1 (walks disabled); expected 0`);
    }
    if (bit(tcr, t.TBI0) || bit(tcr, t.TBI1))
      notes.push('TCR_EL1.TBI0/TBI1 set: VAs are walked without top-byte ignore');
    const sctlr = regs.SCTLR_EL1;
    if (sctlr !== undefined && !bit(sctlr, SCTLR_EL1_BITS.M)) {
      fail(
        source,
        `SCTLR_EL1 ${hex(sctlr, 16)} has M = 0: the stage-1 MMU is off, there are no tables to walk`,
      );
    }
    if (sctlr === undefined) notes.push('SCTLR_EL1 not given: WXN = 0 assumed');
    if (regs.MAIR_EL1 === undefined) notes.push('MAIR_EL1 not given: Linux MAIR_EL1_SET assumed');
    const backend = createAarch64Arch({
      hardwareAccessFlag: bit(tcr, t.HA),
      hardwareDirty: bit(tcr, t.HD),
      ...(regs.MAIR_EL1 === undefined ? {} : { mair: regs.MAIR_EL1 }),
      wxn: bit(sctlr, SCTLR_EL1_BITS.WXN),
    });
    return { backend, notes };
  }
  if (isX86) {
    const cr0 = regs.CR0;
    const cr4 = regs.CR4 ?? 0n;
    const efer = regs.EFER;
    if (cr0 !== undefined && !bit(cr0, CR0_BITS.PG)) {
      fail(source, `CR0 ${hex(cr0, 8)} has PG = 0: paging is off, there are no tables to walk`);
    }
    if (cr0 === undefined) notes.push('CR0 not given: PG = 1, WP = 1 assumed');
    if (regs.CR4 === undefined) notes.push('CR4 not given: 0 assumed (32-bit paging)');
    const pae = bit(cr4, CR4_BITS.PAE);
    const lma = bit(efer, EFER_BITS.LMA);
    if (lma && !pae)
      fail(source, `EFER.LMA = 1 with CR4.PAE = 0 (CR4 ${hex(cr4, 8)}); IA-32e paging needs PAE`);
    const mode: X86Mode = !pae
      ? 'x86-32'
      : !lma
        ? 'x86-pae'
        : bit(cr4, CR4_BITS.LA57)
          ? 'x86_64-la57'
          : 'x86_64';
    if (efer === undefined && pae) notes.push('EFER not given: LMA = 0, NXE = 1 assumed');
    const nxe = mode === 'x86-32' ? false : efer === undefined ? true : bit(efer, EFER_BITS.NXE);
    const ia32e = mode === 'x86_64' || mode === 'x86_64-la57';
    if (ia32e) noSplit(mode);
    else if (split !== undefined) notes.push(`kernel half from ${hex(split)} (kernel split)`);
    if (regs.IA32_PAT === undefined) notes.push("IA32_PAT not given: Linux's PAT assumed");
    let backend: ArchBackend;
    try {
      backend = createX86Arch({
        mode,
        pse: bit(cr4, CR4_BITS.PSE),
        nxe,
        pge: bit(cr4, CR4_BITS.PGE),
        ...(ia32e ? { pcid: bit(cr4, CR4_BITS.PCIDE), pke: bit(cr4, CR4_BITS.PKE) } : {}),
        wp: cr0 === undefined ? true : bit(cr0, CR0_BITS.WP),
        smep: bit(cr4, CR4_BITS.SMEP),
        smap: bit(cr4, CR4_BITS.SMAP),
        ...(regs.IA32_PAT === undefined ? {} : { pat: regs.IA32_PAT }),
        ...(split === undefined ? {} : { userSplit: split }),
      });
    } catch (e) {
      // A kernel split the backend refuses (not a multiple of 4 MiB / 1 GiB): a usage error.
      return fail(source, e instanceof Error ? e.message : String(e));
    }
    return { backend, notes };
  }
  return fail(
    source,
    'no root registers; expected TTBR0_EL1, TTBR1_EL1 and TCR_EL1 (AArch64) or CR3 with CR0/CR4/EFER (x86), e.g. --regs CR3=0x1000,CR4=0x20',
  );
}

/**
 * Builds the backend the registers select and an MMU over `memory` with the roots loaded.
 * @throws PageTableSourceError when the registers name no regime, one the backends do not model, or a
 *   root the format cannot hold.
 */
export function loadRegime(
  source: string,
  regs: Readonly<Record<string, bigint>>,
  memory: PhysicalMemory,
  options: RegimeOptions = {},
): Regime {
  const { backend, notes } = backendFor(source, regs, options);
  const roots: { name: string; pa: number }[] = [];
  try {
    if (backend.description.id === 'aarch64') {
      const mmu = (backend as Aarch64Backend).createMmu(memory);
      // TTBRn_EL1: ASID [63:48] (TTBR0 with TCR_EL1.A1 = 0), BADDR [47:1], CnP [0] (arch-facts A3).
      const ttbr0 = regs.TTBR0_EL1 ?? 0n;
      const ttbr1 = regs.TTBR1_EL1 ?? 0n;
      const base = (v: bigint) => Number(v & 0x0000_ffff_ffff_fffen);
      if (regs.TTBR0_EL1 === undefined) notes.push('TTBR0_EL1 not given: 0 assumed');
      if (regs.TTBR1_EL1 === undefined) notes.push('TTBR1_EL1 not given: 0 assumed');
      mmu.setUserRoot(base(ttbr0), Number(ttbr0 >> 48n));
      mmu.setKernelRoot(base(ttbr1));
      // PSTATE.PAN (arch-facts A6): EL1 data accesses to EL0-accessible memory take a Permission
      // fault; instruction fetches are unaffected. Only when the source gives PSTATE.
      if (regs.PSTATE !== undefined) {
        mmu.pan = bit(regs.PSTATE, PSTATE_PAN_BIT);
        notes.push(`PSTATE.PAN = ${mmu.pan ? 1 : 0} (PSTATE bit ${PSTATE_PAN_BIT})`);
      }
      roots.push({ name: 'TTBR0_EL1', pa: base(ttbr0) }, { name: 'TTBR1_EL1', pa: base(ttbr1) });
      return { backend, mmu, roots, notes };
    }
    const x = backend as X86Backend;
    const cr3 = regs.CR3!;
    const mode = x.description.id;
    const cr4 = regs.CR4 ?? 0n;
    // CR3: x86-32 PD base [31:12]; PAE PDPT base [31:5]; IA-32e [51:12] plus PCID [11:0] with
    // CR4.PCIDE (arch-facts B2).
    const root =
      mode === 'x86-pae'
        ? Number(cr3 & 0xffff_ffe0n)
        : mode === 'x86-32'
          ? Number(cr3 & 0xffff_f000n)
          : Number(cr3 & 0x000f_ffff_ffff_f000n);
    const pcid = mode.startsWith('x86_64') && bit(cr4, CR4_BITS.PCIDE) ? Number(cr3 & 0xfffn) : 0;
    // EFLAGS.AC (arch-facts B5): with CR4.SMAP, supervisor data accesses to user pages fault
    // unless AC = 1 (STAC). Only when the source gives EFLAGS; otherwise AC = 0.
    const ac = bit(regs.EFLAGS, EFLAGS_AC_BIT);
    const mmu = x.createMmu(memory, {
      ...(regs.PKRU === undefined ? {} : { pkru: Number(regs.PKRU & 0xffff_ffffn) }),
      acFlag: ac,
    });
    if (regs.EFLAGS !== undefined)
      notes.push(
        `EFLAGS.AC = ${ac ? 1 : 0} (EFLAGS bit ${EFLAGS_AC_BIT}) with CR4.SMAP = ${bit(cr4, CR4_BITS.SMAP) ? 1 : 0}`,
      );
    mmu.setUserRoot(root, pcid);
    roots.push({ name: 'CR3', pa: root });
    return { backend, mmu, roots, notes };
  } catch (e) {
    if (e instanceof PageTableSourceError) throw e;
    throw new PageTableSourceError(`${source}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
