/**
 * The break-before-make preparers of {@link PageTableEditor}: splitting a block into a table of
 * smaller leaves, collapsing a table of leaves into one block, and setting or clearing the
 * Contiguous hint on whole groups. Each checks everything and builds the new entries (and, for a
 * split, the new table) while nothing reachable has changed, then returns a
 * {@link BreakBeforeMakePlan} whose phases (break-before-make.ts) swap them in. A preparer that
 * returns a reason or throws has changed nothing.
 *
 * The editor's public methods (`prepareSplit`, `prepareCollapse`, `prepareContiguousRun`) carry
 * the documentation and delegate here with a {@link EditorHost}: the editor's private helpers,
 * bound once when the editor is built (nothing is allocated per call).
 */
import { PAGE_SIZE, vaOf } from './address.js';
import { type LeafAttributes, OPEN_TABLE, type TableAttributes } from './arch.js';
import { checkBool, checkFrameSource, checkTableAttributes, checkVpn, fields } from './arg-checks.js';
import { BreakBeforeMakePlan } from './break-before-make.js';
import type { EditorHost } from './editor-host.js';
import { InvalidArgumentError, NotMappedError, UnrepresentableError } from './errors.js';
import { leafAttributesEqual } from './leaf-equality.js';
import type { FrameSource, LeafRef, RootRef } from './page-table-editor-types.js';

/** Options of {@link PageTableEditor.prepareSplit}. */
export interface SplitOptions extends RootRef {
  /** A page of the block to split. */
  readonly vpn: number;
  /** Where the new table comes from. */
  readonly source: FrameSource;
  /** Attributes of the new table descriptor (default {@link OPEN_TABLE}: keeps the permissions). */
  readonly tableAttrs?: TableAttributes;
  /** ASID of the break step's obligation (default 0). */
  readonly asid?: number;
}

/** Options of {@link PageTableEditor.prepareCollapse}. */
export interface CollapseOptions extends RootRef {
  /** A page covered by the table. */
  readonly vpn: number;
  /** Level of the table entry to replace by a leaf (the new leaf's level). */
  readonly level: number;
  /** Where the freed table goes. */
  readonly source: FrameSource;
  /** ASID of the break step's obligation (default 0). */
  readonly asid?: number;
}

/** Options of {@link PageTableEditor.prepareContiguousRun}. */
export interface ContiguousRunOptions extends RootRef {
  /** First page of the run (aligned to a group). */
  readonly vpn: number;
  /** Number of leaves: a positive multiple of the group size. */
  readonly count: number;
  /** Set (true) or clear (false) the hint. */
  readonly on: boolean;
  /** ASID of the break step's obligation (default 0). */
  readonly asid?: number;
}

/** What a split's `make()` returns. */
export interface SplitDone {
  /** The new table that holds the smaller leaves. */
  readonly tablePa: number;
  /** Level of the smaller leaves (the new table's level). */
  readonly leafLevel: number;
  /** Number of smaller leaves written (entries of the new table). */
  readonly entries: number;
}

/** Result of {@link PageTableEditor.prepareSplit}. */
export type SplitPrepared =
  | { readonly ok: true; readonly plan: BreakBeforeMakePlan<SplitDone> }
  | {
      readonly ok: false;
      /** `not-mapped`: no leaf maps `vpn`; `not-a-block`: it is already a smallest page; `no-memory`: no table frame. */
      readonly reason: 'not-mapped' | 'not-a-block' | 'no-memory';
    };

/** What a collapse's `make()` returns. */
export interface CollapseDone {
  /** The new leaf (accessed and dirty are the OR of the old leaves', contiguous is off). */
  readonly leaf: LeafRef;
  /** The table frame that was freed. */
  readonly freedTablePa: number;
}

