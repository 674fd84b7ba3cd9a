/**
 * The page allocator's block index (part of {@link PageAllocator}, see `page-allocator.ts`) and
 * the contiguous-run search of {@link PageAllocator.allocContiguous}.
 *
 * Frames are grouped in blocks of 512 frames aligned on physical frame numbers (2 MiB of RAM:
 * an L2 block, a PMD; `frame-table.ts` lays the table out so that `index >>> 9` is the block).
 * Per block the index keeps its free-frame count (`Uint16Array`), an upper bound of its longest
 * free run (`Uint16Array`, reset to 512 when a frame of the block is freed, tightened when a
 * search scans the block) and one bit in a bitmap of fully free blocks: ≈ 0.008 bytes per frame.
 *
 * ```
 *  blocks        |← 512 frames →|← 512 →|…                 free count, longest-run bound, "fully free" bit
 * ```
 *
 * The search, with B = blocks in the pool:
 * - alignment ≥ 512 frames (2 MiB, 4 MiB, 1 GiB leaves): only block-aligned candidates are
 *   considered; the search jumps from one fully free block to the next through the bitmap (32
 *   blocks per word), checks the run's whole blocks there the same way, and a failed candidate
 *   skips past the block that failed: O(B / 32 + fully free blocks tried), plus ≤ 128 word reads
 *   for the partial block at the end of a run whose length is not a multiple of 512 (a run of
 *   fewer than 512 frames tries every aligned block: O(B / alignment-in-blocks));
 * - runs of ≤ 512 frames with a smaller alignment (e.g. a 16-frame contiguous-hint group): first
 *   fit inside one partially free block (preferred, so fully free blocks stay whole for huge
 *   pages): O(B) counter reads, skipping every block whose free count or longest-run bound is too
 *   small; a scanned block costs ≤ 128 word reads and remembers its longest run until one of its
 *   frames is freed. Then the first fully free block (O(B / 32)).
 * - otherwise (no block is fully free and no single block holds the run, or a run of more than
 *   512 frames with an alignment below 512): a first-fit scan for runs that cross block
 *   boundaries; it skips full and empty blocks in O(1) and reads each frame of a partially free
 *   block at most once per call (worst case O(frames / 4) word reads).
 *
 * A run never crosses the boundary between two pool segments (ranges that are not physically
 * adjacent). Nothing here is API: the allocator updates the counters on every alloc and free.
 */
import { BLOCK, BLOCK_SHIFT, FREE, type FrameTable } from './frame-table.js';

/** Smallest `i' ≥ i` with `i' + delta` a multiple of `align` (non-negative operands). */
function alignUpTo(i: number, delta: number, align: number): number {
  return i + ((align - ((i + delta) % align)) % align);
}

/** Index of the lowest set bit of a non-zero 32-bit value. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** @internal See the module documentation. */
export class BlockIndex {
  /** Per block: free frames. */
  readonly blockFree: Uint16Array;
  /** Per block: an upper bound of its longest run of free frames. */
  readonly blockRun: Uint16Array;
  /** One bit per block: all 512 frames are free. */
  readonly fullBits: Uint32Array;
  readonly blockCount: number;
  /** Fully free blocks. */
  fullBlocks = 0;

  /** Counts the free frames of `table` (whose free list is built) per block. */
  constructor(private readonly table: FrameTable) {
    const state = table.state;
    this.blockCount = state.length / BLOCK;
    this.blockFree = new Uint16Array(this.blockCount);
    this.blockRun = new Uint16Array(this.blockCount).fill(BLOCK);
    this.fullBits = new Uint32Array(Math.ceil(this.blockCount / 32));
    for (let i = 0; i < state.length; i++) if (state[i] === FREE) this.blockFree[i >>> BLOCK_SHIFT]!++;
    for (let b = 0; b < this.blockCount; b++) if (this.blockFree[b] === BLOCK) this.setFull(b);
  }

