/**
 * The process table: pid allocation, ASID allocation and recycling, process lookup, liveness and
 * reaping (exit, kill, a failed spawn or fork).
 *
 * Pids count up from 1 and are never reused. ASIDs count up from 1 (0 is the ASID the empty user
 * root is loaded with while no process runs, see `Cpu.switchTo`) to `2^asidBits − 1`; a freed
 * ASID is recycled before a new one is taken. A backend without ASIDs gives every process ASID 0
 * (non-global TLB entries are then flushed on every switch, see `Cpu.switchTo`).
 *
 * The table holds no page tables or frames itself: tearing a process down clears its
 * {@link AddressSpace} (which frees every page and table through the kernel's allocator), switches
 * every CPU running it to the empty root, and only then releases the ASID, so a recycled ASID
 * never meets a stale TLB entry of the old owner (the address space's clear flushes the ASID).
 */
import { MmError, NoMemoryError } from '@mmkit/core';
import { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { type KillReason, type KillSignal, Process } from './process.js';
import { invalidArgument, plain, showValue } from './syscalls.js';
import { type SharedObject, stackVma } from './vma.js';

/** Thrown when an operation names a process that does not exist or has ended. */
export class NoProcessError extends MmError {
  constructor(
    readonly pid: number,
    readonly state: string,
  ) {
    super('E_NO_PROCESS', `process ${showValue(pid)} is ${plain(state)}; expected a running process`);
  }
}

/** @internal The kernel's processes and ASIDs (see the module documentation). */
export class ProcessTable {
  private readonly byPid = new Map<number, Process>();
  private nextPid = 1;
  private readonly freeAsids: number[] = [];
  private nextAsid = 1;
  /** Highest ASID (0 when the backend has none: every process shares ASID 0). */
  private readonly maxAsid: number;

  constructor(
    private readonly k: KernelContext,
    asidBits: number,
  ) {
    this.maxAsid = asidBits > 0 ? 2 ** asidBits - 1 : 0;
  }

  /** Every process, alive or ended, in pid order. */
  all(): Process[] {
    return [...this.byPid.values()];
  }

  /** The process with `pid`. @throws NoProcessError */
  get(pid: number): Process {
    const p = this.byPid.get(pid);
    if (!p) throw new NoProcessError(pid, 'unknown');
    return p;
  }

  /**
   * `proc` if it is a live process of this kernel (an identity check on its owner, no map lookup:
   * this runs on every access).
   * @throws InvalidArgumentError for a non-process; NoProcessError for an ended or foreign one.
   */
  live(proc: Process): Process {
    if (!(proc instanceof Process))
      throw invalidArgument('process', proc, 'a Process returned by this kernel');
    if (proc.owner !== this.k || !proc.alive)
      throw new NoProcessError(proc.pid, proc.owner !== this.k ? 'unknown to this kernel' : proc.state);
    return proc;
  }

  /**
   * Creates and registers a process (see `KernelContext.createProcess`): without `build`, an empty
   * space with a stack VMA; with `build`, the space it returns, or nothing (and the ASID released)
   * when it returns undefined.
   * @throws NoMemoryError when every ASID is in use (nothing is taken then).
   */
  create(
    parentPid: number,
    build?: (pid: number, asid: number) => AddressSpace | undefined,
  ): Process | undefined {
    if (typeof parentPid !== 'number' || !Number.isSafeInteger(parentPid) || parentPid < 0)
      throw invalidArgument('parentPid', parentPid, 'a non-negative pid');
    const asid = this.allocAsid();
    const pid = this.nextPid;
    let space: AddressSpace | undefined;
    if (build) {
      space = build(pid, asid);
      if (space === undefined) {
        this.releaseAsid(asid);
        return undefined;
      }
    } else {
      space = new AddressSpace(this.k, pid, asid, this.k.layout);
      space.vmas.insert(space.vpn.stackTop - 1, space.vpn.stackTop, stackVma());
    }
    this.nextPid++;
    const proc = new Process(pid, space, parentPid, this.k);
    this.byPid.set(pid, proc);
    this.k.events.emit({ type: 'process', action: 'create', pid, detail: `ASID ${asid}` });
    return proc;
  }

  /** Ends a process for a fatal fault (no-op if it already ended). */
  kill(proc: Process, reason: KillReason, signal?: KillSignal): void {
    if (!proc.alive) return;
    proc.killReason = reason;
    proc.killSignal = signal;
    this.teardown(proc, 'killed');
    this.k.events.emit({ type: 'process', action: 'kill', pid: proc.pid, detail: reason });
  }

  /** Frees everything the process holds, takes it off every CPU, releases its ASID. */
  teardown(proc: Process, state: 'exited' | 'killed'): void {
    proc.space.clear();
    proc.state = state;
    for (const cpu of this.k.cpus) if (cpu.current === proc) cpu.switchTo(undefined);
    this.releaseAsid(proc.asid);
  }

  /**
   * Tears down and unregisters a process that never ran (a failed spawn or fork); one the OOM
   * killer killed while it was being built is torn down already.
   */
  forget(proc: Process): void {
    if (proc.alive) this.teardown(proc, 'exited');
    this.byPid.delete(proc.pid);
  }

  /** Every shared object some live process still maps. */
  sharedObjects(): Set<SharedObject> {
    const out = new Set<SharedObject>();
    for (const p of this.byPid.values())
      if (p.alive) for (const o of p.space.sharedObjectsInUse()) out.add(o);
    return out;
  }

  private allocAsid(): number {
    if (this.maxAsid === 0) return 0;
    const reused = this.freeAsids.pop();
    if (reused !== undefined) return reused;
    if (this.nextAsid > this.maxAsid) throw new NoMemoryError('an ASID (all in use)');
    return this.nextAsid++;
  }

  private releaseAsid(asid: number): void {
    if (this.maxAsid > 0) this.freeAsids.push(asid);
  }
}
