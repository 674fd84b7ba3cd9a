/**
 * Sparse, frame-granular simulated RAM.
 *
 * Ownership and cost: a RAM frame that was never written reads as zeros and
 * has no backing store. The first write gives it a 4 KiB slot in a slab
 * (slabs are 1 MiB `ArrayBuffer`s, handed out in touch order), so host
 * memory grows by ≈4 KiB + 4 bytes per touched frame. `discardFrame()`
 * returns a frame to the all-zero state and recycles its slot; the page
 * allocator uses it to hand out zeroed pages in O(1).
 *
 * Accesses are little-endian. An access outside RAM goes to the MMIO window
 * that contains it (its device callback), or fails with a {@link BusError}.
 * Multi-byte RAM accesses must not cross a frame boundary unless done
 * through the bulk helpers (`readBytes`, `writeBytes`, `copy`, `fill`).
 */
import { PAGE_SIZE, TWO_32 } from './address.js';
import { BusError, InvalidArgumentError } from './errors.js';

/** A device behind an MMIO window. Offsets are relative to the window base. */
export interface MmioDevice {
  read(offset: number, sizeBytes: 1 | 2 | 4 | 8): number | bigint;
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
}

const CHUNK_SHIFT = 10; // 1024 frames = 4 MiB of RAM per directory chunk
const CHUNK_FRAMES = 1 << CHUNK_SHIFT;
const SLAB_SHIFT = 8; // 256 frames = 1 MiB per slab
const SLAB_FRAMES = 1 << SLAB_SHIFT;
const UNTOUCHED = -1;
const NOT_RAM = -2;

/** Simulated physical memory of a board. See the module doc for the cost model. */
export class PhysicalMemory {
  /** RAM regions, sorted by start. */
  readonly ram: readonly PhysicalRegion[];
  /** MMIO windows, sorted by start. */
  readonly mmio: readonly MmioWindow[];
  /** First frame number covered by the directory. */
  readonly basePfn: number;
  /** Number of frames covered by the directory (RAM and holes between RAM ranges). */
  readonly spanFrames: number;

  private readonly chunks: (Int32Array | undefined)[];
  /** Per chunk: 0 = no RAM, 1 = entirely RAM, 2 = partly RAM. */
  private readonly chunkRam: Uint8Array;
  private readonly slabBytes: Uint8Array[] = [];
  private readonly slabWords: Uint32Array[] = [];
  private readonly freeSlots: number[] = [];
  private slotCount = 0;
  private touched = 0;

  constructor(options: PhysicalMemoryOptions) {
    const ram = [...options.ram].sort((a, b) => a.start - b.start);
    if (ram.length === 0) throw new InvalidArgumentError('ram', '[]', 'at least one RAM region');
    let prevEnd = -1;
    for (const r of ram) {
      if (
        !Number.isSafeInteger(r.start) ||
        !Number.isSafeInteger(r.end) ||
        r.start % PAGE_SIZE ||
        r.end % PAGE_SIZE
      ) {
        throw new InvalidArgumentError(
          `RAM region ${r.name}`,
          `${r.start}..${r.end}`,
          'page-aligned safe integers',
        );
      }
      if (r.end <= r.start || r.start < prevEnd) {
        throw new InvalidArgumentError(
          `RAM region ${r.name}`,
          `${r.start}..${r.end}`,
          'a non-empty range not overlapping another',
        );
      }
      prevEnd = r.end;
    }
    const mmio = [...(options.mmio ?? [])].sort((a, b) => a.start - b.start);
    for (const w of mmio) {
      if (ram.some((r) => w.start < r.end && r.start < w.end)) {
        throw new InvalidArgumentError(
          `MMIO window ${w.name}`,
          `${w.start}..${w.end}`,
          'a window that does not overlap RAM',
        );
      }
    }
    this.ram = ram;
    this.mmio = mmio;
    const first = ram[0]!;
    const last = ram[ram.length - 1]!;
    this.basePfn = first.start / PAGE_SIZE;
    this.spanFrames = (last.end - first.start) / PAGE_SIZE;
    const nChunks = Math.ceil(this.spanFrames / CHUNK_FRAMES);
    this.chunks = new Array(nChunks).fill(undefined);
    this.chunkRam = new Uint8Array(nChunks);
    for (let c = 0; c < nChunks; c++) {
      const lo = (this.basePfn + c * CHUNK_FRAMES) * PAGE_SIZE;
      const hi = lo + CHUNK_FRAMES * PAGE_SIZE;
      let covered = 0;
      for (const r of ram) {
        const s = Math.max(lo, r.start);
        const e = Math.min(hi, r.end);
        if (e > s) covered += e - s;
      }
      this.chunkRam[c] = covered === 0 ? 0 : covered === hi - lo ? 1 : 2;
    }
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
    return this.slabBytes.length * SLAB_FRAMES * PAGE_SIZE;
  }

