/**
 * Runs the programs and console commands that `examples.ts` planned, and reports every mismatch
 * with the README line it belongs to.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import {
  type Check,
  type ConsoleCommand,
  checkThrown,
  checkValue,
  compareLines,
  formatValue,
  type Program,
} from './examples.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const shown = (file: string) => (isAbsolute(file) ? relative(REPO_ROOT, file) : file);
const GENERATED = join(REPO_ROOT, 'node_modules', '.cache', 'readme-examples');

/** What `__mm` is inside a running program. */
class ExampleRuntime {
  readonly failures: string[] = [];
  /** Everything printed since the previous output check. */
  private pending = '';
  /** Everything printed, for an `example: output` block. */
  all = '';
  line: number;
  readonly console: Pick<Console, 'log' | 'info' | 'warn' | 'error' | 'dir'>;
  readonly process: NodeJS.Process;

  constructor(
    private readonly program: Program,
    private readonly where: (line: number) => string,
  ) {
    this.line = program.line;
    const print = (...args: unknown[]) => this.print(`${format(...args)}\n`);
    this.console = { log: print, info: print, warn: print, error: print, dir: (v: unknown) => print(v) };
    const stdout = { write: (s: string | Uint8Array) => this.print(String(s)) };
    this.process = new Proxy(process, {
      get: (target, key) => (key === 'stdout' ? stdout : Reflect.get(target, key, target)),
    });
  }

  private print(text: string) {
    this.pending += text;
    this.all += text;
  }

  private check(id: number): Check {
    return this.program.checks[id]!;
  }

  at(line: number) {
    this.line = line;
  }

  value(id: number, actual: unknown) {
    const c = this.check(id);
    if (c.kind === 'output') return;
    const problem = checkValue(actual, c.expected);
    if (problem) this.failures.push(`${this.where(c.line)}: ${problem}`);
  }

  async throws(id: number, run: () => Promise<void>) {
    const c = this.check(id);
    if (c.kind === 'output') return;
    try {
      await run();
    } catch (error) {
      const problem = checkThrown(error, c.expected);
      if (problem) this.failures.push(`${this.where(c.line)}: ${problem}`);
      return;
    }
    this.failures.push(`${this.where(c.line)}: expected to throw ${c.expected}, but nothing was thrown`);
  }

  output(id: number) {
    const c = this.check(id);
    if (c.kind !== 'output') return;
    const problem = compareLines(splitLines(this.pending), c.expected);
    if (problem) this.failures.push(`${this.where(c.line)}: printed output differs: ${problem}`);
    this.pending = '';
  }

  end() {
    const full = this.program.fullOutput;
    if (full) {
      // The block shows what a terminal shows: trailing blank lines are not visible there.
      const printed = splitLines(this.all);
      while (printed.length > 0 && printed.at(-1)?.trim() === '') printed.pop();
      const problem = compareLines(printed, full);
      if (problem) this.failures.push(`${this.where(this.program.line)}: output block differs: ${problem}`);
    } else if (this.pending !== '') {
      this.failures.push(
        `${this.where(this.line)}: printed ${JSON.stringify(this.pending.slice(0, 200))} that no "// →" comment shows`,
      );
    }
  }
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

let counter = 0;

/** Runs one program in this process (vitest resolves `@mmkit/*` to src); returns the failures. */
export async function runProgram(program: Program): Promise<string[]> {
  const rel = shown(program.file);
  const where = (line: number) => `${rel}:${line}`;
  const runtime = new ExampleRuntime(program, where);
  mkdirSync(GENERATED, { recursive: true });
  const slug = rel.replace(/[^\w]+/g, '-');
  const path = join(GENERATED, `${slug}-${program.line}-${process.pid}-${counter++}.ts`);
  writeFileSync(path, program.source);
  const g = globalThis as { __mmkitExample?: ExampleRuntime };
  g.__mmkitExample = runtime;
  try {
    await import(/* @vite-ignore */ pathToFileURL(path).href);
  } catch (error) {
    const shown = error instanceof Error ? `${error.name}: ${error.message}` : formatValue(error);
    runtime.failures.push(`${where(runtime.line)}: threw ${shown}`);
  } finally {
    g.__mmkitExample = undefined;
  }
  return runtime.failures;
}

const CLI = join(REPO_ROOT, 'packages', 'cli', 'dist', 'bin.js');

/** Runs one `$ mmkit …` line with the built CLI in bash; returns the failure or undefined. */
export function runCommand(command: ConsoleCommand): string | undefined {
  const where = `${shown(command.file)}:${command.line}`;
  if (!existsSync(CLI))
    return `${where}: ${CLI} is missing; build first (pnpm build, or pnpm test which builds)`;
  const bin = join(GENERATED, 'bin');
  mkdirSync(bin, { recursive: true });
  const shim = join(bin, 'mmkit');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(shim, 0o755);
  const r = spawnSync('bash', ['-c', `${command.command} 2>&1`], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, NO_COLOR: '1', FORCE_COLOR: '0' },
    cwd: REPO_ROOT,
  });
  if (r.error) return `${where}: ${command.command}: ${r.error.message}`;
  const problem = compareLines(splitLines(r.stdout), command.expected);
  return problem ? `${where}: $ ${command.command}: ${problem}` : undefined;
}
