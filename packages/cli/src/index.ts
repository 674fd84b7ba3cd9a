/**
 * @mmkit/cli — the `mmkit` command. The binary is `dist/bin.js`; `runCli`
 * runs the same command in-process (for tests and embedding).
 *
 * @packageDocumentation
 * @module @mmkit/cli
 */

export { ARCH_IDS, type ArchId, type BackendOptions, createBackend, isArchId } from './arch-registry.js';
export type { CliIo, CliStream } from './io.js';
export { runCli } from './run-cli.js';
export { ExitCode, UsageError } from './usage-error.js';
