/**
 * Walker tests on hand-built tables: raw entries written into simulated RAM and
 * walked as QEMU's `mmu_translate` does, in every mode (arch-facts B1, B4, B5,
 * B6, B7). Error codes are the ones real hardware pushes (arch-facts B6).
 */
import {
  Access,
  Fault,
  Perm,
  PhysicalMemory,
  Privilege,
  vpnOf,
  WalkResult,
  type WalkStep,
} from '@mmkit/core';
import { createWalkHarness, type WalkHarness } from '@mmkit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createX86Arch, type X86Backend } from './backend.js';
import type { X86Mmu, X86MmuOptions } from './mmu.js';
import type { X86Options } from './options.js';

// Entry bits (arch-facts B3), Linux _PAGE_* names.
const P = 1n;
const RW = 2n;
const US = 4n;
const PWT = 8n;
const PCD = 16n;
const A = 0x20n;
const D = 0x40n;
const PS = 0x80n;
const G = 0x100n;
const PAT_LARGE = 0x1000n;
const XD = 1n << 63n;
const pkey = (k: number) => BigInt(k) << 59n;

const R = Access.Read;
const W = Access.Write;
const X = Access.Fetch;
const USER = Privilege.User;
const KERNEL = Privilege.Kernel;

interface Rig {
  readonly backend: X86Backend;
  readonly h: WalkHarness;
  readonly mmu: X86Mmu;
  readonly out: WalkResult;
  /** Builds tables (default flags P|R/W|U/S, P for a PAE PDPTE, or `tableBits[level]`) down to `leafLevel`; returns the leaf slot. */
  slot(va: bigint, leafLevel: number, tableBits?: Record<number, bigint>): number;
  put(pa: number, value: bigint): void;
  get(pa: number): bigint;
  walk(va: bigint, access: 0 | 1 | 2, privilege: 0 | 1, trace?: WalkStep[]): boolean;
  probe(va: bigint, access: 0 | 1 | 2, privilege: 0 | 1, trace?: WalkStep[]): boolean;
  /** Addresses of the entries a walk of `va` reads, root first (from a probe's trace). */
  path(va: bigint): number[];
}

function rig(options: X86Options, mmuOptions?: X86MmuOptions): Rig {
  const backend = createX86Arch(options);
  const h = createWalkHarness(backend, { mmuOptions });
  const mmu = h.mmu as X86Mmu;
  const out = new WalkResult();
  const g = backend.geometry;
  const bytes = backend.description.descriptorBytes;
  const paeRoot = options.mode === 'x86-pae';
  const get = (pa: number) => (bytes === 8 ? h.memory.read64(pa) : BigInt(h.memory.read32(pa)));
  const put = (pa: number, value: bigint) => {
    if (bytes === 8) h.memory.write64(pa, value);
    else h.memory.write32(pa, Number(value));
  };
  const r: Rig = {
    backend,
    h,
    mmu,
    out,
    slot(va, leafLevel, tableBits = {}) {
      const vpn = vpnOf(va);
      let table = h.userRoot;
      for (let level = g.rootLevel; level > leafLevel; level--) {
        const dpa = table + g.indexOf(vpn, level) * bytes;
        let v = get(dpa);
        if (v === 0n) {
          const flags = tableBits[level] ?? (paeRoot && level === 3 ? P : P | RW | US);
          v = BigInt(h.frames.allocTable(level - 1)) | flags;
          put(dpa, v);
        }
        table = Number(v & 0x000f_ffff_ffff_f000n);
      }
      return table + g.indexOf(vpn, leafLevel) * bytes;
    },
    put,
    get,
    walk: (va, access, privilege, trace) => mmu.walk(vpnOf(va), access, privilege, out, trace),
    probe: (va, access, privilege, trace) => mmu.probe(vpnOf(va), access, privilege, out, trace),
    path(va) {
      const trace: WalkStep[] = [];
      mmu.probe(vpnOf(va), R, KERNEL, new WalkResult(), trace);
      return trace.map((s) => s.descriptorPa);
    },
  };
  return r;
}

const UVA = 0x0000_0040_1234_5000n; // IA-32e user half
const KVA = 0xffff_8000_1234_5000n; // IA-32e kernel half
const UVA32 = 0x1234_5000n;
const KVA32 = 0xc123_4000n;
const PA = 0x8765_4000;
const USER_RW = BigInt(PA) | P | RW | US | A | D; // a user page that is already dirty
const MODES: readonly X86Options[] = [
  { mode: 'x86-32' },
  { mode: 'x86-pae' },
  { mode: 'x86_64' },
  { mode: 'x86_64-la57' },
];
const uva = (o: X86Options) => (o.mode === 'x86-32' || o.mode === 'x86-pae' ? UVA32 : UVA);
const kva = (o: X86Options) => (o.mode === 'x86-32' || o.mode === 'x86-pae' ? KVA32 : KVA);

