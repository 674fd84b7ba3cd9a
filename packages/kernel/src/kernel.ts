/**
 * The architecture-neutral kernel memory manager: {@link bootKernel} and the {@link Kernel}
 * facade. The facade is one class built in three layers, one module each:
 *
 * | layer                  | what it holds                                                              |
 * |------------------------|----------------------------------------------------------------------------|
 * | `kernel-core.ts`       | the kernel's fields and plumbing: boot, processes, attributes, TLB, faults |
 * | `kernel-memory-api.ts` | facade calls: seed page API, fork/exec, mm syscalls, madvise/mlock, swap   |
 * | `kernel.ts`            | facade calls: introspection, OOM scores, reference bits, user accesses     |
 *
 * with their helpers: `boot.ts` (the boot steps: space bounds, the allocator and its
 * reservations, the kernel tables, the CPUs), `introspection.ts` (linear-map conversions, memory
 * stats, the introspection calls' argument checks) and `vma-attributes.ts` (the leaf attributes
 * of VMAs, their read-only forms and templates, cached for the fault path). Every call is a thin
 * delegation to one module per responsibility:
 *
 * | module               | responsibility                                                       |
 * |----------------------|----------------------------------------------------------------------|
 * | `kernel-options.ts`  | the boot options and their validation                                 |
 * | `process-table.ts`   | pids, ASIDs (allocation, recycling), process lookup, reaping          |
 * | `kernel-space.ts`    | the kernel half: linear map, device map, identity map, recursive slot |
 * | `address-space.ts`   | one user address space: VMAs, tables, ASID, break, every table change |
 * | `space-ranges.ts`    | huge-leaf splits, the Contiguous hint, mprotect and mremap of a range |
 * | `fork-copy.ts`       | fork's copy of an address space (copy-on-write sharing, eager copy)   |
 * | `zap.ts`             | teardown of leaves (exit, exec, munmap, DONTNEED), table-at-a-time    |
 * | `cow.ts`             | copy-on-write breaks (reuse, zero-fill, copy) and lazy PTE upgrades   |
 * | `anon-exclusive.ts`  | PG_anon_exclusive per frame: set, cleared by fork, its audit          |
 * | `anon-vma.ts`        | anon_vma presence per VMA: anon_vma_prepare, reuse of a neighbour's   |
 * | `mm-syscalls.ts`     | mmap, munmap, mprotect, mremap, brk (POSIX errnos)                    |
 * | `fault.ts`           | the fault handler: classification, demand paging, kills               |
 * | `fork-exec.ts`       | fork, exec, spawn, static ELF64                                       |
 * | `user-access.ts`     | loads, stores, fetches, copy_{from,to}_user                           |
 * | `tlb-shootdown.ts`   | TLB maintenance on every CPU                                          |
 * | `seed-api.ts`        | the seed kernels' page-level API (map_page, allocate_user_page, …)    |
 * | `rmap.ts`            | the reverse map: which spaces map each user frame, and where          |
 * | `zero-page.ts`       | the shared zero page's reservation                                    |
 * | `madvise.ts`         | madvise (DONTNEED, FREE, COLD, PAGEOUT, WILLNEED, …), mincore          |
 * | `frame-marks.ts`     | page flags: lazy free, PG_dirty, cold; reclaim's lazy-free unmap      |
 * | `mlock.ts`           | mlock, mlock2, munlock, mlockall, munlockall; locked-page queries      |
 * | `oom-kill.ts`        | the OOM killer: badness, victim choice, the kill and its report       |
 * | `accessed-bits.ts`   | reference bits: test and clear the accessed flag, per frame or page   |
 * | `working-set.ts`     | working sets W(t, τ), page-fault frequency, thrash detection          |
 * | `swap.ts`            | swapon, swapoff, explicit reclaim, the swap audit (re-exports below)  |
 * | `swap-device.ts`     | swap devices, slot counts, the swap cache's tables, slot allocation   |
 * | `swap-walk.ts`       | walks over swap PTEs: copy (fork), move (mremap), zap (munmap)        |
 * | `swap-out.ts`        | swap-out of a frame through the reverse map, MADV_PAGEOUT             |
 * | `swap-in.ts`         | swap-in on a fault, readahead, MADV_WILLNEED                          |
 * | `swap-cache.ts`      | the swap cache kept after swap-in: freeing swap, frame dirtiness      |
 * | `reclaim.ts`         | the kernel's replacement policy, shrinking, the reserve, counters     |
 * | `reclaim-view.ts`    | the policy's state by frame, the audit of what reclaim tracks         |
 * | `kswapd.ts`          | when reclaim runs: kswapd's wake and run, direct reclaim              |
 * | `watermarks.ts`      | the allocator's watermarks: Linux's defaults, explicit ones checked   |
 * | `slow-path.ts`       | the allocator slow path: direct reclaim, then the OOM killer, retry   |
 * | `unevictable.ts`     | the unevictable list: mlocked frames out of the policy, the batch     |
 * | `vmstat.ts`          | the /proc/vmstat counters the kernel reports (`Kernel.vmstat`)        |
 * | `swap-view.ts`       | a read-only view of one device's slots: counts, cache, owning PTEs    |
 * | `progress.ts`        | progress reports of boot and audit (throttled, for a progress bar)    |
 *
 * The VMA tree of every address space: `vma-tree.ts` (`VmaTree`: lookups, iteration, insert,
 * remove, update with split and merge), `vma-tree-nodes.ts` (its node arena, positioning and
 * augmented gap data), `vma-tree-rebalance.ts` (redistribution, splits, merges),
 * `vma-tree-gaps.ts` (the gap search, Linux's `unmapped_area`), `vma-tree-check.ts` (argument
 * checks, `VmaOverlapError`, the invariant check). Exec's initial stack: `initial-stack.ts` (the
 * layout of argv, envp and the auxiliary vector) and `auxv.ts` (the vector's types, Linux's vector).
 *
 * Ownership: the kernel owns the {@link PageAllocator} (every frame's state, refcount and owner),
 * the kernel page tables (TTBR1 on AArch64; the kernel half of every root on single-root formats),
 * every process and its {@link AddressSpace}, and the simulated CPUs. It is handed a backend and a
 * machine; it never imports an architecture package, and never branches on which architecture it
 * runs on — only on the backend's description.
 *
 * Invariants (proved by `audit()`): every frame is in exactly one state with a correct refcount;
 * a failed operation leaves everything as it was; no user PTE grants more than its VMA allows; a
 * removed or downgraded translation is invalidated in every TLB before the next access.
 */