  setFull(b: number): void {
    this.fullBits[b >>> 5] = this.fullBits[b >>> 5]! | (1 << (b & 31));
    this.fullBlocks++;
  }

  clearFull(b: number): void {
    this.fullBits[b >>> 5] = this.fullBits[b >>> 5]! & ~(1 << (b & 31));
    this.fullBlocks--;
  }

  /** Table index of the first frame of a free run of `pages` frames aligned to `align` frames, or -1. */
  findRun(pages: number, align: number): number {
    if (align >= BLOCK) return this.findBlockAligned(pages, align);
    if (pages <= BLOCK) {
      const inPartial = this.findInPartialBlocks(pages, align);
      if (inPartial >= 0) return inPartial;
      // A fully free block holds any run of ≤ 512 frames at its start (align divides 512).
      const full = this.nextFull(0, this.blockCount);
      if (full >= 0) return full * BLOCK;
    }
    return this.findAnywhere(pages, align);
  }

  /** Runs aligned to a multiple of 512 frames: block-aligned candidates, whole blocks from the bitmap. */
  private findBlockAligned(pages: number, align: number): number {
    const t = this.table;
    const alignBlocks = align / BLOCK;
    const whole = Math.floor(pages / BLOCK);
    const rest = pages % BLOCK;
    const need = whole + (rest > 0 ? 1 : 0);
    if (whole > this.fullBlocks) return -1;
    for (let s = 0; s < t.segStart.length; s++) {
      const base = t.segBase[s]!;
      const lo = Math.floor(base / BLOCK);
      const hi = Math.ceil((base + t.segFrames[s]!) / BLOCK);
      // Physical block number of table block b is b + delta (segments start congruent mod 512).
      const delta = (t.segStart[s]! - base) / BLOCK;
      let cand = alignUpTo(lo, delta, alignBlocks);
      while (cand + need <= hi) {
        if (whole > 0) {
          // Jump to the next fully free block (32 blocks per bitmap word), then align up.
          const full = this.nextFull(cand, hi);
          if (full < 0) break;
          if (full > cand) {
            cand = alignUpTo(full, delta, alignBlocks);
            continue;
          }
          const notFull = this.firstNotFull(cand, cand + whole);
          if (notFull >= 0) {
            cand = alignUpTo(notFull + 1, delta, alignBlocks);
            continue;
          }
        }
        if (rest > 0 && !this.prefixFree(cand + whole, rest)) {
          cand += alignBlocks;
          continue;
        }
        return cand * BLOCK;
      }
    }
    return -1;
  }

  /** First fit of a run of ≤ 512 frames (align ≤ 512) inside one partially free block, or -1. */
  private findInPartialBlocks(pages: number, align: number): number {
    const free = this.blockFree;
    const run = this.blockRun;
    for (let b = 0; b < this.blockCount; b++) {
      const f = free[b]!;
      if (f < pages || f === BLOCK || run[b]! < pages) continue;
      const i = this.scanBlock(b, pages, align);
      if (i >= 0) return i;
    }
    return -1;
  }

  /**
   * Looks for an aligned run of `pages` free frames inside block `b`. On failure records the
   * block's longest free run (so later searches skip it until one of its frames is freed).
   */
  private scanBlock(b: number, pages: number, align: number): number {
    const state = this.table.state;
    const words = this.table.stateWords;
    const start = b * BLOCK;
    const end = start + BLOCK;
    const mask = align - 1;
    let runStart = -1;
    let longest = 0;
    let j = start;
    while (j < end) {
      if ((j & 3) === 0 && words[j >>> 2] === 0) {
        if (runStart < 0) runStart = j;
        j += 4;
      } else if (state[j] === FREE) {
        if (runStart < 0) runStart = j;
        j++;
      } else {
        if (runStart >= 0) {
          if (j - runStart > longest) longest = j - runStart;
          runStart = -1;
        }
        j++;
        continue;
      }
      const p = (runStart + mask) & ~mask;
      if (p + pages <= j) return p;
    }
    if (runStart >= 0 && end - runStart > longest) longest = end - runStart;
    this.blockRun[b] = longest;
    return -1;
  }