describe('canonical addresses and the 32-bit limit (arch-facts B1)', () => {
  it.each([
    ['0x0000_8000_0000_0000 (bit 47 set, bits 63:48 clear)', 0x0000_8000_0000_0000n],
    ['0xFFFF_7FFF_FFFF_F000 (bit 47 clear, bits 63:48 set)', 0xffff_7fff_ffff_f000n],
    ['0x8000_0000_0000_0000', 0x8000_0000_0000_0000n],
    ['0x0010_0000_0000_0000', 0x0010_0000_0000_0000n],
  ])('B1: x86_64 %s is a #GP(0): non-canonical, level 0, syndrome 0, no entry read', (_, va) => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(0n, 1), USER_RW);
    r.put(r.slot(0xffff_8000_0000_0000n, 1), USER_RW);
    const before = r.path(0n).map(r.get);
    for (const access of [R, W, X] as const) {
      expect(r.walk(va, access, USER)).toBe(false);
      expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome, r.out.reads, r.out.descriptorPa]).toEqual([
        Fault.NonCanonical,
        0,
        0,
        0,
        0,
      ]);
    }
    expect(r.path(0n).map(r.get)).toEqual(before);
  });

  it('B1: LA57 accepts bit 47 set (canonical in 57 bits) and refuses 0x0100_0000_0000_0000 and 0xFEFF_…', () => {
    const r = rig({ mode: 'x86_64-la57' });
    const va = 0x0000_8000_0000_0000n;
    r.put(r.slot(va, 1), USER_RW);
    expect(r.walk(va, R, USER)).toBe(true);
    expect(r.out.reads).toBe(5);
    for (const bad of [0x0100_0000_0000_0000n, 0xfeff_ffff_ffff_f000n]) {
      expect(r.walk(bad, R, KERNEL)).toBe(false);
      expect([r.out.faultKind, r.out.syndrome, r.out.reads]).toEqual([Fault.NonCanonical, 0, 0]);
    }
    expect(r.walk(0xff00_0000_0000_0000n, R, KERNEL)).toBe(false);
    expect(r.out.faultKind).toBe(Fault.Translation); // canonical, just not mapped
  });

  it.each([{ mode: 'x86-32' }, { mode: 'x86-pae' }] as const)(
    'B1: $mode refuses a VA ≥ 4 GiB like a non-canonical address (#GP, nothing read)',
    (o) => {
      const r = rig(o);
      r.put(r.slot(0n, 1), USER_RW);
      expect(r.walk(0x1_0000_0000n, R, KERNEL)).toBe(false);
      expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome, r.out.reads]).toEqual([
        Fault.NonCanonical,
        0,
        0,
        0,
      ]);
      expect(r.walk(0n, R, KERNEL)).toBe(true);
    },
  );
});

describe('leaves of every size (arch-facts B1, B3)', () => {
  it('B1: x86_64 4 KiB page after 4 reads; the trace names PML4, PDPT, PD, PT and the raw entries', () => {
    const r = rig({ mode: 'x86_64' });
    const slot = r.slot(UVA, 1);
    r.put(slot, USER_RW | XD);
    const trace: WalkStep[] = [];
    expect(r.walk(UVA + 0x123n, R, USER, trace)).toBe(true);
    expect([r.out.pfn, r.out.leafLevel, r.out.reads, r.out.descriptorPa]).toEqual([PA / 4096, 1, 4, slot]);
    expect(trace.map((s) => s.levelName)).toEqual(['PML4', 'PDPT', 'PD', 'PT']);
    expect(trace.at(-1)!.raw).toBe(USER_RW | XD);
    expect(trace[0]!.tablePa).toBe(r.h.userRoot);
    expect(r.out.perms).toBe(Perm.UR | Perm.UW | Perm.KR | Perm.KW);
  });

  it('B1: x86_64-la57 walks PML5 first (5 reads)', () => {
    const r = rig({ mode: 'x86_64-la57' });
    r.put(r.slot(KVA, 1), BigInt(PA) | P | A);
    const trace: WalkStep[] = [];
    expect(r.walk(KVA, R, KERNEL, trace)).toBe(true);
    expect(trace.map((s) => s.levelName)).toEqual(['PML5', 'PML4', 'PDPT', 'PD', 'PT']);
  });

  it('B1: a 2 MiB page gives the frame of the 4 KiB page inside it (x86_64: 3 reads, PAE: 2)', () => {
    for (const o of [{ mode: 'x86_64' }, { mode: 'x86-pae' }] as const) {
      const r = rig(o);
      const base = 0x20_0000n * 7n;
      const va = o.mode === 'x86_64' ? 0x0000_0000_8020_0000n : 0x8020_0000n;
      r.put(r.slot(va, 2), base | P | RW | PS | A);
      expect(r.walk(va + 0x1_5000n, R, KERNEL)).toBe(true);
      expect([r.out.pfn, r.out.leafLevel, r.out.reads]).toEqual([
        Number(base) / 4096 + 0x15,
        2,
        o.mode === 'x86_64' ? 3 : 2,
      ]);
    }
  });

  it('B1: a 1 GiB page (x86_64 PDPTE with PS) gives the frame inside it after 2 reads', () => {
    const r = rig({ mode: 'x86_64' });
    const block = 0x1_4000_0000n;
    r.put(r.slot(0xffff_8000_c000_0000n, 3), block | P | RW | PS | A | G);
    expect(r.walk(0xffff_8000_c000_0000n + 0x3fff_f000n, R, KERNEL)).toBe(true);
    expect([r.out.pfn, r.out.leafLevel, r.out.reads, r.out.global]).toEqual([
      0x14_0000 + 0x3_ffff,
      3,
      2,
      true,
    ]);
  });

  it('B1/B3: x86-32 4 MiB page (CR4.PSE) after 1 read; PSE-36 bits 20:13 give PA[39:32]', () => {
    const r = rig({ mode: 'x86-32' });
    r.put(r.slot(0x0080_0000n, 2), 0x0040_0000n | (0x3n << 13n) | P | RW | PS);
    expect(r.walk(0x0080_0000n + 0x3f_f000n, R, KERNEL)).toBe(true);
    // PA 0x3_0040_0000 + 0x3F_F000.
    expect([r.out.pfn, r.out.leafLevel, r.out.reads]).toEqual([0x30_0400 + 0x3ff, 2, 1]);
  });

  it('B1: x86-32 4 KiB page after 2 reads; PDE address (CR3 & ~0xFFF) + (VA >> 20) & 0xFFC', () => {
    const r = rig({ mode: 'x86-32' });
    const slot = r.slot(UVA32, 1);
    r.put(slot, USER_RW);
    const trace: WalkStep[] = [];
    expect(r.walk(UVA32, W, USER, trace)).toBe(true);
    expect(trace.map((s) => [s.levelName, s.descriptorPa])).toEqual([
      ['PD', r.h.userRoot + Number((UVA32 >> 20n) & 0xffcn)],
      ['PT', slot],
    ]);
    expect(r.out.perms).toBe(Perm.UR | Perm.UW | Perm.UX | Perm.KR | Perm.KW | Perm.KX);
  });

  it('B3: without CR4.PSE a PDE with PS = 1 still references a page table', () => {
    const r = rig({ mode: 'x86-32', pse: false });
    const table = r.h.frames.allocTable(1);
    r.put(r.slot(UVA32, 2), BigInt(table) | P | RW | US | PS);
    r.put(table + Number((UVA32 >> 12n) & 1023n) * 4, USER_RW);
    expect(r.walk(UVA32, R, USER)).toBe(true);
    expect([r.out.leafLevel, r.out.pfn]).toEqual([1, PA / 4096]);
  });

  it('B9: the memory type comes from IA32_PAT[PAT*4 + PCD*2 + PWT] (PAT at bit 12 in large pages)', () => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(KVA, 1), BigInt(PA) | P | A | PCD | PWT);
    expect(r.walk(KVA, R, KERNEL)).toBe(true);
    expect(r.out.memoryType).toBe(3); // UC: device
    r.put(r.slot(0xffff_8000_4000_0000n, 2), 0x4000_0000n | P | PS | A | PAT_LARGE | PCD | PWT);
    expect(r.walk(0xffff_8000_4000_0000n, R, KERNEL)).toBe(true);
    expect(r.out.memoryType).toBe(2); // PAT 7 = WT: normal-wt
  });

  it('global pages need CR4.PGE: without it G is ignored and the walk reports global false', () => {
    for (const pge of [true, false]) {
      const r = rig({ mode: 'x86-32', pge });
      r.put(r.slot(KVA32, 1), BigInt(PA) | P | A | G);
      expect(r.walk(KVA32, R, KERNEL)).toBe(true);
      expect(r.out.global).toBe(pge);
    }
  });
});

