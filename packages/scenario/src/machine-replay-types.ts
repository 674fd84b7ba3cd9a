/**
 * The public types of machine replay (`machine-replay.ts`): options, the in-memory trace, the
 * result and its timeline; the option checks and the small readers of kernel counters and events
 * that the replay shares.
 *
 * ## What is counted
 *
 * - `tlb.hits`/`tlb.misses`: an access is a hit when the CPU's TLB holds an entry for the page in
 *   the process's ASID (or a global one) that permits the access — the CPU's own hit test
 *   (`Cpu.translate`): a write to a clean page misses (the TLB caches write permission only for
 *   dirty leaves, as QEMU). A miss goes through the kernel's real path (`Cpu.translateSlow`: walk,
 *   fault handler, retry).
 * - `walks`: page-table walks = successful walks (each fills the TLB once) + walks that faulted.
 * - `faults`: faults the kernel handled (a fault that kills the process is not counted, as Linux's
 *   `mm_account_fault` skips `VM_FAULT_ERROR`). `major` comes from the process counters
 *   `majorFaults` (and `minor` from `minorFaults`) when the kernel keeps them (swap-in); without
 *   them every handled fault is minor and `major` is 0 (`faultCounters: 'handler'`).
 * - `cow`: the kernel's `cow` events (`copy`, `reuse`, `zero-page`, `zero-fill`).
 * - `swapIns`/`swapOuts`: the kernel's swap events (0 on a kernel that does not swap).
 * - `rssPages`: the replaying process's RSS (`Process.rssPages`, Linux `get_mm_rss`: anonymous,
 *   file and shmem pages; the shared zero page and device pages left out, so a read of untouched
 *   memory adds nothing and its first write adds one page). O(1) per sample. `peakRssPages` is the
 *   largest sample.
 */
import { InvalidArgumentError, type MmEvent } from '@mmkit/core';
import type { Process } from '@mmkit/kernel';

/** Default timeline resolution (accesses per sample). */
export const DEFAULT_SAMPLE_EVERY = 65536;
/** Access kinds by name, indexed by kind (0 read, 1 write, 2 fetch). */
export const ACCESS_NAMES = ['read', 'write', 'fetch'] as const;

/** An access kind by name. */
export type MachineAccessName = (typeof ACCESS_NAMES)[number];

/** Options of {@link replayOnMachine} and {@link createMachineReplay}. */
export interface MachineReplayOptions {
  /** Board id: `virt`, `rpi4b` or `pc`. */
  readonly board: string;
  /** Paging format (`ARCH_IDS`); default: the board's default. */
  readonly arch?: string;
  /** RAM in MiB (what the board accepts); default: the board's default. */
  readonly ramMiB?: number;
  /** TLB entries per CPU (a power of two, 1 … 2^20); default the kernel's (4096). */
  readonly tlbEntries?: number;
  /** Simulated CPUs (1 … 64, default 1); the process runs on CPU 0. */
  readonly cpus?: number;
  /** Timeline resolution: one sample every this many accesses (default 65536). */
  readonly sampleEvery?: number;
  /** Fork after this many accesses; the child replays the rest (default: no fork). */
  readonly fork?: number;
  /** Access kind of keys whose batch has no `kinds` (default `read`). */
  readonly defaultKind?: MachineAccessName;
  /** Verify every TLB hit against the page tables (the kernel's strict TLB mode; slower). */
  readonly strictTlb?: boolean;
  /** Called at each timeline sample (every `sampleEvery` accesses, and at the end) with the accesses replayed so far. */
  readonly onProgress?: (accesses: number) => void;
}

/** A trace held in memory with its access kinds (`kinds[i]`: 0 read, 1 write, 2 fetch). */
export interface MachineTrace {
  readonly pages: ArrayLike<number>;
  readonly kinds?: ArrayLike<number>;
}

/** Where one 2 MiB region of the trace was mapped. */
export interface MachineReplayRegion {
  /** First page number of the region in the trace. */
  readonly tracePage: number;
  /** First page number it was mapped at (equal to `tracePage` unless it had to move). */
  readonly page: number;
  /** Its permissions at the end, as /proc/PID/maps shows them (`r-x`, `rw-`, `rwx`). */
  readonly prot: string;
}

/** Cumulative counters sampled every `sampleEvery` accesses (and once at the end). */
export interface MachineReplayTimeline {
  readonly sampleEvery: number;
  /** Accesses replayed at each sample. */
  readonly accesses: number[];
  /** RSS of the replaying process (`Process.rssPages`: no zero-page or device pages). */
  readonly rssPages: number[];
  readonly tlbMisses: number[];
  readonly walks: number[];
  readonly minorFaults: number[];
  readonly majorFaults: number[];
  readonly cowCopies: number[];
  readonly swapIns: number[];
  readonly swapOuts: number[];
}

