/**
 * Page-table walks over swap PTEs: visiting them, and the copies (fork), moves (mremap) and frees
 * (munmap, exit, exec) of swap entries (the design is described in `swap.ts`).
 */
import { hex, vaOf } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';

/** A decoded swap PTE. */
export interface SwapPte {
  readonly type: number;
  readonly offset: number;
  /** SWP_EXCLUSIVE (`pte_swp_exclusive`): the page was exclusive to this PTE when swapped out. */
  readonly exclusive?: boolean;
}

/**
 * Visits every swap PTE of `space` in [startVpn, endVpn) in address order. `visit` may rewrite the
 * current entry through `write` (used to clear it).
 */
export function forEachSwapPte(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
  visit: (
    vpn: number,
    descriptorPa: number,
    e: SwapPte,
    lo: number,
    hi: number,
    write: (lo: number, hi: number) => void,
  ) => void,
  /** Walk even when the space counts no swap entries (the auditor). */
  all = false,
): void {
  const codec = k.swap.codec;
  if (codec === undefined || space.root === 0 || (space.swapEntries === 0 && !all) || endVpn <= startVpn)
    return;
  const c = k.swap.cursor;
  const write = (lo: number, hi: number) => c.write(lo, hi);
  let more = c.begin({ root: space.root, startVpn, endVpn });
  while (more) {
    if (!c.absent) {
      const next = c.nextTable();
      if (next >= 0) {
        c.down(next);
        continue;
      }
      if (c.level === 1) {
        const e = codec.decode(c.lo, c.hi, 1);
        if (e !== undefined) visit(c.vpn, c.descriptorPa, e, c.lo, c.hi, write);
      }
    }
    more = c.next();
  }
}

/**
 * Clears every swap PTE of [startVpn, endVpn) and drops its slot count (Linux `zap_pte_range` →
 * `free_swap_and_cache`): munmap, exit, exec and mremap's shrink call it through
 * `AddressSpace.clearLeaves`. A non-present entry needs no TLB invalidation.
 */
export function zapSwapEntries(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
): void {
  const sw = k.swap;
  const freed: SwapPte[] = [];
  forEachSwapPte(k, space, startVpn, endVpn, (_vpn, _d, e, _lo, _hi, write) => {
    write(0, 0);
    freed.push(e);
  });
  for (const e of freed) {
    space.swapEntries--;
    sw.put(sw.devices[e.type]!, e.offset);
  }
}

/**
 * fork (Linux `copy_nonpresent_pte`): copies the parent's swap PTEs of [startVpn, endVpn) into
 * the child and counts each slot once more (`swap_duplicate`); an exclusive entry loses its
 * SWP_EXCLUSIVE bit in both copies (`pte_swp_clear_exclusive`: the page is shared now). The
 * child's missing tables are built here; false when out of memory (what was copied is counted,
 * so clearing the child undoes it; the parent's cleared bits stay cleared, as in Linux, which
 * only costs a later swap-in its write-without-copy shortcut).
 */
export function copySwapEntries(
  k: KernelContext,
  parent: AddressSpace,
  child: AddressSpace,
  startVpn: number,
  endVpn: number,
): boolean {
  const found: { vpn: number; lo: number; hi: number; e: SwapPte }[] = [];
  const codec = k.swap.codec;
  forEachSwapPte(k, parent, startVpn, endVpn, (vpn, _d, e, lo, hi, write) => {
    if (e.exclusive && codec !== undefined) {
      const shared = codec.encode({ type: e.type, offset: e.offset });
      write(shared.lo, shared.hi);
      found.push({ vpn, lo: shared.lo, hi: shared.hi, e });
    } else found.push({ vpn, lo, hi, e });
  });
  const sw = k.swap;
  for (const f of found) {
    if (!installSwapPte(k, child, f.vpn, f.lo, f.hi)) return false;
    child.swapEntries++;
    sw.devices[f.e.type]!.counts[f.e.offset]!++;
  }
  return true;
}

/**
 * Writes the swap PTE (lo, hi) at `vpn` of `space`, building missing tables (the editor builds
 * paths only for leaves: a placeholder leaf of the zero page is mapped, never visible to a CPU
 * since this runs before the space is used, and overwritten at once). False when out of memory.
 */
function installSwapPte(k: KernelContext, space: AddressSpace, vpn: number, lo: number, hi: number): boolean {
  if (!space.ensureRoot()) return false;
  const ref = k.editor.lookup(space.root, vpn);
  if (ref.level === 1) {
    if (ref.entry.kind !== 'absent')
      throw new Error(`kernel bug: swap PTE target ${hex(vaOf(vpn))} is taken`);
    k.editor.writeRaw(ref.descriptorPa, lo, hi);
    return true;
  }
  const m = k.editor.map({
    root: space.root,
    vpn,
    pa: k.zeroPage,
    level: 1,
    attrs: k.anonAttrs,
    tableAttrs: k.arch.defaults.userTable,
    source: space.tableSource,
  });
  if (!m.ok) return false;
  k.editor.writeRaw(k.editor.lookup(space.root, vpn).descriptorPa, lo, hi);
  return true;
}

/**
 * mremap's move (Linux `move_ptes` moves swap PTEs with the present ones): the swap PTEs of
 * [startVpn, endVpn) move to `destVpn + (vpn - startVpn)`. The caller checked that enough frames
 * are free for the destination's tables.
 */
export function moveSwapEntries(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
  destVpn: number,
): void {
  const found: { vpn: number; lo: number; hi: number }[] = [];
  forEachSwapPte(k, space, startVpn, endVpn, (vpn, _d, _e, lo, hi, write) => {
    write(0, 0);
    found.push({ vpn, lo, hi });
  });
  for (const f of found)
    if (!installSwapPte(k, space, destVpn + (f.vpn - startVpn), f.lo, f.hi))
      throw new Error('kernel bug: mremap could not move a swap PTE after the pre-check');
}
