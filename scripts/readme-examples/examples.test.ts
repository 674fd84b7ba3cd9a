/**
 * The README checker can fail: each snippet below has one wrong comment (or directive), and the
 * checker must report exactly that line. A correct snippet must pass.
 */
import { describe, expect, it } from 'vitest';
import { compareLines, deepEqual, planReadme } from './examples.js';
import { runCommand, runProgram } from './run.js';

const md = (...blocks: string[]) => blocks.join('\n\n');
const ts = (code: string, directive?: string) =>
  `${directive ? `${directive}\n` : ''}\`\`\`ts\n${code}\n\`\`\``;

async function failuresOf(markdown: string): Promise<string[]> {
  const plan = planReadme(markdown, 'SNIPPET.md');
  expect(plan.problems).toEqual([]);
  const out: string[] = [];
  for (const p of plan.programs) out.push(...(await runProgram(p)));
  return out;
}

describe('the README example checker', () => {
  it('passes a correct snippet (values, output lines, throws, continuation)', async () => {
    const snippet = md(
      '# t',
      ts(
        `import { toAddress } from '@mmkit/core';\n\ntoAddress(0x1000); // → 0x1000n\nconst x = 6 * 7; // → 42\nconsole.log('a'); console.log('b');\n// → a\n// → b\ntoAddress(-1); // → throws AddressError: …`,
      ),
      ts(
        `x + 1; // prose before the arrow → 43\n({ ok: true, n: [1, 2n] }); // → { ok: true, n: [1, 2n] }`,
        '<!-- example: continues -->',
      ),
    );
    expect(await failuresOf(snippet)).toEqual([]);
  });

  it('reports a wrong value, naming the README line and both values', async () => {
    const f = await failuresOf(md('# t', ts(`const a = 2;\na * 21; // → 43`)));
    expect(f).toEqual(['SNIPPET.md:5: expected 43, got 42']);
  });

  it('checks arrows after a template literal with a substitution (and none inside one)', async () => {
    // A raw token scan loses its place after `${…}` and used to skip every later check.
    const substitution = ['$', '{n}'].join('');
    const code = `const n = 2;\nconst s = \`a ${substitution} b // → not a comment\`;\ns; // → 'a 2 b // → not a comment'\nn * 21; // → 43`;
    expect(await failuresOf(ts(code))).toEqual(['SNIPPET.md:5: expected 43, got 42']);
  });

  it('tells a number from a bigint and an object with an extra key from one without', async () => {
    expect(await failuresOf(ts('BigInt(1); // → 1'))).toEqual(['SNIPPET.md:2: expected 1, got 1n']);
    expect(await failuresOf(ts("({ ok: false, errno: 'EFAULT' }); // → { ok: false }"))).toHaveLength(1);
    expect(deepEqual({ a: [1n] }, { a: [1n] })).toBe(true);
    expect(deepEqual([1, 2], [1, 2, 3])).toBe(false);
  });

  it('reports printed output that differs from the "// →" lines', async () => {
    const f = await failuresOf(ts("console.log('hello');\n// → hallo"));
    expect(f).toEqual(['SNIPPET.md:3: printed output differs: line 1: expected "hallo", got "hello"']);
  });

  it('reports printed output that no comment shows', async () => {
    const f = await failuresOf(ts("console.log('unshown');"));
    expect(f).toEqual(['SNIPPET.md:2: printed "unshown\\n" that no "// →" comment shows']);
  });

  it('reports an unexpected throw at the statement that threw', async () => {
    const f = await failuresOf(ts('const a = 1;\nnull.x; // → 1\nconst b = 2;'));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatch(/^SNIPPET\.md:3: threw TypeError: /);
  });

  it('reports a throws comment when nothing or something else is thrown', async () => {
    expect(await failuresOf(ts('const a = 1; // → throws Error'))).toEqual([
      'SNIPPET.md:2: expected to throw Error, but nothing was thrown',
    ]);
    const f = await failuresOf(
      ts("import { toAddress } from '@mmkit/core';\ntoAddress(-1); // → throws BusError"),
    );
    expect(f).toEqual([
      expect.stringMatching(/^SNIPPET\.md:3: expected to throw BusError, threw AddressError: address: -1/),
    ]);
  });

  it('checks a whole-output block', async () => {
    const snippet = md(
      ts("console.log('one');\nconsole.log('two');"),
      '<!-- example: output -->\n```text\none\nthree\n```',
    );
    expect(await failuresOf(snippet)).toEqual([
      'SNIPPET.md:2: output block differs: line 2: expected "three", got "two"',
    ]);
  });

  it('refuses malformed directives and arrows', () => {
    const problems = (m: string) => planReadme(m, 'SNIPPET.md').problems;
    expect(problems(ts('1;', '<!-- example: skip -->'))).toEqual([
      'SNIPPET.md:1: "example: skip": a skip needs a reason: <!-- example: skip (why) -->',
    ]);
    expect(problems(ts('1;', '<!-- example: continues -->'))).toEqual([
      'SNIPPET.md:3: "example: continues" but no earlier program to continue',
    ]);
    expect(problems(ts('1;', '<!-- example: contiues -->'))[0]).toMatch(/unknown directive/);
    expect(problems(ts('const o = {\n  a: 1, // → 1\n};'))).toEqual([
      'SNIPPET.md:3: a "→" comment that belongs to no statement (put it at the end of the statement\'s last line, or on lines of its own after it)',
    ]);
    expect(problems('```console\n$ ls\n```')[0]).toMatch(/only mmkit commands run here/);
    // Broken fences (what an interleaving merge leaves): never closed, closed by a fence that
    // opens the next block, and a program line outside any block.
    expect(problems('```ts\n1;\n')).toContain('SNIPPET.md:1: this code fence is never closed');
    expect(problems('```ts\n1;\n```ts\n2;\n```')[0]).toBe(
      'SNIPPET.md:3: "```ts" closes the block opened at line 1 (a closing fence has no language: unbalanced fences?)',
    );
    expect(problems("text\nimport { x } from '@mmkit/core';\nmore")).toEqual([
      'SNIPPET.md:2: an import outside a fenced code block (unbalanced fences?)',
    ]);
    // A skip with a reason is not an error, and the block is listed as skipped.
    const plan = planReadme(ts('this is not code', '<!-- example: skip (pseudo-code) -->'), 'SNIPPET.md');
    expect(plan.problems).toEqual([]);
    expect(plan.skipped.map((s) => s.reason)).toEqual(['pseudo-code']);
  });

  it('compares console output with … wildcards', () => {
    expect(compareLines(['a', 'b', 'c', 'd'], ['a', '…', 'd'])).toBeUndefined();
    expect(compareLines(['a 0x1234 z'], ['a 0x… z'])).toBeUndefined();
    expect(compareLines(['a', 'b'], ['a', 'c'])).toBe('line 2: expected "c", got "b"');
    expect(compareLines(['a'], ['a', '…', 'b'])).toBeDefined();
  });

  it('reports a console command whose output differs (built CLI)', () => {
    const plan = planReadme(
      '```console\n$ mmkit decode aarch64 0 --json | head -2\n{\n  "arch": "x86_64",\n```',
      'SNIPPET.md',
    );
    expect(plan.commands).toHaveLength(1);
    expect(runCommand(plan.commands[0]!)).toBe(
      'SNIPPET.md:2: $ mmkit decode aarch64 0 --json | head -2: line 2: expected "  \\"arch\\": \\"x86_64\\",", got "  \\"arch\\": \\"aarch64\\","',
    );
  });
});
