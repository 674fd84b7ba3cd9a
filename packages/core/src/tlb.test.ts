import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { Tlb } from './tlb.js';

const RW = 0b011011;

/** Caches a 4 KiB page. */
function page(tlb: Tlb, vpn: number, asid: number, global: boolean, pfn: number): number {
  return tlb.fill(vpn, asid, global, pfn, RW, 0, 1, vpn, 1);
}

describe('Tlb construction', () => {
  it('rejects sizes that are not a power of two in [1, 2^20]', () => {
    expect(() => new Tlb(3)).toThrow(InvalidArgumentError);
    expect(() => new Tlb(0)).toThrow('TLB size: 0 is invalid; expected a power of two between 1 and 2^20');
    expect(() => new Tlb(2 ** 21)).toThrow(InvalidArgumentError);
    expect(new Tlb(1).size).toBe(1);
    expect(new Tlb().size).toBe(4096);
  });

  it('starts empty', () => {
    const tlb = new Tlb(16);
    expect(tlb.occupancy).toBe(0);
    expect(tlb.lookup(0, 0)).toBe(-1);
  });
});

describe('Tlb lookup', () => {
  it('hits after a fill and exposes the cached translation in its arrays; counts hits and misses', () => {
    const tlb = new Tlb(64);
    expect(tlb.lookup(0x400, 1)).toBe(-1);
    page(tlb, 0x400, 1, false, 0x4_0123);
    const i = tlb.lookup(0x400, 1);
    expect(i).toBe(0x400 & 63);
    expect(tlb.pfn[i]).toBe(0x4_0123);
    expect(tlb.perms[i]).toBe(RW);
    expect(tlb.stats).toEqual({ hits: 1, misses: 1, fills: 1, invalidations: 0 });
  });

  it('tags by ASID: another ASID misses', () => {
    const tlb = new Tlb(64);
    page(tlb, 0x400, 1, false, 7);
    expect(tlb.lookup(0x400, 2)).toBe(-1);
    expect(tlb.lookup(0x400, 1)).toBeGreaterThanOrEqual(0);
  });

  it('global entries match every ASID', () => {
    const tlb = new Tlb(64);
    page(tlb, 0xf_ffff_0000_0, 0, true, 9);
    expect(tlb.lookup(0xf_ffff_0000_0, 0)).toBeGreaterThanOrEqual(0);
    expect(tlb.lookup(0xf_ffff_0000_0, 123)).toBeGreaterThanOrEqual(0);
  });

  it('is direct-mapped: a page sharing the slot evicts the previous one', () => {
    const tlb = new Tlb(16);
    page(tlb, 0x10, 1, false, 1);
    page(tlb, 0x20, 1, false, 2);
    expect(tlb.lookup(0x10, 1)).toBe(-1);
    expect(tlb.lookup(0x20, 1)).toBe(0);
    expect(tlb.peek(0x20)).toBe(0);
    expect(tlb.peek(0x10)).toBe(-1);
  });

  it('handles 52-bit page numbers (kernel half)', () => {
    const tlb = new Tlb(256);
    const vpn = 2 ** 52 - 3;
    page(tlb, vpn, 0, true, 0x8_0000);
    expect(tlb.pfn[tlb.lookup(vpn, 5)]).toBe(0x8_0000);
    expect(tlb.lookup(vpn - 256, 5)).toBe(-1);
  });
});

