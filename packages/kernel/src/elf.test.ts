import { readdirSync, readFileSync } from 'node:fs';
import { isMmError, MmError } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ElfDynamicExecutableError,
  ElfFormatError,
  type ElfImage,
  ElfUnsupportedMachineError,
  EM_AARCH64,
  EM_X86_64,
  ET_DYN,
  ET_EXEC,
  PF_R,
  PF_W,
  PF_X,
  PT_GNU_STACK,
  PT_INTERP,
  PT_LOAD,
  PT_TLS,
  parseElf64,
} from './elf.js';
import { type ElfFilePage, type ElfLoadPlan, elfPageBytes, planElfLoad } from './elf-load-plan.js';

const FIXTURES = new URL('../fixtures/elf/', import.meta.url);
const load = (name: string) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

// ---------------------------------------------------------------------------
// A hand-assembled ELF64 writer for crafted (and deliberately broken) headers.

interface PhdrSpec {
  type: number;
  flags: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
  memsz: bigint;
  align: bigint;
}

interface ElfSpec {
  machine?: number;
  type?: number;
  entry?: bigint;
  phoff?: bigint;
  phdrs: PhdrSpec[];
  /** Total file size (default: headers + payload). */
  size?: number;
  payload?: { offset: number; bytes: Uint8Array };
}

function makeElf(spec: ElfSpec): Uint8Array {
  const phoff = spec.phoff ?? 64n;
  const headerEnd = 64 + spec.phdrs.length * 56;
  const payloadEnd = spec.payload ? spec.payload.offset + spec.payload.bytes.length : 0;
  const size = spec.size ?? Math.max(headerEnd, payloadEnd);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  v.setUint16(16, spec.type ?? ET_EXEC, true);
  v.setUint16(18, spec.machine ?? EM_AARCH64, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, spec.entry ?? 0x4000b0n, true);
  v.setBigUint64(32, phoff, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, spec.phdrs.length, true);
  v.setUint16(58, 64, true);
  spec.phdrs.forEach((p, i) => {
    const o = Number(phoff) + i * 56;
    if (o + 56 > size) return;
    v.setUint32(o, p.type, true);
    v.setUint32(o + 4, p.flags, true);
    v.setBigUint64(o + 8, p.offset, true);
    v.setBigUint64(o + 16, p.vaddr, true);
    v.setBigUint64(o + 24, p.vaddr, true);
    v.setBigUint64(o + 32, p.filesz, true);
    v.setBigUint64(o + 40, p.memsz, true);
    v.setBigUint64(o + 48, p.align, true);
  });
  if (spec.payload) b.set(spec.payload.bytes, spec.payload.offset);
  return b;
}

/** AArch64 `mov x0, #0; mov x8, #93; svc #0` (exit(0)), little-endian. */
const AARCH64_EXIT0 = new Uint8Array([
  0x00, 0x00, 0x80, 0xd2, 0xa8, 0x0b, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4,
]);

/**
 * The minimal AArch64 static executable, assembled by hand: ELF header, two program headers
 * (PT_LOAD R+X over the whole file at 0x400000, PT_GNU_STACK RW) and 12 bytes of code at 0xB0.
 */
function minimalAarch64(overrides: Partial<ElfSpec> = {}, load: Partial<PhdrSpec> = {}): Uint8Array {
  const size = 0xb0 + AARCH64_EXIT0.length;
  return makeElf({
    phdrs: [
      {
        type: PT_LOAD,
        flags: PF_R | PF_X,
        offset: 0n,
        vaddr: 0x400000n,
        filesz: BigInt(size),
        memsz: BigInt(size),
        align: 0x10000n,
        ...load,
      },
      { type: PT_GNU_STACK, flags: PF_R | PF_W, offset: 0n, vaddr: 0n, filesz: 0n, memsz: 0n, align: 16n },
    ],
    payload: { offset: 0xb0, bytes: AARCH64_EXIT0 },
    ...overrides,
  });
}

function expectElfError(fn: () => unknown, field: string, value: bigint | number | string): ElfFormatError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ElfFormatError);
  const e = caught as ElfFormatError;
  expect(e.code).toBe('E_INVALID_ARGUMENT');
  expect(e.field).toBe(field);
  expect(e.value).toBe(value);
  return e;
}

// ---------------------------------------------------------------------------
// readelf -lW output, recorded when the fixtures were built (see fixtures/elf/README.md)

type Row = [
  type: string,
  offset: number,
  vaddr: number,
  filesz: number,
  memsz: number,
  flags: string,
  align: number,
];

const READELF: Record<
  string,
  { machine: 'x86_64' | 'aarch64'; type: 'exec' | 'dyn'; entry: number; rows: Row[] }
