/**
 * Swap: devices (`swapon`/`swapoff`), slot reference counts (Linux `swap_map`), the swap cache,
 * swap-out of one frame ({@link reclaimFrame}, Linux `shrink_folio_list` → `try_to_unmap` +
 * `swap_writepage`), swap-in on a fault (Linux `do_swap_page`), and the page-table walks that
 * copy (fork), move (mremap) and free (munmap, exit, exec) swap entries.
 *
 * Ownership: the kernel owns one {@link SwapManager}. A device owns its slots: slot 0 is the
 * header (never handed out, as Linux's `swap_header`); every other slot has a count (Linux
 * `swap_map`): the number of swap PTEs naming it plus one while the swap cache holds a frame for
 * it (`SWAP_HAS_CACHE`). A slot is free when its count is 0. A page's 4 KiB are kept in typed
 * arrays allocated lazily per chunk of {@link CHUNK_SLOTS} slots (no object per page).
 *
 * The swap cache (Linux `swapper_spaces`): slot → frame while the frame's contents are the
 * slot's. The cache holds one reference on its frame. An entry lives while some swap PTE still
 * names the slot (a page shared by forked processes: the first fault reads it, the others find
 * it here) or until the frame is reclaimed again; when the last swap PTE of a slot goes (swap-in,
 * munmap, exit) the cache entry is dropped and the slot freed (Linux frees swap on the last
 * swap-in when `should_try_to_free_swap` holds; mmkit always does: documented simplification).
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
 * equals its swap PTEs.
 */
import { type FlushObligation, hex, type PageTableCursor, type SwapEntryCodec, vaOf } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { FrameState } from './page-allocator.js';
import type { Process } from './process.js';
import { fail, invalidArgument, ok, type SysResult } from './syscalls.js';
import { isCowVma, type VmaValue } from './vma.js';

/** Slots per lazily allocated data chunk (64 × 4 KiB = 256 KiB). */
export const CHUNK_SLOTS = 64;

/**
 * Linux's MAX_SWAPFILES in the configuration mmkit models (`LINUX_SWAP_TYPES.maxSwapfiles`,
 * include/linux/swap.h): types 0 … 22 are swap devices.
 */
export const MAX_SWAPFILES = 23;

/**
 * Largest device mmkit simulates: 2^24 pages (64 GiB). Each slot's count and swap-cache entry are
 * allocated with the device (12 bytes a slot); a page's data only when first written.
 */
export const MAX_SWAP_PAGES = 2 ** 24;

/** Highest priority `swapon` accepts: SWAP_FLAG_PRIO_MASK (0x7fff, include/linux/swap.h). */
export const MAX_SWAP_PRIORITY = 0x7fff;

/** Options of {@link Kernel.swapon}. */
export interface SwapOnOptions {
  /** Size in pages, header slot included (Linux: the area's size; slot 0 holds the header). */
  readonly pages: number;
  /**
   * 0 … 32767 (`swapon -p`); higher is used first, equal priorities round-robin. Omitted: the
   * next lower negative priority (-2, -3, … as Linux numbers devices without one).
   */
  readonly priority?: number;
  /** Name shown in {@link SwapDeviceInfo} (default `swapN`, N the type). */
  readonly name?: string;
}

/** One swap device as `/proc/swaps` describes it. */
export interface SwapDeviceInfo {
  /** Linux's `swp_type`: the index in `swap_info[]`, the type field of its swap PTEs. */
  readonly type: number;
  readonly name: string;
  /** Size in pages, header included. */
  readonly pages: number;
  /** Slots that can hold pages (`pages - 1`: slot 0 is the header). */
  readonly usablePages: number;
  /** Slots in use (count > 0; Linux `inuse_pages`). */
  readonly usedPages: number;
  /** Slots whose page is also in memory, in the swap cache. */
  readonly cachedPages: number;
  readonly priority: number;
}

/** A swap device. */
class SwapDevice {
  /** Per slot: swap PTEs naming it + 1 while cached (Linux `swap_map`). */
  readonly counts: Uint32Array;
  /** Per slot: the swap-cache frame, 0 for none (0 is never a user frame). */
  readonly cache: Float64Array;
  readonly chunks: (Uint8Array | undefined)[];
  used = 0;
  cached = 0;
  /** Next slot to try (Linux `cluster_next`): next-fit allocation. */
  cursor = 1;
  constructor(
    readonly type: number,
    readonly name: string,
    readonly pages: number,
    public priority: number,
  ) {
    this.counts = new Uint32Array(pages);
    this.cache = new Float64Array(pages);
    this.chunks = new Array<Uint8Array | undefined>(Math.ceil(pages / CHUNK_SLOTS));
  }

