/**
 * What a board description is: data (RAM ranges, MMIO windows, where the boot
 * loader puts the kernel image, which frames the page allocator manages) plus
 * two small functions (`createMemory`, `describe`).
 *
 * All addresses are physical, as numbers (every board here fits in 2^53), and
 * every range is half-open `[start, end)`.
 */
import type { ArchId, MmioDevice, MmioWindow, PhysicalMemory, PhysicalRegion } from '@mmkit/core';

/** Identifier of a board mmkit describes. */
export type BoardId = 'virt' | 'rpi4b' | 'pc';

/**
 * A paging format a board can run, by backend id (`ArchDescription.id`). Open (any string), so a
 * new backend needs no change here; the ids of the backends mmkit ships are `KNOWN_ARCH_IDS` of
 * `@mmkit/core`: `aarch64` (`@mmkit/arch-aarch64`) and the x86 modes of `@mmkit/arch-x86`
 * (`x86_64` 4-level, `x86_64-la57` 5-level, `x86-pae`, `x86-32`). A kernel refuses to boot a
 * backend whose id is not in the board's {@link Board.archs}.
 */
export type BoardArch = ArchId;

/**
 * How the page allocator's pool is chosen:
 * - `seed`: the pool of the kernel mmkit was created from (seed 001), the fixed window
 *   `[0x4000_0000, 0xFC00_0000)` with that kernel's boot reservations. Reproduces its behaviour,
 *   including the RAM it leaves unused (listed in {@link AllocatorPoolPlan.notes}).
 * - `all-ram`: every RAM range of the board, minus what the boot path must keep.
 */
export type PoolMode = 'seed' | 'all-ram';

/** A range of frames that the kernel must reserve at boot, with the reason (shown in audits and `describe`). */
export interface PoolReservation {
  /** First byte (page aligned). */
  readonly start: number;
  /** End, exclusive (page aligned: partial frames are rounded outwards). */
  readonly end: number;
  readonly reason: string;
}

/**
 * What the page allocator should manage on this board, and what it must reserve
 * before the first allocation. Feed it to the allocator as
 * `new PageAllocator(memory, plan.ranges)` followed by
 * `reserveRange(r.start, r.end, r.reason)` for each reservation.
 *
 * Frames of `ranges` that are not RAM are reserved by the allocator itself
 * (the seed pool is larger than the RAM of small boards); reservations are
 * clipped to `ranges` and never overlap each other.
 */
export interface AllocatorPoolPlan {
  readonly mode: PoolMode;
  /** Page-aligned, sorted, non-overlapping ranges the allocator's frame table covers. */
  readonly ranges: readonly PhysicalRegion[];
  /** Boot-time reservations inside `ranges`, sorted by start. */
  readonly reservations: readonly PoolReservation[];
  /** Human notes: where this pool differs from the board's RAM, and why. */
  readonly notes: readonly string[];
}

/** Where the boot loader puts the kernel image: physical `[start, end)`. */
export interface KernelImage {
  readonly start: number;
  readonly end: number;
  /**
   * Virtual address the image is linked at, when the board's kernel layout fixes one (the 32-bit
   * PC: `0xC010_0000`, a higher-half kernel loaded at physical 1 MiB). Undefined when the kernel
   * chooses (AArch64 boards, the 64-bit PC).
   */
  readonly virtualBase?: bigint;
}

/** MMIO devices to attach by window name, for {@link Board.createMemory}. */
export type BoardDevices = Readonly<Record<string, MmioDevice>>;

/** A board: its memory map and how mmkit's kernel uses it. Immutable. */
export interface Board {
  readonly id: BoardId;
  /** Human name, e.g. `QEMU virt (aarch64), 1 GiB RAM`. */
  readonly name: string;
  /** RAM ranges, sorted, page aligned. */
  readonly ram: readonly PhysicalRegion[];
  /** MMIO windows without devices, sorted, non-overlapping, none overlapping RAM. */
  readonly mmio: readonly MmioWindow[];
  /** Name of the MMIO window of the console: the PL011 UART0 on virt and rpi4b, VGA colour text on the pc. */
  readonly consoleWindow: string;
  readonly kernelImage: KernelImage;
  /** The paging format this board runs by default: `aarch64` (virt, rpi4b), `x86_64` (pc), `x86-32` (pc, 32-bit flavour). */
  readonly defaultArch: BoardArch;
  /**
   * Every paging format this board (in this configuration) can run, by backend id, `defaultArch`
   * first. The kernel checks a backend's `description.id` against it before booting.
   */
  readonly archs: readonly BoardArch[];
  readonly pool: AllocatorPoolPlan;
  /**
   * A fresh, empty {@link PhysicalMemory} with this board's RAM and MMIO windows.
   * `devices` attaches a device to windows by name; windows without a device
   * make every access a BusError naming the window.
   * @throws InvalidArgumentError for a device name that is not a window of this board.
   */
  createMemory(devices?: BoardDevices): PhysicalMemory;
  /** The memory map and pool plan as text (one line per region). */
  describe(): string;
}
