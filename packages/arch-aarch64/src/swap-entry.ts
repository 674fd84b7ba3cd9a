/**
 * Linux's arm64 swap PTE (4 KiB granule) as {@link LinuxSwapLayout} data; the codec is derived in
 * core by `createSwapEntryCodec`. Facts from arch/arm64/include/asm/pgtable.h ("Encode and
 * decode a swap entry", since "arm64/mm: Move PTE_PRESENT_INVALID to overlay PTE_NG", v6.10, with
 * the uffd-wp bit of the same release) and arch/arm64/include/asm/pgtable-prot.h
 * (PTE_SWP_EXCLUSIVE = bit 2, read at torvalds/linux eeda243dfeb9):
 *
 * ```
 * __SWP_TYPE_SHIFT 6, __SWP_TYPE_BITS 5, __SWP_OFFSET_SHIFT 12, __SWP_OFFSET_BITS 50,
 * __swp_entry(type, offset) = type << __SWP_TYPE_SHIFT | offset << __SWP_OFFSET_SHIFT
 *  63 62 61                                 12 11 10       6  5  4  3  2  1  0
 * | 0| 0| offset (50 bits)                     | 0| type      | 0| 0| W| E| 0| 0|
 *   bits 1:0   present (must be zero): PTE_VALID clear, so the MMU takes a translation fault
 *   bit  2     PTE_SWP_EXCLUSIVE (PG_anon_exclusive)
 *   bit  3     PTE_SWP_UFFD_WP (userfaultfd write-protect)
 *   bit  11    PTE_PRESENT_INVALID (= PTE_NG, must be zero: with PTE_VALID clear it would make
 *              pte_present() true, which is how Linux keeps PROT_NONE pages)
 * ```
 *
 * arm64 has no soft-dirty bit (no HAVE_ARCH_SOFT_DIRTY). The offset needs no inversion: the L1TF
 * mitigation is x86-only. Kernels before v6.10 used another layout (type in bits 7:3, offset in
 * bits 57:8, PTE_PROT_NONE at bit 58); mmkit follows the current one.
 */
import { createSwapEntryCodec, type LinuxSwapLayout, type SwapEntryCodec } from '@mmkit/core';

/** The arm64 swap-PTE layout (4 KiB granule). */
export const AARCH64_SWAP_LAYOUT: LinuxSwapLayout = Object.freeze({
  name: 'Linux arm64 swap entry',
  descriptorBytes: 8,
  typeShift: 6, // __SWP_TYPE_SHIFT
  typeBits: 5, // __SWP_TYPE_BITS
  offsetShift: 12, // __SWP_OFFSET_SHIFT
  offsetBits: 50, // __SWP_OFFSET_BITS
  maxOffset: 2 ** 50 - 1, // __SWP_OFFSET_MASK
  invertOffset: false,
  flagBits: Object.freeze({ exclusive: 2, softDirty: undefined, uffdWp: 3 }),
  zeroBits: Object.freeze([
    Object.freeze({ name: 'valid', bit: 0, meaning: 'invalid descriptor: a walk takes a translation fault' }),
    Object.freeze({ name: 'type (table/page)', bit: 1, meaning: 'present bits 1:0 must both be zero' }),
    Object.freeze({
      name: 'PTE_PRESENT_INVALID (nG)',
      bit: 11,
      meaning: 'not present to Linux (set, it would be a PROT_NONE page)',
    }),
  ]),
});

/** The arm64 swap-entry codec (one shared, frozen codec). */
export const AARCH64_SWAP_CODEC: SwapEntryCodec = createSwapEntryCodec(AARCH64_SWAP_LAYOUT);
