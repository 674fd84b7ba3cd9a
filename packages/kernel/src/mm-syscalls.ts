/**
 * The syscall facade for address spaces: mmap, munmap, mprotect, mremap and brk with Linux's
 * semantics, flag values and errnos (mm/mmap.c, mm/mprotect.c, mm/mremap.c), including the order
 * in which Linux checks its arguments: the first check that fails names the errno. Each call
 * either completes or returns an errno with nothing changed.
 *
 * Bad values from plain JavaScript (NaN, strings, symbols for a flag word) are EINVAL results, as
 * the kernel would answer a garbage register; a bad address type is a typed `MmError`.
 */
import { type AddressInput, hex, vaOf } from '@mmkit/core';
import type { KernelContext } from './context.js';
import { populateRange } from './fault.js';
import { futureLock, mlockFutureOk, mmPopulate, populateLocked } from './mlock.js';
import { FrameState } from './page-allocator.js';
import type { Process } from './process.js';
import { allocSlowPath } from './slow-path.js';
import {
  checkedAddress,
  fail,
  MAP,
  MREMAP,
  ok,
  PROT,
  protString,
  type SysResult,
  showValue,
} from './syscalls.js';
import { anonVma, isCowVma, SharedObject, type VmaValue, vmaWith } from './vma.js';

/** Extra options of mmap (mmkit's, beyond the POSIX arguments). */
export interface MmapOptions {
  /** Name shown in /proc/PID/maps (anonymous memory: `[anon:name]`). */
  readonly name?: string;
  /** Map this physical address (device memory, a framebuffer) instead of anonymous memory. */
  readonly physical?: number;
  /** Memory type of the mapping (default: normal write-back, or device for physical mappings). */
  readonly memoryType?: VmaValue['memoryType'];
}

const KNOWN_MAP_FLAGS =
  MAP.SHARED |
  MAP.PRIVATE |
  MAP.FIXED |
  MAP.ANONYMOUS |
  MAP.GROWSDOWN |
  MAP.POPULATE |
  MAP.HUGETLB |
  MAP.FIXED_NOREPLACE;

/** Page number of the top of the mmap area: 128 MiB below the stack guard (Linux leaves a gap below the stack). */
function mmapTopVpn(k: KernelContext, proc: Process): number {
  const gapPages = Math.floor((128 * 1024 * 1024) / k.bounds.pageBytes);
  return Math.max(k.bounds.mmapMinVpn, proc.space.vpn.guard - gapPages);
}

function isProt(prot: unknown): prot is number {
  return typeof prot === 'number' && Number.isInteger(prot) && prot >= 0 && (prot & ~7) === 0;
}

/**
 * mmap(2) for anonymous memory (private or shared) and, with `opts.physical`, physical/device
 * ranges. Linux's order: EINVAL for length 0, unknown flags or not exactly one of
 * MAP_SHARED/MAP_PRIVATE; ENOMEM for a length past the user space; with MAP_FIXED, ENOMEM for a
 * range past the user space before EINVAL for an unaligned address (get_unmapped_area checks the
 * range first), then EPERM for a fixed address below `mmap_min_addr` (`cap_mmap_addr`: processes
 * are unprivileged). A hint is rounded down to a page and raised to `mmap_min_addr`
 * (`KernelOptions.mmapMinAddr`); it is used when the range there is free, else placement is
 * top-down below the stack gap. MAP_POPULATE faults everything in that memory allows (Linux
 * `vm_mmap_pgoff` → `mm_populate`, result ignored: running out of memory while populating is not
 * an mmap error); MAP_HUGETLB uses huge leaves where whole aligned ones fit. Lazy demand-zero by
 * default. On failure nothing changed.
 */
