/**
 * One user address space: its VMAs, root table and ASID binding, break and layout, counters, and
 * every change to its page tables.
 *
 * Ownership: an `AddressSpace` owns its VMA tree, its root table and every table below it in the
 * user half, and one reference on every user frame its leaves map (device frames are not
 * counted). Nothing else writes its tables: the syscall facade, the fault handler, fork and exec
 * all go through these methods. A {@link Process} holds one; fork is {@link clone}, exec builds a
 * new one and swaps it in.
 *
 * Invariants (proved by `audit()`): `residentPages` is the number of pages its leaves map;
 * `rssPages` (its reverse-map entries) the number of those that map USER frames; `tablePages` the
 * number of its table frames (root included); every present leaf lies inside
 * one VMA and grants no more than the VMA allows; a failed operation changes nothing.
 *
 * ```
 *  layout.textBase … dataBase … heapBase ──[heap]──▶ brk        (grows up with brk())
 *                                      …  mmap area (top-down below the stack gap)  …
 *  stackGuardLow ── stackLow ──[stack]── stackTop                (grows down on faults)
 * ```
 */
import {
  type FlushObligation,
  type FrameSource,
  hex,
  type LeafAttributes,
  type LeafTemplate,
  type NeutralEntry,
  vaOf,
} from '@mmkit/core';
import { PG_ANON_EXCLUSIVE } from './anon-exclusive.js';
import type { KernelContext } from './context.js';
import { breakCow, cowEvent, framesExclusive, upgradeLeaf } from './cow.js';
import { copyIntoChild } from './fork-copy.js';
import type { SimpleLayout } from './layout.js';
import { FrameState } from './page-allocator.js';
import * as ranges from './space-ranges.js';
import { zapSwapEntries } from './swap.js';
import { checkLeafAttributes, PROT } from './syscalls.js';
import { anonVma, createVmaTree, isCowVma, type SharedObject, type VmaValue } from './vma.js';
import type { VmaTree } from './vma-tree.js';
import { releaseLeafFrames, zapLeafTables } from './zap.js';

/** Result of mapping operations that can run out of memory. */
export type MapOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'no-memory' | 'already-mapped' };

/** Layout boundaries as page numbers (hot-path copies of the layout). */
export interface LayoutVpns {
  readonly text: number;
  readonly data: number;
  readonly heap: number;
  readonly guard: number;
  readonly stackLow: number;
  readonly stackTop: number;
}

function layoutVpns(layout: SimpleLayout, pageShift: bigint): LayoutVpns {
  const v = (a: bigint) => Number(a >> pageShift);
  return {
    text: v(layout.textBase),
    data: v(layout.dataBase),
    heap: v(layout.heapBase),
    guard: v(layout.stackGuardLow),
    stackLow: v(layout.stackLow),
    stackTop: v(layout.stackTop),
  };
}

/** Short permission string of leaf attributes: `user rw- kernel rw- normal-wb`. */
export function describeAttrs(a: LeafAttributes): string {
  checkLeafAttributes('attrs', a);
  const f = (p: { read: boolean; write: boolean; execute: boolean }) =>
    `${p.read ? 'r' : '-'}${p.write ? 'w' : '-'}${p.execute ? 'x' : '-'}`;
  return `user ${f(a.user)} kernel ${f(a.kernel)} ${a.memoryType}${a.global ? ' global' : ''}`;
}

/** See the module documentation. Fields are maintained by the space itself; read them only. */
export class AddressSpace {
  /** Physical address of the root table, 0 until the first mapping (allocated lazily). */
  root = 0;
  /** The VMAs. */
  readonly vmas: VmaTree<VmaValue> = createVmaTree();
  /** User pages currently mapped (huge leaves count each page). */
  residentPages = 0;
  /** Page-table frames owned (root included). */
  tablePages = 0;
  /** PTEs holding a swap entry (Linux MM_SWAPENTS): pages of this space swapped out. */
  swapEntries = 0;
  /** Region boundaries used to name faults (seed 000) and to place the heap and stack. */
  layout: SimpleLayout;
  /** {@link layout} as page numbers. */
  vpn: LayoutVpns;
  /** Program break. */
  brk: bigint;
  /** First page number past the heap (ceil(brk / page)). */
  brkVpn: number;
  /** Entry point and initial stack pointer of the loaded program (0 for none). */
  entry = 0n;
  initialSp = 0n;
  private readonly source: FrameSource;
  private readonly shift: bigint;

