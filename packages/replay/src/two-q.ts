/**
 * 2Q (Johnson & Shasha, VLDB '94, "full version"), as libCacheSim `TwoQ.c` does it with its
 * default ratios: Kin = ⌊0.25 C⌋, Kout = ⌊0.5 C⌋, Am's own limit C − Kin.
 *
 * - A hit in A1in changes nothing (FIFO). A hit in Am moves the page to Am's newest end.
 * - A reference found in the ghost queue A1out removes it from A1out; it is a miss.
 * - A miss with Kin = 0 caches nothing (libCacheSim refuses an object larger than A1in).
 * - Otherwise, while A1in + Am hold C pages: if A1in holds more than Kin pages, its oldest page
 *   moves to A1out (A1out drops its oldest first when it holds Kout; with Kout = 0 nothing is
 *   remembered); else Am's least recently used page is evicted.
 * - Then a page that came from A1out goes to Am (first evicting Am's LRU page if Am holds C − Kin
 *   pages — so a miss can evict two pages), any other page to A1in's newest end.
 *
 * A1in may hold more than Kin pages while Am is small: it gives pages back only when the cache is
 * full.
 */
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { KeyIndex } from './key-index.js';
import { NodePool } from './node-pool.js';
import type { ClearReferenced, IsReferenced, PolicyState, ReplacementPolicy } from './policy.js';

const AIN = 0;
const AOUT = 1;
const AM = 2;

/** 2Q replacement. Create with {@link createTwoQPolicy}. */
export class TwoQPolicy implements ReplacementPolicy {
  readonly name = '2q';
  /** ⌊0.25 C⌋: A1in's target size. */
  readonly kin: number;
  /** ⌊0.5 C⌋: A1out's size. */
  readonly kout: number;
  /** C − Kin: Am's own limit. */
  readonly amCapacity: number;
  private readonly pool: NodePool;
  private readonly index: KeyIndex;
  /** Kernel mode: a key whose ghost entry `selectVictim` already consumed. */
  private pendingKey = -1;

  constructor(readonly capacity: number) {
    checkCapacity('2q capacity', capacity);
    this.kin = Math.floor(capacity * 0.25);
    this.kout = Math.floor(capacity * 0.5);
    this.amCapacity = capacity - this.kin;
    this.pool = new NodePool(capacity + this.kout + 1, 3);
    this.index = new KeyIndex(capacity + this.kout + 1);
  }

  get size(): number {
    return this.pool.length[AIN]! + this.pool.length[AM]!;
  }

  has(key: number): boolean {
    const n = this.index.get(key);
    return n >= 0 && this.pool.list[n] !== AOUT;
  }

  access(key: number): boolean {
    this.pendingKey = -1;
    const pool = this.pool;
    const n = this.index.get(key);
    let ghost = false;
    if (n >= 0) {
      const l = pool.list[n]!;
      if (l === AIN) return true;
      if (l === AM) {
        pool.moveToNewest(AM, n);
        return true;
      }
      this.drop(n);
      ghost = true;
    }
    if (this.kin === 0) return false;
    while (pool.length[AIN]! + pool.length[AM]! >= this.capacity) this.evictStep();
    this.admit(key, ghost);
    return false;
  }

  insert(key: number): number {
    checkInsert(this, key);
    if (this.kin === 0) return key;
    const n = this.index.get(key);
    const ghost = n >= 0 || this.pendingKey === key;
    if (n >= 0) this.drop(n);
    this.pendingKey = -1;
    return this.admit(key, ghost);
  }

  referenced(key: number): boolean {
    checkKey('2q.referenced key', key);
    const n = this.index.get(key);
    if (n < 0) return false;
    const l = this.pool.list[n]!;
    if (l === AOUT) return false;
    if (l === AM) this.pool.moveToNewest(AM, n);
    return true;
  }

  renameGhost(from: number, to: number): boolean {
    checkKey('2q.renameGhost from', from);
    checkKey('2q.renameGhost to', to);
    const n = this.index.get(from);
    // `to` must be free: no entry, and not a key whose ghost selectVictim took for its insert.
    if (n < 0 || this.pool.list[n] !== AOUT || this.index.get(to) >= 0 || to === this.pendingKey)
      return false;
    this.index.delete(from);
    this.pool.key[n] = to;
    this.index.set(to, n);
    return true;
  }

  remove(key: number): boolean {
    checkKey('2q.remove key', key);
    if (this.pendingKey === key) this.pendingKey = -1;
    const n = this.index.get(key);
    if (n < 0) return false;
    const resident = this.pool.list[n] !== AOUT;
    this.drop(n);
    return resident;
  }

  /**
   * One eviction. `incoming`, when it is in A1out, is taken out of A1out first (as `access` does
   * before evicting), so the ghost queue evolves exactly as in replay.
   */
  selectVictim(_isReferenced?: IsReferenced, _clearReferenced?: ClearReferenced, incoming?: number): number {
    if (this.size === 0) return -1;
    if (incoming !== undefined && incoming >= 0) {
      const n = this.index.get(incoming);
      if (n >= 0 && this.pool.list[n] === AOUT) {
        this.drop(n);
        this.pendingKey = incoming;
      }
    }
    return this.evictStep();
  }

  state(): PolicyState {
    const pool = this.pool;
    const ain = pool.keysOf(AIN);
    const am = pool.keysOf(AM);
    return {
      name: this.name,
      capacity: this.capacity,
      size: this.size,
      resident: ain.concat(am),
      hand: -1,
      referenced: [],
      lists: { A1in: ain, A1out: pool.keysOf(AOUT), Am: am },
      values: { kin: this.kin, kout: this.kout },
    };
  }

  reset(): void {
    this.pool.clear();
    this.index.clear();
    this.pendingKey = -1;
  }

  private drop(n: number): void {
    this.index.delete(this.pool.key[n]!);
    this.pool.unlink(n);
    this.pool.free(n);
  }

  /** Loads `key`; returns the key Am pushed out to make room for a promoted ghost, or -1. */
  private admit(key: number, ghost: boolean): number {
    const pool = this.pool;
    let evicted = -1;
    if (ghost) {
      if (pool.length[AM]! >= this.amCapacity) {
        const old = pool.oldest[AM]!;
        evicted = pool.key[old]!;
        this.drop(old);
      }
    }
    const n = pool.alloc(key);
    pool.pushNewest(ghost ? AM : AIN, n);
    this.index.set(key, n);
    return evicted;
  }

  /** One eviction (libCacheSim's TwoQ_evict); returns the evicted key. */
  private evictStep(): number {
    const pool = this.pool;
    if (pool.length[AIN]! > this.kin || pool.length[AM] === 0) {
      const n = pool.oldest[AIN]!;
      const key = pool.key[n]!;
      pool.unlink(n);
      if (this.kout === 0) {
        this.index.delete(key);
        pool.free(n);
      } else {
        if (pool.length[AOUT]! >= this.kout) this.drop(pool.oldest[AOUT]!);
        pool.pushNewest(AOUT, n);
      }
      return key;
    }
    const n = pool.oldest[AM]!;
    const key = pool.key[n]!;
    this.drop(n);
    return key;
  }
}

/** 2Q with room for `capacity` pages. @throws InvalidArgumentError for a bad capacity. */
export function createTwoQPolicy(capacity: number): TwoQPolicy {
  return new TwoQPolicy(capacity);
}
