/**
 * The x86 walker: random walks over 1 GiB of 4 KiB pages, no TLB in front —
 * 4-level IA-32e paging (262 144 PTEs in 512 PTs) and 32-bit paging (262 144
 * PTEs in 256 PTs). Run with `pnpm bench arch-x86`.
 */
import { PAGE_SIZE, PageTableEditor, PhysicalMemory, WalkResult } from '@mmkit/core';
import type { BenchContext } from '../../../scripts/bench-api.js';
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

function build(mode: X86Mode): { walk: () => number } {
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
  return {
    walk: () => {
      let sum = 0;
      for (let i = 0; i < WALKS; i++) {
        mmu.walk(vpns[i]!, 0, 0, out);
        sum += out.pfn;
      }
      return sum;
    },
  };
}

export default async function walkBench(bench: BenchContext): Promise<void> {
  const ia32e = build('x86_64');
  await bench.throughput({
    name: 'X86Mmu.walk, random 4-level walks (x86_64)',
    inputSize: '1 GiB mapped with 4 KiB pages (262 144 PTEs)',
    opsPerCall: WALKS,
    fn: ia32e.walk,
    target: { min: 10e6 },
  });
  const legacy = build('x86-32');
  await bench.throughput({
    name: 'X86Mmu.walk, random 2-level walks (x86-32)',
    inputSize: '1 GiB mapped with 4 KiB pages (262 144 PTEs)',
    opsPerCall: WALKS,
    fn: legacy.walk,
    target: { min: 10e6 },
  });
}
