/**
 * Conformance checks of `PageTableEditor` (@mmkit/core) on a backend: the arch-neutral part of
 * what used to be the AArch64 editor tests, so every backend runs it. Every expectation is derived
 * from the backend's description; each check returns the problems it found (empty = pass).
 *
 * Checked: map/lookup/unmap/forEachLeaf/tableFrames at every leaf level in both halves (map of a
 * new translation returns no flush obligation, unmap returns one naming the leaf's first page);
 * out of memory at every allocation point of map and split leaves memory and the frame source
 * exactly as before; split keeps every translation and collapse restores the identical
 * descriptor; break-before-make phases out of order are typed errors that change nothing, abort
 * restores; the flush ledger reports a dropped obligation and forgets a settled one; ranges are
 * validated with typed errors; clearLeaves + pruneEmptyTables give back every table; leaf
 * templates install exactly what map installs.
 *
 * Every check edits with `new PageTableEditor(backend, memory)` unless
 * {@link EditorCheckOptions.createEditor} says otherwise: the self-test injects deliberately
 * defective editors that way to prove each check can fail (`editor-defects.ts`).
 */
import {
  type ArchBackend,
  BreakBeforeMakeError,
  type BreakBeforeMakePlan,
  FlushLedger,
  type FlushObligation,
  hex,
  isMmError,
  type LeafAttributes,
  leafTemplate,
  PageTableEditor,
  type PageTableEditorOptions,
  type PhysicalMemory,
  Privilege,
  type TableFrame,
  UndischargedFlushError,
  WalkResult,
} from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { findLeafAttributes } from './codec-checks.js';
import { createWalkHarness, type WalkHarness } from './fixtures.js';
import { sampleSlots } from './walker-checks.js';

/** Creates the editor a check edits with; `options` carries the ledger of {@link checkFlushLedger}. */
export type EditorFactory = (
  backend: ArchBackend,
  memory: PhysicalMemory,
  options?: PageTableEditorOptions,
) => PageTableEditor;

/** Options of the editor checks. */
export interface EditorCheckOptions {
  /** The editor under test (default: `new PageTableEditor(backend, memory, options)`). */
  readonly createEditor?: EditorFactory;
}

const defaultEditor: EditorFactory = (backend, memory, options) =>
  new PageTableEditor(backend, memory, options);

/** A walk harness whose `editor` is the one under test. */
function editorHarness(backend: ArchBackend, options: EditorCheckOptions): WalkHarness {
  const h = createWalkHarness(backend);
  return options.createEditor ? { ...h, editor: options.createEditor(backend, h.memory) } : h;
}

/** Output address used for leaves of every size (1 GiB aligned, below 4 GiB). */
const LEAF_PA = 0x4000_0000;
const NO_TLB = 'editor check: no CPU has these tables loaded';
const ignore = (f: FlushObligation) => f.ignore(NO_TLB);

/** Kernel-readable and -writable (and, where the format can say so, user-accessible) data. */
function dataAttrs(backend: ArchBackend, level: number, global: boolean): LeafAttributes | undefined {
  const rw = { read: true, write: true, execute: false };
  return (
    findLeafAttributes(backend, level, { kernel: rw, user: rw, global, accessed: true, dirty: true }) ??
    findLeafAttributes(backend, level, { kernel: rw, global, accessed: true, dirty: true }) ??
    // Formats without execute-never (x86-32): readable means executable.
    findLeafAttributes(
      backend,
      level,
      { global, accessed: true, dirty: true },
      (a) => a.kernel.read && a.kernel.write && a.memoryType === 'normal-wb',
    )
  );
}

/** Every table frame under both roots with its bytes, and the frame source's live count. */
export function editorSnapshot(h: WalkHarness): string {
  const frames = h.editor.tableFrames({ root: h.userRoot });
  if (h.kernelRoot !== h.userRoot) frames.push(...h.editor.tableFrames({ root: h.kernelRoot }));
  const bytes = frames.map((f) => {
    const size = f.pa === h.userRoot || f.pa === h.kernelRoot ? h.backend.description.rootTableBytes : 4096;
    return `${f.pa}/${f.level}:${Buffer.from(h.memory.readBytes(f.pa, size)).toString('hex')}`;
  });
  return `${h.frames.liveFrames} ${bytes.join(' ')}`;
}

