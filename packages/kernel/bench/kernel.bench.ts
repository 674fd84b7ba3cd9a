/**
 * Kernel hot paths: page allocation, draining a large pool, demand-zero faults,
 * TLB-hit translation through a simulated CPU, and the host memory of a booted
 * 8 GiB Raspberry Pi 4B. Run with `pnpm bench` (see scripts/bench.ts).
 *
 * C peer of the allocator rows (native/alloc-peer.c, see native/README.md): a LIFO free-stack
 * allocator over a frame table built from the same state bytes (exported from
 * `PageAllocator.forEachFrame`). Pairs: the sum of the frames handed out and the state bytes
 * afterwards must match mmkit's; drain: the number of frames, the order they were handed out in
 * (FNV-1a) and the state bytes afterwards. A mismatch throws. Rows: the C figure and `… mmkit ÷ C`
 * (a speed ratio: for the drain, C's time ÷ mmkit's time).
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createRpi4bBoard, createVirtBoard } from '@mmkit/boards';
import type { BenchContext } from '../../../scripts/bench-api.js';
import { Fnv, fnv1a, NativePeer, peerRow, ratioRow, sameOrThrow } from '../../../scripts/native-peer.js';
import { FrameState, PageAllocator } from '../src/page-allocator.js';
import { archKernelRows } from './arch-kernel-rows.js';

const MiB = 2 ** 20;

/** The allocator's state bytes, one per frame from the first pool frame to the last (gaps between ranges reserved). */
function stateBytes(alloc: PageAllocator): { bytes: Uint8Array; firstPfn: number } {
  const ranges = alloc.poolRanges;
  const firstPfn = ranges[0]!.start / 4096;
  const bytes = new Uint8Array(ranges[ranges.length - 1]!.end / 4096 - firstPfn).fill(FrameState.RESERVED);
  alloc.forEachFrame((pa, state) => {
    bytes[pa / 4096 - firstPfn] = state;
  });
  return { bytes, firstPfn };
}

export default async function kernelBench(bench: BenchContext): Promise<void> {
  const arch = createAarch64Arch();
  const peer = NativePeer.compile(
    new URL('./native/alloc-peer.c', import.meta.url),
    'kernel.bench (allocator)',
  );
  try {
    await allocatorRows(bench, peer);
  } finally {
    peer?.dispose();
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

/** alloc+free pairs and the 8 GiB drain, each followed by its C peer rows when `peer` is there. */
async function allocatorRows(bench: BenchContext, peer: NativePeer | undefined): Promise<void> {
  // --- alloc + free pairs on the virt seed pool (1 GiB of RAM in a 3 GiB pool).
  {
    const board = createVirtBoard();
    const alloc = new PageAllocator(board.createMemory(), board.pool.ranges);
    for (const r of board.pool.reservations) alloc.reserveRange(r.start, r.end, r.reason);
    const pairs = 100_000;
    const pairCall = () => {
      let sum = 0;
      for (let i = 0; i < pairs; i++) {
        const pa = alloc.alloc('user');
        sum += pa;
        alloc.free(pa);
      }
      return sum;
    };
    const name = 'PageAllocator alloc+free pair';
    const mmkit = await bench.throughput({
      name,
      inputSize: `virt 1 GiB, ${alloc.totalCount} frames`,
      opsPerCall: pairs,
      fn: pairCall,
      target: { min: 20e6 },
    });
    if (peer) {
      const { bytes, firstPfn } = stateBytes(alloc);
      const c = peer.run<{ ops_per_s: number; states_fnv: number; end_states_fnv: number; pa_sum: number }>([
        peer.writeInput('virt-states.bin', bytes),
        firstPfn,
        'pairs',
        pairs,
        20,
        bench.quick ? 3 : 7,
      ]);
      sameOrThrow('pairs: state bytes (FNV-1a)', fnv1a(bytes), c.states_fnv);
      sameOrThrow('pairs: sum of the frames of one call', pairCall(), c.pa_sum);
      sameOrThrow('pairs: state bytes afterwards (FNV-1a)', fnv1a(stateBytes(alloc).bytes), c.end_states_fnv);
      const size = `same virt pool, ${bytes.length} frames, same state bytes`;
      await peerRow(bench, 'C alloc-peer alloc+free pair', `${size}, best of runs`, 'ops/s', c.ops_per_s);
      await ratioRow(bench, `${name}, mmkit ÷ C`, size, mmkit / c.ops_per_s);
    }
  }

  // --- drain every frame of an 8 GiB rpi4b (all RAM managed).
  {
    const board = createRpi4bBoard({ ramGiB: 8, pool: 'all-ram' });
    const fresh = () => {
      const alloc = new PageAllocator(board.createMemory(), board.pool.ranges);
      for (const r of board.pool.reservations) alloc.reserveRange(r.start, r.end, r.reason);
      return alloc;
    };
    let frames = 0;
    const name = 'drain an 8 GiB pool (alloc until empty)';
    const mmkit = await bench.measure({
      name,
      inputSize: 'rpi4b 8 GiB all-ram, ≈2.06 M frames',
      unit: 'ms',
      better: 'lower',
      target: { max: 200 },
      run: () => {
        const alloc = fresh();
        const t0 = performance.now();
        let n = 0;
        while (alloc.alloc('user') !== 0) n++;
        const ms = performance.now() - t0;
        frames = n;
        return ms;
      },
    });
    if (frames < 2_000_000) throw new Error(`drained only ${frames} frames`);
    if (peer) {
      const alloc = fresh();
      const { bytes, firstPfn } = stateBytes(alloc);
      const order = new Fnv();
      let n = 0;
      for (let pa = alloc.alloc('user'); pa !== 0; pa = alloc.alloc('user')) {
        order.number(pa);
        n++;
      }
      const c = peer.run<{
        ms: number;
        frames: number;
        states_fnv: number;
        end_states_fnv: number;
        order_fnv: number;
      }>([peer.writeInput('rpi4b-states.bin', bytes), firstPfn, 'drain', bench.quick ? 1 : 5]);
      sameOrThrow('drain: state bytes (FNV-1a)', fnv1a(bytes), c.states_fnv);
      sameOrThrow('drain: frames handed out', n, c.frames);
      sameOrThrow('drain: order of the frames (FNV-1a)', order.value, c.order_fnv);
      sameOrThrow('drain: state bytes afterwards (FNV-1a)', fnv1a(stateBytes(alloc).bytes), c.end_states_fnv);
      const size = `same rpi4b pool, ${n} frames, same state bytes`;
      await peerRow(bench, 'C alloc-peer drain', `${size}, best of runs`, 'ms', c.ms, 'lower');
      await ratioRow(
        bench,
        'drain an 8 GiB pool, mmkit ÷ C',
        `${size}; speed ratio (C ms ÷ mmkit ms)`,
        c.ms / mmkit,
      );
    }
  }
}
