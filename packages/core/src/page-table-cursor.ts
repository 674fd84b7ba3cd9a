/**
 * The one walk over a range of page numbers that every page-table operation uses (map, unmap,
 * protect, split, collapse, lookup, leaf and table enumeration, pruning, teardown), after
 * Asterinas' page-table cursor.
 *
 * A {@link PageTableCursor} is a position in the tables of one root: the current level, the index
 * of the current entry in its table, the first page number the entry covers, the descriptor's
 * physical address and its raw value (two 32-bit halves). It only ever stands on entries that
 * overlap the range it was started with, in address order:
 *
 * ```
 * begin(range)  validates the range, stands on the first root entry that overlaps it
 * down(table)   enters the table the current entry points to (or a fresh one): first overlapping entry
 * step()        next overlapping entry of the same table → NEXT; the table is done → UP (standing on
 *               the parent entry again, for post-order work such as freeing an emptied table);
 *               the root is done → DONE
 * ```
 *
 * The cursor reads nothing but the entries it stands on and allocates nothing after it was
 * created: a single-page range costs one entry read per level (the same as a plain walk), a wide
 * range visits only the subtrees that overlap it.
 *
 * ## Root entries and sign extension
 *
 * Index 0 of a root maps `baseVpn` (0 for a user root; the first page of the upper half for an
 * AArch64 TTBR1 root). On single-root formats whose address space is sign-extended (x86-64: bit
 * 47 or 56), the upper half of the root maps the canonical high addresses, so root entries are not
 * monotonic in page number: {@link PageTableCursor.rootEntryVpn} gives the page number of each.
 * The root's address space is then the whole 64-bit space (its non-canonical hole has no entry);
 * otherwise it is `[baseVpn, baseVpn + entries × pages per entry)`.
 *
 * ## Checked entry points and unchecked fast paths
 *
 * The constructor and {@link PageTableCursor.begin} validate everything a walk depends on (the
 * backend, the memory, the root, the range); the other public methods validate their arguments,
 * except the three methods of the inner loop of every range walk, {@link PageTableCursor.step},
 * {@link PageTableCursor.next} and {@link PageTableCursor.down}. Those run once per visited entry
 * and take no arguments from users: `step` and `next` none at all, `down` the table address the
 * cursor itself (`nextTable`) or a frame source just produced. They check nothing; calling them
 * on a cursor that has not begun, or `down` with an address that is not a table of the level
 * below, is a bug in the caller (a BusError or InvalidArgumentError from the memory, or a walk of
 * the wrong frame).
 */
import { PAGE_SIZE } from './address.js';
import type { ArchBackend } from './arch.js';
import { checkBackend, checkInt, checkMemory, checkPa, checkVpn } from './arg-checks.js';
import { describeValue, InvalidArgumentError, OutOfRangeError } from './errors.js';
import type { PhysicalMemory } from './physical-memory.js';

/**
 * A range of pages under one root. Omitted ends default to the whole address space of the root;
 * `endVpn` may be `Infinity` for "to the end of it".
 */
export interface PageTableRange {
  /** Physical address of the root table. */
  readonly root: number;
  /** First page of the range (default: the first page the root maps). */
  readonly startVpn?: number;
  /** Page after the range (default, or `Infinity`: the end of the root's address space). */
  readonly endVpn?: number;
  /**
   * Page number that index 0 of the root maps. Default: the first page of the upper half when
   * the format has split roots and `startVpn` lies there (an AArch64 TTBR1 root), else 0.
   */
  readonly baseVpn?: number;
  /** A root index the walk leaves out (a recursive slot, which is no table of the level below). */
  readonly skipRootIndex?: number;
}

/** {@link PageTableCursor.step} finished the root: the walk is over. */
export const CURSOR_DONE = 0;
/** {@link PageTableCursor.step} stands on the next overlapping entry of the same table. */
export const CURSOR_NEXT = 1;
/** {@link PageTableCursor.step} finished a table and stands on its parent entry again. */
export const CURSOR_UP = 2;

/** See the module documentation. */
export class PageTableCursor {
  /** Level of the current entry (1 = leaf table, rootLevel = root). */
  level = 0;
  /** Index of the current entry in its table. */
  index = 0;
  /** First page number the current entry covers (sign-extended for upper root entries). */
  vpn = 0;
  /** Physical address of the current descriptor. */
  descriptorPa = 0;
  /** Low 32 bits of the current descriptor. */
  lo = 0;
  /** High 32 bits of the current descriptor (0 for 4-byte descriptors). */
  hi = 0;
  /** First page of the current range. */
  startVpn = 0;
  /** Page after the current range. */
  endVpn = 0;
  /** Page number index 0 of the root maps, for the current walk. */
  baseVpn = 0;

