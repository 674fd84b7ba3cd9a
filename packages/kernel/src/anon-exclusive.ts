/**
 * PG_anon_exclusive, kept per 4 KiB frame exactly as Linux keeps it (include/linux/page-flags.h
 * `PageAnonExclusive`; the rules are in mm/memory.c and mm/rmap.c): whether an anonymous page is
 * exclusive to the one PTE that maps it, so that a write needs no copy-on-write break and a
 * swap-out may mark its swap PTE SWP_EXCLUSIVE.
 *
 * | Linux                                                        | mmkit                              |
 * |--------------------------------------------------------------|------------------------------------|
 * | set: `do_anonymous_page` → `folio_add_new_anon_rmap` (RMAP_EXCLUSIVE) | a fresh frame mapped by a fault, MAP_POPULATE, mlock, exec, eager fork (`AddressSpace.allocPage`, `fillAbsentSlot`), a MAP_HUGETLB fault (every subpage) |
 * | set: `wp_page_copy` (a copy or a zeroed page)                 | cow.ts's copy and zero-fill        |
 * | set: `wp_page_reuse` after `wp_can_reuse_anon_folio`           | cow.ts's reuse                     |
 * | set: `do_swap_page` with RMAP_EXCLUSIVE (`exclusive` swap PTE, or `folio_ref_count == 1`) | swap-in.ts |
 * | clear: `copy_present_pte` → `folio_try_dup_anon_rmap_pte` (fork shares the page) | fork-copy.ts, both copies not exclusive |
 * | clear: `try_to_unmap_one` → `folio_try_share_anon_rmap_pte` (the swap PTE carries it) | swap-out.ts |
 * | cleared when the page is freed (`free_pages_prepare`)          | the allocator zeroes {@link AnonExclusive.flags} on free |
 *
 * mremap and mprotect keep it (the frame does not change). fork with `fork: 'eager'` copies like
 * Linux's `copy_present_page` (a pinned page): the child's copy is exclusive, the parent's page
 * stays so. Pages of MAP_SHARED objects, devices and the zero page never have it. Pages exec
 * loads from a file are private frames in mmkit (there is no page cache): they count as fresh
 * anonymous pages, so a writable one is exclusive (Linux would copy it from the page cache on
 * the first write). The seed API's `mapPage` marks a frame it maps into a private VMA exclusive
 * when no other PTE maps it (and clears the flag when one does).
 *
 * Used by: swap-out (SWP_EXCLUSIVE exactly when the page was anon-exclusive), mprotect and lazy
 * PTE upgrades (`can_change_pte_writable`: a private page becomes writable in place only when
 * anon-exclusive, `AddressSpace.leafAttrsFor`). `do_wp_page` reuses a page when it is
 * anon-exclusive OR `wp_can_reuse_anon_folio` passes; mmkit's reuse test is the second alone
 * (the writer's reference is the only one once a swap-cache page gave up its slot), which is
 * the same decision: an anon-exclusive frame is mapped by exactly one PTE and holds no other
 * reference but the swap cache's, whose slot no swap PTE names — so `freeSwapForReuse` frees
 * the slot and the reference count is 1. `audit()` checks exactly those facts for every
 * anon-exclusive frame ({@link auditExclusiveFrame}), so the equivalence is proved, not assumed.
 *
 * Ownership: the kernel owns one {@link AnonExclusive} (one byte per frame-table index); the
 * allocator clears a frame's byte when it frees the frame.
 *
 * Invariants (checked by `audit()`): an anon-exclusive frame is a USER frame mapped by exactly
 * one PTE, in a private VMA, with reference count 1 (+1 while in the swap cache, whose slot only
 * the cache names); a user-writable leaf of a private VMA maps anon-exclusive frames only.
 */
import { hex, PAGE_SIZE, vaOf } from '@mmkit/core';
import type { KernelContext } from './context.js';
import { isCowVma } from './vma.js';

