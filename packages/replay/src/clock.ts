/**
 * CLOCK (second chance), as the seed kernel and libCacheSim `Clock.c` (n-bit-counter = 1) do it:
 * one reference bit per page; a newly loaded page has it clear; a hit sets it. To evict, the hand
 * starts at the oldest page: a page with the bit set gets it cleared and moves to the newest end
 * (its "second chance"), and the first page with the bit clear is evicted. The hand is therefore
 * always the oldest page, and the queue order is the clock order.
 *
 * In a kernel the bit is the policy's own bit OR the hardware accessed bit (`isReferenced`);
 * a second chance clears both (`clearReferenced` is called only when the hardware bit was set).
 */
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { KeyIndex } from './key-index.js';
import { NodePool } from './node-pool.js';
import type { ClearReferenced, IsReferenced, PolicyState, ReplacementPolicy } from './policy.js';

const Q = 0;

/** CLOCK second-chance replacement. Create with {@link createClockPolicy}. */
export class ClockPolicy implements ReplacementPolicy {
  readonly name = 'clock';
  private readonly pool: NodePool;
  private readonly index: KeyIndex;
  private readonly ref: Uint8Array;

  constructor(readonly capacity: number) {
    checkCapacity('clock capacity', capacity);
    this.pool = new NodePool(capacity, 1);
    this.index = new KeyIndex(capacity);
    this.ref = new Uint8Array(capacity);
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
      this.ref[n] = 1;
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
    checkKey('clock.referenced key', key);
    const n = this.index.get(key);
    if (n < 0) return false;
    this.ref[n] = 1;
    return true;
  }

  remove(key: number): boolean {
    checkKey('clock.remove key', key);
    const n = this.index.delete(key);
    if (n < 0) return false;
    this.pool.unlink(n);
    this.pool.free(n);
    return true;
  }

  selectVictim(isReferenced?: IsReferenced, clearReferenced?: ClearReferenced): number {
    if (this.pool.length[Q] === 0) return -1;
    return this.evict(isReferenced ?? null, clearReferenced ?? null);
  }

  state(): PolicyState {
    const resident = this.pool.keysOf(Q);
    const referenced: number[] = [];
    for (let n = this.pool.oldest[Q]!; n >= 0; n = this.pool.newer[n]!) {
      if (this.ref[n]) referenced.push(this.pool.key[n]!);
    }
    return {
      name: this.name,
      capacity: this.capacity,
      size: this.size,
      resident,
      hand: resident.length > 0 ? 0 : -1,
      referenced,
      lists: { clock: resident },
      values: {},
    };
  }

  reset(): void {
    this.pool.clear();
    this.index.clear();
    this.ref.fill(0);
  }

  private load(key: number): void {
    const n = this.pool.alloc(key);
    this.ref[n] = 0;
    this.pool.pushNewest(Q, n);
    this.index.set(key, n);
  }

  private evict(isReferenced: IsReferenced | null, clearReferenced: ClearReferenced | null): number {
    const pool = this.pool;
    const ref = this.ref;
    for (;;) {
      const n = pool.oldest[Q]!;
      const key = pool.key[n]!;
      const hw = isReferenced?.(key) === true;
      if (ref[n] === 0 && !hw) {
        pool.unlink(n);
        pool.free(n);
        this.index.delete(key);
        return key;
      }
      ref[n] = 0;
      if (hw && clearReferenced !== null) clearReferenced(key, true);
      pool.unlink(n);
      pool.pushNewest(Q, n);
    }
  }
}

/** CLOCK with room for `capacity` pages. @throws InvalidArgumentError for a bad capacity. */
export function createClockPolicy(capacity: number): ClockPolicy {
  return new ClockPolicy(capacity);
}
