/**
 * Reclaim as Linux's mm/vmscan.c does it, where a simpler model would differ observably; on all
 * five configurations with strict TLB mode and audit() after each step:
 * - `activate_locked`: a swap-cache page reclaim keeps — activated because referenced (two-list:
 *   the second reference, not the first, which only rotates it; CLOCK: its second chance),
 *   mlocked, or pinned — gives up its slot when swap is more than half full or it is mlocked;
 * - a split huge page's frames (munmap, mprotect, a copy-on-write split) enter the replacement
 *   policy as 4 KiB frames, lowest first, and are reclaimed in that order (`lru_add_split_folio`);
 * - kswapd is woken where Linux's fast path (`ALLOC_WMARK_LOW`) fails — also when the call itself
 *   brings free frames back above `low` (direct reclaim) — and not one frame earlier.
 */
import type { MmEvent } from '@mmkit/core';
import { vpnOf } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import type { Process } from './process.js';
import { pageOutRange } from './swap.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, swapTestEnv, type TestConfig } from './test-fixtures.js';

const PAGE = 4096n;
const N = 8;
const CONFIGS = fiveConfigs(32 * 2 ** 20);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;

interface Env {
  readonly k: Kernel;
  readonly p: Process;
  readonly base: bigint;
}

/** N private rw- pages, page i holding `0x7000 + i` at offset 16, then a device of `pages` pages. */
function setup(c: TestConfig, pages: number, opts: Partial<KernelOptions> = {}): Env {
  return swapTestEnv(c, N, pages, opts, false);
}

const at = (e: Env, i: number) => e.base + BigInt(i) * PAGE;
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const used = (k: Kernel) => k.swapDevices[0]!.usedPages;
const cached = (k: Kernel) => k.swapDevices[0]!.cachedPages;
const load = (k: Kernel, p: Process, va: bigint) => {
  const r = k.load(p, va + 16n, 8);
  if (!r.ok) throw new Error('load failed');
  return r.value;
};
const pageOut = (e: Env, from: number, to: number) =>
  pageOutRange(e.k, e.p.space, vpnOf(at(e, from)), vpnOf(at(e, to)));
const paOf = (k: Kernel, p: Process, va: bigint): number => {
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
  return ref.entry.pa;
};

/**
 * Page 0 swapped out and read back (a clean swap-cache page, its slot kept), then pages 1 and 2
 * swapped out: with a 5-page device (4 slots) swap is more than half full (3 in use).
 */
function cachedPageZero(e: Env): void {
  const { k } = e;
  expect(pageOut(e, 0, 1)).toBe(1);
  expect(load(k, e.p, at(e, 0))).toBe(0x7000n);
  expect([used(k), cached(k)]).toEqual([1, 1]);
  expect(pageOut(e, 1, 3)).toBe(2);
  expect([used(k), cached(k)]).toEqual([3, 1]);
  clean(k);
}

