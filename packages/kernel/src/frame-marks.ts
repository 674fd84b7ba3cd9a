/**
 * The per-frame marks that madvise gives and reclaim reads (the page flags of Linux's
 * include/linux/page-flags.h that mmkit models for anonymous memory besides PG_anon_exclusive):
 *
 * | mark | Linux | set | cleared | read |
 * |------|-------|-----|---------|------|
 * | lazy free ({@link PG_LAZYFREE}) | PG_swapbacked cleared (`folio_mark_lazyfree`) | MADV_FREE (madvise.ts) | reclaim finding the page dirty or referenced elsewhere (`folio_set_swapbacked`); free | reclaim ({@link tryToUnmapLazyFree}), MADV_PAGEOUT |
 * | dirty ({@link PG_DIRTY}) | PG_dirty of an anonymous folio | a page giving up its swap slot while it survives (`folio_free_swap` → `folio_set_dirty`, `SwapManager.uncache`); reclaim moving a dirty PTE's bit to a lazily freed page (`try_to_unmap_one` → `folio_mark_dirty`) | MADV_FREE (`folio_clear_dirty`); free | MADV_FREE's skip rule, reclaim's discard test, swap-out's "write or not" |
 * | cold | `folio_deactivate` (MADV_COLD, PAGEOUT) | madvise.ts | an access (the accessed bit), free by a zap or a discard | reclaim ({@link isColdFrame}) |
 *
 * PG_dirty of an anonymous page means "the only up-to-date copy is this frame, whatever its PTEs
 * say": Linux sets it where the swap copy goes (`folio_free_swap`) and where a PTE's dirty bit is
 * moved into the folio (`try_to_unmap_one`); zap does not move it for anonymous pages
 * (`zap_present_folio_ptes` calls `folio_mark_dirty` only for file folios), and a frame mmkit
 * swaps out is written and freed in one step (`pageout`, then `__remove_mapping`), so those are
 * the only two places here. A page added to swap (`add_to_swap`) is dirty until written: mmkit
 * writes it in the same step (swap-out.ts).
 *
 * Invariants (checked by `audit()`, {@link auditFrameMarks}): only USER frames carry lazy free or
 * dirty; a lazily freed frame is neither dirty (MADV_FREE clears it, and a lazily freed frame is
 * never in the swap cache, so `folio_free_swap` cannot dirty it) nor in the swap cache.
 *
 * Ownership: lazy free and dirty live in `AnonExclusive.flags` (zeroed when a frame is freed);
 * the cold marks in a per-kernel table here.
 */
import { hex, isLeafDirty, type LeafAttributes } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import { PG_DIRTY, PG_LAZYFREE } from './anon-exclusive.js';
import type { KernelContext } from './context.js';
import { FrameState } from './page-allocator.js';
import { invalidArgument } from './syscalls.js';

/** Per-kernel frame marks (cold), by frame-table index. */
const coldMarks = new WeakMap<KernelContext, Uint8Array>();

/** @internal The cold marks of kernel `k`, by frame-table index (created on first use). */
export function coldOf(k: KernelContext): Uint8Array {
  let m = coldMarks.get(k);
  if (m === undefined) {
    m = new Uint8Array(k.allocator.frameIndexCount);
    coldMarks.set(k, m);
  }
  return m;
}

/** @throws InvalidArgumentError unless `pa` is a page-aligned physical address (a safe integer). */
export function checkFramePa(k: KernelContext, pa: unknown): asserts pa is number {
  if (typeof pa !== 'number' || !Number.isSafeInteger(pa) || pa < 0 || pa % k.bounds.pageBytes !== 0)
    throw invalidArgument('pa', pa, 'a page-aligned physical address');
}

/** Linux `folio_test_dirty` for the frame at frame-table index `i` (-1: outside the pool, false). */
export function isFrameDirtyIndex(k: KernelContext, i: number): boolean {
  return i >= 0 && (k.anonExclusive.flags[i]! & PG_DIRTY) !== 0;
}

