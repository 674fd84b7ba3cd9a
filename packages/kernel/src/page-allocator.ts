/**
 * The physical page allocator and frame table.
 *
 * Ownership: the allocator owns every frame of its pool (one or more
 * page-aligned physical ranges). It knows each frame's state, reference count
 * and owner; nothing else in the kernel hands out or takes back frames.
 *
 * Invariants (checked by the auditor through {@link PageAllocator.forEachFrame}):
 * - every pool frame is in exactly one {@link FrameState};
 * - `freeCount + usedCount === totalCount`, and `totalCount` only moves while
 *   boot reservations are made;
 * - a FREE frame reads as zeros and has no host memory behind it
 *   (`PhysicalMemory.discardFrame` on free, and again on alloc);
 * - a USER frame's reference count is ≥ 1; other states are not reference counted (0);
 * - PA 0 is never handed out: 0 is the exhaustion sentinel of {@link PageAllocator.alloc}.
 *
 * ## Layout and cost model
 *
 * The seed's allocator rescanned its bitmap from the start on every allocation, so draining
 * it was quadratic. Here single frames come from a LIFO free list: {@link PageAllocator.alloc}
 * and {@link PageAllocator.free} are O(1). The list is doubly linked and threaded through the
 * frame table itself, so any frame can be unlinked in O(1) (what {@link
 * PageAllocator.allocContiguous} and reservations need) and the frame table still costs
 * 9 bytes per frame. One class over four modules: `frame-table.ts` (segments, index arithmetic,
 * state / refcount / owner per frame, the free list, counts), `frame-blocks.ts` (per-2 MiB-block
 * counters and the contiguous-run search), `frame-reservations.ts` (boot reservations) and this
 * one (the API: the alloc / free / ref / unref hot path, runs, queries, the USER frame hook).
 *
 * {@link PageAllocator.allocContiguous} costs the search (see `frame-blocks.ts`; O(blocks / 32)
 * for block-aligned runs) plus O(pages): each frame of the run is unlinked and zeroed.
 * Reservations are boot-time operations, O(frames) each.
 */
import type { EventStream, FramePurpose, PhysicalMemory } from '@mmkit/core';
import { DoubleFreeError, hex, NotOwnedError, PAGE_SIZE } from '@mmkit/core';
import { BlockIndex } from './frame-blocks.js';
import { type FrameReservation, Reservations } from './frame-reservations.js';
import {
  BLOCK,
  BLOCK_SHIFT,
  checkOwner,
  checkPa,
  END_OF_LIST,
  FREE,
  FrameState,
  type FrameStateCode,
  type FrameStateCounts,
  FrameTable,
  NO_OWNER,
  type PoolRange,
  purposeOfState,
  RESERVED,
  stateOfPurpose,
  USER,
  type UserFrameHook,
} from './frame-table.js';
import { checkFunction, checkObject, invalidArgument } from './syscalls.js';

export type { FrameReservation } from './frame-reservations.js';
export {
  BLOCK_FRAMES,
  FRAME_STATE_NAMES,
  FrameState,
  type FrameStateCode,
  type FrameStateCounts,
  type PoolRange,
  type UserFrameHook,
} from './frame-table.js';

/** Options of {@link PageAllocator}. */
export interface PageAllocatorOptions {
  /** Receives `frame-alloc` / `frame-free` events while it has listeners. */
  readonly events?: EventStream;
}

/** Largest alignment {@link PageAllocator.allocContiguous} accepts (2^40 frames = 4 PiB). */
const MAX_ALIGN_PAGES = 2 ** 40;
const MAX_REFS = 0x7fff_ffff;

