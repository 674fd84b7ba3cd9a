/**
 * The shared zero page (Linux's `ZERO_PAGE`): one reserved, zero-filled frame that read faults on
 * private anonymous memory map read-only until the first write replaces it.
 */
import { NoMemoryError, type PhysicalMemory } from '@mmkit/core';
import { BLOCK_FRAMES, FrameState, type PageAllocator } from './page-allocator.js';

/**
 * Reserves a frame as the shared zero page (zero-filled): the highest free frame of the lowest
 * 2 MiB block that is already partly in use (the kernel image, reservations, the kernel tables).
 * So no fully free block — a future huge page — is broken up, and the frames handed out first
 * after boot (the bottom of the free list) are the same with or without it.
 * @throws NoMemoryError when no frame is free.
 */
export function reserveZeroPage(allocator: PageAllocator, memory: PhysicalMemory, pageBytes: number): number {
  const blockBytes = BLOCK_FRAMES * pageBytes;
  const pick = (lo: number, hi: number): number => {
    for (let pa = hi - pageBytes; pa >= lo; pa -= pageBytes)
      if (pa !== 0 && allocator.owns(pa) && allocator.stateOf(pa) === FrameState.FREE) return pa;
    return 0;
  };
  let chosen = 0;
  for (const range of allocator.poolRanges) {
    for (
      let pa = Math.ceil(range.start / pageBytes) * pageBytes;
      pa < range.end && chosen === 0;
      pa += pageBytes
    ) {
      if (allocator.stateOf(pa) === FrameState.FREE) continue;
      const block = Math.floor(pa / blockBytes) * blockBytes;
      chosen = pick(block, block + blockBytes);
      pa = block + blockBytes - pageBytes; // the next block
    }
    if (chosen !== 0) break;
  }
  if (chosen === 0) {
    // Everything is free: the highest free frame of the pool.
    const last = allocator.poolRanges[allocator.poolRanges.length - 1];
    if (last) chosen = pick(Math.ceil(allocator.poolRanges[0]!.start / pageBytes) * pageBytes, last.end);
  }
  if (chosen === 0) throw new NoMemoryError('the shared zero page');
  allocator.reserveRange(chosen, chosen + pageBytes, 'the shared zero page');
  memory.fill(chosen, pageBytes, 0);
  return chosen;
}
