#!/usr/bin/env node
/**
 * The `mmkit` executable: runs {@link runCli} on the process's arguments and streams, and exits
 * with its code.
 *
 * Output errors: a closed pipe (`mmkit boards | head -1`, EPIPE) ends the run quietly with the
 * exit code so far (0); any other write error (`mmkit boards > /dev/full`, ENOSPC) prints one line
 * `mmkit: error: cannot write to stdout: …` and exits 74 (EX_IOERR). Never a stack trace.
 */
import { runCli } from './run-cli.js';
import { ExitCode } from './usage-error.js';

function onWriteError(name: 'stdout' | 'stderr') {
  return (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.Ok);
    if (name === 'stdout') {
      try {
        process.stderr.write(`mmkit: error: cannot write to stdout: ${e.message}\n`);
      } catch {
        // stderr is gone too: nothing left to tell.
      }
    }
    process.exit(ExitCode.Io);
  };
}

process.stdout.on('error', onWriteError('stdout'));
process.stderr.on('error', onWriteError('stderr'));

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
