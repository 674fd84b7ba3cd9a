/**
 * mprotect keeps each page's hardware state as Linux's `change_pte_range` → `pte_modify` does,
 * byte for byte, on all five configurations (strict TLB mode, audit() after each step):
 *
 * - x86 (every mode): A and D are in `_PAGE_CHG_MASK`: only R/W changes, D stays on a read-only
 *   PTE, and rw- again gives back the very bytes the page had;
 * - arm64: AF is kept; a hardware-dirty page (DBM = PTE_WRITE set, AP[2] = PTE_RDONLY clear)
 *   made read-only gets PTE_RDONLY, loses PTE_WRITE and gets the software PTE_DIRTY (bit 55);
 *   made writable again it has PTE_WRITE and, being PTE_DIRTY, no PTE_RDONLY (`pte_mkdirty`),
 *   keeping bit 55. A clean page only loses / regains PTE_WRITE.
 *
 * And what reads dirtiness sees it through the read-only PTE (Linux `pte_dirty`): smaps'
 * Private_Dirty, and reclaim of a MADV_FREE page (a written one is kept, a clean one dropped).
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createVirtBoard } from '@mmkit/boards';
import { isLeafDirty } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { isLazyFreeFrame } from './frame-marks.js';
import { bootKernel, type Kernel } from './kernel.js';
import { MADV } from './madvise.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leafRaw, type TestConfig } from './test-fixtures.js';

const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * 2 ** 20);
const RW = PROT.READ | PROT.WRITE;

// x86 (arch-facts B3, B7): R/W bit 1, A bit 5, D bit 6.
const X86_RW = 1n << 1n;
const X86_A = 1n << 5n;
const X86_D = 1n << 6n;
// AArch64 (arch-facts A5, A10): AP[2] bit 7 (PTE_RDONLY), AF bit 10, DBM bit 51 (PTE_WRITE),
// software bit 55 (Linux PTE_DIRTY).
const A64_AP2 = 1n << 7n;
const A64_AF = 1n << 10n;
const A64_DBM = 1n << 51n;
const A64_SW_DIRTY = 1n << 55n;

const raw = leafRaw;
const leafOf = (k: Kernel, p: Process, va: bigint) => {
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
  return ref.entry;
};
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const ok = (r: { ok: boolean; detail?: string }) => expect(r).toMatchObject({ ok: true });

/** Linux's PTE after mprotect(PROT_READ) of a private rw- page whose PTE was `b`. */
function linuxReadOnly(arm: boolean, b: bigint): bigint {
  if (!arm) return b & ~X86_RW;
  // pte_modify: pte_hw_dirty (PTE_WRITE && !PTE_RDONLY) → PTE_DIRTY; newprot PAGE_READONLY.
  const hwDirty = (b & A64_DBM) !== 0n && (b & A64_AP2) === 0n;
  return (b | A64_AP2 | (hwDirty ? A64_SW_DIRTY : 0n)) & ~A64_DBM;
}

/** Linux's PTE after mprotect(PROT_READ | PROT_WRITE) of that read-only PTE `r`. */
function linuxWritable(arm: boolean, r: bigint): bigint {
  if (!arm) return r | X86_RW;
  // can_change_pte_writable → pte_mkwrite_novma: PTE_WRITE, and PTE_DIRTY clears PTE_RDONLY.
  const w = r | A64_DBM;
  return (r & A64_SW_DIRTY) !== 0n ? w & ~A64_AP2 : w;
}

function setup(c: TestConfig): { k: Kernel; p: Process; base: bigint; arm: boolean } {
  // Writable private pages that are clean: a fault makes every page it maps writable dirty at
  // once (Linux do_anonymous_page: pte_mkwrite(pte_mkdirty)), so they are made the way Linux
  // makes them on a kernel that forbids the zero page (mm_forbids_zeropage): a read-only mapping
  // populated by read faults (own frames, young, clean), then mprotect rw- (can_change_pte_writable:
  // anon-exclusive pages become writable in place, still clean).
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, zeroPage: false });
  const p = k.createProcess();
  const r = k.mmap(p, 0, 4 * 4096, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS | MAP.POPULATE);
  if (!r.ok) throw new Error(r.detail);
  ok(k.mprotect(p, r.value, 4 * 4096, RW));
  return { k, p, base: r.value, arm: k.arch.description.id === 'aarch64' };
}

