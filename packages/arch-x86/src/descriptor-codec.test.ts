/**
 * Golden entry vectors from real systems: the arch-facts B3 worked encodings
 * and Linux `pgtable_types.h` values, decoded and (where mmkit's encoding is
 * the same) encoded bit for bit; every refusal the x86 formats force; reserved
 * bits decoding as invalid (arch-facts B4); describe() covering every bit.
 */
import {
  isMmError,
  type LeafAttributes,
  type NeutralEntry,
  OPEN_TABLE,
  type Permissions,
  split64,
  type TableAttributes,
} from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { createX86Arch, type X86Backend } from './backend.js';
import { protectionKeyOf, withProtectionKey } from './descriptor-codec.js';

const NONE: Permissions = { read: false, write: false, execute: false };
const R__: Permissions = { read: true, write: false, execute: false };
const RW_: Permissions = { read: true, write: true, execute: false };
const R_X: Permissions = { read: true, write: false, execute: true };
const RWX: Permissions = { read: true, write: true, execute: true };

const x64 = createX86Arch({ mode: 'x86_64' });
const la57 = createX86Arch({ mode: 'x86_64-la57' });
const pae = createX86Arch({ mode: 'x86-pae' });
const paeNoNx = createX86Arch({ mode: 'x86-pae', nxe: false });
const x32 = createX86Arch({ mode: 'x86-32' });
const x32NoPse = createX86Arch({ mode: 'x86-32', pse: false });
const x32NoPse36 = createX86Arch({ mode: 'x86-32', pse36: false });
const x64NoNx = createX86Arch({ mode: 'x86_64', nxe: false });

function decode(backend: X86Backend, value: bigint, level: number): NeutralEntry {
  const [lo, hi] = split64(value);
  return backend.codec.decode(lo, hi, level);
}

function encode(backend: X86Backend, entry: NeutralEntry, level: number): bigint {
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
      global: false,
      memoryType: 'normal-wb',
      accessed: false,
      dirty: false,
      software: 0,
      contiguous: false,
      ...attrs,
    },
  };
}