/** What a kernel read of each page sees (no side effects). */
function observe(h: WalkHarness, vpns: readonly number[]): string[] {
  const out = new WalkResult();
  return vpns.map((v) =>
    h.mmu.probe(v, 0, Privilege.Kernel, out) ? `${out.pfn}:${out.perms}` : `fault${out.faultLevel}`,
  );
}

/** The first of `vpns` whose translation is no longer what {@link observe} saw, described ('' if none). */
function firstChange(h: WalkHarness, vpns: readonly number[], seen: readonly string[]): string {
  const now = observe(h, vpns);
  const i = now.findIndex((s, k) => s !== seen[k]);
  return i < 0 ? '' : `vpn ${vpns[i]}: ${seen[i]} before, ${now[i]} after`;
}

/** Runs break → discharge → make; aborts and rethrows if discharge or make throws. */
export function runBreakBeforeMake<R>(
  plan: BreakBeforeMakePlan<R>,
  discharge: (f: FlushObligation) => void,
): R {
  const flush = plan.break();
  try {
    discharge(flush);
    return plan.make();
  } catch (e) {
    plan.abort();
    throw e;
  }
}

function attempt(p: string[], what: string, f: () => void): void {
  try {
    f();
  } catch (e) {
    p.push(`${what} threw ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Block levels (leaf levels above 1 whose level below has leaves), largest first. */
function splittableLevels(backend: ArchBackend): number[] {
  const g = backend.geometry;
  return [...g.leafLevels].filter((l) => l > 1 && g.leafLevels.includes(l - 1)).sort((a, b) => b - a);
}

/**
 * map / lookup / unmap / forEachLeaf / tableFrames at every leaf level, in both halves.
 */
export function checkEditorMapUnmap(backend: ArchBackend, options: EditorCheckOptions = {}): string[] {
  const p: string[] = [];
  const g = backend.geometry;
  for (const level of g.leafLevels) {
    const size = g.entrySizeBytes[level]!;
    for (const slot of sampleSlots(backend, size)) {
      const what = `level ${level} ${slot.half} half vpn ${slot.vpn}`;
      const attrs = dataAttrs(backend, level, slot.half === 'kernel');
      if (!attrs || LEAF_PA % size !== 0 || LEAF_PA >= 2 ** backend.description.paBits) continue;
      attempt(p, what, () => {
        const h = editorHarness(backend, options);
        const root = h.rootFor(slot.vpn);
        const before = h.frames.liveFrames;
        const inner = level > 1 ? 1 : 0; // any page of the leaf names it
        const r = h.editor.map({ root, vpn: slot.vpn + inner, pa: LEAF_PA, level, attrs, source: h.frames });
        if (!r.ok) return void p.push(`${what}: map failed: ${r.reason}`);
        if ('flush' in r) p.push(`${what}: map of a new translation returned a flush obligation`);
        if (h.frames.liveFrames - before !== r.tablesCreated)
          p.push(
            `${what}: tablesCreated ${r.tablesCreated}, frame source handed out ${h.frames.liveFrames - before}`,
          );
        const ref = h.editor.lookup(root, slot.vpn);
        if (ref.level !== level || ref.entry.kind !== 'leaf' || ref.entry.pa !== LEAF_PA)
          p.push(`${what}: lookup found ${ref.entry.kind} at level ${ref.level}`);
        const again = h.editor.map({ root, vpn: slot.vpn, pa: LEAF_PA, level, attrs, source: h.frames });
        if (again.ok || again.reason !== 'already-mapped')
          p.push(`${what}: second map gave ${JSON.stringify(again)}, expected already-mapped`);
        if (level > 1 && g.leafLevels.includes(level - 1)) {
          const inner = dataAttrs(backend, level - 1, slot.half === 'kernel');
          if (inner) {
            const b = h.editor.map({
              root,
              vpn: slot.vpn,
              pa: LEAF_PA,
              level: level - 1,
              attrs: inner,
              source: h.frames,
            });
            if (b.ok || b.reason !== 'blocked-by-leaf')
              p.push(
                `${what}: a smaller leaf inside the block gave ${JSON.stringify(b)}, expected blocked-by-leaf`,
              );
          }
        }
        const seen: number[] = [];
        h.editor.forEachLeaf({ root, startVpn: slot.vpn, endVpn: slot.vpn + g.entryPages[level]! }, (l) =>
          seen.push(l.vpn, l.level, l.pa),
        );
        if (seen.join() !== [slot.vpn, level, LEAF_PA].join())
          p.push(`${what}: forEachLeaf saw [${seen.join()}]`);
        const tables = h.editor.tableFrames({ root, startVpn: slot.vpn, endVpn: slot.vpn + 1 }).length;
        if (tables !== g.rootLevel - level + 1)
          p.push(
            `${what}: tableFrames lists ${tables} tables on the path, expected ${g.rootLevel - level + 1}`,
          );
        const u = h.editor.unmap(root, slot.vpn + inner, h.asid);
        if (!u) return void p.push(`${what}: unmap found no leaf`);
        u.flush.ignore(NO_TLB);
        if (u.leaf.vpn !== slot.vpn || u.leaf.level !== level)
          p.push(`${what}: unmap removed ${JSON.stringify(u.leaf)}`);
        const need = u.flush.need();
        if (
          need?.vpns.join() !== String(slot.vpn) ||
          need.asid !== h.asid ||
          need.global !== (slot.half === 'kernel' && attrs.global)
        )
          p.push(`${what}: unmap obligation ${JSON.stringify(need)}, expected vpn ${slot.vpn}`);
        // The editor's part is to clear the descriptor; that a zero descriptor decodes as absent
        // is the codec's (checkZeroAbsent), so it is not asked again here.
        const after = h.editor.lookup(root, slot.vpn);
        if (after.entry.kind === 'leaf') p.push(`${what}: still mapped after unmap`);
        else if (h.editor.readRaw(after.descriptorPa).some((half) => half !== 0))
          p.push(`${what}: unmap left descriptor [${h.editor.readRaw(after.descriptorPa).join()}], not zero`);
        if (h.editor.unmap(root, slot.vpn, h.asid) !== undefined)
          p.push(`${what}: second unmap found a leaf`);
      });
    }
  }
  return p;
}

/**
 * Out of memory at every allocation point of map and split: a frame source that fails at the
 * k-th allocation, for every k; each failure leaves memory and the frame source as before, and
 * with enough frames both succeed.
 */
export function checkEditorOutOfMemory(backend: ArchBackend, options: EditorCheckOptions = {}): string[] {
  const p: string[] = [];
  const g = backend.geometry;
  const levels = splittableLevels(backend);
  const level = levels[0] ?? 1;
  const attrs = dataAttrs(backend, level, false);
  const slot = sampleSlots(backend, g.entrySizeBytes[level]!).find((s) => s.half === 'user');
  if (!attrs || !slot) return [`no user-half ${level} leaf to map`];
  let succeeded = false;
  for (let k = 0; k <= g.rootLevel + 1; k++) {
    const what = `budget ${k}`;
    attempt(p, what, () => {
      const h = editorHarness(backend, options);
      h.frames.limit = k;
      const s0 = editorSnapshot(h);
      const m = h.editor.map({
        root: h.userRoot,
        vpn: slot.vpn,
        pa: LEAF_PA,
        level,
        attrs,
        source: h.frames,
      });
      if (!m.ok) {
        if (m.reason !== 'no-memory') p.push(`${what}: map failed with ${m.reason}`);
        if (editorSnapshot(h) !== s0) p.push(`${what}: a failed map changed memory or the frame source`);
        return;
      }
      if (level === 1) {
        succeeded = true;
        return;
      }
      const s1 = editorSnapshot(h);
      const pages = [slot.vpn, slot.vpn + 1, slot.vpn + g.entryPages[level]! - 1];
      const seen = observe(h, pages);
      const r = h.editor.prepareSplit({ root: h.userRoot, vpn: slot.vpn, source: h.frames });
      if (!r.ok) {
        if (r.reason !== 'no-memory') p.push(`${what}: split failed with ${r.reason}`);
        if (editorSnapshot(h) !== s1) p.push(`${what}: a failed split changed memory or the frame source`);
        return;
      }
      runBreakBeforeMake(r.plan, ignore);
      const change = firstChange(h, pages, seen);
      if (change) p.push(`${what}: split changed a translation (${change})`);
      succeeded = true;
    });
  }
  if (!succeeded) p.push('map and split never succeeded, whatever the budget');
  return p;
}

/** For every block level: split keeps every translation; collapse restores the identical descriptor. */
export function checkEditorSplitCollapse(backend: ArchBackend, options: EditorCheckOptions = {}): string[] {
  const p: string[] = [];
  const g = backend.geometry;
  for (const level of splittableLevels(backend)) {
    const attrs = dataAttrs(backend, level, false);
    const slot = sampleSlots(backend, g.entrySizeBytes[level]!).find((s) => s.half === 'user');
    if (!attrs || !slot) continue;
    const what = `level ${level}`;
    attempt(p, what, () => {
      const h = editorHarness(backend, options);
      h.editor.map({ root: h.userRoot, vpn: slot.vpn, pa: LEAF_PA, level, attrs, source: h.frames });
      const per = g.entryPages[level]!;
      // The pages on either side of the block and the first and last page of every leaf the
      // split makes: each of them must translate as before.
      const childPages = g.entryPages[level - 1]!;
      const pages = [slot.vpn - 1, slot.vpn + per];
      for (let v = slot.vpn; v < slot.vpn + per; v += childPages) pages.push(v, v + childPages - 1);
      const seen = observe(h, pages);
      const dpa = h.editor.lookup(h.userRoot, slot.vpn).descriptorPa;
      const original = h.editor.readRaw(dpa).join();
      const before = editorSnapshot(h);
      const r = h.editor.prepareSplit({
        root: h.userRoot,
        vpn: slot.vpn + 5,
        source: h.frames,
        asid: h.asid,
      });
      if (!r.ok) return void p.push(`${what}: split refused: ${r.reason}`);
      let during = '';
      const done = runBreakBeforeMake(r.plan, (f) => {
        during = h.editor.lookup(h.userRoot, slot.vpn).entry.kind;
        const need = f.need();
        if (need?.vpns.join() !== String(slot.vpn) || need.leafOnly)
          p.push(
            `${what}: split obligation ${JSON.stringify(need)}, expected the block's first page as a table change`,
          );
        f.markDischarged();
      });
      if (during !== 'absent') p.push(`${what}: the break step left a ${during} entry`);
      if (done.leafLevel !== level - 1 || done.entries !== g.entries[level - 1])
        p.push(`${what}: split result ${JSON.stringify(done)}`);
      const split = firstChange(h, pages, seen);
      if (split) p.push(`${what}: split changed a translation (${split})`);
      const c = h.editor.prepareCollapse({ root: h.userRoot, vpn: slot.vpn, level, source: h.frames });
      if (!c.ok) return void p.push(`${what}: collapse refused: ${c.reason}`);
      const cd = runBreakBeforeMake(c.plan, ignore);
      if (cd.freedTablePa !== done.tablePa)
        p.push(`${what}: collapse freed ${cd.freedTablePa}, not the split's table`);
      if (h.editor.readRaw(dpa).join() !== original)
        p.push(`${what}: collapse did not restore the block descriptor`);
      if (editorSnapshot(h) !== before) p.push(`${what}: split + collapse did not restore the tables`);
      const collapse = firstChange(h, pages, seen);
      if (collapse) p.push(`${what}: collapse changed a translation (${collapse})`);
    });
  }
  return p;
}

