/**
 * Reclaim: Linux's default watermarks (hand-computed), kswapd bringing free memory from below the
 * low watermark to the high one, direct reclaim letting a process touch more pages than memory
 * holds, mlocked pages never evicted, the kernel's victim order equal to offline replay of the
 * same reference string through the same policy, and reclaim at every free-frame count — on all
 * five configurations, with strict TLB mode and audit() after each step.
 */
import { InvalidArgumentError, type MmEvent, vpnOf } from '@mmkit/core';
import { createPolicy } from '@mmkit/replay';
import { describe, expect, it } from 'vitest';
import { clearPageReferenced } from './accessed-bits.js';
import { audit } from './audit.js';
import { isFrameDirty, isLazyFreeFrame } from './frame-marks.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import { MADV } from './madvise.js';
import { MLOCK } from './mlock.js';
import type { Process } from './process.js';
import {
  checkWatermarks,
  defaultWatermarks,
  isUnevictable,
  MAX_RECLAIM_RETRIES,
  RECLAIM_POLICY_NAMES,
  type ReclaimPolicyName,
} from './reclaim.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leafPa, leaveFree, type TestConfig } from './test-fixtures.js';

const MiB = 2 ** 20;
const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * MiB);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;

type Reclaim = Extract<MmEvent, { type: 'reclaim' }>;

interface Env {
  readonly k: Kernel;
  readonly events: MmEvent[];
}

function boot(c: TestConfig, opts: Partial<KernelOptions> = {}): Env {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, ...opts });
  const events: MmEvent[] = [];
  k.events.on((e) => events.push(e));
  return { k, events };
}

const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const reclaimEvents = (e: Env) => e.events.filter((x): x is Reclaim => x.type === 'reclaim');

