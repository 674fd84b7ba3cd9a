/**
 * The `mmkit demo` workload: boots the kernel on a board and runs a short,
 * scripted life of two processes that touches every mechanism of the memory
 * manager — brk growth and demand faults, stack growth, copy_to_user with a good
 * and a bad pointer, copy-on-write fork isolation on a second CPU, a brk shrink with its TLB
 * invalidation, a stack overflow into the guard page, a wild pointer, exit —
 * and collects what happened as data (rendered by `demo.ts`).
 */
import type { Board } from '@mmkit/boards';
import type { ArchBackend, MmEvent } from '@mmkit/core';
import {
  audit,
  bootKernel,
  type DumpLine,
  dumpPageTable,
  exportTranslationState,
  formatDump,
  type Kernel,
  MAP,
  PROT,
  type Process,
} from '@mmkit/kernel';

/** One step of the workload and the events it caused. */
export interface DemoStep {
  readonly title: string;
  /** What the step showed, in one line. */
  readonly outcome: string;
  readonly events: readonly MmEvent[];
}

/** Everything the demo did and found. */
export interface DemoReport {
  readonly board: { readonly id: string; readonly name: string; readonly ramBytes: number };
  readonly arch: { readonly id: string; readonly name: string };
  readonly cpus: number;
  readonly frames: {
    /** Free frames right after boot. */
    readonly baseline: number;
    /** Free frames at the end, after every process ended. */
    readonly final: number;
    /** Frames the allocator manages (pool minus reservations). */
    readonly total: number;
    /** Page-table frames of the kernel's own address space. */
    readonly kernelTables: number;
  };
  readonly steps: readonly DemoStep[];
  /** Page-table dump of the first process just before it exits. */
  readonly dump: {
    readonly pid: number;
    readonly lines: readonly string[];
    readonly entries: readonly DumpLine[];
  };
  /** /proc/PID/maps of the first process just before it exits. */
  readonly maps: readonly string[];
  /** Registers that select that process's tables (TTBR0_EL1 with ASID, TTBR1_EL1, TCR_EL1 …). */
  readonly registers: Readonly<Record<string, string>>;
  readonly audit: { readonly ok: boolean; readonly problems: readonly string[] };
}

// A tiny AArch64 program: mov x0, #42; ret (its bytes are only ever fetched, never run).
const INIT_TEXT = new Uint8Array([0x40, 0x05, 0x80, 0xd2, 0xc0, 0x03, 0x5f, 0xd6]);
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Runs the workload on `board` with the paging backend `arch` (the CLI picks it with
 * `createBackend`, see `arch-registry.ts`) and returns the report. Never throws for workload outcomes.
 */
