/**
 * The page allocator's frame table (part of {@link PageAllocator}, see `page-allocator.ts` for
 * the whole design): the pool's segments and the index arithmetic, one entry per frame (state,
 * reference count or free-list link, owner or free-list link), the doubly linked free list
 * threaded through it, and the counts per state.
 *
 * ```
 *  pool ranges   [ seg 0 ........ )   [ seg 1 ...... )      frame index = base(seg) + pfn - start(seg)
 *  state         F F R K P U U F F     F F F R R R R
 *  free list     head ⇄ 0 ⇄ 1 ⇄ 7 ⇄ 8 ⇄ 9 ⇄ ...           (ascending on a fresh pool, LIFO afterwards)
 * ```
 *
 * - `state` (1 byte per frame): the {@link FrameState};
 * - `ownerOrNext` (4): the owner of an allocated frame, the next free frame of a free one;
 * - `refsOrPrev` (4): the reference count of an allocated frame, the previous free frame of
 *   a free one (a free frame has no references, an allocated one no list neighbours).
 *
 * Physically adjacent pool ranges are merged into one segment. Each segment starts at a table
 * index congruent to its first frame number modulo 512 ({@link BLOCK_FRAMES}), so `index >>> 9`
 * is the 2 MiB block (`frame-blocks.ts`) and index alignment equals physical alignment up to 512
 * frames; indices that are no pool frame (padding) are RESERVED and never counted or visited.
 *
 * Nothing here is API: {@link PageAllocator} owns one table and keeps every invariant; the
 * fields are public only so that the allocator's modules (`frame-blocks.ts`,
 * `frame-reservations.ts`) can share them without copies.
 */
import type { FramePurpose, PhysicalMemory } from '@mmkit/core';
import { hex, OutOfRangeError, PAGE_SIZE } from '@mmkit/core';
import { addressError, invalidArgument } from './syscalls.js';

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

/** A pool range as the constructor accepts it. */
export interface PoolRange {
  readonly start: number;
  readonly end: number;
}

/**
 * @internal What the kernel's reclaim LRU needs to hear from the allocator: a USER frame was
 * handed out by `PageAllocator.alloc` (single frames only: runs from `allocContiguous` are
 * huge pages, which are never reclaimed) and a USER frame went back to the pool.
 */
export interface UserFrameHook {
  /** Frame-table index `index` (physical address `pa`) became a USER frame. */
  added(index: number, pa: number): void;
  /** The USER frame at frame-table index `index` was freed. */
  freed(index: number): void;
  /**
   * A frame the hook does not track was allocated: a PAGE_TABLE or KERNEL frame, or a run of any
   * purpose (allocContiguous). The free count has already dropped.
   */
  taken(): void;
}

export const FREE = FrameState.FREE;
export const RESERVED = FrameState.RESERVED;
export const USER = FrameState.USER;
export const NO_OWNER = -1;
export const END_OF_LIST = -1;
export const MAX_FRAMES = 0x7fff_ffff;
export const BLOCK_SHIFT = 9;
export const BLOCK = BLOCK_FRAMES;
/** Why PA 0 is reserved when it is in the pool (the first entry of the reservation log then). */
export const PA0_REASON = 'PA 0 is the allocation failure sentinel and is never handed out';

export function purposeOfState(state: number): FramePurpose {
  return state === USER ? 'user' : state === FrameState.PAGE_TABLE ? 'page-table' : 'kernel';
}

export function stateOfPurpose(purpose: FramePurpose): number {
  if (purpose === 'user') return USER;
  if (purpose === 'page-table') return FrameState.PAGE_TABLE;
  if (purpose === 'kernel') return FrameState.KERNEL;
  throw invalidArgument('frame purpose', purpose, "'page-table', 'user' or 'kernel'");
}

export function checkOwner(owner: number): void {
  if (typeof owner !== 'number' || (owner | 0) !== owner || owner < NO_OWNER) {
    throw invalidArgument('frame owner', owner, 'an int32 ≥ -1 (-1 = kernel/none)');
  }
}

export function checkPa(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw addressError(what, value, 'a non-negative safe-integer physical address');
  }
  return value;
}

