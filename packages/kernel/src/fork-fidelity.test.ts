/**
 * fork as Linux 6.x does it, on all five configurations with audit() after each case:
 * - the VMA list is copied one to one (`dup_mmap` duplicates the maple tree, `__mt_dup`, and
 *   merges nothing in the child), even where the child's copies would be mergeable;
 * - the child's PTE bits (`__copy_present_ptes`): a COW mapping's writable PTE write-protected in
 *   both, every child PTE old (`pte_mkold`), a VM_SHARED mapping's child PTE clean too
 *   (`pte_mkclean`); MAP_SHARED anonymous memory not copied at all (`vma_needs_copy`);
 * - RSS (`get_mm_rss`) never counts the shared zero page or device memory (special PTEs).
 */
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import type { Kernel } from './kernel.js';
import { MADV } from './madvise.js';
import { MLOCK } from './mlock.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { bootStrict, fiveConfigs, leafRaw, mapDevice } from './test-fixtures.js';

const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * 2 ** 20);
const RW = PROT.READ | PROT.WRITE;
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const raw = leafRaw;
const ok = (r: { ok: boolean }) => expect(r.ok).toBe(true);
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);

function mapAnon(k: Kernel, p: Process, pages: number, prot = RW, flags = PRIV, addr = 0n): bigint {
  const m = k.mmap(p, addr, BigInt(pages) * PAGE, prot, flags);
  if (!m.ok) throw new Error(m.detail);
  return m.value;
}

/** A user access of the CPU to `va` without moving data (device windows have no device): the walk sets A/AF, and D on a write. */
function touch(k: Kernel, p: Process, va: bigint, write: boolean): void {
  const cpu = k.cpus[0]!;
  cpu.switchTo(p);
  expect(cpu.translate(p, Number(va / PAGE), 0, 4, write ? 1 : 0, 0, true)).toBeGreaterThanOrEqual(0);
}

function forkOf(k: Kernel, p: Process): Process {
  const f = k.fork(p);
  if (!f.ok) throw new Error(f.errno);
  return f.process;
}

/** [start, end, lock, anon_vma id] of each VMA. */
const vmaList = (p: Process) => {
  const out: [number, number, string, number][] = [];
  p.space.vmas.forEach((v) => {
    out.push([v.startVpn, v.endVpn, v.value.lock, v.value.anonVmaId]);
  });
  return out;
};
const bounds = (p: Process) => vmaList(p).map(([s, e]) => [s, e]);

/** The descriptor bits named by Linux: arm64 pgtable-hwdef.h / pgtable-prot.h, x86 pgtable_types.h. */
function bits(k: Kernel) {
  const arm = k.arch.description.id === 'aarch64';
  return {
    accessed: arm ? 1n << 10n : 1n << 5n, // PTE_AF / _PAGE_ACCESSED
    hwDirty: arm ? 0n : 1n << 6n, // x86 _PAGE_DIRTY (arm64: AP[2] clear with DBM, below)
    rdonly: arm ? 1n << 7n : 0n, // arm64 PTE_RDONLY (AP[2])
    swDirty: arm ? 1n << 55n : 0n, // arm64 PTE_DIRTY
    write: arm ? 1n << 51n : 1n << 1n, // PTE_WRITE (= DBM) / _PAGE_RW
  };
}

