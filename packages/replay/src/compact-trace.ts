/**
 * A trace in memory as dense ids: each distinct page key gets an id 0, 1, 2, … in order of first
 * reference, and the trace becomes an `Int32Array` of ids. Replaying ids instead of keys gives the
 * same hits and misses for every policy (the renaming is a bijection), and lets the fast replay
 * loops index typed arrays by id instead of hashing a 53-bit key per reference.
 *
 * Building one costs one hash lookup per reference (an open-addressing table of Float64 keys,
 * `KeyIndex`'s hash) and validates every key on first sight: a key that equals a known one is
 * known to be valid, and NaN never equals anything, so it reaches the check too. Memory: 4 bytes
 * per reference plus 8 per distinct key (and, while building, a hash table of ≤ 24 bytes per
 * distinct key). With `shared: true` the ids live in a `SharedArrayBuffer`, so worker threads
 * read them without a copy.
 *
 * Runs: the builder also records the trace with consecutive repeats of one page collapsed (4 more
 * bytes per run, `runs`). A run is one id and how many times in a row it is
 * referenced; `runs[r]` is the id if the run has one reference and `~id` (negative) if it has two or
 * more. For FIFO, CLOCK, LRU and SIEVE a repeat of the page just referenced is a hit that leaves the
 * policy's state exactly as the repeat's first reference left it, except CLOCK's and SIEVE's bit
 * (set by the first repeat): so those policies replay runs, one step per run, and the 1-bit flag
 * carries what the repeats do (`fast-replay.ts`). ARC too: its second reference moves the page to
 * T2's newest end, later ones change nothing, so the flag carries that move; and OPT, with run
 * indices as positions (`fast-lfu-opt.ts`). Other policies (LFU counts every reference, 2Q caches
 * nothing below 4 pages) replay `ids`.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { forEachBatch, type TraceSource } from './trace-source.js';

/** A trace as dense ids; see the module documentation. */
export interface CompactTrace {
  /** `ids[i]` is the id of reference i (`0 ≤ id < distinct`); exactly `length` elements. */
  readonly ids: Int32Array;
  /** Number of references. */
  readonly length: number;
  /** Number of distinct keys (ids are `0 … distinct − 1`). */
  readonly distinct: number;
  /** `keys[id]`: the page key of an id (`distinct` elements). */
  readonly keys: Float64Array;
  /**
   * The trace with consecutive repeats collapsed (see the module documentation), exactly one
   * element per run: `runs[r]` is the id of run r if it has one reference, `~id` if it has two or
   * more; two consecutive runs never have the same id. Absent on a trace built by hand (replay
   * then uses `ids`).
   */
  readonly runs?: Int32Array;
}

/** Options of {@link compactTrace} and {@link CompactTraceBuilder}. */
export interface CompactTraceOptions {
  /** Put the ids in a `SharedArrayBuffer` (for worker threads). Default false. */
  readonly shared?: boolean;
}

/** Largest trace a compact trace holds (Int32Array ids, typed-array indices). */
export const MAX_COMPACT_REFERENCES = 2 ** 31 - 1;
const TWO_POW_MINUS_32 = 2.3283064365386963e-10; // exact: multiplying by 2^-32 = dividing by 2^32

function newIds(length: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(length * 4)) : new Int32Array(length);
}

/**
 * Builds a {@link CompactTrace} from batches of keys (what the readers yield). Not reusable after
 * {@link CompactTraceBuilder.finish}.
 */
export class CompactTraceBuilder {
  private tableKeys: Float64Array;
  private tableIds: Int32Array;
  private mask: number;
  private distinctKeys: Float64Array;
  private count = 0;
  private ids: Int32Array;
  private position = 0;
  private runs: Int32Array;
  private runCount = 0;
  /** The key and id of the last reference pushed (NaN before the first), so runs span batches. */
  private lastKey = Number.NaN;
  private lastId = 0;
  private readonly shared: boolean;

  /**
   * @param expectedLength references to make room for at once (the array grows as needed)
   */
  constructor(options: CompactTraceOptions = {}, expectedLength = 65536) {
    this.shared = options.shared === true;
    // The table grows with the distinct keys, not the trace: a small table stays in the cache.
    const size = 1024;
    this.tableKeys = new Float64Array(size).fill(-1);
    this.tableIds = new Int32Array(size);
    this.mask = size - 1;
    this.distinctKeys = new Float64Array(size >>> 1);
    this.ids = newIds(Math.max(16, expectedLength), this.shared);
    this.runs = newIds(Math.max(16, expectedLength), this.shared);
  }

  /** References pushed so far. */
  get length(): number {
    return this.position;
  }

