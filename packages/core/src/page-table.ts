/**
 * Architecture-neutral page-table editing over {@link PhysicalMemory}.
 *
 * The editor builds, changes and removes translations in real tables through
 * a backend's codec. It never allocates by itself: a {@link FrameSource} hands
 * it zeroed frames for new tables. Every operation either completes or leaves
 * memory and the frame source exactly as they were (a failed map frees the
 * tables it created and clears the entries it wrote).
 *
 * Changes to live translations return a {@link FlushObligation}.
 *
 * ## Break-before-make
 *
 * Changing the size of a live translation (a block split into a table of smaller leaves, a table
 * collapsed into a block) or its Contiguous hint needs break-before-make on AArch64 (arch-facts
 * A11): write an invalid descriptor, invalidate the TLB (`DSB; TLBI; DSB`), and only then write
 * the new descriptor; skipping the middle step may leave two overlapping TLB entries (a TLB
 * conflict abort, fault status 0x30). {@link PageTableEditor.splitLeaf},
 * {@link PageTableEditor.collapseTable} and {@link PageTableEditor.setContiguousRun} run the
 * whole sequence in one call and take a {@link DischargeFlush} callback for the middle step:
 *
 * ```
 * build the new entries off to the side (a fresh table, encoded raws)   ← may fail: nothing changed
 * write invalid descriptors over the old ones                            ← break
 * discharge(flush)        the caller runs TLBI on every CPU (or ignores the obligation for tables
 *                         no CPU has loaded) and must settle the obligation
 * write the new descriptors, free what became unused                     ← make
 * ```
 *
 * If the callback throws or returns with the obligation unsettled, the old descriptors are written
 * back, the fresh table is freed, and the error is thrown: nothing changed. After the make step
 * there is nothing left to invalidate (the slot was invalid and flushed), so these methods return
 * no obligation. Other formats (x86) do not require the sequence; it is correct there too.
 */
import { PAGE_SIZE, vaOf } from './address.js';
import {
  type ArchBackend,
  type LeafAttributes,
  type NeutralEntry,
  OPEN_TABLE,
  type TableAttributes,
} from './arch.js';
import { InvalidArgumentError, NotMappedError, UnrepresentableError } from './errors.js';
import { FlushObligation } from './flush.js';
import type { PhysicalMemory } from './physical-memory.js';

/** Where table frames come from. */
export interface FrameSource {
  /** A zeroed frame for a page table: its physical address, or -1 when out of memory. */
  allocTable(level: number): number;
  /** Returns a table frame obtained from {@link allocTable}. */
  freeTable(pa: number, level: number): void;
}

/** Result of {@link PageTableEditor.map}. */
export type MapResult =
  | { readonly ok: true; readonly flush: FlushObligation; readonly tablesCreated: number }
  | { readonly ok: false; readonly reason: 'no-memory' | 'already-mapped' | 'blocked-by-leaf' };

/** A located entry: the descriptor's address and its decoded value. */
export interface EntryRef {
  readonly level: number;
  readonly descriptorPa: number;
  readonly entry: NeutralEntry;
}

/** A leaf found by {@link PageTableEditor.forEachLeaf}. */
export interface LeafRef {
  /** First page number the leaf maps. */
  readonly vpn: number;
  readonly level: number;
  readonly descriptorPa: number;
  readonly pa: number;
  readonly attrs: LeafAttributes;
}

/**
 * Runs the TLB maintenance of the break step of a break-before-make sequence (see the module
 * documentation): invalidate what `flush` lists on every CPU that may cache it, then settle it
 * (`markDischarged()`), or `ignore()` it when no CPU has these tables loaded. A kernel passes
 * `(f) => kernel.discharge(f)`.
 */
export type DischargeFlush = (flush: FlushObligation) => void;

/** Result of {@link PageTableEditor.pruneEmptyTables}. */
export interface PruneResult {
  /** Table frames freed (root never included). */
  readonly freed: number;
  /** Walk-cache invalidation for the cleared table entries (non-leaf: TLBI VAE1, not VALE1). */
  readonly flush: FlushObligation;
}

/** Result of {@link PageTableEditor.splitLeaf}. */
export type SplitResult =
  | {
      readonly ok: true;
      /** The new table that holds the smaller leaves. */
      readonly tablePa: number;
      /** Level of the smaller leaves (the new table's level). */
      readonly leafLevel: number;
      /** Number of smaller leaves written (entries of the new table). */
      readonly entries: number;
    }
  | {
      readonly ok: false;
      /** `not-mapped`: no leaf maps `vpn`; `not-a-block`: it is already a smallest page; `no-memory`: no table frame. */
      readonly reason: 'not-mapped' | 'not-a-block' | 'no-memory';
    };

