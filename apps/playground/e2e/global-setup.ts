/**
 * Builds the app (vite build into e2e-dist/) and serves it on loopback for the e2e tests; also
 * unpacks Chromium (@sparticuz/chromium) once so the tests start fast.
 */
import { fileURLToPath } from 'node:url';
import chromium from '@sparticuz/chromium';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';
import { serveStatic } from './static-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    distDir: string;
    chromiumPath: string;
  }
}

export default async function setup(project: TestProject) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const distDir = fileURLToPath(new URL('../e2e-dist', import.meta.url));
  await build({ root, logLevel: 'warn', build: { outDir: distDir, emptyOutDir: true } });
  const { server, url } = await serveStatic(distDir);
  project.provide('baseUrl', url);
  project.provide('distDir', distDir);
  project.provide('chromiumPath', await chromium.executablePath());
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
