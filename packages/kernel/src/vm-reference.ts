/**
 * A reference model of one process's user address space, for tests only (not exported from
 * `index.ts`). It answers "what could a program observe?" for the syscall facade of issue 4
 * (`mmap`, `munmap`, `mprotect`, `brk`, `mremap`, loads, stores, fetches, copy to/from user,
 * `fork`) and is kept
 * deliberately naive so that it is obviously right: a `Map` from page number to what lives
 * there, no trees, no page tables, no frames, no huge pages, no TLB.
 *
 * ```
 *   page number ──▶ ModelPage { prot, name, huge, backing }
 *                                           │
 *                  ┌────────────────────────┴───────────────────────┐
 *        private: { data: Uint8Array(4096) | undefined }   shared: { object, index }
 *        (undefined = never written = zeros; copied by fork)  (object.pages: index → bytes; fork shares it)
 * ```
 *
 * Semantics (Linux's, as the facade documents them in `syscalls.ts` and issue 4; every rule is
 * one `if` below, in the order the kernel checks them):
 * - mmap: exactly one of MAP_SHARED / MAP_PRIVATE, MAP_ANONYMOUS, prot ⊆ rwx, non-zero length
 *   (EINVAL); length rounded up to pages; a length larger than the user half, or a fixed range
 *   leaving it, is ENOMEM; MAP_FIXED / MAP_FIXED_NOREPLACE need a page-aligned addr (EINVAL);
 *   MAP_FIXED replaces, MAP_FIXED_NOREPLACE over any mapped page is EEXIST; otherwise a
 *   page-aligned, free hint at or above `mmapMinVpn` is used as is (an unaligned hint is ignored:
 *   the facade's rule; Linux rounds it up), and anything else is placed
 *   top-down: the highest free range ending at or below `mmapTopVpn` (Linux
 *   `unmapped_area_topdown`), aligned to a huge page for MAP_HUGETLB requests of at least one.
 *   MAP_POPULATE changes nothing a program observes (a populated page reads zeros as a lazy
 *   one does) and is never an error: Linux's `vm_mmap_pgoff` ignores `mm_populate`'s result,
 *   so running out of memory while populating leaves the rest to fault in on first touch.
 * - munmap: page-aligned addr, non-zero length, range inside the user half (EINVAL, Linux's
 *   `len > TASK_SIZE - start` check); any range; unmapping nothing succeeds.
 * - mprotect: prot ⊆ rwx, page-aligned addr, non-zero length (EINVAL; Linux returns 0 for a
 *   zero length, issue 4 says EINVAL); a range leaving the user half or containing an unmapped
 *   page is ENOMEM with nothing changed (Linux changes the VMAs before the hole; issue 4 forbids
 *   partial results).
 * - brk: below the heap base or above the stack guard → refused (the old break is returned);
 *   growing needs [old end, new end + `brkGapPages`) free (Linux: `newbrk + PAGE_SIZE` must not
 *   reach the next VMA); shrinking unmaps [new end, old end) whatever is mapped there; pages
 *   keep their contents while they stay mapped (the break may move inside one page).
 * - mremap: flags ⊆ MREMAP_MAYMOVE, page-aligned old address, non-zero lengths (EINVAL); the old
 *   range must lie inside one VMA (EFAULT); shrinking unmaps the tail; growing extends in place
 *   only when the old range ends at its VMA's end and the pages after it are free (Linux
 *   `vma_expandable`), else with MREMAP_MAYMOVE moves the pages (contents preserved) to a
 *   top-down range, else ENOMEM. Growing a shared mapping is not modelled (Linux gives SIGBUS
 *   beyond the shmem object's size): the model throws.
 * - Accesses: no page → SIGSEGV/SEGV_MAPERR; a page whose effective permissions (see
 *   {@link effectiveProt}) lack the access → SIGSEGV/SEGV_ACCERR; otherwise loads and fetches
 *   return the little-endian value last stored (0 if never written), stores update it.
 *   Kill reasons use the kernel's names: a fetch is an `exec fault`, a data access to no
 *   mapping an `invalid address`, a data access without permission a `permission fault`.
 * - VMAs are not stored: {@link AddressSpaceModel.vmaList} derives them as maximal runs of
 *   consecutive pages that Linux would merge (same prot, name, MAP_HUGETLB-ness and
 *   private/shared; shared pages only with the same object at consecutive indices) and that have
 *   the same anon_vma label.
 * - anon_vma (Linux mm/rmap.c, `is_mergeable_anon_vma` in mm/vma.c): every page carries its VMA's
 *   label ({@link ModelPage.anon}). A private VMA gets one when it gets its first anonymous page
 *   — a store or copy_to_user, MAP_POPULATE or mlock of writable memory, any fault of a
 *   MAP_HUGETLB page — never by a read that maps the zero page: the next VMA's label, else the
 *   previous one's, when it differs at most in prot and name and was not made by fork
 *   (`find_mergeable_anon_vma`), else a new one. After every change of VMAs, neighbours that
 *   Linux would merge are relabelled left to right: a VMA without a label takes its
 *   neighbour's unless that one was made by fork; two different labels never merge. fork gives
 *   each labelled VMA of the child a new label marked forked (`anon_vma_fork`).
 *
 * - fork: the child gets a copy of every private page and shares every MAP_SHARED object. This is
 *   what a program observes under the kernel's copy-on-write fork too (pages shared read-only,
 *   copied on the first write, untouched private pages backed by the shared zero page, a
 *   MAP_SHARED object's pages mapped in the child at its first touch): a page's
 *   contents never change because it is shared, a private write is never seen by another process,
 *   a MAP_SHARED write always is. `vm.property.test.ts` checks the kernel against exactly this,
 *   with fork/write/exit-heavy sequences, plus what the model cannot see (no frame shared by two
 *   processes is writable in either, the zero page is never writable; audit() for the counts).
 *
 * Placement: with `mmapTopVpn` given the model predicts every top-down address exactly; without
 * it (or for a single call, with `placeAt`) it adopts the kernel's address after checking that
 * the range is page-aligned, inside [mmapMinVpn, mmapTopVpn or the user end) and entirely free.
 * Tests learn `mmapTopVpn` from the kernel's first top-down mapping in an empty process.
 *
 * Misuse (a cross-page access, growing a shared mapping, an invalid adopted address) throws
 * {@link InvalidArgumentError}.
 */
