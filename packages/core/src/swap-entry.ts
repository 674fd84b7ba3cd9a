/**
 * Swap entries in non-present PTEs (contract v2, optional part {@link ArchBackend.swap}).
 *
 * When Linux swaps a page out it replaces the leaf PTE by a non-present PTE that names the slot:
 * `swp_entry_to_pte(swp_entry(type, offset))` (include/linux/swapops.h), where `type` is the swap
 * device (the index of `swapon`'s `swap_info[]`) and `offset` the page-sized slot in it. How
 * (type, offset) is laid out in the PTE is each architecture's `__swp_entry` /
 * `__swp_entry_to_pte` macros. A backend declares its layout as data ({@link LinuxSwapLayout})
 * and core derives the codec ({@link createSwapEntryCodec}); the kernel calls the codec on every
 * swap-out and swap-in, so encode and decode use numbers and 32-bit halves only, no BigInt.
 *
 * Limits (all exact in a double: offsets stay below 2^53):
 * - `type` is 0 … {@link SwapEntryCodec.maxType} (31: Linux's MAX_SWAPFILES_SHIFT = 5 bits on
 *   every architecture mmkit models). A real swap device uses only the types below
 *   `MAX_SWAPFILES` (`include/linux/swap.h`): 32 minus the special types Linux keeps at the top
 *   (one SWP_PTE_MARKER, then the device-private/device-exclusive, migration and hwpoison types,
 *   as configured; {@link LINUX_SWAP_TYPES}). The codec encodes all 32 because those special
 *   entries share the format; which one a type means is the kernel's business.
 * - `offset` is 0 … {@link SwapEntryCodec.maxOffset}, the largest offset that survives
 *   `pte_to_swp_entry(swp_entry_to_pte(swp_entry(0, offset)))` (what `generic_max_swapfile_size`
 *   in mm/swapfile.c computes): 2^50 − 1 on x86-64 and arm64, 2^26 − 1 on x86 PAE (the 32-bit
 *   arch-independent `swp_entry_t` keeps 26 offset bits), 2^23 − 1 on 32-bit x86 (bits 31:9).
 *   Slot 0 of a real device holds the swap header and is never handed out.
 * - A PTE of all zeros is `pte_none` (no entry at all), never a swap entry: the one (type, offset,
 *   flags) whose encoding is zero is refused with {@link UnrepresentableError} ((0, 0) on formats
 *   without inversion; (0, 2^50 − 1) on x86-64, whose stored offset is inverted).
 *
 * Flags: Linux keeps a few bits of per-PTE state in a swap PTE besides the entry (they are not
 * part of `swp_entry_t`): `_PAGE_SWP_EXCLUSIVE` / `PTE_SWP_EXCLUSIVE` (the page was exclusive to
 * this process: PG_anon_exclusive), `_PAGE_SWP_SOFT_DIRTY` (soft-dirty tracking,
 * CONFIG_MEM_SOFT_DIRTY) and `_PAGE_SWP_UFFD_WP` / `PTE_SWP_UFFD_WP` (userfaultfd
 * write-protect). {@link SwapEntryCodec.flagBits} says which the format has.
 */
import type { Field, RawDescriptor } from './arch.js';
import { InvalidArgumentError, OutOfRangeError, UnrepresentableError } from './errors.js';

/** A swap entry as the kernel names it: Linux's `swp_type()` and `swp_offset()`, plus flags. */
export interface SwapEntry {
  /** Swap device / special type, 0 … {@link SwapEntryCodec.maxType}. */
  readonly type: number;
  /** Page-sized slot in the device, 0 … {@link SwapEntryCodec.maxOffset}. */
  readonly offset: number;
  /** PG_anon_exclusive remembered in the PTE (`pte_swp_exclusive`). Default false. */
  readonly exclusive?: boolean;
  /** Soft-dirty remembered in the PTE (`pte_swp_soft_dirty`). Default false. */
  readonly softDirty?: boolean;
  /** userfaultfd write-protect remembered in the PTE (`pte_swp_uffd_wp`). Default false. */
  readonly uffdWp?: boolean;
}

