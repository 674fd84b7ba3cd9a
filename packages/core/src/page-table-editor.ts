/**
 * Architecture-neutral page-table editing over {@link PhysicalMemory}.
 *
 * The editor builds, changes and removes translations in real tables through a backend's codec.
 * It never allocates by itself: a {@link FrameSource} hands it zeroed frames for new tables. Every
 * operation either completes or leaves memory and the frame source exactly as they were (a failed
 * map frees the tables it created and clears the entries it wrote).
 *
 * Every operation walks with one {@link PageTableCursor} (page-table-cursor.ts): map, unmap,
 * protect, lookup, leaf and table enumeration, pruning, teardown and the preparation of splits,
 * collapses and Contiguous runs. Ranges are validated up front by the cursor.
 *
 * Operations that remove or downgrade a translation return (or take) a {@link FlushObligation};
 * mapping into an absent slot returns none. Give the editor a {@link FlushLedger} and every
 * obligation it creates is tracked there, so strict mode can report one that was dropped
 * ({@link FlushLedger.assertSettled}).
 *
 * Break-before-make (splits, collapses, the Contiguous hint) runs as explicit phases:
 * see break-before-make.ts.
 */
import { PAGE_SIZE, TWO_32, vaOf } from './address.js';
import {
  type ArchBackend,
  type LeafAttributes,
  type NeutralEntry,
  OPEN_TABLE,
  type TableAttributes,
} from './arch.js';
import {
  checkBackend,
  checkBool,
  checkFrameSource,
  checkFunction,
  checkInt,
  checkLeafAttributes,
  checkMemory,
  checkNeutralEntry,
  checkPa,
  checkTableAttributes,
  checkVpn,
  fields,
} from './arg-checks.js';
import { BreakBeforeMakePlan } from './break-before-make.js';
import {
  describeValue,
  InvalidArgumentError,
  isMmError,
  NotMappedError,
  UnrepresentableError,
} from './errors.js';
import { DEFAULT_FLUSH_PAGE_THRESHOLD, FlushLedger, FlushObligation } from './flush.js';
import type { LeafTemplate } from './leaf-template.js';
import { CURSOR_DONE, CURSOR_UP, PageTableCursor, type PageTableRange } from './page-table-cursor.js';
import type { PhysicalMemory } from './physical-memory.js';

/** Where table frames come from. */
export interface FrameSource {
  /** A zeroed frame for a page table: its physical address, or -1 when out of memory. */
  allocTable(level: number): number;
  /** Returns a table frame obtained from {@link allocTable}. */
  freeTable(pa: number, level: number): void;
}

/** Construction options of {@link PageTableEditor}. */
export interface PageTableEditorOptions {
  /** Tracks every obligation the editor creates (strict mode). Default: none. */
  readonly ledger?: FlushLedger;
}

/** A root table and, optionally, the page number its index 0 maps (see {@link PageTableRange}). */
export interface RootRef {
  /** Physical address of the root table. */
  readonly root: number;
  /** Default: inferred from the page (the kernel half of split-root formats), else 0. */
  readonly baseVpn?: number;
}

/** Options of {@link PageTableEditor.map}. */
export interface MapOptions extends RootRef {
  /** A page of the leaf to map (any page inside it). */
  readonly vpn: number;
  /** Output address, aligned to the leaf size. */
  readonly pa: number;
  /** Level of the leaf (1 = smallest page). */
  readonly level: number;
  readonly attrs: LeafAttributes;
  /** Attributes of tables created on the way (default: {@link OPEN_TABLE}). */
  readonly tableAttrs?: TableAttributes;
  /** Where new tables come from. */
  readonly source: FrameSource;
}

/** Result of {@link PageTableEditor.map}. A new translation needs no TLB flush, so none is returned. */
export type MapResult =
  | { readonly ok: true; readonly tablesCreated: number }
  | { readonly ok: false; readonly reason: 'no-memory' | 'already-mapped' | 'blocked-by-leaf' };

/** Options of {@link PageTableEditor.protect}. */
export interface ProtectOptions extends RootRef {
  /** A page of the leaf to change. */
  readonly vpn: number;
  /** The new attributes (the output address stays). */
  readonly attrs: LeafAttributes;
  /** ASID that goes into the flush obligation (default 0). */
  readonly asid?: number;
}

/** Options of {@link PageTableEditor.clearLeaves}. */
export interface ClearLeavesOptions extends PageTableRange {
  readonly startVpn: number;
  readonly endVpn: number;
  /** Receives one page per removed leaf (its first page). */
  readonly flush: FlushObligation;
}

/** Options of {@link PageTableEditor.freeSubtables}. */
export interface FreeSubtablesOptions extends PageTableRange {
  /** Where the freed tables go. */
  readonly source: FrameSource;
}

/** Options of {@link PageTableEditor.pruneEmptyTables}. */
export interface PruneOptions extends PageTableRange {
  /** Where the freed tables go. */
  readonly source: FrameSource;
  /** ASID of the obligation (default 0). */
  readonly asid?: number;
  /** The tables held global (kernel) translations (default false). */
  readonly global?: boolean;
}

/** Options of {@link PageTableEditor.newFlush}. */
export interface NewFlushOptions {
  readonly asid: number;
  /** Global (kernel) translations (default false). */
  readonly global?: boolean;
  /** Pages above which it becomes ASID-wide (default {@link DEFAULT_FLUSH_PAGE_THRESHOLD}). */
  readonly threshold?: number;
}

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

/** A located entry: the descriptor's address and its decoded value. */
export interface EntryRef {
  readonly level: number;
  readonly descriptorPa: number;
  readonly entry: NeutralEntry;
}

