/**
 * The unevictable list (Linux `LRU_UNEVICTABLE`; mm/mlock.c, mm/vmscan.c,
 * Documentation/mm/unevictable-lru.rst): the USER frames some mlocked VMA (`VM_LOCKED`, with or
 * without `VM_LOCKONFAULT`) maps. They are not in the replacement policy, so a reclaim scan never
 * meets them; when the last locked mapping goes they are put back into the policy as new pages.
 *
 * ## When a frame moves (Linux's rule: a folio is mlocked while some VM_LOCKED VMA maps it)
 *
 * Linux counts the locked mappings of a folio (`folio->mlock_count`): `mlock_vma_folio` on every
 * rmap addition in a VM_LOCKED VMA (`folio_add_*_rmap_*`, `mlock_new_folio` for a fresh page via
 * `folio_add_lru_vma`), `munlock_vma_folio` on every removal (`folio_remove_rmap_*`: munmap, exit,
 * a copy-on-write break), and `mlock_fixup` → `mlock_vma_pages_range` for the present pages when
 * a VMA's lock changes. The moves are batched per CPU (`mlock_fbatch`, drained by
 * `mlock_drain_local`). mmkit keeps the batch and decides at the drain by looking at the frame's
 * mappings through the reverse map (so the count cannot drift):
 * - queued ({@link Unevictable.queue}): every USER frame allocated or mapped once some VMA has
 *   been locked ({@link Unevictable.active}: until then nothing costs more than one test), the
 *   present frames of a range whose lock changes (mlock, mlock2, mlockall, munlock, munlockall),
 *   and a frame on the list losing a mapping (zap, a copy-on-write break: {@link
 *   Unevictable.unmapped});
 * - drained ({@link Unevictable.drain}) at the end of every kernel call and before every reclaim
 *   scan: a frame some locked VMA maps leaves the policy for the list (Linux `mlock_folio` →
 *   `__mlock_folio` / `__mlock_new_folio`: `unevictable_pgs_mlocked`, `unevictable_pgs_culled`);
 *   a frame on the list no locked VMA maps any more goes back into the policy as a new page
 *   (`munlock_folio` → `__munlock_folio`: `unevictable_pgs_munlocked`,
 *   `unevictable_pgs_rescued`);
 * - a frame freed while on the list (the last locked mapping went with the last reference: munmap,
 *   exit) leaves it, counted as munlocked and rescued as Linux's `munlock_vma_folio` in
 *   `folio_remove_rmap_ptes` does before the folio is freed.
 *
 * A page mapped by a locked and an unlocked VMA (fork does not inherit VM_LOCKED; MAP_SHARED)
 * stays on the list while any locked mapping remains. The scan still checks each victim's
 * mappings (Linux `folio_evictable` in `shrink_folio_list`, and `try_to_unmap_one` refusing a
 * VM_LOCKED VMA) and culls a locked one onto the list — a frame the bookkeeping above missed;
 * `audit()` proves that never happens.
 *
 * Ownership: the list, the batch and the `unevictable_*` counters; the {@link Reclaimer} owns the
 * policy and does the isolation and put-back ({@link EvictableLru}).
 */
import { hex } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { FrameState } from './page-allocator.js';

/** The evictable side, which the list takes frames from and gives them back to (the Reclaimer). */
export interface EvictableLru {
  /** Takes frame-table index `i` out of the policy and the cold queue (no-op if it is not there). */
  isolate(i: number): void;
  /** Puts USER frame `pa` (index `i`) back into the policy as a new page (Linux `folio_putback_lru`). */
  putback(i: number, pa: number): void;
  /** Whether index `i` is on the evictable side (the policy, the cold queue or the pushed-out victims). */
  tracks(i: number): boolean;
}

