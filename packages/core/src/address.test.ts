import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADDRESS_LIMIT,
  alignDown,
  alignUp,
  assertAligned,
  assertCanonical,
  formatRange,
  hi32,
  isAligned,
  isCanonical,
  join64,
  lo32,
  PAGE_SHIFT,
  PAGE_SIZE,
  pageOffsetOf,
  range,
  rangeContains,
  rangeIntersect,
  rangeSize,
  rangesOverlap,
  signExtend,
  split64,
  TWO_32,
  toAddress,
  toPhysical,
  vaOf,
  vpnOf,
} from './address.js';
import { AddressError, AlignmentError, isMmError, NonCanonicalError, OutOfRangeError } from './errors.js';

function caught(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('toAddress', () => {
  it('accepts bigints in [0, 2^64) and safe non-negative numbers', () => {
    expect(toAddress(0n)).toBe(0n);
    expect(toAddress(0xffff_ffff_ffff_ffffn)).toBe(0xffff_ffff_ffff_ffffn);
    expect(toAddress(0)).toBe(0n);
    expect(toAddress(0x4000_0000)).toBe(0x4000_0000n);
    expect(toAddress(Number.MAX_SAFE_INTEGER)).toBe(2n ** 53n - 1n);
  });

  it('rejects negatives with E_ADDRESS and the value in the message', () => {
    const e = caught(() => toAddress(-1));
    expect(e).toBeInstanceOf(AddressError);
    expect(e.code).toBe('E_ADDRESS');
    expect(e.message).toBe(
      'address: -1 is not a valid address; expected a bigint, or a non-negative safe-integer number',
    );
    expect(caught(() => toAddress(-1n, 'va')).message).toBe(
      'va: -0x1 (bigint) is not a valid address; expected an integer in [0, 2^64)',
    );
  });

  it('rejects 2^64 and above', () => {
    const e = caught(() => toAddress(ADDRESS_LIMIT, 'TTBR0_EL1'));
    expect(e.code).toBe('E_ADDRESS');
    expect(e.message).toBe(
      'TTBR0_EL1: 0x10000000000000000 (bigint) is not a valid address; expected an integer in [0, 2^64)',
    );
  });

  it('rejects unsafe numbers (2^53 cannot be told from 2^53 + 1)', () => {
    const e = caught(() => toAddress(2 ** 53));
    expect(e).toBeInstanceOf(AddressError);
    expect(e.message).toContain('9007199254740992 is not a valid address');
  });

  it('rejects non-integers, NaN, Infinity', () => {
    expect(caught(() => toAddress(1.5)).message).toContain('1.5 (not an integer) is not a valid address');
    expect(caught(() => toAddress(Number.NaN)).message).toContain('NaN (not an integer)');
    expect(caught(() => toAddress(Number.POSITIVE_INFINITY)).code).toBe('E_ADDRESS');
  });

  it('rejects strings and other types, quoting strings', () => {
    const e = caught(() => toAddress('0x1000' as never));
    expect(e.code).toBe('E_ADDRESS');
    expect(e.message).toBe('address: "0x1000" is not a valid address; expected a bigint or a number');
    expect(caught(() => toAddress(null as never)).message).toContain('null is not a valid address');
  });
});

describe('toPhysical', () => {
  it('returns a number below 2^paBits', () => {
    expect(toPhysical(0x4000_1000n)).toBe(0x4000_1000);
    expect(toPhysical(2n ** 52n - 1n)).toBe(2 ** 52 - 1);
    expect(toPhysical(0xffff_ffff, 'pa', 32)).toBe(0xffff_ffff);
  });
  it('rejects addresses needing more bits', () => {
    expect(caught(() => toPhysical(2n ** 52n)).message).toContain('expected an address below 2^52');
    expect(caught(() => toPhysical(0x1_0000_0000, 'CR3', 32)).message).toBe(
      'CR3: 4294967296 is not a valid address; expected an address below 2^32',
    );
  });
});

describe('page numbers and offsets', () => {
  it('splits and joins exactly up to 64-bit addresses', () => {
    expect(PAGE_SIZE).toBe(4096);
    expect(PAGE_SHIFT).toBe(12);
    expect(vpnOf(0xffff_ffff_ffff_f123n)).toBe(2 ** 52 - 1);
    expect(pageOffsetOf(0xffff_ffff_ffff_f123n)).toBe(0x123);
    expect(vaOf(2 ** 52 - 1, 0xfff)).toBe(0xffff_ffff_ffff_ffffn);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: ADDRESS_LIMIT - 1n }), (va) => {
        expect(vaOf(vpnOf(va), pageOffsetOf(va))).toBe(va);
      }),
    );
  });

  it('32-bit halves', () => {
    expect(TWO_32).toBe(2 ** 32);
    expect(lo32(0x1_2345_6789)).toBe(0x2345_6789);
    expect(hi32(0x1_2345_6789)).toBe(1);
    expect(hi32(2 ** 53 - 1)).toBe(0x1f_ffff);
    expect(join64(0x8000_0003, 0x0040_0000)).toBe(0x0040_0000_8000_0003n);
    expect(split64(0x0040_0000_4000_0705n)).toEqual([0x4000_0705, 0x0040_0000]);
    expect(join64(-1, -1)).toBe(0xffff_ffff_ffff_ffffn);
  });
});