export function runDemo(board: Board, arch: ArchBackend): DemoReport {
  const k: Kernel = bootKernel({ arch, machine: board, cpus: 2, strictTlb: true });
  const steps: DemoStep[] = [];
  let events: MmEvent[] = [];
  k.events.on((e) => events.push(e));
  const step = (title: string, body: () => string) => {
    events = [];
    const outcome = body();
    steps.push({ title, outcome, events });
  };
  const L = k.layout;
  // The classic wild pointer, or on a 32-bit address space one in the middle of the heap–stack gap.
  const WILD =
    0xdead_beef_000n < L.stackGuardLow ? 0xdead_beef_000n : ((L.heapBase + L.stackGuardLow) / 2n) & ~0xfffn;
  const wildHex = `0x${WILD.toString(16).toUpperCase()}`;
  const hx = (v: bigint) => `0x${v.toString(16).toUpperCase()}`;
  const must = <T>(r: { ok: true; process: T } | { ok: false }): T => {
    if (!r.ok) throw new Error('the demo board ran out of memory');
    return r.process;
  };

  let init!: Process;
  step('spawn init: text mapped user r-x, top stack page mapped', () => {
    init = must(k.spawn({ text: INIT_TEXT }));
    return `pid ${init.pid} (ASID ${init.asid}) has ${init.residentPages} pages and ${init.tablePages} page-table pages`;
  });

  step('brk grows the heap by 3 pages; first touches are demand-zero faults', () => {
    k.brk(init, L.heapBase + 0x3000n);
    k.writeUser(init, L.heapBase, enc.encode('hello from the heap'));
    k.store(init, L.heapBase + 0x2000n, 8, 0x1122_3344_5566_7788n);
    const back = k.readUser(init, L.heapBase, 19);
    return `heap reads back "${back.ok ? dec.decode(back.value) : '?'}"; ${init.residentPages} pages resident`;
  });

  step('the stack grows down on demand', () => {
    k.store(init, L.stackTop - 0x3010n, 8, 7n);
    return `stack store at ${hx(L.stackTop - 0x3010n)} worked; ${init.residentPages} pages resident`;
  });

  step('copy_to_user: a good pointer, then a wild one (EFAULT, not a kill)', () => {
    const good = k.copyToUser(init, L.heapBase + 0x1000n, enc.encode('syscall result'));
    const bad = k.copyToUser(init, WILD, enc.encode('x'));
    return `good pointer: ${good.ok ? 'copied' : good.errno}; wild pointer ${wildHex}: ${bad.ok ? 'copied?!' : bad.errno}; pid ${init.pid} is ${init.state}`;
  });

  let child!: Process;
  step(
    'fork (copy-on-write) and isolation: the child writes on CPU 1 (a COW copy), the parent keeps its data',
    () => {
      child = must(k.fork(init));
      const seen = k.readUser(child, L.heapBase, 19, 1);
      k.writeUser(child, L.heapBase, enc.encode('HELLO FROM THE KID!'), 1);
      const parent = k.readUser(init, L.heapBase, 19, 0);
      return `child pid ${child.pid} (ASID ${child.asid}) saw "${seen.ok ? dec.decode(seen.value) : '?'}", wrote its own copy; parent still reads "${parent.ok ? dec.decode(parent.value) : '?'}"`;
    },
  );

  step(
    'brk shrinks by 2 pages: PTEs cleared, references dropped (the child still shares the frames), TLBs invalidated on both CPUs',
    () => {
      const free = k.allocator.freeCount;
      k.brk(init, L.heapBase + 0x1000n);
      const freed = k.allocator.freeCount - free;
      k.brk(init, L.heapBase + 0x3000n);
      const again = k.load(init, L.heapBase + 0x2000n, 8);
      return `${freed} frames freed; after growing again the page reads ${again.ok ? hx(BigInt(again.value)) : '?'} (the shared zero page, no stale PTE)`;
    },
  );

  let maps: string[] = [];
  step('mmap three pages, then mprotect the middle one read-only: the VMA splits in three', () => {
    const a = k.mmap(init, 0, 3 * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, { name: 'buf' });
    if (!a.ok) return `mmap failed: ${a.errno} (${a.detail})`;
    k.store(init, a.value + 4096n, 8, 1n);
    k.mprotect(init, a.value + 4096n, 4096, PROT.READ);
    maps = k.procMaps(init).trimEnd().split('\n');
    const pieces = k.vmas(init).filter((v) => v.name === 'buf').length;
    return `mapped at ${hx(a.value)} (top-down below the stack gap); ${pieces} VMAs named buf after mprotect`;
  });

  let dump: DemoReport['dump'] = { pid: 0, lines: [], entries: [] };
  let registers: Record<string, string> = {};
  step('page-table dump of init, and the registers that select it', () => {
    const entries = dumpPageTable(k, init);
    dump = { pid: init.pid, lines: formatDump(entries), entries };
    registers = { ...exportTranslationState(k, init).registers };
    return `${entries.length} entries over ${init.tablePages} tables`;
  });

  step('the child overflows its stack into the guard page', () => {
    const r = k.store(child, L.stackLow - 8n, 8, 0n, 1);
    return r.ok ? 'store succeeded?!' : `pid ${child.pid} killed: ${r.killed}`;
  });

  step('a new process follows a wild pointer', () => {
    const wild = must(k.spawn({ text: INIT_TEXT }));
    const r = k.load(wild, WILD, 8);
    return r.ok ? 'load succeeded?!' : `pid ${wild.pid} killed: ${r.killed}`;
  });

  step('a fork of init writes to its text: a permission fault', () => {
    const victim = must(k.fork(init));
    const r = k.store(victim, L.textBase, 4, 0);
    return r.ok ? 'store succeeded?!' : `pid ${victim.pid} (a fork of init) killed: ${r.killed}`;
  });

  step('init exits', () => {
    k.exit(init);
    return `free frames back to ${k.allocator.freeCount} (baseline ${k.baselineFree})`;
  });

  const report = audit(k);
  return {
    board: { id: board.id, name: board.name, ramBytes: board.ram.reduce((n, r) => n + (r.end - r.start), 0) },
    arch: { id: arch.description.id, name: arch.description.name },
    cpus: k.cpus.length,
    frames: {
      baseline: k.baselineFree,
      final: k.allocator.freeCount,
      total: k.allocator.totalCount,
      kernelTables: report.tableFrames,
    },
    steps,
    dump,
    maps,
    registers,
    audit: { ok: report.ok, problems: report.problems },
  };
}
