/**
 * Anonymous `vm_pgoff` (VmaValue.pgoffDelta), on all five configurations with audit() after each
 * case: mmap gives an anonymous VMA `vm_pgoff = addr >> PAGE_SHIFT`; mremap's move keeps it for a
 * VMA with an anon_vma (Linux `copy_vma`) and gives one without the new address's; VMAs merge only
 * with contiguous pgoffs (`is_mergeable_vma` / `can_vma_merge_after`); /proc/PID/maps shows offset
 * 0 for anonymous memory all the same (`show_map_vma`).
 */
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import type { Kernel } from './kernel.js';
import type { Process } from './process.js';
import { MAP, MREMAP, PROT } from './syscalls.js';
import { bootStrict, fiveConfigs } from './test-fixtures.js';

const PAGE = 4096n;
const CONFIGS = fiveConfigs(32 * 2 ** 20);
const RW = PROT.READ | PROT.WRITE;
const PRIV = MAP.PRIVATE | MAP.ANONYMOUS;
const ok = (r: { ok: boolean }) => expect(r.ok).toBe(true);

function map(k: Kernel, p: Process, pages: number, prot = RW, flags = PRIV, addr = 0n): bigint {
  const m = k.mmap(p, addr, BigInt(pages) * PAGE, prot, flags);
  if (!m.ok) throw new Error(m.detail);
  return m.value;
}

/**
 * A 2-page private VMA (written when `written`: it gets an anon_vma) moved by mremap to a new
 * place while growing to 4 pages (a PROT_READ blocker right after it keeps it from growing in
 * place); returns the new address.
 */
function moved(k: Kernel, p: Process, written: boolean): bigint {
  const a = map(k, p, 2);
  if (written) ok(k.store(p, a, 8, 0x1234n));
  map(k, p, 1, PROT.READ, PRIV | MAP.FIXED, a + 2n * PAGE);
  const r = k.mremap(p, a, 2n * PAGE, 4n * PAGE, MREMAP.MAYMOVE);
  if (!r.ok) throw new Error(r.detail);
  expect(r.value).not.toBe(a);
  return r.value;
}

/** The VMAs (start, end) of `p` inside [lo, hi). */
const vmasIn = (k: Kernel, p: Process, lo: bigint, hi: bigint) =>
  k
    .vmas(p)
    .filter((v) => v.start >= lo && v.end <= hi)
    .map((v) => [v.start, v.end]);

describe.each(CONFIGS)('anonymous vm_pgoff on $name', (c) => {
  it('a moved VMA with an anon_vma keeps its pgoff: a new neighbour at the new place does not merge', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const d = moved(k, p, true);
    expect(k.load(p, d, 8)).toEqual({ ok: true, value: 0x1234n });
    // B right below it: vm_pgoff = its address's page number, not contiguous with the moved VMA's.
    map(k, p, 2, RW, PRIV | MAP.FIXED, d - 2n * PAGE);
    expect(vmasIn(k, p, d - 2n * PAGE, d + 4n * PAGE)).toEqual([
      [d - 2n * PAGE, d],
      [d, d + 4n * PAGE],
    ]);
    // And right above it (after the grown part): apart too.
    map(k, p, 1, RW, PRIV | MAP.FIXED, d + 4n * PAGE);
    expect(vmasIn(k, p, d - 2n * PAGE, d + 5n * PAGE)).toHaveLength(3);
    // /proc/PID/maps: anonymous memory shows offset 0 whatever its pgoff.
    const line = k
      .procMaps(p)
      .split('\n')
      .find((l) => l.startsWith(d.toString(16)))!;
    expect(line).toMatch(/^[0-9a-f]+-[0-9a-f]+ rw-p 00000000 00:00 0/);
    expect(audit(k).problems).toEqual([]);
  });

  it('a moved VMA without an anon_vma takes the new address’s pgoff (copy_vma) and merges', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const d = moved(k, p, false);
    map(k, p, 2, RW, PRIV | MAP.FIXED, d - 2n * PAGE);
    expect(vmasIn(k, p, d - 2n * PAGE, d + 4n * PAGE)).toEqual([[d - 2n * PAGE, d + 4n * PAGE]]);
    expect(audit(k).problems).toEqual([]);
  });

  it('pieces of one moved VMA stay contiguous: split by mprotect and restored, they merge again', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const d = moved(k, p, true);
    ok(k.mprotect(p, d + PAGE, PAGE, PROT.READ));
    expect(vmasIn(k, p, d, d + 4n * PAGE)).toHaveLength(3);
    ok(k.mprotect(p, d + PAGE, PAGE, RW));
    expect(vmasIn(k, p, d, d + 4n * PAGE)).toEqual([[d, d + 4n * PAGE]]);
    expect(audit(k).problems).toEqual([]);
  });

  it('a neighbour does not reuse the moved VMA’s anon_vma (anon_vma_compatible needs contiguous pgoffs)', () => {
    const k = bootStrict(c);
    const p = k.createProcess();
    const d = moved(k, p, true);
    map(k, p, 2, RW, PRIV | MAP.FIXED, d - 2n * PAGE);
    ok(k.store(p, d - 2n * PAGE, 8, 1n));
    const id = (va: bigint) => p.space.vmas.find(Number(va / PAGE))!.value.anonVmaId;
    expect(id(d - 2n * PAGE)).not.toBe(0);
    expect(id(d - 2n * PAGE)).not.toBe(id(d));
    expect(audit(k).problems).toEqual([]);
  });
});
