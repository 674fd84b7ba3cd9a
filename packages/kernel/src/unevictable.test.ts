/**
 * The unevictable list (unevictable.ts; Linux LRU_UNEVICTABLE, mm/mlock.c): mlocked frames leave
 * the replacement policy, a reclaim scan never meets them, and they come back as new pages when
 * the last locked mapping goes (munlock, munmap, exit, a copy-on-write break), with Linux's
 * `unevictable_pgs_*` counters; a page a locked and an unlocked VMA map stays while any locked
 * mapping remains. audit() proves both directions and each of its checks fires on a planted
 * violation. All five configurations, strict TLB mode, audit() after each step.
 */
import { vpnOf } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import { MCL, MLOCK } from './mlock.js';
import type { Process } from './process.js';
import { reclaimFrame } from './swap.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leafPa, type TestConfig } from './test-fixtures.js';
import { vmaWith } from './vma.js';

const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * 2 ** 20);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;

function boot(c: TestConfig, opts: Partial<KernelOptions> = {}): Kernel {
  return bootKernel({
    arch: c.arch(),
    machine: c.machine(),
    cpus: 2,
    strictTlb: true,
    autoReclaim: false,
    reclaimPolicy: 'fifo',
    ...opts,
  });
}

/** `pages` private rw- pages, page i holding `0x7000 + i` at offset 8. */
function filled(k: Kernel, p: Process, pages: number, flags = PRIV): bigint {
  const r = k.mmap(p, 0, pages * 4096, RW, flags);
  if (!r.ok) throw new Error(r.detail);
  for (let i = 0; i < pages; i++)
    expect(k.store(p, r.value + BigInt(i) * PAGE + 8n, 8, 0x7000n + BigInt(i))).toMatchObject({ ok: true });
  return r.value;
}

const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const pas = (k: Kernel, p: Process, base: bigint, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => leafPa(k, p, base + BigInt(from + i) * PAGE));
/** The frames in the policy, in eviction order. */
const inPolicy = (k: Kernel) => k.reclaimPolicyState()!.resident;
const counters = (k: Kernel) => {
  const s = k.vmstat;
  return {
    nr: s.nrUnevictable,
    mlocked: s.unevictablePgsMlocked,
    munlocked: s.unevictablePgsMunlocked,
    culled: s.unevictablePgsCulled,
    rescued: s.unevictablePgsRescued,
  };
};
const present = (k: Kernel, p: Process, va: bigint) => k.lookup(p, va)?.entry.kind === 'leaf';

