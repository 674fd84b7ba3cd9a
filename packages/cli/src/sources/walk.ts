/**
 * One walk of a loaded source, explained: each level's descriptor (address, raw value, fields
 * from the backend's `codec.describe`, neutral decoding), the table attributes accumulated on the
 * way down, and the outcome the backend's MMU computes (`probe`: no accessed/dirty update) — the
 * physical address, or the exact fault with its syndrome fields and the bit that caused it.
 */
import {
  ACCESS_NAMES,
  type AccessKind,
  BusError,
  FAULT_KINDS,
  type Field,
  formatPerms,
  formatSwapEntry,
  hex,
  MEMORY_TYPES,
  type NeutralEntry,
  PRIVILEGE_NAMES,
  type PrivilegeLevel,
  WalkResult,
  type WalkStep,
} from '@mmkit/core';
import { type DescriptorKind, type NeutralReport, reportDescriptor } from '../decoders/report.js';
import { SourceError } from './source.js';
import type { LoadedState } from './tables.js';

/** Restrictions the table descriptors above a level impose (hierarchical attributes). */
export interface Accumulated {
  readonly noUser: boolean;
  readonly readOnly: boolean;
  readonly noExecuteUser: boolean;
  readonly noExecuteKernel: boolean;
}

/** One level of a walk. */
export interface WalkStepReport {
  readonly level: string;
  readonly tablePa: bigint;
  readonly index: number;
  readonly descriptorPa: bigint;
  readonly descriptor: bigint;
  readonly kind: DescriptorKind;
  readonly fields: readonly Field[];
  readonly neutral: NeutralReport;
  /** Table restrictions in force below this entry (after folding in this entry when it is a table). */
  readonly accumulated: Accumulated;
}

/** The outcome of a walk. */
export type WalkOutcome =
  | {
      readonly ok: true;
      readonly pa: bigint;
      readonly leafLevel: string;
      readonly leafBytes: number;
      /** Effective permissions of the page (every level and the regime's controls folded in). */
      readonly permissions: string;
      readonly memoryType: string;
      readonly global: boolean;
    }
  | {
      readonly ok: false;
      /** `translation`, `permission`, `access-flag`, `address-size`, `reserved-bit`, `non-canonical`. */
      readonly fault: string;
      /** Level name of the fault, or null (non-canonical). */
      readonly level: string | null;
      /** `Data Abort`, `Instruction Abort`, `#PF`, `#GP(0)`. */
      readonly exception: string;
      readonly syndromeRegister: string;
      readonly syndrome: bigint;
      /** FAR_EL1 / CR2, or null when the exception writes none (#GP). */
      readonly addressRegister: string | null;
      readonly address: bigint | null;
      readonly syndromeFields: readonly Field[];
      /** The bit (or rule) that caused the fault, in the architecture's terms. */
      readonly cause: string;
    };

/** A walk, explained. */
export interface WalkReport {
  readonly source: string;
  readonly arch: string;
  readonly va: bigint;
  readonly access: string;
  readonly privilege: string;
  /** The register that selected the root, and the root. */
  readonly root: { readonly register: string; readonly pa: bigint };
  readonly steps: readonly WalkStepReport[];
  readonly outcome: WalkOutcome;
  readonly notes: readonly string[];
}

const OPEN: Accumulated = { noUser: false, readOnly: false, noExecuteUser: false, noExecuteKernel: false };

