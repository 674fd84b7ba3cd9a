import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs mmkit in-process with captured, non-TTY streams (no colour). */
async function mmkit(argv: string[]): Promise<Captured> {
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

/** The `label  value` lines of the neutral decoding, as a map. */
function neutralPairs(stdout: string): Record<string, string> {
  const tail = stdout.slice(stdout.indexOf('neutral decoding\n') + 'neutral decoding\n'.length);
  const pairs: Record<string, string> = {};
  for (const line of tail.split('\n')) {
    const m = /^ {2}(\S.*?)\s{2,}(\S.*)$/.exec(line);
    if (m) pairs[m[1]!] = m[2]!;
  }
  return pairs;
}

/** The field table rows as `name [bits]` → [bits, value, meaning]. */
function fieldRows(stdout: string): Map<string, [string, string, string]> {
  const rows = new Map<string, [string, string, string]>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S.*?)\s{2,}(\[\d+(?::\d+)?\])\s{2,}(\S+)\s{2,}(.*)$/.exec(line);
    if (m) rows.set(`${m[1]} ${m[2]}`, [m[2]!, m[3]!, m[4]!]);
  }
  return rows;
}

/** Field rows whose name starts with `name` (the field names of the backend may carry a suffix). */
function rowValue(stdout: string, name: string, bits: string): string | undefined {
  return fieldRows(stdout).get(`${name} ${bits}`)?.[1];
}

// arch-facts B3: "4K PTE PA 0x10_2000, P|RW|US|NX → 0x8000_0000_0010_2007".
const B3_PTE_GOLDEN = `x86_64 entry 0x8000_0000_0010_2007 at PT: page (4 KiB)

field     bits     value      meaning
P         [0]      1          1: present
R/W       [1]      1          1: writable
U/S       [2]      1          1: user-accessible
PWT       [3]      0          PAT index bit 0 (PAT index 0: IA32_PAT.PA0 = WB (write-back), normal-wb)
PCD       [4]      0          PAT index bit 1
A         [5]      0          0: not accessed since software cleared it
D         [6]      0          0: clean
PAT       [7]      0          PAT index bit 2
G         [8]      0          0: not global
AVL       [11:9]   0b000      available to software
address   [39:12]  0x10_2000  4 KiB page at physical 0x0000102000
reserved  [51:40]  0x0        zero (reserved above MAXPHYADDR 40)
AVL       [58:52]  0x0        available to software
PK        [62:59]  0b0000     protection key 0, ignored (CR4.PKE = 0)
XD        [63]     1          1: execute-disable

neutral decoding
  entry           leaf, maps 4 KiB
  output address  0x0010_2000
  permissions     user rw- kernel rw-
  memory type     normal-wb
  global          no
  accessed        no
  dirty           no
  software bits   0
  contiguous      no
`;

// arch-facts B3: "2 MiB PDE PA 0x20_0000, P|RW|PS|G → 0x0000_0000_0020_0183".
const B3_PDE_2M_GOLDEN = `x86_64 entry 0x0000_0000_0020_0183 at PD: page (2 MiB)

field     bits     value      meaning
P         [0]      1          1: present
R/W       [1]      1          1: writable
U/S       [2]      0          0: supervisor-only page
PWT       [3]      0          PAT index bit 0 (PAT index 0: IA32_PAT.PA0 = WB (write-back), normal-wb)
PCD       [4]      0          PAT index bit 1
A         [5]      0          0: not accessed since software cleared it
D         [6]      0          0: clean
PS        [7]      1          1: maps a 2 MiB page
G         [8]      1          1: global: survives CR3 loads (CR4.PGE = 1)
AVL       [11:9]   0b000      available to software
PAT       [12]     0          PAT index bit 2
reserved  [20:13]  0x0        zero (reserved in a 2 MiB page entry)
address   [39:21]  0x20_0000  2 MiB page at physical 0x0000200000
reserved  [51:40]  0x0        zero (reserved above MAXPHYADDR 40)
AVL       [58:52]  0x0        available to software
PK        [62:59]  0b0000     protection key 0, ignored (CR4.PKE = 0)
XD        [63]     0          0: instruction fetches allowed

neutral decoding
  entry           leaf, maps 2 MiB
  output address  0x0020_0000
  permissions     user --- kernel rwx
  memory type     normal-wb
  global          yes
  accessed        no
  dirty           no
  software bits   0
  contiguous      no
`;

