/**
 * ELF64 executables: a parser that validates what a kernel validates, and a
 * pure planner that turns the PT_LOAD segments into page-granular mapping
 * requests, the way Linux `fs/binfmt_elf.c` loads a static executable
 * (`elf_map` maps the file part of each segment privately, `padzero` clears
 * the tail of the last file page, anonymous zero pages cover the rest of the
 * bss, and the break starts at the page-aligned end of the highest segment).
 *
 * Nothing here touches a kernel, page tables or memory: the result is data
 * that the kernel's exec path turns into VMAs and frames.
 *
 * Supported: little-endian ELF64 (`ELFCLASS64`, `ELFDATA2LSB`, `EV_CURRENT`)
 * for `EM_X86_64` (62) and `EM_AARCH64` (183); `ET_EXEC`, and `ET_DYN`
 * without `PT_INTERP` (static-pie), which is loaded at a caller-chosen load
 * bias (Linux places a static-pie where `mmap` finds room; mmkit lets the
 * caller choose, see {@link planElfLoad}). Refused with a typed error:
 * anything with `PT_INTERP` (dynamically linked), other machines, other types.
 *
 * Layout of one segment in memory (4 KiB pages, `P` = page size):
 * ```
 *   PAGESTART(vaddr)   vaddr            vaddr+filesz   PAGEALIGN(vaddr+filesz)   PAGEALIGN(vaddr+memsz)
 *   │ file bytes before│ the segment's   │ zeroed        │ anonymous demand-zero   │
 *   │ p_offset (mapped │ file bytes      │ (padzero)     │ pages (the rest of bss) │
 *   │ too, as mmap does)                 │               │                          │
 *   └──────── file-backed pages (private mapping of the file) ──┘└──── bss pages ───┘
 * ```
 * Fidelity notes (Linux 6.x `load_elf_binary`, `elf_load`, `elf_map`, `padzero`):
 * - a file page maps whole pages of the file: bytes of the file before `p_offset`
 *   in the first page and after `p_offset + p_filesz` in the last one are visible,
 *   unless bss follows (then the tail past `p_filesz` is zeroed);
 * - whole bss pages are anonymous pages mapped like `brk` memory: read + write,
 *   plus execute if the segment is executable (`vm_brk_flags`);
 * - Linux ignores a failed `padzero` on a non-writable segment (the tail keeps the
 *   file bytes); mmkit always zeroes it, as the ELF gABI says memory past
 *   `p_filesz` reads as zero (`zeroTail: 'bss'`).
 */
import { hex, MmError, type Permissions } from '@mmkit/core';
import { invalidArgument, plain, showValue } from './syscalls.js';

// ---------------------------------------------------------------------------
// Constants (ELF gABI; `include/uapi/linux/elf.h`)

/** `e_machine` of x86-64. */
export const EM_X86_64 = 62;
/** `e_machine` of AArch64. */
export const EM_AARCH64 = 183;
/** `e_type` of an executable. */
export const ET_EXEC = 2;
/** `e_type` of a shared object / position-independent executable. */
export const ET_DYN = 3;
/** Program header type: unused entry. */
export const PT_NULL = 0;
/** Program header type: loadable segment. */
export const PT_LOAD = 1;
/** Program header type: dynamic linking information. */
export const PT_DYNAMIC = 2;
/** Program header type: path of the program interpreter (dynamic linker). */
export const PT_INTERP = 3;
/** Program header type: notes. */
export const PT_NOTE = 4;
/** Program header type: reserved. */
export const PT_SHLIB = 5;
/** Program header type: the program header table itself. */
export const PT_PHDR = 6;
/** Program header type: thread-local storage template. */
export const PT_TLS = 7;
/** Program header type: `.eh_frame_hdr`. */
export const PT_GNU_EH_FRAME = 0x6474e550;
/** Program header type: stack permissions (PF_X = executable stack). */
export const PT_GNU_STACK = 0x6474e551;
/** Program header type: read-only after relocation. */
export const PT_GNU_RELRO = 0x6474e552;
/** Program header type: `.note.gnu.property`. */
export const PT_GNU_PROPERTY = 0x6474e553;
/** Segment flag: executable. */
export const PF_X = 1;
/** Segment flag: writable. */
export const PF_W = 2;
/** Segment flag: readable. */
export const PF_R = 4;
/** Size of an ELF64 file header. */
export const ELF64_EHDR_BYTES = 64;
/** Size of an ELF64 program header (`sizeof(struct elf64_phdr)`, the only `e_phentsize` Linux accepts). */
export const ELF64_PHDR_BYTES = 56;
/** Linux refuses program header tables larger than this (`elf_read_phdrs`). */
export const ELF_MAX_PHDR_TABLE_BYTES = 65536;