/** @internal The unevictable list (see the module documentation). */
export class Unevictable {
  /** Per frame-table index: 1 while the frame is on the list; undefined until {@link start}. */
  onList: Uint8Array | undefined;
  /** Per frame-table index: the address of a queued frame. */
  private paOf: Float64Array | undefined;
  /** Frame-table indices whose evictability is checked at the next {@link drain} (Linux `mlock_fbatch`). */
  private readonly batch: number[] = [];
  /** Frames on the list (Linux `nr_unevictable`; `nr_mlock` is the same here: only mlock makes a page unevictable). */
  size = 0;
  /** Pages mlocked (`unevictable_pgs_mlocked`). */
  pgsMlocked = 0;
  /** Pages munlocked (`unevictable_pgs_munlocked`). */
  pgsMunlocked = 0;
  /** Pages moved onto the list (`unevictable_pgs_culled`). */
  pgsCulled = 0;
  /** Pages moved back to the evictable lists (`unevictable_pgs_rescued`). */
  pgsRescued = 0;
  /** Some VMA has been locked since boot: new mappings are queued from then on. */
  active = false;
  private lockedFound = false;
  private readonly visitLocked: (space: AddressSpace, vpn: number) => void;

  constructor(private readonly k: KernelContext) {
    this.visitLocked = (space, vpn) => {
      if (this.lockedFound) return;
      const lock = space.vmas.find(vpn)?.value.lock;
      if (lock !== undefined && lock !== 'none') this.lockedFound = true;
    };
  }

  /** Sizes the per-frame tables (idempotent): with the first lock or the first swap device. */
  start(): void {
    if (this.onList !== undefined) return;
    const n = this.k.allocator.frameIndexCount;
    this.onList = new Uint8Array(n);
    this.paOf = new Float64Array(n);
  }

  /** Whether frame-table index `i` is on the list. */
  has(i: number): boolean {
    return this.onList !== undefined && this.onList[i] === 1;
  }

  /** True when some mapping of USER frame `pa` lies in a locked VMA (Linux `folio_evictable` false). */
  locked(pa: number): boolean {
    this.lockedFound = false;
    this.k.rmap.forEach(pa, this.visitLocked);
    return this.lockedFound;
  }

  /** Queues USER frame `pa` at frame-table index `i` for the next {@link drain} (when {@link active}). */
  queue(i: number, pa: number): void {
    if (!this.active) return;
    this.paOf![i] = pa;
    this.batch.push(i);
  }

  /** A mapping of frame `pa` (index `i`) went: if it is on the list, its next drain checks it again. */
  unmapped(i: number, pa: number): void {
    if (this.onList![i] !== 1) return;
    this.paOf![i] = pa;
    this.batch.push(i);
  }

  /**
   * The lock of [from, to) of `space` changed (Linux `mlock_fixup` → `mlock_vma_pages_range`):
   * queues every USER frame a 4 KiB leaf maps there.
   */
  queueRange(space: AddressSpace, from: number, to: number): void {
    const { k } = this;
    if (!this.active || space.root === 0 || to <= from) return;
    const { allocator } = k;
    k.editor.forEachLeaf({ root: space.root, startVpn: from, endVpn: to }, (l) => {
      if (l.level !== 1) return;
      const i = allocator.frameIndex(l.pa);
      if (i >= 0 && allocator.userRefsAt(i) > 0) this.queue(i, l.pa);
    });
  }

  /** The USER frame at index `i` was freed: off the list (munlocked and rescued, see the module documentation). */
  freed(i: number): void {
    if (this.onList === undefined || this.onList[i] !== 1) return;
    this.onList[i] = 0;
    this.size--;
    this.pgsMunlocked++;
    this.pgsRescued++;
  }

  /** Moves frame-table index `i` onto the list (Linux `mlock_folio`; the caller took it off the LRU). */
  private add(i: number): void {
    this.onList![i] = 1;
    this.size++;
    this.pgsMlocked++;
    this.pgsCulled++;
  }

  /**
   * A reclaim scan met USER frame index `i` that a locked VMA maps (Linux `shrink_folio_list`:
   * `!folio_evictable` → `activate_locked` → `folio_putback_lru` onto the unevictable list): the
   * policy already gave it up; it goes onto the list.
   */
  cull(i: number): void {
    this.start();
    if (this.onList![i] !== 1) this.add(i);
  }

