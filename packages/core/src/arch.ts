/**
 * The page-table backend contract (version 2).
 *
 * A backend is a readonly {@link ArchDescription} (mostly data), a
 * {@link DescriptorCodec} (raw descriptor ⇄ {@link NeutralEntry}), a
 * {@link SyndromeCodec} (raw fault syndrome ⇄ neutral fault), and a factory for
 * an {@link Mmu} (the walker plus the translation registers of one CPU).
 * Anything derivable from the description (masks, sizes, indices) is derived
 * once by {@link deriveGeometry}.
 *
 * Levels: internally 1 = the leaf table, N = the root (Asterinas numbering).
 * Human-facing text uses the architecture's names ({@link LevelDescription.name}).
 *
 * Version 2 adds what a kernel needs so that adding an architecture changes no kernel
 * code: how precise the fault syndrome is ({@link SyndromePrecision}), the VA width and
 * sign extension declared ({@link ArchDescription.vaBits}, {@link ArchDescription.signExtended}),
 * the memory types the codec can express ({@link ArchDescription.memoryTypes}), the ELF
 * machine ({@link ArchDescription.elf}), and page geometry in {@link ArchGeometry}
 * (`pageShift`, `pageBytes`, `hugeLeafLevels`). `contractVersion` is a plain number
 * so a kernel can refuse a backend written for another version at run time.
 *
 * Hot-path conventions: a virtual address is a page number `vpn` (≤ 52 bits,
 * exact in a double) plus an offset; a physical address is a number; a 64-bit
 * descriptor is two 32-bit halves `lo`/`hi`. No BigInt on those paths.
 */
import type { Range } from './address.js';
import { checkDescription, checkInt, checkPermissions } from './arg-checks.js';
import type { PhysicalMemory } from './physical-memory.js';
import type { SwapEntryCodec } from './swap-entry.js';

/**
 * Contract version implemented by backends written against this file. A consumer (the kernel)
 * compares {@link ArchBackend.contractVersion} with it and refuses a backend of another version.
 */
export const CONTRACT_VERSION: number = 2;

/**
 * A backend id ({@link ArchDescription.id}). Open: a new backend brings its own id and no union
 * anywhere has to change. The ids of the backends mmkit ships are {@link KNOWN_ARCH_IDS}.
 */
export type ArchId = string;

/**
 * The ids of the backends mmkit ships, for documentation and for tests (not a closed list:
 * {@link ArchId} is any string):
 * `aarch64` (`@mmkit/arch-aarch64`: VMSAv8-64, 4 KiB granule, 48-bit VA per TTBR);
 * `x86_64`, `x86_64-la57`, `x86-pae`, `x86-32` (`@mmkit/arch-x86`: 4-level, 5-level, PAE and
 * 32-bit paging).
 */
export const KNOWN_ARCH_IDS: readonly ArchId[] = Object.freeze([
  'aarch64',
  'x86_64',
  'x86_64-la57',
  'x86-pae',
  'x86-32',
]);

// ---------------------------------------------------------------------------
// Access kinds, privileges, permission masks (numbers for hot paths)

/** Access kinds as numbers: read 0, write 1, fetch 2. */
export const Access = { Read: 0, Write: 1, Fetch: 2 } as const;
/** An access kind: 0 read, 1 write, 2 instruction fetch. */
export type AccessKind = 0 | 1 | 2;
/** Names of access kinds, indexed by {@link AccessKind}. */
export const ACCESS_NAMES = ['read', 'write', 'fetch'] as const;
/** Privilege as numbers: user (EL0, CPL3) 0, kernel (EL1, CPL0) 1. */
export const Privilege = { User: 0, Kernel: 1 } as const;
/** A privilege level: 0 user, 1 kernel. */
export type PrivilegeLevel = 0 | 1;
/** Names of privileges, indexed by {@link PrivilegeLevel}. */
export const PRIVILEGE_NAMES = ['user', 'kernel'] as const;

/**
 * Effective-permission bit mask. Bit `access + 3 * privilege`:
 * UR 1, UW 2, UX 4, KR 8, KW 16, KX 32.
 */
export const Perm = { UR: 1, UW: 2, UX: 4, KR: 8, KW: 16, KX: 32 } as const;

