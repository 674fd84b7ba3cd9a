/**
 * Neutral TLB-maintenance needs → AArch64 `TLBI` instructions (arch-facts A11).
 *
 * The Inner Shareable forms are used (Linux `flush_tlb_*` on SMP). Operand of
 * the by-VA forms (Linux `__TLBI_VADDR`): bits [43:0] = VA[55:12], bits [63:48] =
 * ASID, bits [47:44] = TTL hint (0: no hint). The sequence around them on real
 * hardware is `DSB ISHST; TLBI …; DSB ISH; ISB`; the barriers have no effect on
 * the TLB model and are not listed.
 *
 * | need                         | instruction                                  | model effect                        |
 * |------------------------------|----------------------------------------------|-------------------------------------|
 * | pages, non-global            | `TLBI VAE1IS` / `VALE1IS` (leaf only)        | entries of the ASID + global ones   |
 * | pages, global                | `TLBI VAAE1IS` / `VAALE1IS` (any ASID)       | every entry for the page            |
 * | every non-global of one ASID | `TLBI ASIDE1IS`                              | non-global entries of the ASID      |
 * | everything                   | `TLBI VMALLE1IS`                             | every entry                         |
 */
import { InvalidArgumentError, type Tlb, type TlbInvalidation, type TlbOperation } from '@mmkit/core';
import { checkAsid } from './registers.js';

const VA_FIELD = 2 ** 44; // operand bits [43:0] hold VA[55:12]

/** The TLBI operand for a page: ASID << 48 | VA[55:12] (TTL = 0). */
export function tlbiVaOperand(vpn: number, asid: number): bigint {
  return (BigInt(asid) << 48n) | BigInt(vpn % VA_FIELD);
}

/**
 * The AArch64 TLB maintenance for a neutral need, one operation per page for scope `page`.
 * @throws InvalidArgumentError for an unknown scope, an ASID outside 0 … 65535 or a vpn that
 *   is not a non-negative integer.
 */
export function aarch64TlbOperations(need: TlbInvalidation): readonly TlbOperation[] {
  checkAsid(need.asid);
  const asid = need.asid;
  switch (need.scope) {
    case 'all':
      return [{ name: 'TLBI VMALLE1IS', apply: (tlb: Tlb) => tlb.invalidateAll() }];
    case 'asid':
      // Global translations survive ASIDE1; a need that covers global pages needs VMALLE1.
      if (need.global) return [{ name: 'TLBI VMALLE1IS', apply: (tlb: Tlb) => tlb.invalidateAll() }];
      return [
        {
          name: 'TLBI ASIDE1IS',
          operand: BigInt(asid) << 48n,
          apply: (tlb: Tlb) => tlb.invalidateAsid(asid),
        },
      ];
    case 'page': {
      const name = need.global
        ? need.leafOnly
          ? 'TLBI VAALE1IS'
          : 'TLBI VAAE1IS'
        : need.leafOnly
          ? 'TLBI VALE1IS'
          : 'TLBI VAE1IS';
      return need.vpns.map((vpn) => {
        if (!Number.isSafeInteger(vpn) || vpn < 0) {
          throw new InvalidArgumentError('page number', vpn, 'a non-negative integer (VA >> 12)');
        }
        const global = need.global;
        return {
          name,
          // VAAE1/VAALE1 ignore the ASID field; Linux passes 0 there.
          operand: tlbiVaOperand(vpn, global ? 0 : asid),
          // VAE1 hits the ASID's entries and global entries for the VA; VAAE1 every ASID's.
          apply: (tlb: Tlb) => tlb.invalidatePage(vpn, asid, global, true),
        };
      });
    }
    default:
      throw new InvalidArgumentError(
        'TLB invalidation scope',
        (need as { scope: unknown }).scope,
        "'page', 'asid' or 'all'",
      );
  }
}
