/**
 * Raspberry Pi 4 Model B (BCM2711) in the default "low peripheral" mode, with
 * the RAM the firmware reports (arch-facts C2; Linux `bcm2711.dtsi` and
 * `bcm283x.dtsi` for device addresses and sizes).
 *
 * ```
 * 0x0_0000_0000 ┌───────────────────────────┐ page 0: armstub spin tables (cpu-release-addr 0xD8..0xF0)
 *               │ RAM (low)                 │ kernel8.img at 0x8_0000
 * 0x0_3B40_0000 ├───────────────────────────┤ VideoCore gpu_mem (76 MiB by default): not ARM RAM
 * 0x0_4000_0000 ├───────────────────────────┤
 *               │ RAM (2, 4, 8 GiB models)  │ 2 GiB model: up to 0x8000_0000
 * 0x0_FC00_0000 ├───────────────────────────┤
 *               │ BCM2711 peripherals       │ PCIe controller, GENET
 * 0x0_FE00_0000 │ main peripherals          │ timer, mailbox, GPIO, UART0, AUX, EMMC2
 * 0x0_FF80_0000 │ ARM local, GIC-400        │
 * 0x1_0000_0000 ├───────────────────────────┤
 *               │ RAM (8 GiB model)         │
 * 0x2_0000_0000 └───────────────────────────┘
 *   0x6_0000_0000  PCIe outbound window (64 MiB)
 * ```
 */
import type { MmioWindow, PhysicalRegion } from '@mmkit/core';
import { InvalidArgumentError, PAGE_SIZE } from '@mmkit/core';
import { defineBoard } from './define-board.js';
import { formatPa, formatRange } from './format.js';
import { carveRegion } from './mmio-layout.js';
import { allRamPlan, checkPoolMode, seedPoolPlan } from './pool-plan.js';
import type { Board, PoolMode, PoolReservation } from './types.js';

/** RAM sizes of the Raspberry Pi 4B models, in GiB. */
export const RPI4B_RAM_GIB: readonly (1 | 2 | 4 | 8)[] = Object.freeze([1, 2, 4, 8] as const);
/** Where the firmware loads `kernel8.img` by default (long-standing config.txt docs; arch-facts C2, D3). */
export const RPI4B_KERNEL_LOAD_ADDRESS = 0x8_0000;
/** End of the low RAM range with the default `gpu_mem` = 76 MiB. */
export const RPI4B_DEFAULT_LOW_RAM_END = 0x3b40_0000;

/** Options of {@link createRpi4bBoard}. */
export interface Rpi4bBoardOptions {
  /** Model: 1, 2, 4 or 8 GiB. Default 4. */
  readonly ramGiB?: 1 | 2 | 4 | 8;
  /** Allocator pool mode, default `seed` (not available for the 1 GiB model). */
  readonly pool?: PoolMode;
  /** Size of kernel8.img in bytes (text, data, bss). Default 2 MiB. */
  readonly kernelImageBytes?: number;
  /** Load address: 0x8_0000 (default) or e.g. 0x20_0000 (newer firmware docs, `kernel_address=`). */
  readonly kernelLoadAddress?: number;
  /**
   * End of the low RAM range, where the VideoCore's `gpu_mem` starts. Default 0x3B40_0000
   * (gpu_mem = 76 MiB); it moves with `gpu_mem` (firmware issue #1374 shows 0x3700_0000).
   */
  readonly lowRamEnd?: number;
}

/** RAM ranges of a model as the firmware reports them in the DT `memory` node. */
function rpiRam(ramGiB: 1 | 2 | 4 | 8, lowRamEnd: number): PhysicalRegion[] {
  const ram: PhysicalRegion[] = [{ name: 'ram-low', start: 0, end: lowRamEnd }];
  if (ramGiB === 2) ram.push({ name: 'ram-high', start: 0x4000_0000, end: 0x8000_0000 });
  // 4 and 8 GiB: RAM up to 4 GiB, except the top 64 MiB hidden by the peripherals.
  if (ramGiB >= 4) ram.push({ name: 'ram-high', start: 0x4000_0000, end: 0xfc00_0000 });
  if (ramGiB === 8) ram.push({ name: 'ram-above-4g', start: 0x1_0000_0000, end: 0x2_0000_0000 });
  return ram;
}

/** The peripheral windows (ARM physical addresses of the low-peripheral mode). */
function rpiWindows(): MmioWindow[] {
  const d = (name: string, start: number, size: number) => ({ name, start, end: start + size });
  return [
    // bus 0x7C00_0000: BCM2711-specific peripherals (scb)
    ...carveRegion('bcm2711-peripherals', 0xfc00_0000, 0xfe00_0000, [
      d('pcie-controller', 0xfd50_0000, 0x9310),
      d('genet', 0xfd58_0000, 0x1_0000),
    ]),
    // bus 0x7E00_0000: the peripherals shared with BCM283x, 24 MiB
    ...carveRegion('main-peripherals', 0xfe00_0000, 0xff80_0000, [
      d('system-timer', 0xfe00_3000, 0x1000),
      d('mailbox', 0xfe00_b880, 0x40),
      d('gpio', 0xfe20_0000, 0xf4), // BCM2711 adds pull registers up to offset 0xF0
      d('uart0', 0xfe20_1000, 0x200), // PL011
      d('aux', 0xfe21_5000, 0x100), // AUX enables, mini UART (+0x40), SPI1 (+0x80), SPI2 (+0xC0)
      d('emmc2', 0xfe34_0000, 0x100),
    ]),
    // local 0x4000_0000: ARM local peripherals and the GIC-400
    ...carveRegion('arm-local', 0xff80_0000, 0x1_0000_0000, [
      d('arm-local-intc', 0xff80_0000, 0x100),
      d('gic-distributor', 0xff84_1000, 0x1000),
      d('gic-cpu-interface', 0xff84_2000, 0x2000),
      d('gic-hyp', 0xff84_4000, 0x2000),
      d('gic-vcpu', 0xff84_6000, 0x2000),
    ]),
    d('pcie-outbound', 0x6_0000_0000, 0x400_0000),
  ];
}

