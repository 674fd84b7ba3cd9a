/**
 * anon_vma presence (anon-vma.ts): which VMAs merge and which fork copies, as Linux decides them
 * from `vma->anon_vma` (mm/rmap.c; `is_mergeable_anon_vma` in mm/vma.c, `vma_needs_copy` in
 * mm/memory.c). Exact /proc/PID/maps listings on all five configurations, audit() after each.
 */
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, SMALL_MODEL_OPTIONS, swapTestEnv, type TestConfig } from './test-fixtures.js';
import { AddressSpaceModel } from './vm-reference.js';
import { vmaWith } from './vma.js';

const CONFIGS = fiveConfigs(32 * 2 ** 20);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;
const P = 4096n;
/** A free, page-aligned hint every configuration's user half has (256 MiB). */
const H = 0x1000_0000n;

function boot(c: TestConfig): { k: Kernel; p: Process } {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true });
  return { k, p: k.createProcess() };
}

/** mmap at the hint `H + page·4096` (which must be honoured). */
function mapAt(k: Kernel, p: Process, page: number, pages: number, prot = RW): bigint {
  const va = H + BigInt(page) * P;
  const r = k.mmap(p, va, BigInt(pages) * P, prot, PRIV);
  if (!r.ok) throw new Error(`${r.errno}: ${r.detail}`);
  expect(r.value).toBe(va);
  return va;
}

function write(k: Kernel, p: Process, va: bigint): void {
  expect(k.store(p, va, 8, 0x5a5an)).toMatchObject({ ok: true });
}

/** The /proc/PID/maps lines of the pages from H on (the test's mappings). */
function mapsNearH(k: Kernel, p: Process): string[] {
  return k
    .procMaps(p)
    .trimEnd()
    .split('\n')
    .filter((l) => {
      const start = BigInt(`0x${l.slice(0, l.indexOf('-'))}`);
      return start >= H && start < H + 64n * P;
    });
}

const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);

