import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countTables, type GenSpec, generateTables, parseGenSpec, verifyImage } from './commands/gen.js';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function mmkit(argv: string[], stdin = '') {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: async () => stdin,
    env: {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

const spec = (text: string) => parseGenSpec(text, 'spec.yaml');

function walkBack(s: GenSpec) {
  const r = generateTables(s);
  return { r, problems: verifyImage(s, r.image, { user: r.userRoot, kernel: r.kernelRoot }, r.leaves) };
}

const SPECS: Record<string, string> = {
  aarch64: `arch: aarch64
tables: 0x4800_0000
regions:
  - { name: ram, va: 0x4000_0000, pa: 0x4000_0000, size: 1G, perms: rwx }
  - { name: uart, va: 0x0900_0000, pa: 0x0900_0000, size: 4K, memory: device }
  - { name: odd, va: 0x1_0001_0000, pa: 0x4020_0000, size: 0x2_3000, perms: r--, user: r-- }
  - { name: user, va: 0x40_0000, pa: 0x4100_0000, size: 2M, perms: rw-, user: rw-, global: false }
  - { name: kernel, va: 0xFFFF_0000_4000_0000, pa: 0x4000_0000, size: 64M, perms: r-x }
`,
  x86_64: `arch: x86_64
tables: 0x20_0000
regions:
  - { name: low, va: 0, pa: 0, size: 0x3FF000, perms: rw- }
  - { name: rom, va: 0xFFFF_0000, pa: 0xFFFF_0000, size: 64K, perms: r-x }
  - { name: user, va: 0x4000_0000, pa: 0x4000_0000, size: 1G, perms: rw-, user: rw- }
  - { name: kernel, va: 0xFFFF_FFFF_8000_0000, pa: 0x10_0000, size: 8M, perms: r-x, memory: normal-wt }
`,
  'x86_64-la57': `arch: x86_64-la57
tables: 0x20_0000
regions:
  - { name: low, va: 0x1000, pa: 0x1000, size: 0x3FF000 }
  - { name: high57, va: 0xFF00_0000_0000_0000, pa: 0x10_0000, size: 4M, perms: rwx }
`,
  'x86-pae': `arch: x86-pae
tables: 0x20_0000
regions:
  - { name: low, va: 0, pa: 0, size: 6M, perms: rw- }
  - { name: kernel, va: 0xC000_0000, pa: 0x10_0000, size: 8M, perms: r-x }
  - { name: mmio, va: 0xFEC0_0000, pa: 0xFEC0_0000, size: 4K, memory: device }
`,
  'x86-32': `arch: x86-32
tables: 0x20_0000
regions:
  - { name: low, va: 0, pa: 0, size: 6M, perms: rwx }
  - { name: kernel, va: 0xC000_0000, pa: 0x10_0000, size: 12M, perms: rwx }
  - { name: big, va: 0x8000_0000, pa: 0x8000_0000, size: 8M, perms: rwx, user: rwx }
`,
};

describe('mmkit gen: every generated image walks back to its spec', () => {
  it.each(Object.keys(SPECS))('%s: every leaf boundary and each region edge', (arch) => {
    const { r, problems } = walkBack(spec(SPECS[arch]!));
    expect(problems).toEqual([]);
    expect(r.leaves.length).toBeGreaterThan(3);
    expect(r.image.length).toBe(r.tables.length * 4096);
  });

  it.each([
    ['virt', 'aarch64'],
    ['rpi4b', 'aarch64'],
    ['pc', 'x86_64'],
    ['pc', 'x86_64-la57'],
    ['pc', 'x86-pae'],
    ['pc', 'x86-32'],
  ])('the kernel preset on %s/%s walks back', (board, arch) => {
    const { problems, r } = walkBack(spec(`arch: ${arch}\nboard: ${board}\npreset: kernel\n`));
    expect(problems).toEqual([]);
    expect(r.spec.regions.some((x) => x.name === 'kernel image')).toBe(true);
  });

  it('the checker catches a wrong table: one corrupted descriptor is reported', () => {
    const s = spec(SPECS.aarch64!);
    const r = generateTables(s);
    const bad = r.image.slice();
    // The L1 block descriptor of `ram` (root, root, then the first L1 table: entry 1): point it 1 GiB higher.
    const l1 = r.tables.findIndex((t) => t.level === 3);
    bad[l1 * 4096 + 8 + 3] = (bad[l1 * 4096 + 8 + 3]! + 0x40) & 0xff;
    const problems = verifyImage(s, bad, { user: r.userRoot, kernel: r.kernelRoot }, r.leaves);
    expect(problems.some((p) => p.region === 'ram' && /maps PA/.test(p.problem))).toBe(true);
    // …and a permission change (AP[2], read-only) on the same entry.
    const ro = r.image.slice();
    ro[l1 * 4096 + 8] = ro[l1 * 4096 + 8]! | 0x80;
    expect(
      verifyImage(s, ro, { user: r.userRoot, kernel: r.kernelRoot }, r.leaves).some((p) =>
        /permissions/.test(p.problem),
      ),
    ).toBe(true);
  });
});

describe('mmkit plan: tables per level, checked by hand', () => {
  const plan = (text: string) => countTables(generateTables(spec(text)));
  const levels = (text: string) => Object.fromEntries(plan(text).levels.map((l) => [l.level, l.tables]));

  it('aarch64: a 1 GiB identity block needs the two roots and one L1 table', () => {
    const c = plan(
      'arch: aarch64\ntables: 0x4800_0000\nregions: [{ va: 0x4000_0000, pa: 0x4000_0000, size: 1G }]',
    );
    expect(
      levels('arch: aarch64\ntables: 0x4800_0000\nregions: [{ va: 0x4000_0000, pa: 0x4000_0000, size: 1G }]'),
    ).toEqual({ L0: 2, L1: 1, L2: 0, L3: 0 });
    expect([c.total, c.roots, c.belowRoots]).toEqual([3, 2, 1]);
    expect(c.levels.find((l) => l.level === 'L1')?.leaves).toBe(1);
  });

  it('aarch64: 2 MiB + 4 KiB at a 2 MiB boundary: one block and one page (L1, L2, L3 tables)', () => {
    expect(
      levels(
        'arch: aarch64\ntables: 0x4800_0000\nregions: [{ va: 0x20_0000, pa: 0x4020_0000, size: 0x20_1000 }]',
      ),
    ).toEqual({ L0: 2, L1: 1, L2: 1, L3: 1 });
  });

  it('aarch64: 64 KiB aligned is one contiguous group of 16 pages; 60 KiB is 15 plain pages', () => {
    const g = plan(
      'arch: aarch64\ntables: 0x4800_0000\nregions: [{ va: 0x1_0000, pa: 0x4001_0000, size: 64K }]',
    );
    expect(g.levels.find((l) => l.level === 'L3')).toMatchObject({ leaves: 16, contiguous: 16 });
    const p = plan(
      'arch: aarch64\ntables: 0x4800_0000\nregions: [{ va: 0x1_0000, pa: 0x4001_0000, size: 60K }]',
    );
    expect(p.levels.find((l) => l.level === 'L3')).toMatchObject({ leaves: 15, contiguous: 0 });
    const off = plan(
      'arch: aarch64\ntables: 0x4800_0000\ncontiguous: false\nregions: [{ va: 0x1_0000, pa: 0x4001_0000, size: 64K }]',
    );
    expect(off.levels.find((l) => l.level === 'L3')).toMatchObject({ leaves: 16, contiguous: 0 });
  });

  it('aarch64: VA and PA aligned differently get no block', () => {
    const c = plan(
      'arch: aarch64\ntables: 0x4800_0000\nregions: [{ va: 0x20_0000, pa: 0x4000_1000, size: 2M }]',
    );
    expect(c.levels.find((l) => l.level === 'L2')?.leaves).toBe(0);
    expect(c.levels.find((l) => l.level === 'L3')?.leaves).toBe(512);
  });

  it('x86_64: one 4 KiB page needs PML4, PDPT, PD and PT', () => {
    expect(
      levels('arch: x86_64\ntables: 0x20_0000\nregions: [{ va: 0x1000, pa: 0x1000, size: 4K }]'),
    ).toEqual({ PML4: 1, PDPT: 1, PD: 1, PT: 1 });
  });

  it('x86_64: two 2 MiB pages in different 1 GiB slots need two PDs', () => {
    expect(
      levels(
        'arch: x86_64\ntables: 0x20_0000\nregions: [{ va: 0, pa: 0, size: 2M }, { va: 0x4000_0000, pa: 0x20_0000, size: 2M }]',
      ),
    ).toEqual({ PML4: 1, PDPT: 1, PD: 2, PT: 0 });
  });

  it('x86-32: a 4 MiB page is a PDE (PSE): only the page directory', () => {
    expect(
      levels(
        'arch: x86-32\ntables: 0x20_0000\nregions: [{ va: 0x40_0000, pa: 0x40_0000, size: 4M, perms: rwx }]',
      ),
    ).toEqual({ PD: 1, PT: 0 });
  });

  it('x86-pae: 2 MiB at 0 and 4 KiB at 3 GiB: PDPT, two PDs, one PT', () => {
    expect(
      levels(
        'arch: x86-pae\ntables: 0x20_0000\nregions: [{ va: 0, pa: 0, size: 2M }, { va: 0xC000_0000, pa: 0x40_0000, size: 4K }]',
      ),
    ).toEqual({ PDPT: 1, PD: 2, PT: 1 });
  });

  it('x86_64-la57: one page needs five tables', () => {
    expect(
      plan('arch: x86_64-la57\ntables: 0x20_0000\nregions: [{ va: 0x1000, pa: 0x1000, size: 4K }]').total,
    ).toBe(5);
  });
});

describe('mmkit gen / plan on the command line', () => {
  it('writes the .bin, .S and .h; the .bin is the image and the header has the registers', async () => {
    const file = join(dir, 'virt.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, SPECS.aarch64!);
    const prefix = join(dir, 'virt');
    const r = await mmkit(['gen', file, '-o', prefix]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const g = generateTables(spec(SPECS.aarch64!));
    expect(new Uint8Array(readFileSync(`${prefix}.bin`))).toEqual(g.image);
    const h = readFileSync(`${prefix}.h`, 'utf8');
    expect(h).toContain('#define MMKIT_TTBR0_EL1 0x0000000048000000ULL');
    expect(h).toContain('#define MMKIT_TCR_EL1 0x00000195B5103510ULL');
    const asm = readFileSync(`${prefix}.S`, 'utf8');
    expect(asm).toContain('\t.equ MMKIT_TTBR1_EL1, 0x0000000048001000');
    // Every non-zero descriptor is in the .S, in order, and the zero runs fill the rest.
    const words = asm.split('\n').flatMap((l) => {
      const q = /^\t\.quad 0x([0-9A-F]+)$/.exec(l);
      if (q) return [BigInt(`0x${q[1]}`)];
      const f = /^\t\.fill (\d+), 8, 0$/.exec(l);
      return f ? Array(Number(f[1])).fill(0n) : [];
    });
    const dv = new DataView(g.image.buffer, g.image.byteOffset, g.image.byteLength);
    expect(words).toEqual(Array.from({ length: g.image.length / 8 }, (_, i) => dv.getBigUint64(i * 8, true)));
    expect(r.stdout).toContain('walked back through the MMU');
  });

  it('writes all three files or none: an unwritable .S removes the .bin it wrote', async () => {
    const { mkdirSync, writeFileSync, existsSync } = await import('node:fs');
    const file = join(dir, 'virt2.yaml');
    writeFileSync(file, SPECS.aarch64!);
    const prefix = join(dir, 'blocked');
    mkdirSync(`${prefix}.S`); // a directory where the .S should go
    const r = await mmkit(['gen', file, '-o', prefix]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `mmkit: error: output file "${prefix}.S" cannot be written (EISDIR); expected a writable path\n`,
    );
    expect(existsSync(`${prefix}.bin`)).toBe(false);
    expect(existsSync(`${prefix}.h`)).toBe(false);
  });

  it('plan reads the spec from stdin and prints the per-level count', async () => {
    const r = await mmkit(
      ['plan', '-', '--json'],
      'arch: x86_64\ntables: 0x20_0000\nregions: [{ va: 0x1000, pa: 0x1000, size: 4K }]',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ arch: 'x86_64', total: 4, roots: 1, belowRoots: 3 });
  });

  it.each([
    [
      'arch: sparc\nregions: []',
      'spec.yaml:1: arch "sparc" is not a paging format; expected one of: aarch64',
    ],
    [
      'arch: aarch64\ntables: 0x4800_0000\nregions:\n  - { va: 0x1000, pa: 0x1000, size: 4K, perms: rwz }',
      'spec.yaml:4: region "region 1" perms "rwz" is not valid',
    ],
    [
      'arch: aarch64\ntables: 0x4800_0000\nregions:\n  - { va: 0x1000, pa: 0x1000, size: 4K }\n  - { name: b, va: 0x1000, pa: 0x2000, size: 4K }',
      'region "b" at VA 0x1000 overlaps region "region 1"',
    ],
    [
      'arch: aarch64\ntables: 0x4800_0000\nregions:\n  - { va: 0x1_0000_0000_0000, pa: 0x1000, size: 4K }',
      'is not inside one half of the AArch64',
    ],
    [
      'arch: x86-32\ntables: 0x20_0000\nregions:\n  - { va: 0x1000, pa: 0x1000, size: 4K, perms: rw- }',
      'x86-32 cannot map it',
    ],
    [
      'arch: aarch64\ntables: 0x4800_0000\nmaxTables: 2\nregions:\n  - { va: 0x1000, pa: 0x1000, size: 4K }',
      'needs more than maxTables = 2 tables',
    ],
    ['arch: aarch64\nregions:\n  - { va: 0x1000, pa: 0x1000, size: 4K }', 'tables is missing'],
    ['arch: aarch64\nboard: virt\npreset: flat', 'preset "flat" is not a preset'],
    ['arch: aarch64\nregions: *nowhere', 'not valid YAML: Unresolved alias'],
    [
      'arch: aarch64\ntables: 0x4800_0000\nregions:\n  - { va: 0x1000, pa: 0x1000, size: 4K, memory: wc }',
      'memory "wc" is not a memory type of aarch64',
    ],
  ])('a bad spec is one usage-error line: %j', async (text, part) => {
    const file = join(dir, 'spec.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, text);
    const r = await mmkit(['plan', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr.replaceAll(file, 'spec.yaml')).toContain(part);
  });
});
