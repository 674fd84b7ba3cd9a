/**
 * Page reclaim: the page allocator's watermarks, background reclaim (kswapd), direct reclaim and
 * the kernel-wide replacement policy that picks the victims (Linux mm/vmscan.c, mm/page_alloc.c).
 *
 * ## Watermarks
 *
 * Three free-frame thresholds (Linux `zone->_watermark[WMARK_MIN/LOW/HIGH]`), by default as
 * Linux 6.x computes them for one zone (`calculate_min_free_kbytes` and `__setup_per_zone_wmarks`,
 * mm/page_alloc.c): `min_free_kbytes = int_sqrt(lowmem_kbytes × 16)` clamped to [128, 262144],
 * `min = min_free_kbytes >> (PAGE_SHIFT − 10)`, `step = max(min >> 2, managed ×
 * watermark_scale_factor / 10000)` (`mult_frac`, factor 10), `low = min + step`,
 * `high = low + step`. `lowmem_kbytes` is `nr_free_buffer_pages()` at boot, which is the managed
 * pages (the watermarks are still 0 then): here the allocator's {@link PageAllocator.totalCount}.
 * Or explicit, with the `watermarks` kernel option.
 *
 * ## When reclaim runs (the simulator is single-threaded)
 *
 * - kswapd (`kswapd.ts`): woken where Linux's allocation fast path would fail — any frame (user,
 *   page table, kernel, a run) allocated at free ≤ `low`, direct reclaim — or by free frames
 *   below `low`, and run when the
 *   kernel call ends (loads, stores and copies included: after the access the faults served,
 *   never between a fault and the access it retries, which would let kswapd take the page just
 *   faulted in), or on {@link Kernel.runKswapd}; it reclaims in batches of
 *   {@link SWAP_CLUSTER_MAX} until free ≥ `high` or nothing more can be reclaimed (Linux
 *   `balance_pgdat`), then sleeps. Events `kswapd-wake` / `kswapd-sleep`.
 * - Direct reclaim: an allocation that failed — no free frame, or one it may not take because of
 *   the reserve below — reclaims {@link SWAP_CLUSTER_MAX} frames synchronously (Linux
 *   `__alloc_pages_direct_reclaim` → `try_to_free_pages`) and, when that freed something, the
 *   operation is retried (a fault retries the access: the CPU re-walks, the page that faulted
 *   may have been the victim). When nothing could be reclaimed the out-of-memory path runs
 *   (slow-path.ts). Events `direct-begin` / `direct-end`.
 *
 * ## The reserve below `min`
 *
 * While watermarks apply, USER and PAGE_TABLE allocations leave `min` frames free
 * ({@link PageAllocator.reserve}, one comparison in the allocator): an allocation that would take
 * the free count below `min` fails, which sends it to direct reclaim and then the OOM killer
 * before memory is completely gone — Linux's `__zone_watermark_ok` with `ALLOC_WMARK_MIN` (the
 * slow path's watermark; the fast path's `ALLOC_WMARK_LOW` failure only wakes kswapd, which the
 * allocator hook records: `kswapd.ts`). The frames below `min`
 * are for the allocations that must make progress to free memory, which are exempt:
 * - the reclaim path itself: kswapd, direct reclaim and `Kernel.reclaim` shrink with the reserve
 *   lifted (`withoutReserve` in `watermarks.ts`; Linux `PF_MEMALLOC` → `ALLOC_NO_WATERMARKS`,
 *   `memalloc_noreclaim_save`). mmkit's swap-out allocates nothing today (a swap PTE replaces a
 *   present one in place), so this is for any allocation it may make, as in Linux;
 * - swapoff's `try_to_unuse` (every page comes back; its up-front check counts every free frame);
 * - KERNEL frames (kernel-internal allocations) and boot (the reserve is 0 until the first swapon).
 *
 * When watermarks apply: while automatic reclaim is on (`autoReclaim`) and a swap device is active.
 * Linux applies them always, but mmkit has no page cache: without swap nothing is reclaimable, so
 * a reserve would only make the OOM killer fire `min` frames early, and nothing that needs it
 * (reclaim) runs. With `autoReclaim: false` nothing would reclaim for the allocation either.
 *
 * Reclaim happens only when a swap device exists (mmkit has no page cache: anonymous memory is the
 * only reclaimable kind) — without one nothing here runs and nothing is allocated for it.
 *
 * ## The kernel's LRU
 *
 * One kernel-wide `ReplacementPolicy` of `@mmkit/replay` (option `reclaimPolicy`, default
 * `two-list`, Linux's active/inactive lists), created with the first swap device, with capacity =
 * the allocator's frame-table size and keys = frame-table indices. Every USER frame the allocator
 * hands out one at a time (demand-zero, zero-fill, copy-on-write copy, swap-in, readahead into the
 * swap cache) is inserted; every USER frame freed is removed (the allocator's {@link UserFrameHook}:
 * a few typed-array operations). Frames present when the policy is created are inserted process
 * by process, lowest address first. Huge pages (allocated as runs) are never tracked: a huge leaf
 * is never swapped. When one is split into 4 KiB leaves its frames enter the policy
 * ({@link Reclaimer.splitHuge}, Linux's `lru_add_split_folio`). A victim that is pinned or
 * finds no free slot is activated (`activate_locked`); one that cannot be swapped otherwise
 * (shared-object, file-loaded) is put back (inserted again, `putback_lru_page`); both count as
 * scanned. A kept swap-cache page gives up its slot when swap is more than half full (see
 * `keepSwapCache`). mlocked frames are not in the policy: they are on the unevictable list
 * (`unevictable.ts`), which the scan never meets (a locked page the bookkeeping missed would be
 * culled onto it). ARC's and 2Q's ghosts are keyed by swap slot (`ghosts.ts`). "Referenced" for
 * CLOCK, SIEVE, two-list and WSClock is the hardware accessed bit of any mapping of the frame
 * (`frameReferenced` / `clearFrameReferenced`, with the architecture's TLB rule). Policies that
 * need every reference (LRU, LFU, ARC, 2Q) see insertions and activations only: the kernel does
 * not observe individual accesses. A lazily freed page found written is activated (`activateKey`).
 *
 * Statistics: {@link VmStat} (`vmstat.ts`), Linux /proc/vmstat's names.
 */
