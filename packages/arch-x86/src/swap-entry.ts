/**
 * Linux's x86 swap PTEs, per paging mode, as {@link LinuxSwapLayout} data (the codec is derived
 * in core by `createSwapEntryCodec`). Facts from the Linux sources (read at torvalds/linux
 * e65d9626f9bb for `pgtable_64.h`; the 2-level and 3-level headers as of the
 * "x86/mm: support __HAVE_ARCH_PTE_SWP_EXCLUSIVE also on 32bit" change, v6.3 and later):
 *
 * ```
 * x86_64, x86_64-la57 (arch/x86/include/asm/pgtable_64.h: SWP_TYPE_BITS 5,
 * SWP_OFFSET_FIRST_BIT = _PAGE_BIT_PROTNONE + 1 = 9, SWP_OFFSET_SHIFT = 9 + 5 = 14,
 * __swp_entry(type, offset) = (~offset << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) | type << 59)
 *  63    59 58                                   9  8  7  6  5  4  3  2  1  0
 * | type   | ~offset (50 bits)                     | 0| 0| 0| 0| 0| E| F|SD| 0|
 *   E = _PAGE_SWP_EXCLUSIVE = _PAGE_PWT (pgtable_64_types.h), F = _PAGE_SWP_UFFD_WP = _PAGE_USER,
 *   SD = _PAGE_SWP_SOFT_DIRTY = _PAGE_RW (pgtable_types.h). Bit 8 (G) is _PAGE_PROTNONE and bit 7
 *   (PSE) is checked by pmd_present, so both stay 0. LA57 changes nothing: the PTE format is the
 *   same 64-bit one, only the tables above it differ.
 *
 * x86-pae (arch/x86/include/asm/pgtable-3level.h: __swp_pteval_entry(type, offset) =
 * (~(pteval_t)offset << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) | (pteval_t)type << 59)
 *   the same 64-bit layout as x86-64 (offset inverted since the L1TF mitigation), but the
 *   intermediate 32-bit swp_entry_t (__swp_entry = type | offset << 5) and the arch-independent
 *   one (include/linux/swapops.h, SWP_OFFSET_MASK with BITS_PER_XA_VALUE = 31: 26 bits) keep only
 *   offsets below 2^26; E = _PAGE_SWP_EXCLUSIVE = _PAGE_PSE (bit 7). No soft-dirty, no uffd-wp
 *   (both are x86-64 only: HAVE_ARCH_SOFT_DIRTY, HAVE_ARCH_USERFAULTFD_WP if X86_64).
 *
 * x86-32 (arch/x86/include/asm/pgtable-2level.h: _SWP_TYPE_SHIFT = _PAGE_BIT_PRESENT + 1 = 1,
 * SWP_OFFSET_SHIFT = _PAGE_BIT_PROTNONE + 1 = 9, __swp_entry = type << 1 | offset << 9, no
 * inversion: "No inverted PFNs on 2 level page tables")
 *  31                             9  8  7  6  5        1  0
 * | offset (23 bits)               | 0| E| 0| type      | 0|     E = _PAGE_PSE (bit 7)
 * ```
 *
 * In every mode bit 0 (P) is clear, so the hardware takes a not-present #PF on a swap PTE, and
 * bit 8 is clear, so Linux's pte_present (P | _PAGE_PROTNONE) is false.
 */
import {
  createSwapEntryCodec,
  InvalidArgumentError,
  type LinuxSwapLayout,
  type SwapEntryCodec,
  type SwapZeroBit,
} from '@mmkit/core';
import { isX86Mode, X86_MODES, type X86Mode } from './modes.js';

const P: SwapZeroBit = Object.freeze({
  name: 'P',
  bit: 0,
  meaning: 'not present: a walk takes a not-present #PF',
});
const PROTNONE: SwapZeroBit = Object.freeze({
  name: 'G (_PAGE_PROTNONE)',
  bit: 8,
  meaning: 'not PROT_NONE (with P = 0, G set would make Linux treat the PTE as present)',
});
const PSE: SwapZeroBit = Object.freeze({
  name: 'PS (_PAGE_PSE)',
  bit: 7,
  meaning: 'clear: pmd_present checks P, PSE and PROT_NONE',
});