describe.each(CONFIGS)('fork (dup_mmap) on $name', (c) => {
  it('copies the VMA list one to one: VMAs that only VM_LOCKED kept apart stay apart in the child', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    // Read-only memory: mlock populates it with read faults (the zero page), so no VMA gets an
    // anon_vma and only VM_LOCKED tells the two halves apart.
    const va = mapAnon(k, p, 4, PROT.READ);
    ok(k.mlock(p, va, 2n * PAGE));
    const parent = vmaList(p).filter(([s]) => s >= Number(va / PAGE) && s < Number(va / PAGE) + 4);
    expect(parent.map(([, , lock, anon]) => [lock, anon])).toEqual([
      ['locked', 0],
      ['none', 0],
    ]);
    const child = forkOf(k, p);
    // dup_mmap clears VM_LOCKED_MASK in the child: the two copies differ in nothing, and are
    // still two VMAs (Linux does not merge at fork).
    expect(bounds(child)).toEqual(bounds(p));
    expect(vmaList(child).filter(([s]) => s === Number(va / PAGE))[0]![2]).toBe('none');
    expect(vmaList(child).filter(([s]) => s === Number(va / PAGE) + 2)[0]![2]).toBe('none');
    expect(k.procMaps(child)).toBe(k.procMaps(p));
    expect(child.space.vmas.check()).toEqual([]);
    // A later change across the boundary merges them as Linux's vma_modify does.
    ok(k.mprotect(child, va, 4n * PAGE, RW));
    expect(bounds(child).length).toBe(bounds(p).length - 1);
    clean(k);
  });

  it('the child’s first write (anon_vma_prepare) does not merge VMAs fork kept apart', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    // Writable memory locked on fault (MLOCK_ONFAULT) and never touched: no anon_vma, and only
    // VM_LOCKED | VM_LOCKONFAULT tells the halves apart.
    const va = mapAnon(k, p, 4);
    ok(k.mlock2(p, va, 2n * PAGE, MLOCK.ONFAULT));
    const child = forkOf(k, p);
    expect(bounds(child)).toEqual(bounds(p));
    ok(k.store(child, va, 8, 1n)); // the first half gets an anon_vma: set in place, no merge
    ok(k.store(child, va + 2n * PAGE, 8, 2n)); // the second reuses it (find_mergeable_anon_vma)
    expect(bounds(child)).toEqual(bounds(p));
    const first = Number(va / PAGE);
    const id = (vpn: number) => child.space.vmas.find(vpn)!.value.anonVmaId;
    expect(id(first)).not.toBe(0);
    expect(id(first + 2)).toBe(id(first));
    clean(k);
  });

  it('gives each copied anon_vma a new one (anon_vma_fork): VMAs apart by anon_vma stay apart', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    // B first, at a+2 pages, with MADV_RANDOM (so that A's flags differ: anon_vma_compatible
    // fails), written (anon_vma b); then A right before it, written (a new anon_vma a); then B back
    // to normal: A and B differ only in their anon_vmas, which keeps them apart
    // (is_mergeable_anon_vma).
    const a = mapAnon(k, p, 4);
    ok(k.munmap(p, a, 4n * PAGE));
    mapAnon(k, p, 2, RW, PRIV | MAP.FIXED, a + 2n * PAGE);
    ok(k.madvise(p, a + 2n * PAGE, 2n * PAGE, MADV.RANDOM));
    ok(k.store(p, a + 2n * PAGE, 8, 2n));
    mapAnon(k, p, 2, RW, PRIV | MAP.FIXED, a);
    ok(k.store(p, a, 8, 1n));
    ok(k.madvise(p, a + 2n * PAGE, 2n * PAGE, MADV.NORMAL));
    const first = Number(a / PAGE);
    const ids = (q: Process) => vmaList(q).filter(([s]) => s === first || s === first + 2);
    const [pa, pb] = ids(p);
    expect(pa![3]).not.toBe(0);
    expect(pb![3]).not.toBe(0);
    expect(pa![3]).not.toBe(pb![3]);
    const child = forkOf(k, p);
    expect(bounds(child)).toEqual(bounds(p));
    const [ca, cb] = ids(child);
    // Two new anon_vmas, one per VMA, neither the parent's; the child's copies are "forked"
    // (their chain links the parent's), so they do not merge with each other either.
    expect(new Set([ca![3], cb![3], pa![3], pb![3]]).size).toBe(4);
    expect(child.space.vmas.find(first)!.value.anonVmaForked).toBe(true);
    expect(k.procMaps(child)).toBe(k.procMaps(p));
    clean(k);
  });
});

