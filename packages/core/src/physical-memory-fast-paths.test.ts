/**
 * The hot paths of PhysicalMemory (read32, write32, readPairInFrame, readN, writeN, discardFrame)
 * answer from the cached index node with a few number comparisons. These tests put the cache on
 * the frame under test first (by touching it), then hand each fast path what only its checks
 * stop: a fraction, a value that does not fit, a non-number, a hole between RAM ranges. Each must
 * fail exactly as the general path does, and change nothing.
 */
import { describe, expect, it } from 'vitest';
import { BusError, InvalidArgumentError } from './errors.js';
import { PhysicalMemory } from './physical-memory.js';

const P = 4096;
const BASE = 0x4000_0000;

/** Two RAM ranges with a one-frame hole between them, the first frame of each touched. */
function twoRanges(): PhysicalMemory {
  const m = new PhysicalMemory({
    ram: [
      { name: 'low', start: BASE, end: BASE + 16 * P },
      { name: 'high', start: BASE + 17 * P, end: BASE + 32 * P },
    ],
  });
  m.write32(BASE, 0x1122_3344);
  m.write32(BASE + 17 * P, 0x5566_7788);
  return m;
}

describe('PhysicalMemory fast paths refuse what the general path refuses', () => {
  it('writeN: values that do not fit the size are refused on a touched frame, nothing written', () => {
    const m = twoRanges();
    for (const [size, value] of [
      [1, 256],
      [1, -129],
      [2, 0x1_0000],
      [2, -0x8001],
      [4, 2 ** 32],
      [4, -(2 ** 31) - 1],
      [1, 1.5],
      [1, Number.NaN],
      [4, Number.POSITIVE_INFINITY],
    ] as const) {
      expect(() => m.writeN(BASE + 8, size, value), `${size} ${value}`).toThrow(InvalidArgumentError);
    }
    expect(() => m.writeN(BASE + 8, 3 as never, 1)).toThrow(InvalidArgumentError);
    // A size with no primitive value (the fuzz found the fast path doing arithmetic on it).
    expect(() => m.writeN(BASE + 8, Object.create(null) as never, -1)).toThrow(InvalidArgumentError);
    expect(() => m.writeN(BASE + 8, {} as never, 1)).toThrow(InvalidArgumentError);
    expect(() => m.writeN(BASE + 8, 1, '1' as never)).toThrow(InvalidArgumentError);
    expect(m.readN(BASE + 8, 4)).toBe(0);
    // The bounds themselves fit: unsigned maximum and two's-complement minimum.
    m.writeN(BASE + 8, 1, 255);
    m.writeN(BASE + 9, 1, -128);
    m.writeN(BASE + 10, 2, -1);
    expect(m.readN(BASE + 8, 4)).toBe(0xffff_80ff);
    m.writeN(BASE + 12, 4, -(2 ** 31));
    expect(m.read32(BASE + 12)).toBe(0x8000_0000);
  });

  it('writeN / readN / read32 / write32: a fractional or out-of-frame address is refused', () => {
    const m = twoRanges();
    for (const pa of [BASE + 0.5, BASE + 4.5, -4, Number.NaN]) {
      expect(() => m.writeN(pa, 1, 1), `writeN ${pa}`).toThrow(InvalidArgumentError);
      expect(() => m.readN(pa, 1), `readN ${pa}`).toThrow(InvalidArgumentError);
      expect(() => m.read32(pa), `read32 ${pa}`).toThrow(InvalidArgumentError);
      expect(() => m.write32(pa, 1), `write32 ${pa}`).toThrow(InvalidArgumentError);
    }
    // Crossing the end of a frame is a bus error, not a write into the next slot.
    expect(() => m.writeN(BASE + P - 1, 2, 0x101)).toThrow(BusError);
    expect(() => m.readN(BASE + P - 1, 2)).toThrow(BusError);
    expect(m.read32(BASE)).toBe(0x1122_3344);
    expect(m.read32(BASE + P)).toBe(0);
  });

  it('readPairInFrame: a fractional frame or a non-number offset is refused, not rounded', () => {
    const m = twoRanges();
    const pfn = BASE / P;
    expect(m.readPairInFrame(pfn, 0)).toBe(0x1122_3344);
    expect(() => m.readPairInFrame(pfn + 0.5, 0)).toThrow(InvalidArgumentError);
    expect(() => m.readPairInFrame(pfn, '0' as never)).toThrow(InvalidArgumentError);
    expect(() => m.readPairInFrame(pfn, 4)).toThrow(InvalidArgumentError);
    expect(() => m.readPairInFrame(pfn, {} as never)).toThrow(InvalidArgumentError);
  });

  it('discardFrame: the hole between two RAM ranges is a bus error after a hit in either range', () => {
    const m = twoRanges();
    const hole = BASE / P + 16;
    // Untouched frames of the first range (the last extent found is the first range)…
    for (let f = 1; f < 16; f++) m.discardFrame(BASE / P + f);
    expect(() => m.discardFrame(hole)).toThrow(BusError);
    // …and of the second.
    m.discardFrame(BASE / P + 20);
    expect(() => m.discardFrame(hole)).toThrow(BusError);
    expect(() => m.discardFrame(BASE / P + 0.5)).toThrow(InvalidArgumentError);
    expect(() => m.discardFrame(-1)).toThrow(InvalidArgumentError);
    expect(() => m.discardFrame(String(BASE / P) as never)).toThrow(InvalidArgumentError);
    expect(m.touchedFrames).toBe(2);
    // A touched frame is zeroed and its slot recycled.
    m.discardFrame(BASE / P + 17);
    expect(m.touchedFrames).toBe(1);
    expect(m.read32(BASE + 17 * P)).toBe(0);
    expect(m.isTouched(BASE / P + 17)).toBe(false);
  });
});
