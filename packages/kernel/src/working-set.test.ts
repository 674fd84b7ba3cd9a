/**
 * Process virtual time, fault counters, working sets (exact and sampled), page-fault frequency and
 * the seed's thrash detection, on all five configurations plus AArch64 with software AF, in
 * strict TLB mode with an audit at the end of each test.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createVirtBoard } from '@mmkit/boards';
import { InvalidArgumentError, type MmEvent } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, type TestConfig } from './test-fixtures.js';
import type { WorkingSetOptions } from './working-set.js';

const MiB = 2 ** 20;
const PAGE = 4096n;
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const RW = PROT.READ | PROT.WRITE;

const CONFIGS: readonly TestConfig[] = [
  ...fiveConfigs(32 * MiB),
  {
    name: 'aarch64 (software AF, HA=0) on virt',
    arch: () => createAarch64Arch({ hardwareAccessFlag: false }),
    machine: () => createVirtBoard({ ramBytes: 32 * MiB, pool: 'all-ram' }),
  },
];

type Ws = Extract<MmEvent, { type: 'working-set' }>;
type Thrash = Extract<MmEvent, { type: 'thrashing' }>;

interface Env {
  readonly k: Kernel;
  readonly p: Process;
  readonly base: bigint;
  readonly events: MmEvent[];
}

/** A kernel with tracking, a process with `pages` pages mapped (populated: no access, no fault yet). */
function setup(c: TestConfig, workingSet: WorkingSetOptions | boolean, pages: number, populate = true): Env {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true, workingSet });
  const events: MmEvent[] = [];
  k.events.on((e) => events.push(e));
  const p = k.createProcess();
  const r = k.mmap(p, 0, pages * 4096, RW, PRIV | (populate ? MAP.POPULATE : 0));
  if (!r.ok) throw new Error(r.detail);
  return { k, p, base: r.value, events };
}

const touch = (e: Env, page: number) => {
  const r = e.k.load(e.p, e.base + BigInt(page) * PAGE, 1);
  if (!r.ok) throw new Error(`access to page ${page} failed: ${r.killed}`);
};
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);