/** Result of {@link PageTableEditor.collapseTable}. */
export type CollapseResult =
  | {
      readonly ok: true;
      /** The new leaf (accessed and dirty are the OR of the old leaves', contiguous is off). */
      readonly leaf: LeafRef;
      /** The table frame that was freed. */
      readonly freedTablePa: number;
    }
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

function checkDischarge(discharge: unknown): void {
  if (typeof discharge !== 'function') {
    throw new InvalidArgumentError(
      'discharge',
      typeof discharge,
      'a function that discharges a FlushObligation',
    );
  }
}

/** See the module documentation. */
export class PageTableEditor {
  private readonly bytes: number;

  constructor(
    readonly backend: ArchBackend,
    readonly memory: PhysicalMemory,
  ) {
    this.bytes = backend.description.descriptorBytes;
  }

  /** Address of entry `index` of the table at `tablePa`. */
  entryPa(tablePa: number, index: number): number {
    return tablePa + index * this.bytes;
  }

  /** Reads the raw descriptor at `descriptorPa` as [lo, hi]. */
  readRaw(descriptorPa: number): [number, number] {
    const lo = this.memory.read32(descriptorPa);
    return [lo, this.bytes === 8 ? this.memory.read32(descriptorPa + 4) : 0];
  }

  /** Writes a raw descriptor. */
  writeRaw(descriptorPa: number, lo: number, hi: number): void {
    this.memory.write32(descriptorPa, lo);
    if (this.bytes === 8) this.memory.write32(descriptorPa + 4, hi);
  }

  /** Decodes the descriptor at `descriptorPa` found at `level`. */
  readEntry(descriptorPa: number, level: number): NeutralEntry {
    const [lo, hi] = this.readRaw(descriptorPa);
    return this.backend.codec.decode(lo, hi, level);
  }

  /** Encodes and writes an entry. @throws UnrepresentableError */
  writeEntry(descriptorPa: number, entry: NeutralEntry, level: number): void {
    const raw = this.backend.codec.encode(entry, level);
    this.writeRaw(descriptorPa, raw.lo, raw.hi);
  }

  /**
   * Follows `vpn` from `root` down to the first entry that is not a table
   * (a leaf, an absent entry, a software entry) or down to `stopLevel`.
   */
  lookup(root: number, vpn: number, stopLevel = 1): EntryRef {
    const g = this.backend.geometry;
    let table = root;
    for (let level = g.rootLevel; ; level--) {
      const dpa = this.entryPa(table, g.indexOf(vpn, level));
      const [lo, hi] = this.readRaw(dpa);
      const next = this.backend.codec.nextTable(lo, hi, level);
      if (next < 0 || level === stopLevel) {
        return { level, descriptorPa: dpa, entry: this.backend.codec.decode(lo, hi, level) };
      }
      table = next;
    }
  }

  /**
   * Maps the leaf at `level` that contains `vpn` to physical `pa` (aligned to the leaf size),
   * creating missing tables with `tableAttrs`. The slot must be absent.
   * On failure nothing changes. A new translation needs no TLB flush (absent entries are never cached),
   * so the returned obligation is empty.
   * @throws UnrepresentableError if the attributes cannot be encoded; InvalidArgumentError for a misaligned pa.
   */
  map(
    root: number,
    vpn: number,
    pa: number,
    level: number,
    attrs: LeafAttributes,
    tableAttrs: TableAttributes,
    source: FrameSource,
    asid = 0,
  ): MapResult {
    const d = this.backend.description;
    const g = this.backend.geometry;
    if (!g.leafLevels.includes(level)) {
      throw new UnrepresentableError(d.id, level, `no leaves at level ${level} (${this.levelName(level)})`);
    }
    const size = g.entrySizeBytes[level]!;
    if (pa % size !== 0) throw new InvalidArgumentError('physical address', pa, `alignment to ${size} bytes`);
    // Encode first: an unrepresentable request must fail before anything is written.
    const leafRaw = this.backend.codec.encode({ kind: 'leaf', pa, attrs }, level);
    let created: { pa: number; level: number; parentDpa: number }[] | undefined;
    const mem = this.memory;
    const wide = this.bytes === 8;
    let table = root;
    for (let l = g.rootLevel; l > level; l--) {
      const dpa = this.entryPa(table, g.indexOf(vpn, l));
      const next = this.backend.codec.nextTable(mem.read32(dpa), wide ? mem.read32(dpa + 4) : 0, l);
      if (next >= 0) {
        table = next;
        continue;
      }
      if (next === -2) {
        this.rollback(created, source);
        return { ok: false, reason: 'blocked-by-leaf' };
      }
      const fresh = source.allocTable(l - 1);
      if (fresh < 0) {
        this.rollback(created, source);
        return { ok: false, reason: 'no-memory' };
      }
      if (created === undefined) created = [];
      created.push({ pa: fresh, level: l - 1, parentDpa: dpa });
      this.writeEntry(dpa, { kind: 'table', pa: fresh, attrs: tableAttrs }, l);
      table = fresh;
    }
    const dpa = this.entryPa(table, g.indexOf(vpn, level));
    if (mem.read32(dpa) !== 0 || (wide && mem.read32(dpa + 4) !== 0)) {
      this.rollback(created, source);
      return { ok: false, reason: 'already-mapped' };
    }
    this.writeRaw(dpa, leafRaw.lo, leafRaw.hi);
    return { ok: true, flush: new FlushObligation(asid, attrs.global), tablesCreated: created?.length ?? 0 };
  }

