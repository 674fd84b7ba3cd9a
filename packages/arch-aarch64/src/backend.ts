/**
 * The AArch64 backend factory: VMSAv8-64 stage 1, EL1&0 regime, 4 KiB granule,
 * 48-bit VA per half (T0SZ = T1SZ = 16), TTBR0/TTBR1 split, 48-bit OA.
 *
 * ```
 * 0xFFFF_FFFF_FFFF_FFFF ┬──────────────────────────┐
 *                       │ kernel half (TTBR1_EL1)  │ 256 TiB
 * 0xFFFF_0000_0000_0000 ┼──────────────────────────┤
 *                       │ not translatable:        │
 *                       │ Translation fault, L0    │
 * 0x0001_0000_0000_0000 ┼──────────────────────────┤
 *                       │ user half (TTBR0_EL1)    │ 256 TiB
 * 0x0000_0000_0000_0000 ┴──────────────────────────┘
 * VA: [47:39] L0 index  [38:30] L1  [29:21] L2  [20:12] L3  [11:0] offset
 * ```
 */
import {
  type ArchBackend,
  type ArchDescription,
  type ArchGeometry,
  CONTRACT_VERSION,
  deriveGeometry,
  InvalidArgumentError,
  MEMORY_TYPES,
  OPEN_TABLE,
  type PhysicalMemory,
  type SwapEntryCodec,
  type TableAttributes,
  type TlbInvalidation,
  type TlbOperation,
} from '@mmkit/core';
import { AARCH64_ELF, AARCH64_LINUX_MAIR, AARCH64_PA_BITS, AARCH64_VA_BITS } from './constants.js';
import { Aarch64DescriptorCodec } from './descriptor-codec.js';
import { MairMap } from './mair.js';
import { Aarch64Mmu, type Aarch64MmuOptions } from './mmu.js';
import { AARCH64_SWAP_CODEC } from './swap-entry.js';
import { Aarch64SyndromeCodec } from './syndrome-codec.js';
import { aarch64TlbOperations } from './tlb-operations.js';

/** Options of {@link createAarch64Arch}. */
export interface Aarch64Options {
  /** TCR_EL1.HA: hardware sets the Access flag (default true). */
  readonly hardwareAccessFlag?: boolean;
  /** TCR_EL1.HD: hardware dirty state via DBM (default true; only effective with HA, QEMU `hd = ha && hd`). */
  readonly hardwareDirty?: boolean;
  /** MAIR_EL1 (default Linux `MAIR_EL1_SET` = {@link AARCH64_LINUX_MAIR}, arch-facts A8). */
  readonly mair?: bigint;
  /** PSTATE.PAN of MMUs created by this backend (default false). */
  readonly pan?: boolean;
  /** SCTLR_EL1.WXN of MMUs created by this backend (default false). */
  readonly wxn?: boolean;
}

/** Options after defaults; `hardwareDirty` is the effective value (HA && HD). */
export interface ResolvedAarch64Options {
  readonly hardwareAccessFlag: boolean;
  readonly hardwareDirty: boolean;
  readonly mair: bigint;
  readonly pan: boolean;
  readonly wxn: boolean;
}

/** The AArch64 backend: the {@link ArchBackend} contract plus AArch64 specifics. */
export interface Aarch64Backend extends ArchBackend {
  readonly codec: Aarch64DescriptorCodec;
  readonly syndromes: Aarch64SyndromeCodec;
  /** The options in effect. */
  readonly options: ResolvedAarch64Options;
  /** The AttrIndx map derived from MAIR_EL1. */
  readonly mair: MairMap;
  /** Linux's arm64 swap-PTE encoding (`swap-entry.ts`). */
  readonly swap: SwapEntryCodec;
  /**
   * Creates the MMU of one CPU over `memory`. Its roots start at physical 0 and ASID 0;
   * load them with setUserRoot / setKernelRoot before walking.
   */
  createMmu(memory: PhysicalMemory, options?: Aarch64MmuOptions): Aarch64Mmu;
}

function bool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(`aarch64 option ${name}`, value, 'a boolean');
  return value;
}

/**
 * Creates the AArch64 backend.
 * @throws InvalidArgumentError for a non-boolean flag or a MAIR that is not a 64-bit unsigned bigint.
 */