/**
 * Describes a Raspberry Pi 4B with `ramGiB` of RAM.
 *
 * Pool plans: `seed` manages `[0x4000_0000, 0xFC00_0000)` and reserves nothing for the kernel
 * (kernel8.img sits below the pool); RAM below 1 GiB and above 4 GiB is then unused, and the 1 GiB
 * model has no RAM in the pool at all. `all-ram` manages every RAM range and reserves page 0
 * (armstub spin tables) and everything up to the kernel image end, so PA 0 is never handed out.
 *
 * @throws InvalidArgumentError naming the value for a model other than 1/2/4/8 GiB, a bad pool mode,
 *   `seed` on the 1 GiB model, or a kernel image that does not fit in the low RAM range.
 */
export function createRpi4bBoard(options: Rpi4bBoardOptions = {}): Board {
  const ramGiB = options.ramGiB ?? 4;
  if (!RPI4B_RAM_GIB.includes(ramGiB)) {
    throw new InvalidArgumentError('rpi4b ramGiB', ramGiB, 'one of 1, 2, 4, 8 (the Raspberry Pi 4B models)');
  }
  const pool = checkPoolMode('rpi4b', options.pool);
  const imageBytes = options.kernelImageBytes ?? 2 * 2 ** 20;
  if (typeof imageBytes !== 'number' || !Number.isSafeInteger(imageBytes) || imageBytes <= 0) {
    throw new InvalidArgumentError('rpi4b kernelImageBytes', imageBytes, 'a positive number of bytes');
  }
  const lowRamEnd = options.lowRamEnd ?? RPI4B_DEFAULT_LOW_RAM_END;
  if (
    typeof lowRamEnd !== 'number' ||
    !Number.isSafeInteger(lowRamEnd) ||
    lowRamEnd % PAGE_SIZE !== 0 ||
    lowRamEnd <= 0 ||
    lowRamEnd > 0x4000_0000
  ) {
    throw new InvalidArgumentError(
      'rpi4b lowRamEnd',
      lowRamEnd,
      'a 4 KiB-aligned address in (0, 0x4000_0000]',
    );
  }
  const load = options.kernelLoadAddress ?? RPI4B_KERNEL_LOAD_ADDRESS;
  if (typeof load !== 'number' || !Number.isSafeInteger(load) || load % PAGE_SIZE !== 0 || load < PAGE_SIZE) {
    throw new InvalidArgumentError(
      'rpi4b kernelLoadAddress',
      load,
      'a 4 KiB-aligned address above page 0 (which holds the armstub spin tables)',
    );
  }
  if (load + imageBytes > lowRamEnd) {
    throw new InvalidArgumentError(
      'rpi4b kernel image',
      `${formatPa(load)}+${imageBytes}`,
      `an image that fits in the low RAM range ${formatRange(0, lowRamEnd)}`,
    );
  }
  const kernelImage = { start: load, end: load + imageBytes };
  const ram = rpiRam(ramGiB, lowRamEnd);
  const name = `Raspberry Pi 4 Model B (BCM2711), ${ramGiB} GiB RAM`;
  const gpuNote =
    `RAM ${formatRange(lowRamEnd, 0x4000_0000)} belongs to the VideoCore (gpu_mem); the split moves with gpu_mem ` +
    '(arch-facts C2)';
  const plan =
    pool === 'seed'
      ? seedPoolPlan('rpi4b', name, ram, kernelImage, [
          'kernel8.img lies below the seed pool, so seed reserve_below reserves nothing on this board',
          ...(ramGiB === 2
            ? [
                'the seed kernel never reserved [0x8000_0000, 0xFC00_0000) on rpi4b (it assumed 4 GiB); ' +
                  'this plan reserves it because no RAM is there',
              ]
            : []),
          gpuNote,
        ])
      : allRamPlan(ram, rpiReservations(kernelImage.start, kernelImage.end), [gpuNote]);
  return defineBoard({
    id: 'rpi4b',
    name,
    ram,
    mmio: rpiWindows(),
    consoleWindow: 'uart0',
    kernelImage,
    pool: plan,
  });
}

function rpiReservations(load: number, end: number): PoolReservation[] {
  const out: PoolReservation[] = [
    { start: 0, end: PAGE_SIZE, reason: 'armstub spin tables (page 0; also keeps PA 0 out of the pool)' },
  ];
  if (load > PAGE_SIZE) {
    out.push({ start: PAGE_SIZE, end: load, reason: 'below the kernel image: firmware and boot area' });
  }
  out.push({ start: load, end, reason: 'kernel image (kernel8.img)' });
  return out;
}
