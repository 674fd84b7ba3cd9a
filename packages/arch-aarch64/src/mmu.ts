/**
 * The stage-1 EL1&0 table walker of one CPU and its translation registers.
 *
 * The walk follows QEMU `get_phys_addr_lpae` / `get_S1prot` step by step
 * (arch-facts A3, A6, A7, A10):
 *
 * 1. VA bit 55 selects TTBR0_EL1 or TTBR1_EL1; VA[63:48] must all equal bit 55
 *    (no TBI), else Translation fault, level 0.
 * 2. At each level: bit 0 = 0, or `0b01` at L0/L3 → Translation fault at that level;
 *    an output or next-table address above the 48-bit OA size → Address size fault
 *    at that level; a table ORs its bits [63:59] into the accumulated table attributes.
 * 3. Leaf: AF = 0 → with TCR_EL1.HA set AF in the new descriptor, else Access flag
 *    fault; with HD, DBM = 1 and a store, clear AP[2] in the new descriptor.
 * 4. Permissions from the new descriptor with APTable/UXNTable/PXNTable folded in,
 *    PAN and WXN applied → Permission fault at the leaf level.
 * 5. Only when the access succeeds is the new descriptor written back (walk(),
 *    never probe()) — QEMU does the compare-and-swap after the permission check.
 *
 * Output-address bits above 48 (fidelity choice). A leaf's bits [49:48] and a
 * table's bits [51:48] are RES0 with a 48-bit OA; they hold OA bits in the 52-bit
 * formats. QEMU masks them away (its `descaddrmask` is 48 bits wide); mmkit
 * instead treats them as part of the output address and reports the Address size
 * fault that an output address ≥ 2^48 gets, so a descriptor built for a 52-bit
 * format is caught rather than silently truncated. A leaf's bits 51:50 are DBM
 * and GP, not address bits.
 *
 * The VA arrives as a page number `vpn` (VA >> 12, up to 52 bits). No allocation
 * per walk except the WalkStep objects pushed into a trace array when one is passed.
 */