/**
 * The permission bit an access needs.
 *
 * Unchecked fast path: the kernel's CPU model calls it on every simulated access (TLB hit check)
 * and the walkers' callers with the `access` and `privilege` they were themselves given, so it
 * validates nothing. Pass an {@link AccessKind} (0, 1, 2) and a {@link PrivilegeLevel} (0, 1);
 * anything else gives a meaningless mask (or a TypeError from JavaScript for a symbol or bigint).
 */
export function permBit(access: AccessKind, privilege: PrivilegeLevel): number {
  return 1 << (access + 3 * privilege);
}

/** Read/write/execute permissions of one privilege level. */
export interface Permissions {
  readonly read: boolean;
  readonly write: boolean;
  readonly execute: boolean;
}

/**
 * Packs user and kernel permissions into a {@link Perm} mask.
 * @throws InvalidArgumentError unless both are {@link Permissions} (booleans read, write, execute).
 */
export function permMask(user: Permissions, kernel: Permissions): number {
  checkPermissions('permMask user', user);
  checkPermissions('permMask kernel', kernel);
  return (
    (user.read ? Perm.UR : 0) |
    (user.write ? Perm.UW : 0) |
    (user.execute ? Perm.UX : 0) |
    (kernel.read ? Perm.KR : 0) |
    (kernel.write ? Perm.KW : 0) |
    (kernel.execute ? Perm.KX : 0)
  );
}

/**
 * Unpacks a {@link Perm} mask.
 * @throws InvalidArgumentError unless `mask` is an integer from 0 to 63.
 */
export function permsOf(mask: number): { user: Permissions; kernel: Permissions } {
  checkInt('permission mask', mask, 0, 63);
  return {
    user: { read: !!(mask & Perm.UR), write: !!(mask & Perm.UW), execute: !!(mask & Perm.UX) },
    kernel: { read: !!(mask & Perm.KR), write: !!(mask & Perm.KW), execute: !!(mask & Perm.KX) },
  };
}

/**
 * Formats a mask as `user r-x kernel rw-`.
 * @throws InvalidArgumentError unless `mask` is an integer from 0 to 63.
 */
export function formatPerms(mask: number): string {
  checkInt('permission mask', mask, 0, 63);
  const f = (r: number, w: number, x: number) =>
    `${mask & r ? 'r' : '-'}${mask & w ? 'w' : '-'}${mask & x ? 'x' : '-'}`;
  return `user ${f(Perm.UR, Perm.UW, Perm.UX)} kernel ${f(Perm.KR, Perm.KW, Perm.KX)}`;
}

// ---------------------------------------------------------------------------
// Neutral attributes and entries

/**
 * Neutral memory types. A backend lists the ones its codec can express in
 * {@link ArchDescription.memoryTypes}; {@link memoryTypeFallback} picks the substitute for one it
 * cannot express.
 */
export type MemoryType = 'normal-wb' | 'normal-nc' | 'normal-wt' | 'device';
/** Memory types in numeric order (index = hot-path code). */
export const MEMORY_TYPES: readonly MemoryType[] = ['normal-wb', 'normal-nc', 'normal-wt', 'device'];

/** Attributes of a leaf (page or block) in neutral form. */
export interface LeafAttributes {
  /** Effective permissions for user (EL0 / CPL3) accesses, as the hardware computes them from this entry alone. */
  readonly user: Permissions;
  /** Effective permissions for kernel (EL1 / CPL0) accesses, from this entry alone. */
  readonly kernel: Permissions;
  /** Global: the TLB entry matches every ASID/PCID (AArch64 nG = 0, x86 G = 1). */
  readonly global: boolean;
  readonly memoryType: MemoryType;
  /** Accessed (AArch64 AF, x86 A). */
  readonly accessed: boolean;
  /** Dirty (AArch64 DBM with AP[2] = 0, x86 D). Only meaningful for writable leaves. */
  readonly dirty: boolean;
  /** Value of the bits the architecture leaves to software, packed (0 … 2^softwareBits - 1). */
  readonly software: number;
  /** AArch64 Contiguous hint; backends without it refuse `true`. */
  readonly contiguous?: boolean;
}

/**
 * Hierarchical restrictions a table (non-leaf) entry applies to everything
 * below it: AArch64 APTable/UXNTable/PXNTable, x86 R/W, U/S, XD on upper levels.
 */
