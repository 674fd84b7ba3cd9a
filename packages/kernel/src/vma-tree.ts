/**
 * The ordered set of virtual memory areas (VMAs) of one address space.
 *
 * A VMA is a half-open range of page numbers `[startVpn, endVpn)` with a payload (`value`);
 * the VMAs of a tree never overlap. {@link VmaTree} keeps them in a B+-tree written for this
 * purpose, the way Linux keeps them in a maple tree (a B-tree variant; `mm/mmap.c`,
 * `lib/maple_tree.c`) and kept them before in an augmented red-black tree (`rb_subtree_gap`):
 *
 * ```
 *                     inner node (up to 64 children)
 *        keys  [ 0x10   | 0x4000  | 0x9100  | +Inf | ... ]   first start in each child; unused = +Infinity
 *        gaps  [ 0x10   | 0x2F0   | 0x40    |      | ... ]   largest free gap in each child
 *        kids  [   |    |    |    |    |    |      | ... ]
 *                  v         v         v
 *   leaf  +---------------+ +---------------+ +---------------+
 *  keys   | 0x10 0x18 ... | | 0x4000 ...    | | 0x9100 ...    |   start of each VMA
 *  gaps   | 0x10 0x4  ... | | 0x2F0  ...    | | 0x40   ...    |   free pages just below it
 *  items  | vma  vma  ... | | vma    ...    | | vma    ...    |   the Vma objects (end, value)
 *         +---------------+ +---------------+ +---------------+
 *              <--- prev / next: leaves chained in address order --->
 *
 *  pages: [0, 0x10) free | 0x10 VMA 0x14 | 4 free | 0x18 VMA 0x20 | ... | last end .. 2^52 free
 *
 *  storage: node id k owns slots [k*cap, (k+1)*cap) of flat arrays shared by all nodes
 *    keys: Float64Array  gaps: Float64Array  kids: Int32Array  items: Vma[]
 *    per node: count, maxGap, parent, prev leaf, next leaf, leaf flag (typed arrays)
 * ```
 *
 * - Every leaf is at the same depth; a node other than the root holds between `min` and `cap`
 *   entries (`cap` = 64, `min` = 24 by default). A full leaf first hands an entry to a sibling
 *   with room before it splits (B*-tree style), so ascending or descending fills (top-down
 *   mmap placement, a loader) leave leaves nearly full: 100 000 VMAs fit in 3 levels.
 * - Nodes live in one arena of typed arrays (grown by doubling, recycled through a free list):
 *   a lookup reads one key block and one child id per level, with no object on the way down,
 *   and searches the block with a branch-free binary search over all `cap` slots (unused slots
 *   hold +Infinity, so neither the count nor a mispredicted branch is on the critical path).
 * - Keys are exact: an inner key is the first start in that child.
 * - Augmentation: each VMA's gap is `start − end of the previous VMA` (for the first VMA,
 *   `start − 0`); each node knows its largest gap and each inner node caches its children's.
 *   {@link VmaTree.findGap} descends only into children whose largest gap can hold the request,
 *   as Linux's `unmapped_area()` / `unmapped_area_topdown()` do with the maple tree's gap slots.
 *   The free range above the last VMA (up to {@link VMA_VPN_LIMIT}) is checked separately.
 *
 * Ownership: the tree owns its nodes and the {@link Vma} objects it returns. A `Vma` stays valid
 * (same object, same range) until a mutating call touches its range: `insert` (when it merges),
 * `remove`, `removeRange`, `update`. Untouched VMAs keep their identity. Payloads belong to the
 * caller; the tree only passes them to the `split`/`canMerge`/`merge` callbacks. The arena keeps
 * its size after removals (freed nodes are reused); `clear()` releases it.
 *
 * Page numbers are plain numbers (at most 2^52, exact in a double): no BigInt anywhere here.
 */
import { hex, MmError } from '@mmkit/core';
import { checkFunction, checkObject, invalidArgument, showValue } from './syscalls.js';

/** One past the largest page number (2^52 pages of 4 KiB = the 64-bit address space). */
export const VMA_VPN_LIMIT = 2 ** 52;

/**
 * A virtual memory area as the tree hands it out: the pages `[startVpn, endVpn)` and their
 * payload. Read-only to callers; the tree adjusts its own objects when it trims or merges them.
 */
export interface Vma<V> {
  /** First page number of the area. */
  readonly startVpn: number;
  /** Page number just past the area (`endVpn > startVpn`). */
  readonly endVpn: number;
  /** The caller's payload (permissions, flags, name, file offset…). */
  readonly value: V;
}

/** A free range of page numbers `[startVpn, endVpn)`, as {@link VmaTree.gaps} reports it. */
export interface VmaGap {
  readonly startVpn: number;
  readonly endVpn: number;
}

/**
 * Construction options of {@link VmaTree}. Callbacks should be pure and must not call the tree.
 * `split` (and `update`'s `change`) run before an operation changes anything, and so do
 * `canMerge`/`merge` in `insert`: if one throws, the tree is unchanged. In `update`,
 * `canMerge`/`merge` run after the splits: a throw there leaves the change applied but unmerged
 * (the tree stays consistent).
 */
export interface VmaTreeOptions<V> {
  /**
   * Payload of the part of a VMA that begins at `atVpn`, given the payload `value` of the VMA
   * (or piece) that begins at `startVpn` (`startVpn < atVpn`). Called when a VMA is split or
   * trimmed at its front; a payload that carries a file offset adds `atVpn − startVpn` here.
   * The part that keeps the original start keeps `value`. Default: the same `value` (right for
   * immutable payloads without offsets; a mutable payload object would be shared by both parts).
   */
  readonly split?: (value: V, atVpn: number, startVpn: number) => V;
  /**
   * True if two touching VMAs (`left.endVpn === right.startVpn`, always) may become one:
   * Linux compares flags, file, anon_vma and file-offset continuity (`is_mergeable_vma`). It is
   * never asked about VMAs with a gap between them. Without it nothing is ever merged.
   */
  readonly canMerge?: (left: Vma<V>, right: Vma<V>) => boolean;
  /** Payload of the VMA made by merging `left` and `right`. Default: `left.value`. */
  readonly merge?: (left: Vma<V>, right: Vma<V>) => V;
  /** Whether {@link VmaTree.insert} merges the new VMA with its neighbours (default true). `update` always merges. */
  readonly mergeOnInsert?: boolean;
  /**
   * Entries per node, an even number from 4 to 256 (default 64: three levels hold up to ≈ 240 000
   * VMAs, and it measured fastest for lookups among 16–128). Small values make deep trees for tests.
   */
  readonly nodeCapacity?: number;
}

/** Options of {@link VmaTree.findGap}. */
export interface FindGapOptions {
  /** Take the highest fitting range instead of the lowest (Linux's default mmap placement). Default false. */
  readonly topDown?: boolean;
  /** The start page must be a multiple of this (an integer ≥ 1; 512 for 2 MiB pages). Default 1. */
  readonly alignPages?: number;
}

/** A new VMA would overlap one already in the tree. Code `E_ALREADY_MAPPED` (EEXIST at the syscall facade). */
export class VmaOverlapError extends MmError {
  constructor(
    /** Start page of the rejected VMA. */
    readonly startVpn: number,
    /** End page of the rejected VMA. */
    readonly endVpn: number,
    /** Start page of the first existing VMA it overlaps. */
    readonly existingStartVpn: number,
    /** End page of that VMA. */
    readonly existingEndVpn: number,
  ) {
    super(
      'E_ALREADY_MAPPED',
      `VMA pages [${pageHex(startVpn)}, ${pageHex(endVpn)}) overlap the existing VMA pages ` +
        `[${pageHex(existingStartVpn)}, ${pageHex(existingEndVpn)})`,
    );
  }
}

// ---------------------------------------------------------------------------
// Internals

/** The tree's own VMA object (mutable inside this module only). */
class Entry<V> implements Vma<V> {
  constructor(
    public startVpn: number,
    public endVpn: number,
    public value: V,
  ) {}
}

/** "No node" in the link arrays. */
const NONE = -1;

