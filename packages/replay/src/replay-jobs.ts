/**
 * Miss ratios of many policies at many sizes over one trace in memory, in parallel worker
 * threads (`node:worker_threads`).
 *
 * The work is split into jobs: one per policy and size, except LRU at several sizes, which is one
 * job (the exact curve in one pass by stack distances). Jobs go to the next idle worker; every
 * worker reads the same ids from a `SharedArrayBuffer` (no copy per worker). Results are the
 * same as one thread's, in a fixed order (policies as given, sizes as given), whatever the number
 * of workers and whichever finishes first.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from '@mmkit/core';
import { checkCapacity } from './checks.js';
import type { CompactTrace } from './compact-trace.js';
import { createReplayer, createRunReplayer, isRunPolicy } from './fast-replay.js';
import { StackDistanceCounter } from './lru-mrc.js';
import { computeNextUseSync } from './next-use.js';
import { isPolicyName, POLICY_NAMES, type PolicyName } from './policies.js';
import type { ReplayResult } from './replay.js';

/** References replayed between two progress reports. */
const CHUNK = 1 << 20;

/** One unit of work: a policy at one or more sizes. */
export interface ReplayJob {
  readonly policy: PolicyName;
  readonly sizes: readonly number[];
}

/** Settings shared by every job of a run. */
export interface ReplayJobSettings {
  /** References replayed before counting starts (default 0). */
  readonly warmup?: number;
  /** WSClock's τ. */
  readonly tau?: number;
  /** OPT's next-use positions of `trace.ids` (computed when needed if absent). */
  readonly nextUse?: Float64Array;
}

function result(policy: string, capacity: number, accesses: number, hits: number): ReplayResult {
  const misses = accesses - hits;
  return { policy, capacity, accesses, hits, misses, missRatio: accesses > 0 ? misses / accesses : 0 };
}

/** Runs that start before reference `position` (consecutive runs differ, so a run starts where the id changes). */
function runsBefore(ids: Int32Array, position: number): number {
  if (position <= 0) return 0;
  let count = 1;
  for (let i = 1; i < position; i++) if (ids[i] !== ids[i - 1]) count++;
  return count;
}

/**
 * Runs one job on this thread: LRU at several sizes by stack distances; FIFO, CLOCK, LRU, SIEVE,
 * ARC and OPT over the trace's runs when it has them (one step per run of repeats, see
 * `compact-trace.ts`); anything else one replayer per size over the ids (a specialised loop for
 * all but two-list and WSClock, see `fast-replay.ts`). `onProgress(refs)` is
 * called with the references replayed since the last call, about every million runs or
 * references (over runs, in proportion to the runs replayed; the reports add up to the trace
 * length).
 */
export function runReplayJob(
  trace: CompactTrace,
  job: ReplayJob,
  settings: ReplayJobSettings = {},
  onProgress?: (refs: number) => void,
): ReplayResult[] {
  const n = trace.length;
  const ids = trace.ids;
  const warmup = Math.min(settings.warmup ?? 0, n);
  const counted = n - warmup;
  const { runs } = trace;
  if (job.policy === 'lru' && job.sizes.length > 1 && runs !== undefined) {
    // Over runs: skipping a repeat changes no other reference's stack distance (the pages between
    // two references of a page stay the same); each counted repeat is a distance-1 hit.
    const counter = new StackDistanceCounter();
    const count = runs.length;
    const first = runsBefore(ids, warmup);
    let reported = 0;
    for (let start = 0; start < count; start += CHUNK) {
      const end = Math.min(count, start + CHUNK);
      for (let r = start; r < end; r++) {
        const v = runs[r]!;
        counter.pushId(v ^ (v >> 31), r >= first);
      }
      const done = end === count ? n : Math.floor((n * end) / count);
      onProgress?.(done - reported);
      reported = done;
    }
    counter.pushRepeats(counted - (count - first));
    return job.sizes.map((c) => result('lru', c, counted, counter.hitsAt(c)));
  }
  if (job.policy === 'lru' && job.sizes.length > 1) {
    const counter = new StackDistanceCounter();
    for (let start = 0; start < n; start += CHUNK) {
      const end = Math.min(n, start + CHUNK);
      for (let i = start; i < end; i++) counter.pushId(ids[i]!, i >= warmup);
      onProgress?.(end - start);
    }
    return job.sizes.map((c) => result('lru', c, counted, counter.hitsAt(c)));
  }
  const policy = job.policy;
  if (isRunPolicy(policy) && runs !== undefined) {
    // The references of the run that straddles the warm-up's end are repeats, hence hits: only
    // runs starting at or after it can miss while counting.
    const count = runs.length;
    const first = runsBefore(ids, warmup);
    return job.sizes.map((capacity) => {
      const r = createRunReplayer(policy, capacity, trace);
      let misses = 0;
      let reported = 0;
      for (let start = 0; start < count; start += CHUNK) {
        const end = Math.min(count, start + CHUNK);
        if (start < first) {
          r.runMisses(runs, start, Math.min(end, first));
          if (end > first) misses += r.runMisses(runs, first, end);
        } else {
          misses += r.runMisses(runs, start, end);
        }
        const done = end === count ? n : Math.floor((n * end) / count);
        onProgress?.(done - reported);
        reported = done;
      }
      return result(policy, capacity, counted, counted - misses);
    });
  }
  const nextUse =
    job.policy === 'opt' ? (settings.nextUse ?? computeNextUseSync(ids.subarray(0, n))) : undefined;
  return job.sizes.map((capacity) => {
    const r = createReplayer(job.policy, capacity, trace, {
      ...(settings.tau === undefined ? {} : { tau: settings.tau }),
      ...(nextUse === undefined ? {} : { nextUse }),
    });
    let hits = 0;
    for (let start = 0; start < n; start += CHUNK) {
      const end = Math.min(n, start + CHUNK);
      if (start < warmup) {
        r.run(ids, start, Math.min(end, warmup));
        if (end > warmup) hits += r.run(ids, warmup, end);
      } else {
        hits += r.run(ids, start, end);
      }
      onProgress?.(end - start);
    }
    return result(r.policy, capacity, counted, hits);
  });
}

