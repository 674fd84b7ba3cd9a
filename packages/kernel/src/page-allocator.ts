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
 * 9 bytes per frame:
 *
 * - `state` (1 byte): the {@link FrameState};
 * - `ownerOrNext` (4): the owner of an allocated frame, the next free frame of a free one;
 * - `refsOrPrev` (4): the reference count of an allocated frame, the previous free frame of
 *   a free one (a free frame has no references, an allocated one no list neighbours).
 *
 * Frames are grouped in blocks of 512 frames aligned on physical frame numbers (2 MiB of RAM:
 * an L2 block, a PMD). Per block the allocator keeps its free-frame count (`Uint16Array`), an
 * upper bound of its longest free run (`Uint16Array`, reset to 512 when a frame of the block is
 * freed, tightened when a search scans the block) and one bit in a bitmap of fully free blocks:
 * ≈ 0.008 bytes per frame more. Each segment of the table starts at an index congruent to its
 * first frame number modulo 512, so `index >>> 9` is the block and index alignment equals
 * physical alignment up to 512 frames; indices that are no pool frame (padding) are RESERVED
 * and never counted or visited. A run never crosses the boundary between two pool ranges that
 * are not physically adjacent (adjacent ones are merged internally).
 *
 * ```
 *  pool ranges   [ seg 0 ........ )   [ seg 1 ...... )      frame index = base(seg) + pfn - start(seg)
 *  state         F F R K P U U F F     F F F R R R R
 *  free list     head ⇄ 0 ⇄ 1 ⇄ 7 ⇄ 8 ⇄ 9 ⇄ ...           (ascending on a fresh pool, LIFO afterwards)
 *  blocks        |← 512 frames →|← 512 →|…                 free count, longest-run bound, "fully free" bit
 * ```
 *
 * {@link PageAllocator.allocContiguous} costs the search plus O(pages) (each frame of the run is
 * unlinked and zeroed). The search, with B = blocks in the pool:
 * - alignment ≥ 512 frames (2 MiB, 4 MiB, 1 GiB leaves): only block-aligned candidates are
 *   considered; the search jumps from one fully free block to the next through the bitmap (32
 *   blocks per word), checks the run's whole blocks there the same way, and a failed candidate
 *   skips past the block that failed: O(B / 32 + fully free blocks tried), plus ≤ 128 word reads
 *   for the partial block at the end of a run whose length is not a multiple of 512 (a run of
 *   fewer than 512 frames tries every aligned block: O(B / alignment-in-blocks));
 * - runs of ≤ 512 frames with a smaller alignment (e.g. a 16-frame contiguous-hint group): first
 *   fit inside one partially free block (preferred, so fully free blocks stay whole for huge
 *   pages): O(B) counter reads, skipping every block whose free count or longest-run bound is too
 *   small; a scanned block costs ≤ 128 word reads and remembers its longest run until one of its
 *   frames is freed. Then the first fully free block (O(B / 32)).
 * - otherwise (no block is fully free and no single block holds the run, or a run of more than
 *   512 frames with an alignment below 512): a first-fit scan for runs that cross block
 *   boundaries; it skips full and empty blocks in O(1) and reads each frame of a partially free
 *   block at most once per call (worst case O(frames / 4) word reads).
 * Reservations are boot-time operations, O(frames) each.
 */
import type { EventStream, FramePurpose, PhysicalMemory } from '@mmkit/core';
import { DoubleFreeError, hex, NotOwnedError, OutOfRangeError, PAGE_SIZE } from '@mmkit/core';
import { addressError, checkFunction, checkObject, invalidArgument } from './syscalls.js';

/** Frame states as numbers (the values stored in the frame table). */
export const FrameState = { FREE: 0, RESERVED: 1, PAGE_TABLE: 2, USER: 3, KERNEL: 4 } as const;
/** A frame state code: 0 free, 1 reserved, 2 page table, 3 user data, 4 kernel. */
export type FrameStateCode = (typeof FrameState)[keyof typeof FrameState];
/** Names of the frame states, indexed by {@link FrameStateCode}. */
export const FRAME_STATE_NAMES = ['free', 'reserved', 'page-table', 'user', 'kernel'] as const;

/** Frames per allocator block (the unit of the contiguous-run bookkeeping): 512 × 4 KiB = 2 MiB. */
export const BLOCK_FRAMES = 512;

/** Frames per state, as returned by {@link PageAllocator.countByState}. */
export interface FrameStateCounts {
  readonly free: number;
  readonly reserved: number;
  readonly pageTable: number;
  readonly user: number;
  readonly kernel: number;
}

/** A boot reservation recorded by the allocator. */
export interface FrameReservation {
  /** First byte (frame aligned). */
  readonly start: number;
  /** End, exclusive (frame aligned). */
  readonly end: number;
  readonly reason: string;
  /** Frames this reservation took out of the pool (frames reserved before are not counted again). */
  readonly frames: number;
}

/** Options of {@link PageAllocator}. */
export interface PageAllocatorOptions {
  /** Receives `frame-alloc` / `frame-free` events while it has listeners. */
  readonly events?: EventStream;
}

/** A pool range as the constructor accepts it. */
export interface PoolRange {
  readonly start: number;
  readonly end: number;
}