  constructor(
    private readonly k: KernelContext,
    /** Owner recorded in the frame table for this space's frames. */
    readonly pid: number,
    /** ASID/PCID its translations are tagged with (0 without ASIDs). */
    readonly asid: number,
    layout: SimpleLayout,
  ) {
    this.shift = BigInt(k.arch.description.pageShift);
    this.layout = layout;
    this.vpn = layoutVpns(layout, this.shift);
    this.brk = layout.heapBase;
    this.brkVpn = this.vpn.heap;
    this.source = {
      allocTable: () => {
        const pa = k.allocator.alloc('page-table', pid);
        if (pa === 0) return -1;
        this.tablePages++;
        return pa;
      },
      freeTable: (pa) => {
        k.allocator.free(pa);
        this.tablePages--;
      },
    };
  }

  /**
   * RSS in pages, as Linux's `get_mm_rss` counts it: the 4 KiB pages its leaves map to USER frames
   * (the zero page and device memory left out). O(1): this space's reverse-map entries, which
   * `audit()` proves are exactly those pages.
   */
  get rssPages(): number {
    return this.k.rmap.entriesOf(this);
  }

  /** The frame source for this space's tables. */
  get tableSource(): FrameSource {
    return this.source;
  }

  /** Sets the layout (exec of an ELF file) and resets the break to its heap base. */
  setLayout(layout: SimpleLayout): void {
    this.layout = layout;
    this.vpn = layoutVpns(layout, this.shift);
    this.brk = layout.heapBase;
    this.brkVpn = this.vpn.heap;
  }

  /** Sets the break and its page-number copy. */
  setBrk(brk: bigint): void {
    const page = BigInt(this.k.bounds.pageBytes) - 1n;
    this.brk = brk;
    this.brkVpn = Number((brk + page) >> this.shift);
  }

  // -------------------------------------------------------------------------
  // Root table

  /** Ensures the space has a root table; false when out of memory (nothing changed). */
  ensureRoot(): boolean {
    if (this.root !== 0) return true;
    const pa = this.source.allocTable(this.k.arch.geometry.rootLevel);
    if (pa < 0) return false;
    if (!this.k.arch.description.splitRoots) this.copyKernelHalf(pa);
    this.root = pa;
    for (const cpu of this.k.cpus) cpu.refreshRoot(this);
    return true;
  }

  /** Single-root formats: share the kernel half's root entries with a new user root. */
  private copyKernelHalf(rootPa: number): void {
    const { arch, editor, kernelRoot, recursiveSlot } = this.k;
    const d = arch.description;
    const g = arch.geometry;
    const per = g.entryPages[g.rootLevel]!;
    const n = d.rootTableBytes / d.descriptorBytes;
    const first = Math.floor(Number(d.kernelRange.start >> this.shift) / per) % n;
    for (let i = first; i < n; i++) {
      if (i === recursiveSlot) continue;
      const [lo, hi] = editor.readRaw(editor.entryPa(kernelRoot, i));
      editor.writeRaw(editor.entryPa(rootPa, i), lo, hi);
    }
    if (recursiveSlot >= 0) this.k.installRecursive(rootPa);
  }

  private releaseRoot(): void {
    if (this.root === 0) return;
    const root = this.root;
    this.root = 0;
    for (const cpu of this.k.cpus) cpu.refreshRoot(this);
    this.k.memory.fill(root, this.k.bounds.pageBytes, 0);
    this.source.freeTable(root, this.k.arch.geometry.rootLevel);
  }