export function mmap(
  k: KernelContext,
  proc: Process,
  addr: AddressInput,
  length: AddressInput,
  prot: number,
  flags: number,
  opts: MmapOptions = {},
): SysResult<bigint> {
  const space = k.live(proc).space;
  if (opts === null || typeof opts !== 'object')
    return fail('EINVAL', `options ${showValue(opts)}: an object or undefined`);
  const { userEndVpn, mmapMinVpn, pageBytes } = k.bounds;
  if (!isProt(prot))
    return fail('EINVAL', `prot ${showValue(prot)}: only PROT_READ|PROT_WRITE|PROT_EXEC bits`);
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags & ~KNOWN_MAP_FLAGS)
    return fail(
      'EINVAL',
      `flags ${typeof flags === 'number' && Number.isSafeInteger(flags) && flags >= 0 ? hex(flags) : showValue(flags)}: unknown bits`,
    );
  const shared = (flags & MAP.SHARED) !== 0;
  if (shared === ((flags & MAP.PRIVATE) !== 0))
    return fail('EINVAL', 'flags: exactly one of MAP_SHARED and MAP_PRIVATE');
  const physical = opts.physical;
  if (physical === undefined && !(flags & MAP.ANONYMOUS))
    return fail('EINVAL', 'flags: only MAP_ANONYMOUS or physical mappings are supported');
  // Page numbers without BigInt when both arguments are safe numbers (the common case).
  let aVpn: number;
  let aOff: number;
  let pages: number;
  if (
    typeof addr === 'number' &&
    typeof length === 'number' &&
    Number.isSafeInteger(addr) &&
    addr >= 0 &&
    Number.isSafeInteger(length) &&
    length >= 0
  ) {
    if (length === 0) return fail('EINVAL', 'length 0');
    aOff = addr % pageBytes;
    aVpn = (addr - aOff) / pageBytes;
    pages = Math.ceil(length / pageBytes);
    if (pages > userEndVpn)
      return fail('ENOMEM', `length ${hex(length)} is larger than the user address space`);
  } else {
    const a = checkedAddress(addr, 'addr');
    const len = checkedAddress(length, 'length');
    if (len === 0n) return fail('EINVAL', 'length 0');
    const page = BigInt(pageBytes);
    const pagesBig = (len + page - 1n) / page;
    if (pagesBig > BigInt(userEndVpn))
      return fail('ENOMEM', `length ${hex(len)} is larger than the user address space`);
    pages = Number(pagesBig);
    aOff = Number(a % page);
    aVpn = Number(a / page);
  }
  const fixed = (flags & (MAP.FIXED | MAP.FIXED_NOREPLACE)) !== 0;
  const huge = (flags & MAP.HUGETLB) !== 0;
  let start: number;
  if (fixed) {
    // Linux __get_unmapped_area: the range (addr > TASK_SIZE - len → ENOMEM) before the alignment.
    if (aVpn + pages > userEndVpn || (aVpn + pages === userEndVpn && aOff !== 0))
      return fail('ENOMEM', `[${hex(vaOf(aVpn, aOff))}, +${pages} pages) is outside the user address space`);
    if (aOff !== 0) return fail('EINVAL', `addr ${hex(vaOf(aVpn, aOff))} is not page aligned (MAP_FIXED)`);
    start = aVpn;
    // security_mmap_addr → cap_mmap_addr: a fixed address below vm.mmap_min_addr needs
    // CAP_SYS_RAWIO, which no simulated process has (checked after the range and alignment).
    if (start < mmapMinVpn)
      return fail(
        'EPERM',
        `addr ${hex(vaOf(aVpn))} is below mmap_min_addr ${hex(vaOf(mmapMinVpn))} (MAP_FIXED needs CAP_SYS_RAWIO there)`,
      );
    if (flags & MAP.FIXED_NOREPLACE && space.vmas.findIntersection(start, start + pages)) {
      return fail(
        'EEXIST',
        `[${hex(vaOf(aVpn))}, +${pages} pages) overlaps an existing mapping (MAP_FIXED_NOREPLACE)`,
      );
    }
  } else {
    // round_hint_to_min: the hint is rounded down to a page, and a non-null hint below
    // mmap_min_addr is raised to it.
    let hint = aVpn;
    if (hint !== 0 && hint < mmapMinVpn) hint = mmapMinVpn;
    const top = mmapTopVpn(k, proc);
    if (hint !== 0 && hint + pages <= userEndVpn && !space.vmas.findIntersection(hint, hint + pages)) {
      start = hint;
    } else {
      // Huge mappings align to the huge page; physical ones to the Contiguous-hint group (AArch64:
      // 16 pages) when the physical address allows it, so whole groups can carry the hint.
      const n = k.arch.description.capabilities.contiguousEntries;
      const align = huge
        ? k.bounds.hugePages || 1
        : physical !== undefined && n > 0 && physical % (n * pageBytes) === 0
          ? n
          : 1;
      start = space.vmas.findGap(pages, mmapMinVpn, top, {
        topDown: true,
        alignPages: pages >= align ? align : 1,
      });
      if (start < 0) return fail('ENOMEM', `no free range of ${pages} pages below ${hex(vaOf(top))}`);
    }
  }
  const end = start + pages;
  // mlockall(MCL_FUTURE): the mapping is locked; beyond RLIMIT_MEMLOCK mmap is EAGAIN (Linux
  // do_mmap → mlock_future_ok). Device and huge mappings are never locked (mmap_region).
  const lock = physical === undefined && !huge ? futureLock(space) : 'none';
  if (!mlockFutureOk(k, space, lock, pages))
    return fail('EAGAIN', `${pages} more locked pages (mlockall MCL_FUTURE) exceed RLIMIT_MEMLOCK`);
  if (physical !== undefined) {
    if (
      typeof physical !== 'number' ||
      !Number.isSafeInteger(physical) ||
      physical < 0 ||
      physical % pageBytes
    )
      return fail('EINVAL', `physical ${showValue(physical)}: a page-aligned physical address`);
    if (physical + pages * pageBytes > 2 ** k.arch.description.paBits)
      return fail('EINVAL', `physical range beyond ${k.arch.description.paBits}-bit PAs`);
    for (let i = 0; i < pages; i++) {
      const st = k.allocator.stateOf(physical + i * pageBytes);
      if (st !== undefined && st !== FrameState.RESERVED)
        return fail('EACCES', `physical ${hex(physical + i * pageBytes)} is RAM the kernel manages`);
    }
  }
  if (flags & MAP.FIXED && !space.unmapRange(start, end))
    return fail('ENOMEM', 'out of memory splitting a huge page at the range ends');
  const value: VmaValue = anonVma(prot, opts.name ?? '', {
    shared,
    kind: physical === undefined ? 'anon' : 'device',
    growsDown: (flags & MAP.GROWSDOWN) !== 0,
    huge,
    pa: physical ?? 0,
    memoryType: opts.memoryType ?? (physical === undefined ? 'normal-wb' : k.deviceMemoryType),
    shm: shared && physical === undefined ? new SharedObject(k.nextObjectId(), pages) : undefined,
    // Named anonymous memory shows as [anon:name] in /proc/PID/maps (Linux PR_SET_VMA_ANON_NAME).
    anonName: opts.name !== undefined && physical === undefined,
    lock,
  });
  space.vmas.insert(start, end, value);
  if (physical !== undefined) {
    // remap_pfn_range: the page tables of a device mapping are built now; out of memory fails
    // the mmap (the mapping goes again).
    if (!populateRange(k, space, start, end)) {
      if (!proc.alive) return fail('ENOMEM', 'out of memory while populating: killed by the OOM killer');
      space.unmapRange(start, end);
      return fail('ENOMEM', 'out of memory while populating');
    }
    space.setContiguousRuns(start, end);
  } else if ((flags & MAP.POPULATE) !== 0 || lock === 'locked') {
    // vm_mmap_pgoff → mm_populate, whose result Linux ignores: the mapping exists whatever
    // population achieved (pages it could not fault in fault in on first touch); the allocator's
    // slow path, the OOM killer included, runs per page (see mmPopulate).
    mmPopulate(k, space, start, end);
    if (!proc.alive) return fail('ENOMEM', 'out of memory while populating: killed by the OOM killer');
  }
  if (k.events.active)
    k.events.emit({
      type: 'process',
      action: 'mmap',
      pid: proc.pid,
      detail: `${hex(vaOf(start))}+${hex(pages * pageBytes)} ${protString(prot)}${shared ? ' shared' : ''}${physical !== undefined ? ` → PA ${hex(physical)}` : ''}`,
    });
  return ok(vaOf(start));
}

