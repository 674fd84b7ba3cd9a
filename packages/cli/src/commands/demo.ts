/**
 * `mmkit demo [--board virt|rpi4b|pc] [--arch <mode>] [--ram <size>] [--json]`:
 * boots the kernel on a board with a paging backend and runs a short workload,
 * printing what the memory manager did.
 */
import type { Board, BoardId, BoardOptions } from '@mmkit/boards';
import {
  BOARD_IDS,
  createBoard,
  PC_FLAVOUR_ARCHS,
  PC_FLAVOURS,
  PC_MAX_RAM_BYTES,
  pcFlavourForArch,
  RPI4B_RAM_GIB,
  VIRT_MAX_RAM_BYTES,
} from '@mmkit/boards';
import type { MmEvent } from '@mmkit/core';
import { InvalidArgumentError, isMmError } from '@mmkit/core';
import type { Command } from 'commander';
import { ARCH_IDS, type ArchId, createBackend, isArchId } from '../arch-registry.js';
import { formatBytes, groupedHex } from '../format.js';
import type { Output } from '../io.js';
import { parseSize } from '../parse.js';
import { invalidValue } from '../usage-error.js';
import { runDemo } from './demo-workload.js';

/** Raw options of `demo` as commander parsed them. */
export interface DemoCliOptions {
  readonly board?: string;
  readonly arch?: string;
  readonly ram?: string;
  readonly json?: boolean;
}

/** Validated options of `demo`. */
export interface DemoOptions {
  readonly boardId: BoardId;
  /** The paging format: `--arch`, or the board's default. */
  readonly arch: ArchId;
  /** RAM size asked for with `--ram`, or undefined for the board's default. */
  readonly ramBytes: number | undefined;
  /** The board, built with those options. */
  readonly board: Board;
  readonly json: boolean;
}

const GiB = 2 ** 30;

/** What `--ram` may be on each board, for error messages. */
function ramExpectation(id: BoardId): string {
  switch (id) {
    case 'rpi4b':
      return `one of the Raspberry Pi 4B models: ${RPI4B_RAM_GIB.map((g) => `${g}G`).join(', ')}`;
    case 'pc':
      return `a multiple of 2 MiB from 4M to ${PC_MAX_RAM_BYTES / GiB}G (QEMU q35 -m)`;
    case 'virt':
      return `a multiple of 2 MiB from 2M to ${VIRT_MAX_RAM_BYTES / GiB}G (QEMU virt -m)`;
  }
}

/** The paging formats a board id can run (the pc: every mode of both flavours). */
export function boardArchs(id: BoardId): readonly ArchId[] {
  if (id !== 'pc') return ['aarch64'];
  return PC_FLAVOURS.flatMap((f) => PC_FLAVOUR_ARCHS[f]).filter(isArchId);
}

/** The board factory's options for a RAM size and paging format (virt takes bytes, rpi4b a model size in GiB, pc a flavour). */
function boardOptions(id: BoardId, ramBytes: number | undefined, arch: ArchId | undefined): BoardOptions {
  const flavour = id === 'pc' && arch !== undefined ? pcFlavourForArch(arch) : undefined;
  const ram =
    ramBytes === undefined
      ? {}
      : id === 'rpi4b'
        ? { ramGiB: (ramBytes / GiB) as 1 | 2 | 4 | 8 }
        : { ramBytes };
  return flavour === undefined ? ram : { ...ram, flavour };
}

/**
 * Validates `demo`'s options: the board id, the paging format for that board, the RAM size
 * syntax, and the size against what the board allows (the board's own check, reported as a
 * usage error).
 * @throws UsageError for an unknown board, a paging format the board cannot run, or a size the
 *   board does not accept.
 */
export function parseDemoOptions(opts: DemoCliOptions): DemoOptions {
  const id = opts.board ?? 'virt';
  if (!(BOARD_IDS as readonly string[]).includes(id)) {
    throw invalidValue('--board', id, 'is not a known board', `one of: ${BOARD_IDS.join(', ')}`);
  }
  const boardId = id as BoardId;
  let arch: ArchId | undefined;
  if (opts.arch !== undefined) {
    const valid = boardArchs(boardId);
    if (!isArchId(opts.arch)) {
      throw invalidValue('--arch', opts.arch, 'is not a paging format', `one of: ${ARCH_IDS.join(', ')}`);
    }
    if (!valid.includes(opts.arch)) {
      throw invalidValue(
        '--arch',
        opts.arch,
        `does not run on board ${boardId}`,
        `${valid.length === 1 ? '' : 'one of: '}${valid.join(', ')}`,
      );
    }
    arch = opts.arch;
  }
  const ramBytes = opts.ram === undefined ? undefined : parseSize(opts.ram, '--ram');
  let board: Board;
  try {
    board = createBoard(boardId, boardOptions(boardId, ramBytes, arch));
  } catch (e) {
    if (!isMmError(e) || ramBytes === undefined) throw e;
    throw invalidValue('--ram', opts.ram!, `is not a RAM size of board ${boardId}`, ramExpectation(boardId));
  }
  const chosen = arch ?? board.defaultArch;
  if (!isArchId(chosen)) {
    throw new InvalidArgumentError(
      `board ${boardId} default paging format`,
      chosen,
      `one of: ${ARCH_IDS.join(', ')}`,
    );
  }
  return { boardId, arch: chosen, ramBytes, board, json: opts.json === true };
}

