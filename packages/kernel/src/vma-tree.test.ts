import { InvalidArgumentError, isMmError } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VMA_VPN_LIMIT, type Vma, VmaOverlapError, VmaTree, type VmaTreeOptions } from './vma-tree.js';

// ---------------------------------------------------------------------------
// Payload used throughout: a tag (think "permissions + flags") and the offset (in pages) of the
// VMA's first page into its backing object, as Linux's vm_pgoff. Splitting moves the offset;
// merging needs equal tags and a continuous offset (Linux is_mergeable_vma + pgoff check).

interface P {
  readonly tag: number;
  readonly off: number;
}

const splitP = (v: P, at: number, start: number): P => ({ tag: v.tag, off: v.off + (at - start) });
const canMergeP = (l: Vma<P>, r: Vma<P>): boolean =>
  l.value.tag === r.value.tag && r.value.off === l.value.off + (l.endVpn - l.startVpn);

/** An anonymous-style payload: offset = start page, so touching VMAs with one tag merge. */
const anon = (tag: number, start: number): P => ({ tag, off: start });

function makeTree(options: Partial<VmaTreeOptions<P>> = {}): VmaTree<P> {
  return new VmaTree<P>({ split: splitP, canMerge: canMergeP, ...options });
}

type Row = [start: number, end: number, tag: number, off: number];

function dump(t: VmaTree<P>): Row[] {
  return [...t].map((v) => [v.startVpn, v.endVpn, v.value.tag, v.value.off]);
}

