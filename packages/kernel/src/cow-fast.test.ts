/**
 * The copy-on-write fault's fast path (cow.ts `breakCowAt`) and its obligation-free one-page
 * invalidation (tlb-shootdown.ts `invalidateUserPage`), which run only without strict TLB mode
 * and without event listeners — so these tests use neither, and check the TLBs by their effect:
 * a translation another CPU cached before the copy must be gone after it. All five
 * configurations; the derived invalidation equals the backend's own operation on random TLBs.
 */
import { Tlb } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { audit } from './audit.js';
import { bootKernel } from './kernel.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs } from './test-fixtures.js';
import { pageInvalidationFlags } from './tlb-shootdown.js';

const CONFIGS = fiveConfigs(32 * 2 ** 20);
const PAGE = 4096n;

describe.each(CONFIGS)('copy-on-write fast path: $name', (c) => {
  it('a child write copies the page with no obligation; a translation another CPU cached is gone', () => {
    const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2 });
    const p = k.createProcess();
    const r = k.mmap(p, 0, 8 * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    if (!r.ok) throw new Error(r.detail);
    for (let i = 0n; i < 8n; i++)
      expect(k.store(p, r.value + i * PAGE, 8, 0x100n + i)).toMatchObject({ ok: true });
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    const child = f.process;
    for (let i = 0n; i < 8n; i++) {
      const va = r.value + i * PAGE;
      // CPU 1 caches the child's read-only translation of the shared frame.
      expect(k.load(child, va, 8, 1)).toMatchObject({ ok: true, value: 0x100n + i });
      const shared = k.lookup(child, va)!;
      const discharge = vi.spyOn(k, 'discharge');
      const free = k.allocator.freeCount;
      expect(k.store(child, va, 8, 0x200n + i, 0)).toMatchObject({ ok: true });
      expect(discharge).not.toHaveBeenCalled(); // the fast path: no obligation
      discharge.mockRestore();
      expect(free - k.allocator.freeCount).toBe(1); // one fresh frame
      const copied = k.lookup(child, va)!;
      expect(copied.descriptorPa).toBe(shared.descriptorPa);
      expect(copied.entry).toMatchObject({ kind: 'leaf', attrs: { user: { write: true } } });
      // A stale entry on CPU 1 would still read the parent's frame.
      expect(k.load(child, va, 8, 1)).toMatchObject({ ok: true, value: 0x200n + i });
      expect(k.load(p, va, 8, 1)).toMatchObject({ ok: true, value: 0x100n + i });
    }
    expect(audit(k).problems).toEqual([]);
    k.exit(child);
    expect(k.store(p, r.value, 8, 1n, 1)).toMatchObject({ ok: true }); // reuse in place
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it('strict TLB mode and event listeners keep the obligation (the ledger verifies it, the event reports it)', () => {
    for (const opts of [{ strictTlb: true }, { listen: true }]) {
      const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: 'strictTlb' in opts });
      const tlbOps: string[] = [];
      if ('listen' in opts) k.events.on((e) => e.type === 'tlb' && tlbOps.push(e.op));
      const p = k.createProcess();
      const r = k.mmap(p, 0, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
      if (!r.ok) throw new Error(r.detail);
      k.store(p, r.value, 8, 1n);
      const f = k.fork(p);
      if (!f.ok) throw new Error(f.errno);
      tlbOps.length = 0;
      const discharge = vi.spyOn(k, 'discharge');
      expect(k.store(f.process, r.value, 8, 2n)).toMatchObject({ ok: true });
      expect(discharge).toHaveBeenCalledTimes(1);
      if ('listen' in opts) expect(tlbOps).toHaveLength(1);
      expect(audit(k).problems).toEqual([]);
    }
  });

  it("the derived one-page invalidation drops exactly what the backend's own operation drops", () => {
    const arch = c.arch();
    const flags = pageInvalidationFlags(arch);
    const maxAsid = arch.description.capabilities.asidBits > 0 ? 3 : 0;
    expect(flags).toBeGreaterThanOrEqual(0);
    const entry = fc.record({
      vpn: fc.integer({ min: 0x1000, max: 0x1003 }),
      asid: fc.integer({ min: 0, max: maxAsid }),
      global: fc.boolean(),
    });
    const fillBoth = (entries: { vpn: number; asid: number; global: boolean }[]): [Tlb, Tlb] => {
      const a = new Tlb(4);
      const b = new Tlb(4);
      for (const e of entries)
        for (const t of [a, b]) t.fill(e.vpn, e.asid, e.global, 0x77, 0x3f, 0, 1, e.vpn, 1);
      return [a, b];
    };
    const same = (a: Tlb, b: Tlb) =>
      [...a.vpn].every((v, i) => v === b.vpn[i] && a.asid[i] === b.asid[i] && a.global[i] === b.global[i]);
    let sensitive = false;
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 8 }),
        fc.integer({ min: 0x1000, max: 0x1003 }),
        fc.integer({ min: 0, max: maxAsid }),
        (entries, vpn, asid) => {
          const [a, b] = fillBoth(entries);
          for (const op of arch.tlbOperations({
            scope: 'page',
            asid,
            vpns: [vpn],
            global: false,
            leafOnly: true,
          }))
            op.apply(a);
          b.invalidatePage(vpn, asid, (flags & 1) !== 0, (flags & 2) !== 0);
          expect(same(a, b)).toBe(true);
          // The comparison can fail: the other flags drop something else on some TLB.
          for (const wrong of maxAsid > 0 ? [flags ^ 1, flags ^ 2] : [flags ^ 2]) {
            const [, w] = fillBoth(entries);
            w.invalidatePage(vpn, asid, (wrong & 1) !== 0, (wrong & 2) !== 0);
            if (!same(a, w)) sensitive = true;
          }
        },
      ),
      { numRuns: 200, seed: 15 },
    );
    expect(sensitive).toBe(true);
  });
});
