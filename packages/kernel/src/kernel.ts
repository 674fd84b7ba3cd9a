/**
 * The architecture-neutral kernel memory manager: boot and the public API, which delegates to
 * one module per responsibility:
 *
 * | module               | responsibility                                                       |
 * |----------------------|----------------------------------------------------------------------|
 * | `kernel-options.ts`  | the boot options and their validation                                 |
 * | `process-table.ts`   | pids, ASIDs (allocation, recycling), process lookup, reaping          |
 * | `kernel-space.ts`    | the kernel half: linear map, device map, identity map, recursive slot |
 * | `address-space.ts`   | one user address space: VMAs, tables, ASID, break, every table change |
 * | `mm-syscalls.ts`     | mmap, munmap, mprotect, mremap, brk (POSIX errnos)                    |
 * | `fault.ts`           | the fault handler: classification, demand paging, kills               |
 * | `fork-exec.ts`       | fork, exec, spawn, static ELF64                                       |
 * | `user-access.ts`     | loads, stores, fetches, copy_{from,to}_user                           |
 * | `tlb-shootdown.ts`   | TLB maintenance on every CPU                                          |
 * | `seed-api.ts`        | the seed kernels' page-level API (map_page, allocate_user_page, …)    |
 * | `rmap.ts`            | the reverse map: which spaces map each user frame, and where          |
 * | `zero-page.ts`       | the shared zero page's reservation                                    |
 * | `madvise.ts`         | madvise (DONTNEED, FREE, COLD, PAGEOUT, WILLNEED, …), mincore          |
 * | `mlock.ts`           | mlock, mlock2, munlock, mlockall, munlockall; locked-page queries      |
 * | `oom-kill.ts`        | the OOM killer: badness, victim choice, the kill and its report       |
 * | `accessed-bits.ts`   | reference bits: test and clear the accessed flag, per frame or page   |
 * | `working-set.ts`     | working sets W(t, τ), page-fault frequency, thrash detection          |
 * | `swap.ts`            | swapon, swapoff, explicit reclaim, the swap audit (re-exports below)  |
 * | `swap-device.ts`     | swap devices, slot counts, the swap cache's tables, slot allocation   |
 * | `swap-walk.ts`       | walks over swap PTEs: copy (fork), move (mremap), zap (munmap)        |
 * | `swap-out.ts`        | swap-out of a frame through the reverse map, MADV_PAGEOUT             |
 * | `swap-in.ts`         | swap-in on a fault, readahead, MADV_WILLNEED                          |
 * | `reclaim.ts`         | watermarks, kswapd, direct reclaim, the kernel's replacement policy   |
 * | `watermarks.ts`      | the allocator's watermarks: Linux's defaults, explicit ones checked   |
 * | `slow-path.ts`       | the allocator slow path: direct reclaim, then the OOM killer, retry   |
 *
 * Ownership: the kernel owns the {@link PageAllocator} (every frame's state, refcount and owner),
 * the kernel page tables (TTBR1 on AArch64; the kernel half of every root on single-root formats),
 * every process and its {@link AddressSpace}, and the simulated CPUs. It is handed a backend and a
 * machine; it never imports an architecture package, and never branches on which architecture it
 * runs on — only on the backend's description.
 *
 * Invariants (proved by `audit()`): every frame is in exactly one state with a correct refcount;
 * a failed operation leaves everything as it was; no user PTE grants more than its VMA allows; a
 * removed or downgraded translation is invalidated in every TLB before the next access.
 */
