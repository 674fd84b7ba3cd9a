/**
 * The exact LRU miss-ratio curve at every size in one pass (Mattson et al. 1970): the LRU stack
 * distance of a reference is 1 + the number of distinct keys referenced since the previous
 * reference to the same key (∞ for a first touch), and a reference hits an LRU cache of C pages
 * iff its distance is ≤ C.
 *
 * Distances are counted with a Fenwick tree over "latest reference" markers, one per distinct key,
 * in a time window that is compacted when it fills: O(log D) per reference and O(D) memory for D
 * distinct keys, whatever the trace length.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { checkCapacity } from './checks.js';
import { KeyIndex } from './key-index.js';
import type { ReplayResult } from './replay.js';
import { checkKeys, forEachBatch, type TraceSource } from './trace-source.js';

/** Counts LRU stack distances; feed it references with {@link StackDistanceCounter.push}. */
export class StackDistanceCounter {
  private readonly index = new KeyIndex(1024);
  private lastPos: Int32Array = new Int32Array(1024);
  private window = 1024;
  private owner = new Int32Array(1024).fill(-1);
  private tree = new Int32Array(1025);
  private t = 0;
  private distinct = 0;
  /** hist[d] = counted references with stack distance d (index 0 unused). */
  private hist: Float64Array = new Float64Array(1024);
  /** Counted first touches. */
  cold = 0;
  /** Counted references. */
  counted = 0;

  /** Number of distinct keys seen. */
  get distinctKeys(): number {
    return this.distinct;
  }

  /** One reference; it is counted in the histogram when `count` is true. */
  push(key: number, count: boolean): void {
    let id = this.index.get(key);
    if (id < 0) {
      id = this.distinct;
      this.index.set(key, id);
    }
    this.pushId(id, count);
  }

  /**
   * One reference by dense id, as a `CompactTrace` numbers keys: ids `0, 1, 2, …` in order of
   * first reference, so an id equal to {@link StackDistanceCounter.distinctKeys} is a first
   * touch (no hashing: the replay of a compact trace uses this). Do not mix with `push` on one
   * counter.
   */
  pushId(id: number, count: boolean): void {
    if (this.t === this.window) this.compact();
    if (count) this.counted++;
    if (id === this.distinct) {
      this.distinct++;
      if (id === this.lastPos.length) this.lastPos = grow32(this.lastPos);
      if (count) this.cold++;
      this.add(this.t, 1);
    } else {
      const s = this.lastPos[id]!;
      if (count) {
        const d = this.between(s, this.t) + 1;
        if (d >= this.hist.length) this.hist = growF64(this.hist, d + 1);
        this.hist[d]!++;
      }
      this.move(s, this.t);
      this.owner[s] = -1;
    }
    this.owner[this.t] = id;
    this.lastPos[id] = this.t;
    this.t++;
  }

  /**
   * `count` counted repeats: references to the page referenced just before them (stack distance
   * 1, a hit at every size), which the replay of a compact trace's runs skips. A repeat leaves
   * the stack as it is, so only the counts change and they may be added at any time.
   */
  pushRepeats(count: number): void {
    if (count <= 0) return;
    this.counted += count;
    this.hist[1]! += count;
  }

  /** Hits of an LRU cache of `capacity` pages over the counted references. */
  hitsAt(capacity: number): number {
    let hits = 0;
    const top = Math.min(capacity, this.hist.length - 1);
    for (let d = 1; d <= top; d++) hits += this.hist[d]!;
    return hits;
  }

  /** The stack-distance histogram: element d-1 counts distance d (first touches not included). */
  histogram(): Float64Array {
    let last = this.hist.length - 1;
    while (last > 0 && this.hist[last] === 0) last--;
    return this.hist.slice(1, last + 1);
  }

  /**
   * Markers strictly between positions `s` and `t` (`prefix(t − 1) − prefix(s)`), walking both
   * Fenwick chains down until they meet: the common part cancels, so a short reuse distance (the
   * common case) costs a few steps instead of two full prefix sums.
   */
  private between(s: number, t: number): number {
    const tree = this.tree;
    let a = t; // 1-based index of position t − 1
    let b = s + 1; // 1-based index of position s
    let sum = 0;
    while (a !== b) {
      if (a > b) {
        sum += tree[a]!;
        a -= a & -a;
      } else {
        sum -= tree[b]!;
        b -= b & -b;
      }
    }
    return sum;
  }

