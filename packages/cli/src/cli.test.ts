import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs mmkit in-process with captured, non-TTY streams (no colour). */
async function mmkit(
  argv: string[],
  options: { tty?: boolean; env?: Record<string, string> } = {},
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: options.tty ?? false },
    stderr: { write: (s: string) => (stderr += s) },
    env: options.env ?? {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

// arch-facts A5: "L2 2 MiB block, PA 0x4000_0000, Normal idx1, inner-shareable, AF, EL1 RW, UXN".
const A5_BLOCK_GOLDEN = `aarch64 descriptor 0x0040_0000_4000_0705 at L2: block (2 MiB)

field            bits     value        meaning
Valid            [0]      1            1: valid
Descriptor type  [1]      0            0: block descriptor (0b01) at L2, block (2 MiB)
AttrIndx         [4:2]    0b001        MAIR_EL1.Attr1 = 0xFF: Normal, Inner+Outer Write-Back non-transient RW-allocate
NS               [5]      0            ignored in the Non-secure EL1&0 regime
AP[2:1]          [7:6]    0b00         EL1 read/write, EL0 no access
SH               [9:8]    0b11         Inner Shareable
AF               [10]     1            accessed
nG               [11]     0            global: matches every ASID
RES0             [15:12]  0b0000       zero
nT               [16]     0            FEAT_BBM: block translation entry hint
RES0             [20:17]  0b0000       zero
Output address   [47:21]  0x4000_0000  physical 0x000040000000 (block (2 MiB))
RES0             [49:48]  0b00         zero
GP               [50]     0            not guarded
DBM              [51]     0            clear: hardware never makes this entry writable
Contiguous       [52]     0            not contiguous
PXN              [53]     0            EL1 may execute (unless EL0 can write)
UXN              [54]     1            EL0 execute-never
SW               [58:55]  0b0000       reserved for software (mmkit \`software\` value)
ignored          [62:59]  0b0000       ignored by hardware (POIndex / PBHA with FEAT_S1POE / FEAT_HPDS2)
ignored          [63]     0            ignored by hardware (Linux uses it as a software bit)

neutral decoding
  entry           leaf, maps 2 MiB
  output address  0x4000_0000
  permissions     user --- kernel rwx
  memory type     normal-wb
  global          yes
  accessed        yes
  dirty           yes
  software bits   0
  contiguous      no
`;

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

/** The field table rows as name → [bits, value]. */
function fieldRows(stdout: string): Map<string, [string, string, string]> {
  const rows = new Map<string, [string, string, string]>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S.*?)\s{2,}(\[\d+(?::\d+)?\])\s{2,}(\S+)\s{2,}(.*)$/.exec(line);
    if (m) rows.set(`${m[1]} ${m[2]}`, [m[2]!, m[3]!, m[4]!]);
  }
  return rows;
}

