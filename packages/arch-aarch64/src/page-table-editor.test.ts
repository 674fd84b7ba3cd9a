/**
 * PageTableEditor (from @mmkit/core) on the AArch64 backend: pruning empty tables after an unmap,
 * splitting 2 MiB and 1 GiB blocks, collapsing tables back into blocks, and the Contiguous hint,
 * all with break-before-make (arch-facts A11) and nothing changed on failure.
 *
 * These tests live here rather than in core because core cannot depend on this package, not even
 * as a dev dependency: turbo rejects the cycle core ⇄ arch-aarch64 in its build graph.
 */
import {
  Access,
  BreakBeforeMakeError,
  type BreakBeforeMakePlan,
  type FlushObligation,
  InvalidArgumentError,
  type LeafAttributes,
  NotMappedError,
  OPEN_TABLE,
  PageTableEditor,
  Privilege,
  Tlb,
  type TlbInvalidation,
  UnrepresentableError,
  WalkResult,
} from '@mmkit/core';
import { createToyArch, createWalkHarness, type WalkHarness } from '@mmkit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAarch64Arch } from './backend.js';

const backend = createAarch64Arch();
const P = 4096;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

const RW = { read: true, write: true, execute: false };
const RO = { read: true, write: false, execute: false };
const RX = { read: true, write: false, execute: true };
/** A user data page: EL0/EL1 read-write, accessed and dirty (Linux DBM scheme with HD). */
const DATA: LeafAttributes = {
  user: RW,
  kernel: RW,
  global: false,
  memoryType: 'normal-wb',
  accessed: true,
  dirty: true,
  software: 0,
  contiguous: false,
};
const TEXT: LeafAttributes = { ...DATA, user: RX, kernel: RO, dirty: false };
/** A global kernel mapping (nG = 0). */
const KDATA: LeafAttributes = { ...DATA, user: { read: false, write: false, execute: false }, global: true };

/** 1 GiB of VA: the 2 MiB blocks below live here (L0 index 0, L1 index 1). */
const V2M = (1 * GiB) / P;
/** 512 GiB of VA: the 1 GiB block below (L0 index 1). */
const V1G = (512 * GiB) / P;
/** First page of the kernel half (TTBR1), as a page number. */
const KBASE = 2 ** 52 - 2 ** 36;

function harness(): WalkHarness {
  return createWalkHarness(backend);
}

/** Every table frame under both roots with its bytes, and the frame source's live count. */
function snapshot(h: WalkHarness) {
  const frames = [
    ...h.editor.tableFrames({ root: h.userRoot }),
    ...h.editor.tableFrames({ root: h.kernelRoot }),
  ];
  return {
    live: h.frames.liveFrames,
    tables: frames.map((f) => [f.pa, f.level, Buffer.from(h.memory.readBytes(f.pa, P)).toString('hex')]),
  };
}

/** What a user read of each page sees: [ok, pfn, perms, memoryType] (no side effects). */
function observe(h: WalkHarness, vpns: Iterable<number>, privilege: 0 | 1 = Privilege.User): number[][] {
  const out = new WalkResult();
  const seen: number[][] = [];
  for (const vpn of vpns) {
    const ok = h.mmu.probe(vpn, Access.Read, privilege, out);
    seen.push(ok ? [1, out.pfn, out.perms, out.memoryType] : [0, out.faultKind, out.faultLevel]);
  }
  return seen;
}

function* span(first: number, count: number, step = 1): Generator<number> {
  for (let k = 0; k < count; k++) yield first + k * step;
}

/** A discharge callback that records what it was asked to invalidate, applies it to `tlb`, and settles. */
function recorder(tlb?: Tlb, during?: () => void) {
  const needs: TlbInvalidation[] = [];
  const ops: string[] = [];
  const discharge = (f: FlushObligation) => {
    during?.();
    const need = f.need();
    if (need) {
      needs.push(need);
      for (const op of backend.tlbOperations(need)) {
        ops.push(op.name);
        if (tlb) op.apply(tlb);
      }
    }
    f.markDischarged();
  };
  return { needs, ops, discharge };
}

const NO_TLB = 'no TLB in this test';
const ignore = (f: FlushObligation) => f.ignore(NO_TLB);

function mapOk(h: WalkHarness, root: number, vpn: number, pa: number, level: number, attrs: LeafAttributes) {
  const r = h.editor.map({ root, vpn, pa, level, attrs, tableAttrs: OPEN_TABLE, source: h.frames });
  if (!r.ok) throw new Error(`map of vpn ${vpn} failed: ${r.reason}`);
}

/** Runs the phases of a plan: break, `discharge`, make; aborts (and rethrows) if either throws. */
function bbm<R>(plan: BreakBeforeMakePlan<R>, discharge: (f: FlushObligation) => void): R {
  const flush = plan.break();
  try {
    discharge(flush);
    return plan.make();
  } catch (e) {
    plan.abort();
    throw e;
  }
}

/** The old one-call split, as phases. */
function splitLeaf(
  h: WalkHarness,
  root: number,
  vpn: number,
  discharge: (f: FlushObligation) => void,
  asid = 0,
) {
  const r = h.editor.prepareSplit({ root, vpn, source: h.frames, asid });
  return r.ok ? { ok: true as const, ...bbm(r.plan, discharge) } : r;
}

