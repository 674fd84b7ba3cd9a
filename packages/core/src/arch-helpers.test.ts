import { describe, expect, it } from 'vitest';
import {
  type ArchDescription,
  CONTRACT_VERSION,
  type DecodedSyndrome,
  deriveGeometry,
  KNOWN_ARCH_IDS,
  type LeafAttributes,
  MEMORY_TYPES,
  type MemoryType,
} from './arch.js';
import {
  isCanonicalVa,
  MEMORY_TYPE_FALLBACK_ORDER,
  memoryTypeFallback,
  sameLeafAttributes,
  syndromeMatches,
  syndromeMismatches,
  vaSignBit,
} from './arch-helpers.js';
import { isMmError } from './errors.js';

/** A description with 4 levels of 9 bits over 4 KiB pages (x86-64 / AArch64 shaped). */
function description(overrides: Partial<ArchDescription> = {}): ArchDescription {
  return {
    id: 'test64',
    name: 'test',
    pageShift: 12,
    descriptorBytes: 8,
    levels: [
      { level: 1, name: 'PT', shift: 12, indexBits: 9, leafAllowed: true },
      { level: 2, name: 'PD', shift: 21, indexBits: 9, leafAllowed: true },
      { level: 3, name: 'PDPT', shift: 30, indexBits: 9, leafAllowed: true },
      { level: 4, name: 'PML4', shift: 39, indexBits: 9, leafAllowed: false },
    ],
    vaBits: 48,
    signExtended: true,
    paBits: 48,
    splitRoots: false,
    userRange: { start: 0n, end: 1n << 47n },
    kernelRange: { start: (1n << 64n) - (1n << 47n), end: 1n << 64n },
    capabilities: {
      noExecute: true,
      separateExecuteNever: false,
      hardwareAccessFlag: true,
      hardwareDirty: true,
      asidBits: 0,
      globalPages: true,
      softwareBits: 3,
      softwarePayloadBits: 50,
      contiguousEntries: 0,
    },
    rootTableBytes: 4096,
    faultRegisters: ['S', 'A'],
    memoryTypes: MEMORY_TYPES,
    elf: undefined,
    ...overrides,
  };
}

describe('contract v2 constants', () => {
  it('CONTRACT_VERSION is 2, a plain number', () => {
    expect(CONTRACT_VERSION).toBe(2);
    expect(typeof CONTRACT_VERSION).toBe('number');
  });

  it('lists the shipped arch ids (documentation, not a closed type)', () => {
    expect(KNOWN_ARCH_IDS).toEqual(['aarch64', 'x86_64', 'x86_64-la57', 'x86-pae', 'x86-32']);
    expect(Object.isFrozen(KNOWN_ARCH_IDS)).toBe(true);
  });
});

describe('deriveGeometry (contract v2 fields)', () => {
  it('derives pageShift, pageBytes and the huge leaf levels from the description', () => {
    const g = deriveGeometry(description());
    expect([g.pageShift, g.pageBytes]).toEqual([12, 4096]);
    expect(g.leafLevels).toEqual([1, 2, 3]);
    expect(g.hugeLeafLevels).toEqual([2, 3]);
    expect(g.entryPages.slice(1)).toEqual([1, 512, 512 * 512, 512 ** 3]);
    expect(g.entries.slice(1)).toEqual([512, 512, 512, 512]);
  });

  it('counts entryPages in base pages of the description, not 4 KiB (16 KiB granule shape)', () => {
    const g = deriveGeometry(
      description({
        pageShift: 14,
        levels: [
          { level: 1, name: 'L3', shift: 14, indexBits: 11, leafAllowed: true },
          { level: 2, name: 'L2', shift: 25, indexBits: 11, leafAllowed: true },
        ],
      }),
    );
    expect([g.pageShift, g.pageBytes]).toEqual([14, 16384]);
    expect(g.entryPages.slice(1)).toEqual([1, 2048]);
    expect(g.hugeLeafLevels).toEqual([2]);
  });

  it('has no huge leaf levels when only level 1 holds leaves', () => {
    const d = description();
    const g = deriveGeometry({ ...d, levels: d.levels.map((l) => ({ ...l, leafAllowed: l.level === 1 })) });
    expect(g.hugeLeafLevels).toEqual([]);
  });
});

