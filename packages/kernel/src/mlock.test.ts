/**
 * mlock, mlock2, munlock, mlockall, munlockall: VMA splitting and merging, populate (and its
 * out-of-memory state), RLIMIT_MEMLOCK, fork and mremap inheritance, the reclaim queries — on all
 * five configurations, strict TLB mode, audit() after each.
 */
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import { MADV } from './madvise.js';
import { isVmaLocked, MCL, MLOCK } from './mlock.js';
import type { Process } from './process.js';
import { MAP, MREMAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, type TestConfig } from './test-fixtures.js';
import type { ProcessVma } from './vma.js';

const MiB = 2 ** 20;
const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * MiB);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;

function boot(c: TestConfig, opts: Partial<KernelOptions> = {}): Kernel {
  return bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, ...opts });
}

function mapped(k: Kernel, p: Process, pages: number, prot = RW, flags = PRIV): bigint {
  const r = k.mmap(p, 0, pages * 4096, prot, flags);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const resident = (k: Kernel, p: Process, va: bigint, pages: number) => {
  const r = k.mincore(p, va, pages * 4096);
  if (!r.ok) throw new Error(r.detail);
  return [...r.value].join('');
};
const vmaList = (p: Process) => {
  const out: ProcessVma[] = [];
  p.vmas.forEach((v) => {
    out.push(v);
  });
  return out;
};
const locks = (_k: Kernel, p: Process, from: bigint, to: bigint) =>
  vmaList(p)
    .filter((v) => BigInt(v.endVpn) * PAGE > from && BigInt(v.startVpn) * PAGE < to)
    .map(
      (v) =>
        `${(BigInt(v.startVpn) * PAGE - from) / PAGE}-${(BigInt(v.endVpn) * PAGE - from) / PAGE}:${v.value.lock}`,
    );

describe.each(CONFIGS)('mlock on $name', (c) => {
  it('locks (splitting the VMA), faults everything in, counts VmLck; munlock merges back', () => {
    const k = boot(c);
    const p = k.createProcess();
    const a = mapped(k, p, 8);
    // An unaligned start is rounded down and the length grown by the offset.
    expect(k.mlock(p, a + 2n * PAGE + 100n, 2 * 4096)).toEqual({ ok: true, value: 0 });
    expect(locks(k, p, a, a + 8n * PAGE)).toEqual(['0-2:none', '2-5:locked', '5-8:none']);
    expect(resident(k, p, a, 8)).toBe('00111000');
    expect(k.memoryStats(p).lockedPages).toBe(3);
    expect(k.procSmaps(p)).toMatch(/VmFlags: rd wr mr mw me lo ac/);
    const pa = k.lookup(p, a + 2n * PAGE)!;
    expect(pa.entry.kind).toBe('leaf');
    if (pa.entry.kind === 'leaf') {
      expect(k.isFrameLocked(pa.entry.pa)).toBe(true);
      expect(pa.entry.attrs.user.write).toBe(true); // populated with write faults: a real frame, not the zero page
    }
    expect(k.munlock(p, a, 8 * 4096)).toEqual({ ok: true, value: 0 });
    expect(locks(k, p, a, a + 8n * PAGE)).toEqual(['0-8:none']);
    expect(k.memoryStats(p).lockedPages).toBe(0);
    if (pa.entry.kind === 'leaf') expect(k.isFrameLocked(pa.entry.pa)).toBe(false);
    clean(k);
  });

  it('mlock2(MLOCK_ONFAULT) locks without faulting in; bad flags are EINVAL', () => {
    const k = boot(c);
    const p = k.createProcess();
    const a = mapped(k, p, 4);
    expect(k.mlock2(p, a, 4 * 4096, 2)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(k.mlock2(p, a, 4 * 4096, MLOCK.ONFAULT)).toEqual({ ok: true, value: 0 });
    expect(locks(k, p, a, a + 4n * PAGE)).toEqual(['0-4:onfault']);
    expect(resident(k, p, a, 4)).toBe('0000');
    expect(k.memoryStats(p).lockedPages).toBe(4);
    // Re-locking with mlock populates.
    expect(k.mlock(p, a, 4 * 4096)).toEqual({ ok: true, value: 0 });
    expect(resident(k, p, a, 4)).toBe('1111');
    clean(k);
  });

  it('ENOMEM for an unmapped start (nothing changed) and for a hole (the VMAs before it locked)', () => {
    const k = boot(c);
    const p = k.createProcess();
    const a = mapped(k, p, 6);
    expect(k.munmap(p, a + 3n * PAGE, 4096)).toEqual({ ok: true, value: 0 });
    expect(k.mlock(p, a + 3n * PAGE, 2 * 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(locks(k, p, a, a + 6n * PAGE)).toEqual(['0-3:none', '4-6:none']);
    expect(k.mlock(p, a, 6 * 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    // Linux apply_vma_lock_flags: the VMA before the hole was locked; no populate ran.
    expect(locks(k, p, a, a + 6n * PAGE)).toEqual(['0-3:locked', '4-6:none']);
    expect(resident(k, p, a, 3)).toBe('000');
    expect(k.munlock(p, a, 6 * 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(locks(k, p, a, a + 6n * PAGE)).toEqual(['0-3:none', '4-6:none']);
    expect(k.mlock(p, 2n ** 60n, 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(k.mlock(p, a, 0)).toEqual({ ok: true, value: 0 });
    expect(k.mlock(p, 2n ** 64n - PAGE, 2 * 4096)).toMatchObject({ ok: false, errno: 'EINVAL' });
    clean(k);
  });

  it('a PROT_NONE mapping is locked but cannot be faulted in: ENOMEM', () => {
    const k = boot(c);
    const p = k.createProcess();
    const a = mapped(k, p, 2, PROT.NONE);
    expect(k.mlock(p, a, 2 * 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(locks(k, p, a, a + 2n * PAGE)).toEqual(['0-2:locked']);
    expect(resident(k, p, a, 2)).toBe('00');
    clean(k);
  });

  it('RLIMIT_MEMLOCK: EPERM at 0, ENOMEM past it (already-locked pages not counted twice), CAP_IPC_LOCK ignores it', () => {
    const none = boot(c, { memlockLimit: 0 });
    const p0 = none.createProcess();
    const a0 = mapped(none, p0, 2);
    expect(none.mlock(p0, a0, 4096)).toMatchObject({ ok: false, errno: 'EPERM' });
    expect(none.mlockall(p0, MCL.CURRENT)).toMatchObject({ ok: false, errno: 'EPERM' });
    expect(none.munlock(p0, a0, 4096)).toEqual({ ok: true, value: 0 });

    const k = boot(c, { memlockLimit: 4 * 4096 });
    const p = k.createProcess();
    const a = mapped(k, p, 8);
    expect(k.mlock(p, a, 3 * 4096)).toEqual({ ok: true, value: 0 });
    expect(k.mlock(p, a + 3n * PAGE, 2 * 4096)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(k.mlock(p, a, 4 * 4096)).toEqual({ ok: true, value: 0 }); // 3 of the 4 already locked
    expect(k.mlockall(p, MCL.CURRENT)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(k.memoryStats(p).lockedPages).toBe(4);

    const cap = boot(c, { memlockLimit: 0, capIpcLock: true });
    const p2 = cap.createProcess();
    const a2 = mapped(cap, p2, 8);
    expect(cap.mlock(p2, a2, 8 * 4096)).toEqual({ ok: true, value: 0 });
    clean(k);
    clean(cap);
  });

  it('out of memory while populating: EAGAIN, the pages faulted so far stay, the VMA stays locked', () => {
    const k = boot(c);
    const p = k.createProcess();
    const a = mapped(k, p, 16);
    k.store(p, a, 8, 1n); // builds the tables
    const give = leaveFree(k, 5);
    expect(k.mlock(p, a, 16 * 4096)).toMatchObject({ ok: false, errno: 'EAGAIN' });
    expect(resident(k, p, a, 16)).toBe('1111110000000000');
    expect(locks(k, p, a, a + 16n * PAGE)).toEqual(['0-16:locked']);
    clean(k);
    give();
    expect(k.mlock(p, a, 16 * 4096)).toEqual({ ok: true, value: 0 });
    expect(resident(k, p, a, 16)).toBe('1111111111111111');
    clean(k);
  });

  it('out of memory at every point of populate: EAGAIN or success, never a leak, contents kept', () => {
    for (let keep = 0; keep <= 12; keep++) {
      // Without the OOM killer (which would take the child: slow-path.test.ts has that case).
      const k = boot(c, { oomKiller: false });
      const p = k.createProcess();
      const a = mapped(k, p, 8);
      k.store(p, a + 3n * PAGE, 8, 33n); // one page with data, the rest untouched
      const child = k.fork(p); // and shared copy-on-write with a child
      if (!child.ok) throw new Error(child.errno);
      const give = leaveFree(k, keep);
      const r = k.mlock(p, a, 8 * 4096);
      if (r.ok) expect(resident(k, p, a, 8)).toBe('11111111');
      else {
        expect(r.errno).toBe('EAGAIN');
        // Linux __mm_populate: the pages before the failure are in, none after it.
        expect(resident(k, p, a, 8)).toMatch(/^1*0*$|^1*0*1000*$|^1*01*0*$/);
      }
      expect(locks(k, p, a, a + 8n * PAGE)).toEqual(['0-8:locked']);
      clean(k);
      give();
      expect(k.load(p, a + 3n * PAGE, 8)).toEqual({ ok: true, value: 33n });
      expect(k.load(child.process, a + 3n * PAGE, 8)).toEqual({ ok: true, value: 33n });
      k.exit(p);
      k.exit(child.process);
      expect(k.allocator.freeCount).toBe(k.baselineFree);
      clean(k);
    }
  });

  it('mlock breaks copy-on-write sharing and replaces the zero page (populate writes)', () => {
    const k = boot(c);
    const p = k.createProcess();
    const a = mapped(k, p, 2);
    k.store(p, a, 8, 5n);
    k.load(p, a + PAGE, 8); // the zero page
    const child = k.fork(p);
    if (!child.ok) throw new Error(child.errno);
    expect(k.mlock(p, a, 2 * 4096)).toEqual({ ok: true, value: 0 });
    for (const va of [a, a + PAGE]) {
      const ref = k.lookup(p, va)!;
      if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
      expect(ref.entry.pa).not.toBe(k.zeroPage);
      expect(k.allocator.refCount(ref.entry.pa)).toBe(1);
    }
    expect(k.load(p, a, 8)).toEqual({ ok: true, value: 5n });
    expect(k.load(child.process, a, 8)).toEqual({ ok: true, value: 5n });
    // fork does not inherit the lock.
    expect(locks(k, child.process, a, a + 2n * PAGE)).toEqual(['0-2:none']);
    clean(k);
  });

  it('mlockall(MCL_CURRENT | MCL_FUTURE) locks every VMA and later mmap/brk; munlockall ends it', () => {
    const k = boot(c);
    const p = k.createProcess();
    const a = mapped(k, p, 2);
    for (const bad of [0, MCL.ONFAULT, 8, Number.NaN])
      expect(k.mlockall(p, bad)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(k.mlockall(p, MCL.CURRENT | MCL.FUTURE)).toEqual({ ok: true, value: 0 });
    expect(vmaList(p).every((v) => isVmaLocked(v.value))).toBe(true);
    expect(resident(k, p, a, 2)).toBe('11');
    const b = mapped(k, p, 3);
    // Placed right below `a` and locked like it: the two merge.
    expect(locks(k, p, b, b + 3n * PAGE)).toEqual(['0-5:locked']);
    expect(resident(k, p, b, 3)).toBe('111');
    const heap = k.layout.heapBase;
    expect(k.brk(p, heap + 2n * PAGE)).toBe(heap + 2n * PAGE);
    expect(resident(k, p, heap, 2)).toBe('11');
    // A child inherits neither the locks nor MCL_FUTURE.
    const child = k.fork(p);
    if (!child.ok) throw new Error(child.errno);
    const cb = mapped(k, child.process, 1);
    expect(child.process.vmas.find(Number(cb / PAGE))?.value.lock).toBe('none');
    expect(k.munlockall(p)).toEqual({ ok: true, value: 0 });
    expect(k.memoryStats(p).lockedPages).toBe(0);
    const d = mapped(k, p, 1);
    expect(p.vmas.find(Number(d / PAGE))?.value.lock).toBe('none');
    clean(k);
  });

  it('MCL_FUTURE mappings beyond RLIMIT_MEMLOCK are EAGAIN; MCL_ONFAULT does not populate', () => {
    const k = boot(c, { memlockLimit: 8 * 4096 });
    const p = k.createProcess();
    expect(k.mlockall(p, MCL.FUTURE | MCL.ONFAULT)).toEqual({ ok: true, value: 0 });
    const a = mapped(k, p, 4);
    expect(locks(k, p, a, a + 4n * PAGE)).toEqual(['0-4:onfault']);
    expect(resident(k, p, a, 4)).toBe('0000');
    expect(k.mmap(p, 0, 5 * 4096, RW, PRIV)).toMatchObject({ ok: false, errno: 'EAGAIN' });
    clean(k);
  });

  it('mremap keeps the lock and faults in what a locked mapping grew by', () => {
    const k = boot(c);
    const p = k.createProcess();
    const a = mapped(k, p, 2);
    expect(k.mlock(p, a, 2 * 4096)).toEqual({ ok: true, value: 0 });
    const r = k.mremap(p, a, 2 * 4096, 4 * 4096, MREMAP.MAYMOVE);
    if (!r.ok) throw new Error(r.detail);
    expect(locks(k, p, r.value, r.value + 4n * PAGE)).toEqual(['0-4:locked']);
    expect(resident(k, p, r.value, 4)).toBe('1111');
    clean(k);
  });

  it('locked VMAs refuse DONTNEED, FREE, COLD and PAGEOUT (can_madv_lru_vma)', () => {
    const k = boot(c);
    const p = k.createProcess();
    const a = mapped(k, p, 2);
    expect(k.mlock(p, a, 2 * 4096)).toEqual({ ok: true, value: 0 });
    for (const adv of [MADV.DONTNEED, MADV.FREE, MADV.COLD, MADV.PAGEOUT])
      expect(k.madvise(p, a, 2 * 4096, adv)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(k.madvise(p, a, 2 * 4096, MADV.WILLNEED)).toEqual({ ok: true, value: 0 });
    expect(resident(k, p, a, 2)).toBe('11');
    // A page freed lazily before it was locked is not reclaimed while locked.
    const b = mapped(k, p, 1);
    k.store(p, b, 8, 3n);
    expect(k.madvise(p, b, 4096, MADV.FREE)).toEqual({ ok: true, value: 0 });
    expect(k.mlock2(p, b, 4096, MLOCK.ONFAULT)).toEqual({ ok: true, value: 0 });
    const ref = k.lookup(p, b)!;
    if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
    expect(k.discardLazyFree(ref.entry.pa)).toBe(false);
    expect(k.munlock(p, b, 4096)).toEqual({ ok: true, value: 0 });
    expect(k.discardLazyFree(ref.entry.pa)).toBe(true);
    expect(k.load(p, b, 8)).toEqual({ ok: true, value: 0n });
    clean(k);
  });
});