export function createAarch64Arch(options: Aarch64Options = {}): Aarch64Backend {
  const ha = bool('hardwareAccessFlag', options.hardwareAccessFlag, true);
  const hdRequested = bool('hardwareDirty', options.hardwareDirty, true);
  const resolved: ResolvedAarch64Options = Object.freeze({
    hardwareAccessFlag: ha,
    hardwareDirty: ha && hdRequested,
    mair: options.mair ?? AARCH64_LINUX_MAIR,
    pan: bool('pan', options.pan, false),
    wxn: bool('wxn', options.wxn, false),
  });
  const mair = new MairMap(resolved.mair);
  const description: ArchDescription = Object.freeze({
    id: 'aarch64',
    name: 'AArch64 VMSAv8-64 4K granule, 48-bit VA',
    pageShift: 12,
    descriptorBytes: 8,
    levels: Object.freeze([
      Object.freeze({ level: 1, name: 'L3', shift: 12, indexBits: 9, leafAllowed: true }),
      Object.freeze({ level: 2, name: 'L2', shift: 21, indexBits: 9, leafAllowed: true }),
      Object.freeze({ level: 3, name: 'L1', shift: 30, indexBits: 9, leafAllowed: true }),
      Object.freeze({ level: 4, name: 'L0', shift: 39, indexBits: 9, leafAllowed: false }),
    ]),
    vaBits: AARCH64_VA_BITS,
    // TTBR0 covers [0, 2^48), TTBR1 [2^64 - 2^48, 2^64); bits 63:48 must all be equal (arch-facts A3).
    signExtended: true,
    paBits: AARCH64_PA_BITS,
    splitRoots: true,
    userRange: Object.freeze({ start: 0n, end: 1n << 48n }),
    kernelRange: Object.freeze({ start: (1n << 64n) - (1n << 48n), end: 1n << 64n }),
    capabilities: Object.freeze({
      noExecute: true,
      separateExecuteNever: true,
      hardwareAccessFlag: resolved.hardwareAccessFlag,
      hardwareDirty: resolved.hardwareDirty,
      asidBits: 16,
      globalPages: true,
      softwareBits: 4,
      softwarePayloadBits: 52,
      contiguousEntries: 16,
      // Linux arm64 `ptep_clear_flush_young`: clear AF, then `flush_tlb_page_nosync` (TLBI VALE1IS),
      // or the cached entry hides the next accesses from AF (no fault, no hardware update).
      flushOnAccessedClear: true,
      // Software bit 0 = descriptor bit 55, Linux arm64 `PTE_DIRTY` (pgtable-hwdef.h): where
      // `pte_wrprotect` / `pte_modify` keep a write-protected leaf's dirty state (arch-facts A10:
      // without write permission, AP[2] = 1 cannot say "dirty").
      softwareDirty: 1,
      // Software bit 1 = descriptor bit 56, Linux arm64 `PTE_SPECIAL` (pgtable-prot.h): the zero
      // page and PFN maps (`pte_mkspecial`).
      softwareSpecial: 2,
    }),
    rootTableBytes: 4096,
    faultRegisters: Object.freeze(['ESR_EL1', 'FAR_EL1'] as const),
    memoryTypes: Object.freeze(MEMORY_TYPES.filter((t) => mair.indexFor(t) >= 0)),
    elf: AARCH64_ELF,
  });
  const geometry: ArchGeometry = deriveGeometry(description);
  const codec = new Aarch64DescriptorCodec({ hardwareDirty: resolved.hardwareDirty, mair });
  const syndromes = new Aarch64SyndromeCodec();
  const defaults: { userTable: TableAttributes; kernelTable: TableAttributes } = Object.freeze({
    userTable: OPEN_TABLE,
    kernelTable: OPEN_TABLE,
  });
  return Object.freeze({
    contractVersion: CONTRACT_VERSION,
    description,
    geometry,
    codec,
    syndromes,
    options: resolved,
    mair,
    defaults,
    swap: AARCH64_SWAP_CODEC,
    createMmu(memory: PhysicalMemory, mmuOptions?: Aarch64MmuOptions): Aarch64Mmu {
      return new Aarch64Mmu(
        memory,
        {
          arch: description,
          codec,
          mair,
          hardwareAccessFlag: resolved.hardwareAccessFlag,
          hardwareDirty: hdRequested,
          pan: resolved.pan,
          wxn: resolved.wxn,
        },
        mmuOptions,
      );
    },
    tlbOperations(need: TlbInvalidation): readonly TlbOperation[] {
      return aarch64TlbOperations(need);
    },
  });
}
