/**
 * A simulated CPU: an MMU (the backend's walker and translation registers) and
 * a TLB. User accesses go TLB → walk → fault → kernel handler → retry, as
 * hardware and kernel would. The translation path allocates nothing.
 */
import {
  type AccessKind,
  deriveGeometry,
  Fault,
  MEMORY_TYPES,
  type Mmu,
  type PrivilegeLevel,
  permBit,
  StaleTlbError,
  type Tlb,
  vaOf,
  WalkResult,
} from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { Process } from './process.js';

/** What the kernel's fault handler decided. */
export const FaultOutcome = {
  /** The fault was fixed: retry the access. */
  Retry: 0,
  /** The process was killed. */
  Killed: 1,
  /** Soft path (copy to/from user): the access is refused with EFAULT, nothing killed. */
  Refused: 2,
} as const;
/** One of {@link FaultOutcome}. */
export type FaultOutcomeCode = (typeof FaultOutcome)[keyof typeof FaultOutcome];

/** The kernel side the CPU calls on a fault. */
export interface FaultHandler {
  /**
   * Resolves a fault the CPU took at page `vpn` + `offset` (`result` holds the walk's fault and
   * syndrome; `soft` for the copy-to/from-user path) and says what the CPU does next: retry the
   * access, report the process killed, or refuse it with EFAULT.
   */
  onFault(
    cpu: Cpu,
    proc: Process,
    vpn: number,
    offset: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    result: WalkResult,
    soft: boolean,
  ): FaultOutcomeCode;
}

const DEVICE = MEMORY_TYPES.indexOf('device');
const MAX_RETRIES = 4;

/** See the module documentation. */
export class Cpu {
  /** Process whose user tables are loaded, if any. */
  current: Process | undefined;
  /** Verify every TLB hit against the page tables (invariant 4); throws StaleTlbError on a stale use. */
  strict = false;
  /** The last walk's result (valid after a fault). */
  readonly result = new WalkResult();
  private readonly check = new WalkResult();
  /** Set by translate(): the outcome of the last fault it raised. */
  lastOutcome: FaultOutcomeCode = FaultOutcome.Retry;

  constructor(
    readonly id: number,
    readonly mmu: Mmu,
    readonly tlb: Tlb,
    private readonly handler: FaultHandler,
    private readonly emptyRoot: number,
    private readonly flushOnSwitch: boolean,
  ) {
    this.entryPages = deriveGeometry(mmu.arch).entryPages;
  }

  /** Pages mapped by one entry per level (from the backend's geometry). */
  private readonly entryPages: readonly number[];

  /**
   * Loads a process's user tables (AArch64: TTBR0_EL1 with its ASID; x86: CR3).
   * Without ASIDs the TLB's non-global entries are flushed, as a CR3 load does.
   */
  switchTo(proc: Process | undefined): void {
    if (this.current === proc && proc !== undefined && this.mmu.userRoot === (proc.root || this.emptyRoot))
      return;
    this.current = proc;
    this.mmu.setUserRoot(proc && proc.root !== 0 ? proc.root : this.emptyRoot, proc ? proc.asid : 0);
    if (this.flushOnSwitch) this.tlb.invalidateNonGlobal();
  }

  /** Reloads the user root after `space` created or released its root (if this CPU runs it). */
  refreshRoot(space: AddressSpace): void {
    if (this.current?.space === space) {
      this.mmu.setUserRoot(space.root !== 0 ? space.root : this.emptyRoot, space.asid);
    }
  }

  /**
   * Translates page `vpn` for an access of `sizeBytes` at `offset`, handling faults.
   * Returns the physical frame number, or -1 if the access failed (`lastOutcome` says how).
   *
   * This is the TLB-hit path, kept tiny so it inlines into callers; everything else
   * (misses, walks, faults, misaligned accesses, strict checks) is {@link translateSlow}.
   */
  translate(
    proc: Process,
    vpn: number,
    offset: number,
    sizeBytes: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    soft: boolean,
  ): number {
    const tlb = this.tlb;
    const i = (vpn >>> 0) & tlb.mask;
    if (
      tlb.vpn[i] === vpn &&
      (tlb.asid[i] === proc.asid || tlb.global[i] === 1) &&
      (tlb.perms[i]! & (1 << (access + 3 * privilege))) !== 0 &&
      (offset & (sizeBytes - 1)) === 0 &&
      !this.strict
    ) {
      tlb.hits++;
      return tlb.pfn[i]!;
    }
    return this.translateSlow(proc, vpn, offset, sizeBytes, access, privilege, soft);
  }

  /** The full path: TLB (with strict checks), walk, fault handler, retry. */
  translateSlow(
    proc: Process,
    vpn: number,
    offset: number,
    sizeBytes: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    soft: boolean,
  ): number {
    const bit = permBit(access, privilege);
    const tlb = this.tlb;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const i = tlb.lookup(vpn, proc.asid);
      if (i >= 0 && (tlb.perms[i]! & bit) !== 0) {
        // Device memory faults on a misaligned access (sizes are powers of two).
        if ((offset & (sizeBytes - 1)) !== 0 && tlb.memoryType[i] === DEVICE) {
          return this.alignment(proc, vpn, offset, access, privilege, soft);
        }
        if (this.strict) this.verify(proc, vpn, i, access, privilege);
        return tlb.pfn[i]!;
      }
      const r = this.result;
      if (this.mmu.walk(vpn, access, privilege, r)) {
        const pages = this.entryPages[r.leafLevel]!;
        const blockVpn = vpn - (vpn % pages);
        tlb.fill(vpn, proc.asid, r.global, r.pfn, r.perms, r.memoryType, r.leafLevel, blockVpn, pages);
        if (r.memoryType === DEVICE && (offset & (sizeBytes - 1)) !== 0) {
          return this.alignment(proc, vpn, offset, access, privilege, soft);
        }
        return r.pfn;
      }
      const outcome = this.handler.onFault(this, proc, vpn, offset, access, privilege, r, soft);
      this.lastOutcome = outcome;
      if (outcome !== FaultOutcome.Retry) return -1;
    }
    throw new Error(`kernel bug: access to ${vaOf(vpn, offset)} still faults after ${MAX_RETRIES} fixes`);
  }

  private alignment(
    proc: Process,
    vpn: number,
    offset: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    soft: boolean,
  ): number {
    const r = this.result;
    r.ok = false;
    r.faultKind = Fault.Alignment;
    r.faultLevel = 0;
    this.lastOutcome = this.handler.onFault(this, proc, vpn, offset, access, privilege, r, soft);
    return -1;
  }

  private verify(proc: Process, vpn: number, i: number, access: AccessKind, privilege: PrivilegeLevel): void {
    const c = this.check;
    const ok = this.mmu.probe(vpn, access, privilege, c);
    if (
      !ok ||
      c.pfn !== this.tlb.pfn[i] ||
      (this.tlb.perms[i]! & ~c.perms & permBit(access, privilege)) !== 0
    ) {
      throw new StaleTlbError(
        vaOf(vpn),
        proc.asid,
        ok
          ? `TLB maps frame ${this.tlb.pfn[i]} but the tables map frame ${c.pfn}`
          : 'the tables no longer map it',
      );
    }
  }
}
