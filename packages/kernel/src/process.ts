/**
 * A process: a pid, its {@link AddressSpace} (VMAs, page tables, ASID, break, layout) and its
 * lifecycle state. The page tables are the record of what is mapped: there are no page-slot
 * arrays, so a process may map as much as memory allows. exec swaps in a new address space;
 * fork clones it.
 */
import type { AddressSpace, LayoutVpns } from './address-space.js';
import type { SimpleLayout } from './layout.js';
import type { VmaValue } from './vma.js';
import type { VmaTree } from './vma-tree.js';
import type { WorkingSetTracker } from './working-set.js';

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

/**
 * See the module documentation. The kernel maintains every field; the address-space views
 * (`root`, `vmas`, `brk`, …) read the current {@link AddressSpace}.
 */
export class Process {
  state: ProcessState = 'running';
  killReason: KillReason | undefined;
  /** The signal that killed the process (with `killReason`). */
  killSignal: KillSignal | undefined;
  /**
   * Faults resolved without reading the swap device (Linux `min_flt`: demand paging, copy-on-write,
   * a page found in the swap cache, …), counted across exec.
   */
  minorFaults = 0;
  /** Faults that read a page from a swap device (Linux `maj_flt`). */
  majorFaults = 0;
  /**
   * Process virtual time: the user accesses the process made through the kernel's user-access
   * paths (each load, store and fetch; one per page of a multi-byte read or write or copy to or
   * from user memory).
   */
  accesses = 0;
  /** Page faults the process took (every kind and resolution; see `Kernel.faultStats`). */
  faults = 0;
  /** @internal Faults by the kernel's resolution. */
  readonly faultsByResolution = new Map<string, number>();
  /** @internal Working-set, PFF and thrash tracking (the kernel's `workingSet` option). */
  tracker: WorkingSetTracker | undefined;

  constructor(
    readonly pid: number,
    /** The address space (replaced by exec). */
    public space: AddressSpace,
    readonly parentPid: number,
    /** @internal The kernel that created it (an identity check on every access, cheaper than a map lookup). */
    readonly owner: object | undefined = undefined,
  ) {}

  /** ASID/PCID of the address space. */
  get asid(): number {
    return this.space.asid;
  }
  /** Physical address of the root table, 0 until the first mapping (allocated lazily, as the seed's pgd). */
  get root(): number {
    return this.space.root;
  }
  /** The VMAs. */
  get vmas(): VmaTree<VmaValue> {
    return this.space.vmas;
  }
  /** Program break. */
  get brk(): bigint {
    return this.space.brk;
  }
  /** First page number past the heap. */
  get brkVpn(): number {
    return this.space.brkVpn;
  }
  /** User pages currently mapped. */
  get residentPages(): number {
    return this.space.residentPages;
  }
  /** Page-table frames owned (root included). */
  get tablePages(): number {
    return this.space.tablePages;
  }
  /** Region boundaries used to name faults (seed 000) and to place the heap and stack. */
  get layout(): SimpleLayout {
    return this.space.layout;
  }
  /** Layout boundaries as page numbers. */
  get vpn(): LayoutVpns {
    return this.space.vpn;
  }
  /** Entry point of the program loaded by spawnElf/exec (0 otherwise). */
  get entry(): bigint {
    return this.space.entry;
  }
  /** Initial stack pointer of the program loaded by spawnElf/exec (0 otherwise). */
  get initialSp(): bigint {
    return this.space.initialSp;
  }

  /** True while the process can run. */
  get alive(): boolean {
    return this.state === 'running';
  }
}