/** What a machine replay measured. */
export interface MachineReplayResult {
  readonly machine: {
    readonly board: string;
    readonly arch: string;
    readonly ramBytes: number;
    readonly cpus: number;
    readonly tlbEntries: number;
  };
  readonly accesses: number;
  readonly reads: number;
  readonly writes: number;
  readonly fetches: number;
  readonly tlb: { readonly hits: number; readonly misses: number; readonly hitRate: number };
  readonly walks: number;
  readonly faults: { readonly minor: number; readonly major: number; readonly total: number };
  /** `process` when minor/major came from the kernel's process counters, `handler` otherwise. */
  readonly faultCounters: 'process' | 'handler';
  readonly cow: {
    readonly copies: number;
    readonly reuses: number;
    readonly zeroPages: number;
    readonly zeroFills: number;
  };
  readonly swapIns: number;
  readonly swapOuts: number;
  readonly rssPages: number;
  readonly peakRssPages: number;
  /** Pid of the process that ran the trace's end (the child after a fork). */
  readonly pid: number;
  readonly forked: boolean;
  readonly regions: readonly MachineReplayRegion[];
  /** Set when the replay stopped early: at which access and why (the process was killed, …). */
  readonly stopped?: { readonly atAccess: number; readonly reason: string };
  readonly timeline: MachineReplayTimeline;
}

export function check(ok: boolean, what: string, value: unknown, expected: string): void {
  if (!ok) throw new InvalidArgumentError(what, value, expected);
}

function intIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** Process counters a kernel with swap keeps (read when present). */
interface FaultCounters {
  readonly minorFaults?: unknown;
  readonly majorFaults?: unknown;
}

export function counter(proc: Process, name: 'minorFaults' | 'majorFaults'): number | undefined {
  const a = (proc as unknown as FaultCounters)[name];
  if (typeof a === 'number') return a;
  const b = (proc.space as unknown as FaultCounters)[name];
  return typeof b === 'number' ? b : undefined;
}

/**
 * The direction of a swap event, if `e` is one: `swap` events with `action` `out`/`in` (or
 * `swap-out`/`swap-in`), as the kernel's swap module reports page I/O.
 */
export function swapDirection(e: MmEvent): 'in' | 'out' | undefined {
  const x = e as unknown as { type: string; action?: unknown };
  if (x.type === 'swap-in') return 'in';
  if (x.type === 'swap-out') return 'out';
  if (x.type !== 'swap') return undefined;
  if (x.action === 'in' || x.action === 'swap-in') return 'in';
  if (x.action === 'out' || x.action === 'swap-out') return 'out';
  return undefined;
}

/**
 * Checks {@link MachineReplayOptions} (all but the machine itself, which `resolveMachine` checks).
 * @throws InvalidArgumentError naming the first bad option.
 */
export function checkMachineReplayOptions(options: MachineReplayOptions): void {
  check(typeof options === 'object' && options !== null, 'machine replay options', options, 'an object');
  const o = options;
  check(typeof o.board === 'string', 'board', o.board, 'a board id: virt, rpi4b or pc');
  check(o.arch === undefined || typeof o.arch === 'string', 'arch', o.arch, 'a paging format id');
  check(o.ramMiB === undefined || intIn(o.ramMiB, 1, 2 ** 40), 'ramMiB', o.ramMiB, 'a whole number of MiB');
  check(
    o.tlbEntries === undefined ||
      (intIn(o.tlbEntries, 1, 2 ** 20) && (o.tlbEntries & (o.tlbEntries - 1)) === 0),
    'tlbEntries',
    o.tlbEntries,
    'a power of two from 1 to 2^20',
  );
  check(o.cpus === undefined || intIn(o.cpus, 1, 64), 'cpus', o.cpus, 'a whole number from 1 to 64');
  check(
    o.sampleEvery === undefined || intIn(o.sampleEvery, 1, 2 ** 40),
    'sampleEvery',
    o.sampleEvery,
    'a whole number of accesses ≥ 1',
  );
  check(
    o.fork === undefined || intIn(o.fork, 0, Number.MAX_SAFE_INTEGER),
    'fork',
    o.fork,
    'an access count ≥ 0',
  );
  check(
    o.defaultKind === undefined || (ACCESS_NAMES as readonly string[]).includes(o.defaultKind),
    'defaultKind',
    o.defaultKind,
    'read, write or fetch',
  );
  check(o.strictTlb === undefined || typeof o.strictTlb === 'boolean', 'strictTlb', o.strictTlb, 'a boolean');
  check(
    o.onProgress === undefined || typeof o.onProgress === 'function',
    'onProgress',
    o.onProgress,
    'a function',
  );
}
