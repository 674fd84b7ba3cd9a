/**
 * Boot: what the {@link Kernel} constructor builds before the first process — the space bounds
 * derived from the backend, the page allocator over the machine's pool with its reservations,
 * the kernel tables (the linear map, the empty user root, the optional identity map; see
 * `kernel-space.ts`) and the CPUs.
 *
 * Ownership: every frame allocated here is a kernel page table (owner -1); no CPU runs while
 * they are built, so nothing is left to invalidate.
 */
import {
  type ArchBackend,
  type ArchDescription,
  type EventStream,
  type FrameSource,
  NoMemoryError,
  type PhysicalMemory,
  Tlb,
} from '@mmkit/core';
import type { SpaceBounds } from './context.js';
import { Cpu, type FaultHandler } from './cpu.js';
import { checkMmapMin, type KernelOptions } from './kernel-options.js';
import {
  buildIdentityMap,
  buildLinearMap,
  installRecursive,
  type KernelSpaceBuild,
  type UnmappedRange,
} from './kernel-space.js';
import type { MachineDescription } from './machine.js';
import { PageAllocator } from './page-allocator.js';

/** Page-number bounds and sizes derived once from the backend (no 4 KiB or 512-entry constants). */
export function spaceBounds(arch: ArchBackend, mmapMinAddr: KernelOptions['mmapMinAddr']): SpaceBounds {
  const d = arch.description;
  const g = arch.geometry;
  const pageBytes = g.pageBytes;
  const shift = BigInt(g.pageShift);
  const hugeLevel = g.hugeLeafLevels[0];
  return {
    userStartVpn: Number(d.userRange.start >> shift),
    userEndVpn: Number((arch.defaults.userSpaceEnd ?? d.userRange.end) >> shift),
    kernelBaseVpn: d.splitRoots ? Number(d.kernelRange.start >> shift) : 0,
    pageBytes,
    leafTableEntries: g.entries[1]!,
    hugePages: hugeLevel === undefined ? 0 : g.entryPages[hugeLevel]!,
    mmapMinVpn: checkMmapMin(mmapMinAddr, pageBytes),
  };
}

/** The page allocator over the machine's pool, with the machine's reservations made. */
export function createAllocator(
  machine: MachineDescription,
  memory: PhysicalMemory,
  events: EventStream,
  d: ArchDescription,
): PageAllocator {
  const allocator = new PageAllocator(memory, machine.pool.ranges, { events });
  for (const r of machine.pool.reservations) allocator.reserveRange(r.start, r.end, r.reason);
  // Frames the paging format cannot address (above 2^paBits) are never handed out.
  allocator.reserveAbove(2 ** d.paBits, `above the ${d.paBits}-bit physical address space of ${d.id}`);
  return allocator;
}

/** The kernel tables built at boot. */
export interface KernelTables {
  /** Root of the kernel tables (TTBR1 on AArch64). */
  readonly kernelRoot: number;
  /** A root with no user mappings (the kernel root on single-root formats). */
  readonly emptyUserRoot: number;
  /** Physical ranges the kernel half is too small to map in the linear map. */
  readonly unmappedPhysical: readonly UnmappedRange[];
}

/**
 * Builds the kernel root (with its recursive entry), the linear map, the empty user root on
 * split-root formats and the optional identity map, allocating every table from `allocator`.
 * @throws NoMemoryError if the kernel tables do not fit.
 */
export function buildKernelTables(
  b: Omit<KernelSpaceBuild, 'source' | 'kernelRoot'>,
  allocator: PageAllocator,
  identityMapBytes: KernelOptions['identityMapBytes'],
): KernelTables {
  const d = b.arch.description;
  const source: FrameSource = {
    allocTable: () => {
      const pa = allocator.alloc('page-table', -1);
      return pa === 0 ? -1 : pa;
    },
    freeTable: (pa) => allocator.free(pa),
  };
  const kernelRoot = source.allocTable(d.levels.length);
  if (kernelRoot < 0) throw new NoMemoryError('the kernel root table');
  if (b.recursiveSlot >= 0) installRecursive(b.arch, b.editor, kernelRoot, b.recursiveSlot);
  const build: KernelSpaceBuild = { ...b, source, kernelRoot };
  const unmappedPhysical = buildLinearMap(build);
  let emptyUserRoot = kernelRoot;
  if (d.splitRoots) {
    emptyUserRoot = source.allocTable(d.levels.length);
    if (emptyUserRoot < 0) throw new NoMemoryError('the empty user root table');
  }
  if (identityMapBytes) buildIdentityMap(build, emptyUserRoot, identityMapBytes);
  return { kernelRoot, emptyUserRoot, unmappedPhysical };
}

/** What the CPUs are built from: the kernel (their fault handler) once its tables exist. */
export interface CpuHost extends FaultHandler {
  readonly arch: ArchBackend;
  readonly memory: PhysicalMemory;
  readonly kernelRoot: number;
  readonly emptyUserRoot: number;
}

/**
 * The CPUs (`options.cpus`, default 1): each with its MMU on the kernel root, a TLB of
 * `options.tlbEntries` entries (default 4096), and no process running (the empty user root).
 */
export function createCpus(host: CpuHost, options: KernelOptions): Cpu[] {
  const n = options.cpus ?? 1;
  const noAsids = host.arch.description.capabilities.asidBits === 0;
  const cpus: Cpu[] = [];
  for (let i = 0; i < n; i++) {
    const mmu = host.arch.createMmu(host.memory);
    mmu.setKernelRoot(host.kernelRoot);
    const cpu = new Cpu(i, mmu, new Tlb(options.tlbEntries ?? 4096), host, host.emptyUserRoot, noAsids);
    cpu.strict = options.strictTlb ?? false;
    cpu.switchTo(undefined);
    cpus.push(cpu);
  }
  return cpus;
}