describe.each(CONFIGS)('activate_locked frees a kept swap-cache page’s slot: $name', (c) => {
  it('two-list: the first reference only rotates it (FOLIOREF_KEEP, slot kept); the second activates it and frees the slot', () => {
    const e = setup(c, 5, { autoReclaim: false });
    const { k, p } = e;
    cachedPageZero(e);
    // Every page was accessed: each gets PG_referenced and rotates; page 3 goes on the second pass.
    expect(k.reclaim(1)).toBe(1);
    expect([used(k), cached(k)]).toEqual([4, 1]); // page 0 kept (KEEP): its slot stays
    clean(k);
    // Referenced again, from CPU 1: x86 clears the accessed bit without a TLB flush (Linux
    // ptep_clear_flush_young), so CPU 0's cached translation would not set it again.
    expect(k.load(p, at(e, 0) + 16n, 8, 1)).toEqual({ ok: true, value: 0x7000n });
    // Swap is full: pages 4…7 are activated (no slot for them: add_to_swap fails →
    // activate_locked); page 0 (its slot holds it) is referenced and flagged: activated, and with
    // swap more than half full its slot is freed (folio_free_swap) — which page 4, demoted again
    // by the list balancing (inactive_is_low) with 5 and 6 and met again, then takes.
    const activated = k.vmstat.pgactivate;
    expect(k.reclaim(1)).toBe(1);
    expect(k.vmstat.pgactivate - activated).toBe(5);
    expect([used(k), cached(k)]).toEqual([4, 0]);
    expect(k.lookup(p, at(e, 4))?.entry.kind).not.toBe('leaf');
    expect(k.reclaimPolicyState()!.lists.active).toEqual([paOf(k, p, at(e, 7)), paOf(k, p, at(e, 0))]);
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    clean(k);
    for (let i = 0; i < N; i++) expect(load(k, p, at(e, i))).toBe(0x7000n + BigInt(i));
    k.exit(p);
    expect([used(k), cached(k)]).toEqual([0, 0]);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    clean(k);
  });

  it('CLOCK: a referenced swap-cache page’s second chance frees its slot only when swap is more than half full', () => {
    for (const [pages, full] of [
      [5, true],
      [64, false],
    ] as const) {
      const e = setup(c, pages, { autoReclaim: false, reclaimPolicy: 'clock' });
      const { k, p } = e;
      cachedPageZero(e);
      const slots = used(k);
      // CLOCK: pages 3…7 and page 0 all referenced: second chances, then page 3 goes.
      expect(k.reclaim(1)).toBe(1);
      expect([used(k), cached(k)], `${pages} pages`).toEqual(full ? [slots, 0] : [slots + 1, 1]);
      clean(k);
      for (let i = 0; i < N; i++) expect(load(k, p, at(e, i))).toBe(0x7000n + BigInt(i));
      clean(k);
    }
  });

  it('an mlocked swap-cache page is on the unevictable list: reclaim never meets it and it keeps its slot; a clean one reclaim takes keeps it', () => {
    const e = setup(c, 64, { autoReclaim: false, reclaimPolicy: 'fifo' });
    const { k, p } = e;
    expect(pageOut(e, 0, 2)).toBe(2);
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    expect(load(k, p, at(e, 1))).toBe(0x7001n);
    expect([used(k), cached(k)]).toEqual([2, 2]);
    // Page 1, clean in the swap cache, is dropped without a write into the slot it keeps.
    const writes = k.vmstat.pswpout;
    expect(k.mlock(p, at(e, 0), 4096)).toEqual({ ok: true, value: 0 }); // page 0 locked, still cached
    expect([used(k), cached(k)]).toEqual([2, 2]);
    expect(k.vmstat.nrUnevictable).toBe(1);
    // FIFO: pages 2…7, then page 1 (clean: dropped). Page 0 is not in the policy (Linux's
    // unevictable list: shrink_folio_list never sees it, so its activate_locked never frees the slot).
    const scanned = k.vmstat;
    expect(k.reclaim(N)).toBe(N - 1);
    expect(k.vmstat.pswpout).toBe(writes + 6); // pages 2…7 written; page 1 was not
    expect(p.space.swapEntries).toBe(N - 1);
    expect([used(k), cached(k)]).toEqual([N, 1]);
    expect(k.vmstat.unevictablePgsCulled).toBe(scanned.unevictablePgsCulled); // the scan met no locked page
    expect(k.lookup(p, at(e, 0))?.entry.kind).toBe('leaf');
    clean(k);
    for (let i = 0; i < N; i++) expect(load(k, p, at(e, i))).toBe(0x7000n + BigInt(i));
    clean(k);
  });

  it('a pinned swap-cache page is kept and gives up its slot only when swap is more than half full', () => {
    for (const [pages, full] of [
      [5, true],
      [64, false],
    ] as const) {
      const e = setup(c, pages, { autoReclaim: false, reclaimPolicy: 'fifo' });
      const { k, p } = e;
      cachedPageZero(e);
      const pa = paOf(k, p, at(e, 0));
      k.allocator.ref(pa); // a pin (get_user_pages)
      const slots = used(k);
      // FIFO: pages 3…7 first (as far as slots go), then page 0, pinned.
      k.reclaim(N);
      expect(cached(k), `${pages} pages`).toBe(full ? 0 : 1);
      expect(k.lookup(p, at(e, 0))?.entry.kind).toBe('leaf');
      expect(used(k)).toBe(full ? slots : slots + 5);
      k.allocator.unref(pa);
      clean(k);
      for (let i = 0; i < N; i++) expect(load(k, p, at(e, i))).toBe(0x7000n + BigInt(i));
      clean(k);
    }
  });
});

