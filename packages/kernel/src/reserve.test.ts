/**
 * The reserve below the min watermark (reclaim.ts, Linux `__zone_watermark_ok` with
 * `ALLOC_WMARK_MIN`): while a swap device is on, USER and PAGE_TABLE allocations for processes
 * leave `min` frames free, so an allocation that would take them runs direct reclaim first; the
 * reclaim path, swapoff's try_to_unuse and KERNEL frames may go below it; with nothing to reclaim
 * and nobody to kill the operation fails with nothing changed. On all five configurations, strict
 * TLB mode, audit() after each step; a checker of the reserve is shown to catch a kernel that
 * lets a user allocation take the last `min` frames.
 */
import type { MmEvent } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, type TestConfig } from './test-fixtures.js';
import { withoutReserve } from './watermarks.js';

const MiB = 2 ** 20;
const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * MiB);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;
const WATERMARKS = { min: 16, low: 24, high: 40 } as const;
const MIN = WATERMARKS.min;

type Reclaim = Extract<MmEvent, { type: 'reclaim' }>;

/**
 * Watches a kernel for the reserve's invariant: while a swap device is on, every USER or
 * PAGE_TABLE frame allocated outside the reclaim path (and outside {@link exempt} calls: swapoff)
 * leaves at least `min` frames free. Independent of the allocator's own reserve field.
 */
class ReserveChecker {
  readonly violations: string[] = [];
  readonly events: MmEvent[] = [];
  private reclaiming = false;
  private exempting = false;

  constructor(k: Kernel) {
    k.events.on((e) => {
      this.events.push(e);
      if (e.type === 'reclaim') this.reclaiming = e.action === 'direct-begin' || e.action === 'kswapd-wake';
      if (e.type !== 'frame-alloc' || e.purpose === 'kernel' || this.reclaiming || this.exempting) return;
      const free = k.allocator.freeCount; // the event comes after the frame left the free list
      if (k.swapDevices.length > 0 && free < k.watermarks.min)
        this.violations.push(
          `${e.purpose} frame ${e.pa.toString(16)} left ${free} < min ${k.watermarks.min}`,
        );
    });
  }

  exempt<T>(fn: () => T): T {
    this.exempting = true;
    try {
      return fn();
    } finally {
      this.exempting = false;
    }
  }

  reclaimEvents(): Reclaim[] {
    return this.events.filter((x): x is Reclaim => x.type === 'reclaim');
  }
}

function boot(c: TestConfig, oomKiller = true): { k: Kernel; check: ReserveChecker } {
  const k = bootKernel({
    arch: c.arch(),
    machine: c.machine(),
    strictTlb: true,
    watermarks: WATERMARKS,
    oomKiller,
  });
  return { k, check: new ReserveChecker(k) };
}

const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);

/** Pages of [va, va + pages × 4 KiB) mapped by a present leaf. */
function residentIn(k: Kernel, p: Process, va: bigint, pages: number): number {
  let n = 0;
  for (let i = 0n; i < BigInt(pages); i++) if (k.lookup(p, va + i * PAGE)?.entry.kind === 'leaf') n++;
  return n;
}

