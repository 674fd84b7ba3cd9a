/**
 * The swap cache kept after swap-in (swap-cache.ts) and SWP_EXCLUSIVE, on all five configurations
 * with strict TLB mode and audit() after each step: a page read back keeps its slot and is
 * reclaimed again without a write (pswpout unchanged, the same slot); a write — through the
 * hardware dirty bit or a write fault — makes the next reclaim write it, or frees the slot; swap
 * more than half full (`vm_swap_full`) and locked VMAs free the slot at swap-in; the exclusive bit
 * is set only for a page mapped once, cleared by fork in both copies, and lets a write fault map
 * the page writable without a copy-on-write break. Tests that break the dirty tracking on purpose
 * show that the content checks see a lost write.
 */
import { isLeafDirty, type MmEvent, vpnOf } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { isFrameDirty, isLazyFreeFrame } from './frame-marks.js';
import type { Kernel, KernelOptions } from './kernel.js';
import { MADV } from './madvise.js';
import type { Process } from './process.js';
import { pageOutRange, reclaimFrame } from './swap.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, type SwapTestEnv, swapTestEnv, type TestConfig } from './test-fixtures.js';

const PAGE = 4096n;
const N = 8;
const CONFIGS = fiveConfigs(32 * 2 ** 20);

type Swap = Extract<MmEvent, { type: 'swap' }>;

/**
 * The swap PTE of slot 1 of device 0 with SWP_EXCLUSIVE, by hand from Linux's macros:
 * arm64 `__swp_entry` (offset << 12) | PTE_SWP_EXCLUSIVE (bit 2); x86-64 and PAE the inverted
 * offset ~1 in bits 58:9 | _PAGE_SWP_EXCLUSIVE (_PAGE_PWT, bit 3 on x86-64; _PAGE_PSE, bit 7 on
 * PAE and 2-level, `pgtable-2level.h` / `pgtable-3level.h`); 2-level 1 << 9 | bit 7.
 */
const GOLDEN: Record<string, bigint> = {
  'aarch64 on virt': 0x1004n,
  'x86_64 on pc': 0x07ff_ffff_ffff_fc08n,
  'x86_64-la57 on pc': 0x07ff_ffff_ffff_fc08n,
  'x86-pae on pc': 0x07ff_ffff_ffff_fc80n,
  'x86-32 on pc': 0x280n,
};

type Env = SwapTestEnv;

/** N private rw- pages, page i holding `0x7000 + i` at offset 16, and a swap device of `pages` pages. */
const setup = (c: TestConfig, pages = 64, opts: Partial<KernelOptions> = {}): Env =>
  swapTestEnv(c, N, pages, opts);

