/**
 * The build refuses Node built-ins (vite.config.ts's noNodeBuiltins plugin): a module importing
 * one fails the build naming it and its importer; browser-only code builds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';
import { isNodeBuiltin, NODE_IN_BUNDLE, noNodeBuiltins } from '../no-node-builtins.js';
import config from '../vite.config.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-no-node-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bundle = (code: string) => {
  const entry = join(dir, `entry-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(entry, code);
  return build({
    configFile: false,
    root: dir,
    logLevel: 'silent',
    plugins: [noNodeBuiltins()],
    build: { write: false, rollupOptions: { input: entry } },
  });
};

describe('no Node built-ins in the browser bundle', () => {
  it('names built-ins with and without the node: prefix, and nothing else', () => {
    for (const b of ['node:fs', 'node:worker_threads', 'fs', 'fs/promises', 'zlib', 'module'])
      expect(isNodeBuiltin(b), b).toBe(true);
    for (const b of ['preact', 'yaml', '@mmkit/replay/policies', './fs.js'])
      expect(isNodeBuiltin(b), b).toBe(false);
  });

  it('the bundle scan finds what a built-in leaves in built code, and not yaml’s `node:` keys', () => {
    for (const code of [
      'import{readFileSync as a}from"node:fs";',
      'const z=await import("node:zlib")',
      "import * as w from 'node:worker_threads'",
      'var __vite-browser-external={}',
    ])
      expect(NODE_IN_BUNDLE.test(code), code).toBe(true);
    for (const code of ['c={anchor:null,node:null}', 'const s="node: a YAML node"', 'x.node:y'])
      expect(NODE_IN_BUNDLE.test(code), code).toBe(false);
  });

  it('fails a build that imports one, naming it and the importer', async () => {
    await expect(
      bundle(`import { readFileSync } from 'node:fs';\nconsole.log(readFileSync);\n`),
    ).rejects.toThrow(
      /node:fs is a Node built-in, imported by .*entry-.*\.js: the playground runs in a browser/,
    );
    await expect(bundle(`import { gzipSync } from 'zlib';\nconsole.log(gzipSync);\n`)).rejects.toThrow(
      /zlib is a Node built-in/,
    );
  });

  it('builds browser code, and the playground config uses the plugin for the app and its worker', async () => {
    await expect(bundle(`console.log(new Uint8Array(4).length);\n`)).resolves.toBeDefined();
    const names = (ps: unknown) => (ps as { name: string }[]).map((p) => p.name);
    expect(names(config.plugins)).toContain('mmkit-no-node-builtins');
    const workerPlugins = config.worker?.plugins;
    expect(typeof workerPlugins).toBe('function');
    expect(names((workerPlugins as () => unknown)())).toContain('mmkit-no-node-builtins');
  });
});