/** The old one-call collapse, as phases. */
function collapseTable(
  h: WalkHarness,
  root: number,
  vpn: number,
  level: number,
  discharge: (f: FlushObligation) => void,
  asid = 0,
) {
  const r = h.editor.prepareCollapse({ root, vpn, level, source: h.frames, asid });
  return r.ok ? { ok: true as const, ...bbm(r.plan, discharge) } : r;
}

/** The old one-call Contiguous run, as phases (0 when nothing changes). */
function setContiguousRun(
  h: WalkHarness,
  root: number,
  vpn: number,
  count: number,
  on: boolean,
  discharge: (f: FlushObligation) => void,
  asid = 0,
): number {
  const plan = h.editor.prepareContiguousRun({ root, vpn, count, on, asid });
  return plan ? bbm(plan, discharge) : 0;
}

function raw(h: WalkHarness, dpa: number): bigint {
  return h.memory.read64(dpa);
}

describe('ensureTable (Linux pte_alloc / pmd_alloc)', () => {
  const VPN = V2M + 5 * 512 + 7; // a page of the sixth 2 MiB region of the first GiB

  it('makes the L3 table and the tables above it, returns the L3 table the walk reaches; a second call makes nothing', () => {
    const h = harness();
    const live = h.frames.liveFrames;
    const r = h.editor.ensureTable({
      root: h.userRoot,
      vpn: VPN,
      level: 1,
      source: h.frames,
      tableAttrs: OPEN_TABLE,
    });
    expect(r.ok && r.tablesCreated).toBe(3); // L1, L2, L3 below the L0 root
    expect(h.frames.liveFrames).toBe(live + 3);
    if (!r.ok) return;
    // The table is where a map's walk puts the leaf: mapping VPN writes entry 7 of it.
    mapOk(h, h.userRoot, VPN, 0x8000_0000, 1, DATA);
    expect(h.editor.lookup(h.userRoot, VPN).descriptorPa).toBe(r.tablePa + 7 * 8);
    expect(h.editor.ensureTable({ root: h.userRoot, vpn: VPN - 7, level: 1, source: h.frames })).toEqual({
      ok: true,
      tablePa: r.tablePa,
      tablesCreated: 0,
    });
    // level 2: the L2 table that holds the entry pointing at it.
    const l2 = h.editor.ensureTable({ root: h.userRoot, vpn: VPN, level: 2, source: h.frames });
    expect(l2.ok && l2.tablePa).toBe(h.editor.lookup(h.userRoot, VPN, 2).descriptorPa - 5 * 8);
    expect(h.frames.liveFrames).toBe(live + 3);
  });

  it('out of memory at every allocation point: nothing changes (the tables made on the way are given back)', () => {
    const outcomes: string[] = [];
    for (let budget = 0; budget <= 3; budget++) {
      const h = harness();
      h.frames.limit = budget;
      const before = snapshot(h);
      const r = h.editor.ensureTable({ root: h.userRoot, vpn: VPN, level: 1, source: h.frames });
      if (!r.ok) expect(snapshot(h)).toEqual(before);
      outcomes.push(r.ok ? `ok ${r.tablesCreated}` : r.reason);
    }
    expect(outcomes).toEqual(['no-memory', 'no-memory', 'no-memory', 'ok 3']);
  });

  it('a 2 MiB block on the way blocks it: nothing changes', () => {
    const h = harness();
    mapOk(h, h.userRoot, V2M, 0x8000_0000, 2, DATA);
    const before = snapshot(h);
    expect(h.editor.ensureTable({ root: h.userRoot, vpn: V2M + 3, level: 1, source: h.frames })).toEqual({
      ok: false,
      reason: 'blocked',
    });
    expect(snapshot(h)).toEqual(before);
  });

  it('bad options are typed errors naming the value', () => {
    const h = harness();
    expect(() => h.editor.ensureTable({ root: h.userRoot, vpn: VPN, level: 4, source: h.frames })).toThrow(
      InvalidArgumentError,
    );
    expect(() => h.editor.ensureTable({ root: h.userRoot, vpn: VPN, level: 0, source: h.frames })).toThrow(
      /ensureTable options.level/,
    );
    expect(() => h.editor.ensureTable({ root: h.userRoot, vpn: -1, level: 1, source: h.frames })).toThrow();
  });
});

