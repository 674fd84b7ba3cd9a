/**
 * The options of {@link bootKernel} and their validation, done once before anything is built (so a
 * bad option costs nothing). Options that need the built editor (the recursive slot, the linear
 * map base) are checked by `kernel-space.ts`.
 */
import { type AddressInput, type ArchBackend, CONTRACT_VERSION, type EventStream } from '@mmkit/core';
import { checkLayout, type SimpleLayout } from './layout.js';
import type { MachineDescription } from './machine.js';
import { checkProgress, type ProgressCallback } from './progress.js';
import { checkReclaimPolicy, type ReclaimPolicyName, type Watermarks } from './reclaim.js';
import { invalidArgument } from './syscalls.js';
import type { WorkingSetOptions } from './working-set.js';

/** Options of {@link bootKernel}. */
export interface KernelOptions {
  /** The page-table backend (e.g. `createAarch64Arch()`). */
  readonly arch: ArchBackend;
  /** The machine (e.g. a board from `@mmkit/boards`). */
  readonly machine: MachineDescription;
  /** Simulated CPUs (default 1). */
  readonly cpus?: number;
  /** Verify every TLB hit against the tables (default false). */
  readonly strictTlb?: boolean;
  /** TLB entries per CPU (power of two, default 4096). */
  readonly tlbEntries?: number;
  /** Base of the linear map (default: the first address of the kernel half); page aligned. */
  readonly linearMapBase?: AddressInput;
  /** Layout of simple processes (default: {@link simpleLayoutFor} the arch). */
  readonly layout?: SimpleLayout;
  /** Pages above which an unmap flushes the whole ASID instead of each page (default 32). */
  readonly flushThreshold?: number;
  /** Event stream to emit on (default: a new one, see {@link Kernel.events}). */
  readonly events?: EventStream;
  /**
   * Identity-map the first `identityMapBytes` of physical memory (VA = PA, kernel RW) in the root
   * used while no process runs, leaving the null page unmapped (seed `003_…`'s low identity map).
   * Processes' roots do not get it. Default 0 (none).
   */
  readonly identityMapBytes?: number;
  /**
   * Root-table index of a recursive entry (the root maps itself there, seed `003_…`'s PD index
   * 1023): every root gets it, pointing to itself. Must lie in the kernel half of a single-root
   * format whose root entries have the format of the level below (not the PAE PDPT).
   */
  readonly recursiveSlot?: number;
  /**
   * Lowest address mmap places a mapping at, and the value a lower non-null hint is raised to
   * (Linux's `vm.mmap_min_addr`; default 65536, as on a typical distribution). Page aligned.
   */
  readonly mmapMinAddr?: number;
  /**
   * How fork copies private memory: `'cow'` (default) shares every private page read-only in
   * parent and child and copies it on the first write, as Linux does; `'eager'` copies every
   * private page at fork (seed `000_…`'s fork).
   */
  readonly fork?: ForkMode;
  /**
   * Read faults on private anonymous memory map the shared zero page read-only (default true, as
   * Linux does); false allocates a zeroed frame for them too (seed `000_…`'s demand paging).
   */
  readonly zeroPage?: boolean;
  /**
   * The processes' `RLIMIT_MEMLOCK` in bytes: how much mlock/mlockall (and mappings made under
   * `MCL_FUTURE`) may lock. Default 8 MiB (Linux's `MLOCK_LIMIT` since 5.16); `Infinity` is
   * `RLIM_INFINITY`; 0 makes mlock EPERM for an unprivileged process (Linux `can_do_mlock`).
   */
  readonly memlockLimit?: number;
  /** The processes hold `CAP_IPC_LOCK`: the memlock limit does not apply (default false). */
  readonly capIpcLock?: boolean;
  /**
   * When an allocation for a page fault, fork, exec or spawn finds neither memory nor swap, run
   * the OOM killer (default true, as Linux does): the process with the highest badness is killed
   * and the allocation retried (see `oom-kill.ts`). False kills the faulting process instead (SIGSEGV
   * `SEGV_OOM`) and fails fork, exec and spawn with ENOMEM.
   */
  readonly oomKiller?: boolean;
  /**
   * Working-set, page-fault-frequency and thrash tracking per process (see `working-set.ts`):
   * `true` for the defaults, an options object to set some, false (default) for none — then
   * nothing is tracked and nothing is allocated for it.
   */
  readonly workingSet?: boolean | WorkingSetOptions;
  /**
   * Swap readahead: a major swap-in fault reads the whole aligned cluster of this many slots
   * (a power of two up to 1024) into the swap cache, as Linux's `swap_cluster_readahead` reads
   * 2^`page-cluster` slots. Default 0: off (only the faulting slot is read).
   */
  readonly swapReadahead?: number;
  /**
   * The kernel's page-replacement policy for reclaim (see `reclaim.ts`): `two-list` (default,
   * Linux's active/inactive LRU), `fifo`, `clock`, `wsclock`, `sieve`, `lru`, `lfu`, `arc`, `2q`.
   * Reclaim runs only with a swap device.
   */
  readonly reclaimPolicy?: ReclaimPolicyName;
  /**
   * The page allocator's watermarks in pages (0 ≤ min ≤ low ≤ high ≤ managed pages). Default:
   * Linux's, computed from the managed pages (`defaultWatermarks`).
   */
  readonly watermarks?: Watermarks;
  /**
   * Automatic reclaim (default true): kswapd below the low watermark, direct reclaim when an
   * allocation fails, and the reserve below the min watermark (see `reclaim.ts`). False keeps only
   * explicit reclaim (`Kernel.reclaim`, `Kernel.runKswapd`, MADV_PAGEOUT) and no reserve: an
   * allocation that fails then goes straight to the out-of-memory path.
   */
  readonly autoReclaim?: boolean;
  /**
   * Told how boot advances, for a progress bar on a large board (a 1 TiB pc boots in seconds):
   * `(phase, done, total)` once as each phase starts (`frame table`, `reverse map`, `swap map`,
   * `linear map`, `cpus`; `done` = phases finished, `total` = 5) and `('boot', 5, 5)` at the end.
   * Never called per frame. Must not call back into the kernel (it is not built yet).
   */
  readonly onProgress?: ProgressCallback;
}

