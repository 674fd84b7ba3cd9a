/**
 * fork's copy of an address space (Linux `dup_mmap` → `copy_page_range`): the child's page
 * tables, references and reverse-map entries, then the parent's write protection.
 *
 * Ownership: nothing of its own. {@link copyIntoChild} fills a fresh child space that
 * `AddressSpace.clone` made (VMAs already copied); on failure it leaves the child empty and the
 * parent as it was.
 *
 * Invariants: phase 1 builds the child only (the parent unchanged); phase 2 write-protects the
 * parent's writable private leaves and discharges one TLB obligation for the parent.
 *
 * ```
 *   parent leaves ──phase 1──▶ child leaves (read-only, frames referenced, rmap entries)
 *                 ──phase 2──▶ parent leaves write-protected, one invalidation
 * ```
 */
import { type LeafAttributes, type LeafTemplate, sameLeafAttributes } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import { newAnonVmaId } from './anon-vma.js';
import type { KernelContext } from './context.js';
import { FrameState } from './page-allocator.js';
import { keptState } from './space-ranges.js';
import { copySwapEntries } from './swap.js';
import { type VmaValue, vmaWith } from './vma.js';

/**
 * fork (`AddressSpace.clone`): gives the fresh, empty `child` the parent's break, entry point and
 * VMAs, then maps into it what the parent maps (of the VMAs that need it: {@link vmaNeedsCopy} —
 * none of a MAP_SHARED anonymous mapping's pages, nor the zero pages of a private VMA that never
 * got an anonymous page). Device pages are shared. Private pages
 * (Linux `is_cow_mapping`), with the kernel's `fork: 'cow'` (default), are shared read-only by
 * parent and child — huge leaves as huge leaves — and copied on the first write (cow.ts); with
 * `fork: 'eager'` they are copied now (a huge leaf stays huge when a contiguous run is free). The
 * zero page is shared.
 *
 * Two phases, so that a failure changes nothing: (1) the child's tables are built and every
 * frame it maps gets its reference — out of memory clears the half-built child and returns
 * undefined, the parent untouched; (2) only then are the parent's writable private leaves made
 * read-only, with one TLB invalidation at the end (Linux `dup_mmap` → `flush_tlb_mm`).
 * Returns the number of pages shared copy-on-write.
 */
export function copyIntoChild(
  k: KernelContext,
  parent: AddressSpace,
  child: AddressSpace,
): number | undefined {
  child.setBrk(parent.brk);
  child.entry = parent.entry;
  child.initialSp = parent.initialSp;
  parent.vmas.forEach((v) => {
    child.vmas.insertUnmerged(v.startVpn, v.endVpn, childVma(v.value));
  });
  if (parent.root === 0) return 0;
  k.anonExclusive.beginFork(); // fork clears PG_anon_exclusive of what it shares (anon-exclusive.ts)
  const f = new ForkCopy(k, parent, child);
  parent.vmas.forEach((vma) => {
    if (f.ok && vmaNeedsCopy(vma.value)) f.copyVma(vma.startVpn, vma.endVpn, vma.value);
  });
  // Swap PTEs are copied and their slots counted once more (Linux copy_nonpresent_pte).
  if (f.ok && parent.swapEntries > 0) {
    const { userStartVpn, userEndVpn } = k.bounds;
    f.ok = copySwapEntries(k, parent, child, userStartVpn, userEndVpn);
  }
  if (!f.ok) {
    k.anonExclusive.rollbackFork(); // nothing changed: the shared pages are exclusive again
    child.clear();
    return undefined;
  }
  f.protectParent();
  return f.cowPages;
}

/**
 * The child's copy of a parent's VMA value (Linux `dup_mmap`): VM_LOCKED is not inherited (it
 * clears VM_LOCKED_MASK), and a VMA with an anon_vma gets a new one of its own, linked to the
 * parent's (`anon_vma_fork`: hence `anonVmaForked`, anon-vma.ts); one without stays without.
 */
