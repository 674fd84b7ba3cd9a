/**
 * mprotect of a swap-cache page leaves the frame's dirty flag alone, as Linux's
 * `change_pte_range` (mm/mprotect.c) never calls `folio_mark_dirty`: `pte_modify` keeps the PTE's
 * dirty state, and reclaim reads it there (`try_to_unmap_one` → `pte_dirty`). Observable
 * behaviour on all five configurations (strict TLB mode, audit() after each step): a page written
 * before mprotect(PROT_READ / PROT_NONE) is written by reclaim, one only read is dropped without
 * a write and keeps its slot.
 */
import { isLeafDirty } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { isFrameDirty } from './frame-marks.js';
import { reclaimFrame } from './swap.js';
import { PROT } from './syscalls.js';
import { fiveConfigs, leafPa, swapTestEnv } from './test-fixtures.js';

const CONFIGS = fiveConfigs(32 * 2 ** 20);
const PAGE = 4096n;

describe.each(CONFIGS)('mprotect leaves the swap-cache frame’s dirty flag alone: $name', (c) => {
  for (const prot of [PROT.READ, PROT.NONE])
    it(`prot ${prot}: written → reclaim writes it; read only → dropped without a write (frame flag never set)`, () => {
      const { k, p, base } = swapTestEnv(c, 4, 64);
      const hwDirty = k.arch.description.capabilities.hardwareDirty;
      const va = (i: number) => base + BigInt(i) * PAGE;
      // Pages 0 and 1 swapped out and read back: swap-cache pages, clean, keeping their slots.
      for (const i of [0, 1]) {
        expect(reclaimFrame(k, leafPa(k, p, va(i)))).toBe(true);
        expect(k.load(p, va(i) + 16n, 8)).toEqual({ ok: true, value: 0x7000n + BigInt(i) });
      }
      // Page 0 written in place (the CPU sets the dirty bit: no fault, the slot stays).
      expect(k.store(p, va(0) + 16n, 8, 0xd0n)).toMatchObject({ ok: true });
      const pa0 = leafPa(k, p, va(0));
      const pa1 = leafPa(k, p, va(1));
      expect(k.swap.cacheSlotOf(pa0)).toBeDefined();
      expect(k.swap.cacheSlotOf(pa1)).toBeDefined();
      expect(k.mprotect(p, base, 2 * 4096, prot)).toEqual({ ok: true, value: 0 });
      // Linux change_pte_range: only the PTE changes; its dirty state is kept (pte_modify).
      for (const pa of [pa0, pa1]) expect(isFrameDirty(k, pa)).toBe(false); // the PTE alone holds it
      const ref0 = k.lookup(p, va(0))!;
      if (ref0.entry.kind !== 'leaf') throw new Error('not mapped');
      expect(isLeafDirty(k.arch.description, ref0.entry.attrs)).toBe(true);
      expect(audit(k).problems).toEqual([]);
      const out = k.vmstat.pswpout;
      expect(reclaimFrame(k, pa0)).toBe(true);
      expect(k.vmstat.pswpout).toBe(out + 1); // dirty: written to its slot
      expect(reclaimFrame(k, pa1)).toBe(true);
      // Clean where the hardware tracks dirtiness: the slot already holds it, nothing written.
      expect(k.vmstat.pswpout).toBe(out + (hwDirty ? 1 : 2));
      expect(audit(k).problems).toEqual([]);
      expect(k.mprotect(p, base, 2 * 4096, PROT.READ | PROT.WRITE).ok).toBe(true);
      expect(k.load(p, va(0) + 16n, 8)).toEqual({ ok: true, value: 0xd0n });
      expect(k.load(p, va(1) + 16n, 8)).toEqual({ ok: true, value: 0x7001n });
      expect(audit(k).problems).toEqual([]);
      k.exit(p);
      expect(k.allocator.freeCount).toBe(k.baselineFree);
    });
});