// The browser-safe entry point: the policies without the trace readers (Node's fs, zlib, workers).
import {
  type ClearReferenced,
  createPolicy,
  type IsReferenced,
  POLICY_NAMES,
  type PolicyName,
  type PolicyState,
  type ReplacementPolicy,
} from '@mmkit/replay/policies';
import { clearFrameReferenced, frameReferenced } from './accessed-bits.js';
import type { KernelContext } from './context.js';
import { isColdFrame, LAZY_DISCARDED, LAZY_REDIRTIED, tryToUnmapLazyFree } from './frame-marks.js';
import { SlotGhosts } from './ghosts.js';
import { directReclaim, runKswapd } from './kswapd.js';
import { FrameState, type UserFrameHook } from './page-allocator.js';
import { auditPolicy, policyStateOf } from './reclaim-view.js';
import { reclaimFrame } from './swap.js';
import { keepSwapCache } from './swap-cache.js';
import { NO_SLOT, PINNED, unswappable } from './swap-out.js';
import { invalidArgument } from './syscalls.js';
import { type EvictableLru, Unevictable } from './unevictable.js';
import type { VmStat } from './vmstat.js';
import { checkWatermarks, defaultWatermarks, type Watermarks } from './watermarks.js';

export { MAX_RECLAIM_RETRIES, reclaimOnOom, wakeKswapd } from './kswapd.js';
export { isUnevictable } from './unevictable.js';
export type { VmStat } from './vmstat.js';
export {
  checkWatermarks,
  defaultWatermarks,
  WATERMARK_SCALE_FACTOR,
  type Watermarks,
} from './watermarks.js';

/** Pages per reclaim batch (Linux `SWAP_CLUSTER_MAX`, include/linux/swap.h). */
export const SWAP_CLUSTER_MAX = 32;

/** The policies the kernel's reclaim can use (every `@mmkit/replay` policy but OPT, which needs the future). */
export const RECLAIM_POLICY_NAMES = POLICY_NAMES.filter(
  (n): n is Exclude<PolicyName, 'opt'> => n !== 'opt',
) as readonly Exclude<PolicyName, 'opt'>[];

/** A policy name of {@link RECLAIM_POLICY_NAMES}. */
export type ReclaimPolicyName = Exclude<PolicyName, 'opt'>;

