import { InvalidArgumentError, isMmError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { BOARD_IDS, createBoard, isBoardId } from './create-board.js';
import { formatPa, formatRange, formatSize } from './format.js';
import { carveRegion } from './mmio-layout.js';
import { clipReservations } from './pool-plan.js';

describe('createBoard', () => {
  it('knows virt, rpi4b and pc', () => {
    expect(BOARD_IDS).toEqual(['virt', 'rpi4b', 'pc']);
    expect(createBoard('virt').id).toBe('virt');
    expect(createBoard('rpi4b', { ramGiB: 8 }).ram).toHaveLength(3);
    expect(createBoard('virt', { ramBytes: 2 ** 31 }).ram[0]!.end).toBe(0xc000_0000);
    expect(isBoardId('rpi4b')).toBe(true);
    expect(isBoardId('pc')).toBe(true);
    expect(isBoardId('raspi3b')).toBe(false);
    expect(createBoard('pc', { flavour: '32' }).defaultArch).toBe('x86-32');
  });

  it('throws an InvalidArgumentError naming an unknown id and the valid ones', () => {
    let caught: unknown;
    try {
      createBoard('raspi3b');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect(isMmError(caught) && caught.code).toBe('E_INVALID_ARGUMENT');
    expect((caught as Error).message).toBe(
      'board id: "raspi3b" is invalid; expected one of "virt", "rpi4b", "pc"',
    );
  });

  it('passes option errors through from the factory', () => {
    expect(() => createBoard('rpi4b', { ramGiB: 3 as never })).toThrow(/rpi4b ramGiB: 3/);
    expect(() => createBoard('virt', { ramBytes: 123 })).toThrow(/virt ramBytes: 123/);
  });
});

describe('formatting helpers', () => {
  it('groups hex digits by four and pads to 8 digits', () => {
    expect(formatPa(0)).toBe('0x0000_0000');
    expect(formatPa(0x4008_0000)).toBe('0x4008_0000');
    expect(formatPa(0x1_0000_0000)).toBe('0x1_0000_0000');
    expect(formatPa(0x40_0000_0000)).toBe('0x40_0000_0000');
    expect(formatRange(0xfe20_1000, 0xfe20_1200)).toBe('[0xFE20_1000, 0xFE20_1200)');
  });

  it('formats sizes in binary units', () => {
    expect(formatSize(24)).toBe('24 B');
    expect(formatSize(4096)).toBe('4 KiB');
    expect(formatSize(3 * 2 ** 30)).toBe('3 GiB');
    expect(formatSize(0x00f6_0000)).toBe('15.38 MiB');
  });
});

describe('carveRegion', () => {
  it('fills the gaps around devices with windows named region@address', () => {
    const windows = carveRegion('r', 0x1000, 0x5000, [
      { name: 'b', start: 0x3000, end: 0x3100 },
      { name: 'a', start: 0x1000, end: 0x2000 },
    ]);
    expect(windows).toEqual([
      { name: 'a', start: 0x1000, end: 0x2000 },
      { name: 'r@0x0000_2000', start: 0x2000, end: 0x3000 },
      { name: 'b', start: 0x3000, end: 0x3100 },
      { name: 'r@0x0000_3100', start: 0x3100, end: 0x5000 },
    ]);
  });

  it('rejects overlapping or escaping devices', () => {
    expect(() =>
      carveRegion('r', 0, 0x1000, [
        { name: 'a', start: 0, end: 0x800 },
        { name: 'b', start: 0x400, end: 0x900 },
      ]),
    ).toThrow(/device window b/);
    expect(() => carveRegion('r', 0, 0x1000, [{ name: 'a', start: 0x800, end: 0x1800 }])).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('clipReservations', () => {
  it('rounds outwards to frames, clips to the ranges, splits across ranges and sorts', () => {
    const ranges = [
      { name: 'a', start: 0x1000, end: 0x4000 },
      { name: 'b', start: 0x8000, end: 0x9000 },
    ];
    expect(
      clipReservations(
        [
          { start: 0x8800, end: 0x8801, reason: 'y' },
          { start: 0x0, end: 0x2001, reason: 'x' },
          { start: 0x3000, end: 0x10000, reason: 'z' },
          { start: 0x5000, end: 0x6000, reason: 'outside' },
        ],
        ranges,
      ),
    ).toEqual([
      { start: 0x1000, end: 0x3000, reason: 'x' },
      { start: 0x3000, end: 0x4000, reason: 'z' },
      { start: 0x8000, end: 0x9000, reason: 'y' },
      { start: 0x8000, end: 0x9000, reason: 'z' },
    ]);
  });
});
