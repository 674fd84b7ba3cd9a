// Hand-computed cases for every policy. Each comment shows the state after each reference,
// oldest (or least recently used) first; M = miss, H = hit.
import { InvalidArgumentError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { createArcPolicy } from './arc.js';
import { createClockPolicy } from './clock.js';
import { computeNextUseSync } from './next-use.js';
import { createPolicy, type PolicyName } from './policies.js';
import { replaySync } from './replay.js';
import { createSievePolicy } from './sieve.js';
import { createTwoListPolicy } from './two-list.js';
import { createTwoQPolicy } from './two-q.js';
import { createWsClockPolicy } from './ws-clock.js';

const BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];

function misses(name: PolicyName, trace: number[], capacity: number): number {
  return replaySync(trace, { policy: name, capacities: capacity })[0]!.misses;
}

function hits(name: PolicyName, trace: number[], capacity: number): boolean[] {
  const p = createPolicy(name, capacity, { nextUse: computeNextUseSync(trace) });
  return trace.map((k) => p.access(k));
}

describe('FIFO', () => {
  it("shows Belady's anomaly: 9 faults with 3 frames, 10 with 4", () => {
    // 3 frames: 1M 2M 3M 4M[2,3,4] 1M[3,4,1] 2M[4,1,2] 5M[1,2,5] 1H 2H 3M[2,5,3] 4M[5,3,4] 5H → 9
    expect(misses('fifo', BELADY, 3)).toBe(9);
    // 4 frames: 1M 2M 3M 4M 1H 2H 5M[2,3,4,5] 1M[3,4,5,1] 2M[4,5,1,2] 3M[5,1,2,3] 4M[1,2,3,4] 5M → 10
    expect(misses('fifo', BELADY, 4)).toBe(10);
  });
});

describe('LRU', () => {
  it('on the Belady string: 10 faults with 3 frames, 8 with 4', () => {
    // 3: 1M 2M 3M 4M[2,3,4] 1M[3,4,1] 2M[4,1,2] 5M[1,2,5] 1H[2,5,1] 2H[5,1,2] 3M[1,2,3] 4M[2,3,4] 5M → 10
    expect(misses('lru', BELADY, 3)).toBe(10);
    // 4: 1M 2M 3M 4M 1H 2H[3,4,1,2] 5M[4,1,2,5] 1H 2H[4,5,1,2] 3M[5,1,2,3] 4M[1,2,3,4] 5M → 8
    expect(misses('lru', BELADY, 4)).toBe(8);
  });
});

describe('OPT', () => {
  it('on the Belady string: 7 faults with 3 frames, 6 with 4', () => {
    // 3: 1M 2M 3M; 4M evicts 3 (next uses 1@4, 2@5, 3@9) [1,2,4]; 1H 2H; 5M evicts 4 (1@7 2@8 4@10)
    //    [1,2,5]; 1H 2H; 3M evicts 1 (1, 2 never again; smallest key first) [2,5,3];
    //    4M evicts 2 (never again; 3 never again too, 2 < 3) [5,3,4]; 5H → 7
    expect(misses('opt', BELADY, 3)).toBe(7);
    // 4: 1M 2M 3M 4M 1H 2H; 5M evicts 4 (4@10 farthest); 1H 2H 3H; 4M; 5H → 6
    expect(misses('opt', BELADY, 4)).toBe(6);
  });
  it('always loads the incoming page, even one never used again', () => {
    const p = createPolicy('opt', 1, { nextUse: computeNextUseSync([1, 2, 1]) });
    expect([p.access(1), p.access(2), p.access(1)]).toEqual([false, false, false]);
    expect(p.has(1)).toBe(true);
  });
  it('requires a next-use array', () => {
    expect(() => createPolicy('opt', 3)).toThrow(InvalidArgumentError);
  });
});