/** Result of {@link PageTableEditor.prepareCollapse}. */
export type CollapsePrepared =
  | { readonly ok: true; readonly plan: BreakBeforeMakePlan<CollapseDone> }
  | {
      readonly ok: false;
      /**
       * `not-a-table`: the entry at `level` for `vpn` is not a table descriptor;
       * `restricted-table`: the table descriptor restricts access (APTable/XNTable, x86 R/W, U/S, XD),
       * so one leaf could not keep the same permissions;
       * `not-all-leaves`: an entry of the table is absent, a table, a software or an invalid entry;
       * `attributes-differ`: leaves differ in something other than accessed, dirty or contiguous;
       * `not-contiguous`: output addresses are not consecutive from a base aligned to the new leaf size.
       */
      readonly reason:
        | 'not-a-table'
        | 'restricted-table'
        | 'not-all-leaves'
        | 'attributes-differ'
        | 'not-contiguous';
    };

/** True if a table descriptor restricts nothing (its accessed bit is not a restriction). */
function isOpenTable(t: TableAttributes): boolean {
  return !t.noUser && !t.readOnly && !t.noExecuteUser && !t.noExecuteKernel;
}

/** @internal {@link PageTableEditor.prepareSplit}'s body (see there). */
export function prepareSplit(h: EditorHost, options: SplitOptions): SplitPrepared {
  const o = fields('prepareSplit options', options, [
    'root',
    'vpn',
    'source',
    'tableAttrs',
    'asid',
    'baseVpn',
  ]);
  const vpn = o.vpn as number;
  const source = checkFrameSource<FrameSource>('prepareSplit options.source', o.source);
  const tableAttrs =
    o.tableAttrs === undefined
      ? OPEN_TABLE
      : checkTableAttributes('prepareSplit options.tableAttrs', o.tableAttrs);
  const asid = h.asid('prepareSplit options.asid', o.asid);
  const g = h.backend.geometry;
  const c = h.seekPage(o.root, vpn, o.baseVpn);
  c.seek(1);
  const entry = h.backend.codec.decode(c.lo, c.hi, c.level);
  if (entry.kind !== 'leaf') return { ok: false, reason: 'not-mapped' };
  const level = c.level;
  if (level === 1) return { ok: false, reason: 'not-a-block' };
  const dpa = c.descriptorPa;
  const first = c.vpn;
  const oldLo = c.lo;
  const oldHi = c.hi;
  const attrs = entry.attrs;
  if (attrs.contiguous) {
    throw new InvalidArgumentError(
      'prepareSplit',
      `vpn ${vpn}`,
      'a block without the contiguous hint: clear the hint on its whole group first (prepareContiguousRun, arch-facts A11)',
    );
  }
  const child = level - 1;
  if (!g.leafLevels.includes(child)) {
    throw new UnrepresentableError(
      h.backend.description.id,
      child,
      `no leaves at level ${child} (${h.levelName(child)}) to split a ${h.levelName(level)} block into`,
    );
  }
  const n = g.entries[child]!;
  const size = g.entrySizeBytes[child]!;
  const base = entry.pa;
  // Encode every smaller leaf before anything is allocated or written.
  const raws = new Array<number>(2 * n);
  for (let i = 0; i < n; i++) {
    const raw = h.backend.codec.encode({ kind: 'leaf', pa: base + i * size, attrs }, child);
    raws[2 * i] = raw.lo;
    raws[2 * i + 1] = raw.hi;
  }
  const fresh = h.allocTable(source, child);
  if (fresh < 0) return { ok: false, reason: 'no-memory' };
  const release = () => {
    h.memory.fill(fresh, PAGE_SIZE, 0);
    source.freeTable(fresh, child);
  };
  let tableRaw: { lo: number; hi: number };
  try {
    tableRaw = h.backend.codec.encode({ kind: 'table', pa: fresh, attrs: tableAttrs }, level);
  } catch (e) {
    release();
    throw e;
  }
  for (let i = 0; i < n; i++) h.writeRaw(h.entryPa(fresh, i), raws[2 * i]!, raws[2 * i + 1]!);
  const plan = new BreakBeforeMakePlan<SplitDone>({
    operation: 'split',
    memory: h.memory,
    wide: h.wide,
    dpas: [dpa],
    old: [oldLo, oldHi],
    made: [tableRaw.lo, tableRaw.hi],
    flush: () => {
      const f = h.newFlush({ asid, global: attrs.global });
      f.addPage(first);
      f.addTableChange();
      return f;
    },
    onAbort: release,
    result: { tablePa: fresh, leafLevel: child, entries: n },
  });
  return { ok: true, plan };
}