/** Options of {@link missRatios}. */
export interface MissRatiosOptions extends ReplayJobSettings {
  /** Policies, in the order of the results. */
  readonly policies: readonly PolicyName[];
  /** Cache sizes in pages, in the order of the results. */
  readonly sizes: readonly number[];
  /**
   * Worker threads (default: the number of CPUs, at most one per job). 0 or 1 replays on this
   * thread.
   */
  readonly workers?: number;
  /** Called with the references replayed since the last call (the total is {@link replayWork}). */
  readonly onProgress?: (refs: number) => void;
}

function checkOptions(trace: CompactTrace, options: MissRatiosOptions): ReplayJob[] {
  if (trace === null || typeof trace !== 'object' || !(trace.ids instanceof Int32Array)) {
    throw new InvalidArgumentError('trace', trace, 'a CompactTrace (compactTrace / loadCompactTrace)');
  }
  if (trace.runs !== undefined && !(trace.runs instanceof Int32Array && trace.runs.length <= trace.length)) {
    throw new InvalidArgumentError(
      'trace runs',
      trace.runs,
      'an Int32Array of at most `length` runs (as CompactTraceBuilder makes it), or absent',
    );
  }
  const { policies, sizes } = options;
  if (!Array.isArray(policies) || policies.length === 0) {
    throw new InvalidArgumentError('policies', policies, 'a non-empty array of policy names');
  }
  for (const p of policies) {
    if (!isPolicyName(p)) throw new InvalidArgumentError('policy', p, `one of ${POLICY_NAMES.join(', ')}`);
  }
  if (!Array.isArray(sizes) || sizes.length === 0) {
    throw new InvalidArgumentError('sizes', sizes, 'a non-empty array of cache sizes in pages');
  }
  for (const c of sizes) checkCapacity('size', c);
  const warmup = options.warmup ?? 0;
  if (!Number.isSafeInteger(warmup) || warmup < 0) {
    throw new InvalidArgumentError('warmup', warmup, 'a non-negative integer number of references');
  }
  const workers = options.workers;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0 || workers > 256)) {
    throw new InvalidArgumentError('workers', workers, 'an integer from 0 to 256');
  }
  const jobs: ReplayJob[] = [];
  for (const policy of policies) {
    if (policy === 'lru' && sizes.length > 1) jobs.push({ policy, sizes });
    else for (const size of sizes) jobs.push({ policy, sizes: [size] });
  }
  return jobs;
}

/** References a {@link missRatios} run replays in total (what its progress reports add up to). */
export function replayWork(trace: CompactTrace, options: MissRatiosOptions): number {
  return checkOptions(trace, options).length * trace.length;
}

/**
 * Miss ratios of every policy at every size, one result per (policy, size), policies in the
 * order given and sizes in the order given; identical to replaying each on its own.
 * @throws InvalidArgumentError for bad options; rejects if a worker fails (all are stopped).
 */
export async function missRatios(trace: CompactTrace, options: MissRatiosOptions): Promise<ReplayResult[]> {
  const jobs = checkOptions(trace, options);
  const settings: ReplayJobSettings = {
    warmup: options.warmup ?? 0,
    ...(options.tau === undefined ? {} : { tau: options.tau }),
    ...(options.nextUse === undefined ? {} : { nextUse: options.nextUse }),
  };
  const workers = Math.min(options.workers ?? availableParallelism(), jobs.length);
  let done: ReplayResult[][];
  if (workers <= 1) {
    done = jobs.map((job) => runReplayJob(trace, job, settings, options.onProgress));
  } else {
    done = await runInWorkers(trace, jobs, settings, workers, options.onProgress);
  }
  const byKey = new Map<string, ReplayResult>();
  for (const results of done) for (const r of results) byKey.set(`${r.policy} ${r.capacity}`, r);
  const out: ReplayResult[] = [];
  for (const policy of options.policies) {
    for (const size of options.sizes) out.push(byKey.get(`${policy} ${size}`)!);
  }
  return out;
}

