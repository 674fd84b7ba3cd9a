/**
 * Policy replay throughput on a synthetic 10 M-reference page trace already in memory (a
 * Float64Array): 90 % of references go to a hot set of 2 000 pages, 10 % to 200 000 cold pages;
 * page numbers start at 2^35 (heap-number keys, as 48-bit addresses give). Cache of 4 096 pages.
 * Run with `pnpm bench replay` (scripts/bench.ts documents the format).
 *
 * Rows:
 * - `replay <policy> (4096 pages)`: `replaySync` on the Float64Array of keys: it compacts the
 *   trace to dense ids and runs (one hash lookup per reference, every key validated) and runs the
 *   specialised loop over the runs — the whole job, as the C peer does it.
 * - `compactTrace`: the compaction alone; `replay <policy> over a compact trace`: the per-reference
 *   loop alone over the ids (what the C peer's id loops do), for all eight policies with a
 *   specialised loop (OPT's next-use array is computed outside the timing: libCacheSim reads it
 *   from its trace); `… over runs` (FIFO, CLOCK, LRU, SIEVE, ARC, OPT): the loop `mmkit
 *   replay` runs per size and policy once the trace is compact (one step per run of repeats; this
 *   trace has almost none, so it shows the cost of the run form where it cannot help), and the
 *   same on a trace where each page is held for 1–4 consecutive references (mean 2.5, like the
 *   valgrind lackey traces of gzip and xz).
 * - C peer (native/replay-peer.c, see native/README.md): FIFO, CLOCK and LRU in plain C (hash
 *   table + arrays) on the same trace, written to a temporary file as uint64s, and the same
 *   compaction and id loops as mmkit's in C; each miss count (and the distinct count) must equal
 *   mmkit's, else the bench throws. mmkit and C run in alternating rounds (mmkit's rows, then one
 *   C run of all of its rows), best of the rounds on each side, so a load change on the machine
 *   hits both sides; `… mmkit ÷ C` per row.
 * - The exact LRU MRC at 8 sizes in one pass, and `missRatios` of four policies at 8 sizes on one
 *   thread and in 2 worker threads (refs/s = references replayed in total ÷ time).
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { NativePeer, peerRow, ratioRow, sameOrThrow, toUint64 } from '../../../scripts/native-peer.js';
import {
  type CompactTrace,
  compactTrace,
  computeNextUseSync,
  createReplayer,
  createRunReplayer,
  type FastPolicyName,
  lruMissRatioCurveSync,
  missRatios,
  type RunPolicyName,
  replaySync,
} from '../src/index.js';

const N = 10_000_000;
const CAPACITY = 4096;
const POLICIES = ['fifo', 'clock', 'lru'] as const;
type Peer = (typeof POLICIES)[number];
/** Every policy with a specialised loop over ids, and those that also replay runs. */
const ID_POLICIES = [
  ...POLICIES,
  'sieve',
  'arc',
  '2q',
  'lfu',
  'opt',
] as const satisfies readonly FastPolicyName[];
const RUN_POLICIES = [...POLICIES, 'sieve', 'arc', 'opt'] as const satisfies readonly RunPolicyName[];
const isRun = (p: FastPolicyName): p is RunPolicyName => (RUN_POLICIES as readonly string[]).includes(p);

function syntheticTrace(): Float64Array {
  const keys = new Float64Array(N);
  let x = 0x2545f491;
  const base = 2 ** 35;
  for (let i = 0; i < N; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    keys[i] = base + (x % 10 === 0 ? 2000 + ((x >>> 4) % 200_000) : (x >>> 4) % 2000);
  }
  return keys;
}

function replayRate(trace: Float64Array, policy: Peer | 'sieve'): { rate: number; misses: number } {
  const t0 = performance.now();
  const [r] = replaySync(trace, { policy, capacities: CAPACITY });
  const ms = performance.now() - t0;
  if (r!.accesses !== N) throw new Error('short replay');
  return { rate: (N * 1000) / ms, misses: r!.misses };
}

/** The synthetic trace with each reference repeated 1–4 times (mean 2.5), cut to N references. */
function withRepeats(trace: Float64Array): Float64Array {
  const out = new Float64Array(N);
  let x = 0x1b873593;
  for (let i = 0, o = 0; o < N; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    for (let k = 1 + (x & 3); k > 0 && o < N; k--) out[o++] = trace[i]!;
  }
  return out;
}

/** The loop alone over the runs of `t`: references per second (the original count) and misses. */
function runsRate(t: CompactTrace, policy: RunPolicyName): { rate: number; misses: number } {
  const t0 = performance.now();
  const misses = createRunReplayer(policy, CAPACITY, t).runMisses(t.runs!, 0, t.runs!.length);
  return { rate: (t.length * 1000) / (performance.now() - t0), misses };
}

type Rate = { rate: number; misses: number };
type PeerResult = { misses: number; refs_per_s: number };
type PeerOutput = Record<Peer | `${Peer}_ids`, PeerResult> & {
  compact: { distinct: number; refs_per_s: number };
};