const FREE = FrameState.FREE;
const RESERVED = FrameState.RESERVED;
const USER = FrameState.USER;
const NO_OWNER = -1;
const END_OF_LIST = -1;
const MAX_FRAMES = 0x7fff_ffff;
const BLOCK_SHIFT = 9;
const BLOCK = BLOCK_FRAMES;
/** Largest alignment {@link PageAllocator.allocContiguous} accepts (2^40 frames = 4 PiB). */
const MAX_ALIGN_PAGES = 2 ** 40;
const NOT_RAM_REASON = 'not RAM';
const PA0_REASON = 'PA 0 is the allocation failure sentinel and is never handed out';

function purposeOfState(state: number): FramePurpose {
  return state === USER ? 'user' : state === FrameState.PAGE_TABLE ? 'page-table' : 'kernel';
}

function stateOfPurpose(purpose: FramePurpose): number {
  if (purpose === 'user') return USER;
  if (purpose === 'page-table') return FrameState.PAGE_TABLE;
  if (purpose === 'kernel') return FrameState.KERNEL;
  throw invalidArgument('frame purpose', purpose, "'page-table', 'user' or 'kernel'");
}

function checkOwner(owner: number): void {
  if (typeof owner !== 'number' || (owner | 0) !== owner || owner < NO_OWNER) {
    throw invalidArgument('frame owner', owner, 'an int32 ≥ -1 (-1 = kernel/none)');
  }
}

function checkPa(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw addressError(what, value, 'a non-negative safe-integer physical address');
  }
  return value;
}

/** Smallest `i' ≥ i` with `i' + delta` a multiple of `align` (non-negative operands). */
function alignUpTo(i: number, delta: number, align: number): number {
  return i + ((align - ((i + delta) % align)) % align);
}

/** Index of the lowest set bit of a non-zero 32-bit value. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * @internal What the kernel's reclaim LRU needs to hear from the allocator: a USER frame was
 * handed out by {@link PageAllocator.alloc} (single frames only: runs from `allocContiguous` are
 * huge pages, which are never reclaimed) and a USER frame went back to the pool.
 */
export interface UserFrameHook {
  /** Frame-table index `index` (physical address `pa`) became a USER frame. */
  added(index: number, pa: number): void;
  /** The USER frame at frame-table index `index` was freed. */
  freed(index: number): void;
}

/** See the module documentation. */
export class PageAllocator {
  /** Number of frames the frame table covers (RAM or not). */
  readonly poolFrames: number;
  /**
   * @internal Told about USER frames coming and going while set (the kernel sets it when reclaim
   * starts tracking frames: with the first swap device). Undefined costs one test per call.
   */
  userFrames: UserFrameHook | undefined = undefined;

  private readonly memory: PhysicalMemory;
  private readonly events: EventStream | undefined;
  /** Internal segments (adjacent pool ranges merged), sorted: first frame number, frame count, first table index. */
  private readonly segStart: number[];
  private readonly segFrames: number[];
  private readonly segBase: number[];
  private readonly singleSegment: boolean;
  private readonly firstPfn: number;
  /** Table index of the first pool frame (its frame number modulo 512). */
  private readonly firstBase: number;
  private readonly ranges: readonly PoolRange[];