/** The mlock policy a kernel was booted with (see {@link KernelOptions.memlockLimit}). */
export interface MemlockPolicy {
  /** RLIMIT_MEMLOCK in pages (rounded down, Linux `rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT`); Infinity for none. */
  readonly limitPages: number;
  /** RLIMIT_MEMLOCK is not 0 (Linux `can_do_mlock` without the capability). */
  readonly limitNonZero: boolean;
  /** CAP_IPC_LOCK. */
  readonly privileged: boolean;
}

/** See {@link KernelOptions.fork}. */
export type ForkMode = 'cow' | 'eager';

/**
 * @internal Checks the options that need nothing built (backend, machine, events, layout, flush
 * threshold, TLB size, CPU count) and returns the backend and machine.
 * @throws InvalidArgumentError naming the first bad option.
 */
export function checkKernelOptions(options: KernelOptions): {
  arch: ArchBackend;
  machine: MachineDescription;
  forkMode: ForkMode;
  useZeroPage: boolean;
  memlock: MemlockPolicy;
  oomKiller: boolean;
  swapReadahead: number;
  reclaimPolicy: ReclaimPolicyName;
  autoReclaim: boolean;
  onProgress: ProgressCallback | undefined;
} {
  if (options === null || typeof options !== 'object')
    throw invalidArgument('options', options, 'an object with arch and machine');
  const { arch, machine } = options;
  if (arch === null || typeof arch !== 'object' || typeof arch.description !== 'object')
    throw invalidArgument('arch', arch, 'a page-table backend (ArchBackend)');
  if (arch.contractVersion !== CONTRACT_VERSION)
    throw invalidArgument(
      'arch.contractVersion',
      arch.contractVersion,
      `backend contract version ${CONTRACT_VERSION} (this kernel's)`,
    );
  if (
    machine === null ||
    typeof machine !== 'object' ||
    typeof machine.createMemory !== 'function' ||
    machine.pool === null ||
    typeof machine.pool !== 'object' ||
    !Array.isArray(machine.pool.ranges) ||
    !Array.isArray(machine.pool.reservations) ||
    (machine.archs !== undefined && !Array.isArray(machine.archs))
  )
    throw invalidArgument('machine', machine, 'a machine description (a board)');
  const d = arch.description;
  const archs = machine.archs;
  if (archs !== undefined && !archs.includes(d.id))
    throw invalidArgument(
      'arch',
      d.id,
      `an architecture the ${machine.id} board supports (${archs.join(', ')})`,
    );
  const events = options.events as Partial<EventStream> | undefined;
  if (
    events !== undefined &&
    (events === null || typeof events !== 'object' || typeof events.emit !== 'function')
  )
    throw invalidArgument('events', events, 'an EventStream');
  if (options.layout !== undefined) checkLayout(options.layout);
  const threshold = options.flushThreshold;
  if (
    threshold !== undefined &&
    (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 0)
  )
    throw invalidArgument('flushThreshold', threshold, 'a non-negative safe integer (pages)');
  const tlbEntries = options.tlbEntries;
  if (
    tlbEntries !== undefined &&
    (typeof tlbEntries !== 'number' ||
      !Number.isInteger(tlbEntries) ||
      tlbEntries < 1 ||
      tlbEntries > 2 ** 20 ||
      (tlbEntries & (tlbEntries - 1)) !== 0)
  )
    throw invalidArgument('tlbEntries', tlbEntries, 'a power of two from 1 to 2^20');
  const n = options.cpus ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 64)
    throw invalidArgument('cpus', n, 'an integer from 1 to 64');
  const forkMode = options.fork ?? 'cow';
  if (forkMode !== 'cow' && forkMode !== 'eager') throw invalidArgument('fork', forkMode, "'cow' or 'eager'");
  const useZeroPage = options.zeroPage ?? true;
  if (typeof useZeroPage !== 'boolean') throw invalidArgument('zeroPage', useZeroPage, 'true or false');
  const limit = options.memlockLimit ?? 8 * 1024 * 1024;
  if (
    typeof limit !== 'number' ||
    !(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 0))
  )
    throw invalidArgument('memlockLimit', limit, 'a non-negative safe integer (bytes) or Infinity');
  const privileged = options.capIpcLock ?? false;
  if (typeof privileged !== 'boolean') throw invalidArgument('capIpcLock', privileged, 'true or false');
  const pageBytes = arch.geometry.pageBytes;
  const memlock: MemlockPolicy = {
    limitPages: limit === Number.POSITIVE_INFINITY ? limit : Math.floor(limit / pageBytes),
    limitNonZero: limit !== 0,
    privileged,
  };
  const oomKiller = options.oomKiller ?? true;
  if (typeof oomKiller !== 'boolean') throw invalidArgument('oomKiller', oomKiller, 'true or false');
  const swapReadahead = options.swapReadahead ?? 0;
  if (
    typeof swapReadahead !== 'number' ||
    !Number.isInteger(swapReadahead) ||
    swapReadahead < 0 ||
    swapReadahead > 1024 ||
    (swapReadahead & (swapReadahead - 1)) !== 0
  )
    throw invalidArgument('swapReadahead', swapReadahead, '0 (off) or a power of two from 1 to 1024 (pages)');
  const reclaimPolicy = checkReclaimPolicy(options.reclaimPolicy);
  const autoReclaim = options.autoReclaim ?? true;
  if (typeof autoReclaim !== 'boolean') throw invalidArgument('autoReclaim', autoReclaim, 'true or false');
  const onProgress = checkProgress('onProgress', options.onProgress);
  return {
    arch,
    machine,
    forkMode,
    useZeroPage,
    memlock,
    oomKiller,
    swapReadahead,
    reclaimPolicy,
    autoReclaim,
    onProgress,
  };
}

/** @internal Lowest mmap page from `mmapMinAddr` (default 65536 bytes, Linux's usual `vm.mmap_min_addr`). */
export function checkMmapMin(value: unknown, pageBytes: number): number {
  if (value === undefined) return Math.ceil(65536 / pageBytes);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value % pageBytes !== 0)
    throw invalidArgument('mmapMinAddr', value, `a non-negative multiple of ${pageBytes}`);
  return value / pageBytes;
}
