/**
 * Specialised replay loops for LFU and OPT over compact ids (see `fast-replay.ts`): typed arrays
 * indexed by id, no hashing, no call and no allocation per reference.
 *
 * - LFU: O(1) per reference with frequency buckets (Shah, Mitra & Matani, "An O(1) algorithm for
 *   implementing the LFU cache eviction scheme", 2010): a list of buckets in increasing count,
 *   each holding its pages in order of last reference — libCacheSim `LFU.c`'s lists, and the
 *   order `lfu.ts`'s heap gives (count, then time of last reference).
 * - OPT: a binary max-heap of resident ids on their next-use position, with each id's heap slot
 *   kept so a hit (whose next use can only grow) sifts down in place.
 *
 * The generic objects (`lfu.ts`, `opt.ts`) stay the reference; `fast-lfu-opt.test.ts` compares
 * them hit by hit on random traces and shows the comparison catches a planted bug.
 */
import type { Replayer, RunReplayer } from './fast-replay.js';

/** LFU exactly as `lfu.ts`: counts kept while resident, ties by the oldest last reference. */
export class LfuReplayer implements Replayer {
  readonly policy = 'lfu';
  /** The bucket holding each id, or -1 when it is not resident. */
  private readonly bucketOf: Int32Array;
  /** Each bucket's pages, oldest last reference first (`older`/`newer`, -1 at the ends). */
  private readonly older: Int32Array;
  private readonly newer: Int32Array;
  /** Buckets: count, first and last page, neighbours (sentinel `sentinel`, increasing count). */
  private readonly count: Int32Array;
  private readonly first: Int32Array;
  private readonly last: Int32Array;
  private readonly lower: Int32Array;
  private readonly higher: Int32Array;
  private readonly freeBuckets: Int32Array;
  private readonly sentinel: number;
  private freeCount: number;
  private size = 0;

  constructor(
    readonly capacity: number,
    distinct: number,
  ) {
    this.bucketOf = new Int32Array(distinct).fill(-1);
    this.older = new Int32Array(distinct);
    this.newer = new Int32Array(distinct);
    // At most one bucket per resident page, plus one made for a hit before its old one empties.
    const buckets = Math.min(capacity, distinct) + 1;
    this.count = new Int32Array(buckets + 1);
    this.first = new Int32Array(buckets + 1);
    this.last = new Int32Array(buckets + 1);
    this.lower = new Int32Array(buckets + 1);
    this.higher = new Int32Array(buckets + 1);
    this.sentinel = buckets;
    this.lower[buckets] = buckets;
    this.higher[buckets] = buckets;
    this.freeBuckets = new Int32Array(buckets);
    for (let b = 0; b < buckets; b++) this.freeBuckets[b] = buckets - 1 - b;
    this.freeCount = buckets;
  }

