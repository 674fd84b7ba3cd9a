/**
 * Machine replay: a memory trace runs as one process's accesses on a booted board — its CPU's
 * TLB, the backend's page-table walker, the kernel's fault handler (demand paging, the shared zero
 * page, copy-on-write, and whatever reclaim and swap the kernel does) — and reports what the
 * machine did: TLB hits and misses, walks, page faults, COW copies, swap I/O and RSS, with a
 * timeline sampled every `sampleEvery` accesses. Browser-safe (no Node built-ins).
 *
 * ## The process and its layout
 *
 * The trace's keys are 4 KiB page numbers (`address >> 12`, what `@mmkit/replay`'s readers
 * produce), each with an access kind (read, write, instruction fetch: the batches' `kinds`, e.g.
 * lackey with `accessKinds: true`; `defaultKind` for a source without kinds). The process starts
 * as `Kernel.createProcess()` makes it (a stack VMA, nothing else) and gets its mappings from the
 * trace, the way a program's loader and allocator would have made them:
 *
 * - The trace's address space is cut in aligned 2 MiB **regions** (512 pages). The first access
 *   to a region creates one anonymous private mapping of the whole region with
 *   `mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)` at the trace's own address, so the
 *   replayed addresses are the traced ones. Where that fails (the address is past this format's
 *   user space — a 64-bit trace on 32-bit x86 —, or overlaps the stack VMA), and for the region at
 *   address 0 (below `mmap_min_addr`, where Linux refuses a fixed mapping), the region is placed
 *   where `mmap` without a hint puts it (top-down) and every page of it is shifted by the same
 *   amount: its layout inside the region is kept.
 * - Permissions follow the first access: an instruction fetch makes the region `r-x` (text), a
 *   read or a write makes it `rw-` (data). When a later access needs more (a store into a region
 *   that was text, a fetch from data — small programs keep text and data in one 2 MiB region), the
 *   region is `mprotect`ed to add it before the access (`rwx` at most), as a JIT or a loader
 *   would. So no access of a valid trace is refused; every fault the kernel sees is one a program
 *   with that layout would take.
 * - With `fork: n`, after `n` accesses the process forks (copy-on-write) and the **child** runs the
 *   rest of the trace while the parent keeps its pages: the child's first write to every page the
 *   parent had written copies it (COW copies), a written zero page gives way to a fresh frame.
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
 * - `rssPages`: the replaying process's resident pages (`Process.residentPages`).
 *
 * The hot loop allocates nothing and uses no BigInt: a region lookup (a direct-mapped cache of
 * typed arrays in front of a Map) and the TLB's hit test are a few typed-array reads.
 */

import {
  type AccessKind,
  type ArchBackend,
  InvalidArgumentError,
  type MmEvent,
  Privilege,
  permBit,
} from '@mmkit/core';
import { bootKernel, type Cpu, type Kernel, MAP, PROT, type Process, protString } from '@mmkit/kernel';
import type { TraceBatch, TraceSource } from '@mmkit/replay';
import { type ArchId, createBackend } from './arch-registry.js';
import { resolveMachine } from './machine.js';

/** Pages per region (2 MiB of 4 KiB pages); see the module documentation. */
export const MACHINE_REPLAY_REGION_PAGES = 512;
const REGION_BYTES = MACHINE_REPLAY_REGION_PAGES * 4096;
const REGION_CACHE = 256;
const INV_REGION_PAGES = 1 / MACHINE_REPLAY_REGION_PAGES;
const DEFAULT_SAMPLE_EVERY = 65536;
const ACCESS_NAMES = ['read', 'write', 'fetch'] as const;
/**
 * The permission bit of each access kind, for a region and for the TLB's user permissions alike
 * (`permBit(kind, Privilege.User)` = 1 << kind); 0 for anything that is not 0, 1 or 2, so such a
 * value always fails the region check (and is then refused).
 */
