/**
 * Property test under memory pressure: random fork / write / touch / exit / mmap / munmap /
 * MADV_PAGEOUT sequences on a kernel with a few dozen free frames, a small swap device, automatic
 * reclaim (kswapd and direct reclaim) and allocation failures injected, against a reference model
 * that knows nothing of memory: what a program observes is predicted exactly — a page reads what
 * was last written to it — except that an operation may fail for lack of memory (EFAULT on the
 * soft path, ENOMEM from fork or mmap), and then changes nothing. So contents never change because
 * of reclaim. After every step audit() is clean and every page of every process reads (without
 * side effects: from its frame, or from its swap slot) what the model says.
 */
import { vpnOf } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import { type ModelProcess, type PressureOp, peekPage, pressureOps } from './pressure-fixtures.js';
import { pageOutRange } from './swap.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree } from './test-fixtures.js';

const SEED = Number(process.env.RECLAIM_PROPERTY_SEED ?? 11);
const NUM_RUNS = Number(process.env.RECLAIM_PROPERTY_RUNS ?? 10);
const PAGES = 16;
const FREE = 8; // free frames left once the first process has written its pages
const DEVICE = 48; // 47 usable slots
const CONFIGS = fiveConfigs(16 * 2 ** 20);

type Op = PressureOp | { op: 'mmap'; who: number } | { op: 'fail'; allocations: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  ...pressureOps({ pages: PAGES, writeWeight: 8, pageoutMax: 4, pageoutWeight: 1 }),
  { arbitrary: fc.record({ op: fc.constant('mmap' as const), who: fc.nat(7) }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant('fail' as const), allocations: fc.integer({ min: 1, max: 3 }) }),
    weight: 2,
  },
);

interface Outcome {
  /** Frames reclaimed by kswapd and direct reclaim. */
  readonly reclaimed: number;
  /** Operations refused for lack of memory. */
  readonly refused: number;
}

