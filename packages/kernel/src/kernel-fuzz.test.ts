/**
 * Regression tests for the defects the public-API fuzz test (public-api.fuzz.test.ts) found: each
 * call threw a TypeError, RangeError, SyntaxError or plain Error (or changed the kernel before
 * refusing) and now throws a typed MmError naming the argument, the value and what was expected.
 */
import { readFileSync } from 'node:fs';
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createVirtBoard } from '@mmkit/boards';
import { isMmError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import {
  ArgumentListTooLongError,
  AttributeChooser,
  anonVma,
  assertAudit,
  audit,
  bootKernel,
  buildInitialStack,
  describeAttrs,
  deviceMemoryType,
  dumpPageTable,
  ElfDynamicExecutableError,
  ElfFormatError,
  ElfUnsupportedMachineError,
  elfPageBytes,
  exportTranslationState,
  formatDump,
  type Kernel,
  leafTemplate,
  linuxAuxv,
  MAP,
  mapsPerms,
  NoProcessError,
  PageAllocator,
  PROT,
  type Process,
  parseElf64,
  perms,
  planElfLoad,
  procMaps,
  procSmaps,
  protString,
  readInitialStack,
  regionOf,
  simpleLayoutFor,
  VmaOverlapError,
  VmaTree,
} from './index.js';
import { tinyMachine } from './test-fixtures.js';

const MiB = 1024 * 1024;
const hello = new Uint8Array(readFileSync(new URL('../fixtures/elf/hello-aarch64', import.meta.url)));

/** A value whose String() throws: an array holding a symbol. */
const symbolArray = () => [Symbol('s')];
/** A value whose String() throws: no prototype, so no toString. */
const bare = () => Object.create(null) as object;
/** A value whose coercion throws. */
const throwsOnCoercion = () => ({
  valueOf() {
    throw new Error('valueOf called');
  },
  toString() {
    throw new Error('toString called');
  },
});

function boot(): { k: Kernel; p: Process; va: bigint } {
  const k = bootKernel({ arch: createAarch64Arch(), machine: createVirtBoard({ ramBytes: 32 * MiB }) });
  const p = k.createProcess();
  const r = k.mmap(p, 0, 0x4000, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!r.ok) throw new Error(r.detail);
  k.store(p, r.value, 8, 1n);
  return { k, p, va: r.value };
}

/** Calls `fn` and returns what it threw (failing if it returned). */
function thrown(fn: () => unknown): Error & { code?: string; value?: unknown } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** Asserts an MmError with `code` whose message contains each of `parts`. */
function expectMmError(fn: () => unknown, code: string, ...parts: string[]): Error & { value?: unknown } {
  const e = thrown(fn);
  expect(isMmError(e), `${e.name}: ${e.message}`).toBe(true);
  expect(e.code).toBe(code);
  for (const p of parts) expect(e.message).toContain(p);
  return e;
}

describe('values whose rendering throws are named in the message without calling them', () => {
  it('an address that is an array holding a symbol: AddressError, not "Cannot convert a Symbol value"', () => {
    const { k, p } = boot();
    const v = symbolArray();
    const e = expectMmError(() => k.load(p, v as never), 'E_ADDRESS', 'user address: ["Symbol(s)"]');
    expect(e.value).toBe(v); // the field keeps the value itself
  });

  it('a null-prototype object as an address: AddressError, not "Cannot convert object to primitive value"', () => {
    const { k, p } = boot();
    expectMmError(() => k.munmap(p, bare() as never, 4096), 'E_ADDRESS', 'addr: {}');
  });

  it('a store value whose toString throws: InvalidArgumentError, and valueOf is never called', () => {
    const { k, p, va } = boot();
    expectMmError(
      () => k.store(p, va, 8, throwsOnCoercion() as never),
      'E_INVALID_ARGUMENT',
      'value: {"valueOf"',
    );
  });

  it('a frame owner whose valueOf throws: InvalidArgumentError, not the owner being coerced', () => {
    const m = tinyMachine(16);
    const a = new PageAllocator(m.createMemory(), m.pool.ranges);
    expectMmError(() => a.alloc('user', throwsOnCoercion() as never), 'E_INVALID_ARGUMENT', 'frame owner');
  });

  it.each([
    [
      'NoProcessError',
      () => new NoProcessError(Symbol('pid') as never, symbolArray() as never),
      'Symbol(pid)',
    ],
    ['VmaOverlapError', () => new VmaOverlapError(Symbol('a') as never, 1, 2n as never, 3), 'Symbol(a)'],
    ['ElfFormatError', () => new ElfFormatError('e_type', Symbol('t') as never, 'reason'), 'Symbol(t)'],
    [
      'ElfFormatError (object)',
      () => new ElfFormatError('e_type', { big: 1n } as never, 'reason'),
      '{"big":"1n"}',
    ],
    ['ElfUnsupportedMachineError', () => new ElfUnsupportedMachineError(3, {} as never), 'expected {}'],
    [
      'ElfDynamicExecutableError',
      () => new ElfDynamicExecutableError(Symbol('i') as never, 'x'),
      'Symbol(i)',
    ],
    [
      'ArgumentListTooLongError',
      () => new ArgumentListTooLongError('argv', throwsOnCoercion() as never, 1),
      '{"valueOf"',
    ],
  ])('%s renders any field value', (_name, make, part) => {
    const e = make();
    expect(isMmError(e)).toBe(true);
    expect(e.message).toContain(part);
  });
});

describe('Kernel methods', () => {
  it('attrsFor(null) and a prot outside 0..7 are refused (a bad prot used to alias another cache key)', () => {
    const { k } = boot();
    expectMmError(() => k.attrsFor(null as never), 'E_INVALID_ARGUMENT', 'vma');
    expectMmError(
      () => k.attrsFor({ prot: 9, memoryType: 'normal-wb' } as never),
      'E_INVALID_ARGUMENT',
      'vma.prot: 9',
    );
    expectMmError(() => k.attrsFor({ prot: 1.5, memoryType: 'normal-wb' } as never), 'E_INVALID_ARGUMENT');
    expectMmError(
      () => k.attrsFor({ prot: 3, memoryType: 'bogus' } as never),
      'E_INVALID_ARGUMENT',
      '"bogus"',
    );
  });

  it('handleSyndrome with a CPU index whose toString throws: InvalidArgumentError (it was used as a property key)', () => {
    const { k, p, va } = boot();
    expectMmError(() => k.handleSyndrome(p, va, 0x9200_0047n, bare() as never), 'E_INVALID_ARGUMENT', 'cpu');
  });

  it('discharge of something that is not a FlushObligation, or from a CPU that does not exist', () => {
    const { k } = boot();
    expectMmError(() => k.discharge([1, 2, 3] as never), 'E_INVALID_ARGUMENT', 'flush: [1,2,3]');
    const flush = k.editor.newFlush({ asid: 0, global: false });
    expectMmError(() => k.discharge(flush, 5), 'E_INVALID_ARGUMENT', 'initiator: 5');
  });

  it('mapPage with attributes the backend cannot encode refuses before allocating the root table', () => {
    const { k } = boot();
    const p = k.createProcess();
    const frame = k.allocator.alloc('user', p.pid);
    const free = k.allocator.freeCount;
    const attrs = k.userAttributes({ read: true, write: true, execute: false });
    // EL1 can always read a valid AArch64 leaf: kernel no-access is unrepresentable.
    const unencodable = { ...attrs, kernel: { read: false, write: false, execute: false } };
    const e = thrown(() => k.mapPage(p, 0x40_0000, frame, unencodable));
    expect(isMmError(e)).toBe(true);
    expect(k.allocator.freeCount).toBe(free);
    expect(p.tablePages).toBe(0);
    expectMmError(
      () => k.mapPage(p, 0x40_0000, frame, { user: {}, kernel: {} } as never),
      'E_INVALID_ARGUMENT',
      'attrs',
    );
    k.allocator.free(frame);
    expect(audit(k).ok).toBe(true);
  });

  it('lookup checks that the process is a live process of this kernel (null used to throw a TypeError)', () => {
    const { k, p, va } = boot();
    expectMmError(() => k.lookup(null as never, va), 'E_INVALID_ARGUMENT', 'process: null');
    k.exit(p);
    expectMmError(() => k.lookup(p, va), 'E_NO_PROCESS', 'exited');
  });

  it('mapPage refuses a reserved, free or kernel frame (a reserved frame mapped into user space broke the audit)', () => {
    const { k } = boot();
    const p = k.createProcess();
    const attrs = k.userAttributes({ read: true, write: true, execute: false });
    const kernelFrame = k.allocator.alloc('kernel');
    const reserved = k.allocator.reservations[0]!.start;
    for (const pa of [kernelFrame, reserved])
      expectMmError(
        () => k.mapPage(p, 0x40_0000, pa, attrs),
        'E_INVALID_ARGUMENT',
        'allocated for user pages',
      );
    const free = k.allocator.alloc('user', p.pid);
    k.allocator.free(free);
    expectMmError(() => k.mapPage(p, 0x40_0000, free, attrs), 'E_INVALID_ARGUMENT', 'this frame is free');
    expect(p.tablePages).toBe(0);
    k.allocator.free(kernelFrame);
    expect(audit(k).ok).toBe(true);
  });

  it('spawnElf and exec check argv, envp and execfn before creating anything (a symbol leaked the process)', () => {
    const { k, p } = boot();
    const before = k.allProcesses.length;
    expectMmError(() => k.spawnElf(hello, { argv: [Symbol('s')] } as never), 'E_INVALID_ARGUMENT', 'argv');
    expectMmError(() => k.spawnElf(hello, { envp: 'X=1' } as never), 'E_INVALID_ARGUMENT', 'envp');
    expectMmError(() => k.spawnElf(hello, null as never), 'E_INVALID_ARGUMENT', 'args');
    expect(k.allProcesses.length).toBe(before);
    const maps = k.procMaps(p);
    expectMmError(() => k.exec(p, { elf: hello, execfn: 5 } as never), 'E_INVALID_ARGUMENT', 'execfn');
    expect(k.procMaps(p)).toBe(maps);
    expect(k.spawnElf(hello, { argv: ['hello'] }).ok).toBe(true);
    expect(audit(k).ok).toBe(true);
  });

  it('attrsFor refuses a bigint prot or level (they used to throw "Cannot mix BigInt and other types")', () => {
    const { k } = boot();
    expectMmError(
      () => k.attrsFor({ prot: -1n, memoryType: 'normal-wb' } as never),
      'E_INVALID_ARGUMENT',
      'vma.prot',
    );
    expectMmError(
      () => k.attrsFor({ prot: 3, memoryType: 'normal-wb' } as never, 1n as never),
      'E_INVALID_ARGUMENT',
      'level',
    );
  });

  it('readUser refuses a length above MAX_RW_COUNT before allocating it (2^40 used to throw a RangeError)', () => {
    const { k, p, va } = boot();
    expectMmError(() => k.readUser(p, va, 2 ** 40), 'E_INVALID_ARGUMENT', 'MAX_RW_COUNT');
    expectMmError(() => k.readUser(p, va, 0x7fff_f001), 'E_INVALID_ARGUMENT', 'length');
    expect(k.readUser(p, va, 8)).toEqual({ ok: true, value: new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]) });
  });

  it('bootKernel with a huge identityMapBytes stops at the end of RAM (it walked 2^40 pages)', () => {
    const k = bootKernel({ arch: createAarch64Arch(), machine: tinyMachine(64), identityMapBytes: 2 ** 52 });
    expect(k.lookup(k.createProcess(), 0x1000)).toBeUndefined();
    expect(audit(k).ok).toBe(true);
  });

  it.each([
    ['a machine without a pool', { createMemory: () => null }],
    ['events that are not an EventStream', { events: {} }],
    ['a layout that is not a SimpleLayout', { layout: {} }],
    ['a flushThreshold of NaN', { flushThreshold: Number.NaN }],
    ['tlbEntries whose valueOf throws', { tlbEntries: throwsOnCoercion() }],
  ])('bootKernel refuses %s with InvalidArgumentError', (_what, patch) => {
    const options = { arch: createAarch64Arch(), machine: tinyMachine(64), ...patch };
    if ('createMemory' in patch) Object.assign(options, { machine: patch });
    expectMmError(() => bootKernel(options as never), 'E_INVALID_ARGUMENT');
  });
});

