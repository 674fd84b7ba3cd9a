/**
 * madvise(2) and mincore(2) with Linux's semantics, values and errnos (mm/madvise.c, mm/mincore.c),
 * for the advice that touches reclaim: MADV_DONTNEED (and MADV_DONTNEED_LOCKED), MADV_FREE,
 * MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED, and the access-pattern advice MADV_NORMAL / RANDOM /
 * SEQUENTIAL recorded on the VMA.
 *
 * Ownership: no state of its own; it sets the per-frame marks reclaim reads, which frame-marks.ts
 * keeps — *lazy free* (MADV_FREE, Linux `folio_mark_lazyfree`), *PG_dirty* (cleared by MADV_FREE)
 * and *cold* (MADV_COLD, Linux `folio_deactivate`). Page-table changes go through the {@link AddressSpace}'s own methods and the editor; every
 * flush obligation is discharged before a call returns (strict TLB mode checks it).
 *
 * Where the marks live:
 * - lazy free is a page flag of the frame (`PG_LAZYFREE` in `AnonExclusive.flags`, Linux's
 *   cleared PG_swapbacked), never a PTE bit: the leaf MADV_FREE leaves is Linux's
 *   `pte_mkold(pte_mkclean(pte))`, byte for byte. The flag is zeroed when the frame is freed (a
 *   reused frame never inherits it) and cleared where Linux calls `folio_set_swapbacked`:
 *   reclaim finding a dirty PTE or an extra reference (frame-marks.ts `tryToUnmapLazyFree`). A write after
 *   the advice clears nothing: it dirties the PTE (the hardware, or the fault's `pte_mkdirty`),
 *   and reclaim sees that. mprotect, fork and mremap keep it (the frame does not change);
 * - cold is a per-frame flag (frame-marks.ts `isColdFrame`); it holds only while no PTE mapping the frame has
 *   its accessed bit set again (Linux reclaim re-activates a referenced inactive folio).
 *
 * Dirty state is the architecture's: `LeafAttributes.dirty` is x86's D bit and AArch64's DBM/AP[2]
 * "writable-clean" state (arch-facts A10, Linux `pte_hw_dirty`), plus, on AArch64, the software
 * `PTE_DIRTY` bit in which mprotect keeps a write-protected page's dirtiness (core `isLeafDirty`,
 * Linux `pte_dirty`). A backend without hardware dirty
 * management (AArch64 with TCR_EL1.HD = 0) cannot encode a clean writable leaf: MADV_FREE maps the
 * page read-only instead (Linux arm64 `pte_mkclean` sets PTE_RDONLY), so the first write takes a
 * permission fault that makes it writable and dirty again — software dirty tracking.
 */
import { type AddressInput, hex, isLeafDirty, type LeafAttributes, vaOf } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import { PG_DIRTY, PG_LAZYFREE } from './anon-exclusive.js';
import type { KernelContext } from './context.js';
import { coldOf, isFrameDirtyIndex } from './frame-marks.js';
import { FrameState } from './page-allocator.js';
import type { Process } from './process.js';
import { forEachCachedSwapPte, pageOutRange, willneedSwapIn, zapSwapEntries } from './swap.js';
import { freeSwap } from './swap-cache.js';
import {
  checkedAddress,
  type Errno,
  fail,
  invalidArgument,
  ok,
  type SysResult,
  showValue,
} from './syscalls.js';
import { isCowVma, type ProcessVma, type VmaAdvice, type VmaValue, vmaWith } from './vma.js';

/** `advice` values of madvise(2), Linux's (asm-generic/mman-common.h). Only these are modelled. */
export const MADV = {
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  WILLNEED: 3,
  DONTNEED: 4,
  FREE: 8,
  COLD: 20,
  PAGEOUT: 21,
  DONTNEED_LOCKED: 24,
} as const;

/** The name of a modelled MADV_* value (`MADV_DONTNEED`), or undefined. */
export function madviseName(advice: number): string | undefined {
  for (const [name, v] of Object.entries(MADV)) if (v === advice) return `MADV_${name}`;
  return undefined;
}

/**
 * Other advice Linux accepts (`madvise_behavior_valid`) that mmkit does not model: EINVAL, with a
 * detail saying so (Linux would act on them).
 */