/** A decoded swap PTE: every flag is reported (false where the format has no bit for it). */
export interface DecodedSwapEntry extends SwapEntry {
  readonly exclusive: boolean;
  readonly softDirty: boolean;
  readonly uffdWp: boolean;
}

/** PTE bit numbers (0 … 63) of the flags a format keeps in swap PTEs; undefined = no such bit. */
export interface SwapFlagBits {
  readonly exclusive: number | undefined;
  readonly softDirty: number | undefined;
  readonly uffdWp: number | undefined;
}

/**
 * Swap entry ⇄ non-present leaf PTE, exactly as Linux encodes it on the architecture.
 *
 * Hot path: {@link encode} and {@link decode} take and return numbers (32-bit halves of the
 * descriptor); they allocate only the returned object.
 */
export interface SwapEntryCodec {
  /** What format this is, e.g. `Linux x86-64 swap entry (L1TF-inverted offset)`. */
  readonly name: string;
  /** Largest type the format holds (31). */
  readonly maxType: number;
  /** Largest offset the format holds (see the module doc; at most 2^50 − 1). */
  readonly maxOffset: number;
  /** Which flags the format has a PTE bit for. */
  readonly flagBits: SwapFlagBits;
  /**
   * The non-present leaf PTE Linux writes for `swp_entry(type, offset)` with the given flags
   * (`hi` is 0 for 4-byte formats).
   * @throws InvalidArgumentError if `entry` is not an object.
   * @throws OutOfRangeError if `type` or `offset` is not an integer in range.
   * @throws UnrepresentableError for a flag set to true that the format has no bit for, or an
   *   entry whose encoding would be all zeros (`pte_none`).
   */
  encode(entry: SwapEntry): RawDescriptor;
  /**
   * The swap entry in a PTE found at internal `level`, or undefined if it is not a swap PTE:
   * zero, present (to the hardware or to Linux, e.g. x86/arm64 PROT_NONE), another non-present
   * encoding (any bit set that Linux's swap encoding leaves clear), an offset beyond
   * {@link maxOffset}, or a level other than 1 (Linux writes swap entries only in leaf PTEs).
   * Exactly: decode(lo, hi, 1) = e iff encode(e) = { lo, hi }. Never throws.
   */
  decode(lo: number, hi: number, level: number): DecodedSwapEntry | undefined;
  /** Explains a swap PTE field by field (for any value; fields name what a swap PTE needs). */
  describe(value: bigint): readonly Field[];
}

/** One bit a swap PTE must leave clear, for explanations. */
export interface SwapZeroBit {
  /** Manual or Linux name, e.g. `P`, `PROT_NONE (G)`, `PTE_VALID`. */
  readonly name: string;
  readonly bit: number;
  /** Why it must be clear. */
  readonly meaning: string;
}

/**
 * A Linux swap-PTE layout as data: where the type and the offset sit, whether the offset is stored
 * inverted (x86 L1TF mitigation), the flag bits, and the bits that must stay clear. Every bit not
 * in a field or a flag must be zero in a swap PTE.
 */
export interface LinuxSwapLayout {
  readonly name: string;
  /** 4 or 8. */
  readonly descriptorBytes: 4 | 8;
  /** Lowest PTE bit of the type field. */
  readonly typeShift: number;
  /** Width of the type field (5: MAX_SWAPFILES_SHIFT). */
  readonly typeBits: number;
  /** Lowest PTE bit of the offset field. */
  readonly offsetShift: number;
  /** Width of the offset field in the PTE (stored inverted when {@link invertOffset}). */
  readonly offsetBits: number;
  /** Largest offset (≤ 2^offsetBits − 1; smaller where the arch-independent entry is narrower). */
  readonly maxOffset: number;
  /** The field holds ~offset (x86-64 and PAE since the L1TF mitigation). */
  readonly invertOffset: boolean;
  readonly flagBits: SwapFlagBits;
  /** Bits that must be clear, named for explanations (a subset of all bits outside the fields). */
  readonly zeroBits: readonly SwapZeroBit[];
}

