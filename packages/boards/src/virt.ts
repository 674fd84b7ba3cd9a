/**
 * QEMU `-M virt` (AArch64), as `hw/arm/virt.c` lays it out (arch-facts C1).
 *
 * ```
 * 0x0000_0000 ┌──────────────────────────┐
 *             │ flash0, flash1 (2×64 MiB)│ boot ROM / UEFI
 * 0x0800_0000 ├──────────────────────────┤
 *             │ GIC dist, CPU if, v2m,   │
 *             │ HYP, VCPU, ITS, redists  │
 * 0x0900_0000 │ UART0 (PL011), RTC,      │
 *             │ fw_cfg, GPIO, secure UART│
 *             │ SMMUv3, ACPI, pvtime     │
 * 0x0A00_0000 │ 32 × virtio-mmio (0x200) │
 * 0x0C00_0000 │ platform bus (32 MiB)    │
 * 0x0E00_0000 │ secure RAM (secure=on)   │
 * 0x1000_0000 │ PCIe MMIO, PIO, ECAM     │
 * 0x4000_0000 ├──────────────────────────┤
 *             │ RAM (-m, up to 255 GiB)  │ kernel image at 0x4008_0000
 *             └──────────────────────────┘
 * ```
 *
 * Only the fixed ("base") memory map is modelled; the floating high regions
 * QEMU places above RAM (a second redistributor region, high PCIe ECAM and
 * MMIO, at 256 GiB and up) are not.
 */
import type { MmioWindow } from '@mmkit/core';
import { InvalidArgumentError, PAGE_SIZE } from '@mmkit/core';
import { defineBoard } from './define-board.js';
import { formatPa, formatRange, formatSize } from './format.js';
import { allRamPlan, checkPoolMode, SEED_POOL_END, seedPoolPlan } from './pool-plan.js';
import type { Board, PoolMode } from './types.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** RAM base of QEMU virt (`VIRT_MEM`). */
export const VIRT_RAM_BASE = 0x4000_0000;
/** Largest `-m` the fixed map allows: 255 GiB (RAM then ends at the 256 GiB mark). */
export const VIRT_MAX_RAM_BYTES = 255 * GiB;
/** Default RAM size (1 GiB, QEMU's own default is 128 MiB; mmkit uses the seed's `-m 1G`). */
export const VIRT_DEFAULT_RAM_BYTES = GiB;
/**
 * Where QEMU loads a raw binary or an arm64 `Image` with `text_offset` 0x80000 (Linux < 5.8):
 * RAM base + 0x80000. Linux ≥ 5.8 images (`text_offset` 0) go to RAM base + 2 MiB = 0x4020_0000
 * (arch-facts C1); pass `kernelLoadAddress: 0x4020_0000` for those.
 */
export const VIRT_KERNEL_LOAD_ADDRESS = 0x4008_0000;
/** Number of virtio-mmio transports QEMU creates (`NUM_VIRTIO_TRANSPORTS`). */
export const VIRT_VIRTIO_TRANSPORTS = 32;

/** Options of {@link createVirtBoard}. */
export interface VirtBoardOptions {
  /** RAM size like `-m`: a multiple of 2 MiB from 2 MiB to 255 GiB. Default 1 GiB. */
  readonly ramBytes?: number;
  /** Allocator pool mode, default `seed`. */
  readonly pool?: PoolMode;
  /** Size of the kernel image in bytes (text, data, bss, boot scratch). Default 2 MiB. */
  readonly kernelImageBytes?: number;
  /** Load address of the image: 0x4008_0000 (default) or 0x4020_0000 for Linux ≥ 5.8 `Image` files. */
  readonly kernelLoadAddress?: number;
}

/** The fixed MMIO windows of `base_memmap` (QEMU hw/arm/virt.c), without devices. */
function virtWindows(): MmioWindow[] {
  const w = (name: string, start: number, size: number): MmioWindow => ({ name, start, end: start + size });
  const windows: MmioWindow[] = [
    // VIRT_FLASH: two CFI pflash banks of half the region each.
    w('flash0', 0x0000_0000, 0x0400_0000),
    w('flash1', 0x0400_0000, 0x0400_0000),
    w('gic-distributor', 0x0800_0000, 0x1_0000),
    w('gic-cpu-interface', 0x0801_0000, 0x1_0000), // GICv2 only
    w('gic-v2m', 0x0802_0000, 0x1000),
    w('gic-hyp', 0x0803_0000, 0x1_0000), // GICv2 virtualization control
    w('gic-vcpu', 0x0804_0000, 0x1_0000), // GICv2 virtual CPU interface
    w('gic-its', 0x0808_0000, 0x2_0000),
    w('gic-redistributors', 0x080a_0000, 0x00f6_0000), // 2 × 64 KiB per CPU, up to 123 CPUs
    w('uart0', 0x0900_0000, 0x1000), // PL011, SPI 1
    w('rtc', 0x0901_0000, 0x1000), // PL031
    w('fw-cfg', 0x0902_0000, 0x18),
    w('gpio', 0x0903_0000, 0x1000), // PL061
    w('secure-uart', 0x0904_0000, 0x1000),
    w('smmu', 0x0905_0000, 0x2_0000), // SMMUv3 (iommu=smmuv3)
    w('pcdimm-acpi', 0x0907_0000, 24), // MEMORY_HOTPLUG_IO_LEN
    w('acpi-ged', 0x0908_0000, 4), // ACPI_GED_EVT_SEL_LEN
    w('nvdimm-acpi', 0x0909_0000, 4), // NVDIMM_ACPI_IO_LEN
    w('pvtime', 0x090a_0000, 0x1_0000), // KVM stolen-time structures
    w('secure-gpio', 0x090b_0000, 0x1000),
  ];
  for (let i = 0; i < VIRT_VIRTIO_TRANSPORTS; i++)
    windows.push(w(`virtio-mmio.${i}`, 0x0a00_0000 + i * 0x200, 0x200));
  windows.push(
    w('platform-bus', 0x0c00_0000, 0x0200_0000),
    w('secure-ram', 0x0e00_0000, 0x0100_0000), // only with secure=on; never RAM for the non-secure kernel
    w('pcie-mmio', 0x1000_0000, 0x2eff_0000),
    w('pcie-pio', 0x3eff_0000, 0x1_0000),
    w('pcie-ecam', 0x3f00_0000, 0x0100_0000),
  );
  return windows;
}