/** Messages from a worker. */
export type WorkerReply =
  | { readonly type: 'progress'; readonly refs: number }
  | { readonly type: 'result'; readonly job: number; readonly results: ReplayResult[] }
  | { readonly type: 'error'; readonly message: string };

/** Messages to a worker. */
export type WorkerRequest =
  | {
      readonly type: 'init';
      readonly ids: Int32Array;
      readonly length: number;
      readonly distinct: number;
      /** The trace's runs, when it has them (`CompactTrace.runs`). */
      readonly runs?: Int32Array;
      readonly settings: ReplayJobSettings;
    }
  | { readonly type: 'job'; readonly job: number; readonly spec: ReplayJob };

function shared<T extends Int32Array | Float64Array>(a: T, make: (b: SharedArrayBuffer) => T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const copy = make(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Running from source (tests, benchmarks): load the TypeScript worker through tsx's loader.
    const api = createRequire(here)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs');
    const entry = new URL('./replay-worker.ts', here).href;
    const code = `import(${JSON.stringify(pathToFileURL(api).href)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
    return new Worker(code, { eval: true, execArgv: ['--conditions=@mmkit/source'] });
  }
  return new Worker(new URL('./replay-worker.js', here));
}

function runInWorkers(
  trace: CompactTrace,
  jobs: readonly ReplayJob[],
  settings: ReplayJobSettings,
  count: number,
  onProgress: ((refs: number) => void) | undefined,
): Promise<ReplayResult[][]> {
  const ids = shared(trace.ids.subarray(0, trace.length), (b) => new Int32Array(b));
  const needsNextUse = jobs.some((j) => j.policy === 'opt');
  const nextUse = needsNextUse
    ? shared(settings.nextUse ?? computeNextUseSync(ids), (b) => new Float64Array(b))
    : undefined;
  const init: WorkerRequest = {
    type: 'init',
    ids,
    length: trace.length,
    distinct: trace.distinct,
    ...(trace.runs === undefined ? {} : { runs: shared(trace.runs, (b) => new Int32Array(b)) }),
    settings: {
      ...(settings.warmup === undefined ? {} : { warmup: settings.warmup }),
      ...(settings.tau === undefined ? {} : { tau: settings.tau }),
      ...(nextUse === undefined ? {} : { nextUse }),
    },
  };
  return new Promise((resolve, reject) => {
    const results: ReplayResult[][] = new Array(jobs.length);
    const workers: Worker[] = [];
    let next = 0;
    let finished = 0;
    let failed = false;
    const stopAll = () => {
      for (const w of workers) void w.terminate();
    };
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      stopAll();
      reject(error);
    };
    const give = (w: Worker) => {
      if (next < jobs.length) {
        const job = next++;
        w.postMessage({ type: 'job', job, spec: jobs[job]! } satisfies WorkerRequest);
      }
    };
    for (let i = 0; i < count; i++) {
      const w = startWorker();
      workers.push(w);
      w.on('message', (m: WorkerReply) => {
        if (failed) return;
        if (m.type === 'progress') onProgress?.(m.refs);
        else if (m.type === 'error') fail(new Error(`replay worker: ${m.message}`));
        else {
          results[m.job] = m.results;
          finished++;
          if (finished === jobs.length) {
            stopAll();
            resolve(results);
          } else give(w);
        }
      });
      w.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
      w.on('exit', (code) => {
        if (finished < jobs.length)
          fail(new Error(`replay worker exited with code ${code} before finishing`));
      });
      w.postMessage(init);
      give(w);
    }
  });
}

/**
 * `points` cache sizes for a miss-ratio curve of a trace with `distinct` distinct pages: spaced
 * evenly on a log scale from 0.1 % of `distinct` (at least 1 page) to `distinct` (where every
 * policy reaches the cold-miss floor), rounded to whole pages, duplicates dropped, ascending.
 * @throws InvalidArgumentError unless `distinct` ≥ 1 and 2 ≤ `points` ≤ 1000.
 */
export function missRatioCurveSizes(distinct: number, points: number): number[] {
  if (!Number.isSafeInteger(distinct) || distinct < 1) {
    throw new InvalidArgumentError('distinct pages', distinct, 'a positive integer');
  }
  if (!Number.isInteger(points) || points < 2 || points > 1000) {
    throw new InvalidArgumentError('points', points, 'an integer from 2 to 1000');
  }
  const lo = Math.max(1, distinct / 1000);
  const sizes = new Set<number>();
  for (let i = 0; i < points; i++) {
    const s = Math.round(lo * (distinct / lo) ** (i / (points - 1)));
    sizes.add(Math.min(distinct, Math.max(1, s)));
  }
  return [...sizes].sort((a, b) => a - b);
}
