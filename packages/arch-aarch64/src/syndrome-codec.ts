/**
 * ESR_EL1 ⇄ neutral fault (arch-facts A9). FAR_EL1 holds the faulting
 * address of Data and Instruction Aborts.
 */
import {
  type AccessKind,
  type DecodedSyndrome,
  DescriptorError,
  FAULT_KINDS,
  type FaultKind,
  type Field,
  hex,
  InvalidArgumentError,
  type PrivilegeLevel,
  type SyndromeCodec,
  type SyndromePrecision,
} from '@mmkit/core';
import { EXCEPTION_CLASS } from './constants.js';
import { abortSyndrome, exceptionClassName, faultStatusName, isAbortClass } from './esr.js';

const ARCH = 'aarch64';

function checkEsr(syndrome: bigint): void {
  if (typeof syndrome !== 'bigint' || syndrome < 0n || syndrome >= 1n << 64n) {
    throw new InvalidArgumentError('ESR_EL1', syndrome, 'a 64-bit unsigned bigint');
  }
}

function kindOfFsc(fsc: number): { kind: FaultKind | 'other'; level: number } {
  const armLevel = fsc & 3;
  if (fsc <= 0x03) return { kind: 'address-size', level: 4 - armLevel };
  if (fsc <= 0x07) return { kind: 'translation', level: 4 - armLevel };
  if (fsc <= 0x0b) return { kind: 'access-flag', level: 4 - armLevel };
  if (fsc <= 0x0f) return { kind: 'permission', level: 4 - armLevel };
  if (fsc === 0x21) return { kind: 'alignment', level: 0 };
  if (fsc === 0x29) return { kind: 'address-size', level: 5 };
  if (fsc === 0x2b) return { kind: 'translation', level: 5 };
  if ((fsc >= 0x14 && fsc <= 0x17) || (fsc >= 0x1c && fsc <= 0x1f))
    return { kind: 'other', level: 4 - armLevel };
  if (fsc === 0x13 || fsc === 0x1b) return { kind: 'other', level: 5 };
  return { kind: 'other', level: 0 };
}

