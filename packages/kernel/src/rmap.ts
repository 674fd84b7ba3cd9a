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
 * pool of nodes (owner, vpn, next) with a free list. Adding or removing an entry allocates
 * nothing once the pool has grown to the peak number of mappings (it doubles when full); the
 * chain of a frame is as long as the number of spaces mapping it, so removal is a short scan.
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
  private owner: (S | undefined)[] = [];
  private vpns: Float64Array;
  private next: Int32Array;
  private freeNode = NONE;
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
    // Filled, not `length =`: an array given a length it never held goes to V8's dictionary
    // (hash table) elements, whose stores slow down as the map grows.
    this.owner = new Array<S | undefined>(initialNodes).fill(undefined);
  }

  /** Number of entries (mappings) in the map. */
  get size(): number {
    return this.entries;
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
    let n = this.freeNode;
    if (n !== NONE) this.freeNode = this.next[n]!;
    else {
      if (this.used === this.next.length) this.grow();
      n = this.used++;
    }
    this.owner[n] = space;
    this.vpns[n] = vpn;
    this.next[n] = this.head[f]!;
    this.head[f] = n;
    this.entries++;
  }

  /** Removes the entry (`space`, `vpn`) of frame `pa`; false when there was none. */
  remove(pa: number, space: S, vpn: number): boolean {
    const f = this.find(pa);
    if (f < 0) return false;
    let prev = NONE;
    for (let n = this.head[f]!; n !== NONE; prev = n, n = this.next[n]!) {
      if (this.owner[n] !== space || this.vpns[n] !== vpn) continue;
      if (prev === NONE) this.head[f] = this.next[n]!;
      else this.next[prev] = this.next[n]!;
      this.owner[n] = undefined;
      this.next[n] = this.freeNode;
      this.freeNode = n;
      this.entries--;
      return true;
    }
    return false;
  }

  /** Moves the entry of frame `pa` in `space` from page `from` to page `to` (mremap); false when there was none. */
  move(pa: number, space: S, from: number, to: number): boolean {
    const f = this.find(pa);
    if (f < 0) return false;
    for (let n = this.head[f]!; n !== NONE; n = this.next[n]!) {
      if (this.owner[n] === space && this.vpns[n] === from) {
        this.vpns[n] = to;
        return true;
      }
    }
    return false;
  }

  /** True when (`space`, `vpn`) is an entry of frame `pa`. */
  has(pa: number, space: S, vpn: number): boolean {
    const f = this.find(pa);
    if (f < 0) return false;
    for (let n = this.head[f]!; n !== NONE; n = this.next[n]!)
      if (this.owner[n] === space && this.vpns[n] === vpn) return true;
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
    for (let n = this.head[f]!; n !== NONE; n = this.next[n]!) visit(this.owner[n] as S, this.vpns[n]!);
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
    this.vpns = vpns;
    this.next = next;
    for (let i = this.owner.length; i < n; i++) this.owner.push(undefined);
  }

  /**
   * @internal {@link remove} for a caller that already holds the frame-table index `f` of a pool
   * frame (exit's and munmap's table-at-a-time teardown, zap.ts): no address check, no lookup.
   */
  removeAt(f: number, space: S, vpn: number): boolean {
    let prev = NONE;
    for (let n = this.head[f]!; n !== NONE; prev = n, n = this.next[n]!) {
      if (this.owner[n] !== space || this.vpns[n] !== vpn) continue;
      if (prev === NONE) this.head[f] = this.next[n]!;
      else this.next[prev] = this.next[n]!;
      this.owner[n] = undefined;
      this.next[n] = this.freeNode;
      this.freeNode = n;
      this.entries--;
      return true;
    }
    return false;
  }
}
