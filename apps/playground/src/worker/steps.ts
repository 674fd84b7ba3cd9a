/**
 * Step execution: runs one scenario step (the `@mmkit/scenario` vocabulary) on a kernel through
 * its public syscall-style API and says what happened in one line. This is the one module to
 * replace with `@mmkit/scenario`'s step runner when that package lands; the engine around it only
 * records events and answers the views.
 */
import { type Kernel, MAP, PROT, type Process } from '@mmkit/kernel';
import { parseAddressExpr, type Step } from './scenario.js';

// A tiny AArch64 program (mov x0, #42; ret): its bytes are only fetched, never run.
const TEXT = new Uint8Array([0x40, 0x05, 0x80, 0xd2, 0xc0, 0x03, 0x5f, 0xd6]);

const hx = (v: bigint | number): string => `0x${v.toString(16)}`;

/** What one step did. */
export interface StepOutcome {
  /** One line for a person. */
  readonly outcome: string;
  /** False if the step failed (errno, refused, killed, or could not run). */
  readonly ok: boolean;
  /** The address the step accessed or mapped. */
  readonly va?: bigint;
  /** The process the step ran in (or created). */
  readonly pid?: number;
}

/** `rwx` letters to PROT bits. */
export function protOf(letters: string): number {
  let p = PROT.NONE;
  if (letters.includes('r')) p |= PROT.READ;
  if (letters.includes('w')) p |= PROT.WRITE;
  if (letters.includes('x')) p |= PROT.EXEC;
  return p;
}

/** Runs steps on one kernel; remembers the names given to mmap'd regions. */
export class StepRunner {
  private readonly names = new Map<string, bigint>();

  constructor(readonly kernel: Kernel) {}

  /** The address an expression names for `proc`. */
  resolve(expr: string | number | undefined, proc: Process | undefined, path = 'addr'): bigint {
    const { base, offset } = parseAddressExpr(path, expr);
    let b: bigint;
    if (typeof base === 'bigint') b = base;
    else {
      const L = proc?.layout ?? this.kernel.layout;
      const named: Record<string, bigint> = {
        text: L.textBase,
        heap: L.heapBase,
        stackTop: L.stackTop,
        stackLow: L.stackLow,
        wild:
          0xdead_beef_000n < L.stackGuardLow
            ? 0xdead_beef_000n
            : ((L.heapBase + L.stackGuardLow) / 2n) & ~0xfffn,
      };
      const v = named[base] ?? this.names.get(base);
      if (v === undefined) throw new Error(`${path}: unknown address base ${JSON.stringify(base)}`);
      b = v;
    }
    const va = b + offset;
    if (va < 0n) throw new Error(`${path}: ${JSON.stringify(expr)} is below 0`);
    return va;
  }

  private target(step: Step): Process {
    if (step.pid !== undefined) {
      const p = this.kernel.allProcesses.find((q) => q.pid === step.pid);
      if (!p) throw new Error(`pid ${step.pid} does not exist`);
      return p;
    }
    const live = this.kernel.liveProcesses;
    if (live.length === 0) throw new Error(`${step.op} needs a process: spawn one first`);
    return live.reduce((a, b) => (a.pid < b.pid ? a : b));
  }

