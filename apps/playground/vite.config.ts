import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The @mmkit/* packages resolve to their src/ through the "@mmkit/source" export condition, so the
// app builds from a fresh clone without building the packages first. base './' makes the build a
// static site that works from any folder.
export default defineConfig({
  base: './',
  resolve: {
    conditions: ['@mmkit/source', 'module', 'browser', 'development|production'],
    // @mmkit/replay's index also exports its Node-only trace readers and worker pool; the
    // Replacement view uses only its policies. The built-ins those import resolve to stubs (see
    // src/node-stub.ts) and tree-shaking drops the code that uses them.
    alias: [
      {
        find: /^node:(fs|fs\/promises|zlib|module|os|url|worker_threads)$/,
        replacement: fileURLToPath(new URL('./src/node-stub.ts', import.meta.url)),
      },
    ],
  },
  worker: { format: 'es' },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  preview: { host: '127.0.0.1' },
  server: { host: '127.0.0.1' },
});
