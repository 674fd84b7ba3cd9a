/**
 * Swap: devices (`swapon`/`swapoff`), slot reference counts (Linux `swap_map`), the swap cache,
 * swap-out of one frame ({@link reclaimFrame}, Linux `shrink_folio_list` → `try_to_unmap` +
 * `swap_writepage`), swap-in on a fault (Linux `do_swap_page`), and the page-table walks that
 * copy (fork), move (mremap) and free (munmap, exit, exec) swap entries.
 *
 * Modules: `swap-device.ts` (devices, slot counts, the swap cache's tables), `swap-walk.ts` (walks
 * over swap PTEs: fork, mremap, munmap), `swap-out.ts` (swap-out through the reverse map,
 * MADV_PAGEOUT), `swap-in.ts` (swap-in on a fault, readahead, MADV_WILLNEED), `swap-cache.ts`
 * (the swap cache kept after swap-in: when swap is freed, frame dirtiness), and this one:
 * swapon, swapoff, explicit reclaim and the audit.
 *
 * Ownership: the kernel owns one {@link SwapManager}. A device owns its slots: slot 0 is the
 * header (never handed out, as Linux's `swap_header`); every other slot has a count (Linux
 * `swap_map`): the number of swap PTEs naming it plus one while the swap cache holds a frame for
 * it (`SWAP_HAS_CACHE`). A slot is free when its count is 0. A page's 4 KiB are kept in typed
 * arrays allocated lazily per chunk of {@link CHUNK_SLOTS} slots (no object per page).
 *
 * The swap cache (Linux `swapper_spaces`): slot → frame, the slot holding the frame's contents
 * unless the frame is dirty (a PTE's dirty bit, or the frame's mark: `swap-cache.ts`). The cache
 * holds one reference on its frame. An entry lives while some swap PTE still names the slot (a
 * page shared by forked processes: the first fault reads it, the others find it here), and after
 * the last swap-in too (Linux `do_swap_page` keeps it unless `should_try_to_free_swap`), so that a
 * clean page is reclaimed again without a write; it goes when the page is written through a
 * fault, swap is more than half full, the VMA is locked, the last PTE mapping it goes, or the
 * frame is reclaimed (see `swap-cache.ts`).
 *
 * ```
 *  PTE ──swap entry (type, offset)──▶ device[type].counts[offset] ── data chunk[offset / 64]
 *                                                 │
 *                               device[type].cache[offset] = frame pa (or 0)
 * ```
 *
 * Invariants (proved by `audit()`): count(slot) = swap PTEs naming it + (cached ? 1 : 0); a USER
 * frame's refcount = PTEs + shared-object holds + swap-cache holds; every swap PTE names an
 * allocated slot of an active device; no swap PTE lies outside a VMA; `AddressSpace.swapEntries`
 * equals its swap PTEs; an exclusive swap PTE (SWP_EXCLUSIVE) is the only one naming its slot.
 */
import { hex, vaOf } from '@mmkit/core';
import type { KernelContext } from './context.js';
import { FrameState } from './page-allocator.js';
import {
  MAX_SWAP_PAGES,
  MAX_SWAP_PRIORITY,
  MAX_SWAPFILES,
  SwapDevice,
  type SwapDeviceInfo,
  type SwapOnOptions,
  swapEvent,
} from './swap-device.js';
import { swapIn } from './swap-in.js';
import { forEachSwapPte, type SwapPte } from './swap-walk.js';
import { fail, invalidArgument, ok, type SysResult } from './syscalls.js';
import { isCowVma } from './vma.js';
import { withoutReserve } from './watermarks.js';

export {
  CHUNK_SLOTS,
  MAX_SWAP_PAGES,
  MAX_SWAP_PRIORITY,
  MAX_SWAPFILES,
  type SwapDeviceInfo,
  SwapManager,
  type SwapOnOptions,
  swapTotalPages,
} from './swap-device.js';
export {
  countFault,
  forEachCachedSwapPte,
  NOT_SWAPPED,
  SWAP_IN_MAJOR,
  SWAP_IN_MINOR,
  swapIn,
  swapInIfSwapped,
  willneedSwapIn,
} from './swap-in.js';
export { FlushBatch, pageOutRange, reclaimFrame } from './swap-out.js';
export { copySwapEntries, forEachSwapPte, moveSwapEntries, zapSwapEntries } from './swap-walk.js';

// ---------------------------------------------------------------------------
// swapon, swapoff

/**
 * swapon: adds a device of `pages` pages (Linux `sys_swapon`). The type is the lowest free index
 * (`alloc_swap_info`). EPERM when MAX_SWAPFILES devices are active (as Linux).
 * @throws InvalidArgumentError for bad options (naming the value), or when the backend has no
 *   swap-entry encoding (`arch.swap`).
 */