  /** True if frame `pfn` is RAM. */
  isRamFrame(pfn: number): boolean {
    const rel = pfn - this.basePfn;
    if (rel < 0 || rel >= this.spanFrames) return false;
    const kind = this.chunkRam[rel >>> CHUNK_SHIFT];
    if (kind === 1) return true;
    if (kind === 0) return false;
    const pa = pfn * PAGE_SIZE;
    for (const r of this.ram) if (pa >= r.start && pa < r.end) return true;
    return false;
  }

  /** True if the byte at `pa` is RAM. */
  isRam(pa: number): boolean {
    return this.isRamFrame(Math.floor(pa / PAGE_SIZE));
  }

  /** The MMIO window containing `pa`, if any. */
  mmioAt(pa: number): MmioWindow | undefined {
    for (const w of this.mmio) if (pa >= w.start && pa < w.end) return w;
    return undefined;
  }

  /** True if frame `pfn` has backing store (was written and not discarded). */
  isTouched(pfn: number): boolean {
    return this.slotOf(pfn) >= 0;
  }

  /**
   * Returns frame `pfn` to the all-zero state and releases its host memory.
   * @throws BusError if `pfn` is not RAM.
   */
  discardFrame(pfn: number): void {
    const rel = pfn - this.basePfn;
    if (!this.isRamFrame(pfn))
      throw new BusError(pfn * PAGE_SIZE, PAGE_SIZE, 'discard of a frame that is not RAM');
    const chunk = this.chunks[rel >>> CHUNK_SHIFT];
    if (chunk === undefined) return;
    const i = rel & (CHUNK_FRAMES - 1);
    const slot = chunk[i]!;
    if (slot < 0) return;
    chunk[i] = UNTOUCHED;
    this.slabBytes[slot >>> SLAB_SHIFT]!.fill(
      0,
      (slot & (SLAB_FRAMES - 1)) * PAGE_SIZE,
      ((slot & (SLAB_FRAMES - 1)) + 1) * PAGE_SIZE,
    );
    this.freeSlots.push(slot);
    this.touched--;
  }

  /** Slot of a RAM frame, -1 if untouched, -2 if not RAM. Hot path. */
  private slotOf(pfn: number): number {
    const rel = pfn - this.basePfn;
    if (rel < 0 || rel >= this.spanFrames) return -2;
    const chunk = this.chunks[rel >>> CHUNK_SHIFT];
    if (chunk !== undefined) return chunk[rel & (CHUNK_FRAMES - 1)]!;
    return this.isRamFrame(pfn) ? UNTOUCHED : -2;
  }

  private materialize(pfn: number): number {
    const rel = pfn - this.basePfn;
    let chunk = this.chunks[rel >>> CHUNK_SHIFT];
    if (chunk === undefined) {
      chunk = new Int32Array(CHUNK_FRAMES).fill(UNTOUCHED);
      if (this.chunkRam[rel >>> CHUNK_SHIFT] === 2) {
        // A chunk that is only partly RAM: its holes stay "not RAM" (-2), so device windows and
        // bus errors in them keep working after a neighbouring RAM frame was written.
        const first = this.basePfn + (rel & ~(CHUNK_FRAMES - 1));
        for (let i = 0; i < CHUNK_FRAMES; i++) if (!this.isRamFrame(first + i)) chunk[i] = NOT_RAM;
      }
      this.chunks[rel >>> CHUNK_SHIFT] = chunk;
    }
    const i = rel & (CHUNK_FRAMES - 1);
    let slot = chunk[i]!;
    if (slot >= 0) return slot;
    slot = this.freeSlots.pop() ?? this.newSlot();
    chunk[i] = slot;
    this.touched++;
    return slot;
  }

  private newSlot(): number {
    const slot = this.slotCount++;
    if ((slot & (SLAB_FRAMES - 1)) === 0) {
      const buf = new ArrayBuffer(SLAB_FRAMES * PAGE_SIZE);
      this.slabBytes.push(new Uint8Array(buf));
      this.slabWords.push(new Uint32Array(buf));
    }
    return slot;
  }