/** A leaf found by {@link PageTableEditor.forEachLeaf} or removed by {@link PageTableEditor.clearLeaves}. */
export interface LeafRef {
  /** First page number the leaf maps. */
  readonly vpn: number;
  readonly level: number;
  readonly descriptorPa: number;
  readonly pa: number;
  readonly attrs: LeafAttributes;
}

/** A table frame found by {@link PageTableEditor.tableFrames}. */
export interface TableFrame {
  readonly pa: number;
  readonly level: number;
}

/** Result of {@link PageTableEditor.pruneEmptyTables}. */
export interface PruneResult {
  /** Table frames freed (root never included). */
  readonly freed: number;
  /** Walk-cache invalidation for the cleared table entries (non-leaf: TLBI VAE1, not VALE1). */
  readonly flush: FlushObligation;
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

/** True if two leaves have the same attributes, optionally ignoring accessed/dirty; contiguous is always ignored. */
function sameLeafAttributes(a: LeafAttributes, b: LeafAttributes, ignoreAccessDirty: boolean): boolean {
  return (
    a.user.read === b.user.read &&
    a.user.write === b.user.write &&
    a.user.execute === b.user.execute &&
    a.kernel.read === b.kernel.read &&
    a.kernel.write === b.kernel.write &&
    a.kernel.execute === b.kernel.execute &&
    a.global === b.global &&
    a.memoryType === b.memoryType &&
    a.software === b.software &&
    (ignoreAccessDirty || (a.accessed === b.accessed && a.dirty === b.dirty))
  );
}

/** True if a table descriptor restricts nothing (its accessed bit is not a restriction). */
function isOpenTable(t: TableAttributes): boolean {
  return !t.noUser && !t.readOnly && !t.noExecuteUser && !t.noExecuteKernel;
}

/** A reusable single-page range for the per-page operations (no allocation per call). */
interface PageRange {
  root: number;
  startVpn: number;
  endVpn: number;
  baseVpn: number | undefined;
}

/**
 * See the module documentation.
 *
 * Every public method validates its arguments and throws a typed `MmError` naming the argument
 * (options objects field by field) before anything is written; the one exception is the hot
 * path {@link fillAbsent}, which keeps only the checks it always had and diagnoses anything else
 * after the fact (see there).
 */
export class PageTableEditor {
  /** The ledger every obligation of this editor goes to, if any. */
  readonly ledger: FlushLedger | undefined;
  private readonly bytes: number;
  private readonly wide: boolean;
  /** Cursor of the operations that never call out (lookup, map, unmap, protect, …). */
  private readonly cursor: PageTableCursor;
  /** Free cursors for the walks that call visitors (which may call the editor again). */
  private readonly spare: PageTableCursor[] = [];
  private readonly page: PageRange = { root: 0, startVpn: 0, endVpn: 1, baseVpn: undefined };

  readonly backend: ArchBackend;
  readonly memory: PhysicalMemory;

  /**
   * An editor of the tables in `memory` in `backend`'s format.
   * @throws InvalidArgumentError unless `backend` is a backend, `memory` a PhysicalMemory and
   *   `options.ledger` (if given) a FlushLedger.
   */
  constructor(backend: ArchBackend, memory: PhysicalMemory, options: PageTableEditorOptions = {}) {
    this.backend = checkBackend('backend', backend);
    this.memory = checkMemory('memory', memory);
    const { ledger } = fields('PageTableEditor options', options, ['ledger']);
    if (ledger !== undefined && !(ledger instanceof FlushLedger)) {
      throw new InvalidArgumentError('PageTableEditor options.ledger', ledger, 'a FlushLedger or undefined');
    }
    this.bytes = backend.description.descriptorBytes;
    this.wide = this.bytes === 8;
    this.cursor = new PageTableCursor(backend, memory);
    this.ledger = ledger;
  }

  /** A cursor over these tables (for walks the editor does not offer). */
  createCursor(): PageTableCursor {
    return new PageTableCursor(this.backend, this.memory);
  }

  /**
   * A flush obligation, tracked by the editor's ledger if it has one.
   * @throws InvalidArgumentError unless `options` is an object whose fields the FlushObligation
   *   constructor accepts.
   */
  newFlush(options: NewFlushOptions): FlushObligation {
    const o = fields('newFlush options', options, ['asid', 'global', 'threshold']);
    const threshold = (o.threshold ?? DEFAULT_FLUSH_PAGE_THRESHOLD) as number;
    const global = (o.global ?? false) as boolean;
    const asid = o.asid as number;
    return this.ledger
      ? this.ledger.create(asid, global, threshold)
      : new FlushObligation(asid, global, threshold);
  }

  /** A descriptor address: a safe non-negative integer aligned to the descriptor size. */
  private dpa(what: string, value: unknown): number {
    return checkPa(what, value, this.bytes);
  }

  /** An internal level of the backend (1 … root level). */
  private level(what: string, value: unknown): number {
    return checkInt(what, value, 1, this.backend.geometry.rootLevel);
  }

  /** An ASID option (default 0). */
  private asid(what: string, value: unknown): number {
    return value === undefined ? 0 : checkInt(what, value, 0, 2 ** 32 - 1);
  }

  /** A frame from `source.allocTable(level)`: a page-aligned address, or -1 (out of memory). */
  private allocTable(source: FrameSource, level: number): number {
    const fresh: unknown = source.allocTable(level);
    if (fresh === -1) return -1;
    return checkPa('FrameSource.allocTable result', fresh, PAGE_SIZE);
  }

