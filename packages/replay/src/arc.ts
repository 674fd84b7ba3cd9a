/**
 * ARC (Megiddo & Modha, FAST '03) with a real-valued target `p`, as libCacheSim `ARC.c` does it:
 *
 * - T1 (seen once recently) and T2 (seen at least twice) hold resident pages, B1 and B2 the ghosts
 *   of pages evicted from them; every list has its most recent page at the newest end.
 * - Hit in T1 or T2: move to the newest end of T2.
 * - Ghost hit in B1: `p = min(p + max(|B2|/|B1|, 1), C)`; in B2: `p = max(p − max(|B1|/|B2|, 1), 0)`
 *   (sizes before the ghost is removed); the ghost is dropped; it is a miss, and the page is
 *   loaded into T2 after REPLACE.
 * - REPLACE: if `|T1| > 0` and (`|T1| > p` or (`|T1| = p` and the request hit B2)), or if T2 is
 *   empty, T1's oldest page goes to B1; otherwise T2's oldest goes to B2.
 * - Miss everywhere, cache full (case IV): if `|T1| + |B1| = C` then drop B1's oldest and REPLACE
 *   when B1 is not empty, else evict T1's oldest with no ghost; otherwise, if the directory
 *   holds `2C` pages, drop B2's oldest, then REPLACE. The page is loaded into T1.
 *
 * Like libCacheSim (and unlike the paper's pseudo-code) eviction happens only when the cache is
 * full. In a kernel, pass the incoming key to `selectVictim` so a ghost hit adapts `p` first.
 */
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { KeyIndex } from './key-index.js';
import { NodePool } from './node-pool.js';
import type { ClearReferenced, IsReferenced, PolicyState, ReplacementPolicy } from './policy.js';

const T1 = 0;
const T2 = 1;
const B1 = 2;
const B2 = 3;

/** ARC replacement. Create with {@link createArcPolicy}. */
export class ArcPolicy implements ReplacementPolicy {
  readonly name = 'arc';
  private readonly pool: NodePool;
  private readonly index: KeyIndex;
  /** Target size of T1 (real-valued, 0 ≤ p ≤ C). */
  private p = 0;
  /** Kernel mode: a key whose ghost hit was already taken (p adapted) by `selectVictim`. */
  private pendingKey = -1;
  /** 0, or the ghost list (B1/B2) `pendingKey` came from. */
  private pendingGhost = 0;

  constructor(readonly capacity: number) {
    checkCapacity('arc capacity', capacity);
    this.pool = new NodePool(2 * capacity + 2, 4);
    this.index = new KeyIndex(2 * capacity + 2);
  }

  get size(): number {
    return this.pool.length[T1]! + this.pool.length[T2]!;
  }

  /** The current target size of T1. */
  get target(): number {
    return this.p;
  }

  has(key: number): boolean {
    const n = this.index.get(key);
    return n >= 0 && this.pool.list[n]! <= T2;
  }

  access(key: number): boolean {
    this.pendingKey = -1;
    const pool = this.pool;
    const n = this.index.get(key);
    let ghost = 0;
    if (n >= 0) {
      const l = pool.list[n]!;
      if (l <= T2) {
        pool.moveToNewest(T2, n);
        return true;
      }
      ghost = this.takeGhost(n, l);
    }
    while (pool.length[T1]! + pool.length[T2]! >= this.capacity) this.evictStep(ghost);
    this.load(key, ghost !== 0 ? T2 : T1);
    return false;
  }

  insert(key: number): number {
    checkInsert(this, key);
    let ghost = 0;
    if (this.pendingKey === key) {
      ghost = this.pendingGhost;
    } else {
      const n = this.index.get(key);
      if (n >= 0) ghost = this.takeGhost(n, this.pool.list[n]!);
    }
    this.pendingKey = -1;
    this.load(key, ghost !== 0 ? T2 : T1);
    return -1;
  }

  referenced(key: number): boolean {
    checkKey('arc.referenced key', key);
    const n = this.index.get(key);
    if (n < 0 || this.pool.list[n]! > T2) return false;
    this.pool.moveToNewest(T2, n);
    return true;
  }

  remove(key: number): boolean {
    checkKey('arc.remove key', key);
    if (this.pendingKey === key) this.pendingKey = -1;
    const n = this.index.delete(key);
    if (n < 0) return false;
    const resident = this.pool.list[n]! <= T2;
    this.pool.unlink(n);
    this.pool.free(n);
    return resident;
  }