> = {
  'hello-x86_64': {
    machine: 'x86_64',
    type: 'exec',
    entry: 0x401000,
    rows: [
      ['LOAD', 0x0, 0x400000, 0x120, 0x120, 'R  ', 0x1000],
      ['LOAD', 0x1000, 0x401000, 0x2d, 0x2d, 'R E', 0x1000],
      ['LOAD', 0x2000, 0x402000, 0x12, 0x12, 'R  ', 0x1000],
      ['GNU_STACK', 0, 0, 0, 0, 'RW ', 0x10],
    ],
  },
  'data-bss-x86_64': {
    machine: 'x86_64',
    type: 'exec',
    entry: 0x401000,
    rows: [
      ['LOAD', 0x0, 0x400000, 0x190, 0x190, 'R  ', 0x1000],
      ['LOAD', 0x1000, 0x401000, 0xad, 0xad, 'R E', 0x1000],
      ['LOAD', 0x1ff0, 0x402ff0, 0x50, 0x30d90, 'RW ', 0x1000],
      ['TLS', 0x1ff0, 0x402ff0, 0x8, 0x50, 'R  ', 0x10],
      ['GNU_STACK', 0, 0, 0, 0, 'RW ', 0x10],
      ['GNU_RELRO', 0x1ff0, 0x402ff0, 0x10, 0x10, 'R  ', 0x1],
    ],
  },
  'hello-pie-x86_64': {
    machine: 'x86_64',
    type: 'dyn',
    entry: 0x1a0,
    rows: [
      ['LOAD', 0x0, 0x0, 0x1e8, 0x1e8, 'R E', 0x1000],
      ['LOAD', 0xf30, 0x1f30, 0xd0, 0xd0, 'RW ', 0x1000],
      ['DYNAMIC', 0xf30, 0x1f30, 0xd0, 0xd0, 'RW ', 0x8],
      ['GNU_STACK', 0, 0, 0, 0, 'RW ', 0x10],
      ['GNU_RELRO', 0xf30, 0x1f30, 0xd0, 0xd0, 'R  ', 0x1],
    ],
  },
  'hello-aarch64': {
    machine: 'aarch64',
    type: 'exec',
    entry: 0x4000b0,
    rows: [
      ['LOAD', 0x0, 0x400000, 0x120, 0x120, 'R E', 0x10000],
      ['GNU_STACK', 0, 0, 0, 0, 'RW ', 0x10],
    ],
  },
  'data-bss-aarch64': {
    machine: 'aarch64',
    type: 'exec',
    entry: 0x400160,
    rows: [
      ['LOAD', 0x0, 0x400000, 0x248, 0x248, 'R E', 0x1000],
      ['LOAD', 0x1000, 0x401000, 0x1020, 0x31d60, 'RW ', 0x1000],
      ['TLS', 0x1000, 0x401000, 0x8, 0x50, 'R  ', 0x10],
      ['GNU_STACK', 0, 0, 0, 0, 'RW ', 0x10],
      ['GNU_RELRO', 0x1000, 0x401000, 0x1000, 0x1000, 'R  ', 0x1],
    ],
  },
};

function flagsText(p: { read: boolean; write: boolean; execute: boolean }): string {
  return `${p.read ? 'R' : ' '}${p.write ? 'W' : ' '}${p.execute ? 'E' : ' '}`;
}

function rowsOf(image: ElfImage): Row[] {
  return image.phdrs.map((p) => [
    p.typeName,
    Number(p.offset),
    Number(p.vaddr),
    Number(p.filesz),
    Number(p.memsz),
    flagsText(p.flags),
    Number(p.align),
  ]);
}

/** Parses the program-header rows and the header lines of a stored `readelf -hlW` output. */
function parseReadelf(text: string): { type: string; machine: string; entry: number; rows: Row[] } {
  const rows: Row[] = [];
  const re =
    /^\s+(\S+)\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3}) 0x([0-9a-f]+)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m) {
      rows.push([
        m[1]!,
        Number.parseInt(m[2]!, 16),
        Number.parseInt(m[3]!, 16),
        Number.parseInt(m[4]!, 16),
        Number.parseInt(m[5]!, 16),
        m[6]!,
        Number.parseInt(m[7]!, 16),
      ]);
    }
  }
  const field = (name: string) => new RegExp(`^\\s+${name}:\\s+(.*)$`, 'm').exec(text)?.[1] ?? '';
  return {
    type: field('Type'),
    machine: field('Machine'),
    entry: Number.parseInt(field('Entry point address'), 16),
    rows,
  };
}

// ---------------------------------------------------------------------------

