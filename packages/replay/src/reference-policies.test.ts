// Every policy against a reference implementation written as plainly as possible (arrays and
// loops, oldest first), on random reference strings; plus OPT ≤ everyone and MRC = LRU replay.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lruMissRatioCurveSync } from './lru-mrc.js';
import { computeNextUseSync } from './next-use.js';
import { createPolicy, POLICY_NAMES, type PolicyName } from './policies.js';
import { replaySync } from './replay.js';

/** A reference policy: `access` returns hit; `resident` lists resident keys. */
interface Ref {
  access(k: number): boolean;
  resident(): number[];
}

function fifo(c: number): Ref {
  const q: number[] = [];
  return {
    access(k) {
      if (q.includes(k)) return true;
      if (q.length === c) q.shift();
      q.push(k);
      return false;
    },
    resident: () => q,
  };
}

function lru(c: number): Ref {
  const q: number[] = [];
  return {
    access(k) {
      const i = q.indexOf(k);
      if (i >= 0) {
        q.splice(i, 1);
        q.push(k);
        return true;
      }
      if (q.length === c) q.shift();
      q.push(k);
      return false;
    },
    resident: () => q,
  };
}

function clock(c: number): Ref {
  const q: { k: number; r: boolean }[] = [];
  return {
    access(k) {
      const e = q.find((x) => x.k === k);
      if (e) {
        e.r = true;
        return true;
      }
      if (q.length === c) {
        while (q[0]!.r) {
          q[0]!.r = false;
          q.push(q.shift()!);
        }
        q.shift();
      }
      q.push({ k, r: false });
      return false;
    },
    resident: () => q.map((x) => x.k),
  };
}

function sieve(c: number): Ref {
  const q: { k: number; v: boolean }[] = [];
  let hand: { k: number; v: boolean } | null = null;
  return {
    access(k) {
      const e = q.find((x) => x.k === k);
      if (e) {
        e.v = true;
        return true;
      }
      if (q.length === c) {
        let i = hand ? q.indexOf(hand) : 0;
        while (q[i]!.v) {
          q[i]!.v = false;
          i = (i + 1) % q.length;
        }
        hand = q[i + 1] ?? null;
        q.splice(i, 1);
      }
      q.push({ k, v: false });
      return false;
    },
    resident: () => q.map((x) => x.k),
  };
}

function lfu(c: number): Ref {
  const q: { k: number; n: number; t: number }[] = [];
  let t = 0;
  return {
    access(k) {
      const e = q.find((x) => x.k === k);
      if (e) {
        e.n++;
        e.t = t++;
        return true;
      }
      if (q.length === c) {
        let v = 0;
        for (let i = 1; i < q.length; i++) {
          if (q[i]!.n < q[v]!.n || (q[i]!.n === q[v]!.n && q[i]!.t < q[v]!.t)) v = i;
        }
        q.splice(v, 1);
      }
      q.push({ k, n: 1, t: t++ });
      return false;
    },
    resident: () => q.map((x) => x.k),
  };
}

function opt(c: number, trace: number[]): Ref {
  const q: number[] = [];
  let t = 0;
  const nextUse = (k: number, from: number) => {
    for (let i = from; i < trace.length; i++) if (trace[i] === k) return i;
    return Number.POSITIVE_INFINITY;
  };
  return {
    access(k) {
      t++;
      if (q.includes(k)) return true;
      if (q.length === c) {
        let v = 0;
        for (let i = 1; i < q.length; i++) {
          const a = nextUse(q[i]!, t);
          const b = nextUse(q[v]!, t);
          if (a > b || (a === b && q[i]! < q[v]!)) v = i;
        }
        q.splice(v, 1);
      }
      q.push(k);
      return false;
    },
    resident: () => q,
  };
}

function arc(c: number): Ref {
  const T1: number[] = [];
  const T2: number[] = [];
  const B1: number[] = [];
  const B2: number[] = [];
  let p = 0;
  const replace = (ghost: number) => {
    if ((T1.length > 0 && (T1.length > p || (T1.length === p && ghost === 2))) || T2.length === 0) {
      B1.push(T1.shift()!);
    } else {
      B2.push(T2.shift()!);
    }
  };
  return {
    access(k) {
      for (const T of [T1, T2]) {
        const i = T.indexOf(k);
        if (i >= 0) {
          T.splice(i, 1);
          T2.push(k);
          return true;
        }
      }
      let ghost = 0;
      if (B1.includes(k)) {
        p = Math.min(p + Math.max(B2.length / B1.length, 1), c);
        B1.splice(B1.indexOf(k), 1);
        ghost = 1;
      } else if (B2.includes(k)) {
        p = Math.max(p - Math.max(B1.length / B2.length, 1), 0);
        B2.splice(B2.indexOf(k), 1);
        ghost = 2;
      }
      if (T1.length + T2.length === c) {
        if (ghost) replace(ghost);
        else if (T1.length + B1.length + 1 > c) {
          if (B1.length > 0) {
            B1.shift();
            replace(0);
          } else T1.shift();
        } else {
          if (T1.length + B1.length + T2.length + B2.length >= 2 * c && B2.length > 0) B2.shift();
          replace(0);
        }
      }
      (ghost ? T2 : T1).push(k);
      return false;
    },
    resident: () => [...T1, ...T2],
  };
}