describe('CLOCK', () => {
  it('gives a referenced oldest page a second chance and moves it to the newest end', () => {
    // 1M 2M 3M [1,2,3]; 1H sets 1's bit; 4M: hand at 1 (bit set) → clear, [2,3,1]; 2 evicted → [3,1,4];
    // 1H sets the bit again. FIFO would have evicted 1 and missed the last reference.
    expect(hits('clock', [1, 2, 3, 1, 4, 1], 3)).toEqual([false, false, false, true, false, true]);
    expect(hits('fifo', [1, 2, 3, 1, 4, 1], 3)).toEqual([false, false, false, true, false, false]);
    const p = createClockPolicy(3);
    for (const k of [1, 2, 3, 1, 4, 1]) p.access(k);
    expect(p.state()).toMatchObject({ resident: [3, 1, 4], hand: 0, referenced: [1] });
  });
  it('a newly loaded page has its bit clear', () => {
    const p = createClockPolicy(2);
    p.access(1);
    expect(p.state().referenced).toEqual([]);
  });
  it('on the Belady string: 10 faults with 3 frames', () => {
    // 1M 2M 3M 4M[2,3,4] 1M[3,4,1] 2M[4,1,2] 5M[1,2,5] 1H 2H (bits on 1, 2)
    // 3M: 1 → back, 2 → back, [5,1,2] evict 5 → [1,2,3]; 4M evicts 1 [2,3,4]; 5M evicts 2 → 10
    expect(misses('clock', BELADY, 3)).toBe(10);
  });
  it('in a kernel, the hardware bit counts and is cleared through the callback', () => {
    const p = createClockPolicy(3);
    for (const k of [1, 2, 3]) p.insert(k);
    const accessed = new Set([1, 2]);
    const cleared: [number, boolean][] = [];
    const victim = p.selectVictim(
      (k) => accessed.has(k),
      (k, activated) => {
        cleared.push([k, activated]);
        accessed.delete(k);
      },
    );
    expect(victim).toBe(3);
    expect(cleared).toEqual([
      [1, true],
      [2, true],
    ]); // second chances: kept because referenced
    expect(p.state().resident).toEqual([1, 2]);
  });
});

describe('LFU', () => {
  it('evicts the smallest count, counts forgotten on eviction', () => {
    // cap 2: 1M(c1) 1H(c2) 2M(c1) 3M evicts 2 (count 1) 2M evicts 3 (count 1, older) 3M evicts 2 1H → 2 hits
    expect(hits('lfu', [1, 1, 2, 3, 2, 3, 1], 2)).toEqual([false, true, false, false, false, false, true]);
  });
  it('breaks ties by the oldest last reference', () => {
    // cap 3: 1M 2M 3M 2H(t3) 1H(t4) 3H(t5): all count 2; 4M evicts 2 (last ref t3, oldest);
    // 2M evicts 4 (count 1). LRU would also evict 2 first, then 1.
    const p = createPolicy('lfu', 3);
    const got = [1, 2, 3, 2, 1, 3, 4, 2].map((k) => p.access(k));
    expect(got).toEqual([false, false, false, true, true, true, false, false]);
    expect([1, 2, 3, 4].filter((k) => p.has(k))).toEqual([1, 2, 3]);
  });
});

describe('SIEVE', () => {
  it('keeps visited pages in place and moves the hand from the oldest towards the newest', () => {
    // cap 3: 1M 2M 3M [1,2,3]; 1H visited; 4M: hand at 1 (visited → clear) → 2 evicted, hand → 3;
    // [1,3,4]; 5M: hand at 3 → evicted, hand → 4; [1,4,5]; 1H; 3M: hand at 4 → evicted, hand → 5.
    const p = createSievePolicy(3);
    const got = [1, 2, 3, 1, 4, 5, 1, 3].map((k) => p.access(k));
    expect(got).toEqual([false, false, false, true, false, false, true, false]);
    // state().resident starts at the hand (5) and wraps: 5, 3, 1.
    expect(p.state()).toMatchObject({ resident: [5, 3, 1], lists: { queue: [1, 5, 3] }, referenced: [1] });
  });
});

describe('ARC', () => {
  it('adapts p on ghost hits (worked by hand, C = 2)', () => {
    // 1M T1=[1]; 2M T1=[1,2]; 1H T1=[2] T2=[1];
    // 3M (case IV, |T1|+|B1|+1 = 2 not > 2, directory 2 < 4): REPLACE: |T1| = 1 > p = 0 → 2 to B1; T1=[3]
    // 2M ghost hit in B1: p = min(0 + max(0/1, 1), 2) = 1; REPLACE: |T1| = 1 not > p, T2 not empty
    //    → 1 to B2; T2=[2]
    // 1M ghost hit in B2: p = max(1 − max(0/1, 1), 0) = 0; REPLACE: |T1| = 1 > 0 → 3 to B1; T2=[2,1]
    const p = createArcPolicy(2);
    const got = [1, 2, 1, 3, 2, 1].map((k) => p.access(k));
    expect(got).toEqual([false, false, true, false, false, false]);
    expect(p.state()).toMatchObject({ lists: { T1: [], T2: [2, 1], B1: [3], B2: [] }, values: { p: 0 } });
  });
  it('p is real-valued', () => {
    // C = 4: fill T1 with 1..4; 5, 6, 7 push 1, 2, 3 to B1 (case IV); a hit on 4 moves it to T2;
    // 8 evicts from T1 (|T1| = 3 > p = 0): 5 → B1 … then ghost hits raise p by |B2|/|B1| ratios.
    const p = createArcPolicy(4);
    for (const k of [1, 2, 3, 4, 4, 5, 5, 6, 6, 7, 1]) p.access(k);
    const s = p.state();
    expect(s.values.p).toBeGreaterThan(0);
    expect(s.size).toBe(4);
  });
});

