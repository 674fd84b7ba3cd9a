/**
 * The page allocator's boot-time reservations (part of {@link PageAllocator}, see
 * `page-allocator.ts`): taking frames out of the pool for good (the kernel image, firmware,
 * device trees, PA 0), the log of why, and the reason a reserved frame gives. O(frames) each;
 * refused once any affected frame is allocated (reservations are boot-only).
 */
import type { PhysicalMemory } from '@mmkit/core';
import { hex, PAGE_SIZE } from '@mmkit/core';
import type { BlockIndex } from './frame-blocks.js';
import {
  BLOCK,
  BLOCK_SHIFT,
  checkPa,
  FREE,
  type FrameTable,
  NO_OWNER,
  PA0_REASON,
  RESERVED,
} from './frame-table.js';
import { invalidArgument } from './syscalls.js';

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

const NOT_RAM_REASON = 'not RAM';

/** @internal The reservations of one allocator (see the module documentation). */
export class Reservations {
  /** Reservations in call order (PA 0's first when the pool holds it). */
  readonly log: FrameReservation[] = [];

  constructor(
    private readonly table: FrameTable,
    private readonly blocks: BlockIndex,
    private readonly memory: PhysicalMemory,
  ) {
    if (table.reservedPa0) this.log.push({ start: 0, end: PAGE_SIZE, reason: PA0_REASON, frames: 1 });
  }

  /** PageAllocator.reserveBelow: every pool frame below `endPa`. */
  below(endPa: number, reason: string | undefined): number {
    const t = this.table;
    checkPa('reserveBelow end', endPa);
    if (endPa <= t.firstPfn * PAGE_SIZE) return 0;
    return this.reserve(t.firstPfn * PAGE_SIZE, endPa, reason ?? `below ${hex(endPa)}`, 'reserveBelow');
  }

  /** PageAllocator.reserveAbove: every pool frame at or above `startPa`. */
  above(startPa: number, reason: string | undefined): number {
    const t = this.table;
    checkPa('reserveAbove start', startPa);
    const last = t.segStart.length - 1;
    const poolEnd = (t.segStart[last]! + t.segFrames[last]!) * PAGE_SIZE;
    if (startPa >= poolEnd) return 0;
    return this.reserve(startPa, poolEnd, reason ?? `at or above ${hex(startPa)}`, 'reserveAbove');
  }

  /** PageAllocator.reservationReason: why the frame containing `pa` is reserved, or undefined. */
  reasonAt(pa: number): string | undefined {
    const i = this.table.queryIndex(pa, 'reservationReason');
    return this.table.state[i] === RESERVED
      ? this.reasonOf(i, Math.floor(pa / PAGE_SIZE) * PAGE_SIZE)
      : undefined;
  }

  /** PageAllocator.reserveRange: checks the arguments, then {@link reserve}. */
  range(start: number, end: number, reason: string): number {
    checkPa('reserveRange start', start);
    checkPa('reserveRange end', end);
    if (end < start) throw invalidArgument('reserveRange end', end, `an end ≥ start ${hex(start)}`);
    if (typeof reason !== 'string') throw invalidArgument('reserveRange reason', reason, 'a string');
    return this.reserve(start, end, reason, 'reserveRange');
  }

  /**
   * Reserves every pool frame overlapping `[start, end)` (checked addresses, `op` names the
   * public call in errors). Frames already reserved are not counted again; the rest of the free
   * list keeps its order.
   * @returns the number of frames newly reserved.
   * @throws InvalidArgumentError if an affected frame is allocated (nothing changes then).
   */
  reserve(start: number, end: number, reason: string, op: string): number {
    const t = this.table;
    const loPfn = Math.floor(start / PAGE_SIZE);
    const hiPfn = Math.ceil(end / PAGE_SIZE);
    // Pass 1: refuse if any affected frame is allocated (boot-only API; nothing changes).
    for (let s = 0; s < t.segStart.length; s++) {
      const [from, to] = t.segSlice(s, loPfn, hiPfn);
      for (let i = from; i < to; i++) {
        const st = t.state[i]!;
        if (st !== FREE && st !== RESERVED) {
          const pa = (t.segStart[s]! + i - t.segBase[s]!) * PAGE_SIZE;
          throw invalidArgument(
            op,
            `[${hex(start)}, ${hex(end)})`,
            `a range without allocated frames (reservations are boot-only); the frame at ${hex(pa)} is ${t.stateName(i)}`,
          );
        }
      }
    }
    // Pass 2: reserve, counting only fresh reservations.
    const blocks = this.blocks;
    let fresh = 0;
    for (let s = 0; s < t.segStart.length; s++) {
      const [from, to] = t.segSlice(s, loPfn, hiPfn);
      for (let i = from; i < to; i++) {
        if (t.state[i] === FREE) {
          t.unlink(i);
          t.state[i] = RESERVED;
          t.refsOrPrev[i] = 0;
          t.ownerOrNext[i] = NO_OWNER;
          const b = i >>> BLOCK_SHIFT;
          if (blocks.blockFree[b] === BLOCK) blocks.clearFull(b);
          blocks.blockFree[b]!--;
          fresh++;
        }
      }
    }
    if (fresh > 0) {
      t.free -= fresh;
      t.total -= fresh;
      t.counts[FREE] = t.counts[FREE]! - fresh;
      t.counts[RESERVED] = t.counts[RESERVED]! + fresh;
    }
    if (hiPfn > loPfn) {
      this.log.push({ start: loPfn * PAGE_SIZE, end: hiPfn * PAGE_SIZE, reason, frames: fresh });
    }
    return fresh;
  }

  /** Why reserved frame `i` (at `pa`) is reserved: frames that are not RAM were reserved first, at construction. */
  reasonOf(i: number, pa: number): string {
    if (!this.memory.isRamFrame(this.table.pfnOfIndex(i))) return NOT_RAM_REASON;
    // The first reservation covering a frame is the one that reserved it: later ones skip it.
    for (const r of this.log) if (pa >= r.start && pa < r.end) return r.reason;
    return 'reserved';
  }
}
