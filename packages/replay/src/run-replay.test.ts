/**
 * The collapsed ("runs") form of a compact trace and the run replay of FIFO, CLOCK, LRU, SIEVE, ARC
 * and OPT:
 * the same hit/miss sequence as the reference policies' `access` on the original keys, and the
 * checker is shown to catch a collapse applied where it is not valid (LFU, ARC, CLOCK without the
 * run's flag).
 */
import { InvalidArgumentError } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CompactTrace, CompactTraceBuilder, compactTrace } from './compact-trace.js';
import { createRunReplayer, RUN_POLICY_NAMES, type RunPolicyName } from './fast-replay.js';
import { computeNextUseSync } from './next-use.js';
import { createPolicy, type PolicyName } from './policies.js';
import { missRatios, runReplayJob } from './replay-jobs.js';

/** Hit (1) / miss (0) per reference of the reference policy on the original keys. */
function referenceSequence(policy: PolicyName, keys: readonly number[], capacity: number): number[] {
  const p = createPolicy(policy, capacity, { nextUse: computeNextUseSync(keys) });
  return keys.map((k) => (p.access(k) ? 1 : 0));
}

/** Where each run starts (a run starts where the id changes), and the trace length at the end. */
function runStarts(trace: CompactTrace): number[] {
  const starts: number[] = [];
  for (let i = 0; i < trace.length; i++) if (i === 0 || trace.ids[i] !== trace.ids[i - 1]) starts.push(i);
  starts.push(trace.length);
  return starts;
}

/** Expands per-run outcomes (1 = the run's first reference hit) to per-reference hits. */
function expand(trace: CompactTrace, firstHit: readonly number[]): number[] {
  const starts = runStarts(trace);
  expect(starts.length - 1).toBe(trace.runs!.length);
  const out: number[] = [];
  for (let r = 0; r < trace.runs!.length; r++) {
    out.push(firstHit[r]!);
    for (let i = starts[r]! + 1; i < starts[r + 1]!; i++) out.push(1);
  }
  return out;
}

/** Hit/miss sequence of the run replay, one run at a time (state carried between calls). */
function runSequence(policy: RunPolicyName, trace: CompactTrace, capacity: number): number[] {
  const r = createRunReplayer(policy, capacity, trace);
  const first: number[] = [];
  for (let i = 0; i < trace.runs!.length; i++) first.push(1 - r.runMisses(trace.runs!, i, i + 1));
  return expand(trace, first);
}

/**
 * A deliberately naive collapse for any policy: the generic policy sees each run's first reference
 * only (what run replay would be for a policy where a repeat is not a no-op); `keepFlag` replays
 * the first repeat of a run as well (CLOCK's and SIEVE's rule).
 */
function naiveCollapseSequence(
  policy: PolicyName,
  trace: CompactTrace,
  capacity: number,
  keepFlag: boolean,
): number[] {
  const p = createPolicy(policy, capacity);
  const first: number[] = [];
  for (let r = 0; r < trace.runs!.length; r++) {
    const v = trace.runs![r]!;
    const id = v < 0 ? ~v : v;
    first.push(p.access(id) ? 1 : 0);
    if (keepFlag && v < 0) p.access(id);
  }
  return expand(trace, first);
}

/** Traces with many repeats: (page, repeat count) pairs; even pages above 2^40. */
const runsArb = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 1, max: 4 })), { maxLength: 150 })
  .map((pairs) => pairs.flatMap(([k, n]) => Array<number>(n).fill(k % 2 === 0 ? 2 ** 40 + k : k)));
const capacityArb = fc.integer({ min: 1, max: 18 });