import {
  type AccessKind,
  type AddressInput,
  type ArchBackend,
  EventStream,
  FlushLedger,
  type FlushObligation,
  type FramePurpose,
  type FrameSource,
  hex,
  type LeafAttributes,
  MEMORY_TYPES,
  type MemoryType,
  NoMemoryError,
  PageTableEditor,
  type PhysicalMemory,
  type PrivilegeLevel,
  Tlb,
  type WalkResult,
} from '@mmkit/core';
import type { PolicyState } from '@mmkit/replay/policies';
import {
  clearFrameReferenced,
  clearPageReferenced,
  frameReferenced,
  pageReferenced,
} from './accessed-bits.js';
import { AddressSpace, type MapOutcome } from './address-space.js';
import { AttributeChooser, type LeafTemplate, leafTemplate, type MappingRequest } from './attributes.js';
import type { KernelContext, SpaceBounds } from './context.js';
import { Cpu, type FaultHandler, type FaultOutcomeCode } from './cpu.js';
import { handleFault, handleSyndrome } from './fault.js';
import {
  type ExecProgram,
  exec,
  fork,
  type ProgramImage,
  type SpawnArgs,
  spawn,
  spawnElf,
} from './fork-exec.js';
import {
  checkKernelOptions,
  checkMmapMin,
  type ForkMode,
  type KernelOptions,
  type MemlockPolicy,
} from './kernel-options.js';
import {
  buildIdentityMap,
  buildLinearMap,
  checkLinearMapBase,
  checkRecursiveSlot,
  deviceMemoryType,
  installRecursive,
  type UnmappedRange,
} from './kernel-space.js';
import { type SimpleLayout, simpleLayoutFor } from './layout.js';
import type { MachineDescription } from './machine.js';
import { discardLazyFree, isColdFrame, madvise, mincore } from './madvise.js';
import { isFrameLocked, lockedPages, mlock2, mlockall, munlock, munlockall } from './mlock.js';
import { brk, type MmapOptions, mmap, mprotect, mremap, munmap } from './mm-syscalls.js';
import { oomBadness, oomScore, oomTotalPages, setOomScoreAdj } from './oom-kill.js';
import { PageAllocator } from './page-allocator.js';
import { procMaps, procSmaps, type VmaSummary, vmaSummaries } from './proc-maps.js';
import type { KillReason, KillSignal, Process } from './process.js';
import { ProcessTable } from './process-table.js';
import { Reclaimer, type ReclaimPolicyName, type VmStat, type Watermarks, wakeKswapd } from './reclaim.js';
import { ReverseMap } from './rmap.js';
import { allocateUserPage, lookupUser, mapUserPage, unmapUserRange } from './seed-api.js';
import { reclaim, type SwapDeviceInfo, SwapManager, type SwapOnOptions, swapoff, swapon } from './swap.js';
import { checkedAddress, invalidArgument, type SysResult } from './syscalls.js';
import { discharge } from './tlb-shootdown.js';
import {
  type AccessResult,
  type CopyResult,
  copyFromUser,
  copyToUser,
  fetchUser,
  loadUser,
  prefaultUserRange,
  readUser,
  storeUser,
  writeUser,
} from './user-access.js';
import type { SharedObject, VmaValue } from './vma.js';
import {
  type FaultStats,
  faultStatsOf,
  type ResolvedWorkingSetOptions,
  resolveWorkingSetOptions,
  type WorkingSetStats,
  WorkingSetTracker,
  workingSetOf,
} from './working-set.js';
import { reserveZeroPage } from './zero-page.js';

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
export class Kernel implements FaultHandler, KernelContext {
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
  /** @internal Leaf attributes of demand-zero heap/stack pages (user rw-, no execute). */
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
  private readonly attrs: AttributeChooser;
  private objectIds = 1;
  private readonly vmaAttrs: (LeafAttributes | undefined)[] = [];
  private readonly readOnlyAttrs: (LeafAttributes | undefined)[] = [];
  private readonly templates = new WeakMap<LeafAttributes, LeafTemplate | undefined>();

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
    this.attrs = new AttributeChooser(arch);
    this.layout = options.layout ?? simpleLayoutFor(d);
    this.flushThreshold = options.flushThreshold ?? 32;
    const g = arch.geometry;
    const pageBytes = g.pageBytes;
    const shift = BigInt(g.pageShift);
    const hugeLevel = g.hugeLeafLevels[0];
    this.bounds = {
      userStartVpn: Number(d.userRange.start >> shift),
      userEndVpn: Number((arch.defaults.userSpaceEnd ?? d.userRange.end) >> shift),
      kernelBaseVpn: d.splitRoots ? Number(d.kernelRange.start >> shift) : 0,
      pageBytes,
      leafTableEntries: g.entries[1]!,
      hugePages: hugeLevel === undefined ? 0 : g.entryPages[hugeLevel]!,
      mmapMinVpn: checkMmapMin(options.mmapMinAddr, pageBytes),
    };
    const asidBits = d.capabilities.asidBits;
    this.table = new ProcessTable(this, asidBits);