  // -------------------------------------------------------------------------
  // Mapping pages

  /** The entry where `vpn`'s walk stops, or undefined when there is no root yet. */
  lookup(vpn: number): { level: number; descriptorPa: number; entry: NeutralEntry } | undefined {
    return this.root === 0 ? undefined : this.k.editor.lookup(this.root, vpn);
  }

  /**
   * Maps page `vpn` to frame `pa` (a VMA must cover it), building missing tables and the root.
   * The frame's reference is the caller's. On failure nothing changes.
   */
  mapPage(vpn: number, pa: number, attrs: LeafAttributes): MapOutcome {
    const fresh = this.root === 0;
    if (!this.ensureRoot()) return { ok: false, reason: 'no-memory' };
    // A new translation replaces an absent one: nothing to invalidate, no obligation.
    const res = this.k.editor.map({
      root: this.root,
      vpn,
      pa,
      level: 1,
      attrs,
      tableAttrs: this.k.arch.defaults.userTable,
      source: this.source,
    });
    if (!res.ok) {
      if (fresh) this.releaseRoot();
      return { ok: false, reason: res.reason === 'no-memory' ? 'no-memory' : 'already-mapped' };
    }
    this.mapped(vpn, pa, 1, attrs);
    return { ok: true };
  }

  /**
   * The leaf table (level-1 entries) that covers `vpn`, made with the tables above it when
   * missing (Linux `pte_alloc`): its physical address, or 0 (nothing changed) when out of memory
   * or a huge leaf covers `vpn`. fork fills the child's leaf tables through it (fork-copy.ts).
   */
  leafTable(vpn: number): number {
    const fresh = this.root === 0;
    if (!this.ensureRoot()) return 0;
    const res = this.k.editor.ensureTable({
      root: this.root,
      vpn,
      level: 1,
      tableAttrs: this.k.arch.defaults.userTable,
      source: this.source,
    });
    if (res.ok) return res.tablePa;
    if (fresh) this.releaseRoot();
    return 0;
  }

  /**
   * Like {@link mapPage}, but a page no VMA covers gets a one-page VMA of its own (the seed's
   * `map_page`), so invariant 3 holds for raw mappings too.
   */
  mapPageCovered(vpn: number, pa: number, attrs: LeafAttributes): MapOutcome {
    const covering = this.vmas.find(vpn);
    if (!covering) {
      const prot =
        (attrs.user.read ? PROT.READ : 0) |
        (attrs.user.write ? PROT.WRITE : 0) |
        (attrs.user.execute ? PROT.EXEC : 0);
      this.vmas.insert(vpn, vpn + 1, anonVma(prot, 'mapped'));
    }
    const res = this.mapPage(vpn, pa, attrs);
    if (!res.ok && !covering) this.vmas.removeRange(vpn, vpn + 1);
    return res;
  }

  /**
   * Allocates a zeroed frame and maps it at `vpn`; returns its PA, or 0 (nothing changed) when
   * out of memory. `cover` gives an uncovered page a VMA of its own ({@link mapPageCovered}).
   */
  allocPage(vpn: number, attrs: LeafAttributes, cover = false): number {
    const pa = this.k.allocator.alloc('user', this.pid);
    if (pa === 0) return 0;
    if (!(cover ? this.mapPageCovered(vpn, pa, attrs) : this.mapPage(vpn, pa, attrs)).ok) {
      this.k.allocator.free(pa);
      return 0;
    }
    this.k.anonExclusive.set(pa); // a fresh page mapped once: folio_add_new_anon_rmap(RMAP_EXCLUSIVE)
    return pa;
  }

