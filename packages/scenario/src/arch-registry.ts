/**
 * The paging formats mmkit (the CLI, scenarios, the playground) can build a backend for, by the backend's own id
 * (`ArchDescription.id`): AArch64 from `@mmkit/arch-aarch64`, the four x86
 * modes from `@mmkit/arch-x86`. The CLI's `decode`, scenarios and the demo all go through
 * {@link createBackend}, so a new backend is one entry here.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createX86Arch } from '@mmkit/arch-x86';
import type { ArchBackend } from '@mmkit/core';

/** Every paging format mmkit knows, in documentation order. */
export const ARCH_IDS = ['aarch64', 'x86_64', 'x86_64-la57', 'x86-pae', 'x86-32'] as const;
/** A paging format by backend id. */
export type ArchId = (typeof ARCH_IDS)[number];
/** The x86 paging modes (`createX86Arch({ mode })`). */
export type X86ArchId = Exclude<ArchId, 'aarch64'>;

/** True if `text` is one of {@link ARCH_IDS}. */
export function isArchId(text: string): text is ArchId {
  return (ARCH_IDS as readonly string[]).includes(text);
}

/** True for the four x86 modes. */
export function isX86ArchId(id: ArchId): id is X86ArchId {
  return id !== 'aarch64';
}

/** Options of {@link createBackend}, already parsed. */
export interface BackendOptions {
  /** AArch64 MAIR_EL1 that names memory types (undefined: the backend's default, Linux `MAIR_EL1_SET`). */
  readonly mair?: bigint;
}

/**
 * Builds the backend for `id` with its defaults: `createAarch64Arch()` (or with `mair`), or
 * `createX86Arch({ mode: id })`. Options that do not apply to `id` are ignored (the commands
 * reject them first, as usage errors).
 */
export function createBackend(id: ArchId, options: BackendOptions = {}): ArchBackend {
  if (id === 'aarch64') {
    return options.mair === undefined ? createAarch64Arch() : createAarch64Arch({ mair: options.mair });
  }
  return createX86Arch({ mode: id });
}
