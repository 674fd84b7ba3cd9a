/**
 * x86 paging-structure entry ⇄ neutral entry, for every mode (arch-facts B3,
 * B4, B5, B9).
 *
 * Neutral leaf permissions are what the hardware grants from this entry alone
 * with CR0.WP = 1 and neither SMEP, SMAP nor protection keys (those are CPU
 * state, applied by the walker):
 *
 * ```
 * U/S = 1: user   { read, write: R/W, execute: !XD }     XD only with EFER.NXE; 32-bit paging and
 *          kernel { read, write: R/W, execute: !XD }     NXE = 0 execute everything
 * U/S = 0: user   none
 *          kernel { read, write: R/W, execute: !XD }
 * ```
 *
 * So the kernel can always read a present page, user and kernel share R/W and
 * XD, and e.g. user rw- with kernel r--, or user r-x with kernel r--, or any
 * non-executable leaf in `x86-32`, is refused with UnrepresentableError.
 *
 * Other fields: `accessed` = A, `dirty` = D (decoded and encoded as is, also on
 * read-only leaves), `global` = G (encoded even without CR4.PGE, where the
 * hardware ignores it; the walker reports `global` only with PGE), the memory
 * type through the PAT index (see `pat.ts`), `software` = bits 11:9 (value
 * bits 2:0) and, in IA-32e modes, bits 58:52 (value bits 9:3). Protection-key
 * bits 62:59 are not part of the neutral entry: decode ignores them, encode
 * writes key 0, and the walker applies PKRU to them (`withProtectionKey` sets a
 * key on a raw entry).
 *
 * Tables: R/W, U/S and XD restrict everything below them: `readOnly` = !R/W,
 * `noUser` = !U/S, `noExecuteUser` = `noExecuteKernel` = XD (one bit for both;
 * different values are refused), `accessed` = A. A PAE PDPTE has none of these
 * bits (only P, PWT, PCD, the address and bits 11:9): any restriction, or
 * `accessed`, is refused there.
 *
 * An entry whose walk takes a reserved-bit fault (arch-facts B4) decodes as
 * `invalid` with the reason. Non-present entries (P = 0) carry a software
 * payload: bits 31:1 (`x86-32`, 31 bits) or 51:1 (51 bits; bits 63:52 must be 0).
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
import { describeEntry } from './describe-entry.js';
import {
  HI_ADDR,
  HI_AVL_SHIFT,
  HI_PK_SHIFT,
  HI_XD,
  LO_A,
  LO_ADDR_1G,
  LO_ADDR_2M,
  LO_ADDR_4K,
  LO_ADDR_4M,
  LO_AVL_SHIFT,
  LO_D,
  LO_G,
  LO_P,
  LO_PS,
  LO_RW,
  LO_US,
  TWO_32,
} from './entry-bits.js';
import { X86_LEVEL_NAMES } from './modes.js';
import type { X86Format } from './options.js';
import { patIndexBits, patIndexOf } from './pat.js';
import { x86SwapCodec } from './swap-entry.js';

/** Frozen permission objects, indexed by r | w << 1 | x << 2. */
const PERMS: readonly Permissions[] = Array.from({ length: 8 }, (_, i) =>
  Object.freeze({ read: (i & 1) !== 0, write: (i & 2) !== 0, execute: (i & 4) !== 0 }),
);
const NONE = PERMS[0]!;
const ABSENT: NeutralEntry = Object.freeze({ kind: 'absent' });

function perm(read: boolean, write: boolean, execute: boolean): Permissions {
  return PERMS[(read ? 1 : 0) | (write ? 2 : 0) | (execute ? 4 : 0)]!;
}

/**
 * Sets protection key `key` (0 … 15, bits 62:59) on a raw IA-32e leaf entry (the neutral
 * entry does not carry keys). @throws UnrepresentableError for a key outside 0 … 15.
 */
export function withProtectionKey(raw: RawDescriptor, key: number): RawDescriptor {
  if (!Number.isInteger(key) || key < 0 || key > 15) {
    throw new UnrepresentableError('x86_64', 1, `protection key ${key} is outside 0 … 15 (bits 62:59)`);
  }
  return { lo: raw.lo >>> 0, hi: ((raw.hi & ~(0xf << HI_PK_SHIFT)) | (key << HI_PK_SHIFT)) >>> 0 };
}

