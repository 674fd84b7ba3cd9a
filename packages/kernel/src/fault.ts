/**
 * The fault handler. A CPU calls it with the walk that faulted (the walker's classification is
 * exact: it read the PTE). The seed-style entry point {@link handleSyndrome} is handed only a raw
 * syndrome, whose precision depends on the architecture (x86 #PF names no level; without NX it
 * cannot tell a fetch from a read); it therefore classifies the fault from the page tables, as
 * Linux's handle_mm_fault does, by re-walking the address without side effects.
 *
 * What each fault becomes:
 * - access flag (software-managed AF): set it, retry;
 * - alignment: SIGBUS BUS_ADRALN; address size, reserved bit, non-canonical: SIGSEGV SEGV_MAPERR;
 * - no VMA (after trying stack growth): SIGSEGV SEGV_MAPERR, named by the seed's regions;
 * - a VMA that does not allow the access: SIGSEGV SEGV_ACCERR;
 * - a present PTE below what its VMA allows: upgrade it, retry;
 * - not present: a swap entry is swapped in (swap.ts); otherwise demand paging (zero page,
 *   shared-object page, device page, huge page), retry;
 * - out of memory (for the page, a page table, or a copy-on-write copy): the OOM killer
 *   (`oom-kill.ts`) kills the process with the highest badness and the fault is retried, as
 *   Linux's page allocator does for GFP_HIGHUSER_MOVABLE (`__alloc_pages_may_oom` →
 *   `out_of_memory`); when the victim is the faulting process the fault ends with it killed.
 *   With no eligible victim, or with the kernel option `oomKiller: false`, the faulting process
 *   is killed: SIGSEGV (`SEGV_OOM`, mmkit's name for Linux's VM_FAULT_OOM kill).
 * On the soft path (copy to/from user) every refusal is EFAULT instead of a kill (the OOM
 * killer still runs: the allocation is the same; a faulting process it kills sees EFAULT).
 */
import {
  ACCESS_NAMES,
  type AccessKind,
  type AddressInput,
  FAULT_KINDS,
  Fault,
  hex,
  type LeafAttributes,
  PRIVILEGE_NAMES,
  type PrivilegeLevel,
  vaOf,
  WalkResult,
} from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import { anonVmaPrepare } from './anon-vma.js';
import type { KernelContext } from './context.js';
import { breakCowAt } from './cow.js';
import { type Cpu, FaultOutcome, type FaultOutcomeCode } from './cpu.js';
import { outOfMemory } from './oom-kill.js';
import { FrameState } from './page-allocator.js';
import type { KillReason, KillSignal, Process } from './process.js';
import { reclaimOnOom } from './reclaim.js';
import { allocSlowPath, processOfSpace } from './slow-path.js';
import { countFault as countMinorMajor, NOT_SWAPPED, swapInIfSwapped } from './swap.js';
import { checkedAddress, invalidArgument, PROT } from './syscalls.js';
import { isCowVma, type ProcessVma, type VmaValue } from './vma.js';
import { countFault } from './working-set.js';

const SEGV_MAPERR: KillSignal = { signal: 'SIGSEGV', code: 'SEGV_MAPERR' };
const SEGV_ACCERR: KillSignal = { signal: 'SIGSEGV', code: 'SEGV_ACCERR' };
const SEGV_OOM: KillSignal = { signal: 'SIGSEGV', code: 'SEGV_OOM' };
const BUS_ADRALN: KillSignal = { signal: 'SIGBUS', code: 'BUS_ADRALN' };

/**
 * What the last fault's handler did (the `resolution` of its event and of the per-resolution
 * counts), set by every path that decides an outcome. The handler returns only the outcome code:
 * no result object per fault (it runs once per demand fault), and nothing keeps the string
 * beyond the handler's own caller.
 */
let resolved = '';

/** Records `how` as the resolution and returns `outcome`. */
function decide(outcome: FaultOutcomeCode, how: string): FaultOutcomeCode {
  resolved = how;
  return outcome;
}