export interface TableAttributes {
  readonly noUser: boolean;
  readonly readOnly: boolean;
  readonly noExecuteUser: boolean;
  readonly noExecuteKernel: boolean;
  /** x86 A bit on a non-leaf entry (AArch64 has none without FEAT_HAFT: always false). */
  readonly accessed?: boolean;
}

/** Table attributes that restrict nothing. */
export const OPEN_TABLE: TableAttributes = Object.freeze({
  noUser: false,
  readOnly: false,
  noExecuteUser: false,
  noExecuteKernel: false,
});

/** A decoded descriptor. `pa` is the output (leaf) or next-table (table) physical address. */
export type NeutralEntry =
  | { readonly kind: 'absent' }
  | { readonly kind: 'table'; readonly pa: number; readonly attrs: TableAttributes }
  | { readonly kind: 'leaf'; readonly pa: number; readonly attrs: LeafAttributes }
  /** Non-present entry carrying a software payload (swap slot, demand marker), 1 … 2^softwarePayloadBits - 1. */
  | { readonly kind: 'software'; readonly payload: number }
  /** Present-looking but architecturally invalid at this level (e.g. an AArch64 block at L3); walks fault on it. */
  | { readonly kind: 'invalid'; readonly reason: string };

/** A raw descriptor as two 32-bit halves (`hi` is 0 for 4-byte formats). */
export interface RawDescriptor {
  readonly lo: number;
  readonly hi: number;
}

/** One field of a raw value, for field-by-field explanations. */
export interface Field {
  /** Manual name, e.g. `AP[2:1]`, `UXN`, `DFSC`, `U/S`. */
  readonly name: string;
  /** Bit range as `[hi:lo]` or `[n]`. */
  readonly bits: string;
  readonly value: bigint;
  /** What this value means here. */
  readonly meaning: string;
}

/** Descriptor ⇄ neutral entry. `level` is the internal level (1 = leaf table). */
export interface DescriptorCodec {
  /** Decodes a raw descriptor found at `level`. Never throws for any 64-bit value. */
  decode(lo: number, hi: number, level: number): NeutralEntry;
  /**
   * Encodes a neutral entry for `level`.
   * @throws UnrepresentableError if the entry cannot be expressed (e.g. a leaf at a level without leaves,
   *   user-writable without user-readable, a misaligned output address).
   */
  encode(entry: NeutralEntry, level: number): RawDescriptor;
  /** Explains a raw descriptor at `level` field by field. */
  describe(value: bigint, level: number): readonly Field[];
  /**
   * Fast path for editors: the next-table address if the descriptor at `level` is a table
   * descriptor, -1 if it is all zeros (absent), -2 for anything else (leaf, software, invalid).
   */
  nextTable(lo: number, hi: number, level: number): number;
}

// ---------------------------------------------------------------------------
// Faults

/** Neutral fault kinds. */
export type FaultKind =
  | 'translation'
  | 'access-flag'
  | 'permission'
  | 'address-size'
  | 'alignment'
  | 'reserved-bit'
  | 'non-canonical';
/** Fault kinds in numeric order (index = hot-path code, see {@link WalkResult.faultKind}). */
export const FAULT_KINDS: readonly FaultKind[] = [
  'translation',
  'access-flag',
  'permission',
  'address-size',
  'alignment',
  'reserved-bit',
  'non-canonical',
];
/** Numeric fault-kind codes. */
export const Fault = {
  Translation: 0,
  AccessFlag: 1,
  Permission: 2,
  AddressSize: 3,
  Alignment: 4,
  ReservedBit: 5,
  NonCanonical: 6,
} as const;

/**
 * A syndrome decoded into neutral terms. Only what {@link SyndromeCodec.precision} declares is
 * meaningful: a kernel must classify a fault from the PTE it finds (as Linux's
 * `handle_mm_fault` does) when `precision.kind` is false or `kind` is `'other'`, and must not
 * use `level` when `precision.level` is false, nor tell a fetch from a read when
 * `precision.access` is not `'exact'`.
 */
