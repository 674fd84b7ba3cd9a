/**
 * The reverse map: for every user frame, which address spaces map it and at which page. Reclaim
 * and swap (a later step) use it to find every PTE that maps a frame; `audit()` proves it equals
 * the page tables exactly.
 *
 * Ownership: the kernel owns one; address spaces add an entry when a leaf starts mapping a USER
 * frame and remove it when the leaf goes (unmap, exit, exec, a copy-on-write break) or moves it
 * (mremap). Frames outside the pool (devices), the shared zero page and frames in other states
 * have no entries. A huge leaf has one entry per 4 KiB frame it covers (frame `pa + i·page` ↔
 * page `vpn + i`), so splitting a huge leaf changes nothing here and every 4 KiB frame can be
 * looked up directly.
 *
 * Layout (Linux 2.5's `pte_chain` idea, in typed arrays): a head per frame-table index and a
 * pool of nodes (owner, vpn, next) with a stack of free nodes. Adding or removing an entry
 * allocates nothing once the pool has grown to the peak number of mappings (it doubles when
 * full); the chain of a frame is as long as the number of spaces mapping it, so removal is a
 * short scan. The free nodes are a stack in an array, not a list threaded through `next`: taking
 * one is then a load whose address is known in advance, not a chain of dependent loads (fork adds
 * one entry per page, 262 144 for 1 GiB, and the chain's latency was a third of its cost).
 *
 * ```
 *   head[frameIndex] ──▶ node ──▶ node ──▶ 0         node = { owner (space), vpn, next }; node 0 unused
 * ```
 */
import { hex, InvalidArgumentError } from '@mmkit/core';
import { checkFunction } from './syscalls.js';

// Node 0 is never used, so 0 ends a chain and an untouched head means "no entry": the head
// array needs no fill (a 1 TiB board's 2^28 heads would otherwise write 1 GiB at boot).
const NONE = 0;

/**
 * One mapping of a frame: the space and the page number.
 * @typeParam S - what identifies an address space (the kernel uses its `AddressSpace`).
 */
export interface ReverseMapping<S> {
  readonly space: S;
  readonly vpn: number;
}

/** See the module documentation. */
export class ReverseMap<S> {
  private readonly head: Int32Array;
  /**
   * The space of each node, as a small number (see {@link idOf}), not an object reference: a
   * store of a reference costs V8's write barrier, and a space made by fork is young, so every
   * one of the child's entries (262 144 for 1 GiB) also went into the remembered set — half of
   * fork's time.
   */
  private owner: Int32Array;
  /** spaces[id]: the space of owner id `id` while it has entries (id 0 unused). */
  private readonly spaces: (S | undefined)[] = [undefined];
  /** Entries per owner id; an id whose count drops to 0 is forgotten and reused. */
  private idEntries: number[] = [0];
  private readonly ids = new Map<S, number>();
  private readonly freeIds: number[] = [];
  // One-entry memo of idOf: a fault, a fork or an exit asks about the same space again and again.
  private memoSpace: S | undefined;
  private memoId = 0;
  private vpns: Float64Array;
  private next: Int32Array;
  /** Free nodes: freeStack[0 … freeTop). */
  private freeStack: Int32Array;
  private freeTop = 0;
  private used = 1;
  private entries = 0;

  /**
   * @param frames - size of the frame table (`PageAllocator.frameIndexCount`).
   * @param indexOf - frame-table index of a physical address, -1 outside the pool
   *   (`PageAllocator.frameIndex`).
   */
  constructor(
    frames: number,
    private readonly indexOf: (pa: number) => number,
    initialNodes = 1024,
  ) {
    this.head = new Int32Array(frames);
    this.vpns = new Float64Array(initialNodes);
    this.next = new Int32Array(initialNodes);
    this.freeStack = new Int32Array(initialNodes);
    this.owner = new Int32Array(initialNodes);
  }

  /** The owner id of `space`, assigned on its first entry. */
  private idOf(space: S): number {
    if (space === this.memoSpace) return this.memoId;
    let id = this.ids.get(space);
    if (id === undefined) {
      id = this.freeIds.pop() ?? this.spaces.length;
      if (id === this.spaces.length) {
        this.spaces.push(space);
        this.idEntries.push(0);
      } else {
        this.spaces[id] = space;
        this.idEntries[id] = 0;
      }
      this.ids.set(space, id);
    }
    this.memoSpace = space;
    this.memoId = id;
    return id;
  }

