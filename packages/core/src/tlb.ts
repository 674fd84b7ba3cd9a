/**
 * A per-CPU TLB model, tagged by ASID/PCID, with global entries.
 *
 * Direct-mapped over 4 KiB page numbers (like QEMU's softmmu TLB, a block
 * is cached as the 4 KiB pieces that were used; each piece remembers its
 * block so an invalidation of any address in the block drops all of them).
 * Real TLBs are set-associative: hit *rates* differ, correctness does not.
 *
 * Fields are public typed arrays so the CPU's access path reads them without
 * calls or allocation: after `i = lookup(vpn, asid)` (≥ 0 on a hit) read
 * `pfn[i]`, `perms[i]`, `memoryType[i]`.
 *
 * Write permission is cached only for dirty leaves, so the first write to a
 * clean page walks again and the walker sets the dirty state (as QEMU maps a
 * clean page read-only in its TLB).
 */
import { InvalidArgumentError } from './errors.js';

/** Page and frame numbers are integers below 2^52 (a 64-bit VA has at most 52 page-number bits). */
const PN_LIMIT = 2 ** 52;

function checkPn(what: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= PN_LIMIT) {
    throw new InvalidArgumentError(what, value, 'an integer page number in [0, 2^52)');
  }
}

function checkAsid(value: unknown): void {
  if (typeof value !== 'number' || (value | 0) !== value) {
    throw new InvalidArgumentError('ASID', value, 'a 32-bit integer');
  }
}

function checkByte(what: string, value: unknown): void {
  if (typeof value !== 'number' || (value & 0xff) !== value) {
    throw new InvalidArgumentError(what, value, 'an integer from 0 to 255');
  }
}

function checkBool(what: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(what, value, 'a boolean');
}

/** TLB counters. */
export interface TlbStats {
  hits: number;
  misses: number;
  fills: number;
  invalidations: number;
}

/** See the module documentation. */
export class Tlb {
  readonly size: number;
  readonly mask: number;
  /** Tag: page number, -1 = empty. */
  readonly vpn: Float64Array;
  readonly asid: Int32Array;
  /** 1 = global entry (matches every ASID). */
  readonly global: Uint8Array;
  readonly pfn: Float64Array;
  /** Effective permission mask (write bits only if dirty). */
  readonly perms: Uint8Array;
  readonly memoryType: Uint8Array;
  /** Leaf level the entry came from. */
  readonly level: Uint8Array;
  /** First page number of the block the entry came from. */
  readonly blockVpn: Float64Array;
  /** Pages in that block. */
  readonly blockPages: Float64Array;
  /** Lookups that hit (a counter the CPU's inlined lookup also bumps). */
  hits = 0;
  misses = 0;
  fills = 0;
  invalidations = 0;
  private largeEntries = 0;

  /** A snapshot of the counters. */
  get stats(): TlbStats {
    return { hits: this.hits, misses: this.misses, fills: this.fills, invalidations: this.invalidations };
  }

  /** @throws InvalidArgumentError unless `size` is a power of two from 1 to 2^20. */
  constructor(size = 4096) {
    if (!Number.isInteger(size) || size < 1 || (size & (size - 1)) !== 0 || size > 1 << 20) {
      throw new InvalidArgumentError('TLB size', size, 'a power of two between 1 and 2^20');
    }
    this.size = size;
    this.mask = size - 1;
    this.vpn = new Float64Array(size).fill(-1);
    this.asid = new Int32Array(size);
    this.global = new Uint8Array(size);
    this.pfn = new Float64Array(size);
    this.perms = new Uint8Array(size);
    this.memoryType = new Uint8Array(size);
    this.level = new Uint8Array(size);
    this.blockVpn = new Float64Array(size);
    this.blockPages = new Float64Array(size);
  }

  /**
   * Index of the entry translating `vpn` for `asid`, or -1. Hot path: not validated; a value that
   * is not an integer page number never matches an entry (tags are integers), so it misses.
   * @throws InvalidArgumentError if `vpn` is not a number at all (a bigint, string, symbol…).
   */
  lookup(vpn: number, asid: number): number {
    if (typeof vpn !== 'number') throw new InvalidArgumentError('vpn', vpn, 'a page number');
    const i = (vpn >>> 0) & this.mask;
    if (this.vpn[i] === vpn && (this.asid[i] === asid || this.global[i] === 1)) {
      this.hits++;
      return i;
    }
    this.misses++;
    return -1;
  }

  /**
   * Index of the entry for `vpn` regardless of ASID match, or -1 (for inspection); a number that
   * is not a page number misses.
   * @throws InvalidArgumentError if `vpn` is not a number.
   */
  peek(vpn: number): number {
    if (typeof vpn !== 'number') throw new InvalidArgumentError('vpn', vpn, 'a page number');
    const i = (vpn >>> 0) & this.mask;
    return this.vpn[i] === vpn ? i : -1;
  }

