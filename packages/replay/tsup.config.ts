import { defineConfig } from 'tsup';
import { unbundled } from '../../scripts/tsup-modules.js';

// Unbundled, one module per source file: see scripts/tsup-modules.ts (a bundle's constants are
// `var`s V8 does not fold into the replay loops). The worker is loaded by URL (replay-jobs.ts).
// Two builds, so each entry's .d.ts is self-contained (one build with both entries would move the
// shared declarations into a chunk, and the main entry's API report would only re-export them):
// the first emits every module and the main entry's .d.ts and cleans dist (at its start, before
// either writes); the second only the policies entry's .d.ts.
const main = unbundled(process.cwd(), ['src/replay-worker.ts', 'src/policies-entry.ts']);
export default defineConfig([
  main,
  {
    format: ['esm'],
    target: 'node20',
    entry: ['src/policies-entry.ts'],
    clean: false,
    dts: { entry: 'src/policies-entry.ts', only: true },
  },
]);
