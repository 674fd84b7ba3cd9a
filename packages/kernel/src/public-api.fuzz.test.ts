/**
 * A fuzz test of the public API (issue 7: "every public entry point validates its arguments and
 * throws a typed MmError that names the argument, the value and what was expected").
 *
 * Every public method of {@link Kernel} and every export of the package index is fed arguments
 * drawn from valid values and plain-JS garbage (null, NaN, ±Infinity, fractions, unsafe and huge
 * numbers and bigints, strings, symbols, objects, arrays, functions, a process of another kernel, an
 * exited process, objects whose `toString`/`valueOf` throw, objects with throwing getters). Each
 * call must return, or throw an error in the `MmError` family; a refused call (a throw, or a
 * syscall's errno result) changes nothing; `audit(kernel)` stays clean.
 *
 * Enumeration: the Kernel's methods come from `Object.getOwnPropertyNames` of `Kernel.prototype`
 * and the prototypes it extends (the facade's layers, `kernel-core.ts` and `kernel-memory-api.ts`), and
 * the package's exports from the module namespace; each must be either fuzzed here or listed as
 * internal with a reason, so a new public method or export fails this test until it is fuzzed.
 *
 * Throwing getters: an exception thrown by the caller's own getter (a property the API must read,
 * such as `opts.physical`) is the caller's, and propagates unchanged — the assertion is that it is
 * that very exception (not a TypeError made from it) and that the kernel is unchanged. A throwing
 * `toString`/`valueOf`/`Symbol.toPrimitive` must never escape: the API never coerces a value and
 * renders values in messages without calling them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createPcBoard } from '@mmkit/boards';
import { isMmError, PhysicalMemory } from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';
import { audit, bootKernel, Kernel, MAP, PROT, type Process } from './index.js';
import { fiveConfigs, tinyMachine } from './test-fixtures.js';

/**
 * Fixed seed and modest run counts, so the test takes a few seconds. For a deeper local search:
 * `MMKIT_FUZZ_SEED=7 MMKIT_FUZZ_SCALE=20 pnpm vitest run packages/kernel/src/public-api.fuzz.test.ts`.
 */
const SEED = Number(process.env.MMKIT_FUZZ_SEED ?? 0x6d6d6b17);
const SCALE = Number(process.env.MMKIT_FUZZ_SCALE ?? 1);
/** A file to write each call to before it is made (`MMKIT_FUZZ_TRACE=/tmp/trace`), to find a hang. */
const TRACE = process.env.MMKIT_FUZZ_TRACE;
/** Runs per Kernel method and configuration (each run is audited: ~4 ms). */
const RUNS = 20 * SCALE;
/** Runs per export that needs no audit (cheap). */
const EXPORT_RUNS = 100 * SCALE;
const MIB = 1024 * 1024;

// ---------------------------------------------------------------------------
// Garbage

/** What a throwing getter throws: the caller's own exception, allowed to propagate unchanged. */
class CallerGetterError extends Error {}
/** What a throwing toString/valueOf/toPrimitive throws: must never escape (no coercion, safe messages). */
class CoercionError extends Error {}

const GETTER_NAMES = [
  'length',
  'text',
  'data',
  'elf',
  'argv',
  'envp',
  'execfn',
  'physical',
  'memoryType',
  'user',
  'kernel',
  'read',
  'write',
  'execute',
  'global',
  'prot',
  'kind',
  'start',
  'end',
  'description',
  'machines',
  'loadBias',
  'userEnd',
  'auxv',
  'stackTop',
  'wordBytes',
  'random',
  'arch',
  'machine',
  'cpus',
  'events',
  'layout',
  'heapBase',
  'textBase',
  'va',
  'fileOffset',
  'fileBytes',
  'phdr',
  'entry',
  'nodeCapacity',
  'id',
  'name',
];

function throwingGetters(): object {
  const o: Record<string, unknown> = {};
  for (const n of GETTER_NAMES)
    Object.defineProperty(o, n, {
      enumerable: true,
      get() {
        throw new CallerGetterError(`getter ${n}`);
      },
    });
  return o;
}

function throwingCoercion(): object {
  const t = () => {
    throw new CoercionError('coerced');
  };
  return { toString: t, valueOf: t, [Symbol.toPrimitive]: t, toJSON: t };
}

interface World {
  readonly name: string;
  readonly kernel: Kernel;
  /** A live process with a few mapped, touched pages. */
  live: Process;
  /** Address of its mapping (4 pages, rw-). */
  va: bigint;
  readonly exited: Process;
  readonly foreign: Process;
  /** A Process made by hand, sharing the live process's pid and space. */
  readonly forged: Process;
  readonly elf: Uint8Array;
}

function garbage(w: World): unknown[] {
  return [
    null,
    undefined,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    0.5,
    1.5,
    -1,
    -0,
    2 ** 31,
    2 ** 32 + 0.5,
    2 ** 53,
    2 ** 64,
    Number.MAX_VALUE,
    2n ** 64n,
    2n ** 64n - 1n,
    2n ** 200n,
    -1n,
    -(2n ** 70n),
    '',
    '4096',
    '0x1000',
    'rw-',
    Symbol('garbage'),
    Symbol.iterator,
    true,
    {},
    [],
    [1, 2, 3],
    [Symbol('in an array')],
    () => 0,
    Object.create(null),
    new Uint8Array(3),
    new Map(),
    throwingCoercion(),
    throwingGetters(),
    w.exited,
    w.foreign,
    w.forged,
  ];
}

/** A valid value (weight 3) or garbage (weight 2). */
function arg(w: World, valid: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...valid), weight: 3 },
    { arbitrary: fc.constantFrom(...garbage(w)), weight: 2 },
  );
}

// ---------------------------------------------------------------------------
// Worlds: a kernel with a live process that has mappings, an exited one, and a process of another kernel