/** One event as a log line. */
export function formatEvent(e: MmEvent, style: Output['style']): string {
  const pa = (v: number) => groupedHex(v, 8);
  const va = (v: bigint) => groupedHex(v, 12);
  switch (e.type) {
    case 'frame-alloc':
      return `${style.green('alloc  ')} frame ${pa(e.pa)} for ${e.purpose}`;
    case 'frame-free':
      return `${style.green('free   ')} frame ${pa(e.pa)} (${e.purpose})`;
    case 'map':
      return `${style.blue('map    ')} ${e.space} ${va(e.va)} → ${pa(e.pa)} ${e.perms}`;
    case 'unmap':
      return `${style.blue('unmap  ')} ${e.space} ${va(e.va)} (was ${pa(e.pa)})`;
    case 'protect':
      return `${style.blue('protect')} ${e.space} ${va(e.va)} ${e.perms}`;
    case 'fault':
      return `${style.yellow('fault  ')} pid ${e.pid} ${e.detail} → ${e.resolution.startsWith('killed') ? style.red(e.resolution) : e.resolution}`;
    case 'cow':
      return `${style.yellow('cow    ')} pid ${e.pid} ${va(e.va)} ${e.action}${e.action === 'reuse' || e.action === 'zero-page' ? ` ${pa(e.pa)}` : ` ${pa(e.fromPa)} → ${pa(e.pa)}`}`;
    case 'tlb':
      // A 128-bit operand (the INVPCID descriptor) is padded to 32 digits so its two 64-bit halves show.
      return `${style.magenta('tlb    ')} ${e.op}${e.operand !== undefined ? ` ${groupedHex(e.operand, e.operand >> 64n ? 32 : 16)}` : ''} (broadcast from cpu ${e.cpu})`;
    case 'process':
      return `${style.cyan('process')} pid ${e.pid} ${e.action}: ${e.detail}`;
  }
}

/**
 * The body of `mmkit demo`: runs the workload ({@link runDemo}) and prints the
 * event log step by step, the page-table dump with effective permissions, the
 * registers, and the free-frame count against its baseline. Exit code 0 when the
 * audit is clean and every frame came back, 1 otherwise.
 */
export async function demoCommand(opts: DemoOptions, out: Output): Promise<number> {
  const report = runDemo(opts.board, createBackend(opts.arch));
  const healthy = report.audit.ok && report.frames.final === report.frames.baseline;
  if (opts.json) {
    out.json(report);
    return healthy ? 0 : 1;
  }
  const s = out.style;
  out.line(s.bold(`mmkit demo — ${report.board.name}, ${report.arch.name}, ${report.cpus} CPUs`));
  out.line(
    `RAM ${formatBytes(report.board.ramBytes)}; allocator manages ${report.frames.total} frames, ${report.frames.baseline} free after boot; kernel tables: ${report.frames.kernelTables} frames`,
  );
  report.steps.forEach((st, i) => {
    out.line();
    out.line(s.bold(`${i + 1}. ${st.title}`));
    for (const e of st.events) out.line(`   ${formatEvent(e, s)}`);
    out.line(`   ${s.bold('⇒')} ${st.outcome}`);
  });
  out.line();
  out.line(
    s.bold(`Page tables of pid ${report.dump.pid} (user half; effective permissions from real walks)`),
  );
  for (const l of report.dump.lines) out.line(`   ${l}`);
  out.line();
  out.line(s.bold(`/proc/${report.dump.pid}/maps`));
  for (const l of report.maps) out.line(`   ${l}`);
  out.line();
  out.line(s.bold('Registers selecting them'));
  for (const [name, value] of Object.entries(report.registers)) out.line(`   ${name.padEnd(10)} ${value}`);
  out.line();
  const verdict = healthy ? s.green('OK') : s.red('PROBLEM');
  out.line(
    s.bold(
      `Free frames: ${report.frames.final} at the end, baseline ${report.frames.baseline} — audit ${report.audit.ok ? 'clean' : 'FAILED'} ${verdict}`,
    ),
  );
  for (const p of report.audit.problems) out.line(`   ${s.red(p)}`);
  return healthy ? 0 : 1;
}

/** Registers `demo` on `program`; the exit code of the body goes to `setExitCode`. */
export function registerDemo(
  program: Command,
  out: () => Output,
  setExitCode: (code: number) => void,
): Command {
  return program
    .command('demo')
    .summary('boot the kernel on a board and run a short workload')
    .description(
      'Boot the mmkit kernel on a board with a paging backend and run a short workload, showing allocations, ' +
        'faults and TLB maintenance.',
    )
    .option('--board <id>', `board: ${BOARD_IDS.join(', ')} (default virt)`)
    .option(
      '--arch <mode>',
      "paging format: aarch64 on virt and rpi4b; x86_64, x86_64-la57, x86-pae or x86-32 on pc (default: the board's default)",
    )
    .option('--ram <size>', "RAM size such as 512M, 1G, 2GiB (default: the board's default)")
    .option('--json', 'print one JSON document')
    .action(async (opts: DemoCliOptions) => {
      setExitCode(await demoCommand(parseDemoOptions(opts), out()));
    });
}