  /**
   * Maps a leaf of `level` (a huge page when > 1) at `vpn` to `pa`. False when out of memory or
   * the slot is taken (nothing changed); the frames' references are the caller's.
   */
  mapLeaf(vpn: number, pa: number, level: number, attrs: LeafAttributes): boolean {
    if (level === 1) return this.mapPage(vpn, pa, attrs).ok;
    const fresh = this.root === 0;
    if (!this.ensureRoot()) return false;
    const res = this.k.editor.map({
      root: this.root,
      vpn,
      pa,
      level,
      attrs,
      tableAttrs: this.k.arch.defaults.userTable,
      source: this.source,
    });
    if (!res.ok) {
      if (fresh) this.releaseRoot();
      return false;
    }
    this.mapped(vpn, pa, this.k.arch.geometry.entryPages[level]!, attrs);
    return true;
  }

  /**
   * Installs a demand-zero page for a fault whose walk stopped at the absent level-1 slot
   * `descriptorPa` (no table walk again). False when the slot is not absent or out of memory.
   */
  fillAbsentSlot(vpn: number, descriptorPa: number, template: LeafTemplate): boolean {
    const { editor, allocator } = this.k;
    const pa = allocator.alloc('user', this.pid);
    if (pa === 0) return false;
    const index = allocator.lastIndex; // the frame's table index, for the reverse map
    // fillAbsent reads the slot itself (one read per fault, not two); a slot that is no longer
    // absent (never on this single-threaded path) gives the frame back: nothing changed.
    if (!editor.fillAbsent(descriptorPa, pa, template)) {
      allocator.free(pa);
      return false;
    }
    // The frame was just allocated for the user: its reverse-map entry needs no state lookup.
    this.residentPages++;
    this.k.rmap.addAt(index, this, vpn);
    this.k.anonExclusive.flags[index] = PG_ANON_EXCLUSIVE; // a fresh frame (flags 0); do_anonymous_page: RMAP_EXCLUSIVE
    if (this.k.events.active) this.emitMap(vpn, pa, 1, this.k.anonAttrs);
    return true;
  }

  /**
   * Replaces the swap PTE at `vpn` (descriptor `descriptorPa`) by a leaf mapping `pa` (swap-in;
   * the frame's reference is the caller's). A non-present entry was never cached: no TLB
   * maintenance.
   */
  mapSwappedIn(vpn: number, descriptorPa: number, pa: number, attrs: LeafAttributes): void {
    const { editor, arch } = this.k;
    const t = this.k.templateFor(attrs);
    if (t !== undefined) {
      // "template | PA" (see leafTemplate): no encode per page.
      const wide = arch.description.descriptorBytes === 8;
      editor.writeRaw(
        descriptorPa,
        (t.lo | (pa >>> 0)) >>> 0,
        wide ? (t.hi | Math.floor(pa / 2 ** 32)) >>> 0 : 0,
      );
    } else editor.writeEntry(descriptorPa, { kind: 'leaf', pa, attrs }, 1);
    this.mapped(vpn, pa, 1, attrs);
  }

  /** Bookkeeping after pages were mapped: the resident count, the reverse map and the `map` event. */
  private mapped(vpn: number, pa: number, pages: number, attrs: LeafAttributes): void {
    this.residentPages += pages;
    const { allocator, rmap } = this.k;
    const pageBytes = this.k.bounds.pageBytes;
    const unevictable = this.k.reclaimer.unevictable;
    // Only USER frames are in the reverse map (not devices, not the zero page).
    for (let i = 0; i < pages; i++) {
      const f = pa + i * pageBytes;
      if (allocator.stateOf(f) !== FrameState.USER) continue;
      rmap.add(f, this, vpn + i);
      // Linux folio_add_*_rmap → mlock_vma_folio: the unevictable list checks it (unevictable.ts).
      if (unevictable.active) unevictable.queue(allocator.frameIndex(f), f);
    }
    if (this.k.events.active) this.emitMap(vpn, pa, pages, attrs);
  }

  private emitMap(vpn: number, pa: number, pages: number, attrs: LeafAttributes): void {
    this.k.events.emit({
      type: 'map',
      space: `pid ${this.pid}`,
      va: vaOf(vpn),
      pa,
      sizeBytes: pages * this.k.bounds.pageBytes,
      perms: describeAttrs(attrs),
    });
  }

