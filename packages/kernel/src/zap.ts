/**
 * The teardown of an address space's leaves (Linux `unmap_page_range` → `zap_pte_range`): what
 * exit, exec, munmap and MADV_DONTNEED do to the pages of a range — each leaf cleared, each frame's
 * reference and reverse-map entry dropped, a swap-cache frame nothing maps any more freed with its
 * slot (`free_swap_cache`), the pages recorded in the caller's flush obligation.
 *
 * Ownership: nothing of its own; it edits the leaves of one `AddressSpace` on its behalf
 * (`AddressSpace.clearLeaves` is the only caller) and keeps its `residentPages`.
 *
 * Two paths, one result (a property test, zap.test.ts, runs both on twin kernels and compares
 * every byte of RAM, every frame, the reverse map, the swap slots and the counters):
 *
 * ```
 *   events listened to ──▶ per leaf: the editor's clearLeaves (decode, object per leaf) + an event
 *   otherwise          ──▶ per leaf table: one walk to its level-2 entry, then the descriptors as
 *                          numbers; a descriptor's non-address bits are classified once per
 *                          distinct pattern (Linux reads `pte_t`s in place, zap_pte_range)
 * ```
 *
 * A level-1 descriptor takes the table-at-a-time path only when its pattern is a leaf whose
 * descriptor is exactly "template | PA" for the template `leafTemplate` verifies for its
 * attributes (the assumption fork's copy and the demand-zero fault rely on); anything else (huge
 * leaves, patterns the template does not reproduce) goes through the per-leaf code in order, so
 * frames are released in the same (ascending page) order on both paths and the allocator's free
 * list ends the same.
 */
import { type FlushObligation, type LeafAttributes, type LeafTemplate, leafTemplate } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { FrameState } from './page-allocator.js';
import { freeSwapCacheIfUnmapped } from './swap-cache.js';

/** Classes of a level-1 descriptor's non-address bits. */
const SKIP = 0; // not a leaf (invalid, software): left alone, as the editor's clearLeaves leaves it
const FAST = 1; // a leaf equal to "verified template | PA": cleared as numbers
const SLOW = 2; // any other leaf: decoded and cleared one by one
const TWO_32 = 2 ** 32;

/**
 * Drops what the leaf of `pages` pages at `vpn` mapping `pa` held: `residentPages`, and for each
 * USER frame (not devices, not the zero page) its reverse-map entry and reference, then the swap
 * cache's hold on a frame nothing maps any more. Shared by both paths.
 */
export function releaseLeafFrames(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  pa: number,
  pages: number,
): void {
  const { allocator, rmap } = k;
  const pageBytes = k.bounds.pageBytes;
  const onList = k.reclaimer.unevictable.onList;
  space.residentPages -= pages;
  for (let i = 0; i < pages; i++) {
    const f = pa + i * pageBytes;
    // Frames outside the pool (devices) and the zero page carry no reference.
    if (allocator.stateOf(f) === FrameState.USER) {
      // Linux folio_remove_rmap → munlock_vma_folio: an mlocked page is checked again.
      if (onList !== undefined) k.reclaimer.unevictable.unmapped(allocator.frameIndex(f), f);
      rmap.remove(f, space, vpn + i);
      allocator.unref(f);
      freeSwapCacheIfUnmapped(k, f); // a swap-cache frame nothing maps (free_swap_cache)
    }
  }
}

/**
 * The table-at-a-time teardown of the leaves inside [startVpn, endVpn) of `space` (see the module
 * documentation); the caller has zapped the swap PTEs and checked that nobody listens to events.
 * Tables are kept. Returns the number of leaves removed.
 */
export function zapLeafTables(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
  flush: FlushObligation,
): number {
  const z = new Zap(k, space, flush);
  let vpn = startVpn;
  const { editor } = k;
  const entryPages = k.arch.geometry.entryPages;
  const entries = k.bounds.leafTableEntries;
  while (vpn < endVpn) {
    const ref = editor.lookup(space.root, vpn, 2);
    if (ref.level === 2 && ref.entry.kind === 'table') {
      const tableVpn = vpn - (vpn % entries);
      const stop = Math.min(endVpn, tableVpn + entries);
      z.table(ref.entry.pa, tableVpn, vpn, stop);
      vpn = stop;
      continue;
    }
    // A huge leaf or nothing below this entry: the per-leaf code over its span (a huge leaf
    // straddling an end of the range is left alone there, as everywhere).
    const pages = entryPages[ref.level]!;
    const base = vpn - (vpn % pages);
    const stop = Math.min(endVpn, base + pages);
    if (ref.entry.kind === 'leaf') z.perLeaf(vpn, stop);
    vpn = stop;
  }
  return z.removed;
}

/** The state of one teardown: the classes seen so far, the counts. */
class Zap {
  removed = 0;
  private readonly wide: boolean;
  /** The physical-address bits of a level-1 descriptor: bits [page shift, paBits) in each half. */
  private readonly oaLo: number;
  private readonly oaHi: number;
  /** Patterns classified so far (non-address bits lo, hi and the class), a few at most. */
  private readonly keysLo: number[] = [];
  private readonly keysHi: number[] = [];
  private readonly classes: number[] = [];

