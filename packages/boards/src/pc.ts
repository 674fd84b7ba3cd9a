/**
 * A PC as QEMU `-M q35` with SeaBIOS builds it (arch-facts C3, D7): the e820
 * map the firmware reports, the RAM that is left for the kernel, the legacy
 * and chipset MMIO windows, and where a bzImage-style loader puts the kernel.
 *
 * ```
 * 0x0_0000_0000 ┌────────────────────────────────┐ IVT, BDA, boot sector …   e820 usable
 *               │ conventional RAM (639 KiB)     │
 * 0x0_0009_FC00 │ EBDA (1 KiB)                   │                          e820 reserved
 * 0x0_000A_0000 │ VGA window: graphics, mono     │
 *               │ text, colour text 0xB_8000     │                          (not in e820)
 * 0x0_000C_0000 │ VGA ROM, option ROMs           │
 * 0x0_000F_0000 │ system BIOS (F segment)        │                          e820 reserved
 * 0x0_0010_0000 ├────────────────────────────────┤ kernel image at 1 MiB    e820 usable
 *               │ extended RAM                   │
 *   low end-160K│ SeaBIOS high tables (ACPI …)   │ 0x28000 bytes            e820 reserved
 *   low end     ├────────────────────────────────┤ min(-m, 2 GiB if -m ≥ 2.75 GiB else -m)
 *               │ PCI hole (32-bit BARs)         │
 * 0x0_B000_0000 │ PCIe MMCONFIG / ECAM (256 MiB) │                          e820 reserved
 * 0x0_C000_0000 │ PCI hole                       │
 * 0x0_FD00_0000 │ std-VGA framebuffer (BAR0)     │ 16 MiB
 * 0x0_FE00_0000 │ PCI hole                       │
 * 0x0_FEC0_0000 │ IOAPIC                         │ 4 KiB
 * 0x0_FED0_0000 │ HPET                           │ 1 KiB
 * 0x0_FED1_C000 │ ICH9 root complex registers    │ 16 KiB                   e820 reserved
 * 0x0_FEE0_0000 │ local APIC                     │ 4 KiB
 * 0x0_FFFC_0000 │ BIOS flash (256 KiB)           │                          e820 reserved
 * 0x1_0000_0000 ├────────────────────────────────┤
 *               │ RAM above 4 GiB (-m - low)     │                          e820 usable
 *               └────────────────────────────────┘
 * ```
 */
import type { MmioWindow } from '@mmkit/core';
import { InvalidArgumentError } from '@mmkit/core';
import { defineBoard } from './define-board.js';
import { type E820Entry, e820RamRegions, formatE820 } from './e820.js';
import { formatPa, formatRange, formatSize } from './format.js';
import { carveRegion } from './mmio-layout.js';
import { allRamPlan } from './pool-plan.js';
import type { Board, BoardArch, PoolMode, PoolReservation } from './types.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const FOUR_GIB = 0x1_0000_0000;

/** The kernel layouts of the pc board: a 64-bit kernel, or a 32-bit higher-half kernel (seed 003). */
export type PcFlavour = '64' | '32';
/** The flavours, in documentation order. */
export const PC_FLAVOURS: readonly PcFlavour[] = Object.freeze(['64', '32'] as const);
/**
 * The paging modes each flavour runs, its default first: the 64-bit layout needs a 64-bit VA
 * (4- or 5-level paging), the 32-bit layout a 32-bit VA (32-bit paging or PAE).
 */
export const PC_FLAVOUR_ARCHS: Readonly<Record<PcFlavour, readonly [BoardArch, ...BoardArch[]]>> =
  Object.freeze({
    '64': Object.freeze(['x86_64', 'x86_64-la57'] as [BoardArch, ...BoardArch[]]),
    '32': Object.freeze(['x86-32', 'x86-pae'] as [BoardArch, ...BoardArch[]]),
  });

/** Default RAM size (1 GiB, as `-m 1G`; QEMU's own default is 128 MiB). */
export const PC_DEFAULT_RAM_BYTES = GiB;
/**
 * Largest `-m`: 1022 GiB, so that RAM ends at 2^40, the 40 physical-address bits of QEMU's TCG
 * x86 CPUs (2 GiB below 4 GiB plus 1020 GiB from 4 GiB).
 */
export const PC_MAX_RAM_BYTES = 1022 * GiB;
/**
 * Where the kernel image is loaded: 1 MiB, the default load address of a bzImage's protected-mode
 * kernel (boot protocol `code32_start`), and where seed 003 puts its kernel.
 */
