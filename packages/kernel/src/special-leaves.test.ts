/**
 * Special leaves (Linux `pte_mkspecial`), byte for byte on all five configurations in strict TLB
 * mode with audit() after each case: the shared zero page (`do_anonymous_page`'s read path) and
 * device memory (`remap_pfn_range` → `remap_pte_range`) carry arm64 `PTE_SPECIAL` (bit 56) / x86
 * `_PAGE_SPECIAL` (bit 9, `_PAGE_BIT_SOFTW1`, also in 32-bit non-PAE paging); fork keeps it
 * (`copy_present_pte` copies the PTE), mprotect keeps it (`pte_modify` keeps the software bits),
 * and a page that has a struct page to count — a fresh anonymous page, the zero-fill that replaces
 * the zero page, a copy-on-write copy — never has it.
 */
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { dumpPageTable, formatDump } from './inspect.js';
import type { Kernel } from './kernel.js';
import type { Process } from './process.js';
import { MAP, PROT } from './syscalls.js';
import { bootStrict, fiveConfigs, leafRaw, mapDevice } from './test-fixtures.js';

const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * 2 ** 20);
const RW = PROT.READ | PROT.WRITE;
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;

const raw = leafRaw;
/** The special bit's descriptor bit: arm64 PTE_SPECIAL = 56 (pgtable-prot.h), x86 _PAGE_SPECIAL = 9. */
const specialBit = (k: Kernel): bigint => (k.arch.description.id === 'aarch64' ? 1n << 56n : 1n << 9n);
/** The raw descriptor the codec writes for `entry` at level 1. */
const encoded = (k: Kernel, entry: Parameters<Kernel['arch']['codec']['encode']>[0]): bigint => {
  const r = k.arch.codec.encode(entry, 1);
  return (BigInt(r.hi >>> 0) << 32n) | BigInt(r.lo >>> 0);
};
const ok = (r: { ok: boolean }) => expect(r.ok).toBe(true);
const clean = (k: Kernel) => expect(audit(k).problems).toEqual([]);

function mapAnon(k: Kernel, p: Process, pages: number): bigint {
  const m = k.mmap(p, 0, pages * 4096, RW, PRIV);
  if (!m.ok) throw new Error(m.detail);
  return m.value;
}

