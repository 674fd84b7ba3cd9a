/**
 * MAIR_EL1: the eight memory-attribute bytes a descriptor's AttrIndx selects
 * (arch-facts A8). mmkit never hard-codes an index: the map between neutral
 * memory types and AttrIndx values is derived from the MAIR value the kernel
 * programs, as Linux and U-Boot use different orders.
 *
 * ```
 * MAIR_EL1 = Attr7 | Attr6 | Attr5 | Attr4 | Attr3 | Attr2 | Attr1 | Attr0   (Attr<n> = bits [8n+7:8n])
 * Attr: 0b0000_dd00 Device (dd: 00 nGnRnE, 01 nGnRE, 10 nGRE, 11 GRE)
 *       0booooiiii  Normal (outer nibble oooo, inner nibble iiii, neither 0000)
 * ```
 */
import { InvalidArgumentError, MEMORY_TYPES, type MemoryType } from '@mmkit/core';

/** One MAIR attribute byte, explained. */
export interface MairAttribute {
  /** AttrIndx selecting it (0 … 7). */
  readonly index: number;
  /** The 8-bit attribute. */
  readonly byte: number;
  /** What the byte means, e.g. `Normal, Inner+Outer Write-Back non-transient RW-allocate`. */
  readonly meaning: string;
  /** The neutral memory type, or undefined for a reserved (UNPREDICTABLE) encoding. */
  readonly memoryType: MemoryType | undefined;
}

type CacheClass = 'wb' | 'wt' | 'nc' | undefined;

function nibbleClass(n: number): CacheClass {
  if (n === 0b0100) return 'nc';
  if (n === 0) return undefined;
  return n & 0b0100 ? 'wb' : 'wt'; // 0b00RW / 0b10RW write-through, 0b01RW / 0b11RW write-back
}

function nibbleMeaning(n: number): string {
  if (n === 0b0100) return 'Non-cacheable';
  const transient = (n & 0b1000) === 0;
  const kind = n & 0b0100 ? 'Write-Back' : 'Write-Through';
  const r = n & 0b10 ? 'R' : '';
  const w = n & 0b01 ? 'W' : '';
  const alloc = r || w ? `${r}${w}-allocate` : 'no-allocate';
  return `${kind} ${transient ? 'transient' : 'non-transient'} ${alloc}`;
}

const DEVICE_NAMES = ['Device-nGnRnE', 'Device-nGnRE', 'Device-nGRE', 'Device-GRE'] as const;

/** @throws InvalidArgumentError unless `value` is an integer from 0 to 255. */
function attrByte(value: unknown): number {
  if (typeof value !== 'number' || (value & 0xff) !== value) {
    throw new InvalidArgumentError('MAIR attribute byte', value, 'an integer from 0 to 255');
  }
  return value;
}

/**
 * The neutral memory type of a MAIR attribute byte, or undefined for a reserved encoding.
 * Device-* → `device`; Normal with both nibbles of one cacheability → that type; a mixed
 * Normal attribute is classified by its inner nibble (what the CPU's own caches do);
 * 0xF0 (Tagged Normal, FEAT_MTE2) → `normal-wb`; 0x40 / 0xA0 (FEAT_XS Normal NC / WT) likewise.
 * @throws InvalidArgumentError unless `byte` is an integer from 0 to 255.
 */
export function classifyMairAttribute(byte: number): MemoryType | undefined {
  const b = attrByte(byte);
  const outer = b >>> 4;
  const inner = b & 0xf;
  if (outer === 0) return (inner & 0b11) === 0 ? 'device' : undefined;
  if (b === 0xf0) return 'normal-wb';
  if (b === 0x40) return 'normal-nc';
  if (b === 0xa0) return 'normal-wt';
  if (inner === 0) return undefined;
  const c = nibbleClass(inner);
  return c === 'wb' ? 'normal-wb' : c === 'wt' ? 'normal-wt' : 'normal-nc';
}

/**
 * Explains a MAIR attribute byte in the manual's words.
 * @throws InvalidArgumentError unless `byte` is an integer from 0 to 255.
 */
