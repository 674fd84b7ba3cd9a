/**
 * MADV_FREE and reclaim as Linux 6.x has them, on all five configurations (strict TLB mode,
 * audit() after each step):
 * - a lazily freed page written since is made swap-backed again and activated by reclaim
 *   (`try_to_unmap_one` → `folio_set_swapbacked`, `shrink_folio_list` → `activate_locked`,
 *   `pgactivate`), never swapped out in that pass — under every reclaim policy, and through
 *   MADV_PAGEOUT;
 * - MADV_FREE on a page shared by fork (`madvise_free_pte_range`): marked when neither in the swap
 *   cache nor PG_dirty; skipped, PTE and page alike, when either and mapped more than once;
 * - PG_dirty (frame-marks.ts) is what protects a page whose swap copy went (`folio_free_swap`) from
 *   being dropped through another process's MADV_FREE: without it the child loses its data;
 * - the audit catches marks where none may be.
 */
import { vpnOf } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { PG_DIRTY, PG_LAZYFREE } from './anon-exclusive.js';
import { audit } from './audit.js';
import { isFrameDirty, isLazyFreeFrame } from './frame-marks.js';
import type { Kernel } from './kernel.js';
import { MADV } from './madvise.js';
import { FrameState } from './page-allocator.js';
import type { Process } from './process.js';
import { RECLAIM_POLICY_NAMES } from './reclaim.js';
import { pageOutRange, reclaimFrame } from './swap.js';
import { fiveConfigs, leafPa, type SwapTestEnv, swapTestEnv } from './test-fixtures.js';

const PAGE = 4096n;
const NO_WATERMARKS = { watermarks: { min: 0, low: 0, high: 0 } };

const at = (e: SwapTestEnv, i: number) => e.base + BigInt(i) * PAGE;
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const load = (k: Kernel, p: Process, va: bigint): bigint => {
  const r = k.load(p, va + 16n, 8);
  if (!r.ok) throw new Error(`load killed: ${r.killed}`);
  return BigInt(r.value);
};
const forkOf = (k: Kernel, p: Process): Process => {
  const f = k.fork(p);
  if (!f.ok) throw new Error(f.errno);
  return f.process;
};
const used = (k: Kernel) => k.swapDevices[0]!.usedPages;

