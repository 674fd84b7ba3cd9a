/**
 * Every swap check of audit() made to fire (as audit.test.ts does for the others): a clean state
 * with a swapped-out page (audit() clean there), one thing corrupted behind the kernel's back
 * (the swap manager's arrays, a process's counters or VMAs, the frame table), and exactly the
 * expected problem reported. Run on all five configurations.
 */
import { hex, vaOf, vpnOf } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import type { Process } from './process.js';
import { reclaimFrame } from './swap.js';
import { fiveConfigs } from './test-fixtures.js';

const configs = fiveConfigs(32 * 2 ** 20);

interface World {
  readonly k: Kernel;
  readonly p: Process;
  readonly child: Process;
  readonly va: bigint;
  /** The swap slot of the heap page. */
  readonly offset: number;
}

/**
 * A process whose heap page is shared with a forked child and swapped out (two swap PTEs, slot
 * count 2); with `cached`, the parent has touched it again (the page is in the swap cache: count
 * 2 = the child's PTE + the cache; the frame's refcount 2 = the parent's PTE + the cache).
 */
function world(cfg: (typeof configs)[number], cached = false): World {
  const k = bootKernel({ arch: cfg.arch(), machine: cfg.machine(), strictTlb: true });
  const p = k.createProcess();
  const va = k.layout.heapBase;
  k.brk(p, va + 0x1000n);
  expect(k.store(p, va, 8, 0x1234n)).toEqual({ ok: true, value: 0 });
  const f = k.fork(p);
  if (!f.ok) throw new Error(f.errno);
  expect(k.swapon({ pages: 16 }).ok).toBe(true);
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error('heap page not mapped');
  expect(reclaimFrame(k, ref.entry.pa)).toBe(true);
  if (cached) expect(k.load(p, va, 8)).toEqual({ ok: true, value: 0x1234n });
  const offset = k.swap.devices[0]!.counts.findIndex((c) => c > 0);
  expect(audit(k).problems).toEqual([]); // the control
  return { k, p, child: f.process, va, offset };
}

const paOf = (k: Kernel, p: Process, va: bigint) => {
  const e = k.lookup(p, va)!.entry;
  if (e.kind !== 'leaf') throw new Error('not mapped');
  return e.pa;
};

describe.each(configs)('audit() swap checks fire: $name', (cfg) => {
  it('a slot count that disagrees with its swap PTEs (swap_map)', () => {
    const w = world(cfg);
    w.k.swap.devices[0]!.counts[w.offset]!++;
    expect(audit(w.k).problems).toEqual([`swap slot 0:${w.offset} has count 3, but 2 swap PTE(s) name it`]);
  });

  it('a slot count that forgets the swap cache', () => {
    const w = world(cfg, true);
    w.k.swap.devices[0]!.counts[w.offset]!--;
    expect(audit(w.k).problems).toEqual([
      `swap slot 0:${w.offset} has count 1, but 1 swap PTE(s) and the swap cache name it`,
    ]);
  });

  it('a swap-cache page whose reference was dropped (refcount = PTEs + swap cache)', () => {
    const w = world(cfg, true);
    const pa = paOf(w.k, w.p, w.va);
    w.k.allocator.unref(pa);
    expect(audit(w.k).problems).toEqual([`user frame ${hex(pa)} has refcount 1 but 2 mapping(s)`]);
  });

  it('a swap PTE naming a slot of no device', () => {
    const w = world(cfg);
    const sw = w.k.swap;
    const dev = sw.devices[0]!;
    sw.devices[0] = undefined;
    expect(audit(w.k).problems).toEqual(
      [w.p, w.child].map(
        (q) =>
          `pid ${q.pid}: swap PTE at ${hex(vaOf(vpnOf(w.va)), 16)} (0:${w.offset}) names a slot that is not allocated`,
      ),
    );
    sw.devices[0] = dev;
  });

  it('a swap PTE outside any VMA', () => {
    const w = world(cfg);
    w.child.vmas.removeRange(vpnOf(w.va), vpnOf(w.va) + 1);
    expect(audit(w.k).problems).toEqual([
      `pid ${w.child.pid}: swap PTE at ${hex(vaOf(vpnOf(w.va)), 16)} (0:${w.offset}) lies outside any private anonymous VMA`,
    ]);
  });

  it('a swap-entry counter (MM_SWAPENTS) that disagrees with the tables', () => {
    const w = world(cfg);
    w.p.space.swapEntries++;
    expect(audit(w.k).problems).toEqual([`process ${w.p.pid} counts 2 swap entries, its tables hold 1`]);
  });

  it('an exclusive swap PTE (SWP_EXCLUSIVE) whose slot another swap PTE names (fork must clear it)', () => {
    const w = world(cfg);
    const codec = w.k.arch.swap!;
    const ref = w.k.lookup(w.child, w.va)!;
    const raw = codec.encode({ type: 0, offset: w.offset, exclusive: true });
    w.k.editor.writeRaw(ref.descriptorPa, raw.lo, raw.hi);
    expect(audit(w.k).problems).toEqual([
      `pid ${w.child.pid}: swap PTE at ${hex(vaOf(vpnOf(w.va)), 16)} (0:${w.offset}) is exclusive (SWP_EXCLUSIVE), but 2 swap PTEs name its slot`,
    ]);
  });

  it('a count on the header slot 0', () => {
    const w = world(cfg);
    w.k.swap.devices[0]!.counts[0] = 1;
    expect(audit(w.k).problems).toEqual(['swap 0: the header slot 0 has count 1']);
  });

  it('a swap-cache frame the frame side does not know', () => {
    const w = world(cfg, true);
    const pa = paOf(w.k, w.p, w.va);
    w.k.swap.frameType[w.k.allocator.frameIndex(pa)] = -1;
    expect(audit(w.k).problems).toEqual([
      `swap cache: frame ${hex(pa)} of slot 0:${w.offset} does not name that slot`,
    ]);
  });

  it('a swap-cache entry naming a frame that is not a user frame', () => {
    const w = world(cfg, true);
    const dev = w.k.swap.devices[0]!;
    dev.cache[w.offset] = w.k.zeroPage;
    const pa = paOf(w.k, w.p, w.va);
    expect(audit(w.k).problems).toEqual([
      `swap cache: slot 0:${w.offset} holds frame ${hex(w.k.zeroPage)}, which is not a USER frame`,
      `user frame ${hex(pa)} has refcount 2 but 1 mapping(s)`,
      `reserved frame ${hex(w.k.zeroPage)} is mapped into user space`,
    ]);
  });

  it('used and cached counters that disagree with the slots', () => {
    const w = world(cfg, true);
    const dev = w.k.swap.devices[0]!;
    dev.used++;
    dev.cached--;
    expect(audit(w.k).problems).toEqual([
      'swap 0 counts 2 used slots, 1 are',
      'swap 0 counts 0 cached pages, 1 are',
    ]);
  });
});