/** Handles a fault the CPU raised for `vpn`; emits the fault event before the handler's own events. */
export function handleFault(
  k: KernelContext,
  cpu: Cpu,
  proc: Process,
  vpn: number,
  offset: number,
  access: AccessKind,
  privilege: PrivilegeLevel,
  r: WalkResult,
  soft: boolean,
): FaultOutcomeCode {
  const kind = r.faultKind;
  let outcome: FaultOutcomeCode;
  if (!k.events.active) outcome = resolveFault(k, proc, vpn, access, r, soft);
  else {
    // Report the fault before what its handler did (allocations, mappings, a kill).
    outcome = k.events.hold(
      () => resolveFault(k, proc, vpn, access, r, soft),
      () => emitFault(k, cpu, proc, vpn, offset, access, privilege, r, resolved),
    );
  }
  const how = resolved;
  countFault(proc, kind, how);
  if (outcome === FaultOutcome.Retry) countMinorMajor(proc, how);
  // kswapd does not run here but when the kernel call ends (reclaim.ts): run between the fault
  // and the access it retries, it could take the very page just faulted in, again and again.
  return outcome;
}

const RECLAIMED_ON_OOM = 'direct reclaim (out of memory), retry';

/**
 * {@link reclaimOnOom} with the USER frame of the 4 KiB leaf at `vpn` (the page a copy-on-write
 * fault failed to copy) holding one more reference for the duration: reclaim treats it as pinned.
 */
function reclaimPinning(k: KernelContext, space: AddressSpace, vpn: number): boolean {
  const ref = space.lookup(vpn);
  const pa =
    ref?.entry.kind === 'leaf' && ref.level === 1 && k.allocator.stateOf(ref.entry.pa) === FrameState.USER
      ? ref.entry.pa
      : 0;
  if (pa !== 0) k.allocator.ref(pa);
  try {
    return reclaimOnOom(k);
  } finally {
    if (pa !== 0) k.allocator.unref(pa);
  }
}

/**
 * Resolves a fault. An allocation that fails — no free frame, or one that would take the free
 * count below the min watermark's reserve (reclaim.ts) — changes nothing and runs direct reclaim,
 * then the OOM killer (see below).
 */
function resolveFault(
  k: KernelContext,
  proc: Process,
  vpn: number,
  access: AccessKind,
  r: WalkResult,
  soft: boolean,
): FaultOutcomeCode {
  const space = proc.space;
  const kind = r.faultKind;
  if (kind === Fault.AccessFlag) {
    // Software access-flag management: set AF and retry (no TLBI needed: AF=0 is never cached).
    space.setAccessed(vpn);
    return decide(FaultOutcome.Retry, 'access flag set');
  }
  if (kind === Fault.Alignment) return deny(k, proc, soft, 'alignment fault', BUS_ADRALN);
  if (kind !== Fault.Translation && kind !== Fault.Permission) {
    // Address size, reserved bit, non-canonical (#GP): nothing a VMA can fix.
    return deny(k, proc, soft, access === 2 ? 'exec fault' : 'invalid address', SEGV_MAPERR);
  }
  const vma = space.vmas.find(vpn) ?? growStack(space, vpn);
  if (vma === undefined) {
    // SEGV_MAPERR, named as the seed names it by the simple layout's regions.
    const region = regionOfVpn(space, vpn);
    const reason: KillReason =
      access === 2
        ? 'exec fault'
        : region === 'stack-guard'
          ? 'stack overflow'
          : region === 'text'
            ? 'text fault'
            : 'invalid address';
    return deny(k, proc, soft, reason, SEGV_MAPERR);
  }
  // What the VMA allows is what its encodable leaf grants the user (PROT_WRITE implies read, and
  // on x86 PROT_EXEC implies read too), so the check and the page tables can never disagree.
  const allowed = userPermsOf(k, vma.value);
  if (!(access === 0 ? allowed.read : access === 1 ? allowed.write : allowed.execute)) {
    return deny(k, proc, soft, access === 2 ? 'exec fault' : 'permission fault', SEGV_ACCERR);
  }
  if (kind === Fault.Permission) {
    if (access === 1 && isCowVma(vma.value)) {
      // A write to a present read-only page of a private writable VMA: copy-on-write (or the
      // zero page), classified from the PTE the walk found, as Linux's do_wp_page; the walk's
      // leaf descriptor is handed on (no second walk). A page MADV_FREE made clean is made dirty
      // again, which cancels the advice (cow.ts).
      const resolution = breakCowAt(k, space, vpn, vma.value, r.faultLevel, r.descriptorPa);
      if (resolution === undefined) {
        // Out of memory: direct reclaim, then the CPU retries from the walk; nothing reclaimable:
        // the OOM killer (oom-kill.ts). The page being copied is pinned across the reclaim, as
        // do_wp_page holds a reference on it (folio_get) through wp_page_copy's allocation, whose
        // direct reclaim then cannot free it (folio_ref_freeze fails on the extra reference).
        // Without the pin, reclaim could free that very page (a clean swap-cache page just
        // swapped in, shared with a child), the retry swap it in again, and so on for ever.
        if (reclaimPinning(k, space, vpn)) return decide(FaultOutcome.Retry, RECLAIMED_ON_OOM);
        return oomRetry(k, proc, vma, vpn, access, soft, true);
      }
      return decide(FaultOutcome.Retry, resolution);
    }
    // The VMA allows it but the PTE does not (a lazily upgraded PTE): bring it up to the VMA.
    space.upgradeLeaf(vpn, vma.value, access === 1);
    return decide(FaultOutcome.Retry, 'PTE upgraded to the VMA permissions');
  }
  let how = faultIn(k, space, vpn, vma, r, access);
  // Out of memory (nothing changed): direct reclaim and try again while it frees something. The
  // page is not present, so reclaim cannot take it, and the walk's result stays valid.
  while (how === undefined && reclaimOnOom(k)) how = faultIn(k, space, vpn, vma, r, access);
  if (how !== undefined) return decide(FaultOutcome.Retry, how);
  return oomRetry(k, proc, vma, vpn, access, soft, false);
}

