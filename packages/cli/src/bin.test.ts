import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

// The root `pnpm test` builds @mmkit/cli and its dependencies first (turbo) and `.ci/run` runs
// that command, so the binary is always there to test: a missing dist/ is a failure, not a skip.
describe('built binary dist/bin.js', () => {
  it('exists (built by `pnpm test` before vitest runs)', () => {
    expect(
      existsSync(bin),
      `${bin} is missing: run the tests with \`pnpm test\` (it builds @mmkit/cli first) or run \`pnpm build\``,
    ).toBe(true);
  });

  it('decodes an ESR and exits 0', () => {
    const r = spawnSync(process.execPath, [bin, 'decode', 'aarch64', '--esr', '0x92000007', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).neutral).toMatchObject({ fault: 'translation', level: 'L3', access: 'read' });
  });

  it('exits 2 with one stderr line for a usage error', () => {
    const r = spawnSync(process.execPath, [bin, 'decode', 'aarch64', '0xZZ'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^mmkit: error: descriptor "0xZZ" is not a number/);
  });
});
