/**
 * Sparse, frame-granular simulated RAM.
 *
 * Ownership and cost: a RAM frame that was never written reads as zeros and
 * has no backing store. The first write gives it a 4 KiB slot in a slab
 * (slabs are 1 MiB `ArrayBuffer`s, handed out in touch order), so host
 * memory grows by ≈4 KiB + 4 bytes per touched frame, plus one cached view
 * object (≈ 100 bytes, outside the host budget) per slot the first time a
 * frame in it is the source of {@link PhysicalMemory.copyFrame} (fork's
 * copy-on-write sources). `discardFrame()` returns a frame to the all-zero
 * state and recycles its slot (a recycled slot is zeroed when it is handed out
 * again, unless a whole-frame copy overwrites it); the page allocator uses it
 * to hand out zeroed pages in O(1).
 *
 * Nothing costs in proportion to the span of the address space or to the
 * amount of RAM that merely exists: a 4 PiB RAM range, or two ranges at 0 and
 * 2^47, construct in microseconds. The frame → slot index is a sparse radix
 * tree built only where frames were written:
 *
 * ```
 *  pfn (≤ 41 bits):  [ hi = pfn / 2^20 ][ chunk = bits 19..10 ][ frame = bits 9..0 ]
 *                          │                   │                     │
 *   Map<hi, mid> ──────────┘ mid: 1024 chunk refs (one per 4 MiB)    │
 *   (+ a one-entry cache of the last mid)      └─ chunk: Int32Array(1024) of slots
 *                                                   (≥ 0 slot, -1 untouched RAM, -2 not RAM)
 * ```
 *
 * A mid covers 4 GiB of physical space (8 KiB of host memory), a chunk 4 MiB
 * (4 KiB). Where no node exists, "is this RAM?" is a binary search over the
 * coalesced RAM extents. Host memory (slabs + index, {@link PhysicalMemory.hostBytes}
 * + {@link PhysicalMemory.indexBytes}) is capped by
 * {@link PhysicalMemoryOptions.maxHostBytes}; going beyond is a {@link HostLimitError},
 * never a process abort.
 *
 * Argument checking: every method validates its arguments and throws a typed
 * `MmError` (`InvalidArgumentError` for a non-address, a bad size or a value that
 * does not fit, `BusError` outside RAM and devices, `HostLimitError` beyond the
 * host budget). The hot paths (`read32`, `write32`, `readPair`, `readPairInFrame`)
 * check with a few number comparisons on the good path (`typeof`, an integrality
 * check folded into the address split, `(v >>> 0) === v`) and leave everything
 * else to the general path, which validates fully; no BigInt, no allocation.
 *
 * Accesses are little-endian. An access outside RAM goes to the MMIO window
 * that contains it (its device callback), or fails with a {@link BusError}.
 * Multi-byte RAM accesses must not cross a frame boundary unless done
 * through the bulk helpers (`readBytes`, `writeBytes`, `copy`, `fill`).
 */
import { type AddressInput, PAGE_SIZE, TWO_32 } from './address.js';
import { BusError, describeValue, HostLimitError, InvalidArgumentError } from './errors.js';

/** A device behind an MMIO window. Offsets are relative to the window base. */
export interface MmioDevice {
  /** A load of `sizeBytes` at `offset` into the window: the register's value (number or bigint). */
  read(offset: number, sizeBytes: 1 | 2 | 4 | 8): number | bigint;
  /** A store of `value` (`sizeBytes` wide) at `offset` into the window. */
  write(offset: number, sizeBytes: 1 | 2 | 4 | 8, value: number | bigint): void;
}

/** A half-open physical range with a name, as numbers (page aligned for RAM). */
export interface PhysicalRegion {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** An MMIO window; without a device, accesses to it are bus errors naming the window. */
export interface MmioWindow extends PhysicalRegion {
  readonly device?: MmioDevice;
}

/** Construction options of {@link PhysicalMemory}. */
export interface PhysicalMemoryOptions {
  /** RAM ranges (page aligned, non-overlapping). */
  readonly ram: readonly PhysicalRegion[];
  /** MMIO windows (may be unaligned; must not overlap RAM). */
  readonly mmio?: readonly MmioWindow[];
  /**
   * Ceiling on host memory for frame slabs plus the sparse index, in bytes (default
   * {@link DEFAULT_MAX_HOST_BYTES}, 8 GiB). A write that would need more throws a
   * {@link HostLimitError} instead of exhausting the host.
   */
  readonly maxHostBytes?: number;
}

/** Default {@link PhysicalMemoryOptions.maxHostBytes}: 8 GiB. */
export const DEFAULT_MAX_HOST_BYTES = 2 ** 33;
/** Longest `readBytes` / `copy` (they allocate a buffer of that size): 1 GiB. */
export const MAX_BULK_BYTES = 2 ** 30;

const CHUNK_SHIFT = 10; // 1024 frames = 4 MiB of RAM per index chunk
const CHUNK_FRAMES = 1 << CHUNK_SHIFT;
const MID_FRAMES = 2 ** 20; // 1024 chunks = 4 GiB of physical space per mid node
const SLAB_SHIFT = 8; // 256 frames = 1 MiB per slab
const SLAB_FRAMES = 1 << SLAB_SHIFT;
const SLAB_BYTES = SLAB_FRAMES * PAGE_SIZE;
/** A frame of zeros: the source that zeroes a recycled slot (a typed-array copy, no host call). */
const ZERO_FRAME = new Uint8Array(PAGE_SIZE);
const CHUNK_BYTES = CHUNK_FRAMES * 4; // Int32Array(1024)
const MID_BYTES = 1024 * 8; // 1024 references
const UNTOUCHED = -1;
const NOT_RAM = -2;
/** Physical addresses are numbers below 2^53 (exact in a double). */
const PA_LIMIT = 2 ** 53;

type Mid = (Int32Array | undefined)[];
const EMPTY_MID: Mid = new Array<Int32Array | undefined>(1024).fill(undefined);

/** Validates a physical address (safe non-negative number, or bigint below 2^53); returns it as a number. */
function toPa(value: unknown, what = 'physical address'): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
  } else if (typeof value === 'bigint') {
    if (value >= 0n && value < BigInt(PA_LIMIT)) return Number(value);
  }
  throw new InvalidArgumentError(
    what,
    value,
    'a non-negative safe-integer number or a bigint below 2^53 (physical addresses)',
  );
}

/** Validates a frame number. */
/** A 32-bit value as write32 takes it: an integer in [-2^31, 2^32). */
function isWord(w: unknown): w is number {
  return typeof w === 'number' && (w >>> 0 === w || (w | 0) === w);
}

function toPfn(value: unknown, what = 'frame number'): number {
  if (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= 0 &&
    value < PA_LIMIT / PAGE_SIZE
  ) {
    return value;
  }
  throw new InvalidArgumentError(what, value, 'a non-negative integer frame number below 2^41');
}

/** Checks that `buf` is a Uint8Array with a whole page from byte `offset`. */
function pageRoom(buf: unknown, offset: unknown, what: string): void {
  if (!(buf instanceof Uint8Array)) throw new InvalidArgumentError(what, buf, 'a Uint8Array');
  if (
    typeof offset !== 'number' ||
    !Number.isInteger(offset) ||
    offset < 0 ||
    offset + PAGE_SIZE > buf.length
  )
    throw new InvalidArgumentError(
      `${what} offset`,
      offset,
      `an integer from 0 to ${buf.length - PAGE_SIZE} (a whole page of the ${buf.length}-byte buffer)`,
    );
}

function toSize(value: unknown): 1 | 2 | 4 | 8 {
  if (value === 1 || value === 2 || value === 4 || value === 8) return value;
  throw new InvalidArgumentError('access size', value, '1, 2, 4 or 8 bytes');
}

