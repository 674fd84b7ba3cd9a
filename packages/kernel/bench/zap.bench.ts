/**
 * Teardown benchmarks (zap.ts), side by side with the real kernel of this machine in one run: a
 * process with 1 GiB resident (private anonymous, every page written) forks; the child, holding
 * every page copy-on-write, exits — or munmaps the whole range — without writing: every leaf is
 * cleared, every frame's reference and reverse-map entry dropped, the tables freed. On mmkit for
 * AArch64 (virt) and x86-64 (pc), each with 2.5 GiB of RAM, through the table-at-a-time path
 * (and once through the per-leaf path that an event listener selects, for comparison), and on
 * Linux through `bench/native/zap-peer.c` (MADV_NOHUGEPAGE: 4 KiB pages on both sides). The
 * fork is timed too: Linux's exit of such a child costs about as much as its fork, and the
 * target is the same for mmkit (exit ≤ 1.5 × fork: the median of the runs' own ratios). Ratio rows
 * against Linux are `mmkit ÷ linux` as rates (> 1: mmkit faster).
 * Run with `pnpm bench zap` (see scripts/bench.ts and bench/native/README.md).
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { bootKernel, type Kernel } from '../src/kernel.js';
import type { Process } from '../src/process.js';
import {
  BOARD_MIB,
  CONFIGS,
  PAGE,
  PAGES,
  RESIDENT_MIB,
  residentProcess,
  runResidentPeer,
} from './bench-boards.js';

/** What `zap-peer` prints (see native/zap-peer.c). */
interface PeerResult {
  readonly kernel: string;
  readonly mib: number;
  readonly pages: number;
  readonly repeats: number;
  readonly fork_ms: number;
  readonly exit_ms: number;
  readonly munmap_ms: number;
}

function runPeer(repeats: number): PeerResult | undefined {
  return runResidentPeer<PeerResult>('zap-peer.c', 'zap.bench', repeats, (r) =>
    r.fork_ms > 0 && r.exit_ms > 0 && r.munmap_ms > 0 ? undefined : 'printed no times',
  );
}

/** Times of one run: a fork, the child's exit, and a second child's munmap of the whole range. */
interface Run {
  readonly forkMs: number;
  readonly exitMs: number;
  readonly munmapMs: number;
}

/** One run; with `perLeaf` an event listener is attached during the teardowns (the per-leaf path). */
function zapRun(k: Kernel, p: Process, va: number, perLeaf: boolean): Run {
  const free = k.allocator.freeCount;
  const t0 = performance.now();
  const f = k.fork(p);
  const t1 = performance.now();
  if (!f.ok) throw new Error(`fork failed: ${f.errno}`);
  const off = perLeaf ? k.events.on(() => {}) : undefined;
  const t2 = performance.now();
  k.exit(f.process);
  const t3 = performance.now();
  off?.();
  const g = k.fork(p);
  if (!g.ok) throw new Error(`fork failed: ${g.errno}`);
  const off2 = perLeaf ? k.events.on(() => {}) : undefined;
  const t4 = performance.now();
  const u = k.munmap(g.process, va, PAGES * PAGE);
  const t5 = performance.now();
  off2?.();
  if (!u.ok) throw new Error(`munmap failed: ${u.errno}`);
  k.exit(g.process);
  if (k.allocator.freeCount !== free)
    throw new Error(`the teardowns left ${free - k.allocator.freeCount} frames behind`);
  for (let i = 0; i < PAGES; i += 4099) {
    const r = k.load(p, va + i * PAGE, 1);
    if (!r.ok || r.value !== ((i & 0xff) | 1)) throw new Error(`the parent lost page ${i}`);
  }
  return { forkMs: t1 - t0, exitMs: t3 - t2, munmapMs: t5 - t4 };
}

