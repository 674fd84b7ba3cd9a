/**
 * Field-by-field explanation of a VMSAv8-64 stage-1 descriptor (arch-facts A5),
 * in the manual's field names. This is what `mmkit decode aarch64 <value>
 * --level N` prints. Not a hot path: BigInt throughout.
 */
import { type Field, hex, InvalidArgumentError } from '@mmkit/core';
import { AARCH64_LEVEL_NAMES } from './constants.js';
import type { MairMap } from './mair.js';

/** What the explanation depends on. */
export interface DescribeConfig {
  readonly hardwareDirty: boolean;
  readonly mair: MairMap;
}

function bitsOf(value: bigint, hi: number, lo: number): bigint {
  return (value >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
}

function range(hi: number, lo: number): string {
  return hi === lo ? `[${hi}]` : `[${hi}:${lo}]`;
}

function field(name: string, value: bigint, hi: number, lo: number, meaning: string): Field {
  return { name, bits: range(hi, lo), value: bitsOf(value, hi, lo), meaning };
}

/** A field whose value is shown as an address (the bits in place, not shifted down). */
function addressField(name: string, value: bigint, hi: number, lo: number, meaning: string): Field {
  return { name, bits: range(hi, lo), value: bitsOf(value, hi, lo) << BigInt(lo), meaning };
}

const AP_MEANING = [
  'EL1 read/write, EL0 no access',
  'EL1 read/write, EL0 read/write',
  'EL1 read-only, EL0 no access',
  'EL1 read-only, EL0 read-only',
] as const;

const AP_TABLE_MEANING = [
  'no effect on lower levels',
  'no EL0 access at lower levels (forces AP[1] = 0)',
  'read-only at lower levels (forces AP[2] = 1)',
  'read-only and no EL0 access at lower levels',
] as const;

const SH_MEANING = [
  'Non-shareable',
  'reserved (CONSTRAINED UNPREDICTABLE)',
  'Outer Shareable',
  'Inner Shareable',
] as const;

const LEAF_NAMES = ['', 'page (4 KiB)', 'block (2 MiB)', 'block (1 GiB)'] as const;
const LEAF_SHIFT = [0, 12, 21, 30] as const;

/**
 * Explains `value` found at internal `level` (1 = L3 … 4 = L0).
 * @throws InvalidArgumentError for a value outside [0, 2^64) or a level outside 1 … 4.
 */
export function describeDescriptor(value: bigint, level: number, config: DescribeConfig): Field[] {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) {
    throw new InvalidArgumentError('descriptor', value, 'a 64-bit unsigned bigint');
  }
  if (level !== 1 && level !== 2 && level !== 3 && level !== 4) {
    throw new InvalidArgumentError('level', level, 'an internal level from 1 (L3) to 4 (L0)');
  }
  const name = AARCH64_LEVEL_NAMES[level];
  const valid = (value & 1n) === 1n;
  if (!valid) {
    if (value === 0n) {
      return [
        field(
          'Valid',
          value,
          0,
          0,
          `0: invalid, all bits zero (absent); a walk takes a Translation fault, level ${4 - level}`,
        ),
      ];
    }
    const out: Field[] = [
      field(
        'Valid',
        value,
        0,
        0,
        `0: invalid; a walk takes a Translation fault, level ${4 - level}; bits [63:1] are ignored by hardware`,
      ),
    ];
    const upper = bitsOf(value, 63, 53);
    out.push(
      field(
        'Software payload',
        value,
        52,
        1,
        upper === 0n
          ? 'mmkit software entry payload (e.g. a swap slot)'
          : 'ignored (not an mmkit software entry: bits [63:53] are set)',
      ),
      field('ignored', value, 63, 53, upper === 0n ? 'zero' : 'set by software; ignored by hardware'),
    );
    return out;
  }
  const type = Number(bitsOf(value, 1, 0));
  if (type === 1 && (level === 1 || level === 4)) {
    return [
      field('Valid', value, 0, 0, '1: valid'),
      field(
        'Descriptor type',
        value,
        1,
        0,
        level === 1
          ? '0b01: reserved at L3 (block encoding): Translation fault, level 3'
          : '0b01: block at L0 needs FEAT_LPA2 (TCR_EL1.DS = 1): Translation fault, level 0',
      ),
    ];
  }
  if (type === 3 && level > 1) return describeTable(value, level);
  return describeLeaf(value, type === 3 ? 1 : level, config, name ?? '');
}

function describeTable(value: bigint, level: number): Field[] {
  const next = AARCH64_LEVEL_NAMES[level - 1];
  const oaHigh = bitsOf(value, 51, 48);
  const address = bitsOf(value, 47, 12) << 12n;
  return [
    field('Valid', value, 0, 0, '1: valid'),
    field('Descriptor type', value, 1, 1, `1: table descriptor (0b11): next level is ${next}`),
    field('ignored', value, 11, 2, 'ignored by hardware'),
    addressField('Next-level table address', value, 47, 12, `${next} table at physical ${hex(address, 12)}`),
    field(
      'RES0',
      value,
      51,
      48,
      oaHigh === 0n
        ? 'zero'
        : 'non-zero: next-table address above the 48-bit OA size: Address size fault at this level',
    ),
    field('ignored', value, 58, 52, 'ignored by hardware'),
    field(
      'PXNTable',
      value,
      59,
      59,
      bitsOf(value, 59, 59) ? 'EL1 execute-never at lower levels' : 'no effect',
    ),
    field(
      'UXNTable',
      value,
      60,
      60,
      bitsOf(value, 60, 60) ? 'EL0 execute-never at lower levels' : 'no effect',
    ),
    field('APTable', value, 62, 61, AP_TABLE_MEANING[Number(bitsOf(value, 62, 61))]!),
    field('NSTable', value, 63, 63, 'ignored in the Non-secure EL1&0 regime'),
  ];
}

