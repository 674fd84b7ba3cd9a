/**
 * `mmkit demo [--board virt|rpi4b|pc] [--arch <mode>] [--ram <size>] [--json]`: `mmkit run` of the
 * shipped `demo` scenario (`@mmkit/scenario`'s EXAMPLE_SCENARIOS): boots the kernel on a board with
 * a paging backend and runs the short life of two processes that touches every mechanism of the
 * memory manager, printing what it did.
 */
import { BOARD_IDS } from '@mmkit/boards';
import { exampleScenario, parseScenario, type Scenario } from '@mmkit/scenario';
import type { Command } from 'commander';
import type { Output } from '../io.js';
import { invalidValue } from '../usage-error.js';
import { runCommand } from './run.js';

/** Raw options of `demo` as commander parsed them. */
export interface DemoCliOptions {
  readonly board?: string;
  readonly arch?: string;
  readonly ram?: string;
  readonly json?: boolean;
}

/** The shipped demo scenario. */
export function demoScenario(): Scenario {
  return parseScenario(exampleScenario('demo')!.yaml, 'demo.yaml');
}

/**
 * The body of `mmkit demo`: runs the demo scenario with the options as overrides and prints the
 * log (or JSON). Exit code 0 when the audit is clean and every expectation held, 1 otherwise.
 * @throws UsageError for an unknown board, a paging format the board cannot run, or a RAM size the
 *   board does not accept.
 */
export async function demoCommand(opts: DemoCliOptions, out: Output): Promise<number> {
  if (opts.board !== undefined && !(BOARD_IDS as readonly string[]).includes(opts.board)) {
    throw invalidValue('--board', opts.board, 'is not a known board', `one of: ${BOARD_IDS.join(', ')}`);
  }
  return runCommand(demoScenario(), 'demo.yaml', opts, out, 'mmkit demo');
}

/** Registers `demo` on `program`; the exit code of the body goes to `setExitCode`. */
export function registerDemo(
  program: Command,
  out: () => Output,
  setExitCode: (code: number) => void,
): Command {
  return program
    .command('demo')
    .summary('boot the kernel on a board and run the demo scenario')
    .description(
      'Boot the mmkit kernel on a board with a paging backend and run the shipped demo scenario (mmkit run of ' +
        "@mmkit/scenario's demo), showing allocations, faults and TLB maintenance.",
    )
    .option('--board <id>', `board: ${BOARD_IDS.join(', ')} (default virt)`)
    .option(
      '--arch <mode>',
      "paging format: aarch64 on virt and rpi4b; x86_64, x86_64-la57, x86-pae or x86-32 on pc (default: the board's default)",
    )
    .option('--ram <size>', "RAM size such as 512M, 1G, 2GiB (default: the board's default)")
    .option('--json', 'print one JSON document')
    .action(async (opts: DemoCliOptions) => {
      setExitCode(await demoCommand(opts, out()));
    });
}
