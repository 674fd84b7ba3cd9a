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
 * See `machine-replay-types.ts` (with {@link MachineReplayResult}): TLB hits and misses by the
 * CPU's own hit test, walks, handled faults, COW and swap events, RSS.
 *
 * ## The hot loop
 *
 * No allocation, no BigInt, no call on a hit: per access a **hit memo** (per access kind, the last
 * page known to pass the region check and the TLB hit test — a repeat of it is a hit, nothing else
 * read), else the region lookup (a direct-mapped cache of typed arrays in front of a Map) and the
 * CPU's TLB hit test (`Cpu.translate`'s, over the `Tlb`'s public typed arrays). Anything else — a
 * region to map or widen, a TLB miss — leaves the loop for `rareAccess`, the one place where the
 * region cache and the TLB change, which forgets the memo. Strict TLB mode takes the slow path
 * (with its check of every hit against the tables) for every access.
 */

import { type AccessKind, type ArchBackend, type MmEvent, Privilege, permBit } from '@mmkit/core';
import { bootKernel, type Cpu, type Kernel, type Process } from '@mmkit/kernel';
import { type ArchId, createBackend } from './arch-registry.js';
import { resolveMachine } from './machine.js';
import { MACHINE_REPLAY_REGION_PAGES, REGION_CACHE, RegionMap } from './machine-replay-regions.js';
import {
  ACCESS_NAMES,
  check,
  checkMachineReplayOptions,
  counter,
  DEFAULT_SAMPLE_EVERY,
  type MachineReplayOptions,
  type MachineReplayResult,
  type MachineReplayTimeline,
  swapDirection,
} from './machine-replay-types.js';

const INV_REGION_PAGES = 1 / MACHINE_REPLAY_REGION_PAGES;
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
  private readonly regionMap: RegionMap;
  /**
   * The hit memo as `rareAccess` leaves it, by access kind (NaN = none), for the loops to take
   * into their locals. Written only for a kind 0, 1 or 2 (one that passed the region check).
   */
  private readonly memo = new Float64Array(3).fill(Number.NaN);
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
    checkMachineReplayOptions(options);
    const o = options;
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
    this.regionMap = new RegionMap(this.kernel);
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
   * that killed the process, or at a region that found no room). The counters go to the fields
   * before anything that can throw. The **hit memo** (`m0`…`m2`, per kind) holds the last page
   * of that kind that passed the region check and the TLB hit test; it is set only right after
   * the full test passed (or a miss left an entry that passes it) and forgotten before anything
   * that can change the region cache or the TLB (`rareAccess`). Between, only hits run and a hit
   * changes nothing: a memo hit is exactly what the full test would say.
   */
  private segment(
    pages: ArrayLike<number>,
    kinds: ArrayLike<number> | undefined,
    i: number,
    stop: number,
  ): number {
    if (this.cpu.strict) return this.segmentStrict(pages, kinds, i, stop);
    if (kinds === undefined) return this.segmentOneKind(pages, i, stop);
    const rTag = this.regionMap.tag;
    const rDelta = this.regionMap.delta;
    const rAllow = this.regionMap.allow;
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
    const rTag = this.regionMap.tag;
    const rDelta = this.regionMap.delta;
    const rAllow = this.regionMap.allow;
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
    const rc = this.regionMap;
    if (rc.tag[ci] !== region || (rc.allow[ci]! & bit) === 0) {
      if (!this.regionMiss(page, kind as AccessKind, ci, this.accesses)) return RARE_NO_ROOM;
    }
    const vpn = page + rc.delta[ci]!;
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
    const rTag = this.regionMap.tag;
    const rDelta = this.regionMap.delta;
    const rAllow = this.regionMap.allow;
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
    const failed = this.regionMap.miss(this.proc, page, kind, ci, position);
    if (failed === undefined) return true;
    this.stoppedAt = { atAccess: position, reason: failed };
    return false;
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
    const rss = this.proc.rssPages;
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
    const rss = this.proc.rssPages;
    const f = this.faultTotals();
    const regions = this.regionMap.list();
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