const PT_NAMES: Readonly<Record<number, string>> = {
  [PT_NULL]: 'NULL',
  [PT_LOAD]: 'LOAD',
  [PT_DYNAMIC]: 'DYNAMIC',
  [PT_INTERP]: 'INTERP',
  [PT_NOTE]: 'NOTE',
  [PT_SHLIB]: 'SHLIB',
  [PT_PHDR]: 'PHDR',
  [PT_TLS]: 'TLS',
  [PT_GNU_EH_FRAME]: 'GNU_EH_FRAME',
  [PT_GNU_STACK]: 'GNU_STACK',
  [PT_GNU_RELRO]: 'GNU_RELRO',
  [PT_GNU_PROPERTY]: 'GNU_PROPERTY',
};

const ET_NAMES: Readonly<Record<number, string>> = {
  0: 'ET_NONE',
  1: 'ET_REL (relocatable object)',
  2: 'ET_EXEC',
  3: 'ET_DYN',
  4: 'ET_CORE (core dump)',
};

const TWO_64 = 1n << 64n;

/** Images {@link parseElf64} returned: {@link planElfLoad} plans only those (an image is trusted). */
const parsedImages = new WeakSet<object>();

// ---------------------------------------------------------------------------
// Errors

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

/** Options of {@link parseElf64}. */
export interface ParseElfOptions {
  /** `e_machine` values to accept (a kernel passes its backend's `description.elf.machine`). */
  readonly machines?: readonly number[];
}

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

// ---------------------------------------------------------------------------
// Parsed image

/**
 * The machine of an image: `aarch64`, `x86_64`, or for other `e_machine` values the lower-case
 * name without `EM_` (`riscv`, `386`) or `em<number>`. Open, so a new backend needs no change here.
 */
export type ElfMachine = string;

/** One program header, every field as in the file (addresses and sizes as bigints). */
export interface ElfProgramHeader {
  /** Index in the program header table. */
  readonly index: number;
  /** `p_type`. */
  readonly type: number;
  /** `p_type` as readelf prints it (`LOAD`, `GNU_STACK`, …; unknown types as hex). */
  readonly typeName: string;
  /** `p_flags` decoded (PF_R, PF_W, PF_X). */
  readonly flags: Permissions;
  /** `p_flags` as in the file. */
  readonly rawFlags: number;
  readonly offset: bigint;
  readonly vaddr: bigint;
  readonly paddr: bigint;
  readonly filesz: bigint;
  readonly memsz: bigint;
  readonly align: bigint;
}

/** A PT_LOAD segment. */
export interface ElfLoadSegment {
  /** Index of its program header. */
  readonly index: number;
  readonly vaddr: bigint;
  readonly memsz: bigint;
  readonly filesz: bigint;
  readonly offset: bigint;
  readonly align: bigint;
  readonly flags: Permissions;
}

/** The PT_TLS template (initialised part `filesz`, total `memsz`). */
export interface ElfTls {
  readonly index: number;
  readonly offset: bigint;
  readonly vaddr: bigint;
  readonly filesz: bigint;
  readonly memsz: bigint;
  readonly align: bigint;
}

