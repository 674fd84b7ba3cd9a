import { describe, expect, it } from 'vitest';
import { parseSize, parseU64 } from './parse.js';
import { UsageError } from './usage-error.js';

describe('parseU64', () => {
  it('reads hex with underscores, binary and decimal', () => {
    expect(parseU64('0x0040_0000_4000_0705', 'v')).toBe(0x0040_0000_4000_0705n);
    expect(parseU64('0X92000007', 'v')).toBe(0x9200_0007n);
    expect(parseU64('0b1_0000', 'v')).toBe(16n);
    expect(parseU64('1_000', 'v')).toBe(1000n);
    expect(parseU64(' 42 ', 'v')).toBe(42n);
  });

  it('accepts 2^64 - 1 and rejects 2^64 naming the value', () => {
    expect(parseU64('0xFFFF_FFFF_FFFF_FFFF', 'v')).toBe((1n << 64n) - 1n);
    expect(() => parseU64('18446744073709551616', 'descriptor')).toThrow(
      'descriptor "18446744073709551616" does not fit in 64 bits; expected a value at most 0xFFFF_FFFF_FFFF_FFFF',
    );
  });

  it.each(['0xZZ', '', '0x', '-1', '1e3', '0x_1', '0x1__2', '12_', '0b102', '0o17'])('rejects %j', (text) => {
    expect(() => parseU64(text, 'v')).toThrow(UsageError);
  });
});

describe('parseSize', () => {
  it('reads binary units like QEMU -m', () => {
    expect(parseSize('1G', 's')).toBe(2 ** 30);
    expect(parseSize('512M', 's')).toBe(512 * 2 ** 20);
    expect(parseSize('2GiB', 's')).toBe(2 * 2 ** 30);
    expect(parseSize('64kib', 's')).toBe(64 * 1024);
    expect(parseSize('8192', 's')).toBe(8192);
    expect(parseSize('4096B', 's')).toBe(4096);
    expect(parseSize('1T', 's')).toBe(2 ** 40);
  });

  it.each([
    ['1.5G', 'is not a size'],
    ['G', 'is not a size'],
    ['1X', 'is not a size'],
    ['0M', 'is zero'],
    ['1000', 'is not a whole number of pages'],
    ['4096T', 'is too large'],
  ])('rejects %j (%s)', (text, problem) => {
    expect(() => parseSize(text, '--ram')).toThrow(`--ram ${JSON.stringify(text)} ${problem}`);
  });
});
