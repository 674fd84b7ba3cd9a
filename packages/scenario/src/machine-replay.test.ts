/**
 * Machine replay: on all five configurations, a hand-made trace gives the faults, RSS and COW
 * copies that a scenario of the same touches (and the same mmap/mprotect/fork steps, written out
 * by hand from the documented layout rule) produces; TLB hits and misses equal a reference count
 * taken through the kernel's public load/store/fetch path; walks equal a count of the walker's
 * calls; the inlined hit test agrees with the kernel's slow path (strict TLB mode); bad input.
 */
import { bootKernel, MAP, PROT } from '@mmkit/kernel';
import { describe, expect, it } from 'vitest';
import {
  createBackend,
  createMachineReplay,
  formatMachineTimelineSvg,
  type MachineReplayResult,
  replayOnMachine,
  resolveMachine,
  runScenario,
  type Scenario,
  type ScenarioStep,
} from './index.js';

const CONFIGS = [
  { board: 'virt', arch: 'aarch64' },
  { board: 'pc', arch: 'x86_64' },
  { board: 'pc', arch: 'x86_64-la57' },
  { board: 'pc', arch: 'x86-pae' },
  { board: 'pc', arch: 'x86-32' },
] as const;

const T = 0x4000_0000; // a region first fetched (text), later written (rwx)
const D = 0x4020_0000; // data: reads, then writes
const E = 0x4060_0000; // data first written, later fetched (rwx)
const P = (va: number) => va / 4096;

type Access = readonly [va: number, kind: 0 | 1 | 2];

/** The hand-made trace: fetches, zero-page reads then writes, re-touches, permission widening. */
function handTrace(): Access[] {
  const t: Access[] = [];
  for (let r = 0; r < 3; r++) {
    for (let i = 0; i < 4; i++) t.push([T + i * 4096, 2]);
    for (let i = 0; i < 6; i++) t.push([D + i * 4096, 0]); // read: the zero page
    for (let i = 0; i < 3; i++) t.push([D + i * 4096, 1]); // then written: zero-fill
    t.push([E + 5 * 4096, 1]);
  }
  t.push([T + 9 * 4096, 1]); // a store into text: the region becomes rwx
  t.push([E + 5 * 4096, 2]); // a fetch from data: rwx
  for (let i = 0; i < 8; i++) t.push([D + ((i * 3) % 8) * 4096, (i & 1) as 0 | 1]);
  return t;
}

function asTrace(a: readonly Access[]): { pages: Float64Array; kinds: Uint8Array } {
  return { pages: Float64Array.from(a, ([va]) => P(va)), kinds: Uint8Array.from(a, ([, k]) => k) };
}

/** The scenario a program with the documented layout runs: one step per access, mmap/mprotect where the rule says. */
function scenarioOf(
  c: (typeof CONFIGS)[number],
  trace: readonly Access[],
  forkAt: number | undefined,
): { scenario: Scenario; firstAccessStep: number } {
  const steps: ScenarioStep[] = [{ op: 'spawn', as: 'p' }];
  const prot = new Map<number, string>();
  let who = 'p';
  const hex = (n: number) => `0x${n.toString(16)}`;
  trace.forEach(([va, kind], i) => {
    if (i === forkAt) {
      steps.push({ op: 'fork', process: 'p', as: 'c' });
      who = 'c';
    }
    const base = va - (va % 0x20_0000);
    const have = prot.get(base);
    if (have === undefined) {
      const p = kind === 2 ? 'r-x' : 'rw-';
      steps.push({
        op: 'mmap',
        process: who,
        addr: hex(base),
        length: '2M',
        prot: p,
        flags: ['fixed-noreplace'],
      });
      prot.set(base, p);
    } else if ((kind === 1 && have[1] !== 'w') || (kind === 2 && have[2] !== 'x')) {
      steps.push({ op: 'mprotect', process: who, addr: hex(base), length: '2M', prot: 'rwx' });
      prot.set(base, 'rwx');
    }
    const addr = hex(va);
    steps.push(
      kind === 0
        ? { op: 'read', process: who, addr, size: 1 }
        : kind === 1
          ? { op: 'write', process: who, addr, size: 1, value: 1 }
          : { op: 'fetch', process: who, addr, size: 1 },
    );
  });
  return { scenario: { board: c.board, arch: c.arch, cpus: 1, steps }, firstAccessStep: 1 };
}

