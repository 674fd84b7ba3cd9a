import { defineConfig } from 'tsup';

export default defineConfig({
  // bin.ts keeps its `#!/usr/bin/env node` line; tsup marks the output executable.
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
