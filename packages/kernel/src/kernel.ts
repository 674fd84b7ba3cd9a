/**
 * The architecture-neutral kernel memory manager.
 *
 * Ownership: the kernel owns the {@link PageAllocator} (every frame's state,
 * refcount and owner), the kernel page tables (TTBR1 on AArch64; the kernel
 * half of every root on single-root formats), every process's user tables and
 * pages, and the simulated CPUs. It is handed a backend and a machine; it
 * never imports an architecture package, and never branches on which
 * architecture it runs on — only on the backend's description.
 *
 * Invariants (proved by {@link Kernel.audit}): every frame is in exactly one
 * state with a correct refcount; a failed operation leaves everything as it
 * was; no user PTE grants more than its region allows; a removed or downgraded
 * translation is invalidated in every TLB before the next access.
 *
 * Kernel address space:
 * ```
 *  LINEAR_MAP_BASE + PA   every RAM range, Normal write-back, kernel RW, no execute, global
 *  LINEAR_MAP_BASE + PA   every MMIO window, Device, kernel RW, no execute, global
 * ```
 * (LINEAR_MAP_BASE defaults to the start of the kernel half: 0xFFFF_0000_0000_0000 for
 * AArch64 with 48-bit VAs, the seed's value.)
 */
import {
  ACCESS_NAMES,
  type AccessKind,
  type AddressInput,
  type ArchBackend,
  alignUp,
  EventStream,
  FAULT_KINDS,
  Fault,
  FlushObligation,
  type FramePurpose,
  type FrameSource,
  hex,
  InvalidArgumentError,
  type LeafAttributes,
  MmError,
  NoMemoryError,
  PAGE_SIZE,
  PageTableEditor,
  type PhysicalMemory,
  PRIVILEGE_NAMES,
  Privilege,
  type PrivilegeLevel,
  Tlb,
  type TlbInvalidation,
  TWO_32,
  toAddress,
  vaOf,
  type WalkResult,
} from '@mmkit/core';
import { AttributeChooser, type LeafTemplate, leafTemplate, type MappingRequest } from './attributes.js';
import { Cpu, type FaultHandler, FaultOutcome, type FaultOutcomeCode } from './cpu.js';
import { type SimpleLayout, simpleLayoutFor } from './layout.js';
import type { MachineDescription } from './machine.js';
import { FrameState, PageAllocator } from './page-allocator.js';
import { type KillReason, Process } from './process.js';

/** Options of {@link bootKernel}. */
export interface KernelOptions {
  /** The page-table backend (e.g. `createAarch64Arch()`). */
  readonly arch: ArchBackend;
  /** The machine (e.g. a board from `@mmkit/boards`). */
  readonly machine: MachineDescription;
  /** Simulated CPUs (default 1). */
  readonly cpus?: number;
  /** Verify every TLB hit against the tables (default false). */
  readonly strictTlb?: boolean;
  /** TLB entries per CPU (power of two, default 4096). */
  readonly tlbEntries?: number;
  /** Base of the linear map (default: the first address of the kernel half). */
  readonly linearMapBase?: AddressInput;
  /** Layout of simple processes (default: {@link simpleLayoutFor} the arch). */
  readonly layout?: SimpleLayout;
  /** Pages above which an unmap flushes the whole ASID instead of each page (default 32). */
  readonly flushThreshold?: number;
  /** Event stream to emit on (default: a new one, see {@link Kernel.events}). */
  readonly events?: EventStream;
  /**
   * Identity-map the first `identityMapBytes` of physical memory (VA = PA, kernel RW) in the root
   * used while no process runs, leaving the null page unmapped (seed `003_…`'s low identity map).
   * Processes' roots do not get it. Default 0 (none).
   */
  readonly identityMapBytes?: number;
  /**
   * Root-table index of a recursive entry (the root maps itself there, seed `003_…`'s PD index
   * 1023): every root gets it, pointing to itself. Must lie in the kernel half of a single-root
   * format whose root entries have the format of the level below (not the PAE PDPT).
   */
  readonly recursiveSlot?: number;
}

/** A user-visible failure of a syscall-style operation. */
export type Errno = 'EFAULT' | 'ENOMEM' | 'EINVAL';

/** Result of a user access. */
export type AccessResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly killed: KillReason };

/** Result of a soft (copy to/from user) access. */
export type CopyResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errno: Errno };

/** Thrown when an operation names a process that does not exist or has ended. */
export class NoProcessError extends MmError {
  constructor(
    readonly pid: number,
    readonly state: string,
  ) {
    super('E_NO_PROCESS', `process ${pid} is ${state}; expected a running process`);
  }
}

/** A program for {@link Kernel.spawn}: text and data images. */
export interface ProgramImage {
  readonly text: Uint8Array;
  readonly data?: Uint8Array;
}

/** Result of mapping operations that can run out of memory. */
export type MapOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'no-memory' | 'already-mapped' };

/**
 * Boots a kernel on a machine: builds the page allocator over the machine's
 * pool with its reservations, the kernel tables (linear map of RAM and device
 * mappings), and the CPUs.
 * @throws NoMemoryError if the kernel tables do not fit; InvalidArgumentError for bad options.
 */
export function bootKernel(options: KernelOptions): Kernel {
  return new Kernel(options);
}