function checkPositiveInteger(what: string, value: unknown, expected: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError(what, value, expected);
  }
  return value;
}

/**
 * Describes a QEMU `virt` machine with `-m ramBytes`.
 *
 * Pool plans: `seed` manages `[0x4000_0000, 0xFC00_0000)`, reserves everything below the kernel
 * image end and everything above the RAM end (for `-m` below 3008 MiB); RAM above 0xFC00_0000 is
 * then unused. `all-ram` manages all RAM and reserves `[0x4000_0000, kernel image end)` (QEMU's
 * boot stub and, for ELF kernels, the DTB live at the RAM base).
 *
 * @throws InvalidArgumentError naming the value for a RAM size that is not a multiple of 2 MiB in
 *   [2 MiB, 255 GiB], a bad pool mode, a non-positive image size, or an image that does not fit in RAM.
 */
export function createVirtBoard(options: VirtBoardOptions = {}): Board {
  const ramBytes = options.ramBytes ?? VIRT_DEFAULT_RAM_BYTES;
  if (
    typeof ramBytes !== 'number' ||
    !Number.isSafeInteger(ramBytes) ||
    ramBytes < 2 * MiB ||
    ramBytes > VIRT_MAX_RAM_BYTES ||
    ramBytes % (2 * MiB) !== 0
  ) {
    throw new InvalidArgumentError(
      'virt ramBytes',
      ramBytes,
      'a multiple of 2 MiB from 2 MiB to 255 GiB (like -m)',
    );
  }
  const pool = checkPoolMode('virt', options.pool);
  const imageBytes = checkPositiveInteger(
    'virt kernelImageBytes',
    options.kernelImageBytes ?? 2 * MiB,
    'a positive number of bytes',
  );
  const ramEnd = VIRT_RAM_BASE + ramBytes;
  const load = options.kernelLoadAddress ?? VIRT_KERNEL_LOAD_ADDRESS;
  if (
    typeof load !== 'number' ||
    !Number.isSafeInteger(load) ||
    load % PAGE_SIZE !== 0 ||
    load < VIRT_RAM_BASE
  ) {
    throw new InvalidArgumentError(
      'virt kernelLoadAddress',
      load,
      `a 4 KiB-aligned address in RAM (0x4008_0000, or 0x4020_0000 for Linux >= 5.8 images)`,
    );
  }
  if (load + imageBytes > ramEnd) {
    throw new InvalidArgumentError(
      'virt kernel image',
      `${formatPa(load)}+${imageBytes}`,
      `an image that fits in RAM ${formatRange(VIRT_RAM_BASE, ramEnd)}`,
    );
  }
  const kernelImage = { start: load, end: load + imageBytes };
  const ram = [{ name: 'ram', start: VIRT_RAM_BASE, end: ramEnd }];
  const name = `QEMU virt (aarch64), ${formatSize(ramBytes)} RAM`;
  const bootNote =
    `kernel image at ${formatPa(load)}: QEMU loads a raw binary or an Image with text_offset 0x80000 at RAM + 0x80000; ` +
    'a Linux >= 5.8 Image (text_offset 0) goes to RAM + 2 MiB = 0x4020_0000 (arch-facts C1)';
  const plan =
    pool === 'seed'
      ? seedPoolPlan('virt', name, ram, kernelImage, [
          ...(ramEnd > SEED_POOL_END
            ? [
                `-m ${formatSize(ramBytes)} exceeds the seed pool: the seed only manages RAM below 0xFC00_0000`,
              ]
            : []),
          bootNote,
        ])
      : allRamPlan(
          ram,
          [
            ...(load > VIRT_RAM_BASE
              ? [
                  {
                    start: VIRT_RAM_BASE,
                    end: load,
                    reason: 'RAM base up to the kernel image: QEMU boot stub, and the DTB for ELF kernels',
                  },
                ]
              : []),
            { start: load, end: kernelImage.end, reason: 'kernel image' },
          ],
          [
            bootNote,
            'QEMU puts the DTB at the RAM base for ELF kernels; for a Linux Image it goes above the kernel and ' +
              'initrd, which this plan does not reserve',
          ],
        );
  return defineBoard({
    id: 'virt',
    name,
    ram,
    mmio: virtWindows(),
    consoleWindow: 'uart0',
    kernelImage,
    pool: plan,
  });
}
