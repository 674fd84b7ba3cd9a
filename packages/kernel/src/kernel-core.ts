/**
 * The kernel's state and plumbing, the base of the `Kernel` facade (see the module table in
 * `kernel.ts`): the boot sequence (its steps in `boot.ts`), the fields every module reads through
 * {@link KernelContext}, the kernel address space, processes and ASIDs, the leaf attributes of
 * VMAs (`vma-attributes.ts`), TLB shootdown and the fault handler the CPUs call.
 *
 * Ownership: the kernel owns the {@link PageAllocator}, the kernel page tables, every process
 * and its {@link AddressSpace}, and the simulated CPUs. Only `kernel-memory-api.ts` (and through
 * it `kernel.ts`) extends this class; every other module takes a `KernelContext`.
 */
import {
  type AccessKind,
  type AddressInput,
  type ArchBackend,
  EventStream,
  FlushLedger,
  type FlushObligation,
  type LeafAttributes,
  type LeafTemplate,
  leafTemplate,
  type MemoryType,
  PageTableEditor,
  type PhysicalMemory,
  type PrivilegeLevel,
  type WalkResult,
} from '@mmkit/core';
import { AddressSpace } from './address-space.js';
import { AnonExclusive } from './anon-exclusive.js';
import type { MappingRequest } from './attributes.js';
import { buildKernelTables, createAllocator, createCpus, spaceBounds } from './boot.js';
import type { KernelContext, SpaceBounds } from './context.js';
import type { Cpu, FaultHandler, FaultOutcomeCode } from './cpu.js';
import { handleFault, handleSyndrome } from './fault.js';
import { kvaToPa, paToKva } from './introspection.js';
import {
  checkKernelOptions,
  type ForkMode,
  type KernelOptions,
  type MemlockPolicy,
} from './kernel-options.js';
import {
  checkLinearMapBase,
  checkRecursiveSlot,
  deviceMemoryType,
  installRecursive,
  type UnmappedRange,
} from './kernel-space.js';
import { type SimpleLayout, simpleLayoutFor } from './layout.js';
import type { MachineDescription } from './machine.js';
import type { PageAllocator } from './page-allocator.js';
import type { KillReason, KillSignal, Process } from './process.js';
import { ProcessTable } from './process-table.js';
import { BootProgress } from './progress.js';
import { Reclaimer, wakeKswapd } from './reclaim.js';
import { ReverseMap } from './rmap.js';
import { SwapManager } from './swap.js';
import { invalidArgument } from './syscalls.js';
import { dischargeChecked } from './tlb-shootdown.js';
import type { SharedObject, VmaValue } from './vma.js';
import { type PageTemplates, VmaAttributes } from './vma-attributes.js';
import {
  type ResolvedWorkingSetOptions,
  resolveWorkingSetOptions,
  WorkingSetTracker,
} from './working-set.js';
import { reserveZeroPage } from './zero-page.js';

/**
 * The kernel's state, boot and plumbing, and the calls that belong to them; `Kernel` (in
 * `kernel.ts`) is the class to use.
 */
