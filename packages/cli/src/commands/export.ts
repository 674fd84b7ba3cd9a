/**
 * `mmkit export <scenario>|--demo [--step N] [--process NAME|--pid N] -o FILE`: runs a scenario
 * (to the end, or to step N) and writes the translation state of one process — its tables and the
 * kernel's, with the registers that select them — as a `mmkit-translation-state/1` JSON document
 * (`@mmkit/kernel`'s exportTranslationState). Without a process: the last one still running, or
 * the kernel alone when none is.
 */
import { exportTranslationState } from '@mmkit/kernel';
import type { Command } from 'commander';
import type { Output } from '../io.js';
import { ExitCode, invalidValue, UsageError } from '../usage-error.js';
import { demoScenario } from './demo.js';
import {
  chooseProcess,
  machineOptions,
  progressBar,
  readScenario,
  startScenario,
  writeExport,
} from './run.js';

/** Raw options of `export`. */
export interface ExportCliOptions {
  readonly demo?: boolean;
  readonly output?: string;
  readonly step?: string;
  readonly process?: string;
  readonly pid?: string;
  readonly json?: boolean;
  readonly board?: string;
  readonly arch?: string;
  readonly ram?: string;
}

/**
 * The body of `mmkit export`.
 * @throws UsageError for a missing or doubled source, a bad --step, or a process that is not
 *   running at that point.
 */
export async function exportCommand(
  file: string | undefined,
  opts: ExportCliOptions,
  out: Output,
): Promise<number> {
  if ((file === undefined) === (opts.demo !== true)) {
    throw new UsageError(
      file === undefined
        ? 'export needs a scenario; expected a scenario file or --demo'
        : `export got both a scenario file (${JSON.stringify(file)}) and --demo; expected exactly one of them`,
    );
  }
  const scenario = file === undefined ? demoScenario() : await readScenario(file, out.io);
  const total = scenario.steps.length;
  let upTo = total;
  if (opts.step !== undefined) {
    upTo = /^[0-9]+$/.test(opts.step) ? Number(opts.step) : Number.NaN;
    if (!(upTo >= 0 && upTo <= total))
      throw invalidValue(
        '--step',
        opts.step,
        'is not a step of the scenario',
        `a number from 0 to ${total} (0: right after boot)`,
      );
  }
  // On a terminal, a bar for boot (the kernel's phases) and the steps; export runs no audit.
  const progress = progressBar(out.io);
  let st: ReturnType<typeof startScenario>;
  try {
    st = startScenario(scenario, opts, {
      source: file ?? 'demo.yaml',
      ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
    });
    while (st.next < upTo) st.step();
  } finally {
    progress.stop();
  }
  const proc = chooseProcess(st, opts, upTo === total ? 'at the end of the scenario' : `after step ${upTo}`);
  const state = exportTranslationState(st.kernel, proc);
  writeExport(state, opts.output!, out);
  // With -o FILE and --json, one document says what was written (with -o - the export is the document).
  if (opts.json && opts.output !== '-')
    out.json({ output: opts.output, format: state.format, arch: state.arch, pid: state.pid });
  return ExitCode.Ok;
}

/** Registers `export` on `program`. */
export function registerExport(program: Command, out: () => Output): Command {
  const cmd = program
    .command('export')
    .summary('run a scenario and write a translation-state export (mmkit-translation-state/1)')
    .description(
      "Run a scenario (or the demo) and write one process's translation state — its page tables and the " +
        "kernel's, with the registers that select them — as JSON (mmkit-translation-state/1).",
    )
    .argument('[scenario]', 'scenario file (.json, .yaml), or - for standard input')
    .option('--demo', 'export from the shipped demo scenario instead of a file')
    .requiredOption('-o, --output <file>', 'where to write the export (- for stdout)')
    .option('--step <n>', 'take the state after step n (default: after the last step)')
    .option(
      '--process <name>',
      'the process to export (default: the last one still running, else the kernel alone)',
    )
    .option('--pid <n>', 'the process to export, by pid')
    .option(
      '--json',
      'with -o FILE print one JSON document naming what was written (with -o - the export is the document); errors as one JSON document on stderr',
    );
  machineOptions(cmd).action(async (file: string | undefined, opts: ExportCliOptions) => {
    await exportCommand(file, opts, out());
  });
  cmd.options.find((o) => o.long === '--pid')?.conflicts('process');
  return cmd;
}