/** The protection key (bits 62:59) of a raw 8-byte entry. */
export function protectionKeyOf(raw: RawDescriptor): number {
  return (raw.hi >>> HI_PK_SHIFT) & 0xf;
}

/** See the module documentation. Stateless apart from its format; safe to share. */
export class X86DescriptorCodec implements DescriptorCodec {
  private readonly arch: string;
  private readonly names: readonly string[];

  constructor(readonly format: X86Format) {
    this.arch = format.mode;
    this.names = X86_LEVEL_NAMES[format.mode];
  }

  private isLevel(level: number): boolean {
    return Number.isInteger(level) && level >= 1 && level <= this.format.levels;
  }

  /** True if a present entry at `level` with low word `lo` maps a leaf (PT, or PS = 1 where PS means a page). */
  private isLeaf(lo: number, level: number): boolean {
    if (level === 1) return true;
    const f = this.format;
    if (!f.wide) return level === 2 && f.options.pse && (lo & LO_PS) !== 0;
    if (level === 2 || (level === 3 && f.ia32e)) return (lo & LO_PS) !== 0;
    return false;
  }

  /** Why a present entry at `level` takes a reserved-bit fault, or undefined (arch-facts B4). */
  private reservedReason(lo: number, hi: number, level: number): string | undefined {
    const f = this.format;
    const name = this.names[level];
    const reasons: string[] = [];
    if (!f.wide) {
      if (this.isLeaf(lo, level) && level === 2 && (lo & f.largeRsvdLo[2]!) !== 0) {
        reasons.push(
          f.pse36Bits === 40
            ? 'bit 21 of a 4 MiB PDE is reserved'
            : `bits 21:${f.pse36Bits - 19} of a 4 MiB PDE are reserved (bit 21, and PA bits above ${f.pse36Bits} in bits 20:13)`,
        );
      }
    } else if (!f.ia32e && level === 3) {
      if ((lo & f.pdpteRsvdLo) !== 0) reasons.push('bits 2:1 and 8:5 of a PAE PDPTE are reserved');
      if ((hi & 0x8000_0000) !== 0) reasons.push('bit 63 (XD) of a PAE PDPTE is reserved');
      if ((hi & f.pdpteRsvdHi & 0x7fff_ffff) !== 0) {
        reasons.push(
          `bits 62:${f.options.maxPhysAddr} of a PAE PDPTE are reserved (MAXPHYADDR ${f.options.maxPhysAddr})`,
        );
      }
    } else {
      const m = f.options.maxPhysAddr;
      if (m < 52 && (hi & HI_ADDR & f.rsvdHi) !== 0) {
        reasons.push(`address bits 51:${m} are reserved (MAXPHYADDR ${m})`);
      }
      if (!f.options.nxe && (hi & HI_XD) !== 0) reasons.push('XD (bit 63) is reserved with EFER.NXE = 0');
      if (!f.ia32e && (hi & 0x7ff0_0000) !== 0) reasons.push('bits 62:52 are reserved in PAE paging');
      if (level >= 4 && (lo & LO_PS) !== 0) reasons.push(`PS (bit 7) is reserved in a ${name}E`);
      if (this.isLeaf(lo, level) && level > 1 && (lo & f.largeRsvdLo[level]!) !== 0) {
        reasons.push(
          `bits ${level === 2 ? '20:13' : '29:13'} of a ${level === 2 ? '2 MiB' : '1 GiB'} page entry are reserved`,
        );
      }
    }
    if (reasons.length === 0) return undefined;
    return `${reasons.join('; ')}: a walk takes a #PF with RSVD at the ${name}`;
  }

  /** Decodes an entry found at internal `level` (1 = PT … root). Never throws. */
  decode(lo: number, hi: number, level: number): NeutralEntry {
    const f = this.format;
    lo >>>= 0;
    hi = f.wide ? hi >>> 0 : 0;
    if (lo === 0 && hi === 0) return ABSENT;
    if (!this.isLevel(level)) {
      return { kind: 'invalid', reason: `level ${level} does not exist in ${f.mode} (1 = PT … ${f.levels})` };
    }
    if ((lo & LO_P) === 0) {
      if (!f.wide) return { kind: 'software', payload: lo >>> 1 };
      if (hi >>> 20 !== 0) return { kind: 'invalid', reason: this.nonPresentReason(lo, hi, level) };
      return { kind: 'software', payload: (hi * TWO_32 + lo) / 2 };
    }
    const why = this.reservedReason(lo, hi, level);
    if (why !== undefined) return { kind: 'invalid', reason: why };
    if (this.isLeaf(lo, level)) return this.decodeLeaf(lo, hi, level);
    return { kind: 'table', pa: this.tableAddress(lo, hi), attrs: this.tableAttributes(lo, hi, level) };
  }