/** Linux `folio_test_dirty` for USER frame `pa` (see the module documentation). */
export function isFrameDirty(k: KernelContext, pa: number): boolean {
  return isFrameDirtyIndex(k, k.allocator.frameIndex(pa));
}

/** What {@link tryToUnmapLazyFree} did: one of {@link LAZY_NONE}, {@link LAZY_DISCARDED}, {@link LAZY_REDIRTIED}. */
export type LazyFreeOutcome = 0 | 1 | 2;
/** Not a lazily freed frame, or one a locked VMA maps: nothing changed. */
export const LAZY_NONE = 0;
/** Clean and referenced only by its PTEs: every PTE cleared, the frame freed. */
export const LAZY_DISCARDED = 1;
/** Written since (a dirty PTE, PG_dirty) or referenced elsewhere: swap-backed again, to be activated. */
export const LAZY_REDIRTIED = 2;

/**
 * Reclaim's unmap of a lazily freed frame (Linux `try_to_unmap_one` on a `!folio_test_swapbacked`
 * anon folio, mm/rmap.c). When the USER frame `pa` carries the MADV_FREE mark:
 * - a locked (mlock) VMA maps it: {@link LAZY_NONE}, nothing changed
 *   (try_to_unmap_one stops at a VM_LOCKED VMA; reclaim culls the page);
 * - no PTE mapping it is dirty (`pte_dirty`: core `isLeafDirty`), the frame is not PG_dirty and
 *   nothing but its PTEs holds a reference (`ref_count == 1 + map_count`, the 1 being reclaim's
 *   isolation): every PTE is cleared, the TLBs invalidated, the frame freed — the next read of
 *   those pages sees zeros — {@link LAZY_DISCARDED};
 * - otherwise the page is live again: a dirty PTE's bit goes to the frame (`folio_mark_dirty`),
 *   the mark is cleared (`folio_set_swapbacked`), the PTEs stay as they are —
 *   {@link LAZY_REDIRTIED}; try_to_unmap fails and `shrink_folio_list` goes to
 *   `activate_locked`: the caller activates the page, it is NOT swapped out in this pass.
 *
 * Linux unmaps VMA by VMA in rmap order and may discard the clean mappings it meets before the
 * dirty one; mmkit decides for the frame first and keeps every mapping (the result Linux has when
 * it meets the dirty mapping first), so a failed discard changes no PTE.
 */
export function tryToUnmapLazyFree(k: KernelContext, pa: number): LazyFreeOutcome {
  if (!isLazyFreeFrame(k, pa)) return LAZY_NONE;
  const { allocator, rmap } = k;
  const maps = rmap.mappings(pa);
  const refs: { space: AddressSpace; vpn: number; attrs: LeafAttributes }[] = [];
  for (const m of maps) {
    const ref = m.space.lookup(m.vpn);
    if (ref?.entry.kind !== 'leaf' || ref.level !== 1) return LAZY_NONE;
    if (m.space.vmas.find(m.vpn)?.value.lock !== 'none') return LAZY_NONE;
    refs.push({ space: m.space, vpn: m.vpn, attrs: ref.entry.attrs });
  }
  const d = k.arch.description;
  const i = allocator.frameIndex(pa);
  const flags = k.anonExclusive.flags;
  // pteval = ptep_clear_flush(…); if (pte_dirty(pteval)) folio_mark_dirty(folio);
  if (refs.some((r) => isLeafDirty(d, r.attrs))) flags[i] = flags[i]! | PG_DIRTY;
  // if (ref_count == 1 + map_count && !folio_test_dirty(folio)) goto discard;
  if (maps.length === 0 || allocator.refCount(pa) !== maps.length || isFrameDirtyIndex(k, i)) {
    flags[i] = flags[i]! & ~PG_LAZYFREE; // set_pte_at(…, pteval); folio_set_swapbacked(folio)
    return LAZY_REDIRTIED;
  }
  coldOf(k)[i] = 0;
  for (const r of refs) {
    const flush = k.editor.newFlush({ asid: r.space.asid });
    r.space.clearLeaves(r.vpn, r.vpn + 1, flush);
    k.discharge(flush);
  }
  return LAZY_DISCARDED;
}

