/**
 * Working sets, page-fault frequency and thrash detection, per process, in process virtual time
 * (the user accesses the process made: `Process.accesses`, one increment per access).
 *
 * - **Working set** (Denning 1968): W(t, τ) is the set of distinct pages the process referenced
 *   in its last τ references, (t − τ, t]. A kernel cannot see every reference; it estimates W
 *   the way WSClock does (Carr & Hennessy 1981): every `sampleInterval` accesses it harvests the
 *   accessed flags of the process's resident leaves (`accessed-bits.ts`, with each
 *   architecture's TLB rule), records "last referenced at t" for each leaf found referenced and
 *   clears its flag (and invalidates the TLB entries, on every architecture: see
 *   `clearReferencedPages`); the estimate is the number of resident pages last referenced within the
 *   last τ (a huge leaf has one flag: all of its pages count). The simulator does see every
 *   reference, so with `exact` it also keeps the exact W(t, τ): a ring of the last τ page
 *   numbers and a count per page, O(1) per access (only when enabled).
 * - **Page-fault frequency** (Chu & Opderbeck 1972): faults per 1 000 accesses over each window
 *   of `pffWindow` accesses; above `pffUpper` the process needs more frames (`grow`), below
 *   `pffLower` it could give some back (`shrink`), in between `steady`.
 * - **Thrash detection**, the seed EYN-OS VMM's behaviour (seed `003_…`, "WORKING SET TRACKING &
 *   THRASHING AVOIDANCE": `vmm_should_throttle` with `THRASH_THRESHOLD` 50 and
 *   `FAULT_WINDOW_TICKS` 100, its page-fault handler's `fault_count++`): every user page fault
 *   counts; a process with more than `thrashThreshold` faults (default 50) within one window is
 *   thrashing — reported (a `thrashing` event, and in the statistics) so that a scheduler could
 *   throttle it, and its count starts again. The seed's window is 100 timer ticks (about one
 *   second); mmkit has no clock, so the window is `thrashWindow` accesses of process virtual
 *   time. The seed's code declares the window but never resets the count when a window ends
 *   without crossing the threshold (its `last_fault_tick` is commented out), so any process
 *   would eventually cross it; mmkit follows the comment's intent and starts every window
 *   afresh. The seed counts every fault its handler sees; so does mmkit, except software
 *   Access flag faults (AArch64 with TCR_EL1.HA = 0): they only re-set AF after the sampler
 *   cleared it, are not a sign of memory pressure, and the seed's x86 never takes them.
 *   The seed's `vmm_update_working_set` (count the present user PTEs with A set, clear A) is the
 *   sampler's harvest above.
 *
 * Cost: nothing is allocated or tracked unless the kernel's `workingSet` option is on; then each
 * access costs one comparison (and the exact ring's update in exact mode), and the sampling, PFF
 * and thrash work runs once per interval. Sampling clears accessed flags, so it competes with
 * page reclaim for them (as Linux's idle-page tracking does); a kernel running both would keep a
 * software "young" bit (Linux `folio_test_young`) — not done here.
 */
import { Fault, type LeafRef } from '@mmkit/core';
import { clearPageReferencedInto } from './accessed-bits.js';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import type { Process } from './process.js';
import { invalidArgument } from './syscalls.js';

/** Options of working-set, PFF and thrash tracking (the kernel's `workingSet` option). */
export interface WorkingSetOptions {
  /** Denning's window τ, in accesses of process virtual time (default 1 000). */
  readonly tau?: number;
  /** Accesses between two harvests of the accessed flags (default 100). */
  readonly sampleInterval?: number;
  /** Also keep the exact W(t, τ) (a ring of the last τ page numbers; default false). */
  readonly exact?: boolean;
  /** Accesses per page-fault-frequency window (default 1 000). */
  readonly pffWindow?: number;
  /** Faults per 1 000 accesses above which PFF advises `grow` (default 50). */
  readonly pffUpper?: number;
  /** Faults per 1 000 accesses below which PFF advises `shrink` (default 10). */
  readonly pffLower?: number;
  /** Accesses per thrash-detection window (default 1 000; the seed's window is 100 ticks). */
  readonly thrashWindow?: number;
  /** A process with more faults than this in one window is thrashing (default 50, the seed's). */
  readonly thrashThreshold?: number;
}

