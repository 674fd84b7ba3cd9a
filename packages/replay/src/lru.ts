/**
 * Exact LRU: a hit moves the page to the most-recently-used end; evict the least recently used.
 * libCacheSim `LRU.c`: insert at the head, a hit moves to the head, evict the tail.
 */
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { KeyIndex } from './key-index.js';
import { NodePool } from './node-pool.js';
import type { PolicyState, ReplacementPolicy } from './policy.js';

const Q = 0;

/** Exact LRU replacement. Create with {@link createLruPolicy}. */
export class LruPolicy implements ReplacementPolicy {
  readonly name = 'lru';
  private readonly pool: NodePool;
  private readonly index: KeyIndex;

  constructor(readonly capacity: number) {
    checkCapacity('lru capacity', capacity);
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
    const pool = this.pool;
    const n = this.index.get(key);
    if (n >= 0) {
      if (pool.newest[Q] !== n) {
        pool.unlink(n);
        pool.pushNewest(Q, n);
      }
      return true;
    }
    if (pool.length[Q] === this.capacity) this.evictOldest();
    this.load(key);
    return false;
  }

  insert(key: number): number {
    checkInsert(this, key);
    this.load(key);
    return -1;
  }

  referenced(key: number): boolean {
    checkKey('lru.referenced key', key);
    const n = this.index.get(key);
    if (n < 0) return false;
    this.pool.moveToNewest(Q, n);
    return true;
  }

  remove(key: number): boolean {
    checkKey('lru.remove key', key);
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
      lists: { lru: resident },
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

/** Exact LRU with room for `capacity` pages. @throws InvalidArgumentError for a bad capacity. */
export function createLruPolicy(capacity: number): LruPolicy {
  return new LruPolicy(capacity);
}
