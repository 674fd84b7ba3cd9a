/**
 * The package builds' shared tsup options: unbundled ESM, one module per source file that the
 * entries reach.
 *
 * Why unbundled: esbuild's bundler turns every top-level `const` into a `var` (deliberately, and
 * without an option), and V8 does not fold a `var`'s value into optimized code, so every mask,
 * flag and limit of a hot loop (the walkers, the TLB, the fault handler, the replay loops) became
 * a memory load: hot 4-level walks ran at 46 ns from the bundle against 35 ns from the sources.
 * Transpiled file by file the constants stay `const`, and V8 folds them, imported ones included.
 *
 * Only the modules the entries reach are emitted (test helpers living in src/, such as fixtures
 * that import vitest, stay out of dist), found by following the relative imports (`from './x.js'`,
 * `import './x.js'`, `import('./x.js')`) of the sources.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Options } from 'tsup';

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)\.js'/g;
const SIDE_EFFECT = /(?:^|[\s;])import\s+'(\.{1,2}\/[^']+)\.js'/g;
const DYNAMIC = /import\(\s*'(\.{1,2}\/[^']+)\.js'\s*\)/g;

/** The .ts files (relative to `root`) that `entries` reach through relative imports, sorted. */
export function reachableModules(root: string, entries: readonly string[]): string[] {
  const seen = new Set<string>();
  const todo = entries.map((e) => join(root, e));
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const re of [IMPORT, SIDE_EFFECT, DYNAMIC]) {
      for (const m of text.matchAll(re)) todo.push(join(dirname(file), `${m[1]}.ts`));
    }
  }
  return [...seen].map((f) => relative(root, f)).sort();
}

/**
 * tsup options for a package whose public entry is `src/index.ts` (plus `extra` entries, e.g. a
 * worker loaded by URL): every reachable module transpiled on its own, the .d.ts of `src/index.ts`.
 */
export function unbundled(root: string, extra: readonly string[] = []): Options {
  return {
    entry: reachableModules(root, ['src/index.ts', ...extra]),
    bundle: false,
    format: ['esm'],
    dts: { entry: 'src/index.ts' },
    sourcemap: true,
    clean: true,
    target: 'node20',
  };
}