  info(): SwapDeviceInfo {
    return {
      type: this.type,
      name: this.name,
      pages: this.pages,
      usablePages: this.pages - 1,
      usedPages: this.used,
      cachedPages: this.cached,
      priority: this.priority,
    };
  }
}

/** What a swap-in fault did (the fault handler counts a major fault for {@link SWAP_IN_MAJOR}). */
export const SWAP_IN_MAJOR = 'swap-in (major: read from the swap device)';
/** See {@link SWAP_IN_MAJOR}. */
export const SWAP_IN_MINOR = 'swap-in (minor: found in the swap cache)';

/** @internal The kernel's swap state: devices, the swap cache's frame side, the walk cursor. */
export class SwapManager {
  /** By type; undefined for a free type index. */
  readonly devices: (SwapDevice | undefined)[] = [];
  /** Active devices in allocation order: priority descending, equal priorities in rotation order. */
  order: SwapDevice[] = [];
  /** Linux `least_priority`: the last negative priority handed out. */
  leastPriority = -1;
  /** Per frame-table index: swap type of the cache entry holding it, -1 for none. */
  readonly frameType: Int8Array;
  /** Per frame-table index: slot of the cache entry holding it. */
  readonly frameOffset: Float64Array;
  readonly codec: SwapEntryCodec | undefined;
  /** Pages read from a device (Linux /proc/vmstat `pswpin`). */
  pswpin = 0;
  /** Pages written to a device (Linux /proc/vmstat `pswpout`). */
  pswpout = 0;
  private cursorObj: PageTableCursor | undefined;

  constructor(
    private readonly k: KernelContext,
    /** Slots read per major fault (an aligned cluster, Linux `page_cluster`); 0 or 1 = off. */
    readonly readahead: number,
  ) {
    const n = k.allocator.frameIndexCount;
    this.frameType = new Int8Array(n).fill(-1);
    this.frameOffset = new Float64Array(n);
    this.codec = k.arch.swap;
  }

  /** A page-table cursor for swap walks (walks never nest). */
  get cursor(): PageTableCursor {
    this.cursorObj ??= this.k.editor.createCursor();
    return this.cursorObj;
  }

  /** The swap-cache slot of frame `pa`, or undefined. */
  cacheSlotOf(pa: number): { dev: SwapDevice; offset: number } | undefined {
    const i = this.k.allocator.frameIndex(pa);
    if (i < 0) return undefined;
    const t = this.frameType[i]!;
    if (t < 0) return undefined;
    return { dev: this.devices[t]!, offset: this.frameOffset[i]! };
  }

  /** Usage per active device, by type. */
  infos(): SwapDeviceInfo[] {
    const out: SwapDeviceInfo[] = [];
    for (const d of this.devices) if (d) out.push(d.info());
    return out;
  }

  /**
   * Allocates a slot (count 1): the highest-priority device with a free slot; equal priorities
   * take turns (Linux `get_swap_pages` requeues the device it used at the end of its priority).
   * Undefined when every device is full.
   */
  allocSlot(): { dev: SwapDevice; offset: number } | undefined {
    const order = this.order;
    for (let i = 0; i < order.length; i++) {
      const dev = order[i]!;
      if (dev.used >= dev.pages - 1) continue;
      let s = dev.cursor;
      for (let n = 1; n < dev.pages; n++, s++) {
        if (s >= dev.pages) s = 1;
        if (dev.counts[s] === 0) break;
      }
      dev.counts[s] = 1;
      dev.used++;
      dev.cursor = s + 1 >= dev.pages ? 1 : s + 1;
      // Round-robin among equal priorities: move the device behind its equals.
      let j = i;
      while (j + 1 < order.length && order[j + 1]!.priority === dev.priority) {
        order[j] = order[j + 1]!;
        j++;
      }
      order[j] = dev;
      return { dev, offset: s };
    }
    return undefined;
  }

  /** Drops one count of a slot; frees it (and the cache entry left alone) when nothing else names it. */
  put(dev: SwapDevice, offset: number): void {
    const c = dev.counts[offset]!;
    if (c === 0) throw new Error(`kernel bug: swap slot ${dev.type}:${offset} freed twice`);
    dev.counts[offset] = c - 1;
    const pa = dev.cache[offset]!;
    if (c - 1 === 1 && pa !== 0)
      this.uncache(dev, offset); // only the cache names it: drop both
    else if (c - 1 === 0) this.freed(dev, offset);
  }

