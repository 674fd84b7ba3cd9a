/**
 * The leaf attributes the kernel maps user pages with, cached for the fault path: per VMA
 * protection, memory type and level ({@link VmaAttributes.forVma}), their read-only form for
 * copy-on-write and the zero page ({@link VmaAttributes.readOnlyForVma}), and each one's verified
 * descriptor template ({@link VmaAttributes.template}). The {@link AttributeChooser} behind them
 * finds what the backend can express.
 */
import { type ArchBackend, type LeafAttributes, MEMORY_TYPES, modifyLeaf } from '@mmkit/core';
import { AttributeChooser, type LeafTemplate, leafTemplate } from './attributes.js';
import { checkLeafAttributes, invalidArgument } from './syscalls.js';
import type { VmaValue } from './vma.js';

/** The level-1 templates of one VMA value, as {@link VmaAttributes.pageTemplates} leaves them. */
export interface PageTemplates {
  /**
   * The template of `dirtyForVma(v, 1)` (the leaf a write fault installs: young and dirty), or
   * undefined when the encoding is not "template | PA".
   */
  readonly writable: LeafTemplate | undefined;
  /** The template of `readOnlyForVma(v, 1, …)`, or undefined likewise. */
  readonly readOnly: LeafTemplate | undefined;
}

/** See the module documentation. */
export class VmaAttributes implements PageTemplates {
  writable: LeafTemplate | undefined;
  readOnly: LeafTemplate | undefined;
  /** The VMA value {@link writable} and {@link readOnly} belong to. */
  private templatesOf: VmaValue | undefined;
  /** The backend's attribute chooser (widened permissions, arbitrary requests). */
  readonly chooser: AttributeChooser;
  private readonly vmaAttrs: (LeafAttributes | undefined)[] = [];
  private readonly readOnlyAttrs: (LeafAttributes | undefined)[] = [];
  private readonly dirtyAttrs: (LeafAttributes | undefined)[] = [];
  private readonly templates = new WeakMap<LeafAttributes, LeafTemplate | undefined>();
  private readonly specials = new WeakMap<LeafAttributes, LeafAttributes>();

  constructor(private readonly arch: ArchBackend) {
    this.chooser = new AttributeChooser(arch);
  }

  /** Leaf attributes for pages of a VMA at `level` (the most the page tables may grant). */
  forVma(v: VmaValue, level = 1): LeafAttributes {
    // A numeric cache in front of the chooser (which keys by string): this runs on every fault,
    // so the checks are integer ones; a bad field would otherwise alias another key.
    if (v === null || typeof v !== 'object')
      throw invalidArgument('vma', v, 'a VMA value { prot, memoryType }');
    const prot = v.prot;
    const type = MEMORY_TYPES.indexOf(v.memoryType);
    if (typeof prot !== 'number' || (prot & 7) !== prot)
      throw invalidArgument('vma.prot', prot, 'PROT_* bits 0..7');
    if (type < 0) throw invalidArgument('vma.memoryType', v.memoryType, `one of ${MEMORY_TYPES.join(', ')}`);
    if (typeof level !== 'number' || (level & 7) !== level)
      throw invalidArgument('level', level, 'a page-table level 0..7');
    const key = prot | (type << 3) | (level << 5);
    let a = this.vmaAttrs[key];
    if (a === undefined) {
      const w = (v.prot & 2) !== 0;
      // PROT_WRITE implies read on every architecture mmkit models (as in Linux).
      const user = { read: (v.prot & 1) !== 0 || w, write: w, execute: (v.prot & 4) !== 0 };
      a = this.chooser.leaf({ user, memoryType: v.memoryType, global: false }, level);
      this.vmaAttrs[key] = a;
    }
    return a;
  }

  /**
   * `full` (what {@link forVma} gave for `v` and `level`; checked there) without write
   * permission: the leaf of a private page shared copy-on-write (or the zero page).
   * PROT_WRITE's implied read is kept.
   */
  readOnlyForVma(v: VmaValue, level: number, full: LeafAttributes): LeafAttributes {
    const key = v.prot | (MEMORY_TYPES.indexOf(v.memoryType) << 3) | (level << 5);
    let a = this.readOnlyAttrs[key];
    if (a === undefined) {
      const user = { read: full.user.read, write: false, execute: full.user.execute };
      a = this.chooser.leaf({ user, memoryType: v.memoryType, global: false }, level);
      this.readOnlyAttrs[key] = a;
    }
    return a;
  }