const RAM = 32 * MIB;
const CONFIGS = fiveConfigs(RAM);
const AARCH64 = CONFIGS.find((c) => c.name === 'aarch64 on virt')!;
const X86_32 = CONFIGS.find((c) => c.name === 'x86-32 on pc')!;
const FIXTURES = new URL('../fixtures/elf/', import.meta.url);
const HELLO_AARCH64 = new Uint8Array(readFileSync(new URL('hello-aarch64', FIXTURES)));

/** The foreign kernel: one per configuration, only its process is used. */
const foreignKernels = new Map<string, Kernel>();

function liveProcess(kernel: Kernel): { proc: Process; va: bigint } {
  const proc = kernel.createProcess();
  const r = kernel.mmap(proc, 0, 4 * 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS);
  if (!r.ok) throw new Error(`setup mmap failed: ${r.detail}`);
  for (let i = 0; i < 4; i++) kernel.store(proc, r.value + BigInt(i * 4096), 8, BigInt(i + 1));
  kernel.brk(proc, proc.layout.heapBase + 8192n);
  kernel.store(proc, proc.layout.heapBase, 4, 7);
  return { proc, va: r.value };
}

function makeWorld(config: (typeof CONFIGS)[number]): World {
  const kernel = bootKernel({ arch: config.arch(), machine: config.machine() });
  let other = foreignKernels.get(config.name);
  if (!other) {
    other = bootKernel({ arch: config.arch(), machine: config.machine() });
    foreignKernels.set(config.name, other);
  }
  const { proc, va } = liveProcess(kernel);
  const exited = liveProcess(kernel).proc;
  kernel.exit(exited);
  return {
    name: config.name,
    kernel,
    live: proc,
    va,
    exited,
    foreign: other.createProcess(),
    forged: new api.Process(proc.pid, proc.space, 0),
    elf: HELLO_AARCH64,
  };
}

/** After a run: a killed live process is replaced, so later runs still reach mapped memory. */
function refresh(w: World): void {
  if (!w.live.alive) {
    const { proc, va } = liveProcess(w.kernel);
    w.live = proc;
    w.va = va;
  }
}

/** What a refused call must leave unchanged. */
function fingerprint(k: Kernel): string {
  const parts: string[] = [`free ${k.allocator.freeCount}`, `procs ${k.allProcesses.length}`];
  for (const p of k.allProcesses) {
    parts.push(`${p.pid} ${p.state} rss ${p.residentPages} pt ${p.tablePages} brk ${p.brk}`);
    if (p.alive) parts.push(k.procMaps(p));
  }
  return parts.join('\n');
}

// ---------------------------------------------------------------------------
// The property

function describeArgs(args: readonly unknown[]): string {
  return args.map((a) => api.showValue(a)).join(', ');
}

/**
 * Calls that Linux applies VMA by VMA and that fail with ENOMEM at the first hole, keeping what they
 * did before it (`apply_vma_lock_flags` runs `mlock_fixup` for each VMA in turn): for them an ENOMEM
 * may change the kernel, and only the audit judges the result.
 */
const PARTIAL_ON_ENOMEM = new Set(['mlock', 'mlock2', 'munlock']);

/**
 * Runs `call(args)`; returns a description of what went wrong, or undefined. `partial`: the call
 * is one of {@link PARTIAL_ON_ENOMEM}.
 */
