import { defineConfig } from 'vite';

// The @mmkit/* packages resolve to their src/ through the "@mmkit/source" export condition, so the
// app builds from a fresh clone without building the packages first. base './' makes the build a
// static site that works from any folder.
export default defineConfig({
  base: './',
  resolve: { conditions: ['@mmkit/source', 'module', 'browser', 'development|production'] },
  worker: { format: 'es' },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  preview: { host: '127.0.0.1' },
  server: { host: '127.0.0.1' },
});