/** @internal Checks the `reclaimPolicy` option. */
export function checkReclaimPolicy(value: unknown): ReclaimPolicyName {
  if (value === undefined) return 'two-list';
  if (typeof value !== 'string' || !(RECLAIM_POLICY_NAMES as readonly string[]).includes(value))
    throw invalidArgument(
      'reclaimPolicy',
      value,
      `one of ${RECLAIM_POLICY_NAMES.map((n) => `'${n}'`).join(', ')} (OPT needs the future: replay only)`,
    );
  return value as ReclaimPolicyName;
}

/**
 * @internal Which reclaim is running — kswapd, direct, explicit (Kernel.reclaim): decides which
 * counters and events it updates.
 */
export type Mode = 0 | 1 | 2;
/** @internal */
export const KSWAPD: Mode = 0;
/** @internal */
export const DIRECT: Mode = 1;
const EXPLICIT: Mode = 2;

/** @internal The kernel's reclaim state: watermarks, policy, counters (see the module documentation). */
export class Reclaimer implements UserFrameHook, EvictableLru {
  readonly watermarks: Watermarks;
  /** The unevictable list: mlocked frames, out of the policy (`unevictable.ts`). */
  readonly unevictable: Unevictable;
  /** The policy, once a swap device has been added. */
  policy: ReplacementPolicy | undefined;
  /** Per frame-table index: the frame's physical address (valid while the key is tracked). */
  private paOf: Float64Array | undefined;
  /** Ghost identity (ARC, 2Q: policies with ghost entries), keyed by swap slot (`ghosts.ts`). */
  private ghosts: SlotGhosts | undefined;
  /** The victim reclaimFrame is swapping out: its frame's free keeps its ghost (see `ghosts.ts`). */
  private evicting = -1;
  /** Victims a policy pushed out on insertion (2Q): reclaimed first. */
  private readonly forced: number[] = [];
  /**
   * Frames MADV_COLD deactivated ({@link deactivate}), oldest first from {@link coldHead}: out of
   * the policy, offered to reclaim before any victim the policy chooses.
   */
  private readonly cold: number[] = [];
  private coldHead = 0;
  /**
   * Per frame-table index: 1 + its position in {@link cold} while the frame waits there, else 0
   * (an entry whose frame was freed meanwhile is stale: its position no longer matches).
   */
  private coldAt: Float64Array | undefined;
  /** @internal kswapd or direct reclaim is running (neither nests). */
  running = false;
  /**
   * @internal kswapd was woken during the current kernel call (Linux `wakeup_kswapd` from the
   * failed fast path): set by {@link added} and direct reclaim, consumed when the call ends.
   */
  kswapdWoken = false;
  /** kswapd runs in a row that reclaimed nothing (Linux `pgdat->kswapd_failures`). */
  kswapdFailures = 0;
  pgscanKswapd = 0;
  pgscanDirect = 0;
  pgstealKswapd = 0;
  pgstealDirect = 0;
  allocstall = 0;
  pageoutrun = 0;
  pgactivate = 0;
  private readonly isRef: IsReferenced;
  private readonly clearRef: ClearReferenced;

  constructor(
    private readonly k: KernelContext,
    readonly policyName: ReclaimPolicyName,
    watermarks: unknown,
    /** kswapd and direct reclaim run by themselves (the `autoReclaim` option). */
    readonly auto: boolean,
  ) {
    const managed = k.allocator.totalCount;
    this.watermarks =
      watermarks === undefined
        ? (({ min, low, high }) => Object.freeze({ min, low, high }))(
            defaultWatermarks(managed, k.bounds.pageBytes),
          )
        : checkWatermarks(watermarks, managed);
    this.unevictable = new Unevictable(k);
    this.isRef = (key) => frameReferenced(k, this.paOf![key]!);
    this.clearRef = (key, activated) => {
      const pa = this.paOf![key]!;
      clearFrameReferenced(k, pa);
      if (!activated) return;
      // Kept because referenced: shrink_folio_list's activate_locked (see keepSwapCache).
      this.pgactivate++;
      if (k.swap.full()) keepSwapCache(k, pa);
    };
  }

