/** Kernel rows on x86-32 (pc), in a process of their own: see arch-kernel-rows.ts. Run with `pnpm bench x86-32`. */
import { createX86Arch } from '@mmkit/arch-x86';
import { createPcBoard } from '@mmkit/boards';
import type { BenchContext } from '../../../scripts/bench-api.js';
import { archKernelRows } from './arch-kernel-rows.js';

const MiB = 2 ** 20;

export default async function (bench: BenchContext): Promise<void> {
  await archKernelRows(bench, {
    name: 'x86-32',
    arch: () => createX86Arch({ mode: 'x86-32' }),
    machine: (ramBytes) => createPcBoard({ ramBytes, flavour: '32' }),
    bigBoard: [
      'pc 3 GiB (32-bit x86 cannot address 8 GiB)',
      () => createPcBoard({ ramBytes: 3072 * MiB, flavour: '32' }),
    ],
  });
}