  /** Runs one step; never throws: a step that cannot run fails with the reason. */
  run(step: Step): StepOutcome {
    let outcome: string;
    let ok = true;
    let va: bigint | undefined;
    let pid: number | undefined;
    const k = this.kernel;
    try {
      if (step.op === 'spawn') {
        const r = k.spawn({ text: TEXT });
        if (!r.ok) {
          ok = false;
          outcome = `spawn failed: ${r.errno}`;
        } else {
          pid = r.process.pid;
          outcome = `pid ${r.process.pid} (ASID ${r.process.asid}): ${r.process.residentPages} pages, ${r.process.tablePages} page-table pages`;
        }
      } else {
        const p = this.target(step);
        pid = p.pid;
        if (!p.alive) throw new Error(`pid ${p.pid} is ${p.state}`);
        const cpu = Math.min(step.cpu ?? 0, k.cpus.length - 1);
        switch (step.op) {
          case 'fork': {
            const r = k.fork(p);
            ok = r.ok;
            outcome = r.ok
              ? `child pid ${r.process.pid} (ASID ${r.process.asid})`
              : `fork failed: ${r.errno}`;
            break;
          }
          case 'exec': {
            const r = k.exec(p, { text: TEXT });
            ok = r.ok;
            outcome = r.ok ? `pid ${p.pid} runs a fresh image` : `exec failed: ${r.errno}`;
            break;
          }
          case 'exit':
            k.exit(p);
            outcome = `pid ${p.pid} exited; ${k.allocator.freeCount} frames free (baseline ${k.baselineFree})`;
            break;
          case 'brk': {
            const want = this.resolve(step.addr, p);
            const got = k.brk(p, want);
            ok = got === want;
            outcome = `brk ${hx(want)} → ${hx(got)}${ok ? '' : ' (refused)'}`;
            break;
          }
          case 'mmap': {
            const prot = protOf(step.prot ?? 'rw');
            const addr = step.addr === undefined ? 0n : this.resolve(step.addr, p);
            const flags = MAP.PRIVATE | MAP.ANONYMOUS | (step.addr === undefined ? 0 : MAP.FIXED);
            const r = k.mmap(p, addr, step.length!, prot, flags, step.name ? { name: step.name } : {});
            ok = r.ok;
            if (r.ok) {
              if (step.name) this.names.set(step.name, r.value);
              va = r.value;
              outcome = `mapped ${step.length} bytes at ${hx(r.value)}`;
            } else outcome = `mmap failed: ${r.errno} (${r.detail})`;
            break;
          }
          case 'munmap':
          case 'mprotect': {
            const addr = this.resolve(step.addr, p);
            const r =
              step.op === 'munmap'
                ? k.munmap(p, addr, step.length!)
                : k.mprotect(p, addr, step.length!, protOf(step.prot ?? ''));
            ok = r.ok;
            va = addr;
            outcome = r.ok
              ? `${step.op} ${hx(addr)} +${step.length}`
              : `${step.op} failed: ${r.errno} (${r.detail})`;
            break;
          }
          case 'touch': {
            const start = this.resolve(step.addr, p) & ~0xfffn;
            const pages = Math.max(1, Math.ceil((step.length ?? 4096) / 4096));
            va = start;
            outcome = `touched ${pages} page(s) from ${hx(start)}`;
            for (let i = 0; i < pages; i++) {
              const r = k.store(p, start + BigInt(i * 4096), 1, 0, cpu);
              if (!r.ok) {
                ok = false;
                outcome = `pid ${p.pid} killed at ${hx(start + BigInt(i * 4096))}: ${r.killed}`;
                break;
              }
            }
            break;
          }
          case 'read':
          case 'write':
          case 'fetch': {
            va = this.resolve(step.addr, p);
            const r =
              step.op === 'read'
                ? k.load(p, va, 8, cpu)
                : step.op === 'write'
                  ? k.store(p, va, 8, BigInt(step.value ?? 0), cpu)
                  : k.fetch(p, va, 4, cpu);
            ok = r.ok;
            outcome = r.ok
              ? `${step.op} ${hx(va)} on CPU ${cpu}${step.op === 'write' || r.value === undefined ? '' : ` → ${hx(BigInt(r.value))}`}`
              : `pid ${p.pid} killed: ${r.killed}${r.signal ? ` (${r.signal} ${r.code})` : ''}`;
            break;
          }
        }
      }
    } catch (e) {
      ok = false;
      outcome = `error: ${(e as Error).message}`;
    }
    return {
      outcome: outcome!,
      ok,
      ...(va === undefined ? {} : { va }),
      ...(pid === undefined ? {} : { pid }),
    };
  }
}