/** Break-before-make phases out of order are typed errors that change nothing; abort restores. */
export function checkBreakBeforeMakePhases(backend: ArchBackend, options: EditorCheckOptions = {}): string[] {
  const p: string[] = [];
  const level = splittableLevels(backend)[0];
  if (level === undefined) return p;
  const g = backend.geometry;
  const attrs = dataAttrs(backend, level, false);
  const slot = sampleSlots(backend, g.entrySizeBytes[level]!).find((s) => s.half === 'user');
  if (!attrs || !slot) return p;
  const expectPhaseError = (h: WalkHarness, what: string, f: () => unknown) => {
    const before = editorSnapshot(h);
    try {
      f();
      p.push(`${what}: no error`);
    } catch (e) {
      if (!(e instanceof BreakBeforeMakeError))
        p.push(`${what}: threw ${String(e)}, expected BreakBeforeMakeError`);
    }
    if (editorSnapshot(h) !== before) p.push(`${what}: changed memory`);
  };
  attempt(p, 'phases', () => {
    const h = editorHarness(backend, options);
    h.editor.map({ root: h.userRoot, vpn: slot.vpn, pa: LEAF_PA, level, attrs, source: h.frames });
    const s0 = editorSnapshot(h);
    const prep = () => {
      const r = h.editor.prepareSplit({ root: h.userRoot, vpn: slot.vpn, source: h.frames });
      if (!r.ok) throw new Error(`split refused: ${r.reason}`);
      return r.plan;
    };
    let plan = prep();
    expectPhaseError(h, 'make before break', () => plan.make());
    const flush = plan.break();
    expectPhaseError(h, 'break twice', () => plan.break());
    expectPhaseError(h, 'make with the obligation unsettled', () => plan.make());
    plan.abort();
    if (editorSnapshot(h) !== s0) p.push('abort after break did not restore memory and the frame source');
    if (!flush.settledState) p.push('abort left the break obligation unsettled');
    expectPhaseError(h, 'make after abort', () => plan.make());
    expectPhaseError(h, 'abort twice', () => plan.abort());
    plan = prep();
    plan.abort();
    if (editorSnapshot(h) !== s0) p.push('abort of a prepared plan did not free its table');
    // A stale plan: the block changed between prepare and break.
    plan = prep();
    h.editor.unmap(h.userRoot, slot.vpn, h.asid)?.flush.ignore(NO_TLB);
    expectPhaseError(h, 'break of a stale plan', () => plan.break());
    plan.abort();
    h.editor.map({ root: h.userRoot, vpn: slot.vpn, pa: LEAF_PA, level, attrs, source: h.frames });
    plan = prep();
    runBreakBeforeMake(plan, ignore);
    expectPhaseError(h, 'make twice', () => plan.make());
    expectPhaseError(h, 'abort after make', () => plan.abort());
  });
  return p;
}

