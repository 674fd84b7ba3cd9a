/**
 * The BIOS e820 memory map (INT 15h, AX = E820h): the firmware's list of
 * physical ranges with a type, as a PC kernel reads it at boot, and the lines
 * Linux prints for it (`arch/x86/kernel/e820.c`, arch-facts C3).
 *
 * Ranges here are half-open `[start, end)`; Linux prints the inclusive last
 * byte (`end - 1`). A type-1 range need not be page aligned (SeaBIOS ends the
 * first one at 0x9_FC00); {@link e820RamRegions} rounds usable RAM inward to
 * whole 4 KiB pages for {@link PhysicalMemory}.
 */
import type { PhysicalRegion } from '@mmkit/core';
import { PAGE_SIZE } from '@mmkit/core';

/**
 * e820 range types with Linux's numbers (`E820_TYPE_*`, arch-facts C3): 1 RAM (usable),
 * 2 reserved, 3 ACPI reclaimable (ACPI data), 4 ACPI NVS, 5 unusable.
 */
export type E820Type = 1 | 2 | 3 | 4 | 5;

/** What Linux prints for each {@link E820Type} (`e820_print_type`). */
export const E820_TYPE_NAMES: Readonly<Record<E820Type, string>> = Object.freeze({
  1: 'usable',
  2: 'reserved',
  3: 'ACPI data',
  4: 'ACPI NVS',
  5: 'unusable',
});

/** One e820 range: physical `[start, end)`, its type, and what it is (mmkit's name, not part of e820). */
export interface E820Entry {
  readonly start: number;
  readonly end: number;
  readonly type: E820Type;
  readonly name: string;
}

const hex64 = (v: number) => `0x${v.toString(16).padStart(16, '0')}`;

/**
 * Formats an e820 map the way Linux logs it at boot, one line per range:
 * `BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable`
 * (`%#018Lx`, inclusive end). `who` replaces the `BIOS-e820` prefix.
 */
export function formatE820(entries: readonly E820Entry[], who = 'BIOS-e820'): string[] {
  return entries.map((e) => `${who}: [mem ${hex64(e.start)}-${hex64(e.end - 1)}] ${E820_TYPE_NAMES[e.type]}`);
}

/**
 * The usable (type 1) ranges of an e820 map, rounded inward to whole 4 KiB pages, as
 * {@link PhysicalRegion}s named after the entries. Ranges with no whole page are dropped.
 */
export function e820RamRegions(entries: readonly E820Entry[]): PhysicalRegion[] {
  const out: PhysicalRegion[] = [];
  for (const e of entries) {
    if (e.type !== 1) continue;
    const start = Math.ceil(e.start / PAGE_SIZE) * PAGE_SIZE;
    const end = Math.floor(e.end / PAGE_SIZE) * PAGE_SIZE;
    if (end > start) out.push({ name: e.name, start, end });
  }
  return out;
}