describe('#PF error codes produced by the walker (arch-facts B6)', () => {
  it('B6: user read of a not-present page → 0x4, write → 0x6, fetch with NXE → 0x14; kernel: 0x0, 0x2, 0x10', () => {
    const r = rig({ mode: 'x86_64' });
    const slot = r.slot(UVA, 1);
    const codes = (privilege: 0 | 1) =>
      ([R, W, X] as const).map((access) => {
        expect(r.walk(UVA, access, privilege)).toBe(false);
        expect([r.out.faultKind, r.out.faultLevel, r.out.descriptorPa]).toEqual([Fault.Translation, 1, slot]);
        return r.out.syndrome;
      });
    expect(codes(USER)).toEqual([0x4, 0x6, 0x14]);
    expect(codes(KERNEL)).toEqual([0x0, 0x2, 0x10]);
  });

  it('B6: user write to a read-only page → 0x7; user read of a supervisor page → 0x5', () => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(UVA, 1), BigInt(PA) | P | US | A | XD);
    expect(r.walk(UVA, W, USER)).toBe(false);
    expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([Fault.Permission, 1, 0x7]);
    r.put(r.slot(UVA + 0x1000n, 1), BigInt(PA) | P | RW | A);
    expect(r.walk(UVA + 0x1000n, R, USER)).toBe(false);
    expect(r.out.syndrome).toBe(0x5);
  });

  it('B6: user fetch from an NX page → 0x15; kernel fetch from an NX page → 0x11', () => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(UVA, 1), USER_RW | XD);
    expect(r.walk(UVA, X, USER)).toBe(false);
    expect(r.out.syndrome).toBe(0x15);
    expect(r.walk(UVA, X, KERNEL)).toBe(false);
    expect(r.out.syndrome).toBe(0x11);
  });

  it('B6: 32-bit paging has no I/D bit without SMEP: a user fetch of a missing page is 0x4, with SMEP 0x14', () => {
    for (const [smep, code] of [
      [false, 0x4],
      [true, 0x14],
    ] as const) {
      const r = rig({ mode: 'x86-32', smep });
      expect(r.walk(UVA32, X, USER)).toBe(false);
      expect([r.out.faultLevel, r.out.syndrome]).toEqual([2, code]);
    }
  });

  it('B6: PAE with NXE = 0 has no I/D bit either; with NXE it has', () => {
    expect(
      (() => {
        const r = rig({ mode: 'x86-pae', nxe: false });
        r.walk(UVA32, X, USER);
        return r.out.syndrome;
      })(),
    ).toBe(0x4);
    const r = rig({ mode: 'x86-pae' });
    r.walk(UVA32, X, USER);
    expect([r.out.faultLevel, r.out.syndrome]).toEqual([3, 0x14]);
  });

  it.each(MODES)('B6: $mode: a missing entry at every level faults at that level with P = 0', (o) => {
    const r = rig(o);
    const va = uva(o);
    const root = r.backend.geometry.rootLevel;
    for (let level = root; level >= 1; level--) {
      const rr = rig(o);
      const slot = rr.slot(va, level);
      expect(rr.walk(va, W, USER)).toBe(false);
      expect([rr.out.faultKind, rr.out.faultLevel, rr.out.syndrome, rr.out.descriptorPa]).toEqual([
        Fault.Translation,
        level,
        0x6,
        slot,
      ]);
      expect(rr.out.reads).toBe(root - level + 1);
    }
    expect(r.walk(va, R, USER)).toBe(false);
  });

  it('a fault after a success clears the translation fields of the reused WalkResult', () => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(UVA, 1), USER_RW);
    expect(r.walk(UVA, R, USER)).toBe(true);
    expect(r.walk(UVA + 0x1000n, R, USER)).toBe(false);
    expect([r.out.pfn, r.out.perms, r.out.leafLevel, r.out.dirty, r.out.global]).toEqual([
      0,
      0,
      0,
      false,
      false,
    ]);
    expect(r.walk(UVA, R, USER)).toBe(true);
    expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([0, 0, 0]);
  });
});

