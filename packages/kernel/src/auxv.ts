/**
 * The auxiliary vector of the initial process stack: its entry types (Linux's
 * `include/uapi/linux/auxvec.h` and the architectures' `asm/auxvec.h`), their names, and
 * {@link linuxAuxv}, the vector Linux's `fs/binfmt_elf.c` `create_elf_tables` builds for a
 * static executable. `initial-stack.ts` lays it out on the stack.
 */
import { invalidArgument } from './syscalls.js';

// ---------------------------------------------------------------------------
// Auxiliary vector types (include/uapi/linux/auxvec.h, arch/*/include/uapi/asm/auxvec.h)

/** End of the vector. */
export const AT_NULL = 0;
/** Entry to ignore. */
export const AT_IGNORE = 1;
/** File descriptor of the program. */
export const AT_EXECFD = 2;
/** Address of the program headers in memory. */
export const AT_PHDR = 3;
/** Size of one program header. */
export const AT_PHENT = 4;
/** Number of program headers. */
export const AT_PHNUM = 5;
/** Page size. */
export const AT_PAGESZ = 6;
/** Base address of the interpreter (0 for a static executable). */
export const AT_BASE = 7;
/** Flags (AT_FLAGS_PRESERVE_ARGV0). */
export const AT_FLAGS = 8;
/** Entry point of the program. */
export const AT_ENTRY = 9;
/** The program is not ELF. */
export const AT_NOTELF = 10;
/** Real user id. */
export const AT_UID = 11;
/** Effective user id. */
export const AT_EUID = 12;
/** Real group id. */
export const AT_GID = 13;
/** Effective group id. */
export const AT_EGID = 14;
/** Address of the platform string (`x86_64`, `aarch64`). */
export const AT_PLATFORM = 15;
/** Machine-dependent capability bits. */
export const AT_HWCAP = 16;
/** Frequency of times() ticks. */
export const AT_CLKTCK = 17;
/** Secure mode (setuid and the like). */
export const AT_SECURE = 23;
/** Address of the "real" platform string. */
export const AT_BASE_PLATFORM = 24;
/** Address of 16 random bytes. */
export const AT_RANDOM = 25;
/** More capability bits. */
export const AT_HWCAP2 = 26;
/** rseq supported feature size. */
export const AT_RSEQ_FEATURE_SIZE = 27;
/** rseq allocation alignment. */
export const AT_RSEQ_ALIGN = 28;
/** Address of the file name of the program. */
export const AT_EXECFN = 31;
/** Address of the vDSO ELF header. */
export const AT_SYSINFO_EHDR = 33;
/** Minimal signal stack size the kernel needs (x86, AArch64). */
export const AT_MINSIGSTKSZ = 51;

/** Names of the auxiliary vector types above, for dumps. */
export const AUXV_NAMES: Readonly<Record<number, string>> = {
  [AT_NULL]: 'AT_NULL',
  [AT_IGNORE]: 'AT_IGNORE',
  [AT_EXECFD]: 'AT_EXECFD',
  [AT_PHDR]: 'AT_PHDR',
  [AT_PHENT]: 'AT_PHENT',
  [AT_PHNUM]: 'AT_PHNUM',
  [AT_PAGESZ]: 'AT_PAGESZ',
  [AT_BASE]: 'AT_BASE',
  [AT_FLAGS]: 'AT_FLAGS',
  [AT_ENTRY]: 'AT_ENTRY',
  [AT_NOTELF]: 'AT_NOTELF',
  [AT_UID]: 'AT_UID',
  [AT_EUID]: 'AT_EUID',
  [AT_GID]: 'AT_GID',
  [AT_EGID]: 'AT_EGID',
  [AT_PLATFORM]: 'AT_PLATFORM',
  [AT_HWCAP]: 'AT_HWCAP',
  [AT_CLKTCK]: 'AT_CLKTCK',
  [AT_SECURE]: 'AT_SECURE',
  [AT_BASE_PLATFORM]: 'AT_BASE_PLATFORM',
  [AT_RANDOM]: 'AT_RANDOM',
  [AT_HWCAP2]: 'AT_HWCAP2',
  [AT_RSEQ_FEATURE_SIZE]: 'AT_RSEQ_FEATURE_SIZE',
  [AT_RSEQ_ALIGN]: 'AT_RSEQ_ALIGN',
  [AT_EXECFN]: 'AT_EXECFN',
  [AT_SYSINFO_EHDR]: 'AT_SYSINFO_EHDR',
  [AT_MINSIGSTKSZ]: 'AT_MINSIGSTKSZ',
};

/** One auxiliary vector entry. */
export interface AuxvEntry {
  readonly type: number;
  readonly value: bigint;
}

