/**
 * The x86 walker: random walks over 1 GiB of 4 KiB pages, no TLB in front —
 * 4-level IA-32e paging (262 144 PTEs in 512 PTs) and 32-bit paging (262 144
 * PTEs in 256 PTs). Run with `pnpm bench arch-x86`.
 *
 * C peer (native/walk-peer.c, see native/README.md): the raw bytes of every table each
 * configuration built, CR3 and the same VA list go to a C walker of the same format with the same
 * checks; its results (page frame, permissions, level, memory type, global, dirty of every walk)
 * must hash the same as mmkit's, else the bench throws. Rows: the C rate, and `… mmkit ÷ C`.
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
import { createX86Arch, type X86Backend, type X86Mode } from '../src/index.js';

const PAGES = 262_144;
const WALKS = 1 << 16;

interface Setup {
  readonly arch: X86Backend;
  /** RAM of the board. */
  readonly ram: { readonly start: number; readonly end: number };
  /** Where table frames come from (bump allocated). */
  readonly tablesFrom: number;
  /** First mapped page number and its physical address. */
  readonly baseVpn: number;
  readonly basePa: number;
}

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

interface Built {
  /** One pass over the VA list; returns the sum of the frames. */
  readonly walk: () => number;
  /** Runs the C peer on this configuration's tables and VAs; throws unless the results match. */
  readonly peer: (peer: NativePeer, quick: boolean) => { opsPerS: number; tables: number };
}

function build(mode: X86Mode): Built {
  const s: Setup =
    mode === 'x86-32'
      ? {
          arch: createX86Arch({ mode }),
          ram: { start: 0x4000_0000, end: 0xc000_0000 },
          tablesFrom: 0x8000_0000,
          baseVpn: 0x1000_0000 / PAGE_SIZE, // VA 256 MiB .. 1.25 GiB (user half)
          basePa: 0x4000_0000,
        }
      : {
          arch: createX86Arch({ mode }),
          ram: { start: 0x4000_0000, end: 0x1_4000_0000 },
          tablesFrom: 0x1_0000_0000,
          baseVpn: 0x1_0000_0000 / PAGE_SIZE, // VA 4 GiB .. 5 GiB
          basePa: 0x4000_0000,
        };
  const { arch } = s;
  const memory = new PhysicalMemory({ ram: [{ name: 'ram', ...s.ram }] });
  let next = s.tablesFrom;
  const source = {
    allocTable: () => {
      next += PAGE_SIZE;
      return next - PAGE_SIZE;
    },
    freeTable: () => {},
  };
  const root = source.allocTable();
  const attrs = {
    user: { read: true, write: true, execute: mode === 'x86-32' },
    kernel: { read: true, write: true, execute: mode === 'x86-32' },
    global: false,
    memoryType: 'normal-wb' as const,
    accessed: true,
    dirty: true,
    software: 0,
  };
  const editor = new PageTableEditor(arch, memory);
  for (let i = 0; i < PAGES; i++) {
    const r = editor.map({
      root,
      vpn: s.baseVpn + i,
      pa: s.basePa + i * PAGE_SIZE,
      level: 1,
      attrs,
      tableAttrs: arch.defaults.userTable,
      source,
    });
    if (!r.ok) throw new Error(`map failed: ${r.reason}`);
  }
  const mmu = arch.createMmu(memory);
  mmu.setUserRoot(root, arch.options.pcid ? 1 : 0);
  const vpns = new Float64Array(WALKS);
  let x = 0x9e37_79b9;
  for (let i = 0; i < WALKS; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    vpns[i] = s.baseVpn + ((x >>> 0) % PAGES);
  }
  const out = new WalkResult();
  const walk = () => {
    let sum = 0;
    for (let i = 0; i < WALKS; i++) {
      mmu.walk(vpns[i]!, 0, 0, out);
      sum += out.pfn;
    }
    return sum;
  };
  const peer = (p: NativePeer, quick: boolean) => {
    const o = arch.options;
    if (o.pke) throw new Error('walk-peer.c does not model protection keys');
    const tables = memory.readBytes(s.tablesFrom, next - s.tablesFrom);
    const h = new Fnv();
    for (let i = 0; i < WALKS; i++) {
      mmu.walk(vpns[i]!, 0, 0, out);
      hashWalk(h, out);
    }
    const c = p.run<{ ops_per_s: number; table_fnv: number; result_fnv: number; pfn_sum: number }>([
      mode === 'x86-32' ? 32 : 64,
      p.writeInput(`tables-${mode}.bin`, tables),
      s.tablesFrom,
      root,
      p.writeInput(`vpns-${mode}.bin`, toUint64(vpns)),
      quick ? 4 : 16,
      quick ? 3 : 7,
      o.maxPhysAddr,
      Number(o.nxe),
      Number(o.pse),
      Number(o.pse36),
      Number(o.pge),
      Number(mmu.wp),
      Number(mmu.smep),
      Number(mmu.smap && !mmu.acFlag),
      Array.from(arch.pat.typeOfIndex).join(','),
    ]);
    sameOrThrow(`${mode} table bytes (FNV-1a)`, fnv1a(tables), c.table_fnv);
    sameOrThrow(`${mode} sum of walked frames`, walk(), c.pfn_sum);
    sameOrThrow(
      `${mode} walk results (FNV-1a of pfn, perms, level, type, global, dirty)`,
      h.value,
      c.result_fnv,
    );
    return { opsPerS: c.ops_per_s, tables: tables.length / PAGE_SIZE };
  };
  return { walk, peer };
}

export default async function walkBench(bench: BenchContext): Promise<void> {
  const peer = NativePeer.compile(new URL('./native/walk-peer.c', import.meta.url), 'x86 walk.bench');
  try {
    for (const [mode, levels] of [
      ['x86_64', 4],
      ['x86-32', 2],
    ] as const) {
      const built = build(mode);
      const name = `X86Mmu.walk, random ${levels}-level walks (${mode})`;
      const mmkit = await bench.throughput({
        name,
        inputSize: '1 GiB mapped with 4 KiB pages (262 144 PTEs)',
        opsPerCall: WALKS,
        fn: built.walk,
        target: { min: 10e6 },
      });
      if (!peer) continue;
      const c = built.peer(peer, bench.quick);
      const size = `same ${c.tables} tables, same ${WALKS} VAs`;
      await peerRow(
        bench,
        `C walk-peer, random ${levels}-level walks (${mode})`,
        `${size}, best of runs`,
        'ops/s',
        c.opsPerS,
      );
      await ratioRow(bench, `${name}, mmkit ÷ C`, size, mmkit / c.opsPerS);
    }
  } finally {
    peer?.dispose();
  }
}