/** See the module documentation. */
export class PageAllocator {
  /** Number of frames the frame table covers (RAM or not). */
  readonly poolFrames: number;
  /**
   * @internal Told about USER frames coming and going while set (the kernel sets it when reclaim
   * starts tracking frames: with the first swap device). Undefined costs one test per call.
   */
  userFrames: UserFrameHook | undefined = undefined;
  /** @internal Per-frame bytes (by {@link frameIndex}) zeroed on free: the kernel's PG_anon_exclusive. */
  clearOnFree: Uint8Array | undefined = undefined;
  /**
   * @internal Frame-table index ({@link frameIndex}) of the frame the last successful {@link alloc}
   * handed out: the fault paths add its reverse-map entry by it (no second conversion per fault).
   */
  lastIndex = -1;
  /**
   * @internal Frames that USER and PAGE_TABLE allocations must leave free: {@link alloc} and
   * {@link allocContiguous} fail (return 0, nothing changed) rather than take the free count below
   * it, as Linux's `__zone_watermark_ok` refuses an allocation that would take a zone below its
   * min watermark. KERNEL allocations ignore it. 0 (no reserve) unless the kernel sets it: the
   * min watermark while watermarks apply, lifted while the reclaim path runs (Linux
   * `PF_MEMALLOC` → `ALLOC_NO_WATERMARKS`); see `reclaim.ts`. A non-negative integer.
   */
  reserve = 0;

  private readonly memory: PhysicalMemory;
  private readonly events: EventStream | undefined;
  /** The frame table, free list and counts (`frame-table.ts`). */
  private readonly t: FrameTable;
  /** Per-block counters and the run search (`frame-blocks.ts`). */
  private readonly blocks: BlockIndex;
  /** Boot reservations (`frame-reservations.ts`). */
  private readonly reservations_: Reservations;
  // The table's and the block index's arrays, held here too: the hot path reads them directly.
  private readonly state: Uint8Array;
  private readonly refsOrPrev: Int32Array;
  private readonly ownerOrNext: Int32Array;
  private readonly blockFree: Uint16Array;
  private readonly blockRun: Uint16Array;
  private readonly counts: Float64Array;
  // The table's constant layout, likewise (alloc turns an index into a frame number with them).
  private readonly singleSegment: boolean;
  private readonly firstPfn: number;
  private readonly firstBase: number;

  /**
   * Creates the frame table over `ranges` of `memory`. Frames of the ranges that are not RAM
   * start RESERVED (reason "not RAM"), as does PA 0 if a range contains it. The free list is
   * built so that a fresh pool hands out frames in ascending address order.
   * @throws InvalidArgumentError for an empty list, an unaligned, empty, overlapping or
   *   non-integer range, or more than 2^31 - 1 frames.
   */
  constructor(memory: PhysicalMemory, ranges: readonly PoolRange[], options: PageAllocatorOptions = {}) {
    if (memory === null || typeof memory !== 'object' || !Array.isArray(memory.ram))
      throw invalidArgument('memory', memory, 'a PhysicalMemory');
    checkObject('options', options, 'an object { events? } or undefined');
    const events = options.events as Partial<EventStream> | undefined;
    if (
      events !== undefined &&
      (events === null || typeof events !== 'object' || typeof events.emit !== 'function')
    )
      throw invalidArgument('options.events', events, 'an EventStream');
    this.memory = memory;
    this.events = options.events;
    const t = new FrameTable(memory, ranges);
    this.t = t;
    this.poolFrames = t.poolFrames;
    this.blocks = new BlockIndex(t);
    this.reservations_ = new Reservations(t, this.blocks, memory);
    this.state = t.state;
    this.refsOrPrev = t.refsOrPrev;
    this.ownerOrNext = t.ownerOrNext;
    this.blockFree = this.blocks.blockFree;
    this.blockRun = this.blocks.blockRun;
    this.counts = t.counts;
    this.singleSegment = t.singleSegment;
    this.firstPfn = t.firstPfn;
    this.firstBase = t.firstBase;
  }

  // -------------------------------------------------------------------------
  // Allocation (hot path: numbers only, no allocation unless events are listened to)

