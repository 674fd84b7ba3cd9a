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
  EventStream,
  FAULT_KINDS,
  Fault,
  type FlushObligation,
  type FramePurpose,
  type FrameSource,
  hex,
  InvalidArgumentError,
  isMmError,
  type LeafAttributes,
  type LeafTemplate,
  leafTemplate,
  MEMORY_TYPES,
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
  toAddress,
  vaOf,
  type WalkResult,
} from '@mmkit/core';
import { anonVma, type ProcessVma, SharedObject, type VmaValue, vmaWith } from './address-space.js';
import { AttributeChooser, type MappingRequest } from './attributes.js';
import { Cpu, type FaultHandler, FaultOutcome, type FaultOutcomeCode } from './cpu.js';
import { elfPageBytes, parseElf64, planElfLoad } from './elf.js';
import { buildInitialStack, linuxAuxv } from './initial-stack.js';
import { type SimpleLayout, simpleLayoutFor } from './layout.js';
import type { MachineDescription } from './machine.js';
import { FrameState, PageAllocator } from './page-allocator.js';
import { procMaps, procSmaps } from './proc-maps.js';
import { type KillReason, type KillSignal, Process } from './process.js';
import { type Errno, fail, MAP, MREMAP, ok, PROT, protString, type SysResult } from './syscalls.js';

const SEGV_MAPERR: KillSignal = { signal: 'SIGSEGV', code: 'SEGV_MAPERR' };
const SEGV_ACCERR: KillSignal = { signal: 'SIGSEGV', code: 'SEGV_ACCERR' };
const SEGV_OOM: KillSignal = { signal: 'SIGSEGV', code: 'SEGV_OOM' };
const BUS_ADRALN: KillSignal = { signal: 'SIGBUS', code: 'BUS_ADRALN' };

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

