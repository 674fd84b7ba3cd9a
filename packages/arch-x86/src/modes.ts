/**
 * The x86 paging modes mmkit models and their level names (arch-facts B1).
 *
 * | mode          | enable                              | levels (root first)          | entry |
 * |---------------|-------------------------------------|------------------------------|-------|
 * | `x86-32`      | CR0.PG = 1, CR4.PAE = 0             | PD, PT                       | 4 B   |
 * | `x86-pae`     | CR4.PAE = 1, EFER.LME = 0           | PDPT (4 entries), PD, PT     | 8 B   |
 * | `x86_64`      | EFER.LME = 1, CR4.PAE = 1           | PML4, PDPT, PD, PT           | 8 B   |
 * | `x86_64-la57` | as `x86_64` plus CR4.LA57 = 1       | PML5, PML4, PDPT, PD, PT     | 8 B   |
 *
 * mmkit numbers levels from the leaf table up (internal level 1 = PT); people
 * read the manual's names, so {@link parseX86Level} and {@link x86LevelName}
 * convert at the edges.
 */
import { InvalidArgumentError } from '@mmkit/core';

/** The paging modes, in the order of their introduction. */
export const X86_MODES = ['x86-32', 'x86-pae', 'x86_64', 'x86_64-la57'] as const;

/** One x86 paging mode (also the backend's `description.id`). */
export type X86Mode = (typeof X86_MODES)[number];

/** Level names per mode, indexed by internal level (index 0 unused, 1 = PT … root). */
export const X86_LEVEL_NAMES: Readonly<Record<X86Mode, readonly string[]>> = Object.freeze({
  'x86-32': Object.freeze(['', 'PT', 'PD']),
  'x86-pae': Object.freeze(['', 'PT', 'PD', 'PDPT']),
  x86_64: Object.freeze(['', 'PT', 'PD', 'PDPT', 'PML4']),
  'x86_64-la57': Object.freeze(['', 'PT', 'PD', 'PDPT', 'PML4', 'PML5']),
});

/** True if `value` is one of {@link X86_MODES}. */
export function isX86Mode(value: unknown): value is X86Mode {
  return typeof value === 'string' && (X86_MODES as readonly string[]).includes(value);
}

function checkMode(mode: unknown): X86Mode {
  if (!isX86Mode(mode))
    throw new InvalidArgumentError('x86 paging mode', mode, `one of ${X86_MODES.join(', ')}`);
  return mode;
}

/**
 * Parses a level name of `mode` into the internal level: `PT` → 1, `PD` → 2, `PDPT` → 3,
 * `PML4` → 4, `PML5` → 5, for the levels the mode has. Case-insensitive; the entry names
 * (`PTE`, `PDE`, `PDPTE`, `PML4E`, `PML5E`) are accepted too.
 * @throws InvalidArgumentError for an unknown mode or a name the mode does not have
 *   (e.g. `PML5` in `x86_64`, `PDPT` in `x86-32`).
 */
export function parseX86Level(mode: X86Mode, name: string): number {
  const names = X86_LEVEL_NAMES[checkMode(mode)];
  const wanted = typeof name === 'string' ? name.trim().toUpperCase() : '';
  const index = names.findIndex((n, i) => i > 0 && (n === wanted || `${n}E` === wanted));
  if (index < 1) {
    throw new InvalidArgumentError(`${mode} level`, name, `one of ${names.slice(1).join(', ')}`);
  }
  return index;
}

/**
 * The manual's name of internal `level` in `mode` (1 → `PT` … root → `PD`/`PDPT`/`PML4`/`PML5`).
 * @throws InvalidArgumentError for an unknown mode or a level the mode does not have.
 */
export function x86LevelName(mode: X86Mode, level: number): string {
  const names = X86_LEVEL_NAMES[checkMode(mode)];
  const name = Number.isInteger(level) && level >= 1 ? names[level] : undefined;
  if (!name) {
    throw new InvalidArgumentError(
      `${mode} internal level`,
      level,
      `an integer from 1 (PT) to ${names.length - 1} (${names[names.length - 1]})`,
    );
  }
  return name;
}