/**
 * The type numbers Linux reserves at the top of the 5-bit type for entries that are not swap
 * slots, in a kernel with CONFIG_MIGRATION, CONFIG_MEMORY_FAILURE and CONFIG_DEVICE_PRIVATE
 * (`include/linux/swap.h`, v6.2 to v6.14: SWP_DEVICE_NUM = 4, SWP_MIGRATION_NUM = 3,
 * SWP_HWPOISON_NUM = 1, SWP_PTE_MARKER_NUM = 1, so MAX_SWAPFILES = 32 − 9 = 23). Other
 * configurations move MAX_SWAPFILES up; SWP_PTE_MARKER is always 31.
 */
export const LINUX_SWAP_TYPES = Object.freeze({
  /** MAX_SWAPFILES_SHIFT: bits of the type. */
  maxSwapfilesShift: 5,
  /** Types 0 … maxSwapfiles − 1 are swap devices (`swapon`). */
  maxSwapfiles: 23,
  /** SWP_HWPOISON = MAX_SWAPFILES. */
  hwpoison: 23,
  /** SWP_MIGRATION_READ, SWP_MIGRATION_READ_EXCLUSIVE, SWP_MIGRATION_WRITE. */
  migration: Object.freeze([24, 25, 26]),
  /** SWP_DEVICE_WRITE, SWP_DEVICE_READ, SWP_DEVICE_EXCLUSIVE_WRITE, SWP_DEVICE_EXCLUSIVE_READ. */
  devicePrivate: Object.freeze([27, 28, 29, 30]),
  /** SWP_PTE_MARKER (uffd-wp markers, poison and guard markers). */
  pteMarker: 31,
});

/**
 * What a type number means in the default configuration of {@link LINUX_SWAP_TYPES}.
 * @throws OutOfRangeError unless `type` is an integer from 0 to 31.
 */
export function linuxSwapTypeMeaning(type: number): string {
  if (!Number.isInteger(type) || type < 0 || type > 31)
    throw new OutOfRangeError('swap type', type, 'an integer from 0 to 31');
  const t = LINUX_SWAP_TYPES;
  if (type < t.maxSwapfiles) return `swap device ${type} (swap_info[${type}], one swapon area)`;
  if (type === t.hwpoison) return 'SWP_HWPOISON: a hardware-poisoned page, not a swap slot';
  if (t.migration.includes(type)) return 'SWP_MIGRATION_*: a page under migration, not a swap slot';
  if (t.devicePrivate.includes(type)) return 'SWP_DEVICE_*: device-private memory, not a swap slot';
  if (type === t.pteMarker) return 'SWP_PTE_MARKER: a PTE marker, not a swap slot';
  return 'unused type';
}

/**
 * One line naming a decoded swap PTE for people: `Linux swap entry type 3, offset 74565,
 * exclusive` — type, offset and the exclusive bit always, soft-dirty and uffd-wp when
 * set. Used by every decoder that shows a swap PTE (the backends' `invalid` reasons, the kernel's
 * dump, `mmkit walk`).
 * @throws InvalidArgumentError unless `entry` is an object with non-negative integers `type` and
 *   `offset`.
 */