function rows(vmas: readonly Vma<P>[]): Row[] {
  return vmas.map((v) => [v.startVpn, v.endVpn, v.value.tag, v.value.off]);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** Three separate VMAs: [10,20) tag 1, [30,40) tag 2, [50,60) tag 3 (offsets 100, 200, 300). */
function three(): VmaTree<P> {
  const t = makeTree();
  t.insert(10, 20, { tag: 1, off: 100 });
  t.insert(30, 40, { tag: 2, off: 200 });
  t.insert(50, 60, { tag: 3, off: 300 });
  return t;
}

// ---------------------------------------------------------------------------

describe('VmaTree lookups', () => {
  it('an empty tree finds nothing and is one gap', () => {
    const t = makeTree();
    expect(t.size).toBe(0);
    expect(t.mappedPages).toBe(0);
    expect(t.height).toBe(1);
    expect(t.find(0)).toBeUndefined();
    expect(t.first()).toBeUndefined();
    expect(t.last()).toBeUndefined();
    expect(t.findFirstAtOrAfter(0)).toBeUndefined();
    expect(t.findLastBefore(VMA_VPN_LIMIT)).toBeUndefined();
    expect([...t.gaps()]).toEqual([{ startVpn: 0, endVpn: VMA_VPN_LIMIT }]);
    expect(t.findGap(5, 0, 100)).toBe(0);
    expect(t.findGap(5, 0, 100, { topDown: true })).toBe(95);
    expect(t.check()).toEqual([]);
  });

  it("find's memo of the last VMA ends with every mutation (insert, remove, removeRange, update, clear)", () => {
    const t = makeTree();
    const a = t.insert(10, 20, { tag: 1, off: 0 });
    expect(t.find(15)).toBe(a); // memoised
    t.remove(a);
    expect(t.find(15)).toBeUndefined();
    const b = t.insert(10, 20, { tag: 1, off: 0 });
    expect(t.find(12)).toBe(b);
    t.removeRange(10, 14); // b is split: page 12 is gone
    expect(t.find(12)).toBeUndefined();
    const c = t.find(16)!;
    expect([c.startVpn, c.endVpn]).toEqual([14, 20]);
    t.update(16, 17, (v) => ({ tag: v.tag + 1, off: v.off })); // [14,16) [16,17) [17,20)
    const mid = t.find(16)!;
    expect([mid.startVpn, mid.endVpn, mid.value.tag]).toEqual([16, 17, 2]);
    expect(t.find(15)!.endVpn).toBe(16);
    t.insert(20, 30, { tag: 1, off: 10 }); // merges with [17,20) (offset 7 + 3 pages)
    const grown = t.find(18)!;
    expect([grown.startVpn, grown.endVpn]).toEqual([17, 30]);
    t.clear();
    expect(t.find(18)).toBeUndefined();
    expect(t.check()).toEqual([]);
  });

  it('find is exact at both ends of a half-open range', () => {
    const t = three();
    expect(t.find(9)).toBeUndefined();
    expect(t.find(10)?.startVpn).toBe(10);
    expect(t.find(19)?.startVpn).toBe(10);
    expect(t.find(20)).toBeUndefined();
    expect(t.find(29)).toBeUndefined();
    expect(t.find(30)?.value).toEqual({ tag: 2, off: 200 });
    expect(t.find(59)?.startVpn).toBe(50);
    expect(t.find(60)).toBeUndefined();
    expect(t.size).toBe(3);
    expect(t.mappedPages).toBe(30);
  });

  it('neighbours: findFirstAtOrAfter (find_vma), findLastBefore, next, prev, findIntersection', () => {
    const t = three();
    expect(t.findFirstAtOrAfter(0)?.startVpn).toBe(10);
    expect(t.findFirstAtOrAfter(15)?.startVpn).toBe(10);
    expect(t.findFirstAtOrAfter(20)?.startVpn).toBe(30);
    expect(t.findFirstAtOrAfter(59)?.startVpn).toBe(50);
    expect(t.findFirstAtOrAfter(60)).toBeUndefined();
    expect(t.findLastBefore(10)).toBeUndefined();
    expect(t.findLastBefore(11)?.startVpn).toBe(10);
    expect(t.findLastBefore(30)?.startVpn).toBe(10);
    expect(t.findLastBefore(31)?.startVpn).toBe(30);
    expect(t.findLastBefore(1000)?.startVpn).toBe(50);
    const mid = t.find(35)!;
    expect(t.next(mid)?.startVpn).toBe(50);
    expect(t.prev(mid)?.startVpn).toBe(10);
    expect(t.next(t.last()!)).toBeUndefined();
    expect(t.prev(t.first()!)).toBeUndefined();
    expect(t.findIntersection(20, 30)).toBeUndefined();
    expect(t.findIntersection(20, 31)?.startVpn).toBe(30);
    expect(t.findIntersection(39, 55)?.startVpn).toBe(30);
    expect(t.findIntersection(35, 35)).toBeUndefined();
    expect(t.has(mid)).toBe(true);
    expect(t.has({ startVpn: 30, endVpn: 40, value: mid.value })).toBe(false);
  });

  it('odd lookup arguments find nothing instead of failing (NaN, ±Infinity, beyond 2^52)', () => {
    const t = three();
    expect(t.find(Number.NaN)).toBeUndefined();
    expect(t.find(Infinity)).toBeUndefined();
    expect(t.find(-Infinity)).toBeUndefined();
    expect(t.find(VMA_VPN_LIMIT + 10)).toBeUndefined();
    expect(t.findFirstAtOrAfter(Infinity)).toBeUndefined();
    expect(t.findFirstAtOrAfter(-5)?.startVpn).toBe(10);
    expect(t.findLastBefore(Infinity)?.startVpn).toBe(50);
    expect(t.findLastBefore(Number.NaN)).toBeUndefined();
    expect(new VmaTree().find(0)).toBeUndefined();
  });

  it('iterates in address order, over everything or over [lo, hi)', () => {
    const t = three();
    expect([...t].map((v) => v.startVpn)).toEqual([10, 30, 50]);
    expect([...t.range(19, 31)].map((v) => v.startVpn)).toEqual([10, 30]);
    expect([...t.range(20, 30)]).toEqual([]);
    expect([...t.range(60)]).toEqual([]);
    const seen: number[] = [];
    t.forEach(
      (v) => {
        seen.push(v.startVpn);
      },
      35,
      51,
    );
    expect(seen).toEqual([30, 50]);
  });

  it('gaps(lo, hi) lists the free ranges clipped to the window', () => {
    const t = three();
    expect([...t.gaps(0, 70)]).toEqual([
      { startVpn: 0, endVpn: 10 },
      { startVpn: 20, endVpn: 30 },
      { startVpn: 40, endVpn: 50 },
      { startVpn: 60, endVpn: 70 },
    ]);
    expect([...t.gaps(15, 45)]).toEqual([
      { startVpn: 20, endVpn: 30 },
      { startVpn: 40, endVpn: 45 },
    ]);
    expect([...t.gaps(12, 18)]).toEqual([]);
    expect([...t.gaps(25, 25)]).toEqual([]);
  });

  it('handles page numbers up to 2^52 exactly', () => {
    const t = makeTree();
    const top = VMA_VPN_LIMIT;
    t.insert(top - 10, top, anon(1, top - 10));
    t.insert(0, 1, anon(2, 0));
    expect(t.find(top - 1)?.startVpn).toBe(top - 10);
    expect(t.find(top - 11)).toBeUndefined();
    expect(t.findGap(5, 0, top, { topDown: true })).toBe(top - 15);
    expect(t.findGap(10, top - 20, top)).toBe(top - 20);
    expect(t.findGap(11, top - 20, top)).toBe(-1);
    expect([...t.gaps(top - 20)]).toEqual([{ startVpn: top - 20, endVpn: top - 10 }]);
    expect(t.removeRange(top - 5, top).map((v) => [v.startVpn, v.endVpn])).toEqual([[top - 5, top]]);
    expect(t.check()).toEqual([]);
  });
});

describe('VmaTree.insert', () => {
  it('rejects an overlap with VmaOverlapError naming both ranges (E_ALREADY_MAPPED); nothing changes', () => {
    const t = three();
    for (const [s, e] of [
      [15, 25],
      [25, 31],
      [5, 65],
      [30, 40],
      [31, 32],
      [59, 70],
    ] as const) {
      const err = thrown(() => t.insert(s, e, anon(9, s)));
      expect(err).toBeInstanceOf(VmaOverlapError);
      const o = err as VmaOverlapError;
      expect(isMmError(o)).toBe(true);
      expect(o.code).toBe('E_ALREADY_MAPPED');
      expect(o.startVpn).toBe(s);
      expect(o.endVpn).toBe(e);
      const hit = t.findFirstAtOrAfter(s)!;
      expect([o.existingStartVpn, o.existingEndVpn]).toEqual([hit.startVpn, hit.endVpn]);
    }
    const o = thrown(() => t.insert(0x1f, 0x21, anon(9, 0))) as VmaOverlapError;
    expect(o.message).toBe('VMA pages [0x1F, 0x21) overlap the existing VMA pages [0x1E, 0x28)');
    expect(dump(t)).toEqual([
      [10, 20, 1, 100],
      [30, 40, 2, 200],
      [50, 60, 3, 300],
    ]);
    expect(t.check()).toEqual([]);
  });

  it('touching ranges are not overlaps', () => {
    const t = three();
    t.insert(20, 30, anon(7, 20));
    t.insert(40, 50, anon(8, 40));
    expect(t.size).toBe(5);
    expect(t.mappedPages).toBe(50);
  });

  it('rejects empty and invalid ranges with InvalidArgumentError naming the value', () => {
    const t = makeTree();
    const cases: [unknown, unknown, string, unknown][] = [
      [5, 5, 'VmaTree.insert end page', 5],
      [6, 5, 'VmaTree.insert end page', 5],
      [-1, 5, 'VmaTree.insert start page', -1],
      [1.5, 5, 'VmaTree.insert start page', 1.5],
      [0, VMA_VPN_LIMIT + 1, 'VmaTree.insert end page', VMA_VPN_LIMIT + 1],
      [Number.NaN, 5, 'VmaTree.insert start page', Number.NaN],
      [0n, 5, 'VmaTree.insert start page', 0n],
      [0, '5', 'VmaTree.insert end page', '5'],
    ];
    for (const [s, e, what, value] of cases) {
      const err = thrown(() => t.insert(s as number, e as number, anon(1, 0)));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      const ia = err as InvalidArgumentError;
      expect(ia.code).toBe('E_INVALID_ARGUMENT');
      expect(ia.what).toBe(what);
      expect(ia.value).toEqual(value);
    }
    expect((thrown(() => t.insert(6, 5, anon(1, 0))) as Error).message).toBe(
      'VmaTree.insert end page: 5 is invalid; expected a page number > the start page 6 (0x6)',
    );
    expect(t.size).toBe(0);
  });

  it('merges with the left, the right, or both neighbours when canMerge accepts', () => {
    const t = makeTree();
    t.insert(10, 20, anon(1, 10));
    const left = t.find(10)!;
    const grown = t.insert(20, 25, anon(1, 20)); // continues [10,20): merges left
    expect(grown).toBe(left);
    expect(dump(t)).toEqual([[10, 25, 1, 10]]);
    t.insert(30, 40, anon(1, 30));
    const right = t.find(30)!;
    const down = t.insert(27, 30, anon(1, 27)); // merges right: the right VMA grows down
    expect(down).toBe(right);
    expect(dump(t)).toEqual([
      [10, 25, 1, 10],
      [27, 40, 1, 27],
    ]);
    const both = t.insert(25, 27, anon(1, 25)); // fills the hole: one VMA
    expect(both).toBe(left);
    expect(dump(t)).toEqual([[10, 40, 1, 10]]);
    expect(t.has(right)).toBe(false);
    expect(t.mappedPages).toBe(30);
    expect(t.check()).toEqual([]);
  });

  it('does not merge different payloads, discontinuous offsets, or across a gap', () => {
    const t = makeTree();
    t.insert(10, 20, anon(1, 10));
    t.insert(20, 30, anon(2, 20)); // other tag
    t.insert(30, 40, { tag: 2, off: 999 }); // tag 2 but the offset does not continue
    t.insert(41, 50, anon(2, 41)); // gap of one page
    expect(dump(t)).toEqual([
      [10, 20, 1, 10],
      [20, 30, 2, 20],
      [30, 40, 2, 999],
      [41, 50, 2, 41],
    ]);
    expect(t.check()).toEqual([]);
  });

  it('mergeOnInsert: false keeps touching compatible VMAs apart; no canMerge never merges', () => {
    const a = makeTree({ mergeOnInsert: false });
    a.insert(0, 5, anon(1, 0));
    a.insert(5, 10, anon(1, 5));
    expect(a.size).toBe(2);
    const b = new VmaTree<P>();
    b.insert(0, 5, anon(1, 0));
    b.insert(5, 10, anon(1, 5));
    expect(b.size).toBe(2);
    expect(b.update(0, 10, (v) => ({ ...v, tag: 2 }))).toBe(10);
    expect(b.size).toBe(2);
  });

  it('insertUnmerged adds a VMA as it is (fork: dup_mmap merges nothing); check() accepts it there only', () => {
    const t = makeTree();
    t.insert(0, 10, anon(1, 0));
    const b = t.insertUnmerged(10, 20, anon(1, 10)); // mergeable with [0,10), kept apart
    t.insertUnmerged(20, 30, anon(1, 20));
    expect(dump(t)).toEqual([
      [0, 10, 1, 0],
      [10, 20, 1, 10],
      [20, 30, 1, 20],
    ]);
    expect(t.find(15)).toBe(b);
    expect(t.check()).toEqual([]);
    // The checker still names mergeable neighbours: without the record of where insertUnmerged
    // put them, the same tree is reported.
    (t as unknown as { apart: Set<number> }).apart.clear();
    const problems = t.check();
    expect(problems).toHaveLength(2);
    for (const m of problems) expect(m).toMatch(/should be merged$/);
    // A later change across the boundaries merges them (as Linux's vma_modify would).
    const u = makeTree();
    u.insertUnmerged(0, 10, anon(1, 0));
    u.insertUnmerged(10, 20, anon(1, 10));
    expect(u.update(0, 20, (v) => ({ ...v, tag: 2 }))).toBe(20);
    expect(dump(u)).toEqual([[0, 20, 2, 0]]);
    // Errors: the same checks as insert, naming insertUnmerged; nothing changes.
    expect(thrown(() => u.insertUnmerged(5, 25, anon(1, 5)))).toBeInstanceOf(VmaOverlapError);
    expect(String(thrown(() => u.insertUnmerged(30, 30, anon(1, 30))))).toContain('VmaTree.insertUnmerged');
    expect(dump(u)).toEqual([[0, 20, 2, 0]]);
    u.clear();
    expect((u as unknown as { apart: Set<number> }).apart.size).toBe(0);
  });

  it('uses the merge callback for the merged payload', () => {
    const t = new VmaTree<{ name: string }>({
      canMerge: () => true,
      merge: (l, r) => ({ name: `${l.value.name}+${r.value.name}` }),
    });
    t.insert(0, 1, { name: 'a' });
    t.insert(2, 3, { name: 'c' });
    t.insert(1, 2, { name: 'b' });
    expect([...t].map((v) => [v.startVpn, v.endVpn, v.value.name])).toEqual([[0, 3, 'a+b+c']]);
  });

  it('a throwing canMerge leaves the tree unchanged', () => {
    const t = new VmaTree<number>({
      canMerge: () => {
        throw new Error('boom');
      },
    });
    t.insert(0, 1, 1);
    expect(() => t.insert(1, 2, 2)).toThrow('boom');
    expect([...t].map((v) => [v.startVpn, v.endVpn])).toEqual([[0, 1]]);
    expect(t.check()).toEqual([]);
  });
});

describe('VmaTree.removeRange (munmap split cases)', () => {
  it('exact: removes the VMA object itself', () => {
    const t = three();
    const mid = t.find(30)!;
    const out = t.removeRange(30, 40);
    expect(out).toHaveLength(1);
    expect(out[0]).toBe(mid);
    expect(dump(t)).toEqual([
      [10, 20, 1, 100],
      [50, 60, 3, 300],
    ]);
    expect(t.mappedPages).toBe(20);
  });

  it('front trim: the kept part moves its offset, the removed part keeps the old one', () => {
    const t = three();
    const mid = t.find(30)!;
    expect(rows(t.removeRange(30, 33))).toEqual([[30, 33, 2, 200]]);
    expect(t.find(33)).toBe(mid); // the kept part is the same object
    expect(dump(t)).toEqual([
      [10, 20, 1, 100],
      [33, 40, 2, 203],
      [50, 60, 3, 300],
    ]);
    expect(t.check()).toEqual([]);
  });

  it('back trim: the removed part gets the split offset', () => {
    const t = three();
    expect(rows(t.removeRange(36, 40))).toEqual([[36, 40, 2, 206]]);
    expect(dump(t)).toEqual([
      [10, 20, 1, 100],
      [30, 36, 2, 200],
      [50, 60, 3, 300],
    ]);
  });

  it('hole punch: one VMA becomes two around the hole', () => {
    const t = three();
    expect(rows(t.removeRange(33, 37))).toEqual([[33, 37, 2, 203]]);
    expect(dump(t)).toEqual([
      [10, 20, 1, 100],
      [30, 33, 2, 200],
      [37, 40, 2, 207],
      [50, 60, 3, 300],
    ]);
    expect(t.size).toBe(4);
    expect(t.mappedPages).toBe(26);
    expect(t.check()).toEqual([]);
  });

  it('a range spanning several VMAs and gaps trims both ends and removes everything between', () => {
    const t = three();
    expect(rows(t.removeRange(15, 55))).toEqual([
      [15, 20, 1, 105],
      [30, 40, 2, 200],
      [50, 55, 3, 300],
    ]);
    expect(dump(t)).toEqual([
      [10, 15, 1, 100],
      [55, 60, 3, 305],
    ]);
    expect(t.check()).toEqual([]);
  });

  it('a range covering everything empties the tree', () => {
    const t = three();
    expect(rows(t.removeRange(0, 1000)).map((r) => r[0])).toEqual([10, 30, 50]);
    expect(t.size).toBe(0);
    expect(t.mappedPages).toBe(0);
    expect([...t.gaps(0, 100)]).toEqual([{ startVpn: 0, endVpn: 100 }]);
  });

  it('removing nothing is fine: a gap, an empty range, beyond the last VMA', () => {
    const t = three();
    expect(t.removeRange(20, 30)).toEqual([]);
    expect(t.removeRange(35, 35)).toEqual([]);
    expect(t.removeRange(60, VMA_VPN_LIMIT)).toEqual([]);
    expect(t.removeRange(0, 10)).toEqual([]);
    expect(dump(t)).toHaveLength(3);
  });

  it('rejects an inverted or invalid range', () => {
    const t = three();
    const err = thrown(() => t.removeRange(40, 30)) as InvalidArgumentError;
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.what).toBe('VmaTree.removeRange end page');
    expect(err.value).toBe(30);
    expect((thrown(() => t.removeRange(-3, 30)) as InvalidArgumentError).value).toBe(-3);
    expect(t.size).toBe(3);
  });

  it('remove(vma) removes that object; a stale or foreign object is an InvalidArgumentError', () => {
    const t = three();
    const mid = t.find(30)!;
    t.remove(mid);
    expect(t.find(30)).toBeUndefined();
    expect(t.size).toBe(2);
    const err = thrown(() => t.remove(mid)) as InvalidArgumentError;
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.value).toBe('[0x1E, 0x28)');
    const copy = { ...t.find(10)! };
    expect(() => t.remove(copy)).toThrow(InvalidArgumentError);
    expect(t.size).toBe(2);
  });

  it('clear() empties the tree', () => {
    const t = three();
    t.clear();
    expect(t.size).toBe(0);
    expect(t.find(15)).toBeUndefined();
    t.insert(1, 2, anon(1, 1));
    expect(dump(t)).toEqual([[1, 2, 1, 1]]);
    expect(t.check()).toEqual([]);
  });
});