/** A validated ELF64 executable. */
export interface ElfImage {
  readonly machine: ElfMachine;
  /** `e_machine` (62 or 183). */
  readonly machineCode: number;
  /** `exec` for ET_EXEC, `dyn` for a static-pie ET_DYN (needs a load bias). */
  readonly type: 'exec' | 'dyn';
  /** `e_entry` (without load bias). */
  readonly entry: bigint;
  /** `e_ident[EI_OSABI]`. */
  readonly osabi: number;
  /** `e_flags`. */
  readonly flags: number;
  readonly phoff: bigint;
  readonly phentsize: number;
  readonly phnum: number;
  /** Every program header, in file order. */
  readonly phdrs: readonly ElfProgramHeader[];
  /** The PT_LOAD segments, in file order (validated ascending and non-overlapping). */
  readonly loads: readonly ElfLoadSegment[];
  /** PT_GNU_STACK flags, or undefined without PT_GNU_STACK (Linux: non-executable stack on 64-bit). */
  readonly stack: Permissions | undefined;
  /** PT_TLS, if present. */
  readonly tls: ElfTls | undefined;
  /**
   * Where the program headers are in memory (without load bias), as Linux computes AT_PHDR:
   * `e_phoff - p_offset + p_vaddr` of the PT_LOAD whose file range contains `e_phoff`;
   * undefined if no PT_LOAD maps them.
   */
  readonly phdrAddress: bigint | undefined;
  /** Length of the file in bytes. */
  readonly fileBytes: number;
}

function permissionsOf(pflags: number): Permissions {
  return { read: (pflags & PF_R) !== 0, write: (pflags & PF_W) !== 0, execute: (pflags & PF_X) !== 0 };
}

function isPowerOfTwo(v: bigint): boolean {
  return v > 0n && (v & (v - 1n)) === 0n;
}

