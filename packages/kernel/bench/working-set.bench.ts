/**
 * Reference bits and working-set tracking (issue 8): `frameReferenced` / `clearFrameReferenced`
 * over fork-shared frames (two mappings each, the reverse map walked, the descriptor tested with
 * the codec-derived mask; arm64 invalidates each cleared page, x86 does not), and the cost of the
 * `workingSet` option on user loads that hit the TLB — off (one comparison per access) and on
 * (sampled every 100 accesses, exact W(t, τ) on and off). Run with `pnpm bench working-set`.
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { bootKernel } from '../src/kernel.js';
import { MAP, PROT } from '../src/syscalls.js';
import type { WorkingSetOptions } from '../src/working-set.js';
import { boardConfigs, type Config } from './bench-boards.js';

const PAGES = 2048;

const CONFIGS = boardConfigs(256);

/** A process with PAGES written pages, forked (every frame mapped twice); returns the frames. */
function sharedFrames(c: Config) {
  const k = bootKernel({ arch: c.arch(), machine: c.machine() });
  const p = k.createProcess();
  const r = k.mmap(p, 0, PAGES * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!r.ok) throw new Error(r.detail);
  const base = Number(r.value);
  for (let i = 0; i < PAGES; i++) k.store(p, base + i * 4096, 1, 1);
  if (!k.fork(p).ok) throw new Error('fork failed');
  const frames: number[] = [];
  for (let i = 0; i < PAGES; i++) {
    const e = k.lookup(p, base + i * 4096)?.entry;
    frames.push(e?.kind === 'leaf' ? e.pa : 0);
  }
  return { k, p, base, frames };
}

export default async function (bench: BenchContext): Promise<void> {
  for (const c of CONFIGS) {
    {
      const { k, p, base, frames } = sharedFrames(c);
      await bench.throughput({
        name: `frameReferenced, 2 mappings per frame (${c.name})`,
        inputSize: `${PAGES} fork-shared frames`,
        opsPerCall: PAGES,
        fn: () => {
          let n = 0;
          for (const pa of frames) if (k.frameReferenced(pa)) n++;
          return n;
        },
      });
      await bench.throughput({
        name: `clearFrameReferenced + re-reference, 2 mappings per frame (${c.name})`,
        inputSize: `${PAGES} fork-shared frames; a load per frame sets the flag again`,
        opsPerCall: PAGES,
        fn: () => {
          let n = 0;
          for (let i = 0; i < PAGES; i++) {
            if (k.clearFrameReferenced(frames[i]!)) n++;
            k.load(p, base + i * 4096, 1);
          }
          return n;
        },
      });
    }
    const loads = async (label: string, workingSet: WorkingSetOptions | false) => {
      const k = bootKernel({ arch: c.arch(), machine: c.machine(), workingSet });
      const p = k.createProcess();
      const pages = 64;
      const r = k.mmap(p, 0, pages * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
      if (!r.ok) throw new Error(r.detail);
      const base = Number(r.value);
      for (let i = 0; i < pages; i++) k.store(p, base + i * 4096, 1, 1);
      const n = 100_000;
      await bench.throughput({
        name: `Kernel.load, TLB hit, working-set tracking ${label} (${c.name})`,
        inputSize: `${pages}-page loop`,
        opsPerCall: n,
        fn: () => {
          let s = 0;
          for (let i = 0; i < n; i++) {
            const v = k.load(p, base + (i & (pages - 1)) * 4096, 1);
            if (v.ok) s++;
          }
          return s;
        },
      });
    };
    await loads('off', false);
    await loads('on (sample every 100)', { sampleInterval: 100 });
    await loads('on, exact τ=1000', { sampleInterval: 100, exact: true });
  }
}
