import { describe, expect, it } from 'vitest';
import { type ArchDescription, type LeafAttributes, MEMORY_TYPES } from './arch.js';
import { isMmError } from './errors.js';
import { isLeafDirty, modifyLeaf } from './leaf-state.js';

function description(softwareDirty?: number, hardwareDirty = true): ArchDescription {
  return {
    id: 'test64',
    name: 'test',
    pageShift: 12,
    descriptorBytes: 8,
    levels: [
      { level: 1, name: 'PT', shift: 12, indexBits: 9, leafAllowed: true },
      { level: 2, name: 'PD', shift: 21, indexBits: 9, leafAllowed: true },
    ],
    vaBits: 30,
    signExtended: false,
    paBits: 40,
    splitRoots: false,
    userRange: { start: 0n, end: 1n << 29n },
    kernelRange: { start: 1n << 29n, end: 1n << 30n },
    capabilities: {
      noExecute: true,
      separateExecuteNever: false,
      hardwareAccessFlag: true,
      hardwareDirty,
      asidBits: 0,
      globalPages: true,
      softwareBits: 4,
      softwarePayloadBits: 50,
      contiguousEntries: 0,
      ...(softwareDirty === undefined ? {} : { softwareDirty }),
    },
    rootTableBytes: 4096,
    faultRegisters: ['S', 'A'],
    memoryTypes: MEMORY_TYPES,
    elf: undefined,
  };
}

const P = (read: boolean, write: boolean, execute = false) => ({ read, write, execute });
const leaf = (write: boolean, over: Partial<LeafAttributes> = {}): LeafAttributes => ({
  user: P(true, write),
  kernel: P(true, write),
  global: false,
  memoryType: 'normal-wb',
  accessed: true,
  dirty: false,
  software: 0,
  ...over,
});

const X86 = description(); // no software dirty bit: the dirty bit is valid on a read-only leaf
const ARM = description(1); // software bit 0 keeps a write-protected leaf's dirtiness

describe('modifyLeaf (Linux pte_modify)', () => {
  it('keeps accessed, dirty and software bits where dirty is valid on a read-only leaf (x86 D)', () => {
    const old = leaf(true, { accessed: false, dirty: true, software: 4 });
    const ro = modifyLeaf(X86, old, leaf(false));
    expect(ro).toEqual(leaf(false, { accessed: false, dirty: true, software: 4 }));
    expect(modifyLeaf(X86, ro, leaf(true))).toEqual(old);
    expect(modifyLeaf(X86, leaf(true), leaf(false))).toEqual(leaf(false));
  });

  it('moves a dirty state into the software bit on a read-only leaf and back to hardware on a writable one (arm64)', () => {
    const old = leaf(true, { dirty: true, software: 2 });
    const ro = modifyLeaf(ARM, old, leaf(false));
    expect(ro).toEqual(leaf(false, { dirty: false, software: 3 }));
    expect(isLeafDirty(ARM, ro)).toBe(true);
    // Writable again: hardware-dirty, PTE_DIRTY kept (pte_mkdirty sets it).
    expect(modifyLeaf(ARM, ro, leaf(true))).toEqual(leaf(true, { dirty: true, software: 3 }));
    // Dirty and staying writable: PTE_DIRTY is set too (pte_modify: pte_hw_dirty → PTE_DIRTY).
    expect(modifyLeaf(ARM, old, leaf(true))).toEqual(leaf(true, { dirty: true, software: 3 }));
    // Clean stays clean, old stays old.
    expect(modifyLeaf(ARM, leaf(true, { accessed: false }), leaf(false))).toEqual(
      leaf(false, { accessed: false }),
    );
  });

  it("keeps next's own dirty state (a writable leaf without hardware dirty management) and contiguous hint", () => {
    const d = description(1, false);
    expect(modifyLeaf(d, leaf(false), leaf(true, { dirty: true }))).toEqual(leaf(true, { dirty: true }));
    expect(modifyLeaf(X86, leaf(true), leaf(true, { contiguous: true }))).toEqual(
      leaf(true, { contiguous: true }),
    );
  });

  it('rejects bad arguments with typed errors naming the argument', () => {
    const bad = (f: () => unknown, name: string) => {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isMmError(e) && e.code).toBe('E_INVALID_ARGUMENT');
        expect(String((e as Error).message)).toContain(name);
      }
    };
    bad(() => modifyLeaf({} as ArchDescription, leaf(true), leaf(false)), 'modifyLeaf description');
    bad(() => modifyLeaf(X86, { ...leaf(true), dirty: 1 } as never, leaf(false)), 'modifyLeaf old.dirty');
    bad(() => modifyLeaf(X86, leaf(true), null as never), 'modifyLeaf next');
    bad(() => isLeafDirty(X86, { ...leaf(true), software: -1 }), 'isLeafDirty attrs.software');
    bad(() => isLeafDirty(description(3), leaf(true)), 'isLeafDirty description.capabilities.softwareDirty');
    bad(
      () => isLeafDirty(description(0.5), leaf(true)),
      'isLeafDirty description.capabilities.softwareDirty',
    );
    const special = (v: number): ArchDescription => {
      const d = description(1);
      return { ...d, capabilities: { ...d.capabilities, softwareSpecial: v } };
    };
    bad(() => isLeafDirty(special(6), leaf(true)), 'isLeafDirty description.capabilities.softwareSpecial');
    expect(() => isLeafDirty(special(2), leaf(true))).not.toThrow();
  });
});

describe('isLeafDirty (Linux pte_dirty)', () => {
  it('is the hardware state, or the software dirty bit where the backend has one', () => {
    expect(isLeafDirty(X86, leaf(false, { dirty: true }))).toBe(true);
    expect(isLeafDirty(X86, leaf(false, { software: 1 }))).toBe(false);
    expect(isLeafDirty(ARM, leaf(false, { software: 1 }))).toBe(true);
    expect(isLeafDirty(ARM, leaf(false, { software: 2 }))).toBe(false);
    expect(isLeafDirty(ARM, leaf(true))).toBe(false);
  });
});
