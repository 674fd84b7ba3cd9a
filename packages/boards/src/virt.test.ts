import { BusError, InvalidArgumentError, isMmError, type MmioDevice } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { SEED_POOL_END, SEED_POOL_START } from './pool-plan.js';
import { createVirtBoard, VIRT_MAX_RAM_BYTES } from './virt.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Every window of QEMU's base_memmap, in address order (arch-facts C1). */
const VIRT_WINDOWS: [string, number, number][] = [
  ['flash0', 0x0000_0000, 0x0400_0000],
  ['flash1', 0x0400_0000, 0x0800_0000],
  ['gic-distributor', 0x0800_0000, 0x0801_0000],
  ['gic-cpu-interface', 0x0801_0000, 0x0802_0000],
  ['gic-v2m', 0x0802_0000, 0x0802_1000],
  ['gic-hyp', 0x0803_0000, 0x0804_0000],
  ['gic-vcpu', 0x0804_0000, 0x0805_0000],
  ['gic-its', 0x0808_0000, 0x080a_0000],
  ['gic-redistributors', 0x080a_0000, 0x0900_0000],
  ['uart0', 0x0900_0000, 0x0900_1000],
  ['rtc', 0x0901_0000, 0x0901_1000],
  ['fw-cfg', 0x0902_0000, 0x0902_0018],
  ['gpio', 0x0903_0000, 0x0903_1000],
  ['secure-uart', 0x0904_0000, 0x0904_1000],
  ['smmu', 0x0905_0000, 0x0907_0000],
  ['pcdimm-acpi', 0x0907_0000, 0x0907_0018],
  ['acpi-ged', 0x0908_0000, 0x0908_0004],
  ['nvdimm-acpi', 0x0909_0000, 0x0909_0004],
  ['pvtime', 0x090a_0000, 0x090b_0000],
  ['secure-gpio', 0x090b_0000, 0x090b_1000],
  ...Array.from({ length: 32 }, (_, i): [string, number, number] => [
    `virtio-mmio.${i}`,
    0x0a00_0000 + i * 0x200,
    0x0a00_0200 + i * 0x200,
  ]),
  ['platform-bus', 0x0c00_0000, 0x0e00_0000],
  ['secure-ram', 0x0e00_0000, 0x0f00_0000],
  ['pcie-mmio', 0x1000_0000, 0x3eff_0000],
  ['pcie-pio', 0x3eff_0000, 0x3f00_0000],
  ['pcie-ecam', 0x3f00_0000, 0x4000_0000],
];

const plain = <T extends { start: number; end: number }>(xs: readonly T[]) => xs.map((x) => ({ ...x }));

interface VirtCase {
  label: string;
  ramBytes: number;
  ramEnd: number;
}

const SIZES: VirtCase[] = [
  { label: '128 MiB', ramBytes: 128 * MiB, ramEnd: 0x4800_0000 },
  { label: '1 GiB (default, the seed -m 1G)', ramBytes: GiB, ramEnd: 0x8000_0000 },
  { label: '3008 MiB (RAM ends exactly at the seed pool end)', ramBytes: 3008 * MiB, ramEnd: 0xfc00_0000 },
  { label: '4 GiB (RAM above 0xFC00_0000)', ramBytes: 4 * GiB, ramEnd: 0x1_4000_0000 },
  { label: '255 GiB (QEMU maximum)', ramBytes: 255 * GiB, ramEnd: 0x40_0000_0000 },
];

describe('createVirtBoard: memory map (arch-facts C1)', () => {
  it('has every window of QEMU base_memmap with exact bounds, sorted, no device attached', () => {
    const board = createVirtBoard();
    expect(board.mmio.map((w) => [w.name, w.start, w.end])).toEqual(VIRT_WINDOWS);
    expect(board.mmio.every((w) => w.device === undefined)).toBe(true);
    expect(board.consoleWindow).toBe('uart0');
    expect(board.id).toBe('virt');
    expect(board.defaultArch).toBe('aarch64');
  });

  it('places 32 virtio-mmio transports of 0x200 bytes from 0x0A00_0000', () => {
    const virtio = createVirtBoard().mmio.filter((w) => w.name.startsWith('virtio-mmio.'));
    expect(virtio).toHaveLength(32);
    expect(virtio[31]).toEqual({ name: 'virtio-mmio.31', start: 0x0a00_3e00, end: 0x0a00_4000 });
  });

  it('loads the kernel image at 0x4008_0000 with a 2 MiB default size (raw image / Linux < 5.8)', () => {
    expect(createVirtBoard().kernelImage).toEqual({ start: 0x4008_0000, end: 0x4028_0000 });
    expect(createVirtBoard({ kernelImageBytes: 0x12345 }).kernelImage).toEqual({
      start: 0x4008_0000,
      end: 0x4009_2345,
    });
  });

  it('is frozen', () => {
    const board = createVirtBoard();
    expect(Object.isFrozen(board)).toBe(true);
    expect(Object.isFrozen(board.ram)).toBe(true);
    expect(Object.isFrozen(board.pool.reservations)).toBe(true);
  });
});

