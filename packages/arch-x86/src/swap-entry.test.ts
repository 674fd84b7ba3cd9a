/**
 * Golden vectors for Linux's x86 swap PTEs, computed by hand from the macros (see
 * swap-entry.ts for the sources), plus round trips over the whole range, present PTEs that are
 * not swap entries, and the walker's not-present #PF on every swap PTE.
 */
import { isMmError, type SwapEntry, WalkResult } from '@mmkit/core';
import { createWalkHarness } from '@mmkit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createX86Arch } from './backend.js';
import { X86_MODES, type X86Mode } from './modes.js';
import { x86SwapCodec } from './swap-entry.js';

type Vector = readonly [entry: SwapEntry, pte: bigint];

const raw = (mode: X86Mode, e: SwapEntry): bigint => {
  const { lo, hi } = x86SwapCodec(mode).encode(e);
  return (BigInt(hi) << 32n) | BigInt(lo);
};
const split = (v: bigint) => [Number(v & 0xffff_ffffn), Number(v >> 32n)] as const;

/*
 * x86-64 (pgtable_64.h): __swp_entry(type, offset) =
 *   (~offset << SWP_OFFSET_SHIFT(14) >> SWP_TYPE_BITS(5)) | type << (64 − 5)
 * i.e. bits 58:9 = ~offset (low 50 bits), bits 63:59 = type, bits 8:0 = 0.
 */
const X86_64_VECTORS: readonly Vector[] = [
  // type 0, offset 1: ~1 = 0xFFFF_FFFF_FFFF_FFFE; << 14 = 0xFFFF_FFFF_FFFF_8000; >> 5 = 0x07FF_FFFF_FFFF_FC00.
  [{ type: 0, offset: 1 }, 0x07ff_ffff_ffff_fc00n],
  // type 1, offset 1: the above | 1 << 59 (0x0800_0000_0000_0000).
  [{ type: 1, offset: 1 }, 0x0fff_ffff_ffff_fc00n],
  // max type 31, offset 1: 31 << 59 = 0xF800_0000_0000_0000.
  [{ type: 31, offset: 1 }, 0xffff_ffff_ffff_fc00n],
  // max offset 2^50 − 1, type 1: ~offset = 0xFFFC_0000_0000_0000 (bits 63:50); << 14 drops them all = 0;
  // only the type is left: 1 << 59.
  [{ type: 1, offset: 2 ** 50 - 1 }, 0x0800_0000_0000_0000n],
  // type 3, offset 0x12345: ~0x12345 = 0xFFFF_FFFF_FFFE_DCBA; << 14 = 0xFFFF_FFFF_B72E_8000;
  // >> 5 = 0x07FF_FFFF_FDB9_7400; | 3 << 59 (0x1800_0000_0000_0000) = 0x1FFF_FFFF_FDB9_7400.
  [{ type: 3, offset: 0x12345 }, 0x1fff_ffff_fdb9_7400n],
  // Offset bit 32 lands in PFN bit 41 (PTE bit 32 + 9 = 41): the inversion clears exactly that
  // PFN bit and sets every other PFN bit 51:12. ~2^32 << 14 >> 5 = 0x07FF_FDFF_FFFF_FE00.
  // As a PFN the stale PTE would name 0x7_FDFF_FFFF (bits 51:12) — far above any RAM (L1TF).
  [{ type: 0, offset: 2 ** 32 }, 0x07ff_fdff_ffff_fe00n],
  // type 5, offset 0x1234_5678_9ABC: bits 58:9 = ~offset & (2^50 − 1) = 0x3_EDCB_A987_6543;
  // << 9 = 0x07DB_9753_0ECA_8600; | 5 << 59 (0x2800_0000_0000_0000) = 0x2FDB_9753_0ECA_8600.
  [{ type: 5, offset: 0x1234_5678_9abc }, 0x2fdb_9753_0eca_8600n],
  // type 0, offset 0: ~0 << 14 >> 5 = bits 58:9 all set = 0x07FF_FFFF_FFFF_FE00 (not pte_none).
  [{ type: 0, offset: 0 }, 0x07ff_ffff_ffff_fe00n],
  // Flags (not part of swp_entry_t): E = _PAGE_SWP_EXCLUSIVE = _PAGE_PWT (bit 3, 0x8),
  // SD = _PAGE_SWP_SOFT_DIRTY = _PAGE_RW (bit 1, 0x2), F = _PAGE_SWP_UFFD_WP = _PAGE_USER (bit 2, 0x4).
  [{ type: 0, offset: 1, exclusive: true }, 0x07ff_ffff_ffff_fc08n],
  [{ type: 0, offset: 1, softDirty: true }, 0x07ff_ffff_ffff_fc02n],
  [{ type: 0, offset: 1, uffdWp: true }, 0x07ff_ffff_ffff_fc04n],
  [{ type: 31, offset: 1, exclusive: true, softDirty: true, uffdWp: true }, 0xffff_ffff_ffff_fc0en],
];

