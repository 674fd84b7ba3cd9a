/**
 * The page allocator's slow path for the kernel's all-or-nothing operations (Linux
 * `__alloc_pages_slowpath`, mm/page_alloc.c): when an operation failed for want of a frame —
 * having changed nothing — {@link allocSlowPath} runs direct reclaim (`__alloc_pages_direct_reclaim`
 * → `try_to_free_pages`) and, when that freed nothing, the OOM killer (`__alloc_pages_may_oom` →
 * `out_of_memory`); the caller then retries the whole operation.
 *
 * Where the kernel runs it (each allocation Linux makes with a gfp mask that may reclaim and
 * OOM-kill: GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_PGTABLE_USER):
 * - the fault path (`fault.ts`: the page, its page tables, copy-on-write copies), which has its
 *   own loop because it retries from the CPU;
 * - MAP_POPULATE and mlock population (`fault.ts` `populateRange`, `mlock.ts`), per page, as
 *   Linux's `populate_vma_page_range` → `handle_mm_fault`;
 * - fork (`dup_mmap`: the child's tables and eager copies) and exec/spawn (the new program);
 * - mremap's move (`move_page_tables` allocates the destination's tables).
 *
 * Termination: every round either frees at least one frame (reclaim) or kills one process, and a
 * failed attempt gives back what it took, so a retry loop ends: reclaim runs out of victims (or
 * swap slots) and the OOM killer out of processes.
 *
 * Ownership: no state. The caller owns the retry loop and says what it allocates (for the
 * `reclaim` and `oom-kill` events).
 */
import type { KernelContext } from './context.js';
import { outOfMemory } from './oom-kill.js';
import type { Process } from './process.js';
import { reclaimOnOom } from './reclaim.js';

/**
 * One round of the slow path after an allocation for `proc` failed (nothing changed): direct
 * reclaim; when it freed nothing and the OOM killer is on, the OOM killer. True when the caller
 * should retry (reclaim freed frames, or another process was killed); false when the operation
 * fails for good: nothing reclaimable and the killer off, nobody killable (the `oom-kill` event
 * without a victim, see `oom-kill.ts`), or `proc` itself was the victim (it has ended: the caller
 * must not touch its address space again).
 */
export function allocSlowPath(k: KernelContext, proc: Process, allocation: string): boolean {
  if (!proc.alive) return false;
  if (reclaimOnOom(k, allocation)) return true;
  if (!k.oomKiller) return false;
  const victim = outOfMemory(k, { proc, allocation });
  return victim !== undefined && victim !== proc;
}

/** The live process whose address space is `space`, or undefined (a space being built). */
export function processOfSpace(k: KernelContext, space: object): Process | undefined {
  for (const p of k.liveProcesses) if (p.space === space) return p;
  return undefined;
}
