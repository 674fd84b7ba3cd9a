/**
 * fork's two copy paths (fork-copy.ts) produce the same machine: the table-at-a-time copy (taken
 * when nobody listens to events) and the per-leaf copy (taken while a listener is attached) are
 * run on twin kernels that did the same random work, and everything is compared — every byte of
 * RAM (so every descriptor of every table), every frame's state, reference count and owner,
 * every reverse-map entry and every space's counters. Out of memory at every allocation point of
 * a table-at-a-time fork leaves all of that as it was. All five configurations.
 */
import { isLeafDirty, type LeafAttributes, type LeafTemplate, leafTemplate } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, Kernel } from './kernel.js';
import { MADV } from './madvise.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, leaveFree, type TestConfig } from './test-fixtures.js';

const MiB = 2 ** 20;
const PAGE = 4096;
const CONFIGS = fiveConfigs(16 * MiB);

type Op =
  | { op: 'mmap'; pages: number; prot: number; shared: boolean }
  | { op: 'write'; region: number; page: number; value: number; child: boolean }
  | { op: 'read'; region: number; page: number }
  | { op: 'mprotect'; region: number; page: number; pages: number; prot: number }
  | { op: 'fork' }
  | { op: 'exit' }
  | { op: 'pageout'; region: number };

const protArb = fc.constantFrom(
  PROT.READ | PROT.WRITE,
  PROT.READ,
  PROT.READ | PROT.WRITE | PROT.EXEC,
  PROT.NONE,
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('mmap' as const),
      pages: fc.integer({ min: 1, max: 700 }),
      prot: protArb,
      shared: fc.boolean(),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      region: fc.nat(),
      page: fc.nat(),
      value: fc.integer({ min: 1, max: 255 }),
      child: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('read' as const), region: fc.nat(), page: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('mprotect' as const),
      region: fc.nat(),
      page: fc.nat(),
      pages: fc.integer({ min: 1, max: 600 }),
      prot: protArb,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'fork' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'exit' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pageout' as const), region: fc.nat() }) },
);

interface World {
  readonly k: Kernel;
  readonly p: Process;
  readonly children: Process[];
  readonly regions: { va: number; pages: number }[];
}

/** Boots a kernel (a swap device, so that pageout makes swap PTEs) and runs `ops`; failures are ignored (both twins fail alike). */
function world(c: TestConfig, ops: readonly Op[], autoReclaim = true): World {
  const k = bootKernel({
    arch: c.arch(),
    machine: c.machine(),
    cpus: 2,
    strictTlb: true,
    oomKiller: false,
    autoReclaim,
  });
  const dev = k.swapon({ pages: 256 });
  if (!dev.ok) throw new Error(dev.detail);
  const p = k.createProcess();
  const w: World = { k, p, children: [], regions: [] };
  // One large, fully written region, so that whole leaf tables are copied.
  const big = k.mmap(p, 0, 600 * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!big.ok) throw new Error(big.detail);
  w.regions.push({ va: Number(big.value), pages: 600 });
  for (let i = 0; i < 600; i++) k.store(p, Number(big.value) + i * PAGE, 1, i & 0xff);
  for (const o of ops) step(w, o);
  return w;
}

function step(w: World, o: Op): void {
  const { k, p, regions, children } = w;
  const region = (i: number) => regions[i % regions.length]!;
  switch (o.op) {
    case 'mmap': {
      const r = k.mmap(p, 0, o.pages * PAGE, o.prot, (o.shared ? MAP.SHARED : MAP.PRIVATE) | MAP.ANONYMOUS);
      if (r.ok) regions.push({ va: Number(r.value), pages: o.pages });
      return;
    }
    case 'write': {
      const g = region(o.region);
      const who = o.child && children.length > 0 ? children[o.region % children.length]! : p;
      // The soft path (copy_to_user): a page the VMA refuses is EFAULT, not a kill.
      if (who.alive) k.copyToUser(who, g.va + (o.page % g.pages) * PAGE, new Uint8Array([o.value]));
      return;
    }
    case 'read': {
      const g = region(o.region);
      k.copyFromUser(p, g.va + (o.page % g.pages) * PAGE, 1);
      return;
    }
    case 'mprotect': {
      const g = region(o.region);
      const first = o.page % g.pages;
      k.mprotect(p, g.va + first * PAGE, Math.min(o.pages, g.pages - first) * PAGE, o.prot);
      return;
    }
    case 'fork': {
      const f = k.fork(p);
      if (f.ok) children.push(f.process);
      return;
    }
    case 'exit': {
      const c = children.shift();
      if (c?.alive) k.exit(c);
      return;
    }
    case 'pageout': {
      const g = region(o.region);
      k.madvise(p, g.va, g.pages * PAGE, MADV.PAGEOUT);
      return;
    }
  }
}