/** Faults, RSS and COW copies a scenario produced for the trace's accesses (after its spawn). */
function scenarioCounts(c: (typeof CONFIGS)[number], trace: readonly Access[], forkAt?: number) {
  const { scenario } = scenarioOf(c, trace, forkAt);
  const run = runScenario(scenario);
  expect(run.ok, run.problems.join('\n') + run.audit.problems.join('\n')).toBe(true);
  let faults = 0;
  let copies = 0;
  const cow = { copies: 0, reuses: 0, zeroPages: 0, zeroFills: 0 };
  const key = {
    copy: 'copies',
    reuse: 'reuses',
    'zero-page': 'zeroPages',
    'zero-fill': 'zeroFills',
  } as const;
  for (const e of run.events) {
    if (e.type !== 'mm' || e.index === 0) continue; // the spawn step's own faults are not the trace's
    if (e.event.type === 'fault' && !e.event.resolution.startsWith('killed')) faults++;
    if (e.event.type === 'cow') cow[key[e.event.action]]++;
    if (e.event.type === 'cow' && e.event.action === 'copy') copies++;
  }
  const p = run.processes.get('p')!;
  const c2 = run.processes.get('c');
  // spawn maps its text page and one stack page: the replay's process has neither.
  const spawned = runScenario({
    board: c.board,
    arch: c.arch,
    cpus: 1,
    steps: [{ op: 'spawn', as: 'p' }],
  }).processes.get('p')!.rssPages;
  return { faults, copies, cow, rss: (c2 ?? p).rssPages - spawned };
}

