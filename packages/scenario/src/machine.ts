/**
 * The board and paging backend a scenario names: `board`, `arch` (default: the board's default)
 * and `ram` (default: the board's default), checked against what each board accepts.
 */
import type { Board, BoardId, BoardOptions } from '@mmkit/boards';
import {
  BOARD_IDS,
  createBoard,
  isBoardId,
  PC_FLAVOUR_ARCHS,
  PC_FLAVOURS,
  PC_MAX_RAM_BYTES,
  pcFlavourForArch,
  RPI4B_RAM_GIB,
  VIRT_MAX_RAM_BYTES,
} from '@mmkit/boards';
import { isMmError } from '@mmkit/core';
import { ARCH_IDS, type ArchId, isArchId } from './arch-registry.js';
import { ScenarioError, show } from './errors.js';
import { parseSizeExpr } from './values.js';

const GiB = 2 ** 30;

/** The paging formats a board can run (the pc: every mode of both flavours). */
export function boardArchs(id: BoardId): readonly ArchId[] {
  if (id !== 'pc') return ['aarch64'];
  return PC_FLAVOURS.flatMap((f) => PC_FLAVOUR_ARCHS[f]).filter(isArchId);
}

/** What RAM sizes a board accepts, in words. */
export function ramExpectation(id: BoardId): string {
  switch (id) {
    case 'rpi4b':
      return `one of the Raspberry Pi 4B models: ${RPI4B_RAM_GIB.map((g) => `${g}G`).join(', ')}`;
    case 'pc':
      return `a multiple of 2 MiB from 4M to ${PC_MAX_RAM_BYTES / GiB}G (QEMU q35 -m)`;
    case 'virt':
      return `a multiple of 2 MiB from 2M to ${VIRT_MAX_RAM_BYTES / GiB}G (QEMU virt -m)`;
  }
}

/** A resolved machine: the board built with the RAM size and the paging format. */
export interface ScenarioMachine {
  readonly board: Board;
  readonly arch: ArchId;
}

/** Which field of a problem, for the caller's message (the CLI names its own options). */
export type MachineField = 'board' | 'arch' | 'ram';

/**
 * Builds the board for `boardId` with `ram` and the paging format `arch`.
 * @throws ScenarioError (with `field` = board, arch or ram) for an unknown board, a format the
 *   board cannot run, or a RAM size the board does not accept.
 */
export function resolveMachine(
  boardId: string,
  arch: string | undefined,
  ram: unknown,
  source?: string,
): ScenarioMachine {
  if (!isBoardId(boardId))
    throw new ScenarioError(`board ${show(boardId)} is not a known board`, {
      source,
      field: 'board',
      value: boardId,
      expected: `one of: ${BOARD_IDS.join(', ')}`,
    });
  if (arch !== undefined) {
    if (!isArchId(arch))
      throw new ScenarioError(`arch ${show(arch)} is not a paging format`, {
        source,
        field: 'arch',
        value: arch,
        expected: `one of: ${ARCH_IDS.join(', ')}`,
      });
    const valid = boardArchs(boardId);
    if (!valid.includes(arch))
      throw new ScenarioError(`arch ${show(arch)} does not run on board ${boardId}`, {
        source,
        field: 'arch',
        value: arch,
        expected: `${valid.length === 1 ? '' : 'one of: '}${valid.join(', ')}`,
      });
  }
  const ramBytes = ram === undefined ? undefined : parseSizeExpr(ram);
  if (ram !== undefined && (ramBytes === undefined || ramBytes === 0n || ramBytes >= 1n << 52n))
    throw new ScenarioError(`ram ${show(ram)} is not a size`, {
      source,
      field: 'ram',
      value: ram,
      expected: 'a size such as 512M, 1G or 2GiB',
    });
  const flavour = boardId === 'pc' && arch !== undefined ? pcFlavourForArch(arch) : undefined;
  const bytes = ramBytes === undefined ? undefined : Number(ramBytes);
  const ramOpt =
    bytes === undefined
      ? {}
      : boardId === 'rpi4b'
        ? { ramGiB: (bytes / GiB) as 1 | 2 | 4 | 8 }
        : { ramBytes: bytes };
  const options: BoardOptions = flavour === undefined ? ramOpt : { ...ramOpt, flavour };
  let board: Board;
  try {
    board = createBoard(boardId, options);
  } catch (e) {
    if (!isMmError(e) || ram === undefined) throw e;
    throw new ScenarioError(`ram ${show(ram)} is not a RAM size of board ${boardId}`, {
      source,
      field: 'ram',
      value: ram,
      expected: ramExpectation(boardId),
    });
  }
  const chosen = arch ?? board.defaultArch;
  if (!isArchId(chosen))
    throw new ScenarioError(`board ${boardId} default paging format ${show(chosen)} is unknown`, {
      source,
      field: 'arch',
      value: chosen,
      expected: `one of: ${ARCH_IDS.join(', ')}`,
    });
  return { board, arch: chosen };
}
