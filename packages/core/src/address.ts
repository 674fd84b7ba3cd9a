/**
 * Exact 64-bit addresses at the API, numbers on hot paths.
 *
 * Public functions accept an {@link AddressInput}: a `bigint`, or a `number`
 * that is a safe non-negative integer. Anything else is an {@link AddressError}.
 * Internally, virtual addresses travel as a virtual page number (`vpn`, at most
 * 52 bits, exact in a double) plus a page offset, and physical addresses as
 * plain numbers (at most 52 bits), so walks and TLB lookups never use BigInt.
 */
import {
  AddressError,
  AlignmentError,
  describeValue,
  InvalidArgumentError,
  NonCanonicalError,
  OutOfRangeError,
} from './errors.js';

/** An address as the API accepts it. */
export type AddressInput = bigint | number;

/** 2^64. */
export const ADDRESS_LIMIT = 1n << 64n;
/** The base page size in bytes (every backend in mmkit uses a 4 KiB base granule). */
export const PAGE_SIZE = 4096;
/** log2 of {@link PAGE_SIZE}. */
export const PAGE_SHIFT = 12;
/** 2^32, for splitting numbers into 32-bit halves. */
export const TWO_32 = 0x1_0000_0000;

/**
 * Converts an API value to an exact unsigned 64-bit address.
 * @throws AddressError for a non-integer, negative, unsafe or ≥ 2^64 value, or a non-number type.
 */
export function toAddress(value: AddressInput, what = 'address'): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value >= ADDRESS_LIMIT) throw new AddressError(what, value, 'an integer in [0, 2^64)');
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new AddressError(what, value, 'a bigint, or a non-negative safe-integer number');
    }
    return BigInt(value);
  }
  throw new AddressError(what, value, 'a bigint or a number');
}

/** {@link toAddress} without the call for the common case (a valid bigint). */
function addr(value: unknown, what: string): bigint {
  return typeof value === 'bigint' && value >= 0n && value < ADDRESS_LIMIT
    ? value
    : toAddress(value as AddressInput, what);
}

/** Validates a width in bits (1 … `max`). */
function bits(what: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(what, value, `an integer from 1 to ${max}`);
  }
  return value;
}

/**
 * Converts an API value to a physical address as a number.
 * @throws AddressError if the value is not an address or needs more than `paBits` bits;
 *   InvalidArgumentError unless `paBits` is an integer from 1 to 53 (the exact range of a double).
 */
export function toPhysical(value: AddressInput, what = 'physical address', paBits = 52): number {
  bits('paBits', paBits, 53);
  const a = toAddress(value, what);
  if (a >= 1n << BigInt(paBits)) throw new AddressError(what, value, `an address below 2^${paBits}`);
  return Number(a);
}

/**
 * Page number of a 64-bit address (exact: at most 52 bits).
 * @throws AddressError unless `va` is a bigint in [0, 2^64) or a non-negative safe-integer number.
 */
export function vpnOf(va: AddressInput): number {
  return Number(addr(va, 'virtual address') >> 12n);
}

/**
 * Offset of an address within its 4 KiB page.
 * @throws AddressError unless `va` is an address (see {@link toAddress}).
 */
export function pageOffsetOf(va: AddressInput): number {
  return Number(addr(va, 'virtual address') & 0xfffn);
}

/**
 * Address of page `vpn` (+ `offset`) as a bigint.
 * @throws InvalidArgumentError unless `vpn` is an integer in [0, 2^52) and `offset` an integer
 *   in [0, 4096).
 */
export function vaOf(vpn: number, offset = 0): bigint {
  if (!Number.isSafeInteger(vpn) || vpn < 0 || vpn >= 2 ** 52) {
    throw new InvalidArgumentError('vpn', vpn, 'an integer page number in [0, 2^52)');
  }
  if (!Number.isInteger(offset) || offset < 0 || offset >= PAGE_SIZE) {
    throw new InvalidArgumentError('page offset', offset, 'an integer in [0, 4096)');
  }
  return (BigInt(vpn) << 12n) | BigInt(offset);
}

/** Validates an alignment: a power of two in [1, 2^64]. */
function alignment(align: unknown): bigint {
  const a = typeof align === 'number' && Number.isSafeInteger(align) ? BigInt(align) : align;
  if (typeof a !== 'bigint' || a < 1n || a > ADDRESS_LIMIT || (a & (a - 1n)) !== 0n) {
    throw new InvalidArgumentError(
      'alignment',
      align,
      'a power of two from 1 to 2^64 (bigint or safe number)',
    );
  }
  return a;
}

