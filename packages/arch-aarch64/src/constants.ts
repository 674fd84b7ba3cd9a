/**
 * Architectural constants of VMSAv8-64 stage 1 (EL1&0 regime, 4 KiB granule,
 * 48-bit VA and OA) as bit positions (numbers), in the manuals' spelling.
 *
 * ```
 * Block / page descriptor (arch-facts A5)
 *  63   62:59  58:55  54   53   52    51   50  49:48  47 ...... n  n-1:12  11  10  9:8  7:6      5   4:2       1:0
 *  ign  ign    SW     UXN  PXN  Cont  DBM  GP  RES0   output addr  RES0    nG  AF  SH   AP[2:1]  NS  AttrIndx  01 block / 11 page
 *
 * Table descriptor
 *  63       62:61    60        59        58:52    51:48  47 ........ 12  11:2     1:0
 *  NSTable  APTable  UXNTable  PXNTable  ignored  RES0   next table      ignored  11
 * ```
 */

/** Bit positions of stage-1 descriptor fields (arch-facts A5). */
export const DESCRIPTOR_BITS = {
  /** bit 0: 1 = valid. */
  Valid: 0,
  /** bit 1: 1 = table (L0–L2) or page (L3); 0 = block (L1/L2). */
  Type: 1,
  /** bits [4:2]: index into MAIR_EL1. */
  AttrIndx: 2,
  /** bit 5: Non-secure (ignored in the Non-secure EL1&0 regime). */
  NS: 5,
  /** bit 6: AP[1], EL0 access. */
  AP1: 6,
  /** bit 7: AP[2], read-only. */
  AP2: 7,
  /** bits [9:8]: shareability. */
  SH: 8,
  /** bit 10: Access flag. */
  AF: 10,
  /** bit 11: not global. */
  nG: 11,
  /** bit 16: nT in block descriptors (FEAT_BBM). */
  nT: 16,
  /** bit 50: Guarded page (FEAT_BTI). */
  GP: 50,
  /** bit 51: Dirty Bit Modifier (FEAT_HAFDBS). */
  DBM: 51,
  /** bit 52: Contiguous hint. */
  Contiguous: 52,
  /** bit 53: Privileged execute-never. */
  PXN: 53,
  /** bit 54: Unprivileged execute-never (UXN / XN). */
  UXN: 54,
  /** bits [58:55]: reserved for software use. */
  Software: 55,
  /** bit 59: PXNTable (table descriptors). */
  PXNTable: 59,
  /** bit 60: UXNTable / XNTable (table descriptors). */
  UXNTable: 60,
  /** bit 61: APTable[0], no EL0 access below (table descriptors). */
  APTable0: 61,
  /** bit 62: APTable[1], read-only below (table descriptors). */
  APTable1: 62,
  /** bit 63: NSTable (table descriptors). */
  NSTable: 63,
} as const;

/** Field positions of TCR_EL1 (arch-facts A4). */
export const TCR_EL1_BITS = {
  T0SZ: 0,
  EPD0: 7,
  IRGN0: 8,
  ORGN0: 10,
  SH0: 12,
  TG0: 14,
  T1SZ: 16,
  A1: 22,
  EPD1: 23,
  IRGN1: 24,
  ORGN1: 26,
  SH1: 28,
  TG1: 30,
  IPS: 32,
  AS: 36,
  TBI0: 37,
  TBI1: 38,
  HA: 39,
  HD: 40,
  HPD0: 41,
  HPD1: 42,
} as const;

/** Bit positions of SCTLR_EL1 used here (arch-facts A6). */
export const SCTLR_EL1_BITS = {
  /** MMU enable. */
  M: 0,
  /** Alignment check enable. */
  A: 1,
  /** Data cacheability. */
  C: 2,
  /** Instruction cacheability. */
  I: 12,
  /** Write permission implies execute-never. */
  WXN: 19,
  /** Set Privileged Access Never: 0 = PSTATE.PAN is set on exception entry to EL1. */
  SPAN: 23,
  /** Endianness of EL0 data accesses. */
  E0E: 24,
  /** Endianness of EL1 data accesses and table walks. */
  EE: 25,
} as const;

