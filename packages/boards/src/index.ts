/**
 * @mmkit/boards — real boards for mmkit: QEMU `virt` (AArch64), the
 * Raspberry Pi 4B and a QEMU q35 PC (x86), with their RAM ranges, MMIO
 * windows, kernel image placement and the page allocator's pool plan.
 *
 * @packageDocumentation
 * @module @mmkit/boards
 */
export { BOARD_IDS, type BoardOptions, createBoard, isBoardId } from './create-board.js';
export { E820_TYPE_NAMES, type E820Entry, type E820Type, e820RamRegions, formatE820 } from './e820.js';
export { formatPa, formatRange, formatSize } from './format.js';
export {
  createPcBoard,
  isPcBoard,
  PC_DEFAULT_RAM_BYTES,
  PC_EBDA_START,
  PC_FIRMWARE_TABLES_BYTES,
  PC_FLAVOUR_ARCHS,
  PC_FLAVOURS,
  PC_FRAMEBUFFER_BASE,
  PC_KERNEL_LOAD_ADDRESS,
  PC_MAX_RAM_BYTES,
  PC_MMCONFIG_BASE,
  PC32_KERNEL_VIRTUAL_BASE,
  PC32_PAGE_OFFSET,
  type PcBoard,
  type PcBoardOptions,
  type PcFlavour,
  pcFlavourForArch,
  pcLowRamBytes,
} from './pc.js';
export { POOL_MODES, SEED_POOL_END, SEED_POOL_START } from './pool-plan.js';
export {
  createRpi4bBoard,
  RPI4B_DEFAULT_LOW_RAM_END,
  RPI4B_KERNEL_LOAD_ADDRESS,
  RPI4B_RAM_GIB,
  type Rpi4bBoardOptions,
} from './rpi4b.js';
export type {
  AllocatorPoolPlan,
  Board,
  BoardArch,
  BoardDevices,
  BoardId,
  KernelImage,
  PoolMode,
  PoolReservation,
} from './types.js';
export {
  createVirtBoard,
  VIRT_DEFAULT_RAM_BYTES,
  VIRT_KERNEL_LOAD_ADDRESS,
  VIRT_MAX_RAM_BYTES,
  VIRT_RAM_BASE,
  VIRT_VIRTIO_TRANSPORTS,
  type VirtBoardOptions,
} from './virt.js';
