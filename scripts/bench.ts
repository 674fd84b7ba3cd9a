/**
 * mmkit benchmark harness.
 *
 * ```
 * node --conditions=@mmkit/source --import tsx scripts/bench.ts [filter…] [--quick] [--out <file>] [--in-process]
 * ```
 *
 * Finds every `packages/<pkg>/bench/*.bench.ts` (a `filter` keeps the files whose path contains
 * it), runs each file in its own child process (`node --expose-gc --conditions=@mmkit/source
 * --import tsx`, so memory measurements start from a fresh heap and `gc()` is available), prints
 * a table (package, name, input size, measured value, target, pass/FAIL) and writes
 * `bench-results.json` at the repository root (or `--out`) with the machine (CPU model, cores,
 * memory, OS, node version) and the date. `--quick` shortens time budgets and repeats for a
 * smoke run; `--in-process` runs the files in this process (for debugging; no fresh heap).
 * Exit code: 0 if every file ran and every target passed, 1 otherwise.
 *
 * ## Bench file format
 *
 * A bench file is `packages/<pkg>/bench/<name>.bench.ts`. Its default export is a (possibly
 * async) function that receives a `BenchContext` (types in `scripts/bench-api.ts`, imported with
 * `import type` so the file has no runtime dependency on the harness) and records rows by
 * calling, in order:
 *
 * - `await bench.throughput({ name, inputSize, opsPerCall, fn, target?, timeMs? })` — tinybench
 *   times calls of `fn`; `fn` performs `opsPerCall` operations (loop inside it so one call takes
 *   ≥ 10 µs) and returns a value derived from them (kept by the harness so the JIT cannot drop the
 *   work). Reported value: `opsPerCall × 1000 / median ms per call`, unit `ops/s`.
 * - `await bench.measure({ name, inputSize, unit, run, better, repeat?, target? })` — for whole-run
 *   measurements ("drain the pool", "bytes per touched frame"): `run()` does one complete
 *   measurement (time it with `performance.now()`, or read `process.memoryUsage()`) and returns
 *   the value in `unit`; the harness calls it `repeat` times (default 3, 1 with `--quick`) and
 *   reports the best (`better: 'higher' | 'lower'`), or the median with `report: 'median'`
 *   (memory counters, whose noise goes both ways).
 * - Both resolve to the recorded value (so a file can derive a ratio row from rows it measured,
 *   e.g. `mmkit ÷ C` against a native peer run in the same process: see `scripts/native-peer.ts`).
 * - `bench.gc()` runs a full collection (returns false if gc is not exposed); `bench.quick` is
 *   true with `--quick` (keep input sizes, shrink only repetitions).
 *
 * A target is `{ min: n }` (value must be ≥ n) or `{ max: n }` (value must be ≤ n), in the row's
 * unit. Rows without a target are reported, never failed. Set-up belongs outside `fn`/`run`'s
 * timed region; bench files must not print.
 *
 * ```ts
 * import type { BenchContext } from '../../../scripts/bench-api.js';
 * import { Tlb } from '../src/index.js';
 *
 * export default async function tlbBench(bench: BenchContext): Promise<void> {
 *   const tlb = new Tlb(4096);
 *   for (let v = 0; v < 4096; v++) tlb.fill(v, 1, false, v, 0x3f, 0, 1, v, 1);
 *   await bench.throughput({
 *     name: 'Tlb.lookup (hit)', inputSize: '4096 entries', opsPerCall: 4096, target: { min: 100e6 },
 *     fn: () => { let s = 0; for (let v = 0; v < 4096; v++) s += tlb.lookup(v, 1); return s; },
 *   });
 * }
 * ```
 *
 * ## Output (`bench-results.json`)
 *
 * `{ date, machine: { cpu, cores, memoryBytes, os, arch, node }, quick, results: BenchResult[],
 * errors: [{ file, message }], failed }` — `BenchResult` is defined in `scripts/bench-api.ts`.
 */
import { fork } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import type {
  BenchContext,
  BenchFile,
  BenchResult,
  BenchTarget,
  MeasureSpec,
  ThroughputSpec,
} from './bench-api.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

interface Options {
  readonly filters: readonly string[];
  readonly quick: boolean;
  readonly out: string;
  readonly inProcess: boolean;
  readonly child: string | undefined;
}