export function swapon(k: KernelContext, options: SwapOnOptions): SysResult<SwapDeviceInfo> {
  const sw = k.swap;
  if (sw.codec === undefined)
    throw invalidArgument(
      'swapon',
      k.arch.description.id,
      'a backend with a swap-entry encoding (arch.swap): this one cannot write swap PTEs',
    );
  if (options === null || typeof options !== 'object')
    throw invalidArgument('swapon options', options, 'an object { pages, priority?, name? }');
  const { pages, priority, name } = options;
  const maxPages = Math.min(sw.codec.maxOffset + 1, MAX_SWAP_PAGES);
  if (typeof pages !== 'number' || !Number.isSafeInteger(pages) || pages < 2 || pages > maxPages)
    throw invalidArgument(
      'swapon pages',
      pages,
      `an integer from 2 (the header and one slot) to ${maxPages} (${
        maxPages === MAX_SWAP_PAGES
          ? 'the largest device mmkit simulates, 64 GiB'
          : 'the largest swap offset + 1'
      })`,
    );
  if (
    priority !== undefined &&
    (typeof priority !== 'number' ||
      !Number.isInteger(priority) ||
      priority < 0 ||
      priority > MAX_SWAP_PRIORITY)
  )
    throw invalidArgument('swapon priority', priority, `an integer from 0 to ${MAX_SWAP_PRIORITY}`);
  if (name !== undefined && (typeof name !== 'string' || name.length === 0))
    throw invalidArgument('swapon name', name, 'a non-empty string');
  let type = 0;
  while (type < sw.devices.length && sw.devices[type] !== undefined) type++;
  if (type >= MAX_SWAPFILES)
    return fail('EPERM', `swapon: ${MAX_SWAPFILES} swap devices are active (MAX_SWAPFILES)`);
  // Linux setup_swap_info: a device without a priority gets --least_priority (-2, -3, …).
  const prio = priority ?? --sw.leastPriority;
  const dev = new SwapDevice(type, name ?? `swap${type}`, pages, prio);
  sw.devices[type] = dev;
  // Linux add_to_avail_list: in priority order, after the devices of equal priority.
  let at = 0;
  while (at < sw.order.length && sw.order[at]!.priority >= prio) at++;
  sw.order.splice(at, 0, dev);
  const ev = k.events;
  if (ev.active)
    ev.emit(swapEvent('swapon', 0, 0n, 0, type, 0, false, `${dev.name}: ${pages} pages, priority ${prio}`));
  return ok(dev.info());
}

/** Validates a swap type argument. @throws InvalidArgumentError */
function checkType(what: string, type: unknown): number {
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > 31)
    throw invalidArgument(what, type, 'a swap type (an integer from 0 to 31)');
  return type;
}

/**
 * swapoff: brings every page of device `type` back into memory and removes the device (Linux
 * `try_to_unuse`: each swap PTE becomes a present PTE again — read-only, anon-exclusive when the
 * entry was, as `unuse_pte` maps it — pages shared by several processes are read once, through
 * the swap cache). ENOMEM, with nothing changed, when memory cannot hold
 * every page not already in the swap cache (Linux fails the same way when `try_to_unuse` cannot
 * allocate: the device stays on). EINVAL when no device has that type.
 * @throws InvalidArgumentError unless `type` is an integer from 0 to 31.
 */
export function swapoff(k: KernelContext, type: number): SysResult<0> {
  const sw = k.swap;
  checkType('swapoff type', type);
  const dev = sw.devices[type];
  if (dev === undefined) return fail('EINVAL', `swapoff: no swap device has type ${type}`);
  let needed = 0;
  for (let s = 1; s < dev.pages; s++) if (dev.counts[s]! > 0 && dev.cache[s] === 0) needed++;
  // try_to_unuse may take the frames below the min watermark (reclaim.ts: it is exempt from the
  // reserve), so the check counts every free frame and the swap-ins run with the reserve lifted.
  if (k.allocator.freeCount < needed)
    return fail(
      'ENOMEM',
      `swapoff: ${needed} pages must come back into memory, ${k.allocator.freeCount} frames are free`,
    );
  withoutReserve(k.allocator, () => {
    for (const proc of k.liveProcesses) {
      const space = proc.space;
      if (space.swapEntries === 0) continue;
      const found: { vpn: number; descriptorPa: number; e: SwapPte }[] = [];
      forEachSwapPte(k, space, k.bounds.userStartVpn, k.bounds.userEndVpn, (vpn, descriptorPa, e) => {
        if (e.type === type) found.push({ vpn, descriptorPa, e });
      });
      for (const f of found) {
        const v = space.vmas.find(f.vpn)!.value;
        const how = swapIn(k, space, f.vpn, v, f.descriptorPa, f.e, false, true); // unuse_pte
        if (how === undefined) throw new Error('kernel bug: swapoff ran out of memory after the check');
      }
    }
  });
  // Pages only the swap cache holds (read ahead, never mapped) go with the device.
  for (let s = 1; s < dev.pages; s++) if (dev.cache[s] !== 0) sw.uncache(dev, s);
  if (dev.used !== 0) throw new Error(`kernel bug: swapoff left ${dev.used} slots in use`);
  sw.devices[type] = undefined;
  sw.order = sw.order.filter((d) => d !== dev);
  // Linux swapoff: when a negative priority goes, the lower ones move up by one.
  if (dev.priority < 0) {
    for (const d of sw.order) if (d.priority < dev.priority) d.priority++;
    sw.leastPriority++;
  }
  k.reclaimer.updateReserve(); // no reserve once the last device is gone
  const ev = k.events;
  if (ev.active) ev.emit(swapEvent('swapoff', 0, 0n, 0, type, 0, false, `${dev.name} removed`));
  return ok(0);
}

