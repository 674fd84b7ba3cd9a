/**
 * The control-register values of a configuration, as a kernel would program
 * them (arch-facts B2). Exported so emulators and debuggers can be set up
 * with exactly the regime the walker models.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { CR0_BITS, CR4_BITS, EFER_BITS } from './constants.js';
import type { X86Mode } from './modes.js';

const b = (n: number) => 1n << BigInt(n);

/** What the control registers depend on. */
export interface X86RegisterState {
  readonly mode: X86Mode;
  readonly pse: boolean;
  readonly nxe: boolean;
  readonly pge: boolean;
  readonly pcid: boolean;
  readonly wp: boolean;
  readonly smep: boolean;
  readonly smap: boolean;
  readonly pke: boolean;
}

/** CR0: PE | PG, and WP when set. Caching (CD, NW), MP/ET/NE and AM are not modelled and left 0. */
export function computeCr0(state: { readonly wp: boolean }): bigint {
  return b(CR0_BITS.PE) | b(CR0_BITS.PG) | (state.wp ? b(CR0_BITS.WP) : 0n);
}

/**
 * CR4: PSE as configured, PAE in every mode but `x86-32`, PGE, LA57 in `x86_64-la57`, PCIDE,
 * SMEP, SMAP, PKE as configured.
 */
export function computeCr4(state: X86RegisterState): bigint {
  return (
    (state.pse ? b(CR4_BITS.PSE) : 0n) |
    (state.mode !== 'x86-32' ? b(CR4_BITS.PAE) : 0n) |
    (state.pge ? b(CR4_BITS.PGE) : 0n) |
    (state.mode === 'x86_64-la57' ? b(CR4_BITS.LA57) : 0n) |
    (state.pcid ? b(CR4_BITS.PCIDE) : 0n) |
    (state.smep ? b(CR4_BITS.SMEP) : 0n) |
    (state.smap ? b(CR4_BITS.SMAP) : 0n) |
    (state.pke ? b(CR4_BITS.PKE) : 0n)
  );
}

/** IA32_EFER: LME | LMA in IA-32e modes, NXE as configured (0 in `x86-32`). */
export function computeEfer(state: { readonly mode: X86Mode; readonly nxe: boolean }): bigint {
  const ia32e = state.mode === 'x86_64' || state.mode === 'x86_64-la57';
  return (ia32e ? b(EFER_BITS.LME) | b(EFER_BITS.LMA) : 0n) | (state.nxe ? b(EFER_BITS.NXE) : 0n);
}

/**
 * CR3 for a root table and PCID: `x86-32` PD base [31:12]; `x86-pae` PDPT base [31:5]; IA-32e
 * PML4/PML5 base [M-1:12] with the PCID in [11:0] when CR4.PCIDE = 1. PWT/PCD are 0.
 * @throws InvalidArgumentError for a root or PCID the mode cannot hold (see {@link checkRoot}).
 */
export function computeCr3(
  mode: X86Mode,
  rootPa: number,
  pcid: number,
  options: { readonly pcid: boolean; readonly maxPhysAddr: number },
): bigint {
  checkRoot(mode, rootPa, options.maxPhysAddr);
  checkPcid(pcid, options.pcid);
  return BigInt(rootPa) | BigInt(pcid);
}

/**
 * @throws InvalidArgumentError unless `rootPa` is a root CR3 can hold: 4 KiB aligned below 4 GiB
 *   (`x86-32`), 32-byte aligned below 4 GiB (`x86-pae`), 4 KiB aligned below 2^MAXPHYADDR (IA-32e).
 */
export function checkRoot(mode: X86Mode, rootPa: number, maxPhysAddr: number): void {
  const pae = mode === 'x86-pae';
  const limitBits = mode === 'x86-32' || pae ? 32 : maxPhysAddr;
  const align = pae ? 32 : 4096;
  if (!Number.isSafeInteger(rootPa) || rootPa < 0 || rootPa >= 2 ** limitBits || rootPa % align !== 0) {
    throw new InvalidArgumentError(
      `${mode} root table (CR3)`,
      rootPa,
      `a ${pae ? '32-byte' : '4 KiB'}-aligned physical address below 2^${limitBits}`,
    );
  }
}

/** @throws InvalidArgumentError unless `pcid` is 0 … 4095 with PCIDs, exactly 0 without. */
export function checkPcid(pcid: number, pcidEnabled: boolean): void {
  if (pcidEnabled) {
    if (!Number.isInteger(pcid) || pcid < 0 || pcid > 0xfff) {
      throw new InvalidArgumentError('PCID', pcid, 'an integer from 0 to 4095 (CR3[11:0], CR4.PCIDE = 1)');
    }
  } else if (pcid !== 0) {
    throw new InvalidArgumentError('PCID', pcid, '0: CR4.PCIDE = 0 (no PCIDs in this configuration)');
  }
}