  private readonly state: Uint8Array;
  /** `state` read 4 frames at a time: a zero word is 4 free frames. */
  private readonly stateWords: Uint32Array;
  /** Reference count of an allocated frame; previous-free link of a free frame. */
  private readonly refsOrPrev: Int32Array;
  /** Owner id of an allocated frame, -1 for reserved frames, next-free link for a free frame. */
  private readonly ownerOrNext: Int32Array;
  /** Per block: free frames. */
  private readonly blockFree: Uint16Array;
  /** Per block: an upper bound of its longest run of free frames. */
  private readonly blockRun: Uint16Array;
  /** One bit per block: all 512 frames are free. */
  private readonly fullBits: Uint32Array;
  private readonly blockCount: number;
  private fullBlocks = 0;
  private head = END_OF_LIST;
  private free_ = 0;
  private total = 0;
  private readonly counts = new Float64Array(5);
  private readonly reservationLog: FrameReservation[] = [];

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
    if (!Array.isArray(ranges) || ranges.length === 0) {
      throw invalidArgument('page allocator ranges', ranges, 'at least one pool range');
    }
    for (const r of ranges)
      if (r === null || typeof r !== 'object')
        throw invalidArgument('page allocator range', r, 'an object { start, end }');
    const sorted = [...ranges].sort((a, b) => a.start - b.start);
    let prevEnd = -1;
    let frames = 0;
    this.segStart = [];
    this.segFrames = [];
    this.segBase = [];
    for (const r of sorted) {
      const ok =
        Number.isSafeInteger(r.start) &&
        Number.isSafeInteger(r.end) &&
        r.start >= 0 &&
        r.start % PAGE_SIZE === 0 &&
        r.end % PAGE_SIZE === 0 &&
        r.end > r.start &&
        r.start >= prevEnd;
      if (!ok) {
        throw invalidArgument(
          'page allocator range',
          `${String(r.start)}..${String(r.end)}`,
          'a non-empty, 4 KiB-aligned range of safe integers not overlapping another range',
        );
      }
      prevEnd = r.end;
      frames += (r.end - r.start) / PAGE_SIZE;
      const startPfn = r.start / PAGE_SIZE;
      const n = (r.end - r.start) / PAGE_SIZE;
      const last = this.segStart.length - 1;
      if (last >= 0 && this.segStart[last]! + this.segFrames[last]! === startPfn) {
        this.segFrames[last] = this.segFrames[last]! + n; // physically adjacent: one segment
        continue;
      }
      let base: number;
      if (last < 0) base = startPfn % BLOCK;
      else {
        const prevEndPfn = this.segStart[last]! + this.segFrames[last]!;
        const prevEndIdx = this.segBase[last]! + this.segFrames[last]!;
        if (Math.floor(startPfn / BLOCK) === Math.floor((prevEndPfn - 1) / BLOCK)) {
          base = prevEndIdx + (startPfn - prevEndPfn); // same 2 MiB block: indices mirror frame numbers
        } else {
          base = Math.ceil(prevEndIdx / BLOCK) * BLOCK + (startPfn % BLOCK);
        }
      }
      this.segStart.push(startPfn);
      this.segFrames.push(n);
      this.segBase.push(base);
    }
    const lastSeg = this.segStart.length - 1;
    const tableSize = Math.ceil((this.segBase[lastSeg]! + this.segFrames[lastSeg]!) / BLOCK) * BLOCK;
    if (frames > MAX_FRAMES || tableSize > MAX_FRAMES) {
      throw invalidArgument('page allocator ranges', `${frames} frames`, `at most ${MAX_FRAMES} frames`);
    }
    this.ranges = Object.freeze(sorted.map((r) => Object.freeze({ start: r.start, end: r.end })));
    this.poolFrames = frames;
    this.singleSegment = this.segStart.length === 1;
    this.firstPfn = this.segStart[0]!;
    this.firstBase = this.segBase[0]!;
    this.state = new Uint8Array(tableSize).fill(RESERVED);
    this.stateWords = new Uint32Array(this.state.buffer);
    this.refsOrPrev = new Int32Array(tableSize);
    this.ownerOrNext = new Int32Array(tableSize).fill(NO_OWNER);
    this.blockCount = tableSize / BLOCK;
    this.blockFree = new Uint16Array(this.blockCount);
    this.blockRun = new Uint16Array(this.blockCount).fill(BLOCK);
    this.fullBits = new Uint32Array(Math.ceil(this.blockCount / 32));