  private readonly memory: PhysicalMemory;
  private readonly backend: ArchBackend;
  private readonly wide: boolean;
  private readonly bytes: number;
  private readonly rootLevel: number;
  private readonly rootEntries: number;
  private readonly rootPer: number;
  private readonly cover: number;
  private readonly vpnLimit: number;
  private readonly signExtends: boolean;
  private readonly kernelStartVpn: number;
  private readonly entryPages: readonly number[];
  private readonly entryCounts: number[];
  private readonly tables: number[];
  private readonly tableVpns: number[];
  private readonly indices: number[];
  private readonly lasts: number[];
  private skip = -1;
  private signed = false;

  /**
   * A cursor over the tables in `memory` in `backend`'s format. Allocates its per-level state
   * once; no walk allocates.
   * @throws InvalidArgumentError unless `backend` is a backend (description, geometry, codec)
   *   and `memory` a PhysicalMemory.
   */
  constructor(backend: ArchBackend, memory: PhysicalMemory) {
    this.backend = checkBackend('backend', backend);
    this.memory = checkMemory('memory', memory);
    const d = backend.description;
    const g = backend.geometry;
    this.bytes = d.descriptorBytes;
    this.wide = this.bytes === 8;
    this.rootLevel = g.rootLevel;
    this.entryPages = g.entryPages;
    this.entryCounts = g.entries.map((n, level) =>
      level === g.rootLevel
        ? Math.min(n, d.rootTableBytes / this.bytes)
        : Math.min(n, PAGE_SIZE / this.bytes),
    );
    this.rootEntries = this.entryCounts[g.rootLevel]!;
    this.rootPer = g.entryPages[g.rootLevel]!;
    this.cover = this.rootEntries * this.rootPer;
    this.vpnLimit = 2 ** (64 - d.pageShift);
    this.signExtends = !d.splitRoots && d.kernelRange.end === 1n << 64n;
    this.kernelStartVpn = d.splitRoots ? Number(d.kernelRange.start >> BigInt(d.pageShift)) : 0;
    const n = g.rootLevel + 2;
    this.tables = new Array<number>(n).fill(0);
    this.tableVpns = new Array<number>(n).fill(0);
    this.indices = new Array<number>(n).fill(0);
    this.lasts = new Array<number>(n).fill(0);
  }

  /** Pages covered by one entry at the current level. */
  get pages(): number {
    return this.entryPages[this.level]!;
  }

  /** True if the current descriptor is all zero (absent). */
  get absent(): boolean {
    return this.lo === 0 && this.hi === 0;
  }

  /** Physical address of the table that holds the current entry. */
  get tablePa(): number {
    return this.tables[this.level]!;
  }

  /** True if the current entry lies completely inside the range. */
  get inside(): boolean {
    return this.vpn >= this.startVpn && this.vpn + this.entryPages[this.level]! <= this.endVpn;
  }

  /**
   * The table the current entry points to: its physical address, -1 if the entry is no table
   * (absent, software, invalid), -2 if it is a leaf (the codec's `nextTable`). Always -1 at level 1.
   */
  nextTable(): number {
    return this.level > 1 ? this.backend.codec.nextTable(this.lo, this.hi, this.level) : -1;
  }

  /**
   * Page number of the first page covered by root entry `i` of a root whose index 0 maps
   * `baseVpn`. On single-root formats with a sign-extended upper half (x86-64: bit 47 or 56),
   * entries in the upper half of the root cover canonical high addresses.
   * @throws InvalidArgumentError unless `i` is a root index and `baseVpn` a page number.
   */
  rootEntryVpn(i: number, baseVpn: number): number {
    checkInt('root index', i, 0, this.rootEntries - 1);
    checkVpn('baseVpn', baseVpn);
    return this.rootVpn(i, baseVpn);
  }

  /** {@link rootEntryVpn} without the checks (the cursor's own arguments). */
  private rootVpn(i: number, baseVpn: number): number {
    const vpn = baseVpn + i * this.rootPer;
    if (baseVpn !== 0 || !this.signExtends) return vpn;
    return vpn >= this.cover / 2 ? vpn + this.vpnLimit - this.cover : vpn;
  }

  /**
   * The `baseVpn` a range gets when it names none (see {@link PageTableRange.baseVpn}).
   * @throws InvalidArgumentError unless `startVpn` is a page number.
   */
  defaultBaseVpn(startVpn: number): number {
    checkVpn('startVpn', startVpn);
    return this.kernelStartVpn !== 0 && startVpn >= this.kernelStartVpn ? this.kernelStartVpn : 0;
  }

