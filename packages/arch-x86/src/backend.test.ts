import {
  CONTRACT_VERSION,
  isCanonicalVa,
  isMmError,
  memoryTypeFallback,
  OPEN_TABLE,
  PhysicalMemory,
  vaSignBit,
} from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { createX86Arch } from './backend.js';
import { X86_LINUX_PAT, X86_PAT_RESET } from './constants.js';
import { isX86Mode, parseX86Level, X86_MODES, x86LevelName } from './modes.js';
import { computeCr0, computeCr3, computeCr4, computeEfer } from './registers.js';

const memory = () => new PhysicalMemory({ ram: [{ name: 'ram', start: 0, end: 0x100_0000 }] });

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isMmError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'not refused';
}

describe('the four descriptions (arch-facts B1)', () => {
  const shape = (mode: (typeof X86_MODES)[number]) => {
    const b = createX86Arch({ mode });
    return b.description.levels.map((l) => [l.level, l.name, l.shift, l.indexBits, l.leafAllowed]);
  };

  it('B1: x86-32 = PD 10 / PT 10 bits, 4-byte entries, 4 MiB PD leaves with PSE', () => {
    const b = createX86Arch({ mode: 'x86-32' });
    expect(b.contractVersion).toBe(CONTRACT_VERSION);
    expect(shape('x86-32')).toEqual([
      [1, 'PT', 12, 10, true],
      [2, 'PD', 22, 10, true],
    ]);
    const d = b.description;
    expect([d.id, d.descriptorBytes, d.rootTableBytes, d.vaBits, d.paBits, d.splitRoots]).toEqual([
      'x86-32',
      4,
      4096,
      32,
      32,
      false,
    ]);
    expect(d.userRange).toEqual({ start: 0n, end: 0xc000_0000n });
    expect(d.kernelRange).toEqual({ start: 0xc000_0000n, end: 0x1_0000_0000n });
    expect(b.geometry.entrySizeBytes.slice(1)).toEqual([0x1000, 0x40_0000]);
    expect(createX86Arch({ mode: 'x86-32', pse: false }).geometry.leafLevels).toEqual([1]);
  });

  it('B1: x86-pae = PDPT 2 / PD 9 / PT 9 bits, a 32-byte root, 2 MiB PD leaves', () => {
    const b = createX86Arch({ mode: 'x86-pae' });
    expect(shape('x86-pae')).toEqual([
      [1, 'PT', 12, 9, true],
      [2, 'PD', 21, 9, true],
      [3, 'PDPT', 30, 2, false],
    ]);
    const d = b.description;
    expect([d.descriptorBytes, d.rootTableBytes, d.vaBits, d.paBits]).toEqual([8, 32, 32, 40]);
    expect(d.userRange).toEqual({ start: 0n, end: 0xc000_0000n });
  });

  it('B1: x86_64 = PML4 / PDPT / PD / PT, 9 bits each, 1 GiB and 2 MiB leaves, 48-bit canonical halves', () => {
    const b = createX86Arch({ mode: 'x86_64' });
    expect(shape('x86_64')).toEqual([
      [1, 'PT', 12, 9, true],
      [2, 'PD', 21, 9, true],
      [3, 'PDPT', 30, 9, true],
      [4, 'PML4', 39, 9, false],
    ]);
    const d = b.description;
    expect([d.descriptorBytes, d.rootTableBytes, d.vaBits, d.paBits]).toEqual([8, 4096, 48, 40]);
    expect(d.userRange).toEqual({ start: 0n, end: 0x0000_8000_0000_0000n });
    expect(d.kernelRange).toEqual({ start: 0xffff_8000_0000_0000n, end: 1n << 64n });
    expect(b.geometry.leafLevels).toEqual([1, 2, 3]);
  });

  it('B1: x86_64-la57 adds PML5 (shift 48), 57-bit canonical halves', () => {
    const b = createX86Arch({ mode: 'x86_64-la57' });
    expect(shape('x86_64-la57').at(-1)).toEqual([5, 'PML5', 48, 9, false]);
    expect(b.description.vaBits).toBe(57);
    expect(b.description.userRange).toEqual({ start: 0n, end: 0x0100_0000_0000_0000n });
    expect(b.description.kernelRange).toEqual({ start: 0xff00_0000_0000_0000n, end: 1n << 64n });
  });

  it('capabilities follow the options', () => {
    const caps = (o: Parameters<typeof createX86Arch>[0]) => createX86Arch(o).description.capabilities;
    expect(caps({ mode: 'x86_64' })).toEqual({
      noExecute: true,
      separateExecuteNever: false,
      hardwareAccessFlag: true,
      hardwareDirty: true,
      asidBits: 12,
      globalPages: true,
      softwareBits: 10,
      softwarePayloadBits: 51,
      contiguousEntries: 0,
      // Linux x86 ptep_clear_flush_young deliberately does not flush.
      flushOnAccessedClear: false,
      // Linux _PAGE_SPECIAL = bit 9 (_PAGE_BIT_SOFTW1) = software bit 0, in every mode.
      softwareSpecial: 1,
    });
    for (const mode of ['x86_64-la57', 'x86-pae', 'x86-32'] as const)
      expect(caps({ mode }).softwareSpecial).toBe(1);
    expect(caps({ mode: 'x86-32' })).toMatchObject({
      noExecute: false,
      asidBits: 0,
      softwareBits: 3,
      softwarePayloadBits: 31,
    });
    expect(caps({ mode: 'x86-pae', nxe: false })).toMatchObject({
      noExecute: false,
      asidBits: 0,
      softwareBits: 3,
      softwarePayloadBits: 51,
    });
    expect(caps({ mode: 'x86_64', pcid: false, pge: false })).toMatchObject({
      asidBits: 0,
      globalPages: false,
    });
    const b = createX86Arch({ mode: 'x86_64' });
    expect(b.description.faultRegisters).toEqual(['#PF error code', 'CR2']);
    expect(b.options).toEqual({
      mode: 'x86_64',
      pse: true,
      pse36: true,
      nxe: true,
      pge: true,
      pcid: true,
      wp: true,
      smep: false,
      smap: false,
      pke: false,
      maxPhysAddr: 40,
      userSplit: 0,
      rsvdSetsP: true,
      pat: X86_LINUX_PAT,
    });
  });

  it('MAXPHYADDR sets paBits in PAE and IA-32e; x86-32 keeps paBits 32 (PSE-36 pages are decoded, not encoded)', () => {
    expect(createX86Arch({ mode: 'x86_64', maxPhysAddr: 52 }).description.paBits).toBe(52);
    expect(createX86Arch({ mode: 'x86-pae', maxPhysAddr: 36 }).description.paBits).toBe(36);
    expect(createX86Arch({ mode: 'x86-32', maxPhysAddr: 40 }).description.paBits).toBe(32);
    expect(createX86Arch({ mode: 'x86-32' }).options.maxPhysAddr).toBe(36);
    expect(createX86Arch({ mode: 'x86-32', pse36: false }).options.maxPhysAddr).toBe(32);
  });

  it('userSplit moves the 32-bit halves (seed 003 and Linux use 3G/1G)', () => {
    const b = createX86Arch({ mode: 'x86-32', userSplit: 0x8000_0000 });
    expect(b.description.userRange.end).toBe(0x8000_0000n);
    expect(b.description.kernelRange.start).toBe(0x8000_0000n);
    expect(createX86Arch({ mode: 'x86-pae', userSplit: 0x4000_0000 }).description.kernelRange.start).toBe(
      0x4000_0000n,
    );
  });

  it('defaults: open user tables; kernel tables without U/S in IA-32e (Linux _KERNPG_TABLE), open in 32-bit modes; user space ends at TASK_SIZE_MAX = 2^47 (2^56) − 4096 in IA-32e', () => {
    const kernel = { noUser: true, readOnly: false, noExecuteUser: false, noExecuteKernel: false };
    expect(createX86Arch({ mode: 'x86_64' }).defaults).toEqual({
      userTable: OPEN_TABLE,
      kernelTable: kernel,
      userSpaceEnd: 0x7fff_ffff_f000n,
    });
    expect(createX86Arch({ mode: 'x86_64-la57' }).defaults.kernelTable).toEqual(kernel);
    expect(createX86Arch({ mode: 'x86_64-la57' }).defaults.userSpaceEnd).toBe((1n << 56n) - 4096n);
    expect(createX86Arch({ mode: 'x86-pae' }).defaults).toEqual({
      userTable: OPEN_TABLE,
      kernelTable: OPEN_TABLE,
    });
    expect(createX86Arch({ mode: 'x86-32' }).defaults).toEqual({
      userTable: OPEN_TABLE,
      kernelTable: OPEN_TABLE,
    });
  });
});