// A one-entry cache of the last VMA value's user permissions, per kernel: a process faulting in
// a range asks about the same value every time, and attrsFor validates its argument and looks its
// memory type up by name. VMA values are immutable (a change makes a new value), so identity is
// enough.
let permsKernel: KernelContext | undefined;
let permsValue: VmaValue | undefined;
let permsUser: LeafAttributes['user'] | undefined;

/** What `k.attrsFor(v)` grants the user (see resolveFault). */
function userPermsOf(k: KernelContext, v: VmaValue): LeafAttributes['user'] {
  if (v === permsValue && k === permsKernel) return permsUser!;
  const user = k.attrsFor(v).user;
  permsKernel = k;
  permsValue = v;
  permsUser = user;
  return user;
}

const retryWalk = new WalkResult();

/**
 * After a fault's allocation failed (having changed nothing): runs the OOM killer and retries the
 * copy-on-write break (`cow`) or the fault-in until it succeeds, the faulting process itself is
 * the victim, or nobody is eligible. Each round kills one process, so it ends. Only reached on
 * the failure path (no closure in `resolveFault`: a captured local would cost every fault a
 * context allocation).
 */
function oomRetry(
  k: KernelContext,
  proc: Process,
  vma: ProcessVma,
  vpn: number,
  access: AccessKind,
  soft: boolean,
  cow: boolean,
): FaultOutcomeCode {
  const space = proc.space;
  for (;;) {
    if (!k.oomKiller) return deny(k, proc, soft, 'out of memory', SEGV_OOM);
    const victim = outOfMemory(k, { proc, allocation: `page fault at ${hex(vaOf(vpn))}` });
    // No eligible victim (every process oom_score_adj -1000): Linux panics; mmkit kills the faulting process.
    if (victim === undefined) return deny(k, proc, soft, 'out of memory', SEGV_OOM);
    if (victim === proc) {
      const sig = proc.killSignal!;
      return soft
        ? decide(FaultOutcome.Refused, 'EFAULT (killed by the OOM killer)')
        : decide(FaultOutcome.Killed, `killed: out of memory (${sig.signal} ${sig.code}, OOM killer)`);
    }
    // The retries take the general path (a fresh walk result): the kill ran other code.
    retryWalk.faultLevel = 0;
    retryWalk.descriptorPa = 0;
    const how = cow ? space.breakCow(vpn, vma.value) : faultIn(k, space, vpn, vma, retryWalk, access);
    if (how !== undefined) return decide(FaultOutcome.Retry, `${how} (after an OOM kill)`);
  }
}

function deny(
  k: KernelContext,
  proc: Process,
  soft: boolean,
  reason: KillReason,
  signal: KillSignal,
): FaultOutcomeCode {
  if (soft) return decide(FaultOutcome.Refused, `EFAULT (${reason})`);
  k.kill(proc, reason, signal);
  return decide(FaultOutcome.Killed, `killed: ${reason} (${signal.signal} ${signal.code})`);
}

