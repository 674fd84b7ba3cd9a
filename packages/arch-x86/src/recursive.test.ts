/**
 * Recursive mappings (arch-facts B10): the address formulas, and real tables in
 * simulated RAM with the recursive entry installed, read back through the walker.
 */
import { AddressError, NonCanonicalError, OutOfRangeError, vpnOf, WalkResult } from '@mmkit/core';
import { createWalkHarness } from '@mmkit/testkit';
import { describe, expect, it } from 'vitest';
import { createX86Arch } from './backend.js';
import { recursive4Level, recursive32 } from './recursive.js';

const RWX = { read: true, write: true, execute: true };
const RW_ = { read: true, write: true, execute: false };
const NONE = { read: false, write: false, execute: false };

describe('recursive32 (arch-facts B10)', () => {
  it('B10: slot 1023: PD at 0xFFFF_F000, PT i at 0xFFC0_0000 + i * 4 KiB, PTE of v at 0xFFC0_0000 + (v >> 12) * 4', () => {
    const r = recursive32();
    expect(r.slot).toBe(1023);
    expect(r.pdVa).toBe(0xffff_f000n);
    expect(r.ptVa(0)).toBe(0xffc0_0000n);
    expect(r.ptVa(0x48)).toBe(0xffc4_8000n);
    expect(r.pteVa(0x1234_5000n)).toBe(0xffc4_8d14n);
    expect(r.pteVa(0x1234_5fff)).toBe(0xffc4_8d14n);
    expect(r.pdeVa(0x1234_5000n)).toBe(0xffff_f120n);
    expect(r.pdeVa(0xffff_f000n)).toBe(0xffff_fffcn);
  });

  it('B10: another slot moves the window: slot 768 puts the PD at 0xC030_0000', () => {
    const r = recursive32({ slot: 768 });
    expect(r.pdVa).toBe(0xc030_0000n);
    expect(r.pteVa(0)).toBe(0xc000_0000n);
  });

  it('refuses bad slots, indices and addresses with typed errors', () => {
    expect(() => recursive32({ slot: 1024 })).toThrow(/recursive slot: 1024/);
    expect(() => recursive32().ptVa(-1)).toThrow(/recursive slot: -1/);
    expect(() => recursive32().pteVa(1n << 32n)).toThrow(OutOfRangeError);
    expect(() => recursive32().pteVa(-5)).toThrow(AddressError);
  });

  it('B10: through PDE[1023] = PD | P | R/W, the walker reads each PTE and PDE at those addresses (kernel only)', () => {
    const b = createX86Arch({ mode: 'x86-32' });
    const h = createWalkHarness(b);
    const pd = h.userRoot;
    const rec = recursive32();
    h.memory.write32(pd + 1023 * 4, pd | 0x3); // P | R/W, PS = 0, U/S = 0
    const mappings: [bigint, number, typeof RWX][] = [
      [0x1234_5000n, 0x4080_0000, RWX], // user
      [0xc012_3000n, 0x4090_0000, NONE], // kernel
    ];
    for (const [va, pa, user] of mappings) {
      const attrs = {
        user,
        kernel: RWX,
        global: user === NONE,
        memoryType: 'normal-wb' as const,
        accessed: true,
        dirty: true,
        software: 0,
      };
      expect(
        h.editor.map({
          root: pd,
          vpn: vpnOf(va),
          pa,
          level: 1,
          attrs,
          tableAttrs: b.defaults.userTable,
          source: h.frames,
        }).ok,
      ).toBe(true);
    }
    const out = new WalkResult();
    const read = (va: bigint) => {
      expect(h.mmu.walk(vpnOf(va), 0, 1, out)).toBe(true);
      return out.pfn * 4096 + Number(va & 0xfffn);
    };
    for (const [va] of mappings) {
      const pte = h.editor.lookup(pd, vpnOf(va));
      const pde = h.editor.lookup(pd, vpnOf(va), 2);
      expect(read(rec.pteVa(va))).toBe(pte.descriptorPa);
      expect(h.memory.read32(read(rec.pteVa(va)))).toBe(h.memory.read32(pte.descriptorPa));
      expect(read(rec.pdeVa(va))).toBe(pde.descriptorPa);
      expect(read(rec.ptVa(Number(va >> 22n)))).toBe(pte.descriptorPa & ~0xfff);
    }
    expect(read(rec.pdVa)).toBe(pd);
    // The recursive PDE has no U/S: user code cannot reach the tables.
    expect(h.mmu.walk(vpnOf(rec.pteVa(0x1234_5000n)), 0, 0, out)).toBe(false);
    expect(out.syndrome).toBe(0x5);
  });
});

