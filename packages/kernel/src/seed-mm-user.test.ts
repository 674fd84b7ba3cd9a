/**
 * Every host test of seed 000 (mm_user), as a named test with the same scenario and
 * expectations, on our API. Seed counters map as: task_kp_count → process.tablePages,
 * task_up_count → process.residentPages, lookup_pte_slot → kernel.lookup, do_data_abort →
 * kernel.handleSyndrome, check_and_prefault_user_range → kernel.prefaultUserRange.
 * The seed maps arbitrary PAs (0xDEAD0000); we map frames from the allocator so the
 * auditor can account for them — the tables built are the same.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import { leaveFree, tinyMachine } from './test-fixtures.js';

const arch = createAarch64Arch();
// The seed's fake pool is 256 pages; the kernel's own tables come out of it first.
// Seed 000's demand paging: every fault maps a fresh frame (no zero page) and fork copies eagerly.
// Seed 000 has no OOM killer: out of memory fails (or kills) the allocating process only.
const boot = (pages = 256): Kernel =>
  bootKernel({ arch, machine: tinyMachine(pages), zeroPage: false, fork: 'eager', oomKiller: false });
const rwx = (k: Kernel) => k.userAttributes({ read: true, write: true, execute: false });

describe('seed 000 (mm_user) host tests', () => {
  it('seed 000: task_kp_count/task_up_count on empty task', () => {
    const k = boot();
    const t = k.createProcess();
    expect(t.tablePages).toBe(0);
    expect(t.residentPages).toBe(0);
  });

  it('seed 000: map_page allocates tables (PGD, PUD, PMD, PTE = L0..L3)', () => {
    const k = boot();
    const t = k.createProcess();
    const pa = k.allocator.alloc('user', t.pid);
    const flags = rwx(k);
    expect(k.mapPage(t, 0x1000, pa, flags)).toEqual({ ok: true });
    expect(t.root).not.toBe(0);
    expect(t.tablePages).toBe(4);
    expect(t.residentPages).toBe(1);
    const ref = k.lookup(t, 0x1000)!;
    expect(ref.level).toBe(1);
    expect(ref.entry).toEqual({ kind: 'leaf', pa, attrs: flags });
  });

  it('seed 000: lookup_pte_slot finds mapped page', () => {
    const k = boot();
    const t = k.createProcess();
    const pa = k.allocator.alloc('user', t.pid);
    const flags = rwx(k);
    expect(k.mapPage(t, 0x2000, pa, flags)).toEqual({ ok: true });
    const slot = k.lookup(t, 0x2000)!;
    expect(slot.level).toBe(1);
    // The seed compares the raw PTE with `pa | flags`: the same output address and attributes,
    // and the exact descriptor the codec makes of them.
    expect(slot.entry).toEqual({ kind: 'leaf', pa, attrs: flags });
    const raw = k.arch.codec.encode({ kind: 'leaf', pa, attrs: flags }, 1);
    expect(k.editor.readRaw(slot.descriptorPa)).toEqual([raw.lo, raw.hi]);
    // Same PTE table, unmapped page: the slot exists and is zero.
    const unmapped = k.lookup(t, 0x3000)!;
    expect(unmapped.level).toBe(1);
    expect(unmapped.entry).toEqual({ kind: 'absent' });
    expect(k.memory.read64(unmapped.descriptorPa)).toBe(0n);
    // Different PGD/PUD/PMD: no PTE slot at all (the walk stops above the leaf table).
    const far = k.lookup(t, 0x1_000_000_000)!;
    expect(far.level).toBeGreaterThan(1);
    expect(far.entry).toEqual({ kind: 'absent' });
  });

  it('seed 000: unmap_user_range clears entries', () => {
    const k = boot();
    const t = k.createProcess();
    const pas = [0x1000, 0x2000, 0x3000].map((va) => {
      const pa = k.allocator.alloc('user', t.pid);
      k.mapPage(t, va, pa, rwx(k));
      return pa;
    });
    const slotBefore = k.lookup(t, 0x2000)!.descriptorPa;
    const tables = t.tablePages;
    expect(k.unmapUserRange(t, 0x1500, 0x2500)).toBe(1);
    expect(k.lookup(t, 0x2000)!.entry).toEqual({ kind: 'absent' });
    // The neighbours keep their frames (the seed: user_pages[0].pa and [2].pa are still set).
    expect(k.lookup(t, 0x1000)!.entry).toMatchObject({ kind: 'leaf', pa: pas[0] });
    expect(k.lookup(t, 0x3000)!.entry).toMatchObject({ kind: 'leaf', pa: pas[2] });
    expect(k.allocator.stateOf(pas[1]!)).toBe(0); // FREE
    expect(t.residentPages).toBe(2);
    // The table is kept: the PTE slot for 0x2000 still exists (same place, leaf level) and is zero.
    const slot = k.lookup(t, 0x2000)!;
    expect(slot.level).toBe(1);
    expect(slot.descriptorPa).toBe(slotBefore);
    expect(k.memory.read64(slot.descriptorPa)).toBe(0n);
    expect(t.tablePages).toBe(tables);
    expect(audit(k).problems).toEqual([]);
  });

  it('seed 000: do_data_abort maps heap (ESR 0x92000004, translation fault level 0)', () => {
    const k = boot();
    const t = k.createProcess();
    k.brk(t, k.layout.heapBase + 0x2000n);
    const fault = k.layout.heapBase + 0x1000n;
    expect(k.handleSyndrome(t, fault, 0x92000004n)).toBe('resolved');
    expect(t.residentPages).toBe(1);
    // The one page mapped is the faulting one (the seed: user_pages[0].uva == fault_uva), backed
    // by a fresh user frame of this task; the heap page below it is not mapped.
    const ref = k.lookup(t, fault)!;
    expect(ref.level).toBe(1);
    if (ref.entry.kind !== 'leaf') throw new Error('fault page not mapped');
    expect(k.allocator.stateOf(ref.entry.pa)).toBe(3); // USER
    expect(k.allocator.ownerOf(ref.entry.pa)).toBe(t.pid);
    expect(k.allocator.refCount(ref.entry.pa)).toBe(1);
    expect(k.lookup(t, k.layout.heapBase)!.entry).toEqual({ kind: 'absent' });
  });

  it('seed 000: check_and_prefault_user_range maps range (3 pages for HEAP_BASE+0x500 .. +0x2500)', () => {
    const k = boot();
    const t = k.createProcess();
    k.brk(t, k.layout.heapBase + 0x3000n);
    expect(k.prefaultUserRange(t, k.layout.heapBase + 0x500n, 0x2000)).toEqual({
      ok: true,
      value: undefined,
    });
    expect(t.residentPages).toBe(3);
    // Exactly the pages at +0, +0x1000 and +0x2000.
    for (const off of [0n, 0x1000n, 0x2000n])
      expect(k.lookup(t, k.layout.heapBase + off)!.entry.kind).toBe('leaf');
    expect(k.lookup(t, k.layout.heapBase + 0x3000n)!.entry).toEqual({ kind: 'absent' });
  });

  it('seed 000: check_and_prefault_user_range -1 on wild UVA (soft path, no kill)', () => {
    const k = boot();
    const t = k.createProcess();
    k.brk(t, k.layout.heapBase + 0x1000n);
    expect(k.prefaultUserRange(t, 0xdeadbeef000n, 1)).toEqual({ ok: false, errno: 'EFAULT' });
    expect(t.residentPages).toBe(0);
    expect(t.alive).toBe(true);
  });

  it('seed 000: map_page rolls back tables and returns -1 on table OOM', () => {
    const k = boot();
    const t = k.createProcess();
    const target = k.allocator.alloc('user', t.pid);
    const release = leaveFree(k, 1); // the root takes the last page, the next table hits the sentinel
    expect(k.mapPage(t, 0x1000, target, rwx(k))).toEqual({ ok: false, reason: 'no-memory' });
    expect(t.tablePages).toBe(0);
    expect(t.root).toBe(0);
    expect(t.residentPages).toBe(0);
    expect(k.allocator.freeCount).toBe(1);
    release();
  });

  it('seed 000: map_page returns -1 when the pgd allocation OOMs', () => {
    const k = boot();
    const t = k.createProcess();
    const target = k.allocator.alloc('user', t.pid);
    const release = leaveFree(k, 0);
    expect(k.mapPage(t, 0x1000, target, rwx(k))).toEqual({ ok: false, reason: 'no-memory' });
    expect(t.root).toBe(0);
    expect(t.tablePages).toBe(0);
    release();
  });

  it('seed 000: allocate_user_page returns 0 on OOM', () => {
    const k = boot();
    const t = k.createProcess();
    const release = leaveFree(k, 0);
    expect(k.allocateUserPage(t, 0x1000, rwx(k))).toBe(0n);
    expect(t.residentPages).toBe(0);
    expect(t.root).toBe(0);
    expect(k.allocator.freeCount).toBe(0);
    release();
  });

  it('seed 000: soft demand-alloc returns -1 on OOM without exit_process', () => {
    const k = boot();
    const t = k.createProcess();
    k.brk(t, k.layout.heapBase + 0x2000n);
    const release = leaveFree(k, 0);
    expect(k.prefaultUserRange(t, k.layout.heapBase + 0x500n, 1)).toEqual({ ok: false, errno: 'EFAULT' });
    expect(t.residentPages).toBe(0);
    expect(t.alive).toBe(true);
    release();
  });
});
