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

export {
  inRegions,
  mergeRegions,
  type PageTableSource,
  type SourceRegion,
} from '@mmkit/scenario';

/**
 * A source that cannot be used: unreadable or malformed file, wrong registers, connection
 * failure. A usage error (exit 2) with a one-line message naming the source and the value.
 */
export class SourceError extends UsageError {}
