/**
 * Recursive (self-referencing) page-table mappings (arch-facts B10): pure
 * address arithmetic for kernels that reach their own tables through one root
 * entry pointing back at the root.
 *
 * 32-bit paging, `PDE[slot] = PD | P | R/W` (PS = 0), slot 1023:
 * ```
 * 0xFFFF_FFFF ┬──────────────────────────┐
 *             │ PD itself                │ 0xFFFF_F000 = base + slot * 4 KiB
 * 0xFFFF_F000 ┼──────────────────────────┤
 *             │ page table i at          │
 *             │ base + i * 4 KiB         │ PTE of v at base + (v >> 12) * 4
 * 0xFFC0_0000 ┴──────────────────────────┘ base = slot << 22 (the top 4 MiB is consumed)
 * ```
 * 4-level paging, `PML4E[r] = PML4 | P | R/W`: the PTE of v lives at
 * `sext48(r << 39 | (v >> 9) & 0x7F_FFFF_FFF8)`; each further `r` replaces one
 * level (PDE, PDPTE, PML4E), and `r = 511` puts the PML4 at `0xFFFF_FFFF_FFFF_F000`.
 */
import {
  type AddressInput,
  assertCanonical,
  InvalidArgumentError,
  OutOfRangeError,
  signExtend,
  toAddress,
} from '@mmkit/core';

/** Addresses through a 32-bit recursive PDE. */
export interface Recursive32 {
  /** The PD slot that points back at the PD. */
  readonly slot: number;
  /** Virtual address of the PD itself. */
  readonly pdVa: bigint;
  /** Virtual address of page table `i` (the one PDE `i` references). */
  ptVa(i: number): bigint;
  /** Virtual address of the PTE that maps `va`. */
  pteVa(va: AddressInput): bigint;
  /** Virtual address of the PDE that maps `va`. */
  pdeVa(va: AddressInput): bigint;
}

/** Addresses through a recursive PML4E (4-level IA-32e paging). */
export interface Recursive4Level {
  /** The PML4 slot that points back at the PML4. */
  readonly slot: number;
  /** Virtual address of the PML4 itself. */
  readonly pml4Va: bigint;
  /** Virtual address of the PTE that maps `va`. */
  pteVa(va: AddressInput): bigint;
  /** Virtual address of the PDE that maps `va`. */
  pdeVa(va: AddressInput): bigint;
  /** Virtual address of the PDPTE that maps `va`. */
  pdpteVa(va: AddressInput): bigint;
  /** Virtual address of the PML4E that maps `va`. */
  pml4eVa(va: AddressInput): bigint;
}

function checkSlot(slot: number, max: number): bigint {
  if (!Number.isInteger(slot) || slot < 0 || slot > max) {
    throw new InvalidArgumentError('recursive slot', slot, `an integer from 0 to ${max}`);
  }
  return BigInt(slot);
}

/**
 * The recursive-mapping addresses of 32-bit paging with `PDE[slot]` pointing at the PD
 * (default slot 1023: PD at 0xFFFF_F000, PTE of v at 0xFFC0_0000 + (v >> 12) * 4).
 * @throws InvalidArgumentError for options that are not an object or a slot outside 0 … 1023; the address functions throw
 *   AddressError / OutOfRangeError for a VA that is not a 32-bit address, InvalidArgumentError
 *   for a table index outside 0 … 1023.
 */
export function recursive32(options: { readonly slot?: number } = {}): Recursive32 {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('recursive32 options', options, 'an object { slot? }');
  }
  const slot = options.slot ?? 1023;
  const s = checkSlot(slot, 1023);
  const base = s << 22n;
  const pdVa = base + (s << 12n);
  const va32 = (va: AddressInput): bigint => {
    const a = toAddress(va, 'virtual address');
    if (a >= 1n << 32n) throw new OutOfRangeError('32-bit virtual address', a, 'an address below 2^32');
    return a;
  };
  return Object.freeze({
    slot,
    pdVa,
    ptVa(i: number): bigint {
      return base + (checkSlot(i, 1023) << 12n);
    },
    pteVa(va: AddressInput): bigint {
      return base + (va32(va) >> 12n) * 4n;
    },
    pdeVa(va: AddressInput): bigint {
      return pdVa + (va32(va) >> 22n) * 4n;
    },
  });
}

/**
 * The recursive-mapping addresses of 4-level paging with `PML4E[slot]` pointing at the PML4
 * (default slot 511: PML4 at 0xFFFF_FFFF_FFFF_F000). Results are canonical (sign-extended).
 * @throws InvalidArgumentError for a slot outside 0 … 511; the address functions throw
 *   AddressError for a bad value and NonCanonicalError for a VA that is not 48-bit canonical.
 */
export function recursive4Level(slot = 511): Recursive4Level {
  const r = checkSlot(slot, 511);
  const sext = (x: bigint) => signExtend(x, 48);
  const canonical = (va: AddressInput): bigint => {
    const a = toAddress(va, 'virtual address');
    assertCanonical(a, 48);
    return a;
  };
  const r39 = r << 39n;
  const r30 = r << 30n;
  const r21 = r << 21n;
  const r12 = r << 12n;
  const pml4eVa = (va: AddressInput): bigint =>
    sext(r39 | r30 | r21 | r12 | ((canonical(va) >> 36n) & 0xff8n));
  return Object.freeze({
    slot,
    pml4Va: pml4eVa(0n),
    pteVa: (va: AddressInput): bigint => sext(r39 | ((canonical(va) >> 9n) & 0x7f_ffff_fff8n)),
    pdeVa: (va: AddressInput): bigint => sext(r39 | r30 | ((canonical(va) >> 18n) & 0x3fff_fff8n)),
    pdpteVa: (va: AddressInput): bigint => sext(r39 | r30 | r21 | ((canonical(va) >> 27n) & 0x1f_fff8n)),
    pml4eVa,
  });
}
