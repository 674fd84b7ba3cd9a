import { BusError, InvalidArgumentError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { SEED_POOL_END, SEED_POOL_START } from './pool-plan.js';
import { createRpi4bBoard } from './rpi4b.js';

const plain = <T extends { start: number; end: number }>(xs: readonly T[]) => xs.map((x) => ({ ...x }));
const bounds = (xs: readonly { start: number; end: number }[]) => xs.map((x) => [x.start, x.end]);

/** Firmware-reported RAM per model, default gpu_mem (arch-facts C2). */
const MODELS = [
  { ramGiB: 1, ram: [[0, 0x3b40_0000]] },
  {
    ramGiB: 2,
    ram: [
      [0, 0x3b40_0000],
      [0x4000_0000, 0x8000_0000],
    ],
  },
  {
    ramGiB: 4,
    ram: [
      [0, 0x3b40_0000],
      [0x4000_0000, 0xfc00_0000],
    ],
  },
  {
    ramGiB: 8,
    ram: [
      [0, 0x3b40_0000],
      [0x4000_0000, 0xfc00_0000],
      [0x1_0000_0000, 0x2_0000_0000],
    ],
  },
] as const;

describe.each(MODELS)('createRpi4bBoard $ramGiB GiB', ({ ramGiB, ram }) => {
  it('has the firmware-reported RAM ranges (gpu_mem split at 0x3B40_0000, arch-facts C2)', () => {
    const board = createRpi4bBoard({ ramGiB, pool: 'all-ram' });
    expect(bounds(board.ram)).toEqual(ram);
    expect(board.name).toBe(`Raspberry Pi 4 Model B (BCM2711), ${ramGiB} GiB RAM`);
  });

  it('MMIO windows overlap neither RAM nor each other', () => {
    const board = createRpi4bBoard({ ramGiB, pool: 'all-ram' });
    for (const w of board.mmio) {
      for (const r of board.ram) expect(w.start < r.end && r.start < w.end).toBe(false);
    }
    for (let i = 1; i < board.mmio.length; i++) {
      expect(board.mmio[i]!.start).toBeGreaterThanOrEqual(board.mmio[i - 1]!.end);
    }
  });

  it('all-ram pool: every RAM range; page 0 (armstub), the area below the image and the image reserved', () => {
    const plan = createRpi4bBoard({ ramGiB, pool: 'all-ram' }).pool;
    expect(plan.mode).toBe('all-ram');
    expect(bounds(plan.ranges)).toEqual(ram);
    expect(plain(plan.reservations)).toEqual([
      { start: 0, end: 0x1000, reason: 'armstub spin tables (page 0; also keeps PA 0 out of the pool)' },
      { start: 0x1000, end: 0x8_0000, reason: 'below the kernel image: firmware and boot area' },
      { start: 0x8_0000, end: 0x28_0000, reason: 'kernel image (kernel8.img)' },
    ]);
  });

  it('createMemory() works and a read of UART0 (0xFE20_1000) without a device is a BusError naming it', () => {
    const memory = createRpi4bBoard({ ramGiB, pool: 'all-ram' }).createMemory();
    expect(memory.ramBytes).toBe(ram.reduce((n, [s, e]) => n + e - s, 0));
    expect(() => memory.read32(0xfe20_1000)).toThrow(BusError);
    expect(() => memory.read32(0xfe20_1000)).toThrow(/MMIO window uart0 has no device attached/);
    expect(() => memory.read32(0x3b40_0000)).toThrow(/no RAM or device/); // VideoCore memory
  });
});

describe('createRpi4bBoard: seed pool per model', () => {
  it('1 GiB: no RAM in the seed pool, so seed mode throws a typed error suggesting all-ram', () => {
    let caught: unknown;
    try {
      createRpi4bBoard({ ramGiB: 1 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as Error).message).toContain('rpi4b pool: "seed" is invalid');
    expect((caught as Error).message).toContain("use pool: 'all-ram'");
  });

  it('2 GiB: pool [0x4000_0000, 0xFC00_0000) with [0x8000_0000, 0xFC00_0000) reserved (no RAM), low RAM unused', () => {
    const plan = createRpi4bBoard({ ramGiB: 2 }).pool;
    expect(plain(plan.ranges)).toEqual([{ name: 'seed-pool', start: SEED_POOL_START, end: SEED_POOL_END }]);
    expect(plain(plan.reservations)).toEqual([
      { start: 0x8000_0000, end: 0xfc00_0000, reason: 'above the RAM end (seed reserve_above): no RAM here' },
    ]);
    expect(
      plan.notes.some((n) => n.startsWith('RAM [0x0000_0000, 0x3B40_0000) (948 MiB) lies outside')),
    ).toBe(true);
  });

  it('4 GiB (default): the seed pool is all RAM, nothing reserved (kernel8.img at 0x80000 sits below)', () => {
    const board = createRpi4bBoard();
    expect(board.pool.mode).toBe('seed');
    expect(board.kernelImage).toEqual({ start: 0x8_0000, end: 0x28_0000 });
    expect(board.pool.reservations).toEqual([]);
    expect(board.pool.notes).toContain(
      'kernel8.img lies below the seed pool, so seed reserve_below reserves nothing on this board',
    );
  });

  it('8 GiB: RAM above 4 GiB and below 1 GiB is unused in seed mode (noted)', () => {
    const plan = createRpi4bBoard({ ramGiB: 8 }).pool;
    expect(plan.reservations).toEqual([]);
    const unused = plan.notes.filter((n) => n.includes('unused in seed mode'));
    expect(unused).toHaveLength(2);
    expect(unused[0]).toContain('[0x0000_0000, 0x3B40_0000)');
    expect(unused[1]).toContain('[0x1_0000_0000, 0x2_0000_0000) (4 GiB)');
  });
});

describe('createRpi4bBoard: peripherals (arch-facts C2, bcm2711.dtsi)', () => {
  const board = createRpi4bBoard();
  const win = (name: string) => {
    const w = board.mmio.find((x) => x.name === name);
    return w && [w.start, w.end];
  };

  it('names the devices at their ARM physical addresses', () => {
    expect(win('uart0')).toEqual([0xfe20_1000, 0xfe20_1200]);
    expect(win('gpio')).toEqual([0xfe20_0000, 0xfe20_00f4]);
    expect(win('mailbox')).toEqual([0xfe00_b880, 0xfe00_b8c0]);
    expect(win('aux')).toEqual([0xfe21_5000, 0xfe21_5100]);
    expect(win('system-timer')).toEqual([0xfe00_3000, 0xfe00_4000]);
    expect(win('emmc2')).toEqual([0xfe34_0000, 0xfe34_0100]);
    expect(win('gic-distributor')).toEqual([0xff84_1000, 0xff84_2000]);
    expect(win('gic-cpu-interface')).toEqual([0xff84_2000, 0xff84_4000]);
    expect(win('gic-hyp')).toEqual([0xff84_4000, 0xff84_6000]);
    expect(win('gic-vcpu')).toEqual([0xff84_6000, 0xff84_8000]);
    expect(win('arm-local-intc')).toEqual([0xff80_0000, 0xff80_0100]);
    expect(win('pcie-controller')).toEqual([0xfd50_0000, 0xfd50_9310]);
    expect(win('genet')).toEqual([0xfd58_0000, 0xfd59_0000]);
    expect(win('pcie-outbound')).toEqual([0x6_0000_0000, 0x6_0400_0000]);
  });

  it('covers 0xFC00_0000..0x1_0000_0000 completely with non-overlapping windows', () => {
    const inside = board.mmio.filter((w) => w.start >= 0xfc00_0000 && w.end <= 0x1_0000_0000);
    expect(inside[0]!.start).toBe(0xfc00_0000);
    expect(inside.at(-1)!.end).toBe(0x1_0000_0000);
    for (let i = 1; i < inside.length; i++) expect(inside[i]!.start).toBe(inside[i - 1]!.end);
  });

  it('gap windows are named after their region and address, and a read there names the window', () => {
    expect(win('main-peripherals@0xFE00_0000')).toEqual([0xfe00_0000, 0xfe00_3000]);
    expect(win('bcm2711-peripherals@0xFC00_0000')).toEqual([0xfc00_0000, 0xfd50_0000]);
    const memory = board.createMemory();
    expect(() => memory.read32(0xfe10_0000)).toThrow(
      /MMIO window main-peripherals@0xFE00_B8C0 has no device/,
    );
  });
});

describe('createRpi4bBoard: options', () => {
  it.each([
    [3, '3'],
    [0, '0'],
    [16, '16'],
    [4.5, '4.5 (not an integer)'],
    ['4', '"4"'],
  ])('rejects ramGiB %s naming the value', (ramGiB, shown) => {
    expect(() => createRpi4bBoard({ ramGiB: ramGiB as never })).toThrow(InvalidArgumentError);
    expect(() => createRpi4bBoard({ ramGiB: ramGiB as never })).toThrow(
      `rpi4b ramGiB: ${shown} is invalid; expected one of 1, 2, 4, 8 (the Raspberry Pi 4B models)`,
    );
  });

  it('kernelLoadAddress 0x20_0000 (newer firmware docs, arch-facts D3) moves the reservations', () => {
    const board = createRpi4bBoard({ kernelLoadAddress: 0x20_0000, pool: 'all-ram' });
    expect(bounds(board.pool.reservations)).toEqual([
      [0, 0x1000],
      [0x1000, 0x20_0000],
      [0x20_0000, 0x40_0000],
    ]);
  });

  it('lowRamEnd moves the gpu_mem split', () => {
    const board = createRpi4bBoard({ lowRamEnd: 0x3700_0000, pool: 'all-ram' });
    expect(bounds(board.ram)[0]).toEqual([0, 0x3700_0000]);
  });

  it('rejects a load address in page 0, an unaligned one, and an image beyond the low RAM', () => {
    expect(() => createRpi4bBoard({ kernelLoadAddress: 0 })).toThrow(/rpi4b kernelLoadAddress: 0 is invalid/);
    expect(() => createRpi4bBoard({ kernelLoadAddress: 0x8_0100 })).toThrow(InvalidArgumentError);
    expect(() => createRpi4bBoard({ kernelImageBytes: 0x4000_0000 })).toThrow(/rpi4b kernel image/);
    expect(() => createRpi4bBoard({ lowRamEnd: 0x4000_1000 })).toThrow(/rpi4b lowRamEnd/);
  });
});
