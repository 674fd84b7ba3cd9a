/**
 * Internal helpers shared by the ELF parser (`elf.ts`) and the load planner (`elf-load-plan.ts`);
 * not part of the package's public API.
 */
import { hex } from '@mmkit/core';
import { ElfFormatError } from './elf-errors.js';

/** 2^64. */
export const TWO_64 = 1n << 64n;

/** Images {@link parseElf64} returned: {@link planElfLoad} plans only those (an image is trusted). */
const parsedImages = new WeakSet<object>();

/** Records `image` as one {@link parseElf64} returned. */
export function markParsedElfImage(image: object): void {
  parsedImages.add(image);
}

/** Whether `image` is an image {@link parseElf64} returned (the load planner takes only those). */
export function isParsedElfImage(image: unknown): boolean {
  return typeof image === 'object' && image !== null && parsedImages.has(image);
}

export function isPowerOfTwo(v: bigint): boolean {
  return v > 0n && (v & (v - 1n)) === 0n;
}

/** Refuses two PT_LOAD segments whose page spans (at `pageSize`) share a page. */
export function checkNoPageOverlap(
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

export function alignDown(v: bigint, a: bigint): bigint {
  return v - (v % a);
}
export function alignUp(v: bigint, a: bigint): bigint {
  return alignDown(v + a - 1n, a);
}
