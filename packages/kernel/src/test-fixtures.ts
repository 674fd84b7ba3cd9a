/**
 * Test fixtures (not exported from the package): small machines and helpers
 * to exhaust memory precisely.
 */
import { type MmioWindow, PAGE_SIZE, PhysicalMemory, type PhysicalRegion } from '@mmkit/core';
import type { Kernel } from './kernel.js';
import type { MachineDescription } from './machine.js';

/** A machine with `pages` frames of RAM at 0x4000_0000, all in the allocator pool, plus a UART window. */
export function tinyMachine(pages: number): MachineDescription {
  const ram: PhysicalRegion[] = [{ name: 'ram', start: 0x4000_0000, end: 0x4000_0000 + pages * PAGE_SIZE }];
  const mmio: MmioWindow[] = [{ name: 'uart', start: 0x0900_0000, end: 0x0900_1000 }];
  return {
    id: 'tiny',
    name: `tiny test machine (${pages} pages)`,
    ram,
    mmio,
    kernelImage: { start: 0x4000_0000, end: 0x4000_0000 },
    pool: { ranges: ram, reservations: [] },
    createMemory: () => new PhysicalMemory({ ram, mmio }),
  };
}

/**
 * Allocates kernel frames until exactly `keep` frames are free. Returns a function that
 * gives them back.
 */
export function leaveFree(kernel: Kernel, keep: number): () => void {
  const taken: number[] = [];
  while (kernel.allocator.freeCount > keep) {
    const pa = kernel.allocator.alloc('kernel', -1);
    if (pa === 0) break;
    taken.push(pa);
  }
  return () => {
    for (const pa of taken) kernel.allocator.free(pa);
  };
}
