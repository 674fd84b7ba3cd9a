/**
 * The specialised ARC, 2Q, LFU and OPT loops (`fast-arc-2q.ts`, `fast-lfu-opt.ts`) against their
 * generic policies, hit by hit, and each comparison run against a deliberately broken copy of the
 * loop's source (a planted bug) to show it catches one.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ArcPolicy } from './arc.js';
import { type CompactTrace, compactTrace } from './compact-trace.js';
import { ArcReplayer, TwoQReplayer } from './fast-arc-2q.js';
import { LfuReplayer, OptReplayer } from './fast-lfu-opt.js';
import { createReplayer, type Replayer, type RunReplayer } from './fast-replay.js';
import { computeNextUseSync } from './next-use.js';
import { createPolicy } from './policies.js';
import { replaySync } from './replay.js';

type Name = 'arc' | '2q' | 'lfu' | 'opt';
type Make = (capacity: number, t: CompactTrace, nextUse: Float64Array) => Replayer;

const REAL: Record<Name, Make> = {
  arc: (c, t) => new ArcReplayer(c, t.distinct),
  '2q': (c, t) => new TwoQReplayer(c, t.distinct),
  lfu: (c, t) => new LfuReplayer(c, t.distinct),
  opt: (c, t, nu) => new OptReplayer(c, t.distinct, nu),
};

/** The generic policy's hit (1) / miss (0) per reference, over the ids. */
function genericSequence(policy: Name, t: CompactTrace, capacity: number, nextUse: Float64Array): number[] {
  const p = createPolicy(policy, capacity, { nextUse });
  return Array.from(t.ids.subarray(0, t.length), (id) => (p.access(id) ? 1 : 0));
}

/** The loop's hit (1) / miss (0) per reference, one reference per `run` call. */
function loopSequence(r: Replayer, t: CompactTrace): number[] {
  return Array.from({ length: t.length }, (_, i) => r.run(t.ids, i, i + 1));
}

// Key ranges scaled to the capacity (so pages come back from the ghost lists and ties happen);
// capacities 1, 2, 3 (2Q's Kin = 0) often.
const capacityArb = fc.oneof(
  fc.constantFrom(1, 2, 3, 4),
  fc.integer({ min: 1, max: 24 }),
  fc.integer({ min: 8, max: 24 }),
);
const caseArb = capacityArb.chain((capacity) =>
  fc.tuple(
    fc.oneof(
      fc.array(fc.integer({ min: 0, max: capacity + 2 }), { maxLength: 300 }),
      fc.array(fc.integer({ min: 0, max: 2 * capacity + 4 }), { maxLength: 400 }),
      fc.array(fc.integer({ min: 0, max: 3 * capacity + 6 }), { minLength: 100, maxLength: 500 }),
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 300 }),
    ),
    fc.constant(capacity),
  ),
);

/**
 * The property: equal hit/miss sequences step by step (and ARC's target p after every step), and
 * equal hits over pieces of 5.
 */
function same(policy: Name, make: Make) {
  return fc.property(caseArb, ([keys, capacity]) => {
    const t = compactTrace(keys);
    const nextUse = computeNextUseSync(t.ids.subarray(0, t.length));
    const generic = createPolicy(policy, capacity, { nextUse });
    const loop = make(capacity, t, nextUse);
    let total = 0;
    for (let i = 0; i < t.length; i++) {
      const hit = generic.access(t.ids[i]!) ? 1 : 0;
      total += hit;
      if (loop.run(t.ids, i, i + 1) !== hit) return false;
      if (policy === 'arc' && (loop as ArcReplayer).target !== (generic as ArcPolicy).target) return false;
    }
    const r = make(capacity, t, nextUse);
    let hits = 0;
    for (let s = 0; s < t.length; s += 5) hits += r.run(t.ids, s, Math.min(t.length, s + 5));
    return hits === total;
  });
}

/**
 * ARC or OPT over runs: the run replay's hit/miss sequence (each run's repeats being hits) equals
 * the generic policy's on every reference. Traces with runs of 1–3 references.
 */
function sameRuns(policy: 'arc' | 'opt', make: Make) {
  const runsCaseArb = capacityArb.chain((capacity) =>
    fc.tuple(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 2 * capacity + 4 }), fc.integer({ min: 1, max: 3 })), {
        maxLength: 200,
      }),
      fc.constant(capacity),
    ),
  );
  return fc.property(runsCaseArb, ([pairs, capacity]) => {
    const keys = pairs.flatMap(([k, n]) => Array<number>(n).fill(k));
    const t = compactTrace(keys);
    const nextUse = computeNextUseSync(t.ids.subarray(0, t.length));
    const want = genericSequence(policy, t, capacity, nextUse);
    const r = make(capacity, t, nextUse) as RunReplayer;
    const got: number[] = [];
    let i = 0;
    for (let k = 0; k < t.runs!.length; k++) {
      got.push(1 - r.runMisses(t.runs!, k, k + 1));
      for (i++; i < t.length && t.ids[i] === t.ids[i - 1]; i++) got.push(1);
    }
    return got.join('') === want.join('');
  });
}

