/**
 * Page-table sources: where `mmkit walk`, `dump` and `diff` read translation tables from.
 *
 * Every source exposes the same three things: the physical memory it can read (sparse regions,
 * read a 4 KiB frame at a time, possibly asynchronously), the root registers that select the
 * tables (TTBR0_EL1/TTBR1_EL1/TCR_EL1/MAIR_EL1/SCTLR_EL1, or CR0/CR3/CR4/EFER/IA32_PAT), and a
 * name for messages. The paging format is derived from the registers (`regime.ts`), never guessed
 * from the tables.
 *
 * Source specifications (one `--from` string, or the operands of `diff`):
 *
 * | spec                       | source                                                        |
 * |----------------------------|---------------------------------------------------------------|
 * | `FILE.json`, `export:FILE` | a `mmkit-translation-state/1` export                          |
 * | `image:FILE@BASE`          | a raw physical-memory image (QEMU `pmemsave`) loaded at BASE  |
 * | `core:FILE`                | an ELF core from QEMU `dump-guest-memory` (PT_LOAD = RAM)     |
 * | `gdb:HOST:PORT`            | a running QEMU's gdbstub (read only; the guest is resumed)    |
 *
 * Images and cores take registers with `--regs NAME=VALUE,…` (an x86 core's QEMU note supplies
 * CR0/CR3/CR4 itself).
 */
import { UsageError } from '../usage-error.js';

/** A half-open physical range `[start, end)` the source can read, page aligned. */
export interface SourceRegion {
  readonly start: number;
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
  /** Where the registers came from, and what was assumed, for the report. */
  readonly notes: readonly string[];
  /** Readable physical memory, sorted, page aligned. */
  readonly regions: readonly SourceRegion[];
  /** Reads the 4 KiB frame `pfn`; undefined when it lies outside the regions or cannot be read. */
  readFrame(pfn: number): Promise<Uint8Array | undefined>;
  /** Releases what the source holds (file handle, connection; a live guest is resumed). */
  close(): Promise<void>;
}

/**
 * A source that cannot be used: unreadable or malformed file, wrong registers, connection
 * failure. A usage error (exit 2) with a one-line message naming the source and the value.
 */
export class SourceError extends UsageError {}

/** Merges sorted page-aligned regions that touch or overlap. */
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

/** True if frame `pfn` lies inside one of `regions`. */
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