/*
 * x86 PAE (pgtable-3level.h): __swp_pteval_entry(type, offset) = the x86-64 formula in a 64-bit
 * pteval_t; the offset is limited to 26 bits by the 32-bit swp_entry_t (swapops.h SWP_OFFSET_MASK).
 */
const X86_PAE_VECTORS: readonly Vector[] = [
  // Same arithmetic as x86-64 for small offsets.
  [{ type: 0, offset: 1 }, 0x07ff_ffff_ffff_fc00n],
  [{ type: 1, offset: 1 }, 0x0fff_ffff_ffff_fc00n],
  [{ type: 31, offset: 1 }, 0xffff_ffff_ffff_fc00n],
  [{ type: 3, offset: 0x12345 }, 0x1fff_ffff_fdb9_7400n],
  // max offset 2^26 − 1, type 1: ~offset keeps bits 49:26 set = 0x3_FFFF_FC00_0000 (50-bit field);
  // << 9 = 0x07FF_FFF8_0000_0000; | 1 << 59 = 0x0FFF_FFF8_0000_0000.
  [{ type: 1, offset: 2 ** 26 - 1 }, 0x0fff_fff8_0000_0000n],
  // Offset bit 21 → PTE bit 30 (PFN bit 18 of the 4 KiB frame number): cleared by the inversion,
  // all other bits 58:9 set: 0x07FF_FFFF_BFFF_FE00 (hi 0x07FF_FFFF, lo 0xBFFF_FE00).
  [{ type: 0, offset: 2 ** 21 }, 0x07ff_ffff_bfff_fe00n],
  // E = _PAGE_SWP_EXCLUSIVE = _PAGE_PSE (bit 7, 0x80) on 32-bit kernels.
  [{ type: 0, offset: 1, exclusive: true }, 0x07ff_ffff_ffff_fc80n],
];

/*
 * x86-32 (pgtable-2level.h): __swp_entry(type, offset) = (type & 0x1F) << 1 | offset << 9, no
 * inversion; offset in bits 31:9 (23 bits).
 */
const X86_32_VECTORS: readonly Vector[] = [
  // type 0, offset 1: 1 << 9 = 0x200.
  [{ type: 0, offset: 1 }, 0x200n],
  // type 1, offset 1: 0x200 | 1 << 1 = 0x202.
  [{ type: 1, offset: 1 }, 0x202n],
  // max type 31, offset 1: 0x200 | 31 << 1 (0x3E) = 0x23E.
  [{ type: 31, offset: 1 }, 0x23en],
  // max type, max offset 2^23 − 1: 0x7F_FFFF << 9 = 0xFFFF_FE00; | 0x3E = 0xFFFF_FE3E.
  [{ type: 31, offset: 2 ** 23 - 1 }, 0xffff_fe3en],
  // type 3, offset 0x12345: 0x12345 << 9 = 0x0246_8A00; | 3 << 1 = 0x0246_8A06.
  [{ type: 3, offset: 0x12345 }, 0x0246_8a06n],
  // E = _PAGE_PSE (bit 7): 0x200 | 0x80.
  [{ type: 0, offset: 1, exclusive: true }, 0x280n],
];

const VECTORS: Readonly<Record<X86Mode, readonly Vector[]>> = {
  x86_64: X86_64_VECTORS,
  // LA57 changes only the tables above the PTE; pgtable_64.h's swap macros are the same.
  'x86_64-la57': X86_64_VECTORS,
  'x86-pae': X86_PAE_VECTORS,
  'x86-32': X86_32_VECTORS,
};

const backends = Object.fromEntries(
  X86_MODES.map((mode) => [mode, createX86Arch({ mode, ...(mode === 'x86-32' ? {} : { nxe: true }) })]),
) as Record<X86Mode, ReturnType<typeof createX86Arch>>;

