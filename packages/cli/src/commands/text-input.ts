/**
 * Reading a text input named on the command line: a file, or `-` for standard input.
 */
import { readFileSync } from 'node:fs';
import type { CliIo } from '../io.js';
import { invalidValue, UsageError } from '../usage-error.js';

/**
 * Reads `path` as UTF-8 (`-`: standard input).
 * @throws UsageError naming `what` and the path if it cannot be read.
 */
export async function readText(path: string, io: CliIo, what: string): Promise<string> {
  if (path === '-') {
    if (!io.stdin) throw new UsageError(`standard input is not available; expected a ${what} name`, path);
    return io.stdin();
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw invalidValue(what, path, `cannot be read (${why})`, 'a readable file');
  }
}
