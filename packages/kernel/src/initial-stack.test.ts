import { readFileSync } from 'node:fs';
import { AlignmentError, isMmError } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AT_BASE,
  AT_CLKTCK,
  AT_EGID,
  AT_ENTRY,
  AT_EUID,
  AT_EXECFN,
  AT_FLAGS,
  AT_GID,
  AT_HWCAP,
  AT_HWCAP2,
  AT_MINSIGSTKSZ,
  AT_NULL,
  AT_PAGESZ,
  AT_PHDR,
  AT_PHENT,
  AT_PHNUM,
  AT_PLATFORM,
  AT_RANDOM,
  AT_RSEQ_ALIGN,
  AT_RSEQ_FEATURE_SIZE,
  AT_SECURE,
  AT_SYSINFO_EHDR,
  AT_UID,
  AUXV_NAMES,
  type AuxvEntry,
  linuxAuxv,
} from './auxv.js';
import { parseElf64 } from './elf.js';
import { planElfLoad } from './elf-load-plan.js';
import {
  ArgumentListTooLongError,
  buildInitialStack,
  MAX_ARG_STRLEN,
  readInitialStack,
} from './initial-stack.js';

const FIXTURES = new URL('../fixtures/elf/', import.meta.url);
const TOP = 0x7fff_ffff_f000n;
const RANDOM = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

function word(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(offset, true);
}

