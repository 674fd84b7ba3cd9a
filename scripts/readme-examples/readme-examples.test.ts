/**
 * Every code block of every README runs here (convention: examples.ts and the root README,
 * "Examples in the READMEs"). One test per program and per console command, named by file:line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planReadme } from './examples.js';
import { REPO_ROOT, runCommand, runProgram } from './run.js';

/** The READMEs users read: the root one and one per package (fixtures and benches have data notes). */
export function readmeFiles(): string[] {
  const packages = readdirSync(join(REPO_ROOT, 'packages')).sort();
  return [join(REPO_ROOT, 'README.md'), ...packages.map((p) => join(REPO_ROOT, 'packages', p, 'README.md'))];
}

for (const file of readmeFiles()) {
  const rel = relative(REPO_ROOT, file);
  const plan = planReadme(readFileSync(file, 'utf8'), rel);
  describe(rel, () => {
    it('has well-formed examples (directives, arrows, skips with reasons)', () => {
      expect(plan.problems).toEqual([]);
    });
    for (const program of plan.programs) {
      it(`program at line ${program.line}`, async () => {
        expect(await runProgram(program)).toEqual([]);
      });
    }
    for (const command of plan.commands) {
      it(`$ ${command.command} (line ${command.line})`, () => {
        expect(runCommand(command)).toBeUndefined();
      });
    }
  });
}
