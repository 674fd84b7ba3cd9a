/**
 * Fixed translation states for the tests of `walk`, `dump` and `diff` (not part of the CLI's
 * behaviour): the kernel booted on a board with each paging format, one process with text,
 * a heap touched on demand, a stack page and an mmap'd buffer split by mprotect (state `a`),
 * then the buffer's first page unmapped and its last page made read-only, and the heap's
 * untouched page written (state `b`). Deterministic: the same exports every time.
 */
import { createBoard, pcFlavourForArch } from '@mmkit/boards';
import {
  bootKernel,
  exportTranslationState,
  type Kernel,
  MAP,
  PROT,
  type Process,
  type TranslationState,
} from '@mmkit/kernel';
import { type ArchId, createBackend } from '../arch-registry.js';

/** The five configurations: board and paging format. */
export const CONFIGS = [
  { name: 'aarch64-virt', board: 'virt', arch: 'aarch64' },
  { name: 'x86-32-pc', board: 'pc', arch: 'x86-32' },
  { name: 'x86-pae-pc', board: 'pc', arch: 'x86-pae' },
  { name: 'x86_64-pc', board: 'pc', arch: 'x86_64' },
  { name: 'x86_64-la57-pc', board: 'pc', arch: 'x86_64-la57' },
] as const satisfies readonly { name: string; board: string; arch: ArchId }[];

/** A configuration's name. */
export type ConfigName = (typeof CONFIGS)[number]['name'];

/** The states of one configuration and the addresses the tests walk. */
export interface TestStates {
  readonly kernel: Kernel;
  readonly proc: Process;
  readonly a: TranslationState;
  readonly b: TranslationState;
  /** The text page, a heap page, the buffer's read-only middle page, an unmapped address. */
  readonly text: bigint;
  readonly heap: bigint;
  readonly buffer: bigint;
  readonly kernelVa: bigint;
}

/** Builds the states of `config`. */
export function buildStates(config: (typeof CONFIGS)[number]): TestStates {
  const flavour = config.board === 'pc' ? pcFlavourForArch(config.arch) : undefined;
  const board = createBoard(config.board, {
    ramBytes: 32 * 2 ** 20,
    ...(flavour ? { flavour } : {}),
  } as never);
  const kernel = bootKernel({ arch: createBackend(config.arch), machine: board, cpus: 1 });
  const spawned = kernel.spawn({ text: new Uint8Array([0x40, 0x05, 0x80, 0xd2, 0xc0, 0x03, 0x5f, 0xd6]) });
  if (!spawned.ok) throw new Error('spawn failed');
  const proc = spawned.process;
  const L = kernel.layout;
  kernel.brk(proc, L.heapBase + 0x3000n);
  kernel.store(proc, L.heapBase, 8, 0x1234n);
  kernel.store(proc, L.heapBase + 0x1000n, 8, 0x5678n);
  kernel.store(proc, L.stackTop - 0x10n, 8, 7n);
  const m = kernel.mmap(proc, 0, 3 * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, {
    name: 'buf',
  });
  if (!m.ok) throw new Error('mmap failed');
  const buf = m.value;
  for (let i = 0n; i < 3n; i++) kernel.store(proc, buf + i * 4096n, 8, i + 1n);
  kernel.mprotect(proc, buf + 4096n, 4096, PROT.READ);
  const a = exportTranslationState(kernel, proc);
  kernel.munmap(proc, buf, 4096);
  kernel.mprotect(proc, buf + 0x2000n, 4096, PROT.READ);
  kernel.store(proc, L.heapBase + 0x2000n, 8, 9n);
  const b = exportTranslationState(kernel, proc);
  return {
    kernel,
    proc,
    a,
    b,
    text: L.textBase,
    heap: L.heapBase,
    buffer: buf + 4096n,
    kernelVa: kernel.linearMapBase,
  };
}

/** What `runCli` printed and returned. */
export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs mmkit in-process with captured, non-TTY streams (no colour). */
export async function mmkit(argv: readonly string[]): Promise<Captured> {
  const { runCli } = await import('../run-cli.js');
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  });
  return { code, stdout, stderr };
}