  /** First-fit scan for any run (may cross block boundaries); skips full and empty blocks in O(1). */
  private findAnywhere(pages: number, align: number): number {
    const t = this.table;
    for (let s = 0; s < t.segStart.length; s++) {
      const lo = t.segBase[s]!;
      const hi = lo + t.segFrames[s]!;
      const delta = t.segStart[s]! - lo; // frame number = index + delta
      let pos = alignUpTo(lo, delta, align);
      while (pos + pages <= hi) {
        const busy = this.firstBusy(pos, pos + pages);
        if (busy < 0) return pos;
        const b = busy >>> BLOCK_SHIFT;
        pos = alignUpTo(this.blockFree[b] === 0 ? (b + 1) * BLOCK : busy + 1, delta, align);
      }
    }
    return -1;
  }

  /** First index in `[from, to)` whose frame is not free, or -1. */
  private firstBusy(from: number, to: number): number {
    const state = this.table.state;
    const words = this.table.stateWords;
    let j = from;
    while (j < to) {
      const b = j >>> BLOCK_SHIFT;
      const f = this.blockFree[b]!;
      if (f === BLOCK) {
        j = (b + 1) * BLOCK;
        continue;
      }
      if (f === 0) return j;
      const stop = Math.min(to, (b + 1) * BLOCK);
      while (j < stop) {
        if ((j & 3) === 0 && j + 4 <= stop && words[j >>> 2] === 0) j += 4;
        else if (state[j] === FREE) j++;
        else return j;
      }
    }
    return -1;
  }

  /** True if the first `n` frames of block `b` are free. */
  private prefixFree(b: number, n: number): boolean {
    const f = this.blockFree[b]!;
    if (f === BLOCK) return true;
    if (f < n) return false;
    const start = b * BLOCK;
    return this.firstBusy(start, start + n) < 0;
  }

  /** First block in `[from, to)` that is not fully free, or -1 (32 blocks per bitmap word). */
  private firstNotFull(from: number, to: number): number {
    let j = from;
    while (j < to) {
      const missing = ~this.fullBits[j >>> 5]! >>> (j & 31);
      if (missing === 0) {
        j = (j | 31) + 1;
        continue;
      }
      const k = j + ctz32(missing);
      return k < to ? k : -1;
    }
    return -1;
  }

  /** First fully free block in `[from, to)`, or -1. */
  private nextFull(from: number, to: number): number {
    if (this.fullBlocks === 0) return -1;
    let j = from;
    while (j < to) {
      const present = this.fullBits[j >>> 5]! >>> (j & 31);
      if (present === 0) {
        j = (j | 31) + 1;
        continue;
      }
      const k = j + ctz32(present);
      return k < to ? k : -1;
    }
    return -1;
  }

  /** See {@link PageAllocator.largestFreeRun}. */
  largestFreeRun(): number {
    const t = this.table;
    let best = 0;
    for (let s = 0; s < t.segStart.length; s++) {
      const lo = t.segBase[s]!;
      const hi = lo + t.segFrames[s]!;
      let run = 0;
      let j = lo;
      while (j < hi) {
        const b = j >>> BLOCK_SHIFT;
        const blockEnd = Math.min(hi, (b + 1) * BLOCK);
        const f = this.blockFree[b]!;
        if (f === BLOCK) {
          run += blockEnd - j;
          j = blockEnd;
        } else if (f === 0) {
          if (run > best) best = run;
          run = 0;
          j = blockEnd;
        } else {
          for (; j < blockEnd; j++) {
            if (t.state[j] === FREE) run++;
            else {
              if (run > best) best = run;
              run = 0;
            }
          }
        }
      }
      if (run > best) best = run;
    }
    return best;
  }
}
