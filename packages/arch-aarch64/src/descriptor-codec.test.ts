/**
 * Golden descriptor vectors from real systems: the arch-facts A5 worked encodings
 * and Linux arm64 `pgtable-prot.h` values, decoded and (where the encoding is
 * canonical for mmkit) encoded bit for bit.
 */
import {
  isMmError,
  type LeafAttributes,
  type NeutralEntry,
  OPEN_TABLE,
  type Permissions,
  split64,
  UnrepresentableError,
} from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { createAarch64Arch } from './backend.js';

const NONE: Permissions = { read: false, write: false, execute: false };
const R__: Permissions = { read: true, write: false, execute: false };
const RW_: Permissions = { read: true, write: true, execute: false };
const R_X: Permissions = { read: true, write: false, execute: true };
const RWX: Permissions = { read: true, write: true, execute: true };
const __X: Permissions = { read: false, write: false, execute: true };

/** MAIR of the A5 worked examples: Attr0 = Device-nGnRnE, Attr1 = Normal WB. */
const A5_MAIR = 0x0000_0000_0000_ff00n;

const linux = createAarch64Arch(); // Linux MAIR_EL1_SET, HA + HD
const linuxNoHd = createAarch64Arch({ hardwareDirty: false });
const a5 = createAarch64Arch({ mair: A5_MAIR });
const a5NoHd = createAarch64Arch({ mair: A5_MAIR, hardwareDirty: false });

function decode(backend: typeof linux, value: bigint, level: number): NeutralEntry {
  const [lo, hi] = split64(value);
  return backend.codec.decode(lo, hi, level);
}

