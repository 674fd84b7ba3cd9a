/**
 * Options of the x86 backend, their defaults and validation, and the numbers
 * derived from them once (reserved-bit masks, address widths) that the codec
 * and the walker share.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { X86_LINUX_PAT } from './constants.js';
import { isX86Mode, X86_MODES, type X86Mode } from './modes.js';
import { PatMap } from './pat.js';

/** Options of {@link createX86Arch}. */
export interface X86Options {
  /** The paging mode (arch-facts B1). */
  readonly mode: X86Mode;
  /** CR4.PSE: 4 MiB pages in 32-bit paging (default true). Ignored by PAE and IA-32e paging. */
  readonly pse?: boolean;
  /**
   * PSE-36 (CPUID.01H:EDX[17]): a 32-bit 4 MiB PDE carries PA[39:32] in bits 20:13 (default true).
   * Only meaningful in `x86-32`.
   */
  readonly pse36?: boolean;
  /**
   * EFER.NXE: bit 63 is execute-disable (default true in PAE and IA-32e modes). Must be
   * false or absent in `x86-32`, which has no XD bit.
   */
  readonly nxe?: boolean;
  /** CR4.PGE: global pages survive CR3 loads (default true). */
  readonly pge?: boolean;
  /** CR4.PCIDE: 12-bit PCIDs in CR3 (default true in IA-32e modes; refused in `x86-32` and `x86-pae`). */
  readonly pcid?: boolean;
  /** CR0.WP: supervisor writes honour R/W (default true). */
  readonly wp?: boolean;
  /** CR4.SMEP: the kernel cannot fetch from user pages (default false). */
  readonly smep?: boolean;
  /** CR4.SMAP: the kernel cannot read or write user pages unless EFLAGS.AC = 1 (default false). */
  readonly smap?: boolean;
  /** CR4.PKE: protection keys for user pages via PKRU (default false; IA-32e modes only). */
  readonly pke?: boolean;
  /**
   * MAXPHYADDR (CPUID 0x8000_0008 EAX[7:0]): 32 … 52, default 40 (QEMU `qemu64`) in PAE and
   * IA-32e modes. In `x86-32` only 4 MiB PSE-36 pages can reach above 4 GiB: 32 … 40, default
   * 36 with `pse36` (32 without).
   */
  readonly maxPhysAddr?: number;
  /**
   * `x86-32` and `x86-pae` only: the first kernel address, default 0xC000_0000 (Linux 3G/1G
   * split, seed 003). A multiple of the root entry size (4 MiB / 1 GiB) in (0, 2^32).
   */
  readonly userSplit?: number;
  /**
   * A reserved-bit #PF sets P together with RSVD (default true, the SDM: error code 0x9 for a
   * read); false reports RSVD alone as current QEMU does (0x8). arch-facts B6, D1.
   */
  readonly rsvdSetsP?: boolean;
  /** IA32_PAT (default {@link X86_LINUX_PAT}, arch-facts B9). */
  readonly pat?: bigint;
}

/** Options after defaults and validation. */
export interface ResolvedX86Options {
  readonly mode: X86Mode;
  readonly pse: boolean;
  readonly pse36: boolean;
  readonly nxe: boolean;
  readonly pge: boolean;
  readonly pcid: boolean;
  readonly wp: boolean;
  readonly smep: boolean;
  readonly smap: boolean;
  readonly pke: boolean;
  readonly maxPhysAddr: number;
  readonly userSplit: number;
  readonly rsvdSetsP: boolean;
  readonly pat: bigint;
}

function bool(mode: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(`${mode} option ${name}`, value, 'a boolean');
  return value;
}

/**
 * Applies the defaults and checks the combination.
 * @throws InvalidArgumentError for an unknown mode, a non-boolean flag, a feature the mode does
 *   not have (`nxe` in `x86-32`, `pcid` or `pke` outside IA-32e, `userSplit` in IA-32e), a
 *   MAXPHYADDR or split out of range, or an IA32_PAT with a reserved memory type.
 */