/** See the module documentation. */
export class Kernel implements FaultHandler {
  readonly arch: ArchBackend;
  readonly machine: MachineDescription;
  readonly memory: PhysicalMemory;
  readonly allocator: PageAllocator;
  readonly editor: PageTableEditor;
  readonly events: EventStream;
  readonly cpus: readonly Cpu[];
  readonly layout: SimpleLayout;
  /** Root of the kernel tables (TTBR1 on AArch64). */
  readonly kernelRoot: number;
  /** A root with no user mappings, loaded when no process runs. */
  readonly emptyUserRoot: number;
  /** First virtual address of the linear map. */
  readonly linearMapBase: bigint;
  /** Free frames right after boot (the baseline every exit returns to). */
  readonly baselineFree: number;
  /** Root index of the recursive entry, or -1. */
  readonly recursiveSlot: number;
  /** Physical ranges the kernel half is too small to map in the linear map (e.g. IOAPIC on 32-bit x86). */
  readonly unmappedPhysical: readonly {
    readonly start: number;
    readonly end: number;
    readonly what: string;
  }[];
  /**
   * Mappings whose permissions the backend cannot express exactly and that were widened (e.g. no
   * execute-never on 32-bit x86 without PAE: data pages are executable). A documented difference.
   */
  readonly widenedPermissions: readonly string[];
  private readonly processes = new Map<number, Process>();
  private readonly attrs: AttributeChooser;
  private readonly flushThreshold: number;
  private readonly kernelSource: FrameSource;
  private readonly userStartVpn: number;
  private readonly userEndVpn: number;
  private readonly kernelBaseVpn: number;
  private nextPid = 1;
  private readonly freeAsids: number[] = [];
  private nextAsid = 1;
  private readonly maxAsid: number;
  /** Leaf attributes of demand-zero heap/stack pages (user rw-, no execute). */
  private readonly anonAttrs: LeafAttributes;
  /** Their descriptor without the output address, when the encoding allows (fast demand faults). */
  private readonly anonTemplate: LeafTemplate | undefined;