  /** The counters (a snapshot). */
  vmstat(): VmStat {
    return {
      pgscanKswapd: this.pgscanKswapd,
      pgscanDirect: this.pgscanDirect,
      pgstealKswapd: this.pgstealKswapd,
      pgstealDirect: this.pgstealDirect,
      pswpin: this.k.swap.pswpin,
      pswpout: this.k.swap.pswpout,
      allocstall: this.allocstall,
      pageoutrun: this.pageoutrun,
      pgactivate: this.pgactivate,
      nrUnevictable: this.unevictable.size,
      unevictablePgsMlocked: this.unevictable.pgsMlocked,
      unevictablePgsMunlocked: this.unevictable.pgsMunlocked,
      unevictablePgsCulled: this.unevictable.pgsCulled,
      unevictablePgsRescued: this.unevictable.pgsRescued,
    };
  }

  /**
   * The policy's {@link PolicyState} with every key (frame-table index) replaced by the frame's
   * physical address — `resident`, `referenced` (the policy's own bits and every resident frame
   * whose hardware accessed bit is set in some mapping, in eviction order), every list and the
   * `count:<key>` values — or undefined before the first swap device. A ghost entry (ARC's B1/B2,
   * 2Q's A1out) names the swap slot its page was written to, as −(type × 2^32 + offset)
   * (`ghosts.ts`). Allocates (teaching and debugging only).
   */
  policyState(): PolicyState | undefined {
    const policy = this.policy;
    return policy === undefined ? undefined : policyStateOf(policy, this.paOf!, this.ghosts, this.isRef);
  }

  /**
   * Starts tracking frames (with the first swap device): creates the policy and inserts the USER
   * frames present now — frames only the swap cache holds, then each live process's 4 KiB leaves
   * from its lowest address — then hooks the allocator.
   */
  activate(): void {
    if (this.policy === undefined) this.startTracking();
    this.updateReserve();
  }

  /**
   * Sets the allocator's reserve (see the module documentation): `min` while automatic reclaim is
   * on, the policy exists and a swap device is active; 0 otherwise. Called by {@link activate}
   * (swapon) and after swapoff.
   */
  updateReserve(): void {
    this.k.allocator.reserve =
      this.auto && this.policy !== undefined && this.k.swap.order.length > 0 ? this.watermarks.min : 0;
  }

  private startTracking(): void {
    const { allocator, rmap, editor, bounds, zeroPage } = this.k;
    const n = allocator.frameIndexCount;
    const policy = createPolicy(this.policyName, n);
    const paOf = new Float64Array(n);
    this.policy = policy;
    this.paOf = paOf;
    if (policy.renameGhost !== undefined) this.ghosts = new SlotGhosts(policy as never, n);
    this.coldAt = new Float64Array(n);
    this.unevictable.start();
    const add = (pa: number) => {
      const i = allocator.frameIndex(pa);
      if (i < 0 || allocator.stateOf(pa) !== FrameState.USER || policy.has(i)) return;
      if (this.unevictable.has(i)) return; // mlocked: on the unevictable list
      paOf[i] = pa;
      this.track(policy.insert(i));
    };
    for (const dev of this.k.swap.devices) {
      if (!dev) continue;
      for (let s = 1; s < dev.pages; s++)
        if (dev.cache[s] !== 0 && rmap.count(dev.cache[s]!) === 0) add(dev.cache[s]!);
    }
    for (const proc of this.k.liveProcesses) {
      const root = proc.space.root;
      if (root === 0) continue;
      editor.forEachLeaf({ root, startVpn: bounds.userStartVpn, endVpn: bounds.userEndVpn }, (l) => {
        if (l.level === 1 && l.pa !== zeroPage) add(l.pa);
      });
    }
    allocator.userFrames = this;
  }

  /**
   * @internal A VMA was mlocked (mlock.ts): the unevictable list starts (if not yet), and from now
   * on every USER frame allocated or mapped is queued for it; the allocator hook is set for that
   * (before the first swap device the policy side does nothing).
   */
  lockSeen(): void {
    const u = this.unevictable;
    if (u.active) return;
    u.start();
    u.active = true;
    this.k.allocator.userFrames = this;
  }

  /**
   * @internal Drains the mlock batch (`Unevictable.drain`, Linux `mlock_drain_local`): at the end
   * of every kernel call and before every reclaim scan.
   */
  drainMlock(): void {
    this.unevictable.drain(this);
  }

  /** @internal Swap-in read frame-table index `i` from a slot (`SwapManager.addToCache`): its ghost hit. */
  refaulted(i: number, type: number, offset: number): void {
    if (this.ghosts !== undefined) this.track(this.ghosts.refault(i, type, offset));
  }

  /** @internal A swap slot was freed: its ghost goes. */
  slotFreed(type: number, offset: number): void {
    this.ghosts?.slotFreed(type, offset);
  }