/** @internal See the module documentation. */
export class FrameTable {
  /** Number of frames the pool ranges cover (RAM or not). */
  readonly poolFrames: number;
  /** Internal segments (adjacent pool ranges merged), sorted: first frame number, frame count, first table index. */
  readonly segStart: number[] = [];
  readonly segFrames: number[] = [];
  readonly segBase: number[] = [];
  readonly singleSegment: boolean;
  readonly firstPfn: number;
  /** Table index of the first pool frame (its frame number modulo 512). */
  readonly firstBase: number;
  /** The pool ranges as given, sorted and frozen. */
  readonly ranges: readonly PoolRange[];

  readonly state: Uint8Array;
  /** `state` read 4 frames at a time: a zero word is 4 free frames. */
  readonly stateWords: Uint32Array;
  /** Reference count of an allocated frame; previous-free link of a free frame. */
  readonly refsOrPrev: Int32Array;
  /** Owner id of an allocated frame, -1 for reserved frames, next-free link for a free frame. */
  readonly ownerOrNext: Int32Array;

  /** First frame of the free list (its prev link is stale by design, see {@link unlink}). */
  head = END_OF_LIST;
  /** Free frames. */
  free = 0;
  /** Pool frames minus reserved frames. */
  total = 0;
  /** Frames per state, indexed by {@link FrameStateCode}. */
  readonly counts = new Float64Array(5);
  /** Whether PA 0 was a RAM frame of the pool and was reserved ({@link PA0_REASON}). */
  readonly reservedPa0: boolean;

  /**
   * Lays out the table over `ranges`: RAM frames of `memory` start FREE, everything else
   * (holes, PA 0) RESERVED; the free list is built so that a fresh pool hands out frames in
   * ascending address order.
   * @throws InvalidArgumentError for an empty list, an unaligned, empty, overlapping or
   *   non-integer range, or more than 2^31 - 1 frames.
   */
  constructor(memory: PhysicalMemory, ranges: readonly PoolRange[]) {
    if (!Array.isArray(ranges) || ranges.length === 0) {
      throw invalidArgument('page allocator ranges', ranges, 'at least one pool range');
    }
    for (const r of ranges)
      if (r === null || typeof r !== 'object')
        throw invalidArgument('page allocator range', r, 'an object { start, end }');
    const sorted = [...ranges].sort((a, b) => a.start - b.start);
    let prevEnd = -1;
    let frames = 0;
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
      this.addSegment(r.start / PAGE_SIZE, (r.end - r.start) / PAGE_SIZE);
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
    this.reservedPa0 = zero >= 0 && this.state[zero] === FREE;
    if (this.reservedPa0) this.state[zero] = RESERVED;
    this.buildFreeList();
  }

