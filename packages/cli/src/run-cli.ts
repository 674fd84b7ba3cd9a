/**
 * `runCli`: runs the `mmkit` command in-process and returns its exit code.
 *
 * Every usage mistake (unknown command or option, missing or excess argument, a repeated
 * option, malformed number, out-of-range value, unknown board/arch/level, a scenario file that
 * does not validate) prints exactly one line `mmkit: error: <message>` to stderr and returns 2.
 * Commander's own messages are printed as commander words them (joined onto one line), followed by
 * where to find the usage. Anything else that goes wrong is an internal error: one line
 * `mmkit: internal error: …` (plus the stack when `MMKIT_DEBUG` is set), exit 70. With `--json`
 * the error is one JSON document on stderr instead: `{"error":{"kind","message","exitCode"}}`.
 */

import { PageTableSourceError } from '@mmkit/scenario';
import { CommanderError } from 'commander';
import type { CliIo } from './io.js';
import { processIo } from './io.js';
import { commandPath, createProgram, type RunState } from './program.js';
import { ExitCode, UsageError } from './usage-error.js';

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

/** Commander's message without its own `error: ` prefix (mmkit prints `mmkit: error: `). */
function commanderText(message: string): string {
  const prefix = 'error: ';
  return oneLine(message.startsWith(prefix) ? message.slice(prefix.length) : message);
}

/** True if `--json` is among the options (before a `--`). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Runs `mmkit` with `argv` (the arguments after the program name) and returns the exit code:
 * 0 success, 1 a check found a problem, 2 usage error, 70 internal error ({@link ExitCode}).
 * Never calls `process.exit` and never throws.
 *
 * @param argv e.g. `['decode', 'aarch64', '0x0040_0000_4000_0705', '--level', 'L2']`
 * @param io where to write (default: the process's streams)
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const state: RunState = { exitCode: ExitCode.Ok, stderr: '' };
  const json = wantsJson(argv);
  const report = (kind: 'usage' | 'internal', message: string, code: number): number => {
    const text = oneLine(message);
    if (json) io.stderr.write(`${JSON.stringify({ error: { kind, message: text, exitCode: code } })}\n`);
    else io.stderr.write(`mmkit: ${kind === 'usage' ? 'error' : 'internal error'}: ${text}\n`);
    return code;
  };
  const fail = (message: string) => report('usage', message, ExitCode.Usage);
  let program: ReturnType<typeof createProgram> | undefined;
  try {
    program = createProgram(io, state);
    // No command at all (`mmkit`, `mmkit --json`): say so, rather than that --json is unknown.
    if (argv.length === 0 || argv.every((a) => a === '--json')) {
      return fail(
        `missing command; expected one of: ${program.commands.map((c) => c.name()).join(', ')} (see 'mmkit --help')`,
      );
    }
    await program.parseAsync([...argv], { from: 'user' });
    if (state.stderr) io.stderr.write(state.stderr);
    return state.exitCode;
  } catch (e) {
    // A page-table source's error from @mmkit/scenario (malformed image, registers) is a usage error too.
    if (e instanceof UsageError || e instanceof PageTableSourceError) return fail(e.message);
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return ExitCode.Ok;
      const cmd = state.failed ?? program;
      const where = cmd ? ` (see '${commandPath(cmd)} --help')` : '';
      return fail(`${commanderText(e.message)}${where}`);
    }
    const message = e instanceof Error ? e.message : String(e);
    const code = report('internal', message, ExitCode.Internal);
    const env = io.env ?? process.env;
    if (env.MMKIT_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return code;
  }
}
