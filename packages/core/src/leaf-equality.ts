/**
 * Equality of two leaf attribute sets, field by field (internal, unchecked; the public, checked
 * form is `sameLeafAttributes` in `arch-helpers.ts`).
 */
import type { LeafAttributes } from './arch.js';

/**
 * True if `a` and `b` encode the same leaf: permissions, memory type, global, software bits, and
 * — unless ignored — the accessed/dirty state and the contiguous hint.
 */
export function leafAttributesEqual(
  a: LeafAttributes,
  b: LeafAttributes,
  ignoreAccessDirty: boolean,
  ignoreContiguous: boolean,
): boolean {
  return (
    a.user.read === b.user.read &&
    a.user.write === b.user.write &&
    a.user.execute === b.user.execute &&
    a.kernel.read === b.kernel.read &&
    a.kernel.write === b.kernel.write &&
    a.kernel.execute === b.kernel.execute &&
    a.global === b.global &&
    a.memoryType === b.memoryType &&
    a.software === b.software &&
    (ignoreAccessDirty || (a.accessed === b.accessed && a.dirty === b.dirty)) &&
    (ignoreContiguous || (a.contiguous ?? false) === (b.contiguous ?? false))
  );
}