/** Lowest start ≥ max(a, lo) that is a multiple of `align` with `size` pages below min(b, hi), or -1. */
function fitUp(a: number, b: number, lo: number, hi: number, size: number, align: number): number {
  const from = Math.max(a, lo);
  const to = Math.min(b, hi);
  if (to - from < size) return -1;
  const r = from % align;
  const s = r === 0 ? from : from - r + align;
  return s + size <= to ? s : -1;
}

/** Highest start ≥ max(a, lo) that is a multiple of `align` with `size` pages below min(b, hi), or -1. */
function fitDown(a: number, b: number, lo: number, hi: number, size: number, align: number): number {
  const from = Math.max(a, lo);
  const to = Math.min(b, hi);
  if (to - from < size) return -1;
  const top = to - size;
  const s = top - (top % align);
  return s >= from ? s : -1;
}

/** findGap search results besides a page number. */
const STOP = -1;
const CONTINUE = -2;

function checkVpn(what: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > VMA_VPN_LIMIT) {
    throw invalidArgument(what, value, 'an integer page number in [0, 2^52]');
  }
}

function checkRange(op: string, startVpn: unknown, endVpn: unknown, allowEmpty: boolean): void {
  checkVpn(`${op} start page`, startVpn);
  checkVpn(`${op} end page`, endVpn);
  if (endVpn < startVpn || (!allowEmpty && endVpn === startVpn)) {
    throw invalidArgument(
      `${op} end page`,
      endVpn,
      `a page number ${allowEmpty ? '≥' : '>'} the start page ${startVpn} (${hex(startVpn)})`,
    );
  }
}

/** A page number in hex, or any other value as `showValue` renders it. */
function pageHex(v: unknown): string {
  return typeof v === 'number' && Number.isSafeInteger(v) ? hex(v) : showValue(v);
}

/** Iteration bounds: numbers (any; the fast paths compare them), never another type. */
function checkBounds(op: string, loVpn: unknown, hiVpn: unknown): void {
  if (typeof loVpn !== 'number') throw invalidArgument(`${op} start page`, loVpn, 'a page number');
  if (typeof hiVpn !== 'number') throw invalidArgument(`${op} end page`, hiVpn, 'a page number');
}

