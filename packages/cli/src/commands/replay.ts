/**
 * `mmkit replay TRACE`: miss ratios of replacement policies on a memory trace, at one size, at
 * several, or as miss-ratio curves (LRU in one pass by stack distances, the other policies in
 * parallel worker threads), printed as a table, CSV or JSON, optionally plotted as SVG.
 *
 * The trace is read once into memory as dense ids and runs of repeats (`@mmkit/replay`'s
 * `loadCompactTrace`: 4 bytes per reference plus 4 per run; FIFO, CLOCK, LRU and SIEVE replay one
 * step per run). Bad input (an unreadable file, a malformed line, a truncated binary record) is a
 * usage error naming the file and the line or byte offset (exit 2), and nothing is written: the
 * SVG goes to a temporary file renamed into place only when everything succeeded, and stdout is
 * written once, at the end. Progress bars (rate and ETA; one for reading the file, one for the
 * replay) are drawn on stderr only when stderr is a terminal.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  type CompactTrace,
  formatResultsCsv,
  formatResultsSvg,
  isPolicyName,
  loadCompactTrace,
  missRatioCurveSizes,
  missRatios,
  POLICY_NAMES,
  type PolicyName,
  type ReplayResult,
  readCsvTrace,
  readLackeyTrace,
  readOracleGeneralTrace,
  readPageListTrace,
  replayWork,
  type TraceReader,
} from '@mmkit/replay';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { CliStream, Output } from '../io.js';
import { invalidValue, UsageError } from '../usage-error.js';
import {
  flagOf,
  MACHINE_ONLY_OPTIONS,
  type MachineReplayCommandOptions,
  runMachineReplay,
} from './replay-machine.js';

/** The trace formats `--format` accepts. */
export const REPLAY_FORMATS = ['lackey', 'pages', 'oracle-bin', 'oracle-csv'] as const;
/** A `--format` value. */
export type ReplayFormat = (typeof REPLAY_FORMATS)[number];

/** Parsed options of `replay` (as commander gives them). */
export interface ReplayCommandOptions extends MachineReplayCommandOptions {
  readonly format?: string;
  /** Default `lru` (applied by {@link planReplay}, so `--machine` can tell it was not given). */
  readonly policy?: string;
  readonly size?: string;
  readonly sizes?: string;
  readonly mrc?: boolean;
  readonly points?: string;
  readonly dataOnly?: boolean;
  readonly objIdCol?: string;
  readonly csv?: boolean;
  readonly json?: boolean;
  readonly svg?: string;
  readonly workers?: string;
}

const DEFAULT_POINTS = 16;
/** Below this many references replayed in total, the default is no worker threads. */
const SMALL_WORK = 1 << 22;
const MAX_SIZE = 2 ** 30;

/** The format a file name suggests (a `.gz` suffix ignored): see the README. */
export function guessFormat(file: string): ReplayFormat {
  const name = basename(file).toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.lackey')) return 'lackey';
  if (name.endsWith('.csv')) return 'oracle-csv';
  if (name.endsWith('.bin') || name.includes('oraclegeneral')) return 'oracle-bin';
  return 'pages';
}

/** A whole number option in [min, max] (`_` separators allowed), or a usage error naming it. */
export function parseCount(text: string, what: string, min: number, max: number, unit: string): number {
  const t = text.trim().replace(/_/g, '');
  const n = /^[0-9]+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw invalidValue(what, text, 'is not a whole number', unit);
  if (n < min || n > max) throw invalidValue(what, text, 'is out of range', `${unit} from ${min} to ${max}`);
  return n;
}

function parsePolicies(text: string): PolicyName[] {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (names.length === 0)
    throw invalidValue('--policy', text, 'names no policy', `one of ${POLICY_NAMES.join(', ')} or all`);
  const out: PolicyName[] = [];
  for (const n of names) {
    if (n === 'all') {
      for (const p of POLICY_NAMES) if (!out.includes(p)) out.push(p);
    } else if (isPolicyName(n)) {
      if (!out.includes(n)) out.push(n);
    } else {
      throw invalidValue(
        '--policy',
        n,
        'is not a policy',
        `a comma-separated list of ${POLICY_NAMES.join(', ')}, or all`,
      );
    }
  }
  return out;
}

