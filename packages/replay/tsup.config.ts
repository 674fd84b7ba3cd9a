import { defineConfig } from 'tsup';

const common = { format: ['esm'], dts: true, sourcemap: true, target: 'node20' } as const;

// Two builds, so each entry's .d.ts is self-contained (one build with both entries would move the
// shared declarations into a chunk, and the main entry's API report would only re-export them).
// Only the first build cleans dist (at its start, before either writes).
export default defineConfig([
  { ...common, entry: ['src/index.ts', 'src/replay-worker.ts'], clean: true },
  { ...common, entry: ['src/policies-entry.ts'], clean: false },
]);
