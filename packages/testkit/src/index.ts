/**
 * @mmkit/testkit (private) — the conformance suite every mmkit page-table
 * backend runs, its individual checks (each returns the problems it found),
 * and shared fixtures (simulated RAM, a bump frame source, a walk harness).
 */
export {
  checkContractVersion,
  checkDescribe,
  checkDescription,
  checkLeafAddresses,
  checkLeafRoundTrip,
  checkMemoryTypes,
  checkNextTable,
  checkRefusals,
  checkSoftwarePayloads,
  checkTableRoundTrip,
  checkZeroAbsent,
  findLeafAttributes,
  levelLabel,
  samplePhysicalAddresses,
  tableLevels,
} from './codec-checks.js';
export {
  leafAttributeCombinations,
  PERMISSION_SETS,
  permissionCount,
  permissionPairs,
  softwareValues,
  tableAttributeCombinations,
} from './combinations.js';
export {
  type Attempt,
  attempt,
  capProblems,
  formatRaw,
  normalizeEntry,
  sameEntry,
  stableStringify,
} from './compare.js';
export { type ConformanceOptions, describeConformance } from './conformance.js';
export {
  checkBreakBeforeMakePhases,
  checkClearAndPrune,
  checkEditorMapUnmap,
  checkEditorOutOfMemory,
  checkEditorSplitCollapse,
  checkFlushLedger,
  checkFreeSubtables,
  checkLeafTemplate,
  checkRangeValidation,
  describeEditorConformance,
  type EditorCheckOptions,
  type EditorFactory,
  editorSnapshot,
  runBreakBeforeMake,
} from './editor-checks.js';
export {
  BumpFrameSource,
  createTestMemory,
  createWalkHarness,
  DEFAULT_TEST_RAM,
  type WalkHarness,
} from './fixtures.js';
export { FUZZ_VALUES, fuzzArgs, fuzzCall } from './fuzz.js';
export { checkSwapEntries, type SwapCheckOptions } from './swap-checks.js';
export { checkTlbOperations } from './tlb-checks.js';
export { createToyArch, TOY_DEFECT_FOR_CHECK, type ToyBug } from './toy-arch.js';
export {
  checkAccessedFlag,
  checkDirtyState,
  checkFaultSyndrome,
  checkNonCanonical,
  checkRegisters,
  checkSyndromePrecision,
  checkUnmapped,
  checkWalkerLeafLevel,
  sampleSlots,
  tableRestriction,
  type WalkerCheckOptions,
} from './walker-checks.js';
