/**
 * VMSAv8-64 stage-1 descriptor ⇄ neutral entry (arch-facts A5, A6, A10).
 *
 * Neutral leaf permissions are what QEMU's `get_S1prot` grants for this entry
 * alone: no table attributes, no PAN, no WXN (those are regime state, applied
 * by the walker).
 *
 * ```
 * AP[2:1]  EL1  EL0        EL0 execute = !UXN (independent of AP: AP=x0 + UXN=0 is EL0 execute-only)
 *   00     RW   none       EL1 execute = !PXN && EL0 cannot write
 *   01     RW   RW
 *   10     RO   none
 *   11     RO   RO
 * ```
 *
 * Dirty state. With hardware dirty management (TCR_EL1.HD = 1, needs HA) a
 * writable leaf is encoded the Linux way: DBM = 1 (Linux `PTE_WRITE`) and
 * AP[2] = 1 while clean, 0 once dirty. Without it, DBM is ignored by the
 * hardware, so a writable leaf has AP[2] = 0 and is always dirty (software
 * dirty tracking maps a clean page read-only and handles the Permission fault);
 * DBM is still set on it, as Linux's `pte_mkwrite` sets `PTE_WRITE` (= DBM) on
 * every writable leaf whatever TCR_EL1.HD says.
 *
 * Software entries (bit 0 = 0, non-zero) carry a payload in bits [52:1]; the
 * hardware ignores bits [63:1] of an invalid descriptor.
 */
import {
  type DescriptorCodec,
  type Field,
  formatSwapEntry,
  hex,
  type LeafAttributes,
  type NeutralEntry,
  type Permissions,
  type RawDescriptor,
  type TableAttributes,
  UnrepresentableError,
} from '@mmkit/core';
import { describeDescriptor } from './describe-descriptor.js';
import {
  HI_ADDR,
  HI_AP_TABLE0,
  HI_AP_TABLE1,
  HI_CONT,
  HI_DBM,
  HI_PXN,
  HI_PXN_TABLE,
  HI_SW_SHIFT,
  HI_UXN,
  HI_UXN_TABLE,
  LEAF_BYTES,
  LEAF_LO_MASK,
  LO_ADDR_4K,
  LO_AF,
  LO_AP1,
  LO_AP2,
  LO_ATTRINDX_SHIFT,
  LO_NG,
  LO_SH_INNER,
  LO_TYPE,
  LO_VALID,
  OA_LIMIT,
  SOFTWARE_PAYLOAD_LIMIT,
  TWO_32,
} from './descriptor-bits.js';
import type { MairMap } from './mair.js';
import { AARCH64_SWAP_CODEC } from './swap-entry.js';

const ARCH = 'aarch64';

/** Frozen permission objects, indexed by r | w << 1 | x << 2. */
const PERMS: readonly Permissions[] = Array.from({ length: 8 }, (_, i) =>
  Object.freeze({ read: (i & 1) !== 0, write: (i & 2) !== 0, execute: (i & 4) !== 0 }),
);
const ABSENT: NeutralEntry = Object.freeze({ kind: 'absent' });

function perm(read: boolean, write: boolean, execute: boolean): Permissions {
  return PERMS[(read ? 1 : 0) | (write ? 2 : 0) | (execute ? 4 : 0)]!;
}

/** Settings the codec depends on. */
export interface Aarch64CodecConfig {
  /** Effective TCR_EL1.HD (hardware dirty state, only with HA). */
  readonly hardwareDirty: boolean;
  /** The AttrIndx map of the MAIR_EL1 value in use. */
  readonly mair: MairMap;
}

/** Checks an internal level; returns true for 1 … 4. */
function isLevel(level: number): boolean {
  return level === 1 || level === 2 || level === 3 || level === 4;
}

/** See the module documentation. Stateless apart from its configuration; safe to share. */
export class Aarch64DescriptorCodec implements DescriptorCodec {
  constructor(readonly config: Aarch64CodecConfig) {}

  /** Decodes a descriptor found at internal `level` (1 = L3 … 4 = L0). Never throws. */
  decode(lo: number, hi: number, level: number): NeutralEntry {
    lo >>>= 0;
    hi >>>= 0;
    if (lo === 0 && hi === 0) return ABSENT;
    if (!isLevel(level))
      return { kind: 'invalid', reason: `level ${level} does not exist (AArch64 has 1 = L3 … 4 = L0)` };
    if ((lo & LO_VALID) === 0) {
      if (hi >>> 21 !== 0) {
        // A neutral software payload is a number of bits [52:1] (exact in a double); a Linux swap
        // PTE with an offset of 2^41 or more (offset << 12) sets bits above them and stays
        // `invalid`, named here (`ArchBackend.swap` decodes it exactly; x86-64 does the same for
        // every swap PTE, whose type and inverted offset always set bits 63:52).
        const s = level === 1 ? AARCH64_SWAP_CODEC.decode(lo, hi, 1) : undefined;
        const what =
          s === undefined
            ? 'not an mmkit software entry (payload in [52:1])'
            : `${formatSwapEntry(s)} (its offset reaches past a software payload's bits [52:1])`;
        return { kind: 'invalid', reason: `invalid descriptor (bit 0 = 0) with bits [63:53] set: ${what}` };
      }
      return { kind: 'software', payload: ((hi & 0x1f_ffff) * TWO_32 + lo) / 2 };
    }
    if ((lo & LO_TYPE) !== 0) {
      if (level > 1) return this.decodeTable(lo, hi);
      return this.decodeLeaf(lo, hi, 1);
    }
    if (level === 2 || level === 3) return this.decodeLeaf(lo, hi, level);
    return {
      kind: 'invalid',
      reason:
        level === 1
          ? 'block encoding 0b01 is reserved at L3: a walk takes a Translation fault, level 3'
          : 'block descriptor at L0 needs FEAT_LPA2 (TCR_EL1.DS = 1): a walk takes a Translation fault, level 0',
    };
  }

