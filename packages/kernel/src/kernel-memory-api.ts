/**
 * The memory-management calls of the `Kernel` facade, each a thin, checked delegation to
 * the module that implements it: the seed-compatible page API (`seed-api.ts`), fork, exec and
 * spawn (`fork-exec.ts`), the memory syscalls (`mm-syscalls.ts`, `madvise.ts`, `mlock.ts`) and
 * swap and reclaim (`swap.ts`, `reclaim.ts`). Every call ends with `settled` (kswapd, strict
 * mode's flush check).
 */
import type { AddressInput, LeafAttributes, PageTableEditor } from '@mmkit/core';
import type { PolicyState } from '@mmkit/replay/policies';
import type { MapOutcome } from './address-space.js';
import {
  type ExecProgram,
  exec,
  fork,
  type ProgramImage,
  type SpawnArgs,
  spawn,
  spawnElf,
} from './fork-exec.js';
import { discardLazyFree, isColdFrame } from './frame-marks.js';
import { KernelCore } from './kernel-core.js';
import type { KernelOptions } from './kernel-options.js';
import { madvise, mincore } from './madvise.js';
import { isFrameLocked, mlock2, mlockall, munlock, munlockall } from './mlock.js';
import { brk, type MmapOptions, mmap, mprotect, mremap, munmap } from './mm-syscalls.js';
import type { Process } from './process.js';
import type { ReclaimPolicyName, VmStat, Watermarks } from './reclaim.js';
import { allocateUserPage, lookupUser, mapUserPage, unmapUserRange } from './seed-api.js';
import { reclaim, type SwapDeviceInfo, type SwapOnOptions, swapoff, swapon } from './swap.js';
import { type SwapSlots, swapSlots } from './swap-view.js';
import type { SysResult } from './syscalls.js';

/** The memory-management calls of `Kernel` (see the module documentation). */
export abstract class KernelMemoryApi extends KernelCore {
  // -------------------------------------------------------------------------
  // The seed-compatible page API (seed 000's map_page, allocate_user_page, lookup, unmap)

  /**
   * Maps user page `va` to frame `pa` with `attrs`, building missing tables (and the root).
   * On failure nothing changes. The frame's reference is the caller's.
   */
  mapPage(proc: Process, va: AddressInput, pa: number, attrs: LeafAttributes): MapOutcome {
    return this.settled(mapUserPage(this, proc, va, pa, attrs));
  }

  /**
   * Allocates a zeroed frame and maps it at user page `va`. Returns the frame's kernel virtual
   * address (linear map), or 0 when out of memory; nothing is left allocated then.
   */
  allocateUserPage(proc: Process, va: AddressInput, attrs: LeafAttributes): bigint {
    return this.settled(allocateUserPage(this, proc, va, attrs));
  }

  /**
   * The entry on `va`'s walk where it stops: level 1 with an absent entry means the tables exist
   * but the page is not mapped; a higher level means a table is missing. Undefined without a root.
   */
  lookup(proc: Process, va: AddressInput): ReturnType<PageTableEditor['lookup']> | undefined {
    return lookupUser(this, proc, va);
  }

  /**
   * Unmaps every user page whose address lies in [start, end) (seed semantics), frees the frames
   * and invalidates the TLBs once. Page-table pages are kept. Returns the pages unmapped.
   */
  unmapUserRange(proc: Process, start: AddressInput, end: AddressInput): number {
    return this.settled(unmapUserRange(this, proc, start, end));
  }

  // -------------------------------------------------------------------------
  // fork, exec, spawn

  /** Spawns a process from a simple program image (text r-x, data rw-, one stack page). */
  spawn(image: ProgramImage): { ok: true; process: Process } | { ok: false; errno: 'ENOMEM' } {
    return this.settled(spawn(this, image));
  }

  /** Spawns a process from a static ELF64 executable (see {@link exec}). */
  spawnElf(elf: Uint8Array, args: SpawnArgs = {}): SysResult<Process> {
    return this.settled(spawnElf(this, elf, args));
  }

  /**
   * fork: the child gets a clone of the parent's address space (layout, break, entry point, VMAs;
   * private pages copied, shared pages shared). ENOMEM leaves nothing behind.
   */
  fork(parent: Process): { ok: true; process: Process } | { ok: false; errno: 'ENOMEM' } {
    return this.settled(fork(this, parent));
  }

