/**
 * TLB shootdown: turns a flush obligation into the architecture's own maintenance operations
 * (TLBI …IS, INVLPG, INVPCID, a CR3 load) and applies them to every simulated CPU's TLB — the
 * broadcast forms, so one call stands for the initiator's instruction plus the IPIs of a kernel
 * without broadcast TLB maintenance. Each operation is an event.
 */
import { type ArchBackend, type FlushObligation, Tlb } from '@mmkit/core';
import type { KernelContext } from './context.js';
import { invalidArgument } from './syscalls.js';

/** Runs the TLB maintenance `flush` needs on every CPU and marks it discharged. */
export function discharge(
  k: Pick<KernelContext, 'arch' | 'cpus' | 'events'>,
  flush: FlushObligation,
  initiator = 0,
): void {
  const need = flush.need();
  flush.markDischarged();
  if (!need) return;
  for (const op of k.arch.tlbOperations(need)) {
    for (const cpu of k.cpus) op.apply(cpu.tlb);
    if (k.events.active) {
      k.events.emit({
        type: 'tlb',
        cpu: initiator,
        op: op.name,
        ...(op.operand !== undefined ? { operand: op.operand } : {}),
      });
    }
  }
}

/**
 * {@link discharge} for callers outside the kernel (`Kernel.discharge`): checks that `flush` is a
 * flush obligation and `initiator` a CPU index first.
 * @throws InvalidArgumentError naming the bad value.
 */
export function dischargeChecked(
  k: Pick<KernelContext, 'arch' | 'cpus' | 'events'>,
  flush: FlushObligation,
  initiator = 0,
): void {
  const f = flush as Partial<FlushObligation> | null;
  if (
    f === null ||
    typeof f !== 'object' ||
    typeof f.need !== 'function' ||
    typeof f.markDischarged !== 'function'
  )
    throw invalidArgument('flush', flush, 'a FlushObligation');
  if (
    typeof initiator !== 'number' ||
    !Number.isInteger(initiator) ||
    initiator < 0 ||
    initiator >= k.cpus.length
  )
    throw invalidArgument('initiator', initiator, `a CPU index 0..${k.cpus.length - 1}`);
  discharge(k, flush, initiator);
}

/** Per backend: how its one-page invalidation drops entries (see {@link pageInvalidationFlags}). */
const pageFlags = new WeakMap<ArchBackend, number>();

/**
 * How `arch`'s maintenance for one non-global page of one ASID (TLBI VAE1IS, INVLPG, INVPCID
 * type 0, …) drops TLB entries, as `Tlb.invalidatePage` flags: bit 0 `allAsids`, bit 1
 * `includeGlobal`; -1 when it is not exactly one such call. Derived once per backend by applying
 * the backend's own operation to probe TLBs (so nothing about an architecture is assumed here):
 * the page of the ASID must go, another page must stay; the page of another ASID and a global
 * entry for the page tell the two flags (without ASIDs, `allAsids` is false: there is only ASID 0).
 */
export function pageInvalidationFlags(arch: ArchBackend): number {
  // The last backend asked, before the WeakMap (one look-up per copy-on-write fault otherwise).
  if (arch === lastArch) return lastFlags;
  let flags = pageFlags.get(arch);
  if (flags === undefined) flags = probeFlags(arch);
  lastArch = arch;
  lastFlags = flags;
  return flags;
}

let lastArch: ArchBackend | undefined;
let lastFlags = -1;

/** {@link pageInvalidationFlags} for a backend not seen yet: probes it and records the answer. */
function probeFlags(arch: ArchBackend): number {
  const vpn = 0x1234;
  // Without ASIDs (asidBits 0: x86 without PCIDs) every translation is ASID 0's: `allAsids` is moot.
  const multi = arch.description.capabilities.asidBits > 0;
  const asid = multi ? 1 : 0;
  const ops = arch.tlbOperations({ scope: 'page', asid, vpns: [vpn], global: false, leafOnly: true });
  const dropped = (fillAsid: number, global: boolean, at: number): boolean => {
    const tlb = new Tlb(16);
    tlb.fill(at, fillAsid, global, 0x42, 0x3f, 0, 1, at, 1);
    for (const op of ops) op.apply(tlb);
    return tlb.peek(at) < 0;
  };
  const exact = ops.length === 1 && dropped(asid, false, vpn) && !dropped(asid, false, vpn + 1);
  const allAsids = multi && dropped(2, false, vpn);
  const flags = exact ? (allAsids ? 1 : 0) | (dropped(asid, true, vpn) ? 2 : 0) : -1;
  pageFlags.set(arch, flags);
  return flags;
}

/**
 * Invalidates the non-global translation of page `vpn` in ASID `asid` on every CPU (a leaf that
 * was cleared: break-before-make's break). Exactly what discharging a one-page obligation does,
 * but without one (no obligation, no operation list: the copy-on-write fault's hot path) when
 * nothing needs to see it: no strict-mode ledger to verify it and no event listener to report the
 * operation. Otherwise it goes through an obligation and {@link discharge}.
 */
export function invalidateUserPage(k: KernelContext, vpn: number, asid: number): void {
  const flags = k.editor.ledger === undefined && !k.events.active ? pageInvalidationFlags(k.arch) : -1;
  if (flags < 0) {
    const flush = k.editor.newFlush({ asid });
    flush.addPage(vpn);
    k.discharge(flush);
    return;
  }
  const allAsids = (flags & 1) !== 0;
  const includeGlobal = (flags & 2) !== 0;
  const cpus = k.cpus;
  for (let i = 0; i < cpus.length; i++) cpus[i]!.tlb.invalidatePage(vpn, asid, allAsids, includeGlobal);
}
