/**
 * OPT (Belady's MIN): evict the resident page whose next use is farthest in the future; pages
 * never used again are infinitely far (among several, the smallest key goes first — which one
 * does not change the miss count). The incoming page is always loaded, even if it is never used
 * again. libCacheSim `Belady.c` does the same with a priority queue on `next_access_vtime`.
 *
 * OPT needs the future: it is built on the next-use array of the exact trace it replays
 * ({@link computeNextUse}), and each `access`, `insert` or `referenced` call consumes one trace
 * position. It is meaningful only in offline replay. O(log n) per access.
 */
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { IndexedHeap } from './indexed-heap.js';
import { KeyIndex } from './key-index.js';
import type { PolicyState, ReplacementPolicy } from './policy.js';

/** OPT replacement. Create with {@link createOptPolicy}. */
export class OptPolicy implements ReplacementPolicy {
  readonly name = 'opt';
  private readonly index: KeyIndex;
  private readonly heap: IndexedHeap;
  private readonly keys: Float64Array;
  private readonly freeNodes: Int32Array;
  private freeCount = 0;
  /** The trace position of the next reference. */
  private t = 0;

  /**
   * @param nextUse for every trace position i, the position of the next reference to the same
   *   key, or `Infinity`. Positions past its end are treated as never used again.
   */
  constructor(
    readonly capacity: number,
    private readonly nextUse: Float64Array,
  ) {
    checkCapacity('opt capacity', capacity);
    this.index = new KeyIndex(capacity);
    this.heap = new IndexedHeap(capacity);
    this.keys = new Float64Array(capacity);
    this.freeNodes = new Int32Array(capacity);
    this.reset();
  }

  get size(): number {
    return this.heap.size;
  }

  /** The trace position the next reference is taken to be at. */
  get position(): number {
    return this.t;
  }

  has(key: number): boolean {
    return this.index.get(key) >= 0;
  }

  access(key: number): boolean {
    const next = this.next();
    const n = this.index.get(key);
    if (n >= 0) {
      this.heap.primary[n] = -next;
      this.heap.update(n);
      return true;
    }
    if (this.heap.size === this.capacity) this.evict();
    this.load(key, next);
    return false;
  }

  insert(key: number): number {
    checkInsert(this, key);
    this.load(key, this.next());
    return -1;
  }

  referenced(key: number): boolean {
    checkKey('opt.referenced key', key);
    const n = this.index.get(key);
    if (n < 0) return false;
    this.heap.primary[n] = -this.next();
    this.heap.update(n);
    return true;
  }

  remove(key: number): boolean {
    checkKey('opt.remove key', key);
    const n = this.index.delete(key);
    if (n < 0) return false;
    this.heap.remove(n);
    this.freeNodes[this.freeCount++] = n;
    return true;
  }

  selectVictim(): number {
    return this.heap.size === 0 ? -1 : this.evict();
  }

  state(): PolicyState {
    const order = this.heap
      .nodes()
      .sort((a, b) => this.heap.primary[a]! - this.heap.primary[b]! || this.keys[a]! - this.keys[b]!);
    const values: Record<string, number> = { position: this.t };
    for (const n of order) values[`nextUse:${this.keys[n]}`] = -this.heap.primary[n]!;
    return {
      name: this.name,
      capacity: this.capacity,
      size: this.size,
      resident: order.map((n) => this.keys[n]!),
      hand: -1,
      referenced: [],
      lists: {},
      values,
    };
  }

  /** Empties the cache and rewinds to trace position 0. */
  reset(): void {
    this.index.clear();
    this.heap.clear();
    this.freeCount = this.capacity;
    for (let i = 0; i < this.capacity; i++) this.freeNodes[i] = this.capacity - 1 - i;
    this.t = 0;
  }

  private next(): number {
    const t = this.t++;
    return t < this.nextUse.length ? this.nextUse[t]! : Number.POSITIVE_INFINITY;
  }

  private load(key: number, next: number): void {
    const n = this.freeNodes[--this.freeCount]!;
    this.keys[n] = key;
    this.heap.primary[n] = -next;
    this.heap.secondary[n] = key;
    this.heap.push(n);
    this.index.set(key, n);
  }

  private evict(): number {
    const n = this.heap.peek();
    const key = this.keys[n]!;
    this.heap.remove(n);
    this.index.delete(key);
    this.freeNodes[this.freeCount++] = n;
    return key;
  }
}

/**
 * OPT with room for `capacity` pages over a trace whose next-use array is `nextUse`
 * (see {@link computeNextUse}).
 * @throws InvalidArgumentError for a bad capacity.
 */
export function createOptPolicy(capacity: number, nextUse: Float64Array): OptPolicy {
  return new OptPolicy(capacity, nextUse);
}