/** The registers of an export as a `--regs` list. */
export function regsArg(state: TranslationState): string {
  return Object.entries(state.registers)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** The tables of an export laid out as a raw memory image from the lowest table frame up. */
export function rawImageOf(state: TranslationState): { base: number; bytes: Uint8Array } {
  const pas = state.tables.map((t) => Number.parseInt(t.pa, 16));
  const base = Math.floor(Math.min(...pas) / 4096) * 4096;
  const end = Math.max(...pas.map((p) => Math.floor(p / 4096) * 4096 + 4096));
  const bytes = new Uint8Array(end - base);
  for (const t of state.tables) bytes.set(Buffer.from(t.bytes, 'hex'), Number.parseInt(t.pa, 16) - base);
  return { base, bytes };
}

/**
 * The tables of an export as an ELF core the way QEMU `dump-guest-memory` writes one: ELF64, or
 * ELF32 (`elf32`, what QEMU writes for an x86 guest without EFER.LMA), one PT_LOAD per table frame
 * at its physical address (`p_paddr`), and for x86 a PT_NOTE with a `QEMU` note (QEMUCPUState:
 * CR0 at 392, CR3 at 416, CR4 at 424) when `note` is set.
 */
export function elfCoreOf(state: TranslationState, note: boolean, elf32 = false): Uint8Array {
  const frames = [...new Set(state.tables.map((t) => Math.floor(Number.parseInt(t.pa, 16) / 4096)))].sort(
    (a, b) => a - b,
  );
  const x86 = state.arch !== 'aarch64';
  const noteDesc = new Uint8Array(440);
  const nd = new DataView(noteDesc.buffer);
  nd.setUint32(0, 1, true);
  nd.setUint32(4, 440, true);
  const reg = (n: string) => BigInt(state.registers[n] ?? '0');
  nd.setBigUint64(392, reg('CR0'), true);
  nd.setBigUint64(416, reg('CR3'), true);
  nd.setBigUint64(424, reg('CR4'), true);
  const noteBytes = note ? 12 + 8 + noteDesc.length : 0;
  const phnum = frames.length + (note ? 1 : 0);
  const ehsize = elf32 ? 52 : 64;
  const phentsize = elf32 ? 32 : 56;
  const dataStart = ehsize + phnum * phentsize;
  const out = new Uint8Array(dataStart + noteBytes + frames.length * 4096);
  const v = new DataView(out.buffer);
  const word = (off: number, value: number) => {
    if (elf32) v.setUint32(off, value, true);
    else v.setBigUint64(off, BigInt(value), true);
  };
  out.set([0x7f, 0x45, 0x4c, 0x46, elf32 ? 1 : 2, 1, 1], 0);
  v.setUint16(16, 4, true); // ET_CORE
  const is64 = state.arch === 'x86_64' || state.arch === 'x86_64-la57';
  v.setUint16(18, x86 ? (is64 ? 62 : 3) : 183, true);
  v.setUint32(20, 1, true);
  word(elf32 ? 28 : 32, ehsize); // e_phoff
  v.setUint16(elf32 ? 40 : 52, ehsize, true);
  v.setUint16(elf32 ? 42 : 54, phentsize, true);
  v.setUint16(elf32 ? 44 : 56, phnum, true);
  // Program header fields: ELF32 p_offset 4, p_paddr 12, p_filesz 16, p_memsz 20; ELF64 8, 24, 32, 40.
  const ph = (at: number, type: number, offset: number, paddr: number, size: number) => {
    v.setUint32(at, type, true);
    word(at + (elf32 ? 4 : 8), offset);
    word(at + (elf32 ? 12 : 24), paddr);
    word(at + (elf32 ? 16 : 32), size);
    word(at + (elf32 ? 20 : 40), size);
  };
  let at = ehsize;
  let off = dataStart;
  if (note) {
    ph(at, 4, off, 0, noteBytes);
    v.setUint32(off, 5, true);
    v.setUint32(off + 4, noteDesc.length, true);
    v.setUint32(off + 8, 0, true);
    out.set(Buffer.from('QEMU\0', 'latin1'), off + 12);
    out.set(noteDesc, off + 20);
    off += noteBytes;
    at += phentsize;
  }
  const frameData = new Map<number, Uint8Array>();
  for (const t of state.tables) {
    const pa = Number.parseInt(t.pa, 16);
    const pfn = Math.floor(pa / 4096);
    const f = frameData.get(pfn) ?? new Uint8Array(4096);
    f.set(Buffer.from(t.bytes, 'hex'), pa % 4096);
    frameData.set(pfn, f);
  }
  for (const pfn of frames) {
    ph(at, 1, off, pfn * 4096, 4096);
    out.set(frameData.get(pfn)!, off);
    off += 4096;
    at += phentsize;
  }
  return out;
}