export function mairAttributeMeaning(byte: number): string {
  const b = attrByte(byte);
  const outer = b >>> 4;
  const inner = b & 0xf;
  if (outer === 0) {
    if ((inner & 0b11) === 0) return DEVICE_NAMES[inner >>> 2]!;
    return 'reserved Device encoding (UNPREDICTABLE)';
  }
  if (b === 0xf0) return 'Normal Tagged, Inner+Outer Write-Back non-transient RW-allocate (FEAT_MTE2)';
  if (b === 0x40) return 'Normal, Inner+Outer Non-cacheable, XS = 0 (FEAT_XS)';
  if (b === 0xa0) return 'Normal, Inner+Outer Write-Through non-transient R-allocate, XS = 0 (FEAT_XS)';
  if (inner === 0) return 'reserved Normal encoding (UNPREDICTABLE)';
  if (inner === outer) return `Normal, Inner+Outer ${nibbleMeaning(inner)}`;
  return `Normal, Inner ${nibbleMeaning(inner)}, Outer ${nibbleMeaning(outer)}`;
}

/** The attribute byte each neutral type prefers (Linux: MT_NORMAL 0xFF, MT_NORMAL_NC 0x44, ioremap Device-nGnRE 0x04). */
const PREFERRED_BYTE: Record<MemoryType, number> = {
  'normal-wb': 0xff,
  'normal-nc': 0x44,
  'normal-wt': 0xbb,
  device: 0x04,
};

/**
 * The index map derived from one MAIR_EL1 value. Hot-path friendly: `typeOfIndex[attrIndx]`
 * is an index into {@link MEMORY_TYPES}.
 */
export class MairMap {
  /** The eight attribute bytes, Attr0 first. */
  readonly bytes: Uint8Array;
  /**
   * Neutral type code (index into MEMORY_TYPES) of each AttrIndx. A reserved encoding
   * maps to `device`, the most restrictive type, so nothing is assumed cacheable.
   */
  readonly typeOfIndex: Uint8Array;
  private readonly indexOfType: Int8Array;

  /** @throws InvalidArgumentError unless `mair` is a 64-bit unsigned bigint. */
  constructor(readonly mair: bigint) {
    if (typeof mair !== 'bigint' || mair < 0n || mair >= 1n << 64n) {
      throw new InvalidArgumentError('MAIR_EL1', mair, 'a 64-bit unsigned bigint');
    }
    this.bytes = new Uint8Array(8);
    this.typeOfIndex = new Uint8Array(8);
    for (let i = 0; i < 8; i++) {
      const b = Number((mair >> BigInt(8 * i)) & 0xffn);
      this.bytes[i] = b;
      this.typeOfIndex[i] = MEMORY_TYPES.indexOf(classifyMairAttribute(b) ?? 'device');
    }
    this.indexOfType = new Int8Array(MEMORY_TYPES.length).fill(-1);
    MEMORY_TYPES.forEach((type, code) => {
      const preferred = this.bytes.indexOf(PREFERRED_BYTE[type]);
      let fallback = -1;
      let tagged = -1;
      for (let i = 0; i < 8 && fallback < 0; i++) {
        if (classifyMairAttribute(this.bytes[i]!) !== type) continue;
        if (this.bytes[i] === 0xf0) {
          if (tagged < 0) tagged = i;
        } else fallback = i;
      }
      this.indexOfType[code] = preferred >= 0 ? preferred : fallback >= 0 ? fallback : tagged;
    });
  }

  /**
   * AttrIndx to encode for a neutral type, or -1 if no attribute of that type is programmed.
   * Prefers the canonical byte (0xFF, 0x44, 0xBB, Device-nGnRE 0x04), then the first attribute
   * of the same type (Tagged 0xF0 last). Anything that is not a neutral memory type gives -1.
   */
  indexFor(type: MemoryType): number {
    const code = typeof type === 'string' ? MEMORY_TYPES.indexOf(type) : -1;
    return code < 0 ? -1 : this.indexOfType[code]!;
  }

  /**
   * The explained attribute at `index` (0 … 7).
   * @throws InvalidArgumentError unless `index` is an integer from 0 to 7.
   */
  attribute(index: number): MairAttribute {
    if (typeof index !== 'number' || (index & 7) !== index) {
      throw new InvalidArgumentError('AttrIndx', index, 'an integer from 0 to 7');
    }
    const byte = this.bytes[index]!;
    return {
      index: index & 7,
      byte,
      meaning: mairAttributeMeaning(byte),
      memoryType: classifyMairAttribute(byte),
    };
  }
}