describe('parseElf64: real static executables (gcc / aarch64-linux-gnu-gcc, fixtures/elf)', () => {
  for (const [name, want] of Object.entries(READELF)) {
    it(`${name}: entry, machine and every program header match readelf -lW`, () => {
      const image = parseElf64(load(name));
      expect(image.machine).toBe(want.machine);
      expect(image.machineCode).toBe(want.machine === 'x86_64' ? EM_X86_64 : EM_AARCH64);
      expect(image.type).toBe(want.type);
      expect(image.entry).toBe(BigInt(want.entry));
      expect(rowsOf(image)).toEqual(want.rows);
      expect(image.phnum).toBe(want.rows.length);
      expect(image.loads.map((l) => l.index)).toEqual(
        want.rows.flatMap((r, i) => (r[0] === 'LOAD' ? [i] : [])),
      );
      // PT_GNU_STACK RW in every fixture: the stack is not executable.
      expect(image.stack).toEqual({ read: true, write: true, execute: false });
    });
  }

  it('every stored readelf -hlW output agrees with the parser (type, machine, entry, all headers)', () => {
    const texts = readdirSync(FIXTURES).filter((f) => f.endsWith('.readelf.txt'));
    expect(texts.length).toBe(7);
    for (const t of texts) {
      const r = parseReadelf(readFileSync(new URL(t, FIXTURES), 'utf8'));
      const image = parseElf64(load(t.replace('.readelf.txt', '')));
      expect(r.rows.length).toBeGreaterThan(0);
      expect(rowsOf(image)).toEqual(r.rows);
      expect(image.entry).toBe(BigInt(r.entry));
      expect(r.machine).toBe(image.machine === 'x86_64' ? 'Advanced Micro Devices X86-64' : 'AArch64');
      expect(r.type.startsWith(image.type === 'exec' ? 'EXEC' : 'DYN')).toBe(true);
    }
  });

  it('PT_TLS of data-bss-x86_64 and data-bss-aarch64', () => {
    expect(parseElf64(load('data-bss-x86_64')).tls).toEqual({
      index: 3,
      offset: 0x1ff0n,
      vaddr: 0x402ff0n,
      filesz: 8n,
      memsz: 0x50n,
      align: 0x10n,
    });
    expect(parseElf64(load('data-bss-aarch64')).tls).toEqual({
      index: 2,
      offset: 0x1000n,
      vaddr: 0x401000n,
      filesz: 8n,
      memsz: 0x50n,
      align: 0x10n,
    });
    expect(parseElf64(load('hello-x86_64')).tls).toBeUndefined();
  });

  it('phdrAddress (AT_PHDR) is e_phoff inside the first PT_LOAD, as Linux computes it', () => {
    expect(parseElf64(load('hello-x86_64')).phdrAddress).toBe(0x400040n);
    expect(parseElf64(load('hello-aarch64')).phdrAddress).toBe(0x400040n);
    expect(parseElf64(load('hello-pie-x86_64')).phdrAddress).toBe(0x40n);
  });

  it('the hand-assembled minimal AArch64 executable parses', () => {
    const image = parseElf64(minimalAarch64());
    expect(image.machine).toBe('aarch64');
    expect(image.entry).toBe(0x4000b0n);
    expect(image.loads).toEqual([
      {
        index: 0,
        vaddr: 0x400000n,
        memsz: 0xbcn,
        filesz: 0xbcn,
        offset: 0n,
        align: 0x10000n,
        flags: { read: true, write: false, execute: true },
      },
    ]);
    expect(image.fileBytes).toBe(0xbc);
  });
});