  /**
   * Validates `range` and stands on the first root entry that overlaps it. Returns false (and
   * stands nowhere) when the range is empty.
   * @throws InvalidArgumentError for a root that is not an aligned physical address, a page
   *   number that is not a safe non-negative integer, a misaligned `baseVpn` or a root index out
   *   of range; OutOfRangeError for a range outside the root's address space or with its ends
   *   swapped. Each names the value. InvalidArgumentError too if `range` is not an object (or
   *   one of its getters throws).
   */
  begin(range: PageTableRange): boolean {
    if (typeof range !== 'object' || range === null) {
      throw new InvalidArgumentError('page-table range', range, 'an object { root, startVpn?, endVpn?, … }');
    }
    let root: unknown;
    let start: unknown;
    let endVpn: unknown;
    let baseVpn: unknown;
    let skipRootIndex: unknown;
    try {
      ({ root, startVpn: start, endVpn, baseVpn, skipRootIndex } = range);
    } catch {
      throw new InvalidArgumentError(
        'page-table range',
        '(an object whose getter throws)',
        'readable fields',
      );
    }
    const d = this.backend.description;
    if (
      typeof root !== 'number' ||
      !Number.isSafeInteger(root) ||
      root < 0 ||
      root % d.rootTableBytes !== 0
    ) {
      throw new InvalidArgumentError('root', root, `a physical address aligned to ${d.rootTableBytes} bytes`);
    }
    if (start !== undefined && (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0)) {
      throw new InvalidArgumentError('startVpn', start, 'a page number (a safe non-negative integer)');
    }
    const base = baseVpn ?? this.defaultBaseVpn((start as number | undefined) ?? 0);
    if (
      typeof base !== 'number' ||
      !Number.isSafeInteger(base) ||
      base < 0 ||
      base % this.cover !== 0 ||
      base + this.cover > this.vpnLimit
    ) {
      throw new InvalidArgumentError(
        'baseVpn',
        base,
        `a page number aligned to the ${this.cover} pages one root maps, below 2^${64 - d.pageShift}`,
      );
    }
    const signed = base === 0 && this.signExtends;
    const low = signed ? 0 : base;
    const high = signed ? this.vpnLimit : base + this.cover;
    const s = (start as number | undefined) ?? low;
    let e = (endVpn as number | undefined) ?? high;
    if (e === Number.POSITIVE_INFINITY) e = high;
    else if (typeof e !== 'number' || !Number.isSafeInteger(e) || e < 0) {
      throw new InvalidArgumentError('endVpn', e, 'a page number (a safe non-negative integer) or Infinity');
    }
    if (s < low || s > high) {
      throw new OutOfRangeError('startVpn', s, `a page of the root's address space [${low}, ${high}]`);
    }
    if (e < s || e > high) {
      throw new OutOfRangeError(
        'endVpn',
        e,
        `a page number in [startVpn ${s}, ${high}] (the root's address space)`,
      );
    }
    const skip = skipRootIndex ?? -1;
    if (typeof skip !== 'number' || !Number.isSafeInteger(skip) || skip < -1 || skip >= this.rootEntries) {
      throw new InvalidArgumentError(
        'skipRootIndex',
        skip,
        `-1 (none) or a root index below ${this.rootEntries}`,
      );
    }
    this.startVpn = s;
    this.endVpn = e;
    this.baseVpn = base;
    this.skip = skip;
    this.signed = signed;
    if (s >= e) return false;
    const L = this.rootLevel;
    const per = this.rootPer;
    let first = Math.floor(this.rootRelative(s) / per);
    const last = Math.min(this.rootEntries, Math.ceil(this.rootRelative(e) / per));
    if (first === skip) first++;
    if (first >= last) return false;
    this.tables[L] = root as number;
    this.tableVpns[L] = base;
    this.lasts[L] = last;
    this.level = L;
    this.stand(first);
    return true;
  }

  /** `vpn` as an offset from the root's first page, with the sign-extension hole squeezed out. */
  private rootRelative(vpn: number): number {
    if (!this.signed) return vpn - this.baseVpn;
    const half = this.cover / 2;
    if (vpn <= half) return vpn;
    if (vpn >= this.vpnLimit - half) return vpn - (this.vpnLimit - this.cover);
    return half;
  }

