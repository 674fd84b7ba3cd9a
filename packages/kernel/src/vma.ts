/**
 * What a process's address space is made of: VMAs (half-open page ranges with permissions,
 * flags and a name, in an O(log n) {@link VmaTree}) and the objects behind shared mappings.
 * The page tables are derived from the VMAs: a present user PTE always lies inside a VMA and
 * never grants the user more than the VMA's `prot` (audit() proves it).
 */
import type { MemoryType } from '@mmkit/core';
import { invalidArgument, PROT, protString } from './syscalls.js';
import { type Vma, VmaTree } from './vma-tree.js';

/**
 * The pages behind a shared anonymous mapping (MAP_SHARED | MAP_ANONYMOUS): one frame per page
 * index, created on first touch and kept until no VMA of any process refers to the object. The
 * object holds one reference on each of its frames; every PTE mapping a frame holds another.
 */
export class SharedObject {
  /** Page index → physical address. */
  readonly pages = new Map<number, number>();
  constructor(
    /** Identifier shown in /proc/PID/maps (as the inode). */
    readonly id: number,
    /** Size in pages. */
    readonly sizePages: number,
  ) {}
}

/** What a VMA is. Immutable: operations replace payloads. */
export interface VmaValue {
  /** PROT_* bits. */
  readonly prot: number;
  /** MAP_SHARED (true) or MAP_PRIVATE. */
  readonly shared: boolean;
  /** Anonymous memory, or a physical/device range. */
  readonly kind: 'anon' | 'device';
  /** Name shown in /proc/PID/maps: `[heap]`, `[stack]`, `text`, … or ''. */
  readonly name: string;
  /** The stack: grows down on faults below it, down to the process's stack limit. */
  readonly growsDown: boolean;
  /** Demand faults may install huge leaves (MAP_HUGETLB) where a whole aligned huge page fits. */
  readonly huge: boolean;
  /** Device mappings: physical address of the VMA's first page. */
  readonly pa: number;
  readonly memoryType: MemoryType;
  /** Shared anonymous mappings: the backing object, and the VMA's first page index in it. */
  readonly shm: SharedObject | undefined;
  readonly offsetPages: number;
  /** `name` was given to mmap for anonymous memory: /proc/PID/maps shows `[anon:name]`. */
  readonly anonName: boolean;
  /** Loaded from a file (an ELF segment): /proc/PID/maps shows `offsetPages` as the file offset. */
  readonly file: boolean;
  /**
   * The access pattern madvise recorded (Linux `VM_RAND_READ` for MADV_RANDOM, `VM_SEQ_READ` for
   * MADV_SEQUENTIAL, neither for MADV_NORMAL); smaps shows `rr` / `sr`.
   */
  readonly advice: VmaAdvice;
  /**
   * mlock state: `'locked'` = Linux `VM_LOCKED` (pages faulted in and kept from reclaim),
   * `'onfault'` = `VM_LOCKED | VM_LOCKONFAULT` (mlock2 MLOCK_ONFAULT: pages locked as they are
   * faulted in), `'none'`. smaps shows `lo` for both. Not inherited by fork (Linux `dup_mmap`).
   */
  readonly lock: VmaLock;
  /**
   * Linux `vma->anon_vma` (mm/rmap.c), as an identifier unique in the kernel: 0 while the VMA
   * has none. A private VMA gets one with its first anonymous page (`anon_vma_prepare`: a write
   * fault, a populate of writable memory, the zero page's replacement, a huge page, a page the
   * loader fills — never a read fault that maps the zero page), reusing a compatible
   * neighbour's (`find_mergeable_anon_vma`, anon-vma.ts). Splits keep it (both halves share it);
   * merges need compatible ones (Linux `is_mergeable_anon_vma`); fork copies the page tables of a
   * private VMA only when it has one and gives the child's VMA a new one (`anon_vma_fork`);
   * exec starts without any. Never shown in /proc/PID/maps.
   */
  readonly anonVmaId: number;
  /**
   * The VMA's anon_vma was made by fork (`anon_vma_fork`: its `anon_vma_chain` also links the
   * parent's, Linux `vma_had_uncowed_parents`): it never merges with a VMA without one, and
   * neighbours never reuse it.
   */
  readonly anonVmaForked: boolean;
  /**
   * A private anonymous VMA's Linux `vm_pgoff` minus its first page number (0 for every VMA
   * never moved): mmap gives an anonymous VMA `vm_pgoff = addr >> PAGE_SHIFT` (`do_mmap`), a split
   * or an expansion keeps the difference (the stack grows down with `vm_pgoff -= grow`,
   * `expand_downwards`), and mremap's move keeps the pgoff of a VMA with an anon_vma (`copy_vma`;
   * one without gets its new address's, "to increase its chance of merging") — so the moved VMA's
   * difference changes. Merges and anon_vma reuse need contiguous pgoffs, i.e. equal differences
   * (`is_mergeable_vma`'s `vm_pgoff + pglen == pgoff`, `anon_vma_compatible`). Never shown:
   * /proc/PID/maps prints offset 0 for anonymous memory (`show_map_vma` prints vm_pgoff only for
   * a file). 0 for shared, device and file VMAs (their offsets are {@link offsetPages} / `pa`).
   */
  readonly pgoffDelta: number;
}

