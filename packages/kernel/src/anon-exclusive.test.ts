/**
 * PG_anon_exclusive (anon-exclusive.ts) on all five configurations, with strict TLB mode and
 * audit() after each step: where Linux sets and clears the flag (fault, copy-on-write copy and
 * reuse, swap-in with RMAP_EXCLUSIVE, fork, swap-out, free), the swap PTE's SWP_EXCLUSIVE bit it
 * decides (exact bytes), mprotect's `can_change_pte_writable`, a fork that runs out of memory
 * leaving every flag as it was, huge pages per subpage, eager fork; and audit()'s checks, each
 * made to fire on a planted violation.
 */
import { hex, vpnOf } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import { MADV } from './madvise.js';
import type { Process } from './process.js';
import { pageOutRange, reclaimFrame } from './swap.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, type SwapTestEnv, swapTestEnv, type TestConfig } from './test-fixtures.js';

const PAGE = 4096n;
const N = 4;
const CONFIGS = fiveConfigs(32 * 2 ** 20);
const RW = PROT.READ | PROT.WRITE;
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;

/**
 * The swap PTE of slot 1 of device 0, by hand from Linux's macros, without SWP_EXCLUSIVE and
 * with it: arm64 `__swp_entry` = offset << 12, PTE_SWP_EXCLUSIVE bit 2; x86-64 (and LA57) and
 * PAE the L1TF-inverted offset ~1 in bits 58:9 (pgtable_64.h, pgtable-3level.h), exclusive
 * _PAGE_PWT (bit 3) on x86-64, _PAGE_PSE (bit 7) on PAE; 2-level 1 << 9, exclusive bit 7
 * (pgtable-2level.h).
 */
const SLOT1: Record<string, { shared: bigint; exclusive: bigint }> = {
  'aarch64 on virt': { shared: 0x1000n, exclusive: 0x1004n },
  'x86_64 on pc': { shared: 0x07ff_ffff_ffff_fc00n, exclusive: 0x07ff_ffff_ffff_fc08n },
  'x86_64-la57 on pc': { shared: 0x07ff_ffff_ffff_fc00n, exclusive: 0x07ff_ffff_ffff_fc08n },
  'x86-pae on pc': { shared: 0x07ff_ffff_ffff_fc00n, exclusive: 0x07ff_ffff_ffff_fc80n },
  'x86-32 on pc': { shared: 0x200n, exclusive: 0x280n },
};

type Env = SwapTestEnv;

/** N private rw- pages, page i holding `0x7000 + i` at offset 16, and a swap device of `pages` pages. */
const setup = (c: TestConfig, pages = 64, opts: Partial<KernelOptions> = {}): Env =>
  swapTestEnv(c, N, pages, opts);

const at = (e: Env, i: number) => e.base + BigInt(i) * PAGE;
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const leafOf = (k: Kernel, p: Process, va: bigint) => {
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
  return ref.entry;
};
const paOf = (k: Kernel, p: Process, va: bigint) => leafOf(k, p, va).pa;
const exclusive = (k: Kernel, p: Process, va: bigint) => k.anonExclusive.has(paOf(k, p, va));
/** The raw swap PTE at `va` as one number, and its decoding. */
const swapPte = (k: Kernel, p: Process, va: bigint) => {
  const [lo, hi] = k.editor.readRaw(k.lookup(p, va)!.descriptorPa);
  return { raw: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), e: k.arch.swap!.decode(lo, hi, 1) };
};
const load = (k: Kernel, p: Process, va: bigint) => {
  const r = k.load(p, va + 16n, 8);
  if (!r.ok) throw new Error('load failed');
  return r.value;
};
const cowActions = (e: Env) => e.events.flatMap((x) => (x.type === 'cow' ? [x.action] : []));
const forkOf = (k: Kernel, p: Process) => {
  const f = k.fork(p);
  if (!f.ok) throw new Error(f.errno);
  return f.process;
};