/**
 * Rounds down to a multiple of `align` (a power of two).
 * @throws AddressError for a bad `value`, InvalidArgumentError for a bad `align`.
 */
export function alignDown(value: AddressInput, align: AddressInput): bigint {
  return addr(value, 'value') & ~(alignment(align) - 1n);
}

/**
 * Rounds up to a multiple of `align` (a power of two). May return 2^64 for values near the top.
 * @throws AddressError for a bad `value`, InvalidArgumentError for a bad `align`.
 */
export function alignUp(value: AddressInput, align: AddressInput): bigint {
  const a = alignment(align);
  return (addr(value, 'value') + a - 1n) & ~(a - 1n);
}

/**
 * True if `value` is a multiple of `align` (a power of two).
 * @throws AddressError for a bad `value`, InvalidArgumentError for a bad `align`.
 */
export function isAligned(value: AddressInput, align: AddressInput): boolean {
  return (addr(value, 'value') & (alignment(align) - 1n)) === 0n;
}

/**
 * @throws AlignmentError unless `value` is a multiple of `align`; AddressError /
 *   InvalidArgumentError for arguments that are not an address / a power of two.
 */
export function assertAligned(value: AddressInput, align: AddressInput, what: string): void {
  const v = addr(value, what);
  const a = alignment(align);
  if ((v & (a - 1n)) !== 0n) throw new AlignmentError(what, v, a);
}

/**
 * True if `va` is canonical in a split address space of `vaBits` bits per half
 * (bits 63..vaBits-1 all equal): AArch64 TTBR0/TTBR1 without TBI, x86 48/57-bit.
 * @throws AddressError for a bad `va`, InvalidArgumentError unless `vaBits` is 1 … 64.
 */
export function isCanonical(va: AddressInput, vaBits: number): boolean {
  const v = addr(va, 'virtual address');
  const top = v >> BigInt(bits('vaBits', vaBits, 64) - 1);
  return top === 0n || top === (1n << BigInt(65 - vaBits)) - 1n;
}

/**
 * @throws NonCanonicalError unless `va` is canonical for `vaBits`; AddressError /
 *   InvalidArgumentError for bad arguments (see {@link isCanonical}).
 */
export function assertCanonical(va: AddressInput, vaBits: number): void {
  if (!isCanonical(va, vaBits)) throw new NonCanonicalError(addr(va, 'virtual address'), vaBits);
}

/**
 * Sign-extends a `vaBits`-bit virtual address to 64 bits (bits above `vaBits` are ignored).
 * @throws AddressError for a bad `va`, InvalidArgumentError unless `vaBits` is 1 … 64.
 */
export function signExtend(va: AddressInput, vaBits: number): bigint {
  const v = addr(va, 'virtual address');
  const mask = (1n << BigInt(bits('vaBits', vaBits, 64))) - 1n;
  const low = v & mask;
  return (low >> BigInt(vaBits - 1)) & 1n ? low | (ADDRESS_LIMIT - 1n - mask) : low;
}

/**
 * Low 32 bits of a non-negative safe integer (or of a bigint address).
 * @throws AddressError unless `value` is an address (see {@link toAddress}).
 */
export function lo32(value: AddressInput): number {
  if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) return value >>> 0;
  return Number(toAddress(value, 'value') & 0xffff_ffffn);
}
/**
 * High 32 bits of a non-negative safe integer (or of a bigint address).
 * @throws AddressError unless `value` is an address (see {@link toAddress}).
 */
export function hi32(value: AddressInput): number {
  if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) {
    return Math.floor(value / TWO_32) >>> 0;
  }
  return Number((toAddress(value, 'value') >> 32n) & 0xffff_ffffn);
}

function word32(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x8000_0000 || value >= TWO_32) {
    throw new InvalidArgumentError(what, value, 'a 32-bit integer (signed or unsigned)');
  }
  return value >>> 0;
}

/**
 * Joins two 32-bit halves into a 64-bit bigint. Each half may be given signed (as `|` yields it)
 * or unsigned.
 * @throws InvalidArgumentError unless both halves are integers in [-2^31, 2^32).
 */
