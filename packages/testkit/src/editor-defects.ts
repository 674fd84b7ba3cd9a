/**
 * Deliberately defective page-table editors, to prove the editor checks (editor-checks.ts) can
 * fail. The toy backend's `bug` option proves the checks whose subject is the backend; most editor
 * checks test the arch-neutral `PageTableEditor` of `@mmkit/core` itself (its roll-back, the
 * break-before-make phases, the flush ledger, range validation), so their defects are put into the
 * editor: each {@link EditorDefect} is a small subclass of `PageTableEditor` (or of what it uses:
 * the cursor, the frame source, a plan) that breaks one promise. The self-test
 * (`conformance.test.ts`) runs every editor check with each of them on the correct toy backend and
 * asserts that exactly the check of {@link EDITOR_DEFECT_FOR_CHECK} reports it.
 *
 * Test support only: not exported from the package.
 */
import {
  type BreakBeforeMakePlan,
  type ClearLeavesOptions,
  type CollapseOptions,
  type CollapsePrepared,
  FlushObligation,
  type FrameSource,
  type FreeSubtablesOptions,
  type LeafRef,
  type NewFlushOptions,
  OutOfRangeError,
  PageTableCursor,
  PageTableEditor,
  type PageTableRange,
  type SplitOptions,
  type SplitPrepared,
} from '@mmkit/core';
import type { EditorFactory } from './editor-checks.js';

/** Deliberate defects of the page-table editor; each comment names the check that catches it. */
export type EditorDefect =
  /** `forEachLeaf` reports only smallest pages, never blocks (checkEditorMapUnmap). */
  | 'for-each-leaf-skips-blocks'
  /**
   * `prepareSplit` writes the invalid descriptor before it has a table: out of memory, it returns
   * `no-memory` with the block gone (checkEditorOutOfMemory).
   */
  | 'split-breaks-before-alloc'
  /** A collapse's `make()` never gives the replaced table back to the frame source (checkEditorSplitCollapse). */
  | 'collapse-leaks-table'
  /**
   * A split plan's `make()` does not wait for the break step's obligation: it settles it itself
   * and writes, instead of refusing (checkBreakBeforeMakePhases).
   */
  | 'make-skips-settled-check'
  /** The editor's obligations never reach its ledger, so dropped ones go unreported (checkFlushLedger). */
  | 'ledger-not-told'
  /**
   * The cursor clamps an end past the root's address space to the end of it instead of refusing
   * it (checkRangeValidation).
   */
  | 'cursor-clamps-end'
  /** `clearLeaves` treats `endVpn` as inclusive and removes the leaf just after the range (checkClearAndPrune). */
  | 'clear-end-inclusive'
  /** `freeSubtables` clears the leaves left in the range instead of refusing (checkFreeSubtables). */
  | 'free-subtables-drops-leaves';

/**
 * For each editor check whose subject is the core editor, the editor defect that this check, and
 * no other editor check, reports. (`checkLeafTemplate` is proven by a backend defect, in
 * `TOY_DEFECT_FOR_CHECK`.)
 */
export const EDITOR_DEFECT_FOR_CHECK = Object.freeze({
  checkEditorMapUnmap: 'for-each-leaf-skips-blocks',
  checkEditorOutOfMemory: 'split-breaks-before-alloc',
  checkEditorSplitCollapse: 'collapse-leaks-table',
  checkBreakBeforeMakePhases: 'make-skips-settled-check',
  checkFlushLedger: 'ledger-not-told',
  checkRangeValidation: 'cursor-clamps-end',
  checkClearAndPrune: 'clear-end-inclusive',
  checkFreeSubtables: 'free-subtables-drops-leaves',
} as const satisfies Record<string, EditorDefect>);

class ForEachLeafSkipsBlocks extends PageTableEditor {
  override forEachLeaf(range: PageTableRange, visit: (leaf: LeafRef) => void): void {
    super.forEachLeaf(range, (leaf) => {
      if (leaf.level === 1) visit(leaf);
    });
  }
}