describe.each(CONFIGS)('a split huge page feeds the policy per 4 KiB frame: $name', (c) => {
  for (const how of ['munmap', 'mprotect'] as const)
    it(`after a ${how} of one page splits it, every 4 KiB frame is reclaimable, lowest first`, () => {
      const k = bootKernel({
        arch: c.arch(),
        machine: c.machine(),
        cpus: 2,
        strictTlb: true,
        autoReclaim: false,
      });
      const hp = k.bounds.hugePages;
      const p = k.createProcess();
      const r = k.mmap(p, 0, BigInt(hp) * PAGE, RW, PRIV | MAP.HUGETLB);
      if (!r.ok) throw new Error(r.detail);
      const va = (i: number) => r.value + BigInt(i) * PAGE;
      for (const i of [0, 1, 2, hp - 1])
        expect(k.store(p, va(i) + 16n, 8, 0x9000n + BigInt(i)).ok).toBe(true);
      expect(k.lookup(p, va(0))!.level).toBeGreaterThan(1); // one huge leaf
      const head = paOf(k, p, va(0));
      expect(k.swapon({ pages: hp + 8 }).ok).toBe(true);
      expect(k.reclaimPolicyState()!.resident).toEqual([]); // a huge page is never tracked
      expect(k.reclaim(1)).toBe(0);
      clean(k);
      const cut = hp >> 1; // the page the split is for
      const split = how === 'munmap' ? k.munmap(p, va(cut), 4096) : k.mprotect(p, va(cut), 4096, PROT.READ);
      expect(split.ok).toBe(true);
      expect(k.lookup(p, va(0))!.level).toBe(1);
      clean(k);
      const frames: number[] = [];
      for (let i = 0; i < hp; i++) if (how === 'mprotect' || i !== cut) frames.push(head + i * 4096);
      expect(k.reclaimPolicyState()!.resident).toEqual(frames); // FIFO order: lowest frame first
      // Reclaim follows the policy: the three lowest pages go first.
      expect(k.reclaim(3)).toBe(3);
      for (let i = 0; i < 4; i++) expect(k.lookup(p, va(i))?.entry.kind === 'leaf', `page ${i}`).toBe(i >= 3);
      clean(k);
      // Then every other one.
      expect(k.reclaim(hp)).toBe(frames.length - 3);
      expect(p.residentPages).toBe(0);
      expect(p.space.swapEntries).toBe(frames.length);
      clean(k);
      for (const i of [0, 1, 2, hp - 1]) expect(load(k, p, va(i))).toBe(0x9000n + BigInt(i));
      expect(load(k, p, va(3))).toBe(0n);
      clean(k);
      k.exit(p);
      expect(used(k)).toBe(0);
      expect(k.allocator.freeCount).toBe(k.baselineFree);
      clean(k);
    }, 60_000);
});

describe.each(CONFIGS)('a copy-on-write split feeds the policy too: $name', (c) => {
  it('a write to a shared huge page with no aligned run free splits it; the child’s frames are then reclaimable', () => {
    const k = bootKernel({
      arch: c.arch(),
      machine: c.machine(),
      cpus: 2,
      strictTlb: true,
      autoReclaim: false,
      reclaimPolicy: 'fifo',
    });
    const hp = k.bounds.hugePages;
    const parent = k.createProcess();
    const r = k.mmap(parent, 0, BigInt(hp) * PAGE, RW, PRIV | MAP.HUGETLB | MAP.POPULATE);
    if (!r.ok) throw new Error(r.detail);
    const va = (i: number) => r.value + BigInt(i) * PAGE;
    for (const i of [0, 1, hp - 1])
      expect(k.store(parent, va(i) + 16n, 8, 0x9000n + BigInt(i)).ok).toBe(true);
    expect(k.swapon({ pages: hp + 8 }).ok).toBe(true);
    const f = k.fork(parent);
    if (!f.ok) throw new Error(f.errno);
    const child = f.process;
    const release = leaveFree(k, 16); // no aligned run for a whole copy (hugetlb_wp): split instead
    expect(k.store(child, va(1) + 16n, 8, 0xc0ffeen).ok).toBe(true);
    expect(k.lookup(child, va(0))!.level).toBe(1);
    expect(k.lookup(parent, va(0))!.level).toBeGreaterThan(1);
    release();
    clean(k);
    k.exit(parent); // the child alone maps the frames now
    clean(k);
    expect(k.reclaim(hp)).toBe(hp); // every 4 KiB page, the copy included
    expect(child.residentPages).toBe(0);
    clean(k);
    expect(load(k, child, va(0))).toBe(0x9000n);
    expect(load(k, child, va(1))).toBe(0xc0ffeen);
    expect(load(k, child, va(hp - 1))).toBe(0x9000n + BigInt(hp - 1));
    clean(k);
  }, 60_000);
});

