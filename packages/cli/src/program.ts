/**
 * The `mmkit` command tree (commander), wired to a {@link CliIo}: help and
 * version go to stdout, commander's own error text is suppressed (runCli turns
 * the error into one `mmkit: error: …` line), and nothing calls process.exit.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import pc from 'picocolors';
import { registerBoards } from './commands/boards.js';
import { registerDecode } from './commands/decode.js';
import { registerDemo } from './commands/demo.js';
import { registerDiff } from './commands/diff.js';
import { registerDump } from './commands/dump.js';
import { registerWalk } from './commands/walk.js';
import { registerReplay } from './commands/replay.js';
import type { CliIo, Output } from './io.js';
import { colourEnabled } from './io.js';
import { toJson } from './json.js';

/** State of one run that actions report back to runCli. */
export interface RunState {
  exitCode: number;
  /**
   * What commander wrote for stderr (help shown after a mistake). runCli prints it only on
   * success, so a usage error stays one line.
   */
  stderr: string;
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

  const program = new Command('mmkit')
    .description('mmkit: a kernel memory-management kit with bit-exact page-table backends')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .exitOverride()
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
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  mmkit decode aarch64 0x0040_0000_4000_0705 --level L2',
        '  mmkit decode aarch64 --esr 0x92000007',
        '  mmkit decode x86_64 0x8000_0000_0010_2007 --level PT',
        '  mmkit decode x86 --pf-error 0x6',
        '  mmkit boards',
        '  mmkit demo --board rpi4b --ram 1G',
        '  mmkit demo --board pc --arch x86-32',
        '',
        'Exit codes: 0 success, 1 internal error, 2 usage error.',
      ].join('\n'),
    );

  // `Output.json` never colours; styles only apply to text output.
  registerDecode(program, output);
  registerBoards(program, output);
  registerDemo(program, output, (code) => {
    state.exitCode = code;
  });
  registerWalk(program, output);
  registerDump(program, output, (code) => {
    state.exitCode = code;
  });
  registerDiff(program, output, (code) => {
    state.exitCode = code;
  });
  registerReplay(program, output);
  return program;
}
