/**
 * The kernel on x86: the seed 003 32-bit layout (higher-half linear map at 0xC000_0000, low
 * identity map with the null page unmapped, recursive page-directory entry 1023), PCIDs and
 * CR3 loads on x86-64, and the translation-state export with CR0/CR3/CR4/EFER.
 */
import { createX86Arch, recursive4Level, recursive32 } from '@mmkit/arch-x86';
import { createPcBoard } from '@mmkit/boards';
import { isMmError, vpnOf, WalkResult } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { assertAudit } from './audit.js';
import { exportTranslationState } from './inspect.js';
import { bootKernel, type Kernel } from './kernel.js';

const MiB = 2 ** 20;

function pc32(opts: { recursiveSlot?: number; identityMapBytes?: number } = {}): Kernel {
  return bootKernel({
    arch: createX86Arch({ mode: 'x86-32' }),
    machine: createPcBoard({ ramBytes: 256 * MiB, flavour: '32' }),
    identityMapBytes: 4 * MiB,
    recursiveSlot: 1023,
    ...opts,
  });
}

/** Reads a 32-bit word at a kernel virtual address through a real kernel-privilege walk. */
function kernelRead32(k: Kernel, va: bigint): number {
  const r = new WalkResult();
  if (!k.cpus[0]!.mmu.walk(vpnOf(va), 0, 1, r)) throw new Error(`kernel walk of ${va.toString(16)} faulted`);
  return k.memory.read32(r.pfn * 4096 + Number(va & 0xfffn));
}

describe('seed 003 layout on 32-bit x86 (pc, 32-bit flavour)', () => {
  it('maps RAM in the higher half at 0xC000_0000 and identity-maps low memory without the null page', () => {
    const k = pc32();
    const r = new WalkResult();
    const mmu = k.cpus[0]!.mmu;
    expect(k.linearMapBase).toBe(0xc000_0000n);
    expect(mmu.walk(vpnOf(0xc010_0000n), 0, 1, r)).toBe(true); // kernel image, linked at 0xC010_0000
    expect(r.pfn).toBe(0x10_0000 / 4096);
    expect(mmu.walk(vpnOf(0x10_0000n), 0, 1, r)).toBe(true); // identity map
    expect(r.pfn).toBe(0x10_0000 / 4096);
    expect(mmu.walk(0, 0, 1, r)).toBe(false); // the null page is never mapped
    expect(r.syndrome).toBe(0x0); // #PF: kernel read, not present
    expect(mmu.walk(vpnOf(0x10_0000n), 0, 0, r)).toBe(false); // the identity map is kernel-only
    assertAudit(k);
  });

  it('PD index 1023 maps the page directory itself: the recursive formulas read the real PDE and PTE', () => {
    const k = pc32();
    const rec = recursive32({ slot: 1023 });
    expect(rec.pdVa).toBe(0xffff_f000n);
    const s = k.spawn({ text: new Uint8Array(4096) });
    if (!s.ok) throw new Error('spawn');
    const p = s.process;
    k.brk(p, k.layout.heapBase + 0x1000n);
    k.store(p, k.layout.heapBase, 4, 0x1234);
    k.cpus[0]!.switchTo(p);
    const va = k.layout.heapBase;
    const pte = k.lookup(p, va)!;
    expect(pte.level).toBe(1);
    // Through the recursive slot of this process's own root:
    expect(kernelRead32(k, rec.pteVa(va))).toBe(k.memory.read32(pte.descriptorPa));
    const pdeDpa = p.root + Number(va >> 22n) * 4;
    expect(kernelRead32(k, rec.pdeVa(va))).toBe(k.memory.read32(pdeDpa));
    expect(kernelRead32(k, rec.pdVa + 1023n * 4n) & ~0xfff).toBe(p.root);
    assertAudit(k);
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it('the linear map stops below the recursive slot; devices beyond the 1 GiB kernel half are listed as unmapped', () => {
    const k = pc32();
    expect(k.unmappedPhysical.some((u) => u.what.includes('ioapic'))).toBe(true);
    const r = new WalkResult();
    expect(k.cpus[0]!.mmu.walk(vpnOf(0xffc0_0000n), 0, 1, r)).toBe(true); // the recursive window itself
  });

  it('refuses a recursive slot in the user half, outside the root, or on PAE (PDPT format differs)', () => {
    const bad = (f: () => unknown, text: string) => {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isMmError(e) && e.code).toBe('E_INVALID_ARGUMENT');
        expect((e as Error).message).toContain(text);
      }
    };
    bad(() => pc32({ recursiveSlot: 5 }), 'kernel half');
    bad(() => pc32({ recursiveSlot: 1024 }), '0..1023');
    bad(
      () =>
        bootKernel({
          arch: createX86Arch({ mode: 'x86-pae' }),
          machine: createPcBoard({ ramBytes: 256 * MiB, flavour: '32' }),
          recursiveSlot: 3,
        }),
      'x86-pae',
    );
  });
});

