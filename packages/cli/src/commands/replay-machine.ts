/**
 * `mmkit replay --machine BOARD [--arch ARCH] [--ram MiB] [--tlb N] [--fork N] [--sample-every N]
 * [--access KIND] [--json] [--svg FILE] TRACE`: the trace runs as one process's accesses on a
 * booted board (`@mmkit/scenario`'s `replayOnMachine`: its TLB, page-table walker, fault handler,
 * copy-on-write, reclaim and swap) and the command prints what the machine did — TLB hits and
 * misses, walks, minor/major faults, COW copies, swap I/O, RSS — and optionally writes the
 * timeline as SVG.
 *
 * Only address traces make sense on a machine: lackey (with each reference's kind: `I` fetch, `L`
 * read, `S`/`M` write) and page lists (4 KiB page numbers, all of kind `--access`, default read).
 * Usage errors (a bad option, a board/format/RAM size that does not exist, an unreadable or
 * malformed trace) exit 2 with one line; the SVG is written through a temporary file renamed into
 * place only when everything succeeded; stdout is written once, at the end. A progress bar (bytes
 * of the file read, which is the replay's progress: it streams) is drawn on stderr only when stderr
 * is a terminal.
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { readLackeyTrace, readPageListTrace, type TraceReader } from '@mmkit/replay';
import {
  formatMachineTimelineSvg,
  type MachineAccessName,
  type MachineReplayResult,
  replayOnMachine,
  resolveMachine,
  ScenarioError,
} from '@mmkit/scenario';
import type { Output } from '../io.js';
import { invalidValue, UsageError } from '../usage-error.js';
import {
  emptyTrace,
  fsProblem,
  parseCount,
  progressBar,
  traceFormat,
  traceReadError,
  writeAtomically,
} from './replay.js';

/** The options of `replay` that machine replay reads (as commander gives them). */
export interface MachineReplayCommandOptions {
  readonly machine?: string;
  readonly arch?: string;
  readonly ram?: string;
  readonly tlb?: string;
  readonly fork?: string;
  readonly sampleEvery?: string;
  readonly access?: string;
  readonly format?: string;
  readonly dataOnly?: boolean;
  readonly json?: boolean;
  readonly svg?: string;
}

/** What a machine replay will do, after every option was checked. */
export interface MachineReplayPlan {
  readonly file: string;
  readonly format: 'lackey' | 'pages';
  readonly board: string;
  readonly arch: string | undefined;
  readonly ramMiB: number | undefined;
  readonly tlbEntries: number | undefined;
  readonly fork: number | undefined;
  readonly sampleEvery: number | undefined;
  readonly access: MachineAccessName;
  readonly dataOnly: boolean;
  readonly json: boolean;
  readonly svg: string | undefined;
}

/** The options that only policy replay has, and that machine replay refuses. */
export const POLICY_ONLY_OPTIONS = [
  'policy',
  'size',
  'sizes',
  'mrc',
  'points',
  'csv',
  'workers',
  'objIdCol',
] as const;
/** The options that only machine replay has. */
export const MACHINE_ONLY_OPTIONS = ['arch', 'ram', 'tlb', 'fork', 'sampleEvery', 'access'] as const;