describe.each(CONFIGS)('mprotect keeps the hardware state (Linux pte_modify): $name', (c) => {
  it('dirty, clean and old pages: exact bytes after r-- and after rw- again', () => {
    const { k, p, base, arm } = setup(c);
    const at = (i: number) => base + BigInt(i) * PAGE;
    ok(k.store(p, at(0) + 8n, 8, 0x1234n)); // page 0: the hardware sets dirty
    ok(k.madvise(p, at(2), 4096, MADV.COLD)); // page 2: accessed cleared (pte_mkold)
    const before = [0, 1, 2].map((i) => raw(k, p, at(i)));
    // The starting states, so that each expectation below is about something.
    const d = k.arch.description;
    expect([0, 1, 2].map((i) => isLeafDirty(d, leafOf(k, p, at(i)).attrs))).toEqual([true, false, false]);
    expect([0, 1, 2].map((i) => leafOf(k, p, at(i)).attrs.accessed)).toEqual([true, true, false]);
    if (arm) {
      expect(before.map((b) => [(b & A64_DBM) !== 0n, (b & A64_AP2) !== 0n, (b & A64_AF) !== 0n])).toEqual([
        [true, false, true],
        [true, true, true],
        [true, true, false],
      ]);
    } else {
      expect(before.map((b) => [(b & X86_RW) !== 0n, (b & X86_D) !== 0n, (b & X86_A) !== 0n])).toEqual([
        [true, true, true],
        [true, false, true],
        [true, false, false],
      ]);
    }

    ok(k.mprotect(p, base, 3 * 4096, PROT.READ));
    const ro = [0, 1, 2].map((i) => raw(k, p, at(i)));
    expect(ro.map((r) => r.toString(16))).toEqual(before.map((b) => linuxReadOnly(arm, b).toString(16)));
    // The read-only dirty page is still dirty to everything that asks (Linux pte_dirty).
    expect(isLeafDirty(d, leafOf(k, p, at(0)).attrs)).toBe(true);
    expect(leafOf(k, p, at(0)).attrs.user.write).toBe(false);
    clean(k);

    ok(k.mprotect(p, base, 3 * 4096, RW));
    const rw = [0, 1, 2].map((i) => raw(k, p, at(i)));
    expect(rw.map((r) => r.toString(16))).toEqual(ro.map((r) => linuxWritable(arm, r).toString(16)));
    // x86: exactly the bytes before; arm64: those plus PTE_DIRTY on the dirty page.
    expect(rw.map((r) => r.toString(16))).toEqual(
      before.map((b, i) => (arm && i === 0 ? b | A64_SW_DIRTY : b).toString(16)),
    );
    clean(k);
    // The data is intact and the page writable without a fault on the way.
    const faults = k.faultStats(p).faults;
    ok(k.store(p, at(0) + 16n, 8, 0x5678n));
    expect(k.faultStats(p).faults).toBe(faults);
    expect(k.load(p, at(0) + 8n, 8)).toMatchObject({ ok: true, value: 0x1234n });
    clean(k);
  });

  it('a huge leaf keeps its state too (the same pte_modify at the PMD: pmd_modify)', () => {
    const k = bootKernel({ arch: c.arch(), machine: c.machine(), strictTlb: true });
    const arm = k.arch.description.id === 'aarch64';
    const p = k.createProcess();
    const bytes = k.arch.geometry.entryPages[2]! * 4096;
    const r = k.mmap(p, 0, bytes, RW, MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB);
    if (!r.ok) throw new Error(r.detail);
    ok(k.store(p, r.value + 8n, 8, 0x77n));
    expect(k.lookup(p, r.value)!.level).toBe(2);
    const before = raw(k, p, r.value);
    ok(k.mprotect(p, r.value, bytes, PROT.READ));
    expect(k.lookup(p, r.value)!.level).toBe(2);
    expect(raw(k, p, r.value).toString(16)).toBe(linuxReadOnly(arm, before).toString(16));
    ok(k.mprotect(p, r.value, bytes, RW));
    expect(raw(k, p, r.value).toString(16)).toBe((arm ? before | A64_SW_DIRTY : before).toString(16));
    expect(k.load(p, r.value + 8n, 8)).toMatchObject({ ok: true, value: 0x77n });
    clean(k);
  });

  it('smaps counts a dirty page made read-only as Private_Dirty (Linux smaps_pte_entry: pte_dirty)', () => {
    const { k, p, base } = setup(c);
    ok(k.store(p, base, 8, 1n));
    ok(k.mprotect(p, base, 4 * 4096, PROT.READ));
    const smaps = k.procSmaps(p);
    expect(smaps).toMatch(/Private_Dirty:\s+4 kB/);
    expect(smaps).toMatch(/Private_Clean:\s+12 kB/);
    clean(k);
  });

  it('MADV_FREE then mprotect r--: reclaim drops a clean page and keeps a written one', () => {
    const { k, p, base } = setup(c);
    const at = (i: number) => base + BigInt(i) * PAGE;
    for (let i = 0; i < 2; i++) ok(k.store(p, at(i) + 8n, 8, 0x100n + BigInt(i)));
    ok(k.madvise(p, base, 2 * 4096, MADV.FREE));
    ok(k.store(p, at(1) + 8n, 8, 0x999n)); // written after MADV_FREE: live again
    ok(k.mprotect(p, base, 2 * 4096, PROT.READ));
    // The lazy-free mark is the frame's, so mprotect keeps it (Linux keeps the folio lazyfree),
    // and page 1's dirtiness survives too (pte_modify).
    for (let i = 0; i < 2; i++) expect(isLazyFreeFrame(k, leafOf(k, p, at(i)).pa)).toBe(true);
    expect(k.discardLazyFree(leafOf(k, p, at(0)).pa)).toBe(true);
    expect(k.discardLazyFree(leafOf(k, p, at(1)).pa)).toBe(false);
    expect(k.load(p, at(0) + 8n, 8)).toMatchObject({ ok: true, value: 0n });
    expect(k.load(p, at(1) + 8n, 8)).toMatchObject({ ok: true, value: 0x999n });
    clean(k);
  });

  it('MADV_FREE after r-- and rw- again cleans the PTE fully (pte_mkclean clears arm64 PTE_DIRTY too)', () => {
    const { k, p, base, arm } = setup(c);
    ok(k.store(p, base, 8, 0x42n));
    ok(k.mprotect(p, base, 4096, PROT.READ));
    ok(k.mprotect(p, base, 4096, RW));
    expect((raw(k, p, base) & A64_SW_DIRTY) !== 0n).toBe(arm);
    ok(k.madvise(p, base, 4096, MADV.FREE));
    expect(raw(k, p, base) & A64_SW_DIRTY).toBe(0n);
    expect(isLeafDirty(k.arch.description, leafOf(k, p, base).attrs)).toBe(false);
    expect(k.discardLazyFree(leafOf(k, p, base).pa)).toBe(true);
    expect(k.load(p, base, 8)).toMatchObject({ ok: true, value: 0n });
    clean(k);
  });
});

