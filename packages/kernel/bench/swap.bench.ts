/**
 * Swap benchmark (issue 8): swap-out + swap-in round trips of private anonymous pages — every page
 * of a 64 MiB mapping swapped out through `pageOutRange` (MADV_PAGEOUT's walk: reverse map, slot,
 * swap PTE, TLB invalidation on every CPU, 4 KiB copied to the device, frame freed) and touched
 * again by a write (a major fault each: walk, fault handler, frame, 4 KiB copied back, PTE, slot
 * freed — a write fault frees the swap, `should_try_to_free_swap`; then a read of the value) —
 * on mmkit for AArch64 (virt) and x86-64 (pc), and the same data movement and bookkeeping in C
 * (`bench/native/swap-peer.c`: memcpy both ways, PTE encode/decode, slot counts, a free stack; no
 * page walk, TLB or fault delivery). Ratio rows are `mmkit ÷ C`. A second row per architecture
 * touches the pages by reads only: they stay in the swap cache with their slots, so from the
 * second run on the swap-out writes nothing (clean pages, `pswpout` unchanged). Run with
 * `pnpm bench swap`.
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { NativePeer, peerRow, ratioRow, sameOrThrow } from '../../../scripts/native-peer.js';
import { bootKernel } from '../src/kernel.js';
import { pageOutRange } from '../src/swap.js';
import { MAP, PROT } from '../src/syscalls.js';
import { boardConfigs } from './bench-boards.js';

const PAGE = 4096;
const PAGES = 16_384; // 64 MiB

const CONFIGS = boardConfigs(256);

interface PeerResult {
  readonly pages: number;
  readonly repeats: number;
  readonly round_trips_per_s: number;
  readonly checksum: number;
}

export default async function swapBench(bench: BenchContext): Promise<void> {
  const repeats = bench.quick ? 2 : 5;
  const rates = new Map<string, number>();
  let checksum = -1;
  for (const c of CONFIGS) {
    const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2 });
    // Twice the pages: the read round trips keep every slot, below vm_swap_full (half full).
    const dev = k.swapon({ pages: 2 * PAGES + 1 });
    if (!dev.ok) throw new Error(dev.detail);
    const p = k.createProcess();
    const m = k.mmap(p, 0, PAGES * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    if (!m.ok) throw new Error(m.detail);
    const va = Number(m.value);
    const vpn = va / PAGE;
    for (let i = 0; i < PAGES; i++) {
      k.writeUser(p, va + i * PAGE, new Uint8Array(PAGE).fill(i & 0xff));
      k.store(p, va + i * PAGE, 8, BigInt(i + 1));
    }
    const roundTrip = (): number => {
      const t0 = performance.now();
      if (pageOutRange(k, p.space, vpn, vpn + PAGES) !== PAGES) throw new Error('not every page swapped out');
      let sum = 0;
      for (let i = 0; i < PAGES; i++) {
        // A write fault: swap-in, the slot freed; then the value (a TLB hit).
        if (!k.store(p, va + i * PAGE + 8, 4, 0n).ok) throw new Error(`swap-in of page ${i} failed`);
        const r = k.load(p, va + i * PAGE, 4);
        if (!r.ok) throw new Error(`load of page ${i} failed`);
        sum += r.value as number;
      }
      const t = performance.now() - t0;
      if (p.space.swapEntries !== 0 || k.swapDevices[0]!.usedPages !== 0)
        throw new Error('slots left in use');
      checksum = sum;
      return PAGES / (t / 1000);
    };
    const readTrip = (): number => {
      const t0 = performance.now();
      if (pageOutRange(k, p.space, vpn, vpn + PAGES) !== PAGES) throw new Error('not every page swapped out');
      let sum = 0;
      for (let i = 0; i < PAGES; i++) {
        const r = k.load(p, va + i * PAGE, 4);
        if (!r.ok) throw new Error(`swap-in of page ${i} failed`);
        sum += r.value as number;
      }
      const t = performance.now() - t0;
      if (k.swapDevices[0]!.cachedPages !== PAGES) throw new Error('read pages left the swap cache');
      if (sum !== checksum) throw new Error('a read round trip lost contents');
      return PAGES / (t / 1000);
    };
    for (let i = 0; i < 2; i++) roundTrip(); // warm-up: the JIT and the device's chunks
    const rate = await bench.measure({
      name: `mmkit swap-out + swap-in round trip (${c.name})`,
      inputSize: `${PAGES} private 4 KiB pages (64 MiB) per run, 2 CPUs, 256 MiB board`,
      unit: 'pages/s',
      better: 'higher',
      repeat: repeats,
      run: roundTrip,
    });
    rates.set(c.name, rate);
    readTrip(); // warm-up: the pages go into the swap cache
    const out0 = k.vmstat.pswpout;
    await bench.measure({
      name: `mmkit clean re-reclaim + read swap-in (${c.name})`,
      inputSize: `${PAGES} swap-cache 4 KiB pages per run (no write: clean), 2 CPUs, 256 MiB board`,
      unit: 'pages/s',
      better: 'higher',
      repeat: repeats,
      run: readTrip,
    });
    if (k.vmstat.pswpout !== out0) throw new Error('clean swap-cache pages were written again');
    k.exit(p);
    if (k.allocator.freeCount !== k.baselineFree) throw new Error('the swap runs leaked frames');
    bench.gc();
  }
  const peer = NativePeer.compile(new URL('./native/swap-peer.c', import.meta.url), 'swap.bench');
  if (!peer) return;
  try {
    const r = peer.run<PeerResult>([PAGES, repeats]);
    sameOrThrow('sum of the pages after the round trips', checksum, r.checksum);
    await peerRow(
      bench,
      'C swap-out + swap-in round trip (memcpy + PTE + slot work only)',
      `${PAGES} pages per run, best of ${repeats}`,
      'pages/s',
      r.round_trips_per_s,
    );
    for (const c of CONFIGS)
      await ratioRow(
        bench,
        `swap round trip (${c.name}), mmkit ÷ C`,
        'best ÷ best, same run',
        (rates.get(c.name) ?? 0) / r.round_trips_per_s,
      );
  } finally {
    peer.dispose();
  }
}