  /**
   * Empties the batch (Linux `mlock_drain_local`): each queued frame still USER at its index moves
   * onto the list when a locked VMA maps it, back into the policy when it is on the list and none
   * does. Numbers only.
   */
  drain(lru: EvictableLru): void {
    const batch = this.batch;
    if (batch.length === 0) return;
    const { allocator } = this.k;
    const onList = this.onList!;
    const paOf = this.paOf!;
    for (let n = 0; n < batch.length; n++) {
      const i = batch[n]!;
      const pa = paOf[i]!;
      // Freed meanwhile (freed() took it off the list) or not a USER frame there any more.
      if (allocator.frameIndex(pa) !== i || allocator.userRefsAt(i) === 0) continue;
      const locked = this.locked(pa);
      if (locked === (onList[i] === 1)) continue;
      if (locked) {
        lru.isolate(i);
        this.add(i);
      } else {
        onList[i] = 0;
        this.size--;
        this.pgsMunlocked++;
        this.pgsRescued++;
        lru.putback(i, pa);
      }
    }
    batch.length = 0;
  }

  /**
   * The audit part (appends problems): the batch is empty between kernel calls; `size` is the
   * list's length; every frame on the list is a USER frame a locked VMA maps and is not on the
   * evictable side; every USER frame a locked VMA maps is on the list; with a policy, every other
   * USER frame mapped by a 4 KiB leaf or held by the swap cache alone is on the evictable side
   * (a frame is in the policy ⇔ it is an evictable user page on the LRU). Allocates (audit only).
   */
  audit(problems: string[], lru: EvictableLru | undefined): void {
    const { allocator, rmap } = this.k;
    if (this.batch.length > 0)
      problems.push(`reclaim: ${this.batch.length} frames wait in the mlock batch after the kernel call`);
    const onList = this.onList;
    let listed = 0;
    if (onList !== undefined) for (let i = 0; i < onList.length; i++) if (onList[i] === 1) listed++;
    if (listed !== this.size)
      problems.push(
        `reclaim: nr_unevictable is ${this.size} but the unevictable list holds ${listed} frames`,
      );
    allocator.forEachFrame((pa, state) => {
      const i = allocator.frameIndex(pa);
      const on = onList !== undefined && onList[i] === 1;
      if (state !== FrameState.USER) {
        if (on) problems.push(`reclaim: the unevictable list holds ${hex(pa)}, which is not a USER frame`);
        return;
      }
      const locked = this.locked(pa);
      if (on && !locked)
        problems.push(`reclaim: ${hex(pa)} is on the unevictable list, but no locked VMA maps it`);
      if (locked && !on)
        problems.push(`reclaim: ${hex(pa)} is mapped by a locked VMA but not on the unevictable list`);
      if (lru === undefined) return;
      const tracked = lru.tracks(i);
      if (on && tracked)
        problems.push(`reclaim: ${hex(pa)} is both on the unevictable list and in the policy`);
      if (on || tracked) return;
      // Untracked: only the frames of huge leaves (a huge page is never tracked) may be.
      let small = rmap.count(pa) === 0;
      rmap.forEach(pa, (space, vpn) => {
        if (space.lookup(vpn)?.level === 1) small = true;
      });
      if (small) problems.push(`reclaim: ${hex(pa)} is an evictable user page but not in the policy`);
    });
  }
}

/**
 * Whether the page at `vpn` of `space` must never be evicted: its VMA is mlocked (`lock` is
 * `'locked'` or `'onfault'`, Linux VM_LOCKED / VM_LOCKONFAULT: such pages go to the unevictable
 * list, mm/mlock.c). False outside any VMA.
 */
export function isUnevictable(_k: KernelContext, space: AddressSpace, vpn: number): boolean {
  const vma = space.vmas.find(vpn);
  if (vma === undefined) return false;
  const lock = (vma.value as { lock?: string }).lock;
  return lock === 'locked' || lock === 'onfault';
}
