/**
 * Builds the app (vite build into a temporary folder) and serves it on loopback for the e2e tests; also
 * unpacks Chromium (@sparticuz/chromium) once so the tests start fast.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  const distDir = mkdtempSync(join(tmpdir(), 'mmkit-playground-e2e-'));
  await build({ root, logLevel: 'warn', build: { outDir: distDir, emptyOutDir: true } });
  const { server, url } = await serveStatic(distDir);
  project.provide('baseUrl', url);
  project.provide('distDir', distDir);
  project.provide('chromiumPath', await chromium.executablePath());
  return () =>
    new Promise<void>((resolve) =>
      server.close(() => {
        rmSync(distDir, { recursive: true, force: true });
        resolve();
      }),
    );
}
