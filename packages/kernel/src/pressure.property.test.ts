/**
 * The combined property test of memory under pressure: random spawn / fork / write / read / exit /
 * mmap (some with MAP_POPULATE) / munmap / madvise (DONTNEED, FREE, COLD, PAGEOUT, WILLNEED) /
 * mlock / munlock / swapon / swapoff sequences on small RAM and small swap devices, with kswapd,
 * direct reclaim and the OOM killer all on, against a reference model that knows nothing of
 * memory management. What a program observes never changes because a page was swapped, shared,
 * deactivated or reclaimed: a page reads what was last written to it (after MADV_FREE: that or
 * zeros, until the next write), an operation that fails changes nothing, and a process the OOM
 * killer chose is gone (pid 1 never is). audit() is clean after every step; at the end every frame
 * and slot comes back. A planted bug (a swap-in that reads zeros) is caught. Also with ARC and 2Q
 * as the kernel's policy (their ghosts, keyed by swap slot, audited).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import { MADV } from './madvise.js';
import { peekPage } from './pressure-fixtures.js';
import type { Process } from './process.js';
import type { ReclaimPolicyName } from './reclaim.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree } from './test-fixtures.js';

const SEED = Number(process.env.PRESSURE_PROPERTY_SEED ?? 7);
const NUM_RUNS = Number(process.env.PRESSURE_PROPERTY_RUNS ?? 8);
const PAGES = 12;
const FREE = 6; // free frames left after the first process wrote its pages
const BASE = 0x4000_0000n;
const CONFIGS = fiveConfigs(16 * 2 ** 20);
const RW = PROT.READ | PROT.WRITE;
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const ADVICE = [MADV.DONTNEED, MADV.FREE, MADV.COLD, MADV.PAGEOUT, MADV.WILLNEED] as const;

type Op =
  | { op: 'spawn' }
  | { op: 'fork'; who: number }
  | { op: 'write'; who: number; page: number; value: number }
  | { op: 'read'; who: number; page: number }
  | { op: 'fill'; who: number; value: number }
  | { op: 'exit'; who: number }
  | { op: 'mmap'; who: number; populate: boolean }
  | { op: 'munmap'; who: number; page: number; pages: number }
  | { op: 'madvise'; who: number; page: number; pages: number; advice: number }
  | { op: 'mlock'; who: number; page: number; pages: number; unlock: boolean }
  | { op: 'swapon'; pages: number }
  | { op: 'swapoff'; type: number };

const who = fc.nat(7);
const page = fc.nat(PAGES - 1);
const span = fc.integer({ min: 1, max: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant({ op: 'spawn' as const }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('fork' as const), who }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      who,
      page,
      value: fc.integer({ min: 1, max: 2 ** 31 }),
    }),
    weight: 10,
  },
  { arbitrary: fc.record({ op: fc.constant('read' as const), who, page }), weight: 5 },
  {
    arbitrary: fc.record({
      op: fc.constant('fill' as const),
      who,
      value: fc.integer({ min: 1, max: 2 ** 20 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant('exit' as const), who }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('mmap' as const), who, populate: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('munmap' as const), who, page, pages: span }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant('madvise' as const),
      who,
      page,
      pages: span,
      advice: fc.constantFrom(...ADVICE),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ op: fc.constant('mlock' as const), who, page, pages: span, unlock: fc.boolean() }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ op: fc.constant('swapon' as const), pages: fc.integer({ min: 4, max: 12 }) }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant('swapoff' as const), type: fc.nat(2) }), weight: 1 },
);

/** The model of one process: each page's value (undefined: unmapped) and whether MADV_FREE left it lazy. */
interface Model {
  readonly proc: Process;
  readonly pages: (number | undefined)[];
  readonly lazy: boolean[];
}

const va = (i: number) => BASE + BigInt(i) * 4096n;

/** Whether `got` is what the model allows for page `i` (a lazily freed page may read zeros). */
function allowed(m: Model, i: number, got: number | undefined): boolean {
  return got === m.pages[i] || (m.lazy[i] === true && got === 0);
}

interface Outcome {
  readonly reclaimed: number;
  readonly killed: number;
}

