/**
 * The x86 backend factory: one backend per paging mode (arch-facts B1).
 *
 * ```
 * x86_64 (4-level)                                   x86-32 / x86-pae (userSplit 0xC000_0000)
 * 0xFFFF_FFFF_FFFF_FFFF ┬────────────────────┐       0xFFFF_FFFF ┬──────────────────┐
 *                       │ kernel half        │ 128 TiB           │ kernel (1 GiB)   │
 * 0xFFFF_8000_0000_0000 ┼────────────────────┤       0xC000_0000 ┼──────────────────┤
 *                       │ non-canonical: #GP │                   │ user (3 GiB)     │
 * 0x0000_8000_0000_0000 ┼────────────────────┤       0x0000_0000 ┴──────────────────┘
 *                       │ user half          │ 128 TiB   one root (CR3) for both halves
 * 0x0000_0000_0000_0000 ┴────────────────────┘
 * VA: [47:39] PML4  [38:30] PDPT  [29:21] PD  [20:12] PT  [11:0] offset   (LA57: [56:48] PML5 on top)
 * PAE: [31:30] PDPT  [29:21] PD  [20:12] PT     32-bit: [31:22] PD  [21:12] PT
 * ```
 */
import {
  type ArchBackend,
  type ArchDescription,
  type ArchGeometry,
  CONTRACT_VERSION,
  deriveGeometry,
  type LevelDescription,
  MEMORY_TYPES,
  OPEN_TABLE,
  type PhysicalMemory,
  type SwapEntryCodec,
  type TableAttributes,
  type TlbInvalidation,
  type TlbOperation,
} from '@mmkit/core';
import { X86_ELF } from './constants.js';
import { X86DescriptorCodec } from './descriptor-codec.js';
import { X86Mmu, type X86MmuOptions } from './mmu.js';
import { deriveFormat, type ResolvedX86Options, resolveX86Options, type X86Options } from './options.js';
import type { PatMap } from './pat.js';
import { x86SwapCodec } from './swap-entry.js';
import { X86SyndromeCodec } from './syndrome-codec.js';
import { x86TlbOperations } from './tlb-operations.js';

/** The x86 backend: the {@link ArchBackend} contract plus x86 specifics. */
export interface X86Backend extends ArchBackend {
  readonly codec: X86DescriptorCodec;
  readonly syndromes: X86SyndromeCodec;
  /** The options in effect (defaults applied). */
  readonly options: ResolvedX86Options;
  /** Linux's swap-PTE encoding for this mode (`swap-entry.ts`). */
  readonly swap: SwapEntryCodec;
  /** The IA32_PAT mapping used for memory types. */
  readonly pat: PatMap;
  /**
   * Creates the MMU of one CPU over `memory`. CR3 starts at physical 0 with PCID 0; load it with
   * setKernelRoot / setUserRoot before walking.
   * @throws InvalidArgumentError for a bad option (see {@link X86Mmu}).
   */
  createMmu(memory: PhysicalMemory, options?: X86MmuOptions): X86Mmu;
}

/**
 * Kernel tables in IA-32e modes: no U/S (Linux `_KERNPG_TABLE`), so user accesses to the kernel
 * half fault at the table already. The 32-bit modes use open tables and let the leaves carry the
 * restrictions: a PAE PDPTE has no U/S bit (and the page-table editor uses one set of table
 * attributes at every level), and a 32-bit 4 MiB page sits in the root PD with no table above it
 * to restrict it, so a table restriction would hold for some kernel mappings and not for others.
 */
const KERNEL_TABLE: TableAttributes = Object.freeze({
  noUser: true,
  readOnly: false,
  noExecuteUser: false,
  noExecuteKernel: false,
});

function level(
  level: number,
  name: string,
  shift: number,
  indexBits: number,
  leafAllowed: boolean,
): LevelDescription {
  return Object.freeze({ level, name, shift, indexBits, leafAllowed });
}

/**
 * Creates the x86 backend for `options.mode`.
 * @throws InvalidArgumentError for an unknown mode or an invalid option combination (see {@link X86Options}).
 */
