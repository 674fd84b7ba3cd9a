/**
 * Internal masks for descriptors handled as two 32-bit halves: `lo` = bits
 * [31:0], `hi` = bits [63:32] (so descriptor bit n ≥ 32 is `hi` bit n - 32).
 * Used by the codec and the walker; not part of the public surface.
 */

export const TWO_32 = 0x1_0000_0000;

// lo half
export const LO_VALID = 1 << 0;
export const LO_TYPE = 1 << 1;
export const LO_ATTRINDX_SHIFT = 2;
export const LO_NS = 1 << 5;
export const LO_AP1 = 1 << 6;
export const LO_AP2 = 1 << 7;
export const LO_SH_INNER = 0b11 << 8;
export const LO_AF = 1 << 10;
export const LO_NG = 1 << 11;
/** Next-table / page address bits [31:12]. */
export const LO_ADDR_4K = 0xffff_f000;
/** L2 block address bits [31:21]. */
export const LO_ADDR_2M = 0xffe0_0000;
/** L1 block address bits [31:30]. */
export const LO_ADDR_1G = 0xc000_0000;

// hi half
/** Address bits [47:32]. */
export const HI_ADDR = 0xffff;
/** Descriptor bits [49:48]: RES0 in leaves with a 48-bit OA (OA[49:48] with FEAT_LPA2). */
export const HI_LEAF_OA_HIGH = 0b11 << 16;
/** Descriptor bits [51:48]: RES0 in table descriptors with a 48-bit OA (OA[51:48] in 52-bit formats). */
export const HI_TABLE_OA_HIGH = 0b1111 << 16;
export const HI_GP = 1 << 18;
export const HI_DBM = 1 << 19;
export const HI_CONT = 1 << 20;
export const HI_PXN = 1 << 21;
export const HI_UXN = 1 << 22;
export const HI_SW_SHIFT = 23;
export const HI_SW_MASK = 0b1111 << 23;
export const HI_PXN_TABLE = 1 << 27;
export const HI_UXN_TABLE = 1 << 28;
export const HI_AP_TABLE0 = 1 << 29;
export const HI_AP_TABLE1 = 1 << 30;
/** Shift that turns `hi` into the 5 table-attribute bits 63:59 (QEMU `tableattrs`). */
export const HI_TABLE_ATTRS_SHIFT = 27;

/** Bits of the accumulated table attributes (descriptor bits 59 … 63 → 0 … 4). */
export const TA_PXN = 1 << 0;
export const TA_UXN = 1 << 1;
export const TA_AP0 = 1 << 2;
export const TA_AP1 = 1 << 3;

/** Output-address mask of the `lo` half for a leaf at internal level 1 … 3. */
export const LEAF_LO_MASK: readonly number[] = [0, LO_ADDR_4K, LO_ADDR_2M, LO_ADDR_1G];
/** Pages (4 KiB) per leaf at internal level 1 … 3. */
export const LEAF_PAGES: readonly number[] = [0, 1, 512, 262_144];
/** Bytes per leaf at internal level 1 … 3. */
export const LEAF_BYTES: readonly number[] = [0, 0x1000, 0x20_0000, 0x4000_0000];
/** Largest software payload + 1 (payload lives in bits [52:1]). */
export const SOFTWARE_PAYLOAD_LIMIT = 2 ** 52;
/** 2^48: first output address the 48-bit OA cannot express. */
export const OA_LIMIT = 2 ** 48;