  /**
   * exec: builds a new address space for the program, then swaps it in and frees the old one; a
   * failed exec leaves the process exactly as it was.
   */
  exec(proc: Process, program: ExecProgram): SysResult<0> {
    return this.settled(exec(this, proc, program));
  }

  // -------------------------------------------------------------------------
  // The syscall facade

  /** brk(2); see `mm-syscalls.ts`. */
  brk(proc: Process, newBrk: AddressInput): bigint {
    return this.settled(brk(this, proc, newBrk));
  }

  /** mmap(2); see `mm-syscalls.ts`. */
  mmap(
    proc: Process,
    addr: AddressInput,
    length: AddressInput,
    prot: number,
    flags: number,
    opts: MmapOptions = {},
  ): SysResult<bigint> {
    return this.settled(mmap(this, proc, addr, length, prot, flags, opts));
  }

  /** munmap(2); see `mm-syscalls.ts`. */
  munmap(proc: Process, addr: AddressInput, length: AddressInput): SysResult<0> {
    return this.settled(munmap(this, proc, addr, length));
  }

  /** mprotect(2); see `mm-syscalls.ts`. */
  mprotect(proc: Process, addr: AddressInput, length: AddressInput, prot: number): SysResult<0> {
    return this.settled(mprotect(this, proc, addr, length, prot));
  }

  /** mremap(2); see `mm-syscalls.ts`. */
  mremap(
    proc: Process,
    oldAddr: AddressInput,
    oldLength: AddressInput,
    newLength: AddressInput,
    flags = 0,
  ): SysResult<bigint> {
    return this.settled(mremap(this, proc, oldAddr, oldLength, newLength, flags));
  }

  /** madvise(2); see `madvise.ts` (DONTNEED, FREE, COLD, PAGEOUT, WILLNEED, NORMAL/RANDOM/SEQUENTIAL). */
  madvise(proc: Process, addr: AddressInput, length: AddressInput, advice: number): SysResult<0> {
    return this.settled(madvise(this, proc, addr, length, advice));
  }

  /** mincore(2): one byte per page, bit 0 = resident; see `madvise.ts`. */
  mincore(proc: Process, addr: AddressInput, length: AddressInput): SysResult<Uint8Array> {
    return this.settled(mincore(this, proc, addr, length));
  }

  /** mlock(2); see `mlock.ts`. */
  mlock(proc: Process, addr: AddressInput, length: AddressInput): SysResult<0> {
    return this.settled(mlock2(this, proc, addr, length, 0));
  }

  /** mlock2(2) with `MLOCK.ONFAULT`; see `mlock.ts`. */
  mlock2(proc: Process, addr: AddressInput, length: AddressInput, flags: number): SysResult<0> {
    return this.settled(mlock2(this, proc, addr, length, flags));
  }

  /** munlock(2); see `mlock.ts`. */
  munlock(proc: Process, addr: AddressInput, length: AddressInput): SysResult<0> {
    return this.settled(munlock(this, proc, addr, length));
  }

  /** mlockall(2) with `MCL.*` flags; see `mlock.ts`. */
  mlockall(proc: Process, flags: number): SysResult<0> {
    return this.settled(mlockall(this, proc, flags));
  }

  /** munlockall(2); see `mlock.ts`. */
  munlockall(proc: Process): SysResult<0> {
    return this.settled(munlockall(this, proc));
  }

  // -------------------------------------------------------------------------
  // What reclaim asks (frame-marks.ts, mlock.ts)

  /**
   * Reclaim's unmap of USER frame `pa` if MADV_FREE made it lazily free: dropped when no PTE
   * mapping it was written since (the next read of those pages sees zeros) — true; made
   * swap-backed again (and PG_dirty when a PTE was dirty) when one was — false. See
   * `tryToUnmapLazyFree` in `frame-marks.ts`.
   */
  discardLazyFree(pa: number): boolean {
    return this.settled(discardLazyFree(this, pa));
  }

  /** Whether USER frame `pa` was marked cold by MADV_COLD/PAGEOUT and not accessed since. */
  isColdFrame(pa: number): boolean {
    return isColdFrame(this, pa);
  }