    // RAM frames of the pool start FREE.
    for (let s = 0; s < this.segStart.length; s++) {
      const segLo = this.segStart[s]! * PAGE_SIZE;
      const segHi = segLo + this.segFrames[s]! * PAGE_SIZE;
      for (const r of memory.ram) {
        const lo = Math.max(segLo, r.start);
        const hi = Math.min(segHi, r.end);
        if (hi > lo) {
          const from = this.segBase[s]! + (lo - segLo) / PAGE_SIZE;
          this.state.fill(FREE, from, from + (hi - lo) / PAGE_SIZE);
        }
      }
    }
    const zero = this.indexOfPfn(0);
    if (zero >= 0 && this.state[zero] === FREE) {
      this.state[zero] = RESERVED;
      this.reservationLog.push({ start: 0, end: PAGE_SIZE, reason: PA0_REASON, frames: 1 });
    }
    let free = 0;
    let next = END_OF_LIST;
    for (let i = tableSize - 1; i >= 0; i--) {
      if (this.state[i] === FREE) {
        this.ownerOrNext[i] = next;
        this.refsOrPrev[i] = END_OF_LIST;
        if (next !== END_OF_LIST) this.refsOrPrev[next] = i;
        next = i;
        this.blockFree[i >>> BLOCK_SHIFT]!++;
        free++;
      }
    }
    this.head = next;
    for (let b = 0; b < this.blockCount; b++) if (this.blockFree[b] === BLOCK) this.setFull(b);
    this.free_ = free;
    this.total = free;
    this.counts[FREE] = free;
    this.counts[RESERVED] = frames - free;
  }

  // -------------------------------------------------------------------------
  // Allocation (hot path: numbers only, no allocation unless events are listened to)

  /**
   * Takes the frame at the head of the free list, zeroed (its content is discarded, so it reads
   * as zeros and has no host memory). USER frames start with reference count 1; PAGE_TABLE and
   * KERNEL frames are not reference counted (0). Emits `frame-alloc` while the event stream has
   * listeners. O(1).
   * @returns the frame's physical address, or 0 when no frame is free (0 is never a frame).
   * @throws InvalidArgumentError for an unknown purpose or an owner that is not an int32 ≥ -1.
   */
  alloc(purpose: FramePurpose, owner = NO_OWNER): number {
    let st: number;
    if (purpose === 'user') st = USER;
    else if (purpose === 'page-table') st = FrameState.PAGE_TABLE;
    else if (purpose === 'kernel') st = FrameState.KERNEL;
    else throw invalidArgument('frame purpose', purpose, "'page-table', 'user' or 'kernel'");
    if (typeof owner !== 'number' || (owner | 0) !== owner || owner < NO_OWNER) {
      throw invalidArgument('frame owner', owner, 'an int32 ≥ -1 (-1 = kernel/none)');
    }
    const i = this.head;
    if (i === END_OF_LIST) return 0;
    this.head = this.ownerOrNext[i]!; // the new head's prev link is never read
    const pfn = this.singleSegment ? this.firstPfn + i - this.firstBase : this.pfnOfIndex(i);
    this.memory.discardFrame(pfn);
    this.state[i] = st;
    this.refsOrPrev[i] = st === USER ? 1 : 0;
    this.ownerOrNext[i] = owner;
    const b = i >>> BLOCK_SHIFT;
    const f = this.blockFree[b]!;
    if (f === BLOCK) this.clearFull(b);
    this.blockFree[b] = f - 1;
    this.free_--;
    this.counts[FREE] = this.counts[FREE]! - 1;
    this.counts[st] = this.counts[st]! + 1;
    const pa = pfn * PAGE_SIZE;
    if (st === USER && this.userFrames !== undefined) this.userFrames.added(i, pa);
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
   * @returns the physical address of the first frame, or 0 when no such run is free (nothing
   *   changes then).
   * @throws InvalidArgumentError for `pages` that is not a positive safe integer, `alignPages`
   *   that is not a power of two in [1, 2^40], an unknown purpose or a bad owner.
   */
  allocContiguous(pages: number, alignPages: number, purpose: FramePurpose, owner = NO_OWNER): number {
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
    if (pages > this.free_) return 0;
    const first = this.findRun(pages, alignPages);
    if (first < 0) return 0;
    const pfn0 = this.pfnOfIndex(first);
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
      if (f === BLOCK) this.clearFull(b);
      this.blockFree[b] = f - (end - k);
      for (; k < end; k++) {
        const i = first + k;
        const n = next[i]!; // unlink(i), inlined
        if (i === this.head) this.head = n;
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
    this.free_ -= pages;
    this.counts[FREE] = this.counts[FREE]! - pages;
    this.counts[st] = this.counts[st]! + pages;
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
    if (!Number.isSafeInteger(pages) || pages < 1) {
      throw invalidArgument('freeContiguous pages', pages, 'a positive safe integer');
    }
    checkPa('frame to free', pa);
    const first = this.releaseIndex(pa);
    // A run lies inside one segment (indices and frame numbers advance together there); a frame
    // past the segment's end is outside the pool, and releaseIndex says so.
    const s = this.segmentOfIndex(first);
    const segEnd = this.segBase[s]! + this.segFrames[s]!;
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
    const i = this.queryIndex(pa, 'ref');
    if (this.state[i] !== USER) {
      throw invalidArgument('ref', hex(pa), `a USER frame; this frame is ${this.stateName(i)}`);
    }
    if (this.refsOrPrev[i] === MAX_FRAMES)
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
    const i = this.indexOfPfn(Math.floor(pa / PAGE_SIZE));
    if (i < 0 || this.state[i] !== USER) return -1;
    if (this.refsOrPrev[i] === MAX_FRAMES) this.ref(pa); // throws the overflow error
    this.refsOrPrev[i]!++;
    return i;
  }

  /**
   * Drops a reference to a USER frame; frees it (as {@link free}) when the count reaches 0.
   * @returns true if the frame was freed.
   * @throws as {@link free} (DoubleFreeError for a FREE frame, NotOwnedError for reserved or foreign
   *   addresses), and InvalidArgumentError for a PAGE_TABLE or KERNEL frame (use {@link free}).
   */
  unref(pa: number): boolean {
    const i = this.releaseIndex(pa);
    const st = this.state[i]!;
    if (st !== USER) {
      throw invalidArgument('unref', hex(pa), `a USER frame; this frame is ${this.stateName(i)} (use free)`);
    }
    if (this.refsOrPrev[i]! > 1) {
      this.refsOrPrev[i]!--;
      return false;
    }
    this.release(i, pa, st);
    return true;
  }

  private release(i: number, pa: number, st: number): void {
    const pfn = pa / PAGE_SIZE;
    this.memory.discardFrame(pfn);
    this.state[i] = FREE;
    const head = this.head;
    this.ownerOrNext[i] = head;
    if (head !== END_OF_LIST) this.refsOrPrev[head] = i;
    this.head = i; // a head's prev link is never read, so it is not written
    const b = i >>> BLOCK_SHIFT;
    const f = this.blockFree[b]! + 1;
    this.blockFree[b] = f;
    this.blockRun[b] = BLOCK;
    if (f === BLOCK) this.setFull(b);
    this.free_++;
    this.counts[st] = this.counts[st]! - 1;
    this.counts[FREE] = this.counts[FREE]! + 1;
    if (st === USER && this.userFrames !== undefined) this.userFrames.freed(i);
    if (this.events?.active) this.events.emit({ type: 'frame-free', pa, purpose: purposeOfState(st) });
  }

  /**
   * Removes free frame `i` from the free list (O(1)); its links are left stale. The head's prev
   * link is stale by design (alloc and free do not maintain it), so the head is recognised by
   * identity, never by its prev link.
   */
  private unlink(i: number): void {
    const next = this.ownerOrNext[i]!;
    if (i === this.head) this.head = next;
    else {
      const prev = this.refsOrPrev[i]!;
      this.ownerOrNext[prev] = next;
      if (next !== END_OF_LIST) this.refsOrPrev[next] = prev;
    }
  }

  private setFull(b: number): void {
    this.fullBits[b >>> 5] = this.fullBits[b >>> 5]! | (1 << (b & 31));
    this.fullBlocks++;
  }

  private clearFull(b: number): void {
    this.fullBits[b >>> 5] = this.fullBits[b >>> 5]! & ~(1 << (b & 31));
    this.fullBlocks--;
  }

  /** Validates an address passed to free/unref; returns the table index of a non-reserved, non-free frame. */
  private releaseIndex(pa: number): number {
    checkPa('frame to free', pa);
    if (pa % PAGE_SIZE !== 0) throw new NotOwnedError(pa, 'not aligned to a 4 KiB frame');
    const i = this.indexOfPfn(pa / PAGE_SIZE);
    if (i < 0) throw new NotOwnedError(pa, `outside the allocator's pool ${this.formatPool()}`);
    const st = this.state[i]!;
    if (st === FREE) throw new DoubleFreeError(pa);
    if (st === RESERVED) throw new NotOwnedError(pa, `the frame is reserved (${this.reasonOfIndex(i, pa)})`);
    return i;
  }

  // -------------------------------------------------------------------------
  // Contiguous-run search (see the module documentation for the cost model)

  /** Table index of the first frame of a free run of `pages` frames aligned to `align` frames, or -1. */
  private findRun(pages: number, align: number): number {
    if (align >= BLOCK) return this.findBlockAligned(pages, align);
    if (pages <= BLOCK) {
      const inPartial = this.findInPartialBlocks(pages, align);
      if (inPartial >= 0) return inPartial;
      // A fully free block holds any run of ≤ 512 frames at its start (align divides 512).
      const full = this.nextFull(0, this.blockCount);
      if (full >= 0) return full * BLOCK;
    }
    return this.findAnywhere(pages, align);
  }

  /** Runs aligned to a multiple of 512 frames: block-aligned candidates, whole blocks from the bitmap. */
  private findBlockAligned(pages: number, align: number): number {
    const alignBlocks = align / BLOCK;
    const whole = Math.floor(pages / BLOCK);
    const rest = pages % BLOCK;
    const need = whole + (rest > 0 ? 1 : 0);
    if (whole > this.fullBlocks) return -1;
    for (let s = 0; s < this.segStart.length; s++) {
      const base = this.segBase[s]!;
      const lo = Math.floor(base / BLOCK);
      const hi = Math.ceil((base + this.segFrames[s]!) / BLOCK);
      // Physical block number of table block b is b + delta (segments start congruent mod 512).
      const delta = (this.segStart[s]! - base) / BLOCK;
      let cand = alignUpTo(lo, delta, alignBlocks);
      while (cand + need <= hi) {
        if (whole > 0) {
          // Jump to the next fully free block (32 blocks per bitmap word), then align up.
          const full = this.nextFull(cand, hi);
          if (full < 0) break;
          if (full > cand) {
            cand = alignUpTo(full, delta, alignBlocks);
            continue;
          }
          const notFull = this.firstNotFull(cand, cand + whole);
          if (notFull >= 0) {
            cand = alignUpTo(notFull + 1, delta, alignBlocks);
            continue;
          }
        }
        if (rest > 0 && !this.prefixFree(cand + whole, rest)) {
          cand += alignBlocks;
          continue;
        }
        return cand * BLOCK;
      }
    }
    return -1;
  }

  /** First fit of a run of ≤ 512 frames (align ≤ 512) inside one partially free block, or -1. */
  private findInPartialBlocks(pages: number, align: number): number {
    const free = this.blockFree;
    const run = this.blockRun;
    for (let b = 0; b < this.blockCount; b++) {
      const f = free[b]!;
      if (f < pages || f === BLOCK || run[b]! < pages) continue;
      const i = this.scanBlock(b, pages, align);
      if (i >= 0) return i;
    }
    return -1;
  }

  /**
   * Looks for an aligned run of `pages` free frames inside block `b`. On failure records the
   * block's longest free run (so later searches skip it until one of its frames is freed).
   */
  private scanBlock(b: number, pages: number, align: number): number {
    const state = this.state;
    const words = this.stateWords;
    const start = b * BLOCK;
    const end = start + BLOCK;
    const mask = align - 1;
    let runStart = -1;
    let longest = 0;
    let j = start;
    while (j < end) {
      if ((j & 3) === 0 && words[j >>> 2] === 0) {
        if (runStart < 0) runStart = j;
        j += 4;
      } else if (state[j] === FREE) {
        if (runStart < 0) runStart = j;
        j++;
      } else {
        if (runStart >= 0) {
          if (j - runStart > longest) longest = j - runStart;
          runStart = -1;
        }
        j++;
        continue;
      }
      const p = (runStart + mask) & ~mask;
      if (p + pages <= j) return p;
    }
    if (runStart >= 0 && end - runStart > longest) longest = end - runStart;
    this.blockRun[b] = longest;
    return -1;
  }

  /** First-fit scan for any run (may cross block boundaries); skips full and empty blocks in O(1). */
  private findAnywhere(pages: number, align: number): number {
    for (let s = 0; s < this.segStart.length; s++) {
      const lo = this.segBase[s]!;
      const hi = lo + this.segFrames[s]!;
      const delta = this.segStart[s]! - lo; // frame number = index + delta
      let pos = alignUpTo(lo, delta, align);
      while (pos + pages <= hi) {
        const busy = this.firstBusy(pos, pos + pages);
        if (busy < 0) return pos;
        const b = busy >>> BLOCK_SHIFT;
        pos = alignUpTo(this.blockFree[b] === 0 ? (b + 1) * BLOCK : busy + 1, delta, align);
      }
    }
    return -1;
  }

  /** First index in `[from, to)` whose frame is not free, or -1. */
  private firstBusy(from: number, to: number): number {
    const state = this.state;
    const words = this.stateWords;
    let j = from;
    while (j < to) {
      const b = j >>> BLOCK_SHIFT;
      const f = this.blockFree[b]!;
      if (f === BLOCK) {
        j = (b + 1) * BLOCK;
        continue;
      }
      if (f === 0) return j;
      const stop = Math.min(to, (b + 1) * BLOCK);
      while (j < stop) {
        if ((j & 3) === 0 && j + 4 <= stop && words[j >>> 2] === 0) j += 4;
        else if (state[j] === FREE) j++;
        else return j;
      }
    }
    return -1;
  }

  /** True if the first `n` frames of block `b` are free. */
  private prefixFree(b: number, n: number): boolean {
    const f = this.blockFree[b]!;
    if (f === BLOCK) return true;
    if (f < n) return false;
    const start = b * BLOCK;
    return this.firstBusy(start, start + n) < 0;
  }

  /** First block in `[from, to)` that is not fully free, or -1 (32 blocks per bitmap word). */
  private firstNotFull(from: number, to: number): number {
    let j = from;
    while (j < to) {
      const missing = ~this.fullBits[j >>> 5]! >>> (j & 31);
      if (missing === 0) {
        j = (j | 31) + 1;
        continue;
      }
      const k = j + ctz32(missing);
      return k < to ? k : -1;
    }
    return -1;
  }

  /** First fully free block in `[from, to)`, or -1. */
  private nextFull(from: number, to: number): number {
    if (this.fullBlocks === 0) return -1;
    let j = from;
    while (j < to) {
      const present = this.fullBits[j >>> 5]! >>> (j & 31);
      if (present === 0) {
        j = (j | 31) + 1;
        continue;
      }
      const k = j + ctz32(present);
      return k < to ? k : -1;
    }
    return -1;
  }

  /**
   * Length in frames of the longest run of physically contiguous free frames (no alignment), for
   * diagnostics (fragmentation reports). Whole free and empty blocks cost O(1) each, partially
   * free blocks ≤ 128 word reads each: O(blocks + 128 × partially free blocks).
   */
  largestFreeRun(): number {
    let best = 0;
    for (let s = 0; s < this.segStart.length; s++) {
      const lo = this.segBase[s]!;
      const hi = lo + this.segFrames[s]!;
      let run = 0;
      let j = lo;
      while (j < hi) {
        const b = j >>> BLOCK_SHIFT;
        const blockEnd = Math.min(hi, (b + 1) * BLOCK);
        const f = this.blockFree[b]!;
        if (f === BLOCK) {
          run += blockEnd - j;
          j = blockEnd;
        } else if (f === 0) {
          if (run > best) best = run;
          run = 0;
          j = blockEnd;
        } else {
          for (; j < blockEnd; j++) {
            if (this.state[j] === FREE) run++;
            else {
              if (run > best) best = run;
              run = 0;
            }
          }
        }
      }
      if (run > best) best = run;
    }
    return best;
  }

  // -------------------------------------------------------------------------
  // Queries

  /** True if the frame containing `pa` belongs to the pool. */
  owns(pa: number): boolean {
    return (
      typeof pa === 'number' &&
      Number.isSafeInteger(pa) &&
      pa >= 0 &&
      this.indexOfPfn(Math.floor(pa / PAGE_SIZE)) >= 0
    );
  }

  /**
   * State of the frame containing `pa` (any byte of the frame), or undefined if that frame is not
   * in the pool (device memory, RAM the pool does not manage), so callers can ask about any
   * physical address a page table maps.
   * @throws AddressError if `pa` is not a non-negative safe integer.
   */
  stateOf(pa: number): FrameStateCode | undefined {
    checkPa('stateOf', pa);
    const i = this.indexOfPfn(Math.floor(pa / PAGE_SIZE));
    return i < 0 ? undefined : (this.state[i] as FrameStateCode);
  }

  /**
   * Reference count of the frame containing `pa` (0 unless USER).
   * @throws AddressError for a non-address, OutOfRangeError outside the pool.
   */
  refCount(pa: number): number {
    const i = this.queryIndex(pa, 'refCount');
    return this.refsOfIndex(i);
  }

  /**
   * Owner id of the frame containing `pa`; -1 for kernel/none, free and reserved frames.
   * @throws as {@link refCount}.
   */
  ownerOf(pa: number): number {
    const i = this.queryIndex(pa, 'ownerOf');
    return this.state[i] === FREE ? NO_OWNER : this.ownerOrNext[i]!;
  }

  /**
   * Sets the owner id of an allocated frame.
   * @throws as {@link refCount}; InvalidArgumentError for a free or reserved frame or a bad owner.
   */
  setOwner(pa: number, owner: number): void {
    const i = this.queryIndex(pa, 'setOwner');
    if (this.state[i] === FREE || this.state[i] === RESERVED) {
      throw invalidArgument('setOwner', hex(pa), `an allocated frame; this frame is ${this.stateName(i)}`);
    }
    checkOwner(owner);
    this.ownerOrNext[i] = owner;
  }

  /** Why the frame containing `pa` is reserved, or undefined if it is not. @throws as {@link refCount}. */
  reservationReason(pa: number): string | undefined {
    const i = this.queryIndex(pa, 'reservationReason');
    return this.state[i] === RESERVED
      ? this.reasonOfIndex(i, Math.floor(pa / PAGE_SIZE) * PAGE_SIZE)
      : undefined;
  }

  /**
   * Index of the pool frame containing `pa` in the allocator's frame table (0 ≤ index <
   * {@link frameIndexCount}), or -1 when that frame is not in the pool. Lets per-frame side
   * tables (the reverse map) be typed arrays indexed like the frame table. Anything that is not
   * a non-negative safe-integer address is outside the pool (-1).
   */
  frameIndex(pa: number): number {
    if (typeof pa !== 'number' || !(pa >= 0) || pa > Number.MAX_SAFE_INTEGER) return -1;
    return this.indexOfPfn(Math.floor(pa / PAGE_SIZE));
  }

  /** Size of the frame table: one past the largest {@link frameIndex}. */
  get frameIndexCount(): number {
    return this.state.length;
  }

  /** Free frames. */
  get freeCount(): number {
    return this.free_;
  }

  /** Pool frames minus reserved frames. Constant once boot reservations are done. */
  get totalCount(): number {
    return this.total;
  }

  /** Allocated frames (`totalCount - freeCount`). */
  get usedCount(): number {
    return this.total - this.free_;
  }

  /** Reserved frames (`poolFrames - totalCount`). */
  get reservedCount(): number {
    return this.poolFrames - this.total;
  }

  /** Fully free, 512-frame-aligned blocks of 512 frames (free 2 MiB blocks). O(1). */
  get freeBlockCount(): number {
    return this.fullBlocks;
  }

  /** The pool ranges, sorted. */
  get poolRanges(): readonly PoolRange[] {
    return this.ranges;
  }

  /** Reservations made so far (PA 0 and explicit ones; "not RAM" frames are implicit), in call order. */
  get reservations(): readonly FrameReservation[] {
    return [...this.reservationLog];
  }

  /** Frames per state, maintained incrementally (O(1)). */
  countByState(): FrameStateCounts {
    return {
      free: this.counts[FREE]!,
      reserved: this.counts[RESERVED]!,
      pageTable: this.counts[FrameState.PAGE_TABLE]!,
      user: this.counts[USER]!,
      kernel: this.counts[FrameState.KERNEL]!,
    };
  }

  /**
   * Calls `visit` for every pool frame in address order with its state, reference count and owner
   * (-1 for free and reserved frames). Allocates nothing per frame. `visit` must not allocate or
   * free frames.
   */
  forEachFrame(visit: (pa: number, state: FrameStateCode, refCount: number, owner: number) => void): void {
    checkFunction('forEachFrame visit', visit);
    for (let s = 0; s < this.segStart.length; s++) {
      const base = this.segBase[s]!;
      const startPa = this.segStart[s]! * PAGE_SIZE;
      const n = this.segFrames[s]!;
      for (let k = 0; k < n; k++) {
        const i = base + k;
        const st = this.state[i] as FrameStateCode;
        visit(
          startPa + k * PAGE_SIZE,
          st,
          st === FREE ? 0 : this.refsOrPrev[i]!,
          st === FREE ? NO_OWNER : this.ownerOrNext[i]!,
        );
      }
    }
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
    checkPa('reserveBelow end', endPa);
    if (endPa <= this.firstPfn * PAGE_SIZE) return 0;
    return this.reserve(this.firstPfn * PAGE_SIZE, endPa, reason ?? `below ${hex(endPa)}`, 'reserveBelow');
  }

  /**
   * Reserves every pool frame at or above `startPa` (the frame containing `startPa` included when it
   * is unaligned; seed 001's `mem_map_reserve_above` only takes frames starting at or above it, which
   * is the same for aligned input); a no-op if `startPa` is at or above the pool end.
   * @returns the number of frames newly reserved.
   * @throws as {@link reserveBelow}.
   */
  reserveAbove(startPa: number, reason?: string): number {
    checkPa('reserveAbove start', startPa);
    const last = this.segStart.length - 1;
    const poolEnd = (this.segStart[last]! + this.segFrames[last]!) * PAGE_SIZE;
    if (startPa >= poolEnd) return 0;
    return this.reserve(startPa, poolEnd, reason ?? `at or above ${hex(startPa)}`, 'reserveAbove');
  }

  /**
   * Reserves every pool frame that overlaps `[start, end)`; parts outside the pool are ignored.
   * @returns the number of frames newly reserved.
   * @throws as {@link reserveBelow}; InvalidArgumentError if `end < start` or `reason` is not a string.
   */
  reserveRange(start: number, end: number, reason: string): number {
    checkPa('reserveRange start', start);
    checkPa('reserveRange end', end);
    if (end < start) throw invalidArgument('reserveRange end', end, `an end ≥ start ${hex(start)}`);
    if (typeof reason !== 'string') throw invalidArgument('reserveRange reason', reason, 'a string');
    return this.reserve(start, end, reason, 'reserveRange');
  }

  private reserve(start: number, end: number, reason: string, op: string): number {
    const loPfn = Math.floor(start / PAGE_SIZE);
    const hiPfn = Math.ceil(end / PAGE_SIZE);
    // Pass 1: refuse if any affected frame is allocated (boot-only API; nothing changes).
    for (let s = 0; s < this.segStart.length; s++) {
      const [from, to] = this.segSlice(s, loPfn, hiPfn);
      for (let i = from; i < to; i++) {
        const st = this.state[i]!;
        if (st !== FREE && st !== RESERVED) {
          const pa = (this.segStart[s]! + i - this.segBase[s]!) * PAGE_SIZE;
          throw invalidArgument(
            op,
            `[${hex(start)}, ${hex(end)})`,
            `a range without allocated frames (reservations are boot-only); the frame at ${hex(pa)} is ${this.stateName(i)}`,
          );
        }
      }
    }
    // Pass 2: reserve, counting only fresh reservations; the rest of the free list keeps its order.
    let fresh = 0;
    for (let s = 0; s < this.segStart.length; s++) {
      const [from, to] = this.segSlice(s, loPfn, hiPfn);
      for (let i = from; i < to; i++) {
        if (this.state[i] === FREE) {
          this.unlink(i);
          this.state[i] = RESERVED;
          this.refsOrPrev[i] = 0;
          this.ownerOrNext[i] = NO_OWNER;
          const b = i >>> BLOCK_SHIFT;
          if (this.blockFree[b] === BLOCK) this.clearFull(b);
          this.blockFree[b]!--;
          fresh++;
        }
      }
    }
    if (fresh > 0) {
      this.free_ -= fresh;
      this.total -= fresh;
      this.counts[FREE] = this.counts[FREE]! - fresh;
      this.counts[RESERVED] = this.counts[RESERVED]! + fresh;
    }
    if (hiPfn > loPfn) {
      this.reservationLog.push({ start: loPfn * PAGE_SIZE, end: hiPfn * PAGE_SIZE, reason, frames: fresh });
    }
    return fresh;
  }

  /** Table index range of segment `s` that lies in `[loPfn, hiPfn)`. */
  private segSlice(s: number, loPfn: number, hiPfn: number): [number, number] {
    const first = this.segStart[s]!;
    const lo = Math.max(loPfn, first);
    const hi = Math.min(hiPfn, first + this.segFrames[s]!);
    if (hi <= lo) return [0, 0];
    return [this.segBase[s]! + lo - first, this.segBase[s]! + hi - first];
  }

  // -------------------------------------------------------------------------
  // Index arithmetic

  /** Table index of frame `pfn`, or -1 if it is outside the pool. */
  private indexOfPfn(pfn: number): number {
    if (this.singleSegment) {
      const rel = pfn - this.firstPfn;
      return rel >= 0 && rel < this.poolFrames ? rel + this.firstBase : -1;
    }
    for (let s = 0; s < this.segStart.length; s++) {
      const rel = pfn - this.segStart[s]!;
      if (rel >= 0 && rel < this.segFrames[s]!) return this.segBase[s]! + rel;
    }
    return -1;
  }

  /** Segment holding table index `i` (a valid index of a pool frame). */
  private segmentOfIndex(i: number): number {
    let s = this.segStart.length - 1;
    while (this.segBase[s]! > i) s--;
    return s;
  }

  /** Frame number of table index `i` (a valid index of a pool frame). */
  private pfnOfIndex(i: number): number {
    if (this.singleSegment) return this.firstPfn + i - this.firstBase;
    let s = this.segStart.length - 1;
    while (this.segBase[s]! > i) s--;
    return this.segStart[s]! + i - this.segBase[s]!;
  }

  private refsOfIndex(i: number): number {
    return this.state[i] === FREE ? 0 : this.refsOrPrev[i]!;
  }

  private queryIndex(pa: number, op: string): number {
    checkPa(op, pa);
    const i = this.indexOfPfn(Math.floor(pa / PAGE_SIZE));
    if (i < 0)
      throw new OutOfRangeError(op, hex(pa), `an address inside the allocator's pool ${this.formatPool()}`);
    return i;
  }

  private stateName(i: number): string {
    return FRAME_STATE_NAMES[this.state[i]!] ?? `state ${this.state[i]}`;
  }

  /** Why reserved frame `i` (at `pa`) is reserved: frames that are not RAM were reserved first, at construction. */
  private reasonOfIndex(i: number, pa: number): string {
    if (!this.memory.isRamFrame(this.pfnOfIndex(i))) return NOT_RAM_REASON;
    // The first reservation covering a frame is the one that reserved it: later ones skip it.
    for (const r of this.reservationLog) if (pa >= r.start && pa < r.end) return r.reason;
    return 'reserved';
  }

  private formatPool(): string {
    return this.ranges.map((r) => `[${hex(r.start)}, ${hex(r.end)})`).join(', ');
  }
}
