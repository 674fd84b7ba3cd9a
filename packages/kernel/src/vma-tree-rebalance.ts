/**
 * The entry-level edits of a `VmaTree`'s B+-tree that keep it balanced: moving an entry's
 * bounds, inserting an entry (handing one to a sibling with room before splitting a full leaf,
 * B*-tree style, and splitting up to the root), deleting one (borrowing from or merging with a
 * sibling below `min` entries, shrinking the root), each keeping the augmented gap data exact.
 * Builds on the arena of `vma-tree-nodes.ts`.
 */
import { type Entry, NONE, VmaNodes } from './vma-tree-nodes.js';

/** The arena of `vma-tree-nodes.ts` with the balancing edits (see the module documentation). */
export class BalancedVmaNodes<V> extends VmaNodes<V> {
  /** Moves an entry's bounds in place (the order of VMAs must not change). */
  setBounds(e: Entry<V>, startVpn: number, endVpn: number): void {
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
  insertEntry(e: Entry<V>): void {
    this.locate(e.startVpn);
    this.insertAt(this.cLeaf, this.cIdx + 1, e);
  }

  /** Inserts `e` as slot `idx` of `leaf` (which must be its place in address order). */
  insertAt(leaf: number, idx: number, e: Entry<V>): void {
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
  redistribute(leaf: number, idx: number, e: Entry<V>): boolean {
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
  removeSlot(leaf: number, idx: number): void {
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
  putAt(leaf: number, idx: number, e: Entry<V>): void {
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
  addChild(left: number, right: number): void {
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

  putKid(node: number, idx: number, kid: number): void {
    const b = node * this.cap;
    const n = this.cnt[node]!;
    this.kids.copyWithin(b + idx + 1, b + idx, b + n);
    this.kids[b + idx] = kid;
    this.parent[kid] = node;
    this.cnt[node] = n + 1;
  }

  /** Deletes an entry that is in the tree. */
  deleteEntry(e: Entry<V>): void {
    this.locate(e.startVpn);
    if (this.cIdx < 0 || this.items[this.cLeaf * this.cap + this.cIdx] !== e) {
      throw new Error('VmaTree: entry not found (corrupt tree)');
    }
    this.deleteAt(this.cLeaf, this.cIdx);
  }

  /** Deletes slot `idx` of `leaf`. */
  deleteAt(leaf: number, idx: number): void {
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
  rebalance(x: number): void {
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

  moveLastToFront(from: number, to: number): void {
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

  moveFirstToEnd(from: number, to: number): void {
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
  append(a: number, b: number): void {
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
}
