/**
 * `--kernel-split` (x86-32 and PAE): the first kernel VA decides the user and kernel halves of
 * `dump` (its `--half` filter, its `user-kernel` check) and `diff`; default 0xC000_0000, Linux's
 * 3G/1G PAGE_OFFSET. The backend's rule for the value (a multiple of 4 MiB on x86-32, of 1 GiB on
 * PAE, as Linux's VMSPLIT_* choices) and formats whose halves are fixed give usage errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toJson } from '../json.js';
import { buildStates, CONFIGS, mmkit, rawImageOf, regsArg } from './test-states.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-split-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Range {
  half: string;
  start: string;
  end: string;
  user: string;
}
interface Dump {
  notes: string[];
  ranges: Range[];
  findings?: { check: string; start: string }[];
}

async function dump(args: readonly string[]): Promise<{ code: number; doc: Dump }> {
  const r = await mmkit(['dump', ...args, '--json']);
  expect(r.stderr).toBe('');
  return { code: r.code, doc: JSON.parse(r.stdout) as Dump };
}

describe.each([CONFIGS[1], CONFIGS[2]])('--kernel-split on $name', (config) => {
  const s = buildStates(config);
  const exported = join(dir, `${config.name}.json`);
  writeFileSync(exported, toJson(s.a));
  const { base, bytes } = rawImageOf(s.a);
  const image = join(dir, `${config.name}.bin`);
  writeFileSync(image, bytes);
  const img = ['--from', `image:${image}@0x${base.toString(16)}`, '--regs', regsArg(s.a)];
  const userAbove2G = (d: Dump) =>
    d.ranges.filter((r) => BigInt(r.start) >= 0x8000_0000n && r.user !== '---');

  it('by default the kernel half starts at 0xC000_0000: every user page is in the user half', async () => {
    const plain = await dump(['--from', exported, '--check']);
    expect(plain.doc.findings!.filter((f) => f.check === 'user-kernel')).toEqual([]);
    for (const r of plain.doc.ranges)
      expect(r.half).toBe(BigInt(r.start) >= 0xc000_0000n ? 'kernel' : 'user');
    // The process's stack and mmap area lie between 2 GiB and 3 GiB.
    expect(userAbove2G(plain.doc).length).toBeGreaterThan(0);
    const same = await dump([...img, '--kernel-split', '0xC000_0000', '--check']);
    expect(same.doc.ranges).toEqual(plain.doc.ranges);
    expect(same.doc.notes).toContain('kernel half from 0xC0000000 (kernel split)');
  });

  it('--kernel-split 0x8000_0000 (2G/2G): the user pages above 2 GiB are kernel-half, and --check says so', async () => {
    const split = await dump([...img, '--kernel-split', '0x8000_0000', '--check']);
    expect(split.code).toBe(1);
    const plain = await dump([...img, '--check']);
    expect(plain.doc.findings!.filter((f) => f.check === 'user-kernel')).toEqual([]);
    const moved = userAbove2G(split.doc);
    expect(moved.length).toBeGreaterThan(0);
    for (const r of moved) expect(r.half).toBe('kernel');
    expect(split.doc.findings!.filter((f) => f.check === 'user-kernel').map((f) => f.start)).toEqual(
      moved.map((r) => r.start),
    );
    // --half follows the split.
    const kernelHalf = await dump([...img, '--kernel-split', '0x8000_0000', '--half', 'kernel']);
    expect(kernelHalf.doc.ranges.every((r) => BigInt(r.start) >= 0x8000_0000n)).toBe(true);
    expect(kernelHalf.doc.ranges.length).toBeGreaterThan(moved.length);
    // An export takes it too.
    const fromExport = await dump(['--from', exported, '--kernel-split', '0x8000_0000']);
    expect(fromExport.doc.ranges).toEqual((await dump([...img, '--kernel-split', '0x8000_0000'])).doc.ranges);
  });

  it('a split the format cannot have is a usage error', async () => {
    // Linux's VMSPLIT_3G_OPT (0xB000_0000) exists only without PAE: not a PDPTE boundary.
    const opt = await mmkit(['dump', ...img, '--kernel-split', '0xB000_0000']);
    if (config.arch === 'x86-pae') {
      expect(opt.code).toBe(2);
      expect(opt.stderr).toMatch(
        /^mmkit: error: image .*: x86-pae option userSplit: 2952790016 is invalid; expected a multiple of 1 GiB \(one PDPTE\) between 0 and 4 GiB, exclusive\n$/,
      );
    } else {
      expect(opt.code).toBe(0);
      expect(opt.stderr).toBe('');
    }
    const big = await mmkit(['dump', ...img, '--kernel-split', '0x1_0000_0000']);
    expect(big.code).toBe(2);
    expect(big.stderr).toBe(
      'mmkit: error: --kernel-split "0x1_0000_0000" is outside the 32-bit address space; expected an address between 0 and 0x1_0000_0000, exclusive\n',
    );
  });
});

it('--kernel-split on x86_64 and AArch64: a usage error (their halves are fixed)', async () => {
  for (const config of [CONFIGS[3], CONFIGS[0]]) {
    const s = buildStates(config);
    const f = join(dir, `${config.name}.json`);
    writeFileSync(f, toJson(s.a));
    const r = await mmkit(['dump', '--from', f, '--kernel-split', '0x8000_0000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^mmkit: error: export .*: a kernel split \(0x80000000\) does not apply to (x86_64|AArch64): its user and kernel halves are fixed by the architecture; expected x86-32 or PAE registers\n$/,
    );
    const d = await mmkit(['diff', f, f, '--kernel-split', '0xC000_0000']);
    expect(d.code).toBe(2);
  }
});