  /**
   * Takes the frame at the head of the free list, zeroed (its content is discarded, so it reads
   * as zeros and has no host memory). USER frames start with reference count 1; PAGE_TABLE and
   * KERNEL frames are not reference counted (0). Emits `frame-alloc` while the event stream has
   * listeners. O(1).
   * @returns the frame's physical address, or 0 when no frame is free, or when a USER or
   *   PAGE_TABLE frame would take the free count below the kernel's reserve (see
   *   {@link availableCount}; 0 is never a frame).
   * @throws InvalidArgumentError for an unknown purpose or an owner that is not an int32 ≥ -1.
   */
  alloc(purpose: FramePurpose, owner = NO_OWNER): number {
    const t = this.t;
    let st: number;
    // The frames this allocation must leave free: the reserve, none for KERNEL frames.
    let floor = this.reserve;
    if (purpose === 'user') st = USER;
    else if (purpose === 'page-table') st = FrameState.PAGE_TABLE;
    else if (purpose === 'kernel') {
      st = FrameState.KERNEL;
      floor = 0;
    } else throw invalidArgument('frame purpose', purpose, "'page-table', 'user' or 'kernel'");
    if (typeof owner !== 'number' || (owner | 0) !== owner || owner < NO_OWNER) {
      throw invalidArgument('frame owner', owner, 'an int32 ≥ -1 (-1 = kernel/none)');
    }
    // One comparison covers both an empty free list (free 0, floor ≥ 0) and the reserve: Linux
    // __zone_watermark_ok for order 0 allows the allocation only when free > min.
    if (t.free <= floor) return 0;
    const i = t.head;
    t.head = this.ownerOrNext[i]!; // the new head's prev link is never read
    const pfn = this.singleSegment ? this.firstPfn + i - this.firstBase : t.pfnOfIndex(i);
    this.memory.discardFrame(pfn);
    this.state[i] = st;
    this.refsOrPrev[i] = st === USER ? 1 : 0;
    this.ownerOrNext[i] = owner;
    const b = i >>> BLOCK_SHIFT;
    const f = this.blockFree[b]!;
    if (f === BLOCK) this.blocks.clearFull(b);
    this.blockFree[b] = f - 1;
    t.free--;
    this.counts[FREE] = this.counts[FREE]! - 1;
    this.counts[st] = this.counts[st]! + 1;
    const pa = pfn * PAGE_SIZE;
    this.lastIndex = i;
    const hook = this.userFrames;
    if (hook !== undefined) {
      if (st === USER) hook.added(i, pa);
      else hook.taken(); // not tracked, but watched for the kswapd wake
    }
    if (this.events?.active) this.events.emit({ type: 'frame-alloc', pa, purpose });
    return pa;
  }

  /**
   * Allocates `pages` physically contiguous frames whose first frame number is a multiple of
   * `alignPages` (512 for a 2 MiB leaf, 262144 for 1 GiB, 1024 for a 32-bit x86 4 MiB page, 16
   * for an AArch64 contiguous-hint group of 4 KiB pages). Every frame is zeroed, in state
   * `purpose` with `owner`, USER frames with reference count 1, exactly as if taken by
   * {@link alloc} one by one; the rest of the free list keeps its order. A run never crosses the
   * boundary between two pool ranges that are not physically adjacent, nor a reserved or
   * allocated frame. Emits one `frame-alloc` per frame, in address order, while listened to.
   *
   * Frames of a run are ordinary frames afterwards: free them one by one with {@link free} /
   * {@link unref} (a split huge page does) or all at once with {@link freeContiguous}.
   *
   * Cost: the search (see the module documentation; O(blocks / 32) for block-aligned runs) plus
   * O(pages).
   * @returns the physical address of the first frame, or 0 when no such run is free or taking
   *   it would go below the reserve (nothing changes then).
   * @throws InvalidArgumentError for `pages` that is not a positive safe integer, `alignPages`
   *   that is not a power of two in [1, 2^40], an unknown purpose or a bad owner.
   */
  allocContiguous(pages: number, alignPages: number, purpose: FramePurpose, owner = NO_OWNER): number {
    const t = this.t;
    if (!Number.isSafeInteger(pages) || pages < 1) {
      throw invalidArgument('allocContiguous pages', pages, 'a positive safe integer');
    }
    if (
      !Number.isSafeInteger(alignPages) ||
      alignPages < 1 ||
      alignPages > MAX_ALIGN_PAGES ||
      2 ** Math.round(Math.log2(alignPages)) !== alignPages
    ) {
      throw invalidArgument('allocContiguous alignPages', alignPages, 'a power of two in [1, 2^40]');
    }
    const st = stateOfPurpose(purpose);
    checkOwner(owner);
    // The reserve (see alloc): __zone_watermark_ok for order n allows free − (2^n − 1) > min,
    // i.e. pages ≤ free − min.
    if (pages > t.free - (st === FrameState.KERNEL ? 0 : this.reserve)) return 0;
    const first = this.blocks.findRun(pages, alignPages);
    if (first < 0) return 0;
    const pfn0 = t.pfnOfIndex(first);
    const refs = st === USER ? 1 : 0;
    const memory = this.memory;
    const state = this.state;
    const next = this.ownerOrNext;
    const prev = this.refsOrPrev;
    for (let k = 0; k < pages; ) {
      // Block bookkeeping once per block of the run, list and frame table per frame.
      const b = (first + k) >>> BLOCK_SHIFT;
      const end = Math.min(pages, (b + 1) * BLOCK - first);
      const f = this.blockFree[b]!;
      if (f === BLOCK) this.blocks.clearFull(b);
      this.blockFree[b] = f - (end - k);
      for (; k < end; k++) {
        const i = first + k;
        const n = next[i]!; // unlink(i), inlined
        if (i === t.head) t.head = n;
        else {
          const pv = prev[i]!;
          next[pv] = n;
          if (n !== END_OF_LIST) prev[n] = pv;
        }
        memory.discardFrame(pfn0 + k);
        state[i] = st;
        prev[i] = refs;
        next[i] = owner;
      }
    }
    t.free -= pages;
    this.counts[FREE] = this.counts[FREE]! - pages;
    this.counts[st] = this.counts[st]! + pages;
    if (this.userFrames !== undefined) this.userFrames.taken(); // a run is never tracked
    if (this.events?.active) {
      for (let k = 0; k < pages; k++)
        this.events.emit({ type: 'frame-alloc', pa: (pfn0 + k) * PAGE_SIZE, purpose });
    }
    return pfn0 * PAGE_SIZE;
  }

