/**
 * Linux's `anon_vma` presence (mm/rmap.c), as far as it decides what a program can see: which
 * VMAs merge (vma.ts `anonVmasMergeable`) and which VMAs fork copies (fork-copy.ts). A VMA value
 * carries an identifier ({@link VmaValue.anonVmaId}, 0 = none); {@link anonVmaPrepare} gives a
 * private VMA one when it gets its first anonymous page, as `anon_vma_prepare` does.
 *
 * Ownership: nothing (identifiers are numbers; no reverse map hangs off them here — rmap.ts
 * keeps frame → (space, page) entries of its own).
 *
 * Invariant (audit.ts): a private VMA without an anon_vma maps no page other than the zero page
 * and holds no swap entry.
 */
import type { AddressSpace } from './address-space.js';
import { isCowVma, type ProcessVma, type VmaValue, vmaWith } from './vma.js';

let lastAnonVmaId = 0;

/**
 * A new anon_vma identifier, unique in this JavaScript realm (so in every address space): one
 * `anon_vma_alloc`.
 */
export function newAnonVmaId(): number {
  return ++lastAnonVmaId;
}

/**
 * Linux `anon_vma_compatible`: `b` directly follows `a`, and their flags differ at most in the
 * PROT bits (VM_READ | VM_WRITE | VM_EXEC), and their `vm_pgoff`s are consecutive (anonymous
 * memory: equal {@link VmaValue.pgoffDelta}; file mappings: the same file, the name stands for
 * it, and consecutive offsets).
 */
function compatible(a: ProcessVma, b: ProcessVma): boolean {
  const x = a.value;
  const y = b.value;
  return (
    a.endVpn === b.startVpn &&
    x.shared === y.shared &&
    x.kind === y.kind &&
    x.growsDown === y.growsDown &&
    x.huge === y.huge &&
    x.shm === y.shm &&
    x.file === y.file &&
    x.advice === y.advice &&
    x.lock === y.lock &&
    x.pgoffDelta === y.pgoffDelta &&
    (!x.file || (x.name === y.name && y.offsetPages === x.offsetPages + (a.endVpn - a.startVpn)))
  );
}

/** Linux `reusable_anon_vma`: `old`'s anon_vma, when it has one not made by fork, else 0. */
function reusable(old: VmaValue): number {
  return old.anonVmaForked ? 0 : old.anonVmaId;
}

/**
 * Linux `anon_vma_prepare` → `find_mergeable_anon_vma`: gives the private VMA `vma` (of `space`)
 * an anon_vma if it has none — the next VMA's, then the previous one's, when compatible and
 * reusable, else a new one — as a new value in place (`VmaTree.setValue`: the VMA object stays
 * the same, nothing merges). Does nothing for a VMA that has one or
 * is not private anonymous memory. Called after the first anonymous page is installed (so that
 * out of memory leaves the VMA as it was), once per VMA: the fault path tests `anonVmaId` first.
 */
export function anonVmaPrepare(space: AddressSpace, vma: ProcessVma): void {
  const v = vma.value;
  if (v.anonVmaId !== 0 || !isCowVma(v)) return;
  let id = 0;
  const next = space.vmas.findFirstAtOrAfter(vma.endVpn);
  if (next !== undefined && compatible(vma, next)) id = reusable(next.value);
  if (id === 0) {
    const prev = space.vmas.findLastBefore(vma.startVpn);
    if (prev !== undefined && compatible(prev, vma)) id = reusable(prev.value);
  }
  if (id === 0) id = newAnonVmaId();
  // In place (setValue): anon_vma_prepare merges nothing — a neighbour fork kept apart
  // (VmaTree.insertUnmerged) stays apart.
  space.vmas.setValue(vma, vmaWith(v, { anonVmaId: id, anonVmaForked: false }));
}

/** {@link anonVmaPrepare} for the VMA containing `vpn`, if any (loaders, the COW break of the zero page). */
export function anonVmaPrepareAt(space: AddressSpace, vpn: number): void {
  const vma = space.vmas.find(vpn);
  if (vma !== undefined && vma.value.anonVmaId === 0) anonVmaPrepare(space, vma);
}