describe('auxv constants (include/uapi/linux/auxvec.h)', () => {
  it('have the Linux values', () => {
    expect([AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY]).toEqual([
      0, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect([AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK, AT_SECURE]).toEqual([
      11, 12, 13, 14, 15, 16, 17, 23,
    ]);
    expect([
      AT_RANDOM,
      AT_HWCAP2,
      AT_RSEQ_FEATURE_SIZE,
      AT_RSEQ_ALIGN,
      AT_EXECFN,
      AT_SYSINFO_EHDR,
      AT_MINSIGSTKSZ,
    ]).toEqual([25, 26, 27, 28, 31, 33, 51]);
    expect(AUXV_NAMES[AT_RANDOM]).toBe('AT_RANDOM');
  });
});

describe('buildInitialStack: golden layout (create_elf_tables order, no randomization)', () => {
  //  top 0x7FFF_FFFF_F000: 8 zero bytes at EFF8, "prog\0" at EFF3, "A=1\0" at EFEF,
  //  "-x\0" at EFEC, "prog\0" at EFE7; p & ~15 = EFE0; "x86_64\0" at EFD9; random at EFC9;
  //  tables: 6 auxv pairs (12 words) + argc, 2 argv, NULL, 1 envp, NULL (6 words) = 144 bytes:
  //  (EFC9 - 0x90) & ~15 = EF30 = sp.
  const stack = buildInitialStack({
    argv: ['prog', '-x'],
    envp: ['A=1'],
    auxv: [
      { type: AT_PAGESZ, value: 4096n },
      { type: AT_ENTRY, value: 0x401000n },
    ],
    stackTop: TOP,
    platform: 'x86_64',
    random: RANDOM,
  });
  const at = (addr: bigint) => Number(addr - stack.sp);

  it('sp, string and random addresses', () => {
    expect(stack.sp).toBe(0x7fff_ffff_ef30n);
    expect(stack.bytes.length).toBe(0xd0);
    expect(stack.argvPointers).toEqual([0x7fff_ffff_efe7n, 0x7fff_ffff_efecn]);
    expect(stack.envpPointers).toEqual([0x7fff_ffff_efefn]);
    expect(stack.execfnAddress).toBe(0x7fff_ffff_eff3n);
    expect(stack.platformAddress).toBe(0x7fff_ffff_efd9n);
    expect(stack.randomAddress).toBe(0x7fff_ffff_efc9n);
    expect([stack.argStart, stack.argEnd, stack.envStart, stack.envEnd]).toEqual([
      0x7fff_ffff_efe7n,
      0x7fff_ffff_efefn,
      0x7fff_ffff_efefn,
      0x7fff_ffff_eff3n,
    ]);
  });

  it('argc, argv, NULL, envp, NULL, auxv at exact offsets from sp', () => {
    const b = stack.bytes;
    expect(stack.argc).toBe(2);
    expect(word(b, 0)).toBe(2n);
    expect(word(b, 8)).toBe(0x7fff_ffff_efe7n);
    expect(word(b, 16)).toBe(0x7fff_ffff_efecn);
    expect(word(b, 24)).toBe(0n);
    expect(word(b, 32)).toBe(0x7fff_ffff_efefn);
    expect(word(b, 40)).toBe(0n);
    expect([stack.argvAddress, stack.envpAddress, stack.auxvAddress]).toEqual([
      stack.sp + 8n,
      stack.sp + 32n,
      stack.sp + 48n,
    ]);
    const auxv: [number, bigint][] = [];
    for (let o = 48; o < 48 + 6 * 16; o += 16) auxv.push([Number(word(b, o)), word(b, o + 8)]);
    expect(auxv).toEqual([
      [AT_PAGESZ, 4096n],
      [AT_ENTRY, 0x401000n],
      [AT_RANDOM, 0x7fff_ffff_efc9n],
      [AT_EXECFN, 0x7fff_ffff_eff3n],
      [AT_PLATFORM, 0x7fff_ffff_efd9n],
      [AT_NULL, 0n],
    ]);
    expect(stack.auxv.map((e) => e.type)).toEqual([
      AT_PAGESZ,
      AT_ENTRY,
      AT_RANDOM,
      AT_EXECFN,
      AT_PLATFORM,
      AT_NULL,
    ]);
  });

  it('padding, random bytes, platform, strings and the zero end marker, byte by byte', () => {
    const b = stack.bytes;
    expect(Array.from(b.subarray(0x90, at(stack.randomAddress)))).toEqual(new Array(9).fill(0));
    expect(b.subarray(at(stack.randomAddress), at(stack.randomAddress) + 16)).toEqual(RANDOM);
    const ascii = (from: bigint, to: bigint) => String.fromCharCode(...b.subarray(at(from), at(to)));
    expect(ascii(0x7fff_ffff_efd9n, 0x7fff_ffff_efe7n)).toBe('x86_64\0\0\0\0\0\0\0\0');
    expect(ascii(0x7fff_ffff_efe7n, TOP)).toBe('prog\0-x\0A=1\0prog\0\0\0\0\0\0\0\0\0');
  });

  it('reads back as the program sees it', () => {
    const d = readInitialStack(stack.bytes, stack.sp);
    expect(d.argc).toBe(2);
    expect(d.argv).toEqual(['prog', '-x']);
    expect(d.envp).toEqual(['A=1']);
    expect(d.execfn).toBe('prog');
    expect(d.platform).toBe('x86_64');
    expect(d.random).toEqual(RANDOM);
    expect(d.auxv).toEqual(stack.auxv);
  });
});

describe('buildInitialStack: cross-check with the stack Linux 6.18 built (fixtures/elf/stackdump-x86_64.bin)', () => {
  // stackdump-x86_64 printed sp, the top of its strings area and the bytes [sp, top) at _start,
  // run as `setarch -R env -i HOME=/root LANG=C.UTF-8 ./stackdump-x86_64 alpha "two words" "" "ünï"`
  // (see fixtures/elf/README.md). Sources: Linux fs/exec.c (bprm_mm_init, copy_strings,
  // copy_string_kernel) and fs/binfmt_elf.c (create_elf_tables).
  const raw = new Uint8Array(readFileSync(new URL('stackdump-x86_64.bin', FIXTURES)));
  const sp = word(raw, 0);
  const top = word(raw, 8);
  const image = raw.subarray(16);
  const linux = readInitialStack(image, sp);
  const value = (type: number) => linux.auxv.find((e) => e.type === type)!.value;

  it('the dump is what the fixture command produced', () => {
    expect(sp).toBe(0x7fff_ffff_edc0n);
    expect(top).toBe(0x7fff_ffff_f000n); // STACK_TOP of a 47-bit x86-64 user space, no randomization
    expect(BigInt(image.length)).toBe(top - sp);
    expect(linux.argv).toEqual(['./stackdump-x86_64', 'alpha', 'two words', '', 'ünï']);
    expect(linux.envp).toEqual(['HOME=/root', 'LANG=C.UTF-8']);
    expect(linux.execfn).toBe('./stackdump-x86_64');
    expect(linux.platform).toBe('x86_64');
    expect(linux.auxv.map((e) => AUXV_NAMES[e.type] ?? e.type)).toEqual([
      'AT_SYSINFO_EHDR',
      'AT_MINSIGSTKSZ',
      'AT_HWCAP',
      'AT_PAGESZ',
      'AT_CLKTCK',
      'AT_PHDR',
      'AT_PHENT',
      'AT_PHNUM',
      'AT_BASE',
      'AT_FLAGS',
      'AT_ENTRY',
      'AT_UID',
      'AT_EUID',
      'AT_GID',
      'AT_EGID',
      'AT_SECURE',
      'AT_RANDOM',
      'AT_HWCAP2',
      'AT_EXECFN',
      'AT_PLATFORM',
      'AT_RSEQ_FEATURE_SIZE',
      'AT_RSEQ_ALIGN',
      'AT_NULL',
    ]);
  });

  it('AT_PHDR, AT_PHNUM and AT_ENTRY equal planElfLoad of the same executable', () => {
    const bytes = new Uint8Array(readFileSync(new URL('stackdump-x86_64', FIXTURES)));
    const plan = planElfLoad(parseElf64(bytes), bytes);
    expect(value(AT_PHDR)).toBe(plan.phdrAddress);
    expect(value(AT_PHNUM)).toBe(BigInt(plan.phnum));
    expect(value(AT_PHENT)).toBe(BigInt(plan.phent));
    expect(value(AT_ENTRY)).toBe(plan.entry);
  });

  it('linuxAuxv + buildInitialStack reproduce Linux’s image byte for byte', () => {
    const auxv = linuxAuxv({
      sysinfoEhdr: value(AT_SYSINFO_EHDR),
      minSigStackSize: value(AT_MINSIGSTKSZ),
      hwcap: value(AT_HWCAP),
      pageSize: Number(value(AT_PAGESZ)),
      clktck: Number(value(AT_CLKTCK)),
      phdr: value(AT_PHDR),
      phent: Number(value(AT_PHENT)),
      phnum: Number(value(AT_PHNUM)),
      base: value(AT_BASE),
      flags: value(AT_FLAGS),
      entry: value(AT_ENTRY),
      uid: Number(value(AT_UID)),
      euid: Number(value(AT_EUID)),
      gid: Number(value(AT_GID)),
      egid: Number(value(AT_EGID)),
      secure: value(AT_SECURE) !== 0n,
      hwcap2: value(AT_HWCAP2),
      platform: true,
      rseq: { featureSize: value(AT_RSEQ_FEATURE_SIZE), align: value(AT_RSEQ_ALIGN) },
    });
    const ours = buildInitialStack({
      argv: linux.argv,
      envp: linux.envp,
      execfn: linux.execfn,
      auxv,
      stackTop: top,
      platform: 'x86_64',
      random: linux.random,
    });
    expect(ours.sp).toBe(sp);
    expect(ours.randomAddress).toBe(value(AT_RANDOM));
    expect(ours.execfnAddress).toBe(value(AT_EXECFN));
    expect(ours.platformAddress).toBe(value(AT_PLATFORM));
    expect(ours.auxv).toEqual(linux.auxv);
    expect(ours.bytes).toEqual(image);
  });
});

describe('buildInitialStack: placeholders, defaults, word size', () => {
  it('AT_RANDOM / AT_EXECFN / AT_PLATFORM given by the caller keep their position and get their values', () => {
    const s = buildInitialStack({
      argv: ['a'],
      envp: [],
      auxv: [
        { type: AT_EXECFN, value: 0n },
        { type: AT_PAGESZ, value: 4096n },
        { type: AT_PLATFORM, value: 123n },
        { type: AT_RANDOM, value: 0n },
      ],
      stackTop: TOP,
      platform: 'aarch64',
      random: RANDOM,
    });
    expect(s.auxv).toEqual([
      { type: AT_EXECFN, value: s.execfnAddress },
      { type: AT_PAGESZ, value: 4096n },
      { type: AT_PLATFORM, value: s.platformAddress },
      { type: AT_RANDOM, value: s.randomAddress },
      { type: AT_NULL, value: 0n },
    ]);
    expect(readInitialStack(s.bytes, s.sp).platform).toBe('aarch64');
  });

  it('without a platform there is no AT_PLATFORM entry and no platform string', () => {
    const s = buildInitialStack({ argv: ['a'], envp: [], auxv: [], stackTop: TOP, random: RANDOM });
    expect(s.platformAddress).toBeUndefined();
    expect(s.auxv.map((e) => e.type)).toEqual([AT_RANDOM, AT_EXECFN, AT_NULL]);
    // "a\0" at EFF3, execfn "a\0" at EFF5; p & ~15 = EFF0; random at EFE0.
    expect(s.randomAddress).toBe(0x7fff_ffff_efe0n);
  });

  it('an empty argv becomes [""] (Linux ≥ 5.18) and execfn defaults to argv[0]', () => {
    const s = buildInitialStack({ argv: [], envp: ['X=1'], auxv: [], stackTop: TOP });
    const d = readInitialStack(s.bytes, s.sp);
    expect(d.argc).toBe(1);
    expect(d.argv).toEqual(['']);
    expect(d.execfn).toBe('');
  });

  it('AT_RANDOM bytes from a seed are deterministic and differ between seeds', () => {
    const a = buildInitialStack({ argv: ['a'], envp: [], auxv: [], stackTop: TOP, randomSeed: 7 });
    const b = buildInitialStack({ argv: ['a'], envp: [], auxv: [], stackTop: TOP, randomSeed: 7 });
    const c = buildInitialStack({ argv: ['a'], envp: [], auxv: [], stackTop: TOP, randomSeed: 8 });
    expect(a.random).toEqual(b.random);
    expect(a.random).not.toEqual(c.random);
    const zero = buildInitialStack({ argv: ['a'], envp: [], auxv: [], stackTop: TOP });
    expect(Array.from(zero.random)).toEqual(SEED0);
  });

  it('32-bit words: 4-byte slots, still 16-byte aligned', () => {
    const s = buildInitialStack({
      argv: ['init'],
      envp: ['TERM=vt100'],
      auxv: [{ type: AT_PAGESZ, value: 4096n }],
      stackTop: 0xc000_0000n,
      wordBytes: 4,
      platform: 'i686',
      random: RANDOM,
    });
    expect(s.sp % 16n).toBe(0n);
    expect(s.argvAddress).toBe(s.sp + 4n);
    const d = readInitialStack(s.bytes, s.sp, 4);
    expect(d.argv).toEqual(['init']);
    expect(d.envp).toEqual(['TERM=vt100']);
    expect(d.platform).toBe('i686');
    expect(d.auxv.map((e) => e.type)).toEqual([AT_PAGESZ, AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL]);
    // Top: 4 zero bytes at BFFF_FFFC, "init\0" at BFFF_FFF7, "TERM=vt100\0" at BFFF_FFEC, "init\0" at BFFF_FFE7.
    expect(s.argvPointers).toEqual([0xbfff_ffe7n]);
    expect(s.envpPointers).toEqual([0xbfff_ffecn]);
    expect(s.execfnAddress).toBe(0xbfff_fff7n);
  });
});

describe('buildInitialStack: properties', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('\0'));
  it('for any argv/envp: sp is 16-byte aligned, the image reads back, strings ascend in order under the top', () => {
    fc.assert(
      fc.property(
        fc.array(text, { maxLength: 12 }),
        fc.array(text, { maxLength: 12 }),
        fc.array(
          fc.record({ type: fc.integer({ min: 32, max: 60 }), value: fc.bigInt(0n, (1n << 64n) - 1n) }),
          {
            maxLength: 8,
          },
        ),
        fc.option(fc.constantFrom('x86_64', 'aarch64')),
        fc.integer({ min: 1, max: 0xffff }),
        (argv, envp, extra, platform, topPage) => {
          const auxv = extra.filter(
            (e) => e.type !== AT_EXECFN && e.type !== AT_PLATFORM && e.type !== AT_RANDOM,
          );
          const stackTop = BigInt(topPage) << 16n;
          const s = buildInitialStack({
            argv,
            envp,
            auxv,
            stackTop,
            platform: platform ?? undefined,
            randomSeed: topPage,
          });
          expect(s.sp % 16n).toBe(0n);
          expect(BigInt(s.bytes.length)).toBe(stackTop - s.sp);
          expect(s.bytes.subarray(s.bytes.length - 8).every((b) => b === 0)).toBe(true);
          const d = readInitialStack(s.bytes, s.sp);
          const wantArgv = argv.length === 0 ? [''] : argv;
          expect(d.argv).toEqual(wantArgv);
          expect(d.envp).toEqual(envp);
          expect(d.execfn).toBe(wantArgv[0]);
          expect(d.platform).toBe(platform ?? undefined);
          expect(d.random).toEqual(s.random);
          expect(d.auxv.slice(0, auxv.length)).toEqual(auxv);
          const pointers = [...s.argvPointers, ...s.envpPointers, s.execfnAddress];
          for (let i = 1; i < pointers.length; i++) expect(pointers[i]! > pointers[i - 1]!).toBe(true);
          // The tables end at or below the random bytes; the random bytes lie below the strings.
          expect(s.auxvAddress + BigInt(s.auxv.length * 16)).toBeLessThanOrEqual(s.randomAddress);
          expect(s.randomAddress + 16n).toBeLessThanOrEqual(s.platformAddress ?? s.argStart);
          expect(s.randomAddress - (s.auxvAddress + BigInt(s.auxv.length * 16))).toBeLessThan(16n);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('bad input throws an MmError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
        fc.array(fc.record({ type: fc.integer({ min: -2, max: 40 }), value: fc.bigInt(-1n, 1n << 65n) }), {
          maxLength: 4,
        }),
        fc.bigInt(-16n, 1n << 65n),
        (argv, auxv, stackTop) => {
          try {
            buildInitialStack({ argv, envp: [], auxv: auxv as AuxvEntry[], stackTop });
          } catch (e) {
            expect(isMmError(e)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('buildInitialStack: errors', () => {
  const base = { argv: ['a'], envp: [] as string[], auxv: [] as AuxvEntry[], stackTop: TOP };

  it('a string longer than MAX_ARG_STRLEN (128 KiB with its NUL) is E2BIG', () => {
    const long = 'x'.repeat(MAX_ARG_STRLEN);
    let caught: unknown;
    try {
      buildInitialStack({ ...base, envp: [long] });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ArgumentListTooLongError);
    const e = caught as ArgumentListTooLongError;
    expect(e.errno).toBe('E2BIG');
    expect(e.code).toBe('E_RANGE');
    expect(e.what).toBe('envp[0]');
    expect(e.sizeBytes).toBe(MAX_ARG_STRLEN + 1);
    expect(e.limitBytes).toBe(MAX_ARG_STRLEN);
    expect(() => buildInitialStack({ ...base, envp: ['x'.repeat(MAX_ARG_STRLEN - 1)] })).not.toThrow();
  });

  it('strings beyond a quarter of the stack limit (at least ARG_MAX) are E2BIG', () => {
    // 1 MiB limit → room max(min(6 MiB, 256 KiB), 128 KiB) = 256 KiB, minus 3 pointers.
    const envp = ['x'.repeat(100_000), 'y'.repeat(100_000), 'z'.repeat(100_000)];
    expect(() => buildInitialStack({ ...base, envp, stackLimitBytes: 1 << 20 })).toThrow(
      ArgumentListTooLongError,
    );
    expect(() => buildInitialStack({ ...base, envp, stackLimitBytes: 8 << 20 })).not.toThrow();
    let caught: unknown;
    try {
      buildInitialStack({ ...base, envp, stackLimitBytes: 1 << 20 });
    } catch (e) {
      caught = e;
    }
    expect((caught as ArgumentListTooLongError).limitBytes).toBe(262144 - 4 * 8);
    expect((caught as ArgumentListTooLongError).sizeBytes).toBe(300_003 + 2 + 2); // envp, argv "a", execfn "a"
  });

  it('an image larger than the stack limit is E2BIG', () => {
    const envp = ['x'.repeat(5000)];
    expect(() => buildInitialStack({ ...base, envp, stackLimitBytes: 4096 })).toThrow(/initial stack needs/);
  });

  it('argument, auxv and option errors', () => {
    expect(() => buildInitialStack({ ...base, argv: ['a\0b'] })).toThrow(/argv\[0\].*without NUL/);
    expect(() => buildInitialStack({ ...base, stackTop: TOP + 8n })).toThrow(AlignmentError);
    expect(() => buildInitialStack({ ...base, stackTop: 0n })).toThrow(/stack top/);
    expect(() => buildInitialStack({ ...base, stackTop: 0x40n })).toThrow(/stack top/);
    expect(() => buildInitialStack({ ...base, auxv: [{ type: AT_NULL, value: 0n }] })).toThrow(/not AT_NULL/);
    expect(() => buildInitialStack({ ...base, auxv: [{ type: AT_PLATFORM, value: 0n }] })).toThrow(
      /platform string/,
    );
    expect(() =>
      buildInitialStack({
        ...base,
        auxv: [
          { type: AT_RANDOM, value: 0n },
          { type: AT_RANDOM, value: 0n },
        ],
      }),
    ).toThrow(/one AT_RANDOM/);
    expect(() => buildInitialStack({ ...base, auxv: [{ type: AT_PAGESZ, value: 1n << 64n }] })).toThrow(
      /auxv\[0\]\.value/,
    );
    expect(() =>
      buildInitialStack({ ...base, auxv: [{ type: AT_PAGESZ, value: 4096 as unknown as bigint }] }),
    ).toThrow(/auxv\[0\]\.value/);
    expect(() => buildInitialStack({ ...base, random: new Uint8Array(8) })).toThrow(/16 bytes/);
    expect(() => buildInitialStack({ ...base, wordBytes: 2 as 4 })).toThrow(/word size/);
    expect(() => buildInitialStack({ ...base, wordBytes: 4 })).toThrow(/stack top/); // TOP > 2^32
    expect(() =>
      buildInitialStack({
        ...base,
        wordBytes: 4,
        stackTop: 0xc000_0000n,
        auxv: [{ type: AT_PAGESZ, value: 1n << 32n }],
      }),
    ).toThrow(/auxv\[0\]\.value/);
  });

  it('readInitialStack refuses pointers outside the image', () => {
    const s = buildInitialStack({ ...base, random: RANDOM });
    expect(() => readInitialStack(s.bytes, s.sp + 0x1000n)).toThrow(/argv\[0\]/);
    expect(() => readInitialStack(s.bytes.subarray(0, 16), s.sp)).toThrow(/stack image/);
  });
});

describe('linuxAuxv', () => {
  it('lists Linux 6.x create_elf_tables order with placeholders', () => {
    const auxv = linuxAuxv({ phdr: 0x400040n, phnum: 4, entry: 0x401000n, hwcap2: 2n, platform: true });
    expect(auxv.map((e) => AUXV_NAMES[e.type])).toEqual([
      'AT_HWCAP',
      'AT_PAGESZ',
      'AT_CLKTCK',
      'AT_PHDR',
      'AT_PHENT',
      'AT_PHNUM',
      'AT_BASE',
      'AT_FLAGS',
      'AT_ENTRY',
      'AT_UID',
      'AT_EUID',
      'AT_GID',
      'AT_EGID',
      'AT_SECURE',
      'AT_RANDOM',
      'AT_HWCAP2',
      'AT_EXECFN',
      'AT_PLATFORM',
    ]);
    expect(auxv.find((e) => e.type === AT_PAGESZ)!.value).toBe(4096n);
    expect(auxv.find((e) => e.type === AT_PHENT)!.value).toBe(56n);
    expect(auxv.find((e) => e.type === AT_CLKTCK)!.value).toBe(100n);
  });
});

/** The 16 AT_RANDOM bytes for seed 0 (recorded; they must never change silently). */
const SEED0 = [14, 47, 202, 146, 243, 227, 214, 60, 204, 125, 20, 27, 191, 29, 8, 76];