/** {@link WorkingSetOptions} with every default filled in. */
export type ResolvedWorkingSetOptions = Required<WorkingSetOptions>;

/** Largest τ: the exact ring takes 8 bytes per reference of the window. */
const MAX_TAU = 2 ** 22;
const MAX_WINDOW = 2 ** 40;

/**
 * Checks a value for the kernel's `workingSet` option and fills in the defaults: `true` for the
 * defaults, an object to set some, `false`/undefined for off (returns undefined). What
 * `bootKernel` does with the option; exported so that a caller (a scenario file's validator) can
 * refuse a bad value before booting.
 * @throws InvalidArgumentError naming the first bad field and what it must be.
 */
export function resolveWorkingSetOptions(value: unknown): ResolvedWorkingSetOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value !== true && (value === null || typeof value !== 'object' || Array.isArray(value)))
    throw invalidArgument('workingSet', value, 'true, false or an options object { tau, sampleInterval, … }');
  const o = (value === true ? {} : value) as Record<string, unknown>;
  const known = [
    'tau',
    'sampleInterval',
    'exact',
    'pffWindow',
    'pffUpper',
    'pffLower',
    'thrashWindow',
    'thrashThreshold',
  ];
  for (const key of Object.keys(o))
    if (!known.includes(key)) throw invalidArgument('workingSet option', key, `one of ${known.join(', ')}`);
  const int = (key: string, def: number, min: number, max: number): number => {
    const v = o[key] ?? def;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw invalidArgument(`workingSet.${key}`, v, `an integer from ${min} to ${max}`);
    return v;
  };
  const exact = o.exact ?? false;
  if (typeof exact !== 'boolean') throw invalidArgument('workingSet.exact', exact, 'true or false');
  const pffUpper = int('pffUpper', 50, 0, 1000);
  const pffLower = int('pffLower', 10, 0, 1000);
  if (pffLower > pffUpper)
    throw invalidArgument('workingSet.pffLower', pffLower, `at most pffUpper (${pffUpper})`);
  return {
    tau: int('tau', 1000, 1, MAX_TAU),
    sampleInterval: int('sampleInterval', 100, 1, MAX_WINDOW),
    exact,
    pffWindow: int('pffWindow', 1000, 1, MAX_WINDOW),
    pffUpper,
    pffLower,
    thrashWindow: int('thrashWindow', 1000, 1, MAX_WINDOW),
    thrashThreshold: int('thrashThreshold', 50, 0, MAX_WINDOW),
  };
}

/** What page-fault frequency advises for a process's frame allocation. */
export type PffAdvice = 'grow' | 'shrink' | 'steady';

/** A process's working set (see {@link Kernel.workingSet}). */
export interface WorkingSetStats {
  readonly pid: number;
  /** Denning's τ, in accesses. */
  readonly tau: number;
  /** Accesses between two harvests of the accessed flags. */
  readonly sampleInterval: number;
  /** Process virtual time: accesses made so far. */
  readonly virtualTime: number;
  /** Harvests done so far. */
  readonly samples: number;
  /** Virtual time of the last harvest (0 before the first). */
  readonly sampledAt: number;
  /** Estimated |W(t, τ)| in pages, as of the last harvest (resident pages referenced within τ). */
  readonly estimatedPages: number;
  /** Resident pages at the last harvest. */
  readonly residentPages: number;
  /** Exact |W(t, τ)| now (distinct pages of the last τ references), when exact tracking is on. */
  readonly exactPages?: number;
}

/** Page faults of a process (see {@link Kernel.faultStats}). */
export interface FaultStats {
  readonly pid: number;
  /** Process virtual time: user accesses made so far (loads, stores, fetches; one per page of a multi-byte access). */
  readonly accesses: number;
  /** Page faults taken (every kind). */
  readonly faults: number;
  /** Faults counted by the kernel's resolution (`demand-zero heap page`, `access flag set`, …). */
  readonly byResolution: Readonly<Record<string, number>>;
  /** Page-fault frequency, when tracking is on. */
  readonly pff?: {
    /** Accesses per window. */
    readonly window: number;
    readonly upper: number;
    readonly lower: number;
    /** Windows completed. */
    readonly windows: number;
    /** Faults per 1 000 accesses in the last completed window (0 before the first). */
    readonly faultRate: number;
    /** The advice of the last completed window (`steady` before the first). */
    readonly advice: PffAdvice;
  };
  /** Thrash detection (the seed's), when tracking is on. */
  readonly thrashing?: {
    /** Accesses per window. */
    readonly window: number;
    /** More faults than this in one window is thrashing. */
    readonly threshold: number;
    /** Faults so far in the current window. */
    readonly windowFaults: number;
    /** Windows that crossed the threshold. */
    readonly detections: number;
    /** Whether the last completed window crossed it. */
    readonly thrashing: boolean;
  };
}

