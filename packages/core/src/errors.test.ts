import { describe, expect, it } from 'vitest';
import {
  AddressError,
  AlignmentError,
  AlreadyMappedError,
  AuditError,
  BusError,
  DescriptorError,
  DoubleFreeError,
  describeValue,
  HostLimitError,
  hex,
  InvalidArgumentError,
  isMmError,
  MmError,
  NoMemoryError,
  NonCanonicalError,
  NotMappedError,
  NotOwnedError,
  OutOfRangeError,
  StaleTlbError,
  UnrepresentableError,
} from './errors.js';

describe('MmError codes are stable', () => {
  const cases: [MmError, string, string, string][] = [
    [
      new AddressError('va', 'x', 'a bigint'),
      'E_ADDRESS',
      'AddressError',
      'va: "x" is not a valid address; expected a bigint',
    ],
    [
      new AlignmentError('pa', 0x1001n, 0x1000n),
      'E_ALIGNMENT',
      'AlignmentError',
      'pa: 0x1001 is not aligned to 0x1000',
    ],
    [
      new OutOfRangeError('level', 7, '1..4'),
      'E_RANGE',
      'OutOfRangeError',
      'level: 7 is out of range; expected 1..4',
    ],
    [
      new NonCanonicalError(0x8000_0000_0000n, 48),
      'E_NON_CANONICAL',
      'NonCanonicalError',
      'virtual address 0x0000800000000000 is not canonical for a 48-bit address space',
    ],
    [
      new BusError(0x0900_0000, 4, 'MMIO window uart0 has no device attached'),
      'E_BUS',
      'BusError',
      'bus error: 4-byte access at physical 0x9000000: MMIO window uart0 has no device attached',
    ],
    [
      new UnrepresentableError('aarch64', 3, 'no blocks at L3'),
      'E_UNREPRESENTABLE',
      'UnrepresentableError',
      'aarch64: cannot encode at level 3: no blocks at L3',
    ],
    [
      new DescriptorError('x86_64', 0x8000_0000_0010_2007n, 'reserved bit'),
      'E_DESCRIPTOR',
      'DescriptorError',
      'x86_64: descriptor 0x8000000000102007: reserved bit',
    ],
    [
      new NoMemoryError('page-table'),
      'E_NO_MEMORY',
      'NoMemoryError',
      'out of memory while allocating a frame for page-table',
    ],
    [
      new DoubleFreeError(0x4000_1000),
      'E_DOUBLE_FREE',
      'DoubleFreeError',
      'double free of frame at physical 0x40001000',
    ],
    [
      new NotOwnedError(0xfc00_1000, 'outside the pool'),
      'E_NOT_OWNED',
      'NotOwnedError',
      'free of frame at physical 0xFC001000 that the allocator does not own: outside the pool',
    ],
    [
      new AlreadyMappedError(0x40_0000n),
      'E_ALREADY_MAPPED',
      'AlreadyMappedError',
      'virtual address 0x0000000000400000 is already mapped',
    ],
    [
      new NotMappedError(0x40_0000n),
      'E_NOT_MAPPED',
      'NotMappedError',
      'virtual address 0x0000000000400000 is not mapped',
    ],
    [
      new InvalidArgumentError('ramGiB', 3, 'one of 1, 2, 4, 8'),
      'E_INVALID_ARGUMENT',
      'InvalidArgumentError',
      'ramGiB: 3 is invalid; expected one of 1, 2, 4, 8',
    ],
    [
      new StaleTlbError(0x40_0000n, 5, 'page was unmapped'),
      'E_STALE_TLB',
      'StaleTlbError',
      'stale TLB entry used for 0x0000000000400000 (ASID 5): page was unmapped',
    ],
    [new AuditError(['a', 'b']), 'E_AUDIT', 'AuditError', 'audit failed with 2 problem(s):\n  a\n  b'],
  ];

  it.each(cases)('%s has its code, name and message', (err, code, name, message) => {
    expect(err.code).toBe(code);
    expect(err.name).toBe(name);
    expect(err.message).toBe(message);
    expect(err).toBeInstanceOf(MmError);
    expect(err).toBeInstanceOf(Error);
    expect(isMmError(err)).toBe(true);
  });

  it('keeps the offending values as fields', () => {
    const e = new NotOwnedError(0x1000, 'reserved');
    expect(e.pa).toBe(0x1000);
    expect(e.reason).toBe('reserved');
    const b = new BusError(8, 2, 'x');
    expect([b.pa, b.sizeBytes]).toEqual([8, 2]);
    expect(new AuditError(['p']).problems).toEqual(['p']);
  });

  it('passes a cause through', () => {
    const cause = new Error('inner');
    expect(new MmError('E_AUDIT', 'outer', { cause }).cause).toBe(cause);
  });
});

