import { describe, expect, it } from 'vitest';
import { AARCH64_LINUX_MAIR } from './constants.js';
import { classifyMairAttribute, MairMap, mairAttributeMeaning } from './mair.js';

describe('MAIR_EL1 attributes (arch-facts A8)', () => {
  it.each([
    [0x00, 'device', 'Device-nGnRnE'],
    [0x04, 'device', 'Device-nGnRE'],
    [0x08, 'device', 'Device-nGRE'],
    [0x0c, 'device', 'Device-GRE'],
    [0x44, 'normal-nc', 'Normal, Inner+Outer Non-cacheable'],
    [0xbb, 'normal-wt', 'Normal, Inner+Outer Write-Through non-transient RW-allocate'],
    [0xff, 'normal-wb', 'Normal, Inner+Outer Write-Back non-transient RW-allocate'],
    [0xf0, 'normal-wb', 'Normal Tagged, Inner+Outer Write-Back non-transient RW-allocate (FEAT_MTE2)'],
    [0x4f, 'normal-wb', 'Normal, Inner Write-Back non-transient RW-allocate, Outer Non-cacheable'],
    [0x01, undefined, 'reserved Device encoding (UNPREDICTABLE)'],
    [0x50, undefined, 'reserved Normal encoding (UNPREDICTABLE)'],
  ])('A8: 0x%s is %s (%s)', (byte, type, meaning) => {
    expect(classifyMairAttribute(byte)).toBe(type);
    expect(mairAttributeMeaning(byte)).toBe(meaning);
  });

  it('A8: Linux MAIR_EL1_SET = 0x0000_0004_0044_FFFF: WB 0, NC 2, Device-nGnRE 4, no Write-Through', () => {
    const m = new MairMap(AARCH64_LINUX_MAIR);
    expect([...m.bytes]).toEqual([0xff, 0xff, 0x44, 0x00, 0x04, 0, 0, 0]);
    expect([
      m.indexFor('normal-wb'),
      m.indexFor('normal-nc'),
      m.indexFor('device'),
      m.indexFor('normal-wt'),
    ]).toEqual([0, 2, 4, -1]);
    expect([...m.typeOfIndex]).toEqual([0, 0, 1, 3, 3, 3, 3, 3]);
  });

  it('A8: without Device-nGnRE the first Device attribute is used; a reserved attribute decodes as device', () => {
    const m = new MairMap(0x0000_0000_0000_50ffn);
    expect(m.indexFor('device')).toBe(2);
    expect(m.typeOfIndex[1]).toBe(3);
    expect(m.attribute(1)).toEqual({
      index: 1,
      byte: 0x50,
      meaning: 'reserved Normal encoding (UNPREDICTABLE)',
      memoryType: undefined,
    });
  });

  it('A8: Tagged Normal (0xF0) is used for normal-wb only when no untagged WB attribute exists', () => {
    expect(new MairMap(0x0000_0000_0000_ff_f0n).indexFor('normal-wb')).toBe(1);
    expect(new MairMap(0x0000_0000_0000_00_f0n).indexFor('normal-wb')).toBe(0);
  });

  it('refuses a MAIR that is not a 64-bit unsigned bigint', () => {
    expect(() => new MairMap(-1n)).toThrow(/MAIR_EL1/);
    expect(() => new MairMap(1n << 64n)).toThrow(/MAIR_EL1/);
  });
});