function table(pa: number, attrs: Partial<TableAttributes> = {}): NeutralEntry {
  return { kind: 'table', pa, attrs: { ...OPEN_TABLE, accessed: false, ...attrs } };
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

describe('arch-facts B3 worked encodings', () => {
  it('B3: 4 KiB PTE, PA 0x10_2000, P|RW|US|NX = 0x8000_0000_0010_2007', () => {
    const entry = leaf(0x10_2000, { user: RW_, kernel: RW_ });
    for (const b of [x64, la57, pae]) {
      expect(decode(b, 0x8000_0000_0010_2007n, 1)).toEqual(entry);
      expect(encode(b, entry, 1)).toBe(0x8000_0000_0010_2007n);
    }
  });

  it('B3: 2 MiB PDE, PA 0x20_0000, P|RW|PS|G = 0x0000_0000_0020_0183', () => {
    const entry = leaf(0x20_0000, { user: NONE, kernel: RWX, global: true });
    for (const b of [x64, pae]) {
      expect(decode(b, 0x0000_0000_0020_0183n, 2)).toEqual(entry);
      expect(encode(b, entry, 2)).toBe(0x0000_0000_0020_0183n);
    }
  });

  it('B3: 32-bit 4 MiB PDE, PA 0x40_0000, P|RW|PS = 0x0040_0083 (with CR4.PSE)', () => {
    const entry = leaf(0x40_0000, { user: NONE, kernel: RWX });
    expect(decode(x32, 0x0040_0083n, 2)).toEqual(entry);
    expect(encode(x32, entry, 2)).toBe(0x0040_0083n);
  });

  it('B3: without CR4.PSE the PS bit is ignored: the same PDE references a page table', () => {
    expect(decode(x32NoPse, 0x0040_0083n, 2)).toEqual(table(0x40_0000, { noUser: true }));
    expect(x32NoPse.codec.nextTable(0x0040_0083, 0, 2)).toBe(0x40_0000);
    expect(refusal(() => encode(x32NoPse, leaf(0x40_0000, { user: NONE, kernel: RWX }), 2))).toMatch(
      /no 4 MiB pages without CR4.PSE/,
    );
  });

  it('B3: PSE-36 puts PA[39:32] in bits 20:13 of a 4 MiB PDE (decode; encode stays below 2^32 = paBits)', () => {
    // PA 0x3_0040_0000: bits 20:13 = 0x03 → 0x6000.
    expect(decode(x32, 0x0040_6083n, 2)).toEqual(leaf(0x3_0040_0000, { user: NONE, kernel: RWX }));
    expect(refusal(() => encode(x32, leaf(0x1_0000_0000, { user: NONE, kernel: RWX }), 2))).toMatch(
      /not below 2\^32/,
    );
  });
});

describe('Linux pgtable_types.h values (IA-32e and PAE, PAT as Linux programs it)', () => {
  const PA = 0x1234_5000;
  const cases: [string, bigint, number, NeutralEntry, boolean][] = [
    // name, value | PA, level, decoded, mmkit encodes exactly this value
    [
      '__PAGE_KERNEL (P|RW|A|D|G|NX)',
      0x8000_0000_0000_0163n,
      1,
      leaf(PA, { user: NONE, kernel: RW_, global: true, accessed: true, dirty: true }),
      true,
    ],
    [
      '__PAGE_KERNEL_EXEC',
      0x163n,
      1,
      leaf(PA, { user: NONE, kernel: RWX, global: true, accessed: true, dirty: true }),
      true,
    ],
    [
      '__PAGE_KERNEL_RO (v6.6+: P|A|NX|G)',
      0x8000_0000_0000_0121n,
      1,
      leaf(PA, { user: NONE, kernel: R__, global: true, accessed: true }),
      true,
    ],
    [
      '__PAGE_KERNEL_RO (before v6.6: with D)',
      0x8000_0000_0000_0161n,
      1,
      leaf(PA, { user: NONE, kernel: R__, global: true, accessed: true, dirty: true }),
      true,
    ],
    [
      '__PAGE_KERNEL_ROX',
      0x121n,
      1,
      leaf(PA, { user: NONE, kernel: R_X, global: true, accessed: true }),
      true,
    ],
    [
      '__PAGE_KERNEL_NOCACHE (PCD|PWT: PAT 3 = UC)',
      0x8000_0000_0000_017bn,
      1,
      leaf(PA, { user: NONE, kernel: RW_, global: true, accessed: true, dirty: true, memoryType: 'device' }),
      true,
    ],
    [
      'PAGE_SHARED (P|RW|US|A|NX)',
      0x8000_0000_0000_0027n,
      1,
      leaf(PA, { user: RW_, kernel: RW_, accessed: true }),
      true,
    ],
    ['PAGE_SHARED_EXEC', 0x27n, 1, leaf(PA, { user: RWX, kernel: RWX, accessed: true }), true],
    [
      'PAGE_READONLY / PAGE_COPY (P|US|A|NX)',
      0x8000_0000_0000_0025n,
      1,
      leaf(PA, { user: R__, kernel: R__, accessed: true }),
      true,
    ],
    [
      'PAGE_READONLY_EXEC / PAGE_COPY_EXEC',
      0x25n,
      1,
      leaf(PA, { user: R_X, kernel: R_X, accessed: true }),
      true,
    ],
    [
      'PAGE_SHARED after the first write (D set by hardware)',
      0x8000_0000_0000_0067n,
      1,
      leaf(PA, { user: RW_, kernel: RW_, accessed: true, dirty: true }),
      true,
    ],
    [
      'PAGE_KERNEL with PAT 1 (WC, pgprot_writecombine)',
      0x8000_0000_0000_016bn,
      1,
      leaf(PA, {
        user: NONE,
        kernel: RW_,
        global: true,
        accessed: true,
        dirty: true,
        memoryType: 'normal-nc',
      }),
      true,
    ],
    [
      'PAGE_KERNEL with PAT 7 (WT: PAT|PCD|PWT)',
      0x8000_0000_0000_01fbn,
      1,
      leaf(PA, {
        user: NONE,
        kernel: RW_,
        global: true,
        accessed: true,
        dirty: true,
        memoryType: 'normal-wt',
      }),
      true,
    ],
    [
      'PAGE_KERNEL with PAT 2 (UC-, decoded as device)',
      0x8000_0000_0000_0173n,
      1,
      leaf(PA, { user: NONE, kernel: RW_, global: true, accessed: true, dirty: true, memoryType: 'device' }),
      false,
    ],
    [
      'PAGE_KERNEL with PAT 5 (WP, decoded as normal-wt)',
      0x8000_0000_0000_01ebn,
      1,
      leaf(PA, {
        user: NONE,
        kernel: RW_,
        global: true,
        accessed: true,
        dirty: true,
        memoryType: 'normal-wt',
      }),
      false,
    ],
    [
      '__PAGE_KERNEL_LARGE 2 MiB (PSE)',
      0x8000_0000_0000_01e3n,
      2,
      leaf(0x1220_0000, { user: NONE, kernel: RW_, global: true, accessed: true, dirty: true }),
      true,
    ],
    [
      '__PAGE_KERNEL_LARGE_EXEC 2 MiB',
      0x1e3n,
      2,
      leaf(0x1220_0000, { user: NONE, kernel: RWX, global: true, accessed: true, dirty: true }),
      true,
    ],
    [
      '2 MiB WT (PAT_LARGE = bit 12)',
      0x8000_0000_0000_11fbn,
      2,
      leaf(0x1220_0000, {
        user: NONE,
        kernel: RW_,
        global: true,
        accessed: true,
        dirty: true,
        memoryType: 'normal-wt',
      }),
      true,
    ],
  ];
  it.each(cases)('%s', (_, flags, level, entry, exact) => {
    const pa = level === 1 ? PA : 0x1220_0000;
    const value = flags | BigInt(pa);
    for (const b of [x64, pae]) {
      expect(decode(b, value, level)).toEqual(entry);
      if (exact) expect(encode(b, entry, level)).toBe(value);
    }
  });

  it('__PAGE_KERNEL_LARGE as a 1 GiB PDPTE (IA-32e)', () => {
    const entry = leaf(0x4000_0000, { user: NONE, kernel: RW_, global: true, accessed: true, dirty: true });
    expect(decode(x64, 0x8000_0000_4000_01e3n, 3)).toEqual(entry);
    expect(encode(x64, entry, 3)).toBe(0x8000_0000_4000_01e3n);
  });

  it('_PAGE_TABLE (0x67) and _KERNPG_TABLE (0x63) decode as tables; D is ignored in table entries', () => {
    for (const level of [2, 3, 4]) {
      expect(decode(x64, 0x0010_3067n, level)).toEqual(table(0x10_3000, { accessed: true }));
      expect(decode(x64, 0x0010_3063n, level)).toEqual(table(0x10_3000, { accessed: true, noUser: true }));
      expect(encode(x64, table(0x10_3000, { accessed: true }), level)).toBe(0x0010_3027n);
    }
    expect(encode(la57, table(0x10_3000, { noUser: true }), 5)).toBe(0x0010_3003n);
  });

  it('32-bit paging: the same flags without NX (4-byte entries)', () => {
    expect(decode(x32, 0x1234_5067n, 1)).toEqual(
      leaf(PA, { user: RWX, kernel: RWX, accessed: true, dirty: true }),
    );
    expect(decode(x32, 0x1234_5163n, 1)).toEqual(
      leaf(PA, { user: NONE, kernel: RWX, accessed: true, dirty: true, global: true }),
    );
    expect(encode(x32, leaf(PA, { user: R_X, kernel: R_X, accessed: true }), 1)).toBe(0x1234_5025n);
    expect(decode(x32, 0x0010_3067n, 2)).toEqual(table(0x10_3000, { accessed: true }));
  });
});

describe('what the x86 formats cannot express (arch-facts B3, B5)', () => {
  it.each([
    ['user rw- with kernel r-- (one R/W bit)', x64, { user: RW_, kernel: R__ }, /one R\/W bit/],
    ['user r-x with kernel r-- (one XD bit)', x64, { user: R_X, kernel: R__ }, /one XD bit/],
    ['user r-- with kernel r-x (one XD bit)', x64, { user: R__, kernel: R_X }, /one XD bit/],
    ['kernel without read', x64, { user: NONE, kernel: NONE }, /kernel can always read/],
    [
      'user write without read',
      x64,
      { user: { read: false, write: true, execute: false }, kernel: RW_ },
      /without user read/,
    ],
    [
      'any non-executable page in x86-32',
      x32,
      { user: NONE, kernel: RW_ },
      /32-bit paging has no execute-disable/,
    ],
    ['user r-- in x86-32', x32, { user: R__, kernel: R__ }, /no execute-disable/],
    ['a non-executable page in PAE with NXE = 0', paeNoNx, { user: RW_, kernel: RW_ }, /EFER.NXE = 0/],
  ])('refuses %s', (_, backend, perms, message) => {
    const text = refusal(() => encode(backend, leaf(0x1000, perms), 1));
    expect(text).toMatch(/^E_UNREPRESENTABLE: /);
    expect(text).toMatch(message);
  });

  it('refuses leaves where a level has none: PAE PDPT, PML4, PML5', () => {
    const k = leaf(0, { user: NONE, kernel: RWX });
    expect(refusal(() => encode(pae, k, 3))).toMatch(/no pages in the PDPT/);
    expect(refusal(() => encode(x64, k, 4))).toMatch(/no pages in the PML4.*reserved/);
    expect(refusal(() => encode(la57, k, 5))).toMatch(/no pages in the PML5/);
  });

  it('refuses misaligned and too-wide addresses, software values, contiguous, a PAT without the type', () => {
    const k = leaf(0x20_1000, { user: NONE, kernel: RWX });
    expect(refusal(() => encode(x64, k, 2))).toMatch(/0x201000 is not aligned to 0x200000/);
    expect(refusal(() => encode(x64, leaf(2 ** 40, { user: NONE, kernel: RWX }), 1))).toMatch(
      /not below 2\^40 \(MAXPHYADDR\)/,
    );
    expect(refusal(() => encode(x64, leaf(0, { user: NONE, kernel: RWX, software: 1024 }), 1))).toMatch(
      /software value 1024/,
    );
    expect(refusal(() => encode(x32, leaf(0, { user: NONE, kernel: RWX, software: 8 }), 1))).toMatch(/0 … 7/);
    expect(refusal(() => encode(x64, leaf(0, { user: NONE, kernel: RWX, contiguous: true }), 1))).toMatch(
      /no contiguous hint/,
    );
    const reset = createX86Arch({ mode: 'x86_64', pat: 0x0007_0406_0007_0406n });
    expect(
      refusal(() => encode(reset, leaf(0, { user: NONE, kernel: RWX, memoryType: 'normal-nc' }), 1)),
    ).toMatch(/has no entry for memory type "normal-nc"/);
  });

  it('tables: one XD bit for both privileges; no XD in x86-32 or without NXE', () => {
    expect(refusal(() => encode(x64, table(0x1000, { noExecuteUser: true }), 2))).toMatch(/one XD bit/);
    expect(
      encode(x64, table(0x1000, { noExecuteUser: true, noExecuteKernel: true, readOnly: true }), 2),
    ).toBe(0x8000_0000_0000_1005n);
    expect(
      refusal(() => encode(x32, table(0x1000, { noExecuteUser: true, noExecuteKernel: true }), 2)),
    ).toMatch(/32-bit paging has no execute-disable/);
    expect(
      refusal(() => encode(x64NoNx, table(0x1000, { noExecuteUser: true, noExecuteKernel: true }), 2)),
    ).toMatch(/EFER.NXE = 0/);
    expect(refusal(() => encode(x64, table(0x1000), 1))).toMatch(/the PT holds pages/);
  });

  it('B3: a PAE PDPTE holds only P, PWT, PCD and the address: restrictions and A are refused', () => {
    expect(encode(pae, table(0x10_3000), 3)).toBe(0x10_3001n);
    expect(decode(pae, 0x10_3001n, 3)).toEqual(table(0x10_3000));
    for (const attrs of [{ noUser: true }, { readOnly: true }, { accessed: true }]) {
      expect(refusal(() => encode(pae, table(0x10_3000, attrs), 3))).toMatch(
        /a PAE PDPTE has no R\/W, U\/S, XD or A/,
      );
    }
    // PWT/PCD in a PDPTE only affect how the PD is cached.
    expect(decode(pae, 0x10_3019n, 3)).toEqual(table(0x10_3000));
  });
});

describe('reserved bits decode as invalid (arch-facts B4)', () => {
  const invalid = (b: X86Backend, value: bigint, level: number) => {
    const e = decode(b, value, level);
    const [lo, hi] = split64(value);
    expect(b.codec.nextTable(lo, hi, level)).toBe(-2);
    return e.kind === 'invalid' ? e.reason : `not invalid: ${JSON.stringify(e)}`;
  };
  it.each([
    ['address bit 40 with MAXPHYADDR 40', x64, 0x0000_0100_0000_1003n, 1, /address bits 51:40 are reserved/],
    ['address bit 51', la57, 0x0008_0000_0000_1003n, 3, /address bits 51:40/],
    ['XD without NXE', x64NoNx, 0x8000_0000_0000_1003n, 1, /XD \(bit 63\) is reserved with EFER.NXE = 0/],
    ['XD without NXE in a table', x64NoNx, 0x8000_0000_0000_1003n, 4, /XD/],
    ['PS in a PML4E', x64, 0x0000_0000_0000_1083n, 4, /PS \(bit 7\) is reserved in a PML4E/],
    ['PS in a PML5E', la57, 0x0000_0000_0000_1083n, 5, /PML5E/],
    ['bits 20:13 of a 2 MiB page', x64, 0x0000_0000_0020_2083n, 2, /bits 20:13 of a 2 MiB page entry/],
    ['bits 29:13 of a 1 GiB page', x64, 0x0000_0000_4020_0083n, 3, /bits 29:13 of a 1 GiB page entry/],
    ['bit 62 (PAE: 62:52 reserved)', pae, 0x4000_0000_0000_1003n, 1, /bits 62:52 are reserved in PAE paging/],
    ['bits 2:1 of a PAE PDPTE', pae, 0x0000_0000_0000_1003n, 3, /bits 2:1 and 8:5 of a PAE PDPTE/],
    ['A (bit 5) of a PAE PDPTE', pae, 0x0000_0000_0000_1021n, 3, /8:5/],
    ['XD of a PAE PDPTE', pae, 0x8000_0000_0000_1001n, 3, /bit 63 \(XD\) of a PAE PDPTE/],
    ['bit 21 of a 4 MiB PDE', x32, 0x0060_0083n, 2, /bits 21:17 of a 4 MiB PDE/],
    ['PSE-36 bit above MAXPHYADDR 36', x32, 0x0042_0083n, 2, /21:17/],
    ['PSE-36 bits without PSE-36', x32NoPse36, 0x0040_2083n, 2, /bits 21:13 of a 4 MiB PDE/],
  ])('B4: %s', (_, b, value, level, message) => {
    expect(invalid(b, value, level)).toMatch(message);
  });

  it('B4: x86-32 has no reserved bits in PTEs and 4 KiB PDEs; XD is ignored there (no hi word)', () => {
    expect(decode(x32, 0xffff_ffffn, 1).kind).toBe('leaf');
    expect(decode(x32NoPse, 0xffff_ffffn, 2).kind).toBe('table');
    expect(x32.codec.decode(0x1003, 0xffff_ffff, 1)).toEqual(x32.codec.decode(0x1003, 0, 1));
  });

  it('B4: MAXPHYADDR 52 leaves no address bits reserved', () => {
    const b = createX86Arch({ mode: 'x86_64', maxPhysAddr: 52 });
    expect(decode(b, 0x000f_ffff_ffff_f003n, 1)).toMatchObject({ kind: 'leaf', pa: 0xf_ffff_ffff_f000 });
  });

  it('protection keys (bits 62:59) are not part of the neutral entry; withProtectionKey sets them', () => {
    const raw = x64.codec.encode(leaf(0x5000, { user: RW_, kernel: RW_ }), 1);
    const keyed = withProtectionKey(raw, 9);
    expect((BigInt(keyed.hi) << 32n) | BigInt(keyed.lo)).toBe(0xc800_0000_0000_5007n);
    expect(protectionKeyOf(keyed)).toBe(9);
    expect(x64.codec.decode(keyed.lo, keyed.hi, 1)).toEqual(x64.codec.decode(raw.lo, raw.hi, 1));
    expect(refusal(() => withProtectionKey(raw, 16))).toMatch(/protection key 16/);
  });
});

describe('software bits and payloads', () => {
  it('software value bits 2:0 → entry bits 11:9, bits 9:3 → entry bits 58:52 (IA-32e)', () => {
    const e = leaf(0x1000, { user: NONE, kernel: RWX, software: 0b10_1010_1101 });
    expect(encode(x64, e, 1)).toBe(0x0550_0000_0000_1a03n);
    expect(decode(x64, 0x0550_0000_0000_1a03n, 1)).toEqual(e);
    expect(encode(x32, leaf(0x1000, { user: NONE, kernel: RWX, software: 5 }), 1)).toBe(0x1a03n);
  });

  it('not-present entries carry a payload in bits 51:1 (31:1 in x86-32); bits 63:52 set are not mmkit entries', () => {
    expect(encode(x64, { kind: 'software', payload: 0x1234 }, 1)).toBe(0x2468n);
    expect(decode(x64, 0x000f_ffff_ffff_fffen, 3)).toEqual({ kind: 'software', payload: 2 ** 51 - 1 });
    expect(decode(x64, 0x0010_0000_0000_0002n, 1)).toMatchObject({ kind: 'invalid' });
    expect(encode(x32, { kind: 'software', payload: 2 ** 31 - 1 }, 2)).toBe(0xffff_fffen);
    expect(refusal(() => encode(x32, { kind: 'software', payload: 2 ** 31 }, 1))).toMatch(
      /outside 1 … 2\^31 - 1/,
    );
  });
});

describe('describe() explains every bit in the manual names', () => {
  const widths = (fields: readonly { bits: string }[]) => {
    const seen: number[] = [];
    for (const f of fields) {
      const m = /^\[(\d+)(?::(\d+))?\]$/.exec(f.bits)!;
      const hi = Number(m[1]);
      const lo = m[2] === undefined ? hi : Number(m[2]);
      for (let b = lo; b <= hi; b++) seen.push(b);
    }
    return seen.sort((a, b) => a - b);
  };
  const samples: [string, X86Backend, bigint[]][] = [
    [
      'x86_64',
      x64,
      [
        0n,
        0x2468n,
        0x8000_0000_0010_2007n,
        0x0000_0000_0020_0183n,
        0x8000_0000_4000_01e3n,
        0x0010_3067n,
        0xffff_ffff_ffff_ffffn,
      ],
    ],
    [
      'x86_64-la57 (PKE)',
      createX86Arch({ mode: 'x86_64-la57', pke: true }),
      [0x8000_0000_0010_2007n, 0x1083n, 0xffff_ffff_ffff_ffffn],
    ],
    [
      'x86_64 MAXPHYADDR 52',
      createX86Arch({ mode: 'x86_64', maxPhysAddr: 52 }),
      [0x8000_0000_0010_2007n, 0x1e3n],
    ],
    ['x86-pae', pae, [0x10_3001n, 0x8000_0000_0010_2007n, 0x1e3n, 0xffff_ffff_ffff_ffffn]],
    ['x86-pae without NXE', paeNoNx, [0x8000_0000_0010_2007n]],
    ['x86-32', x32, [0n, 0x2468n, 0x0040_0083n, 0x0040_6083n, 0x1234_5067n, 0xffff_ffffn]],
    ['x86-32 without PSE', x32NoPse, [0x0040_0083n]],
    ['x86-32 without PSE-36', x32NoPse36, [0x0040_0083n]],
  ];
  it.each(samples)('%s: fields cover each bit exactly once at every level', (_, b, values) => {
    const width = b.description.descriptorBytes * 8;
    for (const value of values) {
      for (const l of b.description.levels) {
        const fields = b.codec.describe(value, l.level);
        expect(widths(fields), `${value.toString(16)} at ${l.name}`).toEqual(
          Array.from({ length: width }, (_, i) => i),
        );
        for (const f of fields) expect(f.meaning.length).toBeGreaterThan(0);
      }
    }
  });

  it('names the fields of a 4 KiB PTE and explains the memory type', () => {
    const fields = x64.codec.describe(0x8000_0000_0010_201fn, 1);
    expect(fields.map((f) => f.name)).toEqual([
      'P',
      'R/W',
      'U/S',
      'PWT',
      'PCD',
      'A',
      'D',
      'PAT',
      'G',
      'AVL',
      'address',
      'reserved',
      'AVL',
      'PK',
      'XD',
    ]);
    expect(fields.find((f) => f.name === 'PWT')!.meaning).toMatch(
      /PAT index 3: IA32_PAT.PA3 = UC \(uncacheable\), device/,
    );
    expect(fields.find((f) => f.name === 'address')).toMatchObject({ bits: '[39:12]', value: 0x10_2000n });
    expect(fields.find((f) => f.name === 'XD')!.meaning).toBe('1: execute-disable');
  });

  it('names bit 9 of a leaf Linux _PAGE_SPECIAL (every mode), not of a table entry', () => {
    for (const codec of [x64.codec, pae.codec, createX86Arch({ mode: 'x86-32' }).codec]) {
      const avl = (raw: bigint, level: number) =>
        codec.describe(raw, level).find((f) => f.name === 'AVL')!.meaning;
      expect(avl(0x10_2225n, 1)).toMatch(/bit 9 = Linux _PAGE_SPECIAL: special/);
      expect(avl(0x10_2025n, 1)).toBe('available to software');
      expect(avl(0x10_2227n, 2)).toBe('available to software'); // a page directory entry (a table)
    }
    expect(x64.codec.describe(0x10_2425n, 1).find((f) => f.name === 'AVL')!.meaning).toBe(
      'available to software',
    );
  });

  it('names the fields of a PAE PDPTE, a 1 GiB page, a PML4E with PS and a 4 MiB PDE', () => {
    expect(pae.codec.describe(0x10_3001n, 3).map((f) => `${f.name}${f.bits}`)).toEqual([
      'P[0]',
      'reserved[2:1]',
      'PWT[3]',
      'PCD[4]',
      'reserved[8:5]',
      'AVL[11:9]',
      'address[39:12]',
      'reserved[63:40]',
    ]);
    const g = x64.codec.describe(0x8000_0000_4000_01e3n, 3);
    expect(g.find((f) => f.name === 'PS')!.meaning).toBe('1: maps a 1 GiB page');
    expect(g.find((f) => f.bits === '[29:13]')!.name).toBe('reserved');
    expect(x64.codec.describe(0x1083n, 4).find((f) => f.name === 'PS')!.meaning).toMatch(
      /reserved in a PML4E/,
    );
    const m4 = x32.codec.describe(0x0040_6083n, 2);
    expect(m4.map((f) => `${f.name}${f.bits}`).slice(-4)).toEqual([
      'PAT[12]',
      'address[16:13]',
      'reserved[21:17]',
      'address[31:22]',
    ]);
    expect(m4.find((f) => f.bits === '[16:13]')!.value).toBe(0x3_0000_0000n);
  });

  it('refuses values wider than the entry and unknown levels', () => {
    expect(refusal(() => x32.codec.describe(1n << 32n, 1))).toMatch(/a 32-bit unsigned bigint/);
    expect(refusal(() => x64.codec.describe(0n, 5))).toMatch(/from 1 \(PT\) to 4 \(PML4\)/);
  });
});
