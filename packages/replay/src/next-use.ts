/**
 * OPT's first pass: for every position of a trace, the position of the next reference to the same
 * key (or `Infinity`). Memory: one Float64 (8 bytes) per access, plus a hash map over the distinct
 * keys; the array grows by doubling while a stream is read.
 */
import { KeyIndex } from './key-index.js';
import { forEachBatch, type TraceSource } from './trace-source.js';

/** Builds next-use arrays incrementally (one `push` per reference). */
export class NextUseBuilder {
  private next = new Float64Array(1024);
  private count = 0;
  private readonly last = new KeyIndex(1024);

  /** Number of references pushed. */
  get length(): number {
    return this.count;
  }

  /** Records the reference at the next position. */
  push(key: number): void {
    if (this.count === this.next.length) {
      const bigger = new Float64Array(this.next.length * 2);
      bigger.set(this.next);
      this.next = bigger;
    }
    const t = this.count++;
    this.next[t] = Number.POSITIVE_INFINITY;
    const prev = this.last.get(key);
    if (prev >= 0) this.next[prev] = t;
    this.last.set(key, t);
  }

  /** The next-use array (a view of exactly `length` entries). */
  result(): Float64Array {
    return this.next.subarray(0, this.count);
  }
}

/** Next-use positions of an in-memory trace. */
export function computeNextUseSync(keys: ArrayLike<number>): Float64Array {
  const builder = new NextUseBuilder();
  for (let i = 0; i < keys.length; i++) builder.push(keys[i]!);
  return builder.result();
}

/**
 * Next-use positions of any trace source (one full pass over it).
 * @throws TraceFormatError from a reader.
 */
export async function computeNextUse(trace: TraceSource): Promise<Float64Array> {
  const builder = new NextUseBuilder();
  await forEachBatch(trace, (keys, length) => {
    for (let i = 0; i < length; i++) builder.push(keys[i]!);
  });
  return builder.result();
}