function childVma(v: VmaValue): VmaValue {
  if (v.anonVmaId !== 0) return vmaWith(v, { lock: 'none', anonVmaId: newAnonVmaId(), anonVmaForked: true });
  return v.lock === 'none' ? v : vmaWith(v, { lock: 'none' });
}

/**
 * Linux `copy_page_range` → `vma_needs_copy`: fork copies the page tables of a VMA only when it
 * has an `anon_vma` ({@link VmaValue.anonVmaId}), is VM_PFNMAP / VM_MIXEDMAP (device mappings)
 * or VM_HUGETLB (uffd-wp is not modelled); otherwise "a page fault will fill them correctly".
 * A private VMA without one maps at most the zero page (read faults, `do_anonymous_page`'s
 * zero-page path, which does not prepare an anon_vma; audit() proves it): the child starts with
 * none of those PTEs and maps the zero page again on its first read. A MAP_SHARED |
 * MAP_ANONYMOUS mapping is shmem: it never gets an `anon_vma`, so the child maps the shared
 * object's pages on its first touch of each (a minor fault, fault.ts).
 */
function vmaNeedsCopy(v: VmaValue): boolean {
  return (v.shm === undefined && v.anonVmaId !== 0) || v.huge || v.kind === 'device';
}

/** Classes of a level-1 descriptor's non-address bits (see {@link ForkCopy.classify}). */
const SKIP = 0; // not a leaf (a swap entry, or invalid): not copied here
const WRITABLE = 1; // a writable leaf: shared read-only through the template, parent protected
const READ_ONLY = 2; // a leaf equal to the template already: shared as it is
const SLOW = 3; // anything else: decoded and copied leaf by leaf
const TWO_32 = 2 ** 32;
/** The page allocator's frames are 4 KiB: a frame number is the PA's high word · 2^20 + its low word >>> 12. */
const PAGE_SHIFT = 12;
const PFN_HI_SHIFT = 32 - PAGE_SHIFT;
const PFN_HI = 2 ** PFN_HI_SHIFT;

/**
 * The state of one fork's copy. Phase 1 ({@link copyVma}) walks the parent per VMA; phase 2
 * ({@link protectParent}) write-protects what phase 1 recorded.
 *
 * Private copy-on-write VMAs with a verified read-only template and no event listener take the
 * table-at-a-time path (Linux `copy_pte_range`): each of the parent's leaf tables is read as
 * raw descriptors; a descriptor's non-address bits are classified once per distinct pattern (a
 * decode, not one per leaf), and a leaf of a known class goes into the child's leaf table as
 * "template | PA" with its reference and reverse-map entry — no decoding cursor, no object per
 * leaf. Runs of the parent's writable descriptors are recorded as (descriptor, page, count) and
 * rewritten through the same template in phase 2. Everything else (shared and device VMAs, the
 * zero page, huge leaves, eager copies, unknown patterns, and any copy while events are
 * listened to) takes the per-leaf path ({@link leaf}); both produce the same bytes (a property
 * test compares them).
 */
class ForkCopy {
  ok = true;
  cowPages = 0;
  /**
   * Parent leaves to write-protect one by one: (page, level, descriptor, frame, template index)
   * flattened, with their new attributes in {@link protectAttrs} (template index -1: the editor).
   */
  private readonly protect: number[] = [];
  private readonly protectAttrs: LeafAttributes[] = [];
  /** Classes found so far: non-address bits (lo, hi) → class, child bits (lo, hi), parent template index. */
  private readonly classKeys = new Map<number, number[]>();
  /** Runs of parent level-1 leaves to write-protect through a template: (descriptor, page, count, template index). */
  private readonly runs: number[] = [];
  /** templates[i]: a write-protected parent leaf's template (runs and protect refer to it by index). */
  private readonly templates: LeafTemplate[] = [];
  private readonly bytes: number;
  private readonly wide: boolean;
  /** The physical-address bits of a level-1 descriptor: bits [page shift, paBits) in each half. */
  private readonly oaLo: number;
  private readonly oaHi: number;
  // The VMA being copied.
  private v: VmaValue | undefined;
  private share = false;
  private cow = false;
  private roAttrs: LeafAttributes | undefined;
  // Set by classify for the pattern it classified: the child's bits and the parent's template index.
  private cLo = 0;
  private cHi = 0;
  private pT = -1;
  // One leaf table's pending template copies (copyTable), referenced and reverse-mapped in one
  // batch: frame numbers, table indices, frame-table indices.
  private readonly pfnBuf: Float64Array;
  private readonly offBuf: Int32Array;
  private readonly idxBuf: Int32Array;
  private pending = 0;
  /** The zero page's address bits (never copied by {@link copyRun}). */
  private readonly zLo: number;
  private readonly zHi: number;