describe('memoryTypeFallback', () => {
  const only = (...types: MemoryType[]) => description({ memoryTypes: types });

  it('gives the wanted type when the codec expresses it', () => {
    for (const t of MEMORY_TYPES) expect(memoryTypeFallback(description(), t)).toBe(t);
  });

  it('falls back device → normal-nc → normal-wt → normal-wb (uncached first, as Linux ioremap)', () => {
    expect(MEMORY_TYPE_FALLBACK_ORDER).toEqual(['device', 'normal-nc', 'normal-wt', 'normal-wb']);
    expect(memoryTypeFallback(only('normal-wb', 'normal-nc', 'normal-wt'), 'device')).toBe('normal-nc');
    expect(memoryTypeFallback(only('normal-wb', 'normal-wt'), 'device')).toBe('normal-wt');
    expect(memoryTypeFallback(only('normal-wb'), 'device')).toBe('normal-wb');
    expect(memoryTypeFallback(only('normal-wb'), 'normal-nc')).toBe('normal-wb');
  });

  it('never makes a request more restrictive than asked', () => {
    // normal-wt is not expressible: the fallback is normal-wb, never device or normal-nc.
    expect(memoryTypeFallback(only('device', 'normal-nc', 'normal-wb'), 'normal-wt')).toBe('normal-wb');
  });

  it('throws a typed error for an unknown type or when nothing at or after it is expressible', () => {
    for (const f of [
      () => memoryTypeFallback(description(), 'uncached' as MemoryType),
      () => memoryTypeFallback(only('device'), 'normal-nc'),
      () => memoryTypeFallback(only(), 'device'),
    ]) {
      let error: unknown;
      try {
        f();
      } catch (e) {
        error = e;
      }
      expect(isMmError(error) && error.code).toBe('E_INVALID_ARGUMENT');
    }
  });
});

describe('syndromeMatches / syndromeMismatches', () => {
  const fault = { kind: 'translation', level: 3, access: 2, privilege: 0 } as const;
  const decoded = (d: Partial<DecodedSyndrome>): DecodedSyndrome => ({
    exception: 'X',
    kind: 'translation',
    level: 3,
    access: 2,
    privilege: 0,
    ...d,
  });
  const exact = { kind: true, level: true, access: 'exact' } as const;

  it('with full precision every field must equal', () => {
    expect(syndromeMatches(exact, decoded({}), fault)).toBe(true);
    expect(syndromeMismatches(exact, decoded({ kind: 'permission' }), fault)).toEqual([
      'kind permission, expected translation',
    ]);
    expect(syndromeMismatches(exact, decoded({ kind: 'other' }), fault)).toHaveLength(1);
    expect(syndromeMismatches(exact, decoded({ level: 0 }), fault)).toEqual(['level 0, expected 3']);
    expect(syndromeMismatches(exact, decoded({ access: 0 }), fault)).toEqual(['access read, expected fetch']);
    expect(syndromeMismatches(exact, decoded({ privilege: 1 }), fault)).toEqual([
      'privilege kernel, expected user',
    ]);
  });

  it('level false: the decoded level must be 0 ("not reported")', () => {
    const p = { kind: true, level: false, access: 'exact' } as const;
    expect(syndromeMatches(p, decoded({ level: 0 }), fault)).toBe(true);
    expect(syndromeMatches(p, decoded({ level: 3 }), fault)).toBe(false);
  });

  it('access no-fetch (arch-facts B6): a fetch decodes as a read; reads and writes stay exact', () => {
    const p = { kind: true, level: true, access: 'no-fetch' } as const;
    expect(syndromeMatches(p, decoded({ access: 0 }), fault)).toBe(true);
    expect(syndromeMismatches(p, decoded({ access: 2 }), fault)).toEqual([
      'access fetch, expected read (precision.access is no-fetch)',
    ]);
    expect(syndromeMatches(p, decoded({ access: 1 }), { ...fault, access: 1 })).toBe(true);
    expect(syndromeMatches(p, decoded({ access: 0 }), { ...fault, access: 1 })).toBe(false);
  });

  it('access none: every access decodes as a read', () => {
    const p = { kind: true, level: true, access: 'none' } as const;
    expect(syndromeMatches(p, decoded({ access: 0 }), { ...fault, access: 1 })).toBe(true);
    expect(syndromeMatches(p, decoded({ access: 1 }), { ...fault, access: 1 })).toBe(false);
  });

  it('kind false: the decoded kind is not compared (the kernel classifies from the PTE)', () => {
    const p = { kind: false, level: true, access: 'exact' } as const;
    expect(syndromeMatches(p, decoded({ kind: 'other' }), fault)).toBe(true);
    expect(syndromeMatches(p, decoded({ kind: 'permission' }), fault)).toBe(true);
  });
});

