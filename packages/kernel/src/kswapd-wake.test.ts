/**
 * kswapd is woken by every allocation that finds free frames at or below the low watermark, not
 * only by USER frames (Linux `get_page_from_freelist` → `zone_watermark_fast` fails for any
 * allocation; `__alloc_pages_slowpath` → `wake_all_kswapds`): page-table and kernel frames and
 * contiguous runs (huge pages) too — on all five configurations.
 */
import type { MmEvent } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, swapTestEnv } from './test-fixtures.js';

const CONFIGS = fiveConfigs(32 * 2 ** 20);
const WATERMARKS = { min: 0, low: 16, high: 40 };

type Reclaim = Extract<MmEvent, { type: 'reclaim' }>;
const wakes = (events: MmEvent[]) =>
  events.filter((e): e is Reclaim => e.type === 'reclaim' && e.action === 'kswapd-wake');

describe.each(CONFIGS)('kswapd wake on every allocation kind: $name', (c) => {
  it('a page-table, kernel or contiguous allocation leaving free < low records the wake; one leaving free = low does not', () => {
    const { k } = swapTestEnv(c, 4, 64, { watermarks: WATERMARKS });
    const r = k.reclaimer;
    for (const kind of ['page-table', 'kernel', 'run'] as const) {
      const release = leaveFree(k, WATERMARKS.low + 1);
      r.kswapdWoken = false;
      const take = () =>
        kind === 'run'
          ? k.allocator.allocContiguous(1, 1, 'user', -1) // a run of one (freed frames are scattered)
          : k.allocator.alloc(kind, -1);
      const first = take(); // leaves exactly low free: the fast path's check passed
      expect(first).not.toBe(0);
      expect(k.allocator.freeCount).toBe(WATERMARKS.low);
      expect(r.kswapdWoken).toBe(false);
      const second = k.allocator.alloc(kind === 'run' ? 'page-table' : kind, -1); // found free = low
      expect(second).not.toBe(0);
      expect(r.kswapdWoken).toBe(true);
      r.kswapdWoken = false;
      k.allocator.free(first);
      k.allocator.free(second);
      release();
    }
    expect(audit(k).problems).toEqual([]);
  });

  it('munmap splitting a huge page at free = low wakes kswapd through its page-table allocation, though the call ends at low', () => {
    const { k, p, events } = swapTestEnv(c, 4, 256, { watermarks: WATERMARKS });
    const hugeBytes = BigInt(k.bounds.hugePages * 4096);
    const m = k.mmap(
      p,
      0,
      2 * Number(hugeBytes),
      PROT.READ | PROT.WRITE,
      MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB,
    );
    if (!m.ok) throw new Error(m.detail);
    const aligned = (m.value + hugeBytes - 1n) & ~(hugeBytes - 1n);
    expect(k.store(p, aligned, 8, 1n)).toMatchObject({ ok: true });
    expect(k.lookup(p, aligned)!.level).toBeGreaterThan(1);
    const release = leaveFree(k, WATERMARKS.low);
    events.length = 0;
    // The split takes one table page (free = low − 1: the fast path failed), the unmap gives one
    // frame back (free = low): only the table allocation can have woken kswapd.
    expect(k.munmap(p, aligned + 4096n, 4096)).toEqual({ ok: true, value: 0 });
    expect(k.lookup(p, aligned)!.level).toBe(1);
    const w = wakes(events);
    expect(w).toHaveLength(1);
    expect(w[0]!.free).toBe(WATERMARKS.low);
    expect(w[0]!.detail).toContain('woken by an allocation');
    // kswapd reclaimed the split page's frames up to high.
    expect(k.allocator.freeCount).toBeGreaterThanOrEqual(WATERMARKS.high);
    expect(audit(k).problems).toEqual([]);
    release();
    expect(audit(k).problems).toEqual([]);
  });
});