  /**
   * Why a not-present entry with bits 63:52 set decodes as `invalid`. A Linux swap PTE of x86-64
   * or PAE always has them set (the type in 63:59, the L1TF-inverted offset up to bit 58), but a
   * neutral `software` payload is a number of bits 51:1 (exact in a double, below 2^53) and
   * cannot hold it: the contract keeps such entries `invalid` — to the hardware they are simply
   * not present — and the reason names the swap entry (`ArchBackend.swap` decodes it exactly).
   * AArch64 does the same for a swap PTE beyond its payload bits [52:1].
   */
  private nonPresentReason(lo: number, hi: number, level: number): string {
    const s = level === 1 ? x86SwapCodec(this.format.mode).decode(lo, hi, 1) : undefined;
    const what =
      s === undefined
        ? 'not an mmkit software entry (payload in bits 51:1)'
        : `${formatSwapEntry(s)} (bits 63:52 hold the type and the inverted offset, beyond a software payload's bits 51:1)`;
    return `not-present entry (P = 0) with bits 63:52 set: ${what}; a walk takes a not-present #PF`;
  }

  private tableAddress(lo: number, hi: number): number {
    return (this.format.wide ? (hi & HI_ADDR) * TWO_32 : 0) + ((lo & LO_ADDR_4K) >>> 0);
  }

  private tableAttributes(lo: number, hi: number, level: number): TableAttributes {
    const f = this.format;
    if (f.wide && !f.ia32e && level === 3) {
      return {
        noUser: false,
        readOnly: false,
        noExecuteUser: false,
        noExecuteKernel: false,
        accessed: false,
      };
    }
    const xd = (hi & HI_XD) !== 0;
    return {
      noUser: (lo & LO_US) === 0,
      readOnly: (lo & LO_RW) === 0,
      noExecuteUser: xd,
      noExecuteKernel: xd,
      accessed: (lo & LO_A) !== 0,
    };
  }

  private decodeLeaf(lo: number, hi: number, level: number): NeutralEntry {
    const f = this.format;
    const write = (lo & LO_RW) !== 0;
    const execute = (hi & HI_XD) === 0;
    const attrs: LeafAttributes = {
      user: (lo & LO_US) !== 0 ? perm(true, write, execute) : NONE,
      kernel: perm(true, write, execute),
      global: (lo & LO_G) !== 0,
      memoryType: f.pat.memoryTypeOf(patIndexOf(lo, level > 1)),
      accessed: (lo & LO_A) !== 0,
      dirty: (lo & LO_D) !== 0,
      software: ((lo >>> LO_AVL_SHIFT) & 7) | (f.ia32e ? ((hi >>> HI_AVL_SHIFT) & 0x7f) << 3 : 0),
      contiguous: false,
    };
    return { kind: 'leaf', pa: this.leafAddress(lo, hi, level), attrs };
  }

  private leafAddress(lo: number, hi: number, level: number): number {
    const f = this.format;
    if (!f.wide) {
      if (level === 1) return (lo & LO_ADDR_4K) >>> 0;
      return ((lo >>> 13) & 0xff) * TWO_32 + ((lo & LO_ADDR_4M) >>> 0);
    }
    const mask = level === 1 ? LO_ADDR_4K : level === 2 ? LO_ADDR_2M : LO_ADDR_1G;
    return (hi & HI_ADDR) * TWO_32 + ((lo & mask) >>> 0);
  }

  /** Bytes of a leaf at `level`, 0 where the mode has no leaves. */
  leafBytes(level: number): number {
    const f = this.format;
    if (level === 1) return 0x1000;
    if (level === 2) return f.wide ? 0x20_0000 : f.options.pse ? 0x40_0000 : 0;
    if (level === 3 && f.ia32e) return 0x4000_0000;
    return 0;
  }