describe('recursive4Level (arch-facts B10)', () => {
  it('B10: slot 511 puts the PML4 at 0xFFFF_FFFF_FFFF_F000; each level replaces one index with 511', () => {
    const r = recursive4Level();
    const v = 0x0000_7fff_1234_5000n;
    expect(r.pml4Va).toBe(0xffff_ffff_ffff_f000n);
    expect(r.pteVa(v)).toBe(0xffff_ffbf_ff89_1a28n);
    expect(r.pdeVa(v)).toBe(0xffff_ffff_dfff_c488n);
    expect(r.pdpteVa(v)).toBe(0xffff_ffff_ffef_ffe0n);
    expect(r.pml4eVa(v)).toBe(0xffff_ffff_ffff_f7f8n);
    expect(recursive4Level(256).pteVa(v)).toBe(0xffff_803f_ff89_1a28n);
  });

  it('refuses bad slots and non-canonical addresses', () => {
    expect(() => recursive4Level(512)).toThrow(/recursive slot: 512/);
    expect(() => recursive4Level().pteVa(0x0000_8000_0000_0000n)).toThrow(NonCanonicalError);
  });

  it('B10: through PML4E[511] = PML4 | P | R/W, the walker reads the PTE, PDE, PDPTE and PML4E of a VA', () => {
    const b = createX86Arch({ mode: 'x86_64' });
    const h = createWalkHarness(b);
    const pml4 = h.userRoot;
    const rec = recursive4Level();
    h.memory.write64(pml4 + 511 * 8, BigInt(pml4) | 0x3n);
    const mappings: [bigint, number][] = [
      [0x0000_7fff_1234_5000n, 0x4080_0000],
      [0xffff_8000_0040_0000n, 0x4090_0000],
    ];
    for (const [va, pa] of mappings) {
      const user = va < 1n << 47n;
      const attrs = {
        user: user ? RW_ : NONE,
        kernel: RW_,
        global: !user,
        memoryType: 'normal-wb' as const,
        accessed: true,
        dirty: true,
        software: 0,
      };
      const tables = user ? b.defaults.userTable : b.defaults.kernelTable;
      expect(
        h.editor.map({
          root: pml4,
          vpn: vpnOf(va),
          pa,
          level: 1,
          attrs,
          tableAttrs: tables,
          source: h.frames,
        }).ok,
      ).toBe(true);
    }
    const out = new WalkResult();
    const read = (va: bigint) => {
      expect(h.mmu.walk(vpnOf(va), 0, 1, out)).toBe(true);
      return out.pfn * 4096 + Number(va & 0xfffn);
    };
    for (const [va] of mappings) {
      const vpn = vpnOf(va);
      expect(read(rec.pteVa(va))).toBe(h.editor.lookup(pml4, vpn, 1).descriptorPa);
      expect(read(rec.pdeVa(va))).toBe(h.editor.lookup(pml4, vpn, 2).descriptorPa);
      expect(read(rec.pdpteVa(va))).toBe(h.editor.lookup(pml4, vpn, 3).descriptorPa);
      expect(read(rec.pml4eVa(va))).toBe(h.editor.lookup(pml4, vpn, 4).descriptorPa);
      expect(h.memory.read64(read(rec.pteVa(va)))).toBe(
        h.memory.read64(h.editor.lookup(pml4, vpn).descriptorPa),
      );
    }
    expect(read(rec.pml4Va)).toBe(pml4);
  });
});