export const PC_KERNEL_LOAD_ADDRESS = 0x10_0000;
/** Base of the 32-bit flavour's higher-half linear map (seed 003 `KERNEL_BASE`): PA p is at VA `0xC000_0000 + p`. */
export const PC32_PAGE_OFFSET = 0xc000_0000n;
/** Virtual address the 32-bit flavour's kernel is linked at: `PC32_PAGE_OFFSET` + 1 MiB. */
export const PC32_KERNEL_VIRTUAL_BASE = 0xc010_0000n;
/**
 * Bytes at the top of RAM below 4 GiB that SeaBIOS keeps for its high tables (ACPI, SMBIOS, …)
 * and reports as e820 type 2. SeaBIOS reserves 256 KiB (`BUILD_MAX_HIGHTABLE`) and gives back
 * what it did not use before booting; 0x28000 is what a default q35 guest keeps (arch-facts C3).
 */
export const PC_FIRMWARE_TABLES_BYTES = 0x2_8000;
/** Start of the EBDA (1 KiB below 640 KiB, SeaBIOS). */
export const PC_EBDA_START = 0x9_fc00;
/** Base and size of the q35 PCIe MMCONFIG (ECAM) window (`MCH_HOST_BRIDGE_PCIEXBAR_DEFAULT`, 256 buses). */
export const PC_MMCONFIG_BASE = 0xb000_0000;
/** Where QEMU's std-VGA framebuffer (BAR0, 16 MiB) usually lands (firmware-assigned; arch-facts D7). */
export const PC_FRAMEBUFFER_BASE = 0xfd00_0000;

/**
 * RAM QEMU q35 puts below 4 GiB for `-m ramBytes` (`pc_q35_init`): all of it when it is below
 * 2.75 GiB (0xB000_0000, where MMCONFIG starts), otherwise 2 GiB, so that guest RAM stays
 * 1 GiB-aligned; the rest goes to 4 GiB and up.
 */
export function pcLowRamBytes(ramBytes: number): number {
  return ramBytes >= 0xb000_0000 ? 0x8000_0000 : ramBytes;
}

/** The flavour whose kernel layout runs paging mode `arch`, or undefined for a non-x86 mode. */
export function pcFlavourForArch(arch: string): PcFlavour | undefined {
  return PC_FLAVOURS.find((f) => (PC_FLAVOUR_ARCHS[f] as readonly string[]).includes(arch));
}

/** Options of {@link createPcBoard}. */
export interface PcBoardOptions {
  /** RAM size like `-m`: a multiple of 2 MiB from 2 MiB to 1022 GiB. Default 1 GiB. */
  readonly ramBytes?: number;
  /**
   * Kernel layout: `'64'` (default; runs `x86_64`, `x86_64-la57`) or `'32'` (seed 003's
   * higher-half kernel at 0xC000_0000; runs `x86-32`, `x86-pae`; RAM above 4 GiB is left out).
   */
  readonly flavour?: PcFlavour;
  /**
   * Allocator pool mode: only `'all-ram'` (the default). The `seed` pool of virt and rpi4b is
   * seed 001's AArch64 window and has no meaning here; seed 003 manages all RAM, which is `all-ram`.
   */
  readonly pool?: PoolMode;
  /** Size of the kernel image in bytes (text, data, bss). Default 2 MiB. */
  readonly kernelImageBytes?: number;
}

/** A pc board: a {@link Board} plus its flavour and the firmware's e820 map. */
export interface PcBoard extends Board {
  readonly id: 'pc';
  readonly flavour: PcFlavour;
  /** The e820 map as SeaBIOS reports it for this `-m` (sorted; both flavours report the same map). */
  readonly e820: readonly E820Entry[];
}

/** The e820 map of QEMU q35 + SeaBIOS for `-m ramBytes` (TCG: no KVM identity-map/TSS entry). */
function pcE820(ramBytes: number): E820Entry[] {
  const low = pcLowRamBytes(ramBytes);
  const high = ramBytes - low;
  const e = (start: number, end: number, type: E820Entry['type'], name: string): E820Entry =>
    Object.freeze({ start, end, type, name });
  const map = [
    e(0, PC_EBDA_START, 1, 'ram-conventional'),
    e(PC_EBDA_START, 0xa_0000, 2, 'ebda'),
    e(0xf_0000, 0x10_0000, 2, 'bios'),
    e(0x10_0000, low - PC_FIRMWARE_TABLES_BYTES, 1, 'ram-extended'),
    e(low - PC_FIRMWARE_TABLES_BYTES, low, 2, 'firmware-tables'),
    e(PC_MMCONFIG_BASE, PC_MMCONFIG_BASE + 256 * MiB, 2, 'pcie-mmconfig'),
    e(0xfed1_c000, 0xfed2_0000, 2, 'ich9-rcrb'),
    e(0xfffc_0000, FOUR_GIB, 2, 'bios-flash'),
  ];
  if (high > 0) map.push(e(FOUR_GIB, FOUR_GIB + high, 1, 'ram-above-4g'));
  return map;
}

