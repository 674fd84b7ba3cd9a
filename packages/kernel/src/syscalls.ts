/**
 * The syscall-style facade's vocabulary: POSIX/Linux constants and results.
 * Values are Linux's (asm-generic/mman-common.h, x86 and arm64 agree), so traces
 * and test programs can pass real flag words.
 */

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
export type Errno = 'EFAULT' | 'ENOMEM' | 'EINVAL' | 'EEXIST' | 'EACCES' | 'ENOEXEC' | 'E2BIG';

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
  return `${prot & PROT.READ ? 'r' : '-'}${prot & PROT.WRITE ? 'w' : '-'}${prot & PROT.EXEC ? 'x' : '-'}`;
}

/**
 * Renders any JavaScript value for an error message without throwing (symbols, bigints, objects
 * with a throwing `toString`).
 */
export function showValue(v: unknown): string {
  try {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'symbol') return v.toString();
    if (typeof v === 'function') return 'a function';
    if (v !== null && typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
    return String(v);
  } catch {
    return 'an unprintable value';
  }
}
