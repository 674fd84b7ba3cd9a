/**
 * Progress reports of long kernel work — boot (frame table, reverse map, swap map, linear map on a
 * large board) and {@link audit} (every frame) — for a progress bar. The callback is throttled by
 * construction: boot reports once per phase, the audit once every 2^20
 * frames (never per frame), so a run without a callback and one with a no-op callback cost the same.
 */
import { invalidArgument } from './syscalls.js';

/**
 * Told how far long work is: `phase` names what runs (`frame table`, `reverse map`, `swap map`,
 * `linear map`, `cpus`, `boot`; `audit`), `done` of `total` units (boot: phases; audit: frames).
 * Called with `done === total` when the work is complete. Must not call back into the kernel.
 */
export type ProgressCallback = (phase: string, done: number, total: number) => void;

/** Boot phases, in the order bootKernel reports them (each is reported when it starts). */
export const BOOT_PHASES = ['frame table', 'reverse map', 'swap map', 'linear map', 'cpus'] as const;

/** The audit reports once per this many frames (4 GiB of 4 KiB frames). */
export const AUDIT_PROGRESS_FRAMES = 1 << 20;

/** Checks an `onProgress` option: undefined or a function. */
export function checkProgress(what: string, value: unknown): ProgressCallback | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw invalidArgument(what, value, 'a function (phase, done, total) => void, or undefined');
  return value as ProgressCallback | undefined;
}

/**
 * @internal Boot's reporter: `phase(name)` reports that `name` starts (done = phases finished so
 * far), `done()` that boot is complete. Does nothing without a callback.
 */
export class BootProgress {
  constructor(private readonly callback: ProgressCallback | undefined) {}
  /** Reports that boot phase `name` starts. */
  phase(name: (typeof BOOT_PHASES)[number]): void {
    this.callback?.(name, BOOT_PHASES.indexOf(name), BOOT_PHASES.length);
  }
  /** Reports that boot is complete. */
  done(): void {
    this.callback?.('boot', BOOT_PHASES.length, BOOT_PHASES.length);
  }
}
