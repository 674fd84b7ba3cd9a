import { describe, expect, it } from 'vitest';
import type { ReplayResult } from './replay.js';
import { formatResultsSvg } from './svg-plot.js';

const r = (policy: string, capacity: number, missRatio: number): ReplayResult => ({
  policy,
  capacity,
  accesses: 100,
  hits: Math.round(100 * (1 - missRatio)),
  misses: Math.round(100 * missRatio),
  missRatio,
});

describe('formatResultsSvg', () => {
  const results = [r('lru', 64, 0.25), r('lru', 4, 0.75), r('a<b', 4, 1), r('lru', 16, 0.5)];

  it('is deterministic, titled, escapes text, one line per policy sorted by size', () => {
    const svg = formatResultsSvg(results, { title: 'x & y' });
    expect(formatResultsSvg(results, { title: 'x & y' })).toBe(svg);
    expect(svg).toContain('<title>x &amp; y</title>');
    expect(svg).toContain('>a&lt;b</text>');
    // log axis (64 ≥ 16 × 4): 4 → x = 60, 16 → halfway, 64 → 510; y = 40 + (1 − ratio) × 310.
    expect(svg).toContain('<polyline points="60.00,117.50 285.00,195.00 510.00,272.50"');
    expect(svg).toContain('cache size (pages, log scale)');
    // One point alone gets a marker, no line.
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(svg).toContain('<circle cx="60.00" cy="40.00" r="3"/>');
  });

  it('uses a linear axis when the sizes span less than 16×', () => {
    const svg = formatResultsSvg([r('fifo', 4, 0.5), r('fifo', 8, 0.25), r('fifo', 6, 0.4)]);
    expect(svg).toContain('cache size (pages)<');
    expect(svg).toContain('<polyline points="60.00,195.00 285.00,226.00 510.00,272.50"');
  });
});
