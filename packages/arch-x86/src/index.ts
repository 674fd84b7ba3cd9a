/**
 * @mmkit/arch-x86 — the x86 page-table backends of mmkit: 32-bit paging (with
 * PSE / PSE-36), PAE paging, and IA-32e 4-level and 5-level (LA57) paging.
 * Bit-exact entries, a QEMU-faithful MMU walker (A/D, SMEP, SMAP, protection
 * keys, reserved bits) with the exact #PF error codes, TLB maintenance
 * (INVLPG / INVPCID / CR3 / CR4.PGE), the IA32_PAT mapping, and recursive-
 * mapping address helpers.
 *
 * @packageDocumentation
 * @module @mmkit/arch-x86
 */
export { createX86Arch, type X86Backend } from './backend.js';
export {
  CR0_BITS,
  CR4_BITS,
  EFER_BITS,
  PAT_MEMORY_TYPES,
  PF_ERROR_BITS,
  X86_ELF,
  X86_ELF_MACHINE,
  X86_ENTRY_BITS,
  X86_LINUX_PAT,
  X86_MSR,
  X86_PAT_RESET,
} from './constants.js';
export { describeEntry } from './describe-entry.js';
export { protectionKeyOf, withProtectionKey, X86DescriptorCodec } from './descriptor-codec.js';
export { X86Mmu, type X86MmuContext, type X86MmuOptions } from './mmu.js';
export { isX86Mode, parseX86Level, X86_LEVEL_NAMES, X86_MODES, type X86Mode, x86LevelName } from './modes.js';
export { type ResolvedX86Options, resolveX86Options, type X86Format, type X86Options } from './options.js';
export {
  type PatEntry,
  PatMap,
  patIndexBits,
  patIndexOf,
  patTypeMeaning,
  patTypeMemoryType,
  patTypeName,
} from './pat.js';
export { type Recursive4Level, type Recursive32, recursive4Level, recursive32 } from './recursive.js';
export {
  checkPcid,
  checkRoot,
  computeCr0,
  computeCr3,
  computeCr4,
  computeEfer,
  type X86RegisterState,
} from './registers.js';
export {
  X86_32_SWAP_LAYOUT,
  X86_64_SWAP_LAYOUT,
  X86_PAE_SWAP_LAYOUT,
  x86SwapCodec,
  x86SwapLayout,
} from './swap-entry.js';
export { X86SyndromeCodec, type X86SyndromeConfig } from './syndrome-codec.js';
export { invpcidDescriptor, type X86TlbConfig, x86TlbOperations } from './tlb-operations.js';
