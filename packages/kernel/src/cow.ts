/**
 * Copy-on-write breaks: what a write fault on a present, read-only leaf of a private writable
 * VMA does (Linux `do_wp_page`), and the exclusivity test mprotect shares with it.
 *
 * Ownership: nothing of its own. Every function works on one {@link AddressSpace} (its tables,
 * counters and reverse-map entries) on behalf of the fault handler; `AddressSpace.breakCow` and
 * `AddressSpace.leafAttrsFor` are the entry points.
 *
 * Invariants: a break replaces exactly one leaf (or splits one huge leaf first) and moves the
 * reverse-map entries and references with it; out of memory changes nothing.
 *
 * ```
 *   write fault ─▶ breakCow ─┬─ only reference ──▶ protect in place (reuse)
 *                            ├─ zero page ───────▶ fresh zeroed frame ─┐
 *                            └─ shared frame ────▶ fresh frame, copy ──┴─▶ replaceLeaf (BBM)
 * ```
 */

import { type LeafAttributes, sameLeafAttributes, vaOf } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import { anonVmaPrepareAt } from './anon-vma.js';
import type { KernelContext } from './context.js';
import { isLazyFree } from './frame-marks.js';
import { FrameState } from './page-allocator.js';
import { keptState } from './space-ranges.js';
import { freeSwapForReuse } from './swap-cache.js';
import { invalidateUserPage } from './tlb-shootdown.js';
import type { VmaValue } from './vma.js';

/** True when each of the `pages` frames from `pa` is a USER frame with one reference (not the zero page). */
export function framesExclusive(k: KernelContext, pa: number, pages: number): boolean {
  const { allocator, bounds } = k;
  for (let i = 0; i < pages; i++) {
    const f = allocator.frameIndex(pa + i * bounds.pageBytes);
    if (f < 0 || allocator.userRefsAt(f) !== 1) return false;
  }
  return true;
}

/**
 * The leaf a fault leaves when it makes the present leaf `old` (level `level`, in VMA `vma`)
 * accessed and — for a `write` — dirty, with the permissions `next` (what the VMA allows the
 * page): Linux `wp_page_reuse` (`pte_mkyoung`, then `maybe_mkwrite(pte_mkdirty(entry))`,
 * `ptep_set_access_flags`) and the spurious-fault path of `handle_pte_fault` (`pte_mkyoung`, and
 * `pte_mkdirty` under FAULT_FLAG_WRITE). Everything else the leaf recorded is kept (core
 * `modifyLeaf`: x86 A/D, arm64 PTE_DIRTY and the software bits). A write to a page MADV_FREE
 * marked clears no mark: the dirty PTE is what reclaim sees (`try_to_unmap_one` then calls
 * `folio_set_swapbacked` and keeps the page).
 */
export function touchedLeaf(
  k: KernelContext,
  old: LeafAttributes,
  next: LeafAttributes,
  write: boolean,
): LeafAttributes {
  const made: LeafAttributes = write ? { ...old, accessed: true, dirty: true } : { ...old, accessed: true };
  return keptState(k.arch.description, made, next);
}

/**
 * Rewrites the leaf mapping `vpn` of `space` to what its VMA `vma` allows (a lazily upgraded PTE:
 * a clean shared page mprotect left read-only, Linux `can_change_pte_writable`, or a leaf mapped
 * below its VMA through the seed API) — but never makes a page shared copy-on-write (or the zero
 * page) writable: that takes {@link breakCow}. The leaf keeps its state and is made young, and
 * dirty on a `write` ({@link touchedLeaf}: Linux `do_wp_page` → `wp_page_reuse` for a shared
 * page, `handle_pte_fault`'s spurious-fault path otherwise).
 */
export function upgradeLeaf(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  vma: VmaValue,
  write = false,
): void {
  const ref = space.lookup(vpn);
  if (ref?.entry.kind !== 'leaf') return;
  // The leaf keeps its dirty state (touchedLeaf), so a swap-cache page needs no frame mark.
  const next = space.leafAttrsFor(vma, ref.level, ref.entry.pa);
  const flush = k.editor.protect({
    root: space.root,
    vpn,
    attrs: touchedLeaf(k, ref.entry.attrs, next, write && next.user.write),
    asid: space.asid,
  });
  if (flush) k.discharge(flush);
}

