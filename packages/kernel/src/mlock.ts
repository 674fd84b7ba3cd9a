/**
 * mlock(2), mlock2(2), munlock(2), mlockall(2) and munlockall(2) with Linux's semantics and errnos
 * (mm/mlock.c, `__mm_populate` in mm/gup.c). A lock change moves the range's present pages to or
 * from the unevictable list (`unevictable.ts`: Linux `mlock_vma_pages_range`).
 *
 * Ownership: the lock state lives on the VMAs (`VmaValue.lock`: Linux `VM_LOCKED` and
 * `VM_LOCKONFAULT`; changing it splits and merges VMAs exactly as mprotect does) and, for
 * `MCL_FUTURE`, in a per-address-space default (Linux `mm->def_flags`) that this module owns.
 * `VmLck` (Linux `mm->locked_vm`) is computed from the VMAs, so it cannot drift.
 *
 * Rules kept from Linux:
 * - RLIMIT_MEMLOCK (`KernelOptions.memlockLimit`): 0 without CAP_IPC_LOCK → EPERM
 *   (`can_do_mlock`); locking more than the limit (pages already locked in the range not counted
 *   twice) → ENOMEM; `MCL_FUTURE` mappings beyond it → mmap EAGAIN (`mlock_future_ok`).
 * - Device (`VM_PFNMAP`) and MAP_HUGETLB VMAs are never marked locked (`mlock_fixup`'s
 *   VM_SPECIAL/hugetlb exclusion) and never populated.
 * - Populating (`__mm_populate`) faults every page in — write faults for private writable VMAs,
 *   which also breaks copy-on-write sharing and replaces the zero page — and stops at the first
 *   failure, keeping what it faulted so far and the VMAs locked; its errors become POSIX ones
 *   (`__mlock_posix_error_return`: EFAULT → ENOMEM (a PROT_NONE VMA), ENOMEM → EAGAIN).
 * - fork does not inherit VM_LOCKED or MCL_FUTURE (`dup_mmap`, `mm_init`); exec drops both;
 *   mremap keeps the lock and populates the part a locked mapping grew by.
 */
import { type AddressInput, hex, vaOf } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { populateRange } from './fault.js';
import { checkFramePa } from './frame-marks.js';
import { FrameState } from './page-allocator.js';
import type { Process } from './process.js';
import { allocSlowPath, processOfSpace } from './slow-path.js';
import { checkedAddress, fail, ok, PROT, type SysResult, showValue } from './syscalls.js';
import { isCowVma, type VmaLock, type VmaValue, vmaWith } from './vma.js';

/** mlock2 flags (Linux). */
export const MLOCK = { ONFAULT: 0x01 } as const;

/** mlockall flags (Linux asm-generic/mman.h). */
export const MCL = { CURRENT: 1, FUTURE: 2, ONFAULT: 4 } as const;

/** MCL_FUTURE's default lock of new mappings, per address space (Linux `mm->def_flags`). */
const futureLocks = new WeakMap<AddressSpace, VmaLock>();

/** The lock new mappings of `space` get (`'none'` unless mlockall(MCL_FUTURE) is in force). */
export function futureLock(space: AddressSpace): VmaLock {
  return futureLocks.get(space) ?? 'none';
}

/** Whether mlock may mark this VMA locked (not VM_PFNMAP/VM_IO, not hugetlb: `mlock_fixup`). */
function lockable(v: VmaValue): boolean {
  return v.kind !== 'device' && !v.huge;
}

/** Whether VMA `v` is locked (VM_LOCKED): reclaim must not take its pages. */
export function isVmaLocked(v: VmaValue): boolean {
  return v.lock !== 'none';
}

/** Pages of locked VMAs in `space` (Linux `mm->locked_vm`, shown as `VmLck`). */
export function lockedPages(space: AddressSpace): number {
  let n = 0;
  space.vmas.forEach((v) => {
    if (v.value.lock !== 'none') n += v.endVpn - v.startVpn;
  });
  return n;
}

