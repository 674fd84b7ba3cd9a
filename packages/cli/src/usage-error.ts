/**
 * Exit codes, and the usage error: a mistake in how the command was called (unknown option,
 * malformed number, out-of-range value, unknown board/architecture/level). `runCli` prints its
 * message as one line `mmkit: error: …` and exits with code 2.
 */
import { MmError } from '@mmkit/core';

/** Exit codes of the `mmkit` command (sysexits.h values for the last two). */
export const ExitCode = {
  /** Success (also for `--help` and `--version`). */
  Ok: 0,
  /** A check found a problem: an audit failure, an unmet scenario expectation, `dump --check`. */
  Problem: 1,
  /** A usage error: the command line (or an input file) was wrong. */
  Usage: 2,
  /** An internal error: a bug in mmkit (EX_SOFTWARE). */
  Internal: 70,
  /** Output could not be written (a full disk; EX_IOERR). A closed pipe is not an error. */
  Io: 74,
} as const;

/**
 * A usage error. The message says what was wrong, with the offending value,
 * and what was expected; it is always a single line.
 */
export class UsageError extends MmError {
  constructor(
    message: string,
    /** The offending value as typed, if there is one. */
    readonly value?: string,
  ) {
    super('E_INVALID_ARGUMENT', message.replace(/\s*\n\s*/g, ' ').trim());
  }
}

/**
 * Builds the usual usage error: `<what> "<value>" <problem>; expected <expected>`.
 */
export function invalidValue(what: string, value: string, problem: string, expected: string): UsageError {
  return new UsageError(`${what} ${JSON.stringify(value)} ${problem}; expected ${expected}`, value);
}
