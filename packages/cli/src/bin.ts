#!/usr/bin/env node
/**
 * The `mmkit` executable: runs {@link runCli} on the process's arguments and
 * streams, and exits with its code.
 */
import { runCli } from './run-cli.js';

// `mmkit boards | head`: a closed pipe ends the output quietly instead of with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
