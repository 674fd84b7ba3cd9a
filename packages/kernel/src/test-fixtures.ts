/**
 * Test fixtures (not exported from the package): small machines and helpers
 * to exhaust memory precisely.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createX86Arch } from '@mmkit/arch-x86';
import { createPcBoard, createVirtBoard } from '@mmkit/boards';
import { type MmEvent, type MmioWindow, PAGE_SIZE, PhysicalMemory, type PhysicalRegion } from '@mmkit/core';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import type { MachineDescription } from './machine.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import type { ModelOptions } from './vm-reference.js';

/** A machine with `pages` frames of RAM at 0x4000_0000, all in the allocator pool, plus a UART window. */
export function tinyMachine(pages: number): MachineDescription {
  const ram: PhysicalRegion[] = [{ name: 'ram', start: 0x4000_0000, end: 0x4000_0000 + pages * PAGE_SIZE }];
  const mmio: MmioWindow[] = [{ name: 'uart', start: 0x0900_0000, end: 0x0900_1000 }];
  return {
    id: 'tiny',
    name: `tiny test machine (${pages} pages)`,
    ram,
    mmio,
    kernelImage: { start: 0x4000_0000, end: 0x4000_0000 },
    pool: { ranges: ram, reservations: [] },
    createMemory: () => new PhysicalMemory({ ram, mmio }),
  };
}

/**
 * Allocates kernel frames until exactly `keep` frames are free. Returns a function that
 * gives them back.
 */
export function leaveFree(kernel: Kernel, keep: number): () => void {
  const taken: number[] = [];
  while (kernel.allocator.freeCount > keep) {
    const pa = kernel.allocator.alloc('kernel', -1);
    if (pa === 0) break;
    taken.push(pa);
  }
  return () => {
    for (const pa of taken) kernel.allocator.free(pa);
  };
}

/** The frame the 4 KiB (or huge) leaf at `va` of `p` maps; throws when nothing is mapped there. */
export function leafPa(kernel: Kernel, p: Process, va: bigint): number {
  const ref = kernel.lookup(p, va);
  if (ref?.entry.kind !== 'leaf') throw new Error(`nothing mapped at ${va.toString(16)}`);
  return ref.entry.pa;
}

/** The raw 64-bit descriptor (both halves) of the leaf at `va` of `p`; throws when nothing is mapped there. */
export function leafRaw(kernel: Kernel, p: Process, va: bigint): bigint {
  const ref = kernel.lookup(p, va);
  if (ref?.entry.kind !== 'leaf') throw new Error(`nothing mapped at ${va.toString(16)}`);
  const [lo, hi] = kernel.editor.readRaw(ref.descriptorPa);
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** A kernel for one of {@link fiveConfigs}: two CPUs, strict TLB mode. */
export function bootStrict(c: TestConfig): Kernel {
  return bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true });
}

/**
 * mmap of one page of device memory (`opts.physical`, remap_pfn_range) read/write with `flags`
 * (default MAP_SHARED): the first page-aligned MMIO window of the board (not the pc's EBDA).
 */
export function mapDevice(
  kernel: Kernel,
  p: Process,
  flags: number = MAP.SHARED,
): { va: bigint; pa: number } {
  const w = kernel.machine.mmio.find(
    (x) => x.start % 4096 === 0 && x.end - x.start >= 4096 && x.name !== 'ebda',
  )!;
  const m = kernel.mmap(p, 0, 4096, PROT.READ | PROT.WRITE, flags, { physical: w.start });
  if (!m.ok) throw new Error(m.detail);
  return { va: m.value, pa: w.start };
}

/** A small address space for the reference model's own tests (vm-reference.ts): 4096 pages, heap at 1 MiB. */
export const SMALL_MODEL_OPTIONS: ModelOptions = {
  userEndVpn: 0x1000,
  heapBase: 0x10_0000n,
  brkLimit: 0x80_0000n,
  mmapMinVpn: 16,
  mmapTopVpn: 0x800,
  hugePages: 512,
  brkGapPages: 1,
  traits: { execOnly: false, noExecute: true },
};

/** One of the five configurations every cross-architecture test runs on. */
export interface TestConfig {
  readonly name: string;
  readonly arch: () => import('@mmkit/core').ArchBackend;
  readonly machine: () => MachineDescription;
}

/**
 * AArch64 on QEMU virt, and x86-64 4-level, x86-64 LA57, PAE and 32-bit x86 on the pc (the 32-bit
 * modes on its 32-bit flavour), each board with `ramBytes` of RAM, all of it managed.
 */
export function fiveConfigs(ramBytes: number): readonly TestConfig[] {
  return [
    {
      name: 'aarch64 on virt',
      arch: () => createAarch64Arch(),
      machine: () => createVirtBoard({ ramBytes, pool: 'all-ram' }),
    },
    {
      name: 'x86_64 on pc',
      arch: () => createX86Arch({ mode: 'x86_64' }),
      machine: () => createPcBoard({ ramBytes }),
    },
    {
      name: 'x86_64-la57 on pc',
      arch: () => createX86Arch({ mode: 'x86_64-la57' }),
      machine: () => createPcBoard({ ramBytes }),
    },
    {
      name: 'x86-pae on pc',
      arch: () => createX86Arch({ mode: 'x86-pae' }),
      machine: () => createPcBoard({ ramBytes, flavour: '32' }),
    },
    {
      name: 'x86-32 on pc',
      arch: () => createX86Arch({ mode: 'x86-32' }),
      machine: () => createPcBoard({ ramBytes, flavour: '32' }),
    },
  ];
}

/** A kernel with one process of private rw- pages and a swap device (see {@link swapTestEnv}). */
export interface SwapTestEnv {
  readonly k: Kernel;
  readonly p: Process;
  /** Every event since the setup (cleared after it). */
  readonly events: MmEvent[];
  /** The first page's address. */
  readonly base: bigint;
}

/**
 * Boots `c` (two CPUs, strict TLB mode, `opts`), maps `n` private rw- pages in a new process,
 * page i holding `0x7000 + i` at offset 16, and adds a swap device of `pages` pages (none for 0);
 * records every event in `events` unless `listen` is false.
 */
export function swapTestEnv(
  c: TestConfig,
  n: number,
  pages: number,
  opts: Partial<KernelOptions> = {},
  listen = true,
): SwapTestEnv {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, ...opts });
  const events: MmEvent[] = [];
  // A listener makes fork and teardown take their per-leaf paths; `listen` false keeps the fast ones.
  if (listen) k.events.on((e) => events.push(e));
  const p = k.createProcess();
  const r = k.mmap(p, 0, n * PAGE_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!r.ok) throw new Error(r.detail);
  for (let i = 0; i < n; i++) {
    const w = k.store(p, r.value + BigInt(i * PAGE_SIZE + 16), 8, 0x7000n + BigInt(i));
    if (!w.ok) throw new Error(`setup store to page ${i} failed: ${w.killed}`);
  }
  if (pages > 0 && !k.swapon({ pages }).ok) throw new Error('setup swapon failed');
  events.length = 0;
  return { k, p, events, base: r.value };
}
