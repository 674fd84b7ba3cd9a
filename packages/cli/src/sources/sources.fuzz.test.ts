/**
 * Hostile sources: truncated and mangled exports, random images with random registers, tables
 * that loop or point outside memory, truncated ELF cores. Every run ends (no hang: loops are cut
 * by the once-per-table load and the entry cap) with exit 0, or exit 2 and exactly one
 * `mmkit: error: …` line — never an internal error or a stack trace.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { toJson } from '../json.js';
import { buildStates, type Captured, CONFIGS, elfCoreOf, mmkit } from './test-states.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const write = (data: string | Uint8Array) => {
  const file = join(dir, `f${n++}`);
  writeFileSync(file, data);
  return file;
};

function expectClean(r: Captured): void {
  expect([0, 2]).toContain(r.code);
  if (r.code === 2) expect(r.stderr).toMatch(/^mmkit: error: [^\n]+\n$/);
  else expect(r.stderr).toBe('');
  expect(r.stdout + r.stderr).not.toMatch(/internal error|\n\s+at /);
}

const aarch64 = buildStates(CONFIGS[0]);
const x86 = buildStates(CONFIGS[3]);

describe('fuzzed sources give one-line errors, never a hang or a stack trace', () => {
  it('truncated or mangled exports', async () => {
    const text = toJson(aarch64.a);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.nat({ max: text.length }).map((cut) => text.slice(0, cut)),
          fc
            .record({
              table: fc.nat({ max: aarch64.a.tables.length - 1 }),
              bytes: fc.string({ unit: fc.constantFrom(...'0123456789abcdefX'), maxLength: 40 }),
            })
            .map(({ table, bytes }) => {
              const doc = structuredClone(aarch64.a) as unknown as { tables: { bytes: string }[] };
              doc.tables[table]!.bytes = bytes;
              return JSON.stringify(doc);
            }),
          fc
            .record({
              key: fc.constantFrom('format', 'arch', 'registers', 'tables', 'pa'),
              value: fc.jsonValue(),
            })
            .map(({ key, value }) => {
              const doc = structuredClone(aarch64.a) as unknown as Record<string, unknown>;
              if (key === 'pa') (doc.tables as Record<string, unknown>[])[0]!.pa = value;
              else doc[key] = value;
              return JSON.stringify(doc);
            }),
        ),
        async (content) => {
          const file = `${write(content)}.json`;
          writeFileSync(file, content);
          expectClean(await mmkit(['dump', '--from', file]));
          expectClean(await mmkit(['walk', '0x400000', '--from', file]));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('random images whose tables loop and point outside memory, with random registers', async () => {
    const frames = 8;
    const base = 0x4000_0000;
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.tuple(fc.nat({ max: frames + 3 }), fc.nat({ max: 7 }), fc.boolean()), {
          minLength: 1,
          maxLength: 400,
        }),
        fc.nat({ max: frames + 1 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.nat({ max: frames * 4096 - 1 }),
        async (arm, entries, rootFrame, va, truncate) => {
          const img = new Uint8Array(frames * 4096);
          const v = new DataView(img.buffer);
          entries.forEach(([target, low, leaf], i) => {
            const pa = base + target * 4096; // targets ≥ frames lie outside the image
            const slot = (i * 37) % (img.length / 8);
            // AArch64: 0b11 = table (or page at L3), 0b01 = block; x86: P|R/W|U/S (+PS).
            const flags = arm ? (leaf ? 0x701 : 0x3) | (low << 2) : 0x7 | (leaf ? 0x80 : 0) | (low << 3);
            v.setUint32(slot * 8, (pa | flags) >>> 0, true);
          });
          const file = write(img.slice(0, img.length - truncate));
          const root = base + rootFrame * 4096;
          const regs = arm
            ? `TTBR0_EL1=${root},TTBR1_EL1=${root},TCR_EL1=${aarch64.a.registers.TCR_EL1}`
            : `CR3=${root},CR4=${x86.a.registers.CR4},EFER=${x86.a.registers.EFER}`;
          const from = `image:${file}@0x${base.toString(16)}`;
          expectClean(
            await mmkit([
              'dump',
              '--from',
              from,
              '--regs',
              regs,
              '--check',
              '--json',
              '--max-entries',
              '20000',
            ]).then((r) => ({
              ...r,
              code: r.code === 1 ? 0 : r.code,
            })),
          );
          expectClean(await mmkit(['walk', `0x${va.toString(16)}`, '--from', from, '--regs', regs]));
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);

  it('truncated ELF cores and random registers', async () => {
    const core = elfCoreOf(x86.a, true);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: core.length }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        async (cut, cr4) => {
          const file = write(core.slice(0, cut));
          expectClean(await mmkit(['dump', '--from', `core:${file}`]));
          expectClean(await mmkit(['walk', '0x400000', '--from', `core:${file}`, '--regs', `CR4=${cr4}`]));
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);

  it('a table that points back to itself is listed as a loop, not descended', async () => {
    // x86_64 (CR4.PAE, EFER.LMA): PML4 at 0x1000 whose entry 5 points to itself, entry 0 to a
    // PDPT → PD → PT with one page.
    const img = new Uint8Array(5 * 4096);
    const v = new DataView(img.buffer);
    v.setUint32(0x1000 + 5 * 8, 0x1000 | 7, true);
    v.setUint32(0x1000, 0x2000 | 7, true);
    v.setUint32(0x2000, 0x3000 | 7, true);
    v.setUint32(0x3000, 0x4000 | 7, true);
    v.setUint32(0x4000 + 8, 0x4000 | 7, true);
    const from = `image:${write(img)}@0`;
    const r = await mmkit(['dump', '--from', from, '--regs', 'CR3=0x1000,CR4=0x20,EFER=0xd00']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/0x0000_0000_0000_1000-0x0000_0000_0000_2000 +4K +PT +0x4000 /);
    expect(r.stdout).toMatch(/loop: PML4\[5\] of 0x1000 .* points back to the table at 0x1000/);
  });

  it('tables shared along many paths stop at --max-entries with one line', async () => {
    // Every PML4E → one PDPT, every PDPTE → one PD, every PDE → one PT with 512 pages: 2^36 pages.
    const img = new Uint8Array(5 * 4096);
    const v = new DataView(img.buffer);
    for (let i = 0; i < 512; i++) {
      v.setUint32(0x1000 + i * 8, 0x2000 | 7, true);
      v.setUint32(0x2000 + i * 8, 0x3000 | 7, true);
      v.setUint32(0x3000 + i * 8, 0x4000 | 7, true);
      v.setUint32(0x4000 + i * 8, (i * 4096) | 7, true);
    }
    const from = `image:${write(img)}@0`;
    const r = await mmkit([
      'dump',
      '--from',
      from,
      '--regs',
      'CR3=0x1000,CR4=0x20,EFER=0xd00',
      '--max-entries',
      '5000',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^mmkit: error: image .*: more than 5000 present entries .*--max-entries 5000\n$/,
    );
  });

  it('malformed specifications and register lists', async () => {
    for (const argv of [
      ['dump', '--from', 'nothing'],
      ['dump', '--from', 'image:/nonexistent@0x1000', '--regs', 'CR3=0x1000'],
      ['dump', '--from', 'image:x.bin'],
      ['dump', '--from', 'image:x.bin@0x123', '--regs', 'CR3=0x1000'],
      ['dump', '--from', 'gdb:localhost:99999'],
      ['dump', '--from', 'core:/nonexistent'],
      ['dump', '--from', 'x.json', '--regs', 'CR3=1'],
      ['walk', '0x1000', '--from', 'image:x@0', '--regs', 'FOO=1'],
      ['walk', '0x1000', '--from', 'image:x@0', '--regs', 'CR3=zz'],
      ['walk', 'nope', '--from', 'x.json'],
      ['walk', '0x1000', '--from', 'x.json', '--access', 'jump'],
      ['dump', '--from', 'x.json', '--va', '0x2000..0x1000'],
      ['dump', '--from', 'x.json', '--where', 'colour=red'],
    ]) {
      const r = await mmkit(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^mmkit: error: [^\n]+\n$/);
    }
  });
  it('--pan, --ac and --kernel-split: any value on any format is a walk/dump or one usage error', async () => {
    const pae = buildStates(CONFIGS[2]);
    const files = [aarch64, x86, pae].map((st) => {
      const f = `${write('')}.json`;
      writeFileSync(f, toJson(st.a));
      return { f, st };
    });
    const value = fc.oneof(
      fc.constantFrom('0', '1', 'on', 'off', '2', '', '-1', 'yes', '0x1'),
      fc.string({ maxLength: 8 }),
    );
    const split = fc.oneof(
      fc.constantFrom(
        '0xC000_0000',
        '0x8000_0000',
        '0x4000_0000',
        '0xB000_0000',
        '0x7800_0000',
        '0',
        '0x1_0000_0000',
      ),
      fc.bigInt({ min: 0n, max: (1n << 33n) - 1n }).map((v) => `0x${v.toString(16)}`),
      fc.string({ maxLength: 10 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 2 }),
        fc.option(value, { nil: undefined }),
        fc.option(value, { nil: undefined }),
        fc.option(split, { nil: undefined }),
        fc.constantFrom('read', 'write', 'fetch'),
        async (which, pan, ac, ks, access) => {
          const { f, st } = files[which]!;
          const flags = [
            ...(pan === undefined ? [] : ['--pan', pan]),
            ...(ac === undefined ? [] : ['--ac', ac]),
          ];
          const w = await mmkit([
            'walk',
            `0x${st.heap.toString(16)}`,
            '--from',
            f,
            '--access',
            access,
            ...flags,
          ]);
          expectClean(w);
          // A walk succeeds exactly when the flag values are well formed and fit the format.
          const ok = (v: string | undefined) =>
            v === undefined || ['0', '1', 'on', 'off'].includes(v.trim().toLowerCase());
          const arm = which === 0;
          const fits = ok(pan) && ok(ac) && (pan === undefined || arm) && (ac === undefined || !arm);
          expect(w.code).toBe(fits ? 0 : 2);
          expectClean(
            await mmkit(['dump', '--from', f, ...(ks === undefined ? [] : ['--kernel-split', ks])]),
          );
        },
      ),
      { numRuns: 80 },
    );
  });
});
