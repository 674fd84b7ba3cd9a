/**
 * FIFO: evict the page loaded longest ago; hits change nothing. libCacheSim `FIFO.c`: insert at
 * the queue head, evict the tail.
 */
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { KeyIndex } from './key-index.js';
import { NodePool } from './node-pool.js';
import type { PolicyState, ReplacementPolicy } from './policy.js';

const Q = 0;

/** FIFO replacement. Create with {@link createFifoPolicy}. */
export class FifoPolicy implements ReplacementPolicy {
  readonly name = 'fifo';
  private readonly pool: NodePool;
  private readonly index: KeyIndex;

  constructor(readonly capacity: number) {
    checkCapacity('fifo capacity', capacity);
    this.pool = new NodePool(capacity, 1);
    this.index = new KeyIndex(capacity);
  }

  get size(): number {
    return this.pool.length[Q]!;
  }

  has(key: number): boolean {
    return this.index.get(key) >= 0;
  }

  access(key: number): boolean {
    if (this.index.get(key) >= 0) return true;
    if (this.pool.length[Q] === this.capacity) this.evictOldest();
    this.load(key);
    return false;
  }

  insert(key: number): number {
    checkInsert(this, key);
    this.load(key);
    return -1;
  }

  referenced(key: number): boolean {
    checkKey('fifo.referenced key', key);
    return this.index.get(key) >= 0;
  }

  remove(key: number): boolean {
    checkKey('fifo.remove key', key);
    const n = this.index.delete(key);
    if (n < 0) return false;
    this.pool.unlink(n);
    this.pool.free(n);
    return true;
  }

  selectVictim(): number {
    return this.pool.length[Q] === 0 ? -1 : this.evictOldest();
  }

  state(): PolicyState {
    const resident = this.pool.keysOf(Q);
    return {
      name: this.name,
      capacity: this.capacity,
      size: this.size,
      resident,
      hand: -1,
      referenced: [],
      lists: { queue: resident },
      values: {},
    };
  }

  reset(): void {
    this.pool.clear();
    this.index.clear();
  }

  private load(key: number): void {
    const n = this.pool.alloc(key);
    this.pool.pushNewest(Q, n);
    this.index.set(key, n);
  }

  private evictOldest(): number {
    const pool = this.pool;
    const n = pool.oldest[Q]!;
    const key = pool.key[n]!;
    pool.unlink(n);
    pool.free(n);
    this.index.delete(key);
    return key;
  }
}

/** FIFO with room for `capacity` pages. @throws InvalidArgumentError for a bad capacity. */
export function createFifoPolicy(capacity: number): FifoPolicy {
  return new FifoPolicy(capacity);
}
