/**
 * The event stream: what the kernel and the MMU did, for the CLI's event log
 * and the playground. Emitting is free when nobody listens (`active` is false),
 * so hot paths check `active` before building an event.
 */

/** What a frame was allocated for. */
export type FramePurpose = 'page-table' | 'user' | 'kernel';

/** Every event mmkit emits. Addresses are bigints (VAs) or numbers (PAs). */
export type MmEvent =
  | { readonly type: 'frame-alloc'; readonly pa: number; readonly purpose: FramePurpose }
  | { readonly type: 'frame-free'; readonly pa: number; readonly purpose: FramePurpose }
  | {
      readonly type: 'map';
      readonly space: string;
      readonly va: bigint;
      readonly pa: number;
      readonly sizeBytes: number;
      readonly perms: string;
    }
  | {
      readonly type: 'unmap';
      readonly space: string;
      readonly va: bigint;
      readonly pa: number;
      readonly sizeBytes: number;
    }
  | { readonly type: 'protect'; readonly space: string; readonly va: bigint; readonly perms: string }
  | {
      readonly type: 'fault';
      readonly pid: number;
      readonly va: bigint;
      readonly access: 'read' | 'write' | 'fetch';
      readonly privilege: 'user' | 'kernel';
      readonly kind: string;
      readonly level: string;
      /** Raw syndrome (ESR_EL1, #PF error code). */
      readonly syndrome: bigint;
      /** Plain-words explanation, e.g. `ESR_EL1 0x92000007 (Data Abort from EL0, translation fault L3, read)`. */
      readonly detail: string;
      /** What the kernel did: `demand-zero`, `killed: stack overflow`, `EFAULT`… */
      readonly resolution: string;
    }
  | {
      /**
       * Copy-on-write and the shared zero page (Linux `do_wp_page` / `do_anonymous_page`):
       * - `zero-page`: a read fault on private anonymous memory mapped the shared zero page read-only;
       * - `zero-fill`: the first write to such a page replaced the zero page with a fresh zeroed frame;
       * - `copy`: a write to a page shared copy-on-write copied it (`fromPa` → `pa`);
       * - `reuse`: the writer held the only reference, so the frame was made writable in place.
       */
      readonly type: 'cow';
      readonly action: 'zero-page' | 'zero-fill' | 'copy' | 'reuse';
      readonly pid: number;
      readonly va: bigint;
      /** The frame mapped afterwards. */
      readonly pa: number;
      /** The frame mapped before (the zero page, the shared original, or `pa` itself for `reuse`). */
      readonly fromPa: number;
      readonly sizeBytes: number;
    }
  | OomKillEvent
  | {
      /**
       * Swap (Linux mm/swapfile.c, mm/vmscan.c, mm/memory.c `do_swap_page`):
       * - `swapon` / `swapoff`: a device was added / removed (every page brought back);
       * - `swap-out`: a PTE of `pid` at `va` mapping `pa` now holds the swap entry (`swapType`, `offset`);
       * - `swap-in`: the page came back at `va` in frame `pa`, read from the device (`major`) or
       *   found in the swap cache; readahead into the swap cache has pid 0;
       * - `swap-free`: the slot was freed (no PTE and no swap-cache page names it any more).
       */
      readonly type: 'swap';
      readonly action: 'swapon' | 'swapoff' | 'swap-out' | 'swap-in' | 'swap-free';
      /** The process whose PTE changed; 0 for device-level actions. */
      readonly pid: number;
      /** The page's virtual address (0 for device-level actions). */
      readonly va: bigint;
      /** The frame (0 when none is involved). */
      readonly pa: number;
      /** The device: Linux's `swp_type`. */
      readonly swapType: number;
      /** The slot: Linux's `swp_offset` (0 for swapon/swapoff). */
      readonly offset: number;
      /** swap-in: read from the device (a major fault) rather than found in the swap cache. */
      readonly major: boolean;
      readonly detail: string;
    }
  | {
      /**
       * Page reclaim (Linux mm/vmscan.c tracepoints `mm_vmscan_kswapd_wake` / `_sleep`,
       * `mm_vmscan_direct_reclaim_begin` / `_end`):
       * - `kswapd-wake`: free memory fell below the low watermark; background reclaim starts;
       * - `kswapd-sleep`: free memory is back at the high watermark (or nothing more can be
       *   reclaimed); `scanned` / `reclaimed` count the run;
       * - `direct-begin` / `direct-end`: an allocation found memory below the min watermark (or
       *   none at all) and reclaimed synchronously before retrying.
       */
      readonly type: 'reclaim';
      readonly action: 'kswapd-wake' | 'kswapd-sleep' | 'direct-begin' | 'direct-end';
      /** Free frames when the event was emitted. */
      readonly free: number;
      /** Frames the replacement policy offered as victims in this run (0 on wake/begin). */
      readonly scanned: number;
      /** Frames freed in this run (0 on wake/begin). */
      readonly reclaimed: number;
      readonly detail: string;
    }
  | { readonly type: 'tlb'; readonly cpu: number; readonly op: string; readonly operand?: bigint }
  | {
      /**
       * A periodic working-set sample of a process (the kernel's `workingSet` option): the
       * estimate of Denning's |W(t, τ)| from the harvested accessed flags, in pages.
       */
      readonly type: 'working-set';
      readonly pid: number;
      /** Estimated working-set size in pages. */
      readonly sizePages: number;
      /** Denning's window τ, in accesses of process virtual time. */
      readonly tau: number;
      /** Resident pages of the process at the sample. */
      readonly residentPages: number;
      /** The exact |W(t, τ)|, when exact tracking is on. */
      readonly exactPages?: number;
    }
  | {
      /**
       * A process took more page faults in one window than the threshold (seed EYN-OS's thrash
       * heuristic): the kernel considers it thrashing.
       */
      readonly type: 'thrashing';
      readonly pid: number;
      /** Faults in the window. */
      readonly faults: number;
      /** Window length in accesses of process virtual time. */
      readonly window: number;
      /** Faults per 1 000 accesses in the window. */
      readonly faultRate: number;
      /** Faults per window above which a process is thrashing. */
      readonly threshold: number;
    }
  | {
      readonly type: 'process';
      readonly action:
        | 'create'
        | 'fork'
        | 'exit'
        | 'kill'
        | 'brk'
        | 'mmap'
        | 'munmap'
        | 'mprotect'
        | 'mremap'
        | 'madvise'
        | 'mlock'
        | 'munlock'
        | 'exec';
      readonly pid: number;
      readonly detail: string;
    };