describe('reserved bits (arch-facts B4, D1)', () => {
  interface Case {
    readonly name: string;
    readonly options: X86Options;
    readonly va: bigint;
    readonly level: number;
    readonly value: (table: bigint) => bigint;
  }
  const page = BigInt(PA);
  const cases: Case[] = [
    {
      name: 'x86_64 PTE address bit 40 (MAXPHYADDR 40)',
      options: { mode: 'x86_64' },
      va: UVA,
      level: 1,
      value: () => page | (1n << 40n) | P,
    },
    {
      name: 'x86_64 PTE address bit 51',
      options: { mode: 'x86_64' },
      va: UVA,
      level: 1,
      value: () => page | (1n << 51n) | P,
    },
    {
      name: 'x86_64 PDE XD with NXE = 0',
      options: { mode: 'x86_64', nxe: false },
      va: UVA,
      level: 2,
      value: (t) => t | P | RW | US | XD,
    },
    {
      name: 'x86_64 PML4E PS',
      options: { mode: 'x86_64' },
      va: UVA,
      level: 4,
      value: (t) => t | P | RW | US | PS,
    },
    {
      name: 'x86_64-la57 PML5E PS',
      options: { mode: 'x86_64-la57' },
      va: UVA,
      level: 5,
      value: (t) => t | P | RW | US | PS,
    },
    {
      name: 'x86_64 2 MiB page bit 13',
      options: { mode: 'x86_64' },
      va: UVA,
      level: 2,
      value: () => 0x4000_0000n | (1n << 13n) | P | PS,
    },
    {
      name: 'x86_64 1 GiB page bit 29',
      options: { mode: 'x86_64' },
      va: UVA,
      level: 3,
      value: () => 0x4000_0000n | (1n << 29n) | P | PS,
    },
    {
      name: 'x86_64 PDPTE address bit above MAXPHYADDR 36',
      options: { mode: 'x86_64', maxPhysAddr: 36 },
      va: UVA,
      level: 3,
      value: (t) => t | (1n << 36n) | P | RW | US,
    },
    {
      name: 'PAE PDPTE bit 1 (R/W)',
      options: { mode: 'x86-pae' },
      va: UVA32,
      level: 3,
      value: (t) => t | P | RW,
    },
    {
      name: 'PAE PDPTE bit 5 (A)',
      options: { mode: 'x86-pae' },
      va: UVA32,
      level: 3,
      value: (t) => t | P | A,
    },
    {
      name: 'PAE PDPTE bit 63 (XD)',
      options: { mode: 'x86-pae' },
      va: UVA32,
      level: 3,
      value: (t) => t | P | XD,
    },
    {
      name: 'PAE PDE bit 52',
      options: { mode: 'x86-pae' },
      va: UVA32,
      level: 2,
      value: (t) => t | P | RW | US | (1n << 52n),
    },
    {
      name: 'PAE PTE bit 62',
      options: { mode: 'x86-pae' },
      va: UVA32,
      level: 1,
      value: () => page | P | (1n << 62n),
    },
    {
      name: 'PAE PTE XD with NXE = 0',
      options: { mode: 'x86-pae', nxe: false },
      va: UVA32,
      level: 1,
      value: () => page | P | XD,
    },
    {
      name: 'PAE 2 MiB page bit 20',
      options: { mode: 'x86-pae' },
      va: UVA32,
      level: 2,
      value: () => 0x4000_0000n | (1n << 20n) | P | PS,
    },
    {
      name: 'x86-32 4 MiB page bit 21',
      options: { mode: 'x86-32' },
      va: UVA32,
      level: 2,
      value: () => 0x0040_0000n | (1n << 21n) | P | PS,
    },
    {
      name: 'x86-32 4 MiB page PA bit 36 (bit 17) with MAXPHYADDR 36',
      options: { mode: 'x86-32' },
      va: UVA32,
      level: 2,
      value: () => 0x0040_0000n | (1n << 17n) | P | PS,
    },
    {
      name: 'x86-32 4 MiB page bit 13 without PSE-36',
      options: { mode: 'x86-32', pse36: false },
      va: UVA32,
      level: 2,
      value: () => 0x0040_0000n | (1n << 13n) | P | PS,
    },
  ];
  it.each(cases)('B4: $name → #PF with RSVD at that level (0x9 = P|RSVD for a kernel read, SDM)', (c) => {
    const r = rig(c.options);
    const slot = r.slot(c.va, c.level);
    const next = BigInt(r.h.frames.allocTable(c.level - 1));
    r.put(slot, c.value(next));
    expect(r.walk(c.va, R, KERNEL)).toBe(false);
    expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome, r.out.descriptorPa]).toEqual([
      Fault.ReservedBit,
      c.level,
      0x9,
      slot,
    ]);
    expect(r.walk(c.va, W, USER)).toBe(false);
    expect(r.out.syndrome).toBe(0xf);
  });

  it('D1: with rsvdSetsP false the error code is RSVD alone, as current QEMU reports (0x8)', () => {
    const r = rig({ mode: 'x86_64', rsvdSetsP: false });
    r.put(r.slot(UVA, 1), BigInt(PA) | (1n << 45n) | P);
    expect(r.walk(UVA, R, KERNEL)).toBe(false);
    expect([r.out.faultKind, r.out.syndrome]).toEqual([Fault.ReservedBit, 0x8]);
    expect(r.walk(UVA, X, USER)).toBe(false);
    expect(r.out.syndrome).toBe(0x1c);
  });

  it('B4: reserved bits count only in present entries; 32-bit PTEs and 4 KiB PDEs have none', () => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(UVA, 1), (1n << 45n) | PS); // not present: P = 0 wins
    expect(r.walk(UVA, R, KERNEL)).toBe(false);
    expect([r.out.faultKind, r.out.syndrome]).toEqual([Fault.Translation, 0]);
    const r32 = rig({ mode: 'x86-32' });
    r32.put(r32.slot(UVA32, 1), 0xffff_ffffn);
    expect(r32.walk(UVA32, R, USER)).toBe(true);
  });

  it('B4: the PAT bit (bit 12) of a large page is not reserved', () => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(UVA, 3), 0x4000_0000n | P | PS | PAT_LARGE);
    expect(r.walk(UVA, R, KERNEL)).toBe(true);
  });
});