  constructor(
    private readonly k: KernelContext,
    private readonly parent: AddressSpace,
    private readonly child: AddressSpace,
  ) {
    const d = k.arch.description;
    this.bytes = d.descriptorBytes;
    this.wide = this.bytes === 8;
    const low = 2 ** d.pageShift - 1;
    this.oaLo = (d.paBits >= 32 ? 0xffff_ffff & ~low : (2 ** d.paBits - 1) & ~low) >>> 0;
    this.oaHi = d.paBits > 32 ? 2 ** Math.min(d.paBits - 32, 32) - 1 : 0;
    this.zLo = (k.zeroPage % TWO_32) | 0;
    this.zHi = Math.floor(k.zeroPage / TWO_32) | 0;
    const entries = k.bounds.leafTableEntries;
    this.pfnBuf = new Float64Array(entries);
    this.offBuf = new Int32Array(entries);
    this.idxBuf = new Int32Array(entries);
  }

  /** Phase 1 for the VMA [startVpn, endVpn) of value `v`. */
  copyVma(startVpn: number, endVpn: number, v: VmaValue): void {
    const k = this.k;
    this.v = v;
    this.share = v.shm !== undefined || v.kind === 'device';
    this.cow = !this.share && k.forkMode === 'cow';
    this.roAttrs = this.cow ? k.readOnlyAttrsFor(v, 1) : undefined;
    // Fast path (no listeners): 4 KiB leaves go into the child's leaf table through a verified
    // template ("template | PA", see leafTemplate).
    const tmpl = this.cow && !k.events.active ? k.templateFor(this.roAttrs!) : undefined;
    this.classKeys.clear(); // classes depend on the VMA's read-only form
    if (tmpl !== undefined) {
      this.copyTables(startVpn, endVpn);
      return;
    }
    k.editor.forEachLeaf({ root: this.parent.root, startVpn, endVpn }, (l) => {
      if (this.ok) this.leaf(l.vpn, l.level, l.pa, l.attrs, l.descriptorPa);
    });
  }