/** The flush ledger reports a dropped obligation (naming ASID and page) and forgets settled ones. */
export function checkFlushLedger(backend: ArchBackend, options: EditorCheckOptions = {}): string[] {
  const p: string[] = [];
  const g = backend.geometry;
  const attrs = dataAttrs(backend, 1, false);
  const slot = sampleSlots(backend, g.entrySizeBytes[1]!).find((s) => s.half === 'user');
  if (!attrs || !slot) return ['no user-half page to map'];
  attempt(p, 'ledger', () => {
    const h = createWalkHarness(backend);
    const ledger = new FlushLedger();
    const editor = (options.createEditor ?? defaultEditor)(backend, h.memory, { ledger });
    const map = () =>
      editor.map({ root: h.userRoot, vpn: slot.vpn, pa: LEAF_PA, level: 1, attrs, source: h.frames });
    map();
    if (ledger.outstanding !== 0) p.push(`map left ${ledger.outstanding} obligation(s) outstanding`);
    editor.unmap(h.userRoot, slot.vpn, 7); // dropped
    if (ledger.outstanding !== 1) p.push(`a dropped unmap obligation is not counted (${ledger.outstanding})`);
    try {
      ledger.assertSettled();
      p.push('assertSettled did not report a dropped obligation');
    } catch (e) {
      if (!(e instanceof UndischargedFlushError)) p.push(`assertSettled threw ${String(e)}`);
      else if (
        e.asid !== 7 ||
        e.vpns.join() !== String(slot.vpn) ||
        !e.message.includes(`0x${slot.vpn.toString(16)}`)
      )
        p.push(`UndischargedFlushError does not name ASID 7 and vpn ${slot.vpn}: ${e.message}`);
    }
    if (ledger.outstanding !== 0) p.push('a reported obligation is reported again');
    map();
    editor.unmap(h.userRoot, slot.vpn, 7)!.flush.markDischarged();
    map();
    editor.unmap(h.userRoot, slot.vpn, 7)!.flush.ignore(NO_TLB);
    map();
    const merged = editor.newFlush({ asid: 7 });
    merged.merge(editor.unmap(h.userRoot, slot.vpn, 7)!.flush);
    merged.markDischarged();
    try {
      ledger.assertSettled();
    } catch (e) {
      p.push(`settled obligations reported: ${String(e)}`);
    }
    map();
    const f = editor.unmap(h.userRoot, slot.vpn, 7)!.flush;
    try {
      f.ignore('');
      p.push('ignore without a reason was accepted');
    } catch (e) {
      if (!isMmError(e)) p.push(`ignore('') threw ${String(e)}`);
    }
    f.ignore(NO_TLB);
    const pr = editor.protect({ root: h.userRoot, vpn: slot.vpn, attrs });
    if (pr !== undefined) p.push('protect of an unmapped page returned an obligation');
    map();
    editor.protect({ root: h.userRoot, vpn: slot.vpn, attrs, asid: 7 });
    if (ledger.outstanding !== 1) p.push('a dropped protect obligation is not counted');
    editor.pruneEmptyTables({ root: h.userRoot, source: h.frames });
    if (ledger.outstanding !== 2) p.push('a dropped prune obligation is not counted');
    try {
      ledger.assertSettled();
      p.push('assertSettled did not report dropped obligations');
    } catch (e) {
      if (!(e instanceof UndischargedFlushError) || e.outstanding !== 2)
        p.push(`expected 2 outstanding: ${String(e)}`);
    }
  });
  return p;
}

