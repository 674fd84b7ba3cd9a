/**
 * Text formatting shared by every package that prints addresses and sizes:
 * hex grouped by four digits as the manuals print them, and byte sizes in
 * binary units.
 */

import { hex, InvalidArgumentError, MAX_HEX_DIGITS } from './errors.js';

/**
 * Formats a value as hex with `_` every four digits, zero-padded to at least `digits`
 * hex digits: `groupedHex(0x4000_0705n, 16)` → `0x0000_0000_4000_0705`.
 *
 * Negative values are refused (as by `hex`): pass `BigInt.asUintN(64, value)` for a
 * two's-complement view.
 * @throws InvalidArgumentError unless `value` is a non-negative bigint or safe-integer number and
 *   `digits` an integer from 1 to 64 (`MAX_HEX_DIGITS`).
 */
export function groupedHex(value: bigint | number, digits = 1): string {
  if (typeof digits !== 'number' || !Number.isInteger(digits) || digits < 1 || digits > MAX_HEX_DIGITS) {
    throw new InvalidArgumentError('groupedHex digits', digits, `an integer from 1 to ${MAX_HEX_DIGITS}`);
  }
  const s = hex(value, digits).slice(2);
  const groups: string[] = [];
  for (let end = s.length; end > 0; end -= 4) groups.unshift(s.slice(Math.max(0, end - 4), end));
  return `0x${groups.join('_')}`;
}

/**
 * Formats a byte count in binary units: `4 KiB`, `1.5 GiB`, `24 B`.
 * @throws InvalidArgumentError unless `bytes` is a finite non-negative number or a non-negative
 *   bigint (a bigint is shown exactly below 2^53, rounded above).
 */
export function formatSize(bytes: number | bigint): string {
  if (typeof bytes === 'bigint' && bytes >= 0n) bytes = Number(bytes);
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) {
    throw new InvalidArgumentError('byte count', bytes, 'a finite non-negative number or bigint');
  }
  const units: readonly [number, string][] = [
    [2 ** 40, 'TiB'],
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ];
  for (const [unit, name] of units) {
    if (bytes >= unit) {
      const v = bytes / unit;
      return Number.isInteger(v) ? `${v} ${name}` : `${Number(v.toFixed(2))} ${name}`;
    }
  }
  return `${bytes} B`;
}
