/**
 * The x86 table walker of one CPU and its translation registers (CR0, CR3,
 * CR4, IA32_EFER, IA32_PAT, PKRU).
 *
 * The walk follows QEMU's `mmu_translate` (target/i386/tcg/system/excp_helper.c)
 * step by step (arch-facts B1, B4, B5, B6, B7):
 *
 * 1. IA-32e: the VA must be canonical (bits 63:47, or 63:56 with LA57, all
 *    equal), else `#GP(0)`: fault kind `non-canonical`, syndrome 0, level 0, no
 *    entry read, nothing written (CR2 is not written by a #GP: a kernel must not
 *    treat it as a #PF). `x86-32` / `x86-pae`: a VA ≥ 4 GiB (vpn ≥ 2^20) cannot
 *    exist in a 32-bit linear address space and is refused the same way.
 * 2. At each level: P = 0 → #PF with P = 0 at that level (`translation`);
 *    reserved bits (address bits above MAXPHYADDR, XD without NXE, PS in a
 *    PML5E/PML4E, PAE PDPTE bits 2:1, 8:5, 63:M, bits 62:52 in PAE entries, the
 *    bits between 12 and the page size in a large leaf, PSE-36 bits) → #PF with
 *    RSVD (`reserved-bit`).
 * 3. R/W and U/S are ANDed and XD ORed over every entry of the path (the PAE
 *    PDPTE takes no part); then user accesses need U/S, writes R/W (supervisor
 *    writes too when CR0.WP = 1), fetches !XD; SMEP forbids supervisor fetches
 *    from user pages; SMAP forbids supervisor reads and writes of user pages
 *    unless EFLAGS.AC = 1 ({@link X86Mmu.acFlag}); with CR4.PKE, PKRU's AD/WD bits
 *    of the leaf's key restrict data accesses to user pages (checked before the
 *    other permissions, as QEMU does) → #PF with P = 1 (+ PK) (`permission`).
 * 4. Accessed/dirty (arch-facts B7, QEMU): A is set on each non-leaf entry as the
 *    walk descends (even if the access faults later), on a 1 GiB leaf before its
 *    reserved-bit and permission checks (same code path as a table), on 2 MiB,
 *    4 MiB and 4 KiB leaves only after every check passed, together with D for a
 *    write. Only the low word is written. `probe()` never writes.
 * 5. `perms` carries write permission only when D = 1, so a TLB caches a clean
 *    page read-only and the first write walks again and sets D.
 *
 * Fidelity choices beyond QEMU: PAE PDPTE bits 2:1 and 8:5 are checked at walk
 * time (hardware checks them when loading CR3; QEMU not at all, arch-facts D4),
 * and a PDPTE never gets an A bit (QEMU sets bit 5, which the SDM reserves). A
 * 4 MiB PDE's PSE-36 address bits above MAXPHYADDR are reserved (SDM; QEMU only
 * checks bit 21). The RSVD error code includes P unless `rsvdSetsP` is false
 * (arch-facts D1).
 *
 * One root: CR3 translates user and kernel addresses alike. `setUserRoot` loads
 * CR3 (MOV CR3, with the PCID); `setKernelRoot` records the kernel's own root and
 * loads it into CR3 only while no user root has been loaded (a CPU with no
 * process). A kernel using one root per address space must copy the kernel half
 * into every user root.
 *
 * Hot path: numbers only, no allocation per walk (WalkStep objects are pushed
 * only when a trace array is passed); tables are carried as frame numbers.
 */
import {
  type AccessKind,
  type ArchDescription,
  Fault,
  InvalidArgumentError,
  join64,
  type Mmu,
  type MmuOptions,
  Perm,
  type PhysicalMemory,
  type PrivilegeLevel,
  type RegisterSet,
  type WalkResult,
  type WalkStep,
} from '@mmkit/core';
import type { X86DescriptorCodec } from './descriptor-codec.js';
import { PF_PK as PF_PK_, pageFaultErrorCode } from './error-code.js';
import { X86_LEVEL_NAMES, type X86Mode } from './modes.js';
import type { X86Format } from './options.js';
import { checkPcid, checkRoot, computeCr0, computeCr4, computeEfer } from './registers.js';

