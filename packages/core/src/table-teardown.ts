/**
 * Page-table teardown for {@link PageTableEditor}: freeing every table under a range of root
 * entries once its leaves are gone (`freeSubtables`, exit and exec), and pruning the tables an
 * unmap left empty (`pruneEmptyTables`, Linux `free_pgtables`). Both walk with a spare cursor of
 * the editor and either complete or change nothing (freeSubtables checks the whole range before
 * freeing; pruneEmptyTables frees only tables it has just found empty). A leaf table is checked
 * whole from its words (`PhysicalMemory.frameWords`) instead of being descended into entry by
 * entry — it has nothing below it — and freed or kept at the point of the walk where the descent
 * would have done it, so tables reach the frame source in the same order either way.
 *
 * The editor's public methods carry the documentation and delegate here.
 */
import { PAGE_SIZE } from './address.js';
import { checkBool, checkFrameSource, fields } from './arg-checks.js';
import type { EditorHost } from './editor-host.js';
import { InvalidArgumentError } from './errors.js';
import type { FlushObligation } from './flush.js';
import { CURSOR_DONE, CURSOR_UP, type PageTableCursor } from './page-table-cursor.js';
import type {
  FrameSource,
  FreeSubtablesOptions,
  PruneOptions,
  PruneResult,
} from './page-table-editor-types.js';

/** @internal {@link PageTableEditor.freeSubtables}'s body (see there). */
export function freeSubtables(h: EditorHost, options: FreeSubtablesOptions): number {
  const { source } = fields('freeSubtables options', options, ['source']);
  checkFrameSource<FrameSource>('freeSubtables options.source', source);
  const c = h.acquire();
  const rootLevel = h.backend.geometry.rootLevel;
  let freed = 0;
  try {
    // Pass 1: check; nothing is written.
    let more = c.begin(options);
    while (more) {
      if (!c.absent) {
        const next = c.nextTable();
        if (c.level !== rootLevel && next < 0) {
          throw new InvalidArgumentError('table teardown', `vpn ${c.vpn}`, 'no leaf left in the range');
        }
        // A leaf table wholly inside the range: all zero is all pass 2 needs (no descent).
        const whole = next >= 0 && c.level === 2 && c.inside && leafTableIsZero(h, next);
        if (next >= 0 && (c.level !== rootLevel || c.inside) && !whole) {
          c.down(next);
          continue;
        }
      }
      more = c.next();
    }
    // Pass 2: free bottom-up (children before their parents), clear the entries.
    more = c.begin(options);
    while (more) {
      const next = c.absent ? -1 : c.nextTable();
      if (next >= 0 && (c.level !== rootLevel || c.inside)) {
        if (c.level !== 2 || !c.inside) {
          c.down(next);
          continue;
        }
        // A leaf table wholly inside the range (pass 1 found it all zero): freed without the
        // descent, at the point of the walk the descent would have freed it.
        freeChild(h, c, source as FrameSource);
        freed++;
      }
      let r = c.step();
      while (r === CURSOR_UP) {
        // Finished the table of the current entry: free it.
        freeChild(h, c, source as FrameSource);
        freed++;
        r = c.step();
      }
      more = r !== CURSOR_DONE;
    }
  } finally {
    h.release(c);
  }
  return freed;
}

/** Frees the table the cursor's entry points to (zeroed) and clears the entry. */
function freeChild(h: EditorHost, c: PageTableCursor, source: FrameSource): void {
  const child = h.backend.codec.nextTable(c.lo, c.hi, c.level);
  h.memory.fill(child, PAGE_SIZE, 0);
  source.freeTable(child, c.level - 1);
  c.write(0, 0);
}

/** Frees the (empty) table the cursor's entry points to for pruneEmptyTables; returns 1. */
function pruneChild(c: PageTableCursor, source: FrameSource, flush: FlushObligation): number {
  const child = c.nextTable();
  c.write(0, 0);
  source.freeTable(child, c.level - 1);
  flush.addPage(c.vpn);
  return 1;
}

/** True when every word of the leaf table at `tablePa` is zero (read as words, no walk). */
function leafTableIsZero(h: EditorHost, tablePa: number): boolean {
  const pfn = tablePa / PAGE_SIZE;
  if (!h.memory.isTouched(pfn)) return true; // never written: zeros, and no backing store to give it
  const words = h.memory.frameWords(pfn);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** @internal {@link PageTableEditor.pruneEmptyTables}'s body (see there). */
export function pruneEmptyTables(h: EditorHost, options: PruneOptions): PruneResult {
  const o = fields('pruneEmptyTables options', options, ['source', 'asid', 'global']);
  const source = checkFrameSource<FrameSource>('pruneEmptyTables options.source', o.source);
  const asid = h.asid('pruneEmptyTables options.asid', o.asid);
  const global = o.global === undefined ? false : checkBool('pruneEmptyTables options.global', o.global);
  const c = h.acquire();
  const flush = h.newFlush({ asid, global });
  let freed = 0;
  try {
    let more = c.begin(options);
    while (more) {
      const next = c.absent ? -1 : c.nextTable();
      if (next >= 0 && c.level !== 2) {
        c.down(next);
        continue;
      }
      // A leaf table is checked whole without the descent (nothing below it to prune), at the
      // point of the walk the descent would have checked it.
      if (next >= 0 && leafTableIsZero(h, next)) freed += pruneChild(c, source, flush);
      let r = c.step();
      while (r === CURSOR_UP) {
        const child = h.backend.codec.nextTable(c.lo, c.hi, c.level);
        if (c.tableIsEmpty(child)) freed += pruneChild(c, source, flush);
        r = c.step();
      }
      more = r !== CURSOR_DONE;
    }
  } catch (e) {
    flush.ignore('pruneEmptyTables threw; the error is what the caller sees');
    throw e;
  } finally {
    h.release(c);
  }
  if (freed > 0) flush.addTableChange();
  return { freed, flush };
}