import { InvalidArgumentError } from '@mmkit/core';
import type { KillReason } from './process.js';
import { type Errno, fail, MAP, MREMAP, ok, PROT, type SysResult } from './syscalls.js';

/** Bytes per page. */
export const MODEL_PAGE_SIZE = 4096;

/** What the hardware can express, as far as user permissions go. */
export interface AccessTraits {
  /**
   * EL0 execute-only pages exist (AArch64: AP[2:1] = 00 with UXN = 0, arch-facts A6). On x86 a
   * present user page is always readable (arch-facts B5).
   */
  readonly execOnly: boolean;
  /** Execute-never exists (false on 32-bit x86 without PAE: readable pages are executable, B3). */
  readonly noExecute: boolean;
}

/**
 * The accesses a page with `prot` allows a program, as PROT bits: what was asked for, widened only
 * where the hardware cannot say less (as Linux does): write implies read everywhere (no EL0
 * write-only encoding, arch-facts A6; x86 present ⇒ readable, B5), exec implies read where there
 * is no execute-only encoding (x86, B5), and read implies exec without execute-never (x86-32, B3).
 */
export function effectiveProt(prot: number, traits: AccessTraits): number {
  let p = prot & 7;
  if (p & PROT.WRITE) p |= PROT.READ;
  if (p & PROT.EXEC && !traits.execOnly) p |= PROT.READ;
  if (!traits.noExecute && p & PROT.READ) p |= PROT.EXEC;
  return p;
}

/** The pages behind one MAP_SHARED | MAP_ANONYMOUS mapping (shared by fork). */
export class SharedObjectModel {
  private static nextId = 1;
  /** For messages only. */
  readonly id = SharedObjectModel.nextId++;
  /** Page index → contents (absent: never written, zeros). */
  readonly pages = new Map<number, Uint8Array>();
}

/** A private page: its own bytes (undefined until written: zeros). */
export interface PrivateBacking {
  readonly kind: 'private';
  data: Uint8Array | undefined;
  /**
   * MADV_FREE was given and the page not written since: a reader may find `data` or zeros (once
   * it found zeros, {@link AddressSpaceModel.discarded} records that).
   */
  lazy?: boolean;
}

/** A page of a shared object. */
export interface SharedBacking {
  readonly kind: 'shared';
  readonly object: SharedObjectModel;
  readonly index: number;
}

/** One mapped page of the model. */
export interface ModelPage {
  /** PROT bits as requested (what /proc/PID/maps shows). */
  readonly prot: number;
  /** VMA name (`[heap]`, `[stack]`, an mmap `name`, or ''). */
  readonly name: string;
  /** Mapped with MAP_HUGETLB (such VMAs never merge with others). */
  readonly huge: boolean;
  readonly backing: PrivateBacking | SharedBacking;
  /** mlock'ed (VM_LOCKED): VMAs of locked and unlocked pages do not merge; fork does not inherit it. */
  readonly locked?: boolean;
  /**
   * The page's VMA's anon_vma (Linux mm/rmap.c), as a label unique in the model: 0 / undefined
   * while the VMA has none (see "anon_vma" in the module documentation).
   */
  readonly anon?: number;
  /** The anon_vma was made by fork (`anon_vma_fork`). */
  readonly anonForked?: boolean;
  /**
   * Linux `vm_pgoff` of the page's VMA minus the VMA's first page number (absent: 0, never
   * moved): mremap's move of a VMA with an anon_vma keeps its pgoff (`copy_vma`), so its pages
   * then differ from their new neighbours', and VMAs merge only with contiguous pgoffs.
   */
  readonly pgoffDelta?: number;
  /**
   * The page starts a VMA that fork copied without merging it with the VMA before it (`dup_mmap`
   * merges nothing); the next change that merges across the boundary clears it.
   */
  readonly apart?: boolean;
}

/** A VMA as the model derives it (addresses are bigints, half-open). */
export interface ModelVma {
  readonly start: bigint;
  readonly end: bigint;
  readonly prot: number;
  readonly shared: boolean;
  readonly name: string;
}