/**
 * Stack growth: a fault below a grows-down VMA, not below the process's stack limit (STACK_LOW)
 * and not within the guard gap above the previous mapping, extends the stack to that page.
 */
function growStack(space: AddressSpace, vpn: number): ProcessVma | undefined {
  const above = space.vmas.findFirstAtOrAfter(vpn);
  if (!above?.value.growsDown || vpn < space.vpn.stackLow) return undefined;
  const below = space.vmas.findLastBefore(vpn);
  const gap = space.vpn.stackLow - space.vpn.guard;
  if (below && below.endVpn + gap > vpn) return undefined;
  // Linux expand_downwards: `anon_vma_prepare(vma)` before the stack grows.
  const grown = space.vmas.insert(vpn, above.startVpn, above.value);
  if (grown.value.anonVmaId === 0) anonVmaPrepare(space, grown);
  return grown;
}

/** Maps the page (or huge page) for a not-present fault inside `vma`. Returns how, or undefined when out of memory. */
function faultIn(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  vma: ProcessVma,
  r: WalkResult,
  access: AccessKind,
): string | undefined {
  const v = vma.value;
  const index = vpn - vma.startVpn;
  if (v.kind === 'device') {
    // remap_pfn_range → remap_pte_range: pte_mkspecial(pfn_pte(pfn, prot)) (a special leaf).
    const ok = space.mapPage(vpn, v.pa + index * k.bounds.pageBytes, k.specialAttrs(k.attrsFor(v))).ok;
    return ok ? 'device page mapped' : undefined;
  }
  if (v.shm) {
    const obj = v.shm;
    const idx = v.offsetPages + index;
    let pa = obj.pages.get(idx);
    const fresh = pa === undefined;
    if (pa === undefined) {
      pa = k.allocator.alloc('user', -1);
      if (pa === 0) return undefined;
    } else k.allocator.ref(pa);
    // Linux finish_fault → set_pte_range: mk_pte(page, vm_page_prot) (young), and on a write
    // fault maybe_mkwrite(pte_mkdirty(entry)); a read fault leaves the writable leaf clean.
    if (!space.mapPage(vpn, pa, access === 1 ? k.dirtyAttrsFor(v) : k.attrsFor(v)).ok) {
      k.allocator.unref(pa);
      return undefined;
    }
    if (!fresh) return 'shared page mapped';
    obj.pages.set(idx, pa); // the object's own reference is the allocation's…
    k.allocator.ref(pa); // …and the PTE holds one more
    return 'demand-zero shared page';
  }
  if (space.swapEntries > 0 && isCowVma(v)) {
    // A swapped-out page (Linux do_swap_page).
    const how = swapInIfSwapped(k, space, vpn, v, access === 1);
    if (how !== NOT_SWAPPED) return how;
  }
  if (v.huge) {
    const how = faultInHuge(k, space, vpn, vma, access);
    if (how) return how;
  } else if (access !== 1 && k.useZeroPage && isCowVma(v)) {
    // A read (or fetch) of private anonymous memory maps the shared zero page read-only (Linux
    // do_anonymous_page without FAULT_FLAG_WRITE); the first write replaces it (breakCow).
    return space.mapZeroPage(vpn, v) ? 'zero page mapped (read-only)' : undefined;
  }
  if (v.prot === (PROT.READ | PROT.WRITE) && !v.huge) {
    if (!demandZero(k, space, vpn, r)) return undefined;
    if (v.anonVmaId === 0) anonVmaPrepare(space, vma); // do_anonymous_page: the VMA's first page
    // Whole literals (no string built per fault).
    return v.name === '[stack]'
      ? 'demand-zero stack page'
      : v.name === '[heap]'
        ? 'demand-zero heap page'
        : 'demand-zero anonymous page';
  }
  // do_anonymous_page's own page: young, and made writable and dirty in a VM_WRITE VMA whatever
  // the access (`if (vma->vm_flags & VM_WRITE) entry = pte_mkwrite(pte_mkdirty(entry))`).
  if (space.allocPage(vpn, k.dirtyAttrsFor(v)) === 0) return undefined;
  if (v.anonVmaId === 0) anonVmaPrepare(space, vma); // do_anonymous_page: the VMA's first page
  return 'demand-zero page';
}