/**
 * A write fault on a present, read-only leaf at `vpn` of `space` in the private writable VMA
 * `vma` (Linux `do_wp_page`):
 * - the writer holds the only reference → the frame is made writable in place (`reuse`,
 *   Linux `wp_page_reuse`);
 * - the zero page → a fresh zeroed frame replaces it (`zero-fill`);
 * - a shared frame → it is copied into a fresh frame (`copy`, Linux `wp_page_copy`), the old
 *   reference dropped.
 * Replacing a live translation's output address is break-before-make (arch-facts A11; Linux
 * `ptep_clear_flush` then `set_pte_at`): clear, invalidate on every CPU, then write the new leaf.
 * A huge leaf is copied whole into a fresh aligned run (hugetlbfs, `hugetlb_wp`); when no run is
 * free it is split into pages and only the written page is copied (THP,
 * `do_huge_pmd_wp_page` → `__split_huge_pmd`).
 * Returns how it was resolved, or undefined when out of memory (nothing changed).
 */
export function breakCow(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  vma: VmaValue,
): string | undefined {
  const ref = space.lookup(vpn);
  if (ref?.entry.kind !== 'leaf') return 'spurious (no leaf)';
  const { allocator, arch, bounds, memory } = k;
  const level = ref.level;
  const pages = arch.geometry.entryPages[level]!;
  const base = vpn - (vpn % pages);
  const old = ref.entry.pa;
  const pageBytes = bounds.pageBytes;
  const zero = old === k.zeroPage;
  // wp_can_reuse_anon_folio: a swap-cache page the writer alone maps gives up its slot first.
  if (!zero && pages === 1) freeSwapForReuse(k, old);
  if (!zero && space.exclusive(old, pages)) {
    // wp_page_reuse (hugetlb_wp: set_huge_ptep_writable): young, dirty, writable, the rest kept.
    const flush = k.editor.protect({
      root: space.root,
      vpn: base,
      attrs: touchedLeaf(k, ref.entry.attrs, k.attrsFor(vma, level), true),
      asid: space.asid,
    });
    if (flush) k.discharge(flush);
    k.anonExclusive.set(old, pages); // wp_page_reuse: the page is the writer's alone (anon-exclusive.ts)
    cowEvent(k, space, 'reuse', base, old, old, pages);
    return 'COW reuse (only reference): made writable';
  }
  let pa: number;
  if (pages === 1) {
    pa = allocator.alloc('user', space.pid);
    if (pa === 0) return undefined;
    if (!zero) memory.copyFrame(pa / pageBytes, old / pageBytes);
  } else {
    pa = allocator.allocContiguous(pages, pages, 'user', space.pid);
    if (pa === 0) {
      // No aligned run: split to pages (a table per level down; the pre-check makes the split
      // and the page's copy certain to succeed) and copy only the written page.
      if (allocator.availableCount < level) return undefined; // the tables may not take the reserve
      if (!space.splitAt(vpn) || !space.splitAt(vpn + 1))
        throw new Error('kernel bug: split failed after the pre-check');
      return breakCow(k, space, vpn, vma);
    }
    for (let i = 0; i < pages; i++) memory.copyFrame(pa / pageBytes + i, old / pageBytes + i);
  }
  // wp_page_copy: maybe_mkwrite(pte_mkdirty(mk_pte(new page))), young (hugetlb_wp: make_huge_pte).
  replaceLeaf(k, space, base, level, ref.descriptorPa, old, pa, k.dirtyAttrsFor(vma, level));
  k.anonExclusive.set(pa, pages); // wp_page_copy: a new anon-exclusive page (anon-exclusive.ts)
  if (zero && vma.anonVmaId === 0) anonVmaPrepareAt(space, vpn); // wp_page_copy: anon_vma_prepare
  cowEvent(k, space, zero ? 'zero-fill' : 'copy', base, pa, old, pages);
  return zero ? 'zero page replaced by a fresh zeroed frame' : 'COW copy';
}

/** The backend whose address masks {@link maskLo} and {@link maskHi} hold (one-entry memo). */
let maskArch: unknown;
let maskLo = 0;
let maskHi = 0;

function masksOf(k: KernelContext): void {
  if (maskArch === k.arch) return;
  const d = k.arch.description;
  const low = 2 ** d.pageShift - 1;
  maskLo = (d.paBits >= 32 ? ~low : (2 ** d.paBits - 1) & ~low) >>> 0;
  maskHi = d.paBits > 32 ? 2 ** Math.min(d.paBits - 32, 32) - 1 : 0;
  maskArch = k.arch;
}

/** Bits [page shift, paBits) of a level-1 descriptor's low half: where a "template | PA" leaf keeps the PA. */
export function addressMaskLo(k: KernelContext): number {
  masksOf(k);
  return maskLo;
}

/** Bits [32, paBits) of a level-1 descriptor, as bits of its high half. */
export function addressMaskHi(k: KernelContext): number {
  masksOf(k);
  return maskHi;
}

const TWO_32 = 2 ** 32;

// One-entry memo of breakCowAt's other accepted pattern: the non-address bits (altLo, altHi) of a
// leaf found to be a form of the read-only template `altOf` (an old and/or dirty one).
let altOf: unknown;
let altLo = 0;
let altHi = 0;