describe.each(CONFIGS)('machine replay on $board/$arch', (c) => {
  it('a hand-made trace gives the faults, RSS and COW copies of a scenario of the same touches', async () => {
    const trace = handTrace();
    const progress: number[] = [];
    const r = await replayOnMachine(asTrace(trace), {
      board: c.board,
      arch: c.arch,
      sampleEvery: 7,
      onProgress: (n) => progress.push(n),
    });
    const want = scenarioCounts(c, trace);
    expect(progress).toEqual([7, 14, 21, 28, 35, 42, 49, 52]);
    expect(r.stopped).toBeUndefined();
    expect(r.accesses).toBe(trace.length);
    expect([r.reads, r.writes, r.fetches]).toEqual([22, 17, 13]);
    expect(r.faults).toEqual({ minor: want.faults, major: 0, total: want.faults });
    expect(r.faultCounters).toBe('process');
    expect(r.rssPages).toBe(want.rss);
    expect(r.cow).toEqual(want.cow);
    expect(r.cow.zeroPages).toBeGreaterThan(5);
    expect(r.cow.zeroFills).toBeGreaterThan(3);
    // Every region at its own address (they are user addresses on every format), widened as documented.
    expect(r.regions).toEqual([
      { tracePage: P(T), page: P(T), prot: 'rwx' },
      { tracePage: P(D), page: P(D), prot: 'rw-' },
      { tracePage: P(E), page: P(E), prot: 'rwx' },
    ]);
    // Timeline: a sample every 7 accesses and one at the end, cumulative and consistent.
    const tl = r.timeline;
    expect(tl.accesses).toEqual([7, 14, 21, 28, 35, 42, 49, 52]);
    expect(tl.tlbMisses.at(-1)).toBe(r.tlb.misses);
    expect(tl.minorFaults.at(-1)).toBe(r.faults.minor);
    expect(tl.rssPages.at(-1)).toBe(r.rssPages);
    expect(tl.walks.at(-1)).toBe(r.walks);
    for (let i = 1; i < tl.accesses.length; i++)
      expect(tl.tlbMisses[i]!).toBeGreaterThanOrEqual(tl.tlbMisses[i - 1]!);
    expect(r.peakRssPages).toBe(Math.max(...tl.rssPages));
  });

  it('RSS is get_mm_rss: reads of untouched memory map the zero page (not counted), each first write adds a page', () => {
    const n = 8;
    const reads = Array.from({ length: n }, (_, i) => P(D) + i);
    const writes = [0, 1, 2, 3, 1, 0].map((i) => P(D) + i); // re-writes add nothing
    const pages = Float64Array.from([...reads, ...writes]);
    const kinds = Uint8Array.from([...reads.map(() => 0), ...writes.map(() => 1)]);
    const m = createMachineReplay({ board: c.board, arch: c.arch, sampleEvery: 1 });
    m.feed(pages, kinds, 0, n);
    expect(m.process.residentPages).toBe(n); // n zero-page PTEs (Linux do_anonymous_page without a write)
    expect(m.process.rssPages).toBe(0);
    m.feed(pages, kinds, n, pages.length);
    const r = m.result();
    expect(r.cow.zeroPages).toBe(n);
    expect(r.cow.zeroFills).toBe(4);
    expect(r.timeline.rssPages).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 4, 4]);
    expect(r.rssPages).toBe(4);
    expect(r.peakRssPages).toBe(4);
    expect(m.process.residentPages).toBe(n);
    expect(m.kernel.memoryStats(m.process).rssPages).toBe(4);
  });

  it('with fork, the child runs the rest: COW copies and faults as the scenario with a fork step', async () => {
    const trace = handTrace();
    const forkAt = 20;
    const r = await replayOnMachine(asTrace(trace), { board: c.board, arch: c.arch, fork: forkAt });
    const want = scenarioCounts(c, trace, forkAt);
    expect(r.forked).toBe(true);
    expect(r.pid).not.toBe(1);
    expect(r.faults.total).toBe(want.faults);
    expect(r.cow).toEqual(want.cow);
    expect(r.cow.copies).toBeGreaterThan(0);
    expect(r.rssPages).toBe(want.rss);
  });

  it('TLB hits and misses equal a count through the kernel’s load/store/fetch path; walks equal the walker’s calls', async () => {
    // A random trace over 3 regions and 300 pages, with a small TLB so entries conflict.
    let x = 12345;
    const rnd = () => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x >>> 8;
    };
    const trace: Access[] = [];
    for (let i = 0; i < 4000; i++) {
      const region = [T, D, E][rnd() % 3]!;
      const kind = region === T ? 2 : ((rnd() % 3 === 0 ? 1 : 0) as 0 | 1);
      trace.push([region + (rnd() % 100) * 4096, kind]);
    }
    const m = createMachineReplay({ board: c.board, arch: c.arch, tlbEntries: 64 });
    const mmu = m.cpu.mmu;
    const walk = mmu.walk.bind(mmu);
    let walks = 0;
    mmu.walk = (...args) => {
      walks++;
      return walk(...args);
    };
    const { pages, kinds } = asTrace(trace);
    m.feed(pages, kinds);
    const r = m.result();
    expect(r.walks).toBe(walks);

    // Reference: the same mappings made by hand, every access through Kernel.load/store/fetch.
    const machine = resolveMachine(c.board, c.arch, undefined);
    const k = bootKernel({
      arch: createBackend(machine.arch),
      machine: machine.board,
      cpus: 1,
      tlbEntries: 64,
    });
    const p = k.createProcess();
    for (const base of [T, D, E]) {
      const prot = base === T ? PROT.READ | PROT.EXEC : PROT.READ | PROT.WRITE;
      expect(k.mmap(p, base, 0x20_0000, prot, MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED_NOREPLACE).ok).toBe(
        true,
      );
    }
    const tlb = k.cpus[0]!.tlb;
    let hits = 0;
    for (const [va, kind] of trace) {
      const fills = tlb.fills;
      const res = kind === 0 ? k.load(p, va, 1) : kind === 1 ? k.store(p, va, 1, 0) : k.fetch(p, va, 1);
      expect(res.ok).toBe(true);
      if (tlb.fills === fills) hits++;
    }
    expect(r.tlb).toEqual({ hits, misses: trace.length - hits, hitRate: hits / trace.length });
    expect(r.tlb.misses).toBeGreaterThan(100);
    expect(r.rssPages).toBe(p.rssPages);
  });

  it('the inlined TLB hit test agrees with the kernel slow path (strict TLB mode) on a random trace', async () => {
    let x = 99;
    const pages = new Float64Array(3000);
    const kinds = new Uint8Array(3000);
    for (let i = 0; i < pages.length; i++) {
      x = (x * 1664525 + 1013904223) >>> 0;
      pages[i] = P(D) + ((x >>> 10) % 700); // two regions (D and the one after)
      kinds[i] = (x >>> 4) % 2;
    }
    const fast = await replayOnMachine(
      { pages, kinds },
      { board: c.board, arch: c.arch, tlbEntries: 128, fork: 1500 },
    );
    const strict = await replayOnMachine(
      { pages, kinds },
      { board: c.board, arch: c.arch, tlbEntries: 128, fork: 1500, strictTlb: true },
    );
    const strip = (r: MachineReplayResult) => ({ ...r, timeline: undefined });
    expect(strip(strict)).toEqual(strip(fast));
    expect(strict.timeline).toEqual(fast.timeline);
    expect(fast.cow.copies).toBeGreaterThan(0);
  });
});