function toLength(value: unknown, what: string, max: number): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max) return value;
  throw new InvalidArgumentError(what, value, `an integer byte count from 0 to ${max}`);
}

/**
 * 2^(8·size) for the access sizes below 8 (the bound of an unsigned value), 0 for anything else,
 * so `value < valueLimit(size)` fails for every other size. A constant per size: no `**` on the
 * store path.
 */
function valueLimit(size: unknown): number {
  return size === 1 ? 0x100 : size === 2 ? 0x1_0000 : size === 4 ? TWO_32 : 0;
}

/**
 * Validates a value to store in `size` bytes: an integer that fits either unsigned or as two's
 * complement (`[-2^(8·size-1), 2^(8·size))`); numbers must also be safe integers.
 */
function checkValue(size: 1 | 2 | 4 | 8, value: unknown): number | bigint {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) {
      if (size === 8) return value;
      const lim = valueLimit(size);
      if (value >= -lim / 2 && value < lim) return value;
    }
  } else if (typeof value === 'bigint') {
    const bits = BigInt(8 * size);
    if (value >= -(1n << (bits - 1n)) && value < 1n << bits) return value;
  }
  throw new InvalidArgumentError(
    `${size}-byte value`,
    value,
    `an integer in [-2^${8 * size - 1}, 2^${8 * size}) (unsigned, or two's complement), as a safe number or a bigint`,
  );
}

function regionName(r: unknown, i: number, kind: string): string {
  const name = typeof r === 'object' && r !== null ? (r as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? `${kind} ${name}` : `${kind} #${i}`;
}

function checkRegions(list: unknown, kind: string, pageAligned: boolean): PhysicalRegion[] {
  if (!Array.isArray(list)) throw new InvalidArgumentError(`${kind} list`, list, 'an array of regions');
  return list.map((r: unknown, i) => {
    const what = regionName(r, i, kind);
    if (typeof r !== 'object' || r === null) {
      throw new InvalidArgumentError(what, r, 'an object { name, start, end }');
    }
    const { name, start, end } = r as Partial<PhysicalRegion>;
    if (typeof name !== 'string') throw new InvalidArgumentError(`${what} name`, name, 'a string');
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      (start as number) < 0 ||
      (end as number) > PA_LIMIT ||
      (pageAligned && ((start as number) % PAGE_SIZE || (end as number) % PAGE_SIZE))
    ) {
      throw new InvalidArgumentError(
        what,
        `${describeValue(start)}..${describeValue(end)}`,
        pageAligned ? 'page-aligned safe integers' : 'safe integers in [0, 2^53]',
      );
    }
    return r as PhysicalRegion;
  });
}

/** Simulated physical memory of a board. See the module doc for the cost model. */
export class PhysicalMemory {
  /** RAM regions, sorted by start. */
  readonly ram: readonly PhysicalRegion[];
  /** MMIO windows, sorted by start. */
  readonly mmio: readonly MmioWindow[];
  /** First RAM frame number. */
  readonly basePfn: number;
  /** Frames from the first RAM frame to the end of the last RAM range (informational; nothing is sized by it). */
  readonly spanFrames: number;
  /** The host-memory ceiling (see {@link PhysicalMemoryOptions.maxHostBytes}). */
  readonly maxHostBytes: number;

  /** Sparse index: mid nodes by `pfn / 2^20`. */
  private readonly dir = new Map<number, Mid>();
  /** First frame of the cached mid node (`hi * 2^20`); -2^53 while nothing is cached. */
  private cacheBase = -2 * MID_FRAMES;
  /** The mid node of `cacheHi` (a shared empty node while nothing is cached, so the field is monomorphic). */
  private cacheMid: Mid = EMPTY_MID;
  private midCount = 0;
  private chunkCount = 0;
  /** Coalesced RAM extents in frames, sorted: [extStart[i], extEnd[i]). */
  private readonly extStart: Float64Array;
  private readonly extEnd: Float64Array;
  /** The RAM extent {@link extentOf} found last, [hitStart, hitEnd) in frames (empty at first). */
  private hitStart = 0;
  private hitEnd = 0;
  private readonly slabBytes: Uint8Array[] = [];
  private readonly slabWords: Uint32Array[] = [];
  /** The slabs' buffers (a view over one is made with `new`, not through the `buffer` getter, a host call). */
  private readonly slabBuffers: ArrayBuffer[] = [];
  /** Per slot, its 4096 bytes as a view, made the first time the slot is copied from (copyFrame). */
  private readonly slotViews: (Uint8Array | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private slotCount = 0;
  private touched = 0;

  /**
   * @throws InvalidArgumentError for options that are not an object, no RAM, a region that is not
   *   an object with a string `name` and page-aligned safe-integer `start < end ≤ 2^53`,
   *   overlapping RAM, an MMIO window over RAM or with a device lacking `read`/`write`, or a
   *   `maxHostBytes` that is not a positive safe integer. Costs O(number of regions), whatever
   *   their size.
   */
  constructor(options: PhysicalMemoryOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError(
        'PhysicalMemory options',
        options,
        'an object { ram, mmio?, maxHostBytes? }',
      );
    }
    const ram = checkRegions(options.ram, 'RAM region', true).sort((a, b) => a.start - b.start);
    if (ram.length === 0) throw new InvalidArgumentError('ram', '[]', 'at least one RAM region');
    let prevEnd = -1;
    for (const r of ram) {
      if (r.end <= r.start || r.start < prevEnd) {
        throw new InvalidArgumentError(
          `RAM region ${r.name}`,
          `${r.start}..${r.end}`,
          'a non-empty range not overlapping another',
        );
      }
      prevEnd = r.end;
    }
    const mmio = checkRegions(options.mmio ?? [], 'MMIO window', false).sort((a, b) => a.start - b.start);
    for (const w of mmio as MmioWindow[]) {
      if (w.end <= w.start) {
        throw new InvalidArgumentError(`MMIO window ${w.name}`, `${w.start}..${w.end}`, 'a non-empty range');
      }
      const dev: unknown = w.device;
      if (
        dev !== undefined &&
        (typeof dev !== 'object' ||
          dev === null ||
          typeof (dev as MmioDevice).read !== 'function' ||
          typeof (dev as MmioDevice).write !== 'function')
      ) {
        throw new InvalidArgumentError(
          `MMIO window ${w.name} device`,
          dev,
          'an object with read() and write()',
        );
      }
      if (ram.some((r) => w.start < r.end && r.start < w.end)) {
        throw new InvalidArgumentError(
          `MMIO window ${w.name}`,
          `${w.start}..${w.end}`,
          'a window that does not overlap RAM',
        );
      }
    }
    const max = options.maxHostBytes ?? DEFAULT_MAX_HOST_BYTES;
    if (typeof max !== 'number' || !Number.isSafeInteger(max) || max <= 0) {
      throw new InvalidArgumentError('maxHostBytes', max, 'a positive safe integer (bytes)');
    }
    this.maxHostBytes = max;
    this.ram = ram;
    this.mmio = mmio;
    const first = ram[0]!;
    const last = ram[ram.length - 1]!;
    this.basePfn = first.start / PAGE_SIZE;
    this.spanFrames = (last.end - first.start) / PAGE_SIZE;
    const starts: number[] = [];
    const ends: number[] = [];
    for (const r of ram) {
      const s = r.start / PAGE_SIZE;
      const e = r.end / PAGE_SIZE;
      if (ends.length > 0 && ends[ends.length - 1] === s) ends[ends.length - 1] = e;
      else {
        starts.push(s);
        ends.push(e);
      }
    }
    this.extStart = Float64Array.from(starts);
    this.extEnd = Float64Array.from(ends);
  }