function twoQ(c: number): Ref {
  const kin = Math.floor(c / 4);
  const kout = Math.floor(c / 2);
  const ain: number[] = [];
  const aout: number[] = [];
  const am: number[] = [];
  return {
    access(k) {
      if (ain.includes(k)) return true;
      let ghost = false;
      if (aout.includes(k)) {
        aout.splice(aout.indexOf(k), 1);
        ghost = true;
      }
      if (am.includes(k)) {
        am.splice(am.indexOf(k), 1);
        am.push(k);
        return true;
      }
      if (kin === 0) return false;
      while (ain.length + am.length >= c) {
        if (ain.length > kin) {
          const old = ain.shift()!;
          if (kout > 0) {
            if (aout.length === kout) aout.shift();
            aout.push(old);
          }
        } else am.shift();
      }
      if (ghost) {
        if (am.length === c - kin) am.shift();
        am.push(k);
      } else ain.push(k);
      return false;
    },
    resident: () => [...ain, ...am],
  };
}

function twoList(c: number): Ref {
  const inactive: number[] = [];
  const active: number[] = [];
  const flag = new Set<number>();
  return {
    access(k) {
      if (inactive.includes(k) || active.includes(k)) {
        if (!flag.has(k)) flag.add(k);
        else if (inactive.includes(k)) {
          inactive.splice(inactive.indexOf(k), 1);
          active.push(k);
          flag.delete(k);
        }
        return true;
      }
      if (inactive.length + active.length === c) {
        while (active.length > 0 && (inactive.length === 0 || inactive.length < active.length)) {
          inactive.push(active.shift()!);
        }
        flag.delete(inactive.shift()!);
      }
      inactive.push(k);
      return false;
    },
    resident: () => [...inactive, ...active],
  };
}

function wsclock(c: number, tau: number): Ref {
  // The circle as an array starting at the hand.
  let ring: { k: number; r: boolean; last: number }[] = [];
  let now = 0;
  return {
    access(k) {
      const e = ring.find((x) => x.k === k);
      if (e) {
        now++;
        e.r = true;
        return true;
      }
      if (ring.length === c) {
        let victim = -1;
        let oldest = -1;
        for (let i = 0; i < ring.length; i++) {
          const x = ring[i]!;
          if (x.r) {
            x.r = false;
            x.last = now;
          } else if (now - x.last > tau) {
            victim = i;
            break;
          }
          if (oldest < 0 || x.last < ring[oldest]!.last) oldest = i;
        }
        if (victim < 0) victim = oldest;
        ring = [...ring.slice(victim + 1), ...ring.slice(0, victim)];
      }
      now++;
      ring.push({ k, r: false, last: now });
      return false;
    },
    resident: () => ring.map((x) => x.k),
  };
}

const TAU = 3;

function reference(name: PolicyName, c: number, trace: number[]): Ref {
  switch (name) {
    case 'fifo':
      return fifo(c);
    case 'lru':
      return lru(c);
    case 'clock':
      return clock(c);
    case 'sieve':
      return sieve(c);
    case 'lfu':
      return lfu(c);
    case 'opt':
      return opt(c, trace);
    case 'arc':
      return arc(c);
    case '2q':
      return twoQ(c);
    case 'two-list':
      return twoList(c);
    case 'wsclock':
      return wsclock(c, TAU);
  }
}

const traceArb = fc.array(fc.integer({ min: 0, max: 14 }), { maxLength: 300 });
const capArb = fc.integer({ min: 1, max: 9 });

describe('every policy equals its plain reference implementation', () => {
  for (const name of POLICY_NAMES) {
    it(name, () => {
      fc.assert(
        fc.property(traceArb, capArb, (trace, c) => {
          const policy = createPolicy(name, c, { nextUse: computeNextUseSync(trace), tau: TAU });
          const ref = reference(name, c, trace);
          for (const k of trace) {
            const before = policy.has(k);
            const hit = policy.access(k);
            expect(hit).toBe(before);
            expect(hit).toBe(ref.access(k));
            expect(policy.size).toBeLessThanOrEqual(c);
          }
          expect([...policy.state().resident].sort((a, b) => a - b)).toEqual(
            [...ref.resident()].sort((a, b) => a - b),
          );
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('OPT is optimal', () => {
  it("OPT's misses ≤ every other policy's for the same string and size", () => {
    fc.assert(
      fc.property(traceArb, capArb, (trace, c) => {
        const best = replaySync(trace, { policy: 'opt', capacities: c })[0]!.misses;
        for (const name of POLICY_NAMES) {
          expect(best).toBeLessThanOrEqual(
            replaySync(trace, { policy: name, capacities: c, tau: TAU })[0]!.misses,
          );
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('the LRU stack-distance curve', () => {
  it('equals per-size LRU replay at every size, with and without warm-up', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 3000 }),
        fc.integer({ min: 0, max: 50 }),
        (trace, warmup) => {
          const sizes = [1, 2, 3, 5, 8, 13, 21, 34, 50];
          expect(lruMissRatioCurveSync(trace, sizes, { warmup })).toEqual(
            replaySync(trace, { policy: 'lru', capacities: sizes, warmup }),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
  it('survives window compactions on a long trace with many distinct keys', () => {
    const trace: number[] = [];
    let x = 1;
    for (let i = 0; i < 60000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      trace.push((x % (i < 30000 ? 3000 : 200)) + 2 ** 40);
    }
    const sizes = [1, 10, 100, 500, 1000, 2999, 3000];
    expect(lruMissRatioCurveSync(trace, sizes)).toEqual(
      replaySync(trace, { policy: 'lru', capacities: sizes }),
    );
  });
});
