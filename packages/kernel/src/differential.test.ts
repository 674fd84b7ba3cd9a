import type { MmEvent } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { assertAudit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import type { Process } from './process.js';
import { fiveConfigs } from './test-fixtures.js';

const MiB = 2 ** 20;

const CONFIGS = fiveConfigs(256 * MiB);

/** What a program (and an observer of the kernel's public counters) can see. */
type Observation = readonly [step: string, result: unknown];

const show = (r: { ok: boolean; value?: unknown; killed?: string; errno?: string }) =>
  r.ok
    ? { ok: true, value: r.value instanceof Uint8Array ? [...r.value] : r.value }
    : { ok: false, why: r.killed ?? r.errno };

/** The workload. Addresses are relative to the kernel's simple layout, so it runs on every arch. */
function runWorkload(k: Kernel): Observation[] {
  const obs: Observation[] = [];
  const faults: string[] = [];
  k.events.on((e: MmEvent) => {
    if (e.type === 'fault') faults.push(`${e.access}/${e.privilege}: ${e.kind} → ${e.resolution}`);
  });
  const L = k.layout;
  // A wild pointer: the middle of the heap–stack gap of this layout (0xDEADBEEF000 does not exist
  // on 32-bit x86, so the same experiment is expressed relative to the layout).
  const wild = ((L.heapBase + L.stackGuardLow) / 2n) & ~0xfffn;
  const step = (name: string, fn: () => unknown) => {
    faults.length = 0;
    const result = fn();
    obs.push([name, { result, faults: [...faults] }]);
    assertAudit(k); // every invariant holds after every step, on every configuration
  };
  const must = (r: { ok: true; process: Process } | { ok: false }) => {
    if (!r.ok) throw new Error('out of memory');
    return r.process;
  };
  const text = new Uint8Array(4096).map((_, i) => i & 0xff);
  let p!: Process;
  step('spawn', () => {
    p = must(k.spawn({ text, data: new TextEncoder().encode('initialised data') }));
    return { resident: p.residentPages };
  });
  step('read data', () => show(k.readUser(p, L.dataBase, 16)));
  step('brk +5 pages and touch each', () => {
    k.brk(p, L.heapBase + 5n * 4096n);
    const out: unknown[] = [];
    for (let i = 0; i < 5; i++) out.push(show(k.store(p, Number(L.heapBase) + i * 4096 + 8, 4, 0x1000 + i)));
    for (let i = 0; i < 5; i++) out.push(show(k.load(p, Number(L.heapBase) + i * 4096 + 8, 4)));
    return { out, resident: p.residentPages };
  });
  step('stack grows', () => ({
    r: show(k.store(p, L.stackTop - 0x3000n, 8, 0x55n)),
    resident: p.residentPages,
  }));
  step('copy_to_user / copy_from_user', () => ({
    to: show(k.copyToUser(p, L.heapBase + 0x10n, new TextEncoder().encode('hello'))),
    from: show(k.copyFromUser(p, L.heapBase + 0x10n, 5)),
    wild: show(k.copyToUser(p, wild, new Uint8Array(4))),
    alive: p.alive,
  }));
  step('fork isolation', () => {
    const c = must(k.fork(p));
    const seen = show(k.load(c, L.heapBase + 8n, 4, 1 % k.cpus.length));
    k.store(c, L.heapBase + 8n, 4, 0xc0de);
    const res = {
      seen,
      child: show(k.load(c, L.heapBase + 8n, 4)),
      parent: show(k.load(p, L.heapBase + 8n, 4)),
      residentChild: c.residentPages,
    };
    k.exit(c);
    return res;
  });
  step('brk shrink then grow sees zero', () => {
    k.brk(p, L.heapBase + 2n * 4096n);
    const r1 = p.residentPages;
    k.brk(p, L.heapBase + 5n * 4096n);
    return { r1, after: show(k.load(p, Number(L.heapBase) + 4 * 4096 + 8, 4)), resident: p.residentPages };
  });
  step('fetch from text', () => show(k.fetch(p, L.textBase + 4n, 4)));
  const inChild = (fn: (c: Process) => unknown) => {
    const c = must(k.fork(p));
    const r = fn(c);
    const state = c.state;
    if (c.alive) k.exit(c);
    return { r, state };
  };
  step('fetch from heap', () => inChild((c) => show(k.fetch(c, L.heapBase, 4))));
  step('write to text', () => inChild((c) => show(k.store(c, L.textBase, 4, 0))));
  step('stack overflow', () => inChild((c) => show(k.store(c, L.stackLow - 8n, 8, 0n))));
  step('wild pointer', () => inChild((c) => show(k.load(c, wild, 4))));
  step('text fault', () => inChild((c) => show(k.load(c, L.textBase + 0x10_0000n, 4))));
  step('exit', () => {
    k.exit(p);
    return { freeBackToBaseline: k.allocator.freeCount === k.baselineFree };
  });
  return obs;
}

describe('one kernel, five configurations: identical observable results', () => {
  const results = new Map<string, { obs: Observation[]; kernel: Kernel }>();
  for (const c of CONFIGS) {
    it(`${c.name}: runs the workload and audits clean`, () => {
      const kernel = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb: true });
      const obs = runWorkload(kernel);
      assertAudit(kernel);
      expect(kernel.allocator.freeCount).toBe(kernel.baselineFree);
      results.set(c.name, { obs, kernel });
    });
  }

  it('every configuration observes what aarch64 on virt observes (except the documented NX difference)', () => {
    const ref = results.get('aarch64 on virt')!.obs;
    for (const c of CONFIGS.slice(1)) {
      const { obs, kernel } = results.get(c.name)!;
      const noNx = !kernel.arch.description.capabilities.noExecute;
      for (let i = 0; i < ref.length; i++) {
        const [name, expected] = ref[i]!;
        const [gotName, got] = obs[i]!;
        expect(gotName).toBe(name);
        if (noNx && name === 'fetch from heap') continue; // checked below
        expect({ config: c.name, step: name, got }).toEqual({ config: c.name, step: name, got: expected });
      }
    }
  });

  it('documented difference: 32-bit x86 without PAE has no execute-never, so heap fetches succeed', () => {
    const { obs, kernel } = results.get('x86-32 on pc')!;
    const fetch = obs.find(([n]) => n === 'fetch from heap')![1] as {
      result: { r: { ok: boolean }; state: string };
    };
    expect(fetch.result.r.ok).toBe(true);
    expect(fetch.result.state).toBe('running');
    expect(kernel.widenedPermissions.length).toBeGreaterThan(0);
    expect(kernel.widenedPermissions[0]).toContain('no execute-never');
    // Everywhere else the same fetch kills with "exec fault".
    const ref = results.get('aarch64 on virt')!.obs.find(([n]) => n === 'fetch from heap')![1] as {
      result: { r: { ok: boolean; why?: string } };
    };
    expect(ref.result.r).toEqual({ ok: false, why: 'exec fault' });
  });
});