  private rollback(
    created: { pa: number; level: number; parentDpa: number }[] | undefined,
    source: FrameSource,
  ): void {
    if (!created) return;
    for (let i = created.length - 1; i >= 0; i--) {
      const c = created[i]!;
      this.writeRaw(c.parentDpa, 0, 0);
      source.freeTable(c.pa, c.level);
    }
  }

  /**
   * Removes the leaf that maps `vpn` (whatever its size). Returns the removed leaf and the
   * flush obligation, or undefined if `vpn` is not mapped by a leaf. Tables are kept.
   */
  unmap(root: number, vpn: number, asid = 0): { leaf: LeafRef; flush: FlushObligation } | undefined {
    const ref = this.lookup(root, vpn);
    if (ref.entry.kind !== 'leaf') return undefined;
    this.writeRaw(ref.descriptorPa, 0, 0);
    const pages = this.backend.geometry.entryPages[ref.level]!;
    const flush = new FlushObligation(asid, ref.entry.attrs.global);
    const first = vpn - (vpn % pages);
    flush.addPage(first);
    return {
      leaf: {
        vpn: first,
        level: ref.level,
        descriptorPa: ref.descriptorPa,
        pa: ref.entry.pa,
        attrs: ref.entry.attrs,
      },
      flush,
    };
  }

  /**
   * Removes every leaf whose pages lie inside [startVpn, endVpn) in one pass over the tables (no
   * per-page lookups), reporting each removed leaf to `visit` and recording it in `flush`. Leaves
   * straddling an end are left alone (split them first). Tables are kept. Returns the count removed.
   */
  clearLeaves(
    root: number,
    startVpn: number,
    endVpn: number,
    flush: FlushObligation,
    visit: (leaf: LeafRef) => void,
    baseVpn = 0,
  ): number {
    const g = this.backend.geometry;
    const codec = this.backend.codec;
    const rootLevel = g.rootLevel;
    let removed = 0;
    const walk = (table: number, level: number, tableVpn: number, tableBytes: number): void => {
      const per = g.entryPages[level]!;
      const n = Math.min(g.entries[level]!, tableBytes / this.bytes);
      const first = level === rootLevel ? 0 : Math.max(0, Math.floor((startVpn - tableVpn) / per));
      for (let i = first; i < n; i++) {
        const vpn = level === rootLevel ? this.rootEntryVpn(i, tableVpn) : tableVpn + i * per;
        if (vpn + per <= startVpn) continue;
        if (vpn >= endVpn) {
          if (level === rootLevel) continue;
          return;
        }
        const dpa = this.entryPa(table, i);
        const lo = this.memory.read32(dpa);
        const hi = this.bytes === 8 ? this.memory.read32(dpa + 4) : 0;
        if (lo === 0 && hi === 0) continue;
        const next = level > 1 ? codec.nextTable(lo, hi, level) : -1;
        if (next >= 0) {
          walk(next, level - 1, vpn, PAGE_SIZE);
          continue;
        }
        if (vpn < startVpn || vpn + per > endVpn) continue; // straddles an end
        const e = codec.decode(lo, hi, level);
        if (e.kind !== 'leaf') continue;
        this.writeRaw(dpa, 0, 0);
        flush.addPage(vpn);
        removed++;
        visit({ vpn, level, descriptorPa: dpa, pa: e.pa, attrs: e.attrs });
      }
    };
    walk(root, rootLevel, baseVpn, this.backend.description.rootTableBytes);
    return removed;
  }