export function formatSwapEntry(entry: SwapEntry): string {
  const expected = 'a swap entry { type, offset, exclusive? }';
  if (typeof entry !== 'object' || entry === null)
    throw new InvalidArgumentError('swap entry', entry, expected);
  let fields: SwapEntry;
  try {
    // One read of each field (a getter that throws is the caller's bad argument, not a crash).
    const { type, offset, exclusive, softDirty, uffdWp } = entry;
    fields = { type, offset, exclusive, softDirty, uffdWp };
  } catch {
    throw new InvalidArgumentError('swap entry', '(a getter that throws)', expected);
  }
  const { type, offset } = fields;
  if (!Number.isSafeInteger(type) || type < 0)
    throw new InvalidArgumentError('swap entry.type', type, 'a non-negative integer');
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new InvalidArgumentError('swap entry.offset', offset, 'a non-negative integer');
  let s = `Linux swap entry type ${type}, offset ${offset}, `;
  s += fields.exclusive === true ? 'exclusive' : 'not exclusive';
  if (fields.softDirty === true) s += ', soft-dirty';
  if (fields.uffdWp === true) s += ', uffd-wp';
  return s;
}

const TWO_32 = 2 ** 32;

/** Bits [shift, shift + bits) of the 64-bit value hi:lo, exact for fields up to 53 bits. */
function getField(lo: number, hi: number, shift: number, bits: number): number {
  const end = shift + bits;
  if (shift >= 32) return Math.floor(hi / 2 ** (shift - 32)) % 2 ** bits;
  let v = Math.floor(lo / 2 ** shift) % 2 ** (Math.min(end, 32) - shift);
  if (end > 32) v += (hi % 2 ** (end - 32)) * 2 ** (32 - shift);
  return v;
}

/** Low and high 32-bit halves of `value` (< 2^bits) placed at bit `shift` (exact: value · 2^shift). */
function placeLo(value: number, shift: number): number {
  return (value * 2 ** shift) % TWO_32;
}
function placeHi(value: number, shift: number): number {
  return Math.floor((value * 2 ** shift) / TWO_32) % TWO_32;
}

