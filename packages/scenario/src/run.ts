/**
 * Running a scenario: boots the board with the paging backend, executes the steps in order and
 * records an ordered event log (each step's start, the kernel's events — frames allocated and
 * freed, mappings, faults with their real syndromes, TLB maintenance, process changes — and the
 * step's result). Deterministic: the same scenario gives the same log.
 *
 * `start` gives a stepper (a UI steps it); `runScenario` runs it to the end. What the kernel does
 * is never an exception: an errno, a kill, or a misuse the kernel refuses (a name whose mmap
 * failed, a process that has exited) becomes the step's result. Only a scenario that does not
 * validate throws ({@link ScenarioError}).
 */

import type { Board } from '@mmkit/boards';
import type { ArchBackend, MmEvent } from '@mmkit/core';
import { isMmError } from '@mmkit/core';
import {
  audit,
  bootKernel,
  dumpPageTable,
  exportTranslationState,
  type FaultStats,
  formatDump,
  type Kernel,
  MADV,
  MAP,
  MLOCK,
  MREMAP,
  madviseName,
  type Process,
  type WorkingSetStats,
} from '@mmkit/kernel';
import { type ArchId, createBackend } from './arch-registry.js';
import { resolveMachine } from './machine.js';
import type { Scenario, ScenarioStep, SizeExpr, StepOp } from './types.js';
import { type LAYOUT_SYMBOLS, validateScenario } from './validate.js';
import { parseAddress, parseHexBytes, parseNumber, parseProt, parseSizeExpr } from './values.js';

/** Overrides and hooks of a run. */
export interface ScenarioOptions {
  /** Run on this board instead of the scenario's (`virt`, `rpi4b`, `pc`). */
  readonly board?: string;
  /** Run with this paging format instead of the scenario's. */
  readonly arch?: string;
  /** Run with this RAM size instead of the scenario's. */
  readonly ram?: SizeExpr;
  /** The scenario's file name, for error messages. */
  readonly source?: string;
  /** Called at each phase (boot, every step, audit), e.g. for a progress bar. */
  readonly onProgress?: (progress: ScenarioProgress) => void;
}

/** Where a run is: `done` of `total` units (boot is one, each step one, the audit one). */
export interface ScenarioProgress {
  readonly phase: 'boot' | 'step' | 'audit';
  readonly done: number;
  readonly total: number;
  /**
   * Inside boot and the audit, the kernel's own report (`KernelOptions.onProgress`, `audit`'s
   * `onProgress`): its phase (`frame table`, `reverse map`, …, `audit`) and `done` of `total`
   * (boot phases; frames audited).
   */
  readonly detail?: { readonly phase: string; readonly done: number; readonly total: number };
}

/** One entry of the ordered event log. */
export type ScenarioEvent =
  | {
      readonly type: 'step';
      readonly index: number;
      readonly op: StepOp;
      readonly title: string | undefined;
      /** The step in words: `mmap init 3 pages rw- as buf`. */
      readonly summary: string;
    }
  | { readonly type: 'mm'; readonly index: number; readonly event: MmEvent }
  | { readonly type: 'result'; readonly index: number; readonly status: string; readonly outcome: string };

/** What a step did. */
export interface StepRecord {
  /** 0-based position in `steps`. */
  readonly index: number;
  readonly step: ScenarioStep;
  readonly title: string | undefined;
  readonly summary: string;
  /**
   * `ok`; an errno (`EFAULT`, `ENOMEM`, `EINVAL` …); `killed: <reason>` when the access killed the
   * process; or `error` when the kernel refused the step as misuse (the outcome says why).
   */
  readonly status: string;
  /** The result in one line. */
  readonly outcome: string;
  /** The value a read, mmap, mremap or brk returned. */
  readonly value?: bigint | number | string;
  /** `maps` and `dump` steps: the lines they recorded. */
  readonly lines?: readonly string[];
  /** `dump` steps: the registers that select the process's tables. */
  readonly registers?: Readonly<Record<string, string>>;
  /** The step's `expect`/`equals` and whether the run met it. */
  readonly expectation?: { readonly expected: string; readonly met: boolean };
  /** The kernel's events during the step, in order. */
  readonly events: readonly MmEvent[];
  /** The strict TLB checker's verdict on the step; absent when the scenario runs with `strictTlb: false`. */
  readonly tlbCheck?: TlbCheck;
}