  /**
   * The per-leaf path: copies the leaf of `level` at `vpn` (descriptor `dpa`) mapping `pa` with
   * `attrs` into the child, as the current VMA says.
   */
  private leaf(vpn: number, level: number, pa: number, attrs: LeafAttributes, dpa: number): void {
    const { k, child } = this;
    const { allocator } = k;
    if (this.share || pa === k.zeroPage) {
      // MAP_SHARED, device pages and the zero page are shared with the child, not copied. Linux
      // __copy_present_ptes: every child PTE is pte_mkold, and pte_mkclean too in a VM_SHARED
      // mapping — the zero page, device leaves (VM_PFNMAP: vm_normal_page is NULL, the PTE is
      // still copied so). A shared anonymous VMA is copied only as hugetlb (vma_needs_copy:
      // VM_HUGETLB), whose copy_hugetlb_page_range sets the parent's entry unchanged.
      const v = this.v!;
      const a = v.shm !== undefined ? attrs : childLeaf(k, v, level, attrs);
      if (!child.mapLeaf(vpn, pa, level, a)) this.ok = false;
      else if (this.v!.shm) allocator.ref(pa);
      return;
    }
    if (!this.cow) {
      if (!copyLeaf(k, child, vpn, pa, level, attrs)) this.ok = false;
      return;
    }
    const writable = attrs.user.write;
    const pages = k.arch.geometry.entryPages[level]!;
    // Linux copy_present_pte: a writable parent leaf is write-protected keeping its accessed,
    // dirty and software state (ptep_set_wrprotect; arm64 moves hardware dirt to PTE_DIRTY), and
    // the child's copy of it is old (pte_mkold). A huge leaf of a MAP_HUGETLB VMA is hugetlbfs's:
    // copy_hugetlb_page_range write-protects it the same way (huge_ptep_set_wrprotect,
    // huge_pte_wrprotect) and gives the child that entry as it is — still young.
    const parentAttrs = writable
      ? keptState(k.arch.description, attrs, k.readOnlyAttrsFor(this.v!, level))
      : attrs;
    const childAttrs = level > 1 && this.v!.huge ? parentAttrs : oldLeaf(parentAttrs);
    if (!child.mapLeaf(vpn, pa, level, childAttrs)) {
      this.ok = false;
      return;
    }
    const pageBytes = k.bounds.pageBytes;
    for (let i = 0; i < pages; i++) {
      const f = pa + i * pageBytes;
      if (allocator.stateOf(f) === FrameState.USER) allocator.ref(f);
    }
    k.anonExclusive.share(pa, pages); // folio_try_dup_anon_rmap_pte: neither copy is exclusive
    this.cowPages += pages;
    if (writable) {
      this.protect.push(vpn, level, dpa, pa, -1);
      this.protectAttrs.push(parentAttrs);
    }
  }

  /**
   * The table-at-a-time path over [startVpn, endVpn) of a private VMA whose read-only leaves
   * are `tmpl | PA`: one walk per leaf table of the parent (to its level-2 entry), then its
   * descriptors as numbers.
   */
  private copyTables(startVpn: number, endVpn: number): void {
    const { k, parent } = this;
    const { editor } = k;
    const entryPages = k.arch.geometry.entryPages;
    const entries = k.bounds.leafTableEntries;
    let vpn = startVpn;
    while (vpn < endVpn && this.ok) {
      const ref = editor.lookup(parent.root, vpn, 2);
      const e = ref.entry;
      if (ref.level === 2 && e.kind === 'table') {
        const tableVpn = vpn - (vpn % entries);
        const stop = Math.min(endVpn, tableVpn + entries);
        this.copyTable(e.pa, tableVpn, vpn, stop);
        vpn = stop;
        continue;
      }
      // A huge leaf (copied whole, per leaf), or nothing below this entry: skip its span.
      const pages = entryPages[ref.level]!;
      const base = vpn - (vpn % pages);
      if (e.kind === 'leaf') this.leaf(base, ref.level, e.pa, e.attrs, ref.descriptorPa);
      vpn = base + pages;
    }
  }

