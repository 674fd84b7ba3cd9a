/**
 * The shared conformance suite (@mmkit/testkit) for every x86 mode and the
 * option variants that change the format: 32-bit paging without PSE or
 * PSE-36, PAE without NXE, IA-32e without PCIDs, MAXPHYADDR 52 and 36, RSVD
 * without P. (Without CR4.PGE the walker reports `global` false for G = 1, as
 * the hardware ignores G; the suite expects the leaf's G back, so that variant
 * is tested in mmu.test.ts instead.)
 *
 * Configurations without an I/D bit in the #PF error code (`x86-32`, PAE with
 * NXE = 0, no SMEP; arch-facts B6) report an instruction fetch exactly as a
 * read. They declare it (`syndromes.precision.access` = `no-fetch`, contract
 * v2) and the suite compares decoded syndromes through the declared
 * precision, so every configuration runs the suite unmodified.
 */
import type { ArchBackend, SyndromePrecision } from '@mmkit/core';
import {
  checkSyndromePrecision,
  checkUnmapped,
  checkWalkerLeafLevel,
  describeConformance,
  describeEditorConformance,
} from '@mmkit/testkit';
import { describe, expect, it } from 'vitest';
import { createX86Arch } from './backend.js';

describeConformance('x86_64', () => createX86Arch({ mode: 'x86_64' }));
describeConformance('x86_64-la57', () => createX86Arch({ mode: 'x86_64-la57' }));
describeConformance('x86-pae', () => createX86Arch({ mode: 'x86-pae' }));
describeConformance('x86-32', () => createX86Arch({ mode: 'x86-32' }));
describeConformance('x86-32 without PSE', () => createX86Arch({ mode: 'x86-32', pse: false }));
describeConformance('x86-32 without PSE-36', () => createX86Arch({ mode: 'x86-32', pse36: false }));
describeConformance('x86-pae without NXE', () => createX86Arch({ mode: 'x86-pae', nxe: false }));
describeConformance('x86_64 without PCID, MAXPHYADDR 52, RSVD without P', () =>
  createX86Arch({ mode: 'x86_64', pcid: false, maxPhysAddr: 52, rsvdSetsP: false }),
);
describeConformance('x86_64-la57 with MAXPHYADDR 36', () =>
  createX86Arch({ mode: 'x86_64-la57', maxPhysAddr: 36 }),
);

/** The backend with another declared precision (everything else unchanged). */
function declaring(backend: ArchBackend, precision: SyndromePrecision): ArchBackend {
  const inner = backend.syndromes;
  return {
    ...backend,
    syndromes: {
      syndromeRegister: inner.syndromeRegister,
      addressRegister: inner.addressRegister,
      precision,
      decode: (s) => inner.decode(s),
      describe: (s) => inner.describe(s),
      encode: (f) => inner.encode(f),
    },
  };
}

describe('syndrome precision of the #PF error code (arch-facts B6)', () => {
  const noId = () => [createX86Arch({ mode: 'x86-32' }), createX86Arch({ mode: 'x86-pae', nxe: false })];
  const withId = () => [
    createX86Arch({ mode: 'x86_64' }),
    createX86Arch({ mode: 'x86-pae' }),
    createX86Arch({ mode: 'x86-32', smep: true }),
    createX86Arch({ mode: 'x86_64', nxe: false, smep: true }),
  ];

  it('B6: x86-32 and PAE without NXE (no SMEP) declare no-fetch; with NXE or SMEP exact; never a level', () => {
    for (const b of noId())
      expect(b.syndromes.precision).toEqual({ kind: true, level: false, access: 'no-fetch' });
    for (const b of withId())
      expect(b.syndromes.precision).toEqual({ kind: true, level: false, access: 'exact' });
  });

  it('B6: without I/D a user fetch of an unmapped page reports 0x4, the code of a user read', () => {
    for (const b of noId()) {
      expect(b.syndromes.encode({ kind: 'translation', level: 1, access: 2, privilege: 0 })).toBe(0x4n);
      expect(b.syndromes.decode(0x4n)).toMatchObject({
        kind: 'translation',
        level: 0,
        access: 0,
        privilege: 0,
      });
    }
    // With I/D: 0x14 (user fetch, not present).
    expect(
      createX86Arch({ mode: 'x86-pae' }).syndromes.encode({
        kind: 'translation',
        level: 1,
        access: 2,
        privilege: 0,
      }),
    ).toBe(0x14n);
  });

  it('B6: the walker really reports a fetch as a read without I/D (the suite proves no-fetch true)', () => {
    for (const b of noId()) {
      expect(checkSyndromePrecision(b)).toEqual([]);
      expect(checkUnmapped(b)).toEqual([]);
      expect(checkWalkerLeafLevel(b, 1)).toEqual([]);
    }
  });

  it('B6: declaring exact access without I/D is caught: fetch faults decode as reads', () => {
    for (const b of noId()) {
      const problems = checkSyndromePrecision(declaring(b, { kind: true, level: false, access: 'exact' }));
      expect(problems.length).toBeGreaterThan(0);
      for (const p of problems)
        expect(p).toMatch(/fetch by .*decodes to access read, expected fetch|… and \d+ more/);
      // The walker checks compare through the declared precision too.
      expect(checkUnmapped(declaring(b, { kind: true, level: false, access: 'exact' })).join('\n')).toMatch(
        /syndrome access read, expected fetch/,
      );
    }
  });

  it('B6: declaring no-fetch with I/D (or a level) is caught', () => {
    for (const b of withId()) {
      expect(
        checkSyndromePrecision(declaring(b, { kind: true, level: false, access: 'no-fetch' })).join('\n'),
      ).toMatch(/decodes to access fetch, expected read \(precision.access is no-fetch\)/);
      expect(
        checkSyndromePrecision(declaring(b, { kind: true, level: true, access: 'exact' })).join('\n'),
      ).toMatch(/decodes to level 0, expected \d/);
    }
  });

  it('decodes level 0 whatever the fault (the error code has no level)', () => {
    const b = createX86Arch({ mode: 'x86_64' });
    expect(b.syndromes.decode(0x15n)).toMatchObject({
      kind: 'permission',
      level: 0,
      access: 2,
      privilege: 0,
    });
    expect(b.syndromes.decode(0x9n)).toMatchObject({
      kind: 'reserved-bit',
      level: 0,
      access: 0,
      privilege: 1,
    });
  });
});

for (const mode of ['x86_64', 'x86_64-la57', 'x86-pae', 'x86-32'] as const)
  describeEditorConformance(mode, () => createX86Arch({ mode }));