  /** Whether USER frame `pa` is mapped in a locked (mlock) VMA: reclaim must skip it. */
  isFrameLocked(pa: number): boolean {
    return isFrameLocked(this, pa);
  }

  // -------------------------------------------------------------------------
  // Swap

  /**
   * swapon: adds a swap device of `pages` pages (slot 0 is the header), with an optional priority
   * (0 … 32767; higher is used first, equal ones round-robin) and name. Returns its description;
   * its `type` is Linux's `swp_type`, the type field of its swap PTEs. EPERM when 23 devices
   * (MAX_SWAPFILES) are active. See `swap.ts`.
   * @throws InvalidArgumentError for bad options, or a backend without `arch.swap`.
   */
  swapon(options: SwapOnOptions): SysResult<SwapDeviceInfo> {
    const r = swapon(this, options);
    if (r.ok) this.reclaimer.activate(); // the replacement policy starts tracking frames
    return this.settled(r);
  }

  /**
   * swapoff: brings every page of device `type` back into memory (Linux `try_to_unuse`) and
   * removes it. ENOMEM with nothing changed when memory cannot hold them; EINVAL for no such device.
   * @throws InvalidArgumentError unless `type` is an integer from 0 to 31.
   */
  swapoff(type: number): SysResult<0> {
    return this.settled(swapoff(this, type));
  }

  /** Usage of every active swap device, by type (`/proc/swaps`). */
  get swapDevices(): readonly SwapDeviceInfo[] {
    return this.swap.infos();
  }

  /**
   * The slots in use on swap device `type` — each with its count of swap PTEs, its swap-cache
   * flag and frame, and which process and page each swap PTE belongs to — or undefined when no
   * active device has that type. A read-only snapshot (see `swap-view.ts`).
   * @throws InvalidArgumentError unless `type` is an integer from 0 to 31.
   */
  swapSlots(type: number): SwapSlots | undefined {
    return swapSlots(this, type);
  }

  /**
   * Swaps out up to `pages` frames of private anonymous memory and returns how many were freed.
   * The victims are the replacement policy's ({@link KernelOptions.reclaimPolicy}; see
   * `reclaim.ts`). 0 without a swap device.
   * @throws InvalidArgumentError unless `pages` is a non-negative integer.
   */
  reclaim(pages: number): number {
    return this.settled(reclaim(this, pages));
  }

  /**
   * The page allocator's watermarks in pages (Linux `min_free_kbytes`-derived defaults, or the
   * `watermarks` option): kswapd wakes below `low` and reclaims up to `high`; while a swap
   * device is on, user and page-table allocations leave `min` frames free (the reserve: one that
   * would take them reclaims directly first). See `reclaim.ts`.
   */
  get watermarks(): Watermarks {
    return this.reclaimer.watermarks;
  }

  /** The replacement policy reclaim uses (see {@link KernelOptions.reclaimPolicy}). */
  get reclaimPolicy(): ReclaimPolicyName {
    return this.reclaimer.policyName;
  }

  /**
   * The reclaim policy's state for teaching (the playground's Swap view): `@mmkit/replay`'s
   * `PolicyState` with its keys as physical frame addresses — the resident USER frames in
   * eviction order, the clock hand, the referenced bits, the lists (ARC's and 2Q's ghost entries
   * as −(type × 2^32 + offset) of the swap slot their page went to) — or undefined before the
   * first swapon (no policy exists yet). mlocked frames are not in it (the unevictable list).
   * Allocates; a snapshot.
   */
  reclaimPolicyState(): PolicyState | undefined {
    return this.reclaimer.policyState();
  }

  /** Reclaim and swap counters, as Linux's /proc/vmstat names them (a snapshot). */
  get vmstat(): VmStat {
    return this.reclaimer.vmstat();
  }

  /**
   * Runs kswapd now if it is awake (woken by an allocation at or below the low watermark, or free
   * frames below it; a swap device on): it reclaims until free frames reach the high watermark or
   * nothing more can be reclaimed (see `kswapd.ts`).
   * Returns the frames freed. The kernel also runs it at the end of every kernel call.
   */
  runKswapd(): number {
    return this.settled(this.reclaimer.kswapd());
  }
}