export interface DecodedSyndrome {
  /** The architecture's exception name: `Data Abort`, `Instruction Abort`, `#PF`, `#GP`. */
  readonly exception: string;
  /**
   * The fault kind the syndrome names, or `'other'` for a fault outside the neutral kinds
   * (external abort, parity error …) or a syndrome that names no kind. Meaningless when
   * `precision.kind` is false.
   */
  readonly kind: FaultKind | 'other';
  /**
   * Internal level (1 = leaf table) where the fault was found, or 0 if the syndrome has none
   * (always 0 when `precision.level` is false).
   */
  readonly level: number;
  /**
   * The access that faulted. With `precision.access` `'no-fetch'` a fetch decodes as a read
   * (0); with `'none'` every access decodes as a read (0).
   */
  readonly access: AccessKind;
  readonly privilege: PrivilegeLevel;
}

/**
 * How much a backend's fault syndrome says (contract v2). A kernel trusts only what is declared
 * and classifies the rest from the PTE it finds; the conformance suite checks that the
 * declaration is true (`checkSyndromePrecision`).
 *
 * | backend                                   | kind | level | access     |
 * |-------------------------------------------|------|-------|------------|
 * | AArch64 ESR_EL1 (DFSC/IFSC, EC, WnR)      | yes  | yes   | `exact`    |
 * | x86 #PF with I/D (SMEP, or NXE in PAE/64) | yes  | no    | `exact`    |
 * | x86 #PF without I/D (x86-32, PAE w/o NXE) | yes  | no    | `no-fetch` |
 */
export interface SyndromePrecision {
  /** The syndrome names the fault kind (translation, permission, access-flag, reserved-bit …). */
  readonly kind: boolean;
  /** The syndrome names the level of the fault (AArch64 xFSC yes; an x86 #PF error code no: level 0). */
  readonly level: boolean;
  /**
   * `exact`: read, write and fetch are distinguished. `no-fetch`: read and write are, but a fetch
   * is reported as a read (x86 without an I/D bit, arch-facts B6). `none`: the access is not
   * reported (decodes as a read).
   */
  readonly access: 'exact' | 'no-fetch' | 'none';
}

/** A neutral fault as a walk reports it, for {@link syndromeMatches}. */
export interface ExpectedFault {
  readonly kind: FaultKind;
  readonly level: number;
  readonly access: AccessKind;
  readonly privilege: PrivilegeLevel;
}

/** Raw fault syndrome ⇄ neutral meaning. */
export interface SyndromeCodec {
  /** Register holding the syndrome (`ESR_EL1`, `#PF error code`). */
  readonly syndromeRegister: string;
  /** What {@link decode} can tell (contract v2); everything else must come from the PTE. */
  readonly precision: SyndromePrecision;
  /** Register holding the faulting address (`FAR_EL1`, `CR2`). */
  readonly addressRegister: string;
  /** Decodes a raw syndrome. @throws DescriptorError if it is not a memory-fault syndrome. */
  decode(syndrome: bigint): DecodedSyndrome;
  /** Explains a raw syndrome field by field. */
  describe(syndrome: bigint): readonly Field[];
  /** Builds the syndrome the hardware would report for a neutral fault. */
  encode(fault: { kind: FaultKind; level: number; access: AccessKind; privilege: PrivilegeLevel }): bigint;
}

// ---------------------------------------------------------------------------
// Description and geometry

/** One translation level. */
export interface LevelDescription {
  /** Internal level: 1 = leaf table, N = root. */
  readonly level: number;
  /** The architecture's name: `L3`, `L0`, `PT`, `PML4`. */
  readonly name: string;
  /** VA bit where this level's index starts (12 for the leaf table with 4 KiB pages). */
  readonly shift: number;
  /** Index bits at this level (9 for 4 KiB / 8-byte tables; 10 on 32-bit x86; 2 for the PAE PDPT). */
  readonly indexBits: number;
  /** A leaf (page or block) may be mapped at this level. */
  readonly leafAllowed: boolean;
}

