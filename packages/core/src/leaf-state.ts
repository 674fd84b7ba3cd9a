/**
 * The hardware state a leaf keeps when a kernel rewrites its permissions: Linux's `pte_modify`
 * (mprotect's `change_pte_range`) and `pte_dirty`, over the neutral {@link LeafAttributes} and the
 * backend's {@link ArchCapabilities.softwareDirty}. Not on a hot path (one call per rewritten
 * leaf); nothing here knows an architecture by name.
 *
 * ```
 *                      old leaf                     new leaf (modifyLeaf)
 * x86 (no software-    A, D (D valid read-only)  →  A, D kept (_PAGE_CHG_MASK); permissions new
 *   dirty bit)
 * arm64 (softwareDirty AF, hw dirty (DBM, AP[2]=0) → AF kept; PTE_DIRTY (bit 55) set when it was
 *   = bit 55)          or PTE_DIRTY                 dirty; writable again + dirty → AP[2] = 0
 * ```
 */
import type { ArchDescription, LeafAttributes } from './arch.js';
import { checkDescription, checkLeafAttributes } from './arg-checks.js';

/** The software-dirty bit of a checked description (0 when it has none). */
function softwareDirtyOf(description: ArchDescription): number {
  return description.capabilities.softwareDirty ?? 0;
}

/**
 * Linux `pte_dirty`: the leaf is dirty when its hardware dirty state is set (x86 D; AArch64
 * DBM with AP[2] = 0, `pte_hw_dirty`) or, on an architecture with a
 * {@link ArchCapabilities.softwareDirty} bit, that software bit is set (arm64 `pte_sw_dirty`).
 * @throws InvalidArgumentError unless `description` is an architecture description and `attrs`
 *   leaf attributes.
 */
export function isLeafDirty(description: ArchDescription, attrs: LeafAttributes): boolean {
  const d = checkDescription('isLeafDirty description', description);
  const a = checkLeafAttributes('isLeafDirty attrs', attrs);
  return a.dirty || (a.software & softwareDirtyOf(d)) !== 0;
}

/**
 * Linux `pte_modify(old, newprot)` in neutral form: the leaf `next` describes (its permissions,
 * memory type, global bit and contiguous hint) with the state the hardware and software left in
 * `old`: the accessed flag and the software bits are kept, and so is the dirty state —
 *
 * - where the hardware dirty bit is valid on any leaf (no `softwareDirty` bit: x86 D is in
 *   `_PAGE_CHG_MASK`), `dirty` is kept as it was, writable or not;
 * - with a `softwareDirty` bit (arm64), a dirty `old` (`pte_hw_dirty` or `pte_sw_dirty`) gets
 *   that bit (`PTE_DIRTY`), and a writable `next` is hardware-dirty again (`pte_mkdirty` clears
 *   PTE_RDONLY when PTE_WRITE is set); a read-only one carries the dirtiness in the bit only.
 *
 * `next.dirty` stands for what a fresh mapping must have (a writable leaf on hardware without
 * dirty management is always dirty) and is kept when set.
 * x86 kernels with user shadow stacks (`X86_FEATURE_USER_SHSTK`) would move D to
 * `_PAGE_SAVED_DIRTY` on a write-protected leaf; mmkit models CPUs without them, where Linux's
 * `pte_mksaveddirty` changes nothing.
 * @throws InvalidArgumentError unless `description` is an architecture description and `old`
 *   and `next` leaf attributes.
 */
export function modifyLeaf(
  description: ArchDescription,
  old: LeafAttributes,
  next: LeafAttributes,
): LeafAttributes {
  const d = checkDescription('modifyLeaf description', description);
  const o = checkLeafAttributes('modifyLeaf old', old);
  const n = checkLeafAttributes('modifyLeaf next', next);
  const mask = softwareDirtyOf(d);
  const wasDirty = o.dirty || (o.software & mask) !== 0;
  const writable = n.user.write || n.kernel.write;
  const dirty = mask === 0 ? wasDirty || n.dirty : writable && (wasDirty || n.dirty);
  const attrs: LeafAttributes = {
    user: n.user,
    kernel: n.kernel,
    global: n.global,
    memoryType: n.memoryType,
    accessed: o.accessed,
    dirty,
    software: wasDirty ? o.software | mask : o.software,
  };
  return n.contiguous === undefined ? attrs : { ...attrs, contiguous: n.contiguous };
}
