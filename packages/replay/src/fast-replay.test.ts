import { InvalidArgumentError } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CompactTrace, CompactTraceBuilder, compactTrace } from './compact-trace.js';
import { createReplayer, FAST_POLICY_NAMES } from './fast-replay.js';
import { computeNextUseSync } from './next-use.js';
import { createPolicy, POLICY_NAMES, type PolicyName } from './policies.js';
import { runReplayJob } from './replay-jobs.js';

const BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];

/** Hits of the generic policy on the original keys, after `warmup` references. */
function genericHits(policy: PolicyName, keys: readonly number[], capacity: number, warmup = 0): number {
  const p = createPolicy(policy, capacity, { nextUse: computeNextUseSync(keys) });
  let hits = 0;
  keys.forEach((k, i) => {
    if (p.access(k) && i >= warmup) hits++;
  });
  return hits;
}

/** Hits of the compact replay (fast loop where there is one), run in pieces of `piece`. */
function compactHits(
  policy: PolicyName,
  trace: CompactTrace,
  capacity: number,
  warmup = 0,
  piece = 3,
): number {
  const r = createReplayer(policy, capacity, trace);
  let hits = 0;
  for (let start = 0; start < trace.length; start += piece) {
    const end = Math.min(trace.length, start + piece);
    for (let i = start; i < end; i++) {
      const h = r.run(trace.ids, i, i + 1);
      if (i >= warmup) hits += h;
    }
  }
  return hits;
}

describe('compactTrace', () => {
  it('numbers keys by first reference and keeps them', () => {
    const t = compactTrace([2 ** 40, 7, 2 ** 40, 0, 7, 2 ** 53 - 1]);
    expect(Array.from(t.ids)).toEqual([0, 1, 0, 2, 1, 3]);
    expect(t.length).toBe(6);
    expect(t.distinct).toBe(4);
    expect(Array.from(t.keys)).toEqual([2 ** 40, 7, 0, 2 ** 53 - 1]);
  });
  it('grows its table and its id array across batches, and can share its ids', () => {
    const b = new CompactTraceBuilder({ shared: true }, 4);
    const keys = Float64Array.from({ length: 5000 }, (_, i) => 2 ** 35 + ((i * 7919) % 3001));
    b.push(keys.subarray(0, 1234));
    b.push(keys.subarray(1234), 5000 - 1234);
    const t = b.finish();
    expect(t.ids.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(t.length).toBe(5000);
    expect(t.distinct).toBe(3001);
    for (let i = 0; i < 5000; i++) expect(t.keys[t.ids[i]!]).toBe(keys[i]);
  });
  it('names the first bad key and its position (NaN, negative, fraction, ≥ 2^53, not a number)', () => {
    for (const bad of [Number.NaN, -1, 1.5, 2 ** 53, '3' as unknown as number]) {
      expect(() => compactTrace([1, 2, 1, bad])).toThrow(InvalidArgumentError);
      expect(() => compactTrace([1, 2, 1, bad])).toThrow(/trace\[3\]/);
    }
    expect(() => compactTrace(null as unknown as number[])).toThrow(/array or typed array/);
  });
});

describe('fast replay loops, hand-computed', () => {
  const t = compactTrace(BELADY);
  it("FIFO shows Belady's anomaly: 9 misses with 3 frames, 10 with 4", () => {
    expect(12 - compactHits('fifo', t, 3)).toBe(9);
    expect(12 - compactHits('fifo', t, 4)).toBe(10);
  });
  it('LRU: 10 misses with 3 frames, 8 with 4', () => {
    expect(12 - compactHits('lru', t, 3)).toBe(10);
    expect(12 - compactHits('lru', t, 4)).toBe(8);
  });
  it('CLOCK: a hit sets the bit, the hand spares it once', () => {
    // 3 frames: 1M 2M 3M [1 2 3] 4M: all bits clear → evict 1 [2 3 4]; 1M evict 2 [3 4 1];
    // 2M evict 3 [4 1 2]; 5M evict 4 [1 2 5]; 1H(1*) 2H(2*) 3M: spare 1, spare 2, evict 5 [1 2 3];
    // 4M: evict 1 [2 3 4]; 5M: evict 2 [3 4 5] → 10 misses (7 + 3).
    expect(12 - compactHits('clock', t, 3)).toBe(10);
    expect(12 - genericHits('clock', BELADY, 3)).toBe(10);
  });
  it('SIEVE: the hand resumes where it stopped', () => {
    // 3 frames: 1M 2M 3M; 1H(1*) 4M: hand at 1 (visited → clear), 2 evicted, hand → 3 [1 3 4];
    // 3H(3*) 5M: hand at 3 (clear), 4 evicted, hand → newest end → oldest next [1 3 5];
    // 1H(1*) 2M: hand at 1 (clear), 3 unvisited evicted [1 5 2] → 6 misses of 9.
    const s = compactTrace([1, 2, 3, 1, 4, 3, 5, 1, 2]);
    expect(9 - compactHits('sieve', s, 3)).toBe(6);
    expect(9 - genericHits('sieve', [1, 2, 3, 1, 4, 3, 5, 1, 2], 3)).toBe(6);
  });
  it('a cache larger than the number of distinct pages misses only on first touches', () => {
    for (const p of FAST_POLICY_NAMES) expect(12 - compactHits(p, t, 1000)).toBe(5);
  });
  it('refuses an unknown policy and a bad capacity', () => {
    expect(() => createReplayer('nope' as 'lru', 3, t)).toThrow(/one of fifo/);
    expect(() => createReplayer('fifo', 0, t)).toThrow(/capacity/);
  });
});

const traceArb = fc.array(fc.integer({ min: 0, max: 24 }), { minLength: 0, maxLength: 300 });
const keyArb = (keys: number[]) => keys.map((k) => (k % 2 === 0 ? 2 ** 40 + k : k));

describe('compact replay ≡ the generic policy on the original keys (every policy)', () => {
  for (const policy of POLICY_NAMES) {
    it(policy, () => {
      fc.assert(
        fc.property(traceArb, fc.integer({ min: 1, max: 20 }), fc.nat(40), (raw, capacity, warmup) => {
          const keys = keyArb(raw);
          const t = compactTrace(keys);
          expect(compactHits(policy, t, capacity, warmup, 7)).toBe(
            genericHits(policy, keys, capacity, warmup),
          );
          const [r] = runReplayJob(t, { policy, sizes: [capacity] }, { warmup });
          expect(r!.hits).toBe(genericHits(policy, keys, capacity, warmup));
        }),
        { numRuns: 150 },
      );
    });
  }
  it('the property catches a loop that differs (FIFO loop checked against generic LRU)', () => {
    const broken = fc.check(
      fc.property(traceArb, fc.integer({ min: 1, max: 20 }), (raw, capacity) => {
        const keys = keyArb(raw);
        return compactHits('fifo', compactTrace(keys), capacity) === genericHits('lru', keys, capacity);
      }),
      { numRuns: 300, seed: 8 },
    );
    expect(broken.failed).toBe(true);
  });
});
