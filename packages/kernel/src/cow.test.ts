/**
 * Copy-on-write fork, the reverse map and the shared zero page: one scenario per path, on all
 * five configurations, with strict TLB mode (a stale translation or an undischarged flush
 * obligation throws) and audit() (refcounts = references, reverse map = page tables, no shared
 * private frame writable, the zero page intact) after each.
 */
import { type EntryRef, type MmEvent, vpnOf } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import type { Process } from './process.js';
import { MAP, MREMAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, type TestConfig } from './test-fixtures.js';

const MiB = 2 ** 20;
const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * MiB);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;

type Cow = Extract<MmEvent, { type: 'cow' }>;

interface Env {
  readonly k: Kernel;
  readonly p: Process;
  readonly events: MmEvent[];
  /** A private rw- mapping of 8 pages, every page written (value `0x1000 + i` at offset 8). */
  readonly base: bigint;
}

function setup(c: TestConfig, opts: Partial<KernelOptions> = {}): Env {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, ...opts });
  const events: MmEvent[] = [];
  k.events.on((e) => events.push(e));
  const p = k.createProcess();
  const r = k.mmap(p, 0, 8 * 4096, RW, PRIV);
  if (!r.ok) throw new Error(r.detail);
  // Written from both CPUs, so both TLBs cache writable translations before the fork.
  for (let i = 0; i < 8; i++)
    expect(k.store(p, r.value + BigInt(i) * PAGE + 8n, 8, 0x1000n + BigInt(i), i & 1)).toMatchObject({
      ok: true,
    });
  events.length = 0;
  return { k, p, events, base: r.value };
}

const at = (e: Env, i: number) => e.base + BigInt(i) * PAGE;
const leaf = (k: Kernel, p: Process, va: bigint): EntryRef & { entry: { kind: 'leaf' } } => {
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error(`no leaf at ${va.toString(16)}`);
  return ref as EntryRef & { entry: { kind: 'leaf' } };
};
const paOf = (k: Kernel, p: Process, va: bigint) => leaf(k, p, va).entry.pa;
const cows = (e: Env): Cow[] => e.events.filter((x): x is Cow => x.type === 'cow');
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
const must = (r: { ok: true; process: Process } | { ok: false; errno: string }): Process => {
  if (!r.ok) throw new Error(r.errno);
  return r.process;
};