// arch-facts B3: "32-bit 4 MiB PDE PA 0x40_0000, P|RW|PS → 0x0040_0083" (CR4.PSE, PSE-36, MAXPHYADDR 36).
const B3_PDE_4M_GOLDEN = `x86-32 entry 0x0040_0083 at PD: page (4 MiB)

field     bits     value      meaning
P         [0]      1          1: present
R/W       [1]      1          1: writable
U/S       [2]      0          0: supervisor-only page
PWT       [3]      0          PAT index bit 0 (PAT index 0: IA32_PAT.PA0 = WB (write-back), normal-wb)
PCD       [4]      0          PAT index bit 1
A         [5]      0          0: not accessed since software cleared it
D         [6]      0          0: clean
PS        [7]      1          1: maps a 4 MiB page
G         [8]      0          0: not global
AVL       [11:9]   0b000      available to software
PAT       [12]     0          PAT index bit 2
address   [16:13]  0b0000     PA[35:32] of the page (PSE-36)
reserved  [21:17]  0x0        zero (reserved in a 4 MiB PDE (MAXPHYADDR 36))
address   [31:22]  0x40_0000  4 MiB page at physical 0x00400000

neutral decoding
  entry           leaf, maps 4 MiB
  output address  0x0040_0000
  permissions     user --- kernel rwx
  memory type     normal-wb
  global          no
  accessed        no
  dirty           no
  software bits   0
  contiguous      no
`;

describe('decode x86 entries: goldens (arch-facts B3)', () => {
  it.each([
    ['x86_64', '0x8000_0000_0010_2007', 'PT', B3_PTE_GOLDEN],
    ['x86_64', '0x0000_0000_0020_0183', 'PD', B3_PDE_2M_GOLDEN],
    ['x86-32', '0x0040_0083', 'PD', B3_PDE_4M_GOLDEN],
  ])('%s %s at %s prints the golden field table and neutral decoding', async (mode, value, level, golden) => {
    const r = await mmkit(['decode', mode, value, '--level', level]);
    expect(r).toEqual({ code: 0, stdout: golden, stderr: '' });
  });
});