  run(ids: Int32Array, start: number, end: number): number {
    const bucketOf = this.bucketOf;
    const older = this.older;
    const newer = this.newer;
    const count = this.count;
    const first = this.first;
    const last = this.last;
    const lower = this.lower;
    const higher = this.higher;
    const freeBuckets = this.freeBuckets;
    const head = this.sentinel;
    const cap = this.capacity;
    let freeCount = this.freeCount;
    let size = this.size;
    let hits = 0;
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      const b = bucketOf[id]!;
      if (b >= 0) {
        hits++;
        const f = count[b]! + 1;
        let nb = higher[b]!;
        const o = older[id]!;
        const n = newer[id]!;
        if (o < 0 && n < 0) {
          // Alone in its bucket: the bucket itself takes the new count unless the next one has it.
          if (nb === head || count[nb] !== f) {
            count[b] = f;
            continue;
          }
          const lb = lower[b]!;
          higher[lb] = nb;
          lower[nb] = lb;
          freeBuckets[freeCount++] = b;
        } else {
          // Unlink from bucket b (which keeps other pages).
          if (o < 0) first[b] = n;
          else newer[o] = n;
          if (n < 0) last[b] = o;
          else older[n] = o;
          if (nb === head || count[nb] !== f) {
            const made = freeBuckets[--freeCount]!;
            count[made] = f;
            first[made] = -1;
            last[made] = -1;
            lower[made] = b;
            higher[made] = nb;
            higher[b] = made;
            lower[nb] = made;
            nb = made;
          }
        }
        // Append at the newest end of the bucket with count f.
        const t = last[nb]!;
        older[id] = t;
        newer[id] = -1;
        if (t < 0) first[nb] = id;
        else newer[t] = id;
        last[nb] = id;
        bucketOf[id] = nb;
        continue;
      }
      if (size === cap) {
        // Evict the oldest page of the smallest count.
        const vb = higher[head]!;
        const v = first[vb]!;
        const n = newer[v]!;
        bucketOf[v] = -1;
        if (n < 0) {
          const hb = higher[vb]!;
          higher[head] = hb;
          lower[hb] = head;
          freeBuckets[freeCount++] = vb;
        } else {
          first[vb] = n;
          older[n] = -1;
        }
      } else {
        size++;
      }
      // Load with count 1.
      let ob = higher[head]!;
      if (ob === head || count[ob] !== 1) {
        const made = freeBuckets[--freeCount]!;
        count[made] = 1;
        first[made] = -1;
        last[made] = -1;
        lower[made] = head;
        higher[made] = ob;
        higher[head] = made;
        lower[ob] = made;
        ob = made;
      }
      const t = last[ob]!;
      older[id] = t;
      newer[id] = -1;
      if (t < 0) first[ob] = id;
      else newer[t] = id;
      last[ob] = id;
      bucketOf[id] = ob;
    }
    this.freeCount = freeCount;
    this.size = size;
    return hits;
  }
}

/** Priority of a page never used again: above every position; among them the smallest id first. */
const NEVER = 2 ** 40;

/**
 * OPT exactly as `opt.ts` over ids: the victim is the resident id used farthest in the future;
 * among ids never used again (next use `Infinity`, or past the end of `nextUse`), the smallest.
 */
export class OptReplayer implements RunReplayer {
  readonly policy = 'opt';
  /** Heap slot of each id, or -1 when it is not resident. */
  private readonly slot: Int32Array;
  /** The resident ids, a max-heap on `due`. */
  private readonly heap: Int32Array;
  /** Each id's priority: its next-use position, or NEVER + (distinct − id). */
  private readonly due: Float64Array;
  private size = 0;
  /** The trace position of the next reference. */
  private t = 0;
  /** `runNextOf`'s last result and the runs array it was computed for. */
  private runNext: Int32Array | undefined;
  private runsSeen: Int32Array | undefined;

  constructor(
    readonly capacity: number,
    private readonly distinct: number,
    /** Next uses of the ids, or how to compute them (only `run` needs them, not `runMisses`). */
    private nextUse: Float64Array | (() => Float64Array),
  ) {
    this.slot = new Int32Array(distinct).fill(-1);
    this.heap = new Int32Array(Math.min(capacity, distinct));
    this.due = new Float64Array(distinct);
  }

  /**
   * Puts page `id` with next use `d` at heap index `k` of a heap of `size` and moves it to its
   * place: up (`up`: a new leaf, or a hit whose next use is later) or down (the root's
   * replacement). Ties between pages never used again: the smaller id is nearer the root.
   */
  private place(size: number, k: number, id: number, d: number, up: boolean): void {
    const { heap, slot, due } = this;
    if (up) {
      while (k > 0) {
        const parent = (k - 1) >> 1;
        const pid = heap[parent]!;
        if (due[pid]! > d || (due[pid] === d && pid < id)) break;
        heap[k] = pid;
        slot[pid] = k;
        k = parent;
      }
    } else {
      for (;;) {
        const l = 2 * k + 1;
        if (l >= size) break;
        let c = l;
        let cd = due[heap[l]!]!;
        if (l + 1 < size) {
          const rd = due[heap[l + 1]!]!;
          if (rd > cd) {
            c = l + 1;
            cd = rd;
          }
        }
        if (cd <= d) break;
        const cid = heap[c]!;
        heap[k] = cid;
        slot[cid] = k;
        k = c;
      }
    }
    heap[k] = id;
    slot[id] = k;
  }

