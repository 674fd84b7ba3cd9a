/**
 * Core hot paths: TLB hits, RAM word reads, and the host cost of a touched frame.
 * Run with `pnpm bench` (scripts/bench.ts documents the format).
 *
 * C peer of the TLB-hit row (native/tlb-peer.c, see native/README.md): the same direct-mapped
 * ASID-tagged TLB layout in C arrays, filled and looked up in the same page-number sequence; the
 * sequence of entry indices it returns must hash the same as mmkit's, else the bench throws. Rows:
 * the C rate, and `… mmkit ÷ C`.
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { Fnv, NativePeer, peerRow, ratioRow, sameOrThrow, toUint64 } from '../../../scripts/native-peer.js';
import { PAGE_SIZE } from '../src/address.js';
import { Perm } from '../src/arch.js';
import { PhysicalMemory } from '../src/physical-memory.js';
import { Tlb } from '../src/tlb.js';

const RAM_BASE = 0x4000_0000;

/** A deterministic permutation of 0..n-1 (xorshift32-driven Fisher–Yates). */
function shuffled(n: number, seed = 0x2545_f491): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let x = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const j = x % (i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

export default async function coreBench(bench: BenchContext): Promise<void> {
  // --- TLB hit: every slot of a 4096-entry TLB holds a 4 KiB user translation; look them up in a shuffled order.
  {
    const entries = 4096;
    const asid = 7;
    const baseVpn = RAM_BASE / PAGE_SIZE;
    const tlb = new Tlb(entries);
    const order = shuffled(entries);
    const vpns = new Float64Array(entries);
    for (let i = 0; i < entries; i++) {
      const vpn = baseVpn + order[i]!;
      vpns[i] = vpn;
      tlb.fill(vpn, asid, false, vpn, Perm.UR | Perm.UW | Perm.KR | Perm.KW, 0, 1, vpn, 1);
    }
    const name = 'Tlb.lookup (hit)';
    const mmkit = await bench.throughput({
      name,
      inputSize: `${entries}-entry working set, TLB of ${entries}`,
      opsPerCall: entries,
      target: { min: 100e6 },
      fn: () => {
        let s = 0;
        for (let i = 0; i < entries; i++) s += tlb.lookup(vpns[i]!, asid);
        if (s < 0) throw new Error('TLB miss in the hit benchmark');
        return s;
      },
    });
    const peer = NativePeer.compile(new URL('./native/tlb-peer.c', import.meta.url), 'core.bench (TLB)');
    if (peer) {
      try {
        const h = new Fnv();
        let sum = 0;
        for (let i = 0; i < entries; i++) {
          const k = tlb.lookup(vpns[i]!, asid);
          sum += k;
          h.word(k >>> 0);
        }
        const c = peer.run<{ ops_per_s: number; index_fnv: number; index_sum: number }>([
          peer.writeInput('vpns.bin', toUint64(vpns)),
          entries,
          asid,
          bench.quick ? 512 : 2048,
          bench.quick ? 3 : 7,
        ]);
        sameOrThrow('TLB lookups (FNV-1a of the returned indices)', h.value, c.index_fnv);
        sameOrThrow('TLB lookups (sum of the returned indices)', sum, c.index_sum);
        const size = `same ${entries} page numbers, TLB of ${entries}`;
        await peerRow(bench, 'C tlb-peer lookup (hit)', `${size}, best of runs`, 'ops/s', c.ops_per_s);
        await ratioRow(bench, `${name}, mmkit ÷ C`, size, mmkit / c.ops_per_s);
      } finally {
        peer.dispose();
      }
    }
  }

  // --- read32 on touched frames: 1024 touched frames (4 MiB), 4096 word addresses spread over them.
  {
    const frames = 1024;
    const reads = 4096;
    const memory = new PhysicalMemory({
      ram: [{ name: 'ram', start: RAM_BASE, end: RAM_BASE + 64 * 1024 * 1024 }],
    });
    for (let f = 0; f < frames; f++) memory.write32(RAM_BASE + f * PAGE_SIZE, f + 1);
    const order = shuffled(reads);
    const pas = new Float64Array(reads);
    for (let i = 0; i < reads; i++) {
      const k = order[i]!;
      pas[i] = RAM_BASE + (k % frames) * PAGE_SIZE + ((k * 8) % PAGE_SIZE);
    }
    await bench.throughput({
      name: 'PhysicalMemory.read32 (touched)',
      inputSize: `${reads} words over ${frames} touched frames`,
      opsPerCall: reads,
      fn: () => {
        let s = 0;
        for (let i = 0; i < reads; i++) s = (s + memory.read32(pas[i]!)) | 0;
        return s;
      },
    });
  }

  // --- host memory per touched frame: 65536 frames (256 MiB of a 1 GiB board) written once each.
  {
    const frames = 65536;
    // Without --expose-gc the heap delta may include garbage; the harness records `gcExposed` in the row.
    await bench.measure({
      name: 'host memory per touched frame',
      inputSize: `${frames} frames (${(frames * PAGE_SIZE) / 2 ** 20} MiB) written`,
      unit: 'KiB/frame',
      better: 'lower',
      report: 'median',
      repeat: 5,
      target: { max: 4.3 },
      run: () => {
        bench.gc();
        const before = process.memoryUsage();
        const memory = new PhysicalMemory({
          ram: [{ name: 'ram', start: RAM_BASE, end: RAM_BASE + 2 ** 30 }],
        });
        for (let f = 0; f < frames; f++) memory.write32(RAM_BASE + f * PAGE_SIZE, f | 1);
        bench.gc();
        const after = process.memoryUsage();
        if (memory.touchedFrames !== frames) {
          throw new Error(`expected ${frames} touched frames, got ${memory.touchedFrames}`);
        }
        const bytes = after.arrayBuffers - before.arrayBuffers + (after.heapUsed - before.heapUsed);
        return bytes / frames / 1024;
      },
    });
  }
}
