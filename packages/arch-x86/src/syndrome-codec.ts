/**
 * #PF error code ⇄ neutral fault (arch-facts B6). CR2 holds the faulting
 * linear address of a #PF.
 *
 * The error code carries no level (decode reports level 0) and says "fetch"
 * only when the I/D bit is defined: with CR4.SMEP, or EFER.NXE in PAE / IA-32e
 * paging. Elsewhere (`x86-32`, PAE without NXE) an instruction fetch reports
 * exactly what a read reports, and decode can only say `read`. The codec
 * declares this as its {@link X86SyndromeCodec.precision} (contract v2):
 * kind yes (P, RSVD), level no, access `exact` with I/D, else `no-fetch`.
 *
 * A non-canonical address raises #GP(0), not #PF: encode gives 0 for it (the
 * #GP error code), and decode must not be asked to explain a #GP (0 decodes as
 * a not-present supervisor read, which is what a #PF with error code 0 is).
 */
import {
  type AccessKind,
  type DecodedSyndrome,
  DescriptorError,
  FAULT_KINDS,
  type FaultKind,
  type Field,
  InvalidArgumentError,
  type PrivilegeLevel,
  type SyndromeCodec,
  type SyndromePrecision,
} from '@mmkit/core';
import { PF_ID, PF_P, PF_RSVD, PF_U, PF_W, pageFaultErrorCode } from './error-code.js';
import type { X86Mode } from './modes.js';

/** What the error codes of a configuration depend on. */
export interface X86SyndromeConfig {
  readonly mode: X86Mode;
  /** The I/D bit is reported for fetches: CR4.SMEP, or EFER.NXE (PAE / IA-32e). */
  readonly fetchFlag: boolean;
  /** RSVD faults also set P (SDM) rather than RSVD alone (current QEMU); arch-facts D1. */
  readonly rsvdSetsP: boolean;
}

