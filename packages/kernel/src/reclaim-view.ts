/**
 * The read-only views of the kernel's reclaim state (reclaim.ts): the policy's state with frames
 * for keys (`Kernel.policyState`), and the audit of what the policy and the cold queue track.
 *
 * Ownership: nothing; the `Reclaimer` passes its policy and tables in.
 */
import { hex } from '@mmkit/core';
import type { IsReferenced, PolicyState, ReplacementPolicy } from '@mmkit/replay/policies';
import type { KernelContext } from './context.js';
import type { SlotGhosts } from './ghosts.js';
import { FrameState } from './page-allocator.js';

/**
 * `policy`'s {@link PolicyState} with every key (frame-table index) replaced by the frame's
 * physical address (`paOf`), ghost entries by their slot names (`ghosts.ts`), and `referenced`
 * the policy's own bits plus the hardware accessed bits (`isRef`). Allocates.
 */
export function policyStateOf(
  policy: ReplacementPolicy,
  paOf: Float64Array,
  ghosts: SlotGhosts | undefined,
  isRef: IsReferenced,
): PolicyState {
  const pa = (key: number) => (ghosts === undefined ? paOf[key]! : ghosts.show(key, paOf));
  const s = policy.state();
  const lists: Record<string, readonly number[]> = {};
  for (const [name, keys] of Object.entries(s.lists)) lists[name] = keys.map(pa);
  const values: Record<string, number> = {};
  for (const [name, v] of Object.entries(s.values)) {
    const m = /^count:(\d+)$/.exec(name);
    values[m === null ? name : `count:${pa(Number(m[1]))}`] = v;
  }
  return {
    name: s.name,
    capacity: s.capacity,
    size: s.size,
    resident: s.resident.map(pa),
    hand: s.hand,
    // The policy's own bits plus the hardware accessed bits, which are what the kernel's
    // reference-bit policies consult (`isRef`); the kernel calls `policy.referenced` only to
    // activate a page reclaim keeps (`activate_locked`, reclaim.ts).
    referenced: s.resident.filter((key) => s.referenced.includes(key) || isRef(key)).map(pa),
    lists,
    values,
  };
}

/**
 * Every key `policy` tracks and every key of the cold queue (`coldAt` non-zero) is a USER frame at
 * that frame-table index (`paOf`), and no frame is in both. Appends problems.
 */
export function auditPolicy(
  k: KernelContext,
  policy: ReplacementPolicy,
  paOf: Float64Array,
  coldAt: Float64Array,
  problems: string[],
): void {
  const { allocator } = k;
  const keys = policy.state().resident;
  if (keys.length !== policy.size)
    problems.push(`reclaim: the policy counts ${policy.size} frames but lists ${keys.length}`);
  for (let key = 0; key < coldAt.length; key++) {
    if (coldAt[key] === 0) continue;
    const pa = paOf[key]!;
    if (allocator.frameIndex(pa) !== key || allocator.stateOf(pa) !== FrameState.USER)
      problems.push(`reclaim: the cold queue holds frame-table index ${key}, which is not a USER frame`);
    else if (policy.has(key))
      problems.push(`reclaim: frame ${hex(pa)} is both in the cold queue and in the policy`);
  }
  for (const key of keys) {
    const pa = paOf[key]!;
    if (allocator.frameIndex(pa) !== key || allocator.stateOf(pa) !== FrameState.USER)
      problems.push(`reclaim: the LRU tracks frame-table index ${key}, which is not a USER frame`);
  }
}
