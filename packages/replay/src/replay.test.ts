import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InvalidArgumentError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { formatResultsCsv, formatResultsJson } from './format.js';
import { lruMissRatioCurve, StackDistanceCounter } from './lru-mrc.js';
import { computeNextUse, computeNextUseSync } from './next-use.js';
import { readPageListTrace } from './page-list.js';
import { createPolicy } from './policies.js';
import { replay, replaySync } from './replay.js';

const BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];

describe('replay', () => {
  it('one result per size, in order; first touch is a miss; every reference counts', async () => {
    const results = await replay(BELADY, { policy: 'fifo', capacities: [4, 3, 100] });
    expect(results).toEqual([
      { policy: 'fifo', capacity: 4, accesses: 12, hits: 2, misses: 10, missRatio: 10 / 12 },
      { policy: 'fifo', capacity: 3, accesses: 12, hits: 3, misses: 9, missRatio: 9 / 12 },
      { policy: 'fifo', capacity: 100, accesses: 12, hits: 7, misses: 5, missRatio: 5 / 12 },
    ]);
  });
  it('warm-up references are replayed but not counted', () => {
    // FIFO, 3 frames: the first 6 references give 6 misses; the last 6 give 3 misses, 3 hits.
    expect(replaySync(BELADY, { policy: 'fifo', capacities: 3, warmup: 6 })[0]).toMatchObject({
      accesses: 6,
      hits: 3,
      misses: 3,
    });
  });
  it('OPT replays a file in two passes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mmkit-replay-')), 'belady.txt.gz');
    writeFileSync(path, gzipSync(`${BELADY.join('\n')}\n`));
    const reader = readPageListTrace(path, { batchSize: 5 });
    expect((await replay(reader, { policy: 'opt', capacities: [3, 4] })).map((r) => r.misses)).toEqual([
      7, 6,
    ]);
    expect(Array.from(await computeNextUse(reader))).toEqual(Array.from(computeNextUseSync(BELADY)));
  });
  it('next-use positions', () => {
    expect(Array.from(computeNextUseSync([1, 2, 1, 1, 3]))).toEqual([2, Infinity, 3, Infinity, Infinity]);
  });
  it('accepts iterables and factories', async () => {
    function* gen() {
      yield* BELADY;
    }
    const r = await replay(gen(), { policy: (c) => createPolicy('lru', c), capacities: 3 });
    expect(r[0]!.misses).toBe(10);
  });
  it('refuses bad options and keys, naming them', async () => {
    await expect(replay(BELADY, { policy: 'nope' as 'lru', capacities: 3 })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(replay(BELADY, { policy: 'lru', capacities: [] })).rejects.toThrow(/capacities/);
    await expect(replay(BELADY, { policy: 'lru', capacities: 0 })).rejects.toThrow(/capacity/);
    await expect(replay([1, -2], { policy: 'lru', capacities: 1 })).rejects.toThrow(
      /trace\[1\]: -2 is invalid/,
    );
    expect(() => replaySync([1.5], { policy: 'lru', capacities: 1 })).toThrow(/trace\[0\]/);
    expect(() => replaySync(BELADY, { policy: 'lru', capacities: 1, warmup: -1 })).toThrow(/warmup/);
  });
});

describe('LRU miss-ratio curve', () => {
  it('Belady string by stack distances', async () => {
    // distances: 1 2 3 4 ∞… : 1,2,3,4 cold; 1→4 2→4 5 cold 1→3 2→3 3→5 4→5 5→5
    const curve = await lruMissRatioCurve(BELADY, [3, 4, 5]);
    expect(curve.map((r) => r.misses)).toEqual([10, 8, 5]);
    const counter = new StackDistanceCounter();
    for (const k of BELADY) counter.push(k, true);
    expect(Array.from(counter.histogram())).toEqual([0, 0, 2, 2, 3]);
    expect(counter.cold).toBe(5);
  });
});

describe('formatting', () => {
  const results = replaySync(BELADY, { policy: 'fifo', capacities: [3, 4] });
  it('CSV', () => {
    expect(formatResultsCsv(results)).toBe(
      'policy,capacity,accesses,hits,misses,miss_ratio\nfifo,3,12,3,9,0.750000\nfifo,4,12,2,10,0.833333\n',
    );
  });
  it('JSON', () => {
    expect(JSON.parse(formatResultsJson(results))).toEqual(results);
  });
});
