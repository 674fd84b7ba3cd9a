/**
 * `mmkit run <scenario> [--board id] [--arch mode] [--ram size] [--export file] [--process name]
 * [--json]`: runs a scenario file (JSON or YAML, `-` for stdin) deterministically and prints the
 * event log step by step: each step, the kernel's events (frames allocated and freed, mappings,
 * faults with their syndromes, TLB maintenance), its outcome and whether its expectation held;
 * then the free frames against the baseline and the audit. Exit 0 when the audit is clean and
 * every expectation held, 1 otherwise.
 *
 * The demo (`mmkit demo`) is this command on the shipped `demo` scenario.
 */
import { writeFileSync } from 'node:fs';
import type { MmEvent } from '@mmkit/core';
import { exportTranslationState, type Process, type TranslationState } from '@mmkit/kernel';
import {
  parseScenario,
  resolveMachine,
  type Scenario,
  ScenarioError,
  type ScenarioOptions,
  type ScenarioProgress,
  type ScenarioRun,
  type ScenarioStepper,
  start,
} from '@mmkit/scenario';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { formatBytes, groupedHex } from '../format.js';
import type { CliIo, Output } from '../io.js';
import { toJson } from '../json.js';
import { parseSize } from '../parse.js';
import { ExitCode, invalidValue, UsageError } from '../usage-error.js';
import { readText } from './text-input.js';

/** Raw options of `run` as commander parsed them. */
export interface RunCliOptions {
  readonly board?: string;
  readonly arch?: string;
  readonly ram?: string;
  readonly export?: string;
  readonly process?: string;
  readonly pid?: string;
  readonly json?: boolean;
}

/**
 * Reads a scenario file (`-`: standard input) and parses it.
 * @throws UsageError if the file cannot be read or the scenario does not validate (the message
 *   names the file, line, step and field).
 */