  /** Stands on entry `i` of the current level's table and reads it. */
  private stand(i: number): void {
    const L = this.level;
    this.indices[L] = i;
    this.index = i;
    this.vpn =
      L === this.rootLevel ? this.rootVpn(i, this.baseVpn) : this.tableVpns[L]! + i * this.entryPages[L]!;
    const dpa = this.tables[L]! + i * this.bytes;
    this.descriptorPa = dpa;
    this.lo = this.memory.read32(dpa);
    this.hi = this.wide ? this.memory.read32(dpa + 4) : 0;
  }

  /**
   * Enters `tablePa` as the table of the current entry (normally {@link nextTable}; `map` passes
   * a fresh table it just linked) and stands on its first entry that overlaps the range.
   * Unchecked fast path of the walk loop (module documentation): `tablePa` is not validated.
   * @throws InvalidArgumentError at level 1 (a leaf table has no table below it).
   */
  down(tablePa: number): void {
    const L = this.level - 1;
    if (L < 1) throw new InvalidArgumentError('cursor.down', `level ${this.level}`, 'a level above 1');
    const tableVpn = this.vpn;
    const per = this.entryPages[L]!;
    this.tables[L] = tablePa;
    this.tableVpns[L] = tableVpn;
    this.lasts[L] = Math.min(this.entryCounts[L]!, Math.ceil((this.endVpn - tableVpn) / per));
    this.level = L;
    this.stand(Math.max(0, Math.floor((this.startVpn - tableVpn) / per)));
  }

  /**
   * Moves to the next entry that overlaps the range: {@link CURSOR_NEXT} (same table),
   * {@link CURSOR_UP} (the table is done: standing on its parent entry again, re-read; call `step`
   * again to go on) or {@link CURSOR_DONE} (the root is done). Unchecked fast path of the walk
   * loop (module documentation): call it only after {@link begin} returned true.
   */
  step(): number {
    const L = this.level;
    let i = this.indices[L]! + 1;
    if (L === this.rootLevel && i === this.skip) i++;
    if (i < this.lasts[L]!) {
      this.stand(i);
      return CURSOR_NEXT;
    }
    if (L === this.rootLevel) return CURSOR_DONE;
    this.level = L + 1;
    this.stand(this.indices[L + 1]!);
    return CURSOR_UP;
  }

  /**
   * Moves to the next entry that overlaps the range, passing over finished tables: false when the
   * walk is over. (For walks that do no post-order work.) Unchecked fast path, as {@link step}.
   */
  next(): boolean {
    let r = this.step();
    while (r === CURSOR_UP) r = this.step();
    return r === CURSOR_NEXT;
  }

  /**
   * Descends through table entries to the first entry that is not a table or to `stopLevel`.
   * @throws InvalidArgumentError unless `stopLevel` is a level from 1 to the root level.
   */
  seek(stopLevel = 1): void {
    if (!Number.isInteger(stopLevel) || stopLevel < 1 || stopLevel > this.rootLevel) {
      throw new InvalidArgumentError('seek stopLevel', stopLevel, `a level from 1 to ${this.rootLevel}`);
    }
    while (this.level > stopLevel) {
      const next = this.backend.codec.nextTable(this.lo, this.hi, this.level);
      if (next < 0) return;
      this.down(next);
    }
  }

  /**
   * Writes the current descriptor (and remembers the new value). `hi` is ignored (0) for 4-byte
   * descriptors.
   * @throws InvalidArgumentError (nothing written) unless `lo` and `hi` are 32-bit words
   *   (unsigned or two's complement).
   */
  write(lo: number, hi: number): void {
    if (!isWord(lo) || (this.wide && !isWord(hi))) {
      throw new InvalidArgumentError(
        'descriptor',
        `lo ${describeValue(lo)}, hi ${describeValue(hi)}`,
        '32-bit words (unsigned or signed)',
      );
    }
    this.lo = lo >>> 0;
    this.hi = this.wide ? hi >>> 0 : 0;
    this.memory.write32(this.descriptorPa, this.lo);
    if (this.wide) this.memory.write32(this.descriptorPa + 4, this.hi);
  }

  /**
   * True if every descriptor of the table at `tablePa` (a non-root table) is zero.
   * @throws InvalidArgumentError unless `tablePa` is a page-aligned physical address.
   */
  tableIsEmpty(tablePa: number): boolean {
    checkPa('table address', tablePa, PAGE_SIZE);
    for (let off = 0; off < PAGE_SIZE; off += 4) if (this.memory.read32(tablePa + off) !== 0) return false;
    return true;
  }
}

/** A 32-bit word, unsigned or two's complement (what `>>> 0` maps to itself or to its unsigned form). */
function isWord(v: unknown): boolean {
  return typeof v === 'number' && ((v as number) >>> 0 === v || ((v as number) | 0) === v);
}