// Module-local constants: V8 folds module-local consts but loads imported bindings from a cell on every use.
const TWO_32 = 0x1_0000_0000;
const LO_P = 1 << 0;
const LO_RW = 1 << 1;
const LO_US = 1 << 2;
const LO_A = 1 << 5;
const LO_D = 1 << 6;
const LO_PS = 1 << 7;
const LO_G = 1 << 8;
const HI_ADDR = 0xf_ffff;
const HI_XD = 0x8000_0000;
const RSVD_2M = 0x1f_e000;
const RSVD_1G = 0x3fff_e000;
const PF_PK = PF_PK_;
const FAULT_TRANSLATION = Fault.Translation;
const FAULT_PERMISSION = Fault.Permission;
const FAULT_RESERVED = Fault.ReservedBit;
const FAULT_NON_CANONICAL = Fault.NonCanonical;
const P_UR = Perm.UR;
const P_UW = Perm.UW;
const P_UX = Perm.UX;
const P_KR = Perm.KR;
const P_KW = Perm.KW;
const P_KX = Perm.KX;

/** MMU options: the common ones (x86 always manages A/D in hardware) plus CPU state. */
export interface X86MmuOptions extends MmuOptions {
  /** CR0.WP (default: the backend's option). */
  readonly wp?: boolean;
  /** CR4.SMEP (default: the backend's option). */
  readonly smep?: boolean;
  /** CR4.SMAP (default: the backend's option). */
  readonly smap?: boolean;
  /** EFLAGS.AC: with SMAP, supervisor data accesses to user pages are allowed while set (default false). */
  readonly acFlag?: boolean;
  /** PKRU (default 0: every key allows everything). Only used with CR4.PKE. */
  readonly pkru?: number;
}

/** What the MMU needs from its backend. */
export interface X86MmuContext {
  readonly arch: ArchDescription;
  readonly codec: X86DescriptorCodec;
  readonly format: X86Format;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(`x86 MMU option ${name}`, value, 'a boolean');
  return value;
}

function checkPkru(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new InvalidArgumentError('PKRU', value, 'a 32-bit unsigned integer (AD/WD bit pairs per key)');
  }
  return value;
}

/** See the module documentation. */
export class X86Mmu implements Mmu {
  readonly arch: ArchDescription;
  readonly mode: X86Mode;
  /** CR0.WP; may be changed at any time (real kernels toggle it rarely; flush the TLB after). */
  wp: boolean;
  /** CR4.SMEP; may be changed at any time (flush the TLB after). */
  smep: boolean;
  /** CR4.SMAP; may be changed at any time (flush the TLB after). */
  smap: boolean;
  /** EFLAGS.AC (STAC / CLAC around deliberate user accesses with SMAP). */
  acFlag: boolean;
  /** CR4.PKE as configured. */
  readonly pke: boolean;
  /** CR4.PGE as configured: without it G is ignored and walks report `global` false. */
  readonly pge: boolean;
  /** EFER.NXE as configured. */
  readonly nxe: boolean;
  /** CR4.PCIDE as configured. */
  readonly pcide: boolean;

  private readonly codec: X86DescriptorCodec;
  private readonly format: X86Format;
  private readonly names: readonly string[];
  private readonly typeOfIndex: Uint8Array;
  private readonly kind: 0 | 1 | 2;
  private readonly rootLevel: number;
  private readonly pse: boolean;
  private readonly rsvdHi: number;
  private readonly pdpteRsvdLo: number;
  private readonly pdpteRsvdHi: number;
  private readonly rsvd4M: number;
  private readonly rsvdSetsP: boolean;
  /** VA[63:44] >>> canonicalShift = the bits that must all equal (VA[63:47], or VA[63:56] with LA57). */
  private readonly canonicalShift: number;
  private readonly canonicalOnes: number;
  private pkruValue = 0;
  private cr3Root = 0;
  /** Frame number and in-frame offset of the root (the offset is non-zero only for a PAE PDPT). */
  private cr3Pfn = 0;
  private cr3Off = 0;
  private pcid = 0;
  private userLoaded = false;
  private kernelRootValue = 0;