/** Pages of locked VMAs inside [s, e) (Linux `count_mm_mlocked_page_nr`). */
function lockedIn(space: AddressSpace, s: number, e: number): number {
  let n = 0;
  space.vmas.forEach(
    (v) => {
      if (v.value.lock !== 'none') n += Math.min(v.endVpn, e) - Math.max(v.startVpn, s);
    },
    s,
    e,
  );
  return n;
}

/**
 * Whether USER frame `pa` may not be reclaimed: some PTE mapping it lies in a locked VMA (Linux
 * keeps such folios on the unevictable list; `try_to_unmap_one` refuses a VM_LOCKED VMA).
 */
export function isFrameLocked(k: KernelContext, pa: number): boolean {
  checkFramePa(k, pa);
  if (k.allocator.stateOf(pa) !== FrameState.USER) return false;
  let locked = false;
  k.rmap.forEach(pa, (space, vpn) => {
    if (!locked && space.vmas.find(vpn)?.value.lock !== 'none') locked = true;
  });
  return locked;
}

/** Linux `mlock_future_ok`: may `pages` more pages be locked under the limit? */
export function mlockFutureOk(k: KernelContext, space: AddressSpace, lock: VmaLock, pages: number): boolean {
  if (lock === 'none' || k.memlock.privileged) return true;
  return lockedPages(space) + pages <= k.memlock.limitPages;
}

/**
 * mlock/munlock's (addr, len): the start rounded down to its page, the length grown by that
 * offset and rounded up (`PAGE_ALIGN(len + offset_in_page(start))`); EINVAL when the end wraps
 * (`apply_vma_lock_flags`: end < start).
 */
function lockRange(
  k: KernelContext,
  addr: AddressInput,
  length: AddressInput,
  what: string,
): SysResult<[number, number]> {
  const a = checkedAddress(addr, 'addr');
  const len = checkedAddress(length, 'length');
  const page = BigInt(k.bounds.pageBytes);
  const start = a - (a % page);
  const end = start + ((len + (a % page) + page - 1n) / page) * page;
  if (end >= 1n << 64n) return fail('EINVAL', `${what}: [${hex(a)}, +${hex(len)}) wraps around`);
  // No VMA lies at or past the user end: clamp there (keeping s < e, so the walk says ENOMEM).
  const limit = BigInt(k.bounds.userEndVpn);
  const s = start / page;
  const e = end / page;
  return ok([Number(s < limit ? s : limit), Number(e <= limit ? e : limit + (s < e ? 1n : 0n))]);
}

/**
 * Linux `apply_vma_lock_flags`: the VMA holding the start must exist (else ENOMEM, nothing
 * changed); each VMA piece in order gets `lock` (split/merge); a hole stops the walk with ENOMEM,
 * the pieces before it changed.
 */
function applyLock(
  k: KernelContext,
  space: AddressSpace,
  s: number,
  e: number,
  lock: VmaLock,
  what: string,
): SysResult<0> {
  if (s === e) return ok(0);
  if (space.vmas.find(s) === undefined) return fail('ENOMEM', `${what}: ${hex(vaOf(s))} is not mapped`);
  let at = s;
  const list: [number, number][] = [];
  space.vmas.forEach(
    (v) => {
      list.push([Math.max(v.startVpn, s), Math.min(v.endVpn, e)]);
    },
    s,
    e,
  );
  for (const [from, to] of list) {
    if (from !== at) return fail('ENOMEM', `${what}: ${space.describeRange(s, e)} is not fully mapped`);
    setLock(k, space, from, to, lock);
    at = to;
  }
  if (at < e) return fail('ENOMEM', `${what}: ${space.describeRange(s, e)} is not fully mapped`);
  return ok(0);
}

/**
 * Linux `mlock_fixup` on [from, to): sets the lock on every lockable VMA piece (split/merge); the
 * present pages move to or from the unevictable list (`mlock_vma_pages_range`: unevictable.ts).
 */
function setLock(k: KernelContext, space: AddressSpace, from: number, to: number, lock: VmaLock): void {
  space.vmas.update(from, to, (v) => (v.lock === lock || !lockable(v) ? v : vmaWith(v, { lock })));
  if (lock !== 'none') k.reclaimer.lockSeen();
  k.reclaimer.unevictable.queueRange(space, from, to);
}