  // -------------------------------------------------------------------------
  // Unmapping

  /**
   * Removes every leaf inside [startVpn, endVpn) in one pass, dropping the frames' references,
   * and records the pages in `flush` (the caller discharges it). Swap PTEs in the range are
   * cleared and their slots released (Linux `zap_pte_range` → `free_swap_and_cache`). Tables
   * are kept. Returns the number of leaves removed.
   */
  clearLeaves(startVpn: number, endVpn: number, flush: FlushObligation): number {
    if (this.root === 0 || endVpn <= startVpn) return 0;
    if (this.swapEntries > 0) zapSwapEntries(this.k, this, startVpn, endVpn);
    const { arch, events, bounds } = this.k;
    // Nobody listening: a leaf table at a time (zap.ts); else per leaf, with an event each.
    if (!events.active) return zapLeafTables(this.k, this, startVpn, endVpn, flush);
    const g = arch.geometry;
    const pageBytes = bounds.pageBytes;
    return this.k.editor.clearLeaves({ root: this.root, startVpn, endVpn, flush }, (leaf) => {
      const pages = g.entryPages[leaf.level]!;
      releaseLeafFrames(this.k, this, leaf.vpn, leaf.pa, pages);
      events.emit({
        type: 'unmap',
        space: `pid ${this.pid}`,
        va: vaOf(leaf.vpn),
        pa: leaf.pa,
        sizeBytes: pages * pageBytes,
      });
    });
  }

  /**
   * Unmaps the pages [startVpn, endVpn): huge leaves straddling an end are split first, the VMAs
   * are trimmed, split or removed, every leaf inside is cleared and its frames released, table
   * pages left empty between the neighbouring VMAs are freed, and the TLBs are invalidated once
   * (per page up to the flush threshold, then ASID-wide). Shared objects no VMA refers to any
   * more are released. False, with nothing changed, when a split runs out of memory.
   */
  unmapRange(startVpn: number, endVpn: number): boolean {
    if (endVpn <= startVpn) return true;
    if (!this.splitAt(startVpn) || !this.splitAt(endVpn)) return false;
    this.clearContiguous(startVpn, endVpn); // before any entry of a hinted group changes
    const removed = this.vmas.removeRange(startVpn, endVpn);
    if (this.root !== 0) {
      const flush = this.k.editor.newFlush({ asid: this.asid, threshold: this.k.flushThreshold });
      this.clearLeaves(startVpn, endVpn, flush);
      flush.merge(this.pruneTablesAround(startVpn, endVpn));
      this.k.discharge(flush);
    }
    const objects = new Set<SharedObject>();
    for (const v of removed) if (v.value.shm) objects.add(v.value.shm);
    this.releaseUnusedObjects(objects);
    return true;
  }

  /** @internal Frees table pages that no longer cover any VMA around [startVpn, endVpn) (Linux free_pgtables). */
  pruneTablesAround(startVpn: number, endVpn: number): FlushObligation {
    const { userStartVpn, userEndVpn } = this.k.bounds;
    const lo = this.vmas.findLastBefore(startVpn)?.endVpn ?? userStartVpn;
    const hi = this.vmas.findFirstAtOrAfter(endVpn)?.startVpn ?? userEndVpn;
    if (hi <= lo) return this.k.editor.newFlush({ asid: this.asid });
    return this.k.editor.pruneEmptyTables({
      root: this.root,
      startVpn: lo,
      endVpn: hi,
      source: this.source,
      asid: this.asid,
    }).flush;
  }

  /** Splits huge leaves until none straddles page `vpn`. False when out of memory (space-ranges.ts). */
  splitAt(vpn: number): boolean {
    return ranges.splitAt(this.k, this, vpn);
  }

  /** Splits every huge leaf inside [startVpn, endVpn) into smallest pages. False when out of memory. */
  splitAll(startVpn: number, endVpn: number): boolean {
    return ranges.splitAll(this.k, this, startVpn, endVpn);
  }

