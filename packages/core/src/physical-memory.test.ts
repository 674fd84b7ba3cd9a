import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BusError, HostLimitError, InvalidArgumentError } from './errors.js';
import {
  type MmioDevice,
  PhysicalMemory,
  type PhysicalMemoryOptions,
  type PhysicalRegion,
} from './physical-memory.js';

const P = 4096;
/** RAM [0x4000_0000, 0x4010_0000) (256 frames) and a UART window without a device. */
function mem(device?: MmioDevice): PhysicalMemory {
  return new PhysicalMemory({
    ram: [{ name: 'ram', start: 0x4000_0000, end: 0x4010_0000 }],
    mmio: [{ name: 'uart0', start: 0x0900_0000, end: 0x0900_1000, device }],
  });
}

function caught(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('PhysicalMemory construction', () => {
  it('sorts regions and reports the span and size', () => {
    const m = new PhysicalMemory({
      ram: [
        { name: 'high', start: 0x1_0000_0000, end: 0x1_0000_2000 },
        { name: 'low', start: 0x1000, end: 0x3000 },
      ],
      mmio: [
        { name: 'b', start: 0x9000, end: 0x9100 },
        { name: 'a', start: 0x8000, end: 0x8100 },
      ],
    });
    expect(m.ram.map((r) => r.name)).toEqual(['low', 'high']);
    expect(m.mmio.map((w) => w.name)).toEqual(['a', 'b']);
    expect(m.basePfn).toBe(1);
    expect(m.spanFrames).toBe(0x1_0000_2000 / P - 1);
    expect(m.ramBytes).toBe(0x4000);
    expect(m.isRamFrame(2)).toBe(true);
    expect(m.isRamFrame(3)).toBe(false);
    expect(m.isRam(0x1_0000_1fff)).toBe(true);
    expect(m.isRam(0x1_0000_2000)).toBe(false);
    expect(m.isRam(0)).toBe(false);
    expect(m.mmioAt(0x80ff)?.name).toBe('a');
    expect(m.mmioAt(0x8100)).toBeUndefined();
  });

  it('rejects no RAM, unaligned or overlapping RAM, and MMIO over RAM, naming the region', () => {
    expect(() => new PhysicalMemory({ ram: [] })).toThrow(InvalidArgumentError);
    expect(() => new PhysicalMemory({ ram: [{ name: 'r', start: 0x800, end: 0x2000 }] })).toThrow(
      'RAM region r: "2048..8192" is invalid; expected page-aligned safe integers',
    );
    expect(
      () =>
        new PhysicalMemory({
          ram: [
            { name: 'a', start: 0x1000, end: 0x3000 },
            { name: 'b', start: 0x2000, end: 0x4000 },
          ],
        }),
    ).toThrow(/RAM region b: "8192..16384" is invalid; expected a non-empty range not overlapping another/);
    expect(() => new PhysicalMemory({ ram: [{ name: 'e', start: 0x1000, end: 0x1000 }] })).toThrow(
      /RAM region e/,
    );
    expect(
      () =>
        new PhysicalMemory({
          ram: [{ name: 'r', start: 0x1000, end: 0x3000 }],
          mmio: [{ name: 'dev', start: 0x2ff0, end: 0x3010 }],
        }),
    ).toThrow(/MMIO window dev: .* is invalid; expected a window that does not overlap RAM/);
  });
});

describe('PhysicalMemory sparse RAM', () => {
  it('untouched frames read zero and cost nothing', () => {
    const m = new PhysicalMemory({ ram: [{ name: 'ram', start: 0x4000_0000, end: 0x1_0000_0000 }] }); // 3 GiB
    expect(m.read32(0x4000_0000)).toBe(0);
    expect(m.read64(0xffff_fff8)).toBe(0n);
    expect(m.read8(0x8000_0123)).toBe(0);
    expect(m.readBytes(0x5000_0ffe, 4)).toEqual(new Uint8Array(4));
    expect(m.touchedFrames).toBe(0);
    expect(m.hostBytes).toBe(0);
    m.write8(0x9000_0000, 1);
    expect(m.touchedFrames).toBe(1);
    expect(m.isTouched(0x9000_0000 / P)).toBe(true);
    expect(m.hostBytes).toBe(256 * P); // one 1 MiB slab
  });

  it('writes of zero to untouched frames stay untouched (8/16/32/64 bits)', () => {
    const m = mem();
    m.write8(0x4000_0000, 0);
    m.write16(0x4000_1002, 0);
    m.write32(0x4000_2004, 0);
    m.write64(0x4000_3008, 0n);
    m.writeN(0x4000_4000, 8, 0);
    expect(m.touchedFrames).toBe(0);
    m.write64(0x4000_3008, 1n);
    expect(m.touchedFrames).toBe(1);
    m.write64(0x4000_3008, 0n); // a touched frame stays touched (it is not scanned for zeros)
    expect(m.touchedFrames).toBe(1);
  });

  it("fill takes its byte as a number or a bigint, unsigned or two's complement (as write8 does)", () => {
    const m = mem();
    // Typed callers pass a number; untyped JavaScript may pass a bigint, which the check accepts.
    const big = (v: bigint) => v as unknown as number;
    m.fill(0x4000_0000, 4, big(-1n));
    expect(m.read32(0x4000_0000)).toBe(0xffff_ffff);
    m.fill(0x4000_0000, 2, big(0x5an));
    expect(m.read32(0x4000_0000)).toBe(0xffff_5a5a);
    m.fill(0x4000_0000, 1, big(0n));
    expect(m.read32(0x4000_0000)).toBe(0xffff_5a00);
    m.fill(0x4000_0000, 1, -2);
    expect(m.read32(0x4000_0000)).toBe(0xffff_5afe);
    expect(caught(() => m.fill(0x4000_0000, 1, big(256n)))).toBeInstanceOf(InvalidArgumentError);
  });

  it('fill with 0 of whole frames discards them; partial zero fills of untouched frames stay untouched', () => {
    const m = mem();
    m.fill(0x4000_0000, 3 * P, 0x77);
    expect(m.touchedFrames).toBe(3);
    expect(m.read8(0x4000_2fff)).toBe(0x77);
    m.fill(0x4000_0000, 2 * P, 0);
    expect(m.touchedFrames).toBe(1);
    m.fill(0x4000_5010, 16, 0);
    expect(m.touchedFrames).toBe(1);
    m.fill(0x4000_2ff0, 8, 0);
    expect(m.read8(0x4000_2ff0)).toBe(0);
    expect(m.read8(0x4000_2ff8)).toBe(0x77);
  });
});

describe('PhysicalMemory little-endian accesses', () => {
  it('round-trips 8, 16, 32 and 64 bits, little-endian', () => {
    const m = mem();
    m.write64(0x4000_0000, 0x0102_0304_0506_0708n);
    expect([...m.readBytes(0x4000_0000, 8)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(m.read8(0x4000_0000)).toBe(0x08);
    expect(m.read16(0x4000_0000)).toBe(0x0708);
    expect(m.read32(0x4000_0000)).toBe(0x0506_0708);
    expect(m.read32(0x4000_0004)).toBe(0x0102_0304);
    expect(m.read64(0x4000_0000)).toBe(0x0102_0304_0506_0708n);
    m.write64(0x4000_0030, 0x001f_ffff_ffff_fff0n);
    expect(m.read64Number(0x4000_0030)).toBe(2 ** 53 - 16);
    expect([m.readPair(0x4000_0000), m.pairHi]).toEqual([0x0506_0708, 0x0102_0304]);
    expect([m.readPairInFrame(0x4000_0000 / 4096, 0), m.pairHi]).toEqual([0x0506_0708, 0x0102_0304]);
    m.write32(0x4000_0010, 0xffff_ffff);
    expect(m.read32(0x4000_0010)).toBe(0xffff_ffff);
    m.write32(0x4000_0014, -1);
    expect(m.read32(0x4000_0014)).toBe(0xffff_ffff);
    m.write16(0x4000_0020, 0xbeef);
    expect(m.read16(0x4000_0020)).toBe(0xbeef);
    m.write64(0x4000_0ff8, 0xffff_ffff_ffff_ffffn);
    expect(m.read64(0x4000_0ff8)).toBe(0xffff_ffff_ffff_ffffn);
  });

  it('property: any value written at any in-frame offset reads back', () => {
    const m = mem();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 * P }),
        fc.constantFrom<1 | 2 | 4 | 8>(1, 2, 4, 8),
        fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
        (offset, size, raw) => {
          const pa = 0x4000_0000 + offset;
          if ((pa & 0xfff) + size > P) return;
          const value = raw & ((1n << BigInt(size * 8)) - 1n);
          m.writeN(pa, size, size === 8 ? value : Number(value));
          expect(m.readN(pa, size)).toBe(size === 8 ? value : Number(value));
        },
      ),
    );
  });

  it('unaligned 32-bit accesses inside one frame work (not "crosses a frame boundary")', () => {
    const m = mem();
    m.write32(0x4000_0002, 0x1122_3344);
    expect(m.read32(0x4000_0002)).toBe(0x1122_3344);
    expect(m.read16(0x4000_0002)).toBe(0x3344);
    expect(m.read32(0x4000_0001)).toBe(0x2233_4400);
    expect(m.read32(0x4000_1ffc)).toBe(0);
  });

  it('rejects accesses that cross a frame boundary, and a failed write leaves nothing behind', () => {
    const m = mem();
    const e = caught(() => m.read32(0x4000_0ffe));
    expect(e).toBeInstanceOf(BusError);
    expect(e.message).toBe(
      'bus error: 4-byte access at physical 0x40000FFE: access crosses a frame boundary',
    );
    expect(() => m.read64(0x4000_0ffc)).toThrow(/crosses a frame boundary/);
    expect(() => m.write16(0x4000_0fff, 1)).toThrow(/crosses a frame boundary/);
    expect(() => m.write32(0x4000_0ffe, 0x1234)).toThrow(/crosses a frame boundary/);
    expect(() => m.write32(0x4000_0ffd, 0)).toThrow(/crosses a frame boundary/);
    expect(m.touchedFrames).toBe(0);
  });
});

