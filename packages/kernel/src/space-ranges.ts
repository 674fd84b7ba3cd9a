/**
 * Range edits of one address space's tables: huge-leaf splits, the AArch64 Contiguous hint,
 * mprotect's rewrite of a range and mremap's move of one.
 *
 * Ownership: nothing of its own. Every function works on one {@link AddressSpace} (its VMAs,
 * tables, counters and reverse-map entries); the space's methods of the same names are the entry
 * points and keep their documentation.
 *
 * Invariants: each edit is break-before-make where a live translation changes (arch-facts A11)
 * and ends with the TLB obligations it created discharged; a split that runs out of memory
 * changes nothing.
 *
 * ```
 *   protectRange ─▶ splitAt (ends) ─▶ VMAs ─▶ clearContiguous ─▶ protect each leaf ─▶ one flush
 *   moveRange ───▶ VMAs ─▶ unmap + map each leaf (rmap moved) ─▶ prune tables ─▶ one flush
 * ```
 */
import { type ArchDescription, isMmError, type LeafAttributes, modifyLeaf } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { FrameState } from './page-allocator.js';
import { moveSwapEntries } from './swap.js';
import { type VmaValue, vmaWith } from './vma.js';

/** Splits huge leaves until none straddles page `vpn`. False when out of memory. */
export function splitAt(k: KernelContext, space: AddressSpace, vpn: number): boolean {
  if (space.root === 0) return true;
  for (;;) {
    const ref = k.editor.lookup(space.root, vpn);
    if (ref.entry.kind !== 'leaf' || ref.level === 1) return true;
    const pages = k.arch.geometry.entryPages[ref.level]!;
    if (vpn % pages === 0) return true;
    // Break-before-make (arch-facts A11): build the table, break, invalidate, make.
    const prep = k.editor.prepareSplit({
      root: space.root,
      vpn,
      source: space.tableSource,
      tableAttrs: k.arch.defaults.userTable,
      asid: space.asid,
    });
    if (!prep.ok) return false;
    k.discharge(prep.plan.break());
    prep.plan.make();
    if (ref.level === 2) k.reclaimer.splitHuge(ref.entry.pa, pages); // 4 KiB frames now: into the LRU
  }
}

/** Splits every huge leaf inside [startVpn, endVpn) into smallest pages. False when out of memory. */
export function splitAll(k: KernelContext, space: AddressSpace, startVpn: number, endVpn: number): boolean {
  if (!splitAt(k, space, startVpn) || !splitAt(k, space, endVpn)) return false;
  if (space.root === 0) return true;
  for (let vpn = startVpn; vpn < endVpn; vpn++) {
    const ref = k.editor.lookup(space.root, vpn);
    if (ref.entry.kind === 'leaf' && ref.level > 1 && !splitAt(k, space, vpn + 1)) return false;
  }
  return true;
}

/** Clears the Contiguous hint of every group that has a page in [startVpn, endVpn) (before any of them changes). */
export function clearContiguous(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
): void {
  const n = k.arch.description.capabilities.contiguousEntries;
  if (n === 0 || space.root === 0) return;
  // Only device mappings ever carry the hint (see setContiguousRuns).
  let device = false;
  space.vmas.forEach(
    (v) => {
      if (v.value.kind === 'device') device = true;
    },
    Math.max(0, startVpn - n),
    endVpn + n,
  );
  if (!device) return;
  const groups = new Set<number>();
  k.editor.forEachLeaf({ root: space.root, startVpn, endVpn }, (leaf) => {
    if (leaf.attrs.contiguous && leaf.level === 1) groups.add(leaf.vpn - (leaf.vpn % n));
  });
  for (const g of groups) setContiguous(k, space, g, n, false);
}

/** AArch64 Contiguous hint on every aligned group of physically contiguous device leaves in [startVpn, endVpn). */
export function setContiguousRuns(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
): void {
  const n = k.arch.description.capabilities.contiguousEntries;
  if (n === 0 || space.root === 0) return;
  const vma = space.vmas.find(startVpn);
  if (vma?.value.kind !== 'device') return;
  const pageBytes = k.bounds.pageBytes;
  for (let g = startVpn + ((n - (startVpn % n)) % n); g + n <= endVpn; g += n) {
    const pa = vma.value.pa + (g - vma.startVpn) * pageBytes;
    if (pa % (n * pageBytes) !== 0) continue;
    try {
      setContiguous(k, space, g, n, true);
    } catch (e) {
      if (!isMmError(e)) throw e; // a group that does not qualify keeps its plain entries
    }
  }
}

/** Sets or clears the Contiguous hint on `count` leaves from `vpn` (break-before-make, arch-facts A11). */
function setContiguous(k: KernelContext, space: AddressSpace, vpn: number, count: number, on: boolean): void {
  const plan = k.editor.prepareContiguousRun({ root: space.root, vpn, count, on, asid: space.asid });
  if (plan === undefined) return;
  k.discharge(plan.break());
  plan.make();
}

