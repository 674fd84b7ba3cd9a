/**
 * The option and result types of {@link PageTableEditor} (the editor re-exports them).
 */
import type { LeafAttributes, NeutralEntry, TableAttributes } from './arch.js';
import type { FlushLedger, FlushObligation } from './flush.js';
import type { PageTableRange } from './page-table-cursor.js';
import type { PageTableEditor } from './page-table-editor.js';

/** Where table frames come from. */
export interface FrameSource {
  /** A zeroed frame for a page table: its physical address, or -1 when out of memory. */
  allocTable(level: number): number;
  /** Returns a table frame obtained from {@link allocTable}. */
  freeTable(pa: number, level: number): void;
}

/** Construction options of {@link PageTableEditor}. */
export interface PageTableEditorOptions {
  /** Tracks every obligation the editor creates (strict mode). Default: none. */
  readonly ledger?: FlushLedger;
}

/** A root table and, optionally, the page number its index 0 maps (see {@link PageTableRange}). */
export interface RootRef {
  /** Physical address of the root table. */
  readonly root: number;
  /** Default: inferred from the page (the kernel half of split-root formats), else 0. */
  readonly baseVpn?: number;
}

/** Options of {@link PageTableEditor.map}. */
export interface MapOptions extends RootRef {
  /** A page of the leaf to map (any page inside it). */
  readonly vpn: number;
  /** Output address, aligned to the leaf size. */
  readonly pa: number;
  /** Level of the leaf (1 = smallest page). */
  readonly level: number;
  readonly attrs: LeafAttributes;
  /** Attributes of tables created on the way (default: {@link OPEN_TABLE}). */
  readonly tableAttrs?: TableAttributes;
  /** Where new tables come from. */
  readonly source: FrameSource;
}

/** Result of {@link PageTableEditor.map}. A new translation needs no TLB flush, so none is returned. */
export type MapResult =
  | { readonly ok: true; readonly tablesCreated: number }
  | { readonly ok: false; readonly reason: 'no-memory' | 'already-mapped' | 'blocked-by-leaf' };

/** Options of {@link PageTableEditor.ensureTable}. */
export interface EnsureTableOptions extends RootRef {
  /** A page whose entry the table holds. */
  readonly vpn: number;
  /** Level of the entries of the wanted table (1: a leaf table; below the root level). */
  readonly level: number;
  /** Attributes of tables created on the way (default: {@link OPEN_TABLE}). */
  readonly tableAttrs?: TableAttributes;
  /** Where new tables come from. */
  readonly source: FrameSource;
}

/**
 * Result of {@link PageTableEditor.ensureTable}: the table's physical address, or why there is
 * none — `no-memory` (the source ran dry) or `blocked` (an entry on the way is a leaf or another
 * entry that is not a table); nothing changed then.
 */
export type EnsureTableResult =
  | { readonly ok: true; readonly tablePa: number; readonly tablesCreated: number }
  | { readonly ok: false; readonly reason: 'no-memory' | 'blocked' };

/** Options of {@link PageTableEditor.protect}. */
export interface ProtectOptions extends RootRef {
  /** A page of the leaf to change. */
  readonly vpn: number;
  /** The new attributes (the output address stays). */
  readonly attrs: LeafAttributes;
  /** ASID that goes into the flush obligation (default 0). */
  readonly asid?: number;
}

/** Options of {@link PageTableEditor.clearLeaves}. */
export interface ClearLeavesOptions extends PageTableRange {
  readonly startVpn: number;
  readonly endVpn: number;
  /** Receives one page per removed leaf (its first page). */
  readonly flush: FlushObligation;
}

/** Options of {@link PageTableEditor.freeSubtables}. */
export interface FreeSubtablesOptions extends PageTableRange {
  /** Where the freed tables go. */
  readonly source: FrameSource;
}

/** Options of {@link PageTableEditor.pruneEmptyTables}. */
export interface PruneOptions extends PageTableRange {
  /** Where the freed tables go. */
  readonly source: FrameSource;
  /** ASID of the obligation (default 0). */
  readonly asid?: number;
  /** The tables held global (kernel) translations (default false). */
  readonly global?: boolean;
}

/** Options of {@link PageTableEditor.newFlush}. */
export interface NewFlushOptions {
  readonly asid: number;
  /** Global (kernel) translations (default false). */
  readonly global?: boolean;
  /** Pages above which it becomes ASID-wide (default {@link DEFAULT_FLUSH_PAGE_THRESHOLD}). */
  readonly threshold?: number;
}

/** A located entry: the descriptor's address and its decoded value. */
export interface EntryRef {
  readonly level: number;
  readonly descriptorPa: number;
  readonly entry: NeutralEntry;
}

/** A leaf found by {@link PageTableEditor.forEachLeaf} or removed by {@link PageTableEditor.clearLeaves}. */
export interface LeafRef {
  /** First page number the leaf maps. */
  readonly vpn: number;
  readonly level: number;
  readonly descriptorPa: number;
  readonly pa: number;
  readonly attrs: LeafAttributes;
}

/** A table frame found by {@link PageTableEditor.tableFrames}. */
export interface TableFrame {
  readonly pa: number;
  readonly level: number;
}

/** Result of {@link PageTableEditor.pruneEmptyTables}. */
export interface PruneResult {
  /** Table frames freed (root never included). */
  readonly freed: number;
  /** Walk-cache invalidation for the cleared table entries (non-leaf: TLBI VAE1, not VALE1). */
  readonly flush: FlushObligation;
}
