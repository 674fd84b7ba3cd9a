/**
 * A Vite plugin that fails the build when any module imports a Node built-in (`node:fs`, `zlib`,
 * `worker_threads`, …). The playground runs in a browser: a built-in reaching the bundle would be
 * Vite's empty "browser external" stub, failing at run time. The fix is at the import's source — a
 * browser-safe entry point such as `@mmkit/replay/policies` — never a stub here.
 */
import { builtinModules } from 'node:module';
import type { Plugin } from 'vite';

const BUILTINS = new Set(builtinModules);

/**
 * What a Node built-in leaves in built JavaScript: an import (static or dynamic) of a `node:`
 * module, or Vite's empty "browser external" stub for one. The e2e test scans the bundle with it.
 */
export const NODE_IN_BUNDLE = /(?:from|import)\s*\(?\s*["']node:|__vite-browser-external/;

/** Whether `source` names a Node built-in (`node:` prefixed, or a bare built-in name such as `fs/promises`). */
export function isNodeBuiltin(source: string): boolean {
  return source.startsWith('node:') || BUILTINS.has(source);
}

/** The plugin: its `resolveId` rejects a built-in, naming it and the module that imports it. */
export function noNodeBuiltins(): Plugin {
  return {
    name: 'mmkit-no-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (isNodeBuiltin(source))
        this.error(
          `${source} is a Node built-in, imported by ${importer ?? 'the entry'}: the playground runs in a browser; import a browser-safe entry point instead`,
        );
      return null;
    },
  };
}
