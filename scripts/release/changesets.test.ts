/**
 * The release flow's own preconditions, checked on every test run so `pnpm release` cannot fail
 * late: `changeset version` refuses a changeset that names both an ignored package (the private
 * testkit, see .changeset/config.json) and a released one ("Mixed changesets that contain both
 * ignored and not ignored packages are not allowed"), and every changeset must name packages that
 * exist with a valid bump.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const config = JSON.parse(readFileSync(new URL('.changeset/config.json', root), 'utf8')) as {
  ignore: string[];
};
const packages = new Set(
  readdirSync(new URL('packages/', root)).map(
    (d) =>
      (JSON.parse(readFileSync(new URL(`packages/${d}/package.json`, root), 'utf8')) as { name: string })
        .name,
  ),
);

/** The `"name": bump` lines of a changeset's front matter. */
export function changesetPackages(text: string): { name: string; bump: string }[] {
  const m = /^---\n([\s\S]*?)\n---/.exec(text);
  if (!m) return [];
  return m[1]!
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const r = /^"([^"]+)":\s*(\w+)\s*$/.exec(l);
      return r ? { name: r[1]!, bump: r[2]! } : { name: l, bump: '?' };
    });
}

/** Problems `changeset version` would stop on. */
export function changesetProblems(file: string, text: string, ignored: readonly string[]): string[] {
  const entries = changesetPackages(text);
  const out: string[] = [];
  if (entries.length === 0) out.push(`${file}: no front matter naming packages`);
  for (const e of entries) {
    if (!packages.has(e.name)) out.push(`${file}: unknown package ${e.name}`);
    if (!['major', 'minor', 'patch'].includes(e.bump)) out.push(`${file}: ${e.name} has bump ${e.bump}`);
  }
  const ign = entries.filter((e) => ignored.includes(e.name));
  if (ign.length > 0 && ign.length < entries.length)
    out.push(`${file}: mixes the ignored ${ign.map((e) => e.name).join(', ')} with released packages`);
  return out;
}

describe('changesets', () => {
  it('every changeset in .changeset/ is one `changeset version` accepts', () => {
    const dir = new URL('.changeset/', root);
    const problems = readdirSync(dir)
      .filter((f) => f.endsWith('.md') && f !== 'README.md')
      .flatMap((f) => changesetProblems(f, readFileSync(new URL(f, dir), 'utf8'), config.ignore));
    expect(problems).toEqual([]);
  });

  it('the check catches a changeset that mixes the ignored testkit with a released package', () => {
    const text = '---\n"@mmkit/core": minor\n"@mmkit/testkit": patch\n---\n\nText.\n';
    expect(changesetProblems('x.md', text, ['@mmkit/testkit'])).toEqual([
      'x.md: mixes the ignored @mmkit/testkit with released packages',
    ]);
    expect(changesetProblems('y.md', '---\n"@mmkit/nope": minor\n---\n', [])).toEqual([
      'y.md: unknown package @mmkit/nope',
    ]);
  });
});
