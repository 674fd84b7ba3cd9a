/**
 * `kernel.swapSlots(type)`, the read-only view of a swap device's slots: a slot shared after fork
 * (count 2, one swap PTE in each process), a swap-cache entry (the parent swapped the page back
 * in: count 1, cached, its frame, only the child's PTE left), `MADV_WILLNEED` reading pages into
 * the cache while both PTEs stay, slots freed leaving the view, argument checking, and that the
 * view changes nothing — on all five configurations.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import { MADV } from './madvise.js';
import type { Process } from './process.js';
import { reclaimFrame } from './swap.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, type TestConfig } from './test-fixtures.js';

const PAGE = 4096n;
const N = 4;

const paOf = (k: Kernel, p: Process, va: bigint): number => {
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
  return ref.entry.pa;
};

/** A parent with N written pages, a child sharing them after fork, all N swapped out (one slot each). */
function sharedAndSwapped(c: TestConfig) {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true });
  const parent = k.createProcess();
  const m = k.mmap(parent, 0, N * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!m.ok) throw new Error(m.detail);
  const base = m.value;
  for (let i = 0; i < N; i++)
    expect(k.store(parent, base + BigInt(i) * PAGE, 8, 0x600n + BigInt(i)).ok).toBe(true);
  const dev = k.swapon({ pages: 64, name: 'teaching' });
  if (!dev.ok) throw new Error(dev.detail);
  const f = k.fork(parent);
  if (!f.ok) throw new Error(f.errno);
  const child = f.process;
  for (let i = 0; i < N; i++) expect(reclaimFrame(k, paOf(k, parent, base + BigInt(i) * PAGE))).toBe(true);
  return { k, parent, child, base, type: dev.value.type };
}