/** What `replay` will do, after every option was checked (nothing read yet). */
export interface ReplayPlan {
  readonly file: string;
  readonly format: ReplayFormat;
  readonly policies: readonly PolicyName[];
  /** Explicit sizes, or undefined for a curve of `points` sizes chosen from the trace. */
  readonly sizes: readonly number[] | undefined;
  readonly points: number;
  readonly output: 'text' | 'csv' | 'json';
  readonly svg: string | undefined;
  /** Worker threads, or undefined for the default (CPUs, or none for a small job). */
  readonly workers: number | undefined;
  readonly dataOnly: boolean;
  readonly objIdColumn: number;
}

/**
 * Checks the command line of `replay`.
 * @throws UsageError naming the option, the value and what was expected.
 */
export function planReplay(file: string, opts: ReplayCommandOptions): ReplayPlan {
  for (const o of MACHINE_ONLY_OPTIONS) {
    if (opts[o] !== undefined) {
      throw new UsageError(`${flagOf(o)} goes with --machine; expected --machine BOARD ${flagOf(o)} …`);
    }
  }
  const format = traceFormat(file, opts.format);
  const chosen = [
    opts.size !== undefined && '--size',
    opts.sizes !== undefined && '--sizes',
    opts.mrc && '--mrc',
  ].filter((x): x is string => typeof x === 'string');
  if (chosen.length > 1) {
    throw new UsageError(
      `${chosen.join(' and ')} cannot be combined; expected one of --size, --sizes or --mrc`,
    );
  }
  if (opts.points !== undefined && (opts.size !== undefined || opts.sizes !== undefined)) {
    throw new UsageError(`--points goes with --mrc, not with ${chosen[0]}; expected --mrc --points K`);
  }
  if (opts.csv && opts.json)
    throw new UsageError('--csv and --json cannot be combined; expected at most one');
  if (opts.dataOnly && format !== 'lackey') {
    throw new UsageError(`--data-only applies to lackey traces, not ${format}; expected --format lackey`);
  }
  if (opts.objIdCol !== undefined && format !== 'oracle-csv') {
    throw new UsageError(
      `--obj-id-col applies to oracle-csv traces, not ${format}; expected --format oracle-csv`,
    );
  }
  let sizes: number[] | undefined;
  if (opts.size !== undefined) sizes = [parseCount(opts.size, '--size', 1, MAX_SIZE, 'a number of pages')];
  if (opts.sizes !== undefined) {
    const parts = opts.sizes.split(',').filter((s) => s.trim() !== '');
    if (parts.length === 0)
      throw invalidValue('--sizes', opts.sizes, 'names no size', 'a comma-separated list of page counts');
    sizes = [...new Set(parts.map((s) => parseCount(s, '--sizes', 1, MAX_SIZE, 'a number of pages')))];
  }
  return {
    file,
    format,
    policies: parsePolicies(opts.policy ?? 'lru'),
    sizes,
    points:
      opts.points === undefined
        ? DEFAULT_POINTS
        : parseCount(opts.points, '--points', 2, 1000, 'a number of points'),
    output: opts.csv ? 'csv' : opts.json ? 'json' : 'text',
    svg: opts.svg,
    workers:
      opts.workers === undefined
        ? undefined
        : parseCount(opts.workers, '--workers', 0, 256, 'a number of worker threads'),
    dataOnly: opts.dataOnly === true,
    objIdColumn:
      opts.objIdCol === undefined
        ? 2
        : parseCount(opts.objIdCol, '--obj-id-col', 1, 1 << 16, 'a 1-based column'),
  };
}

function reader(plan: ReplayPlan, onFileBytes: (bytes: number) => void): TraceReader {
  switch (plan.format) {
    case 'lackey':
      return readLackeyTrace(plan.file, { dataOnly: plan.dataOnly, onFileBytes });
    case 'pages':
      return readPageListTrace(plan.file, { onFileBytes });
    case 'oracle-bin':
      return readOracleGeneralTrace(plan.file, { onFileBytes });
    case 'oracle-csv':
      return readCsvTrace(plan.file, { objIdColumn: plan.objIdColumn, onFileBytes });
  }
}

/** `--format` if given (checked), else the format guessed from the file name. */
export function traceFormat(file: string, option: string | undefined): ReplayFormat {
  if (option === undefined) return guessFormat(file);
  if ((REPLAY_FORMATS as readonly string[]).includes(option)) return option as ReplayFormat;
  throw invalidValue('--format', option, 'is not a trace format', `one of ${REPLAY_FORMATS.join(', ')}`);
}