  /** @internal EvictableLru: takes index `i` out of the policy and the cold queue. */
  isolate(i: number): void {
    if (this.policy === undefined) return;
    this.policy.remove(i);
    this.coldAt![i] = 0;
  }

  /** @internal EvictableLru: USER frame `pa` at index `i` goes back into the policy as a new page. */
  putback(i: number, pa: number): void {
    const policy = this.policy;
    if (policy === undefined || policy.has(i)) return;
    this.paOf![i] = pa;
    this.track(policy.insert(i));
  }

  /** @internal EvictableLru: whether index `i` is in the policy, the cold queue or the pushed-out victims. */
  tracks(i: number): boolean {
    return (
      this.policy !== undefined && (this.policy.has(i) || this.coldAt![i]! > 0 || this.forced.includes(i))
    );
  }

  /** @internal Allocator hook: a USER frame was allocated. */
  added(index: number, pa: number): void {
    // The frame left fewer than `low` free: Linux's fast path found free ≤ low, failed and woke
    // kswapd (kswapd.ts).
    if (this.k.allocator.freeCount < this.watermarks.low) this.kswapdWoken = true;
    this.unevictable.queue(index, pa); // mapped by a locked VMA? (checked at the drain)
    const policy = this.policy;
    if (policy === undefined) return; // only the unevictable list is on (lockSeen)
    this.paOf![index] = pa;
    const out = policy.insert(index);
    if (out >= 0) this.track(out);
  }

  /**
   * @internal Allocator hook: an untracked frame was allocated (a page table, a kernel frame, a
   * run). Linux's fast path checks the low watermark for every allocation whatever it is for
   * (`get_page_from_freelist` → `zone_watermark_fast`; `__alloc_pages_slowpath` →
   * `wake_all_kswapds`), so it wakes kswapd as {@link added} does.
   */
  taken(): void {
    if (this.k.allocator.freeCount < this.watermarks.low) this.kswapdWoken = true;
  }

  /** @internal Allocator hook: a USER frame was freed. */
  freed(index: number): void {
    this.unevictable.freed(index);
    const policy = this.policy;
    if (policy === undefined) return;
    // The victim being swapped out keeps its ghost until it is renamed to the slot (ghosts.ts).
    if (index !== this.evicting || policy.has(index)) policy.remove(index);
    this.coldAt![index] = 0;
  }

  /**
   * A huge leaf mapping frames [pa, pa + pages) was split into 4 KiB leaves (space-ranges.ts
   * `splitAt`): its frames enter the policy as 4 KiB frames, lowest first. Linux's THP split puts
   * each subpage on the LRU right behind the head (`__split_huge_page` → `lru_add_split_folio`),
   * so the head is reclaimed first and the tails follow in ascending order; mmkit never tracks a
   * huge page, so they go in as fresh insertions. Frames already tracked (the page was split in
   * another process sharing it) or no longer USER are skipped. No-op before the first swap device.
   */
  splitHuge(pa: number, pages: number): void {
    const policy = this.policy;
    if (policy === undefined) return;
    const { allocator, bounds } = this.k;
    for (let i = 0; i < pages; i++) {
      const f = pa + i * bounds.pageBytes;
      const index = allocator.frameIndex(f);
      if (index < 0 || allocator.stateOf(f) !== FrameState.USER || policy.has(index)) continue;
      if (this.unevictable.has(index)) continue;
      this.paOf![index] = f;
      this.track(policy.insert(index));
      this.unevictable.queue(index, f);
    }
  }

  /**
   * MADV_COLD's hint for USER frame `pa` (Linux `folio_deactivate` → `lru_deactivate_fn`: off the
   * active list, referenced flag cleared): the frame leaves the policy for the cold queue, which
   * reclaim empties before it asks the policy for a victim — so reclaim takes cold pages first,
   * oldest hint first, whatever the policy. A cold frame accessed again before reclaim reaches it
   * goes back into the policy as a fresh insertion (Linux re-activates a referenced folio). No-op
   * before the first swap device or for a frame the policy does not track. Returns whether the
   * frame was deactivated.
   */
  deactivate(pa: number): boolean {
    const policy = this.policy;
    if (policy === undefined) return false;
    const i = this.k.allocator.frameIndex(pa);
    if (i < 0 || !policy.has(i)) return false;
    policy.remove(i);
    this.cold.push(i);
    this.coldAt![i] = this.cold.length;
    return true;
  }

