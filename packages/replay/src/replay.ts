/**
 * Offline policy replay: the miss ratio of a policy at one or many cache sizes.
 *
 * Conventions (as libCacheSim with `--ignore-obj-size`): the cache starts empty, every reference
 * counts, a first touch is a miss, the size is a number of pages; the first `warmup` references
 * are replayed but not counted. All sizes are replayed in one pass over the trace (one policy per
 * size). OPT reads the trace twice: a first pass computes next-use positions (one Float64 per
 * reference kept in memory), the second replays.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { checkCapacity } from './checks.js';
import { compactTrace } from './compact-trace.js';
import { isFastPolicy } from './fast-replay.js';
import { computeNextUse, computeNextUseSync } from './next-use.js';
import { createPolicy, isPolicyName, POLICY_NAMES, type PolicyName } from './policies.js';
import type { ReplacementPolicy } from './policy.js';
import { runReplayJob } from './replay-jobs.js';
import { checkKeys, forEachBatch, type TraceSource } from './trace-source.js';

/** The result of replaying one policy at one size. */
export interface ReplayResult {
  readonly policy: string;
  /** Cache size in pages. */
  readonly capacity: number;
  /** References counted (after warm-up). */
  readonly accesses: number;
  readonly hits: number;
  readonly misses: number;
  /** misses / accesses (0 when nothing was counted). */
  readonly missRatio: number;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** A policy name, or a factory creating a fresh policy for a capacity. */
  readonly policy: PolicyName | ((capacity: number) => ReplacementPolicy);
  /** One size or several, in pages. */
  readonly capacities: number | readonly number[];
  /** References replayed before counting starts (default 0). */
  readonly warmup?: number;
  /** WSClock's τ when `policy` is `'wsclock'`. */
  readonly tau?: number;
}

interface Prepared {
  readonly capacities: readonly number[];
  readonly warmup: number;
}

function prepare(options: ReplayOptions): Prepared {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('replay options', options, '{ policy, capacities, warmup? }');
  }
  const { policy } = options;
  if (typeof policy !== 'function' && !isPolicyName(policy)) {
    throw new InvalidArgumentError('replay policy', policy, `one of ${POLICY_NAMES.join(', ')} or a factory`);
  }
  const capacities = typeof options.capacities === 'number' ? [options.capacities] : options.capacities;
  if (!Array.isArray(capacities) || capacities.length === 0) {
    throw new InvalidArgumentError(
      'replay capacities',
      options.capacities,
      'a number of pages or a non-empty array',
    );
  }
  for (const c of capacities) checkCapacity('replay capacity', c);
  const warmup = options.warmup ?? 0;
  if (!Number.isSafeInteger(warmup) || warmup < 0) {
    throw new InvalidArgumentError('replay warmup', warmup, 'a non-negative integer number of references');
  }
  return { capacities, warmup };
}

function makePolicies(
  options: ReplayOptions,
  capacities: readonly number[],
  nextUse?: Float64Array,
): ReplacementPolicy[] {
  const { policy } = options;
  return capacities.map((c) =>
    typeof policy === 'function'
      ? policy(c)
      : createPolicy(policy, c, {
          ...(nextUse === undefined ? {} : { nextUse }),
          ...(options.tau === undefined ? {} : { tau: options.tau }),
        }),
  );
}

/** Accumulates hits per policy over batches. */
class Counter {
  readonly hits: Float64Array;
  position = 0;
  counted = 0;

  constructor(
    readonly policies: readonly ReplacementPolicy[],
    readonly warmup: number,
  ) {
    this.hits = new Float64Array(policies.length);
  }

  feed(keys: ArrayLike<number>, length: number): void {
    let start = 0;
    if (this.position < this.warmup) {
      const skip = Math.min(length, this.warmup - this.position);
      for (const p of this.policies) for (let i = 0; i < skip; i++) p.access(keys[i]!);
      start = skip;
    }
    for (let j = 0; j < this.policies.length; j++) {
      const p = this.policies[j]!;
      let hits = 0;
      for (let i = start; i < length; i++) if (p.access(keys[i]!)) hits++;
      this.hits[j]! += hits;
    }
    this.counted += length - start;
    this.position += length;
  }

  results(): ReplayResult[] {
    return this.policies.map((p, j) => {
      const hits = this.hits[j]!;
      const misses = this.counted - hits;
      return {
        policy: p.name,
        capacity: p.capacity,
        accesses: this.counted,
        hits,
        misses,
        missRatio: this.counted > 0 ? misses / this.counted : 0,
      };
    });
  }
}

/**
 * Replays `trace` through `options.policy` at every size in `options.capacities`; one result per
 * size, in the order given.
 * @throws InvalidArgumentError for bad options or keys; TraceFormatError from a reader.
 */
export async function replay(trace: TraceSource, options: ReplayOptions): Promise<ReplayResult[]> {
  const { capacities, warmup } = prepare(options);
  const nextUse = options.policy === 'opt' ? await computeNextUse(trace) : undefined;
  const counter = new Counter(makePolicies(options, capacities, nextUse), warmup);
  await forEachBatch(trace, (keys, length) => counter.feed(keys, length));
  return counter.results();
}

/**
 * {@link replay} for a trace already in memory, synchronously (what benchmarks and tests use).
 * FIFO, CLOCK, LRU, SIEVE, ARC, 2Q, LFU and OPT (by name) go through {@link compactTrace} and
 * their specialised loops: 4 bytes of memory per reference (OPT: 8 more for next uses), the same
 * results.
 * @throws InvalidArgumentError for bad options or keys.
 */
export function replaySync(trace: ArrayLike<number>, options: ReplayOptions): ReplayResult[] {
  const { capacities, warmup } = prepare(options);
  if (trace === null || typeof trace !== 'object' || typeof trace.length !== 'number') {
    throw new InvalidArgumentError('trace', trace, 'an array or typed array of page numbers');
  }
  const { policy } = options;
  if (typeof policy === 'string' && isFastPolicy(policy)) {
    // Compact the trace once (this validates every key), then the specialised loops
    // (fast-replay.ts), one per size.
    const compact = compactTrace(trace);
    const settings =
      policy === 'opt'
        ? { warmup, nextUse: computeNextUseSync(compact.ids.subarray(0, compact.length)) }
        : { warmup };
    return capacities.map((c) => runReplayJob(compact, { policy, sizes: [c] }, settings)[0]!);
  }
  checkKeys(trace);
  const nextUse = options.policy === 'opt' ? computeNextUseSync(trace) : undefined;
  const counter = new Counter(makePolicies(options, capacities, nextUse), warmup);
  counter.feed(trace, trace.length);
  return counter.results();
}