describe.each(CONFIGS)('the unevictable list: $name', (c) => {
  it('mlock takes the present pages out of the policy; a scan never meets them; munlock puts them back as new pages', () => {
    const k = boot(c);
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const base = filled(k, p, 8);
    const all = pas(k, p, base, 0, 8);
    expect(inPolicy(k)).toEqual(all); // FIFO: oldest first
    expect(k.mlock(p, base + 2n * PAGE, 3 * 4096)).toEqual({ ok: true, value: 0 });
    // Linux mlock_folio: unevictable_pgs_mlocked, and __mlock_folio moving it: _culled.
    expect(counters(k)).toEqual({ nr: 3, mlocked: 3, munlocked: 0, culled: 3, rescued: 0 });
    expect(inPolicy(k)).toEqual([...all.slice(0, 2), ...all.slice(5)]);
    clean(k);
    // Reclaim offers exactly the five evictable pages: the locked ones are not in the scan.
    expect(k.reclaim(100)).toBe(5);
    expect(k.reclaimer.lastScanned).toBe(5);
    for (let i = 0; i < 8; i++) expect(present(k, p, base + BigInt(i) * PAGE)).toBe(i >= 2 && i < 5);
    expect(counters(k).culled).toBe(3); // no scan culled anything
    clean(k);
    // munlock: munlocked and rescued, back in the policy as new pages (Linux folio_putback_lru).
    expect(k.munlock(p, base + 2n * PAGE, 3 * 4096)).toEqual({ ok: true, value: 0 });
    expect(counters(k)).toEqual({ nr: 0, mlocked: 3, munlocked: 3, culled: 3, rescued: 3 });
    expect(inPolicy(k)).toEqual(all.slice(2, 5));
    clean(k);
    for (let i = 0; i < 8; i++)
      expect(k.load(p, base + BigInt(i) * PAGE + 8n, 8)).toEqual({ ok: true, value: 0x7000n + BigInt(i) });
    expect(k.reclaim(100)).toBe(8);
    clean(k);
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    clean(k);
  });

  it('two-list: a munlocked page goes back on the inactive list (Linux __munlock_folio → lruvec_add_folio, PG_active cleared)', () => {
    const k = boot(c, { reclaimPolicy: 'two-list' });
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const base = filled(k, p, 3);
    const all = pas(k, p, base, 0, 3);
    // Page 0 referenced twice through software: activated (mark_page_accessed).
    const i0 = k.allocator.frameIndex(all[0]!);
    k.reclaimer.policy!.referenced(i0);
    k.reclaimer.policy!.referenced(i0);
    expect(k.reclaimPolicyState()!.lists.active).toEqual([all[0]]);
    expect(k.mlock(p, base, 4096)).toEqual({ ok: true, value: 0 });
    expect(k.reclaimPolicyState()!.lists.active).toEqual([]);
    expect(k.munlock(p, base, 4096)).toEqual({ ok: true, value: 0 });
    const s = k.reclaimPolicyState()!;
    expect(s.lists.active).toEqual([]);
    expect(s.lists.inactive).toEqual([all[1], all[2], all[0]]); // the newest inactive page
    clean(k);
  });

  it('faults in a locked VMA (MLOCK_ONFAULT, MCL_FUTURE, swap-in) go straight to the list; munmap and exit take them off', () => {
    const k = boot(c);
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const base = filled(k, p, 4);
    // Page 3 swapped out before the VMA is locked on fault: its swap-in maps it into a locked VMA.
    expect(reclaimFrame(k, leafPa(k, p, base + 3n * PAGE))).toBe(true);
    expect(k.mlock2(p, base, 4 * 4096, MLOCK.ONFAULT)).toEqual({ ok: true, value: 0 });
    expect(counters(k).nr).toBe(3); // the present pages
    expect(k.load(p, base + 3n * PAGE + 8n, 8)).toEqual({ ok: true, value: 0x7003n });
    expect(counters(k)).toEqual({ nr: 4, mlocked: 4, munlocked: 0, culled: 4, rescued: 0 });
    expect(inPolicy(k)).toEqual([]);
    clean(k);
    // MCL_FUTURE: a new mapping is locked; its demand-zero pages go to the list as they fault in.
    expect(k.mlockall(p, MCL.FUTURE)).toEqual({ ok: true, value: 0 });
    const r = k.mmap(p, 0, 2 * 4096, RW, PRIV);
    if (!r.ok) throw new Error(r.detail);
    expect(counters(k).nr).toBe(6); // mmap of a VM_LOCKED mapping populates it (mm_populate)
    expect(k.store(p, r.value + 8n, 8, 1n)).toMatchObject({ ok: true });
    expect(inPolicy(k)).toEqual([]);
    clean(k);
    // munmap of two locked pages: freed while on the list (munlock_vma_folio first).
    expect(k.munmap(p, base, 2 * 4096)).toEqual({ ok: true, value: 0 });
    expect(counters(k)).toEqual({ nr: 4, mlocked: 6, munlocked: 2, culled: 6, rescued: 2 });
    clean(k);
    k.exit(p);
    expect(counters(k)).toEqual({ nr: 0, mlocked: 6, munlocked: 6, culled: 6, rescued: 6 });
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    clean(k);
  });

  it('a page mapped by a locked and an unlocked VMA (fork) stays unevictable while a locked mapping remains', () => {
    const k = boot(c);
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const base = filled(k, p, 4);
    expect(k.mlock(p, base, 4 * 4096)).toEqual({ ok: true, value: 0 });
    const shared = pas(k, p, base, 0, 4);
    const f = k.fork(p); // the child's VMA is not locked (dup_mmap clears VM_LOCKED)
    if (!f.ok) throw new Error('fork failed');
    const child = f.process;
    expect(counters(k).nr).toBe(4);
    clean(k);
    // The child's copy-on-write break: its new page is evictable, the shared one stays locked.
    expect(k.store(child, base + 8n, 8, 0xc0n)).toMatchObject({ ok: true });
    expect(inPolicy(k)).toEqual([leafPa(k, child, base)]);
    expect(counters(k).nr).toBe(4);
    clean(k);
    // The parent's break on page 1: its new page is locked; the old one, now the child's only,
    // goes back (munlocked, rescued).
    expect(k.store(p, base + PAGE + 8n, 8, 0xb1n)).toMatchObject({ ok: true });
    expect(counters(k)).toEqual({ nr: 4, mlocked: 5, munlocked: 1, culled: 5, rescued: 1 });
    expect(inPolicy(k)).toEqual([leafPa(k, child, base), shared[1]]);
    clean(k);
    // The parent exits: pages 2 and 3, still the child's, go back; the rest are freed.
    k.exit(p);
    expect(counters(k)).toEqual({ nr: 0, mlocked: 5, munlocked: 5, culled: 5, rescued: 5 });
    expect(new Set(inPolicy(k))).toEqual(new Set([leafPa(k, child, base), shared[1], shared[2], shared[3]]));
    clean(k);
    expect(k.reclaim(100)).toBe(4);
    for (let i = 0; i < 4; i++)
      expect(k.load(child, base + BigInt(i) * PAGE + 8n, 8)).toEqual({
        ok: true,
        value: i === 0 ? 0xc0n : 0x7000n + BigInt(i),
      });
    k.exit(child);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    clean(k);
  });

  it('MAP_SHARED: munlock in one process keeps the page unevictable while the other still locks it', () => {
    const k = boot(c);
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const base = filled(k, p, 2, MAP.SHARED | MAP.ANONYMOUS);
    const f = k.fork(p);
    if (!f.ok) throw new Error('fork failed');
    const q = f.process;
    expect(k.mlock(p, base, 2 * 4096)).toEqual({ ok: true, value: 0 });
    expect(k.mlock(q, base, 2 * 4096)).toEqual({ ok: true, value: 0 });
    expect(counters(k)).toMatchObject({ nr: 2, mlocked: 2 });
    expect(k.munlock(p, base, 2 * 4096)).toEqual({ ok: true, value: 0 });
    expect(counters(k)).toMatchObject({ nr: 2, munlocked: 0 });
    clean(k);
    expect(k.munmap(q, base, 2 * 4096)).toEqual({ ok: true, value: 0 });
    expect(counters(k)).toMatchObject({ nr: 0, munlocked: 2, rescued: 2 });
    expect(new Set(inPolicy(k))).toEqual(new Set(pas(k, p, base, 0, 2)));
    clean(k);
    for (const x of [p, q]) k.exit(x);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    clean(k);
  });

  it('mlock before the first swap device: counted at mlock; swapon leaves the locked frames out of the policy', () => {
    const k = boot(c);
    const p = k.createProcess();
    const base = filled(k, p, 4);
    expect(k.mlock(p, base, 2 * 4096)).toEqual({ ok: true, value: 0 });
    expect(counters(k)).toMatchObject({ nr: 2, mlocked: 2, culled: 2 });
    clean(k);
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    expect(inPolicy(k)).toEqual(pas(k, p, base, 2, 4));
    clean(k);
    expect(k.reclaim(100)).toBe(2);
    k.exit(p);
    expect(counters(k)).toMatchObject({ nr: 0, munlocked: 2 });
    clean(k);
  });

  it('a locked page the bookkeeping missed is culled by the scan (folio_evictable), not swapped', () => {
    const k = boot(c);
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const base = filled(k, p, 2);
    // Lock page 0's VMA behind mlock's back (no unevictable bookkeeping).
    k.reclaimer.lockSeen();
    p.space.vmas.update(vpnOf(base), vpnOf(base) + 1, (v) => vmaWith(v, { lock: 'locked' }));
    expect(audit(k).problems).toContainEqual(
      expect.stringContaining('mapped by a locked VMA but not on the unevictable list'),
    );
    expect(k.reclaim(100)).toBe(1);
    expect(present(k, p, base)).toBe(true);
    expect(present(k, p, base + PAGE)).toBe(false);
    expect(counters(k)).toEqual({ nr: 1, mlocked: 1, munlocked: 0, culled: 1, rescued: 0 });
    clean(k);
    k.exit(p);
    clean(k);
  });

  it('audit catches each planted violation', () => {
    const k = boot(c);
    expect(k.swapon({ pages: 64 }).ok).toBe(true);
    const p = k.createProcess();
    const base = filled(k, p, 4);
    expect(k.mlock(p, base, 2 * 4096)).toEqual({ ok: true, value: 0 });
    clean(k);
    const u = k.reclaimer.unevictable;
    const policy = k.reclaimer.policy!;
    const idx = (va: bigint) => k.allocator.frameIndex(leafPa(k, p, va));
    const expectProblem = (text: string) =>
      expect(audit(k).problems).toContainEqual(expect.stringContaining(text));
    // A locked frame put back into the policy.
    policy.insert(idx(base));
    expectProblem('both on the unevictable list and in the policy');
    policy.remove(idx(base));
    clean(k);
    // A locked frame dropped from the list (and nowhere else).
    u.onList![idx(base)] = 0;
    u.size--;
    expectProblem('mapped by a locked VMA but not on the unevictable list');
    u.onList![idx(base)] = 1;
    u.size++;
    clean(k);
    // The count off by one.
    u.size++;
    expectProblem('nr_unevictable is 3 but the unevictable list holds 2 frames');
    u.size--;
    // An unlocked frame on the list.
    policy.remove(idx(base + 2n * PAGE));
    u.onList![idx(base + 2n * PAGE)] = 1;
    u.size++;
    expectProblem('is on the unevictable list, but no locked VMA maps it');
    u.onList![idx(base + 2n * PAGE)] = 0;
    u.size--;
    // An evictable page in neither.
    expectProblem('is an evictable user page but not in the policy');
    policy.insert(idx(base + 2n * PAGE));
    clean(k);
    // The batch left undrained after a call.
    u.queue(idx(base), leafPa(k, p, base));
    expectProblem('frames wait in the mlock batch');
    k.reclaimer.drainMlock();
    clean(k);
    // A non-USER frame on the list.
    const kf = k.allocator.alloc('kernel', -1);
    u.onList![k.allocator.frameIndex(kf)] = 1;
    u.size++;
    expectProblem('which is not a USER frame');
    u.onList![k.allocator.frameIndex(kf)] = 0;
    u.size--;
    k.allocator.free(kf);
    clean(k);
  });
});