/** What a user access does. */
export type ModelAccess =
  | { readonly ok: true; readonly value: number | bigint }
  | {
      readonly ok: false;
      readonly killed: KillReason;
      readonly signal: 'SIGSEGV';
      readonly code: 'SEGV_MAPERR' | 'SEGV_ACCERR';
    };

/** Fixed facts of the modelled address space. */
export interface ModelOptions {
  /** One past the last user page. */
  readonly userEndVpn: number;
  /** Start of the heap (the initial break). */
  readonly heapBase: bigint;
  /** Highest break brk accepts (the stack guard of the simple layout). */
  readonly brkLimit: bigint;
  /** Lowest page mmap places at or accepts a hint at (Linux mmap_min_addr = 64 KiB: 16). */
  readonly mmapMinVpn: number;
  /** Top of the top-down mmap area (exclusive page number); undefined: adopt the kernel's addresses. */
  readonly mmapTopVpn: number | undefined;
  /** Pages of the smallest huge leaf (MAP_HUGETLB placement alignment). */
  readonly hugePages: number;
  /** Free pages brk needs above the new break (Linux: 1). */
  readonly brkGapPages: number;
  readonly traits: AccessTraits;
}

const KNOWN_MAP =
  MAP.SHARED |
  MAP.PRIVATE |
  MAP.FIXED |
  MAP.ANONYMOUS |
  MAP.GROWSDOWN |
  MAP.POPULATE |
  MAP.HUGETLB |
  MAP.FIXED_NOREPLACE;

const PAGE = BigInt(MODEL_PAGE_SIZE);
const pageUp = (n: bigint) => (n + PAGE - 1n) / PAGE;

function mergeable(a: ModelPage, b: ModelPage): boolean {
  return (a.anon ?? 0) === (b.anon ?? 0) && !b.apart && mergeableFlags(a, b);
}

/** {@link mergeable} but for the anon_vma label. */
function mergeableFlags(a: ModelPage, b: ModelPage): boolean {
  if (
    a.prot !== b.prot ||
    a.name !== b.name ||
    a.huge !== b.huge ||
    a.backing.kind !== b.backing.kind ||
    (a.locked ?? false) !== (b.locked ?? false) ||
    (a.pgoffDelta ?? 0) !== (b.pgoffDelta ?? 0)
  )
    return false;
  if (a.backing.kind === 'shared' && b.backing.kind === 'shared')
    return a.backing.object === b.backing.object && b.backing.index === a.backing.index + 1;
  return true;
}

/** Linux `is_mergeable_anon_vma` (6.16+) for two neighbouring pages' VMAs. */
function anonCompatible(a: ModelPage, b: ModelPage): boolean {
  const x = a.anon ?? 0;
  const y = b.anon ?? 0;
  return x === y || (x === 0 && !b.anonForked) || (y === 0 && !a.anonForked);
}

/** Linux `anon_vma_compatible` (flags equal but for prot; the name is no flag, `[stack]` is VM_GROWSDOWN). */
function reuseCompatible(a: ModelPage, b: ModelPage): boolean {
  return (
    a.backing.kind === 'private' &&
    b.backing.kind === 'private' &&
    a.huge === b.huge &&
    (a.locked ?? false) === (b.locked ?? false) &&
    (a.pgoffDelta ?? 0) === (b.pgoffDelta ?? 0) &&
    (a.name === '[stack]') === (b.name === '[stack]')
  );
}

let lastAnonLabel = 0;

/** See the module documentation. */
export class AddressSpaceModel {
  /** Page number → page. */
  readonly pages = new Map<number, ModelPage>();
  /** The program break. */
  brk: bigint;

  constructor(readonly options: ModelOptions) {
    this.brk = options.heapBase;
  }

  /**
   * A model holding the kernel's initial VMAs of a new process (private, never written), so
   * that both start equal. `vmas` is what `Kernel.vmas()` returns.
   */
  static adopt(
    vmas: readonly {
      start: bigint;
      end: bigint;
      prot: number;
      shared: boolean;
      name: string;
      residentPages?: number;
    }[],
    options: ModelOptions,
  ): AddressSpaceModel {
    const m = new AddressSpaceModel(options);
    for (const v of vmas) {
      const object = v.shared ? new SharedObjectModel() : undefined;
      // A private VMA holding pages got them from the loader: it has an anon_vma.
      const anon = !v.shared && (v.residentPages ?? 0) > 0 ? ++lastAnonLabel : 0;
      const first = Number(v.start / PAGE);
      for (let vpn = first; vpn < Number(v.end / PAGE); vpn++) {
        m.pages.set(vpn, {
          prot: v.prot,
          name: v.name,
          huge: false,
          backing: object
            ? { kind: 'shared', object, index: vpn - first }
            : { kind: 'private', data: undefined },
          anon,
        });
      }
    }
    return m;
  }

