/**
 * The auditor: proves the kernel's invariants from the page tables and the
 * frame table alone (DESIGN "Kernel invariants"):
 *
 * 1. every frame is in exactly one state; each user frame's refcount equals the
 *    number of leaves mapping it; each page-table frame is reachable exactly once
 *    from its owner's root (or the kernel's); nothing allocated is unreachable;
 *    no free frame is mapped; the free count matches the frame table;
 * 3. no user leaf lies outside the user half or grants more than its region
 *    of the simple layout allows (heap/stack/data: no execute; text: no write);
 * and the per-process counters match the tables.
 */
import { AuditError, hex, PAGE_SIZE, vaOf } from '@mmkit/core';
import type { Kernel } from './kernel.js';
import { FrameState } from './page-allocator.js';

/** Result of {@link audit}. */
export interface AuditReport {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly freeFrames: number;
  readonly totalFrames: number;
  readonly tableFrames: number;
  readonly userFrames: number;
  readonly kernelFrames: number;
}

/** Audits a kernel; see the module documentation. Never throws for a finding (see {@link assertAudit}). */
export function audit(kernel: Kernel): AuditReport {
  const problems: string[] = [];
  const { allocator: alloc, editor } = kernel;
  const tableOwner = new Map<number, number>(); // pa -> owner pid (-1 kernel)
  const userRefs = new Map<number, number>(); // pa -> mappings

  const claimTable = (pa: number, owner: number, where: string) => {
    const prev = tableOwner.get(pa);
    if (prev !== undefined)
      problems.push(`table frame ${hex(pa)} reachable twice (${where}, already owned by ${prev})`);
    tableOwner.set(pa, owner);
    const state = alloc.stateOf(pa);
    if (state !== FrameState.PAGE_TABLE)
      problems.push(`table frame ${hex(pa)} (${where}) is in state ${stateName(state)}, expected page-table`);
    else if (alloc.ownerOf(pa) !== owner)
      problems.push(`table frame ${hex(pa)} (${where}) has owner ${alloc.ownerOf(pa)}, expected ${owner}`);
  };

  // Kernel tables: the whole kernel root (on single-root formats also the identity map in its user
  // half), minus the recursive slot; on split-root formats also the root used while no process runs.
  const slot = kernel.recursiveSlot;
  const kernelRange = { root: kernel.kernelRoot, baseVpn: kernel.kernelRootBaseVpn, skipRootIndex: slot };
  for (const t of editor.tableFrames(kernelRange)) {
    claimTable(t.pa, -1, `kernel ${editor.levelName(t.level)}`);
  }
  if (kernel.emptyUserRoot !== kernel.kernelRoot) {
    for (const t of editor.tableFrames({ root: kernel.emptyUserRoot }))
      claimTable(t.pa, -1, `empty user root ${editor.levelName(t.level)}`);
  }
  const userAccessible = (leaf: { attrs: { user: { read: boolean; write: boolean; execute: boolean } } }) =>
    leaf.attrs.user.read || leaf.attrs.user.write || leaf.attrs.user.execute;
  editor.forEachLeaf(kernelRange, (leaf) => {
    if (userAccessible(leaf)) problems.push(`kernel leaf at ${hex(vaOf(leaf.vpn), 16)} is user-accessible`);
  });

  const { start: uStart, end: uEnd } = kernel.userVpnRange;
  for (const proc of kernel.allProcesses) {
    if (!proc.alive) {
      if (proc.root !== 0 || proc.residentPages !== 0 || proc.tablePages !== 0) {
        problems.push(
          `ended process ${proc.pid} still holds root ${hex(proc.root)}, ${proc.residentPages} pages, ${proc.tablePages} tables`,
        );
      }
      continue;
    }
    if (proc.root === 0) {
      if (proc.residentPages !== 0 || proc.tablePages !== 0)
        problems.push(`process ${proc.pid} has no root but counts pages`);
      continue;
    }
    const tables = editor.tableFrames({ root: proc.root, startVpn: uStart, endVpn: uEnd });
    for (const t of tables) claimTable(t.pa, proc.pid, `pid ${proc.pid} ${editor.levelName(t.level)}`);
    if (tables.length !== proc.tablePages)
      problems.push(
        `process ${proc.pid} counts ${proc.tablePages} table pages, tables have ${tables.length}`,
      );
    let leaves = 0;
    editor.forEachLeaf({ root: proc.root, startVpn: uStart, endVpn: uEnd }, (leaf) => {
      const va = vaOf(leaf.vpn);
      const pages = kernel.arch.geometry.entryPages[leaf.level]!;
      leaves += pages;
      if (leaf.vpn < uStart || leaf.vpn + pages > uEnd)
        problems.push(`pid ${proc.pid}: leaf ${hex(va, 16)} outside the user half`);
      // Invariant 3: every present user PTE lies inside one VMA and grants no more than it allows.
      const vma = proc.vmas.find(leaf.vpn);
      // Device/physical mappings do not own their frames (no refcount); everything else does.
      if (vma?.value.kind !== 'device') {
        for (let i = 0; i < pages; i++) {
          const pa = leaf.pa + i * PAGE_SIZE;
          if (alloc.stateOf(pa) !== undefined) userRefs.set(pa, (userRefs.get(pa) ?? 0) + 1);
        }
      }
      if (!vma || vma.endVpn < leaf.vpn + pages) {
        problems.push(`pid ${proc.pid}: ${hex(va, 16)} (${pages} pages) is mapped outside any VMA`);
        return;
      }
      const allowed = kernel.attrsFor(vma.value, leaf.level).user;
      const u = leaf.attrs.user;
      if ((u.read && !allowed.read) || (u.write && !allowed.write) || (u.execute && !allowed.execute)) {
        problems.push(
          `pid ${proc.pid}: ${hex(va, 16)} grants user ${perm(u)} but its VMA ${vma.value.name || '(anon)'} allows ${perm(allowed)}`,
        );
      }
      if (vma.value.kind === 'device' && leaf.pa !== vma.value.pa + (leaf.vpn - vma.startVpn) * PAGE_SIZE) {
        problems.push(
          `pid ${proc.pid}: device page ${hex(va, 16)} maps ${hex(leaf.pa)}, not the VMA's physical range`,
        );
      }
    });
    if (leaves !== proc.residentPages)
      problems.push(`process ${proc.pid} counts ${proc.residentPages} resident pages, tables map ${leaves}`);
  }

  // Each page of a shared object holds one reference of its own (see SharedObject).
  for (const o of kernel.sharedObjects())
    for (const pa of o.pages.values()) userRefs.set(pa, (userRefs.get(pa) ?? 0) + 1);

  let free = 0;
  let tablesN = 0;
  let userN = 0;
  let kernelN = 0;
  alloc.forEachFrame((pa, state, refcount) => {
    const refs = userRefs.get(pa) ?? 0;
    switch (state) {
      case FrameState.FREE:
        free++;
        if (refs > 0) problems.push(`free frame ${hex(pa)} is mapped ${refs} time(s)`);
        if (tableOwner.has(pa)) problems.push(`free frame ${hex(pa)} is used as a page table`);
        break;
      case FrameState.PAGE_TABLE:
        tablesN++;
        if (!tableOwner.has(pa))
          problems.push(`page-table frame ${hex(pa)} (owner ${alloc.ownerOf(pa)}) is unreachable: leaked`);
        if (refs > 0) problems.push(`page-table frame ${hex(pa)} is also mapped as user data`);
        break;
      case FrameState.USER:
        userN++;
        if (refs !== refcount)
          problems.push(
            `user frame ${hex(pa)} has refcount ${refcount} but ${refs} mapping(s)${refs === 0 ? ': leaked' : ''}`,
          );
        break;
      case FrameState.KERNEL:
        kernelN++;
        break;
      default:
        if (refs > 0) problems.push(`reserved frame ${hex(pa)} is mapped into user space`);
    }
  });
  if (free !== alloc.freeCount)
    problems.push(`allocator says ${alloc.freeCount} free frames, frame table has ${free}`);
  return {
    ok: problems.length === 0,
    problems,
    freeFrames: free,
    totalFrames: alloc.totalCount,
    tableFrames: tablesN,
    userFrames: userN,
    kernelFrames: kernelN,
  };
}

/** Audits and throws an {@link AuditError} listing every problem if any invariant is broken. */
export function assertAudit(kernel: Kernel): AuditReport {
  const r = audit(kernel);
  if (!r.ok) throw new AuditError(r.problems);
  return r;
}

function perm(p: { read: boolean; write: boolean; execute: boolean }): string {
  return `${p.read ? 'r' : '-'}${p.write ? 'w' : '-'}${p.execute ? 'x' : '-'}`;
}

function stateName(s: number | undefined): string {
  return s === undefined
    ? 'unmanaged'
    : (['free', 'reserved', 'page-table', 'user', 'kernel'][s] ?? `state ${s}`);
}
