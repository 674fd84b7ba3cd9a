/**
 * The page allocator's watermarks (Linux `zone->_watermark[WMARK_MIN/LOW/HIGH]`): Linux 6.x's
 * defaults for one zone and the check of explicit ones (see `reclaim.ts` for how reclaim uses
 * them), and {@link withoutReserve}, which lifts the allocator's reserve below `min` for the
 * allocations that are exempt from it.
 */
import type { PageAllocator } from './page-allocator.js';
import { invalidArgument } from './syscalls.js';

/** Linux's default `vm.watermark_scale_factor` (in units of 1/10000 of managed memory). */
export const WATERMARK_SCALE_FACTOR = 10;

/** The allocator's free-frame thresholds, in pages. */
export interface Watermarks {
  /**
   * Free frames user and page-table allocations leave alone while a swap device is on (the
   * reserve): one that would go below it reclaims directly first (Linux `WMARK_MIN`).
   */
  readonly min: number;
  /** Below this, kswapd is woken (Linux `WMARK_LOW`). */
  readonly low: number;
  /** kswapd reclaims until free frames reach this (Linux `WMARK_HIGH`). */
  readonly high: number;
}

/** Linux's `int_sqrt`: the integer square root (floor). */
function intSqrt(x: number): number {
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/**
 * The watermarks Linux 6.x computes for one zone of `managedPages` pages of `pageBytes` bytes
 * (see the module documentation), with the `min_free_kbytes` they come from.
 * @throws InvalidArgumentError unless `managedPages` is a non-negative safe integer and
 *   `pageBytes` a power of two ≥ 1024.
 */
export function defaultWatermarks(
  managedPages: number,
  pageBytes = 4096,
): Watermarks & { readonly minFreeKbytes: number } {
  if (typeof managedPages !== 'number' || !Number.isSafeInteger(managedPages) || managedPages < 0)
    throw invalidArgument('managedPages', managedPages, 'a non-negative integer (pages)');
  if (
    typeof pageBytes !== 'number' ||
    !Number.isSafeInteger(pageBytes) ||
    pageBytes < 1024 ||
    (pageBytes & (pageBytes - 1)) !== 0
  )
    throw invalidArgument('pageBytes', pageBytes, 'a power of two ≥ 1024');
  const kbPerPage = pageBytes / 1024;
  // calculate_min_free_kbytes: lowmem_kbytes = nr_free_buffer_pages() * (PAGE_SIZE >> 10).
  const lowmemKbytes = managedPages * kbPerPage;
  const minFreeKbytes = Math.min(262144, Math.max(128, intSqrt(lowmemKbytes * 16)));
  // __setup_per_zone_wmarks: pages_min = min_free_kbytes >> (PAGE_SHIFT - 10); one zone, so
  // tmp = pages_min * managed / lowmem_pages = pages_min.
  const min = Math.floor(minFreeKbytes / kbPerPage);
  const scaled = Math.floor((managedPages * WATERMARK_SCALE_FACTOR) / 10000); // mult_frac
  const step = Math.max(min >> 2, scaled);
  return { min, low: min + step, high: min + 2 * step, minFreeKbytes };
}

/**
 * Checks explicit watermarks: integers with 0 ≤ min ≤ low ≤ high ≤ `managedPages`.
 * @returns the watermarks, frozen.
 * @throws InvalidArgumentError naming the bad value (or a bad `managedPages`).
 */
export function checkWatermarks(value: unknown, managedPages: number): Watermarks {
  if (typeof managedPages !== 'number' || !Number.isSafeInteger(managedPages) || managedPages < 0)
    throw invalidArgument('managedPages', managedPages, 'a non-negative integer (pages)');
  if (value === null || typeof value !== 'object')
    throw invalidArgument('watermarks', value, 'an object { min, low, high } in pages');
  const w = value as Record<string, unknown>;
  const out: number[] = [];
  for (const name of ['min', 'low', 'high'] as const) {
    const v = w[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > managedPages)
      throw invalidArgument(
        `watermarks.${name}`,
        v,
        `an integer from 0 to ${managedPages} (the managed pages)`,
      );
    out.push(v);
  }
  const [min, low, high] = out as [number, number, number];
  if (low < min) throw invalidArgument('watermarks.low', low, `at least watermarks.min (${min})`);
  if (high < low) throw invalidArgument('watermarks.high', high, `at least watermarks.low (${low})`);
  return Object.freeze({ min, low, high });
}

/**
 * Runs `fn` with the allocator's reserve lifted and restores it afterwards, even when `fn` throws
 * (Linux `memalloc_noreclaim_save` / `_restore`: a task with `PF_MEMALLOC` allocates with
 * `ALLOC_NO_WATERMARKS`). For the allocations that free memory or must not fail: see the module
 * documentation. Not for the hot path (a closure).
 */
export function withoutReserve<T>(allocator: PageAllocator, fn: () => T): T {
  const reserve = allocator.reserve;
  allocator.reserve = 0;
  try {
    return fn();
  } finally {
    allocator.reserve = reserve;
  }
}