    this.allocator = new PageAllocator(this.memory, machine.pool.ranges, { events: this.events });
    for (const r of machine.pool.reservations) this.allocator.reserveRange(r.start, r.end, r.reason);
    // Frames the paging format cannot address (above 2^paBits) are never handed out.
    this.allocator.reserveAbove(2 ** d.paBits, `above the ${d.paBits}-bit physical address space of ${d.id}`);
    this.zeroPage = reserveZeroPage(this.allocator, this.memory, pageBytes);
    this.rmap = new ReverseMap<AddressSpace>(this.allocator.frameIndexCount, (pa) =>
      this.allocator.frameIndex(pa),
    );
    this.swap = new SwapManager(this, checked.swapReadahead);
    this.reclaimer = new Reclaimer(this, checked.reclaimPolicy, options.watermarks, checked.autoReclaim);
    this.recursiveSlot = checkRecursiveSlot(arch, this.editor, options.recursiveSlot);
    this.linearMapBase = checkLinearMapBase(arch, options.linearMapBase ?? d.kernelRange.start);
    this.widenedPermissions = this.attrs.widened;

    const source: FrameSource = {
      allocTable: () => {
        const pa = this.allocator.alloc('page-table', -1);
        return pa === 0 ? -1 : pa;
      },
      freeTable: (pa) => this.allocator.free(pa),
    };
    const root = source.allocTable(d.levels.length);
    if (root < 0) throw new NoMemoryError('the kernel root table');
    this.kernelRoot = root;
    if (this.recursiveSlot >= 0) this.installRecursive(this.kernelRoot);
    const build = {
      arch,
      machine,
      memory: this.memory,
      editor: this.editor,
      attrs: this.attrs,
      source,
      kernelRoot: root,
      linearMapBase: this.linearMapBase,
      recursiveSlot: this.recursiveSlot,
      kernelBaseVpn: this.bounds.kernelBaseVpn,
    };
    this.unmappedPhysical = buildLinearMap(build);
    if (d.splitRoots) {
      const empty = source.allocTable(d.levels.length);
      if (empty < 0) throw new NoMemoryError('the empty user root table');
      this.emptyUserRoot = empty;
    } else {
      this.emptyUserRoot = this.kernelRoot;
    }
    if (options.identityMapBytes) buildIdentityMap(build, this.emptyUserRoot, options.identityMapBytes);

    this.anonAttrs = this.attrs.leaf({
      user: { read: true, write: true, execute: false },
      memoryType: 'normal-wb',
      global: false,
    });
    this.anonTemplate = leafTemplate(arch, this.anonAttrs);
    this.deviceMemoryType = deviceMemoryType(arch);

    const n = options.cpus ?? 1;
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

  /** Kernel virtual address of a physical address in the linear map. */
  paToKva(pa: number): bigint {
    if (typeof pa !== 'number' || !Number.isSafeInteger(pa) || pa < 0)
      throw invalidArgument('physical address', pa, 'a non-negative safe integer');
    return this.linearMapBase + BigInt(pa);
  }