/** The architecture's names for what a neutral restriction is made of. */
function labels(arch: string) {
  if (arch === 'aarch64') {
    return {
      valid: 'Valid [0] = 0',
      userNone: 'AP[1] = 0 (EL0 has no access)',
      readOnly: 'AP[2] = 1 (read-only)',
      xnUser: 'UXN = 1 (EL0 execute-never)',
      xnKernel: 'PXN = 1 (EL1 execute-never)',
      tNoUser: 'APTable[0] = 1 (no EL0 access below)',
      tReadOnly: 'APTable[1] = 1 (read-only below)',
      tXnUser: 'UXNTable = 1 (EL0 execute-never below)',
      tXnKernel: 'PXNTable = 1 (EL1 execute-never below)',
      user: 'EL0',
    };
  }
  return {
    valid: 'P [0] = 0 (not present)',
    userNone: 'U/S [2] = 0 (supervisor-only)',
    readOnly: 'R/W [1] = 0 (read-only)',
    xnUser: 'XD [63] = 1 (execute-disable)',
    xnKernel: 'XD [63] = 1 (execute-disable)',
    tNoUser: 'U/S [2] = 0 (supervisor-only below)',
    tReadOnly: 'R/W [1] = 0 (read-only below)',
    tXnUser: 'XD [63] = 1 (execute-disable below)',
    tXnKernel: 'XD [63] = 1 (execute-disable below)',
    user: 'CPL 3',
  };
}

function fold(acc: Accumulated, entry: NeutralEntry): Accumulated {
  if (entry.kind !== 'table') return acc;
  const t = entry.attrs;
  return {
    noUser: acc.noUser || t.noUser,
    readOnly: acc.readOnly || t.readOnly,
    noExecuteUser: acc.noExecuteUser || t.noExecuteUser,
    noExecuteKernel: acc.noExecuteKernel || t.noExecuteKernel,
  };
}

/** Why a permission fault happened: the leaf's own bits, a table restriction, or a regime control. */
function permissionCause(
  state: LoadedState,
  steps: readonly WalkStep[],
  access: AccessKind,
  privilege: PrivilegeLevel,
): string {
  const arch = state.backend.description.id;
  const L = labels(arch);
  const leaf = steps[steps.length - 1];
  if (leaf === undefined || leaf.entry.kind !== 'leaf') return 'permission denied';
  const at = ` at ${leaf.levelName}`;
  const a = leaf.entry.attrs;
  const own = privilege === 0 ? a.user : a.kernel;
  const want = access === 0 ? own.read : access === 1 ? own.write : own.execute;
  if (!want) {
    if (privilege === 0 && !a.user.read && !a.user.write) return L.userNone + at;
    if (access === 1) return L.readOnly + at;
    if (access === 2) {
      if (privilege === 0) return L.xnUser + at;
      // Name PXN when it is set (from the backend's own field list), else the AP[2:1] = 0b01 rule.
      const pxn = state.backend.codec.describe(leaf.raw, leaf.level).find((f) => f.name === 'PXN');
      if (arch === 'aarch64' && a.user.write && pxn?.value !== 1n) {
        return `EL1 never executes memory EL0 can write (AP[2:1] = 0b01${at})`;
      }
      return L.xnKernel + at;
    }
    return `the ${leaf.levelName} entry denies ${ACCESS_NAMES[access]}`;
  }
  // The leaf allows it: look for the first table entry above that restricts it.
  for (const s of steps) {
    if (s.entry.kind !== 'table') continue;
    const t = s.entry.attrs;
    const where = ` at ${s.levelName}[${s.index}]`;
    if (privilege === 0 && t.noUser) return L.tNoUser + where;
    if (access === 1 && t.readOnly) return L.tReadOnly + where;
    if (access === 2 && privilege === 0 && t.noExecuteUser) return L.tXnUser + where;
    if (access === 2 && privilege === 1 && t.noExecuteKernel) return L.tXnKernel + where;
  }
  // Neither: a control of the translation regime.
  const mmu = state.mmu as unknown as Record<string, unknown>;
  const userPage = a.user.read || a.user.write || a.user.execute;
  if (arch === 'aarch64') {
    if (mmu.wxn === true && access === 2 && (a.kernel.write || a.user.write)) {
      return 'SCTLR_EL1.WXN = 1: writable memory is execute-never';
    }
    // PAN (arch-facts A6): EL1 data accesses to EL0-accessible memory fault; fetches are unaffected.
    if (mmu.pan === true && privilege === 1 && access !== 2 && (a.user.read || a.user.write))
      return 'PSTATE.PAN = 1: EL1 data access to EL0-accessible memory (PAN)';
    return 'denied by the regime (WXN/PAN)';
  }
  if (privilege === 1 && access === 2 && userPage && mmu.smep === true)
    return 'CR4.SMEP = 1: supervisor fetch from a user page';
  // SMAP (arch-facts B5): a supervisor data access to a user page faults unless EFLAGS.AC = 1.
  if (privilege === 1 && access !== 2 && userPage && mmu.smap === true && mmu.acFlag !== true)
    return 'CR4.SMAP = 1 and EFLAGS.AC = 0: supervisor data access to a user page (SMAP)';
  if (privilege === 1 && access === 1) return 'CR0.WP = 1: supervisor write to a read-only page';
  return 'PKRU: the protection key of the page denies it';
}

