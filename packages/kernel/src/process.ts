/**
 * A process: a pid, its {@link AddressSpace} (VMAs, page tables, ASID, break, layout) and its
 * lifecycle state. The page tables are the record of what is mapped: there are no page-slot
 * arrays, so a process may map as much as memory allows. exec swaps in a new address space;
 * fork clones it.
 */
import type { AddressSpace, LayoutVpns } from './address-space.js';
import type { SimpleLayout } from './layout.js';
import type { VmaValue } from './vma.js';
import type { VmaTree } from './vma-tree.js';
import type { WorkingSetTracker } from './working-set.js';

/** Why the kernel killed a process (the seed's kill reasons, plus a few). */
export type KillReason =
  | 'stack overflow'
  | 'text fault'
  | 'invalid address'
  | 'permission fault'
  | 'exec fault'
  | 'out of memory'
  | 'alignment fault';

/**
 * Signal and si_code of a kill, as Linux would deliver them. The OOM killer sends SIGKILL with
 * `SI_KERNEL` (mm/oom_kill.c `__oom_kill_process`: `do_send_sig_info(SIGKILL, SEND_SIG_PRIV, …)`,
 * and SEND_SIG_PRIV is a kernel-generated signal, si_code SI_KERNEL).
 */
export interface KillSignal {
  readonly signal: 'SIGSEGV' | 'SIGBUS' | 'SIGKILL';
  readonly code: 'SEGV_MAPERR' | 'SEGV_ACCERR' | 'BUS_ADRALN' | 'SEGV_OOM' | 'SI_KERNEL';
}

/** Lifecycle state. */
export type ProcessState = 'running' | 'exited' | 'killed';

/**
 * See the module documentation. The kernel maintains every field; the address-space views
 * (`root`, `vmas`, `brk`, …) read the current {@link AddressSpace}.
 */
export class Process {
  state: ProcessState = 'running';
  killReason: KillReason | undefined;
  /** The signal that killed the process (with `killReason`). */
  killSignal: KillSignal | undefined;
  /**
   * The process name (Linux `comm`): the last path component of the executable, at most 15
   * characters (TASK_COMM_LEN − 1), set by exec of an ELF file and inherited by fork; undefined
   * for processes made from simple images (reports then say `pid N`).
   */
  comm: string | undefined;
  /** @internal See {@link oomScoreAdj}. */
  oomAdj = 0;
  /**
   * Process virtual time: the user accesses the process made through the kernel's user-access
   * paths (each load, store and fetch; one per page of a multi-byte read or write or copy to or
   * from user memory).
   */
  accesses = 0;
  /** Page faults the process took (every kind and resolution; see `Kernel.faultStats`). */
  faults = 0;
  /** @internal Faults by the kernel's resolution. */
  readonly faultsByResolution = new Map<string, number>();
  /**
   * @internal The resolution of the latest faults not yet added to {@link faultsByResolution}, and
   * how many (a run of equal resolutions costs one comparison per fault, not a Map update: see
   * `countFault` and `faultStatsOf` in working-set.ts).
   */
  pendingResolution: string | undefined = undefined;
  /** @internal See {@link pendingResolution}. */
  pendingCount = 0;
  /** @internal Working-set, PFF and thrash tracking (the kernel's `workingSet` option). */
  tracker: WorkingSetTracker | undefined;
  /**
   * Faults resolved without reading the swap device (Linux `min_flt`: demand paging, copy-on-write,
   * a page found in the swap cache, …), counted across exec.
   */
  minorFaults = 0;
  /** Faults that read a page from a swap device (Linux `maj_flt`). */
  majorFaults = 0;

  constructor(
    readonly pid: number,
    /** The address space (replaced by exec). */
    public space: AddressSpace,
    readonly parentPid: number,
    /** @internal The kernel that created it (an identity check on every access, cheaper than a map lookup). */
    readonly owner: object | undefined = undefined,
  ) {}

  /** ASID/PCID of the address space. */
  get asid(): number {
    return this.space.asid;
  }
  /** Physical address of the root table, 0 until the first mapping (allocated lazily, as the seed's pgd). */
  get root(): number {
    return this.space.root;
  }
  /** The VMAs. */
  get vmas(): VmaTree<VmaValue> {
    return this.space.vmas;
  }
  /** Program break. */
  get brk(): bigint {
    return this.space.brk;
  }
  /** First page number past the heap. */
  get brkVpn(): number {
    return this.space.brkVpn;
  }
  /**
   * User pages currently mapped: every present leaf's pages, the shared zero page and device
   * memory included (RSS, which leaves those out, is {@link rssPages}).
   */
  get residentPages(): number {
    return this.space.residentPages;
  }
  /**
   * Resident set size in pages, as Linux's `get_mm_rss` counts it (`VmRSS` of /proc/PID/status,
   * statm's resident): MM_ANONPAGES + MM_FILEPAGES + MM_SHMEMPAGES, one per 4 KiB page a leaf maps
   * to a frame the allocator handed out for user data (a huge leaf counts each of its pages). The
   * shared zero page and device memory are left out (special PTEs: `vm_normal_page` is NULL, no
   * rss counter moves), and so are swapped-out pages (MM_SWAPENTS). A page shared copy-on-write
   * counts in every process that maps it. O(1) (the reverse map's count of the address space's
   * entries, which `audit()` proves equal to the tables), so it can be sampled as often as wanted;
   * 0 once the process has ended. Equal to `Kernel.memoryStats(proc).rssPages`.
   */
  get rssPages(): number {
    return this.space.rssPages;
  }
  /** Page-table frames owned (root included). */
  get tablePages(): number {
    return this.space.tablePages;
  }
  /** Region boundaries used to name faults (seed 000) and to place the heap and stack. */
  get layout(): SimpleLayout {
    return this.space.layout;
  }
  /** Layout boundaries as page numbers. */
  get vpn(): LayoutVpns {
    return this.space.vpn;
  }
  /** Entry point of the program loaded by spawnElf/exec (0 otherwise). */
  get entry(): bigint {
    return this.space.entry;
  }
  /** Initial stack pointer of the program loaded by spawnElf/exec (0 otherwise). */
  get initialSp(): bigint {
    return this.space.initialSp;
  }

  /**
   * `/proc/PID/oom_score_adj` (−1000..1000, default 0): added to the OOM badness in units of
   * totalpages / 1000; −1000 makes the process unkillable by the OOM killer. Set with
   * `Kernel.setOomScoreAdj`; fork copies it, exec keeps it.
   */
  get oomScoreAdj(): number {
    return this.oomAdj;
  }

  /** True while the process can run. */
  get alive(): boolean {
    return this.state === 'running';
  }
}
