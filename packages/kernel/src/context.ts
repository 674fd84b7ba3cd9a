/**
 * What the kernel's modules share: the services of one booted kernel, as an interface.
 *
 * The {@link Kernel} class implements it; every module (kernel space, address spaces, the
 * syscall facade, faults, fork/exec, user access, TLB shootdown, the seed-compatible API) takes
 * a `KernelContext` instead of importing the class, so no module imports `kernel.ts` and there
 * are no import cycles. Members are `@internal`: they are the kernel's own plumbing, not API.
 */
import type {
  ArchBackend,
  EventStream,
  FlushObligation,
  LeafAttributes,
  LeafTemplate,
  MemoryType,
  PageTableEditor,
  PhysicalMemory,
} from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { AnonExclusive } from './anon-exclusive.js';
import type { MappingRequest } from './attributes.js';
import type { Cpu } from './cpu.js';
import type { MemlockPolicy } from './kernel-options.js';
import type { SimpleLayout } from './layout.js';
import type { PageAllocator } from './page-allocator.js';
import type { KillReason, KillSignal, Process } from './process.js';
import type { Reclaimer } from './reclaim.js';
import type { ReverseMap } from './rmap.js';
import type { SwapManager } from './swap.js';
import type { SharedObject, VmaValue } from './vma.js';
import type { PageTemplates } from './vma-attributes.js';

/**
 * Page-number bounds and sizes derived once from the backend's description (no 4 KiB or
 * 512-entry constants in kernel code).
 */
export interface SpaceBounds {
  /** First page number of the user half. */
  readonly userStartVpn: number;
  /** Page number just past the highest user page a mapping may use. */
  readonly userEndVpn: number;
  /** Page number that index 0 of the kernel root maps (0 on single-root formats). */
  readonly kernelBaseVpn: number;
  /** Bytes per page. */
  readonly pageBytes: number;
  /** Entries in a leaf table (a page table's worth of pages). */
  readonly leafTableEntries: number;
  /** Pages of the smallest block leaf above level 1 (2 MiB / 4 MiB), or 0 if there is none. */
  readonly hugePages: number;
  /** Lowest page mmap places mappings at (Linux's `mmap_min_addr`). */
  readonly mmapMinVpn: number;
}

/** @internal The services every kernel module uses. */
export interface KernelContext {
  readonly arch: ArchBackend;
  readonly memory: PhysicalMemory;
  readonly allocator: PageAllocator;
  readonly editor: PageTableEditor;
  readonly events: EventStream;
  readonly cpus: readonly Cpu[];
  /** Layout of simple processes. */
  readonly layout: SimpleLayout;
  readonly kernelRoot: number;
  readonly emptyUserRoot: number;
  readonly recursiveSlot: number;
  readonly linearMapBase: bigint;
  readonly bounds: SpaceBounds;
  /** Pages above which one ASID-wide invalidation replaces per-page ones. */
  readonly flushThreshold: number;
  /** The memory type MMIO is mapped with (`device`, or the backend's closest fallback). */
  readonly deviceMemoryType: MemoryType;
  /** Leaf attributes of demand-zero anonymous pages (user rw-, no execute), young and dirty as a fault installs them ({@link dirtyAttrsFor}). */
  readonly anonAttrs: LeafAttributes;
  /** Their descriptor without the output address, when the encoding allows (fast demand faults). */
  readonly anonTemplate: LeafTemplate | undefined;
  /** How fork copies private memory. */
  readonly forkMode: 'cow' | 'eager';
  /** Whether read faults on private anonymous memory map the zero page. */
  readonly useZeroPage: boolean;
  /** Whether a failed allocation runs the OOM killer (else the allocating process is killed). */
  readonly oomKiller: boolean;
  /** Every process, alive or ended, in creation (task-list) order. */
  readonly allProcesses: readonly Process[];
  /** The shared zero page (a reserved frame). */
  readonly zeroPage: number;
  /** Which spaces map each user frame, and where. */
  readonly rmap: ReverseMap<AddressSpace>;
  /** PG_anon_exclusive of every frame (anon-exclusive.ts). */
  readonly anonExclusive: AnonExclusive;
  /** RLIMIT_MEMLOCK and CAP_IPC_LOCK of the processes (mlock). */
  readonly memlock: MemlockPolicy;
  /** Swap devices, slot counts and the swap cache. */
  readonly swap: SwapManager;
  /** Watermarks, kswapd, direct reclaim and the kernel's replacement policy. */
  readonly reclaimer: Reclaimer;
  /** Live processes (swapoff walks them). */
  readonly liveProcesses: readonly Process[];
  /** The verified level-1 leaf template of the kernel's cached `attrs`, when the encoding allows. */
  templateFor(attrs: LeafAttributes): LeafTemplate | undefined;
  /** The level-1 templates of {@link attrsFor} and {@link readOnlyAttrsFor} of `v` (a one-entry memo; read its fields at once). */
  pageTemplates(v: VmaValue): PageTemplates;
  /** {@link attrsFor} made dirty where writable: the leaf a fault installs for a page it makes writable (Linux `pte_mkwrite(pte_mkdirty(entry))`, vma-attributes.ts). */
  dirtyAttrsFor(v: VmaValue, level?: number): LeafAttributes;
  /** {@link attrsFor} without write permission (copy-on-write and zero-page leaves). */
  readOnlyAttrsFor(v: VmaValue, level?: number): LeafAttributes;
  /** Leaf attributes for a VMA's pages at `level` (what the page tables may grant). */
  attrsFor(v: VmaValue, level?: number): LeafAttributes;
  /** The kernel's cached `attrs` (of `level`) made special (Linux `pte_mkspecial`: the zero page, device leaves; vma-attributes.ts). */
  specialAttrs(attrs: LeafAttributes, level?: number): LeafAttributes;
  /** Leaf attributes the backend can express for a request. */
  leafAttributes(req: MappingRequest, level?: number): LeafAttributes;
  /** Runs the TLB maintenance of an obligation on every CPU and settles it. */
  discharge(flush: FlushObligation, initiator?: number): void;
  /** Points root entry `recursiveSlot` of `root` at `root` itself. */
  installRecursive(root: number): void;
  /** Every shared object some live process still maps. */
  sharedObjects(): Set<SharedObject>;
  /** A fresh shared-object id. */
  nextObjectId(): number;
  /** Ends a process for a fatal fault (no-op if it already ended). */
  kill(proc: Process, reason: KillReason, signal?: KillSignal): void;
  /** @throws NoProcessError if `proc` has ended. */
  live(proc: Process): Process;
  /**
   * Creates and registers a process. Without `build` it gets an empty address space with a stack
   * VMA; with `build` its space is what `build(pid, asid)` returns, and when that is undefined
   * (out of memory) no process is created and the pid and ASID are released.
   */
  createProcess(parentPid?: number): Process;
  createProcess(
    parentPid: number,
    build: (pid: number, asid: number) => AddressSpace | undefined,
  ): Process | undefined;
  /** A new empty address space for `proc` (exec builds the new program there). */
  newSpaceFor(proc: Process): AddressSpace;
  /** Ends a process and releases everything it holds. */
  teardown(proc: Process, state: 'exited' | 'killed'): void;
  /** Forgets a process that never ran (a failed spawn or fork). */
  forget(proc: Process): void;
}