  /** The owner id of `space` if it has entries, else 0 (matches no node). */
  private knownId(space: S): number {
    if (space === this.memoSpace) return this.memoId;
    return this.ids.get(space) ?? 0;
  }

  /** Counts `n` fewer entries for owner id `id`; forgets the space when none is left. */
  private dropEntries(id: number, n: number): void {
    const left = this.idEntries[id]! - n;
    this.idEntries[id] = left;
    if (left > 0) return;
    const space = this.spaces[id] as S;
    this.ids.delete(space);
    this.spaces[id] = undefined;
    this.freeIds.push(id);
    if (this.memoSpace === space) {
      this.memoSpace = undefined;
      this.memoId = 0;
    }
  }

  /** Number of entries (mappings) in the map. */
  get size(): number {
    return this.entries;
  }

  /**
   * Number of entries of `space` (0 for a space with none): one per 4 KiB page its leaves map to
   * a USER frame, i.e. its RSS as Linux's `get_mm_rss` counts it (see `Process.rssPages`). O(1):
   * the per-space count the map keeps anyway (the memo or one Map lookup, no walk).
   */
  entriesOf(space: S): number {
    const id = this.knownId(space);
    return id === 0 ? 0 : this.idEntries[id]!;
  }

  /**
   * Records that `space` maps frame `pa` at page `vpn`.
   * @throws InvalidArgumentError for a frame outside the pool or a page number that is not a
   *   non-negative safe integer.
   */
  add(pa: number, space: S, vpn: number): void {
    const f = this.frame(pa, 'add');
    if (typeof vpn !== 'number' || !Number.isSafeInteger(vpn) || vpn < 0)
      throw new InvalidArgumentError('reverse map add vpn', vpn, 'a non-negative page number');
    this.addAt(f, space, vpn);
  }

  /**
   * @internal {@link add} for a caller that already holds the frame-table index `f` of a pool
   * frame and a valid page number (the demand-fault path, which just allocated the frame): no
   * checks, no lookup.
   */
  addAt(f: number, space: S, vpn: number): void {
    let n: number;
    if (this.freeTop > 0) n = this.freeStack[--this.freeTop]!;
    else {
      if (this.used === this.next.length) this.grow();
      n = this.used++;
    }
    const id = this.idOf(space);
    this.idEntries[id]!++;
    this.owner[n] = id;
    this.vpns[n] = vpn;
    this.next[n] = this.head[f]!;
    this.head[f] = n;
    this.entries++;
  }

  /**
   * @internal {@link addAt} for `n` entries of one space at once (fork's copy of one leaf table):
   * entry j maps frame-table index `index[j]` at page `baseVpn + offset[j]`; an index of -1 is
   * skipped. One tight loop, the arrays read once.
   */
  addBatch(index: Int32Array, offset: Int32Array, n: number, space: S, baseVpn: number): void {
    let fresh = 0;
    for (let j = 0; j < n; j++) if (index[j]! >= 0) fresh++;
    if (fresh === 0) return;
    while (this.freeTop + (this.next.length - this.used) < fresh) this.grow();
    const id = this.idOf(space);
    this.idEntries[id]! += fresh;
    const { head, next, owner, vpns, freeStack } = this;
    // Counters in locals, written back once: no store to `this` inside the loop.
    let top = this.freeTop;
    let used = this.used;
    for (let j = 0; j < n; j++) {
      const f = index[j]!;
      if (f < 0) continue;
      const node = top > 0 ? freeStack[--top]! : used++;
      owner[node] = id;
      vpns[node] = baseVpn + offset[j]!;
      next[node] = head[f]!;
      head[f] = node;
    }
    this.freeTop = top;
    this.used = used;
    this.entries += fresh;
  }

  /** Removes the entry (`space`, `vpn`) of frame `pa`; false when there was none. */
  remove(pa: number, space: S, vpn: number): boolean {
    const f = this.find(pa);
    return f >= 0 && this.unlink(f, space, vpn);
  }

  /**
   * @internal {@link remove} for a caller that holds the frame-table index `f` of a pool frame (the
   * COW fault, exit's and munmap's table-at-a-time teardown in zap.ts): no address check, no lookup.
   */
  removeAt(f: number, space: S, vpn: number): boolean {
    return this.unlink(f, space, vpn);
  }

