/**
 * SIEVE (Zhang et al., NSDI '24), as libCacheSim `Sieve.c` implements it: new pages enter at the
 * newest end with the visited bit clear; a hit sets the bit (pages never move on a hit). To
 * evict, the hand starts where it stopped last time (at the oldest page the first time, or after
 * it ran off the newest end): a visited page has its bit cleared and the hand moves one page
 * towards the newest end (wrapping to the oldest); the first unvisited page is evicted and the hand
 * stays at its newer neighbour. Removing the page under the hand moves the hand to its newer
 * neighbour.
 *
 * In a kernel "visited" is the policy's bit OR the hardware accessed bit (`isReferenced`).
 */
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { KeyIndex } from './key-index.js';
import { NodePool } from './node-pool.js';
import type { ClearReferenced, IsReferenced, PolicyState, ReplacementPolicy } from './policy.js';

const Q = 0;

/** SIEVE replacement. Create with {@link createSievePolicy}. */
export class SievePolicy implements ReplacementPolicy {
  readonly name = 'sieve';
  private readonly pool: NodePool;
  private readonly index: KeyIndex;
  private readonly visited: Uint8Array;
  /** Node the next eviction starts at; -1 = the oldest. */
  private hand = -1;

  constructor(readonly capacity: number) {
    checkCapacity('sieve capacity', capacity);
    this.pool = new NodePool(capacity, 1);
    this.index = new KeyIndex(capacity);
    this.visited = new Uint8Array(capacity);
  }

  get size(): number {
    return this.pool.length[Q]!;
  }

  has(key: number): boolean {
    return this.index.get(key) >= 0;
  }

  access(key: number): boolean {
    const n = this.index.get(key);
    if (n >= 0) {
      this.visited[n] = 1;
      return true;
    }
    if (this.pool.length[Q] === this.capacity) this.evict(null, null);
    this.load(key);
    return false;
  }

  insert(key: number): number {
    checkInsert(this, key);
    this.load(key);
    return -1;
  }

  referenced(key: number): boolean {
    checkKey('sieve.referenced key', key);
    const n = this.index.get(key);
    if (n < 0) return false;
    this.visited[n] = 1;
    return true;
  }

  remove(key: number): boolean {
    checkKey('sieve.remove key', key);
    const n = this.index.delete(key);
    if (n < 0) return false;
    if (this.hand === n) this.hand = this.pool.newer[n]!;
    this.pool.unlink(n);
    this.pool.free(n);
    return true;
  }

  selectVictim(isReferenced?: IsReferenced, clearReferenced?: ClearReferenced): number {
    if (this.pool.length[Q] === 0) return -1;
    return this.evict(isReferenced ?? null, clearReferenced ?? null);
  }

  state(): PolicyState {
    // `resident` starts at the hand and wraps, so resident[0] is the next page examined.
    const pool = this.pool;
    const order = pool.keysOf(Q);
    let start = 0;
    if (this.hand >= 0) start = order.indexOf(pool.key[this.hand]!);
    const resident = order.slice(start).concat(order.slice(0, start));
    const referenced: number[] = [];
    for (let n = pool.oldest[Q]!; n >= 0; n = pool.newer[n]!)
      if (this.visited[n]) referenced.push(pool.key[n]!);
    return {
      name: this.name,
      capacity: this.capacity,
      size: this.size,
      resident,
      hand: resident.length > 0 ? 0 : -1,
      referenced,
      lists: { queue: order },
      values: {},
    };
  }

  reset(): void {
    this.pool.clear();
    this.index.clear();
    this.visited.fill(0);
    this.hand = -1;
  }

  private load(key: number): void {
    const n = this.pool.alloc(key);
    this.visited[n] = 0;
    this.pool.pushNewest(Q, n);
    this.index.set(key, n);
  }

  private evict(isReferenced: IsReferenced | null, clearReferenced: ClearReferenced | null): number {
    const pool = this.pool;
    const visited = this.visited;
    let n = this.hand >= 0 ? this.hand : pool.oldest[Q]!;
    for (;;) {
      const key = pool.key[n]!;
      const hw = isReferenced?.(key) === true;
      if (visited[n] === 0 && !hw) break;
      visited[n] = 0;
      if (hw && clearReferenced !== null) clearReferenced(key, true);
      const next = pool.newer[n]!;
      n = next >= 0 ? next : pool.oldest[Q]!;
    }
    const key = pool.key[n]!;
    this.hand = pool.newer[n]!;
    pool.unlink(n);
    pool.free(n);
    this.index.delete(key);
    return key;
  }
}

/** SIEVE with room for `capacity` pages. @throws InvalidArgumentError for a bad capacity. */
export function createSievePolicy(capacity: number): SievePolicy {
  return new SievePolicy(capacity);
}