  constructor(
    private readonly k: KernelContext,
    private readonly space: AddressSpace,
    private readonly flush: FlushObligation,
  ) {
    const d = k.arch.description;
    this.wide = d.descriptorBytes === 8;
    const low = 2 ** d.pageShift - 1;
    this.oaLo = (d.paBits >= 32 ? 0xffff_ffff & ~low : (2 ** d.paBits - 1) & ~low) >>> 0;
    this.oaHi = d.paBits > 32 ? 2 ** Math.min(d.paBits - 32, 32) - 1 : 0;
  }

  /** The per-leaf path over [startVpn, endVpn) (the editor's walk). */
  perLeaf(startVpn: number, endVpn: number): void {
    const { k, space, flush } = this;
    const entryPages = k.arch.geometry.entryPages;
    this.removed += k.editor.clearLeaves({ root: space.root, startVpn, endVpn, flush }, (leaf) => {
      releaseLeafFrames(k, space, leaf.vpn, leaf.pa, entryPages[leaf.level]!);
    });
  }

  /** Clears the leaves [from, stop) of the leaf table at `tablePa` (first page `tableVpn`). */
  table(tablePa: number, tableVpn: number, from: number, stop: number): void {
    const { k, space, flush, wide, oaLo, oaHi } = this;
    const { memory, allocator, rmap, swap } = k;
    const pageBytes = k.bounds.pageBytes;
    const frameType = swap.frameType;
    const onList = k.reclaimer.unevictable.onList; // mlocked frames (unevictable.ts)
    const words = memory.frameWords(tablePa / pageBytes);
    const step = wide ? 2 : 1;
    let keyLo = -1;
    let keyHi = -1;
    let cls = SKIP;
    let cleared = 0;
    // The loop counts table indices as int32 (a page number above 2^31 is a double, and a double
    // index costs a conversion and a check per access).
    const end = (stop - tableVpn) | 0;
    for (let j = (from - tableVpn) | 0; j < end; j++) {
      const w = j * step;
      const lo = words[w]!;
      const hi = wide ? words[w + 1]! : 0;
      if (lo === 0 && hi === 0) continue;
      const kLo = (lo & ~oaLo) >>> 0;
      const kHi = (hi & ~oaHi) >>> 0;
      const aLo = (lo & oaLo) >>> 0;
      const pa = (hi & oaHi) * TWO_32 + aLo;
      if (kLo !== keyLo || kHi !== keyHi) {
        cls = this.classOf(lo, hi, kLo, kHi, pa);
        keyLo = kLo;
        keyHi = kHi;
      }
      if (cls === SKIP) continue;
      const vpn = tableVpn + j;
      if (cls === SLOW) {
        this.perLeaf(vpn, vpn + 1);
        continue;
      }
      words[w] = 0;
      if (wide) words[w + 1] = 0;
      flush.addPage(vpn);
      cleared++;
      // releaseLeafFrames for one page, with the frame index looked up once.
      const f = allocator.frameIndex(pa);
      if (f < 0 || allocator.userRefsAt(f) === 0) continue; // not a USER frame
      if (onList !== undefined && onList[f] === 1) k.reclaimer.unevictable.unmapped(f, pa); // munlock_vma_folio
      rmap.removeAt(f, space, vpn);
      allocator.unrefAt(f, pa);
      if (frameType[f]! >= 0) freeSwapCacheIfUnmapped(k, pa);
    }
    space.residentPages -= cleared;
    this.removed += cleared;
  }

  /**
   * The class of the level-1 descriptor (lo, hi) — non-address bits (kLo, kHi), address bits
   * reading `pa` — for every descriptor with the same non-address bits: decoded once per zap.
   */
  private classOf(lo: number, hi: number, kLo: number, kHi: number, pa: number): number {
    const { keysLo, keysHi, classes } = this;
    for (let i = 0; i < classes.length; i++) if (keysLo[i] === kLo && keysHi[i] === kHi) return classes[i]!;
    const e = this.k.arch.codec.decode(lo, hi, 1);
    let cls = SKIP;
    if (e.kind === 'leaf') {
      // "template | PA" exactly, for a template verified against the codec (leafTemplate).
      cls = e.pa === pa && this.isTemplate(e.attrs, kLo, kHi) ? FAST : SLOW;
    }
    if (classes.length < 16) {
      keysLo.push(kLo);
      keysHi.push(kHi);
      classes.push(cls);
    }
    return cls;
  }

  /** True when `attrs` have a verified level-1 template whose bits are (kLo, kHi). */
  private isTemplate(attrs: LeafAttributes, kLo: number, kHi: number): boolean {
    let t: LeafTemplate | undefined;
    try {
      t = leafTemplate(this.k.arch, attrs, 1);
    } catch {
      return false; // attributes the codec decodes but cannot encode: the per-leaf path
    }
    return t !== undefined && t.lo === kLo && t.hi === kHi;
  }
}
