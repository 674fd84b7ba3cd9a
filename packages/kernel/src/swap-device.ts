/**
 * Swap devices and the swap cache's bookkeeping (the design is described in `swap.ts`): each
 * device's slot counts (Linux `swap_map`) and lazily allocated data chunks, the swap cache's
 * slot → frame and frame → slot tables, slot allocation, and the `swap` event.
 *
 * Ownership: the kernel owns one {@link SwapManager}; a {@link SwapDevice} owns its slots.
 */
import type { PageTableCursor, SwapEntryCodec } from '@mmkit/core';
import { PG_DIRTY } from './anon-exclusive.js';
import type { KernelContext } from './context.js';

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

/** @internal A swap device. */
export class SwapDevice {
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
  /** @internal The slot the last successful swap-out used: its type (reclaim keys the ghost by it). */
  lastOutType = -1;
  /** @internal …and its offset. */
  lastOutOffset = 0;
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

  /**
   * Drops one swap PTE's count of a slot (Linux `free_swap_and_cache`): frees it when nothing else
   * names it; when only the swap cache does, the cache entry goes too unless its frame is mapped
   * and swap is at most half full (`__try_to_reclaim_swap` with TTRS_UNMAPPED | TTRS_FULL).
   */
  put(dev: SwapDevice, offset: number): void {
    const c = dev.counts[offset]!;
    if (c === 0) throw new Error(`kernel bug: swap slot ${dev.type}:${offset} freed twice`);
    dev.counts[offset] = c - 1;
    const pa = dev.cache[offset]!;
    if (c - 1 === 1 && pa !== 0) {
      if (this.k.rmap.count(pa) === 0 || this.full()) this.uncache(dev, offset); // drop both
    } else if (c - 1 === 0) this.freed(dev, offset);
  }

  /**
   * Linux `vm_swap_full` (include/linux/swap.h): more than half of the swap space is in use,
   * `nr_swap_pages * 2 < total_swap_pages` (free slots, headers excluded).
   */
  full(): boolean {
    let free = 0;
    let total = 0;
    for (const d of this.order) {
      total += d.pages - 1;
      free += d.pages - 1 - d.used;
    }
    return total > 0 && free * 2 < total;
  }

  /** Adds frame `pa` (whose reference the cache takes over) to the cache for the slot. */
  addToCache(dev: SwapDevice, offset: number, pa: number): void {
    dev.cache[offset] = pa;
    dev.counts[offset]!++;
    dev.cached++;
    const i = this.k.allocator.frameIndex(pa);
    this.frameType[i] = dev.type;
    this.frameOffset[i] = offset;
    this.k.reclaimer.refaulted(i, dev.type, offset); // workingset_refault (ghosts.ts)
  }

  /**
   * Removes the slot's cache entry: drops the cache's count and its frame reference. A frame that
   * survives (mapped) is PG_dirty from now on — its slot no longer holds a copy (Linux
   * `folio_free_swap` → `delete_from_swap_cache`, `folio_set_dirty`; frame-marks.ts); a frame
   * freed here loses the flag with the others.
   */
  uncache(dev: SwapDevice, offset: number): void {
    const pa = dev.cache[offset]!;
    dev.cache[offset] = 0;
    dev.cached--;
    const i = this.k.allocator.frameIndex(pa);
    this.frameType[i] = -1;
    const flags = this.k.anonExclusive.flags;
    flags[i] = flags[i]! | PG_DIRTY;
    const c = --dev.counts[offset]!;
    this.k.allocator.unref(pa);
    if (c === 0) this.freed(dev, offset);
  }

  private freed(dev: SwapDevice, offset: number): void {
    dev.used--;
    this.k.reclaimer.slotFreed(dev.type, offset); // clear_shadow_from_swap_cache (ghosts.ts)
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

/** @internal Builds a `swap` event. */
export function swapEvent(
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

/** Pages of swap space that can hold pages (Linux `total_swap_pages`: headers excluded). */
export function swapTotalPages(k: KernelContext): number {
  let n = 0;
  for (const d of k.swap.devices) if (d) n += d.pages - 1;
  return n;
}