  /** The next live key of the cold queue (taken out of it), or -1. */
  private nextCold(): number {
    const coldAt = this.coldAt!;
    while (this.coldHead < this.cold.length) {
      const key = this.cold[this.coldHead++]!;
      if (coldAt[key] === this.coldHead) {
        coldAt[key] = 0;
        return key;
      }
    }
    if (this.coldHead > 0) {
      this.cold.length = 0;
      this.coldHead = 0;
    }
    return -1;
  }

  /**
   * `activate_locked` for key `key`, which reclaim keeps — pinned, no slot, or a lazily freed page
   * found written (Linux `shrink_folio_list`: the folio goes to the active list, `pgactivate`
   * counts it): put back and treated as referenced —
   * `referenced()` once, twice for two-list, where the second is what moves an inactive page to
   * the active list with its flag clear (`folio_activate`, as `folio_check_references` left it).
   * A swap-cache page gives up its slot when swap is more than half full (`keepSwapCache`).
   */
  private activateKey(key: number): void {
    const policy = this.policy!;
    this.pgactivate++;
    if (this.k.swap.full()) keepSwapCache(this.k, this.paOf![key]!);
    if (!policy.has(key)) this.track(policy.insert(key));
    if (!policy.has(key)) return; // 2Q with Kin = 0 admits nothing
    policy.referenced(key);
    if (policy.name === 'two-list') policy.referenced(key);
  }

  /**
   * @internal `activate_locked` for USER frame `pa` outside a scan (MADV_PAGEOUT's reclaim of a
   * lazily freed page found written): taken out of the policy (or the cold queue) and activated.
   */
  activateFrame(pa: number): void {
    const i = this.k.allocator.frameIndex(pa);
    if (this.policy === undefined || i < 0 || !this.tracks(i) || this.forced.includes(i)) {
      this.pgactivate++; // not on an LRU mmkit keeps (before the first swap device): counted only
      return;
    }
    this.isolate(i);
    this.paOf![i] = pa;
    this.activateKey(i);
  }

  private track(pushedOut: number): void {
    if (pushedOut >= 0) this.forced.push(pushedOut);
  }

  /**
   * Whether anything could be reclaimed at all: a free slot on some device, or a frame in the
   * swap cache (its slot already holds the contents). Otherwise a scan would only age the lists.
   */
  private canReclaim(): boolean {
    if (this.swapHasRoom()) return true;
    for (const dev of this.k.swap.order) if (dev.cached > 0) return true;
    return false;
  }

  /** Whether some swap device has a free slot. */
  private swapHasRoom(): boolean {
    for (const dev of this.k.swap.order) if (dev.used < dev.pages - 1) return true;
    return false;
  }

  /**
   * Reclaims up to `pages` frames through the policy (Linux `shrink_lruvec` reduced to the anon
   * list): each victim the policy selects is swapped out ({@link reclaimFrame}) or, when it
   * cannot be (unswappable, no free slot for it), put back (culled when mlocked). Every resident frame is
   * offered at most once per call. Returns the frames freed.
   */
  shrink(pages: number, mode: Mode): number {
    const policy = this.policy;
    this.lastScanned = 0;
    if (policy === undefined || pages <= 0 || !this.canReclaim()) return 0;
    this.drainMlock(); // the scan must not meet a page mlocked since the last drain
    // The reclaim path may use the frames below min (Linux PF_MEMALLOC): see withoutReserve.
    const allocator = this.k.allocator;
    const reserve = allocator.reserve;
    allocator.reserve = 0;
    try {
      return this.shrinkUnreserved(policy, pages, mode);
    } finally {
      allocator.reserve = reserve;
    }
  }