describe.each(CONFIGS)('anon_vma and VMA merging ($name)', (c) => {
  it('mmap into the gap between two VMAs that got pages separately joins only the left one', () => {
    const { k, p } = boot(c);
    write(k, p, mapAt(k, p, 0, 2));
    write(k, p, mapAt(k, p, 3, 2));
    mapAt(k, p, 2, 1);
    // vma_merge_new_range: prev and next each accept the new VMA, but not each other.
    expect(mapsNearH(k, p)).toEqual([
      '10000000-10003000 rw-p 00000000 00:00 0',
      '10003000-10005000 rw-p 00000000 00:00 0',
    ]);
    clean(k);
  });

  it('the same gap merges all three when at most one side has anonymous pages', () => {
    for (const touched of [[], [0], [3]]) {
      const { k, p } = boot(c);
      mapAt(k, p, 0, 2);
      mapAt(k, p, 3, 2);
      for (const page of touched) write(k, p, H + BigInt(page) * P);
      mapAt(k, p, 2, 1);
      expect(mapsNearH(k, p)).toEqual(['10000000-10005000 rw-p 00000000 00:00 0']);
      clean(k);
    }
  });

  it('mprotect to a neighbour’s flags merges only with a compatible anon_vma', () => {
    const { k, p } = boot(c);
    write(k, p, mapAt(k, p, 0, 2));
    write(k, p, mapAt(k, p, 3, 2));
    mapAt(k, p, 2, 1, PROT.READ);
    expect(k.mprotect(p, H + 2n * P, P, RW)).toEqual({ ok: true, value: 0 });
    expect(mapsNearH(k, p)).toEqual([
      '10000000-10003000 rw-p 00000000 00:00 0',
      '10003000-10005000 rw-p 00000000 00:00 0',
    ]);
    // Round trips change nothing: the two anon_vmas stay apart.
    expect(k.mprotect(p, H + 3n * P, 2n * P, PROT.READ).ok).toBe(true);
    expect(k.mprotect(p, H + 3n * P, 2n * P, RW).ok).toBe(true);
    expect(mapsNearH(k, p)).toEqual([
      '10000000-10003000 rw-p 00000000 00:00 0',
      '10003000-10005000 rw-p 00000000 00:00 0',
    ]);
    clean(k);
  });

  it('a VMA touched while adjacent reuses its neighbour’s anon_vma and merges later', () => {
    const { k, p } = boot(c);
    write(k, p, mapAt(k, p, 0, 2));
    const b = mapAt(k, p, 2, 2, PROT.READ | PROT.WRITE | PROT.EXEC);
    write(k, p, b); // find_mergeable_anon_vma: the previous VMA's (flags differ only in prot)
    expect(mapsNearH(k, p)).toEqual([
      '10000000-10002000 rw-p 00000000 00:00 0',
      '10002000-10004000 rwxp 00000000 00:00 0',
    ]);
    expect(k.mprotect(p, b, 2n * P, RW).ok).toBe(true);
    expect(mapsNearH(k, p)).toEqual(['10000000-10004000 rw-p 00000000 00:00 0']);
    clean(k);
  });

  it('the pieces of a split share the anon_vma: mprotect and munmap round trips merge back', () => {
    const { k, p } = boot(c);
    const a = mapAt(k, p, 0, 4);
    write(k, p, a);
    expect(k.mprotect(p, a + P, 2n * P, PROT.READ).ok).toBe(true);
    expect(mapsNearH(k, p)).toHaveLength(3);
    expect(k.mprotect(p, a + P, 2n * P, RW).ok).toBe(true);
    expect(mapsNearH(k, p)).toEqual(['10000000-10004000 rw-p 00000000 00:00 0']);
    expect(k.munmap(p, a + P, P).ok).toBe(true);
    mapAt(k, p, 1, 1);
    expect(mapsNearH(k, p)).toEqual(['10000000-10004000 rw-p 00000000 00:00 0']);
    clean(k);
  });

  it('in a forked child, a VMA with an inherited anon_vma takes no new neighbour; the parent does', () => {
    const { k, p } = boot(c);
    write(k, p, mapAt(k, p, 0, 2));
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    const child = f.process;
    for (const q of [p, child]) mapAt(k, q, 2, 1);
    expect(mapsNearH(k, p)).toEqual(['10000000-10003000 rw-p 00000000 00:00 0']);
    // vma_had_uncowed_parents: the child's anon_vma chain links the parent's.
    expect(mapsNearH(k, child)).toEqual([
      '10000000-10002000 rw-p 00000000 00:00 0',
      '10002000-10003000 rw-p 00000000 00:00 0',
    ]);
    // brk likewise: the child's heap, which has pages, does not grow in place.
    const heap = k.layout.heapBase;
    const parent2 = k.createProcess();
    expect(k.brk(parent2, heap + 2n * P)).toBe(heap + 2n * P);
    write(k, parent2, heap);
    const f2 = k.fork(parent2);
    if (!f2.ok) throw new Error(f2.errno);
    for (const q of [parent2, f2.process]) expect(k.brk(q, heap + 3n * P)).toBe(heap + 3n * P);
    const heapLines = (q: Process) =>
      k
        .procMaps(q)
        .split('\n')
        .filter((l) => l.endsWith('[heap]'));
    expect(heapLines(parent2)).toHaveLength(1);
    expect(heapLines(f2.process)).toHaveLength(2);
    clean(k);
  });
});