  renameGhost(from: number, to: number): boolean {
    checkKey('arc.renameGhost from', from);
    checkKey('arc.renameGhost to', to);
    const n = this.index.get(from);
    // `to` must be free: no entry, and not a key whose ghost selectVictim took for its insert.
    if (n < 0 || this.pool.list[n]! <= T2 || this.index.get(to) >= 0 || to === this.pendingKey) return false;
    this.index.delete(from);
    this.pool.key[n] = to;
    this.index.set(to, n);
    return true;
  }

  selectVictim(_isReferenced?: IsReferenced, _clearReferenced?: ClearReferenced, incoming?: number): number {
    if (this.size === 0) return -1;
    if (incoming !== undefined && incoming >= 0 && incoming !== this.pendingKey) {
      const n = this.index.get(incoming);
      if (n >= 0 && this.pool.list[n]! > T2) {
        this.pendingGhost = this.takeGhost(n, this.pool.list[n]!);
        this.pendingKey = incoming;
      }
    }
    const ghost = incoming !== undefined && incoming === this.pendingKey ? this.pendingGhost : 0;
    return this.evictStep(ghost);
  }

  state(): PolicyState {
    const pool = this.pool;
    const t1 = pool.keysOf(T1);
    const t2 = pool.keysOf(T2);
    return {
      name: this.name,
      capacity: this.capacity,
      size: this.size,
      resident: t1.concat(t2),
      hand: -1,
      referenced: [],
      lists: { T1: t1, T2: t2, B1: pool.keysOf(B1), B2: pool.keysOf(B2) },
      values: { p: this.p },
    };
  }

  reset(): void {
    this.pool.clear();
    this.index.clear();
    this.p = 0;
    this.pendingKey = -1;
    this.pendingGhost = 0;
  }

  /** A request found `n` in ghost list `l`: adapt p, drop the ghost; returns B1 or B2. */
  private takeGhost(n: number, l: number): number {
    const len = this.pool.length;
    if (l === B1) {
      this.p = Math.min(this.p + Math.max(len[B2]! / len[B1]!, 1), this.capacity);
    } else {
      this.p = Math.max(this.p - Math.max(len[B1]! / len[B2]!, 1), 0);
    }
    this.index.delete(this.pool.key[n]!);
    this.pool.unlink(n);
    this.pool.free(n);
    return l;
  }

  private load(key: number, l: number): void {
    let n = this.pool.alloc(key);
    if (n < 0) {
      // Only reachable through kernel-mode remove/insert patterns: make room in the directory.
      this.dropOldest(this.pool.length[B1]! > 0 ? B1 : B2);
      n = this.pool.alloc(key);
    }
    this.pool.pushNewest(l, n);
    this.index.set(key, n);
  }

  private dropOldest(l: number): void {
    const n = this.pool.oldest[l]!;
    this.index.delete(this.pool.key[n]!);
    this.pool.unlink(n);
    this.pool.free(n);
  }

  /** Evicts one resident page (libCacheSim's ARC_evict); returns its key. */
  private evictStep(ghost: number): number {
    if (ghost !== 0) return this.replace(ghost);
    const len = this.pool.length;
    const c = this.capacity;
    if (len[T1]! + len[B1]! + 1 > c) {
      if (len[B1]! > 0) {
        this.dropOldest(B1);
        return this.replace(0);
      }
      const n = this.pool.oldest[T1]!;
      const key = this.pool.key[n]!;
      this.dropOldest(T1);
      return key;
    }
    if (len[T1]! + len[B1]! + len[T2]! + len[B2]! >= 2 * c && len[B2]! > 0) this.dropOldest(B2);
    return this.replace(0);
  }

  /** REPLACE: move T1's or T2's oldest page to its ghost list; returns its key. */
  private replace(ghost: number): number {
    const pool = this.pool;
    const t1 = pool.length[T1]!;
    const fromT1 = (t1 > 0 && (t1 > this.p || (t1 === this.p && ghost === B2))) || pool.length[T2] === 0;
    const n = pool.oldest[fromT1 ? T1 : T2]!;
    pool.unlink(n);
    pool.pushNewest(fromT1 ? B1 : B2, n);
    return pool.key[n]!;
  }
}

/** ARC with room for `capacity` pages. @throws InvalidArgumentError for a bad capacity. */
export function createArcPolicy(capacity: number): ArcPolicy {
  return new ArcPolicy(capacity);
}