/** Everything a fork may change, as comparable values (spaces named by pid). */
function snapshot(k: Kernel): { ram: Uint8Array; frames: number[]; rmap: string[]; spaces: number[][] } {
  let frames0 = 0;
  for (const r of k.memory.ram) frames0 += (r.end - r.start) / PAGE;
  const ram = new Uint8Array(frames0 * PAGE);
  let at = 0;
  for (const r of k.memory.ram) {
    for (let pfn = r.start / PAGE; pfn < r.end / PAGE; pfn++, at += PAGE)
      k.memory.readFrameInto(pfn, ram, at);
  }
  const frames: number[] = [];
  const rmap: string[] = [];
  k.allocator.forEachFrame((pa, state, refs, owner) => {
    frames.push(pa, state, refs, owner);
    for (const m of k.rmap.mappings(pa)) rmap.push(`${pa}:${m.space.pid}:${m.vpn}`);
  });
  const spaces = k.liveProcesses.map((q) => [
    q.pid,
    q.space.residentPages,
    q.space.tablePages,
    q.space.swapEntries,
    q.space.root,
  ]);
  return { ram, frames, rmap, spaces };
}

function expectSame(a: ReturnType<typeof snapshot>, b: ReturnType<typeof snapshot>): void {
  expect(a.spaces).toEqual(b.spaces);
  expect(a.frames.length).toBe(b.frames.length);
  const firstFrame = a.frames.findIndex((x, i) => x !== b.frames[i]);
  expect(firstFrame, `frame table differs at ${firstFrame}`).toBe(-1);
  expect(a.rmap).toEqual(b.rmap);
  expect(a.ram.length).toBe(b.ram.length);
  expect(Buffer.compare(a.ram, b.ram), 'RAM differs').toBe(0);
}

/** fork of the world's parent, with a listener attached (per-leaf path) or not (table-at-a-time). */
function forkOf(w: World, perLeaf: boolean): ReturnType<Kernel['fork']> {
  const off = perLeaf ? w.k.events.on(() => {}) : undefined;
  try {
    return w.k.fork(w.p);
  } finally {
    off?.();
  }
}

/** The comparison of the two paths, as a fast-check property. */
function twinsAgree(c: TestConfig, numRuns: number): void {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 25 }), (ops) => {
      const a = world(c, ops);
      const b = world(c, ops);
      expectSame(snapshot(a.k), snapshot(b.k)); // the twins did the same work
      const ra = forkOf(a, true);
      const rb = forkOf(b, false);
      expect(ra.ok).toBe(rb.ok);
      expectSame(snapshot(a.k), snapshot(b.k));
      expect(audit(b.k).problems).toEqual([]);
      // The child and the parent still read what the parent wrote; the child's writes copy.
      if (rb.ok) {
        const va = b.regions[0]!.va;
        expect(b.k.load(rb.process, va + 7 * PAGE, 1)).toMatchObject({ ok: true, value: 7 });
        expect(b.k.store(rb.process, va + 7 * PAGE, 1, 99)).toMatchObject({ ok: true });
        expect(b.k.load(b.p, va + 7 * PAGE, 1)).toMatchObject({ ok: true, value: 7 });
        expect(audit(b.k).problems).toEqual([]);
      }
    }),
    { numRuns, seed: 0x5eed15 },
  );
}

describe.each(CONFIGS)('fork copy paths: $name', (c) => {
  it('the table-at-a-time copy equals the per-leaf copy byte for byte on random address spaces', () => {
    twinsAgree(c, 8);
  }, 240_000);

  it('out of memory at every allocation point of a table-at-a-time fork leaves everything as it was', () => {
    const w = world(
      c,
      [
        { op: 'mmap', pages: 300, prot: PROT.READ | PROT.WRITE, shared: true },
        { op: 'write', region: 1, page: 5, value: 3, child: false },
        { op: 'read', region: 0, page: 3 },
        { op: 'pageout', region: 0 },
        { op: 'write', region: 0, page: 9, value: 4, child: false },
      ],
      false,
    ); // no kswapd: a failed fork must change nothing, and reclaim after the call would
    const { k, p } = w;
    expect(p.space.swapEntries).toBeGreaterThan(0);
    let forked = -1;
    for (let keep = 0; keep < 64 && forked < 0; keep++) {
      const release = leaveFree(k, keep);
      const before = snapshot(k);
      const f = forkOf(w, false);
      if (f.ok) forked = keep;
      else {
        expect(f).toEqual({ ok: false, errno: 'ENOMEM' });
        expectSame(snapshot(k), before);
        expect(audit(k).problems).toEqual([]);
      }
      release();
    }
    // Several allocation points failed before the fork fit (the root, then the tables).
    expect(forked).toBeGreaterThan(1);
    expect(audit(k).problems).toEqual([]);
  }, 120_000);
});

