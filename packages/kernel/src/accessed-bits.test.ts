/**
 * Reference bits (accessed-bits.ts) on all five configurations plus AArch64 with software Access
 * flag management (TCR_EL1.HA = 0): an access sets the flag (x86 A by the walker; AArch64 AF by
 * the walker with HA, through the Access flag fault without), clearFrameReferenced clears it in
 * every mapping of a fork-shared frame with the architecture's TLB rule (arm64 invalidates the
 * page, x86 deliberately does not), and the next access sets it again — on x86 only once the
 * stale TLB entry is gone, exactly as Linux accepts. Strict TLB mode is on throughout.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createVirtBoard } from '@mmkit/boards';
import { AddressError, InvalidArgumentError, type MmEvent, StaleTlbError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel, type Kernel } from './kernel.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { fiveConfigs, type TestConfig } from './test-fixtures.js';

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

interface Env {
  readonly k: Kernel;
  readonly p: Process;
  readonly base: bigint;
  readonly events: MmEvent[];
  /** The backend invalidates after clearing (arm64). */
  readonly flushes: boolean;
  /** Software Access flag management (AArch64 HA = 0): accesses to a clear AF fault. */
  readonly softwareAf: boolean;
}

function setup(c: TestConfig, strictTlb = true): Env {
  const k = bootKernel({ arch: c.arch(), machine: c.machine(), cpus: 2, strictTlb });
  const events: MmEvent[] = [];
  k.events.on((e) => events.push(e));
  const p = k.createProcess();
  const r = k.mmap(p, 0, 4 * 4096, RW, PRIV);
  if (!r.ok) throw new Error(r.detail);
  for (let i = 0; i < 4; i++) expect(k.store(p, r.value + BigInt(i) * PAGE, 8, i + 1).ok).toBe(true);
  const caps = k.arch.description.capabilities;
  return {
    k,
    p,
    base: r.value,
    events,
    flushes: caps.flushOnAccessedClear === true,
    softwareAf: !caps.hardwareAccessFlag,
  };
}

const leafOf = (k: Kernel, p: Process, va: bigint) => {
  const ref = k.lookup(p, va);
  if (ref?.entry.kind !== 'leaf') throw new Error(`no leaf at 0x${va.toString(16)}`);
  return { ...ref, entry: ref.entry };
};
const accessedIn = (k: Kernel, p: Process, va: bigint) => leafOf(k, p, va).entry.attrs.accessed;
const tlbOps = (events: MmEvent[]) => events.filter((e) => e.type === 'tlb');
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);

