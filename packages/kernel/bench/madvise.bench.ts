/**
 * madvise, mincore and mlock benchmarks (issue 8), in process on mmkit for AArch64 (virt) and
 * x86-64 (pc), each with 1 GiB of RAM: MADV_DONTNEED of 64 written pages followed by their 64
 * demand faults (the allocator-churn pattern of malloc implementations), MADV_FREE of 64 written
 * pages followed by a write to each (the advice cancelled again), MADV_COLD of 64 pages, mincore
 * over a fully resident 256 MiB mapping (65 536 pages), and mlock + munlock of 64 resident pages
 * (VMA split and merge, populate finding every page present). Run with `pnpm bench madvise`.
 * There is no native peer: these rates are mmkit's own, for regressions.
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { bootKernel, type Kernel } from '../src/kernel.js';
import { MADV } from '../src/madvise.js';
import type { Process } from '../src/process.js';
import { MAP, PROT } from '../src/syscalls.js';
import { boardConfigs } from './bench-boards.js';

const PAGE = 4096;
const MiB = 2 ** 20;
const BATCH = 64;
const SCAN_PAGES = (256 * MiB) / PAGE;

const CONFIGS = boardConfigs(1024);

function mapWritten(k: Kernel, p: Process, pages: number): bigint {
  const r = k.mmap(p, 0, pages * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!r.ok) throw new Error(`mmap failed: ${r.errno} (${r.detail})`);
  for (let i = 0; i < pages; i++) k.store(p, r.value + BigInt(i * PAGE), 1, 1);
  return r.value;
}

function must(r: { ok: boolean }, what: string): void {
  if (!r.ok) throw new Error(`${what} failed`);
}

export default async function madviseBench(bench: BenchContext): Promise<void> {
  for (const c of CONFIGS) {
    const k = bootKernel({ arch: c.arch(), machine: c.machine() });
    const p = k.createProcess();
    const batch = mapWritten(k, p, BATCH);
    const bytes = BATCH * PAGE;
    await bench.throughput({
      name: `${c.name}: MADV_DONTNEED of ${BATCH} pages + ${BATCH} demand faults`,
      inputSize: `${BATCH} written pages`,
      opsPerCall: 1,
      fn: () => {
        must(k.madvise(p, batch, bytes, MADV.DONTNEED), 'madvise');
        for (let i = 0; i < BATCH; i++) k.store(p, batch + BigInt(i * PAGE), 1, 1);
      },
    });
    await bench.throughput({
      name: `${c.name}: MADV_FREE of ${BATCH} pages + a write to each`,
      inputSize: `${BATCH} written pages`,
      opsPerCall: 1,
      fn: () => {
        must(k.madvise(p, batch, bytes, MADV.FREE), 'madvise');
        for (let i = 0; i < BATCH; i++) k.store(p, batch + BigInt(i * PAGE), 1, 1);
      },
    });
    await bench.throughput({
      name: `${c.name}: MADV_COLD of ${BATCH} pages`,
      inputSize: `${BATCH} resident pages`,
      opsPerCall: 1,
      fn: () => must(k.madvise(p, batch, bytes, MADV.COLD), 'madvise'),
    });
    await bench.throughput({
      name: `${c.name}: mlock + munlock of ${BATCH} resident pages`,
      inputSize: `${BATCH} pages inside a larger VMA`,
      opsPerCall: 1,
      fn: () => {
        must(k.mlock(p, batch + BigInt(PAGE), bytes - 2 * PAGE), 'mlock');
        must(k.munlock(p, batch + BigInt(PAGE), bytes - 2 * PAGE), 'munlock');
      },
    });
    const big = mapWritten(k, p, SCAN_PAGES);
    await bench.throughput({
      name: `${c.name}: mincore over 256 MiB resident`,
      inputSize: `${SCAN_PAGES} pages, one VMA`,
      opsPerCall: SCAN_PAGES,
      fn: () => must(k.mincore(p, big, SCAN_PAGES * PAGE), 'mincore'),
    });
  }
}
