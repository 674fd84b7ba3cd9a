/**
 * Swap-out: one frame through the reverse map ({@link reclaimFrame}, the primitive reclaim
 * calls), the batched TLB invalidations of several, and `madvise(MADV_PAGEOUT)`'s walk (the
 * design is described in `swap.ts`).
 */
import { type FlushObligation, hex, isLeafDirty, vaOf } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { isFrameDirty, LAZY_DISCARDED, LAZY_NONE, tryToUnmapLazyFree } from './frame-marks.js';
import { FrameState } from './page-allocator.js';
import { swapEvent } from './swap-device.js';
import { isCowVma } from './vma.js';

/** {@link unswappable}'s reason for a frame something besides its mappings holds (a pin). */
export const PINNED = 'holds references besides its mappings';
/** The reason reclaim gives a swappable frame for which no device has a free slot. */
export const NO_SLOT = 'no free swap slot';

/**
 * Why a frame cannot be swapped out now (a sentence; {@link PINNED} for a pinned one), or undefined
 * when it can (see {@link reclaimFrame}).
 */
export function unswappable(k: KernelContext, pa: number): string | undefined {
  const { allocator, rmap } = k;
  if (k.swap.codec === undefined) return 'the backend has no swap-entry encoding';
  if (!allocator.owns(pa) || allocator.stateOf(pa) !== FrameState.USER) return 'not a USER frame';
  const cached = k.swap.cacheSlotOf(pa) !== undefined;
  let bad: string | undefined;
  let n = 0;
  rmap.forEach(pa, (space, vpn) => {
    n++;
    if (bad !== undefined) return;
    const vma = space.vmas.find(vpn);
    // Only private anonymous memory is swap-backed: MAP_SHARED pages belong to their object
    // (Linux: shmem swaps through its own path), device pages have no frame, the zero page is
    // never in the reverse map, and pages loaded from a file (mmkit has no page cache to drop
    // them to) stay. A huge leaf is never swapped (Linux never swaps hugetlbfs pages, VM_HUGETLB,
    // and mmkit does not split a huge page to swap it); the 4 KiB pages of a MAP_HUGETLB VMA — a
    // split huge leaf's, or those faulted where no whole huge page fit — are ordinary anonymous
    // pages, as a split THP's subpages are (`lru_add_split_folio` puts them on the LRU).
    if (!vma || !isCowVma(vma.value) || vma.value.file) bad = 'not private anonymous memory';
    else {
      const ref = space.lookup(vpn);
      if (ref?.entry.kind !== 'leaf' || ref.level !== 1) bad = 'not mapped by a 4 KiB leaf';
    }
  });
  if (bad !== undefined) return bad;
  if (n === 0 && !cached) return 'not mapped';
  // Any other reference (a pin) keeps the frame: Linux's reclaim checks the same
  // (`folio_ref_freeze` fails on an extra reference).
  if (allocator.refCount(pa) !== n + (cached ? 1 : 0)) return PINNED;
  return undefined;
}

/**
 * The TLB invalidations of a batch of swap-outs, one obligation per address space, discharged
 * once at the end (Linux batches them the same way: `TTU_BATCH_FLUSH`, `try_to_unmap_flush`).
 * Nothing runs on the CPUs between the swap-outs of a batch, and no frame it frees is handed out
 * before the end, so no CPU can use a stale translation.
 */
export class FlushBatch {
  private readonly flushes = new Map<AddressSpace, FlushObligation>();
  constructor(private readonly k: KernelContext) {}
  /** Records that page `vpn` of `space` lost its translation. */
  add(space: AddressSpace, vpn: number): void {
    let f = this.flushes.get(space);
    if (f === undefined) {
      f = this.k.editor.newFlush({ asid: space.asid, threshold: this.k.flushThreshold });
      this.flushes.set(space, f);
    }
    f.addPage(vpn);
  }
  /** Runs every recorded invalidation on every CPU. */
  discharge(): void {
    for (const f of this.flushes.values()) this.k.discharge(f);
    this.flushes.clear();
  }
}

/**
 * Swaps out one frame (the primitive reclaim calls; Linux `shrink_folio_list` for an anonymous
 * folio: `add_to_swap`, `try_to_unmap`, `pageout`, `__remove_mapping`): for a USER frame of
 * private anonymous memory, takes a slot (or the one its swap-cache entry has), replaces every
 * PTE mapping it (found through the reverse map) by the swap entry — each a removed
 * translation, invalidated on every CPU (break, TLBI, as `ptep_clear_flush`), with SWP_EXCLUSIVE
 * for an anon-exclusive page (PG_anon_exclusive, anon-exclusive.ts) — writes the contents to the slot unless the frame is a
 * clean swap-cache page (not PG_dirty and no PTE dirty since it was read: the slot holds it
 * already; swap-cache.ts) and frees the frame. A lazily freed frame (MADV_FREE) is the caller's
 * to handle first (frame-marks.ts `tryToUnmapLazyFree`). Returns false, with nothing changed, for a frame that
 * cannot be swapped (see {@link unswappable}: shared, device, zero page, kernel, huge, pinned) or
 * when every device is full. With a `batch`, the invalidations are left to it (the caller
 * discharges it before anything else runs).
 */
