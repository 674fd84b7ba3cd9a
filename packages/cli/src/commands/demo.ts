/**
 * `mmkit demo [--board virt|rpi4b] [--ram <size>] [--json]`: boots the kernel
 * on a board and runs a short workload, printing what the memory manager did.
 */
import type { Board, BoardId, BoardOptions } from '@mmkit/boards';
import { BOARD_IDS, createBoard, RPI4B_RAM_GIB, VIRT_MAX_RAM_BYTES } from '@mmkit/boards';
import { isMmError } from '@mmkit/core';
import type { Command } from 'commander';
import type { Output } from '../io.js';
import { parseSize } from '../parse.js';
import { invalidValue } from '../usage-error.js';

/** Raw options of `demo` as commander parsed them. */
export interface DemoCliOptions {
  readonly board?: string;
  readonly ram?: string;
  readonly json?: boolean;
}

/** Validated options of `demo`. */
export interface DemoOptions {
  readonly boardId: BoardId;
  /** RAM size asked for with `--ram`, or undefined for the board's default. */
  readonly ramBytes: number | undefined;
  /** The board, built with those options. */
  readonly board: Board;
  readonly json: boolean;
}

const GiB = 2 ** 30;

/** What `--ram` may be on each board, for error messages. */
function ramExpectation(id: BoardId): string {
  return id === 'rpi4b'
    ? `one of the Raspberry Pi 4B models: ${RPI4B_RAM_GIB.map((g) => `${g}G`).join(', ')}`
    : `a multiple of 2 MiB from 2M to ${VIRT_MAX_RAM_BYTES / GiB}G (QEMU virt -m)`;
}

/** The board factory's options for a RAM size (virt takes bytes, rpi4b a model size in GiB). */
function boardOptions(id: BoardId, ramBytes: number | undefined): BoardOptions {
  if (ramBytes === undefined) return {};
  return id === 'rpi4b' ? { ramGiB: (ramBytes / GiB) as 1 | 2 | 4 | 8 } : { ramBytes };
}

/**
 * Validates `demo`'s options: the board id, the RAM size syntax, and the size
 * against what the board allows (the board's own check, reported as a usage error).
 * @throws UsageError for an unknown board or a size the board does not accept.
 */
export function parseDemoOptions(opts: DemoCliOptions): DemoOptions {
  const id = opts.board ?? 'virt';
  if (!(BOARD_IDS as readonly string[]).includes(id)) {
    throw invalidValue('--board', id, 'is not a known board', `one of: ${BOARD_IDS.join(', ')}`);
  }
  const boardId = id as BoardId;
  const ramBytes = opts.ram === undefined ? undefined : parseSize(opts.ram, '--ram');
  let board: Board;
  try {
    board = createBoard(boardId, boardOptions(boardId, ramBytes));
  } catch (e) {
    if (!isMmError(e) || ramBytes === undefined) throw e;
    throw invalidValue('--ram', opts.ram!, `is not a RAM size of board ${boardId}`, ramExpectation(boardId));
  }
  return { boardId, ramBytes, board, json: opts.json === true };
}

/**
 * The body of `mmkit demo`.
 *
 * TODO(lead): call `runDemo` from @mmkit/kernel here (it does not exist yet) with
 * `opts.board` (already validated, RAM size applied) and render its result:
 * text through `out.line`/`out.style`, or one document through `out.json` when `opts.json`.
 * Until then the command reports that the demo is not available and exits 1.
 */
export async function demoCommand(opts: DemoOptions, out: Output): Promise<number> {
  out.io.stderr.write(`mmkit: error: the demo is not available yet (board ${opts.board.name} is ready)\n`);
  return 1;
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
      'Boot the mmkit kernel on a board and run a short workload, showing allocations, faults and TLB maintenance.',
    )
    .option('--board <id>', `board: ${BOARD_IDS.join(', ')} (default virt)`)
    .option('--ram <size>', "RAM size such as 512M, 1G, 2GiB (default: the board's default)")
    .option('--json', 'print one JSON document')
    .action(async (opts: DemoCliOptions) => {
      setExitCode(await demoCommand(parseDemoOptions(opts), out()));
    });
}