/** Messages a child sends to the parent. */
type ChildMessage =
  | { readonly type: 'result'; readonly result: BenchResult }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'done' };

function parseArgs(argv: readonly string[]): Options {
  const filters: string[] = [];
  let quick = false;
  let out = path.join(ROOT, 'bench-results.json');
  let inProcess = false;
  let child: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--in-process') inProcess = true;
    else if (a === '--out' || a === '--child') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${a} needs a value`);
      if (a === '--out') out = path.resolve(v);
      else child = v;
    } else if (a.startsWith('--')) {
      throw new Error(
        `bench: unknown option ${JSON.stringify(a)}; expected --quick, --out <file>, --in-process`,
      );
    } else filters.push(a);
  }
  return { filters, quick, out, inProcess, child };
}

/** Every bench file, relative to the root, sorted. */
function findBenchFiles(filters: readonly string[]): string[] {
  const files: string[] = [];
  const packagesDir = path.join(ROOT, 'packages');
  for (const pkg of readdirSync(packagesDir).sort()) {
    const dir = path.join(packagesDir, pkg, 'bench');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.bench.ts')) continue;
      const rel = path.posix.join('packages', pkg, 'bench', f);
      if (filters.length === 0 || filters.some((flt) => rel.includes(flt))) files.push(rel);
    }
  }
  return files;
}

function passes(value: number, target: BenchTarget | undefined): boolean | null {
  if (!target) return null;
  if (target.min !== undefined) return value >= target.min;
  return value <= target.max!;
}

/** Keeps benchmark return values observable so the JIT cannot remove the work. */
const sink: { value: unknown } = { value: undefined };

/** Builds the context for one file; `record` receives each row. */
function createContext(file: string, quick: boolean, record: (r: BenchResult) => void): BenchContext {
  const pkg = file.split('/')[1] ?? '?';
  const gcFn = (globalThis as { gc?: () => void }).gc;
  return {
    quick,
    gc(): boolean {
      if (!gcFn) return false;
      gcFn();
      gcFn();
      return true;
    },
    async throughput(spec: ThroughputSpec): Promise<number> {
      const bench = new Bench({
        time: spec.timeMs ?? (quick ? 200 : 1000),
        warmupTime: quick ? 50 : 250,
        throws: true,
      });
      bench.add(spec.name, () => {
        sink.value = spec.fn();
      });
      await bench.run();
      const result = bench.tasks[0]!.result;
      if (result.state !== 'completed')
        throw new Error(`${spec.name}: tinybench ended in state ${result.state}`);
      const value = (spec.opsPerCall * 1000) / result.latency.p50;
      record({
        file,
        package: pkg,
        name: spec.name,
        inputSize: spec.inputSize,
        kind: 'throughput',
        value,
        unit: 'ops/s',
        target: spec.target ?? null,
        pass: passes(value, spec.target),
        detail: {
          meanOpsPerSec: (spec.opsPerCall * 1000) / result.latency.mean,
          rmePercent: result.latency.rme,
          samples: result.latency.samplesCount,
          opsPerCall: spec.opsPerCall,
        },
      });
      return value;
    },
    async measure(spec: MeasureSpec): Promise<number> {
      const repeat = quick ? 1 : (spec.repeat ?? 3);
      const values: number[] = [];
      for (let i = 0; i < repeat; i++) values.push(await spec.run());
      const sorted = [...values].sort((a, b) => (spec.better === 'higher' ? b - a : a - b));
      const value = spec.report === 'median' ? sorted[(sorted.length - 1) >> 1]! : sorted[0]!;
      record({
        file,
        package: pkg,
        name: spec.name,
        inputSize: spec.inputSize,
        kind: 'measure',
        value,
        unit: spec.unit,
        target: spec.target ?? null,
        pass: passes(value, spec.target),
        detail: {
          runs: values,
          better: spec.better,
          report: spec.report ?? 'best',
          gcExposed: gcFn !== undefined,
        },
      });
      return value;
    },
  };
}

async function runFile(file: string, quick: boolean, record: (r: BenchResult) => void): Promise<void> {
  const mod = (await import(pathToFileURL(path.join(ROOT, file)).href)) as { default?: unknown };
  if (typeof mod.default !== 'function') {
    throw new Error(`${file}: the default export is not a function; see the format in scripts/bench.ts`);
  }
  await (mod.default as BenchFile)(createContext(file, quick, record));
}

/** Node flags for the child: the parent's plus --expose-gc, the source condition and the tsx loader. */
function childExecArgv(): string[] {
  const args = [...process.execArgv];
  if (!args.includes('--expose-gc')) args.push('--expose-gc');
  if (!args.some((a) => a.includes('@mmkit/source'))) args.push('--conditions=@mmkit/source');
  if (!args.some((a) => a.includes('tsx'))) args.push('--import', 'tsx');
  return args;
}

function runChild(
  file: string,
  quick: boolean,
  record: (r: BenchResult) => void,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = fork(SELF, ['--child', file, ...(quick ? ['--quick'] : [])], {
      cwd: ROOT,
      execArgv: childExecArgv(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let error: string | undefined;
    let done = false;
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'result') record(m.result);
      else if (m.type === 'error') error = m.message;
      else done = true;
    });
    child.on('exit', (code, signal) => {
      if (!error && !done) error = `child exited with ${signal ?? `code ${code}`} before finishing`;
      resolve(error);
    });
  });
}

// ---------------------------------------------------------------------------
// Formatting

function si(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)} M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  return `${value.toFixed(1)} `;
}

function formatValue(value: number, unit: string): string {
  if (unit === 'ops/s') return `${si(value)}ops/s`;
  const digits = Math.abs(value) >= 100 ? 1 : 3;
  return `${value.toFixed(digits)} ${unit}`;
}

function formatTarget(r: BenchResult): string {
  if (!r.target) return '-';
  return r.target.min !== undefined
    ? `>= ${formatValue(r.target.min, r.unit)}`
    : `<= ${formatValue(r.target.max!, r.unit)}`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  const [head, ...body] = rows;
  return [line(head!), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
    node: process.version,
  };
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));

  if (options.child !== undefined) {
    const pending: Promise<void>[] = [];
    const send = (m: ChildMessage) => {
      pending.push(
        new Promise((resolve) =>
          process.send ? process.send(m, undefined, {}, () => resolve()) : resolve(),
        ),
      );
    };
    let code = 0;
    try {
      await runFile(options.child, options.quick, (result) => send({ type: 'result', result }));
      send({ type: 'done' });
    } catch (e) {
      send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      code = 1;
    }
    await Promise.all(pending);
    if (process.connected) process.disconnect();
    return code;
  }

  const files = findBenchFiles(options.filters);
  const m = machine();
  const date = new Date().toISOString();
  process.stdout.write(
    `mmkit benchmarks — ${date}\n${m.cpu}, ${m.cores} cores, ${m.os} ${m.arch}, node ${m.node}\n`,
  );
  if (files.length === 0) {
    process.stdout.write('no bench files found (packages/*/bench/*.bench.ts)\n');
    return 1;
  }
  const results: BenchResult[] = [];
  const errors: { file: string; message: string }[] = [];
  for (const file of files) {
    process.stdout.write(`running ${file}\n`);
    const record = (r: BenchResult) => {
      results.push(r);
      const verdict = r.pass === null ? '' : r.pass ? ' (pass)' : ' (FAIL)';
      process.stdout.write(`  ${r.name}: ${formatValue(r.value, r.unit)}${verdict}\n`);
    };
    let error: string | undefined;
    if (options.inProcess) {
      try {
        await runFile(file, options.quick, record);
      } catch (e) {
        error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      }
    } else error = await runChild(file, options.quick, record);
    if (error !== undefined) {
      errors.push({ file, message: error });
      process.stdout.write(`  ERROR: ${error}\n`);
    }
  }

  const rows = [
    ['package', 'name', 'input size', 'value', 'target', 'result'],
    ...results.map((r) => [
      r.package,
      r.name,
      r.inputSize,
      formatValue(r.value, r.unit),
      formatTarget(r),
      r.pass === null ? '-' : r.pass ? 'pass' : 'FAIL',
    ]),
  ];
  process.stdout.write(`\n${table(rows)}\n`);
  const failed = results.filter((r) => r.pass === false).length + errors.length;
  writeFileSync(
    options.out,
    `${JSON.stringify({ date, machine: m, quick: options.quick, results, errors, failed }, null, 2)}\n`,
  );
  process.stdout.write(
    `\n${failed === 0 ? 'all targets met' : `${failed} failure(s)`}; wrote ${path.relative(process.cwd(), options.out) || options.out}\n`,
  );
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
