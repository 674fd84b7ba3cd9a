/**
 * ESR_EL1 building blocks (arch-facts A9): exception-class names, fault-status
 * names, and the number-only syndrome builder the walker uses.
 *
 * ```
 *  31   26 25 24                                   0
 * +-------+--+-------------------------------------+
 * |  EC   |IL|                 ISS                 |   (ISS2 in bits [55:32], 0 here)
 * +-------+--+-------------------------------------+
 * Abort ISS: ISV[24] SAS[23:22] SSE[21] SRT[20:16] SF[15] AR[14] VNCR[13] SET[12:11]
 *            FnV[10] EA[9] CM[8] S1PTW[7] WnR[6] xFSC[5:0]
 * ```
 */
import { Fault, hex, InvalidArgumentError } from '@mmkit/core';
import { EXCEPTION_CLASS, FAULT_STATUS } from './constants.js';

const EC_NAMES: Readonly<Record<number, string>> = {
  0: 'Unknown reason',
  1: 'Trapped WFI/WFE instruction',
  3: 'Trapped MCR/MRC access (coproc 0b1111)',
  4: 'Trapped MCRR/MRRC access (coproc 0b1111)',
  5: 'Trapped MCR/MRC access (coproc 0b1110)',
  6: 'Trapped LDC/STC access',
  7: 'Access to SVE, Advanced SIMD or floating-point functionality',
  8: 'Trapped VMRS access (ID group)',
  9: 'Pointer authentication instruction trap',
  12: 'Trapped MRRC access (coproc 0b1110)',
  13: 'Branch Target Exception',
  14: 'Illegal Execution state',
  17: 'SVC instruction execution in AArch32 state',
  18: 'HVC instruction execution in AArch32 state',
  19: 'SMC instruction execution in AArch32 state',
  21: 'SVC instruction execution in AArch64 state',
  22: 'HVC instruction execution in AArch64 state',
  23: 'SMC instruction execution in AArch64 state',
  24: 'Trapped MSR, MRS or System instruction',
  25: 'Access to SVE functionality',
  26: 'Trapped ERET, ERETAA or ERETAB',
  28: 'Pointer authentication failure (FEAT_FPAC)',
  29: 'Access to SME functionality',
  31: 'IMPLEMENTATION DEFINED exception to EL3',
  32: 'Instruction Abort from a lower Exception level (EL0)',
  33: 'Instruction Abort taken without a change in Exception level (EL1)',
  34: 'PC alignment fault',
  36: 'Data Abort from a lower Exception level (EL0)',
  37: 'Data Abort taken without a change in Exception level (EL1)',
  38: 'SP alignment fault',
  39: 'Memory Operation (FEAT_MOPS) exception',
  40: 'Trapped floating-point exception (AArch32)',
  44: 'Trapped floating-point exception (AArch64)',
  45: 'Guarded Control Stack exception',
  47: 'SError exception',
  48: 'Breakpoint from a lower Exception level',
  49: 'Breakpoint taken without a change in Exception level',
  50: 'Software Step from a lower Exception level',
  51: 'Software Step taken without a change in Exception level',
  52: 'Watchpoint from a lower Exception level',
  53: 'Watchpoint taken without a change in Exception level',
  56: 'BKPT instruction execution in AArch32 state',
  58: 'Vector Catch exception (AArch32)',
  60: 'BRK instruction execution in AArch64 state',
};

/** @throws InvalidArgumentError unless `value` is an integer from 0 to 63 (a 6-bit ESR_EL1 field). */
function field6(what: string, value: unknown): number {
  if (typeof value !== 'number' || (value & 0x3f) !== value) {
    throw new InvalidArgumentError(what, value, 'an integer from 0 to 63 (a 6-bit ESR_EL1 field)');
  }
  return value;
}

/**
 * The manual's name of an exception class (`unallocated` for a code without one).
 * @throws InvalidArgumentError unless `ec` is an integer from 0 to 63 (ESR_EL1.EC, bits 31:26).
 */
export function exceptionClassName(ec: number): string {
  field6('exception class (ESR_EL1.EC)', ec);
  return EC_NAMES[ec] ?? `unallocated exception class ${hex(ec, 2)}`;
}

/** True for the four abort classes (Instruction/Data Abort from EL0 or EL1). */
export function isAbortClass(ec: number): boolean {
  return (
    ec === EXCEPTION_CLASS.InstructionAbortLowerEl ||
    ec === EXCEPTION_CLASS.InstructionAbortSameEl ||
    ec === EXCEPTION_CLASS.DataAbortLowerEl ||
    ec === EXCEPTION_CLASS.DataAbortSameEl
  );
}