describe.each(SIZES)('createVirtBoard -m $label', ({ ramBytes, ramEnd }) => {
  it('has one RAM range [0x4000_0000, 0x4000_0000 + ramBytes)', () => {
    const board = createVirtBoard({ ramBytes });
    expect(plain(board.ram)).toEqual([{ name: 'ram', start: 0x4000_0000, end: ramEnd }]);
  });

  it('MMIO windows overlap neither RAM nor each other', () => {
    const board = createVirtBoard({ ramBytes });
    for (const w of board.mmio) {
      for (const r of board.ram) expect(w.start < r.end && r.start < w.end).toBe(false);
    }
    for (let i = 1; i < board.mmio.length; i++) {
      expect(board.mmio[i]!.start).toBeGreaterThanOrEqual(board.mmio[i - 1]!.end);
    }
  });

  it('seed pool: [0x4000_0000, 0xFC00_0000), reserve below the image end, reserve above the RAM end if inside', () => {
    const plan = createVirtBoard({ ramBytes, pool: 'seed' }).pool;
    expect(plan.mode).toBe('seed');
    expect(plain(plan.ranges)).toEqual([{ name: 'seed-pool', start: SEED_POOL_START, end: SEED_POOL_END }]);
    const expected = [{ start: 0x4000_0000, end: 0x4028_0000 }];
    if (ramEnd < SEED_POOL_END) expected.push({ start: ramEnd, end: SEED_POOL_END });
    expect(plan.reservations.map(({ start, end }) => ({ start, end }))).toEqual(expected);
    const unusedNote = plan.notes.some(
      (n) => n.includes('[0xFC00_0000,') && n.includes('unused in seed mode'),
    );
    expect(unusedNote).toBe(ramEnd > SEED_POOL_END);
  });

  it('all-ram pool: all RAM, reserving [0x4000_0000, 0x4008_0000) (boot stub, DTB) and the image', () => {
    const plan = createVirtBoard({ ramBytes, pool: 'all-ram' }).pool;
    expect(plan.mode).toBe('all-ram');
    expect(plain(plan.ranges)).toEqual([{ name: 'ram', start: 0x4000_0000, end: ramEnd }]);
    expect(plain(plan.reservations)).toEqual([
      {
        start: 0x4000_0000,
        end: 0x4008_0000,
        reason: 'RAM base up to the kernel image: QEMU boot stub, and the DTB for ELF kernels',
      },
      { start: 0x4008_0000, end: 0x4028_0000, reason: 'kernel image' },
    ]);
  });

  it('createMemory() has the RAM and a device-less UART0 whose read is a BusError naming the window', () => {
    const memory = createVirtBoard({ ramBytes }).createMemory();
    expect(memory.ramBytes).toBe(ramBytes);
    expect(memory.isRam(0x4000_0000)).toBe(true);
    expect(memory.isRam(ramEnd - 1)).toBe(true);
    expect(memory.isRam(ramEnd)).toBe(false);
    expect(() => memory.read32(0x0900_0000)).toThrow(BusError);
    expect(() => memory.read32(0x0900_0000)).toThrow(/MMIO window uart0 has no device attached/);
    memory.write32(ramEnd - 4, 0xdead_beef);
    expect(memory.read32(ramEnd - 4)).toBe(0xdead_beef);
  });
});