function judge(
  w: World | undefined,
  call: () => unknown,
  args: readonly unknown[],
  partial = false,
): string | undefined {
  const before = w ? fingerprint(w.kernel) : '';
  let result: unknown;
  let thrown: unknown;
  let threw = false;
  try {
    result = call();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  if (threw) {
    const callerOwn = thrown instanceof CallerGetterError;
    if (!isMmError(thrown) && !callerOwn) {
      const err = thrown as Error;
      const at = err?.stack?.split('\n').find((l) => /\/(kernel|core)\/src\/(?!public-api)/.test(l));
      return `threw ${err?.name}: ${err?.message} for (${describeArgs(args)}) ${at?.trim() ?? ''}`;
    }
    if (w && fingerprint(w.kernel) !== before)
      return `threw ${String((thrown as Error).message)} but changed the kernel`;
  } else if (
    w &&
    result !== null &&
    typeof result === 'object' &&
    (result as { ok?: unknown }).ok === false &&
    'detail' in result &&
    !(partial && (result as { errno?: unknown }).errno === 'ENOMEM') &&
    fingerprint(w.kernel) !== before
  ) {
    return `returned an errno (${String((result as { detail: unknown }).detail)}) but changed the kernel`;
  }
  if (w) {
    const report = audit(w.kernel);
    if (!report.ok)
      return `audit failed after (${describeArgs(args)}): ${report.problems.slice(0, 3).join('; ')}`;
  }
  return undefined;
}

function fuzz(
  w: World | undefined,
  argsOf: fc.Arbitrary<unknown[]>,
  call: (args: unknown[]) => unknown,
  runs = RUNS,
  partial = false,
): void {
  fc.assert(
    fc.property(argsOf, (args) => {
      // A hang is a synchronous loop no test timeout can interrupt: the trace names the last call.
      if (TRACE) writeFileSync(TRACE, `${expect.getState().currentTestName} (${describeArgs(args)})`);
      const problem = judge(w, () => call(args), args, partial);
      if (w) refresh(w);
      if (problem !== undefined) throw new Error(problem);
    }),
    {
      seed: SEED,
      numRuns: runs,
      endOnFailure: true,
      // The default report prints the counterexample, which holds whole kernels; the problem
      // text names the arguments compactly.
      reporter: (out) => {
        if (out.failed) throw new Error(`after ${out.numRuns} runs: ${(out.errorInstance as Error).message}`);
      },
    },
  );
}

// ---------------------------------------------------------------------------
// Kernel methods

/**
 * Kernel prototype members that are not public API, with the reason. Every other member is
 * fuzzed; a new member in neither list fails the enumeration test.
 */
const KERNEL_NOT_FUZZED: Record<string, string> = {
  constructor: 'fuzzed as bootKernel',
  installRecursive: '@internal',
  live: '@internal',
  newSpaceFor: '@internal',
  settled: 'private',
  kill: '@internal',
  teardown: '@internal',
  forget: '@internal',
  nextObjectId: '@internal',
  leafAttributes: '@internal',
  userVpnRange: '@internal',
  kernelRootBaseVpn: '@internal',
  onFault:
    'the FaultHandler callback: the CPUs call it with their own walk result; reached here through load/store/fetch/handleSyndrome',
};

type ArgSpec = (w: World) => fc.Arbitrary<unknown>[];

function addresses(w: World): unknown[] {
  const page = 4096;
  const va = w.va;
  const heap = w.live.layout.heapBase;
  return [
    va,
    Number(va),
    va + 1n,
    Number(va) + page - 1,
    va + 4n * 4096n - 4n,
    va + 4n * 4096n,
    heap,
    Number(heap) + 4,
    w.live.layout.stackTop - 8n,
    w.live.layout.stackTop,
    0,
    0n,
    page,
    0xffff_ffff,
    2n ** 47n - 4096n,
    2n ** 48n,
    2n ** 64n - 4096n,
    w.kernel.linearMapBase,
    Number.MAX_SAFE_INTEGER,
  ];
}

const LENGTHS = [
  0,
  1,
  8,
  4095,
  4096,
  8192,
  16384,
  65536,
  1 << 20,
  0x1000n,
  0n,
  2 ** 31,
  2 ** 40,
  2n ** 40n,
  2n ** 63n,
];
const SIZES = [1, 2, 4, 8, 3];
const CPUS = [0, 0, 1];
const PROTS = [0, 1, 2, 3, 4, 5, 7, 8, 0x10];
const MAP_FLAGS = [
  MAP.PRIVATE | MAP.ANONYMOUS,
  MAP.SHARED | MAP.ANONYMOUS,
  MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED,
  MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED_NOREPLACE,
  MAP.PRIVATE | MAP.ANONYMOUS | MAP.POPULATE,
  MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB,
  MAP.PRIVATE,
  MAP.SHARED | MAP.PRIVATE,
  0x4000_0000,
];

function procs(w: World): fc.Arbitrary<unknown> {
  // A getter, so the current live process is drawn (it is replaced when killed).
  return fc.oneof(
    { arbitrary: fc.constant(null).map(() => w.live), weight: 4 },
    { arbitrary: fc.constantFrom(...garbage(w)), weight: 1 },
  );
}

const addr = (w: World) => fc.oneof(arg(w, addresses(w)), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
const len = (w: World) => arg(w, LENGTHS);
const attrs = (w: World) =>
  arg(w, [
    w.kernel.userAttributes({ read: true, write: true, execute: false }),
    w.kernel.userAttributes({ read: true, write: false, execute: true }),
    { user: {}, kernel: {} },
  ]);
/** Frames: mapped user frames of the live process, other frames, and values that are no frame. */
const frames = (w: World) =>
  fc.oneof(
    fc.constant(null).map(() => {
      const ref = w.kernel.lookup(w.live, w.va);
      return ref?.entry.kind === 'leaf' ? ref.entry.pa : 0;
    }),
    arg(w, [0, 4096, w.kernel.zeroPage, w.kernel.kernelRoot, 2 ** 52, -4096, 1.5, 2 ** 53]),
  );
const bytes = (w: World) => arg(w, [new Uint8Array(16), new Uint8Array(5000).fill(0xaa), new Uint8Array(0)]);

const KERNEL_METHODS: Record<string, ArgSpec> = {
  paToKva: (w) => [arg(w, [0, 4096, 0x4000_0000, 2 ** 52])],
  kvaToPa: (w) => [arg(w, [w.kernel.linearMapBase, w.kernel.linearMapBase + 4096n, 0n, 2n ** 64n - 1n])],
  allProcesses: () => [],
  liveProcesses: () => [],
  process: (w) => [arg(w, [w.live.pid, w.exited.pid, 0, 999])],
  createProcess: (w) => [arg(w, [undefined, 0, 1, w.live.pid])],
  exit: (w) => [
    fc.oneof(
      fc.constantFrom(...garbage(w)),
      fc.constant(null).map(() => w.kernel.createProcess()),
    ),
  ],
  sharedObjects: () => [],
  attrsFor: (w) => [
    arg(w, [api.anonVma(3, 'x'), api.stackVma(), { prot: 9, memoryType: 'bogus' }]),
    arg(w, [undefined, 1, 2, 3, 4, 5]),
  ],
  templateFor: (w) => [arg(w, [w.kernel.anonAttrs, w.kernel.attrsFor(api.stackVma()), {}])],
  pageTemplates: (w) => [arg(w, [api.anonVma(3, 'x'), api.stackVma(), { prot: 9, memoryType: 'bogus' }])],
  readOnlyAttrsFor: (w) => [
    arg(w, [api.anonVma(3, 'x'), api.stackVma(), { prot: 9, memoryType: 'bogus' }]),
    arg(w, [undefined, 1, 2, 3, 4, 5]),
  ],
  specialAttrs: (w) => [
    arg(w, [w.kernel.anonAttrs, w.kernel.attrsFor(api.stackVma()), {}, null]),
    arg(w, [undefined, 1, 2, 9]),
  ],
  dirtyAttrsFor: (w) => [
    arg(w, [api.anonVma(3, 'x'), api.anonVma(1, 'r'), api.stackVma(), { prot: 9, memoryType: 'bogus' }]),
    arg(w, [undefined, 1, 2, 3, 4, 5]),
  ],
  userAttributes: (w) => [
    arg(w, [
      { read: true, write: true, execute: false },
      { read: false, write: true, execute: true },
      { read: 1, write: 'x', execute: null },
    ]),
  ],
  discharge: (w) => [arg(w, [{}, { pages: [] }]), arg(w, [undefined, 0, 1])],
  mapPage: (w) => [procs(w), addr(w), arg(w, [0x4100_0000, 0x0090_0000, 0, 4096, 0x1_0000_0000]), attrs(w)],
  allocateUserPage: (w) => [procs(w), addr(w), attrs(w)],
  lookup: (w) => [procs(w), addr(w)],
  unmapUserRange: (w) => [procs(w), addr(w), addr(w)],
  spawn: (w) => [
    arg(w, [
      { text: new Uint8Array(100) },
      { text: new Uint8Array(5000), data: new Uint8Array(10) },
      { text: new Uint8Array(1), data: 'x' },
    ]),
  ],
  spawnElf: (w) => [
    arg(w, [w.elf, new Uint8Array(64), w.elf.subarray(0, 100)]),
    arg(w, [undefined, {}, { argv: ['a', 'b'], envp: ['X=1'] }, { argv: [Symbol('s')] }, { argv: 'abc' }]),
  ],
  fork: (w) => [procs(w)],
  exec: (w) => [
    procs(w),
    arg(w, [
      { text: new Uint8Array(100) },
      { elf: w.elf, argv: ['x'] },
      { elf: null },
      { elf: w.elf, argv: [1] },
      { elf: w.elf, execfn: 5 },
    ]),
  ],
  brk: (w) => [
    procs(w),
    fc.oneof(
      addr(w),
      fc.constant(null).map(() => w.live.brk + 4096n),
    ),
  ],
  mmap: (w) => [
    procs(w),
    addr(w),
    len(w),
    arg(w, PROTS),
    arg(w, MAP_FLAGS),
    arg(w, [
      undefined,
      {},
      { physical: 0x0900_0000 },
      { physical: 1.5 },
      { name: 5 },
      { memoryType: 'nope' },
    ]),
  ],
  munmap: (w) => [procs(w), addr(w), len(w)],
  mprotect: (w) => [procs(w), addr(w), len(w), arg(w, PROTS)],
  mremap: (w) => [procs(w), addr(w), len(w), len(w), arg(w, [undefined, 0, 1, 2, 3])],
  madvise: (w) => [procs(w), addr(w), len(w), arg(w, [undefined, 0, 1, 3, 4, 8, 9, 20, 21, 24, -1, 1.5])],
  mincore: (w) => [procs(w), addr(w), len(w)],
  mlock: (w) => [procs(w), addr(w), len(w)],
  mlock2: (w) => [procs(w), addr(w), len(w), arg(w, [undefined, 0, 1, 2, Number.NaN])],
  munlock: (w) => [procs(w), addr(w), len(w)],
  mlockall: (w) => [procs(w), arg(w, [undefined, 0, 1, 2, 3, 4, 5, 7, 8])],
  munlockall: (w) => [procs(w)],
  discardLazyFree: (w) => [arg(w, [0x4000_0000, 0x4100_0000, 0, 4097, 2 ** 52, w.kernel.zeroPage])],
  isColdFrame: (w) => [arg(w, [0x4000_0000, 0x4100_0000, 0, 4097, 2 ** 52, w.kernel.zeroPage])],
  isFrameLocked: (w) => [arg(w, [0x4000_0000, 0x4100_0000, 0, 4097, 2 ** 52, w.kernel.zeroPage])],
  procMaps: (w) => [procs(w)],
  procSmaps: (w) => [procs(w)],
  vmas: (w) => [procs(w)],
  memoryStats: (w) => [procs(w)],
  frameReferenced: (w) => [frames(w)],
  clearFrameReferenced: (w) => [frames(w)],
  pageReferenced: (w) => [procs(w), addr(w)],
  clearPageReferenced: (w) => [procs(w), addr(w)],
  workingSet: (w) => [procs(w)],
  faultStats: (w) => [procs(w)],
  handleSyndrome: (w) => [
    procs(w),
    addr(w),
    fc.oneof(
      arg(w, [0x9200_0047n, 0x9600_0007n, 0x8200_0006n, 0x6n, 0x7n, 0x14n, 0n]),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    ),
    arg(w, [undefined, ...CPUS]),
  ],
  load: (w) => [procs(w), addr(w), arg(w, [undefined, ...SIZES]), arg(w, [undefined, ...CPUS])],
  store: (w) => [
    procs(w),
    addr(w),
    arg(w, SIZES),
    arg(w, [0, 255, 0x1234, -1, 1n, 2n ** 63n, -(2n ** 63n), 2 ** 32]),
    arg(w, [undefined, ...CPUS]),
  ],
  fetch: (w) => [procs(w), addr(w), arg(w, [undefined, ...SIZES]), arg(w, [undefined, ...CPUS])],
  readUser: (w) => [procs(w), addr(w), len(w), arg(w, [undefined, ...CPUS])],
  writeUser: (w) => [procs(w), addr(w), bytes(w), arg(w, [undefined, ...CPUS])],
  prefaultUserRange: (w) => [
    procs(w),
    addr(w),
    len(w),
    arg(w, [undefined, true, false]),
    arg(w, [undefined, ...CPUS]),
  ],
  copyFromUser: (w) => [procs(w), addr(w), len(w), arg(w, [undefined, ...CPUS])],
  copyToUser: (w) => [procs(w), addr(w), bytes(w), arg(w, [undefined, ...CPUS])],
  setOomScoreAdj: (w) => [procs(w), arg(w, [0, -1000, 1000, 1001, -1001, 0.5, Number.NaN, '5', 2n])],
  oomBadness: (w) => [procs(w)],
  oomScore: (w) => [procs(w)],
  swapon: (w) => [
    arg(w, [
      { pages: 16 },
      { pages: 16, priority: 5, name: 'fast' },
      { pages: 1 },
      { pages: 1.5 },
      { pages: 16, priority: -1 },
      { pages: 16, priority: 0x8000 },
      { pages: 16, name: '' },
    ]),
  ],
  swapoff: (w) => [arg(w, [0, 1, 22, 31, 32, -1, 0.5])],
  swapDevices: () => [],
  swapSlots: (w) => [arg(w, [0, 1, 22, 31, 32, -1, 0.5])],
  reclaim: (w) => [arg(w, [0, 1, 4, 100, -1, 1.5])],
  watermarks: () => [],
  reclaimPolicy: () => [],
  vmstat: () => [],
  reclaimPolicyState: () => [],
  runKswapd: () => [],
};

/** The Kernel class and the layers it extends (`kernel-memory-api.ts`, `kernel-core.ts`), nearest first. */
function kernelPrototypes(): object[] {
  const protos: object[] = [];
  for (
    let p: object | null = Kernel.prototype;
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  )
    protos.push(p);
  return protos;
}

/** Every member of the Kernel's prototypes (the facade's methods and accessors, wherever defined). */
function kernelMembers(): string[] {
  return [...new Set(kernelPrototypes().flatMap((p) => Object.getOwnPropertyNames(p)))];
}

function isGetter(name: string): boolean {
  const owner = kernelPrototypes().find((p) => Object.hasOwn(p, name));
  return typeof (owner && Object.getOwnPropertyDescriptor(owner, name))?.get === 'function';
}

describe('public API fuzz: enumeration', () => {
  it('every Kernel prototype member is fuzzed or listed as not public', () => {
    const members = kernelMembers();
    const unlisted = members.filter((m) => !(m in KERNEL_METHODS) && !(m in KERNEL_NOT_FUZZED));
    expect(unlisted, 'new public Kernel methods must be added to KERNEL_METHODS').toEqual([]);
    const stale = [...Object.keys(KERNEL_METHODS), ...Object.keys(KERNEL_NOT_FUZZED)].filter(
      (m) => !members.includes(m),
    );
    expect(stale, 'entries naming members that no longer exist').toEqual([]);
  });
});

for (const config of [AARCH64, X86_32]) {
  describe(`public API fuzz: Kernel methods (${config.name})`, () => {
    for (const [name, spec] of Object.entries(KERNEL_METHODS)) {
      it(name, () => {
        const w = makeWorld(config);
        const k = w.kernel as unknown as Record<string, (...a: unknown[]) => unknown>;
        const call = isGetter(name)
          ? () => k[name]
          : (args: unknown[]) => (k[name] as (...a: unknown[]) => unknown).apply(w.kernel, args);
        fuzz(w, fc.tuple(...spec(w)), call, RUNS, PARTIAL_ON_ENOMEM.has(name));
      });
    }
  });
}

// ---------------------------------------------------------------------------
// Exports of the package index: functions, and the public methods of exported classes

/** A world per configuration for the exports that read a kernel (they do not change it). */
const sharedWorlds = new Map<string, World>();
function sharedWorld(config: (typeof CONFIGS)[number]): World {
  let w = sharedWorlds.get(config.name);
  if (!w) {
    w = makeWorld(config);
    sharedWorlds.set(config.name, w);
  }
  return w;
}

const NOT_FUZZED_EXPORTS: Record<string, string> = {
  Kernel: 'its methods are fuzzed above; its constructor as bootKernel',
  AddressSpace:
    "exported for its type (Process.space): built only by the kernel, its methods are the kernel's mechanics, reached through Kernel's methods",
  Cpu: 'exported for its type (Kernel.cpus): built only by the kernel; reached through load/store/fetch',
  Process: 'built only by the kernel; a hand-made Process is among the garbage every Kernel method is fed',
};

/** Exports that are handed the world's kernel (and could change it). */
const KERNEL_READERS = [
  'audit',
  'assertAudit',
  'exportTranslationState',
  'dumpPageTable',
  'procMaps',
  'procSmaps',
];

/** Functions of the index with their argument specs. */
const FUNCTIONS: Record<string, ArgSpec> = {
  anonVma: (w) => [arg(w, PROTS), arg(w, ['', 'name']), arg(w, [undefined, {}, { shared: true }])],
  stackVma: () => [],
  resolveWorkingSetOptions: (w) => [
    arg(w, [
      undefined,
      true,
      false,
      {},
      { tau: 4, exact: true },
      { tau: 0 },
      { pffLower: 9, pffUpper: 1 },
      { x: 1 },
    ]),
  ],
  mapsPerms: (w) => [arg(w, [api.anonVma(3, ''), api.stackVma()])],
  defaultWatermarks: (w) => [
    arg(w, [0, 64, 8192, 2 ** 31, -1, 1.5, 2 ** 60]),
    arg(w, [undefined, 4096, 65536, 1000, 512]),
  ],
  checkWatermarks: (w) => [
    arg(w, [
      { min: 1, low: 2, high: 3 },
      { min: 3, low: 2, high: 1 },
      { min: 0, low: 0, high: 1e9 },
      { min: -1, low: 0, high: 0 },
      { min: 1 },
      [],
    ]),
    arg(w, [0, 100, 8192]),
  ],
  protString: (w) => [arg(w, PROTS)],
  showValue: (w) => [arg(w, [1, 'x', 2n])],
  fail: (w) => [arg(w, ['EINVAL', 'ENOMEM']), arg(w, ['detail'])],
  madviseName: (w) => [arg(w, [0, 4, 21, 5, -1, 'x'])],
  ok: (w) => [arg(w, [0, 1n])],
  perms: (w) => [arg(w, ['rw-', 'r-x', '---', 'rwx', 'xyz', 'rw'])],
  describeAttrs: (w) => [attrs(w)],
  deviceMemoryType: (w) => [arg(w, [w.kernel.arch])],
  simpleLayoutFor: (w) => [arg(w, [w.kernel.arch.description, { userRange: { start: 0n, end: 1n } }])],
  regionOf: (w) => [arg(w, [w.kernel.layout, api.SIMPLE_LAYOUT_32]), addr(w), addr(w)],
  leafTemplate: (w) => [arg(w, [w.kernel.arch]), attrs(w)],
  audit: (w) => [
    arg(w, [w.kernel]),
    arg(w, [undefined, {}, { onProgress: () => {} }, { onProgress: 3 }, null, 'x']),
  ],
  assertAudit: (w) => [arg(w, [w.kernel])],
  exportTranslationState: (w) => [arg(w, [w.kernel]), procs(w)],
  dumpPageTable: (w) => [arg(w, [w.kernel]), procs(w)],
  formatDump: (w) => [arg(w, [api.dumpPageTable(w.kernel, w.live), [], [{}]])],
  procMaps: (w) => [arg(w, [w.kernel]), procs(w)],
  procSmaps: (w) => [arg(w, [w.kernel]), procs(w)],
  parseElf64: (w) => [
    arg(w, [w.elf, w.elf.subarray(0, 64), new Uint8Array(64)]),
    arg(w, [undefined, {}, { machines: [183] }, { machines: 'x' }, { machines: [Symbol('m')] }]),
  ],
  planElfLoad: (w) => {
    const image = api.parseElf64(w.elf);
    return [
      arg(w, [image, { ...image, loads: null }]),
      arg(w, [w.elf, new Uint8Array(10)]),
      arg(w, [4096, 65536, 3]),
      arg(w, [undefined, {}, { loadBias: 0x1000n }, { userEnd: 2n ** 47n }, { loadBias: 1.5 }]),
    ];
  },
  elfPageBytes: (w) => {
    const plan = api.planElfLoad(api.parseElf64(w.elf), w.elf, 4096);
    return [
      arg(w, [w.elf]),
      arg(w, [...plan.segments[0]!.filePages.slice(0, 2), { va: 0n, fileOffset: -1, fileBytes: 2 ** 40 }]),
      arg(w, [undefined, 4096, 16384]),
    ];
  },
  buildInitialStack: (w) => [
    arg(w, [
      { argv: ['a'], envp: [], auxv: [], stackTop: 0x7fff_0000n },
      { argv: ['a'], envp: ['X=1'], auxv: [{ type: 6, value: 4096n }], stackTop: 0x7fff_0000n, wordBytes: 4 },
      { argv: [Symbol('a')], envp: [], auxv: [], stackTop: 0x7fff_0000n },
      { argv: [], envp: [], auxv: [], stackTop: 2n ** 70n },
      { argv: [], envp: [], auxv: [{}], stackTop: 0x7fff_0000n, stackLimitBytes: 2 ** 53 },
      { argv: ['a'], envp: [], auxv: [], stackTop: 0x7fff_0000n, randomSeed: 2 ** 60 },
    ]),
  ],
  readInitialStack: (w) => {
    const s = api.buildInitialStack({ argv: ['a'], envp: [], auxv: [], stackTop: 0x7fff_0000n });
    return [arg(w, [s.bytes, new Uint8Array(8)]), arg(w, [s.sp, 0n, 2n ** 64n]), arg(w, [undefined, 4, 8])];
  },
  linuxAuxv: (w) => [
    arg(w, [
      { phdr: 0x40_0040n, phnum: 2, entry: 0x40_00b0n },
      { phdr: 0x40_0040n, phnum: 2, entry: 0x40_00b0n, pageSize: 16384, uid: 1000, hwcap2: 3n },
      { phdr: 1, phnum: 'x', entry: null },
    ]),
  ],
  bootKernel: (w) => [
    arg(w, [
      { arch: createAarch64Arch(), machine: tinyMachine(64) },
      { arch: createAarch64Arch(), machine: tinyMachine(64), cpus: 2, tlbEntries: 64 },
      { arch: createAarch64Arch(), machine: tinyMachine(64), tlbEntries: 2 ** 40 },
      { arch: createAarch64Arch(), machine: tinyMachine(64), tlbEntries: 3 },
      { arch: createAarch64Arch(), machine: tinyMachine(64), cpus: 2 ** 40 },
      { arch: createAarch64Arch(), machine: tinyMachine(64), identityMapBytes: 2 ** 52 },
      { arch: createAarch64Arch(), machine: tinyMachine(64), identityMapBytes: 0.5 },
      { arch: createAarch64Arch(), machine: tinyMachine(64), flushThreshold: Number.NaN },
      { arch: createAarch64Arch(), machine: tinyMachine(64), layout: {} },
      { arch: createAarch64Arch(), machine: tinyMachine(64), events: {} },
      { arch: createAarch64Arch(), machine: tinyMachine(64), linearMapBase: 2n ** 64n - 1n },
      { arch: createAarch64Arch(), machine: tinyMachine(64), recursiveSlot: 2 ** 53 },
      { arch: createAarch64Arch(), machine: tinyMachine(64), mmapMinAddr: -4096 },
      { arch: createAarch64Arch(), machine: tinyMachine(64), onProgress: () => {} },
      { arch: createAarch64Arch(), machine: tinyMachine(64), onProgress: 'bar' },
      { arch: createAarch64Arch(), machine: tinyMachine(64), onProgress: null },
      { arch: createAarch64Arch(), machine: createPcBoard({ ramBytes: 32 * MIB }) },
      { arch: {}, machine: tinyMachine(64) },
      { arch: createAarch64Arch(), machine: { createMemory: () => null } },
    ]),
  ],
};

/** Constructors of exported error classes and plain data classes: any arguments, never a non-MmError. */
const CONSTRUCTORS: Record<string, ArgSpec> = {
  ArgumentListTooLongError: (w) => [arg(w, ['argv']), arg(w, [10]), arg(w, [5])],
  ElfFormatError: (w) => [arg(w, ['e_type']), arg(w, [2, 'x', 3n]), arg(w, ['reason'])],
  ElfUnsupportedMachineError: (w) => [arg(w, [3, 62])],
  ElfDynamicExecutableError: (w) => [arg(w, [1]), arg(w, ['/lib/ld.so'])],
  NoProcessError: (w) => [arg(w, [1]), arg(w, ['exited'])],
  VmaOverlapError: (w) => [arg(w, [1]), arg(w, [2]), arg(w, [1]), arg(w, [3])],
  SharedObject: (w) => [arg(w, [1]), arg(w, [4])],
  AttributeChooser: (w) => [arg(w, [w.kernel.arch])],
  VmaTree: (w) => [arg(w, [undefined, {}, { nodeCapacity: 4 }, { nodeCapacity: 2 ** 40 }, { split: 5 }])],
  PageAllocator: (w) => {
    const m = tinyMachine(64);
    return [
      arg(w, [m.createMemory(), new PhysicalMemory({ ram: [{ name: 'low', start: 0, end: 0x10_0000 }] })]),
      arg(w, [
        m.pool.ranges,
        [{ start: 0x4000_0000, end: 0x4000_0000 + 64 * 4096 }],
        [{ start: 0, end: 2 ** 44 }],
        [{ start: 1, end: 2 }],
        [{ start: 2 ** 53, end: 2 ** 64 }],
        [null],
        [{}],
      ]),
      arg(w, [undefined, {}, { events: 5 }]),
    ];
  },
};

/** Members of exported classes' prototypes that are not public (TypeScript `private`). */
const CLASS_NOT_FUZZED: Record<string, readonly string[]> = {
  AttributeChooser: ['constructor'],
  // The frame table, block index and reservations are internal objects of their own (frame-*.ts).
  PageAllocator: [
    'constructor',
    'release',
    'releaseIndex',
    // @internal fast path of ref for fork's table copy (checks only that the frame is USER).
    'refIfUser',
    // @internal unchecked index-based fast paths (fork's batched copy, the COW fault), whose
    // callers hold valid frame-table indices.
    'refIfUserBatch',
    'userRefsAt',
    'unrefAt',
  ],
  // addAt, addBatch, removeAt, relinkAt: @internal unchecked fast paths of add/remove (the fault
  // and fork paths hold valid indices); unlink, detach: their private chain surgery; idOf, knownId,
  // dropEntries: the private owner-id registry.
  ReverseMap: [
    'constructor',
    'find',
    'frame',
    'grow',
    'addAt',
    'addBatch',
    'removeAt',
    'relinkAt',
    'unlink',
    'detach',
    'idOf',
    'knownId',
    'dropEntries',
  ],
  VmaTree: ['constructor', 'mergeAcross', 'place'],
};

interface ClassSpec {
  make: (w: World) => object;
  methods: Record<string, ArgSpec>;
}

const PAGE = 0x4000_0000;
const pas = (w: World) => arg(w, [PAGE, PAGE + 4096, PAGE + 63 * 4096, PAGE + 64 * 4096, 0, 4097]);
const vpns = (w: World) => fc.oneof(arg(w, [0, 1, 10, 20, 100, 2 ** 52, 2 ** 52 - 1]), fc.nat(200));
const purposes = (w: World) => arg(w, ['user', 'page-table', 'kernel', 'free']);

const CLASSES: Record<string, ClassSpec> = {
  AttributeChooser: {
    make: (w) => new api.AttributeChooser(w.kernel.arch),
    methods: {
      leaf: (w) => [
        arg(w, [
          { user: { read: true, write: true, execute: false }, memoryType: 'normal-wb', global: false },
          { user: { read: true, write: false, execute: true }, memoryType: 'device', global: true },
          { user: {}, memoryType: 'bogus' },
        ]),
        arg(w, [undefined, 1, 2, 3, 4, 0]),
      ],
    },
  },
  PageAllocator: {
    make: () => {
      const m = tinyMachine(64);
      const a = new api.PageAllocator(m.createMemory(), m.pool.ranges);
      a.alloc('user', 1);
      a.alloc('kernel');
      return a;
    },
    methods: {
      alloc: (w) => [purposes(w), arg(w, [undefined, -1, 1, 2 ** 31])],
      allocContiguous: (w) => [
        arg(w, [1, 2, 16, 2 ** 40]),
        arg(w, [1, 2, 16, 3]),
        purposes(w),
        arg(w, [undefined, 1]),
      ],
      free: (w) => [pas(w)],
      freeContiguous: (w) => [pas(w), arg(w, [1, 2, 2 ** 40])],
      ref: (w) => [pas(w)],
      unref: (w) => [pas(w)],
      largestFreeRun: () => [],
      owns: (w) => [pas(w)],
      stateOf: (w) => [pas(w)],
      refCount: (w) => [pas(w)],
      frameIndex: (w) => [pas(w)],
      frameIndexCount: () => [],
      ownerOf: (w) => [pas(w)],
      setOwner: (w) => [pas(w), arg(w, [-1, 1, 7])],
      reservationReason: (w) => [pas(w)],
      freeCount: () => [],
      availableCount: () => [],
      totalCount: () => [],
      usedCount: () => [],
      reservedCount: () => [],
      freeBlockCount: () => [],
      poolRanges: () => [],
      reservations: () => [],
      countByState: () => [],
      forEachFrame: (w) => [arg(w, [() => {}])],
      reserveBelow: (w) => [pas(w), arg(w, [undefined, 'why'])],
      reserveAbove: (w) => [pas(w), arg(w, [undefined, 'why'])],
      reserveRange: (w) => [pas(w), pas(w), arg(w, ['why'])],
    },
  },
  ReverseMap: {
    make: () => {
      const m = new api.ReverseMap<string>(
        64,
        (pa) => (pa >= PAGE && pa < PAGE + 64 * 4096 ? (pa - PAGE) / 4096 : -1),
        2,
      );
      m.add(PAGE, 'a', 1);
      m.add(PAGE, 'b', 1);
      m.add(PAGE + 4096, 'a', 2);
      return m;
    },
    methods: {
      size: () => [],
      add: (w) => [pas(w), arg(w, ['a', 'b', undefined]), vpns(w)],
      remove: (w) => [pas(w), arg(w, ['a', 'b', undefined]), vpns(w)],
      move: (w) => [pas(w), arg(w, ['a', 'b']), vpns(w), vpns(w)],
      has: (w) => [pas(w), arg(w, ['a', 'b']), vpns(w)],
      count: (w) => [pas(w)],
      entriesOf: (w) => [arg(w, ['a', 'b', 'c', undefined, null, 7])],
      forEach: (w) => [pas(w), arg(w, [() => {}])],
      mappings: (w) => [pas(w)],
    },
  },
  VmaTree: {
    make: () => {
      const t = new api.VmaTree<number>({ nodeCapacity: 4 });
      for (let i = 0; i < 12; i++) t.insert(i * 10, i * 10 + 5, i);
      return t;
    },
    methods: {
      size: () => [],
      mappedPages: () => [],
      height: () => [],
      find: (w) => [vpns(w)],
      findFirstAtOrAfter: (w) => [vpns(w)],
      findLastBefore: (w) => [vpns(w)],
      findIntersection: (w) => [vpns(w), vpns(w)],
      next: (w) => [arg(w, [{ startVpn: 0, endVpn: 5, value: 0 }])],
      prev: (w) => [arg(w, [{ startVpn: 0, endVpn: 5, value: 0 }])],
      first: () => [],
      last: () => [],
      has: (w) => [arg(w, [{ startVpn: 0, endVpn: 5, value: 0 }])],
      forEach: (w) => [
        arg(w, [() => {}]),
        fc.oneof(fc.constant(undefined), vpns(w)),
        fc.oneof(fc.constant(undefined), vpns(w)),
      ],
      range: (w) => [fc.oneof(fc.constant(undefined), vpns(w)), fc.oneof(fc.constant(undefined), vpns(w))],
      gaps: (w) => [fc.oneof(fc.constant(undefined), vpns(w)), fc.oneof(fc.constant(undefined), vpns(w))],
      findGap: (w) => [
        arg(w, [1, 3, 2 ** 40]),
        vpns(w),
        vpns(w),
        arg(w, [undefined, {}, { topDown: true }, { alignPages: 4 }]),
      ],
      insert: (w) => [vpns(w), vpns(w), arg(w, [1, 'x'])],
      insertUnmerged: (w) => [vpns(w), vpns(w), arg(w, [1, 'x'])],
      setValue: (w) => [arg(w, [{ startVpn: 0, endVpn: 5, value: 0 }, null]), arg(w, [1, 'x'])],
      remove: (w) => [arg(w, [{ startVpn: 0, endVpn: 5, value: 0 }])],
      removeRange: (w) => [vpns(w), vpns(w)],
      update: (w) => [vpns(w), vpns(w), arg(w, [(v: number) => v + 1])],
      clear: () => [],
      check: () => [],
    },
  },
};

function isAccessor(proto: object, name: string): boolean {
  return typeof Object.getOwnPropertyDescriptor(proto, name)?.get === 'function';
}

/** Consumes an iterator result (gaps()), so lazily validated arguments are reached. */
function drain(result: unknown): unknown {
  if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as Iterator<unknown>).next === 'function'
  ) {
    let n = 0;
    for (const _ of result as Iterable<unknown>) if (++n > 1000) break;
  }
  return result;
}