  /** Total RAM in bytes. */
  get ramBytes(): number {
    let n = 0;
    for (const r of this.ram) n += r.end - r.start;
    return n;
  }

  /** Number of frames that currently have backing store. */
  get touchedFrames(): number {
    return this.touched;
  }

  /** Host bytes held by frame slabs (including recycled, unused slots). */
  get hostBytes(): number {
    return this.slabBytes.length * SLAB_BYTES;
  }

  /**
   * Host bytes held by the sparse frame index (4 KiB per 4 MiB chunk that holds a touched
   * frame, 8 KiB per 4 GiB of physical space that does). Never grows with untouched RAM.
   */
  get indexBytes(): number {
    return this.chunkCount * CHUNK_BYTES + this.midCount * MID_BYTES;
  }

  /** Index of the RAM extent containing frame `pfn`, or -1. Binary search over the extents. */
  private extentOf(pfn: number): number {
    if (!(pfn >= 0)) return -1; // negative or NaN
    const s = this.extStart;
    const e = this.extEnd;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const m = (lo + hi) >>> 1;
      if (pfn < s[m]!) hi = m - 1;
      else if (pfn >= e[m]!) lo = m + 1;
      else {
        this.hitStart = s[m]!;
        this.hitEnd = e[m]!;
        return m;
      }
    }
    return -1;
  }

  /**
   * True if frame `pfn` is RAM.
   * @throws InvalidArgumentError unless `pfn` is a non-negative integer frame number below 2^41.
   */
  isRamFrame(pfn: number): boolean {
    return this.extentOf(toPfn(pfn)) >= 0;
  }

  /**
   * True if the byte at `pa` is RAM.
   * @throws InvalidArgumentError unless `pa` is a physical address (safe number or bigint < 2^53).
   */
  isRam(pa: AddressInput): boolean {
    return this.extentOf(Math.floor(toPa(pa) / PAGE_SIZE)) >= 0;
  }

  /**
   * The MMIO window containing `pa`, if any.
   * @throws InvalidArgumentError unless `pa` is a physical address.
   */
  mmioAt(pa: AddressInput): MmioWindow | undefined {
    const p = toPa(pa);
    for (const w of this.mmio) if (p >= w.start && p < w.end) return w;
    return undefined;
  }

  /**
   * True if frame `pfn` has backing store (was written and not discarded).
   * @throws InvalidArgumentError unless `pfn` is a frame number.
   */
  isTouched(pfn: number): boolean {
    return this.slotOf(toPfn(pfn)) >= 0;
  }

  /**
   * Returns frame `pfn` to the all-zero state and releases its host memory.
   * @throws InvalidArgumentError unless `pfn` is a frame number; BusError if it is not RAM.
   */
  discardFrame(pfn: number): void {
    // Fast path (the allocator discards on every alloc and free): an integer frame in the cached
    // mid node, answered by its chunk, or, where no chunk was built, by the last RAM extent found.
    if (typeof pfn === 'number') {
      const rel = pfn - this.cacheBase;
      if (rel >= 0 && rel < MID_FRAMES && (rel | 0) === rel) {
        const chunk = this.cacheMid[rel >>> CHUNK_SHIFT];
        if (chunk !== undefined) {
          const i = rel & (CHUNK_FRAMES - 1);
          const slot = chunk[i]!;
          if (slot >= 0) {
            this.release(chunk, i, slot);
            return;
          }
          if (slot === UNTOUCHED) return;
        } else if (pfn >= this.hitStart && pfn < this.hitEnd) return; // untouched RAM
      }
    }
    const f = toPfn(pfn);
    const slot = this.slotOf(f);
    if (slot === NOT_RAM) throw new BusError(f * PAGE_SIZE, PAGE_SIZE, 'discard of a frame that is not RAM');
    if (slot >= 0) this.discard(f);
  }

  private discard(pfn: number): void {
    const chunk = this.chunkOf(pfn);
    if (chunk === undefined) return;
    const i = pfn & (CHUNK_FRAMES - 1);
    const slot = chunk[i]!;
    if (slot >= 0) this.release(chunk, i, slot);
  }

  /**
   * Marks the frame of entry `i` of `chunk` untouched and recycles its slot `slot`. The slot keeps
   * its bytes: {@link takeSlot} zeroes a recycled slot when it is handed out, unless the whole
   * frame is about to be overwritten (a copy, a swap-in) — an exit then zeroes nothing.
   */
  private release(chunk: Int32Array, i: number, slot: number): void {
    chunk[i] = UNTOUCHED;
    this.releases++; // readPairInFrame's memos may name this frame: all end
    this.freeSlots.push(slot);
    this.touched--;
  }

  /**
   * A slot for a frame getting backing store: a recycled one (zeroed unless `whole`: the caller
   * overwrites all 4096 bytes before anything reads them), else a new one (a new slab is zeros).
   */
  private takeSlot(whole: boolean): number {
    const slot = this.freeSlots.pop();
    if (slot === undefined) return this.newSlot();
    if (!whole) this.slabBytes[slot >>> SLAB_SHIFT]!.set(ZERO_FRAME, (slot & (SLAB_FRAMES - 1)) << 12);
    return slot;
  }

  /** The index chunk holding integer frame `pfn`, if one was built. */
  private chunkOf(pfn: number): Int32Array | undefined {
    const rel = pfn - this.cacheBase;
    if (rel >= 0 && rel < MID_FRAMES) return this.cacheMid[rel >>> CHUNK_SHIFT];
    return this.midAt(pfn)[(pfn >>> CHUNK_SHIFT) & 1023];
  }

  /** The mid node holding frame `pfn` (now cached), or the shared empty node. */
  private midAt(pfn: number): Mid {
    const hi = Math.floor(pfn / MID_FRAMES);
    const mid = this.dir.get(hi) ?? EMPTY_MID;
    // Cached even when empty (nothing written there yet): the next lookups in this 4 GiB skip the
    // map. materializeSlow() replaces the cache when it creates the node.
    this.cacheBase = hi * MID_FRAMES;
    this.cacheMid = mid;
    return mid;
  }

  /** Slot of integer frame `pfn`: ≥ 0, -1 if untouched RAM, -2 if not RAM. Hot path. */
  private slotOf(pfn: number): number {
    const rel = pfn - this.cacheBase;
    if (rel >= 0 && rel < MID_FRAMES) {
      const chunk = this.cacheMid[rel >>> CHUNK_SHIFT];
      if (chunk !== undefined) return chunk[rel & (CHUNK_FRAMES - 1)]!;
    }
    return this.slotSlow(pfn);
  }

  /** {@link slotOf} outside the cached mid node: the map, then the extents (kept out of the hot path). */
  private slotSlow(pfn: number): number {
    const rel = pfn - this.cacheBase;
    // Inside the cached mid node with no chunk there: untouched RAM or a hole, no map lookup (and
    // no search when the frame lies in the last RAM extent found).
    if (rel >= 0 && rel < MID_FRAMES) {
      if (pfn >= this.hitStart && pfn < this.hitEnd) return UNTOUCHED;
      return this.extentOf(pfn) >= 0 ? UNTOUCHED : NOT_RAM;
    }
    if (pfn >= 0) {
      const chunk = this.midAt(pfn)[(pfn >>> CHUNK_SHIFT) & 1023];
      if (chunk !== undefined) return chunk[pfn & (CHUNK_FRAMES - 1)]!;
    }
    return this.extentOf(pfn) >= 0 ? UNTOUCHED : NOT_RAM;
  }

  /** Throws a HostLimitError unless `bytes` more host memory fit under the ceiling. */
  private charge(bytes: number, what: string): void {
    const inUse = this.hostBytes + this.indexBytes;
    if (inUse + bytes > this.maxHostBytes) throw new HostLimitError(what, bytes, inUse, this.maxHostBytes);
  }

  /**
   * Checks up front that giving backing store to every untouched RAM frame in `[startPfn, endPfn)`
   * fits the host budget, so a bulk write either fits or changes nothing.
   */
  private reserve(startPfn: number, endPfn: number, what: string): void {
    const frames = endPfn - startPfn;
    const free = this.freeSlots.length + ((SLAB_FRAMES - (this.slotCount & (SLAB_FRAMES - 1))) % SLAB_FRAMES);
    // Upper bound: every frame new, each chunk and mid new, slabs rounded up.
    const chunks = Math.floor((endPfn - 1) / CHUNK_FRAMES) - Math.floor(startPfn / CHUNK_FRAMES) + 1;
    const mids = Math.floor((endPfn - 1) / MID_FRAMES) - Math.floor(startPfn / MID_FRAMES) + 1;
    const bound =
      Math.ceil(Math.max(0, frames - free) / SLAB_FRAMES) * SLAB_BYTES +
      chunks * CHUNK_BYTES +
      mids * MID_BYTES;
    if (this.hostBytes + this.indexBytes + bound <= this.maxHostBytes) return;
    // Exact count, only when the range could fit at all (bounded by the budget in frames).
    if (frames - this.touched > this.maxHostBytes / PAGE_SIZE) {
      throw new HostLimitError(
        what,
        (frames - this.touched) * PAGE_SIZE,
        this.hostBytes + this.indexBytes,
        this.maxHostBytes,
      );
    }
    let fresh = 0;
    for (let f = startPfn; f < endPfn; f++) if (this.slotOf(f) === UNTOUCHED) fresh++;
    const need =
      Math.ceil(Math.max(0, fresh - free) / SLAB_FRAMES) * SLAB_BYTES +
      chunks * CHUNK_BYTES +
      mids * MID_BYTES;
    this.charge(need, what);
  }

  /** Gives RAM frame `pfn` backing store (if it has none) and returns its slot. */
  private materialize(pfn: number, whole = false): number {
    // Fast path: the frame's chunk exists in the cached mid node (first writes to fresh frames,
    // e.g. demand faults, land here); anything else goes through the map.
    const rel = pfn - this.cacheBase;
    if (rel >= 0 && rel < MID_FRAMES) {
      const chunk = this.cacheMid[rel >>> CHUNK_SHIFT];
      if (chunk !== undefined) {
        const i = pfn & (CHUNK_FRAMES - 1);
        const slot = chunk[i]!;
        if (slot >= 0) return slot;
        if (slot === UNTOUCHED) {
          const fresh = this.takeSlot(whole);
          chunk[i] = fresh;
          this.touched++;
          return fresh;
        }
      }
    }
    return this.materializeSlow(pfn, whole);
  }

  private materializeSlow(pfn: number, whole: boolean): number {
    const hi = Math.floor(pfn / MID_FRAMES);
    let mid = this.dir.get(hi);
    if (mid === undefined) {
      this.charge(MID_BYTES, 'sparse memory index');
      mid = new Array<Int32Array | undefined>(1024).fill(undefined);
      this.dir.set(hi, mid);
      this.cacheBase = hi * MID_FRAMES;
      this.cacheMid = mid;
      this.midCount++;
    }
    const c = (pfn >>> CHUNK_SHIFT) & 1023;
    let chunk = mid[c];
    if (chunk === undefined) {
      this.charge(CHUNK_BYTES, 'sparse memory index');
      chunk = new Int32Array(CHUNK_FRAMES).fill(UNTOUCHED);
      const first = pfn - (pfn & (CHUNK_FRAMES - 1));
      const x = this.extentOf(first);
      if (x < 0 || this.extEnd[x]! < first + CHUNK_FRAMES) {
        // A chunk that is only partly RAM: its holes stay "not RAM" (-2), so device windows and
        // bus errors in them keep working after a neighbouring RAM frame was written.
        for (let i = 0; i < CHUNK_FRAMES; i++) if (this.extentOf(first + i) < 0) chunk[i] = NOT_RAM;
      }
      mid[c] = chunk;
      this.chunkCount++;
    }
    const i = pfn & (CHUNK_FRAMES - 1);
    let slot = chunk[i]!;
    if (slot >= 0) return slot;
    slot = this.takeSlot(whole);
    chunk[i] = slot;
    this.touched++;
    return slot;
  }

  private newSlot(): number {
    const slot = this.slotCount;
    if ((slot & (SLAB_FRAMES - 1)) === 0) {
      this.charge(SLAB_BYTES, 'frame slab');
      let buf: ArrayBuffer;
      try {
        buf = new ArrayBuffer(SLAB_BYTES);
      } catch (cause) {
        const e = new HostLimitError(
          'frame slab (host refused the allocation)',
          SLAB_BYTES,
          this.hostBytes,
          this.maxHostBytes,
        );
        (e as { cause?: unknown }).cause = cause;
        throw e;
      }
      this.slabBuffers.push(buf);
      this.slabBytes.push(new Uint8Array(buf));
      this.slabWords.push(new Uint32Array(buf));
      for (let i = 0; i < SLAB_FRAMES; i++) this.slotViews.push(undefined);
    }
    this.slotCount++;
    return slot;
  }

  private busError(pa: number, size: number): never {
    let w: MmioWindow | undefined;
    for (const x of this.mmio) if (pa >= x.start && pa < x.end) w = x;
    throw new BusError(
      pa,
      size,
      w ? `MMIO window ${w.name} has no device attached` : 'no RAM or device at this address',
    );
  }

  private device(pa: number, size: number): { dev: MmioDevice; off: number } | undefined {
    for (const w of this.mmio) {
      if (pa >= w.start && pa < w.end)
        return w.device && pa + size <= w.end ? { dev: w.device, off: pa - w.start } : undefined;
    }
    return undefined;
  }

  /**
   * Reads a 32-bit little-endian word. Aligned reads are the walker's hot path; an unaligned read
   * inside one frame works too (through {@link readN}).
   *
   * Validation: the fast path runs only for a number whose split into frame and offset is exact
   * (so only for an integer); anything else (bigint, garbage, an address outside touched RAM)
   * takes {@link readN}, which validates fully.
   * @throws InvalidArgumentError for a `pa` that is not a physical address; BusError outside RAM
   *   (unless a device answers).
   */
  read32(pa: AddressInput): number {
    if (typeof pa === 'number') {
      // `&` sees the low 32 bits of an integer exactly, so `pfn` is an integer exactly when `pa`
      // is one (a fraction, NaN or ±Infinity fails `(rel | 0) === rel` or the range test).
      const off = pa & 0xfff;
      const rel = (pa - off) / PAGE_SIZE - this.cacheBase;
      if (rel >= 0 && rel < MID_FRAMES && (rel | 0) === rel && (off & 3) === 0) {
        const chunk = this.cacheMid[rel >>> CHUNK_SHIFT];
        if (chunk !== undefined) {
          const slot = chunk[rel & (CHUNK_FRAMES - 1)]!;
          if (slot >= 0)
            return this.slabWords[slot >>> SLAB_SHIFT]![((slot & (SLAB_FRAMES - 1)) << 10) | (off >>> 2)]!;
          if (slot === UNTOUCHED) return 0;
        }
      }
    }
    // Unaligned inside a frame, crossing a frame, MMIO, nothing, or not an address: the general path decides.
    return this.readN(pa, 4) as number;
  }

  /**
   * Writes a 32-bit little-endian word (aligned: fast path; unaligned inside one frame: {@link writeN}).
   * `value` may be unsigned or signed 32-bit (as `|` yields it); writing 0 to an untouched frame
   * keeps it untouched.
   *
   * Validation on the fast path is `typeof` plus `(value >>> 0) === value || (value | 0) === value`
   * and the exact frame/offset split of `pa`; every other case goes to {@link writeN}, which
   * validates fully (so `1.5`, `2 ** 32`, `NaN` are refused whether or not they cross a frame).
   * @throws InvalidArgumentError for a bad `pa` or a value that is not a 32-bit integer; BusError
   *   outside RAM (unless a device answers); HostLimitError if the frame cannot get backing store.
   */
  write32(pa: AddressInput, value: number): void {
    if (typeof pa === 'number' && typeof value === 'number') {
      const v = value >>> 0;
      const off = pa & 0xfff; // see read32
      const rel = (pa - off) / PAGE_SIZE - this.cacheBase;
      if (
        rel >= 0 &&
        rel < MID_FRAMES &&
        (rel | 0) === rel &&
        (off & 3) === 0 &&
        (v === value || (value | 0) === value)
      ) {
        const chunk = this.cacheMid[rel >>> CHUNK_SHIFT];
        if (chunk !== undefined) {
          const slot = chunk[rel & (CHUNK_FRAMES - 1)]!;
          if (slot >= 0) {
            this.slabWords[slot >>> SLAB_SHIFT]![((slot & (SLAB_FRAMES - 1)) << 10) | (off >>> 2)] = v;
            return;
          }
          if (slot === UNTOUCHED && v === 0) return; // stays zero, no backing needed
        }
      }
    }
    // Unaligned inside a frame, crossing a frame (nothing is materialized then), MMIO, nothing or garbage.
    this.writeN(pa, 4, value);
  }

  /** High 32 bits of the value read by the last {@link readPair}. */
  pairHi = 0;

  // readPairInFrame's memos, one per hint: a frame, its slab's words and its first word, valid
  // while no frame has been released since (`releases`, bumped by release()).
  private readonly memoPfn = new Float64Array(8).fill(-1);
  private readonly memoEpoch = new Float64Array(8).fill(-1);
  private readonly memoBase = new Int32Array(8);
  private readonly memoWords: Uint32Array[] = new Array<Uint32Array>(8).fill(new Uint32Array(0));
  private releases = 0;

  /**
   * The word index of `byteOffset` in frame `pfn` when memo `h` (`hint & 7`, or -1) names that
   * frame and the arguments pass the fast path's checks, else -1.
   */
  private memoIndex(pfn: number, byteOffset: number, hint: number, h: number, align = 0xff8): number {
    if (
      pfn === this.memoPfn[h] &&
      this.memoEpoch[h] === this.releases &&
      typeof byteOffset === 'number' &&
      (byteOffset & align) === byteOffset &&
      h === hint
    )
      return this.memoBase[h]! | (byteOffset >>> 2);
    return -1;
  }

  /**
   * Points memo `h` at frame `pfn` when the frame has backing store in the cached mid node (an
   * integer frame: `(rel | 0) === rel`); returns the memo's first word, or -1 (memo unchanged).
   */
  private memoFill(pfn: number, h: number): number {
    const rel = pfn - this.cacheBase;
    if (rel >= 0 && rel < MID_FRAMES && (rel | 0) === rel) {
      const chunk = this.cacheMid[rel >>> CHUNK_SHIFT];
      if (chunk !== undefined) {
        const slot = chunk[rel & (CHUNK_FRAMES - 1)]!;
        if (slot >= 0) {
          const base = (slot & (SLAB_FRAMES - 1)) << 10;
          this.memoPfn[h] = pfn;
          this.memoEpoch[h] = this.releases;
          this.memoWords[h] = this.slabWords[slot >>> SLAB_SHIFT]!;
          this.memoBase[h] = base;
          return base;
        }
      }
    }
    return -1;
  }

  /**
   * Like {@link readPair} for the 8-byte-aligned `byteOffset` inside frame `pfn`: no address
   * division on the walker's dependency chain. Returns the low word; the high word is in {@link pairHi}.
   *
   * `hint` (0–7, default 0) names a one-frame memo: a walker passes the table level, so the four
   * or five tables of one walk each keep their frame's backing words and the next walk through
   * the same tables skips the index look-up (two walks per copy-on-write fault, through the same
   * tables). A memo lasts until any frame loses its backing store ({@link discardFrame} and the
   * paths that release a frame); writes go to the same words, so a memo never reads stale data.
   *
   * Validation on the fast path: `(byteOffset & 0xff8) === byteOffset` and `Math.floor(pfn) === pfn`;
   * anything else is checked fully on the slow path.
   * @throws InvalidArgumentError unless `pfn` is a frame number, `byteOffset` a multiple of 8
   *   in [0, 4096) and `hint` an integer in [0, 7]; BusError outside RAM (unless a device answers).
   */
  readPairInFrame(pfn: number, byteOffset: number, hint = 0): number {
    const h = typeof hint === 'number' ? hint & 7 : -1; // -1: no memo, refused below
    const m = this.memoIndex(pfn, byteOffset, hint, h);
    if (m >= 0) {
      const words = this.memoWords[h]!;
      this.pairHi = words[m + 1]!;
      return words[m]!;
    }
    if (
      typeof pfn === 'number' &&
      typeof byteOffset === 'number' &&
      (byteOffset & 0xff8) === byteOffset &&
      h === hint
    ) {
      const base = this.memoFill(pfn, h);
      if (base >= 0) {
        const words = this.memoWords[h]!;
        const i = base | (byteOffset >>> 2);
        this.pairHi = words[i + 1]!;
        return words[i]!;
      }
    }
    if (hint !== h) throw new InvalidArgumentError('memo hint', hint, 'an integer in [0, 7]');
    const f = toPfn(pfn);
    if (typeof byteOffset !== 'number' || (byteOffset & 0xff8) !== byteOffset) {
      throw new InvalidArgumentError('byte offset', byteOffset, 'a multiple of 8 in [0, 4096)');
    }
    return this.readPair(f * PAGE_SIZE + byteOffset);
  }

  /**
   * {@link read32} for the 4-byte-aligned `byteOffset` inside frame `pfn`, through the memo `hint`
   * of {@link readPairInFrame} (the same memos): the walker of a format with 4-byte descriptors
   * (32-bit x86) reads its two tables without an index look-up per level.
   * @throws InvalidArgumentError unless `pfn` is a frame number, `byteOffset` a multiple of 4
   *   in [0, 4096) and `hint` an integer in [0, 7]; BusError outside RAM (unless a device answers).
   */
  read32InFrame(pfn: number, byteOffset: number, hint = 0): number {
    const h = typeof hint === 'number' ? hint & 7 : -1; // -1: no memo, refused below
    const m = this.memoIndex(pfn, byteOffset, hint, h, 0xffc);
    if (m >= 0) return this.memoWords[h]![m]!;
    if (
      typeof pfn === 'number' &&
      typeof byteOffset === 'number' &&
      (byteOffset & 0xffc) === byteOffset &&
      h === hint
    ) {
      const base = this.memoFill(pfn, h);
      if (base >= 0) return this.memoWords[h]![base | (byteOffset >>> 2)]!;
    }
    if (hint !== h) throw new InvalidArgumentError('memo hint', hint, 'an integer in [0, 7]');
    const f = toPfn(pfn);
    if (typeof byteOffset !== 'number' || (byteOffset & 0xffc) !== byteOffset) {
      throw new InvalidArgumentError('byte offset', byteOffset, 'a multiple of 4 in [0, 4096)');
    }
    return this.read32(f * PAGE_SIZE + byteOffset);
  }

  /**
   * Writes the 64-bit little-endian value `hi:lo` at the 8-byte-aligned `byteOffset` inside frame
   * `pfn` (the low word first in memory), through {@link readPairInFrame}'s memo `hint`: the
   * fault handler rewriting the leaf descriptor its walk just read costs no index look-up.
   * Each word is a 32-bit value as {@link write32} takes it (an integer in [-2^31, 2^32)); both
   * are checked before either is written.
   * @throws InvalidArgumentError unless `pfn` is a frame number, `byteOffset` a multiple of 8 in
   *   [0, 4096), `lo` and `hi` 32-bit values and `hint` an integer in [0, 7]; BusError outside
   *   RAM (unless a device answers); HostLimitError if the frame cannot get backing store.
   */
  writePairInFrame(pfn: number, byteOffset: number, lo: number, hi: number, hint = 0): void {
    const h = typeof hint === 'number' ? hint & 7 : -1; // -1: no memo, refused below
    const m = this.memoIndex(pfn, byteOffset, hint, h);
    if (m >= 0 && isWord(lo) && isWord(hi)) {
      const words = this.memoWords[h]!;
      words[m] = lo;
      words[m + 1] = hi;
      return;
    }
    const f = toPfn(pfn);
    if (typeof byteOffset !== 'number' || (byteOffset & 0xff8) !== byteOffset) {
      throw new InvalidArgumentError('byte offset', byteOffset, 'a multiple of 8 in [0, 4096)');
    }
    if (!isWord(lo))
      throw new InvalidArgumentError('low word', lo, 'a 32-bit value (an integer in [-2^31, 2^32))');
    if (!isWord(hi))
      throw new InvalidArgumentError('high word', hi, 'a 32-bit value (an integer in [-2^31, 2^32))');
    if (h !== hint) throw new InvalidArgumentError('memo hint', hint, 'an integer in [0, 7]');
    const pa = f * PAGE_SIZE + byteOffset;
    this.write32(pa, lo);
    this.write32(pa + 4, hi);
  }

  /**
   * Reads the 64-bit little-endian value at `pa` with one frame lookup (the walker's hot path):
   * returns the low 32 bits and leaves the high 32 bits in {@link pairHi}. No allocation.
   * @throws InvalidArgumentError for a bad `pa`; BusError outside RAM (unless a device answers).
   */
  readPair(pa: AddressInput): number {
    if (typeof pa === 'number') {
      const off = pa & 0xfff; // see read32
      const pfn = (pa - off) / PAGE_SIZE;
      if ((off & 7) === 0 && Math.floor(pfn) === pfn) {
        const slot = this.slotOf(pfn);
        if (slot >= 0) {
          const words = this.slabWords[slot >>> SLAB_SHIFT]!;
          const i = ((slot & (SLAB_FRAMES - 1)) << 10) | (off >>> 2);
          this.pairHi = words[i + 1]!;
          return words[i]!;
        }
        if (slot === UNTOUCHED) {
          this.pairHi = 0;
          return 0;
        }
      }
    }
    const p = toPa(pa);
    const lo = this.read32(p);
    this.pairHi = this.read32(p + 4);
    return lo;
  }

  /** Reads one byte. @throws InvalidArgumentError for a bad `pa`; BusError outside RAM. */
  read8(pa: AddressInput): number {
    return this.readN(pa, 1) as number;
  }
  /** Reads a 16-bit LE value. @throws InvalidArgumentError for a bad `pa`; BusError outside RAM or across a frame. */
  read16(pa: AddressInput): number {
    return this.readN(pa, 2) as number;
  }
  /** Reads a 64-bit LE value as a bigint (not for hot paths). @throws InvalidArgumentError; BusError */
  read64(pa: AddressInput): bigint {
    return this.readN(pa, 8) as bigint;
  }
  /**
   * Writes one byte: an integer in [-128, 256) (number or bigint).
   * @throws InvalidArgumentError for a bad `pa` or value; BusError outside RAM; HostLimitError.
   */
  write8(pa: AddressInput, value: number): void {
    this.writeN(pa, 1, value);
  }
  /**
   * Writes a 16-bit LE value: an integer in [-2^15, 2^16).
   * @throws InvalidArgumentError for a bad `pa` or value; BusError outside RAM or across a frame; HostLimitError.
   */
  write16(pa: AddressInput, value: number): void {
    this.writeN(pa, 2, value);
  }
  /**
   * Writes a 64-bit LE value: a bigint in [-2^63, 2^64) or a safe-integer number (negative values
   * are stored as two's complement).
   * @throws InvalidArgumentError for a bad `pa` or value; BusError outside RAM or across a frame; HostLimitError.
   */
  write64(pa: AddressInput, value: bigint | number): void {
    this.writeN(pa, 8, value);
  }

  /**
   * Reads an unsigned little-endian value of 1, 2, 4 or 8 bytes; values of 8 bytes are
   * bigints, smaller ones numbers. The access may be unaligned but must stay in
   * one frame (or one device window). Validates every argument (not a hot path).
   * @throws InvalidArgumentError for a bad `pa` or size; BusError outside RAM, across a frame,
   *   or in a window without a device.
   */
  readN(pa: AddressInput, sizeBytes: 1 | 2 | 4 | 8): number | bigint {
    // Fast path: a number address inside one touched or untouched RAM frame, size 1, 2 or 4 (see
    // read32 for the exact frame/offset split, which only an integer passes).
    if (typeof pa === 'number' && (sizeBytes === 1 || sizeBytes === 2 || sizeBytes === 4)) {
      const off = pa & 0xfff; // see read32
      const pfn = (pa - off) / PAGE_SIZE;
      if (Math.floor(pfn) === pfn && off + sizeBytes <= PAGE_SIZE) {
        const slot = this.slotOf(pfn);
        if (slot >= 0) {
          const bytes = this.slabBytes[slot >>> SLAB_SHIFT]!;
          const base = ((slot & (SLAB_FRAMES - 1)) << 12) | off;
          let v = 0;
          for (let i = sizeBytes - 1; i >= 0; i--) v = v * 256 + bytes[base + i]!;
          return v;
        }
        if (slot === UNTOUCHED) return 0;
      }
    }
    return this.readChecked(pa, sizeBytes);
  }

  /** {@link readN}'s general path: validates every argument, then reads (RAM, devices, errors). */
  private readChecked(pa: unknown, sizeBytes: unknown): number | bigint {
    const size = toSize(sizeBytes);
    const p = toPa(pa);
    const off = p & 0xfff;
    const slot = this.slotOf(Math.floor(p / PAGE_SIZE));
    if (slot >= -1 && off + size <= PAGE_SIZE) {
      if (slot === UNTOUCHED) return size === 8 ? 0n : 0;
      const bytes = this.slabBytes[slot >>> SLAB_SHIFT]!;
      const base = ((slot & (SLAB_FRAMES - 1)) << 12) | off;
      let lo = 0;
      const n = Math.min(size, 4);
      for (let i = n - 1; i >= 0; i--) lo = lo * 256 + bytes[base + i]!;
      if (size !== 8) return lo;
      let hi = 0;
      for (let i = 7; i >= 4; i--) hi = hi * 256 + bytes[base + i]!;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    return this.slowRead(p, size);
  }

  /**
   * Writes a little-endian value of 1, 2, 4 or 8 bytes (see {@link readN}). `value` is an integer
   * that fits the size unsigned or as two's complement (`[-2^(8n-1), 2^(8n))`), as a safe-integer
   * number or a bigint; anything else (`1.5`, `NaN`, `2 ** 32` for 4 bytes, a string) is refused
   * before anything is written. Writing 0 to an untouched frame keeps it untouched (it already
   * reads as zero).
   * @throws InvalidArgumentError for a bad `pa`, size or value; BusError outside RAM, across a
   *   frame, or in a window without a device; HostLimitError if the frame cannot get backing store.
   */
  writeN(pa: AddressInput, sizeBytes: 1 | 2 | 4 | 8, value: number | bigint): void {
    // Fast path (a user store): a number address inside one RAM frame, size 1, 2 or 4, and a
    // number value that fits (an integer in [-lim/2, lim), which `Math.floor` and the bounds
    // prove; NaN fails them). Everything else, including every error, takes the general path.
    if (typeof pa === 'number' && typeof value === 'number') {
      const lim = valueLimit(sizeBytes);
      const off = pa & 0xfff; // see read32
      const pfn = (pa - off) / PAGE_SIZE;
      const rel = pfn - this.cacheBase;
      if (
        lim !== 0 && // size 1, 2 or 4 (anything else, even an object without valueOf, goes below)
        rel >= 0 &&
        rel < MID_FRAMES &&
        (rel | 0) === rel &&
        off + sizeBytes <= PAGE_SIZE &&
        value < lim &&
        value >= -lim / 2 &&
        Math.floor(value) === value
      ) {
        const chunk = this.cacheMid[rel >>> CHUNK_SHIFT];
        if (chunk !== undefined) {
          const i = rel & (CHUNK_FRAMES - 1);
          let slot = chunk[i]!;
          if (slot === UNTOUCHED) {
            if (value === 0) return; // stays zero, no backing needed
            slot = this.materialize(pfn);
          }
          if (slot >= 0) {
            const bytes = this.slabBytes[slot >>> SLAB_SHIFT]!;
            const base = ((slot & (SLAB_FRAMES - 1)) << 12) | off;
            let lo = value >>> 0;
            for (let k = 0; k < sizeBytes; k++, lo >>>= 8) bytes[base + k] = lo & 0xff;
            return;
          }
        }
      }
    }
    this.writeChecked(pa, sizeBytes, value);
  }

  /** {@link writeN}'s general path: validates every argument, then writes (RAM, devices, errors). */
  private writeChecked(pa: unknown, sizeBytes: unknown, value: unknown): void {
    const size = toSize(sizeBytes);
    const p = toPa(pa);
    const val = checkValue(size, value);
    const off = p & 0xfff;
    const pfn = Math.floor(p / PAGE_SIZE);
    let slot = this.slotOf(pfn);
    if (slot >= -1 && off + size <= PAGE_SIZE) {
      if (slot === UNTOUCHED) {
        if (val === 0 || val === 0n) return; // stays zero, no backing needed
        slot = this.materialize(pfn);
      }
      const bytes = this.slabBytes[slot >>> SLAB_SHIFT]!;
      const base = ((slot & (SLAB_FRAMES - 1)) << 12) | off;
      // Split into 32-bit halves without BigInt when the value is a number.
      let lo: number;
      let hi: number;
      if (typeof val === 'number') {
        lo = val >>> 0;
        hi = size === 8 ? Math.floor(val / TWO_32) >>> 0 : 0;
      } else {
        lo = Number(val & 0xffff_ffffn);
        hi = Number((val >> 32n) & 0xffff_ffffn);
      }
      const n = Math.min(size, 4);
      for (let i = 0; i < n; i++, lo >>>= 8) bytes[base + i] = lo & 0xff;
      for (let i = 4; i < size; i++, hi >>>= 8) bytes[base + i] = hi & 0xff;
      return;
    }
    this.slowWrite(p, size, val);
  }

  private slowRead(pa: number, size: 1 | 2 | 4 | 8): number | bigint {
    const d = this.device(pa, size);
    if (d) return d.dev.read(d.off, size);
    if (this.extentOf(Math.floor(pa / PAGE_SIZE)) >= 0) {
      throw new BusError(pa, size, 'access crosses a frame boundary');
    }
    return this.busError(pa, size);
  }

  private slowWrite(pa: number, size: 1 | 2 | 4 | 8, value: number | bigint): void {
    const d = this.device(pa, size);
    if (d) {
      d.dev.write(d.off, size, value);
      return;
    }
    if (this.extentOf(Math.floor(pa / PAGE_SIZE)) >= 0) {
      throw new BusError(pa, size, 'access crosses a frame boundary');
    }
    this.busError(pa, size);
  }

  /**
   * Validates a bulk range and checks that all of it is RAM (against the coalesced extents:
   * O(log regions), whatever the length). Returns `pa` as a number.
   */
  private checkRamRange(pa: unknown, length: unknown, maxLength = PA_LIMIT): number {
    const p = toPa(pa);
    const n = toLength(length, 'length', maxLength);
    if (n === 0) return p;
    const x = this.extentOf(Math.floor(p / PAGE_SIZE));
    if (x < 0) this.busError(p, Math.min(n, PAGE_SIZE));
    const end = this.extEnd[x]! * PAGE_SIZE;
    if (p + n > end) this.busError(end, Math.min(p + n - end, PAGE_SIZE));
    return p;
  }

  /**
   * Copies `length` bytes of RAM starting at `pa` into a new array.
   * @throws InvalidArgumentError for a bad `pa` or a `length` that is not an integer from 0 to
   *   {@link MAX_BULK_BYTES}; BusError if any byte is not RAM.
   */
  readBytes(pa: AddressInput, length: number): Uint8Array {
    const p = this.checkRamRange(pa, length, MAX_BULK_BYTES);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const q = p + done;
      const off = q & 0xfff;
      const n = Math.min(length - done, PAGE_SIZE - off);
      const slot = this.slotOf(Math.floor(q / PAGE_SIZE));
      if (slot >= 0) {
        const base = (slot & (SLAB_FRAMES - 1)) << 12;
        out.set(this.slabBytes[slot >>> SLAB_SHIFT]!.subarray(base + off, base + off + n), done);
      }
      done += n;
    }
    return out;
  }

  /**
   * Writes `data` to RAM at `pa`.
   * @throws InvalidArgumentError for a bad `pa` or `data` that is not a Uint8Array; BusError if any
   *   byte is not RAM, HostLimitError if the frames cannot get backing store (nothing is written then).
   */
  writeBytes(pa: AddressInput, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data', data, 'a Uint8Array');
    const p = this.checkRamRange(pa, data.length);
    if (data.length === 0) return;
    this.reserve(Math.floor(p / PAGE_SIZE), Math.ceil((p + data.length) / PAGE_SIZE), 'writeBytes');
    let done = 0;
    while (done < data.length) {
      const q = p + done;
      const off = q & 0xfff;
      const n = Math.min(data.length - done, PAGE_SIZE - off);
      const slot = this.materialize(Math.floor(q / PAGE_SIZE), n === PAGE_SIZE); // a whole frame: no zeroing
      const base = (slot & (SLAB_FRAMES - 1)) << 12;
      this.slabBytes[slot >>> SLAB_SHIFT]!.set(data.subarray(done, done + n), base + off);
      done += n;
    }
  }

  /**
   * Fills `length` bytes of RAM at `pa` with `byte` (an integer in [-128, 256)). Filling whole
   * frames with 0 discards them; a zero fill of a huge range costs in proportion to the touched
   * frames, not to the length.
   * @throws InvalidArgumentError for a bad `pa`, `length` or `byte`; BusError if any byte is not
   *   RAM, HostLimitError if the frames cannot get backing store (nothing is written then).
   */
  fill(pa: AddressInput, length: number, byte = 0): void {
    // A byte as a number or a bigint, unsigned or two's complement (checkValue's contract): 0..255 here.
    const v = checkValue(1, byte);
    const b = typeof v === 'bigint' ? Number(BigInt.asUintN(8, v)) : v & 0xff;
    const p = this.checkRamRange(pa, length);
    if (length === 0) return;
    const startPfn = Math.floor(p / PAGE_SIZE);
    const endPfn = Math.ceil((p + length) / PAGE_SIZE);
    if (b !== 0) this.reserve(startPfn, endPfn, 'fill');
    else if (endPfn - startPfn > 2 * this.chunkCount * CHUNK_FRAMES + 2) {
      // Zero fill over far more frames than the index holds: visit the touched frames only.
      this.zeroTouched(p, p + length);
      return;
    }
    let done = 0;
    while (done < length) {
      const q = p + done;
      const off = q & 0xfff;
      const n = Math.min(length - done, PAGE_SIZE - off);
      const pfn = Math.floor(q / PAGE_SIZE);
      if (b === 0 && n === PAGE_SIZE) this.discard(pfn);
      else if (b !== 0 || this.slotOf(pfn) >= 0) {
        const slot = this.materialize(pfn);
        const base = (slot & (SLAB_FRAMES - 1)) << 12;
        this.slabBytes[slot >>> SLAB_SHIFT]!.fill(b & 0xff, base + off, base + off + n);
      }
      done += n;
    }
  }

  /** Zeroes RAM bytes [start, end) by visiting only the frames that have backing store. */
  private zeroTouched(start: number, end: number): void {
    for (const [hi, mid] of this.dir) {
      for (let c = 0; c < 1024; c++) {
        const chunk = mid[c];
        if (chunk === undefined) continue;
        const first = hi * MID_FRAMES + c * CHUNK_FRAMES;
        for (let i = 0; i < CHUNK_FRAMES; i++) {
          const slot = chunk[i]!;
          if (slot < 0) continue;
          const lo = (first + i) * PAGE_SIZE;
          const s = Math.max(lo, start);
          const e = Math.min(lo + PAGE_SIZE, end);
          if (e <= s) continue;
          if (e - s === PAGE_SIZE) this.discard(first + i);
          else {
            const base = ((slot & (SLAB_FRAMES - 1)) << 12) | (s - lo);
            this.slabBytes[slot >>> SLAB_SHIFT]!.fill(0, base, base + (e - s));
          }
        }
      }
    }
  }

  /**
   * Copies `length` bytes of RAM from `srcPa` to `dstPa` (memmove semantics).
   * @throws InvalidArgumentError for bad addresses or a `length` above {@link MAX_BULK_BYTES};
   *   BusError if any byte is not RAM; HostLimitError.
   */
  copy(dstPa: AddressInput, srcPa: AddressInput, length: number): void {
    toPa(dstPa, 'destination physical address');
    toPa(srcPa, 'source physical address');
    toLength(length, 'length', MAX_BULK_BYTES);
    if (length === 0) return;
    this.writeBytes(dstPa, this.readBytes(srcPa, length));
  }

  /**
   * Copies whole frame `src` to frame `dst`; an untouched source leaves the destination untouched (zero).
   * @throws InvalidArgumentError for bad frame numbers; BusError if either is not RAM; HostLimitError.
   */
  copyFrame(dstPfn: number, srcPfn: number): void {
    const dst = toPfn(dstPfn, 'destination frame');
    const src = toPfn(srcPfn, 'source frame');
    if (this.extentOf(dst) < 0) this.busError(dst * PAGE_SIZE, PAGE_SIZE);
    if (this.extentOf(src) < 0) this.busError(src * PAGE_SIZE, PAGE_SIZE);
    const s = this.slotOf(src);
    if (s < 0) {
      this.discard(dst);
      return;
    }
    const d = this.materialize(dst, true); // the copy writes every byte
    // The source slot's view, made once (a view per copy was a young-generation allocation per
    // copy-on-write fault, and its scavenges cost ≈ 2 % of the fault rate).
    let view = this.slotViews[s];
    if (view === undefined) {
      view = new Uint8Array(this.slabBuffers[s >>> SLAB_SHIFT]!, (s & (SLAB_FRAMES - 1)) << 12, PAGE_SIZE);
      this.slotViews[s] = view;
    }
    this.slabBytes[d >>> SLAB_SHIFT]!.set(view, (d & (SLAB_FRAMES - 1)) << 12);
  }

  /**
   * A live view of frame `pfn` as 1024 32-bit little-endian words, the words {@link read32} and
   * {@link write32} read and write: bulk work on one page-table frame (the kernel's
   * table-at-a-time fork) with no lookup per access. An untouched frame gets its backing store
   * (zeros) first. The view is valid only until the frame loses its backing store (discarded by
   * {@link discardFrame}, a whole-frame zero {@link fill}, or a {@link copyFrame} from an untouched
   * frame): use it for one operation, never keep it.
   * @throws InvalidArgumentError for a bad frame number; BusError if the frame is not RAM;
   *   HostLimitError if the frame cannot get backing store.
   */
  frameWords(pfn: number): Uint32Array {
    const f = toPfn(pfn);
    if (this.extentOf(f) < 0) this.busError(f * PAGE_SIZE, PAGE_SIZE);
    const slot = this.materialize(f);
    const base = (slot & (SLAB_FRAMES - 1)) << 10;
    return new Uint32Array(this.slabBuffers[slot >>> SLAB_SHIFT]!, base * 4, 1024);
  }

  /**
   * Copies frame `pfn` (4096 bytes) into `out` from byte `offset` without allocating a copy (a swap
   * device's write of a page); an untouched frame reads as zeros.
   * @throws InvalidArgumentError for a bad frame number, an `out` that is not a Uint8Array or an
   *   `offset` that is not an integer leaving a whole page in `out`; BusError if the frame is not RAM.
   */
  readFrameInto(pfn: number, out: Uint8Array, offset: number): void {
    const f = toPfn(pfn);
    pageRoom(out, offset, 'out');
    if (this.extentOf(f) < 0) this.busError(f * PAGE_SIZE, PAGE_SIZE);
    const s = this.slotOf(f);
    if (s < 0) {
      out.fill(0, offset, offset + PAGE_SIZE);
      return;
    }
    const b = (s & (SLAB_FRAMES - 1)) << 12;
    out.set(new Uint8Array(this.slabBuffers[s >>> SLAB_SHIFT]!, b, PAGE_SIZE), offset);
  }

  /**
   * Copies 4096 bytes of `src` from byte `offset` into frame `pfn` (a swap device's read of a page).
   * @throws InvalidArgumentError for a bad frame number, a `src` that is not a Uint8Array or an
   *   `offset` that is not an integer leaving a whole page in `src`; BusError if the frame is not
   *   RAM; HostLimitError if the frame cannot get backing store (nothing is written then).
   */
  writeFrameFrom(pfn: number, src: Uint8Array, offset: number): void {
    const f = toPfn(pfn);
    pageRoom(src, offset, 'src');
    if (this.extentOf(f) < 0) this.busError(f * PAGE_SIZE, PAGE_SIZE);
    const d = this.materialize(f, true); // every byte is written
    this.slabBytes[d >>> SLAB_SHIFT]!.set(
      src.subarray(offset, offset + PAGE_SIZE),
      (d & (SLAB_FRAMES - 1)) << 12,
    );
  }

  /**
   * Reads the 64-bit value at `pa` as a number, for tooling: exact below 2^53, rounded above.
   * @throws InvalidArgumentError for a bad `pa`; BusError outside RAM.
   */
  read64Number(pa: AddressInput): number {
    const p = toPa(pa);
    return this.read32(p + 4) * TWO_32 + this.read32(p);
  }
}