describe.each(CONFIGS)('copy-on-write: $name', (c) => {
  it('fork shares every private page read-only in parent and child: one frame, two references, two reverse-map entries, no copy', () => {
    const e = setup(c);
    const { k, p } = e;
    const frames = Array.from({ length: 8 }, (_, i) => paOf(k, p, at(e, i)));
    const free0 = k.allocator.freeCount;
    const child = must(k.fork(p));
    // Only the child's page tables were allocated (no data frame).
    expect(free0 - k.allocator.freeCount).toBe(child.tablePages);
    for (let i = 0; i < 8; i++) {
      const pa = frames[i]!;
      expect(paOf(k, child, at(e, i))).toBe(pa);
      expect(leaf(k, p, at(e, i)).entry.attrs.user.write).toBe(false);
      expect(leaf(k, child, at(e, i)).entry.attrs.user.write).toBe(false);
      expect(k.allocator.refCount(pa)).toBe(2);
      const owners = k.rmap
        .mappings(pa)
        .map((m) => [m.space === p.space ? 'parent' : m.space === child.space ? 'child' : '?', m.vpn]);
      expect(owners.sort()).toEqual(
        [
          ['child', vpnOf(at(e, i))],
          ['parent', vpnOf(at(e, i))],
        ].sort(),
      );
    }
    expect(e.events.find((x) => x.type === 'process' && x.action === 'fork')).toMatchObject({
      detail: `from pid ${p.pid}, ${p.residentPages} pages shared copy-on-write`,
    });
    // The parent's writable translations were invalidated on every CPU (a TLB event for its ASID).
    expect(e.events.some((x) => x.type === 'tlb')).toBe(true);
    clean(k);
  });

  it('a write in the child copies the page; the parent still reads its own value; then the parent reuses its frame in place', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    const shared = paOf(k, p, at(e, 2));
    e.events.length = 0;
    expect(k.store(child, at(e, 2) + 8n, 8, 0xc41dn, 1)).toEqual({ ok: true, value: 0 });
    const copy = paOf(k, child, at(e, 2));
    expect(copy).not.toBe(shared);
    expect(cows(e)).toEqual([
      {
        type: 'cow',
        action: 'copy',
        pid: child.pid,
        va: at(e, 2),
        pa: copy,
        fromPa: shared,
        sizeBytes: 4096,
      },
    ]);
    expect(e.events.find((x) => x.type === 'fault')).toMatchObject({
      access: 'write',
      kind: 'permission',
      resolution: 'COW copy',
    });
    expect(k.load(p, at(e, 2) + 8n, 8, 1)).toEqual({ ok: true, value: 0x1002n });
    expect(k.load(child, at(e, 2) + 8n, 8, 0)).toEqual({ ok: true, value: 0xc41dn });
    // The rest of the page came along.
    expect(k.memory.readBytes(copy, 4096)).toEqual(
      (() => {
        const b = k.memory.readBytes(shared, 4096);
        b.set([0x1d, 0xc4, 0, 0, 0, 0, 0, 0], 8);
        return b;
      })(),
    );
    expect([k.allocator.refCount(shared), k.allocator.refCount(copy)]).toEqual([1, 1]);
    clean(k);
    // The parent now holds the only reference: its write reuses the frame (no allocation).
    e.events.length = 0;
    const free = k.allocator.freeCount;
    expect(k.store(p, at(e, 2) + 8n, 8, 0xfa7e4n, 0)).toEqual({ ok: true, value: 0 });
    expect(k.allocator.freeCount).toBe(free);
    expect(paOf(k, p, at(e, 2))).toBe(shared);
    expect(cows(e)).toEqual([
      { type: 'cow', action: 'reuse', pid: p.pid, va: at(e, 2), pa: shared, fromPa: shared, sizeBytes: 4096 },
    ]);
    expect(leaf(k, p, at(e, 2)).entry.attrs.user.write).toBe(true);
    expect(k.load(child, at(e, 2) + 8n, 8)).toEqual({ ok: true, value: 0xc41dn });
    clean(k);
  });

  it('a write by the parent after the fork faults on every CPU (the fork invalidated the writable TLB entries), and copies', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    for (const cpu of [0, 1]) {
      e.events.length = 0;
      expect(k.store(p, at(e, 4 + cpu) + 8n, 8, 0xbadn, cpu)).toEqual({ ok: true, value: 0 });
      expect(cows(e).map((x) => x.action)).toEqual(['copy']);
      expect(k.load(child, at(e, 4 + cpu) + 8n, 8, cpu)).toEqual({ ok: true, value: 0x1004n + BigInt(cpu) });
    }
    clean(k);
  });

  it('after the child exits (or execs), the parent’s write reuses the frame: references and reverse map follow exit and exec', () => {
    const e = setup(c);
    const { k, p } = e;
    const a = must(k.fork(p));
    const b = must(k.fork(p));
    const pa = paOf(k, p, at(e, 0));
    expect(k.allocator.refCount(pa)).toBe(3);
    k.exit(a);
    expect([k.allocator.refCount(pa), k.rmap.count(pa)]).toEqual([2, 2]);
    expect(k.exec(b, { text: new Uint8Array(16) })).toEqual({ ok: true, value: 0 });
    expect([k.allocator.refCount(pa), k.rmap.count(pa)]).toEqual([1, 1]);
    clean(k);
    e.events.length = 0;
    expect(k.store(p, at(e, 0), 1, 1)).toMatchObject({ ok: true });
    expect(cows(e).map((x) => x.action)).toEqual(['reuse']);
    clean(k);
  });

  it('munmap and mremap of shared pages keep references and the reverse map exact', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    const pa0 = paOf(k, p, at(e, 0));
    const pa7 = paOf(k, p, at(e, 7));
    expect(k.munmap(child, at(e, 0), 4096)).toEqual({ ok: true, value: 0 });
    expect([k.allocator.refCount(pa0), k.rmap.count(pa0)]).toEqual([1, 1]);
    expect(k.mmap(child, at(e, 8), 4096, PROT.READ, PRIV | MAP.FIXED)).toMatchObject({ ok: true }); // no room to grow in place
    const moved = k.mremap(child, at(e, 6), 2 * 4096, 16 * 4096, MREMAP.MAYMOVE);
    if (!moved.ok) throw new Error(moved.detail);
    expect(moved.value).not.toBe(at(e, 6));
    expect(paOf(k, child, moved.value + PAGE)).toBe(pa7);
    expect(k.rmap.mappings(pa7).find((m) => m.space === child.space)?.vpn).toBe(vpnOf(moved.value + PAGE));
    clean(k);
    expect(k.store(child, moved.value + PAGE + 8n, 8, 5n)).toMatchObject({ ok: true });
    expect(k.load(p, at(e, 7) + 8n, 8)).toEqual({ ok: true, value: 0x1007n });
    clean(k);
  });

  it('mprotect never makes a shared copy-on-write page writable (Linux can_change_pte_writable)', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    expect(k.mprotect(p, at(e, 0), 8 * 4096, PROT.READ)).toMatchObject({ ok: true });
    expect(k.mprotect(p, at(e, 0), 8 * 4096, RW)).toMatchObject({ ok: true });
    expect(leaf(k, p, at(e, 3)).entry.attrs.user.write).toBe(false);
    clean(k);
    e.events.length = 0;
    expect(k.store(p, at(e, 3) + 8n, 8, 9n)).toMatchObject({ ok: true });
    expect(cows(e).map((x) => x.action)).toEqual(['copy']);
    expect(k.load(child, at(e, 3) + 8n, 8)).toEqual({ ok: true, value: 0x1003n });
    clean(k);
  });

  it('MAP_SHARED stays shared across fork: writable in both, one frame, writes seen by the other, no COW', () => {
    const e = setup(c);
    const { k, p } = e;
    const s = k.mmap(p, 0, 4096, RW, MAP.SHARED | MAP.ANONYMOUS);
    if (!s.ok) throw new Error(s.detail);
    expect(k.store(p, s.value, 8, 1n)).toMatchObject({ ok: true });
    const child = must(k.fork(p));
    e.events.length = 0;
    expect(k.store(child, s.value, 8, 2n)).toMatchObject({ ok: true });
    expect(k.load(p, s.value, 8)).toEqual({ ok: true, value: 2n });
    expect(paOf(k, child, s.value)).toBe(paOf(k, p, s.value));
    expect(leaf(k, p, s.value).entry.attrs.user.write).toBe(true);
    expect(cows(e)).toEqual([]);
    clean(k);
  });

  it('a read of untouched private memory maps the shared zero page read-only (no frame); the first write replaces it with a fresh zeroed frame', () => {
    const e = setup(c);
    const { k, p } = e;
    const r = k.mmap(p, 0, 4 * 4096, RW, PRIV);
    if (!r.ok) throw new Error(r.detail);
    expect(k.load(p, r.value + 8n, 8)).toEqual({ ok: true, value: 0n }); // builds the leaf table
    const free = k.allocator.freeCount;
    e.events.length = 0;
    expect(k.load(p, r.value + PAGE + 8n, 8, 1)).toEqual({ ok: true, value: 0n });
    expect(k.allocator.freeCount).toBe(free);
    expect(paOf(k, p, r.value + PAGE)).toBe(k.zeroPage);
    expect(leaf(k, p, r.value + PAGE).entry.attrs.user.write).toBe(false);
    expect(cows(e)).toEqual([
      {
        type: 'cow',
        action: 'zero-page',
        pid: p.pid,
        va: r.value + PAGE,
        pa: k.zeroPage,
        fromPa: k.zeroPage,
        sizeBytes: 4096,
      },
    ]);
    expect(e.events.find((x) => x.type === 'fault')).toMatchObject({
      resolution: 'zero page mapped (read-only)',
    });
    // The zero page is shared by fork too, and a child's write does not touch it.
    const child = must(k.fork(p));
    expect(paOf(k, child, r.value + PAGE)).toBe(k.zeroPage);
    e.events.length = 0;
    expect(k.store(child, r.value + PAGE + 16n, 4, 0xabcd)).toMatchObject({ ok: true });
    const fresh = paOf(k, child, r.value + PAGE);
    expect(cows(e)).toEqual([
      {
        type: 'cow',
        action: 'zero-fill',
        pid: child.pid,
        va: r.value + PAGE,
        pa: fresh,
        fromPa: k.zeroPage,
        sizeBytes: 4096,
      },
    ]);
    expect(k.load(child, r.value + PAGE + 16n, 4)).toEqual({ ok: true, value: 0xabcd });
    expect(k.load(p, r.value + PAGE + 16n, 4)).toEqual({ ok: true, value: 0 });
    expect(k.memory.readBytes(k.zeroPage, 4096).every((b) => b === 0)).toBe(true);
    clean(k);
    // Exit unmaps the zero page without freeing it.
    k.exit(child);
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    expect(k.allocator.reservationReason(k.zeroPage)).toBe('the shared zero page');
    clean(k);
  });

  it('a raw write syndrome on a copy-on-write page is classified from the PTE: a COW break, not SIGSEGV', () => {
    const e = setup(c);
    const { k, p } = e;
    const child = must(k.fork(p));
    const syndrome = k.arch.syndromes.encode({ kind: 'permission', level: 1, access: 1, privilege: 0 });
    e.events.length = 0;
    expect(k.handleSyndrome(child, at(e, 1) + 8n, syndrome)).toBe('resolved');
    expect(cows(e).map((x) => x.action)).toEqual(['copy']);
    expect(leaf(k, child, at(e, 1)).entry.attrs.user.write).toBe(true);
    expect(paOf(k, child, at(e, 1))).not.toBe(paOf(k, p, at(e, 1)));
    clean(k);
  });

  it('out of memory at every allocation point of fork and of the COW break leaves everything as it was', () => {
    // The failure paths themselves: without the OOM killer (oom-kill.test.ts covers it).
    const e = setup(c, { oomKiller: false });
    const { k, p } = e;
    const frames = Array.from({ length: 8 }, (_, i) => paOf(k, p, at(e, i)));
    const refs = () => frames.map((pa) => [k.allocator.refCount(pa), k.rmap.count(pa)]);
    const before = refs();
    let forked = -1;
    for (let keep = 0; keep < 40 && forked < 0; keep++) {
      const release = leaveFree(k, keep);
      const free = k.allocator.freeCount;
      const f = k.fork(p);
      if (f.ok) forked = keep;
      else {
        expect(f).toEqual({ ok: false, errno: 'ENOMEM' });
        expect(k.allocator.freeCount).toBe(free);
        expect(refs()).toEqual(before);
        expect(leaf(k, p, at(e, 0)).entry.attrs.user.write).toBe(true); // the parent was not write-protected
        clean(k);
      }
      release();
    }
    expect(forked).toBeGreaterThan(0);
    const child = k.liveProcesses.at(-1)!;
    // The COW break needs one frame: with none, the soft path (copy_to_user) is EFAULT and nothing
    // changed; the hard path kills the writer only.
    const release = leaveFree(k, 0);
    const shared = refs();
    expect(k.copyToUser(child, at(e, 3), new Uint8Array([1]))).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(refs()).toEqual(shared);
    expect(paOf(k, child, at(e, 3))).toBe(frames[3]);
    clean(k);
    expect(k.store(child, at(e, 3), 1, 1)).toMatchObject({
      ok: false,
      killed: 'out of memory',
      code: 'SEGV_OOM',
    });
    expect(refs()).toEqual(before);
    clean(k);
    release();
    expect(k.store(p, at(e, 3), 1, 1)).toMatchObject({ ok: true }); // reuse: the child is gone
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it("fork: 'eager' copies every private page at fork (seed 000's fork)", () => {
    const e = setup(c, { fork: 'eager' });
    const { k, p } = e;
    const free = k.allocator.freeCount;
    const child = must(k.fork(p));
    expect(free - k.allocator.freeCount).toBe(child.tablePages + 8); // the 8 pages are copied
    for (let i = 0; i < 8; i++) {
      expect(paOf(k, child, at(e, i))).not.toBe(paOf(k, p, at(e, i)));
      expect(leaf(k, p, at(e, i)).entry.attrs.user.write).toBe(true);
    }
    e.events.length = 0;
    expect(k.store(child, at(e, 0), 1, 1)).toMatchObject({ ok: true });
    expect(cows(e)).toEqual([]);
    clean(k);
  });
});

