/**
 * Memory images as page-table sources, over bytes the caller supplies (browser-safe): a raw
 * physical-memory image (QEMU `pmemsave ADDR SIZE FILE`, or any binary dump) loaded at a base
 * address, and an ELF core from QEMU `dump-guest-memory` (every PT_LOAD is a RAM region at its
 * `p_paddr`; for x86 guests QEMU adds a `QEMU` note per CPU with CR0/CR3/CR4, used when present).
 * The bytes come through an {@link ImageReader}: {@link bytesReader} over a `Uint8Array` in
 * memory (a file the user dropped), or the CLI's positional file reads, so a multi-GiB image on
 * disk costs nothing up front (only the tables are ever read).
 */
import { hex } from '@mmkit/core';
import {
  mergeRegions,
  type PageTableSource,
  PageTableSourceError,
  type SourceRegion,
} from './page-table-source.js';

/** Positional reads of an image's bytes. */
export interface ImageReader {
  /** Size of the image in bytes. */
  readonly size: number;
  /** `length` bytes at `offset`; bytes past the end read as zero. */
  read(offset: number, length: number): Uint8Array;
  /** Releases what the reader holds (a file descriptor). */
  close(): void;
}

/** An {@link ImageReader} over bytes in memory (nothing to release). */
export function bytesReader(bytes: Uint8Array): ImageReader {
  return {
    size: bytes.length,
    read(offset, length) {
      const out = new Uint8Array(length);
      if (offset < bytes.length) out.set(bytes.subarray(offset, Math.min(bytes.length, offset + length)));
      return out;
    },
    close() {},
  };
}

/** Extents of the image: `[pa, pa + memBytes)` backed by `fileBytes` bytes at `offset` (the rest reads zero). */
interface Extent {
  readonly pa: number;
  readonly memBytes: number;
  readonly offset: number;
  readonly fileBytes: number;
}

function imageSource(
  name: string,
  file: ImageReader,
  extents: readonly Extent[],
  registers: Record<string, bigint>,
  notes: string[],
): PageTableSource {
  const sorted = [...extents].sort((a, b) => a.pa - b.pa);
  const regions: SourceRegion[] = mergeRegions(
    sorted.map((e) => ({ start: e.pa, end: e.pa + Math.ceil(e.memBytes / 4096) * 4096 })),
  );
  return {
    name,
    registers,
    notes,
    regions,
    async readFrame(pfn) {
      const pa = pfn * 4096;
      const e = sorted.find((x) => pa >= x.pa && pa < x.pa + x.memBytes);
      if (e === undefined) return undefined;
      const inExtent = pa - e.pa;
      const frame = new Uint8Array(4096);
      const avail = Math.max(0, Math.min(4096, e.fileBytes - inExtent));
      if (avail > 0) frame.set(file.read(e.offset + inExtent, avail));
      return frame;
    },
    close: async () => file.close(),
  };
}

/**
 * A raw image of physical memory starting at `base` (a 4 KiB-aligned physical address), read
 * through `file`; `name` names it in messages (`image ram.bin @ 0x4000_0000`). The reader is
 * closed when the source is, or at once when the image is refused.
 * @throws PageTableSourceError for an empty image, a base that is not page aligned or an image
 *   that ends above 2^52.
 */
export function rawImageSource(
  name: string,
  file: ImageReader,
  base: number,
  registers: Readonly<Record<string, bigint>>,
): PageTableSource {
  if (!Number.isSafeInteger(base) || base < 0 || base % 4096 !== 0) {
    file.close();
    throw new PageTableSourceError(
      `${name}: base ${Number.isSafeInteger(base) && base >= 0 ? hex(base) : String(base)} is not 4 KiB aligned; expected a page-aligned physical address`,
    );
  }
  if (file.size === 0) {
    file.close();
    throw new PageTableSourceError(`${name}: the file is empty; expected a memory image`);
  }
  if (base + file.size > 2 ** 52) {
    file.close();
    throw new PageTableSourceError(
      `${name}: ends above 2^52; expected an image inside the physical address space`,
    );
  }
  return imageSource(
    name,
    file,
    [{ pa: base, memBytes: file.size, offset: 0, fileBytes: file.size }],
    { ...registers },
    [],
  );
}

const PT_LOAD = 1;
const PT_NOTE = 4;
/** e_machine values (Linux `include/uapi/linux/elf-em.h`). */
const EM_386 = 3;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
/**
 * QEMU's x86 `QEMUCPUState` note (target/i386/arch_dump.c): version u32, size u32, 18 general
 * registers (rax … rip, rflags) u64, 10 segments of 24 bytes (selector, limit, flags, pad u32;
 * base u64), then `cr[5]` u64 at byte 392: CR0 392, CR2 408, CR3 416, CR4 424.
 */
const QEMU_NOTE_CR0 = 392;
const QEMU_NOTE_CR3 = 416;
const QEMU_NOTE_CR4 = 424;

/**
 * An ELF core written by QEMU `dump-guest-memory` (little-endian ELF32 or ELF64, ET_CORE), read
 * through `file`; `name` names it in messages (`core guest.elf`). Registers: the first CPU's
 * `QEMU` note (x86: CR0, CR3, CR4; EFER.LMA from e_machine, NXE assumed), overridden by
 * `registers` (the command line's or a form's). The reader is closed when the source is, or at
 * once when the core is refused.
 * @throws PageTableSourceError for a file that is not such a core, truncated program headers or
 *   segments, or overlapping RAM segments.
 */
