/**
 * A read-only view of one swap device's slots ({@link Kernel.swapSlots}): each slot in use with
 * its count, its swap-cache flag and frame, and the swap PTEs that name it (which process, which
 * page) — what Linux keeps in `swap_map[]` and the swap cache (`swapper_spaces`), and what a
 * reverse walk of the page tables finds. For teaching (the playground's Swap panel) and tests:
 * it reads `swap.ts`'s state through its `SwapManager` and `forEachSwapPte` exports
 * and changes nothing.
 *
 * Linux's `swap_map[offset]` is `count | SWAP_HAS_CACHE` (include/linux/swap.h, mm/swapfile.c:
 * `swap_count()` masks the flag off); mmkit's per-slot count adds one for the cache instead of a
 * flag bit, so {@link SwapSlotView.count} is that count minus the cache's one, and
 * {@link SwapSlotView.cached} is the flag.
 */
import { vaOf } from '@mmkit/core';
import type { KernelContext } from './context.js';
import { forEachSwapPte } from './swap.js';
import { invalidArgument } from './syscalls.js';

/** One swap PTE that names a slot: the process and the page. */
export interface SwapSlotPte {
  readonly pid: number;
  /** The page's virtual address. */
  readonly va: bigint;
}

/** One slot in use (named by a swap PTE, or holding a page in the swap cache). */
export interface SwapSlotView {
  /** The slot's offset on the device (1 … pages − 1; slot 0 is the header), the swap PTE's offset field. */
  readonly offset: number;
  /**
   * Swap PTEs naming the slot (Linux `swap_count(swap_map[offset])`: the count without
   * `SWAP_HAS_CACHE`). 2 for a page swapped out while a fork shared it; 1 once one of the two
   * has swapped it back in (the other still names the slot); 0 when only the swap cache holds it.
   */
  readonly count: number;
  /** The swap cache holds the slot's page in memory too (Linux `SWAP_HAS_CACHE`). */
  readonly cached: boolean;
  /** The swap-cache frame's physical address, when {@link SwapSlotView.cached}. */
  readonly frame?: number;
  /** The swap PTEs naming the slot, by pid then address (`count` of them). */
  readonly ptes: readonly SwapSlotPte[];
}

/** One swap device's slots (see {@link Kernel.swapSlots}). A snapshot: later calls do not change it. */
export interface SwapSlots {
  /** Linux's `swp_type`. */
  readonly type: number;
  /** The name given to `swapon` (default `swapN`). */
  readonly name: string;
  /** 0 … 32767 as given to `swapon`, or the negative priority Linux numbers it with (-2, -3, …). */
  readonly priority: number;
  /** Size in pages, the header slot included. */
  readonly pages: number;
  /** Slots in use (Linux `inuse_pages`): the length of {@link SwapSlots.slots}. */
  readonly usedPages: number;
  /** Slots whose page is in the swap cache. */
  readonly cachedPages: number;
  /** Every slot in use, by offset. Free slots and the header are left out. */
  readonly slots: readonly SwapSlotView[];
}

/**
 * The slots of swap device `type`, or undefined when no active device has that type. Walks every
 * live process's swap PTEs once to name the owners (as Linux's `unuse_mm` walks them for
 * swapoff); allocates the result, changes nothing.
 * @throws InvalidArgumentError unless `type` is an integer from 0 to 31.
 */
export function swapSlots(k: KernelContext, type: number): SwapSlots | undefined {
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > 31)
    throw invalidArgument('swapSlots type', type, 'a swap type (an integer from 0 to 31)');
  const dev = k.swap.devices[type];
  if (dev === undefined) return undefined;
  const ptes = new Map<number, SwapSlotPte[]>();
  const { userStartVpn, userEndVpn } = k.bounds;
  for (const proc of k.liveProcesses) {
    forEachSwapPte(k, proc.space, userStartVpn, userEndVpn, (vpn, _d, e) => {
      if (e.type !== type) return;
      const pte = { pid: proc.pid, va: vaOf(vpn) };
      const list = ptes.get(e.offset);
      if (list === undefined) ptes.set(e.offset, [pte]);
      else list.push(pte);
    });
  }
  const slots: SwapSlotView[] = [];
  for (let s = 1; s < dev.pages; s++) {
    const c = dev.counts[s]!;
    if (c === 0) continue;
    const frame = dev.cache[s]!;
    const cached = frame !== 0;
    slots.push({
      offset: s,
      count: cached ? c - 1 : c,
      cached,
      ...(cached ? { frame } : {}),
      ptes: ptes.get(s) ?? [],
    });
  }
  return {
    type: dev.type,
    name: dev.name,
    priority: dev.priority,
    pages: dev.pages,
    usedPages: dev.used,
    cachedPages: dev.cached,
    slots,
  };
}