  /**
   * Address of entry `index` of the table at `tablePa`.
   * @throws InvalidArgumentError unless `tablePa` is an address aligned to the descriptor size and
   *   `index` an index within a page of descriptors.
   */
  entryPa(tablePa: number, index: number): number {
    this.dpa('table address', tablePa);
    checkInt('entry index', index, 0, PAGE_SIZE / this.bytes - 1);
    return tablePa + index * this.bytes;
  }

  /**
   * Reads the raw descriptor at `descriptorPa` as [lo, hi].
   * @throws InvalidArgumentError for a misaligned `descriptorPa`; BusError outside RAM.
   */
  readRaw(descriptorPa: number): [number, number] {
    this.dpa('descriptorPa', descriptorPa);
    const lo = this.memory.read32(descriptorPa);
    return [lo, this.wide ? this.memory.read32(descriptorPa + 4) : 0];
  }

  /**
   * Writes a raw descriptor (`hi` is ignored for 4-byte descriptors).
   * @throws InvalidArgumentError (nothing written) for a misaligned `descriptorPa` or halves that
   *   are not 32-bit words; BusError outside RAM.
   */
  writeRaw(descriptorPa: number, lo: number, hi: number): void {
    this.dpa('descriptorPa', descriptorPa);
    if (!isWord(lo) || (this.wide && !isWord(hi))) {
      throw new InvalidArgumentError(
        'descriptor',
        `lo ${describeValue(lo)}, hi ${describeValue(hi)}`,
        '32-bit words (unsigned or signed)',
      );
    }
    this.memory.write32(descriptorPa, lo);
    if (this.wide) this.memory.write32(descriptorPa + 4, hi);
  }

  /**
   * Decodes the descriptor at `descriptorPa` found at `level`.
   * @throws InvalidArgumentError for a misaligned `descriptorPa` or a level outside the backend's.
   */
  readEntry(descriptorPa: number, level: number): NeutralEntry {
    this.level('level', level);
    const [lo, hi] = this.readRaw(descriptorPa);
    return this.backend.codec.decode(lo, hi, level);
  }

  /**
   * Encodes and writes an entry.
   * @throws InvalidArgumentError (nothing written) for a misaligned `descriptorPa`, an `entry`
   *   that is not a well-typed neutral entry or a level outside the backend's;
   *   UnrepresentableError if the codec cannot express it.
   */
  writeEntry(descriptorPa: number, entry: NeutralEntry, level: number): void {
    this.dpa('descriptorPa', descriptorPa);
    checkNeutralEntry('entry', entry);
    this.level('level', level);
    const raw = this.backend.codec.encode(entry, level);
    this.writeRaw(descriptorPa, raw.lo, raw.hi);
  }

  /**
   * True if the descriptor at `descriptorPa` is all zero (absent).
   * @throws InvalidArgumentError for a misaligned `descriptorPa`; BusError outside RAM.
   */
  isAbsent(descriptorPa: number): boolean {
    this.dpa('descriptorPa', descriptorPa);
    return (
      this.memory.read32(descriptorPa) === 0 && (!this.wide || this.memory.read32(descriptorPa + 4) === 0)
    );
  }

  /** Positions the editor's own cursor on the first entry for page `vpn` under `root`. */
  private seekPage(root: unknown, vpn: unknown, baseVpn?: unknown): PageTableCursor {
    checkVpn('vpn', vpn);
    const p = this.page;
    p.root = root as number;
    p.startVpn = vpn as number;
    p.endVpn = (vpn as number) + 1;
    p.baseVpn = baseVpn as number | undefined;
    const c = this.cursor;
    c.begin(p);
    return c;
  }

  private acquire(): PageTableCursor {
    return this.spare.pop() ?? this.createCursor();
  }

  /**
   * Follows `vpn` from `root` down to the first entry that is not a table (a leaf, an absent
   * entry, a software entry) or down to `stopLevel`.
   * @throws InvalidArgumentError / OutOfRangeError (from the cursor) for a root that is no
   *   aligned address, a page outside the root's address space or a `stopLevel` outside 1 … the
   *   root level.
   */
  lookup(root: number, vpn: number, stopLevel = 1): EntryRef {
    const c = this.seekPage(root, vpn);
    c.seek(stopLevel);
    return {
      level: c.level,
      descriptorPa: c.descriptorPa,
      entry: this.backend.codec.decode(c.lo, c.hi, c.level),
    };
  }

