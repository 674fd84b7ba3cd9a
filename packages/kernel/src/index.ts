/**
 * @mmkit/kernel — the architecture-neutral kernel memory manager. It is handed
 * a backend (`ArchBackend`) and a machine; it imports no architecture package.
 */
export {
  anonVma,
  mapsPerms,
  type ProcessVma,
  SharedObject,
  type VmaValue,
} from './address-space.js';
export {
  AttributeChooser,
  type LeafTemplate,
  leafTemplate,
  type MappingRequest,
  perms,
} from './attributes.js';
export { type AuditReport, assertAudit, audit } from './audit.js';
export { Cpu, type FaultHandler, FaultOutcome, type FaultOutcomeCode } from './cpu.js';
export * from './elf.js';
export * from './initial-stack.js';
export {
  type DumpLine,
  dumpPageTable,
  type ExportedTable,
  exportTranslationState,
  formatDump,
  type TranslationState,
} from './inspect.js';
export {
  type AccessResult,
  bootKernel,
  type CopyResult,
  describeAttrs,
  Kernel,
  type KernelOptions,
  type MapOutcome,
  NoProcessError,
  type ProgramImage,
} from './kernel.js';
export {
  regionOf,
  SIMPLE_LAYOUT_32,
  SIMPLE_LAYOUT_48,
  type SimpleLayout,
  type SimpleRegion,
  simpleLayoutFor,
} from './layout.js';
export type { MachineDescription, PoolPlan, Reservation } from './machine.js';
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
export { procMaps, procSmaps } from './proc-maps.js';
export { type KillReason, type KillSignal, Process, type ProcessState } from './process.js';
export { type Errno, fail, MAP, MREMAP, ok, PROT, protString, type SysResult } from './syscalls.js';
export {
  type FindGapOptions,
  VMA_VPN_LIMIT,
  type Vma,
  type VmaGap,
  VmaOverlapError,
  VmaTree,
  type VmaTreeOptions,
} from './vma-tree.js';