export abstract class KernelCore implements FaultHandler, KernelContext {
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
  readonly unmappedPhysical: readonly UnmappedRange[];
  /**
   * Mappings whose permissions the backend cannot express exactly and that were widened (e.g. no
   * execute-never on 32-bit x86 without PAE: data pages are executable). A documented difference.
   */
  readonly widenedPermissions: readonly string[];
  /** @internal Page-number bounds and sizes derived from the backend. */
  readonly bounds: SpaceBounds;
  /** @internal */
  readonly flushThreshold: number;
  /** The memory type MMIO is mapped with (`device`, or the backend's closest fallback). */
  readonly deviceMemoryType: MemoryType;
  /**
   * @internal Leaf attributes of demand-zero heap/stack pages (user rw-, no execute), young and
   * dirty as Linux's `do_anonymous_page` installs them ({@link dirtyAttrsFor}).
   */
  readonly anonAttrs: LeafAttributes;
  /** @internal Their descriptor without the output address, when the encoding allows (fast demand faults). */
  readonly anonTemplate: LeafTemplate | undefined;
  /** How fork copies private memory (see {@link KernelOptions.fork}). */
  readonly forkMode: ForkMode;
  /**
   * Physical address of the shared zero page: read faults on private anonymous memory map it
   * read-only (Linux's `empty_zero_page`). A reserved frame: never written, never freed, not
   * reference counted, never in the reverse map.
   */
  readonly zeroPage: number;
  /** Whether read faults on private anonymous memory map {@link zeroPage} (see {@link KernelOptions.zeroPage}). */
  readonly useZeroPage: boolean;
  /** Whether a failed allocation runs the OOM killer (see {@link KernelOptions.oomKiller}). */
  readonly oomKiller: boolean;
  /** Which address spaces map each user frame, and where (see {@link ReverseMap}). */
  readonly rmap: ReverseMap<AddressSpace>;
  /** @internal PG_anon_exclusive of every frame (see `anon-exclusive.ts`). */
  readonly anonExclusive: AnonExclusive;
  /** RLIMIT_MEMLOCK and CAP_IPC_LOCK of the processes (see {@link KernelOptions.memlockLimit}). */
  readonly memlock: MemlockPolicy;
  /** Working-set, PFF and thrash tracking options, or undefined when off (see {@link KernelOptions.workingSet}). */
  readonly workingSetOptions: ResolvedWorkingSetOptions | undefined;
  /** @internal Swap devices, slot counts and the swap cache (see `swap.ts`). */
  readonly swap: SwapManager;
  /** @internal Watermarks, kswapd, direct reclaim, the replacement policy (see `reclaim.ts`). */
  readonly reclaimer: Reclaimer;
  /** Strict mode's ledger of flush obligations (undefined when not strict). */
  private readonly ledger: FlushLedger | undefined;
  private readonly table: ProcessTable;
  private readonly attrs: VmaAttributes;
  private objectIds = 1;

  constructor(options: KernelOptions) {
    const checked = checkKernelOptions(options);
    const { arch, machine } = checked;
    const d = arch.description;
    this.forkMode = checked.forkMode;
    this.memlock = checked.memlock;
    this.useZeroPage = checked.useZeroPage;
    this.oomKiller = checked.oomKiller;
    this.workingSetOptions = resolveWorkingSetOptions(options.workingSet);
    this.arch = arch;
    this.machine = machine;
    this.events = options.events ?? new EventStream();
    this.memory = machine.createMemory();
    // Strict mode tracks every flush obligation the editor hands out and reports one that an
    // operation left undischarged (invariant 4).
    this.ledger = options.strictTlb ? new FlushLedger() : undefined;
    this.editor = new PageTableEditor(arch, this.memory, { ledger: this.ledger });
    this.attrs = new VmaAttributes(arch);
    this.layout = options.layout ?? simpleLayoutFor(d);
    this.flushThreshold = options.flushThreshold ?? 32;
    this.bounds = spaceBounds(arch, options.mmapMinAddr);
    this.table = new ProcessTable(this, d.capabilities.asidBits);
    const progress = new BootProgress(checked.onProgress);
    progress.phase('frame table');
    this.allocator = createAllocator(machine, this.memory, this.events, d);
    this.zeroPage = reserveZeroPage(this.allocator, this.memory, this.bounds.pageBytes);
    progress.phase('reverse map');
    this.rmap = new ReverseMap<AddressSpace>(this.allocator.frameIndexCount, (pa) =>
      this.allocator.frameIndex(pa),
    );
    this.anonExclusive = new AnonExclusive(this.allocator);
    progress.phase('swap map');
    this.swap = new SwapManager(this, checked.swapReadahead);
    this.reclaimer = new Reclaimer(this, checked.reclaimPolicy, options.watermarks, checked.autoReclaim);
    this.recursiveSlot = checkRecursiveSlot(arch, this.editor, options.recursiveSlot);
    this.linearMapBase = checkLinearMapBase(arch, options.linearMapBase ?? d.kernelRange.start);
    this.widenedPermissions = this.attrs.chooser.widened;
    progress.phase('linear map');
    const tables = buildKernelTables(
      {
        arch,
        machine,
        memory: this.memory,
        editor: this.editor,
        attrs: this.attrs.chooser,
        linearMapBase: this.linearMapBase,
        recursiveSlot: this.recursiveSlot,
        kernelBaseVpn: this.bounds.kernelBaseVpn,
      },
      this.allocator,
      options.identityMapBytes,
    );
    this.kernelRoot = tables.kernelRoot;
    this.emptyUserRoot = tables.emptyUserRoot;
    this.unmappedPhysical = tables.unmappedPhysical;
    // forVma's chooser request for PROT_READ | PROT_WRITE normal memory, made dirty.
    this.anonAttrs = this.attrs.dirtyForVma({ prot: 3, memoryType: 'normal-wb' } as VmaValue);
    this.anonTemplate = leafTemplate(arch, this.anonAttrs);
    this.deviceMemoryType = deviceMemoryType(arch);
    progress.phase('cpus');
    this.cpus = createCpus(this, options);
    this.baselineFree = this.allocator.freeCount;
    progress.done();
  }

