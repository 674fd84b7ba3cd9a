/**
 * Swap-in: the fault path's `do_swap_page`, readahead and MADV_WILLNEED reads into the swap
 * cache, and mincore's view of cached swap PTEs (the design is described in `swap.ts`).
 */
import { hex, type LeafAttributes, vaOf } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { oldLeaf } from './fork-copy.js';
import type { Process } from './process.js';
import { freeSwap } from './swap-cache.js';
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
  write = false,
): string | undefined {
  const codec = k.swap.codec;
  if (codec === undefined || space.swapEntries === 0) return NOT_SWAPPED;
  const ref = space.lookup(vpn);
  if (ref === undefined || ref.level !== 1 || ref.entry.kind === 'absent' || ref.entry.kind === 'leaf')
    return NOT_SWAPPED;
  const [lo, hi] = k.editor.readRaw(ref.descriptorPa);
  const e = codec.decode(lo, hi, 1);
  return e === undefined ? NOT_SWAPPED : swapIn(k, space, vpn, v, ref.descriptorPa, e, write);
}

/**
 * Brings the page named by the swap PTE at `vpn` back (Linux `do_swap_page`): from the swap
 * cache (minor) or read from the device into a fresh frame put in the swap cache (major; with
 * readahead, the rest of the aligned cluster of allocated slots is read into the cache too,
 * Linux `swap_cluster_readahead`). The PTE becomes a present leaf and the slot loses the PTE's
 * count (`swap_free`); the page stays in the swap cache with its slot (swap-cache.ts) unless
 * `should_try_to_free_swap` holds — swap more than half full (`vm_swap_full`), a locked VMA
 * (VM_LOCKED), or a `write` fault while the cache and this PTE hold the only references — and
 * then `folio_free_swap` frees the slot when no other swap PTE names it. The page is
 * anon-exclusive (RMAP_EXCLUSIVE, anon-exclusive.ts) and its leaf writable (as far as the VMA
 * allows) when the entry was exclusive (SWP_EXCLUSIVE: no copy-on-write break even on a write)
 * or the frame ends up with this PTE's reference only (Linux: `exclusive || folio_ref_count ==
 * 1`); a page still shared with other processes (or with the swap cache, without the exclusive
 * bit) is mapped read-only and not exclusive, and a write then takes `do_wp_page`.
 * With `unuse` (swapoff, Linux `unuse_pte`) the page is mapped read-only, with the VMA's
 * `vm_page_prot` (a write then takes `do_wp_page`), and anon-exclusive exactly when the entry was
 * (RMAP_EXCLUSIVE only for `pte_swp_exclusive`).
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
  write = false,
  unuse = false,
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
  dev.counts[e.offset]!--; // swap_free: this PTE no longer names the slot; the cache still does
  space.swapEntries--;
  // should_try_to_free_swap (mm/memory.c): the cache's reference + this PTE's = 2 when nobody
  // else maps the frame.
  if (sw.full() || v.lock !== 'none' || (write && allocator.refCount(pa) === 2)) freeSwap(k, pa);
  // do_swap_page: `exclusive || folio_ref_count(folio) == 1` → RMAP_EXCLUSIVE, and the PTE is made
  // writable when the VMA allows (attrsFor grants only what it allows). mmkit always goes
  // through the swap cache (no SWP_SYNCHRONOUS_IO path), so the entry's bit is what counts.
  const exclusive = e.exclusive === true || (!unuse && allocator.refCount(pa) === 1);
  space.mapSwappedIn(vpn, descriptorPa, pa, swappedInLeaf(k, v, exclusive, write, unuse));
  if (exclusive) k.anonExclusive.set(pa);
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
  return major ? SWAP_IN_MAJOR : SWAP_IN_MINOR;
}

/**
 * The leaf a swapped-in page gets. `do_swap_page`: `mk_pte(page, vma->vm_page_prot)` — young
 * (the accessed bit is in every user `vm_page_prot` on x86 and arm64), read-only in a private
 * VMA — and for an exclusive page in a VM_WRITE VMA `pte_mkwrite`, plus `pte_mkdirty` on a write
 * fault only (a read fault leaves it writable and clean: x86 RW = 1, D = 0; arm64 PTE_WRITE with
 * PTE_RDONLY). swapoff's `unuse_pte`: `pte_mkold(mk_pte(page, vma->vm_page_prot))` — read-only
 * and old, whether exclusive or not (nothing touched the page).
 */
function swappedInLeaf(
  k: KernelContext,
  v: VmaValue,
  exclusive: boolean,
  write: boolean,
  unuse: boolean,
): LeafAttributes {
  if (unuse) return oldLeaf(k.readOnlyAttrsFor(v));
  if (!exclusive) return k.readOnlyAttrsFor(v);
  return write ? k.dirtyAttrsFor(v) : k.attrsFor(v);
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