  /**
   * Returns an allocated frame to the pool: its content is discarded (reads as zeros, host memory
   * released) and it becomes the next frame {@link alloc} hands out. Emits `frame-free`. O(1).
   * Nothing changes when it throws.
   * @throws AddressError if `pa` is not a non-negative safe integer;
   *   NotOwnedError if `pa` is unaligned, outside the pool, or RESERVED;
   *   DoubleFreeError if the frame is FREE;
   *   InvalidArgumentError for a USER frame with more than one reference (use {@link unref}).
   */
  free(pa: number): void {
    const i = this.releaseIndex(pa);
    const st = this.state[i]!;
    if (st === USER && this.refsOrPrev[i]! > 1) {
      throw invalidArgument(
        'free',
        hex(pa),
        `a frame with one reference; this USER frame has ${this.refsOrPrev[i]} references (use unref)`,
      );
    }
    this.release(i, pa, st);
  }

  /**
   * Frees the `pages` frames starting at `pa` (as {@link free} on each, any mix of allocated
   * states), last frame first, so the run's first frame is the next one {@link alloc} hands out
   * and single allocations then take the run in ascending order. Validates every frame before
   * freeing any: nothing changes when it throws. O(pages).
   * @throws as {@link free} for the first frame that cannot be freed; InvalidArgumentError for
   *   `pages` that is not a positive safe integer.
   */
  freeContiguous(pa: number, pages: number): void {
    const t = this.t;
    if (!Number.isSafeInteger(pages) || pages < 1) {
      throw invalidArgument('freeContiguous pages', pages, 'a positive safe integer');
    }
    checkPa('frame to free', pa);
    const first = this.releaseIndex(pa);
    // A run lies inside one segment (indices and frame numbers advance together there); a frame
    // past the segment's end is outside the pool, and releaseIndex says so.
    const s = t.segmentOfIndex(first);
    const segEnd = t.segBase[s]! + t.segFrames[s]!;
    if (first + pages > segEnd) this.releaseIndex(pa + (segEnd - first) * PAGE_SIZE);
    for (let k = 0; k < pages; k++) {
      const i = first + k;
      const st = this.state[i]!;
      if (st === FREE || st === RESERVED) this.releaseIndex(pa + k * PAGE_SIZE); // throws the precise error
      if (st === USER && this.refsOrPrev[i]! > 1) {
        throw invalidArgument(
          'freeContiguous',
          hex(pa + k * PAGE_SIZE),
          `frames with one reference; this USER frame has ${this.refsOrPrev[i]} references (use unref)`,
        );
      }
    }
    for (let k = pages - 1; k >= 0; k--) this.release(first + k, pa + k * PAGE_SIZE, this.state[first + k]!);
  }