describe('permissions across levels (arch-facts B5)', () => {
  it.each(MODES)(
    'B5: $mode: U/S = 0 in the top table removes user access below it (0x5 at the leaf level)',
    (o) => {
      const r = rig(o);
      const va = uva(o);
      const root = r.backend.geometry.rootLevel;
      const top = o.mode === 'x86-pae' ? 2 : root; // a PAE PDPTE has no U/S
      r.put(r.slot(va, 1, { [top]: P | RW }), USER_RW);
      expect(r.walk(va, R, USER)).toBe(false);
      expect([r.out.faultKind, r.out.faultLevel, r.out.syndrome]).toEqual([Fault.Permission, 1, 0x5]);
      expect(r.walk(va, W, KERNEL)).toBe(true);
      expect(r.out.perms & (Perm.UR | Perm.UW | Perm.UX)).toBe(0);
    },
  );

  it.each(MODES)(
    'B5: $mode: R/W = 0 in a table makes the page read-only for user and kernel (CR0.WP = 1)',
    (o) => {
      const r = rig(o);
      const va = uva(o);
      r.put(r.slot(va, 1, { 2: P | US }), USER_RW);
      expect(r.walk(va, W, USER)).toBe(false);
      expect(r.out.syndrome).toBe(0x7);
      expect(r.walk(va, W, KERNEL)).toBe(false);
      expect(r.out.syndrome).toBe(0x3);
      expect(r.walk(va, R, USER)).toBe(true);
    },
  );

  it('B5: XD in a table forbids fetches below it for user and kernel', () => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(UVA, 1, { 3: P | RW | US | XD }), USER_RW);
    expect(r.walk(UVA, R, USER)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.UW | Perm.KR | Perm.KW);
    expect(r.walk(UVA, X, USER)).toBe(false);
    expect(r.out.syndrome).toBe(0x15);
  });

  it('B5: the PAE PDPTE takes no part in permissions: a PDE/PTE pair alone decides', () => {
    const r = rig({ mode: 'x86-pae' });
    r.put(r.slot(UVA32, 1), USER_RW | XD);
    expect(r.walk(UVA32, W, USER)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.UW | Perm.KR | Perm.KW);
  });

  it('B5: every leaf permission pattern gives the documented perms (x86_64, open tables)', () => {
    const r = rig({ mode: 'x86_64' });
    const cases: [bigint, number][] = [
      [P | RW | US | D, Perm.UR | Perm.UW | Perm.UX | Perm.KR | Perm.KW | Perm.KX],
      [P | US | XD, Perm.UR | Perm.KR],
      [P | US, Perm.UR | Perm.UX | Perm.KR | Perm.KX],
      [P | RW | D, Perm.KR | Perm.KW | Perm.KX],
      [P | XD, Perm.KR],
    ];
    for (const [bits, perms] of cases) {
      r.put(r.slot(UVA, 1), BigInt(PA) | A | bits);
      expect(r.walk(UVA, R, KERNEL)).toBe(true);
      expect(r.out.perms).toBe(perms);
    }
  });

  it('B5: CR0.WP = 0 lets the kernel write read-only pages (user and supervisor); user writes still fault', () => {
    const r = rig({ mode: 'x86_64', wp: false });
    r.put(r.slot(UVA, 1), BigInt(PA) | P | US | A | D);
    r.put(r.slot(KVA, 1), BigInt(PA) | P | A | D);
    expect(r.walk(UVA, W, KERNEL)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.UX | Perm.KR | Perm.KW | Perm.KX);
    expect(r.walk(KVA, W, KERNEL)).toBe(true);
    expect(r.walk(UVA, W, USER)).toBe(false);
    expect(r.out.syndrome).toBe(0x7);
    r.mmu.wp = true;
    expect(r.walk(KVA, W, KERNEL)).toBe(false);
    expect(r.out.syndrome).toBe(0x3);
  });

  it('B5: SMEP forbids supervisor fetches from user pages (0x11), even in 32-bit paging; user fetches work', () => {
    for (const o of [
      { mode: 'x86_64', smep: true },
      { mode: 'x86-32', smep: true },
    ] as const) {
      const r = rig(o);
      const va = uva(o);
      r.put(r.slot(va, 1), USER_RW);
      r.put(r.slot(kva(o), 1), BigInt(PA) | P | A);
      expect(r.walk(va, X, KERNEL)).toBe(false);
      expect([r.out.faultKind, r.out.syndrome]).toEqual([Fault.Permission, 0x11]);
      expect(r.walk(va, X, USER)).toBe(true);
      expect(r.out.perms & Perm.KX).toBe(0);
      expect(r.walk(kva(o), X, KERNEL)).toBe(true);
    }
  });

  it('B5: SMAP forbids supervisor reads and writes of user pages unless EFLAGS.AC = 1; fetches are SMEP’s business', () => {
    const r = rig({ mode: 'x86_64', smap: true });
    r.put(r.slot(UVA, 1), USER_RW);
    expect(r.walk(UVA, R, KERNEL)).toBe(false);
    expect([r.out.faultKind, r.out.syndrome]).toEqual([Fault.Permission, 0x1]);
    expect(r.walk(UVA, W, KERNEL)).toBe(false);
    expect(r.out.syndrome).toBe(0x3);
    expect(r.walk(UVA, X, KERNEL)).toBe(true);
    expect(r.walk(UVA, R, USER)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.UW | Perm.UX | Perm.KX);
    r.mmu.acFlag = true; // STAC
    expect(r.walk(UVA, W, KERNEL)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.UW | Perm.UX | Perm.KR | Perm.KW | Perm.KX);
  });

  describe('protection keys (CR4.PKE, PKRU)', () => {
    const keyed = (pkru: number, wp = true) => {
      const r = rig({ mode: 'x86_64', pke: true, wp }, { pkru });
      r.put(r.slot(UVA, 1), USER_RW | pkey(3));
      r.put(r.slot(KVA, 1), BigInt(PA) | P | RW | A | D | pkey(3));
      return r;
    };
    it('B5: AD for the page’s key forbids data accesses to a user page, user and kernel (P|PK), not fetches', () => {
      const r = keyed(1 << 6); // AD3
      expect(r.walk(UVA, R, USER)).toBe(false);
      expect([r.out.faultKind, r.out.syndrome]).toEqual([Fault.Permission, 0x25]);
      expect(r.walk(UVA, W, KERNEL)).toBe(false);
      expect(r.out.syndrome).toBe(0x23);
      expect(r.walk(UVA, X, USER)).toBe(true);
      expect(r.out.perms).toBe(Perm.UX | Perm.KX);
      expect(r.walk(KVA, R, KERNEL)).toBe(true); // supervisor pages use PKRS (not modelled)
    });

    it('B5: WD forbids user writes, and supervisor writes only with CR0.WP = 1', () => {
      const r = keyed(2 << 6); // WD3
      expect(r.walk(UVA, W, USER)).toBe(false);
      expect(r.out.syndrome).toBe(0x27);
      expect(r.walk(UVA, W, KERNEL)).toBe(false);
      expect(r.out.syndrome).toBe(0x23);
      expect(r.walk(UVA, R, USER)).toBe(true);
      expect(r.out.perms).toBe(Perm.UR | Perm.UX | Perm.KR | Perm.KX);
      const noWp = keyed(2 << 6, false);
      expect(noWp.walk(UVA, W, KERNEL)).toBe(true);
    });

    it('B5: a user access to a supervisor page is a plain protection fault first; other keys are unaffected', () => {
      const r = keyed((0xffff_ffff & ~(3 << 6)) >>> 0); // every key but 3 disabled
      expect(r.walk(UVA, W, USER)).toBe(true);
      expect(r.walk(KVA, R, USER)).toBe(false);
      expect(r.out.syndrome).toBe(0x5);
      r.mmu.pkru = 1 << 6;
      expect(r.walk(UVA, R, USER)).toBe(false);
      expect(r.out.syndrome).toBe(0x25);
    });

    it('B5: without CR4.PKE the key bits and PKRU are ignored', () => {
      const r = rig({ mode: 'x86_64' }, { pkru: 0xffff_ffff });
      r.put(r.slot(UVA, 1), USER_RW | pkey(3));
      expect(r.walk(UVA, W, USER)).toBe(true);
      expect('PKRU' in r.mmu.registers()).toBe(false);
    });
  });
});