  constructor(options: KernelOptions) {
    const { arch, machine } = options;
    this.arch = arch;
    this.machine = machine;
    this.events = options.events ?? new EventStream();
    this.memory = machine.createMemory();
    this.editor = new PageTableEditor(arch, this.memory);
    this.attrs = new AttributeChooser(arch);
    this.layout = options.layout ?? simpleLayoutFor(arch.description);
    this.flushThreshold = options.flushThreshold ?? 32;
    const d = arch.description;
    this.userStartVpn = Number(d.userRange.start >> 12n);
    this.userEndVpn = Number(d.userRange.end >> 12n);
    this.kernelBaseVpn = d.splitRoots ? Number(d.kernelRange.start >> 12n) : 0;
    const asidBits = d.capabilities.asidBits;
    this.maxAsid = asidBits > 0 ? 2 ** asidBits - 1 : 0;

    this.allocator = new PageAllocator(this.memory, machine.pool.ranges, { events: this.events });
    for (const r of machine.pool.reservations) this.allocator.reserveRange(r.start, r.end, r.reason);
    // Frames the paging format cannot address (above 2^paBits) are never handed out.
    this.allocator.reserveAbove(2 ** d.paBits, `above the ${d.paBits}-bit physical address space of ${d.id}`);
    this.recursiveSlot = this.checkRecursiveSlot(options.recursiveSlot);
    this.unmappedPhysical = [];
    this.widenedPermissions = this.attrs.widened;

    this.kernelSource = {
      allocTable: () => {
        const pa = this.allocator.alloc('page-table', -1);
        return pa === 0 ? -1 : pa;
      },
      freeTable: (pa) => this.allocator.free(pa),
    };
    const root = this.kernelSource.allocTable(d.levels.length);
    if (root < 0) throw new NoMemoryError('the kernel root table');
    this.kernelRoot = root;
    this.linearMapBase = toAddress(options.linearMapBase ?? d.kernelRange.start, 'linearMapBase');
    if (this.linearMapBase < d.kernelRange.start) {
      throw new InvalidArgumentError(
        'linearMapBase',
        this.linearMapBase,
        `an address in the kernel half (≥ ${hex(d.kernelRange.start)})`,
      );
    }
    if (this.recursiveSlot >= 0) this.installRecursive(this.kernelRoot);
    this.buildKernelSpace();
    if (d.splitRoots) {
      const empty = this.kernelSource.allocTable(d.levels.length);
      if (empty < 0) throw new NoMemoryError('the empty user root table');
      this.emptyUserRoot = empty;
    } else {
      this.emptyUserRoot = this.kernelRoot;
    }
    if (options.identityMapBytes) this.buildIdentityMap(options.identityMapBytes);

    this.anonAttrs = this.attrs.leaf({
      user: { read: true, write: true, execute: false },
      memoryType: 'normal-wb',
      global: false,
    });
    this.anonTemplate = leafTemplate(arch, this.anonAttrs);

    const n = options.cpus ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 64)
      throw new InvalidArgumentError('cpus', n, 'an integer from 1 to 64');
    const cpus: Cpu[] = [];
    for (let i = 0; i < n; i++) {
      const mmu = arch.createMmu(this.memory);
      mmu.setKernelRoot(this.kernelRoot);
      const cpu = new Cpu(
        i,
        mmu,
        new Tlb(options.tlbEntries ?? 4096),
        this,
        this.emptyUserRoot,
        asidBits === 0,
      );
      cpu.strict = options.strictTlb ?? false;
      cpu.switchTo(undefined);
      cpus.push(cpu);
    }
    this.cpus = cpus;
    this.baselineFree = this.allocator.freeCount;
  }

  // -------------------------------------------------------------------------
  // Kernel address space

  private buildKernelSpace(): void {
    const kernelRw = this.attrs.leaf({
      user: { read: false, write: false, execute: false },
      kernel: { read: true, write: true, execute: false },
      memoryType: 'normal-wb',
      global: true,
    });
    const deviceRw = this.attrs.leaf({
      user: { read: false, write: false, execute: false },
      kernel: { read: true, write: true, execute: false },
      memoryType: 'device',
      global: true,
    });
    // The linear map ends where the kernel half ends (or at the recursive slot): on 32-bit x86
    // that is 1 GiB - 4 MiB of RAM, the rest is reachable only through other mappings (highmem).
    const d = this.arch.description;
    let vaEnd = d.kernelRange.end;
    if (this.recursiveSlot >= 0) {
      vaEnd = vaOf(this.editor.rootEntryVpn(this.recursiveSlot, this.kernelBaseVpn));
    }
    const limit = vaEnd - this.linearMapBase;
    const unmapped = this.unmappedPhysical as { start: number; end: number; what: string }[];
    const mapCapped = (start: number, end: number, attrs: LeafAttributes, what: string) => {
      const cap = limit < BigInt(end) ? Number(limit > 0n ? limit : 0n) : end;
      if (cap < end) unmapped.push({ start: Math.max(start, cap), end, what });
      if (start < cap) this.mapKernelRange(start, cap, attrs, what);
    };
    for (const r of this.machine.ram) mapCapped(r.start, r.end, kernelRw, 'linear map');
    for (const w of this.machine.mmio) {
      const start = Math.floor(w.start / PAGE_SIZE) * PAGE_SIZE;
      const end = Math.ceil(w.end / PAGE_SIZE) * PAGE_SIZE;
      mapCapped(start, end, deviceRw, `device ${w.name}`);
    }
  }

  private checkRecursiveSlot(slot: number | undefined): number {
    if (slot === undefined) return -1;
    const d = this.arch.description;
    const g = this.arch.geometry;
    const n = d.rootTableBytes / d.descriptorBytes;
    const root = d.levels[d.levels.length - 1]!;
    const below = d.levels[d.levels.length - 2]!;
    const sameFormat =
      root.indexBits === below.indexBits && d.rootTableBytes === 2 ** below.indexBits * d.descriptorBytes;
    if (!Number.isInteger(slot) || slot < 0 || slot >= n) {
      throw new InvalidArgumentError('recursiveSlot', slot, `a root index 0..${n - 1}`);
    }
    if (d.splitRoots || !sameFormat) {
      throw new InvalidArgumentError(
        'recursiveSlot',
        slot,
        `a single-root format whose root has the format of ${below.name} (${d.id} has not)`,
      );
    }
    const vpn = this.editor.rootEntryVpn(slot, 0);
    if (vaOf(vpn) < d.kernelRange.start) {
      throw new InvalidArgumentError(
        'recursiveSlot',
        slot,
        `an index in the kernel half (≥ ${hex(d.kernelRange.start)})`,
      );
    }
    void g;
    return slot;
  }

  /** Points root entry `recursiveSlot` of `root` at `root` itself (kernel-only, no execute where expressible). */
  private installRecursive(root: number): void {
    const attrs = this.arch.defaults.kernelTable;
    this.editor.writeEntry(
      this.editor.entryPa(root, this.recursiveSlot),
      { kind: 'table', pa: root, attrs },
      this.arch.geometry.rootLevel,
    );
  }

  /** The low identity map (VA = PA) in the root used while no process runs; the null page stays unmapped. */
  private buildIdentityMap(bytes: number): void {
    const d = this.arch.description;
    const end = Math.min(bytes, Number(d.userRange.end));
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes % PAGE_SIZE !== 0) {
      throw new InvalidArgumentError('identityMapBytes', bytes, 'a non-negative multiple of 4096');
    }
    const attrs = this.attrs.leaf({
      user: { read: false, write: false, execute: false },
      kernel: { read: true, write: true, execute: true },
      memoryType: 'normal-wb',
      global: false,
    });
    for (let pa = PAGE_SIZE; pa < end; pa += PAGE_SIZE) {
      if (!this.memory.isRam(pa)) continue;
      const res = this.editor.map(
        this.emptyUserRoot,
        pa / PAGE_SIZE,
        pa,
        1,
        attrs,
        this.arch.defaults.kernelTable,
        this.kernelSource,
      );
      if (!res.ok && res.reason === 'no-memory') throw new NoMemoryError('the identity map');
      if (res.ok) res.flush.ignore();
    }
  }

  /** Maps [startPa, endPa) at linearMapBase + pa with the largest leaves that fit. */
  private mapKernelRange(startPa: number, endPa: number, attrs: LeafAttributes, what: string): void {
    const g = this.arch.geometry;
    const leafLevels = [...g.leafLevels].sort((a, b) => b - a);
    const baseVpn = Number(this.linearMapBase >> 12n);
    let pa = startPa;
    while (pa < endPa) {
      let mapped = false;
      for (const level of leafLevels) {
        const size = g.entrySizeBytes[level]!;
        if (pa % size !== 0 || pa + size > endPa) continue;
        const vpn = baseVpn + pa / PAGE_SIZE;
        const res = this.editor.map(
          this.kernelRoot,
          vpn,
          pa,
          level,
          this.attrs.leaf(this.requestOf(attrs), level),
          this.arch.defaults.kernelTable,
          this.kernelSource,
        );
        if (!res.ok && res.reason === 'no-memory') throw new NoMemoryError(`kernel tables (${what})`);
        if (res.ok) res.flush.ignore(); // no CPU runs yet: nothing cached
        pa += size;
        mapped = true;
        break;
      }
      if (!mapped) throw new InvalidArgumentError(what, hex(pa), 'a page-aligned range');
    }
  }

  private requestOf(a: LeafAttributes): MappingRequest {
    return { user: a.user, kernel: a.kernel, memoryType: a.memoryType, global: a.global };
  }

  /** Kernel virtual address of a physical address in the linear map. */
  paToKva(pa: number): bigint {
    return this.linearMapBase + BigInt(pa);
  }

  /** Physical address of a linear-map kernel virtual address. @throws InvalidArgumentError outside the linear map. */
  kvaToPa(kva: AddressInput): number {
    const v = toAddress(kva, 'kernel virtual address');
    if (v < this.linearMapBase)
      throw new InvalidArgumentError('kernel virtual address', hex(v), 'an address in the linear map');
    return Number(v - this.linearMapBase);
  }

  // -------------------------------------------------------------------------
  // Processes

  /** Every process the kernel knows, alive or ended, by pid. */
  get allProcesses(): readonly Process[] {
    return [...this.processes.values()];
  }

  /** Live processes. */
  get liveProcesses(): readonly Process[] {
    return this.allProcesses.filter((p) => p.alive);
  }

  /** The process with `pid`. @throws NoProcessError */
  process(pid: number): Process {
    const p = this.processes.get(pid);
    if (!p) throw new NoProcessError(pid, 'unknown');
    return p;
  }

  private live(proc: Process): Process {
    if (!proc.alive) throw new NoProcessError(proc.pid, proc.state);
    return proc;
  }

  private allocAsid(): number {
    if (this.maxAsid === 0) return 0;
    const reused = this.freeAsids.pop();
    if (reused !== undefined) return reused;
    if (this.nextAsid > this.maxAsid) throw new NoMemoryError('an ASID (all in use)');
    return this.nextAsid++;
  }

  /**
   * Creates an empty process with the simple layout. Its root table is allocated lazily by
   * the first mapping (so creation cannot run out of memory).
   */
  createProcess(parentPid = 0): Process {
    const proc = new Process(this.nextPid++, this.allocAsid(), this.layout, parentPid);
    this.processes.set(proc.pid, proc);
    this.events.emit({ type: 'process', action: 'create', pid: proc.pid, detail: `ASID ${proc.asid}` });
    return proc;
  }

  private userSource(proc: Process): FrameSource {
    if (proc.tableSource) return proc.tableSource;
    proc.tableSource = {
      allocTable: () => {
        const pa = this.allocator.alloc('page-table', proc.pid);
        if (pa === 0) return -1;
        proc.tablePages++;
        return pa;
      },
      freeTable: (pa) => {
        this.allocator.free(pa);
        proc.tablePages--;
      },
    };
    return proc.tableSource;
  }

  /** Ensures the process has a root table; false when out of memory. */
  private ensureRoot(proc: Process): boolean {
    if (proc.root !== 0) return true;
    const pa = this.userSource(proc).allocTable(this.arch.geometry.rootLevel);
    if (pa < 0) return false;
    if (!this.arch.description.splitRoots) this.copyKernelHalf(pa);
    proc.root = pa;
    for (const cpu of this.cpus) cpu.refreshRoot(proc);
    return true;
  }

  /** Single-root formats: share the kernel half's root entries with a new user root. */
  private copyKernelHalf(rootPa: number): void {
    const d = this.arch.description;
    const g = this.arch.geometry;
    const per = g.entryPages[g.rootLevel]!;
    const n = d.rootTableBytes / d.descriptorBytes;
    const first = Math.floor(Number(d.kernelRange.start >> 12n) / per) % n;
    for (let i = first; i < n; i++) {
      if (i === this.recursiveSlot) continue;
      const [lo, hi] = this.editor.readRaw(this.editor.entryPa(this.kernelRoot, i));
      this.editor.writeRaw(this.editor.entryPa(rootPa, i), lo, hi);
    }
    if (this.recursiveSlot >= 0) this.installRecursive(rootPa);
  }

  private releaseRoot(proc: Process): void {
    if (proc.root === 0) return;
    const root = proc.root;
    proc.root = 0;
    for (const cpu of this.cpus) if (cpu.current === proc) cpu.switchTo(proc);
    this.memory.fill(root, PAGE_SIZE, 0);
    this.userSource(proc).freeTable(root, this.arch.geometry.rootLevel);
  }

  private userVpn(va: AddressInput, what: string): number {
    const v = toAddress(va, what);
    const d = this.arch.description;
    if (v < d.userRange.start || v >= d.userRange.end) {
      throw new InvalidArgumentError(
        what,
        hex(v),
        `an address in the user half ${hex(d.userRange.start)}..${hex(d.userRange.end)}`,
      );
    }
    if (v & 0xfffn) throw new InvalidArgumentError(what, hex(v), 'a page-aligned address');
    return Number(v >> 12n);
  }

  /**
   * Maps user page `va` to frame `pa` with `attrs`, building missing tables (and the root).
   * On failure nothing changes: tables built by this call, and a root created by it, are freed.
   * The frame's reference is the caller's: this call does not take one.
   */
  mapPage(proc: Process, va: AddressInput, pa: number, attrs: LeafAttributes): MapOutcome {
    return this.mapVpn(this.live(proc), this.userVpn(va, 'user address'), pa, attrs);
  }

  private mapVpn(proc: Process, vpn: number, pa: number, attrs: LeafAttributes): MapOutcome {
    const fresh = proc.root === 0;
    if (!this.ensureRoot(proc)) return { ok: false, reason: 'no-memory' };
    const res = this.editor.map(
      proc.root,
      vpn,
      pa,
      1,
      attrs,
      this.arch.defaults.userTable,
      this.userSource(proc),
      proc.asid,
    );
    if (!res.ok) {
      if (fresh) this.releaseRoot(proc);
      return { ok: false, reason: res.reason === 'no-memory' ? 'no-memory' : 'already-mapped' };
    }
    res.flush.ignore(); // a new translation replaces an absent one: nothing to invalidate
    this.mapped(proc, vpn, pa, attrs);
    return { ok: true };
  }

  /**
   * Allocates a zeroed frame and maps it at user page `va`. Returns the frame's kernel virtual
   * address (linear map), or 0 when out of memory — the seed's `allocate_user_page` contract;
   * nothing is left allocated then.
   */
  allocateUserPage(proc: Process, va: AddressInput, attrs: LeafAttributes): bigint {
    const vpn = this.userVpn(va, 'user address');
    const pa = this.allocUserVpn(this.live(proc), vpn, attrs);
    return pa === 0 ? 0n : this.paToKva(pa);
  }

  /** Allocate + map one page; returns the PA or 0 (nothing changed) on failure. */
  private allocUserVpn(proc: Process, vpn: number, attrs: LeafAttributes): number {
    const pa = this.allocator.alloc('user', proc.pid);
    if (pa === 0) return 0;
    if (!this.mapVpn(proc, vpn, pa, attrs).ok) {
      this.allocator.free(pa);
      return 0;
    }
    return pa;
  }

  /** Leaf attributes for a user mapping with permissions like `rw-`. */
  userAttributes(user: { read: boolean; write: boolean; execute: boolean }): LeafAttributes {
    return this.attrs.leaf({ user, memoryType: 'normal-wb', global: false });
  }

  /**
   * The entry on `va`'s walk where it stops: level 1 with an absent entry means the tables
   * exist but the page is not mapped (the seed's `lookup_pte_slot` returning a zero slot);
   * a higher level means a table is missing. Undefined when the process has no root yet.
   */
  lookup(proc: Process, va: AddressInput): ReturnType<PageTableEditor['lookup']> | undefined {
    const vpn = this.userVpn(va, 'user address');
    return proc.root === 0 ? undefined : this.editor.lookup(proc.root, vpn);
  }

  /**
   * Unmaps every user page whose address lies in [start, end) (seed semantics), frees the
   * frames (drops their references) and invalidates the TLBs once, per page up to the flush
   * threshold and ASID-wide above it. Page-table pages are kept. Returns the pages unmapped.
   */
  unmapUserRange(proc: Process, start: AddressInput, end: AddressInput): number {
    this.live(proc);
    const s = toAddress(start, 'start');
    const e = toAddress(end, 'end');
    if (e <= s || proc.root === 0) return 0;
    const sv = Number((s + 0xfffn) >> 12n);
    const ev = Number((e + 0xfffn) >> 12n);
    return this.unmapVpns(proc, Math.max(sv, this.userStartVpn), Math.min(ev, this.userEndVpn));
  }

  private unmapVpns(proc: Process, startVpn: number, endVpn: number, wholeSpace = false): number {
    if (proc.root === 0 || endVpn <= startVpn) return 0;
    const leaves: number[] = [];
    this.editor.forEachLeaf(proc.root, (leaf) => leaves.push(leaf.vpn), startVpn, endVpn);
    // Tearing down a whole address space: one ASID-wide invalidation instead of one per page.
    const flush = new FlushObligation(proc.asid, false, wholeSpace ? 0 : this.flushThreshold);
    if (wholeSpace) flush.addTableChange();
    for (const vpn of leaves) {
      const res = this.editor.unmap(proc.root, vpn, proc.asid);
      if (!res) continue;
      flush.merge(res.flush);
      proc.residentPages--;
      this.dropFrame(res.leaf.pa);
      if (this.events.active) {
        this.events.emit({
          type: 'unmap',
          space: `pid ${proc.pid}`,
          va: vaOf(vpn),
          pa: res.leaf.pa,
          sizeBytes: PAGE_SIZE,
        });
      }
    }
    this.discharge(flush);
    return leaves.length;
  }

  /** Drops one reference to a mapped frame (frames outside the pool, e.g. devices, are not counted). */
  private dropFrame(pa: number): void {
    if (this.allocator.stateOf(pa) === FrameState.USER) this.allocator.unref(pa);
  }

  /**
   * Runs the architecture's TLB maintenance for an obligation on every CPU (the broadcast
   * `…IS` forms) and marks it discharged.
   */
  discharge(flush: FlushObligation, initiator = 0): void {
    const need = flush.need();
    flush.markDischarged();
    if (need) this.invalidate(need, initiator);
  }

  private invalidate(need: TlbInvalidation, initiator: number): void {
    const ops = this.arch.tlbOperations(need);
    for (const op of ops) {
      for (const cpu of this.cpus) op.apply(cpu.tlb);
      if (this.events.active) {
        this.events.emit({
          type: 'tlb',
          cpu: initiator,
          op: op.name,
          ...(op.operand !== undefined ? { operand: op.operand } : {}),
        });
      }
    }
  }

  /**
   * Spawns a process from a program image: text mapped user r-x at the text base, data user rw-
   * at the data base, the top stack page mapped, break at the heap base. On out of memory
   * everything is undone and the result says so.
   */
  spawn(image: ProgramImage): { ok: true; process: Process } | { ok: false; errno: 'ENOMEM' } {
    const proc = this.createProcess();
    const text = this.userAttributes({ read: true, write: false, execute: true });
    const rw = this.anonAttrs;
    const ok =
      this.loadSegment(proc, this.layout.textBase, image.text, text) &&
      this.loadSegment(proc, this.layout.dataBase, image.data ?? new Uint8Array(0), rw) &&
      this.allocUserVpn(proc, proc.vpn.stackTop - 1, rw) !== 0;
    if (!ok) {
      this.teardown(proc, 'exited');
      this.processes.delete(proc.pid);
      return { ok: false, errno: 'ENOMEM' };
    }
    return { ok: true, process: proc };
  }

  private loadSegment(proc: Process, base: bigint, bytes: Uint8Array, attrs: LeafAttributes): boolean {
    const first = Number(base >> 12n);
    const pages = Math.ceil(bytes.length / PAGE_SIZE);
    for (let i = 0; i < pages; i++) {
      const pa = this.allocUserVpn(proc, first + i, attrs);
      if (pa === 0) return false;
      this.memory.writeBytes(pa, bytes.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    }
    return true;
  }

  /**
   * Forks `parent` by eager copy: every mapped user page is copied to a fresh frame and mapped
   * with the same attributes; the break is inherited. On out of memory the half-built child is
   * torn down completely and `ENOMEM` is returned.
   */
  fork(parent: Process): { ok: true; process: Process } | { ok: false; errno: 'ENOMEM' } {
    this.live(parent);
    const child = this.createProcess(parent.pid);
    child.setBrk(parent.brk);
    let ok = true;
    if (parent.root !== 0) {
      const leaves: { vpn: number; pa: number; attrs: LeafAttributes }[] = [];
      this.editor.forEachLeaf(
        parent.root,
        (l) => leaves.push({ vpn: l.vpn, pa: l.pa, attrs: l.attrs }),
        this.userStartVpn,
        this.userEndVpn,
      );
      for (const l of leaves) {
        const pa = this.allocUserVpn(child, l.vpn, l.attrs);
        if (pa === 0) {
          ok = false;
          break;
        }
        this.memory.copyFrame(pa / PAGE_SIZE, l.pa / PAGE_SIZE);
      }
    }
    if (!ok) {
      this.teardown(child, 'exited');
      this.processes.delete(child.pid);
      return { ok: false, errno: 'ENOMEM' };
    }
    this.events.emit({
      type: 'process',
      action: 'fork',
      pid: child.pid,
      detail: `from pid ${parent.pid}, ${child.residentPages} pages copied`,
    });
    return { ok: true, process: child };
  }

  /**
   * Sets the break (brk(2)). Growing only moves the break (pages are demand-faulted);
   * shrinking unmaps and frees the pages above the new break and invalidates the TLBs, so a
   * later grow faults in fresh zero pages. A break outside [heap base, stack guard) is refused
   * and the current break returned, as Linux does.
   */
  brk(proc: Process, newBrk: AddressInput): bigint {
    this.live(proc);
    const b = toAddress(newBrk, 'break');
    if (b < this.layout.heapBase || b > this.layout.stackGuardLow) return proc.brk;
    const old = proc.brk;
    if (b < old) this.unmapUserRange(proc, alignUp(b, 4096n), alignUp(old, 4096n));
    proc.setBrk(b);
    this.events.emit({ type: 'process', action: 'brk', pid: proc.pid, detail: `${hex(old)} → ${hex(b)}` });
    return b;
  }

  /** Ends a process: unmaps and frees every user page and table, releases its ASID. */
  exit(proc: Process): void {
    this.live(proc);
    this.teardown(proc, 'exited');
    this.events.emit({ type: 'process', action: 'exit', pid: proc.pid, detail: 'exited' });
  }

  private kill(proc: Process, reason: KillReason): void {
    if (!proc.alive) return;
    proc.killReason = reason;
    this.teardown(proc, 'killed');
    this.events.emit({ type: 'process', action: 'kill', pid: proc.pid, detail: reason });
  }

  private teardown(proc: Process, state: 'exited' | 'killed'): void {
    if (proc.root !== 0) {
      // Unmapping the whole user half ends with one ASID-wide invalidation (TLBI ASIDE1IS on
      // AArch64), which also makes the ASID safe to reuse.
      this.unmapVpns(proc, this.userStartVpn, this.userEndVpn, true);
      const src = this.userSource(proc);
      this.editor.freeSubtables(proc.root, src, this.userStartVpn, this.userEndVpn);
      this.releaseRoot(proc);
    }
    proc.state = state;
    for (const cpu of this.cpus) if (cpu.current === proc) cpu.switchTo(undefined);
    if (this.maxAsid > 0) this.freeAsids.push(proc.asid);
  }

  // -------------------------------------------------------------------------
  // Faults

  /**
   * The fault handler, called by a CPU (see {@link Cpu.translate}). Dispatches on the neutral
   * fault kind and on the simple layout's regions, as seed `000_…` does.
   */
  onFault(
    cpu: Cpu,
    proc: Process,
    vpn: number,
    offset: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    r: WalkResult,
    soft: boolean,
  ): FaultOutcomeCode {
    if (!this.events.active) return this.resolveFault(proc, vpn, access, r, soft).outcome;
    // Report the fault before what its handler did (allocations, mappings, a kill).
    return this.events.hold(
      () => this.resolveFault(proc, vpn, access, r, soft),
      (res) => this.emitFault(cpu, proc, vpn, offset, access, privilege, r, res.resolution),
    ).outcome;
  }

  private resolveFault(
    proc: Process,
    vpn: number,
    access: AccessKind,
    r: WalkResult,
    soft: boolean,
  ): { outcome: FaultOutcomeCode; resolution: string } {
    const kind = r.faultKind;
    if (kind === Fault.AccessFlag) {
      // Software access-flag management: set AF and retry (no TLBI needed: AF=0 is never cached).
      const ref = this.editor.lookup(proc.root, vpn);
      if (ref.entry.kind === 'leaf') {
        this.editor.writeEntry(
          ref.descriptorPa,
          { ...ref.entry, attrs: { ...ref.entry.attrs, accessed: true } },
          ref.level,
        );
      }
      return { outcome: FaultOutcome.Retry, resolution: 'access flag set' };
    }
    let reason: KillReason;
    if (kind === Fault.Translation && access !== 2) {
      const region = this.regionOfVpn(proc, vpn);
      if (region === 'heap' || region === 'stack') {
        if (this.demandZero(proc, vpn, r)) {
          return { outcome: FaultOutcome.Retry, resolution: `demand-zero ${region} page` };
        }
        reason = 'out of memory';
      } else {
        reason =
          region === 'stack-guard' ? 'stack overflow' : region === 'text' ? 'text fault' : 'invalid address';
      }
    } else {
      reason =
        access === 2
          ? 'exec fault'
          : kind === Fault.Permission
            ? 'permission fault'
            : kind === Fault.Alignment
              ? 'alignment fault'
              : 'invalid address';
    }
    if (soft) return { outcome: FaultOutcome.Refused, resolution: `EFAULT (${reason})` };
    return { outcome: this.killed(proc, reason), resolution: `killed: ${reason}` };
  }

  /**
   * Maps a fresh zero page for a demand fault. When the walk stopped at an empty slot of an
   * existing leaf table, the PTE is written straight into that slot (the walk already found it);
   * otherwise the general path builds the missing tables. False when out of memory (nothing changed).
   */
  private demandZero(proc: Process, vpn: number, r: WalkResult): boolean {
    const t = this.anonTemplate;
    const dpa = r.descriptorPa;
    if (t === undefined || r.faultLevel !== 1 || dpa === 0 || proc.root === 0) {
      return this.allocUserVpn(proc, vpn, this.anonAttrs) !== 0;
    }
    const mem = this.memory;
    const wide = this.arch.description.descriptorBytes === 8;
    if (mem.read32(dpa) !== 0 || (wide && mem.read32(dpa + 4) !== 0)) {
      return this.allocUserVpn(proc, vpn, this.anonAttrs) !== 0; // not an absent entry
    }
    const pa = this.allocator.alloc('user', proc.pid);
    if (pa === 0) return false;
    mem.write32(dpa, (t.lo | (pa >>> 0)) >>> 0);
    if (wide) mem.write32(dpa + 4, (t.hi | Math.floor(pa / TWO_32)) >>> 0);
    this.mapped(proc, vpn, pa, this.anonAttrs);
    return true;
  }

  /** Bookkeeping after a user page was mapped: the resident count and the `map` event. */
  private mapped(proc: Process, vpn: number, pa: number, attrs: LeafAttributes): void {
    proc.residentPages++;
    if (this.events.active) {
      this.events.emit({
        type: 'map',
        space: `pid ${proc.pid}`,
        va: vaOf(vpn),
        pa,
        sizeBytes: PAGE_SIZE,
        perms: describeAttrs(attrs),
      });
    }
  }

  private killed(proc: Process, reason: KillReason): FaultOutcomeCode {
    // Record the reason first: the teardown below emits the kill event.
    this.kill(proc, reason);
    return FaultOutcome.Killed;
  }

  private regionOfVpn(
    proc: Process,
    vpn: number,
  ): 'heap' | 'stack' | 'stack-guard' | 'text' | 'data' | 'none' {
    const v = proc.vpn;
    if (vpn >= v.heap && vpn < proc.brkVpn) return 'heap';
    if (vpn >= v.stackLow && vpn < v.stackTop) return 'stack';
    if (vpn >= v.guard && vpn < v.stackLow) return 'stack-guard';
    if (vpn >= v.text && vpn < v.data) return 'text';
    if (vpn >= v.data && vpn < v.heap) return 'data';
    return 'none';
  }

  private emitFault(
    cpu: Cpu,
    proc: Process,
    vpn: number,
    offset: number,
    access: AccessKind,
    privilege: PrivilegeLevel,
    r: WalkResult,
    resolution: string,
  ): void {
    const level =
      r.faultLevel > 0 ? (this.arch.description.levels[r.faultLevel - 1]?.name ?? `${r.faultLevel}`) : '-';
    const kind = FAULT_KINDS[r.faultKind] ?? 'unknown';
    const syndrome =
      r.faultKind === Fault.Alignment
        ? this.arch.syndromes.encode({ kind: 'alignment', level: 0, access, privilege })
        : (BigInt(r.syndromeHi) << 32n) | BigInt(r.syndrome >>> 0);
    const [synReg, addrReg] = this.arch.description.faultRegisters;
    const va = vaOf(vpn, offset);
    this.events.emit({
      type: 'fault',
      pid: proc.pid,
      va,
      access: ACCESS_NAMES[access],
      privilege: PRIVILEGE_NAMES[privilege],
      kind,
      level,
      syndrome,
      detail: `${synReg}=${hex(syndrome)} ${addrReg}=${hex(va, 16)} (${kind} fault at ${level}, ${PRIVILEGE_NAMES[privilege]} ${ACCESS_NAMES[access]}) on cpu ${cpu.id}`,
      resolution,
    });
  }

  /** Decodes a raw syndrome with the backend and runs the fault handler for `va` (seed-style entry point). */
  handleSyndrome(proc: Process, va: AddressInput, syndrome: bigint, cpu = 0): 'resolved' | 'killed' {
    this.live(proc);
    const v = toAddress(va, 'fault address');
    const dec = this.arch.syndromes.decode(syndrome);
    const r = this.cpus[cpu]!.result;
    r.ok = false;
    r.faultKind = dec.kind === 'other' ? Fault.Translation : FAULT_KINDS.indexOf(dec.kind);
    r.faultLevel = dec.level;
    r.syndrome = Number(syndrome & 0xffff_ffffn);
    r.syndromeHi = Number((syndrome >> 32n) & 0xffff_ffffn);
    const out = this.onFault(
      this.cpus[cpu]!,
      proc,
      Number(v >> 12n),
      Number(v & 0xfffn),
      dec.access,
      dec.privilege,
      r,
      false,
    );
    return out === FaultOutcome.Retry ? 'resolved' : 'killed';
  }

  // -------------------------------------------------------------------------
  // User accesses through a CPU

  private cpuFor(proc: Process, cpuIndex: number): Cpu {
    const cpu = this.cpus[cpuIndex];
    if (!cpu) throw new InvalidArgumentError('cpu', cpuIndex, `0..${this.cpus.length - 1}`);
    cpu.switchTo(this.live(proc));
    return cpu;
  }

  /** The failed-access result after a killing fault. */
  private outcomeOf(proc: Process): AccessResult<never> {
    return { ok: false, killed: proc.killReason ?? 'invalid address' };
  }

  /**
   * A user load of 1, 2, 4 or 8 bytes (little-endian; 8-byte values are bigints). Faults are
   * handled as the hardware and kernel would; a killing fault returns the kill reason.
   */
  load(
    proc: Process,
    va: AddressInput,
    sizeBytes: 1 | 2 | 4 | 8 = 8,
    cpuIndex = 0,
  ): AccessResult<number | bigint> {
    return this.accessValue(proc, va, sizeBytes, 0, 0, cpuIndex);
  }

  /** A user store of 1, 2, 4 or 8 bytes. */
  store(
    proc: Process,
    va: AddressInput,
    sizeBytes: 1 | 2 | 4 | 8,
    value: number | bigint,
    cpuIndex = 0,
  ): AccessResult<void> {
    return this.accessValue(proc, va, sizeBytes, 1, value, cpuIndex) as AccessResult<void>;
  }

  /** A user instruction fetch of 1, 2, 4 (default; an A64 instruction) or 8 bytes. */
  fetch(
    proc: Process,
    va: AddressInput,
    sizeBytes: 1 | 2 | 4 | 8 = 4,
    cpuIndex = 0,
  ): AccessResult<number | bigint> {
    return this.accessValue(proc, va, sizeBytes, 2, 0, cpuIndex);
  }

  private accessValue(
    proc: Process,
    va: AddressInput,
    size: 1 | 2 | 4 | 8,
    access: AccessKind,
    value: number | bigint,
    cpuIndex: number,
  ): AccessResult<number | bigint> {
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8)
      throw new InvalidArgumentError('access size', size, '1, 2, 4 or 8');
    const cpu = this.cpuFor(proc, cpuIndex);
    let vpn: number;
    let off: number;
    if (typeof va === 'number' && Number.isSafeInteger(va) && va >= 0) {
      off = va % PAGE_SIZE; // number fast path: no BigInt per access
      vpn = (va - off) / PAGE_SIZE;
    } else {
      const v = toAddress(va, 'user address');
      vpn = Number(v >> 12n);
      off = Number(v & 0xfffn);
    }
    if (off + size > PAGE_SIZE) {
      const v = vaOf(vpn, off);
      // Crosses a page: byte by byte, each translated (both pages must be accessible).
      const bytes = new Uint8Array(size);
      if (access === 1) {
        let x = BigInt(value);
        for (let i = 0; i < size; i++, x >>= 8n) bytes[i] = Number(x & 0xffn);
      }
      const res = this.accessBytes(proc, cpu, v, bytes, access, Privilege.User, false);
      if (!res) return this.outcomeOf(proc);
      let out = 0n;
      for (let i = size - 1; i >= 0; i--) out = (out << 8n) | BigInt(bytes[i]!);
      return { ok: true, value: size === 8 ? out : Number(out) };
    }
    const pfn = cpu.translate(proc, vpn, off, size, access, Privilege.User, false);
    if (pfn < 0) return this.outcomeOf(proc);
    const pa = pfn * PAGE_SIZE + off;
    if (access === 1) {
      this.memory.writeN(pa, size, value);
      return { ok: true, value: 0 };
    }
    return { ok: true, value: this.memory.readN(pa, size) };
  }

  /** Reads `length` bytes of user memory as the process would (user privilege, faults handled). */
  readUser(proc: Process, va: AddressInput, length: number, cpuIndex = 0): AccessResult<Uint8Array> {
    const cpu = this.cpuFor(proc, cpuIndex);
    const out = new Uint8Array(length);
    return this.accessBytes(proc, cpu, toAddress(va, 'user address'), out, 0, Privilege.User, false)
      ? { ok: true, value: out }
      : this.outcomeOf(proc);
  }

  /** Writes bytes to user memory as the process would. */
  writeUser(proc: Process, va: AddressInput, data: Uint8Array, cpuIndex = 0): AccessResult<void> {
    const cpu = this.cpuFor(proc, cpuIndex);
    return this.accessBytes(proc, cpu, toAddress(va, 'user address'), data, 1, Privilege.User, false)
      ? { ok: true, value: undefined }
      : this.outcomeOf(proc);
  }

  private accessBytes(
    proc: Process,
    cpu: Cpu,
    va: bigint,
    buf: Uint8Array,
    access: AccessKind,
    privilege: PrivilegeLevel,
    soft: boolean,
  ): boolean {
    let done = 0;
    let vpn = Number(va >> 12n);
    let off = Number(va & 0xfffn);
    while (done < buf.length) {
      const n = Math.min(buf.length - done, PAGE_SIZE - off);
      const pfn = cpu.translate(proc, vpn, off, 1, access, privilege, soft);
      if (pfn < 0) return false;
      const pa = pfn * PAGE_SIZE + off;
      if (access === 1) this.memory.writeBytes(pa, buf.subarray(done, done + n));
      else buf.set(this.memory.readBytes(pa, n), done);
      done += n;
      vpn++;
      off = 0;
    }
    return true;
  }

  // -------------------------------------------------------------------------
  // copy_from_user / copy_to_user (the soft path)

  /**
   * Checks and prefaults [va, va + length) for a kernel access on behalf of the process:
   * heap and stack pages are demand-allocated; anything else, an overflow, a range past the
   * stack top, or out of memory is EFAULT — never a kill (seed `check_and_prefault_user_range`).
   */
  prefaultUserRange(
    proc: Process,
    va: AddressInput,
    length: number,
    write = false,
    cpuIndex = 0,
  ): CopyResult<void> {
    this.live(proc);
    if (!Number.isSafeInteger(length) || length < 0)
      throw new InvalidArgumentError('length', length, 'a non-negative safe integer');
    const v = toAddress(va, 'user address');
    const end = v + BigInt(length);
    if (end >= 1n << 64n || end > this.layout.stackTop) return { ok: false, errno: 'EFAULT' };
    if (length === 0) return { ok: true, value: undefined };
    const cpu = this.cpuFor(proc, cpuIndex);
    const last = Number((end - 1n) >> 12n);
    for (let vpn = Number(v >> 12n); vpn <= last; vpn++) {
      if (cpu.translate(proc, vpn, 0, 1, write ? 1 : 0, Privilege.User, true) < 0)
        return { ok: false, errno: 'EFAULT' };
    }
    return { ok: true, value: undefined };
  }

  /** copy_from_user: reads user memory for the kernel; a bad pointer is EFAULT, never a kill. */
  copyFromUser(proc: Process, va: AddressInput, length: number, cpuIndex = 0): CopyResult<Uint8Array> {
    const pre = this.prefaultUserRange(proc, va, length, false, cpuIndex);
    if (!pre.ok) return pre;
    const out = new Uint8Array(length);
    if (length === 0) return { ok: true, value: out };
    const cpu = this.cpuFor(proc, cpuIndex);
    return this.accessBytes(proc, cpu, toAddress(va), out, 0, Privilege.User, true)
      ? { ok: true, value: out }
      : { ok: false, errno: 'EFAULT' };
  }

  /** copy_to_user: writes user memory for the kernel; a bad pointer is EFAULT, never a kill. */
  copyToUser(proc: Process, va: AddressInput, data: Uint8Array, cpuIndex = 0): CopyResult<void> {
    const pre = this.prefaultUserRange(proc, va, data.length, true, cpuIndex);
    if (!pre.ok) return pre;
    if (data.length === 0) return { ok: true, value: undefined };
    const cpu = this.cpuFor(proc, cpuIndex);
    return this.accessBytes(proc, cpu, toAddress(va), data, 1, Privilege.User, true)
      ? { ok: true, value: undefined }
      : { ok: false, errno: 'EFAULT' };
  }

  // -------------------------------------------------------------------------
  // Introspection helpers used by audit and export

  /** @internal Walk bounds for the user half (page numbers). */
  get userVpnRange(): { start: number; end: number } {
    return { start: this.userStartVpn, end: this.userEndVpn };
  }

  /** @internal Page number that index 0 of the kernel root maps. */
  get kernelRootBaseVpn(): number {
    return this.kernelBaseVpn;
  }
}

/** Short permission string of leaf attributes: `user rw- kernel rw-`. */
export function describeAttrs(a: LeafAttributes): string {
  const f = (p: { read: boolean; write: boolean; execute: boolean }) =>
    `${p.read ? 'r' : '-'}${p.write ? 'w' : '-'}${p.execute ? 'x' : '-'}`;
  return `user ${f(a.user)} kernel ${f(a.kernel)} ${a.memoryType}${a.global ? ' global' : ''}`;
}

export type { FramePurpose };