export function elfCoreSource(
  name: string,
  file: ImageReader,
  cmdline: Readonly<Record<string, bigint>>,
): PageTableSource {
  const bad = (what: string): never => {
    file.close();
    throw new PageTableSourceError(`${name}: ${what}`);
  };
  const head = file.read(0, 64);
  const h = new DataView(head.buffer);
  if (file.size < 52 || h.getUint32(0) !== 0x7f454c46)
    bad('not an ELF file; expected a core from QEMU dump-guest-memory');
  const cls = head[4];
  if (cls !== 1 && cls !== 2) bad(`EI_CLASS ${cls}; expected 1 (ELF32) or 2 (ELF64)`);
  if (head[5] !== 1) bad(`EI_DATA ${head[5]}; expected 1 (little-endian)`);
  const is64 = cls === 2;
  const type = h.getUint16(16, true);
  if (type !== 4) bad(`e_type ${type}; expected 4 (ET_CORE)`);
  const machine = h.getUint16(18, true);
  const u = (v: DataView, off: number) => (is64 ? Number(v.getBigUint64(off, true)) : v.getUint32(off, true));
  const phoff = u(h, is64 ? 32 : 28);
  const shoff = u(h, is64 ? 40 : 32);
  const phentsize = h.getUint16(is64 ? 54 : 42, true);
  let phnum = h.getUint16(is64 ? 56 : 44, true);
  const wantEnt = is64 ? 56 : 32;
  if (phentsize !== wantEnt) bad(`e_phentsize ${phentsize}; expected ${wantEnt}`);
  if (phnum === 0xffff) {
    // PN_XNUM: the count is in sh_info of section header 0.
    if (shoff === 0 || shoff + (is64 ? 64 : 40) > file.size)
      bad('e_phnum is PN_XNUM but section header 0 is missing');
    phnum = new DataView(file.read(shoff, 64).buffer).getUint32(is64 ? 44 : 28, true);
  }
  if (phoff + phnum * phentsize > file.size)
    bad(`program headers (${phnum} at ${phoff}) run past the end of the file (${file.size} bytes)`);
  const ph = new DataView(file.read(phoff, phnum * phentsize).buffer);
  const extents: Extent[] = [];
  const registers: Record<string, bigint> = {};
  const notes: string[] = [];
  for (let i = 0; i < phnum; i++) {
    const b = i * phentsize;
    const ptype = ph.getUint32(b, true);
    const offset = u(ph, b + (is64 ? 8 : 4));
    const paddr = u(ph, b + (is64 ? 24 : 12));
    const filesz = u(ph, b + (is64 ? 32 : 16));
    const memsz = u(ph, b + (is64 ? 40 : 20));
    if (offset + filesz > file.size)
      bad(`segment ${i} (${filesz} bytes at offset ${offset}) is truncated: the file has ${file.size} bytes`);
    if (ptype === PT_LOAD && memsz > 0) {
      if (paddr % 4096 !== 0) bad(`PT_LOAD ${i} at p_paddr ${hex(paddr)} is not 4 KiB aligned`);
      if (paddr + memsz > 2 ** 52) bad(`PT_LOAD ${i} ends above 2^52`);
      if (filesz > memsz) bad(`PT_LOAD ${i} has p_filesz ${filesz} > p_memsz ${memsz}`);
      for (const e of extents) {
        if (paddr < e.pa + e.memBytes && e.pa < paddr + memsz)
          bad(`PT_LOAD ${i} at ${hex(paddr)} overlaps another`);
      }
      extents.push({ pa: paddr, memBytes: memsz, offset, fileBytes: filesz });
    } else if (ptype === PT_NOTE && 'CR3' in registers === false && filesz <= 1 << 24) {
      const n = new DataView(file.read(offset, filesz).buffer);
      let p = 0;
      while (p + 12 <= filesz) {
        const namesz = n.getUint32(p, true);
        const descsz = n.getUint32(p + 4, true);
        const ntype = n.getUint32(p + 8, true);
        const nameOff = p + 12;
        const descOff = nameOff + Math.ceil(namesz / 4) * 4;
        const end = descOff + Math.ceil(descsz / 4) * 4;
        if (end > filesz || end <= p) break;
        let nm = '';
        for (let c = 0; c < Math.min(namesz - 1, 64); c++) nm += String.fromCharCode(n.getUint8(nameOff + c));
        if (
          nm === 'QEMU' &&
          ntype === 0 &&
          descsz >= QEMU_NOTE_CR4 + 8 &&
          (machine === EM_X86_64 || machine === EM_386)
        ) {
          registers.CR0 = n.getBigUint64(descOff + QEMU_NOTE_CR0, true);
          registers.CR3 = n.getBigUint64(descOff + QEMU_NOTE_CR3, true);
          registers.CR4 = n.getBigUint64(descOff + QEMU_NOTE_CR4, true);
          // EFER is not in the note; QEMU writes an x86-64 core (EM_X86_64) exactly when EFER.LMA = 1.
          // LME | LMA (bits 8, 10) and NXE (bit 11) assumed.
          registers.EFER = machine === EM_X86_64 ? 0xd00n : 0x800n;
          notes.push(
            `CR0/CR3/CR4 from the first CPU's QEMU note; EFER.LMA from e_machine, NXE = 1 assumed (override with --regs EFER=…)`,
          );
          break;
        }
        p = end;
      }
    }
  }
  if (extents.length === 0) bad('has no PT_LOAD segment; expected RAM regions');
  if (machine !== EM_386 && machine !== EM_X86_64 && machine !== EM_AARCH64) {
    notes.push(`e_machine ${machine} is neither x86 nor AArch64; the registers decide`);
  }
  for (const [k, v] of Object.entries(cmdline)) registers[k] = v;
  return imageSource(name, file, extents, registers, notes);
}
