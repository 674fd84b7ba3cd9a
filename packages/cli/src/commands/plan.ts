/**
 * `mmkit plan <spec>`: how many page tables each level needs for a memory-map spec (the same
 * spec and the same placement as `mmkit gen`), and so the number TF-A's MAX_XLAT_TABLES must hold.
 */
import type { Command } from 'commander';
import type { Output } from '../io.js';
import { countTables, generateTables, planLines, readGenSpec } from './gen.js';

/** Options of `plan`. */
export interface PlanCliOptions {
  readonly json?: boolean;
}

/** The body of `plan`. */
export async function planCommand(file: string, opts: PlanCliOptions, out: Output): Promise<void> {
  const r = generateTables(await readGenSpec(file, out));
  if (opts.json) {
    out.json({ arch: r.spec.arch, ...countTables(r) });
    return;
  }
  for (const l of planLines(r, out)) out.line(l);
}

/** Registers `plan` on `program`. */
export function registerPlan(program: Command, out: () => Output): Command {
  return program
    .command('plan')
    .summary("count the page tables a memory-map spec needs per level (TF-A's MAX_XLAT_TABLES)")
    .description(
      "Count the page tables each level needs for a memory-map spec (see 'mmkit gen'), with the leaves of each size.",
    )
    .argument('<spec>', 'memory-map spec (.json, .yaml), or - for standard input')
    .option('--json', 'print one JSON document')
    .action(async (file: string, opts: PlanCliOptions) => {
      await planCommand(file, opts, out());
    });
}