describe('mprotect on AArch64 without hardware dirty state (TCR_EL1.HD = 0)', () => {
  for (const ha of [true, false]) {
    it(`HA = ${ha ? 1 : 0}: a written page made r-- keeps PTE_DIRTY and AF; rw- again is writable-dirty`, () => {
      const k = bootKernel({
        arch: createAarch64Arch({ hardwareAccessFlag: ha, hardwareDirty: false }),
        machine: createVirtBoard({ ramBytes: 32 * 2 ** 20, pool: 'all-ram' }),
        strictTlb: true,
      });
      const p = k.createProcess();
      const r = k.mmap(p, 0, 2 * 4096, RW, MAP.PRIVATE | MAP.ANONYMOUS);
      if (!r.ok) throw new Error(r.detail);
      ok(k.store(p, r.value, 8, 0xabn));
      // Software dirty tracking: a writable leaf is dirty (AP[2] = 0); DBM, which the hardware
      // ignores, is Linux's PTE_WRITE, set on every writable leaf (pte_mkwrite).
      const b = raw(k, p, r.value);
      expect([(b & A64_AP2) === 0n, (b & A64_DBM) !== 0n, (b & A64_AF) !== 0n]).toEqual([true, true, true]);
      ok(k.mprotect(p, r.value, 4096, PROT.READ));
      // pte_wrprotect: PTE_RDONLY set, PTE_WRITE cleared, PTE_DIRTY kept.
      expect(raw(k, p, r.value).toString(16)).toBe(((b | A64_AP2 | A64_SW_DIRTY) & ~A64_DBM).toString(16));
      ok(k.mprotect(p, r.value, 4096, RW));
      expect(raw(k, p, r.value).toString(16)).toBe((b | A64_SW_DIRTY).toString(16));
      expect(k.load(p, r.value, 8)).toMatchObject({ ok: true, value: 0xabn });
      clean(k);
    });
  }
});