describe('public API fuzz: enumeration of the package index', () => {
  it('every exported function or class is fuzzed or listed with a reason', () => {
    const exported = Object.entries(api)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k);
    const covered = new Set([
      ...Object.keys(FUNCTIONS),
      ...Object.keys(CONSTRUCTORS),
      ...Object.keys(CLASSES),
      ...Object.keys(NOT_FUZZED_EXPORTS),
    ]);
    expect(
      exported.filter((k) => !covered.has(k)),
      'new exports must be added to FUNCTIONS / CONSTRUCTORS / CLASSES',
    ).toEqual([]);
    expect(
      [...covered].filter((k) => !exported.includes(k)),
      'entries naming exports that no longer exist',
    ).toEqual([]);
  });

  it.each(Object.keys(CLASSES))('every public method of %s is fuzzed', (name) => {
    const proto = (api as unknown as Record<string, { prototype: object }>)[name]!.prototype;
    const members = Object.getOwnPropertyNames(proto);
    const spec = CLASSES[name]!;
    const hidden = CLASS_NOT_FUZZED[name] ?? [];
    expect(members.filter((m) => !(m in spec.methods) && !hidden.includes(m))).toEqual([]);
    expect([...Object.keys(spec.methods), ...hidden].filter((m) => !members.includes(m))).toEqual([]);
  });
});

