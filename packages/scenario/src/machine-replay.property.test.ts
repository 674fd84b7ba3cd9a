/**
 * Machine replay's hot loop (the per-kind hit memo, the region cache, the inlined TLB hit test)
 * against the straightforward loop: on random traces (fast-check) and all five configurations,
 * every access through `Cpu.translate` one by one, regions mapped and widened by hand as the
 * documented layout rule says. Counts (hits, misses, walks, faults, COW, RSS, kinds) and the final
 * state (every TLB slot, every page-table byte of the process) must be identical. A replay that
 * collapses repeats of a page whatever their kinds (a read then a write as one access) is shown to
 * fail the same comparison.
 */
import { Privilege } from '@mmkit/core';
import { bootKernel, exportTranslationState, type Kernel, MAP, PROT, type Process } from '@mmkit/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBackend, createMachineReplay, MACHINE_REPLAY_REGION_PAGES, resolveMachine } from './index.js';

const CONFIGS = [
  { board: 'virt', arch: 'aarch64' },
  { board: 'pc', arch: 'x86_64' },
  { board: 'pc', arch: 'x86_64-la57' },
  { board: 'pc', arch: 'x86-pae' },
  { board: 'pc', arch: 'x86-32' },
] as const;
type Config = (typeof CONFIGS)[number];
/** A small machine: boots fast, and the traces touch a few dozen pages. */
const RAM_MIB = 64;
/** Each run boots two kernels. */
const TIMEOUT_MS = 120_000;

/** Regions every configuration maps at the trace's own address (below 3 GiB, above 0, off the stack). */
const REGIONS = [0x4000_0000, 0x4020_0000, 0x4060_0000].map((va) => va / 4096 / MACHINE_REPLAY_REGION_PAGES);

interface Case {
  readonly pages: Float64Array;
  readonly kinds: Uint8Array;
  /** Feed without kinds (every access `defaultKind`, which is then `kinds[0]`). */
  readonly noKinds: boolean;
  readonly tlbEntries: number;
  readonly sampleEvery: number;
  readonly fork: number | undefined;
}

/** Runs of one (page, kind) 1–4 long over 3 regions × 4 pages: repeats, kind changes, conflicts. */
const caseArb: fc.Arbitrary<Case> = fc
  .record({
    runs: fc.array(
      fc.record({
        region: fc.integer({ min: 0, max: REGIONS.length - 1 }),
        page: fc.integer({ min: 0, max: 3 }),
        kind: fc.integer({ min: 0, max: 2 }),
        repeat: fc.integer({ min: 1, max: 4 }),
      }),
      { minLength: 1, maxLength: 120 },
    ),
    noKinds: fc.boolean(),
    tlbEntries: fc.constantFrom(1, 2, 4, 64),
    sampleEvery: fc.constantFrom(1, 5, 64, 65536),
    forkAt: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
  })
  .map(({ runs, noKinds, tlbEntries, sampleEvery, forkAt }) => {
    const pages: number[] = [];
    const kinds: number[] = [];
    for (const r of runs) {
      for (let j = 0; j < r.repeat; j++) {
        pages.push(REGIONS[r.region]! * MACHINE_REPLAY_REGION_PAGES + r.page);
        kinds.push(noKinds ? runs[0]!.kind : r.kind);
      }
    }
    return {
      pages: Float64Array.from(pages),
      kinds: Uint8Array.from(kinds),
      noKinds,
      tlbEntries,
      sampleEvery,
      fork: forkAt === undefined || forkAt > pages.length ? undefined : forkAt,
    };
  });

const P = REGIONS[0]! * MACHINE_REPLAY_REGION_PAGES;
const Q = REGIONS[1]! * MACHINE_REPLAY_REGION_PAGES;
/** Always tried first: traces that a memo kept across a miss, or shared between kinds, gets wrong. */
const EXAMPLES: Case[] = [
  // P read, Q written (evicts P from a 1-entry TLB), P read again: a miss.
  {
    pages: Float64Array.of(P, Q, P),
    kinds: Uint8Array.of(0, 1, 0),
    noKinds: false,
    tlbEntries: 1,
    sampleEvery: 65536,
    fork: undefined,
  },
  // P read (the zero page, read-only), then written: a miss and a fault.
  {
    pages: Float64Array.of(P, P),
    kinds: Uint8Array.of(0, 1),
    noKinds: false,
    tlbEntries: 64,
    sampleEvery: 65536,
    fork: undefined,
  },
  // P fetched (an r-x region), then read (allowed, no mprotect), written (rwx), read.
  {
    pages: Float64Array.of(P, P, P, P),
    kinds: Uint8Array.of(2, 0, 1, 0),
    noKinds: false,
    tlbEntries: 4,
    sampleEvery: 65536,
    fork: undefined,
  },
];