/** What a backend can express and what its hardware does by itself. */
export interface ArchCapabilities {
  /** Any no-execute control. */
  readonly noExecute: boolean;
  /** Separate execute-never for user and kernel (AArch64 UXN/PXN). */
  readonly separateExecuteNever: boolean;
  /** Hardware sets the accessed flag (no access-flag faults). */
  readonly hardwareAccessFlag: boolean;
  /** Hardware records dirtiness on the first write. */
  readonly hardwareDirty: boolean;
  /** ASID/PCID width in bits (0 = none). */
  readonly asidBits: number;
  readonly globalPages: boolean;
  /** Count of leaf bits reserved for software. */
  readonly softwareBits: number;
  /** Width of the payload a non-present software entry can carry. */
  readonly softwarePayloadBits: number;
  /** Entries per contiguous-hint group at the leaf table (0 = no hint). */
  readonly contiguousEntries: number;
  /**
   * Whether a kernel invalidates a page's TLB entry after clearing its accessed flag, as Linux's
   * `ptep_clear_flush_young` of the architecture does: true on arm64 (`flush_tlb_page_nosync`:
   * a cached entry would keep the page from taking the Access flag fault or having AF set again),
   * false on x86 (a stale entry only makes the A bit less precise; no flush, to save the IPIs).
   * Absent: true (flushing is always correct).
   */
  readonly flushOnAccessedClear?: boolean;
  /**
   * The bit of {@link LeafAttributes.software} in which a kernel keeps the dirty state of a leaf
   * whose write permission it removes, where the architecture's own dirty state cannot outlive
   * write permission: arm64 `1` (descriptor bit 55, Linux `PTE_DIRTY`: `pte_wrprotect` and
   * `pte_modify` move a hardware-dirty state — DBM set, AP[2] clear — there). Absent or 0 where
   * the hardware dirty bit stays valid on a read-only leaf (x86 D, which Linux's `pte_modify`
   * keeps through `_PAGE_CHG_MASK`). See `modifyLeaf` and `isLeafDirty`.
   */
  readonly softwareDirty?: number;
  /**
   * The bit of {@link LeafAttributes.software} that marks a *special* leaf: one mapping a frame
   * with no page to reference count (Linux `pte_mkspecial`: the shared zero page, `remap_pfn_range`
   * / `vmf_insert_pfn` device memory), which the kernel's `vm_normal_page` then skips. arm64 `2`
   * (descriptor bit 56, `PTE_SPECIAL`), x86 `1` (bit 9, `_PAGE_SPECIAL` = `_PAGE_BIT_SOFTW1`, in
   * every paging mode: x86 selects ARCH_HAS_PTE_SPECIAL unconditionally). Absent or 0: none.
   */
  readonly softwareSpecial?: number;
}

/** Readonly description of a paging format. */
export interface ArchDescription {
  /** Stable id: `aarch64`, `x86_64`, `x86_64-la57`, `x86-pae`, `x86-32`. */
  readonly id: string;
  /** Human name: `AArch64 VMSAv8-64 4K granule, 48-bit VA`. */
  readonly name: string;
  readonly pageShift: number;
  readonly descriptorBytes: 4 | 8;
  /** Levels, index 0 = level 1 (leaf table) … last = root. */
  readonly levels: readonly LevelDescription[];
  /**
   * The number of VA bits one root table translates: a root covers exactly 2^vaBits bytes of
   * VA (its entries × the entry size at the root level). AArch64 48 (T0SZ = T1SZ = 16: each of
   * TTBR0/TTBR1 translates 48 bits), x86_64 48, x86_64-la57 57, x86-pae 32, x86-32 32.
   * (Contract v1 described it as "bits per half", 47 for x86-64; the value was always 48.)
   */
  readonly vaBits: number;
  /**
   * How a 64-bit VA outside the translated bits is treated:
   *
   * - `true`: the address space is a lower half starting at 0 and an upper half ending at 2^64;
   *   a VA is canonical when every bit above the half-selecting bit {@link vaSignBit} equals it
   *   (the upper half is the sign extension of that bit), and a non-canonical VA faults without
   *   a walk (x86 #GP, AArch64 Translation fault L0). With one root (x86-64) the root covers both
   *   halves and the selecting bit is vaBits − 1 (47, or 56 with LA57): each half is
   *   2^(vaBits−1). With split roots (AArch64 TTBR0/TTBR1) each half has a root of its own
   *   covering 2^vaBits and the selecting bit is vaBits (bits 63:48 all equal; QEMU compares
   *   them with bit 55).
   * - `false`: VAs are plain vaBits-bit numbers `[0, 2^vaBits)` (the 32-bit x86 modes); both
   *   userRange and kernelRange lie in it.
   */
  readonly signExtended: boolean;
  readonly paBits: number;
  /** True if user and kernel halves have separate roots (TTBR0/TTBR1); false if one root (CR3) covers both. */
  readonly splitRoots: boolean;
  /** The user half of the address space. */
  readonly userRange: Range;
  /** The kernel half of the address space. */
  readonly kernelRange: Range;
  readonly capabilities: ArchCapabilities;
  /** Bytes of the root table (may be smaller than a page, e.g. the PAE PDPT). */
  readonly rootTableBytes: number;
  /** Name of the syndrome register and the address register, e.g. `ESR_EL1` / `FAR_EL1`. */
  readonly faultRegisters: readonly [syndrome: string, address: string];
  /**
   * The neutral memory types the descriptor codec can express with this configuration (AArch64:
   * those MAIR_EL1 has an attribute for; x86: those IA32_PAT has an entry for), in
   * {@link MEMORY_TYPES} order. Encoding a leaf with another type throws E_UNREPRESENTABLE; ask
   * {@link memoryTypeFallback} for the substitute (a kernel maps MMIO with
   * `memoryTypeFallback(d, 'device')`).
   */
  readonly memoryTypes: readonly MemoryType[];
  /**
   * The ELF identification of programs for this format, or undefined when there is none (a
   * fictional format): `machine` = e_machine (Linux `include/uapi/linux/elf-em.h`: EM_386 = 3,
   * EM_X86_64 = 62, EM_AARCH64 = 183), `class` = EI_CLASS as 32 or 64 (ELFCLASS32/ELFCLASS64),
   * `platform` = the AT_PLATFORM string Linux puts in the auxiliary vector (`aarch64`,
   * `x86_64`, `i686`). A kernel refuses an executable whose machine or class differ.
   */
  readonly elf: ArchElf | undefined;
}