/**
 * Linux `__mm_populate` over [s, e): faults in every page of every locked, lockable VMA piece
 * (MLOCK_ONFAULT ones are skipped). Returns undefined when done, or the Linux error at the first
 * failure (`EFAULT` for a PROT_NONE VMA, `ENOMEM` for out of memory); with `ignoreErrors`
 * (mlockall, MCL_FUTURE mappings) it goes on with the next VMA instead.
 */
export function populateLocked(
  k: KernelContext,
  space: AddressSpace,
  s: number,
  e: number,
  ignoreErrors: boolean,
): 'EFAULT' | 'ENOMEM' | undefined {
  const list: [number, number, VmaValue][] = [];
  space.vmas.forEach(
    (v) => {
      list.push([Math.max(v.startVpn, s), Math.min(v.endVpn, e), v.value]);
    },
    s,
    e,
  );
  const proc = processOfSpace(k, space);
  for (const [from, to, v] of list) {
    if (v.lock !== 'locked' || !lockable(v)) continue;
    const err = populateVma(k, space, from, to, v);
    // The OOM killer may have chosen this process: nothing is left to populate.
    if (err !== undefined && (!ignoreErrors || proc?.alive === false)) return err;
  }
  return undefined;
}

/**
 * Linux `mm_populate(start, len)` — `__mm_populate(start, len, ignore_errors = 1)`, which
 * `vm_mmap_pgoff` runs after an mmap with MAP_POPULATE or of a VM_LOCKED mapping and whose result
 * it ignores: every VMA piece of [s, e) in order is populated as `populate_vma_page_range` does
 * (see {@link populateVma}: write faults for private writable memory, nothing for PROT_NONE),
 * except device pieces (`VM_IO | VM_PFNMAP`) and MLOCK_ONFAULT ones (`VM_LOCKONFAULT`). Each page
 * runs the allocator's slow path (direct reclaim, then the OOM killer); a page that still cannot
 * be had ends that VMA's population (the pages faulted so far stay, the rest fault in on first
 * touch) and the next VMA is tried. Stops when the OOM killer chose the process itself.
 */
export function mmPopulate(k: KernelContext, space: AddressSpace, s: number, e: number): void {
  const list: [number, number, VmaValue][] = [];
  space.vmas.forEach(
    (v) => {
      list.push([Math.max(v.startVpn, s), Math.min(v.endVpn, e), v.value]);
    },
    s,
    e,
  );
  const proc = processOfSpace(k, space);
  for (const [from, to, v] of list) {
    if (v.kind === 'device' || v.lock === 'onfault') continue;
    populateVma(k, space, from, to, v);
    if (proc?.alive === false) return;
  }
}

/**
 * Linux `populate_vma_page_range`: a write fault per page of a private writable VMA (breaking
 * copy-on-write sharing and replacing the zero page, FOLL_WRITE), a read fault otherwise; a
 * PROT_NONE VMA is not accessible (`check_vma_flags`: EFAULT).
 */
function populateVma(
  k: KernelContext,
  space: AddressSpace,
  from: number,
  to: number,
  v: VmaValue,
): 'EFAULT' | 'ENOMEM' | undefined {
  if ((v.prot & (PROT.READ | PROT.WRITE | PROT.EXEC)) === 0) return 'EFAULT';
  const write = (v.prot & PROT.WRITE) !== 0 && isCowVma(v);
  const g = k.arch.geometry;
  for (let vpn = from; vpn < to; vpn++) {
    const ref = space.lookup(vpn);
    if (ref?.entry.kind === 'leaf') {
      if (write && !ref.entry.attrs.user.write && !breakCowOrReclaim(k, space, vpn, v)) return 'ENOMEM';
      const pages = g.entryPages[ref.level]!;
      vpn += pages - 1 - (vpn % pages);
      continue;
    }
    if (!populateRange(k, space, vpn, vpn + 1)) return 'ENOMEM';
  }
  return undefined;
}