/** @internal {@link PageTableEditor.prepareCollapse}'s body (see there). */
export function prepareCollapse(h: EditorHost, options: CollapseOptions): CollapsePrepared {
  const o = fields('prepareCollapse options', options, ['root', 'vpn', 'level', 'source', 'asid', 'baseVpn']);
  const vpn = o.vpn as number;
  const level = h.level('prepareCollapse options.level', o.level);
  const source = checkFrameSource<FrameSource>('prepareCollapse options.source', o.source);
  const asid = h.asid('prepareCollapse options.asid', o.asid);
  const g = h.backend.geometry;
  if (!g.leafLevels.includes(level) || level < 2) {
    throw new UnrepresentableError(
      h.backend.description.id,
      level,
      `no block leaves at level ${level} (${h.levelName(level)}) to collapse a table into`,
    );
  }
  const c = h.seekPage(o.root, vpn, o.baseVpn);
  c.seek(level);
  const ref = h.backend.codec.decode(c.lo, c.hi, c.level);
  if (c.level !== level || ref.kind !== 'table') return { ok: false, reason: 'not-a-table' };
  if (!isOpenTable(ref.attrs)) return { ok: false, reason: 'restricted-table' };
  const dpa = c.descriptorPa;
  const firstVpn = c.vpn;
  const oldLo = c.lo;
  const oldHi = c.hi;
  const table = ref.pa;
  const child = level - 1;
  const n = g.entries[child]!;
  const size = g.entrySizeBytes[child]!;
  let first: LeafAttributes | undefined;
  let base = 0;
  let accessed = false;
  let dirty = false;
  for (let i = 0; i < n; i++) {
    const e = h.readEntry(h.entryPa(table, i), child);
    if (e.kind !== 'leaf') return { ok: false, reason: 'not-all-leaves' };
    if (first === undefined) {
      first = e.attrs;
      base = e.pa;
    } else if (!leafAttributesEqual(first, e.attrs, true, true)) {
      return { ok: false, reason: 'attributes-differ' };
    }
    accessed ||= e.attrs.accessed;
    dirty ||= e.attrs.dirty;
  }
  for (let i = 0; i < n; i++) {
    const e = h.readEntry(h.entryPa(table, i), child);
    if (e.kind !== 'leaf' || e.pa !== base + i * size || base % g.entrySizeBytes[level]! !== 0) {
      return { ok: false, reason: 'not-contiguous' };
    }
  }
  const attrs: LeafAttributes = { ...first!, accessed, dirty, contiguous: false };
  const leafRaw = h.backend.codec.encode({ kind: 'leaf', pa: base, attrs }, level);
  const childPages = g.entryPages[child]!;
  const plan = new BreakBeforeMakePlan<CollapseDone>({
    operation: 'collapse',
    memory: h.memory,
    wide: h.wide,
    dpas: [dpa],
    old: [oldLo, oldHi],
    made: [leafRaw.lo, leafRaw.hi],
    flush: () => {
      const f = h.newFlush({ asid, global: attrs.global });
      f.addTableChange();
      for (let i = 0; i < n; i++) f.addPage(firstVpn + i * childPages);
      return f;
    },
    onMake: () => {
      h.memory.fill(table, PAGE_SIZE, 0);
      source.freeTable(table, child);
    },
    result: { leaf: { vpn: firstVpn, level, descriptorPa: dpa, pa: base, attrs }, freedTablePa: table },
  });
  return { ok: true, plan };
}

