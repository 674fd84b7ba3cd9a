/**
 * Every host test of seed 001 (page_alloc), as a named test over mmkit's
 * {@link PageAllocator}. The seed's pool is `[MALLOC_START, MALLOC_END)` =
 * `[0x4000_0000, 0xFC00_0000)`; here it is backed by a sparse PhysicalMemory
 * whose RAM covers the whole pool (untouched frames cost nothing), except the
 * reserve-above test, which uses a QEMU virt board with 1 GiB of RAM.
 *
 * Translation of the seed's API:
 * - `mem_map_init` → constructing a `PageAllocator`;
 * - `get_free_page` → `alloc('kernel')` (0 on exhaustion, as the seed);
 * - `free_page` → `free(pa)`; `dump_free_count` → `freeCount`; `mem_total_count` → `totalCount`;
 * - `mem_map_reserve_below/above` → `reserveBelow/reserveAbove`;
 * - `get_kernel_page` / `pa_to_kva`: the kernel's linear map (`Kernel.paToKva`) lives in the kernel
 *   proper; these tests use the seed's own map `LINEAR_MAP_BASE + pa` over the allocator.
 *
 * Deliberate differences: freeing a PA outside the pool throws NotOwnedError (the seed silently
 * ignores it; the free count is unchanged in both), and the exhaustion tests drain the pool
 * with real allocations (O(1) each here; the seed had to poke its bitmap directly).
 */
import { createVirtBoard } from '@mmkit/boards';
import { NotOwnedError, PhysicalMemory } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { FrameState, PageAllocator } from './page-allocator.js';

const PAGE_SIZE = 4096;
const MALLOC_START = 0x4000_0000;
const MALLOC_END = 0xfc00_0000;
const MALLOC_PAGES = (MALLOC_END - MALLOC_START) / PAGE_SIZE;
const LINEAR_MAP_BASE = 0xffff_0000_0000_0000n;

const paToKva = (pa: number): bigint => BigInt(pa) + LINEAR_MAP_BASE;
const kvaToPa = (kva: bigint): number => Number(kva - LINEAR_MAP_BASE);
/** The seed's get_kernel_page: a kernel page's KVA, or the raw 0 sentinel. */
const getKernelPage = (a: PageAllocator): bigint => {
  const pa = a.alloc('kernel');
  return pa === 0 ? 0n : paToKva(pa);
};
const freeKernelPage = (a: PageAllocator, kva: bigint): void => a.free(kvaToPa(kva));

function seedPool(): { memory: PhysicalMemory; alloc: PageAllocator } {
  const memory = new PhysicalMemory({ ram: [{ name: 'ram', start: MALLOC_START, end: MALLOC_END }] });
  return { memory, alloc: new PageAllocator(memory, [{ start: MALLOC_START, end: MALLOC_END }]) };
}

function drain(a: PageAllocator, count: number): void {
  for (let i = 0; i < count; i++)
    if (a.alloc('kernel') === 0) throw new Error(`pool ran dry after ${i} frames`);
}