describe.each(CONFIGS)('anon_vma and fork ($name)', (c) => {
  it('fork does not copy a private VMA that only ever mapped the zero page; the child faults it again', () => {
    const { k, p } = boot(c);
    const z = mapAt(k, p, 0, 4);
    const w = mapAt(k, p, 8, 2);
    for (let i = 0n; i < 4n; i++) expect(k.load(p, z + i * P, 8)).toEqual({ ok: true, value: 0n });
    write(k, p, w);
    write(k, p, w + P);
    const zeroLeaf = (q: Process, va: bigint) => {
      const ref = k.lookup(q, va);
      return ref?.entry.kind === 'leaf' && ref.entry.pa === k.zeroPage;
    };
    expect(zeroLeaf(p, z)).toBe(true);
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    const child = f.process;
    // No PTE of the zero-page-only VMA in the child; the written VMA is shared copy-on-write.
    for (let i = 0n; i < 4n; i++) expect(k.lookup(child, z + i * P)?.entry.kind).not.toBe('leaf');
    const resident = (q: Process) =>
      k
        .vmas(q)
        .filter((v) => v.start >= H && v.start < H + 64n * P)
        .map((v) => v.residentPages);
    // Kernel.vmas counts as smaps Rss does: the zero page is mapped (mincore: resident) but not counted.
    expect(resident(p)).toEqual([0, 2]);
    expect(k.mincore(p, z, 4n * P)).toEqual({ ok: true, value: new Uint8Array([1, 1, 1, 1]) });
    expect(resident(child)).toEqual([0, 2]);
    expect(k.mincore(child, z, 4n * P)).toEqual({ ok: true, value: new Uint8Array(4) });
    const smapsRss = (q: Process) =>
      k
        .procSmaps(q)
        .split('\n')
        .filter((l) => l.startsWith('Rss:'))
        .map((l) => l.replace(/\s+/g, ' '));
    // Linux smaps: the zero page is no normal page (vm_normal_page), so never in Rss.
    expect(smapsRss(child).slice(0, 2)).toEqual(['Rss: 0 kB', 'Rss: 8 kB']);
    expect(smapsRss(p).slice(0, 2)).toEqual(['Rss: 0 kB', 'Rss: 8 kB']);
    // The child's read faults the zero page in again (do_anonymous_page's zero-page path).
    expect(k.load(child, z + P, 8)).toEqual({ ok: true, value: 0n });
    expect(zeroLeaf(child, z + P)).toBe(true);
    expect(k.load(child, w + P, 8)).toEqual({ ok: true, value: 0x5a5an });
    clean(k);
  });
});

describe.each(CONFIGS)('anon_vma and exec ($name)', (c) => {
  it('exec starts a fresh mm: the loaded VMAs have anon_vmas (fork copies them), nothing else has', () => {
    const { k, p } = boot(c);
    write(k, p, mapAt(k, p, 0, 2));
    const text = new Uint8Array([0xc0, 0x03, 0x5f, 0xd6, 1, 2, 3, 4]);
    expect(k.exec(p, { text, data: new Uint8Array([9, 8, 7]) })).toEqual({ ok: true, value: 0 });
    const ids = (q: Process) => {
      const out: [string, boolean][] = [];
      q.vmas.forEach((v) => {
        out.push([v.value.name, v.value.anonVmaId !== 0]);
      });
      return out;
    };
    // Only the loader's VMAs (the old mapping at H is gone; the simple layout's data is there now).
    expect(ids(p)).toEqual([
      ['text', true],
      ['data', true],
      ['[stack]', true],
    ]);
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    // The loader's pages exist nowhere else (no page cache): fork must have copied them.
    expect(k.load(f.process, k.layout.textBase + 4n, 4)).toEqual({ ok: true, value: 0x04030201 });
    expect(k.load(f.process, k.layout.dataBase, 1)).toEqual({ ok: true, value: 9 });
    clean(k);
  });
});

