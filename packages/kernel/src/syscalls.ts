/**
 * The syscall-style facade's vocabulary: POSIX/Linux constants and results.
 * Values are Linux's (asm-generic/mman-common.h, x86 and arm64 agree), so traces
 * and test programs can pass real flag words. Also the argument errors every public entry point
 * throws, built so that rendering the offending value can never throw.
 */
import {
  AddressError,
  type AddressInput,
  type ArchBackend,
  describeValue,
  InvalidArgumentError,
  type LeafAttributes,
  MEMORY_TYPES,
  toAddress,
} from '@mmkit/core';

/** `prot` bits (PROT_*). */
export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;

/** `flags` bits (MAP_*), Linux values. */
export const MAP = {
  SHARED: 0x01,
  PRIVATE: 0x02,
  FIXED: 0x10,
  ANONYMOUS: 0x20,
  GROWSDOWN: 0x100,
  POPULATE: 0x8000,
  HUGETLB: 0x4_0000,
  FIXED_NOREPLACE: 0x10_0000,
} as const;

/** `mremap` flags. */
export const MREMAP = { MAYMOVE: 1, FIXED: 2 } as const;

/** errno names the facade returns. */
export type Errno = 'EFAULT' | 'ENOMEM' | 'EINVAL' | 'EEXIST' | 'EACCES' | 'ENOEXEC' | 'E2BIG' | 'EPERM';

/** A syscall result: the value, or an errno with a sentence saying which argument was wrong. */
export type SysResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errno: Errno; readonly detail: string };

/** Builds a failed {@link SysResult}. */
export function fail<T = never>(errno: Errno, detail: string): SysResult<T> {
  return { ok: false, errno, detail };
}

/** Builds a successful {@link SysResult}. */
export function ok<T>(value: T): SysResult<T> {
  return { ok: true, value };
}

/** Formats PROT bits as `rwx` / `r--` / `---`. */
export function protString(prot: number): string {
  if (typeof prot !== 'number' || (prot & 7) !== prot)
    throw invalidArgument('prot', prot, 'PROT_* bits 0..7');
  return `${prot & PROT.READ ? 'r' : '-'}${prot & PROT.WRITE ? 'w' : '-'}${prot & PROT.EXEC ? 'x' : '-'}`;
}

/**
 * Renders any JavaScript value for an error message without throwing (symbols, bigints, objects
 * with a throwing `toString`): core's `describeValue`, so every message renders values alike.
 */
export function showValue(v: unknown): string {
  return describeValue(v);
}

/** A string as it is, anything else as {@link showValue} renders it (for message templates). */
export function plain(v: unknown): string {
  return typeof v === 'string' ? v : showValue(v);
}

/** @throws InvalidArgumentError unless `value` is a function. */
export function checkFunction(what: string, value: unknown): void {
  if (typeof value !== 'function') throw invalidArgument(what, value, 'a function');
}

/** @throws InvalidArgumentError unless `value` is a non-null object. */
export function checkObject(what: string, value: unknown, expected: string): void {
  if (value === null || typeof value !== 'object') throw invalidArgument(what, value, expected);
}

/** True for `{ read, write, execute }` booleans. */
export function isPermissions(p: unknown): boolean {
  const q = p as { read?: unknown; write?: unknown; execute?: unknown } | null;
  return (
    q !== null &&
    typeof q === 'object' &&
    typeof q.read === 'boolean' &&
    typeof q.write === 'boolean' &&
    typeof q.execute === 'boolean'
  );
}

/** @throws InvalidArgumentError unless `attrs` has the shape of `LeafAttributes`. */
export function checkLeafAttributes(what: string, attrs: unknown): LeafAttributes {
  const a = attrs as LeafAttributes | null;
  if (
    a === null ||
    typeof a !== 'object' ||
    !isPermissions(a.user) ||
    !isPermissions(a.kernel) ||
    typeof a.global !== 'boolean' ||
    typeof a.accessed !== 'boolean' ||
    typeof a.dirty !== 'boolean' ||
    !Number.isSafeInteger(a.software) ||
    (a.contiguous !== undefined && typeof a.contiguous !== 'boolean') ||
    !MEMORY_TYPES.includes(a.memoryType)
  )
    throw invalidArgument(what, attrs, 'LeafAttributes (see Kernel.userAttributes)');
  return a;
}

/** @throws InvalidArgumentError unless `arch` looks like a page-table backend. */
export function checkArch(arch: unknown): ArchBackend {
  const a = arch as ArchBackend | null;
  if (
    a === null ||
    typeof a !== 'object' ||
    a.description === null ||
    typeof a.description !== 'object' ||
    a.codec === null ||
    typeof a.codec !== 'object' ||
    a.geometry === null ||
    typeof a.geometry !== 'object'
  )
    throw invalidArgument('arch', arch, 'a page-table backend (ArchBackend)');
  return a;
}

/**
 * @throws InvalidArgumentError unless `kernel` is a kernel (what `bootKernel` returns); the
 * check is structural, so a kernel of another copy of this package passes.
 */
export function checkKernel(kernel: unknown): void {
  const k = kernel as { live?: unknown; allocator?: unknown; arch?: unknown } | null;
  if (
    k === null ||
    typeof k !== 'object' ||
    typeof k.live !== 'function' ||
    k.allocator === null ||
    typeof k.allocator !== 'object' ||
    k.arch === null ||
    typeof k.arch !== 'object'
  )
    throw invalidArgument('kernel', kernel, 'a Kernel (see bootKernel)');
}

/**
 * An {@link InvalidArgumentError} naming the argument, the value and what was expected (core
 * renders any value without throwing; `value` is the value itself).
 */
export function invalidArgument(what: string, value: unknown, expected: string): InvalidArgumentError {
  return new InvalidArgumentError(what, value, expected);
}

/** As {@link invalidArgument}, an {@link AddressError} (code `E_ADDRESS`). */
export function addressError(what: string, value: unknown, expected: string): AddressError {
  return new AddressError(what, value, expected);
}

/**
 * `toAddress` for a value from an untyped caller: a bigint in [0, 2^64) or a non-negative safe
 * integer. @throws AddressError for anything else, with a message that renders any value.
 */
export function checkedAddress(value: unknown, what = 'address'): bigint {
  if (typeof value !== 'bigint' && typeof value !== 'number')
    throw addressError(what, value, 'a bigint or a number');
  return toAddress(value as AddressInput, what);
}