/** Ranges are validated up front: typed errors naming the value. */
export function checkRangeValidation(backend: ArchBackend, options: EditorCheckOptions = {}): string[] {
  const p: string[] = [];
  const h = editorHarness(backend, options);
  const limit = 2 ** (64 - backend.description.pageShift);
  const bad: [string, Record<string, number>][] = [
    ['negative start', { startVpn: -1 }],
    ['fractional start', { startVpn: 1.5 }],
    ['NaN end', { endVpn: Number.NaN }],
    ['end before start', { startVpn: 10, endVpn: 5 }],
    ['end past the address space', { endVpn: limit + 1 }],
    ['root index out of range', { skipRootIndex: 1 << 20 }],
  ];
  for (const [what, range] of bad) {
    try {
      h.editor.tableFrames({ root: h.userRoot, ...range });
      p.push(`${what}: accepted`);
    } catch (e) {
      const value = String(Object.values(range).at(-1));
      if (!isMmError(e)) p.push(`${what}: threw a non-MmError ${String(e)}`);
      else if (!e.message.includes(value)) p.push(`${what}: message does not name ${value}: ${e.message}`);
    }
  }
  try {
    h.editor.tableFrames({ root: h.userRoot + 8 });
    p.push('a misaligned root was accepted');
  } catch (e) {
    if (!isMmError(e)) p.push(`misaligned root: threw ${String(e)}`);
  }
  return p;
}

