/**
 * Text helpers for memory maps: physical addresses with `_` every four hex
 * digits (as the manuals and QEMU's `info mtree` readers expect them) and
 * byte sizes in binary units (`formatSize`, from `@mmkit/core`).
 */
import { formatSize, groupedHex } from '@mmkit/core';

export { formatSize };

/**
 * Formats a physical address as `0x4000_0000` (at least 8 hex digits, grouped by 4).
 * Used in `describe()` output and in notes.
 */
export function formatPa(pa: number): string {
  return groupedHex(pa, 8);
}

/** Formats a half-open range as `[0x4000_0000, 0x8000_0000)`. */
export function formatRange(start: number, end: number): string {
  return `[${formatPa(start)}, ${formatPa(end)})`;
}