describe.each(CONFIGS)('PG_anon_exclusive: $name', (c) => {
  it('set by a demand fault; fork clears it in both copies; a frame freed loses it', () => {
    const e = setup(c);
    const { k, p } = e;
    for (let i = 0; i < N; i++) expect(exclusive(k, p, at(e, i))).toBe(true);
    const child = forkOf(k, p);
    for (let i = 0; i < N; i++) {
      expect(paOf(k, child, at(e, i))).toBe(paOf(k, p, at(e, i)));
      expect(exclusive(k, p, at(e, i))).toBe(false);
    }
    clean(k);
    k.exit(child);
    k.exit(p);
    expect(k.anonExclusive.count()).toBe(0);
    clean(k);
  });

  it('fork, the child exits without writing, swap-out: the page was shared, so no SWP_EXCLUSIVE (exact bytes)', () => {
    const e = setup(c);
    const { k, p } = e;
    // Page 1 in a read-only VMA: nothing about its PTE tells that it was shared.
    expect(k.mprotect(p, at(e, 1), 4096, PROT.READ).ok).toBe(true);
    const child = forkOf(k, p);
    k.exit(child);
    // Mapped once, one reference, but not exclusive: Linux cleared the flag at fork and only a
    // write fault (do_wp_page) sets it again.
    for (const i of [1, 0]) {
      const pa = paOf(k, p, at(e, i));
      expect([k.rmap.count(pa), k.allocator.refCount(pa), k.anonExclusive.has(pa)]).toEqual([1, 1, false]);
      expect(leafOf(k, p, at(e, i)).attrs.user.write).toBe(false);
    }
    clean(k);
    expect(reclaimFrame(k, paOf(k, p, at(e, 1)))).toBe(true);
    const s = swapPte(k, p, at(e, 1));
    expect(s.raw).toBe(SLOT1[c.name]!.shared);
    expect(s.e).toEqual({ type: 0, offset: 1, exclusive: false, softDirty: false, uffdWp: false });
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    expect(swapPte(k, p, at(e, 0)).e).toMatchObject({ type: 0, offset: 2, exclusive: false });
    clean(k);
    // A page of a read-only VMA that was never shared is exclusive.
    const q = k.createProcess();
    const m = k.mmap(q, 0, 4096, RW, PRIV);
    if (!m.ok) throw new Error(m.detail);
    expect(k.store(q, m.value, 8, 1n)).toMatchObject({ ok: true });
    expect(k.mprotect(q, m.value, 4096, PROT.READ).ok).toBe(true);
    expect(k.madvise(q, m.value, 4096, MADV.PAGEOUT)).toEqual({ ok: true, value: 0 });
    expect(swapPte(k, q, m.value).e).toMatchObject({ type: 0, offset: 3, exclusive: true });
    clean(k);
  });

  it('fork, the child exits, the parent writes (COW reuse sets the flag), swap-out: SWP_EXCLUSIVE (exact bytes)', () => {
    const e = setup(c);
    const { k, p } = e;
    k.exit(forkOf(k, p));
    expect(k.store(p, at(e, 0) + 16n, 8, 0x99n)).toMatchObject({ ok: true });
    expect(cowActions(e)).toEqual(['reuse']);
    expect(exclusive(k, p, at(e, 0))).toBe(true);
    clean(k);
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    const s = swapPte(k, p, at(e, 0));
    expect(s.raw).toBe(SLOT1[c.name]!.exclusive);
    expect(s.e).toMatchObject({ type: 0, offset: 1, exclusive: true });
    clean(k);
    // Swapped in by a read: the exclusive entry maps it writable and exclusive at once.
    expect(load(k, p, at(e, 0))).toBe(0x99n);
    expect([leafOf(k, p, at(e, 0)).attrs.user.write, exclusive(k, p, at(e, 0))]).toEqual([true, true]);
    clean(k);
  });

  it('a COW copy is exclusive; the other side, left alone, is not until its own write reuses the page', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = forkOf(k, p);
    const old = paOf(k, p, at(e, 1));
    expect(k.store(child, at(e, 1) + 16n, 8, 1n)).toMatchObject({ ok: true });
    expect(cowActions(e)).toEqual(['copy']);
    expect(exclusive(k, child, at(e, 1))).toBe(true);
    expect([k.rmap.count(old), k.anonExclusive.has(old)]).toEqual([1, false]);
    clean(k);
    expect(k.store(p, at(e, 1) + 16n, 8, 2n)).toMatchObject({ ok: true });
    expect(cowActions(e)).toEqual(['copy', 'reuse']);
    expect(paOf(k, p, at(e, 1))).toBe(old);
    expect(exclusive(k, p, at(e, 1))).toBe(true);
    clean(k);
  });

  it('swap-in of a non-exclusive entry (do_swap_page): read-only and not exclusive while the swap cache holds a reference, exclusive and writable with refcount 1', () => {
    // Device of 5 pages: 4 slots; vm_swap_full once 3 are in use.
    const e = setup(c, 5);
    const { k, p } = e;
    const child = forkOf(k, p);
    expect(pageOutRange(k, p.space, vpnOf(at(e, 0)), vpnOf(at(e, 2)))).toBe(0); // shared: MADV_PAGEOUT skips
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    expect(reclaimFrame(k, paOf(k, p, at(e, 1)))).toBe(true);
    k.exit(child); // the parent's entries stay non-exclusive; each slot now named once
    for (const i of [0, 1]) expect(swapPte(k, p, at(e, i)).e).toMatchObject({ exclusive: false });
    clean(k);
    // A read fault, swap 2 of 4 in use (not full): the page stays in the swap cache, so
    // folio_ref_count is 2 → not RMAP_EXCLUSIVE, mapped read-only.
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    let pa = paOf(k, p, at(e, 0));
    expect(k.allocator.refCount(pa)).toBe(2);
    expect([leafOf(k, p, at(e, 0)).attrs.user.write, k.anonExclusive.has(pa)]).toEqual([false, false]);
    clean(k);
    // Its write fault: wp_can_reuse_anon_folio frees the swap and reuses the page → exclusive.
    expect(k.store(p, at(e, 0) + 16n, 8, 5n)).toMatchObject({ ok: true });
    expect(cowActions(e)).toEqual(['reuse']);
    expect([paOf(k, p, at(e, 0)), k.anonExclusive.has(pa), k.allocator.refCount(pa)]).toEqual([pa, true, 1]);
    clean(k);
    // A write fault on the other non-exclusive entry: should_try_to_free_swap frees the cache at
    // once (write, refcount 2) → refcount 1 → RMAP_EXCLUSIVE, writable, no do_wp_page.
    expect(k.store(p, at(e, 1) + 16n, 8, 6n)).toMatchObject({ ok: true });
    pa = paOf(k, p, at(e, 1));
    expect([
      k.allocator.refCount(pa),
      k.anonExclusive.has(pa),
      leafOf(k, p, at(e, 1)).attrs.user.write,
    ]).toEqual([1, true, true]);
    expect(cowActions(e)).toEqual(['reuse']);
    clean(k);
    // A read fault with swap more than half full: the cache is freed at swap-in (vm_swap_full),
    // refcount 1 → exclusive and writable (the VMA allows writes) on a read.
    const child2 = forkOf(k, p);
    for (const i of [0, 1, 2]) expect(reclaimFrame(k, paOf(k, p, at(e, i)))).toBe(true);
    k.exit(child2);
    expect(k.swapDevices[0]!.usedPages).toBe(3);
    expect(load(k, p, at(e, 2))).toBe(0x7002n);
    pa = paOf(k, p, at(e, 2));
    expect([
      k.allocator.refCount(pa),
      k.anonExclusive.has(pa),
      leafOf(k, p, at(e, 2)).attrs.user.write,
    ]).toEqual([1, true, true]);
    clean(k);
  });

  it('swapoff (unuse_pte): read-only, anon-exclusive exactly when the entry was; a write then reuses the page', () => {
    const e = setup(c);
    const { k, p } = e;
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true); // mapped once: exclusive entry
    const child = forkOf(k, p);
    expect(reclaimFrame(k, paOf(k, p, at(e, 1)))).toBe(true); // shared: not exclusive
    k.exit(child); // the parent's entry of page 1 is the only one naming its slot now
    expect(swapPte(k, p, at(e, 1)).e).toMatchObject({ exclusive: false });
    // Page 0's entry lost its bit at fork too (copy_nonpresent_pte); page 2 is swapped out after.
    expect(k.store(p, at(e, 2) + 16n, 8, 9n)).toMatchObject({ ok: true }); // reuse: exclusive
    expect(reclaimFrame(k, paOf(k, p, at(e, 2)))).toBe(true);
    expect(swapPte(k, p, at(e, 2)).e).toMatchObject({ exclusive: true });
    expect(k.swapoff(0)).toEqual({ ok: true, value: 0 });
    for (const [i, x] of [
      [0, false],
      [1, false],
      [2, true],
    ] as const) {
      expect(leafOf(k, p, at(e, i)).attrs.user.write).toBe(false);
      expect([i, exclusive(k, p, at(e, i)), k.allocator.refCount(paOf(k, p, at(e, i)))]).toEqual([i, x, 1]);
    }
    clean(k);
    e.events.length = 0;
    for (const i of [0, 1, 2]) expect(k.store(p, at(e, i) + 16n, 8, 1n)).toMatchObject({ ok: true });
    expect(cowActions(e)).toEqual(['reuse', 'reuse', 'reuse']);
    for (const i of [0, 1, 2]) expect(exclusive(k, p, at(e, i))).toBe(true);
    clean(k);
  });

  it('a page two processes share through the swap cache is exclusive in neither', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = forkOf(k, p);
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    expect(load(k, child, at(e, 0))).toBe(0x7000n);
    const pa = paOf(k, p, at(e, 0));
    expect(paOf(k, child, at(e, 0))).toBe(pa);
    expect([k.allocator.refCount(pa), k.anonExclusive.has(pa)]).toEqual([3, false]);
    clean(k);
    k.exit(child);
    // Mapped once now, the cache and the PTE hold it: a second swap-out is still not exclusive.
    expect(reclaimFrame(k, pa)).toBe(true);
    expect(swapPte(k, p, at(e, 0)).e).toMatchObject({ exclusive: false });
    clean(k);
  });

  it('mprotect makes a private page writable in place only when it is anon-exclusive (can_change_pte_writable)', () => {
    const e = setup(c);
    const { k, p } = e;
    k.exit(forkOf(k, p));
    expect(k.store(p, at(e, 1) + 16n, 8, 1n)).toMatchObject({ ok: true }); // reuse: exclusive
    expect(k.mprotect(p, at(e, 0), 2 * 4096, PROT.READ).ok).toBe(true);
    expect(k.mprotect(p, at(e, 0), 2 * 4096, RW).ok).toBe(true);
    // Page 0 is mapped once with one reference, but not exclusive: it stays read-only.
    expect(leafOf(k, p, at(e, 0)).attrs.user.write).toBe(false);
    expect(leafOf(k, p, at(e, 1)).attrs.user.write).toBe(true);
    clean(k);
    e.events.length = 0;
    expect(k.store(p, at(e, 0) + 16n, 8, 2n)).toMatchObject({ ok: true });
    expect(cowActions(e)).toEqual(['reuse']);
    clean(k);
  });

  it('a fork that runs out of memory at any point leaves every flag as it was', () => {
    for (const forkMode of ['cow', 'eager'] as const) {
      let failures = 0;
      for (let keep = 0; ; keep++) {
        const e = setup(c, 0, { fork: forkMode });
        const { k, p } = e;
        const before = k.anonExclusive.flags.slice();
        const release = leaveFree(k, keep);
        const f = k.fork(p);
        if (f.ok) {
          expect(failures).toBeGreaterThan(0);
          break;
        }
        failures++;
        expect(k.anonExclusive.flags).toEqual(before);
        release();
        clean(k);
      }
    }
  });

  it('a fork of 2100 pages that runs out of memory late restores every flag it had cleared (the log grows)', () => {
    let failures = 0;
    for (let keep = 0; ; keep++) {
      const k = bootKernel({ arch: c.arch(), machine: c.machine(), strictTlb: true });
      const p = k.createProcess();
      const m = k.mmap(p, 0, 2100 * 4096, RW, PRIV | MAP.POPULATE);
      if (!m.ok) throw new Error(m.detail);
      expect(k.anonExclusive.count()).toBe(2100);
      const release = leaveFree(k, keep);
      const f = k.fork(p);
      if (f.ok) {
        expect(failures).toBeGreaterThan(0);
        expect(k.anonExclusive.count()).toBe(0);
        break;
      }
      failures++;
      expect(k.anonExclusive.count()).toBe(2100);
      release();
      clean(k);
    }
  });

  it('eager fork (copy_present_page): the child’s copies are exclusive and the parent’s pages stay so', () => {
    const e = setup(c, 0, { fork: 'eager' });
    const { k, p } = e;
    const child = forkOf(k, p);
    for (let i = 0; i < N; i++) {
      expect(paOf(k, child, at(e, i))).not.toBe(paOf(k, p, at(e, i)));
      expect([exclusive(k, p, at(e, i)), exclusive(k, child, at(e, i))]).toEqual([true, true]);
    }
    clean(k);
  });

  it('huge pages: every subpage carries the flag; fork clears all; the copy and the reuse set them', () => {
    const e = setup(c, 0);
    const { k, p } = e;
    const g = k.arch.geometry;
    const level = Math.min(...g.leafLevels.filter((l) => l > 1));
    const pages = g.entryPages[level]!;
    const r = k.mmap(p, 0, BigInt(pages) * PAGE, RW, PRIV | MAP.HUGETLB | MAP.POPULATE);
    if (!r.ok) throw new Error(r.detail);
    const va = r.value;
    expect(k.lookup(p, va)!.level).toBe(level);
    const pa = paOf(k, p, va);
    expect(k.anonExclusive.all(pa, pages)).toBe(true);
    const child = forkOf(k, p);
    for (const i of [0, 1, pages - 1]) expect(k.anonExclusive.has(pa + i * 4096)).toBe(false);
    clean(k);
    expect(k.store(child, va + PAGE, 4, 7)).toMatchObject({ ok: true });
    const copy = paOf(k, child, va);
    expect(copy).not.toBe(pa);
    expect(k.anonExclusive.all(copy, pages)).toBe(true);
    expect(k.store(p, va, 4, 1)).toMatchObject({ ok: true });
    expect(k.anonExclusive.all(pa, pages)).toBe(true);
    clean(k);
  });
});

