/**
 * The auditor: proves the kernel's invariants from the page tables, the frame table and the
 * TLBs alone (DESIGN "Kernel invariants"):
 *
 * 1. every frame is in exactly one state; each user frame's refcount equals the
 *    number of leaves mapping it (plus one per shared object holding it); each page-table
 *    frame is reachable exactly once from its owner's root (or the kernel's); nothing
 *    allocated is unreachable; no free or reserved frame is mapped; the free count matches
 *    the frame table;
 * 3. no user leaf lies outside the user half or outside a VMA, and none grants the user more
 *    than its VMA's `prot` allows — judged by {@link permittedUserAccess}, which is derived
 *    from `prot` and the backend's description and codec, never from the kernel's own
 *    attribute choice (so a wrong choice is caught); device leaves map their VMA's range;
 * 4. no TLB entry of any CPU translates a user page differently from (or more permissively
 *    than) the tables it would be refilled from (a removal or downgrade without invalidation);
 *
 * and the per-process counters match the tables. Copy-on-write and the reverse map:
 *
 * 5. the reverse map is the page tables read backwards: every page a leaf maps to a USER frame
 *    has exactly its entry (space, page) on that frame, and every entry is such a leaf of a live
 *    process's current space (so refcount = PTEs + shared-object holds = entries + holds); each
 *    live process's count of entries (its O(1) RSS, `Process.rssPages`) equals those pages;
 * 6. no private frame with more than one reference is mapped user-writable (a copy-on-write
 *    page must fault on its first write);
 * 7. the shared zero page is reserved, reads as zeros, has no reverse-map entries and is never
 *    mapped user-writable;
 * 8. swap (see `auditSwap` in swap.ts): every slot's count equals the swap PTEs naming it plus
 *    its swap-cache page; every swap PTE names an allocated slot and lies inside a private
 *    anonymous VMA; `swapEntries` equals each space's swap PTEs.
 * 9. reclaim (see `Reclaimer.audit` in reclaim.ts): every frame the replacement policy tracks is a
 *    USER frame.
 * 10. PG_anon_exclusive (see anon-exclusive.ts): an anon-exclusive frame is a USER frame mapped by
 *    exactly one PTE, in a private VMA, with no reference but its PTE's and the swap cache's
 *    (whose slot no swap PTE names); a user-writable leaf of a private VMA maps an
 *    anon-exclusive frame.
 * 11. anon_vma (see anon-vma.ts): a private VMA without an anon_vma maps no page but the zero
 *    page and holds no swap entry; only a VMA that has one may be marked forked, no other kind
 *    of VMA has one, and no two processes share one. Every check is listed, with the test that
 * makes it fire, in the package README ("What audit() proves").
 */
import {
  type ArchBackend,
  AuditError,
  hex,
  isMmError,
  type LeafAttributes,
  type MemoryType,
  PAGE_SIZE,
  type Permissions,
  permBit,
  vaOf,
} from '@mmkit/core';
import { auditExclusiveFrame, auditExclusiveOthers } from './anon-exclusive.js';
import { auditFrameMarks } from './frame-marks.js';
import type { Kernel } from './kernel.js';
import { FrameState } from './page-allocator.js';
import type { Process } from './process.js';
import { AUDIT_PROGRESS_FRAMES, checkProgress, type ProgressCallback } from './progress.js';
import { auditSwap } from './swap.js';
import { checkKernel, invalidArgument, PROT } from './syscalls.js';
import { isCowVma } from './vma.js';

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

/** Options of {@link audit}. */
export interface AuditOptions {
  /**
   * Told how the audit advances, for a progress bar on a large board: `('audit', done, total)`
   * with `done` of `total` frames of the frame table checked, at the start, once every
   * 2^20 frames (never per frame) and at the end. Must not call back
   * into the kernel.
   */
  readonly onProgress?: ProgressCallback;
}

