/**
 * VmaTree with 100 000 VMAs: lookups (the fault path), insert+remove pairs (mmap+munmap at
 * the VMA level), top-down gap search (mmap placement), mprotect-style split+merge pairs, and
 * the host memory per VMA. Run with `pnpm bench vma` (see scripts/bench.ts).
 *
 * Layout of every tree here: 100 000 VMAs of 1–16 pages separated by gaps of 1–8 pages, with
 * one 64-page gap every 1000 VMAs, like a process with many small mappings, high in a 47-bit
 * user space; payloads are an anonymous-style `{ prot, off }` with `off` = start page, merged
 * when touching with equal prot.
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { type Vma, VmaTree } from '../src/vma-tree.js';

interface Payload {
  readonly prot: number;
  readonly off: number;
}

const VMAS = 100_000;
const BASE_VPN = 0x7_0000_0000; // VA 0x7000_0000_0000, where Linux places mmaps (not a 31-bit Smi)

function makeRandom(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

function build(): { tree: VmaTree<Payload>; starts: Float64Array; end: number } {
  const tree = new VmaTree<Payload>({
    split: (v, at, start) => ({ prot: v.prot, off: v.off + (at - start) }),
    canMerge: (l: Vma<Payload>, r: Vma<Payload>) =>
      l.value.prot === r.value.prot && r.value.off === l.value.off + (l.endVpn - l.startVpn),
  });
  const rnd = makeRandom(42);
  const starts = new Float64Array(VMAS);
  let vpn = BASE_VPN;
  for (let i = 0; i < VMAS; i++) {
    vpn += i % 1000 === 999 ? 64 : 1 + rnd(8);
    const len = 1 + rnd(16);
    starts[i] = vpn;
    tree.insert(vpn, vpn + len, { prot: rnd(4), off: vpn });
    vpn += len;
  }
  if (tree.size !== VMAS) throw new Error(`built ${tree.size} VMAs, expected ${VMAS}`);
  return { tree, starts, end: vpn };
}

export default async function vmaBench(bench: BenchContext): Promise<void> {
  await bench.measure({
    name: 'VmaTree host memory per VMA',
    inputSize: `${VMAS} VMAs (tree + Vma objects + payloads)`,
    unit: 'bytes/VMA',
    better: 'lower',
    report: 'median',
    target: { max: 256 },
    run: () => {
      bench.gc();
      const m0 = process.memoryUsage();
      const built = build();
      bench.gc();
      const m1 = process.memoryUsage();
      if (built.tree.size !== VMAS) throw new Error('lost VMAs');
      return (m1.heapUsed - m0.heapUsed + (m1.arrayBuffers - m0.arrayBuffers)) / VMAS;
    },
  });

  const { tree, starts, end } = build();
  const input = `${VMAS} VMAs, height ${tree.height}`;
  bench.gc(); // the build's garbage should not be collected inside the first measurement

  // --- find(): random pages inside VMAs (the fault handler's lookup).
  {
    const n = 100_000;
    const rnd = makeRandom(7);
    const probes = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = tree.find(starts[rnd(VMAS)]!)!;
      probes[i] = v.startVpn + rnd(v.endVpn - v.startVpn);
    }
    const expected = new Array<Vma<Payload>>(n);
    for (let i = 0; i < n; i++) expected[i] = tree.find(probes[i]!)!;
    await bench.throughput({
      name: 'VmaTree.find (hit, random)',
      inputSize: input,
      opsPerCall: n,
      fn: () => {
        let hits = 0;
        for (let i = 0; i < n; i++) if (tree.find(probes[i]!) !== undefined) hits++;
        if (hits !== n) throw new Error(`${n - hits} lookups missed`);
        return hits;
      },
      target: { min: 5e6 },
    });
    // The same lookups, then a read of the payload, as a fault handler does: the extra time is
    // the caller's cache misses on the Vma object and its payload, not the tree's.
    await bench.throughput({
      name: 'VmaTree.find (hit, random) + read payload',
      inputSize: input,
      opsPerCall: n,
      fn: () => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += tree.find(probes[i]!)!.value.prot;
        return sum;
      },
    });
    for (let i = 0; i < n; i++) {
      if (tree.find(probes[i]!) !== expected[i]) throw new Error(`lookup ${i} changed its answer`);
    }
  }

  // --- insert + removeRange of a one-page VMA in a random gap (no merge: the gap stays open).
  {
    const n = 20_000;
    const rnd = makeRandom(11);
    const at = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const j = 1 + rnd(VMAS - 1);
      at[i] = tree.find(starts[j - 1]!)!.endVpn; // first free page after VMA j − 1 (≥ 1 page free)
    }
    const value: Payload = { prot: 99, off: 0 };
    await bench.throughput({
      name: 'VmaTree insert+removeRange pair',
      inputSize: input,
      opsPerCall: n,
      fn: () => {
        let sum = 0;
        for (let i = 0; i < n; i++) {
          const s = at[i]!;
          tree.insert(s, s + 1, value);
          sum += tree.removeRange(s, s + 1).length;
        }
        if (tree.size !== VMAS) throw new Error('insert+remove changed the tree');
        return sum;
      },
      target: { min: 500e3 },
    });
  }

  // --- findGap top-down below a random ceiling (mmap placement under mmap_base).
  {
    const n = 20_000;
    const rnd = makeRandom(13);
    const ceilings = new Float64Array(n);
    for (let i = 0; i < n; i++) ceilings[i] = BASE_VPN + rnd(end - BASE_VPN);
    await bench.throughput({
      name: 'VmaTree.findGap top-down, 8 pages',
      inputSize: `${input}, gaps of 1–8 pages`,
      opsPerCall: n,
      fn: () => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += tree.findGap(8, BASE_VPN, ceilings[i]!, { topDown: true });
        return sum;
      },
      target: { min: 1e6 },
    });
    const options = { topDown: true, alignPages: 16 };
    await bench.throughput({
      name: 'VmaTree.findGap top-down, 32 pages aligned 16',
      inputSize: `${input}, one 64-page gap per 1000 VMAs`,
      opsPerCall: n,
      fn: () => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += tree.findGap(32, BASE_VPN, ceilings[i]!, options);
        return sum;
      },
      target: { min: 1e6 },
    });
  }

  // --- update (mprotect) of the middle page of a VMA and back: split in three, merge back.
  {
    const n = 10_000;
    const rnd = makeRandom(17);
    const mids: number[] = [];
    while (mids.length < n) {
      const v = tree.find(starts[rnd(VMAS)]!)!;
      if (v.endVpn - v.startVpn >= 3) mids.push(v.startVpn + 1);
    }
    const flip = (v: Payload): Payload => ({ prot: v.prot ^ 8, off: v.off });
    await bench.throughput({
      name: 'VmaTree.update split+merge-back pair',
      inputSize: input,
      opsPerCall: n,
      fn: () => {
        let sum = 0;
        for (let i = 0; i < n; i++) {
          const s = mids[i]!;
          sum += tree.update(s, s + 1, flip);
          sum += tree.update(s, s + 1, flip);
        }
        if (tree.size !== VMAS) throw new Error('update pairs changed the VMA count');
        return sum;
      },
    });
  }
}