/**
 * A write fault's copy-on-write break for population, with the allocator's slow path when the copy
 * cannot be allocated (slow-path.ts: direct reclaim, then the OOM killer; Linux's
 * `populate_vma_page_range` → `handle_mm_fault` → `do_wp_page`). False when the page cannot be
 * had (the process may have been the OOM killer's victim).
 */
function breakCowOrReclaim(k: KernelContext, space: AddressSpace, vpn: number, v: VmaValue): boolean {
  if (space.breakCow(vpn, v) !== undefined) return true;
  const proc = processOfSpace(k, space);
  if (proc === undefined) return false;
  while (allocSlowPath(k, proc, `mlock copy-on-write at ${hex(vaOf(vpn))}`)) {
    const ref = space.lookup(vpn);
    // Reclaim never takes a locked VMA's page, but a page swapped out before is faulted back in.
    if (ref?.entry.kind !== 'leaf')
      return populateRange(k, space, vpn, vpn + 1) && breakCowOrReclaim(k, space, vpn, v);
    if (ref.entry.attrs.user.write || space.breakCow(vpn, v) !== undefined) return true;
  }
  return false;
}

/** Linux `can_do_mlock`. */
function canDoMlock(k: KernelContext): boolean {
  return k.memlock.limitNonZero || k.memlock.privileged;
}

function emit(k: KernelContext, proc: Process, action: 'mlock' | 'munlock', detail: string): void {
  if (k.events.active) k.events.emit({ type: 'process', action, pid: proc.pid, detail });
}

/**
 * mlock2(2) (mlock(2) is `flags` 0). Linux `do_mlock`'s order: EINVAL for unknown flags; EPERM
 * when RLIMIT_MEMLOCK is 0 without CAP_IPC_LOCK; ENOMEM when the pages to lock (not counting ones
 * already locked in the range) would exceed the limit, nothing changed; ENOMEM for an unmapped
 * start (nothing changed) or a hole (VMAs before it locked); then populate (not with
 * MLOCK_ONFAULT): EAGAIN when memory runs out, ENOMEM for a PROT_NONE VMA — the VMAs stay
 * locked and the pages faulted so far stay.
 */
export function mlock2(
  k: KernelContext,
  proc: Process,
  addr: AddressInput,
  length: AddressInput,
  flags = 0,
): SysResult<0> {
  const space = k.live(proc).space;
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags & ~MLOCK.ONFAULT)
    return fail('EINVAL', `mlock2: flags ${showValue(flags)}: only MLOCK_ONFAULT`);
  if (!canDoMlock(k)) return fail('EPERM', 'mlock: RLIMIT_MEMLOCK is 0 and the process lacks CAP_IPC_LOCK');
  const r = lockRange(k, addr, length, 'mlock');
  if (!r.ok) return r;
  const [s, e] = r.value;
  const lock: VmaLock = flags & MLOCK.ONFAULT ? 'onfault' : 'locked';
  if (!k.memlock.privileged) {
    const locked = e - s + lockedPages(space) - lockedIn(space, s, e);
    if (locked > k.memlock.limitPages)
      return fail(
        'ENOMEM',
        `mlock: ${locked} pages would be locked, RLIMIT_MEMLOCK allows ${k.memlock.limitPages}`,
      );
  }
  const applied = applyLock(k, space, s, e, lock, 'mlock');
  emit(
    k,
    proc,
    'mlock',
    `${hex(vaOf(s))}+${hex((e - s) * k.bounds.pageBytes)}${lock === 'onfault' ? ' MLOCK_ONFAULT' : ''}${applied.ok ? '' : ` → ${applied.errno}`}`,
  );
  if (!applied.ok) return applied;
  const err = populateLocked(k, space, s, e, false);
  if (err === 'ENOMEM')
    return fail('EAGAIN', 'mlock: out of memory while faulting the pages in (those faulted so far stay)');
  if (err === 'EFAULT') return fail('ENOMEM', 'mlock: a PROT_NONE mapping cannot be faulted in');
  return ok(0);
}

