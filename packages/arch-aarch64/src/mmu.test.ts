/**
 * Walker tests on hand-built tables: raw descriptors written into simulated RAM,
 * walked as QEMU does (arch-facts A3, A6, A7, A10). ESR values are the ones real
 * hardware reports (arch-facts A9).
 */
import { Access, Fault, Perm, Privilege, vpnOf, WalkResult, type WalkStep } from '@mmkit/core';
import { createWalkHarness, type WalkHarness } from '@mmkit/testkit';
import { describe, expect, it } from 'vitest';
import { type Aarch64Options, createAarch64Arch } from './backend.js';
import type { Aarch64Mmu } from './mmu.js';

// Descriptor bits (arch-facts A5), Linux names where Linux has one.
const PAGE = 3n; // 0b11 at L3
const BLOCK = 1n; // 0b01 at L1/L2
const TABLE = 3n;
const USER = 1n << 6n; // AP[1]
const RDONLY = 1n << 7n; // AP[2]
const SHARED = 3n << 8n;
const AF = 1n << 10n;
const NG = 1n << 11n;
const DBM = 1n << 51n;
const PXN = 1n << 53n;
const UXN = 1n << 54n;
const PXN_TABLE = 1n << 59n;
const UXN_TABLE = 1n << 60n;
const AP_TABLE_NO_EL0 = 1n << 61n;
const AP_TABLE_RDONLY = 1n << 62n;
const attr = (i: number) => BigInt(i) << 2n;
const NORMAL = attr(0); // Linux MAIR: MT_NORMAL = 0, MT_DEVICE_nGnRE = 4

const R = Access.Read;
const W = Access.Write;
const X = Access.Fetch;
const EL0 = Privilege.User;
const EL1 = Privilege.Kernel;

interface Rig {
  readonly h: WalkHarness;
  readonly mmu: Aarch64Mmu;
  readonly out: WalkResult;
  /** Builds tables down to `leafLevel` for `va` (table bits per level) and returns the leaf slot's address. */
  slot(va: bigint, leafLevel: number, tableBits?: Record<number, bigint>): number;
  /** Writes a raw descriptor. */
  put(pa: number, value: bigint): void;
  /** Reads a raw descriptor. */
  get(pa: number): bigint;
  walk(va: bigint, access: 0 | 1 | 2, privilege: 0 | 1, trace?: WalkStep[]): boolean;
  probe(va: bigint, access: 0 | 1 | 2, privilege: 0 | 1): boolean;
}

function rig(options: Aarch64Options = {}): Rig {
  const backend = createAarch64Arch(options);
  const h = createWalkHarness(backend);
  const mmu = h.mmu as Aarch64Mmu;
  const out = new WalkResult();
  const g = backend.geometry;
  return {
    h,
    mmu,
    out,
    slot(va, leafLevel, tableBits = {}) {
      const vpn = vpnOf(va);
      let table = h.rootFor(vpn);
      for (let level = 4; level > leafLevel; level--) {
        const dpa = table + g.indexOf(vpn, level) * 8;
        let v = h.memory.read64(dpa);
        if (v === 0n) {
          v = BigInt(h.frames.allocTable(level - 1)) | TABLE | (tableBits[level] ?? 0n);
          h.memory.write64(dpa, v);
        }
        table = Number(v & 0x0000_ffff_ffff_f000n);
      }
      return table + g.indexOf(vpn, leafLevel) * 8;
    },
    put: (pa, value) => h.memory.write64(pa, value),
    get: (pa) => h.memory.read64(pa),
    walk: (va, access, privilege, trace) => mmu.walk(vpnOf(va), access, privilege, out, trace),
    probe: (va, access, privilege) => mmu.probe(vpnOf(va), access, privilege, out),
  };
}

const UVA = 0x0000_0040_1234_5000n; // user half (TTBR0)
const KVA = 0xffff_0000_1234_5000n; // kernel half (TTBR1)
const PA = 0x8765_4000;

