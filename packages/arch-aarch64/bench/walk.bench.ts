/**
 * The AArch64 walker: random 4-level walks over 1 GiB of 4 KiB pages (262 144
 * L3 entries in 512 L3 tables), no TLB in front. Run with `pnpm bench`.
 *
 * C peer (native/walk-peer.c, see native/README.md): the raw bytes of every table this bench
 * built, the root and the same VA list go to a C walker of the same format with the same checks;
 * its results (page frame, permissions, level, memory type, global, dirty of every walk) must hash
 * the same as mmkit's, else the bench throws. Rows: the C rate, and `… mmkit ÷ C`.
 */
import { PAGE_SIZE, PageTableEditor, PhysicalMemory, WalkResult } from '@mmkit/core';
import type { BenchContext } from '../../../scripts/bench-api.js';
import {
  Fnv,
  fnv1a,
  NativePeer,
  peerRow,
  ratioRow,
  sameOrThrow,
  toUint64,
} from '../../../scripts/native-peer.js';
import { createAarch64Arch } from '../src/index.js';

/** The hash walk-peer.c computes over its results: pfn (2 words), then a packed word per walk. */
function hashWalk(h: Fnv, out: WalkResult): void {
  h.number(out.pfn);
  h.word(
    out.ok
      ? out.perms |
          (out.leafLevel << 8) |
          (out.memoryType << 12) |
          ((out.global ? 1 : 0) << 16) |
          ((out.dirty ? 1 : 0) << 17)
      : (0x8000_0000 | (out.faultKind << 8) | out.faultLevel) >>> 0,
  );
}

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
  const walkAll = () => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      mmu.walk(vpns[i]!, 0, 0, out);
      sum += out.pfn;
    }
    return sum;
  };
  const mmkit = await bench.throughput({
    name: 'Mmu.walk, random 4-level walks',
    inputSize: '1 GiB mapped with 4 KiB pages (262 144 PTEs)',
    opsPerCall: n,
    fn: walkAll,
    target: { min: 10e6 },
  });

  const peer = NativePeer.compile(new URL('./native/walk-peer.c', import.meta.url), 'aarch64 walk.bench');
  if (!peer) return;
  try {
    const tablesPa = 0x1_0000_0000;
    const tables = memory.readBytes(tablesPa, next - tablesPa);
    const h = new Fnv();
    for (let i = 0; i < n; i++) {
      mmu.walk(vpns[i]!, 0, 0, out);
      hashWalk(h, out);
    }
    const o = arch.options;
    const c = peer.run<{ ops_per_s: number; table_fnv: number; result_fnv: number; pfn_sum: number }>([
      peer.writeInput('tables.bin', tables),
      tablesPa,
      root,
      peer.writeInput('vpns.bin', toUint64(vpns)),
      bench.quick ? 4 : 16,
      bench.quick ? 3 : 7,
      Number(o.hardwareAccessFlag),
      Number(o.hardwareDirty),
      Number(mmu.pan),
      Number(mmu.wxn),
      Array.from(arch.mair.typeOfIndex).join(','),
    ]);
    sameOrThrow('table bytes (FNV-1a)', fnv1a(tables), c.table_fnv);
    sameOrThrow('sum of walked frames', walkAll(), c.pfn_sum);
    sameOrThrow('walk results (FNV-1a of pfn, perms, level, type, global, dirty)', h.value, c.result_fnv);
    const size = `same ${tables.length / PAGE_SIZE} tables, same ${n} VAs`;
    await peerRow(bench, 'C walk-peer, random 4-level walks', `${size}, best of runs`, 'ops/s', c.ops_per_s);
    await ratioRow(bench, 'Mmu.walk, random 4-level walks, mmkit ÷ C', size, mmkit / c.ops_per_s);
  } finally {
    peer.dispose();
  }
}