/**
 * The manual's name of a long-descriptor fault status code (DFSC/IFSC), with its level.
 * @throws InvalidArgumentError unless `fsc` is an integer from 0 to 63 (ESR_EL1.ISS.xFSC, bits 5:0).
 */
export function faultStatusName(fsc: number): string {
  field6('fault status code (DFSC/IFSC)', fsc);
  const level = fsc & 3;
  if (fsc <= 0x03) return `Address size fault, level ${level}`;
  if (fsc <= 0x07) return `Translation fault, level ${level}`;
  if (fsc === 0x08) return 'Access flag fault, level 0 (FEAT_LPA2)';
  if (fsc <= 0x0b) return `Access flag fault, level ${level}`;
  if (fsc === 0x0c) return 'Permission fault, level 0 (FEAT_LPA2)';
  if (fsc <= 0x0f) return `Permission fault, level ${level}`;
  switch (fsc) {
    case 0x10:
      return 'Synchronous External abort, not on a translation table walk';
    case 0x11:
      return 'Synchronous Tag Check Fault';
    case 0x13:
      return 'Synchronous External abort on a translation table walk, level -1';
    case 0x18:
      return 'Synchronous parity or ECC error on memory access, not on a walk';
    case 0x1b:
      return 'Synchronous parity or ECC error on a translation table walk, level -1';
    case 0x21:
      return 'Alignment fault';
    case 0x22:
      return 'Granule Protection Fault, not on a translation table walk';
    case 0x29:
      return 'Address size fault, level -1';
    case 0x2b:
      return 'Translation fault, level -1';
    case 0x30:
      return 'TLB conflict abort';
    case 0x31:
      return 'Unsupported atomic hardware update fault';
    case 0x34:
      return 'IMPLEMENTATION DEFINED fault (Lockdown)';
    case 0x35:
      return 'IMPLEMENTATION DEFINED fault (Unsupported Exclusive or Atomic access)';
  }
  if (fsc >= 0x14 && fsc <= 0x17)
    return `Synchronous External abort on a translation table walk, level ${level}`;
  if (fsc >= 0x1c && fsc <= 0x1f)
    return `Synchronous parity or ECC error on a translation table walk, level ${level}`;
  return 'reserved fault status code';
}

/** FSC base for each neutral fault-kind code that has a level ({@link Fault} order), -1 otherwise. */
const FSC_BASE: readonly number[] = [
  FAULT_STATUS.Translation, // Translation
  FAULT_STATUS.AccessFlag, // AccessFlag
  FAULT_STATUS.Permission, // Permission
  FAULT_STATUS.AddressSize, // AddressSize
  -1, // Alignment: no level
  -1, // ReservedBit: not an AArch64 fault
  FAULT_STATUS.Translation, // NonCanonical: QEMU reports a Translation fault at level 0
];

/**
 * ESR_EL1 (low 32 bits) for a stage-1 fault, numbers only (walker hot path).
 * `kind` is a {@link Fault} code, `level` the internal level (4 = L0 … 1 = L3; 5 = L-1).
 * IL = 1; WnR for data writes; EC 0x20/0x21 for fetches, 0x24/0x25 for data, by privilege.
 * Returns -1 for a kind AArch64 cannot report (reserved-bit) or a level without a code.
 */
export function abortSyndrome(kind: number, level: number, access: number, privilege: number): number {
  let fsc: number;
  if (kind === Fault.Alignment) fsc = FAULT_STATUS.Alignment;
  else {
    const base = FSC_BASE[kind] ?? -1;
    if (base < 0) return -1;
    const k = kind === Fault.NonCanonical ? 4 : level;
    if (k >= 1 && k <= 4) fsc = base + (4 - k);
    else if (k === 5 && base === FAULT_STATUS.Translation) fsc = FAULT_STATUS.TranslationLevelMinus1;
    else if (k === 5 && base === FAULT_STATUS.AddressSize) fsc = FAULT_STATUS.AddressSizeLevelMinus1;
    else return -1;
  }
  const ec =
    access === 2
      ? privilege === 0
        ? EXCEPTION_CLASS.InstructionAbortLowerEl
        : EXCEPTION_CLASS.InstructionAbortSameEl
      : privilege === 0
        ? EXCEPTION_CLASS.DataAbortLowerEl
        : EXCEPTION_CLASS.DataAbortSameEl;
  return ec * 0x400_0000 + 0x200_0000 + (access === 1 ? 0x40 : 0) + fsc;
}
