/**
 * Text formatting for the CLI: grouped hex, byte sizes, aligned tables.
 */
import { formatSize, groupedHex } from '@mmkit/core';
import type { Styles } from './io.js';

/** Byte sizes and grouped hex come from `@mmkit/core` (shared with the boards' memory maps). */
export { formatSize as formatBytes, groupedHex };

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