describe('specialised ARC, 2Q, LFU and OPT ≡ their generic policies, hit by hit (ARC: and p)', () => {
  for (const policy of ['arc', '2q', 'lfu', 'opt'] as const) {
    it(policy, () => {
      fc.assert(same(policy, REAL[policy]), { numRuns: 400 });
    });
  }

  for (const policy of ['arc', 'opt'] as const) {
    it(`${policy} over runs`, () => {
      fc.assert(sameRuns(policy, REAL[policy]), { numRuns: 400 });
    });
  }

  it('2Q with Kin = 0 (fewer than 4 pages) caches nothing; createReplayer and replaySync pick the loops', () => {
    const t = compactTrace([1, 1, 2, 1, 2, 2]);
    expect(loopSequence(new TwoQReplayer(3, t.distinct), t)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(loopSequence(new TwoQReplayer(4, t.distinct), t)).toEqual([0, 1, 0, 1, 1, 1]);
    for (const policy of ['arc', '2q', 'lfu', 'opt'] as const) {
      const r = createReplayer(policy, 2, t);
      expect(r.constructor).toBe(REAL[policy](2, t, new Float64Array(0)).constructor);
      expect(createReplayer(policy, 2, t, { generic: true }).constructor.name).toBe('PolicyReplayer');
    }
    // Belady's example: OPT 7 misses at 3 pages, LFU 10 … through replaySync (compact path).
    const belady = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5].map((k) => 2 ** 40 + k);
    const misses = (policy: Name) => replaySync(belady, { policy, capacities: [3] })[0]!.misses;
    expect(misses('opt')).toBe(7);
    for (const policy of ['arc', '2q', 'lfu'] as const) {
      expect(misses(policy)).toBe(
        12 - genericSequence(policy, compactTrace(belady), 3, new Float64Array(0)).reduce((a, b) => a + b, 0),
      );
    }
  });
});

/** Planted bugs: each mutation must be present in the source, and the property must fail on it. */
const MUTANTS: readonly {
  policy: Name;
  file: string;
  bug: string;
  from: string;
  to: string;
  runs?: 'arc' | 'opt';
}[] = [
  {
    policy: 'arc',
    file: 'fast-arc-2q.ts',
    bug: "off-by-one in p's growth on a B1 ghost hit",
    from: 'p = Math.min(p + Math.max(b2 / b1, 1), c);',
    to: 'p = Math.min(p + Math.max(b2 / b1, 1), c - 1);',
  },
  {
    policy: 'arc',
    file: 'fast-arc-2q.ts',
    bug: 'REPLACE tie on the wrong ghost list',
    from: 't1 === p && ghost === B2',
    to: 't1 === p && ghost === B1',
  },
  {
    policy: 'arc',
    file: 'fast-arc-2q.ts',
    bug: "runs: a run of two or more loaded by a miss stays in T1 (the flag's move is lost)",
    from: 'if (v >= 0) continue;',
    to: 'continue;',
    runs: 'arc',
  },
  {
    policy: 'opt',
    file: 'fast-lfu-opt.ts',
    bug: "runs: each run's next use is computed forwards (the previous run of the page)",
    from: 'for (let r = runs.length - 1; r >= 0; r--) {',
    to: 'for (let r = 0; r < runs.length; r++) {',
    runs: 'opt',
  },
  {
    policy: '2q',
    file: 'fast-arc-2q.ts',
    bug: 'A1out holds Kout + 1 ghosts',
    from: 'if (aout >= kout) {',
    to: 'if (aout > kout) {',
  },
  {
    policy: '2q',
    file: 'fast-arc-2q.ts',
    bug: 'A1in gives a page back at Kin instead of above Kin',
    from: 'if (ain > kin || am === 0) {',
    to: 'if (ain >= kin || am === 0) {',
  },
  {
    policy: 'lfu',
    file: 'fast-lfu-opt.ts',
    bug: 'ties evict the newest instead of the oldest last reference',
    from: 'const v = first[vb]!;',
    to: 'const v = last[vb]!;',
  },
  {
    policy: 'opt',
    file: 'fast-lfu-opt.ts',
    bug: 'sift-down ignores a lone left child',
    from: 'if (l >= size) break;',
    to: 'if (l + 1 >= size) break;',
  },
];

/** A loop class of a broken copy (OPT takes next uses; the others ignore a third argument). */
type MutantClass = new (capacity: number, distinct: number, nextUse: Float64Array) => Replayer;
const CLASS_OF: Record<Name, string> = {
  arc: 'ArcReplayer',
  '2q': 'TwoQReplayer',
  lfu: 'LfuReplayer',
  opt: 'OptReplayer',
};

const written: string[] = [];
afterAll(() => {
  for (const f of written) rmSync(f, { force: true });
});

describe('each comparison catches a planted bug in a broken copy of the loop', () => {
  MUTANTS.forEach((m, i) => {
    it(`${m.policy}: ${m.bug}`, async () => {
      const source = readFileSync(new URL(`./${m.file}`, import.meta.url), 'utf8');
      expect(source).toContain(m.from); // the mutated line exists (every copy of it is broken)
      // The loops import only types, so the copy runs from anywhere.
      const path = join(tmpdir(), `mmkit-replay-mutant-${process.pid}-${i}.ts`);
      writeFileSync(path, source.replaceAll(m.from, m.to));
      written.push(path);
      const mod = (await import(pathToFileURL(path).href)) as Record<string, MutantClass>;
      const cls = mod[CLASS_OF[m.policy]]!;
      const make: Make = (c, t, nu) => new cls(c, t.distinct, nu);
      const settings = { numRuns: 400, seed: 18 };
      const failed =
        m.runs !== undefined
          ? fc.check(sameRuns(m.runs, make), settings).failed
          : fc.check(same(m.policy, make), settings).failed;
      expect(failed).toBe(true);
    });
  });
});