/** The MMIO windows below 4 GiB, without devices. */
function pcWindows(lowRamEnd: number): MmioWindow[] {
  const w = (name: string, start: number, end: number): MmioWindow => ({ name, start, end });
  return [
    // Reserved firmware RAM: named so that a stray access says what it hit.
    w('ebda', PC_EBDA_START, 0xa_0000),
    // The legacy VGA window (arch-facts C3): 64 KiB graphics, 32 KiB mono text, 32 KiB colour text.
    w('vga-graphics', 0xa_0000, 0xb_0000),
    w('vga-mono-text', 0xb_0000, 0xb_8000),
    w('vga-text', 0xb_8000, 0xc_0000),
    w('vga-rom', 0xc_0000, 0xc_8000),
    w('option-roms', 0xc_8000, 0xf_0000),
    w('bios', 0xf_0000, 0x10_0000),
    w('firmware-tables', lowRamEnd - PC_FIRMWARE_TABLES_BYTES, lowRamEnd),
    // QEMU's pci_hole runs from the end of low RAM to the IOAPIC; MMCONFIG is carved out of it.
    ...carveRegion('pci-hole', lowRamEnd, 0xfec0_0000, [
      { name: 'pcie-mmconfig', start: PC_MMCONFIG_BASE, end: PC_MMCONFIG_BASE + 256 * MiB },
      { name: 'vga-framebuffer', start: PC_FRAMEBUFFER_BASE, end: PC_FRAMEBUFFER_BASE + 16 * MiB },
    ]),
    w('ioapic', 0xfec0_0000, 0xfec0_1000), // IO_APIC_DEFAULT_ADDRESS, one 4 KiB register page
    w('hpet', 0xfed0_0000, 0xfed0_0400), // HPET_BASE, HPET_LEN = 0x400
    w('ich9-rcrb', 0xfed1_c000, 0xfed2_0000), // ICH9 root complex register block (RCBA), 16 KiB
    w('lapic', 0xfee0_0000, 0xfee0_1000), // APIC_DEFAULT_PHYS_BASE, the xAPIC register page
    w('bios-flash', 0xfffc_0000, FOUR_GIB), // SeaBIOS, 256 KiB, reset vector at 0xFFFF_FFF0
  ];
}

function checkFlavour(value: unknown): PcFlavour {
  if (value === undefined) return '64';
  if (value === '64' || value === '32') return value;
  throw new InvalidArgumentError('pc flavour', value, "'64' or '32'");
}

function checkPool(value: unknown): 'all-ram' {
  if (value === undefined || value === 'all-ram') return 'all-ram';
  throw new InvalidArgumentError(
    'pc pool',
    value,
    "'all-ram' (the only pc pool: the 'seed' pool is seed 001's AArch64 window [0x4000_0000, 0xFC00_0000))",
  );
}

/**
 * Describes a QEMU q35 PC with SeaBIOS and `-m ramBytes` (arch-facts C3).
 *
 * Memory: {@link PcBoard.e820} is the firmware's map; `ram` is its usable ranges rounded inward to
 * pages (the first range ends at 0x9_F000, not 0x9_FC00), and for flavour `'32'` only those below
 * 4 GiB. MMIO windows cover the EBDA, the VGA window (console: `vga-text` at 0xB_8000), the ROMs,
 * the firmware tables, the PCI hole with MMCONFIG and the framebuffer, the IOAPIC, HPET, ICH9
 * RCRB, local APIC and BIOS flash.
 *
 * Pool (`all-ram`): every RAM range; reserves the first 1 MiB (IVT, BIOS data area, EBDA and the
 * legacy hole, as seed 003 does) and the kernel image at 1 MiB.
 *
 * @throws InvalidArgumentError naming the value for a RAM size that is not a multiple of 2 MiB in
 *   [2 MiB, 1022 GiB], a flavour other than '64'/'32', a pool other than 'all-ram', a non-positive
 *   image size, or an image that does not fit below the firmware tables.
 */
