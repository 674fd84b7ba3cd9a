import {
  CONTRACT_VERSION,
  isCanonicalVa,
  memoryTypeFallback,
  OPEN_TABLE,
  PhysicalMemory,
  vaSignBit,
} from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { createAarch64Arch } from './backend.js';
import { AARCH64_LINUX_MAIR } from './constants.js';
import { aarch64LevelName, parseAarch64Level } from './levels.js';
import { computeSctlrEl1, computeTcrEl1, computeTtbr } from './registers.js';

describe('the AArch64 description (arch-facts A1, A2, A3)', () => {
  const b = createAarch64Arch();

  it('A1/A2: 4 levels L0–L3 with shifts 39/30/21/12, leaves at L1–L3, 512 entries of 8 bytes', () => {
    expect(b.contractVersion).toBe(CONTRACT_VERSION);
    const d = b.description;
    expect(d.id).toBe('aarch64');
    expect(d.levels.map((l) => [l.level, l.name, l.shift, l.indexBits, l.leafAllowed])).toEqual([
      [1, 'L3', 12, 9, true],
      [2, 'L2', 21, 9, true],
      [3, 'L1', 30, 9, true],
      [4, 'L0', 39, 9, false],
    ]);
    expect([d.pageShift, d.descriptorBytes, d.vaBits, d.paBits, d.rootTableBytes, d.splitRoots]).toEqual([
      12,
      8,
      48,
      48,
      4096,
      true,
    ]);
    expect(b.geometry.leafLevels).toEqual([1, 2, 3]);
    expect(b.geometry.entrySizeBytes.slice(1)).toEqual([0x1000, 0x20_0000, 0x4000_0000, 0x80_0000_0000]);
  });

  it('A3: TTBR0 covers [0, 2^48), TTBR1 covers [2^64 - 2^48, 2^64)', () => {
    expect(b.description.userRange).toEqual({ start: 0n, end: 0x1_0000_0000_0000n });
    expect(b.description.kernelRange).toEqual({ start: 0xffff_0000_0000_0000n, end: 1n << 64n });
    expect(b.description.faultRegisters).toEqual(['ESR_EL1', 'FAR_EL1']);
  });

  it('capabilities follow the options; HD is effective only with HA', () => {
    expect(b.description.capabilities).toEqual({
      noExecute: true,
      separateExecuteNever: true,
      hardwareAccessFlag: true,
      hardwareDirty: true,
      asidBits: 16,
      globalPages: true,
      softwareBits: 4,
      softwarePayloadBits: 52,
      contiguousEntries: 16,
      // Linux arm64 ptep_clear_flush_young invalidates the page after clearing AF.
      flushOnAccessedClear: true,
      // Linux arm64 PTE_DIRTY = bit 55 = software bit 0 (bits [58:55]).
      softwareDirty: 1,
      // Linux arm64 PTE_SPECIAL = bit 56 = software bit 1.
      softwareSpecial: 2,
    });
    const sw = createAarch64Arch({ hardwareAccessFlag: false });
    expect([
      sw.description.capabilities.hardwareAccessFlag,
      sw.description.capabilities.hardwareDirty,
    ]).toEqual([false, false]);
    expect(b.options).toEqual({
      hardwareAccessFlag: true,
      hardwareDirty: true,
      mair: AARCH64_LINUX_MAIR,
      pan: false,
      wxn: false,
    });
    expect(b.defaults).toEqual({ userTable: OPEN_TABLE, kernelTable: OPEN_TABLE });
  });

  it('refuses options of the wrong type', () => {
    expect(() => createAarch64Arch({ pan: 1 as unknown as boolean })).toThrow(/pan/);
    expect(() => createAarch64Arch({ mair: 5 as unknown as bigint })).toThrow(/MAIR_EL1/);
  });

  it('MMU options override the backend: HA/HD, PAN, WXN', () => {
    const memory = new PhysicalMemory({ ram: [{ name: 'ram', start: 0x4000_0000, end: 0x4010_0000 }] });
    const mmu = b.createMmu(memory, { hardwareAccessFlag: false, pan: true, wxn: true });
    expect([mmu.hardwareAccessFlag, mmu.hardwareDirty, mmu.pan, mmu.wxn]).toEqual([false, false, true, true]);
    expect(mmu.arch).toBe(b.description);
    expect(mmu.memory).toBe(memory);
  });
});

describe('level names', () => {
  it('parses L0–L3 into internal levels 4–1 and names them back', () => {
    expect(['L0', 'L1', 'L2', 'L3', 'l3'].map(parseAarch64Level)).toEqual([4, 3, 2, 1, 1]);
    expect([4, 3, 2, 1].map(aarch64LevelName)).toEqual(['L0', 'L1', 'L2', 'L3']);
    for (const bad of ['L4', 'L-1', '3', 'PML4', ''])
      expect(() => parseAarch64Level(bad)).toThrow(/AArch64 level/);
    expect(() => aarch64LevelName(0)).toThrow(/internal level/);
  });
});

