/**
 * Neutral TLB-maintenance needs → x86 instructions (arch-facts B8).
 *
 * | need                               | with PCIDs (CR4.PCIDE = 1)          | without PCIDs                  |
 * |------------------------------------|-------------------------------------|--------------------------------|
 * | pages, global                      | `INVLPG` per page                   | `INVLPG` per page              |
 * | pages, non-global                  | `INVPCID type 0` per page           | `INVLPG` per page              |
 * | every non-global entry of one ASID | `INVPCID type 1` (single context)   | `MOV CR3` (non-global flush)   |
 * | everything                         | `INVPCID type 2` (incl. globals)    | `MOV CR4 (PGE toggle)` (`MOV CR3` without PGE) |
 *
 * Why INVPCID type 0 for non-global pages: INVLPG acts on the *current* PCID,
 * and the operations are applied to every CPU's TLB, whichever PCID it runs;
 * INVPCID names the PCID, so it is exact on all of them (Linux uses INVLPG for
 * the current PCID and `invpcid_flush_one` for the other one under PTI; PTI is
 * not modelled). It assumes CPUID.INVPCID, which every CPU with PCIDs that Linux
 * uses them on has. INVLPG is used for global pages: it drops global entries too
 * (INVPCID type 0 does not). Without PCIDs every entry has PCID 0, so INVLPG is
 * exact.
 *
 * Operands: INVLPG's memory operand is the linear address; INVPCID's is the
 * 128-bit descriptor `linear address << 64 | PCID` (`invpcid.h`). MOV CR3 /
 * MOV CR4 have no fixed operand here (they reload the current value).
 */
import { InvalidArgumentError, type Tlb, type TlbInvalidation, type TlbOperation } from '@mmkit/core';

/** The INVPCID descriptor: linear address in bits 127:64, PCID in bits 11:0. */
export function invpcidDescriptor(vpn: number, pcid: number): bigint {
  return (BigInt(vpn) << 76n) | BigInt(pcid);
}

/** What the operations depend on. */
export interface X86TlbConfig {
  /** CR4.PCIDE (and INVPCID available). */
  readonly pcid: boolean;
  /** CR4.PGE. */
  readonly pge: boolean;
}

/**
 * The x86 TLB maintenance for a neutral need, one operation per page for scope `page`.
 * Each operation's `apply` does exactly what the instruction does to the TLB model.
 * @throws InvalidArgumentError for an unknown scope, an ASID outside 0 … 4095 (non-zero without
 *   PCIDs) or a page number that is not a non-negative integer.
 */
export function x86TlbOperations(need: TlbInvalidation, config: X86TlbConfig): readonly TlbOperation[] {
  const asid = need.asid;
  if (config.pcid) {
    if (!Number.isInteger(asid) || asid < 0 || asid > 0xfff) {
      throw new InvalidArgumentError('PCID', asid, 'an integer from 0 to 4095');
    }
  } else if (asid !== 0) {
    throw new InvalidArgumentError('PCID', asid, '0: CR4.PCIDE = 0 (no PCIDs in this configuration)');
  }
  const flushAll: TlbOperation = config.pcid
    ? { name: 'INVPCID type 2', apply: (tlb: Tlb) => tlb.invalidateAll() }
    : config.pge
      ? { name: 'MOV CR4 (PGE toggle)', apply: (tlb: Tlb) => tlb.invalidateAll() }
      : // Without PGE no entry is global, so a CR3 load flushes everything.
        { name: 'MOV CR3', apply: (tlb: Tlb) => tlb.invalidateAll() };
  switch (need.scope) {
    case 'all':
      return [flushAll];
    case 'asid':
      // Global translations survive INVPCID type 1 and MOV CR3: a need that covers them flushes all.
      if (need.global) return [flushAll];
      if (config.pcid) {
        return [
          { name: 'INVPCID type 1', operand: BigInt(asid), apply: (tlb: Tlb) => tlb.invalidateAsid(asid) },
        ];
      }
      return [{ name: 'MOV CR3', apply: (tlb: Tlb) => tlb.invalidateNonGlobal() }];
    case 'page':
      return need.vpns.map((vpn): TlbOperation => {
        if (!Number.isSafeInteger(vpn) || vpn < 0) {
          throw new InvalidArgumentError('page number', vpn, 'a non-negative integer (VA >> 12)');
        }
        if (need.global || !config.pcid) {
          // INVLPG: the page's entries of the current PCID, global ones included.
          return {
            name: 'INVLPG',
            operand: BigInt(vpn) << 12n,
            apply: (tlb: Tlb) => tlb.invalidatePage(vpn, asid, false, true),
          };
        }
        // INVPCID type 0: the page's non-global entries of that PCID.
        return {
          name: 'INVPCID type 0',
          operand: invpcidDescriptor(vpn, asid),
          apply: (tlb: Tlb) => tlb.invalidatePage(vpn, asid, false, false),
        };
      });
    default:
      throw new InvalidArgumentError(
        'TLB invalidation scope',
        (need as { scope: unknown }).scope,
        "'page', 'asid' or 'all'",
      );
  }
}