describe('2Q', () => {
  it('follows libCacheSim with Kin = 1, Kout = 2, Am limit 3 (C = 4)', () => {
    // 1-4M A1in=[1,2,3,4] (A1in grows past Kin while the cache is not full)
    // 5M: A1in 4 > 1 → 1 to A1out; A1in=[2,3,4,5]
    // 1M (A1out hit): 2 to A1out=[1,2]→ minus 1 = [2]; Am=[1]; A1in=[3,4,5]
    // 6M: 3 to A1out=[2,3]; A1in=[4,5,6]
    // 1H (Am)
    // 2M (A1out): A1out=[3]; 4 to A1out=[3,4]; Am=[1,2]; A1in=[5,6]
    // 3M (A1out): A1out=[4]; 5 to A1out=[4,5]; Am=[1,2,3]; A1in=[6]
    // 4M (A1out): A1out=[5]; A1in 1 ≤ Kin → Am's LRU 1 evicted; Am=[2,3,4]
    const p = createTwoQPolicy(4);
    const got = [1, 2, 3, 4, 5, 1, 6, 1, 2, 3, 4].map((k) => p.access(k));
    expect(got.map((h, i) => (h ? i : -1)).filter((i) => i >= 0)).toEqual([7]);
    expect(p.state().lists).toEqual({ A1in: [6], A1out: [5], Am: [2, 3, 4] });
  });
  it('caches nothing when Kin = ⌊0.25 C⌋ = 0', () => {
    expect(misses('2q', [1, 1, 1, 2, 2], 3)).toBe(5);
    expect(createTwoQPolicy(3).insert(7)).toBe(7);
  });
});

describe('renameGhost (ARC, 2Q): a ghost entry moves to another key, keeping its place', () => {
  it('ARC: the renamed ghost is hit by its new key, not by its old one; refused for resident, unknown or taken keys', () => {
    // C = 4, kernel style: 1..4 loaded, 1, 2, 3 referenced (T1 = [4], T2 = [1, 2, 3]); the
    // eviction (|T1| + |B1| + 1 = 2 ≤ C, REPLACE with |T1| = 1 > p = 0) sends 4 to B1.
    const p = createArcPolicy(4);
    for (const k of [1, 2, 3, 4]) p.insert(k);
    for (const k of [1, 2, 3]) p.referenced(k);
    expect(p.selectVictim()).toBe(4);
    expect(p.state().lists).toMatchObject({ T1: [], T2: [1, 2, 3], B1: [4] });
    expect(p.renameGhost(4, 104)).toBe(true);
    expect(p.state().lists).toMatchObject({ B1: [104] });
    // The old key is an unrelated page now: a fresh page in T1, p unchanged.
    p.insert(4);
    expect(p.state()).toMatchObject({ lists: { T1: [4], T2: [1, 2, 3], B1: [104] }, values: { p: 0 } });
    expect(p.selectVictim()).toBe(4);
    // The renamed ghost hit: p = min(0 + max(|B2| / |B1| = 0 / 2, 1), 4) = 1, into T2.
    expect(p.renameGhost(104, 7)).toBe(true);
    p.insert(7);
    expect(p.state()).toMatchObject({ lists: { T1: [], T2: [1, 2, 3, 7], B1: [4] }, values: { p: 1 } });
    // Refused: `from` resident or unknown, `to` resident or a ghost.
    expect(p.renameGhost(7, 8)).toBe(false);
    expect(p.renameGhost(55, 8)).toBe(false);
    expect(p.renameGhost(4, 1)).toBe(false);
    expect(p.selectVictim()).toBe(1); // T1 empty: T2's oldest to B2
    expect(p.renameGhost(4, 1)).toBe(false);
    expect(p.state().lists).toMatchObject({ B1: [4], B2: [1] });
    expect(() => p.renameGhost(-1, 3)).toThrow(InvalidArgumentError);
    expect(() => p.renameGhost(4, 0.5)).toThrow(InvalidArgumentError);
  });
  it('2Q: an A1out ghost renamed is promoted into Am under its new key', () => {
    // C = 4 (Kin 1, Kout 2): 1..4 in A1in; one eviction moves 1 to A1out.
    const p = createTwoQPolicy(4);
    for (const k of [1, 2, 3, 4]) p.insert(k);
    expect(p.selectVictim()).toBe(1);
    expect(p.renameGhost(1, 9)).toBe(true);
    expect(p.state().lists).toEqual({ A1in: [2, 3, 4], A1out: [9], Am: [] });
    p.insert(1); // unrelated: A1in
    expect(p.selectVictim()).toBe(2);
    expect(p.insert(9)).toBe(-1); // the ghost hit: into Am
    expect(p.state().lists).toEqual({ A1in: [3, 4, 1], A1out: [2], Am: [9] });
    expect(p.renameGhost(3, 10)).toBe(false); // resident
    expect(p.renameGhost(2, 9)).toBe(false); // taken
    expect(() => p.renameGhost(2, -5)).toThrow(InvalidArgumentError);
  });
  it('policies without ghost entries do not have it', () => {
    for (const name of ['fifo', 'clock', 'lru', 'lfu', 'sieve', 'two-list', 'wsclock'] as const)
      expect(createPolicy(name, 4).renameGhost).toBeUndefined();
  });
});

