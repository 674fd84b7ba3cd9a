/**
 * WSClock (Carr & Hennessy, SOSP '81) with working-set window τ over virtual time, with every page
 * clean (no write-back is modelled):
 *
 * - Virtual time advances by one on every reference the policy sees (`access`, `insert`,
 *   `referenced`); the first reference is at time 1. A miss evicts before its own tick (as a
 *   kernel calls `selectVictim` before `insert`), so ages are measured at the previous reference.
 * - Pages sit on a circle. A loaded page is placed just behind the hand (the hand reaches it
 *   last) with its reference bit clear and its last-use time = now. A hit sets the bit.
 * - To evict, the hand examines pages in turn: a page with the bit set (policy bit OR hardware
 *   bit) gets it cleared, its last-use time set to now, and the hand moves on; an unreferenced page
 *   with age `now − lastUse > τ` (outside the working set W(t, τ)) is evicted; a younger one is
 *   passed over. If a whole turn finds no page older than τ, the page with the oldest last-use
 *   time seen in the turn is evicted (the first one on ties). After an eviction the hand points to
 *   the page after the victim.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { KeyIndex } from './key-index.js';
import { NodePool } from './node-pool.js';
import type { ClearReferenced, IsReferenced, PolicyState, ReplacementPolicy } from './policy.js';

const Q = 0;

/** Options of {@link createWsClockPolicy}. */
export interface WsClockOptions {
  /** Working-set window τ in references (default: 4 × capacity). */
  readonly tau?: number;
}

/** WSClock replacement. Create with {@link createWsClockPolicy}. */
export class WsClockPolicy implements ReplacementPolicy {
  readonly name = 'wsclock';
  readonly tau: number;
  private readonly pool: NodePool;
  private readonly index: KeyIndex;
  private readonly ref: Uint8Array;
  private readonly lastUse: Float64Array;
  private hand = -1;
  private now = 0;

  constructor(
    readonly capacity: number,
    options: WsClockOptions = {},
  ) {
    checkCapacity('wsclock capacity', capacity);
    this.tau = options.tau ?? 4 * capacity;
    if (!Number.isSafeInteger(this.tau) || this.tau < 0) {
      throw new InvalidArgumentError('wsclock tau', this.tau, 'a non-negative integer number of references');
    }
    this.pool = new NodePool(capacity, 1);
    this.index = new KeyIndex(capacity);
    this.ref = new Uint8Array(capacity);
    this.lastUse = new Float64Array(capacity);
  }

  get size(): number {
    return this.pool.length[Q]!;
  }

  /** Current virtual time (references seen). */
  get time(): number {
    return this.now;
  }

  has(key: number): boolean {
    return this.index.get(key) >= 0;
  }

  access(key: number): boolean {
    const n = this.index.get(key);
    if (n >= 0) {
      this.now++;
      this.ref[n] = 1;
      return true;
    }
    // Evict before the clock ticks, as a kernel does (selectVictim, then insert).
    if (this.pool.length[Q] === this.capacity) this.evict(null, null);
    this.now++;
    this.load(key);
    return false;
  }

  insert(key: number): number {
    checkInsert(this, key);
    this.now++;
    this.load(key);
    return -1;
  }

  referenced(key: number): boolean {
    checkKey('wsclock.referenced key', key);
    const n = this.index.get(key);
    if (n < 0) return false;
    this.now++;
    this.ref[n] = 1;
    return true;
  }

  remove(key: number): boolean {
    checkKey('wsclock.remove key', key);
    const n = this.index.delete(key);
    if (n < 0) return false;
    this.unlinkNode(n);
    return true;
  }

  selectVictim(isReferenced?: IsReferenced, clearReferenced?: ClearReferenced): number {
    if (this.pool.length[Q] === 0) return -1;
    return this.evict(isReferenced ?? null, clearReferenced ?? null);
  }

  state(): PolicyState {
    const pool = this.pool;
    const resident: number[] = [];
    const referenced: number[] = [];
    const values: Record<string, number> = { time: this.now, tau: this.tau };
    let n = this.hand;
    for (let i = 0; i < pool.length[Q]!; i++) {
      const key = pool.key[n]!;
      resident.push(key);
      if (this.ref[n]) referenced.push(key);
      values[`lastUse:${key}`] = this.lastUse[n]!;
      n = this.following(n);
    }
    return {
      name: this.name,
      capacity: this.capacity,
      size: this.size,
      resident,
      hand: resident.length > 0 ? 0 : -1,
      referenced,
      lists: { circle: resident },
      values,
    };
  }

  reset(): void {
    this.pool.clear();
    this.index.clear();
    this.ref.fill(0);
    this.hand = -1;
    this.now = 0;
  }

  private following(n: number): number {
    const next = this.pool.newer[n]!;
    return next >= 0 ? next : this.pool.oldest[Q]!;
  }

  private load(key: number): void {
    const pool = this.pool;
    const n = pool.alloc(key);
    this.ref[n] = 0;
    this.lastUse[n] = this.now;
    if (this.hand < 0) {
      pool.pushNewest(Q, n);
      this.hand = n;
    } else {
      pool.insertOlderThan(this.hand, n);
    }
    this.index.set(key, n);
  }

  private unlinkNode(n: number): void {
    if (this.hand === n) this.hand = this.pool.length[Q] === 1 ? -1 : this.following(n);
    this.pool.unlink(n);
    this.pool.free(n);
  }

  private evict(isReferenced: IsReferenced | null, clearReferenced: ClearReferenced | null): number {
    const ref = this.ref;
    const lastUse = this.lastUse;
    const now = this.now;
    let n = this.hand;
    let victim = -1;
    let oldest = -1;
    for (let i = this.pool.length[Q]!; i > 0; i--) {
      const key = this.pool.key[n]!;
      const hw = isReferenced?.(key) === true;
      if (ref[n] || hw) {
        ref[n] = 0;
        if (hw && clearReferenced !== null) clearReferenced(key, true);
        lastUse[n] = now;
      } else if (now - lastUse[n]! > this.tau) {
        victim = n;
        break;
      }
      if (oldest < 0 || lastUse[n]! < lastUse[oldest]!) oldest = n;
      n = this.following(n);
    }
    if (victim < 0) victim = oldest;
    const key = this.pool.key[victim]!;
    this.hand = victim;
    this.index.delete(key);
    this.unlinkNode(victim);
    return key;
  }
}

/** WSClock with room for `capacity` pages. @throws InvalidArgumentError for bad arguments. */
export function createWsClockPolicy(capacity: number, options?: WsClockOptions): WsClockPolicy {
  return new WsClockPolicy(capacity, options);
}