export function createX86Arch(options: X86Options): X86Backend {
  const resolved = resolveX86Options(options);
  const format = deriveFormat(resolved);
  const mode = resolved.mode;
  const two64 = 1n << 64n;
  let levels: LevelDescription[];
  let name: string;
  let vaBits: number;
  let userEnd: bigint;
  let kernelStart: bigint;
  let kernelEnd: bigint;
  switch (mode) {
    case 'x86-32':
      levels = [level(1, 'PT', 12, 10, true), level(2, 'PD', 22, 10, resolved.pse)];
      name = `x86 32-bit paging, 4 KiB${resolved.pse ? ' and 4 MiB' : ''} pages`;
      vaBits = 32;
      userEnd = BigInt(resolved.userSplit);
      kernelStart = userEnd;
      kernelEnd = 1n << 32n;
      break;
    case 'x86-pae':
      levels = [level(1, 'PT', 12, 9, true), level(2, 'PD', 21, 9, true), level(3, 'PDPT', 30, 2, false)];
      name = 'x86 PAE paging, 4 KiB and 2 MiB pages';
      vaBits = 32;
      userEnd = BigInt(resolved.userSplit);
      kernelStart = userEnd;
      kernelEnd = 1n << 32n;
      break;
    default: {
      const la57 = mode === 'x86_64-la57';
      levels = [
        level(1, 'PT', 12, 9, true),
        level(2, 'PD', 21, 9, true),
        level(3, 'PDPT', 30, 9, true),
        level(4, 'PML4', 39, 9, false),
      ];
      if (la57) levels.push(level(5, 'PML5', 48, 9, false));
      name = la57 ? 'x86-64 5-level paging (LA57), 57-bit VA' : 'x86-64 4-level paging, 48-bit VA';
      vaBits = la57 ? 57 : 48;
      userEnd = 1n << BigInt(vaBits - 1);
      kernelStart = two64 - userEnd;
      kernelEnd = two64;
    }
  }
  const description: ArchDescription = Object.freeze({
    id: mode,
    name,
    pageShift: 12,
    descriptorBytes: format.wide ? 8 : 4,
    levels: Object.freeze(levels),
    vaBits,
    // IA-32e: canonical = bits 63:47 (63:56 with LA57) equal (arch-facts B1); 32-bit modes: plain 32-bit VAs.
    signExtended: format.ia32e,
    paBits: format.paBits,
    splitRoots: false,
    userRange: Object.freeze({ start: 0n, end: userEnd }),
    kernelRange: Object.freeze({ start: kernelStart, end: kernelEnd }),
    capabilities: Object.freeze({
      noExecute: resolved.nxe,
      separateExecuteNever: false,
      hardwareAccessFlag: true,
      hardwareDirty: true,
      asidBits: resolved.pcid ? 12 : 0,
      globalPages: resolved.pge,
      softwareBits: format.softwareBits,
      softwarePayloadBits: format.payloadBits,
      contiguousEntries: 0,
      // Linux x86 `ptep_clear_flush_young` deliberately does not flush: a stale TLB entry only
      // delays the next A update (imprecise ageing), never corrupts anything.
      flushOnAccessedClear: false,
      // Software bit 0 = entry bit 9, Linux `_PAGE_SPECIAL` (`_PAGE_BIT_SOFTW1`, pgtable_types.h),
      // in every mode (ARCH_HAS_PTE_SPECIAL is selected for all x86): the zero page and PFN maps.
      softwareSpecial: 1,
    }),
    rootTableBytes: mode === 'x86-pae' ? 32 : 4096,
    faultRegisters: Object.freeze(['#PF error code', 'CR2'] as const),
    memoryTypes: Object.freeze(MEMORY_TYPES.filter((t) => format.pat.indexFor(t) >= 0)),
    elf: format.ia32e ? X86_ELF['64'] : X86_ELF['32'],
  });
  const geometry: ArchGeometry = deriveGeometry(description);
  const codec = new X86DescriptorCodec(format);
  const syndromes = new X86SyndromeCodec({
    mode,
    fetchFlag: resolved.smep || resolved.nxe,
    rsvdSetsP: resolved.rsvdSetsP,
  });
  const defaults = Object.freeze({
    userTable: OPEN_TABLE,
    kernelTable: format.ia32e ? KERNEL_TABLE : OPEN_TABLE,
    // Linux TASK_SIZE_MAX = (1 << 47 or 56) − PAGE_SIZE: the last canonical user page is never mapped.
    ...(format.ia32e ? { userSpaceEnd: description.userRange.end - 4096n } : {}),
  });
  const tlbConfig = Object.freeze({ pcid: resolved.pcid, pge: resolved.pge });
  return Object.freeze({
    contractVersion: CONTRACT_VERSION,
    description,
    geometry,
    codec,
    syndromes,
    options: resolved,
    pat: format.pat,
    defaults,
    swap: x86SwapCodec(mode),
    createMmu(memory: PhysicalMemory, mmuOptions?: X86MmuOptions): X86Mmu {
      return new X86Mmu(memory, { arch: description, codec, format }, mmuOptions);
    },
    tlbOperations(need: TlbInvalidation): readonly TlbOperation[] {
      return x86TlbOperations(need, tlbConfig);
    },
  });
}
