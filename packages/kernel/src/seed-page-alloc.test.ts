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
 * - `get_kernel_page` / `pa_to_kva` / `kva_to_pa`: a kernel frame from the kernel's allocator and
 *   its address in the kernel's linear map (`Kernel.paToKva` / `kvaToPa`, on AArch64 QEMU virt,
 *   whose linear map starts at the seed's LINEAR_MAP_BASE); the seed's "0 sentinel" contract is
 *   the kernel's `allocateUserPage`, which returns a linear-map address or 0.
 *
 * Deliberate differences: freeing a PA outside the pool throws NotOwnedError (the seed silently
 * ignores it; the free count is unchanged in both), and the exhaustion tests drain the pool
 * with real allocations (O(1) each here; the seed had to poke its bitmap directly).
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createVirtBoard } from '@mmkit/boards';
import { NotOwnedError, PhysicalMemory, vpnOf, WalkResult } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { bootKernel, type Kernel } from './kernel.js';
import { FrameState, PageAllocator } from './page-allocator.js';
import { leaveFree } from './test-fixtures.js';

const PAGE_SIZE = 4096;
const MALLOC_START = 0x4000_0000;
const MALLOC_END = 0xfc00_0000;
const MALLOC_PAGES = (MALLOC_END - MALLOC_START) / PAGE_SIZE;
const LINEAR_MAP_BASE = 0xffff_0000_0000_0000n;

/** A kernel on QEMU virt with 1 GiB of RAM (the seed's board), every RAM frame managed. */
const virtKernel = (): Kernel =>
  bootKernel({ arch: createAarch64Arch(), machine: createVirtBoard({ ramBytes: 2 ** 30, pool: 'all-ram' }) });

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
    const k = virtKernel();
    expect(k.linearMapBase).toBe(LINEAR_MAP_BASE);
    const pa = MALLOC_START + 7 * PAGE_SIZE;
    expect(k.paToKva(pa)).toBe(0xffff_0000_4000_7000n);
    expect(k.kvaToPa(k.paToKva(pa))).toBe(pa);
    // And the kernel's tables agree: the KVA translates to that frame (EL1 read).
    const r = new WalkResult();
    expect(k.cpus[0]!.mmu.walk(vpnOf(k.paToKva(pa)), 0, 1, r)).toBe(true);
    expect(r.pfn * PAGE_SIZE).toBe(pa);
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
    const k = virtKernel();
    const free = k.allocator.freeCount;
    const pa = k.allocator.alloc('kernel');
    expect(pa).not.toBe(0);
    const kva = k.paToKva(pa);
    expect(kva >= LINEAR_MAP_BASE + BigInt(MALLOC_START)).toBe(true);
    expect(k.kvaToPa(kva)).toBe(pa);
    expect(k.allocator.stateOf(pa)).toBe(FrameState.KERNEL);
    expect(k.allocator.freeCount).toBe(free - 1);
    // It is a page the kernel can use through that KVA: its linear map translates it, and it is zeroed.
    const r = new WalkResult();
    expect(k.cpus[0]!.mmu.walk(vpnOf(kva), 1, 1, r)).toBe(true);
    expect(r.pfn * PAGE_SIZE).toBe(pa);
    expect(k.memory.read64(pa)).toBe(0n);
    k.allocator.free(k.kvaToPa(kva));
    expect(k.allocator.freeCount).toBe(free);
    // Over the seed's own pool the first kernel page is MALLOC_START, at LINEAR_MAP_BASE + MALLOC_START.
    const { alloc } = seedPool();
    expect(k.paToKva(alloc.alloc('kernel'))).toBe(LINEAR_MAP_BASE + BigInt(MALLOC_START));
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
    const k = virtKernel();
    const p = k.createProcess();
    const attrs = k.userAttributes({ read: true, write: true, execute: false });
    const release = leaveFree(k, 0);
    expect(k.allocator.alloc('kernel')).toBe(0);
    // paToKva(0) is LINEAR_MAP_BASE, a valid-looking KVA: the kernel's KVA-returning allocation
    // must hand back the raw 0, and leave nothing behind.
    expect(k.paToKva(0)).toBe(LINEAR_MAP_BASE);
    const kva = k.allocateUserPage(p, 0x1000, attrs);
    expect(kva).toBe(0n);
    expect(kva).not.toBe(LINEAR_MAP_BASE);
    expect(k.allocator.freeCount).toBe(0);
    expect(p.residentPages).toBe(0);
    release();
    // With memory back, the same call returns the frame's linear-map KVA.
    const ok = k.allocateUserPage(p, 0x1000, attrs);
    expect(ok >= LINEAR_MAP_BASE + BigInt(MALLOC_START)).toBe(true);
    expect(k.lookup(p, 0x1000)!.entry).toMatchObject({ kind: 'leaf', pa: k.kvaToPa(ok) });
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
    // virt -m 1G: RAM ends at 0x8000_0000, inside the seed pool [MALLOC_START, MALLOC_END).
    const { alloc } = seedPool();
    const ramEnd = 0x8000_0000;
    const inRamPages = (ramEnd - MALLOC_START) / PAGE_SIZE;
    expect(alloc.reserveAbove(ramEnd)).toBe(MALLOC_PAGES - inRamPages);
    expect(alloc.freeCount).toBe(inRamPages);
    expect(alloc.stateOf(ramEnd)).toBe(FrameState.RESERVED);
    expect(alloc.stateOf(MALLOC_END - PAGE_SIZE)).toBe(FrameState.RESERVED);
    expect(alloc.stateOf(ramEnd - PAGE_SIZE)).toBe(FrameState.FREE);
    drain(alloc, inRamPages - 1);
    expect(alloc.alloc('kernel')).toBe(ramEnd - PAGE_SIZE);
    expect(alloc.alloc('kernel')).toBe(0);
  });

  it('seed 001: mem_map_reserve_above on a virt board: the pool already ends at the RAM end', () => {
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
