/**
 * Flush obligations: what map, unmap and protect leave to do. The caller must
 * `discharge` it (run the architecture's TLB maintenance on every CPU that may
 * cache the translations) or explicitly `ignore()` it, as the rust-osdev
 * `MapperFlush` token works. Strict TLB mode catches a forgotten flush.
 */
import type { TlbInvalidation } from './arch.js';

/** Above this many pages, one ASID-wide (or global) invalidation replaces per-page ones. */
export const DEFAULT_FLUSH_PAGE_THRESHOLD = 32;

/** Accumulates the TLB invalidation an edit requires. */
export class FlushObligation {
  private readonly pages: number[] = [];
  private wide = false;
  private leaf = true;
  private settled = false;

  constructor(
    /** ASID of the address space edited. */
    readonly asid: number,
    /** The edited translations are global (kernel) ones. */
    readonly global: boolean,
    readonly threshold = DEFAULT_FLUSH_PAGE_THRESHOLD,
  ) {}

  /** Records that the translation of `vpn` changed or disappeared. */
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

  /** Folds another obligation for the same ASID into this one. */
  merge(other: FlushObligation): void {
    if (!other.leaf) this.leaf = false;
    if (other.wide) {
      this.wide = true;
      this.pages.length = 0;
    } else for (const p of other.pages) this.addPage(p);
    other.settled = true;
  }

  /** True if nothing needs invalidating. */
  get empty(): boolean {
    return !this.wide && this.pages.length === 0;
  }

  /** True once discharged or ignored. */
  get settledState(): boolean {
    return this.settled;
  }

  /** The neutral invalidation needed, or undefined if none. */
  need(): TlbInvalidation | undefined {
    if (this.empty) return undefined;
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

  /** Marks the obligation as met by the caller. */
  markDischarged(): void {
    this.settled = true;
  }

  /** Explicitly drops the obligation (e.g. the tables are not live on any CPU). */
  ignore(): void {
    this.settled = true;
  }
}