function faultCause(
  state: LoadedState,
  r: WalkResult,
  steps: readonly WalkStep[],
  access: AccessKind,
  privilege: PrivilegeLevel,
): string {
  const arch = state.backend.description.id;
  const kind = FAULT_KINDS[r.faultKind];
  const last = steps[steps.length - 1];
  const at = last ? ` at ${last.levelName}[${last.index}] (descriptor ${hex(last.descriptorPa)})` : '';
  switch (kind) {
    case 'non-canonical':
      if (arch === 'aarch64') return 'VA[63:48] are not all equal to VA[55]: outside both halves';
      if (!state.backend.description.signExtended) {
        return 'the VA is 4 GiB or above: no such linear address with 32-bit paging (#GP)';
      }
      return `VA bits 63:${state.backend.description.vaBits - 1} are not all equal: non-canonical`;
    case 'translation': {
      if (!last) return 'VA[63:48] are not all equal to VA[55]: outside both halves (no descriptor read)';
      const e = last.entry;
      // A swapped-out page: name the swap entry (the codec may call it software or invalid).
      const swap = state.backend.swap?.decode(
        Number(last.raw & 0xffff_ffffn),
        Number(last.raw >> 32n),
        last.level,
      );
      if (swap !== undefined)
        return `${labels(arch).valid}${at}: a ${formatSwapEntry(swap)} (a swapped-out page)`;
      if (e.kind === 'invalid') return `${e.reason}${at}`;
      if (e.kind === 'software') return `${labels(arch).valid}${at}: a software entry (payload ${e.payload})`;
      return `${labels(arch).valid}${at}`;
    }
    case 'access-flag':
      return `AF [10] = 0${at} and TCR_EL1.HA = 0 (no hardware Access flag update)`;
    case 'address-size':
      return `the output address is above the ${state.backend.description.paBits}-bit physical address size${at}`;
    case 'reserved-bit':
      return `a reserved bit is set${at} (see its RES0 / reserved fields)`;
    case 'permission':
      return permissionCause(state, steps, access, privilege);
    default:
      return `${kind}${at}`;
  }
}

/**
 * Walks `va` for an access by `privilege` through the loaded tables (no side effects).
 * @throws SourceError if the walk reads a table the source does not hold.
 */