const LINUX_ONLY: Readonly<Record<number, string>> = {
  9: 'MADV_REMOVE',
  10: 'MADV_DONTFORK',
  11: 'MADV_DOFORK',
  12: 'MADV_MERGEABLE',
  13: 'MADV_UNMERGEABLE',
  14: 'MADV_HUGEPAGE',
  15: 'MADV_NOHUGEPAGE',
  16: 'MADV_DONTDUMP',
  17: 'MADV_DODUMP',
  18: 'MADV_WIPEONFORK',
  19: 'MADV_KEEPONFORK',
  22: 'MADV_POPULATE_READ',
  23: 'MADV_POPULATE_WRITE',
  25: 'MADV_COLLAPSE',
  100: 'MADV_HWPOISON',
  101: 'MADV_SOFT_OFFLINE',
};

/** The most pages one mincore vector holds here (Linux's read(2) limit, MAX_RW_COUNT, in bytes). */
const MINCORE_MAX_PAGES = 0x7fff_f000;

/**
 * Parses madvise's (addr, length) as Linux's `do_madvise` does: EINVAL for an unaligned start, a
 * length that rounds up past 2^64 (`len_in && !len`) or a range that wraps; length 0 is success
 * with nothing done (`[s, s]`). Page numbers beyond the user space are clamped to
 * `VMA_VPN_LIMIT`-safe values: no VMA lies there, so the walk reports ENOMEM.
 */
function madviseRange(
  k: KernelContext,
  addr: AddressInput,
  length: AddressInput,
): SysResult<[number, number]> {
  const a = checkedAddress(addr, 'addr');
  const len = checkedAddress(length, 'length');
  const page = BigInt(k.bounds.pageBytes);
  if (a % page !== 0n) return fail('EINVAL', `madvise: addr ${hex(a)} is not page aligned`);
  const aligned = ((len + page - 1n) / page) * page;
  if (len !== 0n && aligned >= 1n << 64n)
    return fail('EINVAL', `madvise: length ${hex(len)} overflows when rounded up to a page`);
  const end = a + aligned;
  if (end >= 1n << 64n) return fail('EINVAL', `madvise: [${hex(a)}, +${hex(aligned)}) wraps around`);
  // No VMA lies at or past the user end: clamp there (keeping s < e, so the walk says ENOMEM).
  const limit = BigInt(k.bounds.userEndVpn);
  const s = a / page;
  const e = end / page;
  return ok([Number(s < limit ? s : limit), Number(e <= limit ? e : limit + (s < e ? 1n : 0n))]);
}

/** The VMA pieces of [s, e) in order, and whether part of the range is unmapped. */
function pieces(space: AddressSpace, s: number, e: number): { list: [number, number][]; hole: boolean } {
  const list: [number, number][] = [];
  let at = s;
  let hole = false;
  space.vmas.forEach(
    (v) => {
      const from = Math.max(v.startVpn, s);
      const to = Math.min(v.endVpn, e);
      if (from > at) hole = true;
      list.push([from, to]);
      at = to;
    },
    s,
    e,
  );
  if (at < e) hole = true;
  return { list, hole };
}

/**
 * madvise(2). Linux's `do_madvise` order: EINVAL for an unknown advice, an unaligned `addr`, a
 * length that overflows; length 0 → success. Then each VMA piece of the range gets the advice in
 * address order (`madvise_walk_vmas`): an advice that refuses a VMA returns its errno at once
 * (pieces before it were already advised, as in Linux); a hole anywhere in the range is ENOMEM —
 * after the mapped parts were advised.
 *
 * | advice | what it does | refused (EINVAL) on |
 * |---|---|---|
 * | NORMAL, RANDOM, SEQUENTIAL | records the access pattern on the VMA (splits/merges it) | — |
 * | WILLNEED | anonymous memory: starts swap-in of swapped-out pages ({@link willneedSwapIn}); nothing for untouched pages | — |
 * | DONTNEED | zaps the pages: private pages read back zero, shared ones read the shared object again; frames freed (copy-on-write ones lose one reference); TLBs invalidated | locked (`VM_LOCKED`) and device (`VM_PFNMAP`) VMAs; MAP_HUGETLB: an addr not aligned to the huge page |
 * | DONTNEED_LOCKED | DONTNEED that also applies to locked VMAs | device VMAs |
 * | FREE | lazy free: private anonymous pages stay mapped with their contents, this process's PTEs made clean and old, their frames marked; pages in the swap cache or PG_dirty are skipped unless only this PTE maps them; reclaim drops a marked page unless some PTE wrote it since (frame-marks.ts `tryToUnmapLazyFree`) | anything but private anonymous memory; locked, device, MAP_HUGETLB VMAs |
 * | COLD | clears the accessed bit of each page only this process maps and marks the frame cold for reclaim (frame-marks.ts `isColdFrame`) | locked, device, MAP_HUGETLB VMAs (`can_madv_lru_vma`) |
 * | PAGEOUT | as COLD, then swaps out the pages only this process maps (swap.ts `pageOutRange`; nothing without a swap device) | as COLD |
 */
