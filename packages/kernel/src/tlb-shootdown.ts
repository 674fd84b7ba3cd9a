/**
 * TLB shootdown: turns a flush obligation into the architecture's own maintenance operations
 * (TLBI …IS, INVLPG, INVPCID, a CR3 load) and applies them to every simulated CPU's TLB — the
 * broadcast forms, so one call stands for the initiator's instruction plus the IPIs of a kernel
 * without broadcast TLB maintenance. Each operation is an event.
 */
import type { FlushObligation } from '@mmkit/core';
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
