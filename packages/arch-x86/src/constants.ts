/**
 * Architectural constants of x86 paging as bit positions (numbers), in the
 * manuals' spelling (arch-facts B2, B3, B6, B9).
 *
 * ```
 * IA-32e / PAE 8-byte entry (arch-facts B3)
 *  63  62:59  58:52  51:M  M-1 ........ 12   11:9  8  7       6  5  4    3    2    1    0
 *  XD  PK     AVL    rsvd  address           AVL   G  PAT/PS  D  A  PCD  PWT  U/S  R/W  P
 *  (large leaves: bit 12 = PAT, bits 20:13 (2 MiB) / 29:13 (1 GiB) reserved)
 *
 * 32-bit 4-byte entry
 *  31 ........ 12  11:9  8  7       6  5  4    3    2    1    0
 *  address         AVL   G  PAT/PS  D  A  PCD  PWT  U/S  R/W  P
 *  (4 MiB PDE: 31:22 = PA[31:22], 21 reserved, 20:13 = PA[39:32] (PSE-36), 12 = PAT)
 * ```
 */

/** Bit positions of paging-structure entry fields (arch-facts B3; Linux `_PAGE_BIT_*`). */
export const X86_ENTRY_BITS = Object.freeze({
  /** bit 0: present. */
  P: 0,
  /** bit 1: read/write (0 = read-only). */
  RW: 1,
  /** bit 2: user/supervisor (1 = user-accessible). */
  US: 2,
  /** bit 3: page-level write-through (PAT index bit 0). */
  PWT: 3,
  /** bit 4: page-level cache disable (PAT index bit 1). */
  PCD: 4,
  /** bit 5: accessed. */
  A: 5,
  /** bit 6: dirty (leaves only). */
  D: 6,
  /** bit 7 in PDEs/PDPTEs: page size (1 = maps a large page). */
  PS: 7,
  /** bit 7 in 4 KiB PTEs: PAT index bit 2. */
  PAT: 7,
  /** bit 8: global (with CR4.PGE = 1; leaves only). */
  G: 8,
  /** bits 11:9: available to software (Linux SOFTW1–3). */
  AVL: 9,
  /** bit 12 in large-page entries: PAT index bit 2. */
  PAT_LARGE: 12,
  /** bits 58:52: available to software (IA-32e; reserved in PAE entries). */
  AVL_HIGH: 52,
  /** bits 62:59: protection key (IA-32e leaves with CR4.PKE). */
  PK: 59,
  /** bit 63: execute-disable (with EFER.NXE; reserved otherwise). */
  XD: 63,
});

/** CR0 bits (arch-facts B2). */
export const CR0_BITS = Object.freeze({ PE: 0, MP: 1, ET: 4, NE: 5, WP: 16, AM: 18, NW: 29, CD: 30, PG: 31 });

/** CR4 bits (arch-facts B2). */
export const CR4_BITS = Object.freeze({
  PSE: 4,
  PAE: 5,
  PGE: 7,
  UMIP: 11,
  LA57: 12,
  PCIDE: 17,
  SMEP: 20,
  SMAP: 21,
  PKE: 22,
  CET: 23,
  PKS: 24,
});

/** IA32_EFER (MSR 0xC000_0080) bits (arch-facts B2). */
export const EFER_BITS = Object.freeze({ SCE: 0, LME: 8, LMA: 10, NXE: 11 });

/** #PF error-code bits (arch-facts B6; Linux `X86_PF_*` in `trap_pf.h`). */
export const PF_ERROR_BITS = Object.freeze({
  /** 0: not-present entry; 1: protection, reserved-bit or protection-key violation. */
  P: 0,
  /** 1: the access was a write. */
  WR: 1,
  /** 1: the access came from CPL 3. */
  US: 2,
  /** 1: a reserved bit was set in a paging-structure entry. */
  RSVD: 3,
  /** 1: instruction fetch (only with CR4.SMEP or PAE/IA-32e paging with EFER.NXE). */
  ID: 4,
  /** 1: protection-key violation. */
  PK: 5,
  /** 1: shadow-stack access. */
  SS: 6,
  /** 1: SGX EPCM violation. */
  SGX: 15,
  /** 1: AMD SEV-SNP RMP violation (Linux `X86_PF_RMP`). */
  RMP: 31,
});

/** IA32_PAT memory-type encodings (arch-facts B9; SDM "PAT memory types"). */
export const PAT_MEMORY_TYPES = Object.freeze({ UC: 0, WC: 1, WT: 4, WP: 5, WB: 6, UC_MINUS: 7 });

/**
 * The IA32_PAT value Linux programs on CPUs with full PAT support (`arch/x86/mm/pat/memtype.c`):
 * PA0 WB, PA1 WC, PA2 UC-, PA3 UC, PA4 WB, PA5 WP, PA6 UC-, PA7 WT.
 */
export const X86_LINUX_PAT = 0x0407_0506_0007_0106n;

/** The power-on IA32_PAT value: PA0 WB, PA1 WT, PA2 UC-, PA3 UC, repeated for PA4–PA7. */
export const X86_PAT_RESET = 0x0007_0406_0007_0406n;

/** MSR numbers of IA32_PAT and IA32_EFER. */
export const X86_MSR = Object.freeze({ IA32_PAT: 0x277, IA32_EFER: 0xc000_0080 });

/**
 * e_machine values (Linux `include/uapi/linux/elf-em.h`: `#define EM_386 3`,
 * `#define EM_X86_64 62`).
 */
export const X86_ELF_MACHINE = Object.freeze({ EM_386: 3, EM_X86_64: 62 });

/**
 * ELF identification per paging mode: 64-bit programs (EM_X86_64, ELFCLASS64, AT_PLATFORM
 * `x86_64`) for the IA-32e modes, 32-bit programs (EM_386, ELFCLASS32, AT_PLATFORM `i686`, what
 * Linux reports on a 686-class CPU) for 32-bit paging and PAE.
 */
export const X86_ELF = Object.freeze({
  '64': Object.freeze({ machine: X86_ELF_MACHINE.EM_X86_64, class: 64 as const, platform: 'x86_64' }),
  '32': Object.freeze({ machine: X86_ELF_MACHINE.EM_386, class: 32 as const, platform: 'i686' }),
});