/**
 * A huge leaf (2 MiB / 4 MiB / 1 GiB) for a fault in a MAP_HUGETLB VMA, when a whole aligned one
 * fits and is free. Its bits are hugetlb's (`hugetlb_no_page` → `make_huge_pte`, young): a write
 * fault gets it writable and dirty (`huge_pte_mkwrite(huge_pte_mkdirty(…))`, as `hugetlb_wp`
 * then leaves a private one), a read fault on a private mapping read-only and clean
 * (`huge_pte_wrprotect`; its first write is `hugetlb_wp`'s reuse, cow.ts).
 */
function faultInHuge(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  vma: ProcessVma,
  access: AccessKind,
): string | undefined {
  const g = k.arch.geometry;
  if (!space.ensureRoot()) return undefined;
  for (const level of [...g.leafLevels].sort((a, b) => b - a)) {
    if (level === 1) break;
    const pages = g.entryPages[level]!;
    const base = vpn - (vpn % pages);
    if (base < vma.startVpn || base + pages > vma.endVpn) continue;
    const ref = k.editor.lookup(space.root, vpn);
    if (ref.entry.kind !== 'absent' || ref.level < level) continue; // a smaller table already exists
    const pa = k.allocator.allocContiguous(pages, pages, 'user', space.pid);
    if (pa === 0) continue;
    const v = vma.value;
    const attrs = access === 1 || !isCowVma(v) ? k.dirtyAttrsFor(v, level) : k.readOnlyAttrsFor(v, level);
    if (!space.mapLeaf(base, pa, level, attrs)) {
      k.allocator.freeContiguous(pa, pages);
      continue;
    }
    k.anonExclusive.set(pa, pages); // a fresh private page, every subpage exclusive (anon-exclusive.ts)
    if (v.anonVmaId === 0) anonVmaPrepare(space, vma); // hugetlb_no_page → vmf_anon_prepare (private)
    return `huge page (${k.editor.levelName(level)} leaf, ${(pages * k.bounds.pageBytes) / 1024} KiB)`;
  }
  return undefined;
}

/**
 * Maps a fresh zero page for a demand fault. When the walk stopped at an empty slot of an existing
 * leaf table, the leaf is installed straight into that slot (the walk already found it);
 * otherwise the general path builds the missing tables. False when out of memory (nothing changed).
 */
function demandZero(k: KernelContext, space: AddressSpace, vpn: number, r: WalkResult): boolean {
  const t = k.anonTemplate;
  if (t !== undefined && r.faultLevel === 1 && r.descriptorPa !== 0 && space.root !== 0) {
    if (space.fillAbsentSlot(vpn, r.descriptorPa, t)) return true;
  }
  return space.allocPage(vpn, k.anonAttrs) !== 0;
}

function regionOfVpn(
  space: AddressSpace,
  vpn: number,
): 'heap' | 'stack' | 'stack-guard' | 'text' | 'data' | 'none' {
  const v = space.vpn;
  if (vpn >= v.heap && vpn < space.brkVpn) return 'heap';
  if (vpn >= v.stackLow && vpn < v.stackTop) return 'stack';
  if (vpn >= v.guard && vpn < v.stackLow) return 'stack-guard';
  if (vpn >= v.text && vpn < v.data) return 'text';
  if (vpn >= v.data && vpn < v.heap) return 'data';
  return 'none';
}

function emitFault(
  k: KernelContext,
  cpu: Cpu,
  proc: Process,
  vpn: number,
  offset: number,
  access: AccessKind,
  privilege: PrivilegeLevel,
  r: WalkResult,
  resolution: string,
): void {
  const d = k.arch.description;
  const level = r.faultLevel > 0 ? (d.levels[r.faultLevel - 1]?.name ?? `${r.faultLevel}`) : '-';
  const kind = FAULT_KINDS[r.faultKind] ?? 'unknown';
  const syndrome =
    r.faultKind === Fault.Alignment
      ? k.arch.syndromes.encode({ kind: 'alignment', level: 0, access, privilege })
      : (BigInt(r.syndromeHi >>> 0) << 32n) | BigInt(r.syndrome >>> 0);
  const [synReg, addrReg] = d.faultRegisters;
  const va = vaOf(vpn, offset);
  k.events.emit({
    type: 'fault',
    pid: proc.pid,
    va,
    access: ACCESS_NAMES[access],
    privilege: PRIVILEGE_NAMES[privilege],
    kind,
    level,
    syndrome,
    detail: `${synReg}=${hex(syndrome)} ${addrReg}=${hex(va, 16)} (${kind} fault at ${level}, ${PRIVILEGE_NAMES[privilege]} ${ACCESS_NAMES[access]}) on cpu ${cpu.id}`,
    resolution,
  });
}

