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
import { checkFunction, checkObject, invalidArgument } from './syscalls.js';
import { checkBounds, checkRange, checkTree, fmt, VmaOverlapError } from './vma-tree-check.js';
import { findGapIn, gapsIn } from './vma-tree-gaps.js';
import { Entry, NONE, VMA_VPN_LIMIT } from './vma-tree-nodes.js';
import { BalancedVmaNodes } from './vma-tree-rebalance.js';

export { VMA_VPN_LIMIT, VmaOverlapError };

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
  private readonly splitValue: (value: V, atVpn: number, startVpn: number) => V;
  private readonly canMergeFn: ((left: Vma<V>, right: Vma<V>) => boolean) | undefined;
  private readonly mergeValue: (left: Vma<V>, right: Vma<V>) => V;
  private readonly mergeOnInsert: boolean;
  /** Page numbers where {@link insertUnmerged} may have left mergeable neighbours apart. */
  private readonly apart = new Set<number>();

  /** The B+-tree's nodes (arena, positioning, gaps, balancing edits). */
  private readonly n: BalancedVmaNodes<V>;
  /** Bumped before and after every mutation: {@link find}'s memo of the last VMA is valid while it holds. */
  private version = 0;
  private lastFound: Vma<V> | undefined;
  private lastVersion = -1;

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
    this.n = new BalancedVmaNodes(cap);
    this.splitValue = options.split ?? ((value) => value);
    this.canMergeFn = options.canMerge;
    this.mergeValue = options.merge ?? ((left) => left.value);
    this.mergeOnInsert = options.mergeOnInsert ?? true;
  }

  /** Number of VMAs. */
  get size(): number {
    return this.n.count;
  }

  /** Total pages covered by VMAs (the address space's virtual size in pages). */
  get mappedPages(): number {
    return this.n.pages;
  }

  /** Levels of the B+-tree (1 = the root is a leaf). For tests and introspection. */
  get height(): number {
    return this.n.levels;
  }

  // -------------------------------------------------------------------------
  // Lookups

  /**
   * The VMA containing page `vpn`, or undefined. O(log n), no allocation: the fault path's lookup.
   * `vpn` is not validated (any number works; integers are meant).
   */
  find(vpn: number): Vma<V> | undefined {
    // The last VMA found, while the tree is unchanged: a process faulting in a range asks for the
    // same VMA again and again (a VMA's range never changes while it is in the tree).
    if (typeof vpn !== 'number') throw invalidArgument('VmaTree.find page', vpn, 'a page number');
    const last = this.lastFound;
    if (last !== undefined && this.lastVersion === this.version && vpn >= last.startVpn && vpn < last.endVpn)
      return last;
    const keys = this.n.keys;
    const kids = this.n.kids;
    const cap = this.n.cap;
    const x = Math.min(vpn, VMA_VPN_LIMIT); // never select a +Infinity pad (NaN selects nothing)
    let node = this.n.root;
    for (let h = this.n.levels; ; h--) {
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
        if (!(keys[base]! <= x && x < this.n.ends[base]!)) return undefined;
        const found = this.n.items[base];
        this.lastFound = found;
        this.lastVersion = this.version;
        return found;
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
    return this.n.seekAtOrAfter(vpn) ? this.n.items[this.n.cLeaf * this.n.cap + this.n.cIdx] : undefined;
  }

  /**
   * The last VMA that has a page below `vpn`: the one containing `vpn − 1`, or else the last
   * one ending at or below `vpn`; undefined if there is none (the mirror of
   * {@link findFirstAtOrAfter}). O(log n).
   */
  findLastBefore(vpn: number): Vma<V> | undefined {
    if (typeof vpn !== 'number') throw invalidArgument('VmaTree.findLastBefore page', vpn, 'a page number');
    const keys = this.n.keys;
    const cap = this.n.cap;
    const x = Math.min(vpn, VMA_VPN_LIMIT + 1);
    let node = this.n.root;
    for (let h = this.n.levels; ; h--) {
      let base = node * cap;
      let len = cap;
      while (len > 1) {
        const half = len >>> 1;
        base += half * +(keys[base + half]! < x);
        len -= half;
      }
      if (h === 1) return keys[base]! < x ? this.n.items[base] : undefined;
      node = this.n.kids[base]!;
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
    return this.n.cnt[this.n.head]! > 0 ? this.n.items[this.n.head * this.n.cap] : undefined;
  }

  /** The highest VMA, or undefined when empty. O(1). */
  last(): Vma<V> | undefined {
    const n = this.n.cnt[this.n.tail]!;
    return n > 0 ? this.n.items[this.n.tail * this.n.cap + n - 1] : undefined;
  }

  /** True if `vma` is this very object in this tree (not a copy, not removed or replaced). O(log n). */
  has(vma: Vma<V>): boolean {
    if (vma === null || typeof vma !== 'object' || typeof vma.startVpn !== 'number') return false;
    this.n.locate(vma.startVpn);
    return this.n.cIdx >= 0 && this.n.items[this.n.cLeaf * this.n.cap + this.n.cIdx] === vma;
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
    if (!this.n.seekAtOrAfter(loVpn)) return;
    const cap = this.n.cap;
    let leaf = this.n.cLeaf;
    let i = this.n.cIdx;
    while (leaf !== NONE) {
      const b = leaf * cap;
      for (const n = this.n.cnt[leaf]!; i < n; i++) {
        if (this.n.keys[b + i]! >= hiVpn) return;
        visit(this.n.items[b + i]!);
      }
      leaf = this.n.nextLeaf[leaf]!;
      i = 0;
    }
  }

  /** The VMAs overlapping `[loVpn, hiVpn)` in address order (default: all). O(log n) to start, O(1) per VMA. */
  *range(loVpn = 0, hiVpn = VMA_VPN_LIMIT): IterableIterator<Vma<V>> {
    checkBounds('VmaTree.range', loVpn, hiVpn);
    if (!this.n.seekAtOrAfter(loVpn)) return;
    const cap = this.n.cap;
    let leaf = this.n.cLeaf;
    let i = this.n.cIdx;
    while (leaf !== NONE) {
      const b = leaf * cap;
      for (; i < this.n.cnt[leaf]!; i++) {
        if (this.n.keys[b + i]! >= hiVpn) return;
        yield this.n.items[b + i]!;
      }
      leaf = this.n.nextLeaf[leaf]!;
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
    return gapsIn(this.n, loVpn, hiVpn);
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
    return findGapIn(this.n, pageCount, loVpn, hiVpn, align, options?.topDown === true);
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
    return this.place('VmaTree.insert', startVpn, endVpn, value, this.mergeOnInsert);
  }

  /**
   * {@link insert} without merging: a copy of another tree's VMAs one to one (Linux `dup_mmap`
   * merges nothing in the child). {@link check} accepts mergeable neighbours at its bounds; an
   * `update` across them merges them. @throws as {@link insert}.
   */
  insertUnmerged(startVpn: number, endVpn: number, value: V): Vma<V> {
    const vma = this.place('VmaTree.insertUnmerged', startVpn, endVpn, value, false);
    this.apart.add(startVpn).add(endVpn);
    return vma;
  }

  /** {@link insert} (merging when `merge`); `what` names the caller in errors. */
  private place(what: string, startVpn: number, endVpn: number, value: V, merge: boolean): Vma<V> {
    this.version++; // find()'s memo ends (see version)
    try {
      checkRange(what, startVpn, endVpn, false);
      // One descent: the cursor lands on the first VMA ending above startVpn, which is the place
      // of the new VMA; its predecessor there is the left neighbour.
      const cap = this.n.cap;
      let leaf = this.n.tail;
      let idx = this.n.cnt[leaf]!;
      let over: Entry<V> | undefined;
      if (this.n.seekAtOrAfter(startVpn)) {
        leaf = this.n.cLeaf;
        idx = this.n.cIdx;
        over = this.n.items[leaf * cap + idx]!;
        if (over.startVpn < endVpn) throw new VmaOverlapError(startVpn, endVpn, over.startVpn, over.endVpn);
      }
      const entry = new Entry(startVpn, endVpn, value);
      const canMerge = this.canMergeFn;
      if (canMerge === undefined || !merge) {
        this.n.insertAt(leaf, idx, entry);
        return entry;
      }
      // Decide every merge (callbacks may throw) before changing anything.
      const pl = this.n.prevLeaf[leaf]!;
      const before =
        idx > 0
          ? this.n.items[leaf * cap + idx - 1]
          : pl !== NONE && this.n.cnt[pl]! > 0
            ? this.n.items[pl * cap + this.n.cnt[pl]! - 1]
            : undefined;
      const left =
        before !== undefined && before.endVpn === startVpn && canMerge(before, entry) ? before : undefined;
      let joined: Entry<V> = entry;
      if (left !== undefined) joined = new Entry(left.startVpn, endVpn, this.mergeValue(left, entry));
      const right =
        over !== undefined && over.startVpn === endVpn && canMerge(joined, over) ? over : undefined;
      if (right === undefined) {
        if (left === undefined) {
          this.n.insertAt(leaf, idx, entry);
          return entry;
        }
        this.n.setBounds(left, left.startVpn, endVpn);
        left.value = joined.value;
        return left;
      }
      const merged = this.mergeValue(joined, right);
      if (left === undefined) {
        this.n.setBounds(right, startVpn, right.endVpn);
        right.value = merged;
        return right;
      }
      const end = right.endVpn;
      this.n.deleteEntry(right);
      this.n.setBounds(left, left.startVpn, end);
      left.value = merged;
      return left;
    } finally {
      this.version++;
    }
  }

  /**
   * Gives `vma` (an object this tree returned) the payload `value` in place: no split, no merge
   * (Linux `anon_vma_prepare` sets a field of the VMA). @throws InvalidArgumentError if `vma` is
   * not currently in this tree.
   */
  setValue(vma: Vma<V>, value: V): void {
    if (!this.has(vma))
      throw invalidArgument('VmaTree.setValue vma', vma, 'a VMA object currently in this tree');
    (vma as Entry<V>).value = value;
  }

  /**
   * Removes `vma` (an object this tree returned). Neighbours are not merged (a hole stays).
   * @throws InvalidArgumentError if `vma` is not currently in this tree.
   */
  remove(vma: Vma<V>): void {
    this.version++; // find()'s memo ends (see version)
    try {
      if (!this.has(vma)) {
        throw invalidArgument(
          'VmaTree.remove vma',
          typeof vma?.startVpn === 'number' && typeof vma.endVpn === 'number'
            ? fmt(vma.startVpn, vma.endVpn)
            : vma,
          'a VMA object currently in this tree',
        );
      }
      this.n.deleteEntry(vma as Entry<V>);
    } finally {
      this.version++;
    }
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
    this.version++; // find()'s memo ends (see version)
    try {
      checkRange('VmaTree.removeRange', loVpn, hiVpn, true);
      const hit = this.n.collect(loVpn, hiVpn);
      const removed: Vma<V>[] = [];
      if (hit.length === 0) return removed;
      const first = hit[0]!;
      if (hit.length === 1 && first.startVpn >= loVpn && first.endVpn <= hiVpn) {
        // One VMA removed whole (munmap of exactly one mapping): the cursor from collect() is on it.
        this.n.deleteAt(this.n.cLeaf, this.n.cIdx);
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
        this.n.setBounds(first, first.startVpn, loVpn);
        this.n.insertEntry(upper);
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
          this.n.setBounds(e, e.startVpn, loVpn);
          removed.push(backCut);
        } else if (e === last && frontKeep !== undefined) {
          removed.push(new Entry(e.startVpn, hiVpn, e.value));
          this.n.setBounds(e, hiVpn, e.endVpn);
          e.value = frontKeep;
        } else {
          this.n.deleteEntry(e);
          removed.push(e);
        }
      }
      return removed;
    } finally {
      this.version++;
    }
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
    this.version++; // find()'s memo ends (see version)
    try {
      checkRange('VmaTree.update', loVpn, hiVpn, true);
      checkFunction('VmaTree.update change', change);
      const hit = this.n.collect(loVpn, hiVpn);
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
          this.n.setBounds(e, e.startVpn, p.to);
          this.n.insertEntry(new Entry(p.to, end, p.upper as V));
        }
        if (p.from > e.startVpn) {
          this.n.setBounds(e, e.startVpn, p.from);
          this.n.insertEntry(new Entry(p.from, p.to, p.value));
        } else e.value = p.value;
      }
      if (plans.length > 0) this.mergeAcross(loVpn, hiVpn);
      return pages;
    } finally {
      this.version++;
    }
  }
  /** Removes every VMA and releases the node memory. O(1). */
  clear(): void {
    this.version++; // find()'s memo ends (see version)
    try {
      this.n.reset();
      this.apart.clear();
    } finally {
      this.version++;
    }
  }

  /**
   * Checks every structural invariant and returns the problems found (empty when sound): order
   * and non-overlap, keys, per-VMA gaps and subtree gap maxima, node fill and equal leaf depth,
   * parent and leaf-chain links, the counters, and (when merging on insert) that no two touching
   * neighbours are mergeable, except where {@link insertUnmerged} put them. O(n); for tests and
   * `audit()`.
   */
  check(): string[] {
    return checkTree(this.n, this.canMergeFn, this.mergeOnInsert, this.apart);
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
        this.n.deleteEntry(w);
        this.n.setBounds(v, v.startVpn, end);
        v.value = value;
      } else v = w;
    }
  }
}