describe('parseElf64: every validation error names the field and the value', () => {
  it('bad magic, short files', () => {
    expectElfError(() => parseElf64(new Uint8Array([])), 'e_ident[EI_MAG]', '');
    expectElfError(() => parseElf64(new Uint8Array([0x7f, 0x45, 0x4c])), 'e_ident[EI_MAG]', '7f 45 4c');
    const e = expectElfError(
      () => parseElf64(new Uint8Array([0x4d, 0x5a, 0x90, 0, 3])),
      'e_ident[EI_MAG]',
      '4d 5a 90 00',
    );
    expect(e.message).toContain('not an ELF file');
    expectElfError(() => parseElf64(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2])), 'file size', 5);
    const short = minimalAarch64().slice(0, 40);
    expectElfError(() => parseElf64(short), 'file size', 40);
  });

  it('ident: ELFCLASS32, big-endian, bad version', () => {
    const b = minimalAarch64();
    b[4] = 1;
    expect(expectElfError(() => parseElf64(b), 'e_ident[EI_CLASS]', 1).message).toContain('ELFCLASS64');
    const c = minimalAarch64();
    c[5] = 2;
    expectElfError(() => parseElf64(c), 'e_ident[EI_DATA]', 2);
    const d = minimalAarch64();
    d[6] = 0;
    expectElfError(() => parseElf64(d), 'e_ident[EI_VERSION]', 0);
  });

  it('e_type: ET_REL, ET_CORE and ET_NONE are refused', () => {
    expect(expectElfError(() => parseElf64(minimalAarch64({ type: 1 })), 'e_type', 1).message).toContain(
      'ET_REL',
    );
    expect(expectElfError(() => parseElf64(minimalAarch64({ type: 4 })), 'e_type', 4).message).toContain(
      'ET_CORE',
    );
    expectElfError(() => parseElf64(minimalAarch64({ type: 0 })), 'e_type', 0);
    expect(parseElf64(minimalAarch64({ type: ET_DYN })).type).toBe('dyn');
  });

  it('e_machine: EM_ARM (40) and EM_RISCV (243) are refused with ElfUnsupportedMachineError', () => {
    const e = expectElfError(() => parseElf64(minimalAarch64({ machine: 40 })), 'e_machine', 40);
    expect(e).toBeInstanceOf(ElfUnsupportedMachineError);
    expect((e as ElfUnsupportedMachineError).machine).toBe(40);
    expect(e.message).toBe(
      'ELF e_machine = 40 (0x28): unsupported machine; expected EM_X86_64 (62) or EM_AARCH64 (183)',
    );
    expectElfError(() => parseElf64(minimalAarch64({ machine: 243 })), 'e_machine', 243);
    expect(parseElf64(minimalAarch64({ machine: EM_X86_64 })).machine).toBe('x86_64');
  });

  it('e_phentsize, e_phnum (0, PN_XNUM, > 64 KiB table) and e_phoff', () => {
    const a = minimalAarch64();
    new DataView(a.buffer).setUint16(54, 32, true);
    expectElfError(() => parseElf64(a), 'e_phentsize', 32);
    const b = minimalAarch64();
    new DataView(b.buffer).setUint16(56, 0, true);
    expectElfError(() => parseElf64(b), 'e_phnum', 0);
    const c = minimalAarch64();
    new DataView(c.buffer).setUint16(56, 0xffff, true);
    expectElfError(() => parseElf64(c), 'e_phnum', 0xffff);
    const d = minimalAarch64();
    new DataView(d.buffer).setUint16(56, 1171, true); // 1171 * 56 = 65576 > 65536
    expectElfError(() => parseElf64(d), 'e_phnum', 1171);
    const e = minimalAarch64();
    new DataView(e.buffer).setBigUint64(32, 0x90n, true); // 0x90 + 2 * 56 > 0xBC
    expect(expectElfError(() => parseElf64(e), 'e_phoff', 0x90n).message).toContain('past the end');
    const f = minimalAarch64();
    new DataView(f.buffer).setBigUint64(32, 0xffff_ffff_ffff_fff0n, true);
    expectElfError(() => parseElf64(f), 'e_phoff', 0xffff_ffff_ffff_fff0n);
  });

  it('PT_INTERP: dynamically linked executables are refused with ElfDynamicExecutableError', () => {
    const path = new TextEncoder().encode('/lib/ld-linux-aarch64.so.1\0');
    const bytes = makeElf({
      phdrs: [
        {
          type: PT_INTERP,
          flags: PF_R,
          offset: 0xb0n,
          vaddr: 0x4000b0n,
          filesz: BigInt(path.length),
          memsz: 27n,
          align: 1n,
        },
        {
          type: PT_LOAD,
          flags: PF_R | PF_X,
          offset: 0n,
          vaddr: 0x400000n,
          filesz: 0xcbn,
          memsz: 0xcbn,
          align: 0x1000n,
        },
      ],
      payload: { offset: 0xb0, bytes: path },
    });
    const e = expectElfError(() => parseElf64(bytes), 'phdr[0] PT_INTERP', '/lib/ld-linux-aarch64.so.1');
    expect(e).toBeInstanceOf(ElfDynamicExecutableError);
    expect(e.message).toContain('dynamically linked executables are not supported');
  });

  it('PT_LOAD: p_filesz > p_memsz', () => {
    expectElfError(() => parseElf64(minimalAarch64({}, { memsz: 0x10n })), 'phdr[0].p_filesz', 0xbcn);
  });

  it('PT_LOAD: p_align not a power of two, and p_offset ≢ p_vaddr (mod p_align)', () => {
    expectElfError(() => parseElf64(minimalAarch64({}, { align: 0x3000n })), 'phdr[0].p_align', 0x3000n);
    const e = expectElfError(
      () => parseElf64(minimalAarch64({}, { vaddr: 0x400010n })),
      'phdr[0].p_offset',
      0n,
    );
    expect(e.message).toContain('not congruent');
    // p_align 0 and 1 impose nothing.
    expect(parseElf64(minimalAarch64({}, { vaddr: 0x400010n, align: 1n })).loads[0]!.vaddr).toBe(0x400010n);
  });

  it('PT_LOAD: p_vaddr + p_memsz overflows 2^64', () => {
    expectElfError(
      () =>
        parseElf64(minimalAarch64({}, { vaddr: 0xffff_ffff_ffff_0000n, memsz: 0x10000n + 1n, align: 0n })),
      'phdr[0].p_memsz',
      0x10001n,
    );
  });

  it('file ranges must lie inside the file (any segment type)', () => {
    expectElfError(
      () => parseElf64(minimalAarch64({}, { filesz: 0xbdn, memsz: 0xbdn })),
      'phdr[0].p_offset',
      0n,
    );
    const tls = makeElf({
      phdrs: [
        {
          type: PT_LOAD,
          flags: PF_R | PF_X,
          offset: 0n,
          vaddr: 0x400000n,
          filesz: 0x78n,
          memsz: 0x78n,
          align: 0x1000n,
        },
        {
          type: PT_TLS,
          flags: PF_R,
          offset: 0x70n,
          vaddr: 0x400070n,
          filesz: 0x100n,
          memsz: 0x100n,
          align: 8n,
        },
      ],
    });
    expect(expectElfError(() => parseElf64(tls), 'phdr[1].p_offset', 0x70n).message).toContain('TLS segment');
  });

  it('PT_TLS: p_filesz > p_memsz', () => {
    const tls = makeElf({
      phdrs: [
        {
          type: PT_LOAD,
          flags: PF_R | PF_X,
          offset: 0n,
          vaddr: 0x400000n,
          filesz: 0x78n,
          memsz: 0x78n,
          align: 0x1000n,
        },
        { type: PT_TLS, flags: PF_R, offset: 0x70n, vaddr: 0x400070n, filesz: 8n, memsz: 4n, align: 8n },
      ],
    });
    expectElfError(() => parseElf64(tls), 'phdr[1].p_filesz', 8n);
  });

  const twoLoads = (second: Partial<PhdrSpec>) =>
    makeElf({
      size: 0x3000,
      phdrs: [
        {
          type: PT_LOAD,
          flags: PF_R | PF_X,
          offset: 0n,
          vaddr: 0x400000n,
          filesz: 0x1800n,
          memsz: 0x1800n,
          align: 0x1000n,
        },
        {
          type: PT_LOAD,
          flags: PF_R | PF_W,
          offset: 0x2000n,
          vaddr: 0x402000n,
          filesz: 0x100n,
          memsz: 0x100n,
          align: 0x1000n,
          ...second,
        },
      ],
    });

  it('PT_LOAD segments must be sorted by p_vaddr', () => {
    const e = expectElfError(() => parseElf64(twoLoads({ vaddr: 0x3ff000n })), 'phdr[1].p_vaddr', 0x3ff000n);
    expect(e.message).toContain('sorted');
  });

  it('PT_LOAD segments must not share a 4 KiB page', () => {
    // The first segment ends at 0x401800: its last page is 0x401000, where the second would start.
    const e = expectElfError(
      () => parseElf64(twoLoads({ vaddr: 0x401f00n, offset: 0x2f00n })),
      'phdr[1].p_vaddr',
      0x401f00n,
    );
    expect(e.message).toContain('overlap');
    expect(parseElf64(twoLoads({})).loads.length).toBe(2);
    // An empty PT_LOAD (p_memsz 0) in between does not hide the overlap.
    const withEmpty = makeElf({
      size: 0x3000,
      phdrs: [
        {
          type: PT_LOAD,
          flags: PF_R | PF_X,
          offset: 0n,
          vaddr: 0x400000n,
          filesz: 0x1800n,
          memsz: 0x1800n,
          align: 0x1000n,
        },
        {
          type: PT_LOAD,
          flags: PF_R,
          offset: 0x1900n,
          vaddr: 0x401900n,
          filesz: 0n,
          memsz: 0n,
          align: 0x1000n,
        },
        {
          type: PT_LOAD,
          flags: PF_R | PF_W,
          offset: 0x2f00n,
          vaddr: 0x401f00n,
          filesz: 0x100n,
          memsz: 0x100n,
          align: 0x1000n,
        },
      ],
    });
    expectElfError(() => parseElf64(withEmpty), 'phdr[2].p_vaddr', 0x401f00n);
  });

  it('at least one PT_LOAD', () => {
    const b = makeElf({
      phdrs: [
        { type: PT_GNU_STACK, flags: PF_R | PF_W, offset: 0n, vaddr: 0n, filesz: 0n, memsz: 0n, align: 16n },
      ],
    });
    expect(expectElfError(() => parseElf64(b), 'e_phnum', 1).message).toContain('no PT_LOAD');
  });

  it('a value that is not a Uint8Array is an InvalidArgumentError', () => {
    expect(() => parseElf64([0x7f] as unknown as Uint8Array)).toThrow(MmError);
  });

  it('fuzz: any byte array either parses or throws an MmError (never a TypeError/RangeError)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          parseElf64(bytes);
        } catch (e) {
          expect(isMmError(e)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: random corruption of a real executable parses and plans, or throws an MmError', () => {
    for (const name of ['hello-x86_64', 'data-bss-aarch64', 'hello-pie-x86_64']) {
      const original = load(name);
      const headerBytes = 64 + parseElf64(original).phnum * 56;
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(headerBytes - 1), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 6,
          }),
          fc.constantFrom(4096, 16384, 65536),
          (edits, pageSize) => {
            const bytes = original.slice();
            for (const [pos, val] of edits) bytes[pos] = val;
            // Keep the ident valid most of the time so the fuzzing reaches the program headers.
            if (edits.length % 2 === 0) bytes.set(original.subarray(0, 8));
            let image: ElfImage;
            try {
              image = parseElf64(bytes);
            } catch (e) {
              expect(isMmError(e)).toBe(true);
              return;
            }
            try {
              checkPlanInvariants(planElfLoad(image, bytes, pageSize), image);
            } catch (e) {
              expect(isMmError(e)).toBe(true);
            }
          },
        ),
        { numRuns: 700 },
      );
    }
  });
});