  /** @throws InvalidArgumentError for `hardwareAccessFlag` / `hardwareDirty` false (x86 always manages A/D) or a bad option type. */
  constructor(
    readonly memory: PhysicalMemory,
    context: X86MmuContext,
    options: X86MmuOptions = {},
  ) {
    if (options.hardwareAccessFlag === false || options.hardwareDirty === false) {
      throw new InvalidArgumentError(
        'x86 MMU options',
        `hardwareAccessFlag ${options.hardwareAccessFlag}, hardwareDirty ${options.hardwareDirty}`,
        'true or absent: x86 hardware always sets A and D',
      );
    }
    const f = context.format;
    const o = f.options;
    this.arch = context.arch;
    this.codec = context.codec;
    this.format = f;
    this.mode = f.mode;
    this.names = X86_LEVEL_NAMES[f.mode];
    this.typeOfIndex = f.pat.typeOfIndex;
    this.kind = f.ia32e ? 2 : f.wide ? 1 : 0;
    this.rootLevel = f.levels;
    this.pse = o.pse;
    this.rsvdHi = f.rsvdHi;
    this.pdpteRsvdLo = f.pdpteRsvdLo;
    this.pdpteRsvdHi = f.pdpteRsvdHi;
    this.rsvd4M = f.wide ? 0 : f.largeRsvdLo[2]!;
    this.rsvdSetsP = o.rsvdSetsP;
    this.canonicalShift = f.levels === 5 ? 12 : 3;
    this.canonicalOnes = f.levels === 5 ? 0xff : 0x1_ffff;
    this.pke = o.pke;
    this.pge = o.pge;
    this.nxe = o.nxe;
    this.pcide = o.pcid;
    this.wp = bool('wp', options.wp, o.wp);
    this.smep = bool('smep', options.smep, o.smep);
    this.smap = bool('smap', options.smap, o.smap);
    this.acFlag = bool('acFlag', options.acFlag, false);
    if (options.pkru !== undefined) this.pkruValue = checkPkru(options.pkru);
  }

  /** PKRU: bits 2k (AD, access disable) and 2k+1 (WD, write disable) for key k. Changing it needs a TLB flush here (QEMU flushes on WRPKRU). */
  get pkru(): number {
    return this.pkruValue;
  }
  /** @throws InvalidArgumentError unless a 32-bit unsigned integer. */
  set pkru(value: number) {
    this.pkruValue = checkPkru(value);
  }

  /** Current PCID (CR3[11:0] with CR4.PCIDE = 1; always 0 without). */
  get asid(): number {
    return this.pcid;
  }
  /** The root CR3 holds: the last user root, or the kernel root while no user root was loaded. */
  get userRoot(): number {
    return this.cr3Root;
  }
  /** The kernel's root as given to setKernelRoot (walks use CR3, see the module documentation). */
  get kernelRoot(): number {
    return this.kernelRootValue;
  }

  private loadCr3(rootPa: number, pcid: number): void {
    this.cr3Root = rootPa;
    this.cr3Off = rootPa % 4096;
    this.cr3Pfn = (rootPa - this.cr3Off) / 4096;
    this.pcid = pcid;
  }

  /**
   * MOV CR3: loads the root (and the PCID as `asid`). Does not touch any TLB model: the caller
   * applies the flush a CR3 load implies (non-global entries, of that PCID with PCIDE).
   * @throws InvalidArgumentError for a root the mode cannot hold (4 KiB aligned below 4 GiB in
   *   `x86-32`, 32-byte aligned below 4 GiB in `x86-pae`, 4 KiB aligned below 2^MAXPHYADDR in
   *   IA-32e) or a PCID outside 0 … 4095 (non-zero without PCIDE).
   */
  setUserRoot(rootPa: number, asid: number): void {
    checkRoot(this.mode, rootPa, this.format.options.maxPhysAddr);
    checkPcid(asid, this.pcide);
    this.loadCr3(rootPa, asid);
    this.userLoaded = true;
  }