describe.each(CONFIGS)('the child PTE bits (__copy_present_ptes) on $name', (c) => {
  it('private anonymous: write-protected in both, old in the child, dirt kept', () => {
    const k = bootStrict(c);
    const b = bits(k);
    const p = k.createProcess();
    const va = mapAnon(k, p, 2);
    ok(k.store(p, va, 8, 1n));
    ok(k.store(p, va + PAGE, 8, 2n));
    ok(k.load(p, va + PAGE, 8));
    const before = raw(k, p, va);
    expect(before & b.accessed).toBe(b.accessed);
    const child = forkOf(k, p);
    const parentAfter = raw(k, p, va);
    // ptep_set_wrprotect: x86 clears _PAGE_RW, keeps A and D; arm64 sets PTE_RDONLY, clears
    // PTE_WRITE and moves the hardware dirt to PTE_DIRTY.
    expect(parentAfter & b.write).toBe(0n);
    expect(parentAfter & b.accessed).toBe(b.accessed);
    expect(parentAfter & (b.hwDirty | b.swDirty)).toBe(b.hwDirty | b.swDirty);
    // pte_wrprotect, then pte_mkold: the child's PTE is the parent's new one without A/AF.
    expect(raw(k, child, va).toString(16)).toBe((parentAfter & ~b.accessed).toString(16));
    expect(raw(k, child, va + PAGE).toString(16)).toBe((raw(k, p, va + PAGE) & ~b.accessed).toString(16));
    clean(k);
  });

  it('a MAP_HUGETLB huge leaf (copy_hugetlb_page_range): write-protected in both, young in the child too', () => {
    const k = bootStrict(c);
    const b = bits(k);
    const p = k.createProcess();
    const g = k.arch.geometry;
    const level = Math.min(...g.leafLevels.filter((l) => l > 1));
    const bytes = BigInt(g.entryPages[level]!) * PAGE;
    const m = k.mmap(p, 0, bytes, RW, PRIV | MAP.HUGETLB | MAP.POPULATE);
    if (!m.ok) throw new Error(m.detail);
    const va = m.value;
    expect(k.lookup(p, va)!.level).toBe(level);
    ok(k.store(p, va, 8, 1n));
    const child = forkOf(k, p);
    const parentAfter = raw(k, p, va);
    expect(parentAfter & b.write).toBe(0n);
    expect(parentAfter & b.accessed).toBe(b.accessed);
    // No huge_pte_mkold: the child's entry is the parent's write-protected one, byte for byte.
    expect(k.lookup(child, va)!.level).toBe(level);
    expect(raw(k, child, va).toString(16)).toBe(parentAfter.toString(16));
    clean(k);
  });

  it('a loaded private image (text, data): old in the child, else the parent’s bytes', () => {
    const k = bootStrict(c);
    const s = k.spawn({ text: new Uint8Array([1, 2, 3]), data: new Uint8Array([4]) });
    if (!s.ok) throw new Error(s.errno);
    const p = s.process;
    const text = p.space.vmas.first()!;
    const va = BigInt(text.startVpn) * PAGE;
    ok(k.load(p, va, 1));
    const child = forkOf(k, p);
    expect(raw(k, child, va).toString(16)).toBe((raw(k, p, va) & ~bits(k).accessed).toString(16));
    clean(k);
  });

  it('MAP_SHARED device memory: old and clean in the child (pte_mkclean), the parent unchanged', () => {
    const k = bootStrict(c);
    const b = bits(k);
    const p = k.createProcess();
    const dev = mapDevice(k, p, MAP.SHARED).va;
    touch(k, p, dev, true); // the hardware sets A/AF and dirties it (x86 D, arm64 AP[2] = 0)
    const before = raw(k, p, dev);
    expect(before & b.accessed).toBe(b.accessed);
    expect(before & (b.hwDirty | b.rdonly)).toBe(b.hwDirty); // dirty: x86 D set, arm64 AP[2] clear
    const child = forkOf(k, p);
    expect(raw(k, p, dev)).toBe(before);
    // x86: pte_mkold clears A, pte_mkclean clears D. arm64: pte_mkold clears AF, pte_mkclean clears
    // PTE_DIRTY and sets PTE_RDONLY (PTE_WRITE, the DBM bit, stays: writable-clean).
    const expected = (before & ~b.accessed & ~b.hwDirty & ~b.swDirty) | b.rdonly;
    expect(raw(k, child, dev).toString(16)).toBe(expected.toString(16));
    expect(raw(k, child, dev) & b.write).toBe(b.write);
    // The child writes: the hardware (or the fault path) dirties its own PTE again.
    touch(k, child, dev, true);
    expect(raw(k, child, dev) & (b.hwDirty | b.rdonly)).toBe(b.hwDirty);
    clean(k);
  });

  it('MAP_PRIVATE device memory: old in the child, not cleaned (no VM_SHARED)', () => {
    const k = bootStrict(c);
    const b = bits(k);
    const p = k.createProcess();
    const dev = mapDevice(k, p, MAP.PRIVATE).va;
    touch(k, p, dev, true);
    const before = raw(k, p, dev);
    const child = forkOf(k, p);
    expect(raw(k, child, dev).toString(16)).toBe((before & ~b.accessed).toString(16));
    clean(k);
  });

  it('MAP_SHARED anonymous memory is not copied (vma_needs_copy): the child maps it on its first touch', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const va = mapAnon(k, p, 2, RW, MAP.SHARED | MAP.ANONYMOUS);
    ok(k.store(p, va, 8, 3n));
    const child = forkOf(k, p);
    expect(k.lookup(child, va)).toBeUndefined();
    const r = k.load(child, va, 8);
    expect(r).toMatchObject({ ok: true, value: 3n });
    clean(k);
  });
});

describe.each(CONFIGS)('RSS (get_mm_rss) on $name', (c) => {
  it('does not count the shared zero page or device memory', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const base = k.memoryStats(p).rssPages;
    const n = 16;
    const va = mapAnon(k, p, n);
    for (let i = 0n; i < BigInt(n); i++) ok(k.load(p, va + i * PAGE, 8));
    expect(p.space.residentIn(Number(va / PAGE), Number(va / PAGE) + n)).toBe(n); // n zero-page PTEs
    expect(k.memoryStats(p).rssPages).toBe(base); // do_anonymous_page's zero-page path: no MM_ANONPAGES
    const dev = mapDevice(k, p, MAP.SHARED).va;
    touch(k, p, dev, false);
    expect(k.memoryStats(p).rssPages).toBe(base); // remap_pfn_range: special PTEs, not counted
    // smaps: walk_page_test skips a VM_PFNMAP VMA (no struct pages): Rss 0, as for the zero page.
    const smaps = k.procSmaps(p).split('\n');
    const rssAfter = (line: string) => smaps[smaps.findIndex((l) => l.startsWith(line)) + 4];
    expect(
      rssAfter(
        k
          .procMaps(p)
          .split('\n')
          .find((l) => l.includes(' rw-s '))!,
      ),
    ).toMatch(/^Rss: +0 kB$/);
    ok(k.store(p, va, 8, 1n)); // the zero page replaced by an anonymous page: one more
    expect(k.memoryStats(p).rssPages).toBe(base + 1);
    // The child of a fork: the zero-page PTEs of a VMA with an anon_vma are copied, not counted.
    const child = forkOf(k, p);
    expect(k.memoryStats(child).rssPages).toBe(k.memoryStats(p).rssPages);
    clean(k);
  });
});