  /** Adds frame `pa` (whose reference the cache takes over) to the cache for the slot. */
  addToCache(dev: SwapDevice, offset: number, pa: number): void {
    dev.cache[offset] = pa;
    dev.counts[offset]!++;
    dev.cached++;
    const i = this.k.allocator.frameIndex(pa);
    this.frameType[i] = dev.type;
    this.frameOffset[i] = offset;
  }

  /** Removes the slot's cache entry: drops the cache's count and its frame reference. */
  uncache(dev: SwapDevice, offset: number): void {
    const pa = dev.cache[offset]!;
    dev.cache[offset] = 0;
    dev.cached--;
    this.frameType[this.k.allocator.frameIndex(pa)] = -1;
    const c = --dev.counts[offset]!;
    this.k.allocator.unref(pa);
    if (c === 0) this.freed(dev, offset);
  }

  private freed(dev: SwapDevice, offset: number): void {
    dev.used--;
    const ev = this.k.events;
    if (ev.active)
      ev.emit(swapEvent('swap-free', 0, 0n, 0, dev.type, offset, false, `slot ${dev.type}:${offset} freed`));
  }

  /** Writes frame `pa` to the slot (the data chunk is allocated on first use). */
  writeSlot(dev: SwapDevice, offset: number, pa: number): void {
    this.pswpout++;
    const page = this.k.bounds.pageBytes;
    const ci = Math.floor(offset / CHUNK_SLOTS);
    let chunk = dev.chunks[ci];
    if (chunk === undefined) {
      chunk = new Uint8Array(CHUNK_SLOTS * page);
      dev.chunks[ci] = chunk;
    }
    this.k.memory.readFrameInto(pa / page, chunk, (offset % CHUNK_SLOTS) * page);
  }

  /** Reads the slot into frame `pa` (a slot never written reads as zeros). */
  readSlot(dev: SwapDevice, offset: number, pa: number): void {
    this.pswpin++;
    const page = this.k.bounds.pageBytes;
    const chunk = dev.chunks[Math.floor(offset / CHUNK_SLOTS)];
    if (chunk === undefined) {
      this.k.memory.fill(pa, page, 0);
      return;
    }
    this.k.memory.writeFrameFrom(pa / page, chunk, (offset % CHUNK_SLOTS) * page);
  }

  /** @internal The bytes of a slot (tests and audit); undefined for a free slot. */
  slotBytes(type: number, offset: number): Uint8Array | undefined {
    const dev = this.devices[type];
    if (!dev || offset < 1 || offset >= dev.pages || dev.counts[offset] === 0) return undefined;
    const page = this.k.bounds.pageBytes;
    const chunk = dev.chunks[Math.floor(offset / CHUNK_SLOTS)];
    if (chunk === undefined) return new Uint8Array(page);
    const at = (offset % CHUNK_SLOTS) * page;
    return chunk.slice(at, at + page);
  }
}

/** Builds a `swap` event. */
function swapEvent(
  action: 'swapon' | 'swapoff' | 'swap-out' | 'swap-in' | 'swap-free',
  pid: number,
  va: bigint,
  pa: number,
  swapType: number,
  offset: number,
  major: boolean,
  detail: string,
) {
  return { type: 'swap', action, pid, va, pa, swapType, offset, major, detail } as const;
}

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
 * `try_to_unuse`: each swap PTE becomes a present PTE again, pages shared by several processes
 * are read once, through the swap cache). ENOMEM, with nothing changed, when memory cannot hold
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
  if (k.allocator.freeCount < needed)
    return fail(
      'ENOMEM',
      `swapoff: ${needed} pages must come back into memory, ${k.allocator.freeCount} frames are free`,
    );
  for (const proc of k.liveProcesses) {
    const space = proc.space;
    if (space.swapEntries === 0) continue;
    const found: { vpn: number; descriptorPa: number; e: SwapPte }[] = [];
    forEachSwapPte(k, space, k.bounds.userStartVpn, k.bounds.userEndVpn, (vpn, descriptorPa, e) => {
      if (e.type === type) found.push({ vpn, descriptorPa, e });
    });
    for (const f of found) {
      const how = swapIn(k, space, f.vpn, space.vmas.find(f.vpn)!.value, f.descriptorPa, f.e);
      if (how === undefined) throw new Error('kernel bug: swapoff ran out of memory after the check');
    }
  }
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
  const ev = k.events;
  if (ev.active) ev.emit(swapEvent('swapoff', 0, 0n, 0, type, 0, false, `${dev.name} removed`));
  return ok(0);
}