  /** Copies the descriptors [from, stop) of the parent's leaf table at `tablePa` (first page `tableVpn`). */
  private copyTable(tablePa: number, tableVpn: number, from: number, stop: number): void {
    const { k, child, wide } = this;
    const { memory, zeroPage } = k;
    const pageBytes = k.bounds.pageBytes;
    // Int32 arithmetic on locals: the non-address bits, the address bits and the frame number of
    // each descriptor are split with masks; a double (a page number, a PA above 2^31) appears only
    // on the rare per-leaf path. The runs of template leaves go through copyRun's tighter loop.
    const notOaLo = ~this.oaLo | 0;
    const notOaHi = ~this.oaHi | 0;
    const oaLo = this.oaLo | 0;
    const oaHi = this.oaHi | 0;
    const zLo = (zeroPage % TWO_32) | 0;
    const zHi = Math.floor(zeroPage / TWO_32) | 0;
    // The parent's table as words (descriptor i: words[i] or words[2i], words[2i + 1]).
    const words = memory.frameWords(tablePa / pageBytes);
    const step = wide ? 2 : 1;
    let keyLo = 0;
    let keyHi = 0;
    let keyed = false;
    let cls = SKIP;
    // The current class's child bits and parent template (classify).
    let cLo = 0;
    let cHi = 0;
    let pT = -1;
    let runT = -1;
    /** The child's leaf table as words, once the first leaf made it. */
    let out: Uint32Array | undefined;
    let runFirst = -1;
    let runCount = 0;
    let copied = 0;
    let c = this.pending;
    // The loop counts table indices (small integers): a page number is above 2^31 in most of the
    // user range.
    // (`| 0`: the differences of two page numbers above 2^31 are small, but V8 types a difference
    // of doubles as a double, and a double index costs a conversion and a check per access.)
    const end = (stop - tableVpn) | 0;
    for (let j = (from - tableVpn) | 0; j < end; j++) {
      const w = j * step;
      const lo = words[w]! | 0;
      const hi = wide ? words[w + 1]! | 0 : 0;
      if (lo === 0 && hi === 0) continue;
      const kLo = lo & notOaLo;
      const kHi = hi & notOaHi;
      const aLo = lo & oaLo;
      const aHi = hi & oaHi;
      if (!keyed || kLo !== keyLo || kHi !== keyHi) {
        cls = this.classify(lo >>> 0, hi >>> 0, aHi * TWO_32 + (aLo >>> 0), kLo, kHi);
        cLo = this.cLo;
        cHi = this.cHi;
        pT = this.pT;
        keyLo = kLo;
        keyHi = kHi;
        keyed = true;
      }
      if (cls === SKIP && out === undefined) continue;
      if (out === undefined && cls !== SLOW && (aLo !== zLo || aHi !== zHi)) {
        // The first leaf of the table that the template covers: the child's leaf table is made
        // (Linux copy_pte_range → pte_alloc); its slots in the range are absent (no other VMA
        // covers them).
        const tablePaChild = child.leafTable(tableVpn + j);
        if (tablePaChild === 0) {
          this.ok = false; // out of memory: the child is cleared (copyIntoChild)
          break;
        }
        out = memory.frameWords(tablePaChild / pageBytes);
      }
      if (cls === SLOW || out === undefined || (aLo === zLo && aHi === zHi)) {
        // The per-leaf path: the zero page and patterns the template does not cover (which make
        // the child's table when they come first). The batch is settled first: a failure here
        // clears the child, which drops a reference for every leaf written.
        this.pending = c;
        this.settle(tableVpn);
        c = 0;
        if (runCount > 0) this.pushRun(tablePa, tableVpn, tableVpn + runFirst, runCount, runT);
        runCount = 0;
        const entry = k.arch.codec.decode(lo >>> 0, hi >>> 0, 1);
        if (entry.kind !== 'leaf') continue;
        this.leaf(tableVpn + j, 1, entry.pa, entry.attrs, tablePa + j * this.bytes);
        if (!this.ok) break; // out of memory: the child is cleared (copyIntoChild)
        if (out === undefined) {
          const ref = k.editor.lookup(child.root, tableVpn + j, 2);
          if (ref.level === 2 && ref.entry.kind === 'table')
            out = memory.frameWords(ref.entry.pa / pageBytes);
        }
        continue;
      }
      if (cls === SKIP) continue; // a swap entry: copySwapEntries copies it
      // A leaf of a template class: it and the run of descriptors with the same non-address bits
      // after it go into the child as "template | PA" (copyRun). A writable run extends the
      // parent's run to write-protect when it follows it with the same template.
      this.pending = c;
      const next = this.copyRun(words, out, j, end, kLo, kHi, cLo, cHi);
      c = this.pending;
      copied += next - j;
      if (cls === WRITABLE) {
        if (runCount > 0 && j === runFirst + runCount && pT === runT) runCount += next - j;
        else {
          if (runCount > 0) this.pushRun(tablePa, tableVpn, tableVpn + runFirst, runCount, runT);
          runFirst = j;
          runCount = next - j;
          runT = pT;
        }
      }
      j = next - 1; // the loop's j++ moves to the descriptor copyRun stopped at
    }
    this.pending = c;
    this.settle(tableVpn);
    if (runCount > 0) this.pushRun(tablePa, tableVpn, tableVpn + runFirst, runCount, runT);
    child.residentPages += copied;
    this.cowPages += copied;
  }