  /**
   * Maps the leaf at `level` that contains `vpn` to physical `pa` (aligned to the leaf size),
   * creating missing tables with `tableAttrs`. The slot must be absent. On failure nothing
   * changes. A new translation needs no TLB flush (absent entries are never cached), so no
   * obligation is returned.
   * @throws UnrepresentableError if the attributes cannot be encoded; InvalidArgumentError for a
   *   misaligned pa or a page outside the root's address space.
   */
  map(options: MapOptions): MapResult {
    const o = fields('map options', options, [
      'root',
      'vpn',
      'pa',
      'level',
      'attrs',
      'tableAttrs',
      'source',
      'baseVpn',
    ]);
    const { root, vpn, pa } = o;
    const level = this.level('map options.level', o.level);
    const attrs = checkLeafAttributes('map options.attrs', o.attrs);
    const tableAttrs =
      o.tableAttrs === undefined ? OPEN_TABLE : checkTableAttributes('map options.tableAttrs', o.tableAttrs);
    const source = checkFrameSource<FrameSource>('map options.source', o.source);
    const d = this.backend.description;
    const g = this.backend.geometry;
    if (!g.leafLevels.includes(level)) {
      throw new UnrepresentableError(d.id, level, `no leaves at level ${level} (${this.levelName(level)})`);
    }
    const size = g.entrySizeBytes[level]!;
    if (typeof pa !== 'number' || !Number.isSafeInteger(pa) || pa < 0 || pa % size !== 0) {
      throw new InvalidArgumentError('physical address', pa, `alignment to ${size} bytes`);
    }
    // Encode first: an unrepresentable request must fail before anything is written.
    const leafRaw = this.backend.codec.encode({ kind: 'leaf', pa, attrs }, level);
    const c = this.seekPage(root, vpn, o.baseVpn);
    let created: number[] | undefined; // pa, level, parent descriptor pa
    while (c.level > level) {
      const next = this.backend.codec.nextTable(c.lo, c.hi, c.level);
      if (next >= 0) {
        c.down(next);
        continue;
      }
      if (next === -2 || !c.absent) {
        this.rollback(created, source);
        return { ok: false, reason: next === -2 ? 'blocked-by-leaf' : 'already-mapped' };
      }
      let fresh: number;
      try {
        fresh = this.allocTable(source, c.level - 1);
      } catch (e) {
        this.rollback(created, source);
        throw e;
      }
      if (fresh < 0) {
        this.rollback(created, source);
        return { ok: false, reason: 'no-memory' };
      }
      if (created === undefined) created = [];
      created.push(fresh, c.level - 1, c.descriptorPa);
      let raw: { lo: number; hi: number };
      try {
        raw = this.backend.codec.encode({ kind: 'table', pa: fresh, attrs: tableAttrs }, c.level);
      } catch (e) {
        this.rollback(created, source);
        throw e;
      }
      c.write(raw.lo, raw.hi);
      c.down(fresh);
    }
    if (!c.absent) {
      this.rollback(created, source);
      return { ok: false, reason: 'already-mapped' };
    }
    c.write(leafRaw.lo, leafRaw.hi);
    return { ok: true, tablesCreated: created === undefined ? 0 : created.length / 3 };
  }

  private rollback(created: number[] | undefined, source: FrameSource): void {
    if (!created) return;
    for (let i = created.length - 3; i >= 0; i -= 3) {
      this.writeRaw(created[i + 2]!, 0, 0);
      source.freeTable(created[i]!, created[i + 1]!);
    }
  }

  /**
   * Installs a leaf made from `template` (see {@link LeafTemplate}) with output address `pa` into
   * the descriptor at `descriptorPa`, if it is absent: the fault path's fast way to fill a slot its
   * walk already found (the walk's `descriptorPa` at the leaf level). Returns false, writing
   * nothing, when the slot is not absent. Allocation-free. No obligation: the slot was absent.
   * The caller guarantees that `descriptorPa` is an entry at `template.level` of a live table.
   *
   * Hot path (the kernel's demand-zero fault): it keeps the two alignment checks it always had
   * and adds none. `template` must come from `leafTemplate` (frozen, verified against the codec
   * there) and is trusted. Any other argument that makes the body throw is diagnosed after the
   * fact, off the good path, and reported as an InvalidArgumentError naming it (never a
   * TypeError); nothing is written then.
   * @throws InvalidArgumentError for a `pa` not aligned to the template's leaf size, a
   *   misaligned `descriptorPa` or a `template` that is not a leaf template of this backend.
   *   BusError for a `descriptorPa` outside RAM.
   */
  fillAbsent(descriptorPa: number, pa: number, template: LeafTemplate): boolean {
    try {
      const size = this.backend.geometry.entrySizeBytes[template.level]!;
      if (!(pa >= 0 && pa % size === 0))
        throw new InvalidArgumentError('physical address', pa, `alignment to ${size} bytes`);
      if (!(descriptorPa >= 0 && descriptorPa % this.bytes === 0)) {
        throw new InvalidArgumentError('descriptorPa', descriptorPa, `alignment to ${this.bytes} bytes`);
      }
      const mem = this.memory;
      if (mem.read32(descriptorPa) !== 0 || (this.wide && mem.read32(descriptorPa + 4) !== 0)) return false;
      const lo = (template.lo | (pa >>> 0)) >>> 0;
      const hi = this.wide ? (template.hi | Math.floor(pa / TWO_32)) >>> 0 : 0;
      mem.write32(descriptorPa, lo);
      if (this.wide) mem.write32(descriptorPa + 4, hi);
      return true;
    } catch (e) {
      throw this.fillAbsentError(e, descriptorPa, pa, template);
    }
  }

  /** The error {@link fillAbsent} reports for `e`: `e` if it is an MmError, else the bad argument. */
  private fillAbsentError(e: unknown, descriptorPa: unknown, pa: unknown, template: unknown): unknown {
    if (isMmError(e)) return e;
    let level: unknown;
    let lo: unknown;
    let hi: unknown;
    try {
      ({ level, lo, hi } = template as LeafTemplate);
    } catch {
      level = undefined;
    }
    if (
      typeof template !== 'object' ||
      template === null ||
      !isWord(lo) ||
      !isWord(hi) ||
      !this.backend.geometry.leafLevels.includes(level as number)
    ) {
      return new InvalidArgumentError(
        'leaf template',
        template,
        'a LeafTemplate from leafTemplate() for this backend',
      );
    }
    if (typeof pa !== 'number')
      return new InvalidArgumentError('physical address', pa, 'a safe-integer number');
    return new InvalidArgumentError('descriptorPa', descriptorPa, 'a safe-integer number');
  }