/**
 * Validates an (addr, length) pair of munmap/mprotect/mremap as Linux does: page-aligned addr
 * (EINVAL), non-zero length (EINVAL), and the range inside the user space (`outside`).
 */
function pageRange(
  k: KernelContext,
  addr: AddressInput,
  length: AddressInput,
  what: string,
  outside: 'EINVAL' | 'ENOMEM' = 'EINVAL',
): SysResult<[number, number]> {
  const { pageBytes, userEndVpn } = k.bounds;
  if (
    typeof addr === 'number' &&
    typeof length === 'number' &&
    Number.isSafeInteger(addr) &&
    addr >= 0 &&
    Number.isSafeInteger(length) &&
    length > 0
  ) {
    // Number fast path (no BigInt on the common case).
    if (addr % pageBytes !== 0) return fail('EINVAL', `${what}: addr ${hex(addr)} is not page aligned`);
    const s = addr / pageBytes;
    const e = s + Math.ceil(length / pageBytes);
    if (e > userEndVpn) return fail(outside, `${what}: the range leaves the user address space`);
    return ok([s, e]);
  }
  const a = checkedAddress(addr, 'addr');
  const len = checkedAddress(length, 'length');
  const page = BigInt(pageBytes);
  if (a % page !== 0n) return fail('EINVAL', `${what}: addr ${hex(a)} is not page aligned`);
  if (len === 0n) return fail('EINVAL', `${what}: length 0`);
  const end = a + ((len + page - 1n) / page) * page;
  if (end > BigInt(userEndVpn) * page)
    return fail(outside, `${what}: [${hex(a)}, ${hex(end)}) leaves the user address space`);
  return ok([Number(a / page), Number(end / page)]);
}