for (const c of fiveConfigs(32 * 2 ** 20)) {
  describe(`MADV_FREE and reclaim: '${c.name}'`, () => {
    for (const policy of RECLAIM_POLICY_NAMES)
      it(`${policy}: a lazily freed page written since is activated, not swapped in that pass`, () => {
        const e = swapTestEnv(c, 4, 64, { ...NO_WATERMARKS, reclaimPolicy: policy });
        const { k, p } = e;
        expect(k.madvise(p, e.base, 4 * 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
        for (const i of [1, 3]) expect(k.store(p, at(e, i) + 16n, 8, 0x9000n + BigInt(i)).ok).toBe(true);
        const before = k.vmstat;
        expect(k.reclaim(4)).toBe(2); // pages 0 and 2 dropped
        const after = k.vmstat;
        expect(after.pswpout).toBe(before.pswpout); // nothing written: 1 and 3 were activated
        expect(after.pgactivate - before.pgactivate).toBeGreaterThanOrEqual(2);
        expect(used(k)).toBe(0);
        for (const i of [1, 3]) {
          const pa = leafPa(k, p, at(e, i));
          expect(isLazyFreeFrame(k, pa)).toBe(false); // folio_set_swapbacked
          expect(isFrameDirty(k, pa)).toBe(true); // folio_mark_dirty from the dirty PTE
          expect(k.reclaimer.tracks(k.allocator.frameIndex(pa))).toBe(true); // back on the LRU
        }
        clean(k);
        for (const i of [0, 2]) expect(load(k, p, at(e, i))).toBe(0n);
        for (const i of [1, 3]) expect(load(k, p, at(e, i))).toBe(0x9000n + BigInt(i));
        // Later passes swap them as any written page (PG_dirty: written to the slot).
        k.reclaim(8);
        k.reclaim(8);
        for (const i of [1, 3]) expect(load(k, p, at(e, i))).toBe(0x9000n + BigInt(i));
        clean(k);
      });

    it('two-list: the activated page goes to the active list (folio_activate), flag clear', () => {
      const e = swapTestEnv(c, 4, 64, NO_WATERMARKS);
      const { k, p } = e;
      expect(k.madvise(p, e.base, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
      expect(k.store(p, at(e, 0) + 16n, 8, 0x99n).ok).toBe(true);
      const pa = leafPa(k, p, at(e, 0));
      k.clearPageReferenced(p, at(e, 0)); // not referenced: reclaim's victim at once
      expect(k.reclaim(1)).toBe(1); // page 0 activated, page 1 swapped
      const s = k.reclaimer.policyState()!;
      expect(s.lists.active).toContain(pa);
      expect(s.lists.inactive).not.toContain(pa);
      expect(s.referenced).not.toContain(pa);
      clean(k);
    });

    it('MADV_PAGEOUT: a clean lazily freed page is dropped, a written one activated; neither written', () => {
      const e = swapTestEnv(c, 2, 64, NO_WATERMARKS);
      const { k, p } = e;
      expect(k.madvise(p, e.base, 2 * 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
      expect(k.store(p, at(e, 1) + 16n, 8, 0x77n).ok).toBe(true);
      const before = k.vmstat;
      expect(pageOutRange(k, p.space, vpnOf(at(e, 0)), vpnOf(at(e, 2)))).toBe(1);
      expect(k.vmstat.pswpout).toBe(before.pswpout);
      expect(k.vmstat.pgactivate).toBe(before.pgactivate + 1);
      expect(load(k, p, at(e, 0))).toBe(0n);
      expect(load(k, p, at(e, 1))).toBe(0x77n);
      expect(isFrameDirty(k, leafPa(k, p, at(e, 1)))).toBe(true);
      clean(k);
      // Swap-backed now: the next MADV_PAGEOUT writes it.
      expect(pageOutRange(k, p.space, vpnOf(at(e, 1)), vpnOf(at(e, 2)))).toBe(1);
      expect(k.vmstat.pswpout).toBe(before.pswpout + 1);
      expect(load(k, p, at(e, 1))).toBe(0x77n);
      clean(k);
    });

    it('MADV_FREE skips a swap-cache page mapped twice; mapped once, it frees the slot and marks it', () => {
      const e = swapTestEnv(c, 2, 64);
      const { k, p } = e;
      expect(reclaimFrame(k, leafPa(k, p, at(e, 0)))).toBe(true);
      expect(load(k, p, at(e, 0))).toBe(0x7000n); // read back: in the swap cache, clean PTE
      const child = forkOf(k, p);
      const pa = leafPa(k, p, at(e, 0));
      const pte = k.lookup(p, at(e, 0))!;
      expect(k.madvise(p, e.base, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
      // folio_test_swapcache && folio_mapcount != 1 → continue: PTE, slot and page unchanged.
      expect(k.lookup(p, at(e, 0))).toEqual(pte);
      expect(k.swap.cacheSlotOf(pa)).toBeDefined();
      expect(isLazyFreeFrame(k, pa)).toBe(false);
      clean(k);
      k.exit(child);
      expect(k.madvise(p, e.base, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
      // Mapped once: folio_free_swap (which sets PG_dirty), folio_clear_dirty, folio_mark_lazyfree.
      expect(k.swap.cacheSlotOf(pa)).toBeUndefined();
      expect(used(k)).toBe(0);
      expect(isFrameDirty(k, pa)).toBe(false);
      expect(isLazyFreeFrame(k, pa)).toBe(true);
      clean(k);
      expect(k.discardLazyFree(pa)).toBe(true);
      expect(load(k, p, at(e, 0))).toBe(0n);
      clean(k);
    });

    it('PG_dirty from folio_free_swap keeps a shared page from another process’s MADV_FREE', () => {
      // 5 pages: 4 slots; vm_swap_full when free slots × 2 < 4 (swap-keep.test.ts).
      const e = swapTestEnv(c, 4, 5);
      const { k, p } = e;
      for (let i = 0; i < 3; i++) expect(reclaimFrame(k, leafPa(k, p, at(e, i)))).toBe(true);
      // Read back with swap more than half full: the slot goes (should_try_to_free_swap →
      // folio_free_swap → folio_set_dirty); the PTE is clean, the frame the only copy.
      expect(load(k, p, at(e, 0))).toBe(0x7000n);
      const pa = leafPa(k, p, at(e, 0));
      expect(k.swap.cacheSlotOf(pa)).toBeUndefined();
      expect(isFrameDirty(k, pa)).toBe(true);
      const child = forkOf(k, p);
      const pte = k.lookup(child, at(e, 0))!;
      if (pte.entry.kind !== 'leaf') throw new Error('not mapped');
      expect(k.madvise(p, e.base, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
      // folio_test_dirty && folio_mapcount != 1 → continue.
      expect(isLazyFreeFrame(k, pa)).toBe(false);
      expect(k.discardLazyFree(pa)).toBe(false);
      expect(load(k, child, at(e, 0))).toBe(0x7000n);
      clean(k);
      // Without the flag (as if folio_free_swap had not set it) the advice would mark the page and
      // reclaim would drop the child's only copy: the flag is what keeps it.
      const flags = k.anonExclusive.flags;
      const i = k.allocator.frameIndex(pa);
      flags[i] = flags[i]! & ~PG_DIRTY;
      expect(k.madvise(p, e.base, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
      expect(isLazyFreeFrame(k, pa)).toBe(true);
      expect(k.discardLazyFree(pa)).toBe(true);
      expect(load(k, child, at(e, 0))).toBe(0n); // lost
      clean(k);
    });

    it('audit() catches a lazy-free or PG_dirty mark where none may be', () => {
      const e = swapTestEnv(c, 2, 64);
      const { k, p } = e;
      clean(k);
      const flags = k.anonExclusive.flags;
      const pa = leafPa(k, p, at(e, 0));
      const i = k.allocator.frameIndex(pa);
      flags[i] = flags[i]! | PG_LAZYFREE | PG_DIRTY;
      expect(audit(k).problems.join('\n')).toMatch(/both lazily freed and PG_dirty/);
      flags[i] = flags[i]! & ~(PG_LAZYFREE | PG_DIRTY);
      expect(reclaimFrame(k, pa)).toBe(true);
      expect(load(k, p, at(e, 0))).toBe(0x7000n); // in the swap cache again
      const cached = leafPa(k, p, at(e, 0));
      const j = k.allocator.frameIndex(cached);
      flags[j] = flags[j]! | PG_LAZYFREE;
      expect(audit(k).problems.join('\n')).toMatch(/lazily freed frame .* is in the swap cache/);
      flags[j] = flags[j]! & ~PG_LAZYFREE;
      clean(k);
      let free = -1;
      k.allocator.forEachFrame((f, state) => {
        if (free < 0 && state === FrameState.FREE) free = f;
      });
      const fi = k.allocator.frameIndex(free);
      flags[fi] = flags[fi]! | PG_DIRTY;
      expect(audit(k).problems.join('\n')).toMatch(/PG_dirty mark on frame .* which is not a USER frame/);
      flags[fi] = 0;
      clean(k);
    });
  });
}
