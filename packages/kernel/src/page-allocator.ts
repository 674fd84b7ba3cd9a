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
 * Cost model (the seed's allocator rescanned its bitmap from the start on
 * every allocation, so draining it was quadratic): alloc and free are O(1).
 * Free frames form a LIFO stack threaded through an `Int32Array` (the link of
 * a free frame is stored in its owner slot, which a free frame does not use),
 * so the frame table costs 9 bytes per frame: state (1), reference count (4),
 * owner-or-link (4). Reservations are boot-time operations, O(frames) each.
 *
 * ```
 *  pool ranges   [ seg 0 ........ )   [ seg 1 ...... )      frame index = base(seg) + pfn - start(seg)
 *  state         F F R K P U U F F     F F F R R R R
 *  free stack    head → 0 → 1 → 7 → 8 → 9 → ...           (ascending on a fresh pool, LIFO afterwards)
 * ```
 */
import type { EventStream, FramePurpose, PhysicalMemory } from '@mmkit/core';
import {
  AddressError,
  DoubleFreeError,
  hex,
  InvalidArgumentError,
  NotOwnedError,
  OutOfRangeError,
  PAGE_SIZE,
} from '@mmkit/core';

/** Frame states as numbers (the values stored in the frame table). */
export const FrameState = { FREE: 0, RESERVED: 1, PAGE_TABLE: 2, USER: 3, KERNEL: 4 } as const;
/** A frame state code: 0 free, 1 reserved, 2 page table, 3 user data, 4 kernel. */
export type FrameStateCode = (typeof FrameState)[keyof typeof FrameState];
/** Names of the frame states, indexed by {@link FrameStateCode}. */
export const FRAME_STATE_NAMES = ['free', 'reserved', 'page-table', 'user', 'kernel'] as const;

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
const END_OF_STACK = -1;
const MAX_FRAMES = 0x7fff_ffff;
const NOT_RAM_REASON = 'not RAM';
const PA0_REASON = 'PA 0 is the allocation failure sentinel and is never handed out';

function purposeOfState(state: number): FramePurpose {
  return state === USER ? 'user' : state === FrameState.PAGE_TABLE ? 'page-table' : 'kernel';
}

function checkPa(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new AddressError(what, value, 'a non-negative safe-integer physical address');
  }
  return value;
}

/** See the module documentation. */
export class PageAllocator {
  /** Number of frames the frame table covers (RAM or not). */
  readonly poolFrames: number;

  private readonly memory: PhysicalMemory;
  private readonly events: EventStream | undefined;
  /** Sorted pool ranges: first frame number, frame count, first table index. */
  private readonly segStart: number[];
  private readonly segFrames: number[];
  private readonly segBase: number[];
  private readonly singleSegment: boolean;
  private readonly firstPfn: number;
  private readonly ranges: readonly PoolRange[];

  private readonly state: Uint8Array;
  private readonly refs: Int32Array;
  /** Owner id of an allocated frame, -1 for reserved frames, next-free link for a free frame. */
  private readonly ownerOrLink: Int32Array;
  private head = END_OF_STACK;
  private free_ = 0;
  private total = 0;
  private readonly counts = new Float64Array(5);
  private readonly reservationLog: FrameReservation[] = [];