  /**
   * Records the kernel's root; loads it into CR3 (PCID 0) while no user root has been loaded.
   * @throws InvalidArgumentError for a root the mode cannot hold (see setUserRoot).
   */
  setKernelRoot(rootPa: number): void {
    checkRoot(this.mode, rootPa, this.format.options.maxPhysAddr);
    this.kernelRootValue = rootPa;
    if (!this.userLoaded) this.loadCr3(rootPa, 0);
  }

  /**
   * Translates `vpn` for an access, setting A/D in memory exactly when the hardware would.
   * Returns `out.ok`. @throws BusError if a table lies outside RAM.
   */
  walk(
    vpn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    out: WalkResult,
    trace?: WalkStep[],
  ): boolean {
    const k = this.kind;
    if (k === 2) return this.walkIa32e(vpn, access, privilege, out, trace, true);
    if (k === 1) return this.walkPae(vpn, access, privilege, out, trace, true);
    return this.walk32(vpn, access, privilege, out, trace, true);
  }

  /**
   * Like {@link walk} but never writes memory; the result is the one the walk would produce.
   * @throws BusError if a table lies outside RAM.
   */
  probe(
    vpn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    out: WalkResult,
    trace?: WalkStep[],
  ): boolean {
    const k = this.kind;
    if (k === 2) return this.walkIa32e(vpn, access, privilege, out, trace, false);
    if (k === 1) return this.walkPae(vpn, access, privilege, out, trace, false);
    return this.walk32(vpn, access, privilege, out, trace, false);
  }