/** ELF identification of a paging format's programs ({@link ArchDescription.elf}). */
export interface ArchElf {
  /** e_machine: EM_386 3, EM_X86_64 62, EM_AARCH64 183 (Linux `include/uapi/linux/elf-em.h`). */
  readonly machine: number;
  /** EI_CLASS: 32 (ELFCLASS32) or 64 (ELFCLASS64). */
  readonly class: 32 | 64;
  /** AT_PLATFORM as Linux reports it: `aarch64`, `x86_64`, `i686`. */
  readonly platform: string;
}

/**
 * Values derived once from a description: the source of truth for page and table geometry. A
 * kernel takes every size from here and never hard-codes 4 KiB pages, 512-entry tables or "the
 * huge page is level 2".
 */
export interface ArchGeometry {
  readonly rootLevel: number;
  /** log2 of the base page size (the description's `pageShift`; 12 for 4 KiB). */
  readonly pageShift: number;
  /** Bytes of a base page: 2^pageShift. */
  readonly pageBytes: number;
  /** Per internal level (index = level): bytes mapped by one entry. Index 0 unused. */
  readonly entrySizeBytes: readonly number[];
  /**
   * Per level: base pages (2^pageShift bytes each) mapped by one entry, 2^(shift − pageShift).
   * `entryPages[1]` is 1. Index 0 unused.
   */
  readonly entryPages: readonly number[];
  /** Per level: entries in a table (2^indexBits; the root may have fewer than a full page holds). */
  readonly entries: readonly number[];
  /** Levels where leaves are allowed, ascending (level 1 first). */
  readonly leafLevels: readonly number[];
  /** Levels above 1 where leaves are allowed (huge pages / blocks), ascending; may be empty. */
  readonly hugeLeafLevels: readonly number[];
  /** Index of `vpn` at `level`. */
  indexOf(vpn: number, level: number): number;
}

/**
 * Derives the geometry of a description.
 * @throws InvalidArgumentError naming the field if `d` is not a well-typed description (levels
 *   numbered 1… from the leaf table, shifts from `pageShift` to 63, widths within 64 bits).
 */