export default async function zapBench(bench: BenchContext): Promise<void> {
  const repeats = bench.quick ? 2 : 5;
  const peer = runPeer(repeats);
  const linux = peer ? `linux ${peer.kernel}` : 'linux';
  const input = `${RESIDENT_MIB} MiB resident (${PAGES} private 4 KiB pages, written), shared COW with the child`;
  if (peer) {
    const row = (name: string, inputSize: string, value: number) =>
      bench.measure({
        name: `${linux} ${name}`,
        inputSize,
        unit: 'ms',
        better: 'lower',
        repeat: 1,
        run: () => value,
      });
    const how = `${input}, MADV_NOHUGEPAGE, best of ${repeats}`;
    await row(`fork of a process with ${RESIDENT_MIB} MiB resident (COW)`, how, peer.fork_ms);
    await row('exit of the forked child (exit_mmap)', `${how}; to the parent's waitpid`, peer.exit_ms);
    await row(`munmap of ${RESIDENT_MIB} MiB in the forked child`, how, peer.munmap_ms);
  }
  const best = new Map<string, number>();
  for (const c of CONFIGS) {
    const k = bootKernel({ arch: c.arch(), machine: c.machine() });
    const { p, va } = residentProcess(k, (i) => (i & 0xff) | 1);
    // Warm-up, discarded: the JIT needs a few whole runs, and the first runs touch fresh host memory.
    for (let i = 0; i < 4; i++) zapRun(k, p, va, false);
    const runs: Run[] = [];
    const board = `${input}, ${BOARD_MIB / 1024} GiB board`;
    await bench.measure({
      name: `mmkit fork of a process with ${RESIDENT_MIB} MiB resident (COW) (${c.name})`,
      inputSize: board,
      unit: 'ms',
      better: 'lower',
      repeat: repeats,
      run: () => {
        const r = zapRun(k, p, va, false);
        runs.push(r);
        return r.forkMs;
      },
    });
    const min = (pick: (r: Run) => number) => Math.min(...runs.map(pick));
    const fromRuns = (name: string, inputSize: string, pick: (r: Run) => number) =>
      bench.measure({ name, inputSize, unit: 'ms', better: 'lower', repeat: 1, run: () => min(pick) });
    best.set(
      `fork ${c.name}`,
      min((r) => r.forkMs),
    );
    best.set(
      `exit ${c.name}`,
      min((r) => r.exitMs),
    );
    best.set(
      `munmap ${c.name}`,
      min((r) => r.munmapMs),
    );
    await fromRuns(`mmkit exit of the forked child (${c.name})`, `${board}, same runs`, (r) => r.exitMs);
    await fromRuns(
      `mmkit munmap of ${RESIDENT_MIB} MiB in the forked child (${c.name})`,
      `${board}, same runs`,
      (r) => r.munmapMs,
    );
    const slow: Run[] = [];
    await bench.measure({
      name: `mmkit exit of the forked child, per-leaf path (an event listener attached) (${c.name})`,
      inputSize: board,
      unit: 'ms',
      better: 'lower',
      repeat: bench.quick ? 1 : 2,
      run: () => {
        const r = zapRun(k, p, va, true);
        slow.push(r);
        return r.exitMs;
      },
    });
    // Per run (the fork and the exit a few milliseconds apart, under the same load), the median.
    const perRun = runs.map((r) => r.exitMs / r.forkMs).sort((a, b) => a - b);
    await bench.measure({
      name: `mmkit exit ÷ fork time (${c.name})`,
      inputSize: `median of ${perRun.length} runs' exit ÷ fork (Linux, same run: ${peer ? (peer.exit_ms / peer.fork_ms).toFixed(2) : '–'})`,
      unit: '×',
      better: 'lower',
      repeat: 1,
      run: () => perRun[Math.floor(perRun.length / 2)]!,
      target: { max: 1.5 },
    });
    k.exit(p);
    if (k.allocator.freeCount !== k.baselineFree)
      throw new Error(`the runs leaked ${k.baselineFree - k.allocator.freeCount} frames`);
    bench.gc();
  }
  if (!peer) return;
  for (const c of CONFIGS) {
    const ratio = (key: string, name: string, peerMs: number) =>
      bench.measure({
        name: `${name} (${c.name}), mmkit ÷ ${linux}`,
        inputSize: 'rate ratio (linux ms ÷ mmkit ms), best ÷ best, same run',
        unit: '×',
        better: 'higher',
        repeat: 1,
        run: () => peerMs / best.get(`${key} ${c.name}`)!,
      });
    await ratio('fork', `fork with ${RESIDENT_MIB} MiB resident (COW)`, peer.fork_ms);
    await ratio('exit', 'exit of the forked child', peer.exit_ms);
    await ratio('munmap', `munmap of ${RESIDENT_MIB} MiB in the forked child`, peer.munmap_ms);
  }
}
