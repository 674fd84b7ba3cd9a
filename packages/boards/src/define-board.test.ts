import { KNOWN_ARCH_IDS } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { createBoard } from './create-board.js';
import { defineBoard } from './define-board.js';
import { allRamPlan } from './pool-plan.js';
import type { BoardArch } from './types.js';

describe('board arch ids are open (contract v2)', () => {
  it('a board may list a backend id no package knows yet, without any union change', () => {
    const ram = [{ name: 'ram', start: 0x8000_0000, end: 0x8010_0000 }];
    const archs: [BoardArch, ...BoardArch[]] = ['riscv64-sv48', 'riscv64-sv39'];
    const board = defineBoard({
      id: 'virt',
      name: 'a RISC-V shaped test board',
      ram,
      mmio: [{ name: 'uart0', start: 0x1000_0000, end: 0x1000_1000 }],
      consoleWindow: 'uart0',
      kernelImage: { start: 0x8000_0000, end: 0x8002_0000 },
      pool: allRamPlan(ram, [], []),
      archs,
    });
    expect(board.defaultArch).toBe('riscv64-sv48');
    expect(board.archs).toEqual(['riscv64-sv48', 'riscv64-sv39']);
  });

  it('every shipped board lists only the shipped backend ids (KNOWN_ARCH_IDS)', () => {
    for (const board of [
      createBoard('virt'),
      createBoard('rpi4b'),
      createBoard('pc'),
      createBoard('pc', { flavour: '32' }),
    ]) {
      expect(board.archs.length).toBeGreaterThan(0);
      for (const arch of board.archs) expect(KNOWN_ARCH_IDS).toContain(arch);
    }
  });
});