/** munlock(2): clears the lock of [addr, addr + length) (ENOMEM for holes, as mlock). */
export function munlock(
  k: KernelContext,
  proc: Process,
  addr: AddressInput,
  length: AddressInput,
): SysResult<0> {
  const space = k.live(proc).space;
  const r = lockRange(k, addr, length, 'munlock');
  if (!r.ok) return r;
  const [s, e] = r.value;
  const applied = applyLock(k, space, s, e, 'none', 'munlock');
  emit(
    k,
    proc,
    'munlock',
    `${hex(vaOf(s))}+${hex((e - s) * k.bounds.pageBytes)}${applied.ok ? '' : ` → ${applied.errno}`}`,
  );
  return applied;
}

/**
 * mlockall(2). Linux's order: EINVAL for 0, unknown bits or MCL_ONFAULT alone; EPERM (as mlock);
 * with MCL_CURRENT, ENOMEM when all mapped pages exceed the limit. MCL_FUTURE makes later
 * mappings (mmap, brk) locked; MCL_CURRENT locks every VMA now and faults them in, ignoring
 * failures (`mm_populate`).
 */
export function mlockall(k: KernelContext, proc: Process, flags: number): SysResult<0> {
  const space = k.live(proc).space;
  if (
    typeof flags !== 'number' ||
    !Number.isInteger(flags) ||
    flags === 0 ||
    flags & ~(MCL.CURRENT | MCL.FUTURE | MCL.ONFAULT) ||
    flags === MCL.ONFAULT
  )
    return fail(
      'EINVAL',
      `mlockall: flags ${showValue(flags)}: MCL_CURRENT and/or MCL_FUTURE, optionally MCL_ONFAULT`,
    );
  if (!canDoMlock(k))
    return fail('EPERM', 'mlockall: RLIMIT_MEMLOCK is 0 and the process lacks CAP_IPC_LOCK');
  if (flags & MCL.CURRENT && !k.memlock.privileged && space.vmas.mappedPages > k.memlock.limitPages)
    return fail(
      'ENOMEM',
      `mlockall: ${space.vmas.mappedPages} mapped pages, RLIMIT_MEMLOCK allows ${k.memlock.limitPages}`,
    );
  const lock: VmaLock = flags & MCL.ONFAULT ? 'onfault' : 'locked';
  applyAll(k, space, flags & MCL.FUTURE ? lock : 'none', flags & MCL.CURRENT ? lock : undefined);
  emit(k, proc, 'mlock', `mlockall ${mclString(flags)}`);
  if (flags & MCL.CURRENT) populateLocked(k, space, k.bounds.userStartVpn, k.bounds.userEndVpn, true);
  if (!proc.alive) return fail('ENOMEM', 'mlockall: killed by the OOM killer while faulting the pages in');
  return ok(0);
}

/** munlockall(2): unlocks every VMA and ends MCL_FUTURE. */
export function munlockall(k: KernelContext, proc: Process): SysResult<0> {
  const space = k.live(proc).space;
  applyAll(k, space, 'none', 'none');
  emit(k, proc, 'munlock', 'munlockall');
  return ok(0);
}

/** Linux `apply_mlockall_flags`: the future default, and (when given) every VMA's lock. */
function applyAll(
  k: KernelContext,
  space: AddressSpace,
  future: VmaLock,
  current: VmaLock | undefined,
): void {
  if (future === 'none') futureLocks.delete(space);
  else {
    futureLocks.set(space, future);
    k.reclaimer.lockSeen(); // mappings made from now on are locked
  }
  if (current === undefined) return;
  const list: [number, number][] = [];
  space.vmas.forEach((v) => {
    list.push([v.startVpn, v.endVpn]);
  });
  for (const [from, to] of list) setLock(k, space, from, to, current);
}

function mclString(flags: number): string {
  const out: string[] = [];
  if (flags & MCL.CURRENT) out.push('MCL_CURRENT');
  if (flags & MCL.FUTURE) out.push('MCL_FUTURE');
  if (flags & MCL.ONFAULT) out.push('MCL_ONFAULT');
  return out.join('|');
}