  private walkIa32e(
    vpn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    out: WalkResult,
    trace: WalkStep[] | undefined,
    update: boolean,
  ): boolean {
    out.reads = 0;
    out.descriptorPa = 0;
    const vHi = Math.floor(vpn / TWO_32); // VA[63:44]
    const vLo = vpn >>> 0; // VA[43:12]
    let level = this.rootLevel;
    // 1. Canonical: VA[63:47] (VA[63:56] with LA57) all equal (arch-facts B1).
    const top = vHi >>> this.canonicalShift;
    if (vHi < 0 || vHi >= 0x10_0000 || (top !== 0 && top !== this.canonicalOnes)) {
      return this.fault(out, FAULT_NON_CANONICAL, 0, access, privilege, 0);
    }
    const memory = this.memory;
    const rsvdHi = this.rsvdHi;
    let tablePfn = this.cr3Pfn;
    let rwus = LO_RW | LO_US;
    let nx = 0;
    let lo = 0;
    let hi = 0;
    let dpa = 0;
    for (;;) {
      const index =
        level === 1
          ? vLo & 511
          : level === 2
            ? (vLo >>> 9) & 511
            : level === 3
              ? (vLo >>> 18) & 511
              : level === 4
                ? ((vLo >>> 27) | (vHi << 5)) & 511
                : (vHi >>> 4) & 511;
      lo = memory.readPairInFrame(tablePfn, index * 8, level);
      hi = memory.pairHi;
      dpa = tablePfn * 4096 + index * 8;
      // (out.reads and out.descriptorPa are written once, where the walk ends: no stores per level.)
      if (trace !== undefined) this.record(trace, level, tablePfn * 4096, index, dpa, lo, hi);
      // 2. Not present, reserved bits (arch-facts B4).
      if ((lo & LO_P) === 0) {
        this.ended(out, level, dpa);
        return this.fault(out, FAULT_TRANSLATION, level, access, privilege, 0);
      }
      if ((hi & rsvdHi) !== 0) {
        this.ended(out, level, dpa);
        return this.fault(out, FAULT_RESERVED, level, access, privilege, 0);
      }
      if (level === 1) break;
      if ((lo & LO_PS) !== 0) {
        if (level >= 4) {
          this.ended(out, level, dpa);
          return this.fault(out, FAULT_RESERVED, level, access, privilege, 0);
        }
        // QEMU: a 1 GiB PDPTE gets A before its reserved-bit and permission checks (arch-facts B7).
        if (level === 3 && update && (lo & LO_A) === 0) {
          lo = (lo | LO_A) >>> 0;
          memory.write32(dpa, lo);
        }
        break;
      }
      if (update && (lo & LO_A) === 0) memory.write32(dpa, (lo | LO_A) >>> 0);
      rwus &= lo;
      nx |= hi;
      tablePfn = (hi & HI_ADDR) * 0x10_0000 + (lo >>> 12);
      level--;
    }
    this.ended(out, level, dpa);
    rwus &= lo;
    nx |= hi;
    let pfn: number;
    if (level === 1) {
      pfn = (hi & HI_ADDR) * 0x10_0000 + (lo >>> 12);
    } else if (level === 2) {
      if ((lo & RSVD_2M) !== 0) return this.fault(out, FAULT_RESERVED, level, access, privilege, 0);
      pfn = (hi & HI_ADDR) * 0x10_0000 + ((lo >>> 21) << 9) + (vLo & 511);
    } else {
      if ((lo & RSVD_1G) !== 0) return this.fault(out, FAULT_RESERVED, level, access, privilege, 0);
      pfn = (hi & HI_ADDR) * 0x10_0000 + ((lo >>> 30) << 18) + (vLo & 0x3_ffff);
    }
    // Fast path: an inline copy of leaf() for the common regime (V8 does not inline leaf() into this
    // loop, and the IA-32e walk is the hot one). User pages under SMAP, SMEP or PKE take leaf().
    const user = (rwus & LO_US) !== 0;
    const xd = (nx & HI_XD) !== 0;
    if (user && (this.smap || this.smep || this.pke)) {
      return this.leaf(out, level, lo, hi, dpa, rwus, xd, pfn, access, privilege, update);
    }
    if (privilege === 0 && !user) return this.fault(out, FAULT_PERMISSION, level, access, privilege, 0);
    let perms: number;
    if ((rwus & LO_RW) !== 0) {
      if (user) perms = xd ? P_UR | P_UW | P_KR | P_KW : P_UR | P_UW | P_UX | P_KR | P_KW | P_KX;
      else perms = xd ? P_KR | P_KW : P_KR | P_KW | P_KX;
    } else {
      if (user) perms = xd ? P_UR | P_KR : P_UR | P_UX | P_KR | P_KX;
      else perms = xd ? P_KR : P_KR | P_KX;
      if (!this.wp) perms |= P_KW; // CR0.WP = 0: supervisor writes ignore R/W
    }
    if ((perms & (1 << (access + 3 * privilege))) === 0) {
      return this.fault(out, FAULT_PERMISSION, level, access, privilege, 0);
    }
    const next = (access === 1 ? lo | LO_A | LO_D : lo | LO_A) >>> 0;
    if (update && next !== lo) memory.write32(dpa, next);
    if ((next & LO_D) === 0) perms &= ~(P_UW | P_KW);
    return out.succeed(
      pfn,
      level,
      perms,
      this.typeOfIndex[((lo >>> 3) & 3) | (((level === 1 ? lo >>> 7 : lo >>> 12) & 1) << 2)]!,
      (lo & LO_G) !== 0 && this.pge,
      (next & LO_D) !== 0,
    );
  }

