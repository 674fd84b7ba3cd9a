/**
 * The `<arch>` values of `mmkit decode`: which backend decodes them, how a
 * person names translation levels, which syndrome option applies (`--esr` on
 * AArch64, `--pf-error` on x86) and how wide an entry is.
 *
 * `x86` is not a paging mode: it only decodes a #PF error code (the same on
 * every x86 mode), with the x86_64 backend.
 */
import { parseX86Level } from '@mmkit/arch-x86';
import type { ArchBackend } from '@mmkit/core';
import { isMmError } from '@mmkit/core';
import { type ArchId, type BackendOptions, createBackend } from '../arch-registry.js';
import { invalidValue, UsageError } from '../usage-error.js';

/** One `<arch>` of `mmkit decode`. */
export interface ArchDecoder {
  /** The `<arch>` argument. */
  readonly id: string;
  /** The backend that decodes it. */
  readonly backendId: ArchId;
  /** True if it decodes page-table entries (false for `x86`, which only takes `--pf-error`). */
  readonly decodesEntries: boolean;
  /** Width of an entry in bits: 64, or 32 for x86-32's 4-byte entries. */
  readonly entryBits: 32 | 64;
  /** What a person calls one entry: `descriptor` (AArch64) or `entry` (x86 PTE/PDE/…). */
  readonly entryWord: string;
  /** The option that takes a fault syndrome. */
  readonly syndromeOption: '--esr' | '--pf-error';
  /** Width of the syndrome in bits (ESR_EL1 is 64-bit, the #PF error code 32-bit). */
  readonly syndromeBits: 32 | 64;
  /** Why `--level` does not go with the syndrome, for the usage error. */
  readonly syndromeLevelNote: string;
  /** Level used when `--level` is not given, e.g. `L3`, `PT`. */
  readonly defaultLevel: string;
  /** Options this architecture accepts besides `--level`, its syndrome option and `--json`. */
  readonly extraOptions: readonly string[];
  createBackend(options: BackendOptions): ArchBackend;
  /**
   * Parses a level as a person writes it into the internal level (1 = leaf table).
   * @throws UsageError for a level the backend does not have.
   */
  parseLevel(text: string, backend: ArchBackend): number;
}

const aarch64: ArchDecoder = {
  id: 'aarch64',
  backendId: 'aarch64',
  decodesEntries: true,
  entryBits: 64,
  entryWord: 'descriptor',
  syndromeOption: '--esr',
  syndromeBits: 64,
  syndromeLevelNote: 'the syndrome names its own level',
  defaultLevel: 'L3',
  extraOptions: ['--mair'],
  createBackend: (options) => createBackend('aarch64', options),
  parseLevel(text: string, backend: ArchBackend): number {
    const m = /^[lL]?([0-3])$/.exec(text.trim());
    const name = m ? `L${m[1]}` : undefined;
    const level = backend.description.levels.find((l) => l.name === name);
    if (!level) {
      throw invalidValue('--level', text, 'is not an AArch64 translation level', 'L0, L1, L2, L3 or 0..3');
    }
    return level.level;
  },
};

/** `A, B, C or D` */
function orList(items: readonly string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function x86Mode(id: Exclude<ArchId, 'aarch64'>): ArchDecoder {
  return {
    id,
    backendId: id,
    decodesEntries: true,
    entryBits: id === 'x86-32' ? 32 : 64,
    entryWord: 'entry',
    syndromeOption: '--pf-error',
    syndromeBits: 32,
    syndromeLevelNote: 'the #PF error code has no level',
    defaultLevel: 'PT',
    extraOptions: [],
    createBackend: () => createBackend(id),
    parseLevel(text: string, backend: ArchBackend): number {
      try {
        return parseX86Level(id, text);
      } catch (e) {
        if (!isMmError(e) || e.code !== 'E_INVALID_ARGUMENT') throw e;
        const names = [...backend.description.levels].reverse().map((l) => l.name);
        throw invalidValue('--level', text, `is not a paging level of ${id}`, orList(names));
      }
    },
  };
}

/** `decode x86 --pf-error`: the #PF error code, decoded by the x86_64 backend. */
const x86: ArchDecoder = {
  ...x86Mode('x86_64'),
  id: 'x86',
  decodesEntries: false,
};

/** Every `<arch>` `mmkit decode` supports, by id, in documentation order. */
export const ARCH_DECODERS: Readonly<Record<string, ArchDecoder>> = {
  aarch64,
  x86_64: x86Mode('x86_64'),
  'x86_64-la57': x86Mode('x86_64-la57'),
  'x86-pae': x86Mode('x86-pae'),
  'x86-32': x86Mode('x86-32'),
  x86,
};

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
