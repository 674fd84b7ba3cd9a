/**
 * The ELF64 load planner: turns a parsed image's PT_LOAD segments into page-granular mapping
 * requests, the way Linux `fs/binfmt_elf.c` loads a static executable (see `elf.ts` for the
 * parser, the segment layout and the fidelity notes). Pure: nothing here touches a kernel, page
 * tables or memory.
 */
import { hex, type Permissions } from '@mmkit/core';
import type { ElfImage, ElfLoadSegment, ElfMachine, ElfTls } from './elf.js';
import {
  alignDown,
  alignUp,
  checkNoPageOverlap,
  isParsedElfImage,
  isPowerOfTwo,
  TWO_64,
} from './elf-common.js';
import { ElfFormatError } from './elf-errors.js';
import { invalidArgument } from './syscalls.js';

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
  if (!isParsedElfImage(image)) throw invalidArgument('ELF image', image, 'an image parseElf64 returned');
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
