/** CSV and JSON renderings of replay results (what `mmkit replay` will print). */
import type { ReplayResult } from './replay.js';

/** Column order of {@link formatResultsCsv}. */
export const RESULT_CSV_HEADER = 'policy,capacity,accesses,hits,misses,miss_ratio';

/**
 * One header line and one line per result, `\n`-terminated; the miss ratio with 6 decimals.
 */
export function formatResultsCsv(results: readonly ReplayResult[]): string {
  const lines = [RESULT_CSV_HEADER];
  for (const r of results) {
    lines.push(`${r.policy},${r.capacity},${r.accesses},${r.hits},${r.misses},${r.missRatio.toFixed(6)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A JSON array of results (full-precision miss ratios), indented by `indent` spaces (default 2). */
export function formatResultsJson(results: readonly ReplayResult[], indent = 2): string {
  return JSON.stringify(
    results.map((r) => ({
      policy: r.policy,
      capacity: r.capacity,
      accesses: r.accesses,
      hits: r.hits,
      misses: r.misses,
      missRatio: r.missRatio,
    })),
    null,
    indent,
  );
}
