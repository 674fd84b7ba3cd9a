/**
 * @mmkit/kernel — the architecture-neutral kernel memory manager. It is handed
 * a backend (`ArchBackend`) and a machine; it imports no architecture package.
 */
export { AttributeChooser, type MappingRequest, perms } from './attributes.js';
export { type AuditReport, assertAudit, audit } from './audit.js';
export { Cpu, type FaultHandler, FaultOutcome, type FaultOutcomeCode } from './cpu.js';
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
  type Errno,
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
  FRAME_STATE_NAMES,
  type FrameReservation,
  FrameState,
  type FrameStateCode,
  type FrameStateCounts,
  PageAllocator,
  type PageAllocatorOptions,
  type PoolRange,
} from './page-allocator.js';
export { type KillReason, Process, type ProcessState } from './process.js';