describe('isMmError', () => {
  it('recognises a structurally-equal error from another copy of @mmkit/core (shared Symbol.for brand)', () => {
    const foreign = Object.assign(new Error('from another copy'), {
      code: 'E_BUS',
      [Symbol.for('@mmkit/core/MmError')]: true,
    });
    expect(foreign instanceof MmError).toBe(false);
    expect(isMmError(foreign)).toBe(true);
  });

  it('rejects plain errors, look-alikes without the brand, and non-objects', () => {
    expect(isMmError(new Error('x'))).toBe(false);
    expect(isMmError({ code: 'E_BUS', message: 'x' })).toBe(false);
    expect(isMmError({ [Symbol.for('@mmkit/core/MmError')]: 'yes' })).toBe(false);
    expect(isMmError(null)).toBe(false);
    expect(isMmError(undefined)).toBe(false);
    expect(isMmError('E_BUS')).toBe(false);
  });
});

describe('hex', () => {
  it('formats numbers and bigints in upper case with optional padding', () => {
    expect(hex(255)).toBe('0xFF');
    expect(hex(255n, 4)).toBe('0x00FF');
    expect(hex(0)).toBe('0x0');
    expect(hex(0xffff_ffff_ffff_ffffn, 16)).toBe('0xFFFFFFFFFFFFFFFF');
    expect(hex(2 ** 52)).toBe('0x10000000000000');
  });
});

describe('hex and value rendering (regression: RangeError, "0x-1", "Cannot convert a Symbol")', () => {
  it("hex refuses what has no hex form, naming the value and the way to a two's-complement view", () => {
    expect(() => hex(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => hex(1.5)).toThrow(/hex value: 1.5 \(not an integer\) is invalid/);
    expect(() => hex(-1n)).toThrow(
      "hex value: -0x1 (bigint) is invalid; expected a non-negative bigint or safe-integer number (for two's complement pass BigInt.asUintN(width, value))",
    );
    expect(() => hex(-1)).toThrow(InvalidArgumentError);
    expect(() => hex(2 ** 53)).toThrow(InvalidArgumentError);
    expect(() => hex(Symbol('s') as unknown as number)).toThrow(/Symbol\(s\)/);
    expect(() => hex(1, -1)).toThrow(/hex pad/);
    expect(() => hex(1, 65)).toThrow(/hex pad/);
    expect(hex(BigInt.asUintN(64, -1n))).toBe('0xFFFFFFFFFFFFFFFF');
    expect(hex(0x4000n, 8)).toBe('0x00004000');
  });

  it('describeValue renders anything without throwing', () => {
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    expect(describeValue(Symbol('x'))).toBe('Symbol(x)');
    expect(describeValue(-255n)).toBe('-0xFF (bigint)');
    expect(describeValue(Object.create(null))).toBe('{}');
    expect(describeValue({ a: 1n })).toBe('{"a":"1n"}');
    expect(describeValue(hostile)).toBe('{"toString":"[function toString]"}');
    expect(describeValue(() => 1)).toBe('function (anonymous)');
    expect(describeValue('x'.repeat(500)).length).toBeLessThanOrEqual(120);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(describeValue(circular)).toBe('[object Object]');
  });

  it('error constructors never throw on garbage and stay readable MmErrors', () => {
    const s = Symbol('what');
    const errors = [
      new AddressError(s as unknown as string, Symbol('v'), s as unknown as string),
      new AlignmentError('pa', 1.5 as unknown as bigint, null as unknown as bigint),
      new NonCanonicalError('x' as unknown as bigint, s as unknown as number),
      new BusError(Number.NaN, s as unknown as number, {} as unknown as string),
      new DescriptorError(s as unknown as string, -1n, null as unknown as string),
      new AuditError(null as unknown as string[]),
      new MmError('E_ADDRESS', s as unknown as string),
    ];
    for (const e of errors) {
      expect(isMmError(e)).toBe(true);
      expect(typeof e.message).toBe('string');
    }
    expect(errors[0]!.message).toBe('Symbol(what): Symbol(v) is not a valid address; expected Symbol(what)');
    expect(errors[1]!.message).toBe('pa: 1.5 (not an integer) is not aligned to null');
  });

  it('HostLimitError has a stable code and names the limit', () => {
    const e = new HostLimitError('frame slab', 1048576, 0, 4096);
    expect(e.code).toBe('E_HOST_LIMIT');
    expect(e.message).toMatch(
      /frame slab: needs 1048576 more host bytes with 0 in use; the limit is 4096 bytes/,
    );
  });
});
