/**
 * `runCli`: runs the `mmkit` command in-process and returns its exit code.
 *
 * Every usage mistake (unknown command or option, missing or excess argument,
 * malformed number, out-of-range value, unknown board/arch/level) prints exactly
 * one line `mmkit: error: <what, the value, what was expected>` to stderr and
 * returns 2. Anything else that goes wrong is an internal error: one line
 * `mmkit: internal error: …` (plus the stack when `MMKIT_DEBUG` is set), exit 1.
 */
import { type Command, CommanderError } from 'commander';
import type { CliIo } from './io.js';
import { processIo } from './io.js';
import { createProgram, type RunState } from './program.js';
import { ExitCode, UsageError } from './usage-error.js';

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The subcommand the user named (first operand that is a command), or the program. */
function targetCommand(program: Command, argv: readonly string[]): Command {
  for (const a of argv) {
    if (a.startsWith('-')) continue;
    return program.commands.find((c) => c.name() === a) ?? program;
  }
  return program;
}

function commandNames(program: Command): string {
  return [...program.commands.map((c) => c.name()), 'help'].join(', ');
}

function usageOf(cmd: Command): string {
  const path = cmd.parent ? `mmkit ${cmd.name()}` : 'mmkit';
  return `${path} ${cmd.usage()}`;
}

function optionList(cmd: Command): string {
  const help = cmd.createHelp();
  return help
    .visibleOptions(cmd)
    .map((o) => o.flags.replace(', ', '/'))
    .join(', ');
}

/** Rewrites a commander error as a one-line message with what was expected. */
function commanderMessage(err: CommanderError, program: Command, argv: readonly string[]): string {
  const cmd = targetCommand(program, argv);
  const where = cmd.parent ? ` for 'mmkit ${cmd.name()}'` : '';
  const [first = '', ...rest] = err.message.replace(/^error:\s*/, '').split('\n');
  const hint = rest.join(' ').trim();
  const suggestion = hint ? ` (${hint.replace(/^\(|\)$/g, '').replace(/^Did/, 'did')})` : '';
  switch (err.code) {
    case 'commander.unknownOption':
      return `${first}${where}${suggestion}; expected one of: ${optionList(cmd)}`;
    case 'commander.unknownCommand':
      return `${first}${suggestion}; expected one of: ${commandNames(program)}`;
    case 'commander.excessArguments': {
      const m = /Expected (\d+) arguments? but got (\d+)/.exec(first);
      if (!m) return `${oneLine(first)}; usage: ${usageOf(cmd)}`;
      const expected = m[1] === '0' ? 'none' : `at most ${m[1]}`;
      return `too many arguments${where}: got ${m[2]}, expected ${expected}; usage: ${usageOf(cmd)}`;
    }
    case 'commander.optionMissingArgument':
      return `${first.replace(/ argument missing$/, '')}${where} needs a value; usage: ${usageOf(cmd)}`;
    default:
      return `${oneLine(first)}${where}; usage: ${usageOf(cmd)}`;
  }
}

/**
 * Runs `mmkit` with `argv` (the arguments after the program name) and returns
 * the exit code: 0 success, 1 internal error, 2 usage error. Never calls
 * `process.exit` and never throws.
 *
 * @param argv e.g. `['decode', 'aarch64', '0x0040_0000_4000_0705', '--level', 'L2']`
 * @param io where to write (default: the process's streams); colour only when `io.stdout.isTTY` and NO_COLOR is unset
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const state: RunState = { exitCode: ExitCode.Ok, stderr: '' };
  const program = createProgram(io, state);
  const fail = (message: string): number => {
    io.stderr.write(`mmkit: error: ${oneLine(message)}\n`);
    return ExitCode.Usage;
  };
  try {
    if (argv.length === 0) {
      return fail(
        `missing command; expected one of: ${program.commands.map((c) => c.name()).join(', ')} (see 'mmkit --help')`,
      );
    }
    await program.parseAsync([...argv], { from: 'user' });
    if (state.stderr) io.stderr.write(state.stderr);
    return state.exitCode;
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message);
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return ExitCode.Ok;
      if (e.code === 'commander.help') {
        if (e.exitCode === 0) return ExitCode.Ok;
        // `mmkit help <unknown>`: commander shows the program help as an error.
        return fail(
          `unknown command ${JSON.stringify(argv[1] ?? '')} for 'mmkit help'; expected one of: ${commandNames(program)}`,
        );
      }
      return fail(commanderMessage(e, program, argv));
    }
    const message = e instanceof Error ? e.message : String(e);
    io.stderr.write(`mmkit: internal error: ${oneLine(message)}\n`);
    const env = io.env ?? process.env;
    if (env.MMKIT_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return ExitCode.Internal;
  }
}
