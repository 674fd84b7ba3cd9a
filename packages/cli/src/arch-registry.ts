/**
 * The paging-format registry lives in `@mmkit/scenario` (shared with scenarios and the
 * playground); the CLI's modules import it from here.
 */
export {
  ARCH_IDS,
  type ArchId,
  type BackendOptions,
  createBackend,
  isArchId,
  isX86ArchId,
  type X86ArchId,
} from '@mmkit/scenario';
