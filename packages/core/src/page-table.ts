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
 */
import { PAGE_SIZE } from './address.js';
import type { ArchBackend, LeafAttributes, NeutralEntry, TableAttributes } from './arch.js';
import { InvalidArgumentError, UnrepresentableError } from './errors.js';
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
