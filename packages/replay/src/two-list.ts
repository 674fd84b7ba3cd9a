/**
 * Linux's two-list LRU (active/inactive, `mm/vmscan.c` and `mm/swap.c`) for anonymous pages,
 * simplified to one list pair and single-page steps:
 *
 * - A loaded page goes to the newest end of the inactive list with its software referenced flag
 *   (PG_referenced) clear (Linux ≥ 5.9 adds new anonymous folios to the inactive list).
 * - A software reference (`referenced()`, and every hit of `access`) is `mark_page_accessed`:
 *   an unflagged page gets the flag; a flagged inactive page is activated (moved to the newest end
 *   of the active list, flag cleared) — promotion on the second reference.
 * - Eviction first ages the active list while the inactive list is too small, by Linux's
 *   `inactive_is_low` for anon: `inactive × ratio < active` with `ratio = ⌊√(10 × gb)⌋`, or 1 when
 *   `gb = (active + inactive) pages / 2^18` (GiB of 4 KiB pages) is 0. Each step demotes the
 *   active list's oldest page to the newest end of the inactive list, clearing its hardware
 *   accessed bit (`folio_referenced` does) but not PG_referenced (as `shrink_active_list`).
 * - Then the inactive list's oldest page is examined as `folio_check_references` does for anon:
 *   hardware bit set (it is cleared) and PG_referenced set → activate; hardware bit set and flag
 *   clear → set the flag and rotate it to the inactive list's newest end (KEEP); hardware bit
 *   clear → evict, whatever the flag says.
 *
 * Not modelled: batching by `SWAP_CLUSTER_MAX` and scan priority, file vs anon balance
 * (`swappiness`), refaults and workingset shadow entries, `VM_EXEC` pages, multi-gen LRU.
 * In offline replay there are no hardware bits: only hits (as `mark_page_accessed`) promote.
 */
import { checkCapacity, checkInsert, checkKey } from './checks.js';
import { KeyIndex } from './key-index.js';
import { NodePool } from './node-pool.js';
import type { ClearReferenced, IsReferenced, PolicyState, ReplacementPolicy } from './policy.js';

const INACTIVE = 0;
const ACTIVE = 1;

/** Options of {@link createTwoListPolicy}. */
export interface TwoListOptions {
  /** Pages per GiB in `inactive_is_low`'s size (default 2^18: 4 KiB pages). */
  readonly pagesPerGiB?: number;
}

/** Linux-style active/inactive two-list replacement. Create with {@link createTwoListPolicy}. */
export class TwoListPolicy implements ReplacementPolicy {
  readonly name = 'two-list';
  private readonly pool: NodePool;
  private readonly index: KeyIndex;
  private readonly flag: Uint8Array;
  private readonly pagesPerGiB: number;

  constructor(
    readonly capacity: number,
    options: TwoListOptions = {},
  ) {
    checkCapacity('two-list capacity', capacity);
    this.pagesPerGiB = options.pagesPerGiB ?? 2 ** 18;
    checkCapacity('two-list pagesPerGiB', this.pagesPerGiB);
    this.pool = new NodePool(capacity, 2);
    this.index = new KeyIndex(capacity);
    this.flag = new Uint8Array(capacity);
  }

  get size(): number {
    return this.pool.length[INACTIVE]! + this.pool.length[ACTIVE]!;
  }

  has(key: number): boolean {
    return this.index.get(key) >= 0;
  }

  access(key: number): boolean {
    const n = this.index.get(key);
    if (n >= 0) {
      this.markAccessed(n);
      return true;
    }
    if (this.size === this.capacity) this.evict(null, null);
    this.load(key);
    return false;
  }

  insert(key: number): number {
    checkInsert(this, key);
    this.load(key);
    return -1;
  }

  referenced(key: number): boolean {
    checkKey('two-list.referenced key', key);
    const n = this.index.get(key);
    if (n < 0) return false;
    this.markAccessed(n);
    return true;
  }

  remove(key: number): boolean {
    checkKey('two-list.remove key', key);
    const n = this.index.delete(key);
    if (n < 0) return false;
    this.pool.unlink(n);
    this.pool.free(n);
    return true;
  }

  selectVictim(isReferenced?: IsReferenced, clearReferenced?: ClearReferenced): number {
    if (this.size === 0) return -1;
    return this.evict(isReferenced ?? null, clearReferenced ?? null);
  }

  /** Linux's `inactive_is_low` for the current list sizes. */
  inactiveIsLow(): boolean {
    const inactive = this.pool.length[INACTIVE]!;
    const active = this.pool.length[ACTIVE]!;
    const gb = Math.floor((inactive + active) / this.pagesPerGiB);
    const ratio = gb > 0 ? Math.floor(Math.sqrt(10 * gb)) : 1;
    return inactive * ratio < active;
  }

  state(): PolicyState {
    const pool = this.pool;
    const inactive = pool.keysOf(INACTIVE);
    const active = pool.keysOf(ACTIVE);
    const referenced: number[] = [];
    for (const l of [INACTIVE, ACTIVE]) {
      for (let n = pool.oldest[l]!; n >= 0; n = pool.newer[n]!)
        if (this.flag[n]) referenced.push(pool.key[n]!);
    }
    return {
      name: this.name,
      capacity: this.capacity,
      size: this.size,
      resident: inactive.concat(active),
      hand: -1,
      referenced,
      lists: { inactive, active },
      values: {},
    };
  }

  reset(): void {
    this.pool.clear();
    this.index.clear();
    this.flag.fill(0);
  }

  private load(key: number): void {
    const n = this.pool.alloc(key);
    this.flag[n] = 0;
    this.pool.pushNewest(INACTIVE, n);
    this.index.set(key, n);
  }

  /** `mark_page_accessed`. */
  private markAccessed(n: number): void {
    if (this.flag[n] === 0) {
      this.flag[n] = 1;
    } else if (this.pool.list[n] === INACTIVE) {
      this.pool.unlink(n);
      this.pool.pushNewest(ACTIVE, n);
      this.flag[n] = 0;
    }
  }

  private evict(isReferenced: IsReferenced | null, clearReferenced: ClearReferenced | null): number {
    const pool = this.pool;
    // A kernel whose clearReferenced does not clear cannot make us loop forever.
    let budget = 4 * this.size + 8;
    for (;;) {
      while (pool.length[ACTIVE]! > 0 && (pool.length[INACTIVE] === 0 || this.inactiveIsLow())) {
        const a = pool.oldest[ACTIVE]!;
        if (isReferenced?.(pool.key[a]!) === true) clearReferenced?.(pool.key[a]!, false);
        pool.unlink(a);
        pool.pushNewest(INACTIVE, a);
      }
      const n = pool.oldest[INACTIVE]!;
      const key = pool.key[n]!;
      if (--budget > 0 && isReferenced?.(key) === true) {
        if (clearReferenced !== null) clearReferenced(key, this.flag[n] === 1);
        pool.unlink(n);
        if (this.flag[n]) {
          pool.pushNewest(ACTIVE, n);
        } else {
          this.flag[n] = 1;
          pool.pushNewest(INACTIVE, n);
        }
        continue;
      }
      pool.unlink(n);
      pool.free(n);
      this.index.delete(key);
      return key;
    }
  }
}

/** Two-list LRU with room for `capacity` pages. @throws InvalidArgumentError for bad arguments. */
export function createTwoListPolicy(capacity: number, options?: TwoListOptions): TwoListPolicy {
  return new TwoListPolicy(capacity, options);
}
