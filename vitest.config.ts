import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// One vitest project per package. Workspace dependencies resolve to their
// src/ through the "@mmkit/source" export condition, so no build is needed.
const packages = readdirSync(new URL('./packages', import.meta.url));

export default defineConfig({
  resolve: { conditions: ['@mmkit/source'] },
  ssr: { resolve: { conditions: ['@mmkit/source'] } },
  test: {
    projects: packages.map((name) => ({
      extends: true,
      test: { name, root: `packages/${name}`, include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
    })),
  },
});
