/**
 * Exact 64-bit addresses at the API, numbers on hot paths.
 *
 * Public functions accept an {@link AddressInput}: a `bigint`, or a `number`
 * that is a safe non-negative integer. Anything else is an {@link AddressError}.
 * Internally, virtual addresses travel as a virtual page number (`vpn`, at most
 * 52 bits, exact in a double) plus a page offset, and physical addresses as
 * plain numbers (at most 52 bits), so walks and TLB lookups never use BigInt.
 */
import { AddressError, AlignmentError, NonCanonicalError, OutOfRangeError } from './errors.js';

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

/**
 * Converts an API value to a physical address as a number.
 * @throws AddressError if the value is not an address or needs more than `paBits` bits (at most 52).
 */
export function toPhysical(value: AddressInput, what = 'physical address', paBits = 52): number {
  const a = toAddress(value, what);
  if (a >= 1n << BigInt(paBits)) throw new AddressError(what, value, `an address below 2^${paBits}`);
  return Number(a);
}

/** Page number of a 64-bit address (exact: at most 52 bits). */
export function vpnOf(va: bigint): number {
  return Number(va >> 12n);
}

/** Offset of an address within its 4 KiB page. */
export function pageOffsetOf(va: bigint): number {
  return Number(va & 0xfffn);
}

/** Address of page `vpn` (+ `offset`) as a bigint. */
export function vaOf(vpn: number, offset = 0): bigint {
  return (BigInt(vpn) << 12n) | BigInt(offset);
}

/** Rounds down to a multiple of `align` (a power of two). */
export function alignDown(value: bigint, align: bigint): bigint {
  return value & ~(align - 1n);
}

/** Rounds up to a multiple of `align` (a power of two). May return 2^64 for values near the top. */
export function alignUp(value: bigint, align: bigint): bigint {
  return (value + align - 1n) & ~(align - 1n);
}

/** True if `value` is a multiple of `align` (a power of two). */
export function isAligned(value: bigint, align: bigint): boolean {
  return (value & (align - 1n)) === 0n;
}

/** @throws AlignmentError unless `value` is a multiple of `align`. */
export function assertAligned(value: bigint, align: bigint, what: string): void {
  if (!isAligned(value, align)) throw new AlignmentError(what, value, align);
}

/**
 * True if `va` is canonical in a split address space of `vaBits` bits per half
 * (bits 63..vaBits-1 all equal): AArch64 TTBR0/TTBR1 without TBI, x86 48/57-bit.
 */
export function isCanonical(va: bigint, vaBits: number): boolean {
  const top = va >> BigInt(vaBits - 1);
  return top === 0n || top === (1n << BigInt(65 - vaBits)) - 1n;
}

/** @throws NonCanonicalError unless `va` is canonical for `vaBits`. */
export function assertCanonical(va: bigint, vaBits: number): void {
  if (!isCanonical(va, vaBits)) throw new NonCanonicalError(va, vaBits);
}

/** Sign-extends a `vaBits`-bit virtual address to 64 bits. */
export function signExtend(va: bigint, vaBits: number): bigint {
  const mask = (1n << BigInt(vaBits)) - 1n;
  const low = va & mask;
  return (low >> BigInt(vaBits - 1)) & 1n ? low | (ADDRESS_LIMIT - 1n - mask) : low;
}

/** Splits a non-negative safe integer into its low and high 32-bit halves. */
export function lo32(value: number): number {
  return value >>> 0;
}
/** High 32 bits of a non-negative safe integer. */
export function hi32(value: number): number {
  return Math.floor(value / TWO_32) >>> 0;
}
/** Joins two 32-bit halves into a 64-bit bigint. */
export function join64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
/** Splits a 64-bit bigint into [lo, hi] 32-bit halves. */
export function split64(value: bigint): [lo: number, hi: number] {
  return [Number(value & 0xffff_ffffn), Number((value >> 32n) & 0xffff_ffffn)];
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
  const s = toAddress(start, `${what} start`);
  const e = typeof end === 'bigint' && end === ADDRESS_LIMIT ? end : toAddress(end, `${what} end`);
  if (e < s) throw new OutOfRangeError(`${what} end`, e, `an end ≥ start ${s}`);
  return { start: s, end: e };
}

/** Size of a range in bytes. */
export function rangeSize(r: Range): bigint {
  return r.end - r.start;
}
/** True if `addr` lies inside `r`. */
export function rangeContains(r: Range, addr: bigint): boolean {
  return addr >= r.start && addr < r.end;
}
/** True if the two ranges share at least one byte. */
export function rangesOverlap(a: Range, b: Range): boolean {
  return a.start < b.end && b.start < a.end && a.start < a.end && b.start < b.end;
}
/** Intersection of two ranges, or undefined if empty. */
export function rangeIntersect(a: Range, b: Range): Range | undefined {
  // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max does not take them)
  const start = a.start > b.start ? a.start : b.start;
  // biome-ignore lint/complexity/useMathMinMax: bigints
  const end = a.end < b.end ? a.end : b.end;
  return start < end ? { start, end } : undefined;
}
/** Formats a range as `[0x…, 0x…)`. */
export function formatRange(r: Range): string {
  return `[0x${r.start.toString(16).toUpperCase()}, 0x${r.end.toString(16).toUpperCase()})`;
}
