/**
 * The AArch64 walker: random 4-level walks over 1 GiB of 4 KiB pages (262 144
 * L3 entries in 512 L3 tables), no TLB in front. Run with `pnpm bench`.
 */
import { PAGE_SIZE, PageTableEditor, PhysicalMemory, WalkResult } from '@mmkit/core';
import type { BenchContext } from '../../../scripts/bench-api.js';
import { createAarch64Arch } from '../src/index.js';

export default async function walkBench(bench: BenchContext): Promise<void> {
  const arch = createAarch64Arch();
  const ram = [{ name: 'ram', start: 0x4000_0000, end: 0x1_4000_0000 }];
  const memory = new PhysicalMemory({ ram });
  let next = 0x1_0000_0000; // tables from the top GiB; pages map the low GiB
  const source = {
    allocTable: () => {
      next += PAGE_SIZE;
      return next - PAGE_SIZE;
    },
    freeTable: () => {},
  };
  const root = source.allocTable();
  const pages = 262_144;
  const baseVpn = 0x1_0000_0000 / PAGE_SIZE; // VA 4 GiB .. 5 GiB
  const attrs = {
    user: { read: true, write: true, execute: false },
    kernel: { read: true, write: true, execute: false },
    global: false,
    memoryType: 'normal-wb' as const,
    accessed: true,
    dirty: true,
    software: 0,
  };
  const editor = new PageTableEditor(arch, memory);
  for (let i = 0; i < pages; i++) {
    const r = editor.map({
      root,
      vpn: baseVpn + i,
      pa: 0x4000_0000 + i * PAGE_SIZE,
      level: 1,
      attrs,
      tableAttrs: arch.defaults.userTable,
      source,
    });
    if (!r.ok) throw new Error(`map failed: ${r.reason}`);
  }
  const mmu = arch.createMmu(memory);
  mmu.setUserRoot(root, 1);
  const n = 1 << 16;
  const vpns = new Float64Array(n);
  let x = 0x9e37_79b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    vpns[i] = baseVpn + ((x >>> 0) % pages);
  }
  const out = new WalkResult();
  await bench.throughput({
    name: 'Mmu.walk, random 4-level walks',
    inputSize: '1 GiB mapped with 4 KiB pages (262 144 PTEs)',
    opsPerCall: n,
    fn: () => {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        mmu.walk(vpns[i]!, 0, 0, out);
        sum += out.pfn;
      }
      return sum;
    },
    target: { min: 10e6 },
  });
}
