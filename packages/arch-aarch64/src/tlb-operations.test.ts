import { Tlb } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { aarch64TlbOperations, tlbiVaOperand } from './tlb-operations.js';

const UVPN = Number(0x0000_7fff_1234_5000n >> 12n);
const KVPN = Number(0xffff_0000_0000_1000n >> 12n);

function filled(vpn: number, asid: number, global: boolean): Tlb {
  const tlb = new Tlb(16);
  tlb.fill(vpn, asid, global, 0x4000, 0x3f, 0, 1, vpn, 1);
  return tlb;
}

function run(tlb: Tlb, ...args: Parameters<typeof aarch64TlbOperations>): Tlb {
  for (const op of aarch64TlbOperations(...args)) op.apply(tlb);
  return tlb;
}

describe('TLB maintenance (arch-facts A11)', () => {
  it('A11: the by-VA operand is ASID << 48 | VA[55:12] (Linux __TLBI_VADDR)', () => {
    expect(tlbiVaOperand(UVPN, 5)).toBe(0x0005_0007_fff1_2345n);
    expect(tlbiVaOperand(KVPN, 0)).toBe(0x0000_0ff0_0000_0001n);
  });

  it('A11: non-global pages use TLBI VALE1IS (leaf only) or VAE1IS, one per page', () => {
    const ops = aarch64TlbOperations({
      scope: 'page',
      asid: 5,
      vpns: [UVPN, UVPN + 1],
      global: false,
      leafOnly: true,
    });
    expect(ops.map((o) => [o.name, o.operand])).toEqual([
      ['TLBI VALE1IS', 0x0005_0007_fff1_2345n],
      ['TLBI VALE1IS', 0x0005_0007_fff1_2346n],
    ]);
    const full = aarch64TlbOperations({
      scope: 'page',
      asid: 5,
      vpns: [UVPN],
      global: false,
      leafOnly: false,
    });
    expect(full.map((o) => o.name)).toEqual(['TLBI VAE1IS']);
  });

  it('A11: global pages use TLBI VAALE1IS / VAAE1IS with the ASID field 0', () => {
    const ops = aarch64TlbOperations({ scope: 'page', asid: 5, vpns: [KVPN], global: true, leafOnly: true });
    expect(ops.map((o) => [o.name, o.operand])).toEqual([['TLBI VAALE1IS', 0x0000_0ff0_0000_0001n]]);
    expect(
      aarch64TlbOperations({ scope: 'page', asid: 5, vpns: [KVPN], global: true, leafOnly: false })[0]!.name,
    ).toBe('TLBI VAAE1IS');
  });

  it('A11: VAE1 hits the ASID entry and global entries for the VA, not another ASID', () => {
    const need = { scope: 'page' as const, asid: 5, vpns: [UVPN], global: false, leafOnly: false };
    expect(run(filled(UVPN, 5, false), need).peek(UVPN)).toBe(-1);
    expect(run(filled(UVPN, 9, true), need).peek(UVPN)).toBe(-1);
    expect(run(filled(UVPN, 9, false), need).peek(UVPN)).toBeGreaterThanOrEqual(0);
  });

  it('A11: VAAE1 hits every ASID', () => {
    const need = { scope: 'page' as const, asid: 5, vpns: [UVPN], global: true, leafOnly: false };
    expect(run(filled(UVPN, 9, false), need).peek(UVPN)).toBe(-1);
  });

  it('A11: ASIDE1IS drops only non-global entries of that ASID', () => {
    const need = { scope: 'asid' as const, asid: 5, vpns: [], global: false, leafOnly: false };
    const [op] = aarch64TlbOperations(need);
    expect([op!.name, op!.operand]).toEqual(['TLBI ASIDE1IS', 0x0005_0000_0000_0000n]);
    expect(run(filled(UVPN, 5, false), need).peek(UVPN)).toBe(-1);
    expect(run(filled(UVPN, 5, true), need).peek(UVPN)).toBeGreaterThanOrEqual(0);
    expect(run(filled(UVPN, 6, false), need).peek(UVPN)).toBeGreaterThanOrEqual(0);
  });

  it('A11: VMALLE1IS drops everything; an ASID-wide need that covers global pages also uses it', () => {
    const all = { scope: 'all' as const, asid: 5, vpns: [], global: true, leafOnly: false };
    expect(aarch64TlbOperations(all).map((o) => [o.name, o.operand])).toEqual([
      ['TLBI VMALLE1IS', undefined],
    ]);
    expect(run(filled(KVPN, 0, true), all).occupancy).toBe(0);
    expect(aarch64TlbOperations({ ...all, scope: 'asid' })[0]!.name).toBe('TLBI VMALLE1IS');
  });

  it('refuses a bad ASID, page number or scope', () => {
    expect(() =>
      aarch64TlbOperations({ scope: 'all', asid: 1 << 16, vpns: [], global: false, leafOnly: false }),
    ).toThrow(/ASID/);
    expect(() =>
      aarch64TlbOperations({ scope: 'page', asid: 1, vpns: [-1], global: false, leafOnly: false }),
    ).toThrow(/page number/);
    expect(() =>
      aarch64TlbOperations({ scope: 'bogus' as 'all', asid: 1, vpns: [], global: false, leafOnly: false }),
    ).toThrow(/scope/);
  });
});