  // -------------------------------------------------------------------------
  // Kernel address space

  /** Kernel virtual address of a physical address in the linear map. */
  paToKva(pa: number): bigint {
    return paToKva(this, pa);
  }

  /** Physical address of a linear-map kernel virtual address. @throws InvalidArgumentError outside the linear map. */
  kvaToPa(kva: AddressInput): number {
    return kvaToPa(this, kva);
  }

  /** @internal */
  installRecursive(root: number): void {
    installRecursive(this.arch, this.editor, root, this.recursiveSlot);
  }

  // -------------------------------------------------------------------------
  // Processes and ASIDs

  /** Every process the kernel knows, alive or ended, by pid. */
  get allProcesses(): readonly Process[] {
    return this.table.all();
  }

  /** Live processes. */
  get liveProcesses(): readonly Process[] {
    return this.table.all().filter((p) => p.alive);
  }

  /** The process with `pid`. @throws NoProcessError */
  process(pid: number): Process {
    return this.table.get(pid);
  }

  /** @internal @throws NoProcessError if `proc` is not a live process of this kernel. */
  live(proc: Process): Process {
    return this.table.live(proc);
  }

  /**
   * Creates an empty process with the simple layout and a one-page stack VMA below the stack top.
   * Its root table is allocated lazily by the first mapping (so creation cannot run out of memory).
   */
  createProcess(parentPid?: number): Process;
  /**
   * @internal Creates a process whose address space `build(pid, asid)` makes (fork); when it
   * returns undefined nothing is created and the ASID is released.
   */
  createProcess(
    parentPid: number,
    build: (pid: number, asid: number) => AddressSpace | undefined,
  ): Process | undefined;
  createProcess(
    parentPid = 0,
    build?: (pid: number, asid: number) => AddressSpace | undefined,
  ): Process | undefined {
    const proc = this.table.create(parentPid, build);
    if (proc !== undefined && this.workingSetOptions !== undefined)
      proc.tracker = new WorkingSetTracker(this.workingSetOptions);
    return proc;
  }

  /** @internal A new empty address space for `proc` (exec builds the new program there). */
  newSpaceFor(proc: Process): AddressSpace {
    return new AddressSpace(this, proc.pid, proc.asid, this.layout);
  }

  /** Ends a process: unmaps and frees every user page and table, releases its ASID. */
  exit(proc: Process): void {
    this.live(proc);
    this.table.teardown(proc, 'exited');
    this.events.emit({ type: 'process', action: 'exit', pid: proc.pid, detail: 'exited' });
    this.settled(undefined);
  }

  /**
   * Strict mode: throws if the operation that produced `value` left a flush obligation
   * undischarged (a translation removed or downgraded without TLB maintenance).
   * @throws UndischargedFlushError
   */
  protected settled<T>(value: T): T {
    wakeKswapd(this); // kswapd runs at the end of every kernel call (see reclaim.ts)
    this.ledger?.assertSettled();
    return value;
  }

  /** @internal */
  kill(proc: Process, reason: KillReason, signal?: KillSignal): void {
    this.table.kill(proc, reason, signal);
  }

  /** @internal */
  teardown(proc: Process, state: 'exited' | 'killed'): void {
    this.table.teardown(proc, state);
  }

  /** @internal */
  forget(proc: Process): void {
    this.table.forget(proc);
  }

  /** Every shared object some live process still maps (for the auditor). */
  sharedObjects(): Set<SharedObject> {
    return this.table.sharedObjects();
  }