describe('option validation', () => {
  it.each([
    ['an unknown mode', { mode: 'x86-16' }, /x86 paging mode: "x86-16"/],
    ['nxe in x86-32', { mode: 'x86-32', nxe: true }, /nxe.*no execute-disable/],
    ['pcid in x86-pae', { mode: 'x86-pae', pcid: true }, /pcid.*IA-32e/],
    ['pcid in x86-32', { mode: 'x86-32', pcid: true }, /pcid/],
    ['pke in x86-pae', { mode: 'x86-pae', pke: true }, /pke.*IA-32e/],
    ['MAXPHYADDR 53', { mode: 'x86_64', maxPhysAddr: 53 }, /maxPhysAddr: 53/],
    ['MAXPHYADDR 31', { mode: 'x86-pae', maxPhysAddr: 31 }, /maxPhysAddr: 31/],
    ['MAXPHYADDR 41 in x86-32', { mode: 'x86-32', maxPhysAddr: 41 }, /at most 40 bits/],
    ['userSplit in x86_64', { mode: 'x86_64', userSplit: 0x8000_0000 }, /userSplit/],
    ['a userSplit not on a PDE boundary', { mode: 'x86-32', userSplit: 0xc000_1000 }, /4 MiB/],
    ['a userSplit not on a PDPTE boundary', { mode: 'x86-pae', userSplit: 0xc040_0000 }, /1 GiB/],
    ['userSplit 0', { mode: 'x86-32', userSplit: 0 }, /userSplit: 0/],
    ['a non-boolean flag', { mode: 'x86_64', smep: 1 }, /smep: 1 is invalid; expected a boolean/],
    ['a PAT with a reserved type', { mode: 'x86_64', pat: 0x0000_0000_0000_0002n }, /IA32_PAT.PA0: 2/],
  ])('refuses %s with a typed error', (_, options, message) => {
    const text = refusal(() => createX86Arch(options as Parameters<typeof createX86Arch>[0]));
    expect(text).toMatch(/^E_INVALID_ARGUMENT: /);
    expect(text).toMatch(message);
  });

  it('refuses MMU options that turn off hardware A/D, and bad PKRU values', () => {
    const b = createX86Arch({ mode: 'x86_64', pke: true });
    expect(refusal(() => b.createMmu(memory(), { hardwareAccessFlag: false }))).toMatch(
      /always sets A and D/,
    );
    expect(refusal(() => b.createMmu(memory(), { pkru: -1 }))).toMatch(/PKRU: -1/);
    const mmu = b.createMmu(memory(), { wp: false, smep: true, smap: true, acFlag: true, pkru: 0xc });
    expect([mmu.wp, mmu.smep, mmu.smap, mmu.acFlag, mmu.pkru]).toEqual([false, true, true, true, 0xc]);
    expect(
      refusal(() => {
        mmu.pkru = 2 ** 32;
      }),
    ).toMatch(/PKRU/);
  });
});