describe('machine replay: addresses, kills and sources', () => {
  it('a region outside the 32-bit user space is placed by mmap, its layout kept', async () => {
    const high = 0x7ff0_0000_0000 / 4096; // a 64-bit stack page
    const pages = [high, high + 3, high + 3, high + 1];
    const r = await replayOnMachine({ pages, kinds: [1, 0, 1, 1] }, { board: 'pc', arch: 'x86-32' });
    expect(r.stopped).toBeUndefined();
    expect(r.regions).toHaveLength(1);
    const reg = r.regions[0]!;
    expect(reg.tracePage).toBe(high - (high % 512));
    expect(reg.page).not.toBe(reg.tracePage);
    expect(reg.page * 4096).toBeLessThan(2 ** 32);
    expect(r.rssPages).toBe(3);
    const k64 = await replayOnMachine({ pages, kinds: [1, 0, 1, 1] }, { board: 'pc', arch: 'x86_64' });
    expect(k64.regions[0]!.page).toBe(k64.regions[0]!.tracePage);
  });

  it.each(CONFIGS)('the region at address 0 (below mmap_min_addr) is placed by mmap on $arch', async (c) => {
    const r = await replayOnMachine({ pages: [0x10, 0x11, 0x10], kinds: [1, 0, 2] }, c);
    expect(r.stopped).toBeUndefined();
    expect(r.regions).toHaveLength(1);
    expect(r.regions[0]!.tracePage).toBe(0);
    expect(r.regions[0]!.page).toBeGreaterThanOrEqual(16); // at or above 64 KiB
    expect(r.regions[0]!.prot).toBe('rwx');
    expect(r.rssPages).toBe(1); // the written page; the read one maps the zero page (no RSS)
  });

  it('a trace wider than the user space stops when a region finds no room (x86-32: 3 GiB)', async () => {
    // One read in each of 1 600 regions of a 64-bit address space: 3.2 GiB of regions.
    const pages = Float64Array.from({ length: 1600 }, (_, i) => 0x7f00_0000_0000 / 4096 + i * 512);
    const r = await replayOnMachine(pages, { board: 'pc', arch: 'x86-32', sampleEvery: 1000 });
    expect(r.stopped?.reason).toMatch(/^no room for the 2 MiB region at 0x7f[0-9a-f]+: mmap ENOMEM$/);
    expect(r.accesses).toBe(r.stopped!.atAccess);
    expect(r.regions).toHaveLength(r.accesses);
    expect(r.accesses).toBeGreaterThan(1000);
    expect(r.accesses).toBeLessThan(1536);
    // The process lives on: nothing was killed, and feeding more does nothing.
    const m = createMachineReplay({ board: 'pc', arch: 'x86-32' });
    expect(m.feed(pages, undefined)).toBe(false);
    expect(m.process.alive).toBe(true);
    expect(m.feed([pages[0]!], undefined)).toBe(false);
    expect(m.result().accesses).toBe(r.accesses);
  });

  it('out of memory stops the replay with the kill, counts up to it', async () => {
    const pages = Float64Array.from({ length: 4000 }, (_, i) => P(D) + i);
    const r = await replayOnMachine(
      { pages, kinds: new Uint8Array(4000).fill(1) },
      { board: 'pc', arch: 'x86_64', ramMiB: 8 },
    );
    // The replayed process is pid 1, which the OOM killer never chooses (oom_unkillable_task):
    // with nobody killable the fault's allocation fails and the faulting process gets SEGV_OOM.
    expect(r.stopped?.reason).toMatch(/^process 1 killed: out of memory \(SIGSEGV SEGV_OOM\)$/);
    expect(r.accesses).toBe(r.stopped!.atAccess);
    expect(r.accesses).toBeLessThan(4000);
    expect(r.timeline.accesses.at(-1)).toBe(r.accesses);
  });

  it('reads an array, an iterable and a stream of batches with kinds alike', async () => {
    const pages = [P(D), P(D) + 1, P(D), P(D) + 2];
    const opts = { board: 'virt', defaultKind: 'write' } as const;
    const a = await replayOnMachine(pages, opts);
    function* three() {
      yield* pages.slice(0, 3);
    }
    const b = await replayOnMachine(three(), opts);
    async function* batches() {
      yield { keys: Float64Array.from(pages), length: 4, kinds: new Uint8Array([1, 1, 1, 1]) };
    }
    const s = await replayOnMachine(batches(), { board: 'virt' });
    expect(a.writes).toBe(4);
    expect(s.writes).toBe(4);
    expect({ ...s, timeline: 0 }).toEqual({ ...a, timeline: 0 });
    expect(b.accesses).toBe(3);
    expect(b.rssPages).toBe(2);
  });

  it('refuses bad options, sources, pages and kinds by name', async () => {
    const ok = { board: 'virt' };
    await expect(replayOnMachine([1], { board: 'vax' })).rejects.toThrow(/board "vax" is not a known board/);
    await expect(replayOnMachine([1], { board: 'virt', arch: 'x86_64' })).rejects.toThrow(
      /does not run on board virt/,
    );
    await expect(replayOnMachine([1], { board: 'pc', ramMiB: 3 })).rejects.toThrow(/ram/);
    await expect(replayOnMachine([1], { ...ok, tlbEntries: 3 })).rejects.toThrow(/tlbEntries.*power of two/);
    await expect(replayOnMachine([1], { ...ok, sampleEvery: 0 })).rejects.toThrow(/sampleEvery/);
    await expect(replayOnMachine([1], { ...ok, fork: -1 })).rejects.toThrow(/fork/);
    await expect(replayOnMachine([1], { ...ok, cpus: 0 })).rejects.toThrow(/cpus/);
    await expect(replayOnMachine([1], { ...ok, defaultKind: 'exec' as 'read' })).rejects.toThrow(
      /defaultKind/,
    );
    await expect(replayOnMachine(42 as unknown as number[], ok)).rejects.toThrow(
      /trace.*an array of page numbers/,
    );
    await expect(replayOnMachine({ pages: [1, 2], kinds: [0] }, ok)).rejects.toThrow(/kinds length/);
    await expect(replayOnMachine([P(D), -1], ok)).rejects.toThrow(
      /trace\[1\]: -1 is invalid; expected a 4 KiB page number/,
    );
    await expect(replayOnMachine([P(D), 1.5], ok)).rejects.toThrow(/trace\[1\]/);
    await expect(replayOnMachine([Number.NaN], ok)).rejects.toThrow(/trace\[0\]/);
    await expect(replayOnMachine({ pages: [P(D), P(D)], kinds: [0, 3] }, ok)).rejects.toThrow(
      /kinds\[1\]: 3 is invalid; expected 0 \(read\)/,
    );
    await expect(replayOnMachine({ pages: [P(D)], kinds: [33] }, ok)).rejects.toThrow(/kinds\[0\]/);
  });
});

