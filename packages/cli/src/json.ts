/**
 * JSON output: one document, two-space indented, bigints as `0x…` hex strings
 * (upper-case digits, as mmkit prints addresses everywhere).
 */
import { hex } from '@mmkit/core';

/** Serialises `value` for `--json`; bigints become hex strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? hex(v) : v), 2);
}
