/**
 * Comparison and formatting helpers for neutral entries and errors.
 */
import { hex, isMmError, type NeutralEntry } from '@mmkit/core';

/**
 * The entry with optional fields made explicit, so that a backend may omit a field the
 * contract marks optional: a leaf's `contiguous` (default false) and a table's `accessed`
 * (default false).
 */
export function normalizeEntry(entry: NeutralEntry): NeutralEntry {
  if (entry.kind === 'leaf')
    return { ...entry, attrs: { ...entry.attrs, contiguous: entry.attrs.contiguous ?? false } };
  if (entry.kind === 'table')
    return { ...entry, attrs: { ...entry.attrs, accessed: entry.attrs.accessed ?? false } };
  return entry;
}

/** Stable JSON with sorted keys; bigints as hex. */
export function stableStringify(value: unknown): string {
  if (typeof value === 'bigint') return JSON.stringify(hex(value));
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    const obj = value as Record<string, unknown>;
    return `{${keys
      .filter((k) => obj[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Structural equality of two neutral entries after {@link normalizeEntry}. */
export function sameEntry(a: NeutralEntry, b: NeutralEntry): boolean {
  return stableStringify(normalizeEntry(a)) === stableStringify(normalizeEntry(b));
}

/** Outcome of calling something that may refuse. */
export type Attempt<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly typed: boolean; readonly code: string; readonly message: string };

/** Runs `fn`, classifying a throw as a typed `MmError` (with its code) or anything else. */
export function attempt<T>(fn: () => T): Attempt<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (isMmError(e)) return { ok: false, typed: true, code: e.code, message: e.message };
    return {
      ok: false,
      typed: false,
      code: '',
      message: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    };
  }
}

/** Formats a raw descriptor for messages. */
export function formatRaw(lo: number, hi: number, bytes: number): string {
  return bytes === 8 ? hex((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), 16) : hex(lo >>> 0, 8);
}

/** Keeps at most `max` problems and says how many were dropped. */
export function capProblems(problems: string[], max = 25): string[] {
  if (problems.length <= max) return problems;
  return [...problems.slice(0, max), `… and ${problems.length - max} more`];
}