function readCString(bytes: Uint8Array, offset: bigint, length: bigint): string {
  const len = Number(length < 256n ? length : 256n);
  const start = Number(offset);
  let s = '';
  for (let i = 0; i < len && start + i < bytes.length; i++) {
    const c = bytes[start + i]!;
    if (c === 0) break;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/**
 * Parses and validates a little-endian ELF64 executable for x86-64 or AArch64.
 *
 * Checks (Linux `load_elf_binary` / `elf_read_phdrs` plus the gABI rules a loader relies on):
 * ident (magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT); `e_type` ET_EXEC or ET_DYN;
 * `e_machine`; `e_phentsize` = 56; 1 ≤ `e_phnum` and the table ≤ 64 KiB and inside the
 * file; no PT_INTERP; every segment's file range inside the file; for PT_LOAD:
 * `p_filesz ≤ p_memsz`, `p_align` 0 or a power of two, `p_offset ≡ p_vaddr (mod p_align)`
 * when `p_align > 1`, `p_vaddr + p_memsz ≤ 2^64`, segments ascending by `p_vaddr` and not
 * sharing a 4 KiB page; at least one PT_LOAD; PT_TLS `p_filesz ≤ p_memsz`.
 *
 * Never throws anything but an `MmError`, whatever the bytes.
 * @throws ElfFormatError naming the field and value (subclasses {@link ElfUnsupportedMachineError},
 *   {@link ElfDynamicExecutableError}); InvalidArgumentError if `bytes` is not a Uint8Array.
 */
export function parseElf64(bytes: Uint8Array, options: ParseElfOptions = {}): ElfImage {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('ELF bytes', bytes, 'a Uint8Array');
  if (options === null || typeof options !== 'object')
    throw invalidArgument('options', options, 'an object { machines? } or undefined');
  const machines = options.machines;
  if (machines !== undefined && (!Array.isArray(machines) || !machines.every((m) => Number.isInteger(m))))
    throw invalidArgument('options.machines', machines, 'an array of e_machine numbers');
  const size = bytes.length;
  if (size < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ElfFormatError('e_ident[EI_MAG]', magic, 'not an ELF file; expected 7f 45 4c 46 ("\\x7fELF")');
  }
  if (size < 16) throw new ElfFormatError('file size', size, 'truncated e_ident; expected 16 bytes');
  if (bytes[4] !== 2) {
    throw new ElfFormatError(
      'e_ident[EI_CLASS]',
      bytes[4]!,
      'expected ELFCLASS64 (2); only ELF64 is supported',
    );
  }
  if (bytes[5] !== 1) {
    throw new ElfFormatError('e_ident[EI_DATA]', bytes[5]!, 'expected ELFDATA2LSB (1, little-endian)');
  }
  if (bytes[6] !== 1) throw new ElfFormatError('e_ident[EI_VERSION]', bytes[6]!, 'expected EV_CURRENT (1)');
  if (size < ELF64_EHDR_BYTES) {
    throw new ElfFormatError(
      'file size',
      size,
      `truncated ELF64 header; expected at least ${ELF64_EHDR_BYTES} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eType = view.getUint16(16, true);
  if (eType !== ET_EXEC && eType !== ET_DYN) {
    const name = ET_NAMES[eType] ?? 'unknown type';
    throw new ElfFormatError('e_type', eType, `${name} is not loadable; expected ET_EXEC (2) or ET_DYN (3)`);
  }
  const machineCode = view.getUint16(18, true);
  const accepted = machines ?? DEFAULT_ELF_MACHINES;
  if (!accepted.includes(machineCode)) throw new ElfUnsupportedMachineError(machineCode, accepted);
  const machine: ElfMachine = ELF_MACHINE_NAMES[machineCode]?.slice(3).toLowerCase() ?? `em${machineCode}`;
  const entry = view.getBigUint64(24, true);
  const phoff = view.getBigUint64(32, true);
  const flags = view.getUint32(48, true);
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  if (phentsize !== ELF64_PHDR_BYTES) {
    throw new ElfFormatError('e_phentsize', phentsize, `expected ${ELF64_PHDR_BYTES} (sizeof(Elf64_Phdr))`);
  }
  if (phnum === 0)
    throw new ElfFormatError('e_phnum', 0, 'no program headers; an executable needs at least one');
  if (phnum === 0xffff) {
    throw new ElfFormatError(
      'e_phnum',
      phnum,
      'PN_XNUM (extended numbering) is not supported for executables',
    );
  }
  if (phnum * ELF64_PHDR_BYTES > ELF_MAX_PHDR_TABLE_BYTES) {
    throw new ElfFormatError(
      'e_phnum',
      phnum,
      `program header table of ${phnum * ELF64_PHDR_BYTES} bytes exceeds ${ELF_MAX_PHDR_TABLE_BYTES} (Linux limit)`,
    );
  }
  const tableEnd = phoff + BigInt(phnum * ELF64_PHDR_BYTES);
  if (tableEnd > BigInt(size)) {
    throw new ElfFormatError(
      'e_phoff',
      phoff,
      `program header table [${hex(phoff)}, ${hex(tableEnd)}) extends past the end of the ${size}-byte file`,
    );
  }

  const phdrs: ElfProgramHeader[] = [];
  const base = Number(phoff);
  for (let i = 0; i < phnum; i++) {
    const o = base + i * ELF64_PHDR_BYTES;
    const type = view.getUint32(o, true);
    const rawFlags = view.getUint32(o + 4, true);
    phdrs.push({
      index: i,
      type,
      typeName: PT_NAMES[type] ?? hex(type),
      flags: permissionsOf(rawFlags),
      rawFlags,
      offset: view.getBigUint64(o + 8, true),
      vaddr: view.getBigUint64(o + 16, true),
      paddr: view.getBigUint64(o + 24, true),
      filesz: view.getBigUint64(o + 32, true),
      memsz: view.getBigUint64(o + 40, true),
      align: view.getBigUint64(o + 48, true),
    });
  }

  // A dynamically linked executable is refused before anything else about its segments.
  for (const ph of phdrs) {
    if (ph.type === PT_INTERP) {
      const path = ph.offset < BigInt(size) ? readCString(bytes, ph.offset, ph.filesz) : '';
      throw new ElfDynamicExecutableError(ph.index, path);
    }
  }

  const loads: ElfLoadSegment[] = [];
  let lastMapped: ElfProgramHeader | undefined; // the last PT_LOAD with p_memsz > 0
  let stack: Permissions | undefined;
  let tls: ElfTls | undefined;
  for (const ph of phdrs) {
    const f = (name: string) => `phdr[${ph.index}].${name}`;
    if (ph.filesz > 0n && ph.offset + ph.filesz > BigInt(size)) {
      throw new ElfFormatError(
        f('p_offset'),
        ph.offset,
        `file range [${hex(ph.offset)}, ${hex(ph.offset + ph.filesz)}) of this ${ph.typeName} segment extends past the end of the ${size}-byte file`,
      );
    }
    if (ph.type === PT_LOAD) {
      if (ph.filesz > ph.memsz) {
        throw new ElfFormatError(f('p_filesz'), ph.filesz, `larger than p_memsz ${hex(ph.memsz)}`);
      }
      if (ph.align !== 0n && !isPowerOfTwo(ph.align)) {
        throw new ElfFormatError(f('p_align'), ph.align, 'expected 0 or a power of two');
      }
      if (ph.align > 1n && ph.offset % ph.align !== ph.vaddr % ph.align) {
        throw new ElfFormatError(
          f('p_offset'),
          ph.offset,
          `not congruent to p_vaddr ${hex(ph.vaddr)} modulo p_align ${hex(ph.align)}`,
        );
      }
      if (ph.vaddr + ph.memsz > TWO_64) {
        throw new ElfFormatError(
          f('p_memsz'),
          ph.memsz,
          `p_vaddr ${hex(ph.vaddr)} + p_memsz overflows the 64-bit address space`,
        );
      }
      const prev = loads[loads.length - 1];
      if (prev !== undefined && ph.vaddr < prev.vaddr) {
        throw new ElfFormatError(
          f('p_vaddr'),
          ph.vaddr,
          `PT_LOAD segments must be sorted by p_vaddr; phdr[${prev.index}] starts at ${hex(prev.vaddr)}`,
        );
      }
      if (lastMapped !== undefined && ph.memsz > 0n) checkNoPageOverlap(lastMapped, ph, 4096n);
      if (ph.memsz > 0n) lastMapped = ph;
      loads.push({
        index: ph.index,
        vaddr: ph.vaddr,
        memsz: ph.memsz,
        filesz: ph.filesz,
        offset: ph.offset,
        align: ph.align,
        flags: ph.flags,
      });
    } else if (ph.type === PT_GNU_STACK) {
      if (stack === undefined) stack = ph.flags; // Linux uses the first one
    } else if (ph.type === PT_TLS) {
      if (ph.filesz > ph.memsz) {
        throw new ElfFormatError(f('p_filesz'), ph.filesz, `PT_TLS larger than its p_memsz ${hex(ph.memsz)}`);
      }
      if (tls === undefined) {
        tls = {
          index: ph.index,
          offset: ph.offset,
          vaddr: ph.vaddr,
          filesz: ph.filesz,
          memsz: ph.memsz,
          align: ph.align,
        };
      }
    }
  }
  if (loads.length === 0) throw new ElfFormatError('e_phnum', phnum, 'no PT_LOAD segment: nothing to load');

  let phdrAddress: bigint | undefined;
  for (const l of loads) {
    if (l.offset <= phoff && phoff < l.offset + l.filesz) {
      phdrAddress = (phoff - l.offset + l.vaddr) % TWO_64;
      break;
    }
  }

  const image: ElfImage = {
    machine,
    machineCode,
    type: eType === ET_EXEC ? 'exec' : 'dyn',
    entry,
    osabi: bytes[7]!,
    flags,
    phoff,
    phentsize,
    phnum,
    phdrs,
    loads,
    stack,
    tls,
    phdrAddress,
    fileBytes: size,
  };
  parsedImages.add(image);
  return image;
}

/** Refuses two PT_LOAD segments whose page spans (at `pageSize`) share a page. */
function checkNoPageOverlap(
  prev: { index: number; vaddr: bigint; memsz: bigint },
  cur: { index: number; vaddr: bigint; memsz: bigint },
  pageSize: bigint,
): void {
  if (prev.memsz === 0n || cur.memsz === 0n) return;
  const prevEnd = alignUp(prev.vaddr + prev.memsz, pageSize);
  const curStart = alignDown(cur.vaddr, pageSize);
  if (curStart < prevEnd) {
    throw new ElfFormatError(
      `phdr[${cur.index}].p_vaddr`,
      cur.vaddr,
      `its ${pageSize}-byte pages overlap those of PT_LOAD phdr[${prev.index}] (which ends at ${hex(prev.vaddr + prev.memsz)})`,
    );
  }
}

function alignDown(v: bigint, a: bigint): bigint {
  return v - (v % a);
}
function alignUp(v: bigint, a: bigint): bigint {
  return alignDown(v + a - 1n, a);
}

// ---------------------------------------------------------------------------
// Load planning

/**
 * One file-backed page of a segment. Its contents are
 * `file[fileOffset, fileOffset + fileBytes)` followed by zeros up to the page size.
 */
export interface ElfFilePage {
  /** Virtual address of the page (load bias applied). */
  readonly va: bigint;
  /** File offset of the page's first byte. */
  readonly fileOffset: number;
  /** Bytes taken from the file; the rest of the page is zero. */
  readonly fileBytes: number;
  /**
   * Why the page has a zero tail: `none` (the whole page comes from the file), `bss` (the part
   * past `p_filesz` is zeroed, Linux `padzero`), `eof` (the file ends inside the page; a file
   * mapping reads zeros there).
   */
  readonly zeroTail: 'none' | 'bss' | 'eof';
}

/** Anonymous demand-zero pages that hold the rest of a segment's bss. */
export interface ElfBssRange {
  /** First page (page aligned). */
  readonly start: bigint;
  /** End (page aligned, exclusive). */
  readonly end: bigint;
  readonly pageCount: number;
  /** As Linux maps them with `vm_brk_flags`: read + write, execute if the segment is executable. */
  readonly permissions: Permissions;
}

/** The mapping requests of one PT_LOAD segment. */
export interface ElfSegmentPlan {
  /** Index of its program header. */
  readonly phdrIndex: number;
  /** The segment's `p_flags` (the file pages' permissions). */
  readonly permissions: Permissions;
  /** `p_vaddr + bias`. */
  readonly vaddr: bigint;
  /** `p_vaddr + bias + p_filesz`: where the bss starts. */
  readonly fileEnd: bigint;
  /** `p_vaddr + bias + p_memsz`. */
  readonly memEnd: bigint;
  /** Page-aligned span of the whole segment `[start, end)`. */
  readonly start: bigint;
  readonly end: bigint;
  /** File-backed pages (Linux `elf_map`: a private mapping of the file), ascending. */
  readonly filePages: readonly ElfFilePage[];
  /** Whole bss pages (anonymous, demand-zero), or undefined if the bss fits in the last file page. */
  readonly bss: ElfBssRange | undefined;
}

/** What exec needs to build the address space of an ELF image. */
export interface ElfLoadPlan {
  readonly machine: ElfMachine;
  readonly pageSize: number;
  /** Added to every address of the file (0 for ET_EXEC). */
  readonly loadBias: bigint;
  /** Entry point: `e_entry + loadBias`. */
  readonly entry: bigint;
  /** AT_PHDR (`phdrAddress + loadBias`), or undefined if no segment maps the program headers. */
  readonly phdrAddress: bigint | undefined;
  /** AT_PHENT. */
  readonly phent: number;
  /** AT_PHNUM. */
  readonly phnum: number;
  /** One plan per PT_LOAD segment with a non-zero `p_memsz`, ascending. */
  readonly segments: readonly ElfSegmentPlan[];
  /** Lowest mapped page. */
  readonly imageStart: bigint;
  /** End of the highest mapped page. */
  readonly imageEnd: bigint;
  /** Initial program break (`start_brk = brk`): page-aligned end of the highest segment. */
  readonly brk: bigint;
  /** The stack must be executable (PT_GNU_STACK with PF_X). */
  readonly executableStack: boolean;
  /** PT_TLS with the load bias applied, if present. */
  readonly tls: ElfTls | undefined;
}

/** Options of {@link planElfLoad}. */
export interface ElfLoadOptions {
  /**
   * Load bias for a static-pie (ET_DYN): a multiple of the page size and of the largest
   * power-of-two `p_align` of its PT_LOADs (Linux aligns the bias the same way). Must be 0
   * (the default) for ET_EXEC.
   */
  readonly loadBias?: bigint;
  /**
   * Exclusive end of the user address range (Linux TASK_SIZE); every page and the entry point
   * must lie below it. Default 2^64 (no limit).
   */
  readonly userEnd?: bigint;
}

/**
 * Plans the mappings of `image` (parsed from `bytes`) at `pageSize` granularity, as Linux's
 * `load_elf_binary` does for a static executable: per PT_LOAD, file-backed pages
 * (`elf_map`: from `PAGESTART(vaddr)`, file offset `p_offset - PAGEOFFSET(vaddr)`, whole
 * pages up to `PAGEALIGN(vaddr + filesz)`), the tail of the last file page zeroed when bss
 * follows (`padzero`), anonymous zero pages up to `PAGEALIGN(vaddr + memsz)`; the break
 * starts at the page-aligned end of the highest segment. Pure: no kernel calls.
 * @throws ElfFormatError if a segment cannot be mapped at this page size (offset and address not
 *   congruent, two segments sharing a page), or lies at or beyond `userEnd`;
 *   InvalidArgumentError for a bad page size, load bias or `bytes` that are not the parsed file.
 */
export function planElfLoad(
  image: ElfImage,
  bytes: Uint8Array,
  pageSize = 4096,
  options: ElfLoadOptions = {},
): ElfLoadPlan {
  if (!parsedImages.has(image)) throw invalidArgument('ELF image', image, 'an image parseElf64 returned');
  if (
    !Number.isSafeInteger(pageSize) ||
    pageSize < 4096 ||
    pageSize > 65536 ||
    (pageSize & (pageSize - 1)) !== 0
  ) {
    throw invalidArgument('page size', pageSize, 'a power of two from 4096 to 65536');
  }
  if (options === null || typeof options !== 'object')
    throw invalidArgument('options', options, 'an object { loadBias?, userEnd? } or undefined');
  if (!(bytes instanceof Uint8Array) || bytes.length !== image.fileBytes) {
    throw invalidArgument(
      'ELF bytes',
      bytes instanceof Uint8Array ? `${bytes.length} bytes` : bytes,
      `the ${image.fileBytes}-byte file the image was parsed from`,
    );
  }
  const P = BigInt(pageSize);
  const bias = options.loadBias ?? 0n;
  const userEnd = options.userEnd ?? TWO_64;
  if (typeof bias !== 'bigint' || bias < 0n || bias >= TWO_64) {
    throw invalidArgument('load bias', bias, 'a bigint in [0, 2^64)');
  }
  if (typeof userEnd !== 'bigint' || userEnd <= 0n || userEnd > TWO_64) {
    throw invalidArgument('user end', userEnd, 'a bigint in (0, 2^64]');
  }
  if (image.type === 'exec' && bias !== 0n) {
    throw invalidArgument('load bias', bias, '0 for an ET_EXEC image (it is linked at fixed addresses)');
  }
  if (image.type === 'dyn') {
    let align = P;
    for (const l of image.loads) if (isPowerOfTwo(l.align) && l.align > align) align = l.align;
    if (bias % align !== 0n) {
      throw invalidArgument('load bias', bias, `a multiple of ${hex(align)} (page size and largest p_align)`);
    }
  }

  const segments: ElfSegmentPlan[] = [];
  let prev: ElfLoadSegment | undefined;
  let maxEnd = 0n;
  for (const l of image.loads) {
    if (l.memsz === 0n) continue; // Linux maps nothing for it
    const f = (name: string) => `phdr[${l.index}].${name}`;
    const vaddr = l.vaddr + bias;
    const memEnd = vaddr + l.memsz;
    const fileEnd = vaddr + l.filesz;
    const start = alignDown(vaddr, P);
    const end = alignUp(memEnd, P);
    if (end > userEnd || memEnd > userEnd) {
      throw new ElfFormatError(
        f('p_vaddr'),
        l.vaddr,
        `segment [${hex(start)}, ${hex(end)}) (load bias ${hex(bias)}) is not below the user end ${hex(userEnd)}`,
      );
    }
    if (l.filesz > 0n && (l.vaddr - l.offset) % P !== 0n) {
      throw new ElfFormatError(
        f('p_offset'),
        l.offset,
        `cannot be mapped with ${pageSize}-byte pages: p_offset and p_vaddr ${hex(l.vaddr)} differ in their page offsets`,
      );
    }
    if (prev !== undefined) checkNoPageOverlap(prev, l, P);
    prev = l;

    const filePages: ElfFilePage[] = [];
    let bssStart = start;
    if (l.filesz > 0n) {
      const pageOff = vaddr - start;
      const mapOffset = Number(l.offset - pageOff);
      const mapEnd = alignUp(fileEnd, P);
      const hasBss = l.memsz > l.filesz;
      for (let va = start, off = mapOffset; va < mapEnd; va += P, off += pageSize) {
        // off < file size here (p_offset + p_filesz ≤ file size), so at least one byte comes from the file.
        let fileBytes = Math.min(pageSize, image.fileBytes - off);
        let zeroTail: ElfFilePage['zeroTail'] = fileBytes < pageSize ? 'eof' : 'none';
        if (hasBss && fileEnd < va + P) {
          // padzero: the last file page is cleared from p_vaddr + p_filesz to its end.
          fileBytes = Number(fileEnd - va);
          zeroTail = 'bss';
        }
        filePages.push({ va, fileOffset: off, fileBytes, zeroTail });
      }
      bssStart = mapEnd;
    }
    let bss: ElfBssRange | undefined;
    if (end > bssStart) {
      bss = {
        start: bssStart,
        end,
        pageCount: Number((end - bssStart) / P),
        permissions: { read: true, write: true, execute: l.flags.execute },
      };
    }
    segments.push({
      phdrIndex: l.index,
      permissions: l.flags,
      vaddr,
      fileEnd,
      memEnd,
      start,
      end,
      filePages,
      bss,
    });
    if (memEnd > maxEnd) maxEnd = memEnd;
  }
  if (segments.length === 0) {
    throw new ElfFormatError(
      'e_phnum',
      image.phnum,
      'every PT_LOAD segment is empty (p_memsz 0): nothing to load',
    );
  }
  const entry = image.entry + bias;
  if (entry >= userEnd) {
    throw new ElfFormatError(
      'e_entry',
      image.entry,
      `entry ${hex(entry)} is not below the user end ${hex(userEnd)}`,
    );
  }
  const tls = image.tls && { ...image.tls, vaddr: image.tls.vaddr + bias };
  return {
    machine: image.machine,
    pageSize,
    loadBias: bias,
    entry,
    phdrAddress: image.phdrAddress === undefined ? undefined : image.phdrAddress + bias,
    phent: image.phentsize,
    phnum: image.phnum,
    segments,
    imageStart: segments[0]!.start,
    imageEnd: segments[segments.length - 1]!.end,
    brk: alignUp(maxEnd, P),
    executableStack: image.stack?.execute ?? false,
    tls,
  };
}

/**
 * The contents of one planned file page: a fresh `pageSize`-byte array holding
 * `file[fileOffset, fileOffset + fileBytes)` and zeros after it.
 * @throws InvalidArgumentError if the page does not fit the file or the page size.
 */
export function elfPageBytes(bytes: Uint8Array, page: ElfFilePage, pageSize = 4096): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('ELF bytes', bytes, 'a Uint8Array');
  if (
    !Number.isSafeInteger(pageSize) ||
    pageSize < 4096 ||
    pageSize > 65536 ||
    (pageSize & (pageSize - 1)) !== 0
  )
    throw invalidArgument('page size', pageSize, 'a power of two from 4096 to 65536');
  if (
    page === null ||
    typeof page !== 'object' ||
    !Number.isSafeInteger(page.fileOffset) ||
    !Number.isSafeInteger(page.fileBytes)
  )
    throw invalidArgument('ELF file page', page, 'an ElfFilePage of a plan (planElfLoad)');
  if (
    page.fileOffset < 0 ||
    page.fileBytes < 0 ||
    page.fileBytes > pageSize ||
    page.fileOffset + page.fileBytes > bytes.length
  ) {
    throw invalidArgument(
      'ELF file page',
      `${page.fileBytes} bytes at file offset ${page.fileOffset}`,
      `a range inside the ${bytes.length}-byte file and one ${pageSize}-byte page`,
    );
  }
  const out = new Uint8Array(pageSize);
  out.set(bytes.subarray(page.fileOffset, page.fileOffset + page.fileBytes));
  return out;
}