describe('vaSignBit / isCanonicalVa (ArchDescription.signExtended)', () => {
  it('one root (x86-64, arch-facts B1): bit vaBits-1 selects the half, bits 63:47 equal', () => {
    const d = description();
    expect(vaSignBit(d)).toBe(47);
    expect(isCanonicalVa(d, 0x0000_7fff_ffff_f000n)).toBe(true);
    expect(isCanonicalVa(d, 0xffff_8000_0000_0000n)).toBe(true);
    expect(isCanonicalVa(d, 0x0000_8000_0000_0000n)).toBe(false);
    expect(isCanonicalVa(d, 0xfffe_ffff_ffff_f000n)).toBe(false);
  });

  it('LA57 (arch-facts B1): bits 63:56 equal', () => {
    const d = description({ vaBits: 57 });
    expect(vaSignBit(d)).toBe(56);
    expect(isCanonicalVa(d, 0x00ff_ffff_ffff_f000n)).toBe(true);
    expect(isCanonicalVa(d, 0x0100_0000_0000_0000n)).toBe(false);
  });

  it('split roots (AArch64 TTBR0/TTBR1, arch-facts A3): each half is 2^vaBits, bits 63:48 equal', () => {
    const d = description({
      splitRoots: true,
      userRange: { start: 0n, end: 1n << 48n },
      kernelRange: { start: (1n << 64n) - (1n << 48n), end: 1n << 64n },
    });
    expect(vaSignBit(d)).toBe(48);
    expect(isCanonicalVa(d, 0x0000_8000_0000_0000n)).toBe(true); // TTBR0, bit 47 set
    expect(isCanonicalVa(d, 0x0000_ffff_ffff_f000n)).toBe(true);
    expect(isCanonicalVa(d, 0xffff_0000_0000_0000n)).toBe(true); // TTBR1
    expect(isCanonicalVa(d, 0x0001_0000_0000_0000n)).toBe(false);
    expect(isCanonicalVa(d, 0xfffe_ffff_ffff_f000n)).toBe(false);
  });

  it('not sign-extended (32-bit x86): VAs are [0, 2^vaBits)', () => {
    const d = description({ vaBits: 32, signExtended: false });
    expect(vaSignBit(d)).toBe(-1);
    expect(isCanonicalVa(d, 0xffff_f000n)).toBe(true);
    expect(isCanonicalVa(d, 0x1_0000_0000n)).toBe(false);
    expect(isCanonicalVa(d, 0xffff_ffff_ffff_f000n)).toBe(false);
  });

  it('rejects values outside 64 bits', () => {
    expect(isCanonicalVa(description(), -1n)).toBe(false);
    expect(isCanonicalVa(description(), 1n << 64n)).toBe(false);
  });
});

describe('sameLeafAttributes', () => {
  const base: LeafAttributes = {
    user: { read: true, write: true, execute: false },
    kernel: { read: true, write: true, execute: false },
    global: false,
    memoryType: 'normal-wb',
    accessed: true,
    dirty: false,
    software: 0,
  };
  const changes: [string, Partial<LeafAttributes>][] = [
    ['user.write', { user: { read: true, write: false, execute: false } }],
    ['user.execute', { user: { read: true, write: true, execute: true } }],
    ['kernel.read', { kernel: { read: false, write: true, execute: false } }],
    ['kernel.execute', { kernel: { read: true, write: true, execute: true } }],
    ['global', { global: true }],
    ['memoryType', { memoryType: 'device' }],
    ['software', { software: 1 }],
  ];

  it('is true for equal sets (an absent contiguous hint equals false) and false when any field differs', () => {
    expect(sameLeafAttributes(base, { ...base, contiguous: false })).toBe(true);
    for (const [name, change] of changes) {
      expect([name, sameLeafAttributes(base, { ...base, ...change })]).toEqual([name, false]);
      // Ignoring accessed/dirty and the hint never hides a difference of another field.
      expect(
        sameLeafAttributes(base, { ...base, ...change }, { ignoreAccessDirty: true, ignoreContiguous: true }),
      ).toBe(false);
    }
  });

  it('compares accessed/dirty and the contiguous hint unless told to ignore them', () => {
    for (const change of [{ accessed: false }, { dirty: true }] as Partial<LeafAttributes>[]) {
      expect(sameLeafAttributes(base, { ...base, ...change })).toBe(false);
      expect(sameLeafAttributes(base, { ...base, ...change }, { ignoreAccessDirty: true })).toBe(true);
    }
    expect(sameLeafAttributes(base, { ...base, contiguous: true })).toBe(false);
    expect(sameLeafAttributes(base, { ...base, contiguous: true }, { ignoreContiguous: true })).toBe(true);
  });

  it('refuses what is not leaf attributes or options, naming the argument', () => {
    for (const [a, b, o] of [
      [null, base, undefined],
      [base, { ...base, memoryType: 'weird' }, undefined],
      [base, base, { ignoreAccessDirty: 1 }],
    ] as const) {
      const e = (() => {
        try {
          sameLeafAttributes(a as never, b as never, o as never);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(isMmError(e)).toBe(true);
    }
  });
});