  /** Appends the segment of `n` frames from `startPfn`, merging it with a physically adjacent one. */
  private addSegment(startPfn: number, n: number): void {
    const last = this.segStart.length - 1;
    if (last >= 0 && this.segStart[last]! + this.segFrames[last]! === startPfn) {
      this.segFrames[last] = this.segFrames[last]! + n; // physically adjacent: one segment
      return;
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

  /** Threads every FREE frame onto the free list in ascending order and sets the counts. */
  private buildFreeList(): void {
    let free = 0;
    let next = END_OF_LIST;
    for (let i = this.state.length - 1; i >= 0; i--) {
      if (this.state[i] === FREE) {
        this.ownerOrNext[i] = next;
        this.refsOrPrev[i] = END_OF_LIST;
        if (next !== END_OF_LIST) this.refsOrPrev[next] = i;
        next = i;
        free++;
      }
    }
    this.head = next;
    this.free = free;
    this.total = free;
    this.counts[FREE] = free;
    this.counts[RESERVED] = this.poolFrames - free;
  }

  /**
   * Removes free frame `i` from the free list (O(1)); its links are left stale. The head's prev
   * link is stale by design (alloc and free do not maintain it), so the head is recognised by
   * identity, never by its prev link.
   */
  unlink(i: number): void {
    const next = this.ownerOrNext[i]!;
    if (i === this.head) this.head = next;
    else {
      const prev = this.refsOrPrev[i]!;
      this.ownerOrNext[prev] = next;
      if (next !== END_OF_LIST) this.refsOrPrev[next] = prev;
    }
  }

  /**
   * Adds a reference to each USER frame of `pfns[0 … n)` and sets `index[j]` to its table index,
   * or -1 (nothing changed) for a frame outside the pool or not USER: fork's copy of one leaf table
   * in one tight loop. When a count would pass `maxRefs`, every reference this call added is taken
   * back and the failing position is returned (the caller throws); -1 when all went in.
   */
  refIfUserBatch(pfns: Float64Array, n: number, index: Int32Array, maxRefs: number): number {
    const { state, refsOrPrev: refs, segStart, segFrames, segBase } = this;
    // The segment of the last frame found first (a leaf table's frames are mostly in one): a
    // frame number of it gives its index with one subtraction and one unsigned compare.
    let start = segStart[0]!;
    let frames = segFrames[0]!;
    let base = segBase[0]!;
    for (let j = 0; j < n; j++) {
      const pfn = pfns[j]!;
      let rel = pfn - start;
      if (!(rel >= 0 && rel < frames)) {
        const s = this.segmentOfPfn(pfn);
        if (s < 0) {
          index[j] = -1;
          continue;
        }
        start = segStart[s]!;
        frames = segFrames[s]!;
        base = segBase[s]!;
        rel = pfn - start;
      }
      const i = (rel + base) | 0; // a table index (an int32: a double index costs a check per access)
      if (state[i] !== USER) {
        index[j] = -1;
        continue;
      }
      if (refs[i] === maxRefs) {
        for (let u = 0; u < j; u++) if (index[u]! >= 0) refs[index[u]!]!--;
        return j;
      }
      refs[i]!++;
      index[j] = i;
    }
    return -1;
  }

  /** The segment that holds frame `pfn`, or -1 if it is outside the pool. */
  private segmentOfPfn(pfn: number): number {
    for (let s = 0; s < this.segStart.length; s++) {
      const rel = pfn - this.segStart[s]!;
      if (rel >= 0 && rel < this.segFrames[s]!) return s;
    }
    return -1;
  }

  /** Table index of frame `pfn`, or -1 if it is outside the pool. */
  indexOfPfn(pfn: number): number {
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
  segmentOfIndex(i: number): number {
    let s = this.segStart.length - 1;
    while (this.segBase[s]! > i) s--;
    return s;
  }

  /** Frame number of table index `i` (a valid index of a pool frame). */
  pfnOfIndex(i: number): number {
    if (this.singleSegment) return this.firstPfn + i - this.firstBase;
    let s = this.segStart.length - 1;
    while (this.segBase[s]! > i) s--;
    return this.segStart[s]! + i - this.segBase[s]!;
  }

  /** Table index range of segment `s` that lies in `[loPfn, hiPfn)`. */
  segSlice(s: number, loPfn: number, hiPfn: number): [number, number] {
    const first = this.segStart[s]!;
    const lo = Math.max(loPfn, first);
    const hi = Math.min(hiPfn, first + this.segFrames[s]!);
    if (hi <= lo) return [0, 0];
    return [this.segBase[s]! + lo - first, this.segBase[s]! + hi - first];
  }

  /** One past the last pool frame's physical address. */
  poolEnd(): number {
    const last = this.segStart.length - 1;
    return (this.segStart[last]! + this.segFrames[last]!) * PAGE_SIZE;
  }

  /** See {@link PageAllocator.countByState}. */
  countByState(): FrameStateCounts {
    const c = this.counts;
    return {
      free: c[FREE]!,
      reserved: c[RESERVED]!,
      pageTable: c[FrameState.PAGE_TABLE]!,
      user: c[USER]!,
      kernel: c[FrameState.KERNEL]!,
    };
  }

  /** See {@link PageAllocator.forEachFrame} (`visit` checked by the caller). */
  forEachFrame(visit: (pa: number, state: FrameStateCode, refCount: number, owner: number) => void): void {
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

  /** Reference count of table index `i` (0 unless allocated). */
  refsOfIndex(i: number): number {
    return this.state[i] === FREE ? 0 : this.refsOrPrev[i]!;
  }

  /** Validates `pa` for a query named `op`; returns the table index of its frame. */
  queryIndex(pa: number, op: string): number {
    checkPa(op, pa);
    const i = this.indexOfPfn(Math.floor(pa / PAGE_SIZE));
    if (i < 0) throw outOfPool(op, pa, this.formatPool());
    return i;
  }

  stateName(i: number): string {
    return FRAME_STATE_NAMES[this.state[i]!] ?? `state ${this.state[i]}`;
  }

  formatPool(): string {
    return this.ranges.map((r) => `[${hex(r.start)}, ${hex(r.end)})`).join(', ');
  }
}

function outOfPool(op: string, pa: number, pool: string): OutOfRangeError {
  return new OutOfRangeError(op, hex(pa), `an address inside the allocator's pool ${pool}`);
}