const at = (e: Env, i: number) => e.base + BigInt(i) * PAGE;
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const paOf = (k: Kernel, p: Process, va: bigint): number => {
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
  return ref.entry.pa;
};
const leafOf = (k: Kernel, p: Process, va: bigint) => {
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
  return ref.entry;
};
/** The swap PTE at `va`: its raw halves and decoding. */
const swapPte = (k: Kernel, p: Process, va: bigint) => {
  const ref = k.lookup(p, va)!;
  const [lo, hi] = k.editor.readRaw(ref.descriptorPa);
  return { lo, hi, e: k.arch.swap!.decode(lo, hi, 1) };
};
const bit = (lo: number, hi: number, n: number) =>
  (((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) >> BigInt(n)) & 1n;
const used = (k: Kernel) => k.swapDevices.reduce((n, d) => n + d.usedPages, 0);
const cached = (k: Kernel) => k.swapDevices.reduce((n, d) => n + d.cachedPages, 0);
const load = (k: Kernel, p: Process, va: bigint) => {
  const r = k.load(p, va + 16n, 8);
  if (!r.ok) throw new Error('load failed');
  return r.value;
};
const cows = (e: Env) => e.events.filter((x) => x.type === 'cow');
const swaps = (e: Env, action: Swap['action']) =>
  e.events.filter((x): x is Swap => x.type === 'swap' && x.action === action);

describe.each(CONFIGS)('swap cache kept after swap-in: $name', (c) => {
  it('read back: slot kept and cached; reclaimed again with no write to the same slot; a write fault frees it', () => {
    const e = setup(c);
    const { k, p } = e;
    const hwDirty = k.arch.description.capabilities.hardwareDirty;
    const exBit = k.arch.swap!.flagBits.exclusive!;
    const out0 = k.vmstat.pswpout;
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    expect(k.vmstat.pswpout).toBe(out0 + 1);
    const first = swapPte(k, p, at(e, 0));
    const slot = first.e!.offset;
    // Mapped once: SWP_EXCLUSIVE, at the backend's bit, and exactly codec.encode's bytes.
    expect(first.e).toMatchObject({ type: 0, offset: 1, exclusive: true });
    expect((BigInt(first.hi) << 32n) | BigInt(first.lo)).toBe(GOLDEN[c.name]);
    expect(bit(first.lo, first.hi, exBit)).toBe(1n);
    expect(k.arch.swap!.encode({ type: 0, offset: slot, exclusive: true })).toEqual({
      lo: first.lo,
      hi: first.hi,
    });
    clean(k);
    // A read fault: major, the page stays in the swap cache with its slot; the exclusive entry
    // maps it writable although the cache holds a reference too — and clean (hardware dirty
    // state; without it a writable leaf is always dirty).
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    expect(p.majorFaults).toBe(1);
    const pa = paOf(k, p, at(e, 0));
    const dev = k.swap.devices[0]!;
    expect([used(k), cached(k), dev.cache[slot], dev.counts[slot]]).toEqual([1, 1, pa, 1]);
    expect(k.allocator.refCount(pa)).toBe(2);
    expect(leafOf(k, p, at(e, 0)).attrs).toMatchObject({ user: { write: true }, dirty: !hwDirty });
    clean(k);
    // Reclaimed again: clean, so nothing is written (pswpout unchanged); the same slot.
    expect(reclaimFrame(k, pa)).toBe(true);
    expect(k.vmstat.pswpout).toBe(out0 + 1);
    expect(swapPte(k, p, at(e, 0)).e).toMatchObject({ type: 0, offset: slot, exclusive: true });
    expect(swaps(e, 'swap-out').at(-1)!.detail).toContain('clean');
    expect([used(k), cached(k)]).toEqual([1, 0]);
    clean(k);
    // Read again (major: the frame was freed), then written in place: on hardware with dirty
    // state no fault (the CPU sets the dirty bit) and the slot stays; the next reclaim writes it.
    const in0 = k.vmstat.pswpin;
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    expect(k.vmstat.pswpin).toBe(in0 + 1);
    expect(k.store(p, at(e, 0) + 16n, 8, 0xbeefn)).toMatchObject({ ok: true });
    expect(leafOf(k, p, at(e, 0)).attrs.dirty).toBe(true);
    expect([used(k), cached(k)]).toEqual([1, 1]);
    clean(k);
    const out1 = k.vmstat.pswpout;
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    expect(k.vmstat.pswpout).toBe(out1 + 1);
    expect(swapPte(k, p, at(e, 0)).e!.offset).toBe(slot);
    expect(load(k, p, at(e, 0))).toBe(0xbeefn);
    clean(k);
    if (hwDirty) {
      expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true); // clean again: no write
      expect(k.vmstat.pswpout).toBe(out1 + 1);
    } else expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    clean(k);
    // A write fault on the swapped-out page: the slot is freed (should_try_to_free_swap), the
    // exclusive entry mapped writable, no copy-on-write break.
    const frees = swaps(e, 'swap-free').length;
    expect(k.store(p, at(e, 0) + 16n, 8, 0xcafen)).toMatchObject({ ok: true });
    expect([used(k), cached(k)]).toEqual([0, 0]);
    expect(swaps(e, 'swap-free')).toHaveLength(frees + 1);
    expect(leafOf(k, p, at(e, 0)).attrs.user.write).toBe(true);
    expect(cows(e)).toEqual([]);
    expect(load(k, p, at(e, 0))).toBe(0xcafen);
    clean(k);
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    clean(k);
  });

  it('swap more than half full (vm_swap_full) frees the slot at a read swap-in; half full keeps it', () => {
    // 5 pages: the header and 4 slots; vm_swap_full when free slots × 2 < 4.
    const e = setup(c, 5);
    const { k, p } = e;
    expect(pageOutRange(k, p.space, vpnOf(at(e, 0)), vpnOf(at(e, 2)))).toBe(2);
    expect(load(k, p, at(e, 0))).toBe(0x7000n); // 2 of 4 in use: not full, kept
    expect([used(k), cached(k)]).toEqual([2, 1]);
    clean(k);
    expect(pageOutRange(k, p.space, vpnOf(at(e, 2)), vpnOf(at(e, 3)))).toBe(1);
    expect(load(k, p, at(e, 1))).toBe(0x7001n); // 3 of 4 in use: full, the slot goes
    expect([used(k), cached(k)]).toEqual([2, 1]);
    expect(p.space.swapEntries).toBe(1);
    clean(k);
    expect(load(k, p, at(e, 2))).toBe(0x7002n); // 2 of 4 in use again: kept
    expect([used(k), cached(k)]).toEqual([2, 2]);
    k.exit(p);
    expect([used(k), cached(k)]).toEqual([0, 0]);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    clean(k);
  });

  it('MADV_FREE frees a swap-cache page’s slot first, and leaves one alone whose slot another swap PTE names', () => {
    const e = setup(c);
    const { k, p } = e;
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    const child = f.process;
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true); // shared: one slot, two swap PTEs
    expect(load(k, p, at(e, 0))).toBe(0x7000n); // cached; the child's swap PTE still names the slot
    expect([used(k), cached(k)]).toEqual([1, 1]);
    expect(k.madvise(p, at(e, 0), 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    expect(isLazyFreeFrame(k, leafOf(k, p, at(e, 0)).pa)).toBe(false); // skipped
    expect([used(k), cached(k)]).toEqual([1, 1]);
    clean(k);
    // The child's swap-in takes the last swap PTE; now MADV_FREE frees the swap, then marks the page.
    expect(load(k, child, at(e, 0))).toBe(0x7000n);
    k.exit(child);
    expect([used(k), cached(k)]).toEqual([1, 1]);
    expect(k.madvise(p, at(e, 0), 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    expect([used(k), cached(k)]).toEqual([0, 0]);
    expect(isLazyFreeFrame(k, leafOf(k, p, at(e, 0)).pa)).toBe(true);
    clean(k);
  });

  it('a locked VMA (VM_LOCKED) frees the slot at swap-in', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(k.mprotect(p, at(e, 0), 2 * 4096, PROT.READ).ok).toBe(true);
    expect(pageOutRange(k, p.space, vpnOf(at(e, 0)), vpnOf(at(e, 2)))).toBe(2);
    expect(used(k)).toBe(2);
    // mlock populates with read faults here (a read-only VMA); each swap-in frees its slot.
    expect(k.mlock(p, at(e, 0), 2 * 4096)).toEqual({ ok: true, value: 0 });
    expect([used(k), cached(k), p.space.swapEntries]).toEqual([0, 0, 0]);
    expect(load(k, p, at(e, 1))).toBe(0x7001n);
    clean(k);
  });

  it('SWP_EXCLUSIVE only for a page mapped once; fork clears it in both copies; a shared entry’s write fault copies', () => {
    const e = setup(c);
    const { k, p } = e;
    const codec = k.arch.swap!;
    // Page 0: mapped once → exclusive; page 1: shared with a child → not.
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    const child = f.process;
    for (const q of [p, child]) {
      const s = swapPte(k, q, at(e, 0));
      expect(s.e).toMatchObject({ type: 0, exclusive: false });
      expect(codec.encode({ type: 0, offset: s.e!.offset })).toEqual({ lo: s.lo, hi: s.hi });
    }
    clean(k);
    expect(reclaimFrame(k, paOf(k, p, at(e, 1)))).toBe(true);
    for (const q of [p, child]) expect(swapPte(k, q, at(e, 1)).e).toMatchObject({ exclusive: false });
    clean(k);
    // The child writes the shared page: read into the swap cache, mapped read-only, then copied.
    expect(k.store(child, at(e, 1) + 16n, 8, 0x99n)).toMatchObject({ ok: true });
    expect(cows(e).map((x) => x.type === 'cow' && [x.action, x.pid])).toEqual([['copy', child.pid]]);
    expect(load(k, p, at(e, 1))).toBe(0x7001n);
    clean(k);
    // munmap of the last swap PTE of a page another process maps from the swap cache keeps the
    // cache entry (free_swap_and_cache → __try_to_reclaim_swap: TTRS_UNMAPPED, swap not full).
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    const s0 = swapPte(k, child, at(e, 0)).e!.offset;
    const dev = k.swap.devices[0]!;
    expect([dev.counts[s0], dev.cache[s0]]).toEqual([2, paOf(k, p, at(e, 0))]);
    expect(k.munmap(child, at(e, 0), 4096).ok).toBe(true);
    expect([dev.counts[s0], dev.cache[s0]]).toEqual([1, paOf(k, p, at(e, 0))]);
    clean(k);
    // A fresh exclusive entry written: mapped writable at once, no copy-on-write event.
    const q = k.createProcess();
    const m = k.mmap(q, 0, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    if (!m.ok) throw new Error(m.detail);
    expect(k.store(q, m.value + 16n, 8, 0x55n)).toMatchObject({ ok: true });
    expect(k.madvise(q, m.value, 4096, MADV.PAGEOUT)).toEqual({ ok: true, value: 0 });
    expect(swapPte(k, q, m.value).e).toMatchObject({ exclusive: true });
    const cow0 = cows(e).length;
    expect(k.store(q, m.value + 24n, 8, 0x66n)).toMatchObject({ ok: true });
    expect(cows(e)).toHaveLength(cow0);
    expect(leafOf(k, q, m.value).attrs.user.write).toBe(true);
    expect(load(k, q, m.value)).toBe(0x55n);
    clean(k);
    for (const x of [child, p, q]) k.exit(x);
    expect([used(k), cached(k)]).toEqual([0, 0]);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it('fork and mprotect write-protect a dirty swap-cache page keeping it dirty in the PTE (ptep_set_wrprotect, pte_modify); reclaim writes it', () => {
    for (const how of ['fork', 'mprotect'] as const) {
      const e = setup(c);
      const { k, p } = e;
      expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
      expect(load(k, p, at(e, 0))).toBe(0x7000n); // cached, writable
      if (!k.arch.description.capabilities.hardwareDirty) return; // writable = dirty: nothing moves
      expect(k.store(p, at(e, 0) + 16n, 8, 0xd1n)).toMatchObject({ ok: true }); // the CPU sets D
      const child = how === 'fork' ? k.fork(p) : undefined;
      if (how === 'mprotect') expect(k.mprotect(p, at(e, 0), 4096, PROT.READ).ok).toBe(true);
      const attrs = leafOf(k, p, at(e, 0)).attrs;
      expect(attrs.user.write).toBe(false);
      // Linux pte_dirty of the write-protected PTE: fork's ptep_set_wrprotect and mprotect's
      // pte_modify keep it (x86 D, arm64 PTE_DIRTY); the child's copy is dirty and old.
      expect(isLeafDirty(k.arch.description, attrs)).toBe(true);
      if (child?.ok) {
        const c = leafOf(k, child.process, at(e, 0)).attrs;
        expect([isLeafDirty(k.arch.description, c), c.accessed, c.user.write]).toEqual([true, false, false]);
      }
      clean(k);
      const out = k.vmstat.pswpout;
      expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
      expect(k.vmstat.pswpout).toBe(out + 1);
      expect(load(k, p, at(e, 0))).toBe(0xd1n);
      if (child?.ok) expect(load(k, child.process, at(e, 0))).toBe(0xd1n);
      clean(k);
    }
  });
});

describe.each(CONFIGS)('the dirty tracking broken on purpose: $name', (c) => {
  it('a dirty bit cleared behind the kernel’s back loses the write: the content check sees it', () => {
    const e = setup(c);
    const { k, p } = e;
    if (!k.arch.description.capabilities.hardwareDirty) return;
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    expect(k.store(p, at(e, 0) + 16n, 8, 0xbadn)).toMatchObject({ ok: true });
    const ref = k.lookup(p, at(e, 0))!;
    if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
    const flush = k.editor.protect({
      root: p.space.root,
      vpn: vpnOf(at(e, 0)),
      attrs: { ...ref.entry.attrs, dirty: false },
      asid: p.space.asid,
    });
    if (flush) k.discharge(flush);
    const out = k.vmstat.pswpout;
    expect(reclaimFrame(k, ref.entry.pa)).toBe(true);
    expect(k.vmstat.pswpout).toBe(out); // taken for clean: not written
    expect(load(k, p, at(e, 0))).toBe(0x7000n); // the write is lost
  });

  it('fork keeps the write in both PTEs (copy_present_pte): the frame is not PG_dirty, reclaim still writes it', () => {
    const e = setup(c);
    const { k, p } = e;
    if (!k.arch.description.capabilities.hardwareDirty) return;
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    expect(k.store(p, at(e, 0) + 16n, 8, 0xbadn)).toMatchObject({ ok: true });
    const f = k.fork(p);
    if (!f.ok) throw new Error('fork failed');
    const pa = paOf(k, p, at(e, 0));
    // Still in the swap cache and not PG_dirty (a swap-cache page never is: frame-marks.ts): only
    // the PTEs know of the write, and reclaim must read them (folio_mark_dirty in try_to_unmap_one).
    expect(k.swap.cacheSlotOf(pa)).toBeDefined();
    expect(isFrameDirty(k, pa)).toBe(false);
    const out = k.vmstat.pswpout;
    expect(reclaimFrame(k, pa)).toBe(true);
    expect(k.vmstat.pswpout).toBe(out + 1); // written: pte_dirty of the parent's and the child's PTE
    expect(load(k, p, at(e, 0))).toBe(0xbadn);
    expect(load(k, f.process, at(e, 0))).toBe(0xbadn);
    clean(k);
  });
});
