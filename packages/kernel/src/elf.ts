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
import { hex, type Permissions } from '@mmkit/core';
import { checkNoPageOverlap, isPowerOfTwo, markParsedElfImage, TWO_64 } from './elf-common.js';
import {
  DEFAULT_ELF_MACHINES,
  ELF_MACHINE_NAMES,
  ElfDynamicExecutableError,
  ElfFormatError,
  ElfUnsupportedMachineError,
} from './elf-errors.js';
import { invalidArgument } from './syscalls.js';

export {
  DEFAULT_ELF_MACHINES,
  ELF_MACHINE_NAMES,
  ElfDynamicExecutableError,
  ElfFormatError,
  ElfUnsupportedMachineError,
} from './elf-errors.js';

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

/** Options of {@link parseElf64}. */
export interface ParseElfOptions {
  /** `e_machine` values to accept (a kernel passes its backend's `description.elf.machine`). */
  readonly machines?: readonly number[];
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
  markParsedElfImage(image);
  return image;
}
