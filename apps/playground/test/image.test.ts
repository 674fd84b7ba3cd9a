import type { TranslationState } from '@mmkit/kernel';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/worker/engine.js';
import { Host } from '../src/worker/host.js';
import { ImportedImage } from '../src/worker/image.js';

const CONFIGS = [
  ['virt', 'aarch64'],
  ['pc', 'x86_64'],
  ['pc', 'x86_64-la57'],
  ['pc', 'x86-pae'],
  ['pc', 'x86-32'],
] as const;

/** The tables of an export laid out as a raw memory image from the lowest table frame up (as `pmemsave` of that range would). */
function rawImage(state: TranslationState): { base: number; bytes: Uint8Array } {
  const pas = state.tables.map((t) => Number.parseInt(t.pa, 16));
  const base = Math.floor(Math.min(...pas) / 4096) * 4096;
  const end = Math.max(...pas.map((p) => Math.floor(p / 4096) * 4096 + 4096));
  const bytes = new Uint8Array(end - base);
  for (const t of state.tables) bytes.set(Buffer.from(t.bytes, 'hex'), Number.parseInt(t.pa, 16) - base);
  return { base, bytes };
}

function demoAt(board: string, arch: string, n: number): Engine {
  const e = new Engine({ example: 'demo', board, arch });
  e.runTo(n);
  return e;
}

/** The register fields a person would type for an export's registers (only the ones the form has). */
function fields(state: TranslationState): Record<string, string> {
  const names = ['TTBR0_EL1', 'TTBR1_EL1', 'TCR_EL1', 'MAIR_EL1', 'SCTLR_EL1', 'CR0', 'CR3', 'CR4', 'EFER'];
  return Object.fromEntries(names.filter((n) => n in state.registers).map((n) => [n, state.registers[n]!]));
}

