import { PhysicalMemory, WalkResult } from '@mmkit/core';
import { exportTranslationState } from '@mmkit/kernel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backendFor,
  bytesReader,
  elfCoreSource,
  inRegions,
  loadRegime,
  loadTables,
  mergeRegions,
  PageTableSourceError,
  parseRegisterList,
  parseRegisterValue,
  rawImageSource,
  registerName,
  start,
} from './index.js';

/** A kernel after the demo's first five steps, its pid 1 exported, and the tables as a raw image. */
function imageOf(board: 'virt' | 'pc', arch: string) {
  const s = start(
    {
      board,
      arch: arch as 'aarch64',
      steps: [
        { op: 'spawn', as: 'app' },
        { op: 'brk', process: 'app', to: 'heap+0x3000' },
        { op: 'write', process: 'app', addr: 'heap+0x2000', value: 7 },
      ],
    },
    {},
  );
  while (s.step());
  const p = s.processes.get('app')!;
  const state = exportTranslationState(s.kernel, p);
  const pas = state.tables.map((t) => Number.parseInt(t.pa, 16));
  const base = Math.floor(Math.min(...pas) / 4096) * 4096;
  const bytes = new Uint8Array(Math.max(...pas.map((x) => Math.floor(x / 4096) * 4096 + 4096)) - base);
  for (const t of state.tables) {
    const b = Uint8Array.from(t.bytes.match(/../g)!.map((h) => Number.parseInt(h, 16)));
    bytes.set(b, Number.parseInt(t.pa, 16) - base);
  }
  const registers = Object.fromEntries(
    Object.entries(state.registers).flatMap(([k, v]) =>
      registerName(k) ? [[registerName(k)!, BigInt(v)]] : [],
    ),
  );
  const heap = s.symbols.get('heap')! + 0x2000n;
  const live = new WalkResult();
  const mmu = s.arch.createMmu(s.kernel.memory);
  mmu.setKernelRoot(s.kernel.kernelRoot);
  mmu.setUserRoot(p.root, p.asid);
  mmu.probe(Number(heap >> 12n), 1, 0, live);
  return { base, bytes, registers, heapVpn: Number(heap >> 12n), livePfn: live.pfn, state };
}

