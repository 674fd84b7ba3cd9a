/**
 * The kernel's reclaim and swap counters, as Linux's /proc/vmstat names them (mm/vmstat.c
 * `vmstat_text`): what `Kernel.vmstat` returns. The counters live with what counts them —
 * the `Reclaimer` (scans, steals, activations, stalls, kswapd runs), the swap manager (`pswpin`,
 * `pswpout`) and the unevictable list (`unevictable.ts`).
 */

/** Reclaim counters, as Linux's /proc/vmstat names them. */
export interface VmStat {
  /** Frames offered as victims by kswapd's scans (`pgscan_kswapd`). */
  readonly pgscanKswapd: number;
  /** Frames offered as victims by direct reclaim (`pgscan_direct`). */
  readonly pgscanDirect: number;
  /** Frames kswapd freed (`pgsteal_kswapd`). */
  readonly pgstealKswapd: number;
  /** Frames direct reclaim freed (`pgsteal_direct`). */
  readonly pgstealDirect: number;
  /**
   * Pages reclaim kept and activated (`pgactivate`, Linux `shrink_folio_list`'s `activate_locked`):
   * a page the policy keeps because it was referenced (two-list's activation; CLOCK's, SIEVE's and
   * WSClock's second chance), a page reclaim cannot unmap (pinned) or finds no free slot for, and a
   * lazily freed page (MADV_FREE) found written since or referenced elsewhere, which is made
   * swap-backed again instead of being swapped in that pass.
   */
  readonly pgactivate: number;
  /** Pages read from swap devices, readahead included (`pswpin`). */
  readonly pswpin: number;
  /** Pages written to swap devices (`pswpout`). */
  readonly pswpout: number;
  /** Direct reclaims (`allocstall`). */
  readonly allocstall: number;
  /** kswapd runs (`pageoutrun`). */
  readonly pageoutrun: number;
  /**
   * Frames on the unevictable list now: mapped by an mlocked VMA (`nr_unevictable`; equal to
   * `nr_mlock` in mmkit, where only mlock makes a page unevictable).
   */
  readonly nrUnevictable: number;
  /** Pages mlocked: moved onto the unevictable list by mlock or a fault in a locked VMA (`unevictable_pgs_mlocked`). */
  readonly unevictablePgsMlocked: number;
  /** Pages munlocked: their last locked mapping went — munlock, munmap, exit (`unevictable_pgs_munlocked`). */
  readonly unevictablePgsMunlocked: number;
  /** Pages moved from the evictable lists onto the unevictable list (`unevictable_pgs_culled`). */
  readonly unevictablePgsCulled: number;
  /** Pages moved from the unevictable list back to the evictable lists (`unevictable_pgs_rescued`). */
  readonly unevictablePgsRescued: number;
}