describe('decode x86 entries: key fields (arch-facts B3)', () => {
  it('x86_64 PT 0x8000_0000_0010_2007: 4 KiB page at 0x10_2000, P|RW|US|NX → user rw-, kernel rw-', async () => {
    const r = await mmkit(['decode', 'x86_64', '0x8000_0000_0010_2007', '--level', 'PT']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('x86_64 entry 0x8000_0000_0010_2007 at PT: page (4 KiB)');
    expect(rowValue(r.stdout, 'P', '[0]')).toBe('1');
    expect(rowValue(r.stdout, 'R/W', '[1]')).toBe('1');
    expect(rowValue(r.stdout, 'U/S', '[2]')).toBe('1');
    expect(rowValue(r.stdout, 'XD', '[63]')).toBe('1');
    expect(neutralPairs(r.stdout)).toEqual({
      entry: 'leaf, maps 4 KiB',
      'output address': '0x0010_2000',
      permissions: 'user rw- kernel rw-',
      'memory type': 'normal-wb',
      global: 'no',
      accessed: 'no',
      dirty: 'no',
      'software bits': '0',
      contiguous: 'no',
    });
  });

  it('the level defaults to PT and is case-insensitive; PTE names the same level', async () => {
    const a = await mmkit(['decode', 'x86_64', '0x8000_0000_0010_2007', '--level', 'PT']);
    for (const extra of [[], ['--level', 'pt'], ['--level', 'PTE']]) {
      const b = await mmkit(['decode', 'x86_64', '0x8000000000102007', ...extra]);
      expect(b.stdout).toBe(a.stdout);
    }
  });

  it('x86_64 PD 0x0000_0000_0020_0183: 2 MiB page at 0x20_0000, P|RW|PS|G → kernel rwx, global', async () => {
    const r = await mmkit(['decode', 'x86_64', '0x0000_0000_0020_0183', '--level', 'PD']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('x86_64 entry 0x0000_0000_0020_0183 at PD: page (2 MiB)');
    expect(rowValue(r.stdout, 'PS', '[7]')).toBe('1');
    expect(rowValue(r.stdout, 'G', '[8]')).toBe('1');
    expect(neutralPairs(r.stdout)).toMatchObject({
      entry: 'leaf, maps 2 MiB',
      'output address': '0x0020_0000',
      permissions: 'user --- kernel rwx',
      global: 'yes',
    });
  });

  it('x86-32 PD 0x0040_0083: 4 MiB page at 0x40_0000, P|RW|PS (no NX in 32-bit paging) → kernel rwx', async () => {
    const r = await mmkit(['decode', 'x86-32', '0x0040_0083', '--level', 'PD']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('x86-32 entry 0x0040_0083 at PD: page (4 MiB)');
    expect(rowValue(r.stdout, 'PS', '[7]')).toBe('1');
    expect(neutralPairs(r.stdout)).toMatchObject({
      entry: 'leaf, maps 4 MiB',
      'output address': '0x0040_0000',
      permissions: 'user --- kernel rwx',
      global: 'no',
    });
  });

  it('x86_64 PML4 table entry names the next table; PML5 exists in x86_64-la57', async () => {
    const r = await mmkit(['decode', 'x86_64', '0x0000_0000_0010_3007', '--level', 'PML4']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('x86_64 entry 0x0000_0000_0010_3007 at PML4: table');
    expect(neutralPairs(r.stdout)).toMatchObject({ entry: 'table', 'next table': '0x0010_3000' });
    const la57 = await mmkit(['decode', 'x86_64-la57', '0x0000_0000_0010_3007', '--level', 'PML5']);
    expect(la57.code).toBe(0);
    expect(la57.stdout.split('\n')[0]).toBe('x86_64-la57 entry 0x0000_0000_0010_3007 at PML5: table');
  });

  it('x86-pae decodes a PD entry with XD (8-byte entries)', async () => {
    const r = await mmkit(['decode', 'x86-pae', '0x8000_0000_0020_0083', '--level', 'PD']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('x86-pae entry 0x8000_0000_0020_0083 at PD: page (2 MiB)');
    expect(neutralPairs(r.stdout)).toMatchObject({ permissions: 'user --- kernel rw-' });
  });

  it('a zero entry is absent', async () => {
    const r = await mmkit(['decode', 'x86_64', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('x86_64 entry 0x0000_0000_0000_0000 at PT: absent');
    expect(neutralPairs(r.stdout)).toEqual({ entry: 'absent (not valid, no software payload)' });
  });
});

describe('decode x86 --pf-error (arch-facts B6)', () => {
  it.each([
    ['0x4', '0x0000_0004', 'translation', 'read', ['0', '0', '1', '0', '0']],
    ['0x6', '0x0000_0006', 'translation', 'write', ['0', '1', '1', '0', '0']],
    ['0x7', '0x0000_0007', 'permission', 'write', ['1', '1', '1', '0', '0']],
    ['0x14', '0x0000_0014', 'translation', 'fetch', ['0', '0', '1', '0', '1']],
    ['0x15', '0x0000_0015', 'permission', 'fetch', ['1', '0', '1', '0', '1']],
  ])('%s: user %s, %s', async (code, grouped, fault, access, [p, w, u, rsvd, id]) => {
    const r = await mmkit(['decode', 'x86', '--pf-error', code]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`x86 #PF error code ${grouped}`);
    expect(rowValue(r.stdout, 'P', '[0]')).toBe(p);
    expect(rowValue(r.stdout, 'W/R', '[1]')).toBe(w);
    expect(rowValue(r.stdout, 'U/S', '[2]')).toBe(u);
    expect(rowValue(r.stdout, 'RSVD', '[3]')).toBe(rsvd);
    expect(rowValue(r.stdout, 'I/D', '[4]')).toBe(id);
    expect(neutralPairs(r.stdout)).toEqual({
      exception: '#PF',
      fault,
      level: '-',
      access,
      privilege: 'user',
    });
  });

  it('every x86 mode takes --pf-error too: same fields; x86-32 (no NX, no SMEP) notes that I/D is never set', async () => {
    type F = { name: string; bits: string; value: string; meaning: string };
    const a = await mmkit(['decode', 'x86', '--pf-error', '0x7', '--json']);
    const b = await mmkit(['decode', 'x86-32', '--pf-error', '0x7', '--json']);
    const strip = (fields: F[]) => fields.map(({ name, bits, value }) => ({ name, bits, value }));
    const fa: F[] = JSON.parse(a.stdout).fields;
    const fb: F[] = JSON.parse(b.stdout).fields;
    expect(strip(fb)).toEqual(strip(fa));
    expect(fb.find((f) => f.name === 'I/D')!.meaning).toMatch(/not reported in this configuration/);
    expect(JSON.parse(b.stdout).neutral).toEqual(JSON.parse(a.stdout).neutral);
  });

  it('--json: fields plus the neutral fault, decoded by the x86_64 backend', async () => {
    const r = await mmkit(['decode', 'x86', '--pf-error', '0x15', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['arch', 'register', 'syndrome', 'fields', 'neutral']);
    expect(doc).toMatchObject({ arch: 'x86_64', register: '#PF error code', syndrome: '0x15' });
    expect(doc.neutral).toEqual({
      exception: '#PF',
      fault: 'permission',
      level: null,
      internalLevel: 0,
      access: 'fetch',
      privilege: 'user',
    });
    for (const f of doc.fields) expect(Object.keys(f)).toEqual(['name', 'bits', 'value', 'meaning']);
  });
});

describe('decode x86 --json', () => {
  it('entry: one document, bigints as hex strings, level names of the mode', async () => {
    const r = await mmkit(['decode', 'x86_64', '0x0000_0000_0020_0183', '--level', 'PD', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual([
      'arch',
      'descriptor',
      'level',
      'kind',
      'entrySizeBytes',
      'fields',
      'neutral',
    ]);
    expect(doc).toMatchObject({
      arch: 'x86_64',
      descriptor: '0x200183',
      level: { name: 'PD', internal: 2 },
      kind: 'block',
      entrySizeBytes: 2097152,
      neutral: {
        kind: 'leaf',
        outputAddress: '0x200000',
        sizeBytes: 2097152,
        user: { read: false, write: false, execute: false },
        kernel: { read: true, write: true, execute: true },
        global: true,
      },
    });
    expect(doc.fields).toContainEqual(expect.objectContaining({ name: 'PS', bits: '[7]', value: '0x1' }));
  });

  it('x86-32: internal levels 1 (PT) and 2 (PD)', async () => {
    const r = await mmkit(['decode', 'x86-32', '0x0040_0083', '--level', 'PD', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({
      arch: 'x86-32',
      descriptor: '0x400083',
      level: { name: 'PD', internal: 2 },
      entrySizeBytes: 4194304,
    });
  });
});

describe('decode x86 usage errors: exit 2 and exactly one line on stderr', () => {
  it.each([
    [
      'unknown mode',
      ['decode', 'x86_128', '0x1'],
      'mmkit: error: architecture "x86_128" is not supported by decode; expected one of: aarch64, x86_64, x86_64-la57, x86-pae, x86-32, x86',
    ],
    [
      'PML5 in x86_64 (4-level paging)',
      ['decode', 'x86_64', '0x1', '--level', 'PML5'],
      'mmkit: error: --level "PML5" is not a paging level of x86_64; expected PML4, PDPT, PD or PT',
    ],
    [
      'PDPT in x86-32',
      ['decode', 'x86-32', '0x1', '--level', 'PDPT'],
      'mmkit: error: --level "PDPT" is not a paging level of x86-32; expected PD or PT',
    ],
    [
      'an AArch64 level name in x86-pae',
      ['decode', 'x86-pae', '0x1', '--level', 'L3'],
      'mmkit: error: --level "L3" is not a paging level of x86-pae; expected PDPT, PD or PT',
    ],
    [
      '--pf-error with an entry',
      ['decode', 'x86_64', '0x1', '--pf-error', '0x6'],
      'mmkit: error: decode x86_64 got both an entry ("0x1") and --pf-error ("0x6"); expected exactly one of them',
    ],
    [
      'x86-32 entry ≥ 2^32',
      ['decode', 'x86-32', '0x1_0000_0083', '--level', 'PD'],
      'mmkit: error: entry "0x1_0000_0083" does not fit in 32 bits; expected a 4-byte x86-32 entry at most 0xFFFF_FFFF',
    ],
    [
      '#PF error code ≥ 2^32',
      ['decode', 'x86', '--pf-error', '0x1_0000_0004'],
      'mmkit: error: --pf-error "0x1_0000_0004" does not fit in 32 bits; expected an error code at most 0xFFFF_FFFF',
    ],
    [
      'malformed #PF error code',
      ['decode', 'x86', '--pf-error', 'six'],
      'mmkit: error: --pf-error "six" is not a number; expected hex (0x…), binary (0b…) or decimal digits, with optional _ between digits',
    ],
    [
      'an entry for "x86", which names no mode',
      ['decode', 'x86', '0x8000_0000_0010_2007'],
      'mmkit: error: decode x86 names no paging mode, so it cannot decode the entry "0x8000_0000_0010_2007"; expected --pf-error <code>, or an entry with a mode: x86_64, x86_64-la57, x86-pae or x86-32',
    ],
    [
      'nothing to decode for "x86"',
      ['decode', 'x86'],
      'mmkit: error: decode x86 needs something to decode; expected --pf-error <code>',
    ],
    [
      'nothing to decode for a mode',
      ['decode', 'x86-pae'],
      'mmkit: error: decode x86-pae needs something to decode; expected an entry argument or --pf-error <code>',
    ],
    [
      '--esr on x86',
      ['decode', 'x86_64', '--esr', '0x92000007'],
      `mmkit: error: --esr "0x92000007" is AArch64's ESR_EL1 and does not apply to x86_64; expected --pf-error <code> for an x86 #PF error code`,
    ],
    [
      '--pf-error on aarch64',
      ['decode', 'aarch64', '--pf-error', '0x6'],
      'mmkit: error: --pf-error "0x6" is the x86 #PF error code and does not apply to aarch64; expected --esr <value> for an ESR_EL1 syndrome',
    ],
    [
      '--mair on x86',
      ['decode', 'x86_64', '0x1', '--mair', '0xFF'],
      'mmkit: error: --mair "0xFF" does not apply to x86_64 (x86 memory types come from PWT, PCD and PAT); expected --mair only with aarch64',
    ],
    [
      '--level with --pf-error',
      ['decode', 'x86', '--pf-error', '0x6', '--level', 'PT'],
      'mmkit: error: --level "PT" does not apply to --pf-error (the #PF error code has no level); expected --level only with an entry',
    ],
  ])('%s', async (_name, argv, message) => {
    const r = await mmkit(argv);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
  });
});