describe('accessed and dirty bits (arch-facts B7)', () => {
  it.each(MODES)('B7: $mode: A is set on every entry walked, D on the leaf only by a write', (o) => {
    const r = rig(o);
    const va = uva(o);
    r.put(r.slot(va, 1), BigInt(PA) | P | RW | US);
    const path = r.path(va);
    expect(r.walk(va, R, USER)).toBe(true);
    const after = path.map(r.get);
    const tables = after.slice(0, -1);
    const pdpteA = o.mode === 'x86-pae'; // the PAE PDPTE has no A bit (bit 5 is reserved)
    tables.forEach((v, i) => {
      expect((v & A) !== 0n, `table entry ${i}`).toBe(!(pdpteA && i === 0));
    });
    expect(after.at(-1)).toBe(BigInt(PA) | P | RW | US | A);
    expect([r.out.dirty, r.out.perms & (Perm.UW | Perm.KW)]).toEqual([false, 0]);
    expect(r.walk(va, W, USER)).toBe(true);
    expect(r.get(path.at(-1)!)).toBe(BigInt(PA) | P | RW | US | A | D);
    expect(r.out.dirty).toBe(true);
    expect(r.out.perms & Perm.UW).toBe(Perm.UW);
  });

  it('B7: a read of a clean writable page reports no write permission, so a TLB caches it read-only', () => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(UVA, 1), BigInt(PA) | P | RW | US | A | XD);
    expect(r.walk(UVA, R, USER)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.KR);
    expect(r.walk(UVA, W, USER)).toBe(true);
    expect(r.out.perms).toBe(Perm.UR | Perm.UW | Perm.KR | Perm.KW);
  });

  it('B7: table A bits are set as the walk descends, even when the access then faults at the leaf', () => {
    const r = rig({ mode: 'x86_64' });
    const slot = r.slot(UVA, 1);
    r.put(slot, BigInt(PA) | P | RW); // supervisor page: a user read faults
    const path = r.path(UVA);
    expect(r.walk(UVA, R, USER)).toBe(false);
    expect(path.slice(0, -1).map((pa) => (r.get(pa) & A) !== 0n)).toEqual([true, true, true]);
    expect(r.get(slot)).toBe(BigInt(PA) | P | RW); // the 4 KiB leaf stays untouched
  });

  it('B7: tables above a not-present entry get A; a reserved-bit PML4E does not (RSVD is checked first)', () => {
    const r = rig({ mode: 'x86_64' });
    const slot = r.slot(UVA, 2); // PD entry left empty
    const [pml4e, pdpte] = r.path(UVA);
    expect(r.walk(UVA, R, KERNEL)).toBe(false);
    expect(r.out.faultLevel).toBe(2);
    expect([(r.get(pml4e!) & A) !== 0n, (r.get(pdpte!) & A) !== 0n, r.get(slot)]).toEqual([true, true, 0n]);
    const bad = rig({ mode: 'x86_64' });
    const top = bad.slot(UVA, 4);
    bad.put(top, BigInt(bad.h.frames.allocTable(3)) | P | RW | US | PS);
    expect(bad.walk(UVA, R, KERNEL)).toBe(false);
    expect(bad.get(top) & A).toBe(0n);
  });

  it('B7 (QEMU): a 1 GiB page gets A before its permission check; a 2 MiB page does not', () => {
    const giant = rig({ mode: 'x86_64' });
    const g = giant.slot(UVA, 3);
    giant.put(g, 0x4000_0000n | P | RW | PS);
    expect(giant.walk(UVA, R, USER)).toBe(false);
    expect(giant.get(g)).toBe(0x4000_0000n | P | RW | PS | A);
    const big = rig({ mode: 'x86_64' });
    const b = big.slot(UVA, 2);
    big.put(b, 0x4000_0000n | P | RW | PS);
    expect(big.walk(UVA, R, USER)).toBe(false);
    expect(big.get(b)).toBe(0x4000_0000n | P | RW | PS);
  });

  it('B7 (QEMU): a 1 GiB page with reserved bits 29:13 also gets A before the RSVD fault', () => {
    const r = rig({ mode: 'x86_64' });
    const s = r.slot(UVA, 3);
    r.put(s, 0x4000_0000n | (1n << 20n) | P | PS);
    expect(r.walk(UVA, R, KERNEL)).toBe(false);
    expect(r.out.faultKind).toBe(Fault.ReservedBit);
    expect(r.get(s) & A).toBe(A);
  });

  it('B7: 4 MiB pages (x86-32) get A and D only after the checks pass', () => {
    const r = rig({ mode: 'x86-32' });
    const s = r.slot(UVA32, 2);
    r.put(s, 0x0040_0000n | P | PS); // supervisor, read-only
    expect(r.walk(UVA32, W, KERNEL)).toBe(false);
    expect(r.get(s)).toBe(0x0040_0000n | P | PS);
    expect(r.walk(UVA32, R, KERNEL)).toBe(true);
    expect(r.get(s)).toBe(0x0040_0000n | P | PS | A);
  });

  it('B7: probe() reports what the walk would and never writes', () => {
    for (const o of MODES) {
      const r = rig(o);
      const va = uva(o);
      r.put(r.slot(va, 1), BigInt(PA) | P | RW | US);
      const path = r.path(va);
      const before = path.map(r.get);
      expect(r.probe(va, W, USER)).toBe(true);
      expect(r.out.dirty).toBe(true);
      expect(path.map(r.get)).toEqual(before);
    }
  });
});