  /**
   * Caches a translation (evicting whatever shared its slot). `blockVpn`/`blockPages`
   * describe the leaf it came from (a 4 KiB page: `blockVpn = vpn`, `blockPages = 1`).
   * Called on every TLB miss, so it validates with plain comparisons (no allocation).
   * @throws InvalidArgumentError for a page/frame number that is not an integer in [0, 2^52), an
   *   ASID that is not a 32-bit integer, a `global` that is not a boolean, a perms / memory type /
   *   level outside 0 … 255, or a block that does not contain `vpn`.
   */
  fill(
    vpn: number,
    asid: number,
    global: boolean,
    pfn: number,
    perms: number,
    memoryType: number,
    level: number,
    blockVpn: number,
    blockPages: number,
  ): number {
    if (
      !(
        Number.isInteger(vpn) &&
        vpn >= 0 &&
        Number.isInteger(pfn) &&
        pfn >= 0 &&
        pfn < PN_LIMIT &&
        Number.isInteger(blockVpn) &&
        blockVpn >= 0 &&
        blockVpn <= vpn &&
        Number.isInteger(blockPages) &&
        blockPages >= 1 &&
        vpn < blockVpn + blockPages &&
        blockVpn + blockPages <= PN_LIMIT &&
        typeof asid === 'number' &&
        (asid | 0) === asid &&
        typeof global === 'boolean' &&
        typeof perms === 'number' &&
        (perms & 0xff) === perms &&
        typeof memoryType === 'number' &&
        (memoryType & 0xff) === memoryType &&
        typeof level === 'number' &&
        (level & 0xff) === level
      )
    ) {
      this.badFill(vpn, asid, global, pfn, perms, memoryType, level, blockVpn, blockPages);
    }
    const i = (vpn >>> 0) & this.mask;
    if (this.vpn[i] !== -1 && this.blockPages[i]! > 1) this.largeEntries--;
    this.vpn[i] = vpn;
    this.asid[i] = asid;
    this.global[i] = global ? 1 : 0;
    this.pfn[i] = pfn;
    this.perms[i] = perms;
    this.memoryType[i] = memoryType;
    this.level[i] = level;
    this.blockVpn[i] = blockVpn;
    this.blockPages[i] = blockPages;
    if (blockPages > 1) this.largeEntries++;
    this.fills++;
    return i;
  }

  /** Names the first bad argument of {@link fill}. */
  private badFill(...args: unknown[]): never {
    const [vpn, asid, global, pfn, perms, memoryType, level, blockVpn, blockPages] = args;
    checkPn('vpn', vpn);
    checkAsid(asid);
    checkBool('global', global);
    checkPn('pfn', pfn);
    checkByte('perms', perms);
    checkByte('memoryType', memoryType);
    checkByte('level', level);
    checkPn('blockVpn', blockVpn);
    if (
      typeof blockPages !== 'number' ||
      !Number.isInteger(blockPages) ||
      blockPages < 1 ||
      (blockVpn as number) + blockPages > PN_LIMIT
    ) {
      throw new InvalidArgumentError(
        'blockPages',
        blockPages,
        'a positive integer page count ending below 2^52',
      );
    }
    throw new InvalidArgumentError(
      'block',
      `${blockVpn}+${blockPages}`,
      `a block that contains vpn ${vpn as number}`,
    );
  }

  private drop(i: number): void {
    if (this.vpn[i] === -1) return;
    if (this.blockPages[i]! > 1) this.largeEntries--;
    this.vpn[i] = -1;
    this.invalidations++;
  }

  private matches(i: number, asid: number, allAsids: boolean, includeGlobal: boolean): boolean {
    if (this.global[i] === 1) return includeGlobal;
    return allAsids || this.asid[i] === asid;
  }

  /**
   * Drops every entry that translates `vpn` (whole blocks included) and matches:
   * entries of `asid` (or of any ASID when `allAsids`), and global entries when `includeGlobal`.
   * @throws InvalidArgumentError for a `vpn` that is not a page number, an ASID that is not a
   *   32-bit integer or flags that are not booleans.
   */
  invalidatePage(vpn: number, asid: number, allAsids: boolean, includeGlobal: boolean): void {
    checkPn('vpn', vpn);
    checkAsid(asid);
    checkBool('allAsids', allAsids);
    checkBool('includeGlobal', includeGlobal);
    const i = (vpn >>> 0) & this.mask;
    if (this.vpn[i] === vpn && this.matches(i, asid, allAsids, includeGlobal)) this.drop(i);
    if (this.largeEntries > 0) {
      for (let j = 0; j < this.size; j++) {
        const b = this.blockVpn[j]!;
        if (
          this.vpn[j] !== -1 &&
          this.blockPages[j]! > 1 &&
          vpn >= b &&
          vpn < b + this.blockPages[j]! &&
          this.matches(j, asid, allAsids, includeGlobal)
        ) {
          this.drop(j);
        }
      }
    }
  }

  /**
   * Drops every non-global entry of `asid`.
   * @throws InvalidArgumentError unless `asid` is a 32-bit integer.
   */
  invalidateAsid(asid: number): void {
    checkAsid(asid);
    for (let i = 0; i < this.size; i++) if (this.global[i] === 0 && this.asid[i] === asid) this.drop(i);
  }

  /** Drops every non-global entry of every ASID. */
  invalidateNonGlobal(): void {
    for (let i = 0; i < this.size; i++) if (this.global[i] === 0) this.drop(i);
  }

  /** Drops everything. */
  invalidateAll(): void {
    for (let i = 0; i < this.size; i++) this.drop(i);
  }

  /** Number of valid entries. */
  get occupancy(): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if (this.vpn[i] !== -1) n++;
    return n;
  }
}
