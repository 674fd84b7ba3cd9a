/**
 * The checked-in API reports match the built declarations (run after the build, as `pnpm test`
 * does), and the check can fail.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations
import { publicPackages, reportOf, staleReports, surfaceOf } from './api-report.mjs';

describe('API reports', () => {
  it('are up to date for every public package', () => {
    const stale: string[] = staleReports();
    expect(
      stale,
      `API reports out of date for ${stale.join(', ')}: run \`npx --yes pnpm@10 api:update\`, review the diff and add a changeset that describes the API change`,
    ).toEqual([]);
  });

  it('cover every public package and no private one', () => {
    const dirs: string[] = publicPackages();
    expect(dirs).toContain('core');
    expect(dirs).not.toContain('testkit');
  });

  it('change when a signature changes, not when a comment does', () => {
    const a = surfaceOf('/** doc */\ndeclare function f(x: number): void;\n');
    const b = surfaceOf('/** other doc */\n\ndeclare function f(x: number): void; // note\n');
    const c = surfaceOf('/** doc */\ndeclare function f(x: bigint): void;\n');
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(reportOf('core')).toContain('declare class PageTableEditor');
  });
});