/**
 * @internal The tracking state of one process (created with it when the kernel's `workingSet`
 * option is on). The kernel calls {@link onAccess} before each access and {@link onFault} for
 * each fault.
 */
export class WorkingSetTracker {
  /** Faults that count for PFF and thrash detection (all but software Access flag faults). */
  faults = 0;
  /** The next virtual time at which a harvest or a window end is due. */
  private due: number;
  private nextSample: number;
  private pffEnd: number;
  private pffStartFaults = 0;
  private thrashEnd: number;
  private thrashStartFaults = 0;
  // Exact W(t, τ): ring of the last τ page numbers and the count of each page in it.
  private readonly ring: Float64Array | undefined;
  private readonly counts: Map<number, number> | undefined;
  private ringPos = 0;
  private ringFilled = 0;
  // Sampled estimate.
  private lastRef = new Map<number, number>();
  samples = 0;
  sampledAt = 0;
  estimatedPages = 0;
  residentPages = 0;
  // PFF and thrash results.
  pffWindows = 0;
  pffRate = 0;
  pffAdvice: PffAdvice = 'steady';
  detections = 0;
  thrashing = false;

  constructor(readonly options: ResolvedWorkingSetOptions) {
    this.nextSample = options.sampleInterval;
    this.pffEnd = options.pffWindow;
    this.thrashEnd = options.thrashWindow;
    this.due = Math.min(this.nextSample, this.pffEnd, this.thrashEnd);
    if (options.exact) {
      this.ring = new Float64Array(options.tau);
      this.counts = new Map();
    }
  }

  /** Faults counted so far in the current thrash-detection window. */
  get windowFaults(): number {
    return this.faults - this.thrashStartFaults;
  }

  /** Exact |W(t, τ)| (undefined unless exact tracking is on). */
  get exactPages(): number | undefined {
    return this.counts?.size;
  }

  /** Called before access number `proc.accesses` (already counted) to page `vpn`. */
  onAccess(k: KernelContext, proc: Process, vpn: number): void {
    const ring = this.ring;
    if (ring !== undefined) this.record(ring, vpn);
    if (proc.accesses >= this.due) this.tick(k, proc, proc.accesses);
  }

  private record(ring: Float64Array, vpn: number): void {
    const counts = this.counts!;
    const pos = this.ringPos;
    if (this.ringFilled === ring.length) {
      const old = ring[pos]!;
      const c = counts.get(old)!;
      if (c === 1) counts.delete(old);
      else counts.set(old, c - 1);
    } else this.ringFilled++;
    ring[pos] = vpn;
    counts.set(vpn, (counts.get(vpn) ?? 0) + 1);
    this.ringPos = pos + 1 === ring.length ? 0 : pos + 1;
  }

  private tick(k: KernelContext, proc: Process, t: number): void {
    const o = this.options;
    if (t >= this.nextSample) {
      this.sample(k, proc, t);
      this.nextSample = t + o.sampleInterval;
    }
    if (t >= this.pffEnd) {
      const faults = this.faults - this.pffStartFaults;
      this.pffRate = (faults * 1000) / o.pffWindow;
      this.pffAdvice = this.pffRate > o.pffUpper ? 'grow' : this.pffRate < o.pffLower ? 'shrink' : 'steady';
      this.pffWindows++;
      this.pffStartFaults = this.faults;
      this.pffEnd = t + o.pffWindow;
    }
    if (t >= this.thrashEnd) {
      const faults = this.faults - this.thrashStartFaults;
      // Seed 003 `vmm_should_throttle`: strictly more than the threshold.
      this.thrashing = faults > o.thrashThreshold;
      if (this.thrashing) {
        this.detections++;
        if (k.events.active)
          k.events.emit({
            type: 'thrashing',
            pid: proc.pid,
            faults,
            window: o.thrashWindow,
            faultRate: (faults * 1000) / o.thrashWindow,
            threshold: o.thrashThreshold,
          });
      }
      this.thrashStartFaults = this.faults;
      this.thrashEnd = t + o.thrashWindow;
    }
    this.due = Math.min(this.nextSample, this.pffEnd, this.thrashEnd);
  }