describe('level names (arch-facts B1)', () => {
  it('parses the manual names per mode, case-insensitive, entry names too', () => {
    expect(['PT', 'PD', 'PDPT', 'PML4', 'PML5'].map((n) => parseX86Level('x86_64-la57', n))).toEqual([
      1, 2, 3, 4, 5,
    ]);
    expect(['pt', 'Pd', 'PDPTE', 'pml4e'].map((n) => parseX86Level('x86_64', n))).toEqual([1, 2, 3, 4]);
    expect(parseX86Level('x86-pae', 'PDPT')).toBe(3);
    expect(parseX86Level('x86-32', 'PDE')).toBe(2);
    expect(x86LevelName('x86_64', 4)).toBe('PML4');
    expect(x86LevelName('x86-32', 2)).toBe('PD');
  });

  it.each([
    ['x86_64', 'PML5'],
    ['x86-32', 'PDPT'],
    ['x86-pae', 'PML4'],
    ['x86_64', 'L3'],
    ['x86_64', ''],
  ] as const)('refuses %s level %s', (mode, name) => {
    expect(refusal(() => parseX86Level(mode, name))).toMatch(/^E_INVALID_ARGUMENT: .* level/);
  });

  it('refuses unknown modes and levels when naming', () => {
    expect(refusal(() => x86LevelName('x86_64', 5))).toMatch(/from 1 \(PT\) to 4 \(PML4\)/);
    expect(refusal(() => x86LevelName('arm' as 'x86_64', 1))).toMatch(/x86 paging mode/);
    expect(X86_MODES.every(isX86Mode)).toBe(true);
    expect(isX86Mode('aarch64')).toBe(false);
  });
});