  /** @internal */
  nextObjectId(): number {
    return this.objectIds++;
  }

  // -------------------------------------------------------------------------
  // Attributes

  /** Leaf attributes for pages of a VMA at `level` (the most the page tables may grant). */
  attrsFor(v: VmaValue, level = 1): LeafAttributes {
    return this.attrs.forVma(v, level);
  }

  /**
   * @internal What {@link attrsFor} gives, made dirty when it is writable: the leaf a fault
   * installs for a page it makes writable (Linux `pte_mkwrite(pte_mkdirty(entry))`: x86 D = 1,
   * arm64 PTE_DIRTY and PTE_RDONLY clear). Read-only VMAs get {@link attrsFor} itself.
   */
  dirtyAttrsFor(v: VmaValue, level = 1): LeafAttributes {
    return this.attrs.dirtyForVma(v, level);
  }

  /**
   * @internal What {@link attrsFor} gives, without write permission: the leaf of a private page
   * shared copy-on-write (or the zero page). PROT_WRITE's implied read is kept.
   */
  readOnlyAttrsFor(v: VmaValue, level = 1): LeafAttributes {
    return this.attrs.readOnlyForVma(v, level, this.attrsFor(v, level)); // attrsFor checks v and level
  }

  /**
   * @internal `attrs` (the kernel's cached attributes of `level`, {@link attrsFor} or
   * {@link readOnlyAttrsFor}) made special: Linux `pte_mkspecial`, the leaf of a frame without a
   * page to count (the zero page, device memory; the backend's `capabilities.softwareSpecial`).
   */
  specialAttrs(attrs: LeafAttributes, level = 1): LeafAttributes {
    return this.attrs.special(attrs, level);
  }

  /**
   * @internal The verified leaf template of `attrs` (level 1), or undefined when the encoding is
   * not "template | PA" (see `leafTemplate`). Cached per attributes object: pass the kernel's
   * own cached attributes ({@link attrsFor}, {@link readOnlyAttrsFor}).
   */
  templateFor(attrs: LeafAttributes): LeafTemplate | undefined {
    return this.attrs.template(attrs);
  }

  /** @internal The level-1 templates of {@link attrsFor} and {@link readOnlyAttrsFor} of `v` (a one-entry memo). */
  pageTemplates(v: VmaValue): PageTemplates {
    return this.attrs.pageTemplates(v);
  }

  /** @internal */
  leafAttributes(req: MappingRequest, level = 1): LeafAttributes {
    return this.attrs.chooser.leaf(req, level);
  }

  /** Leaf attributes for a user mapping with permissions like `rw-`. */
  userAttributes(user: { read: boolean; write: boolean; execute: boolean }): LeafAttributes {
    if (user === null || typeof user !== 'object')
      throw invalidArgument('user permissions', user, 'an object { read, write, execute }');
    return this.attrs.chooser.leaf({ user, memoryType: 'normal-wb', global: false });
  }

  // -------------------------------------------------------------------------
  // TLB shootdown

  /**
   * Runs the architecture's TLB maintenance for an obligation on every CPU (the broadcast
   * `…IS` forms) and marks it discharged.
   */
  discharge(flush: FlushObligation, initiator = 0): void {
    dischargeChecked(this, flush, initiator);
  }

  // -------------------------------------------------------------------------
  // Faults

  /** The fault handler, called by a CPU (see {@link Cpu.translate}); see `fault.ts`. */
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
    return handleFault(this, cpu, proc, vpn, offset, access, privilege, r, soft);
  }

  /** Decodes a raw syndrome with the backend and runs the fault handler for `va` (seed-style entry point). */
  handleSyndrome(proc: Process, va: AddressInput, syndrome: bigint, cpu = 0): 'resolved' | 'killed' {
    return this.settled(handleSyndrome(this, proc, va, syndrome, cpu));
  }

  // -------------------------------------------------------------------------
  // Introspection helpers used by audit and export

  /** @internal Walk bounds for the user half (page numbers). */
  get userVpnRange(): { start: number; end: number } {
    return { start: this.bounds.userStartVpn, end: this.bounds.userEndVpn };
  }

  /** @internal Page number that index 0 of the kernel root maps. */
  get kernelRootBaseVpn(): number {
    return this.bounds.kernelBaseVpn;
  }
}