export function deriveGeometry(d: ArchDescription): ArchGeometry {
  checkDescription('architecture description', d);
  const entrySizeBytes: number[] = [0];
  const entryPages: number[] = [0];
  const entries: number[] = [0];
  const divisors: number[] = [0];
  for (const l of d.levels) {
    entrySizeBytes[l.level] = 2 ** l.shift;
    entryPages[l.level] = 2 ** (l.shift - d.pageShift);
    entries[l.level] = 2 ** l.indexBits;
    divisors[l.level] = 2 ** (l.shift - d.pageShift);
  }
  const leafLevels = d.levels.filter((l) => l.leafAllowed).map((l) => l.level);
  return {
    rootLevel: d.levels.length,
    pageShift: d.pageShift,
    pageBytes: 2 ** d.pageShift,
    entrySizeBytes,
    entryPages,
    entries,
    leafLevels,
    hugeLeafLevels: leafLevels.filter((l) => l > 1),
    indexOf(vpn: number, level: number): number {
      return Math.floor(vpn / divisors[level]!) % entries[level]!;
    },
  };
}

// ---------------------------------------------------------------------------
// Walks

/** One step of a walk, recorded only when a trace array is passed. */
export interface WalkStep {
  readonly level: number;
  readonly levelName: string;
  readonly tablePa: number;
  readonly index: number;
  readonly descriptorPa: number;
  readonly raw: bigint;
  readonly entry: NeutralEntry;
}

/**
 * Reusable, mutable result of a walk (no allocation per walk). On success
 * `ok` is true and the translation fields are set; on a fault `ok` is false
 * and the fault fields are set.
 *
 * {@link succeed} and {@link fail} are unchecked fast paths of the walkers' inner loop (one call
 * per walk, with values the walker computed): they store what they are given and never throw.
 */
export class WalkResult {
  ok = false;
  /** Frame of the 4 KiB page that `vpn` maps to (inside a block: block base + page offset). */
  pfn = 0;
  /** Internal level of the leaf. */
  leafLevel = 0;
  /** Effective permissions ({@link Perm} mask), all levels folded in and the regime's controls applied. */
  perms = 0;
  /** Index into {@link MEMORY_TYPES}. */
  memoryType = 0;
  global = false;
  /** The leaf is dirty (writes may be cached without another walk). */
  dirty = false;
  /** Fault kind code ({@link Fault}), valid when `ok` is false. */
  faultKind = 0;
  /** Internal level of the fault (0 when not applicable, e.g. non-canonical). */
  faultLevel = 0;
  /** Low 32 bits of the raw syndrome (ESR_EL1, #PF error code). */
  syndrome = 0;
  /** High 32 bits of the raw syndrome (0 unless the architecture uses them). */
  syndromeHi = 0;
  /** Number of descriptors read. */
  reads = 0;
  /**
   * Physical address of the last descriptor the walk read: the leaf on success, the entry that
   * faulted otherwise (0 if none was read, e.g. a non-canonical address). A kernel may install a
   * translation there directly after a translation fault at level 1.
   */
  descriptorPa = 0;

  /**
   * Records a translation (and clears the fault fields). Returns true so a walker can
   * `return out.succeed(…)`.
   */
  succeed(
    pfn: number,
    leafLevel: number,
    perms: number,
    memoryType: number,
    global: boolean,
    dirty: boolean,
  ): true {
    this.ok = true;
    this.pfn = pfn;
    this.leafLevel = leafLevel;
    this.perms = perms;
    this.memoryType = memoryType;
    this.global = global;
    this.dirty = dirty;
    this.faultKind = 0;
    this.faultLevel = 0;
    this.syndrome = 0;
    this.syndromeHi = 0;
    return true;
  }

  /**
   * Records a fault: clears the translation fields and sets the fault fields. Returns false so a
   * walker can `return out.fail(…)`.
   */
  fail(kind: number, level: number, syndrome: number, syndromeHi = 0): false {
    this.ok = false;
    this.pfn = 0;
    this.leafLevel = 0;
    this.perms = 0;
    this.memoryType = 0;
    this.global = false;
    this.dirty = false;
    this.faultKind = kind;
    this.faultLevel = level;
    this.syndrome = syndrome;
    this.syndromeHi = syndromeHi;
    return false;
  }
}

/** Register values that select translation, for export to emulators and debuggers. */
export type RegisterSet = Readonly<Record<string, bigint>>;

/**
 * The MMU of one CPU: its translation registers and the table walker.
 * It reads and updates (accessed/dirty) descriptors in {@link PhysicalMemory};
 * it never allocates frames.
 */