/**
 * {@link tryToUnmapLazyFree} as the facade's `discardLazyFree` reports it: true when the frame was
 * dropped; false when it had no mark, a locked VMA maps it, or it was found live (then it is
 * swap-backed again, and dirty when a PTE was).
 * @throws InvalidArgumentError for a `pa` that is not a page-aligned number.
 */
export function discardLazyFree(k: KernelContext, pa: number): boolean {
  checkFramePa(k, pa);
  return tryToUnmapLazyFree(k, pa) === LAZY_DISCARDED;
}

/**
 * Whether USER frame `pa` carries the MADV_FREE mark (Linux: an anon folio without
 * PG_swapbacked): set by MADV_FREE, cleared by reclaim's `folio_set_swapbacked` or when the
 * frame is freed.
 */
export function isLazyFreeFrame(k: KernelContext, pa: number): boolean {
  const { allocator } = k;
  const i = allocator.frameIndex(pa);
  return (
    i >= 0 && allocator.stateOf(pa) === FrameState.USER && (k.anonExclusive.flags[i]! & PG_LAZYFREE) !== 0
  );
}

/** Whether the page `vpn` of `space` maps a frame MADV_FREE marked lazy free ({@link isLazyFreeFrame}). */
export function isLazyFree(k: KernelContext, space: AddressSpace, vpn: number): boolean {
  const ref = space.lookup(vpn);
  return ref?.entry.kind === 'leaf' && ref.level === 1 && isLazyFreeFrame(k, ref.entry.pa);
}

/**
 * Whether reclaim should take USER frame `pa` early: MADV_COLD (or PAGEOUT) marked it and no PTE
 * mapping it has been accessed since (an access sets the accessed bit again: the page is in use,
 * as Linux's reclaim re-activates a referenced inactive folio).
 */
export function isColdFrame(k: KernelContext, pa: number): boolean {
  checkFramePa(k, pa);
  const { allocator } = k;
  const i = allocator.frameIndex(pa);
  if (i < 0 || coldOf(k)[i] === 0 || allocator.stateOf(pa) !== FrameState.USER) return false;
  let cold = true;
  k.rmap.forEach(pa, (space, vpn) => {
    const ref = space.lookup(vpn);
    if (ref?.entry.kind === 'leaf' && ref.entry.attrs.accessed) cold = false;
  });
  return cold;
}

/**
 * The audit of the lazy-free and dirty marks (see the module documentation): only a USER frame
 * carries one (the allocator zeroes a frame's page flags when it frees it), and a lazily freed
 * frame is neither dirty nor in the swap cache. Pushes each violation to `problems`.
 */
export function auditFrameMarks(k: KernelContext, problems: string[]): void {
  const flags = k.anonExclusive.flags;
  const marks = PG_LAZYFREE | PG_DIRTY;
  let any = false;
  for (let i = 0; i < flags.length; i++)
    if ((flags[i]! & marks) !== 0) {
      any = true;
      break;
    }
  if (!any) return;
  const { allocator } = k;
  allocator.forEachFrame((pa, state) => {
    const f = flags[allocator.frameIndex(pa)]!;
    if ((f & marks) === 0) return;
    const what = (f & PG_LAZYFREE) !== 0 ? 'MADV_FREE (lazy-free)' : 'PG_dirty';
    if (state !== FrameState.USER)
      problems.push(`${what} mark on frame ${hex(pa)}, which is not a USER frame`);
    else if ((f & PG_LAZYFREE) !== 0 && (f & PG_DIRTY) !== 0)
      problems.push(`frame ${hex(pa)} is both lazily freed and PG_dirty (MADV_FREE clears PG_dirty)`);
    else if ((f & PG_LAZYFREE) !== 0 && k.swap.cacheSlotOf(pa) !== undefined)
      problems.push(`lazily freed frame ${hex(pa)} is in the swap cache (folio_mark_lazyfree skips those)`);
  });
}