function run(
  cfg: (typeof CONFIGS)[number],
  ops: Op[],
  sabotage?: (k: Kernel) => void,
  reclaimPolicy: ReclaimPolicyName = 'two-list',
): Outcome {
  const k = bootKernel({
    reclaimPolicy,
    arch: cfg.arch(),
    machine: cfg.machine(),
    cpus: 2,
    strictTlb: true,
    watermarks: { min: 2, low: 6, high: 12 },
    memlockLimit: 8 * 4096,
  });
  sabotage?.(k);
  expect(k.swapon({ pages: 8 }).ok).toBe(true);
  let procs: Model[] = [];
  const spawn = (): Model | undefined => {
    const p = k.createProcess();
    const r = k.mmap(p, BASE, PAGES * 4096, RW, PRIV | MAP.FIXED);
    if (!r.ok) {
      k.exit(p);
      return undefined;
    }
    const m: Model = { proc: p, pages: new Array(PAGES).fill(0), lazy: new Array(PAGES).fill(false) };
    procs.push(m);
    return m;
  };
  const first = spawn()!;
  expect(first.proc.pid).toBe(1);
  for (let i = 0; i < PAGES; i++) {
    expect(k.store(first.proc, va(i), 4, BigInt(i + 1))).toMatchObject({ ok: true });
    first.pages[i] = i + 1;
  }
  const release = leaveFree(k, FREE);
  let killed = 0;
  const pick = (n: number) => procs[n % procs.length]!;
  const whole = (m: Model, from: number, n: number) => {
    for (let i = from; i < from + n; i++) if (i >= PAGES || m.pages[i] === undefined) return false;
    return true;
  };
  for (const o of ops) {
    switch (o.op) {
      case 'spawn':
        if (procs.length < 5) spawn();
        break;
      case 'fork': {
        const m = pick(o.who);
        if (procs.length >= 5) break;
        const f = k.fork(m.proc);
        if (f.ok) procs.push({ proc: f.process, pages: [...m.pages], lazy: [...m.lazy] });
        break;
      }
      case 'write': {
        const m = pick(o.who);
        const data = new Uint8Array(4);
        new DataView(data.buffer).setUint32(0, o.value >>> 0, true);
        const r = k.copyToUser(m.proc, va(o.page), data);
        if (m.pages[o.page] === undefined) expect(r).toMatchObject({ ok: false, errno: 'EFAULT' });
        else if (r.ok) {
          m.pages[o.page] = o.value >>> 0;
          m.lazy[o.page] = false;
        }
        break;
      }
      case 'fill': {
        // Writes every mapped page (value + i): memory demand the OOM killer may have to meet.
        const m = pick(o.who);
        for (let i = 0; i < PAGES && m.proc.alive; i++) {
          if (m.pages[i] === undefined) continue;
          const r = k.store(m.proc, va(i), 4, BigInt(o.value + i));
          if (r.ok) {
            m.pages[i] = o.value + i;
            m.lazy[i] = false;
          }
        }
        break;
      }
      case 'read': {
        const m = pick(o.who);
        const r = k.copyFromUser(m.proc, va(o.page), 4);
        if (m.pages[o.page] === undefined) expect(r).toMatchObject({ ok: false, errno: 'EFAULT' });
        else if (r.ok) {
          const got = new DataView(r.value.buffer).getUint32(0, true);
          expect(allowed(m, o.page, got)).toBe(true);
        }
        break;
      }
      case 'exit': {
        const m = pick(o.who);
        if (m === first) break; // pid 1 stays
        k.exit(m.proc);
        procs = procs.filter((x) => x !== m);
        break;
      }
      case 'mmap': {
        const m = pick(o.who);
        for (let i = 0; i < PAGES; i++) {
          if (m.pages[i] !== undefined) continue;
          const flags = PRIV | MAP.FIXED | (o.populate ? MAP.POPULATE : 0);
          const r = k.mmap(m.proc, va(i), 4096, RW, flags);
          if (r.ok) {
            m.pages[i] = 0;
            m.lazy[i] = false;
          }
          if (!m.proc.alive) break;
        }
        break;
      }
      case 'munmap': {
        const m = pick(o.who);
        const n = Math.min(o.pages, PAGES - o.page);
        if (k.munmap(m.proc, va(o.page), n * 4096).ok)
          for (let i = o.page; i < o.page + n; i++) m.pages[i] = undefined;
        break;
      }
      case 'madvise': {
        const m = pick(o.who);
        if (!whole(m, o.page, o.pages)) break; // holes: Linux applies to the mapped parts, ENOMEM
        const r = k.madvise(m.proc, va(o.page), o.pages * 4096, o.advice);
        if (r.ok && o.advice === MADV.DONTNEED)
          for (let i = o.page; i < o.page + o.pages; i++) {
            m.pages[i] = 0;
            m.lazy[i] = false;
          }
        if (r.ok && o.advice === MADV.FREE)
          for (let i = o.page; i < o.page + o.pages; i++) m.lazy[i] = m.pages[i] !== 0;
        break;
      }
      case 'mlock': {
        const m = pick(o.who);
        if (!whole(m, o.page, o.pages)) break;
        if (o.unlock) k.munlock(m.proc, va(o.page), o.pages * 4096);
        else k.mlock(m.proc, va(o.page), o.pages * 4096);
        break;
      }
      case 'swapon':
        if (k.swapDevices.length < 3) expect(k.swapon({ pages: o.pages }).ok).toBe(true);
        break;
      case 'swapoff':
        k.swapoff(o.type);
        break;
    }
    const before = procs.length;
    procs = procs.filter((m) => m.proc.alive);
    killed += before - procs.length;
    expect(first.proc.alive).toBe(true); // pid 1 is never the OOM killer's victim
    expect(audit(k).problems).toEqual([]);
    for (const m of procs)
      for (let i = 0; i < PAGES; i++)
        if (m.pages[i] !== undefined) expect(allowed(m, i, peekPage(k, m.proc, va(i)))).toBe(true);
  }
  const s = k.vmstat;
  for (const m of procs) if (m !== first) k.exit(m.proc);
  for (let i = 0; i < PAGES; i++) {
    const r = k.copyFromUser(first.proc, va(i), 4);
    if (first.pages[i] === undefined) expect(r.ok).toBe(false);
    else expect(r.ok && allowed(first, i, new DataView(r.value.buffer).getUint32(0, true))).toBe(true);
  }
  k.exit(first.proc);
  release();
  for (const d of k.swapDevices) expect(d.usedPages).toBe(0);
  expect(k.allocator.freeCount).toBe(k.baselineFree);
  expect(audit(k).problems).toEqual([]);
  return { reclaimed: s.pgstealKswapd + s.pgstealDirect + s.pswpout, killed };
}