describe.each(CONFIGS)('special leaves (pte_mkspecial) on $name', (c) => {
  it('the zero page is mapped special: the read-only leaf with only the special bit added', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const va = mapAnon(k, p, 2);
    ok(k.load(p, va, 8));
    const ro = k.readOnlyAttrsFor(p.space.vmas.find(Number(va / PAGE))!.value);
    const plain = encoded(k, { kind: 'leaf', pa: k.zeroPage, attrs: ro });
    expect(raw(k, p, va).toString(16)).toBe((plain | specialBit(k)).toString(16));
    expect(k.lookup(p, va)!.entry).toMatchObject({ pa: k.zeroPage });
    // A fresh anonymous page (do_anonymous_page's write path) is not special.
    ok(k.store(p, va + PAGE, 8, 1n));
    expect(raw(k, p, va + PAGE) & specialBit(k)).toBe(0n);
    clean(k);
  });

  it('zero-fill replaces the special zero-page leaf with an ordinary one', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const va = mapAnon(k, p, 1);
    ok(k.load(p, va, 8));
    expect(raw(k, p, va) & specialBit(k)).toBe(specialBit(k));
    ok(k.store(p, va, 8, 5n));
    expect(k.lookup(p, va)!.entry).not.toMatchObject({ pa: k.zeroPage });
    expect(raw(k, p, va) & specialBit(k)).toBe(0n);
    clean(k);
  });

  it('fork copies the special bit of the zero page (made old in the child) and of device leaves', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const va = mapAnon(k, p, 5);
    for (let i = 0n; i < 4n; i++) ok(k.load(p, va + i * PAGE, 8));
    // A write to the fifth page gives the VMA an anon_vma: fork copies its PTEs (vma_needs_copy),
    // the zero-page ones included (a VMA of zero-page reads only is not copied: anon-vma.test.ts).
    ok(k.store(p, va + 4n * PAGE, 8, 1));
    const dev = mapDevice(k, p);
    const devBefore = raw(k, p, dev.va);
    expect(devBefore & specialBit(k)).toBe(specialBit(k));
    const zeroBefore = raw(k, p, va);
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    const child = f.process;
    const accessed = k.arch.description.id === 'aarch64' ? 1n << 10n : 1n << 5n; // AF / A
    for (let i = 0n; i < 4n; i++) {
      // copy_present_pte: the child's copy is pte_mkold(pte); the parent's read-only leaf unchanged.
      expect(raw(k, child, va + i * PAGE).toString(16)).toBe((zeroBefore & ~accessed).toString(16));
      expect(raw(k, p, va + i * PAGE)).toBe(zeroBefore);
    }
    // The device leaf is copied (VM_PFNMAP: vma_needs_copy) with its special bit and frame.
    expect(raw(k, child, dev.va) & specialBit(k)).toBe(specialBit(k));
    expect(k.lookup(child, dev.va)!.entry).toMatchObject({ pa: dev.pa });
    clean(k);
  });

  it('mprotect keeps the special bit (pte_modify keeps software bits) of zero-page and device leaves', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const va = mapAnon(k, p, 1);
    ok(k.load(p, va, 8));
    const dev = mapDevice(k, p);
    const zero = raw(k, p, va);
    ok(k.mprotect(p, va, 4096, PROT.READ));
    expect(raw(k, p, va) & specialBit(k)).toBe(specialBit(k));
    ok(k.mprotect(p, va, 4096, RW));
    expect(raw(k, p, va)).toBe(zero); // the zero page stays read-only (not anon-exclusive)
    ok(k.mprotect(p, dev.va, 4096, PROT.READ));
    expect(raw(k, p, dev.va) & specialBit(k)).toBe(specialBit(k));
    ok(k.mprotect(p, dev.va, 4096, RW));
    expect(raw(k, p, dev.va) & specialBit(k)).toBe(specialBit(k));
    clean(k);
  });
});

describe.each(CONFIGS)('dumpPageTable / formatDump on $name', (c) => {
  it('name the zero page and device leaves special, and dirty as Linux pte_dirty sees it', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const va = mapAnon(k, p, 2);
    ok(k.load(p, va, 8));
    ok(k.store(p, va + PAGE, 8, 1n));
    ok(k.mprotect(p, va, 2 * 4096, PROT.READ)); // a dirty page made read-only (arm64: PTE_DIRTY)
    const dev = mapDevice(k, p);
    const lines = dumpPageTable(k, p);
    const text = formatDump(lines);
    const at = (v: bigint) => {
      const i = lines.findIndex((l) => l.entry.kind === 'leaf' && l.va === v);
      return { line: lines[i]!, text: text[i]! };
    };
    expect(at(va).line).toMatchObject({ special: true, dirty: false });
    expect(at(va).text).toMatch(/ user r-[-x] .* AF special nG$/);
    expect(at(va + PAGE).line).toMatchObject({ special: false, dirty: true });
    expect(at(va + PAGE).text).toMatch(/ AF dirty nG$/);
    expect(at(dev.va).line.special).toBe(true);
    expect(at(dev.va).text).toMatch(/ special nG$/);
    clean(k);
  });
});

describe('the special bit is the backend’s', () => {
  it('arm64 bit 56 (software bit 1, PTE_SPECIAL); x86 bit 9 (software bit 0, _PAGE_SPECIAL) in every mode', () => {
    for (const c of CONFIGS) {
      const k = bootStrict(c);
      const arm = k.arch.description.id === 'aarch64';
      expect(k.arch.description.capabilities.softwareSpecial).toBe(arm ? 2 : 1);
      const p = k.createProcess();
      const va = mapAnon(k, p, 1);
      ok(k.load(p, va, 8));
      const e = k.lookup(p, va)!.entry;
      expect(e.kind === 'leaf' && e.attrs.software).toBe(arm ? 2 : 1);
    }
  });
});