export function join64(lo: number, hi: number): bigint {
  return (BigInt(word32('high word', hi)) << 32n) | BigInt(word32('low word', lo));
}

/**
 * Splits a 64-bit value into [lo, hi] 32-bit halves. Negative values (down to -2^63) are split
 * as their two's complement.
 * @throws InvalidArgumentError unless `value` is a bigint in [-2^63, 2^64) or a safe-integer number.
 */
export function split64(value: bigint | number): [lo: number, hi: number] {
  const v = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof v !== 'bigint' || v < -(1n << 63n) || v >= ADDRESS_LIMIT) {
    throw new InvalidArgumentError(
      '64-bit value',
      value,
      'a bigint in [-2^63, 2^64) or a safe-integer number',
    );
  }
  return [Number(v & 0xffff_ffffn), Number((v >> 32n) & 0xffff_ffffn)];
}

/** Half-open address range `[start, end)`. `end` may be 2^64. */
export interface Range {
  readonly start: bigint;
  readonly end: bigint;
}

/**
 * Creates a validated half-open range.
 * @throws AddressError for bad endpoints, OutOfRangeError if `end < start`.
 */
export function range(start: AddressInput, end: AddressInput | bigint, what = 'range'): Range {
  const w = typeof what === 'string' ? what : describeValue(what);
  const s = toAddress(start, `${w} start`);
  const e = typeof end === 'bigint' && end === ADDRESS_LIMIT ? end : toAddress(end, `${w} end`);
  if (e < s) throw new OutOfRangeError(`${w} end`, e, `an end ≥ start ${s}`);
  return { start: s, end: e };
}

/** Validates a {@link Range} built by hand: bigint endpoints, 0 ≤ start ≤ end ≤ 2^64. */
function checkRange(r: unknown, what: string): Range {
  if (typeof r === 'object' && r !== null) {
    // Each field is read once, here (a getter may throw or change its answer): callers use the
    // returned snapshot, never `r` again.
    let start: unknown;
    let end: unknown;
    try {
      ({ start, end } = r as Partial<Range>);
    } catch {
      throw new InvalidArgumentError(what, r, 'a range { start, end } whose fields can be read');
    }
    if (
      typeof start === 'bigint' &&
      typeof end === 'bigint' &&
      start >= 0n &&
      start <= end &&
      end <= ADDRESS_LIMIT
    ) {
      return { start, end };
    }
  }
  throw new InvalidArgumentError(what, r, 'a range { start, end } of bigints with 0 ≤ start ≤ end ≤ 2^64');
}

/**
 * Size of a range in bytes.
 * @throws InvalidArgumentError unless `r` is a {@link Range} (bigints, 0 ≤ start ≤ end ≤ 2^64).
 */
export function rangeSize(r: Range): bigint {
  const v = checkRange(r, 'range');
  return v.end - v.start;
}
/**
 * True if `addr` lies inside `r`.
 * @throws InvalidArgumentError for a bad range, AddressError for a bad address.
 */
export function rangeContains(r: Range, address: AddressInput): boolean {
  const v = checkRange(r, 'range');
  const a = addr(address, 'address');
  return a >= v.start && a < v.end;
}
/**
 * True if the two ranges share at least one byte.
 * @throws InvalidArgumentError unless both are ranges.
 */
export function rangesOverlap(first: Range, second: Range): boolean {
  const a = checkRange(first, 'first range');
  const b = checkRange(second, 'second range');
  return a.start < b.end && b.start < a.end && a.start < a.end && b.start < b.end;
}
/**
 * Intersection of two ranges, or undefined if empty.
 * @throws InvalidArgumentError unless both are ranges.
 */
export function rangeIntersect(first: Range, second: Range): Range | undefined {
  const a = checkRange(first, 'first range');
  const b = checkRange(second, 'second range');
  // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max does not take them)
  const start = a.start > b.start ? a.start : b.start;
  // biome-ignore lint/complexity/useMathMinMax: bigints
  const end = a.end < b.end ? a.end : b.end;
  return start < end ? { start, end } : undefined;
}
/**
 * Formats a range as `[0x…, 0x…)`.
 * @throws InvalidArgumentError unless `r` is a range.
 */
export function formatRange(range: Range): string {
  const r = checkRange(range, 'range');
  return `[0x${r.start.toString(16).toUpperCase()}, 0x${r.end.toString(16).toUpperCase()})`;
}
