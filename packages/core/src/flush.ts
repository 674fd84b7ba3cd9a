/**
 * Flush obligations: what an edit that removes or downgrades a translation leaves to do (unmap,
 * protect, prune, the break step of break-before-make). The caller must discharge the obligation
 * (run the architecture's TLB maintenance on every CPU that may cache the translations, then
 * `markDischarged()`) or explicitly `ignore(reason)` it, as the rust-osdev x86_64 `MapperFlush`
 * token works. Mapping a new translation into an absent slot creates no obligation (absent entries
 * are never cached).
 *
 * TypeScript cannot forbid dropping a value, so a {@link FlushLedger} does it at run time: every
 * obligation created through a ledger (a {@link PageTableEditor} given one creates all of its
 * obligations there) stays outstanding until it is settled, and
 * {@link FlushLedger.assertSettled} throws {@link UndischargedFlushError} naming the ASID and pages
 * of each outstanding one. A kernel in strict TLB mode calls it after every operation.
 */
import type { TlbInvalidation } from './arch.js';
import { checkBool, checkInt } from './arg-checks.js';
import { describeValue, InvalidArgumentError, MmError } from './errors.js';

/** Above this many pages, one ASID-wide (or global) invalidation replaces per-page ones. */
export const DEFAULT_FLUSH_PAGE_THRESHOLD = 32;

/**
 * Accumulates the TLB invalidation an edit requires. Settled by {@link markDischarged},
 * {@link ignore} (with a reason) or by being {@link merge}d into another obligation.
 *
 * The constructor validates `asid`, `global` and `threshold`. {@link addPage} is a hot path (one
 * call per removed leaf inside the editor's range walks) and checks nothing when it is called:
 * the pages it recorded are checked where the obligation is turned into work, by {@link need}
 * (and rendered safely by {@link describe}), which throw an InvalidArgumentError naming the first
 * page that is not a page number.
 */
export class FlushObligation {
  private readonly pages: number[] = [];
  private wide = false;
  private leaf = true;
  private settled = false;
  private reason: string | undefined;
  /** @internal The ledger that tracks this obligation (set by {@link FlushLedger.track}). */
  ledger: FlushLedger | undefined;

  /** ASID of the address space edited. */
  readonly asid: number;
  /** The edited translations are global (kernel) ones. */
  readonly global: boolean;
  /** Above this many pages the obligation becomes ASID-wide (or global). */
  readonly threshold: number;

  /**
   * An untracked obligation. Use {@link FlushLedger.create} (or `PageTableEditor.newFlush`) for
   * one that strict mode reports when it is dropped.
   * @throws InvalidArgumentError unless `asid` is an integer from 0 to 2^32 − 1, `global` a
   *   boolean and `threshold` an integer from 0 to 2^32 − 1.
   */
  constructor(asid: number, global: boolean, threshold = DEFAULT_FLUSH_PAGE_THRESHOLD) {
    this.asid = checkInt('flush obligation asid', asid, 0, 2 ** 32 - 1);
    this.global = checkBool('flush obligation global', global);
    this.threshold = checkInt('flush obligation threshold', threshold, 0, 2 ** 32 - 1);
  }

  /**
   * Records that the translation of `vpn` changed or disappeared. Unchecked hot path (see the
   * class documentation): `vpn` is checked by {@link need}.
   */
  addPage(vpn: number): void {
    if (this.wide) return;
    this.pages.push(vpn);
    if (this.pages.length > this.threshold) {
      this.wide = true;
      this.pages.length = 0;
    }
  }

  /** Records that table (non-leaf) entries changed, so walk caches must go too. */
  addTableChange(): void {
    this.leaf = false;
  }

  /**
   * Folds another obligation for the same ASID into this one; `other` is settled by it.
   * @throws InvalidArgumentError unless `other` is another FlushObligation.
   */
  merge(other: FlushObligation): void {
    if (!(other instanceof FlushObligation) || other === this) {
      throw new InvalidArgumentError('FlushObligation.merge other', other, 'another FlushObligation');
    }
    if (!other.leaf) this.leaf = false;
    if (other.wide) {
      this.wide = true;
      this.pages.length = 0;
    } else for (const p of other.pages) this.addPage(p);
    other.settle(undefined);
  }

  /** True if nothing needs invalidating. */
  get empty(): boolean {
    return !this.wide && this.pages.length === 0;
  }

  /** True once discharged, ignored or merged. */
  get settledState(): boolean {
    return this.settled;
  }

  /** The reason given to {@link ignore}, or undefined if not ignored. */
  get ignoredBecause(): string | undefined {
    return this.reason;
  }

