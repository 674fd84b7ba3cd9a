/**
 * A binary min-heap of node ids ordered by two numbers per node (`primary`, then `secondary`),
 * with each node's position kept so a node's priority can change in O(log n). Typed arrays
 * only; no allocation after construction.
 */
export class IndexedHeap {
  /** Primary priority per node (smaller comes out first). */
  readonly primary: Float64Array;
  /** Tie-breaking priority per node (smaller comes out first). */
  readonly secondary: Float64Array;
  private readonly heap: Int32Array;
  private readonly pos: Int32Array;
  private count = 0;

  constructor(nodeCount: number) {
    this.primary = new Float64Array(nodeCount);
    this.secondary = new Float64Array(nodeCount);
    this.heap = new Int32Array(nodeCount);
    this.pos = new Int32Array(nodeCount).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  /** The node with the smallest priority, or -1. */
  peek(): number {
    return this.count > 0 ? this.heap[0]! : -1;
  }

  /** The heap's nodes in array order (for `state()`). */
  nodes(): number[] {
    return Array.from(this.heap.subarray(0, this.count));
  }

  /** Adds node `n` with the priorities already written to `primary[n]`/`secondary[n]`. */
  push(n: number): void {
    const i = this.count++;
    this.heap[i] = n;
    this.pos[n] = i;
    this.up(i);
  }

  /** Re-establishes order after `primary[n]`/`secondary[n]` changed. */
  update(n: number): void {
    const i = this.pos[n]!;
    this.up(i);
    this.down(this.pos[n]!);
  }

  /** Removes node `n` from the heap. */
  remove(n: number): void {
    const i = this.pos[n]!;
    const last = --this.count;
    this.pos[n] = -1;
    if (i === last) return;
    const m = this.heap[last]!;
    this.heap[i] = m;
    this.pos[m] = i;
    this.up(i);
    this.down(this.pos[m]!);
  }

  /** Empties the heap. */
  clear(): void {
    this.count = 0;
    this.pos.fill(-1);
  }

  private less(a: number, b: number): boolean {
    const pa = this.primary[a]!;
    const pb = this.primary[b]!;
    return pa < pb || (pa === pb && this.secondary[a]! < this.secondary[b]!);
  }

  private up(i: number): void {
    const heap = this.heap;
    const n = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!this.less(n, p)) break;
      heap[i] = p;
      this.pos[p] = i;
      i = parent;
    }
    heap[i] = n;
    this.pos[n] = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const count = this.count;
    const n = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= count) break;
      const right = child + 1;
      if (right < count && this.less(heap[right]!, heap[child]!)) child = right;
      const c = heap[child]!;
      if (!this.less(c, n)) break;
      heap[i] = c;
      this.pos[c] = i;
      i = child;
    }
    heap[i] = n;
    this.pos[n] = i;
  }
}