for (const config of [AARCH64, X86_32]) {
  describe(`public API fuzz: index exports (${config.name})`, () => {
    for (const [name, spec] of Object.entries(FUNCTIONS)) {
      it(name, () => {
        const w = sharedWorld(config);
        const fn = (api as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
        // Exports that take the kernel are audited after each run; the others touch no kernel.
        const readsKernel = KERNEL_READERS.includes(name);
        fuzz(
          readsKernel ? w : undefined,
          fc.tuple(...spec(w)),
          (args) => fn(...args),
          readsKernel || name === 'bootKernel' ? RUNS : EXPORT_RUNS,
        );
      });
    }
    for (const [name, spec] of Object.entries(CONSTRUCTORS)) {
      it(`new ${name}`, () => {
        const w = sharedWorld(config);
        const C = (api as unknown as Record<string, new (...a: unknown[]) => unknown>)[name]!;
        fuzz(undefined, fc.tuple(...spec(w)), (args) => new C(...args), EXPORT_RUNS);
      });
    }
    for (const [name, spec] of Object.entries(CLASSES)) {
      for (const [method, argSpec] of Object.entries(spec.methods)) {
        it(`${name}.${method}`, () => {
          const w = sharedWorld(config);
          const target = spec.make(w) as Record<string, unknown>;
          const proto = Object.getPrototypeOf(target) as object;
          const call = isAccessor(proto, method)
            ? () => target[method]
            : (args: unknown[]) =>
                drain((target[method] as (...a: unknown[]) => unknown).apply(target, args));
          fuzz(undefined, fc.tuple(...argSpec(w)), call, EXPORT_RUNS);
        });
      }
    }
  });
}