export function madvise(
  k: KernelContext,
  proc: Process,
  addr: AddressInput,
  length: AddressInput,
  advice: number,
): SysResult<0> {
  const space = k.live(proc).space;
  if (typeof advice !== 'number' || !Number.isInteger(advice) || madviseName(advice) === undefined) {
    const linux = typeof advice === 'number' ? LINUX_ONLY[advice] : undefined;
    return fail(
      'EINVAL',
      linux
        ? `madvise: ${linux} (${advice}) is valid on Linux but not modelled by mmkit`
        : `madvise: advice ${showValue(advice)} is not an MADV_* value`,
    );
  }
  const r = madviseRange(k, addr, length);
  if (!r.ok) return r;
  const [s, e] = r.value;
  if (s === e) return ok(0);
  const { list, hole } = pieces(space, s, e);
  for (const [from, to] of list) {
    const err = adviseVma(k, space, from, to, advice);
    if (err !== undefined) return emitted(k, proc, s, e, advice, err);
  }
  if (hole)
    return emitted(k, proc, s, e, advice, [
      'ENOMEM',
      `madvise: ${space.describeRange(s, e)} is not fully mapped`,
    ]);
  return emitted(k, proc, s, e, advice, undefined);
}

function emitted(
  k: KernelContext,
  proc: Process,
  s: number,
  e: number,
  advice: number,
  err: [Errno, string] | undefined,
): SysResult<0> {
  if (k.events.active) {
    const detail = `${hex(vaOf(s))}+${hex((e - s) * k.bounds.pageBytes)} ${madviseName(advice)}${err ? ` → ${err[0]}` : ''}`;
    k.events.emit({ type: 'process', action: 'madvise', pid: proc.pid, detail });
  }
  return err ? fail(err[0], err[1]) : ok(0);
}

/** Linux `can_madv_lru_vma`: not locked, not VM_PFNMAP, not hugetlb. */
function canMadvLru(v: VmaValue): boolean {
  return v.lock === 'none' && v.kind !== 'device' && !v.huge;
}

