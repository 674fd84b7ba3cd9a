/**
 * IA32_PAT (MSR 0x277) and the page-attribute index of an entry (arch-facts B9).
 *
 * An entry selects one of the eight PAT entries with `PAT * 4 + PCD * 2 + PWT`
 * (PAT = bit 7 in 4 KiB PTEs, bit 12 in large-page entries; Linux `__pte2cm_idx`).
 * mmkit maps PAT memory types to neutral ones as follows:
 *
 * | PAT type | neutral      | why                                                            |
 * |----------|--------------|----------------------------------------------------------------|
 * | WB (6)   | `normal-wb`  | the same thing                                                 |
 * | WT (4)   | `normal-wt`  | the same thing                                                 |
 * | WP (5)   | `normal-wt`  | cached reads, writes go to memory: closest neutral type        |
 * | WC (1)   | `normal-nc`  | uncached, write-combining: the closest to "normal non-cacheable" |
 * | UC (0)   | `device`     | strong uncacheable: device memory                              |
 * | UC- (7)  | `device`     | uncacheable (MTRRs may turn it into WC): treated as device     |
 *
 * Encoding picks the lowest PAT index whose type is the preferred one for the
 * neutral type (WB, WT, WC, UC; `device` falls back to UC- when no UC entry
 * exists); WP is never chosen. With the Linux PAT that is index 0 (WB), 7 (WT),
 * 1 (WC) and 3 (UC).
 */
import { InvalidArgumentError, MEMORY_TYPES, type MemoryType } from '@mmkit/core';

/** @throws InvalidArgumentError unless `type` is an integer from 0 to 255 (one IA32_PAT byte). */
function patByte(type: unknown): number {
  if (typeof type !== 'number' || (type & 0xff) !== type) {
    throw new InvalidArgumentError('PAT memory type', type, 'an integer from 0 to 255 (one IA32_PAT byte)');
  }
  return type;
}

/**
 * Name of an IA32_PAT memory-type encoding, `reserved (n)` for the reserved ones.
 * @throws InvalidArgumentError unless `type` is an integer from 0 to 255.
 */
export function patTypeName(type: number): string {
  switch (patByte(type)) {
    case 0:
      return 'UC';
    case 1:
      return 'WC';
    case 4:
      return 'WT';
    case 5:
      return 'WP';
    case 6:
      return 'WB';
    case 7:
      return 'UC-';
    default:
      return `reserved (${type})`;
  }
}

/**
 * Long name of a PAT memory type, e.g. `write-back`.
 * @throws InvalidArgumentError unless `type` is an integer from 0 to 255.
 */
export function patTypeMeaning(type: number): string {
  switch (patByte(type)) {
    case 0:
      return 'uncacheable';
    case 1:
      return 'write-combining';
    case 4:
      return 'write-through';
    case 5:
      return 'write-protected';
    case 6:
      return 'write-back';
    case 7:
      return 'uncacheable, overridable by MTRR WC (UC-)';
    default:
      return 'reserved encoding';
  }
}

/**
 * The neutral memory type of a PAT memory type, or undefined for a reserved encoding.
 * @throws InvalidArgumentError unless `type` is an integer from 0 to 255.
 */
export function patTypeMemoryType(type: number): MemoryType | undefined {
  switch (patByte(type)) {
    case 6:
      return 'normal-wb';
    case 4:
    case 5:
      return 'normal-wt';
    case 1:
      return 'normal-nc';
    case 0:
    case 7:
      return 'device';
    default:
      return undefined;
  }
}

/** PAT types tried when encoding a neutral type, most preferred first. */
const PREFERRED: Readonly<Record<MemoryType, readonly number[]>> = {
  'normal-wb': [6],
  'normal-wt': [4],
  'normal-nc': [1],
  device: [0, 7],
};

/** One IA32_PAT entry. */
export interface PatEntry {
  /** PAT index 0 … 7 (`PAT * 4 + PCD * 2 + PWT`). */
  readonly index: number;
  /** The memory-type encoding in IA32_PAT.PAi. */
  readonly type: number;
  /** `WB`, `WC`, `UC-` … */
  readonly name: string;
  /** The neutral memory type it maps to. */
  readonly memoryType: MemoryType;
}

