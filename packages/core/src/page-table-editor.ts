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
 * Break-before-make (splits, collapses, the Contiguous hint) runs as explicit phases: the
 * preparers (bbm-prepare.ts) check and build the new entries, the plans (break-before-make.ts)
 * swap them in.
 */
import { PAGE_SIZE, TWO_32 } from './address.js';
import type { ArchBackend, NeutralEntry } from './arch.js';
import {
  checkBackend,
  checkFunction,
  checkInt,
  checkLeafAttributes,
  checkMemory,
  checkNeutralEntry,
  checkPa,
  checkVpn,
  fields,
} from './arg-checks.js';
import {
  type CollapseOptions,
  type CollapsePrepared,
  type ContiguousRunOptions,
  prepareCollapse,
  prepareContiguousRun,
  prepareSplit,
  type SplitOptions,
  type SplitPrepared,
} from './bbm-prepare.js';
import type { BreakBeforeMakePlan } from './break-before-make.js';
import type { EditorHost } from './editor-host.js';
import { describeValue, InvalidArgumentError, isMmError } from './errors.js';
import { DEFAULT_FLUSH_PAGE_THRESHOLD, FlushLedger, FlushObligation } from './flush.js';
import type { LeafTemplate } from './leaf-template.js';
import { PageTableCursor, type PageTableRange } from './page-table-cursor.js';
import type {
  ClearLeavesOptions,
  EnsureTableOptions,
  EnsureTableResult,
  EntryRef,
  FrameSource,
  FreeSubtablesOptions,
  LeafRef,
  MapOptions,
  MapResult,
  NewFlushOptions,
  PageTableEditorOptions,
  ProtectOptions,
  PruneOptions,
  PruneResult,
  TableFrame,
} from './page-table-editor-types.js';
import { ensureTable, forEachLeaf, map, tableFrames } from './page-table-walks.js';
import type { PhysicalMemory } from './physical-memory.js';
import { freeSubtables, pruneEmptyTables } from './table-teardown.js';

export type {
  CollapseDone,
  CollapseOptions,
  CollapsePrepared,
  ContiguousRunOptions,
  SplitDone,
  SplitOptions,
  SplitPrepared,
} from './bbm-prepare.js';

export type {
  ClearLeavesOptions,
  EnsureTableOptions,
  EnsureTableResult,
  EntryRef,
  FrameSource,
  FreeSubtablesOptions,
  LeafRef,
  MapOptions,
  MapResult,
  NewFlushOptions,
  PageTableEditorOptions,
  ProtectOptions,
  PruneOptions,
  PruneResult,
  RootRef,
  TableFrame,
} from './page-table-editor-types.js';

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
  /** What the extracted parts (bbm-prepare.ts, table-teardown.ts) use of the editor, bound once. */
  private readonly host: EditorHost;

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
    this.host = {
      backend: this.backend,
      memory: this.memory,
      wide: this.wide,
      cursor: this.cursor,
      seekPage: (root, vpn, baseVpn) => this.seekPage(root, vpn, baseVpn),
      allocTable: (source, level) => this.allocTable(source, level),
      asid: (what, value) => this.asid(what, value),
      level: (what, value) => this.level(what, value),
      levelName: (level) => this.levelName(level),
      entryPa: (tablePa, index) => this.entryPa(tablePa, index),
      writeRaw: (descriptorPa, lo, hi) => this.writeRaw(descriptorPa, lo, hi),
      readEntry: (descriptorPa, level) => this.readEntry(descriptorPa, level),
      newFlush: (options) => this.newFlush(options),
      lookup: (root, vpn, stopLevel) => this.lookup(root, vpn, stopLevel),
      acquire: () => this.acquire(),
      release: (cursor) => {
        this.spare.push(cursor);
      },
    };
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
    return map(this.host, options);
  }

  /**
   * Makes sure the table whose entries at `level` cover `vpn` exists — creating each missing
   * table on the way from `source`, with `tableAttrs` — and returns its physical address: a
   * loader or fork fills a whole leaf table at a time (with {@link fillAbsent} or raw writes)
   * after one such call. On failure nothing changes (tables created on the way are given back).
   * Nothing is mapped, so no obligation is returned.
   * @throws InvalidArgumentError for a `level` outside 1 … root level − 1, a bad root or a page
   *   outside the root's address space.
   */
  ensureTable(options: EnsureTableOptions): EnsureTableResult {
    return ensureTable(this.host, options);
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
      // Alignment by masks, not `%` (a floating-point remainder per fault): exact for safe
      // integers, whose low 32 bits `&` sees unchanged; leaf sizes are powers of two ≤ 2^30.
      if (
        !(
          Number.isSafeInteger(pa) &&
          pa >= 0 &&
          (size <= 0x4000_0000 ? (pa & (size - 1)) === 0 : pa % size === 0)
        )
      )
        throw new InvalidArgumentError('physical address', pa, `alignment to ${size} bytes`);
      if (
        !(Number.isSafeInteger(descriptorPa) && descriptorPa >= 0 && (descriptorPa & (this.bytes - 1)) === 0)
      ) {
        throw new InvalidArgumentError('descriptorPa', descriptorPa, `alignment to ${this.bytes} bytes`);
      }
      const mem = this.memory;
      // One lookup for both words of a 64-bit descriptor (readPair), not two.
      if (this.wide ? mem.readPair(descriptorPa) !== 0 || mem.pairHi !== 0 : mem.read32(descriptorPa) !== 0)
        return false;
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
    forEachLeaf(this.host, range, visit);
  }

  /**
   * Lists the table frames under the root (root included, first) with their levels, visiting
   * only the subtrees that cover part of the range; used for export, audit and teardown.
   */
  tableFrames(range: PageTableRange): TableFrame[] {
    return tableFrames(this.host, range);
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
    return freeSubtables(this.host, options);
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
    return pruneEmptyTables(this.host, options);
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
    return prepareSplit(this.host, options);
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
    return prepareCollapse(this.host, options);
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
    return prepareContiguousRun(this.host, options);
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
