/**
 * When reclaim runs: kswapd (background reclaim) and direct reclaim (Linux mm/vmscan.c
 * `kswapd`/`balance_pgdat`, mm/page_alloc.c `__alloc_pages_slowpath`); what they reclaim and how
 * is the {@link Reclaimer}'s (`reclaim.ts`).
 *
 * ## Waking kswapd: Linux's fast path, in a single-threaded simulator
 *
 * Linux's allocation fast path (`get_page_from_freelist` with `ALLOC_WMARK_LOW`) fails when an
 * order-0 allocation finds free frames at or below `low` (`__zone_watermark_ok`: free must be
 * above the mark); the slow path then wakes kswapd (`wake_all_kswapds` → `wakeup_kswapd`, unless
 * `kswapd_failures` reached {@link MAX_RECLAIM_RETRIES}) before it retries at `min`, and goes to
 * direct reclaim when that fails too. kswapd is a thread of its own that runs `balance_pgdat`
 * (one `pageoutrun` per wake) until free frames reach `high`.
 *
 * mmkit runs kswapd when the kernel call that woke it ends (never between a fault and the access
 * it retries). A wake is recorded where Linux's fast path would have failed: by the allocator hook
 * when any allocation — USER, PAGE_TABLE or KERNEL frame, or a contiguous run (huge pages) —
 * leaves free frames below `low` (so it found them ≤ `low`; Linux's `zone_watermark_fast` and
 * `wake_all_kswapds` do not look at what the allocation is for), and by direct
 * reclaim, which Linux only enters after the fast path failed. So kswapd runs even when the call
 * itself brought free frames back above `low` before it ended — direct reclaim freeing a batch,
 * exec freeing the old image after building the new one — as Linux's woken kswapd does: that run
 * counts a `pageoutrun` and reclaims up to `high` (nothing when free frames already reach it, and
 * then it is no failure: `balance_pgdat` leaves by its `out` label). A call that ends with free
 * frames below `low` wakes it too (frames taken before the policy existed). The observable
 * sequence is Linux's for a kswapd scheduled after the allocating task: `direct-begin`,
 * `direct-end`, then `kswapd-wake`, `kswapd-sleep`.
 *
 * Ownership: no state of its own; the counters and the wake flag are the {@link Reclaimer}'s.
 */
import type { KernelContext } from './context.js';
import { DIRECT, KSWAPD, type Reclaimer, SWAP_CLUSTER_MAX } from './reclaim.js';

/**
 * Linux's MAX_RECLAIM_RETRIES: after this many kswapd runs in a row that reclaimed nothing, kswapd
 * is no longer woken until reclaim makes progress again (`kswapd_failures`, mm/vmscan.c).
 */
export const MAX_RECLAIM_RETRIES = 16;

function reclaimEvent(
  action: 'kswapd-wake' | 'kswapd-sleep' | 'direct-begin' | 'direct-end',
  free: number,
  scanned: number,
  reclaimed: number,
  detail: string,
) {
  return { type: 'reclaim', action, free, scanned, reclaimed, detail } as const;
}

/**
 * kswapd's run (Linux `balance_pgdat`) when it is awake: woken by an allocation
 * ({@link Reclaimer.kswapdWoken}) or free frames below `low`, with a policy. Counts a
 * `pageoutrun`, then reclaims in batches of {@link SWAP_CLUSTER_MAX} until free ≥ `high` or a
 * batch frees nothing. Returns the frames freed.
 */
export function runKswapd(k: KernelContext, r: Reclaimer): number {
  const { allocator, events } = k;
  const { low, high } = r.watermarks;
  if (r.policy === undefined || r.running) return 0;
  const woken = r.kswapdWoken;
  r.kswapdWoken = false;
  if (!woken && allocator.freeCount >= low) return 0;
  r.running = true;
  try {
    r.pageoutrun++;
    if (events.active)
      events.emit(
        reclaimEvent(
          'kswapd-wake',
          allocator.freeCount,
          0,
          0,
          allocator.freeCount < low
            ? `free ${allocator.freeCount} < low watermark ${low}`
            : `woken by an allocation at free ≤ low watermark ${low} (free ${allocator.freeCount} now)`,
        ),
      );
    let scanned = 0;
    let stolen = 0;
    while (allocator.freeCount < high) {
      const n = r.shrink(Math.min(SWAP_CLUSTER_MAX, high - allocator.freeCount), KSWAPD);
      scanned += r.lastScanned;
      stolen += n;
      if (n === 0) break;
    }
    // balance_pgdat counts a failure only when it gave up short of high.
    if (stolen === 0 && allocator.freeCount < high) r.kswapdFailures++;
    if (events.active)
      events.emit(
        reclaimEvent(
          'kswapd-sleep',
          allocator.freeCount,
          scanned,
          stolen,
          allocator.freeCount >= high
            ? `free ${allocator.freeCount} ≥ high watermark ${high}`
            : `nothing more to reclaim (free ${allocator.freeCount} < high watermark ${high})`,
        ),
      );
    return stolen;
  } finally {
    r.running = false;
  }
}

/**
 * Direct reclaim of {@link SWAP_CLUSTER_MAX} frames (Linux `__alloc_pages_direct_reclaim`),
 * counted as an `allocstall`; it wakes kswapd, as the failed fast path before it did. Returns the
 * frames freed (0 without a policy).
 */
export function directReclaim(k: KernelContext, r: Reclaimer, why: string): number {
  const { allocator, events } = k;
  if (r.policy === undefined || r.running) return 0;
  r.running = true;
  try {
    r.allocstall++;
    r.kswapdWoken = true;
    if (events.active) events.emit(reclaimEvent('direct-begin', allocator.freeCount, 0, 0, why));
    const n = r.shrink(SWAP_CLUSTER_MAX, DIRECT);
    if (events.active)
      events.emit(
        reclaimEvent(
          'direct-end',
          allocator.freeCount,
          r.lastScanned,
          n,
          `${n} of ${SWAP_CLUSTER_MAX} frames reclaimed`,
        ),
      );
    return n;
  } finally {
    r.running = false;
  }
}

/**
 * The one call where an allocation failed (out of memory, or the reserve below `min` would have
 * been taken): direct reclaim. True when it freed something (the caller retries); false sends
 * the caller down its out-of-memory path. `allocation` names what failed, for the `direct-begin`
 * event.
 */
export function reclaimOnOom(k: KernelContext, allocation?: string): boolean {
  const r = k.reclaimer;
  if (!r.auto) return false;
  const free = k.allocator.freeCount;
  const reserve = k.allocator.reserve;
  const why =
    free === 0
      ? 'no free frame'
      : free <= reserve
        ? `free ${free} ≤ min watermark ${reserve}`
        : `not enough free frames (${free} free)`;
  return r.direct(allocation === undefined ? `allocation failed: ${why}` : `${allocation}: ${why}`) > 0;
}

/**
 * At the end of every kernel call: drains the mlock batch (`unevictable.ts`), then runs kswapd when it was woken during the call or free frames
 * are below `low`, unless automatic reclaim is off or kswapd is hopeless (see the module
 * documentation). The wake is consumed either way.
 */
export function wakeKswapd(k: KernelContext): void {
  const r = k.reclaimer;
  r.drainMlock(); // the unevictable list is settled between kernel calls (unevictable.ts)
  if (
    r.auto &&
    r.policy !== undefined &&
    (r.kswapdWoken || k.allocator.freeCount < r.watermarks.low) &&
    r.kswapdFailures < MAX_RECLAIM_RETRIES
  )
    r.kswapd();
  r.kswapdWoken = false;
}
