/**
 * Where the CLI writes, and whether it may use colour.
 *
 * `runCli` takes a {@link CliIo} so tests run the whole command in-process and
 * read what it printed. Colour (picocolors) is used only when stdout is a TTY
 * and `NO_COLOR` is unset or empty (https://no-color.org), and never for `--json`.
 */
import type pc from 'picocolors';

/** A writable text stream (process.stdout, or a test buffer). */
export interface CliStream {
  /** Writes a chunk of output (text, with its own newlines); the return value is ignored. */
  write(chunk: string): unknown;
  /** True for a terminal; enables colour on stdout. */
  readonly isTTY?: boolean;
  /** Terminal width, used to wrap help text. */
  readonly columns?: number;
}

/** The streams and environment of one CLI run. */
export interface CliIo {
  readonly stdout: CliStream;
  readonly stderr: CliStream;
  /** Environment (default `process.env`); only `NO_COLOR` is read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Text styles; identity functions when colour is off. */
export type Styles = ReturnType<typeof pc.createColors>;

/** What a command needs to print. */
export interface Output {
  readonly io: CliIo;
  /** Styles for stdout (plain when colour is off). */
  readonly style: Styles;
  /** Writes `text` plus a newline to stdout. */
  line(text?: string): void;
  /** Writes a JSON document (see `toJson`) to stdout. */
  json(value: unknown): void;
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** True if stdout output may be coloured: a TTY, and `NO_COLOR` unset or empty. */
export function colourEnabled(io: CliIo): boolean {
  const env = io.env ?? process.env;
  const noColor = env.NO_COLOR;
  return io.stdout.isTTY === true && (noColor === undefined || noColor === '');
}