/**
 * One row of the OOM killer's task table (Linux `dump_tasks`: `[pid] uid tgid total_vm rss
 * pgtables_bytes swapents oom_score_adj name`), taken before the kill. Sizes in pages unless named.
 */
export interface OomTask {
  readonly pid: number;
  /** Always 0: every process runs as root. */
  readonly uid: number;
  /** Thread-group id: the pid (one thread per process). */
  readonly tgid: number;
  /** Pages of every VMA (`mm->total_vm`). */
  readonly totalVmPages: number;
  /** Resident pages: anonymous + file + shmem (`get_mm_rss`). */
  readonly rssPages: number;
  /** Bytes of page tables (`mm_pgtables_bytes`). */
  readonly pgtablesBytes: number;
  /** Swap entries in the page tables (`MM_SWAPENTS`). */
  readonly swapEntries: number;
  readonly oomScoreAdj: number;
  /** The process name (`comm`), or `pid N`. */
  readonly name: string;
}

/**
 * The victim of an OOM kill, with the fields of Linux's report line `Out of memory: Killed process
 * %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB, UID:%u pgtables:%lukB
 * oom_score_adj:%hd` (mm/oom_kill.c `__oom_kill_process`), plus its badness `points`.
 */
export interface OomVictim {
  readonly pid: number;
  readonly name: string;
  readonly totalVmKb: number;
  readonly anonRssKb: number;
  readonly fileRssKb: number;
  readonly shmemRssKb: number;
  readonly uid: number;
  readonly pgtablesKb: number;
  readonly oomScoreAdj: number;
  /** `oom_badness()` of the victim when it was chosen. */
  readonly points: number;
}

