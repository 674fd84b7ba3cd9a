/**
 * Ghost identity for the kernel's policies with ghost entries (ARC's B1/B2, 2Q's A1out: those with
 * `renameGhost`). The kernel's policy keys are frame-table indices, and a frame is reused for
 * unrelated data as soon as reclaim frees it, so a ghost keyed by the frame would make the next
 * page allocated there a false "refault". Linux keeps the equivalent — the shadow entry — where
 * the evicted page went: for an anonymous page in the swap cache's slot for its swap entry
 * (mm/workingset.c `workingset_eviction`, stored by `__remove_mapping` →
 * `__delete_from_swap_cache`), checks it when that entry is read back (`workingset_refault` from
 * `__read_swap_cache_async`), and drops it when the entry is freed (`clear_shadow_from_swap_cache`).
 * So here:
 * - eviction: the victim's ghost (created by the policy under the frame's key) is renamed to the
 *   key of the swap slot the page was written to, {@link slotKey} — before the frame is freed
 *   (the allocator hook would otherwise drop it with the frame's key);
 * - a victim reclaim puts back (not swapped, culled) or drops (MADV_FREE) leaves no ghost: the
 *   frame's ghost is removed (a putback is no refault);
 * - swap-in (fault, readahead, swapoff): a frame read from a slot whose ghost is still remembered
 *   is re-inserted under its frame key after the ghost was renamed to it — the policy's ghost hit
 *   (ARC adapts `p` and loads into T2, 2Q promotes into Am);
 * - a freed slot drops its ghost.
 *
 * Ownership: no state but the policy it adapts; keys ≥ the frame-table size are slot keys.
 */
import type { ReplacementPolicy } from '@mmkit/replay/policies';
import type { SwapManager } from './swap-device.js';

/** Slot keys per swap type: offsets are below 2^32 (swap PTEs hold fewer offset bits). */
const TYPE_SPAN = 2 ** 32;

/** @internal See the module documentation. */
export class SlotGhosts {
  constructor(
    private readonly policy: ReplacementPolicy & { renameGhost(from: number, to: number): boolean },
    /** The frame-table size: frame keys are below it, slot keys at or above. */
    private readonly frames: number,
  ) {}

  /** The policy key of swap slot `offset` of swap type `type`. */
  slotKey(type: number, offset: number): number {
    return this.frames + type * TYPE_SPAN + offset;
  }

  /**
   * A policy key as {@link Reclaimer.policyState} shows it: a frame key as the frame's address
   * (`paOf`), a slot key as −(type × 2^32 + offset).
   */
  show(key: number, paOf: Float64Array): number {
    return key < this.frames ? paOf[key]! : -(key - this.frames);
  }

  /**
   * `workingset_eviction`: victim `key` was written to slot `offset` of type `type`. A ghost
   * that cannot move there (the policy kept none, or the slot key is taken — never, as a slot's
   * ghost goes when it is read back or freed) leaves nothing under the frame's key.
   */
  evicted(key: number, type: number, offset: number): void {
    if (!this.policy.renameGhost(key, this.slotKey(type, offset))) this.kept(key);
  }

  /** A victim reclaim did not swap out: it leaves no ghost (the frame key's entry goes). */
  kept(key: number): void {
    if (!this.policy.has(key)) this.policy.remove(key);
  }

  /**
   * `workingset_refault`: frame `key`, just inserted as a new page, was read from slot `offset` of
   * type `type`. When that slot's ghost is still remembered, the frame is inserted again as its
   * ghost hit. Returns the key the insertion pushed out (2Q), or -1.
   */
  refault(key: number, type: number, offset: number): number {
    const policy = this.policy;
    if (!policy.has(key)) return -1;
    policy.remove(key);
    // Without a ghost the frame goes back exactly where it was: the newest fresh page.
    policy.renameGhost(this.slotKey(type, offset), key);
    return policy.insert(key);
  }

  /**
   * The audit part (appends problems; allocates): every ghost entry is keyed by a swap slot (never
   * by a frame, which would make the next page there a false refault) that still holds its page
   * (in use, not read back into the swap cache: a read-back consumes the ghost).
   */
  audit(problems: string[], swap: SwapManager): void {
    const policy = this.policy;
    const s = policy.state();
    for (const keys of Object.values(s.lists))
      for (const key of keys) {
        if (policy.has(key)) continue;
        if (key < this.frames) {
          problems.push(`reclaim: ${s.name} keeps a ghost of frame-table index ${key}, not of a swap slot`);
          continue;
        }
        const type = Math.floor((key - this.frames) / TYPE_SPAN);
        const offset = key - this.frames - type * TYPE_SPAN;
        const dev = swap.devices[type];
        if (dev === undefined || offset >= dev.pages || dev.counts[offset] === 0 || dev.cache[offset] !== 0)
          problems.push(
            `reclaim: ${s.name} keeps a ghost of swap slot ${type}:${offset}, which holds no swapped-out page`,
          );
      }
  }

  /** The slot was freed: its ghost goes. */
  slotFreed(type: number, offset: number): void {
    this.policy.remove(this.slotKey(type, offset)); // a slot key is never resident
  }
}
