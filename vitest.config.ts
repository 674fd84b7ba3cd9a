import { readdirSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// One vitest project per package. Workspace dependencies resolve to their
// src/ through the "@mmkit/source" export condition, so no build is needed.
const packages = readdirSync(new URL('./packages', import.meta.url));

// The README examples (scripts/readme-examples) import the packages by name from generated files
// outside any package, so they get every package's src by alias (the same modules the
// "@mmkit/source" condition gives the package tests): each entry point of each package's exports
// (`@mmkit/replay` and its subpath `@mmkit/replay/policies`), exact matches only.
const sources = packages.flatMap((dir) => {
  const pkgUrl = new URL(`./packages/${dir}/`, import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', pkgUrl), 'utf8')) as {
    name: string;
    exports?: Record<string, string | Record<string, string>>;
  };
  return Object.entries(pkg.exports ?? {}).flatMap(([sub, target]) => {
    const src = typeof target === 'object' ? target['@mmkit/source'] : undefined;
    if (src === undefined) return [];
    const id = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    return [
      {
        find: new RegExp(`^${id.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`),
        replacement: new URL(src, pkgUrl).pathname,
      },
    ];
  });
});

export default defineConfig({
  resolve: { conditions: ['@mmkit/source'] },
  ssr: { resolve: { conditions: ['@mmkit/source'] } },
  test: {
    projects: [
      ...packages.map((name) => ({
        extends: true as const,
        test: { name, root: `packages/${name}`, include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
      })),
      {
        extends: true as const,
        resolve: { alias: sources },
        test: { name: 'readme-examples', root: 'scripts/readme-examples', include: ['*.test.ts'] },
      },
      {
        extends: true as const,
        test: {
          name: 'playground',
          root: 'apps/playground',
          include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
        },
      },
      {
        extends: true as const,
        test: {
          name: 'playground-e2e',
          root: 'apps/playground',
          include: ['e2e/**/*.test.ts'],
          globalSetup: ['e2e/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true as const,
        test: { name: 'api-report', root: 'scripts/api-report', include: ['*.test.ts'] },
      },
      {
        extends: true as const,
        test: { name: 'release', root: 'scripts/release', include: ['*.test.ts'] },
      },
    ],
  },
});
