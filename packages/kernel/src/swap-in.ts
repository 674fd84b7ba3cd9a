/**
 * Swap-in: the fault path's `do_swap_page`, readahead and MADV_WILLNEED reads into the swap
 * cache, and mincore's view of cached swap PTEs (the design is described in `swap.ts`).
 */
import { hex, vaOf } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import type { Process } from './process.js';
import { type SwapDevice, swapEvent } from './swap-device.js';
import { forEachSwapPte, type SwapPte } from './swap-walk.js';
import type { VmaValue } from './vma.js';

/** What a swap-in fault did (the fault handler counts a major fault for {@link SWAP_IN_MAJOR}). */
export const SWAP_IN_MAJOR = 'swap-in (major: read from the swap device)';
/** See {@link SWAP_IN_MAJOR}. */
export const SWAP_IN_MINOR = 'swap-in (minor: found in the swap cache)';

/** {@link swapInIfSwapped}'s answer for a PTE that holds no swap entry. */
export const NOT_SWAPPED = 'not swapped';

/**
 * The fault path's entry (Linux `handle_pte_fault` → `do_swap_page` for a non-present PTE that is
 * a swap entry): when the PTE of `vpn` holds a swap entry, swaps the page in ({@link swapIn}: its
 * resolution, or undefined when out of memory); otherwise {@link NOT_SWAPPED}.
 */
export function swapInIfSwapped(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  v: VmaValue,
): string | undefined {
  const codec = k.swap.codec;
  if (codec === undefined || space.swapEntries === 0) return NOT_SWAPPED;
  const ref = space.lookup(vpn);
  if (ref === undefined || ref.level !== 1 || ref.entry.kind === 'absent' || ref.entry.kind === 'leaf')
    return NOT_SWAPPED;
  const [lo, hi] = k.editor.readRaw(ref.descriptorPa);
  const e = codec.decode(lo, hi, 1);
  return e === undefined ? NOT_SWAPPED : swapIn(k, space, vpn, v, ref.descriptorPa, e);
}

/**
 * Brings the page named by the swap PTE at `vpn` back (Linux `do_swap_page`): from the swap
 * cache (minor) or read from the device into a fresh frame put in the swap cache (major; with
 * readahead, the rest of the aligned cluster of allocated slots is read into the cache too,
 * Linux `swap_cluster_readahead`). The PTE becomes a present leaf; the slot loses the PTE's count
 * (and is freed with its cache entry when no swap PTE names it any more). The leaf is writable
 * only when the frame ends up exclusive (Linux: `exclusive || folio_ref_count == 1` → writable);
 * a page still shared with other processes is mapped read-only, copy-on-write.
 * Returns {@link SWAP_IN_MAJOR} / {@link SWAP_IN_MINOR}, or undefined when out of memory
 * (nothing changed). The caller found swap entry `e` in the PTE at `descriptorPa`, in VMA `v`.
 */
export function swapIn(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  v: VmaValue,
  descriptorPa: number,
  e: SwapPte,
): string | undefined {
  const sw = k.swap;
  const dev = sw.devices[e.type];
  if (dev === undefined || dev.counts[e.offset] === 0)
    throw new Error(`kernel bug: swap PTE at ${hex(vaOf(vpn))} names free slot ${e.type}:${e.offset}`);
  const { allocator } = k;
  let pa = dev.cache[e.offset]!;
  const major = pa === 0;
  if (major) {
    pa = allocator.alloc('user', space.pid);
    if (pa === 0) return undefined;
    sw.readSlot(dev, e.offset, pa);
    sw.addToCache(dev, e.offset, pa);
    if (sw.readahead > 1) readAround(k, dev, e.offset);
  }
  allocator.ref(pa); // the PTE's reference
  // The slot is named by this PTE and the cache (both counted); when nothing else names it, the
  // cache entry goes with this PTE's count and the frame keeps only the PTEs' references.
  const dropsCache = dev.counts[e.offset] === 2;
  const exclusive = allocator.refCount(pa) - (dropsCache ? 1 : 0) === 1;
  space.mapSwappedIn(vpn, descriptorPa, pa, exclusive ? k.attrsFor(v) : k.readOnlyAttrsFor(v));
  space.swapEntries--;
  const ev = k.events;
  if (ev.active)
    ev.emit(
      swapEvent(
        'swap-in',
        space.pid,
        vaOf(vpn),
        pa,
        dev.type,
        e.offset,
        major,
        major
          ? `read from ${dev.name} slot ${e.offset}`
          : `found in the swap cache (${dev.name} slot ${e.offset})`,
      ),
    );
  sw.put(dev, e.offset); // drops the cache entry (and its reference) when nobody else waits
  return major ? SWAP_IN_MAJOR : SWAP_IN_MINOR;
}

/** Reads the other allocated, uncached slots of `offset`'s aligned cluster into the swap cache. */
function readAround(k: KernelContext, dev: SwapDevice, offset: number): void {
  const sw = k.swap;
  const n = sw.readahead;
  const start = offset - (offset % n);
  for (let s = Math.max(1, start); s < Math.min(start + n, dev.pages); s++) {
    if (s === offset || dev.counts[s] === 0 || dev.cache[s] !== 0) continue;
    if (!readIntoSwapCache(k, dev, s, 'readahead')) return; // readahead is best effort
  }
}

/**
 * Reads slot `offset` of `dev` into a fresh frame in the swap cache, mapped by nobody (Linux
 * `read_swap_cache_async`). False when out of memory (nothing changed).
 */
function readIntoSwapCache(k: KernelContext, dev: SwapDevice, offset: number, why: string): boolean {
  const sw = k.swap;
  const pa = k.allocator.alloc('user', -1);
  if (pa === 0) return false;
  sw.readSlot(dev, offset, pa);
  sw.addToCache(dev, offset, pa);
  const ev = k.events;
  if (ev.active)
    ev.emit(
      swapEvent(
        'swap-in',
        0,
        0n,
        pa,
        dev.type,
        offset,
        true,
        `${why} of ${dev.name} slot ${offset} into the swap cache`,
      ),
    );
  return true;
}

/**
 * MADV_WILLNEED on [startVpn, endVpn) of `space` (Linux `madvise_willneed` → `swapin_walk_pmd_entry`
 * → `read_swap_cache_async`): every swapped-out page whose slot is not in the swap cache is read
 * into it, best effort (stops when memory runs out). The PTEs stay swap entries: the next touch
 * is a minor fault. Returns the pages read.
 */
export function willneedSwapIn(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
): number {
  const slots: SwapPte[] = [];
  forEachSwapPte(k, space, startVpn, endVpn, (_vpn, _d, e) => {
    slots.push(e);
  });
  let n = 0;
  for (const e of slots) {
    const dev = k.swap.devices[e.type];
    if (dev === undefined || dev.cache[e.offset] !== 0) continue;
    if (!readIntoSwapCache(k, dev, e.offset, 'MADV_WILLNEED read')) break;
    n++;
  }
  return n;
}

/**
 * Visits each swap PTE of [startVpn, endVpn) of `space` whose page is in the swap cache (Linux
 * `mincore_swap`: such a page counts as resident).
 */
export function forEachCachedSwapPte(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
  visit: (vpn: number) => void,
): void {
  forEachSwapPte(k, space, startVpn, endVpn, (vpn, _d, e) => {
    if ((k.swap.devices[e.type]?.cache[e.offset] ?? 0) !== 0) visit(vpn);
  });
}

/** @internal Process counters a fault updates. */
export function countFault(proc: Process, how: string): void {
  if (how === SWAP_IN_MAJOR) proc.majorFaults++;
  else proc.minorFaults++;
}
