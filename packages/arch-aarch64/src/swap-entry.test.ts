/**
 * Golden vectors for Linux's arm64 swap PTE (arch/arm64/include/asm/pgtable.h __swp_entry,
 * __SWP_TYPE_SHIFT 6, __SWP_OFFSET_SHIFT 12; pgtable-prot.h PTE_SWP_EXCLUSIVE), computed by hand,
 * plus round trips, present descriptors that are not swap entries, and the walker's level-3
 * translation fault on every swap PTE.
 */
import { isMmError, type SwapEntry, WalkResult } from '@mmkit/core';
import { createWalkHarness } from '@mmkit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAarch64Arch } from './backend.js';

const backend = createAarch64Arch();
const swap = backend.swap;
const raw = (e: SwapEntry): bigint => {
  const { lo, hi } = swap.encode(e);
  return (BigInt(hi) << 32n) | BigInt(lo);
};

/* __swp_entry(type, offset) = type << __SWP_TYPE_SHIFT(6) | offset << __SWP_OFFSET_SHIFT(12). */
const VECTORS: readonly (readonly [SwapEntry, bigint])[] = [
  // type 0, offset 1: 1 << 12 = 0x1000.
  [{ type: 0, offset: 1 }, 0x1000n],
  // type 1, offset 1: 0x1000 | 1 << 6 (0x40) = 0x1040.
  [{ type: 1, offset: 1 }, 0x1040n],
  // max type 31, offset 1: 31 << 6 = 0x7C0; | 0x1000 = 0x17C0.
  [{ type: 31, offset: 1 }, 0x17c0n],
  // max type, max offset 2^50 − 1: (2^50 − 1) << 12 = 0x3FFF_FFFF_FFFF_F000 (bits 61:12); | 0x7C0.
  [{ type: 31, offset: 2 ** 50 - 1 }, 0x3fff_ffff_ffff_f7c0n],
  // type 3, offset 0x12345: 0x12345 << 12 = 0x1234_5000; | 3 << 6 (0xC0) = 0x1234_50C0.
  [{ type: 3, offset: 0x12345 }, 0x1234_50c0n],
  // Offset bit 49 lands in bit 61, above OA[47:12] and below the software bits 63:62: no inversion
  // on arm64 (L1TF is x86-only), the bits of the offset sit where the output address would be.
  [{ type: 0, offset: 2 ** 49 }, 0x2000_0000_0000_0000n],
  // type 0, offset 0: 0 = pte_none: refused (see below), never written.
  // PTE_SWP_EXCLUSIVE = bit 2 (0x4); PTE_SWP_UFFD_WP = bit 3 (0x8).
  [{ type: 0, offset: 1, exclusive: true }, 0x1004n],
  [{ type: 0, offset: 1, uffdWp: true }, 0x1008n],
  [{ type: 31, offset: 1, exclusive: true, uffdWp: true }, 0x17ccn],
];