describe('formatMachineTimelineSvg', () => {
  it('is deterministic, titled and escaped; one line per counter that moved, (0) for the others', async () => {
    const pages = Float64Array.from({ length: 40 }, (_, i) => P(D) + (i % 10));
    const r = await replayOnMachine(
      { pages, kinds: new Uint8Array(40).fill(1) },
      { board: 'virt', sampleEvery: 10 },
    );
    const svg = formatMachineTimelineSvg(r, { title: 'a <b> & c' });
    expect(formatMachineTimelineSvg(r, { title: 'a <b> & c' })).toBe(svg);
    expect(svg).toContain('<title>a &lt;b&gt; &amp; c</title>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="535"')).toBe(true);
    // RSS 10 pages from the first sample on: x = 70 + (a / 40) × 500, y = 170 − rss / 10 × 130.
    expect(svg).toContain('<polyline points="195.00,40.00 320.00,40.00 445.00,40.00 570.00,40.00"');
    expect(svg).toContain('>COW copies (0)</text>');
    expect(svg).toContain('>minor faults</text>');
    expect(svg.match(/<polyline/g)).toHaveLength(4); // RSS, TLB misses, walks, minor faults
    expect(svg).toContain('accesses (a sample every 10)');
    expect(formatMachineTimelineSvg(r)).toContain(
      '<title>machine replay: 40 accesses on virt/aarch64</title>',
    );
  });
});