  private shrinkUnreserved(policy: ReplacementPolicy, pages: number, mode: Mode): number {
    const { allocator, swap } = this.k;
    const paOf = this.paOf!;
    let scanned = 0;
    let stolen = 0;
    let budget = policy.size + this.forced.length + (this.cold.length - this.coldHead);
    while (stolen < pages && budget > 0) {
      let key: number;
      let resident = true;
      if (this.forced.length > 0) {
        key = this.forced.shift()!;
        resident = false;
      } else {
        key = this.nextCold();
        if (key >= 0 && !isColdFrame(this.k, paOf[key]!)) {
          // Accessed since MADV_COLD: in use again, back into the policy (not a victim).
          budget--;
          scanned++;
          this.track(policy.insert(key));
          continue;
        }
        if (key < 0) key = policy.selectVictim(this.isRef, this.clearRef);
      }
      if (key < 0) break;
      budget--;
      scanned++;
      const pa = paOf[key]!;
      // A key pushed out on insertion may have been freed meanwhile (freed() could not see it).
      if (!resident && (allocator.frameIndex(pa) !== key || allocator.stateOf(pa) !== FrameState.USER))
        continue;
      if (!resident && this.unevictable.has(key)) continue; // mlocked after it was pushed out
      // A lazily freed page (MADV_FREE; shrink_folio_list on a !swapbacked anon folio, mm/vmscan.c):
      // dropped when clean — its pages read zero afterwards; written since, try_to_unmap fails
      // and it goes to activate_locked: swap-backed again and activated, not swapped in this pass.
      const lazy = tryToUnmapLazyFree(this.k, pa);
      if (lazy === LAZY_DISCARDED) {
        stolen++;
        continue;
      }
      if (lazy === LAZY_REDIRTIED) {
        this.ghosts?.kept(key);
        this.activateKey(key);
        continue;
      }
      const cached = swap.cacheSlotOf(pa) !== undefined;
      // folio_evictable false: a frame the unevictable bookkeeping missed (audit() proves none
      // is) is culled onto the unevictable list (activate_locked → folio_putback_lru), not put back.
      if (this.unevictable.locked(pa)) {
        if (cached) keepSwapCache(this.k, pa);
        this.isolate(key);
        this.unevictable.cull(key);
        continue;
      }
      if (cached || this.swapHasRoom()) {
        this.evicting = key;
        const out = reclaimFrame(this.k, pa);
        this.evicting = -1;
        if (out) {
          this.ghosts?.evicted(key, swap.lastOutType, swap.lastOutOffset); // workingset_eviction
          stolen++;
          continue;
        }
      }
      this.ghosts?.kept(key); // a putback is no refault: no ghost
      // activate_locked for a pinned page (try_to_unmap fails: a pinned page is anon-exclusive and
      // folio_try_share_anon_rmap_pte refuses it) or no slot (add_to_swap fails); the rest is put
      // back (putback_lru_page; a key pushed out on insertion may be resident again meanwhile).
      const why = unswappable(this.k, pa) ?? NO_SLOT;
      if (why === PINNED || why === NO_SLOT) this.activateKey(key);
      else if (!policy.has(key) && allocator.stateOf(pa) === FrameState.USER) this.track(policy.insert(key));
    }
    if (stolen > 0) this.kswapdFailures = 0; // progress: kswapd may try again (Linux resets it)
    if (mode === KSWAPD) {
      this.pgscanKswapd += scanned;
      this.pgstealKswapd += stolen;
    } else if (mode === DIRECT) {
      this.pgscanDirect += scanned;
      this.pgstealDirect += stolen;
    }
    this.lastScanned = scanned;
    return stolen;
  }

  /** @internal Victims offered in the last {@link shrink}. */
  lastScanned = 0;

  /** Explicit reclaim of up to `pages` frames (Kernel.reclaim): activates the policy if needed. */
  reclaimExplicit(pages: number): number {
    if (this.k.swap.order.length === 0) return 0; // no swap device: nothing can be reclaimed
    this.activate();
    return this.shrink(pages, EXPLICIT);
  }

  /**
   * Runs kswapd when it is awake (see `kswapd.ts`): woken by an allocation that found free frames
   * at or below `low`, or free frames below `low` now. Returns the frames freed.
   */
  kswapd(): number {
    return runKswapd(this.k, this);
  }

  /**
   * Direct reclaim of {@link SWAP_CLUSTER_MAX} frames (see `kswapd.ts`), counted as an
   * `allocstall`. Returns the frames freed (0 without a policy).
   */
  direct(why: string): number {
    return directReclaim(this.k, this, why);
  }

  /**
   * The audit part: every tracked key is a USER frame at that frame-table index. Appends problems.
   */
  audit(problems: string[]): void {
    const policy = this.policy;
    this.unevictable.audit(problems, policy === undefined ? undefined : this);
    if (policy === undefined) return;
    this.ghosts?.audit(problems, this.k.swap);
    auditPolicy(this.k, policy, this.paOf!, this.coldAt!, problems);
  }
}
