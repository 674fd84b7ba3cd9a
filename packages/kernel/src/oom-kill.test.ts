/**
 * The OOM killer (mm/oom_kill.c): badness numbers computed by hand (RSS + swap entries + the page
 * tables Linux counts + oom_score_adj scaled by totalpages / 1000), the victim's choice (−1000,
 * +1000, ties, the faulting process itself, nobody eligible), the retry after the kill, the
 * victim's frames all back, the event's fields, fork, the option off, and an allocation failure
 * injected at every allocation point of the retry path — on all five configurations, with strict
 * TLB mode and audit() after each.
 */

import { readFileSync } from 'node:fs';
import type { MmEvent, OomKillEvent } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel, type KernelOptions } from './kernel.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, type TestConfig } from './test-fixtures.js';

const MiB = 2 ** 20;
/** The property test's seed (fixed, so a run reproduces; override with OOM_PROPERTY_SEED). */
const SEED = Number(process.env.OOM_PROPERTY_SEED ?? 42);
const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * MiB);
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;
/** Every test process maps its memory here: 1 GiB, aligned for every table level of every format. */
const BASE = 0x4000_0000n;

/**
 * Hand-computed per configuration (arch-facts: 4 KiB pages; 512-entry tables, 1024 on 32-bit x86):
 * - `total`: frames the allocator manages (Linux totalram_pages): 32 MiB less the boards' reserved
 *   ranges (firmware, kernel image, the zero page …), no swap;
 * - `pgtables`: the tables Linux counts (PTE + PMD + PUD, not the PGD root, not a P4D) for memory
 *   inside one leaf table: AArch64 L1+L2+L3 = 3, x86-64 PDPT+PD+PT = 3, LA57 the same (the PML4
 *   is the P4D) = 3, PAE PD+PT = 2, 32-bit PT = 1;
 * - `tables`: every table frame of such a process, root included (what its exit frees).
 */
const HAND: Record<string, { total: number; pgtables: number; tables: number }> = {
  'aarch64 on virt': { total: 7551, pgtables: 3, tables: 4 },
  'x86_64 on pc': { total: 7383, pgtables: 3, tables: 4 },
  'x86_64-la57 on pc': { total: 7383, pgtables: 3, tables: 5 },
  'x86-pae on pc': { total: 7383, pgtables: 2, tables: 3 },
  'x86-32 on pc': { total: 7383, pgtables: 1, tables: 2 },
};

type Oom = OomKillEvent;

interface Env {
  readonly k: Kernel;
  readonly events: MmEvent[];
  readonly hand: { total: number; pgtables: number; tables: number };
}

function boot(c: TestConfig, opts: Partial<KernelOptions> = {}): Env {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, ...opts });
  const events: MmEvent[] = [];
  // pid 1 (the global init) is never the OOM killer's victim (oom_unkillable_task): it is used
  // up here, so the processes under test are ordinary ones (pid 1 has its own tests in
  // slow-path.test.ts).
  k.exit(k.createProcess());
  k.events.on((e) => events.push(e));
  return { k, events, hand: HAND[c.name]! };
}

/** A process with `pages` written private pages at BASE (and `adj` as its oom_score_adj). */
function proc(k: Kernel, pages: number, adj = 0): Process {
  const p = k.createProcess();
  const r = k.mmap(p, BASE, 256 * 4096, RW, PRIV | MAP.FIXED);
  if (!r.ok) throw new Error(r.detail);
  for (let i = 0; i < pages; i++)
    expect(k.store(p, BASE + BigInt(i) * PAGE, 8, BigInt(i + 1))).toMatchObject({ ok: true });
  if (adj !== 0) expect(k.setOomScoreAdj(p, adj)).toEqual({ ok: true, value: 0 });
  return p;
}

const ooms = (e: Env): Oom[] => e.events.filter((x): x is Oom => x.type === 'oom-kill');
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);
/** A store to page `i` of BASE (one more page in a leaf table that exists: one frame). */
const touch = (k: Kernel, p: Process, i: number) => k.store(p, BASE + BigInt(i) * PAGE, 8, 0x55n);