  /**
   * Appends `keys[0 … length)`.
   * @throws InvalidArgumentError naming the trace position of the first key that is not a
   *   non-negative safe integer (the references before it are kept); or if the trace would exceed
   *   {@link MAX_COMPACT_REFERENCES}.
   */
  push(keys: ArrayLike<number>, length: number = keys.length): void {
    const end = this.position + length;
    if (end > MAX_COMPACT_REFERENCES) {
      throw new InvalidArgumentError('trace length', end, `at most ${MAX_COMPACT_REFERENCES} references`);
    }
    if (end > this.ids.length) {
      let n = this.ids.length * 2;
      while (n < end) n *= 2;
      const grown = newIds(Math.min(n, MAX_COMPACT_REFERENCES), this.shared);
      grown.set(this.ids.subarray(0, this.position));
      this.ids = grown;
    }
    const ids = this.ids;
    let tk = this.tableKeys;
    let tv = this.tableIds;
    let mask = this.mask;
    let p = this.position;
    let runs = this.runs;
    let r = this.runCount;
    // A run of references to one page (common in real traces: instruction fetches, sequential
    // data) needs no lookup. NaN never equals a key, so the first reference always looks up.
    let lastKey = this.lastKey;
    let lastId = this.lastId;
    for (let i = 0; i < length; i++, p++) {
      const key = keys[i]!;
      if (key === lastKey) {
        ids[p] = lastId;
        runs[r - 1] = ~lastId; // the run has two or more references
        continue;
      }
      // KeyIndex's hash: mix the low 32 bits with the bits above them.
      let h = Math.imul((key >>> 0) ^ Math.imul((key * TWO_POW_MINUS_32) >>> 0, 0x27d4eb2d), 0x9e3779b1);
      h ^= h >>> 15;
      let j = h & mask;
      for (;;) {
        const k = tk[j]!;
        // The empty marker first: a key of -1 must not match it.
        if (k === -1) {
          // Everything before reference p is recorded (a bad key throws here and keeps it).
          this.position = p;
          this.runCount = r;
          this.lastKey = lastKey;
          this.lastId = lastId;
          lastId = this.add(key, j);
          tk = this.tableKeys;
          tv = this.tableIds;
          mask = this.mask;
          break;
        }
        if (k === key) {
          lastId = tv[j]!;
          break;
        }
        j = (j + 1) & mask;
      }
      lastKey = key;
      ids[p] = lastId;
      if (r === runs.length) {
        this.runCount = r;
        this.growRuns();
        runs = this.runs;
      }
      runs[r++] = lastId;
    }
    this.position = p;
    this.runCount = r;
    this.lastKey = lastKey;
    this.lastId = lastId;
  }

  private growRuns(): void {
    const n = Math.min(this.runs.length * 2, MAX_COMPACT_REFERENCES);
    const runs = newIds(n, this.shared);
    runs.set(this.runs.subarray(0, this.runCount));
    this.runs = runs;
  }

  /** A new key at free slot `j` (kept out of the hot loop): checks it, numbers it, grows. */
  private add(key: number, j: number): number {
    if (typeof key !== 'number' || !(key >= 0 && key <= Number.MAX_SAFE_INTEGER && Math.floor(key) === key)) {
      throw new InvalidArgumentError(
        `trace[${this.position}]`,
        key,
        'a page number: a non-negative safe integer',
      );
    }
    const id = this.count++;
    this.tableKeys[j] = key;
    this.tableIds[j] = id;
    if (id === this.distinctKeys.length) {
      const grown = new Float64Array(id * 2);
      grown.set(this.distinctKeys);
      this.distinctKeys = grown;
    }
    this.distinctKeys[id] = key;
    if (this.count * 2 > this.tableKeys.length) this.grow();
    return id;
  }

  /** The compact trace of everything pushed (its arrays are trimmed copies when needed). */
  finish(): CompactTrace {
    const length = this.position;
    let ids = this.ids;
    if (ids.length !== length) {
      const exact = newIds(length, this.shared);
      exact.set(ids.subarray(0, length));
      ids = exact;
    }
    const runCount = this.runCount;
    let runs = this.runs;
    if (runs.length !== runCount) {
      runs = newIds(runCount, this.shared);
      runs.set(this.runs.subarray(0, runCount));
    }
    return { ids, length, distinct: this.count, keys: this.distinctKeys.slice(0, this.count), runs };
  }

  private grow(): void {
    const oldKeys = this.tableKeys;
    const oldIds = this.tableIds;
    const size = oldKeys.length * 2;
    const tk = new Float64Array(size).fill(-1);
    const tv = new Int32Array(size);
    const mask = size - 1;
    for (let i = 0; i < oldKeys.length; i++) {
      const key = oldKeys[i]!;
      if (key === -1) continue;
      let h = Math.imul((key >>> 0) ^ Math.imul((key * TWO_POW_MINUS_32) >>> 0, 0x27d4eb2d), 0x9e3779b1);
      h ^= h >>> 15;
      let j = h & mask;
      while (tk[j] !== -1) j = (j + 1) & mask;
      tk[j] = key;
      tv[j] = oldIds[i]!;
    }
    this.tableKeys = tk;
    this.tableIds = tv;
    this.mask = mask;
  }
}

/**
 * The compact form of an in-memory trace.
 * @throws InvalidArgumentError naming the first position whose key is not a non-negative safe
 *   integer, or if `keys` is not an array-like of numbers.
 */
export function compactTrace(keys: ArrayLike<number>, options: CompactTraceOptions = {}): CompactTrace {
  if (keys === null || typeof keys !== 'object' || typeof keys.length !== 'number') {
    throw new InvalidArgumentError('trace', keys, 'an array or typed array of page numbers');
  }
  const builder = new CompactTraceBuilder(options, keys.length);
  builder.push(keys, keys.length);
  return builder.finish();
}

/**
 * Reads a whole trace (an array, an iterable or a reader) into a {@link CompactTrace}.
 * @throws InvalidArgumentError for a bad key; TraceFormatError from a reader.
 */
export async function loadCompactTrace(
  source: TraceSource,
  options: CompactTraceOptions = {},
): Promise<CompactTrace> {
  const builder = new CompactTraceBuilder(options);
  await forEachBatch(source, (keys, length) => builder.push(keys, length));
  return builder.finish();
}