/**
 * The OOM killer ran (Linux `out_of_memory`): an allocation failed with neither memory nor swap
 * to satisfy it, a victim was chosen by badness and killed with SIGKILL, and the allocation is
 * retried. Without an eligible victim (every process has `oom_score_adj` -1000) `victim` is
 * undefined (Linux panics: "Out of memory and no killable processes...").
 */
export interface OomKillEvent {
  readonly type: 'oom-kill';
  /** The process whose allocation failed and what it was allocating (`dump_header`'s "invoked oom-killer"). */
  readonly trigger: {
    readonly pid: number;
    readonly name: string;
    readonly oomScoreAdj: number;
    /** E.g. `page fault at 0x…`, `fork`. */
    readonly allocation: string;
  };
  /** Linux's allocation constraint: always `CONSTRAINT_NONE` (no cpusets, mempolicies or memcgs). */
  readonly constraint: 'CONSTRAINT_NONE';
  /** `totalpages`: RAM pages plus swap pages, the scale of `oom_score_adj`. */
  readonly totalPages: number;
  readonly victim: OomVictim | undefined;
  /** Every live process before the kill, in task-list order (`dump_tasks`). */
  readonly tasks: readonly OomTask[];
  /** The report line as Linux prints it (or "Out of memory and no killable processes..."). */
  readonly detail: string;
}

/** Listener of {@link EventStream}. */
export type MmEventListener = (event: MmEvent) => void;

import { InvalidArgumentError } from './errors.js';

/** A synchronous event stream. */
export class EventStream {
  private readonly listeners = new Set<MmEventListener>();
  /** True when at least one listener is subscribed. */
  active = false;

  /**
   * Subscribes; returns the unsubscribe function.
   * @throws InvalidArgumentError unless `listener` is a function.
   */
  on(listener: MmEventListener): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError('listener', listener, 'a function');
    this.listeners.add(listener);
    this.active = true;
    return () => {
      this.listeners.delete(listener);
      this.active = this.listeners.size > 0;
    };
  }

  private held: MmEvent[] | undefined;

  /**
   * Delivers an event to every listener (or holds it, inside {@link hold}).
   * @throws InvalidArgumentError unless `event` is an object with a string `type` (checked only
   *   when someone listens, so emitting stays free otherwise).
   */
  emit(event: MmEvent): void {
    if (!this.active) return;
    let type: unknown;
    try {
      type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
    } catch {
      type = undefined; // a throwing getter: reported as the bad event below
    }
    if (typeof type !== 'string') {
      throw new InvalidArgumentError('event', event, 'an MmEvent object with a string type');
    }
    if (this.held) {
      this.held.push(event);
      return;
    }
    for (const l of this.listeners) l(event);
  }

  /**
   * Runs `fn` holding back the events it emits, then calls `before(result)` (which may emit
   * events of its own, delivered first) and delivers the held events after them. Lets a fault
   * be reported before the allocations and mappings its handler made.
   * @throws InvalidArgumentError unless `fn` and `before` are functions; whatever `fn` or
   *   `before` throw passes through.
   */
  hold<T>(fn: () => T, before: (result: T) => void): T {
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn', fn, 'a function');
    if (typeof before !== 'function') throw new InvalidArgumentError('before', before, 'a function');
    if (!this.active || this.held) {
      const r = fn();
      before(r);
      return r;
    }
    const held: MmEvent[] = [];
    this.held = held;
    let r: T;
    try {
      r = fn();
    } finally {
      this.held = undefined;
    }
    before(r);
    for (const e of held) for (const l of this.listeners) l(e);
    return r;
  }
}