function mapAnon(k: Kernel, p: Process, pages: number): bigint {
  const r = k.mmap(p, 0, pages * 4096, RW, PRIV);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

/** Writes `0x7000 + i` at offset 8 of page i; returns how many stores succeeded. */
function fill(k: Kernel, p: Process, base: bigint, pages: number): number {
  for (let i = 0; i < pages; i++) {
    const r = k.store(p, base + BigInt(i) * PAGE + 8n, 8, 0x7000n + BigInt(i));
    if (!r.ok) return i;
  }
  return pages;
}

function expectContents(k: Kernel, p: Process, base: bigint, pages: number): void {
  for (let i = 0; i < pages; i++)
    expect(k.load(p, base + BigInt(i) * PAGE + 8n, 8)).toEqual({ ok: true, value: 0x7000n + BigInt(i) });
}

/**
 * Drives one reference string through the kernel (reclaiming one page whenever CAP pages are
 * resident and a missing one is needed) and through an offline policy; returns both victim
 * orders, as page indices.
 */
function crossCheck(
  c: TestConfig,
  kernelPolicy: ReclaimPolicyName,
  replayPolicy: ReclaimPolicyName,
  software = false,
): { want: number[]; got: number[]; k: Kernel } {
  const { k, events } = boot(c, { reclaimPolicy: kernelPolicy });
  expect(k.swapon({ pages: 64 }).ok).toBe(true);
  const p = k.createProcess();
  const PAGES = 12;
  const CAP = 5;
  const base = mapAnon(k, p, PAGES);
  expect(k.reclaimer.policy!.size).toBe(0);
  // A reference string with locality: a xorshift walk over a moving window.
  let x = 0x2545f491;
  const trace: number[] = [];
  for (let t = 0; t < 300; t++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    trace.push((((x >>> 0) % 7) + (t >> 4)) % PAGES);
  }
  const replay = createPolicy(replayPolicy, CAP);
  const want: number[] = [];
  const got: number[] = [];
  const va = (i: number) => base + BigInt(i) * PAGE;
  let resident = 0;
  for (const key of trace) {
    // Offline: exactly what access() does, with the victim recorded.
    if (replay.has(key)) replay.referenced(key);
    else {
      if (replay.size === CAP) want.push(replay.selectVictim());
      replay.insert(key);
    }
    // Kernel: a present page's access sets its accessed bit (every TLB is emptied first, so the
    // access walks); a missing page is reclaimed for when CAP pages are resident, then faulted in
    // with its accessed bit cleared (replay inserts a page unreferenced).
    const ref = k.lookup(p, va(key));
    if (ref?.entry.kind === 'leaf') {
      for (const cpu of k.cpus) cpu.tlb.invalidateAll();
      expect(k.store(p, va(key), 4, key)).toMatchObject({ ok: true });
      if (software) {
        // The use as software sees it (mark_page_accessed), the hardware bit kept clear.
        clearPageReferenced(k, p.space, vpnOf(va(key)));
        expect(k.reclaimer.policy!.referenced(k.allocator.frameIndex(ref.entry.pa))).toBe(true);
      }
    } else {
      if (resident === CAP) {
        events.length = 0;
        expect(k.reclaim(1)).toBe(1);
        const out = events.find((e) => e.type === 'swap' && e.action === 'swap-out');
        if (out?.type !== 'swap') throw new Error('no swap-out');
        got.push(Number((out.va - base) / PAGE));
        resident--;
      }
      expect(k.store(p, va(key), 4, key)).toMatchObject({ ok: true });
      clearPageReferenced(k, p.space, vpnOf(va(key)));
      resident++;
    }
  }
  for (let i = 0; i < PAGES; i++)
    if (trace.includes(i)) expect(k.load(p, va(i), 4)).toEqual({ ok: true, value: i });
  return { want, got, k };
}

describe('watermarks', () => {
  it("are Linux's __setup_per_zone_wmarks of calculate_min_free_kbytes (hand-computed)", () => {
    // 32 MiB: lowmem 32768 kB; int_sqrt(524288) = 724 kB; min = 724 >> 2 = 181 pages;
    // step = max(181 >> 2 = 45, 8192 × 10 / 10000 = 8) = 45; low 226, high 271.
    expect(defaultWatermarks(8192)).toEqual({ min: 181, low: 226, high: 271, minFreeKbytes: 724 });
    // 1 GiB: int_sqrt(16777216) = 4096 kB (Linux's well-known 4 MiB); min 1024;
    // step = max(256, 262144 × 10 / 10000 = 262) = 262.
    expect(defaultWatermarks(262144)).toEqual({ min: 1024, low: 1286, high: 1548, minFreeKbytes: 4096 });
    // 256 KiB: int_sqrt(4096) = 64 kB, clamped up to 128 kB = 32 pages; step = 8.
    expect(defaultWatermarks(64)).toEqual({ min: 32, low: 40, high: 48, minFreeKbytes: 128 });
    // 8 TiB: int_sqrt(2^37) = 370727 kB, clamped down to 262144 kB = 65536 pages;
    // step = 2^31 × 10 / 10000 = 2147483 (mult_frac rounds down).
    expect(defaultWatermarks(2 ** 31)).toEqual({
      min: 65536,
      low: 65536 + 2147483,
      high: 65536 + 2 * 2147483,
      minFreeKbytes: 262144,
    });
    // 64 KiB pages, 32 MiB: 724 kB >> (16 - 10) = 11 pages; step = max(2, 0) = 2.
    expect(defaultWatermarks(512, 65536)).toEqual({ min: 11, low: 13, high: 15, minFreeKbytes: 724 });
  });

  it('explicit watermarks are validated with typed errors naming the value', () => {
    expect(checkWatermarks({ min: 1, low: 2, high: 3 }, 100)).toEqual({ min: 1, low: 2, high: 3 });
    expect(checkWatermarks({ min: 0, low: 0, high: 0 }, 100)).toEqual({ min: 0, low: 0, high: 0 });
    expect(() => checkWatermarks(null, 100)).toThrow(InvalidArgumentError);
    expect(() => checkWatermarks({ min: 1, low: 2 }, 100)).toThrow('watermarks.high');
    expect(() => checkWatermarks({ min: 1.5, low: 2, high: 3 }, 100)).toThrow('watermarks.min');
    expect(() => checkWatermarks({ min: 3, low: 2, high: 4 }, 100)).toThrow('watermarks.low');
    expect(() => checkWatermarks({ min: 1, low: 4, high: 3 }, 100)).toThrow('watermarks.high');
    expect(() => checkWatermarks({ min: 1, low: 2, high: 101 }, 100)).toThrow('0 to 100');
    expect(() => defaultWatermarks(-1)).toThrow('managedPages');
    expect(() => defaultWatermarks(10, 3000)).toThrow('pageBytes');
  });
});

describe.each(CONFIGS)('reclaim: $name', (c) => {
  it('the kernel exposes the default watermarks of its managed pages; bad options are typed errors', () => {
    const { k } = boot(c);
    const w = defaultWatermarks(k.allocator.totalCount, 4096);
    expect(k.watermarks).toEqual({ min: w.min, low: w.low, high: w.high });
    expect(Object.isFrozen(k.watermarks)).toBe(true);
    expect(k.reclaimPolicy).toBe('two-list');
    expect(boot(c, { watermarks: { min: 1, low: 2, high: 3 } }).k.watermarks).toEqual({
      min: 1,
      low: 2,
      high: 3,
    });
    expect(() => boot(c, { watermarks: { min: 5, low: 2, high: 3 } })).toThrow('watermarks.low');
    expect(() => boot(c, { reclaimPolicy: 'opt' as ReclaimPolicyName })).toThrow('reclaimPolicy');
    expect(() => boot(c, { reclaimPolicy: 'nope' as ReclaimPolicyName })).toThrow(InvalidArgumentError);
    expect(() => boot(c, { autoReclaim: 1 as unknown as boolean })).toThrow('autoReclaim');
    for (const name of RECLAIM_POLICY_NAMES)
      expect(boot(c, { reclaimPolicy: name }).k.reclaimPolicy).toBe(name);
    // No swap device: no policy, nothing reclaimed, no counters move.
    expect(k.reclaim(10)).toBe(0);
    expect(k.runKswapd()).toBe(0);
    expect(k.reclaimer.policy).toBeUndefined();
  });

  it('kswapd: an allocation below the low watermark wakes it; it reclaims until free ≥ high; contents kept', () => {
    const e = boot(c, { watermarks: { min: 8, low: 16, high: 48 } });
    const { k } = e;
    expect(k.swapon({ pages: 256 }).ok).toBe(true);
    const p = k.createProcess();
    const base = mapAnon(k, p, 160);
    const release = leaveFree(k, 100);
    expect(fill(k, p, base, 160)).toBe(160);
    clean(k);
    const ev = reclaimEvents(e);
    const wake = ev.findIndex((x) => x.action === 'kswapd-wake');
    expect(wake).toBeGreaterThanOrEqual(0);
    expect(ev[wake]!.free).toBeLessThan(16);
    const sleep = ev[wake + 1]!;
    expect(sleep.action).toBe('kswapd-sleep');
    expect(sleep.free).toBeGreaterThanOrEqual(48);
    expect(sleep.reclaimed).toBe(sleep.free - ev[wake]!.free);
    // Free memory never stayed below low after a fault.
    expect(k.allocator.freeCount).toBeGreaterThanOrEqual(16);
    const s = k.vmstat;
    expect(s.pageoutrun).toBe(ev.filter((x) => x.action === 'kswapd-wake').length);
    expect(s.pgstealKswapd).toBeGreaterThanOrEqual(33);
    expect(s.pgscanKswapd).toBeGreaterThanOrEqual(s.pgstealKswapd);
    expect(s.pswpout).toBe(s.pgstealKswapd);
    expect(s.allocstall).toBe(0);
    expectContents(k, p, base, 160);
    expect(k.vmstat.pswpin).toBeGreaterThan(0);
    clean(k);
    // Above low: kswapd sleeps.
    release();
    expect(k.runKswapd()).toBe(0);
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    clean(k);
  });

  it('direct reclaim: a process touches more pages than memory holds (contents kept); without reclaim it is OOM-killed', () => {
    const run = (autoReclaim: boolean) => {
      const e = boot(c, { watermarks: { min: 0, low: 0, high: 0 }, autoReclaim });
      const { k } = e;
      expect(k.swapon({ pages: 256 }).ok).toBe(true);
      const p = k.createProcess();
      const base = mapAnon(k, p, 96);
      leaveFree(k, 24);
      return { e, k, p, base, written: fill(k, p, base, 96) };
    };
    const { e, k, p, base, written } = run(true);
    expect(written).toBe(96);
    clean(k);
    const s = k.vmstat;
    expect(s.allocstall).toBeGreaterThan(0);
    expect(s.pgstealDirect).toBeGreaterThanOrEqual(96 - 24);
    expect(s.pgscanKswapd).toBe(0); // low = 0: kswapd never wakes
    const ev = reclaimEvents(e);
    expect(ev.filter((x) => x.action === 'direct-begin').length).toBe(s.allocstall);
    expect(ev.find((x) => x.action === 'direct-end')!.reclaimed).toBeGreaterThan(0);
    expectContents(k, p, base, 96);
    clean(k);
    const off = run(false);
    expect(off.written).toBeLessThan(96);
    expect(off.p.state).toBe('killed');
    expect(off.k.vmstat.allocstall).toBe(0);
    clean(off.k);
  });

  it('every reclaim policy keeps contents under pressure (kswapd and direct reclaim)', () => {
    for (const reclaimPolicy of RECLAIM_POLICY_NAMES) {
      const { k } = boot(c, { reclaimPolicy, watermarks: { min: 4, low: 8, high: 24 } });
      expect(k.swapon({ pages: 256 }).ok).toBe(true);
      const p = k.createProcess();
      const base = mapAnon(k, p, 64);
      leaveFree(k, 24);
      expect(fill(k, p, base, 64)).toBe(64);
      expectContents(k, p, base, 64);
      const s = k.vmstat;
      expect(s.pgstealKswapd + s.pgstealDirect).toBeGreaterThanOrEqual(40);
      clean(k);
    }
  });

  it('kswapd never takes the page an access is faulting in (it runs after the access)', () => {
    const e = boot(c, { watermarks: { min: 0, low: 1000, high: 1000 } });
    const { k } = e;
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const base = mapAnon(k, p, 8);
    leaveFree(k, 16); // always below low: kswapd evicts every user page after every call
    expect(fill(k, p, base, 8)).toBe(8);
    expectContents(k, p, base, 8);
    expect(p.residentPages).toBe(0);
    expect(k.vmstat.pgstealKswapd).toBeGreaterThanOrEqual(16);
    clean(k);
  });

  it('kswapd stops waking after MAX_RECLAIM_RETRIES runs that reclaim nothing, until reclaim progresses', () => {
    const e = boot(c, { watermarks: { min: 0, low: 8, high: 16 } });
    const { k } = e;
    expect(k.swapon({ pages: 2 }).ok).toBe(true); // one usable slot
    const p = k.createProcess();
    const base = mapAnon(k, p, 4);
    expect(fill(k, p, base, 4)).toBe(4);
    expect(k.reclaim(4)).toBe(1); // the device is full
    const release = leaveFree(k, 4);
    for (let i = 0; i < 20; i++) expect(k.mmap(p, 0, 4096, RW, PRIV).ok).toBe(true);
    const wakes = () => reclaimEvents(e).filter((x) => x.action === 'kswapd-wake').length;
    expect(wakes()).toBe(MAX_RECLAIM_RETRIES);
    expect(k.reclaimer.kswapdFailures).toBe(MAX_RECLAIM_RETRIES);
    // Room again (the swapped page comes back, freeing its slot); reclaim progresses, kswapd wakes.
    release();
    expectContents(k, p, base, 4);
    expect(k.reclaim(1)).toBe(1);
    expect(k.reclaimer.kswapdFailures).toBe(0);
    leaveFree(k, 4);
    expect(k.mmap(p, 0, 4096, RW, PRIV).ok).toBe(true);
    expect(wakes()).toBe(MAX_RECLAIM_RETRIES + 1);
    clean(k);
  });

  it('reclaim drops a clean MADV_FREE page; one written since is activated, not swapped in that pass', () => {
    const { k } = boot(c, { watermarks: { min: 0, low: 0, high: 0 } });
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const base = mapAnon(k, p, 4);
    expect(fill(k, p, base, 4)).toBe(4);
    expect(k.madvise(p, base, 2 * 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    // Page 1 written again: the advice is cancelled for it (its contents must survive).
    expect(k.store(p, base + PAGE + 8n, 8, 0x7001n).ok).toBe(true);
    const before = k.vmstat;
    // Page 0 dropped (no slot); page 1 found dirty: try_to_unmap_one makes it swap-backed again
    // and shrink_folio_list activates it (activate_locked) — it stays; pages 2–3 go to swap.
    expect(k.reclaim(4)).toBe(3);
    expect(k.swapDevices[0]!.usedPages).toBe(2);
    expect(p.space.swapEntries).toBe(2);
    expect(k.vmstat.pswpout - before.pswpout).toBe(2);
    expect(k.vmstat.pgactivate - before.pgactivate).toBe(1);
    const pa1 = leafPa(k, p, base + PAGE);
    expect(isLazyFreeFrame(k, pa1)).toBe(false);
    expect(isFrameDirty(k, pa1)).toBe(true); // folio_mark_dirty from the dirty PTE
    expect(audit(k).problems).toEqual([]);
    // A later pass swaps it like any page (written: PG_dirty).
    expect(k.reclaim(1)).toBe(1);
    expect(k.vmstat.pswpout - before.pswpout).toBe(3);
    expect(k.load(p, base + 8n, 8)).toEqual({ ok: true, value: 0n });
    for (let i = 1; i < 4; i++)
      expect(k.load(p, base + BigInt(i) * PAGE + 8n, 8)).toEqual({ ok: true, value: 0x7000n + BigInt(i) });
    clean(k);
  });

  it('mlocked pages are never evicted (isUnevictable), by explicit, direct or background reclaim', () => {
    // Without the OOM killer: the refused fault below must leave the locked pages as they are.
    const { k } = boot(c, { watermarks: { min: 0, low: 0, high: 0 }, oomKiller: false });
    expect(k.swapon({ pages: 256 }).ok).toBe(true);
    const p = k.createProcess();
    // Three 8-page ranges with a hole between them (no VMA merging across the ranges).
    const locked = mapAnon(k, p, 26);
    const onfault = locked + 9n * PAGE;
    const other = locked + 18n * PAGE;
    expect(k.munmap(p, locked + 8n * PAGE, 4096).ok).toBe(true);
    expect(k.munmap(p, locked + 17n * PAGE, 4096).ok).toBe(true);
    // mlock faults the range in and marks it VM_LOCKED; mlock2(MLOCK_ONFAULT) locks without faulting.
    expect(k.mlock(p, locked, 8 * 4096)).toEqual({ ok: true, value: 0 });
    expect(k.mlock2(p, onfault, 8 * 4096, MLOCK.ONFAULT)).toEqual({ ok: true, value: 0 });
    expect(isUnevictable(k, p.space, vpnOf(locked))).toBe(true);
    expect(isUnevictable(k, p.space, vpnOf(onfault) + 7)).toBe(true);
    expect(isUnevictable(k, p.space, vpnOf(other))).toBe(false);
    expect(isUnevictable(k, p.space, 1)).toBe(false);
    for (const b of [locked, onfault, other]) expect(fill(k, p, b, 8)).toBe(8);
    expect(k.reclaim(1000)).toBe(8);
    const present = (b: bigint, i: number) => k.lookup(p, b + BigInt(i) * PAGE)?.entry.kind === 'leaf';
    for (let i = 0; i < 8; i++) {
      expect(present(locked, i)).toBe(true);
      expect(present(onfault, i)).toBe(true);
      expect(present(other, i)).toBe(false);
    }
    // Under pressure too: the locked pages stay, the fault that needs a frame fails.
    leaveFree(k, 0);
    expect(k.copyToUser(p, other, new Uint8Array(8))).toMatchObject({ ok: false, errno: 'EFAULT' });
    for (let i = 0; i < 8; i++) expect(present(locked, i)).toBe(true);
    // On the unevictable list, out of the policy: no scan ever met (culled) a locked page.
    expect(k.vmstat.nrUnevictable).toBe(16);
    expect(k.vmstat.unevictablePgsCulled).toBe(k.vmstat.unevictablePgsMlocked);
    clean(k);
  });

  for (const policy of ['fifo', 'clock', 'sieve'] as const)
    it(`victim order equals offline replay of the same reference string (${policy})`, () => {
      const { want, got, k } = crossCheck(c, policy, policy);
      expect(want.length).toBeGreaterThan(20);
      expect(got).toEqual(want);
      clean(k);
    });

  // With software references (the kernel's policy told of every use, hardware bits clear), every
  // policy without ghost entries follows replay exactly: the kernel's insertions, put-backs and
  // removals are the replay's. (ARC's and 2Q's decisions depend on the capacity — ARC's case IV
  // and directory size, 2Q's Kin and Kout — which in the kernel is the frame-table size, not the
  // replay's CAP; their ghost identity is tested in ghosts.test.ts.)
  for (const policy of ['lru', 'lfu', 'two-list', 'wsclock', 'clock', 'sieve'] as const)
    it(`victim order equals offline replay with software references (${policy})`, () => {
      const { want, got, k } = crossCheck(c, policy, policy, true);
      expect(want.length).toBeGreaterThan(20);
      expect(got).toEqual(want);
      clean(k);
    });

  it('the cross-check catches a kernel whose policy differs from the replayed one (fifo vs clock)', () => {
    const { want, got } = crossCheck(c, 'fifo', 'clock');
    expect(got).not.toEqual(want);
  });

  it('audit catches a tracked frame that is not a USER frame', () => {
    const { k } = boot(c);
    expect(k.swapon({ pages: 16 }).ok).toBe(true);
    const pa = k.allocator.alloc('kernel', -1);
    const i = k.allocator.frameIndex(pa);
    k.reclaimer.added(i, pa);
    expect(audit(k).problems).toContainEqual(
      expect.stringContaining('reclaim: the LRU tracks frame-table index'),
    );
    k.reclaimer.freed(i);
    k.allocator.free(pa);
    clean(k);
  });

  it('reclaim at every free-frame count: a write either succeeds with reclaim or fails with nothing changed', () => {
    for (let keep = 0; keep <= 4; keep++)
      for (const full of [false, true]) {
        // Without the OOM killer: "fails with nothing changed" is the refused path.
        const { k } = boot(c, { watermarks: { min: 0, low: 0, high: 0 }, oomKiller: false });
        // A full device (9 usable slots, all used) leaves nothing reclaimable.
        expect(k.swapon({ pages: full ? 10 : 64 }).ok).toBe(true);
        const p = k.createProcess();
        const base = mapAnon(k, p, 16);
        const written = fill(k, p, base, 9);
        expect(written).toBe(9);
        if (full) expect(k.reclaim(9)).toBe(9);
        const target = base + 15n * PAGE;
        leaveFree(k, keep);
        const free0 = k.allocator.freeCount;
        const rss0 = p.residentPages;
        const r = k.copyToUser(p, target, new Uint8Array([1, 2, 3, 4]));
        clean(k);
        if (full && keep === 0) {
          // No frame, nothing reclaimable: EFAULT (the soft path's out of memory), nothing changed.
          expect(r).toMatchObject({ ok: false, errno: 'EFAULT' });
          expect(k.allocator.freeCount).toBe(free0);
          expect(p.residentPages).toBe(rss0);
        } else if (!full && keep === 0) {
          // The frame came from direct reclaim.
          expect(r.ok).toBe(true);
          expect(k.vmstat.allocstall).toBeGreaterThan(0);
        }
        if (r.ok) expect(k.load(p, target, 4)).toEqual({ ok: true, value: 0x04030201 });
        const ok = fill(k, p, base, 9);
        if (!full) {
          expect(ok).toBe(9);
          expectContents(k, p, base, 9);
        }
        clean(k);
      }
  });
});

describe.each(CONFIGS.slice(0, 2))('reclaimPolicyState: $name', (c) => {
  const frameOf = (k: Kernel, p: Process, va: bigint): number => {
    const ref = k.lookup(p, va)!;
    expect(ref.entry.kind).toBe('leaf');
    return (ref.entry as { pa: number }).pa;
  };

  it('undefined before swapon; then the resident user frames in eviction order, by physical address', () => {
    const { k } = boot(c, { autoReclaim: false });
    const p = k.createProcess();
    const base = mapAnon(k, p, 4);
    expect(fill(k, p, base, 2)).toBe(2);
    expect(k.reclaimPolicyState()).toBeUndefined();
    expect(k.swapon({ pages: 16 }).ok).toBe(true);
    expect(fill(k, p, base, 4)).toBe(4);
    const pas = [0, 1, 2, 3].map((i) => frameOf(k, p, base + BigInt(i) * PAGE));
    const s = k.reclaimPolicyState()!;
    expect(s.name).toBe('two-list');
    expect(s.size).toBe(4);
    expect(s.capacity).toBe(k.allocator.frameIndexCount);
    expect([...s.resident].sort((a, b) => a - b)).toEqual([...pas].sort((a, b) => a - b));
    // Every page was just written: the hardware accessed bits are set.
    expect([...s.referenced].sort((a, b) => a - b)).toEqual([...pas].sort((a, b) => a - b));
    expect(
      Object.values(s.lists)
        .flat()
        .sort((a, b) => a - b),
    ).toEqual([...pas].sort((a, b) => a - b));
    // A reclaimed frame leaves the state.
    expect(k.reclaim(1)).toBe(1);
    expect(k.reclaimPolicyState()!.size).toBe(3);
    clean(k);
  });

  it('clock: the hand at the oldest frame, referenced = frames whose accessed bit is set', () => {
    const { k } = boot(c, { autoReclaim: false, reclaimPolicy: 'clock' });
    const p = k.createProcess();
    const base = mapAnon(k, p, 3);
    expect(k.swapon({ pages: 16 }).ok).toBe(true);
    expect(fill(k, p, base, 3)).toBe(3);
    const pas = [0, 1, 2].map((i) => frameOf(k, p, base + BigInt(i) * PAGE));
    let s = k.reclaimPolicyState()!;
    expect(s.name).toBe('clock');
    expect(s.resident).toEqual(pas); // insertion order: the first page touched first
    expect(s.hand).toBe(0);
    expect(s.referenced).toEqual(pas);
    expect(k.clearPageReferenced(p, base + PAGE)).toBe(true);
    s = k.reclaimPolicyState()!;
    expect(s.referenced).toEqual([pas[0], pas[2]]);
    // The hand sweeps: pages 0 (second chance, bit cleared) then 1 (evicted).
    expect(k.reclaim(1)).toBe(1);
    s = k.reclaimPolicyState()!;
    expect(s.resident).toEqual([pas[2], pas[0]]);
    expect(s.hand).toBe(0);
    expect(s.referenced).toEqual([pas[2]]);
    clean(k);
  });
});
