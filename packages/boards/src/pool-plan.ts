/**
 * Allocator pool plans: which physical frames the page allocator manages on a
 * board and what it reserves at boot.
 *
 * The `seed` plan reproduces the kernel mmkit was created from (seed 001): one
 * fixed pool `[0x4000_0000, 0xFC00_0000)` (its upper bound is where the
 * Raspberry Pi 4's peripherals start, arch-facts C2), "reserve below the kernel
 * image end" (a no-op when the image lies below the pool, as on the Pi) and
 * "reserve above the RAM end" (QEMU virt with less RAM than the pool).
 *
 * ```
 *  seed pool      0x4000_0000 ─────────────────────────────── 0xFC00_0000
 *  virt -m 1G     [kernel..)[ free ...............)[ reserved: no RAM ....)
 *                 ^ RAM base  ^ image end           ^ RAM end 0x8000_0000
 * ```
 */
import type { PhysicalRegion } from '@mmkit/core';
import { InvalidArgumentError, PAGE_SIZE } from '@mmkit/core';
import { formatRange, formatSize } from './format.js';
import type { AllocatorPoolPlan, BoardId, KernelImage, PoolMode, PoolReservation } from './types.js';

/** First byte of the seed 001 allocator pool (`MALLOC_START`). */
export const SEED_POOL_START = 0x4000_0000;
/** End (exclusive) of the seed 001 allocator pool (`MALLOC_END`): the start of the BCM2711 peripherals. */
export const SEED_POOL_END = 0xfc00_0000;
/** The pool modes, in documentation order. */
export const POOL_MODES: readonly PoolMode[] = Object.freeze(['seed', 'all-ram'] as const);

/** Rounds down to a 4 KiB frame boundary. */
export function pageDown(pa: number): number {
  return Math.floor(pa / PAGE_SIZE) * PAGE_SIZE;
}
/** Rounds up to a 4 KiB frame boundary. */
export function pageUp(pa: number): number {
  return Math.ceil(pa / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * Validates a pool mode option.
 * @throws InvalidArgumentError for anything but `seed` / `all-ram`.
 */
export function checkPoolMode(board: BoardId, value: unknown): PoolMode {
  if (value === undefined) return 'seed';
  if (value === 'seed' || value === 'all-ram') return value;
  throw new InvalidArgumentError(
    `${board} pool`,
    value,
    `one of ${POOL_MODES.map((m) => `'${m}'`).join(', ')}`,
  );
}

/**
 * Clips reservations to the pool ranges, rounds them outwards to whole frames, drops empty
 * ones and sorts them. Reservations passed in must not overlap each other.
 */
export function clipReservations(
  reservations: readonly PoolReservation[],
  ranges: readonly PhysicalRegion[],
): PoolReservation[] {
  const out: PoolReservation[] = [];
  for (const r of reservations) {
    const start = pageDown(r.start);
    const end = pageUp(r.end);
    for (const range of ranges) {
      const s = Math.max(start, range.start);
      const e = Math.min(end, range.end);
      if (e > s) out.push(Object.freeze({ start: s, end: e, reason: r.reason }));
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Parts of `[start, end)` not covered by `ram`, in address order. */
function holes(start: number, end: number, ram: readonly PhysicalRegion[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let cursor = start;
  for (const r of [...ram].sort((a, b) => a.start - b.start)) {
    if (r.end <= cursor || r.start >= end) continue;
    if (r.start > cursor) out.push({ start: cursor, end: r.start });
    cursor = Math.max(cursor, r.end);
  }
  if (cursor < end) out.push({ start: cursor, end });
  return out;
}

/**
 * The seed 001 plan for a board.
 * @throws InvalidArgumentError if no RAM lies inside the seed pool (Raspberry Pi 4B 1 GiB).
 */
export function seedPoolPlan(
  board: BoardId,
  boardName: string,
  ram: readonly PhysicalRegion[],
  kernelImage: KernelImage,
  extraNotes: readonly string[] = [],
): AllocatorPoolPlan {
  const ranges = [Object.freeze({ name: 'seed-pool', start: SEED_POOL_START, end: SEED_POOL_END })];
  const inPool = ram.some((r) => r.start < SEED_POOL_END && r.end > SEED_POOL_START);
  if (!inPool) {
    throw new InvalidArgumentError(
      `${board} pool`,
      'seed',
      `a pool mode that reaches the RAM of ${boardName}: none of its RAM lies in the seed pool ` +
        `${formatRange(SEED_POOL_START, SEED_POOL_END)}; use pool: 'all-ram'`,
    );
  }
  const wanted: PoolReservation[] = [];
  if (kernelImage.end > SEED_POOL_START) {
    wanted.push({
      start: SEED_POOL_START,
      end: kernelImage.end,
      reason: 'below the kernel image end (seed reserve_below): boot stub, DTB and kernel image',
    });
  }
  for (const h of holes(SEED_POOL_START, SEED_POOL_END, ram)) {
    // A hole that overlaps the kernel reservation cannot happen: the image lies in RAM.
    wanted.push({
      start: h.start,
      end: h.end,
      reason:
        h.end === SEED_POOL_END
          ? 'above the RAM end (seed reserve_above): no RAM here'
          : 'no RAM here (hole inside the seed pool)',
    });
  }
  const notes: string[] = [];
  for (const r of ram) {
    const parts = [
      { start: r.start, end: Math.min(r.end, SEED_POOL_START) },
      { start: Math.max(r.start, SEED_POOL_END), end: r.end },
    ];
    for (const p of parts) {
      if (p.end > p.start) {
        notes.push(
          `RAM ${formatRange(p.start, p.end)} (${formatSize(p.end - p.start)}) lies outside the seed pool ` +
            `${formatRange(SEED_POOL_START, SEED_POOL_END)} and is unused in seed mode; use pool: 'all-ram' to manage it`,
        );
      }
    }
  }
  notes.push(...extraNotes);
  return freezePlan({ mode: 'seed', ranges, reservations: clipReservations(wanted, ranges), notes });
}

/** The all-RAM plan: every RAM range, with the board's boot reservations. */
export function allRamPlan(
  ram: readonly PhysicalRegion[],
  reservations: readonly PoolReservation[],
  notes: readonly string[],
): AllocatorPoolPlan {
  const ranges = ram.map((r) => Object.freeze({ name: r.name, start: r.start, end: r.end }));
  return freezePlan({
    mode: 'all-ram',
    ranges,
    reservations: clipReservations(reservations, ranges),
    notes: [...notes],
  });
}

function freezePlan(plan: {
  mode: PoolMode;
  ranges: PhysicalRegion[];
  reservations: PoolReservation[];
  notes: string[];
}): AllocatorPoolPlan {
  return Object.freeze({
    mode: plan.mode,
    ranges: Object.freeze(plan.ranges),
    reservations: Object.freeze(plan.reservations),
    notes: Object.freeze(plan.notes),
  });
}