/** munmap(2): any range; unmapping nothing is success. */
export function munmap(
  k: KernelContext,
  proc: Process,
  addr: AddressInput,
  length: AddressInput,
): SysResult<0> {
  const space = k.live(proc).space;
  const r = pageRange(k, addr, length, 'munmap');
  if (!r.ok) return r;
  const [s, e] = r.value;
  if (!space.unmapRange(s, e)) return fail('ENOMEM', 'out of memory splitting a huge page at the range ends');
  if (k.events.active) {
    const detail = `${hex(vaOf(s))}+${hex((e - s) * k.bounds.pageBytes)}`;
    k.events.emit({ type: 'process', action: 'munmap', pid: proc.pid, detail });
  }
  return ok(0);
}

/**
 * mprotect(2): the range must be fully mapped (else ENOMEM, nothing changed); VMAs are split and
 * merged, present PTEs take the new permissions, and the TLBs are invalidated once.
 */
export function mprotect(
  k: KernelContext,
  proc: Process,
  addr: AddressInput,
  length: AddressInput,
  prot: number,
): SysResult<0> {
  const space = k.live(proc).space;
  if (!isProt(prot))
    return fail('EINVAL', `prot ${showValue(prot)}: only PROT_READ|PROT_WRITE|PROT_EXEC bits`);
  const r = pageRange(k, addr, length, 'mprotect', 'ENOMEM'); // Linux: ENOMEM outside the user range
  if (!r.ok) return r;
  const [s, e] = r.value;
  let mapped = 0;
  space.vmas.forEach(
    (v) => {
      mapped += Math.min(v.endVpn, e) - Math.max(v.startVpn, s);
    },
    s,
    e,
  );
  if (mapped !== e - s) return fail('ENOMEM', `mprotect: ${space.describeRange(s, e)} is not fully mapped`);
  if (!space.protectRange(s, e, prot)) return fail('ENOMEM', 'out of memory splitting a huge page');
  if (k.events.active) {
    const detail = `${hex(vaOf(s))}+${hex((e - s) * k.bounds.pageBytes)} ${protString(prot)}`;
    k.events.emit({ type: 'process', action: 'mprotect', pid: proc.pid, detail });
  }
  return ok(0);
}