  /**
   * Removes the leaf that maps `vpn` (whatever its size). Returns the removed leaf and the flush
   * obligation, or undefined if `vpn` is not mapped by a leaf. Tables are kept.
   */
  unmap(root: number, vpn: number, asid = 0): { leaf: LeafRef; flush: FlushObligation } | undefined {
    this.asid('unmap asid', asid);
    const c = this.seekPage(root, vpn);
    c.seek(1);
    const e = this.backend.codec.decode(c.lo, c.hi, c.level);
    if (e.kind !== 'leaf') return undefined;
    c.write(0, 0);
    const flush = this.newFlush({ asid, global: e.attrs.global });
    flush.addPage(c.vpn);
    return {
      leaf: { vpn: c.vpn, level: c.level, descriptorPa: c.descriptorPa, pa: e.pa, attrs: e.attrs },
      flush,
    };
  }

  /**
   * Removes every leaf whose pages lie inside [startVpn, endVpn) in one pass over the tables (no
   * per-page lookups), reporting each removed leaf to `visit` and recording it in `flush`. Leaves
   * straddling an end are left alone (split them first). Tables are kept. Returns the count removed.
   * @throws InvalidArgumentError (nothing removed) unless `options.flush` is a FlushObligation,
   *   `visit` a function and the range valid (see `PageTableCursor.begin`).
   */
  clearLeaves(options: ClearLeavesOptions, visit: (leaf: LeafRef) => void): number {
    const codec = this.backend.codec;
    const { flush } = fields('clearLeaves options', options, ['flush']);
    if (!(flush instanceof FlushObligation)) {
      throw new InvalidArgumentError('clearLeaves options.flush', flush, 'a FlushObligation');
    }
    checkFunction('clearLeaves visit', visit);
    const c = this.acquire();
    let removed = 0;
    try {
      let more = c.begin(options);
      while (more) {
        if (!c.absent) {
          const next = c.nextTable();
          if (next >= 0) {
            c.down(next); // stands on the table's first entry in range: look at it first
            continue;
          }
          if (c.inside) {
            // (a leaf straddling an end is left alone)
            const e = codec.decode(c.lo, c.hi, c.level);
            if (e.kind === 'leaf') {
              c.write(0, 0);
              flush.addPage(c.vpn);
              removed++;
              visit({ vpn: c.vpn, level: c.level, descriptorPa: c.descriptorPa, pa: e.pa, attrs: e.attrs });
            }
          }
        }
        more = c.next();
      }
    } finally {
      this.spare.push(c);
    }
    return removed;
  }

  /** Clears a non-present software entry for `vpn`; returns its payload or undefined. */
  clearSoftware(root: number, vpn: number): number | undefined {
    const c = this.seekPage(root, vpn);
    c.seek(1);
    const e = this.backend.codec.decode(c.lo, c.hi, c.level);
    if (e.kind !== 'software') return undefined;
    c.write(0, 0);
    return e.payload;
  }

  /**
   * Rewrites the attributes of the leaf mapping `vpn` (same output address). Returns the flush
   * obligation (one page: the leaf's first), or undefined if not mapped.
   * @throws InvalidArgumentError for options that are not well-typed (a root, a page number, leaf
   *   attributes, an ASID); UnrepresentableError (nothing is written then).
   */
  protect(options: ProtectOptions): FlushObligation | undefined {
    const o = fields('protect options', options, ['root', 'vpn', 'attrs', 'asid', 'baseVpn']);
    const attrs = checkLeafAttributes('protect options.attrs', o.attrs);
    const asid = this.asid('protect options.asid', o.asid);
    const c = this.seekPage(o.root, o.vpn, o.baseVpn);
    c.seek(1);
    const e = this.backend.codec.decode(c.lo, c.hi, c.level);
    if (e.kind !== 'leaf') return undefined;
    const raw = this.backend.codec.encode({ kind: 'leaf', pa: e.pa, attrs }, c.level);
    c.write(raw.lo, raw.hi);
    const flush = this.newFlush({ asid, global: e.attrs.global || attrs.global });
    flush.addPage(c.vpn);
    return flush;
  }

  /**
   * Visits every leaf under the root that maps a page of the range, in address order (root
   * entries in index order). With a `baseVpn`, page numbers of the kernel half are the full page
   * numbers (for an AArch64 TTBR1 table, the first page of the kernel half). `skipRootIndex`
   * leaves one root entry out (a recursive slot).
   * @throws InvalidArgumentError unless `visit` is a function and the range valid (see
   *   `PageTableCursor.begin`).
   */
  forEachLeaf(range: PageTableRange, visit: (leaf: LeafRef) => void): void {
    checkFunction('forEachLeaf visit', visit);
    const codec = this.backend.codec;
    const c = this.acquire();
    try {
      let more = c.begin(range);
      while (more) {
        if (!c.absent) {
          const next = c.nextTable();
          if (next >= 0) {
            c.down(next);
            continue;
          }
          const e = codec.decode(c.lo, c.hi, c.level);
          if (e.kind === 'leaf')
            visit({ vpn: c.vpn, level: c.level, descriptorPa: c.descriptorPa, pa: e.pa, attrs: e.attrs });
        }
        more = c.next();
      }
    } finally {
      this.spare.push(c);
    }
  }

  /**
   * Lists the table frames under the root (root included, first) with their levels, visiting
   * only the subtrees that cover part of the range; used for export, audit and teardown.
   */
  tableFrames(range: PageTableRange): TableFrame[] {
    const { root } = fields('tableFrames range', range, ['root']);
    const c = this.acquire();
    try {
      let more = c.begin(range);
      // (begin validated the root)
      const out: TableFrame[] = [{ pa: root as number, level: this.backend.geometry.rootLevel }];
      while (more) {
        const next = c.nextTable();
        if (next >= 0) {
          out.push({ pa: next, level: c.level - 1 });
          c.down(next);
          continue;
        }
        more = c.next();
      }
      return out;
    } finally {
      this.spare.push(c);
    }
  }