export interface Mmu {
  readonly arch: ArchDescription;
  readonly memory: PhysicalMemory;
  /** Current ASID/PCID. */
  readonly asid: number;
  /** Root table of the user half. */
  readonly userRoot: number;
  /** Root table of the kernel half (equal to `userRoot` for single-root formats). */
  readonly kernelRoot: number;
  /** Loads the user root and ASID (AArch64: TTBR0_EL1; x86: CR3 with PCID). */
  setUserRoot(rootPa: number, asid: number): void;
  /** Loads the kernel root (AArch64: TTBR1_EL1; single-root formats: the root used when no user root is loaded). */
  setKernelRoot(rootPa: number): void;
  /**
   * Walks the tables for `vpn`, applying accessed/dirty updates exactly when the hardware would.
   * Returns `out.ok`. Never throws for a fault; throws BusError if a table lies outside RAM.
   */
  walk(
    vpn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    out: WalkResult,
    trace?: WalkStep[],
  ): boolean;
  /** Like {@link walk} but without side effects (no accessed/dirty update). */
  probe(
    vpn: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    out: WalkResult,
    trace?: WalkStep[],
  ): boolean;
  /** Current register values (AArch64: TTBR0_EL1, TTBR1_EL1, TCR_EL1, MAIR_EL1, SCTLR_EL1). */
  registers(): RegisterSet;
}

/** Neutral TLB maintenance need, produced by map/unmap/protect. */
export interface TlbInvalidation {
  /** `page`: the listed pages; `asid`: every non-global entry of `asid`; `all`: everything. */
  readonly scope: 'page' | 'asid' | 'all';
  readonly asid: number;
  /** Pages (vpns) for scope `page`. */
  readonly vpns: readonly number[];
  /** The pages were global (kernel) mappings: invalidate for every ASID. */
  readonly global: boolean;
  /** Only leaf entries changed (AArch64 may use the last-level form). */
  readonly leafOnly: boolean;
}

/** One architectural TLB maintenance instruction, as a person reads it. */
export interface TlbOperation {
  /** e.g. `TLBI VALE1IS`, `INVLPG`, `INVPCID type 1`. */
  readonly name: string;
  /** The operand register value, if any (e.g. TLBI Xt = ASID<<48 | VA[55:12]). */
  readonly operand?: bigint;
  /** Applies the operation to a TLB. */
  apply(tlb: import('./tlb.js').Tlb): void;
}

/** Options common to every backend's MMU. */
export interface MmuOptions {
  /** Override hardware accessed-flag management (default: the backend's capability). */
  readonly hardwareAccessFlag?: boolean;
  /** Override hardware dirty management. */
  readonly hardwareDirty?: boolean;
}

/** A page-table backend. */
export interface ArchBackend {
  /**
   * The contract version the backend implements ({@link CONTRACT_VERSION} for backends built
   * against this file). A plain number so a consumer can check it at run time.
   */
  readonly contractVersion: number;
  readonly description: ArchDescription;
  readonly geometry: ArchGeometry;
  readonly codec: DescriptorCodec;
  readonly syndromes: SyndromeCodec;
  /** Creates the MMU of one CPU over `memory`. */
  createMmu(memory: PhysicalMemory, options?: MmuOptions): Mmu;
  /** The architecture's own TLB maintenance sequence for a neutral need. */
  tlbOperations(need: TlbInvalidation): readonly TlbOperation[];
  /**
   * How a swapped-out page's non-present leaf PTE names its swap slot, exactly as Linux encodes
   * `swp_entry(type, offset)` on this architecture (`swap-entry.ts`); undefined for a format
   * without one (a kernel then cannot swap on this backend). Optional in contract v2: adding it
   * changed no version. The conformance suite checks it (`checkSwapEntries`) when present.
   */
  readonly swap?: SwapEntryCodec | undefined;
  /**
   * The attributes a kernel should use for a kind of mapping, in neutral form
   * (so the kernel never hard-codes arch choices), e.g. the table attributes of
   * user tables.
   */
  readonly defaults: {
    readonly userTable: TableAttributes;
    readonly kernelTable: TableAttributes;
    /**
     * Where user mappings end when that is below `userRange.end` (Linux's TASK_SIZE): x86-64
     * never maps the last user page (TASK_SIZE_MAX = 2^47 − 4096, arch/x86/include/asm/page_64_types.h,
     * so no instruction can run into the non-canonical hole). Default `userRange.end`.
     */
    readonly userSpaceEnd?: bigint;
  };
}