export async function readScenario(path: string, io: CliIo): Promise<Scenario> {
  const text = await readText(path, io, 'scenario file');
  try {
    return parseScenario(text, path === '-' ? '<stdin>' : path);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * Checks the machine overrides (`--board`, `--arch`, `--ram`) and starts the scenario.
 * @throws UsageError naming the option for a board, format or size that does not exist, and the
 *   scenario's own problems as they are.
 */
export function startScenario(
  scenario: Scenario,
  opts: Pick<RunCliOptions, 'board' | 'arch' | 'ram'>,
  extra: Pick<ScenarioOptions, 'source' | 'onProgress'> = {},
): ScenarioStepper {
  if (opts.ram !== undefined) parseSize(opts.ram, '--ram');
  const boardChanged = opts.board !== undefined && opts.board !== scenario.board;
  try {
    // The machine first, without the file name, so a problem with an override names the option.
    resolveMachine(
      opts.board ?? scenario.board,
      opts.arch ?? (boardChanged ? undefined : scenario.arch),
      opts.ram ?? (boardChanged ? undefined : scenario.ram),
    );
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    const field = e.field as 'board' | 'arch' | 'ram' | undefined;
    const given = field === undefined ? undefined : opts[field];
    if (field !== undefined && given !== undefined) throw new UsageError(`--${e.message}`, given);
    // Not an override: the scenario's own field, reported with its file below.
  }
  try {
    return start(scenario, {
      ...(opts.board === undefined ? {} : { board: opts.board }),
      ...(opts.arch === undefined ? {} : { arch: opts.arch }),
      ...(opts.ram === undefined ? {} : { ram: opts.ram }),
      ...extra,
    });
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * What the bar says after the scenario units: inside boot the kernel's boot phase
 * (` · reverse map`), inside the audit the frames checked (` · frames 1048576/268435456`).
 */
export function progressDetail(p: ScenarioProgress): string {
  const d = p.detail;
  if (d === undefined) return '';
  if (p.phase === 'audit') return ` · frames ${d.done}/${d.total}`;
  return d.done === d.total ? '' : ` · ${d.phase}`;
}

/**
 * A progress bar on stderr while a scenario runs, when stderr is a terminal; nothing in a pipe.
 * Returns the progress hook and a function that removes the bar. Boot and the audit also show
 * the kernel's own progress (its boot phase; the frames audited), which matters on a large board
 * (a 1 TiB pc boots and audits 268 M frames). Every report is drawn at once: the kernel and the
 * scenario report a few hundred times at most (never per frame), so nothing needs throttling here.
 */
export function progressBar(io: CliIo): { onProgress?: (p: ScenarioProgress) => void; stop: () => void } {
  if (io.stderr.isTTY !== true) return { stop: () => {} };
  let bar: SingleBar | undefined;
  const stream = io.stderr as unknown as NodeJS.WriteStream;
  return {
    onProgress: (p) => {
      const payload = { phase: p.phase, detail: progressDetail(p) };
      if (!bar) {
        bar = new SingleBar({
          stream,
          format: 'mmkit {phase} [{bar}] {value}/{total}{detail}',
          clearOnComplete: true,
          hideCursor: true,
          barsize: 30,
        });
        bar.start(p.total, p.done, payload);
      } else {
        bar.update(p.done, payload);
        bar.render();
      }
    },
    stop: () => bar?.stop(),
  };
}

/** One kernel event as a log line. */
export function formatEvent(e: MmEvent, style: Output['style']): string {
  const pa = (v: number) => groupedHex(v, 8);
  const va = (v: bigint) => groupedHex(v, 12);
  switch (e.type) {
    case 'frame-alloc':
      return `${style.green('alloc  ')} frame ${pa(e.pa)} for ${e.purpose}`;
    case 'frame-free':
      return `${style.green('free   ')} frame ${pa(e.pa)} (${e.purpose})`;
    case 'map':
      return `${style.blue('map    ')} ${e.space} ${va(e.va)} → ${pa(e.pa)} ${e.perms}`;
    case 'unmap':
      return `${style.blue('unmap  ')} ${e.space} ${va(e.va)} (was ${pa(e.pa)})`;
    case 'protect':
      return `${style.blue('protect')} ${e.space} ${va(e.va)} ${e.perms}`;
    case 'fault':
      return `${style.yellow('fault  ')} pid ${e.pid} ${e.detail} → ${e.resolution.startsWith('killed') ? style.red(e.resolution) : e.resolution}`;
    case 'cow':
      return `${style.yellow('cow    ')} pid ${e.pid} ${va(e.va)} ${e.action}${e.action === 'reuse' || e.action === 'zero-page' ? ` ${pa(e.pa)}` : ` ${pa(e.fromPa)} → ${pa(e.pa)}`}`;
    case 'swap': {
      const slot = `swap ${e.swapType}:${e.offset}`;
      const what =
        e.action === 'swap-out'
          ? `pid ${e.pid} ${va(e.va)} ${pa(e.pa)} → ${slot}`
          : e.action === 'swap-in'
            ? `${e.pid === 0 ? 'readahead' : `pid ${e.pid} ${va(e.va)}`} ${slot} → ${pa(e.pa)} (${e.major ? 'major' : 'minor'})`
            : e.action === 'swap-free'
              ? slot
              : `type ${e.swapType}: ${e.detail}`;
      return `${style.yellow('swap   ')} ${e.action} ${what}`;
    }
    case 'reclaim':
      return `${style.yellow('reclaim')} ${e.action} free ${e.free}${e.action === 'kswapd-sleep' || e.action === 'direct-end' ? ` (scanned ${e.scanned}, reclaimed ${e.reclaimed})` : ''}: ${e.detail}`;
    case 'tlb':
      // A 128-bit operand (the INVPCID descriptor) is padded to 32 digits so its two 64-bit halves show.
      return `${style.magenta('tlb    ')} ${e.op}${e.operand !== undefined ? ` ${groupedHex(e.operand, e.operand >> 64n ? 32 : 16)}` : ''} (broadcast from cpu ${e.cpu})`;
    case 'process':
      return `${style.cyan('process')} pid ${e.pid} ${e.action}: ${e.detail}`;
    case 'oom-kill':
      return formatOomKill(e, style);
    case 'working-set':
      return `${style.cyan('wset   ')} pid ${e.pid} W(t, τ=${e.tau}) ≈ ${e.sizePages} pages${e.exactPages === undefined ? '' : ` (exact ${e.exactPages})`} of ${e.residentPages} resident`;
    case 'thrashing':
      return `${style.red('thrash ')} pid ${e.pid} ${e.faults} faults in ${e.window} accesses (${e.faultRate} per 1000) > threshold ${e.threshold}`;
  }
}

/**
 * The OOM killer's report as Linux prints it (mm/oom_kill.c): `dump_header`'s "invoked
 * oom-killer" line (the allocation in place of the gfp mask), the `dump_tasks` table, the
 * `dump_oom_summary` line and `__oom_kill_process`'s "Out of memory: Killed process" line
 * (continuation lines indented under the first).
 */
function formatOomKill(e: Extract<MmEvent, { type: 'oom-kill' }>, style: Output['style']): string {
  const t = e.trigger;
  const lines = [
    `${style.red('oom    ')} ${t.name} invoked oom-killer: ${t.allocation}, oom_score_adj=${t.oomScoreAdj}`,
    '[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name',
    // Linux: "[%7d] %5d %5d %8lu %8lu %8ld %8lu         %5hd %s"
    ...e.tasks.map(
      (r) =>
        `[${String(r.pid).padStart(7)}] ${String(r.uid).padStart(5)} ${String(r.tgid).padStart(5)} ${String(r.totalVmPages).padStart(8)} ${String(r.rssPages).padStart(8)} ${String(r.pgtablesBytes).padStart(8)} ${String(r.swapEntries).padStart(8)}         ${String(r.oomScoreAdj).padStart(5)} ${r.name}`,
    ),
    ...(e.victim
      ? [
          `oom-kill:constraint=${e.constraint},nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=${e.victim.name},pid=${e.victim.pid},uid=${e.victim.uid}`,
        ]
      : []),
    style.red(e.detail),
  ];
  return lines.join(`\n${' '.repeat(14)}`);
}

/** A finished run as one JSON document (bigints become hex strings in `toJson`). */
export function runJson(run: ScenarioRun) {
  return {
    scenario: { name: run.scenario.name ?? null, description: run.scenario.description ?? null },
    board: run.machine.board,
    arch: run.machine.arch,
    cpus: run.machine.cpus,
    frames: run.frames,
    steps: run.steps.map((r) => ({
      index: r.index,
      op: r.step.op,
      title: r.title ?? null,
      summary: r.summary,
      status: r.status,
      outcome: r.outcome,
      ...(r.value === undefined ? {} : { value: r.value }),
      ...(r.lines ? { lines: r.lines } : {}),
      ...(r.registers ? { registers: r.registers } : {}),
      ...(r.expectation ? { expectation: r.expectation } : {}),
      events: r.events,
    })),
    audit: run.audit,
    problems: run.problems,
    stats: run.stats,
    ok: run.ok,
  };
}

/** Prints a finished run as the step-by-step log; returns the exit code (0 ok, 1 a problem). */
export function renderRun(run: ScenarioRun, heading: string, out: Output): number {
  const s = out.style;
  const m = run.machine;
  out.line(s.bold(`${heading} — ${m.board.name}, ${m.arch.name}, ${m.cpus} CPUs`));
  out.line(
    `RAM ${formatBytes(m.board.ramBytes)}; allocator manages ${run.frames.total} frames, ${run.frames.baseline} free after boot; kernel tables: ${run.frames.kernelTables} frames`,
  );
  for (const r of run.steps) {
    if (r.title !== undefined) {
      out.line();
      out.line(s.bold(r.title));
    }
    out.line(`  ${s.dim(`${String(r.index + 1).padStart(2)}.`)} ${r.summary}`);
    for (const e of r.events) out.line(`      ${formatEvent(e, s)}`);
    for (const l of r.lines ?? []) out.line(`      ${l}`);
    for (const [name, value] of Object.entries(r.registers ?? {}))
      out.line(`      ${name.padEnd(10)} ${value}`);
    const outcome = r.status === 'ok' ? r.outcome : s.red(r.outcome);
    const check = r.expectation
      ? r.expectation.met
        ? s.green(` ✓ ${r.expectation.expected}`)
        : s.red(` ✗ expected ${r.expectation.expected}`)
      : '';
    out.line(`      ${s.bold('⇒')} ${outcome}${check}`);
  }
  out.line();
  const framesBack = run.frames.final === run.frames.baseline;
  const verdict = run.ok ? s.green('OK') : s.red('PROBLEM');
  out.line(
    s.bold(
      `Free frames: ${run.frames.final} at the end, baseline ${run.frames.baseline} — audit ${run.audit.ok ? 'clean' : 'FAILED'} ${verdict}`,
    ),
  );
  const expectations = run.steps.filter((r) => r.expectation).length;
  if (expectations > 0)
    out.line(`Expectations: ${expectations - run.problems.length} of ${expectations} met`);
  // With the workingSet option: each process's working set, page-fault frequency and thrashing.
  for (const [name, st] of Object.entries(run.stats)) {
    const ws = st.workingSet;
    const f = st.faults;
    if (ws === undefined || f.pff === undefined || f.thrashing === undefined) continue;
    out.line(
      `${name} (pid ${f.pid}): ${f.accesses} accesses, ${f.faults} faults; W(t, τ=${ws.tau}) ≈ ${ws.estimatedPages} pages${ws.exactPages === undefined ? '' : ` (exact ${ws.exactPages})`}; PFF ${f.pff.faultRate}/1000 → ${f.pff.advice}; thrashing in ${f.thrashing.detections} window(s)`,
    );
  }
  if (!framesBack) {
    const live = [...run.processes.entries()]
      .filter(([, p]) => p.alive)
      .map(([n, p]) => `${n} (pid ${p.pid})`);
    if (live.length) out.line(`Still running: ${live.join(', ')}`);
  }
  for (const p of [...run.audit.problems, ...run.problems]) out.line(`   ${s.red(p)}`);
  return run.ok ? ExitCode.Ok : ExitCode.Problem;
}

/**
 * The process `--process NAME` / `--pid N` names (checked when the state is taken), or by default
 * the last process still running, or undefined (the kernel alone).
 * @throws UsageError for an unknown name or pid, or a process that is no longer running.
 */
export function chooseProcess(
  st: Pick<ScenarioStepper, 'processes'>,
  opts: Pick<RunCliOptions, 'process' | 'pid'>,
  when: string,
): Process | undefined {
  const all = [...st.processes.entries()];
  const describe = () =>
    all.length === 0
      ? 'none: no process was created'
      : all.map(([n, p]) => `${n} (pid ${p.pid}, ${p.state})`).join(', ');
  let found: [string, Process] | undefined;
  if (opts.process !== undefined) {
    found = all.find(([n]) => n === opts.process);
    if (!found)
      throw invalidValue(
        '--process',
        opts.process,
        'names no process of the scenario',
        `one of: ${describe()}`,
      );
  } else if (opts.pid !== undefined) {
    const pid = /^[0-9]+$/.test(opts.pid) ? Number(opts.pid) : Number.NaN;
    found = all.find(([, p]) => p.pid === pid);
    if (!found)
      throw invalidValue('--pid', opts.pid, 'is not a pid of the scenario', `one of: ${describe()}`);
  } else {
    return all.filter(([, p]) => p.alive).at(-1)?.[1];
  }
  if (!found[1].alive)
    throw new UsageError(
      `process ${found[0]} (pid ${found[1].pid}) is ${found[1].state} ${when}; expected a running process: ${describe()}`,
    );
  return found[1];
}

/**
 * Writes a translation-state export (`mmkit-translation-state/1`) to `file` (`-`: stdout).
 * @throws UsageError if the file cannot be written.
 */
export function writeExport(state: TranslationState, file: string, out: Output): void {
  const text = `${toJson(state)}\n`;
  if (file === '-') {
    out.io.stdout.write(text);
    return;
  }
  try {
    writeFileSync(file, text);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? 'unwritable';
    throw invalidValue('output file', file, `cannot be written (${why})`, 'a writable path');
  }
}

/** Runs a scenario with the CLI's options: progress bar, log or JSON, optional export. */
export async function runCommand(
  scenario: Scenario,
  source: string,
  opts: RunCliOptions,
  out: Output,
  heading: string,
): Promise<number> {
  if (opts.export === undefined && (opts.process !== undefined || opts.pid !== undefined)) {
    throw new UsageError(
      `${opts.process !== undefined ? '--process' : '--pid'} chooses the process to export; expected it with --export <file>`,
    );
  }
  const progress = progressBar(out.io);
  let run: ScenarioRun;
  try {
    const st = startScenario(scenario, opts, {
      source,
      ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
    });
    run = st.finish();
  } finally {
    progress.stop();
  }
  if (opts.export !== undefined) {
    const proc = chooseProcess(run, opts, 'at the end of the scenario');
    writeExport(exportTranslationState(run.kernel, proc), opts.export, out);
    if (opts.export === '-') return run.ok ? ExitCode.Ok : ExitCode.Problem;
  }
  if (opts.json) {
    out.json(runJson(run));
    return run.ok ? ExitCode.Ok : ExitCode.Problem;
  }
  return renderRun(run, heading, out);
}

/** Adds the machine override options shared by `run`, `demo` and `export`. */
export function machineOptions(cmd: Command): Command {
  return cmd
    .option('--board <id>', "run on this board instead: virt, rpi4b or pc (default: the scenario's)")
    .option(
      '--arch <mode>',
      "paging format: aarch64 on virt and rpi4b; x86_64, x86_64-la57, x86-pae or x86-32 on pc (default: the scenario's, else the board's)",
    )
    .option('--ram <size>', "RAM size such as 512M, 1G, 2GiB (default: the scenario's, else the board's)");
}

/** Registers `run` on `program`; the exit code of the body goes to `setExitCode`. */
export function registerRun(
  program: Command,
  out: () => Output,
  setExitCode: (code: number) => void,
): Command {
  const cmd = program
    .command('run')
    .summary('run a scenario file (JSON or YAML) and print its event log')
    .description(
      'Run a scenario (JSON or YAML steps: spawn, mmap, munmap, mprotect, mremap, brk, touch, read, write, fetch, ' +
        'copy-to-user, copy-from-user, fork, exec, exit, maps, dump) deterministically and print each step with the ' +
        'kernel events it caused. Exit 1 if the audit fails or a step does not meet its expectation.',
    )
    .argument('<scenario>', 'scenario file (.json, .yaml), or - for standard input');
  machineOptions(cmd)
    .option(
      '--export <file>',
      'write the translation state at the end (mmkit-translation-state/1) to a file (- for stdout)',
    )
    .option('--process <name>', 'with --export: the process to export (default: the last one still running)')
    .option('--pid <n>', 'with --export: the process to export, by pid')
    .option('--json', 'print one JSON document')
    .action(async (file: string, opts: RunCliOptions) => {
      const o = out();
      const scenario = await readScenario(file, o.io);
      setExitCode(await runCommand(scenario, file, opts, o, `mmkit run ${scenario.name ?? file}`));
    });
  cmd.options.find((o) => o.long === '--pid')?.conflicts('process');
  return cmd;
}