function fmt(startVpn: number, endVpn: number): string {
  return `[${hex(startVpn)}, ${hex(endVpn)})`;
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(
  old: T,
  make: (n: number) => T,
  n: number,
): T {
  const a = make(n);
  a.set(old);
  return a;
}

/**
 * An empty array that is already in V8's generic-elements state, so the `items` field only ever
 * holds arrays of one kind and the lookup path stays monomorphic.
 */
function objectSlots<T>(): (T | undefined)[] {
  const a: (T | undefined)[] = [undefined];
  a.pop();
  return a;
}

/** A planned change of one VMA inside `update`. */
interface UpdatePlan<V> {
  readonly entry: Entry<V>;
  readonly from: number;
  readonly to: number;
  readonly value: V;
  readonly upper: V | undefined;
}

/**
 * An ordered, non-overlapping set of VMAs with O(log n) lookup, insertion, removal, splitting,
 * merging and gap search. See the module documentation for the structure and its invariants.
 *
 * Complexities (n VMAs, k VMAs reported or changed): `find`, neighbours, `insert`, `remove`
 * O(log n); `removeRange`, `update` O((k + 1) log n); iteration O(log n + k); `findGap`
 * O(log n) (with `alignPages` > 1, plus each gap at least `pageCount` long that cannot hold an
 * aligned range). Lookups allocate nothing.
 */
export class VmaTree<V> {
  private readonly cap: number;
  private readonly min: number;
  private readonly splitValue: (value: V, atVpn: number, startVpn: number) => V;
  private readonly canMergeFn: ((left: Vma<V>, right: Vma<V>) => boolean) | undefined;
  private readonly mergeValue: (left: Vma<V>, right: Vma<V>) => V;
  private readonly mergeOnInsert: boolean;

  // The node arena. Node `id` owns slots [id·cap, (id + 1)·cap) of the slot arrays.
  /** Leaf: VMA starts. Inner: first start of each child. */
  private keys = new Float64Array(0);
  /** Leaf: VMA ends (unboxed copies of `endVpn`, so lookups and gap upkeep touch no object). */
  private ends = new Float64Array(0);
  /** Leaf: free pages below each VMA. Inner: each child's maxGap. */
  private slotGap = new Float64Array(0);
  /** Inner: child node ids. */
  private kids = new Int32Array(0);
  /** Leaf: the VMA objects. */
  private items: (Entry<V> | undefined)[] = objectSlots();
  // Per-node arrays, indexed by node id.
  private cnt = new Int32Array(0);
  private maxGap = new Float64Array(0);
  private parent = new Int32Array(0);
  private prevLeaf = new Int32Array(0);
  private nextLeaf = new Int32Array(0);
  private leafFlag = new Uint8Array(0);
  private slots = 0;
  private used = 0;
  private freeIds: number[] = [];

  private root = NONE;
  private head = NONE;
  private tail = NONE;
  private levels = 1;
  private count = 0;
  private pages = 0;
  /** Result of locate(): a leaf id and an index in it (may be -1). */
  private cLeaf = 0;
  private cIdx = -1;

  /**
   * Creates an empty tree.
   * @throws InvalidArgumentError for a `nodeCapacity` that is not an even integer in [4, 256].
   */
  constructor(options: VmaTreeOptions<V> = {}) {
    checkObject('VmaTree options', options, 'an object or undefined');
    for (const f of ['split', 'canMerge', 'merge'] as const)
      if (options[f] !== undefined) checkFunction(`VmaTree options.${f}`, options[f]);
    const cap = options.nodeCapacity ?? 64;
    if (!Number.isInteger(cap) || cap < 4 || cap > 256 || cap % 2 !== 0) {
      throw invalidArgument('VmaTree nodeCapacity', cap, 'an even integer in [4, 256]');
    }
    this.cap = cap;
    // Split halves hold ≥ cap/2 ≥ min; a merge holds ≤ 2·min − 1 ≤ cap. The distance between min
    // and cap/2 keeps an insert/remove pair at a node boundary from splitting and merging every time.
    this.min = Math.max(2, Math.floor((cap * 3) / 8));
    this.splitValue = options.split ?? ((value) => value);
    this.canMergeFn = options.canMerge;
    this.mergeValue = options.merge ?? ((left) => left.value);
    this.mergeOnInsert = options.mergeOnInsert ?? true;
    this.clear();
  }

  /** Number of VMAs. */
  get size(): number {
    return this.count;
  }

  /** Total pages covered by VMAs (the address space's virtual size in pages). */
  get mappedPages(): number {
    return this.pages;
  }

  /** Levels of the B+-tree (1 = the root is a leaf). For tests and introspection. */
  get height(): number {
    return this.levels;
  }

  // -------------------------------------------------------------------------
  // Lookups

  /**
   * The VMA containing page `vpn`, or undefined. O(log n), no allocation: the fault path's lookup.
   * `vpn` is not validated (any number works; integers are meant).
   */
  find(vpn: number): Vma<V> | undefined {
    if (typeof vpn !== 'number') throw invalidArgument('VmaTree.find page', vpn, 'a page number');
    const keys = this.keys;
    const kids = this.kids;
    const cap = this.cap;
    const x = Math.min(vpn, VMA_VPN_LIMIT); // never select a +Infinity pad (NaN selects nothing)
    let node = this.root;
    for (let h = this.levels; ; h--) {
      // Branch-free binary search over all `cap` slots (unused ones hold +Infinity): `base` ends
      // on the last key ≤ x, or on slot 0 if none is. No count load, a fixed trip count.
      let base = node * cap;
      let len = cap;
      while (len > 1) {
        const half = len >>> 1;
        base += half * +(keys[base + half]! <= x);
        len -= half;
      }
      if (h === 1) {
        // An empty root leaf has +Infinity in slot 0, so `base` is a live slot past this test.
        return keys[base]! <= x && x < this.ends[base]! ? this.items[base] : undefined;
      }
      node = kids[base]!;
    }
  }

  /**
   * The VMA containing `vpn`, or else the first VMA above it; undefined if there is none
   * (Linux `find_vma()`). O(log n).
   */
  findFirstAtOrAfter(vpn: number): Vma<V> | undefined {
    if (typeof vpn !== 'number')
      throw invalidArgument('VmaTree.findFirstAtOrAfter page', vpn, 'a page number');
    return this.seekAtOrAfter(vpn) ? this.items[this.cLeaf * this.cap + this.cIdx] : undefined;
  }

  /**
   * The last VMA that has a page below `vpn`: the one containing `vpn − 1`, or else the last
   * one ending at or below `vpn`; undefined if there is none (the mirror of
   * {@link findFirstAtOrAfter}). O(log n).
   */
  findLastBefore(vpn: number): Vma<V> | undefined {
    if (typeof vpn !== 'number') throw invalidArgument('VmaTree.findLastBefore page', vpn, 'a page number');
    const keys = this.keys;
    const cap = this.cap;
    const x = Math.min(vpn, VMA_VPN_LIMIT + 1);
    let node = this.root;
    for (let h = this.levels; ; h--) {
      let base = node * cap;
      let len = cap;
      while (len > 1) {
        const half = len >>> 1;
        base += half * +(keys[base + half]! < x);
        len -= half;
      }
      if (h === 1) return keys[base]! < x ? this.items[base] : undefined;
      node = this.kids[base]!;
    }
  }

  /** The lowest VMA that overlaps `[loVpn, hiVpn)`, or undefined (Linux `find_vma_intersection()`). O(log n). */
  findIntersection(loVpn: number, hiVpn: number): Vma<V> | undefined {
    if (typeof hiVpn !== 'number')
      throw invalidArgument('VmaTree.findIntersection end page', hiVpn, 'a page number');
    const v = this.findFirstAtOrAfter(loVpn);
    return v !== undefined && v.startVpn < hiVpn && loVpn < hiVpn ? v : undefined;
  }

  /** The VMA right after `vma`'s range (the first one starting at or above its end), or undefined. O(log n). */
  next(vma: Vma<V>): Vma<V> | undefined {
    checkObject('VmaTree.next vma', vma, 'a VMA');
    return this.findFirstAtOrAfter(vma.endVpn);
  }

  /** The VMA right before `vma`'s range (the last one starting below its start), or undefined. O(log n). */
  prev(vma: Vma<V>): Vma<V> | undefined {
    checkObject('VmaTree.prev vma', vma, 'a VMA');
    return this.findLastBefore(vma.startVpn);
  }

  /** The lowest VMA, or undefined when empty. O(1). */
  first(): Vma<V> | undefined {
    return this.cnt[this.head]! > 0 ? this.items[this.head * this.cap] : undefined;
  }

  /** The highest VMA, or undefined when empty. O(1). */
  last(): Vma<V> | undefined {
    const n = this.cnt[this.tail]!;
    return n > 0 ? this.items[this.tail * this.cap + n - 1] : undefined;
  }

  /** True if `vma` is this very object in this tree (not a copy, not removed or replaced). O(log n). */
  has(vma: Vma<V>): boolean {
    if (vma === null || typeof vma !== 'object' || typeof vma.startVpn !== 'number') return false;
    this.locate(vma.startVpn);
    return this.cIdx >= 0 && this.items[this.cLeaf * this.cap + this.cIdx] === vma;
  }

  // -------------------------------------------------------------------------
  // Iteration (do not mutate the tree while iterating)

  /**
   * Calls `visit` for each VMA overlapping `[loVpn, hiVpn)` in address order (default: all).
   * Allocates nothing. The tree must not be changed from inside `visit`.
   */
  forEach(visit: (vma: Vma<V>) => void, loVpn = 0, hiVpn = VMA_VPN_LIMIT): void {
    checkFunction('VmaTree.forEach visit', visit);
    checkBounds('VmaTree.forEach', loVpn, hiVpn);
    if (!this.seekAtOrAfter(loVpn)) return;
    const cap = this.cap;
    let leaf = this.cLeaf;
    let i = this.cIdx;
    while (leaf !== NONE) {
      const b = leaf * cap;
      for (const n = this.cnt[leaf]!; i < n; i++) {
        if (this.keys[b + i]! >= hiVpn) return;
        visit(this.items[b + i]!);
      }
      leaf = this.nextLeaf[leaf]!;
      i = 0;
    }
  }

  /** The VMAs overlapping `[loVpn, hiVpn)` in address order (default: all). O(log n) to start, O(1) per VMA. */
  *range(loVpn = 0, hiVpn = VMA_VPN_LIMIT): IterableIterator<Vma<V>> {
    checkBounds('VmaTree.range', loVpn, hiVpn);
    if (!this.seekAtOrAfter(loVpn)) return;
    const cap = this.cap;
    let leaf = this.cLeaf;
    let i = this.cIdx;
    while (leaf !== NONE) {
      const b = leaf * cap;
      for (; i < this.cnt[leaf]!; i++) {
        if (this.keys[b + i]! >= hiVpn) return;
        yield this.items[b + i]!;
      }
      leaf = this.nextLeaf[leaf]!;
      i = 0;
    }
  }

  /** Every VMA in address order. */
  [Symbol.iterator](): IterableIterator<Vma<V>> {
    return this.range();
  }

  /**
   * The free ranges inside `[loVpn, hiVpn)` in address order, clipped to it (default: the whole
   * space up to {@link VMA_VPN_LIMIT}). O(log n) to start, O(1) per gap.
   * @throws InvalidArgumentError for bounds that are not page numbers or `hiVpn < loVpn`.
   */
  gaps(loVpn = 0, hiVpn = VMA_VPN_LIMIT): IterableIterator<VmaGap> {
    checkRange('VmaTree.gaps', loVpn, hiVpn, true);
    return this.gapsIn(loVpn, hiVpn);
  }

  private *gapsIn(loVpn: number, hiVpn: number): IterableIterator<VmaGap> {
    this.locate(loVpn);
    const cap = this.cap;
    let leaf = this.cLeaf;
    let i = this.cIdx;
    let prevEnd = i >= 0 ? this.ends[leaf * cap + i]! : 0;
    i++;
    while (leaf !== NONE) {
      const b = leaf * cap;
      for (; i < this.cnt[leaf]!; i++) {
        if (prevEnd >= hiVpn) return;
        const s = this.keys[b + i]!;
        const from = Math.max(prevEnd, loVpn);
        const to = Math.min(s, hiVpn);
        if (from < to) yield { startVpn: from, endVpn: to };
        prevEnd = this.ends[b + i]!;
      }
      leaf = this.nextLeaf[leaf]!;
      i = 0;
    }
    const from = Math.max(prevEnd, loVpn);
    if (from < hiVpn) yield { startVpn: from, endVpn: hiVpn };
  }

  /**
   * Finds a free range of `pageCount` pages inside `[loVpn, hiVpn)` whose start is a multiple of
   * `alignPages`: the lowest such start, or the highest with `topDown` (Linux's
   * `vm_unmapped_area()`; top-down is its default placement below the stack gap). Returns the
   * start page, or -1 if no range fits. The answer is exact (every fitting aligned start is
   * considered, unlike Linux, which searches for `length + align − 1`).
   * O(log n) using the subtree gap maxima; with `alignPages` > 1, each gap of at least
   * `pageCount` pages that has no aligned fit adds a step.
   * @throws InvalidArgumentError for a `pageCount` or `alignPages` that is not an integer ≥ 1,
   *   bounds that are not page numbers, or `hiVpn < loVpn`.
   */
  findGap(pageCount: number, loVpn: number, hiVpn: number, options?: FindGapOptions): number {
    if (!Number.isInteger(pageCount) || pageCount < 1 || pageCount > VMA_VPN_LIMIT) {
      throw invalidArgument('VmaTree.findGap pageCount', pageCount, 'an integer in [1, 2^52]');
    }
    checkRange('VmaTree.findGap', loVpn, hiVpn, true);
    const align = options?.alignPages ?? 1;
    if (!Number.isInteger(align) || align < 1 || align > VMA_VPN_LIMIT) {
      throw invalidArgument('VmaTree.findGap alignPages', align, 'an integer in [1, 2^52]');
    }
    if (hiVpn - loVpn < pageCount) return -1;
    const tailN = this.cnt[this.tail]!;
    const tailEnd = tailN > 0 ? this.ends[this.tail * this.cap + tailN - 1]! : 0;
    const fits = this.maxGap[this.root]! >= pageCount;
    if (options?.topDown === true) {
      const t = fitDown(tailEnd, VMA_VPN_LIMIT, loVpn, hiVpn, pageCount, align);
      if (t >= 0 || !fits) return t;
      const r = this.gapDown(this.root, this.levels, loVpn, hiVpn, pageCount, align);
      return r >= 0 ? r : -1;
    }
    if (fits) {
      const r = this.gapUp(this.root, this.levels, loVpn, hiVpn, pageCount, align);
      if (r >= 0) return r;
      if (r === STOP) return -1;
    }
    return fitUp(tailEnd, VMA_VPN_LIMIT, loVpn, hiVpn, pageCount, align);
  }

  // -------------------------------------------------------------------------
  // Changes

  /**
   * Adds the VMA `[startVpn, endVpn)` with payload `value`. With `canMerge` configured (and
   * `mergeOnInsert` not false) it merges with a touching neighbour on either side that
   * `canMerge` accepts; the returned VMA is the one now covering the range (the new object,
   * or the grown neighbour). If a callback throws, nothing has changed.
   * @throws InvalidArgumentError for bounds that are not integers with 0 ≤ start < end ≤ 2^52.
   * @throws VmaOverlapError if any page of the range already belongs to a VMA (nothing changes).
   */
  insert(startVpn: number, endVpn: number, value: V): Vma<V> {
    checkRange('VmaTree.insert', startVpn, endVpn, false);
    // One descent: the cursor lands on the first VMA ending above startVpn, which is the place
    // of the new VMA; its predecessor there is the left neighbour.
    const cap = this.cap;
    let leaf = this.tail;
    let idx = this.cnt[leaf]!;
    let over: Entry<V> | undefined;
    if (this.seekAtOrAfter(startVpn)) {
      leaf = this.cLeaf;
      idx = this.cIdx;
      over = this.items[leaf * cap + idx]!;
      if (over.startVpn < endVpn) throw new VmaOverlapError(startVpn, endVpn, over.startVpn, over.endVpn);
    }
    const entry = new Entry(startVpn, endVpn, value);
    const canMerge = this.canMergeFn;
    if (canMerge === undefined || !this.mergeOnInsert) {
      this.insertAt(leaf, idx, entry);
      return entry;
    }
    // Decide every merge (callbacks may throw) before changing anything.
    const pl = this.prevLeaf[leaf]!;
    const before =
      idx > 0
        ? this.items[leaf * cap + idx - 1]
        : pl !== NONE && this.cnt[pl]! > 0
          ? this.items[pl * cap + this.cnt[pl]! - 1]
          : undefined;
    const left =
      before !== undefined && before.endVpn === startVpn && canMerge(before, entry) ? before : undefined;
    let joined: Entry<V> = entry;
    if (left !== undefined) joined = new Entry(left.startVpn, endVpn, this.mergeValue(left, entry));
    const right = over !== undefined && over.startVpn === endVpn && canMerge(joined, over) ? over : undefined;
    if (right === undefined) {
      if (left === undefined) {
        this.insertAt(leaf, idx, entry);
        return entry;
      }
      this.setBounds(left, left.startVpn, endVpn);
      left.value = joined.value;
      return left;
    }
    const merged = this.mergeValue(joined, right);
    if (left === undefined) {
      this.setBounds(right, startVpn, right.endVpn);
      right.value = merged;
      return right;
    }
    const end = right.endVpn;
    this.deleteEntry(right);
    this.setBounds(left, left.startVpn, end);
    left.value = merged;
    return left;
  }

  /**
   * Removes `vma` (an object this tree returned). Neighbours are not merged (a hole stays).
   * @throws InvalidArgumentError if `vma` is not currently in this tree.
   */
  remove(vma: Vma<V>): void {
    if (!this.has(vma)) {
      throw invalidArgument(
        'VmaTree.remove vma',
        typeof vma?.startVpn === 'number' && typeof vma.endVpn === 'number'
          ? fmt(vma.startVpn, vma.endVpn)
          : vma,
        'a VMA object currently in this tree',
      );
    }
    this.deleteEntry(vma as Entry<V>);
  }

  /**
   * Removes every page of `[loVpn, hiVpn)` from the tree (munmap): VMAs inside are removed,
   * VMAs straddling an end are trimmed (front trim, back trim) or split around a hole (hole
   * punch), using `split` for the payloads. Gaps inside the range and an empty result are fine.
   * Returns the removed pieces in address order with their payloads, so the caller can free
   * their pages: a VMA removed whole is returned as itself; a piece cut from a VMA is a new
   * object. O((k + 1) log n) for k VMAs touched. If `split` throws, nothing has changed.
   * @throws InvalidArgumentError for bounds that are not page numbers or `hiVpn < loVpn` (nothing changes).
   */
  removeRange(loVpn: number, hiVpn: number): Vma<V>[] {
    checkRange('VmaTree.removeRange', loVpn, hiVpn, true);
    const hit = this.collect(loVpn, hiVpn);
    const removed: Vma<V>[] = [];
    if (hit.length === 0) return removed;
    const first = hit[0]!;
    if (hit.length === 1 && first.startVpn >= loVpn && first.endVpn <= hiVpn) {
      // One VMA removed whole (munmap of exactly one mapping): the cursor from collect() is on it.
      this.deleteAt(this.cLeaf, this.cIdx);
      removed.push(first);
      return removed;
    }
    const last = hit[hit.length - 1]!;
    // Payloads first: a throwing `split` must leave the tree as it was.
    const split = this.splitValue;
    if (first.startVpn < loVpn && first.endVpn > hiVpn) {
      // Hole punch: [start, lo) stays, [lo, hi) goes, [hi, end) comes back as a new VMA.
      const cut = new Entry(loVpn, hiVpn, split(first.value, loVpn, first.startVpn));
      const upper = new Entry(hiVpn, first.endVpn, split(first.value, hiVpn, first.startVpn));
      this.setBounds(first, first.startVpn, loVpn);
      this.insertEntry(upper);
      removed.push(cut);
      return removed;
    }
    const backCut =
      first.startVpn < loVpn
        ? new Entry(loVpn, first.endVpn, split(first.value, loVpn, first.startVpn))
        : undefined;
    const frontKeep = last.endVpn > hiVpn ? split(last.value, hiVpn, last.startVpn) : undefined;
    for (const e of hit) {
      if (e === first && backCut !== undefined) {
        this.setBounds(e, e.startVpn, loVpn);
        removed.push(backCut);
      } else if (e === last && frontKeep !== undefined) {
        removed.push(new Entry(e.startVpn, hiVpn, e.value));
        this.setBounds(e, hiVpn, e.endVpn);
        e.value = frontKeep;
      } else {
        this.deleteEntry(e);
        removed.push(e);
      }
    }
    return removed;
  }

  /**
   * Changes the payload of exactly the pages `[loVpn, hiVpn)` (mprotect, madvise, rename):
   * for each VMA piece inside the range, `change(value, fromVpn, toVpn)` gives the new payload
   * (`value` is the piece's own payload, already passed through `split` when the piece starts
   * inside a VMA). A VMA straddling an end is split there, unless `change` returns the very same
   * payload (`===`), which leaves it whole. Then touching neighbours across every boundary in
   * `[loVpn, hiVpn]` that `canMerge` accepts are merged. Gaps are skipped. Returns the number of
   * mapped pages in the range (equal to `hiVpn − loVpn` iff the range is fully mapped).
   * If `change` or `split` throws, nothing has changed.
   * @throws InvalidArgumentError for bounds that are not page numbers or `hiVpn < loVpn`.
   */
  update(loVpn: number, hiVpn: number, change: (value: V, fromVpn: number, toVpn: number) => V): number {
    checkRange('VmaTree.update', loVpn, hiVpn, true);
    checkFunction('VmaTree.update change', change);
    const hit = this.collect(loVpn, hiVpn);
    if (hit.length === 0) return 0;
    const split = this.splitValue;
    const plans: UpdatePlan<V>[] = [];
    let pages = 0;
    for (const e of hit) {
      const from = Math.max(e.startVpn, loVpn);
      const to = Math.min(e.endVpn, hiVpn);
      pages += to - from;
      const own = from > e.startVpn ? split(e.value, from, e.startVpn) : e.value;
      const value = change(own, from, to);
      if (value === own) continue;
      const upper = to < e.endVpn ? split(e.value, to, e.startVpn) : undefined;
      plans.push({ entry: e, from, to, value, upper });
    }
    for (const p of plans) {
      const e = p.entry;
      const end = e.endVpn;
      if (p.to < end) {
        this.setBounds(e, e.startVpn, p.to);
        this.insertEntry(new Entry(p.to, end, p.upper as V));
      }
      if (p.from > e.startVpn) {
        this.setBounds(e, e.startVpn, p.from);
        this.insertEntry(new Entry(p.from, p.to, p.value));
      } else e.value = p.value;
    }
    if (plans.length > 0) this.mergeAcross(loVpn, hiVpn);
    return pages;
  }

  /** Removes every VMA and releases the node memory. O(1). */
  clear(): void {
    this.keys = new Float64Array(0);
    this.ends = new Float64Array(0);
    this.slotGap = new Float64Array(0);
    this.kids = new Int32Array(0);
    this.items = objectSlots();
    this.cnt = new Int32Array(0);
    this.maxGap = new Float64Array(0);
    this.parent = new Int32Array(0);
    this.prevLeaf = new Int32Array(0);
    this.nextLeaf = new Int32Array(0);
    this.leafFlag = new Uint8Array(0);
    this.slots = 0;
    this.used = 0;
    this.freeIds = [];
    this.root = this.alloc(true);
    this.head = this.root;
    this.tail = this.root;
    this.levels = 1;
    this.count = 0;
    this.pages = 0;
    this.cLeaf = this.root;
    this.cIdx = -1;
  }

  /**
   * Checks every structural invariant and returns the problems found (empty when sound): order
   * and non-overlap, keys, per-VMA gaps and subtree gap maxima, node fill and equal leaf depth,
   * parent and leaf-chain links, the counters, and (when merging on insert) that no two touching
   * neighbours are mergeable. O(n); for tests and `audit()`.
   */
  check(): string[] {
    const problems: string[] = [];
    const cap = this.cap;
    const leaves: number[] = [];
    const walk = (node: number, depth: number, lo: number, hi: number): void => {
      const where = `node ${node} at depth ${depth}`;
      const n = this.cnt[node]!;
      const b = node * cap;
      const isLeaf = depth === this.levels - 1;
      if ((this.leafFlag[node] === 1) !== isLeaf) problems.push(`${where}: leaf flag wrong for its depth`);
      if (node !== this.root && (n < this.min || n > cap)) {
        problems.push(`${where}: ${n} entries, expected ${this.min}..${cap}`);
      }
      if (node === this.root && !isLeaf && n < 2) problems.push(`inner root has ${n} children`);
      for (let i = 1; i < n; i++) {
        if (!(this.keys[b + i - 1]! < this.keys[b + i]!))
          problems.push(`${where}: keys not increasing at ${i}`);
      }
      if (n > 0 && (this.keys[b]! < lo || this.keys[b + n - 1]! >= hi)) {
        problems.push(`${where}: keys outside the parent's separator range`);
      }
      for (let i = n; i < cap; i++) {
        if (this.keys[b + i] !== Infinity) problems.push(`${where}: unused key slot ${i} is not +Infinity`);
      }
      let max = 0;
      for (let i = 0; i < n; i++) max = Math.max(max, this.slotGap[b + i]!);
      if (max !== this.maxGap[node]) problems.push(`${where}: maxGap ${this.maxGap[node]}, expected ${max}`);
      if (isLeaf) {
        leaves.push(node);
        for (let i = 0; i < n; i++) {
          const e = this.items[b + i];
          if (e === undefined) problems.push(`${where}: missing item ${i}`);
          else if (e.startVpn !== this.keys[b + i] || e.endVpn !== this.ends[b + i]) {
            problems.push(`${where}: cached range of ${fmt(e.startVpn, e.endVpn)} differs`);
          }
        }
        for (let i = n; i < cap; i++) {
          if (this.items[b + i] !== undefined) problems.push(`${where}: stale item slot ${i}`);
        }
        return;
      }
      for (let i = 0; i < n; i++) {
        const kid = this.kids[b + i]!;
        if (this.parent[kid] !== node) problems.push(`${where}: child ${i} has a wrong parent`);
        if (this.keys[kid * cap] !== this.keys[b + i])
          problems.push(`${where}: key ${i} is not the child's first key`);
        if (this.maxGap[kid] !== this.slotGap[b + i])
          problems.push(`${where}: gap ${i} is not the child's maxGap`);
        walk(kid, depth + 1, this.keys[b + i]!, i + 1 < n ? this.keys[b + i + 1]! : hi);
      }
    };
    if (this.parent[this.root] !== NONE) problems.push('root has a parent');
    walk(this.root, 0, -Infinity, Infinity);
    if (leaves[0] !== this.head) problems.push('head is not the first leaf');
    if (leaves[leaves.length - 1] !== this.tail) problems.push('tail is not the last leaf');
    const live = new Set<number>();
    const visit = (node: number, depth: number): void => {
      live.add(node);
      if (depth < this.levels - 1) {
        for (let i = 0; i < this.cnt[node]!; i++) visit(this.kids[node * cap + i]!, depth + 1);
      }
    };
    visit(this.root, 0);
    if (live.size + this.freeIds.length !== this.used) {
      problems.push(`${live.size} live + ${this.freeIds.length} free node ids, ${this.used} used`);
    }
    for (const id of this.freeIds) if (live.has(id)) problems.push(`node ${id} is both live and free`);
    let count = 0;
    let pages = 0;
    let prev: Entry<V> | undefined;
    const canMerge = this.canMergeFn;
    for (let j = 0; j < leaves.length; j++) {
      const leaf = leaves[j]!;
      if (this.prevLeaf[leaf] !== (leaves[j - 1] ?? NONE)) problems.push(`leaf ${leaf}: wrong prev link`);
      if (this.nextLeaf[leaf] !== (leaves[j + 1] ?? NONE)) problems.push(`leaf ${leaf}: wrong next link`);
      for (let i = 0; i < this.cnt[leaf]!; i++) {
        const e = this.items[leaf * cap + i];
        if (e === undefined) continue;
        count++;
        pages += e.endVpn - e.startVpn;
        const r = fmt(e.startVpn, e.endVpn);
        if (
          !Number.isInteger(e.startVpn) ||
          !Number.isInteger(e.endVpn) ||
          e.startVpn < 0 ||
          e.endVpn <= e.startVpn ||
          e.endVpn > VMA_VPN_LIMIT
        ) {
          problems.push(`VMA ${r}: invalid range`);
        }
        const prevEnd = prev === undefined ? 0 : prev.endVpn;
        if (prev !== undefined && prev.endVpn > e.startVpn) {
          problems.push(`VMA ${fmt(prev.startVpn, prev.endVpn)} overlaps ${r}`);
        }
        const gap = this.slotGap[leaf * cap + i];
        if (gap !== e.startVpn - prevEnd)
          problems.push(`VMA ${r}: gap ${gap}, expected ${e.startVpn - prevEnd}`);
        if (
          prev !== undefined &&
          canMerge !== undefined &&
          this.mergeOnInsert &&
          prev.endVpn === e.startVpn &&
          canMerge(prev, e)
        ) {
          problems.push(`VMAs ${fmt(prev.startVpn, prev.endVpn)} and ${r} should be merged`);
        }
        prev = e;
      }
    }
    if (count !== this.count) problems.push(`size ${this.count}, counted ${count}`);
    if (pages !== this.pages) problems.push(`mappedPages ${this.pages}, counted ${pages}`);
    return problems;
  }

  // -------------------------------------------------------------------------
  // Internals: node arena

  private alloc(leaf: boolean): number {
    let id = this.freeIds.pop();
    if (id === undefined) {
      if (this.used === this.slots) this.grow();
      id = this.used++;
    }
    this.keys.fill(Infinity, id * this.cap, (id + 1) * this.cap);
    this.cnt[id] = 0;
    this.maxGap[id] = 0;
    this.parent[id] = NONE;
    this.prevLeaf[id] = NONE;
    this.nextLeaf[id] = NONE;
    this.leafFlag[id] = leaf ? 1 : 0;
    return id;
  }

  private release(id: number): void {
    const b = id * this.cap;
    for (let i = 0; i < this.cap; i++) this.items[b + i] = undefined;
    this.cnt[id] = 0;
    this.freeIds.push(id);
  }

  /** Doubles the arena (amortized O(1) per node). */
  private grow(): void {
    const slots = Math.max(4, this.slots * 2);
    const n = slots * this.cap;
    const f64 = (k: number) => new Float64Array(k);
    const i32 = (k: number) => new Int32Array(k);
    this.keys = grown(this.keys, f64, n);
    this.ends = grown(this.ends, f64, n);
    this.slotGap = grown(this.slotGap, f64, n);
    this.kids = grown(this.kids, i32, n);
    for (let i = this.items.length; i < n; i++) this.items.push(undefined);
    this.cnt = grown(this.cnt, i32, slots);
    this.maxGap = grown(this.maxGap, f64, slots);
    this.parent = grown(this.parent, i32, slots);
    this.prevLeaf = grown(this.prevLeaf, i32, slots);
    this.nextLeaf = grown(this.nextLeaf, i32, slots);
    this.leafFlag = grown(this.leafFlag, (k) => new Uint8Array(k), slots);
    this.slots = slots;
  }

  // -------------------------------------------------------------------------
  // Internals: positioning

  /** Sets cLeaf/cIdx to the leaf for `vpn` and the index of its last start ≤ vpn (-1 if none there). */
  private locate(vpn: number): void {
    const keys = this.keys;
    const cap = this.cap;
    const x = Math.min(vpn, VMA_VPN_LIMIT);
    let node = this.root;
    for (let h = this.levels; ; h--) {
      const b = node * cap;
      let base = b;
      let len = cap;
      while (len > 1) {
        const half = len >>> 1;
        base += half * +(keys[base + half]! <= x);
        len -= half;
      }
      if (h === 1) {
        this.cLeaf = node;
        this.cIdx = keys[base]! <= x ? base - b : -1;
        return;
      }
      node = this.kids[base]!;
    }
  }

  /** Puts the cursor on the first VMA ending above `vpn`; false if there is none. */
  private seekAtOrAfter(vpn: number): boolean {
    this.locate(vpn);
    let leaf = this.cLeaf;
    let i = this.cIdx;
    if (i < 0 || this.ends[leaf * this.cap + i]! <= vpn) i++;
    if (i >= this.cnt[leaf]!) {
      const next = this.nextLeaf[leaf]!;
      if (next === NONE) return false;
      leaf = next;
      i = 0;
    }
    this.cLeaf = leaf;
    this.cIdx = i;
    return true;
  }

  /** The VMAs overlapping `[lo, hi)`, in order. */
  private collect(lo: number, hi: number): Entry<V>[] {
    const out: Entry<V>[] = [];
    if (lo >= hi || !this.seekAtOrAfter(lo)) return out;
    const cap = this.cap;
    let leaf = this.cLeaf;
    let i = this.cIdx;
    while (leaf !== NONE) {
      const b = leaf * cap;
      for (const n = this.cnt[leaf]!; i < n; i++) {
        if (this.keys[b + i]! >= hi) return out;
        out.push(this.items[b + i]!);
      }
      leaf = this.nextLeaf[leaf]!;
      i = 0;
    }
    return out;
  }

  /** Merges touching, mergeable neighbours across every boundary in [lo, hi]. */
  private mergeAcross(lo: number, hi: number): void {
    const canMerge = this.canMergeFn;
    if (canMerge === undefined) return;
    let v = (this.findLastBefore(lo) ?? this.first()) as Entry<V> | undefined;
    while (v !== undefined) {
      const w = this.findFirstAtOrAfter(v.endVpn) as Entry<V> | undefined;
      if (w === undefined || w.startVpn > hi) return;
      if (v.endVpn === w.startVpn && v.endVpn >= lo && canMerge(v, w)) {
        const value = this.mergeValue(v, w);
        const end = w.endVpn;
        this.deleteEntry(w);
        this.setBounds(v, v.startVpn, end);
        v.value = value;
      } else v = w;
    }
  }

  // -------------------------------------------------------------------------
  // Internals: augmented data

  /** Recomputes a node's own cached data from scratch (keys/gaps of inner nodes, gaps of leaves, maxGap). */
  private recompute(node: number): void {
    const cap = this.cap;
    const keys = this.keys;
    const gaps = this.slotGap;
    const b = node * cap;
    const n = this.cnt[node]!;
    let max = 0;
    if (this.leafFlag[node] === 1) {
      const ends = this.ends;
      let prevEnd = this.endBefore(node);
      for (let i = b; i < b + n; i++) {
        const g = keys[i]! - prevEnd;
        gaps[i] = g;
        if (g > max) max = g;
        prevEnd = ends[i]!;
      }
    } else {
      const kids = this.kids;
      for (let i = b; i < b + n; i++) {
        const k = kids[i]!;
        keys[i] = keys[k * cap]!;
        const g = this.maxGap[k]!;
        gaps[i] = g;
        if (g > max) max = g;
      }
      keys.fill(Infinity, b + n, b + cap);
    }
    this.maxGap[node] = max;
  }

  /** End of the last VMA before `leaf` (0 if none). */
  private endBefore(leaf: number): number {
    const p = this.prevLeaf[leaf]!;
    const pn = p === NONE ? 0 : this.cnt[p]!;
    return pn > 0 ? this.ends[p * this.cap + pn - 1]! : 0;
  }

  /**
   * Recomputes the gap of slot `i` of `leaf` and keeps the leaf's maxGap exact, assuming it was
   * the maximum over the slots before this one changed (ancestors are left to {@link fixUp}).
   */
  private gapAt(leaf: number, i: number): void {
    const b = leaf * this.cap;
    const prevEnd = i > 0 ? this.ends[b + i - 1]! : this.endBefore(leaf);
    const g = this.keys[b + i]! - prevEnd;
    const old = this.slotGap[b + i]!;
    this.slotGap[b + i] = g;
    const max = this.maxGap[leaf]!;
    if (g >= max) this.maxGap[leaf] = g;
    else if (old === max) this.rescan(leaf);
  }

  /** Recomputes a node's maxGap from its slots. */
  private rescan(node: number): void {
    let max = 0;
    const gaps = this.slotGap;
    for (let j = node * this.cap, e = j + this.cnt[node]!; j < e; j++) if (gaps[j]! > max) max = gaps[j]!;
    this.maxGap[node] = max;
  }

  /**
   * Pushes a node's first key and maxGap up to its ancestors, stopping where nothing changes.
   * Requires every other cached entry of the ancestors to be current.
   */
  private fixUp(node: number): void {
    const cap = this.cap;
    const keys = this.keys;
    const gaps = this.slotGap;
    const maxGap = this.maxGap;
    let c = node;
    let p = this.parent[c]!;
    while (p !== NONE) {
      const at = p * cap + this.indexIn(p, c);
      const key = keys[c * cap]!;
      const gap = maxGap[c]!;
      if (keys[at] === key && gaps[at] === gap) return;
      keys[at] = key;
      const old = gaps[at]!;
      gaps[at] = gap;
      if (gap >= maxGap[p]!) maxGap[p] = gap;
      else if (old === maxGap[p]) this.rescan(p);
      c = p;
      p = this.parent[c]!;
    }
  }

  /** After the VMA in slot `idx` of `leaf` changed its end: refreshes the following VMA's gap. */
  private successorChanged(leaf: number, idx: number): void {
    if (idx + 1 < this.cnt[leaf]!) {
      this.gapAt(leaf, idx + 1);
      this.fixUp(leaf);
      return;
    }
    this.fixUp(leaf);
    const next = this.nextLeaf[leaf]!;
    if (next !== NONE) {
      this.gapAt(next, 0);
      this.fixUp(next);
    }
  }

  private indexIn(parent: number, child: number): number {
    const b = parent * this.cap;
    const n = this.cnt[parent]!;
    for (let i = 0; i < n; i++) if (this.kids[b + i] === child) return i;
    throw new Error('VmaTree: child not found in its parent (corrupt tree)');
  }

  // -------------------------------------------------------------------------
  // Internals: entry-level edits

  /** Moves an entry's bounds in place (the order of VMAs must not change). */
  private setBounds(e: Entry<V>, startVpn: number, endVpn: number): void {
    this.locate(e.startVpn);
    const leaf = this.cLeaf;
    const idx = this.cIdx;
    this.pages += endVpn - startVpn - (e.endVpn - e.startVpn);
    e.startVpn = startVpn;
    e.endVpn = endVpn;
    this.keys[leaf * this.cap + idx] = startVpn;
    this.ends[leaf * this.cap + idx] = endVpn;
    this.gapAt(leaf, idx);
    this.successorChanged(leaf, idx);
  }

  /** Inserts an entry that overlaps nothing at its place. */
  private insertEntry(e: Entry<V>): void {
    this.locate(e.startVpn);
    this.insertAt(this.cLeaf, this.cIdx + 1, e);
  }

  /** Inserts `e` as slot `idx` of `leaf` (which must be its place in address order). */
  private insertAt(leaf: number, idx: number, e: Entry<V>): void {
    this.count++;
    this.pages += e.endVpn - e.startVpn;
    const cap = this.cap;
    if (this.cnt[leaf]! < cap) {
      this.putAt(leaf, idx, e);
      this.gapAt(leaf, idx);
      this.successorChanged(leaf, idx);
      return;
    }
    if (this.redistribute(leaf, idx, e)) return;
    const right = this.alloc(true); // may grow the arena: read the arrays after this
    const mid = cap >>> 1;
    const lb = leaf * cap;
    const rb = right * cap;
    this.keys.copyWithin(rb, lb + mid, lb + cap);
    this.ends.copyWithin(rb, lb + mid, lb + cap);
    for (let j = mid; j < cap; j++) {
      this.items[rb + j - mid] = this.items[lb + j];
      this.items[lb + j] = undefined;
    }
    this.keys.fill(Infinity, lb + mid, lb + cap);
    this.cnt[right] = cap - mid;
    this.cnt[leaf] = mid;
    if (idx <= mid) this.putAt(leaf, idx, e);
    else this.putAt(right, idx - mid, e);
    const after = this.nextLeaf[leaf]!;
    this.prevLeaf[right] = leaf;
    this.nextLeaf[right] = after;
    if (after !== NONE) this.prevLeaf[after] = right;
    else this.tail = right;
    this.nextLeaf[leaf] = right;
    this.recompute(leaf);
    this.recompute(right);
    this.addChild(leaf, right);
    if (after !== NONE) {
      this.gapAt(after, 0);
      this.fixUp(after);
    }
  }

  /**
   * A full leaf makes room by handing one entry to a sibling that has room (B*-tree style), so
   * ascending or descending fills (top-down mmap placement, a loader) leave nodes nearly full
   * instead of half full. Returns false if neither sibling has room.
   */
  private redistribute(leaf: number, idx: number, e: Entry<V>): boolean {
    const p = this.parent[leaf]!;
    if (p === NONE) return false;
    const cap = this.cap;
    const i = this.indexIn(p, leaf);
    const pb = p * cap;
    const b = leaf * cap;
    const left = i > 0 ? this.kids[pb + i - 1]! : NONE;
    let last: number; // the rightmost leaf of the pair
    if (left !== NONE && this.cnt[left]! < cap) {
      if (idx === 0) this.putAt(left, this.cnt[left]!, e);
      else {
        const moved = this.items[b]!;
        this.removeSlot(leaf, 0);
        this.putAt(left, this.cnt[left]!, moved);
        this.putAt(leaf, idx - 1, e);
      }
      this.recompute(left);
      this.recompute(leaf);
      last = leaf;
    } else {
      const right = i + 1 < this.cnt[p]! ? this.kids[pb + i + 1]! : NONE;
      if (right === NONE || this.cnt[right]! >= cap) return false;
      if (idx === cap) this.putAt(right, 0, e);
      else {
        const moved = this.items[b + cap - 1]!;
        this.removeSlot(leaf, cap - 1);
        this.putAt(right, 0, moved);
        this.putAt(leaf, idx, e);
      }
      this.recompute(leaf);
      this.recompute(right);
      last = right;
    }
    this.recompute(p);
    this.fixUp(p);
    const after = this.nextLeaf[last]!; // its first gap depends on the pair's last end
    if (after !== NONE) {
      this.gapAt(after, 0);
      this.fixUp(after);
    }
    return true;
  }

  /** Shifts slot `idx` of a leaf out (keys, gaps, items); the caller fixes gaps. */
  private removeSlot(leaf: number, idx: number): void {
    const b = leaf * this.cap;
    const n = this.cnt[leaf]!;
    const keys = this.keys;
    const ends = this.ends;
    const gaps = this.slotGap;
    const items = this.items;
    // Plain loops: shorter than the call overhead of copyWithin for at most `cap` slots.
    for (let j = b + idx; j < b + n - 1; j++) {
      keys[j] = keys[j + 1]!;
      ends[j] = ends[j + 1]!;
      gaps[j] = gaps[j + 1]!;
      items[j] = items[j + 1];
    }
    items[b + n - 1] = undefined;
    keys[b + n - 1] = Infinity;
    this.cnt[leaf] = n - 1;
  }

  /** Shifts `e` into slot `idx` of a leaf (keys, gaps, items); the caller fixes gaps. */
  private putAt(leaf: number, idx: number, e: Entry<V>): void {
    const b = leaf * this.cap;
    const n = this.cnt[leaf]!;
    const keys = this.keys;
    const ends = this.ends;
    const gaps = this.slotGap;
    const items = this.items;
    for (let j = b + n; j > b + idx; j--) {
      keys[j] = keys[j - 1]!;
      ends[j] = ends[j - 1]!;
      gaps[j] = gaps[j - 1]!;
      items[j] = items[j - 1];
    }
    keys[b + idx] = e.startVpn;
    ends[b + idx] = e.endVpn;
    items[b + idx] = e;
    this.cnt[leaf] = n + 1;
  }

  /** Links `right` (fresh, recomputed) into the tree just after its left sibling `left`. */
  private addChild(left: number, right: number): void {
    const p = this.parent[left]!;
    const cap = this.cap;
    if (p === NONE) {
      const root = this.alloc(false);
      this.kids[root * cap] = left;
      this.kids[root * cap + 1] = right;
      this.cnt[root] = 2;
      this.parent[left] = root;
      this.parent[right] = root;
      this.recompute(root);
      this.root = root;
      this.levels++;
      return;
    }
    const idx = this.indexIn(p, left) + 1;
    if (this.cnt[p]! < cap) {
      this.putKid(p, idx, right);
      this.recompute(p);
      this.fixUp(p);
      return;
    }
    const q = this.alloc(false);
    const mid = cap >>> 1;
    const pb = p * cap;
    const qb = q * cap;
    for (let j = mid; j < cap; j++) {
      const k = this.kids[pb + j]!;
      this.kids[qb + j - mid] = k;
      this.parent[k] = q;
    }
    this.cnt[q] = cap - mid;
    this.cnt[p] = mid;
    if (idx <= mid) this.putKid(p, idx, right);
    else this.putKid(q, idx - mid, right);
    this.recompute(p);
    this.recompute(q);
    this.addChild(p, q);
  }

  private putKid(node: number, idx: number, kid: number): void {
    const b = node * this.cap;
    const n = this.cnt[node]!;
    this.kids.copyWithin(b + idx + 1, b + idx, b + n);
    this.kids[b + idx] = kid;
    this.parent[kid] = node;
    this.cnt[node] = n + 1;
  }

  /** Deletes an entry that is in the tree. */
  private deleteEntry(e: Entry<V>): void {
    this.locate(e.startVpn);
    if (this.cIdx < 0 || this.items[this.cLeaf * this.cap + this.cIdx] !== e) {
      throw new Error('VmaTree: entry not found (corrupt tree)');
    }
    this.deleteAt(this.cLeaf, this.cIdx);
  }

  /** Deletes slot `idx` of `leaf`. */
  private deleteAt(leaf: number, idx: number): void {
    const cap = this.cap;
    const b = leaf * cap;
    const e = this.items[b + idx]!;
    const n = this.cnt[leaf]!;
    const gap = this.slotGap[b + idx]!;
    // The following VMA's gap grows; remember it to refresh its leaf after any rebalancing.
    const nl = this.nextLeaf[leaf]!;
    const next = idx + 1 < n ? this.keys[b + idx + 1]! : nl !== NONE ? this.keys[nl * cap]! : -1;
    this.removeSlot(leaf, idx);
    this.count--;
    this.pages -= e.endVpn - e.startVpn;
    if (leaf === this.root || n - 1 >= this.min) {
      if (idx < n - 1) {
        this.gapAt(leaf, idx); // grows by at least `gap`: the maximum stays exact
        this.fixUp(leaf);
        return;
      }
      if (gap === this.maxGap[leaf]) this.rescan(leaf);
      this.fixUp(leaf);
      if (nl !== NONE) {
        this.gapAt(nl, 0);
        this.fixUp(nl);
      }
      return;
    }
    this.rebalance(leaf);
    if (next >= 0) {
      this.locate(next);
      this.recompute(this.cLeaf);
      this.fixUp(this.cLeaf);
    }
  }

  /** Restores the fill of an underfull non-root node by borrowing from or merging with a sibling. */
  private rebalance(x: number): void {
    const cap = this.cap;
    const p = this.parent[x]!;
    const i = this.indexIn(p, x);
    const pb = p * cap;
    const left = i > 0 ? this.kids[pb + i - 1]! : NONE;
    const right = i + 1 < this.cnt[p]! ? this.kids[pb + i + 1]! : NONE;
    if (left !== NONE && this.cnt[left]! > this.min) {
      this.moveLastToFront(left, x);
      this.recompute(left);
      this.recompute(x);
      this.recompute(p);
      this.fixUp(p);
      return;
    }
    if (right !== NONE && this.cnt[right]! > this.min) {
      this.moveFirstToEnd(right, x);
      this.recompute(x);
      this.recompute(right);
      this.recompute(p);
      this.fixUp(p);
      return;
    }
    // Merge b into a (a directly left of b), drop b from the parent.
    const a = left !== NONE ? left : x;
    const b = left !== NONE ? x : right;
    this.append(a, b);
    const bi = left !== NONE ? i : i + 1;
    const pn = this.cnt[p]!;
    this.kids.copyWithin(pb + bi, pb + bi + 1, pb + pn);
    this.cnt[p] = pn - 1;
    if (this.leafFlag[a] === 1) {
      const after = this.nextLeaf[b]!;
      this.nextLeaf[a] = after;
      if (after !== NONE) this.prevLeaf[after] = a;
      else this.tail = a;
    }
    this.release(b);
    this.recompute(a);
    if (p === this.root) {
      if (pn - 1 === 1) {
        this.root = a;
        this.parent[a] = NONE;
        this.release(p);
        this.levels--;
      } else this.recompute(p);
      return;
    }
    this.recompute(p);
    if (pn - 1 < this.min) this.rebalance(p);
    else this.fixUp(p);
  }

  private moveLastToFront(from: number, to: number): void {
    const last = from * this.cap + this.cnt[from]! - 1;
    if (this.leafFlag[to] === 1) {
      const e = this.items[last]!;
      this.removeSlot(from, this.cnt[from]! - 1);
      this.putAt(to, 0, e);
    } else {
      this.cnt[from]!--;
      this.putKid(to, 0, this.kids[last]!);
    }
  }

  private moveFirstToEnd(from: number, to: number): void {
    const b = from * this.cap;
    if (this.leafFlag[to] === 1) {
      this.putAt(to, this.cnt[to]!, this.items[b]!);
      this.removeSlot(from, 0);
    } else {
      const n = this.cnt[from]!;
      this.putKid(to, this.cnt[to]!, this.kids[b]!);
      this.kids.copyWithin(b, b + 1, b + n);
      this.cnt[from] = n - 1;
    }
  }

  /** Appends all of b's entries to a (same level, a directly left of b). */
  private append(a: number, b: number): void {
    const bb = b * this.cap;
    const n = this.cnt[b]!;
    if (this.leafFlag[a] === 1) {
      for (let j = 0; j < n; j++) {
        this.putAt(a, this.cnt[a]!, this.items[bb + j]!);
        this.items[bb + j] = undefined;
      }
    } else {
      for (let j = 0; j < n; j++) this.putKid(a, this.cnt[a]!, this.kids[bb + j]!);
    }
    this.cnt[b] = 0;
  }

  // -------------------------------------------------------------------------
  // Internals: gap search (`level` 1 = leaf)

  /** Number of keys ≤ x (`strict`: < x) in node slots [b, b + cap); the +Infinity pads never count. */
  private countKeys(b: number, x: number, strict: boolean): number {
    const keys = this.keys;
    let base = b;
    let len = this.cap;
    if (strict) {
      while (len > 1) {
        const half = len >>> 1;
        base += half * +(keys[base + half]! < x);
        len -= half;
      }
      return base - b + +(keys[base]! < x);
    }
    while (len > 1) {
      const half = len >>> 1;
      base += half * +(keys[base + half]! <= x);
      len -= half;
    }
    return base - b + +(keys[base]! <= x);
  }

  private gapUp(node: number, level: number, lo: number, hi: number, size: number, align: number): number {
    const keys = this.keys;
    const gaps = this.slotGap;
    const b = node * this.cap;
    const n = this.cnt[node]!;
    const below = this.countKeys(b, lo, false); // slots whose start is ≤ lo
    if (level === 1) {
      // Slot i's gap ends at its start: only slots starting above lo can reach into [lo, hi).
      for (let i = b + below; i < b + n; i++) {
        const s = keys[i]!;
        const g = gaps[i]!;
        const prevEnd = s - g;
        if (prevEnd >= hi) return STOP; // this and every later gap start at or above hi
        if (g >= size) {
          const r = fitUp(prevEnd, s, lo, hi, size, align);
          if (r >= 0) return r;
        }
      }
      return CONTINUE;
    }
    // Kid i holds starts in [keys[i], keys[i + 1]): kids before the one holding lo end below it.
    for (let i = below > 0 ? below - 1 : 0; i < n; i++) {
      if (i > 0 && keys[b + i - 1]! >= hi) return STOP; // every gap of kid i starts above hi
      if (gaps[b + i]! < size) continue;
      const r = this.gapUp(this.kids[b + i]!, level - 1, lo, hi, size, align);
      if (r !== CONTINUE) return r;
    }
    return CONTINUE;
  }

  private gapDown(node: number, level: number, lo: number, hi: number, size: number, align: number): number {
    const keys = this.keys;
    const gaps = this.slotGap;
    const b = node * this.cap;
    const n = this.cnt[node]!;
    // Slot i's gap starts after the end of slot i − 1, so slot i can reach below hi only if
    // keys[i − 1] < hi: start from the last such slot.
    const start = Math.min(this.countKeys(b, hi, true), n - 1);
    if (level === 1) {
      for (let i = b + start; i >= b; i--) {
        const s = keys[i]!;
        if (s <= lo) return STOP; // this and every earlier gap end at or below lo
        const g = gaps[i]!;
        const prevEnd = s - g;
        if (prevEnd >= hi) continue;
        if (g >= size) {
          const r = fitDown(prevEnd, s, lo, hi, size, align);
          if (r >= 0) return r;
        }
      }
      return CONTINUE;
    }
    for (let i = start; i >= 0; i--) {
      if (i + 1 < n && keys[b + i + 1]! <= lo) return STOP; // every gap of kid i and before ends below lo
      if (gaps[b + i]! < size) continue;
      const r = this.gapDown(this.kids[b + i]!, level - 1, lo, hi, size, align);
      if (r !== CONTINUE) return r;
    }
    return CONTINUE;
  }
}