export function walkVa(
  state: LoadedState,
  va: bigint,
  access: AccessKind,
  privilege: PrivilegeLevel,
): WalkReport {
  const { backend, mmu } = state;
  const d = backend.description;
  const r = new WalkResult();
  const trace: WalkStep[] = [];
  const vpn = Number(va >> 12n);
  try {
    mmu.probe(vpn, access, privilege, r, trace);
  } catch (e) {
    if (!(e instanceof BusError)) throw e;
    const last = trace[trace.length - 1];
    const next = last?.entry.kind === 'table' ? last.entry.pa : e.pa;
    throw new SourceError(
      `${state.source.name}: the walk of ${hex(va, 16)} reads a table at ${hex(next)}${last ? ` (from ${last.levelName}[${last.index}] of ${hex(last.tablePa)})` : ''} that lies outside the source's memory`,
    );
  }
  let acc = OPEN;
  const steps: WalkStepReport[] = trace.map((s) => {
    const rep = reportDescriptor(backend, s.raw, s.level);
    acc = fold(acc, s.entry);
    return {
      level: s.levelName,
      tablePa: BigInt(s.tablePa),
      index: s.index,
      descriptorPa: BigInt(s.descriptorPa),
      descriptor: s.raw,
      kind: rep.kind,
      fields: rep.fields,
      neutral: rep.neutral,
      accumulated: acc,
    };
  });
  const select = d.splitRoots && ((va >> 55n) & 1n) === 1n ? state.roots[1]! : state.roots[0]!;
  const levelName = (l: number) => state.levelName(l);
  let outcome: WalkOutcome;
  if (r.ok) {
    const leafBytes = backend.geometry.entrySizeBytes[r.leafLevel]!;
    // pfn is the 4 KiB frame of this page (inside a block too); add the page offset.
    const pa = BigInt(r.pfn) * 4096n + (va & 0xfffn);
    // WalkResult.perms omits write on a clean x86 page (so a TLB caches it read-only); the page's
    // effective permissions are what each access would be allowed: probe them all.
    let mask = 0;
    const probe = new WalkResult();
    for (let p = 0 as PrivilegeLevel; p <= 1; p = (p + 1) as PrivilegeLevel) {
      for (let a = 0 as AccessKind; a <= 2; a = (a + 1) as AccessKind) {
        if (mmu.probe(vpn, a, p, probe)) mask |= 1 << (a + 3 * p);
      }
    }
    outcome = {
      ok: true,
      pa,
      leafLevel: levelName(r.leafLevel),
      leafBytes,
      permissions: formatPerms(mask),
      memoryType: MEMORY_TYPES[r.memoryType] ?? 'normal-wb',
      global: r.global,
    };
  } else {
    const syndrome = (BigInt(r.syndromeHi >>> 0) << 32n) | BigInt(r.syndrome >>> 0);
    const kind = FAULT_KINDS[r.faultKind]!;
    const nonCanonicalX86 = kind === 'non-canonical' && d.id !== 'aarch64';
    const [synReg, addrReg] = d.faultRegisters;
    outcome = {
      ok: false,
      fault: kind,
      level: r.faultLevel === 0 || nonCanonicalX86 ? null : levelName(r.faultLevel),
      exception: nonCanonicalX86 ? '#GP(0)' : backend.syndromes.decode(syndrome).exception,
      syndromeRegister: nonCanonicalX86 ? 'error code' : synReg,
      syndrome,
      // A #GP writes no CR2 (arch-facts B6); an abort writes FAR_EL1, a #PF CR2.
      addressRegister: nonCanonicalX86 ? null : addrReg,
      address: nonCanonicalX86 ? null : va,
      syndromeFields: nonCanonicalX86 ? [] : backend.syndromes.describe(syndrome),
      cause: faultCause(state, r, trace, access, privilege),
    };
  }
  const notes = [...state.source.notes, ...state.notes];
  // A PAE PDPTE with A (bit 5) set: bits 8:5 are reserved there, checked only when MOV to CR3
  // loads the PDPTE registers (#GP(0)), and a real CPU never writes a PDPTE (arch-facts B3, B7).
  // QEMU's TCG does set A in the PAE PDPTEs its walks use, so a live QEMU guest shows it.
  const pdpte = d.id === 'x86-pae' ? trace.find((s) => s.levelName === 'PDPT') : undefined;
  if (pdpte !== undefined && (pdpte.raw & 0x1e6n) === 0x20n && (pdpte.raw & 1n) === 1n) {
    notes.push(
      `PDPT[${pdpte.index}] = ${hex(pdpte.raw)} has A (bit 5) set, a reserved bit of a PAE PDPTE: the walk takes the reserved-bit fault the tables in memory call for; a real CPU checks PDPTEs only at MOV to CR3 (#GP(0)) and never sets A in one, but QEMU's TCG does set it in the PDPTEs its walks use`,
    );
  }
  return {
    source: state.source.name,
    arch: d.id,
    va,
    access: ACCESS_NAMES[access],
    privilege: PRIVILEGE_NAMES[privilege],
    root: { register: select.name, pa: BigInt(select.pa) },
    steps,
    outcome,
    notes,
  };
}
