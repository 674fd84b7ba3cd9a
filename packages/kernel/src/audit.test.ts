/**
 * Every check of audit() made to fire: each test builds a clean state (and proves audit() is
 * clean there), corrupts one thing behind the kernel's back through the objects the kernel
 * exposes (allocator, editor, memory, TLBs, a process's VMAs and counters), and asserts that
 * exactly the expected problem, and nothing else, is reported. Run on all five configurations.
 */
import {
  type EntryRef,
  hex,
  isMmError,
  type LeafAttributes,
  PAGE_SIZE,
  type Permissions,
  StaleTlbError,
  UndischargedFlushError,
  vaOf,
  vpnOf,
} from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit, permittedUserAccess } from './audit.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, type TestConfig } from './test-fixtures.js';
import { vmaWith } from './vma.js';

const configs = fiveConfigs(64 * 2 ** 20);
const PRIVATE = MAP.PRIVATE | MAP.ANONYMOUS;

const perm = (p: Permissions) => `${p.read ? 'r' : '-'}${p.write ? 'w' : '-'}${p.execute ? 'x' : '-'}`;

/** A kernel with one process whose heap has one page, written (so every CPU-0 TLB holds it). */
interface World {
  readonly k: Kernel;
  readonly p: Process;
  readonly va: bigint;
  readonly vpn: number;
  /** The heap page's leaf. */
  readonly ref: EntryRef;
  readonly leaf: LeafAttributes;
  /** The heap page's frame. */
  readonly pa: number;
}

function boot(cfg: TestConfig, opts: Partial<KernelOptions> = {}): Kernel {
  return bootKernel({ arch: cfg.arch(), machine: cfg.machine(), ...opts });
}

function world(cfg: TestConfig, opts: Partial<KernelOptions> = {}): World {
  const k = boot(cfg, opts);
  const p = k.createProcess();
  const va = k.layout.heapBase;
  k.brk(p, va + 0x1000n);
  expect(k.store(p, va, 8, 0x1234n)).toEqual({ ok: true, value: 0 });
  const ref = k.lookup(p, va)!;
  if (ref.entry.kind !== 'leaf') throw new Error('heap page not mapped');
  expect(audit(k).problems).toEqual([]); // the control: clean before the corruption
  return { k, p, va, vpn: vpnOf(va), ref, leaf: ref.entry.attrs, pa: ref.entry.pa };
}

/** Invalidates every TLB entry on every CPU (what a correct kernel does after a PTE change). */
function flushAll(k: Kernel): void {
  for (const cpu of k.cpus) cpu.tlb.invalidateAll();
}

/** Rewrites a leaf in place; with `flush`, also invalidates the TLBs (a well-behaved rewrite). */
function rewriteLeaf(k: Kernel, ref: EntryRef, pa: number, attrs: LeafAttributes, flush = true): void {
  k.editor.writeEntry(ref.descriptorPa, { kind: 'leaf', pa, attrs }, ref.level);
  if (flush) flushAll(k);
}

/** The first of `candidates` the backend can encode at `level`. */
function encodable(k: Kernel, level: number, candidates: LeafAttributes[]): LeafAttributes {
  for (const attrs of candidates) {
    try {
      k.arch.codec.encode({ kind: 'leaf', pa: 0, attrs }, level);
      return attrs;
    } catch (e) {
      if (!isMmError(e)) throw e;
    }
  }
  throw new Error('no candidate encodes');
}

/** Descriptor addresses of `n` absent level-2 entries in the table that holds the heap's level-2 entry. */
function freeLevel2Slots(w: World, n: number): number[] {
  const { k, p, vpn } = w;
  const l2 = k.editor.lookup(p.root, vpn, 2);
  const bytes = k.arch.description.descriptorBytes;
  const index = k.arch.geometry.indexOf(vpn, 2);
  const base = l2.descriptorPa - index * bytes;
  const entries = k.arch.geometry.entries[2]!;
  const out: number[] = [];
  for (let i = index + 1; i < entries && out.length < n; i++) {
    const [lo, hi] = k.editor.readRaw(base + i * bytes);
    if (lo === 0 && hi === 0) out.push(base + i * bytes);
  }
  if (out.length < n) throw new Error('no free level-2 slots beside the heap');
  return out;
}

/** Links frame `pa` as an (empty) leaf table into the process's tables at each of `slots`. */
function linkTable(w: World, pa: number, slots: number[]): void {
  for (const dpa of slots)
    w.k.editor.writeEntry(dpa, { kind: 'table', pa, attrs: w.k.arch.defaults.userTable }, 2);
}