/**
 * True when the level-1 descriptor (lo, hi) is the read-only leaf of `vma` in some accessed /
 * dirty state (what `keptState` makes of it is itself): a copy-on-write break treats it as it
 * treats the template.
 */
function readOnlyFormOf(k: KernelContext, vma: VmaValue, lo: number, hi: number): boolean {
  const e = k.arch.codec.decode(lo >>> 0, hi >>> 0, 1);
  if (e.kind !== 'leaf' || e.attrs.user.write) return false;
  // Its address bits must be where the template's are (the fast path reads the frame from them).
  if (e.pa !== (hi & addressMaskHi(k)) * TWO_32 + ((lo & addressMaskLo(k)) >>> 0)) return false;
  const ro = k.readOnlyAttrsFor(vma, 1);
  return sameLeafAttributes(keptState(k.arch.description, e.attrs, ro), e.attrs);
}

/**
 * {@link breakCow} for a write fault whose walk stopped at the level-1 leaf `descriptorPa`
 * (`level` is the walk's fault level): the fault's own walk is used, not walked again. When the
 * descriptor is exactly the VMA's read-only leaf ("template | PA", see leafTemplate: its address
 * bits are then the frame) and the frame is shared or the zero page, the copy (or zero-fill) is
 * done here: a fresh frame, one typed-array copy, break (clear, one-page invalidation on every
 * CPU without an obligation when nothing verifies or reports it — `invalidateUserPage`), make
 * through the writable template, the reverse map and references moved. Everything else (huge
 * leaves, reuse, other descriptors) takes {@link breakCow}. Same results as {@link breakCow}.
 */
export function breakCowAt(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  vma: VmaValue,
  level: number,
  descriptorPa: number,
): string | undefined {
  if (level !== 1 || descriptorPa <= 0) return breakCowSlow(k, space, vpn, vma);
  const templates = k.pageTemplates(vma);
  const wt = templates.writable;
  const rt = templates.readOnly;
  if (wt === undefined || rt === undefined) return breakCowSlow(k, space, vpn, vma);
  const { memory, allocator, rmap } = k;
  const wide = k.arch.description.descriptorBytes === 8;
  masksOf(k);
  const mLo = maskLo;
  const mHi = maskHi;
  // The leaf descriptor through the walker's memo of the leaf table (hint 1: the leaf level on
  // both architectures; a table is one 4 KiB frame), as the break-before-make below writes it.
  const dPfn = Math.floor(descriptorPa / 4096);
  const dOff = descriptorPa - dPfn * 4096;
  const lo = wide ? memory.readPairInFrame(dPfn, dOff, 1) : memory.read32(descriptorPa);
  const hi = wide ? memory.pairHi : 0;
  const kLo = (lo & ~mLo) >>> 0;
  const kHi = (hi & ~mHi) >>> 0;
  if ((kLo !== rt.lo || kHi !== rt.hi) && !(altOf === rt && kLo === altLo && kHi === altHi)) {
    // Not the read-only template itself: fork leaves the child's copy old and the parent's dirty
    // (copy_present_pte); any such form of the VMA's read-only leaf is broken here too.
    if (!readOnlyFormOf(k, vma, lo, hi)) return breakCowSlow(k, space, vpn, vma);
    altOf = rt;
    altLo = kLo;
    altHi = kHi;
  }
  const old = (hi & mHi) * TWO_32 + ((lo & mLo) >>> 0);
  const zero = old === k.zeroPage;
  // The old frame's table index, used for every test and update below (-1: not a pool frame).
  const oi = zero ? -1 : allocator.frameIndex(old);
  if (oi >= 0 && k.swap.frameType[oi]! >= 0) freeSwapForReuse(k, old);
  if (oi >= 0 && space.exclusiveAt(oi)) return breakCowSlow(k, space, vpn, vma); // reuse
  // The old frame's references (page-table entries, the swap cache's); this page's is dropped after the copy.
  const refs = oi >= 0 ? allocator.userRefsAt(oi) : 0;
  const pa = allocator.alloc('user', space.pid);
  if (pa === 0) return undefined;
  const ni = allocator.lastIndex; // the frame alloc() just returned
  // The bookkeeping, the break-before-make, then the copy; the old frame's reference is dropped
  // only after the copy has read it.
  const shared = refs > 0;
  if (shared) {
    // folio_remove_rmap_pte → munlock_vma_folio: an mlocked page is checked again (unevictable.ts).
    if (k.reclaimer.unevictable.active) k.reclaimer.unevictable.unmapped(oi, old);
    rmap.relinkAt(oi, ni, space, vpn); // the page's entry moves to the copy
  } else rmap.addAt(ni, space, vpn);
  k.anonExclusive.setAt(ni); // wp_page_copy: a new anon-exclusive page (anon-exclusive.ts)
  // Break-before-make (arch-facts A11; Linux ptep_clear_flush then set_pte_at): an invalid
  // descriptor is all zeros in every format; invalidate; make "template | PA".
  if (wide) {
    memory.writePairInFrame(dPfn, dOff, 0, 0, 1);
    invalidateUserPage(k, vpn, space.asid);
    memory.writePairInFrame(
      dPfn,
      dOff,
      (wt.lo | (pa >>> 0)) >>> 0,
      (wt.hi | Math.floor(pa / TWO_32)) >>> 0,
      1,
    );
  } else {
    memory.write32(descriptorPa, 0);
    invalidateUserPage(k, vpn, space.asid);
    memory.write32(descriptorPa, (wt.lo | (pa >>> 0)) >>> 0);
  }
  const pageBytes = k.bounds.pageBytes;
  if (!zero) memory.copyFrame(pa / pageBytes, old / pageBytes);
  if (shared) allocator.unrefAt(oi, old); // after the copy: the frame is read until here
  if (zero && vma.anonVmaId === 0) anonVmaPrepareAt(space, vpn); // wp_page_copy: anon_vma_prepare
  cowEvent(k, space, zero ? 'zero-fill' : 'copy', vpn, pa, old, 1);
  return zero ? 'zero page replaced by a fresh zeroed frame' : 'COW copy';
}

