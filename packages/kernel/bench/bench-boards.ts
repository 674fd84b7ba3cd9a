/**
 * What the kernel benchmarks share: the two boards they compare (AArch64 on virt, x86-64 on pc)
 * at a RAM size ({@link boardConfigs}); and for the fork/COW and teardown benchmarks (cow.bench.ts,
 * zap.bench.ts) the 2.5 GiB boards ({@link CONFIGS}: the parent's GiB, the child's copies, the
 * tables), the process with 1 GiB of private anonymous pages, every page written, and the run of a
 * native Linux peer that prints one JSON object.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createX86Arch } from '@mmkit/arch-x86';
import { createPcBoard, createVirtBoard } from '@mmkit/boards';
import type { ArchBackend } from '@mmkit/core';
import { NativePeer } from '../../../scripts/native-peer.js';
import type { Kernel } from '../src/kernel.js';
import type { MachineDescription } from '../src/machine.js';
import type { Process } from '../src/process.js';
import { MAP, PROT } from '../src/syscalls.js';

export const PAGE = 4096;
export const MiB = 2 ** 20;
export const RESIDENT_MIB = 1024;
export const BOARD_MIB = 2560;
export const PAGES = (RESIDENT_MIB * MiB) / PAGE; // 262 144

/** One benchmarked configuration. */
export interface Config {
  readonly name: string;
  readonly arch: () => ArchBackend;
  readonly machine: () => MachineDescription;
}

/** AArch64 on a virt board and x86-64 on a pc board, each with `ramMiB` MiB of RAM. */
export function boardConfigs(ramMiB: number): readonly Config[] {
  return [
    {
      name: 'aarch64',
      arch: () => createAarch64Arch(),
      machine: () => createVirtBoard({ ramBytes: ramMiB * MiB, pool: 'all-ram' }),
    },
    {
      name: 'x86_64',
      arch: () => createX86Arch({ mode: 'x86_64' }),
      machine: () => createPcBoard({ ramBytes: ramMiB * MiB }),
    },
  ];
}

/** The fork/COW and teardown benchmarks' boards: {@link BOARD_MIB} MiB each. */
export const CONFIGS: readonly Config[] = boardConfigs(BOARD_MIB);

/** A process with {@link PAGES} private anonymous pages, page i written with `value(i)` (resident and dirty). */
export function residentProcess(k: Kernel, value: (i: number) => number): { p: Process; va: number } {
  const p = k.createProcess();
  const r = k.mmap(p, 0, PAGES * PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!r.ok) throw new Error(`mmap failed: ${r.errno} (${r.detail})`);
  const va = Number(r.value);
  for (let i = 0; i < PAGES; i++) k.store(p, va + i * PAGE, 1, value(i));
  return { p, va };
}

/**
 * Compiles and runs the native peer `file` (next to this module, in native/) with
 * `[RESIDENT_MIB, repeats]`; undefined without a C compiler. `check` names what is wrong with
 * its output (undefined: fine); a peer that used another number of pages is an error too.
 */
export function runResidentPeer<T extends { readonly pages: number }>(
  file: string,
  tag: string,
  repeats: number,
  check: (r: T) => string | undefined,
): T | undefined {
  const peer = NativePeer.compile(new URL(`./native/${file}`, import.meta.url), tag);
  if (!peer) return undefined;
  try {
    const r = peer.run<T>([RESIDENT_MIB, repeats]);
    const bad = check(r);
    if (bad !== undefined) throw new Error(`${file} ${bad}: ${JSON.stringify(r)}`);
    if (r.pages !== PAGES) throw new Error(`${file} used ${r.pages} pages, expected ${PAGES}`);
    return r;
  } finally {
    peer.dispose();
  }
}
