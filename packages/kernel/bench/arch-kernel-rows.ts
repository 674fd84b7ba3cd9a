/**
 * The foundation's kernel rows (demand-zero faults, TLB-hit translation through a CPU, host
 * memory of a booted board) for one configuration. Each configuration runs in its own bench file,
 * hence its own process: measured in one process, V8's type feedback inside `Cpu.translate`
 * becomes polymorphic after the first configuration and later rows lose a third of their speed.
 * Not a bench file itself (no `.bench.ts` suffix).
 */
import type { ArchBackend } from '@mmkit/core';
import type { BenchContext } from '../../../scripts/bench-api.js';
import { bootKernel } from '../src/kernel.js';
import type { MachineDescription } from '../src/machine.js';

const MiB = 2 ** 20;

/** A configuration to measure. */
export interface Config {
  readonly name: string;
  readonly arch: () => ArchBackend;
  readonly machine: (ramBytes: number) => MachineDescription;
  /** Board for the host-memory row, with its description. */
  readonly bigBoard: readonly [label: string, machine: () => MachineDescription];
}

/** Records the rows for `c`. */
export async function archKernelRows(bench: BenchContext, c: Config): Promise<void> {
  // --- demand-zero faults
  {
    const k = bootKernel({ arch: c.arch(), machine: c.machine(1024 * MiB) });
    const pages = 32_768;
    // Warm-up (discarded), also in --quick mode: compiles the fault path and makes the host give
    // PhysicalMemory its slabs (first-touch page faults of the host OS), so every timed run sees
    // the steady state of a long simulation (slots recycled through discardFrame).
    for (let w = 0; w < 2; w++) {
      const p = k.createProcess();
      k.brk(p, k.layout.heapBase + BigInt(pages) * 4096n);
      for (let i = 0; i < pages; i++) k.store(p, Number(k.layout.heapBase) + i * 4096, 1, 1);
      k.exit(p);
    }
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
  // --- host memory of a booted board
  {
    const [label, machine] = c.bigBoard;
    await bench.measure({
      name: `host memory of a booted ${label}`,
      inputSize: `${label}, 2 CPUs`,
      unit: 'MiB',
      better: 'lower',
      report: 'median',
      target: { max: 64 },
      run: () => {
        bench.gc();
        const m0 = process.memoryUsage();
        const k = bootKernel({ arch: c.arch(), machine: machine(), cpus: 2 });
        bench.gc();
        const m1 = process.memoryUsage();
        if (k.allocator.freeCount < 100_000) throw new Error('boot did not manage the RAM');
        return (m1.heapUsed - m0.heapUsed + (m1.arrayBuffers - m0.arrayBuffers)) / MiB;
      },
    });
  }
}
