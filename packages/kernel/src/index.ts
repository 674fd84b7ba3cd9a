/**
 * @mmkit/kernel — the architecture-neutral kernel memory manager. It is handed
 * a backend (`ArchBackend`) and a machine; it imports no architecture package.
 *
 * @packageDocumentation
 * @module @mmkit/kernel
 */
export { AddressSpace, describeAttrs, type LayoutVpns, type MapOutcome } from './address-space.js';
export type { AnonExclusive, FrameIndexer } from './anon-exclusive.js';
export {
  AttributeChooser,
  type LeafTemplate,
  leafTemplate,
  type MappingRequest,
  perms,
} from './attributes.js';
export { type AuditOptions, type AuditReport, assertAudit, audit } from './audit.js';
export * from './auxv.js';
export type { KernelContext, SpaceBounds } from './context.js';
export { Cpu, type FaultHandler, FaultOutcome, type FaultOutcomeCode } from './cpu.js';
export * from './elf.js';
export * from './elf-load-plan.js';
export type { ExecProgram, ProgramImage, SpawnArgs } from './fork-exec.js';
export * from './initial-stack.js';
export {
  type DumpLine,
  dumpPageTable,
  type ExportedTable,
  exportTranslationState,
  formatDump,
  type TranslationState,
} from './inspect.js';
export { bootKernel, type ForkMode, Kernel, type KernelOptions, NoProcessError } from './kernel.js';
export type { MemlockPolicy } from './kernel-options.js';
export { deviceMemoryType, type UnmappedRange } from './kernel-space.js';
export {
  regionOf,
  SIMPLE_LAYOUT_32,
  SIMPLE_LAYOUT_48,
  type SimpleLayout,
  type SimpleRegion,
  simpleLayoutFor,
} from './layout.js';
export type { MachineDescription, PoolPlan, Reservation } from './machine.js';
export { MADV, madviseName } from './madvise.js';
export { MCL, MLOCK } from './mlock.js';
export type { MmapOptions } from './mm-syscalls.js';
export {
  BLOCK_FRAMES,
  FRAME_STATE_NAMES,
  type FrameReservation,
  FrameState,
  type FrameStateCode,
  type FrameStateCounts,
  PageAllocator,
  type PageAllocatorOptions,
  type PoolRange,
} from './page-allocator.js';
export { procMaps, procSmaps, type VmaSummary } from './proc-maps.js';
export { type KillReason, type KillSignal, Process, type ProcessState } from './process.js';
export type { ProgressCallback } from './progress.js';
export {
  checkWatermarks,
  defaultWatermarks,
  RECLAIM_POLICY_NAMES,
  type Reclaimer,
  type ReclaimPolicyName,
  SWAP_CLUSTER_MAX,
  type VmStat,
  WATERMARK_SCALE_FACTOR,
  type Watermarks,
} from './reclaim.js';
export { ReverseMap, type ReverseMapping } from './rmap.js';
export type { SwapDeviceInfo, SwapManager, SwapOnOptions } from './swap.js';
export type { SwapSlotPte, SwapSlots, SwapSlotView } from './swap-view.js';
export {
  type Errno,
  fail,
  MAP,
  MREMAP,
  ok,
  PROT,
  protString,
  type SysResult,
  showValue,
} from './syscalls.js';
export type { AccessResult, CopyResult } from './user-access.js';
export {
  anonVma,
  mapsPerms,
  type ProcessVma,
  SharedObject,
  stackVma,
  type VmaAdvice,
  type VmaLock,
  type VmaValue,
} from './vma.js';
export {
  type FindGapOptions,
  VMA_VPN_LIMIT,
  type Vma,
  type VmaGap,
  VmaOverlapError,
  VmaTree,
  type VmaTreeOptions,
} from './vma-tree.js';
export {
  type FaultStats,
  type PffAdvice,
  type ResolvedWorkingSetOptions,
  resolveWorkingSetOptions,
  type WorkingSetOptions,
  type WorkingSetStats,
} from './working-set.js';