  private busError(pa: number, size: number): never {
    const w = this.mmioAt(pa);
    throw new BusError(
      pa,
      size,
      w ? `MMIO window ${w.name} has no device attached` : 'no RAM or device at this address',
    );
  }

  private device(pa: number, size: number): { dev: MmioDevice; off: number } | undefined {
    const w = this.mmioAt(pa);
    if (w?.device && pa + size <= w.end) return { dev: w.device, off: pa - w.start };
    return undefined;
  }

  /**
   * Reads a 32-bit little-endian word. Aligned reads are the walker's hot path; an unaligned read
   * inside one frame works too (through {@link readN}).
   * @throws BusError outside RAM (unless a device answers).
   */
  read32(pa: number): number {
    const pfn = Math.floor(pa / PAGE_SIZE);
    const slot = this.slotOf(pfn);
    const off = pa & 0xfff;
    if (slot >= 0 && (off & 3) === 0) {
      return this.slabWords[slot >>> SLAB_SHIFT]![(((slot & (SLAB_FRAMES - 1)) << 12) | off) >>> 2]!;
    }
    if (slot === UNTOUCHED && off <= PAGE_SIZE - 4) return 0;
    // Unaligned inside a frame, crossing a frame, MMIO or nothing: the general path decides.
    return this.readN(pa, 4) as number;
  }

  /**
   * Writes a 32-bit little-endian word (aligned: fast path; unaligned inside one frame: {@link writeN}).
   * Writing 0 to an untouched frame keeps it untouched.
   * @throws BusError outside RAM (unless a device answers).
   */
  write32(pa: number, value: number): void {
    const off = pa & 0xfff;
    if ((off & 3) === 0) {
      const pfn = Math.floor(pa / PAGE_SIZE);
      let slot = this.slotOf(pfn);
      if (slot === UNTOUCHED) {
        if (value >>> 0 === 0) return; // stays zero, no backing needed
        slot = this.materialize(pfn);
      }
      if (slot >= 0) {
        this.slabWords[slot >>> SLAB_SHIFT]![(((slot & (SLAB_FRAMES - 1)) << 12) | off) >>> 2] = value >>> 0;
        return;
      }
    }
    // Unaligned inside a frame, crossing a frame (nothing is materialized then), MMIO or nothing.
    this.writeN(pa, 4, value >>> 0);
  }

  /** High 32 bits of the value read by the last {@link readPair}. */
  pairHi = 0;

  /**
   * Like {@link readPair} for the 8-byte-aligned `byteOffset` inside frame `pfn`: no address
   * division on the walker's dependency chain. Returns the low word; the high word is in {@link pairHi}.
   * @throws BusError outside RAM (unless a device answers).
   */
  readPairInFrame(pfn: number, byteOffset: number): number {
    const rel = pfn - this.basePfn;
    if (rel >= 0 && rel < this.spanFrames) {
      const chunk = this.chunks[rel >>> CHUNK_SHIFT];
      if (chunk !== undefined) {
        const slot = chunk[rel & (CHUNK_FRAMES - 1)]!;
        if (slot >= 0) {
          const words = this.slabWords[slot >>> SLAB_SHIFT]!;
          const i = ((slot & (SLAB_FRAMES - 1)) << 10) | (byteOffset >>> 2);
          this.pairHi = words[i + 1]!;
          return words[i]!;
        }
      }
    }
    return this.readPair(pfn * PAGE_SIZE + byteOffset);
  }

  /**
   * Reads the 64-bit little-endian value at `pa` with one frame lookup (the walker's hot path):
   * returns the low 32 bits and leaves the high 32 bits in {@link pairHi}. No allocation.
   * @throws BusError outside RAM (unless a device answers).
   */
  readPair(pa: number): number {
    const slot = this.slotOf(Math.floor(pa / PAGE_SIZE));
    const off = pa & 0xfff;
    if (slot >= 0 && (off & 7) === 0) {
      const words = this.slabWords[slot >>> SLAB_SHIFT]!;
      const i = (((slot & (SLAB_FRAMES - 1)) << 12) | off) >>> 2;
      this.pairHi = words[i + 1]!;
      return words[i]!;
    }
    if (slot === UNTOUCHED && (off & 7) === 0) {
      this.pairHi = 0;
      return 0;
    }
    const lo = this.read32(pa);
    this.pairHi = this.read32(pa + 4);
    return lo;
  }