  /** Clears a non-present software entry for `vpn`; returns its payload or undefined. */
  clearSoftware(root: number, vpn: number): number | undefined {
    const ref = this.lookup(root, vpn);
    if (ref.entry.kind !== 'software') return undefined;
    this.writeRaw(ref.descriptorPa, 0, 0);
    return ref.entry.payload;
  }

  /**
   * Rewrites the attributes of the leaf mapping `vpn` (same output address).
   * Returns the flush obligation, or undefined if not mapped.
   * @throws UnrepresentableError (nothing is written then).
   */
  protect(root: number, vpn: number, attrs: LeafAttributes, asid = 0): FlushObligation | undefined {
    const ref = this.lookup(root, vpn);
    if (ref.entry.kind !== 'leaf') return undefined;
    const raw = this.backend.codec.encode({ kind: 'leaf', pa: ref.entry.pa, attrs }, ref.level);
    this.writeRaw(ref.descriptorPa, raw.lo, raw.hi);
    const flush = new FlushObligation(asid, ref.entry.attrs.global || attrs.global);
    const pages = this.backend.geometry.entryPages[ref.level]!;
    flush.addPage(vpn - (vpn % pages));
    return flush;
  }

  /**
   * Visits every leaf under `root` whose first page lies in `[startVpn, endVpn)`, in address order.
   * `vpn` values of the kernel half are the full 52-bit page numbers when `baseVpn` is given
   * (the page number that index 0 of the root maps; for an AArch64 TTBR1 table pass the
   * first page of the kernel half). `skipRootIndex` leaves one root entry out (a recursive slot,
   * which would otherwise be visited as a table of the level below).
   */
  forEachLeaf(
    root: number,
    visit: (leaf: LeafRef) => void,
    startVpn = 0,
    endVpn = Infinity,
    baseVpn = 0,
    skipRootIndex = -1,
  ): void {
    const g = this.backend.geometry;
    const rootLevel = g.rootLevel;
    const walk = (table: number, level: number, tableVpn: number, tableBytes: number) => {
      const per = g.entryPages[level]!;
      const n = Math.min(g.entries[level]!, tableBytes / this.bytes);
      for (let i = 0; i < n; i++) {
        if (level === rootLevel && i === skipRootIndex) continue; // e.g. a recursive slot
        const vpn = level === rootLevel ? this.rootEntryVpn(i, tableVpn) : tableVpn + i * per;
        if (vpn + per <= startVpn) continue;
        if (vpn >= endVpn) {
          if (level === rootLevel) continue; // sign-extended roots are not monotonic
          return;
        }
        const dpa = this.entryPa(table, i);
        const [lo, hi] = this.readRaw(dpa);
        if (lo === 0 && hi === 0) continue;
        const next = this.backend.codec.nextTable(lo, hi, level);
        if (next >= 0 && level > 1) {
          walk(next, level - 1, vpn, PAGE_SIZE);
          continue;
        }
        const e = this.backend.codec.decode(lo, hi, level);
        if (e.kind === 'leaf') visit({ vpn, level, descriptorPa: dpa, pa: e.pa, attrs: e.attrs });
      }
    };
    walk(root, g.rootLevel, baseVpn, this.backend.description.rootTableBytes);
  }

  /**
   * Lists the table frames under `root` (root included) with their levels, visiting only the
   * subtrees that cover `[startVpn, endVpn)`; used for export, audit and teardown.
   */
  tableFrames(
    root: number,
    startVpn = 0,
    endVpn = Infinity,
    baseVpn = 0,
    skipRootIndex = -1,
  ): { pa: number; level: number }[] {
    const g = this.backend.geometry;
    const out: { pa: number; level: number }[] = [{ pa: root, level: g.rootLevel }];
    const rootLevel = g.rootLevel;
    const walk = (table: number, level: number, tableVpn: number, tableBytes: number) => {
      const per = g.entryPages[level]!;
      const n = Math.min(g.entries[level]!, tableBytes / this.bytes);
      for (let i = 0; i < n; i++) {
        if (level === rootLevel && i === skipRootIndex) continue; // e.g. a recursive slot
        const vpn = level === rootLevel ? this.rootEntryVpn(i, tableVpn) : tableVpn + i * per;
        if (vpn + per <= startVpn) continue;
        if (vpn >= endVpn) {
          if (level === rootLevel) continue;
          return;
        }
        const [lo, hi] = this.readRaw(this.entryPa(table, i));
        const next = level > 1 ? this.backend.codec.nextTable(lo, hi, level) : -1;
        if (next >= 0) {
          out.push({ pa: next, level: level - 1 });
          walk(next, level - 1, vpn, PAGE_SIZE);
        }
      }
    };
    walk(root, g.rootLevel, baseVpn, this.backend.description.rootTableBytes);
    return out;
  }