describe('pruneEmptyTables (Linux free_pgtables)', () => {
  it('frees the L3, L2 and L1 tables an unmap left empty, bottom-up; never the root', () => {
    const h = harness();
    const vpn = V2M + 5;
    mapOk(h, h.userRoot, vpn, 0x8000_0000, 1, DATA);
    expect(h.editor.tableFrames({ root: h.userRoot })).toHaveLength(4);
    expect(h.frames.liveFrames).toBe(2 + 3); // two roots, L1 + L2 + L3
    h.editor.unmap(h.userRoot, vpn, h.asid)!.flush.ignore(NO_TLB);
    const r = h.editor.pruneEmptyTables({
      root: h.userRoot,
      startVpn: vpn,
      endVpn: vpn + 1,
      source: h.frames,
      baseVpn: 0,
      skipRootIndex: -1,
      asid: h.asid,
    });
    expect(r.freed).toBe(3);
    expect(h.editor.tableFrames({ root: h.userRoot })).toEqual([{ pa: h.userRoot, level: 4 }]);
    expect(h.frames.liveFrames).toBe(2);
    // One page per freed table (its first page), as a table change: TLBI VAE1IS, not VALE1IS.
    expect(r.flush.need()).toEqual({
      scope: 'page',
      asid: 1,
      vpns: [V2M, V2M, 0],
      global: false,
      leafOnly: false,
    });
    expect(backend.tlbOperations(r.flush.need()!).map((o) => o.name)).toEqual([
      'TLBI VAE1IS',
      'TLBI VAE1IS',
      'TLBI VAE1IS',
    ]);
    expect(h.memory.read64(h.userRoot)).toBe(0n);
  });

  it('keeps a table that still holds a leaf; frees only the empty sibling', () => {
    const h = harness();
    mapOk(h, h.userRoot, V2M, 0x8000_0000, 1, DATA); // L3 table A
    mapOk(h, h.userRoot, V2M + 1, 0x8000_1000, 1, DATA); // same table A
    mapOk(h, h.userRoot, V2M + 512, 0x8020_0000, 1, DATA); // L3 table B, same L2
    h.editor.unmap(h.userRoot, V2M, h.asid)!.flush.ignore(NO_TLB);
    expect(
      h.editor.pruneEmptyTables({ root: h.userRoot, startVpn: V2M, endVpn: V2M + 1, source: h.frames }).freed,
    ).toBe(0);
    h.editor.unmap(h.userRoot, V2M + 512, h.asid)!.flush.ignore(NO_TLB);
    const r = h.editor.pruneEmptyTables({
      root: h.userRoot,
      startVpn: V2M,
      endVpn: V2M + 1024,
      source: h.frames,
    });
    expect(r.freed).toBe(1); // table B; table A still maps V2M + 1, so L2 and L1 stay
    expect(h.editor.tableFrames({ root: h.userRoot })).toHaveLength(4);
    expect(observe(h, [V2M + 1])[0]![0]).toBe(1);
  });

  it('only visits tables that cover part of the range: an empty table elsewhere stays', () => {
    const h = harness();
    mapOk(h, h.userRoot, V2M, 0x8000_0000, 1, DATA);
    mapOk(h, h.userRoot, V1G, 0x8000_1000, 1, DATA);
    h.editor.unmap(h.userRoot, V2M, h.asid)!.flush.ignore(NO_TLB);
    h.editor.unmap(h.userRoot, V1G, h.asid)!.flush.ignore(NO_TLB);
    expect(
      h.editor.pruneEmptyTables({ root: h.userRoot, startVpn: V1G, endVpn: V1G + 1, source: h.frames }).freed,
    ).toBe(3);
    expect(h.editor.tableFrames({ root: h.userRoot })).toHaveLength(4); // the V2M subtree is untouched
    // The range between neighbouring VMAs: everything below 512 GiB.
    expect(
      h.editor.pruneEmptyTables({ root: h.userRoot, startVpn: 0, endVpn: V1G, source: h.frames }).freed,
    ).toBe(3);
    const none = h.editor.pruneEmptyTables({
      root: h.userRoot,
      startVpn: 0,
      endVpn: 2 ** 36,
      source: h.frames,
    });
    expect(none.freed).toBe(0);
    expect(none.flush.empty).toBe(true);
  });

  it('keeps tables holding software entries (swap slots are never lost)', () => {
    const h = harness();
    mapOk(h, h.userRoot, V2M, 0x8000_0000, 1, DATA);
    const ref = h.editor.unmap(h.userRoot, V2M, h.asid)!;
    ref.flush.ignore(NO_TLB);
    h.editor.writeEntry(ref.leaf.descriptorPa, { kind: 'software', payload: 77 }, 1);
    const before = snapshot(h);
    expect(
      h.editor.pruneEmptyTables({ root: h.userRoot, startVpn: V2M, endVpn: V2M + 1, source: h.frames }).freed,
    ).toBe(0);
    expect(snapshot(h)).toEqual(before);
    expect(h.editor.clearSoftware(h.userRoot, V2M)).toBe(77);
    expect(
      h.editor.pruneEmptyTables({ root: h.userRoot, startVpn: V2M, endVpn: V2M + 1, source: h.frames }).freed,
    ).toBe(3);
  });

  it('kernel half (TTBR1, baseVpn) and skipRootIndex', () => {
    const h = harness();
    const k = KBASE + 3 * 512;
    mapOk(h, h.kernelRoot, k, 0x4080_0000, 1, KDATA);
    h.editor.unmap(h.kernelRoot, k, 0)!.flush.ignore(NO_TLB);
    // Skipping root entry 0 (where k lives) frees nothing there.
    expect(
      h.editor.pruneEmptyTables({
        root: h.kernelRoot,
        startVpn: KBASE,
        endVpn: KBASE + 2 ** 36,
        source: h.frames,
        baseVpn: KBASE,
        skipRootIndex: 0,
      }).freed,
    ).toBe(0);
    const r = h.editor.pruneEmptyTables({
      root: h.kernelRoot,
      startVpn: k,
      endVpn: k + 1,
      source: h.frames,
      baseVpn: KBASE,
      skipRootIndex: -1,
      asid: 0,
      global: true,
    });
    expect(r.freed).toBe(3);
    expect(r.flush.need()?.global).toBe(true);
    expect(backend.tlbOperations(r.flush.need()!)[0]!.name).toBe('TLBI VAAE1IS');
  });

  it('freeing more tables than the flush threshold asks for one ASID-wide invalidation', () => {
    const h = harness();
    for (let t = 0; t < 40; t++) mapOk(h, h.userRoot, V2M + t * 512, 0x8000_0000 + t * P, 1, DATA);
    for (let t = 0; t < 40; t++) h.editor.unmap(h.userRoot, V2M + t * 512, h.asid)!.flush.ignore(NO_TLB);
    const r = h.editor.pruneEmptyTables({
      root: h.userRoot,
      startVpn: V2M,
      endVpn: V2M + 40 * 512,
      source: h.frames,
      baseVpn: 0,
      skipRootIndex: -1,
      asid: h.asid,
    });
    expect(r.freed).toBe(42);
    expect(r.flush.need()).toEqual({ scope: 'asid', asid: 1, vpns: [], global: false, leafOnly: false });
    expect(backend.tlbOperations(r.flush.need()!)[0]!.name).toBe('TLBI ASIDE1IS');
  });
});

