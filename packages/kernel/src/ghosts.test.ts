/**
 * Ghost identity (ghosts.ts): the kernel's ARC and 2Q remember an evicted page by the swap slot it
 * was written to (Linux's shadow entry, mm/workingset.c), not by its frame, which is reused for
 * unrelated data at once. Evict a page, let its frame take another page, then refault the old
 * page: only the true page's refault is a ghost hit (ARC: `p` adapts, the page loads into T2; 2Q:
 * promoted into Am). A freed slot drops its ghost. All five configurations, strict TLB mode,
 * audit() after each step.
 */
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import type { Kernel } from './kernel.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leafPa, swapTestEnv } from './test-fixtures.js';

const CONFIGS = fiveConfigs(32 * 2 ** 20);
const PAGE = 4096n;

/** The swap slot (type 0) the swap PTE at `va` names, as policyState shows a ghost: −offset. */
const ghostOf = (k: Kernel, p: Process, va: bigint): number => {
  const ref = k.lookup(p, va)!;
  const [lo, hi] = k.editor.readRaw(ref.descriptorPa);
  const e = k.arch.swap!.decode(lo, hi, 1)!;
  return -(e.type * 2 ** 32 + e.offset);
};
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);

describe.each(CONFIGS)('ghost identity: $name', (c) => {
  for (const policy of ['arc', '2q'] as const)
    it(`${policy}: the reused frame's new page is no ghost hit; the evicted page's refault is`, () => {
      const { k, p, base } = swapTestEnv(c, 4, 64, { autoReclaim: false, reclaimPolicy: policy });
      const va = (i: number) => base + BigInt(i) * PAGE;
      const ghostList = policy === 'arc' ? 'B1' : 'A1out';
      const state = () => k.reclaimPolicyState()!;
      const f0 = leafPa(k, p, va(0));
      expect(state().resident).toEqual([0, 1, 2, 3].map((i) => leafPa(k, p, va(i))));
      // Page 0 (the oldest) is evicted: its ghost is its slot, not its frame.
      expect(k.reclaim(1)).toBe(1);
      const slot0 = ghostOf(k, p, va(0));
      expect(state().lists[ghostList]).toEqual([slot0]);
      clean(k);
      // Another page takes the freed frame (the allocator hands out the last freed frame first).
      const other = k.mmap(p, 0, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
      if (!other.ok) throw new Error(other.detail);
      expect(k.store(p, other.value + 8n, 8, 0xeen)).toMatchObject({ ok: true });
      expect(leafPa(k, p, other.value)).toBe(f0);
      // A fresh page: ARC's T1 with p unchanged, 2Q's A1in; the slot's ghost stays.
      if (policy === 'arc') {
        expect(state().lists.T1).toContain(f0);
        expect(state().values.p).toBe(0);
      } else expect(state().lists.A1in).toContain(f0);
      expect(state().lists[ghostList]).toEqual([slot0]);
      clean(k);
      // A freed slot drops its ghost: page 1 (now the oldest) evicted, then unmapped.
      expect(k.reclaim(1)).toBe(1);
      expect(k.lookup(p, va(1))?.entry.kind).not.toBe('leaf');
      expect(state().lists[ghostList]).toEqual([slot0, ghostOf(k, p, va(1))]);
      expect(k.munmap(p, va(1), 4096)).toEqual({ ok: true, value: 0 });
      expect(state().lists[ghostList]).toEqual([slot0]);
      clean(k);
      // The true refault: page 0 read back from its slot is the ghost hit.
      expect(k.load(p, va(0) + 16n, 8)).toEqual({ ok: true, value: 0x7000n });
      const g = leafPa(k, p, va(0));
      expect(g).not.toBe(f0);
      expect(state().lists[ghostList]).toEqual([]);
      if (policy === 'arc') {
        expect(state().lists.T2).toEqual([g]); // B1 hit: p = min(0 + max(|B2|/|B1|, 1), C) = 1
        expect(state().values.p).toBe(1);
      } else expect(state().lists.Am).toEqual([g]);
      clean(k);
      k.exit(p);
      expect(k.allocator.freeCount).toBe(k.baselineFree);
      clean(k);
    });

  it('audit catches a ghost keyed by a frame and one that outlived its slot', () => {
    const { k, p, base } = swapTestEnv(c, 2, 64, { autoReclaim: false, reclaimPolicy: '2q' });
    expect(k.reclaim(1)).toBe(1);
    clean(k);
    const policy = k.reclaimer.policy!;
    const frames = k.allocator.frameIndexCount;
    const slot = -ghostOf(k, p, base);
    const expectProblem = (text: string) =>
      expect(audit(k).problems).toContainEqual(expect.stringContaining(text));
    // Renamed back to a frame key (what the kernel did before: a frame is reused at once).
    expect(policy.renameGhost!(frames + slot, 3)).toBe(true);
    expectProblem('keeps a ghost of frame-table index 3, not of a swap slot');
    // Renamed to a slot no page is in.
    expect(policy.renameGhost!(3, frames + 40)).toBe(true);
    expectProblem('keeps a ghost of swap slot 0:40, which holds no swapped-out page');
    expect(policy.renameGhost!(frames + 40, frames + slot)).toBe(true);
    clean(k);
    // Read back into the swap cache (the slot stays): the ghost is consumed, none is left behind.
    expect(k.load(p, base + 16n, 8)).toEqual({ ok: true, value: 0x7000n });
    expect(k.swap.cacheSlotOf(leafPa(k, p, base))).toBeDefined();
    expect(k.reclaimPolicyState()!.lists.A1out).toEqual([]);
    clean(k);
  });

  it('a victim reclaim keeps (pinned: activate_locked) leaves no ghost: its return to the policy is no refault', () => {
    const { k, p, base } = swapTestEnv(c, 2, 64, { autoReclaim: false, reclaimPolicy: 'arc' });
    const f0 = leafPa(k, p, base);
    k.allocator.ref(f0); // a pin: try_to_unmap fails, the page is activated (activate_locked)
    expect(k.reclaim(1)).toBe(1); // page 1 taken after page 0 was kept
    const s = k.reclaimPolicyState()!;
    // Activated: put back and referenced once — ARC's T2 (used more than once), not a ghost hit
    // (B1 holds page 1's ghost only, p unchanged).
    expect(s.lists.T1).toEqual([]);
    expect(s.lists.T2).toEqual([f0]);
    expect(s.values.p).toBe(0);
    expect(s.lists.B1).toEqual([ghostOf(k, p, base + PAGE)]);
    k.allocator.unref(f0);
    clean(k);
  });
});
