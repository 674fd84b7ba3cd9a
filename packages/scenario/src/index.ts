/**
 * @mmkit/scenario — the scenario format (JSON or YAML steps) that drives `mmkit run`, the demo,
 * tests and the playground: parse a scenario, boot its board with a paging backend, run the steps
 * and read an ordered event log. Browser-safe: no Node built-ins; reading files is the caller's.
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
  boardArchs,
  type MachineField,
  ramExpectation,
  resolveMachine,
  type ScenarioMachine,
} from './machine.js';
export { parseScenario } from './parse.js';
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
} from './run.js';
export type * from './types.js';
export { LAYOUT_SYMBOLS, type SourceLocator, STEP_OPS, validateScenario } from './validate.js';