  private walkPae(
    vpn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    out: WalkResult,
    trace: WalkStep[] | undefined,
    update: boolean,
  ): boolean {
    out.reads = 0;
    out.descriptorPa = 0;
    if (vpn < 0 || vpn >= 0x10_0000) return this.fault(out, FAULT_NON_CANONICAL, 0, access, privilege, 0);
    const memory = this.memory;
    const rsvdHi = this.rsvdHi;
    // PDPTE: only P, PWT, PCD, address; no A, no permissions (arch-facts B3, B5).
    const pdptIndex = vpn >>> 18;
    const pdptOff = this.cr3Off + pdptIndex * 8;
    let lo = memory.readPairInFrame(this.cr3Pfn, pdptOff, 3);
    let hi = memory.pairHi;
    let dpa = this.cr3Pfn * 4096 + pdptOff;
    out.reads++;
    out.descriptorPa = dpa;
    if (trace !== undefined) this.record(trace, 3, this.cr3Root, pdptIndex, dpa, lo, hi);
    if ((lo & LO_P) === 0) return this.fault(out, FAULT_TRANSLATION, 3, access, privilege, 0);
    if ((lo & this.pdpteRsvdLo) !== 0 || (hi & this.pdpteRsvdHi) !== 0) {
      return this.fault(out, FAULT_RESERVED, 3, access, privilege, 0);
    }
    let tablePfn = (hi & HI_ADDR) * 0x10_0000 + (lo >>> 12);
    // PD
    let index = (vpn >>> 9) & 511;
    lo = memory.readPairInFrame(tablePfn, index * 8, 2);
    hi = memory.pairHi;
    dpa = tablePfn * 4096 + index * 8;
    out.reads++;
    out.descriptorPa = dpa;
    if (trace !== undefined) this.record(trace, 2, tablePfn * 4096, index, dpa, lo, hi);
    if ((lo & LO_P) === 0) return this.fault(out, FAULT_TRANSLATION, 2, access, privilege, 0);
    if ((hi & rsvdHi) !== 0) return this.fault(out, FAULT_RESERVED, 2, access, privilege, 0);
    if ((lo & LO_PS) !== 0) {
      if ((lo & RSVD_2M) !== 0) return this.fault(out, FAULT_RESERVED, 2, access, privilege, 0);
      const pfn = (hi & HI_ADDR) * 0x10_0000 + ((lo >>> 21) << 9) + (vpn & 511);
      return this.leaf(out, 2, lo, hi, dpa, lo, (hi & HI_XD) !== 0, pfn, access, privilege, update);
    }
    if (update && (lo & LO_A) === 0) memory.write32(dpa, (lo | LO_A) >>> 0);
    const rwus = lo;
    const nx = hi;
    // PT
    tablePfn = (hi & HI_ADDR) * 0x10_0000 + (lo >>> 12);
    index = vpn & 511;
    lo = memory.readPairInFrame(tablePfn, index * 8, 1);
    hi = memory.pairHi;
    dpa = tablePfn * 4096 + index * 8;
    out.reads++;
    out.descriptorPa = dpa;
    if (trace !== undefined) this.record(trace, 1, tablePfn * 4096, index, dpa, lo, hi);
    if ((lo & LO_P) === 0) return this.fault(out, FAULT_TRANSLATION, 1, access, privilege, 0);
    if ((hi & rsvdHi) !== 0) return this.fault(out, FAULT_RESERVED, 1, access, privilege, 0);
    const pfn = (hi & HI_ADDR) * 0x10_0000 + (lo >>> 12);
    return this.leaf(
      out,
      1,
      lo,
      hi,
      dpa,
      rwus & lo,
      ((nx | hi) & HI_XD) !== 0,
      pfn,
      access,
      privilege,
      update,
    );
  }