/** One VMA piece; an [errno, detail] when the VMA refuses the advice. */
function adviseVma(
  k: KernelContext,
  space: AddressSpace,
  from: number,
  to: number,
  advice: number,
): [Errno, string] | undefined {
  const vma = space.vmas.find(from)!;
  const v = vma.value;
  const where = space.describeRange(from, to);
  switch (advice) {
    case MADV.NORMAL:
    case MADV.RANDOM:
    case MADV.SEQUENTIAL: {
      // madvise_update_vma: VM_RAND_READ / VM_SEQ_READ on exactly the range (split, then merge).
      const pattern: VmaAdvice =
        advice === MADV.RANDOM ? 'random' : advice === MADV.SEQUENTIAL ? 'sequential' : 'normal';
      space.vmas.update(from, to, (val) =>
        val.advice === pattern ? val : vmaWith(val, { advice: pattern }),
      );
      return undefined;
    }
    case MADV.WILLNEED:
      // madvise_willneed: anonymous (and shmem) memory starts swap-in of swapped-out pages; pages
      // never touched are not prefaulted. A device mapping has nothing to read ahead.
      if (v.kind !== 'device') willneedSwapIn(k, space, from, to);
      return undefined;
    case MADV.DONTNEED:
    case MADV.DONTNEED_LOCKED: {
      // madvise_dontneed_free_valid_vma.
      if (v.kind === 'device') return ['EINVAL', `madvise: ${where} is a device (VM_PFNMAP) mapping`];
      let end = to;
      if (v.huge) {
        // hugetlb: the start must be huge-page aligned; the end is rounded down (Linux avoids
        // freeing a partial huge page the caller did not name).
        const hp = k.bounds.hugePages || 1;
        if (from % hp !== 0)
          return [
            'EINVAL',
            `madvise: ${hex(vaOf(from))} is not aligned to the huge page of a MAP_HUGETLB mapping`,
          ];
        end = to - (to % hp);
        if (end <= from) return undefined;
      } else if (v.lock !== 'none' && advice === MADV.DONTNEED)
        return ['EINVAL', `madvise: ${where} is locked (mlock); MADV_DONTNEED_LOCKED zaps locked pages`];
      return zap(k, space, from, end)
        ? undefined
        : ['ENOMEM', 'madvise: out of memory splitting a huge page'];
    }
    case MADV.FREE:
      if (v.kind === 'device' || v.lock !== 'none' || v.huge)
        return [
          'EINVAL',
          `madvise: ${where} is ${v.kind === 'device' ? 'a device (VM_PFNMAP)' : v.huge ? 'a MAP_HUGETLB' : 'a locked'} mapping`,
        ];
      // madvise_free_single_vma: anonymous VMAs only (MAP_SHARED anonymous memory is shmem).
      if (!isCowVma(v) || v.file)
        return [
          'EINVAL',
          `madvise: MADV_FREE needs private anonymous memory, ${where} is ${v.file ? 'file-backed' : 'shared'}`,
        ];
      lazyFree(k, space, vma, from, to);
      return undefined;
    case MADV.COLD:
    case MADV.PAGEOUT:
      if (!canMadvLru(v))
        return [
          'EINVAL',
          `madvise: ${where} is ${v.kind === 'device' ? 'a device (VM_PFNMAP)' : v.huge ? 'a MAP_HUGETLB' : 'a locked'} mapping`,
        ];
      deactivate(k, space, from, to);
      if (advice === MADV.PAGEOUT) pageOutRange(k, space, from, to);
      return undefined;
    default:
      throw new Error(`kernel bug: unhandled advice ${advice}`);
  }
}

/**
 * Zaps [from, to) (Linux `zap_page_range_single`): huge leaves straddling an end are split
 * first (false, nothing changed, when that runs out of memory), every leaf inside is cleared and
 * its frame's reference dropped, and the TLBs are invalidated once. Page tables stay.
 */
function zap(k: KernelContext, space: AddressSpace, from: number, to: number): boolean {
  if (space.root === 0) return true;
  if (!space.splitAt(from) || !space.splitAt(to)) return false;
  const cold = coldOf(k);
  const { allocator, bounds } = k;
  const flush = k.editor.newFlush({ asid: space.asid, threshold: k.flushThreshold });
  // Marks of the frames this zap frees go with them.
  k.editor.forEachLeaf({ root: space.root, startVpn: from, endVpn: to }, (l) => {
    const pages = k.arch.geometry.entryPages[l.level]!;
    for (let i = 0; i < pages; i++) {
      const f = l.pa + i * bounds.pageBytes;
      if (allocator.stateOf(f) === FrameState.USER && allocator.refCount(f) === 1)
        cold[allocator.frameIndex(f)] = 0;
    }
  });
  space.clearLeaves(from, to, flush);
  k.discharge(flush);
  return true;
}

/** The number of PTEs mapping `pa` (reverse-map entries). */
function mapCount(k: KernelContext, pa: number): number {
  return k.rmap.count(pa);
}

/**
 * MADV_FREE on [from, to) of private anonymous VMA `vma`, Linux's `madvise_free_pte_range`
 * (mm/madvise.c) for each present 4 KiB page (not the zero page: `vm_normal_folio`):
 * - a page in the swap cache or PG_dirty (frame-marks.ts) is skipped, PTE and page alike, unless
 *   this PTE is its only mapping (`folio_mapcount(folio) != folio_nr_pages(folio)` → continue):
 *   its data may be another process's only copy. When it is the only mapping, a swap-cache page
 *   gives up its slot (`folio_free_swap`; skipped when other swap PTEs still name it) and the
 *   page's PG_dirty is cleared (`folio_clear_dirty`);
 * - every other page — shared with another process by fork or not — has this PTE made old and
 *   clean when young or dirty (`clear_young_dirty_ptes`: `pte_mkold(pte_mkclean(pte))`, nothing
 *   else changes) and its frame marked lazy free (`folio_mark_lazyfree`, which leaves a page on
 *   the unevictable list alone). Another process's PTE keeps its dirty bit: reclaim finds it and
 *   makes the page swap-backed again (`try_to_unmap_one`, {@link tryToUnmapLazyFree}).
 * One TLB invalidation at the end (`tlb_remove_tlb_entries`), so the next write walks again and
 * records dirtiness.
 */
