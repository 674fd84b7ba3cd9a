/**
 * Reference bits: the hardware accessed flag (AArch64 AF, descriptor bit 10; x86 A, bit 5) read
 * and cleared in the page tables, as a kernel's page reclaim and working-set sampling use it.
 * These are the `isReferenced` / `clearReferenced` callbacks of a `ReplacementPolicy` on the
 * kernel side: a frame is referenced when any mapping of it (found through the reverse map) has
 * its accessed flag set (Linux `folio_referenced`).
 *
 * Clearing follows Linux's `ptep_clear_flush_young` of each architecture, chosen by the backend's
 * `capabilities.flushOnAccessedClear` (the kernel never asks which architecture it runs on):
 *
 * - arm64 (`flushOnAccessedClear: true`): after clearing AF the page's TLB entry is invalidated
 *   (`flush_tlb_page_nosync`: TLBI VALE1IS). A cached translation would otherwise keep being used
 *   without a walk, so the next access would neither take the Access flag fault (software AF,
 *   TCR_EL1.HA = 0) nor let the walker set AF again (hardware AF, HA = 1): the page would look
 *   idle while in use. After the invalidation the next access walks and sets AF again (arch-facts
 *   A7 step 4, A10). Linux elides the trailing DSB; the simulator's TLB operations are immediate.
 * - x86 (`flushOnAccessedClear: false`): deliberately no flush. Clearing A without INVLPG cannot
 *   corrupt anything; a stale TLB entry only makes the bit less precise (the CPU sets A again on
 *   the next walk, after a context switch or any flush; arch-facts B7), and Linux accepts that to
 *   save the IPIs (`arch/x86/mm/pgtable.c`, `ptep_clear_flush_young`).
 *
 * Strict TLB mode accepts exactly this: on x86 a TLB hit on a translation whose A bit is clear
 * is a hit on a translation that is still valid (the strict check compares frame and permissions,
 * which did not change); on arm64 the obligation is created through the editor (its ledger tracks
 * it) and discharged at once, and a hit on a cached entry whose AF was cleared without it is
 * reported with software AF (the tables no longer translate without an Access flag fault; a test
 * breaks the flush on purpose).
 *
 * Huge leaves (2 MiB / 4 MiB / 1 GiB blocks) have one accessed flag for the whole block: every
 * 4 KiB frame and page of the block reads it, and clearing it through any of them clears it for
 * all of them.
 *
 * Hot path: the descriptor is read as two 32-bit halves through a reused cursor and tested with
 * the accessed-flag mask of its level, derived once from the backend's codec (encode a leaf with
 * and without `accessed`, keep the differing bits) and verified against the codec's decoding; a
 * backend whose flag cannot be isolated that way falls back to decoding every descriptor. No
 * BigInt, and no allocation unless a flag is set (then one decode confirms the entry is a leaf,
 * and on arm64 one flush obligation per mapping cleared).
 */
import type { ArchBackend, FlushObligation, PageTableCursor } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';

/** The accessed-flag mask of each leaf level (index = internal level), or undefined for "decode". */
interface AccessedMasks {
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  /** Per level: the mask was derived and verified. */
  readonly ok: Uint8Array;
  readonly flush: boolean;
}

const masksByArch = new WeakMap<ArchBackend, AccessedMasks>();
const cursors = new WeakMap<KernelContext, PageTableCursor>();

/** Derives (once per backend) the accessed-flag masks of every leaf level from the codec. */
function masksOf(k: KernelContext): AccessedMasks {
  const arch = k.arch;
  let m = masksByArch.get(arch);
  if (m !== undefined) return m;
  const g = arch.geometry;
  const levels = g.rootLevel + 1;
  const lo = new Int32Array(levels);
  const hi = new Int32Array(levels);
  const ok = new Uint8Array(levels);
  for (const level of g.leafLevels) {
    const base = k.leafAttributes(
      { user: { read: true, write: true, execute: false }, memoryType: 'normal-wb', global: false },
      level,
    );
    const pa = g.entryPages[level]! * k.bounds.pageBytes;
    const on = arch.codec.encode({ kind: 'leaf', pa, attrs: { ...base, accessed: true } }, level);
    const off = arch.codec.encode({ kind: 'leaf', pa, attrs: { ...base, accessed: false } }, level);
    const mlo = (on.lo ^ off.lo) | 0;
    const mhi = (on.hi ^ off.hi) | 0;
    if (mlo === 0 && mhi === 0) continue;
    // Verified, never trusted: the codec must read the flag from exactly these bits.
    const a = arch.codec.decode(off.lo | mlo, off.hi | mhi, level);
    const b = arch.codec.decode(on.lo & ~mlo, on.hi & ~mhi, level);
    if (a.kind !== 'leaf' || !a.attrs.accessed || b.kind !== 'leaf' || b.attrs.accessed) continue;
    lo[level] = mlo;
    hi[level] = mhi;
    ok[level] = 1;
  }
  // Linux's choice per architecture (module documentation); flushing is the safe default.
  m = { lo, hi, ok, flush: arch.description.capabilities.flushOnAccessedClear ?? true };
  masksByArch.set(arch, m);
  return m;
}

function cursorOf(k: KernelContext): PageTableCursor {
  let c = cursors.get(k);
  if (c === undefined) {
    c = k.editor.createCursor();
    cursors.set(k, c);
  }
  return c;
}

const range = { root: 0, startVpn: 0, endVpn: 1 };

/**
 * Positions the kernel's accessed-bit cursor on the entry that maps `vpn` in `space` (the first
 * entry on the walk that is not a table). False when the space has no tables, or the walk stops
 * at something that is not a leaf.
 */
