/**
 * Board lookup by id, for the CLI and the playground (`--board virt`).
 */
import { InvalidArgumentError } from '@mmkit/core';
import { createPcBoard, type PcBoardOptions } from './pc.js';
import { createRpi4bBoard, type Rpi4bBoardOptions } from './rpi4b.js';
import type { Board, BoardId } from './types.js';
import { createVirtBoard, type VirtBoardOptions } from './virt.js';

/** Every board id, in documentation order. */
export const BOARD_IDS: readonly BoardId[] = Object.freeze(['virt', 'rpi4b', 'pc'] as const);

/** Options accepted by {@link createBoard}: those of the board's own factory. */
export type BoardOptions = VirtBoardOptions | Rpi4bBoardOptions | PcBoardOptions;

/** True if `id` names a board. */
export function isBoardId(id: unknown): id is BoardId {
  return typeof id === 'string' && (BOARD_IDS as readonly string[]).includes(id);
}

/**
 * Creates the board named `id` with its factory's options
 * ({@link createVirtBoard}, {@link createRpi4bBoard}, {@link createPcBoard}).
 * @throws InvalidArgumentError naming the id and the valid ids for an unknown board,
 *   and whatever the board's factory throws for bad options.
 */
export function createBoard(id: string, options: BoardOptions = {}): Board {
  switch (id) {
    case 'virt':
      return createVirtBoard(options as VirtBoardOptions);
    case 'rpi4b':
      return createRpi4bBoard(options as Rpi4bBoardOptions);
    case 'pc':
      return createPcBoard(options as PcBoardOptions);
    default:
      throw new InvalidArgumentError('board id', id, `one of ${BOARD_IDS.map((b) => `"${b}"`).join(', ')}`);
  }
}