  private decodeTable(lo: number, hi: number): NeutralEntry {
    const attrs: TableAttributes = {
      noUser: (hi & HI_AP_TABLE0) !== 0,
      readOnly: (hi & HI_AP_TABLE1) !== 0,
      noExecuteUser: (hi & HI_UXN_TABLE) !== 0,
      noExecuteKernel: (hi & HI_PXN_TABLE) !== 0,
    };
    // Bits [51:48] are kept in the address so that a walk reports the Address size fault.
    return { kind: 'table', pa: (hi & 0xf_ffff) * TWO_32 + ((lo & LO_ADDR_4K) >>> 0), attrs };
  }

  private decodeLeaf(lo: number, hi: number, level: number): NeutralEntry {
    const ap1 = (lo & LO_AP1) !== 0;
    const ap2 = (lo & LO_AP2) !== 0;
    const dbm = this.config.hardwareDirty && (hi & HI_DBM) !== 0;
    const writable = !ap2 || dbm;
    const userWrite = ap1 && writable;
    const attrs: LeafAttributes = {
      user: perm(ap1, userWrite, (hi & HI_UXN) === 0),
      kernel: perm(true, writable, (hi & HI_PXN) === 0 && !userWrite),
      global: (lo & LO_NG) === 0,
      memoryType: this.memoryTypeOf((lo >>> LO_ATTRINDX_SHIFT) & 7),
      accessed: (lo & LO_AF) !== 0,
      dirty: !ap2,
      software: (hi >>> HI_SW_SHIFT) & 0xf,
      contiguous: (hi & HI_CONT) !== 0,
    };
    // Bits [49:48] are kept in the address so that a walk reports the Address size fault.
    const pa = (hi & 0x3_ffff) * TWO_32 + ((lo & LEAF_LO_MASK[level]!) >>> 0);
    return { kind: 'leaf', pa, attrs };
  }

  private memoryTypeOf(attrIndx: number): LeafAttributes['memoryType'] {
    const a = this.config.mair.attribute(attrIndx);
    return a.memoryType ?? 'device';
  }

  /**
   * Encodes a neutral entry for internal `level`.
   * @throws UnrepresentableError for anything the VMSAv8-64 format cannot express (the reason
   *   names the offending value): a leaf at L0, a table at L3, a misaligned or ≥ 2^48 address,
   *   permissions outside the AP[2:1]/UXN/PXN table, a dirty state the HD setting cannot hold,
   *   a memory type MAIR_EL1 lacks, software bits outside 0 … 15, a software payload outside
   *   1 … 2^52 - 1, a table with `accessed` set (no table AF without FEAT_HAFT).
   */
  encode(entry: NeutralEntry, level: number): RawDescriptor {
    if (!isLevel(level)) throw new UnrepresentableError(ARCH, level, 'no such level (1 = L3 … 4 = L0)');
    switch (entry.kind) {
      case 'absent':
        return { lo: 0, hi: 0 };
      case 'software': {
        const p = entry.payload;
        if (!Number.isInteger(p) || p < 1 || p >= SOFTWARE_PAYLOAD_LIMIT) {
          throw new UnrepresentableError(
            ARCH,
            level,
            `software payload ${p} is outside 1 … 2^52 - 1 (bits [52:1])`,
          );
        }
        const v = p * 2;
        return { lo: (v % TWO_32) >>> 0, hi: Math.floor(v / TWO_32) >>> 0 };
      }
      case 'invalid':
        throw new UnrepresentableError(ARCH, level, `an invalid entry cannot be encoded (${entry.reason})`);
      case 'table':
        return this.encodeTable(entry.pa, entry.attrs, level);
      case 'leaf':
        return this.encodeLeaf(entry.pa, entry.attrs, level);
      default:
        throw new UnrepresentableError(
          ARCH,
          level,
          `unknown entry kind ${JSON.stringify((entry as { kind: unknown }).kind)}`,
        );
    }
  }

