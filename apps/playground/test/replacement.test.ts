import { POLICY_NAMES } from '@mmkit/replay';
import { describe, expect, it } from 'vitest';
import { BELADY, faultsAt, parseFrames, parseReferences, runAll, runPolicy } from '../src/replacement.js';

describe('the Replacement view’s model', () => {
  it('shows Belady’s anomaly: FIFO takes 9 faults with 3 frames and 10 with 4', () => {
    const refs = parseReferences(BELADY.references);
    const [three, four] = runAll(['fifo'], parseFrames(BELADY.frames), refs);
    expect([three!.frames, four!.frames]).toEqual([3, 4]);
    expect(faultsAt(three!, refs.length)).toBe(9);
    expect(faultsAt(four!, refs.length)).toBe(10);
    // LRU is a stack algorithm: more frames never fault more (10 and 8 on this string).
    const [l3, l4] = runAll(['lru'], [3, 4], refs);
    expect([faultsAt(l3!, 12), faultsAt(l4!, 12)]).toEqual([10, 8]);
  });

  it('keeps each policy’s state after every reference: FIFO order, evictions, ARC’s p, the clock hand', () => {
    const refs = parseReferences('7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1');
    const fifo = runPolicy('fifo', 3, refs);
    expect(fifo.states[0]!.resident).toEqual([]);
    expect(fifo.states[3]!.resident).toEqual([7, 0, 1]);
    // The 4th reference (2) faults and evicts the oldest, 7.
    expect(fifo.hits[3]).toBe(false);
    expect(fifo.evicted[3]).toBe(7);
    expect(fifo.states[4]!.resident).toEqual([0, 1, 2]);
    // The textbook counts on this string with 3 frames: FIFO 15, LRU 12, OPT 9.
    expect(faultsAt(fifo, 20)).toBe(15);
    expect(faultsAt(runPolicy('lru', 3, refs), 20)).toBe(12);
    expect(faultsAt(runPolicy('opt', 3, refs), 20)).toBe(9);
    const clock = runPolicy('clock', 3, refs);
    expect(clock.states[5]!.hand).toBe(0);
    expect(clock.states[5]!.referenced).toContain(0);
    const arc = runPolicy('arc', 3, refs);
    expect(Object.keys(arc.states[20]!.lists)).toEqual(['T1', 'T2', 'B1', 'B2']);
    expect(typeof arc.states[20]!.values.p).toBe('number');
    // Every policy runs, and OPT is never beaten.
    const all = runAll([...POLICY_NAMES], [3], refs);
    expect(all.map((r) => r.policy)).toEqual([...POLICY_NAMES]);
    for (const r of all) expect(faultsAt(r, 20), r.policy).toBeGreaterThanOrEqual(9);
  });

  it('refuses bad input with a message naming the item', () => {
    expect(() => parseReferences('  ')).toThrow(/^the reference string is empty/);
    expect(() => parseReferences('1 2 x3')).toThrow('reference 3 "x3" is not a page number');
    expect(() => parseReferences('1 99999999999999999')).toThrow(
      'reference 2 "99999999999999999" is too large',
    );
    expect(() => parseReferences(Array(501).fill('1').join(' '))).toThrow(
      /501 references; expected at most 500/,
    );
    expect(parseReferences('0x10, 2,3')).toEqual([16, 2, 3]);
    expect(() => parseFrames('0')).toThrow('frames "0" is not a count from 1 to 64');
    expect(() => parseFrames('3 a')).toThrow('frames "a" is not a count');
    expect(() => parseFrames('')).toThrow(/^frames is empty/);
    expect(() => parseFrames('1 2 3 4 5')).toThrow(/at most 4/);
  });
});
