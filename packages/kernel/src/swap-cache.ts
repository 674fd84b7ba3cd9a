/**
 * The swap cache kept after swap-in (the design is described in `swap.ts`): when a swapped-out
 * page comes back, Linux leaves it in the swap cache with its slot, so that a page nobody writes
 * can be reclaimed again without a second write (mm/memory.c `do_swap_page` →
 * `should_try_to_free_swap`; mm/vmscan.c `shrink_folio_list` writes only a dirty folio). The slot
 * goes when the page is written through a fault (`folio_free_swap` on a write swap-in, or in
 * `do_wp_page`'s reuse test `wp_can_reuse_anon_folio`), when swap is more than half full
 * (`vm_swap_full`), in a locked VMA, or when the last PTE mapping the page goes
 * (`free_swap_cache`).
 *
 * Dirty state is the architecture's (the PTE's hardware dirty bit, or its writability where the
 * hardware has no dirty state: such a writable leaf is always mapped dirty, see attributes.ts).
 * Every rewrite of a leaf keeps its dirty state in the PTE as Linux does (fork, mprotect, and the
 * lazy upgrade of a leaf to its VMA, cow.ts `upgradeLeaf`), and reclaim reads it there. A
 * swap-cache page is never PG_dirty in mmkit (frame-marks.ts: the flag is set when the page
 * leaves the cache), so "write it again?" is exactly "is one of its PTEs dirty?" (swap-out.ts).
 *
 * Ownership: nothing of its own; the swap cache's tables live in {@link SwapManager}.
 */
import type { KernelContext } from './context.js';

/**
 * Linux `folio_free_swap` (mm/swapfile.c): when frame `pa` is in the swap cache and no swap PTE
 * names its slot any more (`folio_swapped` is false), the cache entry and the slot are freed and
 * the cache's reference on the frame dropped. True when freed. The caller holds another reference
 * when the frame must survive.
 */
export function freeSwap(k: KernelContext, pa: number): boolean {
  const sw = k.swap;
  const i = k.allocator.frameIndex(pa);
  if (i < 0 || sw.frameType[i]! < 0) return false;
  const dev = sw.devices[sw.frameType[i]!]!;
  const offset = sw.frameOffset[i]!;
  if (dev.counts[offset] !== 1) return false; // another swap PTE still names the slot
  sw.uncache(dev, offset);
  return true;
}

/**
 * After a PTE mapping USER frame `pa` went (munmap, exit, exec; Linux `free_pages_and_swap_cache`
 * → `free_swap_cache`): a swap-cache frame that nothing maps any more is freed with its slot when
 * no swap PTE names the slot.
 */
export function freeSwapCacheIfUnmapped(k: KernelContext, pa: number): void {
  const i = k.allocator.frameIndex(pa);
  if (i < 0 || k.swap.frameType[i]! < 0 || k.rmap.count(pa) !== 0) return;
  freeSwap(k, pa);
}

/**
 * `do_wp_page`'s reuse test for a swap-cache frame (Linux `wp_can_reuse_anon_folio`): when the
 * writer's PTE and the swap cache hold the only references, the swap is freed
 * ({@link freeSwap}) so the frame can be reused in place; a page other swap PTEs still name stays
 * cached (and is copied).
 */
export function freeSwapForReuse(k: KernelContext, pa: number): void {
  const i = k.allocator.frameIndex(pa);
  if (i < 0 || k.swap.frameType[i]! < 0 || k.allocator.refCount(pa) !== 2) return;
  freeSwap(k, pa);
}

/**
 * Linux `shrink_folio_list`'s `activate_locked` for frame `pa`, which reclaim keeps — referenced
 * and activated, mlocked, or pinned: a swap-cache page gives up its slot (`folio_free_swap`, when
 * no swap PTE names it any more) when swap is more than half full (`mem_cgroup_swap_full` →
 * `vm_swap_full`; mmkit has no memory cgroups) or the page is mlocked. The caller checks those
 * conditions. The page stays mapped; reclaiming it later takes a fresh slot. (A clean swap-cache
 * page reclaim does take is dropped without a write and keeps its slot: `reclaimFrame`.)
 */
export function keepSwapCache(k: KernelContext, pa: number): void {
  if (k.swap.cacheSlotOf(pa) !== undefined && k.rmap.count(pa) > 0) freeSwap(k, pa);
}
