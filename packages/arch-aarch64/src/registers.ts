/**
 * The translation-control register values of this configuration, as a kernel
 * would program them (arch-facts A3, A4, A6). Exported so emulators and
 * debuggers can be set up with exactly the regime the walker models.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { SCTLR_EL1_BITS, SCTLR_EL1_RES1, TCR_EL1_BITS } from './constants.js';

const b = (n: number) => 1n << BigInt(n);

/** Validates an options object whose listed fields are booleans. */
function flags<K extends string>(what: string, options: unknown, names: readonly K[]): Record<K, boolean> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(what, options, `an object with booleans ${names.join(', ')}`);
  }
  for (const n of names) {
    const v = (options as Record<string, unknown>)[n];
    if (typeof v !== 'boolean') throw new InvalidArgumentError(`${what}.${n}`, v, 'a boolean');
  }
  return options as Record<K, boolean>;
}

/**
 * TCR_EL1: T0SZ = T1SZ = 16 (48-bit VA per half), TG0 = 0b00 (4 KiB), TG1 = 0b10 (4 KiB),
 * IRGN/ORGN = 0b01 (walks Write-Back Write-Allocate), SH = 0b11 (Inner Shareable), EPD0/1 = 0,
 * A1 = 0 (ASID from TTBR0), IPS = 0b101 (48-bit OA), AS = 1 (16-bit ASID), TBI0/1 = 0 (no top-byte
 * ignore), HPD0/1 = 0 (hierarchical attributes on), HA / HD as given. HD is written as requested
 * even without HA; the hardware (QEMU `hd = ha && hd`) then ignores it.
 * @throws InvalidArgumentError unless `options` is an object with boolean `ha` and `hd`.
 */
export function computeTcrEl1(options: { readonly ha: boolean; readonly hd: boolean }): bigint {
  flags('TCR_EL1 options', options, ['ha', 'hd'] as const);
  const t = TCR_EL1_BITS;
  return (
    (16n << BigInt(t.T0SZ)) |
    (0b01n << BigInt(t.IRGN0)) |
    (0b01n << BigInt(t.ORGN0)) |
    (0b11n << BigInt(t.SH0)) |
    (0b00n << BigInt(t.TG0)) |
    (16n << BigInt(t.T1SZ)) |
    (0b01n << BigInt(t.IRGN1)) |
    (0b01n << BigInt(t.ORGN1)) |
    (0b11n << BigInt(t.SH1)) |
    (0b10n << BigInt(t.TG1)) |
    (0b101n << BigInt(t.IPS)) |
    b(t.AS) |
    (options.ha ? b(t.HA) : 0n) |
    (options.hd ? b(t.HD) : 0n)
  );
}

/**
 * SCTLR_EL1: M (MMU on), C and I (caches on), WXN as given, the Armv8.0 RES1 bits
 * (11, 20, 22, 28, 29), and SPAN (bit 23) = 1 unless PAN is in use: with `pan`, SPAN = 0 so
 * that exception entry to EL1 sets PSTATE.PAN, as Linux programs it with CONFIG_ARM64_PAN.
 * A (alignment checking), EE/E0E (big-endian) are 0.
 * @throws InvalidArgumentError unless `options` is an object with boolean `wxn` and `pan`.
 */
export function computeSctlrEl1(options: { readonly wxn: boolean; readonly pan: boolean }): bigint {
  flags('SCTLR_EL1 options', options, ['wxn', 'pan'] as const);
  const s = SCTLR_EL1_BITS;
  return (
    BigInt(SCTLR_EL1_RES1) |
    b(s.M) |
    b(s.C) |
    b(s.I) |
    (options.wxn ? b(s.WXN) : 0n) |
    (options.pan ? 0n : b(s.SPAN))
  );
}

/**
 * TTBRn_EL1 value: ASID in [63:48], BADDR in [47:1] (the 4 KiB-aligned root), CnP = 0.
 * @throws InvalidArgumentError for an ASID outside 0 … 65535 or a root that is not a
 *   4 KiB-aligned address below 2^48.
 */
export function computeTtbr(rootPa: number, asid: number): bigint {
  checkRoot(rootPa);
  checkAsid(asid);
  return (BigInt(asid) << 48n) | BigInt(rootPa);
}

/** @throws InvalidArgumentError unless `rootPa` is a 4 KiB-aligned address below 2^48. */
export function checkRoot(rootPa: number): void {
  if (!Number.isSafeInteger(rootPa) || rootPa < 0 || rootPa >= 2 ** 48 || rootPa % 4096 !== 0) {
    throw new InvalidArgumentError(
      'translation table base',
      rootPa,
      'a 4 KiB-aligned physical address below 2^48',
    );
  }
}

/** @throws InvalidArgumentError unless `asid` is a 16-bit ASID (TCR_EL1.AS = 1). */
export function checkAsid(asid: number): void {
  if (!Number.isInteger(asid) || asid < 0 || asid > 0xffff) {
    throw new InvalidArgumentError('ASID', asid, 'an integer from 0 to 65535 (16-bit ASID, TCR_EL1.AS = 1)');
  }
}