describe.each(fiveConfigs(32 * 2 ** 20))('swapSlots: $name', (c) => {
  it('a page shared after fork: one slot, count 2, a swap PTE in each process at the same VA', () => {
    const { k, parent, child, base, type } = sharedAndSwapped(c);
    const v = k.swapSlots(type)!;
    expect(v).toMatchObject({ type, name: 'teaching', pages: 64, usedPages: N, cachedPages: 0 });
    expect(v.priority).toBe(k.swapDevices[0]!.priority);
    expect(v.slots).toHaveLength(N);
    const vas = v.slots.map((s) => s.ptes[0]!.va).sort((a, b) => (a < b ? -1 : 1));
    expect(vas).toEqual(Array.from({ length: N }, (_, i) => base + BigInt(i) * PAGE));
    for (const s of v.slots) {
      expect(s.offset).toBeGreaterThan(0); // slot 0 is the header
      expect(s.count).toBe(2);
      expect(s.cached).toBe(false);
      expect(s.frame).toBeUndefined();
      expect(s.ptes).toEqual([
        { pid: parent.pid, va: s.ptes[0]!.va },
        { pid: child.pid, va: s.ptes[0]!.va },
      ]);
    }
    // Offsets ascend and are distinct.
    expect(v.slots.map((s) => s.offset)).toEqual(
      [...new Set(v.slots.map((s) => s.offset))].sort((a, b) => a - b),
    );
    expect(audit(k).problems).toEqual([]);
  });

  it('a swap-cache entry: after the parent swaps the page in, count 1, cached, its frame; the child’s PTE alone names it', () => {
    const { k, parent, child, base, type } = sharedAndSwapped(c);
    const slotOf = (va: bigint) => k.swapSlots(type)!.slots.find((s) => s.ptes.some((p) => p.va === va));
    const before = slotOf(base)!;
    expect(k.load(parent, base, 8)).toEqual({ ok: true, value: 0x600n }); // major fault
    const v = k.swapSlots(type)!;
    const s = v.slots.find((x) => x.offset === before.offset)!;
    expect(s).toEqual({
      offset: before.offset,
      count: 1,
      cached: true,
      frame: paOf(k, parent, base),
      ptes: [{ pid: child.pid, va: base }],
    });
    expect(v.cachedPages).toBe(1);
    expect(v.slots.filter((x) => x.cached)).toHaveLength(1);
    // The child finds it in the cache (a minor fault): the last swap PTE goes, but the page stays
    // in the swap cache with its slot (should_try_to_free_swap: a read, swap not half full).
    expect(k.load(child, base, 8)).toEqual({ ok: true, value: 0x600n });
    const after = k.swapSlots(type)!;
    expect(after.slots.find((x) => x.offset === before.offset)).toEqual({
      offset: before.offset,
      count: 0,
      cached: true,
      frame: paOf(k, parent, base),
      ptes: [],
    });
    expect(after).toMatchObject({ usedPages: N, cachedPages: 1 });
    expect(audit(k).problems).toEqual([]);
    // The child's write copies (the parent still maps the frame); the parent's write then reuses
    // it and frees the slot (wp_can_reuse_anon_folio → folio_free_swap).
    expect(k.store(child, base, 8, 1n).ok).toBe(true);
    expect(k.swapSlots(type)).toMatchObject({ usedPages: N, cachedPages: 1 });
    expect(k.store(parent, base, 8, 2n).ok).toBe(true);
    expect(k.swapSlots(type)).toMatchObject({ usedPages: N - 1, cachedPages: 0 });
    expect(audit(k).problems).toEqual([]);
  });

  it('MADV_WILLNEED reads pages into the swap cache while both swap PTEs stay: count 2 and cached', () => {
    const { k, parent, child, base, type } = sharedAndSwapped(c);
    expect(k.madvise(parent, base, 2 * 4096, MADV.WILLNEED)).toEqual({ ok: true, value: 0 });
    const v = k.swapSlots(type)!;
    const cached = v.slots.filter((s) => s.cached);
    expect(cached).toHaveLength(2);
    for (const s of cached) {
      expect(s.count).toBe(2);
      expect(s.ptes.map((p) => p.pid)).toEqual([parent.pid, child.pid]);
      expect(k.allocator.stateOf(s.frame!)).not.toBe(0); // a live frame, not a free one
    }
    expect(v.cachedPages).toBe(2);
    expect(k.swapDevices[0]!.cachedPages).toBe(2);
  });

  it('is a snapshot that changes nothing; exit frees every slot', () => {
    const { k, parent, child, type } = sharedAndSwapped(c);
    const free = k.allocator.freeCount;
    const devices = JSON.stringify(k.swapDevices);
    const v = k.swapSlots(type)!;
    expect(k.swapSlots(type)).toEqual(v);
    expect(k.allocator.freeCount).toBe(free);
    expect(JSON.stringify(k.swapDevices)).toBe(devices);
    k.exit(child);
    expect(v.slots.every((s) => s.count === 2)).toBe(true); // the earlier snapshot is untouched
    expect(k.swapSlots(type)!.slots.every((s) => s.count === 1 && s.ptes.length === 1)).toBe(true);
    k.exit(parent);
    expect(k.swapSlots(type)).toMatchObject({ usedPages: 0, cachedPages: 0, slots: [] });
    expect(audit(k).problems).toEqual([]);
  });
});

describe('swapSlots arguments', () => {
  const c = fiveConfigs(32 * 2 ** 20)[0]!;
  it('undefined for a type no active device has (none yet, or after swapoff)', () => {
    const k = bootKernel({ arch: c.arch(), machine: c.machine() });
    expect(k.swapSlots(0)).toBeUndefined();
    const d = k.swapon({ pages: 8 });
    expect(d.ok && k.swapSlots(0)).toMatchObject({ type: 0, pages: 8, usedPages: 0, slots: [] });
    expect(k.swapSlots(1)).toBeUndefined();
    expect(k.swapoff(0).ok).toBe(true);
    expect(k.swapSlots(0)).toBeUndefined();
  });

  it.each([-1, 32, 0.5, Number.NaN, '0', 0n, null, undefined])(
    'InvalidArgumentError naming %s and what was expected',
    (bad) => {
      const k = bootKernel({ arch: c.arch(), machine: c.machine() });
      const call = () => k.swapSlots(bad as number);
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(/swapSlots type.*an integer from 0 to 31/);
    },
  );
});
