/**
 * The accessed / dirty / software bits of every leaf a fault (or swapoff, or fork) installs are
 * Linux 6.x's, byte for byte, on all five configurations (strict TLB mode, audit() after each
 * case):
 *
 * - a page a fault allocates in a writable private VMA is young and dirty at once
 *   (`do_anonymous_page`: `pte_mkwrite(pte_mkdirty(entry))`, whatever the access; MAP_POPULATE
 *   faults with FOLL_WRITE); x86 D = 1, arm64 PTE_DIRTY (bit 55) with PTE_RDONLY clear — and the
 *   CPU's write on the retry changes nothing;
 * - the zero page is young, clean and read-only (`pfn_pte(zero_pfn, vm_page_prot)`);
 * - a MAP_SHARED page is clean after a read fault, dirty after a write fault (`finish_fault`);
 * - copy-on-write: `wp_page_copy` and `wp_page_reuse` (`maybe_mkwrite(pte_mkdirty(…))`);
 * - `do_swap_page`: exclusive → writable, dirty only on a write fault; shared → read-only;
 * - swapoff (`unuse_pte`): read-only and old;
 * - a lazily upgraded leaf keeps its state (`wp_page_reuse`: young + dirty);
 * - hugetlb (`hugetlb_no_page` / `hugetlb_wp`);
 * - fork copies no PTE of a MAP_SHARED anonymous mapping (`vma_needs_copy`), but a device one.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createVirtBoard } from '@mmkit/boards';
import { isLeafDirty, type LeafAttributes, type MmEvent } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { isLazyFreeFrame } from './frame-marks.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import { MADV } from './madvise.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leafRaw, swapTestEnv, type TestConfig } from './test-fixtures.js';

const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * 2 ** 20);
const RW = PROT.READ | PROT.WRITE;
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;

const raw = leafRaw;
const attrsAt = (k: Kernel, p: Process, va: bigint): LeafAttributes => {
  const e = k.lookup(p, va)?.entry;
  if (e?.kind !== 'leaf') throw new Error('not mapped');
  return e.attrs;
};
const bit = (d: bigint, n: number) => Number((d >> BigInt(n)) & 1n);

/**
 * The state bits of a leaf. x86 (arch-facts B3, B7): R/W bit 1, A bit 5, D bit 6. AArch64
 * (arch-facts A5, A10): AP[2] bit 7 (Linux PTE_RDONLY), AF bit 10, DBM bit 51 (PTE_WRITE),
 * software bit 55 (PTE_DIRTY).
 */
function state(k: Kernel, d: bigint): Record<string, number> {
  if (k.arch.description.id === 'aarch64')
    return { RDONLY: bit(d, 7), AF: bit(d, 10), WRITE: bit(d, 51), DIRTY: bit(d, 55) };
  return { RW: bit(d, 1), A: bit(d, 5), D: bit(d, 6) };
}
const arm = (k: Kernel) => k.arch.description.id === 'aarch64';
/** Linux's writable, young, dirty leaf (pte_mkwrite(pte_mkdirty(mk_pte(…)))). */
const DIRTY_RW = (k: Kernel) => (arm(k) ? { RDONLY: 0, AF: 1, WRITE: 1, DIRTY: 1 } : { RW: 1, A: 1, D: 1 });
/** A writable, young, clean leaf (mk_pte with a writable vm_page_prot, or pte_mkwrite alone). */
const CLEAN_RW = (k: Kernel) => (arm(k) ? { RDONLY: 1, AF: 1, WRITE: 1, DIRTY: 0 } : { RW: 1, A: 1, D: 0 });
/** A read-only, young, clean leaf (mk_pte with the private vm_page_prot, PAGE_COPY / PAGE_READONLY). */
const CLEAN_RO = (k: Kernel) => (arm(k) ? { RDONLY: 1, AF: 1, WRITE: 0, DIRTY: 0 } : { RW: 0, A: 1, D: 0 });

/** The non-address bits of a descriptor (bits [12, paBits) hold the frame). */
const attrBits = (k: Kernel, d: bigint) =>
  (d & ~(((1n << BigInt(k.arch.description.paBits)) - 1n) & ~0xfffn)).toString(16);

const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const ok = (r: { ok: boolean }) => expect(r).toMatchObject({ ok: true });