// ---------------------------------------------------------------------------
// Walks over swap PTEs

/** A decoded swap PTE. */
interface SwapPte {
  readonly type: number;
  readonly offset: number;
}

/**
 * Visits every swap PTE of `space` in [startVpn, endVpn) in address order. `visit` may rewrite the
 * current entry through `write` (used to clear it).
 */
export function forEachSwapPte(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
  visit: (
    vpn: number,
    descriptorPa: number,
    e: SwapPte,
    lo: number,
    hi: number,
    write: (lo: number, hi: number) => void,
  ) => void,
  /** Walk even when the space counts no swap entries (the auditor). */
  all = false,
): void {
  const codec = k.swap.codec;
  if (codec === undefined || space.root === 0 || (space.swapEntries === 0 && !all) || endVpn <= startVpn)
    return;
  const c = k.swap.cursor;
  const write = (lo: number, hi: number) => c.write(lo, hi);
  let more = c.begin({ root: space.root, startVpn, endVpn });
  while (more) {
    if (!c.absent) {
      const next = c.nextTable();
      if (next >= 0) {
        c.down(next);
        continue;
      }
      if (c.level === 1) {
        const e = codec.decode(c.lo, c.hi, 1);
        if (e !== undefined) visit(c.vpn, c.descriptorPa, e, c.lo, c.hi, write);
      }
    }
    more = c.next();
  }
}

/**
 * Clears every swap PTE of [startVpn, endVpn) and drops its slot count (Linux `zap_pte_range` →
 * `free_swap_and_cache`): munmap, exit, exec and mremap's shrink call it through
 * `AddressSpace.clearLeaves`. A non-present entry needs no TLB invalidation.
 */
export function zapSwapEntries(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
): void {
  const sw = k.swap;
  const freed: SwapPte[] = [];
  forEachSwapPte(k, space, startVpn, endVpn, (_vpn, _d, e, _lo, _hi, write) => {
    write(0, 0);
    freed.push(e);
  });
  for (const e of freed) {
    space.swapEntries--;
    sw.put(sw.devices[e.type]!, e.offset);
  }
}

/**
 * fork (Linux `copy_nonpresent_pte`): copies the parent's swap PTEs of [startVpn, endVpn) into
 * the child and counts each slot once more (`swap_duplicate`). The child's missing tables are
 * built here; false when out of memory (what was copied is counted, so clearing the child
 * undoes it).
 */
export function copySwapEntries(
  k: KernelContext,
  parent: AddressSpace,
  child: AddressSpace,
  startVpn: number,
  endVpn: number,
): boolean {
  const found: { vpn: number; lo: number; hi: number; e: SwapPte }[] = [];
  forEachSwapPte(k, parent, startVpn, endVpn, (vpn, _d, e, lo, hi) => {
    found.push({ vpn, lo, hi, e });
  });
  const sw = k.swap;
  for (const f of found) {
    if (!installSwapPte(k, child, f.vpn, f.lo, f.hi)) return false;
    child.swapEntries++;
    sw.devices[f.e.type]!.counts[f.e.offset]!++;
  }
  return true;
}

/**
 * Writes the swap PTE (lo, hi) at `vpn` of `space`, building missing tables (the editor builds
 * paths only for leaves: a placeholder leaf of the zero page is mapped, never visible to a CPU
 * since this runs before the space is used, and overwritten at once). False when out of memory.
 */
function installSwapPte(k: KernelContext, space: AddressSpace, vpn: number, lo: number, hi: number): boolean {
  if (!space.ensureRoot()) return false;
  const ref = k.editor.lookup(space.root, vpn);
  if (ref.level === 1) {
    if (ref.entry.kind !== 'absent')
      throw new Error(`kernel bug: swap PTE target ${hex(vaOf(vpn))} is taken`);
    k.editor.writeRaw(ref.descriptorPa, lo, hi);
    return true;
  }
  const m = k.editor.map({
    root: space.root,
    vpn,
    pa: k.zeroPage,
    level: 1,
    attrs: k.anonAttrs,
    tableAttrs: k.arch.defaults.userTable,
    source: space.tableSource,
  });
  if (!m.ok) return false;
  k.editor.writeRaw(k.editor.lookup(space.root, vpn).descriptorPa, lo, hi);
  return true;
}

