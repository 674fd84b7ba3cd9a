/**
 * The reverse map's own bookkeeping: owner ids (spaces are kept as small numbers, an id is reused
 * once its space has no entry left) and their entry counts (`entriesOf`, the O(1) RSS), the
 * free-node stack, and the batched add of fork's copy — checked against a plain model of
 * (frame, space, vpn) triples.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReverseMap } from './rmap.js';

const FRAMES = 16;
const PAGE = 4096;
const indexOf = (pa: number): number => (pa % PAGE === 0 && pa / PAGE < FRAMES ? pa / PAGE : -1);

type Space = { readonly name: string };

/** The model's view of frame `f`: "space@vpn" strings, sorted. */
function modelOf(model: Set<string>, f: number): string[] {
  return [...model]
    .filter((e) => e.startsWith(`${f}:`))
    .map((e) => e.slice(e.indexOf(':') + 1))
    .sort();
}

function mapOf(m: ReverseMap<Space>, f: number): string[] {
  const out: string[] = [];
  m.forEach(f * PAGE, (s, vpn) => out.push(`${s.name}@${vpn}`));
  return out.sort();
}

describe('reverse map', () => {
  it('reuses an owner id only after its space has no entry left, and never confuses two spaces', () => {
    const m = new ReverseMap<Space>(FRAMES, indexOf, 2);
    const a = { name: 'a' };
    const b = { name: 'b' };
    m.add(PAGE, a, 7);
    m.add(PAGE, b, 7);
    expect(m.remove(PAGE, a, 7)).toBe(true);
    // a's id is free now; c takes it, and a (gone) matches nothing.
    const c = { name: 'c' };
    m.add(2 * PAGE, c, 9);
    expect(m.has(PAGE, a, 7)).toBe(false);
    expect(m.remove(PAGE, a, 7)).toBe(false);
    expect(m.move(2 * PAGE, a, 9, 10)).toBe(false);
    expect(mapOf(m, 1)).toEqual(['b@7']);
    expect(mapOf(m, 2)).toEqual(['c@9']);
    expect(m.size).toBe(2);
    // Per-space counts follow the ids: a forgotten space counts 0, the id's new owner only its own.
    expect([m.entriesOf(a), m.entriesOf(b), m.entriesOf(c), m.entriesOf({ name: 'never' })]).toEqual([
      0, 1, 1, 0,
    ]);
  });

  it('relinkAt moves one entry from a frame to another (the COW copy), as removeAt then addAt would', () => {
    const m = new ReverseMap<Space>(FRAMES, indexOf, 2);
    const a = { name: 'a' };
    const b = { name: 'b' };
    m.add(PAGE, b, 7); // the parent
    m.add(PAGE, a, 7); // the child
    m.add(PAGE, a, 8); // the child again, another page of the same frame: the chain is a@8, a@7, b@7
    m.add(3 * PAGE, a, 1);
    m.relinkAt(1, 2, a, 7); // neither the head nor the tail of frame 1's chain
    expect(mapOf(m, 1)).toEqual(['a@8', 'b@7']);
    expect(mapOf(m, 2)).toEqual(['a@7']);
    m.relinkAt(1, 3, a, 8); // the head, onto a frame with an entry already
    expect(mapOf(m, 1)).toEqual(['b@7']);
    expect(mapOf(m, 3)).toEqual(['a@1', 'a@8']);
    expect(m.size).toBe(4); // nothing added or lost
    // No entry to move (another space, another page): the entry is added to the target.
    const c = { name: 'c' };
    m.relinkAt(1, 4, c, 7);
    m.relinkAt(1, 4, b, 9);
    expect(mapOf(m, 1)).toEqual(['b@7']);
    expect(mapOf(m, 4)).toEqual(['b@9', 'c@7']);
    expect(m.size).toBe(6);
    // Owner ids are still counted right: removing every entry of a forgets it.
    for (const [f, vpn] of [
      [2, 7],
      [3, 1],
      [3, 8],
    ] as const)
      expect(m.remove(f * PAGE, a, vpn)).toBe(true);
    m.add(5 * PAGE, { name: 'd' }, 1); // takes a's id, which must not match a's old entries
    expect(m.has(3 * PAGE, a, 8)).toBe(false);
    expect(m.size).toBe(4);
  });

  it('addBatch adds what the same addAt calls add (indices of -1 skipped), growing the pool as needed', () => {
    const one = new ReverseMap<Space>(FRAMES, indexOf, 2);
    const batch = new ReverseMap<Space>(FRAMES, indexOf, 2);
    const s = { name: 's' };
    const index = Int32Array.from([3, -1, 4, 3, 5]);
    const offset = Int32Array.from([0, 1, 2, 3, 4]);
    for (let j = 0; j < index.length; j++) if (index[j]! >= 0) one.addAt(index[j]!, s, 2 ** 35 + offset[j]!);
    batch.addBatch(index, offset, index.length, s, 2 ** 35);
    for (let f = 0; f < FRAMES; f++) expect(mapOf(batch, f)).toEqual(mapOf(one, f));
    expect(batch.size).toBe(one.size);
  });

  it('matches a model of (frame, space, page) entries under random adds, batches, moves and removes', () => {
    const spaces = ['p', 'q', 'r', 's'].map((name) => ({ name }));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), f: fc.nat(FRAMES - 1), s: fc.nat(3), vpn: fc.nat(5) }),
      fc.record({
        kind: fc.constant('remove' as const),
        f: fc.nat(FRAMES - 1),
        s: fc.nat(3),
        vpn: fc.nat(5),
      }),
      fc.record({ kind: fc.constant('move' as const), f: fc.nat(FRAMES - 1), s: fc.nat(3), vpn: fc.nat(5) }),
      fc.record({
        kind: fc.constant('batch' as const),
        fs: fc.array(fc.integer({ min: -1, max: FRAMES - 1 }), { maxLength: 6 }),
        s: fc.nat(3),
        vpn: fc.nat(5),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const m = new ReverseMap<Space>(FRAMES, indexOf, 1);
        const model = new Set<string>();
        const key = (f: number, s: number, vpn: number) => `${f}:${spaces[s]!.name}@${vpn}`;
        for (const o of ops) {
          if (o.kind === 'add') {
            if (model.has(key(o.f, o.s, o.vpn))) continue; // one entry per (frame, space, page)
            m.add(o.f * PAGE, spaces[o.s]!, o.vpn);
            model.add(key(o.f, o.s, o.vpn));
          } else if (o.kind === 'remove') {
            expect(m.remove(o.f * PAGE, spaces[o.s]!, o.vpn)).toBe(model.delete(key(o.f, o.s, o.vpn)));
          } else if (o.kind === 'move') {
            const to = o.vpn + 100;
            const had = model.has(key(o.f, o.s, o.vpn)) && !model.has(key(o.f, o.s, to));
            if (!had) continue;
            expect(m.move(o.f * PAGE, spaces[o.s]!, o.vpn, to)).toBe(true);
            model.delete(key(o.f, o.s, o.vpn));
            model.add(key(o.f, o.s, to));
          } else {
            const pairs = o.fs
              .map((f, j) => [f, j] as const)
              .filter(([f, j]) => f < 0 || !model.has(key(f, o.s, 1000 * o.vpn + j)));
            const index = Int32Array.from(pairs.map(([f]) => f));
            const offset = Int32Array.from(pairs.map(([, j]) => j));
            m.addBatch(index, offset, pairs.length, spaces[o.s]!, 1000 * o.vpn);
            for (const [f, j] of pairs) if (f >= 0) model.add(key(f, o.s, 1000 * o.vpn + j));
          }
          expect(m.size).toBe(model.size);
          // entriesOf: each space's own count (the O(1) RSS), 0 for a space without entries.
          for (const sp of spaces)
            expect(m.entriesOf(sp)).toBe([...model].filter((e) => e.includes(`:${sp.name}@`)).length);
        }
        for (let f = 0; f < FRAMES; f++) expect(mapOf(m, f)).toEqual(modelOf(model, f));
      }),
      { numRuns: 300 },
    );
  });
});