describe('x86-64 specifics', () => {
  it('recursive PML4 slot 511 on 4-level paging: PTE of a user page readable at its recursive address', () => {
    const k = bootKernel({
      arch: createX86Arch({ mode: 'x86_64' }),
      machine: createPcBoard({ ramBytes: 256 * MiB }),
      recursiveSlot: 511,
    });
    const rec = recursive4Level(511);
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 0x1000n);
    k.store(p, k.layout.heapBase, 8, 5n);
    k.cpus[0]!.switchTo(p);
    const pte = k.lookup(p, k.layout.heapBase)!;
    expect(kernelRead32(k, rec.pteVa(k.layout.heapBase))).toBe(k.memory.read32(pte.descriptorPa));
    assertAudit(k);
  });

  it('processes get PCIDs; the export carries CR3 with the PCID, CR4.PCIDE/PGE, EFER.NXE/LME/LMA, CR0.PG/WP', () => {
    const k = bootKernel({
      arch: createX86Arch({ mode: 'x86_64' }),
      machine: createPcBoard({ ramBytes: 256 * MiB }),
    });
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 0x1000n);
    k.store(p, k.layout.heapBase, 8, 5n);
    expect(p.asid).toBeGreaterThan(0);
    const st = exportTranslationState(k, p);
    const cr3 = BigInt(st.registers.CR3!);
    expect(cr3 & 0xfffn).toBe(BigInt(p.asid));
    expect(cr3 & ~0xfffn).toBe(BigInt(p.root));
    const cr4 = BigInt(st.registers.CR4!);
    expect((cr4 >> 17n) & 1n).toBe(1n); // PCIDE
    expect((cr4 >> 7n) & 1n).toBe(1n); // PGE
    expect((cr4 >> 5n) & 1n).toBe(1n); // PAE
    const efer = BigInt(st.registers.EFER!);
    expect((efer >> 11n) & 1n).toBe(1n); // NXE
    expect((efer >> 10n) & 1n).toBe(1n); // LMA
    const cr0 = BigInt(st.registers.CR0!);
    expect((cr0 >> 31n) & 1n).toBe(1n); // PG
    expect((cr0 >> 16n) & 1n).toBe(1n); // WP
    expect(st.tables.filter((t) => t.owner === `pid ${p.pid}`).map((t) => t.level)).toEqual([
      'PML4',
      'PDPT',
      'PD',
      'PT',
    ]);
  });

  it('without PCIDs a switch between processes flushes non-global TLB entries (a CR3 load) but keeps global kernel ones', () => {
    const k = bootKernel({
      arch: createX86Arch({ mode: 'x86_64', pcid: false }),
      machine: createPcBoard({ ramBytes: 256 * MiB }),
    });
    const a = k.createProcess();
    const b = k.createProcess();
    expect(a.asid).toBe(0);
    k.brk(a, k.layout.heapBase + 0x1000n);
    k.store(a, k.layout.heapBase, 8, 1n);
    const cpu = k.cpus[0]!;
    const kernelVpn = vpnOf(k.linearMapBase + 0x10_0000n);
    const r = new WalkResult();
    cpu.mmu.walk(kernelVpn, 0, 1, r);
    cpu.tlb.fill(kernelVpn, 0, r.global, r.pfn, r.perms, r.memoryType, r.leafLevel, kernelVpn, 1);
    expect(cpu.tlb.peek(vpnOf(k.layout.heapBase))).toBeGreaterThanOrEqual(0);
    k.brk(b, k.layout.heapBase + 0x1000n);
    k.load(b, k.layout.heapBase, 8); // switches CR3 to b
    expect(cpu.tlb.lookup(vpnOf(k.layout.heapBase), 0)).toBeGreaterThanOrEqual(0); // b's own fresh entry
    expect(cpu.tlb.pfn[cpu.tlb.peek(vpnOf(k.layout.heapBase))]).not.toBe(
      k.lookup(a, k.layout.heapBase)!.entry.kind === 'leaf' ? 0 : 1,
    );
    expect(cpu.tlb.peek(kernelVpn)).toBeGreaterThanOrEqual(0); // global survived the CR3 load
    expect(k.load(a, k.layout.heapBase, 8)).toEqual({ ok: true, value: 1n });
    expect(k.load(b, k.layout.heapBase, 8)).toEqual({ ok: true, value: 0n });
  });
});
