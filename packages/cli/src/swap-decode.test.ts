import { createX86Arch } from '@mmkit/arch-x86';
import { createPcBoard } from '@mmkit/boards';
import { bootKernel, MADV, MAP, PROT } from '@mmkit/kernel';
import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

/** Runs mmkit in-process with captured, non-TTY streams (no colour). */
async function mmkit(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

// Linux x86-64 (pgtable_64.h) __swp_entry(3, 0x12345): (~0x12345 << 14 >> 5) | 3 << 59 = 0x1FFF_FFFF_FDB9_7400.
const X86_64_SWAP_GOLDEN = `x86_64 entry 0x1FFF_FFFF_FDB9_7400 at PT: swap entry

swap entry: type 3, offset 74565 (slot at byte 74565 × 4096 = 0x1234_5000 of swap device 3)

Linux x86-64 swap entry (L1TF-inverted offset)
field               bits     value               meaning
P                   [0]      0                   0: not present: a walk takes a not-present #PF
PS (_PAGE_PSE)      [7]      0                   0: clear: pmd_present checks P, PSE and PROT_NONE
G (_PAGE_PROTNONE)  [8]      0                   0: not PROT_NONE (with P = 0, G set would make Linux treat the PTE as present)
swap type           [63:59]  0x3                 type 3: swap device 3 (swap_info[3], one swapon area)
~swap offset        [58:9]   0x3_FFFF_FFFE_DCBA  offset 74565 stored inverted (L1TF mitigation: a stale non-present PTE names no cached physical page)
SWP_EXCLUSIVE       [3]      0                   not exclusive (PG_anon_exclusive)
SWP_SOFT_DIRTY      [1]      0                   not soft-dirty
SWP_UFFD_WP         [2]      0                   not userfaultfd write-protected

  type   swap device 3 (swap_info[3], one swapon area)
  flags  none

hardware view (not present: every access faults)
field             bits     value               meaning
P                 [0]      0                   0: not present; a walk takes a #PF with P = 0 at the PT; bits 63:1 are ignored by hardware
software payload  [51:1]   0x7_FFFF_FEDC_BA00  ignored (not an mmkit software entry: bits 63:52 are set)
ignored           [63:52]  0x1FF               set by software; ignored by hardware

neutral decoding
  entry   invalid at this level (a walk faults on it)
  reason  not-present entry (P = 0) with bits 63:52 set: Linux swap entry type 3, offset 74565, not exclusive (bits 63:52 hold the type and the inverted offset, beyond a software payload's bits 51:1); a walk takes a not-present #PF
`;

describe('decode explains swap PTEs', () => {
  it('x86_64: __swp_entry(3, 0x12345) with the L1TF-inverted offset (golden output)', async () => {
    const r = await mmkit(['decode', 'x86_64', '0x1FFF_FFFF_FDB9_7400', '--level', 'PT']);
    expect(r).toEqual({ code: 0, stdout: X86_64_SWAP_GOLDEN, stderr: '' });
  });

  it.each([
    // arm64 pgtable.h: 3 << 6 | 0x12345 << 12 | PTE_SWP_EXCLUSIVE (bit 2) = 0x1234_50C4.
    [
      'aarch64',
      '0x1234_50C4',
      'swap entry: type 3, offset 74565 (slot at byte 74565 × 4096 = 0x1234_5000 of swap device 3)',
      'flags  exclusive',
    ],
    // pgtable-2level.h: 3 << 1 | 0x12345 << 9 = 0x0246_8A06.
    [
      'x86-32',
      '0x0246_8A06',
      'swap entry: type 3, offset 74565 (slot at byte 74565 × 4096 = 0x1234_5000 of swap device 3)',
      'flags  none',
    ],
    // pgtable-3level.h: max offset 2^26 − 1, type 1, _PAGE_SWP_EXCLUSIVE = _PAGE_PSE.
    [
      'x86-pae',
      '0x0FFF_FFF8_0000_0080',
      'swap entry: type 1, offset 67108863 (slot at byte 67108863 × 4096 = 0x3F_FFFF_F000 of swap device 1)',
      'flags  exclusive',
    ],
    // LA57 changes nothing: __swp_entry(0, 1) | E | F | SD.
    [
      'x86_64-la57',
      '0x07ff_ffff_ffff_fc0e',
      'swap entry: type 0, offset 1 (slot at byte 1 × 4096 = 0x1000 of swap device 0)',
      'flags  exclusive, soft-dirty, uffd-wp',
    ],
    // The PTE mmkit's kernel writes for slot 1 of device 0, mapped once (swap-keep.test.ts):
    // ~1 << 9 | _PAGE_SWP_EXCLUSIVE (_PAGE_PWT, bit 3).
    [
      'x86_64',
      '0x07FF_FFFF_FFFF_FC08',
      'swap entry: type 0, offset 1 (slot at byte 1 × 4096 = 0x1000 of swap device 0)',
      'flags  exclusive',
    ],
    // 2-level: 1 << 9 | _PAGE_SWP_EXCLUSIVE (_PAGE_PSE, bit 7).
    [
      'x86-32',
      '0x280',
      'swap entry: type 0, offset 1 (slot at byte 1 × 4096 = 0x1000 of swap device 0)',
      'flags  exclusive',
    ],
    // SWP_PTE_MARKER (type 31) is not a swap slot.
    [
      'x86_64',
      '0xFFFF_FFFF_FFFF_FC00',
      'swap entry: type 31, offset 1',
      'SWP_PTE_MARKER: a PTE marker, not a swap slot',
    ],
  ])('%s %s', async (arch, value, line, detail) => {
    const r = await mmkit(['decode', arch, value]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/: swap entry$/);
    expect(r.stdout).toContain(line);
    expect(r.stdout).toContain(detail);
  });

  it('does not call a present PTE, a PROT_NONE PTE, zero or an entry above the leaf table a swap entry', async () => {
    for (const argv of [
      ['decode', 'x86_64', '0x8000_0000_0000_5067'],
      ['decode', 'x86_64', '0x1FFF_FFFF_FDB9_7500'], // G (_PAGE_PROTNONE) set: PROT_NONE
      ['decode', 'x86_64', '0'],
      ['decode', 'x86_64', '0x1FFF_FFFF_FDB9_7400', '--level', 'PD'],
      ['decode', 'aarch64', '0x1234_58C0'], // PTE_PRESENT_INVALID set: PROT_NONE
    ]) {
      const r = await mmkit(argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stdout, argv.join(' ')).not.toContain('swap entry');
    }
  });

  it('--json adds a swap object with the slot address', async () => {
    const r = await mmkit(['decode', 'x86_64', '0x1FFF_FFFF_FDB9_7400', '--json']);
    const doc = JSON.parse(r.stdout);
    expect(doc.swap).toMatchObject({
      format: 'Linux x86-64 swap entry (L1TF-inverted offset)',
      type: 3,
      offset: 74565,
      pageBytes: 4096,
      slotByte: '0x12345000',
      exclusive: false,
      softDirty: false,
      uffdWp: false,
    });
    const plain = JSON.parse((await mmkit(['decode', 'x86_64', '0', '--json'])).stdout);
    expect('swap' in plain).toBe(false);
  });
});

describe('decode explains the swap PTEs the kernel writes (PG_anon_exclusive)', () => {
  /** A page of a private mapping, written, then swapped out: its swap PTE as `0x…` text. */
  function swapPteOf(mode: 'x86_64' | 'x86-32', partnerWrites: 'nobody' | 'parent'): string {
    const k = bootKernel({
      arch: createX86Arch({ mode }),
      machine: createPcBoard({ flavour: mode === 'x86-32' ? '32' : '64' }),
    });
    expect(k.swapon({ pages: 16 }).ok).toBe(true);
    const p = k.createProcess();
    const m = k.mmap(p, 0, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    if (!m.ok) throw new Error(m.detail);
    expect(k.store(p, m.value, 8, 1n).ok).toBe(true);
    const f = k.fork(p);
    if (!f.ok) throw new Error(f.errno);
    k.exit(f.process); // the fork partner leaves without writing
    if (partnerWrites === 'parent') expect(k.store(p, m.value, 8, 2n).ok).toBe(true);
    expect(k.madvise(p, m.value, 4096, MADV.PAGEOUT).ok).toBe(true);
    const [lo, hi] = k.editor.readRaw(k.lookup(p, m.value)!.descriptorPa);
    return `0x${((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16)}`;
  }

  it('x86_64: the partner exited without writing → not exclusive; written since → SWP_EXCLUSIVE (bit 3)', async () => {
    const shared = swapPteOf('x86_64', 'nobody');
    expect(shared).toBe('0x7fffffffffffc00'); // __swp_entry(0, 1): ~1 << 9, no _PAGE_SWP_EXCLUSIVE
    const a = await mmkit(['decode', 'x86_64', shared, '--level', 'PT']);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain(
      'SWP_EXCLUSIVE       [3]      0                   not exclusive (PG_anon_exclusive)',
    );
    expect(a.stdout).toContain('  flags  none');
    const written = swapPteOf('x86_64', 'parent');
    expect(written).toBe('0x7fffffffffffc08');
    const b = await mmkit(['decode', 'x86_64', written, '--level', 'PT']);
    expect(b.stdout).toContain('  flags  exclusive');
  });

  it('x86-32: the same, bit 7 (_PAGE_PSE)', async () => {
    expect(swapPteOf('x86-32', 'nobody')).toBe('0x200');
    expect((await mmkit(['decode', 'x86-32', '0x200'])).stdout).toContain('  flags  none');
    expect(swapPteOf('x86-32', 'parent')).toBe('0x280');
    expect((await mmkit(['decode', 'x86-32', '0x280'])).stdout).toContain('  flags  exclusive');
  });
});