/**
 * Swaps out up to `pages` frames, the victims chosen by the kernel's replacement policy (see
 * `reclaim.ts`; the policy starts tracking frames with the first swap device). A frame shared by
 * several processes is swapped out once, from all of them. Returns the frames freed.
 */
export function reclaim(k: KernelContext, pages: number): number {
  if (typeof pages !== 'number' || !Number.isSafeInteger(pages) || pages < 0)
    throw invalidArgument('reclaim pages', pages, 'a non-negative integer');
  return k.reclaimer.reclaimExplicit(pages);
}

// ---------------------------------------------------------------------------
// Audit

/**
 * The swap part of `audit()`: every swap PTE lies inside a private anonymous VMA and names an
 * allocated slot of an active device; each space's `swapEntries` equals its swap PTEs; each
 * slot's count equals the swap PTEs naming it plus one when cached (slot 0, the header, stays
 * 0); an exclusive swap PTE (SWP_EXCLUSIVE) is the only one naming its slot; each swap-cache
 * frame is a USER frame the frame side of the cache agrees on; the device's
 * used and cached counters match. `addRef` is called once per swap-cache frame (its reference).
 */
export function auditSwap(k: KernelContext, problems: string[], addRef: (pa: number) => void): void {
  const sw = k.swap;
  if (sw.codec === undefined) return;
  const ptes = new Map<string, number>();
  const exclusive: { at: string; key: string }[] = [];
  const { userStartVpn, userEndVpn } = k.bounds;
  for (const proc of k.liveProcesses) {
    const space = proc.space;
    let n = 0;
    forEachSwapPte(
      k,
      space,
      userStartVpn,
      userEndVpn,
      (vpn, _d, e) => {
        n++;
        const at = `pid ${proc.pid}: swap PTE at ${hex(vaOf(vpn), 16)} (${e.type}:${e.offset})`;
        const vma = space.vmas.find(vpn);
        if (!vma || !isCowVma(vma.value)) problems.push(`${at} lies outside any private anonymous VMA`);
        else if (vma.value.anonVmaId === 0) problems.push(`${at} lies in a VMA without an anon_vma`);
        const dev = sw.devices[e.type];
        if (!dev || e.offset < 1 || e.offset >= dev.pages || dev.counts[e.offset] === 0)
          problems.push(`${at} names a slot that is not allocated`);
        const key = `${e.type}:${e.offset}`;
        ptes.set(key, (ptes.get(key) ?? 0) + 1);
        if (e.exclusive) exclusive.push({ at, key });
      },
      true,
    );
    if (n !== space.swapEntries)
      problems.push(`process ${proc.pid} counts ${space.swapEntries} swap entries, its tables hold ${n}`);
  }
  // SWP_EXCLUSIVE means the page was this PTE's alone: fork clears it (copy_nonpresent_pte).
  for (const x of exclusive)
    if (ptes.get(x.key) !== 1)
      problems.push(`${x.at} is exclusive (SWP_EXCLUSIVE), but ${ptes.get(x.key)} swap PTEs name its slot`);
  const { allocator } = k;
  for (const dev of sw.devices) {
    if (!dev) continue;
    let used = 0;
    let cached = 0;
    if (dev.counts[0] !== 0) problems.push(`swap ${dev.type}: the header slot 0 has count ${dev.counts[0]}`);
    for (let s = 1; s < dev.pages; s++) {
      const c = dev.counts[s]!;
      const pa = dev.cache[s]!;
      if (c > 0) used++;
      if (pa !== 0) {
        cached++;
        addRef(pa);
        const i = allocator.frameIndex(pa);
        if (allocator.stateOf(pa) !== FrameState.USER)
          problems.push(
            `swap cache: slot ${dev.type}:${s} holds frame ${hex(pa)}, which is not a USER frame`,
          );
        else if (sw.frameType[i] !== dev.type || sw.frameOffset[i] !== s)
          problems.push(`swap cache: frame ${hex(pa)} of slot ${dev.type}:${s} does not name that slot`);
      }
      const want = (ptes.get(`${dev.type}:${s}`) ?? 0) + (pa !== 0 ? 1 : 0);
      if (c !== want)
        problems.push(
          `swap slot ${dev.type}:${s} has count ${c}, but ${want - (pa !== 0 ? 1 : 0)} swap PTE(s)${pa !== 0 ? ' and the swap cache' : ''} name it`,
        );
    }
    if (used !== dev.used) problems.push(`swap ${dev.type} counts ${dev.used} used slots, ${used} are`);
    if (cached !== dev.cached)
      problems.push(`swap ${dev.type} counts ${dev.cached} cached pages, ${cached} are`);
  }
}