describe('VmaTree.update (mprotect-style splits and merges)', () => {
  const retag = (tag: number) => (v: P) => (v.tag === tag ? v : { tag, off: v.off });

  it('the middle of a VMA: three pieces with adjusted offsets; change sees the piece', () => {
    const t = makeTree();
    t.insert(0, 10, anon(1, 0));
    const seen: [number, number, number][] = [];
    const pages = t.update(3, 6, (v, from, to) => {
      seen.push([v.off, from, to]);
      return { tag: 2, off: v.off };
    });
    expect(pages).toBe(3);
    expect(seen).toEqual([[3, 3, 6]]);
    expect(dump(t)).toEqual([
      [0, 3, 1, 0],
      [3, 6, 2, 3],
      [6, 10, 1, 6],
    ]);
    // Protecting it back merges the three pieces into one again.
    expect(t.update(3, 6, retag(1))).toBe(3);
    expect(dump(t)).toEqual([[0, 10, 1, 0]]);
    expect(t.check()).toEqual([]);
  });

  it('front and back: two pieces', () => {
    const t = makeTree();
    t.insert(0, 10, anon(1, 0));
    t.update(0, 4, retag(2));
    expect(dump(t)).toEqual([
      [0, 4, 2, 0],
      [4, 10, 1, 4],
    ]);
    t.update(7, 10, retag(3));
    expect(dump(t)).toEqual([
      [0, 4, 2, 0],
      [4, 7, 1, 4],
      [7, 10, 3, 7],
    ]);
  });

  it('a whole VMA changes in place (same object) and merges with a now-compatible neighbour', () => {
    const t = makeTree();
    t.insert(0, 4, anon(1, 0));
    t.insert(4, 8, anon(2, 4));
    const second = t.find(5)!;
    const first = t.find(0)!;
    t.update(4, 8, retag(1));
    expect(dump(t)).toEqual([[0, 8, 1, 0]]);
    expect(t.find(5)).toBe(first);
    expect(t.has(second)).toBe(false);
  });

  it('spanning several VMAs and gaps: counts only mapped pages, merges inside the range', () => {
    const t = makeTree();
    t.insert(0, 10, anon(1, 0));
    t.insert(10, 20, anon(2, 10));
    t.insert(25, 30, anon(3, 25));
    t.insert(30, 40, anon(1, 30));
    expect(t.update(5, 35, retag(4))).toBe(25);
    expect(dump(t)).toEqual([
      [0, 5, 1, 0],
      [5, 20, 4, 5],
      [25, 35, 4, 25],
      [35, 40, 1, 35],
    ]);
    expect(t.check()).toEqual([]);
  });

  it('a change that returns the same payload does not split', () => {
    const t = makeTree({ mergeOnInsert: false, canMerge: undefined });
    t.insert(0, 10, anon(1, 0));
    expect(t.update(2, 5, (v) => v)).toBe(3);
    expect(dump(t)).toEqual([[0, 10, 1, 0]]);
    expect(t.update(20, 30, retag(2))).toBe(0);
  });

  it('a throwing change leaves the tree unchanged', () => {
    const t = three();
    const before = dump(t);
    let calls = 0;
    expect(() =>
      t.update(15, 55, (v) => {
        if (++calls === 2) throw new Error('no');
        return { ...v, tag: 9 };
      }),
    ).toThrow('no');
    expect(dump(t)).toEqual(before);
    expect(t.check()).toEqual([]);
  });
});

