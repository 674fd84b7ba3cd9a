/**
 * Changelog lines for `changeset version`, used instead of `@changesets/cli/changelog`:
 * - works offline (`@changesets/changelog-github` asks the GitHub API for every entry);
 * - links each entry's commit on the project's home (options.repo, `owner/name`);
 * - one "Updated dependencies" line per release, each commit once, instead of one line per
 *   changeset (several changesets in one commit repeated the same line).
 */
const repoUrl = (options) => `https://github.com/${options?.repo ?? 'mmkit/mmkit'}`;
const link = (commit, options) => `[${commit.slice(0, 7)}](${repoUrl(options)}/commit/${commit})`;

async function getReleaseLine(changeset, _type, options) {
  const [first, ...rest] = changeset.summary.split('\n').map((l) => l.trimEnd());
  const head = `- ${changeset.commit ? `${link(changeset.commit, options)}: ` : ''}${first}`;
  return [head, ...rest.map((l) => (l ? `  ${l}` : ''))].join('\n');
}

async function getDependencyReleaseLine(changesets, dependenciesUpdated, options) {
  if (dependenciesUpdated.length === 0) return '';
  const commits = [...new Set(changesets.map((c) => c.commit).filter(Boolean))];
  const head = `- Updated dependencies${commits.length > 0 ? ` (${commits.map((c) => link(c, options)).join(', ')})` : ''}`;
  const names = [...new Set(dependenciesUpdated.map((d) => `  - ${d.name}@${d.newVersion}`))];
  return [head, ...names].join('\n');
}

module.exports = { getReleaseLine, getDependencyReleaseLine };