/** clearLeaves removes exactly the leaves inside the range; prune then gives back every table. */
export function checkClearAndPrune(backend: ArchBackend, options: EditorCheckOptions = {}): string[] {
  const p: string[] = [];
  const g = backend.geometry;
  const attrs = dataAttrs(backend, 1, false);
  const slot = sampleSlots(backend, g.entrySizeBytes[1]!).find((s) => s.half === 'user');
  if (!attrs || !slot) return ['no user-half page to map'];
  attempt(p, 'clear/prune', () => {
    const h = editorHarness(backend, options);
    const live = h.frames.liveFrames;
    const span = g.entries[1]!; // pages of one leaf table: the mappings use two leaf tables
    const base = 2 * span; // two whole leaf tables: [base, base + span) and [base + span, base + 2 span)
    const vpns = [base, base + 1, base + span + 2, base + 2 * span - 1];
    for (const [i, v] of vpns.entries())
      h.editor.map({ root: h.userRoot, vpn: v, pa: LEAF_PA + i * 4096, level: 1, attrs, source: h.frames });
    const flush = h.editor.newFlush({ asid: h.asid });
    const removed: number[] = [];
    const n = h.editor.clearLeaves(
      { root: h.userRoot, startVpn: base + 1, endVpn: base + 2 * span - 1, flush },
      (l) => removed.push(l.vpn),
    );
    if (n !== 2 || removed.join() !== [base + 1, base + span + 2].join())
      p.push(`clearLeaves removed [${removed.join()}] (count ${n})`);
    if (flush.need()?.vpns.join() !== removed.join())
      p.push(`clearLeaves obligation ${JSON.stringify(flush.need())}`);
    flush.ignore(NO_TLB);
    const kept = h.editor.pruneEmptyTables({ root: h.userRoot, source: h.frames, asid: h.asid });
    kept.flush.ignore(NO_TLB);
    if (kept.freed !== 0) p.push(`prune freed ${kept.freed} tables that still map pages`);
    for (const v of [base, base + 2 * span - 1]) h.editor.unmap(h.userRoot, v, h.asid)?.flush.ignore(NO_TLB);
    // Pruning the range of the first leaf table frees it and nothing else that still maps
    // something; then the whole space frees the rest, bottom-up.
    const pr = h.editor.pruneEmptyTables({
      root: h.userRoot,
      startVpn: base,
      endVpn: base + 1,
      source: h.frames,
      asid: h.asid,
    });
    pr.flush.ignore(NO_TLB);
    if (pr.freed < 1 || pr.flush.need()?.leafOnly !== false || pr.flush.need()?.vpns[0] !== base)
      p.push(
        `prune of the first table's range freed ${pr.freed}: ${JSON.stringify(pr.flush.need())}, expected a table change from vpn ${base}`,
      );
    const rest = h.editor.pruneEmptyTables({ root: h.userRoot, source: h.frames, asid: h.asid });
    rest.flush.ignore(NO_TLB);
    if (h.frames.liveFrames !== live || h.editor.tableFrames({ root: h.userRoot }).length !== 1)
      p.push(`after unmap + prune ${h.frames.liveFrames - live} table frame(s) are still live`);
  });
  return p;
}