/** Result of a user access. */
export type AccessResult<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly killed: KillReason;
      readonly signal?: KillSignal['signal'];
      readonly code?: KillSignal['code'];
    };

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
    const none = { read: false, write: false, execute: false };
    const rw = { read: true, write: true, execute: false };
    const kernelRw: MappingRequest = { user: none, kernel: rw, memoryType: 'normal-wb', global: true };
    const deviceRw: MappingRequest = { user: none, kernel: rw, memoryType: 'device', global: true };
    // The linear map ends where the kernel half ends (or at the recursive slot): on 32-bit x86
    // that is 1 GiB - 4 MiB of RAM, the rest is reachable only through other mappings (highmem).
    const d = this.arch.description;
    let vaEnd = d.kernelRange.end;
    if (this.recursiveSlot >= 0) {
      vaEnd = vaOf(this.editor.rootEntryVpn(this.recursiveSlot, this.kernelBaseVpn));
    }
    const limit = vaEnd - this.linearMapBase;
    const unmapped = this.unmappedPhysical as { start: number; end: number; what: string }[];
    const mapCapped = (start: number, end: number, req: MappingRequest, what: string) => {
      const cap = limit < BigInt(end) ? Number(limit > 0n ? limit : 0n) : end;
      if (cap < end) unmapped.push({ start: Math.max(start, cap), end, what });
      if (start < cap) this.mapKernelRange(start, cap, req, what);
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
      const res = this.editor.map({
        root: this.emptyUserRoot,
        vpn: pa / PAGE_SIZE,
        pa,
        level: 1,
        attrs,
        tableAttrs: this.arch.defaults.kernelTable,
        source: this.kernelSource,
      });
      if (!res.ok && res.reason === 'no-memory') throw new NoMemoryError('the identity map');
    }
  }

  /** Maps [startPa, endPa) at linearMapBase + pa with the largest leaves that fit. */
  private mapKernelRange(startPa: number, endPa: number, req: MappingRequest, what: string): void {
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
        const res = this.editor.map({
          root: this.kernelRoot,
          vpn,
          pa,
          level,
          attrs: this.attrs.leaf(req, level),
          tableAttrs: this.arch.defaults.kernelTable,
          source: this.kernelSource,
        });
        if (!res.ok && res.reason === 'no-memory') throw new NoMemoryError(`kernel tables (${what})`);
        pa += size;
        mapped = true;
        break;
      }
      if (!mapped) throw new InvalidArgumentError(what, hex(pa), 'a page-aligned range');
    }
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
    // The stack: one page below STACK_TOP, growing down on faults to STACK_LOW.
    proc.vmas.insert(
      proc.vpn.stackTop - 1,
      proc.vpn.stackTop,
      anonVma(PROT.READ | PROT.WRITE, '[stack]', { growsDown: true }),
    );
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
    // Raw mappings (the seed's map_page) get a VMA of their own if no VMA covers the page, so
    // invariant 3 (no PTE outside a VMA) holds for them too.
    const covering = proc.vmas.find(vpn);
    if (!covering) {
      const prot =
        (attrs.user.read ? PROT.READ : 0) |
        (attrs.user.write ? PROT.WRITE : 0) |
        (attrs.user.execute ? PROT.EXEC : 0);
      proc.vmas.insert(vpn, vpn + 1, anonVma(prot, 'mapped'));
    }
    const res = this.mapVpnRaw(proc, vpn, pa, attrs);
    if (!res.ok && !covering) proc.vmas.removeRange(vpn, vpn + 1);
    return res;
  }

  private mapVpnRaw(proc: Process, vpn: number, pa: number, attrs: LeafAttributes): MapOutcome {
    const fresh = proc.root === 0;
    if (!this.ensureRoot(proc)) return { ok: false, reason: 'no-memory' };
    const res = this.editor.map({
      root: proc.root,
      vpn,
      pa,
      level: 1,
      attrs,
      tableAttrs: this.arch.defaults.userTable,
      source: this.userSource(proc),
    });
    if (!res.ok) {
      if (fresh) this.releaseRoot(proc);
      return { ok: false, reason: res.reason === 'no-memory' ? 'no-memory' : 'already-mapped' };
    }
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

  /**
   * Allocate + map one page; returns the PA or 0 (nothing changed) on failure. `raw` maps without
   * creating a VMA (the caller's VMAs cover the page).
   */
  private allocUserVpn(proc: Process, vpn: number, attrs: LeafAttributes, raw = false): number {
    const pa = this.allocator.alloc('user', proc.pid);
    if (pa === 0) return 0;
    if (!(raw ? this.mapVpnRaw(proc, vpn, pa, attrs) : this.mapVpn(proc, vpn, pa, attrs)).ok) {
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
    const sv = Math.max(Number((s + 0xfffn) >> 12n), this.userStartVpn);
    const ev = Math.min(Number((e + 0xfffn) >> 12n), this.userEndVpn);
    if (ev <= sv) return 0;
    const before = proc.residentPages;
    this.unmapRange(proc, sv, ev);
    return before - proc.residentPages;
  }

  private unmapVpns(
    proc: Process,
    startVpn: number,
    endVpn: number,
    wholeSpace = false,
    into?: FlushObligation,
  ): number {
    if (proc.root === 0 || endVpn <= startVpn) return 0;
    // Tearing down a whole address space: one ASID-wide invalidation instead of one per page.
    const flush =
      into ?? this.editor.newFlush({ asid: proc.asid, threshold: wholeSpace ? 0 : this.flushThreshold });
    if (wholeSpace) flush.addTableChange();
    const g = this.arch.geometry;
    const emit = this.events.active;
    const removed = this.editor.clearLeaves({ root: proc.root, startVpn, endVpn, flush }, (leaf) => {
      const pages = g.entryPages[leaf.level]!;
      proc.residentPages -= pages;
      for (let i = 0; i < pages; i++) this.dropFrame(leaf.pa + i * PAGE_SIZE);
      if (emit) {
        this.events.emit({
          type: 'unmap',
          space: `pid ${proc.pid}`,
          va: vaOf(leaf.vpn),
          pa: leaf.pa,
          sizeBytes: pages * PAGE_SIZE,
        });
      }
    });
    if (!into) this.discharge(flush);
    return removed;
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
    if (!this.exec(proc, image).ok) {
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
    child.vmas.clear();
    parent.vmas.forEach((v) => {
      child.vmas.insert(v.startVpn, v.endVpn, v.value);
    });
    let ok = true;
    if (parent.root !== 0) {
      const leaves: { vpn: number; pa: number; level: number; attrs: LeafAttributes }[] = [];
      this.editor.forEachLeaf(
        { root: parent.root, startVpn: this.userStartVpn, endVpn: this.userEndVpn },
        (l) => leaves.push({ vpn: l.vpn, pa: l.pa, level: l.level, attrs: l.attrs }),
      );
      const g = this.arch.geometry;
      for (const l of leaves) {
        const vma = parent.vmas.find(l.vpn);
        if (vma && (vma.value.shm || vma.value.kind === 'device')) {
          // MAP_SHARED and device pages are shared with the child, not copied.
          if (!this.mapVpnRaw(child, l.vpn, l.pa, l.attrs).ok) {
            ok = false;
            break;
          }
          if (vma.value.shm) this.allocator.ref(l.pa);
          continue;
        }
        const pages = g.entryPages[l.level]!;
        if (!this.copyLeaf(child, l.vpn, l.pa, l.level, pages, l.attrs)) {
          ok = false;
          break;
        }
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

  /** Copies one private leaf into `child` (a huge leaf stays huge when a contiguous run is free). */
  private copyLeaf(
    child: Process,
    vpn: number,
    srcPa: number,
    level: number,
    pages: number,
    attrs: LeafAttributes,
  ): boolean {
    if (pages > 1) {
      const pa = this.allocator.allocContiguous(pages, pages, 'user', child.pid);
      if (pa !== 0 && this.ensureRoot(child)) {
        const res = this.editor.map({
          root: child.root,
          vpn,
          pa,
          level,
          attrs,
          tableAttrs: this.arch.defaults.userTable,
          source: this.userSource(child),
        });
        if (res.ok) {
          for (let i = 0; i < pages; i++) this.memory.copyFrame(pa / PAGE_SIZE + i, srcPa / PAGE_SIZE + i);
          child.residentPages += pages;
          return true;
        }
      }
      if (pa !== 0) this.allocator.freeContiguous(pa, pages);
      // Fall back to 4 KiB copies.
      const small = this.attrs.leaf({ user: attrs.user, memoryType: attrs.memoryType, global: false });
      for (let i = 0; i < pages; i++)
        if (!this.copyLeaf(child, vpn + i, srcPa + i * PAGE_SIZE, 1, 1, small)) return false;
      return true;
    }
    const pa = this.allocUserVpn(child, vpn, attrs, true);
    if (pa === 0) return false;
    this.memory.copyFrame(pa / PAGE_SIZE, srcPa / PAGE_SIZE);
    return true;
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
    if (b < proc.layout.heapBase || b > proc.layout.stackGuardLow) return proc.brk;
    const old = proc.brk;
    const oldEnd = proc.brkVpn;
    const newEnd = Number((b + 0xfffn) >> 12n);
    if (newEnd > oldEnd) {
      // Growing: the heap VMA [heapBase, brk) must not run into another mapping (Linux refuses).
      // Linux keeps one free page between the break and the next mapping (find_vma_intersection(…, newbrk + PAGE_SIZE)).
      if (proc.vmas.findIntersection(oldEnd, newEnd + 1)) return proc.brk;
      proc.vmas.insert(oldEnd, newEnd, anonVma(PROT.READ | PROT.WRITE, '[heap]'));
    } else if (newEnd < oldEnd) {
      this.unmapRange(proc, newEnd, oldEnd);
    }
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

  private kill(proc: Process, reason: KillReason, signal?: KillSignal): void {
    if (!proc.alive) return;
    proc.killReason = reason;
    proc.killSignal = signal;
    this.teardown(proc, 'killed');
    this.events.emit({ type: 'process', action: 'kill', pid: proc.pid, detail: reason });
  }

  private teardown(proc: Process, state: 'exited' | 'killed'): void {
    this.clearUserSpace(proc);
    proc.state = state;
    for (const cpu of this.cpus) if (cpu.current === proc) cpu.switchTo(undefined);
    if (this.maxAsid > 0) this.freeAsids.push(proc.asid);
  }

  /** Frees every user page, table and VMA of a process, keeping the kernel half (exec's clear_user_space). */
  private clearUserSpace(proc: Process): void {
    if (proc.root !== 0) {
      // Unmapping the whole user half ends with one ASID-wide invalidation (TLBI ASIDE1IS on
      // AArch64), which also makes the ASID safe to reuse.
      this.unmapVpns(proc, this.userStartVpn, this.userEndVpn, true);
      const src = this.userSource(proc);
      this.editor.freeSubtables({
        root: proc.root,
        source: src,
        startVpn: this.userStartVpn,
        endVpn: this.userEndVpn,
      });
      this.releaseRoot(proc);
    }
    const objects = this.sharedObjectsOf(proc);
    proc.vmas.clear();
    this.releaseUnusedObjects(objects);
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

  // -------------------------------------------------------------------------
  // Address-space operations (the syscall-style facade: mmap, munmap, mprotect, mremap)

  /**
   * Unmaps the pages [startVpn, endVpn) of a process: huge leaves straddling an end are split
   * first (so exactly the pages inside go), the VMAs are trimmed, split or removed, every leaf
   * inside is cleared and its frames released, page-table pages left empty between the
   * neighbouring VMAs are freed, and the TLBs are invalidated once (per page up to the flush
   * threshold, then ASID-wide). Returns false, with nothing changed, when a split runs out of memory.
   */
  private unmapRange(proc: Process, startVpn: number, endVpn: number): boolean {
    if (endVpn <= startVpn) return true;
    if (!this.splitAt(proc, startVpn) || !this.splitAt(proc, endVpn)) return false;
    this.clearContiguous(proc, startVpn, endVpn); // before any entry of a hinted group changes
    const removed = proc.vmas.removeRange(startVpn, endVpn);
    if (proc.root !== 0) {
      const flush = this.editor.newFlush({ asid: proc.asid, threshold: this.flushThreshold });
      this.unmapVpns(proc, startVpn, endVpn, false, flush);
      // Page-table pages that no longer cover any VMA (Linux free_pgtables).
      const lo = proc.vmas.findLastBefore(startVpn)?.endVpn ?? this.userStartVpn;
      const hi = proc.vmas.findFirstAtOrAfter(endVpn)?.startVpn ?? this.userEndVpn;
      const pruned = this.editor.pruneEmptyTables({
        root: proc.root,
        startVpn: lo,
        endVpn: hi,
        source: this.userSource(proc),
        asid: proc.asid,
      });
      flush.merge(pruned.flush);
      this.discharge(flush);
    }
    const objects = new Set<SharedObject>();
    for (const v of removed) if (v.value.shm) objects.add(v.value.shm);
    this.releaseUnusedObjects(objects);
    return true;
  }

  /** Splits huge leaves until none straddles page `vpn`. False when out of memory. */
  private splitAt(proc: Process, vpn: number): boolean {
    if (proc.root === 0) return true;
    for (;;) {
      const ref = this.editor.lookup(proc.root, vpn);
      if (ref.entry.kind !== 'leaf' || ref.level === 1) return true;
      const pages = this.arch.geometry.entryPages[ref.level]!;
      if (vpn % pages === 0) return true;
      const res = this.editor.prepareSplit({
        root: proc.root,
        vpn,
        source: this.userSource(proc),
        tableAttrs: this.arch.defaults.userTable,
        asid: proc.asid,
      });
      if (!res.ok) return false;
      this.discharge(res.plan.break());
      res.plan.make();
    }
  }

  /** Clears the Contiguous hint of every group that has a page in [startVpn, endVpn) (before any of them changes). */
  private clearContiguous(proc: Process, startVpn: number, endVpn: number): void {
    const n = this.arch.description.capabilities.contiguousEntries;
    if (n === 0 || proc.root === 0) return;
    // Only device mappings ever carry the hint (see setContiguousRuns).
    let device = false;
    proc.vmas.forEach(
      (v) => {
        if (v.value.kind === 'device') device = true;
      },
      Math.max(0, startVpn - n),
      endVpn + n,
    );
    if (!device) return;
    const groups = new Set<number>();
    this.editor.forEachLeaf({ root: proc.root, startVpn, endVpn }, (leaf) => {
      if (leaf.attrs.contiguous && leaf.level === 1) groups.add(leaf.vpn - (leaf.vpn % n));
    });
    for (const g of groups) {
      const plan = this.editor.prepareContiguousRun({
        root: proc.root,
        vpn: g,
        count: n,
        on: false,
        asid: proc.asid,
      });
      if (plan) {
        this.discharge(plan.break());
        plan.make();
      }
    }
  }

  /** The shared objects a process's VMAs refer to. */
  private sharedObjectsOf(proc: Process): Set<SharedObject> {
    const out = new Set<SharedObject>();
    proc.vmas.forEach((v) => {
      if (v.value.shm) out.add(v.value.shm);
    });
    return out;
  }

  /** Every shared object some live process still maps (for the auditor). */
  sharedObjects(): Set<SharedObject> {
    const out = new Set<SharedObject>();
    for (const p of this.processes.values()) if (p.alive) for (const o of this.sharedObjectsOf(p)) out.add(o);
    return out;
  }

  /** Frees the pages of shared objects that no VMA of any process refers to any more. */
  private releaseUnusedObjects(objects: Set<SharedObject>): void {
    if (objects.size === 0) return;
    const used = this.sharedObjects();
    for (const o of objects) {
      if (used.has(o)) continue;
      for (const pa of o.pages.values()) this.allocator.unref(pa);
      o.pages.clear();
    }
  }

  /** Lowest address mmap places mappings at (Linux's default mmap_min_addr, 64 KiB). */
  private static readonly MMAP_MIN_VPN = 16;

  /** Top of the mmap area: 128 MiB below the stack guard (Linux leaves a gap below the stack). */
  private mmapTopVpn(proc: Process): number {
    return Math.max(Kernel.MMAP_MIN_VPN, proc.vpn.guard - 32_768);
  }

  /**
   * mmap(2) for anonymous memory (private or shared) and, with `opts.physical`, physical/device
   * ranges (a framebuffer, an MMIO window). POSIX/Linux semantics: exactly one of MAP_SHARED and
   * MAP_PRIVATE; length rounded up to pages; MAP_FIXED replaces what was there; MAP_FIXED_NOREPLACE
   * fails with EEXIST over a mapping; otherwise `addr` is a hint and placement is top-down below
   * the stack gap; MAP_POPULATE faults everything in; MAP_HUGETLB uses huge leaves where whole
   * aligned ones fit. Lazy demand-zero by default. On failure nothing changed.
   */
  mmap(
    proc: Process,
    addr: AddressInput,
    length: AddressInput,
    prot: number,
    flags: number,
    opts: {
      readonly name?: string;
      readonly physical?: number;
      readonly memoryType?: VmaValue['memoryType'];
    } = {},
  ): SysResult<bigint> {
    this.live(proc);
    if (!Number.isInteger(prot) || prot < 0 || prot & ~7)
      return fail('EINVAL', `prot ${prot}: only PROT_READ|PROT_WRITE|PROT_EXEC bits`);
    const known =
      MAP.SHARED |
      MAP.PRIVATE |
      MAP.FIXED |
      MAP.ANONYMOUS |
      MAP.GROWSDOWN |
      MAP.POPULATE |
      MAP.HUGETLB |
      MAP.FIXED_NOREPLACE;
    if (!Number.isInteger(flags) || flags < 0 || flags & ~known)
      return fail('EINVAL', `flags ${hex(flags)}: unknown bits`);
    const shared = (flags & MAP.SHARED) !== 0;
    if (shared === ((flags & MAP.PRIVATE) !== 0))
      return fail('EINVAL', 'flags: exactly one of MAP_SHARED and MAP_PRIVATE');
    const physical = opts.physical;
    if (physical === undefined && !(flags & MAP.ANONYMOUS))
      return fail('EINVAL', 'flags: only MAP_ANONYMOUS or physical mappings are supported');
    // Page numbers without BigInt when both arguments are safe numbers (the common case).
    let aVpn: number;
    let aOff: number;
    let pages: number;
    if (
      typeof addr === 'number' &&
      typeof length === 'number' &&
      Number.isSafeInteger(addr) &&
      addr >= 0 &&
      Number.isSafeInteger(length) &&
      length >= 0
    ) {
      if (length === 0) return fail('EINVAL', 'length 0');
      aOff = addr % PAGE_SIZE;
      aVpn = (addr - aOff) / PAGE_SIZE;
      pages = Math.ceil(length / PAGE_SIZE);
      if (pages > this.userEndVpn)
        return fail('ENOMEM', `length ${hex(length)} is larger than the user address space`);
    } else {
      const a = toAddress(addr, 'addr');
      const len = toAddress(length, 'length');
      if (len === 0n) return fail('EINVAL', 'length 0');
      const pagesBig = (len + 0xfffn) >> 12n;
      if (pagesBig > BigInt(this.userEndVpn))
        return fail('ENOMEM', `length ${hex(len)} is larger than the user address space`);
      pages = Number(pagesBig);
      aOff = Number(a & 0xfffn);
      aVpn = Number(a >> 12n);
    }
    const fixed = (flags & (MAP.FIXED | MAP.FIXED_NOREPLACE)) !== 0;
    if (fixed && aOff !== 0)
      return fail('EINVAL', `addr ${hex(vaOf(aVpn, aOff))} is not page aligned (MAP_FIXED)`);
    const huge = (flags & MAP.HUGETLB) !== 0;
    let start: number;
    if (fixed) {
      start = aVpn;
      if (start + pages > this.userEndVpn)
        return fail('ENOMEM', `[${hex(vaOf(aVpn))}, +${pages} pages) is outside the user address space`);
      if (flags & MAP.FIXED_NOREPLACE && proc.vmas.findIntersection(start, start + pages)) {
        return fail(
          'EEXIST',
          `[${hex(vaOf(aVpn))}, +${pages} pages) overlaps an existing mapping (MAP_FIXED_NOREPLACE)`,
        );
      }
    } else {
      const hint = aVpn;
      const top = this.mmapTopVpn(proc);
      if (
        (aVpn !== 0 || aOff !== 0) &&
        aOff === 0 &&
        hint >= Kernel.MMAP_MIN_VPN &&
        hint + pages <= this.userEndVpn &&
        !proc.vmas.findIntersection(hint, hint + pages)
      ) {
        start = hint;
      } else {
        // Huge mappings align to the huge page; physical ones to the Contiguous-hint group (AArch64:
        // 16 pages) when the physical address allows it, so whole groups can carry the hint.
        const n = this.arch.description.capabilities.contiguousEntries;
        const align = huge
          ? (this.arch.geometry.entryPages[2] ?? 1)
          : physical !== undefined && n > 0 && physical % (n * PAGE_SIZE) === 0
            ? n
            : 1;
        start = proc.vmas.findGap(pages, Kernel.MMAP_MIN_VPN, top, {
          topDown: true,
          alignPages: pages >= align ? align : 1,
        });
        if (start < 0) return fail('ENOMEM', `no free range of ${pages} pages below ${hex(vaOf(top))}`);
      }
    }
    const end = start + pages;
    if (physical !== undefined) {
      if (!Number.isSafeInteger(physical) || physical < 0 || physical % PAGE_SIZE)
        return fail('EINVAL', `physical ${physical}: a page-aligned physical address`);
      if (physical + pages * PAGE_SIZE > 2 ** this.arch.description.paBits)
        return fail('EINVAL', `physical range beyond ${this.arch.description.paBits}-bit PAs`);
      for (let i = 0; i < pages; i++) {
        const st = this.allocator.stateOf(physical + i * PAGE_SIZE);
        if (st !== undefined && st !== FrameState.RESERVED)
          return fail('EACCES', `physical ${hex(physical + i * PAGE_SIZE)} is RAM the kernel manages`);
      }
    }
    const populate = (flags & MAP.POPULATE) !== 0;
    if (populate && physical === undefined) {
      // Atomicity: a populate that could run out of memory is refused before anything changes.
      const levels = this.arch.geometry.rootLevel;
      const need = pages + (Math.ceil(pages / 512) + 2) * levels;
      if (this.allocator.freeCount < need)
        return fail(
          'ENOMEM',
          `MAP_POPULATE needs up to ${need} free frames, ${this.allocator.freeCount} are free`,
        );
    }
    if (flags & MAP.FIXED && !this.unmapRange(proc, start, end))
      return fail('ENOMEM', 'out of memory splitting a huge page at the range ends');
    const value: VmaValue = anonVma(prot, opts.name ?? '', {
      shared,
      kind: physical === undefined ? 'anon' : 'device',
      growsDown: (flags & MAP.GROWSDOWN) !== 0,
      huge,
      pa: physical ?? 0,
      memoryType: opts.memoryType ?? (physical === undefined ? 'normal-wb' : 'device'),
      shm: shared && physical === undefined ? new SharedObject(this.nextObjectId++, pages) : undefined,
      // Named anonymous memory shows as [anon:name] in /proc/PID/maps (Linux PR_SET_VMA_ANON_NAME).
      anonName: opts.name !== undefined && physical === undefined,
    });
    proc.vmas.insert(start, end, value);
    if (populate || physical !== undefined) {
      if (!this.populate(proc, start, end)) {
        this.unmapRange(proc, start, end);
        return fail('ENOMEM', 'out of memory while populating');
      }
      if (physical !== undefined) this.setContiguousRuns(proc, start, end);
    }
    if (this.events.active)
      this.events.emit({
        type: 'process',
        action: 'mmap',
        pid: proc.pid,
        detail: `${hex(vaOf(start))}+${hex(pages * PAGE_SIZE)} ${protString(prot)}${shared ? ' shared' : ''}${physical !== undefined ? ` → PA ${hex(physical)}` : ''}`,
      });
    return ok(vaOf(start));
  }

  private nextObjectId = 1;

  /** Faults in every page of [startVpn, endVpn) that is not present. False when out of memory. */
  private populate(proc: Process, startVpn: number, endVpn: number): boolean {
    const r = this.cpus[0]!.result;
    for (let vpn = startVpn; vpn < endVpn; vpn++) {
      if (proc.root !== 0) {
        const ref = this.editor.lookup(proc.root, vpn);
        if (ref.entry.kind === 'leaf') {
          vpn +=
            this.arch.geometry.entryPages[ref.level]! - 1 - (vpn % this.arch.geometry.entryPages[ref.level]!);
          continue;
        }
      }
      const vma = proc.vmas.find(vpn);
      if (!vma) continue;
      r.faultLevel = 0;
      r.descriptorPa = 0;
      if (this.faultIn(proc, vpn, vma, r) === undefined) return false;
    }
    return true;
  }

  /** AArch64 Contiguous hint on every aligned group of physically contiguous leaves with equal attributes. */
  private setContiguousRuns(proc: Process, startVpn: number, endVpn: number): void {
    const n = this.arch.description.capabilities.contiguousEntries;
    if (n === 0 || proc.root === 0) return;
    const vma = proc.vmas.find(startVpn);
    for (let g = startVpn + ((n - (startVpn % n)) % n); g + n <= endVpn; g += n) {
      if (vma?.value.kind !== 'device') return;
      const pa = vma.value.pa + (g - vma.startVpn) * PAGE_SIZE;
      if (pa % (n * PAGE_SIZE) !== 0) continue;
      let plan: ReturnType<PageTableEditor['prepareContiguousRun']>;
      try {
        plan = this.editor.prepareContiguousRun({
          root: proc.root,
          vpn: g,
          count: n,
          on: true,
          asid: proc.asid,
        });
      } catch (e) {
        if (!isMmError(e)) throw e; // a group that does not qualify keeps its plain entries
        continue;
      }
      if (plan) {
        this.discharge(plan.break());
        plan.make();
      }
    }
  }

  /** Validates an (addr, length) pair of munmap/mprotect: page-aligned addr, non-zero length, inside the user half. */
  private pageRange(
    addr: AddressInput,
    length: AddressInput,
    what: string,
    outside: 'EINVAL' | 'ENOMEM' = 'EINVAL',
  ): SysResult<[number, number]> {
    if (
      typeof addr === 'number' &&
      typeof length === 'number' &&
      Number.isSafeInteger(addr) &&
      addr >= 0 &&
      Number.isSafeInteger(length) &&
      length > 0
    ) {
      // Number fast path (no BigInt on the common case).
      if (addr % PAGE_SIZE !== 0) return fail('EINVAL', `${what}: addr ${hex(addr)} is not page aligned`);
      const s = addr / PAGE_SIZE;
      const e = s + Math.ceil(length / PAGE_SIZE);
      if (e > this.userEndVpn) return fail(outside, `${what}: the range leaves the user address space`);
      return ok([s, e]);
    }
    const a = toAddress(addr, 'addr');
    const len = toAddress(length, 'length');
    if (a & 0xfffn) return fail('EINVAL', `${what}: addr ${hex(a)} is not page aligned`);
    if (len === 0n) return fail('EINVAL', `${what}: length 0`);
    const end = a + ((len + 0xfffn) & ~0xfffn);
    if (end > this.arch.description.userRange.end)
      return fail(outside, `${what}: [${hex(a)}, ${hex(end)}) leaves the user address space`);
    return ok([Number(a >> 12n), Number(end >> 12n)]);
  }

  /** munmap(2): any range; unmapping nothing is success. */
  munmap(proc: Process, addr: AddressInput, length: AddressInput): SysResult<0> {
    this.live(proc);
    const r = this.pageRange(addr, length, 'munmap');
    if (!r.ok) return r;
    const [s, e] = r.value;
    if (!this.unmapRange(proc, s, e))
      return fail('ENOMEM', 'out of memory splitting a huge page at the range ends');
    if (this.events.active) {
      const detail = `${hex(vaOf(s))}+${hex((e - s) * PAGE_SIZE)}`;
      this.events.emit({ type: 'process', action: 'munmap', pid: proc.pid, detail });
    }
    return ok(0);
  }

  /**
   * mprotect(2): the range must be fully mapped (else ENOMEM, nothing changed); VMAs are split and
   * merged, present PTEs take the new permissions, and the TLBs are invalidated once.
   */
  mprotect(proc: Process, addr: AddressInput, length: AddressInput, prot: number): SysResult<0> {
    this.live(proc);
    if (!Number.isInteger(prot) || prot < 0 || prot & ~7)
      return fail('EINVAL', `prot ${prot}: only PROT_READ|PROT_WRITE|PROT_EXEC bits`);
    const r = this.pageRange(addr, length, 'mprotect', 'ENOMEM'); // Linux: ENOMEM outside the user range
    if (!r.ok) return r;
    const [s, e] = r.value;
    let mapped = 0;
    proc.vmas.forEach(
      (v) => {
        mapped += Math.min(v.endVpn, e) - Math.max(v.startVpn, s);
      },
      s,
      e,
    );
    if (mapped !== e - s)
      return fail('ENOMEM', `mprotect: [${hex(vaOf(s))}, ${hex(vaOf(e))}) is not fully mapped`);
    if (!this.splitAt(proc, s) || !this.splitAt(proc, e))
      return fail('ENOMEM', 'out of memory splitting a huge page');
    proc.vmas.update(s, e, (v) => (v.prot === prot ? v : vmaWith(v, { prot })));
    if (proc.root !== 0) {
      this.clearContiguous(proc, s, e);
      const leaves: { vpn: number; level: number }[] = [];
      this.editor.forEachLeaf({ root: proc.root, startVpn: s, endVpn: e }, (l) =>
        leaves.push({ vpn: l.vpn, level: l.level }),
      );
      const flush = this.editor.newFlush({ asid: proc.asid, threshold: this.flushThreshold });
      for (const l of leaves) {
        const vma = proc.vmas.find(l.vpn)!;
        const f = this.editor.protect({
          root: proc.root,
          vpn: l.vpn,
          attrs: this.attrsFor(vma.value, l.level),
          asid: proc.asid,
        });
        if (f) flush.merge(f);
      }
      this.discharge(flush);
    }
    if (this.events.active) {
      const detail = `${hex(vaOf(s))}+${hex((e - s) * PAGE_SIZE)} ${protString(prot)}`;
      this.events.emit({ type: 'process', action: 'mprotect', pid: proc.pid, detail });
    }
    return ok(0);
  }

  /**
   * mremap(2): shrink in place, grow in place when the pages after the mapping are free, or with
   * MREMAP_MAYMOVE move the mapping (the frames move with it; no copy). The old range must lie in
   * one VMA (else EFAULT). On failure nothing changed.
   */
  mremap(
    proc: Process,
    oldAddr: AddressInput,
    oldLength: AddressInput,
    newLength: AddressInput,
    flags = 0,
  ): SysResult<bigint> {
    this.live(proc);
    if (flags & ~MREMAP.MAYMOVE) return fail('EINVAL', `flags ${flags}: only MREMAP_MAYMOVE is supported`);
    const r = this.pageRange(oldAddr, oldLength, 'mremap');
    if (!r.ok) return r;
    const [s, e] = r.value;
    const nl = toAddress(newLength, 'new_length');
    if (nl === 0n) return fail('EINVAL', 'mremap: new length 0');
    const newPages = Number((nl + 0xfffn) >> 12n);
    const vma = proc.vmas.find(s);
    if (!vma || vma.endVpn < e)
      return fail('EFAULT', `mremap: [${hex(vaOf(s))}, ${hex(vaOf(e))}) is not inside one mapping`);
    const oldPages = e - s;
    if (newPages <= oldPages) {
      if (!this.unmapRange(proc, s + newPages, e))
        return fail('ENOMEM', 'out of memory splitting a huge page');
      return ok(vaOf(s));
    }
    const grownEnd = s + newPages;
    // In place only when the range ends where its VMA ends and the pages after it are free
    // (Linux vma_expandable); otherwise the mapping must move.
    if (e === vma.endVpn && grownEnd <= this.userEndVpn && !proc.vmas.findIntersection(e, grownEnd)) {
      if (vma.endVpn < grownEnd) {
        const d = vma.endVpn - vma.startVpn;
        const v = vma.value;
        proc.vmas.insert(
          vma.endVpn,
          grownEnd,
          vmaWith(v, { pa: v.kind === 'device' ? v.pa + d * PAGE_SIZE : 0, offsetPages: v.offsetPages + d }),
        );
      }
      return ok(vaOf(s));
    }
    if (!(flags & MREMAP.MAYMOVE))
      return fail('ENOMEM', 'mremap: cannot grow in place and MREMAP_MAYMOVE is not set');
    const dest = proc.vmas.findGap(newPages, Kernel.MMAP_MIN_VPN, this.mmapTopVpn(proc), { topDown: true });
    if (dest < 0) return fail('ENOMEM', `mremap: no free range of ${newPages} pages`);
    // Atomicity: moving needs at most a few table frames per 512 pages; refuse before changing anything.
    const levels = this.arch.geometry.rootLevel;
    if (this.allocator.freeCount < (Math.ceil(oldPages / 512) + 2) * levels + 1)
      return fail('ENOMEM', 'mremap: out of memory for page tables');
    if (!this.splitAt(proc, s) || !this.splitAt(proc, e))
      return fail('ENOMEM', 'out of memory splitting a huge page');
    // Split huge leaves inside (moves go page by page).
    if (proc.root !== 0) {
      for (let vpn = s; vpn < e; vpn++) {
        const ref = this.editor.lookup(proc.root, vpn);
        if (ref.entry.kind === 'leaf' && ref.level > 1 && !this.splitAt(proc, vpn + 1))
          return fail('ENOMEM', 'out of memory splitting a huge page');
      }
    }
    const pieceOffset = s - vma.startVpn;
    const v = vma.value;
    const moved: VmaValue = vmaWith(v, {
      pa: v.kind === 'device' ? v.pa + pieceOffset * PAGE_SIZE : 0,
      offsetPages: v.offsetPages + pieceOffset,
    });
    proc.vmas.removeRange(s, e);
    proc.vmas.insert(dest, dest + newPages, moved);
    if (proc.root !== 0) {
      const leaves: { vpn: number; pa: number; attrs: LeafAttributes }[] = [];
      this.editor.forEachLeaf({ root: proc.root, startVpn: s, endVpn: e }, (l) =>
        leaves.push({ vpn: l.vpn, pa: l.pa, attrs: l.attrs }),
      );
      const flush = this.editor.newFlush({ asid: proc.asid, threshold: this.flushThreshold });
      for (const l of leaves) {
        const u = this.editor.unmap(proc.root, l.vpn, proc.asid);
        if (u) flush.merge(u.flush);
        const m = this.editor.map({
          root: proc.root,
          vpn: dest + (l.vpn - s),
          pa: l.pa,
          level: 1,
          attrs: l.attrs,
          tableAttrs: this.arch.defaults.userTable,
          source: this.userSource(proc),
        });
        if (!m.ok)
          throw new Error(`kernel bug: mremap move ran out of memory after the pre-check (${m.reason})`);
      }
      const lo = proc.vmas.findLastBefore(s)?.endVpn ?? this.userStartVpn;
      const hi = proc.vmas.findFirstAtOrAfter(e)?.startVpn ?? this.userEndVpn;
      if (hi > lo)
        flush.merge(
          this.editor.pruneEmptyTables({
            root: proc.root,
            startVpn: lo,
            endVpn: hi,
            source: this.userSource(proc),
            asid: proc.asid,
          }).flush,
        );
      this.discharge(flush);
    }
    return ok(vaOf(dest));
  }

  /**
   * Spawns a process from a static ELF64 executable (AArch64 or x86-64, matching the backend):
   * each PT_LOAD is mapped with its own permissions (file bytes copied, the tail of the last file
   * page and the bss zeroed), the heap starts at the page-aligned end of the image, and the stack
   * holds argc, argv, envp and the auxiliary vector as the ABI and Linux lay them out.
   * ENOEXEC for a file the backend cannot run, E2BIG for arguments that do not fit, ENOMEM when
   * out of memory — nothing is left behind on failure.
   */
  spawnElf(
    elf: Uint8Array,
    args: { argv?: readonly string[]; envp?: readonly string[]; execfn?: string } = {},
  ): SysResult<Process> {
    const proc = this.createProcess();
    const r = this.exec(proc, { elf, ...args });
    if (!r.ok) {
      this.teardown(proc, 'exited');
      this.processes.delete(proc.pid);
      return r;
    }
    return ok(proc);
  }

  /**
   * exec: replaces the user address space of `proc` with a program (a simple image or an ELF
   * file), keeping its pid, ASID and the kernel half. The new space is built first; only when that
   * succeeded is the old one freed (no frame or page-table page leaks), so a failed exec leaves the
   * process exactly as it was.
   */
  exec(
    proc: Process,
    program:
      | ProgramImage
      | {
          readonly elf: Uint8Array;
          readonly argv?: readonly string[];
          readonly envp?: readonly string[];
          readonly execfn?: string;
        },
  ): SysResult<0> {
    this.live(proc);
    const staging = new Process(proc.pid, proc.asid, this.layout, proc.parentPid);
    const built = 'elf' in program ? this.loadElf(staging, program) : this.loadImage(staging, program);
    if (!built.ok) {
      this.clearUserSpace(staging);
      return built;
    }
    this.clearUserSpace(proc);
    // The old translations of this ASID are gone from every TLB (clearUserSpace flushed them).
    proc.root = staging.root;
    proc.tablePages = staging.tablePages;
    proc.residentPages = staging.residentPages;
    proc.vmas = staging.vmas;
    proc.setLayout(staging.layout);
    proc.setBrk(staging.brk);
    proc.entry = staging.entry;
    proc.initialSp = staging.initialSp;
    for (const cpu of this.cpus) cpu.refreshRoot(proc);
    this.events.emit({
      type: 'process',
      action: 'exec',
      pid: proc.pid,
      detail: `exec: ${proc.residentPages} pages, entry ${hex(proc.entry)}`,
    });
    return ok(0);
  }

  /** A simple program image into a (staging) process. */
  private loadImage(proc: Process, image: ProgramImage): SysResult<0> {
    proc.vmas.insert(
      proc.vpn.stackTop - 1,
      proc.vpn.stackTop,
      anonVma(PROT.READ | PROT.WRITE, '[stack]', { growsDown: true }),
    );
    const textPages = Math.ceil(image.text.length / PAGE_SIZE);
    const dataPages = Math.ceil((image.data?.length ?? 0) / PAGE_SIZE);
    if (textPages > 0)
      proc.vmas.insert(proc.vpn.text, proc.vpn.text + textPages, anonVma(PROT.READ | PROT.EXEC, 'text'));
    if (dataPages > 0)
      proc.vmas.insert(proc.vpn.data, proc.vpn.data + dataPages, anonVma(PROT.READ | PROT.WRITE, 'data'));
    const ok0 =
      this.loadSegment(
        proc,
        proc.layout.textBase,
        image.text,
        this.userAttributes({ read: true, write: false, execute: true }),
      ) &&
      this.loadSegment(proc, proc.layout.dataBase, image.data ?? new Uint8Array(0), this.anonAttrs) &&
      this.allocUserVpn(proc, proc.vpn.stackTop - 1, this.anonAttrs) !== 0;
    proc.entry = proc.layout.textBase;
    proc.initialSp = proc.layout.stackTop;
    return ok0 ? ok(0) : fail('ENOMEM', 'out of memory loading the program');
  }

  /** An ELF64 executable into a (staging) process. */
  private loadElf(
    proc: Process,
    p: { elf: Uint8Array; argv?: readonly string[]; envp?: readonly string[]; execfn?: string },
  ): SysResult<0> {
    let image: ReturnType<typeof parseElf64>;
    let plan: ReturnType<typeof planElfLoad>;
    try {
      image = parseElf64(p.elf);
      plan = planElfLoad(image, p.elf, PAGE_SIZE, { userEnd: this.arch.description.userRange.end });
    } catch (e) {
      if (isMmError(e)) return fail('ENOEXEC', e.message);
      throw e;
    }
    const id = this.arch.description.id;
    const runs = image.machine === 'aarch64' ? id === 'aarch64' : id === 'x86_64' || id === 'x86_64-la57';
    if (!runs) return fail('ENOEXEC', `a ${image.machine} executable cannot run on ${id}`);
    const d = this.layout;
    const firstWritable = plan.segments.find((sg) => sg.permissions.write);
    proc.setLayout({
      textBase: plan.imageStart,
      dataBase: firstWritable ? firstWritable.start : plan.imageEnd,
      heapBase: plan.brk,
      stackGuardLow: d.stackGuardLow,
      stackLow: d.stackLow,
      stackTop: d.stackTop,
    });
    if (plan.imageEnd > d.stackGuardLow)
      return fail('ENOEXEC', `the image ends at ${hex(plan.imageEnd)}, inside the stack area`);
    const name = p.execfn ?? p.argv?.[0] ?? 'a.out';
    const protOf = (q: { read: boolean; write: boolean; execute: boolean }) =>
      (q.read ? PROT.READ : 0) | (q.write ? PROT.WRITE : 0) | (q.execute ? PROT.EXEC : 0);
    for (const sg of plan.segments) {
      const startVpn = Number(sg.start >> 12n);
      const fileEndVpn = startVpn + sg.filePages.length;
      if (fileEndVpn > startVpn) {
        // The file offset of the first page, shown in /proc/PID/maps as Linux shows it.
        const offsetPages = Math.floor((sg.filePages[0]?.fileOffset ?? 0) / PAGE_SIZE);
        proc.vmas.insert(
          startVpn,
          fileEndVpn,
          anonVma(protOf(sg.permissions), name, { offsetPages, file: true }),
        );
      }
      const attrs = this.attrsFor(anonVma(protOf(sg.permissions), name));
      for (const page of sg.filePages) {
        const pa = this.allocUserVpn(proc, Number(page.va >> 12n), attrs, true);
        if (pa === 0) return fail('ENOMEM', 'out of memory loading the program');
        this.memory.writeBytes(pa, elfPageBytes(p.elf, page, PAGE_SIZE));
      }
      if (sg.bss) {
        proc.vmas.insert(
          Number(sg.bss.start >> 12n),
          Number(sg.bss.end >> 12n),
          anonVma(protOf(sg.bss.permissions), ''),
        );
      }
    }
    proc.entry = plan.entry;
    // The initial stack: argc, argv, envp, auxv (Linux create_elf_tables), at most a few pages.
    let stack: ReturnType<typeof buildInitialStack>;
    try {
      stack = buildInitialStack({
        argv: p.argv ?? [name],
        envp: p.envp ?? [],
        auxv: linuxAuxv({
          phdr: plan.phdrAddress ?? 0n,
          phnum: plan.phnum,
          phent: plan.phent,
          entry: plan.entry,
        }),
        stackTop: d.stackTop,
        wordBytes: 8,
        execfn: name,
        platform: image.machine === 'aarch64' ? 'aarch64' : 'x86_64',
        randomSeed: proc.pid,
      });
    } catch (e) {
      if (isMmError(e)) return fail('E2BIG', e.message);
      throw e;
    }
    const spVpn = Number(stack.sp >> 12n);
    const topVpn = proc.vpn.stackTop;
    proc.vmas.insert(spVpn, topVpn, anonVma(PROT.READ | PROT.WRITE, '[stack]', { growsDown: true }));
    for (let vpn = spVpn; vpn < topVpn; vpn++) {
      if (this.allocUserVpn(proc, vpn, this.anonAttrs, true) === 0)
        return fail('ENOMEM', 'out of memory building the stack');
    }
    const bytes = stack.bytes;
    const base = stack.sp;
    for (let off = 0; off < bytes.length; ) {
      const va = base + BigInt(off);
      const ref = this.editor.lookup(proc.root, Number(va >> 12n));
      if (ref.entry.kind !== 'leaf') throw new Error('kernel bug: stack page not mapped');
      const inPage = Number(va & 0xfffn);
      const n = Math.min(bytes.length - off, PAGE_SIZE - inPage);
      this.memory.writeBytes(ref.entry.pa + inPage, bytes.subarray(off, off + n));
      off += n;
    }
    proc.initialSp = stack.sp;
    return ok(0);
  }

  /** `/proc/PID/maps` of a process (Linux format, see proc-maps.ts). */
  procMaps(proc: Process): string {
    return procMaps(this, proc);
  }

  /** `/proc/PID/smaps` of a process. */
  procSmaps(proc: Process): string {
    return procSmaps(this, proc);
  }

  /** The process's VMAs in address order, with their resident pages. */
  vmas(proc: Process): {
    start: bigint;
    end: bigint;
    prot: number;
    shared: boolean;
    name: string;
    kind: 'anon' | 'device';
    residentPages: number;
  }[] {
    const out: {
      start: bigint;
      end: bigint;
      prot: number;
      shared: boolean;
      name: string;
      kind: 'anon' | 'device';
      residentPages: number;
    }[] = [];
    const g = this.arch.geometry;
    proc.vmas.forEach((v) => {
      let resident = 0;
      if (proc.root !== 0) {
        this.editor.forEachLeaf({ root: proc.root, startVpn: v.startVpn, endVpn: v.endVpn }, (l) => {
          const p = g.entryPages[l.level]!;
          resident += Math.min(l.vpn + p, v.endVpn) - Math.max(l.vpn, v.startVpn);
        });
      }
      out.push({
        start: vaOf(v.startVpn),
        end: vaOf(v.endVpn),
        prot: v.value.prot,
        shared: v.value.shared,
        name: v.value.name,
        kind: v.value.kind,
        residentPages: resident,
      });
    });
    return out;
  }

  /** RSS (pages), VSZ (bytes of all VMAs) and page-table pages of a process. */
  memoryStats(proc: Process): { rssPages: number; vszBytes: bigint; pageTablePages: number } {
    return {
      rssPages: proc.residentPages,
      vszBytes: BigInt(proc.vmas.mappedPages) * 4096n,
      pageTablePages: proc.tablePages,
    };
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
    if (kind === Fault.Alignment) return this.deny(proc, soft, 'alignment fault', BUS_ADRALN);
    if (kind !== Fault.Translation && kind !== Fault.Permission) {
      // Address size, reserved bit, non-canonical (#GP): nothing a VMA can fix.
      return this.deny(proc, soft, access === 2 ? 'exec fault' : 'invalid address', SEGV_MAPERR);
    }
    const vma = proc.vmas.find(vpn) ?? this.growStack(proc, vpn);
    if (vma === undefined) {
      // SEGV_MAPERR, named as the seed names it by the simple layout's regions.
      const region = this.regionOfVpn(proc, vpn);
      const reason: KillReason =
        access === 2
          ? 'exec fault'
          : region === 'stack-guard'
            ? 'stack overflow'
            : region === 'text'
              ? 'text fault'
              : 'invalid address';
      return this.deny(proc, soft, reason, SEGV_MAPERR);
    }
    // What the VMA allows is what its encodable leaf grants the user (PROT_WRITE implies read, and
    // on x86 PROT_EXEC implies read too), so the check and the page tables can never disagree.
    const allowed = this.attrsFor(vma.value).user;
    if (!(access === 0 ? allowed.read : access === 1 ? allowed.write : allowed.execute)) {
      return this.deny(proc, soft, access === 2 ? 'exec fault' : 'permission fault', SEGV_ACCERR);
    }
    if (kind === Fault.Permission) {
      // The VMA allows it but the PTE does not (a lazily upgraded PTE): bring it up to the VMA.
      const ref = this.editor.lookup(proc.root, vpn);
      if (ref.entry.kind === 'leaf') {
        const flush = this.editor.protect({
          root: proc.root,
          vpn,
          attrs: this.attrsFor(vma.value, ref.level),
          asid: proc.asid,
        });
        if (flush) this.discharge(flush);
      }
      return { outcome: FaultOutcome.Retry, resolution: 'PTE upgraded to the VMA permissions' };
    }
    const how = this.faultIn(proc, vpn, vma, r);
    if (how !== undefined) return { outcome: FaultOutcome.Retry, resolution: how };
    return this.deny(proc, soft, 'out of memory', SEGV_OOM);
  }

  private deny(
    proc: Process,
    soft: boolean,
    reason: KillReason,
    signal: KillSignal,
  ): { outcome: FaultOutcomeCode; resolution: string } {
    if (soft) return { outcome: FaultOutcome.Refused, resolution: `EFAULT (${reason})` };
    this.kill(proc, reason, signal);
    return {
      outcome: FaultOutcome.Killed,
      resolution: `killed: ${reason} (${signal.signal} ${signal.code})`,
    };
  }

  /**
   * Stack growth: a fault below a grows-down VMA, not below the process's stack limit (STACK_LOW)
   * and not within the guard gap above the previous mapping, extends the stack to that page.
   */
  private growStack(proc: Process, vpn: number): ProcessVma | undefined {
    const above = proc.vmas.findFirstAtOrAfter(vpn);
    if (!above?.value.growsDown || vpn < proc.vpn.stackLow) return undefined;
    const below = proc.vmas.findLastBefore(vpn);
    const gap = proc.vpn.stackLow - proc.vpn.guard;
    if (below && below.endVpn + gap > vpn) return undefined;
    return proc.vmas.insert(vpn, above.startVpn, above.value);
  }

  /** Leaf attributes for pages of a VMA at `level` (the most the page tables may grant; used by audit()). */
  attrsFor(v: VmaValue, level = 1): LeafAttributes {
    // A numeric cache in front of the chooser (which keys by string): this runs on every fault.
    const key = v.prot | (MEMORY_TYPES.indexOf(v.memoryType) << 3) | (level << 5);
    let a = this.vmaAttrs[key];
    if (a === undefined) {
      a = this.attrs.leaf(this.requestForProt(v.prot, v.memoryType), level);
      this.vmaAttrs[key] = a;
    }
    return a;
  }

  private readonly vmaAttrs: (LeafAttributes | undefined)[] = [];

  private requestForProt(prot: number, memoryType: VmaValue['memoryType']): MappingRequest {
    const w = (prot & PROT.WRITE) !== 0;
    const x = (prot & PROT.EXEC) !== 0;
    // PROT_WRITE implies read on every architecture mmkit models (as in Linux).
    return { user: { read: (prot & PROT.READ) !== 0 || w, write: w, execute: x }, memoryType, global: false };
  }

  /** Maps the page (or huge page) for a not-present fault inside `vma`. Returns how, or undefined when out of memory. */
  private faultIn(proc: Process, vpn: number, vma: ProcessVma, r: WalkResult): string | undefined {
    const v = vma.value;
    const index = vpn - vma.startVpn;
    if (v.kind === 'device') {
      const ok = this.mapVpnRaw(proc, vpn, v.pa + index * PAGE_SIZE, this.attrsFor(v)).ok;
      return ok ? 'device page mapped' : undefined;
    }
    if (v.shm) {
      const obj = v.shm;
      const idx = v.offsetPages + index;
      let pa = obj.pages.get(idx);
      const fresh = pa === undefined;
      if (pa === undefined) {
        pa = this.allocator.alloc('user', -1);
        if (pa === 0) return undefined;
      } else this.allocator.ref(pa);
      if (!this.mapVpnRaw(proc, vpn, pa, this.attrsFor(v)).ok) {
        this.allocator.unref(pa);
        return undefined;
      }
      if (fresh)
        obj.pages.set(idx, pa); // the object's own reference is the allocation's
      else return 'shared page mapped';
      this.allocator.ref(pa); // …and the PTE holds one more
      return 'demand-zero shared page';
    }
    if (v.huge) {
      const how = this.faultInHuge(proc, vpn, vma);
      if (how) return how;
    }
    if (v.prot === (PROT.READ | PROT.WRITE) && !v.huge) {
      return this.demandZero(proc, vpn, r)
        ? `demand-zero ${v.name === '[stack]' ? 'stack' : v.name === '[heap]' ? 'heap' : 'anonymous'} page`
        : undefined;
    }
    return this.allocUserVpn(proc, vpn, this.attrsFor(v)) !== 0 ? 'demand-zero page' : undefined;
  }

  /** A huge leaf (2 MiB / 4 MiB / 1 GiB) for a fault in a MAP_HUGETLB VMA, when a whole aligned one fits and is free. */
  private faultInHuge(proc: Process, vpn: number, vma: ProcessVma): string | undefined {
    const g = this.arch.geometry;
    if (!this.ensureRoot(proc)) return undefined;
    for (const level of [...g.leafLevels].sort((a, b) => b - a)) {
      if (level === 1) break;
      const pages = g.entryPages[level]!;
      const base = vpn - (vpn % pages);
      if (base < vma.startVpn || base + pages > vma.endVpn) continue;
      const ref = this.editor.lookup(proc.root, vpn);
      if (ref.entry.kind !== 'absent' || ref.level < level) continue; // a smaller table already exists
      const pa = this.allocator.allocContiguous(pages, pages, 'user', proc.pid);
      if (pa === 0) continue;
      const res = this.editor.map({
        root: proc.root,
        vpn: base,
        pa,
        level,
        attrs: this.attrsFor(vma.value, level),
        tableAttrs: this.arch.defaults.userTable,
        source: this.userSource(proc),
      });
      if (!res.ok) {
        this.allocator.freeContiguous(pa, pages);
        continue;
      }
      proc.residentPages += pages;
      if (this.events.active) {
        this.events.emit({
          type: 'map',
          space: `pid ${proc.pid}`,
          va: vaOf(base),
          pa,
          sizeBytes: pages * PAGE_SIZE,
          perms: describeAttrs(this.attrsFor(vma.value, level)),
        });
      }
      return `huge page (${this.editor.levelName(level)} leaf, ${pages * 4} KiB)`;
    }
    return undefined;
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
    if (!this.editor.isAbsent(dpa)) {
      return this.allocUserVpn(proc, vpn, this.anonAttrs) !== 0; // not an absent entry
    }
    const pa = this.allocator.alloc('user', proc.pid);
    if (pa === 0) return false;
    this.editor.fillAbsent(dpa, pa, t); // true: the slot was checked absent just above
    this.mapped(proc, vpn, pa, this.anonAttrs);
    return true;
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
    const sig = proc.killSignal;
    return {
      ok: false,
      killed: proc.killReason ?? 'invalid address',
      ...(sig ? { signal: sig.signal, code: sig.code } : {}),
    };
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
