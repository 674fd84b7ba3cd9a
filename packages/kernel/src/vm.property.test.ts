import { type ArchBackend, type Mmu, Privilege, WalkResult } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressSpace } from './address-space.js';
import { AttributeChooser } from './attributes.js';
import { audit } from './audit.js';
import { bootKernel, type ForkMode, Kernel } from './kernel.js';
import { MADV } from './madvise.js';
import type { Process } from './process.js';
import { MAP, MREMAP, PROT, type SysResult } from './syscalls.js';
import { fiveConfigs, leaveFree, type TestConfig } from './test-fixtures.js';
import { type AccessTraits, AddressSpaceModel, effectiveProt, type ModelOptions } from './vm-reference.js';

const MiB = 2 ** 20;
const SEED = Number(process.env.VM_PROPERTY_SEED ?? 42);
const NUM_RUNS = Number(process.env.VM_PROPERTY_RUNS ?? 15);
const MAX_STEPS = 32;
/** Predict top-down addresses (true), or adopt the kernel's after checking them (false). */
const PREDICT_PLACEMENT = true;
/** Linux's brk rule: one free page must remain above the new break. */
const BRK_GAP_PAGES = Number(process.env.VM_PROPERTY_BRK_GAP ?? 1);

/** Pages of the window at the heap base where fixed mappings, hints, brk and range operations meet. */
const WINDOW_PAGES = 40;
const HEAP_MAX_PAGES = 12;

const CONFIGS = fiveConfigs(16 * MiB);

// -------------------------------------------------------------------------------------------------
// Commands

/** Where a range or access lands: a window page, or a page the model maps (± a few pages). */
interface Target {
  readonly area: 'window' | 'mapped';
  readonly sel: number;
  readonly delta: number;
}

type Op =
  | {
      op: 'mmap';
      who: number;
      mode: 'top-down' | 'hint' | 'fixed' | 'noreplace';
      at: Target;
      pages: number;
      jitter: number;
      prot: number;
      shared: boolean;
      populate: boolean;
      huge: boolean;
      named: boolean;
    }
  | { op: 'munmap'; who: number; at: Target; pages: number; jitter: number }
  | { op: 'mprotect'; who: number; at: Target; pages: number; jitter: number; prot: number }
  | { op: 'brk'; who: number; pages: number; bytes: number }
  | { op: 'mremap'; who: number; at: Target; oldPages: number; newPages: number; maymove: boolean }
  | {
      op: 'access';
      who: number;
      kind: 0 | 1 | 2;
      size: 1 | 2 | 4 | 8;
      at: Target;
      slot: number;
      value: bigint;
      killSelf: boolean;
      cpu: number;
    }
  | {
      op: 'copy';
      who: number;
      toUser: boolean;
      at: Target;
      offset: number;
      length: number;
      seed: number;
      cpu: number;
    }
  | { op: 'madvise'; who: number; at: Target; pages: number; jitter: number; advice: number }
  | { op: 'mlock'; who: number; at: Target; pages: number; lock: boolean }
  | { op: 'reclaim'; who: number }
  | { op: 'fork'; who: number }
  | { op: 'exit'; who: number }
  | { op: 'squeeze'; keep: number }
  | { op: 'unsqueeze' };

const who = fc.nat({ max: 3 });
/** A target, `mapped` in `mapped` cases out of `mapped + window`. */
const targetArb = (mapped: number, window: number): fc.Arbitrary<Target> =>
  fc.record({
    area: fc.oneof(
      { weight: mapped, arbitrary: fc.constant<Target['area']>('mapped') },
      { weight: window, arbitrary: fc.constant<Target['area']>('window') },
    ),
    sel: fc.nat({ max: 1000 }),
    delta: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) },
    ),
  });
/** Range lengths in pages: mostly short, sometimes spanning several VMAs and gaps. */
const rangePages = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 5, max: 16 }) },
);
const prot = fc.nat({ max: 7 });
const jitter = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4095 }) },
);