describe('exported functions', () => {
  it('perms of a non-string or a bad spec is an InvalidArgumentError (was a TypeError)', () => {
    expectMmError(() => perms([1, 2, 3] as never), 'E_INVALID_ARGUMENT', 'permission spec');
    expectMmError(() => perms('rwz'), 'E_INVALID_ARGUMENT', '"rwz"');
    expect(perms('r-x')).toEqual({ read: true, write: false, execute: true });
  });

  it('anonVma refuses null options, a non-string name and prot bits outside 0..7', () => {
    expectMmError(() => anonVma(3, 'x', null as never), 'E_INVALID_ARGUMENT', 'opts');
    expectMmError(() => anonVma(3, Symbol('n') as never), 'E_INVALID_ARGUMENT', 'name');
    expectMmError(() => anonVma(8, 'x'), 'E_INVALID_ARGUMENT', 'prot');
    expect(anonVma(3, 'x').name).toBe('x');
  });

  it('protString of a bigint or of bits outside 0..7', () => {
    expectMmError(() => protString(-1n as never), 'E_INVALID_ARGUMENT', 'prot');
    expectMmError(() => protString(8), 'E_INVALID_ARGUMENT', 'prot: 8');
    expect(protString(5)).toBe('r-x');
  });

  it('helpers that read an object refuse null, arrays and shapes that are not theirs', () => {
    const { k } = boot();
    expectMmError(() => mapsPerms(null as never), 'E_INVALID_ARGUMENT', 'vma');
    expectMmError(() => describeAttrs([] as never), 'E_INVALID_ARGUMENT', 'attrs');
    expectMmError(() => deviceMemoryType([] as never), 'E_INVALID_ARGUMENT', 'arch');
    expectMmError(() => simpleLayoutFor([] as never), 'E_INVALID_ARGUMENT', 'arch description');
    expectMmError(() => regionOf(k.layout, Symbol('b') as never, 0n), 'E_INVALID_ARGUMENT', 'brk');
    expectMmError(() => regionOf({} as never, 0n, 0n), 'E_INVALID_ARGUMENT', 'layout');
    expectMmError(() => leafTemplate([] as never, k.anonAttrs), 'E_INVALID_ARGUMENT', 'arch');
    expectMmError(() => leafTemplate(k.arch, {} as never), 'E_INVALID_ARGUMENT', 'attrs');
    expectMmError(() => new AttributeChooser(null as never), 'E_INVALID_ARGUMENT', 'arch');
    expectMmError(
      () => new AttributeChooser(k.arch).leaf([] as never),
      'E_INVALID_ARGUMENT',
      'mapping request',
    );
    expectMmError(() => formatDump({} as never), 'E_INVALID_ARGUMENT', 'lines');
    expectMmError(() => formatDump([{}] as never), 'E_INVALID_ARGUMENT', 'lines[0]');
  });

  it('kernel inspection functions refuse a non-kernel and a process that is not a live one of the kernel', () => {
    const { k, p } = boot();
    const other = boot();
    for (const f of [audit, assertAudit]) expectMmError(() => f([] as never), 'E_INVALID_ARGUMENT', 'kernel');
    expectMmError(() => exportTranslationState([] as never, p), 'E_INVALID_ARGUMENT', 'kernel');
    expectMmError(() => dumpPageTable([] as never, p), 'E_INVALID_ARGUMENT', 'kernel');
    for (const f of [procMaps, procSmaps, dumpPageTable, exportTranslationState]) {
      expectMmError(() => f(k, {} as never), 'E_INVALID_ARGUMENT', 'process');
      expectMmError(() => f(k, other.p), 'E_NO_PROCESS', 'unknown to this kernel');
    }
    expect(procMaps(k, p)).toBe(k.procMaps(p));
  });

  it('parseElf64 refuses options that are not { machines: number[] } (null used to throw a TypeError)', () => {
    expectMmError(() => parseElf64(hello, null as never), 'E_INVALID_ARGUMENT', 'options');
    expectMmError(
      () => parseElf64(hello, { machines: 'x' } as never),
      'E_INVALID_ARGUMENT',
      'options.machines',
    );
    expect(parseElf64(hello, { machines: [183] }).machine).toBe('aarch64');
  });

  it('planElfLoad plans only images parseElf64 returned; elfPageBytes checks its page and page size', () => {
    const image = parseElf64(hello);
    expectMmError(
      () => planElfLoad({ ...image, loads: null } as never, hello),
      'E_INVALID_ARGUMENT',
      'ELF image',
    );
    expectMmError(() => planElfLoad(image, hello, 4096, null as never), 'E_INVALID_ARGUMENT', 'options');
    const plan = planElfLoad(image, hello);
    const page = plan.segments[0]!.filePages[0]!;
    expect(elfPageBytes(hello, page).length).toBe(4096);
    expectMmError(() => elfPageBytes(hello, page, Symbol('p') as never), 'E_INVALID_ARGUMENT', 'page size');
    expectMmError(() => elfPageBytes([] as never, page), 'E_INVALID_ARGUMENT', 'ELF bytes');
    expectMmError(() => elfPageBytes(hello, null as never), 'E_INVALID_ARGUMENT', 'ELF file page');
  });

  it('buildInitialStack(null), readInitialStack of a non-image and linuxAuxv of non-integers', () => {
    expectMmError(() => buildInitialStack(null as never), 'E_INVALID_ARGUMENT', 'options');
    expectMmError(() => readInitialStack([] as never, 0n), 'E_INVALID_ARGUMENT', 'stack image');
    expectMmError(() => readInitialStack(new Uint8Array(8), 1 as never), 'E_INVALID_ARGUMENT', 'sp');
    // BigInt(undefined) was a TypeError and BigInt([1, 2, 3]) a SyntaxError.
    expectMmError(() => linuxAuxv({} as never), 'E_INVALID_ARGUMENT', 'AT_PHDR');
    expectMmError(() => linuxAuxv({ phdr: [1, 2, 3], phnum: 1, entry: 0n } as never), 'E_INVALID_ARGUMENT');
    expectMmError(() => linuxAuxv(null as never), 'E_INVALID_ARGUMENT', 'options');
  });
});

