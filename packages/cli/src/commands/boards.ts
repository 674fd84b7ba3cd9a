/**
 * `mmkit boards [--json]`: every board mmkit describes, with its memory map and
 * page-allocator pool, at the board's default configuration.
 */
import type { Board } from '@mmkit/boards';
import { BOARD_IDS, createBoard, E820_TYPE_NAMES, isPcBoard } from '@mmkit/boards';
import type { Command } from 'commander';
import type { Output } from '../io.js';

/** Parsed options of `boards`. */
export interface BoardsOptions {
  readonly json?: boolean;
}

const range = (r: { start: number; end: number }) => ({ start: BigInt(r.start), end: BigInt(r.end) });

/**
 * A board as JSON data (addresses as bigints, printed as hex strings). A pc board adds `flavour`
 * and its `e820` map (`{ start, end, type, typeName, name }`, `end` exclusive).
 */
export function boardJson(board: Board) {
  const { virtualBase } = board.kernelImage;
  return {
    id: board.id,
    name: board.name,
    defaultArch: board.defaultArch,
    archs: board.archs,
    ramBytes: board.ram.reduce((n, r) => n + r.end - r.start, 0),
    ram: board.ram.map((r) => ({ name: r.name, ...range(r) })),
    mmio: board.mmio.map((w) => ({ name: w.name, ...range(w) })),
    consoleWindow: board.consoleWindow,
    kernelImage:
      virtualBase === undefined ? range(board.kernelImage) : { ...range(board.kernelImage), virtualBase },
    pool: {
      mode: board.pool.mode,
      ranges: board.pool.ranges.map((r) => ({ name: r.name, ...range(r) })),
      reservations: board.pool.reservations.map((r) => ({ ...range(r), reason: r.reason })),
      notes: board.pool.notes,
    },
    ...(isPcBoard(board)
      ? {
          flavour: board.flavour,
          e820: board.e820.map((e) => ({
            ...range(e),
            type: e.type,
            typeName: E820_TYPE_NAMES[e.type],
            name: e.name,
          })),
        }
      : {}),
  };
}

/** Runs `boards`. */
export function runBoards(opts: BoardsOptions, out: Output): void {
  const boards = BOARD_IDS.map((id) => createBoard(id));
  if (opts.json) {
    out.json({ boards: boards.map(boardJson) });
    return;
  }
  boards.forEach((board, i) => {
    if (i > 0) out.line();
    const [title, ...rest] = board.describe().split('\n');
    out.line(out.style.bold(`${board.id}: ${title ?? board.name}`));
    for (const l of rest) out.line(l);
  });
}

/** Registers `boards` on `program`. */
export function registerBoards(program: Command, out: () => Output): Command {
  return program
    .command('boards')
    .summary('list the boards and their memory maps')
    .description(
      'List every board mmkit describes (default configuration): RAM, MMIO windows, kernel image, allocator pool, ' +
        'and for the pc its e820 map.',
    )
    .option('--json', 'print one JSON document (addresses as "0x…" strings)')
    .action((opts: BoardsOptions) => {
      runBoards(opts, out());
    });
}
