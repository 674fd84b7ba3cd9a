/**
 * The allocator's slow path everywhere an allocation can fail under pressure (slow-path.ts):
 * MAP_POPULATE, mlock population, fork and mremap run direct reclaim, then the OOM killer; the
 * OOM killer never chooses pid 1 (Linux `oom_unkillable_task`); with nobody killable the
 * allocation fails; MADV_COLD makes reclaim take a page first — on all five configurations, with
 * strict TLB mode and audit() after each step, and out of memory at every free-frame count.
 */
import type { MmEvent, OomKillEvent } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import { MADV } from './madvise.js';
import type { Process } from './process.js';
import { MAP, MREMAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, type TestConfig } from './test-fixtures.js';

const MiB = 2 ** 20;
const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * MiB);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;
/** No watermarks: only a failed allocation reclaims (the paths under test), never kswapd. */
const NO_WMARKS = { watermarks: { min: 0, low: 0, high: 0 } } as const;

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
const ooms = (e: Env) => e.events.filter((x): x is OomKillEvent => x.type === 'oom-kill');

function mapAnon(k: Kernel, p: Process, pages: number, flags = 0): bigint {
  const r = k.mmap(p, 0, pages * 4096, RW, PRIV | flags);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

/** Writes a value per page (`tag + i` at offset 8); returns how many stores succeeded. */
function fill(k: Kernel, p: Process, base: bigint, pages: number, tag = 0x7000): number {
  for (let i = 0; i < pages; i++) {
    const r = k.store(p, base + BigInt(i) * PAGE + 8n, 8, BigInt(tag + i));
    if (!r.ok) return i;
  }
  return pages;
}

function expectContents(k: Kernel, p: Process, base: bigint, pages: number, tag = 0x7000): void {
  for (let i = 0; i < pages; i++)
    expect(k.load(p, base + BigInt(i) * PAGE + 8n, 8)).toEqual({ ok: true, value: BigInt(tag + i) });
}

/** Whether page `i` of `base` is mapped by a present leaf. */
const present = (k: Kernel, p: Process, base: bigint, i: number) =>
  k.lookup(p, base + BigInt(i) * PAGE)?.entry.kind === 'leaf';

/** A first process (pid 1, the global init) with a few written pages. */
function init(k: Kernel, pages = 4): Process {
  const p = k.createProcess();
  expect(p.pid).toBe(1);
  fill(k, p, mapAnon(k, p, pages), pages);
  return p;
}

describe.each(CONFIGS)('allocator slow path: $name', (c) => {
  it('MAP_POPULATE larger than free memory: direct reclaim swaps out another process; contents kept', () => {
    const { k } = boot(c, NO_WMARKS);
    expect(k.swapon({ pages: 256 }).ok).toBe(true);
    init(k);
    const a = k.createProcess();
    const aBase = mapAnon(k, a, 64);
    expect(fill(k, a, aBase, 64)).toBe(64);
    leaveFree(k, 16);
    const b = k.createProcess();
    const r = k.mmap(b, 0, 48 * 4096, RW, PRIV | MAP.POPULATE);
    expect(r.ok).toBe(true);
    clean(k);
    expect(k.vmstat.allocstall).toBeGreaterThan(0);
    expect(k.vmstat.pswpout).toBeGreaterThan(0);
    expect(b.residentPages).toBeGreaterThanOrEqual(1);
    expectContents(k, a, aBase, 64);
    clean(k);
  });

  it('MAP_POPULATE without swap: the OOM killer frees the memory (never pid 1); alone, the caller is the victim', () => {
    const e = boot(c, NO_WMARKS);
    const { k } = e;
    const first = init(k, 40); // the largest process, but pid 1
    const big = k.createProcess();
    expect(fill(k, big, mapAnon(k, big, 32), 32)).toBe(32);
    leaveFree(k, 20);
    const q = k.createProcess();
    const r = k.mmap(q, 0, 24 * 4096, RW, PRIV | MAP.POPULATE);
    expect(r.ok).toBe(true);
    expect(big.state).toBe('killed');
    expect(first.state).toBe('running');
    expect(ooms(e).map((o) => o.victim?.pid)).toEqual([big.pid]);
    expect(ooms(e)[0]!.trigger.allocation).toMatch(/^populate at 0x/);
    clean(k);
    // Again, far larger than memory: nobody else is killable, so the caller itself goes.
    const r2 = k.mmap(q, 0, 4096 * 4096, RW, PRIV | MAP.POPULATE);
    expect(r2).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(q.state).toBe('killed');
    expect(first.state).toBe('running');
    clean(k);
  });

  it('fork of a process larger than free memory: direct reclaim, then both see the same contents', () => {
    const { k } = boot(c, { ...NO_WMARKS, fork: 'eager' });
    expect(k.swapon({ pages: 256 }).ok).toBe(true);
    const p = init(k, 1);
    const base = mapAnon(k, p, 48);
    expect(fill(k, p, base, 48)).toBe(48);
    leaveFree(k, 12);
    const f = k.fork(p);
    expect(f.ok).toBe(true);
    if (!f.ok) return;
    clean(k);
    expect(k.vmstat.allocstall).toBeGreaterThan(0);
    expectContents(k, p, base, 48);
    expectContents(k, f.process, base, 48);
    clean(k);
  });

  it('mremap moving a mapping with free memory at zero: direct reclaim frees the page tables it needs', () => {
    const { k } = boot(c, NO_WMARKS);
    expect(k.swapon({ pages: 256 }).ok).toBe(true);
    const p = init(k, 1);
    const base = mapAnon(k, p, 24);
    expect(fill(k, p, base, 24)).toBe(24);
    // Something right after the mapping, so growing must move.
    expect(k.mmap(p, base + 24n * PAGE, 4096, RW, PRIV | MAP.FIXED).ok).toBe(true);
    leaveFree(k, 0);
    const r = k.mremap(p, base, 24 * 4096, 64 * 4096, MREMAP.MAYMOVE);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(k.vmstat.allocstall).toBeGreaterThan(0);
    clean(k);
    expectContents(k, p, r.value, 24);
    clean(k);
  });

  it('mlock of more than free memory: direct reclaim of other pages; every locked page present', () => {
    const { k } = boot(c, NO_WMARKS);
    expect(k.swapon({ pages: 256 }).ok).toBe(true);
    init(k);
    const a = k.createProcess();
    const aBase = mapAnon(k, a, 48);
    expect(fill(k, a, aBase, 48)).toBe(48);
    const p = k.createProcess();
    const base = mapAnon(k, p, 32);
    leaveFree(k, 8);
    expect(k.mlock(p, base, 32 * 4096)).toEqual({ ok: true, value: 0 });
    clean(k);
    for (let i = 0; i < 32; i++) expect(present(k, p, base, i)).toBe(true);
    expect(k.vmstat.allocstall).toBeGreaterThan(0);
    expectContents(k, a, aBase, 48);
    clean(k);
  });

  it('pid 1 is never the victim: oom_score 0, a smaller process dies; nobody killable fails the allocation', () => {
    const e = boot(c, NO_WMARKS);
    const { k } = e;
    const first = init(k, 64);
    expect(k.oomScore(first)).toBe(0);
    const small = k.createProcess();
    const sBase = mapAnon(k, small, 64);
    expect(fill(k, small, sBase, 2)).toBe(2);
    expect(k.oomScore(small)).toBeGreaterThan(0);
    leaveFree(k, 0);
    // pid 1 faults with no free frame: the killer takes the small process, not pid 1.
    const fBase = mapAnon(k, first, 4);
    expect(k.store(first, fBase, 8, 1n)).toMatchObject({ ok: true });
    expect(small.state).toBe('killed');
    expect(first.state).toBe('running');
    clean(k);
    // Only pid 1 and an oom_score_adj -1000 process left: the event has no victim and names
    // Linux's line; the fork fails with ENOMEM and nothing changes.
    const shielded = k.createProcess();
    expect(k.setOomScoreAdj(shielded, -1000).ok).toBe(true);
    leaveFree(k, 0);
    const free0 = k.allocator.freeCount;
    const f = k.fork(first);
    expect(f).toEqual({ ok: false, errno: 'ENOMEM' });
    const last = ooms(e).at(-1)!;
    expect(last.victim).toBeUndefined();
    expect(last.detail).toBe('Out of memory and no killable processes...');
    expect(last.trigger).toMatchObject({ pid: 1, allocation: 'fork' });
    expect(first.state).toBe('running');
    expect(shielded.state).toBe('running');
    expect(k.allocator.freeCount).toBe(free0);
    clean(k);
  });

  it('out of memory at every free-frame count: populate succeeds and leaks nothing, fork, mremap and mlock succeed or change nothing', () => {
    for (let keep = 0; keep <= 10; keep++) {
      // No swap, no OOM killer: a failure must leave everything as it was.
      const { k } = boot(c, { ...NO_WMARKS, oomKiller: false });
      const p = init(k, 1);
      const base = mapAnon(k, p, 6);
      expect(fill(k, p, base, 6)).toBe(6);
      expect(k.mmap(p, base + 6n * PAGE, 4096, RW, PRIV | MAP.FIXED).ok).toBe(true);
      const lockBase = mapAnon(k, p, 3);
      leaveFree(k, keep);
      const snapshot = () => [k.allocator.freeCount, p.residentPages, k.procMaps(p)] as const;
      const before = snapshot();
      // mm_populate's result is ignored (Linux vm_mmap_pgoff): the mmap succeeds, populated as far
      // as memory goes; unmapping it gives every frame back.
      const pop = k.mmap(p, 0, 4 * 4096, RW, PRIV | MAP.POPULATE);
      expect(pop.ok).toBe(true);
      clean(k);
      if (pop.ok) expect(k.munmap(p, pop.value, 4 * 4096).ok).toBe(true);
      expect(snapshot()).toEqual(before);
      clean(k);
      const b2 = snapshot();
      const f = k.fork(p);
      if (!f.ok) expect(snapshot()).toEqual(b2);
      else expectContents(k, f.process, base, 6);
      clean(k);
      const b3 = snapshot();
      const m = k.mremap(p, base, 6 * 4096, 600 * 4096, MREMAP.MAYMOVE);
      if (!m.ok) expect(snapshot()).toEqual(b3);
      clean(k);
      const l = k.mlock(p, lockBase, 3 * 4096);
      if (!l.ok) expect(l.errno).toBe('EAGAIN');
      clean(k);
      expect(p.state).toBe('running');
      expectContents(k, p, m.ok ? m.value : base, 6);
    }
  });
});

describe.each(CONFIGS)('MADV_COLD and reclaim order: $name', (c) => {
  it('reclaim takes the pages MADV_COLD deactivated first, oldest hint first; a page used again is not', () => {
    const run = (cold: readonly number[], touchAfter?: number) => {
      const { k } = boot(c, NO_WMARKS);
      expect(k.swapon({ pages: 64 }).ok).toBe(true);
      const p = k.createProcess(); // its pages are the only ones
      const base = mapAnon(k, p, 8);
      expect(fill(k, p, base, 8)).toBe(8);
      for (const i of cold) expect(k.madvise(p, base + BigInt(i) * PAGE, 4096, MADV.COLD).ok).toBe(true);
      if (touchAfter !== undefined) expect(k.load(p, base + BigInt(touchAfter) * PAGE, 8).ok).toBe(true);
      clean(k);
      const order: number[] = [];
      for (let n = 0; n < 3; n++) {
        expect(k.reclaim(1)).toBe(1);
        clean(k);
        for (let i = 0; i < 8; i++) if (!present(k, p, base, i) && !order.includes(i)) order.push(i);
      }
      expectContents(k, p, base, 8);
      clean(k);
      return order;
    };
    const plain = run([]);
    expect(run([6, 3])).toEqual([6, 3, plain.find((i) => i !== 6 && i !== 3)]);
    expect(run([6, 3], 6).slice(0, 1)).toEqual([3]);
    expect(plain).not.toEqual([6, 3, plain[2]]);
  });
});