describe('control registers (arch-facts B2)', () => {
  it('B2: x86_64 defaults: CR0 = PE | WP | PG, CR4 = PSE | PAE | PGE | PCIDE, EFER = LME | LMA | NXE', () => {
    const mmu = createX86Arch({ mode: 'x86_64' }).createMmu(memory());
    mmu.setUserRoot(0x20_3000, 0x2a);
    expect(mmu.registers()).toEqual({
      CR0: 0x8001_0001n,
      CR3: 0x20_302an,
      CR4: 0x0002_00b0n,
      EFER: 0xd00n,
      IA32_PAT: 0x0407_0506_0007_0106n,
    });
  });

  it('B2: LA57, SMEP, SMAP and PKE set their CR4 bits; PKRU is exported with PKE', () => {
    const mmu = createX86Arch({ mode: 'x86_64-la57', smep: true, smap: true, pke: true }).createMmu(
      memory(),
      {
        pkru: 0x5554,
      },
    );
    const r = mmu.registers();
    expect(r.CR4).toBe(0x0072_10b0n);
    expect(r.PKRU).toBe(0x5554n);
    mmu.smap = false;
    expect(mmu.registers().CR4).toBe(0x0052_10b0n);
  });

  it('B2: x86-pae: CR4.PAE without EFER.LME; CR3 holds the 32-byte-aligned PDPT', () => {
    const mmu = createX86Arch({ mode: 'x86-pae' }).createMmu(memory());
    mmu.setUserRoot(0x10_0fe0, 0);
    expect(mmu.registers()).toMatchObject({ CR3: 0x10_0fe0n, CR4: 0xb0n, EFER: 0x800n });
  });

  it('B2: x86-32: no PAE, EFER 0, CR0.WP as configured', () => {
    const mmu = createX86Arch({ mode: 'x86-32', wp: false, pge: false }).createMmu(memory());
    mmu.setKernelRoot(0x1000);
    expect(mmu.registers()).toMatchObject({ CR0: 0x8000_0001n, CR3: 0x1000n, CR4: 0x10n, EFER: 0n });
  });

  it('B2: computeCr3 / computeCr0 / computeCr4 / computeEfer are usable on their own', () => {
    expect(computeCr3('x86_64', 0x1000, 5, { pcid: true, maxPhysAddr: 40 })).toBe(0x1005n);
    expect(refusal(() => computeCr3('x86_64', 0x1000, 5, { pcid: false, maxPhysAddr: 40 }))).toMatch(
      /PCID: 5/,
    );
    expect(computeCr0({ wp: true })).toBe(0x8001_0001n);
    expect(computeEfer({ mode: 'x86-pae', nxe: false })).toBe(0n);
    expect(
      computeCr4({
        mode: 'x86-32',
        pse: true,
        nxe: false,
        pge: true,
        pcid: false,
        wp: true,
        smep: true,
        smap: false,
        pke: false,
      }),
    ).toBe(0x10_0090n);
  });
});