  private walk32(
    vpn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    out: WalkResult,
    trace: WalkStep[] | undefined,
    update: boolean,
  ): boolean {
    out.reads = 0;
    out.descriptorPa = 0;
    if (vpn < 0 || vpn >= 0x10_0000) return this.fault(out, FAULT_NON_CANONICAL, 0, access, privilege, 0);
    const memory = this.memory;
    // PDE: (CR3 & 0xFFFFF000) + (VA >> 20) & 0xFFC (arch-facts B1). Each table is read through
    // PhysicalMemory's memo of its level (no index look-up per read); out.reads and
    // out.descriptorPa are written once, where the walk ends.
    let index = vpn >>> 10;
    const dirPfn = this.cr3Pfn;
    let dpa = dirPfn * 4096 + index * 4;
    let lo = memory.read32InFrame(dirPfn, index * 4, 2);
    if (trace !== undefined) this.record(trace, 2, dirPfn * 4096, index, dpa, lo, 0);
    if ((lo & LO_P) === 0) {
      this.ended(out, 2, dpa);
      return this.fault(out, FAULT_TRANSLATION, 2, access, privilege, 0);
    }
    if (this.pse && (lo & LO_PS) !== 0) {
      this.ended(out, 2, dpa);
      // 4 MiB page: bit 21 (and PSE-36 bits above MAXPHYADDR) reserved; PA[39:32] in bits 20:13.
      if ((lo & this.rsvd4M) !== 0) return this.fault(out, FAULT_RESERVED, 2, access, privilege, 0);
      const pfn = ((lo >>> 22) << 10) + ((lo >>> 13) & 0xff) * 0x10_0000 + (vpn & 1023);
      return this.leaf(out, 2, lo, 0, dpa, lo, false, pfn, access, privilege, update);
    }
    if (update && (lo & LO_A) === 0) memory.write32(dpa, (lo | LO_A) >>> 0);
    const rwus = lo;
    // PTE: (PDE & ~0xFFF) + (VA >> 10) & 0xFFC.
    const tablePfn = lo >>> 12;
    index = vpn & 1023;
    dpa = tablePfn * 4096 + index * 4;
    lo = memory.read32InFrame(tablePfn, index * 4, 1);
    this.ended(out, 1, dpa);
    if (trace !== undefined) this.record(trace, 1, tablePfn * 4096, index, dpa, lo, 0);
    if ((lo & LO_P) === 0) return this.fault(out, FAULT_TRANSLATION, 1, access, privilege, 0);
    // Fast path: leaf() inlined for the common regime, as in walkIa32e (no NX in 32-bit paging);
    // user pages under SMAP, SMEP or PKE take leaf().
    const rw = rwus & lo;
    const user = (rw & LO_US) !== 0;
    if (user && (this.smap || this.smep || this.pke)) {
      return this.leaf(out, 1, lo, 0, dpa, rw, false, lo >>> 12, access, privilege, update);
    }
    if (privilege === 0 && !user) return this.fault(out, FAULT_PERMISSION, 1, access, privilege, 0);
    let perms: number;
    if ((rw & LO_RW) !== 0) perms = user ? P_UR | P_UW | P_UX | P_KR | P_KW | P_KX : P_KR | P_KW | P_KX;
    else {
      perms = user ? P_UR | P_UX | P_KR | P_KX : P_KR | P_KX;
      if (!this.wp) perms |= P_KW; // CR0.WP = 0: supervisor writes ignore R/W
    }
    if ((perms & (1 << (access + 3 * privilege))) === 0) {
      return this.fault(out, FAULT_PERMISSION, 1, access, privilege, 0);
    }
    const next = (access === 1 ? lo | LO_A | LO_D : lo | LO_A) >>> 0;
    if (update && next !== lo) memory.write32(dpa, next);
    if ((next & LO_D) === 0) perms &= ~(P_UW | P_KW);
    return out.succeed(
      lo >>> 12,
      1,
      perms,
      this.typeOfIndex[((lo >>> 3) & 3) | (((lo >>> 7) & 1) << 2)]!,
      (lo & LO_G) !== 0 && this.pge,
      (next & LO_D) !== 0,
    );
  }

