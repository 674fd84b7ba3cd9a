/**
 * @mmkit/boards — real boards for mmkit: QEMU `virt` (AArch64) and the
 * Raspberry Pi 4B, with their RAM ranges, MMIO windows, kernel image
 * placement and the page allocator's pool plan.
 */
export { BOARD_IDS, type BoardOptions, createBoard, isBoardId } from './create-board.js';
export { formatPa, formatRange, formatSize } from './format.js';
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
