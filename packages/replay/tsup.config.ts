import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/replay-worker.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