describe('CR3, PCIDs and the two roots', () => {
  const mem = () => new PhysicalMemory({ ram: [{ name: 'ram', start: 0, end: 0x100_0000 }] });

  it('setKernelRoot loads CR3 until a user root is loaded; setUserRoot (MOV CR3) carries the PCID', () => {
    const mmu = createX86Arch({ mode: 'x86_64' }).createMmu(mem());
    mmu.setKernelRoot(0x1000);
    expect([mmu.userRoot, mmu.kernelRoot, mmu.asid, mmu.registers().CR3]).toEqual([
      0x1000,
      0x1000,
      0,
      0x1000n,
    ]);
    mmu.setUserRoot(0x5000, 0x123);
    expect([mmu.userRoot, mmu.kernelRoot, mmu.asid, mmu.registers().CR3]).toEqual([
      0x5000,
      0x1000,
      0x123,
      0x5123n,
    ]);
    mmu.setKernelRoot(0x2000); // a process is loaded: CR3 keeps the user root
    expect([mmu.userRoot, mmu.kernelRoot]).toEqual([0x5000, 0x2000]);
  });

  it('walks use CR3 for both halves (one root): a kernel address is found through the user root', () => {
    const r = rig({ mode: 'x86_64' });
    r.put(r.slot(KVA, 1), BigInt(PA) | P | A);
    r.mmu.setKernelRoot(r.h.frames.allocTable(4)); // an empty root elsewhere
    expect(r.walk(KVA, R, KERNEL)).toBe(true);
  });

  it.each([
    ['x86-32 root not 4 KiB aligned', 'x86-32', 0x1800, 0, /x86-32 root table \(CR3\): 6144/],
    ['x86-32 root above 4 GiB', 'x86-32', 0x1_0000_0000, 0, /below 2\^32/],
    ['PAE PDPT not 32-byte aligned', 'x86-pae', 0x1010, 0, /32-byte-aligned/],
    ['PAE PDPT above 4 GiB', 'x86-pae', 0x1_0000_0000, 0, /below 2\^32/],
    ['IA-32e root above MAXPHYADDR', 'x86_64', 2 ** 40, 0, /below 2\^40/],
    ['PCID 4096', 'x86_64', 0x1000, 4096, /PCID: 4096/],
    ['a PCID without PCIDE', 'x86-pae', 0x1000, 1, /PCIDE = 0/],
  ] as const)('refuses %s', (_, mode, root, asid, message) => {
    const mmu = createX86Arch({ mode }).createMmu(mem());
    expect(() => mmu.setUserRoot(root, asid)).toThrow(message);
  });

  it('a PAE PDPT may sit anywhere 32-byte aligned inside a frame', () => {
    const r = rig({ mode: 'x86-pae' });
    const frame = r.h.frames.allocTable(3);
    const pdpt = frame + 0xfe0;
    const pd = r.h.frames.allocTable(2);
    const pt = r.h.frames.allocTable(1);
    r.put(pdpt, BigInt(pd) | P);
    r.put(pd + Number((UVA32 >> 21n) & 511n) * 8, BigInt(pt) | P | RW | US);
    r.put(pt + Number((UVA32 >> 12n) & 511n) * 8, USER_RW);
    r.mmu.setUserRoot(pdpt, 0);
    const trace: WalkStep[] = [];
    expect(r.walk(UVA32, R, USER, trace)).toBe(true);
    expect(trace[0]!.descriptorPa).toBe(pdpt);
  });
});

