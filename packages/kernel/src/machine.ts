/**
 * What the kernel needs to know about the machine it boots on. `@mmkit/boards`
 * boards satisfy this interface structurally; the kernel imports no board and
 * no architecture package.
 */
import type { MmioWindow, PhysicalMemory, PhysicalRegion } from '@mmkit/core';

/** A reserved physical range and why. */
export interface Reservation {
  readonly start: number;
  readonly end: number;
  readonly reason: string;
}

/** The page allocator's pool and the ranges reserved inside it. */
export interface PoolPlan {
  readonly ranges: readonly PhysicalRegion[];
  readonly reservations: readonly Reservation[];
}

/** The machine as the kernel sees it. */
export interface MachineDescription {
  readonly id: string;
  readonly name: string;
  readonly ram: readonly PhysicalRegion[];
  readonly mmio: readonly MmioWindow[];
  readonly kernelImage: { readonly start: number; readonly end: number };
  readonly pool: PoolPlan;
  /**
   * Ids of the architectures (backend `description.id`) this machine can run; `bootKernel`
   * refuses any other. Undefined: no restriction (a custom test machine).
   */
  readonly archs?: readonly string[];
  /** Creates the machine's physical memory (RAM plus MMIO windows). */
  createMemory(): PhysicalMemory;
}