/** A 64-bit mask of bits [shift, shift + bits) as 32-bit halves. */
function maskOf(shift: number, bits: number): [number, number] {
  const ones = 2 ** bits - 1;
  return [placeLo(ones, shift), placeHi(ones, shift)];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function checkLayout(l: LinuxSwapLayout): void {
  if (!isObject(l)) throw new InvalidArgumentError('swap layout', l, 'a LinuxSwapLayout object');
  if (l.descriptorBytes !== 4 && l.descriptorBytes !== 8)
    throw new InvalidArgumentError('swap layout descriptorBytes', l.descriptorBytes, '4 or 8');
  if (typeof l.name !== 'string') throw new InvalidArgumentError('swap layout name', l.name, 'a string');
  if (typeof l.invertOffset !== 'boolean')
    throw new InvalidArgumentError('swap layout invertOffset', l.invertOffset, 'a boolean');
  if (!isObject(l.flagBits))
    throw new InvalidArgumentError('swap layout flagBits', l.flagBits, '{ exclusive, softDirty, uffdWp }');
  if (!Array.isArray(l.zeroBits))
    throw new InvalidArgumentError('swap layout zeroBits', l.zeroBits, 'an array');
  for (const z of l.zeroBits) {
    if (
      !isObject(z) ||
      typeof z.name !== 'string' ||
      typeof z.meaning !== 'string' ||
      !Number.isInteger(z.bit)
    )
      throw new InvalidArgumentError('swap layout zero bit', z, '{ name, bit, meaning }');
  }
  const width = l.descriptorBytes * 8;
  const fits = (shift: number, bits: number) =>
    Number.isInteger(shift) && Number.isInteger(bits) && shift >= 0 && bits >= 1 && shift + bits <= width;
  if (!fits(l.typeShift, l.typeBits) || l.typeBits > 8)
    throw new OutOfRangeError(
      'swap layout type field',
      [l.typeShift, l.typeBits],
      `1 … 8 bits within ${width}`,
    );
  if (!fits(l.offsetShift, l.offsetBits) || l.offsetBits > 50)
    throw new OutOfRangeError(
      'swap layout offset field',
      [l.offsetShift, l.offsetBits],
      `1 … 50 bits within ${width}`,
    );
  if (!Number.isSafeInteger(l.maxOffset) || l.maxOffset < 1 || l.maxOffset > 2 ** l.offsetBits - 1)
    throw new OutOfRangeError('swap layout maxOffset', l.maxOffset, `1 … 2^${l.offsetBits} − 1`);
  for (const bit of [l.flagBits.exclusive, l.flagBits.softDirty, l.flagBits.uffdWp]) {
    if (bit !== undefined && !(Number.isInteger(bit) && bit >= 0 && bit < width))
      throw new OutOfRangeError('swap layout flag bit', bit, `0 … ${width - 1}`);
  }
}

const hexBits = (hi: number, lo: number): string => (hi === lo ? `[${hi}]` : `[${hi}:${lo}]`);

/**
 * Derives the codec of a Linux swap-PTE layout.
 * @throws InvalidArgumentError if `layout` is not a well-typed LinuxSwapLayout.
 * @throws OutOfRangeError if the layout's fields do not fit its descriptor size, the offset field
 *   is wider than 50 bits, or `maxOffset` does not fit the field.
 */
export function createSwapEntryCodec(layout: LinuxSwapLayout): SwapEntryCodec {
  checkLayout(layout);
  const l = layout;
  const maxType = 2 ** l.typeBits - 1;
  const offsetOnes = 2 ** l.offsetBits - 1;
  const [typeLo, typeHi] = maskOf(l.typeShift, l.typeBits);
  const [offLo, offHi] = maskOf(l.offsetShift, l.offsetBits);
  const flagLo = (bit: number | undefined) => (bit !== undefined && bit < 32 ? 2 ** bit : 0);
  const flagHi = (bit: number | undefined) => (bit !== undefined && bit >= 32 ? 2 ** (bit - 32) : 0);
  const { exclusive: exBit, softDirty: sdBit, uffdWp: uwBit } = l.flagBits;
  const exLo = flagLo(exBit);
  const exHi = flagHi(exBit);
  const sdLo = flagLo(sdBit);
  const sdHi = flagHi(sdBit);
  const uwLo = flagLo(uwBit);
  const uwHi = flagHi(uwBit);
  // Every bit Linux may set in a swap PTE; all others must be clear.
  const allowedLo = (typeLo | offLo | exLo | sdLo | uwLo) >>> 0;
  const allowedHi = (typeHi | offHi | exHi | sdHi | uwHi) >>> 0;
  const wide = l.descriptorBytes === 8;
  const arch = l.name;

  const refuse = (reason: string): never => {
    throw new UnrepresentableError(arch, 1, reason);
  };

  return Object.freeze({
    name: l.name,
    maxType,
    maxOffset: l.maxOffset,
    flagBits: Object.freeze({ ...l.flagBits }),

    encode(entry: SwapEntry): RawDescriptor {
      if (!isObject(entry)) throw new InvalidArgumentError('swap entry', entry, 'an object { type, offset }');
      const { type, offset } = entry;
      if (!Number.isInteger(type) || type < 0 || type > maxType)
        throw new OutOfRangeError('swap type', type, `an integer from 0 to ${maxType}`);
      if (!Number.isInteger(offset) || offset < 0 || offset > l.maxOffset)
        throw new OutOfRangeError('swap offset', offset, `an integer from 0 to ${l.maxOffset}`);
      const stored = l.invertOffset ? offsetOnes - offset : offset;
      let lo = placeLo(type, l.typeShift) + placeLo(stored, l.offsetShift);
      let hi = placeHi(type, l.typeShift) + placeHi(stored, l.offsetShift);
      if (entry.exclusive) {
        if (exBit === undefined) refuse('the format has no PTE bit for _PAGE_SWP_EXCLUSIVE');
        lo += exLo;
        hi += exHi;
      }
      if (entry.softDirty) {
        if (sdBit === undefined) refuse('the format has no PTE bit for _PAGE_SWP_SOFT_DIRTY');
        lo += sdLo;
        hi += sdHi;
      }
      if (entry.uffdWp) {
        if (uwBit === undefined) refuse('the format has no PTE bit for _PAGE_SWP_UFFD_WP');
        lo += uwLo;
        hi += uwHi;
      }
      if (lo === 0 && hi === 0)
        refuse(`swap entry (type ${type}, offset ${offset}) encodes as an all-zero PTE, which is pte_none`);
      return { lo: lo >>> 0, hi: hi >>> 0 };
    },

    decode(lo: number, hi: number, level: number): DecodedSwapEntry | undefined {
      lo >>>= 0;
      hi = wide ? hi >>> 0 : 0;
      if (level !== 1 || (lo === 0 && hi === 0)) return undefined;
      if ((lo & ~allowedLo) !== 0 || (hi & ~allowedHi) !== 0) return undefined;
      const stored = getField(lo, hi, l.offsetShift, l.offsetBits);
      const offset = l.invertOffset ? offsetOnes - stored : stored;
      if (offset > l.maxOffset) return undefined;
      return {
        type: getField(lo, hi, l.typeShift, l.typeBits),
        offset,
        exclusive: ((lo & exLo) | (hi & exHi)) !== 0,
        softDirty: ((lo & sdLo) | (hi & sdHi)) !== 0,
        uffdWp: ((lo & uwLo) | (hi & uwHi)) !== 0,
      };
    },

    describe(value: bigint): readonly Field[] {
      const v = BigInt.asUintN(l.descriptorBytes * 8, value);
      const bitsOf = (shift: number, bits: number) => (v >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
      const fields: Field[] = [];
      for (const z of l.zeroBits) {
        const b = bitsOf(z.bit, 1);
        fields.push({
          name: z.name,
          bits: `[${z.bit}]`,
          value: b,
          meaning: b === 0n ? `0: ${z.meaning}` : `1: must be 0 in a swap PTE (${z.meaning})`,
        });
      }
      const type = bitsOf(l.typeShift, l.typeBits);
      fields.push({
        name: 'swap type',
        bits: hexBits(l.typeShift + l.typeBits - 1, l.typeShift),
        value: type,
        meaning: `type ${type}: ${type <= 31n ? linuxSwapTypeMeaning(Number(type)) : 'beyond Linux’s 5-bit types'}`,
      });
      const stored = bitsOf(l.offsetShift, l.offsetBits);
      const offset = l.invertOffset ? BigInt(offsetOnes) - stored : stored;
      fields.push({
        name: l.invertOffset ? '~swap offset' : 'swap offset',
        bits: hexBits(l.offsetShift + l.offsetBits - 1, l.offsetShift),
        value: stored,
        meaning: l.invertOffset
          ? `offset ${offset} stored inverted (L1TF mitigation: a stale non-present PTE names no cached physical page)` +
            (offset > BigInt(l.maxOffset) ? `; beyond the largest offset ${l.maxOffset}` : '')
          : `offset ${offset}` +
            (offset > BigInt(l.maxOffset) ? `; beyond the largest offset ${l.maxOffset}` : ''),
      });
      const flag = (name: string, bit: number | undefined, what: string) => {
        if (bit === undefined) return;
        const b = bitsOf(bit, 1);
        fields.push({ name, bits: `[${bit}]`, value: b, meaning: b === 1n ? what : `not ${what}` });
      };
      flag('SWP_EXCLUSIVE', exBit, 'exclusive (PG_anon_exclusive)');
      flag('SWP_SOFT_DIRTY', sdBit, 'soft-dirty');
      flag('SWP_UFFD_WP', uwBit, 'userfaultfd write-protected');
      return fields;
    },
  });
}