describe('VmaTree.findGap', () => {
  // Mapped: [10,20) [30,40) [50,60); free: [0,10) [20,30) [40,50) [60, 2^52).
  it('bottom-up takes the lowest fit, top-down the highest', () => {
    const t = three();
    expect(t.findGap(10, 0, 100)).toBe(0);
    expect(t.findGap(10, 1, 100)).toBe(20);
    expect(t.findGap(11, 0, 100)).toBe(60);
    expect(t.findGap(10, 0, 60, { topDown: true })).toBe(40);
    expect(t.findGap(10, 0, 100, { topDown: true })).toBe(90);
    expect(t.findGap(10, 0, 49, { topDown: true })).toBe(20);
    expect(t.findGap(11, 0, 60, { topDown: true })).toBe(-1);
    expect(t.findGap(11, 0, 60)).toBe(-1);
  });

  it('boundaries: an exact fit at lo and at hi counts; one page short does not', () => {
    const t = three();
    expect(t.findGap(10, 20, 30)).toBe(20);
    expect(t.findGap(10, 20, 30, { topDown: true })).toBe(20);
    expect(t.findGap(10, 21, 30)).toBe(-1);
    expect(t.findGap(10, 20, 29, { topDown: true })).toBe(-1);
    expect(t.findGap(5, 15, 35)).toBe(20);
    expect(t.findGap(5, 15, 35, { topDown: true })).toBe(25);
    expect(t.findGap(1, 10, 20)).toBe(-1);
    expect(t.findGap(1, 25, 25)).toBe(-1);
    expect(t.findGap(1, 59, 61)).toBe(60);
    expect(t.findGap(1, VMA_VPN_LIMIT - 1, VMA_VPN_LIMIT)).toBe(VMA_VPN_LIMIT - 1);
  });

  it('aligned: the start is a multiple of alignPages, exact (a gap of exactly size pages can fit)', () => {
    const t = makeTree();
    t.insert(0, 3, anon(1, 0)); // free [3, 16)
    t.insert(16, 17, anon(2, 16)); // free [17, 32): 15 pages, no aligned 16-page fit
    t.insert(32, 40, anon(3, 32)); // free [40, ...)
    expect(t.findGap(8, 0, 100, { alignPages: 8 })).toBe(8);
    expect(t.findGap(9, 0, 100, { alignPages: 8 })).toBe(40);
    expect(t.findGap(8, 0, 100, { alignPages: 16 })).toBe(48);
    expect(t.findGap(8, 0, 100, { alignPages: 8, topDown: true })).toBe(88);
    expect(t.findGap(8, 0, 40, { alignPages: 8, topDown: true })).toBe(24);
    expect(t.findGap(4, 0, 32, { alignPages: 6, topDown: true })).toBe(24);
    expect(t.findGap(4, 0, 32, { alignPages: 6 })).toBe(6);
    expect(t.findGap(8, 41, 56, { alignPages: 8 })).toBe(48);
    expect(t.findGap(8, 41, 55, { alignPages: 8 })).toBe(-1);
  });

  it('rejects bad arguments with InvalidArgumentError naming the value', () => {
    const t = three();
    const e1 = thrown(() => t.findGap(0, 0, 10)) as InvalidArgumentError;
    expect([e1.what, e1.value]).toEqual(['VmaTree.findGap pageCount', 0]);
    const e2 = thrown(() => t.findGap(1, 0, 10, { alignPages: 0.5 })) as InvalidArgumentError;
    expect([e2.what, e2.value]).toEqual(['VmaTree.findGap alignPages', 0.5]);
    const e3 = thrown(() => t.findGap(1, 10, 5)) as InvalidArgumentError;
    expect([e3.what, e3.value]).toEqual(['VmaTree.findGap end page', 5]);
    const e4 = thrown(() => t.gaps(0, VMA_VPN_LIMIT + 2)) as InvalidArgumentError;
    expect([e4.what, e4.value]).toEqual(['VmaTree.gaps end page', VMA_VPN_LIMIT + 2]);
  });

  it('nodeCapacity must be an even integer in [4, 256]', () => {
    for (const bad of [2, 5, 258, 3.5]) {
      const err = thrown(() => new VmaTree({ nodeCapacity: bad })) as InvalidArgumentError;
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.value).toBe(bad);
    }
  });
});

