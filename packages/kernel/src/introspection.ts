/**
 * What the kernel's introspection calls check and compute (the thin {@link Kernel} methods
 * `paToKva`, `kvaToPa`, `memoryStats`, `frameReferenced`, `pageReferenced`, `workingSet`, …
 * delegate here): the linear-map address conversions, a process's memory figures, and the
 * typed argument checks of physical and user addresses and of processes that may have ended.
 */
import { type AddressInput, hex } from '@mmkit/core';
import type { KernelContext } from './context.js';
import { lockedPages } from './mlock.js';
import type { Process } from './process.js';
import { checkedAddress, invalidArgument } from './syscalls.js';

/** `pa` when it is a non-negative safe integer. @throws InvalidArgumentError */
export function checkedPa(pa: number): number {
  if (typeof pa !== 'number' || !Number.isSafeInteger(pa) || pa < 0)
    throw invalidArgument('physical address', pa, 'a non-negative safe integer');
  return pa;
}

/** Kernel virtual address of a physical address in the linear map. @throws InvalidArgumentError */
export function paToKva(k: Pick<KernelContext, 'linearMapBase'>, pa: number): bigint {
  return k.linearMapBase + BigInt(checkedPa(pa));
}

/** Physical address of a linear-map kernel virtual address. @throws InvalidArgumentError outside the linear map. */
export function kvaToPa(k: Pick<KernelContext, 'linearMapBase'>, kva: AddressInput): number {
  const v = checkedAddress(kva, 'kernel virtual address');
  if (v < k.linearMapBase)
    throw invalidArgument('kernel virtual address', hex(v), 'an address in the linear map');
  return Number(v - k.linearMapBase);
}

/** The page number of user address `va`. @throws InvalidArgumentError outside the user half. */
export function userVpn(k: Pick<KernelContext, 'arch' | 'bounds'>, va: AddressInput): number {
  const v = checkedAddress(va, 'user address');
  const vpn = Number(v >> BigInt(k.arch.geometry.pageShift));
  if (vpn < k.bounds.userStartVpn || vpn >= k.bounds.userEndVpn)
    throw invalidArgument('user address', hex(v), 'an address in the user half');
  return vpn;
}

/** What looks a process up, alive or ended (the kernel). */
export interface ProcessLookup {
  process(pid: number): Process;
  live(proc: Process): Process;
}

/** `proc` if this kernel knows it (alive or ended). @throws NoProcessError */
export function knownProcess(k: ProcessLookup, proc: Process): Process {
  const p = k.process(typeof proc === 'object' && proc !== null ? proc.pid : -1);
  if (p !== proc) k.live(proc); // a process of another kernel: the live check names it
  return p;
}

/** A process's memory figures (see `Kernel.memoryStats`). */
export interface MemoryStats {
  rssPages: number;
  vszBytes: bigint;
  pageTablePages: number;
  lockedPages: number;
}

/**
 * RSS (pages), VSZ (bytes of all VMAs), page-table pages and locked pages (`VmLck` of
 * /proc/PID/status: the pages of mlocked VMAs) of live process `proc`. RSS is Linux's
 * `get_mm_rss` (`VmRSS`, statm's resident): MM_ANONPAGES + MM_FILEPAGES + MM_SHMEMPAGES, which
 * the PTE of the shared zero page or of device memory never increments (`vm_normal_page` is NULL
 * for a special PTE: no rss counter in `do_anonymous_page`'s zero-page path, `remap_pfn_range`,
 * `copy_present_pte`) — the same count as the OOM killer's badness (oom-kill.ts `rssOf`), not
 * the pages the page tables map (`residentPages`). O(1): `Process.rssPages`, the reverse map's
 * count of the space's entries (`rssOf`'s walk of every leaf is left to the OOM report, which
 * needs the anon/file/shmem split).
 */
export function memoryStats(k: KernelContext, proc: Process): MemoryStats {
  const s = proc.space;
  return {
    rssPages: proc.rssPages,
    vszBytes: BigInt(s.vmas.mappedPages) * BigInt(k.bounds.pageBytes),
    pageTablePages: s.tablePages,
    lockedPages: lockedPages(s),
  };
}
