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
  | 'E_NO_PROCESS'
  | 'E_HOST_LIMIT'
  | 'E_TRACE_FORMAT';

const BRAND = Symbol.for('@mmkit/core/MmError');

/** Base class of every mmkit error. Use {@link isMmError} to test across package copies. */
export class MmError extends Error {
  readonly code: MmErrorCode;
  readonly [BRAND] = true;
  /**
   * Never throws: a message that is not a string is rendered with {@link describeValue}, and
   * `options` other than an object are ignored.
   */
  constructor(code: MmErrorCode, message: string, options?: { cause?: unknown }) {
    super(
      typeof message === 'string' ? message : describeValue(message),
      typeof options === 'object' && options !== null ? options : undefined,
    );
    this.code = code;
    this.name = new.target.name;
  }
}

/** True for any `MmError`, also one created by another copy of `@mmkit/core`. */
export function isMmError(value: unknown): value is MmError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Longest zero padding {@link hex} and `groupedHex` accept (a 256-bit value). */
export const MAX_HEX_DIGITS = 64;

/**
 * Formats a non-negative integer as upper-case hex with a `0x` prefix, zero-padded to at least
 * `pad` digits: `hex(0x4000n)` → `0x4000`, `hex(5, 4)` → `0x0005`.
 *
 * Negative values are refused rather than printed as `0x-1`: a negative number has no single hex
 * form without a width. For a two's-complement view pass `BigInt.asUintN(64, value)` (or the
 * width you mean).
 * @throws InvalidArgumentError (code `E_INVALID_ARGUMENT`) unless `value` is a non-negative
 *   bigint or a non-negative safe-integer number, or unless `pad` is an integer from 0 to
 *   {@link MAX_HEX_DIGITS}.
 */
export function hex(value: number | bigint, pad = 0): string {
  checkHexPad('hex pad', pad);
  return `0x${hexDigits('hex value', value).padStart(pad, '0')}`;
}

/**
 * Upper-case hex digits of a non-negative integer (no prefix).
 * @throws InvalidArgumentError for anything but a non-negative bigint or safe-integer number.
 */
function hexDigits(what: string, value: unknown): string {
  if (typeof value === 'bigint') {
    if (value >= 0n) return value.toString(16).toUpperCase();
  } else if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value.toString(16).toUpperCase();
  }
  throw new InvalidArgumentError(
    what,
    value,
    "a non-negative bigint or safe-integer number (for two's complement pass BigInt.asUintN(width, value))",
  );
}

/** Validates a zero-padding width of the hex formatters. */
function checkHexPad(what: string, pad: unknown, min = 0): void {
  if (typeof pad !== 'number' || !Number.isInteger(pad) || pad < min || pad > MAX_HEX_DIGITS) {
    throw new InvalidArgumentError(what, pad, `an integer from ${min} to ${MAX_HEX_DIGITS}`);
  }
}

/** Hex of a valid address, or the safe rendering of anything else (error messages never throw). */
function hexOrShow(value: unknown, pad = 0): string {
  if ((typeof value === 'bigint' && value >= 0n) || (Number.isSafeInteger(value) && (value as number) >= 0)) {
    return `0x${(value as number | bigint).toString(16).toUpperCase().padStart(pad, '0')}`;
  }
  return describeValue(value);
}

const MAX_SHOWN = 120;