  /**
   * Moves a marker from position `s` to position `t` (> s): `add(s, −1)` and `add(t, +1)`, walking
   * both chains up only until they meet (above that the two changes cancel).
   */
  private move(s: number, t: number): void {
    const tree = this.tree;
    const n = this.window;
    let a = s + 1;
    let b = t + 1;
    while (a !== b) {
      if (a < b) {
        if (a > n) break;
        tree[a]!--;
        a += a & -a;
      } else {
        if (b > n) break;
        tree[b]!++;
        b += b & -b;
      }
    }
  }

  private add(i: number, v: number): void {
    const tree = this.tree;
    const n = this.window;
    for (let j = i + 1; j <= n; j += j & -j) tree[j]! += v;
  }

  /** Renumbers the live markers to 0..D-1 (order kept) and doubles the window if it is half full. */
  private compact(): void {
    const live = this.distinct;
    const window = live * 2 > this.window ? this.window * 2 : this.window;
    const owner = new Int32Array(window).fill(-1);
    let j = 0;
    for (let i = 0; i < this.t; i++) {
      const id = this.owner[i]!;
      if (id >= 0) {
        owner[j] = id;
        this.lastPos[id] = j;
        j++;
      }
    }
    const tree = new Int32Array(window + 1);
    for (let i = 1; i <= j; i++) {
      tree[i]! += 1;
      const parent = i + (i & -i);
      if (parent <= window) tree[parent]! += tree[i]!;
    }
    // Positions j..window hold no marker but their Fenwick nodes may cover earlier ones.
    for (let i = j + 1; i <= window; i++) {
      const parent = i + (i & -i);
      if (parent <= window) tree[parent]! += tree[i]!;
    }
    this.owner = owner;
    this.tree = tree;
    this.window = window;
    this.t = j;
  }
}

function grow32(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function growF64(a: Float64Array, min: number): Float64Array {
  let n = a.length * 2;
  while (n < min) n *= 2;
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

function checkSizes(sizes: unknown): readonly number[] {
  const list = typeof sizes === 'number' ? [sizes] : sizes;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidArgumentError(
      'lruMissRatioCurve sizes',
      sizes,
      'a number of pages or a non-empty array',
    );
  }
  for (const c of list) checkCapacity('lruMissRatioCurve size', c);
  return list;
}

function checkWarmup(warmup: unknown): number {
  if (warmup === undefined) return 0;
  if (typeof warmup !== 'number' || !Number.isSafeInteger(warmup) || warmup < 0) {
    throw new InvalidArgumentError('lruMissRatioCurve warmup', warmup, 'a non-negative integer');
  }
  return warmup;
}

function results(counter: StackDistanceCounter, sizes: readonly number[]): ReplayResult[] {
  return sizes.map((capacity) => {
    const hits = counter.hitsAt(capacity);
    const misses = counter.counted - hits;
    return {
      policy: 'lru',
      capacity,
      accesses: counter.counted,
      hits,
      misses,
      missRatio: counter.counted > 0 ? misses / counter.counted : 0,
    };
  });
}

/** Options of {@link lruMissRatioCurve}. */
export interface MissRatioCurveOptions {
  /** References replayed before counting starts (default 0). */
  readonly warmup?: number;
}

/**
 * Exact LRU results at every size in `sizes`, from one pass over `trace`; identical to
 * `replay(trace, { policy: 'lru', capacities: sizes })`.
 * @throws InvalidArgumentError for bad sizes or keys; TraceFormatError from a reader.
 */
export async function lruMissRatioCurve(
  trace: TraceSource,
  sizes: number | readonly number[],
  options: MissRatioCurveOptions = {},
): Promise<ReplayResult[]> {
  const list = checkSizes(sizes);
  const warmup = checkWarmup(options.warmup);
  const counter = new StackDistanceCounter();
  let position = 0;
  await forEachBatch(trace, (keys, length) => {
    for (let i = 0; i < length; i++) counter.push(keys[i]!, position++ >= warmup);
  });
  return results(counter, list);
}

/** {@link lruMissRatioCurve} for a trace in memory, synchronously. */
export function lruMissRatioCurveSync(
  trace: ArrayLike<number>,
  sizes: number | readonly number[],
  options: MissRatioCurveOptions = {},
): ReplayResult[] {
  const list = checkSizes(sizes);
  const warmup = checkWarmup(options.warmup);
  checkKeys(trace);
  const counter = new StackDistanceCounter();
  for (let i = 0; i < trace.length; i++) counter.push(trace[i]!, i >= warmup);
  return results(counter, list);
}