function lazyFree(k: KernelContext, space: AddressSpace, vma: ProcessVma, from: number, to: number): void {
  if (space.root === 0) return;
  // A swapped-out page's contents are dropped: its slot is freed and the page reads zero (Linux
  // madvise_free_pte_range: free_swap_and_cache, pte_clear_not_present_full).
  if (space.swapEntries > 0) zapSwapEntries(k, space, from, to);
  const { allocator, editor } = k;
  const hwDirty = k.arch.description.capabilities.hardwareDirty;
  const swDirty = k.arch.description.capabilities.softwareDirty ?? 0;
  const leaves: { vpn: number; attrs: LeafAttributes }[] = [];
  const pas: number[] = [];
  editor.forEachLeaf({ root: space.root, startVpn: from, endVpn: to }, (l) => {
    if (l.level === 1 && l.pa !== k.zeroPage && allocator.stateOf(l.pa) === FrameState.USER) {
      leaves.push({ vpn: l.vpn, attrs: l.attrs });
      pas.push(l.pa);
    }
  });
  const flags = k.anonExclusive.flags;
  // if (folio_test_swapcache(folio) || folio_test_dirty(folio)) { mapcount != 1 → continue;
  // swap cache && !folio_free_swap → continue; folio_clear_dirty }
  for (let i = leaves.length - 1; i >= 0; i--) {
    const pa = pas[i]!;
    const f = allocator.frameIndex(pa);
    const cached = k.swap.cacheSlotOf(pa) !== undefined;
    if (!cached && !isFrameDirtyIndex(k, f)) continue;
    if (mapCount(k, pa) !== 1 || (cached && !freeSwap(k, pa))) {
      leaves.splice(i, 1);
      pas.splice(i, 1);
      continue;
    }
    flags[f] = flags[f]! & ~PG_DIRTY;
  }
  if (leaves.length === 0) return;
  const unevictable = k.reclaimer.unevictable;
  const d = k.arch.description;
  const flush = editor.newFlush({ asid: space.asid, threshold: k.flushThreshold });
  for (let i = 0; i < leaves.length; i++) {
    const a = leaves[i]!.attrs;
    const f = allocator.frameIndex(pas[i]!);
    // folio_mark_lazyfree: not for a folio on the unevictable list (another process's mlock).
    if (!unevictable.has(f)) flags[f] = flags[f]! | PG_LAZYFREE;
    if (!a.accessed && !isLeafDirty(d, a)) continue; // if (pte_young(ptent) || pte_dirty(ptent))
    // Software dirty tracking (no hardware dirty state): clean means read-only (arch-facts A10;
    // arm64 pte_mkclean sets PTE_RDONLY).
    const base = a.user.write && !hwDirty ? k.readOnlyAttrsFor(vma.value) : a;
    // pte_mkclean also clears the software dirty bit (arm64 PTE_DIRTY, which mprotect may have set).
    const attrs: LeafAttributes = { ...base, accessed: false, dirty: false, software: a.software & ~swDirty };
    const fl = editor.protect({ root: space.root, vpn: leaves[i]!.vpn, attrs, asid: space.asid });
    if (fl) flush.merge(fl);
  }
  k.discharge(flush);
}

/**
 * MADV_COLD's page walk (Linux `madvise_cold_or_pageout_pte_range`): every present page that only
 * this PTE maps ("do not interfere with other mappings") gets its accessed bit cleared
 * (`pte_mkold`, then the TLB invalidation the architecture needs to see the next access:
 * arch-facts A10/B7) and its frame the cold mark (`folio_deactivate`). The zero page and device
 * frames are skipped (`vm_normal_folio`).
 */
