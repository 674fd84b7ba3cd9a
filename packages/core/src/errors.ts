/**
 * The `MmError` family. Every error mmkit throws or returns is an `MmError`
 * with a stable `code` (never change a published code) and the offending
 * values as fields, so callers can branch on `code` and people can read
 * `message`.
 *
 * Expected outcomes on hot paths (not mapped, out of memory) are returned as
 * values; these classes are thrown for misuse (bad arguments, broken
 * invariants) and returned where an API documents an error result.
 */

/** Stable error codes. */
export type MmErrorCode =
  | 'E_ADDRESS'
  | 'E_ALIGNMENT'
  | 'E_RANGE'
  | 'E_NON_CANONICAL'
  | 'E_BUS'
  | 'E_UNREPRESENTABLE'
  | 'E_DESCRIPTOR'
  | 'E_NO_MEMORY'
  | 'E_DOUBLE_FREE'
  | 'E_NOT_OWNED'
  | 'E_ALREADY_MAPPED'
  | 'E_NOT_MAPPED'
  | 'E_INVALID_ARGUMENT'
  | 'E_STALE_TLB'
  | 'E_UNDISCHARGED_FLUSH'
  | 'E_BREAK_BEFORE_MAKE'
  | 'E_AUDIT'
  | 'E_EFAULT'
  | 'E_NO_PROCESS';

const BRAND = Symbol.for('@mmkit/core/MmError');

/** Base class of every mmkit error. Use {@link isMmError} to test across package copies. */
export class MmError extends Error {
  readonly code: MmErrorCode;
  readonly [BRAND] = true;
  constructor(code: MmErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True for any `MmError`, also one created by another copy of `@mmkit/core`. */
export function isMmError(value: unknown): value is MmError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Formats a value the way error messages show addresses: hex for integers. */
export function hex(value: number | bigint, pad = 0): string {
  const s = (typeof value === 'bigint' ? value : BigInt(value)).toString(16).toUpperCase();
  return `0x${s.padStart(pad, '0')}`;
}

function show(value: unknown): string {
  if (typeof value === 'bigint') return `${hex(value)} (bigint)`;
  if (typeof value === 'number') return Number.isInteger(value) ? `${value}` : `${value} (not an integer)`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/** A value that is not a valid 64-bit address (wrong type, negative, too big, unsafe number). */
export class AddressError extends MmError {
  constructor(
    readonly what: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super('E_ADDRESS', `${what}: ${show(value)} is not a valid address; expected ${expected}`);
  }
}

/** A value that is not aligned as required. */
export class AlignmentError extends MmError {
  constructor(
    readonly what: string,
    readonly value: bigint,
    readonly alignment: bigint,
  ) {
    super('E_ALIGNMENT', `${what}: ${hex(value)} is not aligned to ${hex(alignment)}`);
  }
}

/** A value or range outside what is allowed. */
export class OutOfRangeError extends MmError {
  constructor(
    readonly what: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super('E_RANGE', `${what}: ${show(value)} is out of range; expected ${expected}`);
  }
}

/** A virtual address that is not canonical for the architecture. */
export class NonCanonicalError extends MmError {
  constructor(
    readonly va: bigint,
    readonly vaBits: number,
  ) {
    super(
      'E_NON_CANONICAL',
      `virtual address ${hex(va, 16)} is not canonical for a ${vaBits}-bit address space`,
    );
  }
}

/** A physical access that hit no RAM and no device window. */
export class BusError extends MmError {
  constructor(
    readonly pa: number,
    readonly sizeBytes: number,
    readonly reason: string,
  ) {
    super('E_BUS', `bus error: ${sizeBytes}-byte access at physical ${hex(pa)}: ${reason}`);
  }
}

/** Neutral attributes that the backend cannot encode at that level. */
export class UnrepresentableError extends MmError {
  constructor(
    readonly arch: string,
    readonly level: number,
    readonly reason: string,
  ) {
    super('E_UNREPRESENTABLE', `${arch}: cannot encode at level ${level}: ${reason}`);
  }
}

/** A raw descriptor or syndrome that is malformed for the requested decoding. */
export class DescriptorError extends MmError {
  constructor(
    readonly arch: string,
    readonly value: bigint,
    readonly reason: string,
  ) {
    super('E_DESCRIPTOR', `${arch}: descriptor ${hex(value, 16)}: ${reason}`);
  }
}

/** The frame allocator has no free frame. Usually returned as a value, not thrown. */
export class NoMemoryError extends MmError {
  constructor(readonly purpose: string) {
    super('E_NO_MEMORY', `out of memory while allocating a frame for ${purpose}`);
  }
}

/** A frame was freed that is already free. */
export class DoubleFreeError extends MmError {
  constructor(readonly pa: number) {
    super('E_DOUBLE_FREE', `double free of frame at physical ${hex(pa)}`);
  }
}

/** A frame was freed that the allocator does not manage (or that is reserved). */
export class NotOwnedError extends MmError {
  constructor(
    readonly pa: number,
    readonly reason: string,
  ) {
    super('E_NOT_OWNED', `free of frame at physical ${hex(pa)} that the allocator does not own: ${reason}`);
  }
}

/** A map request hit an existing translation. */
export class AlreadyMappedError extends MmError {
  constructor(readonly va: bigint) {
    super('E_ALREADY_MAPPED', `virtual address ${hex(va, 16)} is already mapped`);
  }
}

/** An unmap or protect hit no translation. */
export class NotMappedError extends MmError {
  constructor(readonly va: bigint) {
    super('E_NOT_MAPPED', `virtual address ${hex(va, 16)} is not mapped`);
  }
}

/** Any other invalid argument; names the argument, the value and what was expected. */
export class InvalidArgumentError extends MmError {
  constructor(
    readonly what: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super('E_INVALID_ARGUMENT', `${what}: ${show(value)} is invalid; expected ${expected}`);
  }
}

/** Strict TLB mode found a cached translation that no longer matches the page tables. */
export class StaleTlbError extends MmError {
  constructor(
    readonly va: bigint,
    readonly asid: number,
    readonly detail: string,
  ) {
    super('E_STALE_TLB', `stale TLB entry used for ${hex(va, 16)} (ASID ${asid}): ${detail}`);
  }
}

/** `audit()` found a broken invariant. `problems` lists every finding. */
export class AuditError extends MmError {
  constructor(readonly problems: readonly string[]) {
    super('E_AUDIT', `audit failed with ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  }
}