function clip(s: string): string {
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN - 1)}…` : s;
}

/**
 * Renders any value for an error message without ever throwing: bigints as hex (negative ones as
 * `-0x…`) with a `(bigint)` tag, numbers in decimal (non-integers tagged), strings quoted, symbols
 * as `Symbol(desc)`, functions by name, arrays and objects as short JSON-like text (at most 120
 * characters). Objects whose conversion throws (null prototype, hostile `toString`) are shown as
 * their `Object.prototype.toString` tag.
 */
export function describeValue(value: unknown): string {
  try {
    switch (typeof value) {
      case 'bigint':
        return value < 0n
          ? `-0x${(-value).toString(16).toUpperCase()} (bigint)`
          : `0x${value.toString(16).toUpperCase()} (bigint)`;
      case 'number':
        return Number.isInteger(value) ? `${value}` : `${value} (not an integer)`;
      case 'string':
        return clip(JSON.stringify(value));
      case 'symbol':
        return clip(value.toString());
      case 'function':
        return `function ${value.name || '(anonymous)'}`;
      case 'undefined':
        return 'undefined';
      case 'boolean':
        return `${value}`;
    }
    if (value === null) return 'null';
    // Bounded: at most two levels deep and 64 values, typed arrays by length only, so a large
    // object graph (a kernel, a physical memory) renders in microseconds, not by walking it all.
    const depth = new WeakMap<object, number>();
    let seen = 0;
    const json = JSON.stringify(value, function (this: object, k: string, v: unknown): unknown {
      if (++seen > 64) return undefined;
      if (typeof v === 'bigint') return `${v}n`;
      if (typeof v === 'symbol') return v.toString();
      if (typeof v === 'function') return `[function ${v.name || '(anonymous)'}]`;
      if (v === null || typeof v !== 'object') return v;
      if (ArrayBuffer.isView(v)) return `[${v.constructor.name}(${v.byteLength} bytes)]`;
      const d = k === '' && !depth.has(this) ? 0 : (depth.get(this) ?? 0) + 1;
      if (d >= 2) return Array.isArray(v) ? '[…]' : '{…}';
      const shown = Array.isArray(v) && v.length > 16 ? [...v.slice(0, 16), '…'] : v;
      depth.set(shown, d);
      return shown;
    });
    if (typeof json === 'string') return clip(json);
    return clip(String(value));
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function show(value: unknown): string {
  return describeValue(value);
}

/** A caller-supplied label (`what`, `arch`, `reason`…) as text, never throwing. */
function label(value: unknown): string {
  return typeof value === 'string' ? value : describeValue(value);
}

/** A value that is not a valid 64-bit address (wrong type, negative, too big, unsafe number). */
export class AddressError extends MmError {
  constructor(
    readonly what: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super('E_ADDRESS', `${label(what)}: ${show(value)} is not a valid address; expected ${label(expected)}`);
  }
}

/** A value that is not aligned as required. */
export class AlignmentError extends MmError {
  constructor(
    readonly what: string,
    readonly value: bigint,
    readonly alignment: bigint,
  ) {
    super('E_ALIGNMENT', `${label(what)}: ${hexOrShow(value)} is not aligned to ${hexOrShow(alignment)}`);
  }
}

/** A value or range outside what is allowed. */
export class OutOfRangeError extends MmError {
  constructor(
    readonly what: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super('E_RANGE', `${label(what)}: ${show(value)} is out of range; expected ${label(expected)}`);
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
      `virtual address ${hexOrShow(va, 16)} is not canonical for a ${label(vaBits)}-bit address space`,
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
    super(
      'E_BUS',
      `bus error: ${label(sizeBytes)}-byte access at physical ${hexOrShow(pa)}: ${label(reason)}`,
    );
  }
}

/** Neutral attributes that the backend cannot encode at that level. */
export class UnrepresentableError extends MmError {
  constructor(
    readonly arch: string,
    readonly level: number,
    readonly reason: string,
  ) {
    super('E_UNREPRESENTABLE', `${label(arch)}: cannot encode at level ${label(level)}: ${label(reason)}`);
  }
}

/** A raw descriptor or syndrome that is malformed for the requested decoding. */
export class DescriptorError extends MmError {
  constructor(
    readonly arch: string,
    readonly value: bigint,
    readonly reason: string,
  ) {
    super('E_DESCRIPTOR', `${label(arch)}: descriptor ${hexOrShow(value, 16)}: ${label(reason)}`);
  }
}

/** The frame allocator has no free frame. Usually returned as a value, not thrown. */
export class NoMemoryError extends MmError {
  constructor(readonly purpose: string) {
    super('E_NO_MEMORY', `out of memory while allocating a frame for ${label(purpose)}`);
  }
}

/** A frame was freed that is already free. */
export class DoubleFreeError extends MmError {
  constructor(readonly pa: number) {
    super('E_DOUBLE_FREE', `double free of frame at physical ${hexOrShow(pa)}`);
  }
}

/** A frame was freed that the allocator does not manage (or that is reserved). */
export class NotOwnedError extends MmError {
  constructor(
    readonly pa: number,
    readonly reason: string,
  ) {
    super(
      'E_NOT_OWNED',
      `free of frame at physical ${hexOrShow(pa)} that the allocator does not own: ${label(reason)}`,
    );
  }
}

/** A map request hit an existing translation. */
export class AlreadyMappedError extends MmError {
  constructor(readonly va: bigint) {
    super('E_ALREADY_MAPPED', `virtual address ${hexOrShow(va, 16)} is already mapped`);
  }
}

/** An unmap or protect hit no translation. */
export class NotMappedError extends MmError {
  constructor(readonly va: bigint) {
    super('E_NOT_MAPPED', `virtual address ${hexOrShow(va, 16)} is not mapped`);
  }
}

/** Any other invalid argument; names the argument, the value and what was expected. */
export class InvalidArgumentError extends MmError {
  constructor(
    readonly what: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super('E_INVALID_ARGUMENT', `${label(what)}: ${show(value)} is invalid; expected ${label(expected)}`);
  }
}

/** Strict TLB mode found a cached translation that no longer matches the page tables. */
export class StaleTlbError extends MmError {
  constructor(
    readonly va: bigint,
    readonly asid: number,
    readonly detail: string,
  ) {
    super(
      'E_STALE_TLB',
      `stale TLB entry used for ${hexOrShow(va, 16)} (ASID ${label(asid)}): ${label(detail)}`,
    );
  }
}

/** `audit()` found a broken invariant. `problems` lists every finding. */
export class AuditError extends MmError {
  constructor(readonly problems: readonly string[]) {
    super('E_AUDIT', auditMessage(problems));
  }
}

function auditMessage(problems: unknown): string {
  if (!Array.isArray(problems)) return `audit failed: ${describeValue(problems)}`;
  return `audit failed with ${problems.length} problem(s):\n  ${problems.map(label).join('\n  ')}`;
}

/**
 * The simulation would need more host memory than it is allowed (or than the host can give):
 * thrown instead of letting Node abort with "heap out of memory". `requestedBytes` is what the
 * operation needed on top of `inUseBytes`; `limitBytes` the configured ceiling.
 */
export class HostLimitError extends MmError {
  constructor(
    readonly what: string,
    readonly requestedBytes: number,
    readonly inUseBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      'E_HOST_LIMIT',
      `${label(what)}: needs ${label(requestedBytes)} more host bytes with ${label(inUseBytes)} in use; ` +
        `the limit is ${label(limitBytes)} bytes (raise PhysicalMemoryOptions.maxHostBytes if the host has room)`,
    );
  }
}
