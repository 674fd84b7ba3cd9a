/**
 * The foundation's kernel benchmarks on x86: demand-zero faults, TLB-hit translation through a
 * CPU, and the host memory of a booted 8 GiB PC — on x86-64 (4-level) and 32-bit x86 (2-level),
 * next to AArch64 in the same run so the rows compare directly. Run with `pnpm bench x86`.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createX86Arch } from '@mmkit/arch-x86';
import { createPcBoard, createVirtBoard } from '@mmkit/boards';
import type { ArchBackend } from '@mmkit/core';
import type { BenchContext } from '../../../scripts/bench-api.js';
import { bootKernel } from '../src/kernel.js';
import type { MachineDescription } from '../src/machine.js';

const MiB = 2 ** 20;

interface Config {
  readonly name: string;
  readonly arch: () => ArchBackend;
  readonly machine: (ramBytes: number) => MachineDescription;
}

const CONFIGS: readonly Config[] = [
  {
    name: 'aarch64',
    arch: () => createAarch64Arch(),
    machine: (ramBytes) => createVirtBoard({ ramBytes, pool: 'all-ram' }),
  },
  {
    name: 'x86_64',
    arch: () => createX86Arch({ mode: 'x86_64' }),
    machine: (ramBytes) => createPcBoard({ ramBytes }),
  },
  {
    name: 'x86-32',
    arch: () => createX86Arch({ mode: 'x86-32' }),
    machine: (ramBytes) => createPcBoard({ ramBytes, flavour: '32' }),
  },
];

export default async function kernelX86Bench(bench: BenchContext): Promise<void> {
  for (const c of CONFIGS) {
    // --- demand-zero faults
    {
      const k = bootKernel({ arch: c.arch(), machine: c.machine(1024 * MiB) });
      const pages = 32_768;
      await bench.measure({
        name: `demand-zero faults (${c.name})`,
        inputSize: `${pages} pages (128 MiB heap) per run`,
        unit: 'faults/s',
        better: 'higher',
        target: { min: 1e6 },
        repeat: bench.quick ? 1 : 5,
        run: () => {
          const p = k.createProcess();
          k.brk(p, k.layout.heapBase + BigInt(pages) * 4096n);
          const base = Number(k.layout.heapBase);
          const t0 = performance.now();
          for (let i = 0; i < pages; i++) k.store(p, base + i * 4096, 1, 1);
          const s = (performance.now() - t0) / 1000;
          if (p.residentPages !== pages)
            throw new Error(`expected ${pages} resident pages, got ${p.residentPages}`);
          k.exit(p);
          return pages / s;
        },
      });
    }
    // --- TLB-hit translation through a CPU
    {
      const k = bootKernel({ arch: c.arch(), machine: c.machine(256 * MiB) });
      const p = k.createProcess();
      const pages = 2048;
      k.brk(p, k.layout.heapBase + BigInt(pages) * 4096n);
      for (let i = 0; i < pages; i++) k.store(p, Number(k.layout.heapBase) + i * 4096, 1, 1);
      const cpu = k.cpus[0]!;
      const base = Number(k.layout.heapBase / 4096n);
      const n = 1_000_000;
      await bench.throughput({
        name: `Cpu.translate, TLB hit (${c.name})`,
        inputSize: `${pages}-page working set, 4096-entry TLB`,
        opsPerCall: n,
        fn: () => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += cpu.translate(p, base + (i & (pages - 1)), 0, 8, 0, 0, false);
          return sum;
        },
        target: { min: 100e6 },
      });
    }
  }
  // --- host memory of a booted 8 GiB PC on x86-64 (32-bit x86 cannot address 8 GiB: 3 GiB there)
  for (const [name, arch, machine] of [
    [
      'x86_64, pc 8 GiB',
      () => createX86Arch({ mode: 'x86_64' }),
      () => createPcBoard({ ramBytes: 8192 * MiB }),
    ],
    [
      'x86-32, pc 3 GiB',
      () => createX86Arch({ mode: 'x86-32' }),
      () => createPcBoard({ ramBytes: 3072 * MiB, flavour: '32' }),
    ],
  ] as const) {
    await bench.measure({
      name: `host memory of a booted ${name}`,
      inputSize: `${name}, 2 CPUs`,
      unit: 'MiB',
      better: 'lower',
      report: 'median',
      target: { max: 64 },
      run: () => {
        bench.gc();
        const m0 = process.memoryUsage();
        const k = bootKernel({ arch: arch(), machine: machine(), cpus: 2 });
        bench.gc();
        const m1 = process.memoryUsage();
        if (k.allocator.freeCount < 100_000) throw new Error('boot did not manage the RAM');
        return (m1.heapUsed - m0.heapUsed + (m1.arrayBuffers - m0.arrayBuffers)) / MiB;
      },
    });
  }
}