/**
 * mremap(2): shrink in place, grow in place when the pages after the mapping are free, or with
 * MREMAP_MAYMOVE move the mapping (the frames move with it; no copy). The old range must lie in
 * one VMA (else EFAULT). On failure nothing changed.
 */
export function mremap(
  k: KernelContext,
  proc: Process,
  oldAddr: AddressInput,
  oldLength: AddressInput,
  newLength: AddressInput,
  flags = 0,
): SysResult<bigint> {
  const space = k.live(proc).space;
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags & ~MREMAP.MAYMOVE)
    return fail('EINVAL', `flags ${showValue(flags)}: only MREMAP_MAYMOVE is supported`);
  const r = pageRange(k, oldAddr, oldLength, 'mremap');
  if (!r.ok) return r;
  const [s, e] = r.value;
  const { pageBytes, userEndVpn, mmapMinVpn } = k.bounds;
  const nl = checkedAddress(newLength, 'new_length');
  if (nl === 0n) return fail('EINVAL', 'mremap: new length 0');
  const newPagesBig = (nl + BigInt(pageBytes) - 1n) / BigInt(pageBytes);
  if (newPagesBig > BigInt(userEndVpn)) return fail('ENOMEM', `mremap: new length ${hex(nl)} is too large`);
  const newPages = Number(newPagesBig);
  const vma = space.vmas.find(s);
  if (!vma || vma.endVpn < e)
    return fail('EFAULT', `mremap: ${space.describeRange(s, e)} is not inside one mapping`);
  const oldPages = e - s;
  if (newPages <= oldPages) {
    if (!space.unmapRange(s + newPages, e)) return fail('ENOMEM', 'out of memory splitting a huge page');
    return ok(vaOf(s));
  }
  const grownEnd = s + newPages;
  // In place only when the range ends where its VMA ends and the pages after it are free
  // (Linux vma_expandable); otherwise the mapping must move.
  // A locked mapping may grow only within RLIMIT_MEMLOCK (Linux vma_to_resize: EAGAIN).
  if (!mlockFutureOk(k, space, vma.value.lock, newPages - oldPages))
    return fail(
      'EAGAIN',
      `mremap: growing a locked mapping by ${newPages - oldPages} pages exceeds RLIMIT_MEMLOCK`,
    );
  if (e === vma.endVpn && grownEnd <= userEndVpn && !space.vmas.findIntersection(e, grownEnd)) {
    const d = vma.endVpn - vma.startVpn;
    const v = vma.value;
    space.vmas.insert(
      vma.endVpn,
      grownEnd,
      vmaWith(v, { pa: v.kind === 'device' ? v.pa + d * pageBytes : 0, offsetPages: v.offsetPages + d }),
    );
    // A locked mapping's new part is faulted in (Linux mremap_to/vma_expand → mm_populate).
    if (v.lock === 'locked') populateLocked(k, space, e, grownEnd, true);
    return ok(vaOf(s));
  }
  if (!(flags & MREMAP.MAYMOVE))
    return fail('ENOMEM', 'mremap: cannot grow in place and MREMAP_MAYMOVE is not set');
  const dest = space.vmas.findGap(newPages, mmapMinVpn, mmapTopVpn(k, proc), { topDown: true });
  if (dest < 0) return fail('ENOMEM', `mremap: no free range of ${newPages} pages`);
  // Atomicity: moving needs at most a few table frames per leaf table of pages; refuse first.
  // Short: the allocator's slow path (slow-path.ts: direct reclaim, then the OOM killer), as
  // Linux's move_page_tables allocates the destination's tables with GFP_PGTABLE_USER.
  const levels = k.arch.geometry.rootLevel;
  const need = (Math.ceil(oldPages / k.bounds.leafTableEntries) + 2) * levels + 1;
  while (k.allocator.availableCount < need)
    // above the min watermark's reserve (reclaim.ts)
    if (!allocSlowPath(k, proc, 'mremap')) {
      if (!proc.alive) return fail('ENOMEM', 'mremap: killed by the OOM killer');
      return fail('ENOMEM', 'mremap: out of memory for page tables');
    }
  // Moves go page by page: split huge leaves at the ends and inside.
  if (!space.splitAll(s, e)) return fail('ENOMEM', 'out of memory splitting a huge page');
  const pieceOffset = s - vma.startVpn;
  const v = vma.value;
  const moved: VmaValue = vmaWith(v, {
    pa: v.kind === 'device' ? v.pa + pieceOffset * pageBytes : 0,
    offsetPages: v.offsetPages + pieceOffset,
    // Linux copy_vma: the moved piece keeps its vm_pgoff (the old address's page number plus the
    // VMA's difference), unless the VMA has no anon_vma yet: then it takes the new address's.
    pgoffDelta: isCowVma(v) && !v.file && v.anonVmaId !== 0 ? v.pgoffDelta + s - dest : 0,
  });
  space.moveRange(s, e, dest, newPages, moved);
  if (v.lock === 'locked') populateLocked(k, space, dest + oldPages, dest + newPages, true);
  return ok(vaOf(dest));
}