/**
 * Seed-style entry point: a raw syndrome and fault address. The syndrome gives the access and
 * privilege (as precisely as the architecture reports them); the fault itself is classified from
 * the page tables by a side-effect-free walk, never trusted from the syndrome (a syndrome may not
 * name the kind or level, and an unknown kind must never turn a permission fault into a demand
 * fault). A walk that no longer faults (fixed meanwhile) is a spurious fault: resolved.
 * @throws DescriptorError if the syndrome is not a memory fault; InvalidArgumentError for a bad CPU.
 */
export function handleSyndrome(
  k: KernelContext,
  proc: Process,
  va: AddressInput,
  syndrome: bigint,
  cpuIndex = 0,
): 'resolved' | 'killed' {
  k.live(proc);
  const v = checkedAddress(va, 'fault address');
  if (typeof syndrome !== 'bigint' || syndrome < 0n || syndrome >= 1n << 64n)
    throw invalidArgument('syndrome', syndrome, 'a 64-bit syndrome as a bigint');
  // A non-number index would be converted to a property key (calling its toString).
  const cpu = typeof cpuIndex === 'number' ? k.cpus[cpuIndex] : undefined;
  if (cpu === undefined) throw invalidArgument('cpu', cpuIndex, `0..${k.cpus.length - 1}`);
  const dec = k.arch.syndromes.decode(syndrome);
  cpu.switchTo(proc);
  const shift = BigInt(k.arch.description.pageShift);
  const vpn = Number(v >> shift);
  const offset = Number(v & ((1n << shift) - 1n));
  const r = cpu.result;
  if (cpu.mmu.probe(vpn, dec.access, dec.privilege, r)) return 'resolved';
  // Report the syndrome that was delivered; the kind and level are the tables'.
  r.syndrome = Number(syndrome & 0xffff_ffffn);
  r.syndromeHi = Number((syndrome >> 32n) & 0xffff_ffffn);
  const out = handleFault(k, cpu, proc, vpn, offset, dec.access, dec.privilege, r, false);
  return out === FaultOutcome.Retry ? 'resolved' : 'killed';
}

const scratch = new WalkResult();

/** Faults in every page of [startVpn, endVpn) that is not present (MAP_POPULATE). False when out of memory. */
export function populateRange(
  k: KernelContext,
  space: AddressSpace,
  startVpn: number,
  endVpn: number,
): boolean {
  const g = k.arch.geometry;
  for (let vpn = startVpn; vpn < endVpn; vpn++) {
    const ref = space.lookup(vpn);
    if (ref?.entry.kind === 'leaf') {
      const pages = g.entryPages[ref.level]!;
      vpn += pages - 1 - (vpn % pages);
      continue;
    }
    const vma = space.vmas.find(vpn);
    if (!vma) continue;
    scratch.faultLevel = 0;
    scratch.descriptorPa = 0;
    // Linux populates private writable mappings with write faults (FOLL_WRITE), the rest with reads.
    const access = (vma.value.prot & PROT.WRITE) !== 0 && !vma.value.shared ? 1 : 0;
    if (
      faultIn(k, space, vpn, vma, scratch, access) === undefined &&
      !populateSlowPath(k, space, vpn, vma, access)
    )
      return false;
  }
  return true;
}

/**
 * The allocator's slow path for one page of {@link populateRange} (slow-path.ts: direct reclaim,
 * then the OOM killer, as `populate_vma_page_range` → `handle_mm_fault` runs it). False when the
 * page cannot be had: nothing to reclaim or kill, the space is not a live process's (one being
 * built: its builder retries), or the process itself was killed.
 */
function populateSlowPath(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  vma: ProcessVma,
  access: AccessKind,
): boolean {
  const proc = processOfSpace(k, space);
  if (proc === undefined) return false;
  const what = `populate at ${hex(vaOf(vpn))}`;
  while (allocSlowPath(k, proc, what)) {
    scratch.faultLevel = 0;
    scratch.descriptorPa = 0;
    if (faultIn(k, space, vpn, vma, scratch, access) !== undefined) return true;
  }
  return false;
}