function mapAnon(k: Kernel, p: Process, pages: number, flags = PRIV): bigint {
  const r = k.mmap(p, 0, pages * 4096, RW, flags);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

/** Writes `0x5000 + i` at offset 16 of page i. */
function fill(k: Kernel, p: Process, base: bigint, pages: number): void {
  for (let i = 0; i < pages; i++)
    expect(k.store(p, base + BigInt(i) * PAGE + 16n, 8, 0x5000n + BigInt(i)).ok).toBe(true);
}

function expectContents(k: Kernel, p: Process, base: bigint, pages: number): void {
  for (let i = 0; i < pages; i++)
    expect(k.load(p, base + BigInt(i) * PAGE + 16n, 8)).toEqual({ ok: true, value: 0x5000n + BigInt(i) });
}

/**
 * A process with 48 written pages and a swap device, then exactly `free` frames left free; a
 * store to page 0 of a fresh 4-page region (its tables built while memory was plentiful).
 */
function storeAt(c: TestConfig, free: number, breakReserve = false) {
  const { k, check } = boot(c);
  expect(k.swapon({ pages: 256 }).ok).toBe(true);
  if (breakReserve) k.allocator.reserve = 0; // a kernel without the reserve
  const p = k.createProcess();
  const base = mapAnon(k, p, 48);
  fill(k, p, base, 48);
  const fresh = mapAnon(k, p, 4);
  expect(k.store(p, fresh + PAGE, 8, 1n).ok).toBe(true); // the region's tables exist now
  clean(k);
  const stallsBefore = k.vmstat.allocstall;
  leaveFree(k, free);
  expect(k.allocator.freeCount).toBe(free);
  const r = k.store(p, fresh, 8, 0xabcdn);
  return { k, check, p, base, fresh, r, stalls: k.vmstat.allocstall - stallsBefore };
}

describe.each(CONFIGS)('the reserve below the min watermark — $name', (c) => {
  it('an allocation that would take the free count below min reclaims directly (allocstall) and succeeds', () => {
    const { k, check, p, base, fresh, r, stalls } = storeAt(c, MIN);
    expect(r.ok).toBe(true);
    expect(stalls).toBe(1);
    const direct = check.reclaimEvents().filter((e) => e.action === 'direct-begin');
    expect(direct).toHaveLength(1);
    expect(direct[0]!.free).toBe(MIN);
    expect(direct[0]!.detail).toContain(`free ${MIN} ≤ min watermark ${MIN}`);
    expect(k.vmstat.pgstealDirect).toBeGreaterThan(0);
    expect(check.violations).toEqual([]);
    clean(k);
    expect(k.load(p, fresh, 8)).toEqual({ ok: true, value: 0xabcdn });
    expectContents(k, p, base, 48); // the victims come back from swap
    clean(k);
  });

  it('one frame above min: the page is taken without reclaim, leaving exactly min free', () => {
    const { k, check, r, stalls } = storeAt(c, MIN + 1);
    expect(r.ok).toBe(true);
    expect(stalls).toBe(0);
    expect(check.violations).toEqual([]);
    clean(k);
  });

  it('the checker catches a kernel that lets a user allocation take the last min frames', () => {
    const { k, check, r, stalls } = storeAt(c, MIN, true);
    expect(r.ok).toBe(true);
    expect(stalls).toBe(0); // nothing made it reclaim: the page came out of the reserve
    expect(check.violations).toHaveLength(1);
    expect(check.violations[0]).toMatch(/^user frame [0-9a-f]+ left 15 < min 16$/);
    clean(k);
  });

  it('MAP_POPULATE populates only with the frames above the reserve; mremap counts only those', () => {
    const { k, check } = boot(c, false);
    expect(k.swapon({ pages: 9 }).ok).toBe(true); // 8 slots
    const p = k.createProcess();
    mapAnon(k, p, 1); // above the next mapping (top-down): mremap cannot grow it in place
    const base = mapAnon(k, p, 8);
    fill(k, p, base, 8);
    k.reclaim(63); // every page is out, swap is full: nothing more can be reclaimed
    expect(k.swapDevices[0]!.usedPages).toBe(8);
    const release = leaveFree(k, MIN + 4);
    expect(k.allocator.availableCount).toBe(4);
    const vmas = p.space.vmas.size;
    // Linux ignores mm_populate's result: the mapping exists, populated as far as the 4 frames
    // above the reserve go (its page tables take some), the rest faults in on touch.
    const m = k.mmap(p, 0, 8 * 4096, RW, PRIV | MAP.POPULATE);
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    const populated = residentIn(k, p, m.value, 8);
    expect(populated).toBeGreaterThan(0);
    expect(populated).toBeLessThanOrEqual(4);
    expect(k.allocator.freeCount).toBe(MIN); // the reserve is intact
    clean(k);
    expect(k.munmap(p, m.value, 8 * 4096).ok).toBe(true);
    expect(p.space.vmas.size).toBe(vmas);
    expect(k.allocator.freeCount).toBe(MIN + 4);
    expect(k.mremap(p, base, 8 * 4096, 4096 * 4096, 1).ok).toBe(false); // MREMAP_MAYMOVE
    expect(k.allocator.freeCount).toBe(MIN + 4);
    clean(k);
    release();
    expectContents(k, p, base, 8);
    expect(check.violations).toEqual([]);
    clean(k);
  });

  it('with no swap space and nobody killable, fork fails with nothing changed and MAP_POPULATE populates nothing', () => {
    const { k, check } = boot(c);
    expect(k.swapon({ pages: 9 }).ok).toBe(true); // 8 slots
    const init = k.createProcess(); // pid 1: never the OOM killer's victim
    const base = mapAnon(k, init, 12);
    fill(k, init, base, 12);
    k.reclaim(12);
    expect(k.swapDevices[0]!.usedPages).toBe(8);
    const release = leaveFree(k, MIN);
    const procs = k.allProcesses.length;
    const vmas = init.space.vmas.size;
    expect(k.fork(init)).toEqual({ ok: false, errno: 'ENOMEM' });
    const m = k.mmap(init, 0, 2 * 4096, RW, PRIV | MAP.POPULATE);
    expect(m.ok).toBe(true); // mm_populate's failure is not mmap's
    if (!m.ok) return;
    expect(residentIn(k, init, m.value, 2)).toBe(0);
    expect(k.allocator.freeCount).toBe(MIN); // the reserve is intact
    expect(k.allProcesses.length).toBe(procs);
    expect(init.alive).toBe(true);
    expect(k.munmap(init, m.value, 2 * 4096).ok).toBe(true);
    expect(init.space.vmas.size).toBe(vmas);
    expect(check.events.some((e) => e.type === 'oom-kill')).toBe(true); // the killer found nobody
    clean(k);
    release();
    expectContents(k, init, base, 12);
    expect(check.violations).toEqual([]);
    clean(k);
  });

  it('without a swap device there is no reserve: allocations take the last frames (nothing to reclaim)', () => {
    const { k } = boot(c);
    const p = k.createProcess();
    const fresh = mapAnon(k, p, 4);
    expect(k.store(p, fresh + PAGE, 8, 1n).ok).toBe(true);
    leaveFree(k, 1);
    expect(k.allocator.reserve).toBe(0);
    expect(k.allocator.availableCount).toBe(1);
    expect(k.store(p, fresh, 8, 2n).ok).toBe(true);
    expect(k.allocator.freeCount).toBe(0);
    clean(k);
  });

  it('the reclaim path may go below min: withoutReserve, swapoff (try_to_unuse), KERNEL frames', () => {
    const { k, check } = boot(c);
    expect(k.swapon({ pages: 128 }).ok).toBe(true);
    expect(k.allocator.reserve).toBe(MIN);
    const p = k.createProcess();
    const base = mapAnon(k, p, 64);
    fill(k, p, base, 64);
    expect(k.reclaim(40)).toBe(40);
    // KERNEL frames ignore the reserve (leaveFree takes them down to 0 if asked).
    const release = leaveFree(k, MIN);
    expect(k.allocator.freeCount).toBe(MIN);
    expect(k.allocator.alloc('user', -1)).toBe(0);
    expect(k.allocator.alloc('page-table', -1)).toBe(0);
    expect(k.allocator.allocContiguous(1, 1, 'user', -1)).toBe(0);
    // The reclaim path's allocations (PF_MEMALLOC): below min, and the reserve comes back after.
    const pa = check.exempt(() => withoutReserve(k.allocator, () => k.allocator.alloc('user', -1)));
    expect(pa).not.toBe(0);
    expect(k.allocator.reserve).toBe(MIN);
    expect(() =>
      withoutReserve(k.allocator, () => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(k.allocator.reserve).toBe(MIN);
    k.allocator.free(pa);
    release();
    // swapoff brings 40 pages back with 45 free frames: 5 left, below min; no direct reclaim.
    leaveFree(k, 45);
    const stalls = k.vmstat.allocstall;
    expect(check.exempt(() => k.swapoff(0))).toEqual({ ok: true, value: 0 });
    expect(k.vmstat.allocstall).toBe(stalls);
    expect(k.allocator.freeCount).toBe(5);
    expect(k.allocator.reserve).toBe(0); // the last device is gone
    expect(k.allocator.availableCount).toBe(5);
    expectContents(k, p, base, 64);
    expect(check.violations).toEqual([]);
    clean(k);
  });
});

describe.each(CONFIGS)('the reserve in the allocator and the huge-page COW split — $name', (c) => {
  it('alloc and allocContiguous leave the reserve; KERNEL frames ignore it; availableCount agrees', () => {
    const { k } = boot(c);
    const a = k.allocator;
    expect(k.swapon({ pages: 16 }).ok).toBe(true);
    expect(a.reserve).toBe(MIN);
    const release = leaveFree(k, MIN + 4);
    expect(a.availableCount).toBe(4);
    expect(a.allocContiguous(5, 1, 'user', -1)).toBe(0); // would leave MIN − 1
    expect(a.freeCount).toBe(MIN + 4);
    const run = a.allocContiguous(4, 1, 'page-table', -1); // leaves exactly MIN
    expect(run).not.toBe(0);
    expect(a.availableCount).toBe(0);
    expect(a.alloc('user', -1)).toBe(0);
    expect(a.alloc('page-table', -1)).toBe(0);
    expect(a.freeCount).toBe(MIN);
    const kernelRun = a.allocContiguous(2, 1, 'kernel', -1);
    expect(kernelRun).not.toBe(0);
    const kernelPa = a.alloc('kernel', -1);
    expect(kernelPa).not.toBe(0);
    expect(a.freeCount).toBe(MIN - 3);
    expect(a.availableCount).toBe(0); // never negative
    a.free(kernelPa);
    a.freeContiguous(kernelRun, 2);
    a.freeContiguous(run, 4);
    release();
    clean(k);
  });

  it('a COW write to a shared huge page with only the reserve short of the split fails or reclaims, never half-splits', () => {
    const { k, check } = boot(c, false);
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const g = k.arch.geometry;
    const level = Math.min(...g.leafLevels.filter((l) => l > 1));
    const pages = g.entryPages[level]!;
    const r = k.mmap(p, 0, BigInt(pages) * PAGE, RW, PRIV | MAP.HUGETLB | MAP.POPULATE);
    if (!r.ok) throw new Error(r.detail);
    const va = r.value;
    expect(k.store(p, va + PAGE, 4, 0x101).ok).toBe(true);
    const child = k.fork(p);
    if (!child.ok) throw new Error('fork failed');
    // No aligned run for a copy; free frames for the split's tables and the page, but only by
    // taking the reserve (the pre-check must count the frames above it).
    for (const extra of [level - 2, level - 1]) {
      const release = leaveFree(k, MIN + extra);
      const before = audit(k);
      const w = k.copyToUser(child.process, va + PAGE, new Uint8Array([7]));
      if (!w.ok) {
        expect(w).toMatchObject({ errno: 'EFAULT' });
        expect(audit(k)).toEqual(before); // nothing changed
        expect(k.lookup(child.process, va)!.level).toBe(level);
      }
      expect(k.allocator.freeCount).toBeGreaterThanOrEqual(MIN);
      clean(k);
      release();
    }
    expect(k.load(p, va + PAGE, 4)).toEqual({ ok: true, value: 0x101 });
    expect(check.violations).toEqual([]);
    clean(k);
  });
});