describe.each(CONFIGS)('OOM killer: $name', (c) => {
  it('badness = rss + swap entries + counted page tables + adj × (totalpages / 1000); oom_score as proc_oom_score', () => {
    const { k, hand } = boot(c);
    expect(k.allocator.totalCount).toBe(hand.total);
    const t = Math.trunc(hand.total / 1000); // 7: Linux divides first
    const p = proc(k, 10);
    expect(p.tablePages).toBe(hand.tables);
    expect(k.oomBadness(p)).toBe(10 + hand.pgtables);
    // proc_oom_score: (1000 + badness * 1000 / totalpages) * 2 / 3, C integer division.
    expect(k.oomScore(p)).toBe(
      Math.trunc(((1000 + Math.trunc(((10 + hand.pgtables) * 1000) / hand.total)) * 2) / 3),
    );
    expect(k.oomScore(p)).toBe(667); // 11..13 pages of 7383..7551 are 1 per mille: (1000 + 1) * 2 / 3
    // Read faults map the zero page: not counted. A shared mapping's pages count (shmem).
    const z = k.mmap(p, BASE + 300n * PAGE, 3 * 4096, RW, PRIV | MAP.FIXED);
    expect(z.ok).toBe(true);
    for (let i = 0; i < 3; i++) expect(k.load(p, BASE + BigInt(300 + i) * PAGE, 8).ok).toBe(true);
    expect(k.oomBadness(p)).toBe(10 + hand.pgtables);
    const s = k.mmap(p, BASE + 400n * PAGE, 2 * 4096, RW, MAP.SHARED | MAP.ANONYMOUS | MAP.FIXED);
    expect(s.ok).toBe(true);
    expect(touch(k, p, 400).ok && touch(k, p, 401).ok).toBe(true);
    expect(k.oomBadness(p)).toBe(12 + hand.pgtables);
    // Swap entries count one each (the swap code maintains the counter).
    p.space.swapEntries = 5;
    expect(k.oomBadness(p)).toBe(17 + hand.pgtables);
    p.space.swapEntries = 0;
    // A page shared copy-on-write counts in every process that maps it (MM_ANONPAGES); the
    // shared mapping's pages only once the child maps them (fork copies none of its PTEs: Linux
    // vma_needs_copy, shmem has no anon_vma), as MM_SHMEMPAGES.
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    expect(k.oomBadness(f.process)).toBe(10 + hand.pgtables);
    expect(touch(k, f.process, 400).ok && touch(k, f.process, 401).ok).toBe(true);
    expect(k.oomBadness(f.process)).toBe(12 + hand.pgtables);
    // oom_score_adj scales by totalpages / 1000 (integer); −1000 is never chosen.
    expect(k.setOomScoreAdj(p, 500).ok).toBe(true);
    expect(k.oomBadness(p)).toBe(12 + hand.pgtables + 500 * t);
    expect(k.setOomScoreAdj(p, -3).ok).toBe(true);
    expect(k.oomBadness(p)).toBe(12 + hand.pgtables - 3 * t);
    expect(k.setOomScoreAdj(p, -1000).ok).toBe(true);
    expect(k.oomBadness(p)).toBeUndefined();
    expect(k.oomScore(p)).toBe(0);
    expect(k.setOomScoreAdj(p, 1000).ok).toBe(true);
    expect(k.oomScore(p)).toBe(
      Math.trunc(((1000 + Math.trunc(((12 + hand.pgtables + 1000 * t) * 1000) / hand.total)) * 2) / 3),
    );
    clean(k);
  });

  it('kills the process with the highest badness, never a −1000 one, and the faulting store is retried', () => {
    const e = boot(c);
    const { k, hand } = e;
    const a = proc(k, 4);
    const b = proc(k, 40);
    const big = proc(k, 80, -1000);
    const release = leaveFree(k, 0);
    e.events.length = 0;
    expect(touch(k, a, 4)).toEqual({ ok: true, value: 0 });
    expect(b.state).toBe('killed');
    expect(b.killReason).toBe('out of memory');
    expect(b.killSignal).toEqual({ signal: 'SIGKILL', code: 'SI_KERNEL' });
    expect(a.alive && big.alive).toBe(true);
    // Every frame of the victim came back (its pages and tables), less the one the retry took.
    expect(k.allocator.freeCount).toBe(40 + hand.tables - 1);
    expect(k.load(a, BASE + 4n * PAGE, 8)).toEqual({ ok: true, value: 0x55n });
    const [oom] = ooms(e);
    expect(ooms(e)).toHaveLength(1);
    expect(oom!.victim).toMatchObject({ pid: b.pid, points: 40 + hand.pgtables, oomScoreAdj: 0 });
    expect(oom!.trigger).toEqual({
      pid: a.pid,
      name: `pid ${a.pid}`,
      oomScoreAdj: 0,
      allocation: 'page fault at 0x40004000',
    });
    // The fault is reported first, then the report, then the kill and the retry's mapping.
    const order = e.events.map((x) => (x.type === 'process' ? `process ${x.action}` : x.type));
    expect(order.indexOf('fault')).toBeLessThan(order.indexOf('oom-kill'));
    expect(order.indexOf('oom-kill')).toBeLessThan(order.indexOf('process kill'));
    expect(order.lastIndexOf('map')).toBeGreaterThan(order.indexOf('process kill'));
    clean(k);
    release();
    for (const p of [a, big]) k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it('oom_score_adj +1000 is chosen over a bigger process; of equal badness the last in task order is chosen', () => {
    const e = boot(c);
    const { k } = e;
    const small = proc(k, 2, 1000);
    const large = proc(k, 50);
    let release = leaveFree(k, 0);
    expect(touch(k, large, 50).ok).toBe(true);
    expect(small.state).toBe('killed');
    expect(large.alive).toBe(true);
    release();
    // Ties: oom_evaluate_task skips only a task with fewer points, so the later one replaces.
    const t1 = proc(k, 10);
    const t2 = proc(k, 10);
    expect(k.oomBadness(t1)).toBe(k.oomBadness(t2));
    expect(k.oomBadness(large)).toBeGreaterThan(k.oomBadness(t1)!);
    expect(k.setOomScoreAdj(large, -1000).ok).toBe(true);
    release = leaveFree(k, 0);
    e.events.length = 0;
    expect(touch(k, large, 51).ok).toBe(true);
    expect([t1.alive, t2.alive]).toEqual([true, false]);
    expect(ooms(e)[0]!.tasks.map((r) => r.pid)).toEqual([large.pid, t1.pid, t2.pid]);
    clean(k);
    release();
  });

  it('when the faulting process is the victim the fault ends with it killed (SIGKILL)', () => {
    const e = boot(c);
    const { k, hand } = e;
    const a = proc(k, 40);
    const b = proc(k, 4);
    const release = leaveFree(k, 0);
    expect(touch(k, a, 40)).toEqual({
      ok: false,
      killed: 'out of memory',
      signal: 'SIGKILL',
      code: 'SI_KERNEL',
    });
    expect(b.alive).toBe(true);
    expect(k.allocator.freeCount).toBe(40 + hand.tables);
    expect(ooms(e)[0]!.victim!.pid).toBe(a.pid);
    clean(k);
    release();
  });

  it('no eligible victim (all −1000): the faulting process is killed as without the killer, and the event says so', () => {
    const e = boot(c);
    const { k } = e;
    const a = proc(k, 4, -1000);
    const b = proc(k, 40, -1000);
    const release = leaveFree(k, 0);
    expect(touch(k, a, 4)).toMatchObject({ ok: false, killed: 'out of memory', code: 'SEGV_OOM' });
    expect(b.alive).toBe(true);
    const [oom] = ooms(e);
    expect(oom!.victim).toBeUndefined();
    expect(oom!.detail).toBe('Out of memory and no killable processes...');
    expect(oom!.tasks.map((r) => r.oomScoreAdj)).toEqual([-1000, -1000]);
    clean(k);
    release();
  });

  it('oomKiller: false keeps the old behaviour: the faulting process is killed (SEGV_OOM), fork fails', () => {
    const e = boot(c, { oomKiller: false });
    const { k } = e;
    const a = proc(k, 4);
    const b = proc(k, 40);
    const release = leaveFree(k, 0);
    expect(k.fork(a)).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(touch(k, a, 4)).toMatchObject({ ok: false, killed: 'out of memory', code: 'SEGV_OOM' });
    expect(b.alive).toBe(true);
    expect(ooms(e)).toEqual([]);
    clean(k);
    release();
  });

  it('fork runs the killer and retries; the child inherits oom_score_adj; a parent chosen itself gets ENOMEM', () => {
    const e = boot(c);
    const { k } = e;
    const a = proc(k, 4, 7); // 4 + tables + 7 × 7 points
    const b = proc(k, 100);
    let release = leaveFree(k, 0);
    const f = k.fork(a);
    if (!f.ok) throw new Error(f.errno);
    expect(b.state).toBe('killed');
    expect(f.process.oomScoreAdj).toBe(7);
    expect(ooms(e)[0]!.trigger.allocation).toBe('fork');
    expect(k.load(f.process, BASE, 8)).toEqual({ ok: true, value: 1n });
    clean(k);
    release();
    const big = proc(k, 60);
    release = leaveFree(k, 0);
    expect(k.fork(big)).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(big.state).toBe('killed');
    expect(a.alive && f.process.alive).toBe(true);
    clean(k);
    release();
  });

  it('exec and spawn run the killer and build the program again; a process chosen itself fails with ENOMEM', () => {
    const e = boot(c);
    const { k } = e;
    const image = { text: new Uint8Array(4096), data: new Uint8Array(8192) };
    const a = proc(k, 4);
    const b = proc(k, 60);
    let release = leaveFree(k, 0);
    expect(k.exec(a, image)).toEqual({ ok: true, value: 0 });
    expect(b.state).toBe('killed');
    expect(ooms(e).map((o) => [o.trigger.pid, o.trigger.allocation, o.victim?.pid])).toEqual([
      [a.pid, 'exec', b.pid],
    ]);
    clean(k);
    release();
    const big = proc(k, 80);
    release = leaveFree(k, 0);
    e.events.length = 0;
    const s = k.spawn(image);
    if (!s.ok) throw new Error(s.errno);
    expect(big.state).toBe('killed');
    expect(ooms(e)[0]!.trigger).toMatchObject({ pid: s.process.pid, allocation: 'exec' });
    clean(k);
    release();
    // Only −1000 processes besides the one being spawned (0 points): it is chosen and forgotten.
    for (const p of [a, s.process]) expect(k.setOomScoreAdj(p, -1000).ok).toBe(true);
    const pids = k.allProcesses.length;
    release = leaveFree(k, 0);
    e.events.length = 0;
    expect(k.spawn(image)).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(k.allProcesses.length).toBe(pids);
    expect(ooms(e)[0]!.victim).toMatchObject({ points: 0 });
    expect(k.allocator.freeCount).toBe(0);
    clean(k);
    // exec of the biggest process: it is the victim, exec fails, the process is gone.
    expect(k.setOomScoreAdj(a, 0).ok).toBe(true);
    expect(k.exec(a, image)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(a.state).toBe('killed');
    expect(k.allocator.freeCount).toBeGreaterThan(0); // its frames came back (audit: none leaked)
    clean(k);
    release();
  });

  it("the event has the fields of Linux's report line and dump_tasks", () => {
    const e = boot(c);
    const { k, hand } = e;
    const a = proc(k, 3);
    const b = proc(k, 40, 11);
    const s = k.mmap(b, BASE + 400n * PAGE, 2 * 4096, RW, MAP.SHARED | MAP.ANONYMOUS | MAP.FIXED);
    expect(s.ok && touch(k, b, 400).ok && touch(k, b, 401).ok).toBe(true);
    b.space.swapEntries = 0;
    const release = leaveFree(k, 0);
    expect(touch(k, a, 3).ok).toBe(true);
    const [oom] = ooms(e);
    // total_vm: the stack page + the 256-page mapping + the 2 shared pages.
    const kb = (pages: number) => pages * 4;
    expect(oom).toEqual({
      type: 'oom-kill',
      trigger: { pid: a.pid, name: `pid ${a.pid}`, oomScoreAdj: 0, allocation: 'page fault at 0x40003000' },
      constraint: 'CONSTRAINT_NONE',
      totalPages: hand.total,
      victim: {
        pid: b.pid,
        name: `pid ${b.pid}`,
        totalVmKb: kb(259),
        anonRssKb: kb(40),
        fileRssKb: 0,
        shmemRssKb: kb(2),
        uid: 0,
        pgtablesKb: kb(hand.pgtables),
        oomScoreAdj: 11,
        points: 42 + hand.pgtables + 11 * Math.trunc(hand.total / 1000),
      },
      tasks: [
        {
          pid: a.pid,
          uid: 0,
          tgid: a.pid,
          totalVmPages: 257,
          rssPages: 3,
          pgtablesBytes: hand.pgtables * 4096,
          swapEntries: 0,
          oomScoreAdj: 0,
          name: `pid ${a.pid}`,
        },
        {
          pid: b.pid,
          uid: 0,
          tgid: b.pid,
          totalVmPages: 259,
          rssPages: 42,
          pgtablesBytes: hand.pgtables * 4096,
          swapEntries: 0,
          oomScoreAdj: 11,
          name: `pid ${b.pid}`,
        },
      ],
      detail: `Out of memory: Killed process ${b.pid} (pid ${b.pid}) total-vm:1036kB, anon-rss:160kB, file-rss:0kB, shmem-rss:8kB, UID:0 pgtables:${hand.pgtables * 4}kB oom_score_adj:11`,
    });
    clean(k);
    release();
  });

  /** Operations whose retry path is injected with a failure; each must succeed in the end. */
  const RETRIED: readonly [string, (k: Kernel, p: Process) => boolean][] = [
    // A page far from BASE: its tables are allocated too.
    ['a page fault', (k, p) => k.store(p, BASE + 0x4000_0000n - PAGE, 8, 9n).ok],
    [
      'fork',
      (k, p) => {
        const f = k.fork(p);
        if (f.ok) k.exit(f.process);
        return f.ok;
      },
    ],
    ['exec', (k, p) => k.exec(p, { text: new Uint8Array(4096), data: new Uint8Array(8192) }).ok],
  ];

  it.each(RETRIED)(
    'an allocation failure injected at every allocation point of the retry path of %s: another victim, then success, nothing lost',
    (_name, op) => {
      const setupA = (k: Kernel) => {
        const a = proc(k, 1);
        expect(k.mmap(a, BASE + 0x4000_0000n - PAGE, 4096, RW, PRIV | MAP.FIXED).ok).toBe(true);
        return a;
      };
      // How many allocations the operation makes (with memory to spare).
      const dry = boot(c).k;
      const da = setupA(dry);
      let allocations = 0;
      const origDry = dry.allocator.alloc.bind(dry.allocator);
      dry.allocator.alloc = (...args) => {
        allocations++;
        return origDry(...args);
      };
      expect(op(dry, da)).toBe(true);
      expect(allocations).toBeGreaterThanOrEqual(2);
      for (let failAt = 0; failAt < allocations; failAt++) {
        const e = boot(c);
        const { k } = e;
        const a = setupA(k);
        const v1 = proc(k, 30);
        const v2 = proc(k, 20);
        const release = leaveFree(k, 0);
        // After the first kill, the retry's allocation number `failAt` fails (as if another CPU
        // took the freed frames); the killer runs again and the next retry succeeds.
        const orig = k.allocator.alloc.bind(k.allocator);
        let armed = false;
        let n = 0;
        const origKill = k.kill.bind(k);
        k.kill = (...args) => {
          origKill(...args);
          armed = n === 0;
        };
        k.allocator.alloc = (...args) => {
          if (armed && n++ === failAt) {
            armed = false;
            return 0;
          }
          return orig(...args);
        };
        expect(op(k, a)).toBe(true);
        expect(n).toBeGreaterThan(failAt); // the failure was injected
        expect([v1.state, v2.state]).toEqual(['killed', 'killed']);
        expect(ooms(e).map((o) => o.victim?.pid)).toEqual([v1.pid, v2.pid]);
        clean(k);
        k.allocator.alloc = orig;
        release();
        k.exit(a);
        expect(k.allocator.freeCount).toBe(k.baselineFree);
        clean(k);
      }
    },
  );
});

describe('oom_score_adj', () => {
  const c = CONFIGS[0]!;
  it('accepts integers −1000..1000, EINVAL otherwise (nothing changed); fork copies it, exec keeps it', () => {
    const { k } = boot(c);
    const p = k.createProcess();
    expect(p.oomScoreAdj).toBe(0);
    for (const bad of [1001, -1001, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(k.setOomScoreAdj(p, bad)).toMatchObject({ ok: false, errno: 'EINVAL' });
      expect(p.oomScoreAdj).toBe(0);
    }
    expect(() => k.setOomScoreAdj(p, '5' as unknown as number)).toThrow(/oom_score_adj.*a number/);
    expect(k.setOomScoreAdj(p, -1000).ok).toBe(true);
    expect(k.setOomScoreAdj(p, 1000).ok).toBe(true);
    expect(k.setOomScoreAdj(p, -250).ok).toBe(true);
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    expect(f.process.oomScoreAdj).toBe(-250);
    expect(k.exec(p, { text: new Uint8Array([1, 2, 3, 4]) }).ok).toBe(true);
    expect(p.oomScoreAdj).toBe(-250);
    k.exit(p);
    expect(() => k.setOomScoreAdj(p, 0)).toThrow(/process 2 is exited/);
    expect(() => k.oomScore(p)).toThrow(/process 2 is exited/);
  });

  it("names processes by comm: exec of an ELF file sets it (the file name's last component, 15 characters), fork copies it", () => {
    const e = boot(c);
    const { k } = e;
    const elf = new Uint8Array(readFileSync(new URL('../fixtures/elf/hello-aarch64', import.meta.url)));
    const r = k.spawnElf(elf, { execfn: '/usr/local/bin/memory-hog-deluxe' });
    if (!r.ok) throw new Error(r.detail);
    const p = r.value;
    expect(p.comm).toBe('memory-hog-delu');
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    expect(f.process.comm).toBe('memory-hog-delu');
    expect(k.exec(f.process, { elf, argv: ['./hello'] }).ok).toBe(true);
    expect(f.process.comm).toBe('hello');
    expect(k.exec(f.process, { text: new Uint8Array(4) }).ok).toBe(true);
    expect(f.process.comm).toBeUndefined();
    const q = proc(k, 2);
    const release = leaveFree(k, 0);
    expect(k.setOomScoreAdj(p, 1000).ok).toBe(true); // the ELF process is chosen
    expect(touch(k, q, 2).ok).toBe(true);
    expect(ooms(e)[0]!.detail).toMatch(/^Out of memory: Killed process 2 \(memory-hog-delu\) total-vm:/);
    expect(ooms(e)[0]!.tasks.map((t) => t.name)).toEqual([
      'memory-hog-delu',
      `pid ${f.process.pid}`,
      `pid ${q.pid}`,
    ]);
    release();
  });

  it('rejects a non-boolean oomKiller option', () => {
    expect(() =>
      bootKernel({ arch: c.arch(), machine: c.machine(), oomKiller: 'yes' as unknown as boolean }),
    ).toThrow(/oomKiller.*true or false/);
  });
});

describe('property: random spawn/mmap/touch/fork under small RAM', () => {
  type Op =
    | { op: 'spawn'; adj: number }
    | { op: 'mmap'; who: number; pages: number }
    | { op: 'touch'; who: number; page: number; write: boolean }
    | { op: 'fork'; who: number }
    | { op: 'adj'; who: number; adj: number };
  const adjArb = fc.constantFrom(-1000, -1000, 0, 0, 0, 100, 1000, -500);
  const who = fc.nat(7);
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 2, arbitrary: fc.record({ op: fc.constant('spawn' as const), adj: adjArb }) },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('mmap' as const), who, pages: fc.integer({ min: 1, max: 64 }) }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('touch' as const),
        who,
        page: fc.nat(255),
        write: fc.boolean(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('fork' as const), who }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('adj' as const), who, adj: adjArb }) },
  );

  it.each(CONFIGS)(
    '$name: never leaks, never kills a −1000 process while another is eligible',
    (c) => {
      let kills = 0;
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 20, maxLength: 60, size: 'max' }), (ops) => {
          const e = boot(c);
          const { k } = e;
          const release = leaveFree(k, 40); // small RAM: 40 frames for every process
          const maps = new Map<Process, [bigint, number][]>();
          maps.set(k.createProcess(), []); // one process to start with
          const live = () => k.liveProcesses;
          for (const o of ops) {
            const procs = live();
            const p = 'who' in o ? procs[o.who % Math.max(1, procs.length)] : undefined;
            const before = new Map(procs.map((q) => [q, q.oomScoreAdj]));
            e.events.length = 0;
            if (o.op === 'spawn') {
              const q = k.createProcess();
              maps.set(q, []);
              expect(k.setOomScoreAdj(q, o.adj).ok).toBe(true);
            } else if (p === undefined) continue;
            else if (o.op === 'mmap') {
              const r = k.mmap(p, 0, o.pages * 4096, RW, PRIV);
              if (r.ok) maps.get(p)?.push([r.value, o.pages]);
            } else if (o.op === 'touch') {
              const areas = maps.get(p) ?? [];
              const area = areas[o.page % Math.max(1, areas.length)];
              if (area === undefined) continue;
              // Up to 8 consecutive pages of the area, while the process lives.
              for (let i = 0; i < 8 && p.alive; i++) {
                const va = area[0] + BigInt((o.page + i) % area[1]) * PAGE;
                if (o.write) k.store(p, va, 8, 1n);
                else k.load(p, va, 8);
              }
            } else if (o.op === 'fork') {
              const f = k.fork(p);
              if (f.ok) maps.set(f.process, [...(maps.get(p) ?? [])]);
            } else expect(k.setOomScoreAdj(p, o.adj).ok).toBe(true);
            // Every kill by the killer names an eligible victim; a −1000 process dies only when
            // nobody was eligible (then it was the faulting one, SEGV_OOM).
            for (const x of ooms(e)) {
              if (x.victim) kills++;
              if (x.victim) expect(x.victim.oomScoreAdj).not.toBe(-1000);
              else expect(x.tasks.every((t) => t.oomScoreAdj === -1000)).toBe(true);
            }
            for (const [q, adj] of before) {
              if (q.alive || adj !== -1000) continue;
              expect(q.killSignal).toEqual({ signal: 'SIGSEGV', code: 'SEGV_OOM' });
              expect(ooms(e).some((x) => x.victim === undefined && x.trigger.pid === q.pid)).toBe(true);
            }
            expect(audit(k).problems).toEqual([]);
          }
          release();
          for (const q of live()) k.exit(q);
          expect(k.allocator.freeCount).toBe(k.baselineFree);
        }),
        { numRuns: 12, seed: SEED },
      );
      // The runs did reach the killer.
      expect(kills).toBeGreaterThan(0);
    },
    60_000,
  );
});