/** See {@link VmaValue.advice}. */
export type VmaAdvice = 'normal' | 'random' | 'sequential';

/** See {@link VmaValue.lock}. */
export type VmaLock = 'none' | 'locked' | 'onfault';

/**
 * A private anonymous VMA (not MAP_SHARED, not a device range): its pages are shared
 * copy-on-write by fork and may map the zero page (Linux `is_cow_mapping`).
 */
export function isCowVma(v: VmaValue): boolean {
  return v.kind === 'anon' && v.shm === undefined && !v.shared;
}

/** A VMA of a process. */
export type ProcessVma = Vma<VmaValue>;

function sameKind(a: VmaValue, b: VmaValue): boolean {
  return (
    a.prot === b.prot &&
    a.shared === b.shared &&
    a.kind === b.kind &&
    a.name === b.name &&
    a.growsDown === b.growsDown &&
    a.huge === b.huge &&
    a.memoryType === b.memoryType &&
    a.shm === b.shm &&
    a.anonName === b.anonName &&
    a.file === b.file &&
    a.advice === b.advice &&
    a.lock === b.lock
  );
}

/** A VMA tree whose splits keep device addresses and object offsets right and whose merges follow Linux's rules. */
export function createVmaTree(): VmaTree<VmaValue> {
  return new VmaTree<VmaValue>({
    split: (v, atVpn, startVpn) => {
      const d = atVpn - startVpn;
      return vmaWith(v, { pa: v.kind === 'device' ? v.pa + d * 4096 : 0, offsetPages: v.offsetPages + d });
    },
    canMerge: (l, r) => {
      if (!sameKind(l.value, r.value) || !anonVmasMergeable(l.value, r.value)) return false;
      const pages = l.endVpn - l.startVpn;
      if (l.value.kind === 'device' && r.value.pa !== l.value.pa + pages * 4096) return false;
      if (l.value.shm && r.value.offsetPages !== l.value.offsetPages + pages) return false;
      // Linux is_mergeable_vma / can_vma_merge_after: contiguous vm_pgoff (anonymous memory too).
      if (l.value.pgoffDelta !== r.value.pgoffDelta) return false;
      return true;
    },
    // The merged VMA takes the anon_vma of whichever side has one (Linux `dup_anon_vma`).
    merge: (l, r) =>
      l.value.anonVmaId !== 0 || r.value.anonVmaId === 0
        ? l.value
        : vmaWith(l.value, { anonVmaId: r.value.anonVmaId, anonVmaForked: r.value.anonVmaForked }),
  });
}

/**
 * Linux `is_mergeable_anon_vma` (mm/vma.c, 6.16+): two VMAs may merge when neither has an
 * anon_vma, when they have the same one, or when only one has one and it was not made by fork
 * (`vma_had_uncowed_parents`); two that each got anonymous pages separately never merge.
 * Only the anon_vma part of the merge rule (the flags are compared elsewhere).
 */
export function anonVmasMergeable(a: VmaValue, b: VmaValue): boolean {
  const x = a.anonVmaId;
  const y = b.anonVmaId;
  if (x === y) return true;
  if (x === 0) return !b.anonVmaForked;
  if (y === 0) return !a.anonVmaForked;
  return false;
}

