/**
 * Page-table sources: where translation tables are read from when they do not come from a running
 * kernel — a raw physical-memory image, an ELF core, a `mmkit-translation-state/1` export, a live
 * guest. Every source exposes the physical memory it can read (sparse regions, 4 KiB frames,
 * possibly asynchronously), the root and control registers that select the tables, and a name
 * for messages. The paging format is derived from the registers (`regime.ts`), never guessed from
 * the tables. Browser-safe: the bytes come from the caller (`image-source.ts`).
 */
import { MmError } from '@mmkit/core';

/** A half-open physical range `[start, end)` a source can read, page aligned. */
export interface SourceRegion {
  /** First byte. */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
}

/** One source of page tables. */
export interface PageTableSource {
  /** How messages name it: `export state.json`, `image ram.bin @ 0x4000_0000`, `gdb localhost:1234`. */
  readonly name: string;
  /** Root and control registers by architectural name (`TTBR0_EL1`, `CR3`, …). */
  readonly registers: Readonly<Record<string, bigint>>;
  /** The paging format the source itself names (an export's `arch`), checked against the registers. */
  readonly declaredArch?: string;
  /** Where the registers came from, and what was assumed, for a report. */
  readonly notes: readonly string[];
  /** Readable physical memory, sorted, page aligned. */
  readonly regions: readonly SourceRegion[];
  /** Reads the 4 KiB frame `pfn`; undefined when it lies outside the regions or cannot be read. */
  readFrame(pfn: number): Promise<Uint8Array | undefined>;
  /** Releases what the source holds (file handle, connection; a live guest is resumed). */
  close(): Promise<void>;
}

/**
 * A source that cannot be used: a malformed image or core, registers that name no regime the
 * backends model, a register value that is not a number. The message is one line naming the
 * source and the value, and what was expected. Code `E_INVALID_ARGUMENT`.
 */
export class PageTableSourceError extends MmError {
  /** The offending value as typed, if there is one. */
  readonly value: string | undefined;
  constructor(message: string, value?: string) {
    super('E_INVALID_ARGUMENT', message.replace(/\s*\n\s*/g, ' ').trim());
    this.value = value;
  }
}

/** Merges page-aligned regions that touch or overlap (any order in, sorted out). */
export function mergeRegions(regions: readonly SourceRegion[]): SourceRegion[] {
  const sorted = [...regions].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: SourceRegion[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end)
      out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** True if frame `pfn` lies inside one of `regions` (sorted, as {@link mergeRegions} returns them). */
export function inRegions(regions: readonly SourceRegion[], pfn: number): boolean {
  const pa = pfn * 4096;
  let lo = 0;
  let hi = regions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = regions[mid]!;
    if (pa < r.start) hi = mid - 1;
    else if (pa >= r.end) lo = mid + 1;
    else return true;
  }
  return false;
}