describe('two-list (Linux active/inactive)', () => {
  it('promotes on the second reference and ages the active list when the inactive one is low', () => {
    // cap 3: 1M 2M inactive=[1,2]; 1H flag; 2H flag; (no promotion yet)
    // 1H: flagged & inactive → active=[1]; 2H → active=[1,2]; inactive=[]
    // 3M: inactive=[3]; 4M: full; inactive_is_low (1·1 < 2) → demote 1: inactive=[3,1] active=[2];
    //     not low (2 ≥ 1); evict 3 → inactive=[1,4]
    // 1H: 1's flag was cleared on activation → flag; 1H → active=[2,1]
    const p = createTwoListPolicy(3);
    const got = [1, 2, 1, 2, 1, 2, 3, 4, 1, 1].map((k) => p.access(k));
    expect(got).toEqual([false, false, true, true, true, true, false, false, true, true]);
    expect(p.state().lists).toEqual({ inactive: [4], active: [2, 1] });
  });
  it('in a kernel, tells activation (FOLIOREF_ACTIVATE) from rotation (FOLIOREF_KEEP) and aging', () => {
    const p = createTwoListPolicy(4);
    for (const k of [1, 2, 3, 4]) p.insert(k);
    p.referenced(2); // PG_referenced on 2
    const accessed = new Set([1, 2]);
    const cleared: [number, boolean][] = [];
    const clear = (k: number, activated: boolean) => {
      cleared.push([k, activated]);
      accessed.delete(k);
    };
    // 1: accessed, flag clear → flag set, rotated (keep); 2: accessed and flagged → activated; 3 evicted.
    expect(p.selectVictim((k) => accessed.has(k), clear)).toBe(3);
    expect(cleared).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(p.state().lists).toEqual({ inactive: [4, 1], active: [2] });
    // The inactive list is low now: the active page is demoted first (its accessed bit aged, not activated).
    accessed.add(2);
    cleared.length = 0;
    p.remove(4);
    p.remove(1);
    expect(p.selectVictim((k) => accessed.has(k), clear)).toBe(2);
    expect(cleared).toEqual([[2, false]]);
  });
  it('inactive_is_low uses ⌊√(10·GiB)⌋ above 1 GiB', () => {
    const p = createTwoListPolicy(100, { pagesPerGiB: 10 }); // 10 "pages per GiB"
    for (let k = 0; k < 40; k++) p.access(k); // 40 inactive
    for (let k = 0; k < 30; k++) {
      p.access(k);
      p.access(k);
    } // 30 active, 10 inactive; gb = 4, ratio = ⌊√40⌋ = 6: 10·6 = 60 ≥ 30 → not low
    expect(p.inactiveIsLow()).toBe(false);
    for (let k = 30; k < 36; k++) {
      p.access(k);
      p.access(k);
    } // 36 active, 4 inactive: 4·6 = 24 < 36 → low
    expect(p.inactiveIsLow()).toBe(true);
  });
});

describe('WSClock', () => {
  it('spares a referenced page and evicts the oldest when no page is older than τ', () => {
    // cap 2, τ = 10: 1M (t1) 2M (t2) 1H (t3, bit); 3M at t3: hand at 1 (bit → clear, lastUse 3),
    // 2: age 1 ≤ τ; no page older than τ → the oldest last use (2) is evicted.
    const p = createWsClockPolicy(2, { tau: 10 });
    expect([1, 2, 1, 3].map((k) => p.access(k))).toEqual([false, false, true, false]);
    expect(p.has(1) && p.has(3) && !p.has(2)).toBe(true);
  });
  it('evicts the first unreferenced page older than τ', () => {
    // cap 3, τ = 1: 1M t1, 2M t2, 3M t3, 3H t4, 2H t5; 4M at t5: hand at 1: age 4 > 1 → evicted
    const p = createWsClockPolicy(3, { tau: 1 });
    for (const k of [1, 2, 3, 3, 2, 4]) p.access(k);
    expect([1, 2, 3, 4].filter((k) => p.has(k))).toEqual([2, 3, 4]);
    expect(p.state().values.time).toBe(6);
  });
});