function boot(c: TestConfig, opts: Partial<KernelOptions> = {}): { k: Kernel; p: Process } {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, ...opts });
  return { k, p: k.createProcess() };
}
function map(k: Kernel, p: Process, pages: number, prot: number, flags: number): bigint {
  const r = k.mmap(p, 0, pages * 4096, prot, flags);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

describe.each(CONFIGS)('leaf bits Linux installs: $name', (c) => {
  it('do_anonymous_page: a write fault maps the page young and dirty; the retried write changes nothing', () => {
    const { k, p } = boot(c);
    const va = map(k, p, 2, RW, PRIV);
    const f0 = k.faultStats(p).faults;
    ok(k.store(p, va, 8, 1n));
    expect(k.faultStats(p).faults).toBe(f0 + 1);
    const d = raw(k, p, va);
    expect(state(k, d)).toEqual(DIRTY_RW(k));
    expect(isLeafDirty(k.arch.description, attrsAt(k, p, va))).toBe(true);
    // MAP_POPULATE faults with FOLL_WRITE: the same bytes without any access, and a write then
    // takes no fault and changes no bit (x86 sets D only when clear; arm64's DBM update only
    // when AP[2] is set).
    const pop = map(k, p, 2, RW, PRIV | MAP.POPULATE);
    const before = raw(k, p, pop);
    expect(attrBits(k, before)).toBe(attrBits(k, d));
    const f1 = k.faultStats(p).faults;
    ok(k.store(p, pop + 8n, 8, 2n));
    expect(k.faultStats(p).faults).toBe(f1);
    expect(raw(k, p, pop).toString(16)).toBe(before.toString(16));
    clean(k);
  });

  it('do_anonymous_page without the zero page: a read fault in a VM_WRITE VMA is dirty too; read-only VMAs stay clean', () => {
    const { k, p } = boot(c, { zeroPage: false });
    const va = map(k, p, 1, RW, PRIV);
    ok(k.load(p, va, 8));
    expect(state(k, raw(k, p, va))).toEqual(DIRTY_RW(k));
    const ro = map(k, p, 1, PROT.READ, PRIV);
    ok(k.load(p, ro, 8));
    expect(state(k, raw(k, p, ro))).toEqual(CLEAN_RO(k));
    clean(k);
  });

  it('the zero page is young, clean and read-only; its write fault installs a dirty page (zero-fill)', () => {
    const { k, p } = boot(c);
    const va = map(k, p, 1, RW, PRIV);
    ok(k.load(p, va, 8));
    expect(k.lookup(p, va)!.entry).toMatchObject({ pa: k.zeroPage });
    expect(state(k, raw(k, p, va))).toEqual(CLEAN_RO(k));
    ok(k.store(p, va, 8, 3n));
    expect(state(k, raw(k, p, va))).toEqual(DIRTY_RW(k));
    clean(k);
  });

  it('finish_fault: a MAP_SHARED page is clean after a read fault and dirty after a write fault', () => {
    const { k, p } = boot(c);
    const va = map(k, p, 2, RW, MAP.SHARED | MAP.ANONYMOUS);
    ok(k.load(p, va, 8));
    expect(state(k, raw(k, p, va))).toEqual(CLEAN_RW(k));
    ok(k.store(p, va + PAGE, 8, 1n));
    const d = raw(k, p, va + PAGE);
    expect(state(k, d)).toEqual(DIRTY_RW(k));
    // A write to the clean one: the hardware sets its dirty state only (no PTE_DIRTY on arm64).
    ok(k.store(p, va, 8, 1n));
    expect(state(k, raw(k, p, va))).toEqual(arm(k) ? { ...DIRTY_RW(k), DIRTY: 0 } : DIRTY_RW(k));
    clean(k);
  });

  for (const listen of [false, true])
    it(`wp_page_copy and wp_page_reuse install young dirty leaves (${listen ? 'per-leaf path' : 'fast path'})`, () => {
      const { k, p } = boot(c);
      const events: MmEvent[] = [];
      if (listen) k.events.on((e) => events.push(e));
      const va = map(k, p, 2, RW, PRIV);
      ok(k.store(p, va, 8, 1n));
      const fresh = attrBits(k, raw(k, p, va));
      ok(k.load(p, va + PAGE, 8)); // the zero page, shared by fork too
      const f = k.fork(p);
      if (!f.ok) throw new Error(f.errno);
      const child = f.process;
      ok(k.store(child, va, 8, 2n)); // copy
      ok(k.store(child, va + PAGE, 8, 3n)); // zero-fill
      ok(k.store(p, va, 8, 4n)); // reuse: the child copied, the parent holds the only reference
      for (const [q, at] of [
        [child, va],
        [child, va + PAGE],
        [p, va],
      ] as const) {
        expect(attrBits(k, raw(k, q, at))).toBe(fresh);
        // (On x86 the CPU's write would set D anyway; arm64 shows PTE_DIRTY only if installed.)
        expect(state(k, raw(k, q, at))).toEqual(DIRTY_RW(k));
      }
      if (listen)
        expect(events.flatMap((e) => (e.type === 'cow' ? [e.action] : []))).toEqual([
          'zero-page',
          'copy',
          'zero-fill',
          'reuse',
        ]);
      expect(k.load(p, va, 8)).toMatchObject({ value: 4n });
      expect(k.load(child, va, 8)).toMatchObject({ value: 2n });
      clean(k);
    });

  it('do_swap_page: exclusive → writable, dirty only for a write fault; swapoff (unuse_pte) maps read-only and old', () => {
    const { k, p, base } = swapTestEnv(c, 4, 64, {}, false);
    ok(k.madvise(p, base, 4 * 4096, MADV.PAGEOUT));
    expect(p.space.swapEntries).toBe(4);
    ok(k.load(p, base, 8)); // read fault, SWP_EXCLUSIVE entry
    expect(state(k, raw(k, p, base))).toEqual(CLEAN_RW(k));
    ok(k.store(p, base + PAGE, 8, 9n)); // write fault
    expect(state(k, raw(k, p, base + PAGE))).toEqual(DIRTY_RW(k));
    // swapoff brings pages 2 and 3 back: pte_mkold(mk_pte(page, vm_page_prot)), read-only.
    ok(k.swapoff(0));
    const old = arm(k) ? { ...CLEAN_RO(k), AF: 0 } : { ...CLEAN_RO(k), A: 0 };
    for (const i of [2n, 3n]) expect(state(k, raw(k, p, base + i * PAGE))).toEqual(old);
    expect(k.load(p, base + 2n * PAGE + 16n, 8)).toMatchObject({ value: 0x7002n });
    // The access made it young; the first write reuses the exclusive page: young and dirty.
    expect(state(k, raw(k, p, base + 2n * PAGE))).toEqual(CLEAN_RO(k));
    ok(k.store(p, base + 3n * PAGE, 8, 1n));
    expect(state(k, raw(k, p, base + 3n * PAGE))).toEqual(DIRTY_RW(k));
    clean(k);
  });

  it('do_swap_page: a page shared after fork comes back read-only, young and clean', () => {
    const { k, p, base } = swapTestEnv(c, 2, 64, {}, false);
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    expect(k.reclaim(2)).toBe(2);
    expect(p.space.swapEntries).toBe(2);
    ok(k.load(p, base, 8));
    expect(state(k, raw(k, p, base))).toEqual(CLEAN_RO(k));
    ok(k.store(p, base + PAGE, 8, 5n)); // a write fault on a shared entry: read-only, then do_wp_page
    expect(state(k, raw(k, p, base + PAGE))).toEqual(DIRTY_RW(k));
    clean(k);
  });

  it('a lazily upgraded leaf keeps its state and is made young and dirty by a write (wp_page_reuse)', () => {
    const { k, p } = boot(c);
    // A MAP_SHARED mapping with a page the seed API mapped read-only, old and with a software
    // bit (value 4: neither arm64 PTE_DIRTY nor the special bit): the write is a permission fault the VMA
    // allows in a non-copy-on-write VMA.
    const va = map(k, p, 1, RW, MAP.SHARED | MAP.ANONYMOUS);
    const ro = k.readOnlyAttrsFor(p.space.vmas.find(Number(va / PAGE))!.value);
    const attrs: LeafAttributes = { ...ro, accessed: false, software: 4 };
    expect(k.allocateUserPage(p, va, attrs)).not.toBe(0n);
    const before = k.lookup(p, va)!.entry as { attrs: LeafAttributes };
    expect([before.attrs.user.write, before.attrs.accessed, before.attrs.software]).toEqual([
      false,
      false,
      4,
    ]);
    ok(k.store(p, va, 8, 6n));
    const after = attrsAt(k, p, va);
    expect(after.software & 4).toBe(4);
    expect(state(k, raw(k, p, va))).toEqual(DIRTY_RW(k));
    expect(k.load(p, va, 8)).toMatchObject({ value: 6n });
    k.exit(p);
    clean(k);
  });

  it('MADV_FREE, then a write, then reclaim: the page is kept with the written data', () => {
    const { k, p } = boot(c);
    const va = map(k, p, 2, RW, PRIV);
    ok(k.store(p, va, 8, 1n));
    ok(k.store(p, va + PAGE, 8, 1n));
    ok(k.madvise(p, va, 2 * 4096, MADV.FREE));
    ok(k.store(p, va + PAGE + 8n, 8, 0x5a5an));
    const pa = (i: bigint) => (k.lookup(p, va + i * PAGE)!.entry as { pa: number }).pa;
    expect(k.discardLazyFree(pa(1n))).toBe(false); // written: dirty, kept
    expect(isLeafDirty(k.arch.description, attrsAt(k, p, va + PAGE))).toBe(true);
    expect(k.discardLazyFree(pa(0n))).toBe(true); // clean: dropped
    expect(k.load(p, va + PAGE + 8n, 8)).toMatchObject({ value: 0x5a5an });
    expect(k.load(p, va, 8)).toMatchObject({ value: 0n });
    clean(k);
  });

  it('hugetlb: a write fault maps the huge page dirty; a read fault read-only and clean, then reused dirty', () => {
    const { k, p } = boot(c);
    const n = k.arch.geometry.entryPages[2]!;
    const va = map(k, p, 2 * n, RW, PRIV | MAP.HUGETLB);
    const aligned = va % (BigInt(n) * PAGE) === 0n ? va : undefined;
    if (aligned === undefined) throw new Error('mmap of a huge multiple is expected aligned');
    ok(k.store(p, va, 8, 1n));
    expect(k.lookup(p, va)!.level).toBe(2);
    expect(state(k, raw(k, p, va))).toEqual(DIRTY_RW(k));
    const second = va + BigInt(n) * PAGE;
    ok(k.load(p, second, 8));
    expect(k.lookup(p, second)!.level).toBe(2);
    expect(state(k, raw(k, p, second))).toEqual(CLEAN_RO(k));
    ok(k.store(p, second + 8n, 8, 2n));
    expect(k.lookup(p, second)!.level).toBe(2);
    expect(state(k, raw(k, p, second))).toEqual(DIRTY_RW(k));
    clean(k);
  });

  it('fork copies no PTE of a MAP_SHARED anonymous mapping (vma_needs_copy); the child faults the pages in', () => {
    const { k, p } = boot(c);
    const sh = map(k, p, 2, RW, MAP.SHARED | MAP.ANONYMOUS);
    ok(k.store(p, sh, 8, 0x11n));
    const priv = map(k, p, 1, RW, PRIV);
    ok(k.store(p, priv, 8, 0x22n));
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    const child = f.process;
    expect(k.lookup(child, sh)?.entry.kind).not.toBe('leaf');
    expect(k.lookup(child, priv)?.entry.kind).toBe('leaf'); // private: copy_present_pte
    expect(child.residentPages).toBe(1);
    const minor = child.minorFaults;
    expect(k.load(child, sh, 8)).toMatchObject({ value: 0x11n }); // the shared object's page
    expect(child.minorFaults).toBe(minor + 1);
    expect((k.lookup(child, sh)!.entry as { pa: number }).pa).toBe(
      (k.lookup(p, sh)!.entry as { pa: number }).pa,
    );
    ok(k.store(child, sh + PAGE, 8, 0x33n));
    expect(k.load(p, sh + PAGE, 8)).toMatchObject({ value: 0x33n });
    clean(k);
    k.exit(child);
    clean(k);
  });
});

describe('AArch64 without hardware dirty state (TCR_EL1.HD = 0)', () => {
  it('a write fault installs PTE_DIRTY with AP[2] clear; MADV_FREE + write dirties the PTE again', () => {
    const k = bootKernel({
      arch: createAarch64Arch({ hardwareDirty: false }),
      machine: createVirtBoard({ ramBytes: 32 * 2 ** 20, pool: 'all-ram' }),
      strictTlb: true,
    });
    const p = k.createProcess();
    const va = map(k, p, 1, RW, PRIV);
    ok(k.store(p, va, 8, 1n));
    const d = raw(k, p, va);
    // pte_mkwrite(pte_mkdirty()): PTE_RDONLY clear, AF, PTE_WRITE (DBM, ignored without HD), PTE_DIRTY.
    expect([bit(d, 7), bit(d, 10), bit(d, 51), bit(d, 55)]).toEqual([0, 1, 1, 1]);
    ok(k.madvise(p, va, 4096, MADV.FREE));
    // Software dirty tracking: clean means read-only (pte_mkclean sets PTE_RDONLY); no PTE bit
    // marks the advice (bits 55-58 all clear): the frame carries it.
    expect([bit(raw(k, p, va), 7), bit(raw(k, p, va), 10), Number((raw(k, p, va) >> 55n) & 0xfn)]).toEqual([
      1, 0, 0,
    ]);
    ok(k.store(p, va, 8, 0x77n)); // wp_page_reuse: young, dirty, writable
    const w = raw(k, p, va);
    expect([bit(w, 7), bit(w, 10), bit(w, 55), bit(w, 56)]).toEqual([0, 1, 1, 0]);
    const leaf = k.lookup(p, va)!.entry as { pa: number; attrs: LeafAttributes };
    expect(isLazyFreeFrame(k, leaf.pa)).toBe(true); // still marked: reclaim sees the dirty PTE
    expect(k.discardLazyFree(leaf.pa)).toBe(false);
    expect(isLazyFreeFrame(k, leaf.pa)).toBe(false); // folio_set_swapbacked
    expect(k.load(p, va, 8)).toMatchObject({ value: 0x77n });
    clean(k);
  });
});
