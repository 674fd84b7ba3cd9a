/**
 * The typed errors of the ELF64 parser and load planner (`elf.ts`, `elf-load-plan.ts`), and the
 * machine names they print.
 */
import { hex, MmError } from '@mmkit/core';
import { plain, showValue } from './syscalls.js';

function showElfValue(value: unknown): string {
  if (typeof value === 'bigint') return value >= 0n ? hex(value) : `${value}`;
  if (typeof value === 'number')
    return Number.isSafeInteger(value) && value >= 10 ? `${value} (${hex(value)})` : `${value}`;
  return showValue(value);
}

/**
 * A malformed or unsupported ELF file. `field` names the header field (`e_machine`,
 * `phdr[2].p_filesz`, …), `value` is the offending value; code `E_INVALID_ARGUMENT`.
 */
export class ElfFormatError extends MmError {
  constructor(
    readonly field: string,
    readonly value: bigint | number | string,
    readonly reason: string,
  ) {
    super('E_INVALID_ARGUMENT', `ELF ${plain(field)} = ${showElfValue(value)}: ${plain(reason)}`);
  }
}

/** `e_machine` is not one the caller accepts (default: EM_X86_64 (62) or EM_AARCH64 (183)). */
export class ElfUnsupportedMachineError extends ElfFormatError {
  constructor(
    readonly machine: number,
    readonly accepted: readonly number[] = DEFAULT_ELF_MACHINES,
  ) {
    super(
      'e_machine',
      machine,
      `unsupported machine; expected ${Array.isArray(accepted) ? accepted.map((m) => `${ELF_MACHINE_NAMES[m] ?? 'EM'} (${showValue(m)})`).join(' or ') : showValue(accepted)}`,
    );
  }
}

/** Names of the `e_machine` values mmkit knows (Linux include/uapi/linux/elf-em.h). */
export const ELF_MACHINE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  3: 'EM_386',
  40: 'EM_ARM',
  62: 'EM_X86_64',
  183: 'EM_AARCH64',
  243: 'EM_RISCV',
});

/** The machines {@link parseElf64} accepts unless told otherwise. */
export const DEFAULT_ELF_MACHINES: readonly number[] = Object.freeze([62, 183]);

/** The file has a PT_INTERP header: it needs a dynamic linker, which mmkit does not load. */
export class ElfDynamicExecutableError extends ElfFormatError {
  constructor(
    readonly phdrIndex: number,
    readonly interpreter: string,
  ) {
    super(
      `phdr[${showValue(phdrIndex)}] PT_INTERP`,
      interpreter,
      'dynamically linked executables are not supported',
    );
  }
}
