/**
 * A machine replay's timeline as an SVG image, written by hand in the style of `@mmkit/replay`'s
 * miss-ratio plot: deterministic text (fixed number formats and colours, no dates or ids), so a
 * golden test can pin it. Three panels share the x axis (accesses replayed): resident pages; TLB
 * misses and walks; page faults (minor, major), COW copies and swap I/O — all cumulative but RSS.
 */
import type { MachineReplayResult } from './machine-replay-types.js';

/** Options of {@link formatMachineTimelineSvg}. */
export interface MachineTimelineSvgOptions {
  /** Title line above the plot (default: `machine replay: <accesses> accesses on <board>/<arch>`). */
  readonly title?: string;
  /** Image width in pixels (default 720). */
  readonly width?: number;
}

/** Okabe–Ito colours, as the miss-ratio plot. */
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'];

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const f = (v: number) => (Math.round(v * 100) / 100).toFixed(2);

/** 1234567 → `1.23M`, 4096 → `4.10K`, 12 → `12`. */
function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}K`;
  return String(Math.round(n));
}

interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

/**
 * An SVG timeline of a machine replay (see the module documentation): one line per counter, each
 * panel scaled from 0 to its largest value; a panel's series that stay 0 are listed with `(0)`
 * instead of drawn over the axis. Throws nothing; a result without samples gives empty panels.
 */
export function formatMachineTimelineSvg(
  result: MachineReplayResult,
  options: MachineTimelineSvgOptions = {},
): string {
  const t = result.timeline;
  const width = options.width ?? 720;
  const title =
    options.title ??
    `machine replay: ${result.accesses} accesses on ${result.machine.board}/${result.machine.arch}`;
  const panels: { label: string; series: Series[] }[] = [
    { label: 'resident pages', series: [{ name: 'RSS', values: t.rssPages }] },
    {
      label: 'TLB',
      series: [
        { name: 'TLB misses', values: t.tlbMisses },
        { name: 'walks', values: t.walks },
      ],
    },
    {
      label: 'faults and I/O',
      series: [
        { name: 'minor faults', values: t.minorFaults },
        { name: 'major faults', values: t.majorFaults },
        { name: 'COW copies', values: t.cowCopies },
        { name: 'swap-ins', values: t.swapIns },
        { name: 'swap-outs', values: t.swapOuts },
      ],
    },
  ];
  const left = 70;
  const right = 150;
  const top = 40;
  const panelH = 130;
  const gap = 30;
  const bottom = 45;
  const plotW = width - left - right;
  const height = top + panels.length * panelH + (panels.length - 1) * gap + bottom;
  const xs = t.accesses;
  const xMax = xs.length > 0 ? xs[xs.length - 1]! : 0;
  const xOf = (a: number) => left + (xMax === 0 ? 0 : (a / xMax) * plotW);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img">`,
  );
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${f(left)}" y="24" font-size="14">${esc(title)}</text>`);
  let colour = 0;
  panels.forEach((panel, p) => {
    const y0 = top + p * (panelH + gap);
    const yMax = Math.max(0, ...panel.series.flatMap((s) => s.values));
    const yOf = (v: number) => y0 + panelH - (yMax === 0 ? 0 : (v / yMax) * panelH);
    out.push(`<g stroke="#cccccc" stroke-width="1">`);
    for (let i = 0; i <= 4; i++) {
      const y = y0 + (panelH * i) / 4;
      out.push(`<line x1="${f(left)}" y1="${f(y)}" x2="${f(left + plotW)}" y2="${f(y)}"/>`);
    }
    out.push('</g>');
    out.push(`<g fill="#000000" text-anchor="end">`);
    for (let i = 0; i <= 4; i++) {
      out.push(`<text x="${f(left - 6)}" y="${f(yOf((yMax * i) / 4) + 4)}">${count((yMax * i) / 4)}</text>`);
    }
    out.push('</g>');
    out.push(
      `<path d="M${f(left)} ${f(y0)}V${f(y0 + panelH)}H${f(left + plotW)}" fill="none" stroke="#000000"/>`,
    );
    out.push(
      `<text x="14" y="${f(y0 + panelH / 2)}" text-anchor="middle" transform="rotate(-90 14 ${f(y0 + panelH / 2)})">${esc(panel.label)}</text>`,
    );
    panel.series.forEach((s, i) => {
      const c = COLOURS[colour++ % COLOURS.length]!;
      const zero = s.values.every((v) => v === 0);
      if (!zero && s.values.length > 0) {
        const pts = s.values.map((v, j) => `${f(xOf(xs[j]!))},${f(yOf(v))}`);
        if (pts.length === 1) {
          const [x, y] = pts[0]!.split(',');
          out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${c}"/>`);
        } else out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`);
      }
      const ly = y0 + 10 + i * 18;
      const lx = left + plotW + 16;
      out.push(
        `<line x1="${f(lx)}" y1="${f(ly)}" x2="${f(lx + 20)}" y2="${f(ly)}" stroke="${c}" stroke-width="2"/>`,
      );
      out.push(`<text x="${f(lx + 26)}" y="${f(ly + 4)}">${esc(s.name)}${zero ? ' (0)' : ''}</text>`);
    });
  });
  const axisY = top + panels.length * panelH + (panels.length - 1) * gap;
  out.push(`<g fill="#000000" text-anchor="middle">`);
  for (let i = 0; i <= 4; i++) {
    out.push(`<text x="${f(xOf((xMax * i) / 4))}" y="${f(axisY + 18)}">${count((xMax * i) / 4)}</text>`);
  }
  out.push('</g>');
  out.push(
    `<text x="${f(left + plotW / 2)}" y="${f(height - 10)}" text-anchor="middle">accesses (a sample every ${t.sampleEvery})</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
