import { describe, expect, it } from 'vitest';
import {
  clampView,
  ensureVisible,
  FRAME_COLOURS,
  FULL_VIEW,
  frameAt,
  frameAtView,
  MAX_ZOOM,
  mapColumns,
  mapSize,
  paintFrames,
  zoomAt,
} from '../src/frame-map.js';

describe('frame map painting', () => {
  it('paints frame i at pixel i in its state colour, and the rest as background', () => {
    const codes = Uint8Array.from([0, 1, 2, 3, 4, 5, 6]);
    const px = new Uint8ClampedArray(9 * 4);
    paintFrames(codes, px);
    for (let i = 0; i < codes.length; i++) {
      expect([...px.subarray(i * 4, i * 4 + 4)]).toEqual([...FRAME_COLOURS[codes[i]!]!, 255]);
    }
    expect([...px.subarray(7 * 4, 8 * 4)]).toEqual([30, 30, 30, 255]);
    // Repainting after one frame changed changes exactly that pixel.
    const again = new Uint8ClampedArray(px);
    codes[3] = 0;
    paintFrames(codes, again);
    const diff = [...Array(9).keys()].filter(
      (i) => again[i * 4] !== px[i * 4] || again[i * 4 + 2] !== px[i * 4 + 2],
    );
    expect(diff).toEqual([3]);
  });

  it('lays out 2 M frames (an 8 GiB board) as 1024 columns, small maps near square', () => {
    expect(mapSize(2 * 2 ** 20)).toEqual({ width: 1024, height: 2048 });
    expect(mapSize(262144)).toEqual({ width: 512, height: 512 });
    expect(mapColumns(1)).toBe(1);
    expect(mapSize(1000)).toEqual({ width: 32, height: 32 });
  });

  it('finds the frame under a point of a scaled canvas', () => {
    // 512×512 frames drawn at 256×256 CSS pixels: each CSS pixel covers 2×2 frames.
    expect(frameAt(0, 0, 256, 256, 512, 512, 262144)).toBe(0);
    expect(frameAt(10.6, 3.2, 256, 256, 512, 512, 262144)).toBe(6 * 512 + 21);
    expect(frameAt(255.9, 255.9, 256, 256, 512, 512, 262144)).toBe(262143);
    expect(frameAt(255.9, 255.9, 256, 256, 512, 512, 262000)).toBe(-1);
    expect(frameAt(-1, 0, 256, 256, 512, 512, 262144)).toBe(-1);
  });
});

describe('frame map zoom', () => {
  // A 1024 × 512 map (512 Ki frames) shown at 512 × 256 CSS pixels.
  const W = 1024;
  const H = 512;
  const frames = W * H - 100;
  const at = (x: number, y: number, v = FULL_VIEW) => frameAtView(x, y, 512, 256, W, H, frames, v);

  it('at zoom 1 hits the same frame as the unzoomed map, everywhere', () => {
    for (const [x, y] of [
      [0, 0],
      [0.49, 0.49],
      [0.5, 0],
      [100.3, 77.9],
      [511.9, 200],
    ] as [number, number][])
      expect(at(x, y)).toBe(frameAt(x, y, 512, 256, W, H, frames));
    expect(at(511.9, 255.9)).toBe(-1); // past the last frame
    expect(at(-1, 3)).toBe(-1);
    expect(at(512, 3)).toBe(-1);
  });

  it('zoomed in, a CSS point hits the frame under it in the scaled window (every zoom level)', () => {
    for (const zoom of [2, 4, 8, 16, 32, MAX_ZOOM]) {
      const v = clampView({ zoom, x: 300, y: 100 }, W, H);
      // A frame is zoom × 0.5 CSS pixels wide here: the window's top-left frame fills the corner.
      expect(at(0, 0, v)).toBe(100 * W + 300);
      const px = (0.5 * zoom) / 2; // the middle of a frame, in CSS pixels
      expect(at(px, px, v)).toBe(100 * W + 300);
      // One frame to the right and one down.
      expect(at(px + 0.5 * zoom, px + 0.5 * zoom, v)).toBe(101 * W + 301);
      // The same CSS point hits another frame than at zoom 1.
      expect(at(200, 100, v)).not.toBe(at(200, 100));
    }
  });

  it('zooms about a point: the frame under the pointer stays under it', () => {
    const cx = 700.3;
    const cy = 211.7; // canvas pixels
    let v = FULL_VIEW;
    const under = (view: typeof v) => at((cx * 512) / W, (cy * 256) / H, view);
    const before = under(v);
    for (const f of [2, 1.5, 4, 0.5, 8]) {
      v = zoomAt(v, f, cx, cy, W, H);
      expect(under(v)).toBe(before);
    }
    expect(zoomAt(v, 1e6, cx, cy, W, H).zoom).toBe(MAX_ZOOM);
    expect(zoomAt(v, 1e-6, cx, cy, W, H)).toEqual(FULL_VIEW);
  });

  it('keeps the window inside the map and pans to a selected frame', () => {
    expect(clampView({ zoom: 4, x: -5, y: 1e9 }, W, H)).toEqual({ zoom: 4, x: 0, y: H - H / 4 });
    const v = { zoom: 4, x: 0, y: 0 }; // shows columns 0–255, rows 0–127
    expect(ensureVisible(v, 10 * W + 10, W, H)).toEqual(v);
    expect(ensureVisible(v, 10 * W + 300, W, H)).toEqual({ zoom: 4, x: 301 - 256, y: 0 });
    expect(ensureVisible({ zoom: 4, x: 500, y: 200 }, 5 * W + 7, W, H)).toEqual({ zoom: 4, x: 7, y: 5 });
  });
});
