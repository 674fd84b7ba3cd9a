/**
 * Swap: swap-out/swap-in round trips, the swap cache for pages shared by fork, slot counts,
 * munmap/exit/exec/mremap freeing or moving slots, swapoff, readahead and out of memory at every
 * allocation point — on all five configurations, with strict TLB mode (a stale translation or an
 * undischarged flush obligation throws) and audit() after each step.
 */
import { type MmEvent, vpnOf } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { dumpPageTable, formatDump } from './inspect.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import type { Process } from './process.js';
import { pageOutRange, reclaimFrame } from './swap.js';
import { MAP, MREMAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, type TestConfig } from './test-fixtures.js';

const MiB = 2 ** 20;
const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * MiB);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;
const N = 8;

type Swap = Extract<MmEvent, { type: 'swap' }>;

interface Env {
  readonly k: Kernel;
  readonly p: Process;
  readonly events: MmEvent[];
  readonly base: bigint;
}

/** A private rw- mapping of N pages, page i holding `0x5000 + i` at offset 16, and a 64-page device. */
function setup(c: TestConfig, opts: Partial<KernelOptions> = {}): Env {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, ...opts });
  const events: MmEvent[] = [];
  k.events.on((e) => events.push(e));
  const p = k.createProcess();
  const r = k.mmap(p, 0, N * 4096, RW, PRIV);
  if (!r.ok) throw new Error(r.detail);
  for (let i = 0; i < N; i++)
    expect(k.store(p, r.value + BigInt(i) * PAGE + 16n, 8, 0x5000n + BigInt(i), i & 1)).toMatchObject({
      ok: true,
    });
  const dev = k.swapon({ pages: 64 });
  if (!dev.ok) throw new Error(dev.detail);
  events.length = 0;
  return { k, p, events, base: r.value };
}

const at = (e: Env, i: number) => e.base + BigInt(i) * PAGE;
const vpn = (e: Env, i: number) => vpnOf(at(e, i));
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const swaps = (e: Env, action?: Swap['action']): Swap[] =>
  e.events.filter((x): x is Swap => x.type === 'swap' && (action === undefined || x.action === action));
const paOf = (k: Kernel, p: Process, va: bigint): number => {
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
  return ref.entry.pa;
};
const must = (r: { ok: true; process: Process } | { ok: false; errno: string }): Process => {
  if (!r.ok) throw new Error(r.errno);
  return r.process;
};
const readAll = (e: Env, p: Process) =>
  Array.from({ length: N }, (_, i) => {
    const r = e.k.load(p, at(e, i) + 16n, 8, i & 1);
    if (!r.ok) throw new Error(`load ${i} failed`);
    return r.value;
  });
const expected = Array.from({ length: N }, (_, i) => 0x5000n + BigInt(i));
const used = (k: Kernel) => k.swapDevices.reduce((n, d) => n + d.usedPages, 0);

