/**
 * The `mmkit` command tree (commander), wired to a {@link CliIo}: help and version go to stdout,
 * commander's own error text is not printed (runCli prints the error as one `mmkit: error: …`
 * line), and nothing calls process.exit.
 *
 * Command-line validation is commander's own: `allowExcessArguments(false)` on every command (an
 * extra operand is a usage error), an explicit `help [command]` command that takes one operand,
 * and a listener on every value option that makes a repeated single-valued option a usage error.
 */
import { readFileSync } from 'node:fs';
import { Command, type Option } from 'commander';
import pc from 'picocolors';
import { registerBoards } from './commands/boards.js';
import { registerDecode } from './commands/decode.js';
import { registerDemo } from './commands/demo.js';
import { registerDiff } from './commands/diff.js';
import { registerDump } from './commands/dump.js';
import { registerExport } from './commands/export.js';
import { registerGen } from './commands/gen.js';
import { registerPlan } from './commands/plan.js';
import { registerReplay } from './commands/replay.js';
import { registerRun } from './commands/run.js';
import { registerWalk } from './commands/walk.js';
import type { CliIo, Output } from './io.js';
import { colourEnabled } from './io.js';
import { toJson } from './json.js';
import { UsageError } from './usage-error.js';

/** State of one run that actions report back to runCli. */
export interface RunState {
  exitCode: number;
  /**
   * What commander wrote for stderr (help shown after a mistake). runCli prints it only on
   * success, so a usage error stays one line.
   */
  stderr: string;
  /** The command whose parsing failed (set by the exit override), for the usage hint. */
  failed?: Command;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The command's path as typed: `mmkit decode`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Makes a second occurrence of a single-valued option a usage error (commander keeps the last). */
function forbidRepeats(cmd: Command): void {
  for (const opt of (cmd as unknown as { options: readonly Option[] }).options) {
    if (!(opt.required || opt.optional) || opt.variadic) continue;
    const seen: string[] = [];
    cmd.on(`option:${opt.name()}`, (value: unknown) => {
      seen.push(String(value));
      if (seen.length > 1) {
        throw new UsageError(
          `option '${opt.flags}' for '${commandPath(cmd)}' is given more than once (${seen.map((v) => JSON.stringify(v)).join(', ')}); expected it once`,
        );
      }
    });
  }
  for (const sub of cmd.commands) forbidRepeats(sub);
}

/** Builds the program for one run. */
export function createProgram(io: CliIo, state: RunState): Command {
  const colour = colourEnabled(io);
  const output = (): Output => {
    const style = pc.createColors(colour);
    return {
      io,
      style,
      line: (text = '') => {
        io.stdout.write(`${text}\n`);
      },
      json: (value: unknown) => {
        io.stdout.write(`${toJson(value)}\n`);
      },
    };
  };
  const setExitCode = (code: number) => {
    state.exitCode = code;
  };

  const program = new Command('mmkit')
    .description('mmkit: a kernel memory-management kit with bit-exact page-table backends')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand(false)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => {
        state.stderr += s;
      },
      outputError: () => {},
      getOutHelpWidth: () => (io.stdout.isTTY ? (io.stdout.columns ?? 80) : 100),
      getErrHelpWidth: () => 100,
      getOutHasColors: () => colour,
      getErrHasColors: () => false,
    })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  mmkit decode aarch64 0x0040_0000_4000_0705 --level L2',
        '  mmkit decode aarch64 --esr 0x92000007',
        '  mmkit decode x86_64 0x8000_0000_0010_2007 --level PT',
        '  mmkit decode x86 --pf-error 0x6',
        '  mmkit decode aarch64 --batch descriptors.txt --level L3',
        '  mmkit boards',
        '  mmkit demo --board rpi4b --ram 1G',
        '  mmkit demo --board pc --arch x86-32',
        '  mmkit run scenario.yaml --export state.json',
        '  mmkit export --demo --process init -o state.json',
        '  mmkit gen memory-map.yaml -o tables',
        '  mmkit plan memory-map.yaml',
        '',
        'Exit codes: 0 success, 1 a check found a problem (audit, expectation), 2 usage error,',
        '70 internal error, 74 output could not be written.',
      ].join('\n'),
    );

  registerDecode(program, output, setExitCode);
  registerBoards(program, output);
  registerDemo(program, output, setExitCode);
  registerRun(program, output, setExitCode);
  registerExport(program, output);
  registerGen(program, output);
  registerPlan(program, output);
  registerWalk(program, output);
  registerDump(program, output, setExitCode);
  registerDiff(program, output, setExitCode);
  registerReplay(program, output);

  program
    .command('help')
    .summary('show help for a command')
    .description('Show help for mmkit, or for one of its commands.')
    .argument('[command]', 'the command')
    .option('--json', 'print the commands (or the command: usage, description, options) as one JSON document')
    .action((name: string | undefined, opts: { json?: boolean }) => {
      if (name === undefined) {
        if (opts.json)
          output().json({
            commands: program.commands.map((c) => ({ name: c.name(), summary: c.summary() })),
          });
        else program.outputHelp();
        return;
      }
      const cmd = program.commands.find((c) => c.name() === name);
      if (!cmd) {
        throw new UsageError(
          `unknown command ${JSON.stringify(name)} for 'mmkit help'; expected one of: ${program.commands
            .map((c) => c.name())
            .filter((n) => n !== 'help')
            .join(', ')}`,
          name,
        );
      }
      if (opts.json) {
        output().json({
          name: cmd.name(),
          usage: `${commandPath(cmd)} ${cmd.usage()}`,
          summary: cmd.summary(),
          description: cmd.description(),
          options: (cmd as unknown as { options: readonly Option[] }).options.map((o) => ({
            flags: o.flags,
            description: o.description,
          })),
        });
      } else cmd.outputHelp();
    });

  // Every command: its own exit override (so runCli knows which command failed) and no excess operands.
  const wire = (cmd: Command) => {
    cmd.exitOverride((err) => {
      state.failed = cmd;
      throw err;
    });
    cmd.allowExcessArguments(false);
    for (const sub of cmd.commands) wire(sub);
  };
  wire(program);
  forbidRepeats(program);
  return program;
}
