/**
 * ESR_EL1 golden values (arch-facts A9): what Linux prints in "Unable to handle
 * kernel paging request" / "unhandled level 3 translation fault" messages.
 */
import { DescriptorError, type FaultKind } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { exceptionClassName } from './esr.js';
import { Aarch64SyndromeCodec } from './syndrome-codec.js';

const codec = new Aarch64SyndromeCodec();

describe('ESR_EL1 decode and encode (arch-facts A9)', () => {
  const golden: [number, string, FaultKind, number, 0 | 1 | 2, 0 | 1][] = [
    [0x9200_0007, 'Data Abort', 'translation', 1, 0, 0], // EL0 read, translation L3
    [0x9200_004f, 'Data Abort', 'permission', 1, 1, 0], // EL0 write, permission L3
    [0x9600_004f, 'Data Abort', 'permission', 1, 1, 1], // EL1 write, permission L3
    [0x9600_000b, 'Data Abort', 'access-flag', 1, 0, 1], // EL1 read, access flag L3
    [0x9200_0046, 'Data Abort', 'translation', 2, 1, 0], // EL0 write, translation L2
    [0x8200_0007, 'Instruction Abort', 'translation', 1, 2, 0], // EL0 fetch, translation L3
    [0x8600_000f, 'Instruction Abort', 'permission', 1, 2, 1], // EL1 fetch, permission L3
    [0x9200_0004, 'Data Abort', 'translation', 4, 0, 0], // translation level 0
    [0x9600_0021, 'Data Abort', 'alignment', 0, 0, 1], // alignment fault
    [0x9600_0002, 'Data Abort', 'address-size', 2, 0, 1], // address size L2
  ];
  it.each(golden)(
    'A9: 0x%s decodes exactly and re-encodes',
    (esr, exception, kind, level, access, privilege) => {
      expect(codec.decode(BigInt(esr))).toEqual({ exception, kind, level, access, privilege });
      expect(codec.encode({ kind, level, access, privilege })).toBe(BigInt(esr));
    },
  );

  it('A9: names the registers ESR_EL1 / FAR_EL1', () => {
    expect([codec.syndromeRegister, codec.addressRegister]).toEqual(['ESR_EL1', 'FAR_EL1']);
  });

  it('A9: CM = 1 (cache maintenance) reports WnR = 1 but is a read, as Linux is_write_abort says', () => {
    expect(codec.decode(0x9600_0147n).access).toBe(0);
  });

  it('A9: LPA2 level -1 codes decode to internal level 5; walk aborts have a level but kind other', () => {
    expect(codec.decode(0x9600_002bn)).toMatchObject({ kind: 'translation', level: 5 });
    expect(codec.decode(0x9600_0029n)).toMatchObject({ kind: 'address-size', level: 5 });
    expect(codec.decode(0x9600_0017n)).toMatchObject({ kind: 'other', level: 1 });
    expect(codec.decode(0x9600_0010n)).toMatchObject({ kind: 'other', level: 0 });
  });

  it.each([
    ['SVC #0', 0x5600_0000n],
    ['Unknown reason', 0x0200_0000n],
    ['PC alignment', 0x8a00_0000n],
    ['SP alignment', 0x9a00_0000n],
    ['BRK', 0xf200_0000n],
  ])('A9: %s is not an abort: decode throws DescriptorError', (_, esr) => {
    expect(() => codec.decode(esr)).toThrow(DescriptorError);
  });

  it('A9: non-canonical encodes as Translation fault level 0 (QEMU); reserved-bit has no AArch64 code', () => {
    expect(codec.encode({ kind: 'non-canonical', level: 0, access: 0, privilege: 0 })).toBe(0x9200_0004n);
    expect(() => codec.encode({ kind: 'reserved-bit', level: 1, access: 0, privilege: 0 })).toThrow(
      /AArch64 stage-1 fault/,
    );
    expect(() => codec.encode({ kind: 'permission', level: 5, access: 0, privilege: 0 })).toThrow(
      /AArch64 stage-1 fault/,
    );
    expect(() => codec.encode({ kind: 'translation', level: 1, access: 3 as 0, privilege: 0 })).toThrow(
      /access/,
    );
    expect(() => codec.decode(-1n)).toThrow(/ESR_EL1/);
  });
});

describe('ESR_EL1 describe (arch-facts A9)', () => {
  it('A9: a data abort lists EC, IL, ISS and every abort ISS field', () => {
    const fields = codec.describe(0x9200_004fn);
    expect(fields.map((f) => f.name)).toEqual([
      'EC',
      'IL',
      'ISS',
      'ISV',
      'SAS',
      'SSE',
      'SRT',
      'SF',
      'AR',
      'FnV',
      'EA',
      'CM',
      'S1PTW',
      'WnR',
      'DFSC',
    ]);
    const by = Object.fromEntries(fields.map((f) => [f.name, f]));
    expect(by.EC).toMatchObject({
      bits: '[31:26]',
      value: 0x24n,
      meaning: 'Data Abort from a lower Exception level (EL0)',
    });
    expect(by.WnR).toMatchObject({ value: 1n, meaning: 'write' });
    expect(by.DFSC).toMatchObject({ bits: '[5:0]', value: 0x0fn, meaning: 'Permission fault, level 3' });
  });

  it('A9: an instruction abort has IFSC and no data-only fields; other classes stop after ISS', () => {
    expect(codec.describe(0x8600_000fn).map((f) => f.name)).toEqual([
      'EC',
      'IL',
      'ISS',
      'FnV',
      'EA',
      'S1PTW',
      'IFSC',
    ]);
    expect(codec.describe(0x5600_0000n).map((f) => f.name)).toEqual(['EC', 'IL', 'ISS']);
    expect(codec.describe(0x1_5600_0000n).map((f) => f.name)).toContain('ISS2');
  });

  it.each([
    [0x00, 'Unknown reason'],
    [0x15, 'SVC instruction execution in AArch64 state'],
    [0x16, 'HVC instruction execution in AArch64 state'],
    [0x17, 'SMC instruction execution in AArch64 state'],
    [0x18, 'Trapped MSR, MRS or System instruction'],
    [0x20, 'Instruction Abort from a lower Exception level (EL0)'],
    [0x21, 'Instruction Abort taken without a change in Exception level (EL1)'],
    [0x22, 'PC alignment fault'],
    [0x24, 'Data Abort from a lower Exception level (EL0)'],
    [0x25, 'Data Abort taken without a change in Exception level (EL1)'],
    [0x26, 'SP alignment fault'],
    [0x2f, 'SError exception'],
    [0x3c, 'BRK instruction execution in AArch64 state'],
    [0x3f, 'unallocated exception class 0x3F'],
  ])('A9: EC 0x%s is named', (ec, name) => {
    expect(exceptionClassName(ec)).toBe(name);
  });
});