/**
 * mremap's move (Linux `move_ptes` moves swap PTEs with the present ones): the swap PTEs of
 * [startVpn, endVpn) move to `destVpn + (vpn - startVpn)`. The caller checked that enough frames
 * are free for the destination's tables.
 */
export function moveSwapEntries(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
  destVpn: number,
): void {
  const found: { vpn: number; lo: number; hi: number }[] = [];
  forEachSwapPte(k, space, startVpn, endVpn, (vpn, _d, _e, lo, hi, write) => {
    write(0, 0);
    found.push({ vpn, lo, hi });
  });
  for (const f of found)
    if (!installSwapPte(k, space, destVpn + (f.vpn - startVpn), f.lo, f.hi))
      throw new Error('kernel bug: mremap could not move a swap PTE after the pre-check');
}

// ---------------------------------------------------------------------------
// Swap-out

/** Why a frame cannot be swapped out now, or undefined when it can (see {@link reclaimFrame}). */
function unswappable(k: KernelContext, pa: number): string | undefined {
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
    // them to) stay. MAP_HUGETLB pages are hugetlbfs pages, which Linux never swaps (VM_HUGETLB:
    // `can_madv_lru_vma` refuses them, reclaim never isolates them): mmkit skips them, unsplit.
    if (!vma || !isCowVma(vma.value) || vma.value.file) bad = 'not private anonymous memory';
    else if (vma.value.huge) bad = 'a huge page (hugetlbfs pages are never swapped)';
    else {
      const ref = space.lookup(vpn);
      if (ref?.entry.kind !== 'leaf' || ref.level !== 1) bad = 'not mapped by a 4 KiB leaf';
    }
  });
  if (bad !== undefined) return bad;
  if (n === 0 && !cached) return 'not mapped';
  // Any other reference (a pin) keeps the frame: Linux's reclaim checks the same
  // (`folio_ref_freeze` fails on an extra reference).
  if (allocator.refCount(pa) !== n + (cached ? 1 : 0)) return 'holds references besides its mappings';
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
 * translation, invalidated on every CPU (break, TLBI, as `ptep_clear_flush`) — writes the
 * contents to the slot and frees the frame. Returns false, with nothing changed, for a frame that
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
  const raw = codec.encode({ type: dev.type, offset });
  const { editor, allocator, rmap } = k;
  const mappings = rmap.mappings(pa);
  const ev = k.events;
  sw.writeSlot(dev, offset, pa); // before the PTEs go: a CPU may have written up to now
  for (const m of mappings) {
    const space = m.space;
    const ref = space.lookup(m.vpn)!;
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
          `to ${dev.name} slot ${offset}`,
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
 * (pinned, or no free slot). Returns the pages swapped out.
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
    for (const pa of candidates) if (reclaimFrame(k, pa, batch)) n++;
  } finally {
    batch.discharge();
  }
  return n;
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
// Swap-in

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

/** Pages of swap space that can hold pages (Linux `total_swap_pages`: headers excluded). */
export function swapTotalPages(k: KernelContext): number {
  let n = 0;
  for (const d of k.swap.devices) if (d) n += d.pages - 1;
  return n;
}

/** @internal Process counters a fault updates. */
export function countFault(proc: Process, how: string): void {
  if (how === SWAP_IN_MAJOR) proc.majorFaults++;
  else proc.minorFaults++;
}

// ---------------------------------------------------------------------------
// Audit

/**
 * The swap part of `audit()`: every swap PTE lies inside a private anonymous VMA and names an
 * allocated slot of an active device; each space's `swapEntries` equals its swap PTEs; each
 * slot's count equals the swap PTEs naming it plus one when cached (slot 0, the header, stays
 * 0); each swap-cache frame is a USER frame the frame side of the cache agrees on; the device's
 * used and cached counters match. `addRef` is called once per swap-cache frame (its reference).
 */
export function auditSwap(k: KernelContext, problems: string[], addRef: (pa: number) => void): void {
  const sw = k.swap;
  if (sw.codec === undefined) return;
  const ptes = new Map<string, number>();
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
        const dev = sw.devices[e.type];
        if (!dev || e.offset < 1 || e.offset >= dev.pages || dev.counts[e.offset] === 0)
          problems.push(`${at} names a slot that is not allocated`);
        const key = `${e.type}:${e.offset}`;
        ptes.set(key, (ptes.get(key) ?? 0) + 1);
      },
      true,
    );
    if (n !== space.swapEntries)
      problems.push(`process ${proc.pid} counts ${space.swapEntries} swap entries, its tables hold ${n}`);
  }
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
