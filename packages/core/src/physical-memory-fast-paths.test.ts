/**
 * The hot paths of PhysicalMemory (read32, write32, readPairInFrame, read32InFrame, readN, writeN, discardFrame)
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

  it('a recycled slot reads as zeros to every writer but the whole-frame ones, which overwrite it all', () => {
    const ones = new Uint8Array(P).fill(0xff);
    const fresh = (): PhysicalMemory => {
      const m = twoRanges();
      for (let f = 2; f < 6; f++) m.writeBytes(BASE + f * P, ones); // slots full of 0xff…
      for (let f = 2; f < 6; f++) m.discardFrame(BASE / P + f); // …recycled, not zeroed
      return m;
    };
    const writers: [string, (m: PhysicalMemory, pa: number) => void][] = [
      ['write32', (m, pa) => m.write32(pa + 8, 5)],
      ['writeN', (m, pa) => m.writeN(pa + 8, 2, 5)],
      ['write8', (m, pa) => m.write8(pa + 8, 5)],
      ['writeBytes', (m, pa) => m.writeBytes(pa + 8, new Uint8Array([5]))],
      [
        'frameWords',
        (m, pa) => {
          m.frameWords(pa / P)[2] = 5;
        },
      ],
      ['writePairInFrame', (m, pa) => m.writePairInFrame(pa / P, 8, 5, 0)],
    ];
    for (const [name, write] of writers) {
      const m = fresh();
      const pa = BASE + 10 * P;
      write(m, pa);
      const got = m.readBytes(pa, P);
      expect(got[8], name).toBe(5);
      got[8] = 0;
      expect(
        got.every((b) => b === 0),
        `${name}: the rest of the frame is zero`,
      ).toBe(true);
    }
    // copyFrame and writeFrameFrom take a recycled slot without zeroing it: every byte is theirs.
    const m = fresh();
    const src = new Uint8Array(P).map((_, i) => (i * 7) & 0xff);
    m.writeBytes(BASE + 11 * P, src);
    m.copyFrame(BASE / P + 12, BASE / P + 11);
    expect(m.readBytes(BASE + 12 * P, P)).toEqual(src);
    m.writeFrameFrom(BASE / P + 13, src, 0);
    expect(m.readBytes(BASE + 13 * P, P)).toEqual(src);
    m.writeBytes(BASE + 14 * P, src); // a whole frame through writeBytes
    expect(m.readBytes(BASE + 14 * P, P)).toEqual(src);
  });

  it('readPairInFrame memo: a bad hint is refused, on the memo path too', () => {
    const m = twoRanges();
    const pfn = BASE / P;
    expect(m.readPairInFrame(pfn, 0, 0)).toBe(0x1122_3344); // memo 0 now names the frame
    for (const bad of [8, -1, 1.5, '1', null]) {
      expect(() => m.readPairInFrame(pfn, 0, bad as never)).toThrow(InvalidArgumentError);
    }
    // A memoised frame with a bad offset is refused as without a memo.
    expect(() => m.readPairInFrame(pfn, 4, 0)).toThrow(InvalidArgumentError);
    expect(() => m.readPairInFrame(pfn + 0.5, 0, 0)).toThrow(InvalidArgumentError);
  });

  it('readPairInFrame memo: sees every write, and ends when a frame loses its backing store', () => {
    const m = twoRanges();
    const a = BASE / P;
    const b = BASE / P + 1;
    expect(m.readPairInFrame(a, 8, 3)).toBe(0); // memo 3 names frame a (touched by twoRanges)
    m.write32(BASE + 8, 7);
    m.write32(BASE + 12, 9);
    expect([m.readPairInFrame(a, 8, 3), m.pairHi]).toEqual([7, 9]);
    // Frame a is discarded (its slot freed and reused by b, which is written): the memo would
    // read b's words through a's old slot; it must read a as zeros.
    m.discardFrame(a);
    m.write32(BASE + P + 8, 0xdead);
    expect(m.readPairInFrame(b, 8, 3)).toBe(0xdead);
    expect(m.readPairInFrame(a, 8, 2)).toBe(0); // another hint: no memo
    m.readPairInFrame(b, 8, 3);
    m.discardFrame(b);
    m.write32(BASE + 8, 0xbeef); // a again, in the slot b had
    expect(m.readPairInFrame(b, 8, 3)).toBe(0);
    expect(m.readPairInFrame(a, 8, 3)).toBe(0xbeef);
  });

  it('read32InFrame: every 4-byte offset through the memo of its hint; bad arguments refused on both paths', () => {
    const m = twoRanges();
    const pfn = BASE / P;
    expect(m.read32InFrame(pfn, 0, 2)).toBe(0x1122_3344); // memo 2 now names the frame
    m.write32(BASE + 4, 0x5566_7788);
    m.write32(BASE + 4092, 0xffff_fffe);
    expect(m.read32InFrame(pfn, 4, 2)).toBe(0x5566_7788); // an offset readPairInFrame refuses
    expect(m.read32InFrame(pfn, 4092, 2)).toBe(0xffff_fffe);
    expect(m.readPairInFrame(pfn, 0, 2)).toBe(0x1122_3344); // the same memo serves both
    expect(m.pairHi).toBe(0x5566_7788);
    expect(m.read32InFrame(BASE / P + 3, 8, 1)).toBe(0); // an untouched frame reads as zeros
    for (const bad of [8, -1, 1.5, '1', null]) {
      expect(() => m.read32InFrame(pfn, 0, bad as never)).toThrow(InvalidArgumentError);
    }
    for (const off of [2, 4096, -4, 1.5, '4', {}]) {
      expect(() => m.read32InFrame(pfn, off as never, 2)).toThrow(InvalidArgumentError);
    }
    expect(() => m.read32InFrame(pfn + 0.5, 0, 2)).toThrow(InvalidArgumentError);
    expect(() => m.read32InFrame(BASE / P + 16, 0, 2)).toThrow(BusError); // the hole between the ranges
  });

  it('read32InFrame memo: sees every write, and ends when a frame loses its backing store', () => {
    const m = twoRanges();
    const a = BASE / P;
    const b = BASE / P + 1;
    expect(m.read32InFrame(a, 12, 1)).toBe(0); // memo 1 names frame a
    m.write32(BASE + 12, 7);
    expect(m.read32InFrame(a, 12, 1)).toBe(7);
    // a's slot goes to b: the memo must not read b's words as a's.
    m.discardFrame(a);
    m.write32(BASE + P + 12, 0xdead);
    expect(m.read32InFrame(b, 12, 1)).toBe(0xdead);
    expect(m.read32InFrame(a, 12, 1)).toBe(0);
    m.read32InFrame(b, 12, 1);
    m.discardFrame(b);
    m.write32(BASE + 12, 0xbeef); // a again, in the slot b had
    expect(m.read32InFrame(b, 12, 1)).toBe(0);
    expect(m.read32InFrame(a, 12, 1)).toBe(0xbeef);
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
