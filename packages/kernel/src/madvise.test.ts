/**
 * madvise and mincore: every advice and every errno, on all five configurations, in strict TLB
 * mode (a stale translation or an undischarged flush throws) with audit() after each scenario.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createVirtBoard } from '@mmkit/boards';
import { isLeafDirty } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { isFrameDirty, isLazyFree, isLazyFreeFrame } from './frame-marks.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import { MADV, madviseName } from './madvise.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, type TestConfig } from './test-fixtures.js';

const MiB = 2 ** 20;
const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * MiB);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const SHARED = MAP.SHARED | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;

interface Env {
  readonly k: Kernel;
  readonly p: Process;
  /** A private rw- mapping of 8 pages, every page written (`0x1000 + i` at offset 8). */
  readonly base: bigint;
}

function boot(c: TestConfig, opts: Partial<KernelOptions> = {}): Kernel {
  return bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, ...opts });
}

function setup(c: TestConfig, flags = PRIV, opts: Partial<KernelOptions> = {}): Env {
  const k = boot(c, opts);
  const p = k.createProcess();
  const r = k.mmap(p, 0, 8 * 4096, RW, flags);
  if (!r.ok) throw new Error(r.detail);
  for (let i = 0; i < 8; i++)
    expect(k.store(p, r.value + BigInt(i) * PAGE + 8n, 8, 0x1000n + BigInt(i), i & 1)).toMatchObject({
      ok: true,
    });
  return { k, p, base: r.value };
}

const at = (e: Env, i: number) => e.base + BigInt(i) * PAGE;
const read = (k: Kernel, p: Process, va: bigint, cpu = 0) => {
  const r = k.load(p, va + 8n, 8, cpu);
  if (!r.ok) throw new Error(`load killed: ${r.killed}`);
  return r.value;
};
const leafOf = (k: Kernel, p: Process, va: bigint) => {
  const ref = k.lookup(p, va);
  return ref?.entry.kind === 'leaf' ? ref.entry : undefined;
};
/** The raw descriptor of the leaf mapping `va`. */
const raw = (k: Kernel, p: Process, va: bigint): bigint => {
  const [lo, hi] = k.editor.readRaw(k.lookup(p, va)!.descriptorPa);
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
};
const bit = (n: number) => 1n << BigInt(n);
/**
 * Linux `pte_mkold(pte_mkclean(pte))` on raw descriptor `d`: x86 clears A (bit 5) and D (bit 6);
 * arm64 clears AF (bit 10) and PTE_DIRTY (bit 55) and sets PTE_RDONLY (AP[2], bit 7).
 */
const mkcleanOld = (k: Kernel, d: bigint): bigint =>
  k.arch.description.id.startsWith('aarch64') ? (d & ~(bit(10) | bit(55))) | bit(7) : d & ~(bit(5) | bit(6));
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const must = (r: { ok: true; process: Process } | { ok: false; errno: string }): Process => {
  if (!r.ok) throw new Error(r.errno);
  return r.process;
};

describe('madvise constants', () => {
  it('has Linux values (asm-generic/mman-common.h)', () => {
    expect(MADV).toEqual({
      NORMAL: 0,
      RANDOM: 1,
      SEQUENTIAL: 2,
      WILLNEED: 3,
      DONTNEED: 4,
      FREE: 8,
      COLD: 20,
      PAGEOUT: 21,
      DONTNEED_LOCKED: 24,
    });
    expect(madviseName(21)).toBe('MADV_PAGEOUT');
    expect(madviseName(5)).toBeUndefined();
  });
});