import type { AddressInput, FramePurpose } from '@mmkit/core';
import {
  clearFrameReferenced,
  clearPageReferenced,
  frameReferenced,
  pageReferenced,
} from './accessed-bits.js';
import type { KernelContext } from './context.js';
import type { FaultHandler } from './cpu.js';
import { checkedPa, knownProcess, memoryStats, userVpn } from './introspection.js';
import { KernelMemoryApi } from './kernel-memory-api.js';
import type { ForkMode, KernelOptions } from './kernel-options.js';
import { oomBadness, oomScore, oomTotalPages, setOomScoreAdj } from './oom-kill.js';
import { procMaps, procSmaps, type VmaSummary, vmaSummaries } from './proc-maps.js';
import type { Process } from './process.js';
import type { SwapDeviceInfo, SwapOnOptions } from './swap.js';
import type { SysResult } from './syscalls.js';
import {
  type AccessResult,
  type CopyResult,
  copyFromUser,
  copyToUser,
  fetchUser,
  loadUser,
  prefaultUserRange,
  readUser,
  storeUser,
  writeUser,
} from './user-access.js';
import { type FaultStats, faultStatsOf, type WorkingSetStats, workingSetOf } from './working-set.js';

/**
 * Boots a kernel on a machine: builds the page allocator over the machine's
 * pool with its reservations, the kernel tables (linear map of RAM and device
 * mappings), and the CPUs.
 * @throws NoMemoryError if the kernel tables do not fit; InvalidArgumentError for bad options.
 */
export function bootKernel(options: KernelOptions): Kernel {
  return new Kernel(options);
}

