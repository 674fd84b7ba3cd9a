/**
 * A fixed pool of list nodes in typed arrays, with any number of intrusive doubly linked lists
 * over it: what every list-based policy (FIFO, CLOCK, LRU, SIEVE, ARC, 2Q, two-list, WSClock)
 * is built from. Nodes are small integers; a node is on at most one list at a time. No operation
 * allocates.
 *
 * ```
 *  oldest[l] ─▶ n1 ⇄ n2 ⇄ … ⇄ nk ◀─ newest[l]        newer[n1] = n2, older[n2] = n1
 * ```
 */
export class NodePool {
  /** The key held by each node. */
  readonly key: Float64Array;
  /** Next node towards the newest end (-1 at the newest). */
  readonly newer: Int32Array;
  /** Next node towards the oldest end (-1 at the oldest). */
  readonly older: Int32Array;
  /** The list a node is on (-1 when free). */
  readonly list: Int8Array;
  /** Per list: its newest node, or -1. */
  readonly newest: Int32Array;
  /** Per list: its oldest node, or -1. */
  readonly oldest: Int32Array;
  /** Per list: how many nodes it holds. */
  readonly length: Int32Array;
  private freeHead = -1;

  constructor(
    readonly nodeCount: number,
    listCount: number,
  ) {
    this.key = new Float64Array(nodeCount);
    this.newer = new Int32Array(nodeCount);
    this.older = new Int32Array(nodeCount);
    this.list = new Int8Array(nodeCount);
    this.newest = new Int32Array(listCount);
    this.oldest = new Int32Array(listCount);
    this.length = new Int32Array(listCount);
    this.clear();
  }

  /** Frees every node and empties every list. */
  clear(): void {
    const n = this.nodeCount;
    for (let i = 0; i < n; i++) this.newer[i] = i + 1 < n ? i + 1 : -1;
    this.freeHead = n > 0 ? 0 : -1;
    this.list.fill(-1);
    this.newest.fill(-1);
    this.oldest.fill(-1);
    this.length.fill(0);
  }

  /** Takes a free node for `key` (on no list yet); -1 if the pool is exhausted. */
  alloc(key: number): number {
    const n = this.freeHead;
    if (n < 0) return -1;
    this.freeHead = this.newer[n]!;
    this.key[n] = key;
    this.newer[n] = -1;
    this.older[n] = -1;
    return n;
  }

  /** Returns a node that is on no list to the pool. */
  free(n: number): void {
    this.list[n] = -1;
    this.newer[n] = this.freeHead;
    this.freeHead = n;
  }

  /** Appends node `n` (on no list) at the newest end of list `l`. */
  pushNewest(l: number, n: number): void {
    const tail = this.newest[l]!;
    this.older[n] = tail;
    this.newer[n] = -1;
    if (tail >= 0) this.newer[tail] = n;
    else this.oldest[l] = n;
    this.newest[l] = n;
    this.list[n] = l;
    this.length[l]!++;
  }

  /** Inserts node `n` (on no list) just before `at` (on the older side of `at`) in `at`'s list. */
  insertOlderThan(at: number, n: number): void {
    const l = this.list[at]!;
    const before = this.older[at]!;
    this.older[n] = before;
    this.newer[n] = at;
    this.older[at] = n;
    if (before >= 0) this.newer[before] = n;
    else this.oldest[l] = n;
    this.list[n] = l;
    this.length[l]!++;
  }

  /** Takes node `n` off its list (it stays allocated). */
  unlink(n: number): void {
    const l = this.list[n]!;
    const a = this.older[n]!;
    const b = this.newer[n]!;
    if (a >= 0) this.newer[a] = b;
    else this.oldest[l] = b;
    if (b >= 0) this.older[b] = a;
    else this.newest[l] = a;
    this.older[n] = -1;
    this.newer[n] = -1;
    this.list[n] = -1;
    this.length[l]!--;
  }

  /** Moves node `n` to the newest end of list `l` (from whatever list it is on). */
  moveToNewest(l: number, n: number): void {
    if (this.list[n] === l && this.newest[l] === n) return;
    this.unlink(n);
    this.pushNewest(l, n);
  }

  /** The keys of list `l`, oldest first (for `state()`; allocates). */
  keysOf(l: number): number[] {
    const out: number[] = [];
    for (let n = this.oldest[l]!; n >= 0; n = this.newer[n]!) out.push(this.key[n]!);
    return out;
  }
}