describe.each(CONFIGS)('accessed bits: $name', (c) => {
  it('the backend follows Linux ptep_clear_flush_young: arm64 invalidates, x86 does not', () => {
    const { k } = setup(c);
    const arm = k.arch.description.id === 'aarch64';
    expect(k.arch.description.capabilities.flushOnAccessedClear).toBe(arm);
  });

  it('an access sets the accessed flag (x86 A and AArch64 AF with HA by the walker; software AF by the Access flag fault)', () => {
    const e = setup(c);
    const { k, p, base } = e;
    expect(k.pageReferenced(p, base)).toBe(true); // stored to in setup
    expect(k.clearPageReferenced(p, base)).toBe(true);
    expect(accessedIn(k, p, base)).toBe(false);
    expect(k.pageReferenced(p, base)).toBe(false);
    expect(k.clearPageReferenced(p, base)).toBe(false); // test-and-clear: already clear
    // No TLB entry may stand in the way of the walk (x86 keeps one: see the stale-TLB test).
    for (const cpu of k.cpus) cpu.tlb.invalidateAll();
    e.events.length = 0;
    expect(k.load(p, base, 8)).toEqual({ ok: true, value: 1n });
    expect(accessedIn(k, p, base)).toBe(true);
    expect(k.pageReferenced(p, base)).toBe(true);
    const faults = e.events.filter((x) => x.type === 'fault');
    if (e.softwareAf) {
      expect(faults).toHaveLength(1);
      expect(faults[0]).toMatchObject({ kind: 'access-flag', resolution: 'access flag set' });
    } else expect(faults).toEqual([]);
    clean(k);
  });

  it('clearFrameReferenced clears the flag in every mapping of a fork-shared frame, with the architecture’s TLB rule', () => {
    const e = setup(c);
    const { k, p, base } = e;
    const forked = k.fork(p);
    if (!forked.ok) throw new Error(forked.errno);
    const child = forked.process;
    // Both processes read the page (both leaves accessed, both TLBs of CPU 0 and 1 warm).
    expect(k.load(p, base, 8, 0)).toMatchObject({ ok: true, value: 1n });
    expect(k.load(child, base, 8, 1)).toMatchObject({ ok: true, value: 1n });
    const pa = leafOf(k, p, base).entry.pa;
    expect(leafOf(k, child, base).entry.pa).toBe(pa);
    expect(k.rmap.count(pa)).toBe(2);
    expect(k.frameReferenced(pa)).toBe(true);
    e.events.length = 0;
    expect(k.clearFrameReferenced(pa)).toBe(true);
    expect(accessedIn(k, p, base)).toBe(false);
    expect(accessedIn(k, child, base)).toBe(false);
    expect(k.frameReferenced(pa)).toBe(false);
    expect(k.clearFrameReferenced(pa)).toBe(false);
    const ops = tlbOps(e.events);
    if (e.flushes) {
      // One page invalidation per mapping (TLBI VALE1IS, VA + ASID), broadcast to every CPU.
      expect(ops.map((o) => (o.type === 'tlb' ? o.op : ''))).toEqual(['TLBI VALE1IS', 'TLBI VALE1IS']);
    } else expect(ops).toEqual([]);
    // Nothing else changed: same frame, same permissions, two references.
    expect(leafOf(k, p, base).entry.pa).toBe(pa);
    expect(k.allocator.refCount(pa)).toBe(2);
    clean(k);
  });

  it('the next access sets it again: on arm64 at once (the TLB entry is gone), on x86 only when the stale entry goes — as Linux accepts', () => {
    const e = setup(c);
    const { k, p, base } = e;
    const pa = leafOf(k, p, base).entry.pa;
    expect(k.load(p, base, 8, 0).ok).toBe(true); // CPU 0's TLB caches the translation
    expect(k.clearFrameReferenced(pa)).toBe(true);
    e.events.length = 0;
    // Strict mode verifies this TLB use against the tables and accepts it on every architecture.
    expect(k.load(p, base, 8, 0)).toEqual({ ok: true, value: 1n });
    if (e.flushes) {
      expect(accessedIn(k, p, base)).toBe(true);
      expect(k.frameReferenced(pa)).toBe(true);
    } else {
      // x86: the TLB hit needs no walk, so A stays clear (imprecise ageing, never wrong data).
      expect(accessedIn(k, p, base)).toBe(false);
      expect(k.frameReferenced(pa)).toBe(false);
      expect(e.events.filter((x) => x.type === 'fault' || x.type === 'tlb')).toEqual([]);
      // Once the entry is flushed (a context switch, INVLPG, …) the walker sets A again.
      for (const cpu of k.cpus) cpu.tlb.invalidateNonGlobal();
      expect(k.load(p, base, 8, 0).ok).toBe(true);
      expect(accessedIn(k, p, base)).toBe(true);
    }
    clean(k);
  });

  it('a huge leaf has one flag for the whole block: any of its frames reads and clears it', () => {
    const { k, p } = setup(c);
    const hugeBytes = k.bounds.hugePages * 4096;
    const r = k.mmap(p, 0, hugeBytes * 2, RW, PRIV | MAP.HUGETLB);
    if (!r.ok) throw new Error(r.detail);
    // The first aligned block inside the mapping.
    const block = (r.value + BigInt(hugeBytes) - 1n) & ~(BigInt(hugeBytes) - 1n);
    expect(k.store(p, block, 8, 7).ok).toBe(true);
    const ref = leafOf(k, p, block);
    expect(ref.level).toBe(2);
    const inner = block + 5n * PAGE;
    expect(k.pageReferenced(p, inner)).toBe(true);
    expect(k.frameReferenced(ref.entry.pa + 5 * 4096)).toBe(true);
    expect(k.clearFrameReferenced(ref.entry.pa + 5 * 4096)).toBe(true);
    expect(k.pageReferenced(p, block)).toBe(false);
    expect(k.frameReferenced(ref.entry.pa)).toBe(false);
    clean(k);
  });

  it('refuses bad arguments with a typed error; a frame or page nothing maps is not referenced', () => {
    const { k, p } = setup(c);
    expect(() => k.frameReferenced(-1)).toThrow(InvalidArgumentError);
    expect(() => k.clearFrameReferenced(1.5)).toThrow(InvalidArgumentError);
    expect(() => k.pageReferenced(p, -1n)).toThrow(AddressError);
    expect(() => k.pageReferenced(p, k.linearMapBase)).toThrow(/user half/);
    expect(k.frameReferenced(k.allocator.alloc('user', -1))).toBe(false);
    expect(k.pageReferenced(p, k.layout.heapBase)).toBe(false);
    expect(k.clearPageReferenced(p, k.layout.heapBase)).toBe(false);
  });
});