export function createPcBoard(options: PcBoardOptions = {}): PcBoard {
  const ramBytes = options.ramBytes ?? PC_DEFAULT_RAM_BYTES;
  if (
    typeof ramBytes !== 'number' ||
    !Number.isSafeInteger(ramBytes) ||
    ramBytes < 2 * MiB ||
    ramBytes > PC_MAX_RAM_BYTES ||
    ramBytes % (2 * MiB) !== 0
  ) {
    throw new InvalidArgumentError(
      'pc ramBytes',
      ramBytes,
      'a multiple of 2 MiB from 2 MiB to 1022 GiB (like -m)',
    );
  }
  const flavour = checkFlavour(options.flavour);
  checkPool(options.pool);
  const imageBytes = options.kernelImageBytes ?? 2 * MiB;
  if (typeof imageBytes !== 'number' || !Number.isSafeInteger(imageBytes) || imageBytes <= 0) {
    throw new InvalidArgumentError('pc kernelImageBytes', imageBytes, 'a positive number of bytes');
  }
  const low = pcLowRamBytes(ramBytes);
  const usableLowEnd = low - PC_FIRMWARE_TABLES_BYTES;
  const load = PC_KERNEL_LOAD_ADDRESS;
  if (load + imageBytes > usableLowEnd) {
    throw new InvalidArgumentError(
      'pc kernel image',
      `${formatPa(load)}+${imageBytes}`,
      `an image that fits in usable RAM ${formatRange(load, usableLowEnd)} (more -m, or a smaller image)`,
    );
  }

  const e820 = Object.freeze(pcE820(ramBytes));
  const allRam = e820RamRegions(e820);
  const ram = flavour === '32' ? allRam.filter((r) => r.end <= FOUR_GIB) : allRam;
  const kernelImage =
    flavour === '32'
      ? { start: load, end: load + imageBytes, virtualBase: PC32_KERNEL_VIRTUAL_BASE }
      : { start: load, end: load + imageBytes };
  const name =
    flavour === '32'
      ? `QEMU q35 PC (32-bit, higher-half kernel at 0xC000_0000), ${formatSize(ramBytes)} RAM`
      : `QEMU q35 PC (x86_64), ${formatSize(ramBytes)} RAM`;

  const notes: string[] = [
    `e820 usable ${formatRange(0x9_f000, PC_EBDA_START)} (3 KiB) is not a whole page: RAM is the e820 usable ` +
      'ranges rounded inward to 4 KiB pages',
    `SeaBIOS keeps the top ${formatSize(PC_FIRMWARE_TABLES_BYTES)} of low RAM ${formatRange(usableLowEnd, low)} ` +
      'for its ACPI and SMBIOS tables (e820 type 2, reserved)',
  ];
  if (low < ramBytes) {
    notes.push(
      `-m ${formatSize(ramBytes)} >= 2.75 GiB: QEMU q35 puts 2 GiB below 4 GiB and ${formatSize(ramBytes - low)} ` +
        `from ${formatPa(FOUR_GIB)}`,
    );
  }
  if (flavour === '32' && allRam.length > ram.length) {
    notes.push(
      `RAM above 4 GiB ${formatRange(FOUR_GIB, FOUR_GIB + ramBytes - low)} is in the e820 map but left out: ` +
        'the 32-bit kernel layout has no highmem',
    );
  }
  const reservations: PoolReservation[] = [
    {
      start: 0,
      end: 0x10_0000,
      reason: 'first 1 MiB: real-mode IVT, BIOS data area, EBDA, legacy VGA/ROM hole (seed 003 reserves it)',
    },
    {
      start: load,
      end: load + imageBytes,
      reason:
        flavour === '32'
          ? 'kernel image (linked at 0xC010_0000, loaded at 1 MiB)'
          : 'kernel image (loaded at 1 MiB, the bzImage protected-mode default)',
    },
  ];
  const plan = allRamPlan(ram, reservations, notes);
  const board = defineBoard({
    id: 'pc',
    name,
    ram,
    mmio: pcWindows(low),
    consoleWindow: 'vga-text',
    kernelImage,
    pool: plan,
    archs: PC_FLAVOUR_ARCHS[flavour],
    describeExtra: [
      'e820 map (as SeaBIOS reports it, in the Linux boot-log format):',
      ...formatE820(e820).map((l) => `  ${l}`),
    ],
  });
  return Object.freeze({ ...board, id: 'pc' as const, flavour, e820 });
}

/** True if `board` is a pc board (it then has `e820` and `flavour`). */
export function isPcBoard(board: Board): board is PcBoard {
  return board.id === 'pc';
}