describe.each(CONFIGS)('swap: $name', (c) => {
  it('MADV_PAGEOUT range: every page goes to the device, comes back on touch (major faults), slots kept in the swap cache', () => {
    const e = setup(c);
    const { k, p } = e;
    const free0 = k.allocator.freeCount;
    const rss0 = p.residentPages;
    expect(pageOutRange(k, p.space, vpn(e, 0), vpn(e, N))).toBe(N);
    expect(p.space.swapEntries).toBe(N);
    expect(p.residentPages).toBe(rss0 - N);
    expect(k.allocator.freeCount).toBe(free0 + N);
    expect(used(k)).toBe(N);
    // /proc/PID/smaps reports them (Swap: of the VMA).
    expect(k.procSmaps(p)).toMatch(new RegExp(`\\nSwap: +${N * 4} kB\\n`));
    expect(swaps(e, 'swap-out').map((s) => [s.pid, s.va, s.swapType])).toEqual(
      Array.from({ length: N }, (_, i) => [p.pid, at(e, i), 0]),
    );
    // The PTE holds the swap entry exactly as the backend's codec encodes it.
    const ref = k.lookup(p, at(e, 3))!;
    expect(ref.level).toBe(1);
    const [lo, hi] = k.editor.readRaw(ref.descriptorPa);
    const out = swaps(e, 'swap-out')[3]!;
    expect(k.arch.swap!.decode(lo, hi, 1)).toMatchObject({ type: 0, offset: out.offset });
    expect(out.offset).toBeGreaterThan(0); // slot 0 is the header
    // The page-table dump names it.
    const dumped = formatDump(dumpPageTable(k, p)).filter((l) => l.includes('swap entry'));
    expect(dumped).toHaveLength(N);
    // Mapped once when swapped out: SWP_EXCLUSIVE, named by the dump.
    expect(dumped[3]).toContain(`swap entry (type 0, offset ${out.offset}, exclusive)`);
    clean(k);
    const major0 = p.majorFaults;
    expect(readAll(e, p)).toEqual(expected);
    expect(p.majorFaults - major0).toBe(N);
    expect(p.space.swapEntries).toBe(0);
    // Read faults: every page stays in the swap cache with its slot (should_try_to_free_swap).
    expect(used(k)).toBe(N);
    expect(k.swap.devices[0]!.cached).toBe(N);
    expect(swaps(e, 'swap-free')).toHaveLength(0);
    expect(k.allocator.freeCount).toBe(free0);
    // Exclusive entries (SWP_EXCLUSIVE) come back writable, clean; 32-bit x86 has no such bit: the
    // swap cache's reference keeps them read-only.
    const exBit = k.arch.swap!.flagBits.exclusive !== undefined;
    expect(k.lookup(p, at(e, 0))!.entry).toMatchObject({
      kind: 'leaf',
      attrs: { user: { write: exBit }, dirty: !exBit && !k.arch.description.capabilities.hardwareDirty },
    });
    clean(k);
    k.exit(p);
    expect(used(k)).toBe(0); // free_swap_cache: nothing maps them any more
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it('a page shared by fork is swapped out once and in once: first touch major, the other minor through the swap cache', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    const frames = Array.from({ length: N }, (_, i) => paOf(k, p, at(e, i)));
    // MADV_PAGEOUT skips pages another process maps (Linux: folio_mapcount != 1).
    expect(pageOutRange(k, p.space, vpn(e, 0), vpn(e, N))).toBe(0);
    expect(reclaimFrame(k, frames[2]!)).toBe(true);
    expect(p.space.swapEntries).toBe(1);
    expect(child.space.swapEntries).toBe(1);
    expect(k.allocator.stateOf(frames[2]!)).toBe(0); // FREE
    const dev = k.swap.devices[0]!;
    const offset = swaps(e, 'swap-out')[0]!.offset;
    expect(dev.counts[offset]).toBe(2);
    expect(swaps(e, 'swap-out')).toHaveLength(2); // one per PTE
    clean(k);
    // Parent: major fault, the page goes into the swap cache; mapped read-only (still shared).
    expect(e.k.load(p, at(e, 2) + 16n, 8)).toEqual({ ok: true, value: 0x5002n });
    expect(p.majorFaults).toBe(1);
    const pa = paOf(k, p, at(e, 2));
    expect(dev.cache[offset]).toBe(pa);
    expect(dev.counts[offset]).toBe(2); // the child's PTE + the cache
    expect(k.allocator.refCount(pa)).toBe(2);
    expect(k.lookup(p, at(e, 2))!.entry).toMatchObject({ attrs: { user: { write: false } } });
    clean(k);
    // Child: minor fault, same frame, read-only; the slot stays, named by the swap cache alone.
    const minor0 = child.minorFaults;
    expect(e.k.load(child, at(e, 2) + 16n, 8)).toEqual({ ok: true, value: 0x5002n });
    expect(child.majorFaults).toBe(0);
    expect(child.minorFaults).toBe(minor0 + 1);
    expect(paOf(k, child, at(e, 2))).toBe(pa);
    expect(dev.counts[offset]).toBe(1);
    expect(dev.cache[offset]).toBe(pa);
    expect(k.allocator.refCount(pa)).toBe(3);
    expect(swaps(e, 'swap-in').map((s) => [s.pid, s.major])).toEqual([
      [p.pid, true],
      [child.pid, false],
    ]);
    clean(k);
    // Copy-on-write still works on the swapped-in page; the last writer reuses the frame and
    // frees the slot (wp_can_reuse_anon_folio → folio_free_swap).
    expect(k.store(child, at(e, 2) + 16n, 8, 7n)).toMatchObject({ ok: true });
    expect(k.load(p, at(e, 2) + 16n, 8)).toEqual({ ok: true, value: 0x5002n });
    expect(dev.cache[offset]).toBe(pa);
    clean(k);
    expect(k.store(p, at(e, 2) + 16n, 8, 8n)).toMatchObject({ ok: true });
    expect(paOf(k, p, at(e, 2))).toBe(pa);
    expect([dev.counts[offset], dev.cache[offset]]).toEqual([0, 0]);
    clean(k);
    k.exit(child);
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    expect(used(k)).toBe(0);
  });

  it('fork copies swap PTEs and counts their slots (copy_nonpresent_pte); exit, munmap and exec free them', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(pageOutRange(k, p.space, vpn(e, 0), vpn(e, N))).toBe(N);
    const child = must(k.fork(p));
    expect(child.space.swapEntries).toBe(N);
    expect(used(k)).toBe(N);
    const dev = k.swap.devices[0]!;
    for (const s of swaps(e, 'swap-out')) expect(dev.counts[s.offset]).toBe(2);
    clean(k);
    expect(readAll(e, child)).toEqual(expected);
    clean(k);
    // munmap of half of the parent's range frees those slots' last count…
    expect(k.munmap(p, at(e, 0), 4 * 4096)).toEqual({ ok: true, value: 0 });
    expect(p.space.swapEntries).toBe(4);
    clean(k);
    k.exit(child);
    expect(used(k)).toBe(4);
    clean(k);
    // …mremap moves the rest (move_ptes moves swap PTEs)…
    const moved = k.mremap(p, at(e, 4), 4 * 4096, 8 * 4096, MREMAP.MAYMOVE);
    expect(moved.ok).toBe(true);
    clean(k);
    if (moved.ok) {
      const v = moved.value;
      for (let i = 0; i < 4; i++)
        expect(k.load(p, v + BigInt(i) * PAGE + 16n, 8)).toEqual({ ok: true, value: 0x5004n + BigInt(i) });
    }
    clean(k);
    // …and exit frees what is left.
    const q = must(k.fork(p));
    expect(k.reclaim(100)).toBeGreaterThan(0);
    expect(used(k)).toBeGreaterThan(0);
    clean(k);
    k.exit(q);
    k.exit(p);
    expect(used(k)).toBe(0);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    clean(k);
  });

  it('swapoff brings every page back; ENOMEM with nothing changed when memory cannot hold them', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    expect(k.reclaim(N)).toBe(N);
    expect(p.space.swapEntries).toBe(N);
    expect(child.space.swapEntries).toBe(N);
    clean(k);
    let done = -1;
    for (let keep = 0; keep <= N && done < 0; keep++) {
      const release = leaveFree(k, keep);
      const free = k.allocator.freeCount;
      const r = k.swapoff(0);
      if (r.ok) done = keep;
      else {
        expect(r).toMatchObject({ ok: false, errno: 'ENOMEM' });
        expect(k.allocator.freeCount).toBe(free);
        expect(used(k)).toBe(N);
        expect(p.space.swapEntries).toBe(N);
        clean(k);
      }
      release();
    }
    expect(done).toBe(N); // each shared page read once
    expect(k.swapDevices).toEqual([]);
    expect(p.space.swapEntries + child.space.swapEntries).toBe(0);
    expect(readAll(e, p)).toEqual(expected);
    expect(readAll(e, child)).toEqual(expected);
    expect(swaps(e, 'swapoff')).toHaveLength(1);
    clean(k);
    expect(k.swapoff(0)).toMatchObject({ ok: false, errno: 'EINVAL' });
  });

  // Without the OOM killer (oomKiller: false): the old fail-or-kill path, nothing changed.
  it('swap-in out of memory: the fault kills (SEGV_OOM) or is EFAULT on the soft path, nothing changed', () => {
    const e = setup(c, { swapReadahead: 8, oomKiller: false, autoReclaim: false });
    const { k, p } = e;
    const q = must(k.fork(p));
    expect(k.reclaim(N)).toBe(N);
    const dev = k.swap.devices[0]!;
    const counts = Array.from(dev.counts);
    const release = leaveFree(k, 0);
    expect(k.copyFromUser(p, at(e, 1), 8)).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(Array.from(dev.counts)).toEqual(counts);
    expect(p.space.swapEntries).toBe(N);
    clean(k);
    expect(k.load(q, at(e, 1), 8)).toMatchObject({ ok: false, killed: 'out of memory', code: 'SEGV_OOM' });
    clean(k);
    release();
    expect(p.space.swapEntries).toBe(N);
    expect(used(k)).toBe(N);
    // One free frame: the fault succeeds, readahead stops at once (best effort).
    const r1 = leaveFree(k, 1);
    expect(k.load(p, at(e, 1) + 16n, 8)).toEqual({ ok: true, value: 0x5001n });
    expect(dev.cached).toBe(1); // the page read (kept: a read fault); nothing read ahead
    clean(k);
    r1();
    k.exit(p);
    expect(used(k)).toBe(0);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it('swap-in with readahead at every allocation point: nothing changes without the page, each further frame reads one more slot ahead', () => {
    for (let keep = 0; keep <= 5; keep++) {
      const e = setup(c, { swapReadahead: 8, oomKiller: false, autoReclaim: false });
      const { k, p } = e;
      expect(pageOutRange(k, p.space, vpn(e, 0), vpn(e, N))).toBe(N);
      const dev = k.swap.devices[0]!;
      const counts = Array.from(dev.counts.subarray(0, 10));
      const release = leaveFree(k, keep);
      const r = k.copyFromUser(p, at(e, 2) + 16n, 8);
      if (keep === 0) {
        expect(r).toMatchObject({ ok: false, errno: 'EFAULT' });
        expect(Array.from(dev.counts.subarray(0, 10))).toEqual(counts);
        expect(p.space.swapEntries).toBe(N);
        expect(dev.cached).toBe(0);
      } else {
        expect(r.ok).toBe(true);
        // Slot 3 (page 2) is read (and kept: a read fault); its cluster is slots 0…7 (0 is the
        // header): up to 6 more.
        expect(dev.cached).toBe(1 + Math.min(keep - 1, 6));
        expect(p.majorFaults).toBe(1);
      }
      clean(k);
      release();
      expect(readAll(e, p)).toEqual(expected);
      k.exit(p);
      expect(k.allocator.freeCount).toBe(k.baselineFree);
      clean(k);
    }
  });

  it('readahead reads the aligned cluster into the swap cache: the neighbours are minor faults', () => {
    const e = setup(c, { swapReadahead: 4 });
    const { k, p } = e;
    expect(pageOutRange(k, p.space, vpn(e, 0), vpn(e, N))).toBe(N);
    const offsets = swaps(e, 'swap-out').map((s) => s.offset);
    expect(offsets).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Slot 5 (page 4): its cluster is slots 4…7.
    expect(k.load(p, at(e, 4) + 16n, 8)).toEqual({ ok: true, value: 0x5004n });
    expect(p.majorFaults).toBe(1);
    const dev = k.swap.devices[0]!;
    expect(dev.cached).toBe(4); // slots 4, 6 and 7, and slot 5, kept after the read
    clean(k);
    const minor0 = p.minorFaults;
    expect(readAll(e, p)).toEqual(expected);
    // Page 0 (slot 1) is read and brings slots 2, 3 (pages 1, 2; slot 0 is the header); pages
    // 3, 5, 6 were read ahead before; page 7 (slot 8) is read, its cluster 8…11 has nothing else.
    expect(p.majorFaults).toBe(3);
    expect(p.minorFaults - minor0).toBe(5);
    expect(dev.cached).toBe(N); // every page was read: all stay in the swap cache
    expect(
      swaps(e, 'swap-in')
        .filter((s) => s.pid === 0)
        .map((s) => s.offset),
    ).toEqual([4, 6, 7, 2, 3]);
    clean(k);
    // Read-ahead pages nobody maps are the first victims of reclaim.
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it('kernel.reclaim frees only what can go: shared, device and zero-page frames stay', () => {
    const e = setup(c);
    const { k, p } = e;
    const sh = k.mmap(p, 0, 2 * 4096, RW, MAP.SHARED | MAP.ANONYMOUS);
    if (!sh.ok) throw new Error(sh.detail);
    expect(k.store(p, sh.value, 8, 1n)).toMatchObject({ ok: true });
    const z = k.mmap(p, 0, 4096, RW, PRIV);
    if (!z.ok) throw new Error(z.detail);
    expect(k.load(p, z.value, 8)).toEqual({ ok: true, value: 0n }); // the zero page
    const stack = p.residentPages - N - 2;
    expect(k.reclaim(1000)).toBe(N + stack);
    expect(reclaimFrame(k, paOf(k, p, sh.value))).toBe(false);
    expect(reclaimFrame(k, k.zeroPage)).toBe(false);
    expect(reclaimFrame(k, k.kernelRoot)).toBe(false);
    clean(k);
    expect(k.load(p, sh.value, 8)).toEqual({ ok: true, value: 1n });
    expect(readAll(e, p)).toEqual(expected);
    clean(k);
  });
});

describe.each(CONFIGS)('what cannot be swapped: $name', (c) => {
  it('huge pages (hugetlbfs: never swapped, not split) and pinned frames are refused, nothing changed', () => {
    const e = setup(c);
    const { k, p } = e;
    const hugeBytes = BigInt(k.bounds.hugePages * 4096);
    const huge = k.mmap(p, 0, 2 * Number(hugeBytes), RW, PRIV | MAP.HUGETLB);
    if (!huge.ok) throw new Error(huge.detail);
    const aligned = (huge.value + hugeBytes - 1n) & ~(hugeBytes - 1n);
    expect(k.store(p, aligned, 8, 1n)).toMatchObject({ ok: true });
    const ref = k.lookup(p, aligned)!;
    if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
    const free = k.allocator.freeCount;
    expect(ref.level).toBeGreaterThan(1);
    expect(reclaimFrame(k, ref.entry.pa)).toBe(false);
    expect(reclaimFrame(k, ref.entry.pa + 4096)).toBe(false);
    expect(pageOutRange(k, p.space, vpnOf(huge.value), vpnOf(huge.value) + 2 * k.bounds.hugePages)).toBe(0);
    expect(k.lookup(p, aligned)!.level).toBe(ref.level); // not split
    // A pinned frame (a reference besides its mappings) stays.
    const pinned = paOf(k, p, at(e, 0));
    k.allocator.ref(pinned);
    expect(reclaimFrame(k, pinned)).toBe(false);
    k.allocator.unref(pinned);
    expect(k.allocator.freeCount).toBe(free);
    expect(used(k)).toBe(0);
    clean(k);
    expect(reclaimFrame(k, pinned)).toBe(true);
    clean(k);
  });

  it('mremap shrinking a range with swapped-out pages frees their slots', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(pageOutRange(k, p.space, vpn(e, 0), vpn(e, N))).toBe(N);
    expect(k.mremap(p, at(e, 0), N * 4096, 2 * 4096)).toEqual({ ok: true, value: at(e, 0) });
    expect(used(k)).toBe(2);
    expect(p.space.swapEntries).toBe(2);
    for (let i = 0; i < 2; i++)
      expect(k.load(p, at(e, i) + 16n, 8)).toEqual({ ok: true, value: expected[i] });
    expect(used(k)).toBe(2); // read back: kept in the swap cache
    clean(k);
    k.exit(p);
    expect(used(k)).toBe(0);
  });
});

describe('swap devices (swapon, swapoff, priorities)', () => {
  const c = CONFIGS[0]!;
  const boot = (opts: Partial<KernelOptions> = {}) =>
    bootKernel({ arch: c.arch(), machine: c.machine(), ...opts });

  it('bad arguments are typed errors naming the value', () => {
    const k = boot();
    const bad: [unknown, string][] = [
      [null, 'swapon options'],
      [{ pages: 1 }, 'swapon pages'],
      [{ pages: 2.5 }, 'swapon pages'],
      [{ pages: '8' }, 'swapon pages'],
      [{ pages: 8, priority: -1 }, 'swapon priority'],
      [{ pages: 8, priority: 0x8000 }, 'swapon priority'],
      [{ pages: 8, name: '' }, 'swapon name'],
      [{ pages: 2 ** 24 + 1 }, 'swapon pages'],
    ];
    for (const [opts, what] of bad) {
      expect(() => k.swapon(opts as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_ARGUMENT' }));
      expect(() => k.swapon(opts as never)).toThrow(what);
    }
    for (const t of [-1, 32, 0.5, '0', null]) expect(() => k.swapoff(t as never)).toThrow('swapoff type');
    expect(() => k.reclaim(-1)).toThrow('reclaim pages');
    expect(() => boot({ swapReadahead: 3 })).toThrow('swapReadahead');
    expect(k.swapDevices).toEqual([]);
  });

  it('a backend without arch.swap refuses swapon with a clear error', () => {
    const arch = c.arch();
    const k = bootKernel({ arch: Object.create(arch, { swap: { value: undefined } }), machine: c.machine() });
    expect(() => k.swapon({ pages: 8 })).toThrow(/swap-entry encoding \(arch\.swap\)/);
    expect(k.reclaim(10)).toBe(0);
  });

  it('types are the lowest free index; default priorities -2, -3, … and higher priorities are used first', () => {
    const k = boot();
    const a = k.swapon({ pages: 4 });
    const b = k.swapon({ pages: 4, name: 'disk' });
    const hi = k.swapon({ pages: 3, priority: 10 });
    expect([a, b, hi].map((r) => r.ok && [r.value.type, r.value.priority, r.value.name])).toEqual([
      [0, -2, 'swap0'],
      [1, -3, 'disk'],
      [2, 10, 'swap2'],
    ]);
    expect(k.swapDevices[0]).toEqual({
      type: 0,
      name: 'swap0',
      pages: 4,
      usablePages: 3,
      usedPages: 0,
      cachedPages: 0,
      priority: -2,
    });
    const p = k.createProcess();
    const m = k.mmap(p, 0, 8 * 4096, PROT.READ | PROT.WRITE, PRIV);
    if (!m.ok) throw new Error(m.detail);
    for (let i = 0; i < 8; i++) k.store(p, m.value + BigInt(i) * PAGE, 8, BigInt(i + 1));
    const types: number[] = [];
    k.events.on((e) => {
      if (e.type === 'swap' && e.action === 'swap-out') types.push(e.swapType);
    });
    expect(pageOutRange(k, p.space, vpnOf(m.value), vpnOf(m.value) + 8)).toBe(8);
    // Type 2 (priority 10) until full, then type 0 (-2), then type 1 (-3).
    expect(types).toEqual([2, 2, 0, 0, 0, 1, 1, 1]);
    // Every device full: nothing more can go, nothing changed.
    const q = k.createProcess();
    k.brk(q, q.layout.heapBase + 4096n);
    k.store(q, q.layout.heapBase, 8, 5n);
    expect(k.reclaim(1)).toBe(0);
    expect(q.residentPages).toBeGreaterThan(0);
    expect(audit(k).problems).toEqual([]);
    // swapoff of type 1 is refused with ENOMEM only when memory is short; here it succeeds.
    expect(k.swapoff(0)).toEqual({ ok: true, value: 0 });
    // The lower negative priority moves up (Linux swapoff), the type is free again.
    expect(k.swapDevices.map((d) => [d.type, d.priority])).toEqual([
      [1, -2],
      [2, 10],
    ]);
    const again = k.swapon({ pages: 4 });
    expect(again.ok && [again.value.type, again.value.priority]).toEqual([0, -3]);
    for (let i = 0; i < 8; i++)
      expect(k.load(p, m.value + BigInt(i) * PAGE, 8)).toEqual({ ok: true, value: BigInt(i + 1) });
    expect(audit(k).problems).toEqual([]);
  });

  it('equal priorities take turns (round-robin); EPERM beyond MAX_SWAPFILES (23)', () => {
    const k = boot();
    k.swapon({ pages: 8, priority: 5 });
    k.swapon({ pages: 8, priority: 5 });
    const p = k.createProcess();
    const m = k.mmap(p, 0, 6 * 4096, PROT.READ | PROT.WRITE, PRIV);
    if (!m.ok) throw new Error(m.detail);
    for (let i = 0; i < 6; i++) k.store(p, m.value + BigInt(i) * PAGE, 8, BigInt(i + 1));
    const slots: string[] = [];
    k.events.on((e) => {
      if (e.type === 'swap' && e.action === 'swap-out') slots.push(`${e.swapType}:${e.offset}`);
    });
    expect(k.reclaim(6)).toBe(6);
    expect(slots).toEqual(['0:1', '1:1', '0:2', '1:2', '0:3', '1:3']);
    for (let i = 2; i < 23; i++) expect(k.swapon({ pages: 2 }).ok).toBe(true);
    expect(k.swapon({ pages: 2 })).toMatchObject({ ok: false, errno: 'EPERM' });
    expect(audit(k).problems).toEqual([]);
  });
});

describe.each(CONFIGS)('swap and exec: $name', (c) => {
  it('exec frees the old space’s slots', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(pageOutRange(k, p.space, vpn(e, 0), vpn(e, N))).toBe(N);
    expect(used(k)).toBe(N);
    expect(k.exec(p, { text: new Uint8Array(100) })).toEqual({ ok: true, value: 0 });
    expect(used(k)).toBe(0);
    expect(p.space.swapEntries).toBe(0);
    expect(swaps(e, 'swap-free')).toHaveLength(N);
    clean(k);
  });
});