describe.each(CONFIGS)('working sets: $name', (c) => {
  it('counts process virtual time and faults by resolution (always on)', () => {
    const e = setup(c, false, 8, false);
    const { k, p } = e;
    expect(k.faultStats(p)).toEqual({ pid: p.pid, accesses: 0, faults: 0, byResolution: {} });
    for (let i = 0; i < 8; i++) touch(e, i); // 8 read faults: the zero page
    for (let i = 0; i < 8; i++) touch(e, i); // TLB hits
    expect(k.store(p, e.base, 8, 1).ok).toBe(true); // one write fault: zero page → fresh frame
    // A read that straddles two pages is two accesses.
    expect(k.readUser(p, e.base + PAGE - 2n, 4).ok).toBe(true);
    const s = k.faultStats(p);
    expect(s.accesses).toBe(8 + 8 + 1 + 2);
    expect(s.faults).toBe(9);
    expect(s.byResolution).toEqual({
      'zero page mapped (read-only)': 8,
      'zero page replaced by a fresh zeroed frame': 1,
    });
    expect(s.pff).toBeUndefined();
    expect(k.workingSet(p)).toBeUndefined();
    expect(e.events.filter((x) => x.type === 'working-set' || x.type === 'thrashing')).toEqual([]);
    // A forked child starts at zero; the parent's counters stay.
    const child = k.fork(p);
    if (!child.ok) throw new Error(child.errno);
    expect(k.faultStats(child.process)).toMatchObject({ accesses: 0, faults: 0 });
    expect(k.faultStats(p).accesses).toBe(19);
    clean(k);
  });

  it('exact W(t, τ) follows Denning’s definition on a hand-computed reference string', () => {
    const e = setup(c, { tau: 4, exact: true, sampleInterval: 1000 }, 5);
    // Reference string a b c a d b e e e a (pages 0 … 4); W(t, 4) = distinct pages of the last 4.
    const refs = [0, 1, 2, 0, 3, 1, 4, 4, 4, 0];
    const want = [1, 2, 3, 3, 4, 4, 4, 3, 2, 2];
    const got = refs.map((page) => {
      touch(e, page);
      return e.k.workingSet(e.p)!.exactPages;
    });
    expect(got).toEqual(want);
    expect(e.k.workingSet(e.p)).toMatchObject({ tau: 4, virtualTime: 10, samples: 0 });
    clean(e.k);
  });

  it('the sampled estimate of a loop over k pages is k, and follows the loop when it moves', () => {
    const e = setup(c, { tau: 200, sampleInterval: 50, exact: true }, 64);
    const { k, p } = e;
    const k1 = 10;
    for (let t = 0; t < 500; t++) touch(e, t % k1);
    let w = k.workingSet(p)!;
    expect(w).toMatchObject({
      samples: 10,
      sampledAt: 500,
      estimatedPages: k1,
      exactPages: k1,
      residentPages: 64,
    });
    // The loop moves to 12 other pages: for τ the estimate holds both, then only the new ones.
    for (let t = 0; t < 100; t++) touch(e, 20 + (t % 12));
    expect(k.workingSet(p)).toMatchObject({ estimatedPages: k1 + 12, exactPages: 22 });
    for (let t = 100; t < 400; t++) touch(e, 20 + (t % 12));
    w = k.workingSet(p)!;
    expect(w).toMatchObject({ estimatedPages: 12, exactPages: 12, virtualTime: 900 });
    const samples = e.events.filter((x): x is Ws => x.type === 'working-set');
    expect(samples).toHaveLength(18);
    expect(samples.at(-1)).toEqual({
      type: 'working-set',
      pid: p.pid,
      sizePages: 12,
      tau: 200,
      residentPages: 64,
      exactPages: 12,
    });
    clean(k);
  });

  it('a process that faults on every access thrashes (the seed’s > 50 faults per window) and PFF says grow', () => {
    const e = setup(c, { thrashWindow: 100, pffWindow: 100 }, 300, false);
    const { k, p } = e;
    for (let i = 0; i < 300; i++) touch(e, i); // a new page every access: 300 faults
    const thrash = e.events.filter((x): x is Thrash => x.type === 'thrashing');
    // Windows end at accesses 100, 200 and 300 (checked before that access faults).
    expect(thrash.map((t) => t.faults)).toEqual([99, 100, 100]);
    expect(thrash[0]).toEqual({
      type: 'thrashing',
      pid: p.pid,
      faults: 99,
      window: 100,
      faultRate: 990,
      threshold: 50,
    });
    const s = k.faultStats(p);
    expect(s.thrashing).toMatchObject({ detections: 3, thrashing: true, threshold: 50, window: 100 });
    expect(s.pff).toMatchObject({ windows: 3, faultRate: 1000, advice: 'grow', upper: 50, lower: 10 });
    clean(k);
  });

  it('a process looping over its resident pages does not thrash, and PFF says shrink', () => {
    const e = setup(c, { thrashWindow: 100, pffWindow: 100, sampleInterval: 25, tau: 100 }, 16, false);
    const { k, p } = e;
    for (let t = 0; t < 1000; t++) touch(e, t % 16); // 16 faults, then none
    expect(e.events.filter((x) => x.type === 'thrashing')).toEqual([]);
    const s = k.faultStats(p);
    expect(s.thrashing).toMatchObject({ detections: 0, thrashing: false });
    expect(s.pff).toMatchObject({ windows: 10, faultRate: 0, advice: 'shrink' });
    // Software AF: the harvests cleared AF, so the loop took Access flag faults — counted as
    // faults, but not as a sign of thrashing.
    if (!k.arch.description.capabilities.hardwareAccessFlag)
      expect(s.byResolution['access flag set']).toBeGreaterThan(50);
    expect(k.workingSet(p)).toMatchObject({ estimatedPages: 16 });
    clean(k);
  });

  it('the thresholds are inclusive as the seed’s: exactly 50 faults in a window is not thrashing, 51 is', () => {
    const e = setup(c, { thrashWindow: 100, pffWindow: 100, pffUpper: 500, pffLower: 500 }, 200, false);
    const { k } = e;
    for (let i = 0; i < 50; i++) touch(e, i); // 50 faults
    for (let i = 50; i < 100; i++) touch(e, 0); // t = 100: window check sees 50
    expect(k.faultStats(e.p).thrashing).toMatchObject({ detections: 0 });
    expect(k.faultStats(e.p).pff).toMatchObject({ faultRate: 500, advice: 'steady' });
    for (let i = 0; i < 51; i++) touch(e, 100 + i); // 51 faults in the next window
    for (let i = 51; i < 100; i++) touch(e, 0);
    expect(k.faultStats(e.p).thrashing).toMatchObject({ detections: 1, thrashing: true });
    clean(k);
  });
});

describe('working-set options', () => {
  const c = fiveConfigs(32 * MiB)[0]!;
  const boot = (workingSet: unknown) =>
    bootKernel({ arch: c.arch(), machine: c.machine(), workingSet: workingSet as WorkingSetOptions });

  it('true means the defaults (τ 1000, sample every 100, PFF 50/10 per 1000, thrash > 50 per 1000)', () => {
    expect(boot(true).workingSetOptions).toEqual({
      tau: 1000,
      sampleInterval: 100,
      exact: false,
      pffWindow: 1000,
      pffUpper: 50,
      pffLower: 10,
      thrashWindow: 1000,
      thrashThreshold: 50,
    });
    expect(boot(false).workingSetOptions).toBeUndefined();
    expect(boot(undefined).workingSetOptions).toBeUndefined();
  });

  it('refuses bad options with a typed error naming the field', () => {
    expect(() => boot({ tau: 0 })).toThrow(/workingSet\.tau/);
    expect(() => boot({ tau: 2 ** 23 })).toThrow(InvalidArgumentError);
    expect(() => boot({ sampleInterval: 1.5 })).toThrow(/workingSet\.sampleInterval/);
    expect(() => boot({ exact: 'yes' })).toThrow(/workingSet\.exact/);
    expect(() => boot({ pffUpper: 5, pffLower: 10 })).toThrow(/pffLower/);
    expect(() => boot({ window: 5 })).toThrow(/workingSet option/);
    expect(() => boot('on')).toThrow(InvalidArgumentError);
  });

  it('workingSet and faultStats refuse a process of another kernel', () => {
    const k1 = boot(true);
    const k2 = boot(true);
    const p = k2.createProcess();
    expect(() => k1.faultStats(p)).toThrow();
    expect(() => k1.workingSet(p)).toThrow();
  });
});