function f(name: string, esr: bigint, hi: number, lo: number, meaning: string): Field {
  const value = (esr >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
  return { name, bits: hi === lo ? `[${hi}]` : `[${hi}:${lo}]`, value, meaning };
}

const SAS_NAMES = ['byte', 'halfword', 'word', 'doubleword'] as const;

/** The ESR_EL1 codec. Stateless; safe to share. */
export class Aarch64SyndromeCodec implements SyndromeCodec {
  readonly syndromeRegister = 'ESR_EL1';
  readonly addressRegister = 'FAR_EL1';
  /**
   * ESR_EL1 names everything (arch-facts A9): the kind and level in DFSC/IFSC, the access in EC
   * (instruction vs data abort) and WnR, the privilege in EC (lower vs same EL).
   */
  readonly precision: SyndromePrecision = Object.freeze({ kind: true, level: true, access: 'exact' });

  /**
   * Decodes an abort syndrome. `level` is internal (4 = L0 … 1 = L3, 5 = L-1), 0 when the
   * status code has none. A data abort with CM = 1 (cache maintenance) counts as a read,
   * as Linux `is_write_abort` does.
   * @throws DescriptorError if the exception class is not an Instruction or Data Abort;
   *   InvalidArgumentError if `syndrome` is not a 64-bit unsigned bigint.
   */
  decode(syndrome: bigint): DecodedSyndrome {
    checkEsr(syndrome);
    const esr = Number(syndrome & 0xffff_ffffn);
    const ec = esr >>> 26;
    if (!isAbortClass(ec)) {
      throw new DescriptorError(
        ARCH,
        syndrome,
        `EC ${hex(ec, 2)} (${exceptionClassName(ec)}) is not an abort`,
      );
    }
    const fetch =
      ec === EXCEPTION_CLASS.InstructionAbortLowerEl || ec === EXCEPTION_CLASS.InstructionAbortSameEl;
    const user = ec === EXCEPTION_CLASS.InstructionAbortLowerEl || ec === EXCEPTION_CLASS.DataAbortLowerEl;
    const { kind, level } = kindOfFsc(esr & 0x3f);
    const write = !fetch && (esr & 0x40) !== 0 && (esr & 0x100) === 0;
    const access: AccessKind = fetch ? 2 : write ? 1 : 0;
    const privilege: PrivilegeLevel = user ? 0 : 1;
    return { exception: fetch ? 'Instruction Abort' : 'Data Abort', kind, level, access, privilege };
  }

  /**
   * Explains ESR_EL1 field by field: EC (named), IL, ISS, and for aborts the ISS fields
   * (data aborts: ISV, SAS, SSE, SRT, SF, AR, FnV, EA, CM, S1PTW, WnR, DFSC; instruction
   * aborts: FnV, EA, S1PTW, IFSC). ISS2 is listed when non-zero.
   * @throws InvalidArgumentError if `syndrome` is not a 64-bit unsigned bigint.
   */
  describe(syndrome: bigint): readonly Field[] {
    checkEsr(syndrome);
    const esr = syndrome;
    const ec = Number((esr >> 26n) & 0x3fn);
    const il = (esr >> 25n) & 1n;
    const out: Field[] = [
      f('EC', esr, 31, 26, exceptionClassName(ec)),
      f('IL', esr, 25, 25, il ? '32-bit instruction' : '16-bit instruction (or RES0 for this class)'),
      f('ISS', esr, 24, 0, 'instruction-specific syndrome'),
    ];
    if (esr >> 32n !== 0n) out.push(f('ISS2', esr, 55, 32, 'ISS2 (FEAT_LS64, FEAT_GCS …)'));
    if (!isAbortClass(ec)) return out;
    const bit = (n: number) => ((esr >> BigInt(n)) & 1n) === 1n;
    const fsc = Number(esr & 0x3fn);
    const data = ec === EXCEPTION_CLASS.DataAbortLowerEl || ec === EXCEPTION_CLASS.DataAbortSameEl;
    if (data) {
      const isv = bit(24);
      const nv = 'not valid (ISV = 0)';
      out.push(
        f(
          'ISV',
          esr,
          24,
          24,
          isv ? 'instruction syndrome valid' : 'no instruction syndrome (always 0 for stage-1 faults)',
        ),
        f('SAS', esr, 23, 22, isv ? `access size: ${SAS_NAMES[Number((esr >> 22n) & 3n)]}` : nv),
        f('SSE', esr, 21, 21, isv ? (bit(21) ? 'sign-extended load' : 'no sign extension') : nv),
        f(
          'SRT',
          esr,
          20,
          16,
          isv ? `register X${Number((esr >> 16n) & 0x1fn)}/W${Number((esr >> 16n) & 0x1fn)}` : nv,
        ),
        f('SF', esr, 15, 15, isv ? (bit(15) ? '64-bit register' : '32-bit register') : nv),
        f('AR', esr, 14, 14, isv ? (bit(14) ? 'acquire/release semantics' : 'no acquire/release') : nv),
      );
    }
    out.push(
      f('FnV', esr, 10, 10, bit(10) ? 'FAR_EL1 is not valid' : 'FAR_EL1 holds the faulting address'),
      f('EA', esr, 9, 9, bit(9) ? 'external abort type (IMPLEMENTATION DEFINED)' : 'not an external abort'),
    );
    if (data)
      out.push(
        f(
          'CM',
          esr,
          8,
          8,
          bit(8) ? 'cache maintenance or address translation instruction' : 'not cache maintenance',
        ),
      );
    out.push(
      f(
        'S1PTW',
        esr,
        7,
        7,
        bit(7) ? 'stage-2 fault on a stage-1 table walk' : 'not on a stage-2 walk for stage 1',
      ),
    );
    if (data) out.push(f('WnR', esr, 6, 6, bit(6) ? 'write' : 'read'));
    out.push(f(data ? 'DFSC' : 'IFSC', esr, 5, 0, faultStatusName(fsc)));
    return out;
  }

  /**
   * The ESR_EL1 the hardware reports for a neutral stage-1 fault (IL = 1, WnR for data writes,
   * EC by access and privilege, xFSC by kind and level; alignment → 0x21; non-canonical →
   * Translation fault level 0 as QEMU reports an address outside both TTBR ranges).
   * @throws InvalidArgumentError for a kind AArch64 cannot report (`reserved-bit`), a level
   *   without a status code, or an access/privilege outside the neutral codes.
   */
  encode(fault: { kind: FaultKind; level: number; access: AccessKind; privilege: PrivilegeLevel }): bigint {
    const kind = FAULT_KINDS.indexOf(fault.kind);
    if (kind < 0)
      throw new InvalidArgumentError('fault kind', fault.kind, `one of ${FAULT_KINDS.join(', ')}`);
    if (fault.access !== 0 && fault.access !== 1 && fault.access !== 2) {
      throw new InvalidArgumentError('access', fault.access, '0 (read), 1 (write) or 2 (fetch)');
    }
    if (fault.privilege !== 0 && fault.privilege !== 1) {
      throw new InvalidArgumentError('privilege', fault.privilege, '0 (user, EL0) or 1 (kernel, EL1)');
    }
    const esr = abortSyndrome(kind, fault.level, fault.access, fault.privilege);
    if (esr < 0) {
      throw new InvalidArgumentError(
        'fault',
        `${fault.kind} at level ${fault.level}`,
        'an AArch64 stage-1 fault: translation/address-size at levels 1–5, access-flag/permission at 1–4, alignment',
      );
    }
    return BigInt(esr);
  }
}