/** What is wrong with a file, from a Node error's code (undefined: not a file problem). */
export function fsProblem(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'is not readable (permission denied)';
    default:
      return undefined;
  }
}

/** Reads the trace; every problem with the file becomes a one-line UsageError. */
async function loadTrace(plan: ReplayPlan, stderr: CliStream): Promise<CompactTrace> {
  let sizeBytes = 0;
  try {
    const st = statSync(plan.file);
    if (st.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    sizeBytes = st.size;
  } catch (e) {
    const problem = fsProblem(e);
    if (problem) throw invalidValue('trace file', plan.file, problem, 'a readable trace file');
    throw e;
  }
  let trace: CompactTrace;
  const bar = progressBar(stderr, sizeBytes, 'read  ', 'bytes');
  try {
    trace = await loadCompactTrace(reader(plan, bar.tick), { shared: true });
  } catch (e) {
    throw traceReadError(e, plan.file);
  } finally {
    bar.stop();
  }
  if (trace.length === 0) throw emptyTrace(plan.file, plan.format);
  return trace;
}

/**
 * What a failure while reading trace `file` becomes: TraceFormatError (file:line or file@byte N,
 * found, expected) and InvalidArgumentError are the file's fault, not ours — both one line
 * already — and so are file-system problems; anything else is returned unchanged (a bug).
 */
export function traceReadError(e: unknown, file: string): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'E_TRACE_FORMAT' || code === 'E_INVALID_ARGUMENT') return new UsageError((e as Error).message);
  const problem = fsProblem(e);
  if (problem) return invalidValue('trace file', file, problem, 'a readable trace file');
  return e;
}

/** The usage error for a trace file without a single reference. */
export function emptyTrace(file: string, format: string): UsageError {
  return invalidValue('trace file', file, `has no references (${format})`, 'at least one reference');
}

/** A progress bar on stderr with rate and ETA, or nothing when stderr is not a terminal. */
export function progressBar(
  stderr: CliStream,
  total: number,
  label: string,
  unit: 'refs' | 'bytes',
): { tick(amount: number): void; stop(): void } {
  if (stderr.isTTY !== true || total === 0) return { tick: () => {}, stop: () => {} };
  const amount = unit === 'refs' ? '{value}/{total} refs' : '{done}/{size} MiB';
  const bar = new cliProgress.SingleBar(
    {
      stream: stderr as unknown as NodeJS.WritableStream,
      format: `${label} [{bar}] {percentage}% | ${amount} | {rate}${unit === 'refs' ? ' refs' : 'B'}/s | ETA {eta_formatted}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
      fps: 8,
    },
    cliProgress.Presets.legacy,
  );
  const mib = (n: number) => (n / 1048576).toFixed(1);
  const started = performance.now();
  let done = 0;
  bar.start(total, 0, { rate: '-', done: mib(0), size: mib(total) });
  return {
    tick: (n) => {
      done += n;
      const seconds = (performance.now() - started) / 1000;
      bar.update(Math.min(done, total), {
        rate: seconds > 0 ? formatRate(done / seconds) : '-',
        done: mib(done),
        size: mib(total),
      });
    },
    stop: () => bar.stop(),
  };
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e9) return `${(perSecond / 1e9).toFixed(2)} G`;
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} K`;
  return perSecond.toFixed(0);
}

/** Writes `text` to `path` through a temporary file in the same directory, renamed into place. */
export function writeAtomically(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // The temporary file was never created.
    }
    const why = (e as { code?: string }).code ?? (e as Error).message;
    throw invalidValue(
      '--svg',
      path,
      `cannot be written (${why})`,
      'a file path in an existing, writable directory',
    );
  }
}