  /**
   * The hot loop of {@link copyTable}: copies descriptors `j`, `j + 1`, … of the parent's table
   * `words` while their non-address bits are (`kLo`, `kHi`) — a template class whose child bits are
   * (`cLo`, `cHi`) — and they do not map the zero page, into the child's table `out` as "child bits
   * | address", each frame number and table index added to the pending batch; returns the index of
   * the first descriptor it did not copy (`j` is one it copies). A loop of its own, with int32 locals
   * only, so that V8 keeps them in registers.
   */
  private copyRun(
    words: Uint32Array,
    out: Uint32Array,
    j: number,
    end: number,
    kLo: number,
    kHi: number,
    cLo: number,
    cHi: number,
  ): number {
    const { pfnBuf, offBuf } = this;
    const notOaLo = ~this.oaLo | 0;
    const notOaHi = ~this.oaHi | 0;
    const oaLo = this.oaLo | 0;
    const oaHi = this.oaHi | 0;
    const zLo = this.zLo;
    const zHi = this.zHi;
    let c = this.pending;
    let i = j | 0;
    const stop = end | 0;
    if (this.wide) {
      for (; i < stop; i++) {
        const w = i << 1;
        const lo = words[w]! | 0;
        const hi = words[w + 1]! | 0;
        const aLo = lo & oaLo;
        const aHi = hi & oaHi;
        if ((lo & notOaLo) !== kLo || (hi & notOaHi) !== kHi || (aLo === zLo && aHi === zHi)) break;
        out[w] = cLo | aLo;
        out[w + 1] = cHi | aHi;
        pfnBuf[c] =
          aHi < 2048 ? (aHi << PFN_HI_SHIFT) | (aLo >>> PAGE_SHIFT) : aHi * PFN_HI + (aLo >>> PAGE_SHIFT);
        offBuf[c] = i;
        c++;
      }
    } else {
      for (; i < stop; i++) {
        const lo = words[i]! | 0;
        const aLo = lo & oaLo;
        if ((lo & notOaLo) !== kLo || aLo === zLo) break;
        out[i] = cLo | aLo;
        pfnBuf[c] = aLo >>> PAGE_SHIFT;
        offBuf[c] = i;
        c++;
      }
    }
    this.pending = c;
    return i;
  }

  /**
   * The references and reverse-map entries of the pending template copies of the leaf table whose
   * first page is `tableVpn`, in one batch each (the leaves keep their dirty state: fork's
   * write-protection is Linux's, so nothing moves to the frame).
   */
  private settle(tableVpn: number): void {
    const n = this.pending;
    if (n === 0) return;
    const { k, idxBuf, offBuf } = this;
    k.allocator.refIfUserBatch(this.pfnBuf, n, idxBuf);
    k.rmap.addBatch(idxBuf, offBuf, n, this.child, tableVpn);
    // folio_try_dup_anon_rmap_pte: a page shared by fork is no longer anon-exclusive (anon-exclusive.ts).
    const ae = k.anonExclusive;
    for (let i = 0; i < n; i++) if (idxBuf[i]! >= 0) ae.shareIndex(idxBuf[i]!);
    this.pending = 0;
  }

  /** Records `count` writable parent leaves from page `first` of the leaf table at `tablePa` for phase 2. */
  private pushRun(tablePa: number, tableVpn: number, first: number, count: number, t: number): void {
    this.runs.push(tablePa + (first - tableVpn) * this.bytes, first, count, t);
  }

