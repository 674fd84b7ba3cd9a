import { InvalidArgumentError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { FUZZ_VALUES, fuzzCall } from './fuzz.js';

describe('fuzzCall', () => {
  it('fails on a call that throws a TypeError for some argument list (the harness can fail)', () => {
    expect(() =>
      fuzzCall('f', (a) => {
        if (a.length > 0) (a[0] as { x: { y: number } }).x.y;
      }),
    ).toThrow();
  });

  it('passes a call that returns or throws only MmErrors', () => {
    fuzzCall('g', (a) => {
      if (a.length > 1) throw new InvalidArgumentError('g', a[0], 'nothing');
      return a.length;
    });
  });

  it('its values include the garbage families the standards name', () => {
    for (const v of [null, undefined, 1.5, -1, 2 ** 53]) expect(FUZZ_VALUES).toContain(v);
    expect(FUZZ_VALUES.some((v) => Number.isNaN(v))).toBe(true);
    expect(FUZZ_VALUES.some((v) => typeof v === 'symbol')).toBe(true);
    expect(FUZZ_VALUES.some((v) => typeof v === 'bigint' && v < 0n)).toBe(true);
  });
});