class SplitBreaksBeforeAlloc extends PageTableEditor {
  override prepareSplit(options: SplitOptions): SplitPrepared {
    const before = this.lookup(options.root, options.vpn);
    const r = super.prepareSplit(options);
    // As if the break had been written first and the allocation failed after it.
    if (!r.ok && r.reason === 'no-memory') this.writeRaw(before.descriptorPa, 0, 0);
    return r;
  }
}

class CollapseLeaksTable extends PageTableEditor {
  override prepareCollapse(options: CollapseOptions): CollapsePrepared {
    const keep: FrameSource = {
      allocTable: (level) => options.source.allocTable(level),
      freeTable: () => {},
    };
    return super.prepareCollapse({ ...options, source: keep });
  }
}

/** `plan` with a `make()` that settles the break step's obligation itself instead of refusing. */
function skipSettledCheck<R>(plan: BreakBeforeMakePlan<R>): BreakBeforeMakePlan<R> {
  return new Proxy(plan, {
    get(target, key) {
      if (key === 'make')
        return () => {
          target.flush?.markDischarged();
          return target.make();
        };
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

class MakeSkipsSettledCheck extends PageTableEditor {
  override prepareSplit(options: SplitOptions): SplitPrepared {
    const r = super.prepareSplit(options);
    return r.ok ? { ok: true, plan: skipSettledCheck(r.plan) } : r;
  }
}

class LedgerNotTold extends PageTableEditor {
  override newFlush(options: NewFlushOptions): FlushObligation {
    return new FlushObligation(options.asid, options.global ?? false, options.threshold);
  }
}

class ClampingCursor extends PageTableCursor {
  override begin(range: PageTableRange): boolean {
    try {
      return super.begin(range);
    } catch (e) {
      const past = (range.endVpn ?? 0) > (range.startVpn ?? 0); // (not an end before the start)
      if (e instanceof OutOfRangeError && e.what === 'endVpn' && past)
        return super.begin({ ...range, endVpn: Number.POSITIVE_INFINITY });
      throw e;
    }
  }
}

class CursorClampsEnd extends PageTableEditor {
  override createCursor(): PageTableCursor {
    return new ClampingCursor(this.backend, this.memory);
  }
}

class ClearEndInclusive extends PageTableEditor {
  override clearLeaves(options: ClearLeavesOptions, visit: (leaf: LeafRef) => void): number {
    return super.clearLeaves({ ...options, endVpn: options.endVpn + 1 }, visit);
  }
}

class FreeSubtablesDropsLeaves extends PageTableEditor {
  override freeSubtables(options: FreeSubtablesOptions): number {
    const vpns: number[] = [];
    this.forEachLeaf(options, (leaf) => vpns.push(leaf.vpn));
    for (const vpn of vpns)
      this.unmap(options.root, vpn)?.flush.ignore('editor defect: the leaves it drops are never invalidated');
    return super.freeSubtables(options);
  }
}

const EDITORS: Readonly<Record<EditorDefect, typeof PageTableEditor>> = {
  'for-each-leaf-skips-blocks': ForEachLeafSkipsBlocks,
  'split-breaks-before-alloc': SplitBreaksBeforeAlloc,
  'collapse-leaks-table': CollapseLeaksTable,
  'make-skips-settled-check': MakeSkipsSettledCheck,
  'ledger-not-told': LedgerNotTold,
  'cursor-clamps-end': CursorClampsEnd,
  'clear-end-inclusive': ClearEndInclusive,
  'free-subtables-drops-leaves': FreeSubtablesDropsLeaves,
};

/** An {@link EditorFactory} for the editor checks' `createEditor` option that builds an editor with `defect`. */
export function createDefectiveEditor(defect: EditorDefect): EditorFactory {
  const Editor = EDITORS[defect];
  return (backend, memory, options) => new Editor(backend, memory, options);
}