describe('page-table sources over bytes', () => {
  it('a raw image with its registers selects the paging format and walks to the live kernel’s frame, on all five formats', async () => {
    for (const [board, arch] of [
      ['virt', 'aarch64'],
      ['pc', 'x86_64'],
      ['pc', 'x86_64-la57'],
      ['pc', 'x86-pae'],
      ['pc', 'x86-32'],
    ] as const) {
      const img = imageOf(board, arch);
      const src = rawImageSource('image t.bin', bytesReader(img.bytes), img.base, img.registers);
      expect(src.regions).toEqual([{ start: img.base, end: img.base + img.bytes.length }]);
      const state = await loadTables(src);
      expect(state.backend.description.id).toBe(arch);
      expect(state.unreadable).toEqual([]);
      const out = new WalkResult();
      expect(state.mmu.probe(img.heapVpn, 1, 0, out), arch).toBe(true);
      expect(out.pfn).toBe(img.livePfn);
      await src.close();
    }
  });

  it('reads a frame past the end of the image as zero and a frame outside it as absent', async () => {
    const src = rawImageSource('image t.bin', bytesReader(new Uint8Array([1, 2, 3])), 0x4000_0000, {});
    const f = (await src.readFrame(0x4_0000))!;
    expect([f[0], f[2], f[3], f.length]).toEqual([1, 3, 0, 4096]);
    expect(await src.readFrame(0x4_0001)).toBeUndefined();
  });

  it('an ELF core over bytes: PT_LOAD segments are RAM, the x86 QEMU note gives CR0/CR3/CR4', async () => {
    const img = imageOf('pc', 'x86_64');
    // ELF64 ET_CORE, EM_X86_64: one PT_NOTE (a QEMU note) and one PT_LOAD with the image.
    const note = new Uint8Array(12 + 8 + 440);
    const nv = new DataView(note.buffer);
    nv.setUint32(0, 5, true);
    nv.setUint32(4, 440, true);
    note.set([0x51, 0x45, 0x4d, 0x55, 0], 12); // "QEMU\0"
    nv.setBigUint64(20 + 392, img.registers.CR0!, true);
    nv.setBigUint64(20 + 416, img.registers.CR3!, true);
    nv.setBigUint64(20 + 424, img.registers.CR4!, true);
    const phoff = 64;
    const noteOff = phoff + 2 * 56;
    const loadOff = Math.ceil((noteOff + note.length) / 4096) * 4096;
    const elf = new Uint8Array(loadOff + img.bytes.length);
    const v = new DataView(elf.buffer);
    elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    v.setUint16(16, 4, true);
    v.setUint16(18, 62, true);
    v.setBigUint64(32, BigInt(phoff), true);
    v.setUint16(54, 56, true);
    v.setUint16(56, 2, true);
    v.setUint32(phoff, 4, true);
    v.setBigUint64(phoff + 8, BigInt(noteOff), true);
    v.setBigUint64(phoff + 32, BigInt(note.length), true);
    v.setUint32(phoff + 56, 1, true);
    v.setBigUint64(phoff + 56 + 8, BigInt(loadOff), true);
    v.setBigUint64(phoff + 56 + 24, BigInt(img.base), true);
    v.setBigUint64(phoff + 56 + 32, BigInt(img.bytes.length), true);
    v.setBigUint64(phoff + 56 + 40, BigInt(img.bytes.length), true);
    elf.set(note, noteOff);
    elf.set(img.bytes, loadOff);
    const src = elfCoreSource('core t.elf', bytesReader(elf), {});
    expect(src.registers.CR3).toBe(img.registers.CR3);
    expect(src.registers.EFER).toBe(0xd00n);
    const state = await loadTables(src);
    const out = new WalkResult();
    expect(state.mmu.probe(img.heapVpn, 1, 0, out)).toBe(true);
    expect(out.pfn).toBe(img.livePfn);
    // Truncated: the PT_LOAD runs past the end; the reader is closed, the error names the segment.
    let closed = false;
    const short = {
      ...bytesReader(elf.subarray(0, loadOff + 10)),
      close: () => {
        closed = true;
      },
    };
    expect(() => elfCoreSource('core t.elf', short, {})).toThrow(/core t\.elf: segment 1 .* is truncated/);
    expect(closed).toBe(true);
    expect(() => elfCoreSource('core x', bytesReader(new Uint8Array(64)), {})).toThrow(
      'core x: not an ELF file; expected a core from QEMU dump-guest-memory',
    );
  });

  it('refuses bad input with a PageTableSourceError naming the value', async () => {
    let closed = 0;
    const reader = {
      ...bytesReader(new Uint8Array(8192)),
      close: () => {
        closed++;
      },
    };
    expect(() => rawImageSource('image a', reader, 0x1001, {})).toThrow(
      'image a: base 0x1001 is not 4 KiB aligned; expected a page-aligned physical address',
    );
    expect(() => rawImageSource('image a', { ...reader, size: 0 }, 0, {})).toThrow(
      'image a: the file is empty',
    );
    expect(closed).toBe(2);
    expect(() => parseRegisterValue('0x1g', 'CR3')).toThrow(
      'CR3 "0x1g" is not a number; expected hex (0x…), binary (0b…) or decimal digits, with optional _ between digits',
    );
    expect(() => parseRegisterValue('0x1_0000_0000_0000_0000', 'CR3')).toThrow('does not fit in 64 bits');
    expect(parseRegisterList('ttbr0=0x1000, TCR=0b1,CR4=32', '--regs')).toEqual({
      TTBR0_EL1: 0x1000n,
      TCR_EL1: 1n,
      CR4: 32n,
    });
    expect(() => parseRegisterList('CR3=1,cr3=2', '--regs')).toThrow('--regs: register CR3 is given twice');
    expect(() => parseRegisterList('X=1', '--regs')).toThrow(/"X=1" is not a register assignment/);
    const src = rawImageSource('image b', bytesReader(new Uint8Array(4096)), 0, { CR3: 0n, CR0: 1n });
    await expect(loadTables(src)).rejects.toThrow(PageTableSourceError);
    await expect(
      loadTables(
        rawImageSource('image c', bytesReader(new Uint8Array(4096)), 0, { TTBR0_EL1: 0n, TCR_EL1: 0n }),
      ),
    ).rejects.toThrow(
      /image c: TCR_EL1 0x0000000000000000 selects T0SZ=0 T1SZ=0 TG0=0 TG1=0; expected T0SZ=T1SZ=16/,
    );
  });

  it('merges regions and finds frames in them', () => {
    const r = mergeRegions([
      { start: 0x3000, end: 0x4000 },
      { start: 0x1000, end: 0x2000 },
      { start: 0x2000, end: 0x3000 },
      { start: 0x9000, end: 0x9000 },
    ]);
    expect(r).toEqual([{ start: 0x1000, end: 0x4000 }]);
    expect([0, 1, 3, 4].map((pfn) => inRegions(r, pfn))).toEqual([false, true, true, false]);
  });
});