describe('import of a raw memory image with its registers', () => {
  it('picks the paging format from the registers and walks every VA to the live kernel’s PA or fault, on all five formats', async () => {
    for (const [board, arch] of CONFIGS) {
      const e = demoAt(board, arch, 5);
      const state = e.exportState(1);
      const { base, bytes } = rawImage(state);
      const img = await ImportedImage.load({
        name: 'ram.bin',
        bytes,
        base: `0x${base.toString(16)}`,
        registers: fields(state),
      });
      expect(img.view.arch, `${board} ${arch}`).toBe(arch);
      expect(img.view.machine).toBe(`image ram.bin @ 0x${base.toString(16)}`);
      // Every table of the process was reached from the roots, every table reached is one of the
      // export's (the kernel's own root is not reachable from the process's roots), none outside the image.
      const reached = new Set(img.view.tables.map((t) => t.pa));
      const exported = state.tables.map((t) => ({ ...t, pa: t.pa.toLowerCase() }));
      for (const t of exported.filter((x) => x.owner === 'pid 1')) expect(reached.has(t.pa), t.pa).toBe(true);
      for (const pa of reached) expect(exported.some((t) => t.pa === pa)).toBe(true);
      expect(img.view.notes?.some((n) => n.includes('outside the image'))).toBe(false);
      for (const va of ['heap', 'stackTop-8', 'text', 'wild']) {
        for (const access of [0, 1, 2] as const) {
          const live = e.walk(1, va, access, 0);
          const got = img.walk(live.va, access, 0);
          expect(got.levels, `${arch} ${va} ${access}`).toEqual(live.levels);
          expect({ ok: got.ok, pa: got.pa, perms: got.perms, syndrome: got.fault?.syndrome }).toEqual({
            ok: live.ok,
            pa: live.pa,
            perms: live.perms,
            syndrome: live.fault?.syndrome,
          });
        }
      }
      // Browsing: the root's entries decode as the walk's first descriptor.
      const live = e.walk(1, 'heap', 0, 0);
      const first = live.levels[0]!;
      const root = img.view.tables.find((t) => t.pa === first.tablePa)!;
      expect(root.owner).toMatch(/^(TTBR0_EL1|CR3)$/);
      expect(img.table(root.pa).find((x) => x.index === first.index)).toMatchObject({
        raw: first.raw,
        fields: first.fields,
      });
    }
  });

  it('reads an image whose page tables lie partly outside it, and says which', async () => {
    const state = demoAt('virt', 'aarch64', 5).exportState(1);
    const { base, bytes } = rawImage(state);
    // Only the first frame (the lowest table): every table it points to is outside.
    const img = await ImportedImage.load({
      name: 'head.bin',
      bytes: bytes.subarray(0, 4096),
      base: `0x${base.toString(16)}`,
      registers: fields(state),
    });
    expect(img.view.notes?.some((n) => /table at 0x[0-9a-f]+ \(from .*\) is outside the image/.test(n))).toBe(
      true,
    );
  });

  it('refuses bad fields with a message naming the field, the value and what was expected', async () => {
    const state = demoAt('pc', 'x86_64', 2).exportState(1);
    const { base, bytes } = rawImage(state);
    const load = (over: {
      base?: string;
      registers?: Record<string, string>;
      bytes?: Uint8Array;
      name?: string;
    }) =>
      ImportedImage.load({
        name: over.name ?? 'ram.bin',
        bytes: over.bytes ?? bytes,
        base: over.base ?? `0x${base.toString(16)}`,
        registers: over.registers ?? fields(state),
      });
    await expect(load({ registers: { ...fields(state), CR3: '0xzz' } })).rejects.toThrow(
      'CR3 "0xzz" is not a number; expected hex (0x…), binary (0b…) or decimal digits',
    );
    await expect(load({ base: '0x1001' })).rejects.toThrow(
      'image ram.bin @ 0x1001: base 0x1001 is not 4 KiB aligned; expected a page-aligned physical address',
    );
    await expect(load({ base: '' })).rejects.toThrow(/^base address is empty; expected/);
    await expect(load({ base: 'forty' })).rejects.toThrow('base address "forty" is not a number');
    await expect(load({ registers: {} })).rejects.toThrow(/no root registers; expected TTBR0_EL1/);
    await expect(load({ registers: { CR3: '0x1000', CR0: '0x11' } })).rejects.toThrow(
      /CR0 0x00000011 has PG = 0: paging is off/,
    );
    await expect(load({ registers: { TTBR0_EL1: '0x1000' } })).rejects.toThrow(/TCR_EL1 is missing/);
    await expect(load({ registers: { TTBR0_EL1: '0x1000', CR3: '0x1000' } })).rejects.toThrow(
      /registers of two architectures/,
    );
    await expect(load({ bytes: new Uint8Array(0) })).rejects.toThrow('ram.bin: the file is empty');
    await expect(load({ name: '', bytes: new Uint8Array(0) })).rejects.toThrow(/^no image file chosen/);
    await expect(load({ registers: { XYZ: '1' } })).rejects.toThrow('register "XYZ" is not known');
  });

  it('goes through the worker host; a failed image import keeps the previous import', async () => {
    const h = new Host();
    h.handle({ type: 'open', ref: { example: 'demo', board: 'pc', arch: 'x86-pae' }, position: 4 });
    const state = JSON.parse(h.handle({ type: 'export', pid: 1 })) as TranslationState;
    const { base, bytes } = rawImage(state);
    const view = await h.answer({
      type: 'importImage',
      name: 'pae.bin',
      bytes,
      base: `0x${base.toString(16)}`,
      registers: fields(state),
    });
    expect(view.arch).toBe('x86-pae');
    const live = h.handle({ type: 'walk', pid: 1, va: 'heap', access: 1, privilege: 0 });
    await expect(
      h.answer({ type: 'importImage', name: 'x.bin', bytes, base: '0x3', registers: fields(state) }),
    ).rejects.toThrow(/not 4 KiB aligned/);
    expect((await h.answer({ type: 'walkImported', va: live.va, access: 1, privilege: 0 })).pa).toBe(live.pa);
  });
});