describe('splitLeaf (break-before-make, arch-facts A11)', () => {
  it('splits a 2 MiB block into 512 pages: every translation unchanged, stale TLB entries flushed', () => {
    const h = harness();
    mapOk(h, h.userRoot, V2M, 0x8000_0000, 2, DATA);
    const pages = [...span(V2M - 1, 514)];
    const before = observe(h, pages);
    const blockRef = h.editor.lookup(h.userRoot, V2M + 9);
    expect(blockRef.level).toBe(2);
    expect(raw(h, blockRef.descriptorPa)).toBe(0x0068_0000_8000_0f41n);
    // A TLB that cached pieces of the block (as a CPU would after accesses).
    const tlb = new Tlb(1024);
    for (const v of [V2M, V2M + 9, V2M + 511])
      tlb.fill(v, 1, false, v - V2M + 0x8_0000, 0x1b, 0, 2, V2M, 512);
    let during = '';
    const rec = recorder(tlb, () => {
      during = h.editor.lookup(h.userRoot, V2M + 9).entry.kind; // the break is visible to the callback
    });
    const live = h.frames.liveFrames;
    const r = splitLeaf(h, h.userRoot, V2M + 9, rec.discharge, h.asid);
    expect(r).toEqual({ ok: true, tablePa: expect.any(Number), leafLevel: 1, entries: 512 });
    expect(during).toBe('absent');
    expect(rec.needs).toEqual([{ scope: 'page', asid: 1, vpns: [V2M], global: false, leafOnly: false }]);
    expect(rec.ops).toEqual(['TLBI VAE1IS']);
    expect([tlb.lookup(V2M, 1), tlb.lookup(V2M + 9, 1), tlb.lookup(V2M + 511, 1)]).toEqual([-1, -1, -1]);
    expect(h.frames.liveFrames).toBe(live + 1);
    expect(observe(h, pages)).toEqual(before);
    const page = h.editor.lookup(h.userRoot, V2M + 9);
    expect(page.level).toBe(1);
    expect(page.entry).toEqual({ kind: 'leaf', pa: 0x8000_9000, attrs: DATA });
    expect(raw(h, blockRef.descriptorPa)).toBe(BigInt((r as { tablePa: number }).tablePa) | 3n);
    // The 4 KiB page carries the block's attribute bits (UXN, PXN, DBM, nG, AF, SH, AP[1]):
    // block 0x0068_0000_8000_0F41 (0b01) → page 0x0068_0000_8000_9F43 (0b11), arch-facts A5.
    expect(raw(h, page.descriptorPa)).toBe(0x0068_0000_8000_9f43n);
  });

  it('splits a 1 GiB block into 512 × 2 MiB blocks, then one of those into pages: all 262144 pages unchanged', () => {
    const h = harness();
    mapOk(h, h.userRoot, V1G, 4 * GiB, 3, TEXT);
    const pages = [...span(V1G, 262144)];
    const before = observe(h, pages);
    const rec = recorder();
    const r1 = splitLeaf(h, h.userRoot, V1G + 777, rec.discharge, h.asid);
    expect(r1).toMatchObject({ ok: true, leafLevel: 2, entries: 512 });
    expect(h.editor.lookup(h.userRoot, V1G + 262143).entry).toEqual({
      kind: 'leaf',
      pa: 4 * GiB + 511 * 2 * MiB,
      attrs: TEXT,
    });
    expect(observe(h, pages)).toEqual(before);
    const r2 = splitLeaf(h, h.userRoot, V1G + 300 * 512 + 3, rec.discharge, h.asid);
    expect(r2).toMatchObject({ ok: true, leafLevel: 1, entries: 512 });
    expect(observe(h, pages)).toEqual(before);
    expect(rec.needs.map((n) => n.vpns)).toEqual([[V1G], [V1G + 300 * 512]]);
    expect(splitLeaf(h, h.userRoot, V1G + 300 * 512 + 3, ignore, h.asid)).toEqual({
      ok: false,
      reason: 'not-a-block',
    });
    expect(splitLeaf(h, h.userRoot, V2M, ignore, h.asid)).toEqual({
      ok: false,
      reason: 'not-mapped',
    });
  });

  it('a global kernel block (TTBR1) is flushed for every ASID: TLBI VAAE1IS', () => {
    const h = harness();
    const k = KBASE + 512 * 7;
    mapOk(h, h.kernelRoot, k, 0x4000_0000 + 14 * MiB, 2, KDATA);
    const rec = recorder();
    expect(splitLeaf(h, h.kernelRoot, k, rec.discharge, 0).ok).toBe(true);
    expect(rec.ops).toEqual(['TLBI VAAE1IS']);
    expect(observe(h, [k, k + 511], Privilege.Kernel).map((o) => o[1])).toEqual([
      (0x4000_0000 + 14 * MiB) / P,
      (0x4000_0000 + 14 * MiB) / P + 511,
    ]);
  });

  it('out of memory for the new table: nothing changes', () => {
    const h = harness();
    mapOk(h, h.userRoot, V2M, 0x8000_0000, 2, DATA);
    const before = snapshot(h);
    h.frames.limit = 0;
    let called = false;
    const r = splitLeaf(h, h.userRoot, V2M, () => {
      called = true;
    });
    expect(r).toEqual({ ok: false, reason: 'no-memory' });
    expect(called).toBe(false);
    expect(snapshot(h)).toEqual(before);
  });

  it('a discharge that throws or leaves the obligation unsettled: old block restored, table freed', () => {
    const h = harness();
    mapOk(h, h.userRoot, V2M, 0x8000_0000, 2, DATA);
    const before = snapshot(h);
    const boom = new Error('IPI lost');
    expect(() =>
      splitLeaf(h, h.userRoot, V2M, () => {
        throw boom;
      }),
    ).toThrow(boom);
    expect(snapshot(h)).toEqual(before);
    expect(() => splitLeaf(h, h.userRoot, V2M, () => {})).toThrow(
      /split plan: make with the flush obligation unsettled \(asid 0: vpn 0x40000, table entries\) in phase 'broken' refused/,
    );
    expect(snapshot(h)).toEqual(before);
    // Phases out of order are typed errors, and change nothing.
    const r = h.editor.prepareSplit({ root: h.userRoot, vpn: V2M, source: h.frames });
    if (!r.ok) throw new Error(r.reason);
    const prepared = snapshot(h);
    expect(() => r.plan.make()).toThrow(BreakBeforeMakeError);
    expect(snapshot(h)).toEqual(prepared);
    r.plan.abort();
    expect(snapshot(h)).toEqual(before);
    expect(() => r.plan.break()).toThrow(BreakBeforeMakeError);
    expect(() => r.plan.abort()).toThrow(BreakBeforeMakeError);
    expect(snapshot(h)).toEqual(before);
  });

  it('out of memory at every allocation point of map + split leaves memory byte-identical', () => {
    const outcomes: string[] = [];
    for (let budget = 0; budget <= 3; budget++) {
      const h = harness();
      h.frames.limit = budget;
      const s0 = snapshot(h);
      const m = h.editor.map({
        root: h.userRoot,
        vpn: V2M,
        pa: 0x8000_0000,
        level: 2,
        attrs: DATA,
        source: h.frames,
      });
      if (!m.ok) {
        expect(snapshot(h)).toEqual(s0);
        outcomes.push(`map ${m.reason}`);
        continue;
      }
      const s1 = snapshot(h);
      const pages = observe(h, span(V2M, 512));
      const r = splitLeaf(h, h.userRoot, V2M, ignore, h.asid);
      if (!r.ok) expect(snapshot(h)).toEqual(s1);
      expect(observe(h, span(V2M, 512))).toEqual(pages);
      outcomes.push(r.ok ? 'split ok' : `split ${r.reason}`);
    }
    expect(outcomes).toEqual(['map no-memory', 'map no-memory', 'split no-memory', 'split ok']);
  });

  it('splits a 4 MiB root leaf of a 32-bit, 2-level format into 1024 pages (testkit toy32)', () => {
    const toy = createToyArch();
    const h = createWalkHarness(toy);
    const r0 = h.editor.map({
      root: h.userRoot,
      vpn: 0x400,
      pa: 0x80_0000,
      level: 2,
      attrs: { ...DATA, contiguous: undefined },
      source: h.frames,
    });
    expect(r0.ok).toBe(true);
    const pages = [...span(0x3ff, 1026)];
    const before = observe(h, pages);
    const r = splitLeaf(h, h.userRoot, 0x400 + 1000, ignore);
    expect(r).toMatchObject({ ok: true, leafLevel: 1, entries: 1024 });
    expect(observe(h, pages)).toEqual(before);
    expect(collapseTable(h, h.userRoot, 0x400, 2, ignore)).toMatchObject({ ok: true });
    expect(observe(h, pages)).toEqual(before);
  });
});