describe.each(CONFIGS)('madvise on $name', (c) => {
  it('checks its arguments in do_madvise order', () => {
    const e = setup(c);
    const { k, p } = e;
    // Unknown advice before anything else, even with an unaligned address.
    expect(k.madvise(p, e.base + 1n, 4096, 5)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(k.madvise(p, e.base, 4096, 9)).toMatchObject({
      ok: false,
      errno: 'EINVAL',
      detail: expect.stringContaining('MADV_REMOVE'),
    });
    expect(k.madvise(p, e.base, 4096, Number.NaN)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(k.madvise(p, e.base + 1n, 4096, MADV.DONTNEED)).toMatchObject({ ok: false, errno: 'EINVAL' });
    // A length that rounds past 2^64, and a range that wraps.
    expect(k.madvise(p, e.base, 2n ** 64n - 1n, MADV.DONTNEED)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(k.madvise(p, 2n ** 64n - PAGE, 2 * 4096, MADV.DONTNEED)).toMatchObject({
      ok: false,
      errno: 'EINVAL',
    });
    // Length 0 is success, even where nothing is mapped.
    expect(k.madvise(p, 0x10000, 0, MADV.DONTNEED)).toEqual({ ok: true, value: 0 });
    // Nothing mapped: ENOMEM; past the user space: ENOMEM.
    expect(k.madvise(p, 0x10000, 4096, MADV.DONTNEED)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(k.madvise(p, 2n ** 63n, 4096, MADV.COLD)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    // Nothing changed by any of these.
    for (let i = 0; i < 8; i++) expect(read(k, p, at(e, i))).toBe(0x1000n + BigInt(i));
    clean(k);
  });

  it('DONTNEED zaps private pages: zeros afterwards, frames freed, TLBs invalidated', () => {
    const e = setup(c);
    const { k, p } = e;
    const free = k.allocator.freeCount;
    // Both CPUs cache the translations.
    for (let i = 0; i < 8; i++) read(k, p, at(e, i), 1);
    expect(k.madvise(p, at(e, 2), 3 * 4096, MADV.DONTNEED)).toEqual({ ok: true, value: 0 });
    expect(k.allocator.freeCount).toBe(free + 3);
    expect(k.mincore(p, e.base, 8 * 4096)).toEqual({
      ok: true,
      value: Uint8Array.from([1, 1, 0, 0, 0, 1, 1, 1]),
    });
    for (let i = 0; i < 8; i++)
      expect(read(k, p, at(e, i), i & 1)).toBe(i >= 2 && i < 5 ? 0n : 0x1000n + BigInt(i));
    clean(k);
  });

  it('DONTNEED on a MAP_SHARED mapping keeps the contents in the shared object', () => {
    const e = setup(c, SHARED);
    const { k, p } = e;
    expect(k.madvise(p, e.base, 8 * 4096, MADV.DONTNEED)).toEqual({ ok: true, value: 0 });
    expect(k.memoryStats(p).rssPages).toBe(0);
    // mincore sees the object's pages (shmem's page cache).
    expect(k.mincore(p, e.base, 8 * 4096)).toEqual({ ok: true, value: new Uint8Array(8).fill(1) });
    for (let i = 0; i < 8; i++) expect(read(k, p, at(e, i))).toBe(0x1000n + BigInt(i));
    clean(k);
  });

  it('DONTNEED after fork drops only a reference of a copy-on-write page', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    const pa = leafOf(k, p, at(e, 0))!.pa;
    expect(k.allocator.refCount(pa)).toBe(2);
    expect(k.madvise(p, e.base, 8 * 4096, MADV.DONTNEED)).toEqual({ ok: true, value: 0 });
    expect(k.allocator.refCount(pa)).toBe(1);
    for (let i = 0; i < 8; i++) {
      expect(read(k, p, at(e, i))).toBe(0n);
      expect(read(k, child, at(e, i), 1)).toBe(0x1000n + BigInt(i));
    }
    // The child's page is its own now: a write reuses it in place.
    expect(k.store(child, at(e, 0) + 8n, 8, 7n)).toMatchObject({ ok: true });
    expect(leafOf(k, child, at(e, 0))!.pa).toBe(pa);
    clean(k);
  });

  it('DONTNEED applies to the mapped parts of a range with a hole, then says ENOMEM', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(k.munmap(p, at(e, 3), 4096)).toEqual({ ok: true, value: 0 });
    expect(k.madvise(p, e.base, 8 * 4096, MADV.DONTNEED)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    for (const i of [0, 1, 2, 4, 5, 6, 7]) expect(read(k, p, at(e, i))).toBe(0n);
    clean(k);
  });

  it('DONTNEED refuses locked and device mappings; DONTNEED_LOCKED zaps locked ones', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(k.mlock(p, at(e, 4), 4 * 4096)).toEqual({ ok: true, value: 0 });
    // The unlocked piece before the locked VMA was zapped: Linux stops at the refusing VMA.
    expect(k.madvise(p, e.base, 8 * 4096, MADV.DONTNEED)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(read(k, p, at(e, 0))).toBe(0n);
    expect(read(k, p, at(e, 4))).toBe(0x1004n);
    expect(k.madvise(p, at(e, 4), 4 * 4096, MADV.DONTNEED_LOCKED)).toEqual({ ok: true, value: 0 });
    expect(read(k, p, at(e, 4))).toBe(0n);
    const dev = k.mmap(p, 0, 4096, RW, MAP.SHARED, {
      physical: k.machine.mmio.find((w) => w.start % 4096 === 0 && w.name !== 'ebda')!.start,
    });
    expect(dev.ok).toBe(true);
    if (dev.ok) {
      expect(k.madvise(p, dev.value, 4096, MADV.DONTNEED)).toMatchObject({ ok: false, errno: 'EINVAL' });
      expect(k.madvise(p, dev.value, 4096, MADV.FREE)).toMatchObject({ ok: false, errno: 'EINVAL' });
      expect(k.madvise(p, dev.value, 4096, MADV.COLD)).toMatchObject({ ok: false, errno: 'EINVAL' });
      expect(k.mincore(p, dev.value, 4096)).toEqual({ ok: true, value: Uint8Array.of(0) });
    }
    clean(k);
  });

  it('FREE keeps the old contents until reclaim discards a clean page; then zeros', () => {
    const e = setup(c);
    const { k, p } = e;
    for (let i = 0; i < 8; i++) read(k, p, at(e, i), 1);
    const before = Array.from({ length: 8 }, (_, i) => raw(k, p, at(e, i)));
    expect(k.madvise(p, e.base, 8 * 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    for (let i = 0; i < 8; i++) {
      // Linux's bytes exactly: old and clean, no other bit changed (no lazy-free bit in the PTE).
      expect(raw(k, p, at(e, i)).toString(16)).toBe(mkcleanOld(k, before[i]!).toString(16));
      const l = leafOf(k, p, at(e, i))!;
      expect(l.attrs.dirty).toBe(false);
      expect(l.attrs.accessed).toBe(false);
      expect(l.attrs.software).toBe(0);
      expect(isLazyFreeFrame(k, l.pa)).toBe(true); // the mark is the frame's (folio_mark_lazyfree)
    }
    // Still mapped and readable with the old contents.
    for (let i = 0; i < 8; i++) expect(read(k, p, at(e, i), i & 1)).toBe(0x1000n + BigInt(i));
    // A write dirties the PTE (hardware D / DBM) and clears nothing: the frame stays marked.
    expect(k.store(p, at(e, 1) + 8n, 8, 0x77n, 1)).toMatchObject({ ok: true });
    expect(isLazyFree(k, p.space, Number(at(e, 1) / PAGE))).toBe(true);
    const pa0 = leafOf(k, p, at(e, 0))!.pa;
    const pa1 = leafOf(k, p, at(e, 1))!.pa;
    const written = raw(k, p, at(e, 1));
    const free = k.allocator.freeCount;
    expect(k.discardLazyFree(pa0)).toBe(true);
    // Reclaim finds the dirty PTE: folio_set_swapbacked, the PTE left exactly as it was.
    expect(k.discardLazyFree(pa1)).toBe(false);
    expect(raw(k, p, at(e, 1))).toBe(written);
    expect(k.allocator.freeCount).toBe(free + 1);
    expect(isLazyFree(k, p.space, Number(at(e, 1) / PAGE))).toBe(false);
    expect(isLazyFree(k, p.space, Number(at(e, 2) / PAGE))).toBe(true);
    expect(read(k, p, at(e, 0))).toBe(0n);
    expect(read(k, p, at(e, 1))).toBe(0x77n);
    // Not a lazy-free frame (any more): nothing happens.
    expect(k.discardLazyFree(pa1)).toBe(false);
    expect(k.discardLazyFree(leafOf(k, p, at(e, 0))?.pa ?? k.zeroPage)).toBe(false);
    clean(k);
  });

  it('FREE after fork: a shared page is marked, the parent PTE cleaned; reclaim finds the dirty child PTE and keeps it', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    expect(k.store(p, at(e, 1) + 8n, 8, 0x99n)).toMatchObject({ ok: true }); // page 1: p's own copy
    const shared = raw(k, p, at(e, 0));
    const childPte = raw(k, child, at(e, 0));
    const own = raw(k, p, at(e, 1));
    expect(k.madvise(p, e.base, 8 * 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    // madvise_free_pte_range: neither in the swap cache nor PG_dirty, so the mapcount does not
    // matter: this PTE made old and clean, the folio lazily freed; the child's PTE untouched.
    expect(raw(k, p, at(e, 0))).toBe(mkcleanOld(k, shared));
    expect(raw(k, child, at(e, 0))).toBe(childPte);
    const pa = leafOf(k, p, at(e, 0))!.pa;
    expect(isLazyFreeFrame(k, pa)).toBe(true);
    clean(k);
    // try_to_unmap_one: the child's PTE is dirty (fork kept it: copy_present_pte) → folio_mark_dirty,
    // folio_set_swapbacked, not discarded.
    expect(isLeafDirty(k.arch.description, leafOf(k, child, at(e, 0))!.attrs)).toBe(true);
    expect(k.discardLazyFree(pa)).toBe(false);
    expect(isLazyFreeFrame(k, pa)).toBe(false);
    expect(isFrameDirty(k, pa)).toBe(true);
    // The page p alone maps is lazily freed.
    expect(raw(k, p, at(e, 1))).toBe(mkcleanOld(k, own));
    expect(k.discardLazyFree(leafOf(k, p, at(e, 1))!.pa)).toBe(true);
    expect(read(k, p, at(e, 1))).toBe(0n);
    // Now PG_dirty and mapped twice: advice from either side skips it (mapcount != 1), PTE and page.
    const pPte = raw(k, p, at(e, 0));
    expect(k.madvise(child, e.base, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    expect(k.madvise(p, e.base, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    expect(raw(k, child, at(e, 0))).toBe(childPte);
    expect(raw(k, p, at(e, 0))).toBe(pPte);
    expect(isLazyFreeFrame(k, pa)).toBe(false);
    expect(k.discardLazyFree(pa)).toBe(false);
    expect(read(k, p, at(e, 0))).toBe(0x1000n);
    expect(read(k, child, at(e, 0), 1)).toBe(0x1000n);
    expect(read(k, child, at(e, 1), 1)).toBe(0x1001n);
    clean(k);
  });

  it('FREE, then fork: both map the marked page; reclaim drops it for both unless one wrote', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(k.madvise(p, e.base, 2 * 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    const child = must(k.fork(p));
    const pa0 = leafOf(k, p, at(e, 0))!.pa;
    const pa1 = leafOf(k, p, at(e, 1))!.pa;
    expect(leafOf(k, child, at(e, 0))!.pa).toBe(pa0);
    // The child writes page 1 (its own copy: a fresh, unmarked frame); p still maps the marked one.
    expect(k.store(child, at(e, 1) + 8n, 8, 0x55n)).toMatchObject({ ok: true });
    expect(isLazyFreeFrame(k, leafOf(k, child, at(e, 1))!.pa)).toBe(false);
    expect(k.discardLazyFree(pa0)).toBe(true); // clean in both: gone for both
    expect(k.discardLazyFree(pa1)).toBe(true);
    expect(read(k, p, at(e, 0))).toBe(0n);
    expect(read(k, child, at(e, 0), 1)).toBe(0n);
    expect(read(k, p, at(e, 1))).toBe(0n);
    expect(read(k, child, at(e, 1), 1)).toBe(0x55n);
    clean(k);
  });

  it('audit() catches a lazy-free mark on a frame that is not a USER frame', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(k.madvise(p, e.base, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    clean(k); // a USER frame with the mark is fine
    const pa = leafOf(k, p, e.base)!.pa;
    expect(k.munmap(p, e.base, 4096)).toEqual({ ok: true, value: 0 });
    clean(k);
    const i = k.allocator.frameIndex(pa);
    k.anonExclusive.flags[i] = k.anonExclusive.flags[i]! | 2; // plant the mark on the free frame
    expect(audit(k).problems).toEqual([
      `MADV_FREE (lazy-free) mark on frame 0x${pa.toString(16).toUpperCase()}, which is not a USER frame`,
    ]);
    k.anonExclusive.flags[i] = 0;
    clean(k);
  });

  it('FREE: the mark goes with the frame (freed by munmap, never inherited by its next user)', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(k.madvise(p, e.base, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    const pa = leafOf(k, p, e.base)!.pa;
    expect(isLazyFreeFrame(k, pa)).toBe(true);
    expect(k.munmap(p, e.base, 4096)).toEqual({ ok: true, value: 0 });
    expect(k.anonExclusive.flags[k.allocator.frameIndex(pa)]).toBe(0); // zeroed on free
    // The allocator hands out the frame freed last first (LIFO): its next user finds no mark.
    expect(k.allocator.alloc('user', p.pid)).toBe(pa);
    expect(isLazyFreeFrame(k, pa)).toBe(false);
    k.allocator.free(pa);
    clean(k);
  });

  it('FREE needs private anonymous memory (EINVAL for shared, locked, huge)', () => {
    const e = setup(c, SHARED);
    const { k, p } = e;
    expect(k.madvise(p, e.base, 4096, MADV.FREE)).toMatchObject({ ok: false, errno: 'EINVAL' });
    const h = k.mmap(p, 0, 4096, RW, PRIV | MAP.HUGETLB);
    if (!h.ok) throw new Error(h.detail);
    expect(k.madvise(p, h.value, 4096, MADV.FREE)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(k.madvise(p, h.value, 4096, MADV.COLD)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(k.madvise(p, h.value, 4096, MADV.PAGEOUT)).toMatchObject({ ok: false, errno: 'EINVAL' });
    const l = k.mmap(p, 0, 4096, RW, PRIV);
    if (!l.ok) throw new Error(l.detail);
    expect(k.mlock(p, l.value, 4096)).toEqual({ ok: true, value: 0 });
    for (const a of [MADV.FREE, MADV.COLD, MADV.PAGEOUT, MADV.DONTNEED])
      expect(k.madvise(p, l.value, 4096, a)).toMatchObject({ ok: false, errno: 'EINVAL' });
    clean(k);
  });

  it('COLD clears the accessed bits of exclusive pages, with the TLB invalidation that needs', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    expect(k.store(p, at(e, 0) + 8n, 8, 5n)).toMatchObject({ ok: true }); // page 0: p's own copy
    for (let i = 0; i < 8; i++) read(k, p, at(e, i), 1);
    expect(k.madvise(p, e.base, 8 * 4096, MADV.COLD)).toEqual({ ok: true, value: 0 });
    const pa0 = leafOf(k, p, at(e, 0))!.pa;
    const pa1 = leafOf(k, p, at(e, 1))!.pa;
    expect(leafOf(k, p, at(e, 0))!.attrs.accessed).toBe(false);
    expect(k.isColdFrame(pa0)).toBe(true);
    // Page 1 is still shared with the child: left alone.
    expect(leafOf(k, p, at(e, 1))!.attrs.accessed).toBe(true);
    expect(k.isColdFrame(pa1)).toBe(false);
    // An access walks again (the TLBs were invalidated) and sets the accessed bit: no longer cold.
    expect(read(k, p, at(e, 0), 1)).toBe(5n);
    expect(leafOf(k, p, at(e, 0))!.attrs.accessed).toBe(true);
    expect(k.isColdFrame(pa0)).toBe(false);
    expect(read(k, child, at(e, 0))).toBe(0x1000n);
    clean(k);
  });

  it('PAGEOUT marks like COLD and keeps the contents (no swap device)', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(k.madvise(p, e.base, 8 * 4096, MADV.PAGEOUT)).toEqual({ ok: true, value: 0 });
    for (let i = 0; i < 8; i++) {
      expect(leafOf(k, p, at(e, i))!.attrs.accessed).toBe(false);
      expect(k.isColdFrame(leafOf(k, p, at(e, i))!.pa)).toBe(true);
    }
    expect(k.mincore(p, e.base, 8 * 4096)).toEqual({ ok: true, value: new Uint8Array(8).fill(1) });
    for (let i = 0; i < 8; i++) expect(read(k, p, at(e, i))).toBe(0x1000n + BigInt(i));
    clean(k);
  });

  it('WILLNEED prefaults nothing for untouched anonymous pages', () => {
    const k = boot(c);
    const p = k.createProcess();
    const r = k.mmap(p, 0, 4 * 4096, RW, PRIV);
    if (!r.ok) throw new Error(r.detail);
    const free = k.allocator.freeCount;
    expect(k.madvise(p, r.value, 4 * 4096, MADV.WILLNEED)).toEqual({ ok: true, value: 0 });
    expect(k.allocator.freeCount).toBe(free);
    expect(k.mincore(p, r.value, 4 * 4096)).toEqual({ ok: true, value: new Uint8Array(4) });
    clean(k);
  });

  it('NORMAL / RANDOM / SEQUENTIAL are recorded on the VMA (split, then merged back)', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(k.madvise(p, at(e, 2), 2 * 4096, MADV.RANDOM)).toEqual({ ok: true, value: 0 });
    expect(k.madvise(p, at(e, 5), 4096, MADV.SEQUENTIAL)).toEqual({ ok: true, value: 0 });
    const mine = () => k.vmas(p).filter((v) => v.start >= e.base && v.end <= at(e, 8));
    expect(mine()).toHaveLength(5);
    const smaps = k.procSmaps(p);
    expect(smaps).toMatch(/VmFlags: rd wr mr mw me rr ac/);
    expect(smaps).toMatch(/VmFlags: rd wr mr mw me sr ac/);
    expect(k.madvise(p, e.base, 8 * 4096, MADV.NORMAL)).toEqual({ ok: true, value: 0 });
    expect(mine()).toHaveLength(1);
    for (let i = 0; i < 8; i++) expect(read(k, p, at(e, i))).toBe(0x1000n + BigInt(i));
    clean(k);
  });
});

describe('MADV_FREE with software dirty tracking (AArch64, TCR_EL1.HD = 0)', () => {
  it('maps the page read-only; the first write faults and makes it writable and dirty (still marked)', () => {
    const k = bootKernel({
      arch: createAarch64Arch({ hardwareDirty: false }),
      machine: createVirtBoard({ ramBytes: 32 * MiB, pool: 'all-ram' }),
      strictTlb: true,
    });
    const p = k.createProcess();
    const r = k.mmap(p, 0, 2 * 4096, RW, PRIV);
    if (!r.ok) throw new Error(r.detail);
    for (let i = 0n; i < 2n; i++) k.store(p, r.value + i * PAGE, 8, 9n + i);
    expect(k.madvise(p, r.value, 2 * 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    const l = leafOf(k, p, r.value)!;
    expect(l.attrs.user.write).toBe(false); // clean = AP[2] = 1 without hardware dirty state
    expect(l.attrs.software).toBe(0); // PTE_DIRTY cleared, no other software bit
    const faults: string[] = [];
    k.events.on((e) => {
      if (e.type === 'fault') faults.push(`${e.kind} ${e.resolution}`);
    });
    expect(k.store(p, r.value + PAGE, 8, 42n)).toMatchObject({ ok: true });
    expect(faults).toEqual(['permission software dirty: made writable and dirty (MADV_FREE page written)']);
    expect(leafOf(k, p, r.value + PAGE)!.attrs.user.write).toBe(true);
    expect(isLazyFreeFrame(k, leafOf(k, p, r.value + PAGE)!.pa)).toBe(true);
    expect(k.discardLazyFree(leafOf(k, p, r.value + PAGE)!.pa)).toBe(false);
    expect(k.discardLazyFree(l.pa)).toBe(true);
    expect(k.load(p, r.value, 8)).toEqual({ ok: true, value: 0n });
    expect(k.load(p, r.value + PAGE, 8)).toEqual({ ok: true, value: 42n });
    clean(k);
  });
});

describe.each(CONFIGS)('madvise and mincore with swap on $name', (c) => {
  it('PAGEOUT swaps out, mincore counts swapped pages not resident, WILLNEED reads them into the swap cache, FREE drops them', () => {
    const k = boot(c);
    expect(k.swapon({ pages: 16 }).ok).toBe(true);
    const p = k.createProcess();
    const r = k.mmap(p, 0, 8 * 4096, RW, PRIV);
    if (!r.ok) throw new Error(r.detail);
    for (const i of [0, 2, 3, 5, 7]) k.store(p, r.value + BigInt(i) * PAGE, 8, BigInt(0x100 + i));
    // MADV_PAGEOUT (madvise_pageout → reclaim_pages): pages 2, 3 and 7 go to the device.
    for (const i of [2, 3, 7])
      expect(k.madvise(p, r.value + BigInt(i) * PAGE, 4096, MADV.PAGEOUT)).toEqual({ ok: true, value: 0 });
    expect(p.space.swapEntries).toBe(3);
    expect(k.swapDevices[0]!.usedPages).toBe(3);
    // mincore_swap: a swap PTE is resident only while its page is in the swap cache.
    expect(k.mincore(p, r.value, 8 * 4096)).toEqual({
      ok: true,
      value: Uint8Array.of(1, 0, 0, 0, 0, 1, 0, 0),
    });
    // MADV_WILLNEED on pages 2..3 reads them into the swap cache; the PTEs stay swap entries.
    expect(k.madvise(p, r.value + 2n * PAGE, 2 * 4096, MADV.WILLNEED)).toEqual({ ok: true, value: 0 });
    expect(p.space.swapEntries).toBe(3);
    expect(k.swapDevices[0]!.cachedPages).toBe(2);
    expect(k.mincore(p, r.value, 8 * 4096)).toEqual({
      ok: true,
      value: Uint8Array.of(1, 0, 1, 1, 0, 1, 0, 0),
    });
    // The next touch finds the page in the swap cache: a minor fault, contents kept.
    const major = p.majorFaults;
    expect(k.load(p, r.value + 3n * PAGE, 8)).toEqual({ ok: true, value: 0x103n });
    expect(p.majorFaults).toBe(major);
    // MADV_FREE on a swapped-out page drops it (madvise_free_pte_range: free_swap_and_cache).
    expect(k.madvise(p, r.value + 7n * PAGE, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    expect(p.space.swapEntries).toBe(1);
    expect(k.load(p, r.value + 7n * PAGE, 8)).toEqual({ ok: true, value: 0n });
    // MADV_DONTNEED on a swapped-out page frees its slot too; it reads zero afterwards.
    expect(k.madvise(p, r.value + 2n * PAGE, 4096, MADV.DONTNEED)).toEqual({ ok: true, value: 0 });
    expect(p.space.swapEntries).toBe(0);
    expect(k.load(p, r.value + 2n * PAGE, 8)).toEqual({ ok: true, value: 0n });
    // Page 3 came back by a read: it stays in the swap cache with its slot (do_swap_page)…
    expect(k.swapDevices[0]).toMatchObject({ usedPages: 1, cachedPages: 1 });
    clean(k);
    // …until MADV_FREE makes it clean: the swap goes first (madvise_free_pte_range: folio_free_swap).
    expect(k.madvise(p, r.value + 3n * PAGE, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    expect(k.swapDevices[0]).toMatchObject({ usedPages: 0, cachedPages: 0 });
    clean(k);
  });
});

describe.each(CONFIGS)('mincore on $name', (c) => {
  it('reports residency per page, with Linux errnos', () => {
    const k = boot(c);
    const p = k.createProcess();
    const r = k.mmap(p, 0, 4 * 4096, RW, PRIV);
    if (!r.ok) throw new Error(r.detail);
    const base = r.value;
    k.store(p, base, 8, 1n);
    k.load(p, base + 2n * PAGE, 8); // the zero page: present, so resident
    expect(k.mincore(p, base, 4 * 4096)).toEqual({ ok: true, value: Uint8Array.of(1, 0, 1, 0) });
    // A length that is not a page multiple covers the last partial page.
    expect(k.mincore(p, base, 4096 + 1)).toEqual({ ok: true, value: Uint8Array.of(1, 0) });
    expect(k.mincore(p, base, 0)).toEqual({ ok: true, value: new Uint8Array(0) });
    expect(k.mincore(p, base + 1n, 4096)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(k.mincore(p, base, 5 * 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(k.mincore(p, base - PAGE, 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(k.mincore(p, 2n ** 62n, 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    clean(k);
  });
});
