/**
 * Policy replay throughput on a synthetic 10 M-reference page trace already in memory (a
 * Float64Array): 90 % of references go to a hot set of 2 000 pages, 10 % to 200 000 cold pages;
 * page numbers start at 2^35 (heap-number keys, as 48-bit addresses give). Cache of 4 096 pages.
 * One row per policy: references per second of `replaySync`; plus the one-pass LRU MRC at 8 sizes.
 * Run with `pnpm bench replay` (scripts/bench.ts documents the format).
 *
 * C peer (native/replay-peer.c, see native/README.md): FIFO, CLOCK and LRU in plain C (hash table
 * + arrays) on the same trace, written to a temporary file as uint64s; each policy's miss count
 * must equal mmkit's, else the bench throws. Rows: the C rates, and `… mmkit ÷ C` per policy.
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { NativePeer, peerRow, ratioRow, sameOrThrow, toUint64 } from '../../../scripts/native-peer.js';
import { lruMissRatioCurveSync, replaySync } from '../src/index.js';

const N = 10_000_000;
const CAPACITY = 4096;

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

export default async function replayBench(bench: BenchContext): Promise<void> {
  const trace = syntheticTrace();
  const policies = ['fifo', 'clock', 'lru'] as const;
  const mmkit = new Map<string, { rate: number; misses: number }>();
  for (const policy of policies) {
    let misses = -1;
    const rate = await bench.measure({
      name: `replay ${policy} (${CAPACITY} pages)`,
      inputSize: '10 M refs, 90 % to 2 000 hot pages',
      unit: 'refs/s',
      better: 'higher',
      run: () => {
        const t0 = performance.now();
        const [r] = replaySync(trace, { policy, capacities: CAPACITY });
        const ms = performance.now() - t0;
        if (r!.accesses !== N) throw new Error('short replay');
        if (misses >= 0 && r!.misses !== misses) throw new Error('replays disagree');
        misses = r!.misses;
        return (N * 1000) / ms;
      },
    });
    mmkit.set(policy, { rate, misses });
  }
  const peer = NativePeer.compile(new URL('./native/replay-peer.c', import.meta.url), 'replay.bench');
  if (peer) {
    try {
      type PolicyResult = { misses: number; refs_per_s: number };
      const c = peer.run<Record<(typeof policies)[number], PolicyResult>>([
        peer.writeInput('trace.bin', toUint64(trace)),
        CAPACITY,
        bench.quick ? 1 : 3,
      ]);
      for (const policy of policies) {
        const m = mmkit.get(policy)!;
        sameOrThrow(`replay ${policy}: misses`, m.misses, c[policy].misses);
        const size = `same 10 M-ref trace, ${m.misses} misses on both`;
        await peerRow(
          bench,
          `C replay-peer ${policy} (${CAPACITY} pages)`,
          `${size}, best of runs`,
          'refs/s',
          c[policy].refs_per_s,
        );
        await ratioRow(
          bench,
          `replay ${policy} (${CAPACITY} pages), mmkit ÷ C`,
          size,
          m.rate / c[policy].refs_per_s,
        );
      }
    } finally {
      peer.dispose();
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
}
