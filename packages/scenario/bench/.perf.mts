import { readLackeyTrace } from '@mmkit/replay';
import { createMachineReplay } from '../src/index.js';
const file = process.argv[2]!;
const arch = process.argv[3] ?? 'x86_64';
const board = arch === 'aarch64' ? 'virt' : 'pc';
let t = performance.now();
const pagesL: number[] = [];
const kindsL: number[] = [];
const chunksP: Float64Array[] = []; const chunksK: Uint8Array[] = [];
let n = 0;
for await (const b of readLackeyTrace(file, { accessKinds: true })) {
  chunksP.push(b.keys.slice(0, b.length)); chunksK.push(b.kinds!.slice(0, b.length)); n += b.length;
}
const pages = new Float64Array(n); const kinds = new Uint8Array(n);
let o = 0; for (let i = 0; i < chunksP.length; i++) { pages.set(chunksP[i]!, o); kinds.set(chunksK[i]!, o); o += chunksP[i]!.length; }
console.log(`read ${n} refs in ${(performance.now() - t).toFixed(0)} ms`);
for (let rep = 0; rep < 3; rep++) {
  const m = createMachineReplay({ board, arch, ramMiB: 512, tlbEntries: Number(process.argv[4] ?? 4096) });
  t = performance.now();
  m.feed(pages, kinds);
  const cold = performance.now() - t;
  const r = m.result();
  m.cpu.tlb.invalidateAll();
  t = performance.now();
  m.feed(pages, kinds);
  const warm = performance.now() - t;
  console.log(JSON.stringify({ cold: (n / cold / 1e3).toFixed(2) + ' M/s', warm: (n / warm / 1e3).toFixed(2) + ' M/s', hitRate: r.tlb.hitRate, misses: r.tlb.misses, faults: r.faults, rss: r.rssPages, regions: r.regions.length }));
}