/** What every plan guarantees, whatever the file. */
function checkPlanInvariants(plan: ElfLoadPlan, image: ElfImage): void {
  const P = BigInt(plan.pageSize);
  let prevEnd = 0n;
  let maxMem = 0n;
  for (const s of plan.segments) {
    expect(s.start % P).toBe(0n);
    expect(s.end % P).toBe(0n);
    expect(s.start).toBeGreaterThanOrEqual(prevEnd);
    expect(s.start <= s.vaddr && s.vaddr <= s.fileEnd && s.fileEnd <= s.memEnd && s.memEnd <= s.end).toBe(
      true,
    );
    let va = s.start;
    for (const p of s.filePages) {
      expect(p.va).toBe(va);
      expect(p.fileBytes).toBeGreaterThan(0);
      expect(p.fileBytes).toBeLessThanOrEqual(plan.pageSize);
      expect(p.fileOffset + p.fileBytes).toBeLessThanOrEqual(image.fileBytes);
      expect(p.zeroTail === 'none').toBe(p.fileBytes === plan.pageSize);
      va += P;
    }
    if (s.bss) {
      expect(s.bss.start).toBe(va);
      expect(s.bss.end).toBe(s.end);
      expect(BigInt(s.bss.pageCount) * P).toBe(s.bss.end - s.bss.start);
    } else expect(va).toBe(s.end);
    prevEnd = s.end;
    if (s.memEnd > maxMem) maxMem = s.memEnd;
  }
  expect(plan.brk).toBe(((maxMem + P - 1n) / P) * P);
}