function run(cfg: (typeof CONFIGS)[number], ops: Op[], sabotage?: (k: Kernel) => void): Outcome {
  const k = bootKernel({
    arch: cfg.arch(),
    machine: cfg.machine(),
    cpus: 2,
    strictTlb: true,
    swapReadahead: 2,
    watermarks: { min: 2, low: 6, high: 12 },
    // The model's out of memory refuses the operation (the path without the OOM killer).
    oomKiller: false,
  });
  sabotage?.(k);
  expect(k.swapon({ pages: DEVICE }).ok).toBe(true);
  // Allocation failures injected: the next `failing` allocations of any kind return 0.
  let failing = 0;
  const allocator = k.allocator;
  const alloc = allocator.alloc.bind(allocator);
  allocator.alloc = (purpose, owner) => {
    if (failing > 0) {
      failing--;
      return 0;
    }
    return alloc(purpose, owner);
  };
  const first = k.createProcess();
  const m = k.mmap(first, 0, PAGES * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!m.ok) throw new Error(m.detail);
  const base = m.value;
  const va = (i: number) => base + BigInt(i) * 4096n;
  // Every page starts written (value i + 1): material for reclaim from the first step.
  for (let i = 0; i < PAGES; i++) expect(k.store(first, va(i), 4, i + 1)).toMatchObject({ ok: true });
  const release = leaveFree(k, FREE);
  let procs: ModelProcess[] = [{ proc: first, pages: Array.from({ length: PAGES }, (_, i) => i + 1) }];
  const pick = (n: number) => procs[n % procs.length];
  let refused = 0;
  for (const o of ops) {
    switch (o.op) {
      case 'fork': {
        const m0 = pick(o.who);
        if (!m0 || procs.length >= 4) break;
        const f = k.fork(m0.proc);
        if (f.ok) procs.push({ proc: f.process, pages: [...m0.pages] });
        else refused++;
        break;
      }
      case 'write': {
        const m0 = pick(o.who);
        if (!m0) break;
        const data = new Uint8Array(4);
        new DataView(data.buffer).setUint32(0, o.value >>> 0, true);
        const r = k.copyToUser(m0.proc, va(o.page), data, o.value & 1);
        if (m0.pages[o.page] === undefined) expect(r).toMatchObject({ ok: false, errno: 'EFAULT' });
        else if (r.ok) m0.pages[o.page] = o.value >>> 0;
        else refused++; // out of memory: nothing changed (checked below)
        break;
      }
      case 'touch': {
        const m0 = pick(o.who);
        if (!m0) break;
        const r = k.copyFromUser(m0.proc, va(o.page), 4);
        const want = m0.pages[o.page];
        if (want === undefined) expect(r).toMatchObject({ ok: false, errno: 'EFAULT' });
        else if (r.ok) expect(new DataView(r.value.buffer).getUint32(0, true)).toBe(want);
        else refused++;
        break;
      }
      case 'exit': {
        const m0 = pick(o.who);
        if (!m0 || procs.length === 1) break;
        k.exit(m0.proc);
        procs = procs.filter((x) => x !== m0);
        break;
      }
      case 'munmap': {
        const m0 = pick(o.who);
        if (!m0) break;
        const n = Math.min(o.pages, PAGES - o.page);
        const r = k.munmap(m0.proc, va(o.page), n * 4096);
        if (r.ok) for (let i = o.page; i < o.page + n; i++) m0.pages[i] = undefined;
        else {
          // Splitting a VMA may need memory (ENOMEM, nothing changed).
          expect(r).toMatchObject({ ok: false, errno: 'ENOMEM' });
          refused++;
        }
        break;
      }
      case 'mmap': {
        // Map the unmapped pages again, fresh (MAP_FIXED over the holes), as zeros.
        const m0 = pick(o.who);
        if (!m0) break;
        for (let i = 0; i < PAGES; i++) {
          if (m0.pages[i] !== undefined) continue;
          const r = k.mmap(
            m0.proc,
            va(i),
            4096,
            PROT.READ | PROT.WRITE,
            MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED,
          );
          if (r.ok) m0.pages[i] = 0;
          else refused++;
        }
        break;
      }
      case 'pageout': {
        const m0 = pick(o.who);
        if (!m0) break;
        const end = Math.min(PAGES, o.page + o.pages);
        pageOutRange(k, m0.proc.space, vpnOf(va(o.page)), vpnOf(va(end)));
        break;
      }
      case 'fail':
        failing = o.allocations;
        break;
    }
    expect(audit(k).problems).toEqual([]);
    for (const m0 of procs)
      for (let i = 0; i < PAGES; i++)
        if (m0.pages[i] !== undefined) expect(peekPage(k, m0.proc, va(i))).toBe(m0.pages[i]);
  }
  failing = 0;
  // Everything readable through the fault path too (reclaim makes room), then given back.
  for (const m0 of procs)
    for (let i = 0; i < PAGES; i++) {
      const r = k.copyFromUser(m0.proc, va(i), 4);
      if (m0.pages[i] === undefined) expect(r.ok).toBe(false);
      else expect(r.ok && new DataView(r.value.buffer).getUint32(0, true)).toBe(m0.pages[i]);
    }
  const s = k.vmstat;
  for (const m0 of procs) k.exit(m0.proc);
  release();
  expect(k.swapDevices[0]!.usedPages).toBe(0);
  expect(k.allocator.freeCount).toBe(k.baselineFree);
  expect(audit(k).problems).toEqual([]);
  return { reclaimed: s.pgstealKswapd + s.pgstealDirect, refused };
}

describe.each(CONFIGS)('reclaim property: $name', (cfg) => {
  it('under memory pressure, contents never change because of reclaim; failures change nothing', () => {
    let reclaimed = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const o = run(cfg, ops);
        reclaimed += o.reclaimed;
        refused += o.refused;
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
    expect(reclaimed).toBeGreaterThan(5 * NUM_RUNS); // the sequences do reclaim
    expect(refused).toBeGreaterThan(0); // and some operations fail for lack of memory
  });

  it('the property catches reclaim that loses contents (a swap-out that writes zeros)', () => {
    const ops: Op[] = Array.from({ length: 3 * PAGES }, (_, i) => ({
      op: 'write' as const,
      who: i >> 4,
      page: i % PAGES,
      value: i + 1,
    }));
    ops.splice(PAGES, 0, { op: 'fork', who: 0 }, { op: 'fork', who: 0 });
    expect(run(cfg, ops).reclaimed).toBeGreaterThan(0);
    expect(() =>
      run(cfg, ops, (k) => {
        const write = k.swap.writeSlot.bind(k.swap);
        k.swap.writeSlot = (dev, offset, pa) => {
          k.memory.fill(pa, 4096, 0);
          write(dev, offset, pa);
        };
      }),
    ).toThrow();
  });
});