function describeLeaf(value: bigint, level: number, config: DescribeConfig, levelName: string): Field[] {
  const shift = LEAF_SHIFT[level]!;
  const attrIndx = Number(bitsOf(value, 4, 2));
  const attr = config.mair.attribute(attrIndx);
  const ap = Number(bitsOf(value, 7, 6));
  const af = bitsOf(value, 10, 10) === 1n;
  const dbm = bitsOf(value, 51, 51) === 1n;
  const ap2 = (ap & 2) !== 0;
  const oa = bitsOf(value, 47, shift) << BigInt(shift);
  const out: Field[] = [
    field('Valid', value, 0, 0, '1: valid'),
    field(
      'Descriptor type',
      value,
      1,
      1,
      level === 1
        ? '1: page descriptor (0b11) at L3, 4 KiB'
        : `0: block descriptor (0b01) at ${levelName}, ${LEAF_NAMES[level]}`,
    ),
    field('AttrIndx', value, 4, 2, `MAIR_EL1.Attr${attrIndx} = ${hex(attr.byte, 2)}: ${attr.meaning}`),
    field('NS', value, 5, 5, 'ignored in the Non-secure EL1&0 regime'),
    field('AP[2:1]', value, 7, 6, AP_MEANING[ap]!),
    field('SH', value, 9, 8, SH_MEANING[Number(bitsOf(value, 9, 8))]!),
    field(
      'AF',
      value,
      10,
      10,
      af
        ? 'accessed'
        : 'not accessed: first access takes an Access flag fault, or sets AF when TCR_EL1.HA = 1',
    ),
    field(
      'nG',
      value,
      11,
      11,
      bitsOf(value, 11, 11) ? 'not global: tagged with the current ASID' : 'global: matches every ASID',
    ),
  ];
  if (level !== 1) {
    // Block descriptors: bits [n-1:12] are RES0 except nT (bit 16).
    out.push(
      field(
        'RES0',
        value,
        15,
        12,
        bitsOf(value, 15, 12) === 0n ? 'zero' : 'non-zero RES0 bits (ignored by QEMU)',
      ),
    );
    out.push(field('nT', value, 16, 16, 'FEAT_BBM: block translation entry hint'));
    out.push(
      field(
        'RES0',
        value,
        shift - 1,
        17,
        bitsOf(value, shift - 1, 17) === 0n ? 'zero' : 'non-zero RES0 bits (ignored by QEMU)',
      ),
    );
  }
  const oaHigh = bitsOf(value, 49, 48);
  let dbmMeaning: string;
  if (!config.hardwareDirty)
    dbmMeaning = dbm
      ? 'set but ignored (TCR_EL1.HD = 0): Linux PTE_WRITE; a write to AP[2] = 1 faults'
      : 'clear';
  else if (!dbm) dbmMeaning = 'clear: hardware never makes this entry writable';
  else
    dbmMeaning = ap2
      ? 'writable-clean: the first write clears AP[2] (TCR_EL1.HD = 1)'
      : 'writable, dirty (AP[2] = 0)';
  out.push(
    addressField('Output address', value, 47, shift, `physical ${hex(oa, 12)} (${LEAF_NAMES[level]})`),
    field(
      'RES0',
      value,
      49,
      48,
      oaHigh === 0n ? 'zero' : 'non-zero: output address above the 48-bit OA size: Address size fault',
    ),
    field('GP', value, 50, 50, bitsOf(value, 50, 50) ? 'guarded page (FEAT_BTI)' : 'not guarded'),
    field('DBM', value, 51, 51, dbmMeaning),
    field(
      'Contiguous',
      value,
      52,
      52,
      bitsOf(value, 52, 52) ? 'one of 16 contiguous entries (TLB hint)' : 'not contiguous',
    ),
    field(
      'PXN',
      value,
      53,
      53,
      bitsOf(value, 53, 53) ? 'EL1 execute-never' : 'EL1 may execute (unless EL0 can write)',
    ),
    field('UXN', value, 54, 54, bitsOf(value, 54, 54) ? 'EL0 execute-never' : 'EL0 may execute'),
    field('SW', value, 58, 55, softwareMeaning(value)),
    field('ignored', value, 62, 59, 'ignored by hardware (POIndex / PBHA with FEAT_S1POE / FEAT_HPDS2)'),
    field('ignored', value, 63, 63, 'ignored by hardware (Linux uses it as a software bit)'),
  );
  return out;
}

/**
 * The meaning of a leaf's software bits [58:55] as Linux arm64 uses them: bit 55 `PTE_DIRTY`
 * (dirty, kept while write-protected), bit 56 `PTE_SPECIAL` (`pte_mkspecial`: the zero page or a
 * PFN map, no page to count).
 */
function softwareMeaning(value: bigint): string {
  const named: string[] = [];
  if (bitsOf(value, 55, 55)) named.push('bit 55 = Linux PTE_DIRTY: dirty, kept while write-protected');
  if (bitsOf(value, 56, 56))
    named.push('bit 56 = Linux PTE_SPECIAL: special (the zero page or a PFN map: no page to count)');
  return ['reserved for software (mmkit `software` value)', ...named].join('; ');
}