  /**
   * The class of the level-1 descriptor (lo, hi) whose address bits read `pa`, for every
   * descriptor with the same non-address bits: decoded once. A leaf is taken as "template | PA"
   * only when the decoder agrees that its address bits are the PA (the leafTemplate
   * assumption, checked on this descriptor).
   */
  private classify(lo: number, hi: number, pa: number, kLo: number, kHi: number): number {
    const key = kLo * TWO_32 + (kHi >>> 0);
    let c = this.classKeys.get(key);
    if (c === undefined) {
      c = this.classOf(lo, hi, pa);
      this.classKeys.set(key, c);
    }
    this.cLo = c[1]!;
    this.cHi = c[2]!;
    this.pT = c[3]!;
    return c[0]!;
  }

  /**
   * [class, child lo, child hi, parent template index] of the level-1 descriptor (lo, hi) whose
   * address bits read `pa`: a leaf of the current VMA becomes, in the child, its write-protected
   * form made old (Linux copy_present_pte), and a writable one is write-protected in the parent
   * keeping its accessed, dirty and software state (ptep_set_wrprotect) — each as a verified
   * template, else the per-leaf path.
   */
  private classOf(lo: number, hi: number, pa: number): number[] {
    const k = this.k;
    const entry = k.arch.codec.decode(lo, hi, 1);
    if (entry.kind !== 'leaf') return [SKIP, 0, 0, -1];
    if (entry.pa !== pa) return [SLOW, 0, 0, -1];
    const d = k.arch.description;
    const protectedAttrs = keptState(d, entry.attrs, this.roAttrs!);
    const writable = entry.attrs.user.write;
    // A read-only leaf must be the VMA's read-only form already (in some accessed/dirty state).
    if (!writable && !sameLeafAttributes(protectedAttrs, entry.attrs)) return [SLOW, 0, 0, -1];
    const childT = k.templateFor(oldLeaf(protectedAttrs));
    if (childT === undefined) return [SLOW, 0, 0, -1];
    if (!writable) return [READ_ONLY, childT.lo | 0, childT.hi | 0, -1];
    const parentT = k.templateFor(protectedAttrs);
    if (parentT === undefined) return [SLOW, 0, 0, -1];
    this.templates.push(parentT);
    return [WRITABLE, childT.lo | 0, childT.hi | 0, this.templates.length - 1];
  }

  /**
   * Phase 2: the parent's writable private leaves become read-only; one invalidation for the
   * parent (Linux flushes the parent's TLB once after `copy_page_range`).
   */
  protectParent(): void {
    const { k, parent, protect, runs, templates, bytes, wide, oaLo, oaHi } = this;
    if (protect.length === 0 && runs.length === 0) return;
    const { editor, memory } = k;
    const flush = editor.newFlush({ asid: parent.asid, threshold: k.flushThreshold });
    const pageBytes = k.bounds.pageBytes;
    const step = wide ? 2 : 1;
    for (let i = 0; i < runs.length; i += 4) {
      const tmpl = templates[runs[i + 3]!]!;
      const first = runs[i]!;
      const vpn = runs[i + 1]!;
      const n = runs[i + 2]!;
      // The descriptors still hold the leaves phase 1 read: keep their addresses, take the template's bits.
      const table = first - (first % pageBytes);
      const words = memory.frameWords(table / pageBytes);
      const w0 = ((first - table) / bytes) * step;
      for (let j = 0; j < n; j++) {
        const w = w0 + j * step;
        words[w] = tmpl.lo | (words[w]! & oaLo);
        if (wide) words[w + 1] = tmpl.hi | (words[w + 1]! & oaHi);
        flush.addPage(vpn + j);
      }
    }
    for (let i = 0; i < protect.length; i += 5) {
      const vpn = protect[i]!;
      const tmpl = protect[i + 4]! >= 0 ? templates[protect[i + 4]!] : undefined;
      if (tmpl !== undefined) {
        const pa = protect[i + 3]!;
        editor.writeRaw(
          protect[i + 2]!,
          (tmpl.lo | (pa >>> 0)) >>> 0,
          wide ? (tmpl.hi | Math.floor(pa / TWO_32)) >>> 0 : 0,
        );
        flush.addPage(vpn);
        continue;
      }
      const f = editor.protect({
        root: parent.root,
        vpn,
        attrs: this.protectAttrs[i / 5]!,
        asid: parent.asid,
      });
      if (f) flush.merge(f);
    }
    k.discharge(flush);
  }
}