/** @internal Page-flag bit of {@link AnonExclusive.flags}: PG_anon_exclusive. */
export const PG_ANON_EXCLUSIVE = 1;
/**
 * @internal Page-flag bit of {@link AnonExclusive.flags}: a lazily freed anonymous page (MADV_FREE;
 * Linux clears PG_swapbacked, `folio_mark_lazyfree`). Set by madvise.ts, cleared by reclaim
 * (frame-marks.ts).
 */
export const PG_LAZYFREE = 2;
/**
 * @internal Page-flag bit of {@link AnonExclusive.flags}: PG_dirty of an anonymous page — the frame
 * holds the only up-to-date copy whatever its PTEs say (frame-marks.ts: set by `folio_free_swap`
 * and reclaim's `folio_mark_dirty`, cleared by MADV_FREE).
 */
export const PG_DIRTY = 4;

/** @internal What {@link AnonExclusive} needs of the page allocator. */
export interface FrameIndexer {
  /** Frame-table index of the frame containing `pa`, or -1 outside the pool. */
  frameIndex(pa: number): number;
  /** Size of the frame table. */
  readonly frameIndexCount: number;
  /** A per-frame byte table zeroed when its frame is freed. */
  clearOnFree: Uint8Array | undefined;
}

/** @internal PG_anon_exclusive of every frame (see the module documentation). */
export class AnonExclusive {
  /**
   * Per frame-table index (`PageAllocator.frameIndex`): the frame's page flags, bit 0
   * ({@link PG_ANON_EXCLUSIVE}) PG_anon_exclusive, bit 1 ({@link PG_LAZYFREE}) the MADV_FREE mark,
   * bit 2 ({@link PG_DIRTY}) PG_dirty (frame-marks.ts); all zeroed when the frame is freed.
   */
  readonly flags: Uint8Array;
  /** Frame-table indices whose flag the fork under way cleared (restored if the fork fails). */
  private forkCleared = new Int32Array(1024);
  /** How many of {@link forkCleared} are in use. */
  private forkClearedCount = 0;

  constructor(private readonly allocator: FrameIndexer) {
    this.flags = new Uint8Array(allocator.frameIndexCount);
    allocator.clearOnFree = this.flags;
  }

  /** Whether frame `pa` is anon-exclusive (false for a frame outside the pool). */
  has(pa: number): boolean {
    const i = this.allocator.frameIndex(pa);
    return i >= 0 && (this.flags[i]! & PG_ANON_EXCLUSIVE) !== 0;
  }

  /** Whether each of the `pages` frames from `pa` is anon-exclusive. */
  all(pa: number, pages: number): boolean {
    for (let j = 0; j < pages; j++) if (!this.has(pa + j * PAGE_SIZE)) return false;
    return true;
  }

  /**
   * Marks the `pages` frames from `pa` anon-exclusive (RMAP_EXCLUSIVE: a page mapped by one PTE
   * only; a huge page has the flag on every subpage, as Linux keeps it per page).
   */
  set(pa: number, pages = 1): void {
    const { allocator, flags } = this;
    if (pages === 1) {
      const i = allocator.frameIndex(pa);
      if (i >= 0) flags[i] = flags[i]! | PG_ANON_EXCLUSIVE;
      return;
    }
    for (let j = 0; j < pages; j++) {
      const i = allocator.frameIndex(pa + j * PAGE_SIZE);
      if (i >= 0) flags[i] = flags[i]! | PG_ANON_EXCLUSIVE;
    }
  }

  /** @internal {@link set} for the pool frame at frame-table index `i` (the copy a COW fault just allocated). */
  setAt(i: number): void {
    this.flags[i] = this.flags[i]! | PG_ANON_EXCLUSIVE;
  }

  /** Clears the flag of the `pages` frames from `pa`. */
  clear(pa: number, pages = 1): void {
    const { allocator, flags } = this;
    for (let j = 0; j < pages; j++) {
      const i = allocator.frameIndex(pa + j * PAGE_SIZE);
      if (i >= 0) flags[i] = flags[i]! & ~PG_ANON_EXCLUSIVE;
    }
  }

  /** Starts a fork's copy: {@link share} records what it clears from now on. */
  beginFork(): void {
    this.forkClearedCount = 0;
  }