  run(ids: Int32Array, start: number, end: number): number {
    const slot = this.slot;
    const heap = this.heap;
    const due = this.due;
    if (typeof this.nextUse === 'function') this.nextUse = this.nextUse();
    const nextUse = this.nextUse;
    const known = nextUse.length;
    const never = NEVER + this.distinct;
    const cap = this.capacity;
    let size = this.size;
    let t = this.t;
    let hits = 0;
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      const next = t < known ? nextUse[t]! : Number.POSITIVE_INFINITY;
      t++;
      const d = next === Number.POSITIVE_INFINITY ? never - id : next;
      let k = slot[id]!;
      let up = true;
      if (k >= 0) {
        hits++;
        // Its priority was the current position; the next use is later, so it rises (for a
        // next-use array that does not match the trace it may fall: then it sinks).
        up = d >= due[id]!;
        due[id] = d;
      } else if (size < cap) {
        // Room left: a new leaf rises.
        due[id] = d;
        k = size++;
      } else {
        // Full: the root (farthest next use) leaves, the new page takes its slot and sinks.
        slot[heap[0]!] = -1;
        due[id] = d;
        k = 0;
        up = false;
      }
      this.place(size, k, id, d, up);
    }
    this.size = size;
    this.t = t;
    return hits;
  }

  /**
   * OPT over runs: a run's repeats are hits that only move the page's next use to that of the
   * run's last reference, with no decision in between; and positions map to run indices in the
   * same order (two resident pages' next references are in different runs). So OPT over runs is
   * OPT over the collapsed ids with run indices as positions: each run's next use is the index of
   * the next run of its page (`runNextOf`), and run index `i` is the position (a replayer replays
   * either ids or runs, not both).
   */
  runMisses(runs: Int32Array, start: number, end: number): number {
    const slot = this.slot;
    const heap = this.heap;
    const due = this.due;
    const runNext = this.runNextOf(runs);
    const never = NEVER + this.distinct;
    const cap = this.capacity;
    let size = this.size;
    let misses = 0;
    for (let i = start; i < end; i++) {
      const v = runs[i]!;
      const id = v ^ (v >> 31);
      const next = runNext[i]!;
      const d = next < 0 ? never - id : next;
      let k = slot[id]!;
      let up = true;
      if (k >= 0) {
        // Its priority was the current position; the next use is later, so it rises (for a
        // next-use array that does not match the trace it may fall: then it sinks).
        up = d >= due[id]!;
        due[id] = d;
      } else if (size < cap) {
        misses++;
        // Room left: a new leaf rises.
        due[id] = d;
        k = size++;
      } else {
        misses++;
        // Full: the root (farthest next use) leaves, the new page takes its slot and sinks.
        slot[heap[0]!] = -1;
        due[id] = d;
        k = 0;
        up = false;
      }
      this.place(size, k, id, d, up);
    }
    this.size = size;
    return misses;
  }

  /** Next-use run index of every run (-1: never again), computed once per runs array. */
  private runNextOf(runs: Int32Array): Int32Array {
    if (this.runNext !== undefined && this.runsSeen === runs) return this.runNext;
    const last = new Int32Array(this.distinct).fill(-1);
    const next = new Int32Array(runs.length);
    for (let r = runs.length - 1; r >= 0; r--) {
      const v = runs[r]!;
      const id = v ^ (v >> 31);
      next[r] = last[id]!;
      last[id] = r;
    }
    this.runNext = next;
    this.runsSeen = runs;
    return next;
  }
}