/** {@link keptState}'s results: per target attributes, by the old leaf's accessed/dirty/software state. */
const keptCache = new WeakMap<LeafAttributes, Map<number, LeafAttributes>>();

/**
 * core's `modifyLeaf(d, old, next)` (Linux `pte_modify`), one object per distinct result: `next`
 * is a cached attributes object (VmaAttributes), and the result depends on `old` only through its
 * accessed, dirty and software fields, so equal inputs give the same object back — which keeps
 * the editor's and the codec's per-object caches hitting (a fresh object per leaf made mprotect
 * ~4× slower).
 */
export function keptState(d: ArchDescription, old: LeafAttributes, next: LeafAttributes): LeafAttributes {
  const key = (old.accessed ? 1 : 0) | (old.dirty ? 2 : 0) | (old.software * 4);
  let byState = keptCache.get(next);
  if (byState === undefined) {
    byState = new Map();
    keptCache.set(next, byState);
  }
  let attrs = byState.get(key);
  if (attrs === undefined) {
    attrs = modifyLeaf(d, old, next);
    byState.set(key, attrs);
  }
  return attrs;
}

/**
 * Gives [startVpn, endVpn) (fully covered by VMAs) protection `prot`: huge leaves at the ends
 * are split, VMAs split and merged, present leaves rewritten to what the VMA allows, and the
 * TLBs invalidated once. False, with nothing changed, when a split runs out of memory.
 */
export function protectRange(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
  prot: number,
): boolean {
  if (!splitAt(k, space, startVpn) || !splitAt(k, space, endVpn)) return false;
  space.vmas.update(startVpn, endVpn, (v) => (v.prot === prot ? v : vmaWith(v, { prot })));
  if (space.root === 0) return true;
  clearContiguous(k, space, startVpn, endVpn);
  const leaves: { vpn: number; level: number; pa: number; attrs: LeafAttributes }[] = [];
  // The leaves keep their dirty state (below), where reclaim reads it (try_to_unmap_one →
  // pte_dirty): the frame is not marked (change_pte_range never calls folio_mark_dirty).
  k.editor.forEachLeaf({ root: space.root, startVpn, endVpn }, (l) => {
    leaves.push({ vpn: l.vpn, level: l.level, pa: l.pa, attrs: l.attrs });
  });
  const flush = k.editor.newFlush({ asid: space.asid, threshold: k.flushThreshold });
  const d = k.arch.description;
  for (const l of leaves) {
    const vma = space.vmas.find(l.vpn)!;
    // Linux change_pte_range: ptent = pte_modify(oldpte, newprot): the new permissions with the
    // old accessed/dirty state and software bits (x86 keeps A and D; arm64 keeps AF and moves a
    // hardware-dirty state to PTE_DIRTY, and a writable dirty leaf is hardware-dirty again).
    const f = k.editor.protect({
      root: space.root,
      vpn: l.vpn,
      attrs: keptState(d, l.attrs, space.leafAttrsFor(vma.value, l.level, l.pa)),
      asid: space.asid,
    });
    if (f) flush.merge(f);
  }
  k.discharge(flush);
  return true;
}

/**
 * Moves the mapping [startVpn, endVpn) (inside one VMA whose value is `moved` after the move)
 * to [destVpn, destVpn + newPages): the VMA moves, every present page moves with its frame (no
 * copy), emptied tables are freed and the TLBs invalidated once. The caller has checked that
 * enough frames are free for the new tables and split huge leaves; a failure here is a bug.
 */
export function moveRange(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
  destVpn: number,
  newPages: number,
  moved: VmaValue,
): void {
  space.vmas.removeRange(startVpn, endVpn);
  space.vmas.insert(destVpn, destVpn + newPages, moved);
  if (space.root === 0) return;
  const { editor, arch } = k;
  const leaves: { vpn: number; pa: number; attrs: LeafAttributes }[] = [];
  editor.forEachLeaf({ root: space.root, startVpn, endVpn }, (l) =>
    leaves.push({ vpn: l.vpn, pa: l.pa, attrs: l.attrs }),
  );
  const flush = editor.newFlush({ asid: space.asid, threshold: k.flushThreshold });
  const { allocator, rmap } = k;
  for (const l of leaves) {
    const u = editor.unmap(space.root, l.vpn, space.asid);
    if (u) flush.merge(u.flush);
    if (allocator.stateOf(l.pa) === FrameState.USER)
      rmap.move(l.pa, space, l.vpn, destVpn + (l.vpn - startVpn));
    const m = editor.map({
      root: space.root,
      vpn: destVpn + (l.vpn - startVpn),
      pa: l.pa,
      level: 1,
      attrs: l.attrs,
      tableAttrs: arch.defaults.userTable,
      source: space.tableSource,
    });
    if (!m.ok) throw new Error(`kernel bug: mremap move failed after the pre-check (${m.reason})`);
  }
  if (space.swapEntries > 0) moveSwapEntries(k, space, startVpn, endVpn, destVpn);
  flush.merge(space.pruneTablesAround(startVpn, endVpn));
  k.discharge(flush);
}
