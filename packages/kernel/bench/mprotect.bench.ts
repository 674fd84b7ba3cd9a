/**
 * mprotect's leaf rewrite (issue: PTE fidelity), in process on mmkit for AArch64 (virt) and x86-64
 * (pc), each with 256 MiB of RAM: mprotect(PROT_READ) then mprotect(PROT_READ | PROT_WRITE) of 512
 * written (dirty) pages — every leaf rewritten twice keeping its accessed/dirty state (Linux
 * `pte_modify`; arm64 moves the dirtiness to PTE_DIRTY and back), the VMA split and merged, one
 * TLB invalidation per call. Run with `pnpm bench mprotect`. No native peer: regression numbers.
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { bootKernel } from '../src/kernel.js';
import { MAP, PROT } from '../src/syscalls.js';
import { boardConfigs } from './bench-boards.js';

const PAGE = 4096;
const PAGES = 512;

const CONFIGS = boardConfigs(256);

export default async function mprotectBench(bench: BenchContext): Promise<void> {
  for (const c of CONFIGS) {
    const k = bootKernel({ arch: c.arch(), machine: c.machine() });
    const p = k.createProcess();
    const r = k.mmap(p, 0, PAGES * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    if (!r.ok) throw new Error(`mmap failed: ${r.errno} (${r.detail})`);
    const base = r.value;
    for (let i = 0; i < PAGES; i++) k.store(p, base + BigInt(i * PAGE), 1, 1);
    // Inside the mapping, so the pieces split off and merge back each time.
    const from = base + BigInt(PAGE);
    const bytes = (PAGES - 2) * PAGE;
    await bench.throughput({
      name: `${c.name}: mprotect r-- then rw- of ${PAGES - 2} dirty pages`,
      inputSize: `${PAGES - 2} written 4 KiB pages, 2 calls`,
      opsPerCall: (PAGES - 2) * 2,
      fn: () => {
        const a = k.mprotect(p, from, bytes, PROT.READ);
        const b = k.mprotect(p, from, bytes, PROT.READ | PROT.WRITE);
        if (!a.ok || !b.ok) throw new Error('mprotect failed');
        return a.value + b.value;
      },
    });
  }
}
