/**
 * Kernel hot paths: page allocation, draining a large pool, demand-zero faults,
 * TLB-hit translation through a simulated CPU, and the host memory of a booted
 * 8 GiB Raspberry Pi 4B. Run with `pnpm bench` (see scripts/bench.ts).
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createRpi4bBoard, createVirtBoard } from '@mmkit/boards';
import type { BenchContext } from '../../../scripts/bench-api.js';
import { PageAllocator } from '../src/page-allocator.js';
import { archKernelRows } from './arch-kernel-rows.js';

const MiB = 2 ** 20;

export default async function kernelBench(bench: BenchContext): Promise<void> {
  const arch = createAarch64Arch();

  // --- alloc + free pairs on the virt seed pool (1 GiB of RAM in a 3 GiB pool).
  {
    const board = createVirtBoard();
    const alloc = new PageAllocator(board.createMemory(), board.pool.ranges);
    for (const r of board.pool.reservations) alloc.reserveRange(r.start, r.end, r.reason);
    const pairs = 100_000;
    await bench.throughput({
      name: 'PageAllocator alloc+free pair',
      inputSize: `virt 1 GiB, ${alloc.totalCount} frames`,
      opsPerCall: pairs,
      fn: () => {
        let sum = 0;
        for (let i = 0; i < pairs; i++) {
          const pa = alloc.alloc('user');
          sum += pa;
          alloc.free(pa);
        }
        return sum;
      },
      target: { min: 20e6 },
    });
  }

  // --- drain every frame of an 8 GiB rpi4b (all RAM managed).
  {
    const board = createRpi4bBoard({ ramGiB: 8, pool: 'all-ram' });
    let frames = 0;
    await bench.measure({
      name: 'drain an 8 GiB pool (alloc until empty)',
      inputSize: 'rpi4b 8 GiB all-ram, ≈2.06 M frames',
      unit: 'ms',
      better: 'lower',
      target: { max: 200 },
      run: () => {
        const alloc = new PageAllocator(board.createMemory(), board.pool.ranges);
        for (const r of board.pool.reservations) alloc.reserveRange(r.start, r.end, r.reason);
        const t0 = performance.now();
        let n = 0;
        while (alloc.alloc('user') !== 0) n++;
        const ms = performance.now() - t0;
        frames = n;
        return ms;
      },
    });
    if (frames < 2_000_000) throw new Error(`drained only ${frames} frames`);
  }

  // --- 2 MiB runs on a fragmented 8 GiB rpi4b: one frame pinned in 15 of every 16 blocks, so
  // the search skips ≈ 3900 broken blocks; each call takes 64 runs in a row (each search starts
  // over from the bottom of the pool) and gives them back with freeContiguous.
  {
    const board = createRpi4bBoard({ ramGiB: 8, pool: 'all-ram' });
    const alloc = new PageAllocator(board.createMemory(), board.pool.ranges);
    for (const r of board.pool.reservations) alloc.reserveRange(r.start, r.end, r.reason);
    const frames = new Float64Array(alloc.freeCount);
    let n = 0;
    for (let pa = alloc.alloc('user'); pa !== 0; pa = alloc.alloc('user')) frames[n++] = pa;
    for (let k = n - 1; k >= 0; k--) {
      const pa = frames[k]!;
      const block = Math.floor(pa / (2 * MiB));
      const pinned = block % 16 !== 0 && (pa / 4096) % 512 === (block * 37) % 512;
      if (!pinned) alloc.free(pa);
    }
    const runs = 64;
    const got = new Float64Array(runs);
    await bench.throughput({
      name: 'allocContiguous 2 MiB (512 frames)',
      inputSize: `rpi4b 8 GiB, ${alloc.freeBlockCount} whole free blocks among ${Math.round(n / 512)}; + freeContiguous`,
      opsPerCall: runs,
      fn: () => {
        let sum = 0;
        for (let i = 0; i < runs; i++) {
          const pa = alloc.allocContiguous(512, 512, 'user');
          if (pa === 0) throw new Error('no free 2 MiB block');
          got[i] = pa;
          sum += pa;
        }
        for (let i = 0; i < runs; i++) alloc.freeContiguous(got[i]!, 512);
        return sum;
      },
    });
  }

  // --- demand-zero faults, TLB-hit translation through a CPU, host memory of a booted 8 GiB
  // rpi4b: the same rows every architecture reports (arch-kernel-rows.ts).
  await archKernelRows(bench, {
    name: 'aarch64',
    arch: () => arch,
    machine: (ramBytes) => createVirtBoard({ ramBytes, pool: 'all-ram' }),
    bigBoard: ['rpi4b 8 GiB, all RAM managed', () => createRpi4bBoard({ ramGiB: 8, pool: 'all-ram' })],
  });
}