function seekLeaf(k: KernelContext, space: AddressSpace, vpn: number): PageTableCursor | undefined {
  if (space.root === 0) return undefined;
  const c = cursorOf(k);
  range.root = space.root;
  range.startVpn = vpn;
  range.endVpn = vpn + 1;
  if (!c.begin(range)) return undefined;
  c.seek(1);
  return k.arch.codec.nextTable(c.lo, c.hi, c.level) === -2 ? c : undefined;
}

/** The accessed flag of the entry under `c` (a leaf, or a software / invalid entry → false). */
function accessedAt(k: KernelContext, m: AccessedMasks, c: PageTableCursor): boolean {
  const level = c.level;
  if (m.ok[level] === 1 && (c.lo & m.lo[level]!) === 0 && (c.hi & m.hi[level]!) === 0) return false;
  // Set (or no fast path): decode once to make sure it is a leaf, not a software entry's payload.
  const e = k.arch.codec.decode(c.lo, c.hi, level);
  return e.kind === 'leaf' && e.attrs.accessed;
}

/**
 * Clears the accessed flag of the leaf under `c` (known to be set) and records the page in
 * `flush` when the architecture invalidates after clearing.
 */
function clearAt(k: KernelContext, m: AccessedMasks, c: PageTableCursor): void {
  const level = c.level;
  if (m.ok[level] === 1) c.write(c.lo & ~m.lo[level]!, c.hi & ~m.hi[level]!);
  else {
    const e = k.arch.codec.decode(c.lo, c.hi, level);
    if (e.kind !== 'leaf') return;
    const raw = k.arch.codec.encode(
      { kind: 'leaf', pa: e.pa, attrs: { ...e.attrs, accessed: false } },
      level,
    );
    c.write(raw.lo, raw.hi);
  }
}

/**
 * True when the leaf mapping page `vpn` in `space` has its accessed flag set (a huge leaf: the
 * block's one flag). False when nothing maps it.
 */
export function pageReferenced(k: KernelContext, space: AddressSpace, vpn: number): boolean {
  const c = seekLeaf(k, space, vpn);
  return c !== undefined && accessedAt(k, masksOf(k), c);
}

/**
 * Test-and-clear of the accessed flag of the leaf mapping `vpn` in `space` (Linux
 * `ptep_clear_flush_young`), with the architecture's TLB invalidation (module documentation).
 * Returns whether it was set.
 */
export function clearPageReferenced(k: KernelContext, space: AddressSpace, vpn: number): boolean {
  const m = masksOf(k);
  if (!m.flush) return clearPageReferencedInto(k, space, vpn, undefined);
  const f = k.editor.newFlush({ asid: space.asid, threshold: k.flushThreshold });
  const was = clearPageReferencedInto(k, space, vpn, f);
  k.discharge(f);
  return was;
}

/**
 * As {@link clearPageReferenced}, recording the page in `flush` (when the architecture
 * invalidates after clearing, or always with `always`) instead of invalidating it at once: a
 * caller clearing many pages of one space discharges one obligation for all of them.
 */
export function clearPageReferencedInto(
  k: KernelContext,
  space: AddressSpace,
  vpn: number,
  flush: FlushObligation | undefined,
  always = false,
): boolean {
  const m = masksOf(k);
  const c = seekLeaf(k, space, vpn);
  if (c === undefined || !accessedAt(k, m, c)) return false;
  const leafVpn = c.vpn;
  clearAt(k, m, c);
  if (m.flush || always) flush?.addPage(leafVpn);
  return true;
}

function flushPage(k: KernelContext, space: AddressSpace, vpn: number): void {
  const f = k.editor.newFlush({ asid: space.asid, threshold: k.flushThreshold });
  f.addPage(vpn);
  k.discharge(f);
}

/**
 * True when any mapping of user frame `pa` (every entry of the reverse map) has its accessed
 * flag set (Linux `folio_referenced` > 0). False for a frame nothing maps.
 */
export function frameReferenced(k: KernelContext, pa: number): boolean {
  const m = masksOf(k);
  found = false;
  mask = m;
  ctx = k;
  try {
    k.rmap.forEach(pa, testMapping);
  } finally {
    ctx = undefined;
  }
  return found;
}

/**
 * Test-and-clear in every mapping of user frame `pa` (Linux `folio_referenced` with
 * `ptep_clear_flush_young` on each PTE), each followed by the architecture's TLB invalidation
 * (module documentation). Returns whether any mapping had it set.
 */
export function clearFrameReferenced(k: KernelContext, pa: number): boolean {
  const m = masksOf(k);
  found = false;
  mask = m;
  ctx = k;
  try {
    k.rmap.forEach(pa, clearMapping);
  } finally {
    ctx = undefined;
  }
  return found;
}

// The reverse map's visitors, bound once (no closure per call); the state of the one walk in
// progress lives here (the walks never nest: a visitor calls no other walk).
let found = false;
let mask: AccessedMasks | undefined;
let ctx: KernelContext | undefined;

function testMapping(space: AddressSpace, vpn: number): void {
  if (found) return;
  const k = ctx!;
  const c = seekLeaf(k, space, vpn);
  if (c !== undefined && accessedAt(k, mask!, c)) found = true;
}

function clearMapping(space: AddressSpace, vpn: number): void {
  const k = ctx!;
  const m = mask!;
  const c = seekLeaf(k, space, vpn);
  if (c === undefined || !accessedAt(k, m, c)) return;
  found = true;
  const leafVpn = c.vpn;
  clearAt(k, m, c);
  if (m.flush) flushPage(k, space, leafVpn);
}
