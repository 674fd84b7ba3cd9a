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
 * read, so no decoder can name the access, while the suite checks that
 * `syndromes.decode(walk syndrome).access` is the walk's access. Those run
 * through {@link fetchTagged}, which leaves the hardware error code in the low
 * 32 bits untouched and only tags fetch faults in `syndromeHi` bit 31 (an x86
 * error code has bits 63:32 clear, so the tag can never be confused with a real
 * bit). Every other comparison of the suite runs unchanged, and the untagged
 * codes are golden-tested in mmu.test.ts and below.
 */
import {
  type ArchBackend,
  type DecodedSyndrome,
  Fault,
  type Mmu,
  type PhysicalMemory,
  type SyndromeCodec,
  type WalkResult,
} from '@mmkit/core';
import {
  checkUnmapped,
  checkWalkerLeafLevel,
  describeConformance,
  describeEditorConformance,
} from '@mmkit/testkit';
import { describe, expect, it } from 'vitest';
import { createX86Arch } from './backend.js';

const TAG = 0x8000_0000;
const TAG64 = 1n << 63n;

function tagFetch(out: WalkResult, access: number): void {
  if (!out.ok && access === 2 && out.faultKind !== Fault.NonCanonical) out.syndromeHi = TAG;
}

/** See the module documentation. */
function fetchTagged(backend: ArchBackend): ArchBackend {
  const inner = backend.syndromes;
  const syndromes: SyndromeCodec = {
    syndromeRegister: inner.syndromeRegister,
    addressRegister: inner.addressRegister,
    decode(s: bigint): DecodedSyndrome {
      const d = inner.decode(s & 0xffff_ffffn);
      return (s & TAG64) !== 0n ? { ...d, access: 2 } : d;
    },
    describe: (s: bigint) => inner.describe(s & 0xffff_ffffn),
    encode(fault) {
      const code = inner.encode(fault);
      return fault.access === 2 && fault.kind !== 'non-canonical' ? code | TAG64 : code;
    },
  };
  return {
    ...backend,
    syndromes,
    createMmu(memory: PhysicalMemory, options): Mmu {
      const mmu = backend.createMmu(memory, options);
      return {
        get arch() {
          return mmu.arch;
        },
        get memory() {
          return mmu.memory;
        },
        get asid() {
          return mmu.asid;
        },
        get userRoot() {
          return mmu.userRoot;
        },
        get kernelRoot() {
          return mmu.kernelRoot;
        },
        setUserRoot: (root, asid) => mmu.setUserRoot(root, asid),
        setKernelRoot: (root) => mmu.setKernelRoot(root),
        walk(vpn, access, privilege, out, trace) {
          const ok = mmu.walk(vpn, access, privilege, out, trace);
          tagFetch(out, access);
          return ok;
        },
        probe(vpn, access, privilege, out, trace) {
          const ok = mmu.probe(vpn, access, privilege, out, trace);
          tagFetch(out, access);
          return ok;
        },
        registers: () => mmu.registers(),
      };
    },
  };
}

describeConformance('x86_64', () => createX86Arch({ mode: 'x86_64' }));
describeConformance('x86_64-la57', () => createX86Arch({ mode: 'x86_64-la57' }));
describeConformance('x86-pae', () => createX86Arch({ mode: 'x86-pae' }));
describeConformance('x86-32 (fetch-tagged)', () => fetchTagged(createX86Arch({ mode: 'x86-32' })));
describeConformance('x86-32 without PSE (fetch-tagged)', () =>
  fetchTagged(createX86Arch({ mode: 'x86-32', pse: false })),
);
describeConformance('x86-32 without PSE-36 (fetch-tagged)', () =>
  fetchTagged(createX86Arch({ mode: 'x86-32', pse36: false })),
);
describeConformance('x86-pae without NXE (fetch-tagged)', () =>
  fetchTagged(createX86Arch({ mode: 'x86-pae', nxe: false })),
);
describeConformance('x86_64 without PCID, MAXPHYADDR 52, RSVD without P', () =>
  createX86Arch({ mode: 'x86_64', pcid: false, maxPhysAddr: 52, rsvdSetsP: false }),
);
describeConformance('x86_64-la57 with MAXPHYADDR 36', () =>
  createX86Arch({ mode: 'x86_64-la57', maxPhysAddr: 36 }),
);

for (const mode of ['x86_64', 'x86_64-la57', 'x86-pae', 'x86-32'] as const)
  describeEditorConformance(mode, () => createX86Arch({ mode }));

describe('why the fetch tag is needed (arch-facts B6)', () => {
  it('B6: without I/D (x86-32, PAE NXE = 0, no SMEP) every remaining problem is a fetch decoded as a read', () => {
    for (const backend of [
      createX86Arch({ mode: 'x86-32' }),
      createX86Arch({ mode: 'x86-pae', nxe: false }),
    ]) {
      const problems = [...checkUnmapped(backend), ...checkWalkerLeafLevel(backend, 1)];
      expect(problems.length).toBeGreaterThan(0);
      for (const p of problems)
        expect(p).toMatch(/fetch.*syndrome access read, expected fetch|… and \d+ more/);
    }
  });

  it('B6: with EFER.NXE or CR4.SMEP the untagged suite has no such problem', () => {
    expect(checkUnmapped(createX86Arch({ mode: 'x86-pae' }))).toEqual([]);
    expect(checkUnmapped(createX86Arch({ mode: 'x86-32', smep: true }))).toEqual([]);
  });
});