  /**
   * Encodes a neutral entry for internal `level`.
   * @throws UnrepresentableError for anything the format cannot express (the reason names the
   *   offending value): a leaf where the level has none (PDPT in PAE, PML4/PML5, PD without
   *   CR4.PSE in `x86-32`), a table in the PT, a misaligned or ≥ 2^paBits address, kernel without
   *   read, user and kernel permissions that differ in write or execute while the user has access,
   *   user write/execute without read, no-execute without XD (`x86-32`, NXE = 0), a memory type
   *   IA32_PAT lacks, software bits out of range, `contiguous`, a PAE PDPTE with restrictions or
   *   `accessed`, a table with noExecuteUser ≠ noExecuteKernel, a payload out of range.
   */
  encode(entry: NeutralEntry, level: number): RawDescriptor {
    if (!this.isLevel(level)) {
      throw new UnrepresentableError(this.arch, level, `no such level (1 = PT … ${this.format.levels})`);
    }
    switch (entry.kind) {
      case 'absent':
        return { lo: 0, hi: 0 };
      case 'software':
        return this.encodeSoftware(entry.payload, level);
      case 'invalid':
        throw new UnrepresentableError(
          this.arch,
          level,
          `an invalid entry cannot be encoded (${entry.reason})`,
        );
      case 'table':
        return this.encodeTable(entry.pa, entry.attrs, level);
      case 'leaf':
        return this.encodeLeaf(entry.pa, entry.attrs, level);
      default:
        throw new UnrepresentableError(
          this.arch,
          level,
          `unknown entry kind ${JSON.stringify((entry as { kind: unknown }).kind)}`,
        );
    }
  }

  private encodeSoftware(payload: number, level: number): RawDescriptor {
    const bits = this.format.payloadBits;
    if (!Number.isInteger(payload) || payload < 1 || payload >= 2 ** bits) {
      throw new UnrepresentableError(
        this.arch,
        level,
        `software payload ${payload} is outside 1 … 2^${bits} - 1 (bits ${bits}:1 of a not-present entry)`,
      );
    }
    const v = payload * 2;
    return { lo: (v % TWO_32) >>> 0, hi: Math.floor(v / TWO_32) >>> 0 };
  }

  private checkAddress(pa: number, alignment: number, level: number, what: string): void {
    const bits = this.format.paBits;
    if (!Number.isSafeInteger(pa) || pa < 0) {
      throw new UnrepresentableError(this.arch, level, `${what} ${pa} is not a non-negative integer`);
    }
    if (pa >= 2 ** bits) {
      throw new UnrepresentableError(
        this.arch,
        level,
        `${what} ${hex(pa)} is not below 2^${bits} (${this.format.wide ? 'MAXPHYADDR' : '32-bit paging'})`,
      );
    }
    if (pa % alignment !== 0) {
      throw new UnrepresentableError(
        this.arch,
        level,
        `${what} ${hex(pa)} is not aligned to ${hex(alignment)}`,
      );
    }
  }

  private encodeTable(pa: number, t: TableAttributes, level: number): RawDescriptor {
    const f = this.format;
    if (level === 1) throw new UnrepresentableError(this.arch, level, 'the PT holds pages, not tables');
    this.checkAddress(pa, 0x1000, level, 'next-table address');
    const lo0 = pa % TWO_32;
    const hi0 = Math.floor(pa / TWO_32);
    if (f.wide && !f.ia32e && level === 3) {
      if (t.noUser || t.readOnly || t.noExecuteUser || t.noExecuteKernel || t.accessed) {
        throw new UnrepresentableError(
          this.arch,
          level,
          'a PAE PDPTE has no R/W, U/S, XD or A bit (only P, PWT, PCD and the address): restrictions go in the PDEs',
        );
      }
      return { lo: (lo0 | LO_P) >>> 0, hi: hi0 >>> 0 };
    }
    if (t.noExecuteUser !== t.noExecuteKernel) {
      throw new UnrepresentableError(
        this.arch,
        level,
        `one XD bit for user and kernel: noExecuteUser ${t.noExecuteUser} ≠ noExecuteKernel ${t.noExecuteKernel}`,
      );
    }
    if (t.noExecuteUser && !f.options.nxe) {
      throw new UnrepresentableError(
        this.arch,
        level,
        f.wide
          ? 'no execute-disable with EFER.NXE = 0 (XD is reserved)'
          : '32-bit paging has no execute-disable bit',
      );
    }
    const lo = lo0 | LO_P | (t.readOnly ? 0 : LO_RW) | (t.noUser ? 0 : LO_US) | (t.accessed ? LO_A : 0);
    const hi = hi0 | (t.noExecuteUser ? HI_XD : 0);
    return { lo: lo >>> 0, hi: hi >>> 0 };
  }