/** What both replays must agree on: counts and the final TLB and page tables. */
interface Outcome {
  readonly hits: number;
  readonly misses: number;
  readonly walks: number;
  readonly faults: number;
  readonly cow: Record<string, number>;
  readonly rssPages: number;
  readonly kinds: readonly number[];
  readonly tlb: string;
  readonly tables: string;
}

function finalState(k: Kernel, p: Process): { tlb: string; tables: string } {
  const t = k.cpus[0]!.tlb;
  const slots: string[] = [];
  for (let i = 0; i < t.size; i++) {
    if (t.vpn[i] !== -1) slots.push(`${i}:${t.vpn[i]}/${t.asid[i]}/${t.global[i]}/${t.pfn[i]}/${t.perms[i]}`);
  }
  // The tables as a digest (FNV-1a over "pa=bytes" of every table frame), to keep diffs short.
  let h = 0x811c9dc5;
  for (const x of exportTranslationState(k, p).tables) {
    const text = `${x.pa}=${x.bytes};`;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return { tlb: slots.join(' '), tables: h.toString(16) };
}

/** MachineReplay, as the package runs it. */
function viaReplay(c: Config, t: Case): Outcome {
  const m = createMachineReplay({
    board: c.board,
    arch: c.arch,
    ramMiB: RAM_MIB,
    tlbEntries: t.tlbEntries,
    sampleEvery: t.sampleEvery,
    defaultKind: (['read', 'write', 'fetch'] as const)[t.kinds[0]!]!,
    ...(t.fork === undefined ? {} : { fork: t.fork }),
  });
  expect(m.feed(t.pages, t.noKinds ? undefined : t.kinds)).toBe(true);
  const r = m.result();
  return {
    hits: r.tlb.hits,
    misses: r.tlb.misses,
    walks: r.walks,
    faults: r.faults.total,
    cow: { ...r.cow },
    rssPages: r.rssPages,
    kinds: [r.reads, r.writes, r.fetches],
    ...finalState(m.kernel, m.process),
  };
}

/**
 * The straightforward loop: the same machine, the documented layout rule by hand (a region is
 * mapped at the trace's address on first touch, `r-x` for a fetch, `rw-` otherwise, and widened
 * by mprotect to add `rw-` or `r-x` when an access's own permission is missing), then `Cpu.translate` for every access. A hit is an
 * access that filled no TLB entry.
 */
function viaTranslate(c: Config, t: Case): Outcome {
  const machine = resolveMachine(c.board, c.arch, `${RAM_MIB}M`);
  const k = bootKernel({
    arch: createBackend(machine.arch),
    machine: machine.board,
    cpus: 1,
    tlbEntries: t.tlbEntries,
  });
  const cpu = k.cpus[0]!;
  const pids = new Set<number>();
  let faults = 0;
  const cow: Record<string, number> = { copies: 0, reuses: 0, zeroPages: 0, zeroFills: 0 };
  const key = {
    copy: 'copies',
    reuse: 'reuses',
    'zero-page': 'zeroPages',
    'zero-fill': 'zeroFills',
  } as const;
  k.events.on((e) => {
    if (e.type === 'fault' && pids.has(e.pid) && !e.resolution.startsWith('killed')) faults++;
    if (e.type === 'cow' && pids.has(e.pid)) cow[key[e.action]]!++;
  });
  let p = k.createProcess();
  pids.add(p.pid);
  cpu.switchTo(p);
  const fills0 = cpu.tlb.fills;
  const prot = new Map<number, number>();
  let hits = 0;
  const kinds = [0, 0, 0];
  for (let i = 0; i < t.pages.length; i++) {
    if (i === t.fork) {
      const f = k.fork(p);
      if (!f.ok) throw new Error(`fork: ${f.errno}`);
      p = f.process;
      pids.add(p.pid);
      cpu.switchTo(p);
    }
    const page = t.pages[i]!;
    const kind = t.kinds[i] as 0 | 1 | 2;
    const region = Math.floor(page / MACHINE_REPLAY_REGION_PAGES);
    const va = BigInt(region * MACHINE_REPLAY_REGION_PAGES) * 4096n;
    const want = kind === 2 ? PROT.READ | PROT.EXEC : PROT.READ | PROT.WRITE;
    const need = kind === 0 ? PROT.READ : kind === 1 ? PROT.WRITE : PROT.EXEC;
    const have = prot.get(region);
    const bytes = MACHINE_REPLAY_REGION_PAGES * 4096;
    if (have === undefined) {
      const r = k.mmap(p, va, bytes, want, MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED_NOREPLACE);
      expect(r.ok && r.value).toBe(va);
      prot.set(region, want);
    } else if ((have & need) === 0) {
      expect(k.mprotect(p, va, bytes, have | want).ok).toBe(true);
      prot.set(region, have | want);
    }
    const fills = cpu.tlb.fills;
    expect(cpu.translate(p, page, 0, 1, kind, Privilege.User, false)).toBeGreaterThanOrEqual(0);
    if (cpu.tlb.fills === fills) hits++;
    kinds[kind]!++;
  }
  return {
    hits,
    misses: t.pages.length - hits,
    walks: cpu.tlb.fills - fills0 + faults,
    faults,
    cow,
    rssPages: p.rssPages,
    kinds,
    ...finalState(k, p),
  };
}

/**
 * A deliberately wrong replay: a repeat of the previous access's page is counted as a hit
 * whatever its kind (only the first access of each same-page run is replayed).
 */
function viaKindBlindCollapse(c: Config, t: Case): Outcome {
  const keep: number[] = [];
  for (let i = 0; i < t.pages.length; i++) if (i === 0 || t.pages[i] !== t.pages[i - 1]) keep.push(i);
  const kept: Case = {
    ...t,
    pages: Float64Array.from(keep, (i) => t.pages[i]!),
    kinds: Uint8Array.from(keep, (i) => t.kinds[i]!),
    fork: undefined,
  };
  const o = viaReplay(c, kept);
  const dropped = t.pages.length - keep.length;
  const kinds = [...o.kinds];
  for (let i = 0; i < t.pages.length; i++) if (!keep.includes(i)) kinds[t.kinds[i]!]!++;
  return { ...o, hits: o.hits + dropped, kinds };
}

describe.each(CONFIGS)('machine replay hot loop on $board/$arch', (c) => {
  it(
    'gives the counts and final TLB and tables of the per-access Cpu.translate loop (fast-check)',
    () => {
      fc.assert(
        fc.property(caseArb, (t) => {
          expect(viaReplay(c, t)).toEqual(viaTranslate(c, t));
        }),
        { numRuns: 40, examples: EXAMPLES.map((x) => [x]) },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'the comparison catches a collapse that ignores the kind (a read then a write of one page)',
    () => {
      const page = REGIONS[1]! * MACHINE_REPLAY_REGION_PAGES + 3;
      const t: Case = {
        pages: Float64Array.of(page, page),
        kinds: Uint8Array.of(0, 1),
        noKinds: false,
        tlbEntries: 64,
        sampleEvery: 65536,
        fork: undefined,
      };
      const good = viaTranslate(c, t);
      expect(viaReplay(c, t)).toEqual(good);
      // The read maps the zero page (read-only in the TLB); the write must miss and fault.
      const wrong = viaKindBlindCollapse(c, t);
      expect(wrong.hits).toBe(good.hits + 1);
      expect(wrong.faults).toBeLessThan(good.faults);
      expect(wrong).not.toEqual(good);
      // And the property finds such a trace by itself.
      const withoutFork = caseArb.map((x) => ({ ...x, fork: undefined }));
      const run = fc.check(
        fc.property(withoutFork, (x) => {
          expect(viaKindBlindCollapse(c, x)).toEqual(viaTranslate(c, x));
        }),
        { numRuns: 50, seed: 7, endOnFailure: true },
      );
      expect(run.failed).toBe(true);
    },
    TIMEOUT_MS,
  );
});
