/**
 * @mmkit/scenario — the scenario format (JSON or YAML steps) that drives `mmkit run`, the demo,
 * tests and the playground: parse a scenario, boot its board with a paging backend, run the steps
 * and read an ordered event log; and page-table sources (a memory image or ELF core with its
 * registers → the paging backend they select and the tables they reach). Browser-safe: no Node built-ins; reading files is the caller's.
 *
 * @packageDocumentation
 * @module @mmkit/scenario
 */
export {
  ARCH_IDS,
  type ArchId,
  type BackendOptions,
  createBackend,
  isArchId,
  isX86ArchId,
  type X86ArchId,
} from './arch-registry.js';
export { ScenarioError, type ScenarioErrorDetails } from './errors.js';
export { EXAMPLE_SCENARIOS, type ExampleScenario, exampleScenario } from './examples.js';
export {
  bytesReader,
  elfCoreSource,
  type ImageReader,
  rawImageSource,
} from './image-source.js';
export {
  type LoadedState,
  type LoadedTable,
  type LoadTablesOptions,
  loadTables,
  MAX_TABLES,
  type UnreadableTable,
} from './load-tables.js';
export {
  boardArchs,
  type MachineField,
  ramExpectation,
  resolveMachine,
  type ScenarioMachine,
} from './machine.js';
export { createMachineReplay, MachineReplay } from './machine-replay.js';
export { MACHINE_REPLAY_REGION_PAGES } from './machine-replay-regions.js';
export { replayOnMachine } from './machine-replay-source.js';
export type {
  MachineAccessName,
  MachineReplayOptions,
  MachineReplayRegion,
  MachineReplayResult,
  MachineReplayTimeline,
  MachineTrace,
} from './machine-replay-types.js';
export { formatMachineTimelineSvg, type MachineTimelineSvgOptions } from './machine-timeline-svg.js';
export {
  inRegions,
  mergeRegions,
  type PageTableSource,
  PageTableSourceError,
  type SourceRegion,
} from './page-table-source.js';
export { parseScenario } from './parse.js';
export {
  backendFor,
  loadRegime,
  parseRegisterList,
  parseRegisterValue,
  REGISTER_NAMES,
  type Regime,
  type RegimeOptions,
  registerName,
} from './regime.js';
export {
  runScenario,
  type ScenarioEvent,
  type ScenarioMachineInfo,
  type ScenarioOptions,
  type ScenarioProcessStats,
  type ScenarioProgress,
  type ScenarioRun,
  type ScenarioStepper,
  type StepRecord,
  start,
  summarize,
  type TlbCheck,
} from './run.js';
export type * from './types.js';
export { LAYOUT_SYMBOLS, type SourceLocator, STEP_OPS, validateScenario } from './validate.js';