  private encodeLeaf(pa: number, a: LeafAttributes, level: number): RawDescriptor {
    const f = this.format;
    const size = this.leafBytes(level);
    const fail = (reason: string): never => {
      throw new UnrepresentableError(this.arch, level, reason);
    };
    if (size === 0) {
      fail(
        !f.wide && level === 2
          ? 'no 4 MiB pages without CR4.PSE'
          : `no pages in the ${this.names[level]} (a PS bit there is ${f.ia32e ? 'reserved' : 'not defined'})`,
      );
    }
    this.checkAddress(pa, size, level, 'page address');
    const u = a.user;
    const k = a.kernel;
    if (!k.read) fail('the kernel can always read a present page (no supervisor no-access encoding)');
    const userAny = u.read || u.write || u.execute;
    if (userAny) {
      if (!u.read) fail('user write or execute without user read (U/S = 1 always grants read)');
      if (u.write !== k.write) fail(`one R/W bit: user write ${u.write} must equal kernel write ${k.write}`);
      if (u.execute !== k.execute) {
        fail(`one XD bit: user execute ${u.execute} must equal kernel execute ${k.execute}`);
      }
    }
    if (!k.execute && !f.options.nxe) {
      fail(
        f.wide
          ? 'no execute-disable with EFER.NXE = 0: every page is executable'
          : '32-bit paging has no execute-disable bit: every page is executable',
      );
    }
    const index = f.pat.indexFor(a.memoryType);
    if (index < 0) {
      fail(`IA32_PAT ${hex(f.pat.pat, 16)} has no entry for memory type ${JSON.stringify(a.memoryType)}`);
    }
    const sw = a.software;
    const maxSw = 2 ** f.softwareBits - 1;
    if (!Number.isInteger(sw) || sw < 0 || sw > maxSw) {
      fail(
        `software value ${sw} does not fit ${f.ia32e ? 'bits 11:9 and 58:52 (0 … 1023)' : 'bits 11:9 (0 … 7)'}`,
      );
    }
    if (a.contiguous) fail('x86 has no contiguous hint');
    const large = level > 1;
    const lo =
      (pa % TWO_32) |
      LO_P |
      (k.write ? LO_RW : 0) |
      (u.read ? LO_US : 0) |
      patIndexBits(index, large) |
      (a.accessed ? LO_A : 0) |
      (a.dirty ? LO_D : 0) |
      (large ? LO_PS : 0) |
      (a.global ? LO_G : 0) |
      ((sw & 7) << LO_AVL_SHIFT);
    const hi = Math.floor(pa / TWO_32) | ((sw >>> 3) << HI_AVL_SHIFT) | (k.execute ? 0 : HI_XD);
    return { lo: lo >>> 0, hi: f.wide ? hi >>> 0 : 0 };
  }

  /**
   * Explains a raw entry found at `level`, field by field in the manual's names; the fields
   * cover every bit of the entry exactly once.
   * @throws InvalidArgumentError for a value outside [0, 2^64) (2^32 in `x86-32`) or an unknown level.
   */
  describe(value: bigint, level: number): readonly Field[] {
    return describeEntry(value, level, this.format);
  }

  /** The next-table address of a table entry at `level`, -1 for an all-zero entry, -2 otherwise. No allocation. */
  nextTable(lo: number, hi: number, level: number): number {
    const f = this.format;
    if (!f.wide) {
      if (lo === 0) return -1;
      if ((lo & LO_P) === 0 || level !== 2 || (f.options.pse && (lo & LO_PS) !== 0)) return -2;
      return (lo & LO_ADDR_4K) >>> 0;
    }
    if (lo === 0 && hi === 0) return -1;
    if ((lo & LO_P) === 0 || level < 2 || level > f.levels) return -2;
    if (!f.ia32e && level === 3) {
      if ((lo & f.pdpteRsvdLo) !== 0 || (hi & f.pdpteRsvdHi) !== 0) return -2;
    } else if ((hi & f.rsvdHi) !== 0 || (lo & LO_PS) !== 0) {
      return -2; // reserved bits, or a large page (PD/PDPT) / reserved PS (PML4/PML5)
    }
    return (hi & HI_ADDR) * TWO_32 + ((lo & LO_ADDR_4K) >>> 0);
  }
}