describe('PhysicalMemory bulk helpers across frames', () => {
  it('writeBytes / readBytes span frames', () => {
    const m = mem();
    const data = Uint8Array.from({ length: 3 * P }, (_, i) => (i * 7) & 0xff);
    m.writeBytes(0x4000_0800, data);
    expect(m.readBytes(0x4000_0800, data.length)).toEqual(data);
    expect(m.touchedFrames).toBe(4);
    expect(m.read8(0x4000_0800 + 2 * P + 5)).toBe(((2 * P + 5) * 7) & 0xff);
  });

  it('fill spans frames', () => {
    const m = mem();
    m.fill(0x4000_0f00, 0x300, 0xab);
    expect(m.read8(0x4000_0eff)).toBe(0);
    expect(m.read8(0x4000_0f00)).toBe(0xab);
    expect(m.read8(0x4000_11ff)).toBe(0xab);
    expect(m.read8(0x4000_1200)).toBe(0);
  });

  it('copy has memmove semantics for overlapping ranges', () => {
    const m = mem();
    m.writeBytes(0x4000_0ffc, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    m.copy(0x4000_0ffe, 0x4000_0ffc, 8);
    expect([...m.readBytes(0x4000_0ffc, 10)]).toEqual([1, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
    m.copy(0x4000_0ffc, 0x4000_0ffe, 8);
    expect([...m.readBytes(0x4000_0ffc, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    m.copy(0x4000_0000, 0x4000_0000, 0);
  });

  it('readFrameInto / writeFrameFrom copy a whole frame to and from a buffer (an untouched frame reads as zeros)', () => {
    const m = new PhysicalMemory({ ram: [{ name: 'ram', start: 0x4000_0000, end: 0x4001_0000 }] });
    const buf = new Uint8Array(3 * P).fill(7);
    m.write32(0x4000_1000, 0xdead_beef);
    m.readFrameInto(0x4000_1000 / P, buf, P);
    expect(buf[P]).toBe(0xef);
    expect(buf[P + 4]).toBe(0);
    expect(buf[0]).toBe(7);
    m.readFrameInto(0x4000_2000 / P, buf, 2 * P); // untouched
    expect(buf.subarray(2 * P).every((b) => b === 0)).toBe(true);
    m.writeFrameFrom(0x4000_3000 / P, buf, P);
    expect(m.read32(0x4000_3000)).toBe(0xdead_beef);
    expect(() => m.readFrameInto(0x4100_0000 / P, buf, 0)).toThrow(BusError);
    expect(() => m.readFrameInto(0x4000_0000 / P, buf, 2 * P + 1)).toThrow('out offset');
    expect(() => m.writeFrameFrom(0x4000_0000 / P, [] as never, 0)).toThrow('src');
  });

  it('frameWords is a live view of one frame: its words are what read32 / write32 see, both ways', () => {
    const m = new PhysicalMemory({ ram: [{ name: 'ram', start: 0x4000_0000, end: 0x4001_0000 }] });
    m.write32(0x4000_1008, 0xdead_beef);
    const w = m.frameWords(0x4000_1000 / P);
    expect(w).toHaveLength(1024);
    expect(w[2]).toBe(0xdead_beef);
    w[1023] = 0x8000_0001;
    expect(m.read32(0x4000_1ffc)).toBe(0x8000_0001);
    expect(m.read32(0x4000_2000)).toBe(0); // the view ends with its frame
    // An untouched frame gets backing store (zeros) and stays consistent.
    expect(m.isTouched(0x4000_3000 / P)).toBe(false);
    const u = m.frameWords(0x4000_3000 / P);
    expect(m.isTouched(0x4000_3000 / P)).toBe(true);
    expect(u.every((x) => x === 0)).toBe(true);
    u[0] = 7;
    expect(m.read32(0x4000_3000)).toBe(7);
    expect(() => m.frameWords(0x4100_0000 / P)).toThrow(BusError);
    expect(() => m.frameWords(1.5)).toThrow(InvalidArgumentError);
    expect(() => m.frameWords('x' as never)).toThrow(InvalidArgumentError);
  });

  it('copyFrame copies a whole frame; an untouched source makes the destination untouched', () => {
    const m = mem();
    m.write32(0x4000_0010, 0xcafe);
    m.write32(0x4000_5000, 0x1);
    m.copyFrame(0x4000_1000 / P, 0x4000_0000 / P);
    expect(m.read32(0x4000_1010)).toBe(0xcafe);
    m.copyFrame(0x4000_5000 / P, 0x4000_9000 / P);
    expect(m.isTouched(0x4000_5000 / P)).toBe(false);
    expect(m.read32(0x4000_5000)).toBe(0);
    expect(() => m.copyFrame(0x4100_0000 / P, 0x4000_0000 / P)).toThrow(BusError);
  });

  it('bulk helpers fail before writing anything if part of the range is not RAM', () => {
    const m = mem();
    expect(() => m.writeBytes(0x400f_f000, new Uint8Array(2 * P).fill(1))).toThrow(/0x40100000/);
    expect(m.touchedFrames).toBe(0);
    expect(() => m.readBytes(0x3fff_fff0, 0x20)).toThrow(BusError);
    expect(() => m.fill(0x400f_ff00, 0x200, 1)).toThrow(BusError);
    expect(() => m.readBytes(-1, 4)).toThrow(InvalidArgumentError);
  });
});

describe('PhysicalMemory discardFrame', () => {
  it('returns a frame to zero, releases and recycles its slot', () => {
    const m = mem();
    m.write32(0x4000_0000, 0x1234);
    m.write32(0x4000_1000, 0x5678);
    m.discardFrame(0x4000_0000 / P);
    expect(m.read32(0x4000_0000)).toBe(0);
    expect(m.touchedFrames).toBe(1);
    expect(m.isTouched(0x4000_0000 / P)).toBe(false);
    m.write32(0x4000_2000, 0x9); // reuses the recycled slot: the slab count does not grow
    expect(m.hostBytes).toBe(256 * P);
    expect(m.read32(0x4000_2000)).toBe(0x9);
    expect(m.read32(0x4000_2004)).toBe(0); // the recycled slot was cleared
    expect(m.read32(0x4000_1000)).toBe(0x5678);
    m.discardFrame(0x4000_3000 / P); // untouched: no-op
    expect(m.touchedFrames).toBe(2);
  });

  it('throws a BusError for a frame that is not RAM', () => {
    const m = mem();
    expect(() => m.discardFrame(0x0900_0000 / P)).toThrow(
      'bus error: 4096-byte access at physical 0x9000000: discard of a frame that is not RAM',
    );
  });
});

describe('PhysicalMemory MMIO', () => {
  it('routes accesses inside a window to its device, with offsets relative to the window', () => {
    const log: string[] = [];
    const device: MmioDevice = {
      read(offset, size) {
        log.push(`r${size}@${offset}`);
        return size === 8 ? 0x1_0000_0000n + BigInt(offset) : 0x40 + offset;
      },
      write(offset, size, value) {
        log.push(`w${size}@${offset}=${value}`);
      },
    };
    const m = mem(device);
    expect(m.read32(0x0900_0018)).toBe(0x58);
    expect(m.read8(0x0900_0000)).toBe(0x40);
    expect(m.read64(0x0900_0008)).toBe(0x1_0000_0008n);
    m.write32(0x0900_0000, 0x41);
    m.write8(0x0900_0001, 0x42);
    expect(log).toEqual(['r4@24', 'r1@0', 'r8@8', 'w4@0=65', 'w1@1=66']);
    expect(m.touchedFrames).toBe(0);
  });

  it('a window without a device is a BusError naming the window and the address', () => {
    const m = mem();
    const e = caught(() => m.read32(0x0900_0000));
    expect(e).toBeInstanceOf(BusError);
    expect(e.code).toBe('E_BUS');
    expect(e.message).toBe(
      'bus error: 4-byte access at physical 0x9000000: MMIO window uart0 has no device attached',
    );
    expect(() => m.write8(0x0900_0fff, 1)).toThrow(/MMIO window uart0/);
  });

  it('an address with no RAM and no window is a BusError naming the address', () => {
    const m = mem();
    expect(() => m.read32(0x8000_0000)).toThrow(
      'bus error: 4-byte access at physical 0x80000000: no RAM or device at this address',
    );
    expect(() => m.write64(0x1_0000_0000, 1n)).toThrow(
      /8-byte access at physical 0x100000000: no RAM or device/,
    );
    expect(() => m.readBytes(0x4010_0000, 1)).toThrow(/1-byte access at physical 0x40100000/);
  });
});

describe('partly-RAM chunks (regression: holes between RAM ranges inside one 4 MiB chunk)', () => {
  it('a device window in a hole keeps answering after RAM next to it was written', async () => {
    const { PhysicalMemory } = await import('./physical-memory.js');
    const seen: number[] = [];
    const mem = new PhysicalMemory({
      ram: [
        { name: 'low', start: 0, end: 0x9_f000 },
        { name: 'high', start: 0x10_0000, end: 0x80_0000 },
      ],
      mmio: [
        {
          name: 'vga',
          start: 0xb_8000,
          end: 0xc_0000,
          device: { read: () => 0x41, write: (_o, _s, v) => void seen.push(Number(v)) },
        },
      ],
    });
    mem.write32(0x10_0000, 1); // materialises the chunk holding the hole
    mem.write8(0xb_8000, 0x48);
    expect(seen).toEqual([0x48]);
    expect(mem.read8(0xb_8002)).toBe(0x41);
    expect(() => mem.read32(0xa_0000)).toThrow(/no RAM or device/);
    expect(mem.isTouched(0xb_8000 / 4096)).toBe(false);
  });
});

describe('PhysicalMemory costs what is touched, never the span (regression: heap out of memory)', () => {
  it('a 4 PiB RAM range [4 KiB, 2^52) constructs with no host memory, reads zero, round-trips writes', () => {
    const m = new PhysicalMemory({ ram: [{ name: 'huge', start: 4096, end: 2 ** 52 }] });
    expect(m.hostBytes).toBe(0);
    expect(m.indexBytes).toBe(0);
    expect(m.ramBytes).toBe(2 ** 52 - 4096);
    expect(m.read32(2 ** 52 - 4)).toBe(0);
    expect(m.read64(2 ** 51)).toBe(0n);
    m.write32(2 ** 52 - 4, 0xdead_beef);
    m.write64(0x1000, 0x0123_4567_89ab_cdefn);
    expect(m.read32(2 ** 52 - 4)).toBe(0xdead_beef);
    expect(m.read64(0x1000)).toBe(0x0123_4567_89ab_cdefn);
    expect(m.touchedFrames).toBe(2);
    expect(m.hostBytes).toBe(256 * P); // one slab
    expect(m.indexBytes).toBeLessThanOrEqual(2 * (4096 + 8192)); // two chunks, two mid nodes
    expect(() => m.read32(0)).toThrow(BusError);
    expect(() => m.read32(2 ** 52)).toThrow(/no RAM or device/);
  });

  it('two 4 KiB ranges at 0 and 2^47: tiny index, zero reads, round-trips, typed bus errors in between', () => {
    const m = new PhysicalMemory({
      ram: [
        { name: 'low', start: 0, end: 0x1000 },
        { name: 'high', start: 2 ** 47, end: 2 ** 47 + 0x1000 },
      ],
    });
    expect(m.spanFrames).toBe(2 ** 35 + 1); // informational only
    expect(m.indexBytes).toBe(0);
    expect(m.read32(2 ** 47 + 0xffc)).toBe(0);
    m.write32(0xff8, 7);
    m.write32(2 ** 47 + 8, 9);
    expect([m.read32(0xff8), m.read32(2 ** 47 + 8)]).toEqual([7, 9]);
    expect(m.readPair(2 ** 47 + 8)).toBe(9);
    expect(m.readPairInFrame(2 ** 35, 8)).toBe(9);
    expect(m.indexBytes).toBe(2 * (4096 + 8192));
    const e = caught(() => m.read32(0x1000));
    expect(e).toBeInstanceOf(BusError);
    expect(e.message).toBe('bus error: 4-byte access at physical 0x1000: no RAM or device at this address');
    expect(() => m.write8(2 ** 46, 1)).toThrow(BusError);
    expect(() => m.readBytes(0xff0, 0x20)).toThrow(/0x1000/);
    expect(m.isRamFrame(2 ** 35)).toBe(true);
    expect(m.isRamFrame(2 ** 35 + 1)).toBe(false);
    expect(m.isRam(2n ** 47n)).toBe(true);
  });

  it('adjacent RAM ranges form one extent for bulk helpers; a huge zero fill visits touched frames only', () => {
    const m = new PhysicalMemory({
      ram: [
        { name: 'a', start: 0, end: 0x2000 },
        { name: 'b', start: 0x2000, end: 2 ** 50 },
      ],
    });
    m.writeBytes(0x1ffe, Uint8Array.of(1, 2, 3, 4));
    expect([...m.readBytes(0x1ffe, 4)]).toEqual([1, 2, 3, 4]);
    m.write32(2 ** 49, 5);
    expect(m.touchedFrames).toBe(3);
    m.fill(0, 2 ** 50, 0); // 2^38 frames: must not loop over them
    expect(m.touchedFrames).toBe(0);
    expect(m.read32(2 ** 49)).toBe(0);
  });

  it('a write beyond the host budget is a HostLimitError, not a crash; nothing is written then', () => {
    const m = new PhysicalMemory({ ram: [{ name: 'r', start: 0, end: 2 ** 40 }], maxHostBytes: 4 * 2 ** 20 });
    const e = caught(() => m.fill(0, 2 ** 40, 0xff));
    expect(e).toBeInstanceOf(HostLimitError);
    expect(e.code).toBe('E_HOST_LIMIT');
    expect(m.touchedFrames).toBe(0);
    expect(() => m.writeBytes(0, new Uint8Array(8 * 2 ** 20).fill(1))).toThrow(HostLimitError);
    expect(m.touchedFrames).toBe(0);
    // Frame by frame: the slab that would cross the ceiling is refused with a typed error.
    let written = 0;
    const f = caught(() => {
      for (let pa = 0; ; pa += 4096 * 1024, written++) m.write8(pa, 1);
    });
    expect(f).toBeInstanceOf(HostLimitError);
    expect(m.hostBytes + m.indexBytes).toBeLessThanOrEqual(4 * 2 ** 20);
    expect(written).toBeGreaterThan(0);
    expect(() => new PhysicalMemory({ ram: [{ name: 'r', start: 0, end: 4096 }], maxHostBytes: 0 })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('PhysicalMemory rejects values that do not fit (regression: 1.5 truncated or RangeError)', () => {
  it('non-integer and out-of-range values throw InvalidArgumentError in every write path, in or across a frame', () => {
    const m = mem();
    const bad: [string, () => void][] = [
      ['write32 in frame', () => m.write32(0x4000_0000, 1.5)],
      ['write32 across frames', () => m.write32(0x4000_0ffe, 1.5)],
      ['write32 unaligned', () => m.write32(0x4000_0002, 1.5)],
      ['write32 2^32', () => m.write32(0x4000_0000, 2 ** 32)],
      ['write32 NaN', () => m.write32(0x4000_0000, Number.NaN)],
      ['write32 string', () => m.write32(0x4000_0000, '1' as unknown as number)],
      ['write8 256', () => m.write8(0x4000_0000, 256)],
      ['write8 1.5', () => m.write8(0x4000_0000, 1.5)],
      ['write16 65536', () => m.write16(0x4000_0000, 65536)],
      ['write16 across 1.5', () => m.write16(0x4000_0fff, 1.5)],
      ['write64 2^64', () => m.write64(0x4000_0000, 2n ** 64n)],
      ['write64 1.5', () => m.write64(0x4000_0000, 1.5 as unknown as bigint)],
      ['writeN 2^53', () => m.writeN(0x4000_0000, 8, 2 ** 53)],
      ['writeN size 3', () => m.writeN(0x4000_0000, 3 as 4, 1)],
      ['fill byte 1.5', () => m.fill(0x4000_0000, 16, 1.5)],
      ['fill byte 256', () => m.fill(0x4000_0000, 16, 256)],
      ['fill length 1.5', () => m.fill(0x4000_0000, 1.5, 1)],
      ['writeBytes not bytes', () => m.writeBytes(0x4000_0000, [1, 2] as unknown as Uint8Array)],
      ['MMIO write 1.5', () => m.write32(0x0900_0000, 1.5)],
    ];
    for (const [name, fn] of bad) {
      const e = caught(fn);
      expect(e, name).toBeInstanceOf(InvalidArgumentError);
    }
    expect(m.touchedFrames).toBe(0);
    expect(caught(() => m.write32(0x4000_0000, 1.5)).message).toBe(
      "4-byte value: 1.5 (not an integer) is invalid; expected an integer in [-2^31, 2^32) (unsigned, or two's complement), as a safe number or a bigint",
    );
  });

  it("signed values that fit are stored as two's complement", () => {
    const m = mem();
    m.write8(0x4000_0000, -1);
    m.write16(0x4000_0002, -2);
    m.write32(0x4000_0004, 0x8000_0000 | 1);
    m.write64(0x4000_0008, -1n);
    m.write64(0x4000_0010, -2);
    expect(m.read8(0x4000_0000)).toBe(0xff);
    expect(m.read16(0x4000_0002)).toBe(0xfffe);
    expect(m.read32(0x4000_0004)).toBe(0x8000_0001);
    expect(m.read64(0x4000_0008)).toBe(0xffff_ffff_ffff_ffffn);
    expect(m.read64(0x4000_0010)).toBe(0xffff_ffff_ffff_fffen);
  });

  it('addresses: bigints are accepted, anything but a safe non-negative integer is an InvalidArgumentError', () => {
    const m = mem();
    m.write32(0x4000_0000n, 5);
    expect(m.read32(0x4000_0000n)).toBe(5);
    expect(m.readPair(0x4000_0000n)).toBe(5);
    for (const pa of [
      Number.NaN,
      0x4000_0000 + 0.5,
      -4096,
      2 ** 53,
      null,
      '0x40000000',
      Symbol('pa'),
      {},
      -1n,
    ]) {
      expect(() => m.read32(pa as number), String(pa)).toThrow(InvalidArgumentError);
      expect(() => m.write32(pa as number, 1), String(pa)).toThrow(InvalidArgumentError);
      expect(() => m.readPair(pa as number), String(pa)).toThrow(InvalidArgumentError);
    }
    expect(() => m.readPairInFrame(0x4000_0000 / P + 0.5, 0)).toThrow(InvalidArgumentError);
    expect(() => m.readPairInFrame(0x4000_0000 / P, 4)).toThrow(InvalidArgumentError);
    expect(() => m.isRamFrame(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => m.discardFrame(-1)).toThrow(InvalidArgumentError);
    expect(() => m.readBytes(0x4000_0000, 2 ** 31)).toThrow(InvalidArgumentError);
    expect(() => new PhysicalMemory(null as unknown as PhysicalMemoryOptions)).toThrow(InvalidArgumentError);
    expect(() => new PhysicalMemory({ ram: [null as unknown as PhysicalRegion] })).toThrow(
      'RAM region #0: null is invalid; expected an object { name, start, end }',
    );
    expect(
      () => new PhysicalMemory({ ram: [{ name: Symbol('r') as unknown as string, start: 0, end: 4096 }] }),
    ).toThrow(InvalidArgumentError);
  });
});
