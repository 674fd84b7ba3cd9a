/**
 * The control-register values of a configuration, as a kernel would program
 * them (arch-facts B2). Exported so emulators and debuggers can be set up
 * with exactly the regime the walker models.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { CR0_BITS, CR4_BITS, EFER_BITS } from './constants.js';
import { isX86Mode, X86_MODES, type X86Mode } from './modes.js';

const b = (n: number) => 1n << BigInt(n);

/** Validates a register-state object: the listed fields booleans, and `mode` a paging mode when asked. */
function checkState(what: string, value: unknown, names: readonly string[], withMode: boolean): void {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError(
      what,
      value,
      `an object with ${withMode ? 'a mode and ' : ''}booleans ${names.join(', ')}`,
    );
  }
  const v = value as Record<string, unknown>;
  if (withMode) checkMode(v.mode);
  for (const n of names) {
    if (typeof v[n] !== 'boolean') throw new InvalidArgumentError(`${what}.${n}`, v[n], 'a boolean');
  }
}

function checkMode(mode: unknown): void {
  if (!isX86Mode(mode))
    throw new InvalidArgumentError('x86 paging mode', mode, `one of ${X86_MODES.join(', ')}`);
}

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

/**
 * CR0: PE | PG, and WP when set. Caching (CD, NW), MP/ET/NE and AM are not modelled and left 0.
 * @throws InvalidArgumentError unless `state` is an object with a boolean `wp`.
 */
export function computeCr0(state: { readonly wp: boolean }): bigint {
  checkState('CR0 state', state, ['wp'], false);
  return b(CR0_BITS.PE) | b(CR0_BITS.PG) | (state.wp ? b(CR0_BITS.WP) : 0n);
}

/**
 * CR4: PSE as configured, PAE in every mode but `x86-32`, PGE, LA57 in `x86_64-la57`, PCIDE,
 * SMEP, SMAP, PKE as configured.
 * @throws InvalidArgumentError unless `state` is an {@link X86RegisterState} (a mode, booleans).
 */
export function computeCr4(state: X86RegisterState): bigint {
  checkState('CR4 state', state, ['pse', 'pge', 'pcid', 'smep', 'smap', 'pke'], true);
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

/**
 * IA32_EFER: LME | LMA in IA-32e modes, NXE as configured (0 in `x86-32`).
 * @throws InvalidArgumentError unless `state` is an object with a paging mode and a boolean `nxe`.
 */
export function computeEfer(state: { readonly mode: X86Mode; readonly nxe: boolean }): bigint {
  checkState('EFER state', state, ['nxe'], true);
  const ia32e = state.mode === 'x86_64' || state.mode === 'x86_64-la57';
  return (ia32e ? b(EFER_BITS.LME) | b(EFER_BITS.LMA) : 0n) | (state.nxe ? b(EFER_BITS.NXE) : 0n);
}

/**
 * CR3 for a root table and PCID: `x86-32` PD base [31:12]; `x86-pae` PDPT base [31:5]; IA-32e
 * PML4/PML5 base [M-1:12] with the PCID in [11:0] when CR4.PCIDE = 1. PWT/PCD are 0.
 * @throws InvalidArgumentError for a root or PCID the mode cannot hold (see {@link checkRoot}),
 *   or `options` that are not an object with a boolean `pcid` and a MAXPHYADDR.
 */
export function computeCr3(
  mode: X86Mode,
  rootPa: number,
  pcid: number,
  options: { readonly pcid: boolean; readonly maxPhysAddr: number },
): bigint {
  checkState('CR3 options', options, ['pcid'], false);
  checkRoot(mode, rootPa, options.maxPhysAddr);
  checkPcid(pcid, options.pcid);
  return BigInt(rootPa) | BigInt(pcid);
}

/**
 * @throws InvalidArgumentError unless `rootPa` is a root CR3 can hold: 4 KiB aligned below 4 GiB
 *   (`x86-32`), 32-byte aligned below 4 GiB (`x86-pae`), 4 KiB aligned below 2^MAXPHYADDR (IA-32e);
 *   also for a `mode` that is not a paging mode or a `maxPhysAddr` outside 32 … 52.
 */
export function checkRoot(mode: X86Mode, rootPa: number, maxPhysAddr: number): void {
  checkMode(mode);
  if (
    typeof maxPhysAddr !== 'number' ||
    !Number.isInteger(maxPhysAddr) ||
    maxPhysAddr < 32 ||
    maxPhysAddr > 52
  ) {
    throw new InvalidArgumentError('MAXPHYADDR', maxPhysAddr, 'an integer from 32 to 52');
  }
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

/**
 * @throws InvalidArgumentError unless `pcid` is 0 … 4095 with PCIDs, exactly 0 without, and
 *   `pcidEnabled` is a boolean.
 */
export function checkPcid(pcid: number, pcidEnabled: boolean): void {
  if (typeof pcidEnabled !== 'boolean')
    throw new InvalidArgumentError('pcidEnabled', pcidEnabled, 'a boolean');
  if (pcidEnabled) {
    if (!Number.isInteger(pcid) || pcid < 0 || pcid > 0xfff) {
      throw new InvalidArgumentError('PCID', pcid, 'an integer from 0 to 4095 (CR3[11:0], CR4.PCIDE = 1)');
    }
  } else if (pcid !== 0) {
    throw new InvalidArgumentError('PCID', pcid, '0: CR4.PCIDE = 0 (no PCIDs in this configuration)');
  }
}