/** Audits a kernel; see the module documentation. Never throws for a finding (see {@link assertAudit}). */
export function audit(kernel: Kernel, options: AuditOptions = {}): AuditReport {
  checkKernel(kernel);
  if (options === null || typeof options !== 'object')
    throw invalidArgument('audit options', options, 'an object such as { onProgress }');
  const onProgress = checkProgress('onProgress', options.onProgress);
  const problems: string[] = [];
  const { allocator: alloc, editor, rmap, zeroPage, anonExclusive: anonX } = kernel;
  const tableOwner = new Map<number, number>(); // pa -> owner pid (-1 kernel)
  const userRefs = new Map<number, number>(); // pa -> mappings
  const liveSpaces = new Map<unknown, number>(); // current space of each live process -> pid
  for (const p of kernel.liveProcesses) liveSpaces.set(p.space, p.pid);

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
  const anonVmaOwner = new Map<number, number>(); // anon_vma id → pid (invariant 11)
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
      auditRss(proc, 0, problems);
      continue;
    }
    const tables = editor.tableFrames({ root: proc.root, startVpn: uStart, endVpn: uEnd });
    for (const t of tables) claimTable(t.pa, proc.pid, `pid ${proc.pid} ${editor.levelName(t.level)}`);
    if (tables.length !== proc.tablePages)
      problems.push(
        `process ${proc.pid} counts ${proc.tablePages} table pages, tables have ${tables.length}`,
      );
    auditAnonVmas(proc, anonVmaOwner, problems);
    let leaves = 0;
    let userPages = 0; // pages of leaves mapping USER frames outside device VMAs (rssOf's count)
    const space = proc.space;
    editor.forEachLeaf({ root: proc.root, startVpn: uStart, endVpn: uEnd }, (leaf) => {
      const va = vaOf(leaf.vpn);
      const pages = kernel.arch.geometry.entryPages[leaf.level]!;
      leaves += pages;
      if (leaf.vpn < uStart || leaf.vpn + pages > uEnd)
        problems.push(`pid ${proc.pid}: leaf ${hex(va, 16)} outside the user half`);
      // Invariant 3: every present user PTE lies inside one VMA and grants no more than it allows.
      const vma = proc.vmas.find(leaf.vpn);
      // Device/physical mappings do not own their frames (no refcount); everything else does.
      if (leaf.pa === zeroPage) {
        // Invariant 7: the zero page is shared by everyone and never written.
        if (leaf.attrs.user.write || leaf.attrs.kernel.write)
          problems.push(`pid ${proc.pid}: ${hex(va, 16)} maps the zero page writable`);
      } else if (vma?.value.kind !== 'device') {
        for (let i = 0; i < pages; i++) {
          const pa = leaf.pa + i * PAGE_SIZE;
          const state = alloc.stateOf(pa);
          if (state !== undefined) userRefs.set(pa, (userRefs.get(pa) ?? 0) + 1);
          if (state !== FrameState.USER) continue;
          userPages++;
          // Invariant 5, forwards: this page's entry is in the reverse map.
          if (!rmap.has(pa, space, leaf.vpn + i))
            problems.push(
              `pid ${proc.pid}: ${hex(vaOf(leaf.vpn + i), 16)} maps frame ${hex(pa)} but the reverse map does not list it`,
            );
          // Invariant 6: a private frame shared copy-on-write is never user-writable.
          if (leaf.attrs.user.write && vma && !vma.value.shm && rmap.count(pa) > 1)
            problems.push(
              `pid ${proc.pid}: ${hex(vaOf(leaf.vpn + i), 16)} maps private frame ${hex(pa)} writable, but ${rmap.count(pa)} PTEs map it: copy-on-write broken`,
            );
          // Invariant 10: a writable private page is anon-exclusive (Linux never maps one otherwise).
          // (A frame mapped more than once is reported by invariant 6 above.)
          if (leaf.attrs.user.write && vma && isCowVma(vma.value) && rmap.count(pa) <= 1 && !anonX.has(pa))
            problems.push(
              `pid ${proc.pid}: ${hex(vaOf(leaf.vpn + i), 16)} maps private frame ${hex(pa)} writable, but it is not anon-exclusive`,
            );
        }
      }
      if (!vma || vma.endVpn < leaf.vpn + pages) {
        problems.push(`pid ${proc.pid}: ${hex(va, 16)} (${pages} pages) is mapped outside any VMA`);
        return;
      }
      // Invariant 11: a private VMA maps anonymous pages only once it has an anon_vma (fork
      // relies on it: it does not copy the tables of one without, anon-vma.ts).
      if (leaf.pa !== zeroPage && isCowVma(vma.value) && vma.value.anonVmaId === 0)
        problems.push(
          `pid ${proc.pid}: ${hex(va, 16)} maps frame ${hex(leaf.pa)} in a private VMA without an anon_vma`,
        );
      const allowed = permittedUserAccess(kernel.arch, vma.value.prot, vma.value.memoryType, leaf.level);
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
    auditRss(proc, userPages, problems);
  }

  // Each page of a shared object holds one reference of its own (see SharedObject).
  for (const o of kernel.sharedObjects())
    for (const pa of o.pages.values()) userRefs.set(pa, (userRefs.get(pa) ?? 0) + 1);
  // Invariant 8 (swap): slot counts = swap PTEs + swap cache; each swap-cache page holds a reference.
  auditSwap(kernel, problems, (pa) => userRefs.set(pa, (userRefs.get(pa) ?? 0) + 1));
  kernel.reclaimer.audit(problems);

  let free = 0;
  let tablesN = 0;
  let userN = 0;
  let kernelN = 0;
  let rmapEntries = 0;
  let exclusiveFrames = 0;
  const total = alloc.frameIndexCount;
  let visited = 0;
  let report = AUDIT_PROGRESS_FRAMES;
  onProgress?.('audit', 0, total);
  // One pass over the frame table. A free frame (almost all of them on a large board) costs only
  // its count: the checks that concern free frames are made from the other side after the pass
  // (every mapped or table frame is in userRefs / tableOwner), so the pass does no lookup per free
  // frame (a 1 TiB board: 268 M frames).
  alloc.forEachFrame((pa, state, refcount) => {
    if (onProgress !== undefined && ++visited === report && visited < total) {
      onProgress('audit', visited, total);
      report += AUDIT_PROGRESS_FRAMES;
    }
    switch (state) {
      case FrameState.FREE:
        free++;
        break;
      case FrameState.PAGE_TABLE:
        tablesN++;
        if (!tableOwner.has(pa))
          problems.push(`page-table frame ${hex(pa)} (owner ${alloc.ownerOf(pa)}) is unreachable: leaked`);
        if (userRefs.has(pa)) problems.push(`page-table frame ${hex(pa)} is also mapped as user data`);
        break;
      case FrameState.USER: {
        userN++;
        const refs = userRefs.get(pa) ?? 0;
        // Invariant 5, backwards: every entry is a leaf of a live space mapping this frame there.
        rmap.forEach(pa, (space, vpn) => {
          rmapEntries++;
          const pid = liveSpaces.get(space);
          if (pid === undefined) {
            problems.push(
              `reverse map: frame ${hex(pa)} lists page ${hex(vaOf(vpn), 16)} of an address space no live process has`,
            );
            return;
          }
          const ref = space.root === 0 ? undefined : editor.lookup(space.root, vpn);
          const span = ref?.entry.kind === 'leaf' ? kernel.arch.geometry.entryPages[ref.level]! : 0;
          const mapped = ref?.entry.kind === 'leaf' ? ref.entry.pa + (vpn % span) * PAGE_SIZE : undefined;
          if (mapped !== pa)
            problems.push(
              `reverse map: frame ${hex(pa)} lists pid ${pid} ${hex(vaOf(vpn), 16)}, which maps ${mapped === undefined ? 'nothing' : hex(mapped)}`,
            );
        });
        if (refs !== refcount)
          problems.push(
            `user frame ${hex(pa)} has refcount ${refcount} but ${refs} mapping(s)${refs === 0 ? ': leaked' : ''}`,
          );
        // Invariant 10: an anon-exclusive frame is mapped by exactly one PTE (anon-exclusive.ts).
        if (anonX.has(pa)) {
          exclusiveFrames++;
          auditExclusiveFrame(kernel, pa, refcount, refs === refcount, problems);
        }
        break;
      }
      case FrameState.KERNEL:
        kernelN++;
        break;
      default: {
        const refs = userRefs.get(pa) ?? 0;
        if (refs > 0) problems.push(`reserved frame ${hex(pa)} is mapped into user space`);
      }
    }
  });
  onProgress?.('audit', total, total);
  auditExclusiveOthers(kernel, exclusiveFrames, FrameState.USER, problems);
  auditFrameMarks(kernel, problems);
  // Free frames, from the other side: a mapped frame or a claimed table frame that is free.
  for (const [pa, refs] of userRefs) {
    if (alloc.stateOf(pa) === FrameState.FREE)
      problems.push(`free frame ${hex(pa)} is mapped ${refs} time(s)`);
  }
  for (const pa of tableOwner.keys()) {
    if (alloc.stateOf(pa) === FrameState.FREE) problems.push(`free frame ${hex(pa)} is used as a page table`);
  }
  // Reverse-map entries on frames that are not USER: the USER frames hold all of them unless some
  // frame of another state has entries, and only then is every frame asked (to name it).
  if (rmapEntries !== rmap.size) {
    alloc.forEachFrame((pa, state) => {
      if (state !== FrameState.USER && rmap.count(pa) !== 0)
        problems.push(`${stateName(state)} frame ${hex(pa)} has ${rmap.count(pa)} reverse-map entries`);
    });
  }
  // Invariant 7: the zero page.
  if (alloc.stateOf(zeroPage) !== FrameState.RESERVED)
    problems.push(
      `zero page ${hex(zeroPage)} is in state ${stateName(alloc.stateOf(zeroPage))}, expected reserved`,
    );
  if (!kernel.memory.readBytes(zeroPage, PAGE_SIZE).every((b) => b === 0))
    problems.push(`zero page ${hex(zeroPage)} was written: it no longer reads as zeros`);
  if (rmap.count(zeroPage) !== 0) problems.push(`zero page ${hex(zeroPage)} has reverse-map entries`);
  if (free !== alloc.freeCount)
    problems.push(`allocator says ${alloc.freeCount} free frames, frame table has ${free}`);
  auditTlbs(kernel, problems);
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

/**
 * Invariant 4 between operations: every non-global TLB entry for a user page must agree with
 * the tables it would be refilled from — the root of the process owning its ASID (without
 * ASIDs, the root the CPU has loaded) — map the same frame and allow no access the leaf does
 * not. An entry whose ASID belongs to no live process is stale too (the ASID may be reused).
 */
function auditTlbs(kernel: Kernel, problems: string[]): void {
  const { editor } = kernel;
  const { start: uStart, end: uEnd } = kernel.userVpnRange;
  const asids = kernel.arch.description.capabilities.asidBits > 0;
  const byAsid = new Map<number, Process>();
  for (const p of kernel.liveProcesses) byAsid.set(p.asid, p);
  const pages = kernel.arch.geometry.entryPages;
  for (const cpu of kernel.cpus) {
    const tlb = cpu.tlb;
    for (let i = 0; i < tlb.size; i++) {
      const vpn = tlb.vpn[i]!;
      if (vpn < 0 || tlb.global[i] === 1 || vpn < uStart || vpn >= uEnd) continue;
      const asid = tlb.asid[i]!;
      const where = `cpu ${cpu.id}: TLB entry for ${hex(vaOf(vpn), 16)} (ASID ${asid})`;
      let root: number;
      if (!asids) root = cpu.mmu.userRoot;
      else if (asid === 0) root = kernel.emptyUserRoot;
      else {
        const owner = byAsid.get(asid);
        if (owner === undefined) {
          problems.push(`${where} is stale: no live process has ASID ${asid}`);
          continue;
        }
        root = owner.root !== 0 ? owner.root : kernel.emptyUserRoot;
      }
      const ref = editor.lookup(root, vpn);
      if (ref.entry.kind !== 'leaf') {
        problems.push(`${where} is stale: the tables no longer map it`);
        continue;
      }
      const leafPages = pages[ref.level]!;
      const pfn = ref.entry.pa / PAGE_SIZE + (vpn % leafPages);
      if (tlb.pfn[i] !== pfn) {
        problems.push(
          `${where} is stale: it maps frame ${hex(tlb.pfn[i]! * PAGE_SIZE)}, the tables ${hex(pfn * PAGE_SIZE)}`,
        );
        continue;
      }
      const extra = tlb.perms[i]! & ~permMask(ref.entry.attrs);
      if (extra !== 0) problems.push(`${where} is stale: it allows ${permNames(extra)}, the leaf does not`);
    }
  }
}

function permMask(a: LeafAttributes): number {
  let m = 0;
  const levels: [Permissions, 0 | 1][] = [
    [a.user, 0],
    [a.kernel, 1],
  ];
  for (const [p, priv] of levels) {
    if (p.read) m |= permBit(0, priv);
    if (p.write) m |= permBit(1, priv);
    if (p.execute) m |= permBit(2, priv);
  }
  return m;
}

function permNames(mask: number): string {
  const out: string[] = [];
  for (const priv of [0, 1] as const)
    for (const access of [0, 1, 2] as const)
      if (mask & permBit(access, priv))
        out.push(`${priv === 0 ? 'user' : 'kernel'} ${['read', 'write', 'fetch'][access]}`);
  return out.join(', ');
}

const permittedCache = new WeakMap<ArchBackend, Map<string, Permissions>>();

/**
 * The most a user leaf of a VMA with `prot` may grant the user at `level`, derived without
 * the kernel's attribute chooser (so audit() can catch a wrong one):
 *
 * 1. start from `prot`, with Linux's rule that PROT_WRITE implies PROT_READ;
 * 2. if the backend has no execute-never control at all (`capabilities.noExecute === false`),
 *    readable implies executable;
 * 3. if the codec refuses every leaf whose user permissions are exactly these (whatever the
 *    kernel permissions and dirty state), the format cannot give user write or execute
 *    without user read (x86 U/S = 1): add read, and apply 2 again.
 *
 * `memoryType` is the VMA's, so a format that could not express it at all falls through to
 * the widest of these sets (the kernel could not have mapped such a leaf anyway).
 */
export function permittedUserAccess(
  arch: ArchBackend,
  prot: number,
  memoryType: MemoryType,
  level: number,
): Permissions {
  let cache = permittedCache.get(arch);
  if (cache === undefined) {
    cache = new Map();
    permittedCache.set(arch, cache);
  }
  const key = `${prot}:${memoryType}:${level}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const noNx = !arch.description.capabilities.noExecute;
  const implied = (p: Permissions): Permissions => (noNx && p.read ? { ...p, execute: true } : p);
  const write = (prot & PROT.WRITE) !== 0;
  let want = implied({ read: (prot & PROT.READ) !== 0 || write, write, execute: (prot & PROT.EXEC) !== 0 });
  if (!userLeafEncodes(arch, want, memoryType, level) && (want.write || want.execute) && !want.read)
    want = implied({ ...want, read: true });
  cache.set(key, want);
  return want;
}

/** Whether the codec accepts some leaf at `level` whose user permissions are exactly `user`. */
function userLeafEncodes(
  arch: ArchBackend,
  user: Permissions,
  memoryType: MemoryType,
  level: number,
): boolean {
  for (let k = 0; k < 8; k++) {
    const kernel = { read: (k & 1) !== 0, write: (k & 2) !== 0, execute: (k & 4) !== 0 };
    for (const dirty of [false, true]) {
      const attrs: LeafAttributes = {
        user,
        kernel,
        global: false,
        memoryType,
        accessed: true,
        dirty,
        software: 0,
      };
      try {
        arch.codec.encode({ kind: 'leaf', pa: 0, attrs }, level);
        return true;
      } catch (e) {
        if (!isMmError(e)) throw e;
      }
    }
  }
  return false;
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

/**
 * Invariant 5's count: the O(1) RSS (`Process.rssPages`, the reverse map's entries of the space)
 * equals `userPages`, the 4 KiB pages of its leaves that map USER frames outside device VMAs
 * (what `rssOf` walks for: Linux `get_mm_rss`).
 */
function auditRss(proc: Process, userPages: number, problems: string[]): void {
  const rss = proc.rssPages;
  if (rss !== userPages)
    problems.push(
      `process ${proc.pid} counts ${rss} RSS pages, tables map ${userPages} pages of user frames`,
    );
}

/** Invariant 11's per-VMA part: anon_vma identifiers (see anon-vma.ts). */
function auditAnonVmas(proc: Process, owner: Map<number, number>, problems: string[]): void {
  proc.vmas.forEach((v) => {
    const { anonVmaId: id, anonVmaForked: forked } = v.value;
    const at = `pid ${proc.pid}: VMA ${hex(vaOf(v.startVpn), 16)}`;
    if (id === 0) {
      if (forked) problems.push(`${at} is marked forked but has no anon_vma`);
      return;
    }
    if (!isCowVma(v.value)) problems.push(`${at} has an anon_vma but is not private anonymous memory`);
    const other = owner.get(id);
    if (other === undefined) owner.set(id, proc.pid);
    else if (other !== proc.pid) problems.push(`${at} shares anon_vma ${id} with pid ${other}`);
  });
}
