/**
 * Internal masks for entries handled as two 32-bit halves: `lo` = bits 31:0,
 * `hi` = bits 63:32 (entry bit n ≥ 32 is `hi` bit n - 32). Used by the codec
 * and the walker; not part of the public surface (arch-facts B3).
 */

export const TWO_32 = 0x1_0000_0000;

// lo word
export const LO_P = 1 << 0;
export const LO_RW = 1 << 1;
export const LO_US = 1 << 2;
export const LO_PWT = 1 << 3;
export const LO_PCD = 1 << 4;
export const LO_A = 1 << 5;
export const LO_D = 1 << 6;
/** PS in PDEs/PDPTEs, PAT in 4 KiB PTEs. */
export const LO_PS = 1 << 7;
export const LO_PAT_4K = 1 << 7;
export const LO_G = 1 << 8;
export const LO_AVL_SHIFT = 9;
export const LO_AVL_MASK = 0b111 << 9;
export const LO_PAT_LARGE = 1 << 12;
/** Address bits 31:12 of a 4 KiB page or a next table. */
export const LO_ADDR_4K = 0xffff_f000;
/** Address bits 31:21 of a 2 MiB page. */
export const LO_ADDR_2M = 0xffe0_0000;
/** Address bits 31:22 of a 4 MiB page (32-bit paging). */
export const LO_ADDR_4M = 0xffc0_0000;
/** Address bits 31:30 of a 1 GiB page. */
export const LO_ADDR_1G = 0xc000_0000;
/** PSE-36: PA[39:32] of a 4 MiB page in bits 20:13. */
export const LO_PSE36_SHIFT = 13;

// hi word
/** Address bits 51:32. */
export const HI_ADDR = 0xf_ffff;
/** Software bits 58:52. */
export const HI_AVL_SHIFT = 20;
export const HI_AVL_MASK = 0x7f << 20;
/** Protection key, bits 62:59. */
export const HI_PK_SHIFT = 27;
/** Execute-disable, bit 63. */
export const HI_XD = 0x8000_0000;