  /** Clears the Contiguous hint of every group that has a page in [startVpn, endVpn) (before any of them changes). */
  clearContiguous(startVpn: number, endVpn: number): void {
    ranges.clearContiguous(this.k, this, startVpn, endVpn);
  }

  /** AArch64 Contiguous hint on every aligned group of physically contiguous device leaves in [startVpn, endVpn). */
  setContiguousRuns(startVpn: number, endVpn: number): void {
    ranges.setContiguousRuns(this.k, this, startVpn, endVpn);
  }

  // -------------------------------------------------------------------------
  // Changing permissions and moving

  /**
   * Gives [startVpn, endVpn) (fully covered by VMAs) protection `prot`: huge leaves at the ends
   * are split, VMAs split and merged, present leaves rewritten to what the VMA allows, and the
   * TLBs invalidated once. False, with nothing changed, when a split runs out of memory.
   */
  protectRange(startVpn: number, endVpn: number, prot: number): boolean {
    return ranges.protectRange(this.k, this, startVpn, endVpn, prot);
  }

  /**
   * Rewrites the leaf mapping `vpn` to what its VMA allows (a lazily upgraded PTE) — but never
   * makes a page shared copy-on-write (or the zero page) writable: that takes {@link breakCow}.
   * The leaf keeps its recorded state, made young (and dirty for a `write`), as Linux's
   * `wp_page_reuse` leaves it (cow.ts).
   */
  upgradeLeaf(vpn: number, vma: VmaValue, write = false): void {
    upgradeLeaf(this.k, this, vpn, vma, write);
  }

  /**
   * The attributes a leaf of `level` mapping `pa` may have in VMA `v`: what the VMA allows,
   * without write permission when the page is private and not anon-exclusive (shared
   * copy-on-write, shared before and not written since, or the zero page) — Linux's mprotect
   * keeps such pages read-only too (`can_change_pte_writable` requires `PageAnonExclusive`).
   */
  leafAttrsFor(v: VmaValue, level: number, pa: number): LeafAttributes {
    if (isCowVma(v) && !this.k.anonExclusive.all(pa, this.k.arch.geometry.entryPages[level]!))
      return this.k.readOnlyAttrsFor(v, level);
    return this.k.attrsFor(v, level);
  }

  /** @internal True when each of the `pages` frames from `pa` is a USER frame with one reference (not the zero page). */
  exclusive(pa: number, pages: number): boolean {
    return framesExclusive(this.k, pa, pages);
  }

  /** @internal {@link exclusive} for one pool frame by its frame-table index `i` (the COW fault's fast path). */
  exclusiveAt(i: number): boolean {
    return this.k.allocator.userRefsAt(i) === 1;
  }

  /**
   * A write fault on a present, read-only leaf in a private writable VMA (Linux `do_wp_page`; see
   * cow.ts): reuse, zero-fill or copy. Returns how it was resolved, or undefined when out of
   * memory (nothing changed).
   */
  breakCow(vpn: number, vma: VmaValue): string | undefined {
    return breakCow(this.k, this, vpn, vma);
  }

  /**
   * Maps the shared zero page read-only at `vpn` for a read fault in private anonymous VMA `v`
   * (Linux `do_anonymous_page` without FAULT_FLAG_WRITE: `pte_mkspecial(pfn_pte(zero_pfn,
   * vm_page_prot))`, so the leaf is special). False when out of memory for a table.
   */
  mapZeroPage(vpn: number, v: VmaValue): boolean {
    const k = this.k;
    if (!this.mapPage(vpn, k.zeroPage, k.specialAttrs(k.readOnlyAttrsFor(v))).ok) return false;
    cowEvent(this.k, this, 'zero-page', vpn, this.k.zeroPage, this.k.zeroPage, 1);
    return true;
  }