const hexPages = (pages: readonly ElfFilePage[]) =>
  pages.map((p) => [Number(p.va), p.fileOffset, p.fileBytes, p.zeroTail]);

describe('planElfLoad: page-granular mappings as Linux elf_map + padzero + brk', () => {
  it('hello-x86_64: three file-backed segments; the last page ends at end of file; brk after it', () => {
    const bytes = load('hello-x86_64');
    const plan = planElfLoad(parseElf64(bytes), bytes);
    expect(plan.entry).toBe(0x401000n);
    expect(plan.phdrAddress).toBe(0x400040n);
    expect(plan.phnum).toBe(4);
    expect(plan.phent).toBe(56);
    expect(plan.segments.map((s) => [Number(s.start), Number(s.end), flagsText(s.permissions)])).toEqual([
      [0x400000, 0x401000, 'R  '],
      [0x401000, 0x402000, 'R E'],
      [0x402000, 0x403000, 'R  '],
    ]);
    expect(plan.segments.map((s) => hexPages(s.filePages))).toEqual([
      [[0x400000, 0x0, 0x1000, 'none']],
      [[0x401000, 0x1000, 0x1000, 'none']],
      [[0x402000, 0x2000, 8608 - 0x2000, 'eof']], // the 8608-byte file ends inside this page
    ]);
    expect(plan.segments.every((s) => s.bss === undefined)).toBe(true);
    expect(plan.brk).toBe(0x403000n);
    expect(plan.imageStart).toBe(0x400000n);
    expect(plan.imageEnd).toBe(0x403000n);
    expect(plan.executableStack).toBe(false);
    checkPlanInvariants(plan, parseElf64(bytes));
  });

  it('data-bss-x86_64: the data page maps file bytes before p_offset, the tail past p_filesz is zeroed, 48 bss pages', () => {
    const bytes = load('data-bss-x86_64');
    const image = parseElf64(bytes);
    const plan = planElfLoad(image, bytes);
    const data = plan.segments[2]!;
    expect(data.phdrIndex).toBe(2);
    expect(data.permissions).toEqual({ read: true, write: true, execute: false });
    expect([data.vaddr, data.fileEnd, data.memEnd, data.start, data.end]).toEqual([
      0x402ff0n,
      0x403040n,
      0x433d80n,
      0x402000n,
      0x434000n,
    ]);
    expect(hexPages(data.filePages)).toEqual([
      [0x402000, 0x1000, 0x1000, 'none'], // p_offset 0x1ff0 - page offset 0xff0: the text bytes come along
      [0x403000, 0x2000, 0x40, 'bss'], // p_vaddr + p_filesz = 0x403040: padzero from 0x40
    ]);
    expect(data.bss).toEqual({
      start: 0x404000n,
      end: 0x434000n,
      pageCount: 48,
      permissions: { read: true, write: true, execute: false },
    });
    expect(plan.brk).toBe(0x434000n);
    expect(plan.tls).toEqual(image.tls);

    // Contents: the first page is file[0x1000, 0x2000); the second keeps 0x40 file bytes, then zeros
    // although the file has 0x27 more bytes (.comment) right after p_filesz.
    const first = elfPageBytes(bytes, data.filePages[0]!);
    expect(first).toEqual(bytes.slice(0x1000, 0x2000));
    const second = elfPageBytes(bytes, data.filePages[1]!);
    expect(second.subarray(0, 0x40)).toEqual(bytes.slice(0x2000, 0x2040));
    expect(bytes.slice(0x2040, 0x2067).some((b) => b !== 0)).toBe(true);
    expect(second.subarray(0x40).every((b) => b === 0)).toBe(true);
    // .data starts the page: `counter` (41) at 0x403000, `greeting` at 0x403020.
    expect(second[0]).toBe(41);
    expect(new TextDecoder().decode(second.subarray(0x20, 0x20 + 20))).toBe('data+bss from mmkit\n');
  });

  it('data-bss-aarch64: a 0x1020-byte file part spills 0x20 bytes into a second page; bss to 0x433000', () => {
    const bytes = load('data-bss-aarch64');
    const plan = planElfLoad(parseElf64(bytes), bytes);
    expect(plan.entry).toBe(0x400160n);
    expect(hexPages(plan.segments[0]!.filePages)).toEqual([[0x400000, 0, 0x1000, 'none']]);
    const data = plan.segments[1]!;
    expect(hexPages(data.filePages)).toEqual([
      [0x401000, 0x1000, 0x1000, 'none'],
      [0x402000, 0x2000, 0x20, 'bss'],
    ]);
    expect(data.bss).toEqual({
      start: 0x403000n,
      end: 0x433000n,
      pageCount: 48,
      permissions: { read: true, write: true, execute: false },
    });
    expect(plan.brk).toBe(0x433000n);
  });

  it('hello-aarch64 with 4 KiB and 64 KiB pages: one R+X page holding the whole 752-byte file', () => {
    const bytes = load('hello-aarch64');
    const image = parseElf64(bytes);
    for (const pageSize of [4096, 16384, 65536]) {
      const plan = planElfLoad(image, bytes, pageSize);
      expect(plan.pageSize).toBe(pageSize);
      expect(plan.segments.length).toBe(1);
      expect(hexPages(plan.segments[0]!.filePages)).toEqual([[0x400000, 0, 752, 'eof']]);
      expect(plan.segments[0]!.permissions).toEqual({ read: true, write: false, execute: true });
      expect(plan.brk).toBe(0x400000n + BigInt(pageSize));
    }
  });

  it('x86-64 segments linked for 4 KiB pages cannot be planned with 64 KiB pages (they share a page)', () => {
    const bytes = load('hello-x86_64');
    const e = expectElfError(
      () => planElfLoad(parseElf64(bytes), bytes, 65536),
      'phdr[1].p_vaddr',
      0x401000n,
    );
    expect(e.message).toContain('65536-byte pages overlap');
  });

  it('a segment whose p_offset and p_vaddr differ in page offset cannot be mmapped (p_align 0)', () => {
    const bytes = minimalAarch64({}, { vaddr: 0x400010n, align: 0n });
    const image = parseElf64(bytes);
    expectElfError(() => planElfLoad(image, bytes), 'phdr[0].p_offset', 0n);
  });

  it('a bss-only segment (p_filesz 0) is all anonymous pages from PAGESTART(p_vaddr)', () => {
    const bytes = makeElf({
      size: 0x1000,
      phdrs: [
        {
          type: PT_LOAD,
          flags: PF_R | PF_X,
          offset: 0n,
          vaddr: 0x400000n,
          filesz: 0x1000n,
          memsz: 0x1000n,
          align: 0x1000n,
        },
        {
          type: PT_LOAD,
          flags: PF_R | PF_W,
          offset: 0x100n,
          vaddr: 0x402100n,
          filesz: 0n,
          memsz: 0x2000n,
          align: 0x1000n,
        },
        { type: PT_LOAD, flags: PF_R, offset: 0n, vaddr: 0x500000n, filesz: 0n, memsz: 0n, align: 0x1000n },
      ],
    });
    const plan = planElfLoad(parseElf64(bytes), bytes);
    expect(plan.segments.length).toBe(2); // the empty (p_memsz 0) segment maps nothing
    expect(plan.segments[1]!.filePages).toEqual([]);
    expect(plan.segments[1]!.bss).toEqual({
      start: 0x402000n,
      end: 0x405000n,
      pageCount: 3,
      permissions: { read: true, write: true, execute: false },
    });
    expect(plan.brk).toBe(0x405000n);
  });

  it('bss of an executable segment is mapped read+write+execute, as vm_brk_flags does', () => {
    const bytes = minimalAarch64({}, { memsz: 0x3000n });
    const plan = planElfLoad(parseElf64(bytes), bytes);
    expect(hexPages(plan.segments[0]!.filePages)).toEqual([[0x400000, 0, 0xbc, 'bss']]);
    expect(plan.segments[0]!.bss).toEqual({
      start: 0x401000n,
      end: 0x403000n,
      pageCount: 2,
      permissions: { read: true, write: true, execute: true },
    });
  });

  it('static-pie (ET_DYN without PT_INTERP) is loaded at the caller-chosen load bias', () => {
    const bytes = load('hello-pie-x86_64');
    const image = parseElf64(bytes);
    const bias = 0x5555_5555_4000n;
    const plan = planElfLoad(image, bytes, 4096, { loadBias: bias });
    expect(plan.loadBias).toBe(bias);
    expect(plan.entry).toBe(bias + 0x1a0n);
    expect(plan.phdrAddress).toBe(bias + 0x40n);
    expect(plan.segments.map((s) => [s.start - bias, s.end - bias, flagsText(s.permissions)])).toEqual([
      [0n, 0x1000n, 'R E'],
      [0x1000n, 0x2000n, 'RW '],
    ]);
    expect(hexPages(plan.segments[1]!.filePages)).toEqual([[Number(bias + 0x1000n), 0, 0x1000, 'none']]);
    expect(plan.brk).toBe(bias + 0x2000n);
    // Bias 0 is allowed too (the image then starts at page 0).
    expect(planElfLoad(image, bytes).imageStart).toBe(0n);
  });

  it('load bias: must be page aligned (and p_align aligned) for ET_DYN, and 0 for ET_EXEC', () => {
    const pie = load('hello-pie-x86_64');
    expect(() => planElfLoad(parseElf64(pie), pie, 4096, { loadBias: 0x1800n })).toThrow(
      /multiple of 0x1000/,
    );
    const dynAarch64 = minimalAarch64({ type: ET_DYN }, { vaddr: 0n });
    expect(() => planElfLoad(parseElf64(dynAarch64), dynAarch64, 4096, { loadBias: 0x1000n })).toThrow(
      /multiple of 0x10000/,
    );
    expect(planElfLoad(parseElf64(dynAarch64), dynAarch64, 4096, { loadBias: 0x20000n }).entry).toBe(
      0x4200b0n,
    );
    const exec = load('hello-x86_64');
    expect(() => planElfLoad(parseElf64(exec), exec, 4096, { loadBias: 0x1000n })).toThrow(/ET_EXEC/);
  });

  it('userEnd (TASK_SIZE): segments and the entry must lie below it', () => {
    const bytes = load('data-bss-x86_64');
    const image = parseElf64(bytes);
    expect(planElfLoad(image, bytes, 4096, { userEnd: 0x434000n }).brk).toBe(0x434000n);
    expectElfError(
      () => planElfLoad(image, bytes, 4096, { userEnd: 0x433000n }),
      'phdr[2].p_vaddr',
      0x402ff0n,
    );
    const far = minimalAarch64({ entry: 0x9000_0000n });
    expectElfError(
      () => planElfLoad(parseElf64(far), far, 4096, { userEnd: 0x8000_0000n }),
      'e_entry',
      0x9000_0000n,
    );
  });

  it('bad page sizes and foreign bytes are refused', () => {
    const bytes = load('hello-x86_64');
    const image = parseElf64(bytes);
    expect(() => planElfLoad(image, bytes, 8192 + 4096)).toThrow(/power of two/);
    expect(() => planElfLoad(image, bytes, 2048)).toThrow(MmError);
    expect(() => planElfLoad(image, bytes.subarray(0, 100))).toThrow(/8608-byte file/);
  });

  it('elfPageBytes refuses a page that does not fit the file', () => {
    const bytes = load('hello-aarch64');
    expect(() => elfPageBytes(bytes, { va: 0n, fileOffset: 700, fileBytes: 100, zeroTail: 'eof' })).toThrow(
      MmError,
    );
  });
});