describe('createVirtBoard: options', () => {
  it('a Linux >= 5.8 Image at 0x4020_0000 moves the reservations with it (arch-facts C1)', () => {
    const seed = createVirtBoard({ kernelLoadAddress: 0x4020_0000 });
    expect(seed.kernelImage).toEqual({ start: 0x4020_0000, end: 0x4040_0000 });
    expect(seed.pool.reservations.map(({ start, end }) => [start, end])).toEqual([
      [0x4000_0000, 0x4040_0000],
      [0x8000_0000, 0xfc00_0000],
    ]);
    const all = createVirtBoard({ kernelLoadAddress: 0x4020_0000, pool: 'all-ram' });
    expect(all.pool.reservations.map(({ start, end }) => [start, end])).toEqual([
      [0x4000_0000, 0x4020_0000],
      [0x4020_0000, 0x4040_0000],
    ]);
  });

  it('rounds an unaligned image end up to the next frame in the reservations', () => {
    const board = createVirtBoard({ kernelImageBytes: 0x12345, pool: 'all-ram' });
    expect(board.pool.reservations.at(-1)).toEqual({
      start: 0x4008_0000,
      end: 0x4009_3000,
      reason: 'kernel image',
    });
  });

  it.each([123, 0, -2 * MiB, 3 * MiB, 1.5, VIRT_MAX_RAM_BYTES + 2 * MiB, Number.NaN])(
    'rejects ramBytes %s with an InvalidArgumentError naming the value',
    (ramBytes) => {
      let caught: unknown;
      try {
        createVirtBoard({ ramBytes });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvalidArgumentError);
      expect(isMmError(caught) && caught.code).toBe('E_INVALID_ARGUMENT');
      expect((caught as Error).message).toContain(`virt ramBytes: ${ramBytes}`);
      expect((caught as Error).message).toContain('multiple of 2 MiB');
    },
  );

  it('rejects ramBytes 123 with the exact message', () => {
    expect(() => createVirtBoard({ ramBytes: 123 })).toThrow(
      'virt ramBytes: 123 is invalid; expected a multiple of 2 MiB from 2 MiB to 255 GiB (like -m)',
    );
  });

  it('rejects a bad pool mode, image size and load address, naming the value', () => {
    expect(() => createVirtBoard({ pool: 'buddy' as never })).toThrow(/virt pool: "buddy" is invalid/);
    expect(() => createVirtBoard({ kernelImageBytes: 0 })).toThrow(/virt kernelImageBytes: 0 is invalid/);
    expect(() => createVirtBoard({ kernelLoadAddress: 0x4008_0800 })).toThrow(
      /virt kernelLoadAddress: 1074268160/,
    );
    expect(() => createVirtBoard({ kernelLoadAddress: 0x3000_0000 })).toThrow(InvalidArgumentError);
  });

  it('rejects an image that does not fit in RAM', () => {
    expect(() => createVirtBoard({ ramBytes: 2 * MiB })).toThrow(/virt kernel image: "0x4008_0000\+2097152"/);
  });
});

describe('Board.createMemory devices', () => {
  it('attaches a device by window name; offsets are relative to the window', () => {
    const seen: [number, number][] = [];
    const uart: MmioDevice = {
      read: (offset) => 0x100 + offset,
      write: (offset, _size, value) => {
        seen.push([offset, Number(value)]);
      },
    };
    const memory = createVirtBoard().createMemory({ uart0: uart });
    expect(memory.read32(0x0900_0018)).toBe(0x118);
    memory.write8(0x0900_0000, 0x41);
    expect(seen).toEqual([[0, 0x41]]);
    expect(() => memory.read32(0x0901_0000)).toThrow(/MMIO window rtc has no device attached/);
  });

  it('rejects a device for a window the board does not have', () => {
    expect(() => createVirtBoard().createMemory({ uart7: { read: () => 0, write: () => {} } })).toThrow(
      /virt device window: "uart7" is invalid/,
    );
  });

  it('an address in no window and no RAM is a plain bus error', () => {
    const memory = createVirtBoard().createMemory();
    expect(() => memory.read32(0x0805_0000)).toThrow(/no RAM or device at this address/);
  });
});

describe('Board.describe', () => {
  it('lists the memory map, collapsing the virtio transports, and the pool plan', () => {
    const text = createVirtBoard().describe();
    const lines = text.split('\n');
    expect(lines[0]).toBe('QEMU virt (aarch64), 1 GiB RAM');
    expect(lines).toContain('  [0x0900_0000, 0x0900_1000)       4 KiB  MMIO  uart0');
    expect(text).toContain('virtio-mmio.0 … virtio-mmio.31 (32 × 512 B)');
    expect(lines).toContain('  [0x4000_0000, 0x8000_0000)       1 GiB  RAM   ram');
    expect(lines).toContain('Page allocator pool (seed): [0x4000_0000, 0xFC00_0000) = 770048 frames');
    expect(text).toContain('reserved [0x8000_0000, 0xFC00_0000) (1.94 GiB): above the RAM end');
  });
});
