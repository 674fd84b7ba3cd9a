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
import type { LeafAttributes, LeafTemplate } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { FrameState } from './page-allocator.js';
import { copySwapEntries } from './swap.js';
import { vmaWith } from './vma.js';

/** Whether two leaf attributes encode the same leaf (every field). */
function sameAttrs(a: LeafAttributes, b: LeafAttributes): boolean {
  return (
    a.user.read === b.user.read &&
    a.user.write === b.user.write &&
    a.user.execute === b.user.execute &&
    a.kernel.read === b.kernel.read &&
    a.kernel.write === b.kernel.write &&
    a.kernel.execute === b.kernel.execute &&
    a.memoryType === b.memoryType &&
    a.global === b.global &&
    a.accessed === b.accessed &&
    a.dirty === b.dirty &&
    a.software === b.software &&
    (a.contiguous ?? false) === (b.contiguous ?? false)
  );
}

/**
 * fork (`AddressSpace.clone`): gives the fresh, empty `child` the parent's break, entry point and
 * VMAs, then maps into it what the parent maps. Shared and device pages are shared. Private pages
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
    // VM_LOCKED is not inherited (Linux dup_mmap clears VM_LOCKED_MASK).
    child.vmas.insert(
      v.startVpn,
      v.endVpn,
      v.value.lock === 'none' ? v.value : vmaWith(v.value, { lock: 'none' }),
    );
  });
  if (parent.root === 0) return 0;
  let ok = true;
  const { editor, allocator, zeroPage, forkMode, rmap, events } = k;
  const pageBytes = k.bounds.pageBytes;
  const entryPages = k.arch.geometry.entryPages;
  const entries = k.bounds.leafTableEntries;
  const bytes = k.arch.description.descriptorBytes;
  const wide = bytes === 8;
  // Parent leaves to write-protect in phase 2: (page number, level, descriptor, frame, template
  // index) flattened; templates[i] is the read-only template of a VMA (or undefined: protect).
  const protect: number[] = [];
  const templates: (LeafTemplate | undefined)[] = [];
  const emit = events.active;
  let cowPages = 0;
  parent.vmas.forEach((vma) => {
    if (!ok) return;
    const v = vma.value;
    const share = v.shm !== undefined || v.kind === 'device';
    const cow = !share && forkMode === 'cow';
    const roAttrs = cow ? k.readOnlyAttrsFor(v, 1) : undefined;
    // Fast path (no listeners): 4 KiB leaves go into the child's leaf table through a verified
    // template ("template | PA", see leafTemplate), found once per leaf table by a walk.
    const tmpl = cow && !emit ? k.templateFor(roAttrs!) : undefined;
    templates.push(tmpl);
    const t = templates.length - 1;
    let tableVpn = -1;
    let tableBase = 0;
    editor.forEachLeaf({ root: parent.root, startVpn: vma.startVpn, endVpn: vma.endVpn }, (l) => {
      if (!ok) return;
      if (share || l.pa === zeroPage) {
        // MAP_SHARED, device pages and the zero page are shared with the child, not copied.
        if (!child.mapLeaf(l.vpn, l.pa, l.level, l.attrs)) ok = false;
        else if (v.shm) allocator.ref(l.pa);
        return;
      }
      if (!cow) {
        if (!copyLeaf(k, child, l.vpn, l.pa, l.level, l.attrs)) ok = false;
        return;
      }
      const writable = l.attrs.user.write;
      const pages = entryPages[l.level]!;
      // The child's leaf is the read-only one; a leaf that is read-only already keeps its attributes.
      const fast = tmpl !== undefined && l.level === 1 && (writable || sameAttrs(l.attrs, roAttrs!));
      if (fast && l.vpn - (l.vpn % entries) === tableVpn) {
        if (!editor.fillAbsent(tableBase + (l.vpn % entries) * bytes, l.pa, tmpl))
          throw new Error('kernel bug: the child slot of a fork is taken');
        child.residentPages++;
        if (allocator.stateOf(l.pa) === FrameState.USER) rmap.add(l.pa, child, l.vpn);
      } else {
        if (!child.mapLeaf(l.vpn, l.pa, l.level, writable ? k.readOnlyAttrsFor(v, l.level) : l.attrs)) {
          ok = false;
          return;
        }
        if (fast) {
          tableVpn = l.vpn - (l.vpn % entries);
          tableBase = editor.lookup(child.root, l.vpn).descriptorPa - (l.vpn % entries) * bytes;
        }
      }
      for (let i = 0; i < pages; i++) {
        const f = l.pa + i * pageBytes;
        if (allocator.stateOf(f) === FrameState.USER) allocator.ref(f);
      }
      cowPages += pages;
      if (writable) protect.push(l.vpn, l.level, l.descriptorPa, l.pa, l.level === 1 ? t : -1);
    });
  });
  // Swap PTEs are copied and their slots counted once more (Linux copy_nonpresent_pte).
  if (ok && parent.swapEntries > 0) {
    const { userStartVpn, userEndVpn } = k.bounds;
    ok = copySwapEntries(k, parent, child, userStartVpn, userEndVpn);
  }
  if (!ok) {
    child.clear();
    return undefined;
  }
  if (protect.length > 0) {
    // Phase 2: the parent's writable private leaves become read-only; one invalidation.
    const flush = editor.newFlush({ asid: parent.asid, threshold: k.flushThreshold });
    for (let i = 0; i < protect.length; i += 5) {
      const vpn = protect[i]!;
      const level = protect[i + 1]!;
      const tmpl = protect[i + 4]! >= 0 ? templates[protect[i + 4]!] : undefined;
      if (tmpl !== undefined) {
        const pa = protect[i + 3]!;
        editor.writeRaw(
          protect[i + 2]!,
          (tmpl.lo | (pa >>> 0)) >>> 0,
          wide ? (tmpl.hi | Math.floor(pa / 2 ** 32)) >>> 0 : 0,
        );
        flush.addPage(vpn);
        continue;
      }
      const f = editor.protect({
        root: parent.root,
        vpn,
        attrs: k.readOnlyAttrsFor(parent.vmas.find(vpn)!.value, level),
        asid: parent.asid,
      });
      if (f) flush.merge(f);
    }
    k.discharge(flush);
  }
  return cowPages;
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