  private checkAddress(pa: number, alignment: number, level: number, what: string): void {
    if (!Number.isSafeInteger(pa) || pa < 0) {
      throw new UnrepresentableError(ARCH, level, `${what} ${pa} is not a non-negative integer`);
    }
    if (pa >= OA_LIMIT) {
      throw new UnrepresentableError(
        ARCH,
        level,
        `${what} ${hex(pa)} is not below 2^48 (48-bit output address)`,
      );
    }
    if (pa % alignment !== 0) {
      throw new UnrepresentableError(ARCH, level, `${what} ${hex(pa)} is not aligned to ${hex(alignment)}`);
    }
  }

  private encodeTable(pa: number, attrs: TableAttributes, level: number): RawDescriptor {
    if (level === 1) throw new UnrepresentableError(ARCH, level, 'L3 holds pages, not table descriptors');
    this.checkAddress(pa, 0x1000, level, 'next-level table address');
    if (attrs.accessed) {
      throw new UnrepresentableError(ARCH, level, 'table descriptors have no Access flag without FEAT_HAFT');
    }
    const hi =
      Math.floor(pa / TWO_32) |
      (attrs.noUser ? HI_AP_TABLE0 : 0) |
      (attrs.readOnly ? HI_AP_TABLE1 : 0) |
      (attrs.noExecuteUser ? HI_UXN_TABLE : 0) |
      (attrs.noExecuteKernel ? HI_PXN_TABLE : 0);
    return { lo: ((pa % TWO_32) | LO_VALID | LO_TYPE) >>> 0, hi: hi >>> 0 };
  }

  private encodeLeaf(pa: number, a: LeafAttributes, level: number): RawDescriptor {
    if (level === 4)
      throw new UnrepresentableError(ARCH, level, 'no blocks at L0 without FEAT_LPA2 (TCR_EL1.DS = 1)');
    this.checkAddress(pa, LEAF_BYTES[level]!, level, 'output address');
    const u = a.user;
    const k = a.kernel;
    const fail = (reason: string): never => {
      throw new UnrepresentableError(ARCH, level, reason);
    };
    if (!k.read) fail('EL1 can always read a valid leaf (AP[2:1] has no EL1 no-access encoding)');
    if (u.write && !u.read) fail('EL0 write without EL0 read (AP[1] gives EL0 read whenever it gives write)');
    if (u.read && u.write !== k.write) {
      fail(
        `with EL0 access, EL0 and EL1 share AP[2]: user write ${u.write} must equal kernel write ${k.write}`,
      );
    }
    if (k.execute && u.write) fail('EL1 never executes EL0-writable memory (arch-facts A6, get_S1prot)');
    const writable = k.write;
    const hd = this.config.hardwareDirty;
    if (!writable && a.dirty) fail('a read-only leaf cannot be dirty');
    if (writable && !hd && !a.dirty) {
      fail('without hardware dirty management (TCR_EL1.HD = 0) a writable leaf is always dirty (AP[2] = 0)');
    }
    const attrIndx = this.config.mair.indexFor(a.memoryType);
    if (attrIndx < 0) {
      fail(
        `MAIR_EL1 ${hex(this.config.mair.mair, 16)} has no attribute for memory type ${JSON.stringify(a.memoryType)}`,
      );
    }
    const sw = a.software;
    if (!Number.isInteger(sw) || sw < 0 || sw > 15)
      fail(`software value ${sw} does not fit bits [58:55] (0 … 15)`);
    const ap2 = !writable || (hd && !a.dirty);
    // DBM is Linux's PTE_WRITE (bit 51): `pte_mkwrite` sets it on every writable leaf, with or
    // without hardware dirty management (TCR_EL1.HD = 0: the hardware ignores it, arch-facts A10).
    const dbm = writable;
    const lo =
      (pa % TWO_32) |
      LO_VALID |
      (level === 1 ? LO_TYPE : 0) |
      (attrIndx << LO_ATTRINDX_SHIFT) |
      (u.read ? LO_AP1 : 0) |
      (ap2 ? LO_AP2 : 0) |
      LO_SH_INNER |
      (a.accessed ? LO_AF : 0) |
      (a.global ? 0 : LO_NG);
    const hi =
      (Math.floor(pa / TWO_32) & HI_ADDR) |
      (dbm ? HI_DBM : 0) |
      (a.contiguous ? HI_CONT : 0) |
      (k.execute ? 0 : HI_PXN) |
      (u.execute ? 0 : HI_UXN) |
      (sw << HI_SW_SHIFT);
    return { lo: lo >>> 0, hi: hi >>> 0 };
  }

  /**
   * Explains a raw descriptor found at `level`, field by field, in the manual's names.
   * @throws InvalidArgumentError for a value outside [0, 2^64) or a level outside 1 … 4.
   */
  describe(value: bigint, level: number): readonly Field[] {
    return describeDescriptor(value, level, this.config);
  }

  /** The next-table address of a table descriptor, -1 for an all-zero descriptor, -2 otherwise. No allocation. */
  nextTable(lo: number, hi: number, level: number): number {
    if (lo === 0 && hi === 0) return -1;
    if ((lo & 3) === 3 && (level === 2 || level === 3 || level === 4)) {
      return (hi & 0xf_ffff) * TWO_32 + ((lo & LO_ADDR_4K) >>> 0);
    }
    return -2;
  }
}