describe('Tlb invalidation', () => {
  it('invalidatePage drops the page for its ASID only', () => {
    const tlb = new Tlb(64);
    page(tlb, 0x400, 1, false, 7);
    tlb.invalidatePage(0x400, 2, false, false);
    expect(tlb.lookup(0x400, 1)).toBeGreaterThanOrEqual(0);
    tlb.invalidatePage(0x400, 1, false, false);
    expect(tlb.lookup(0x400, 1)).toBe(-1);
    expect(tlb.stats.invalidations).toBe(1);
  });

  it('invalidatePage with allAsids drops any ASID; globals only when includeGlobal', () => {
    const tlb = new Tlb(64);
    page(tlb, 0x400, 9, false, 7);
    tlb.invalidatePage(0x400, 1, true, false);
    expect(tlb.lookup(0x400, 9)).toBe(-1);
    page(tlb, 0x500, 0, true, 8);
    tlb.invalidatePage(0x500, 0, true, false);
    expect(tlb.lookup(0x500, 3)).toBeGreaterThanOrEqual(0);
    tlb.invalidatePage(0x500, 0, false, true);
    expect(tlb.lookup(0x500, 3)).toBe(-1);
  });

  it('a block cached as 4 KiB pieces is dropped entirely by invalidating any page of it', () => {
    const tlb = new Tlb(4096);
    const blockVpn = 0x4_0200; // a 2 MiB block: 512 pages
    for (const vpn of [blockVpn, blockVpn + 1, blockVpn + 0x1ff]) {
      tlb.fill(vpn, 1, false, 0x8_0000 + (vpn - blockVpn), RW, 0, 2, blockVpn, 512);
    }
    page(tlb, 0x9_9999, 1, false, 1); // unrelated
    expect(tlb.occupancy).toBe(4);
    tlb.invalidatePage(blockVpn + 0x100, 1, false, false); // a page of the block never cached
    expect(tlb.lookup(blockVpn, 1)).toBe(-1);
    expect(tlb.lookup(blockVpn + 1, 1)).toBe(-1);
    expect(tlb.lookup(blockVpn + 0x1ff, 1)).toBe(-1);
    expect(tlb.lookup(0x9_9999, 1)).toBeGreaterThanOrEqual(0);
    expect(tlb.occupancy).toBe(1);
  });

  it('block pieces of another ASID survive a per-ASID page invalidation', () => {
    const tlb = new Tlb(1024);
    tlb.fill(0x200, 2, false, 0x1000, RW, 0, 2, 0x200, 512);
    tlb.invalidatePage(0x250, 1, false, false);
    expect(tlb.lookup(0x200, 2)).toBeGreaterThanOrEqual(0);
  });

  it('evicting a block piece by a fill keeps the block bookkeeping right', () => {
    const tlb = new Tlb(16);
    tlb.fill(0x200, 1, false, 0x1000, RW, 0, 2, 0x200, 512);
    page(tlb, 0x210, 1, false, 5); // same slot (0x210 & 15 === 0): the piece is evicted
    tlb.invalidatePage(0x201, 1, false, false);
    expect(tlb.lookup(0x210, 1)).toBeGreaterThanOrEqual(0);
  });

  it('invalidateAsid keeps globals and other ASIDs', () => {
    const tlb = new Tlb(64);
    page(tlb, 1, 1, false, 1);
    page(tlb, 2, 2, false, 2);
    page(tlb, 3, 1, true, 3);
    tlb.invalidateAsid(1);
    expect(tlb.lookup(1, 1)).toBe(-1);
    expect(tlb.lookup(2, 2)).toBeGreaterThanOrEqual(0);
    expect(tlb.lookup(3, 1)).toBeGreaterThanOrEqual(0);
  });

  it('invalidateNonGlobal drops every ASID but keeps globals', () => {
    const tlb = new Tlb(64);
    page(tlb, 1, 1, false, 1);
    page(tlb, 2, 2, false, 2);
    page(tlb, 3, 0, true, 3);
    tlb.invalidateNonGlobal();
    expect(tlb.occupancy).toBe(1);
    expect(tlb.lookup(3, 7)).toBeGreaterThanOrEqual(0);
  });

  it('invalidateAll drops everything, block pieces included', () => {
    const tlb = new Tlb(64);
    page(tlb, 1, 1, false, 1);
    page(tlb, 3, 0, true, 3);
    tlb.fill(0x200, 1, false, 0x1000, RW, 0, 2, 0x200, 512);
    tlb.invalidateAll();
    expect(tlb.occupancy).toBe(0);
    expect(tlb.stats.invalidations).toBe(3);
    // After everything is gone a page invalidation has nothing to scan for.
    tlb.invalidatePage(0x201, 1, true, true);
    expect(tlb.stats.invalidations).toBe(3);
  });
});