// ---------------------------------------------------------------------------
// Model test: random operation sequences against a sorted array.

interface MVma {
  s: number;
  e: number;
  v: P;
}

interface Config {
  readonly cap: number;
  readonly merging: 'on' | 'insert-off' | 'none';
}

class Model {
  vmas: MVma[] = [];
  constructor(readonly config: Config) {}

  private canMerge(a: MVma, b: MVma): boolean {
    return this.config.merging !== 'none' && a.v.tag === b.v.tag && b.v.off === a.v.off + (a.e - a.s);
  }

  private static at(m: MVma, x: number): P {
    return x > m.s ? splitP(m.v, x, m.s) : m.v;
  }

  insert(s: number, e: number, v: P): 'overlap' | 'ok' {
    if (this.vmas.some((m) => m.s < e && s < m.e)) return 'overlap';
    this.vmas.push({ s, e, v });
    this.vmas.sort((a, b) => a.s - b.s);
    if (this.config.merging === 'on') this.mergePass(s, e);
    return 'ok';
  }

  private mergePass(lo: number, hi: number): void {
    const a = this.vmas;
    let i = 0;
    while (i + 1 < a.length) {
      const x = a[i]!;
      const y = a[i + 1]!;
      if (x.e === y.s && x.e >= lo && x.e <= hi && this.canMerge(x, y)) {
        a.splice(i, 2, { s: x.s, e: y.e, v: x.v });
      } else i++;
    }
  }