describe.each(X86_MODES)('%s swap entries (Linux __swp_entry golden vectors)', (mode) => {
  const swap = backends[mode].swap;

  it.each(VECTORS[mode].map(([e, v]) => [JSON.stringify(e), e, v] as const))(
    'encodes %s as Linux does',
    (_name, e, v) => {
      expect(raw(mode, e).toString(16)).toBe(v.toString(16));
      const [lo, hi] = split(v);
      const back = swap.decode(lo, hi, 1);
      expect(back).toEqual({
        type: e.type,
        offset: e.offset,
        exclusive: !!e.exclusive,
        softDirty: !!e.softDirty,
        uffdWp: !!e.uffdWp,
      });
    },
  );

  it('declares the limits and flags of its format', () => {
    expect(swap.maxType).toBe(31);
    const limits = {
      x86_64: 2 ** 50 - 1,
      'x86_64-la57': 2 ** 50 - 1,
      'x86-pae': 2 ** 26 - 1,
      'x86-32': 2 ** 23 - 1,
    };
    expect(swap.maxOffset).toBe(limits[mode]);
    const ia32e = mode === 'x86_64' || mode === 'x86_64-la57';
    expect(swap.flagBits).toEqual(
      ia32e
        ? { exclusive: 3, softDirty: 1, uffdWp: 2 }
        : { exclusive: 7, softDirty: undefined, uffdWp: undefined },
    );
    expect(swap.name).toMatch(ia32e ? /x86-64.*L1TF-inverted/ : mode === 'x86-pae' ? /PAE.*L1TF/ : /32-bit/);
  });

  it('round-trips every (type, offset, flags) in range (property)', () => {
    const flags = (['exclusive', 'softDirty', 'uffdWp'] as const).filter(
      (f) => swap.flagBits[f] !== undefined,
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: swap.maxOffset }),
        fc.subarray([...flags]),
        (type, offset, set) => {
          const e = { type, offset, ...Object.fromEntries(set.map((f) => [f, true])) };
          const r = (() => {
            try {
              return swap.encode(e);
            } catch (err) {
              // Only the all-zero PTE is refused: (0, 0) without flags on x86-32, (0, 2^50 − 1) on x86-64.
              expect(isMmError(err) && err.code).toBe('E_UNREPRESENTABLE');
              return undefined;
            }
          })();
          if (!r) return;
          expect(r.lo & 1).toBe(0); // P
          expect(r.lo & 0x100).toBe(0); // _PAGE_PROTNONE (G)
          expect(swap.decode(r.lo, r.hi, 1)).toMatchObject({ type, offset });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses what Linux would silently truncate', () => {
    const code = (f: () => unknown) => {
      try {
        f();
        return 'accepted';
      } catch (e) {
        return isMmError(e) ? e.code : 'untyped';
      }
    };
    // 2^23 << 9 overflows a 32-bit pte on x86-32; the PAE swp_entry_t masks it to 26 bits.
    expect(code(() => swap.encode({ type: 0, offset: swap.maxOffset + 1 }))).toBe('E_RANGE');
    expect(code(() => swap.encode({ type: 32, offset: 1 }))).toBe('E_RANGE');
    if (mode === 'x86-32') expect(code(() => swap.encode({ type: 0, offset: 0 }))).toBe('E_UNREPRESENTABLE');
    if (mode === 'x86_64')
      expect(code(() => swap.encode({ type: 0, offset: 2 ** 50 - 1 }))).toBe('E_UNREPRESENTABLE');
    if (mode !== 'x86_64' && mode !== 'x86_64-la57')
      expect(code(() => swap.encode({ type: 0, offset: 1, softDirty: true }))).toBe('E_UNREPRESENTABLE');
  });

  it('finds no swap entry in a walkable present PTE, zero, PROT_NONE, or at a level above the PT', () => {
    const b = backends[mode];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 20 - 1 }),
        fc.boolean(),
        fc.boolean(),
        (pfn, user, write) => {
          const perms = { read: true, write, execute: true };
          const none = { read: false, write: false, execute: false };
          const { lo, hi } = b.codec.encode(
            {
              kind: 'leaf',
              pa: pfn * 4096,
              attrs: {
                user: user ? perms : none,
                kernel: perms,
                global: false,
                memoryType: 'normal-wb',
                accessed: true,
                dirty: write,
                software: 0,
              },
            },
            1,
          );
          expect(lo & 1).toBe(1);
          expect(swap.decode(lo, hi, 1)).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
    expect(swap.decode(0, 0, 1)).toBeUndefined();
    // A PROT_NONE PTE (P = 0, _PAGE_PROTNONE = G set) is present to Linux, never a swap entry.
    const [lo, hi] = split(raw(mode, { type: 3, offset: 0x12345 }));
    expect(swap.decode(lo | 0x100, hi, 1)).toBeUndefined();
    expect(swap.decode(lo | 0x40, hi, 1)).toBeUndefined(); // D (bit 6) set: never in a Linux swap PTE
    expect(swap.decode(lo, hi, 2)).toBeUndefined();
  });

  it('makes the hardware walker take a not-present #PF on every swap PTE', () => {
    const b = backends[mode];
    const h = createWalkHarness(b);
    const vpn = 0x123;
    const attrs = {
      user: { read: true, write: true, execute: true },
      kernel: { read: true, write: true, execute: true },
      global: false,
      memoryType: 'normal-wb' as const,
      accessed: true,
      dirty: true,
      software: 0,
    };
    const m = h.editor.map({
      root: h.userRoot,
      vpn,
      pa: 0x5000,
      level: 1,
      attrs,
      tableAttrs: b.defaults.userTable,
      source: h.frames,
    });
    expect(m.ok).toBe(true);
    const out = new WalkResult();
    expect(h.mmu.walk(vpn, 0, 0, out)).toBe(true);
    const pte = out.descriptorPa;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 1, max: swap.maxOffset - 1 }),
        fc.boolean(),
        fc.constantFrom(0, 1, 2),
        fc.constantFrom(0, 1),
        (type, offset, exclusive, access, privilege) => {
          const { lo, hi } = swap.encode({ type, offset, exclusive });
          h.memory.write32(pte, lo);
          if (b.description.descriptorBytes === 8) h.memory.write32(pte + 4, hi);
          expect(h.mmu.walk(vpn, access as 0 | 1 | 2, privilege as 0 | 1, out)).toBe(false);
          expect(out.faultKind).toBe(0); // translation (not present)
          expect(out.faultLevel).toBe(1);
          expect(out.syndrome & 1).toBe(0); // #PF error code P = 0: not-present page
          expect(out.descriptorPa).toBe(pte);
          // The walker left the swap PTE as it was (no A/D update on a not-present entry).
          expect(h.memory.read32(pte)).toBe(lo);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the descriptor codec on swap PTEs (neutral decoding)', () => {
  // A neutral software payload is a number of bits 51:1 (below 2^53); x86-64 and PAE swap PTEs set
  // bits 63:52 (type, inverted offset), so the codec keeps them `invalid` and names the entry.
  it.each(['x86_64', 'x86_64-la57', 'x86-pae'] as const)(
    '%s: invalid, the reason names type, offset and the exclusive bit',
    (mode) => {
      const codec = createX86Arch({ mode }).codec;
      const [lo, hi] = split(0x1fff_ffff_fdb9_7400n); // __swp_entry(3, 0x12345), golden above
      expect(codec.decode(lo, hi, 1)).toEqual({
        kind: 'invalid',
        reason:
          "not-present entry (P = 0) with bits 63:52 set: Linux swap entry type 3, offset 74565, not exclusive (bits 63:52 hold the type and the inverted offset, beyond a software payload's bits 51:1); a walk takes a not-present #PF",
      });
      const ex = x86SwapCodec(mode).encode({ type: 0, offset: 1, exclusive: true });
      const e = codec.decode(ex.lo, ex.hi, 1);
      expect(e.kind === 'invalid' && e.reason).toContain('Linux swap entry type 0, offset 1, exclusive (');
      // Not a swap PTE: above the PT, or a bit Linux's encoding leaves clear (G = _PAGE_PROTNONE).
      for (const [l, h, level] of [
        [lo, hi, 2],
        [lo | 0x100, hi, 1],
      ] as const)
        expect(codec.decode(l, h, level)).toEqual({
          kind: 'invalid',
          reason:
            'not-present entry (P = 0) with bits 63:52 set: not an mmkit software entry (payload in bits 51:1); a walk takes a not-present #PF',
        });
    },
  );

  it('x86-32: every swap PTE fits the 31-bit software payload', () => {
    const codec = createX86Arch({ mode: 'x86-32' }).codec;
    const { lo, hi } = x86SwapCodec('x86-32').encode({ type: 3, offset: 0x12345, exclusive: true });
    expect(codec.decode(lo, hi, 1)).toEqual({ kind: 'software', payload: lo >>> 1 });
  });
});