  /** Permission checks, A/D update and the result, for a leaf whose reserved bits passed (arch-facts B5, B7). */
  private leaf(
    out: WalkResult,
    level: number,
    lo: number,
    hi: number,
    dpa: number,
    rwus: number,
    xd: boolean,
    pfn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    update: boolean,
  ): boolean {
    const user = (rwus & LO_US) !== 0;
    // QEMU: a user access to a supervisor page faults before anything else.
    if (privilege === 0 && !user) return this.fault(out, FAULT_PERMISSION, level, access, privilege, 0);
    const writable = (rwus & LO_RW) !== 0;
    let perms = 0;
    if (user) perms = writable ? (xd ? P_UR | P_UW : P_UR | P_UW | P_UX) : xd ? P_UR : P_UR | P_UX;
    // SMAP: supervisor data accesses to user pages need EFLAGS.AC; CR0.WP = 0 lets the kernel write read-only pages.
    if (!(user && this.smap && !this.acFlag)) perms |= writable || !this.wp ? P_KR | P_KW : P_KR;
    // SMEP: no supervisor fetch from a user page.
    if (!xd && !(user && this.smep)) perms |= P_KX;
    const need = 1 << (access + 3 * privilege);
    const pkru = this.pkruValue;
    if (user && pkru !== 0 && this.pke) {
      const adwd = (pkru >>> (((hi >>> 27) & 15) * 2)) & 3;
      if (adwd !== 0) {
        // AD: no data access; WD: no user write, no supervisor write with CR0.WP = 1. Fetches unaffected.
        const mask = (adwd & 1) !== 0 ? ~(P_UR | P_UW | P_KR | P_KW) : this.wp ? ~(P_UW | P_KW) : ~P_UW;
        if ((mask & need) === 0) return this.fault(out, FAULT_PERMISSION, level, access, privilege, PF_PK);
        perms &= mask;
      }
    }
    if ((perms & need) === 0) return this.fault(out, FAULT_PERMISSION, level, access, privilege, 0);
    const next = (access === 1 ? lo | LO_A | LO_D : lo | LO_A) >>> 0;
    if (update && next !== lo) this.memory.write32(dpa, next);
    if ((next & LO_D) === 0) perms &= ~(P_UW | P_KW);
    return out.succeed(
      pfn,
      level,
      perms,
      this.typeOfIndex[((lo >>> 3) & 3) | (((level === 1 ? lo >>> 7 : lo >>> 12) & 1) << 2)]!,
      (lo & LO_G) !== 0 && this.pge,
      (next & LO_D) !== 0,
    );
  }

  /** Records in `out` a walk that ended at `level` on the descriptor at `dpa` (root … `level` read). */
  private ended(out: WalkResult, level: number, dpa: number): void {
    out.reads = this.rootLevel - level + 1;
    out.descriptorPa = dpa;
  }

  private record(
    trace: WalkStep[],
    level: number,
    tablePa: number,
    index: number,
    dpa: number,
    lo: number,
    hi: number,
  ): void {
    trace.push({
      level,
      levelName: this.names[level]!,
      tablePa,
      index,
      descriptorPa: dpa,
      raw: this.format.wide ? join64(lo, hi) : BigInt(lo >>> 0),
      entry: this.codec.decode(lo, hi, level),
    });
  }

  private fault(
    out: WalkResult,
    kind: number,
    level: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    extra: number,
  ): false {
    return out.fail(
      kind,
      level,
      pageFaultErrorCode(kind, access, privilege, this.smep || this.nxe, this.rsvdSetsP, extra === PF_PK),
    );
  }

  /**
   * CR0, CR3 (root | PCID), CR4, IA32_EFER, IA32_PAT and, with CR4.PKE, PKRU, as bigints
   * (see computeCr0 / computeCr4 / computeEfer for the exact bits).
   */
  registers(): RegisterSet {
    const o = this.format.options;
    const state = {
      mode: this.mode,
      pse: o.pse,
      nxe: o.nxe,
      pge: o.pge,
      pcid: o.pcid,
      wp: this.wp,
      smep: this.smep,
      smap: this.smap,
      pke: o.pke,
    };
    const regs: Record<string, bigint> = {
      CR0: computeCr0(state),
      CR3: BigInt(this.cr3Root) | BigInt(this.pcid),
      CR4: computeCr4(state),
      EFER: computeEfer(state),
      IA32_PAT: o.pat,
    };
    if (o.pke) regs.PKRU = BigInt(this.pkruValue);
    return regs;
  }
}