  private unlink(f: number, space: S, vpn: number): boolean {
    const id = this.knownId(space);
    const n = this.detach(f, id, vpn);
    if (n === NONE) return false;
    this.owner[n] = 0;
    this.freeStack[this.freeTop++] = n;
    this.entries--;
    this.dropEntries(id, 1);
    return true;
  }

  /**
   * Takes the node of (owner `id`, `vpn`) out of frame-table index `f`'s chain and returns it (its
   * fields left as they were), or NONE when there is none (always for id 0).
   */
  private detach(f: number, id: number, vpn: number): number {
    if (id === 0) return NONE;
    let prev = NONE;
    for (let n = this.head[f]!; n !== NONE; prev = n, n = this.next[n]!) {
      if (this.owner[n] !== id || this.vpns[n] !== vpn) continue;
      if (prev === NONE) this.head[f] = this.next[n]!;
      else this.next[prev] = this.next[n]!;
      return n;
    }
    return NONE;
  }

  /**
   * @internal A copy-on-write break's move of the entry (`space`, `vpn`) from frame-table index
   * `from` (the shared page) to index `to` (its copy): the node is relinked onto `to`'s chain, so
   * nothing is freed, taken or counted again. Adds the entry to `to` when `from` had none.
   */
  relinkAt(from: number, to: number, space: S, vpn: number): void {
    const n = this.detach(from, this.knownId(space), vpn);
    if (n === NONE) {
      this.addAt(to, space, vpn);
      return;
    }
    this.next[n] = this.head[to]!;
    this.head[to] = n;
  }

  /** Moves the entry of frame `pa` in `space` from page `from` to page `to` (mremap); false when there was none. */
  move(pa: number, space: S, from: number, to: number): boolean {
    const f = this.find(pa);
    const id = this.knownId(space);
    if (f < 0 || id === 0) return false;
    for (let n = this.head[f]!; n !== NONE; n = this.next[n]!) {
      if (this.owner[n] === id && this.vpns[n] === from) {
        this.vpns[n] = to;
        return true;
      }
    }
    return false;
  }

  /** True when (`space`, `vpn`) is an entry of frame `pa`. */
  has(pa: number, space: S, vpn: number): boolean {
    const f = this.find(pa);
    const id = this.knownId(space);
    if (f < 0 || id === 0) return false;
    for (let n = this.head[f]!; n !== NONE; n = this.next[n]!)
      if (this.owner[n] === id && this.vpns[n] === vpn) return true;
    return false;
  }

  /** Number of entries of frame `pa` (0 outside the pool). */
  count(pa: number): number {
    const f = this.find(pa);
    let c = 0;
    if (f >= 0) for (let n = this.head[f]!; n !== NONE; n = this.next[n]!) c++;
    return c;
  }

  /** Visits every entry of frame `pa`, most recent first. @throws InvalidArgumentError unless `visit` is a function. */
  forEach(pa: number, visit: (space: S, vpn: number) => void): void {
    checkFunction('reverse map forEach visit', visit);
    const f = this.find(pa);
    if (f < 0) return;
    for (let n = this.head[f]!; n !== NONE; n = this.next[n]!)
      visit(this.spaces[this.owner[n]!] as S, this.vpns[n]!);
  }

  /** Every mapping of frame `pa` (what reclaim needs to unmap it everywhere). */
  mappings(pa: number): ReverseMapping<S>[] {
    const out: ReverseMapping<S>[] = [];
    this.forEach(pa, (space, vpn) => {
      out.push({ space, vpn });
    });
    return out;
  }

  private find(pa: number): number {
    return typeof pa === 'number' && pa >= 0 && Number.isSafeInteger(pa) ? this.indexOf(pa) : -1;
  }

  private frame(pa: number, op: string): number {
    const f = this.find(pa);
    if (f < 0) throw new InvalidArgumentError(`reverse map ${op}`, hex(pa), 'a frame of the allocator pool');
    return f;
  }

  private grow(): void {
    const n = this.next.length * 2;
    const vpns = new Float64Array(n);
    vpns.set(this.vpns);
    const next = new Int32Array(n);
    next.set(this.next);
    const stack = new Int32Array(n);
    stack.set(this.freeStack);
    const owner = new Int32Array(n);
    owner.set(this.owner);
    this.vpns = vpns;
    this.next = next;
    this.freeStack = stack;
    this.owner = owner;
  }
}
