/**
 * AArch64 level names ⇄ mmkit internal levels.
 *
 * AArch64 numbers translation levels from the root down (L0 = root with a
 * 4 KiB granule and 48-bit VA, L3 = page table); mmkit numbers them from the
 * leaf table up (1 = leaf table). So internal = 4 - armLevel.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { AARCH64_LEVEL_NAMES } from './constants.js';

/**
 * Parses an AArch64 level name (`L0` … `L3`, case-insensitive) into the internal level (4 … 1).
 * @throws InvalidArgumentError for anything else.
 */
export function parseAarch64Level(name: string): number {
  const m = /^[lL]([0-3])$/.exec(typeof name === 'string' ? name.trim() : '');
  if (!m) throw new InvalidArgumentError('AArch64 level', name, 'one of L0, L1, L2, L3');
  return 4 - Number(m[1]);
}

/**
 * The AArch64 name (`L0` … `L3`) of an internal level (4 … 1).
 * @throws InvalidArgumentError for a level outside 1 … 4.
 */
export function aarch64LevelName(level: number): string {
  const name = Number.isInteger(level) ? AARCH64_LEVEL_NAMES[level] : undefined;
  if (!name) throw new InvalidArgumentError('internal level', level, 'an integer from 1 (L3) to 4 (L0)');
  return name;
}