/**
 * SCTLR_EL1 bits that are RES1 in Armv8.0 (11, 20, 22, 28, 29; Linux `SCTLR_EL1_RES1`).
 * Later features give them meanings (EOS, TSCXT, EIS, nTLSMD, LSMAOE) whose value 1 keeps
 * the Armv8.0 behaviour, so a kernel writes them as 1.
 */
export const SCTLR_EL1_RES1 = (1 << 11) | (1 << 20) | (1 << 22) | (1 << 28) | (1 << 29);

/** ESR_EL1 layout (arch-facts A9). */
export const ESR_EL1_BITS = {
  /** bits [5:0]: DFSC / IFSC. */
  FSC: 0,
  /** bit 6: Write not Read (data aborts). */
  WnR: 6,
  /** bit 7: fault on a stage-2 walk for a stage-1 walk. */
  S1PTW: 7,
  /** bit 8: cache maintenance / AT instruction. */
  CM: 8,
  /** bit 9: External abort type. */
  EA: 9,
  /** bit 10: FAR not valid. */
  FnV: 10,
  /** bits [12:11]: synchronous error type / load-store type. */
  SET: 11,
  /** bit 13: VNCR_EL2 access. */
  VNCR: 13,
  /** bit 14: acquire/release. */
  AR: 14,
  /** bit 15: sixty-four bit register. */
  SF: 15,
  /** bits [20:16]: syndrome register transfer. */
  SRT: 16,
  /** bit 21: syndrome sign extend. */
  SSE: 21,
  /** bits [23:22]: syndrome access size. */
  SAS: 22,
  /** bit 24: instruction syndrome valid. */
  ISV: 24,
  /** bit 25: instruction length (1 = 32-bit). */
  IL: 25,
  /** bits [31:26]: exception class. */
  EC: 26,
} as const;

/** Exception classes of ESR_EL1 that mmkit produces or names specially (arch-facts A9). */
export const EXCEPTION_CLASS = {
  Unknown: 0x00,
  Svc64: 0x15,
  InstructionAbortLowerEl: 0x20,
  InstructionAbortSameEl: 0x21,
  PcAlignment: 0x22,
  DataAbortLowerEl: 0x24,
  DataAbortSameEl: 0x25,
  SpAlignment: 0x26,
  SError: 0x2f,
  Brk64: 0x3c,
} as const;

/** Long-descriptor fault status code bases: add the level (0–3) for the level-specific ones (arch-facts A9). */
export const FAULT_STATUS = {
  AddressSize: 0x00,
  Translation: 0x04,
  AccessFlag: 0x08,
  Permission: 0x0c,
  SyncExternal: 0x10,
  SyncExternalOnWalk: 0x14,
  Alignment: 0x21,
  AddressSizeLevelMinus1: 0x29,
  TranslationLevelMinus1: 0x2b,
  TlbConflict: 0x30,
  UnsupportedAtomicUpdate: 0x31,
} as const;

/**
 * Linux `MAIR_EL1_SET` since v5.11 (arch-facts A8): Attr0 = 0xFF (MT_NORMAL), Attr1 = 0xFF
 * (MT_NORMAL_TAGGED without MTE), Attr2 = 0x44 (MT_NORMAL_NC), Attr3 = 0x00 (MT_DEVICE_nGnRnE),
 * Attr4 = 0x04 (MT_DEVICE_nGnRE).
 */
export const AARCH64_LINUX_MAIR = 0x0000_0004_0044_ffffn;

/** The AArch64 level names, indexed by internal level (1 = L3 … 4 = L0). */
export const AARCH64_LEVEL_NAMES = ['', 'L3', 'L2', 'L1', 'L0'] as const;

/**
 * VA bits each root translates (T0SZ = T1SZ = 16: TTBR0 covers [0, 2^48), TTBR1
 * [2^64 − 2^48, 2^64); `ArchDescription.vaBits` in contract v2).
 */
export const AARCH64_VA_BITS = 48;
/** Output-address width (TCR_EL1.IPS = 0b101). */
export const AARCH64_PA_BITS = 48;

/** e_machine EM_AARCH64 (Linux `include/uapi/linux/elf-em.h`: `#define EM_AARCH64 183`). */
export const EM_AARCH64 = 183;

/** ELF identification of AArch64 programs: EM_AARCH64, ELFCLASS64, AT_PLATFORM `aarch64`. */
export const AARCH64_ELF = Object.freeze({ machine: EM_AARCH64, class: 64 as const, platform: 'aarch64' });
