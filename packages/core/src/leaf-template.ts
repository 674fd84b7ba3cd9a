/**
 * Leaf templates: a leaf descriptor with its output address left out, so that a hot path (the
 * kernel's demand-zero fault) can install many leaves with the same attributes without going
 * through the codec: `lo | pa[31:0]`, `hi | pa[63:32]` (see `PageTableEditor.fillAbsent`).
 *
 * Assumption, checked and never taken on trust: the output address field of the format is the
 * physical address itself at its own bit positions (bit k of the descriptor is bit k of the PA
 * for every PA bit above the leaf's offset bits), with nothing else depending on the address.
 * That is true of AArch64 (4 KiB granule, up to 48-bit PAs) and of every x86 mode for 4 KiB pages,
 * and false of, e.g., RISC-V (PPN at bit 10) or AArch64 52-bit PAs (PA[51:48] at bits 15:12).
 * {@link leafTemplate} compares the codec's encoding with the template at several addresses
 * (the lowest and highest aligned PA and one in between) and returns undefined if any differs.
 */
import { TWO_32 } from './address.js';
import type { ArchBackend, LeafAttributes } from './arch.js';
import { checkBackend, checkInt, checkLeafAttributes } from './arg-checks.js';

/** A leaf descriptor without its output address: the encoding of the leaf at PA 0. */
export interface LeafTemplate {
  /** Low 32 bits of the descriptor at PA 0. */
  readonly lo: number;
  /** High 32 bits of the descriptor at PA 0 (0 for 4-byte descriptors). */
  readonly hi: number;
  /** The level it was made for (1 = smallest page). */
  readonly level: number;
}

/**
 * Builds a {@link LeafTemplate} for `attrs` at `level`, or undefined if the backend's encoding is
 * not "template OR physical address" (module documentation). The template is frozen: it is
 * what `PageTableEditor.fillAbsent` trusts without checking on its hot path.
 * @throws InvalidArgumentError unless `backend` is a backend, `attrs` well-typed leaf attributes
 *   and `level` an internal level of the backend; UnrepresentableError (from the codec) if
 *   `attrs` cannot be encoded at `level`.
 */
export function leafTemplate(
  backend: ArchBackend,
  attrs: LeafAttributes,
  level = 1,
): LeafTemplate | undefined {
  const { codec, description, geometry } = checkBackend('backend', backend);
  checkLeafAttributes('leaf attributes', attrs);
  checkInt('leaf level', level, 1, geometry.rootLevel);
  const base = codec.encode({ kind: 'leaf', pa: 0, attrs }, level);
  const size = geometry.entrySizeBytes[level]!;
  const limit = 2 ** description.paBits;
  const top = limit - size;
  for (const pa of [size, top, 0x1234_5000 - (0x1234_5000 % size), Math.floor(limit / 2 / size) * size]) {
    if (pa <= 0 || pa >= limit) continue;
    const raw = codec.encode({ kind: 'leaf', pa, attrs }, level);
    if (raw.lo !== (base.lo | (pa >>> 0)) >>> 0 || raw.hi !== (base.hi | Math.floor(pa / TWO_32)) >>> 0)
      return undefined;
  }
  return Object.freeze({ lo: base.lo >>> 0, hi: base.hi >>> 0, level });
}