  /**
   * Creates the frame table over `ranges` of `memory`. Frames of the ranges that are not RAM
   * start RESERVED (reason "not RAM"), as does PA 0 if a range contains it. The free stack is
   * built so that a fresh pool hands out frames in ascending address order.
   * @throws InvalidArgumentError for an empty list, an unaligned, empty, overlapping or
   *   non-integer range, or more than 2^31 - 1 frames.
   */
  constructor(memory: PhysicalMemory, ranges: readonly PoolRange[], options: PageAllocatorOptions = {}) {
    this.memory = memory;
    this.events = options.events;
    if (!Array.isArray(ranges) || ranges.length === 0) {
      throw new InvalidArgumentError('page allocator ranges', '[]', 'at least one pool range');
    }
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
        throw new InvalidArgumentError(
          'page allocator range',
          `${String(r.start)}..${String(r.end)}`,
          'a non-empty, 4 KiB-aligned range of safe integers not overlapping another range',
        );
      }
      prevEnd = r.end;
      this.segStart.push(r.start / PAGE_SIZE);
      this.segFrames.push((r.end - r.start) / PAGE_SIZE);
      this.segBase.push(frames);
      frames += (r.end - r.start) / PAGE_SIZE;
    }
    if (frames > MAX_FRAMES) {
      throw new InvalidArgumentError(
        'page allocator ranges',
        `${frames} frames`,
        `at most ${MAX_FRAMES} frames`,
      );
    }
    this.ranges = Object.freeze(sorted.map((r) => Object.freeze({ start: r.start, end: r.end })));
    this.poolFrames = frames;
    this.singleSegment = sorted.length === 1;
    this.firstPfn = this.segStart[0]!;
    this.state = new Uint8Array(frames).fill(RESERVED);
    this.refs = new Int32Array(frames);
    this.ownerOrLink = new Int32Array(frames).fill(NO_OWNER);

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
    for (let i = frames - 1; i >= 0; i--) {
      if (this.state[i] === FREE) {
        this.ownerOrLink[i] = this.head;
        this.head = i;
        free++;
      }
    }
    this.free_ = free;
    this.total = free;
    this.counts[FREE] = free;
    this.counts[RESERVED] = frames - free;
  }

  // -------------------------------------------------------------------------
  // Allocation (hot path: numbers only, no allocation unless events are listened to)

  /**
   * Takes a frame off the free stack, zeroed (its content is discarded, so it reads as zeros and
   * has no host memory). USER frames start with reference count 1; PAGE_TABLE and KERNEL frames
   * are not reference counted (0). Emits `frame-alloc` while the event stream has listeners.
   * O(1).
   * @returns the frame's physical address, or 0 when no frame is free (0 is never a frame).
   * @throws InvalidArgumentError for an unknown purpose or an owner that is not an int32 ≥ -1.
   */
  alloc(purpose: FramePurpose, owner = NO_OWNER): number {
    let st: number;
    if (purpose === 'user') st = USER;
    else if (purpose === 'page-table') st = FrameState.PAGE_TABLE;
    else if (purpose === 'kernel') st = FrameState.KERNEL;
    else throw new InvalidArgumentError('frame purpose', purpose, "'page-table', 'user' or 'kernel'");
    if ((owner | 0) !== owner || owner < NO_OWNER) {
      throw new InvalidArgumentError('frame owner', owner, 'an int32 ≥ -1 (-1 = kernel/none)');
    }
    const i = this.head;
    if (i === END_OF_STACK) return 0;
    this.head = this.ownerOrLink[i]!;
    const pfn = this.pfnOfIndex(i);
    this.memory.discardFrame(pfn);
    this.state[i] = st;
    this.refs[i] = st === USER ? 1 : 0;
    this.ownerOrLink[i] = owner;
    this.free_--;
    this.counts[FREE] = this.counts[FREE]! - 1;
    this.counts[st] = this.counts[st]! + 1;
    const pa = pfn * PAGE_SIZE;
    if (this.events?.active) this.events.emit({ type: 'frame-alloc', pa, purpose });
    return pa;
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
    if (st === USER && this.refs[i]! > 1) {
      throw new InvalidArgumentError(
        'free',
        hex(pa),
        `a frame with one reference; this USER frame has ${this.refs[i]} references (use unref)`,
      );
    }
    this.release(i, pa, st);
  }

  /**
   * Adds a reference to a USER frame (copy-on-write sharing). Returns the new count.
   * @throws AddressError / OutOfRangeError for an address outside the pool; InvalidArgumentError if
   *   the frame is not a USER frame or the count would overflow.
   */
  ref(pa: number): number {
    const i = this.queryIndex(pa, 'ref');
    if (this.state[i] !== USER) {
      throw new InvalidArgumentError('ref', hex(pa), `a USER frame; this frame is ${this.stateName(i)}`);
    }
    if (this.refs[i] === MAX_FRAMES)
      throw new InvalidArgumentError('ref', hex(pa), 'fewer than 2^31 - 1 references');
    return ++this.refs[i]!;
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
      throw new InvalidArgumentError(
        'unref',
        hex(pa),
        `a USER frame; this frame is ${this.stateName(i)} (use free)`,
      );
    }
    if (this.refs[i]! > 1) {
      this.refs[i]!--;
      return false;
    }
    this.release(i, pa, st);
    return true;
  }

  private release(i: number, pa: number, st: number): void {
    const pfn = pa / PAGE_SIZE;
    this.memory.discardFrame(pfn);
    this.state[i] = FREE;
    this.refs[i] = 0;
    this.ownerOrLink[i] = this.head;
    this.head = i;
    this.free_++;
    this.counts[st] = this.counts[st]! - 1;
    this.counts[FREE] = this.counts[FREE]! + 1;
    if (this.events?.active) this.events.emit({ type: 'frame-free', pa, purpose: purposeOfState(st) });
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
    return this.refs[this.queryIndex(pa, 'refCount')]!;
  }

  /**
   * Owner id of the frame containing `pa`; -1 for kernel/none, free and reserved frames.
   * @throws as {@link refCount}.
   */
  ownerOf(pa: number): number {
    const i = this.queryIndex(pa, 'ownerOf');
    return this.state[i] === FREE ? NO_OWNER : this.ownerOrLink[i]!;
  }

  /**
   * Sets the owner id of an allocated frame.
   * @throws as {@link refCount}; InvalidArgumentError for a free or reserved frame or a bad owner.
   */
  setOwner(pa: number, owner: number): void {
    const i = this.queryIndex(pa, 'setOwner');
    if (this.state[i] === FREE || this.state[i] === RESERVED) {
      throw new InvalidArgumentError(
        'setOwner',
        hex(pa),
        `an allocated frame; this frame is ${this.stateName(i)}`,
      );
    }
    if ((owner | 0) !== owner || owner < NO_OWNER) {
      throw new InvalidArgumentError('frame owner', owner, 'an int32 ≥ -1 (-1 = kernel/none)');
    }
    this.ownerOrLink[i] = owner;
  }

  /** Why the frame containing `pa` is reserved, or undefined if it is not. @throws as {@link refCount}. */
  reservationReason(pa: number): string | undefined {
    const i = this.queryIndex(pa, 'reservationReason');
    return this.state[i] === RESERVED
      ? this.reasonOfIndex(i, Math.floor(pa / PAGE_SIZE) * PAGE_SIZE)
      : undefined;
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
    for (let s = 0; s < this.segStart.length; s++) {
      const base = this.segBase[s]!;
      const startPa = this.segStart[s]! * PAGE_SIZE;
      const n = this.segFrames[s]!;
      for (let k = 0; k < n; k++) {
        const i = base + k;
        const st = this.state[i] as FrameStateCode;
        visit(startPa + k * PAGE_SIZE, st, this.refs[i]!, st === FREE ? NO_OWNER : this.ownerOrLink[i]!);
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
    if (end < start) throw new InvalidArgumentError('reserveRange end', end, `an end ≥ start ${hex(start)}`);
    if (typeof reason !== 'string') throw new InvalidArgumentError('reserveRange reason', reason, 'a string');
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
          throw new InvalidArgumentError(
            op,
            `[${hex(start)}, ${hex(end)})`,
            `a range without allocated frames (reservations are boot-only); the frame at ${hex(pa)} is ${this.stateName(i)}`,
          );
        }
      }
    }
    // Pass 2: reserve, counting only fresh reservations.
    let fresh = 0;
    for (let s = 0; s < this.segStart.length; s++) {
      const [from, to] = this.segSlice(s, loPfn, hiPfn);
      for (let i = from; i < to; i++) {
        if (this.state[i] === FREE) {
          this.state[i] = RESERVED;
          fresh++;
        }
      }
    }
    if (fresh > 0) {
      this.unlinkReserved();
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

  /** Removes frames that are no longer FREE from the free stack, keeping the order of the rest. O(free). */
  private unlinkReserved(): void {
    let prev = END_OF_STACK;
    let cur = this.head;
    while (cur !== END_OF_STACK) {
      const next = this.ownerOrLink[cur]!;
      if (this.state[cur] !== FREE) {
        if (prev === END_OF_STACK) this.head = next;
        else this.ownerOrLink[prev] = next;
        this.ownerOrLink[cur] = NO_OWNER;
      } else {
        prev = cur;
      }
      cur = next;
    }
  }

  // -------------------------------------------------------------------------
  // Index arithmetic

  /** Table index of frame `pfn`, or -1 if it is outside the pool. */
  private indexOfPfn(pfn: number): number {
    if (this.singleSegment) {
      const rel = pfn - this.firstPfn;
      return rel >= 0 && rel < this.poolFrames ? rel : -1;
    }
    for (let s = 0; s < this.segStart.length; s++) {
      const rel = pfn - this.segStart[s]!;
      if (rel >= 0 && rel < this.segFrames[s]!) return this.segBase[s]! + rel;
    }
    return -1;
  }

  /** Frame number of table index `i` (a valid index). */
  private pfnOfIndex(i: number): number {
    if (this.singleSegment) return this.firstPfn + i;
    let s = this.segStart.length - 1;
    while (this.segBase[s]! > i) s--;
    return this.segStart[s]! + i - this.segBase[s]!;
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