describe('regime controls: PSTATE.PAN, EFLAGS.AC, the kernel split (fuzzed)', () => {
  it('any kernel split on any x86 register set: the backend with that split, or one PageTableSourceError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(
            0x4000_0000,
            0x8000_0000,
            0xc000_0000,
            0xb000_0000,
            0x7800_0000,
            0,
            -1,
            2 ** 32,
            0.5,
          ),
          fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
          fc.double(),
        ),
        fc.constantFrom(0n, 0x20n, 0x10n, 0x30n, 0x1020n),
        fc.constantFrom(undefined, 0n, 0x500n, 0xd00n),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (split, cr4, efer, eflags) => {
          const regs = {
            CR3: 0x1000n,
            CR4: cr4,
            EFLAGS: eflags,
            ...(efer === undefined ? {} : { EFER: efer }),
          };
          let backend: ReturnType<typeof backendFor>['backend'] | undefined;
          try {
            backend = backendFor('fuzz', regs, { kernelSplit: split }).backend;
          } catch (e) {
            expect(e).toBeInstanceOf(PageTableSourceError);
            expect((e as Error).message).toMatch(/^fuzz: [^\n]+$/);
            return;
          }
          const d = backend.description;
          expect(d.signExtended).toBe(false);
          expect(d.kernelRange.start).toBe(BigInt(split));
          const legacy = d.id === 'x86-32';
          expect(Number.isInteger(split) && split > 0 && split < 2 ** 32).toBe(true);
          expect(split % (legacy ? 0x40_0000 : 0x4000_0000)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('PSTATE bit 22 is PAN and EFLAGS bit 18 is AC, whatever the other bits', () => {
    const memory = new PhysicalMemory({ ram: [{ name: 'ram', start: 0, end: 0x10_0000 }] });
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        const arm = loadRegime(
          'a',
          { TTBR0_EL1: 0x1000n, TTBR1_EL1: 0x2000n, TCR_EL1: 0x8010_0010n, PSTATE: v },
          memory,
        );
        expect((arm.mmu as unknown as { pan: boolean }).pan).toBe(((v >> 22n) & 1n) === 1n);
        const x86 = loadRegime('x', { CR3: 0x1000n, CR4: 0x20_0000n, EFLAGS: v }, memory);
        expect((x86.mmu as unknown as { acFlag: boolean }).acFlag).toBe(((v >> 18n) & 1n) === 1n);
      }),
      { numRuns: 200 },
    );
  });
});
