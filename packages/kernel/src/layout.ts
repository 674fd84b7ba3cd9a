/**
 * The simple process layout (seed `000_…`): fixed regions that the fault
 * handler dispatches on.
 *
 * ```
 *  0x0000_0000_0040_0000  TEXT_BASE   ┐ text: mapped eagerly at spawn; a fault here is a "text fault"
 *  0x0000_0000_1000_0000  DATA_BASE   ┘ data: mapped eagerly at spawn
 *  0x0000_0001_0000_0000  HEAP_BASE   ┐ heap [HEAP_BASE, brk): demand-zero, RW, no execute
 *                          brk        ┘ grows up with brk()
 *            …  gap (≈16 TiB; wild pointers such as 0xDEAD_BEEF_000 land here: "invalid address")
 *  0x0000_0FFF_FFFF_0000  GUARD_LOW   ┐ stack guard: a fault here is a "stack overflow"
 *  0x0000_1000_0000_0000  STACK_LOW   ┘
 *                                     ┐ stack [STACK_LOW, STACK_TOP): demand-zero, RW, no execute
 *  0x0000_1000_0080_0000  STACK_TOP   ┘ (the top page is mapped eagerly at spawn)
 * ```
 * The values are mmkit's own (the seed does not publish them); for address
 * spaces smaller than 48 bits the layout is scaled (see {@link simpleLayoutFor}).
 */
import type { ArchDescription } from '@mmkit/core';
import { invalidArgument } from './syscalls.js';

/** Region boundaries of a simple process, as bigints (half-open ranges). */
export interface SimpleLayout {
  readonly textBase: bigint;
  readonly dataBase: bigint;
  readonly heapBase: bigint;
  readonly stackGuardLow: bigint;
  readonly stackLow: bigint;
  readonly stackTop: bigint;
}

/** The 48-bit layout drawn in the module doc. */
export const SIMPLE_LAYOUT_48: SimpleLayout = Object.freeze({
  textBase: 0x0040_0000n,
  dataBase: 0x1000_0000n,
  heapBase: 0x1_0000_0000n,
  stackGuardLow: 0x0fff_ffff_0000n,
  stackLow: 0x1000_0000_0000n,
  stackTop: 0x1000_0080_0000n,
});

/** A layout for user halves below 4 GiB (32-bit address spaces). */
export const SIMPLE_LAYOUT_32: SimpleLayout = Object.freeze({
  textBase: 0x0040_0000n,
  dataBase: 0x1000_0000n,
  heapBase: 0x2000_0000n,
  stackGuardLow: 0xaf7f_0000n,
  stackLow: 0xaf80_0000n,
  stackTop: 0xb000_0000n,
});

/** The simple layout that fits the architecture's user half. */
export function simpleLayoutFor(arch: ArchDescription): SimpleLayout {
  const end = (arch as Partial<ArchDescription> | null)?.userRange?.end;
  if (typeof end !== 'bigint')
    throw invalidArgument(
      'arch description',
      arch,
      'an ArchDescription (backend.description) with userRange',
    );
  return arch.userRange.end >= SIMPLE_LAYOUT_48.stackTop ? SIMPLE_LAYOUT_48 : SIMPLE_LAYOUT_32;
}

const LAYOUT_FIELDS = ['textBase', 'dataBase', 'heapBase', 'stackGuardLow', 'stackLow', 'stackTop'] as const;

/** @throws InvalidArgumentError unless `layout` has every {@link SimpleLayout} field as a bigint. */
export function checkLayout(layout: unknown): SimpleLayout {
  const l = layout as Record<string, unknown> | null;
  if (l === null || typeof l !== 'object' || !LAYOUT_FIELDS.every((f) => typeof l[f] === 'bigint'))
    throw invalidArgument('layout', layout, `a SimpleLayout { ${LAYOUT_FIELDS.join(', ')} } of bigints`);
  return layout as SimpleLayout;
}

/** Which region of a simple layout an address falls in. */
export type SimpleRegion = 'text' | 'data' | 'heap' | 'stack' | 'stack-guard' | 'none';

/** Classifies `va` for a process whose break is `brk`. */
export function regionOf(layout: SimpleLayout, brk: bigint, va: bigint): SimpleRegion {
  checkLayout(layout);
  if (typeof brk !== 'bigint') throw invalidArgument('brk', brk, 'a bigint');
  if (typeof va !== 'bigint') throw invalidArgument('va', va, 'a bigint');
  if (va >= layout.heapBase && va < brk) return 'heap';
  if (va >= layout.stackLow && va < layout.stackTop) return 'stack';
  if (va >= layout.stackGuardLow && va < layout.stackLow) return 'stack-guard';
  if (va >= layout.textBase && va < layout.dataBase) return 'text';
  if (va >= layout.dataBase && va < layout.heapBase) return 'data';
  return 'none';
}
