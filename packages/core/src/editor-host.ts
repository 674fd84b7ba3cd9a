/**
 * The editor's internals as its extracted modules see them (see {@link EditorHost}).
 */
import type { ArchBackend, NeutralEntry } from './arch.js';
import type { FlushObligation } from './flush.js';
import type { PageTableCursor } from './page-table-cursor.js';
import type { EntryRef, FrameSource, NewFlushOptions } from './page-table-editor-types.js';
import type { PhysicalMemory } from './physical-memory.js';

/**
 * @internal What the editor's extracted parts (bbm-prepare.ts, table-teardown.ts) use of it: its
 * backend and memory, its cursors, and its checks and entry helpers (the private ones bound by
 * the editor's constructor, so nothing is allocated per call).
 */
export interface EditorHost {
  readonly backend: ArchBackend;
  readonly memory: PhysicalMemory;
  /** 8-byte descriptors (else 4). */
  readonly wide: boolean;
  /** The editor's cursor (the one {@link seekPage} positions). */
  readonly cursor: PageTableCursor;
  /** Positions the editor's cursor on the first entry for page `vpn` under `root`. */
  seekPage(root: unknown, vpn: unknown, baseVpn?: unknown): PageTableCursor;
  /** A table frame from `source`, checked, or -1 when out of memory. */
  allocTable(source: FrameSource, level: number): number;
  /** An ASID option (default 0). @throws InvalidArgumentError */
  asid(what: string, value: unknown): number;
  /** An internal level of the backend. @throws InvalidArgumentError */
  level(what: string, value: unknown): number;
  levelName(level: number): string;
  entryPa(tablePa: number, index: number): number;
  writeRaw(descriptorPa: number, lo: number, hi: number): void;
  readEntry(descriptorPa: number, level: number): NeutralEntry;
  newFlush(options: NewFlushOptions): FlushObligation;
  lookup(root: number, vpn: number, stopLevel?: number): EntryRef;
  /** A spare cursor for a walk (give it back with {@link release}). */
  acquire(): PageTableCursor;
  /** Returns a cursor from {@link acquire}. */
  release(cursor: PageTableCursor): void;
}