describe('seed 001 page_alloc tests', () => {
  it('seed 001: pa_to_kva / kva_to_pa round-trip', () => {
    const pa = MALLOC_START + 7 * PAGE_SIZE;
    expect(paToKva(pa)).toBe(0xffff_0000_4000_7000n);
    expect(kvaToPa(paToKva(pa))).toBe(pa);
  });

  it('seed 001: mem_map_init zeroes the bitmap (a new allocator starts with every pool frame FREE)', () => {
    const { memory, alloc: dirty } = seedPool();
    drain(dirty, 100);
    expect(dirty.freeCount).toBe(MALLOC_PAGES - 100);
    const fresh = new PageAllocator(memory, [{ start: MALLOC_START, end: MALLOC_END }]);
    expect(fresh.freeCount).toBe(MALLOC_PAGES);
    expect(fresh.countByState()).toEqual({
      free: MALLOC_PAGES,
      reserved: 0,
      pageTable: 0,
      user: 0,
      kernel: 0,
    });
    let notFree = 0;
    fresh.forEachFrame((_pa, state) => {
      if (state !== FrameState.FREE) notFree++;
    });
    expect(notFree).toBe(0);
  });

  it('seed 001: get_free_page returns sequential pages from MALLOC_START', () => {
    const { alloc } = seedPool();
    const a = alloc.alloc('kernel');
    const b = alloc.alloc('kernel');
    const c = alloc.alloc('kernel');
    expect(a).toBe(MALLOC_START);
    expect(b).toBe(MALLOC_START + PAGE_SIZE);
    expect(c).toBe(MALLOC_START + 2 * PAGE_SIZE);
  });

  it('seed 001: free_page reuses the slot on next allocation', () => {
    const { alloc } = seedPool();
    const a = alloc.alloc('kernel');
    alloc.alloc('kernel');
    alloc.free(a);
    expect(alloc.alloc('kernel')).toBe(a);
  });

  it('seed 001: dump_free_count tracks allocations', () => {
    const { alloc } = seedPool();
    expect(alloc.freeCount).toBe(MALLOC_PAGES);
    alloc.alloc('kernel');
    alloc.alloc('kernel');
    alloc.alloc('kernel');
    expect(alloc.freeCount).toBe(MALLOC_PAGES - 3);
  });

  it('seed 001: free_page silently ignores above-range PA (mmkit: throws NotOwnedError; free count unchanged)', () => {
    const { alloc } = seedPool();
    const before = alloc.freeCount;
    expect(() => alloc.free(MALLOC_END + PAGE_SIZE)).toThrow(NotOwnedError);
    expect(() => alloc.free(MALLOC_END + 1024 * PAGE_SIZE)).toThrow(NotOwnedError);
    expect(() => alloc.free(MALLOC_END + PAGE_SIZE)).toThrow(
      /outside the allocator's pool \[0x40000000, 0xFC000000\)/,
    );
    expect(alloc.freeCount).toBe(before);
  });

  it('seed 001: get_kernel_page returns KVA of a free physical page', () => {
    const { alloc } = seedPool();
    const kva = getKernelPage(alloc);
    expect(kva >= LINEAR_MAP_BASE + BigInt(MALLOC_START)).toBe(true);
    expect(kva).toBe(LINEAR_MAP_BASE + BigInt(MALLOC_START));
    expect(alloc.stateOf(kvaToPa(kva))).toBe(FrameState.KERNEL);
    freeKernelPage(alloc, kva);
    expect(alloc.freeCount).toBe(MALLOC_PAGES);
  });

  it('seed 001: get_free_page returns the 0 sentinel when the pool is exhausted', () => {
    const { alloc } = seedPool();
    drain(alloc, MALLOC_PAGES);
    expect(alloc.freeCount).toBe(0);
    expect(alloc.alloc('kernel')).toBe(0);
    expect(alloc.alloc('user')).toBe(0);
    expect(alloc.freeCount).toBe(0);
  });

  it('seed 001: get_kernel_page propagates the 0 sentinel (not LINEAR_MAP_BASE)', () => {
    const { alloc } = seedPool();
    drain(alloc, MALLOC_PAGES);
    const kva = getKernelPage(alloc);
    expect(kva).toBe(0n);
    expect(kva).not.toBe(LINEAR_MAP_BASE);
  });

  it('seed 001: mem_map_reserve_below marks the kernel-image prefix allocated', () => {
    const { alloc } = seedPool();
    const endPa = MALLOC_START + 5 * PAGE_SIZE;
    expect(alloc.reserveBelow(endPa)).toBe(5);
    expect(alloc.freeCount).toBe(MALLOC_PAGES - 5);
    expect(alloc.alloc('kernel')).toBe(endPa);
    for (let i = 0; i < 5; i++) expect(alloc.stateOf(MALLOC_START + i * PAGE_SIZE)).toBe(FrameState.RESERVED);
  });

  it('seed 001: mem_map_reserve_below is a no-op when end_pa <= MALLOC_START (rpi4b)', () => {
    const { alloc } = seedPool();
    expect(alloc.reserveBelow(MALLOC_START)).toBe(0);
    expect(alloc.freeCount).toBe(MALLOC_PAGES);
    expect(alloc.reserveBelow(0x8_0000)).toBe(0);
    expect(alloc.freeCount).toBe(MALLOC_PAGES);
    expect(alloc.alloc('kernel')).toBe(MALLOC_START);
  });

  it('seed 001: mem_map_reserve_above caps the pool at the RAM end', () => {
    // virt -m 1G: RAM ends at 0x8000_0000, inside the seed pool.
    const board = createVirtBoard({ ramBytes: 2 ** 30 });
    const alloc = new PageAllocator(board.createMemory(), board.pool.ranges);
    const ramEnd = 0x8000_0000;
    const inRamPages = (ramEnd - MALLOC_START) / PAGE_SIZE;
    // mmkit already reserves the pool frames that are not RAM when it is created, so the
    // seed's reserve_above finds them reserved and takes nothing more.
    expect(alloc.freeCount).toBe(inRamPages);
    expect(alloc.reserveAbove(ramEnd)).toBe(0);
    expect(alloc.freeCount).toBe(inRamPages);
    expect(alloc.totalCount).toBe(inRamPages);
    expect(alloc.stateOf(ramEnd)).toBe(FrameState.RESERVED);
    drain(alloc, inRamPages - 1);
    expect(alloc.alloc('kernel')).toBe(ramEnd - PAGE_SIZE);
    expect(alloc.alloc('kernel')).toBe(0);
  });

  it('seed 001: mem_total_count is the post-reserve pool size and ignores allocations', () => {
    const { alloc } = seedPool();
    expect(alloc.totalCount).toBe(MALLOC_PAGES);
    alloc.reserveBelow(MALLOC_START + 5 * PAGE_SIZE);
    expect(alloc.totalCount).toBe(MALLOC_PAGES - 5);
    alloc.alloc('kernel');
    alloc.alloc('kernel');
    expect(alloc.totalCount).toBe(MALLOC_PAGES - 5);
    expect(alloc.usedCount).toBe(2);
  });

  it('seed 001: mem_total_count counts overlapping reservations once', () => {
    const { alloc } = seedPool();
    const ramEnd = 0x8000_0000;
    alloc.reserveAbove(ramEnd);
    const above = MALLOC_PAGES - (ramEnd - MALLOC_START) / PAGE_SIZE;
    expect(alloc.totalCount).toBe(MALLOC_PAGES - above);
    // A below-reservation running 10 pages past the cap: only the fresh prefix below it counts.
    expect(alloc.reserveBelow(ramEnd + 10 * PAGE_SIZE)).toBe((ramEnd - MALLOC_START) / PAGE_SIZE);
    const below = (ramEnd - MALLOC_START) / PAGE_SIZE;
    expect(alloc.totalCount).toBe(MALLOC_PAGES - above - below);
    expect(alloc.totalCount).toBe(0);
    expect(alloc.freeCount).toBe(0);
  });
});
