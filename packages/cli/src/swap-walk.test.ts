/**
 * `mmkit walk` names the swap entry of a swapped-out page (type, offset, exclusive bit) on all
 * five configurations, whether the backend's codec decodes the PTE as a software payload
 * (AArch64, 32-bit x86) or as `invalid` (x86-64 and PAE: bits 63:52 hold the type and the
 * L1TF-inverted offset).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBoard, pcFlavourForArch } from '@mmkit/boards';
import { bootKernel, exportTranslationState, MADV, MAP, PROT } from '@mmkit/kernel';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from './arch-registry.js';
import { toJson } from './json.js';
import { CONFIGS, mmkit } from './sources/test-states.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-swap-walk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(CONFIGS)('walk of a swapped-out page: $name', (config) => {
  it('names the swap entry: type, offset, exclusive', async () => {
    const flavour = config.board === 'pc' ? pcFlavourForArch(config.arch) : undefined;
    const board = createBoard(config.board, {
      ramBytes: 32 * 2 ** 20,
      ...(flavour ? { flavour } : {}),
    } as never);
    const k = bootKernel({ arch: createBackend(config.arch), machine: board });
    expect(k.swapon({ pages: 16 }).ok).toBe(true);
    const p = k.createProcess();
    const m = k.mmap(p, 0, 2 * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
    if (!m.ok) throw new Error(m.detail);
    for (const i of [0n, 1n]) expect(k.store(p, m.value + i * 4096n, 8, 5n).ok).toBe(true);
    expect(k.madvise(p, m.value, 2 * 4096, MADV.PAGEOUT).ok).toBe(true);
    const walk = async (name: string, proc: typeof p, va: bigint) => {
      const file = join(dir, `${config.name}-${name}.json`);
      writeFileSync(file, toJson(exportTranslationState(k, proc)));
      const r = await mmkit(['walk', `0x${va.toString(16)}`, '--from', file, '--el0']);
      expect(r.stderr).toBe('');
      return /: a (Linux swap entry .*) \(a swapped-out page\)/.exec(r.stdout)?.[1];
    };
    // Mapped once when swapped out: SWP_EXCLUSIVE (x86-64 bit 3, PAE / 32-bit bit 7, arm64 bit 2).
    expect(await walk('parent', p, m.value)).toBe('Linux swap entry type 0, offset 1, exclusive');
    expect(await walk('parent', p, m.value + 4096n)).toBe('Linux swap entry type 0, offset 2, exclusive');
    // fork clears the bit in both copies (copy_nonpresent_pte → pte_swp_clear_exclusive).
    const child = k.fork(p);
    if (!child.ok) throw new Error(child.errno);
    expect(await walk('child', child.process, m.value)).toBe(
      'Linux swap entry type 0, offset 1, not exclusive',
    );
    expect(await walk('parent2', p, m.value)).toBe('Linux swap entry type 0, offset 1, not exclusive');
  });
});
