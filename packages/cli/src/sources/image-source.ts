/**
 * Memory images on disk as page-table sources: a raw physical-memory image (QEMU `pmemsave`)
 * loaded at a base address, and an ELF core from QEMU `dump-guest-memory`. The formats are parsed
 * by `@mmkit/scenario` (`rawImageSource`, `elfCoreSource`, browser-safe, shared with the
 * playground); this module only reads the file: frames on demand with positional reads, so a
 * multi-GiB image costs nothing up front (only the tables are ever read).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { hex } from '@mmkit/core';
import {
  elfCoreSource as coreOverReader,
  type ImageReader,
  rawImageSource as imageOverReader,
  type PageTableSource,
} from '@mmkit/scenario';
import { SourceError } from './source.js';

/** A file opened for positional reads, with a one-line error for every failure. */
class ImageFile implements ImageReader {
  readonly fd: number;
  readonly size: number;
  constructor(name: string, file: string) {
    try {
      this.fd = openSync(file, 'r');
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      throw new SourceError(`${name}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
    }
  }
  /** `length` bytes at `offset`; bytes past the end of the file read as zero. */
  read(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    if (offset < this.size) readSync(this.fd, buf, 0, Math.min(length, this.size - offset), offset);
    return buf;
  }
  close(): void {
    closeSync(this.fd);
  }
}

/**
 * A raw image of physical memory in the file `path`, starting at `base` (a 4 KiB-aligned physical address).
 * @throws SourceError for an unreadable file or a base that is not page aligned;
 *   PageTableSourceError (also exit 2) for an empty image or one that ends above 2^52.
 */
export function rawImageSource(
  path: string,
  base: number,
  registers: Record<string, bigint>,
): PageTableSource {
  const name = `image ${path} @ ${hex(base)}`;
  // Checked before the file is opened, so a misaligned base is reported as such for any path.
  if (base % 4096 !== 0)
    throw new SourceError(
      `${name}: base ${hex(base)} is not 4 KiB aligned; expected a page-aligned physical address`,
    );
  return imageOverReader(name, new ImageFile(name, path), base, registers);
}

/**
 * An ELF core written by QEMU `dump-guest-memory`, in the file `path`; `cmdline` registers
 * override those of its note.
 * @throws SourceError for an unreadable file; PageTableSourceError (also exit 2) for a file that
 *   is not such a core.
 */
export function elfCoreSource(path: string, cmdline: Record<string, bigint>): PageTableSource {
  const name = `core ${path}`;
  return coreOverReader(name, new ImageFile(name, path), cmdline);
}