  /** A copy as fork makes it: private pages copied, shared pages still shared. */
  fork(): AddressSpaceModel {
    const m = new AddressSpaceModel(this.options);
    m.brk = this.brk;
    let prev: ModelPage | undefined;
    let prevVpn = -2;
    let label = 0;
    for (const vpn of this.mappedVpns()) {
      const p = this.pages.get(vpn)!;
      const b = p.backing;
      // Each VMA (run) with an anon_vma gets a new one in the child (anon_vma_fork); each starts
      // apart from the one before it (dup_mmap merges nothing, though the child's copies may
      // differ in nothing now: VM_LOCKED is not inherited).
      const first = !(prev && vpn === prevVpn + 1 && mergeable(prev, p));
      if (first) label = (p.anon ?? 0) === 0 ? 0 : ++lastAnonLabel;
      m.pages.set(vpn, {
        ...p,
        apart: first && prev !== undefined && vpn === prevVpn + 1,
        locked: false,
        backing: b.kind === 'private' ? { kind: 'private', data: b.data?.slice(), lazy: b.lazy } : b,
        anon: label,
        anonForked: label !== 0,
      });
      prev = p;
      prevVpn = vpn;
    }
    return m;
  }

  /**
   * Linux `anon_vma_prepare` for the VMA holding `vpn`: see the module documentation. Nothing for
   * a shared page or a VMA that has a label.
   */
  anonPrepare(vpn: number): void {
    const p = this.pages.get(vpn);
    if (p?.backing.kind !== 'private' || (p.anon ?? 0) !== 0) return;
    const run = this.vmaAt(vpn)!;
    const reusable = (q: ModelPage | undefined) =>
      q && reuseCompatible(p, q) && !q.anonForked ? (q.anon ?? 0) : 0;
    let id = reusable(this.pages.get(run.endVpn));
    if (id === 0) id = reusable(this.pages.get(run.startVpn - 1));
    if (id === 0) id = ++lastAnonLabel;
    this.relabel(run.startVpn, run.endVpn, id, false);
  }

  private relabel(from: number, to: number, anon: number, anonForked: boolean): void {
    for (let v = from; v < to; v++) this.pages.set(v, { ...this.pages.get(v)!, anon, anonForked });
  }

  /**
   * The merges Linux makes after VMAs changed in [lo, hi): across every boundary from the VMA
   * before `lo` to `hi`, left to right, neighbours whose flags match and whose anon_vmas are
   * compatible become one (the one without a label takes the other's).
   */
  private mergeAround(lo: number, hi: number): void {
    let v = this.pages.has(lo - 1) ? this.vmaAt(lo - 1)!.startVpn : lo;
    while (v <= hi) {
      if (!this.pages.has(v)) {
        v++;
        continue;
      }
      const cur = this.vmaAt(v)!;
      const p = this.pages.get(cur.endVpn - 1)!;
      const q = this.pages.get(cur.endVpn);
      if (cur.endVpn > hi || !q || !mergeableFlags(p, q) || !anonCompatible(p, q)) {
        v = cur.endVpn;
        continue;
      }
      if (q.apart) this.pages.set(cur.endVpn, { ...q, apart: false });
      if ((p.anon ?? 0) === 0) this.relabel(cur.startVpn, cur.endVpn, q.anon ?? 0, q.anonForked ?? false);
      else {
        const next = this.vmaAt(cur.endVpn)!;
        this.relabel(next.startVpn, next.endVpn, p.anon ?? 0, p.anonForked ?? false);
      }
      v = cur.startVpn;
    }
  }

  /**
   * Pages [from, to) faulted in by populate (MAP_POPULATE, mlock): a private writable page by a
   * write fault, a MAP_HUGETLB one by a huge page — both give its VMA an anon_vma; a read fault
   * of other private memory maps the zero page.
   */
  private populated(from: number, to: number): void {
    for (let v = from; v < to; v++) {
      const p = this.pages.get(v);
      if (p && (p.prot & PROT.WRITE || p.huge)) this.anonPrepare(v);
    }
  }