/**
 * The strict TLB checker's verdict on one step. Strict mode tracks every flush obligation (a
 * translation removed or downgraded owes TLB maintenance) and checks every TLB hit against the
 * tables.
 */
export interface TlbCheck {
  /**
   * `discharged`: every flush obligation the step created was discharged (or explicitly ignored)
   * and no access used a stale TLB entry; `undischarged`: the step ended with obligations neither
   * discharged nor ignored (`UndischargedFlushError`, E_UNDISCHARGED_FLUSH); `stale`: an access
   * hit a TLB entry the tables no longer justify (`StaleTlbError`, E_STALE_TLB).
   */
  readonly verdict: 'discharged' | 'undischarged' | 'stale';
  /** TLB maintenance operations the step performed (its `tlb` events: TLBI, INVLPG, INVPCID, CR3 writes). */
  readonly maintenance: number;
  /** The checker's message, for a failing verdict. */
  readonly detail?: string;
}

/** The machine a scenario runs on, as words and numbers. */
export interface ScenarioMachineInfo {
  readonly board: { readonly id: string; readonly name: string; readonly ramBytes: number };
  readonly arch: { readonly id: string; readonly name: string };
  readonly cpus: number;
}

/** A scenario in progress, one step at a time. */
export interface ScenarioStepper {
  readonly scenario: Scenario;
  readonly kernel: Kernel;
  readonly board: Board;
  readonly arch: ArchBackend;
  readonly machine: ScenarioMachineInfo;
  /** Processes by the names the steps gave them (`as`), including exited and killed ones. */
  readonly processes: ReadonlyMap<string, Process>;
  /** Addresses by name: layout symbols and the results of mmap/mremap steps. */
  readonly symbols: ReadonlyMap<string, bigint>;
  /** The ordered event log so far. */
  readonly events: readonly ScenarioEvent[];
  /** The steps run so far. */
  readonly steps: readonly StepRecord[];
  /** Index of the next step. */
  readonly next: number;
  /** True when every step has run. */
  readonly done: boolean;
  /** Runs the next step and returns its record (undefined when done). */
  step(): StepRecord | undefined;
  /** Runs the remaining steps, audits the kernel and returns the run. */
  finish(): ScenarioRun;
}

/** A finished run. */
export interface ScenarioRun extends Omit<ScenarioStepper, 'step' | 'finish' | 'next' | 'done'> {
  readonly frames: {
    /** Free frames right after boot. */
    readonly baseline: number;
    /** Free frames at the end. */
    readonly final: number;
    /** Frames the allocator manages. */
    readonly total: number;
    /** Page-table frames of the kernel's own address space. */
    readonly kernelTables: number;
  };
  readonly audit: { readonly ok: boolean; readonly problems: readonly string[] };
  /** Unmet expectations (`expect`, `equals`), one line each. */
  readonly problems: readonly string[];
  /** True when the audit is clean and every expectation was met. */
  readonly ok: boolean;
  /**
   * Per named process (alive or ended): its accesses and page faults by resolution, and with
   * the `workingSet` option its page-fault frequency, thrash detection and working set.
   */
  readonly stats: Readonly<Record<string, ScenarioProcessStats>>;
}

/** What {@link ScenarioRun.stats} holds for one process. */
export interface ScenarioProcessStats {
  readonly faults: FaultStats;
  /** Present with the `workingSet` option. */
  readonly workingSet?: WorkingSetStats;
}

// A tiny AArch64 program: mov x0, #42; ret (its bytes are only ever fetched, never run).
const DEFAULT_TEXT = new Uint8Array([0x40, 0x05, 0x80, 0xd2, 0xc0, 0x03, 0x5f, 0xd6]);
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function hx(v: bigint | number): string {
  return `0x${v.toString(16).toUpperCase()}`;
}

