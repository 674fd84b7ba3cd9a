/**
 * Copy-on-write benchmarks (issue 8), side by side with the real kernel of this machine in one
 * run: a fork of a process with 1 GiB resident (private anonymous, every page written), and
 * the child's first-write COW faults over those pages (each copies the page, the parent still
 * holding it) — on mmkit for AArch64 (virt) and x86-64 (pc), each with 2.5 GiB of RAM (the parent's
 * GiB, the child's copies and the tables), and on Linux
 * through `bench/native/cow-peer.c` (MADV_NOHUGEPAGE: 4 KiB pages on both sides). Ratio rows are
 * `mmkit ÷ linux` (> 1: mmkit faster); the targets: fork ≥ 1×, COW fault rate ≥ 2×.
 * Run with `pnpm bench cow` (see scripts/bench.ts and bench/native/README.md).
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

/** What `cow-peer` prints (see native/cow-peer.c). */
interface PeerResult {
  readonly kernel: string;
  readonly mib: number;
  readonly pages: number;
  readonly repeats: number;
  readonly fork_ms: number;
  readonly forks_per_s: number;
  readonly cow_faults_per_s: number;
  readonly child_minflt: number;
}

function runPeer(repeats: number): PeerResult | undefined {
  return runResidentPeer<PeerResult>('cow-peer.c', 'cow.bench', repeats, (r) =>
    r.forks_per_s > 0 && r.cow_faults_per_s > 0 ? undefined : 'printed no rates',
  );
}

/** One fork (timed) and the child's first writes over every page (timed); the child then exits. */
function forkRun(k: Kernel, p: Process, va: number): { forksPerS: number; faultsPerS: number } {
  const t0 = performance.now();
  const f = k.fork(p);
  const t1 = performance.now();
  if (!f.ok) throw new Error(`fork failed: ${f.errno}`);
  const child = f.process;
  const free = k.allocator.freeCount;
  const t2 = performance.now();
  for (let i = 0; i < PAGES; i++) k.store(child, va + i * PAGE, 1, 2);
  const t3 = performance.now();
  if (free - k.allocator.freeCount !== PAGES)
    throw new Error(`the child's writes copied ${free - k.allocator.freeCount} pages, expected ${PAGES}`);
  if (k.load(p, va, 1).ok !== true || (k.load(p, va, 1) as { value: number }).value !== 1)
    throw new Error("the child's write is visible in the parent");
  k.exit(child);
  return { forksPerS: 1000 / (t1 - t0), faultsPerS: PAGES / ((t3 - t2) / 1000) };
}

export default async function cowBench(bench: BenchContext): Promise<void> {
  const repeats = bench.quick ? 2 : 5;
  const peer = runPeer(repeats);
  const linux = peer ? `linux ${peer.kernel}` : 'linux';
  const best = new Map<string, number>();
  const keep = (key: string, v: number): number => {
    best.set(key, Math.max(best.get(key) ?? 0, v));
    return v;
  };
  const input = `${RESIDENT_MIB} MiB resident (${PAGES} private 4 KiB pages, written)`;
  if (peer) {
    const row = (name: string, inputSize: string, unit: string, value: number) =>
      bench.measure({
        name: `${linux} ${name}`,
        inputSize,
        unit,
        better: 'higher',
        repeat: 1,
        run: () => value,
      });
    await row(
      `fork of a process with ${RESIDENT_MIB} MiB resident (COW)`,
      `${input}, MADV_NOHUGEPAGE, best of ${repeats}`,
      'forks/s',
      peer.forks_per_s,
    );
    await row(
      'first-write COW fault rate',
      `child writes 1 byte per page, ${peer.child_minflt} faults, best of ${repeats}`,
      'faults/s',
      peer.cow_faults_per_s,
    );
  }
  for (const c of CONFIGS) {
    const k = bootKernel({ arch: c.arch(), machine: c.machine() });
    const { p, va } = residentProcess(k, () => 1);
    const faults: number[] = [];
    // Warm-up, discarded: the JIT needs a few whole runs (fork and fault paths run 65 536 times
    // each), and the first runs touch fresh host memory of the simulator.
    for (let i = 0; i < 4; i++) forkRun(k, p, va);
    await bench.measure({
      name: `mmkit fork of a process with ${RESIDENT_MIB} MiB resident (COW) (${c.name})`,
      inputSize: `${input}, ${BOARD_MIB / 1024} GiB board`,
      unit: 'forks/s',
      better: 'higher',
      repeat: repeats,
      run: () => {
        const r = forkRun(k, p, va);
        faults.push(r.faultsPerS);
        return keep(`fork ${c.name}`, r.forksPerS);
      },
    });
    await bench.measure({
      name: `mmkit first-write COW fault rate (${c.name})`,
      inputSize: `child writes 1 byte per page, ${PAGES} copies, same runs`,
      unit: 'faults/s',
      better: 'higher',
      repeat: 1,
      run: () => keep(`cow ${c.name}`, Math.max(...faults)),
    });
    k.exit(p);
    if (k.allocator.freeCount !== k.baselineFree)
      throw new Error(`the COW runs leaked ${k.baselineFree - k.allocator.freeCount} frames`);
    bench.gc();
  }
  if (!peer) return;
  for (const c of CONFIGS) {
    const ratio = (key: string, name: string, inputSize: string, peerValue: number, min: number) =>
      bench.measure({
        name: `${name} (${c.name}), mmkit ÷ ${linux}`,
        inputSize,
        unit: '×',
        better: 'higher',
        repeat: 1,
        run: () => (best.get(`${key} ${c.name}`) ?? 0) / peerValue,
        target: { min },
      });
    await ratio(
      'fork',
      `fork with ${RESIDENT_MIB} MiB resident (COW)`,
      'best ÷ best, same run',
      peer.forks_per_s,
      1,
    );
    await ratio('cow', 'first-write COW fault rate', 'best ÷ best, same run', peer.cow_faults_per_s, 2);
  }
}