describe('alignment', () => {
  it('rounds down and up to powers of two', () => {
    expect(alignDown(0x4000_1fffn, 0x1000n)).toBe(0x4000_1000n);
    expect(alignUp(0x4000_1001n, 0x1000n)).toBe(0x4000_2000n);
    expect(alignUp(0x4000_1000n, 0x1000n)).toBe(0x4000_1000n);
    expect(alignUp(0xffff_ffff_ffff_f001n, 0x1000n)).toBe(ADDRESS_LIMIT);
    expect(alignDown(0x2345_6789n, 0x20_0000n)).toBe(0x2340_0000n);
  });

  it('isAligned / assertAligned with an E_ALIGNMENT error naming value and alignment', () => {
    expect(isAligned(0x20_0000n, 0x20_0000n)).toBe(true);
    expect(isAligned(0x20_1000n, 0x20_0000n)).toBe(false);
    expect(() => assertAligned(0x4000_0000n, 0x1000n, 'table')).not.toThrow();
    const e = caught(() => assertAligned(0x4000_0800n, 0x1000n, 'table'));
    expect(e).toBeInstanceOf(AlignmentError);
    expect(e.code).toBe('E_ALIGNMENT');
    expect(e.message).toBe('table: 0x40000800 is not aligned to 0x1000');
  });
});

describe('canonical addresses (x86 48/57-bit, AArch64 without TBI)', () => {
  it('48 bits: bits 63..47 all equal', () => {
    expect(isCanonical(0x0000_7fff_ffff_ffffn, 48)).toBe(true);
    expect(isCanonical(0xffff_8000_0000_0000n, 48)).toBe(true);
    expect(isCanonical(0x0000_8000_0000_0000n, 48)).toBe(false);
    expect(isCanonical(0xffff_7fff_ffff_ffffn, 48)).toBe(false);
    expect(isCanonical(0xfffe_8000_0000_0000n, 48)).toBe(false);
    expect(isCanonical(0n, 48)).toBe(true);
    expect(isCanonical(0xffff_ffff_ffff_ffffn, 48)).toBe(true);
  });

  it('57 bits (LA57): bits 63..56 all equal', () => {
    expect(isCanonical(0x00ff_ffff_ffff_ffffn, 57)).toBe(true);
    expect(isCanonical(0xff00_0000_0000_0000n, 57)).toBe(true);
    expect(isCanonical(0x0100_0000_0000_0000n, 57)).toBe(false);
    expect(isCanonical(0x0000_8000_0000_0000n, 57)).toBe(true); // non-canonical at 48, fine at 57
  });

  it('assertCanonical throws E_NON_CANONICAL with the 16-digit address', () => {
    const e = caught(() => assertCanonical(0x0000_8000_0000_0000n, 48));
    expect(e).toBeInstanceOf(NonCanonicalError);
    expect(e.code).toBe('E_NON_CANONICAL');
    expect(e.message).toBe('virtual address 0x0000800000000000 is not canonical for a 48-bit address space');
  });

  it('signExtend produces canonical addresses', () => {
    expect(signExtend(0x8000_0000_0000n, 48)).toBe(0xffff_8000_0000_0000n);
    expect(signExtend(0x7fff_ffff_f000n, 48)).toBe(0x7fff_ffff_f000n);
    expect(signExtend(0x1ff_ffff_ffff_ffffn, 57)).toBe(0xffff_ffff_ffff_ffffn);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }), (low) => {
        expect(isCanonical(signExtend(low, 48), 48)).toBe(true);
      }),
    );
  });
});

describe('ranges', () => {
  it('range() validates endpoints and allows end = 2^64', () => {
    expect(range(0x1000, 0x3000)).toEqual({ start: 0x1000n, end: 0x3000n });
    expect(range(0xffff_0000_0000_0000n, ADDRESS_LIMIT).end).toBe(ADDRESS_LIMIT);
    const e = caught(() => range(0x3000, 0x1000, 'vma'));
    expect(e).toBeInstanceOf(OutOfRangeError);
    expect(e.code).toBe('E_RANGE');
    expect(e.message).toBe('vma end: 0x1000 (bigint) is out of range; expected an end ≥ start 12288');
    expect(caught(() => range(-1, 10)).message).toContain('range start: -1');
  });

  it('size, containment, overlap (half-open) and intersection', () => {
    const a = range(0x1000, 0x3000);
    const b = range(0x3000, 0x5000);
    const c = range(0x2000, 0x4000);
    expect(rangeSize(a)).toBe(0x2000n);
    expect(rangeContains(a, 0x1000n)).toBe(true);
    expect(rangeContains(a, 0x3000n)).toBe(false);
    expect(rangesOverlap(a, b)).toBe(false);
    expect(rangesOverlap(a, c)).toBe(true);
    expect(rangesOverlap(a, range(0x2000, 0x2000))).toBe(false);
    expect(rangeIntersect(a, c)).toEqual({ start: 0x2000n, end: 0x3000n });
    expect(rangeIntersect(a, b)).toBeUndefined();
    expect(formatRange(range(0x4000_0000, 0xfc00_0000))).toBe('[0x40000000, 0xFC000000)');
  });

  it('errors from address helpers are MmErrors', () => {
    expect(isMmError(caught(() => toAddress(-5)))).toBe(true);
  });
});
