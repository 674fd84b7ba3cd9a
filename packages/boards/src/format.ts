/**
 * Text helpers for memory maps: physical addresses with `_` every four hex
 * digits (as the manuals and QEMU's `info mtree` readers expect them) and
 * byte sizes in binary units.
 */

/**
 * Formats a physical address as `0x4000_0000` (at least 8 hex digits, grouped by 4).
 * Used in `describe()` output and in notes.
 */
export function formatPa(pa: number): string {
  const digits = pa.toString(16).toUpperCase().padStart(8, '0');
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 4) groups.unshift(digits.slice(Math.max(0, end - 4), end));
  return `0x${groups.join('_')}`;
}

/** Formats a byte count as `64 MiB`, `4 KiB`, `1.5 GiB` or `24 B`. */
export function formatSize(bytes: number): string {
  const units: [number, string][] = [
    [2 ** 40, 'TiB'],
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ];
  for (const [unit, name] of units) {
    if (bytes >= unit) {
      const v = bytes / unit;
      return Number.isInteger(v) ? `${v} ${name}` : `${Number(v.toFixed(2))} ${name}`;
    }
  }
  return `${bytes} B`;
}

/** Formats a half-open range as `[0x4000_0000, 0x8000_0000)`. */
export function formatRange(start: number, end: number): string {
  return `[${formatPa(start)}, ${formatPa(end)})`;
}
