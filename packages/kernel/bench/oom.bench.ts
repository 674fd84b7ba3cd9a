/**
 * OOM killer benchmarks (issue 8): what one OOM kill costs — the badness of every live process
 * (a walk of its leaves and tables), the kill (its teardown) and the retried fault — with 8
 * processes of 1024 resident pages each on a 64 MiB AArch64 virt board whose free memory is
 * used up; and `oomBadness` of one such process (the cost of `/proc/PID/oom_score`).
 * Run with `pnpm bench oom` (see scripts/bench.ts).
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createVirtBoard } from '@mmkit/boards';
import type { BenchContext } from '../../../scripts/bench-api.js';
import { bootKernel, type Kernel } from '../src/kernel.js';
import type { Process } from '../src/process.js';
import { MAP, PROT } from '../src/syscalls.js';

const PAGE = 4096;
const PROCS = 8;
const PAGES = 1024;

function filled(): { k: Kernel; procs: Process[]; vas: number[] } {
  const k = bootKernel({
    arch: createAarch64Arch(),
    machine: createVirtBoard({ ramBytes: 64 << 20, pool: 'all-ram' }),
  });
  const procs: Process[] = [];
  const vas: number[] = [];
  for (let i = 0; i < PROCS; i++) {
    const p = k.createProcess();
    const r = k.mmap(p, 0, 4 * PAGES * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    if (!r.ok) throw new Error(r.detail);
    const va = Number(r.value);
    for (let j = 0; j < PAGES; j++) k.store(p, va + j * PAGE, 1, 1);
    procs.push(p);
    vas.push(va);
  }
  // Use up what is left with kernel frames, so the next fault has to kill.
  while (k.allocator.alloc('kernel', -1) !== 0);
  return { k, procs, vas };
}

export default async function oomBench(bench: BenchContext): Promise<void> {
  await bench.measure({
    name: 'OOM kill: select (8 processes × 1024 pages), kill, retry the fault',
    inputSize: `${PROCS} processes × ${PAGES} resident pages`,
    unit: 'ms',
    better: 'lower',
    repeat: bench.quick ? 3 : 10,
    run: () => {
      const { k, procs, vas } = filled();
      const last = procs[0]!;
      const t0 = performance.now();
      const r = k.store(last, vas[0]! + PAGES * PAGE, 1, 1);
      const ms = performance.now() - t0;
      if (!r.ok || procs.every((p) => p.alive)) throw new Error('no OOM kill happened');
      return ms;
    },
  });
  const { k, procs } = filled();
  const p = procs[0]!;
  await bench.throughput({
    name: 'oomBadness (a process with 1024 resident pages)',
    inputSize: `${PAGES} pages`,
    opsPerCall: 10,
    fn: () => {
      let s = 0;
      for (let i = 0; i < 10; i++) s += k.oomBadness(p) ?? 0;
      return s;
    },
  });
}
