import { type ArchBackend, type MmEvent, Privilege, WalkResult } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { AttributeChooser } from './attributes.js';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import { MCL } from './mlock.js';
import type { Process } from './process.js';
import { MAP, MREMAP, PROT, protString, type SysResult } from './syscalls.js';
import { fiveConfigs, leaveFree, SMALL_MODEL_OPTIONS, type TestConfig } from './test-fixtures.js';
import { type AccessTraits, AddressSpaceModel, effectiveProt } from './vm-reference.js';

const MiB = 2 ** 20;
const PAGE = 4096n;

const CONFIGS = fiveConfigs(32 * MiB);

const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const SHARED = MAP.SHARED | MAP.ANONYMOUS;
const { NONE, READ: R, WRITE: W, EXEC: X } = PROT;
const RW = R | W;
const RX = R | X;

/** What the hardware can express for user pages (derived from the backend, not from its name). */
function traitsOf(arch: ArchBackend): AccessTraits {
  const leaf = new AttributeChooser(arch);
  let execOnly = false;
  try {
    execOnly = !leaf.leaf({
      user: { read: false, write: false, execute: true },
      memoryType: 'normal-wb',
      global: false,
    }).user.read;
  } catch {
    execOnly = false;
  }
  return { execOnly, noExecute: arch.description.capabilities.noExecute };
}

interface Env {
  readonly k: Kernel;
  readonly p: Process;
  /** The window's base. */
  readonly W: bigint;
  /** Pages of the smallest huge leaf (512, or 1024 for 32-bit x86's 4 MiB pages). */
  readonly hugePages: number;
  readonly traits: AccessTraits;
}

function setup(c: TestConfig): Env {
  const arch = c.arch();
  const k = bootKernel({ arch, machine: c.machine(), cpus: 2, strictTlb: true });
  const p = k.createProcess();
  // Touch the stack so the root and the stack's tables exist before any baseline is taken.
  expect(k.store(p, k.layout.stackTop - 8n, 8, 0n)).toEqual({ ok: true, value: 0 });
  const g = arch.geometry;
  const hugeLevel = Math.min(...g.leafLevels.filter((l) => l > 1));
  return {
    k,
    p,
    W: k.layout.heapBase + 0x1000_0000n,
    hugePages: g.entryPages[hugeLevel]!,
    traits: traitsOf(arch),
  };
}

/** Address of page `i` of the window. */
const pg = (e: Env, i: number): bigint => e.W + BigInt(i) * PAGE;
const bytes = (pages: number): bigint => BigInt(pages) * PAGE;

/**
 * `procMaps()` if the kernel has it (it is part of the facade; its own test below fails when it is
 * missing, so that the other tests still say something meaningful meanwhile).
 */
function procMapsOf(k: Kernel, p: Process): string | undefined {
  const f = (k as unknown as { procMaps?: (p: Process) => string }).procMaps;
  return typeof f === 'function' ? f.call(k, p) : undefined;
}

/** Everything a failed call must leave as it was. */
function snap(e: Env, p: Process = e.p) {
  return {
    vmas: e.k.vmas(p),
    stats: e.k.memoryStats(p),
    maps: procMapsOf(e.k, p),
    free: e.k.allocator.freeCount,
    audit: audit(e.k).problems,
  };
}

function expectUnchanged(e: Env, before: ReturnType<typeof snap>, p: Process = e.p): void {
  expect(before.audit).toEqual([]);
  expect(snap(e, p)).toEqual(before);
}

const errnoOf = (r: SysResult<unknown>): string => (r.ok ? 'ok' : r.errno);

/** The window's VMAs, in pages relative to W: `[from, to) prot shared resident`. */
function win(e: Env, p: Process = e.p): string[] {
  const out: string[] = [];
  for (const v of e.k.vmas(p)) {
    if (v.end <= e.W || v.start >= e.W + 0x1000_0000n) continue;
    const from = Number((v.start - e.W) / PAGE);
    const to = Number((v.end - e.W) / PAGE);
    out.push(`[${from}, ${to}) ${protString(v.prot)}${v.shared ? 's' : 'p'} resident ${v.residentPages}`);
  }
  return out;
}

function mapFixed(e: Env, from: number, pages: number, prot: number, flags = PRIV): void {
  const r = e.k.mmap(e.p, pg(e, from), bytes(pages), prot, flags | MAP.FIXED);
  expect(r).toEqual({ ok: true, value: pg(e, from) });
}

/** The value `fill` stores at offset 8 of page `i`. */
const sig = (tag: number, i: number): bigint => 0x5eed_0000_0000_0000n + (BigInt(tag) << 16n) + BigInt(i);

/** Stores a distinct 8-byte value into every page of [from, to) (the pages must be writable). */
function fill(e: Env, from: number, to: number, tag = 1, p: Process = e.p): void {
  for (let i = from; i < to; i++)
    expect(e.k.store(p, pg(e, i) + 8n, 8, sig(tag, i))).toEqual({ ok: true, value: 0 });
}

/** Loads back what `fill` stored (pages must be readable). */
function expectFilled(e: Env, from: number, to: number, tag = 1, p: Process = e.p): void {
  for (let i = from; i < to; i++)
    expect({ page: i, r: e.k.load(p, pg(e, i) + 8n, 8) }).toEqual({
      page: i,
      r: { ok: true, value: sig(tag, i) },
    });
}

/** Runs `fn` in a throwaway fork of the process (so a kill leaves the process alone). */
function inChild<T>(e: Env, fn: (c: Process) => T): T {
  const f = e.k.fork(e.p);
  if (!f.ok) throw new Error(`fork failed: ${f.errno}`);
  const r = fn(f.process);
  if (f.process.alive) e.k.exit(f.process);
  return r;
}

const MAPERR = (killed: string) => ({ ok: false, killed, signal: 'SIGSEGV', code: 'SEGV_MAPERR' });
const ACCERR = (killed: string) => ({ ok: false, killed, signal: 'SIGSEGV', code: 'SEGV_ACCERR' });

/** Hardware view of a page for user accesses, side-effect free (MMU probe): `rwx` / `---`. */
function hw(e: Env, va: bigint, p: Process = e.p): string {
  if (p.root === 0) return '---';
  const mmu = e.k.arch.createMmu(e.k.memory);
  mmu.setKernelRoot(e.k.kernelRoot);
  mmu.setUserRoot(p.root, p.asid);
  const r = new WalkResult();
  const vpn = Number(va >> 12n);
  return ['r', 'w', 'x']
    .map((c, a) => (mmu.probe(vpn, a as 0 | 1 | 2, Privilege.User, r) ? c : '-'))
    .join('');
}

