/**
 * Text formatting shared by every package that prints addresses and sizes:
 * hex grouped by four digits as the manuals print them, and byte sizes in
 * binary units.
 */

/**
 * Formats a value as hex with `_` every four digits, zero-padded to at least `digits`
 * hex digits: `groupedHex(0x4000_0705n, 16)` → `0x0000_0000_4000_0705`.
 */
export function groupedHex(value: bigint | number, digits = 1): string {
  const s = BigInt(value).toString(16).toUpperCase().padStart(digits, '0');
  const groups: string[] = [];
  for (let end = s.length; end > 0; end -= 4) groups.unshift(s.slice(Math.max(0, end - 4), end));
  return `0x${groups.join('_')}`;
}

/** Formats a byte count in binary units: `4 KiB`, `1.5 GiB`, `24 B`. */
export function formatSize(bytes: number): string {
  const units: readonly [number, string][] = [
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
