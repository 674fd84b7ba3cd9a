import { describe, expect, it } from 'vitest';
import { X86_LINUX_PAT, X86_PAT_RESET } from './constants.js';
import { PatMap, patIndexBits, patIndexOf, patTypeMemoryType, patTypeName } from './pat.js';

describe('IA32_PAT (arch-facts B9)', () => {
  it('B9: Linux programs WB, WC, UC-, UC, WB, WP, UC-, WT (arch/x86/mm/pat/memtype.c)', () => {
    const m = new PatMap(X86_LINUX_PAT);
    expect(m.entries.map((e) => e.name)).toEqual(['WB', 'WC', 'UC-', 'UC', 'WB', 'WP', 'UC-', 'WT']);
    expect(m.entries.map((e) => e.memoryType)).toEqual([
      'normal-wb',
      'normal-nc',
      'device',
      'device',
      'normal-wb',
      'normal-wt',
      'device',
      'normal-wt',
    ]);
    expect(X86_LINUX_PAT).toBe(0x0407_0506_0007_0106n);
  });

  it('B9: the lowest index with the preferred type: WB 0, WC 1, UC 3, WT 7', () => {
    const m = new PatMap(X86_LINUX_PAT);
    expect((['normal-wb', 'normal-nc', 'device', 'normal-wt'] as const).map((t) => m.indexFor(t))).toEqual([
      0, 1, 3, 7,
    ]);
    expect(Array.from(m.typeOfIndex)).toEqual([0, 1, 3, 3, 0, 2, 3, 2]);
  });

  it('B9: the power-on PAT (WB, WT, UC-, UC ×2) has no WC; device prefers UC over UC-', () => {
    const m = new PatMap(X86_PAT_RESET);
    expect(m.entries.map((e) => e.name)).toEqual(['WB', 'WT', 'UC-', 'UC', 'WB', 'WT', 'UC-', 'UC']);
    expect(m.indexFor('normal-nc')).toBe(-1);
    expect(m.indexFor('device')).toBe(3);
    expect(m.indexFor('normal-wt')).toBe(1);
    // Only UC- present: device falls back to it.
    expect(new PatMap(0x0606_0606_0607_0606n).indexFor('device')).toBe(2);
  });

  it('B9: PAT index = PAT * 4 + PCD * 2 + PWT, PAT at bit 7 (4 KiB) or 12 (large pages)', () => {
    for (let i = 0; i < 8; i++) {
      expect(patIndexOf(patIndexBits(i, false), false)).toBe(i);
      expect(patIndexOf(patIndexBits(i, true), true)).toBe(i);
    }
    expect(patIndexBits(7, false)).toBe(0x98);
    expect(patIndexBits(7, true)).toBe(0x1018);
    expect(patIndexOf(0x80, true)).toBe(0); // bit 7 is PS in a large page
  });

  it('refuses reserved memory types in any byte (a WRMSR would #GP)', () => {
    expect(() => new PatMap(0x0200_0000_0000_0006n)).toThrow(/IA32_PAT.PA7: 2/);
    expect(() => new PatMap(-1n)).toThrow(/64-bit unsigned/);
    expect([2, 3, 8].map(patTypeMemoryType)).toEqual([undefined, undefined, undefined]);
    expect(patTypeName(3)).toBe('reserved (3)');
  });
});
