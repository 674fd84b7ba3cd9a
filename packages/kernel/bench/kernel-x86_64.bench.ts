/** Kernel rows on x86_64 (pc), in a process of their own: see arch-kernel-rows.ts. Run with `pnpm bench x86_64`. */
import { createX86Arch } from '@mmkit/arch-x86';
import { createPcBoard } from '@mmkit/boards';
import type { BenchContext } from '../../../scripts/bench-api.js';
import { archKernelRows } from './arch-kernel-rows.js';

const MiB = 2 ** 20;

export default async function (bench: BenchContext): Promise<void> {
  await archKernelRows(bench, {
    name: 'x86_64',
    arch: () => createX86Arch({ mode: 'x86_64' }),
    machine: (ramBytes) => createPcBoard({ ramBytes }),
    bigBoard: ['pc 8 GiB', () => createPcBoard({ ramBytes: 8192 * MiB })],
  });
}
