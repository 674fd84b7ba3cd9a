import { describe, expect, it } from 'vitest';
import { FRAME_COLOURS, frameAt, mapColumns, mapSize, paintFrames } from '../src/frame-map.js';

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
