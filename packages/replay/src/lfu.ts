/**
 * LFU with counts kept only while a page is resident: a loaded page has count 1, each hit adds 1,
 * an evicted page's count is forgotten, and there is no aging. The victim is the page with the
 * smallest count; among equal counts, the one whose last reference (load or hit) is oldest.
 * This is libCacheSim `LFU.c`'s order: one list per frequency, a page appended at the tail of its
 * new frequency's list on every reference, eviction from the head of the smallest frequency's list.
 * O(log n) per access (an indexed heap keyed by count, then time of last reference).
 */
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { IndexedHeap } from './indexed-heap.js';
import { KeyIndex } from './key-index.js';
import type { PolicyState, ReplacementPolicy } from './policy.js';

/** LFU replacement. Create with {@link createLfuPolicy}. */
export class LfuPolicy implements ReplacementPolicy {
  readonly name = 'lfu';
  private readonly index: KeyIndex;
  private readonly heap: IndexedHeap;
  private readonly keys: Float64Array;
  private readonly freeNodes: Int32Array;
  private freeCount: number;
  /** Reference clock (one tick per load or hit) ordering ties. */
  private time = 0;

  constructor(readonly capacity: number) {
    checkCapacity('lfu capacity', capacity);
    this.index = new KeyIndex(capacity);
    this.heap = new IndexedHeap(capacity);
    this.keys = new Float64Array(capacity);
    this.freeNodes = new Int32Array(capacity);
    this.freeCount = 0;
    this.reset();
  }

  get size(): number {
    return this.heap.size;
  }

  has(key: number): boolean {
    return this.index.get(key) >= 0;
  }

  access(key: number): boolean {
    const n = this.index.get(key);
    if (n >= 0) {
      this.hit(n);
      return true;
    }
    if (this.heap.size === this.capacity) this.evict();
    this.load(key);
    return false;
  }

  insert(key: number): number {
    checkInsert(this, key);
    this.load(key);
    return -1;
  }

  referenced(key: number): boolean {
    checkKey('lfu.referenced key', key);
    const n = this.index.get(key);
    if (n < 0) return false;
    this.hit(n);
    return true;
  }

  remove(key: number): boolean {
    checkKey('lfu.remove key', key);
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
      .sort(
        (a, b) =>
          this.heap.primary[a]! - this.heap.primary[b]! || this.heap.secondary[a]! - this.heap.secondary[b]!,
      );
    const values: Record<string, number> = {};
    for (const n of order) values[`count:${this.keys[n]}`] = this.heap.primary[n]!;
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

  reset(): void {
    this.index.clear();
    this.heap.clear();
    this.freeCount = this.capacity;
    for (let i = 0; i < this.capacity; i++) this.freeNodes[i] = this.capacity - 1 - i;
    this.time = 0;
  }

  private hit(n: number): void {
    this.heap.primary[n]! += 1;
    this.heap.secondary[n] = this.time++;
    this.heap.update(n);
  }

  private load(key: number): void {
    const n = this.freeNodes[--this.freeCount]!;
    this.keys[n] = key;
    this.heap.primary[n] = 1;
    this.heap.secondary[n] = this.time++;
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

/** LFU with room for `capacity` pages. @throws InvalidArgumentError for a bad capacity. */
export function createLfuPolicy(capacity: number): LfuPolicy {
  return new LfuPolicy(capacity);
}