/**
 * A VMA payload with every field, always in the same order: payloads are created on every
 * mmap/split, and one object shape keeps the tree's callbacks and the fault path monomorphic
 * (see {@link anonVma} for why not object spread).
 */
export function vmaWith(base: VmaValue, patch: Partial<VmaValue>): VmaValue {
  return {
    prot: patch.prot ?? base.prot,
    shared: patch.shared ?? base.shared,
    kind: patch.kind ?? base.kind,
    name: patch.name ?? base.name,
    growsDown: patch.growsDown ?? base.growsDown,
    huge: patch.huge ?? base.huge,
    pa: patch.pa ?? base.pa,
    memoryType: patch.memoryType ?? base.memoryType,
    shm: 'shm' in patch ? patch.shm : base.shm,
    offsetPages: patch.offsetPages ?? base.offsetPages,
    anonName: patch.anonName ?? base.anonName,
    file: patch.file ?? base.file,
    advice: patch.advice ?? base.advice,
    lock: patch.lock ?? base.lock,
    anonVmaId: patch.anonVmaId ?? base.anonVmaId,
    anonVmaForked: patch.anonVmaForked ?? base.anonVmaForked,
    pgoffDelta: patch.pgoffDelta ?? base.pgoffDelta,
  };
}

const ANON: VmaValue = {
  prot: 0,
  shared: false,
  kind: 'anon',
  name: '',
  growsDown: false,
  huge: false,
  pa: 0,
  memoryType: 'normal-wb',
  shm: undefined,
  offsetPages: 0,
  anonName: false,
  file: false,
  advice: 'normal',
  lock: 'none',
  anonVmaId: 0,
  anonVmaForked: false,
  pgoffDelta: 0,
};

/**
 * An anonymous VMA payload. Built field by field: `{ ...opts, prot, name }` costs ~4 µs per call
 * on Node 20 (spread followed by extra keys leaves V8's fast path), which made mmap 3× slower.
 */
export function anonVma(prot: number, name: string, opts: Partial<VmaValue> = {}): VmaValue {
  if (typeof prot !== 'number' || (prot & 7) !== prot)
    throw invalidArgument('prot', prot, 'PROT_* bits 0..7');
  if (typeof name !== 'string') throw invalidArgument('name', name, 'a string');
  if (opts === null || typeof opts !== 'object')
    throw invalidArgument('opts', opts, 'an object or undefined');
  return {
    prot,
    shared: opts.shared ?? ANON.shared,
    kind: opts.kind ?? ANON.kind,
    name,
    growsDown: opts.growsDown ?? ANON.growsDown,
    huge: opts.huge ?? ANON.huge,
    pa: opts.pa ?? ANON.pa,
    memoryType: opts.memoryType ?? ANON.memoryType,
    shm: opts.shm,
    offsetPages: opts.offsetPages ?? ANON.offsetPages,
    anonName: opts.anonName ?? ANON.anonName,
    file: opts.file ?? ANON.file,
    advice: opts.advice ?? ANON.advice,
    lock: opts.lock ?? ANON.lock,
    anonVmaId: opts.anonVmaId ?? ANON.anonVmaId,
    anonVmaForked: opts.anonVmaForked ?? ANON.anonVmaForked,
    pgoffDelta: opts.pgoffDelta ?? ANON.pgoffDelta,
  };
}

/** The payload of a `[stack]` VMA: read/write, grows down. */
export function stackVma(): VmaValue {
  return anonVma(PROT.READ | PROT.WRITE, '[stack]', { growsDown: true });
}

/** The PROT bit an access needs (read 0, write 1, fetch 2). */
export function protFor(access: number): number {
  return access === 0 ? PROT.READ : access === 1 ? PROT.WRITE : PROT.EXEC;
}

/** Linux /proc/PID/maps permission column: `r-xp`, `rw-s`. */
export function mapsPerms(v: VmaValue): string {
  if (v === null || typeof v !== 'object') throw invalidArgument('vma', v, 'a VMA value { prot, shared }');
  return `${protString(v.prot)}${v.shared ? 's' : 'p'}`;
}
