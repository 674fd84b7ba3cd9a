/**
 * The #PF error code of a neutral fault (arch-facts B6), shared by the walker
 * and the syndrome codec so that both always agree.
 */
import { Fault } from '@mmkit/core';

/** Error-code bit masks (Linux `X86_PF_*`). */
export const PF_P = 1 << 0;
export const PF_W = 1 << 1;
export const PF_U = 1 << 2;
export const PF_RSVD = 1 << 3;
export const PF_ID = 1 << 4;
export const PF_PK = 1 << 5;

/**
 * The error code for a fault of kind `kind` (a `Fault` code): not present → P = 0, permission →
 * P (+ PK for a protection-key violation), reserved bit → RSVD (+ P when `rsvdSetsP`); W/R for
 * writes, U/S for user accesses, I/D for fetches when `fetchFlag` (CR4.SMEP, or EFER.NXE in PAE /
 * IA-32e paging). A non-canonical address is a #GP(0): 0. Returns -1 for a kind x86 never
 * reports (access flag, address size, alignment).
 */
export function pageFaultErrorCode(
  kind: number,
  access: number,
  privilege: number,
  fetchFlag: boolean,
  rsvdSetsP: boolean,
  protectionKey = false,
): number {
  let base: number;
  switch (kind) {
    case Fault.Translation:
      base = 0;
      break;
    case Fault.Permission:
      base = protectionKey ? PF_P | PF_PK : PF_P;
      break;
    case Fault.ReservedBit:
      base = rsvdSetsP ? PF_P | PF_RSVD : PF_RSVD;
      break;
    case Fault.NonCanonical:
      return 0;
    default:
      return -1;
  }
  return (
    base | (access === 1 ? PF_W : 0) | (privilege === 0 ? PF_U : 0) | (access === 2 && fetchFlag ? PF_ID : 0)
  );
}