describe('collapseTable (the inverse of splitLeaf)', () => {
  it('2 MiB: split then collapse gives back the identical descriptor and frees the table', () => {
    const h = harness();
    mapOk(h, h.userRoot, V2M, 0x8000_0000, 2, DATA);
    const dpa = h.editor.lookup(h.userRoot, V2M).descriptorPa;
    const original = raw(h, dpa);
    const before = snapshot(h);
    const split = splitLeaf(h, h.userRoot, V2M, ignore, h.asid);
    const rec = recorder();
    const c = collapseTable(h, h.userRoot, V2M + 100, 2, rec.discharge, h.asid);
    expect(c).toEqual({
      ok: true,
      leaf: { vpn: V2M, level: 2, descriptorPa: dpa, pa: 0x8000_0000, attrs: DATA },
      freedTablePa: (split as { tablePa: number }).tablePa,
    });
    expect(raw(h, dpa)).toBe(original);
    expect(snapshot(h)).toEqual(before);
    // 512 pages are more than the threshold: one ASID-wide invalidation (walks included).
    expect(rec.needs).toEqual([{ scope: 'asid', asid: 1, vpns: [], global: false, leafOnly: false }]);
    expect(rec.ops).toEqual(['TLBI ASIDE1IS']);
  });

  it('1 GiB: 512 × 2 MiB blocks collapse into one L1 block', () => {
    const h = harness();
    mapOk(h, h.userRoot, V1G, 4 * GiB, 3, TEXT);
    const dpa = h.editor.lookup(h.userRoot, V1G).descriptorPa;
    const original = raw(h, dpa);
    const before = snapshot(h);
    splitLeaf(h, h.userRoot, V1G, ignore, h.asid);
    const c = collapseTable(h, h.userRoot, V1G + 5, 3, ignore, h.asid);
    expect(c.ok && c.leaf.level).toBe(3);
    expect(raw(h, dpa)).toBe(original);
    expect(snapshot(h)).toEqual(before);
  });

  it('pages mapped one by one collapse into a block; accessed and dirty are merged (OR)', () => {
    const h = harness();
    const clean = { ...DATA, accessed: false, dirty: false };
    for (let i = 0; i < 512; i++)
      mapOk(h, h.userRoot, V2M + i, 0x8000_0000 + i * P, 1, i === 7 ? DATA : clean);
    const pages = [...span(V2M, 512)];
    const frames = () => observe(h, pages).map((o) => o[1]);
    const before = frames();
    // The first group carries the Contiguous hint: the block does not inherit it.
    expect(setContiguousRun(h, h.userRoot, V2M, 16, true, ignore)).toBe(16);
    const live = h.frames.liveFrames;
    const c = collapseTable(h, h.userRoot, V2M, 2, ignore, h.asid);
    expect(c.ok && c.leaf.attrs).toEqual(DATA);
    expect((raw(h, h.editor.lookup(h.userRoot, V2M).descriptorPa) >> 52n) & 1n).toBe(0n);
    expect(h.frames.liveFrames).toBe(live - 1);
    expect(frames()).toEqual(before);
    // Clean writable pages were reported without write permission (a write marks them dirty
    // first, arch-facts A10); the merged block is dirty, so every page now reports it.
    expect(observe(h, [V2M + 1, V2M + 7]).map((o) => o[2])).toEqual([27, 27]);
    // Then the now-empty L2 table is not empty: it holds the block. Prune frees nothing.
    expect(
      h.editor.pruneEmptyTables({ root: h.userRoot, startVpn: V2M, endVpn: V2M + 512, source: h.frames })
        .freed,
    ).toBe(0);
  });

  it('refuses (nothing changes): a hole, differing attributes, non-consecutive or misaligned PAs, a restricted table, no table', () => {
    const cases: [string, (h: WalkHarness) => void, string][] = [
      ['hole', (h) => h.editor.unmap(h.userRoot, V2M + 300, 1)!.flush.ignore(NO_TLB), 'not-all-leaves'],
      [
        'attributes',
        (h) => h.editor.protect({ root: h.userRoot, vpn: V2M + 3, attrs: TEXT, asid: 1 })!.ignore(NO_TLB),
        'attributes-differ',
      ],
      [
        'swapped PAs',
        (h) => {
          const a = h.editor.lookup(h.userRoot, V2M + 1);
          const b = h.editor.lookup(h.userRoot, V2M + 2);
          const [ra, rb] = [raw(h, a.descriptorPa), raw(h, b.descriptorPa)];
          h.memory.write64(a.descriptorPa, rb);
          h.memory.write64(b.descriptorPa, ra);
        },
        'not-contiguous',
      ],
      [
        'software entry',
        (h) => {
          const ref = h.editor.unmap(h.userRoot, V2M + 9, 1)!;
          ref.flush.ignore(NO_TLB);
          h.editor.writeEntry(ref.leaf.descriptorPa, { kind: 'software', payload: 3 }, 1);
        },
        'not-all-leaves',
      ],
    ];
    for (const [name, spoil, reason] of cases) {
      const h = harness();
      for (let i = 0; i < 512; i++) mapOk(h, h.userRoot, V2M + i, 0x8000_0000 + i * P, 1, DATA);
      spoil(h);
      const before = snapshot(h);
      let called = false;
      const r = collapseTable(h, h.userRoot, V2M, 2, () => {
        called = true;
      });
      expect([name, r]).toEqual([name, { ok: false, reason }]);
      expect(called).toBe(false);
      expect(snapshot(h)).toEqual(before);
    }
    // Misaligned base: pages 0x8000_1000 … (consecutive, but not 2 MiB aligned).
    const h = harness();
    for (let i = 0; i < 512; i++) mapOk(h, h.userRoot, V2M + i, 0x8000_1000 + i * P, 1, DATA);
    expect(collapseTable(h, h.userRoot, V2M, 2, ignore)).toEqual({
      ok: false,
      reason: 'not-contiguous',
    });
    // A table descriptor that restricts EL0 (APTable[0]): one block could not keep that.
    const t = harness();
    for (let i = 0; i < 512; i++) {
      const r = t.editor.map({
        root: t.userRoot,
        vpn: V2M + i,
        pa: 0x8000_0000 + i * P,
        level: 1,
        attrs: DATA,
        tableAttrs: { ...OPEN_TABLE, noUser: true },
        source: t.frames,
      });
      expect(r.ok).toBe(true);
    }
    expect(collapseTable(t, t.userRoot, V2M, 2, ignore)).toEqual({
      ok: false,
      reason: 'restricted-table',
    });
    // The L1 entry above is a table too, with the same restriction.
    expect(collapseTable(t, t.userRoot, V2M, 3, ignore)).toEqual({
      ok: false,
      reason: 'restricted-table',
    });
    // Nothing mapped at all: the walk stops at an absent L0 entry.
    expect(collapseTable(t, t.userRoot, V1G + 2 ** 27, 2, ignore)).toEqual({
      ok: false,
      reason: 'not-a-table',
    });
    mapOk(t, t.userRoot, V1G, 4 * GiB, 3, DATA);
    expect(collapseTable(t, t.userRoot, V1G, 2, ignore)).toEqual({
      ok: false,
      reason: 'not-a-table',
    });
    expect(() => collapseTable(t, t.userRoot, V1G, 4, ignore)).toThrow(UnrepresentableError);
    expect(() => collapseTable(t, t.userRoot, V1G, 1, ignore)).toThrow(UnrepresentableError);
  });

  it('a discharge that throws: the table is back in place, nothing freed', () => {
    const h = harness();
    mapOk(h, h.userRoot, V2M, 0x8000_0000, 2, DATA);
    splitLeaf(h, h.userRoot, V2M, ignore, h.asid);
    const before = snapshot(h);
    expect(() =>
      collapseTable(h, h.userRoot, V2M, 2, () => {
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(snapshot(h)).toEqual(before);
  });
});

describe('setContiguousRun (Contiguous hint, arch-facts A1 and A11)', () => {
  /** 32 pages at a 64 KiB-aligned VA and PA. */
  function pagesRig(pa = 0x8001_0000, attrs: (i: number) => LeafAttributes = () => DATA) {
    const h = harness();
    for (let i = 0; i < 32; i++) mapOk(h, h.userRoot, V2M + 16 + i, pa + i * P, 1, attrs(i));
    return h;
  }
  const contiguousBits = (h: WalkHarness, first: number, n: number) =>
    [...span(first, n)].map((v) => (raw(h, h.editor.lookup(h.userRoot, v).descriptorPa) >> 52n) & 1n);

  it('sets and clears the hint on two 16-page groups with break-before-make; walks are unchanged', () => {
    const h = pagesRig();
    const pages = [...span(V2M + 16, 32)];
    const before = observe(h, pages);
    let during: string[] = [];
    const rec = recorder(undefined, () => {
      during = pages.map((v) => h.editor.lookup(h.userRoot, v).entry.kind);
    });
    expect(setContiguousRun(h, h.userRoot, V2M + 16, 32, true, rec.discharge, h.asid)).toBe(32);
    expect(new Set(during)).toEqual(new Set(['absent']));
    expect(rec.needs).toEqual([{ scope: 'page', asid: 1, vpns: pages, global: false, leafOnly: true }]);
    expect(rec.ops).toHaveLength(32);
    expect(new Set(rec.ops)).toEqual(new Set(['TLBI VALE1IS']));
    expect(contiguousBits(h, V2M + 16, 32)).toEqual(Array(32).fill(1n));
    expect(h.editor.lookup(h.userRoot, V2M + 20).entry).toEqual({
      kind: 'leaf',
      pa: 0x8001_4000,
      attrs: { ...DATA, contiguous: true },
    });
    expect(observe(h, pages)).toEqual(before);
    // Already on: nothing to do, no discharge.
    let called = false;
    expect(
      setContiguousRun(h, h.userRoot, V2M + 16, 32, true, () => {
        called = true;
      }),
    ).toBe(0);
    expect(called).toBe(false);
    // Clear one group first, then a page of it may change.
    expect(setContiguousRun(h, h.userRoot, V2M + 32, 16, false, ignore, h.asid)).toBe(16);
    expect(contiguousBits(h, V2M + 16, 32)).toEqual([...Array(16).fill(1n), ...Array(16).fill(0n)]);
    expect(observe(h, pages)).toEqual(before);
  });

  it('merges accessed and dirty across a group so that its entries are identical', () => {
    const clean = { ...DATA, accessed: false, dirty: false };
    const h = pagesRig(0x8001_0000, (i) => (i === 4 ? DATA : clean));
    expect(setContiguousRun(h, h.userRoot, V2M + 16, 32, true, ignore)).toBe(32);
    const attrs = [...span(V2M + 16, 32)].map((v) => {
      const e = h.editor.lookup(h.userRoot, v).entry;
      return e.kind === 'leaf' ? e.attrs : undefined;
    });
    expect(attrs.slice(0, 16)).toEqual(Array(16).fill({ ...DATA, contiguous: true }));
    expect(attrs.slice(16)).toEqual(Array(16).fill({ ...clean, contiguous: true }));
  });

  it('16 × 2 MiB blocks (32 MiB, L2 hint); a block of a group cannot be split until the group is cleared', () => {
    const h = harness();
    for (let i = 0; i < 16; i++) mapOk(h, h.userRoot, V2M + i * 512, 0x8000_0000 + i * 2 * MiB, 2, DATA);
    expect(setContiguousRun(h, h.userRoot, V2M, 16, true, ignore)).toBe(16);
    const before = snapshot(h);
    expect(() => splitLeaf(h, h.userRoot, V2M + 512 * 3, ignore)).toThrow(
      /clear the hint on its whole group first/,
    );
    expect(snapshot(h)).toEqual(before);
    expect(setContiguousRun(h, h.userRoot, V2M, 16, false, ignore)).toBe(16);
    expect(splitLeaf(h, h.userRoot, V2M + 512 * 3, ignore).ok).toBe(true);
    // Now the run mixes sizes: refused.
    expect(() => setContiguousRun(h, h.userRoot, V2M, 16, true, ignore)).toThrow(/leaves of one size/);
  });

  it('refuses bad runs with typed errors; nothing changes', () => {
    const cases: [
      string,
      () => WalkHarness,
      (h: WalkHarness) => unknown,
      RegExp | (new (...a: never[]) => Error),
    ][] = [
      [
        'count',
        () => pagesRig(),
        (h) => setContiguousRun(h, h.userRoot, V2M + 16, 8, true, ignore),
        /contiguous run length: 8/,
      ],
      [
        'count 0',
        () => pagesRig(),
        (h) => setContiguousRun(h, h.userRoot, V2M + 16, 0, false, ignore),
        InvalidArgumentError,
      ],
      [
        'start',
        () => pagesRig(),
        (h) => setContiguousRun(h, h.userRoot, V2M + 24, 16, true, ignore),
        /contiguous run start: "vpn 262168"/,
      ],
      [
        'hole',
        () => pagesRig(),
        (h) => setContiguousRun(h, h.userRoot, V2M + 16, 48, true, ignore),
        NotMappedError,
      ],
      [
        'attributes',
        () => pagesRig(0x8001_0000, (i) => (i === 17 ? TEXT : DATA)),
        (h) => setContiguousRun(h, h.userRoot, V2M + 16, 32, true, ignore),
        /the attributes of the group's first leaf \(vpn 262176\)/,
      ],
      [
        'misaligned PA',
        () => pagesRig(0x8001_1000),
        (h) => setContiguousRun(h, h.userRoot, V2M + 16, 32, true, ignore),
        /consecutive output addresses from a base aligned to 65536 bytes/,
      ],
      [
        'unsettled',
        () => pagesRig(),
        (h) => setContiguousRun(h, h.userRoot, V2M + 16, 32, true, () => {}),
        /make with the flush obligation unsettled/,
      ],
    ];
    for (const [name, make, act, error] of cases) {
      const h = make();
      const before = snapshot(h);
      expect(() => act(h), name).toThrow(error as RegExp);
      expect(snapshot(h), name).toEqual(before);
    }
  });

  it('a backend without the hint refuses with UnrepresentableError (testkit toy32: contiguousEntries = 0)', () => {
    const toy = createToyArch();
    const h = createWalkHarness(toy);
    const editor = new PageTableEditor(toy, h.memory);
    expect(() => editor.prepareContiguousRun({ root: h.userRoot, vpn: 0x400, count: 16, on: true })).toThrow(
      'toy32: cannot encode at level 1: no contiguous hint (capabilities.contiguousEntries = 0)',
    );
  });
});

describe('split / collapse sequences keep every translation (fast-check)', () => {
  it('random splits and collapses over a 1 GiB block', () => {
    const h = harness();
    mapOk(h, h.userRoot, V1G, 4 * GiB, 3, DATA);
    const samples = [...span(V1G, 512, 512), ...span(V1G + 1, 512, 511), V1G + 262143];
    const expected = observe(h, samples);
    const op = fc.record({
      kind: fc.constantFrom('split' as const, 'collapse' as const),
      page: fc.integer({ min: 0, max: 262143 }),
      level: fc.constantFrom(2, 3),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        for (const o of ops) {
          const vpn = V1G + o.page;
          if (o.kind === 'split') splitLeaf(h, h.userRoot, vpn, ignore, h.asid);
          else collapseTable(h, h.userRoot, vpn, o.level, ignore, h.asid);
          expect(observe(h, samples)).toEqual(expected);
          // Every table frame the source handed out is reachable (no leak), and vice versa.
          expect(h.editor.tableFrames({ root: h.userRoot }).length + 1).toBe(h.frames.liveFrames);
        }
      }),
      { numRuns: 40 },
    );
  });
});