/** @internal {@link PageTableEditor.prepareContiguousRun}'s body (see there). */
export function prepareContiguousRun(
  h: EditorHost,
  options: ContiguousRunOptions,
): BreakBeforeMakePlan<number> | undefined {
  const o = fields('prepareContiguousRun options', options, [
    'root',
    'vpn',
    'count',
    'on',
    'asid',
    'baseVpn',
  ]);
  const root = o.root as number;
  const vpn = checkVpn('prepareContiguousRun options.vpn', o.vpn);
  const count = o.count as number;
  const on = checkBool('prepareContiguousRun options.on', o.on);
  const asid = h.asid('prepareContiguousRun options.asid', o.asid);
  const d = h.backend.description;
  const group = d.capabilities.contiguousEntries;
  if (group === 0) {
    throw new UnrepresentableError(d.id, 1, 'no contiguous hint (capabilities.contiguousEntries = 0)');
  }
  if (!Number.isSafeInteger(count) || count < group || count % group !== 0) {
    throw new InvalidArgumentError('contiguous run length', count, `a positive multiple of ${group} entries`);
  }
  const g = h.backend.geometry;
  const head = h.lookup(root, vpn); // (the page's own root half: baseVpn is inferred)
  if (head.entry.kind !== 'leaf') throw new NotMappedError(vaOf(vpn));
  const level = head.level;
  const per = g.entryPages[level]!;
  const size = g.entrySizeBytes[level]!;
  if (vpn % (per * group) !== 0) {
    throw new InvalidArgumentError(
      'contiguous run start',
      `vpn ${vpn}`,
      `a page number aligned to ${group} entries of ${size} bytes (a multiple of ${per * group})`,
    );
  }
  const dpas: number[] = [];
  const old: number[] = [];
  const made: number[] = [];
  const pages: number[] = [];
  let global = false;
  const leaves: LeafRef[] = new Array(group);
  const c = h.cursor;
  for (let k0 = 0; k0 < count; k0 += group) {
    for (let j = 0; j < group; j++) {
      const v = vpn + (k0 + j) * per;
      h.seekPage(root, v, o.baseVpn);
      c.seek(1);
      const e = h.backend.codec.decode(c.lo, c.hi, c.level);
      if (e.kind !== 'leaf') throw new NotMappedError(vaOf(v));
      if (c.level !== level) {
        throw new InvalidArgumentError(
          'contiguous run',
          `vpn ${v}`,
          `leaves of one size: this is a ${h.levelName(c.level)} leaf, the run starts with ${h.levelName(level)} leaves`,
        );
      }
      leaves[j] = { vpn: v, level, descriptorPa: c.descriptorPa, pa: e.pa, attrs: e.attrs };
      old.push(c.lo, c.hi);
    }
    let accessed = false;
    let dirty = false;
    let changes = false;
    const g0 = leaves[0]!;
    for (let j = 0; j < group; j++) {
      const leaf = leaves[j]!;
      if (on) {
        if (!leafAttributesEqual(g0.attrs, leaf.attrs, true, true)) {
          throw new InvalidArgumentError(
            'contiguous run',
            `vpn ${leaf.vpn}`,
            `the attributes of the group's first leaf (vpn ${g0.vpn}) apart from accessed and dirty`,
          );
        }
        if (g0.pa % (size * group) !== 0 || leaf.pa !== g0.pa + j * size) {
          throw new InvalidArgumentError(
            'contiguous run',
            `vpn ${leaf.vpn} → PA ${leaf.pa}`,
            `consecutive output addresses from a base aligned to ${size * group} bytes`,
          );
        }
      }
      accessed ||= leaf.attrs.accessed;
      dirty ||= leaf.attrs.dirty;
      if ((leaf.attrs.contiguous ?? false) !== on) changes = true;
    }
    // A group already in the requested state is left alone (hardware may have set the Access
    // flag or dirty state of single entries since: the architecture allows that in a group).
    if (!changes) {
      old.length -= 2 * group;
      continue;
    }
    for (let j = 0; j < group; j++) {
      const leaf = leaves[j]!;
      const attrs: LeafAttributes = on
        ? { ...leaf.attrs, accessed, dirty, contiguous: true }
        : { ...leaf.attrs, contiguous: false };
      const raw = h.backend.codec.encode({ kind: 'leaf', pa: leaf.pa, attrs }, level);
      dpas.push(leaf.descriptorPa);
      made.push(raw.lo, raw.hi);
      pages.push(leaf.vpn);
      global ||= leaf.attrs.global;
    }
  }
  if (dpas.length === 0) return undefined;
  return new BreakBeforeMakePlan<number>({
    operation: 'contiguous',
    memory: h.memory,
    wide: h.wide,
    dpas,
    old,
    made,
    flush: () => {
      const f = h.newFlush({ asid, global });
      for (const v of pages) f.addPage(v);
      return f;
    },
    result: dpas.length,
  });
}