import {
  type AccessKind,
  type ArchDescription,
  Fault,
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
import { AARCH64_LEVEL_NAMES } from './constants.js';
import {
  HI_DBM as HI_DBM_,
  HI_LEAF_OA_HIGH as HI_LEAF_OA_HIGH_,
  HI_PXN as HI_PXN_,
  HI_TABLE_ATTRS_SHIFT as HI_TABLE_ATTRS_SHIFT_,
  HI_TABLE_OA_HIGH as HI_TABLE_OA_HIGH_,
  HI_UXN as HI_UXN_,
  LEAF_LO_MASK as LEAF_LO_MASK_,
  LO_ADDR_4K as LO_ADDR_4K_,
  LO_AF as LO_AF_,
  LO_AP1 as LO_AP1_,
  LO_AP2 as LO_AP2_,
  LO_NG as LO_NG_,
  TA_AP0 as TA_AP0_,
  TA_AP1 as TA_AP1_,
  TA_PXN as TA_PXN_,
  TA_UXN as TA_UXN_,
  TWO_32 as TWO_32_,
} from './descriptor-bits.js';

// Module-local copies: V8 folds module-local consts but loads imported bindings from a cell on every use.
const HI_DBM = HI_DBM_;
const HI_LEAF_OA_HIGH = HI_LEAF_OA_HIGH_;
const HI_PXN = HI_PXN_;
const HI_TABLE_ATTRS_SHIFT = HI_TABLE_ATTRS_SHIFT_;
const HI_TABLE_OA_HIGH = HI_TABLE_OA_HIGH_;
const HI_UXN = HI_UXN_;
const LEAF_LO_MASK = LEAF_LO_MASK_;
const LO_ADDR_4K = LO_ADDR_4K_;
const LO_AF = LO_AF_;
const LO_AP1 = LO_AP1_;
const LO_AP2 = LO_AP2_;
const LO_NG = LO_NG_;
const TA_AP0 = TA_AP0_;
const TA_AP1 = TA_AP1_;
const TA_PXN = TA_PXN_;
const TA_UXN = TA_UXN_;
const TWO_32 = TWO_32_;

import type { Aarch64DescriptorCodec } from './descriptor-codec.js';
import { abortSyndrome } from './esr.js';
import type { MairMap } from './mair.js';
import { checkAsid, checkRoot, computeSctlrEl1, computeTcrEl1 } from './registers.js';

/** MMU options: the common ones plus AArch64 regime state. */
export interface Aarch64MmuOptions extends MmuOptions {
  /** PSTATE.PAN: EL1 data accesses to EL0-accessible memory fault (default: the backend's option). */
  readonly pan?: boolean;
  /** SCTLR_EL1.WXN: writable memory is execute-never (default: the backend's option). */
  readonly wxn?: boolean;
}

/** What the MMU needs from its backend. */
export interface Aarch64MmuContext {
  readonly arch: ArchDescription;
  readonly codec: Aarch64DescriptorCodec;
  readonly mair: MairMap;
  readonly hardwareAccessFlag: boolean;
  readonly hardwareDirty: boolean;
  readonly pan: boolean;
  readonly wxn: boolean;
}

// Local copies of Fault / Perm codes: plain constants the JIT can fold (module object properties are loads).
const FAULT_TRANSLATION = Fault.Translation;
const FAULT_ACCESS_FLAG = Fault.AccessFlag;
const FAULT_PERMISSION = Fault.Permission;
const FAULT_ADDRESS_SIZE = Fault.AddressSize;
const P_UR = Perm.UR;
const P_UW = Perm.UW;
const P_UX = Perm.UX;
const P_KR = Perm.KR;
const P_KW = Perm.KW;
const P_KX = Perm.KX;

/** Pages per leaf minus one, by internal level (mask of the vpn bits inside a block). */
const IN_LEAF_MASK = [0, 0, 511, 0x3_ffff] as const;

/** See the module documentation. */
export class Aarch64Mmu implements Mmu {
  readonly arch: ArchDescription;
  /** TCR_EL1.HA: hardware sets the Access flag. */
  readonly hardwareAccessFlag: boolean;
  /** TCR_EL1.HD as programmed (it only takes effect with HA). */
  readonly hardwareDirtyRequested: boolean;
  /** Effective hardware dirty management: HA && HD (QEMU). */
  readonly hardwareDirty: boolean;
  /** PSTATE.PAN; may be changed at any time (e.g. around uaccess). */
  pan: boolean;
  /** SCTLR_EL1.WXN; changing it needs a TLB invalidation on real hardware. */
  wxn: boolean;

  private readonly codec: Aarch64DescriptorCodec;
  private readonly typeOfIndex: Uint8Array;
  private readonly mairValue: bigint;
  private ttbr0 = 0;
  private ttbr0Asid = 0;
  private ttbr1 = 0;
  /** Frame numbers of the two roots (the walker works in frames: no division per level). */
  private ttbr0Pfn = 0;
  private ttbr1Pfn = 0;

  constructor(
    readonly memory: PhysicalMemory,
    context: Aarch64MmuContext,
    options: Aarch64MmuOptions = {},
  ) {
    this.arch = context.arch;
    this.codec = context.codec;
    this.typeOfIndex = context.mair.typeOfIndex;
    this.mairValue = context.mair.mair;
    this.hardwareAccessFlag = options.hardwareAccessFlag ?? context.hardwareAccessFlag;
    this.hardwareDirtyRequested = options.hardwareDirty ?? context.hardwareDirty;
    this.hardwareDirty = this.hardwareAccessFlag && this.hardwareDirtyRequested;
    this.pan = options.pan ?? context.pan;
    this.wxn = options.wxn ?? context.wxn;
  }

  /** Current ASID (TTBR0_EL1[63:48]; TCR_EL1.A1 = 0). */
  get asid(): number {
    return this.ttbr0Asid;
  }
  /** TTBR0_EL1 base: root of the user half. */
  get userRoot(): number {
    return this.ttbr0;
  }
  /** TTBR1_EL1 base: root of the kernel half. */
  get kernelRoot(): number {
    return this.ttbr1;
  }

  /**
   * Loads TTBR0_EL1 (root and ASID). Does not invalidate any TLB: with ASIDs none is needed.
   * @throws InvalidArgumentError for a root that is not 4 KiB aligned below 2^48, or an ASID outside 0 … 65535.
   */
  setUserRoot(rootPa: number, asid: number): void {
    checkRoot(rootPa);
    checkAsid(asid);
    this.ttbr0 = rootPa;
    this.ttbr0Pfn = rootPa / 4096;
    this.ttbr0Asid = asid;
  }

  /**
   * Loads TTBR1_EL1.
   * @throws InvalidArgumentError for a root that is not 4 KiB aligned below 2^48.
   */
  setKernelRoot(rootPa: number): void {
    checkRoot(rootPa);
    this.ttbr1 = rootPa;
    this.ttbr1Pfn = rootPa / 4096;
  }

  /**
   * Translates `vpn` for an access, setting AF / clearing AP[2] in memory exactly when the
   * hardware would (only for an access that succeeds). Returns `out.ok`.
   * @throws BusError if a table lies outside RAM.
   */
  walk(
    vpn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    out: WalkResult,
    trace?: WalkStep[],
  ): boolean {
    return this.translate(vpn, access, privilege, out, trace, true);
  }

  /**
   * Like {@link walk} but never writes memory. The result is the one the walk would produce
   * (a leaf with AF = 0 under HA translates; a store to a writable-clean leaf under HD reports it dirty).
   * @throws BusError if a table lies outside RAM.
   */
  probe(
    vpn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    out: WalkResult,
    trace?: WalkStep[],
  ): boolean {
    return this.translate(vpn, access, privilege, out, trace, false);
  }

  private translate(
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
    // 1. VA bit 55 (vpn bit 43) selects the TTBR; VA[63:48] must all equal it (arch-facts A3).
    const select = (vHi >>> 11) & 1;
    if (vHi < 0 || vHi >= 0x10_0000 || vHi >>> 4 !== (select === 1 ? 0xffff : 0)) {
      return this.fault(out, FAULT_TRANSLATION, 4, access, privilege);
    }
    const memory = this.memory;
    let tablePfn = select === 1 ? this.ttbr1Pfn : this.ttbr0Pfn;
    let tableAttrs = 0;
    let level = 4;
    let dpa = 0;
    let lo = 0;
    let hi = 0;
    for (;;) {
      const index =
        level === 4
          ? ((vLo >>> 27) | (vHi << 5)) & 511
          : level === 3
            ? (vLo >>> 18) & 511
            : level === 2
              ? (vLo >>> 9) & 511
              : vLo & 511;
      lo = memory.readPairInFrame(tablePfn, index * 8, level);
      hi = memory.pairHi;
      dpa = tablePfn * 4096 + index * 8;
      // (out.reads and out.descriptorPa are written once, where the walk ends: no stores per level.)
      if (trace !== undefined) this.record(trace, level, tablePfn * 4096, index, dpa, lo, hi);
      // 2. Invalid, or the block encoding where no block is allowed (L0 without DS, L3).
      if ((lo & 1) === 0) return this.faultAt(out, FAULT_TRANSLATION, level, dpa, access, privilege);
      if ((lo & 2) === 0) {
        if (level === 1 || level === 4)
          return this.faultAt(out, FAULT_TRANSLATION, level, dpa, access, privilege);
        break; // block
      }
      if (level === 1) break; // page
      if ((hi & HI_TABLE_OA_HIGH) !== 0)
        return this.faultAt(out, FAULT_ADDRESS_SIZE, level, dpa, access, privilege);
      tableAttrs |= hi >>> HI_TABLE_ATTRS_SHIFT;
      tablePfn = (hi & 0xffff) * 0x10_0000 + ((lo & LO_ADDR_4K) >>> 12);
      level--;
    }
    out.reads = 5 - level; // levels 4 … level were read
    out.descriptorPa = dpa;
    if ((hi & HI_LEAF_OA_HIGH) !== 0) return this.fault(out, FAULT_ADDRESS_SIZE, level, access, privilege);
    // 3. Access flag and dirty state (arch-facts A7 step 4, A10).
    let next = lo;
    if ((lo & LO_AF) === 0) {
      if (!this.hardwareAccessFlag) return this.fault(out, FAULT_ACCESS_FLAG, level, access, privilege);
      next |= LO_AF;
    }
    if (access === 1 && (hi & HI_DBM) !== 0 && this.hardwareDirty) next &= ~LO_AP2;
    // 4. Permissions (arch-facts A6): fold the table attributes into AP[2:1], UXN, PXN.
    const el0 = (next & LO_AP1) !== 0 && (tableAttrs & TA_AP0) === 0;
    const readOnly = (next & LO_AP2) !== 0 || (tableAttrs & TA_AP1) !== 0;
    const uxn = (hi & HI_UXN) !== 0 || (tableAttrs & TA_UXN) !== 0;
    const pxn = (hi & HI_PXN) !== 0 || (tableAttrs & TA_PXN) !== 0;
    const userWrite = el0 && !readOnly;
    const wxn = this.wxn;
    let perms = 0;
    if (el0) perms = userWrite ? P_UR | P_UW : P_UR;
    if (!uxn && !(wxn && userWrite)) perms |= P_UX;
    // PAN: EL1 data accesses to EL0-accessible memory fail; instruction fetches are unaffected.
    if (!(el0 && this.pan)) perms |= readOnly ? P_KR : P_KR | P_KW;
    // EL1 never executes EL0-writable memory; WXN makes EL1-writable memory execute-never.
    if (!pxn && !userWrite && !(wxn && !readOnly)) perms |= P_KX;
    if ((perms & (1 << (access + 3 * privilege))) === 0) {
      return this.fault(out, FAULT_PERMISSION, level, access, privilege);
    }
    // 5. Write back the hardware updates (only for a successful access, only in walk()).
    if (update && next !== lo) memory.write32(dpa, next >>> 0);
    return out.succeed(
      (hi & 0xffff) * 0x10_0000 + ((lo & LEAF_LO_MASK[level]!) >>> 12) + (vLo & IN_LEAF_MASK[level]!),
      level,
      perms,
      this.typeOfIndex[(lo >>> 2) & 7]!,
      (lo & LO_NG) === 0,
      (next & LO_AP2) === 0,
    );
  }

  private record(
    trace: WalkStep[],
    level: number,
    table: number,
    index: number,
    dpa: number,
    lo: number,
    hi: number,
  ): void {
    trace.push({
      level,
      levelName: AARCH64_LEVEL_NAMES[level]!,
      tablePa: table,
      index,
      descriptorPa: dpa,
      raw: join64(lo, hi),
      entry: this.codec.decode(lo, hi, level),
    });
  }

  /** {@link fault} for a walk that ended at `level` on the descriptor at `dpa` (levels 4 … `level` read). */
  private faultAt(
    out: WalkResult,
    kind: number,
    level: number,
    dpa: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
  ): false {
    out.reads = 5 - level;
    out.descriptorPa = dpa;
    return this.fault(out, kind, level, access, privilege);
  }

  private fault(
    out: WalkResult,
    kind: number,
    level: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
  ): false {
    return out.fail(kind, level, abortSyndrome(kind, level, access, privilege));
  }

  /**
   * TTBR0_EL1 (ASID << 48 | root), TTBR1_EL1, TCR_EL1, MAIR_EL1 and SCTLR_EL1 as bigints
   * (see computeTcrEl1 / computeSctlrEl1 for the exact bits).
   */
  registers(): RegisterSet {
    return {
      TTBR0_EL1: (BigInt(this.ttbr0Asid) << 48n) | BigInt(this.ttbr0),
      TTBR1_EL1: BigInt(this.ttbr1),
      TCR_EL1: computeTcrEl1({ ha: this.hardwareAccessFlag, hd: this.hardwareDirtyRequested }),
      MAIR_EL1: this.mairValue,
      SCTLR_EL1: computeSctlrEl1({ wxn: this.wxn, pan: this.pan }),
    };
  }
}