describe('VmaTree and PageAllocator', () => {
  const tree = () => {
    const t = new VmaTree<number>({ nodeCapacity: 4 });
    for (let i = 0; i < 8; i++) t.insert(i * 10, i * 10 + 5, i);
    return t;
  };

  it('lookups refuse a page number that is not a number (a bigint used to throw a TypeError)', () => {
    const t = tree();
    expectMmError(() => t.find(-1n as never), 'E_INVALID_ARGUMENT', 'VmaTree.find page');
    expectMmError(() => t.findFirstAtOrAfter(1n as never), 'E_INVALID_ARGUMENT');
    expectMmError(() => t.findLastBefore(1n as never), 'E_INVALID_ARGUMENT');
    expectMmError(() => t.findIntersection(1, Symbol('x') as never), 'E_INVALID_ARGUMENT');
    expectMmError(() => [...t.range(undefined, Symbol('x') as never)], 'E_INVALID_ARGUMENT', 'VmaTree.range');
    expect(t.find(12)?.value).toBe(1); // numbers keep working, unvalidated beyond their type
  });

  it('VMA arguments and callbacks are checked; has() of a non-VMA is false', () => {
    const t = tree();
    expectMmError(() => t.next(null as never), 'E_INVALID_ARGUMENT', 'VmaTree.next vma');
    expectMmError(() => t.prev(null as never), 'E_INVALID_ARGUMENT', 'VmaTree.prev vma');
    expect(t.has(null as never)).toBe(false);
    expectMmError(() => t.remove([] as never), 'E_INVALID_ARGUMENT', 'VmaTree.remove vma');
    expectMmError(
      () => t.setValue({ startVpn: 0, endVpn: 5, value: 0 }, 1),
      'E_INVALID_ARGUMENT',
      'VmaTree.setValue vma',
    );
    expectMmError(() => t.insertUnmerged(3, 2, 1), 'E_INVALID_ARGUMENT', 'VmaTree.insertUnmerged');
    expectMmError(() => t.forEach([] as never), 'E_INVALID_ARGUMENT', 'visit');
    expectMmError(() => t.update(0, 70, Symbol.iterator as never), 'E_INVALID_ARGUMENT', 'change');
    expectMmError(() => new VmaTree(null as never), 'E_INVALID_ARGUMENT', 'VmaTree options');
    expectMmError(() => new VmaTree({ split: 5 } as never), 'E_INVALID_ARGUMENT', 'options.split');
    expect(t.check()).toEqual([]);
  });

  it('PageAllocator refuses a non-function visitor and malformed constructor arguments', () => {
    const m = tinyMachine(16);
    const a = new PageAllocator(m.createMemory(), m.pool.ranges);
    expectMmError(() => a.forEachFrame([] as never), 'E_INVALID_ARGUMENT', 'visit');
    expectMmError(() => new PageAllocator(m.createMemory(), [null] as never), 'E_INVALID_ARGUMENT', 'range');
    expectMmError(() => new PageAllocator(null as never, m.pool.ranges), 'E_INVALID_ARGUMENT', 'memory');
    expectMmError(
      () => new PageAllocator(m.createMemory(), m.pool.ranges, { events: 5 } as never),
      'E_INVALID_ARGUMENT',
    );
  });
});
