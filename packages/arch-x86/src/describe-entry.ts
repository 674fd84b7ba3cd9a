/**
 * Field-by-field explanation of an x86 paging-structure entry in the manual's
 * names (P, R/W, U/S, PWT, PCD, A, D, PS, PAT, G, AVL, address, PK, XD and the
 * reserved ranges), for every level of every mode (arch-facts B3, B4, B9).
 * The fields cover every bit of the entry exactly once. This is what
 * `mmkit decode x86_64 <value> --level PT` prints. Not a hot path: BigInt.
 */
import { type Field, hex, InvalidArgumentError } from '@mmkit/core';
import { X86_LEVEL_NAMES } from './modes.js';
import type { X86Format } from './options.js';
import { patTypeMeaning } from './pat.js';

function bitsOf(value: bigint, hi: number, lo: number): bigint {
  return (value >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
}

function span(hi: number, lo: number): string {
  return hi === lo ? `[${hi}]` : `[${hi}:${lo}]`;
}

function field(name: string, value: bigint, hi: number, lo: number, meaning: string): Field {
  return { name, bits: span(hi, lo), value: bitsOf(value, hi, lo), meaning };
}

/** A field whose value is shown as an address (the bits in place, not shifted down). */
function addressField(name: string, value: bigint, hi: number, lo: number, meaning: string): Field {
  return { name, bits: span(hi, lo), value: bitsOf(value, hi, lo) << BigInt(lo), meaning };
}

function reserved(value: bigint, hi: number, lo: number, where: string): Field {
  const v = bitsOf(value, hi, lo);
  return {
    name: 'reserved',
    bits: span(hi, lo),
    value: v,
    meaning:
      v === 0n ? `zero (reserved ${where})` : `non-zero: reserved ${where}: a walk takes a #PF with RSVD`,
  };
}

function flag(value: bigint, bit: number, name: string, one: string, zero: string): Field {
  const v = bitsOf(value, bit, bit);
  return { name, bits: span(bit, bit), value: v, meaning: v === 1n ? `1: ${one}` : `0: ${zero}` };
}

/**
 * Explains `value` found at internal `level` (1 = PT … root) of the format's mode.
 * @throws InvalidArgumentError for a value outside [0, 2^64) (2^32 in `x86-32`) or an unknown level.
 */
export function describeEntry(value: bigint, level: number, f: X86Format): Field[] {
  const width = f.wide ? 64 : 32;
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << BigInt(width)) {
    throw new InvalidArgumentError(`${f.mode} entry`, value, `a ${width}-bit unsigned bigint`);
  }
  const names = X86_LEVEL_NAMES[f.mode];
  if (!Number.isInteger(level) || level < 1 || level > f.levels) {
    throw new InvalidArgumentError(
      `${f.mode} level`,
      level,
      `an internal level from 1 (PT) to ${f.levels} (${names[f.levels]})`,
    );
  }
  const name = names[level]!;
  const entry = `${name}E`;
  const top = width - 1;
  if ((value & 1n) === 0n) {
    const out: Field[] = [
      {
        name: 'P',
        bits: '[0]',
        value: 0n,
        meaning:
          value === 0n
            ? `0: not present, all bits zero (absent); a walk takes a #PF with P = 0 at the ${name}`
            : `0: not present; a walk takes a #PF with P = 0 at the ${name}; bits ${top}:1 are ignored by hardware`,
      },
    ];
    if (value === 0n) return [...out, field('ignored', value, top, 1, 'zero')];
    if (!f.wide)
      return [
        ...out,
        field('software payload', value, 31, 1, 'mmkit software entry payload (e.g. a swap slot)'),
      ];
    const upper = bitsOf(value, 63, 52);
    return [
      ...out,
      field(
        'software payload',
        value,
        51,
        1,
        upper === 0n
          ? 'mmkit software entry payload (e.g. a swap slot)'
          : 'ignored (not an mmkit software entry: bits 63:52 are set)',
      ),
      field('ignored', value, 63, 52, upper === 0n ? 'zero' : 'set by software; ignored by hardware'),
    ];
  }
  const m = f.wide ? f.options.maxPhysAddr : 32;
  const out: Field[] = [flag(value, 0, 'P', 'present', 'not present')];
  // PAE PDPTE: only P, PWT, PCD, AVL and the address (arch-facts B3).
  if (f.wide && !f.ia32e && level === 3) {
    const pd = bitsOf(value, m - 1, 12) << 12n;
    out.push(
      reserved(value, 2, 1, 'in a PAE PDPTE'),
      flag(
        value,
        3,
        'PWT',
        'the page directory is accessed write-through',
        'the page directory is accessed write-back',
      ),
      flag(value, 4, 'PCD', 'the page directory is not cached', 'the page directory may be cached'),
      reserved(value, 8, 5, 'in a PAE PDPTE (no A, D, PS or G)'),
      field('AVL', value, 11, 9, 'available to software'),
      addressField('address', value, m - 1, 12, `page directory at physical ${hex(pd, 9)}`),
      reserved(value, 63, m, `in a PAE PDPTE (bits 63:${m}, XD included)`),
    );
    return out;
  }
  const ps = (value >> 7n) & 1n;
  const leaf =
    level === 1 ||
    (!f.wide && level === 2 && f.options.pse && ps === 1n) ||
    (f.wide && (level === 2 || (level === 3 && f.ia32e)) && ps === 1n);
  const large = leaf && level > 1;
  const what = leaf ? 'page' : 'everything below';
  out.push(
    flag(
      value,
      1,
      'R/W',
      leaf ? 'writable' : 'writes allowed below (if the lower entries allow them too)',
      leaf
        ? 'read-only (supervisor writes still allowed with CR0.WP = 0)'
        : 'read-only for everything below (supervisor writes allowed with CR0.WP = 0)',
    ),
    flag(
      value,
      2,
      'U/S',
      `user-accessible ${leaf ? '' : '(if the lower entries allow it too)'}`.trim(),
      `supervisor-only ${what}`,
    ),
  );
  if (leaf) {
    const patBit = large ? bitsOf(value, 12, 12) : bitsOf(value, 7, 7);
    const index = Number((patBit << 2n) | (bitsOf(value, 4, 4) << 1n) | bitsOf(value, 3, 3));
    const type = f.pat.entries[index]!;
    const tail = `PAT index ${index}: IA32_PAT.PA${index} = ${type.name} (${patTypeMeaning(type.type)}), ${type.memoryType}`;
    out.push(
      field('PWT', value, 3, 3, `PAT index bit 0 (${tail})`),
      field('PCD', value, 4, 4, 'PAT index bit 1'),
      flag(value, 5, 'A', 'accessed (set by the walk)', 'not accessed since software cleared it'),
      flag(value, 6, 'D', 'dirty (set by the first write)', 'clean'),
    );
    if (large)
      out.push(
        field('PS', value, 7, 7, `1: maps a ${level === 3 ? '1 GiB' : f.wide ? '2 MiB' : '4 MiB'} page`),
      );
    else out.push(field('PAT', value, 7, 7, 'PAT index bit 2'));
    out.push(
      flag(
        value,
        8,
        'G',
        f.options.pge ? 'global: survives CR3 loads (CR4.PGE = 1)' : 'global, but ignored: CR4.PGE = 0',
        'not global',
      ),
    );
  } else {
    out.push(
      flag(
        value,
        3,
        'PWT',
        'the next table is accessed write-through',
        'the next table is accessed write-back',
      ),
      flag(value, 4, 'PCD', 'the next table is not cached', 'the next table may be cached'),
      flag(value, 5, 'A', 'accessed (set by the walk)', 'not accessed since software cleared it'),
      field('ignored', value, 6, 6, 'ignored in an entry that references a table'),
    );
    if (level >= 4) {
      out.push(
        field(
          'PS',
          value,
          7,
          7,
          ps === 1n
            ? `1: reserved in a ${entry}: a walk takes a #PF with RSVD`
            : `0 (must be 0 in a ${entry})`,
        ),
      );
    } else if (!f.wide && !f.options.pse) {
      out.push(field('PS', value, 7, 7, `${ps}: ignored (CR4.PSE = 0: no 4 MiB pages)`));
    } else {
      out.push(field('PS', value, 7, 7, '0: references a table'));
    }
    out.push(field('ignored', value, 8, 8, 'ignored in an entry that references a table (no G)'));
  }
  out.push(
    field(
      'AVL',
      value,
      11,
      9,
      leaf && bitsOf(value, 9, 9)
        ? 'available to software; bit 9 = Linux _PAGE_SPECIAL: special (the zero page or a PFN map: no page to count)'
        : 'available to software',
    ),
  );
  const next = names[level - 1];
  if (!f.wide) {
    if (large) {
      const m4 = f.pse36Bits;
      const pa = (bitsOf(value, 31, 22) << 22n) | (m4 > 32 ? bitsOf(value, m4 - 20, 13) << 32n : 0n);
      out.push(field('PAT', value, 12, 12, 'PAT index bit 2'));
      if (m4 > 32) {
        out.push({
          name: 'address',
          bits: span(m4 - 20, 13),
          value: bitsOf(value, m4 - 20, 13) << 32n,
          meaning: `PA[${m4 - 1}:32] of the page (PSE-36)`,
        });
      }
      out.push(
        reserved(
          value,
          21,
          m4 - 19,
          m4 > 32 ? `in a 4 MiB PDE (MAXPHYADDR ${m4})` : 'in a 4 MiB PDE (no PSE-36)',
        ),
        addressField('address', value, 31, 22, `4 MiB page at physical ${hex(pa, 8)}`),
      );
    } else {
      const pa = bitsOf(value, 31, 12) << 12n;
      out.push(
        addressField(
          'address',
          value,
          31,
          12,
          leaf ? `4 KiB page at physical ${hex(pa, 8)}` : `${next} at physical ${hex(pa, 8)}`,
        ),
      );
    }
    return out;
  }
  if (large) {
    const shift = level === 3 ? 30 : 21;
    const pa = bitsOf(value, m - 1, shift) << BigInt(shift);
    out.push(
      field('PAT', value, 12, 12, 'PAT index bit 2'),
      reserved(value, shift - 1, 13, `in a ${level === 3 ? '1 GiB' : '2 MiB'} page entry`),
      addressField(
        'address',
        value,
        m - 1,
        shift,
        `${level === 3 ? '1 GiB' : '2 MiB'} page at physical ${hex(pa, 10)}`,
      ),
    );
  } else {
    const pa = bitsOf(value, m - 1, 12) << 12n;
    out.push(
      addressField(
        'address',
        value,
        m - 1,
        12,
        leaf ? `4 KiB page at physical ${hex(pa, 10)}` : `${next} at physical ${hex(pa, 10)}`,
      ),
    );
  }
  if (m < 52) out.push(reserved(value, 51, m, `above MAXPHYADDR ${m}`));
  if (!f.ia32e) {
    out.push(reserved(value, 62, 52, 'in PAE paging'));
  } else if (leaf) {
    const key = bitsOf(value, 62, 59);
    out.push(
      field('AVL', value, 58, 52, 'available to software'),
      field(
        'PK',
        value,
        62,
        59,
        f.options.pke
          ? `protection key ${key}: PKRU.AD${key}/WD${key} apply to user pages`
          : `protection key ${key}, ignored (CR4.PKE = 0)`,
      ),
    );
  } else {
    out.push(field('ignored', value, 62, 52, 'ignored in an entry that references a table'));
  }
  const xd = bitsOf(value, 63, 63);
  out.push({
    name: 'XD',
    bits: '[63]',
    value: xd,
    meaning: !f.options.nxe
      ? xd === 1n
        ? '1: reserved with EFER.NXE = 0: a walk takes a #PF with RSVD'
        : '0 (reserved with EFER.NXE = 0)'
      : xd === 1n
        ? `1: execute-disable${leaf ? '' : ' for everything below'}`
        : '0: instruction fetches allowed',
  });
  return out;
}