/**
 * brk(2). Growing only moves the break (pages are demand-faulted); shrinking unmaps and frees the
 * pages above the new break and invalidates the TLBs, so a later grow faults in fresh zero pages.
 * A break outside [heap base, stack guard), or one that would run into another mapping, is
 * refused and the current break returned, as Linux does.
 */
export function brk(k: KernelContext, proc: Process, newBrk: AddressInput): bigint {
  const space = k.live(proc).space;
  const b = checkedAddress(newBrk, 'break');
  if (b < space.layout.heapBase || b > space.layout.stackGuardLow) return space.brk;
  const old = space.brk;
  const oldEnd = space.brkVpn;
  const page = BigInt(k.bounds.pageBytes);
  const newEnd = Number((b + page - 1n) / page);
  if (newEnd > oldEnd) {
    // Linux keeps one free page between the break and the next mapping (find_vma_intersection(…, newbrk + PAGE_SIZE)).
    if (space.vmas.findIntersection(oldEnd, newEnd + 1)) return space.brk;
    // mlockall(MCL_FUTURE): the new heap is locked and populated (Linux brk: mlock_future_ok,
    // then mm_populate).
    const lock = futureLock(space);
    if (!mlockFutureOk(k, space, lock, newEnd - oldEnd)) return space.brk;
    space.vmas.insert(oldEnd, newEnd, anonVma(PROT.READ | PROT.WRITE, '[heap]', { lock }));
    if (lock === 'locked') populateLocked(k, space, oldEnd, newEnd, true);
  } else if (newEnd < oldEnd) {
    if (!space.unmapRange(newEnd, oldEnd)) return space.brk;
  }
  space.setBrk(b);
  k.events.emit({ type: 'process', action: 'brk', pid: proc.pid, detail: `${hex(old)} → ${hex(b)}` });
  return b;
}