function encode(backend: typeof linux, entry: NeutralEntry, level: number): bigint {
  const { lo, hi } = backend.codec.encode(entry, level);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function leaf(
  pa: number,
  attrs: Partial<LeafAttributes> & Pick<LeafAttributes, 'user' | 'kernel'>,
): NeutralEntry {
  return {
    kind: 'leaf',
    pa,
    attrs: {
      global: true,
      memoryType: 'normal-wb',
      accessed: true,
      dirty: false,
      software: 0,
      contiguous: false,
      ...attrs,
    },
  };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isMmError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'not refused';
}

describe('arch-facts A5 worked encodings (MAIR Attr0 = Device-nGnRnE, Attr1 = Normal WB)', () => {
  it('A5: table at PA 0x4008_2000 = 0x0000_0000_4008_2003 at L0, L1 and L2', () => {
    for (const level of [4, 3, 2]) {
      expect(decode(a5, 0x0000_0000_4008_2003n, level)).toEqual({
        kind: 'table',
        pa: 0x4008_2000,
        attrs: OPEN_TABLE,
      });
      expect(encode(a5, { kind: 'table', pa: 0x4008_2000, attrs: OPEN_TABLE }, level)).toBe(
        0x0000_0000_4008_2003n,
      );
    }
  });

  it('A5: L2 2 MiB block, Normal idx1, inner-shareable, AF, EL1 RW, UXN = 0x0040_0000_4000_0705', () => {
    const entry = leaf(0x4000_0000, { user: NONE, kernel: RWX, dirty: true });
    expect(decode(a5, 0x0040_0000_4000_0705n, 2)).toEqual(entry);
    expect(decode(a5NoHd, 0x0040_0000_4000_0705n, 2)).toEqual(entry);
    // mmkit adds DBM (Linux PTE_WRITE, which pte_mkwrite sets on every writable leaf) with or
    // without HD; without HD the hardware ignores it, and the worked encoding decodes the same.
    expect(encode(a5NoHd, entry, 2)).toBe(0x0048_0000_4000_0705n);
    expect(encode(a5, entry, 2)).toBe(0x0048_0000_4000_0705n);
  });

  it('A5: L2 2 MiB block, Device idx0, AF, PXN + UXN = 0x0060_0000_0800_0401 (SH = 00 decodes; mmkit encodes SH = 11)', () => {
    const entry = leaf(0x0800_0000, { user: NONE, kernel: RW_, memoryType: 'device', dirty: true });
    expect(decode(a5NoHd, 0x0060_0000_0800_0401n, 2)).toEqual(entry);
    expect(encode(a5NoHd, entry, 2)).toBe(0x0068_0000_0800_0701n); // + DBM (PTE_WRITE)
  });

  it('A5: L3 page, PA 0x4000_1000, idx0 (Linux MT_NORMAL), SH = 11, AF, AP = 00 = 0x0000_0000_4000_1703', () => {
    // UXN = 0 with AP = 00: EL0 may execute but not read (arch-facts A6).
    const entry = leaf(0x4000_1000, { user: __X, kernel: RWX, dirty: true });
    expect(decode(linuxNoHd, 0x0000_0000_4000_1703n, 1)).toEqual(entry);
    expect(encode(linuxNoHd, entry, 1)).toBe(0x0008_0000_4000_1703n); // + DBM (PTE_WRITE)
    // With the A5 MAIR, index 0 is Device-nGnRnE.
    expect(decode(a5, 0x0000_0000_4000_1703n, 1)).toMatchObject({ attrs: { memoryType: 'device' } });
  });
});

describe('Linux arm64 pgtable-prot.h values (Linux MAIR_EL1_SET, HA + HD; arch-facts A8, A10)', () => {
  const PA = 0x4123_4000;
  const cases: [string, bigint, NeutralEntry][] = [
    [
      'PAGE_KERNEL (PROT_NORMAL: writable dirty, PXN, UXN, global)',
      0x0068_0000_0000_0703n,
      leaf(PA, { user: NONE, kernel: RW_, dirty: true }),
    ],
    ['PAGE_KERNEL_RO', 0x0060_0000_0000_0783n, leaf(PA, { user: NONE, kernel: R__ })],
    ['PAGE_KERNEL_ROX', 0x0040_0000_0000_0783n, leaf(PA, { user: NONE, kernel: R_X })],
    ['PAGE_KERNEL_EXEC', 0x0048_0000_0000_0703n, leaf(PA, { user: NONE, kernel: RWX, dirty: true })],
    [
      'PROT_DEVICE_nGnRE (ioremap)',
      0x0068_0000_0000_0713n,
      leaf(PA, { user: NONE, kernel: RW_, memoryType: 'device', dirty: true }),
    ],
    [
      'PROT_NORMAL_NC',
      0x0068_0000_0000_070bn,
      leaf(PA, { user: NONE, kernel: RW_, memoryType: 'normal-nc', dirty: true }),
    ],
    [
      'PAGE_SHARED (user RW writable-clean: DBM, AP[2] = 1, nG)',
      0x0068_0000_0000_0fc3n,
      leaf(PA, { user: RW_, kernel: RW_, global: false }),
    ],
    [
      'PAGE_SHARED after the first write (AP[2] cleared by hardware)',
      0x0068_0000_0000_0f43n,
      leaf(PA, { user: RW_, kernel: RW_, global: false, dirty: true }),
    ],
    ['PAGE_READONLY', 0x0060_0000_0000_0fc3n, leaf(PA, { user: R__, kernel: R__, global: false })],
    [
      'PAGE_READONLY_EXEC (user r-x)',
      0x0020_0000_0000_0fc3n,
      leaf(PA, { user: R_X, kernel: R__, global: false }),
    ],
    [
      'PAGE_EXECONLY (AP = 10, PXN, nG)',
      0x0020_0000_0000_0f83n,
      leaf(PA, { user: __X, kernel: R__, global: false }),
    ],
  ];
  it.each(cases)('%s decodes and encodes exactly', (_, bits, entry) => {
    const value = bits | BigInt(PA);
    expect(decode(linux, value, 1)).toEqual(entry);
    expect(encode(linux, entry, 1)).toBe(value);
  });

  it('A10: PAGE_KERNEL without HD decodes the same (writable = AP[2] = 0) and encodes Linux’s bytes (DBM = PTE_WRITE kept)', () => {
    const entry = leaf(PA, { user: NONE, kernel: RW_, dirty: true });
    expect(decode(linuxNoHd, 0x0068_0000_0000_0703n | BigInt(PA), 1)).toEqual(entry);
    // Linux sets PTE_WRITE (bit 51 = DBM) on every writable leaf whatever TCR_EL1.HD says; the
    // hardware ignores it without HD (arch-facts A10), so the architecture's form without it
    // decodes to the same entry.
    expect(encode(linuxNoHd, entry, 1)).toBe(0x0068_0000_0000_0703n | BigInt(PA));
    expect(decode(linuxNoHd, 0x0060_0000_0000_0703n | BigInt(PA), 1)).toEqual(entry);
  });

  it('A10: without HD, PAGE_SHARED (DBM + AP[2] = 1) decodes as read-only: DBM is ignored', () => {
    expect(decode(linuxNoHd, 0x0068_0000_0000_0fc3n, 1)).toMatchObject({
      attrs: { user: R__, kernel: R__, dirty: false },
    });
  });

  it('A1: a 2 MiB PMD block (PROT_SECT_NORMAL) and a 1 GiB PUD block decode with the block address only', () => {
    expect(decode(linux, 0x0068_0000_4020_0701n, 2)).toEqual(
      leaf(0x4020_0000, { user: NONE, kernel: RW_, dirty: true }),
    );
    // Bits [20:12] of an L2 block (RES0, nT at 16) are not part of the output address (QEMU masks them).
    expect(decode(linux, 0x0068_0000_4021_1701n, 2)).toMatchObject({ pa: 0x4020_0000 });
    expect(decode(linux, 0x0068_0001_4000_0701n, 3)).toEqual(
      leaf(0x1_4000_0000, { user: NONE, kernel: RW_, dirty: true }),
    );
  });

  it('A5: software bits [58:55], Contiguous (52), nG, AF and every AttrIndx decode', () => {
    const v = 0x07f0_0000_0000_0383n | BigInt(PA); // SW = 0b1111, UXN, PXN, Cont, AP = 10, SH = 11, AF = 0, nG = 0
    expect(decode(linux, v, 1)).toEqual(
      leaf(PA, { user: NONE, kernel: R__, accessed: false, software: 15, contiguous: true, global: true }),
    );
    const types = [0, 1, 2, 3, 4, 5, 6, 7].map(
      (i) =>
        (decode(linux, BigInt(PA) | 0x783n | BigInt(i << 2), 1) as { attrs: LeafAttributes }).attrs
          .memoryType,
    );
    expect(types).toEqual([
      'normal-wb',
      'normal-wb',
      'normal-nc',
      'device',
      'device',
      'device',
      'device',
      'device',
    ]);
  });
});

describe('table descriptors (arch-facts A5)', () => {
  it('A5: APTable[0] = bit 61, APTable[1] = bit 62, UXNTable = bit 60, PXNTable = bit 59', () => {
    const base = 0x4000_5003n;
    const one = (attrs: Partial<typeof OPEN_TABLE>) =>
      encode(linux, { kind: 'table', pa: 0x4000_5000, attrs: { ...OPEN_TABLE, ...attrs } }, 3);
    expect(one({ noUser: true })).toBe(base | (1n << 61n));
    expect(one({ readOnly: true })).toBe(base | (1n << 62n));
    expect(one({ noExecuteUser: true })).toBe(base | (1n << 60n));
    expect(one({ noExecuteKernel: true })).toBe(base | (1n << 59n));
    expect(decode(linux, base | (0xfn << 59n) | (1n << 63n), 2)).toEqual({
      kind: 'table',
      pa: 0x4000_5000,
      attrs: { noUser: true, readOnly: true, noExecuteUser: true, noExecuteKernel: true },
    });
  });

  it('A5: a table descriptor ignores bits [11:2] and [58:52]; bits [51:48] stay in the address (Address size fault)', () => {
    expect(decode(linux, 0x07f0_0000_4000_5ffbn | 3n, 3)).toMatchObject({ kind: 'table', pa: 0x4000_5000 });
    const [lo, hi] = split64(0x0001_0000_4000_5003n);
    expect(linux.codec.nextTable(lo, hi, 3)).toBe(2 ** 48 + 0x4000_5000);
    expect(decode(linux, 0x0001_0000_4000_5003n, 3)).toMatchObject({
      kind: 'table',
      pa: 2 ** 48 + 0x4000_5000,
    });
  });

  it('nextTable: table address at L0–L2, -1 for zero, -2 for pages, blocks, software and invalid entries', () => {
    const t = split64(0x0000_8000_4000_5003n);
    expect(linux.codec.nextTable(t[0], t[1], 4)).toBe(0x8000_4000_5000);
    expect(linux.codec.nextTable(t[0], t[1], 1)).toBe(-2); // 0b11 at L3 is a page
    expect(linux.codec.nextTable(0, 0, 2)).toBe(-1);
    expect(linux.codec.nextTable(0x4020_0701, 0, 2)).toBe(-2);
    expect(linux.codec.nextTable(0x10, 0, 2)).toBe(-2);
  });
});

describe('invalid and software entries', () => {
  it('A1: 0b01 at L3 and at L0 decodes as invalid with the reason', () => {
    expect(decode(linux, 0x4000_1701n, 1)).toEqual({
      kind: 'invalid',
      reason: expect.stringMatching(/reserved at L3/),
    });
    expect(decode(linux, 0x4000_0701n, 4)).toEqual({
      kind: 'invalid',
      reason: expect.stringMatching(/FEAT_LPA2/),
    });
  });

  it('software payloads live in bits [52:1] with bit 0 = 0', () => {
    expect(encode(linux, { kind: 'software', payload: 1 }, 1)).toBe(2n);
    expect(encode(linux, { kind: 'software', payload: 2 ** 52 - 1 }, 4)).toBe(0x001f_ffff_ffff_fffen);
    expect(decode(linux, 0x001f_ffff_ffff_fffen, 2)).toEqual({ kind: 'software', payload: 2 ** 52 - 1 });
    expect(decode(linux, 0x0020_0000_0000_0000n, 2)).toMatchObject({ kind: 'invalid' });
    expect(refusal(() => encode(linux, { kind: 'software', payload: 0 }, 1))).toMatch(
      /E_UNREPRESENTABLE.*payload 0/,
    );
    expect(refusal(() => encode(linux, { kind: 'software', payload: 2 ** 52 }, 1))).toMatch(
      /E_UNREPRESENTABLE/,
    );
  });

  it('decode never throws, even for a level that does not exist', () => {
    expect(linux.codec.decode(3, 0, 7)).toMatchObject({ kind: 'invalid' });
    expect(linux.codec.decode(0, 0, 7)).toEqual({ kind: 'absent' });
  });
});

describe('refusals: what AP[2:1]/UXN/PXN, HD and MAIR cannot express (arch-facts A6, A8, A10)', () => {
  const pa = 0x4000_0000;
  const base = leaf(pa, { user: NONE, kernel: R__ }) as { attrs: LeafAttributes };
  const withAttrs = (a: Partial<LeafAttributes>): NeutralEntry => ({
    kind: 'leaf',
    pa,
    attrs: { ...base.attrs, ...a },
  });
  it.each([
    ['EL1 without read', { kernel: NONE }, /EL1 can always read/],
    [
      'EL0 write without EL0 read',
      { user: { read: false, write: true, execute: false }, kernel: RW_, dirty: true },
      /EL0 write without EL0 read/,
    ],
    ['EL0 read-write with EL1 read-only', { user: RW_, kernel: R__ }, /share AP\[2\]/],
    ['EL0 read-only with EL1 read-write', { user: R__, kernel: RW_, dirty: true }, /share AP\[2\]/],
    [
      'EL1 execute of EL0-writable memory',
      { user: RW_, kernel: RWX, dirty: true },
      /never executes EL0-writable/,
    ],
    ['a dirty read-only leaf', { dirty: true }, /read-only leaf cannot be dirty/],
    ['software value 16', { software: 16 }, /software value 16/],
    [
      'a memory type MAIR_EL1 lacks (Write-Through)',
      { memoryType: 'normal-wt' as const },
      /no attribute for memory type "normal-wt"/,
    ],
  ])('refuses %s with E_UNREPRESENTABLE', (_, attrs, message) => {
    const r = refusal(() => linux.codec.encode(withAttrs(attrs), 1));
    expect(r).toMatch(/^E_UNREPRESENTABLE/);
    expect(r).toMatch(message);
  });

  it('A10: without HD a writable leaf must be dirty', () => {
    expect(refusal(() => linuxNoHd.codec.encode(withAttrs({ kernel: RW_, dirty: false }), 1))).toMatch(
      /E_UNREPRESENTABLE.*TCR_EL1.HD = 0/,
    );
  });

  it('A5: misaligned, ≥ 2^48, L0 leaves and L3 tables are refused', () => {
    expect(
      refusal(() => linux.codec.encode({ ...withAttrs({}), pa: 0x4000_1000 } as NeutralEntry, 2)),
    ).toMatch(/E_UNREPRESENTABLE.*0x40001000 is not aligned to 0x200000/);
    expect(refusal(() => linux.codec.encode({ ...withAttrs({}), pa: 2 ** 48 } as NeutralEntry, 1))).toMatch(
      /below 2\^48/,
    );
    expect(refusal(() => linux.codec.encode(withAttrs({}), 4))).toMatch(/no blocks at L0/);
    expect(refusal(() => linux.codec.encode({ kind: 'table', pa: 0x1000, attrs: OPEN_TABLE }, 1))).toMatch(
      /L3 holds pages/,
    );
    expect(
      refusal(() =>
        linux.codec.encode({ kind: 'table', pa: 0x1000, attrs: { ...OPEN_TABLE, accessed: true } }, 2),
      ),
    ).toMatch(/FEAT_HAFT/);
    expect(refusal(() => linux.codec.encode(withAttrs({}), 0))).toMatch(/no such level/);
    expect(() => linux.codec.encode({ kind: 'invalid', reason: 'x' }, 1)).toThrow(UnrepresentableError);
  });

  it('A8: with the U-Boot MAIR 0x0000_BBFF_440C_0400 every neutral type has an index', () => {
    const uboot = createAarch64Arch({ mair: 0x0000_bbff_440c_0400n });
    const attrIndx = (memoryType: LeafAttributes['memoryType']) =>
      Number((encode(uboot, withAttrs({ memoryType }), 1) >> 2n) & 7n);
    expect(attrIndx('device')).toBe(1); // MT_DEVICE_nGnRE
    expect(attrIndx('normal-nc')).toBe(3);
    expect(attrIndx('normal-wb')).toBe(4);
    expect(attrIndx('normal-wt')).toBe(5);
  });
});

describe('describe(): every field by its manual name', () => {
  const names = (value: bigint, level: number) => linux.codec.describe(value, level).map((f) => f.name);

  it('describes PAGE_KERNEL at L3 with AttrIndx, AP, SH, AF, nG, OA, DBM, PXN, UXN, SW', () => {
    const fields = linux.codec.describe(0x0068_0000_4123_4703n, 1);
    expect(fields.map((f) => f.name)).toEqual([
      'Valid',
      'Descriptor type',
      'AttrIndx',
      'NS',
      'AP[2:1]',
      'SH',
      'AF',
      'nG',
      'Output address',
      'RES0',
      'GP',
      'DBM',
      'Contiguous',
      'PXN',
      'UXN',
      'SW',
      'ignored',
      'ignored',
    ]);
    const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
    expect(byName.AttrIndx!.meaning).toBe(
      'MAIR_EL1.Attr0 = 0xFF: Normal, Inner+Outer Write-Back non-transient RW-allocate',
    );
    expect(byName['AP[2:1]']).toMatchObject({
      bits: '[7:6]',
      value: 0n,
      meaning: 'EL1 read/write, EL0 no access',
    });
    expect(byName.SH).toMatchObject({ value: 3n, meaning: 'Inner Shareable' });
    expect(byName['Output address']).toMatchObject({ bits: '[47:12]', value: 0x4123_4000n });
    expect(byName.DBM!.meaning).toMatch(/dirty/);
  });

  it('describes a block with nT and a table with NSTable, APTable, UXNTable, PXNTable', () => {
    expect(names(0x0068_0000_4020_0701n, 2)).toContain('nT');
    expect(names(0x0000_0000_4008_2003n, 4)).toEqual([
      'Valid',
      'Descriptor type',
      'ignored',
      'Next-level table address',
      'RES0',
      'ignored',
      'PXNTable',
      'UXNTable',
      'APTable',
      'NSTable',
    ]);
    const ap = linux.codec.describe(0x6000_0000_4008_2003n, 3).find((f) => f.name === 'APTable')!;
    expect(ap).toMatchObject({
      bits: '[62:61]',
      value: 3n,
      meaning: 'read-only and no EL0 access at lower levels',
    });
  });

  it('describes zero, software and reserved encodings, and refuses bad input', () => {
    expect(linux.codec.describe(0n, 1)).toHaveLength(1);
    expect(names(0x2n, 1)).toEqual(['Valid', 'Software payload', 'ignored']);
    expect(linux.codec.describe(0x4000_1701n, 1)[1]!.meaning).toMatch(/reserved at L3/);
    expect(() => linux.codec.describe(-1n, 1)).toThrow(/descriptor/);
    expect(() => linux.codec.describe(0n, 5)).toThrow(/level/);
  });
});

describe('software dirty bit (Linux PTE_DIRTY, bit 55)', () => {
  it('is software bit 0 of the neutral entry, named by describe, and the capability says so', () => {
    expect(linux.description.capabilities.softwareDirty).toBe(1);
    // L3 page, read-only EL0 (AP = 11), AF, PTE_DIRTY: what mprotect(PROT_READ) leaves of a dirty page.
    const raw = 0x00e0_0000_4029_afc3n;
    const e = linux.codec.decode(Number(raw & 0xffff_ffffn), Number(raw >> 32n), 1);
    expect(e.kind === 'leaf' && [e.attrs.user.write, e.attrs.dirty, e.attrs.software]).toEqual([
      false,
      false,
      1,
    ]);
    const sw = linux.codec.describe(raw, 1).find((f) => f.name === 'SW')!;
    expect(sw.meaning).toMatch(/bit 55 = Linux PTE_DIRTY/);
    expect(linux.codec.describe(raw & ~(1n << 55n), 1).find((f) => f.name === 'SW')!.meaning).not.toMatch(
      /PTE_DIRTY/,
    );
  });

  it('bit 56 is named Linux PTE_SPECIAL (software bit 1, capabilities.softwareSpecial)', () => {
    expect(linux.description.capabilities.softwareSpecial).toBe(2);
    // The zero page as a read fault maps it: L3, EL0 r-- (AP = 11), AF, nG, PTE_SPECIAL.
    const raw = 0x0160_0000_4029_afc3n;
    const e = linux.codec.decode(Number(raw & 0xffff_ffffn), Number(raw >> 32n), 1);
    expect(e.kind === 'leaf' && e.attrs.software).toBe(2);
    const meaning = linux.codec.describe(raw, 1).find((f) => f.name === 'SW')!.meaning;
    expect(meaning).toMatch(/bit 56 = Linux PTE_SPECIAL: special/);
    expect(meaning).not.toMatch(/PTE_DIRTY/);
    const both = linux.codec.describe(raw | (1n << 55n), 1).find((f) => f.name === 'SW')!.meaning;
    expect(both).toMatch(/PTE_DIRTY.*PTE_SPECIAL/);
  });
});
