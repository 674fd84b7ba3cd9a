import { describe, expect, it } from 'vitest';
import { isMmError } from './errors.js';
import {
  createSwapEntryCodec,
  formatSwapEntry,
  LINUX_SWAP_TYPES,
  type LinuxSwapLayout,
  linuxSwapTypeMeaning,
} from './swap-entry.js';

/** A 64-bit layout with the offset stored inverted in bits 58:9, type 63:59 (x86-64's shape). */
const INVERTED: LinuxSwapLayout = {
  name: 'test inverted',
  descriptorBytes: 8,
  typeShift: 59,
  typeBits: 5,
  offsetShift: 9,
  offsetBits: 50,
  maxOffset: 2 ** 50 - 1,
  invertOffset: true,
  flagBits: { exclusive: 3, softDirty: undefined, uffdWp: undefined },
  zeroBits: [{ name: 'P', bit: 0, meaning: 'not present' }],
};

const code = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return isMmError(e) ? e.code : 'untyped';
  }
};

describe('createSwapEntryCodec', () => {
  it('places fields across the 32-bit halves exactly (offsets up to 2^50 − 1)', () => {
    const c = createSwapEntryCodec(INVERTED);
    // ~1 in 50 bits = 2^50 − 2; << 9 = 0x07FF_FFFF_FFFF_FC00 → hi 0x07FF_FFFF, lo 0xFFFF_FC00.
    expect(c.encode({ type: 0, offset: 1 })).toEqual({ lo: 0xffff_fc00, hi: 0x07ff_ffff });
    expect(c.decode(0xffff_fc00, 0x07ff_ffff, 1)).toEqual({
      type: 0,
      offset: 1,
      exclusive: false,
      softDirty: false,
      uffdWp: false,
    });
    expect(c.decode(0xffff_fc00, 0x07ff_ffff, 2)).toBeUndefined();
    expect(c.decode(0xffff_fc01, 0x07ff_ffff, 1)).toBeUndefined(); // a bit outside the fields
  });
  it('refuses bad layouts and bad entries with typed errors', () => {
    expect(code(() => createSwapEntryCodec(null as never))).toBe('E_INVALID_ARGUMENT');
    expect(code(() => createSwapEntryCodec({ ...INVERTED, offsetBits: 51 }))).toBe('E_RANGE');
    expect(code(() => createSwapEntryCodec({ ...INVERTED, maxOffset: 2 ** 50 }))).toBe('E_RANGE');
    const c = createSwapEntryCodec(INVERTED);
    expect(code(() => c.encode(null as never))).toBe('E_INVALID_ARGUMENT');
    expect(code(() => c.encode({ type: 0, offset: 2 ** 50 - 1 }))).toBe('E_UNREPRESENTABLE'); // all zero
    expect(code(() => c.encode({ type: 0, offset: 1, uffdWp: true }))).toBe('E_UNREPRESENTABLE');
  });
});

describe('linuxSwapTypeMeaning', () => {
  it('tells swap devices from the special types', () => {
    expect(linuxSwapTypeMeaning(0)).toMatch(/^swap device 0/);
    expect(linuxSwapTypeMeaning(LINUX_SWAP_TYPES.maxSwapfiles - 1)).toMatch(/^swap device 22/);
    expect(linuxSwapTypeMeaning(23)).toMatch(/HWPOISON/);
    expect(linuxSwapTypeMeaning(25)).toMatch(/MIGRATION/);
    expect(linuxSwapTypeMeaning(28)).toMatch(/DEVICE/);
    expect(linuxSwapTypeMeaning(31)).toMatch(/PTE_MARKER/);
    expect(code(() => linuxSwapTypeMeaning(32))).toBe('E_RANGE');
  });
});

describe('formatSwapEntry', () => {
  it('names type, offset and the exclusive bit always, the other flags when set', () => {
    expect(formatSwapEntry({ type: 3, offset: 74565 })).toBe(
      'Linux swap entry type 3, offset 74565, not exclusive',
    );
    expect(formatSwapEntry({ type: 0, offset: 1, exclusive: true, softDirty: true, uffdWp: true })).toBe(
      'Linux swap entry type 0, offset 1, exclusive, soft-dirty, uffd-wp',
    );
  });

  it('rejects what is not a swap entry with a typed error', () => {
    for (const bad of [null, 5, { type: 1 }, { type: 0.5, offset: 1 }])
      expect(() => formatSwapEntry(bad as never)).toThrow(/swap entry/);
  });
});
