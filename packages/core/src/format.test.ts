import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { formatSize, groupedHex } from './format.js';

describe('groupedHex', () => {
  it('groups by four digits and pads', () => {
    expect(groupedHex(0x4000_0705n, 16)).toBe('0x0000_0000_4000_0705');
    expect(groupedHex(0)).toBe('0x0');
    expect(groupedHex(0x12345)).toBe('0x1_2345');
  });

  it('regression: Infinity, NaN, 1.5, negatives and bad widths are InvalidArgumentErrors, not RangeErrors', () => {
    for (const v of [Number.POSITIVE_INFINITY, Number.NaN, 1.5, -1, -1n, 2 ** 53, null, 'x', Symbol('v')]) {
      expect(() => groupedHex(v as number), String(v)).toThrow(InvalidArgumentError);
    }
    expect(() => groupedHex(Number.POSITIVE_INFINITY)).toThrow(
      'hex value: Infinity (not an integer) is invalid; expected a non-negative bigint or safe-integer number',
    );
    expect(() => groupedHex(1, 0)).toThrow(
      /groupedHex digits: 0 is invalid; expected an integer from 1 to 64/,
    );
    expect(() => groupedHex(1, 1e9)).toThrow(InvalidArgumentError);
  });
});

describe('formatSize', () => {
  it('binary units', () => {
    expect(formatSize(24)).toBe('24 B');
    expect(formatSize(4096)).toBe('4 KiB');
    expect(formatSize(1.5 * 2 ** 30)).toBe('1.5 GiB');
    expect(formatSize(2n ** 40n)).toBe('1 TiB');
  });

  it('regression: NaN, negatives and non-numbers are InvalidArgumentErrors (not "NaN B")', () => {
    for (const v of [Number.NaN, -1, Number.POSITIVE_INFINITY, -1n, null, '4096', {}]) {
      expect(() => formatSize(v as number), String(v)).toThrow(InvalidArgumentError);
    }
  });
});
