/**
 * Conformance checks of a backend's TLB maintenance: every neutral need is
 * turned into at least one named operation, and applying them drops every
 * cached entry the need covers. (Dropping more is allowed: over-invalidation
 * costs time, never correctness.)
 */
import { type ArchBackend, Tlb, type TlbInvalidation } from '@mmkit/core';
import { attempt, stableStringify } from './compare.js';

function apply(backend: ArchBackend, need: TlbInvalidation, tlb: Tlb, p: string[]): boolean {
  const ops = attempt(() => backend.tlbOperations(need));
  if (!ops.ok) {
    p.push(`tlbOperations(${stableStringify(need)}) threw ${ops.message}`);
    return false;
  }
  if (ops.value.length === 0) p.push(`tlbOperations(${stableStringify(need)}) returned no operation`);
  for (const op of ops.value) {
    if (!op.name) p.push(`tlbOperations(${stableStringify(need)}): an operation has no name`);
    if (op.operand !== undefined && typeof op.operand !== 'bigint')
      p.push(`${op.name}: operand is not a bigint`);
    op.apply(tlb);
  }
  return true;
}

/**
 * Page needs drop the pages' entries (of the ASID, or global ones for a global need), ASID needs
 * drop every non-global entry of the ASID, `all` drops everything; for leaf-only and full forms.
 */
export function checkTlbOperations(backend: ArchBackend): string[] {
  const p: string[] = [];
  const asid = backend.description.capabilities.asidBits > 0 ? 5 : 0;
  const other = backend.description.capabilities.asidBits > 0 ? 6 : 0;
  const vpns = [0x10, 0x11, 0x4_0000, Number(backend.description.kernelRange.start >> 12n) + 3];
  for (const leafOnly of [true, false]) {
    // Non-global pages of one ASID.
    let tlb = new Tlb(64);
    for (const v of vpns) tlb.fill(v, asid, false, v, 0x3f, 0, 1, v, 1);
    if (apply(backend, { scope: 'page', asid, vpns, global: false, leafOnly }, tlb, p)) {
      for (const v of vpns)
        if (tlb.peek(v) >= 0) p.push(`page need (leafOnly ${leafOnly}) left vpn ${v} of ASID ${asid} cached`);
    }
    // Global pages, cached while another ASID was current.
    tlb = new Tlb(64);
    for (const v of vpns) tlb.fill(v, other, true, v, 0x3f, 0, 1, v, 1);
    if (apply(backend, { scope: 'page', asid, vpns, global: true, leafOnly }, tlb, p)) {
      for (const v of vpns)
        if (tlb.peek(v) >= 0) p.push(`global page need (leafOnly ${leafOnly}) left global vpn ${v} cached`);
    }
    // A 2 MiB block cached as one 4 KiB piece: invalidating its first page drops it.
    tlb = new Tlb(64);
    tlb.fill(0x205, asid, false, 0x1205, 0x3f, 0, 2, 0x200, 512);
    if (apply(backend, { scope: 'page', asid, vpns: [0x200], global: false, leafOnly }, tlb, p)) {
      if (tlb.peek(0x205) >= 0)
        p.push(`page need (leafOnly ${leafOnly}) for a block's first page left a piece of the block cached`);
    }
    // Whole ASID.
    tlb = new Tlb(64);
    for (const v of vpns) tlb.fill(v, asid, false, v, 0x3f, 0, 1, v, 1);
    if (apply(backend, { scope: 'asid', asid, vpns: [], global: false, leafOnly }, tlb, p)) {
      if (tlb.occupancy !== 0)
        p.push(`asid need (leafOnly ${leafOnly}) left ${tlb.occupancy} entries of ASID ${asid} cached`);
    }
    // Everything.
    tlb = new Tlb(64);
    vpns.forEach((v, i) => {
      tlb.fill(v, i % 2 ? asid : other, i % 2 === 0, v, 0x3f, 0, 1, v, 1);
    });
    if (apply(backend, { scope: 'all', asid, vpns: [], global: true, leafOnly }, tlb, p)) {
      if (tlb.occupancy !== 0) p.push(`all need (leafOnly ${leafOnly}) left ${tlb.occupancy} entries cached`);
    }
  }
  return p;
}
