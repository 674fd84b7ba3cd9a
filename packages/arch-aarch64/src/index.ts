/**
 * @mmkit/arch-aarch64 — the AArch64 VMSAv8-64 stage-1 page-table backend of
 * mmkit (EL1&0 regime, 4 KiB granule, 48-bit VA, TTBR0/TTBR1 split): bit-exact
 * descriptors, a QEMU-faithful MMU walker and ESR_EL1 fault syndromes.
 *
 * @packageDocumentation
 * @module @mmkit/arch-aarch64
 */
export {
  type Aarch64Backend,
  type Aarch64Options,
  createAarch64Arch,
  type ResolvedAarch64Options,
} from './backend.js';
export {
  AARCH64_ELF,
  AARCH64_LEVEL_NAMES,
  AARCH64_LINUX_MAIR,
  AARCH64_PA_BITS,
  AARCH64_VA_BITS,
  DESCRIPTOR_BITS,
  EM_AARCH64,
  ESR_EL1_BITS,
  EXCEPTION_CLASS,
  FAULT_STATUS,
  SCTLR_EL1_BITS,
  SCTLR_EL1_RES1,
  TCR_EL1_BITS,
} from './constants.js';
export { type DescribeConfig, describeDescriptor } from './describe-descriptor.js';
export { type Aarch64CodecConfig, Aarch64DescriptorCodec } from './descriptor-codec.js';
export { exceptionClassName, faultStatusName } from './esr.js';
export { aarch64LevelName, parseAarch64Level } from './levels.js';
export { classifyMairAttribute, type MairAttribute, MairMap, mairAttributeMeaning } from './mair.js';
export { Aarch64Mmu, type Aarch64MmuContext, type Aarch64MmuOptions } from './mmu.js';
export { computeSctlrEl1, computeTcrEl1, computeTtbr } from './registers.js';
export { AARCH64_SWAP_CODEC, AARCH64_SWAP_LAYOUT } from './swap-entry.js';
export { Aarch64SyndromeCodec } from './syndrome-codec.js';
export { aarch64TlbOperations, tlbiVaOperand } from './tlb-operations.js';