/** Bytes as a quoted string when they are printable UTF-8, else as hex. */
function showBytes(bytes: Uint8Array): string {
  try {
    const s = dec.decode(bytes);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: printable check
    if (!/[\u0000-\u0008\u000e-\u001f\u007f]/.test(s)) return JSON.stringify(s);
  } catch {
    // not UTF-8: hex below
  }
  return `0x${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

class Failure {
  constructor(
    readonly status: string,
    readonly outcome: string,
  ) {}
}

/**
 * Validates `scenario`, boots its machine and returns a stepper.
 * @throws ScenarioError if the scenario does not validate or names a board, paging format or RAM
 *   size that does not exist (`field` says which; the options' overrides are checked the same way).
 */
export function start(scenario: Scenario, options: ScenarioOptions = {}): ScenarioStepper {
  const s = validateScenario(scenario, { source: options.source, line: () => undefined });
  const machine = resolveMachine(
    options.board ?? s.board,
    options.arch ?? (options.board !== undefined && options.board !== s.board ? undefined : s.arch),
    options.ram ?? (options.board !== undefined && options.board !== s.board ? undefined : s.ram),
    options.source,
  );
  return new Stepper(s, machine.board, machine.arch, options);
}

/**
 * Runs a scenario to the end: {@link start}, every step, then `audit()`.
 * @throws ScenarioError as {@link start}.
 */
export function runScenario(scenario: Scenario, options: ScenarioOptions = {}): ScenarioRun {
  return start(scenario, options).finish();
}

class Stepper implements ScenarioStepper {
  readonly kernel: Kernel;
  readonly arch: ArchBackend;
  readonly machine: ScenarioMachineInfo;
  readonly processes = new Map<string, Process>();
  readonly symbols = new Map<string, bigint>();
  readonly events: ScenarioEvent[] = [];
  readonly steps: StepRecord[] = [];
  next = 0;
  private current: MmEvent[] = [];
  private readonly failedNames = new Map<string, string>();
  private readonly total: number;

  constructor(
    readonly scenario: Scenario,
    readonly board: Board,
    archId: ArchId,
    private readonly options: ScenarioOptions,
  ) {
    this.total = scenario.steps.length + 2;
    options.onProgress?.({ phase: 'boot', done: 0, total: this.total });
    this.arch = createBackend(archId);
    const o = scenario.options ?? {};
    const onProgress = options.onProgress;
    this.kernel = bootKernel({
      arch: this.arch,
      machine: board,
      ...(onProgress === undefined
        ? {}
        : {
            onProgress: (phase: string, done: number, total: number) =>
              onProgress({ phase: 'boot', done: 0, total: this.total, detail: { phase, done, total } }),
          }),
      cpus: scenario.cpus ?? 2,
      strictTlb: o.strictTlb ?? true,
      ...(o.tlbEntries === undefined ? {} : { tlbEntries: o.tlbEntries }),
      ...(o.flushThreshold === undefined ? {} : { flushThreshold: o.flushThreshold }),
      ...(o.fork === undefined ? {} : { fork: o.fork }),
      ...(o.zeroPage === undefined ? {} : { zeroPage: o.zeroPage }),
      ...(o.oomKiller === undefined ? {} : { oomKiller: o.oomKiller }),
      ...(o.workingSet === undefined ? {} : { workingSet: o.workingSet }),
      ...(o.swapReadahead === undefined ? {} : { swapReadahead: o.swapReadahead }),
      ...(o.reclaimPolicy === undefined ? {} : { reclaimPolicy: o.reclaimPolicy }),
      ...(o.watermarks === undefined ? {} : { watermarks: o.watermarks }),
      ...(o.autoReclaim === undefined ? {} : { autoReclaim: o.autoReclaim }),
    });
    this.kernel.events.on((e) => {
      this.current.push(e);
      this.events.push({ type: 'mm', index: this.next, event: e });
    });
    const L = this.kernel.layout;
    const wild =
      0xdead_beef_000n < L.stackGuardLow ? 0xdead_beef_000n : ((L.heapBase + L.stackGuardLow) / 2n) & ~0xfffn;
    const layout: Record<keyof typeof LAYOUT_SYMBOLS, bigint> = {
      text: L.textBase,
      data: L.dataBase,
      heap: L.heapBase,
      'stack-top': L.stackTop,
      'stack-low': L.stackLow,
      'stack-guard': L.stackGuardLow,
      wild,
    };
    for (const [k, v] of Object.entries(layout)) this.symbols.set(k, v);
    this.machine = {
      board: {
        id: board.id,
        name: board.name,
        ramBytes: board.ram.reduce((n, r) => n + (r.end - r.start), 0),
      },
      arch: { id: this.arch.description.id, name: this.arch.description.name },
      cpus: this.kernel.cpus.length,
    };
    options.onProgress?.({ phase: 'boot', done: 1, total: this.total });
  }

  get done(): boolean {
    return this.next >= this.scenario.steps.length;
  }

  step(): StepRecord | undefined {
    if (this.done) return undefined;
    const index = this.next;
    const step = this.scenario.steps[index]!;
    const summary = summarize(step);
    this.events.push({ type: 'step', index, op: step.op, title: step.title, summary });
    this.current = [];
    let result: Omit<StepRecord, 'index' | 'step' | 'title' | 'summary' | 'events' | 'expectation'>;
    let checkError: { code: string; message: string } | undefined;
    try {
      result = this.exec(step);
    } catch (e) {
      if (e instanceof Failure) result = { status: e.status, outcome: e.outcome };
      else if (isMmError(e)) {
        result = { status: 'error', outcome: e.message };
        checkError = { code: e.code, message: e.message };
      } else throw e;
    }
    const strict = this.scenario.options?.strictTlb ?? true;
    const maintenance = this.current.filter((e) => e.type === 'tlb').length;
    const tlbCheck: TlbCheck | undefined = !strict
      ? undefined
      : checkError?.code === 'E_UNDISCHARGED_FLUSH'
        ? { verdict: 'undischarged', maintenance, detail: checkError.message }
        : checkError?.code === 'E_STALE_TLB'
          ? { verdict: 'stale', maintenance, detail: checkError.message }
          : { verdict: 'discharged', maintenance };
    const expectation = this.expectation(step, result);
    const record: StepRecord = {
      index,
      step,
      title: step.title,
      summary,
      ...result,
      ...(expectation ? { expectation } : {}),
      events: this.current,
      ...(tlbCheck ? { tlbCheck } : {}),
    };
    this.events.push({ type: 'result', index, status: record.status, outcome: record.outcome });
    this.steps.push(record);
    this.next++;
    this.options.onProgress?.({ phase: 'step', done: this.next + 1, total: this.total });
    return record;
  }

  finish(): ScenarioRun {
    while (!this.done) this.step();
    // The audit walks every frame (tens of seconds on a 1 TiB board): say so before it starts.
    this.options.onProgress?.({ phase: 'audit', done: this.total - 1, total: this.total });
    const onProgress = this.options.onProgress;
    const report = audit(
      this.kernel,
      onProgress === undefined
        ? {}
        : {
            onProgress: (phase, done, total) =>
              onProgress({
                phase: 'audit',
                done: this.total - 1,
                total: this.total,
                detail: { phase, done, total },
              }),
          },
    );
    this.options.onProgress?.({ phase: 'audit', done: this.total, total: this.total });
    const problems = this.steps
      .filter((r) => r.expectation && !r.expectation.met)
      .map(
        (r) =>
          `step ${r.index + 1} (${r.summary}): expected ${r.expectation!.expected}, got ${r.status === 'ok' && r.value !== undefined ? show(r.value) : r.status}`,
      );
    const k = this.kernel;
    return {
      scenario: this.scenario,
      kernel: k,
      board: this.board,
      arch: this.arch,
      machine: this.machine,
      processes: this.processes,
      symbols: this.symbols,
      events: this.events,
      steps: this.steps,
      frames: {
        baseline: k.baselineFree,
        final: k.allocator.freeCount,
        total: k.allocator.totalCount,
        kernelTables: report.tableFrames,
      },
      audit: { ok: report.ok, problems: report.problems },
      problems,
      ok: report.ok && problems.length === 0,
      stats: Object.fromEntries(
        [...this.processes].map(([name, p]) => {
          const ws = k.workingSet(p);
          return [name, { faults: k.faultStats(p), ...(ws ? { workingSet: ws } : {}) }];
        }),
      ),
    };
  }

  private expectation(
    step: ScenarioStep,
    r: { status: string; value?: bigint | number | string },
  ): StepRecord['expectation'] {
    const parts: string[] = [];
    let met = true;
    if (step.expect !== undefined) {
      const want = step.expect.trim();
      parts.push(want);
      met &&= want === 'killed' ? r.status.startsWith('killed') : r.status === want.replace(/:\s*/, ': ');
    }
    if (
      (step.op === 'read' || step.op === 'copy-from-user') &&
      'equals' in step &&
      step.equals !== undefined
    ) {
      const want = step.equals;
      parts.push(`value ${typeof want === 'string' ? JSON.stringify(want) : hx(want)}`);
      const n = parseNumber(want);
      if (r.status !== 'ok') met = false;
      else if (typeof r.value === 'string')
        met &&= r.value === JSON.stringify(String(want)) || r.value === String(want);
      else met &&= n !== undefined && r.value !== undefined && BigInt(r.value) === n;
    }
    if (step.op === 'mincore' && step.equals !== undefined) {
      parts.push(`residency ${step.equals}`);
      met &&= r.status === 'ok' && r.value === step.equals;
    }
    return parts.length ? { expected: parts.join(', '), met } : undefined;
  }

  private proc(name: string): Process {
    const p = this.processes.get(name);
    if (!p)
      throw new Failure('error', `process ${JSON.stringify(name)} does not exist (its spawn or fork failed)`);
    if (!p.alive) throw new Failure('error', `process ${name} (pid ${p.pid}) is ${p.state}`);
    return p;
  }

  private addr(expr: unknown): bigint {
    const a = parseAddress(expr)!;
    if (a.base === undefined) return a.offset;
    const base = this.symbols.get(a.base);
    if (base === undefined)
      throw new Failure(
        'error',
        `name ${JSON.stringify(a.base)} has no address: ${this.failedNames.get(a.base) ?? 'its step failed'}`,
      );
    const v = base + a.offset;
    if (v < 0n || v >= 1n << 64n)
      throw new Failure('error', `address ${String(expr)} = ${v} is outside 0 … 2^64`);
    return v;
  }

  private size(expr: unknown): bigint {
    return parseSizeExpr(expr, this.kernel.bounds.pageBytes)!;
  }

  private define(name: string | undefined, value: bigint | undefined, why: string): void {
    if (name === undefined) return;
    if (value === undefined) {
      this.symbols.delete(name);
      this.failedNames.set(name, why);
    } else this.symbols.set(name, value);
  }

  private exec(
    step: ScenarioStep,
  ): Omit<StepRecord, 'index' | 'step' | 'title' | 'summary' | 'events' | 'expectation'> {
    const k = this.kernel;
    const killed = (r: { killed: string; signal?: string }, p: Process) =>
      new Failure(
        `killed: ${r.killed}`,
        `pid ${p.pid} killed: ${r.killed}${r.signal ? ` (${r.signal})` : ''}`,
      );
    switch (step.op) {
      case 'spawn': {
        const text = step.text === undefined ? DEFAULT_TEXT : parseHexBytes(step.text)!;
        const r = k.spawn({ text });
        if (!r.ok) throw new Failure(r.errno, `spawn failed: ${r.errno}`);
        const p = r.process;
        this.processes.set(step.as, p);
        return {
          status: 'ok',
          outcome: `${step.as} is pid ${p.pid} (ASID ${p.asid}): ${p.residentPages} pages resident, ${p.tablePages} page-table pages`,
          value: p.pid,
        };
      }
      case 'fork': {
        const parent = this.proc(step.process);
        const r = k.fork(parent);
        if (!r.ok) throw new Failure(r.errno, `fork failed: ${r.errno}`);
        this.processes.set(step.as, r.process);
        return {
          status: 'ok',
          outcome: `${step.as} is pid ${r.process.pid} (ASID ${r.process.asid}), a copy of ${step.process}: ${r.process.residentPages} pages resident`,
          value: r.process.pid,
        };
      }
      case 'exec': {
        const p = this.proc(step.process);
        const r = k.exec(p, { text: step.text === undefined ? DEFAULT_TEXT : parseHexBytes(step.text)! });
        if (!r.ok) throw new Failure(r.errno, `exec failed: ${r.errno} (${r.detail})`);
        return {
          status: 'ok',
          outcome: `pid ${p.pid} runs a new image: ${p.residentPages} pages resident, ${p.tablePages} page-table pages`,
        };
      }
      case 'exit': {
        const p = this.proc(step.process);
        k.exit(p);
        return {
          status: 'ok',
          outcome: `pid ${p.pid} exited; ${k.allocator.freeCount} frames free (baseline ${k.baselineFree})`,
        };
      }
      case 'oomScoreAdj': {
        const p = this.proc(step.process);
        const r = k.setOomScoreAdj(p, step.value);
        if (!r.ok) throw new Failure(r.errno, `${r.errno} (${r.detail})`);
        return {
          status: 'ok',
          outcome: `oom_score_adj ${step.value}; oom_score ${k.oomScore(p)}`,
        };
      }
      case 'mmap': {
        const p = this.proc(step.process);
        const flags = new Set(step.flags ?? []);
        let f = (flags.has('shared') ? MAP.SHARED : MAP.PRIVATE) | MAP.ANONYMOUS;
        if (flags.has('fixed')) f |= MAP.FIXED;
        if (flags.has('fixed-noreplace')) f |= MAP.FIXED_NOREPLACE;
        if (flags.has('populate')) f |= MAP.POPULATE;
        if (flags.has('growsdown')) f |= MAP.GROWSDOWN;
        const name = step.name ?? step.as;
        const r = k.mmap(
          p,
          step.addr === undefined ? 0 : this.addr(step.addr),
          this.size(step.length),
          parseProt(step.prot)!,
          f,
          name === undefined ? {} : { name },
        );
        if (!r.ok) {
          this.define(step.as, undefined, `its mmap failed with ${r.errno}`);
          throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        }
        this.define(step.as, r.value, '');
        return { status: 'ok', outcome: `${step.as ?? 'mapped'} = ${hx(r.value)}`, value: r.value };
      }
      case 'munmap': {
        const r = k.munmap(this.proc(step.process), this.addr(step.addr), this.size(step.length));
        if (!r.ok) throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        return { status: 'ok', outcome: 'unmapped' };
      }
      case 'mprotect': {
        const p = this.proc(step.process);
        const r = k.mprotect(p, this.addr(step.addr), this.size(step.length), parseProt(step.prot)!);
        if (!r.ok) throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        return { status: 'ok', outcome: `now ${step.prot}; ${k.vmas(p).length} VMAs` };
      }
      case 'mremap': {
        const r = k.mremap(
          this.proc(step.process),
          this.addr(step.addr),
          this.size(step.length),
          this.size(step.newLength),
          step.mayMove ? MREMAP.MAYMOVE : 0,
        );
        if (!r.ok) {
          this.define(step.as, undefined, `its mremap failed with ${r.errno}`);
          throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        }
        this.define(step.as, r.value, '');
        return { status: 'ok', outcome: `${step.as ?? 'remapped'} = ${hx(r.value)}`, value: r.value };
      }
      case 'madvise': {
        const p = this.proc(step.process);
        const advice = MADV[step.advice.replace('-', '_').toUpperCase() as keyof typeof MADV];
        const r = k.madvise(p, this.addr(step.addr), this.size(step.length), advice);
        if (!r.ok) throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        return { status: 'ok', outcome: `${madviseName(advice)}; ${p.residentPages} pages resident` };
      }
      case 'mincore': {
        const r = k.mincore(this.proc(step.process), this.addr(step.addr), this.size(step.length));
        if (!r.ok) throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        const bits = [...r.value].map((b) => b & 1).join('');
        const n = r.value.reduce((sum, b) => sum + (b & 1), 0);
        return { status: 'ok', outcome: `resident ${bits} (${n} of ${r.value.length} pages)`, value: bits };
      }
      case 'mlock': {
        const p = this.proc(step.process);
        const addr = this.addr(step.addr);
        const len = this.size(step.length);
        const r = step.onFault ? k.mlock2(p, addr, len, MLOCK.ONFAULT) : k.mlock(p, addr, len);
        if (!r.ok) throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        const st = k.memoryStats(p);
        return {
          status: 'ok',
          // "pages resident" is the PTE count of every other step (Process.residentPages), not
          // RSS (memoryStats().rssPages, which leaves out the zero page).
          outcome: `locked${step.onFault ? ' on fault' : ''}; VmLck ${(st.lockedPages * k.bounds.pageBytes) / 1024} kB, ${p.residentPages} pages resident`,
        };
      }
      case 'munlock': {
        const p = this.proc(step.process);
        const r = k.munlock(p, this.addr(step.addr), this.size(step.length));
        if (!r.ok) throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        return {
          status: 'ok',
          outcome: `unlocked; VmLck ${(k.memoryStats(p).lockedPages * k.bounds.pageBytes) / 1024} kB`,
        };
      }
      case 'brk': {
        const p = this.proc(step.process);
        const want = this.addr(step.to);
        const got = k.brk(p, want);
        // brk(2) returns the new break, or the old one when it refuses (Linux): ENOMEM in words.
        if (got !== want) throw new Failure('ENOMEM', `brk stays at ${hx(got)} (asked for ${hx(want)})`);
        return { status: 'ok', outcome: `break = ${hx(got)}; ${p.residentPages} pages resident`, value: got };
      }
      case 'touch': {
        const p = this.proc(step.process);
        const page = BigInt(k.bounds.pageBytes);
        const start = this.addr(step.addr);
        const end = start + (step.length === undefined ? page : this.size(step.length));
        let pages = 0;
        for (let va = start; va < end; va = (va / page + 1n) * page) {
          const r = k.load(p, va, 1, step.cpu ?? 0);
          if (!r.ok) throw killed(r, p);
          if (step.write) {
            const w = k.store(p, va, 1, r.value, step.cpu ?? 0);
            if (!w.ok) throw killed(w, p);
          }
          pages++;
        }
        return { status: 'ok', outcome: `${pages} pages touched; ${p.residentPages} pages resident` };
      }
      case 'read': {
        const p = this.proc(step.process);
        const va = this.addr(step.addr);
        if (step.length !== undefined) {
          const r = k.readUser(p, va, Number(this.size(step.length)), step.cpu ?? 0);
          if (!r.ok) throw killed(r, p);
          const text = showBytes(r.value);
          return { status: 'ok', outcome: `reads ${text}`, value: text };
        }
        const r = k.load(p, va, step.size ?? 8, step.cpu ?? 0);
        if (!r.ok) throw killed(r, p);
        return { status: 'ok', outcome: `reads ${hx(r.value)}`, value: r.value };
      }
      case 'write': {
        const p = this.proc(step.process);
        const va = this.addr(step.addr);
        if (step.text !== undefined) {
          const r = k.writeUser(p, va, enc.encode(step.text), step.cpu ?? 0);
          if (!r.ok) throw killed(r, p);
          return { status: 'ok', outcome: `wrote ${JSON.stringify(step.text)}` };
        }
        const v = parseNumber(step.value);
        if (v === undefined)
          throw new Failure('error', `value ${JSON.stringify(step.value)} is not a number`);
        const size = step.size ?? 8;
        if (size < 8 && v >= 1n << BigInt(size * 8))
          throw new Failure('error', `value ${hx(v)} does not fit in ${size} bytes`);
        const r = k.store(p, va, size, size === 8 ? v : Number(v), step.cpu ?? 0);
        if (!r.ok) throw killed(r, p);
        return { status: 'ok', outcome: `wrote ${hx(v)}` };
      }
      case 'fetch': {
        const p = this.proc(step.process);
        const r = k.fetch(p, this.addr(step.addr), step.size ?? 4, step.cpu ?? 0);
        if (!r.ok) throw killed(r, p);
        return { status: 'ok', outcome: `fetched ${hx(r.value)}`, value: r.value };
      }
      case 'copy-to-user': {
        const r = k.copyToUser(
          this.proc(step.process),
          this.addr(step.addr),
          enc.encode(step.text),
          step.cpu ?? 0,
        );
        if (!r.ok) throw new Failure(r.errno, `${r.errno} (the process lives on)`);
        return { status: 'ok', outcome: `copied ${JSON.stringify(step.text)}` };
      }
      case 'copy-from-user': {
        const r = k.copyFromUser(
          this.proc(step.process),
          this.addr(step.addr),
          Number(this.size(step.length)),
          step.cpu ?? 0,
        );
        if (!r.ok) throw new Failure(r.errno, `${r.errno} (the process lives on)`);
        const text = showBytes(r.value);
        return { status: 'ok', outcome: `copied ${text}`, value: text };
      }
      case 'maps': {
        const lines = k.procMaps(this.proc(step.process)).trimEnd().split('\n');
        return { status: 'ok', outcome: `${lines.length} VMAs`, lines };
      }
      case 'swapon': {
        const pages = Math.floor(Number(this.size(step.size)) / 4096);
        const r = k.swapon({
          pages,
          ...(step.priority === undefined ? {} : { priority: step.priority }),
          ...(step.name === undefined ? {} : { name: step.name }),
        });
        if (!r.ok) throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        const d = r.value;
        return {
          status: 'ok',
          outcome: `swap type ${d.type} (${d.name}): ${d.usablePages} slots (slot 0 is the header), priority ${d.priority}`,
          value: d.type,
        };
      }
      case 'swapoff': {
        const r = k.swapoff(step.type);
        if (!r.ok) throw new Failure(r.errno, `${r.errno}: ${r.detail}`);
        return { status: 'ok', outcome: `swap type ${step.type} removed; its pages are back in memory` };
      }
      case 'reclaim': {
        const n = k.reclaim(step.pages);
        const usage = k.swapDevices.map((d) => `${d.name} ${d.usedPages}/${d.usablePages}`).join(', ');
        return {
          status: 'ok',
          outcome: `${n} page${n === 1 ? '' : 's'} swapped out (${usage || 'no swap device'}); ${k.allocator.freeCount} frames free`,
          value: n,
        };
      }
      case 'dump': {
        const p = this.proc(step.process);
        const entries = dumpPageTable(k, p);
        const registers = { ...exportTranslationState(k, p).registers };
        return {
          status: 'ok',
          outcome: `${entries.length} entries over ${p.tablePages} tables`,
          lines: formatDump(entries),
          registers,
        };
      }
      case 'drop-flushes': {
        // A broken kernel on purpose: every path that owes TLB maintenance goes through
        // Kernel.discharge, so a no-op there leaves each obligation open (and the entries stale).
        k.discharge = () => {};
        return {
          status: 'ok',
          outcome: `the kernel now skips TLB maintenance${(this.scenario.options?.strictTlb ?? true) ? ': the strict TLB checker will report it' : ' (strictTlb is off: nothing will report it)'}`,
        };
      }
    }
  }
}

function show(v: bigint | number | string): string {
  return typeof v === 'string' ? v : hx(v);
}

/** A step in words, as logs show it. */
export function summarize(step: ScenarioStep): string {
  const a = (v: unknown) => (typeof v === 'bigint' || typeof v === 'number' ? hx(v) : String(v));
  const n = (v: unknown) => String(v);
  switch (step.op) {
    case 'spawn':
      return `spawn ${step.as}`;
    case 'fork':
      return `fork ${step.process} as ${step.as}`;
    case 'exec':
      return `exec ${step.process}`;
    case 'exit':
      return `exit ${step.process}`;
    case 'mmap':
      return `mmap ${step.process} ${n(step.length)} ${step.prot}${step.addr === undefined ? '' : ` at ${a(step.addr)}`}${step.flags?.length ? ` ${step.flags.join(',')}` : ''}${step.as ? ` as ${step.as}` : ''}`;
    case 'munmap':
      return `munmap ${step.process} ${a(step.addr)} ${a(step.length)}`;
    case 'mprotect':
      return `mprotect ${step.process} ${a(step.addr)} ${a(step.length)} ${step.prot}`;
    case 'mremap':
      return `mremap ${step.process} ${a(step.addr)} ${a(step.length)} → ${a(step.newLength)}${step.mayMove ? ' maymove' : ''}${step.as ? ` as ${step.as}` : ''}`;
    case 'madvise':
      return `madvise ${step.process} ${a(step.addr)} ${a(step.length)} ${step.advice}`;
    case 'mincore':
      return `mincore ${step.process} ${a(step.addr)} ${a(step.length)}`;
    case 'mlock':
      return `mlock${step.onFault ? '2 (onfault)' : ''} ${step.process} ${a(step.addr)} ${a(step.length)}`;
    case 'munlock':
      return `munlock ${step.process} ${a(step.addr)} ${a(step.length)}`;
    case 'brk':
      return `brk ${step.process} ${a(step.to)}`;
    case 'touch':
      return `touch ${step.process} ${a(step.addr)}${step.length === undefined ? '' : ` ${n(step.length)}`}${step.write ? ' write' : ''}`;
    case 'read':
      return `read ${step.process} ${a(step.addr)}${step.length === undefined ? ` ${step.size ?? 8} bytes` : ` ${n(step.length)} bytes as text`}${step.cpu ? ` on cpu ${step.cpu}` : ''}`;
    case 'write':
      return `write ${step.process} ${a(step.addr)} ${step.text !== undefined ? JSON.stringify(step.text) : `${a(step.value)} (${step.size ?? 8} bytes)`}${step.cpu ? ` on cpu ${step.cpu}` : ''}`;
    case 'fetch':
      return `fetch ${step.process} ${a(step.addr)}`;
    case 'copy-to-user':
      return `copy_to_user ${step.process} ${a(step.addr)} ${JSON.stringify(step.text)}`;
    case 'copy-from-user':
      return `copy_from_user ${step.process} ${a(step.addr)} ${n(step.length)} bytes`;
    case 'oomScoreAdj':
      return `oom_score_adj of ${step.process} = ${step.value}`;
    case 'maps':
      return `/proc/${step.process}/maps`;
    case 'dump':
      return `page tables of ${step.process}`;
    case 'drop-flushes':
      return 'drop flush obligations (a broken kernel)';
    case 'swapon':
      return `swapon ${n(step.size)}${step.priority === undefined ? '' : ` priority ${step.priority}`}${step.name ? ` as ${step.name}` : ''}`;
    case 'swapoff':
      return `swapoff type ${step.type}`;
    case 'reclaim':
      return `reclaim ${step.pages} pages`;
  }
}
