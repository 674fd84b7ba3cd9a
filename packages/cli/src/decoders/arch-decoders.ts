/**
 * The architectures `mmkit decode <arch>` knows: how to build the backend and
 * how a person names its translation levels.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import type { ArchBackend } from '@mmkit/core';
import { invalidValue, UsageError } from '../usage-error.js';

/** Options of {@link ArchDecoder.createBackend}, already parsed. */
export interface DecoderOptions {
  /** AArch64 MAIR_EL1 value that names memory types (undefined = the backend's default). */
  readonly mair?: bigint;
}

/** One architecture of `mmkit decode`. */
export interface ArchDecoder {
  /** The `<arch>` argument. */
  readonly id: string;
  /** Level used when `--level` is not given, e.g. `L3`. */
  readonly defaultLevel: string;
  /** What `--level` accepts, for help and error messages. */
  readonly levelSyntax: string;
  /** Options this architecture accepts besides `--level`, `--esr` and `--json`. */
  readonly extraOptions: readonly string[];
  createBackend(options: DecoderOptions): ArchBackend;
  /**
   * Parses a level as a person writes it into the internal level (1 = leaf table).
   * @throws UsageError for a level the backend does not have.
   */
  parseLevel(text: string, backend: ArchBackend): number;
}

const aarch64: ArchDecoder = {
  id: 'aarch64',
  defaultLevel: 'L3',
  levelSyntax: 'L0, L1, L2, L3 or 0..3',
  extraOptions: ['--mair'],
  createBackend(options: DecoderOptions): ArchBackend {
    return options.mair === undefined ? createAarch64Arch() : createAarch64Arch({ mair: options.mair });
  },
  parseLevel(text: string, backend: ArchBackend): number {
    const m = /^[lL]?([0-3])$/.exec(text.trim());
    const name = m ? `L${m[1]}` : undefined;
    const level = backend.description.levels.find((l) => l.name === name);
    if (!level) throw invalidValue('--level', text, 'is not an AArch64 translation level', this.levelSyntax);
    return level.level;
  },
};

/** Every architecture `mmkit decode` supports, by id. */
export const ARCH_DECODERS: Readonly<Record<string, ArchDecoder>> = { aarch64 };

/**
 * The decoder of `arch`.
 * @throws UsageError for an unknown architecture.
 */
export function archDecoder(arch: string): ArchDecoder {
  const d = Object.hasOwn(ARCH_DECODERS, arch) ? ARCH_DECODERS[arch] : undefined;
  if (!d) {
    throw new UsageError(
      `architecture ${JSON.stringify(arch)} is not supported by decode; expected one of: ${Object.keys(ARCH_DECODERS).join(', ')}`,
      arch,
    );
  }
  return d;
}