describe('the IA-32e fast path agrees with the general leaf check', () => {
  it('B5/B7: for random entries on every level, CR4.PKE with PKRU = 0 (general path) walks exactly like no PKE (fast path)', () => {
    // PKE with PKRU = 0 changes nothing architecturally, but sends user pages through leaf().
    const flags = fc.record({
      tables: fc.array(fc.constantFrom(P | RW | US, P | US, P | RW, P | RW | US | XD, P | US | XD), {
        minLength: 3,
        maxLength: 3,
      }),
      leafLevel: fc.constantFrom(1, 2, 3),
      leaf: fc.subarray([RW, US, A, D, G, PWT, PCD, XD]),
      wp: fc.boolean(),
      access: fc.constantFrom(R, W, X),
      privilege: fc.constantFrom(USER, KERNEL),
      probe: fc.boolean(),
    });
    fc.assert(
      fc.property(flags, (c) => {
        const results = [false, true].map((pke) => {
          const r = rig({ mode: 'x86_64', pke, wp: c.wp });
          const tableBits: Record<number, bigint> = { 4: c.tables[0]!, 3: c.tables[1]!, 2: c.tables[2]! };
          const slot = r.slot(UVA, c.leafLevel, tableBits);
          const pa = c.leafLevel === 1 ? BigInt(PA) : 0x4000_0000n;
          r.put(
            slot,
            c.leaf.reduce((v, b) => v | b, pa | P | (c.leafLevel > 1 ? PS : 0n)),
          );
          const ok = c.probe ? r.probe(UVA, c.access, c.privilege) : r.walk(UVA, c.access, c.privilege);
          const o = r.out;
          return JSON.stringify([
            ok,
            o.pfn,
            o.perms,
            o.syndrome,
            o.faultKind,
            o.dirty,
            o.global,
            o.memoryType,
            r.get(slot).toString(16),
          ]);
        });
        expect(results[1]).toBe(results[0]);
      }),
      { numRuns: 400, seed: 0x78_3836 },
    );
  });
});