  /**
   * Adds a reference to a USER frame (copy-on-write sharing). Returns the new count.
   * @throws AddressError / OutOfRangeError for an address outside the pool; InvalidArgumentError if
   *   the frame is not a USER frame or the count would overflow.
   */
  ref(pa: number): number {
    const t = this.t;
    const i = t.queryIndex(pa, 'ref');
    if (this.state[i] !== USER) {
      throw invalidArgument('ref', hex(pa), `a USER frame; this frame is ${t.stateName(i)}`);
    }
    if (this.refsOrPrev[i] === MAX_REFS)
      throw invalidArgument('ref', hex(pa), 'fewer than 2^31 - 1 references');
    return ++this.refsOrPrev[i]!;
  }

  /**
   * @internal {@link ref} for fork's table-at-a-time copy, which maps whatever a parent's leaf
   * maps: adds a reference when the frame containing `pa` (a physical address a leaf decoded to)
   * is a USER frame and returns its frame-table index; -1, changing nothing, for any other frame
   * (devices, the zero page, frames outside the pool). One index lookup instead of three.
   */
  refIfUser(pa: number): number {
    const i = this.t.indexOfPfn(Math.floor(pa / PAGE_SIZE));
    if (i < 0 || this.state[i] !== USER) return -1;
    if (this.refsOrPrev[i] === MAX_REFS) this.ref(pa); // throws the overflow error
    this.refsOrPrev[i]!++;
    return i;
  }

  /** @internal {@link refIfUser} for `n` frame numbers at once (fork's copy of one leaf table; FrameTable.refIfUserBatch). */
  refIfUserBatch(pfns: Float64Array, n: number, index: Int32Array): void {
    const failed = this.t.refIfUserBatch(pfns, n, index, MAX_REFS);
    if (failed >= 0) this.ref(pfns[failed]! * PAGE_SIZE); // throws the overflow error
  }

  /**
   * Drops a reference to a USER frame; frees it (as {@link free}) when the count reaches 0.
   * @returns true if the frame was freed.
   * @throws as {@link free} (DoubleFreeError for a FREE frame, NotOwnedError for reserved or foreign
   *   addresses), and InvalidArgumentError for a PAGE_TABLE or KERNEL frame (use {@link free}).
   */
  unref(pa: number): boolean {
    const t = this.t;
    const i = this.releaseIndex(pa);
    const st = this.state[i]!;
    if (st !== USER) {
      throw invalidArgument('unref', hex(pa), `a USER frame; this frame is ${t.stateName(i)} (use free)`);
    }
    if (this.refsOrPrev[i]! > 1) {
      this.refsOrPrev[i]!--;
      return false;
    }
    this.release(i, pa, st);
    return true;
  }

  /** @internal The reference count of the frame at (valid) frame-table index `i` if it is a USER frame, else 0. */
  userRefsAt(i: number): number {
    return this.state[i] === USER ? this.refsOrPrev[i]! : 0;
  }

  /** @internal {@link unref} for the USER frame at frame-table index `i`, address `pa` (both checked by the caller). */
  unrefAt(i: number, pa: number): boolean {
    if (this.refsOrPrev[i]! > 1) {
      this.refsOrPrev[i]!--;
      return false;
    }
    this.release(i, pa, USER);
    return true;
  }

  private release(i: number, pa: number, st: number): void {
    const t = this.t;
    const pfn = pa / PAGE_SIZE;
    this.memory.discardFrame(pfn);
    this.state[i] = FREE;
    const head = t.head;
    this.ownerOrNext[i] = head;
    if (head !== END_OF_LIST) this.refsOrPrev[head] = i;
    t.head = i; // a head's prev link is never read, so it is not written
    const b = i >>> BLOCK_SHIFT;
    const f = this.blockFree[b]! + 1;
    this.blockFree[b] = f;
    this.blockRun[b] = BLOCK;
    if (f === BLOCK) this.blocks.setFull(b);
    t.free++;
    this.counts[st] = this.counts[st]! - 1;
    this.counts[FREE] = this.counts[FREE]! + 1;
    if (st === USER && this.userFrames !== undefined) this.userFrames.freed(i);
    if (this.clearOnFree !== undefined) this.clearOnFree[i] = 0;
    if (this.events?.active) this.events.emit({ type: 'frame-free', pa, purpose: purposeOfState(st) });
  }