  /**
   * Frees the tables below the root whose root entry lies completely inside the range and clears
   * those root entries (the root itself is kept). Leaves must already be gone: a table that still
   * holds a leaf (or a software entry) is an error, and then nothing is freed.
   * Returns the number of frames freed.
   * @throws InvalidArgumentError if a leaf is still mapped in the range (nothing changed), or
   *   unless `options.source` is a frame source and the range valid (see `PageTableCursor.begin`).
   */
  freeSubtables(options: FreeSubtablesOptions): number {
    const { source } = fields('freeSubtables options', options, ['source']);
    checkFrameSource<FrameSource>('freeSubtables options.source', source);
    const c = this.acquire();
    const rootLevel = this.backend.geometry.rootLevel;
    let freed = 0;
    try {
      // Pass 1: check; nothing is written.
      let more = c.begin(options);
      while (more) {
        if (!c.absent) {
          const next = c.nextTable();
          if (c.level !== rootLevel && next < 0) {
            throw new InvalidArgumentError('table teardown', `vpn ${c.vpn}`, 'no leaf left in the range');
          }
          if (next >= 0 && (c.level !== rootLevel || c.inside)) {
            c.down(next);
            continue;
          }
        }
        more = c.next();
      }
      // Pass 2: free bottom-up (children before their parents), clear the entries.
      more = c.begin(options);
      while (more) {
        const next = c.absent ? -1 : c.nextTable();
        if (next >= 0 && (c.level !== rootLevel || c.inside)) {
          c.down(next);
          continue;
        }
        let r = c.step();
        while (r === CURSOR_UP) {
          // Finished the table of the current entry: free it.
          const child = this.backend.codec.nextTable(c.lo, c.hi, c.level);
          this.memory.fill(child, PAGE_SIZE, 0);
          (source as FrameSource).freeTable(child, c.level - 1);
          c.write(0, 0);
          freed++;
          r = c.step();
        }
        more = r !== CURSOR_DONE;
      }
    } finally {
      this.spare.push(c);
    }
    return freed;
  }

  /**
   * Frees the page-table pages that an unmap left empty, bottom-up: every table below the root
   * (never the root itself) that covers at least one page of the range and whose entries are
   * then all absent (all-zero descriptors) is freed and its parent entry cleared; a parent left
   * empty that way is freed too, up to (not including) the root. Tables holding any leaf,
   * software entry (a swap slot, say) or invalid descriptor are kept, wherever they are, so
   * nothing a translation or a payload needs is ever lost; clear software entries first (e.g.
   * {@link clearSoftware}) if their tables should go.
   *
   * This is Linux `free_pgtables`, with an emptiness check instead of Linux's precondition: after
   * munmap, pass the unmapped range (tables straddling its edges are visited too, and kept while a
   * neighbour still maps something in them), or the wider range between the neighbouring VMAs
   * (Linux's floor/ceiling: the previous VMA's end to the next one's start), which also reclaims
   * tables that earlier unmaps left empty inside the gap. Only the tables that cover part of the
   * range are visited.
   * Never pass a range that covers tables shared with other roots (the kernel half on a
   * single-root format): an empty shared table would be freed under the other roots.
   *
   * The returned obligation lists one page per freed table (its first page) and is marked as a
   * table change, so AArch64 uses `TLBI VAE1`, which also drops cached walks (arch-facts A11). It
   * is empty when nothing was freed (and must still be settled). The freed frames are all-zero
   * when handed back.
   * @throws InvalidArgumentError (nothing freed) unless `options.source` is a frame source,
   *   `asid` an ASID, `global` a boolean and the range valid (see `PageTableCursor.begin`).
   */
  pruneEmptyTables(options: PruneOptions): PruneResult {
    const o = fields('pruneEmptyTables options', options, ['source', 'asid', 'global']);
    const source = checkFrameSource<FrameSource>('pruneEmptyTables options.source', o.source);
    const asid = this.asid('pruneEmptyTables options.asid', o.asid);
    const global = o.global === undefined ? false : checkBool('pruneEmptyTables options.global', o.global);
    const c = this.acquire();
    const flush = this.newFlush({ asid, global });
    let freed = 0;
    try {
      let more = c.begin(options);
      while (more) {
        const next = c.absent ? -1 : c.nextTable();
        if (next >= 0) {
          c.down(next);
          continue;
        }
        let r = c.step();
        while (r === CURSOR_UP) {
          const child = this.backend.codec.nextTable(c.lo, c.hi, c.level);
          if (c.tableIsEmpty(child)) {
            c.write(0, 0);
            source.freeTable(child, c.level - 1);
            flush.addPage(c.vpn);
            freed++;
          }
          r = c.step();
        }
        more = r !== CURSOR_DONE;
      }
    } catch (e) {
      flush.ignore('pruneEmptyTables threw; the error is what the caller sees');
      throw e;
    } finally {
      this.spare.push(c);
    }
    if (freed > 0) flush.addTableChange();
    return { freed, flush };
  }