  /** Reads one byte. @throws BusError */
  read8(pa: number): number {
    return this.readN(pa, 1) as number;
  }
  /** Reads a 16-bit LE value. @throws BusError */
  read16(pa: number): number {
    return this.readN(pa, 2) as number;
  }
  /** Reads a 64-bit LE value as a bigint (not for hot paths). @throws BusError */
  read64(pa: number): bigint {
    return this.readN(pa, 8) as bigint;
  }
  /** Writes one byte. @throws BusError */
  write8(pa: number, value: number): void {
    this.writeN(pa, 1, value);
  }
  /** Writes a 16-bit LE value. @throws BusError */
  write16(pa: number, value: number): void {
    this.writeN(pa, 2, value);
  }
  /** Writes a 64-bit LE value. @throws BusError */
  write64(pa: number, value: bigint): void {
    this.writeN(pa, 8, value);
  }

  /**
   * Reads an unsigned little-endian value of 1–8 bytes; values of 8 bytes are
   * bigints, smaller ones numbers. The access may be unaligned but must stay in
   * one frame (or one device window).
   */
  readN(pa: number, sizeBytes: 1 | 2 | 4 | 8): number | bigint {
    const off = pa & 0xfff;
    const slot = this.slotOf(Math.floor(pa / PAGE_SIZE));
    if (slot >= -1 && off + sizeBytes <= PAGE_SIZE) {
      if (slot === UNTOUCHED) return sizeBytes === 8 ? 0n : 0;
      const bytes = this.slabBytes[slot >>> SLAB_SHIFT]!;
      const base = ((slot & (SLAB_FRAMES - 1)) << 12) | off;
      let lo = 0;
      const n = sizeBytes > 4 ? 4 : sizeBytes;
      for (let i = n - 1; i >= 0; i--) lo = lo * 256 + bytes[base + i]!;
      if (sizeBytes !== 8) return lo;
      let hi = 0;
      for (let i = 7; i >= 4; i--) hi = hi * 256 + bytes[base + i]!;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    return this.slowRead(pa, sizeBytes);
  }

  /**
   * Writes an unsigned little-endian value of 1–8 bytes (see {@link readN}). Writing 0 to an
   * untouched frame keeps it untouched (it already reads as zero).
   */
  writeN(pa: number, sizeBytes: 1 | 2 | 4 | 8, value: number | bigint): void {
    const off = pa & 0xfff;
    const pfn = Math.floor(pa / PAGE_SIZE);
    let slot = this.slotOf(pfn);
    if (slot >= -1 && off + sizeBytes <= PAGE_SIZE) {
      if (slot === UNTOUCHED) {
        if (value === 0 || value === 0n) return; // stays zero, no backing needed
        slot = this.materialize(pfn);
      }
      const bytes = this.slabBytes[slot >>> SLAB_SHIFT]!;
      const base = ((slot & (SLAB_FRAMES - 1)) << 12) | off;
      // Split into 32-bit halves without BigInt when the value is a number.
      let lo: number;
      let hi: number;
      if (typeof value === 'number') {
        const t = Math.trunc(value);
        lo = t >>> 0;
        hi = sizeBytes === 8 ? Math.floor(t / TWO_32) >>> 0 : 0;
      } else {
        lo = Number(value & 0xffff_ffffn);
        hi = Number((value >> 32n) & 0xffff_ffffn);
      }
      const n = sizeBytes > 4 ? 4 : sizeBytes;
      for (let i = 0; i < n; i++, lo >>>= 8) bytes[base + i] = lo & 0xff;
      for (let i = 4; i < sizeBytes; i++, hi >>>= 8) bytes[base + i] = hi & 0xff;
      return;
    }
    this.slowWrite(pa, sizeBytes, value);
  }

  private slowRead(pa: number, size: 1 | 2 | 4 | 8): number | bigint {
    const d = this.device(pa, size);
    if (d) return d.dev.read(d.off, size);
    if (this.isRam(pa)) throw new BusError(pa, size, 'access crosses a frame boundary');
    return this.busError(pa, size);
  }

  private slowWrite(pa: number, size: 1 | 2 | 4 | 8, value: number | bigint): void {
    const d = this.device(pa, size);
    if (d) {
      d.dev.write(d.off, size, value);
      return;
    }
    if (this.isRam(pa)) throw new BusError(pa, size, 'access crosses a frame boundary');
    this.busError(pa, size);
  }

  private checkRamRange(pa: number, length: number): void {
    if (!Number.isSafeInteger(pa) || !Number.isSafeInteger(length) || pa < 0 || length < 0) {
      throw new InvalidArgumentError('physical range', `${pa}+${length}`, 'non-negative safe integers');
    }
    for (let p = Math.floor(pa / PAGE_SIZE) * PAGE_SIZE; p < pa + length; p += PAGE_SIZE) {
      if (!this.isRam(p)) this.busError(Math.max(p, pa), Math.min(length, PAGE_SIZE));
    }
  }

  /** Copies `length` bytes of RAM starting at `pa` into a new array. @throws BusError if any byte is not RAM. */
  readBytes(pa: number, length: number): Uint8Array {
    this.checkRamRange(pa, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const p = pa + done;
      const off = p & 0xfff;
      const n = Math.min(length - done, PAGE_SIZE - off);
      const slot = this.slotOf(Math.floor(p / PAGE_SIZE));
      if (slot >= 0) {
        const base = (slot & (SLAB_FRAMES - 1)) << 12;
        out.set(this.slabBytes[slot >>> SLAB_SHIFT]!.subarray(base + off, base + off + n), done);
      }
      done += n;
    }
    return out;
  }

  /** Writes `data` to RAM at `pa`. @throws BusError if any byte is not RAM (nothing is written then). */
  writeBytes(pa: number, data: Uint8Array): void {
    this.checkRamRange(pa, data.length);
    let done = 0;
    while (done < data.length) {
      const p = pa + done;
      const off = p & 0xfff;
      const n = Math.min(data.length - done, PAGE_SIZE - off);
      const slot = this.materialize(Math.floor(p / PAGE_SIZE));
      const base = (slot & (SLAB_FRAMES - 1)) << 12;
      this.slabBytes[slot >>> SLAB_SHIFT]!.set(data.subarray(done, done + n), base + off);
      done += n;
    }
  }

  /** Fills `length` bytes of RAM at `pa` with `byte`. Filling whole frames with 0 discards them. @throws BusError */
  fill(pa: number, length: number, byte = 0): void {
    this.checkRamRange(pa, length);
    let done = 0;
    while (done < length) {
      const p = pa + done;
      const off = p & 0xfff;
      const n = Math.min(length - done, PAGE_SIZE - off);
      const pfn = Math.floor(p / PAGE_SIZE);
      if (byte === 0 && n === PAGE_SIZE) this.discardFrame(pfn);
      else if (byte !== 0 || this.slotOf(pfn) >= 0) {
        const slot = this.materialize(pfn);
        const base = (slot & (SLAB_FRAMES - 1)) << 12;
        this.slabBytes[slot >>> SLAB_SHIFT]!.fill(byte & 0xff, base + off, base + off + n);
      }
      done += n;
    }
  }

  /** Copies `length` bytes of RAM from `srcPa` to `dstPa` (memmove semantics). @throws BusError */
  copy(dstPa: number, srcPa: number, length: number): void {
    if (length === 0) return;
    this.writeBytes(dstPa, this.readBytes(srcPa, length));
  }

  /** Copies whole frame `src` to frame `dst`; an untouched source leaves the destination untouched (zero). */
  copyFrame(dstPfn: number, srcPfn: number): void {
    if (!this.isRamFrame(dstPfn)) this.busError(dstPfn * PAGE_SIZE, PAGE_SIZE);
    if (!this.isRamFrame(srcPfn)) this.busError(srcPfn * PAGE_SIZE, PAGE_SIZE);
    const s = this.slotOf(srcPfn);
    if (s < 0) {
      this.discardFrame(dstPfn);
      return;
    }
    const d = this.materialize(dstPfn);
    const sb = (s & (SLAB_FRAMES - 1)) << 12;
    this.slabBytes[d >>> SLAB_SHIFT]!.set(
      this.slabBytes[s >>> SLAB_SHIFT]!.subarray(sb, sb + PAGE_SIZE),
      (d & (SLAB_FRAMES - 1)) << 12,
    );
  }

  /** Reads the 64-bit value at `pa` as a number if it is below 2^53, for tooling. */
  read64Number(pa: number): number {
    return this.read32(pa + 4) * TWO_32 + this.read32(pa);
  }
}