  /** Validates an address passed to free/unref; returns the table index of a non-reserved, non-free frame. */
  private releaseIndex(pa: number): number {
    const t = this.t;
    checkPa('frame to free', pa);
    if (pa % PAGE_SIZE !== 0) throw new NotOwnedError(pa, 'not aligned to a 4 KiB frame');
    const i = t.indexOfPfn(pa / PAGE_SIZE);
    if (i < 0) throw new NotOwnedError(pa, `outside the allocator's pool ${t.formatPool()}`);
    const st = this.state[i]!;
    if (st === FREE) throw new DoubleFreeError(pa);
    if (st === RESERVED)
      throw new NotOwnedError(pa, `the frame is reserved (${this.reservations_.reasonOf(i, pa)})`);
    return i;
  }

  // -------------------------------------------------------------------------
  // Contiguous runs

  /**
   * Length in frames of the longest run of physically contiguous free frames (no alignment), for
   * diagnostics (fragmentation reports). Whole free and empty blocks cost O(1) each, partially
   * free blocks ≤ 128 word reads each: O(blocks + 128 × partially free blocks).
   */
  largestFreeRun(): number {
    return this.blocks.largestFreeRun();
  }

  // -------------------------------------------------------------------------
  // Queries

  /** True if the frame containing `pa` belongs to the pool. */
  owns(pa: number): boolean {
    const t = this.t;
    return (
      typeof pa === 'number' &&
      Number.isSafeInteger(pa) &&
      pa >= 0 &&
      t.indexOfPfn(Math.floor(pa / PAGE_SIZE)) >= 0
    );
  }

  /**
   * State of the frame containing `pa` (any byte of the frame), or undefined if that frame is not
   * in the pool (device memory, RAM the pool does not manage), so callers can ask about any
   * physical address a page table maps.
   * @throws AddressError if `pa` is not a non-negative safe integer.
   */
  stateOf(pa: number): FrameStateCode | undefined {
    const t = this.t;
    checkPa('stateOf', pa);
    const i = t.indexOfPfn(Math.floor(pa / PAGE_SIZE));
    return i < 0 ? undefined : (this.state[i] as FrameStateCode);
  }

  /**
   * Reference count of the frame containing `pa` (0 unless USER).
   * @throws AddressError for a non-address, OutOfRangeError outside the pool.
   */
  refCount(pa: number): number {
    const t = this.t;
    const i = t.queryIndex(pa, 'refCount');
    return t.refsOfIndex(i);
  }

  /**
   * Owner id of the frame containing `pa`; -1 for kernel/none, free and reserved frames.
   * @throws as {@link refCount}.
   */
  ownerOf(pa: number): number {
    const t = this.t;
    const i = t.queryIndex(pa, 'ownerOf');
    return this.state[i] === FREE ? NO_OWNER : this.ownerOrNext[i]!;
  }

  /**
   * Sets the owner id of an allocated frame.
   * @throws as {@link refCount}; InvalidArgumentError for a free or reserved frame or a bad owner.
   */
  setOwner(pa: number, owner: number): void {
    const t = this.t;
    const i = t.queryIndex(pa, 'setOwner');
    if (this.state[i] === FREE || this.state[i] === RESERVED) {
      throw invalidArgument('setOwner', hex(pa), `an allocated frame; this frame is ${t.stateName(i)}`);
    }
    checkOwner(owner);
    this.ownerOrNext[i] = owner;
  }

  /** Why the frame containing `pa` is reserved, or undefined if it is not. @throws as {@link refCount}. */
  reservationReason(pa: number): string | undefined {
    return this.reservations_.reasonAt(pa);
  }