const mmapArb: fc.Arbitrary<Extract<Op, { op: 'mmap' }>> = fc.record({
  op: fc.constant('mmap' as const),
  who,
  mode: fc.constantFrom(
    'top-down' as const,
    'hint' as const,
    'fixed' as const,
    'fixed' as const,
    'noreplace' as const,
  ),
  at: targetArb(1, 2),
  pages: fc.integer({ min: 1, max: 10 }),
  jitter,
  prot,
  shared: fc.boolean(),
  populate: fc.boolean(),
  huge: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  named: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: mmapArb },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('munmap' as const),
      who,
      at: targetArb(1, 1),
      pages: rangePages,
      jitter,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('mprotect' as const),
      who,
      at: targetArb(3, 1),
      pages: rangePages,
      jitter,
      prot,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('brk' as const),
      who,
      pages: fc.nat({ max: HEAP_MAX_PAGES }),
      bytes: fc.oneof(fc.constant(0), fc.nat({ max: 4095 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('mremap' as const),
      who,
      at: fc.record({
        area: fc.constant('mapped' as const),
        sel: fc.nat({ max: 1000 }),
        delta: fc.constant(0),
      }),
      oldPages: fc.integer({ min: 1, max: 3 }),
      newPages: fc.integer({ min: 1, max: 10 }),
      maymove: fc.boolean(),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant('access' as const),
      who,
      kind: fc.constantFrom(0 as const, 0 as const, 1 as const, 1 as const, 2 as const),
      size: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      at: targetArb(5, 1),
      slot: fc.nat({ max: 4095 }),
      value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      killSelf: fc.oneof(
        { weight: 7, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
      cpu: fc.nat({ max: 1 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('copy' as const),
      who,
      toUser: fc.boolean(),
      at: targetArb(4, 1),
      offset: fc.nat({ max: 4095 }),
      length: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 17, max: 9000 })),
      seed: fc.nat({ max: 255 }),
      cpu: fc.nat({ max: 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('madvise' as const),
      who,
      at: targetArb(3, 1),
      pages: rangePages,
      jitter: fc.constantFrom(0, 0, 0, 1, 4095),
      advice: fc.constantFrom(MADV.WILLNEED, MADV.DONTNEED, MADV.FREE, MADV.FREE, MADV.COLD, MADV.PAGEOUT),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('mlock' as const),
      who,
      at: targetArb(3, 1),
      pages: rangePages,
      lock: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('reclaim' as const), who }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fork' as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), who }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('squeeze' as const),
      keep: fc.oneof(fc.nat({ max: 6 }), fc.nat({ max: 40 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unsqueeze' as const) }) },
);

/**
 * Copy-on-write-heavy sequences: many forks, exits and writes to mapped pages (private, shared,
 * huge, zero-page-backed), with mprotect/munmap/mremap between them and memory squeezed now and
 * then (a COW break out of memory).
 */
const cowOpArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: mmapArb },
  {
    weight: 14,
    arbitrary: fc.record({
      op: fc.constant('access' as const),
      who,
      kind: fc.constantFrom(0 as const, 1 as const, 1 as const),
      size: fc.constantFrom(1 as const, 8 as const),
      at: targetArb(12, 1),
      slot: fc.nat({ max: 4095 }),
      value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      killSelf: fc.constant(false),
      cpu: fc.nat({ max: 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('madvise' as const),
      who,
      at: targetArb(12, 1),
      pages: rangePages,
      jitter: fc.constantFrom(0, 0, 0, 1, 4095),
      advice: fc.constantFrom(MADV.DONTNEED, MADV.FREE, MADV.FREE, MADV.FREE, MADV.COLD),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('mlock' as const),
      who,
      at: targetArb(3, 1),
      pages: rangePages,
      lock: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('reclaim' as const), who }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('fork' as const), who }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('exit' as const), who }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('mprotect' as const),
      who,
      at: targetArb(3, 0),
      pages: rangePages,
      jitter: fc.constant(0),
      prot: fc.constantFrom(PROT.READ, PROT.READ | PROT.WRITE, PROT.NONE),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('munmap' as const),
      who,
      at: targetArb(1, 0),
      pages: rangePages,
      jitter: fc.constant(0),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('mremap' as const),
      who,
      at: fc.record({
        area: fc.constant('mapped' as const),
        sel: fc.nat({ max: 1000 }),
        delta: fc.constant(0),
      }),
      oldPages: fc.integer({ min: 1, max: 3 }),
      newPages: fc.integer({ min: 1, max: 10 }),
      maymove: fc.constant(true),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('squeeze' as const), keep: fc.nat({ max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unsqueeze' as const) }) },
);

/**
 * Reclaim-advice-heavy sequences on private read-write memory: writes, MADV_FREE / DONTNEED /
 * COLD / PAGEOUT, reclaim of lazily freed pages, mlock/munlock, fork and exit, memory squeezed now
 * and then (mlock's populate out of memory).
 */
const adviceOpArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant('access' as const),
      who,
      kind: fc.constantFrom(0 as const, 1 as const, 1 as const),
      size: fc.constantFrom(1 as const, 8 as const),
      at: targetArb(12, 0),
      slot: fc.nat({ max: 4095 }),
      value: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
      killSelf: fc.constant(false),
      cpu: fc.nat({ max: 1 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('madvise' as const),
      who,
      at: targetArb(12, 1),
      pages: rangePages,
      jitter: fc.constantFrom(0, 0, 1),
      advice: fc.constantFrom(
        MADV.FREE,
        MADV.FREE,
        MADV.FREE,
        MADV.DONTNEED,
        MADV.COLD,
        MADV.PAGEOUT,
        MADV.WILLNEED,
      ),
    }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('reclaim' as const), who }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('mlock' as const),
      who,
      at: targetArb(12, 1),
      pages: rangePages,
      lock: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fork' as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), who }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('squeeze' as const), keep: fc.nat({ max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unsqueeze' as const) }) },
);

/** The mappings the advice-heavy sequences start from: private read-write, small pages. */
const privateMmapArb: fc.Arbitrary<Extract<Op, { op: 'mmap' }>> = mmapArb.map((o) => ({
  ...o,
  prot: PROT.READ | PROT.WRITE,
  shared: false,
  huge: false,
}));

/**
 * The targeted sequence of the MADV_FREE checker: one process writes a mapped page, advises it
 * MADV_FREE, writes it again and reclaim is tried on every page — so a reclaim that drops a page
 * written since MADV_FREE is met in every run, whatever the seed (non-zero values: a dropped page
 * reads zeros).
 */
const writeFreeWriteReclaimArb: fc.Arbitrary<readonly Op[]> = fc
  .record({
    at: fc.record({
      area: fc.constant('mapped' as const),
      sel: fc.nat({ max: 1000 }),
      delta: fc.constant(0),
    }),
    slot: fc.nat({ max: 4095 }),
    first: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
    second: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
  })
  .map(({ at, slot, first, second }): readonly Op[] => {
    const write = (value: bigint): Op => ({
      op: 'access',
      who: 0,
      kind: 1,
      size: 8,
      at,
      slot,
      value,
      killSelf: false,
      cpu: 0,
    });
    return [
      write(first),
      { op: 'madvise', who: 0, at, pages: 1, jitter: 0, advice: MADV.FREE },
      write(second),
      { op: 'reclaim', who: 0 },
    ];
  });

// -------------------------------------------------------------------------------------------------
// The world of one run

interface Live {
  readonly proc: Process;
  readonly model: AddressSpaceModel;
}

interface World {
  readonly k: Kernel;
  readonly options: ModelOptions;
  readonly live: Live[];
  /** First page of the window (the heap base). */
  readonly winVpn: number;
  /** Table levels (root included): a bound for the tables one page can need. */
  readonly levels: number;
  release: (() => void) | undefined;
}

function traitsOf(arch: ArchBackend): AccessTraits {
  let execOnly = false;
  try {
    execOnly = !new AttributeChooser(arch).leaf({
      user: { read: false, write: false, execute: true },
      memoryType: 'normal-wb',
      global: false,
    }).user.read;
  } catch {
    execOnly = false;
  }
  return { execOnly, noExecute: arch.description.capabilities.noExecute };
}

/** The top of the kernel's mmap area: one past its first top-down page in an empty process. */
function calibrateTop(c: TestConfig): number {
  const k = bootKernel({ arch: c.arch(), machine: c.machine() });
  const p = k.createProcess();
  const r = k.mmap(p, 0, 4096, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!r.ok) throw new Error(`calibration mmap failed on ${c.name}: ${r.errno} ${r.detail}`);
  return Number(r.value / 4096n) + 1;
}

function newWorld(c: TestConfig, mmapTopVpn: number, fork: ForkMode): World {
  const arch = c.arch();
  // The model's out of memory kills the faulting process (the behaviour without the OOM killer).
  const k = bootKernel({
    arch,
    machine: c.machine(),
    cpus: 2,
    strictTlb: true,
    fork,
    memlockLimit: Number.POSITIVE_INFINITY,
    oomKiller: false,
  });
  const g = arch.geometry;
  const hugeLevel = Math.min(...g.leafLevels.filter((l) => l > 1));
  const options: ModelOptions = {
    userEndVpn: Number(arch.description.userRange.end / 4096n),
    heapBase: k.layout.heapBase,
    brkLimit: k.layout.stackGuardLow,
    mmapMinVpn: 16,
    mmapTopVpn: PREDICT_PLACEMENT ? mmapTopVpn : undefined,
    hugePages: g.entryPages[hugeLevel]!,
    brkGapPages: BRK_GAP_PAGES,
    traits: traitsOf(arch),
  };
  const w: World = {
    k,
    options,
    live: [],
    winVpn: Number(k.layout.heapBase / 4096n),
    levels: g.rootLevel,
    release: undefined,
  };
  spawnFresh(w);
  return w;
}

function spawnFresh(w: World): Live {
  const proc = w.k.createProcess();
  const l = { proc, model: AddressSpaceModel.adopt(w.k.vmas(proc), w.options) };
  w.live.push(l);
  return l;
}

function pick(w: World, i: number): Live {
  return w.live[i % w.live.length] ?? spawnFresh(w);
}

function drop(w: World, l: Live): void {
  const i = w.live.indexOf(l);
  if (i >= 0) w.live.splice(i, 1);
}

function resolve(w: World, m: AddressSpaceModel, t: Target): number {
  if (t.area === 'mapped') {
    const vpns = m.mappedVpns().filter((v) => m.pages.get(v)!.name !== '[stack]');
    if (vpns.length > 0) return Math.max(0, vpns[t.sel % vpns.length]! + t.delta);
  }
  return w.winVpn + (t.sel % WINDOW_PAGES);
}

const norm = (r: SysResult<unknown>) => (r.ok ? { ok: true, value: r.value } : { ok: false, errno: r.errno });
const squeezed = (w: World) => w.release !== undefined;

// -------------------------------------------------------------------------------------------------
// Steps

function step(w: World, o: Op): void {
  const { k } = w;
  switch (o.op) {
    case 'squeeze':
      w.release?.();
      w.release = leaveFree(k, o.keep);
      return;
    case 'unsqueeze':
      w.release?.();
      w.release = undefined;
      return;
    case 'fork': {
      const l = pick(w, o.who);
      const free0 = k.allocator.freeCount;
      const f = k.fork(l.proc);
      if (f.ok) w.live.push({ proc: f.process, model: l.model.fork() });
      else {
        expect({ errno: f.errno, squeezed: squeezed(w) }).toEqual({ errno: 'ENOMEM', squeezed: true });
        expect(k.allocator.freeCount).toBe(free0);
      }
      return;
    }
    case 'exit': {
      const l = pick(w, o.who);
      k.exit(l.proc);
      drop(w, l);
      if (w.live.length === 0) spawnFresh(w);
      return;
    }
    case 'brk': {
      const l = pick(w, o.who);
      const b = w.options.heapBase + BigInt(o.pages) * 4096n - (o.pages > 0 ? BigInt(o.bytes) : 0n);
      expect(k.brk(l.proc, b)).toBe(l.model.brkTo(b));
      return;
    }
    case 'munmap': {
      const l = pick(w, o.who);
      const addr = BigInt(resolve(w, l.model, o.at)) * 4096n;
      const len = BigInt(o.pages) * 4096n - BigInt(o.jitter);
      expect(norm(k.munmap(l.proc, addr, len))).toEqual(norm(l.model.munmap(addr, len)));
      return;
    }
    case 'mprotect': {
      const l = pick(w, o.who);
      const addr = BigInt(resolve(w, l.model, o.at)) * 4096n;
      const len = BigInt(o.pages) * 4096n - BigInt(o.jitter);
      expect(norm(k.mprotect(l.proc, addr, len, o.prot))).toEqual(norm(l.model.mprotect(addr, len, o.prot)));
      return;
    }
    case 'madvise': {
      const l = pick(w, o.who);
      const addr = BigInt(resolve(w, l.model, o.at)) * 4096n;
      const len = BigInt(o.pages) * 4096n - BigInt(o.jitter);
      expect(norm(k.madvise(l.proc, addr, len, o.advice))).toEqual(
        norm(l.model.madvise(addr, len, o.advice)),
      );
      return;
    }
    case 'mlock': {
      const l = pick(w, o.who);
      const addr = BigInt(resolve(w, l.model, o.at)) * 4096n;
      const len = BigInt(o.pages) * 4096n;
      const got = norm(o.lock ? k.mlock(l.proc, addr, len) : k.munlock(l.proc, addr, len));
      const want = norm(l.model.mlock(addr, len, o.lock));
      // Out of memory while faulting in (memory squeezed) is EAGAIN, with the locks applied.
      if (
        got.ok === false &&
        got.errno === 'EAGAIN' &&
        squeezed(w) &&
        o.lock &&
        (want.ok || want.errno === 'ENOMEM')
      )
        return;
      expect(got).toEqual(want);
      return;
    }
    case 'reclaim': {
      // Reclaim's unmap of a lazily freed page (try_to_unmap_one) is tried on every private page
      // (every other one when `who` is odd), lazily freed in some model or not: observe() then
      // checks that a page a model thinks lazily freed reads its old contents or zeros, and every
      // other page — written since MADV_FREE, or never advised — its contents.
      for (const l of w.live) {
        if (l.proc.root === 0) continue;
        for (const vpn of l.model.mappedVpns()) {
          const b = l.model.pages.get(vpn)!.backing;
          if (b.kind !== 'private' || (o.who & 1 && vpn & 1)) continue;
          const ref = k.editor.lookup(l.proc.root, vpn);
          if (ref.entry.kind === 'leaf' && ref.level === 1 && ref.entry.pa !== k.zeroPage)
            k.discardLazyFree(ref.entry.pa);
        }
      }
      return;
    }
    case 'mmap':
      stepMmap(w, o);
      return;
    case 'mremap':
      stepMremap(w, o);
      return;
    case 'access':
      stepAccess(w, o);
      return;
    case 'copy':
      stepCopy(w, o);
      return;
  }
}

function stepMmap(w: World, o: Extract<Op, { op: 'mmap' }>): void {
  const { k } = w;
  const l = pick(w, o.who);
  const fixedMode = o.mode === 'fixed' || o.mode === 'noreplace';
  const addr = o.mode === 'top-down' ? 0n : BigInt(resolve(w, l.model, o.at)) * 4096n;
  const len = BigInt(o.pages) * 4096n - BigInt(o.jitter);
  const flags =
    (o.shared ? MAP.SHARED : MAP.PRIVATE) |
    MAP.ANONYMOUS |
    (o.mode === 'fixed' ? MAP.FIXED : 0) |
    (o.mode === 'noreplace' ? MAP.FIXED_NOREPLACE : 0) |
    (o.populate ? MAP.POPULATE : 0) |
    (o.huge && fixedMode ? MAP.HUGETLB : 0);
  const opts = o.named ? { name: 'n' } : {};
  const free0 = k.allocator.freeCount;
  const r = k.mmap(l.proc, addr, len, o.prot, flags, opts);
  // MAP_POPULATE out of memory is not an error (vm-reference.ts): only MAP_FIXED's split of a huge
  // leaf at the range ends may be ENOMEM when memory is short.
  const mayOom = fixedMode && squeezed(w) && free0 < 3 * w.levels + 2;
  if (!r.ok && r.errno === 'ENOMEM' && mayOom) {
    expect(r.detail).toMatch(/splitting a huge page/);
    // Allowed only where the call would otherwise succeed (or also be ENOMEM), and only with nothing changed.
    const trial = l.model
      .fork()
      .mmap(addr, len, o.prot, flags, { ...opts, placeAt: PREDICT_PLACEMENT ? undefined : addr });
    expect(trial.ok || trial.errno === 'ENOMEM').toBe(true);
    expect(k.allocator.freeCount).toBe(free0);
    return;
  }
  const placeAt = !PREDICT_PLACEMENT && r.ok ? r.value : undefined;
  expect(norm(r)).toEqual(norm(l.model.mmap(addr, len, o.prot, flags, { ...opts, placeAt })));
}

function stepMremap(w: World, o: Extract<Op, { op: 'mremap' }>): void {
  const { k } = w;
  const l = pick(w, o.who);
  const vpn = resolve(w, l.model, o.at);
  const page = l.model.pages.get(vpn);
  // Growing a shared mapping is not modelled (Linux: SIGBUS past the object's size).
  if (page?.backing.kind === 'shared' && o.newPages > o.oldPages) return;
  const addr = BigInt(vpn) * 4096n;
  const oldLen = BigInt(o.oldPages) * 4096n;
  const newLen = BigInt(o.newPages) * 4096n;
  const flags = o.maymove ? MREMAP.MAYMOVE : 0;
  const free0 = k.allocator.freeCount;
  const r = k.mremap(l.proc, addr, oldLen, newLen, flags);
  if (!r.ok && r.errno === 'ENOMEM' && o.maymove && squeezed(w) && free0 < 3 * w.levels + 2) {
    const trial = l.model
      .fork()
      .mremap(addr, oldLen, newLen, flags, { placeAt: PREDICT_PLACEMENT ? undefined : addr });
    expect(trial.ok || trial.errno === 'ENOMEM').toBe(true);
    expect(k.allocator.freeCount).toBe(free0);
    return;
  }
  const placeAt = !PREDICT_PLACEMENT && r.ok ? r.value : undefined;
  expect(norm(r)).toEqual(norm(l.model.mremap(addr, oldLen, newLen, flags, { placeAt })));
}

function stepAccess(w: World, o: Extract<Op, { op: 'access' }>): void {
  const { k } = w;
  const l = pick(w, o.who);
  const vpn = resolve(w, l.model, o.at);
  if (vpn >= w.options.userEndVpn) return;
  const va = BigInt(vpn) * 4096n + BigInt((o.slot % (4096 / o.size)) * o.size);
  const value = o.size === 8 ? o.value : Number(o.value & ((1n << BigInt(8 * o.size)) - 1n));
  const run = (p: Process) =>
    o.kind === 0
      ? k.load(p, va, o.size, o.cpu)
      : o.kind === 1
        ? k.store(p, va, o.size, value, o.cpu)
        : k.fetch(p, va, o.size, o.cpu);
  // What the model says, without applying a store yet (the access may still die of out of memory).
  const predicted = l.model.fault(o.kind, va, o.size);
  if (predicted) {
    if (o.killSelf) {
      expect(run(l.proc)).toEqual(predicted);
      expect(l.proc.state).toBe('killed');
      drop(w, l);
      if (w.live.length === 0) spawnFresh(w);
      return;
    }
    const free0 = k.allocator.freeCount;
    const f = k.fork(l.proc);
    if (!f.ok) {
      expect(squeezed(w)).toBe(true);
      expect(k.allocator.freeCount).toBe(free0);
      return;
    }
    const r = run(f.process);
    const state = f.process.state;
    if (f.process.alive) k.exit(f.process);
    expect({ r, state }).toEqual({ r: predicted, state: 'killed' });
    return;
  }
  const mayOom = squeezed(w) && k.allocator.freeCount < w.levels + 2;
  const r = run(l.proc);
  if (!r.ok && r.killed === 'out of memory' && mayOom) {
    drop(w, l);
    if (w.live.length === 0) spawnFresh(w);
    return;
  }
  const applied = l.model.access(o.kind, va, o.size, value);
  expect(r).toEqual(applied);
}

function stepCopy(w: World, o: Extract<Op, { op: 'copy' }>): void {
  const { k } = w;
  const l = pick(w, o.who);
  const va = BigInt(resolve(w, l.model, o.at)) * 4096n + BigInt(o.offset);
  const end = va + BigInt(o.length);
  if (end > BigInt(w.options.userEndVpn) * 4096n) return;
  const data = o.toUser
    ? Uint8Array.from({ length: o.length }, (_, i) => (o.seed + i * 31) & 0xff)
    : undefined;
  const pages = Number((end + 4095n) / 4096n - va / 4096n);
  const mayOom = squeezed(w) && k.allocator.freeCount < pages * (w.levels + 1) + 1;
  const r = data ? k.copyToUser(l.proc, va, data, o.cpu) : k.copyFromUser(l.proc, va, o.length, o.cpu);
  expect(l.proc.state).toBe('running');
  const expected = l.model.fork().copy(va, o.length, data);
  if (!r.ok && expected.ok && mayOom) return; // out of memory while prefaulting: EFAULT, nothing written
  expect(r).toEqual(expected);
  if (data && r.ok) l.model.copy(va, o.length, data);
}

// -------------------------------------------------------------------------------------------------
// Observation (side-effect free) and comparison

/**
 * The name given to mmap, from a VMA name that may be shown Linux's way (`[anon:NAME]`): which of
 * the two `vmas()` reports is left open by the facade (vm-scenarios.test.ts asserts one).
 */
const rawName = (name: string): string => /^\[anon:(.*)\]$/.exec(name)?.[1] ?? name;

const ZERO = new Uint8Array(4096);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function observe(w: World): void {
  const { k } = w;
  const g = k.arch.geometry;
  const sharedFrames = new Map<string, number>();
  const privateFrames = new Map<number, { pid: number; vpn: number; writable: boolean }>();
  const r = new WalkResult();
  for (const { proc, model } of w.live) {
    expect({ pid: proc.pid, state: proc.state }).toEqual({ pid: proc.pid, state: 'running' });
    // 1. The kernel's VMAs are the model's, exactly (names compared as given to mmap; see rawName).
    const vmas = k.vmas(proc);
    expect(
      vmas.map((v) => ({
        start: v.start,
        end: v.end,
        prot: v.prot,
        shared: v.shared,
        name: rawName(v.name),
      })),
    ).toEqual(model.vmaList());
    const stats = k.memoryStats(proc);
    expect(stats).toEqual({
      rssPages: vmas.reduce((n, v) => n + v.residentPages, 0),
      vszBytes: vmas.reduce((n, v) => n + (v.end - v.start), 0n),
      pageTablePages: proc.tablePages,
      lockedPages: model.mappedVpns().filter((v) => model.pages.get(v)!.locked).length,
    });
    for (const v of vmas) expect(v.residentPages <= Number((v.end - v.start) / 4096n)).toBe(true);
    const maps = (k as unknown as { procMaps?: (p: Process) => string }).procMaps?.call(k, proc);
    if (maps !== undefined)
      expect(
        maps
          .trimEnd()
          .split('\n')
          .filter((s) => s !== '').length,
      ).toBe(vmas.length);

    // 2. Hardware permissions and contents of every page the model maps.
    let mmu: Mmu | undefined;
    if (proc.root !== 0) {
      mmu = k.arch.createMmu(k.memory);
      mmu.setKernelRoot(k.kernelRoot);
      mmu.setUserRoot(proc.root, proc.asid);
    }
    for (const vpn of model.mappedVpns()) {
      const page = model.pages.get(vpn)!;
      const ref = proc.root !== 0 ? k.editor.lookup(proc.root, vpn) : undefined;
      if (page.backing.kind === 'private' && page.backing.lazy) {
        // MADV_FREE: the old contents, or zeros once reclaim discarded the page (then it stays so).
        const now =
          ref?.entry.kind === 'leaf'
            ? k.memory.readBytes(ref.entry.pa + (vpn % g.entryPages[ref.level]!) * 4096, 4096)
            : ZERO;
        if (sameBytes(now, ZERO)) model.discarded(vpn);
      }
      const expected = model.contents(vpn) ?? ZERO;
      if (ref?.entry.kind !== 'leaf') {
        if (page.backing.kind === 'private' && !sameBytes(expected, ZERO))
          expect.fail(`pid ${proc.pid} page ${vpn.toString(16)}: private data but no PTE (lost?)`);
        continue;
      }
      const span = g.entryPages[ref.level]!;
      const pa = ref.entry.pa + (vpn % span) * 4096;
      if (!sameBytes(k.memory.readBytes(pa, 4096), expected))
        expect.fail(
          `pid ${proc.pid} page ${vpn.toString(16)} (frame ${pa.toString(16)}): contents differ from the model`,
        );
      const allowed = effectiveProt(page.prot, w.options.traits);
      let writable = false;
      for (const a of [0, 1, 2] as const) {
        if (!mmu!.probe(vpn, a, Privilege.User, r)) continue;
        if (a === 1) writable = true;
        const bit = [PROT.READ, PROT.WRITE, PROT.EXEC][a]!;
        if (!(allowed & bit))
          expect.fail(
            `pid ${proc.pid} page ${vpn.toString(16)}: hardware allows ${['read', 'write', 'fetch'][a]} but prot is ${page.prot}`,
          );
      }
      if (pa === k.zeroPage && writable)
        expect.fail(`pid ${proc.pid} page ${vpn.toString(16)}: the zero page is mapped writable`);
      if (page.backing.kind === 'shared') {
        const key = `${page.backing.object.id}:${page.backing.index}`;
        const prev = sharedFrames.get(key);
        if (prev !== undefined && prev !== pa)
          expect.fail(
            `shared page ${key} is frame ${prev.toString(16)} in one process and ${pa.toString(16)} in pid ${proc.pid}`,
          );
        sharedFrames.set(key, pa);
      } else {
        const prev = privateFrames.get(pa);
        if (prev && (prev.writable || writable))
          expect.fail(
            `private frame ${pa.toString(16)} is mapped by pid ${prev.pid} and pid ${proc.pid}, writable in one`,
          );
        privateFrames.set(pa, { pid: proc.pid, vpn, writable });
      }
    }
    // 3. No PTE in the window outside the model's pages.
    if (proc.root !== 0) {
      for (let vpn = w.winVpn; vpn < w.winVpn + WINDOW_PAGES + 8; vpn++) {
        if (model.pages.has(vpn)) continue;
        const ref = k.editor.lookup(proc.root, vpn);
        if (ref.entry.kind === 'leaf')
          expect.fail(`pid ${proc.pid} page ${vpn.toString(16)}: a PTE without a VMA`);
      }
    }
  }
  // 4. Every invariant of the kernel.
  expect(audit(k).problems).toEqual([]);
}

// -------------------------------------------------------------------------------------------------

/**
 * Every configuration with copy-on-write fork (the default: pages shared read-only, copied on
 * the first write, read faults on the zero page), and the first with the eager fork too: what
 * each process observes is the same (the model copies at fork), so a page's contents never
 * change because it is shared, and a write on one side is never seen on the other unless the
 * mapping is MAP_SHARED.
 */
const RUNS: readonly { c: TestConfig; fork: ForkMode }[] = [
  ...CONFIGS.map((c) => ({ c, fork: 'cow' as const })),
  { c: CONFIGS[0]!, fork: 'eager' },
];

/** Runs the property on one configuration; throws (fast-check's report) on a counterexample. */
function runProperty(
  c: TestConfig,
  fork: ForkMode,
  numRuns = NUM_RUNS,
  ops: fc.Arbitrary<Op> = opArb,
  minSteps = 1,
  endOnFailure = false,
  prefixArb: fc.Arbitrary<Op> = mmapArb,
  seed = SEED,
  targeted: fc.Arbitrary<readonly Op[]> = fc.constant([]),
): void {
  const top = calibrateTop(c);
  fc.assert(
    fc.property(
      fc.array(prefixArb, { minLength: 1, maxLength: 4 }),
      targeted,
      fc.array(ops, { minLength: minSteps, maxLength: MAX_STEPS }),
      (prefix, middle, rest) => {
        const w = newWorld(c, top, fork);
        for (const o of [...prefix, ...middle, ...rest]) {
          step(w, o);
          observe(w);
        }
        w.release?.();
        for (const l of w.live) w.k.exit(l.proc);
        expect(w.k.allocator.freeCount).toBe(w.k.baselineFree);
        expect(audit(w.k).problems).toEqual([]);
      },
    ),
    { seed, numRuns, endOnFailure },
  );
}

describe('address spaces: random mmap/munmap/mprotect/brk/mremap/accesses/fork/exit against the reference model', () => {
  for (const { c, fork } of RUNS) {
    it(`${c.name}, ${fork} fork: observable state equals the model and audit() is clean after every step (seed ${SEED})`, () => {
      runProperty(c, fork);
    }, 60_000);
  }
});

describe('copy-on-write: fork/write/exit-heavy random sequences against the reference model', () => {
  for (const c of CONFIGS) {
    it(`${c.name}: no process ever sees another's private writes, MAP_SHARED writes are seen, audit() clean (seed ${SEED})`, () => {
      runProperty(c, 'cow', NUM_RUNS, cowOpArb, 12);
    }, 60_000);
  }
});

describe('madvise and mlock: FREE/DONTNEED/COLD/PAGEOUT, reclaim, mlock, fork against the reference model', () => {
  for (const c of CONFIGS) {
    it(`${c.name}: DONTNEED reads zeros, FREE old contents or zeros, the rest no change; audit() clean (seed ${SEED})`, () => {
      runProperty(c, 'cow', NUM_RUNS, adviceOpArb, 12, false, privateMmapArb);
    }, 60_000);
  }
  it('catches a reclaim that discards a lazily freed page written since MADV_FREE, whatever the seed', () => {
    const proto = Kernel.prototype as unknown as { discardLazyFree: (pa: number) => boolean };
    const original = proto.discardLazyFree;
    proto.discardLazyFree = function (this: Kernel, pa: number): boolean {
      for (const m of this.rmap.mappings(pa)) {
        const flush = this.editor.newFlush({ asid: m.space.asid });
        m.space.clearLeaves(m.vpn, m.vpn + 1, flush);
        this.discharge(flush);
      }
      return true;
    };
    const run = (seed: number, runs: number) =>
      runProperty(
        CONFIGS[0]!,
        'cow',
        runs,
        adviceOpArb,
        12,
        true,
        privateMmapArb,
        seed,
        writeFreeWriteReclaimArb,
      );
    try {
      // Every seed reaches the bug (seeds 7 and 99 did not before the targeted sequence), in the
      // first run: the sequence comes right after the mappings, before anything can unmap them.
      for (const seed of [SEED, 7, 99, 1, 2, 3, 1234, 0xdead])
        expect(() => run(seed, 1), `seed ${seed}`).toThrow(/Property failed/);
    } finally {
      proto.discardLazyFree = original;
    }
    for (const seed of [7, 99]) run(seed, 2); // the control: the real reclaim keeps the written page
  }, 60_000);
});

describe('the property catches copy-on-write bugs', () => {
  it('a COW break that treats a shared frame as exclusive (makes it writable in place instead of copying)', () => {
    // Both forms of the test: by address (breakCow, huge pages) and by frame index (the fault's fast path).
    const proto = AddressSpace.prototype as unknown as {
      exclusive: () => boolean;
      exclusiveAt: () => boolean;
    };
    const { exclusive, exclusiveAt } = proto;
    proto.exclusive = () => true;
    proto.exclusiveAt = () => true;
    try {
      expect(() => runProperty(CONFIGS[0]!, 'cow', NUM_RUNS, cowOpArb, 12, true)).toThrow(/Property failed/);
    } finally {
      proto.exclusive = exclusive;
      proto.exclusiveAt = exclusiveAt;
    }
    runProperty(CONFIGS[0]!, 'cow', 3, cowOpArb, 12); // the control: the real method passes
  }, 60_000);
});