  /** Mapped page numbers in ascending order. */
  mappedVpns(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  /** True if no page of [startVpn, endVpn) is mapped. */
  isFree(startVpn: number, endVpn: number): boolean {
    if (endVpn - startVpn > this.pages.size) {
      for (const vpn of this.pages.keys()) if (vpn >= startVpn && vpn < endVpn) return false;
      return true;
    }
    for (let v = startVpn; v < endVpn; v++) if (this.pages.has(v)) return false;
    return true;
  }

  /** The bytes a page holds (undefined: all zero), or undefined for an unmapped page. */
  contents(vpn: number): Uint8Array | undefined {
    const p = this.pages.get(vpn);
    if (!p) return undefined;
    return p.backing.kind === 'private' ? p.backing.data : p.backing.object.pages.get(p.backing.index);
  }

  /** The VMAs a kernel with Linux's merge rules reports (see the module documentation). */
  vmaList(): ModelVma[] {
    const out: ModelVma[] = [];
    let runStart = -1;
    let prevVpn = -2;
    let prev: ModelPage | undefined;
    const close = () => {
      if (prev && runStart >= 0) {
        out.push({
          start: BigInt(runStart) * PAGE,
          end: BigInt(prevVpn + 1) * PAGE,
          prot: prev.prot,
          shared: prev.backing.kind === 'shared',
          name: prev.name,
        });
      }
    };
    for (const vpn of this.mappedVpns()) {
      const p = this.pages.get(vpn)!;
      if (!(prev && vpn === prevVpn + 1 && mergeable(prev, p))) {
        close();
        runStart = vpn;
      }
      prev = p;
      prevVpn = vpn;
    }
    close();
    return out;
  }

  /** The VMA (as {@link vmaList} derives it) containing `vpn`, as page numbers. */
  vmaAt(vpn: number): { startVpn: number; endVpn: number } | undefined {
    const p = this.pages.get(vpn);
    if (!p) return undefined;
    let s = vpn;
    for (let q = this.pages.get(s - 1); q && mergeable(q, this.pages.get(s)!); q = this.pages.get(s - 1)) s--;
    let e = vpn + 1;
    for (let q = this.pages.get(e); q && mergeable(this.pages.get(e - 1)!, q); q = this.pages.get(e)) e++;
    return { startVpn: s, endVpn: e };
  }

  // ---------------------------------------------------------------------------------------------
  // Syscalls

  /**
   * mmap. `placeAt` adopts the kernel's address for a top-down placement (checked, see the
   * module documentation); it is ignored when the hint or MAP_FIXED decides the address.
   * @throws InvalidArgumentError if `placeAt` is not a valid placement.
   */
  mmap(
    addr: bigint,
    length: bigint,
    prot: number,
    flags: number,
    opts: { readonly name?: string; readonly placeAt?: bigint } = {},
  ): SysResult<bigint> {
    const o = this.options;
    if (prot & ~7) return fail('EINVAL', 'prot');
    if (flags & ~KNOWN_MAP) return fail('EINVAL', 'unknown flags');
    if (!(flags & MAP.SHARED) === !(flags & MAP.PRIVATE)) return fail('EINVAL', 'shared/private');
    if (!(flags & MAP.ANONYMOUS)) return fail('EINVAL', 'not anonymous');
    if (length === 0n) return fail('EINVAL', 'length 0');
    const pagesBig = pageUp(length);
    if (pagesBig > BigInt(o.userEndVpn)) return fail('ENOMEM', 'length');
    const pages = Number(pagesBig);
    const fixed = (flags & (MAP.FIXED | MAP.FIXED_NOREPLACE)) !== 0;
    if (fixed && addr % PAGE !== 0n) return fail('EINVAL', 'unaligned fixed addr');
    const huge = (flags & MAP.HUGETLB) !== 0;
    let start: number;
    if (fixed) {
      if (addr / PAGE + pagesBig > BigInt(o.userEndVpn)) return fail('ENOMEM', 'outside the user half');
      start = Number(addr / PAGE);
      if (start < o.mmapMinVpn) return fail('EPERM', 'fixed addr below mmap_min_addr');
      if (flags & MAP.FIXED_NOREPLACE && !this.isFree(start, start + pages))
        return fail('EEXIST', 'noreplace');
    } else {
      const hint = addr / PAGE;
      if (
        addr !== 0n &&
        addr % PAGE === 0n &&
        hint >= BigInt(o.mmapMinVpn) &&
        hint + pagesBig <= BigInt(o.userEndVpn) &&
        this.isFree(Number(hint), Number(hint) + pages)
      ) {
        start = Number(hint);
      } else {
        const align = huge && pages >= o.hugePages ? o.hugePages : 1;
        const placed = this.place(pages, align, opts.placeAt);
        if (placed < 0) return fail('ENOMEM', 'no room');
        start = placed;
      }
    }
    for (let i = 0; i < pages; i++) this.pages.delete(start + i);
    const object = flags & MAP.SHARED ? new SharedObjectModel() : undefined;
    const name = opts.name ?? '';
    for (let i = 0; i < pages; i++) {
      this.pages.set(start + i, {
        prot,
        name,
        huge,
        backing: object ? { kind: 'shared', object, index: i } : { kind: 'private', data: undefined },
      });
    }
    this.mergeAround(start, start + pages);
    if (flags & MAP.POPULATE) this.populated(start, start + pages);
    return ok(BigInt(start) * PAGE);
  }

  /** The highest free, `align`-aligned range of `pages` below the mmap top (or the adopted one); -1 if none. */
  private place(pages: number, align: number, placeAt: bigint | undefined): number {
    const o = this.options;
    const top = o.mmapTopVpn;
    if (top === undefined || placeAt !== undefined) {
      if (placeAt === undefined)
        throw new InvalidArgumentError(
          'placeAt',
          placeAt,
          'an address to adopt (the model has no mmapTopVpn)',
        );
      const s = placeAt / PAGE;
      const limit = BigInt(top ?? o.userEndVpn);
      if (
        placeAt % PAGE !== 0n ||
        s < BigInt(o.mmapMinVpn) ||
        s + BigInt(pages) > limit ||
        Number(s) % align !== 0 ||
        !this.isFree(Number(s), Number(s) + pages)
      ) {
        throw new InvalidArgumentError(
          'placeAt',
          placeAt,
          `a free, ${align}-page-aligned range of ${pages} pages inside [${o.mmapMinVpn}, ${limit}) pages`,
        );
      }
      return Number(s);
    }
    // Highest fit: walk the mapped pages below the top downwards, trying the gap above each.
    const below = this.mappedVpns().filter((v) => v < top);
    let gapEnd = top;
    for (let i = below.length; i >= 0; i--) {
      const gapStart = i > 0 ? below[i - 1]! + 1 : o.mmapMinVpn;
      const s0 = gapEnd - pages;
      const s = s0 - (((s0 % align) + align) % align);
      if (s >= Math.max(gapStart, o.mmapMinVpn)) return s;
      if (i > 0) gapEnd = below[i - 1]!;
      if (gapEnd <= o.mmapMinVpn) break;
    }
    return -1;
  }

  /** munmap. */
  munmap(addr: bigint, length: bigint): SysResult<0> {
    const r = this.range(addr, length, 'EINVAL');
    if (!r.ok) return r;
    const [s, e] = r.value;
    for (let v = s; v < e; v++) this.pages.delete(v);
    return ok(0);
  }

  /** mprotect. */
  mprotect(addr: bigint, length: bigint, prot: number): SysResult<0> {
    if (prot & ~7) return fail('EINVAL', 'prot');
    const r = this.range(addr, length, 'ENOMEM');
    if (!r.ok) return r;
    const [s, e] = r.value;
    if (!this.isFull(s, e)) return fail('ENOMEM', 'unmapped page in range');
    let changed = false;
    for (let v = s; v < e; v++) {
      const p = this.pages.get(v)!;
      if (p.prot !== prot) changed = true;
      this.pages.set(v, { ...p, prot });
    }
    // Nothing changed: nothing merges (Linux mprotect_fixup returns early; VmaTree.update too).
    if (changed) this.mergeAround(s, e);
    return ok(0);
  }

  /** brk: returns the new break, or the old one when refused. */
  brkTo(newBrk: bigint): bigint {
    const o = this.options;
    if (newBrk < o.heapBase || newBrk > o.brkLimit) return this.brk;
    const oldEnd = Number(pageUp(this.brk));
    const newEnd = Number(pageUp(newBrk));
    if (newEnd > oldEnd) {
      if (!this.isFree(oldEnd, newEnd + o.brkGapPages)) return this.brk;
      for (let v = oldEnd; v < newEnd; v++)
        this.pages.set(v, {
          prot: PROT.READ | PROT.WRITE,
          name: '[heap]',
          huge: false,
          backing: { kind: 'private', data: undefined },
        });
      this.mergeAround(oldEnd, newEnd);
    } else {
      for (let v = newEnd; v < oldEnd; v++) this.pages.delete(v);
    }
    this.brk = newBrk;
    return newBrk;
  }

  /**
   * mremap. `placeAt` adopts the kernel's address for a move.
   * @throws InvalidArgumentError when asked to grow a shared mapping (not modelled).
   */
  mremap(
    oldAddr: bigint,
    oldLength: bigint,
    newLength: bigint,
    flags: number,
    opts: { readonly placeAt?: bigint } = {},
  ): SysResult<bigint> {
    if (flags & ~MREMAP.MAYMOVE) return fail('EINVAL', 'flags');
    const r = this.range(oldAddr, oldLength, 'EINVAL');
    if (!r.ok) return r;
    const [s, e] = r.value;
    if (newLength === 0n) return fail('EINVAL', 'new length 0');
    const newPages = Number(pageUp(newLength));
    const vma = this.vmaAt(s);
    if (!vma || vma.endVpn < e) return fail('EFAULT', 'old range not inside one mapping');
    const oldPages = e - s;
    if (newPages <= oldPages) {
      for (let v = s + newPages; v < e; v++) this.pages.delete(v);
      return ok(BigInt(s) * PAGE);
    }
    const last = this.pages.get(e - 1)!;
    if (last.backing.kind === 'shared')
      throw new InvalidArgumentError(
        'mremap',
        oldAddr,
        'a private mapping (growing a shared one is not modelled)',
      );
    const extra = (): ModelPage => ({ ...last, apart: false, backing: { kind: 'private', data: undefined } });
    if (e === vma.endVpn && s + newPages <= this.options.userEndVpn && this.isFree(e, s + newPages)) {
      for (let v = e; v < s + newPages; v++) this.pages.set(v, extra());
      this.mergeAround(e, s + newPages);
      if (last.locked) this.populated(e, s + newPages); // a locked mapping's new part is faulted in
      return ok(BigInt(s) * PAGE);
    }
    if (!(flags & MREMAP.MAYMOVE)) return fail('ENOMEM', 'cannot grow in place');
    const dest = this.place(newPages, 1, opts.placeAt);
    if (dest < 0) return fail('ENOMEM', 'no room to move');
    // copy_vma: the moved VMA keeps its vm_pgoff when it has an anon_vma, else it takes the new
    // address's (pgoffDelta 0).
    const delta = (last.anon ?? 0) !== 0 ? (last.pgoffDelta ?? 0) + s - dest : 0;
    const moved: ModelPage[] = [];
    for (let v = s; v < e; v++) moved.push(this.pages.get(v)!);
    for (let v = s; v < e; v++) this.pages.delete(v);
    for (let i = 0; i < newPages; i++)
      this.pages.set(dest + i, { ...(moved[i] ?? extra()), apart: false, pgoffDelta: delta });
    this.mergeAround(dest, dest + newPages);
    if (last.locked) this.populated(dest + oldPages, dest + newPages);
    return ok(BigInt(dest) * PAGE);
  }

  /**
   * madvise for the advice that can be observed (Linux `do_madvise`, as `madvise.ts` documents
   * it): EINVAL for an unaligned addr; length 0 is success; then each VMA piece in address order —
   * an advice a piece refuses ends the call with EINVAL (pieces before it advised) — and ENOMEM
   * when part of the range is unmapped. DONTNEED: private pages read zeros afterwards, shared ones
   * keep their object's contents; refused on locked VMAs; on MAP_HUGETLB ones the start must be
   * huge-page aligned and the end is rounded down. FREE: private pages may read zeros from now on
   * until written ({@link PrivateBacking.lazy}); refused on shared, locked and MAP_HUGETLB VMAs.
   * COLD / PAGEOUT: no visible change; refused on locked and MAP_HUGETLB VMAs. WILLNEED: no visible
   * change. (RANDOM / SEQUENTIAL split VMAs by an access pattern the model does not record: not
   * modelled.)
   * @throws InvalidArgumentError for any other advice.
   */
  madvise(addr: bigint, length: bigint, advice: number): SysResult<0> {
    if (![3, 4, 8, 20, 21].includes(advice))
      throw new InvalidArgumentError('advice', advice, 'MADV_WILLNEED, DONTNEED, FREE, COLD or PAGEOUT');
    if (addr % PAGE !== 0n) return fail('EINVAL', 'unaligned addr');
    if (length === 0n) return ok(0);
    const s = Number(addr / PAGE);
    const e = s + Number(pageUp(length));
    let hole = false;
    for (let v = s; v < e; ) {
      const p = this.pages.get(v);
      if (!p) {
        hole = true;
        v++;
        continue;
      }
      const vma = this.vmaAt(v)!;
      const to = Math.min(vma.endVpn, e);
      const err = this.adviseRun(v, to, p, advice);
      if (err) return fail(err, 'refused');
      v = to;
    }
    return hole ? fail('ENOMEM', 'unmapped page in range') : ok(0);
  }

  private adviseRun(from: number, to: number, p: ModelPage, advice: number): Errno | undefined {
    const locked = p.locked ?? false;
    if (advice === 4) {
      let end = to;
      if (p.huge) {
        const hp = this.options.hugePages;
        if (from % hp !== 0) return 'EINVAL';
        end = to - (to % hp);
      } else if (locked) return 'EINVAL';
      for (let v = from; v < end; v++) {
        const b = this.pages.get(v)!.backing;
        if (b.kind === 'private') {
          b.data = undefined;
          b.lazy = false;
        }
      }
      return undefined;
    }
    if (advice === 8) {
      if (locked || p.huge || p.backing.kind === 'shared') return 'EINVAL';
      for (let v = from; v < to; v++) {
        const b = this.pages.get(v)!.backing;
        if (b.kind === 'private' && b.data !== undefined) b.lazy = true;
      }
      return undefined;
    }
    if ((advice === 20 || advice === 21) && (locked || p.huge)) return 'EINVAL';
    return undefined;
  }

  /**
   * A lazily freed page was found to read zeros: reclaim discarded it (the page stays mapped,
   * now zero-filled, until written).
   */
  discarded(vpn: number): void {
    const b = this.pages.get(vpn)?.backing;
    if (b?.kind !== 'private' || !b.lazy) throw new InvalidArgumentError('vpn', vpn, 'a lazily freed page');
    b.data = undefined;
    b.lazy = false;
  }

  /**
   * mlock (`lock` true) / munlock with an aligned addr (Linux `apply_vma_lock_flags`): length 0 is
   * success; an unmapped first page is ENOMEM with nothing changed; a hole is ENOMEM with the
   * pages before it changed (and merged) and nothing faulted in. MAP_HUGETLB pages are never marked.
   * mlock then faults the range in:
   * a PROT_NONE page cannot be (ENOMEM). Contents never change.
   */
  mlock(addr: bigint, length: bigint, lock: boolean): SysResult<0> {
    if (addr % PAGE !== 0n) throw new InvalidArgumentError('addr', addr, 'a page-aligned address');
    const s = Number(addr / PAGE);
    const e = s + Number(pageUp(length));
    if (s === e) return ok(0);
    if (!this.pages.has(s)) return fail('ENOMEM', 'start not mapped');
    let protNone = false;
    let changed = false;
    for (let v = s; v < e; v++) {
      const p = this.pages.get(v);
      if (!p) {
        // Linux apply_vma_lock_flags: the VMAs before the hole were changed by mlock_fixup, which
        // merges them with their neighbours (vma_modify_flags) — then ENOMEM, and nothing is
        // populated (do_mlock returns before __mm_populate).
        if (changed) this.mergeAround(s, v);
        return fail('ENOMEM', 'hole');
      }
      if (p.huge) continue;
      if (lock && p.prot === PROT.NONE) protNone = true;
      if ((p.locked ?? false) !== lock) changed = true;
      this.pages.set(v, { ...p, locked: lock });
    }
    if (changed) this.mergeAround(s, e);
    if (lock) this.populated(s, e);
    return protNone ? fail('ENOMEM', 'PROT_NONE cannot be faulted in') : ok(0);
  }

  /** Validates (addr, length) of munmap/mprotect/mremap: [startVpn, endVpn) or an errno. */
  private range(addr: bigint, length: bigint, outside: Errno): SysResult<[number, number]> {
    if (addr % PAGE !== 0n) return fail('EINVAL', 'unaligned addr');
    if (length === 0n) return fail('EINVAL', 'length 0');
    const end = addr / PAGE + pageUp(length);
    if (end > BigInt(this.options.userEndVpn)) return fail(outside, 'outside the user half');
    return ok([Number(addr / PAGE), Number(end)]);
  }

  private isFull(s: number, e: number): boolean {
    for (let v = s; v < e; v++) if (!this.pages.has(v)) return false;
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Accesses

  /**
   * The fault a user access would take (see {@link access}), or undefined when it is allowed.
   * Changes nothing.
   * @throws InvalidArgumentError for an access that crosses a page.
   */
  fault(kind: 0 | 1 | 2, va: bigint, size: 1 | 2 | 4 | 8): Extract<ModelAccess, { ok: false }> | undefined {
    const off = Number(va % PAGE);
    if (off + size > MODEL_PAGE_SIZE) throw new InvalidArgumentError('va', va, 'an access inside one page');
    const p = this.pages.get(Number(va / PAGE));
    if (!p) {
      return {
        ok: false,
        killed: kind === 2 ? 'exec fault' : 'invalid address',
        signal: 'SIGSEGV',
        code: 'SEGV_MAPERR',
      };
    }
    const need = kind === 0 ? PROT.READ : kind === 1 ? PROT.WRITE : PROT.EXEC;
    if (!(effectiveProt(p.prot, this.options.traits) & need)) {
      return {
        ok: false,
        killed: kind === 2 ? 'exec fault' : 'permission fault',
        signal: 'SIGSEGV',
        code: 'SEGV_ACCERR',
      };
    }
    return undefined;
  }

  /**
   * A user access of `size` bytes at `va` (0 load, 1 store, 2 fetch), applied to the model.
   * Values are little-endian; 8-byte values are bigints, smaller ones numbers.
   * @throws InvalidArgumentError for an access that crosses a page.
   */
  access(kind: 0 | 1 | 2, va: bigint, size: 1 | 2 | 4 | 8, value: number | bigint = 0): ModelAccess {
    const denied = this.fault(kind, va, size);
    if (denied) return denied;
    const off = Number(va % PAGE);
    const vpn = Number(va / PAGE);
    // A write, or any fault of a MAP_HUGETLB page, is the VMA's first anonymous page if none was.
    if (kind === 1 || this.pages.get(vpn)!.huge) this.anonPrepare(vpn);
    const p = this.pages.get(vpn)!;
    if (kind === 1) {
      const bytes = this.writable(p);
      let x = BigInt(value);
      for (let i = 0; i < size; i++, x >>= 8n) bytes[off + i] = Number(x & 0xffn);
      return { ok: true, value: 0 };
    }
    const bytes = p.backing.kind === 'private' ? p.backing.data : p.backing.object.pages.get(p.backing.index);
    let x = 0n;
    for (let i = size - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes?.[off + i] ?? 0);
    return { ok: true, value: size === 8 ? x : Number(x) };
  }

  /**
   * copy_from_user (`data` undefined: read `length` bytes) or copy_to_user (write `data`) for the
   * kernel on behalf of the process: all or nothing — EFAULT, with nothing written, when a page of
   * the range is unmapped or its effective permissions lack the access; never a kill.
   */
  copy(
    va: bigint,
    length: number,
    data?: Uint8Array,
  ): { ok: true; value: Uint8Array | undefined } | { ok: false; errno: 'EFAULT' } {
    const need = data ? PROT.WRITE : PROT.READ;
    if (length > 0) {
      for (let vpn = Number(va / PAGE); vpn <= Number((va + BigInt(length) - 1n) / PAGE); vpn++) {
        const p = this.pages.get(vpn);
        if (!p || !(effectiveProt(p.prot, this.options.traits) & need)) return { ok: false, errno: 'EFAULT' };
      }
    }
    const out = data ? undefined : new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const vpn = Number((va + BigInt(i)) / PAGE);
      if (data || this.pages.get(vpn)!.huge) this.anonPrepare(vpn);
      const a = va + BigInt(i);
      const p = this.pages.get(Number(a / PAGE))!;
      const off = Number(a % PAGE);
      if (data) this.writable(p)[off] = data[i]!;
      else {
        const b = p.backing.kind === 'private' ? p.backing.data : p.backing.object.pages.get(p.backing.index);
        out![i] = b?.[off] ?? 0;
      }
    }
    return { ok: true, value: out };
  }

  private writable(p: ModelPage): Uint8Array {
    const b = p.backing;
    if (b.kind === 'private') {
      b.lazy = false; // a write cancels MADV_FREE for the page
      b.data ??= new Uint8Array(MODEL_PAGE_SIZE);
      return b.data;
    }
    let d = b.object.pages.get(b.index);
    if (!d) {
      d = new Uint8Array(MODEL_PAGE_SIZE);
      b.object.pages.set(b.index, d);
    }
    return d;
  }
}