  /**
   * Index of the pool frame containing `pa` in the allocator's frame table (0 ≤ index <
   * {@link frameIndexCount}), or -1 when that frame is not in the pool. Lets per-frame side
   * tables (the reverse map) be typed arrays indexed like the frame table. Anything that is not
   * a non-negative safe-integer address is outside the pool (-1).
   */
  frameIndex(pa: number): number {
    const t = this.t;
    if (typeof pa !== 'number' || !(pa >= 0) || pa > Number.MAX_SAFE_INTEGER) return -1;
    return t.indexOfPfn(Math.floor(pa / PAGE_SIZE));
  }

  /** Size of the frame table: one past the largest {@link frameIndex}. */
  get frameIndexCount(): number {
    return this.state.length;
  }

  /** Free frames. */
  get freeCount(): number {
    return this.t.free;
  }

  /**
   * Free frames a USER or PAGE_TABLE allocation may take now: {@link freeCount} minus the frames
   * the kernel keeps in reserve below its min watermark while watermarks apply (a swap device on
   * and automatic reclaim; see the kernel README's Reclaim section), never below 0. Equal to
   * {@link freeCount} when nothing is reserved.
   */
  get availableCount(): number {
    return Math.max(0, this.t.free - this.reserve);
  }

  /** Pool frames minus reserved frames. Constant once boot reservations are done. */
  get totalCount(): number {
    return this.t.total;
  }

  /** Allocated frames (`totalCount - freeCount`). */
  get usedCount(): number {
    return this.t.total - this.t.free;
  }

  /** Reserved frames (`poolFrames - totalCount`). */
  get reservedCount(): number {
    return this.poolFrames - this.t.total;
  }

  /** Fully free, 512-frame-aligned blocks of 512 frames (free 2 MiB blocks). O(1). */
  get freeBlockCount(): number {
    return this.blocks.fullBlocks;
  }

  /** The pool ranges, sorted. */
  get poolRanges(): readonly PoolRange[] {
    return this.t.ranges;
  }

  /** Reservations made so far (PA 0 and explicit ones; "not RAM" frames are implicit), in call order. */
  get reservations(): readonly FrameReservation[] {
    return [...this.reservations_.log];
  }

  /** Frames per state, maintained incrementally (O(1)). */
  countByState(): FrameStateCounts {
    return this.t.countByState();
  }

  /**
   * Calls `visit` for every pool frame in address order with its state, reference count and owner
   * (-1 for free and reserved frames). Allocates nothing per frame. `visit` must not allocate or
   * free frames.
   */
  forEachFrame(visit: (pa: number, state: FrameStateCode, refCount: number, owner: number) => void): void {
    checkFunction('forEachFrame visit', visit);
    this.t.forEachFrame(visit);
  }

  // -------------------------------------------------------------------------
  // Boot-time reservations

  /**
   * Reserves every pool frame below `endPa` (a frame that starts below it), as seed 001's
   * `mem_map_reserve_below` does for the kernel image; a no-op if `endPa` is at or below the
   * pool start. Frames already reserved are not subtracted from `totalCount` again.
   * @returns the number of frames newly reserved.
   * @throws AddressError for a bad address; InvalidArgumentError if an affected frame is allocated
   *   (reservations are boot-only; nothing changes then).
   */
  reserveBelow(endPa: number, reason?: string): number {
    return this.reservations_.below(endPa, reason);
  }

  /**
   * Reserves every pool frame at or above `startPa` (the frame containing `startPa` included when it
   * is unaligned; seed 001's `mem_map_reserve_above` only takes frames starting at or above it, which
   * is the same for aligned input); a no-op if `startPa` is at or above the pool end.
   * @returns the number of frames newly reserved.
   * @throws as {@link reserveBelow}.
   */
  reserveAbove(startPa: number, reason?: string): number {
    return this.reservations_.above(startPa, reason);
  }

  /**
   * Reserves every pool frame that overlaps `[start, end)`; parts outside the pool are ignored.
   * @returns the number of frames newly reserved.
   * @throws as {@link reserveBelow}; InvalidArgumentError if `end < start` or `reason` is not a string.
   */
  reserveRange(start: number, end: number, reason: string): number {
    return this.reservations_.range(start, end, reason);
  }
}