export function resolveX86Options(options: X86Options): ResolvedX86Options {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('x86 options', options, `an object with a mode (${X86_MODES.join(', ')})`);
  }
  const mode = options.mode;
  if (!isX86Mode(mode))
    throw new InvalidArgumentError('x86 paging mode', mode, `one of ${X86_MODES.join(', ')}`);
  const ia32e = mode === 'x86_64' || mode === 'x86_64-la57';
  const legacy = mode === 'x86-32';
  const refuse = (name: string, value: unknown, expected: string): never => {
    throw new InvalidArgumentError(`${mode} option ${name}`, value, expected);
  };
  const pse = bool(mode, 'pse', options.pse, true);
  const pse36 = bool(mode, 'pse36', options.pse36, true);
  const nxe = bool(mode, 'nxe', options.nxe, !legacy);
  if (legacy && nxe) refuse('nxe', nxe, 'false: 32-bit paging has no execute-disable bit (use x86-pae)');
  const pcid = bool(mode, 'pcid', options.pcid, ia32e);
  if (!ia32e && pcid) refuse('pcid', pcid, 'false: PCIDs exist only in IA-32e (x86_64) paging');
  const pke = bool(mode, 'pke', options.pke, false);
  if (!ia32e && pke) refuse('pke', pke, 'false: protection keys exist only in IA-32e (x86_64) paging');
  let maxPhysAddr: number;
  if (legacy) {
    maxPhysAddr = options.maxPhysAddr ?? (pse36 ? 36 : 32);
    if (!Number.isInteger(maxPhysAddr) || maxPhysAddr < 32 || maxPhysAddr > 40) {
      refuse('maxPhysAddr', maxPhysAddr, 'an integer from 32 to 40 (PSE-36 reaches at most 40 bits)');
    }
  } else {
    maxPhysAddr = options.maxPhysAddr ?? 40;
    if (!Number.isInteger(maxPhysAddr) || maxPhysAddr < 32 || maxPhysAddr > 52) {
      refuse('maxPhysAddr', maxPhysAddr, 'an integer from 32 to 52');
    }
  }
  let userSplit = 0;
  if (ia32e) {
    if (options.userSplit !== undefined) {
      refuse('userSplit', options.userSplit, 'absent: the IA-32e halves are fixed by the canonical form');
    }
  } else {
    const unit = legacy ? 0x40_0000 : 0x4000_0000;
    userSplit = options.userSplit ?? 0xc000_0000;
    if (!Number.isInteger(userSplit) || userSplit <= 0 || userSplit >= 2 ** 32 || userSplit % unit !== 0) {
      refuse(
        'userSplit',
        userSplit,
        `a multiple of ${legacy ? '4 MiB (one PDE)' : '1 GiB (one PDPTE)'} between 0 and 4 GiB, exclusive`,
      );
    }
  }
  const pat = options.pat ?? X86_LINUX_PAT;
  new PatMap(pat); // validates
  return Object.freeze({
    mode,
    pse,
    pse36,
    nxe,
    pge: bool(mode, 'pge', options.pge, true),
    pcid,
    wp: bool(mode, 'wp', options.wp, true),
    smep: bool(mode, 'smep', options.smep, false),
    smap: bool(mode, 'smap', options.smap, false),
    pke,
    maxPhysAddr,
    userSplit,
    rsvdSetsP: bool(mode, 'rsvdSetsP', options.rsvdSetsP, true),
    pat,
  });
}

/**
 * Numbers derived from the options, shared by the codec and the walker (not public).
 * Masks are on the low (`lo`, bits 31:0) or high (`hi`, bits 63:32) word of an entry.
 */
export interface X86Format {
  readonly options: ResolvedX86Options;
  readonly mode: X86Mode;
  /** 8-byte entries (PAE, IA-32e). */
  readonly wide: boolean;
  /** IA-32e (4- or 5-level) paging. */
  readonly ia32e: boolean;
  /** Number of levels (root level). */
  readonly levels: number;
  /** The PA width every leaf level can encode (`description.paBits`). */
  readonly paBits: number;
  /**
   * Reserved `hi` bits of every present 8-byte entry: address bits 51:M, XD without NXE, and
   * bits 62:52 in PAE mode (arch-facts B4).
   */
  readonly rsvdHi: number;
  /** Reserved `lo` / `hi` bits of a PAE PDPTE: 2:1, 8:5 and 63:M (arch-facts B3). */
  readonly pdpteRsvdLo: number;
  readonly pdpteRsvdHi: number;
  /** Reserved `lo` bits of a large leaf by internal level (2 MiB: 20:13, 1 GiB: 29:13; 4 MiB: 21:(M-19)). */
  readonly largeRsvdLo: readonly number[];
  /** Width of a 32-bit 4 MiB page's physical address (32 without PSE-36, else MAXPHYADDR). */
  readonly pse36Bits: number;
  /** Software leaf bits (`capabilities.softwareBits`). */
  readonly softwareBits: number;
  /** Software payload bits of a non-present entry. */
  readonly payloadBits: number;
  /** The IA32_PAT mapping. */
  readonly pat: PatMap;
}

/** Derives the {@link X86Format} of resolved options. */
export function deriveFormat(o: ResolvedX86Options): X86Format {
  const wide = o.mode !== 'x86-32';
  const ia32e = o.mode === 'x86_64' || o.mode === 'x86_64-la57';
  const m = o.maxPhysAddr;
  const addrRsvdHi = wide ? (0xf_ffff & ~((1 << (m - 32)) - 1)) >>> 0 : 0;
  const rsvdHi = wide ? (addrRsvdHi | (o.nxe ? 0 : 0x8000_0000) | (ia32e ? 0 : 0x7ff0_0000)) >>> 0 : 0;
  const pse36Bits = o.pse36 ? m : 32;
  const largeRsvdLo = wide
    ? [0, 0, 0x1f_e000, ia32e ? 0x3fff_e000 : 0]
    : [0, 0, (0x3f_ffff & ~((1 << (pse36Bits - 19)) - 1)) >>> 0];
  return Object.freeze({
    options: o,
    mode: o.mode,
    wide,
    ia32e,
    levels: o.mode === 'x86-32' ? 2 : o.mode === 'x86-pae' ? 3 : o.mode === 'x86_64' ? 4 : 5,
    paBits: wide ? m : 32,
    rsvdHi,
    pdpteRsvdLo: 0x1e6,
    pdpteRsvdHi: (addrRsvdHi | 0xfff0_0000) >>> 0,
    largeRsvdLo: Object.freeze(largeRsvdLo),
    pse36Bits,
    softwareBits: ia32e ? 10 : 3,
    payloadBits: wide ? 51 : 31,
    pat: new PatMap(o.pat),
  });
}
