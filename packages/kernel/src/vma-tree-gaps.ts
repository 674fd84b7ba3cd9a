/**
 * The gap search of a `VmaTree` (Linux's `unmapped_area()` / `unmapped_area_topdown()`):
 * fitting an aligned range into one gap, and the descents that visit only children whose
 * largest gap (the augmented data of `vma-tree-nodes.ts`) can hold the request.
 */
import type { VmaGap } from './vma-tree.js';
import { NONE, VMA_VPN_LIMIT, type VmaNodes } from './vma-tree-nodes.js';

/** Lowest start ≥ max(a, lo) that is a multiple of `align` with `size` pages below min(b, hi), or -1. */
export function fitUp(a: number, b: number, lo: number, hi: number, size: number, align: number): number {
  const from = Math.max(a, lo);
  const to = Math.min(b, hi);
  if (to - from < size) return -1;
  const r = from % align;
  const s = r === 0 ? from : from - r + align;
  return s + size <= to ? s : -1;
}

/** Highest start ≥ max(a, lo) that is a multiple of `align` with `size` pages below min(b, hi), or -1. */
export function fitDown(a: number, b: number, lo: number, hi: number, size: number, align: number): number {
  const from = Math.max(a, lo);
  const to = Math.min(b, hi);
  if (to - from < size) return -1;
  const top = to - size;
  const s = top - (top % align);
  return s >= from ? s : -1;
}

/** findGap search results besides a page number. */
export const STOP = -1;
export const CONTINUE = -2;

// -------------------------------------------------------------------------
// The descents (`level` 1 = leaf)

/** Number of keys ≤ x (`strict`: < x) in node slots [b, b + cap); the +Infinity pads never count. */
export function countKeys(t: VmaNodes<unknown>, b: number, x: number, strict: boolean): number {
  const keys = t.keys;
  let base = b;
  let len = t.cap;
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

/**
 * The lowest aligned start of `size` free pages in [lo, hi) below `node` (at `level`), or
 * {@link STOP} when every later gap starts at or above `hi`, {@link CONTINUE} when the search
 * goes on to the right.
 */
export function gapUp(
  t: VmaNodes<unknown>,
  node: number,
  level: number,
  lo: number,
  hi: number,
  size: number,
  align: number,
): number {
  const keys = t.keys;
  const gaps = t.slotGap;
  const b = node * t.cap;
  const n = t.cnt[node]!;
  const below = countKeys(t, b, lo, false); // slots whose start is ≤ lo
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
    const r = gapUp(t, t.kids[b + i]!, level - 1, lo, hi, size, align);
    if (r !== CONTINUE) return r;
  }
  return CONTINUE;
}

/** {@link gapUp} from the top: the highest aligned start below `node`, or STOP / CONTINUE. */
export function gapDown(
  t: VmaNodes<unknown>,
  node: number,
  level: number,
  lo: number,
  hi: number,
  size: number,
  align: number,
): number {
  const keys = t.keys;
  const gaps = t.slotGap;
  const b = node * t.cap;
  const n = t.cnt[node]!;
  // Slot i's gap starts after the end of slot i − 1, so slot i can reach below hi only if
  // keys[i − 1] < hi: start from the last such slot.
  const start = Math.min(countKeys(t, b, hi, true), n - 1);
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
    const r = gapDown(t, t.kids[b + i]!, level - 1, lo, hi, size, align);
    if (r !== CONTINUE) return r;
  }
  return CONTINUE;
}

/** The free ranges of `[loVpn, hiVpn)` in address order (`VmaTree.gaps`; bounds checked there). */
export function* gapsIn(t: VmaNodes<unknown>, loVpn: number, hiVpn: number): IterableIterator<VmaGap> {
  t.locate(loVpn);
  const cap = t.cap;
  let leaf = t.cLeaf;
  let i = t.cIdx;
  let prevEnd = i >= 0 ? t.ends[leaf * cap + i]! : 0;
  i++;
  while (leaf !== NONE) {
    const b = leaf * cap;
    for (; i < t.cnt[leaf]!; i++) {
      if (prevEnd >= hiVpn) return;
      const s = t.keys[b + i]!;
      const from = Math.max(prevEnd, loVpn);
      const to = Math.min(s, hiVpn);
      if (from < to) yield { startVpn: from, endVpn: to };
      prevEnd = t.ends[b + i]!;
    }
    leaf = t.nextLeaf[leaf]!;
    i = 0;
  }
  const from = Math.max(prevEnd, loVpn);
  if (from < hiVpn) yield { startVpn: from, endVpn: hiVpn };
}

/**
 * The search of `VmaTree.findGap` (arguments checked there): the lowest (or with `topDown` the
 * highest) start of `pageCount` free pages in `[loVpn, hiVpn)` that is a multiple of `align`, or
 * -1. The descents visit only subtrees whose largest gap can hold the request; the free range
 * above the last VMA is checked separately.
 */
export function findGapIn(
  t: VmaNodes<unknown>,
  pageCount: number,
  loVpn: number,
  hiVpn: number,
  align: number,
  topDown: boolean,
): number {
  if (hiVpn - loVpn < pageCount) return -1;
  const tailN = t.cnt[t.tail]!;
  const tailEnd = tailN > 0 ? t.ends[t.tail * t.cap + tailN - 1]! : 0;
  const fits = t.maxGap[t.root]! >= pageCount;
  if (topDown) {
    const top = fitDown(tailEnd, VMA_VPN_LIMIT, loVpn, hiVpn, pageCount, align);
    if (top >= 0 || !fits) return top;
    const r = gapDown(t, t.root, t.levels, loVpn, hiVpn, pageCount, align);
    return r >= 0 ? r : -1;
  }
  if (fits) {
    const r = gapUp(t, t.root, t.levels, loVpn, hiVpn, pageCount, align);
    if (r >= 0) return r;
    if (r === STOP) return -1;
  }
  return fitUp(tailEnd, VMA_VPN_LIMIT, loVpn, hiVpn, pageCount, align);
}