function f(name: string, code: bigint, hi: number, lo: number, meaning: string): Field {
  const value = (code >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
  return { name, bits: hi === lo ? `[${hi}]` : `[${hi}:${lo}]`, value, meaning };
}

/** The #PF error-code codec of one configuration. Stateless; safe to share. */
export class X86SyndromeCodec implements SyndromeCodec {
  readonly syndromeRegister = '#PF error code';
  readonly addressRegister = 'CR2';
  /**
   * What an error code tells (arch-facts B6): the kind (P = 0 translation, RSVD reserved-bit,
   * else permission), never the level, and the access exactly when the I/D bit is reported
   * (`fetchFlag`: CR4.SMEP, or EFER.NXE in PAE / IA-32e), else `no-fetch` (a fetch looks like a
   * read). Describes MMUs created with the backend's own SMEP setting: an MMU whose `smep`
   * option differs reports I/D accordingly.
   */
  readonly precision: SyndromePrecision;

  constructor(readonly config: X86SyndromeConfig) {
    this.precision = Object.freeze({
      kind: true,
      level: false,
      access: config.fetchFlag ? 'exact' : 'no-fetch',
    });
  }

  private check(code: bigint): number {
    if (typeof code !== 'bigint' || code < 0n || code >= 1n << 64n) {
      throw new InvalidArgumentError('#PF error code', code, 'a 64-bit unsigned bigint');
    }
    if (code >= 1n << 32n) {
      throw new DescriptorError(this.config.mode, code, 'not a #PF error code: bits 63:32 are always 0');
    }
    return Number(code);
  }

  /**
   * Decodes an error code: exception `#PF`; kind `reserved-bit` if RSVD, else `translation` if
   * P = 0, else `permission` (protection keys, SGX and RMP violations included); level 0;
   * access `fetch` if I/D, `write` if W/R, else `read`; privilege user if U/S.
   * @throws InvalidArgumentError if `syndrome` is not a 64-bit unsigned bigint; DescriptorError
   *   if bits 63:32 are set.
   */
  decode(syndrome: bigint): DecodedSyndrome {
    const code = this.check(syndrome);
    const kind: FaultKind =
      (code & PF_RSVD) !== 0 ? 'reserved-bit' : (code & PF_P) === 0 ? 'translation' : 'permission';
    const access: AccessKind = (code & PF_ID) !== 0 ? 2 : (code & PF_W) !== 0 ? 1 : 0;
    const privilege: PrivilegeLevel = (code & PF_U) !== 0 ? 0 : 1;
    return { exception: '#PF', kind, level: 0, access, privilege };
  }

  /**
   * Explains an error code field by field: P, W/R, U/S, RSVD, I/D, PK, SS, reserved [14:7], SGX,
   * reserved [30:16], RMP.
   * @throws InvalidArgumentError / DescriptorError as {@link decode}.
   */
  describe(syndrome: bigint): readonly Field[] {
    const code = BigInt(this.check(syndrome));
    const bit = (n: number) => ((code >> BigInt(n)) & 1n) === 1n;
    const fetchNote = this.config.fetchFlag
      ? ''
      : ' (I/D is not reported in this configuration: a fetch looks like a read)';
    return [
      f(
        'P',
        code,
        0,
        0,
        bit(0) ? 'protection, reserved-bit or protection-key violation' : 'not-present page',
      ),
      f('W/R', code, 1, 1, bit(1) ? 'write access' : 'read access (or instruction fetch)'),
      f('U/S', code, 2, 2, bit(2) ? 'user-mode access (CPL 3)' : 'supervisor-mode access'),
      f(
        'RSVD',
        code,
        3,
        3,
        bit(3) ? 'reserved bit set in a paging-structure entry' : 'no reserved-bit violation',
      ),
      f('I/D', code, 4, 4, bit(4) ? 'instruction fetch' : `not an instruction fetch${fetchNote}`),
      f(
        'PK',
        code,
        5,
        5,
        bit(5) ? 'protection-key violation (PKRU / IA32_PKRS)' : 'no protection-key violation',
      ),
      f('SS', code, 6, 6, bit(6) ? 'shadow-stack access' : 'not a shadow-stack access'),
      f('reserved', code, 14, 7, 'reserved (HLAT and future use)'),
      f('SGX', code, 15, 15, bit(15) ? 'SGX EPCM violation' : 'not an SGX violation'),
      f('reserved', code, 30, 16, 'reserved'),
      f('RMP', code, 31, 31, bit(31) ? 'SEV-SNP RMP violation' : 'not an RMP violation'),
    ];
  }

  /**
   * The error code the walker reports for a neutral fault (level is ignored: the error code has
   * none): translation → P = 0, permission → P, reserved-bit → RSVD (with P per `rsvdSetsP`),
   * W/R, U/S, and I/D for fetches when the configuration reports it; non-canonical → 0 (the
   * #GP(0) error code). A protection-key fault cannot be expressed neutrally (no PK bit).
   * @throws InvalidArgumentError for a kind x86 never reports (access-flag, address-size,
   *   alignment) or an access/privilege outside the neutral codes.
   */
  encode(fault: { kind: FaultKind; level: number; access: AccessKind; privilege: PrivilegeLevel }): bigint {
    const kind = FAULT_KINDS.indexOf(fault.kind);
    if (kind < 0)
      throw new InvalidArgumentError('fault kind', fault.kind, `one of ${FAULT_KINDS.join(', ')}`);
    if (fault.access !== 0 && fault.access !== 1 && fault.access !== 2) {
      throw new InvalidArgumentError('access', fault.access, '0 (read), 1 (write) or 2 (fetch)');
    }
    if (fault.privilege !== 0 && fault.privilege !== 1) {
      throw new InvalidArgumentError('privilege', fault.privilege, '0 (user, CPL 3) or 1 (kernel, CPL 0)');
    }
    const code = pageFaultErrorCode(
      kind,
      fault.access,
      fault.privilege,
      this.config.fetchFlag,
      this.config.rsvdSetsP,
    );
    if (code < 0) {
      throw new InvalidArgumentError(
        'fault kind',
        fault.kind,
        'translation, permission, reserved-bit or non-canonical (x86 has no access-flag, address-size or alignment #PF)',
      );
    }
    return BigInt(code >>> 0);
  }
}