function table(results: readonly ReplayResult[]): string[] {
  const head = ['policy', 'size', 'accesses', 'hits', 'misses', 'miss ratio'];
  const rows = results.map((r) => [
    r.policy,
    String(r.capacity),
    String(r.accesses),
    String(r.hits),
    String(r.misses),
    r.missRatio.toFixed(4),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/** Runs `replay` (see the module documentation). */
export async function runReplay(file: string, opts: ReplayCommandOptions, out: Output): Promise<void> {
  if (opts.machine !== undefined) {
    await runMachineReplay(file, opts as ReplayCommandOptions & Record<string, unknown>, out);
    return;
  }
  const plan = planReplay(file, opts);
  const trace = await loadTrace(plan, out.io.stderr);
  const sizes = plan.sizes ?? missRatioCurveSizes(trace.distinct, plan.points);
  const work = replayWork(trace, { policies: plan.policies, sizes });
  // Starting threads costs more than it saves on a small job: by default, workers only from
  // SMALL_WORK references replayed in total.
  const workers = plan.workers ?? (work < SMALL_WORK ? 0 : availableParallelism());
  const request = { policies: plan.policies, sizes, workers };
  const bar = progressBar(out.io.stderr, work, 'replay', 'refs');
  let results: ReplayResult[];
  try {
    results = await missRatios(trace, { ...request, onProgress: bar.tick });
  } finally {
    bar.stop();
  }
  const what = `${plan.file} (${plan.format}${plan.dataOnly ? ', data only' : ''})`;
  if (plan.svg !== undefined) {
    writeAtomically(
      plan.svg,
      formatResultsSvg(results, {
        title: `miss ratio: ${basename(plan.file)}, ${trace.length} references, ${trace.distinct} pages`,
      }),
    );
  }
  if (plan.output === 'csv') {
    out.io.stdout.write(formatResultsCsv(results));
  } else if (plan.output === 'json') {
    out.json({
      trace: {
        file: plan.file,
        format: plan.format,
        references: trace.length,
        distinctPages: trace.distinct,
      },
      results,
    });
  } else {
    out.line(`${what}: ${trace.length} references, ${trace.distinct} distinct pages`);
    out.line();
    for (const l of table(results)) out.line(l);
  }
}

/** Registers `replay` on `program`. */
export function registerReplay(program: Command, out: () => Output): Command {
  return program
    .command('replay')
    .summary('miss ratios of replacement policies on a memory trace, or the trace run on a machine')
    .description(
      'Replay a memory trace through replacement policies and print their miss ratios: at one size (--size), ' +
        'at several (--sizes) or as miss-ratio curves (--mrc, the default). LRU curves come from stack distances ' +
        'in one pass; other policies run in parallel worker threads. Conventions as libCacheSim with ' +
        '--ignore-obj-size: the cache starts empty, every reference counts, sizes are in pages. ' +
        'With --machine BOARD the trace instead runs as one process on a booted board (TLB, page-table walks, ' +
        'faults, copy-on-write, reclaim and swap) and the counts are TLB misses, walks, faults, COW copies, swap I/O and RSS.',
    )
    .argument('<trace>', 'trace file (gzip accepted)')
    .option(
      '--format <format>',
      `trace format: ${REPLAY_FORMATS.join(', ')} (default: from the name: *.lackey, *.csv, *.bin or *oracleGeneral*, else pages)`,
    )
    .option('--policy <list>', `comma-separated policies: ${POLICY_NAMES.join(', ')}, or all (default lru)`)
    .option('--size <pages>', 'one cache size in pages')
    .option('--sizes <list>', 'comma-separated cache sizes in pages')
    .option('--mrc', 'miss-ratio curves at sizes chosen from the trace (the default)')
    .option('--points <k>', `number of sizes of --mrc, log-spaced (default ${DEFAULT_POINTS})`)
    .option('--data-only', 'lackey: only data references (skip instruction fetches)')
    .option('--obj-id-col <n>', 'oracle-csv: 1-based column of the object id (default 2)')
    .option('--csv', 'print CSV: policy,capacity,accesses,hits,misses,miss_ratio')
    .option('--json', 'print one JSON document')
    .option('--svg <file>', 'also write an SVG plot of miss ratio against size (--machine: the timeline)')
    .option(
      '--machine <board>',
      'run the trace on a booted board: virt, rpi4b or pc (lackey or pages traces)',
    )
    .option('--arch <id>', "--machine: paging format (default: the board's)")
    .option('--ram <MiB>', "--machine: RAM in MiB (default: the board's)")
    .option('--tlb <entries>', '--machine: TLB entries per CPU, a power of two (default 4096)')
    .option('--fork <n>', '--machine: fork after n accesses; the child runs the rest (copy-on-write)')
    .option('--sample-every <n>', '--machine: timeline resolution in accesses (default 65536)')
    .option('--access <kind>', '--machine: access kind of a pages trace: read, write or fetch (default read)')
    .option(
      '--workers <n>',
      'worker threads (default: the number of CPUs, none below 4 Mi references of work; 0 = none)',
    )
    .action(async (trace: string, opts: ReplayCommandOptions) => {
      await runReplay(trace, opts, out());
    });
}