/** `sampleEvery` → `--sample-every`. */
export function flagOf(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Checks the command line of `replay --machine`.
 * @throws UsageError naming the option, the value and what was expected.
 */
export function planMachineReplay(
  file: string,
  opts: MachineReplayCommandOptions & Record<string, unknown>,
): MachineReplayPlan {
  const board = opts.machine!;
  for (const o of POLICY_ONLY_OPTIONS) {
    if (opts[o] !== undefined && opts[o] !== false) {
      throw new UsageError(
        `${flagOf(o)} is an option of policy replay, not of --machine; expected --machine with --arch, --ram, --tlb, --fork, --sample-every, --access, --json or --svg`,
      );
    }
  }
  const format = traceFormat(file, opts.format);
  if (format !== 'lackey' && format !== 'pages') {
    throw new UsageError(
      `--machine replays addresses, and ${format} traces hold object ids; expected a lackey or pages trace (--format lackey or pages)`,
    );
  }
  if (opts.dataOnly && format !== 'lackey') {
    throw new UsageError(`--data-only applies to lackey traces, not ${format}; expected --format lackey`);
  }
  const access = opts.access ?? 'read';
  if (access !== 'read' && access !== 'write' && access !== 'fetch') {
    throw invalidValue('--access', access, 'is not an access kind', 'read, write or fetch');
  }
  let tlbEntries: number | undefined;
  if (opts.tlb !== undefined) {
    tlbEntries = parseCount(opts.tlb, '--tlb', 1, 2 ** 20, 'a number of TLB entries');
    if ((tlbEntries & (tlbEntries - 1)) !== 0) {
      throw invalidValue('--tlb', opts.tlb, 'is not a power of two', 'a power of two from 1 to 1048576');
    }
  }
  const ramMiB =
    opts.ram === undefined ? undefined : parseCount(opts.ram, '--ram', 1, 2 ** 22, 'a RAM size in MiB');
  try {
    resolveMachine(board, opts.arch, ramMiB === undefined ? undefined : `${ramMiB}M`);
  } catch (e) {
    throw machineError(e);
  }
  return {
    file,
    format,
    board,
    arch: opts.arch,
    ramMiB,
    tlbEntries,
    fork:
      opts.fork === undefined
        ? undefined
        : parseCount(opts.fork, '--fork', 0, Number.MAX_SAFE_INTEGER, 'an access count'),
    sampleEvery:
      opts.sampleEvery === undefined
        ? undefined
        : parseCount(opts.sampleEvery, '--sample-every', 1, 2 ** 40, 'a number of accesses'),
    access,
    dataOnly: opts.dataOnly === true,
    json: opts.json === true,
    svg: opts.svg,
  };
}

/** A problem with the machine as a usage error naming the option that chose it (board → --machine). */
function machineError(e: unknown): unknown {
  if (!(e instanceof ScenarioError)) return e;
  const flag = e.field === 'board' ? '--machine' : `--${e.field ?? 'machine'}`;
  return new UsageError(`${flag} ${e.message.replace(/^(board|arch|ram) /, '')}`);
}

function reader(plan: MachineReplayPlan, onFileBytes: (bytes: number) => void): TraceReader {
  return plan.format === 'lackey'
    ? readLackeyTrace(plan.file, { dataOnly: plan.dataOnly, accessKinds: true, onFileBytes })
    : readPageListTrace(plan.file, { onFileBytes });
}

function summary(plan: MachineReplayPlan, r: MachineReplayResult): string[] {
  const m = r.machine;
  const pct = (x: number) => `${(x * 100).toFixed(3)} %`;
  const lines = [
    `${plan.file} (${plan.format}${plan.dataOnly ? ', data only' : ''}) on ${m.board}/${m.arch}, ${Math.round(m.ramBytes / 2 ** 20)} MiB of RAM, TLB ${m.tlbEntries} entries`,
    '',
    `accesses      ${r.accesses} (${r.reads} reads, ${r.writes} writes, ${r.fetches} fetches)`,
    `TLB           ${r.tlb.hits} hits, ${r.tlb.misses} misses (hit rate ${pct(r.tlb.hitRate)})`,
    `walks         ${r.walks}`,
    `page faults   ${r.faults.minor} minor, ${r.faults.major} major${r.faultCounters === 'handler' ? ' (counted at the fault handler: no swap-in, so no major fault)' : ''}`,
    `copy-on-write ${r.cow.copies} copies, ${r.cow.reuses} reuses, ${r.cow.zeroPages} zero-page maps, ${r.cow.zeroFills} zero-fills`,
    `swap          ${r.swapIns} in, ${r.swapOuts} out`,
    `RSS           ${r.rssPages} pages at the end, ${r.peakRssPages} at most (sampled)`,
    `regions       ${r.regions.length} × 2 MiB${r.regions.some((g) => g.page !== g.tracePage) ? ` (${r.regions.filter((g) => g.page !== g.tracePage).length} moved: outside this format's user space)` : ''}`,
  ];
  if (r.forked)
    lines.push(`fork          after ${plan.fork} accesses; the child (pid ${r.pid}) ran the rest`);
  if (r.stopped) lines.push(`stopped       at access ${r.stopped.atAccess}: ${r.stopped.reason}`);
  return lines;
}

/** Runs `replay --machine` (see the module documentation). */
export async function runMachineReplay(
  file: string,
  opts: MachineReplayCommandOptions & Record<string, unknown>,
  out: Output,
): Promise<void> {
  const plan = planMachineReplay(file, opts);
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
  const bar = progressBar(out.io.stderr, sizeBytes, 'replay', 'bytes');
  let result: MachineReplayResult;
  try {
    result = await replayOnMachine(reader(plan, bar.tick), {
      board: plan.board,
      ...(plan.arch === undefined ? {} : { arch: plan.arch }),
      ...(plan.ramMiB === undefined ? {} : { ramMiB: plan.ramMiB }),
      ...(plan.tlbEntries === undefined ? {} : { tlbEntries: plan.tlbEntries }),
      ...(plan.fork === undefined ? {} : { fork: plan.fork }),
      ...(plan.sampleEvery === undefined ? {} : { sampleEvery: plan.sampleEvery }),
      defaultKind: plan.access,
    });
  } catch (e) {
    if (e instanceof ScenarioError) throw machineError(e);
    // TraceFormatError (file:line) and a bad page number in the file are the file's fault.
    throw traceReadError(e, plan.file);
  } finally {
    bar.stop();
  }
  if (result.accesses === 0) throw emptyTrace(plan.file, plan.format);
  if (plan.svg !== undefined) {
    writeAtomically(
      plan.svg,
      formatMachineTimelineSvg(result, {
        title: `${basename(plan.file)} on ${result.machine.board}/${result.machine.arch}: ${result.accesses} accesses`,
      }),
    );
  }
  if (plan.json)
    out.json({ trace: { file: plan.file, format: plan.format, dataOnly: plan.dataOnly }, ...result });
  else for (const l of summary(plan, result)) out.line(l);
}