  /** Sets the accessed flag of the leaf mapping `vpn` (software access-flag management). */
  setAccessed(vpn: number): void {
    const ref = this.lookup(vpn);
    if (ref?.entry.kind !== 'leaf') return;
    this.k.editor.writeEntry(
      ref.descriptorPa,
      { ...ref.entry, attrs: { ...ref.entry.attrs, accessed: true } },
      ref.level,
    );
  }

  /**
   * Moves the mapping [startVpn, endVpn) (inside one VMA whose value is `moved` after the move)
   * to [destVpn, destVpn + newPages): the VMA moves, every present page moves with its frame (no
   * copy), emptied tables are freed and the TLBs invalidated once. The caller has checked that
   * enough frames are free for the new tables and split huge leaves; a failure here is a bug.
   */
  moveRange(startVpn: number, endVpn: number, destVpn: number, newPages: number, moved: VmaValue): void {
    ranges.moveRange(this.k, this, startVpn, endVpn, destVpn, newPages, moved);
  }

  // -------------------------------------------------------------------------
  // Whole-space operations

  /**
   * Frees every user page, table and VMA, keeping the kernel half (exec's clear_user_space, and
   * exit). Ends with one ASID-wide invalidation (TLBI ASIDE1IS on AArch64), which also makes the
   * ASID safe to reuse.
   */
  clear(): void {
    if (this.root !== 0) {
      const { userStartVpn, userEndVpn } = this.k.bounds;
      const flush = this.k.editor.newFlush({ asid: this.asid, threshold: 0 });
      flush.addTableChange();
      this.clearLeaves(userStartVpn, userEndVpn, flush);
      this.k.discharge(flush);
      this.k.editor.freeSubtables({
        root: this.root,
        source: this.source,
        startVpn: userStartVpn,
        endVpn: userEndVpn,
      });
      this.releaseRoot();
    }
    const objects = this.sharedObjectsInUse();
    this.vmas.clear();
    this.releaseUnusedObjects(objects);
  }

  /**
   * fork: a new space for `pid`/`asid` with this one's layout, break, entry point, VMAs and
   * mappings — private pages shared copy-on-write (or copied with `fork: 'eager'`), shared and
   * device pages shared (fork-copy.ts). Returns the child and the number of pages shared
   * copy-on-write, or undefined when out of memory (nothing changed).
   */
  clone(pid: number, asid: number): { space: AddressSpace; cowPages: number } | undefined {
    const child = new AddressSpace(this.k, pid, asid, this.layout);
    const cowPages = copyIntoChild(this.k, this, child);
    return cowPages === undefined ? undefined : { space: child, cowPages };
  }

  // -------------------------------------------------------------------------
  // Shared objects and statistics

  /** The shared objects this space's VMAs refer to. */
  sharedObjectsInUse(): Set<SharedObject> {
    const out = new Set<SharedObject>();
    this.vmas.forEach((v) => {
      if (v.value.shm) out.add(v.value.shm);
    });
    return out;
  }

  /** Frees the pages of shared objects that no VMA of any process refers to any more. */
  private releaseUnusedObjects(objects: Set<SharedObject>): void {
    if (objects.size === 0) return;
    const used = this.k.sharedObjects();
    for (const o of objects) {
      if (used.has(o)) continue;
      for (const pa of o.pages.values()) this.k.allocator.unref(pa);
      o.pages.clear();
    }
  }

  /** Pages of [startVpn, endVpn) that leaves map. */
  residentIn(startVpn: number, endVpn: number): number {
    if (this.root === 0) return 0;
    const g = this.k.arch.geometry;
    let resident = 0;
    this.k.editor.forEachLeaf({ root: this.root, startVpn, endVpn }, (l) => {
      const p = g.entryPages[l.level]!;
      resident += Math.min(l.vpn + p, endVpn) - Math.max(l.vpn, startVpn);
    });
    return resident;
  }

  /** A human-readable range for messages. */
  describeRange(startVpn: number, endVpn: number): string {
    return `[${hex(vaOf(startVpn))}, ${hex(vaOf(endVpn))})`;
  }
}
