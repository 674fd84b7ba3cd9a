/**
 * @mmkit/replay — replacement policies and trace replay: one {@link ReplacementPolicy} interface
 * for the kernel's reclaim and offline replay, ten policies with libCacheSim's conventions,
 * streaming trace readers (lackey, page lists, libCacheSim oracleGeneral and csv; gzip accepted),
 * miss ratios at many sizes and the exact LRU miss-ratio curve in one pass.
 *
 * @packageDocumentation
 * @module @mmkit/replay
 */
export { ArcPolicy, createArcPolicy } from './arc.js';
export { ClockPolicy, createClockPolicy } from './clock.js';
export {
  type CompactTrace,
  CompactTraceBuilder,
  type CompactTraceOptions,
  compactTrace,
  loadCompactTrace,
  MAX_COMPACT_REFERENCES,
} from './compact-trace.js';
export { type ConformanceOptions, checkPolicyConformance } from './conformance.js';
export { type CsvTraceOptions, looksLikeCsvHeader, readCsvTrace } from './csv-trace.js';
export { TraceFormatError, type TracePosition } from './errors.js';
export {
  createReplayer,
  createRunReplayer,
  FAST_POLICY_NAMES,
  type FastPolicyName,
  isFastPolicy,
  isRunPolicy,
  type Replayer,
  type ReplayerOptions,
  RUN_POLICY_NAMES,
  type RunPolicyName,
  type RunReplayer,
} from './fast-replay.js';
export { createFifoPolicy, FifoPolicy } from './fifo.js';
export { formatResultsCsv, formatResultsJson, RESULT_CSV_HEADER } from './format.js';
export { type LackeyOptions, readLackeyTrace } from './lackey.js';
export { createLfuPolicy, LfuPolicy } from './lfu.js';
export { createLruPolicy, LruPolicy } from './lru.js';
export {
  lruMissRatioCurve,
  lruMissRatioCurveSync,
  type MissRatioCurveOptions,
  StackDistanceCounter,
} from './lru-mrc.js';
export { computeNextUse, computeNextUseSync, NextUseBuilder } from './next-use.js';
export { createOptPolicy, OptPolicy } from './opt.js';
export {
  ORACLE_GENERAL_RECORD_BYTES,
  type OracleGeneralOptions,
  readOracleGeneralTrace,
} from './oracle-general.js';
export { type PageListOptions, readPageListTrace } from './page-list.js';
export {
  type CreatePolicyOptions,
  createPolicy,
  isPolicyName,
  POLICY_NAMES,
  type PolicyName,
} from './policies.js';
export {
  type ClearReferenced,
  type IsReferenced,
  NEVER_REFERENCED,
  NO_CLEAR,
  type PolicyState,
  type ReplacementPolicy,
} from './policy.js';
export { type ReplayOptions, type ReplayResult, replay, replaySync } from './replay.js';
export {
  type MissRatiosOptions,
  missRatioCurveSizes,
  missRatios,
  type ReplayJob,
  type ReplayJobSettings,
  replayWork,
  runReplayJob,
  type WorkerReply,
  type WorkerRequest,
} from './replay-jobs.js';
export { createSievePolicy, SievePolicy } from './sieve.js';
export { formatResultsSvg, type SvgPlotOptions } from './svg-plot.js';
export { DEFAULT_BATCH_SIZE, type TraceFormat, TraceReader } from './trace-reader.js';
export {
  checkKeys,
  forEachBatch,
  TRACE_ACCESS_KINDS,
  type TraceBatch,
  type TraceSource,
} from './trace-source.js';
export { createTwoListPolicy, type TwoListOptions, TwoListPolicy } from './two-list.js';
export { createTwoQPolicy, TwoQPolicy } from './two-q.js';
export { createWsClockPolicy, type WsClockOptions, WsClockPolicy } from './ws-clock.js';