  removeRange(lo: number, hi: number): Row[] {
    const removed: Row[] = [];
    const out: MVma[] = [];
    for (const m of this.vmas) {
      if (m.e <= lo || m.s >= hi || lo >= hi) {
        out.push(m);
        continue;
      }
      const a = Math.max(m.s, lo);
      const b = Math.min(m.e, hi);
      const cut = Model.at(m, a);
      removed.push([a, b, cut.tag, cut.off]);
      if (m.s < a) out.push({ s: m.s, e: a, v: m.v });
      if (b < m.e) out.push({ s: b, e: m.e, v: Model.at(m, b) });
    }
    this.vmas = out;
    return removed;
  }

  update(lo: number, hi: number, tag: number): number {
    if (lo >= hi) return 0;
    const out: MVma[] = [];
    let pages = 0;
    let changed = false;
    for (const m of this.vmas) {
      if (m.e <= lo || m.s >= hi) {
        out.push(m);
        continue;
      }
      const a = Math.max(m.s, lo);
      const b = Math.min(m.e, hi);
      pages += b - a;
      const own = Model.at(m, a);
      if (own.tag === tag) {
        out.push(m);
        continue;
      }
      changed = true;
      if (m.s < a) out.push({ s: m.s, e: a, v: m.v });
      out.push({ s: a, e: b, v: { tag, off: own.off } });
      if (b < m.e) out.push({ s: b, e: m.e, v: Model.at(m, b) });
    }
    this.vmas = out;
    if (changed && this.config.merging !== 'none') this.mergePass(lo, hi);
    return pages;
  }

  find(x: number): MVma | undefined {
    return this.vmas.find((m) => m.s <= x && x < m.e);
  }

  /** Brute force: every aligned start in the window, checked page by page. */
  findGap(size: number, lo: number, hi: number, topDown: boolean, align: number): number {
    const free = (x: number) => !this.vmas.some((m) => m.s <= x && x < m.e);
    const fits = (s: number) => {
      if (s % align !== 0 || s < lo || s + size > hi) return false;
      for (let x = s; x < s + size; x++) if (!free(x)) return false;
      return true;
    };
    if (topDown) {
      for (let s = hi - size; s >= lo; s--) if (fits(s)) return s;
    } else {
      for (let s = lo; s + size <= hi; s++) if (fits(s)) return s;
    }
    return -1;
  }
}

type Op =
  | { op: 'insert'; s: number; len: number; tag: number; anon: boolean; off: number }
  | { op: 'removeRange'; lo: number; len: number }
  | { op: 'remove'; pick: number }
  | { op: 'update'; lo: number; len: number; tag: number }
  | { op: 'findGap'; size: number; lo: number; len: number; topDown: boolean; align: number };

const W = 256; // window of page numbers the operations use

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      s: fc.nat(W - 1),
      len: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 40 })),
      tag: fc.nat(2),
      anon: fc.boolean(),
      off: fc.nat(1000),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('removeRange' as const), lo: fc.nat(W), len: fc.nat(80) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat(1000) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      lo: fc.nat(W),
      len: fc.nat(80),
      tag: fc.nat(2),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('findGap' as const),
      size: fc.integer({ min: 1, max: 24 }),
      lo: fc.nat(W),
      len: fc.nat(W),
      topDown: fc.boolean(),
      align: fc.constantFrom(1, 1, 2, 3, 4, 8, 16),
    }),
  },
);