  /**
   * The leaf a fault installs for a new (or newly exclusive) private page of `v` at `level` that
   * it makes writable: {@link forVma} (young) made dirty, Linux `pte_mkwrite(pte_mkdirty(entry))`
   * — `do_anonymous_page` (for every VM_WRITE VMA, write fault or not, when it allocates a page),
   * `wp_page_copy` and `wp_page_reuse` (`maybe_mkwrite(pte_mkdirty(entry))`), `do_swap_page` on a
   * write fault, `finish_fault` on a write fault, THP's `__do_huge_pmd_anonymous_page` and
   * hugetlb's `make_huge_pte(writable)`. In neutral form (core `modifyLeaf` of a dirty leaf):
   * x86 D = 1; arm64 `pte_mkdirty` sets PTE_DIRTY (software bit 55, the backend's
   * `softwareDirty`) and, PTE_WRITE being set, clears PTE_RDONLY (hardware-dirty). The CPU's
   * write on the retry then changes nothing (x86 sets D only when clear; arm64's DBM update only
   * when AP[2] is set). Without write permission this is {@link forVma} itself (Linux makes no
   * read-only leaf dirty at a fault).
   */
  dirtyForVma(v: VmaValue, level = 1): LeafAttributes {
    const full = this.forVma(v, level); // checks v and level
    const key = v.prot | (MEMORY_TYPES.indexOf(v.memoryType) << 3) | (level << 5);
    let a = this.dirtyAttrs[key];
    if (a === undefined) {
      a = full;
      if (full.user.write) {
        const made = modifyLeaf(this.arch.description, { ...full, dirty: true }, full);
        // Canonical form: what the tables decode to (as the chooser's attributes are).
        const raw = this.arch.codec.encode({ kind: 'leaf', pa: 0, attrs: made }, level);
        const e = this.arch.codec.decode(raw.lo, raw.hi, level);
        a = e.kind === 'leaf' ? e.attrs : made;
      }
      this.dirtyAttrs[key] = a;
    }
    return a;
  }

  /**
   * `attrs` (cached attributes of this object for `level`: {@link forVma}, {@link readOnlyForVma})
   * made special — Linux `pte_mkspecial`, which `do_anonymous_page` applies to the zero page
   * (`pte_mkspecial(pfn_pte(my_zero_pfn(addr), vma->vm_page_prot))`) and `remap_pfn_range` /
   * `vmf_insert_pfn` to device memory: the backend's `capabilities.softwareSpecial` bit (arm64
   * PTE_SPECIAL, bit 56; x86 `_PAGE_SPECIAL`, bit 9) set in the software bits. `attrs` itself
   * where the backend has no such bit. Cached per attributes object.
   */
  special(attrs: LeafAttributes, level = 1): LeafAttributes {
    const bit = this.arch.description.capabilities.softwareSpecial ?? 0;
    if (bit === 0) return attrs;
    let a = this.specials.get(attrs);
    if (a === undefined) {
      checkLeafAttributes('attrs', attrs);
      const made = { ...attrs, software: attrs.software | bit };
      // Canonical form: what the tables decode to (as the chooser's attributes are).
      const raw = this.arch.codec.encode({ kind: 'leaf', pa: 0, attrs: made }, level);
      const e = this.arch.codec.decode(raw.lo, raw.hi, level);
      a = e.kind === 'leaf' ? e.attrs : made;
      this.specials.set(attrs, a);
    }
    return a;
  }

  /**
   * The level-1 templates of VMA value `v` (its dirty leaf attributes and their read-only form), as
   * this object's {@link writable} and {@link readOnly}: a one-entry memo by the value's identity
   * (VMA values are immutable; a change makes a new one), so that the copy-on-write fault path
   * asks no cache per fault. Returns this object (nothing is allocated).
   */
  pageTemplates(v: VmaValue): PageTemplates {
    if (v !== this.templatesOf) {
      const full = this.forVma(v, 1); // checks v
      this.writable = this.template(this.dirtyForVma(v, 1));
      this.readOnly = this.template(this.readOnlyForVma(v, 1, full));
      this.templatesOf = v;
    }
    return this;
  }

  /**
   * The verified leaf template of `attrs` (level 1), or undefined when the encoding is not
   * "template | PA" (see `leafTemplate`). Cached per attributes object: pass the cached
   * attributes of {@link forVma} and {@link readOnlyForVma}.
   */
  template(attrs: LeafAttributes): LeafTemplate | undefined {
    let t = this.templates.get(attrs);
    if (t === undefined && !this.templates.has(attrs)) {
      t = leafTemplate(this.arch, attrs);
      this.templates.set(attrs, t);
    }
    return t;
  }
}