  /**
   * Prepares the split of the block (large leaf) that maps `vpn` into a table of the next level
   * down holding the equivalent smaller leaves: the same attributes and consecutive output
   * addresses (a 2 MiB block becomes 512 × 4 KiB pages; a 1 GiB block 512 × 2 MiB blocks; a
   * 32-bit x86 4 MiB page 1024 × 4 KiB pages). The new table is allocated and filled now, while
   * unreachable; the plan's phases (break-before-make.ts) then swap it in. Every translation stays
   * the same. The break step's obligation names the block's first page, as a table change.
   *
   * Returns a reason, with nothing changed, when no leaf maps `vpn` (`not-mapped`), it is a
   * smallest page (`not-a-block`) or no table frame is left (`no-memory`).
   * @throws InvalidArgumentError if the block has the contiguous hint (clear it on the whole group
   *   first with {@link prepareContiguousRun}: arch-facts A11); UnrepresentableError if the level
   *   below has no leaves or cannot express them (e.g. a 32-bit x86 4 MiB page above 4 GiB split
   *   into 4 KiB pages). Nothing changed then. InvalidArgumentError too for options that are not
   *   well-typed (root, page number, frame source, table attributes, ASID).
   */
  prepareSplit(options: SplitOptions): SplitPrepared {
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
    const asid = this.asid('prepareSplit options.asid', o.asid);
    const g = this.backend.geometry;
    const c = this.seekPage(o.root, vpn, o.baseVpn);
    c.seek(1);
    const entry = this.backend.codec.decode(c.lo, c.hi, c.level);
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
        this.backend.description.id,
        child,
        `no leaves at level ${child} (${this.levelName(child)}) to split a ${this.levelName(level)} block into`,
      );
    }
    const n = g.entries[child]!;
    const size = g.entrySizeBytes[child]!;
    const base = entry.pa;
    // Encode every smaller leaf before anything is allocated or written.
    const raws = new Array<number>(2 * n);
    for (let i = 0; i < n; i++) {
      const raw = this.backend.codec.encode({ kind: 'leaf', pa: base + i * size, attrs }, child);
      raws[2 * i] = raw.lo;
      raws[2 * i + 1] = raw.hi;
    }
    const fresh = this.allocTable(source, child);
    if (fresh < 0) return { ok: false, reason: 'no-memory' };
    const release = () => {
      this.memory.fill(fresh, PAGE_SIZE, 0);
      source.freeTable(fresh, child);
    };
    let tableRaw: { lo: number; hi: number };
    try {
      tableRaw = this.backend.codec.encode({ kind: 'table', pa: fresh, attrs: tableAttrs }, level);
    } catch (e) {
      release();
      throw e;
    }
    for (let i = 0; i < n; i++) this.writeRaw(this.entryPa(fresh, i), raws[2 * i]!, raws[2 * i + 1]!);
    const plan = new BreakBeforeMakePlan<SplitDone>({
      operation: 'split',
      memory: this.memory,
      wide: this.wide,
      dpas: [dpa],
      old: [oldLo, oldHi],
      made: [tableRaw.lo, tableRaw.hi],
      flush: () => {
        const f = this.newFlush({ asid, global: attrs.global });
        f.addPage(first);
        f.addTableChange();
        return f;
      },
      onAbort: release,
      result: { tablePa: fresh, leafLevel: child, entries: n },
    });
    return { ok: true, plan };
  }

  /**
   * Prepares the inverse of a split: replacing the table that the entry at `level` for `vpn`
   * points to by one leaf at `level` (e.g. `level` 2: an L3 table / x86 PT of 512 pages becomes a
   * 2 MiB block); `make()` frees the table. Allowed only when the table descriptor restricts
   * nothing, every entry of the table is a leaf, all have the same attributes apart from accessed,
   * dirty and contiguous, and their output addresses are consecutive from a base aligned to the new
   * leaf size. The new leaf is accessed (dirty) if any old leaf was: a conservative merge that
   * loses no dirty page. Every translation keeps its output address and permissions. The break
   * step's obligation lists every old leaf, as a table change (more than the threshold become one
   * ASID-wide invalidation).
   * Returns a reason (see {@link CollapsePrepared}) with nothing changed when it is not allowed.
   * @throws UnrepresentableError if `level` has no block leaves or the leaf cannot be encoded;
   *   InvalidArgumentError for options that are not well-typed (root, page number, level, frame
   *   source, ASID).
   */
  prepareCollapse(options: CollapseOptions): CollapsePrepared {
    const o = fields('prepareCollapse options', options, [
      'root',
      'vpn',
      'level',
      'source',
      'asid',
      'baseVpn',
    ]);
    const vpn = o.vpn as number;
    const level = this.level('prepareCollapse options.level', o.level);
    const source = checkFrameSource<FrameSource>('prepareCollapse options.source', o.source);
    const asid = this.asid('prepareCollapse options.asid', o.asid);
    const g = this.backend.geometry;
    if (!g.leafLevels.includes(level) || level < 2) {
      throw new UnrepresentableError(
        this.backend.description.id,
        level,
        `no block leaves at level ${level} (${this.levelName(level)}) to collapse a table into`,
      );
    }
    const c = this.seekPage(o.root, vpn, o.baseVpn);
    c.seek(level);
    const ref = this.backend.codec.decode(c.lo, c.hi, c.level);
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
      const e = this.readEntry(this.entryPa(table, i), child);
      if (e.kind !== 'leaf') return { ok: false, reason: 'not-all-leaves' };
      if (first === undefined) {
        first = e.attrs;
        base = e.pa;
      } else if (!sameLeafAttributes(first, e.attrs, true)) {
        return { ok: false, reason: 'attributes-differ' };
      }
      accessed ||= e.attrs.accessed;
      dirty ||= e.attrs.dirty;
    }
    for (let i = 0; i < n; i++) {
      const e = this.readEntry(this.entryPa(table, i), child);
      if (e.kind !== 'leaf' || e.pa !== base + i * size || base % g.entrySizeBytes[level]! !== 0) {
        return { ok: false, reason: 'not-contiguous' };
      }
    }
    const attrs: LeafAttributes = { ...first!, accessed, dirty, contiguous: false };
    const leafRaw = this.backend.codec.encode({ kind: 'leaf', pa: base, attrs }, level);
    const childPages = g.entryPages[child]!;
    const plan = new BreakBeforeMakePlan<CollapseDone>({
      operation: 'collapse',
      memory: this.memory,
      wide: this.wide,
      dpas: [dpa],
      old: [oldLo, oldHi],
      made: [leafRaw.lo, leafRaw.hi],
      flush: () => {
        const f = this.newFlush({ asid, global: attrs.global });
        f.addTableChange();
        for (let i = 0; i < n; i++) f.addPage(firstVpn + i * childPages);
        return f;
      },
      onMake: () => {
        this.memory.fill(table, PAGE_SIZE, 0);
        source.freeTable(table, child);
      },
      result: { leaf: { vpn: firstVpn, level, descriptorPa: dpa, pa: base, attrs }, freedTablePa: table },
    });
    return { ok: true, plan };
  }

  /**
   * Prepares setting (`on`) or clearing the Contiguous hint on the `count` leaves starting at
   * `vpn`: whole groups of `capabilities.contiguousEntries` entries (16 on AArch64 with 4 KiB
   * granules, both for 4 KiB pages = 64 KiB and 2 MiB blocks = 32 MiB: arch-facts A1), all leaves
   * of the size of the leaf at `vpn`. Turning it on needs, per group, the same attributes apart
   * from accessed and dirty, and consecutive output addresses from a base aligned to the group
   * size; the group's accessed and dirty states are merged (OR) so that its entries end up
   * identical, as the hint requires (arch-facts A11; Linux contpte gathers them the same way).
   *
   * The hint must be cleared on a whole group before any entry of it changes (unmap, protect,
   * split, a new output address): the caller clears first, then changes. Changing the bit is a
   * break-before-make change (arch-facts A11): the plan's break clears every entry of the groups
   * that change, its obligation lists their pages (leaf entries only), make writes the new
   * entries. Groups already in the requested state are left alone; when none changes, the result
   * is undefined (no plan, no obligation). Every check runs here: when it throws, nothing changed.
   * @throws UnrepresentableError if the backend has no contiguous hint; InvalidArgumentError for a
   *   `count` that is not a positive multiple of the group size, a `vpn` not aligned to a group,
   *   leaves of different sizes, differing attributes or non-consecutive/misaligned output
   *   addresses (when turning on); NotMappedError for a page of the run that no leaf maps.
   *   InvalidArgumentError too for options that are not well-typed (root, page number, `on` a
   *   boolean, ASID).
   */
  prepareContiguousRun(options: ContiguousRunOptions): BreakBeforeMakePlan<number> | undefined {
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
    const asid = this.asid('prepareContiguousRun options.asid', o.asid);
    const d = this.backend.description;
    const group = d.capabilities.contiguousEntries;
    if (group === 0) {
      throw new UnrepresentableError(d.id, 1, 'no contiguous hint (capabilities.contiguousEntries = 0)');
    }
    if (!Number.isSafeInteger(count) || count < group || count % group !== 0) {
      throw new InvalidArgumentError(
        'contiguous run length',
        count,
        `a positive multiple of ${group} entries`,
      );
    }
    const g = this.backend.geometry;
    const head = this.lookup(root, vpn); // (the page's own root half: baseVpn is inferred)
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
    const c = this.cursor;
    for (let k0 = 0; k0 < count; k0 += group) {
      for (let j = 0; j < group; j++) {
        const v = vpn + (k0 + j) * per;
        this.seekPage(root, v, o.baseVpn);
        c.seek(1);
        const e = this.backend.codec.decode(c.lo, c.hi, c.level);
        if (e.kind !== 'leaf') throw new NotMappedError(vaOf(v));
        if (c.level !== level) {
          throw new InvalidArgumentError(
            'contiguous run',
            `vpn ${v}`,
            `leaves of one size: this is a ${this.levelName(c.level)} leaf, the run starts with ${this.levelName(level)} leaves`,
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
          if (!sameLeafAttributes(g0.attrs, leaf.attrs, true)) {
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
        const raw = this.backend.codec.encode({ kind: 'leaf', pa: leaf.pa, attrs }, level);
        dpas.push(leaf.descriptorPa);
        made.push(raw.lo, raw.hi);
        pages.push(leaf.vpn);
        global ||= leaf.attrs.global;
      }
    }
    if (dpas.length === 0) return undefined;
    return new BreakBeforeMakePlan<number>({
      operation: 'contiguous',
      memory: this.memory,
      wide: this.wide,
      dpas,
      old,
      made,
      flush: () => {
        const f = this.newFlush({ asid, global });
        for (const v of pages) f.addPage(v);
        return f;
      },
      result: dpas.length,
    });
  }

  /**
   * Page number of the first page covered by root entry `i` of a root whose index 0 maps
   * `baseVpn`. On single-root formats with a sign-extended upper half (x86-64: bit 47 or 56),
   * entries in the upper half of the root cover canonical high addresses.
   */
  rootEntryVpn(i: number, baseVpn: number): number {
    return this.cursor.rootEntryVpn(i, baseVpn);
  }

  /** The architecture's name of an internal level (`level …` for anything else; never throws). */
  levelName(level: number): string {
    const l = Number.isInteger(level) ? this.backend.description.levels[level - 1] : undefined;
    return l?.name ?? `level ${describeValue(level)}`;
  }
}

/** A 32-bit word, unsigned or two's complement. */
function isWord(v: unknown): boolean {
  return typeof v === 'number' && (v >>> 0 === v || (v | 0) === v);
}