  /** Harvests the accessed flags of every resident leaf of `proc` at virtual time `t`. */
  sample(k: KernelContext, proc: Process, t: number): void {
    const space = proc.space;
    const tau = this.options.tau;
    const old = this.lastRef;
    const next = new Map<number, number>();
    const referenced: number[] = [];
    let resident = 0;
    let estimate = 0;
    if (space.root !== 0) {
      const { userStartVpn, userEndVpn } = k.bounds;
      const entryPages = k.arch.geometry.entryPages;
      k.editor.forEachLeaf({ root: space.root, startVpn: userStartVpn, endVpn: userEndVpn }, (l: LeafRef) => {
        const pages = entryPages[l.level]!;
        resident += pages;
        let last = old.get(l.vpn);
        if (l.attrs.accessed) {
          referenced.push(l.vpn);
          last = t;
        }
        if (last === undefined) return;
        next.set(l.vpn, last);
        if (last > t - tau) estimate += pages;
      });
    }
    clearReferencedPages(k, space, referenced);
    this.lastRef = next;
    this.samples++;
    this.sampledAt = t;
    this.estimatedPages = estimate;
    this.residentPages = resident;
    if (k.events.active)
      k.events.emit({
        type: 'working-set',
        pid: proc.pid,
        sizePages: estimate,
        tau,
        residentPages: resident,
        ...(this.counts !== undefined ? { exactPages: this.counts.size } : {}),
      });
  }
}

/**
 * Clears the accessed flags of `vpns` in `space` and invalidates their TLB entries, on every
 * architecture (one obligation for all of them; ASID-wide above the flush threshold). Unlike
 * reclaim's x86 rule (no flush: `accessed-bits.ts`), the estimate needs the next reference to
 * set the flag again: otherwise a page kept in the TLB would look idle forever. The seed, on
 * x86 without PCIDs, gets the same effect from the CR3 load of every context switch; mmkit has
 * no scheduler, so the harvest invalidates.
 */
function clearReferencedPages(k: KernelContext, space: AddressSpace, vpns: readonly number[]): void {
  if (vpns.length === 0) return;
  const flush = k.editor.newFlush({ asid: space.asid, threshold: k.flushThreshold });
  for (const vpn of vpns) clearPageReferencedInto(k, space, vpn, flush, true);
  k.discharge(flush);
}

/** @internal Counts a fault of `proc` (every fault; `kind` is the walk's fault kind). */
export function countFault(proc: Process, kind: number, resolution: string): void {
  proc.faults++;
  const m = proc.faultsByResolution;
  m.set(resolution, (m.get(resolution) ?? 0) + 1);
  const t = proc.tracker;
  if (t !== undefined && kind !== Fault.AccessFlag) t.faults++;
}

/** @internal The working set of `proc`, or undefined when tracking is off. */
export function workingSetOf(proc: Process): WorkingSetStats | undefined {
  const t = proc.tracker;
  if (t === undefined) return undefined;
  const exact = t.exactPages;
  return {
    pid: proc.pid,
    tau: t.options.tau,
    sampleInterval: t.options.sampleInterval,
    virtualTime: proc.accesses,
    samples: t.samples,
    sampledAt: t.sampledAt,
    estimatedPages: t.estimatedPages,
    residentPages: t.residentPages,
    ...(exact !== undefined ? { exactPages: exact } : {}),
  };
}

/** @internal The fault statistics of `proc`. */
export function faultStatsOf(proc: Process): FaultStats {
  const t = proc.tracker;
  const o = t?.options;
  return {
    pid: proc.pid,
    accesses: proc.accesses,
    faults: proc.faults,
    byResolution: Object.fromEntries(proc.faultsByResolution),
    ...(t && o
      ? {
          pff: {
            window: o.pffWindow,
            upper: o.pffUpper,
            lower: o.pffLower,
            windows: t.pffWindows,
            faultRate: t.pffRate,
            advice: t.pffAdvice,
          },
          thrashing: {
            window: o.thrashWindow,
            threshold: o.thrashThreshold,
            windowFaults: t.windowFaults,
            detections: t.detections,
            thrashing: t.thrashing,
          },
        }
      : {}),
  };
}