describe.each(CONFIGS)('$name', (c) => {
  // ---------------------------------------------------------------------------------------------
  describe('munmap split cases', () => {
    /** A = [0, 8) rw-, populated and filled; returns the free count before A existed. */
    function withA(e: Env): number {
      const free0 = e.k.allocator.freeCount;
      mapFixed(e, 0, 8, RW, PRIV | MAP.POPULATE);
      fill(e, 0, 8);
      expect(win(e)).toEqual(['[0, 8) rw-p resident 8']);
      return free0;
    }

    it('exact: the VMA, its frames and its now-empty page-table pages all go', () => {
      const e = setup(c);
      const tables0 = e.k.memoryStats(e.p).pageTablePages;
      const rss0 = e.k.memoryStats(e.p).rssPages;
      const free0 = withA(e);
      expect(errnoOf(e.k.munmap(e.p, pg(e, 0), bytes(8)))).toBe('ok');
      expect(win(e)).toEqual([]);
      expect(e.k.memoryStats(e.p)).toMatchObject({ rssPages: rss0, pageTablePages: tables0 });
      expect(e.k.allocator.freeCount).toBe(free0);
      expect(audit(e.k).problems).toEqual([]);
      expect(inChild(e, (ch) => e.k.load(ch, pg(e, 3), 4))).toEqual(MAPERR('invalid address'));
    });

    it('front trim: [0, 3) goes, [3, 8) keeps its contents', () => {
      const e = setup(c);
      const free0 = withA(e);
      const free1 = e.k.allocator.freeCount;
      expect(errnoOf(e.k.munmap(e.p, pg(e, 0), bytes(3)))).toBe('ok');
      expect(win(e)).toEqual(['[3, 8) rw-p resident 5']);
      expect(e.k.allocator.freeCount).toBe(free1 + 3);
      expectFilled(e, 3, 8);
      expect(inChild(e, (ch) => e.k.load(ch, pg(e, 2), 8))).toEqual(MAPERR('invalid address'));
      expect(audit(e.k).problems).toEqual([]);
      expect(errnoOf(e.k.munmap(e.p, pg(e, 3), bytes(5)))).toBe('ok');
      expect(e.k.allocator.freeCount).toBe(free0);
    });

    it('back trim: [5, 8) goes, [0, 5) keeps its contents', () => {
      const e = setup(c);
      withA(e);
      const free1 = e.k.allocator.freeCount;
      expect(errnoOf(e.k.munmap(e.p, pg(e, 5), bytes(3)))).toBe('ok');
      expect(win(e)).toEqual(['[0, 5) rw-p resident 5']);
      expect(e.k.allocator.freeCount).toBe(free1 + 3);
      expectFilled(e, 0, 5);
      expect(inChild(e, (ch) => e.k.store(ch, pg(e, 5), 1, 1))).toEqual(MAPERR('invalid address'));
      expect(audit(e.k).problems).toEqual([]);
    });

    it('hole punch: [2, 5) goes, leaving [0, 2) and [5, 8) with their contents', () => {
      const e = setup(c);
      withA(e);
      const free1 = e.k.allocator.freeCount;
      expect(errnoOf(e.k.munmap(e.p, pg(e, 2), bytes(3)))).toBe('ok');
      expect(win(e)).toEqual(['[0, 2) rw-p resident 2', '[5, 8) rw-p resident 3']);
      expect(e.k.allocator.freeCount).toBe(free1 + 3);
      expectFilled(e, 0, 2);
      expectFilled(e, 5, 8);
      for (const i of [2, 3, 4])
        expect(inChild(e, (ch) => e.k.load(ch, pg(e, i), 2))).toEqual(MAPERR('invalid address'));
      expect(audit(e.k).problems).toEqual([]);
    });

    it('hole punch then refill with the same attributes merges back into one VMA (zeros in the refilled pages)', () => {
      const e = setup(c);
      withA(e);
      expect(errnoOf(e.k.munmap(e.p, pg(e, 2), bytes(3)))).toBe('ok');
      mapFixed(e, 2, 3, RW);
      expect(win(e)).toEqual(['[0, 8) rw-p resident 5']);
      for (const i of [2, 3, 4]) expect(e.k.load(e.p, pg(e, i) + 8n, 8)).toEqual({ ok: true, value: 0n });
      expectFilled(e, 0, 2);
      expectFilled(e, 5, 8);
    });

    it('spanning several VMAs and gaps: [2, 14) over A [0,4) rw-p, B [6,10) r--p, C [12,16) rw-s', () => {
      const e = setup(c);
      mapFixed(e, 0, 4, RW);
      mapFixed(e, 6, 4, R);
      mapFixed(e, 12, 4, RW, SHARED);
      fill(e, 0, 4);
      fill(e, 12, 16, 3);
      expect(win(e)).toEqual([
        '[0, 4) rw-p resident 4',
        '[6, 10) r--p resident 0',
        '[12, 16) rw-s resident 4',
      ]);
      const free1 = e.k.allocator.freeCount;
      expect(errnoOf(e.k.munmap(e.p, pg(e, 2), bytes(12)))).toBe('ok');
      expect(win(e)).toEqual(['[0, 2) rw-p resident 2', '[14, 16) rw-s resident 2']);
      // The private pages 2, 3 are freed; the shared pages 12, 13 stay with their object while a
      // mapping of it exists (as Linux's shmem keeps them in the page cache).
      expect(e.k.allocator.freeCount).toBe(free1 + 2);
      expectFilled(e, 0, 2);
      expectFilled(e, 14, 16, 3);
      expect(audit(e.k).problems).toEqual([]);
    });

    it('nothing mapped: success, and nothing changes', () => {
      const e = setup(c);
      mapFixed(e, 0, 2, RW);
      const before = snap(e);
      expect(e.k.munmap(e.p, pg(e, 20), bytes(4))).toEqual({ ok: true, value: 0 });
      expectUnchanged(e, before);
    });

    it('an unaligned length is rounded up to whole pages', () => {
      const e = setup(c);
      withA(e);
      expect(errnoOf(e.k.munmap(e.p, pg(e, 0), 2n * PAGE + 1n))).toBe('ok');
      expect(win(e)).toEqual(['[3, 8) rw-p resident 5']);
    });

    it('a range covering the whole window and more removes everything in it', () => {
      const e = setup(c);
      mapFixed(e, 1, 2, RW);
      mapFixed(e, 5, 1, R);
      expect(errnoOf(e.k.munmap(e.p, pg(e, 0), bytes(64)))).toBe('ok');
      expect(win(e)).toEqual([]);
    });

    it('a shared mapping: unmapping it in one process leaves the other process its pages', () => {
      const e = setup(c);
      mapFixed(e, 0, 4, RW, SHARED);
      fill(e, 0, 4, 7);
      const f = e.k.fork(e.p);
      if (!f.ok) throw new Error('fork');
      expect(errnoOf(e.k.munmap(e.p, pg(e, 1), bytes(2)))).toBe('ok');
      expect(win(e)).toEqual(['[0, 1) rw-s resident 1', '[3, 4) rw-s resident 1']);
      // fork copied none of the shared mapping's PTEs (Linux vma_needs_copy: shmem has no
      // anon_vma); the child's reads map the shared object's pages (minor faults).
      expect(win(e, f.process)).toEqual(['[0, 4) rw-s resident 0']);
      expectFilled(e, 0, 4, 7, f.process);
      expect(win(e, f.process)).toEqual(['[0, 4) rw-s resident 4']);
      e.k.exit(f.process);
      expect(audit(e.k).problems).toEqual([]);
    });

    it('a huge leaf is split when one page in its middle is unmapped; the rest keeps its contents', () => {
      const e = setup(c);
      const n = e.hugePages;
      const free0 = e.k.allocator.freeCount;
      mapFixed(e, 0, 2 * n, RW, PRIV | MAP.POPULATE | MAP.HUGETLB);
      expect(win(e)).toEqual([`[0, ${2 * n}) rw-p resident ${2 * n}`]);
      // Huge leaves really were used: far fewer table pages than 2n small pages need.
      expect(e.k.lookup(e.p, pg(e, 0))!.level).toBe(2);
      const probe = [0, 1, n - 1, n, n + 1, n + 7, 2 * n - 1];
      for (const i of probe) expect(e.k.store(e.p, pg(e, i) + 8n, 8, sig(9, i)).ok).toBe(true);
      const r = e.k.munmap(e.p, pg(e, n + 7), bytes(1));
      expect(errnoOf(r)).toBe('ok');
      expect(win(e)).toEqual([
        `[0, ${n + 7}) rw-p resident ${n + 7}`,
        `[${n + 8}, ${2 * n}) rw-p resident ${n - 8}`,
      ]);
      for (const i of probe.filter((i) => i !== n + 7))
        expect(e.k.load(e.p, pg(e, i) + 8n, 8)).toEqual({ ok: true, value: sig(9, i) });
      expect(inChild(e, (ch) => e.k.load(ch, pg(e, n + 7), 8))).toEqual(MAPERR('invalid address'));
      expect(audit(e.k).problems).toEqual([]);
      expect(errnoOf(e.k.munmap(e.p, pg(e, 0), bytes(2 * n)))).toBe('ok');
      expect(e.k.allocator.freeCount).toBe(free0);
    });

    it('a huge-leaf split that runs out of memory fails with ENOMEM and changes nothing (or succeeds exactly)', () => {
      const e = setup(c);
      const n = e.hugePages;
      mapFixed(e, 0, n, RW, PRIV | MAP.POPULATE | MAP.HUGETLB);
      fill(e, 0, 4);
      const release = leaveFree(e.k, 0);
      const before = snap(e);
      const r = e.k.munmap(e.p, pg(e, 1), bytes(1));
      if (r.ok) {
        // A kernel that keeps a page table in reserve for every huge leaf (Linux deposits one) may succeed.
        expect(win(e)).toEqual(['[0, 1) rw-p resident 1', `[2, ${n}) rw-p resident ${n - 2}`]);
      } else {
        expect(r.errno).toBe('ENOMEM');
        expectUnchanged(e, before);
      }
      release();
      expectFilled(e, 0, 1);
      expectFilled(e, 2, 4);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('mprotect split and merge cases', () => {
    function withA(e: Env): void {
      mapFixed(e, 0, 8, RW, PRIV | MAP.POPULATE);
      fill(e, 0, 8);
    }

    it('exact: one VMA changes; present PTEs lose write at once; data stays readable', () => {
      const e = setup(c);
      withA(e);
      expect(e.k.mprotect(e.p, pg(e, 0), bytes(8), R)).toEqual({ ok: true, value: 0 });
      expect(win(e)).toEqual(['[0, 8) r--p resident 8']);
      const expected = protString(effectiveProt(R, e.traits));
      for (let i = 0; i < 8; i++) expect({ i, hw: hw(e, pg(e, i)) }).toEqual({ i, hw: expected });
      expectFilled(e, 0, 8);
      expect(inChild(e, (ch) => e.k.store(ch, pg(e, 4), 4, 1))).toEqual(ACCERR('permission fault'));
      expect(audit(e.k).problems).toEqual([]);
    });

    it('front: [0, 3) r-- splits into 2 VMAs', () => {
      const e = setup(c);
      withA(e);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 0), bytes(3), R))).toBe('ok');
      expect(win(e)).toEqual(['[0, 3) r--p resident 3', '[3, 8) rw-p resident 5']);
      expect(inChild(e, (ch) => e.k.store(ch, pg(e, 2), 8, 1n))).toEqual(ACCERR('permission fault'));
      expect(e.k.store(e.p, pg(e, 3), 8, 5n).ok).toBe(true);
      expectFilled(e, 0, 3);
    });

    it('back: [5, 8) r-- splits into 2 VMAs', () => {
      const e = setup(c);
      withA(e);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 5), bytes(3), R))).toBe('ok');
      expect(win(e)).toEqual(['[0, 5) rw-p resident 5', '[5, 8) r--p resident 3']);
      expect(inChild(e, (ch) => e.k.store(ch, pg(e, 5), 8, 1n))).toEqual(ACCERR('permission fault'));
      expect(e.k.store(e.p, pg(e, 4), 8, 5n).ok).toBe(true);
    });

    it('middle: [2, 5) r-- splits into 3 VMAs, and rw- again merges them back into 1', () => {
      const e = setup(c);
      withA(e);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 2), bytes(3), R))).toBe('ok');
      expect(win(e)).toEqual(['[0, 2) rw-p resident 2', '[2, 5) r--p resident 3', '[5, 8) rw-p resident 3']);
      expect(inChild(e, (ch) => e.k.store(ch, pg(e, 3), 8, 1n))).toEqual(ACCERR('permission fault'));
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 2), bytes(3), RW))).toBe('ok');
      expect(win(e)).toEqual(['[0, 8) rw-p resident 8']);
      fill(e, 0, 8, 2);
      expectFilled(e, 0, 8, 2);
      expect(audit(e.k).problems).toEqual([]);
    });

    it('two separately mapped neighbours merge once their protections are equal', () => {
      const e = setup(c);
      mapFixed(e, 0, 4, R);
      mapFixed(e, 4, 4, RW);
      expect(win(e)).toEqual(['[0, 4) r--p resident 0', '[4, 8) rw-p resident 0']);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 0), bytes(4), RW))).toBe('ok');
      expect(win(e)).toEqual(['[0, 8) rw-p resident 0']);
    });

    it('spanning VMAs: [2, 6) r-- over [0,4) rw- and [4,8) r-x gives rw- | r-- | r-x', () => {
      const e = setup(c);
      mapFixed(e, 0, 4, RW);
      mapFixed(e, 4, 4, RX);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 2), bytes(4), R))).toBe('ok');
      expect(win(e)).toEqual(['[0, 2) rw-p resident 0', '[2, 6) r--p resident 0', '[6, 8) r-xp resident 0']);
    });

    it('a range with a hole is ENOMEM and changes nothing, not even the mapped part', () => {
      const e = setup(c);
      mapFixed(e, 0, 4, RW, PRIV | MAP.POPULATE);
      mapFixed(e, 6, 2, RW, PRIV | MAP.POPULATE);
      const before = snap(e);
      const r = e.k.mprotect(e.p, pg(e, 2), bytes(5), R);
      expect(errnoOf(r)).toBe('ENOMEM');
      expectUnchanged(e, before);
      expect(hw(e, pg(e, 2))).toBe(protString(effectiveProt(RW, e.traits)));
      expect(e.k.store(e.p, pg(e, 3), 8, 1n).ok).toBe(true);
    });

    it('PROT_NONE: every access is SEGV_ACCERR; back to rw- the data is still there', () => {
      const e = setup(c);
      withA(e);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 0), bytes(8), NONE))).toBe('ok');
      expect(win(e)).toEqual(['[0, 8) ---p resident 8']);
      expect(hw(e, pg(e, 1))).toBe('---');
      expect(inChild(e, (ch) => e.k.load(ch, pg(e, 1), 8))).toEqual(ACCERR('permission fault'));
      expect(inChild(e, (ch) => e.k.store(ch, pg(e, 1), 8, 0n))).toEqual(ACCERR('permission fault'));
      expect(inChild(e, (ch) => e.k.fetch(ch, pg(e, 1)))).toEqual(ACCERR('exec fault'));
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 0), bytes(8), RW))).toBe('ok');
      expectFilled(e, 0, 8);
    });

    it('adding PROT_EXEC: a fetch returns the bytes stored there', () => {
      const e = setup(c);
      withA(e);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 0), bytes(1), RX))).toBe('ok');
      expect(e.k.fetch(e.p, pg(e, 0) + 8n, 8)).toEqual({ ok: true, value: sig(1, 0) });
    });

    it('a cached writable translation is invalidated: the next store faults (strict TLB)', () => {
      const e = setup(c);
      withA(e);
      // Both CPUs cache a writable translation.
      expect(e.k.store(e.p, pg(e, 2), 8, 1n, 0).ok).toBe(true);
      expect(e.k.store(e.p, pg(e, 2), 8, 2n, 1).ok).toBe(true);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 2), bytes(1), R))).toBe('ok');
      expect(e.k.load(e.p, pg(e, 2), 8, 0)).toEqual({ ok: true, value: 2n });
      expect(e.k.store(e.p, pg(e, 2), 8, 3n, 1)).toEqual(ACCERR('permission fault'));
      expect(e.p.state).toBe('killed');
      expect(audit(e.k).problems).toEqual([]);
    });

    it('a huge leaf is split when one page of it changes protection', () => {
      const e = setup(c);
      const n = e.hugePages;
      mapFixed(e, 0, n, RW, PRIV | MAP.POPULATE | MAP.HUGETLB);
      fill(e, 0, 3);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 1), bytes(1), R))).toBe('ok');
      expect(win(e)).toEqual([
        '[0, 1) rw-p resident 1',
        '[1, 2) r--p resident 1',
        `[2, ${n}) rw-p resident ${n - 2}`,
      ]);
      expectFilled(e, 0, 3);
      expect(inChild(e, (ch) => e.k.store(ch, pg(e, 1), 8, 0n))).toEqual(ACCERR('permission fault'));
      expect(e.k.store(e.p, pg(e, 2), 8, 0n).ok).toBe(true);
      expect(e.k.store(e.p, pg(e, 0), 8, 0n).ok).toBe(true);
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 1), bytes(1), RW))).toBe('ok');
      expect(win(e)).toEqual([`[0, ${n}) rw-p resident ${n}`]);
      expect(audit(e.k).problems).toEqual([]);
    });

    it('a huge-leaf split that runs out of memory fails with ENOMEM and changes nothing (or succeeds exactly)', () => {
      const e = setup(c);
      const n = e.hugePages;
      mapFixed(e, 0, n, RW, PRIV | MAP.POPULATE | MAP.HUGETLB);
      const release = leaveFree(e.k, 0);
      const before = snap(e);
      const r = e.k.mprotect(e.p, pg(e, 1), bytes(1), R);
      if (r.ok)
        expect(win(e)).toEqual([
          '[0, 1) rw-p resident 1',
          '[1, 2) r--p resident 1',
          `[2, ${n}) rw-p resident ${n - 2}`,
        ]);
      else {
        expect(r.errno).toBe('ENOMEM');
        expectUnchanged(e, before);
      }
      release();
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('mmap', () => {
    it('is lazy by default: nothing resident until the first touch, which sees zeros', () => {
      const e = setup(c);
      const free0 = e.k.allocator.freeCount;
      mapFixed(e, 0, 16, RW);
      expect(e.k.allocator.freeCount).toBe(free0);
      expect(win(e)).toEqual(['[0, 16) rw-p resident 0']);
      expect(e.k.load(e.p, pg(e, 5) + 100n, 4)).toEqual({ ok: true, value: 0 });
      // A read maps the shared zero page: present (mincore), but no RSS (smaps Rss, get_mm_rss).
      expect(win(e)).toEqual(['[0, 16) rw-p resident 0']);
      expect(e.k.mincore(e.p, pg(e, 5), 4096)).toEqual({ ok: true, value: new Uint8Array([1]) });
      expect(e.k.store(e.p, pg(e, 5), 4, 1)).toEqual({ ok: true, value: 0 });
      expect(win(e)).toEqual(['[0, 16) rw-p resident 1']);
    });

    it('MAP_POPULATE faults every page in', () => {
      const e = setup(c);
      mapFixed(e, 0, 16, R, PRIV | MAP.POPULATE);
      // Read-only memory is populated with the zero page: every page present, none of it RSS.
      expect(e.k.mincore(e.p, pg(e, 0), 16 * 4096)).toEqual({ ok: true, value: new Uint8Array(16).fill(1) });
      expect(win(e)).toEqual(['[0, 16) r--p resident 0']);
      mapFixed(e, 16, 16, RW, PRIV | MAP.POPULATE); // writable: write faults, anonymous pages
      expect(win(e)).toEqual(['[0, 16) r--p resident 0', '[16, 32) rw-p resident 16']);
      expect(e.k.load(e.p, pg(e, 15), 8)).toEqual({ ok: true, value: 0n });
    });

    it('MAP_POPULATE leaves PROT_NONE and MLOCK_ONFAULT mappings unpopulated (populate_vma_page_range)', () => {
      const e = setup(c);
      const free0 = e.k.allocator.freeCount;
      mapFixed(e, 0, 4, NONE, PRIV | MAP.POPULATE); // not accessible: EFAULT, ignored
      expect(win(e)).toEqual(['[0, 4) ---p resident 0']);
      expect(e.k.mlockall(e.p, MCL.FUTURE | MCL.ONFAULT)).toMatchObject({ ok: true });
      mapFixed(e, 8, 4, RW, PRIV | MAP.POPULATE); // VM_LOCKONFAULT: nothing faulted in
      expect(win(e)).toEqual(['[0, 4) ---p resident 0', '[8, 12) rw-p resident 0']);
      expect(e.k.allocator.freeCount).toBe(free0);
      expect(audit(e.k).problems).toEqual([]);
    });

    it('MAP_FIXED replaces what was there: old contents gone, old frames freed', () => {
      const e = setup(c);
      mapFixed(e, 0, 4, RW, PRIV | MAP.POPULATE);
      fill(e, 0, 4);
      const free1 = e.k.allocator.freeCount;
      mapFixed(e, 1, 2, R);
      expect(win(e)).toEqual(['[0, 1) rw-p resident 1', '[1, 3) r--p resident 0', '[3, 4) rw-p resident 1']);
      expect(e.k.allocator.freeCount).toBe(free1 + 2);
      expect(e.k.load(e.p, pg(e, 1) + 8n, 8)).toEqual({ ok: true, value: 0n });
      expectFilled(e, 0, 1);
      expectFilled(e, 3, 4);
      expect(audit(e.k).problems).toEqual([]);
    });

    it('MAP_FIXED below mmap_min_addr is EPERM (Linux cap_mmap_addr) and changes nothing', () => {
      const e = setup(c);
      const before = snap(e);
      const page = PAGE;
      // vm.mmap_min_addr = 65536 (the kernel's default): pages 0 … 65536/page - 1 are refused.
      for (const addr of [0n, page, 0x1_0000n - page]) {
        for (const flags of [PRIV | MAP.FIXED, PRIV | MAP.FIXED_NOREPLACE]) {
          const r = e.k.mmap(e.p, addr, page, RW, flags);
          expect(errnoOf(r)).toBe('EPERM');
          expectUnchanged(e, before);
        }
      }
      // At mmap_min_addr itself it maps; without MAP_FIXED, 0 is "anywhere".
      expect(e.k.mmap(e.p, 0x1_0000n, page, RW, PRIV | MAP.FIXED)).toEqual({ ok: true, value: 0x1_0000n });
      expect(e.k.mmap(e.p, 0n, page, RW, PRIV).ok).toBe(true);
    });

    it('MAP_FIXED_NOREPLACE into free space maps; over any mapped page is EEXIST and changes nothing', () => {
      const e = setup(c);
      expect(e.k.mmap(e.p, pg(e, 4), bytes(2), RW, PRIV | MAP.FIXED_NOREPLACE)).toEqual({
        ok: true,
        value: pg(e, 4),
      });
      fill(e, 4, 6);
      const before = snap(e);
      for (const [from, pages] of [
        [4, 2],
        [3, 2],
        [5, 4],
        [0, 16],
      ] as const) {
        expect(errnoOf(e.k.mmap(e.p, pg(e, from), bytes(pages), R, PRIV | MAP.FIXED_NOREPLACE))).toBe(
          'EEXIST',
        );
        expectUnchanged(e, before);
      }
      expectFilled(e, 4, 6);
    });

    it('places top-down below the stack gap: each new mapping directly below the previous one', () => {
      const e = setup(c);
      const a = e.k.mmap(e.p, 0, bytes(1), R, PRIV);
      const b = e.k.mmap(e.p, 0, bytes(2), R, PRIV);
      const d = e.k.mmap(e.p, 0, bytes(3), RW, PRIV);
      if (!a.ok || !b.ok || !d.ok) throw new Error('mmap failed');
      expect(b.value).toBe(a.value - bytes(2));
      expect(d.value).toBe(b.value - bytes(3));
      // Linux keeps at least 128 MiB (and the stack rlimit) between the stack top and mmap_base.
      expect(e.k.layout.stackTop - (a.value + PAGE) >= 128n * BigInt(MiB)).toBe(true);
      expect(a.value > e.W).toBe(true);
      // Reuse: the highest hole that fits is taken.
      expect(errnoOf(e.k.munmap(e.p, b.value, bytes(2)))).toBe('ok');
      expect(e.k.mmap(e.p, 0, bytes(3), R, PRIV)).toEqual({ ok: true, value: d.value - bytes(3) });
      expect(e.k.mmap(e.p, 0, bytes(2), R, PRIV)).toEqual({ ok: true, value: b.value });
    });

    it('an address hint is used when it is page aligned and free; otherwise placement is top-down', () => {
      const e = setup(c);
      const a = e.k.mmap(e.p, 0, bytes(1), R, PRIV);
      if (!a.ok) throw new Error('mmap');
      expect(e.k.mmap(e.p, pg(e, 8), bytes(2), RW, PRIV)).toEqual({ ok: true, value: pg(e, 8) });
      // Occupied hint (overlapping the mapping just made): top-down, right below `a`.
      expect(e.k.mmap(e.p, pg(e, 9), bytes(2), RW, PRIV)).toEqual({ ok: true, value: a.value - bytes(2) });
      // A non-null hint below mmap_min_addr (64 KiB) is raised to it (Linux round_hint_to_min).
      expect(e.k.mmap(e.p, 0x1000, bytes(1), RW, PRIV)).toEqual({ ok: true, value: 0x1_0000n });
      // A hint whose range would leave the user half is not used.
      const top = e.k.arch.description.userRange.end;
      expect(e.k.mmap(e.p, top - PAGE, bytes(2), RW, PRIV)).toEqual({ ok: true, value: a.value - bytes(4) });
      expect(win(e)).toEqual(['[8, 10) rw-p resident 0']);
    });

    it('an unaligned hint is rounded down to its page (Linux round_hint_to_min: hint &= PAGE_MASK)', () => {
      const e = setup(c);
      const a = e.k.mmap(e.p, 0, bytes(1), R, PRIV);
      if (!a.ok) throw new Error('mmap');
      expect(e.k.mmap(e.p, pg(e, 8) + 12n, bytes(1), RW, PRIV)).toEqual({ ok: true, value: pg(e, 8) });
      // Occupied there: top-down, right below `a`.
      expect(e.k.mmap(e.p, pg(e, 8) + 12n, bytes(1), RW, PRIV)).toEqual({ ok: true, value: a.value - PAGE });
    });

    it('MAP_HUGETLB placement is aligned to the huge-page size and uses huge leaves', () => {
      const e = setup(c);
      const n = e.hugePages;
      const r = e.k.mmap(e.p, 0, bytes(2 * n), RW, PRIV | MAP.HUGETLB | MAP.POPULATE);
      if (!r.ok) throw new Error(r.detail);
      expect(r.value % bytes(n)).toBe(0n);
      expect(e.k.lookup(e.p, r.value)!.level).toBe(2);
      expect(e.k.lookup(e.p, r.value + bytes(n))!.level).toBe(2);
      expect(e.k.vmas(e.p).find((v) => v.start === r.value)!.residentPages).toBe(2 * n);
    });

    it('a PROT_NONE mapping faults every access with SEGV_ACCERR', () => {
      const e = setup(c);
      mapFixed(e, 0, 1, NONE);
      expect(win(e)).toEqual(['[0, 1) ---p resident 0']);
      expect(inChild(e, (ch) => e.k.load(ch, pg(e, 0), 1))).toEqual(ACCERR('permission fault'));
      expect(inChild(e, (ch) => e.k.store(ch, pg(e, 0), 1, 1))).toEqual(ACCERR('permission fault'));
      expect(inChild(e, (ch) => e.k.fetch(ch, pg(e, 0)))).toEqual(ACCERR('exec fault'));
    });

    it('PROT_WRITE alone can be read, before and after the first write (no EL0/x86 write-only encoding: arch-facts A6, B5; Linux)', () => {
      const e = setup(c);
      mapFixed(e, 0, 2, W);
      expect(win(e)).toEqual(['[0, 2) -w-p resident 0']);
      expect(e.k.load(e.p, pg(e, 0), 4)).toEqual({ ok: true, value: 0 });
      expect(e.k.store(e.p, pg(e, 1), 4, 0x1234)).toEqual({ ok: true, value: 0 });
      expect(e.k.load(e.p, pg(e, 1), 4)).toEqual({ ok: true, value: 0x1234 });
    });

    it('PROT_EXEC alone: execute-only where the hardware has it (AArch64, arch-facts A6), readable on x86 (B5)', () => {
      const e = setup(c);
      mapFixed(e, 0, 2, X);
      expect(e.k.fetch(e.p, pg(e, 0), 4)).toEqual({ ok: true, value: 0 });
      const read = inChild(e, (ch) => e.k.load(ch, pg(e, 1), 4));
      if (e.traits.execOnly) expect(read).toEqual(ACCERR('permission fault'));
      else expect(read).toEqual({ ok: true, value: 0 });
    });

    it('PROT_READ alone: fetches fault except without execute-never (x86-32, arch-facts B3)', () => {
      const e = setup(c);
      mapFixed(e, 0, 1, R);
      const r = inChild(e, (ch) => e.k.fetch(ch, pg(e, 0), 4));
      if (e.traits.noExecute) expect(r).toEqual(ACCERR('exec fault'));
      else expect(r).toEqual({ ok: true, value: 0 });
    });

    it('a name is kept and shown', () => {
      const e = setup(c);
      const r = e.k.mmap(e.p, pg(e, 0), bytes(1), RW, PRIV | MAP.FIXED, { name: 'buf' });
      expect(errnoOf(r)).toBe('ok');
      expect(e.k.vmas(e.p).find((v) => v.start === pg(e, 0))!.name).toBe('buf');
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('fork: shared stays shared, private is copied', () => {
    it('MAP_SHARED: stores on either side are seen by the other, also for pages first touched after the fork', () => {
      const e = setup(c);
      mapFixed(e, 0, 4, RW, SHARED);
      expect(e.k.store(e.p, pg(e, 0), 8, 11n).ok).toBe(true);
      const f = e.k.fork(e.p);
      if (!f.ok) throw new Error('fork');
      const ch = f.process;
      expect(e.k.load(ch, pg(e, 0), 8)).toEqual({ ok: true, value: 11n });
      expect(e.k.store(ch, pg(e, 0), 8, 22n).ok).toBe(true);
      expect(e.k.load(e.p, pg(e, 0), 8)).toEqual({ ok: true, value: 22n });
      // Page 2 was never touched before the fork: the child's first touch creates the page both see.
      expect(e.k.store(ch, pg(e, 2), 8, 33n).ok).toBe(true);
      expect(e.k.load(e.p, pg(e, 2), 8)).toEqual({ ok: true, value: 33n });
      expect(e.k.store(e.p, pg(e, 3), 8, 44n).ok).toBe(true);
      expect(e.k.load(ch, pg(e, 3), 8)).toEqual({ ok: true, value: 44n });
      expect(win(e, ch)).toEqual(win(e));
      e.k.exit(ch);
      expect(e.k.load(e.p, pg(e, 2), 8)).toEqual({ ok: true, value: 33n });
      expect(audit(e.k).problems).toEqual([]);
    });

    it('MAP_PRIVATE: the child gets a copy; later stores are not seen across', () => {
      const e = setup(c);
      mapFixed(e, 0, 2, RW);
      expect(e.k.store(e.p, pg(e, 0), 8, 11n).ok).toBe(true);
      const f = e.k.fork(e.p);
      if (!f.ok) throw new Error('fork');
      const ch = f.process;
      expect(e.k.load(ch, pg(e, 0), 8)).toEqual({ ok: true, value: 11n });
      expect(e.k.store(ch, pg(e, 0), 8, 22n).ok).toBe(true);
      expect(e.k.store(e.p, pg(e, 1), 8, 33n).ok).toBe(true);
      expect(e.k.load(e.p, pg(e, 0), 8)).toEqual({ ok: true, value: 11n });
      expect(e.k.load(ch, pg(e, 1), 8)).toEqual({ ok: true, value: 0n });
      e.k.exit(ch);
    });

    it('a shared mapping moved by mremap stays shared with the other process', () => {
      const e = setup(c);
      mapFixed(e, 0, 2, RW, SHARED);
      mapFixed(e, 2, 1, R);
      expect(e.k.store(e.p, pg(e, 1), 8, 5n).ok).toBe(true);
      const f = e.k.fork(e.p);
      if (!f.ok) throw new Error('fork');
      const r = e.k.mremap(e.p, pg(e, 0), bytes(2), bytes(3), MREMAP.MAYMOVE);
      if (!r.ok) throw new Error(r.detail);
      expect(r.value).not.toBe(pg(e, 0));
      expect(e.k.load(e.p, r.value + PAGE, 8)).toEqual({ ok: true, value: 5n });
      expect(e.k.store(f.process, pg(e, 0), 8, 6n).ok).toBe(true);
      expect(e.k.load(e.p, r.value, 8)).toEqual({ ok: true, value: 6n });
      expect(e.k.store(e.p, r.value + PAGE, 8, 7n).ok).toBe(true);
      expect(e.k.load(f.process, pg(e, 1), 8)).toEqual({ ok: true, value: 7n });
      e.k.exit(f.process);
      expect(audit(e.k).problems).toEqual([]);
    });

    it('huge pages are copied for the child; later stores are not seen across', () => {
      const e = setup(c);
      const n = e.hugePages;
      mapFixed(e, 0, n, RW, PRIV | MAP.POPULATE | MAP.HUGETLB);
      fill(e, 0, 4);
      fill(e, n - 2, n);
      const f = e.k.fork(e.p);
      if (!f.ok) throw new Error('fork');
      expectFilled(e, 0, 4, 1, f.process);
      expectFilled(e, n - 2, n, 1, f.process);
      fill(e, 0, 2, 2, f.process);
      expectFilled(e, 0, 2, 1);
      expectFilled(e, 0, 2, 2, f.process);
      expect(win(e, f.process)).toEqual([`[0, ${n}) rw-p resident ${n}`]);
      e.k.exit(f.process);
      expect(audit(e.k).problems).toEqual([]);
    });

    it('the frames of a shared mapping are freed when its last mapping goes', () => {
      const e = setup(c);
      const free0 = e.k.allocator.freeCount;
      mapFixed(e, 0, 4, RW, SHARED | MAP.POPULATE);
      fill(e, 0, 4);
      const f = e.k.fork(e.p);
      if (!f.ok) throw new Error('fork');
      expect(errnoOf(e.k.munmap(e.p, pg(e, 0), bytes(4)))).toBe('ok');
      expectFilled(e, 0, 4, 1, f.process);
      e.k.exit(f.process);
      expect(e.k.allocator.freeCount).toBe(free0);
      expect(audit(e.k).problems).toEqual([]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('brk', () => {
    it('grows lazily, shrink frees the pages, a re-grow sees zero pages', () => {
      const e = setup(c);
      const H = e.k.layout.heapBase;
      expect(e.k.brk(e.p, H + bytes(6))).toBe(H + bytes(6));
      const heap = () => e.k.vmas(e.p).filter((v) => v.name === '[heap]');
      expect(heap()).toMatchObject([
        { start: H, end: H + bytes(6), prot: RW, shared: false, residentPages: 0 },
      ]);
      for (let i = 0; i < 6; i++) expect(e.k.store(e.p, H + bytes(i) + 16n, 8, BigInt(i + 1)).ok).toBe(true);
      const free1 = e.k.allocator.freeCount;
      expect(e.k.brk(e.p, H + bytes(2))).toBe(H + bytes(2));
      expect(e.k.allocator.freeCount).toBe(free1 + 4);
      expect(heap()).toMatchObject([{ start: H, end: H + bytes(2), residentPages: 2 }]);
      expect(inChild(e, (ch) => e.k.load(ch, H + bytes(3), 8))).toEqual(MAPERR('invalid address'));
      expect(e.k.brk(e.p, H + bytes(6))).toBe(H + bytes(6));
      for (let i = 2; i < 6; i++)
        expect(e.k.load(e.p, H + bytes(i) + 16n, 8)).toEqual({ ok: true, value: 0n });
      for (let i = 0; i < 2; i++)
        expect(e.k.load(e.p, H + bytes(i) + 16n, 8)).toEqual({ ok: true, value: BigInt(i + 1) });
      expect(audit(e.k).problems).toEqual([]);
    });

    it('an unaligned break keeps the page it is in, with its contents', () => {
      const e = setup(c);
      const H = e.k.layout.heapBase;
      expect(e.k.brk(e.p, H + 100n)).toBe(H + 100n);
      expect(e.k.store(e.p, H + 200n, 4, 7).ok).toBe(true);
      expect(e.k.brk(e.p, H + 50n)).toBe(H + 50n);
      expect(e.k.load(e.p, H + 200n, 4)).toEqual({ ok: true, value: 7 });
      expect(e.k.brk(e.p, H)).toBe(H);
      expect(e.k.vmas(e.p).filter((v) => v.name === '[heap]')).toEqual([]);
    });

    it('refused below the heap base and above the stack guard: the old break is returned, nothing changes', () => {
      const e = setup(c);
      const H = e.k.layout.heapBase;
      e.k.brk(e.p, H + bytes(2));
      const before = snap(e);
      expect(e.k.brk(e.p, H - 1n)).toBe(H + bytes(2));
      expect(e.k.brk(e.p, e.k.layout.stackGuardLow + PAGE)).toBe(H + bytes(2));
      expectUnchanged(e, before);
    });

    it('refused when growing into a mapping: the old break is returned, nothing changes', () => {
      const e = setup(c);
      const H = e.k.layout.heapBase;
      expect(e.k.mmap(e.p, H + bytes(4), bytes(1), R, PRIV | MAP.FIXED)).toEqual({
        ok: true,
        value: H + bytes(4),
      });
      const before = snap(e);
      expect(e.k.brk(e.p, H + bytes(8))).toBe(H);
      expectUnchanged(e, before);
    });

    it('Linux: growing is refused unless one free page stays between the new break and the next mapping', () => {
      const e = setup(c);
      const H = e.k.layout.heapBase;
      expect(errnoOf(e.k.mmap(e.p, H + bytes(4), bytes(1), R, PRIV | MAP.FIXED))).toBe('ok');
      const before = snap(e);
      expect(e.k.brk(e.p, H + bytes(4))).toBe(H);
      expectUnchanged(e, before);
      expect(e.k.brk(e.p, H + bytes(3))).toBe(H + bytes(3));
    });

    it('shrinking unmaps whatever lies in the released range (as munmap)', () => {
      const e = setup(c);
      const H = e.k.layout.heapBase;
      e.k.brk(e.p, H + bytes(8));
      expect(errnoOf(e.k.mmap(e.p, H + bytes(3), bytes(2), R, PRIV | MAP.FIXED))).toBe('ok');
      expect(e.k.brk(e.p, H + bytes(1))).toBe(H + bytes(1));
      expect(e.k.vmas(e.p).filter((v) => v.start >= H && v.start < H + bytes(16))).toMatchObject([
        { start: H, end: H + PAGE, prot: RW },
      ]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('mremap', () => {
    it('shrinks in place (the tail is unmapped and freed)', () => {
      const e = setup(c);
      mapFixed(e, 0, 4, RW, PRIV | MAP.POPULATE);
      fill(e, 0, 4);
      const free1 = e.k.allocator.freeCount;
      expect(e.k.mremap(e.p, pg(e, 0), bytes(4), bytes(1), 0)).toEqual({ ok: true, value: pg(e, 0) });
      expect(win(e)).toEqual(['[0, 1) rw-p resident 1']);
      expect(e.k.allocator.freeCount).toBe(free1 + 3);
      expectFilled(e, 0, 1);
    });

    it('grows in place when the pages after the mapping are free', () => {
      const e = setup(c);
      mapFixed(e, 0, 2, RW);
      fill(e, 0, 2);
      expect(e.k.mremap(e.p, pg(e, 0), bytes(2), bytes(5), 0)).toEqual({ ok: true, value: pg(e, 0) });
      expect(win(e)).toEqual(['[0, 5) rw-p resident 2']);
      expectFilled(e, 0, 2);
      expect(e.k.load(e.p, pg(e, 4) + 8n, 8)).toEqual({ ok: true, value: 0n });
    });

    it('cannot grow in place without MREMAP_MAYMOVE: ENOMEM, nothing changes', () => {
      const e = setup(c);
      mapFixed(e, 0, 2, RW, PRIV | MAP.POPULATE);
      mapFixed(e, 3, 1, R);
      const before = snap(e);
      expect(errnoOf(e.k.mremap(e.p, pg(e, 0), bytes(2), bytes(4), 0))).toBe('ENOMEM');
      expectUnchanged(e, before);
    });

    it('Linux: growing a range that ends before its VMA ends must move (ENOMEM without MREMAP_MAYMOVE)', () => {
      const e = setup(c);
      mapFixed(e, 0, 4, RW, PRIV | MAP.POPULATE);
      const before = snap(e);
      expect(errnoOf(e.k.mremap(e.p, pg(e, 0), bytes(1), bytes(2), 0))).toBe('ENOMEM');
      expectUnchanged(e, before);
    });

    it('with MREMAP_MAYMOVE moves top-down: contents preserved, old range unmapped, no frame copied', () => {
      const e = setup(c);
      const a = e.k.mmap(e.p, 0, bytes(1), R, PRIV);
      if (!a.ok) throw new Error('mmap');
      mapFixed(e, 0, 2, RW, PRIV | MAP.POPULATE);
      mapFixed(e, 2, 1, R);
      fill(e, 0, 2);
      const frames = [0, 1].map((i) => e.k.lookup(e.p, pg(e, i))!.entry);
      const r = e.k.mremap(e.p, pg(e, 0), bytes(2), bytes(4), MREMAP.MAYMOVE);
      expect(r).toEqual({ ok: true, value: a.value - bytes(4) });
      if (!r.ok) return;
      expect(win(e)).toEqual(['[2, 3) r--p resident 0']);
      for (let i = 0; i < 2; i++)
        expect(e.k.load(e.p, r.value + bytes(i) + 8n, 8)).toEqual({ ok: true, value: sig(1, i) });
      expect(e.k.load(e.p, r.value + bytes(3), 8)).toEqual({ ok: true, value: 0n });
      // The same frames, moved (not copied).
      expect([0, 1].map((i) => e.k.lookup(e.p, r.value + bytes(i))!.entry)).toEqual(frames);
      expect(inChild(e, (ch) => e.k.load(ch, pg(e, 0), 8))).toEqual(MAPERR('invalid address'));
      expect(audit(e.k).problems).toEqual([]);
    });

    it('EFAULT when the old range is not inside one mapping; nothing changes', () => {
      const e = setup(c);
      mapFixed(e, 0, 2, RW);
      mapFixed(e, 2, 2, R);
      const before = snap(e);
      expect(errnoOf(e.k.mremap(e.p, pg(e, 8), bytes(1), bytes(2), MREMAP.MAYMOVE))).toBe('EFAULT');
      expect(errnoOf(e.k.mremap(e.p, pg(e, 1), bytes(2), bytes(4), MREMAP.MAYMOVE))).toBe('EFAULT');
      expectUnchanged(e, before);
    });

    it('EINVAL for an unaligned address, a zero new length, unknown flags, MREMAP_FIXED without MAYMOVE', () => {
      const e = setup(c);
      mapFixed(e, 0, 2, RW);
      const before = snap(e);
      expect(errnoOf(e.k.mremap(e.p, pg(e, 0) + 1n, bytes(1), bytes(2), MREMAP.MAYMOVE))).toBe('EINVAL');
      expect(errnoOf(e.k.mremap(e.p, pg(e, 0), bytes(1), 0n, MREMAP.MAYMOVE))).toBe('EINVAL');
      expect(errnoOf(e.k.mremap(e.p, pg(e, 0), bytes(1), bytes(2), 0x80))).toBe('EINVAL');
      expect(errnoOf(e.k.mremap(e.p, pg(e, 0), bytes(1), bytes(2), MREMAP.FIXED))).toBe('EINVAL');
      expectUnchanged(e, before);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('errors at the facade: the errno, and nothing changed', () => {
    function prepared(): Env {
      const e = setup(c);
      mapFixed(e, 0, 4, RW, PRIV | MAP.POPULATE);
      fill(e, 0, 4);
      return e;
    }
    const userEnd = (e: Env) => e.k.arch.description.userRange.end;

    const cases: [string, string, (e: Env) => SysResult<unknown>][] = [
      ['mmap: zero length', 'EINVAL', (e) => e.k.mmap(e.p, 0, 0, RW, PRIV)],
      [
        'mmap: neither MAP_SHARED nor MAP_PRIVATE',
        'EINVAL',
        (e) => e.k.mmap(e.p, 0, PAGE, RW, MAP.ANONYMOUS),
      ],
      [
        'mmap: both MAP_SHARED and MAP_PRIVATE',
        'EINVAL',
        (e) => e.k.mmap(e.p, 0, PAGE, RW, MAP.SHARED | PRIV),
      ],
      ['mmap: not anonymous and not physical', 'EINVAL', (e) => e.k.mmap(e.p, 0, PAGE, RW, MAP.PRIVATE)],
      [
        'mmap: MAP_FIXED at an unaligned address',
        'EINVAL',
        (e) => e.k.mmap(e.p, pg(e, 8) + 1n, PAGE, RW, PRIV | MAP.FIXED),
      ],
      [
        'mmap: MAP_FIXED_NOREPLACE at an unaligned address',
        'EINVAL',
        (e) => e.k.mmap(e.p, pg(e, 8) + 0x800n, PAGE, RW, PRIV | MAP.FIXED_NOREPLACE),
      ],
      [
        'mmap: MAP_FIXED_NOREPLACE over a mapping',
        'EEXIST',
        (e) => e.k.mmap(e.p, pg(e, 2), bytes(4), R, PRIV | MAP.FIXED_NOREPLACE),
      ],
      [
        'mmap: MAP_FIXED range leaving the user half',
        'ENOMEM',
        (e) => e.k.mmap(e.p, userEnd(e) - PAGE, bytes(2), RW, PRIV | MAP.FIXED),
      ],
      [
        'mmap: MAP_FIXED at the start of the kernel half',
        'ENOMEM',
        (e) => e.k.mmap(e.p, userEnd(e), PAGE, RW, PRIV | MAP.FIXED),
      ],
      [
        'mmap: length larger than the user half',
        'ENOMEM',
        (e) => e.k.mmap(e.p, 0, userEnd(e) + PAGE, RW, PRIV),
      ],
      [
        'mmap: length that overflows when rounded up (Linux: ENOMEM)',
        'ENOMEM',
        (e) => e.k.mmap(e.p, 0, (1n << 64n) - 1n, RW, PRIV),
      ],
      [
        'mmap: no room below the mmap top',
        'ENOMEM',
        (e) => e.k.mmap(e.p, 0, userEnd(e) - bytes(64), RW, PRIV),
      ],
      ['munmap: unaligned address', 'EINVAL', (e) => e.k.munmap(e.p, pg(e, 0) + 8n, PAGE)],
      ['munmap: zero length', 'EINVAL', (e) => e.k.munmap(e.p, pg(e, 0), 0)],
      [
        'munmap: range leaving the user half (Linux: EINVAL)',
        'EINVAL',
        (e) => e.k.munmap(e.p, userEnd(e) - PAGE, bytes(2)),
      ],
      [
        'munmap: length that overflows (Linux: EINVAL)',
        'EINVAL',
        (e) => e.k.munmap(e.p, pg(e, 0), (1n << 64n) - PAGE),
      ],
      ['mprotect: unaligned address', 'EINVAL', (e) => e.k.mprotect(e.p, pg(e, 0) + 8n, PAGE, R)],
      [
        'mprotect: zero length (issue 4; Linux returns 0)',
        'EINVAL',
        (e) => e.k.mprotect(e.p, pg(e, 0), 0, R),
      ],
      ['mprotect: unknown prot bits', 'EINVAL', (e) => e.k.mprotect(e.p, pg(e, 0), PAGE, 0x10)],
      ['mprotect: nothing mapped', 'ENOMEM', (e) => e.k.mprotect(e.p, pg(e, 8), PAGE, R)],
      ['mprotect: partly mapped', 'ENOMEM', (e) => e.k.mprotect(e.p, pg(e, 2), bytes(4), R)],
      [
        'mprotect: range leaving the user half (issue 4 and Linux: ENOMEM)',
        'ENOMEM',
        (e) => e.k.mprotect(e.p, userEnd(e) - PAGE, bytes(2), R),
      ],
    ];
    it.each(cases)('%s → %s', (_name, errno, call) => {
      const e = prepared();
      const before = snap(e);
      expect(errnoOf(call(e))).toBe(errno);
      expectUnchanged(e, before);
      expectFilled(e, 0, 4);
    });

    it('mprotect: a range that wraps around 2^64 fails (EINVAL or ENOMEM: issue 4 and Linux disagree) and changes nothing', () => {
      const e = prepared();
      const before = snap(e);
      const r = e.k.mprotect(e.p, pg(e, 0), (1n << 64n) - PAGE, R);
      expect(['EINVAL', 'ENOMEM']).toContain(errnoOf(r));
      expectUnchanged(e, before);
    });

    it('mmap: MAP_POPULATE out of memory still succeeds (Linux ignores mm_populate); the rest faults in on touch', () => {
      const e = prepared();
      for (const keep of [0, 1, 3]) {
        for (const [at, flags] of [
          [pg(e, 8), PRIV | MAP.FIXED | MAP.POPULATE],
          [0n, SHARED | MAP.POPULATE],
        ] as const) {
          const base = e.k.allocator.freeCount;
          const release = leaveFree(e.k, keep);
          const r = e.k.mmap(e.p, at, bytes(4), RW, flags);
          expect(r.ok, `keep ${keep}`).toBe(true);
          if (!r.ok) return;
          const v = e.k.vmas(e.p).find((m) => m.start === r.value)!;
          // Only what the free frames could hold was populated (nobody to reclaim or kill: pid 1).
          expect(v.residentPages).toBeLessThan(4);
          expect(e.p.alive).toBe(true);
          expect(audit(e.k).problems).toEqual([]);
          release();
          for (let i = 0n; i < 4n; i++)
            expect(e.k.store(e.p, r.value + i * PAGE, 8, i)).toMatchObject({ ok: true });
          expect(e.k.munmap(e.p, r.value, bytes(4))).toMatchObject({ ok: true });
          expect(e.k.allocator.freeCount).toBe(base); // nothing leaked
          expect(audit(e.k).problems).toEqual([]);
        }
        expectFilled(e, 0, 4);
      }
    });

    it('mmap: MAP_FIXED | MAP_POPULATE over a populated mapping, out of memory: the old mapping is replaced, the new one partly populated', () => {
      const e = prepared();
      const release = leaveFree(e.k, 0);
      const r = e.k.mmap(e.p, pg(e, 0), bytes(8), RW, PRIV | MAP.FIXED | MAP.POPULATE);
      expect(r).toMatchObject({ ok: true, value: pg(e, 0) });
      // The old pages' frames went first (MAP_FIXED); the populate used them, then ran out.
      const v = e.k.vmas(e.p).find((m) => m.start === pg(e, 0))!;
      expect(v.residentPages).toBeGreaterThan(0);
      expect(v.residentPages).toBeLessThan(8);
      expect(audit(e.k).problems).toEqual([]);
      release();
      for (let i = 0; i < 8; i++) expect(e.k.load(e.p, pg(e, i) + 8n, 8)).toEqual({ ok: true, value: 0n });
      expect(audit(e.k).problems).toEqual([]);
    });

    it('a lazy mmap succeeds out of memory; the first touch then kills with "out of memory"', () => {
      const e = prepared();
      const release = leaveFree(e.k, 0);
      expect(errnoOf(e.k.mmap(e.p, pg(e, 8), bytes(4), RW, PRIV | MAP.FIXED))).toBe('ok');
      // A store (a read would map the shared zero page, which needs no frame once the tables exist).
      expect(e.k.store(e.p, pg(e, 9), 4, 1)).toMatchObject({ ok: false, killed: 'out of memory' });
      expect(e.p.state).toBe('killed');
      release();
      expect(audit(e.k).problems).toEqual([]);
      expect(e.k.allocator.freeCount).toBe(e.k.baselineFree);
    });

    it('copy_from_user / copy_to_user: EFAULT for unmapped, PROT_NONE and (writing) read-only pages; never a kill', () => {
      const e = prepared();
      mapFixed(e, 8, 1, NONE);
      mapFixed(e, 9, 1, R);
      expect(e.k.copyFromUser(e.p, pg(e, 20), 4)).toEqual({ ok: false, errno: 'EFAULT' });
      expect(e.k.copyFromUser(e.p, pg(e, 8), 4)).toEqual({ ok: false, errno: 'EFAULT' });
      expect(e.k.copyToUser(e.p, pg(e, 9), new Uint8Array(4))).toEqual({ ok: false, errno: 'EFAULT' });
      expect(e.k.copyToUser(e.p, pg(e, 3) + PAGE - 2n, new Uint8Array(4))).toEqual({
        ok: false,
        errno: 'EFAULT',
      });
      expect(e.k.copyFromUser(e.p, pg(e, 9), 4)).toEqual({ ok: true, value: new Uint8Array(4) });
      expect(e.k.copyToUser(e.p, pg(e, 1) + 8n, new Uint8Array([1, 2, 3, 4]))).toEqual({
        ok: true,
        value: undefined,
      });
      expect(e.k.load(e.p, pg(e, 1) + 8n, 4)).toEqual({ ok: true, value: 0x0403_0201 });
      expect(e.p.alive).toBe(true);
      expect(audit(e.k).problems).toEqual([]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('TLB invalidation: once per operation, per page up to the threshold, then ASID-wide', () => {
    /** The TLB events of one call (every CPU sees the broadcast form once). */
    function tlbOps(e: Env, fn: () => unknown): string[] {
      const ops: string[] = [];
      const off = e.k.events.on((ev: MmEvent) => {
        if (ev.type === 'tlb')
          ops.push(`${ev.op}${ev.operand !== undefined ? ` ${ev.operand.toString(16)}` : ''}`);
      });
      fn();
      if (typeof off === 'function') off();
      return ops;
    }
    const expected = (e: Env, scope: 'page' | 'asid', vpns: number[], leafOnly: boolean) =>
      e.k.arch
        .tlbOperations({ scope, asid: e.p.asid, vpns, global: false, leafOnly })
        .map((o) => `${o.name}${o.operand !== undefined ? ` ${o.operand.toString(16)}` : ''}`);

    it('munmap of 4 resident pages (a hole): exactly the per-page invalidations of those pages', () => {
      const e = setup(c);
      mapFixed(e, 0, 8, RW, PRIV | MAP.POPULATE);
      const vpns = [2, 3, 4, 5].map((i) => Number(pg(e, i) >> 12n));
      const ops = tlbOps(e, () => e.k.munmap(e.p, pg(e, 2), bytes(4)));
      expect([expected(e, 'page', vpns, true), expected(e, 'page', vpns, false)]).toContainEqual(ops);
    });

    it('munmap of 40 resident pages (more than the default threshold of 32): one ASID-wide invalidation', () => {
      const e = setup(c);
      mapFixed(e, 0, 48, RW, PRIV | MAP.POPULATE);
      const ops = tlbOps(e, () => e.k.munmap(e.p, pg(e, 4), bytes(40)));
      expect(ops).toEqual(expected(e, 'asid', [], false));
    });

    it('mprotect of 3 resident pages: exactly the per-page invalidations of those pages', () => {
      const e = setup(c);
      mapFixed(e, 0, 8, RW, PRIV | MAP.POPULATE);
      const vpns = [1, 2, 3].map((i) => Number(pg(e, i) >> 12n));
      const ops = tlbOps(e, () => e.k.mprotect(e.p, pg(e, 1), bytes(3), R));
      expect([expected(e, 'page', vpns, true), expected(e, 'page', vpns, false)]).toContainEqual(ops);
    });

    it('munmap of pages never touched: nothing to invalidate', () => {
      const e = setup(c);
      mapFixed(e, 0, 8, RW);
      expect(tlbOps(e, () => e.k.munmap(e.p, pg(e, 2), bytes(4)))).toEqual([]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('physical (device) mappings', () => {
    /** A 64 KiB-aligned, 16-page physical range the allocator reserves (boot stub, real-mode area). */
    function reservedPa(e: Env): number {
      for (const r of e.k.machine.pool.reservations) {
        const s = Math.ceil(Math.max(r.start, 0x1_0000) / 0x1_0000) * 0x1_0000;
        if (s + 16 * 4096 <= r.end) return s;
      }
      throw new Error('no reserved range of 16 pages');
    }

    it('maps the range shared and present at once; user stores reach the physical address; unmapping frees no frame', () => {
      const e = setup(c);
      const pa = reservedPa(e);
      const free0 = e.k.allocator.freeCount;
      const r = e.k.mmap(e.p, pg(e, 16), bytes(16), RW, MAP.SHARED | MAP.FIXED, { physical: pa });
      expect(r).toEqual({ ok: true, value: pg(e, 16) });
      // Device pages are mapped at once (remap_pfn_range) but are no RSS (special PTEs; smaps skips VM_PFNMAP).
      expect(e.k.lookup(e.p, pg(e, 31))?.entry).toMatchObject({ kind: 'leaf', pa: pa + 15 * 4096 });
      expect(win(e)).toEqual(['[16, 32) rw-s resident 0']);
      // A framebuffer is often RAM the firmware reserved (seed 002 maps one): mapped, it must audit clean.
      expect(audit(e.k).problems).toEqual([]);
      expect(e.k.store(e.p, pg(e, 17) + 8n, 8, 0xfeedn)).toEqual({ ok: true, value: 0 });
      expect(e.k.memory.readN(pa + 4096 + 8, 8)).toBe(0xfeedn);
      const f = e.k.fork(e.p);
      if (!f.ok) throw new Error('fork');
      expect(e.k.store(f.process, pg(e, 18), 4, 0x77)).toEqual({ ok: true, value: 0 });
      expect(e.k.load(e.p, pg(e, 18), 4)).toEqual({ ok: true, value: 0x77 });
      e.k.exit(f.process);
      expect(errnoOf(e.k.munmap(e.p, pg(e, 16), bytes(16)))).toBe('ok');
      expect(e.k.memory.readN(pa + 4096 + 8, 8)).toBe(0xfeedn);
      expect(audit(e.k).problems).toEqual([]);
      expect(e.k.allocator.freeCount).toBe(free0);
    });

    it('AArch64: an aligned run of 16 gets the Contiguous hint; it is cleared on all 16 before one changes (arch-facts A11)', () => {
      const e = setup(c);
      const pa = reservedPa(e);
      expect(errnoOf(e.k.mmap(e.p, pg(e, 16), bytes(16), RW, MAP.SHARED | MAP.FIXED, { physical: pa }))).toBe(
        'ok',
      );
      const contiguous = () =>
        Array.from({ length: 16 }, (_, i) => {
          const ref = e.k.lookup(e.p, pg(e, 16 + i))!;
          return ref.entry.kind === 'leaf' && ref.entry.attrs.contiguous;
        });
      const hint = e.k.arch.description.capabilities.contiguousEntries === 16;
      expect(contiguous()).toEqual(Array(16).fill(hint));
      expect(errnoOf(e.k.mprotect(e.p, pg(e, 20), bytes(1), R))).toBe('ok');
      expect(contiguous()).toEqual(Array(16).fill(false));
      expect(hw(e, pg(e, 20))).toBe(protString(effectiveProt(R, e.traits)));
      expect(hw(e, pg(e, 21))).toBe(protString(effectiveProt(RW, e.traits)));
      expect(audit(e.k).problems).toEqual([]);
    });

    it('an unaligned physical address is EINVAL; RAM the kernel manages is refused; nothing changes', () => {
      const e = setup(c);
      const before = snap(e);
      expect(errnoOf(e.k.mmap(e.p, 0, bytes(1), RW, MAP.SHARED, { physical: reservedPa(e) + 8 }))).toBe(
        'EINVAL',
      );
      const managed = e.k.allocator.alloc('kernel', -1);
      const before2 = snap(e);
      const r = e.k.mmap(e.p, 0, bytes(1), RW, MAP.SHARED, { physical: managed });
      expect(r.ok).toBe(false);
      expectUnchanged(e, before2);
      e.k.allocator.free(managed);
      expectUnchanged(e, before);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('stack', () => {
    it('grows down on a fault below it, down to the stack limit; below the limit is SEGV_MAPERR', () => {
      const e = setup(c);
      const top = e.k.layout.stackTop;
      const stack = () => e.k.vmas(e.p).filter((v) => v.name === '[stack]');
      expect(stack()).toMatchObject([{ start: top - PAGE, end: top, prot: RW }]);
      expect(e.k.store(e.p, top - 3n * PAGE + 8n, 8, 5n)).toEqual({ ok: true, value: 0 });
      expect(stack()).toMatchObject([{ start: top - 3n * PAGE, end: top, prot: RW }]);
      expect(e.k.load(e.p, top - 2n * PAGE, 8)).toEqual({ ok: true, value: 0n });
      expect(inChild(e, (ch) => e.k.store(ch, e.k.layout.stackLow - 8n, 8, 0n))).toEqual(
        MAPERR('stack overflow'),
      );
      expect(audit(e.k).problems).toEqual([]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('introspection', () => {
    it('procMaps lists every VMA in /proc/PID/maps format, in address order', () => {
      const e = setup(c);
      const H = e.k.layout.heapBase;
      e.k.brk(e.p, H + bytes(2));
      mapFixed(e, 0, 2, RX);
      expect(errnoOf(e.k.mmap(e.p, pg(e, 4), bytes(1), RW, PRIV | MAP.FIXED, { name: 'buf' }))).toBe('ok');
      mapFixed(e, 6, 1, RW, SHARED);
      const vmas = e.k.vmas(e.p);
      const text = procMapsOf(e.k, e.p);
      expect(typeof text, 'Kernel.procMaps() exists').toBe('string');
      const lines = (text ?? '').trimEnd().split('\n');
      expect(lines.length).toBe(vmas.length);
      const re =
        /^([0-9a-f]{8,})-([0-9a-f]{8,}) ([r-][w-][x-][ps]) ([0-9a-f]{8,}) ([0-9a-f]{2}):([0-9a-f]{2}) (\d+)(?: +(.*))?$/;
      const seen = lines.map((l) => {
        const m = re.exec(l);
        expect({ line: l, matches: m !== null }).toEqual({ line: l, matches: true });
        return { start: BigInt(`0x${m![1]}`), end: BigInt(`0x${m![2]}`), perms: m![3], name: m![8] ?? '' };
      });
      expect(seen.map((s) => [s.start, s.end, s.perms])).toEqual(
        vmas.map((v) => [v.start, v.end, `${protString(v.prot)}${v.shared ? 's' : 'p'}`]),
      );
      const nameAt = (a: bigint) => seen.find((s) => s.start === a)?.name;
      expect(nameAt(H)).toBe('[heap]');
      expect(nameAt(e.k.layout.stackTop - PAGE)).toBe('[stack]');
      expect(nameAt(pg(e, 4))).toBe('[anon:buf]');
      expect(nameAt(pg(e, 0))).toBe('');
    });

    it('memoryStats: RSS, VSZ and page-table pages follow the VMAs and the tables', () => {
      const e = setup(c);
      const s0 = e.k.memoryStats(e.p);
      mapFixed(e, 0, 8, RW);
      const s1 = e.k.memoryStats(e.p);
      expect(s1.vszBytes - s0.vszBytes).toBe(bytes(8));
      expect(s1.rssPages).toBe(s0.rssPages);
      fill(e, 0, 3);
      const s2 = e.k.memoryStats(e.p);
      expect(s2.rssPages).toBe(s0.rssPages + 3);
      expect(s2.pageTablePages).toBe(e.p.tablePages);
      expect(s2.rssPages).toBe(e.k.vmas(e.p).reduce((n, v) => n + v.residentPages, 0));
      expect(s2.vszBytes).toBe(e.k.vmas(e.p).reduce((n, v) => n + (v.end - v.start), 0n));
    });
  });
});

// -------------------------------------------------------------------------------------------------
describe('the reference model itself (vm-reference.ts)', () => {
  const options = SMALL_MODEL_OPTIONS;
  const page = (n: number) => BigInt(n) * PAGE;

  it('places top-down into the highest hole that fits', () => {
    const m = new AddressSpaceModel(options);
    expect(m.mmap(0n, page(1), R, PRIV)).toEqual({ ok: true, value: page(0x7ff) });
    expect(m.mmap(0n, page(2), R, PRIV)).toEqual({ ok: true, value: page(0x7fd) });
    expect(m.mmap(0n, page(1), R, PRIV)).toEqual({ ok: true, value: page(0x7fc) });
    expect(m.munmap(page(0x7fd), page(2))).toEqual({ ok: true, value: 0 });
    expect(m.mmap(0n, page(3), R, PRIV)).toEqual({ ok: true, value: page(0x7f9) });
    expect(m.mmap(0n, page(2), R, PRIV)).toEqual({ ok: true, value: page(0x7fd) });
    expect(m.mmap(0n, page(0x800), R, PRIV)).toMatchObject({ ok: false, errno: 'ENOMEM' });
  });

  it('derives merged VMAs and splits them like the kernel should', () => {
    const m = new AddressSpaceModel(options);
    m.mmap(page(0x100), page(8), RW, PRIV | MAP.FIXED);
    expect(m.mprotect(page(0x102), page(3), R)).toEqual({ ok: true, value: 0 });
    expect(m.vmaList().map((v) => [Number(v.start / PAGE), Number(v.end / PAGE), v.prot])).toEqual([
      [0x100, 0x102, RW],
      [0x102, 0x105, R],
      [0x105, 0x108, RW],
    ]);
    m.mprotect(page(0x102), page(3), RW);
    expect(m.vmaList()).toHaveLength(1);
    // Two shared objects side by side never merge.
    m.mmap(page(0x200), page(1), RW, SHARED | MAP.FIXED);
    m.mmap(page(0x201), page(1), RW, SHARED | MAP.FIXED);
    expect(m.vmaList()).toHaveLength(3);
  });

  it('keeps stores, shares shared pages across fork and copies private ones', () => {
    const m = new AddressSpaceModel(options);
    m.mmap(page(0x100), page(1), RW, PRIV | MAP.FIXED);
    m.mmap(page(0x101), page(1), RW, SHARED | MAP.FIXED);
    m.access(1, page(0x100) + 8n, 8, 5n);
    const c = m.fork();
    c.access(1, page(0x100) + 8n, 8, 6n);
    c.access(1, page(0x101), 4, 7);
    expect(m.access(0, page(0x100) + 8n, 8)).toEqual({ ok: true, value: 5n });
    expect(m.access(0, page(0x101), 4)).toEqual({ ok: true, value: 7 });
    expect(m.access(2, page(0x100), 4)).toEqual({
      ok: false,
      killed: 'exec fault',
      signal: 'SIGSEGV',
      code: 'SEGV_ACCERR',
    });
    expect(m.access(0, page(0x102), 4)).toEqual({
      ok: false,
      killed: 'invalid address',
      signal: 'SIGSEGV',
      code: 'SEGV_MAPERR',
    });
  });

  it('brk: refuses to come within one page of a mapping, shrink unmaps, regrow is zero', () => {
    const m = new AddressSpaceModel(options);
    m.mmap(options.heapBase + page(4), page(1), R, PRIV | MAP.FIXED);
    expect(m.brkTo(options.heapBase + page(4))).toBe(options.heapBase);
    expect(m.brkTo(options.heapBase + page(3))).toBe(options.heapBase + page(3));
    m.access(1, options.heapBase + page(2), 1, 9);
    m.brkTo(options.heapBase + page(2));
    m.brkTo(options.heapBase + page(3));
    expect(m.access(0, options.heapBase + page(2), 1)).toEqual({ ok: true, value: 0 });
  });

  it('effective permissions widen only where the hardware must (arch-facts A6, B3, B5)', () => {
    const a64 = { execOnly: true, noExecute: true };
    const x64 = { execOnly: false, noExecute: true };
    const x32 = { execOnly: false, noExecute: false };
    const table = (t: AccessTraits) => [0, 1, 2, 3, 4, 5, 6, 7].map((p) => protString(effectiveProt(p, t)));
    expect(table(a64)).toEqual(['---', 'r--', 'rw-', 'rw-', '--x', 'r-x', 'rwx', 'rwx']);
    expect(table(x64)).toEqual(['---', 'r--', 'rw-', 'rw-', 'r-x', 'r-x', 'rwx', 'rwx']);
    expect(table(x32)).toEqual(['---', 'r-x', 'rwx', 'rwx', 'r-x', 'r-x', 'rwx', 'rwx']);
  });
});