/**
 * freeSubtables (exit's and exec's teardown): refuses, freeing nothing, while a leaf is left in
 * the range; once the leaves are gone it frees every table below the root (children before their
 * parents) and keeps the root.
 */
export function checkFreeSubtables(backend: ArchBackend, options: EditorCheckOptions = {}): string[] {
  const p: string[] = [];
  const g = backend.geometry;
  const d = backend.description;
  const attrs = dataAttrs(backend, 1, false);
  if (!attrs) return ['no user-half page to map'];
  attempt(p, 'freeSubtables', () => {
    const h = editorHarness(backend, options);
    const range = { root: h.userRoot }; // the whole root: the harness maps nothing else under it
    const live = h.frames.liveFrames;
    const span = g.entries[1]!;
    // Three leaf tables: two neighbours, and one under another table of the level above (where
    // the format has one).
    const far = g.rootLevel >= 3 ? g.entryPages[3]! + 7 : 6 * span + 7;
    const vpns = [2 * span, 3 * span + 5, 3 * span + span - 1, far];
    for (const [i, v] of vpns.entries())
      h.editor.map({ root: h.userRoot, vpn: v, pa: LEAF_PA + i * 4096, level: 1, attrs, source: h.frames });
    const tables = h.editor.tableFrames(range);
    // Each table's children, read from its descriptors before anything is freed.
    const children = new Map<number, number[]>();
    for (const t of tables.slice(1)) {
      const out: number[] = [];
      for (let off = 0; t.level > 1 && off < 4096; off += d.descriptorBytes) {
        const lo = h.memory.read32(t.pa + off);
        const hi = d.descriptorBytes === 8 ? h.memory.read32(t.pa + off + 4) : 0;
        const next = backend.codec.nextTable(lo, hi, t.level);
        if (next >= 0 && tables.some((x) => x.pa === next)) out.push(next);
      }
      children.set(t.pa, out);
    }
    const used = h.frames.liveFrames;
    const freed: TableFrame[] = [];
    const source = {
      allocTable: (level: number) => h.frames.allocTable(level),
      freeTable: (pa: number, level: number) => {
        freed.push({ pa, level });
        h.frames.freeTable(pa, level);
      },
    };
    // One leaf left (the last one): an error, nothing freed.
    for (const v of vpns.slice(0, -1)) ignore(h.editor.unmap(h.userRoot, v, h.asid)!.flush);
    try {
      h.editor.freeSubtables({ ...range, source });
      p.push('freeSubtables with a leaf left in the range did not throw');
    } catch (e) {
      if (!isMmError(e)) p.push(`freeSubtables with a leaf left threw ${String(e)}`);
    }
    if (freed.length > 0 || h.frames.liveFrames !== used)
      p.push(`a refused freeSubtables freed ${freed.length} table(s)`);
    const last = h.editor.unmap(h.userRoot, vpns.at(-1)!, h.asid); // (gone already under a defect)
    if (last) ignore(last.flush);
    const n = h.editor.freeSubtables({ ...range, source });
    // (The harness's roots were handed out before `live` was read.)
    if (n !== tables.length - 1 || h.frames.liveFrames !== live || h.editor.tableFrames(range).length !== 1)
      p.push(
        `freeSubtables freed ${n} of ${tables.length - 1} tables; ${h.frames.liveFrames - live} still live`,
      );
    // Bottom-up: a table is freed (with its level) after every table below it.
    const at = new Map(freed.map((f, i) => [f.pa, i]));
    for (const t of tables.slice(1)) {
      const i = at.get(t.pa);
      if (i === undefined) p.push(`table ${hex(t.pa)} (level ${t.level}) was not freed`);
      else if (freed[i]!.level !== t.level) p.push(`table ${hex(t.pa)} freed as level ${freed[i]!.level}`);
      else if (children.get(t.pa)!.some((c) => (at.get(c) ?? -1) > i))
        p.push(`table ${hex(t.pa)} (level ${t.level}) was freed before a table below it`);
    }
  });
  return p;
}

