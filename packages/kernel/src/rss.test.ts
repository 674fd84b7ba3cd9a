/**
 * `Process.rssPages`, the O(1) RSS (the reverse map's count of a space's entries), against
 * `rssOf` (the walk of every leaf the OOM report uses: Linux get_mm_rss = MM_ANONPAGES +
 * MM_FILEPAGES + MM_SHMEMPAGES) in every state that moves it: zero-page reads and device mappings
 * (not counted), writes, fork (each process counts the pages it maps), a copy-on-write copy,
 * munmap, MADV_DONTNEED, swap-out and swap-in, MAP_SHARED anonymous memory (shmem, counted),
 * huge pages (each 4 KiB page counted) and exit (0). On all five configurations, in strict TLB
 * mode, with audit() clean after each scenario.
 */
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import type { Kernel } from './kernel.js';
import { MADV } from './madvise.js';
import { rssOf } from './oom-kill.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { bootStrict, fiveConfigs, mapDevice } from './test-fixtures.js';

const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * 2 ** 20);
const RW = PROT.READ | PROT.WRITE;
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const SHARED = MAP.SHARED | MAP.ANONYMOUS;

function mapAnon(k: Kernel, p: Process, pages: number, flags = PRIV): bigint {
  const m = k.mmap(p, 0n, BigInt(pages) * PAGE, RW, flags);
  if (!m.ok) throw new Error(m.detail);
  return m.value;
}

function forkOf(k: Kernel, p: Process): Process {
  const f = k.fork(p);
  if (!f.ok) throw new Error(f.errno);
  return f.process;
}

const write = (k: Kernel, p: Process, va: bigint) => expect(k.store(p, va, 8, 7n).ok).toBe(true);
const read = (k: Kernel, p: Process, va: bigint) => expect(k.load(p, va, 8).ok).toBe(true);

/** The walked RSS of `p` (anon + file + shmem), as `memoryStats` computed it before it was O(1). */
function walked(k: Kernel, p: Process): number {
  const r = rssOf(k, p.space);
  return r.anon + r.file + r.shmem;
}

/** `p.rssPages` is `n`, equals the walk and `memoryStats`, and the kernel audits clean. */
function expectRss(k: Kernel, p: Process, n: number): void {
  expect(p.rssPages).toBe(n);
  expect(walked(k, p)).toBe(n);
  if (p.alive) expect(k.memoryStats(p).rssPages).toBe(n);
  expect(audit(k).problems).toEqual([]);
}