const KIND_BIT = new Uint8Array(256);
for (const kind of [0, 1, 2] as const) KIND_BIT[kind] = permBit(kind, Privilege.User);

/** What {@link MachineReplay}'s `rareAccess` did: go on, or stop (the access counted, or not). */
const RARE_NEXT = 0;
const RARE_KILLED = 1;
const RARE_NO_ROOM = 2;
type RareOutcome = typeof RARE_NEXT | typeof RARE_KILLED | typeof RARE_NO_ROOM;

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
  /** Resident pages of the replaying process. */
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

interface Region {
  readonly tracePage: number;
  readonly page: number;
  prot: number;
}

function check(ok: boolean, what: string, value: unknown, expected: string): void {
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

function counter(proc: Process, name: 'minorFaults' | 'majorFaults'): number | undefined {
  const a = (proc as unknown as FaultCounters)[name];
  if (typeof a === 'number') return a;
  const b = (proc.space as unknown as FaultCounters)[name];
  return typeof b === 'number' ? b : undefined;
}

/**
 * The direction of a swap event, if `e` is one: `swap` events with `action` `out`/`in` (or
 * `swap-out`/`swap-in`), as the kernel's swap module reports page I/O.
 */
function swapDirection(e: MmEvent): 'in' | 'out' | undefined {
  const x = e as unknown as { type: string; action?: unknown };
  if (x.type === 'swap-in') return 'in';
  if (x.type === 'swap-out') return 'out';
  if (x.type !== 'swap') return undefined;
  if (x.action === 'in' || x.action === 'swap-in') return 'in';
  if (x.action === 'out' || x.action === 'swap-out') return 'out';
  return undefined;
}

/**
 * A machine replay in progress: feed it accesses ({@link MachineReplay.feed}), read the result
 * ({@link MachineReplay.result}). {@link replayOnMachine} is the one-call form. The kernel and the
 * process are public for inspection (audit, page-table export).
 */
export class MachineReplay {
  /** The booted kernel. */
  readonly kernel: Kernel;
  /** The backend. */
  readonly arch: ArchBackend;
  /** The CPU the process runs on (CPU 0). */
  readonly cpu: Cpu;
  private proc: Process;
  private readonly pids = new Set<number>();
  private readonly regions = new Map<number, Region>();
  private readonly rTag = new Float64Array(REGION_CACHE).fill(-1);
  private readonly rDelta = new Float64Array(REGION_CACHE);
  private readonly rAllow = new Uint8Array(REGION_CACHE);
  /** The hit memo of {@link segment}, by access kind (256 entries: any byte indexes it; NaN = none). */
  private readonly memo = new Float64Array(256).fill(Number.NaN);
  private readonly sampleEvery: number;
  private readonly forkAt: number;
  private readonly defaultKind: AccessKind;
  private readonly onProgress: ((accesses: number) => void) | undefined;
  private readonly machineInfo: MachineReplayResult['machine'];
  private readonly tl: MachineReplayTimeline;
  private accesses = 0;
  private readonly kindCounts = [0, 0, 0];
  private hits = 0;
  private misses = 0;
  private fills0: number;
  private faultCount = 0;
  private cowCounts = { copies: 0, reuses: 0, zeroPages: 0, zeroFills: 0 };
  private swapIns = 0;
  private swapOuts = 0;
  private peakRss = 0;
  private untilSample: number;
  private forked = false;
  /** Counters of the parent at the fork (Linux zeroes a child's min_flt/maj_flt). */
  private parentMinor = 0;
  private parentMajor = 0;
  private stoppedAt: { atAccess: number; reason: string } | undefined;

  /**
   * Boots the board and creates the process.
   * @throws ScenarioError (field board, arch or ram) for a machine that does not exist;
   *   InvalidArgumentError for any other bad option, naming it.
   */
  constructor(options: MachineReplayOptions) {
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
    check(
      o.strictTlb === undefined || typeof o.strictTlb === 'boolean',
      'strictTlb',
      o.strictTlb,
      'a boolean',
    );
    check(
      o.onProgress === undefined || typeof o.onProgress === 'function',
      'onProgress',
      o.onProgress,
      'a function',
    );
    const machine = resolveMachine(o.board, o.arch, o.ramMiB === undefined ? undefined : `${o.ramMiB}M`);
    this.arch = createBackend(machine.arch as ArchId);
    check(
      this.arch.description.pageShift === 12,
      'arch',
      machine.arch,
      'a paging format with 4 KiB pages (trace keys are 4 KiB page numbers)',
    );
    this.kernel = bootKernel({
      arch: this.arch,
      machine: machine.board,
      cpus: o.cpus ?? 1,
      strictTlb: o.strictTlb ?? false,
      ...(o.tlbEntries === undefined ? {} : { tlbEntries: o.tlbEntries }),
    });
    this.cpu = this.kernel.cpus[0]!;
    this.sampleEvery = o.sampleEvery ?? DEFAULT_SAMPLE_EVERY;
    this.untilSample = this.sampleEvery;
    this.forkAt = o.fork ?? -1;
    this.defaultKind = ACCESS_NAMES.indexOf(o.defaultKind ?? 'read') as AccessKind;
    this.onProgress = o.onProgress;
    this.machineInfo = {
      board: machine.board.id,
      arch: machine.arch,
      ramBytes: machine.board.ram.reduce((n, r) => n + (r.end - r.start), 0),
      cpus: this.kernel.cpus.length,
      tlbEntries: this.cpu.tlb.size,
    };
    this.tl = {
      sampleEvery: this.sampleEvery,
      accesses: [],
      rssPages: [],
      tlbMisses: [],
      walks: [],
      minorFaults: [],
      majorFaults: [],
      cowCopies: [],
      swapIns: [],
      swapOuts: [],
    };
    this.kernel.events.on((e) => this.onEvent(e));
    this.proc = this.kernel.createProcess();
    this.pids.add(this.proc.pid);
    this.cpu.switchTo(this.proc);
    this.fills0 = this.cpu.tlb.fills;
    if (this.forkAt === 0) this.doFork();
  }

  /** The process running the trace now (the child after a fork). */
  get process(): Process {
    return this.proc;
  }

  /** True once the replay stopped early (the process was killed, or a region found no room). */
  get stopped(): boolean {
    return this.stoppedAt !== undefined;
  }

  private onEvent(e: MmEvent): void {
    if (e.type === 'fault') {
      if (this.pids.has(e.pid) && !e.resolution.startsWith('killed')) this.faultCount++;
    } else if (e.type === 'cow') {
      if (!this.pids.has(e.pid)) return;
      if (e.action === 'copy') this.cowCounts.copies++;
      else if (e.action === 'reuse') this.cowCounts.reuses++;
      else if (e.action === 'zero-page') this.cowCounts.zeroPages++;
      else this.cowCounts.zeroFills++;
    } else {
      const d = swapDirection(e);
      if (d === 'in') this.swapIns++;
      else if (d === 'out') this.swapOuts++;
    }
  }

  private doFork(): void {
    const f = this.kernel.fork(this.proc);
    if (!f.ok) {
      this.stoppedAt = { atAccess: this.accesses, reason: `fork failed: ${f.errno}` };
      return;
    }
    this.parentMinor = counter(this.proc, 'minorFaults') ?? 0;
    this.parentMajor = counter(this.proc, 'majorFaults') ?? 0;
    this.proc = f.process;
    this.pids.add(this.proc.pid);
    this.forked = true;
    this.cpu.switchTo(this.proc);
  }

  /**
   * Replays `pages[start, end)` (4 KiB page numbers) with access kinds `kinds[start, end)` (or
   * `defaultKind` for every one when `kinds` is undefined). Returns false once the replay has
   * stopped (the rest of the trace is ignored).
   * @throws InvalidArgumentError for a page that is not an integer in [0, 2^52) or a kind other
   *   than 0, 1, 2, named by its position in the whole trace (checked at no extra cost: such a
   *   value always fails the region lookup); the accesses before it were replayed.
   */
  feed(
    pages: ArrayLike<number>,
    kinds: ArrayLike<number> | undefined,
    start = 0,
    end = pages.length,
  ): boolean {
    let i = start;
    while (i < end) {
      if (this.stoppedAt) return false;
      if (this.accesses === this.forkAt && !this.forked) {
        this.doFork();
        if (this.stoppedAt) return false;
      }
      // One segment: up to the next sample, and up to the fork.
      let stop = Math.min(end, i + this.untilSample);
      if (!this.forked && this.forkAt > this.accesses)
        stop = Math.min(stop, i + (this.forkAt - this.accesses));
      i = this.segment(pages, kinds, i, stop);
      if (this.stoppedAt) {
        this.sample();
        return false;
      }
      if (this.untilSample === 0) this.sample();
    }
    return !this.stoppedAt;
  }

  /**
   * The hot loop over `pages[i, stop)`: returns where it stopped (`stop`, just after an access
   * that killed the process, or at a region that found no room). Locals only; the counters go
   * back to the fields once per segment (also when a bad value throws).
   *
   * Without strict mode an access first checks the **hit memo**: `memo[kind]` is the last trace
   * page of that kind known to pass the region check and the TLB hit test. A page equal to it is
   * a hit with nothing else read: the memo is set only right after the full test passed (or a
   * miss's fill left an entry that passes it), and every memo is forgotten before anything that
   * can change the region cache or the TLB (a region miss, the slow path) — between them only
   * hits run, and a hit changes nothing. So a memo hit is exactly what the full test would say.
   */
  private segment(
    pages: ArrayLike<number>,
    kinds: ArrayLike<number> | undefined,
    i: number,
    stop: number,
  ): number {
    if (this.cpu.strict) return this.segmentStrict(pages, kinds, i, stop);
    if (kinds === undefined) return this.segmentOneKind(pages, i, stop);
    const rTag = this.rTag;
    const rDelta = this.rDelta;
    const rAllow = this.rAllow;
    const memo = this.memo;
    const tlb = this.cpu.tlb;
    const tv = tlb.vpn;
    const ta = tlb.asid;
    const tg = tlb.global;
    const tp = tlb.perms;
    const tmask = tlb.mask | 0;
    const asid = this.proc.asid | 0;
    // The hit memo, one local per kind (NaN: none; a bad kind reads NaN too).
    let m0 = Number.NaN;
    let m1 = Number.NaN;
    let m2 = Number.NaN;
    for (;;) {
      // The hits: no call, no field write; the first access that is not one leaves the loop.
      const from = i;
      let nWrite = 0;
      let nFetch = 0;
      for (; i < stop; i++) {
        const page = pages[i]!;
        const kind = kinds[i]!;
        if ((kind === 2 ? m2 : kind === 0 ? m0 : kind === 1 ? m1 : Number.NaN) !== page) {
          const region = Math.floor(page * INV_REGION_PAGES); // exact: a power of two
          const ci = region & (REGION_CACHE - 1);
          // The kind's bit: the region's permission bit and the TLB's user permission bit alike
          // (permBit(kind, user) = 1 << kind); 0 for a bad kind, which then fails the region check.
          const bit = KIND_BIT[kind]!;
          if (rTag[ci] !== region || (rAllow[ci]! & bit) === 0) break;
          const vpn = page + rDelta[ci]!;
          const ti = (vpn >>> 0) & tmask;
          // The CPU's hit test (Cpu.translate): same page, the ASID or a global entry, the bit.
          if (tv[ti] !== vpn || (ta[ti] !== asid && tg[ti] !== 1) || (tp[ti]! & bit) === 0) break;
          if (kind === 2) m2 = page;
          else if (kind === 0) m0 = page;
          else m1 = page;
        }
        // Branch-free kind counts (reads are the rest): kind is 0, 1 or 2 past the tests.
        nWrite += kind & 1;
        nFetch += kind >> 1;
      }
      this.count(i - from, 0, nWrite, nFetch);
      if (i === stop) return i;
      // A region miss or a TLB miss: the one place where the region cache and the TLB change.
      const rare = this.rareAccess(pages[i]!, kinds[i]!);
      if (rare !== RARE_NEXT) return rare === RARE_KILLED ? i + 1 : i;
      m0 = memo[0]!;
      m1 = memo[1]!;
      m2 = memo[2]!;
      i++;
    }
  }

  /** {@link segment} for a source without kinds: every access is `defaultKind` (one memo). */
  private segmentOneKind(pages: ArrayLike<number>, i: number, stop: number): number {
    const rTag = this.rTag;
    const rDelta = this.rDelta;
    const rAllow = this.rAllow;
    const tlb = this.cpu.tlb;
    const tv = tlb.vpn;
    const ta = tlb.asid;
    const tg = tlb.global;
    const tp = tlb.perms;
    const tmask = tlb.mask | 0;
    const asid = this.proc.asid | 0;
    const kind = this.defaultKind;
    const bit = KIND_BIT[kind]!;
    let memo = Number.NaN;
    for (;;) {
      const from = i;
      for (; i < stop; i++) {
        const page = pages[i]!;
        if (page === memo) continue;
        const region = Math.floor(page * INV_REGION_PAGES);
        const ci = region & (REGION_CACHE - 1);
        if (rTag[ci] !== region || (rAllow[ci]! & bit) === 0) break;
        const vpn = page + rDelta[ci]!;
        const ti = (vpn >>> 0) & tmask;
        if (tv[ti] !== vpn || (ta[ti] !== asid && tg[ti] !== 1) || (tp[ti]! & bit) === 0) break;
        memo = page;
      }
      const n = i - from;
      this.count(n, 0, kind === 1 ? n : 0, kind === 2 ? n : 0);
      if (i === stop) return i;
      const rare = this.rareAccess(pages[i]!, kind);
      if (rare !== RARE_NEXT) return rare === RARE_KILLED ? i + 1 : i;
      memo = this.memo[kind]!;
      i++;
    }
  }

  /**
   * One access of {@link segment} that is not a plain hit: maps or widens its region when the
   * region cache says so, then tests the TLB and takes the slow path on a miss. Forgets the hit
   * memo first (this is where the region cache and the TLB change), sets it again when the access
   * leaves an entry that passes the hit test. Counts the access unless its region found no room.
   * @throws InvalidArgumentError for a bad page or kind (named by its position, nothing counted).
   */
  private rareAccess(page: number, kind: number): RareOutcome {
    const memo = this.memo;
    memo[0] = memo[1] = memo[2] = Number.NaN;
    const region = Math.floor(page * INV_REGION_PAGES);
    const ci = region & (REGION_CACHE - 1);
    const bit = KIND_BIT[kind]!;
    if (this.rTag[ci] !== region || (this.rAllow[ci]! & bit) === 0) {
      if (!this.regionMiss(page, kind as AccessKind, ci, this.accesses)) return RARE_NO_ROOM;
    }
    const vpn = page + this.rDelta[ci]!;
    const cpu = this.cpu;
    const proc = this.proc;
    const w = kind & 1;
    const f = kind >> 1;
    if (this.hitTest(vpn, bit)) {
      memo[kind] = page;
      this.count(1, 0, w, f);
      return RARE_NEXT;
    }
    this.count(0, 1, w, f);
    if (cpu.translateSlow(proc, vpn, 0, 1, kind as AccessKind, Privilege.User, false) < 0) {
      this.killed(proc, this.accesses);
      return RARE_KILLED;
    }
    if (this.hitTest(vpn, bit)) memo[kind] = page;
    return RARE_NEXT;
  }

  /** The CPU's TLB hit test (`Cpu.translate`) for a user access whose permission bit is `bit`. */
  private hitTest(vpn: number, bit: number): boolean {
    const tlb = this.cpu.tlb;
    const ti = (vpn >>> 0) & tlb.mask;
    return (
      tlb.vpn[ti] === vpn &&
      (tlb.asid[ti] === this.proc.asid || tlb.global[ti] === 1) &&
      (tlb.perms[ti]! & bit) !== 0
    );
  }

  private count(hits: number, misses: number, nWrite: number, nFetch: number): void {
    this.accesses += hits + misses;
    this.untilSample -= hits + misses;
    this.hits += hits;
    this.misses += misses;
    this.kindCounts[0]! += hits + misses - nWrite - nFetch;
    this.kindCounts[1]! += nWrite;
    this.kindCounts[2]! += nFetch;
  }

  private killed(proc: Process, atAccess: number): void {
    this.stoppedAt = {
      atAccess,
      reason: `process ${proc.pid} killed: ${proc.killReason ?? 'unknown'}${proc.killSignal ? ` (${proc.killSignal.signal} ${proc.killSignal.code})` : ''}`,
    };
  }

  /** {@link segment} in strict TLB mode: every access takes the slow path (which verifies hits). */
  private segmentStrict(
    pages: ArrayLike<number>,
    kinds: ArrayLike<number> | undefined,
    i: number,
    stop: number,
  ): number {
    const rTag = this.rTag;
    const rDelta = this.rDelta;
    const rAllow = this.rAllow;
    const cpu = this.cpu;
    const tlb = cpu.tlb;
    const proc = this.proc;
    const def = this.defaultKind;
    let hits = 0;
    let misses = 0;
    let nWrite = 0;
    let nFetch = 0;
    try {
      for (; i < stop; i++) {
        const page = pages[i]!;
        const kind = (kinds === undefined ? def : kinds[i]!) as AccessKind;
        const region = Math.floor(page * INV_REGION_PAGES);
        const ci = region & (REGION_CACHE - 1);
        const bit = KIND_BIT[kind]!;
        if (rTag[ci] !== region || (rAllow[ci]! & bit) === 0) {
          if (!this.regionMiss(page, kind, ci, this.accesses + hits + misses)) return i;
        }
        const vpn = page + rDelta[ci]!;
        nWrite += kind & 1;
        nFetch += kind >> 1;
        const fills = tlb.fills;
        if (cpu.translateSlow(proc, vpn, 0, 1, kind, Privilege.User, false) < 0) {
          misses++;
          this.killed(proc, this.accesses + hits + misses);
          return i + 1;
        }
        // A hit is an access that filled nothing.
        if (tlb.fills === fills) hits++;
        else misses++;
      }
      return i;
    } finally {
      this.count(hits, misses, nWrite, nFetch);
    }
  }

  /** Maps the region of `page` or widens its permissions; false (replay stopped) when that fails. */
  private regionMiss(page: number, kind: AccessKind, ci: number, position: number): boolean {
    if (!(Number.isInteger(page) && page >= 0 && page < 2 ** 52)) {
      throw new InvalidArgumentError(
        `trace[${position}]`,
        page,
        'a 4 KiB page number: an integer in [0, 2^52)',
      );
    }
    if (kind !== 0 && kind !== 1 && kind !== 2) {
      throw new InvalidArgumentError(`kinds[${position}]`, kind, '0 (read), 1 (write) or 2 (fetch)');
    }
    const index = Math.floor(page / MACHINE_REPLAY_REGION_PAGES);
    const want = kind === 2 ? PROT.READ | PROT.EXEC : PROT.READ | PROT.WRITE;
    let r = this.regions.get(index);
    const k = this.kernel;
    if (r === undefined) {
      const tracePage = index * MACHINE_REPLAY_REGION_PAGES;
      const flags = MAP.PRIVATE | MAP.ANONYMOUS;
      // Region 0 holds address 0, below mmap_min_addr: Linux refuses a fixed mapping there
      // (security_mmap_addr → EPERM), so it is always placed by mmap.
      let got =
        index === 0
          ? undefined
          : k.mmap(this.proc, BigInt(tracePage) * 4096n, REGION_BYTES, want, flags | MAP.FIXED_NOREPLACE);
      if (!got?.ok) got = k.mmap(this.proc, 0, REGION_BYTES, want, flags);
      if (!got.ok) {
        this.stoppedAt = {
          atAccess: position,
          reason: `no room for the 2 MiB region at 0x${(tracePage * 4096).toString(16)}: mmap ${got.errno}`,
        };
        return false;
      }
      r = { tracePage, page: Number(got.value / 4096n), prot: want };
      this.regions.set(index, r);
    } else if ((r.prot & want) !== want) {
      const prot = r.prot | want;
      const res = k.mprotect(this.proc, BigInt(r.page) * 4096n, REGION_BYTES, prot);
      if (!res.ok) {
        this.stoppedAt = {
          atAccess: position,
          reason: `mprotect of the region at 0x${(r.page * 4096).toString(16)} to ${protString(prot)} failed: ${res.errno}`,
        };
        return false;
      }
      r.prot = prot;
    }
    this.rTag[ci] = index;
    this.rDelta[ci] = r.page - r.tracePage;
    this.rAllow[ci] =
      ((r.prot & PROT.READ) !== 0 ? 1 : 0) |
      ((r.prot & PROT.WRITE) !== 0 ? 2 : 0) |
      ((r.prot & PROT.EXEC) !== 0 ? 4 : 0);
    return true;
  }

  private faultTotals(): { minor: number; major: number; source: 'process' | 'handler' } {
    const minor = counter(this.proc, 'minorFaults');
    const major = counter(this.proc, 'majorFaults');
    if (minor !== undefined && major !== undefined) {
      return { minor: this.parentMinor + minor, major: this.parentMajor + major, source: 'process' };
    }
    return { minor: this.faultCount, major: 0, source: 'handler' };
  }

  private sample(): void {
    this.untilSample = this.sampleEvery;
    const t = this.tl;
    const f = this.faultTotals();
    const rss = this.proc.residentPages;
    if (rss > this.peakRss) this.peakRss = rss;
    t.accesses.push(this.accesses);
    t.rssPages.push(rss);
    t.tlbMisses.push(this.misses);
    t.walks.push(this.walks());
    t.minorFaults.push(f.minor);
    t.majorFaults.push(f.major);
    t.cowCopies.push(this.cowCounts.copies);
    t.swapIns.push(this.swapIns);
    t.swapOuts.push(this.swapOuts);
    this.onProgress?.(this.accesses);
  }

  private walks(): number {
    return this.cpu.tlb.fills - this.fills0 + this.faultCount;
  }

  /** The result so far (a final timeline sample is added unless one was just taken). */
  result(): MachineReplayResult {
    const t = this.tl;
    if (t.accesses[t.accesses.length - 1] !== this.accesses) this.sample();
    const rss = this.proc.residentPages;
    const f = this.faultTotals();
    const regions = [...this.regions.values()]
      .sort((a, b) => a.tracePage - b.tracePage)
      .map((r) => ({ tracePage: r.tracePage, page: r.page, prot: protString(r.prot) }));
    return {
      machine: this.machineInfo,
      accesses: this.accesses,
      reads: this.kindCounts[0]!,
      writes: this.kindCounts[1]!,
      fetches: this.kindCounts[2]!,
      tlb: {
        hits: this.hits,
        misses: this.misses,
        hitRate: this.accesses === 0 ? 0 : this.hits / this.accesses,
      },
      walks: this.walks(),
      faults: { minor: f.minor, major: f.major, total: f.minor + f.major },
      faultCounters: f.source,
      cow: { ...this.cowCounts },
      swapIns: this.swapIns,
      swapOuts: this.swapOuts,
      rssPages: rss,
      peakRssPages: Math.max(this.peakRss, rss),
      pid: this.proc.pid,
      forked: this.forked,
      regions,
      ...(this.stoppedAt ? { stopped: { ...this.stoppedAt } } : {}),
      timeline: {
        sampleEvery: t.sampleEvery,
        accesses: [...t.accesses],
        rssPages: [...t.rssPages],
        tlbMisses: [...t.tlbMisses],
        walks: [...t.walks],
        minorFaults: [...t.minorFaults],
        majorFaults: [...t.majorFaults],
        cowCopies: [...t.cowCopies],
        swapIns: [...t.swapIns],
        swapOuts: [...t.swapOuts],
      },
    };
  }
}

/**
 * Boots the machine and creates the process for a replay (see the module documentation); feed it
 * with {@link MachineReplay.feed}.
 * @throws as the {@link MachineReplay} constructor.
 */
export function createMachineReplay(options: MachineReplayOptions): MachineReplay {
  return new MachineReplay(options);
}

const CHUNK = 65536;

function isMachineTrace(s: unknown): s is MachineTrace {
  return typeof s === 'object' && s !== null && 'pages' in s && !ArrayBuffer.isView(s) && !Array.isArray(s);
}

function isArrayLike(value: unknown): value is ArrayLike<number> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/**
 * Replays `source` on a booted machine (see the module documentation) and returns what the
 * machine did. `source` is an in-memory trace (an array of page numbers, or `{ pages, kinds }`),
 * an iterable of page numbers, or a stream of batches (`@mmkit/replay`'s readers; with their
 * `kinds`, e.g. `readLackeyTrace(file, { accessKinds: true })`).
 * @throws ScenarioError for a machine that does not exist; InvalidArgumentError for another bad
 *   option, a source of the wrong type, a bad page number or access kind (naming its position);
 *   whatever the reader throws (TraceFormatError for a malformed file).
 */
export async function replayOnMachine(
  source: TraceSource | MachineTrace,
  options: MachineReplayOptions,
): Promise<MachineReplayResult> {
  const m = new MachineReplay(options);
  if (isMachineTrace(source)) {
    const { pages, kinds } = source;
    check(isArrayLike(pages), 'trace pages', pages, 'an array of page numbers');
    check(kinds === undefined || isArrayLike(kinds), 'trace kinds', kinds, 'an array of access kinds');
    check(
      kinds === undefined || kinds.length === pages.length,
      'trace kinds length',
      kinds?.length,
      `${pages.length} (one kind per page)`,
    );
    feedArray(m, pages, kinds);
  } else if (isArrayLike(source)) {
    feedArray(m, source, undefined);
  } else if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) {
    for await (const b of source as AsyncIterable<TraceBatch>) {
      if (!m.feed(b.keys, b.kinds, 0, b.length)) break;
    }
  } else if (source !== null && typeof source === 'object' && Symbol.iterator in source) {
    const buf = new Float64Array(CHUNK);
    let n = 0;
    for (const k of source as Iterable<number>) {
      buf[n++] = typeof k === 'number' ? k : Number.NaN;
      if (n === CHUNK) {
        if (!m.feed(buf, undefined, 0, n)) break;
        n = 0;
      }
    }
    if (n > 0) m.feed(buf, undefined, 0, n);
  } else {
    throw new InvalidArgumentError(
      'trace',
      source,
      'an array of page numbers, { pages, kinds }, an iterable of page numbers, or an async iterable of batches (a trace reader)',
    );
  }
  return m.result();
}

function feedArray(m: MachineReplay, pages: ArrayLike<number>, kinds: ArrayLike<number> | undefined): void {
  for (let s = 0; s < pages.length; s += CHUNK) {
    if (!m.feed(pages, kinds, s, Math.min(pages.length, s + CHUNK))) return;
  }
}