/** A leaf template (where the format allows one) installs exactly what map installs. */
export function checkLeafTemplate(backend: ArchBackend, options: EditorCheckOptions = {}): string[] {
  const p: string[] = [];
  const g = backend.geometry;
  const attrs = dataAttrs(backend, 1, false);
  const slot = sampleSlots(backend, g.entrySizeBytes[1]!).find((s) => s.half === 'user');
  if (!attrs || !slot) return ['no user-half page to map'];
  const t = leafTemplate(backend, attrs, 1);
  if (t === undefined) return p; // the format is not "template | PA": the editor's map is the only way
  attempt(p, 'template', () => {
    const h = editorHarness(backend, options);
    for (const pa of [LEAF_PA, 4096, 2 ** Math.min(backend.description.paBits, 52) - 4096]) {
      h.editor.map({ root: h.userRoot, vpn: slot.vpn, pa, level: 1, attrs, source: h.frames });
      const dpa = h.editor.lookup(h.userRoot, slot.vpn).descriptorPa;
      const expected = h.editor.readRaw(dpa).join();
      if (h.editor.fillAbsent(dpa, pa, t)) p.push('fillAbsent wrote over a present entry');
      h.editor.unmap(h.userRoot, slot.vpn, h.asid)!.flush.ignore(NO_TLB);
      if (!h.editor.fillAbsent(dpa, pa, t)) p.push('fillAbsent refused an absent slot');
      if (h.editor.readRaw(dpa).join() !== expected)
        p.push(`fillAbsent at PA ${pa} wrote ${h.editor.readRaw(dpa).join()}, map wrote ${expected}`);
      h.editor.unmap(h.userRoot, slot.vpn, h.asid)?.flush.ignore(NO_TLB);
    }
  });
  return p;
}

/**
 * Registers the editor checks as a vitest `describe` block named `${name} page-table editor`.
 * `make` is called once per test.
 */
export function describeEditorConformance(name: string, make: () => ArchBackend): void {
  describe(`${name} page-table editor`, () => {
    it('maps, looks up, enumerates and unmaps at every leaf level in both halves', () => {
      expect(checkEditorMapUnmap(make())).toEqual([]);
    });
    it('out of memory at every allocation point of map and split changes nothing', () => {
      expect(checkEditorOutOfMemory(make())).toEqual([]);
    });
    it('split keeps every translation; collapse restores the block', () => {
      expect(checkEditorSplitCollapse(make())).toEqual([]);
    });
    it('break-before-make phases out of order are typed errors that change nothing', () => {
      expect(checkBreakBeforeMakePhases(make())).toEqual([]);
    });
    it('the flush ledger reports a dropped obligation and forgets settled ones', () => {
      expect(checkFlushLedger(make())).toEqual([]);
    });
    it('validates ranges with typed errors naming the value', () => {
      expect(checkRangeValidation(make())).toEqual([]);
    });
    it('clearLeaves removes exactly the leaves inside; prune gives back every table', () => {
      expect(checkClearAndPrune(make())).toEqual([]);
    });
    it('freeSubtables refuses while a leaf is left, then frees every table below the root', () => {
      expect(checkFreeSubtables(make())).toEqual([]);
    });
    it('a leaf template installs exactly what map installs', () => {
      expect(checkLeafTemplate(make())).toEqual([]);
    });
  });
}
