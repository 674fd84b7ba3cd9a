/**
 * Where the CLI writes, and whether it may use colour.
 *
 * `runCli` takes a {@link CliIo} so tests run the whole command in-process and read what it
 * printed. Colour follows `supports-color`'s stream-aware detection (`FORCE_COLOR`, `TERM=dumb`,
 * CI, and never a pipe or file unless `FORCE_COLOR` forces it) plus `NO_COLOR`
 * (https://no-color.org: set and non-empty turns colour off, unless `FORCE_COLOR` is set, as in
 * Node itself). `--json` output is never coloured.
 */
import type pc from 'picocolors';
import { createSupportsColor } from 'supports-color';

/** A writable text stream (process.stdout, or a test buffer). */
export interface CliStream {
  /** Writes a chunk of output (text, with its own newlines); the return value is ignored. */
  write(chunk: string): unknown;
  /** True for a terminal; colour and progress bars need one. */
  readonly isTTY?: boolean;
  /** Terminal width, used to wrap help text. */
  readonly columns?: number;
}

/** The streams and environment of one CLI run. */
export interface CliIo {
  readonly stdout: CliStream;
  readonly stderr: CliStream;
  /** Standard input, for `-` operands (default: the process's stdin). */
  readonly stdin?: () => Promise<string>;
  /**
   * Environment (default `process.env`): `NO_COLOR`, `FORCE_COLOR` and `MMKIT_DEBUG` are read
   * from it; supports-color reads `TERM` and the CI variables from the process environment.
   */
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

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: readProcessStdin, env: process.env };
}

/**
 * True if `stream` may be coloured: supports-color says the stream supports colour (a terminal,
 * or `FORCE_COLOR`), and `NO_COLOR` is unset or empty (or `FORCE_COLOR` overrides it).
 */
export function colourEnabled(io: CliIo, stream: CliStream = io.stdout): boolean {
  const env = io.env ?? process.env;
  const forced = env.FORCE_COLOR !== undefined;
  if (!forced && env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (forced && io.env !== undefined && io.env !== process.env) {
    // An in-process run with its own environment: supports-color only sees process.env.
    return !['0', 'false'].includes(env.FORCE_COLOR!);
  }
  // supports-color reads only `isTTY` of the stream.
  const probe = { isTTY: stream.isTTY === true } as unknown as Parameters<typeof createSupportsColor>[0];
  return createSupportsColor(probe, { sniffFlags: false }) !== false;
}
