/**
 * Regression tests: every address helper accepts a bigint or a safe-integer number and refuses
 * anything else with a typed MmError that names the argument (DESIGN "Numbers"); before, plain-JS
 * callers got TypeError ("Cannot mix BigInt and other types") or RangeError.
 */
import { describe, expect, it } from 'vitest';
import {
  alignDown,
  alignUp,
  assertAligned,
  assertCanonical,
  formatRange,
  hi32,
  isAligned,
  isCanonical,
  join64,
  lo32,
  pageOffsetOf,
  range,
  rangeContains,
  rangeSize,
  signExtend,
  split64,
  toPhysical,
  vaOf,
  vpnOf,
} from './address.js';
import { AddressError, InvalidArgumentError, isMmError } from './errors.js';
import { EventStream } from './events.js';
import { Tlb } from './tlb.js';

describe('address helpers take bigint and safe numbers alike', () => {
  it('numbers and bigints give the same results', () => {
    expect(vpnOf(0x4000_1234)).toBe(vpnOf(0x4000_1234n));
    expect(pageOffsetOf(0x4000_1234)).toBe(0x234);
    expect(alignDown(0x1fff, 0x1000)).toBe(0x1000n);
    expect(alignUp(0x1001, 4096n)).toBe(0x2000n);
    expect(isAligned(0x2000, 0x1000)).toBe(true);
    expect(isCanonical(0x7fff_ffff_f000, 48)).toBe(true);
    expect(signExtend(0x8000_0000_0000, 48)).toBe(0xffff_8000_0000_0000n);
    expect(lo32(0x1_0000_0005n)).toBe(5);
    expect(hi32(0x1_0000_0005n)).toBe(1);
    expect(rangeContains(range(0x1000, 0x2000), 0x1fff)).toBe(true);
    expect(split64(-1n)).toEqual([0xffff_ffff, 0xffff_ffff]);
    expect(join64(-1, 0x8000_0000 | 0)).toBe(0x8000_0000_ffff_ffffn);
  });

  it('anything else is an AddressError or InvalidArgumentError naming the argument', () => {
    const bad: unknown[] = [
      null,
      undefined,
      Number.NaN,
      1.5,
      -1,
      2 ** 53,
      -1n,
      2n ** 64n,
      '4096',
      Symbol('a'),
      {},
      [],
    ];
    const calls: [string, (v: unknown) => unknown][] = [
      ['vpnOf', (v) => vpnOf(v as bigint)],
      ['pageOffsetOf', (v) => pageOffsetOf(v as bigint)],
      ['alignDown value', (v) => alignDown(v as bigint, 4096n)],
      ['alignUp value', (v) => alignUp(v as bigint, 4096n)],
      ['isAligned value', (v) => isAligned(v as bigint, 4096n)],
      ['assertAligned value', (v) => assertAligned(v as bigint, 4096n, 'x')],
      ['isCanonical', (v) => isCanonical(v as bigint, 48)],
      ['assertCanonical', (v) => assertCanonical(v as bigint, 48)],
      ['signExtend', (v) => signExtend(v as bigint, 48)],
      ['lo32', (v) => lo32(v as number)],
      ['hi32', (v) => hi32(v as number)],
      ['rangeContains', (v) => rangeContains(range(0, 1), v as bigint)],
      ['toPhysical', (v) => toPhysical(v as number)],
    ];
    for (const [name, call] of calls) {
      for (const v of bad) {
        let thrown: unknown;
        try {
          call(v);
        } catch (e) {
          thrown = e;
        }
        expect(
          thrown instanceof AddressError || thrown instanceof InvalidArgumentError,
          `${name}(${String(v)})`,
        ).toBe(true);
      }
    }
    expect(() => vpnOf('0x1000' as unknown as bigint)).toThrow(
      'virtual address: "0x1000" is not a valid address; expected a bigint or a number',
    );
  });

  it('widths, alignments, ranges, halves and page numbers are checked too', () => {
    expect(() => alignUp(0x1000n, 3n)).toThrow(
      /alignment: 0x3 \(bigint\) is invalid; expected a power of two/,
    );
    expect(() => alignDown(0x1000n, 0)).toThrow(InvalidArgumentError);
    expect(() => isCanonical(0n, 65)).toThrow(/vaBits: 65 is invalid/);
    expect(() => signExtend(0n, 1.5)).toThrow(/vaBits/);
    expect(() => toPhysical(0, 'pa', 64)).toThrow(/paBits/);
    expect(() => rangeSize(null as never)).toThrow(/range: null is invalid/);
    expect(() => rangeSize({ start: 2n, end: 1n })).toThrow(InvalidArgumentError);
    expect(() => formatRange({ start: 0, end: 1 } as never)).toThrow(InvalidArgumentError);
    expect(() => join64(2 ** 32, 0)).toThrow(/low word/);
    expect(() => join64(0, 1.5)).toThrow(/high word/);
    expect(() => split64(2n ** 64n)).toThrow(/64-bit value/);
    expect(() => vaOf(-1)).toThrow(/vpn/);
    expect(() => vaOf(1, 4096)).toThrow(/page offset/);
    expect(() => range(0, 1, Symbol('w') as never)).not.toThrow();
    expect(() => range(1, 0, Symbol('w') as never)).toThrow(/Symbol\(w\) end/);
  });
});

describe('Tlb and EventStream validate their arguments', () => {
  it('Tlb.fill refuses garbage instead of storing NaN tags', () => {
    const tlb = new Tlb(16);
    expect(() => tlb.fill(1.5, 0, false, 1, 0, 0, 1, 1, 1)).toThrow(/vpn: 1.5/);
    expect(() => tlb.fill(1, 0, 0 as never, 1, 0, 0, 1, 1, 1)).toThrow(/global/);
    expect(() => tlb.fill(1, 0, false, -1, 0, 0, 1, 1, 1)).toThrow(/pfn/);
    expect(() => tlb.fill(1, 0, false, 1, 256, 0, 1, 1, 1)).toThrow(/perms/);
    expect(() => tlb.fill(5, 0, false, 1, 0, 0, 1, 6, 1)).toThrow(/block/);
    expect(() => tlb.fill(1, Number.NaN, false, 1, 0, 0, 1, 1, 1)).toThrow(/ASID/);
    expect(tlb.occupancy).toBe(0);
    expect(() => tlb.lookup(1n as never, 0)).toThrow(InvalidArgumentError);
    expect(tlb.lookup(1.5, 0)).toBe(-1);
    expect(() => tlb.invalidatePage(Number.NaN, 0, false, false)).toThrow(/vpn/);
    expect(() => tlb.invalidateAsid('1' as never)).toThrow(/ASID/);
  });

  it('EventStream refuses a listener, event or callbacks of the wrong kind', () => {
    const s = new EventStream();
    expect(() => s.on(null as never)).toThrow(/listener: null is invalid; expected a function/);
    s.on(() => {});
    expect(() => s.emit(null as never)).toThrow(/event/);
    expect(() => s.hold(null as never, () => {})).toThrow(/fn/);
    for (const e of [() => s.on(1 as never), () => s.emit('x' as never)]) {
      try {
        e();
      } catch (err) {
        expect(isMmError(err)).toBe(true);
      }
    }
  });
});