describe('decode aarch64 <descriptor>', () => {
  it('arch-facts A5: L2 block 0x0040_0000_4000_0705 prints the golden table and neutral decoding', async () => {
    const r = await mmkit(['decode', 'aarch64', '0x0040_0000_4000_0705', '--level', 'L2']);
    expect(r).toEqual({ code: 0, stdout: A5_BLOCK_GOLDEN, stderr: '' });
  });

  it('accepts the level as a bare number and the descriptor in decimal', async () => {
    const a = await mmkit(['decode', 'aarch64', '0x0040_0000_4000_0705', '--level', 'L2']);
    const b = await mmkit(['decode', 'aarch64', String(0x0040_0000_4000_0705n), '--level', '2']);
    expect(b.stdout).toBe(a.stdout);
  });

  it('Linux PAGE_KERNEL at L3 (PTE_TYPE_PAGE|AF|SHARED|PXN|UXN|WRITE=DBM, MT_NORMAL idx 0): kernel rw-, dirty, global', async () => {
    // PAGE_KERNEL = PROT_NORMAL for PA 0x4000_1000, no KPTI (nG = 0): 0x0068_0000_4000_1703.
    const r = await mmkit(['decode', 'aarch64', '0x0068_0000_4000_1703']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toBe('aarch64 descriptor 0x0068_0000_4000_1703 at L3: page (4 KiB)');
    const rows = fieldRows(r.stdout);
    expect(rows.get('AttrIndx [4:2]')?.[1]).toBe('0b000');
    expect(rows.get('AP[2:1] [7:6]')?.[1]).toBe('0b00');
    expect(rows.get('SH [9:8]')?.[1]).toBe('0b11');
    expect(rows.get('AF [10]')?.[1]).toBe('1');
    expect(rows.get('nG [11]')?.[1]).toBe('0');
    expect(rows.get('Output address [47:12]')?.[1]).toBe('0x4000_1000');
    expect(rows.get('DBM [51]')?.[1]).toBe('1');
    expect(rows.get('PXN [53]')?.[1]).toBe('1');
    expect(rows.get('UXN [54]')?.[1]).toBe('1');
    expect(neutralPairs(r.stdout)).toEqual({
      entry: 'leaf, maps 4 KiB',
      'output address': '0x4000_1000',
      permissions: 'user --- kernel rw-',
      'memory type': 'normal-wb',
      global: 'yes',
      accessed: 'yes',
      dirty: 'yes',
      'software bits': '0',
      contiguous: 'no',
    });
  });

  it('arch-facts A5: table descriptor 0x4008_2003 at L0 names the next table', async () => {
    const r = await mmkit(['decode', 'aarch64', '0x0000_0000_4008_2003', '--level', 'L0']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('aarch64 descriptor 0x0000_0000_4008_2003 at L0: table');
    expect(neutralPairs(r.stdout)).toMatchObject({ entry: 'table', 'next table': '0x4008_2000' });
  });

  it('arch-facts A5: Device block with a U-Boot style MAIR (--mair) decodes as device memory', async () => {
    // 0x0060_0000_0800_0401: L2 block, PA 0x0800_0000, AttrIndx 0, AF, PXN+UXN; MAIR Attr0 = 0x00 Device-nGnRnE.
    const r = await mmkit([
      'decode',
      'aarch64',
      '0x0060_0000_0800_0401',
      '--level',
      'L2',
      '--mair',
      '0xFF00',
    ]);
    expect(r.code).toBe(0);
    expect(neutralPairs(r.stdout)).toMatchObject({
      'output address': '0x0800_0000',
      permissions: 'user --- kernel rw-',
      'memory type': 'device',
    });
  });

  it('a zero descriptor is absent', async () => {
    const r = await mmkit(['decode', 'aarch64', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('aarch64 descriptor 0x0000_0000_0000_0000 at L3: absent');
  });
});

describe('decode aarch64 --esr', () => {
  it('arch-facts A9: 0x92000007 is an EL0 read translation fault at L3', async () => {
    const r = await mmkit(['decode', 'aarch64', '--esr', '0x92000007']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toBe('aarch64 ESR_EL1 0x9200_0007');
    const rows = fieldRows(r.stdout);
    expect(rows.get('EC [31:26]')).toEqual([
      '[31:26]',
      '0x24',
      'Data Abort from a lower Exception level (EL0)',
    ]);
    expect(rows.get('IL [25]')?.[1]).toBe('1');
    expect(rows.get('WnR [6]')?.[1]).toBe('0');
    expect(rows.get('DFSC [5:0]')?.[1]).toBe('0x7');
    expect(neutralPairs(r.stdout)).toEqual({
      exception: 'Data Abort',
      fault: 'translation',
      level: 'L3',
      access: 'read',
      privilege: 'user',
    });
  });

  it('arch-facts A9: 0x9200004F is an EL0 write permission fault at L3', async () => {
    const r = await mmkit(['decode', 'aarch64', '--esr', '0x9200004F']);
    expect(r.code).toBe(0);
    const rows = fieldRows(r.stdout);
    expect(rows.get('EC [31:26]')?.[1]).toBe('0x24');
    expect(rows.get('WnR [6]')).toEqual(['[6]', '1', 'write']);
    expect(rows.get('DFSC [5:0]')?.[1]).toBe('0xF');
    expect(neutralPairs(r.stdout)).toEqual({
      exception: 'Data Abort',
      fault: 'permission',
      level: 'L3',
      access: 'write',
      privilege: 'user',
    });
  });

  it('an SVC syndrome gets its fields but no neutral fault decoding, and still exits 0', async () => {
    const r = await mmkit(['decode', 'aarch64', '--esr', '0x56000000', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.neutral).toBeNull();
    expect(doc.fields[0]).toMatchObject({ name: 'EC', value: '0x15' });
    expect(doc.note).toMatch(/^no neutral decoding: /);
  });
});

describe('--json', () => {
  it('descriptor: one document, bigints as hex strings', async () => {
    const r = await mmkit(['decode', 'aarch64', '0x0040_0000_4000_0705', '--level', 'L2', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('}\n')).toBe(true);
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
      arch: 'aarch64',
      descriptor: '0x40000040000705',
      level: { name: 'L2', internal: 2 },
      kind: 'block',
      entrySizeBytes: 2097152,
      neutral: {
        kind: 'leaf',
        outputAddress: '0x40000000',
        sizeBytes: 2097152,
        user: { read: false, write: false, execute: false },
        kernel: { read: true, write: true, execute: true },
        permissions: 'user --- kernel rwx',
        memoryType: 'normal-wb',
        global: true,
        accessed: true,
        software: 0,
        contiguous: false,
      },
    });
    expect(doc.fields).toContainEqual({
      name: 'AttrIndx',
      bits: '[4:2]',
      value: '0x1',
      meaning: 'MAIR_EL1.Attr1 = 0xFF: Normal, Inner+Outer Write-Back non-transient RW-allocate',
    });
    for (const f of doc.fields) expect(Object.keys(f)).toEqual(['name', 'bits', 'value', 'meaning']);
  });

  it('--esr: fields plus the neutral fault', async () => {
    const r = await mmkit(['decode', 'aarch64', '--esr', '0x9200004F', '--json']);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['arch', 'register', 'syndrome', 'fields', 'neutral']);
    expect(doc).toMatchObject({ arch: 'aarch64', register: 'ESR_EL1', syndrome: '0x9200004F' });
    expect(doc.neutral).toEqual({
      exception: 'Data Abort',
      fault: 'permission',
      level: 'L3',
      internalLevel: 1,
      access: 'write',
      privilege: 'user',
    });
  });

  it('boards: every board with its memory map, addresses as hex strings', async () => {
    const r = await mmkit(['boards', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.boards.map((b: { id: string }) => b.id)).toEqual(['virt', 'rpi4b', 'pc']);
    const virt = doc.boards[0];
    expect(virt.ram).toEqual([{ name: 'ram', start: '0x40000000', end: '0x80000000' }]);
    expect(virt.mmio).toContainEqual({ name: 'uart0', start: '0x9000000', end: '0x9001000' });
    expect(virt.kernelImage.start).toBe('0x40080000');
    const rpi = doc.boards[1];
    expect(rpi.mmio).toContainEqual({ name: 'uart0', start: '0xFE201000', end: '0xFE201200' });
    expect(virt).toMatchObject({ defaultArch: 'aarch64', archs: ['aarch64'] });
    expect(virt.e820).toBeUndefined();
  });

  it('boards: the pc with its flavour, paging modes and e820 map (arch-facts C3)', async () => {
    const doc = JSON.parse((await mmkit(['boards', '--json'])).stdout);
    const pc = doc.boards[2];
    expect(pc).toMatchObject({
      id: 'pc',
      name: 'QEMU q35 PC (x86_64), 1 GiB RAM',
      defaultArch: 'x86_64',
      archs: ['x86_64', 'x86_64-la57'],
      flavour: '64',
      consoleWindow: 'vga-text',
      kernelImage: { start: '0x100000', end: '0x300000' },
    });
    expect(pc.e820).toHaveLength(8);
    expect(pc.e820[0]).toEqual({
      start: '0x0',
      end: '0x9FC00',
      type: 1,
      typeName: 'usable',
      name: 'ram-conventional',
    });
    expect(pc.e820[4]).toEqual({
      start: '0x3FFD8000',
      end: '0x40000000',
      type: 2,
      typeName: 'reserved',
      name: 'firmware-tables',
    });
    expect(pc.ram).toEqual([
      { name: 'ram-conventional', start: '0x0', end: '0x9F000' },
      { name: 'ram-extended', start: '0x100000', end: '0x3FFD8000' },
    ]);
    expect(pc.mmio).toContainEqual({ name: 'lapic', start: '0xFEE00000', end: '0xFEE01000' });
  });
});

describe('boards', () => {
  it('prints each board memory map (arch-facts C1, C2, C3), the pc with its e820 map', async () => {
    const r = await mmkit(['boards']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^virt: QEMU virt/);
    expect(r.stdout).toContain('\nrpi4b: Raspberry Pi 4 Model B');
    expect(r.stdout).toMatch(/\[0x4000_0000, 0x8000_0000\)\s+1 GiB\s+RAM\s+ram\n/);
    expect(r.stdout).toMatch(/\[0xFE20_1000, 0xFE20_1200\)\s+512 B\s+MMIO\s+uart0\n/);
    expect(r.stdout).toContain('\npc: QEMU q35 PC (x86_64), 1 GiB RAM\n');
    expect(r.stdout).toMatch(/\[0xFEC0_0000, 0xFEC0_1000\)\s+4 KiB\s+MMIO\s+ioapic\n/);
    expect(r.stdout).toContain('\ne820 map (as SeaBIOS reports it, in the Linux boot-log format):\n');
    expect(r.stdout).toContain('\n  BIOS-e820: [mem 0x0000000000100000-0x000000003ffd7fff] usable\n');
    expect(r.stdout.endsWith('  BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved\n')).toBe(
      true,
    );
  });
});

describe('usage errors: exit 2 and exactly one line on stderr', () => {
  it.each([
    [
      'no command',
      [],
      "mmkit: error: missing command; expected one of: decode, boards, demo, run, export, gen, plan, walk, dump, diff, replay, help (see 'mmkit --help')",
    ],
    ['unknown command', ['frobnicate'], "mmkit: error: unknown command 'frobnicate' (see 'mmkit --help')"],
    [
      'help for an unknown command',
      ['help', 'frobnicate'],
      `mmkit: error: unknown command "frobnicate" for 'mmkit help'; expected one of: decode, boards, demo, run, export, gen, plan, walk, dump, diff, replay`,
    ],
    [
      'unknown option',
      ['decode', 'aarch64', '0x1', '--levle', 'L2'],
      "mmkit: error: unknown option '--levle' (Did you mean --level?) (see 'mmkit decode --help')",
    ],
    [
      'malformed number',
      ['decode', 'aarch64', '0xZZ'],
      'mmkit: error: descriptor "0xZZ" is not a number; expected hex (0x…), binary (0b…) or decimal digits, with optional _ between digits',
    ],
    [
      'value ≥ 2^64',
      ['decode', 'aarch64', '0x1_0000_0000_0000_0000'],
      'mmkit: error: descriptor "0x1_0000_0000_0000_0000" does not fit in 64 bits; expected a value at most 0xFFFF_FFFF_FFFF_FFFF',
    ],
    [
      'ESR ≥ 2^64',
      ['decode', 'aarch64', '--esr', '18446744073709551616'],
      'mmkit: error: --esr "18446744073709551616" does not fit in 64 bits; expected a value at most 0xFFFF_FFFF_FFFF_FFFF',
    ],
    [
      'bad level',
      ['decode', 'aarch64', '0x1', '--level', 'L7'],
      'mmkit: error: --level "L7" is not an AArch64 translation level; expected L0, L1, L2, L3 or 0..3',
    ],
    [
      'unknown architecture',
      ['decode', 'sparc', '0x1'],
      'mmkit: error: architecture "sparc" is not supported by decode; expected one of: aarch64, x86_64, x86_64-la57, x86-pae, x86-32, x86',
    ],
    [
      'both descriptor and --esr',
      ['decode', 'aarch64', '0x1', '--esr', '0x92000007'],
      'mmkit: error: decode aarch64 got both a descriptor ("0x1") and --esr ("0x92000007"); expected exactly one of them',
    ],
    [
      'neither descriptor nor --esr',
      ['decode', 'aarch64'],
      'mmkit: error: decode aarch64 needs something to decode; expected a descriptor argument or --esr <value>',
    ],
    [
      '--level with --esr',
      ['decode', 'aarch64', '--esr', '0x92000007', '--level', 'L3'],
      'mmkit: error: --level "L3" does not apply to --esr (the syndrome names its own level); expected --level only with a descriptor',
    ],
    [
      'missing arch',
      ['decode'],
      "mmkit: error: missing required argument 'arch' (see 'mmkit decode --help')",
    ],
    [
      'excess arguments',
      ['decode', 'aarch64', '0x1', '0x2'],
      "mmkit: error: too many arguments for 'decode'. Expected 2 arguments but got 3. (see 'mmkit decode --help')",
    ],
    [
      'option without its value',
      ['decode', 'aarch64', '0x1', '--level'],
      "mmkit: error: option '--level <level>' argument missing (see 'mmkit decode --help')",
    ],
    [
      'unknown board',
      ['demo', '--board', 'raspi3b'],
      'mmkit: error: --board "raspi3b" is not a known board; expected one of: virt, rpi4b, pc',
    ],
    [
      'malformed size',
      ['demo', '--ram', '1.5G'],
      'mmkit: error: --ram "1.5G" is not a size; expected a size such as 512M, 1G or 2GiB (K/M/G/T = powers of 1024; no unit = bytes)',
    ],
    [
      'RAM size the board rejects',
      ['demo', '--board', 'rpi4b', '--ram', '3G'],
      'mmkit: error: --ram "3G" is not a RAM size of board rpi4b; expected one of the Raspberry Pi 4B models: 1G, 2G, 4G, 8G',
    ],
    [
      'RAM size out of range for virt',
      ['demo', '--board', 'virt', '--ram', '256G'],
      'mmkit: error: --ram "256G" is not a RAM size of board virt; expected a multiple of 2 MiB from 2M to 255G (QEMU virt -m)',
    ],
    [
      'an extra operand to help',
      ['help', 'decode', 'extra'],
      "mmkit: error: too many arguments for 'help'. Expected 1 argument but got 2. (see 'mmkit help --help')",
    ],
    [
      'a repeated single-valued option',
      ['decode', 'aarch64', '0x1', '--level', 'L2', '--level', 'L3'],
      `mmkit: error: option '--level <level>' for 'mmkit decode' is given more than once ("L2", "L3"); expected it once`,
    ],
    [
      'boards takes no arguments',
      ['boards', 'virt'],
      "mmkit: error: too many arguments for 'boards'. Expected 0 arguments but got 1. (see 'mmkit boards --help')",
    ],
  ])('%s', async (_name, argv, message) => {
    const r = await mmkit(argv);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
  });
});

describe('help, version, colour', () => {
  it('--help goes to stdout and exits 0', async () => {
    const r = await mmkit(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: mmkit \[options\] \[command\]/);
    for (const c of ['decode', 'boards', 'demo']) expect(r.stdout).toContain(`  ${c}`);
  });

  it('decode --help lists its options', async () => {
    const r = await mmkit(['decode', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: mmkit decode \[options\] <arch> \[entry\]/);
    expect(r.stdout).toContain('--level <level>');
    expect(r.stdout).toContain('--esr <value>');
    expect(r.stdout).toContain('--pf-error <code>');
  });

  it('--version prints the package version (package.json, as released by changesets)', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
    const r = await mmkit(['--version']);
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('colours only on a TTY without NO_COLOR', async () => {
    // supports-color reads TERM and the CI variables from the process environment: make it a
    // colour terminal outside CI whatever the machine running the tests is (CI=true, no TERM).
    vi.stubEnv('CI', undefined);
    vi.stubEnv('TERM', 'xterm-256color');
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const argv = ['decode', 'aarch64', '--esr', '0x92000007'];
    const ansi = '\u001b[';
    expect((await mmkit(argv, { tty: true })).stdout).toContain(ansi);
    expect((await mmkit(argv, { tty: true, env: { NO_COLOR: '1' } })).stdout).not.toContain(ansi);
    expect((await mmkit(argv, { tty: false })).stdout).not.toContain(ansi);
    expect((await mmkit([...argv, '--json'], { tty: true })).stdout).not.toContain(ansi);
  });
});