describe.each(CONFIGS)('Process.rssPages (O(1) get_mm_rss) on $name', (c) => {
  it('leaves out the zero page and device memory (residentPages counts them); a write counts one page', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    expectRss(k, p, 0);
    const va = mapAnon(k, p, 8);
    for (let i = 0n; i < 8n; i++) read(k, p, va + i * PAGE); // do_anonymous_page: the zero page
    expect(p.residentPages).toBe(8);
    expectRss(k, p, 0);
    mapDevice(k, p); // remap_pfn_range maps it at once, with a special PTE
    expect(p.residentPages).toBe(9);
    expectRss(k, p, 0);
    for (let i = 0n; i < 3n; i++) {
      write(k, p, va + i * PAGE); // the zero page replaced by a fresh anonymous page
      expectRss(k, p, Number(i) + 1);
    }
    expect(p.residentPages).toBe(9);
  });

  it('fork: the child counts the shared copy-on-write pages too; a COW copy and a reuse change nothing', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const va = mapAnon(k, p, 6);
    for (let i = 0n; i < 4n; i++) write(k, p, va + i * PAGE);
    read(k, p, va + 5n * PAGE); // a zero-page PTE: copied by fork, counted by neither
    const child = forkOf(k, p);
    const leaf = k.lookup(p, va)!.entry;
    expect(leaf.kind === 'leaf' && k.allocator.refCount(leaf.pa)).toBe(2); // one frame, two PTEs
    expectRss(k, p, 4);
    expectRss(k, child, 4);
    write(k, child, va); // copy: the child maps a new frame instead of the shared one
    expectRss(k, child, 4);
    expectRss(k, p, 4);
    write(k, p, va); // the parent is the only mapper left: reuse
    expectRss(k, p, 4);
    write(k, child, va + 5n * PAGE); // the child's zero page replaced: one more
    expectRss(k, child, 5);
    expectRss(k, p, 4);
  });

  it('munmap, MADV_DONTNEED and exit give the pages back', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const va = mapAnon(k, p, 8);
    for (let i = 0n; i < 8n; i++) write(k, p, va + i * PAGE);
    expectRss(k, p, 8);
    expect(k.munmap(p, va + 6n * PAGE, 2 * 4096).ok).toBe(true);
    expectRss(k, p, 6);
    expect(k.madvise(p, va, 3 * 4096, MADV.DONTNEED)).toEqual({ ok: true, value: 0 });
    expectRss(k, p, 3);
    read(k, p, va); // after DONTNEED a read maps the zero page again: still not counted
    expectRss(k, p, 3);
    const child = forkOf(k, p);
    expectRss(k, child, 3);
    k.exit(child);
    expectRss(k, child, 0);
    expectRss(k, p, 3);
    k.exit(p);
    expectRss(k, p, 0);
  });

  it('a swapped-out page leaves RSS (MM_SWAPENTS), a swap-in brings it back', () => {
    const k = bootStrict(c);
    expect(k.swapon({ pages: 16 }).ok).toBe(true);
    const p = k.createProcess();
    const va = mapAnon(k, p, 5);
    for (let i = 0n; i < 4n; i++) write(k, p, va + i * PAGE);
    read(k, p, va + 4n * PAGE); // a zero-page PTE (residentPages counts it, RSS does not)
    expectRss(k, p, 4);
    for (const i of [1n, 2n]) expect(k.madvise(p, va + i * PAGE, 4096, MADV.PAGEOUT).ok).toBe(true);
    expect(p.space.swapEntries).toBe(2);
    expectRss(k, p, 2);
    read(k, p, va + PAGE); // do_swap_page
    expect(p.space.swapEntries).toBe(1);
    expectRss(k, p, 3);
  });

  it('MAP_SHARED anonymous memory (shmem) counts; device memory does not; a fork child counts what it maps', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const va = mapAnon(k, p, 4, SHARED);
    for (let i = 0n; i < 3n; i++) write(k, p, va + i * PAGE);
    mapDevice(k, p, MAP.PRIVATE);
    expect(p.residentPages).toBe(4);
    expectRss(k, p, 3);
    expect(rssOf(k, p.space).shmem).toBe(3);
    const child = forkOf(k, p);
    expectRss(k, child, 0); // vma_needs_copy: shmem PTEs are not copied, the child maps them on touch
    read(k, child, va + PAGE);
    expectRss(k, child, 1);
    expectRss(k, p, 3);
  });

  it('a huge page counts each of its 4 KiB pages; splitting it changes nothing but the unmapped page', () => {
    const k = bootStrict(c);
    const huge = k.bounds.hugePages;
    expect(huge).toBeGreaterThan(1);
    const p = k.createProcess();
    read(k, p, mapAnon(k, p, 1)); // a zero-page PTE (residentPages counts it, RSS does not)
    const r = k.mmap(p, 0n, BigInt(huge) * PAGE, RW, PRIV | MAP.HUGETLB);
    if (!r.ok) throw new Error(r.detail);
    write(k, p, r.value);
    expect(k.lookup(p, r.value)!.level).toBe(2);
    expectRss(k, p, huge);
    const child = forkOf(k, p);
    expectRss(k, child, huge);
    expect(p.residentPages).toBe(huge + 1);
    expect(k.munmap(p, r.value + 2n * PAGE, 4096).ok).toBe(true); // splits the parent's huge leaf
    expectRss(k, p, huge - 1);
    expectRss(k, child, huge);
  });
});