function deactivate(k: KernelContext, space: AddressSpace, from: number, to: number): void {
  if (space.root === 0) return;
  const { allocator, editor } = k;
  const cold = coldOf(k);
  const leaves: { vpn: number; pa: number; attrs: LeafAttributes }[] = [];
  editor.forEachLeaf({ root: space.root, startVpn: from, endVpn: to }, (l) => {
    if (l.level !== 1 || allocator.stateOf(l.pa) !== FrameState.USER || mapCount(k, l.pa) !== 1) return;
    leaves.push({ vpn: l.vpn, pa: l.pa, attrs: l.attrs });
  });
  if (leaves.length === 0) return;
  const flush = editor.newFlush({ asid: space.asid, threshold: k.flushThreshold });
  for (const l of leaves) {
    cold[allocator.frameIndex(l.pa)] = 1;
    k.reclaimer.deactivate(l.pa); // reclaim takes it first (reclaim.ts)
    if (!l.attrs.accessed) continue;
    const f = editor.protect({
      root: space.root,
      vpn: l.vpn,
      attrs: { ...l.attrs, accessed: false },
      asid: space.asid,
    });
    if (f) flush.merge(f);
  }
  k.discharge(flush);
}

/**
 * mincore(2) (Linux mm/mincore.c): one byte per page of [addr, addr + length), bit 0 set when the
 * page is resident. EINVAL for an unaligned `addr`; ENOMEM when the range leaves the user space
 * (`access_ok`) or any page of it is unmapped (`do_mincore`: no VMA). Length 0 → an empty vector.
 * @throws InvalidArgumentError for a mapped range of more than 0x7FFF_F000 pages (a vector
 *   that large is not built).
 * A present PTE is resident (the zero page too); a swap PTE only when its page is in the swap
 * cache (Linux `mincore_swap`); an absent PTE of a MAP_SHARED anonymous mapping is resident when
 * the shared object holds the page (shmem's page cache, `mincore_page`); a device mapping
 * (VM_PFNMAP) reports 0 (`walk_page_test` treats it as a hole).
 */
export function mincore(
  k: KernelContext,
  proc: Process,
  addr: AddressInput,
  length: AddressInput,
): SysResult<Uint8Array> {
  const space = k.live(proc).space;
  const a = checkedAddress(addr, 'addr');
  const len = checkedAddress(length, 'length');
  const page = BigInt(k.bounds.pageBytes);
  if (a % page !== 0n) return fail('EINVAL', `mincore: addr ${hex(a)} is not page aligned`);
  const userEnd = BigInt(k.bounds.userEndVpn) * page;
  if (a + len > userEnd || a > userEnd)
    return fail('ENOMEM', `mincore: [${hex(a)}, +${hex(len)}) leaves the user address space`);
  const s = Number(a / page);
  const pages = Number((len + page - 1n) / page);
  const e = s + pages;
  // do_mincore: every page needs a VMA (ENOMEM at the first that has none).
  const covering: ProcessVma[] = [];
  let at = s;
  space.vmas.forEach(
    (v) => {
      if (v.startVpn <= at) at = Math.min(v.endVpn, e);
      covering.push(v);
    },
    s,
    e,
  );
  if (at < e) return fail('ENOMEM', `mincore: ${space.describeRange(s, e)} is not fully mapped`);
  if (pages > MINCORE_MAX_PAGES)
    throw invalidArgument('length', hex(len), `at most ${MINCORE_MAX_PAGES} pages for one mincore vector`);
  const vec = new Uint8Array(pages);
  for (const v of covering) residency(k, space, v, Math.max(v.startVpn, s), Math.min(v.endVpn, e), vec, s);
  return ok(vec);
}

function residency(
  k: KernelContext,
  space: AddressSpace,
  vma: ProcessVma,
  from: number,
  to: number,
  vec: Uint8Array,
  base: number,
): void {
  const v = vma.value;
  // A device (VM_PFNMAP) mapping: Linux's walk_page_test treats the whole VMA as a hole, and
  // mincore_unmapped_range asks the device file's page cache, which holds nothing: 0.
  if (v.kind === 'device') return;
  if (v.shm) {
    for (let vpn = from; vpn < to; vpn++)
      if (v.shm.pages.has(v.offsetPages + (vpn - vma.startVpn))) vec[vpn - base] = 1;
  }
  if (space.root === 0) return;
  const g = k.arch.geometry;
  k.editor.forEachLeaf({ root: space.root, startVpn: from, endVpn: to }, (l) => {
    const lo = Math.max(l.vpn, from);
    const hi = Math.min(l.vpn + g.entryPages[l.level]!, to);
    for (let vpn = lo; vpn < hi; vpn++) vec[vpn - base] = 1;
  });
  forEachCachedSwapPte(k, space, from, to, (vpn) => {
    vec[vpn - base] = 1;
  });
}