/** See the module documentation. */
export class Kernel extends KernelMemoryApi implements FaultHandler, KernelContext {
  // -------------------------------------------------------------------------
  // Introspection

  /** `/proc/PID/maps` of a process (Linux format, see proc-maps.ts). */
  procMaps(proc: Process): string {
    return procMaps(this, this.live(proc));
  }

  /** `/proc/PID/smaps` of a process. */
  procSmaps(proc: Process): string {
    return procSmaps(this, this.live(proc));
  }

  /** The process's VMAs in address order, with their resident pages (smaps `Rss`: no zero-page or device pages). */
  vmas(proc: Process): VmaSummary[] {
    return vmaSummaries(this, this.live(proc));
  }

  /**
   * RSS (pages, Linux `get_mm_rss`: the shared zero page and device pages are not counted), VSZ
   * (bytes of all VMAs), page-table pages and locked pages (`VmLck` of /proc/PID/status: the
   * pages of mlocked VMAs) of a process.
   */
  memoryStats(proc: Process): {
    rssPages: number;
    vszBytes: bigint;
    pageTablePages: number;
    lockedPages: number;
  } {
    return memoryStats(this, this.live(proc));
  }

  // -------------------------------------------------------------------------
  // The OOM killer (see `oom-kill.ts`)

  /**
   * Writes `/proc/PID/oom_score_adj`: an integer from −1000 (never chosen by the OOM killer) to
   * 1000; anything else is EINVAL and changes nothing. Fork copies the value, exec keeps it.
   * @throws InvalidArgumentError unless `value` is a number; NoProcessError for an ended process.
   */
  setOomScoreAdj(proc: Process, value: number): SysResult<0> {
    return setOomScoreAdj(this, proc, value);
  }

  /**
   * The OOM killer's badness of a process (Linux `oom_badness`): resident pages + swap entries +
   * page-table pages + `oom_score_adj * (totalpages / 1000)`; undefined when it can never be
   * chosen (oom_score_adj −1000). The victim is the live process with the highest badness.
   * @throws NoProcessError for an ended process.
   */
  oomBadness(proc: Process): number | undefined {
    return oomBadness(this, this.live(proc), oomTotalPages(this));
  }

  /**
   * `/proc/PID/oom_score`: the badness scaled into [0, 2000] as Linux's `proc_oom_score` does,
   * 0 for a process the killer never chooses. @throws NoProcessError for an ended process.
   */
  oomScore(proc: Process): number {
    return oomScore(this, proc);
  }

  // -------------------------------------------------------------------------
  // Reference bits, working sets, fault statistics (accessed-bits.ts, working-set.ts)

  /**
   * True when any mapping of user frame `pa` has its accessed flag set (AArch64 AF, x86 A;
   * Linux `folio_referenced`); false for a frame nothing maps.
   * @throws InvalidArgumentError unless `pa` is a non-negative safe integer.
   */
  frameReferenced(pa: number): boolean {
    return frameReferenced(this, checkedPa(pa));
  }

  /**
   * Test-and-clear of the accessed flag in every mapping of user frame `pa`, each followed by
   * the TLB invalidation the architecture's Linux `ptep_clear_flush_young` does (arm64: the page
   * is invalidated; x86: deliberately none). Returns whether any mapping had it set.
   * @throws InvalidArgumentError unless `pa` is a non-negative safe integer.
   */
  clearFrameReferenced(pa: number): boolean {
    return this.settled(clearFrameReferenced(this, checkedPa(pa)));
  }

  /**
   * True when the leaf mapping user address `va` in `proc` has its accessed flag set (a huge
   * leaf: the block's one flag); false when nothing maps it.
   * @throws InvalidArgumentError for an address outside the user half; NoProcessError.
   */
  pageReferenced(proc: Process, va: AddressInput): boolean {
    return pageReferenced(this, this.live(proc).space, userVpn(this, va));
  }

  /**
   * Test-and-clear of the accessed flag of the leaf mapping `va` in `proc`, with the
   * architecture's TLB rule (see {@link clearFrameReferenced}). Returns whether it was set.
   * @throws InvalidArgumentError for an address outside the user half; NoProcessError.
   */
  clearPageReferenced(proc: Process, va: AddressInput): boolean {
    return this.settled(clearPageReferenced(this, this.live(proc).space, userVpn(this, va)));
  }