describe('the twin comparison catches a table-at-a-time bug', () => {
  it('a table path whose template sets the wrong accessed flag in the child is caught', () => {
    // Only the table-at-a-time path asks for templates (the per-leaf twin listens to events).
    const proto = Kernel.prototype as unknown as {
      templateFor: (a: LeafAttributes) => LeafTemplate | undefined;
    };
    const original = proto.templateFor;
    proto.templateFor = function (this: Kernel, a: LeafAttributes) {
      return leafTemplate(this.arch, { ...a, accessed: !a.accessed });
    };
    try {
      expect(() => twinsAgree(CONFIGS[0]!, 3)).toThrow(/Property failed/);
    } finally {
      proto.templateFor = original;
    }
    twinsAgree(CONFIGS[0]!, 2); // the control: the real method passes
  }, 120_000);
});

describe.each(CONFIGS)('the leaves fork leaves behind are Linux copy_present_pte’s: $name', (c) => {
  it('the parent keeps its pages dirty and accessed, write-protected; the child’s copies are old and dirty', () => {
    for (const listened of [false, true]) {
      // Both copy paths: table at a time (nobody listens) and per leaf (a listener).
      const k = bootKernel({ arch: c.arch(), machine: c.machine(), strictTlb: true });
      const off = listened ? k.events.on(() => {}) : undefined;
      const p = k.createProcess();
      const r = k.mmap(p, 0, 4 * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
      if (!r.ok) throw new Error(r.detail);
      const va = Number(r.value);
      expect(k.store(p, va, 1, 7).ok).toBe(true); // page 0: written (dirty)
      expect(k.load(p, va + PAGE, 1).ok).toBe(true); // page 1: the zero page
      const f = k.fork(p);
      if (!f.ok) throw new Error('fork failed');
      const d = k.arch.description;
      const leaf = (proc: Process, i: number) => {
        const ref = k.lookup(proc, BigInt(va + i * PAGE))!;
        if (ref.entry.kind !== 'leaf') throw new Error('not mapped');
        return { attrs: ref.entry.attrs, raw: k.editor.readRaw(ref.descriptorPa) };
      };
      const parent = leaf(p, 0);
      const child = leaf(f.process, 0);
      const dirty = (a: LeafAttributes) => isLeafDirty(d, a);
      // ptep_set_wrprotect: x86 clears R/W and keeps A and D; arm64 sets PTE_RDONLY and moves
      // hardware dirt to PTE_DIRTY (bit 55). The child: pte_wrprotect, then pte_mkold.
      expect([parent.attrs.user.write, parent.attrs.accessed, dirty(parent.attrs)]).toEqual([
        false,
        true,
        true,
      ]);
      expect([child.attrs.user.write, child.attrs.accessed, dirty(child.attrs)]).toEqual([
        false,
        false,
        true,
      ]);
      if (c.name.startsWith('x86_64')) {
        // x86-64 bits: R/W 1, A 5, D 6.
        expect([(parent.raw[0] >> 1) & 1, (parent.raw[0] >> 5) & 1, (parent.raw[0] >> 6) & 1]).toEqual([
          0, 1, 1,
        ]);
        expect([(child.raw[0] >> 1) & 1, (child.raw[0] >> 5) & 1, (child.raw[0] >> 6) & 1]).toEqual([
          0, 0, 1,
        ]);
      }
      if (c.name.startsWith('aarch64')) {
        // AArch64 bits: AP[2] 7 (read-only), AF 10; Linux PTE_DIRTY = bit 55 (bit 23 of the high word).
        expect([(parent.raw[0] >> 7) & 1, (parent.raw[0] >> 10) & 1, (parent.raw[1] >> 23) & 1]).toEqual([
          1, 1, 1,
        ]);
        expect([(child.raw[0] >> 7) & 1, (child.raw[0] >> 10) & 1, (child.raw[1] >> 23) & 1]).toEqual([
          1, 0, 1,
        ]);
      }
      // The zero page: shared, and old in the child.
      expect(leaf(f.process, 1).attrs.accessed).toBe(false);
      expect(leaf(f.process, 1).attrs.user.write).toBe(false);
      // The child reads (the walk sets the accessed flag), then writes (a copy-on-write copy).
      expect(k.load(f.process, va, 1)).toMatchObject({ ok: true, value: 7 });
      expect(leaf(f.process, 0).attrs.accessed).toBe(true);
      expect(k.store(f.process, va, 1, 9).ok).toBe(true);
      expect(k.load(p, va, 1)).toMatchObject({ ok: true, value: 7 });
      expect(audit(k).problems).toEqual([]);
      off?.();
    }
  });
});