describe.each(CONFIGS)('audit() checks PG_anon_exclusive: $name', (c) => {
  it('a flag on a page fork shared (mapped by two PTEs)', () => {
    const e = setup(c, 0);
    const { k, p } = e;
    forkOf(k, p);
    const pa = paOf(k, p, at(e, 0));
    k.anonExclusive.set(pa);
    expect(audit(k).problems).toEqual([
      `anon-exclusive frame ${hex(pa)} is mapped by 2 PTEs (PG_anon_exclusive: exactly one)`,
    ]);
  });

  it('a writable private page without the flag', () => {
    const e = setup(c, 0);
    const { k, p } = e;
    const pa = paOf(k, p, at(e, 2));
    k.anonExclusive.clear(pa);
    expect(audit(k).problems).toEqual([
      `pid ${p.pid}: ${hex(at(e, 2), 16)} maps private frame ${hex(pa)} writable, but it is not anon-exclusive`,
    ]);
  });

  it('a flag on a frame that is not a USER frame (a free one, a page table)', () => {
    const e = setup(c, 0);
    const { k, p } = e;
    const free = k.allocator.alloc('user', -1);
    k.allocator.free(free);
    const table = k.editor.lookup(p.root, vpnOf(at(e, 0)), 2);
    if (table.entry.kind !== 'table') throw new Error('no leaf table');
    const tablePa = table.entry.pa;
    k.anonExclusive.flags[k.allocator.frameIndex(free)] = 1;
    k.anonExclusive.set(tablePa);
    expect([...audit(k).problems].sort()).toEqual(
      [
        `anon-exclusive flag on frame ${hex(free)}, which is not a USER frame`,
        `anon-exclusive flag on frame ${hex(tablePa)}, which is not a USER frame`,
      ].sort(),
    );
  });

  it('a flag on a MAP_SHARED page (not a private VMA, and the object holds a reference)', () => {
    const e = setup(c, 0);
    const { k, p } = e;
    const m = k.mmap(p, 0, 4096, RW, MAP.SHARED | MAP.ANONYMOUS);
    if (!m.ok) throw new Error(m.detail);
    expect(k.store(p, m.value, 8, 1n)).toMatchObject({ ok: true });
    const pa = paOf(k, p, m.value);
    expect(k.anonExclusive.has(pa)).toBe(false);
    k.anonExclusive.set(pa);
    const hexPa = `${hex(pa)}`;
    expect(audit(k).problems).toEqual([
      `anon-exclusive frame ${hexPa} is mapped at ${hex(m.value, 16)} of pid ${p.pid}, not in a private VMA`,
      `anon-exclusive frame ${hexPa} has refcount 2, expected 1 (its PTE)`,
    ]);
  });

  it('a flag on a swap-cache page whose slot another process’s swap PTE still names', () => {
    const e = setup(c);
    const { k, p } = e;
    forkOf(k, p);
    expect(reclaimFrame(k, paOf(k, p, at(e, 0)))).toBe(true);
    expect(load(k, p, at(e, 0))).toBe(0x7000n);
    const pa = paOf(k, p, at(e, 0));
    clean(k);
    k.anonExclusive.set(pa);
    expect(audit(k).problems).toEqual([
      `anon-exclusive frame ${hex(pa)} is in the swap cache, but swap PTEs still name its slot`,
    ]);
  });
});
