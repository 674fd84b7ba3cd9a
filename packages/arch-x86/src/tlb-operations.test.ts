import { Tlb, type TlbInvalidation } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { createX86Arch } from './backend.js';
import { invpcidDescriptor } from './tlb-operations.js';

const UVPN = Number(0x0000_7fff_1234_5000n >> 12n);
const KVPN = Number(0xffff_8000_0000_1000n >> 12n);

const withPcid = createX86Arch({ mode: 'x86_64' });
const noPcid = createX86Arch({ mode: 'x86_64', pcid: false });
const noPge = createX86Arch({ mode: 'x86-32', pge: false });

function filled(entries: [vpn: number, asid: number, global: boolean][]): Tlb {
  const tlb = new Tlb(16);
  for (const [vpn, asid, global] of entries) tlb.fill(vpn, asid, global, 0x4000, 0x3f, 0, 1, vpn, 1);
  return tlb;
}

function run(backend: typeof withPcid, tlb: Tlb, need: TlbInvalidation): string[] {
  const ops = backend.tlbOperations(need);
  for (const op of ops) op.apply(tlb);
  return ops.map((o) => (o.operand === undefined ? o.name : `${o.name} 0x${o.operand.toString(16)}`));
}

const page = (asid: number, vpns: number[], global: boolean): TlbInvalidation => ({
  scope: 'page',
  asid,
  vpns,
  global,
  leafOnly: true,
});

describe('TLB maintenance (arch-facts B8)', () => {
  it('B8: INVLPG drops the page including a global entry; its operand is the linear address', () => {
    const tlb = filled([[KVPN, 7, true]]);
    expect(run(withPcid, tlb, page(5, [KVPN], true))).toEqual(['INVLPG 0xffff800000001000']);
    expect(tlb.peek(KVPN)).toBe(-1);
  });

  it('B8: without PCIDs a non-global page is also INVLPG (every entry has PCID 0)', () => {
    const tlb = filled([[UVPN, 0, false]]);
    expect(run(noPcid, tlb, page(0, [UVPN], false))).toEqual(['INVLPG 0x7fff12345000']);
    expect(tlb.peek(UVPN)).toBe(-1);
  });

  it('B8: with PCIDs a non-global page is INVPCID type 0 for that PCID: other PCIDs and globals stay', () => {
    const need = page(5, [UVPN], false);
    expect(run(withPcid, filled([[UVPN, 5, false]]), need)).toEqual([
      `INVPCID type 0 0x${invpcidDescriptor(UVPN, 5).toString(16)}`,
    ]);
    expect(invpcidDescriptor(UVPN, 5)).toBe(0x7fff_1234_5000_0000_0000_0000_0005n);
    let tlb = filled([[UVPN, 5, false]]);
    run(withPcid, tlb, need);
    expect(tlb.peek(UVPN)).toBe(-1);
    tlb = filled([[UVPN, 6, false]]);
    run(withPcid, tlb, need);
    expect(tlb.peek(UVPN)).toBeGreaterThanOrEqual(0);
    tlb = filled([[UVPN, 6, true]]);
    run(withPcid, tlb, need);
    expect(tlb.peek(UVPN)).toBeGreaterThanOrEqual(0);
  });

  it('B8: INVPCID type 1 drops the non-global entries of one PCID and keeps globals', () => {
    const need: TlbInvalidation = { scope: 'asid', asid: 5, vpns: [], global: false, leafOnly: false };
    const tlb = filled([
      [UVPN, 5, false],
      [UVPN + 1, 6, false],
      [KVPN, 5, true],
    ]);
    expect(run(withPcid, tlb, need)).toEqual(['INVPCID type 1 0x5']);
    expect([tlb.peek(UVPN), tlb.peek(UVPN + 1) >= 0, tlb.peek(KVPN) >= 0]).toEqual([-1, true, true]);
  });

  it('B8: without PCIDs an ASID-wide need is MOV CR3: non-global entries go, globals stay (PGE)', () => {
    const tlb = filled([
      [UVPN, 0, false],
      [KVPN, 0, true],
    ]);
    expect(run(noPcid, tlb, { scope: 'asid', asid: 0, vpns: [], global: false, leafOnly: false })).toEqual([
      'MOV CR3',
    ]);
    expect([tlb.peek(UVPN), tlb.peek(KVPN) >= 0]).toEqual([-1, true]);
  });

  it('B8: everything: INVPCID type 2 with PCIDs, a CR4.PGE toggle without, MOV CR3 without PGE', () => {
    const all: TlbInvalidation = { scope: 'all', asid: 0, vpns: [], global: true, leafOnly: false };
    for (const [backend, name] of [
      [withPcid, 'INVPCID type 2'],
      [noPcid, 'MOV CR4 (PGE toggle)'],
      [noPge, 'MOV CR3'],
    ] as const) {
      const tlb = filled([
        [UVPN, 0, false],
        [KVPN, 3, true],
      ]);
      expect(run(backend, tlb, all)).toEqual([name]);
      expect(tlb.occupancy).toBe(0);
    }
    // An ASID-wide need that covers global pages needs the full flush too.
    expect(withPcid.tlbOperations({ ...all, scope: 'asid' }).map((o) => o.name)).toEqual(['INVPCID type 2']);
  });

  it('refuses a bad PCID, page number or scope', () => {
    expect(() => withPcid.tlbOperations(page(4096, [1], false))).toThrow(/PCID: 4096/);
    expect(() => noPcid.tlbOperations(page(1, [1], false))).toThrow(/PCIDE = 0/);
    expect(() => withPcid.tlbOperations(page(1, [-1], false))).toThrow(/page number/);
    expect(() =>
      withPcid.tlbOperations({ scope: 'bogus' as 'all', asid: 1, vpns: [], global: false, leafOnly: false }),
    ).toThrow(/scope/);
  });
});
