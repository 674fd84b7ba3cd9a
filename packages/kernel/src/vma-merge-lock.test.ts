/**
 * VMA merging and mlock: VM_LOCKED and VM_LOCKONFAULT are vm_flags, and Linux's
 * `is_mergeable_vma` compares vm_flags, so neighbours that differ only in their lock never merge —
 * neither when a new mapping is placed next to a locked one (mmap's `vma_merge_new_range`) nor when
 * mlock/munlock/mprotect change a piece (`vma_modify_flags`). On all five configurations, the
 * kernel's /proc/PID/maps lines are given exactly and its VMAs compared with the reference model's.
 */
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import { MLOCK } from './mlock.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs } from './test-fixtures.js';
import { AddressSpaceModel } from './vm-reference.js';

const PAGE = 4096n;
const RW = PROT.READ | PROT.WRITE;
const FIXED = MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED;

/** The maps lines of [base, base + 8 pages), as `first-last perms` in pages from base. */
function mapsFrom(k: Kernel, p: Process, base: bigint): string[] {
  return k
    .procMaps(p)
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s+/))
    .map(([range, perms]) => {
      const [s, e] = range!.split('-').map((h) => BigInt(`0x${h}`));
      return { s: s!, e: e!, perms: perms! };
    })
    .filter((l) => l.s >= base && l.e <= base + 8n * PAGE)
    .map((l) => `${(l.s - base) / PAGE}-${(l.e - base) / PAGE} ${l.perms}`);
}

describe.each(fiveConfigs(32 * 2 ** 20))('VMAs differing only in mlock do not merge: $name', (c) => {
  /** A strict kernel with one process, a base address for the test's mappings and the process's model. */
  function world() {
    const k = bootKernel({ arch: c.arch(), machine: c.machine(), strictTlb: true });
    const p = k.createProcess();
    const base = k.layout.heapBase + 0x1000_0000n;
    const model = AddressSpaceModel.adopt(k.vmas(p), {
      userEndVpn: Number(k.arch.description.userRange.end / PAGE),
      heapBase: k.layout.heapBase,
      brkLimit: k.layout.stackGuardLow,
      mmapMinVpn: 16,
      mmapTopVpn: undefined,
      hugePages: 512,
      brkGapPages: 1,
      traits: { execOnly: false, noExecute: k.arch.description.capabilities.noExecute },
    });
    return { k, p, base, model };
  }

  it('mmap next to a locked VMA, mlock2 ONFAULT next to mlock, munlock merging back; the model agrees', () => {
    const { k, p, base, model } = world();
    /** mlock (`lock`) or munlock of `pages` pages from page `at`, on the kernel and the model. */
    const both = (at: bigint, pages: bigint, lock: boolean) => {
      const a = base + at * PAGE;
      const n = Number(pages * PAGE);
      expect(lock ? k.mlock(p, a, n) : k.munlock(p, a, n)).toEqual({ ok: true, value: 0 });
      expect(model.mlock(a, pages * PAGE, lock)).toEqual({ ok: true, value: 0 });
    };
    const sameAsModel = () =>
      expect(k.vmas(p).map((v) => [v.start, v.end, v.prot])).toEqual(
        model.vmaList().map((v) => [v.start, v.end, v.prot]),
      );

    expect(k.mmap(p, base, 4 * 4096, RW, FIXED)).toMatchObject({ ok: true });
    model.mmap(base, 4n * PAGE, RW, FIXED);
    both(0n, 4n, true);
    // A new unlocked mapping right after the locked one: the same prot, but not merged (insert).
    expect(k.mmap(p, base + 4n * PAGE, 4 * 4096, RW, FIXED)).toMatchObject({ ok: true });
    model.mmap(base + 4n * PAGE, 4n * PAGE, RW, FIXED);
    expect(mapsFrom(k, p, base)).toEqual(['0-4 rw-p', '4-8 rw-p']);
    sameAsModel();
    // MLOCK_ONFAULT (VM_LOCKED | VM_LOCKONFAULT) next to VM_LOCKED: two VMAs still.
    expect(k.mlock2(p, base + 4n * PAGE, 4 * 4096, MLOCK.ONFAULT)).toMatchObject({ ok: true });
    expect(mapsFrom(k, p, base)).toEqual(['0-4 rw-p', '4-8 rw-p']);
    expect(k.vmas(p).filter((v) => v.start >= base && v.end <= base + 8n * PAGE)).toHaveLength(2);
    // Locked alike: one VMA (update merges).
    both(4n, 4n, true);
    expect(mapsFrom(k, p, base)).toEqual(['0-8 rw-p']);
    sameAsModel();
    // munlock of the middle splits in three; munlock of the rest merges everything back.
    both(2n, 4n, false);
    expect(mapsFrom(k, p, base)).toEqual(['0-2 rw-p', '2-6 rw-p', '6-8 rw-p']);
    expect(k.procSmaps(p).match(/VmFlags: .* lo/g)).toHaveLength(2);
    sameAsModel();
    both(0n, 8n, false);
    expect(mapsFrom(k, p, base)).toEqual(['0-8 rw-p']);
    sameAsModel();
    expect(audit(k).problems).toEqual([]);
  });

  it('munlock across a hole: the VMAs before it are unlocked and merged, then ENOMEM; the model agrees', () => {
    // Linux apply_vma_lock_flags: mlock_fixup (vma_modify_flags, which merges) runs for every VMA
    // before the hole, then the call fails with ENOMEM. The model used to leave them unmerged.
    const { k, p, base, model } = world();
    expect(k.mmap(p, base, 2 * 4096, RW, FIXED)).toMatchObject({ ok: true });
    model.mmap(base, 2n * PAGE, RW, FIXED);
    expect(k.mlock(p, base, 4096)).toEqual({ ok: true, value: 0 });
    expect(model.mlock(base, PAGE, true)).toEqual({ ok: true, value: 0 });
    expect(mapsFrom(k, p, base)).toEqual(['0-1 rw-p', '1-2 rw-p']);
    // Pages 0–1 mapped, page 2 a hole.
    expect(k.munlock(p, base, 3 * 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(model.mlock(base, 3n * PAGE, false)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(mapsFrom(k, p, base)).toEqual(['0-2 rw-p']);
    expect(k.vmas(p).map((v) => [v.start, v.end, v.prot])).toEqual(
      model.vmaList().map((v) => [v.start, v.end, v.prot]),
    );
    expect(audit(k).problems).toEqual([]);
  });
});