export default async function replayBench(bench: BenchContext): Promise<void> {
  const trace = syntheticTrace();
  const repeated = compactTrace(withRepeats(trace));
  let syntheticRuns = 0;
  const rounds = bench.quick ? 1 : 5;
  const best = new Map<string, Rate>();
  const keep = (name: string, m: Rate) => {
    const old = best.get(name);
    if (old !== undefined && old.misses !== m.misses) throw new Error(`${name}: runs disagree`);
    if (old === undefined || m.rate > old.rate) best.set(name, m);
  };
  const peer = NativePeer.compile(new URL('./native/replay-peer.c', import.meta.url), 'replay.bench');
  try {
    const input = peer?.writeInput('trace.bin', toUint64(trace));
    for (let round = 0; round < rounds; round++) {
      // mmkit: whole jobs, the compaction alone, each loop alone; then the C peer, the same.
      for (const policy of POLICIES) keep(policy, replayRate(trace, policy));
      let t0 = performance.now();
      const compact = compactTrace(trace);
      syntheticRuns = compact.runs!.length;
      keep('compact', { rate: (N * 1000) / (performance.now() - t0), misses: compact.distinct });
      // OPT's next uses are an input (libCacheSim reads them from the trace): computed untimed.
      const nextUse = computeNextUseSync(compact.ids.subarray(0, compact.length));
      for (const policy of ID_POLICIES) {
        t0 = performance.now();
        const r = createReplayer(policy, CAPACITY, compact, { nextUse });
        const hits = r.run(compact.ids, 0, compact.length);
        keep(`${policy} ids`, { rate: (N * 1000) / (performance.now() - t0), misses: N - hits });
        if (!isRun(policy)) continue;
        const runs = runsRate(compact, policy);
        if (runs.misses !== N - hits) throw new Error(`${policy}: runs and ids disagree`);
        keep(`${policy} runs`, runs);
        keep(`${policy} repeated runs`, runsRate(repeated, policy));
      }
      if (peer && input) {
        const c = peer.run<PeerOutput>([input, CAPACITY, 1]);
        for (const policy of POLICIES) {
          keep(`C ${policy}`, { rate: c[policy].refs_per_s, misses: c[policy].misses });
          const ids = c[`${policy}_ids`];
          keep(`C ${policy} ids`, { rate: ids.refs_per_s, misses: ids.misses });
        }
        keep('C compact', { rate: c.compact.refs_per_s, misses: c.compact.distinct });
      }
    }
  } finally {
    peer?.dispose();
  }
  const row = (name: string, inputSize: string, rate: number) =>
    bench.measure({ name, inputSize, unit: 'refs/s', better: 'higher', repeat: 1, run: () => rate });
  const of = `best of ${rounds} rounds`;
  for (const policy of POLICIES) {
    await row(
      `replay ${policy} (${CAPACITY} pages)`,
      `10 M refs, 90 % to 2 000 hot pages; compaction included; ${of}`,
      best.get(policy)!.rate,
    );
  }
  await row(
    'compactTrace (keys → dense ids)',
    `10 M refs, 198 243 distinct pages above 2^35; ${of}`,
    best.get('compact')!.rate,
  );
  for (const policy of ID_POLICIES) {
    await row(
      `replay ${policy} over a compact trace (${CAPACITY} pages)`,
      `10 M refs as dense ids, the loop alone; ${of}`,
      best.get(`${policy} ids`)!.rate,
    );
  }
  for (const policy of RUN_POLICIES) {
    await row(
      `replay ${policy} over runs (${CAPACITY} pages)`,
      `the same 10 M refs in ${syntheticRuns} runs; the loop alone; ${of}`,
      best.get(`${policy} runs`)!.rate,
    );
  }
  for (const policy of RUN_POLICIES) {
    await row(
      `replay ${policy} over runs, pages held 1–4 refs (${CAPACITY} pages)`,
      `10 M refs in ${repeated.runs!.length} runs; the loop alone, refs/s of the original count; ${of}`,
      best.get(`${policy} repeated runs`)!.rate,
    );
  }
  if (best.has('C compact')) {
    const pairs: [string, string, string][] = [
      ...POLICIES.map((p): [string, string, string] => [p, `C ${p}`, `replay ${p} (${CAPACITY} pages)`]),
      ['compact', 'C compact', 'compactTrace (keys → dense ids)'],
      ...POLICIES.map((p): [string, string, string] => [
        `${p} ids`,
        `C ${p} ids`,
        `replay ${p} over a compact trace (${CAPACITY} pages)`,
      ]),
    ];
    for (const [mine, theirs, name] of pairs) {
      const m = best.get(mine)!;
      const c = best.get(theirs)!;
      const what = mine === 'compact' ? 'distinct pages' : 'misses';
      sameOrThrow(`${name}: ${what}`, m.misses, c.misses);
      const size = `same 10 M-ref trace, ${m.misses} ${what} on both`;
      await peerRow(bench, `C replay-peer: ${name}`, `${size}, ${of}`, 'refs/s', c.rate);
      await ratioRow(bench, `${name}, mmkit ÷ C`, `${size}, alternating rounds`, m.rate / c.rate);
    }
  }
  await bench.measure({
    name: 'LRU MRC by stack distances (8 sizes, one pass)',
    inputSize: '10 M refs, 90 % to 2 000 hot pages',
    unit: 'refs/s',
    better: 'higher',
    repeat: 1,
    run: () => {
      const t0 = performance.now();
      lruMissRatioCurveSync(trace, [256, 512, 1024, 2048, 4096, 8192, 16384, 32768]);
      return (N * 1000) / (performance.now() - t0);
    },
  });
  const shared = compactTrace(trace, { shared: true });
  const sizes = [256, 512, 1024, 2048, 4096, 8192, 16384, 32768];
  const policies = ['fifo', 'clock', 'sieve', 'arc'] as const;
  for (const workers of [0, 2]) {
    await bench.measure({
      name: `missRatios fifo+clock+sieve+arc × 8 sizes, ${workers === 0 ? 'one thread' : `${workers} workers`}`,
      inputSize: '10 M refs as dense ids; 32 replays',
      unit: 'refs/s',
      better: 'higher',
      repeat: 1,
      run: async () => {
        const t0 = performance.now();
        await missRatios(shared, { policies: [...policies], sizes, workers });
        return (policies.length * sizes.length * N * 1000) / (performance.now() - t0);
      },
    });
  }
}