describe('strict TLB mode catches an accessed flag cleared without the invalidation arm64 needs', () => {
  it('software AF: a cached translation whose AF was cleared without TLBI is a stale use (StaleTlbError)', () => {
    const k = bootKernel({
      arch: createAarch64Arch({ hardwareAccessFlag: false }),
      machine: createVirtBoard({ ramBytes: 32 * MiB, pool: 'all-ram' }),
      strictTlb: true,
    });
    const p = k.createProcess();
    const r = k.mmap(p, 0, 4096, RW, PRIV);
    if (!r.ok) throw new Error(r.detail);
    expect(k.store(p, r.value, 8, 1).ok).toBe(true);
    // Break the rule on purpose: clear AF in the descriptor, no TLB maintenance.
    const ref = k.lookup(p, r.value)!;
    if (ref.entry.kind !== 'leaf') throw new Error('no leaf');
    k.editor.writeEntry(
      ref.descriptorPa,
      { ...ref.entry, attrs: { ...ref.entry.attrs, accessed: false } },
      ref.level,
    );
    expect(() => k.load(p, r.value, 8)).toThrow(StaleTlbError);
  });

  it('hardware AF: without the invalidation the next access leaves AF clear (the page would look idle); with it AF is set', () => {
    const k = bootKernel({
      arch: createAarch64Arch(),
      machine: createVirtBoard({ ramBytes: 32 * MiB, pool: 'all-ram' }),
    });
    const p = k.createProcess();
    const r = k.mmap(p, 0, 4096, RW, PRIV);
    if (!r.ok) throw new Error(r.detail);
    expect(k.store(p, r.value, 8, 1).ok).toBe(true);
    const ref = k.lookup(p, r.value)!;
    if (ref.entry.kind !== 'leaf') throw new Error('no leaf');
    k.editor.writeEntry(
      ref.descriptorPa,
      { ...ref.entry, attrs: { ...ref.entry.attrs, accessed: false } },
      ref.level,
    );
    expect(k.load(p, r.value, 8).ok).toBe(true);
    expect(k.pageReferenced(p, r.value)).toBe(false); // the cached entry hid the access
    k.clearPageReferenced(p, r.value); // nothing to clear, so no invalidation either
    expect(k.load(p, r.value, 8).ok).toBe(true);
    expect(k.pageReferenced(p, r.value)).toBe(false);
    // Set it (an access through a fresh walk), clear it the kernel's way, access again.
    k.cpus[0]!.tlb.invalidateAll();
    expect(k.load(p, r.value, 8).ok).toBe(true);
    expect(k.clearPageReferenced(p, r.value)).toBe(true);
    expect(k.load(p, r.value, 8).ok).toBe(true);
    expect(k.pageReferenced(p, r.value)).toBe(true);
  });
});