describe('cross-check with Linux: the mappings Linux 6.18 made for data-bss-maps-x86_64', () => {
  // fixtures/elf/data-bss-maps-x86_64.out.txt is the program's own /proc/self/maps (setarch -R).
  it('file-backed VMAs and the anonymous bss VMA equal the plan (ranges, permissions, file offsets)', () => {
    const bytes = load('data-bss-maps-x86_64');
    const plan = planElfLoad(parseElf64(bytes), bytes);
    const text = readFileSync(new URL('data-bss-maps-x86_64.out.txt', FIXTURES), 'utf8');
    const vmas: [number, number, string, number][] = [];
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ (\d+)\s*(.*)$/.exec(line);
      if (!m) continue;
      const start = Number.parseInt(m[1]!, 16);
      const isImage = m[6]!.endsWith('/data-bss-maps-x86_64');
      const isAnonBelowBrk = m[5] === '0' && m[6] === '' && start < Number(plan.brk);
      if (isImage || isAnonBelowBrk)
        vmas.push([start, Number.parseInt(m[2]!, 16), m[3]!, Number.parseInt(m[4]!, 16)]);
    }
    const perms = (p: { read: boolean; write: boolean; execute: boolean }) =>
      `${p.read ? 'r' : '-'}${p.write ? 'w' : '-'}${p.execute ? 'x' : '-'}p`;
    const planned: [number, number, string, number][] = [];
    for (const s of plan.segments) {
      const first = s.filePages[0]!;
      const fileEnd = first.va + BigInt(s.filePages.length * plan.pageSize);
      planned.push([Number(first.va), Number(fileEnd), perms(s.permissions), first.fileOffset]);
      if (s.bss) planned.push([Number(s.bss.start), Number(s.bss.end), perms(s.bss.permissions), 0]);
    }
    expect(vmas).toEqual([
      [0x400000, 0x401000, 'r--p', 0x0],
      [0x401000, 0x402000, 'r-xp', 0x1000],
      [0x402000, 0x403000, 'r--p', 0x2000],
      [0x403000, 0x405000, 'rw-p', 0x2000],
      [0x405000, 0x435000, 'rw-p', 0x0],
    ]);
    expect(planned).toEqual(vmas);
  });
});