type Reclaim = Extract<MmEvent, { type: 'reclaim' }>;

describe.each(CONFIGS)('when kswapd wakes (the fast path’s low watermark): $name', (c) => {
  const WMARKS = { min: 8, low: 16, high: 48 } as const;

  function pressure(free: number) {
    const k = bootKernel({ arch: c.arch(), machine: c.machine(), strictTlb: true, watermarks: WMARKS });
    expect(k.swapon({ pages: 512 }).ok).toBe(true);
    const p = k.createProcess();
    const m = k.mmap(p, 0, 80 * 4096, RW, PRIV);
    if (!m.ok) throw new Error(m.detail);
    for (let i = 0; i < 64; i++) expect(k.store(p, m.value + BigInt(i) * PAGE, 8, BigInt(i)).ok).toBe(true);
    leaveFree(k, free); // kernel frames, outside any kernel call
    const events: Reclaim[] = [];
    k.events.on((ev) => {
      if (ev.type === 'reclaim') events.push(ev);
    });
    const store = (i: number) => expect(k.store(p, m.value + BigInt(i) * PAGE, 8, BigInt(i)).ok).toBe(true);
    return { k, p, events, store };
  }

  it('an allocation at free = low + 1 does not wake kswapd; one at free = low does', () => {
    const { k, events, store } = pressure(WMARKS.low + 1);
    store(64); // free low + 1 → low: the fast path succeeds
    expect([k.allocator.freeCount, k.vmstat.pageoutrun, events.length]).toEqual([WMARKS.low, 0, 0]);
    store(65); // free low → low − 1: the fast path fails, kswapd wakes and balances to high
    expect(events.map((e) => [e.action, e.free])).toEqual([
      ['kswapd-wake', WMARKS.low - 1],
      ['kswapd-sleep', WMARKS.high],
    ]);
    expect([k.vmstat.pageoutrun, k.vmstat.allocstall]).toEqual([1, 0]);
    clean(k);
  });

  it('direct reclaim that brings free frames above low still leaves kswapd woken: it runs when the call ends', () => {
    const { k, events, store } = pressure(WMARKS.min);
    store(64); // free = min: the reserve forces direct reclaim, which frees 32 (free ≥ low again)
    expect(events.map((e) => e.action)).toEqual([
      'direct-begin',
      'direct-end',
      'kswapd-wake',
      'kswapd-sleep',
    ]);
    const [, end, wake, sleep] = events;
    expect(end!.free).toBeGreaterThanOrEqual(WMARKS.low);
    expect(wake!.free).toBe(end!.free - 1); // the retried allocation took one
    expect(wake!.detail).toMatch(/^woken by an allocation at free ≤ low watermark 16/);
    expect(sleep!.free).toBe(WMARKS.high);
    expect([k.vmstat.allocstall, k.vmstat.pageoutrun]).toEqual([1, 1]);
    expect(k.vmstat.pgstealKswapd).toBe(WMARKS.high - wake!.free);
    clean(k);
  });

  it('exec at low memory: the new image’s allocations wake kswapd even though freeing the old one ends above high', () => {
    const { k, p, events } = pressure(WMARKS.low + 2);
    expect(k.exec(p, { text: new Uint8Array(16) })).toEqual({ ok: true, value: 0 });
    expect(k.allocator.freeCount).toBeGreaterThanOrEqual(WMARKS.high); // the old image went
    // balance_pgdat ran once (a pageoutrun) and found the node balanced: nothing reclaimed.
    expect(events.map((e) => [e.action, e.reclaimed])).toEqual([
      ['kswapd-wake', 0],
      ['kswapd-sleep', 0],
    ]);
    expect([k.vmstat.pageoutrun, k.vmstat.pgscanKswapd, k.vmstat.allocstall]).toEqual([1, 0, 0]);
    clean(k);
  });
});
