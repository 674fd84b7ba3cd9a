/**
 * A process: its user page tables (TTBR0 on AArch64), ASID, break and state.
 * The page tables themselves are the record of what is mapped: there are no
 * page-slot arrays, so a process may map as much as memory allows.
 */
import { createVmaTree, type VmaValue } from './address-space.js';
import type { SimpleLayout } from './layout.js';
import type { VmaTree } from './vma-tree.js';

/** Why the kernel killed a process (the seed's kill reasons, plus a few). */
export type KillReason =
  | 'stack overflow'
  | 'text fault'
  | 'invalid address'
  | 'permission fault'
  | 'exec fault'
  | 'out of memory'
  | 'alignment fault';

/** Signal and si_code of a kill, as Linux would deliver them. */
export interface KillSignal {
  readonly signal: 'SIGSEGV' | 'SIGBUS';
  readonly code: 'SEGV_MAPERR' | 'SEGV_ACCERR' | 'BUS_ADRALN' | 'SEGV_OOM';
}

/** Lifecycle state. */
export type ProcessState = 'running' | 'exited' | 'killed';

/** See the module documentation. Fields are maintained by the kernel; treat them as read-only. */
export class Process {
  /** Physical address of the root table, 0 until the first mapping (allocated lazily, as the seed's pgd). */
  root = 0;
  /** Program break. */
  brk: bigint;
  state: ProcessState = 'running';
  killReason: KillReason | undefined;
  /** The signal that killed the process (with `killReason`). */
  killSignal: KillSignal | undefined;
  /** The process's VMAs. */
  vmas: VmaTree<VmaValue> = createVmaTree();
  /** User pages currently mapped. */
  residentPages = 0;
  /** Page-table frames owned (root included). */
  tablePages = 0;
  /** Layout boundaries as page numbers (hot-path copies of `layout`). */
  vpn!: {
    text: number;
    data: number;
    heap: number;
    guard: number;
    stackLow: number;
    stackTop: number;
  };
  /** First page number past the heap (ceil(brk / 4 KiB)). */
  brkVpn = 0;
  /** @internal The kernel's frame source for this process's tables (made once). */
  tableSource: import('@mmkit/core').FrameSource | undefined;
  /** Entry point and initial stack pointer of the program loaded by spawnElf/exec (0 otherwise). */
  entry = 0n;
  initialSp = 0n;

  constructor(
    readonly pid: number,
    readonly asid: number,
    /** Region boundaries used to name faults (seed 000) and to place the heap and stack. */
    public layout: SimpleLayout,
    readonly parentPid: number,
  ) {
    this.brk = layout.heapBase;
    this.setLayout(layout);
  }

  /** Changes the layout (exec of an ELF file) and its page-number copies. */
  setLayout(layout: SimpleLayout): void {
    this.layout = layout;
    const v = (a: bigint) => Number(a >> 12n);
    this.vpn = {
      text: v(layout.textBase),
      data: v(layout.dataBase),
      heap: v(layout.heapBase),
      guard: v(layout.stackGuardLow),
      stackLow: v(layout.stackLow),
      stackTop: v(layout.stackTop),
    };
    this.brk = layout.heapBase;
    this.brkVpn = this.vpn.heap;
  }

  /** True while the process can run. */
  get alive(): boolean {
    return this.state === 'running';
  }

  /** Sets the break and its page-number copy. */
  setBrk(brk: bigint): void {
    this.brk = brk;
    this.brkVpn = Number((brk + 0xfffn) >> 12n);
  }
}