/** The heap page's leaf table. */
function leafTable(w: World): number {
  const e = w.k.editor.lookup(w.p.root, w.vpn, 2).entry;
  if (e.kind !== 'table') throw new Error('no leaf table');
  return e.pa;
}

const levelName = (w: World, level: number) => w.k.editor.levelName(level);

describe.each(configs)('audit() checks fire: $name', (cfg) => {
  describe('frames (invariant 1)', () => {
    it('a leaked user frame (allocated, not mapped)', () => {
      const w = world(cfg);
      const pa = w.k.allocator.alloc('user', w.p.pid);
      expect(audit(w.k).problems).toEqual([`user frame ${hex(pa)} has refcount 1 but 0 mapping(s): leaked`]);
    });

    it('a wrong refcount (a reference without a mapping)', () => {
      const w = world(cfg);
      w.k.allocator.ref(w.pa);
      expect(audit(w.k).problems).toEqual([`user frame ${hex(w.pa)} has refcount 2 but 1 mapping(s)`]);
    });

    it('a free frame still mapped', () => {
      const w = world(cfg);
      expect(w.k.allocator.unref(w.pa)).toBe(true); // freed, but the PTE still maps it
      w.k.rmap.remove(w.pa, w.p.space, w.vpn); // (the reverse map forgot it: only the PTE is wrong)
      expect(audit(w.k).problems).toEqual([`free frame ${hex(w.pa)} is mapped 1 time(s)`]);
    });

    it('a reserved frame mapped into user space', () => {
      const w = world(cfg);
      const r = w.k.allocator.alloc('kernel');
      w.k.allocator.free(r);
      expect(w.k.allocator.reserveRange(r, r + PAGE_SIZE, 'test: firmware')).toBe(1);
      w.k.allocator.unref(w.pa);
      w.k.rmap.remove(w.pa, w.p.space, w.vpn);
      rewriteLeaf(w.k, w.ref, r, w.leaf);
      expect(audit(w.k).problems).toEqual([`reserved frame ${hex(r)} is mapped into user space`]);
    });

    it('a page-table frame also mapped as user data', () => {
      const w = world(cfg);
      const t = leafTable(w);
      w.k.allocator.unref(w.pa);
      w.k.rmap.remove(w.pa, w.p.space, w.vpn);
      rewriteLeaf(w.k, w.ref, t, w.leaf);
      expect(audit(w.k).problems).toEqual([`page-table frame ${hex(t)} is also mapped as user data`]);
    });

    it('the allocator’s free count disagrees with the frame table', () => {
      const w = world(cfg);
      const real = w.k.allocator.freeCount;
      Object.defineProperty(w.k.allocator, 'freeCount', { get: () => real + 1 });
      expect(audit(w.k).problems).toEqual([
        `allocator says ${real + 1} free frames, frame table has ${real}`,
      ]);
    });

    it('a shared object’s reference is counted (and a lost one is reported)', () => {
      const w = world(cfg);
      const { k, p } = w;
      const r = k.mmap(p, 0, 4096, PROT.READ | PROT.WRITE, MAP.SHARED | MAP.ANONYMOUS);
      if (!r.ok) throw new Error('mmap');
      expect(k.store(p, r.value, 4, 7).ok).toBe(true);
      const ref = k.lookup(p, r.value)!;
      const pa = ref.entry.kind === 'leaf' ? ref.entry.pa : -1;
      expect(k.allocator.refCount(pa)).toBe(2); // the object's own reference + the PTE's
      expect(audit(k).problems).toEqual([]); // so the object's reference must be counted
      const obj = p.vmas.find(vpnOf(r.value))!.value.shm!;
      obj.pages.delete(0); // the object forgets its page, the frame keeps its reference
      expect(audit(k).problems).toEqual([`user frame ${hex(pa)} has refcount 2 but 1 mapping(s)`]);
    });
  });

  describe('page-table frames (invariant 1)', () => {
    it('a leaked page-table frame', () => {
      const w = world(cfg);
      const t = w.k.allocator.alloc('page-table', w.p.pid);
      expect(audit(w.k).problems).toEqual([
        `page-table frame ${hex(t)} (owner ${w.p.pid}) is unreachable: leaked`,
      ]);
    });

    it('a table frame reachable twice', () => {
      const w = world(cfg);
      const t = w.k.allocator.alloc('page-table', w.p.pid);
      linkTable(w, t, freeLevel2Slots(w, 2));
      w.p.space.tablePages += 2; // the counter agrees: only the double reachability is wrong
      expect(audit(w.k).problems).toEqual([
        `table frame ${hex(t)} reachable twice (pid ${w.p.pid} ${levelName(w, 1)}, already owned by ${w.p.pid})`,
      ]);
    });

    it('a table frame in the wrong state (a kernel frame)', () => {
      const w = world(cfg);
      const f = w.k.allocator.alloc('kernel');
      linkTable(w, f, freeLevel2Slots(w, 1));
      w.p.space.tablePages++;
      expect(audit(w.k).problems).toEqual([
        `table frame ${hex(f)} (pid ${w.p.pid} ${levelName(w, 1)}) is in state kernel, expected page-table`,
      ]);
    });

    it('a table frame marked user (a user frame linked as a table: also a leaked user frame)', () => {
      const w = world(cfg);
      const f = w.k.allocator.alloc('user', w.p.pid);
      linkTable(w, f, freeLevel2Slots(w, 1));
      w.p.space.tablePages++;
      expect(audit(w.k).problems).toEqual([
        `table frame ${hex(f)} (pid ${w.p.pid} ${levelName(w, 1)}) is in state user, expected page-table`,
        `user frame ${hex(f)} has refcount 1 but 0 mapping(s): leaked`,
      ]);
    });

    it('a free frame used as a table', () => {
      const w = world(cfg);
      const f = w.k.allocator.alloc('kernel');
      w.k.allocator.free(f);
      linkTable(w, f, freeLevel2Slots(w, 1));
      w.p.space.tablePages++;
      expect(audit(w.k).problems).toEqual([
        `table frame ${hex(f)} (pid ${w.p.pid} ${levelName(w, 1)}) is in state free, expected page-table`,
        `free frame ${hex(f)} is used as a page table`,
      ]);
    });

    it('a table frame owned by another pid', () => {
      const w = world(cfg);
      const other = w.k.createProcess();
      const t = leafTable(w);
      w.k.allocator.setOwner(t, other.pid);
      expect(audit(w.k).problems).toEqual([
        `table frame ${hex(t)} (pid ${w.p.pid} ${levelName(w, 1)}) has owner ${other.pid}, expected ${w.p.pid}`,
      ]);
    });

    it('a kernel table frame owned by a process', () => {
      const w = world(cfg);
      const root = w.k.kernelRoot;
      w.k.allocator.setOwner(root, w.p.pid);
      const rootName = levelName(w, w.k.arch.geometry.rootLevel);
      expect(audit(w.k).problems).toEqual([
        `table frame ${hex(root)} (kernel ${rootName}) has owner ${w.p.pid}, expected -1`,
      ]);
    });
  });

  describe('user leaves and VMAs (invariant 3)', () => {
    it('a PTE outside any VMA', () => {
      const w = world(cfg);
      w.p.vmas.removeRange(w.vpn, w.vpn + 1);
      expect(audit(w.k).problems).toEqual([
        `pid ${w.p.pid}: ${hex(w.va, 16)} (1 pages) is mapped outside any VMA`,
      ]);
    });

    it('a PTE granting write where its VMA is read-only', () => {
      const w = world(cfg);
      const { k, p } = w;
      expect(k.mprotect(p, w.va, 4096, PROT.READ)).toMatchObject({ ok: true });
      expect(audit(k).problems).toEqual([]);
      const ro = (k.lookup(p, w.va)!.entry as { attrs: LeafAttributes }).attrs;
      const rw = encodable(k, w.ref.level, [
        { ...ro, user: { ...ro.user, write: true }, kernel: { ...ro.kernel, write: true }, dirty: true },
      ]);
      rewriteLeaf(k, w.ref, w.pa, rw);
      const allowed = k.arch.description.capabilities.noExecute ? 'r--' : 'r-x';
      expect(audit(k).problems).toEqual([
        `pid ${p.pid}: ${hex(w.va, 16)} grants user ${perm(rw.user)} but its VMA [heap] allows ${allowed}`,
      ]);
    });

    it.runIf(cfg.arch().description.capabilities.noExecute)(
      'a PTE granting execute where its VMA is rw-',
      () => {
        const w = world(cfg);
        const x = { ...w.leaf.user, execute: true };
        const rwx = encodable(w.k, w.ref.level, [
          { ...w.leaf, user: x },
          { ...w.leaf, user: x, kernel: { ...w.leaf.kernel, execute: true } },
        ]);
        rewriteLeaf(w.k, w.ref, w.pa, rwx);
        expect(audit(w.k).problems).toEqual([
          `pid ${w.p.pid}: ${hex(w.va, 16)} grants user rwx but its VMA [heap] allows rw-`,
        ]);
      },
    );

    it('a device PTE pointing outside its VMA’s physical range', () => {
      const w = world(cfg);
      const { k, p } = w;
      // The largest MMIO window (a PCI hole): no RAM, nothing the allocator manages.
      const window = [...k.machine.mmio].sort((a, b) => b.end - b.start - (a.end - a.start))[0]!;
      const dev = window.start;
      const r = k.mmap(p, 0, 4096, PROT.READ | PROT.WRITE, MAP.SHARED | MAP.POPULATE, {
        physical: dev,
        name: 'dev',
      });
      if (!r.ok) throw new Error(`mmap: ${r.errno}`);
      const ref = k.lookup(p, r.value)!;
      expect(ref.entry).toMatchObject({ kind: 'leaf', pa: dev });
      expect(audit(k).problems).toEqual([]);
      const wrong = dev + 16 * PAGE_SIZE;
      rewriteLeaf(k, ref, wrong, (ref.entry as { attrs: LeafAttributes }).attrs);
      expect(audit(k).problems).toEqual([
        `pid ${p.pid}: device page ${hex(r.value, 16)} maps ${hex(wrong)}, not the VMA's physical range`,
      ]);
    });

    it('a leaf outside the user half (a huge leaf straddling its end)', () => {
      const k = boot(cfg);
      const p = k.createProcess();
      const huge = k.arch.geometry.entryPages[2]! * PAGE_SIZE;
      const r = k.mmap(p, 0, huge, PROT.READ | PROT.WRITE, PRIVATE | MAP.HUGETLB | MAP.POPULATE);
      if (!r.ok) throw new Error('mmap');
      const ref = k.lookup(p, r.value)!;
      expect([ref.entry.kind, ref.level]).toEqual(['leaf', 2]);
      expect(audit(k).problems).toEqual([]);
      // The kernel's idea of the user half ends in the middle of the huge leaf.
      const { start } = k.userVpnRange;
      const end = vpnOf(r.value) + 1;
      Object.defineProperty(k, 'userVpnRange', { get: () => ({ start, end }) });
      expect(audit(k).problems).toEqual([`pid ${p.pid}: leaf ${hex(r.value, 16)} outside the user half`]);
    });

    it('a user-accessible kernel leaf', () => {
      const w = world(cfg);
      const { k } = w;
      let first:
        | { vpn: number; level: number; descriptorPa: number; pa: number; attrs: LeafAttributes }
        | undefined;
      k.editor.forEachLeaf(
        { root: k.kernelRoot, baseVpn: k.kernelRootBaseVpn, skipRootIndex: k.recursiveSlot },
        (leaf) => {
          first ??= leaf;
        },
      );
      if (!first) throw new Error('no kernel leaf');
      const a = first.attrs;
      const user = encodable(k, first.level, [
        { ...a, user: { read: true, write: a.kernel.write, execute: a.kernel.execute } },
        { ...a, user: { read: true, write: false, execute: false } },
      ]);
      rewriteLeaf(
        k,
        { level: first.level, descriptorPa: first.descriptorPa, entry: { kind: 'absent' } },
        first.pa,
        user,
      );
      expect(audit(k).problems).toEqual([`kernel leaf at ${hex(vaOf(first.vpn), 16)} is user-accessible`]);
    });
  });

  describe('processes and counters', () => {
    it('resident counter disagrees with the tables', () => {
      const w = world(cfg);
      w.p.space.residentPages++;
      expect(audit(w.k).problems).toEqual([`process ${w.p.pid} counts 2 resident pages, tables map 1`]);
    });

    it('the O(1) RSS (the reverse map’s per-space count) disagrees with the tables', () => {
      const w = world(cfg);
      const f = w.k.fork(w.p); // two spaces with entries: the corruption must name the right pid
      if (!f.ok) throw new Error('fork');
      expect(audit(w.k).problems).toEqual([]);
      // Behind the kernel's back: the count alone, no chain changes (a private field, reached by a cast).
      const rmap = w.k.rmap as unknown as { ids: Map<unknown, number>; idEntries: number[] };
      const id = rmap.ids.get(f.process.space)!;
      expect(f.process.rssPages).toBe(1);
      rmap.idEntries[id]! += 2;
      expect(f.process.rssPages).toBe(3);
      expect(w.k.memoryStats(f.process).rssPages).toBe(3); // memoryStats reads the same count
      expect(audit(w.k).problems).toEqual([
        `process ${f.process.pid} counts 3 RSS pages, tables map 1 pages of user frames`,
      ]);
      rmap.idEntries[id] = 0;
      expect(audit(w.k).problems).toEqual([
        `process ${f.process.pid} counts 0 RSS pages, tables map 1 pages of user frames`,
      ]);
      rmap.idEntries[id] = 1;
      expect(audit(w.k).problems).toEqual([]);
    });

    it('table counter disagrees with the tables', () => {
      const w = world(cfg);
      const n = w.p.tablePages;
      w.p.space.tablePages--;
      expect(audit(w.k).problems).toEqual([
        `process ${w.p.pid} counts ${n - 1} table pages, tables have ${n}`,
      ]);
    });

    it('an ended process still holding pages and tables', () => {
      const w = world(cfg);
      w.k.exit(w.p);
      expect(audit(w.k).problems).toEqual([]);
      w.p.space.residentPages = 1;
      w.p.space.tablePages = 2;
      expect(audit(w.k).problems).toEqual([
        `ended process ${w.p.pid} still holds root 0x0, 1 pages, 2 tables`,
      ]);
    });

    it('an ended process still holding its root', () => {
      const w = world(cfg);
      const root = w.p.root;
      w.k.exit(w.p);
      w.p.space.root = root;
      expect(audit(w.k).problems).toEqual([
        `ended process ${w.p.pid} still holds root ${hex(root)}, 0 pages, 0 tables`,
      ]);
    });

    it('a process without a root that counts pages', () => {
      const k = boot(cfg);
      const q = k.createProcess();
      q.space.residentPages = 1;
      expect(audit(k).problems).toEqual([`process ${q.pid} has no root but counts pages`]);
    });
  });

  describe('stale TLB entries (invariant 4)', () => {
    const stale = (w: World, cpu = 0) =>
      `cpu ${cpu}: TLB entry for ${hex(w.va, 16)} (ASID ${w.p.asid}) is stale`;

    it('a PTE removed without TLBI: audit reports it and strict mode throws StaleTlbError', () => {
      const w = world(cfg, { strictTlb: true });
      const { k, p } = w;
      // A kernel that does everything right except the invalidation.
      k.editor.writeRaw(w.ref.descriptorPa, 0, 0);
      p.space.residentPages--;
      k.rmap.remove(w.pa, p.space, w.vpn);
      k.allocator.unref(w.pa);
      expect(audit(k).problems).toEqual([`${stale(w)}: the tables no longer map it`]);
      expect(() => k.load(p, w.va, 8)).toThrow(StaleTlbError);
    });

    it('the same removal with the TLBI is clean and strict mode is quiet', () => {
      const w = world(cfg, { strictTlb: true });
      const { k, p } = w;
      k.editor.writeRaw(w.ref.descriptorPa, 0, 0);
      p.space.residentPages--;
      k.rmap.remove(w.pa, p.space, w.vpn);
      k.allocator.unref(w.pa);
      flushAll(k);
      expect(audit(k).problems).toEqual([]);
      expect(k.load(p, w.va, 8)).toEqual({ ok: true, value: 0n }); // demand-zero again
    });

    it('a PTE pointed at another frame without TLBI', () => {
      const w = world(cfg, { strictTlb: true });
      const { k, p } = w;
      const other = k.allocator.alloc('user', p.pid);
      k.rmap.remove(w.pa, p.space, w.vpn);
      k.rmap.add(other, p.space, w.vpn);
      k.anonExclusive.set(other); // the page this PTE maps now is its own (a correct mapping but for the TLB)
      k.allocator.unref(w.pa);
      rewriteLeaf(k, w.ref, other, w.leaf, false);
      expect(audit(k).problems).toEqual([
        `${stale(w)}: it maps frame ${hex(w.pa)}, the tables ${hex(other)}`,
      ]);
      expect(() => k.load(p, w.va, 8)).toThrow(StaleTlbError);
    });

    it('a PTE downgraded to read-only without TLBI', () => {
      const w = world(cfg, { strictTlb: true });
      const { k, p } = w;
      const ro = encodable(k, w.ref.level, [
        {
          ...w.leaf,
          user: { ...w.leaf.user, write: false },
          kernel: { ...w.leaf.kernel, write: false },
          dirty: false,
        },
      ]);
      rewriteLeaf(k, w.ref, w.pa, ro, false);
      const problems = audit(k).problems;
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        new RegExp(`^${escapeRegExp(stale(w))}: it allows user write(, kernel write)?, the leaf does not$`),
      );
      expect(() => k.store(p, w.va, 8, 1n)).toThrow(StaleTlbError);
    });

    it.runIf(cfg.arch().description.capabilities.asidBits > 0)(
      'an entry whose ASID belongs to no live process',
      () => {
        const w = world(cfg);
        const { k } = w;
        const asid = 2 ** k.arch.description.capabilities.asidBits - 1;
        const tlb = k.cpus[0]!.tlb;
        const i = tlb.lookup(w.vpn, w.p.asid);
        expect(i).toBeGreaterThanOrEqual(0);
        // An exited process's entry that survived (its ASID was never invalidated).
        const vpn = w.vpn + 7;
        tlb.fill(vpn, asid, false, tlb.pfn[i]!, tlb.perms[i]!, tlb.memoryType[i]!, 1, vpn, 1);
        expect(audit(k).problems).toEqual([
          `cpu 0: TLB entry for ${hex(vaOf(vpn), 16)} (ASID ${asid}) is stale: no live process has ASID ${asid}`,
        ]);
      },
    );
  });
});

