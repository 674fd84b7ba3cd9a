/**
 * Miss-ratio curves as an SVG image, written by hand: deterministic text (fixed number formats,
 * fixed colours, no dates or ids), so a golden test can pin it byte for byte.
 */
import type { ReplayResult } from './replay.js';

/** Options of {@link formatResultsSvg}. */
export interface SvgPlotOptions {
  /** Title line above the plot (default `miss ratio`). */
  readonly title?: string;
  /** Image width in pixels (default 640). */
  readonly width?: number;
  /** Image height in pixels (default 400). */
  readonly height?: number;
}

/** Okabe–Ito colours (distinguishable with colour-blindness), then two greys. */
const COLOURS = [
  '#0072b2',
  '#d55e00',
  '#009e73',
  '#cc79a7',
  '#e69f00',
  '#56b4e9',
  '#f0e442',
  '#000000',
  '#777777',
  '#bbbbbb',
];

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const f = (v: number) => (Math.round(v * 100) / 100).toFixed(2);

function sizeLabel(pages: number): string {
  if (pages >= 1 << 20 && pages % (1 << 20) === 0) return `${pages / (1 << 20)}Mi`;
  if (pages >= 1024 && pages % 1024 === 0) return `${pages / 1024}Ki`;
  return String(pages);
}

/**
 * An SVG plot of miss ratio (y, 0 to 1) against cache size in pages (x; a log2 axis when the
 * largest size is at least 16 times the smallest), one line with markers per policy in the order
 * the policies first appear, with a legend. Results of one policy are drawn in order of size.
 */
export function formatResultsSvg(results: readonly ReplayResult[], options: SvgPlotOptions = {}): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const title = options.title ?? 'miss ratio';
  const left = 60;
  const right = 130;
  const top = 40;
  const bottom = 50;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const policies: string[] = [];
  const series = new Map<string, ReplayResult[]>();
  for (const r of results) {
    let s = series.get(r.policy);
    if (s === undefined) {
      s = [];
      series.set(r.policy, s);
      policies.push(r.policy);
    }
    s.push(r);
  }
  const sizes = [...new Set(results.map((r) => r.capacity))].sort((a, b) => a - b);
  const lo = sizes[0] ?? 1;
  const hi = sizes[sizes.length - 1] ?? 1;
  const log = hi >= lo * 16;
  const xOf = (c: number): number => {
    if (hi === lo) return left + plotW / 2;
    const t = log ? Math.log2(c / lo) / Math.log2(hi / lo) : (c - lo) / (hi - lo);
    return left + t * plotW;
  };
  const yOf = (ratio: number): number => top + (1 - ratio) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img">`,
  );
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${f(left)}" y="24" font-size="14">${esc(title)}</text>`);
  // Axes, grid and ticks.
  out.push(`<g stroke="#cccccc" stroke-width="1">`);
  for (let i = 0; i <= 5; i++) {
    const y = yOf(i / 5);
    out.push(`<line x1="${f(left)}" y1="${f(y)}" x2="${f(left + plotW)}" y2="${f(y)}"/>`);
  }
  out.push('</g>');
  out.push(`<g fill="#000000" text-anchor="end">`);
  for (let i = 0; i <= 5; i++) {
    out.push(`<text x="${f(left - 6)}" y="${f(yOf(i / 5) + 4)}">${(i / 5).toFixed(1)}</text>`);
  }
  out.push('</g>');
  const ticks = log ? logTicks(lo, hi) : sizes.length <= 8 ? sizes : linearTicks(lo, hi);
  out.push(`<g fill="#000000" text-anchor="middle">`);
  for (const c of ticks) {
    out.push(`<text x="${f(xOf(c))}" y="${f(top + plotH + 18)}">${sizeLabel(c)}</text>`);
  }
  out.push('</g>');
  out.push(
    `<path d="M${f(left)} ${f(top)}V${f(top + plotH)}H${f(left + plotW)}" fill="none" stroke="#000000"/>`,
  );
  out.push(
    `<text x="${f(left + plotW / 2)}" y="${f(height - 12)}" text-anchor="middle">cache size (pages${log ? ', log scale' : ''})</text>`,
  );
  out.push(
    `<text x="16" y="${f(top + plotH / 2)}" text-anchor="middle" transform="rotate(-90 16 ${f(top + plotH / 2)})">miss ratio</text>`,
  );
  // One line per policy.
  policies.forEach((policy, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const points = [...series.get(policy)!].sort((a, b) => a.capacity - b.capacity);
    const coords = points.map((r) => `${f(xOf(r.capacity))},${f(yOf(r.missRatio))}`);
    out.push(`<g stroke="${colour}" fill="${colour}">`);
    if (points.length > 1) {
      out.push(`<polyline points="${coords.join(' ')}" fill="none" stroke-width="2"/>`);
    }
    for (const c of coords) {
      const [x, y] = c.split(',');
      out.push(`<circle cx="${x}" cy="${y}" r="3"/>`);
    }
    out.push('</g>');
    const ly = top + 10 + i * 18;
    const lx = left + plotW + 16;
    out.push(
      `<line x1="${f(lx)}" y1="${f(ly)}" x2="${f(lx + 20)}" y2="${f(ly)}" stroke="${colour}" stroke-width="2"/>`,
    );
    out.push(`<text x="${f(lx + 26)}" y="${f(ly + 4)}">${esc(policy)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const span = Math.log2(hi / lo);
  const step = Math.max(1, Math.ceil(span / 8));
  for (let e = Math.ceil(Math.log2(lo)); 2 ** e <= hi; e += step) ticks.push(2 ** e);
  return ticks;
}

function linearTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let i = 0; i <= 5; i++) ticks.push(Math.round(lo + ((hi - lo) * i) / 5));
  return [...new Set(ticks)];
}