  /**
   * Frees the tables below `root` that cover `[startVpn, endVpn)` and clears the root entries
   * pointing to them (the root itself is kept). Leaves must already be gone: a table that still
   * holds a leaf is an error. Returns the number of frames freed.
   * @throws InvalidArgumentError if a leaf is still mapped in the range.
   */
  freeSubtables(root: number, source: FrameSource, startVpn = 0, endVpn = Infinity, baseVpn = 0): number {
    const g = this.backend.geometry;
    let freed = 0;
    const check = (table: number, level: number, tableVpn: number): void => {
      const per = g.entryPages[level]!;
      for (let i = 0; i < g.entries[level]!; i++) {
        const [lo, hi] = this.readRaw(this.entryPa(table, i));
        if (lo === 0 && hi === 0) continue;
        const next = level > 1 ? this.backend.codec.nextTable(lo, hi, level) : -1;
        if (next >= 0) check(next, level - 1, tableVpn + i * per);
        else
          throw new InvalidArgumentError(
            'table teardown',
            `vpn ${tableVpn + i * per}`,
            'no leaf left in the range',
          );
      }
    };
    const release = (table: number, level: number): void => {
      for (let i = 0; i < g.entries[level]!; i++) {
        const [lo, hi] = this.readRaw(this.entryPa(table, i));
        const next = level > 1 ? this.backend.codec.nextTable(lo, hi, level) : -1;
        if (next >= 0) release(next, level - 1);
      }
      this.memory.fill(table, PAGE_SIZE, 0);
      source.freeTable(table, level);
      freed++;
    };
    const per = g.entryPages[g.rootLevel]!;
    const n = this.backend.description.rootTableBytes / this.bytes;
    const victims: number[] = [];
    for (let i = 0; i < n; i++) {
      const vpn = this.rootEntryVpn(i, baseVpn);
      if (vpn < startVpn || vpn + per > endVpn) continue;
      const dpa = this.entryPa(root, i);
      const [lo, hi] = this.readRaw(dpa);
      const next = this.backend.codec.nextTable(lo, hi, g.rootLevel);
      if (next >= 0) {
        check(next, g.rootLevel - 1, vpn);
        victims.push(i);
      }
    }
    for (const i of victims) {
      const dpa = this.entryPa(root, i);
      const [lo, hi] = this.readRaw(dpa);
      release(this.backend.codec.nextTable(lo, hi, g.rootLevel), g.rootLevel - 1);
      this.writeRaw(dpa, 0, 0);
    }
    return freed;
  }

  /**
   * Frees the page-table pages that an unmap left empty, bottom-up: every table below `root`
   * (never the root itself) that covers at least one page of `[startVpn, endVpn)` and whose
   * entries are then all absent (all-zero descriptors) is freed and its parent entry cleared; a
   * parent left empty that way is freed too, up to (not including) the root. Tables holding any
   * leaf, software entry (a swap slot, say) or invalid descriptor are kept, wherever they are, so
   * nothing a translation or a payload needs is ever lost; clear software entries first (e.g.
   * {@link clearSoftware}) if their tables should go.
   *
   * This is Linux `free_pgtables`, with an emptiness check instead of Linux's precondition: after
   * munmap, pass the unmapped range (tables straddling its edges are visited too, and kept while a
   * neighbour still maps something in them), or the wider range between the neighbouring VMAs
   * (Linux's floor/ceiling: the previous VMA's end to the next one's start), which also reclaims
   * tables that earlier unmaps left empty inside the gap. Only the tables that cover part of the
   * range are visited: O(visited tables × entries per table).
   * Never pass a range that covers tables shared with other roots (the kernel half on a
   * single-root format): an empty shared table would be freed under the other roots.
   * `baseVpn` and `skipRootIndex` are as for {@link forEachLeaf}; `asid`/`global` go into the flush.
   *
   * The returned obligation lists one page per freed table (its first page) and is marked as a
   * table change, so AArch64 uses `TLBI VAE1`, which also drops cached walks (arch-facts A11). It
   * is empty when nothing was freed. The freed frames are all-zero when handed back.
   */
  pruneEmptyTables(
    root: number,
    startVpn: number,
    endVpn: number,
    source: FrameSource,
    baseVpn = 0,
    skipRootIndex = -1,
    asid = 0,
    global = false,
  ): PruneResult {
    const g = this.backend.geometry;
    const rootLevel = g.rootLevel;
    const victims: { parentDpa: number; pa: number; level: number; vpn: number }[] = [];
    // Returns true if every entry of `table` is absent once its empty subtables are gone.
    const visit = (table: number, level: number, tableVpn: number, tableBytes: number): boolean => {
      const per = g.entryPages[level]!;
      const n = Math.min(g.entries[level]!, tableBytes / this.bytes);
      let empty = true;
      for (let i = 0; i < n; i++) {
        const dpa = this.entryPa(table, i);
        const [lo, hi] = this.readRaw(dpa);
        if (lo === 0 && hi === 0) continue;
        if (level === rootLevel && i === skipRootIndex) {
          empty = false;
          continue;
        }
        const vpn = level === rootLevel ? this.rootEntryVpn(i, tableVpn) : tableVpn + i * per;
        const next = level > 1 ? this.backend.codec.nextTable(lo, hi, level) : -1;
        if (next >= 0 && vpn < endVpn && vpn + per > startVpn && visit(next, level - 1, vpn, PAGE_SIZE)) {
          victims.push({ parentDpa: dpa, pa: next, level: level - 1, vpn });
          continue;
        }
        empty = false;
      }
      return empty;
    };
    visit(root, rootLevel, baseVpn, this.backend.description.rootTableBytes);
    const flush = new FlushObligation(asid, global);
    // Children come before their parents: a parent is all-zero by the time it is freed.
    for (const v of victims) {
      this.writeRaw(v.parentDpa, 0, 0);
      source.freeTable(v.pa, v.level);
      flush.addPage(v.vpn);
    }
    if (victims.length > 0) flush.addTableChange();
    return { freed: victims.length, flush };
  }