describe('compact trace runs', () => {
  it('collapse consecutive repeats; the flag (~id) marks runs of two or more', () => {
    const t = compactTrace([5, 5, 7, 5, 5, 5, 9, 7]);
    expect(Array.from(t.ids)).toEqual([0, 0, 1, 0, 0, 0, 2, 1]);
    expect(Array.from(t.runs!)).toEqual([~0, 1, ~0, 2, 1]);
    expect(runStarts(t)).toEqual([0, 2, 3, 6, 7, 8]);
    expect(compactTrace([]).runs!.length).toBe(0);
  });
  it('a run continues across batches; after a bad key the runs end at the kept references', () => {
    const b = new CompactTraceBuilder({ shared: true }, 2);
    b.push([5, 5]);
    b.push([5, 7]);
    expect(() => b.push([7, 7, -3])).toThrow(InvalidArgumentError);
    b.push([7, 5]);
    const t = b.finish();
    expect(t.runs!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(t.ids)).toEqual([0, 0, 0, 1, 1, 1, 1, 0]);
    expect(Array.from(t.runs!)).toEqual([~0, ~1, 0]);
  });
  it('expand back to the ids, consecutive runs differ (random traces, random batches)', () => {
    fc.assert(
      fc.property(runsArb, fc.integer({ min: 1, max: 40 }), (keys, batch) => {
        const b = new CompactTraceBuilder({}, 1);
        for (let i = 0; i < keys.length; i += batch) b.push(keys.slice(i, i + batch));
        const t = b.finish();
        const starts = runStarts(t);
        expect(starts.length - 1).toBe(t.runs!.length);
        for (let r = 0; r < t.runs!.length; r++) {
          const v = t.runs![r]!;
          const id = v < 0 ? ~v : v;
          const [s, e] = [starts[r]!, starts[r + 1]!];
          expect(e - s >= 2).toBe(v < 0);
          for (let i = s; i < e; i++) expect(t.ids[i]).toBe(id);
          if (r > 0) expect(t.ids[s - 1]).not.toBe(id);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('run replay ≡ the reference policy on the original keys, reference by reference', () => {
  for (const policy of RUN_POLICY_NAMES) {
    it(policy, () => {
      fc.assert(
        fc.property(runsArb, capacityArb, (keys, capacity) => {
          const t = compactTrace(keys);
          expect(runSequence(policy, t, capacity)).toEqual(referenceSequence(policy, keys, capacity));
        }),
        { numRuns: 300 },
      );
    });
  }
  it('hand cases: a repeat right after a load sets CLOCK/SIEVE bits; LRU capacity 1', () => {
    // CLOCK, 2 frames: 1 1 2 3 → 3 evicts 2 (1's bit was set by its repeat, spared); then 1 hits.
    const keys = [1, 1, 2, 3, 1];
    for (const policy of RUN_POLICY_NAMES) {
      for (const c of [1, 2, 3]) {
        expect(runSequence(policy, compactTrace(keys), c)).toEqual(referenceSequence(policy, keys, c));
      }
    }
    expect(runSequence('clock', compactTrace(keys), 2)).toEqual([0, 1, 0, 0, 1]);
    expect(runSequence('fifo', compactTrace(keys), 2)).toEqual([0, 1, 0, 0, 0]);
  });
  it('runReplayJob over runs (warm-up inside a run, pieces) and missRatios in workers equal the ids', async () => {
    // 2 000 references, runs of 1–4 over 40 pages (a xorshift, so the trace is fixed).
    const keys: number[] = [];
    for (let x = 0x2545f491; keys.length < 2000; ) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      keys.push(...Array<number>(1 + (x % 4)).fill((x >>> 8) % 40));
    }
    const t = compactTrace(keys);
    const { runs: _runs, ...noRuns } = t;
    for (const policy of RUN_POLICY_NAMES) {
      for (const warmup of [0, 1, 3, 10, keys.length]) {
        for (const capacity of [1, 4, 9]) {
          const [a] = runReplayJob(t, { policy, sizes: [capacity] }, { warmup });
          const [b] = runReplayJob(noRuns, { policy, sizes: [capacity] }, { warmup });
          expect(a).toEqual(b);
        }
      }
    }
    for (const warmup of [0, 1, 3, 10, keys.length]) {
      // LRU at several sizes: one pass by stack distances, over the run heads plus the repeats.
      const job = { policy: 'lru', sizes: [1, 2, 5, 17, 40] } as const;
      expect(runReplayJob(t, job, { warmup })).toEqual(runReplayJob(noRuns, job, { warmup }));
    }
    const options = { policies: [...RUN_POLICY_NAMES], sizes: [2, 5], warmup: 7 };
    expect(await missRatios(t, { ...options, workers: 2 })).toEqual(
      await missRatios(noRuns, { ...options, workers: 0 }),
    );
  });
  it('progress over runs comes in pieces and adds up to the references (more than a million runs)', () => {
    const keys = new Float64Array(3_000_000);
    for (let i = 0; i < keys.length; i++) keys[i] = (i >> 1) % 5000; // runs of two, 1.5 M runs
    const t = compactTrace(keys);
    expect(t.runs!.length).toBe(1_500_000);
    for (const job of [
      { policy: 'fifo', sizes: [100] },
      { policy: 'lru', sizes: [100, 6000] },
    ] as const) {
      const reports: number[] = [];
      const results = runReplayJob(t, job, { warmup: 7 }, (refs) => reports.push(refs));
      expect(reports.length).toBeGreaterThan(1);
      expect(reports.every((r) => r > 0)).toBe(true);
      expect(reports.reduce((a, b) => a + b, 0)).toBe(
        keys.length * (job.policy === 'lru' ? 1 : job.sizes.length),
      );
      // Every other reference is a repeat; at 100 pages every counted run head misses (a sweep).
      expect(results[0]!.misses).toBe(1_500_000 - 4); // runs at 0, 2, 4, 6 are warm-up
    }
  });
  it('refuses run replay for a policy where a repeat is not a no-op, and inconsistent runs', async () => {
    const t = compactTrace([1, 1, 2]);
    expect(() => createRunReplayer('lfu' as 'lru', 2, t)).toThrow(/one of fifo, clock, lru, sieve, arc, opt/);
    const bad = { ...t, runs: Int32Array.of(0, 1, 0, 1) };
    await expect(missRatios(bad, { policies: ['fifo'], sizes: [2], workers: 0 })).rejects.toThrow(
      /trace runs/,
    );
  });
});

describe('the checker catches a collapse where it is not valid', () => {
  const differs = (policy: PolicyName, keepFlag: boolean) =>
    fc.check(
      fc.property(runsArb, capacityArb, (keys, capacity) => {
        const t = compactTrace(keys);
        const got = naiveCollapseSequence(policy, t, capacity, keepFlag);
        return got.every((h, i) => h === referenceSequence(policy, keys, capacity)[i]);
      }),
      { numRuns: 500, seed: 14 },
    ).failed;
  it('LFU (a repeat raises the count) and ARC (a second reference moves T1 → T2) break', () => {
    expect(differs('lfu', true)).toBe(true);
    expect(differs('arc', false)).toBe(true);
  });
  it('CLOCK and SIEVE break without the run flag, and the naive collapse with it agrees', () => {
    expect(differs('clock', false)).toBe(true);
    expect(differs('sieve', false)).toBe(true);
    expect(differs('clock', true)).toBe(false);
    expect(differs('fifo', false)).toBe(false);
  });
});
