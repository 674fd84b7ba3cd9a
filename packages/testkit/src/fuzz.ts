/**
 * A fuzz harness for "plain-JS garbage in, a normal return or an MmError out" tests of a package's
 * public API (the backends' exported helpers use it): {@link FUZZ_VALUES} mixes garbage (null, NaN,
 * ±Infinity, fractions, huge and negative bigints, strings, symbols, odd objects) with plausible
 * values of every backend, and {@link fuzzCall} runs a call with 300 random argument lists.
 */
import { describeValue, isMmError } from '@mmkit/core';
import fc from 'fast-check';

/** Plain-JS garbage and plausible values, mixed (same families as core's public-api.fuzz.test.ts). */
export const FUZZ_VALUES: readonly unknown[] = [
  null,
  undefined,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1.5,
  -1,
  2 ** 53,
  2n ** 70n,
  -(2n ** 70n),
  -1n,
  'x',
  Symbol('garbage'),
  {},
  [],
  Object.create(null),
  () => 1,
  true,
  false,
  0,
  1,
  7,
  0x24,
  0xff,
  4096,
  0x4000_0000,
  0n,
  0xff_44_04n,
  'normal-wb',
  'device',
  'constructor',
  'x86_64',
  'x86-32',
  { ha: true, hd: false, wxn: true, pan: false },
  {
    mode: 'x86_64',
    wp: true,
    pse: true,
    pge: true,
    pcid: true,
    smep: false,
    smap: false,
    pke: false,
    nxe: true,
  },
  { pcid: true, maxPhysAddr: 40 },
  { slot: 1023 },
];

/** Random argument lists of up to five values. */
export const fuzzArgs = fc.array(
  fc.oneof(
    { arbitrary: fc.constantFrom(...FUZZ_VALUES), weight: 8 },
    { arbitrary: fc.integer({ min: -5, max: 300 }), weight: 1 },
    { arbitrary: fc.bigInt(), weight: 1 },
    { arbitrary: fc.anything({ maxDepth: 2, withBigInt: true }), weight: 1 },
  ),
  { maxLength: 5 },
);

/** Asserts that `call` returns or throws an MmError for 300 random argument lists. */
export function fuzzCall(label: string, call: (a: unknown[]) => unknown): void {
  fc.assert(
    fc.property(fuzzArgs, (a) => {
      try {
        call(a);
      } catch (e) {
        if (!isMmError(e)) {
          throw new Error(`${label}(${a.map(describeValue).join(', ')}) threw ${String(e)}`);
        }
      }
    }),
    { numRuns: 300 },
  );
}
