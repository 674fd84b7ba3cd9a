/**
 * The checks and errors of a `VmaTree`: its arguments (page numbers, ranges, iteration bounds,
 * with typed errors naming the value), {@link VmaOverlapError}, and its structural invariants
 * ({@link checkTree}, behind `VmaTree.check()` and `audit()`).
 */
import { hex, MmError } from '@mmkit/core';
import { invalidArgument, showValue } from './syscalls.js';
import type { Vma } from './vma-tree.js';
import { type Entry, NONE, VMA_VPN_LIMIT, type VmaNodes } from './vma-tree-nodes.js';

/** Asserts `value` is an integer page number in [0, 2^52]. @throws InvalidArgumentError */
export function checkVpn(what: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > VMA_VPN_LIMIT) {
    throw invalidArgument(what, value, 'an integer page number in [0, 2^52]');
  }
}

/**
 * Checks `[startVpn, endVpn)` for operation `op`: page numbers, end ≥ start (> start unless
 * `allowEmpty`). @throws InvalidArgumentError naming the bad bound
 */
export function checkRange(op: string, startVpn: unknown, endVpn: unknown, allowEmpty: boolean): void {
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

/** A page number in hex, or any other value as `showValue` renders it. */
export function pageHex(v: unknown): string {
  return typeof v === 'number' && Number.isSafeInteger(v) ? hex(v) : showValue(v);
}

/** Iteration bounds: numbers (any; the fast paths compare them), never another type. */
export function checkBounds(op: string, loVpn: unknown, hiVpn: unknown): void {
  if (typeof loVpn !== 'number') throw invalidArgument(`${op} start page`, loVpn, 'a page number');
  if (typeof hiVpn !== 'number') throw invalidArgument(`${op} end page`, hiVpn, 'a page number');
}

/** `[start, end)` in hex, for messages. */
export function fmt(startVpn: number, endVpn: number): string {
  return `[${hex(startVpn)}, ${hex(endVpn)})`;
}

/**
 * Checks every structural invariant and returns the problems found (empty when sound): order
 * and non-overlap, keys, per-VMA gaps and subtree gap maxima, node fill and equal leaf depth,
 * parent and leaf-chain links, the counters, and (when merging on insert) that no two touching
 * neighbours are mergeable, except at the page numbers in `apart` (`VmaTree.insertUnmerged`).
 * O(n); for tests and `audit()`.
 */
export function checkTree<V>(
  t: VmaNodes<V>,
  canMergeFn: ((left: Vma<V>, right: Vma<V>) => boolean) | undefined,
  mergeOnInsert: boolean,
  apart: ReadonlySet<number> = new Set(),
): string[] {
  const problems: string[] = [];
  const cap = t.cap;
  const leaves: number[] = [];
  const walk = (node: number, depth: number, lo: number, hi: number): void => {
    const where = `node ${node} at depth ${depth}`;
    const n = t.cnt[node]!;
    const b = node * cap;
    const isLeaf = depth === t.levels - 1;
    if ((t.leafFlag[node] === 1) !== isLeaf) problems.push(`${where}: leaf flag wrong for its depth`);
    if (node !== t.root && (n < t.min || n > cap)) {
      problems.push(`${where}: ${n} entries, expected ${t.min}..${cap}`);
    }
    if (node === t.root && !isLeaf && n < 2) problems.push(`inner root has ${n} children`);
    for (let i = 1; i < n; i++) {
      if (!(t.keys[b + i - 1]! < t.keys[b + i]!)) problems.push(`${where}: keys not increasing at ${i}`);
    }
    if (n > 0 && (t.keys[b]! < lo || t.keys[b + n - 1]! >= hi)) {
      problems.push(`${where}: keys outside the parent's separator range`);
    }
    for (let i = n; i < cap; i++) {
      if (t.keys[b + i] !== Infinity) problems.push(`${where}: unused key slot ${i} is not +Infinity`);
    }
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, t.slotGap[b + i]!);
    if (max !== t.maxGap[node]) problems.push(`${where}: maxGap ${t.maxGap[node]}, expected ${max}`);
    if (isLeaf) {
      leaves.push(node);
      for (let i = 0; i < n; i++) {
        const e = t.items[b + i];
        if (e === undefined) problems.push(`${where}: missing item ${i}`);
        else if (e.startVpn !== t.keys[b + i] || e.endVpn !== t.ends[b + i]) {
          problems.push(`${where}: cached range of ${fmt(e.startVpn, e.endVpn)} differs`);
        }
      }
      for (let i = n; i < cap; i++) {
        if (t.items[b + i] !== undefined) problems.push(`${where}: stale item slot ${i}`);
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      const kid = t.kids[b + i]!;
      if (t.parent[kid] !== node) problems.push(`${where}: child ${i} has a wrong parent`);
      if (t.keys[kid * cap] !== t.keys[b + i])
        problems.push(`${where}: key ${i} is not the child's first key`);
      if (t.maxGap[kid] !== t.slotGap[b + i]) problems.push(`${where}: gap ${i} is not the child's maxGap`);
      walk(kid, depth + 1, t.keys[b + i]!, i + 1 < n ? t.keys[b + i + 1]! : hi);
    }
  };
  if (t.parent[t.root] !== NONE) problems.push('root has a parent');
  walk(t.root, 0, -Infinity, Infinity);
  if (leaves[0] !== t.head) problems.push('head is not the first leaf');
  if (leaves[leaves.length - 1] !== t.tail) problems.push('tail is not the last leaf');
  const live = new Set<number>();
  const visit = (node: number, depth: number): void => {
    live.add(node);
    if (depth < t.levels - 1) {
      for (let i = 0; i < t.cnt[node]!; i++) visit(t.kids[node * cap + i]!, depth + 1);
    }
  };
  visit(t.root, 0);
  if (live.size + t.freeIds.length !== t.used) {
    problems.push(`${live.size} live + ${t.freeIds.length} free node ids, ${t.used} used`);
  }
  for (const id of t.freeIds) if (live.has(id)) problems.push(`node ${id} is both live and free`);
  let count = 0;
  let pages = 0;
  let prev: Entry<V> | undefined;
  const canMerge = canMergeFn;
  for (let j = 0; j < leaves.length; j++) {
    const leaf = leaves[j]!;
    if (t.prevLeaf[leaf] !== (leaves[j - 1] ?? NONE)) problems.push(`leaf ${leaf}: wrong prev link`);
    if (t.nextLeaf[leaf] !== (leaves[j + 1] ?? NONE)) problems.push(`leaf ${leaf}: wrong next link`);
    for (let i = 0; i < t.cnt[leaf]!; i++) {
      const e = t.items[leaf * cap + i];
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
      const gap = t.slotGap[leaf * cap + i];
      if (gap !== e.startVpn - prevEnd)
        problems.push(`VMA ${r}: gap ${gap}, expected ${e.startVpn - prevEnd}`);
      if (
        prev !== undefined &&
        canMerge !== undefined &&
        mergeOnInsert &&
        prev.endVpn === e.startVpn &&
        !apart.has(e.startVpn) &&
        canMerge(prev, e)
      ) {
        problems.push(`VMAs ${fmt(prev.startVpn, prev.endVpn)} and ${r} should be merged`);
      }
      prev = e;
    }
  }
  if (count !== t.count) problems.push(`size ${t.count}, counted ${count}`);
  if (pages !== t.pages) problems.push(`mappedPages ${t.pages}, counted ${pages}`);
  return problems;
}