function runModel(config: Config, base: number, ops: readonly Op[]): void {
  const tree = new VmaTree<P>({
    split: splitP,
    canMerge: config.merging === 'none' ? undefined : canMergeP,
    mergeOnInsert: config.merging === 'on',
    nodeCapacity: config.cap,
  });
  const model = new Model(config);
  const lim = (x: number) => Math.min(x, base + W);
  for (const [step, o] of ops.entries()) {
    const ctx = `step ${step} ${JSON.stringify(o)}`;
    switch (o.op) {
      case 'insert': {
        const s = base + o.s;
        const e = lim(s + o.len);
        if (e <= s) break;
        const v = o.anon ? anon(o.tag, s) : { tag: o.tag, off: o.off };
        const expected = model.insert(s, e, v);
        if (expected === 'overlap') expect(() => tree.insert(s, e, v), ctx).toThrow(VmaOverlapError);
        else {
          const got = tree.insert(s, e, v);
          expect(got.startVpn <= s && e <= got.endVpn, ctx).toBe(true);
        }
        break;
      }
      case 'removeRange': {
        const lo = base + o.lo;
        const hi = lim(lo + o.len);
        expect(rows(tree.removeRange(lo, hi)), ctx).toEqual(model.removeRange(lo, hi));
        break;
      }
      case 'remove': {
        if (model.vmas.length === 0) break;
        const m = model.vmas[o.pick % model.vmas.length]!;
        tree.remove(tree.find(m.s)!);
        model.vmas = model.vmas.filter((x) => x !== m);
        break;
      }
      case 'update': {
        const lo = base + o.lo;
        const hi = lim(lo + o.len);
        const change = (v: P) => (v.tag === o.tag ? v : { tag: o.tag, off: v.off });
        expect(tree.update(lo, hi, change), ctx).toBe(model.update(lo, hi, o.tag));
        break;
      }
      case 'findGap': {
        const lo = base + o.lo;
        const hi = lim(lo + o.len);
        const want = model.findGap(o.size, lo, hi, o.topDown, o.align);
        const got = tree.findGap(o.size, lo, hi, { topDown: o.topDown, alignPages: o.align });
        expect(got, ctx).toBe(want);
        break;
      }
    }
    // Compare everything after every step.
    expect(tree.check(), ctx).toEqual([]);
    expect(dump(tree), ctx).toEqual(model.vmas.map((m) => [m.s, m.e, m.v.tag, m.v.off]));
    expect(tree.size, ctx).toBe(model.vmas.length);
    expect(tree.mappedPages, ctx).toBe(model.vmas.reduce((n, m) => n + m.e - m.s, 0));
    for (let x = base; x < base + W; x++) {
      const m = model.find(x);
      const v = tree.find(x);
      if (m === undefined ? v !== undefined : v?.startVpn !== m.s) {
        expect(v?.startVpn, `${ctx}: find(${x})`).toBe(m?.s);
      }
    }
    const probe = base + ((step * 37) % W);
    const after = model.vmas.find((m) => m.e > probe);
    expect(tree.findFirstAtOrAfter(probe)?.startVpn, ctx).toBe(after?.s);
    const before = model.vmas.filter((m) => m.s < probe).at(-1);
    expect(tree.findLastBefore(probe)?.startVpn, ctx).toBe(before?.s);
    const freeRuns: [number, number][] = [];
    let prevEnd = base;
    for (const m of model.vmas) {
      if (m.s > prevEnd) freeRuns.push([prevEnd, m.s]);
      prevEnd = Math.max(prevEnd, m.e);
    }
    if (prevEnd < base + W) freeRuns.push([prevEnd, base + W]);
    expect(
      [...tree.gaps(base, base + W)].map((g) => [g.startVpn, g.endVpn]),
      ctx,
    ).toEqual(freeRuns);
  }
}