/** The x86-64 layout (4-level and LA57 alike): arch/x86/include/asm/pgtable_64.h. */
export const X86_64_SWAP_LAYOUT: LinuxSwapLayout = Object.freeze({
  name: 'Linux x86-64 swap entry (L1TF-inverted offset)',
  descriptorBytes: 8,
  typeShift: 59, // 64 - SWP_TYPE_BITS
  typeBits: 5, // SWP_TYPE_BITS
  offsetShift: 9, // SWP_OFFSET_FIRST_BIT = _PAGE_BIT_PROTNONE + 1
  offsetBits: 50, // bits 58:9
  maxOffset: 2 ** 50 - 1,
  invertOffset: true,
  flagBits: Object.freeze({ exclusive: 3, softDirty: 1, uffdWp: 2 }),
  zeroBits: Object.freeze([P, PSE, PROTNONE]),
});

/** The PAE layout: arch/x86/include/asm/pgtable-3level.h. */
export const X86_PAE_SWAP_LAYOUT: LinuxSwapLayout = Object.freeze({
  name: 'Linux x86 PAE swap entry (L1TF-inverted offset)',
  descriptorBytes: 8,
  typeShift: 59,
  typeBits: 5,
  offsetShift: 9,
  offsetBits: 50,
  maxOffset: 2 ** 26 - 1, // SWP_OFFSET_MASK of a 32-bit kernel's swp_entry_t
  invertOffset: true,
  flagBits: Object.freeze({ exclusive: 7, softDirty: undefined, uffdWp: undefined }),
  zeroBits: Object.freeze([P, PROTNONE]),
});

/** The 32-bit (2-level) layout: arch/x86/include/asm/pgtable-2level.h. */
export const X86_32_SWAP_LAYOUT: LinuxSwapLayout = Object.freeze({
  name: 'Linux x86 32-bit (2-level) swap entry',
  descriptorBytes: 4,
  typeShift: 1, // _SWP_TYPE_SHIFT = _PAGE_BIT_PRESENT + 1
  typeBits: 5,
  offsetShift: 9, // SWP_OFFSET_SHIFT = _PAGE_BIT_PROTNONE + 1
  offsetBits: 23, // bits 31:9
  maxOffset: 2 ** 23 - 1,
  invertOffset: false,
  flagBits: Object.freeze({ exclusive: 7, softDirty: undefined, uffdWp: undefined }),
  zeroBits: Object.freeze([
    P,
    Object.freeze({ name: 'D', bit: 6, meaning: 'unused by the swap format' }),
    PROTNONE,
  ]),
});

/**
 * The Linux swap-PTE layout of an x86 paging mode.
 * @throws InvalidArgumentError for an unknown mode.
 */
export function x86SwapLayout(mode: X86Mode): LinuxSwapLayout {
  if (!isX86Mode(mode))
    throw new InvalidArgumentError('x86 paging mode', mode, `one of ${X86_MODES.join(', ')}`);
  switch (mode) {
    case 'x86-32':
      return X86_32_SWAP_LAYOUT;
    case 'x86-pae':
      return X86_PAE_SWAP_LAYOUT;
    default:
      return X86_64_SWAP_LAYOUT;
  }
}

const CODECS = new Map<LinuxSwapLayout, SwapEntryCodec>();

/**
 * The swap-entry codec of an x86 paging mode (one shared, frozen codec per layout).
 * @throws InvalidArgumentError for an unknown mode.
 */
export function x86SwapCodec(mode: X86Mode): SwapEntryCodec {
  const layout = x86SwapLayout(mode);
  let codec = CODECS.get(layout);
  if (!codec) {
    codec = createSwapEntryCodec(layout);
    CODECS.set(layout, codec);
  }
  return codec;
}