describe.each(CONFIGS)('copy-on-write of huge pages: $name', (c) => {
  /** A populated private MAP_HUGETLB mapping of one huge page, each 4 KiB page tagged. */
  function hugeSetup(opts: Partial<KernelOptions> = {}) {
    const e = setup(c, opts);
    const { k, p } = e;
    const g = k.arch.geometry;
    const level = Math.min(...g.leafLevels.filter((l) => l > 1));
    const pages = g.entryPages[level]!;
    const bytes = BigInt(pages) * PAGE;
    const r = k.mmap(p, 0, bytes, RW, PRIV | MAP.HUGETLB | MAP.POPULATE);
    if (!r.ok) throw new Error(r.detail);
    expect(k.lookup(p, r.value)!.level).toBe(level);
    for (const i of [0, 1, pages - 1])
      expect(k.store(p, r.value + BigInt(i) * PAGE, 4, 0x100 + i)).toMatchObject({ ok: true });
    return { ...e, va: r.value, level, pages };
  }

  it('fork shares the huge leaf read-only as a huge leaf; a write copies it whole into a fresh aligned run (hugetlb_wp); the other side then reuses', () => {
    const e = hugeSetup();
    const { k, p, va, level, pages } = e;
    const child = must(k.fork(p));
    const pa = paOf(k, p, va);
    expect(k.lookup(child, va)!.level).toBe(level);
    expect(paOf(k, child, va)).toBe(pa);
    expect(leaf(k, p, va).entry.attrs.user.write).toBe(false);
    expect(k.allocator.refCount(pa + (pages - 1) * 4096)).toBe(2);
    clean(k);
    e.events.length = 0;
    expect(k.store(child, va + PAGE, 4, 7)).toMatchObject({ ok: true });
    const copy = paOf(k, child, va);
    expect(k.lookup(child, va)!.level).toBe(level);
    expect(copy % (pages * 4096)).toBe(0);
    expect(cows(e)).toEqual([
      { type: 'cow', action: 'copy', pid: child.pid, va, pa: copy, fromPa: pa, sizeBytes: pages * 4096 },
    ]);
    expect(k.load(child, va + BigInt(pages - 1) * PAGE, 4)).toEqual({ ok: true, value: 0x100 + pages - 1 });
    expect(k.load(p, va + PAGE, 4)).toEqual({ ok: true, value: 0x101 });
    clean(k);
    e.events.length = 0;
    expect(k.store(p, va, 4, 1)).toMatchObject({ ok: true });
    expect(cows(e).map((x) => x.action)).toEqual(['reuse']);
    clean(k);
  });

  it('with no aligned run free, the write splits the shared huge leaf and copies only the written page (THP fallback)', () => {
    // Its first step is the out-of-memory path (nothing changed): without the OOM killer.
    const e = hugeSetup({ oomKiller: false });
    const { k, p, va, level, pages } = e;
    const child = must(k.fork(p));
    const pa = paOf(k, p, va);
    // One frame short of the split and the page: out of memory, nothing changed.
    const release0 = leaveFree(k, level - 1);
    const before = audit(k);
    expect(k.copyToUser(child, va + PAGE, new Uint8Array([1]))).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(audit(k)).toEqual(before);
    expect(k.lookup(child, va)!.level).toBe(level);
    release0();
    const release = leaveFree(k, level); // a table per level below the leaf, and the page
    e.events.length = 0;
    expect(k.store(child, va + PAGE, 4, 7)).toMatchObject({ ok: true });
    expect(k.lookup(child, va + PAGE)!.level).toBe(1);
    expect(cows(e)).toMatchObject([{ action: 'copy', sizeBytes: 4096, fromPa: pa + 4096 }]);
    expect(paOf(k, child, va + 2n * PAGE)).toBe(pa + 2 * 4096); // the rest still shared
    expect(k.lookup(p, va)!.level).toBe(level); // the parent's leaf stays huge
    expect(k.load(p, va + PAGE, 4)).toEqual({ ok: true, value: 0x101 });
    expect(k.load(child, va + BigInt(pages - 1) * PAGE, 4)).toEqual({ ok: true, value: 0x100 + pages - 1 });
    clean(k);
    release();
    // The parent still shares most of the huge page: its write copies the whole huge page.
    e.events.length = 0;
    expect(k.store(p, va, 4, 3)).toMatchObject({ ok: true });
    expect(cows(e)).toMatchObject([{ action: 'copy', sizeBytes: pages * 4096 }]);
    clean(k);
  });
});
