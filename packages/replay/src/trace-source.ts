/**
 * What a replay reads: an in-memory array of page keys, any iterable of keys, or a stream of
 * batches (what the readers produce). Batches are reused: a consumer must copy what it wants to
 * keep before asking for the next one.
 */
import { InvalidArgumentError } from '@mmkit/core';

/**
 * Access kinds a reader can attach to its keys ({@link TraceBatch.kinds}), with `@mmkit/core`'s
 * `AccessKind` numbering: 0 = read (lackey `L`), 1 = write (lackey `S` and `M`), 2 = instruction
 * fetch (lackey `I`).
 */
export const TRACE_ACCESS_KINDS = ['read', 'write', 'fetch'] as const;

/** A batch of page keys: `keys[0..length)` are valid. The reader reuses the object and its array. */
export interface TraceBatch {
  readonly keys: Float64Array;
  readonly length: number;
  /**
   * The access kind of each key (`kinds[i]` for `keys[i]`, numbered as {@link TRACE_ACCESS_KINDS}),
   * when the reader was asked for them (lackey's `accessKinds`); undefined otherwise. Reused too.
   */
  readonly kinds?: Uint8Array;
}

/**
 * A trace: an array (or typed array) of keys, an iterable of keys, or an async iterable of
 * batches. A source that is replayed twice (OPT's two passes) must be iterable twice: arrays and
 * the readers of this package are.
 */
export type TraceSource = ArrayLike<number> | Iterable<number> | AsyncIterable<TraceBatch>;

const BATCH = 65536;

/** True if `value` is a valid page key. */
function validKey(k: number): boolean {
  return k >= 0 && k <= Number.MAX_SAFE_INTEGER && Math.floor(k) === k;
}

/**
 * Checks every key of an in-memory trace (one pass; done once before replaying it).
 * @throws InvalidArgumentError naming the first bad position and value.
 */
export function checkKeys(keys: ArrayLike<number>): void {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (typeof k !== 'number' || !validKey(k)) {
      throw new InvalidArgumentError(`trace[${i}]`, k, 'a page number: a non-negative safe integer');
    }
  }
}

function isArrayLike(value: unknown): value is ArrayLike<number> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/**
 * Calls `fn` for each batch of `trace` in order (`keys[0..length)`).
 * @throws InvalidArgumentError for a source of the wrong type or a bad key in an in-memory
 *   trace; TraceFormatError from a reader.
 */
export async function forEachBatch(
  trace: TraceSource,
  fn: (keys: ArrayLike<number>, length: number) => void,
): Promise<void> {
  if (isArrayLike(trace)) {
    checkKeys(trace);
    fn(trace, trace.length);
    return;
  }
  if (trace !== null && typeof trace === 'object' && Symbol.asyncIterator in trace) {
    for await (const batch of trace as AsyncIterable<TraceBatch>) fn(batch.keys, batch.length);
    return;
  }
  if (trace !== null && typeof trace === 'object' && Symbol.iterator in trace) {
    const buffer = new Float64Array(BATCH);
    let n = 0;
    let position = 0;
    for (const k of trace as Iterable<number>) {
      if (typeof k !== 'number' || !validKey(k)) {
        throw new InvalidArgumentError(`trace[${position}]`, k, 'a page number: a non-negative safe integer');
      }
      position++;
      buffer[n++] = k;
      if (n === BATCH) {
        fn(buffer, n);
        n = 0;
      }
    }
    if (n > 0) fn(buffer, n);
    return;
  }
  throw new InvalidArgumentError(
    'trace',
    trace,
    'an array of page numbers, an iterable of them, or an async iterable of batches (a trace reader)',
  );
}