describe('TTBR selection, ASID and the canonical check (arch-facts A3)', () => {
  it('A3: VA bit 55 = 1 walks TTBR1_EL1, bit 55 = 0 walks TTBR0_EL1', () => {
    const r = rig();
    r.put(r.slot(UVA, 1), BigInt(0x1000_0000) | PAGE | AF | SHARED | NORMAL);
    r.put(r.slot(KVA, 1), BigInt(0x2000_0000) | PAGE | AF | SHARED | NORMAL);
    expect(r.h.kernelRoot).not.toBe(r.h.userRoot);
    expect(r.walk(UVA, R, EL1)).toBe(true);
    expect(r.out.pfn).toBe(0x1000_0);
    expect(r.walk(KVA, R, EL1)).toBe(true);
    expect(r.out.pfn).toBe(0x2000_0);
  });

  it('A3: TTBR0_EL1 carries the ASID in bits [63:48] (TCR_EL1.A1 = 0)', () => {
    const r = rig();
    r.mmu.setUserRoot(0x4000_3000, 0xbeef);
    r.mmu.setKernelRoot(0x4000_1000);
    const regs = r.mmu.registers();
    expect(regs.TTBR0_EL1).toBe(0xbeef_0000_4000_3000n);
    expect(regs.TTBR1_EL1).toBe(0x4000_1000n);
    expect(r.mmu.asid).toBe(0xbeef);
    expect(r.mmu.userRoot).toBe(0x4000_3000);
    expect(r.mmu.kernelRoot).toBe(0x4000_1000);
  });

  it('A3: roots must be 4 KiB aligned below 2^48 and ASIDs 16-bit', () => {
    const r = rig();
    expect(() => r.mmu.setUserRoot(0x4000_0800, 1)).toThrow(/translation table base/);
    expect(() => r.mmu.setUserRoot(2 ** 48, 1)).toThrow(/translation table base/);
    expect(() => r.mmu.setUserRoot(0x4000_0000, 0x1_0000)).toThrow(/ASID/);
    expect(() => r.mmu.setKernelRoot(-4096)).toThrow(/translation table base/);
  });

  it.each([
    ['0x0001_0000_0000_0000 (bit 48 set, bit 55 clear)', 0x0001_0000_0000_0000n],
    ['0x8000_0000_0000_0000 (bit 63 set, bit 55 clear)', 0x8000_0000_0000_0000n],
    ['0xFFFE_FFFF_FFFF_F000 (bit 48 clear, bit 55 set)', 0xfffe_ffff_ffff_f000n],
    ['0x00FF_0000_0000_0000 (bit 55 set, bits 63:56 clear)', 0x00ff_0000_0000_0000n],
  ])('A3/A7: non-canonical VA %s is a Translation fault at level 0 before any table read', (_, va) => {
    const r = rig();
    // Map index 0 of both halves: a walker ignoring the top bits would translate these.
    r.put(r.slot(0n, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL);
    r.put(r.slot(0xffff_0000_0000_0000n, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL);
    expect(r.walk(va, R, EL0)).toBe(false);
    expect(r.out.faultKind).toBe(Fault.Translation);
    expect(r.out.faultLevel).toBe(4);
    expect(r.out.reads).toBe(0);
    expect(r.out.syndrome).toBe(0x9200_0004);
  });
});

describe('leaves of every size (arch-facts A1, A5)', () => {
  it('A5: a 4 KiB page at L3 after 4 descriptor reads, trace names L0…L3', () => {
    const r = rig();
    const slot = r.slot(UVA, 1);
    const value = BigInt(PA) | PAGE | AF | SHARED | NORMAL | NG | USER | UXN | PXN;
    r.put(slot, value);
    const trace: WalkStep[] = [];
    expect(r.walk(UVA + 0x123n, R, EL0, trace)).toBe(true);
    expect(r.out.pfn).toBe(PA / 4096);
    expect(r.out.leafLevel).toBe(1);
    expect(r.out.reads).toBe(4);
    expect(r.out.global).toBe(false);
    expect(r.out.memoryType).toBe(0);
    expect(trace.map((s) => s.levelName)).toEqual(['L0', 'L1', 'L2', 'L3']);
    expect(trace.at(-1)!.raw).toBe(value);
    expect(trace.at(-1)!.descriptorPa).toBe(slot);
    expect(trace[0]!.tablePa).toBe(r.h.userRoot);
  });

  it('A1: a 2 MiB L2 block gives the frame of the page inside it after 3 reads', () => {
    const r = rig();
    const block = 0x4020_0000;
    r.put(r.slot(0x0000_0000_8020_0000n, 2), BigInt(block) | BLOCK | AF | SHARED | NORMAL);
    expect(r.walk(0x0000_0000_8020_0000n + 0x1_5000n, R, EL1)).toBe(true);
    expect(r.out.pfn).toBe(block / 4096 + 0x15);
    expect(r.out.leafLevel).toBe(2);
    expect(r.out.reads).toBe(3);
  });

  it('A1: a 1 GiB L1 block gives the frame of the page inside it after 2 reads', () => {
    const r = rig();
    const block = 0x1_4000_0000;
    r.put(r.slot(0xffff_0000_c000_0000n, 3), BigInt(block) | BLOCK | AF | SHARED | NORMAL);
    expect(r.walk(0xffff_0000_c000_0000n + 0x3fff_f000n, R, EL1)).toBe(true);
    expect(r.out.pfn).toBe(block / 4096 + 0x3_ffff);
    expect(r.out.leafLevel).toBe(3);
    expect(r.out.reads).toBe(2);
    expect(r.out.global).toBe(true);
  });

  it('A8: the memory type comes from MAIR_EL1[AttrIndx] (Linux MT_DEVICE_nGnRE = 4)', () => {
    const r = rig();
    r.put(r.slot(KVA, 1), BigInt(0x0900_0000) | PAGE | AF | SHARED | attr(4) | PXN | UXN);
    expect(r.walk(KVA, R, EL1)).toBe(true);
    expect(r.out.memoryType).toBe(3); // MEMORY_TYPES index of 'device'
  });
});

describe('fault kinds and levels (arch-facts A7, A9)', () => {
  it('A7: an empty root is a Translation fault at level 0 (DFSC 0x04)', () => {
    const r = rig();
    expect(r.walk(UVA, R, EL0)).toBe(false);
    expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome, r.out.reads]).toEqual([
      Fault.Translation,
      4,
      0x9200_0004,
      1,
    ]);
  });

  it.each([
    ['L1', 3, 0x05],
    ['L2', 2, 0x06],
    ['L3', 1, 0x07],
  ])(
    'A7: an invalid descriptor at %s (internal level %i) is a Translation fault there, DFSC %i',
    (_, level, dfsc) => {
      const r = rig();
      r.slot(UVA, level); // tables down to the level, slot left zero
      expect(r.walk(UVA, W, EL0)).toBe(false);
      expect(r.out.faultKind).toBe(Fault.Translation);
      expect(r.out.faultLevel).toBe(level);
      expect(r.out.syndrome).toBe(0x9200_0040 + dfsc);
    },
  );

  it('A1/A7: a block encoding (0b01) at L0 is a Translation fault at level 0 (no FEAT_LPA2)', () => {
    const r = rig();
    r.put(r.slot(UVA, 4), BLOCK | AF | SHARED);
    expect(r.walk(UVA, R, EL1)).toBe(false);
    expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([Fault.Translation, 4, 0x9600_0004]);
  });

  it('A1/A7: the reserved block encoding (0b01) at L3 is a Translation fault at level 3', () => {
    const r = rig();
    r.put(r.slot(UVA, 1), BigInt(PA) | BLOCK | AF | SHARED);
    expect(r.walk(UVA, R, EL1)).toBe(false);
    expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([Fault.Translation, 1, 0x9600_0007]);
  });

  it.each([
    ['L0 table', 4, 0x00],
    ['L1 table', 3, 0x01],
    ['L2 table', 2, 0x02],
  ])(
    'A4/A7: a %s address with bits [51:48] set is an Address size fault at its level (internal %i), DFSC %i',
    (_, level, dfsc) => {
      const r = rig();
      const slot = r.slot(UVA, level);
      r.put(slot, BigInt(0x4010_0000) | TABLE | (1n << 50n));
      expect(r.walk(UVA, R, EL1)).toBe(false);
      expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([
        Fault.AddressSize,
        level,
        0x9600_0000 + dfsc,
      ]);
    },
  );

  it.each([
    ['L3 page', 1, PAGE, 0x03],
    ['L2 block', 2, BLOCK, 0x02],
    ['L1 block', 3, BLOCK, 0x01],
  ])(
    'A4/A7: a %s with output-address bit 48 set is an Address size fault at the leaf level (internal %i)',
    (_, level, type, dfsc) => {
      const r = rig();
      r.put(r.slot(UVA, level), (1n << 48n) | type | AF | SHARED | NORMAL);
      expect(r.walk(UVA, R, EL1)).toBe(false);
      expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([
        Fault.AddressSize,
        level,
        0x9600_0000 + dfsc,
      ]);
    },
  );

  it('A5: DBM (bit 51) and GP (bit 50) are attributes, not output-address bits: no Address size fault', () => {
    const r = rig();
    r.put(r.slot(UVA, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL | DBM | (1n << 50n));
    expect(r.walk(UVA, R, EL1)).toBe(true);
    expect(r.out.pfn).toBe(PA / 4096);
  });

  it.each([
    ['L3 page', 1, PAGE, 0x0b],
    ['L2 block', 2, BLOCK, 0x0a],
    ['L1 block', 3, BLOCK, 0x09],
  ])(
    'A7/A10: AF = 0 without TCR_EL1.HA is an Access flag fault at the %s level (internal %i)',
    (_, level, type, dfsc) => {
      const r = rig({ hardwareAccessFlag: false, hardwareDirty: false });
      const slot = r.slot(UVA, level);
      const value = BigInt(0x4000_0000) | type | SHARED | NORMAL;
      r.put(slot, value);
      expect(r.walk(UVA, R, EL1)).toBe(false);
      expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([
        Fault.AccessFlag,
        level,
        0x9600_0000 + dfsc,
      ]);
      expect(r.get(slot)).toBe(value);
    },
  );

  it.each([
    ['L3 page', 1, PAGE, 0x0f],
    ['L2 block', 2, BLOCK, 0x0e],
    ['L1 block', 3, BLOCK, 0x0d],
  ])('A6/A7: a denied access is a Permission fault at the %s level (internal %i)', (_, level, type, dfsc) => {
    const r = rig();
    r.put(r.slot(UVA, level), BigInt(0x4000_0000) | type | AF | SHARED | NORMAL | UXN | PXN);
    expect(r.walk(UVA, R, EL0)).toBe(false); // AP = 00: no EL0 access
    expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([
      Fault.Permission,
      level,
      0x9200_0000 + dfsc,
    ]);
  });

  it('A9: a fault after a success clears the translation fields of the reused WalkResult', () => {
    const r = rig();
    r.put(r.slot(UVA, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL);
    expect(r.walk(UVA, R, EL1)).toBe(true);
    expect(r.walk(UVA + 0x1000n, R, EL1)).toBe(false);
    expect([r.out.pfn, r.out.perms, r.out.leafLevel, r.out.dirty, r.out.global]).toEqual([
      0,
      0,
      0,
      false,
      false,
    ]);
    expect(r.walk(UVA, R, EL1)).toBe(true);
    expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([0, 0, 0]);
  });
});

describe('fault priority (arch-facts A7: address size / translation > access flag > permission)', () => {
  it('A7: Address size beats Access flag', () => {
    const r = rig({ hardwareAccessFlag: false, hardwareDirty: false });
    r.put(r.slot(UVA, 1), (1n << 48n) | PAGE | SHARED | NORMAL); // AF = 0 too
    expect(r.walk(UVA, R, EL1)).toBe(false);
    expect(r.out.faultKind).toBe(Fault.AddressSize);
  });

  it('A7: Access flag beats Permission', () => {
    const r = rig({ hardwareAccessFlag: false, hardwareDirty: false });
    r.put(r.slot(UVA, 1), BigInt(PA) | PAGE | SHARED | NORMAL | UXN | PXN); // EL0 has no access either
    expect(r.walk(UVA, W, EL0)).toBe(false);
    expect([r.out.faultKind, r.out.syndrome]).toEqual([Fault.AccessFlag, 0x9200_004b]);
  });

  it('A7: Translation at an upper level beats everything below it', () => {
    const r = rig();
    const slot = r.slot(UVA, 1);
    r.put(slot, BigInt(PA) | PAGE | SHARED | NORMAL);
    r.put(r.h.userRoot + r.h.backend.geometry.indexOf(vpnOf(UVA), 4) * 8, 0n);
    expect(r.walk(UVA, R, EL0)).toBe(false);
    expect([r.out.faultKind, r.out.faultLevel]).toEqual([Fault.Translation, 4]);
  });

  it('A7 step 7: with HA, a Permission fault leaves AF clear (QEMU writes the descriptor back only after the check)', () => {
    const r = rig();
    const slot = r.slot(UVA, 1);
    const value = BigInt(PA) | PAGE | SHARED | NORMAL | UXN | PXN; // AF = 0, EL0 no access
    r.put(slot, value);
    expect(r.walk(UVA, R, EL0)).toBe(false);
    expect(r.out.faultKind).toBe(Fault.Permission);
    expect(r.get(slot)).toBe(value);
  });
});

describe('hardware Access flag and dirty state (arch-facts A10)', () => {
  it('A10: with HA a walk sets AF in memory; a probe translates without writing', () => {
    const r = rig();
    const slot = r.slot(UVA, 1);
    const value = BigInt(PA) | PAGE | SHARED | NORMAL | USER | RDONLY | NG | UXN | PXN;
    r.put(slot, value);
    expect(r.probe(UVA, R, EL0)).toBe(true);
    expect(r.get(slot)).toBe(value);
    expect(r.walk(UVA, R, EL0)).toBe(true);
    expect(r.get(slot)).toBe(value | AF);
  });

  it('A10: with HD a read leaves a writable-clean page clean and read-only in perms; only a write makes it dirty', () => {
    const r = rig();
    const slot = r.slot(UVA, 1);
    const clean = BigInt(PA) | PAGE | AF | SHARED | NORMAL | USER | RDONLY | DBM | NG | UXN | PXN; // Linux PAGE_SHARED
    r.put(slot, clean);
    expect(r.walk(UVA, R, EL0)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.KR);
    expect(r.out.dirty).toBe(false);
    expect(r.get(slot)).toBe(clean);
    expect(r.probe(UVA, W, EL0)).toBe(true);
    expect(r.out.dirty).toBe(true);
    expect(r.get(slot)).toBe(clean);
    expect(r.walk(UVA, W, EL0)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.UW | Perm.KR | Perm.KW);
    expect(r.out.dirty).toBe(true);
    expect(r.get(slot)).toBe(clean & ~RDONLY);
  });

  it('A10: with HA and HD one write walk sets AF and clears AP[2] together', () => {
    const r = rig();
    const slot = r.slot(KVA, 2);
    const value = BigInt(0x4020_0000) | BLOCK | SHARED | NORMAL | RDONLY | DBM | UXN | PXN;
    r.put(slot, value);
    expect(r.walk(KVA, W, EL1)).toBe(true);
    expect(r.get(slot)).toBe((value | AF) & ~RDONLY);
  });

  it('A10: DBM without TCR_EL1.HD is ignored: a write to AP[2] = 1 is a Permission fault', () => {
    const r = rig({ hardwareDirty: false });
    const slot = r.slot(UVA, 1);
    const value = BigInt(PA) | PAGE | AF | SHARED | NORMAL | USER | RDONLY | DBM | NG | UXN | PXN;
    r.put(slot, value);
    expect(r.walk(UVA, W, EL0)).toBe(false);
    expect([r.out.faultKind, r.out.syndrome]).toEqual([Fault.Permission, 0x9200_004f]);
    expect(r.get(slot)).toBe(value);
  });

  it('A4/A10: HD without HA has no effect (QEMU hd = ha && hd), but TCR_EL1 shows HD as programmed', () => {
    const r = rig({ hardwareAccessFlag: false, hardwareDirty: true });
    expect(r.h.backend.description.capabilities.hardwareDirty).toBe(false);
    expect(r.mmu.hardwareDirty).toBe(false);
    const slot = r.slot(UVA, 1);
    r.put(slot, BigInt(PA) | PAGE | AF | SHARED | NORMAL | RDONLY | DBM | UXN | PXN);
    expect(r.walk(UVA, W, EL1)).toBe(false);
    expect(r.out.faultKind).toBe(Fault.Permission);
    const tcr = r.mmu.registers().TCR_EL1!;
    expect((tcr >> 39n) & 1n).toBe(0n); // HA
    expect((tcr >> 40n) & 1n).toBe(1n); // HD
  });

  it('A10: APTable[1] keeps a DBM page read-only: the write faults and the page stays clean', () => {
    const r = rig();
    const slot = r.slot(UVA, 1, { 2: AP_TABLE_RDONLY });
    const value = BigInt(PA) | PAGE | AF | SHARED | NORMAL | RDONLY | DBM | UXN | PXN;
    r.put(slot, value);
    expect(r.walk(UVA, W, EL1)).toBe(false);
    expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([Fault.Permission, 1, 0x9600_004f]);
    expect(r.get(slot)).toBe(value);
  });
});

describe('permissions (arch-facts A6)', () => {
  const cases: [string, bigint, number][] = [
    ['AP=00 PXN=0 UXN=1: EL1 rwx, EL0 none', UXN, Perm.KR | Perm.KW | Perm.KX],
    ['AP=00 PXN=0 UXN=0: EL1 rwx, EL0 execute-only', 0n, Perm.UX | Perm.KR | Perm.KW | Perm.KX],
    [
      'AP=01 PXN=0 UXN=0: EL0 rwx, EL1 rw- (never executes EL0-writable memory)',
      USER,
      Perm.UR | Perm.UW | Perm.UX | Perm.KR | Perm.KW,
    ],
    ['AP=10 PXN=1 UXN=0: Linux PAGE_EXECONLY', RDONLY | PXN, Perm.UX | Perm.KR],
    ['AP=11 PXN=1 UXN=0: Linux PAGE_READONLY_EXEC', USER | RDONLY | PXN, Perm.UR | Perm.UX | Perm.KR],
    ['AP=11 PXN=0 UXN=1: EL0 r--, EL1 r-x', USER | RDONLY | UXN, Perm.UR | Perm.KR | Perm.KX],
  ];
  it.each(cases)('A6: %s', (_, bits, perms) => {
    const r = rig();
    r.put(r.slot(UVA, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL | NG | bits);
    expect(r.walk(UVA, R, EL1)).toBe(true);
    expect(r.out.perms).toBe(perms);
    for (const access of [R, W, X] as const) {
      for (const privilege of [EL0, EL1] as const) {
        const allowed = (perms & (1 << (access + 3 * privilege))) !== 0;
        expect(r.walk(UVA, access, privilege)).toBe(allowed);
        if (!allowed) expect(r.out.faultKind).toBe(Fault.Permission);
      }
    }
  });

  it('A6: EL1 cannot execute EL0-writable memory: Instruction Abort 0x8600000F, while EL0 may', () => {
    const r = rig();
    r.put(r.slot(UVA, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL | NG | USER); // AP = 01, PXN = UXN = 0
    expect(r.walk(UVA, X, EL1)).toBe(false);
    expect(r.out.syndrome).toBe(0x8600_000f);
    expect(r.walk(UVA, X, EL0)).toBe(true);
  });

  it('A6 quirk (QEMU get_S1prot reads AP only): EL1 may fetch from a writable-clean EL0 page until its first write', () => {
    // mmkit never encodes such a leaf: encode sets PXN whenever kernel.execute is false.
    const r = rig();
    r.put(r.slot(UVA, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL | NG | USER | RDONLY | DBM);
    expect(r.walk(UVA, X, EL1)).toBe(true);
    expect(r.walk(UVA, W, EL0)).toBe(true);
    expect(r.walk(UVA, X, EL1)).toBe(false);
  });

  it('A6: APTable[0] (bit 61) removes EL0 access below the table', () => {
    const r = rig();
    r.put(r.slot(UVA, 1, { 4: AP_TABLE_NO_EL0 }), BigInt(PA) | PAGE | AF | SHARED | NORMAL | USER);
    expect(r.walk(UVA, R, EL1)).toBe(true);
    expect(r.out.perms).toBe(Perm.UX | Perm.KR | Perm.KW | Perm.KX); // AP behaves as 00
    expect(r.walk(UVA, R, EL0)).toBe(false);
    expect(r.out.syndrome).toBe(0x9200_000f);
  });

  it('A6: APTable[1] (bit 62) makes everything below read-only', () => {
    const r = rig();
    r.put(
      r.slot(UVA, 2, { 3: AP_TABLE_RDONLY }),
      BigInt(0x4000_0000) | BLOCK | AF | SHARED | NORMAL | USER | UXN | PXN,
    );
    expect(r.walk(UVA, R, EL0)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.KR);
    expect(r.walk(UVA, W, EL1)).toBe(false);
    expect([r.out.faultLevel, r.out.syndrome]).toEqual([2, 0x9600_004e]);
  });

  it('A6: UXNTable (bit 60) forbids EL0 fetches below, PXNTable (bit 59) EL1 fetches', () => {
    const r = rig();
    r.put(r.slot(UVA, 1, { 3: UXN_TABLE }), BigInt(PA) | PAGE | AF | SHARED | NORMAL | USER | RDONLY);
    expect(r.walk(UVA, X, EL0)).toBe(false);
    expect(r.walk(UVA, X, EL1)).toBe(true);
    r.put(r.slot(KVA, 1, { 2: PXN_TABLE }), BigInt(PA) | PAGE | AF | SHARED | NORMAL | RDONLY);
    expect(r.walk(KVA, X, EL1)).toBe(false);
    expect(r.out.syndrome).toBe(0x8600_000f);
    expect(r.walk(KVA, X, EL0)).toBe(true); // AP = 10 + UXN = 0: EL0 execute-only
  });

  it('A6: PAN makes EL1 data accesses to EL0-accessible memory fault; fetches and EL1-only memory are unaffected', () => {
    const r = rig({ pan: true });
    r.put(r.slot(UVA, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL | NG | USER | RDONLY); // EL0 r-x, EL1 r-x
    r.put(r.slot(KVA, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL | UXN); // EL1 only
    expect(r.walk(UVA, R, EL1)).toBe(false);
    expect([r.out.faultKind, r.out.syndrome]).toEqual([Fault.Permission, 0x9600_000f]);
    expect(r.walk(UVA, X, EL1)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.UX | Perm.KX);
    expect(r.walk(UVA, R, EL0)).toBe(true);
    expect(r.walk(KVA, W, EL1)).toBe(true);
    r.mmu.pan = false; // uaccess window: PSTATE.PAN cleared
    expect(r.walk(UVA, R, EL1)).toBe(true);
  });

  it('A6: WXN makes writable memory execute-never for EL1 and EL0; read-only code still executes', () => {
    const r = rig({ wxn: true });
    r.put(r.slot(KVA, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL | UXN); // EL1 rw, PXN = 0
    r.put(r.slot(UVA, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL | NG | USER | PXN); // EL0 rw, UXN = 0
    r.put(r.slot(UVA + 0x1000n, 1), BigInt(PA) | PAGE | AF | SHARED | NORMAL | NG | USER | RDONLY | PXN);
    expect(r.walk(KVA, X, EL1)).toBe(false);
    expect(r.walk(UVA, X, EL0)).toBe(false);
    expect(r.out.syndrome).toBe(0x8200_000f);
    expect(r.walk(UVA + 0x1000n, X, EL0)).toBe(true);
    expect((r.mmu.registers().SCTLR_EL1! >> 19n) & 1n).toBe(1n);
  });
});
