import { InvalidArgumentError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { compactTrace } from './compact-trace.js';
import { POLICY_NAMES } from './policies.js';
import { replaySync } from './replay.js';
import { missRatioCurveSizes, missRatios, replayWork } from './replay-jobs.js';

function randomTrace(n: number, seed: number): Float64Array {
  const keys = new Float64Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    keys[i] = 2 ** 36 + (x % 4 === 0 ? 300 + ((x >>> 3) % 3000) : (x >>> 3) % 300);
  }
  return keys;
}

describe('missRatios', () => {
  const keys = randomTrace(40_000, 0x1234567);
  const trace = compactTrace(keys);
  const sizes = [16, 100, 512, 3000];

  it('worker threads give exactly the single-thread results, in policy then size order', async () => {
    let reported = 0;
    const options = { policies: [...POLICY_NAMES], sizes, warmup: 1000 };
    const single = await missRatios(trace, { ...options, workers: 0 });
    const parallel = await missRatios(trace, {
      ...options,
      workers: 2,
      onProgress: (refs) => {
        reported += refs;
      },
    });
    expect(parallel).toEqual(single);
    expect(reported).toBe(replayWork(trace, options));
    expect(single.map((r) => `${r.policy}:${r.capacity}`)).toEqual(
      POLICY_NAMES.flatMap((p) => sizes.map((s) => `${p}:${s}`)),
    );
    // …and both equal replaySync on the original keys (the generic policies for most).
    for (const policy of POLICY_NAMES) {
      const expected = replaySync(keys, { policy, capacities: sizes, warmup: 1000 });
      expect(single.filter((r) => r.policy === policy)).toEqual(expected);
    }
  }, 60_000);

  it('a worker failure rejects and stops the others', async () => {
    // WSClock checks its τ when it is created, which happens inside the workers.
    await expect(
      missRatios(trace, { policies: ['wsclock'], sizes: [4, 8], workers: 2, tau: -1 }),
    ).rejects.toThrow(/replay worker: .*tau/);
  }, 60_000);

  it('refuses bad options, naming them', async () => {
    await expect(missRatios(trace, { policies: [], sizes })).rejects.toThrow(InvalidArgumentError);
    await expect(missRatios(trace, { policies: ['nope' as 'lru'], sizes })).rejects.toThrow(/one of fifo/);
    await expect(missRatios(trace, { policies: ['lru'], sizes: [0] })).rejects.toThrow(/size/);
    await expect(missRatios(trace, { policies: ['lru'], sizes, workers: -1 })).rejects.toThrow(/workers/);
    await expect(missRatios(keys as never, { policies: ['lru'], sizes })).rejects.toThrow(/CompactTrace/);
  });
});

describe('missRatioCurveSizes', () => {
  it('log-spaced from 0.1 % of the distinct pages to all of them, whole and distinct', () => {
    expect(missRatioCurveSizes(10_000, 4)).toEqual([10, 100, 1000, 10_000]);
    expect(missRatioCurveSizes(5, 8)).toEqual([1, 2, 3, 4, 5]);
    expect(missRatioCurveSizes(1, 3)).toEqual([1]);
    expect(() => missRatioCurveSizes(0, 3)).toThrow(/distinct/);
    expect(() => missRatioCurveSizes(10, 1)).toThrow(/points/);
  });
});