describe.each(CONFIGS)('audit() checks anon_vma presence, invariant 11 ($name)', (c) => {
  it('reports a swap PTE in a VMA without an anon_vma', () => {
    const { k, p, base } = swapTestEnv(c, 4, 16, {}, false);
    expect(k.reclaim(100)).toBeGreaterThan(0);
    clean(k);
    const v = Number(base / P);
    p.vmas.update(v, v + 4, (x) => vmaWith(x, { anonVmaId: 0 }));
    expect(audit(k).problems.join('\n')).toMatch(
      /swap PTE at 0x[0-9A-Fa-f]+ \(\d+:\d+\) lies in a VMA without an anon_vma/,
    );
  });

  it('reports a private VMA mapping a page without an anon_vma', () => {
    const { k, p } = boot(c);
    const a = mapAt(k, p, 0, 2);
    write(k, p, a);
    clean(k);
    p.vmas.update(Number(a / P), Number(a / P) + 2, (v) => vmaWith(v, { anonVmaId: 0 }));
    expect(audit(k).problems.join('\n')).toMatch(
      /maps frame 0x[0-9A-Fa-f]+ in a private VMA without an anon_vma/,
    );
  });

  it('reports a forked mark without an anon_vma, one on a shared VMA and one shared by two processes', () => {
    const { k, p } = boot(c);
    const a = mapAt(k, p, 0, 1);
    const s = k.mmap(p, H + 4n * P, P, RW, MAP.SHARED | MAP.ANONYMOUS);
    if (!s.ok) throw new Error(s.detail);
    write(k, p, a);
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    clean(k);
    const id = p.vmas.find(Number(a / P))!.value.anonVmaId;
    f.process.vmas.update(Number(a / P), Number(a / P) + 1, (v) => vmaWith(v, { anonVmaId: id }));
    const n = Number(s.value / P);
    p.vmas.update(n, n + 1, (v) => vmaWith(v, { anonVmaForked: true }));
    const problems = audit(k).problems.join('\n');
    expect(problems).toMatch(/shares anon_vma \d+ with pid/);
    expect(problems).toMatch(/is marked forked but has no anon_vma/);
    p.vmas.update(n, n + 1, (v) => vmaWith(v, { anonVmaForked: false, anonVmaId: 999_999 }));
    expect(audit(k).problems.join('\n')).toMatch(/has an anon_vma but is not private anonymous memory/);
  });
});

describe('the reference model follows the anon_vma rules (vm-reference.ts)', () => {
  const options = SMALL_MODEL_OPTIONS;
  const page = (n: number) => BigInt(n) * P;
  const spans = (m: AddressSpaceModel) => m.vmaList().map((v) => [Number(v.start / P), Number(v.end / P)]);
  const store = (m: AddressSpaceModel, n: number) =>
    expect(m.access(1, page(n), 8, 1n)).toMatchObject({ ok: true });

  it('gap fill, mprotect, reuse of a neighbour’s anon_vma, a read that maps the zero page', () => {
    const m = new AddressSpaceModel(options);
    m.mmap(page(0x100), page(2), RW, PRIV);
    store(m, 0x100);
    m.mmap(page(0x103), page(2), RW, PRIV);
    store(m, 0x103);
    m.mmap(page(0x102), page(1), PROT.READ, PRIV);
    expect(m.mprotect(page(0x102), page(1), RW)).toEqual({ ok: true, value: 0 });
    expect(spans(m)).toEqual([
      [0x100, 0x103],
      [0x103, 0x105],
    ]);
    const r = new AddressSpaceModel(options);
    r.mmap(page(0x100), page(2), RW, PRIV);
    store(r, 0x100);
    r.mmap(page(0x102), page(2), PROT.READ | PROT.WRITE | PROT.EXEC, PRIV);
    store(r, 0x102); // reuses the left VMA's
    r.mmap(page(0x105), page(2), RW, PRIV);
    expect(r.access(0, page(0x105), 8)).toEqual({ ok: true, value: 0n }); // the zero page: none
    r.mprotect(page(0x102), page(2), RW);
    r.mmap(page(0x104), page(1), RW, PRIV);
    expect(spans(r)).toEqual([[0x100, 0x107]]);
  });

  it('fork: a labelled VMA of the child takes no new neighbour, its brk grows apart', () => {
    const m = new AddressSpaceModel(options);
    m.mmap(page(0x200), page(2), RW, PRIV);
    store(m, 0x200);
    expect(m.brkTo(0x10_2000n)).toBe(0x10_2000n);
    store(m, 0x100); // the heap's first page (heapBase 0x100000)
    const c = m.fork();
    for (const x of [m, c]) {
      x.mmap(page(0x202), page(1), RW, PRIV);
      expect(x.brkTo(0x10_3000n)).toBe(0x10_3000n);
    }
    expect(spans(m)).toEqual([
      [0x100, 0x103],
      [0x200, 0x203],
    ]);
    expect(spans(c)).toEqual([
      [0x100, 0x102],
      [0x102, 0x103],
      [0x200, 0x202],
      [0x202, 0x203],
    ]);
  });
});