/**
 * {@link breakCow} with the fault's view of MADV_FREE: a page MADV_FREE made clean under software
 * dirty tracking (mapped read-only, madvise.ts) that the write makes writable and dirty again in
 * place (Linux `pte_mkdirty` on a write fault; the page stays marked, reclaim sees the dirty PTE)
 * is named so in the resolution.
 */
function breakCowSlow(k: KernelContext, space: AddressSpace, vpn: number, vma: VmaValue): string | undefined {
  const lazy = isLazyFree(k, space, vpn);
  const how = breakCow(k, space, vpn, vma);
  return lazy && how?.startsWith('COW reuse')
    ? 'software dirty: made writable and dirty (MADV_FREE page written)'
    : how;
}

/**
 * Replaces the leaf of `level` at `base` (mapping `oldPa`) by one mapping `newPa` (whose
 * reference the caller hands over), break-before-make; moves the reverse-map entries and drops
 * the old frames' references. The leaf table stays, so nothing is allocated.
 */
function replaceLeaf(
  k: KernelContext,
  space: AddressSpace,
  base: number,
  level: number,
  descriptorPa: number,
  oldPa: number,
  newPa: number,
  attrs: LeafAttributes,
): void {
  const { editor, allocator, rmap, arch, bounds } = k;
  const t = level === 1 ? k.templateFor(attrs) : undefined;
  if (t !== undefined) {
    // Fast path: the walk already found the slot. Break (an invalid descriptor is all zeros in
    // every format, as fillAbsent assumes), invalidate the page, make through the template.
    editor.writeRaw(descriptorPa, 0, 0);
    const flush = editor.newFlush({ asid: space.asid });
    flush.addPage(base);
    k.discharge(flush);
    if (!editor.fillAbsent(descriptorPa, newPa, t)) throw new Error('kernel bug: COW slot not cleared');
  } else {
    const u = editor.unmap(space.root, base, space.asid);
    if (u === undefined) throw new Error('kernel bug: COW leaf vanished');
    k.discharge(u.flush);
    const m = editor.map({
      root: space.root,
      vpn: base,
      pa: newPa,
      level,
      attrs,
      tableAttrs: arch.defaults.userTable,
      source: space.tableSource,
    });
    if (!m.ok) throw new Error(`kernel bug: COW remap failed (${m.reason})`);
  }
  const pages = arch.geometry.entryPages[level]!;
  for (let i = 0; i < pages; i++) {
    const o = oldPa + i * bounds.pageBytes;
    if (allocator.stateOf(o) === FrameState.USER) {
      if (k.reclaimer.unevictable.active) k.reclaimer.unevictable.unmapped(allocator.frameIndex(o), o);
      rmap.remove(o, space, base + i);
      allocator.unref(o);
    }
    rmap.add(newPa + i * bounds.pageBytes, space, base + i);
  }
}

/** Emits the `cow` event of `action` (when anyone listens). */
export function cowEvent(
  k: KernelContext,
  space: AddressSpace,
  action: 'zero-page' | 'zero-fill' | 'copy' | 'reuse',
  vpn: number,
  pa: number,
  fromPa: number,
  pages: number,
): void {
  const ev = k.events;
  if (ev.active)
    ev.emit({
      type: 'cow',
      action,
      pid: space.pid,
      va: vaOf(vpn),
      pa,
      fromPa,
      sizeBytes: pages * k.bounds.pageBytes,
    });
}