  /**
   * The neutral invalidation needed, or undefined if none.
   * @throws InvalidArgumentError if {@link addPage} was given something other than a page number
   *   (a safe non-negative integer); the obligation stays as it was.
   */
  need(): TlbInvalidation | undefined {
    if (this.empty) return undefined;
    for (const p of this.pages) {
      if (!Number.isSafeInteger(p) || p < 0) {
        throw new InvalidArgumentError(
          'FlushObligation.addPage vpn',
          p,
          'a page number (a safe non-negative integer)',
        );
      }
    }
    if (this.wide) {
      return {
        scope: this.global ? 'all' : 'asid',
        asid: this.asid,
        vpns: [],
        global: this.global,
        leafOnly: this.leaf,
      };
    }
    return {
      scope: 'page',
      asid: this.asid,
      vpns: [...this.pages],
      global: this.global,
      leafOnly: this.leaf,
    };
  }

  /**
   * A short description for messages: ASID and pages (`asid 3, vpns 0x400, 0x401`). Never throws
   * (a page that is not a page number is shown as `describeValue` renders it).
   */
  describe(): string {
    const what = this.wide
      ? this.global
        ? 'every page (global)'
        : 'every page of the ASID'
      : this.pages.length === 0
        ? 'no page'
        : `vpn ${this.pages.map(showPage).join(', ')}`;
    return `asid ${this.asid}${this.global ? ' (global)' : ''}: ${what}${this.leaf ? '' : ', table entries'}`;
  }

  /** Marks the obligation as met by the caller (the TLB maintenance of {@link need} ran). */
  markDischarged(): void {
    this.settle(undefined);
  }

  /**
   * Explicitly drops the obligation. `reason` says why no invalidation is needed (e.g. 'tables not
   * loaded on any CPU'); it is kept in {@link ignoredBecause}.
   * @throws InvalidArgumentError if `reason` is not a non-empty string.
   */
  ignore(reason: string): void {
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new InvalidArgumentError(
        'FlushObligation.ignore reason',
        reason,
        'a non-empty string saying why no TLB invalidation is needed',
      );
    }
    this.settle(reason);
  }

  private settle(reason: string | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.reason = reason;
    this.ledger?.release(this);
  }
}

function showPage(p: unknown): string {
  return Number.isSafeInteger(p) && (p as number) >= 0 ? `0x${(p as number).toString(16)}` : describeValue(p);
}

/** Strict mode found a flush obligation that was neither discharged nor ignored. */
export class UndischargedFlushError extends MmError {
  constructor(
    /** How many obligations were outstanding. */
    readonly outstanding: number,
    /** ASID of the first outstanding obligation. */
    readonly asid: number,
    /** Pages of the first outstanding obligation (empty when ASID-wide or none). */
    readonly vpns: readonly number[],
    /** Each outstanding obligation, described. */
    readonly details: readonly string[],
  ) {
    // Never throws, whatever it is given (error constructors render any value).
    super(
      'E_UNDISCHARGED_FLUSH',
      `${describeValue(outstanding)} flush obligation(s) neither discharged nor ignored: ${
        Array.isArray(details)
          ? details.map((d: unknown) => (typeof d === 'string' ? d : describeValue(d))).join('; ')
          : describeValue(details)
      }`,
    );
  }
}

/**
 * Counts the flush obligations created through it that are not settled yet (see the module
 * documentation). Allocation per obligation: one Set entry.
 */
export class FlushLedger {
  private readonly open = new Set<FlushObligation>();

  /**
   * A new obligation tracked by this ledger.
   * @throws InvalidArgumentError as the {@link FlushObligation} constructor does.
   */
  create(asid: number, global = false, threshold = DEFAULT_FLUSH_PAGE_THRESHOLD): FlushObligation {
    const f = new FlushObligation(asid, global, threshold);
    this.track(f);
    return f;
  }

  /**
   * Tracks an obligation created elsewhere (a settled one is ignored).
   * @throws InvalidArgumentError unless `flush` is a FlushObligation, or if another ledger tracks
   *   it already.
   */
  track(flush: FlushObligation): void {
    if (!(flush instanceof FlushObligation)) {
      throw new InvalidArgumentError('FlushLedger.track flush', flush, 'a FlushObligation');
    }
    if (flush.settledState) return;
    if (flush.ledger !== undefined && flush.ledger !== this) {
      throw new InvalidArgumentError(
        'flush obligation',
        flush.describe(),
        'one not tracked by another ledger',
      );
    }
    flush.ledger = this;
    this.open.add(flush);
  }

  /** @internal Called by {@link FlushObligation} when it is settled. */
  release(flush: FlushObligation): void {
    this.open.delete(flush);
  }

  /** Number of obligations not settled yet. */
  get outstanding(): number {
    return this.open.size;
  }

  /** The obligations not settled yet, oldest first. */
  outstandingObligations(): FlushObligation[] {
    return [...this.open];
  }

  /**
   * Throws if any obligation is outstanding; after the throw they are forgotten, so one dropped
   * obligation is reported once.
   * @throws UndischargedFlushError naming the ASID and pages of each outstanding obligation.
   */
  assertSettled(): void {
    if (this.open.size === 0) return;
    const all = [...this.open];
    this.open.clear();
    for (const f of all) f.ledger = undefined;
    const first = all[0]!;
    throw new UndischargedFlushError(
      all.length,
      first.asid,
      first.need()?.vpns ?? [],
      all.map((f) => f.describe()),
    );
  }
}
