/**
 * Property test: random fork / write / touch / exit / munmap / MADV_PAGEOUT / reclaim / swapoff
 * sequences with a small swap device, against a reference model that knows nothing of swap —
 * so the contents and accessibility of every page never change because it was swapped. After
 * every step audit() is clean and every page of every process reads (without side effects: from
 * its frame, or from its swap slot) what the model says; accesses go through the soft path
 * (copy_from_user / copy_to_user), so an unmapped page is EFAULT, never a kill.
 */
import { vpnOf } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import { type ModelProcess, type PressureOp, peekPage, pressureOps } from './pressure-fixtures.js';
import { pageOutRange } from './swap.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs } from './test-fixtures.js';

const SEED = Number(process.env.SWAP_PROPERTY_SEED ?? 7);
const NUM_RUNS = Number(process.env.SWAP_PROPERTY_RUNS ?? 12);
const PAGES = 12;
const DEVICE = 10; // 9 usable slots: the device fills up
const CONFIGS = fiveConfigs(16 * 2 ** 20);

type Op = PressureOp | { op: 'reclaim'; pages: number } | { op: 'swapoff' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  ...pressureOps({ pages: PAGES, writeWeight: 5, pageoutMax: PAGES, pageoutWeight: 4 }),
  {
    arbitrary: fc.record({ op: fc.constant('reclaim' as const), pages: fc.integer({ min: 1, max: 12 }) }),
    weight: 4,
  },
  { arbitrary: fc.constant({ op: 'swapoff' as const }), weight: 1 },
);

/** Runs `ops` and returns the pages swapped out. */
function run(cfg: (typeof CONFIGS)[number], ops: Op[], sabotage?: (k: Kernel) => void): number {
  const k = bootKernel({
    arch: cfg.arch(),
    machine: cfg.machine(),
    cpus: 2,
    strictTlb: true,
    swapReadahead: 4,
  });
  sabotage?.(k);
  expect(k.swapon({ pages: DEVICE }).ok).toBe(true);
  const first = k.createProcess();
  const m = k.mmap(first, 0, PAGES * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!m.ok) throw new Error(m.detail);
  const base = m.value;
  const va = (i: number) => base + BigInt(i) * 4096n;
  // Every page starts written (value i + 1): material for swap from the first step.
  for (let i = 0; i < PAGES; i++) expect(k.store(first, va(i), 4, i + 1)).toMatchObject({ ok: true });
  let procs: ModelProcess[] = [{ proc: first, pages: Array.from({ length: PAGES }, (_, i) => i + 1) }];
  const pick = (n: number) => procs[n % procs.length];
  let swapped = 0;
  for (const o of ops) {
    switch (o.op) {
      case 'fork': {
        const m0 = pick(o.who);
        if (!m0 || procs.length >= 4) break;
        const f = k.fork(m0.proc);
        if (f.ok) procs.push({ proc: f.process, pages: [...m0.pages] });
        break;
      }
      case 'write': {
        const m0 = pick(o.who);
        if (!m0) break;
        const data = new Uint8Array(4);
        new DataView(data.buffer).setUint32(0, o.value >>> 0, true);
        const r = k.copyToUser(m0.proc, va(o.page), data, o.value & 1);
        if (m0.pages[o.page] === undefined) expect(r).toMatchObject({ ok: false, errno: 'EFAULT' });
        else {
          expect(r.ok).toBe(true);
          m0.pages[o.page] = o.value >>> 0;
        }
        break;
      }
      case 'touch': {
        const m0 = pick(o.who);
        if (!m0) break;
        const r = k.copyFromUser(m0.proc, va(o.page), 4);
        const want = m0.pages[o.page];
        if (want === undefined) expect(r).toMatchObject({ ok: false, errno: 'EFAULT' });
        else {
          if (!r.ok) throw new Error(`touch failed: ${JSON.stringify(r)}`);
          expect(new DataView(r.value.buffer).getUint32(0, true)).toBe(want);
        }
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
        expect(k.munmap(m0.proc, va(o.page), n * 4096)).toEqual({ ok: true, value: 0 });
        for (let i = o.page; i < o.page + n; i++) m0.pages[i] = undefined;
        break;
      }
      case 'pageout': {
        const m0 = pick(o.who);
        if (!m0) break;
        const end = Math.min(PAGES, o.page + o.pages);
        swapped += pageOutRange(k, m0.proc.space, vpnOf(va(o.page)), vpnOf(va(end)));
        break;
      }
      case 'reclaim':
        swapped += k.reclaim(o.pages);
        break;
      case 'swapoff': {
        const r = k.swapoff(0);
        expect(r).toEqual({ ok: true, value: 0 });
        expect(k.swapon({ pages: DEVICE }).ok).toBe(true);
        break;
      }
    }
    expect(audit(k).problems).toEqual([]);
    for (const m0 of procs)
      for (let i = 0; i < PAGES; i++)
        if (m0.pages[i] !== undefined) expect(peekPage(k, m0.proc, va(i))).toBe(m0.pages[i]);
  }
  // Everything readable through the fault path too, then everything given back.
  for (const m0 of procs)
    for (let i = 0; i < PAGES; i++) {
      const r = k.copyFromUser(m0.proc, va(i), 4);
      if (m0.pages[i] === undefined) expect(r.ok).toBe(false);
      else expect(r.ok && new DataView(r.value.buffer).getUint32(0, true)).toBe(m0.pages[i]);
    }
  for (const m0 of procs) k.exit(m0.proc);
  expect(k.swapDevices[0]!.usedPages).toBe(0);
  expect(k.allocator.freeCount).toBe(k.baselineFree);
  expect(audit(k).problems).toEqual([]);
  return swapped;
}

describe.each(CONFIGS)('swap property: $name', (cfg) => {
  it('contents and accessibility never change because a page was swapped', () => {
    let total = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        total += run(cfg, ops);
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
    expect(total).toBeGreaterThan(4 * NUM_RUNS); // the sequences do swap
  });

  it('the property catches a swap-in that loses the contents (reads a slot as zeros)', () => {
    const ops: Op[] = [
      { op: 'reclaim', pages: 4 },
      { op: 'touch', who: 0, page: 0 },
    ];
    expect(run(cfg, ops)).toBeGreaterThan(0);
    expect(() =>
      run(cfg, ops, (k) => {
        k.swap.readSlot = (_dev, _offset, pa) => k.memory.fill(pa, 4096, 0);
      }),
    ).toThrow();
  });

  it('the property sees swap: a fixed sequence swaps pages out and in through fork, reclaim and swapoff', () => {
    const swapped = run(cfg, [
      { op: 'write', who: 0, page: 0, value: 11 },
      { op: 'write', who: 0, page: 1, value: 22 },
      { op: 'fork', who: 0 },
      { op: 'reclaim', pages: 12 },
      { op: 'write', who: 1, page: 0, value: 33 },
      { op: 'touch', who: 0, page: 0 },
      { op: 'pageout', who: 1, page: 0, pages: 12 },
      { op: 'munmap', who: 0, page: 1, pages: 1 },
      { op: 'swapoff' },
      { op: 'touch', who: 1, page: 1 },
      { op: 'exit', who: 1 },
    ]);
    expect(swapped).toBeGreaterThanOrEqual(DEVICE - 1);
  });
});
