/**
 * Text formatting for the CLI: grouped hex, byte sizes, aligned tables.
 */
import type { Styles } from './io.js';

/**
 * Formats a value as hex with `_` every four digits, padded to `digits`
 * hex digits: `0x0040_0000_4000_0705`.
 */
export function groupedHex(value: bigint | number, digits = 1): string {
  const s = BigInt(value).toString(16).toUpperCase().padStart(digits, '0');
  const groups: string[] = [];
  for (let end = s.length; end > 0; end -= 4) groups.unshift(s.slice(Math.max(0, end - 4), end));
  return `0x${groups.join('_')}`;
}

/** Formats a byte count in binary units: `4 KiB`, `2 MiB`, `1 GiB`, `24 B`. */
export function formatBytes(bytes: number): string {
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

/** A table column: header, and an optional style applied after padding. */
export interface Column {
  readonly header: string;
  readonly style?: (text: string) => string;
}

/**
 * Renders rows as a table aligned on plain-text widths (styles are applied
 * after padding, so colour codes never shift columns). Trailing spaces are trimmed.
 */
export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  style: Styles,
): string[] {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[], head: boolean) =>
    cells
      .map((cell, i) => {
        const last = i === cells.length - 1;
        const padded = last ? cell : cell.padEnd(widths[i]!);
        const fn = head ? style.bold : (columns[i]?.style ?? ((t: string) => t));
        return fn(padded);
      })
      .join('  ')
      .trimEnd();
  return [
    render(
      columns.map((c) => c.header),
      true,
    ),
    ...rows.map((r) => render(r, false)),
  ];
}

/** Renders `label value` pairs with the labels padded to one width, indented by two spaces. */
export function formatPairs(pairs: readonly (readonly [string, string])[], style: Styles): string[] {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `  ${style.dim(k.padEnd(width))}  ${v}`);
}
