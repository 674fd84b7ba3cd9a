/**
 * Shared fixtures for backend tests: simulated RAM, a bump-allocating frame
 * source for page tables, and a harness that wires a backend's MMU, editor and
 * roots together.
 */
import {
  type ArchBackend,
  type FrameSource,
  InvalidArgumentError,
  type Mmu,
  type MmuOptions,
  PAGE_SIZE,
  PageTableEditor,
  PhysicalMemory,
} from '@mmkit/core';

/** Default RAM of the fixtures: 16 MiB at 0x4000_0000 (QEMU `virt` RAM base). */
export const DEFAULT_TEST_RAM = Object.freeze({ start: 0x4000_0000, end: 0x4000_0000 + 16 * 1024 * 1024 });

/**
 * Simulated RAM with one region.
 * @throws InvalidArgumentError (from PhysicalMemory) for an unaligned or empty range.
 */
export function createTestMemory(
  ram: { readonly start: number; readonly end: number } = DEFAULT_TEST_RAM,
): PhysicalMemory {
  return new PhysicalMemory({ ram: [{ name: 'test-ram', start: ram.start, end: ram.end }] });
}

/**
 * A {@link FrameSource} handing out zeroed 4 KiB frames from `[start, end)`, reusing freed
 * frames first. `limit` makes the next allocations fail (returns -1) once that many more have
 * been made, for out-of-memory tests.
 */
export class BumpFrameSource implements FrameSource {
  private next: number;
  private readonly free: number[] = [];
  private readonly live = new Set<number>();
  /** Allocations still allowed before allocTable returns -1 (Infinity = no limit). */
  limit = Number.POSITIVE_INFINITY;

  /** @throws InvalidArgumentError for a range that is not page aligned. */
  constructor(
    readonly memory: PhysicalMemory,
    readonly start: number,
    readonly end: number,
  ) {
    if (start % PAGE_SIZE !== 0 || end % PAGE_SIZE !== 0 || end <= start) {
      throw new InvalidArgumentError('frame range', `${start}..${end}`, 'a non-empty page-aligned range');
    }
    this.next = start;
  }

  /** Number of frames currently handed out. */
  get liveFrames(): number {
    return this.live.size;
  }

  /** A zeroed frame, or -1 when the range is exhausted or `limit` is reached. */
  allocTable(_level = 0): number {
    if (this.limit <= 0) return -1;
    let pa = this.free.pop();
    if (pa === undefined) {
      if (this.next >= this.end) return -1;
      pa = this.next;
      this.next += PAGE_SIZE;
    }
    this.limit--;
    this.memory.fill(pa, PAGE_SIZE, 0);
    this.live.add(pa);
    return pa;
  }

  /** Returns a frame. @throws InvalidArgumentError for a frame that is not live (double free). */
  freeTable(pa: number, _level = 0): void {
    if (!this.live.delete(pa))
      throw new InvalidArgumentError('frame to free', pa, 'a frame handed out and not yet freed');
    this.memory.fill(pa, PAGE_SIZE, 0);
    this.free.push(pa);
  }
}

/** A backend wired to memory, tables and an MMU. */
export interface WalkHarness {
  readonly backend: ArchBackend;
  readonly memory: PhysicalMemory;
  readonly frames: BumpFrameSource;
  readonly editor: PageTableEditor;
  readonly mmu: Mmu;
  /** Root of the user half. */
  readonly userRoot: number;
  /** Root of the kernel half (equal to `userRoot` for single-root formats). */
  readonly kernelRoot: number;
  /** ASID loaded with the user root (1 if the backend has ASIDs, else 0). */
  readonly asid: number;
  /** The root that translates `vpn` (kernel root for the kernel half of a split format). */
  rootFor(vpn: number): number;
}

/**
 * Creates memory, a frame source over all of it, an editor, an MMU and empty roots
 * (`userRoot` / `kernelRoot` loaded into the MMU).
 * @throws InvalidArgumentError if the RAM cannot hold the roots.
 */
export function createWalkHarness(
  backend: ArchBackend,
  options: {
    readonly ram?: { readonly start: number; readonly end: number };
    readonly mmuOptions?: MmuOptions;
  } = {},
): WalkHarness {
  const ram = options.ram ?? DEFAULT_TEST_RAM;
  const memory = createTestMemory(ram);
  const frames = new BumpFrameSource(memory, ram.start, ram.end);
  const editor = new PageTableEditor(backend, memory);
  const d = backend.description;
  const rootLevel = backend.geometry.rootLevel;
  const userRoot = frames.allocTable(rootLevel);
  const kernelRoot = d.splitRoots ? frames.allocTable(rootLevel) : userRoot;
  if (userRoot < 0 || kernelRoot < 0)
    throw new InvalidArgumentError('test RAM', `${ram.start}..${ram.end}`, 'room for the roots');
  const mmu = backend.createMmu(memory, options.mmuOptions);
  const asid = d.capabilities.asidBits > 0 ? 1 : 0;
  mmu.setUserRoot(userRoot, asid);
  mmu.setKernelRoot(kernelRoot);
  const kernelStartVpn = Number(d.kernelRange.start >> 12n);
  return {
    backend,
    memory,
    frames,
    editor,
    mmu,
    userRoot,
    kernelRoot,
    asid,
    rootFor: (vpn: number) => (d.splitRoots && vpn >= kernelStartVpn ? kernelRoot : userRoot),
  };
}