  /** Physical address of a linear-map kernel virtual address. @throws InvalidArgumentError outside the linear map. */
  kvaToPa(kva: AddressInput): number {
    const v = checkedAddress(kva, 'kernel virtual address');
    if (v < this.linearMapBase)
      throw invalidArgument('kernel virtual address', hex(v), 'an address in the linear map');
    return Number(v - this.linearMapBase);
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
  private settled<T>(value: T): T {
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
    // A numeric cache in front of the chooser (which keys by string): this runs on every fault,
    // so the checks are integer ones; a bad field would otherwise alias another key.
    if (v === null || typeof v !== 'object')
      throw invalidArgument('vma', v, 'a VMA value { prot, memoryType }');
    const prot = v.prot;
    const type = MEMORY_TYPES.indexOf(v.memoryType);
    if (typeof prot !== 'number' || (prot & 7) !== prot)
      throw invalidArgument('vma.prot', prot, 'PROT_* bits 0..7');
    if (type < 0) throw invalidArgument('vma.memoryType', v.memoryType, `one of ${MEMORY_TYPES.join(', ')}`);
    if (typeof level !== 'number' || (level & 7) !== level)
      throw invalidArgument('level', level, 'a page-table level 0..7');
    const key = prot | (type << 3) | (level << 5);
    let a = this.vmaAttrs[key];
    if (a === undefined) {
      const w = (v.prot & 2) !== 0;
      // PROT_WRITE implies read on every architecture mmkit models (as in Linux).
      const user = { read: (v.prot & 1) !== 0 || w, write: w, execute: (v.prot & 4) !== 0 };
      a = this.attrs.leaf({ user, memoryType: v.memoryType, global: false }, level);
      this.vmaAttrs[key] = a;
    }
    return a;
  }

  /**
   * @internal What {@link attrsFor} gives, without write permission: the leaf of a private page
   * shared copy-on-write (or the zero page). PROT_WRITE's implied read is kept.
   */
  readOnlyAttrsFor(v: VmaValue, level = 1): LeafAttributes {
    const full = this.attrsFor(v, level); // checks v and level
    const key = v.prot | (MEMORY_TYPES.indexOf(v.memoryType) << 3) | (level << 5);
    let a = this.readOnlyAttrs[key];
    if (a === undefined) {
      const user = { read: full.user.read, write: false, execute: full.user.execute };
      a = this.attrs.leaf({ user, memoryType: v.memoryType, global: false }, level);
      this.readOnlyAttrs[key] = a;
    }
    return a;
  }

  /**
   * @internal The verified leaf template of `attrs` (level 1), or undefined when the encoding is
   * not "template | PA" (see `leafTemplate`). Cached per attributes object: pass the kernel's
   * own cached attributes ({@link attrsFor}, {@link readOnlyAttrsFor}).
   */
  templateFor(attrs: LeafAttributes): LeafTemplate | undefined {
    let t = this.templates.get(attrs);
    if (t === undefined && !this.templates.has(attrs)) {
      t = leafTemplate(this.arch, attrs);
      this.templates.set(attrs, t);
    }
    return t;
  }

  /** @internal */
  leafAttributes(req: MappingRequest, level = 1): LeafAttributes {
    return this.attrs.leaf(req, level);
  }

  /** Leaf attributes for a user mapping with permissions like `rw-`. */
  userAttributes(user: { read: boolean; write: boolean; execute: boolean }): LeafAttributes {
    if (user === null || typeof user !== 'object')
      throw invalidArgument('user permissions', user, 'an object { read, write, execute }');
    return this.attrs.leaf({ user, memoryType: 'normal-wb', global: false });
  }

  // -------------------------------------------------------------------------
  // TLB shootdown

  /**
   * Runs the architecture's TLB maintenance for an obligation on every CPU (the broadcast
   * `…IS` forms) and marks it discharged.
   */
  discharge(flush: FlushObligation, initiator = 0): void {
    const f = flush as Partial<FlushObligation> | null;
    if (
      f === null ||
      typeof f !== 'object' ||
      typeof f.need !== 'function' ||
      typeof f.markDischarged !== 'function'
    )
      throw invalidArgument('flush', flush, 'a FlushObligation');
    if (
      typeof initiator !== 'number' ||
      !Number.isInteger(initiator) ||
      initiator < 0 ||
      initiator >= this.cpus.length
    )
      throw invalidArgument('initiator', initiator, `a CPU index 0..${this.cpus.length - 1}`);
    discharge(this, flush, initiator);
  }

  // -------------------------------------------------------------------------
  // The seed-compatible page API (seed 000's map_page, allocate_user_page, lookup, unmap)

  /**
   * Maps user page `va` to frame `pa` with `attrs`, building missing tables (and the root).
   * On failure nothing changes. The frame's reference is the caller's.
   */
  mapPage(proc: Process, va: AddressInput, pa: number, attrs: LeafAttributes): MapOutcome {
    return this.settled(mapUserPage(this, proc, va, pa, attrs));
  }

  /**
   * Allocates a zeroed frame and maps it at user page `va`. Returns the frame's kernel virtual
   * address (linear map), or 0 when out of memory; nothing is left allocated then.
   */
  allocateUserPage(proc: Process, va: AddressInput, attrs: LeafAttributes): bigint {
    return this.settled(allocateUserPage(this, proc, va, attrs));
  }

  /**
   * The entry on `va`'s walk where it stops: level 1 with an absent entry means the tables exist
   * but the page is not mapped; a higher level means a table is missing. Undefined without a root.
   */
  lookup(proc: Process, va: AddressInput): ReturnType<PageTableEditor['lookup']> | undefined {
    return lookupUser(this, proc, va);
  }

  /**
   * Unmaps every user page whose address lies in [start, end) (seed semantics), frees the frames
   * and invalidates the TLBs once. Page-table pages are kept. Returns the pages unmapped.
   */
  unmapUserRange(proc: Process, start: AddressInput, end: AddressInput): number {
    return this.settled(unmapUserRange(this, proc, start, end));
  }

  // -------------------------------------------------------------------------
  // fork, exec, spawn

  /** Spawns a process from a simple program image (text r-x, data rw-, one stack page). */
  spawn(image: ProgramImage): { ok: true; process: Process } | { ok: false; errno: 'ENOMEM' } {
    return this.settled(spawn(this, image));
  }

  /** Spawns a process from a static ELF64 executable (see {@link exec}). */
  spawnElf(elf: Uint8Array, args: SpawnArgs = {}): SysResult<Process> {
    return this.settled(spawnElf(this, elf, args));
  }

  /**
   * fork: the child gets a clone of the parent's address space (layout, break, entry point, VMAs;
   * private pages copied, shared pages shared). ENOMEM leaves nothing behind.
   */
  fork(parent: Process): { ok: true; process: Process } | { ok: false; errno: 'ENOMEM' } {
    return this.settled(fork(this, parent));
  }

  /**
   * exec: builds a new address space for the program, then swaps it in and frees the old one; a
   * failed exec leaves the process exactly as it was.
   */
  exec(proc: Process, program: ExecProgram): SysResult<0> {
    return this.settled(exec(this, proc, program));
  }

  // -------------------------------------------------------------------------
  // The syscall facade

  /** brk(2); see `mm-syscalls.ts`. */
  brk(proc: Process, newBrk: AddressInput): bigint {
    return this.settled(brk(this, proc, newBrk));
  }

  /** mmap(2); see `mm-syscalls.ts`. */
  mmap(
    proc: Process,
    addr: AddressInput,
    length: AddressInput,
    prot: number,
    flags: number,
    opts: MmapOptions = {},
  ): SysResult<bigint> {
    return this.settled(mmap(this, proc, addr, length, prot, flags, opts));
  }

  /** munmap(2); see `mm-syscalls.ts`. */
  munmap(proc: Process, addr: AddressInput, length: AddressInput): SysResult<0> {
    return this.settled(munmap(this, proc, addr, length));
  }

  /** mprotect(2); see `mm-syscalls.ts`. */
  mprotect(proc: Process, addr: AddressInput, length: AddressInput, prot: number): SysResult<0> {
    return this.settled(mprotect(this, proc, addr, length, prot));
  }

  /** mremap(2); see `mm-syscalls.ts`. */
  mremap(
    proc: Process,
    oldAddr: AddressInput,
    oldLength: AddressInput,
    newLength: AddressInput,
    flags = 0,
  ): SysResult<bigint> {
    return this.settled(mremap(this, proc, oldAddr, oldLength, newLength, flags));
  }

  /** madvise(2); see `madvise.ts` (DONTNEED, FREE, COLD, PAGEOUT, WILLNEED, NORMAL/RANDOM/SEQUENTIAL). */
  madvise(proc: Process, addr: AddressInput, length: AddressInput, advice: number): SysResult<0> {
    return this.settled(madvise(this, proc, addr, length, advice));
  }

  /** mincore(2): one byte per page, bit 0 = resident; see `madvise.ts`. */
  mincore(proc: Process, addr: AddressInput, length: AddressInput): SysResult<Uint8Array> {
    return this.settled(mincore(this, proc, addr, length));
  }

  /** mlock(2); see `mlock.ts`. */
  mlock(proc: Process, addr: AddressInput, length: AddressInput): SysResult<0> {
    return this.settled(mlock2(this, proc, addr, length, 0));
  }

  /** mlock2(2) with `MLOCK.ONFAULT`; see `mlock.ts`. */
  mlock2(proc: Process, addr: AddressInput, length: AddressInput, flags: number): SysResult<0> {
    return this.settled(mlock2(this, proc, addr, length, flags));
  }

  /** munlock(2); see `mlock.ts`. */
  munlock(proc: Process, addr: AddressInput, length: AddressInput): SysResult<0> {
    return this.settled(munlock(this, proc, addr, length));
  }

  /** mlockall(2) with `MCL.*` flags; see `mlock.ts`. */
  mlockall(proc: Process, flags: number): SysResult<0> {
    return this.settled(mlockall(this, proc, flags));
  }

  /** munlockall(2); see `mlock.ts`. */
  munlockall(proc: Process): SysResult<0> {
    return this.settled(munlockall(this, proc));
  }

  // -------------------------------------------------------------------------
  // What reclaim asks (madvise.ts, mlock.ts)

  /**
   * Drops USER frame `pa` if MADV_FREE made it lazily free and no PTE mapping it was written since:
   * the next read of those pages sees zeros; true when dropped. See `discardLazyFree` in `madvise.ts`.
   */
  discardLazyFree(pa: number): boolean {
    return this.settled(discardLazyFree(this, pa));
  }

  /** Whether USER frame `pa` was marked cold by MADV_COLD/PAGEOUT and not accessed since. */
  isColdFrame(pa: number): boolean {
    return isColdFrame(this, pa);
  }

  /** Whether USER frame `pa` is mapped in a locked (mlock) VMA: reclaim must skip it. */
  isFrameLocked(pa: number): boolean {
    return isFrameLocked(this, pa);
  }

  // -------------------------------------------------------------------------
  // Swap

  /**
   * swapon: adds a swap device of `pages` pages (slot 0 is the header), with an optional priority
   * (0 … 32767; higher is used first, equal ones round-robin) and name. Returns its description;
   * its `type` is Linux's `swp_type`, the type field of its swap PTEs. EPERM when 23 devices
   * (MAX_SWAPFILES) are active. See `swap.ts`.
   * @throws InvalidArgumentError for bad options, or a backend without `arch.swap`.
   */
  swapon(options: SwapOnOptions): SysResult<SwapDeviceInfo> {
    const r = swapon(this, options);
    if (r.ok) this.reclaimer.activate(); // the replacement policy starts tracking frames
    return this.settled(r);
  }

  /**
   * swapoff: brings every page of device `type` back into memory (Linux `try_to_unuse`) and
   * removes it. ENOMEM with nothing changed when memory cannot hold them; EINVAL for no such device.
   * @throws InvalidArgumentError unless `type` is an integer from 0 to 31.
   */
  swapoff(type: number): SysResult<0> {
    return this.settled(swapoff(this, type));
  }

  /** Usage of every active swap device, by type (`/proc/swaps`). */
  get swapDevices(): readonly SwapDeviceInfo[] {
    return this.swap.infos();
  }

  /**
   * Swaps out up to `pages` frames of private anonymous memory and returns how many were freed.
   * The victims are the replacement policy's ({@link KernelOptions.reclaimPolicy}; see
   * `reclaim.ts`). 0 without a swap device.
   * @throws InvalidArgumentError unless `pages` is a non-negative integer.
   */
  reclaim(pages: number): number {
    return this.settled(reclaim(this, pages));
  }

  /**
   * The page allocator's watermarks in pages (Linux `min_free_kbytes`-derived defaults, or the
   * `watermarks` option): kswapd wakes below `low` and reclaims up to `high`; faults reclaim
   * directly at or below `min`. See `reclaim.ts`.
   */
  get watermarks(): Watermarks {
    return this.reclaimer.watermarks;
  }

  /** The replacement policy reclaim uses (see {@link KernelOptions.reclaimPolicy}). */
  get reclaimPolicy(): ReclaimPolicyName {
    return this.reclaimer.policyName;
  }

  /**
   * The reclaim policy's state for teaching (the playground's Swap view): `@mmkit/replay`'s
   * `PolicyState` with its keys as physical frame addresses — the resident USER frames in
   * eviction order, the clock hand, the referenced bits, the lists — or undefined before the
   * first swapon (no policy exists yet). Allocates; a snapshot.
   */
  reclaimPolicyState(): PolicyState | undefined {
    return this.reclaimer.policyState();
  }

  /** Reclaim and swap counters, as Linux's /proc/vmstat names them (a snapshot). */
  get vmstat(): VmStat {
    return this.reclaimer.vmstat();
  }

  /**
   * Runs kswapd now if it is awake (free frames below the low watermark, a swap device on): it
   * reclaims until free frames reach the high watermark or nothing more can be reclaimed.
   * Returns the frames freed. The kernel also runs it at the end of every kernel call.
   */
  runKswapd(): number {
    return this.settled(this.reclaimer.kswapd());
  }

  // -------------------------------------------------------------------------
  // Introspection

  /** `/proc/PID/maps` of a process (Linux format, see proc-maps.ts). */
  procMaps(proc: Process): string {
    return procMaps(this, this.live(proc));
  }

  /** `/proc/PID/smaps` of a process. */
  procSmaps(proc: Process): string {
    return procSmaps(this, this.live(proc));
  }

  /** The process's VMAs in address order, with their resident pages. */
  vmas(proc: Process): VmaSummary[] {
    return vmaSummaries(this.live(proc));
  }

  /**
   * RSS (pages), VSZ (bytes of all VMAs), page-table pages and locked pages (`VmLck` of
   * /proc/PID/status: the pages of mlocked VMAs) of a process.
   */
  memoryStats(proc: Process): {
    rssPages: number;
    vszBytes: bigint;
    pageTablePages: number;
    lockedPages: number;
  } {
    const s = this.live(proc).space;
    return {
      rssPages: s.residentPages,
      vszBytes: BigInt(s.vmas.mappedPages) * BigInt(this.bounds.pageBytes),
      pageTablePages: s.tablePages,
      lockedPages: lockedPages(s),
    };
  }

  // -------------------------------------------------------------------------
  // The OOM killer (see `oom-kill.ts`)

  /**
   * Writes `/proc/PID/oom_score_adj`: an integer from −1000 (never chosen by the OOM killer) to
   * 1000; anything else is EINVAL and changes nothing. Fork copies the value, exec keeps it.
   * @throws InvalidArgumentError unless `value` is a number; NoProcessError for an ended process.
   */
  setOomScoreAdj(proc: Process, value: number): SysResult<0> {
    return setOomScoreAdj(this, proc, value);
  }

  /**
   * The OOM killer's badness of a process (Linux `oom_badness`): resident pages + swap entries +
   * page-table pages + `oom_score_adj * (totalpages / 1000)`; undefined when it can never be
   * chosen (oom_score_adj −1000). The victim is the live process with the highest badness.
   * @throws NoProcessError for an ended process.
   */
  oomBadness(proc: Process): number | undefined {
    return oomBadness(this, this.live(proc), oomTotalPages(this));
  }

  /**
   * `/proc/PID/oom_score`: the badness scaled into [0, 2000] as Linux's `proc_oom_score` does,
   * 0 for a process the killer never chooses. @throws NoProcessError for an ended process.
   */
  oomScore(proc: Process): number {
    return oomScore(this, proc);
  }

  // -------------------------------------------------------------------------
  // Reference bits, working sets, fault statistics (accessed-bits.ts, working-set.ts)

  /**
   * True when any mapping of user frame `pa` has its accessed flag set (AArch64 AF, x86 A;
   * Linux `folio_referenced`); false for a frame nothing maps.
   * @throws InvalidArgumentError unless `pa` is a non-negative safe integer.
   */
  frameReferenced(pa: number): boolean {
    return frameReferenced(this, this.checkedPa(pa));
  }

  /**
   * Test-and-clear of the accessed flag in every mapping of user frame `pa`, each followed by
   * the TLB invalidation the architecture's Linux `ptep_clear_flush_young` does (arm64: the page
   * is invalidated; x86: deliberately none). Returns whether any mapping had it set.
   * @throws InvalidArgumentError unless `pa` is a non-negative safe integer.
   */
  clearFrameReferenced(pa: number): boolean {
    return this.settled(clearFrameReferenced(this, this.checkedPa(pa)));
  }

  /**
   * True when the leaf mapping user address `va` in `proc` has its accessed flag set (a huge
   * leaf: the block's one flag); false when nothing maps it.
   * @throws InvalidArgumentError for an address outside the user half; NoProcessError.
   */
  pageReferenced(proc: Process, va: AddressInput): boolean {
    return pageReferenced(this, this.live(proc).space, this.userVpn(va));
  }

  /**
   * Test-and-clear of the accessed flag of the leaf mapping `va` in `proc`, with the
   * architecture's TLB rule (see {@link clearFrameReferenced}). Returns whether it was set.
   * @throws InvalidArgumentError for an address outside the user half; NoProcessError.
   */
  clearPageReferenced(proc: Process, va: AddressInput): boolean {
    return this.settled(clearPageReferenced(this, this.live(proc).space, this.userVpn(va)));
  }

  /**
   * The working set of `proc` (Denning's W(t, τ): the sampled estimate, and the exact size when
   * exact tracking is on), or undefined when the `workingSet` option is off. Works for ended
   * processes too (their last values).
   * @throws NoProcessError for a process this kernel does not know.
   */
  workingSet(proc: Process): WorkingSetStats | undefined {
    return workingSetOf(this.known(proc));
  }

  /**
   * Accesses (process virtual time) and page faults of `proc`, by resolution; with the
   * `workingSet` option also its page-fault frequency and the thrash detector's state.
   * Works for ended processes too.
   * @throws NoProcessError for a process this kernel does not know.
   */
  faultStats(proc: Process): FaultStats {
    return faultStatsOf(this.known(proc));
  }

  /** `proc` if this kernel knows it (alive or ended). @throws NoProcessError */
  private known(proc: Process): Process {
    const p = this.process(typeof proc === 'object' && proc !== null ? proc.pid : -1);
    if (p !== proc) this.live(proc); // a process of another kernel: the live check names it
    return p;
  }

  private checkedPa(pa: number): number {
    if (typeof pa !== 'number' || !Number.isSafeInteger(pa) || pa < 0)
      throw invalidArgument('physical address', pa, 'a non-negative safe integer');
    return pa;
  }

  private userVpn(va: AddressInput): number {
    const v = checkedAddress(va, 'user address');
    const vpn = Number(v >> BigInt(this.arch.geometry.pageShift));
    if (vpn < this.bounds.userStartVpn || vpn >= this.bounds.userEndVpn)
      throw invalidArgument('user address', hex(v), 'an address in the user half');
    return vpn;
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
  // User accesses through a CPU

  /** A user load of 1, 2, 4 or 8 bytes (little-endian; 8-byte values are bigints). */
  load(
    proc: Process,
    va: AddressInput,
    sizeBytes: 1 | 2 | 4 | 8 = 8,
    cpuIndex = 0,
  ): AccessResult<number | bigint> {
    return this.settled(loadUser(this, proc, va, sizeBytes, cpuIndex));
  }

  /** A user store of 1, 2, 4 or 8 bytes. */
  store(
    proc: Process,
    va: AddressInput,
    sizeBytes: 1 | 2 | 4 | 8,
    value: number | bigint,
    cpuIndex = 0,
  ): AccessResult<void> {
    return this.settled(storeUser(this, proc, va, sizeBytes, value, cpuIndex));
  }

  /** A user instruction fetch of 1, 2, 4 (default; an A64 instruction) or 8 bytes. */
  fetch(
    proc: Process,
    va: AddressInput,
    sizeBytes: 1 | 2 | 4 | 8 = 4,
    cpuIndex = 0,
  ): AccessResult<number | bigint> {
    return this.settled(fetchUser(this, proc, va, sizeBytes, cpuIndex));
  }

  /**
   * Reads `length` bytes of user memory as the process would (user privilege, faults handled).
   * @throws InvalidArgumentError for a length above MAX_RW_COUNT (0x7FFF_F000, as Linux's read(2)).
   */
  readUser(proc: Process, va: AddressInput, length: number, cpuIndex = 0): AccessResult<Uint8Array> {
    return this.settled(readUser(this, proc, va, length, cpuIndex));
  }

  /** Writes bytes to user memory as the process would. */
  writeUser(proc: Process, va: AddressInput, data: Uint8Array, cpuIndex = 0): AccessResult<void> {
    return this.settled(writeUser(this, proc, va, data, cpuIndex));
  }

  /**
   * Checks and prefaults [va, va + length) for a kernel access on behalf of the process (seed
   * `check_and_prefault_user_range`): EFAULT for anything that cannot be faulted in, never a kill.
   */
  prefaultUserRange(
    proc: Process,
    va: AddressInput,
    length: number,
    write = false,
    cpuIndex = 0,
  ): CopyResult<void> {
    return this.settled(prefaultUserRange(this, proc, va, length, write, cpuIndex));
  }

  /** copy_from_user: reads user memory for the kernel; a bad pointer is EFAULT, never a kill. */
  copyFromUser(proc: Process, va: AddressInput, length: number, cpuIndex = 0): CopyResult<Uint8Array> {
    return this.settled(copyFromUser(this, proc, va, length, cpuIndex));
  }

  /** copy_to_user: writes user memory for the kernel; a bad pointer is EFAULT, never a kill. */
  copyToUser(proc: Process, va: AddressInput, data: Uint8Array, cpuIndex = 0): CopyResult<void> {
    return this.settled(copyToUser(this, proc, va, data, cpuIndex));
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

export { NoProcessError } from './process-table.js';
export type { ForkMode, FramePurpose, KernelOptions, SwapDeviceInfo, SwapOnOptions };