describe('contract v2 fields of the x86 backends', () => {
  const all = () => X86_MODES.map((mode) => createX86Arch({ mode }));

  it('implement contract version 2', () => {
    for (const b of all()) expect(b.contractVersion).toBe(2);
  });

  it('B1: vaBits 32/32/48/57; IA-32e sign-extended from bit 47/56, the 32-bit modes plain 32-bit VAs', () => {
    expect(all().map((b) => [b.description.id, b.description.vaBits, b.description.signExtended])).toEqual([
      ['x86-32', 32, false],
      ['x86-pae', 32, false],
      ['x86_64', 48, true],
      ['x86_64-la57', 57, true],
    ]);
    expect(all().map((b) => vaSignBit(b.description))).toEqual([-1, -1, 47, 56]);
    const d64 = createX86Arch({ mode: 'x86_64' }).description;
    expect(isCanonicalVa(d64, 0x0000_7fff_ffff_f000n)).toBe(true);
    expect(isCanonicalVa(d64, 0x0000_8000_0000_0000n)).toBe(false);
    expect(isCanonicalVa(createX86Arch({ mode: 'x86-32' }).description, 0x1_0000_0000n)).toBe(false);
  });

  it('B6: kind from P/RSVD, never a level; access exact with I/D (SMEP, or NXE in PAE/IA-32e), else no-fetch', () => {
    const precision = (o: Parameters<typeof createX86Arch>[0]) => createX86Arch(o).syndromes.precision;
    expect(precision({ mode: 'x86_64' })).toEqual({ kind: true, level: false, access: 'exact' });
    expect(precision({ mode: 'x86_64-la57' })).toEqual({ kind: true, level: false, access: 'exact' });
    expect(precision({ mode: 'x86-pae' })).toEqual({ kind: true, level: false, access: 'exact' });
    expect(precision({ mode: 'x86-pae', nxe: false })).toEqual({
      kind: true,
      level: false,
      access: 'no-fetch',
    });
    expect(precision({ mode: 'x86-pae', nxe: false, smep: true }).access).toBe('exact');
    expect(precision({ mode: 'x86_64', nxe: false })).toEqual({
      kind: true,
      level: false,
      access: 'no-fetch',
    });
    expect(precision({ mode: 'x86-32' })).toEqual({ kind: true, level: false, access: 'no-fetch' });
    expect(precision({ mode: 'x86-32', smep: true }).access).toBe('exact');
  });

  it('ELF (linux include/uapi/linux/elf-em.h): EM_X86_64 = 62 ELFCLASS64 x86_64; EM_386 = 3 ELFCLASS32 i686', () => {
    expect(all().map((b) => b.description.elf)).toEqual([
      { machine: 3, class: 32, platform: 'i686' },
      { machine: 3, class: 32, platform: 'i686' },
      { machine: 62, class: 64, platform: 'x86_64' },
      { machine: 62, class: 64, platform: 'x86_64' },
    ]);
  });

  it('B9: memoryTypes follow IA32_PAT (Linux PAT: all four; reset PAT: no WC; all-WB: MMIO falls back to WB)', () => {
    for (const b of all())
      expect(b.description.memoryTypes).toEqual(['normal-wb', 'normal-nc', 'normal-wt', 'device']);
    const reset = createX86Arch({ mode: 'x86_64', pat: X86_PAT_RESET }).description;
    expect(reset.memoryTypes).toEqual(['normal-wb', 'normal-wt', 'device']);
    expect(memoryTypeFallback(reset, 'normal-nc')).toBe('normal-wt');
    const wbOnly = createX86Arch({ mode: 'x86_64', pat: 0x0606_0606_0606_0606n }).description;
    expect(wbOnly.memoryTypes).toEqual(['normal-wb']);
    expect(memoryTypeFallback(wbOnly, 'device')).toBe('normal-wb');
  });

  it('geometry: 4 KiB pages; huge leaves per mode (4 MiB PD with PSE, 2 MiB PD, 1 GiB PDPT)', () => {
    expect(all().map((b) => [b.geometry.pageBytes, b.geometry.hugeLeafLevels])).toEqual([
      [4096, [2]],
      [4096, [2]],
      [4096, [2, 3]],
      [4096, [2, 3]],
    ]);
    expect(createX86Arch({ mode: 'x86-32', pse: false }).geometry.hugeLeafLevels).toEqual([]);
  });
});
