/**
 * Parsers for command-line values. Each returns the parsed value or throws a
 * {@link UsageError} naming the option, the value as typed and what was expected.
 */
import { invalidValue } from './usage-error.js';

const HEX = /^0x[0-9a-f]+(?:_[0-9a-f]+)*$/i;
const BIN = /^0b[01]+(?:_[01]+)*$/i;
const DEC = /^[0-9]+(?:_[0-9]+)*$/;
const U64_LIMIT = 1n << 64n;

/**
 * Parses an unsigned 64-bit integer: hex `0x…`, binary `0b…` or decimal, with
 * single underscores allowed between digits (`0x0040_0000_4000_0705`).
 * @throws UsageError if the text is not such a number, or if the value is ≥ 2^64.
 */
export function parseU64(text: string, what: string): bigint {
  const t = text.trim();
  if (!HEX.test(t) && !BIN.test(t) && !DEC.test(t)) {
    throw invalidValue(
      what,
      text,
      'is not a number',
      'hex (0x…), binary (0b…) or decimal digits, with optional _ between digits',
    );
  }
  const value = BigInt(t.replace(/_/g, ''));
  if (value >= U64_LIMIT) {
    throw invalidValue(what, text, 'does not fit in 64 bits', 'a value at most 0xFFFF_FFFF_FFFF_FFFF');
  }
  return value;
}

const SIZE = /^([0-9]+)\s*(?:([KMGT])(?:i?B)?|B)?$/i;
const UNIT_SHIFT: Readonly<Record<string, number>> = { K: 10, M: 20, G: 30, T: 40 };

/**
 * Parses a memory size: a decimal count with an optional binary unit, as QEMU's
 * `-m` reads it: `512M`, `1G`, `2GiB`, `4096` (bytes), `64KiB`. K/M/G/T are
 * powers of 1024. The size must be a positive whole number of 4 KiB pages below 2^52.
 * @throws UsageError otherwise.
 */
export function parseSize(text: string, what: string): number {
  const m = SIZE.exec(text.trim());
  const expected = 'a size such as 512M, 1G or 2GiB (K/M/G/T = powers of 1024; no unit = bytes)';
  if (!m) throw invalidValue(what, text, 'is not a size', expected);
  const bytes = BigInt(m[1]!) << BigInt(UNIT_SHIFT[(m[2] ?? '').toUpperCase()] ?? 0);
  if (bytes === 0n) throw invalidValue(what, text, 'is zero', 'a positive size');
  if (bytes % 4096n !== 0n)
    throw invalidValue(what, text, 'is not a whole number of pages', 'a multiple of 4 KiB');
  if (bytes >= 1n << 52n) throw invalidValue(what, text, 'is too large', 'a size below 4 PiB (2^52 bytes)');
  return Number(bytes);
}