  /**
   * Splits the block (large leaf) that maps `vpn` into a table of the next level down holding the
   * equivalent smaller leaves: the same attributes and consecutive output addresses (a 2 MiB block
   * becomes 512 × 4 KiB pages; a 1 GiB block 512 × 2 MiB blocks; a 32-bit x86 4 MiB page 1024 ×
   * 4 KiB pages). Every translation stays the same. The new table descriptor gets `tableAttrs`
   * (default: restricts nothing, which keeps the effective permissions).
   *
   * Break-before-make (module documentation, arch-facts A11): the new table is built completely
   * while unreachable, then the block entry is cleared, `discharge` is called with the obligation
   * for the block (its first page, marked as a table change), then the table is installed.
   * Nothing changes when it fails: out of memory for the table (`no-memory`), an unrepresentable
   * smaller leaf (throws), a throwing or non-settling `discharge` (rethrown, old block restored).
   * @throws InvalidArgumentError if the block has the contiguous hint (clear it on the whole group
   *   first with {@link setContiguousRun}: arch-facts A11) or `discharge` is not a function;
   *   UnrepresentableError if the level below has no leaves or cannot express them (e.g. a 32-bit
   *   x86 4 MiB page above 4 GiB split into 4 KiB pages).
   */
  splitLeaf(
    root: number,
    vpn: number,
    source: FrameSource,
    discharge: DischargeFlush,
    asid = 0,
    tableAttrs: TableAttributes = OPEN_TABLE,
  ): SplitResult {
    checkDischarge(discharge);
    const g = this.backend.geometry;
    const ref = this.lookup(root, vpn);
    if (ref.entry.kind !== 'leaf') return { ok: false, reason: 'not-mapped' };
    const level = ref.level;
    if (level === 1) return { ok: false, reason: 'not-a-block' };
    const attrs = ref.entry.attrs;
    if (attrs.contiguous) {
      throw new InvalidArgumentError(
        'splitLeaf',
        `vpn ${vpn}`,
        'a block without the contiguous hint: clear the hint on its whole group first (setContiguousRun, arch-facts A11)',
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
    const base = ref.entry.pa;
    // Encode every smaller leaf before anything is allocated or written.
    const raws = new Array<number>(2 * n);
    for (let i = 0; i < n; i++) {
      const raw = this.backend.codec.encode({ kind: 'leaf', pa: base + i * size, attrs }, child);
      raws[2 * i] = raw.lo;
      raws[2 * i + 1] = raw.hi;
    }
    const fresh = source.allocTable(child);
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
    const flush = new FlushObligation(asid, attrs.global);
    flush.addPage(vpn - (vpn % g.entryPages[level]!));
    flush.addTableChange();
    try {
      this.breakAndDischarge([ref.descriptorPa], flush, discharge);
    } catch (e) {
      release();
      throw e;
    }
    this.writeRaw(ref.descriptorPa, tableRaw.lo, tableRaw.hi);
    return { ok: true, tablePa: fresh, leafLevel: child, entries: n };
  }

  /**
   * The inverse of {@link splitLeaf}: replaces the table that the entry at `level` for `vpn`
   * points to by one leaf at `level` (e.g. `level` 2: an L3 table / x86 PT of 512 pages becomes a
   * 2 MiB block), and frees the table. Allowed only when the table descriptor restricts nothing,
   * every entry of the table is a leaf, all have the same attributes apart from accessed, dirty
   * and contiguous, and their output addresses are consecutive from a base aligned to the new
   * leaf size. The new leaf is accessed (dirty) if any old leaf was: a conservative merge that
   * loses no dirty page. Every translation keeps its output address and permissions.
   *
   * Break-before-make as {@link splitLeaf}: the table entry is cleared, `discharge` gets an
   * obligation for every old leaf (marked as a table change; more than the threshold become one
   * ASID-wide invalidation), then the leaf is written and the table frame is zeroed and freed.
   * Nothing changes when it fails (a reason is returned, or the error is thrown).
   * @throws UnrepresentableError if `level` has no leaves or the leaf cannot be encoded;
   *   InvalidArgumentError if `discharge` is not a function or leaves the obligation unsettled.
   */
  collapseTable(
    root: number,
    vpn: number,
    level: number,
    source: FrameSource,
    discharge: DischargeFlush,
    asid = 0,
  ): CollapseResult {
    checkDischarge(discharge);
    const g = this.backend.geometry;
    if (!g.leafLevels.includes(level) || level < 2) {
      throw new UnrepresentableError(
        this.backend.description.id,
        level,
        `no block leaves at level ${level} (${this.levelName(level)}) to collapse a table into`,
      );
    }
    const ref = this.lookup(root, vpn, level);
    if (ref.level !== level || ref.entry.kind !== 'table') return { ok: false, reason: 'not-a-table' };
    if (!isOpenTable(ref.entry.attrs)) return { ok: false, reason: 'restricted-table' };
    const table = ref.entry.pa;
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
    const firstVpn = vpn - (vpn % g.entryPages[level]!);
    const flush = new FlushObligation(asid, attrs.global);
    flush.addTableChange();
    for (let i = 0; i < n; i++) flush.addPage(firstVpn + i * g.entryPages[child]!);
    this.breakAndDischarge([ref.descriptorPa], flush, discharge);
    this.writeRaw(ref.descriptorPa, leafRaw.lo, leafRaw.hi);
    this.memory.fill(table, PAGE_SIZE, 0);
    source.freeTable(table, child);
    return {
      ok: true,
      leaf: { vpn: firstVpn, level, descriptorPa: ref.descriptorPa, pa: base, attrs },
      freedTablePa: table,
    };
  }

  /**
   * Sets (`on`) or clears the Contiguous hint on the `count` leaves starting at `vpn`: whole
   * groups of `capabilities.contiguousEntries` entries (16 on AArch64 with 4 KiB granules, both
   * for 4 KiB pages = 64 KiB and 2 MiB blocks = 32 MiB: arch-facts A1), all leaves of the size of
   * the leaf at `vpn`. Turning it on needs, per group, the same attributes apart from accessed and
   * dirty, and consecutive output addresses from a base aligned to the group size; the group's
   * accessed and dirty states are merged (OR) so that its entries end up identical, as the hint
   * requires (arch-facts A11; Linux contpte gathers them the same way).
   *
   * The hint must be cleared on a whole group before any entry of it changes (unmap, protect,
   * split, a new output address): the caller clears first, then changes. Changing the bit is a
   * break-before-make change (arch-facts A11): each group that changes is cleared entry by entry,
   * `discharge` gets the obligation for its pages (leaf entries only), then the new entries are
   * written. Groups already in the requested state are left alone (and `discharge` is not called
   * if none changes). Every check runs before anything is written: when it throws, nothing changed.
   * @returns the number of entries rewritten.
   * @throws UnrepresentableError if the backend has no contiguous hint; InvalidArgumentError for a
   *   `count` that is not a positive multiple of the group size, a `vpn` not aligned to a group,
   *   leaves of different sizes, differing attributes or non-consecutive/misaligned output
   *   addresses (when turning on), a `discharge` that is not a function or leaves the obligation
   *   unsettled; NotMappedError for a page of the run that no leaf maps.
   */
  setContiguousRun(
    root: number,
    vpn: number,
    count: number,
    on: boolean,
    discharge: DischargeFlush,
    asid = 0,
  ): number {
    const d = this.backend.description;
    const group = d.capabilities.contiguousEntries;
    if (group === 0) {
      throw new UnrepresentableError(d.id, 1, 'no contiguous hint (capabilities.contiguousEntries = 0)');
    }
    checkDischarge(discharge);
    if (!Number.isSafeInteger(count) || count < group || count % group !== 0) {
      throw new InvalidArgumentError(
        'contiguous run length',
        count,
        `a positive multiple of ${group} entries`,
      );
    }
    const g = this.backend.geometry;
    const head = this.lookup(root, vpn);
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
    const raws: number[] = [];
    const pages: number[] = [];
    let global = false;
    const leaves: LeafRef[] = new Array(group);
    for (let k0 = 0; k0 < count; k0 += group) {
      for (let j = 0; j < group; j++) {
        const v = vpn + (k0 + j) * per;
        const ref = this.lookup(root, v);
        if (ref.entry.kind !== 'leaf') throw new NotMappedError(vaOf(v));
        if (ref.level !== level) {
          throw new InvalidArgumentError(
            'contiguous run',
            `vpn ${v}`,
            `leaves of one size: this is a ${this.levelName(ref.level)} leaf, the run starts with ${this.levelName(level)} leaves`,
          );
        }
        leaves[j] = {
          vpn: v,
          level,
          descriptorPa: ref.descriptorPa,
          pa: ref.entry.pa,
          attrs: ref.entry.attrs,
        };
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
      if (!changes) continue;
      for (let j = 0; j < group; j++) {
        const leaf = leaves[j]!;
        const attrs: LeafAttributes = on
          ? { ...leaf.attrs, accessed, dirty, contiguous: true }
          : { ...leaf.attrs, contiguous: false };
        const raw = this.backend.codec.encode({ kind: 'leaf', pa: leaf.pa, attrs }, level);
        dpas.push(leaf.descriptorPa);
        raws.push(raw.lo, raw.hi);
        pages.push(leaf.vpn);
        global ||= leaf.attrs.global;
      }
    }
    if (dpas.length === 0) return 0;
    const flush = new FlushObligation(asid, global);
    for (const v of pages) flush.addPage(v);
    this.breakAndDischarge(dpas, flush, discharge);
    for (let k = 0; k < dpas.length; k++) this.writeRaw(dpas[k]!, raws[2 * k]!, raws[2 * k + 1]!);
    return dpas.length;
  }

  /**
   * The break step: writes invalid descriptors at `dpas` and calls `discharge(flush)`. If it
   * throws or returns with the obligation unsettled, the old descriptors are written back and the
   * error is thrown.
   */
  private breakAndDischarge(
    dpas: readonly number[],
    flush: FlushObligation,
    discharge: DischargeFlush,
  ): void {
    const saved = dpas.map((dpa) => this.readRaw(dpa));
    for (const dpa of dpas) this.writeRaw(dpa, 0, 0);
    let error: unknown;
    let failed = false;
    try {
      discharge(flush);
      if (!flush.settledState) {
        failed = true;
        error = new InvalidArgumentError(
          'discharge',
          'a callback that left the flush obligation unsettled',
          'a callback that discharges (or explicitly ignores) the obligation before the new entries are written',
        );
      }
    } catch (e) {
      failed = true;
      error = e;
    }
    if (failed) {
      for (let k = 0; k < dpas.length; k++) this.writeRaw(dpas[k]!, saved[k]![0], saved[k]![1]);
      throw error;
    }
  }

  /**
   * Page number of the first page covered by root entry `i` of a root whose index 0 maps
   * `baseVpn`. On single-root formats with a sign-extended upper half (x86-64: bit 47 or 56),
   * entries in the upper half of the root cover canonical high addresses.
   */
  rootEntryVpn(i: number, baseVpn: number): number {
    const d = this.backend.description;
    const g = this.backend.geometry;
    const vpn = baseVpn + i * g.entryPages[g.rootLevel]!;
    if (baseVpn !== 0 || d.splitRoots || d.kernelRange.end !== 1n << 64n) return vpn;
    const root = d.levels[d.levels.length - 1]!;
    const coverPages = 2 ** (root.shift + root.indexBits - d.pageShift);
    return vpn >= coverPages / 2 ? vpn + 2 ** (64 - d.pageShift) - coverPages : vpn;
  }

  /** The architecture's name of an internal level. */
  levelName(level: number): string {
    return this.backend.description.levels[level - 1]?.name ?? `level ${level}`;
  }
}