  /**
   * The working set of `proc` (Denning's W(t, τ): the sampled estimate, and the exact size when
   * exact tracking is on), or undefined when the `workingSet` option is off. Works for ended
   * processes too (their last values).
   * @throws NoProcessError for a process this kernel does not know.
   */
  workingSet(proc: Process): WorkingSetStats | undefined {
    return workingSetOf(knownProcess(this, proc));
  }

  /**
   * Accesses (process virtual time) and page faults of `proc`, by resolution; with the
   * `workingSet` option also its page-fault frequency and the thrash detector's state.
   * Works for ended processes too.
   * @throws NoProcessError for a process this kernel does not know.
   */
  faultStats(proc: Process): FaultStats {
    return faultStatsOf(knownProcess(this, proc));
  }

  // -------------------------------------------------------------------------
  // User accesses through a CPU

  /** A user load of 1, 2, 4 or 8 bytes (little-endian; 8-byte values are bigints). */
  load(
    proc: Process,
    va: AddressInput,
    sizeBytes: 1 | 2 | 4 | 8 = 8,
    cpuIndex = 0,
  ): AccessResult<number | bigint> {
    return this.settled(loadUser(this, proc, va, sizeBytes, cpuIndex));
  }

  /** A user store of 1, 2, 4 or 8 bytes. */
  store(
    proc: Process,
    va: AddressInput,
    sizeBytes: 1 | 2 | 4 | 8,
    value: number | bigint,
    cpuIndex = 0,
  ): AccessResult<void> {
    return this.settled(storeUser(this, proc, va, sizeBytes, value, cpuIndex));
  }

  /** A user instruction fetch of 1, 2, 4 (default; an A64 instruction) or 8 bytes. */
  fetch(
    proc: Process,
    va: AddressInput,
    sizeBytes: 1 | 2 | 4 | 8 = 4,
    cpuIndex = 0,
  ): AccessResult<number | bigint> {
    return this.settled(fetchUser(this, proc, va, sizeBytes, cpuIndex));
  }

  /**
   * Reads `length` bytes of user memory as the process would (user privilege, faults handled).
   * @throws InvalidArgumentError for a length above MAX_RW_COUNT (0x7FFF_F000, as Linux's read(2)).
   */
  readUser(proc: Process, va: AddressInput, length: number, cpuIndex = 0): AccessResult<Uint8Array> {
    return this.settled(readUser(this, proc, va, length, cpuIndex));
  }

  /** Writes bytes to user memory as the process would. */
  writeUser(proc: Process, va: AddressInput, data: Uint8Array, cpuIndex = 0): AccessResult<void> {
    return this.settled(writeUser(this, proc, va, data, cpuIndex));
  }

  /**
   * Checks and prefaults [va, va + length) for a kernel access on behalf of the process (seed
   * `check_and_prefault_user_range`): EFAULT for anything that cannot be faulted in, never a kill.
   */
  prefaultUserRange(
    proc: Process,
    va: AddressInput,
    length: number,
    write = false,
    cpuIndex = 0,
  ): CopyResult<void> {
    return this.settled(prefaultUserRange(this, proc, va, length, write, cpuIndex));
  }

  /** copy_from_user: reads user memory for the kernel; a bad pointer is EFAULT, never a kill. */
  copyFromUser(proc: Process, va: AddressInput, length: number, cpuIndex = 0): CopyResult<Uint8Array> {
    return this.settled(copyFromUser(this, proc, va, length, cpuIndex));
  }

  /** copy_to_user: writes user memory for the kernel; a bad pointer is EFAULT, never a kill. */
  copyToUser(proc: Process, va: AddressInput, data: Uint8Array, cpuIndex = 0): CopyResult<void> {
    return this.settled(copyToUser(this, proc, va, data, cpuIndex));
  }
}

export { NoProcessError } from './process-table.js';
export type { ForkMode, FramePurpose, KernelOptions, SwapDeviceInfo, SwapOnOptions };