describe.each(CONFIGS)('memory under pressure, everything on: $name', (cfg) => {
  it('contents and accessibility never change because of swap, sharing or reclaim; the OOM-killed are gone', () => {
    let reclaimed = 0;
    let killed = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 80 }), (ops) => {
        const o = run(cfg, ops);
        reclaimed += o.reclaimed;
        killed += o.killed;
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
    expect(reclaimed).toBeGreaterThan(0); // the sequences do swap
    expect(killed).toBeGreaterThan(0); // and the OOM killer does kill
  });

  it('a copy-on-write fault whose only reclaimable page is the one it copies ends in the OOM killer, not a livelock', () => {
    // PRESSURE_PROPERTY_SEED=3 found it (aarch64, x86_64, LA57): after the fork every page is
    // shared and most are in swap; the parent's write swaps a page in (read-only, shared with the
    // child's swap entry), the copy finds no frame, and direct reclaim freed that very page (clean,
    // in the swap cache), the retry swapped it in again… until the CPU gave up ("still faults
    // after 4 fixes"). Linux's do_wp_page holds a reference on the page through the copy's
    // allocation: reclaim cannot free it, and with nothing else to take the OOM killer runs.
    const o = run(cfg, [
      { op: 'fork', who: 0 },
      { op: 'fill', who: 0, value: 1 },
      { op: 'read', who: 0, page: 0 },
    ]);
    expect(o.reclaimed).toBeGreaterThan(0);
    expect(o.killed).toBe(1); // the child (pid 1 never is)
  });

  // ARC and 2Q keep ghosts (keyed by swap slot, ghosts.ts): audit() checks them after every step.
  for (const policy of ['arc', '2q'] as const)
    it(`with ${policy} (ghosts keyed by swap slot): the same, audit() clean after every step`, () => {
      let reclaimed = 0;
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 80 }), (ops) => {
          reclaimed += run(cfg, ops, undefined, policy).reclaimed;
        }),
        { seed: SEED, numRuns: Math.max(1, NUM_RUNS >> 1) },
      );
      expect(reclaimed).toBeGreaterThan(0);
    });

  it('the property catches a planted bug (a swap-in that reads zeros)', () => {
    const ops: Op[] = [{ op: 'madvise', who: 0, page: 0, pages: 4, advice: MADV.PAGEOUT }];
    for (let i = 0; i < 4; i++) ops.push({ op: 'read', who: 0, page: i });
    expect(run(cfg, ops).reclaimed).toBeGreaterThan(0);
    expect(() =>
      run(cfg, ops, (k) => {
        const read = k.swap.readSlot.bind(k.swap);
        k.swap.readSlot = (dev, offset, pa) => {
          read(dev, offset, pa);
          k.memory.fill(pa, 4096, 0);
        };
      }),
    ).toThrow();
  });
});
