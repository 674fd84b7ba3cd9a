/**
 * Painting the physical frame map: one pixel per 4 KiB frame, one `ImageData` written through a
 * `Uint32Array` view (no per-frame allocation), so an 8 GiB board (2 M frames) paints in a few
 * milliseconds.
 */

/**
 * RGBA colours per frame code (free, reserved, page table, user, kernel, shared, not managed, just
 * swapped out).
 */
export const FRAME_COLOURS: readonly (readonly [number, number, number])[] = [
  [198, 222, 200], // free: pale green
  [120, 120, 120], // reserved: grey
  [230, 126, 34], // page table: orange
  [52, 120, 219], // user: blue
  [142, 68, 173], // kernel: purple
  [231, 76, 60], // shared: red
  [60, 60, 60], // not managed: dark grey
  [241, 196, 15], // just swapped out: yellow
];

/** Columns of the map for `frames` frames: a power of two, at most 1024, near-square. */
export function mapColumns(frames: number): number {
  const side = Math.sqrt(Math.max(1, frames));
  return Math.min(1024, 2 ** Math.ceil(Math.log2(side)));
}

/** Canvas size for `frames` frames. */
export function mapSize(frames: number): { width: number; height: number } {
  const width = mapColumns(frames);
  return { width, height: Math.max(1, Math.ceil(frames / width)) };
}

const PALETTE = (() => {
  // Little-endian RGBA packed as the Uint32 the ImageData buffer holds.
  const p = new Uint32Array(256);
  const bg = (255 << 24) | (30 << 16) | (30 << 8) | 30;
  p.fill(bg >>> 0);
  FRAME_COLOURS.forEach(([r, g, b], i) => {
    p[i] = ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  });
  return p;
})();

/** Writes `codes` into `pixels` (the ImageData's bytes), frame i at pixel i; pixels past the end are background. */
export function paintFrames(codes: Uint8Array, pixels: Uint8ClampedArray): void {
  const out = new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.byteLength >> 2);
  const n = Math.min(codes.length, out.length);
  for (let i = 0; i < n; i++) out[i] = PALETTE[codes[i]!]!;
  out.fill(PALETTE[255]!, n);
}

/** The frame index under a point of a canvas drawn with CSS size `cssW` × `cssH`, or -1. */
export function frameAt(
  x: number,
  y: number,
  cssW: number,
  cssH: number,
  width: number,
  height: number,
  frames: number,
): number {
  const col = Math.floor((x * width) / cssW);
  const row = Math.floor((y * height) / cssH);
  if (col < 0 || col >= width || row < 0 || row >= height) return -1;
  const i = row * width + col;
  return i < frames ? i : -1;
}

/**
 * What part of the frame map the canvas shows: `zoom` canvas pixels per frame-map pixel, and the
 * map pixel (`x`, `y`) at the canvas's top-left corner. At zoom 1 the whole map shows, 1:1.
 */
export interface MapView {
  readonly zoom: number;
  readonly x: number;
  readonly y: number;
}

/** The whole map, unzoomed. */
export const FULL_VIEW: MapView = { zoom: 1, x: 0, y: 0 };

/** The largest zoom: a frame 64 canvas pixels wide. */
export const MAX_ZOOM = 64;

/** Clamps a view to the map: zoom in [1, MAX_ZOOM], the window inside the `width` × `height` map. */
export function clampView(v: MapView, width: number, height: number): MapView {
  const zoom = Math.min(MAX_ZOOM, Math.max(1, v.zoom));
  const x = Math.min(Math.max(0, v.x), width - width / zoom);
  const y = Math.min(Math.max(0, v.y), height - height / zoom);
  return { zoom, x, y };
}

/**
 * Zooms by `factor` keeping the map pixel under canvas point (`cx`, `cy`) (canvas pixels, not CSS
 * pixels) where it is, as a wheel or a pinch does; buttons and keys zoom about the centre.
 */
export function zoomAt(
  v: MapView,
  factor: number,
  cx: number,
  cy: number,
  width: number,
  height: number,
): MapView {
  const zoom = Math.min(MAX_ZOOM, Math.max(1, v.zoom * factor));
  const mx = v.x + cx / v.zoom;
  const my = v.y + cy / v.zoom;
  return clampView({ zoom, x: mx - cx / zoom, y: my - cy / zoom }, width, height);
}

/** Pans the least distance that brings frame `index` into the view. */
export function ensureVisible(v: MapView, index: number, width: number, height: number): MapView {
  const col = index % width;
  const row = Math.floor(index / width);
  const w = width / v.zoom;
  const h = height / v.zoom;
  const x = col < v.x ? col : col + 1 > v.x + w ? col + 1 - w : v.x;
  const y = row < v.y ? row : row + 1 > v.y + h ? row + 1 - h : v.y;
  return clampView({ zoom: v.zoom, x, y }, width, height);
}

/**
 * The frame index under CSS point (`x`, `y`) of a canvas shown `cssW` × `cssH` that draws the
 * `width` × `height` map through `view`, or -1 (outside the map or past the last frame).
 */
export function frameAtView(
  x: number,
  y: number,
  cssW: number,
  cssH: number,
  width: number,
  height: number,
  frames: number,
  view: MapView,
): number {
  if (x < 0 || y < 0 || x >= cssW || y >= cssH) return -1;
  const col = Math.floor(view.x + (x * width) / cssW / view.zoom);
  const row = Math.floor(view.y + (y * height) / cssH / view.zoom);
  if (col < 0 || col >= width || row < 0 || row >= height) return -1;
  const i = row * width + col;
  return i < frames ? i : -1;
}