export function reclaimFrame(k: KernelContext, pa: number, batch?: FlushBatch): boolean {
  if (unswappable(k, pa) !== undefined) return false;
  const sw = k.swap;
  const codec = sw.codec!;
  const cachedSlot = sw.cacheSlotOf(pa);
  const slot = cachedSlot ?? sw.allocSlot();
  if (slot === undefined) return false;
  const { dev, offset } = slot;
  const { editor, allocator, rmap } = k;
  const mappings = rmap.mappings(pa);
  // shrink_folio_list's folio_test_dirty after try_to_unmap: add_to_swap marks a page it adds to
  // the swap cache dirty (not written yet), a page PG_dirty already is (frame-marks.ts: never a
  // swap-cache page here), and try_to_unmap_one moves each PTE's dirty bit into the folio
  // (folio_mark_dirty). SWP_EXCLUSIVE exactly when the page is anon-exclusive (`anon_exclusive =
  // folio_test_anon(folio) && PageAnonExclusive(subpage)`; such a page is mapped by this one PTE,
  // anon-exclusive.ts), and `folio_try_share_anon_rmap_pte` clears the flag: the swap PTE carries it now.
  let dirty = cachedSlot === undefined || isFrameDirty(k, pa);
  const exclusive = codec.flagBits.exclusive !== undefined && k.anonExclusive.has(pa);
  k.anonExclusive.clear(pa);
  const refs = mappings.map((m) => m.space.lookup(m.vpn)!);
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i]!;
    // Linux try_to_unmap_one: pte_dirty (arm64: also PTE_DIRTY on a leaf mprotect made read-only).
    if (ref.entry.kind === 'leaf' && isLeafDirty(k.arch.description, ref.entry.attrs)) dirty = true;
  }
  const raw = codec.encode({ type: dev.type, offset, exclusive });
  const ev = k.events;
  // pageout → swap_writepage only for a dirty folio: a clean swap-cache page's slot already
  // holds its contents (shrink_folio_list drops it without I/O; pswpout does not count it).
  if (dirty) sw.writeSlot(dev, offset, pa); // before the PTEs go: a CPU may have written up to now
  for (let i = 0; i < mappings.length; i++) {
    const m = mappings[i]!;
    const space = m.space;
    const ref = refs[i]!;
    editor.writeRaw(ref.descriptorPa, raw.lo, raw.hi);
    if (batch !== undefined) batch.add(space, m.vpn);
    else {
      const flush = editor.newFlush({ asid: space.asid });
      flush.addPage(m.vpn);
      k.discharge(flush);
    }
    space.residentPages--;
    space.swapEntries++;
    rmap.remove(pa, space, m.vpn);
    dev.counts[offset]!++;
    if (ev.active) {
      ev.emit({
        type: 'unmap',
        space: `pid ${space.pid}`,
        va: vaOf(m.vpn),
        pa,
        sizeBytes: k.bounds.pageBytes,
      });
      ev.emit(
        swapEvent(
          'swap-out',
          space.pid,
          vaOf(m.vpn),
          pa,
          dev.type,
          offset,
          false,
          dirty ? `to ${dev.name} slot ${offset}` : `clean: ${dev.name} slot ${offset} already holds it`,
        ),
      );
    }
    allocator.unref(pa);
  }
  if (cachedSlot !== undefined) {
    // The cache's reference is the last one: dropping the entry frees the frame.
    sw.uncache(dev, offset);
  } else {
    dev.counts[offset]!--; // the allocation's count: the PTEs now hold the slot
  }
  if (allocator.stateOf(pa) !== FrameState.FREE)
    throw new Error(`kernel bug: swapped-out frame ${hex(pa)} not freed`);
  sw.lastOutType = dev.type;
  sw.lastOutOffset = offset;
  return true;
}

/**
 * The page walk of `madvise(MADV_PAGEOUT)` (Linux 6.x `madvise_pageout` →
 * `madvise_cold_or_pageout_pte_range` → `reclaim_pages`): every present 4 KiB PTE of
 * [vpnStart, vpnEnd) in private anonymous VMAs whose frame only this PTE maps is swapped out.
 * Skipped as Linux skips them: the zero page and device pages (`vm_normal_folio` gives none),
 * frames mapped more than once — shared copy-on-write with another process (Linux: "Do not
 * interfere with other mappings of this folio", `folio_mapcount != 1`; the "unless" is for file
 * pages the caller may write, `can_do_file_pageout`, which mmkit does not have), huge leaves
 * (hugetlbfs; the dispatcher refuses VM_HUGETLB with EINVAL), and pages reclaim cannot take
 * (pinned, or no free slot). A lazily freed page is reclaim's as always (`shrink_folio_list`):
 * dropped when clean ({@link tryToUnmapLazyFree}, counted), made swap-backed and activated — not
 * swapped — when written since. Returns the pages reclaimed (swapped out or dropped).
 */
export function pageOutRange(
  k: KernelContext,
  space: AddressSpace,
  vpnStart: number,
  vpnEnd: number,
): number {
  if (space.root === 0 || vpnEnd <= vpnStart || k.swap.codec === undefined) return 0;
  const { rmap, zeroPage } = k;
  const candidates: number[] = [];
  k.editor.forEachLeaf({ root: space.root, startVpn: vpnStart, endVpn: vpnEnd }, (l) => {
    if (l.level !== 1 || l.pa === zeroPage) return;
    if (rmap.count(l.pa) !== 1) return;
    candidates.push(l.pa);
  });
  let n = 0;
  const batch = new FlushBatch(k);
  try {
    for (const pa of candidates) {
      const lazy = tryToUnmapLazyFree(k, pa);
      if (lazy === LAZY_DISCARDED) n++;
      else if (lazy !== LAZY_NONE)
        k.reclaimer.activateFrame(pa); // activate_locked
      else if (reclaimFrame(k, pa, batch)) n++;
    }
  } finally {
    batch.discharge();
  }
  return n;
}