describe('arm64 swap entries (Linux __swp_entry golden vectors)', () => {
  it.each(VECTORS.map(([e, v]) => [JSON.stringify(e), e, v] as const))(
    'encodes %s as Linux does',
    (_n, e, v) => {
      expect(raw(e).toString(16)).toBe(v.toString(16));
      expect(swap.decode(Number(v & 0xffff_ffffn), Number(v >> 32n), 1)).toEqual({
        type: e.type,
        offset: e.offset,
        exclusive: !!e.exclusive,
        softDirty: false,
        uffdWp: !!e.uffdWp,
      });
    },
  );

  it('declares its limits and flags (no soft-dirty on arm64)', () => {
    expect([swap.maxType, swap.maxOffset]).toEqual([31, 2 ** 50 - 1]);
    expect(swap.flagBits).toEqual({ exclusive: 2, softDirty: undefined, uffdWp: 3 });
    const code = (f: () => unknown) => {
      try {
        f();
        return 'accepted';
      } catch (err) {
        return isMmError(err) ? err.code : 'untyped';
      }
    };
    expect(code(() => swap.encode({ type: 0, offset: 0 }))).toBe('E_UNREPRESENTABLE'); // pte_none
    expect(code(() => swap.encode({ type: 0, offset: 1, softDirty: true }))).toBe('E_UNREPRESENTABLE');
    expect(code(() => swap.encode({ type: 0, offset: 2 ** 50 }))).toBe('E_RANGE');
    expect(code(() => swap.encode({ type: 32, offset: 1 }))).toBe('E_RANGE');
  });

  it('round-trips every (type, offset, flags) in range (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 1, max: 2 ** 50 - 1 }),
        fc.boolean(),
        fc.boolean(),
        (type, offset, exclusive, uffdWp) => {
          const { lo, hi } = swap.encode({ type, offset, exclusive, uffdWp });
          expect(lo & 3).toBe(0); // bits 1:0 (present) clear
          expect(lo & 0x800).toBe(0); // PTE_PRESENT_INVALID (nG) clear
          expect(hi >>> 30).toBe(0); // bits 63:62 clear
          expect(swap.decode(lo, hi, 1)).toEqual({ type, offset, exclusive, softDirty: false, uffdWp });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds no swap entry in a valid descriptor, a PROT_NONE PTE, zero, or above L3', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 36 - 1 }), fc.boolean(), (pfn, user) => {
        const rw = { read: true, write: true, execute: false };
        const none = { read: false, write: false, execute: false };
        const { lo, hi } = backend.codec.encode(
          {
            kind: 'leaf',
            pa: pfn * 4096,
            attrs: {
              user: user ? rw : none,
              kernel: rw,
              global: false,
              memoryType: 'normal-wb',
              accessed: true,
              dirty: true,
              software: 0,
            },
          },
          1,
        );
        expect(lo & 3).toBe(3);
        expect(swap.decode(lo, hi, 1)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
    expect(swap.decode(0, 0, 1)).toBeUndefined();
    // PTE_PRESENT_INVALID (bit 11) with PTE_VALID clear: a PROT_NONE page, present to Linux.
    expect(swap.decode(0x1040 | 0x800, 0, 1)).toBeUndefined();
    expect(swap.decode(0x1040, 0, 2)).toBeUndefined();
  });

  it('makes the walker take a level-3 translation fault on every swap PTE', () => {
    const h = createWalkHarness(backend);
    const vpn = 0x123;
    const m = h.editor.map({
      root: h.userRoot,
      vpn,
      pa: 0x5000,
      level: 1,
      attrs: {
        user: { read: true, write: true, execute: false },
        kernel: { read: true, write: true, execute: false },
        global: false,
        memoryType: 'normal-wb',
        accessed: true,
        dirty: true,
        software: 0,
      },
      tableAttrs: backend.defaults.userTable,
      source: h.frames,
    });
    expect(m.ok).toBe(true);
    const out = new WalkResult();
    expect(h.mmu.walk(vpn, 0, 0, out)).toBe(true);
    const pte = out.descriptorPa;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 1, max: 2 ** 50 - 1 }),
        fc.boolean(),
        fc.constantFrom(0, 1, 2),
        fc.constantFrom(0, 1),
        (type, offset, exclusive, access, privilege) => {
          const { lo, hi } = swap.encode({ type, offset, exclusive });
          h.memory.write32(pte, lo);
          h.memory.write32(pte + 4, hi);
          expect(h.mmu.walk(vpn, access as 0 | 1 | 2, privilege as 0 | 1, out)).toBe(false);
          expect([out.faultKind, out.faultLevel]).toEqual([0, 1]); // translation fault at L3
          expect(out.syndrome & 0x3f).toBe(0b00_0111); // DFSC/IFSC: translation fault, level 3
          expect(h.memory.read32(pte)).toBe(lo);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the descriptor codec on swap PTEs (neutral decoding)', () => {
  it('a swap PTE within the software payload bits [52:1] is a software entry; beyond them invalid, naming the swap entry', () => {
    // type 3, offset 0x12345, exclusive: 0x1234_50C4 → payload = value >> 1.
    expect(backend.codec.decode(0x1234_50c4, 0, 1)).toEqual({ kind: 'software', payload: 0x1234_50c4 / 2 });
    // offset 2^49 (0x2000_0000_0000_0000): bit 61 is above the payload bits.
    const big = swap.encode({ type: 0, offset: 2 ** 49, exclusive: true });
    expect(backend.codec.decode(big.lo, big.hi, 1)).toEqual({
      kind: 'invalid',
      reason:
        "invalid descriptor (bit 0 = 0) with bits [63:53] set: Linux swap entry type 0, offset 562949953421312, exclusive (its offset reaches past a software payload's bits [52:1])",
    });
    // The same bits above L3 are no swap PTE (Linux writes swap entries only in leaf PTEs).
    expect(backend.codec.decode(big.lo, big.hi, 2)).toEqual({
      kind: 'invalid',
      reason:
        'invalid descriptor (bit 0 = 0) with bits [63:53] set: not an mmkit software entry (payload in [52:1])',
    });
  });
});
