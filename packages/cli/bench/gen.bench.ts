/**
 * `mmkit gen` table generation (core PageTableEditor through the backend codec) and the MMU
 * walk-back check, on board presets.
 */
import type { BenchContext } from '../../../scripts/bench-api.js';
import { generateTables, parseGenSpec, verifyImage } from '../src/commands/gen.js';

export default async function genBench(bench: BenchContext): Promise<void> {
  for (const [board, arch] of [
    ['virt', 'aarch64'],
    ['pc', 'x86_64'],
    ['pc', 'x86-32'],
  ] as const) {
    const spec = parseGenSpec(`arch: ${arch}\nboard: ${board}\npreset: kernel\n`, 'bench');
    const r = generateTables(spec);
    await bench.measure({
      name: `generateTables (kernel preset, ${board}/${arch})`,
      inputSize: `${r.leaves.length} leaves, ${r.tables.length} tables`,
      unit: 'ms',
      better: 'lower',
      run: () => {
        const t = performance.now();
        generateTables(spec);
        return performance.now() - t;
      },
    });
    await bench.measure({
      name: `verifyImage (walk back, ${board}/${arch})`,
      inputSize: `${r.leaves.length * 2} probes`,
      unit: 'ms',
      better: 'lower',
      run: () => {
        const t = performance.now();
        verifyImage(spec, r.image, { user: r.userRoot, kernel: r.kernelRoot }, r.leaves);
        return performance.now() - t;
      },
    });
  }
}
