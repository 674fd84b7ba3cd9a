import { defineConfig } from 'vite';
import { noNodeBuiltins } from './no-node-builtins.js';

// The @mmkit/* packages resolve to their src/ through the "@mmkit/source" export condition, so the
// app builds from a fresh clone without building the packages first. base './' makes the build a
// static site that works from any folder. Every @mmkit/* import is browser-safe (the Replacement
// view takes `@mmkit/replay/policies`, not the package index with its Node-only trace readers): no
// Node built-in is stubbed: the noNodeBuiltins plugin fails the build (app and worker) on any, and the
// e2e test checks that the bundle has none.
export default defineConfig({
  base: './',
  plugins: [noNodeBuiltins()],
  resolve: {
    conditions: ['@mmkit/source', 'module', 'browser', 'development|production'],
  },
  worker: { format: 'es', plugins: () => [noNodeBuiltins()] },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  preview: { host: '127.0.0.1' },
  server: { host: '127.0.0.1' },
});
