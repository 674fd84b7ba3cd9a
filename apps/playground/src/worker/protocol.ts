/**
 * Messages between the UI and the kernel worker. Every request carries an id; the worker answers
 * `{ id, ok: true, value }` or `{ id, ok: false, error }` (a message a person can read).
 */
import type { AccessKind, PrivilegeLevel } from '@mmkit/core';
import type { Scenario, ScenarioStep } from '@mmkit/scenario';
import type {
  CompareRow,
  FrameInfo,
  FrameMap,
  ImportedEntryView,
  ImportedView,
  MachineView,
  ProcessView,
  StepRecord,
  SwapView,
  TableEntryView,
  TlbView,
  WalkView,
} from './engine.js';
import type { ImageRequest } from './image.js';
import type { ScenarioRef } from './scenario.js';

/** What the UI asks. */
export type Request =
  | { readonly type: 'open'; readonly ref: ScenarioRef; readonly position: number }
  | { readonly type: 'goto'; readonly position: number }
  /** Drops the steps after the position and adds `step` (the scenario becomes a custom one). */
  | { readonly type: 'append'; readonly step: ScenarioStep }
  /** Runs forward to the next step that takes a page fault (or to the end). */
  | { readonly type: 'nextFault' }
  | {
      readonly type: 'walk';
      readonly pid: number;
      readonly va: string;
      readonly access: AccessKind;
      readonly privilege: PrivilegeLevel;
    }
  | { readonly type: 'frame'; readonly index: number }
  | { readonly type: 'tables'; readonly pid: number }
  /** The kernel's own tables (the TTBR1 half / the kernel half of the root). */
  | { readonly type: 'kernelTables' }
  | { readonly type: 'compare'; readonly a: ScenarioRef; readonly b: ScenarioRef }
  | { readonly type: 'export'; readonly pid: number | null }
  | { readonly type: 'import'; readonly text: string }
  /** A raw memory image (or an ELF core) with its registers; answered asynchronously. */
  | ({ readonly type: 'importImage' } & ImageRequest)
  /** The decoded entries of one imported table, by its `pa` as the export spells it. */
  | { readonly type: 'importedTable'; readonly pa: string }
  | {
      readonly type: 'walkImported';
      readonly va: string;
      readonly access: AccessKind;
      readonly privilege: PrivilegeLevel;
    };

/** The state after a step: everything the views draw. */
export interface Snapshot {
  /** What is open (what the URL encodes). */
  readonly ref: ScenarioRef;
  /** The scenario as parsed, with the board and paging format it runs on. */
  readonly scenario: Scenario;
  readonly position: number;
  readonly records: readonly StepRecord[];
  readonly machine: MachineView;
  readonly processes: readonly ProcessView[];
  readonly frames: FrameMap;
  /** Swap devices, swap cache, reclaim counters, watermarks and the reclaim policy's state. */
  readonly swap: SwapView;
  readonly tlbs: readonly TlbView[];
  /** Milliseconds the worker took (re-running included). */
  readonly elapsedMs: number;
}

/** Answers, by request type. */
export interface Responses {
  open: Snapshot;
  goto: Snapshot;
  append: Snapshot;
  nextFault: Snapshot;
  walk: WalkView;
  frame: FrameInfo | null;
  tables: TableEntryView[];
  kernelTables: TableEntryView[];
  compare: { a: string; b: string; rows: CompareRow[] };
  export: string;
  import: ImportedView;
  importImage: ImportedView;
  importedTable: ImportedEntryView[];
  walkImported: WalkView;
}

/** A request with its id. */
export type Envelope = Request & { readonly id: number };

/** The worker's reply. */
export type Reply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };
