/**
 * The storage of a `VmaTree`: the node arena of its B+-tree (flat typed arrays shared by
 * all nodes, grown by doubling, recycled through a free list; see the diagram in `vma-tree.ts`),
 * positioning (`locate`, `seekAtOrAfter`, `collect`) and the upkeep of the augmented data
 * (per-VMA gaps, subtree gap maxima, inner keys). The entry-level edits that keep the tree
 * balanced are in `vma-tree-rebalance.ts`, the gap search in `vma-tree-gaps.ts`, the checks in
 * `vma-tree-check.ts`.
 *
 * Internal to the VmaTree modules: the fields are public so those modules can read them, but
 * only the tree's own code changes them. Page numbers are plain numbers (no BigInt).
 */
import type { Vma } from './vma-tree.js';

/** One past the largest page number (2^52 pages of 4 KiB = the 64-bit address space). */
export const VMA_VPN_LIMIT = 2 ** 52;

/** The tree's own VMA object (mutable inside this module only). */
export class Entry<V> implements Vma<V> {
  constructor(
    public startVpn: number,
    public endVpn: number,
    public value: V,
  ) {}
}

/** "No node" in the link arrays. */
export const NONE = -1;

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

/** The node arena, positioning and augmented data of a `VmaTree` (see the module documentation). */
export class VmaNodes<V> {
  /** Slots per node (the B+-tree's order). */
  readonly cap: number;
  /** Fewest entries of a node other than the root. */
  readonly min: number;

  // The node arena. Node `id` owns slots [id·cap, (id + 1)·cap) of the slot arrays.
  /** Leaf: VMA starts. Inner: first start of each child. */
  keys = new Float64Array(0);
  /** Leaf: VMA ends (unboxed copies of `endVpn`, so lookups and gap upkeep touch no object). */
  ends = new Float64Array(0);
  /** Leaf: free pages below each VMA. Inner: each child's maxGap. */
  slotGap = new Float64Array(0);
  /** Inner: child node ids. */
  kids = new Int32Array(0);
  /** Leaf: the VMA objects. */
  items: (Entry<V> | undefined)[] = objectSlots();
  // Per-node arrays, indexed by node id.
  cnt = new Int32Array(0);
  maxGap = new Float64Array(0);
  parent = new Int32Array(0);
  prevLeaf = new Int32Array(0);
  nextLeaf = new Int32Array(0);
  leafFlag = new Uint8Array(0);
  slots = 0;
  used = 0;
  freeIds: number[] = [];

  root = NONE;
  head = NONE;
  tail = NONE;
  levels = 1;
  count = 0;
  pages = 0;
  /** Result of locate(): a leaf id and an index in it (may be -1). */
  cLeaf = 0;
  cIdx = -1;

  /** An empty tree of `cap` slots per node (checked by the VmaTree constructor). */
  constructor(cap: number) {
    this.cap = cap;
    // Split halves hold ≥ cap/2 ≥ min; a merge holds ≤ 2·min − 1 ≤ cap. The distance between min
    // and cap/2 keeps an insert/remove pair at a node boundary from splitting and merging every time.
    this.min = Math.max(2, Math.floor((cap * 3) / 8));
    this.reset();
  }

  /** Removes every VMA and releases the node memory: one empty leaf as the root. O(1). */
  reset(): void {
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

  // -------------------------------------------------------------------------
  // Internals: node arena

  alloc(leaf: boolean): number {
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

  release(id: number): void {
    const b = id * this.cap;
    for (let i = 0; i < this.cap; i++) this.items[b + i] = undefined;
    this.cnt[id] = 0;
    this.freeIds.push(id);
  }

  /** Doubles the arena (amortized O(1) per node). */
  grow(): void {
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
  locate(vpn: number): void {
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
  seekAtOrAfter(vpn: number): boolean {
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
  collect(lo: number, hi: number): Entry<V>[] {
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

  // -------------------------------------------------------------------------
  // Internals: augmented data

  /** Recomputes a node's own cached data from scratch (keys/gaps of inner nodes, gaps of leaves, maxGap). */
  recompute(node: number): void {
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
  endBefore(leaf: number): number {
    const p = this.prevLeaf[leaf]!;
    const pn = p === NONE ? 0 : this.cnt[p]!;
    return pn > 0 ? this.ends[p * this.cap + pn - 1]! : 0;
  }

  /**
   * Recomputes the gap of slot `i` of `leaf` and keeps the leaf's maxGap exact, assuming it was
   * the maximum over the slots before this one changed (ancestors are left to {@link fixUp}).
   */
  gapAt(leaf: number, i: number): void {
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
  rescan(node: number): void {
    let max = 0;
    const gaps = this.slotGap;
    for (let j = node * this.cap, e = j + this.cnt[node]!; j < e; j++) if (gaps[j]! > max) max = gaps[j]!;
    this.maxGap[node] = max;
  }

  /**
   * Pushes a node's first key and maxGap up to its ancestors, stopping where nothing changes.
   * Requires every other cached entry of the ancestors to be current.
   */
  fixUp(node: number): void {
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
  successorChanged(leaf: number, idx: number): void {
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

  indexIn(parent: number, child: number): number {
    const b = parent * this.cap;
    const n = this.cnt[parent]!;
    for (let i = 0; i < n; i++) if (this.kids[b + i] === child) return i;
    throw new Error('VmaTree: child not found in its parent (corrupt tree)');
  }
}