  /**
   * fork shares the `pages` frames from `pa` with the child (Linux `folio_try_dup_anon_rmap_pte`):
   * neither copy is exclusive. Recorded for {@link rollbackFork}.
   */
  share(pa: number, pages = 1): void {
    for (let j = 0; j < pages; j++) {
      const i = this.allocator.frameIndex(pa + j * PAGE_SIZE);
      if (i >= 0) this.shareIndex(i);
    }
  }

  /** {@link share} for frame-table index `i` (fork's table-at-a-time copy). */
  shareIndex(i: number): void {
    const flags = this.flags;
    if ((flags[i]! & PG_ANON_EXCLUSIVE) === 0) return;
    flags[i] = flags[i]! & ~PG_ANON_EXCLUSIVE;
    let log = this.forkCleared;
    const n = this.forkClearedCount;
    if (n === log.length) {
      log = new Int32Array(n * 2);
      log.set(this.forkCleared);
      this.forkCleared = log;
    }
    log[n] = i;
    this.forkClearedCount = n + 1;
  }

  /** The fork failed (nothing may change): the flags it cleared are set again. */
  rollbackFork(): void {
    const { flags, forkCleared } = this;
    for (let j = 0; j < this.forkClearedCount; j++) {
      const i = forkCleared[j]!;
      flags[i] = flags[i]! | PG_ANON_EXCLUSIVE;
    }
    this.forkClearedCount = 0;
  }

  /** Anon-exclusive frames (a scan of the table, for the audit). */
  count(): number {
    const flags = this.flags;
    let n = 0;
    for (let i = 0; i < flags.length; i++) n += flags[i]! & PG_ANON_EXCLUSIVE;
    return n;
  }
}

/**
 * The audit of one USER frame `pa` with reference count `refcount` that is anon-exclusive: mapped
 * by exactly one PTE (the reverse map, which the audit proves equal to the page tables), in a
 * private VMA (a PTE outside any VMA is reported by the audit already), with no reference but
 * that PTE's and the swap cache's (checked when `refcountChecked`: the refcount matches the
 * mappings, else the audit reported that already), and — in the swap cache — a slot no swap
 * PTE names. Pushes what is wrong to `problems`.
 */
export function auditExclusiveFrame(
  k: KernelContext,
  pa: number,
  refcount: number,
  refcountChecked: boolean,
  problems: string[],
): void {
  const at = `anon-exclusive frame ${hex(pa)}`;
  const n = k.rmap.count(pa);
  if (n !== 1) {
    problems.push(`${at} is mapped by ${n} PTEs (PG_anon_exclusive: exactly one)`);
    return;
  }
  k.rmap.forEach(pa, (space, vpn) => {
    const vma = space.vmas.find(vpn);
    if (vma !== undefined && !isCowVma(vma.value))
      problems.push(`${at} is mapped at ${hex(vaOf(vpn), 16)} of pid ${space.pid}, not in a private VMA`);
  });
  const sw = k.swap;
  const i = k.allocator.frameIndex(pa);
  const type = sw.frameType[i]!;
  const cached = type >= 0 ? 1 : 0;
  if (refcountChecked && refcount !== 1 + cached)
    problems.push(
      `${at} has refcount ${refcount}, expected ${1 + cached} (its PTE${cached ? ' and the swap cache' : ''})`,
    );
  if (cached && sw.devices[type]?.counts[sw.frameOffset[i]!] !== 1)
    problems.push(`${at} is in the swap cache, but swap PTEs still name its slot`);
}

/**
 * The rest of the anon-exclusive audit after the frame pass found `seen` anon-exclusive frames of
 * state `user`: any other flagged frame (free, a page table, kernel, reserved) is named.
 */
export function auditExclusiveOthers(k: KernelContext, seen: number, user: number, problems: string[]): void {
  const ax = k.anonExclusive;
  if (ax.count() === seen) return;
  k.allocator.forEachFrame((pa, state) => {
    if (state !== user && ax.has(pa))
      problems.push(`anon-exclusive flag on frame ${hex(pa)}, which is not a USER frame`);
  });
}