describe('translation registers (arch-facts A4, A6)', () => {
  it('A4: TCR_EL1 = T0SZ 16, T1SZ 16, TG0 4K, TG1 4K (0b10), WBWA, inner shareable, IPS 48-bit, AS, HA, HD', () => {
    expect(computeTcrEl1({ ha: true, hd: true })).toBe(0x0000_0195_b510_3510n);
    expect(computeTcrEl1({ ha: false, hd: false })).toBe(0x0000_0015_b510_3510n);
    expect(
      createAarch64Arch()
        .createMmu(new PhysicalMemory({ ram: [{ name: 'r', start: 0, end: 4096 }] }))
        .registers(),
    ).toEqual({
      TTBR0_EL1: 0n,
      TTBR1_EL1: 0n,
      TCR_EL1: 0x0000_0195_b510_3510n,
      MAIR_EL1: 0x0000_0004_0044_ffffn,
      SCTLR_EL1: 0x30d0_1805n,
    });
  });

  it('A6: SCTLR_EL1 = M | C | I | RES1 (11, 20, 22, 28, 29) | SPAN unless PAN | WXN', () => {
    expect(computeSctlrEl1({ wxn: false, pan: false })).toBe(0x30d0_1805n);
    expect(computeSctlrEl1({ wxn: true, pan: true })).toBe(0x3058_1805n);
  });

  it('A3: TTBR = ASID << 48 | BADDR', () => {
    expect(computeTtbr(0x4008_2000, 0x42)).toBe(0x0042_0000_4008_2000n);
    expect(() => computeTtbr(0x4008_2001, 0)).toThrow(/translation table base/);
  });
});

describe('contract v2 fields of the AArch64 backend', () => {
  const b = createAarch64Arch();

  it('implements contract version 2', () => {
    expect(b.contractVersion).toBe(2);
  });

  it('A3: vaBits 48 per TTBR, sign-extended with split roots (bits 63:48 equal, half selected by bit 48)', () => {
    expect([b.description.vaBits, b.description.signExtended, b.description.splitRoots]).toEqual([
      48,
      true,
      true,
    ]);
    expect(vaSignBit(b.description)).toBe(48);
    expect(isCanonicalVa(b.description, 0x0000_8000_0000_0000n)).toBe(true);
    expect(isCanonicalVa(b.description, 0x0001_0000_0000_0000n)).toBe(false);
  });

  it('A9: ESR_EL1 names kind, level and access (EC + WnR): full precision', () => {
    expect(b.syndromes.precision).toEqual({ kind: true, level: true, access: 'exact' });
    // EL0 write translation fault at L2 → 0x9200_0046 (arch-facts A9): level 2 = internal 2.
    expect(b.syndromes.decode(0x9200_0046n)).toMatchObject({
      kind: 'translation',
      level: 2,
      access: 1,
      privilege: 0,
    });
  });

  it('ELF: EM_AARCH64 = 183 (linux include/uapi/linux/elf-em.h), ELFCLASS64, AT_PLATFORM aarch64', () => {
    expect(b.description.elf).toEqual({ machine: 183, class: 64, platform: 'aarch64' });
  });

  it('A8: memoryTypes follow MAIR_EL1 (Linux MAIR_EL1_SET has no write-through attribute)', () => {
    expect(b.description.memoryTypes).toEqual(['normal-wb', 'normal-nc', 'device']);
    expect(memoryTypeFallback(b.description, 'device')).toBe('device');
    expect(memoryTypeFallback(b.description, 'normal-wt')).toBe('normal-wb');
    // Old Linux / U-Boot MAIR 0x0000_BBFF_440C_0400: every neutral type.
    expect(createAarch64Arch({ mair: 0x0000_bbff_440c_0400n }).description.memoryTypes).toEqual([
      'normal-wb',
      'normal-nc',
      'normal-wt',
      'device',
    ]);
  });

  it('A8: a MAIR without a Device attribute declares no device type, and MMIO falls back to Normal-NC', () => {
    const noDevice = createAarch64Arch({ mair: 0xffff_ffff_ffff_ff44n });
    expect(noDevice.description.memoryTypes).toEqual(['normal-wb', 'normal-nc']);
    expect(memoryTypeFallback(noDevice.description, 'device')).toBe('normal-nc');
  });

  it('geometry: 4 KiB pages, huge leaves at L2 and L1', () => {
    expect([b.geometry.pageShift, b.geometry.pageBytes]).toEqual([12, 4096]);
    expect(b.geometry.hugeLeafLevels).toEqual([2, 3]);
  });
});