/** The eight entries of an IA32_PAT value and the neutral mapping. Immutable. */
export class PatMap {
  /** The IA32_PAT value. */
  readonly pat: bigint;
  /** The eight entries, by PAT index. */
  readonly entries: readonly PatEntry[];
  /** Index into MEMORY_TYPES per PAT index (for the walker's hot path). */
  readonly typeOfIndex: Uint8Array;

  /**
   * @throws InvalidArgumentError unless `pat` is a 64-bit unsigned bigint whose eight bytes
   *   are valid memory types (0, 1, 4, 5, 6, 7; writing another value to IA32_PAT is a #GP).
   */
  constructor(pat: bigint) {
    if (typeof pat !== 'bigint' || pat < 0n || pat >= 1n << 64n) {
      throw new InvalidArgumentError('IA32_PAT', pat, 'a 64-bit unsigned bigint');
    }
    const entries: PatEntry[] = [];
    this.typeOfIndex = new Uint8Array(8);
    for (let i = 0; i < 8; i++) {
      const type = Number((pat >> BigInt(8 * i)) & 0xffn);
      const memoryType = patTypeMemoryType(type);
      if (memoryType === undefined) {
        throw new InvalidArgumentError(
          `IA32_PAT.PA${i}`,
          type,
          'a memory type 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB) or 7 (UC-) in each byte',
        );
      }
      entries.push(Object.freeze({ index: i, type, name: patTypeName(type), memoryType }));
      this.typeOfIndex[i] = MEMORY_TYPES.indexOf(memoryType);
    }
    this.pat = pat;
    this.entries = Object.freeze(entries);
  }

  /**
   * The lowest PAT index that encodes `memoryType` (see the module table), or -1 if none does
   * (also for anything that is not a neutral memory type).
   */
  indexFor(memoryType: MemoryType): number {
    if (typeof memoryType !== 'string' || !Object.hasOwn(PREFERRED, memoryType)) return -1;
    for (const type of PREFERRED[memoryType]) {
      const e = this.entries.find((x) => x.type === type);
      if (e) return e.index;
    }
    return -1;
  }

  /**
   * The neutral memory type of PAT index `index` (0 … 7).
   * @throws InvalidArgumentError unless `index` is an integer from 0 to 7.
   */
  memoryTypeOf(index: number): MemoryType {
    return this.entries[patIndex(index)]!.memoryType;
  }
}

function patIndex(index: unknown): number {
  if (typeof index !== 'number' || (index & 7) !== index) {
    throw new InvalidArgumentError('PAT index', index, 'an integer from 0 to 7');
  }
  return index;
}

function largeFlag(large: unknown): void {
  if (typeof large !== 'boolean') throw new InvalidArgumentError('large', large, 'a boolean');
}

/**
 * The PAT index (0 … 7) of an entry's low word; `large` for 2 MiB / 4 MiB / 1 GiB leaves (PAT at bit 12).
 * @throws InvalidArgumentError unless `lo` is a 32-bit integer (signed or unsigned) and `large` a boolean.
 */
export function patIndexOf(lo: number, large: boolean): number {
  if (typeof lo !== 'number' || (lo >>> 0 !== lo && (lo | 0) !== lo)) {
    throw new InvalidArgumentError('entry low word', lo, 'a 32-bit integer');
  }
  largeFlag(large);
  return ((lo >>> 3) & 3) | (((large ? lo >>> 12 : lo >>> 7) & 1) << 2);
}

/**
 * The PWT / PCD / PAT bits (low word) that select PAT index `index`; `large` puts PAT at bit 12.
 * @throws InvalidArgumentError unless `index` is an integer from 0 to 7 and `large` a boolean.
 */
export function patIndexBits(index: number, large: boolean): number {
  patIndex(index);
  largeFlag(large);
  return ((index & 3) << 3) | ((index & 4) !== 0 ? (large ? 1 << 12 : 1 << 7) : 0);
}