describe.each(configs)('audit() copy-on-write checks fire: $name', (cfg) => {
  /** The world, forked: the heap page is shared copy-on-write by parent and child. */
  function forked(opts: Partial<KernelOptions> = {}) {
    const w = world(cfg, opts);
    const f = w.k.fork(w.p);
    if (!f.ok) throw new Error('fork');
    expect(audit(w.k).problems).toEqual([]);
    return { ...w, child: f.process };
  }

  it('a PTE whose page the reverse map does not list (invariant 5)', () => {
    const w = forked();
    w.k.rmap.remove(w.pa, w.child.space, w.vpn);
    expect(audit(w.k).problems).toEqual([
      `pid ${w.child.pid}: ${hex(w.va, 16)} maps frame ${hex(w.pa)} but the reverse map does not list it`,
      // The O(1) RSS is the reverse map's count, so it is one short too.
      `process ${w.child.pid} counts 0 RSS pages, tables map 1 pages of user frames`,
    ]);
  });

  it('a reverse-map entry for a page that maps nothing, or another frame (invariant 5)', () => {
    const w = forked();
    w.k.rmap.add(w.pa, w.p.space, w.vpn + 5);
    expect(audit(w.k).problems).toEqual([
      `process ${w.p.pid} counts 2 RSS pages, tables map 1 pages of user frames`, // one entry too many
      `reverse map: frame ${hex(w.pa)} lists pid ${w.p.pid} ${hex(vaOf(w.vpn + 5), 16)}, which maps nothing`,
    ]);
    w.k.rmap.remove(w.pa, w.p.space, w.vpn + 5);
    const other = w.k.allocator.alloc('user', w.p.pid);
    w.k.rmap.add(other, w.p.space, w.vpn);
    expect(audit(w.k).problems).toEqual([
      `process ${w.p.pid} counts 2 RSS pages, tables map 1 pages of user frames`,
      `reverse map: frame ${hex(other)} lists pid ${w.p.pid} ${hex(w.va, 16)}, which maps ${hex(w.pa)}`,
      `user frame ${hex(other)} has refcount 1 but 0 mapping(s): leaked`,
    ]);
  });

  it('a reverse-map entry of an ended process’s space (invariant 5)', () => {
    const w = forked();
    const old = w.child.space;
    w.k.exit(w.child);
    expect(audit(w.k).problems).toEqual([]);
    w.k.rmap.add(w.pa, old, w.vpn);
    expect(audit(w.k).problems).toEqual([
      `reverse map: frame ${hex(w.pa)} lists page ${hex(w.va, 16)} of an address space no live process has`,
    ]);
  });

  it('reverse-map entries on a frame that is not a user frame (invariant 5)', () => {
    const w = forked();
    const t = leafTable(w);
    w.k.rmap.add(t, w.p.space, w.vpn + 9);
    expect(audit(w.k).problems).toEqual([
      `process ${w.p.pid} counts 2 RSS pages, tables map 1 pages of user frames`, // one entry too many
      `page-table frame ${hex(t)} has 1 reverse-map entries`,
    ]);
  });

  it('a refcount that the fork did not raise (refcount ≠ PTEs + shared-object holds)', () => {
    const w = forked();
    w.k.allocator.unref(w.pa);
    expect(audit(w.k).problems).toEqual([`user frame ${hex(w.pa)} has refcount 1 but 2 mapping(s)`]);
  });

  it('a page shared copy-on-write but writable in one process (invariant 6)', () => {
    const w = forked();
    const ref = w.k.lookup(w.child, w.va)!;
    rewriteLeaf(w.k, ref, w.pa, w.leaf); // the writable attributes the parent had before the fork
    expect(audit(w.k).problems).toEqual([
      `pid ${w.child.pid}: ${hex(w.va, 16)} maps private frame ${hex(w.pa)} writable, but 2 PTEs map it: copy-on-write broken`,
    ]);
  });

  it('the zero page written, or mapped writable (invariant 7)', () => {
    const w = forked();
    const z = w.k.zeroPage;
    w.k.memory.write8(z + 100, 1);
    expect(audit(w.k).problems).toEqual([`zero page ${hex(z)} was written: it no longer reads as zeros`]);
    w.k.memory.write8(z + 100, 0);
    // A read fault maps the zero page; then a broken kernel makes that leaf writable.
    const va = w.va + 0x1000n;
    expect(w.k.brk(w.p, va + 0x1000n)).toBe(va + 0x1000n);
    expect(w.k.load(w.p, va, 8)).toEqual({ ok: true, value: 0n });
    const ref = w.k.lookup(w.p, va)!;
    expect(ref.entry.kind === 'leaf' && ref.entry.pa).toBe(z);
    rewriteLeaf(w.k, ref, z, w.leaf);
    expect(audit(w.k).problems).toEqual([`pid ${w.p.pid}: ${hex(va, 16)} maps the zero page writable`]);
  });

  it('the zero page in the reverse map (invariant 7)', () => {
    const w = forked();
    const z = w.k.zeroPage;
    w.k.rmap.add(z, w.p.space, w.vpn + 3);
    expect(audit(w.k).problems).toEqual([
      `process ${w.p.pid} counts 2 RSS pages, tables map 1 pages of user frames`, // one entry too many
      `reserved frame ${hex(z)} has 1 reverse-map entries`,
      `zero page ${hex(z)} has reverse-map entries`,
    ]);
  });

  it('strict mode reports a fork that write-protects the parent without invalidating its TLB entries', () => {
    const w = world(cfg, { strictTlb: true });
    const { k, p } = w;
    k.discharge = () => {}; // a broken kernel: obligations are dropped
    expect(() => k.fork(p)).toThrow(UndischargedFlushError);
    const problems = audit(k).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^cpu 0: TLB entry for .* is stale: it allows user write(, kernel write)?, the leaf does not$/,
    );
    expect(() => k.store(p, w.va, 8, 1n)).toThrow(StaleTlbError);
  });
});

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('permitted attributes are derived independently of the fault path', () => {
  const protName = (prot: number) =>
    `${prot & PROT.READ ? 'r' : '-'}${prot & PROT.WRITE ? 'w' : '-'}${prot & PROT.EXEC ? 'x' : '-'}`;

  // What Linux and the hardware allow, per prot (PROT_NONE … rwx), written out by hand.
  const expected: Record<string, string[]> = {
    // Exact, except PROT_WRITE implies read.
    'aarch64 on virt': ['---', 'r--', 'rw-', 'rw-', '--x', 'r-x', 'rwx', 'rwx'],
    // U/S = 1 always grants read: execute-only becomes r-x.
    'x86_64 on pc': ['---', 'r--', 'rw-', 'rw-', 'r-x', 'r-x', 'rwx', 'rwx'],
    'x86_64-la57 on pc': ['---', 'r--', 'rw-', 'rw-', 'r-x', 'r-x', 'rwx', 'rwx'],
    'x86-pae on pc': ['---', 'r--', 'rw-', 'rw-', 'r-x', 'r-x', 'rwx', 'rwx'],
    // No execute-disable at all: readable is executable.
    'x86-32 on pc': ['---', 'r-x', 'rwx', 'rwx', 'r-x', 'r-x', 'rwx', 'rwx'],
  };

  it.each(configs)('$name: prot → permitted user access, at every leaf level', (cfg) => {
    const arch = cfg.arch();
    for (const level of arch.geometry.leafLevels) {
      const got = [0, 1, 2, 3, 4, 5, 6, 7].map((prot) =>
        perm(permittedUserAccess(arch, prot, 'normal-wb', level)),
      );
      expect(got, `level ${level}`).toEqual(expected[cfg.name]);
    }
  });

  /** Maps one populated page for every prot (private anon, and shared for the readable ones). */
  function everyProt(k: Kernel, p: Process): bigint[] {
    const out: bigint[] = [];
    for (let prot = 0; prot < 8; prot++) {
      // MAP_POPULATE leaves a PROT_NONE mapping empty (populate_vma_page_range: not accessible,
      // EFAULT, ignored): that page is populated readable, then made PROT_NONE.
      const r = k.mmap(p, 0, 4096, prot || PROT.READ, PRIVATE | MAP.POPULATE, {
        name: `prot ${protName(prot)}`,
      });
      if (!r.ok) throw new Error(`mmap ${protName(prot)}`);
      out.push(r.value);
      if (prot === 0) {
        if (!k.mprotect(p, r.value, 4096, PROT.NONE).ok) throw new Error('mprotect PROT_NONE');
        continue;
      }
      const s = k.mmap(p, 0, 4096, prot, MAP.SHARED | MAP.ANONYMOUS | MAP.POPULATE);
      if (!s.ok) throw new Error(`mmap shared ${protName(prot)}`);
    }
    return out;
  }

  it.each(configs)('$name: the kernel’s own attributes audit clean for every prot', (cfg) => {
    const k = boot(cfg);
    const p = k.createProcess();
    const vas = everyProt(k, p);
    for (const va of vas) expect(k.lookup(p, va)!.entry.kind).toBe('leaf');
    expect(p.residentPages).toBe(15);
    expect(audit(k).problems).toEqual([]);
    // mprotect through every prot keeps it clean.
    for (let prot = 0; prot < 8; prot++) {
      expect(k.mprotect(p, vas[7]!, 4096, prot)).toMatchObject({ ok: true });
      expect(audit(k).problems).toEqual([]);
    }
  });

  it.each(configs)('$name: an attrsFor that grants write to read-only VMAs is caught', (cfg) => {
    const k = boot(cfg, { zeroPage: false }); // a populated read-only page gets its own frame
    const p = k.createProcess();
    const original = k.attrsFor.bind(k);
    const originalDirty = k.dirtyAttrsFor.bind(k);
    // A broken attribute choice: every VMA's pages get user write as well (the permissions a
    // fault installs come from dirtyAttrsFor, attrsFor's dirty form).
    k.attrsFor = (v, level) => original(vmaWith(v, { prot: v.prot | PROT.WRITE }), level);
    k.dirtyAttrsFor = (v, level) => originalDirty(vmaWith(v, { prot: v.prot | PROT.WRITE }), level);
    const r = k.mmap(p, 0, 4096, PROT.READ, PRIVATE | MAP.POPULATE, { name: 'ro' });
    if (!r.ok) throw new Error('mmap');
    const ref = k.lookup(p, r.value)!;
    const granted = ref.entry.kind === 'leaf' ? perm(ref.entry.attrs.user) : '';
    expect(granted).toMatch(/^rw/);
    const allowed = k.arch.description.capabilities.noExecute ? 'r--' : 'r-x';
    expect(audit(k).problems).toEqual([
      // The VMA's name as given to mmap (/proc/PID/maps shows it as [anon:ro]).
      `pid ${p.pid}: ${hex(r.value, 16)} grants user ${granted} but its VMA ro allows ${allowed}`,
    ]);
  });

  it.runIf(configs.some((c) => c.arch().description.capabilities.noExecute))(
    'an attrsFor that grants execute is caught on every configuration with execute-never',
    () => {
      for (const cfg of configs.filter((c) => c.arch().description.capabilities.noExecute)) {
        const k = boot(cfg);
        const p = k.createProcess();
        const original = k.attrsFor.bind(k);
        k.attrsFor = (v, level) => original(vmaWith(v, { prot: v.prot | PROT.EXEC }), level);
        const r = k.mmap(p, 0, 4096, PROT.READ, PRIVATE | MAP.POPULATE, { name: 'data' });
        if (!r.ok) throw new Error('mmap');
        expect(audit(k).problems, cfg.name).toEqual([
          `pid ${p.pid}: ${hex(r.value, 16)} grants user r-x but its VMA data allows r--`,
        ]);
      }
    },
  );
});