/** Copies one private leaf of a parent into `space` (a huge leaf stays huge when a contiguous run is free). */
function copyLeaf(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  srcPa: number,
  level: number,
  attrs: LeafAttributes,
): boolean {
  const { allocator, memory, arch, bounds } = k;
  const pages = arch.geometry.entryPages[level]!;
  const pageBytes = bounds.pageBytes;
  if (pages > 1) {
    const pa = allocator.allocContiguous(pages, pages, 'user', space.pid);
    if (pa !== 0) {
      if (space.mapLeaf(vpn, pa, level, attrs)) {
        k.anonExclusive.set(pa, pages); // copy_present_page: the child's copy is exclusive
        for (let i = 0; i < pages; i++) memory.copyFrame(pa / pageBytes + i, srcPa / pageBytes + i);
        return true;
      }
      allocator.freeContiguous(pa, pages);
    }
    // Fall back to single-page copies.
    const small = k.leafAttributes({ user: attrs.user, memoryType: attrs.memoryType, global: false });
    for (let i = 0; i < pages; i++)
      if (!copyLeaf(k, space, vpn + i, srcPa + i * pageBytes, 1, small)) return false;
    return true;
  }
  const pa = space.allocPage(vpn, attrs);
  if (pa === 0) return false;
  memory.copyFrame(pa / pageBytes, srcPa / pageBytes);
  return true;
}

/**
 * The child's copy of a parent's leaf `attrs` of VMA `v` at `level` that fork shares without
 * write-protecting (the zero page, device leaves): Linux `__copy_present_ptes` makes it old
 * (`pte_mkold`) and, in a VM_SHARED mapping, clean (`pte_mkclean`: x86 D cleared; arm64 PTE_DIRTY
 * cleared and PTE_RDONLY set, i.e. the hardware-clean DBM state). A backend without hardware dirty
 * management cannot hold a clean writable leaf: it becomes the VMA's read-only leaf (software dirty
 * tracking: the first write takes the fault that makes it writable and dirty, fault.ts
 * `upgradeLeaf`), as MADV_FREE does (madvise.ts). Software bits other than the dirty one are kept
 * (the special bit). One call per such leaf (not on the template path).
 */
function childLeaf(k: KernelContext, v: VmaValue, level: number, attrs: LeafAttributes): LeafAttributes {
  if (!v.shared) return oldLeaf(attrs);
  const d = k.arch.description;
  const swDirty = d.capabilities.softwareDirty ?? 0;
  if (!attrs.accessed && !attrs.dirty && (attrs.software & swDirty) === 0) return attrs;
  const base = attrs.user.write && !d.capabilities.hardwareDirty ? k.readOnlyAttrsFor(v, level) : attrs;
  const clean = { ...base, accessed: false, dirty: false, software: attrs.software & ~swDirty };
  return base === attrs || attrs.contiguous === undefined
    ? clean
    : { ...clean, contiguous: attrs.contiguous };
}

/** Each leaf's old form (Linux `pte_mkold`: accessed clear), one object per input object. */
const oldForms = new WeakMap<LeafAttributes, LeafAttributes>();

/** `attrs` made old (Linux `pte_mkold`): the same object when it is old already. */
export function oldLeaf(attrs: LeafAttributes): LeafAttributes {
  if (!attrs.accessed) return attrs;
  let old = oldForms.get(attrs);
  if (old === undefined) {
    old = Object.freeze({ ...attrs, accessed: false });
    oldForms.set(attrs, old);
  }
  return old;
}