// ---------------------------------------------------------------------------
// Linux's auxiliary vector

/** Inputs of {@link linuxAuxv}: what Linux's create_elf_tables puts in the vector. */
export interface LinuxAuxvOptions {
  /** AT_PHDR: where the program headers are mapped (ElfLoadPlan.phdrAddress). */
  readonly phdr: bigint;
  /** AT_PHNUM. */
  readonly phnum: number;
  /** AT_ENTRY: the program's entry point (with load bias). */
  readonly entry: bigint;
  /** AT_PHENT (default 56, sizeof(Elf64_Phdr)). */
  readonly phent?: number;
  /** AT_PAGESZ (default 4096). */
  readonly pageSize?: number;
  /** AT_BASE: interpreter base (default 0: static executable). */
  readonly base?: bigint;
  /** AT_FLAGS (default 0). */
  readonly flags?: bigint;
  /** AT_UID, AT_EUID, AT_GID, AT_EGID (default 0). */
  readonly uid?: number;
  readonly euid?: number;
  readonly gid?: number;
  readonly egid?: number;
  /** AT_SECURE (default false). */
  readonly secure?: boolean;
  /** AT_HWCAP (default 0). */
  readonly hwcap?: bigint;
  /** AT_HWCAP2; omitted if undefined. */
  readonly hwcap2?: bigint;
  /** AT_CLKTCK (default 100, Linux USER_HZ). */
  readonly clktck?: number;
  /** AT_SYSINFO_EHDR (vDSO); omitted if undefined. */
  readonly sysinfoEhdr?: bigint;
  /** AT_MINSIGSTKSZ; omitted if undefined. */
  readonly minSigStackSize?: bigint;
  /** Include the AT_PLATFORM placeholder (pass `platform` to buildInitialStack too). */
  readonly platform?: boolean;
  /** AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN; omitted if undefined. */
  readonly rseq?: { readonly featureSize: bigint; readonly align: bigint };
}

/**
 * The auxiliary vector Linux 6.x builds for a static executable, in its order: ARCH_DLINFO
 * (AT_SYSINFO_EHDR, AT_MINSIGSTKSZ on x86-64 and AArch64), AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR,
 * AT_PHENT, AT_PHNUM, AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE,
 * AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_PLATFORM, AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN. AT_RANDOM,
 * AT_EXECFN and AT_PLATFORM are placeholders (value 0) that {@link buildInitialStack} fills in.
 * AT_NULL is not included.
 */
export function linuxAuxv(o: LinuxAuxvOptions): AuxvEntry[] {
  if (o === null || typeof o !== 'object')
    throw invalidArgument('options', o, 'an object { phdr, phnum, entry, … }');
  if (o.rseq !== undefined && (o.rseq === null || typeof o.rseq !== 'object'))
    throw invalidArgument('rseq', o.rseq, 'an object { featureSize, align } or undefined');
  const out: AuxvEntry[] = [];
  const add = (type: number, value: bigint | number) => {
    const ok =
      typeof value === 'bigint'
        ? value >= 0n && value < 1n << 64n
        : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
    if (!ok) throw invalidArgument(AUXV_NAMES[type] ?? `auxv type ${type}`, value, 'an integer in [0, 2^64)');
    out.push({ type, value: BigInt(value) });
  };
  if (o.sysinfoEhdr !== undefined) add(AT_SYSINFO_EHDR, o.sysinfoEhdr);
  if (o.minSigStackSize !== undefined) add(AT_MINSIGSTKSZ, o.minSigStackSize);
  add(AT_HWCAP, o.hwcap ?? 0n);
  add(AT_PAGESZ, o.pageSize ?? 4096);
  add(AT_CLKTCK, o.clktck ?? 100);
  add(AT_PHDR, o.phdr);
  add(AT_PHENT, o.phent ?? 56);
  add(AT_PHNUM, o.phnum);
  add(AT_BASE, o.base ?? 0n);
  add(AT_FLAGS, o.flags ?? 0n);
  add(AT_ENTRY, o.entry);
  add(AT_UID, o.uid ?? 0);
  add(AT_EUID, o.euid ?? 0);
  add(AT_GID, o.gid ?? 0);
  add(AT_EGID, o.egid ?? 0);
  add(AT_SECURE, o.secure ? 1 : 0);
  add(AT_RANDOM, 0);
  if (o.hwcap2 !== undefined) add(AT_HWCAP2, o.hwcap2);
  add(AT_EXECFN, 0);
  if (o.platform) add(AT_PLATFORM, 0);
  if (o.rseq !== undefined) {
    add(AT_RSEQ_FEATURE_SIZE, o.rseq.featureSize);
    add(AT_RSEQ_ALIGN, o.rseq.align);
  }
  return out;
}