describe('VmaTree model test (fast-check, against a sorted array)', () => {
  const configs: Config[] = [
    { cap: 4, merging: 'on' },
    { cap: 6, merging: 'on' },
    { cap: 32, merging: 'on' },
    { cap: 4, merging: 'insert-off' },
    { cap: 4, merging: 'none' },
  ];
  for (const config of configs) {
    it(`random insert/remove/removeRange/update/findGap, node capacity ${config.cap}, merging ${config.merging}`, () => {
      fc.assert(
        fc.property(
          fc.constantFrom(0, VMA_VPN_LIMIT - W),
          fc.array(opArb, { minLength: 1, maxLength: 80 }),
          (base, ops) => runModel(config, base, ops),
        ),
        { numRuns: config.cap === 4 && config.merging === 'on' ? 300 : 120 },
      );
    });
  }

  it('many small VMAs at capacity 4 exercise deep splits, borrows and merges', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('removeRange' as const), lo: fc.nat(W), len: fc.nat(30) }),
            fc.record({ op: fc.constant('update' as const), lo: fc.nat(W), len: fc.nat(30), tag: fc.nat(2) }),
            fc.record({
              op: fc.constant('findGap' as const),
              size: fc.integer({ min: 1, max: 6 }),
              lo: fc.nat(W),
              len: fc.nat(W),
              topDown: fc.boolean(),
              align: fc.constantFrom(1, 2, 4),
            }),
            fc.record({
              op: fc.constant('insert' as const),
              s: fc.nat(W - 1),
              len: fc.integer({ min: 1, max: 3 }),
              tag: fc.nat(2),
              anon: fc.constant(false),
              off: fc.nat(5),
            }),
          ),
          { maxLength: 60 },
        ),
        fc.array(fc.record({ gap: fc.nat(4), len: fc.integer({ min: 1, max: 3 }) }), {
          minLength: 40,
          maxLength: 120,
        }),
        (tail, layout) => {
          // Fill the window with small VMAs separated by gaps of 0–4 pages (alternating tags, so
          // nothing merges): a deep tree whose gap maxima differ from node to node.
          const fill: Op[] = [];
          let s = 0;
          for (const [i, { gap, len }] of layout.entries()) {
            s += gap;
            if (s + len > W) break;
            fill.push({ op: 'insert', s, len, tag: i % 3, anon: true, off: 0 });
            s += len;
          }
          runModel({ cap: 4, merging: 'on' }, 0, [...fill, ...tail]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('long seeded sequences over 2048 pages keep every invariant and match the model', () => {
    for (const cap of [4, 8]) {
      for (let run = 0; run < 12; run++) {
        let seed = run * 7919 + cap;
        const rnd = (n: number) => {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          return seed % n;
        };
        const config: Config = { cap, merging: 'on' };
        const tree = makeTree({ nodeCapacity: cap });
        const model = new Model(config);
        for (let step = 0; step < 500; step++) {
          const op = rnd(10);
          const lo = rnd(2048);
          if (op < 5) {
            const hi = lo + 1 + rnd(6);
            const v = rnd(3) === 0 ? anon(rnd(3), lo) : { tag: rnd(3), off: rnd(100) };
            if (model.insert(lo, hi, v) === 'ok') tree.insert(lo, hi, v);
          } else if (op < 8) {
            const hi = lo + rnd(24);
            expect(rows(tree.removeRange(lo, hi))).toEqual(model.removeRange(lo, hi));
          } else {
            const hi = lo + rnd(40);
            const tag = rnd(3);
            expect(tree.update(lo, hi, (v) => (v.tag === tag ? v : { tag, off: v.off }))).toBe(
              model.update(lo, hi, tag),
            );
          }
          const problems = tree.check();
          if (problems.length > 0) expect(problems, `cap ${cap} run ${run} step ${step}`).toEqual([]);
          const gLo = rnd(2048);
          const gHi = gLo + rnd(600);
          const size = 1 + rnd(8);
          const align = 1 << rnd(3);
          const topDown = rnd(2) === 1;
          const got = tree.findGap(size, gLo, gHi, { alignPages: align, topDown });
          const want = model.findGap(size, gLo, gHi, topDown, align);
          if (got !== want) expect(got, `findGap(${size}, ${gLo}, ${gHi}, ${align}, ${topDown})`).toBe(want);
        }
        expect(dump(tree)).toEqual(model.vmas.map((m) => [m.s, m.e, m.v.tag, m.v.off]));
        for (const size of [1, 2, 5, 9]) {
          for (const align of [1, 4]) {
            expect(tree.findGap(size, 100, 1900, { alignPages: align })).toBe(
              model.findGap(size, 100, 1900, false, align),
            );
            expect(tree.findGap(size, 100, 1900, { alignPages: align, topDown: true })).toBe(
              model.findGap(size, 100, 1900, true, align),
            );
          }
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------

describe('VmaTree with 100 000 VMAs', () => {
  it('builds in random order, finds every VMA, removes half, keeps gaps exact', () => {
    const n = 100_000;
    const t = new VmaTree<number>({ split: (v) => v, canMerge: (l, r) => l.value === r.value });
    // VMA i = [4i, 4i + 2) with payload i: no two touch, so nothing merges.
    const order = Array.from({ length: n }, (_, i) => i);
    let seed = 12345;
    for (let i = n - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const i of order) t.insert(4 * i, 4 * i + 2, i);
    expect(t.size).toBe(n);
    expect(t.mappedPages).toBe(2 * n);
    expect(t.height).toBeGreaterThanOrEqual(3);
    expect(t.height).toBeLessThanOrEqual(5);
    expect(t.check()).toEqual([]);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      if (t.find(4 * i)?.value !== i) bad++;
      if (t.find(4 * i + 1)?.value !== i) bad++;
      if (t.find(4 * i + 2) !== undefined) bad++;
      if (t.find(4 * i + 3) !== undefined) bad++;
    }
    expect(bad).toBe(0);
    expect(t.findGap(2, 0, 4 * n)).toBe(2);
    expect(t.findGap(3, 0, 4 * n)).toBe(-1);
    expect(t.findGap(3, 0, 4 * n + 1)).toBe(4 * n - 2);
    expect(t.findGap(2, 0, 4 * n, { topDown: true })).toBe(4 * n - 2);
    expect(t.findGap(2, 0, 4 * n - 2, { topDown: true })).toBe(4 * n - 6);
    expect(t.findGap(2, 0, 4 * n, { alignPages: 4 })).toBe(-1);
    // Remove the even VMAs: half by range (exact), half by identity.
    let removedPages = 0;
    for (let i = 0; i < n; i += 2) {
      if (i % 4 === 0) {
        const out = t.removeRange(4 * i, 4 * i + 2);
        if (out.length !== 1 || out[0]!.value !== i) bad++;
        removedPages += out.reduce((s, v) => s + v.endVpn - v.startVpn, 0);
      } else {
        t.remove(t.find(4 * i)!);
        removedPages += 2;
      }
    }
    expect(bad).toBe(0);
    expect(removedPages).toBe(n);
    expect(t.size).toBe(n / 2);
    expect(t.mappedPages).toBe(n);
    expect(t.check()).toEqual([]);
    for (let i = 0; i < n; i++) {
      const want = i % 2 === 1 ? i : undefined;
      if (t.find(4 * i + 1)?.value !== want) bad++;
    }
    expect(bad).toBe(0);
    // Free runs are now [0,4) and 6 pages between odd VMAs; the tail is free from 4n − 2.
    expect(t.findGap(6, 0, 4 * n)).toBe(6);
    expect(t.findGap(6, 0, 4 * n, { alignPages: 4 })).toBe(-1);
    expect(t.findGap(4, 0, 4 * n, { alignPages: 8 })).toBe(0);
    expect(t.findGap(4, 1, 4 * n, { alignPages: 8 })).toBe(8);
    expect(t.findGap(7, 0, VMA_VPN_LIMIT)).toBe(4 * n - 2);
    expect(t.findGap(6, 0, 4 * (n - 1), { topDown: true })).toBe(4 * (n - 1) - 6);
    expect([...t.gaps(0, 20)].map((g) => [g.startVpn, g.endVpn])).toEqual([
      [0, 4],
      [6, 12],
      [14, 20],
    ]);
    // One removeRange across everything.
    expect(t.removeRange(0, VMA_VPN_LIMIT)).toHaveLength(n / 2);
    expect(t.size).toBe(0);
    expect(t.height).toBe(1);
    expect(t.check()).toEqual([]);
  });
});
