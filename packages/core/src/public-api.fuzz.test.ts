/**
 * Fuzz test of the public API of @mmkit/core: every export of the package index is fed plain-JS
 * garbage (null, undefined, NaN, ±Infinity, 1.5, -1, 2^53, huge and negative bigints, strings,
 * symbols, objects, arrays, functions) mixed with valid values, and must either return normally
 * or throw an `MmError` (`isMmError(e)`), never a TypeError / RangeError / plain Error.
 *
 * The list of exports is read from the index at run time: a new export fails the first test
 * until it is given a fuzz entry here (or is listed as a constant or a type-only helper).
 *
 * Classes are fuzzed through their constructor and every public prototype method (on a valid
 * instance). The only calls left out are the unchecked hot paths listed in
 * {@link HOT_PATH_UNCHECKED}, each with the reason its arguments come from the library itself.
 * The page-table classes run over `fuzz39`, a small backend defined below (the core has no
 * backend of its own and depends on no other package).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as core from './index.js';

type AnyFn = (...args: unknown[]) => unknown;

// ---------------------------------------------------------------------------
// fuzz39: a minimal fictional backend (3 levels, 8-byte descriptors, 39-bit VA, 40-bit PA)

const P = 1;
const W = 2;
const U = 4;
const X = 8;
const A = 16;
const D = 32;
const G = 64;
const PS = 128;

const fuzzDescription: core.ArchDescription = {
  id: 'fuzz39',
  name: 'fuzz39 (fictional, for the public API fuzz)',
  pageShift: 12,
  descriptorBytes: 8,
  levels: [
    { level: 1, name: 'F1', shift: 12, indexBits: 9, leafAllowed: true },
    { level: 2, name: 'F2', shift: 21, indexBits: 9, leafAllowed: true },
    { level: 3, name: 'F3', shift: 30, indexBits: 9, leafAllowed: false },
  ],
  vaBits: 39,
  signExtended: false,
  paBits: 40,
  splitRoots: false,
  userRange: { start: 0n, end: 1n << 38n },
  kernelRange: { start: 1n << 38n, end: 1n << 39n },
  capabilities: {
    noExecute: true,
    separateExecuteNever: false,
    hardwareAccessFlag: true,
    hardwareDirty: true,
    asidBits: 0,
    globalPages: true,
    softwareBits: 2,
    softwarePayloadBits: 31,
    contiguousEntries: 0,
  },
  rootTableBytes: 4096,
  faultRegisters: ['FSR', 'FAR'],
  memoryTypes: core.MEMORY_TYPES,
  elf: undefined,
};

const refuse = (level: number, reason: string): never => {
  throw new core.UnrepresentableError('fuzz39', level, reason);
};

/** lo: flags in [11:0], PA[31:12] in [31:12]; hi: PA[39:32] in [7:0]. */
const fuzzCodec: core.DescriptorCodec = {
  decode(lo, hi, level) {
    lo >>>= 0;
    hi >>>= 0;
    if (lo === 0 && hi === 0) return { kind: 'absent' };
    if (!(lo & P)) return { kind: 'software', payload: lo >>> 1 };
    const pa = (lo & 0xffff_f000) + (hi & 0xff) * 2 ** 32;
    if (level > 1 && !(lo & PS)) {
      if (level === 1) return { kind: 'invalid', reason: 'table at level 1' };
      return { kind: 'table', pa, attrs: core.OPEN_TABLE };
    }
    if (level === 3) return { kind: 'invalid', reason: 'no leaves at level 3' };
    const u = (lo & U) !== 0;
    const w = (lo & W) !== 0;
    const x = (lo & X) !== 0;
    return {
      kind: 'leaf',
      pa: level === 2 ? pa - (pa % 2 ** 21) : pa,
      attrs: {
        user: { read: u, write: u && w, execute: u && x },
        kernel: { read: true, write: w, execute: x },
        global: (lo & G) !== 0,
        memoryType: core.MEMORY_TYPES[(lo >>> 8) & 3]!,
        accessed: (lo & A) !== 0,
        dirty: (lo & D) !== 0,
        software: (lo >>> 10) & 3,
      },
    };
  },
  encode(entry, level) {
    if (level !== 1 && level !== 2 && level !== 3) return refuse(level, 'no such level');
    const split = (pa: number, align: number) => {
      if (!Number.isSafeInteger(pa) || pa < 0 || pa >= 2 ** 40 || pa % align !== 0)
        refuse(level, `address ${pa}`);
      return { lo: pa % 2 ** 32, hi: Math.floor(pa / 2 ** 32) };
    };
    switch (entry.kind) {
      case 'absent':
        return { lo: 0, hi: 0 };
      case 'software':
        if (!Number.isInteger(entry.payload) || entry.payload < 1 || entry.payload >= 2 ** 31)
          return refuse(level, 'payload');
        return { lo: (entry.payload * 2) >>> 0, hi: 0 };
      case 'invalid':
        return refuse(level, 'invalid entry');
      case 'table': {
        if (level === 1) return refuse(level, 'no tables at level 1');
        const { lo, hi } = split(entry.pa, 4096);
        return { lo: (lo | P | W | U | X) >>> 0, hi };
      }
      case 'leaf': {
        if (level === 3) return refuse(level, 'no leaves at level 3');
        const a = entry.attrs;
        if (!a.kernel.read || a.contiguous) refuse(level, 'kernel always reads; no contiguous hint');
        if (!a.user.read && (a.user.write || a.user.execute)) refuse(level, 'user access needs U');
        if (a.user.read && (a.user.write !== a.kernel.write || a.user.execute !== a.kernel.execute))
          refuse(level, 'user and kernel share W and X');
        if (a.software < 0 || a.software > 3) refuse(level, 'software bits');
        const { lo, hi } = split(entry.pa, level === 2 ? 2 ** 21 : 4096);
        const flags =
          P |
          (a.kernel.write ? W : 0) |
          (a.user.read ? U : 0) |
          (a.kernel.execute ? X : 0) |
          (a.accessed ? A : 0) |
          (a.dirty ? D : 0) |
          (a.global ? G : 0) |
          (level === 2 ? PS : 0) |
          (core.MEMORY_TYPES.indexOf(a.memoryType) << 8) |
          (a.software << 10);
        return { lo: (lo | flags) >>> 0, hi };
      }
    }
  },
  describe: () => [],
  nextTable(lo, hi, level) {
    if (lo === 0 && hi === 0) return -1;
    if (!(lo & P)) return -1;
    if (level > 1 && !(lo & PS)) return (lo & 0xffff_f000) + (hi & 0xff) * 2 ** 32;
    return -2;
  },
};

const fuzzBackend: core.ArchBackend = {
  contractVersion: core.CONTRACT_VERSION,
  description: fuzzDescription,
  geometry: core.deriveGeometry(fuzzDescription),
  codec: fuzzCodec,
  syndromes: {
    syndromeRegister: 'FSR',
    addressRegister: 'FAR',
    precision: { kind: true, level: false, access: 'exact' },
    decode: () => ({ exception: 'fault', kind: 'translation', level: 0, access: 0, privilege: 0 }),
    describe: () => [],
    encode: () => 0n,
  },
  createMmu: () => {
    throw new core.InvalidArgumentError('fuzz39', 'createMmu', 'no MMU in the fuzz backend');
  },
  tlbOperations: () => [],
  defaults: { userTable: core.OPEN_TABLE, kernelTable: core.OPEN_TABLE },
};

const RAM_START = 0x4000_0000;
const RAM_END = 0x4010_0000;
/** The root table of the page-table fuzz (the first RAM frame; never handed out as a table). */
const ROOT = RAM_START;

/** A frame source over the RAM after the root; -1 when it is used up. */
function frameSource(memory: core.PhysicalMemory): core.FrameSource {
  const free: number[] = [];
  for (let pa = RAM_END - 4096; pa > ROOT; pa -= 4096) free.push(pa);
  return {
    allocTable: () => {
      const pa = free.pop();
      if (pa === undefined) return -1;
      memory.fill(pa, 4096, 0);
      return pa;
    },
    freeTable: (pa: number) => {
      free.push(pa);
    },
  };
}

const RW_ATTRS: core.LeafAttributes = Object.freeze({
  user: { read: true, write: true, execute: false },
  kernel: { read: true, write: true, execute: false },
  global: false,
  memoryType: 'normal-wb',
  accessed: true,
  dirty: true,
  software: 0,
});

/** An object every field of which is a getter that throws (a plain Error, not an MmError). */
const HOSTILE_GETTERS: object = Object.defineProperties(
  {},
  Object.fromEntries(
    [
      ...['start', 'end', 'name', 'ram', 'mmio', 'root', 'startVpn', 'endVpn', 'baseVpn', 'skipRootIndex'],
      ...['vpn', 'pa', 'level', 'attrs', 'source', 'flush', 'asid', 'global', 'threshold', 'ledger', 'kind'],
      ...['user', 'kernel', 'read', 'write', 'execute', 'description', 'levels', 'access', 'privilege'],
      ...['operation', 'memory', 'dpas', 'lo', 'hi', 'type', 'cpu', 'toJSON'],
    ].map((k) => [
      k,
      {
        enumerable: false,
        get() {
          throw new Error(`hostile getter ${k}`);
        },
      },
    ]),
  ),
);

/** Plain-JS values a caller without types could pass. */
const GARBAGE: readonly unknown[] = [
  null,
  undefined,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1.5,
  -1,
  -0,
  2 ** 53,
  2 ** 64,
  -(2 ** 31),
  2n ** 70n,
  -(2n ** 70n),
  -1n,
  2n ** 64n,
  '',
  'x',
  '4096',
  Symbol('garbage'),
  {},
  [],
  [1, 2],
  { start: 1n, end: 0n },
  { start: 0, end: 4096 },
  Object.create(null),
  {
    toString() {
      throw new Error('hostile toString');
    },
  },
  () => 1,
  true,
  false,
  new Uint8Array(4),
  HOSTILE_GETTERS,
];

/** Values that are valid somewhere, so that garbage in one argument meets valid others. */
const PLAUSIBLE: readonly unknown[] = [
  0,
  1,
  2,
  4,
  8,
  12,
  48,
  64,
  4096,
  0x4000_0000,
  0x4000_0ff8,
  0x4000_0ffe,
  0x4000_0000 / 4096,
  0x0900_0000,
  0x0a00_0000,
  0n,
  0x1000n,
  0x4000_0000n,
  0xffff_8000_0000_0000n,
  2n ** 64n - 1n,
  'read',
  'normal-wb',
  'address',
  { start: 0x1000n, end: 0x3000n },
  { type: 'tlb', cpu: 0, op: 'x' },
  () => undefined,
  fuzzBackend,
  fuzzDescription,
  RW_ATTRS,
  core.OPEN_TABLE,
  ROOT,
  { root: ROOT },
  { root: ROOT, startVpn: 0, endVpn: 1024 },
  { kind: 'leaf', pa: 0x4002_0000, attrs: RW_ATTRS },
  { kind: 'table', pa: 0x4003_0000, attrs: core.OPEN_TABLE },
  { kind: 'software', payload: 5 },
  { lo: 0x4000_0051, hi: 0, level: 1 },
  { kind: true, level: false, access: 'exact' },
  { kind: 'translation', level: 1, access: 0, privilege: 0 },
  { exception: 'x', kind: 'other', level: 0, access: 2, privilege: 1 },
  { asid: 0 },
  { asid: 1, global: false, threshold: 4 },
];

const arg = fc.oneof(
  { arbitrary: fc.constantFrom(...GARBAGE), weight: 4 },
  { arbitrary: fc.constantFrom(...PLAUSIBLE), weight: 4 },
  { arbitrary: fc.integer({ min: -5, max: 5000 }), weight: 1 },
  { arbitrary: fc.bigInt(), weight: 1 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
  { arbitrary: fc.anything({ maxDepth: 2, withBigInt: true, withNullPrototype: true }), weight: 1 },
);
/**
 * An options object of the page-table API (map, protect, split, collapse, ranges, newFlush …):
 * any subset of its fields, each valid or garbage. Valid values that need a live object (a frame
 * source, a flush obligation) are built per call by {@link withLive}.
 */
const optionKeys = {
  root: fc.constantFrom(ROOT, ROOT + 4096, 0, 1.5, -4096, 2 ** 60, null, '0', 0x4000_0000n),
  vpn: fc.oneof(fc.integer({ min: 0, max: 2 ** 27 }), fc.constantFrom(...GARBAGE)),
  startVpn: fc.oneof(fc.integer({ min: 0, max: 2 ** 27 }), fc.constantFrom(...GARBAGE)),
  endVpn: fc.oneof(
    fc.integer({ min: 0, max: 2 ** 27 }),
    fc.constantFrom(Number.POSITIVE_INFINITY, ...GARBAGE),
  ),
  baseVpn: fc.constantFrom(0, 2 ** 26, 2 ** 27, 1, ...GARBAGE),
  skipRootIndex: fc.constantFrom(-1, 0, 511, 512, ...GARBAGE),
  pa: fc.constantFrom(0x4002_0000, 0x4020_0000, 0x4000_1000, 4097, 2 ** 40, ...GARBAGE),
  level: fc.constantFrom(1, 2, 3, 0, 4, ...GARBAGE),
  attrs: fc.constantFrom(RW_ATTRS, { ...RW_ATTRS, software: 4 }, { ...RW_ATTRS, user: null }, ...GARBAGE),
  tableAttrs: fc.constantFrom(core.OPEN_TABLE, { noUser: 1 }, ...GARBAGE),
  source: fc.constantFrom('SOURCE', ...GARBAGE),
  flush: fc.constantFrom('FLUSH', ...GARBAGE),
  asid: fc.constantFrom(0, 7, -1, 2 ** 40, ...GARBAGE),
  global: fc.constantFrom(true, false, ...GARBAGE),
  threshold: fc.constantFrom(0, 32, -1, ...GARBAGE),
  count: fc.constantFrom(0, 16, 512, ...GARBAGE),
  on: fc.constantFrom(true, false, ...GARBAGE),
  ledger: fc.constantFrom('LEDGER', ...GARBAGE),
};
const options = fc.record(optionKeys, { requiredKeys: [] });
const args = fc.array(fc.oneof({ arbitrary: arg, weight: 3 }, { arbitrary: options, weight: 1 }), {
  minLength: 0,
  maxLength: 5,
});

/**
 * Replaces the placeholders of {@link optionKeys} by live objects over `memory` (a frame source,
 * a fresh flush obligation, a ledger), so that valid calls reach the tables.
 */
function withLive(a: unknown[], memory: core.PhysicalMemory | undefined): unknown[] {
  if (memory === undefined) return a;
  const source = frameSource(memory);
  return a.map((v) => {
    if (
      typeof v !== 'object' ||
      v === null ||
      Array.isArray(v) ||
      Object.getPrototypeOf(v) !== Object.prototype
    )
      return v;
    const o = { ...(v as Record<string, unknown>) };
    if (o.source === 'SOURCE') o.source = source;
    if (o.flush === 'FLUSH') o.flush = new core.FlushObligation(0, false);
    if (o.ledger === 'LEDGER') o.ledger = new core.FlushLedger();
    return o;
  });
}

/** Runs `call` and reports a throw that is not an MmError (or undefined if there was none). */
function nonMmThrow(call: () => unknown): string | undefined {
  try {
    call();
    return undefined;
  } catch (e) {
    if (core.isMmError(e)) return undefined;
    return e instanceof Error ? `${e.constructor.name}: ${e.message}` : `non-error throw ${String(e)}`;
  }
}

function fuzz(
  label: string,
  call: (a: unknown[]) => unknown,
  numRuns = 300,
  memory?: core.PhysicalMemory,
): void {
  fc.assert(
    fc.property(args, (raw) => {
      const a = withLive(raw, memory);
      const bad = nonMmThrow(() => call(a));
      if (bad !== undefined)
        throw new Error(`${label}(${a.map(core.describeValue).join(', ')}) threw ${bad}`);
    }),
    { numRuns },
  );
}

/** Exports that are data (constants, frozen tables): nothing to call. */
const CONSTANTS = new Set([
  'ACCESS_NAMES',
  'ADDRESS_LIMIT',
  'Access',
  'CONTRACT_VERSION',
  'CURSOR_DONE',
  'CURSOR_NEXT',
  'CURSOR_UP',
  'DEFAULT_FLUSH_PAGE_THRESHOLD',
  'DEFAULT_MAX_HOST_BYTES',
  'FAULT_KINDS',
  'Fault',
  'KNOWN_ARCH_IDS',
  'LINUX_SWAP_TYPES',
  'MAX_BULK_BYTES',
  'MAX_HEX_DIGITS',
  'MEMORY_TYPES',
  'MEMORY_TYPE_FALLBACK_ORDER',
  'OPEN_TABLE',
  'PAGE_SHIFT',
  'PAGE_SIZE',
  'PRIVILEGE_NAMES',
  'Perm',
  'Privilege',
  'TWO_32',
]);

/**
 * Unchecked hot paths: called once per walk step, TLB check or visited entry with arguments the
 * library computed itself (never a user's raw input), so they validate nothing and are not
 * fuzzed with garbage. Each is documented as such where it is defined. Keep this list short:
 * everything else, including the hot paths that validate in a constructor or `begin` instead
 * (`WalkResult.succeed/fail`, `PageTableCursor.step/next`, `FlushObligation.addPage`,
 * `PageTableEditor.fillAbsent`), is fuzzed below.
 */
const HOT_PATH_UNCHECKED: Readonly<Record<string, string>> = {
  // The kernel's CPU model calls it on every simulated access (TLB hit check), with the access
  // kind and privilege of the access it is simulating.
  permBit: 'arch.ts: permBit',
  // The inner loop of every range walk: the table address comes from the cursor's own
  // `nextTable()` or a frame the editor just allocated and checked.
  'PageTableCursor.down': 'page-table-cursor.ts: module doc, "Checked entry points and unchecked fast paths"',
};

/** Plain functions: called with 0–5 arguments. */
const FUNCTIONS = [
  'alignDown',
  'alignUp',
  'assertAligned',
  'assertCanonical',
  'createSwapEntryCodec',
  'describeValue',
  'formatRange',
  'formatSwapEntry',
  'formatSize',
  'groupedHex',
  'hex',
  'hi32',
  'isAligned',
  'isCanonical',
  'isCanonicalVa',
  'isLeafDirty',
  'isMmError',
  'join64',
  'leafTemplate',
  'linuxSwapTypeMeaning',
  'lo32',
  'memoryTypeFallback',
  'modifyLeaf',
  'pageOffsetOf',
  'deriveGeometry',
  'formatPerms',
  'permMask',
  'permsOf',
  'range',
  'rangeContains',
  'rangeIntersect',
  'rangeSize',
  'rangesOverlap',
  'sameLeafAttributes',
  'signExtend',
  'split64',
  'syndromeMatches',
  'syndromeMismatches',
  'toAddress',
  'toPhysical',
  'vaOf',
  'vaSignBit',
  'vpnOf',
] as const;

const ERROR_CLASSES = [
  'AddressError',
  'AlignmentError',
  'AlreadyMappedError',
  'AuditError',
  'BreakBeforeMakeError',
  'BusError',
  'DescriptorError',
  'DoubleFreeError',
  'HostLimitError',
  'InvalidArgumentError',
  'MmError',
  'NoMemoryError',
  'NonCanonicalError',
  'NotMappedError',
  'NotOwnedError',
  'OutOfRangeError',
  'StaleTlbError',
  'UndischargedFlushError',
  'UnrepresentableError',
] as const;

function newMemory(): core.PhysicalMemory {
  return new core.PhysicalMemory({
    ram: [{ name: 'ram', start: 0x4000_0000, end: 0x4010_0000 }],
    mmio: [
      { name: 'dev', start: 0x0900_0000, end: 0x0900_1000, device: { read: () => 0, write: () => {} } },
      { name: 'nodev', start: 0x0a00_0000, end: 0x0a00_1000 },
    ],
    maxHostBytes: 64 * 2 ** 20,
  });
}

/** A begun cursor over the fuzz backend, with a table and a leaf mapped. */
function newCursor(): core.PageTableCursor {
  const memory = newMemory();
  new core.PageTableEditor(fuzzBackend, memory).map({
    root: ROOT,
    vpn: 0x200,
    pa: 0x4002_0000,
    level: 1,
    attrs: RW_ATTRS,
    source: frameSource(memory),
  });
  const c = new core.PageTableCursor(fuzzBackend, memory);
  c.begin({ root: ROOT });
  return c;
}

/** A prepared break-before-make plan that rewrites one descriptor of the root. */
function newPlan(): core.BreakBeforeMakePlan<number> {
  return new core.BreakBeforeMakePlan({
    operation: 'split',
    memory: newMemory(),
    wide: true,
    dpas: [ROOT + 8],
    old: [0, 0],
    made: [0x4000_1000 | P, 0],
    flush: () => new core.FlushObligation(0, false),
    result: 1,
  });
}

/**
 * Classes with state: how to build a valid instance (and, for page-table classes, the memory
 * that live option values are built over), and its non-public prototype members.
 */
const CLASSES: Record<
  string,
  { make: () => object; internal: readonly string[]; memory?: (instance: object) => core.PhysicalMemory }
> = {
  PhysicalMemory: {
    make: newMemory,
    internal: [
      'extentOf',
      'discard',
      'release',
      'chunkOf',
      'midAt',
      'slotOf',
      'slotSlow',
      'charge',
      'reserve',
      'materialize',
      'materializeSlow',
      'newSlot',
      'takeSlot',
      'memoIndex',
      'memoFill',
      'busError',
      'device',
      'slowRead',
      'slowWrite',
      'readChecked',
      'writeChecked',
      'checkRamRange',
      'zeroTouched',
    ],
  },
  Tlb: { make: () => new core.Tlb(64), internal: ['badFill', 'drop', 'matches'] },
  WalkResult: { make: () => new core.WalkResult(), internal: [] },
  FlushObligation: {
    make: () => {
      const f = new core.FlushObligation(3, false, 4);
      f.addPage(0x400);
      return f;
    },
    internal: ['settle'],
  },
  FlushLedger: {
    make: () => {
      const l = new core.FlushLedger();
      l.create(1);
      return l;
    },
    internal: [],
  },
  BreakBeforeMakePlan: { make: newPlan, internal: ['expect', 'writeRaw'] },
  PageTableCursor: {
    make: newCursor,
    internal: ['rootVpn', 'rootRelative', 'stand'],
    memory: (c) => (c as unknown as { memory: core.PhysicalMemory }).memory,
  },
  PageTableEditor: {
    make: () => new core.PageTableEditor(fuzzBackend, newMemory(), { ledger: new core.FlushLedger() }),
    internal: ['dpa', 'level', 'asid', 'allocTable', 'seekPage', 'acquire', 'fillAbsentError'],
    memory: (e) => (e as core.PageTableEditor).memory,
  },
  EventStream: {
    make: () => {
      const s = new core.EventStream();
      s.on(() => {});
      return s;
    },
    internal: [],
  },
};

/** Public methods of a class: prototype functions that are not getters or internal. */
function methodsOf(ctor: AnyFn, internal: readonly string[]): string[] {
  const proto = ctor.prototype as object;
  return Object.getOwnPropertyNames(proto).filter((n) => {
    const d = Object.getOwnPropertyDescriptor(proto, n)!;
    return n !== 'constructor' && typeof d.value === 'function' && !internal.includes(n);
  });
}

describe('public API fuzz: every export of @mmkit/core has an entry', () => {
  it('the exports of the index are exactly the fuzzed names plus the listed constants and pending ones', () => {
    const exported = Object.keys(core).sort();
    const listed = [
      ...CONSTANTS,
      ...Object.keys(HOT_PATH_UNCHECKED).filter((n) => !n.includes('.')),
      ...FUNCTIONS,
      ...ERROR_CLASSES,
      ...Object.keys(CLASSES),
    ].sort();
    expect(exported).toEqual(listed);
  });

  it('the hot-path list names real functions and methods (no stale entries)', () => {
    const exports = core as unknown as Record<string, AnyFn>;
    for (const name of Object.keys(HOT_PATH_UNCHECKED)) {
      const [owner, method] = name.split('.');
      if (method === undefined) expect(typeof exports[owner!], name).toBe('function');
      else expect(Object.getOwnPropertyNames(exports[owner!]!.prototype), name).toContain(method);
    }
  });

  it('the internal-member lists name real prototype members (no stale entries)', () => {
    for (const [name, { internal }] of Object.entries(CLASSES)) {
      const proto = (core as unknown as Record<string, AnyFn>)[name]!.prototype as object;
      for (const m of internal) expect(Object.getOwnPropertyNames(proto), `${name}.${m}`).toContain(m);
    }
  });
});

describe('public API fuzz: garbage in, MmError (or a normal return) out', () => {
  const exports = core as unknown as Record<string, AnyFn>;

  for (const name of FUNCTIONS) {
    it(`${name}()`, () => fuzz(name, (a) => exports[name]!(...a)));
  }

  for (const name of ERROR_CLASSES) {
    it(`new ${name}()`, () => {
      const Ctor = exports[name] as unknown as new (...a: unknown[]) => Error;
      fuzz(`new ${name}`, (a) => {
        const e = new Ctor(...a);
        // An error built from garbage must still be a readable MmError.
        if (!core.isMmError(e) || typeof e.message !== 'string') throw new Error('not a readable MmError');
        return String(e);
      });
    });
  }

  for (const [name, { make, internal, memory }] of Object.entries(CLASSES)) {
    const Ctor = exports[name] as unknown as new (...a: unknown[]) => object;
    it(`new ${name}()`, () => fuzz(`new ${name}`, (a) => new Ctor(...a), 200, newMemory()));
    for (const method of methodsOf(Ctor as unknown as AnyFn, internal)) {
      if (`${name}.${method}` in HOT_PATH_UNCHECKED) continue;
      it(`${name}.prototype.${method}()`, () => {
        const instance = make() as Record<string, AnyFn>;
        fuzz(`${name}.${method}`, (a) => instance[method]!(...a), 300, memory?.(instance));
      });
    }
    it(`${name} getters after garbage calls`, () => {
      const instance = make() as Record<string, unknown>;
      const proto = (Ctor as unknown as AnyFn).prototype as object;
      for (const n of Object.getOwnPropertyNames(proto)) {
        if (Object.getOwnPropertyDescriptor(proto, n)?.get)
          expect(nonMmThrow(() => instance[n])).toBeUndefined();
      }
    });
  }

  it('fuzzes the methods it should: PhysicalMemory has its whole public surface covered', () => {
    const methods = methodsOf(core.PhysicalMemory as unknown as AnyFn, CLASSES.PhysicalMemory!.internal);
    for (const m of [
      'read32',
      'write32',
      'readPair',
      'readPairInFrame',
      'writeN',
      'fill',
      'copyFrame',
      'frameWords',
      'readFrameInto',
      'writeFrameFrom',
    ]) {
      expect(methods).toContain(m);
    }
  });

  it('the harness can fail: a TypeError from a plain function is reported', () => {
    expect(nonMmThrow(() => (null as unknown as { x: number }).x)).toMatch(/^TypeError/);
    expect(nonMmThrow(() => BigInt(1.5))).toMatch(/^RangeError/);
    expect(nonMmThrow(() => core.hex(1.5))).toBeUndefined();
    expect(nonMmThrow(() => (HOSTILE_GETTERS as { start: unknown }).start)).toMatch(/^Error: hostile getter/);
  });
});

describe('public API fuzz: getters that throw', () => {
  // The range helpers and EventStream.emit once let a caller's throwing getter through (a plain
  // Error); each now reads its argument's fields once and reports an InvalidArgumentError.
  const range = { start: 0x1000n, end: 0x2000n };
  const calls: [string, () => unknown][] = [
    ['formatRange', () => core.formatRange(HOSTILE_GETTERS as core.Range)],
    ['rangeContains', () => core.rangeContains(HOSTILE_GETTERS as core.Range, 0x1000n)],
    ['rangeIntersect', () => core.rangeIntersect(range, HOSTILE_GETTERS as core.Range)],
    ['rangeSize', () => core.rangeSize(HOSTILE_GETTERS as core.Range)],
    ['rangesOverlap', () => core.rangesOverlap(HOSTILE_GETTERS as core.Range, range)],
    [
      'EventStream.emit',
      () => {
        const events = new core.EventStream();
        events.on(() => {});
        events.emit(HOSTILE_GETTERS as core.MmEvent);
      },
    ],
  ];
  for (const [name, call] of calls) {
    it(`${name} reports a throwing getter as an InvalidArgumentError`, () => {
      expect(call).toThrow(core.InvalidArgumentError);
    });
  }
  it('a getter that changes its answer cannot make a range helper see two ranges', () => {
    let reads = 0;
    const shifty = {
      get start() {
        reads++;
        return reads === 1 ? 0x1000n : 0x9000n;
      },
      end: 0x2000n,
    };
    expect(core.formatRange(shifty)).toBe('[0x1000, 0x2000)');
    expect(reads).toBe(1);
  });
});

describe('public API fuzz: the page-table API reaches its tables (valid calls still work)', () => {
  it('a valid map, lookup, protect, unmap round trip over the fuzz backend', () => {
    const memory = newMemory();
    const editor = new core.PageTableEditor(fuzzBackend, memory);
    const source = frameSource(memory);
    expect(
      editor.map({ root: ROOT, vpn: 0x200, pa: 0x4002_0000, level: 1, attrs: RW_ATTRS, source }),
    ).toEqual({
      ok: true,
      tablesCreated: 2,
    });
    expect(editor.lookup(ROOT, 0x200).entry).toMatchObject({ kind: 'leaf', pa: 0x4002_0000 });
    const f = editor.protect({ root: ROOT, vpn: 0x200, attrs: { ...RW_ATTRS, global: true } });
    expect(f?.need()?.vpns).toEqual([0x200]);
    f?.markDischarged();
    const t = core.leafTemplate(fuzzBackend, RW_ATTRS);
    expect(Object.isFrozen(t)).toBe(true);
    const u = editor.unmap(ROOT, 0x200);
    expect(u?.leaf.pa).toBe(0x4002_0000);
    expect(editor.fillAbsent(u!.leaf.descriptorPa, 0x4003_0000, t!)).toBe(true);
  });

  it('fillAbsent refuses a slot with either word set (one readPair for both) and changes nothing', () => {
    const memory = newMemory();
    const editor = new core.PageTableEditor(fuzzBackend, memory);
    const source = frameSource(memory);
    editor.map({ root: ROOT, vpn: 0x200, pa: 0x4002_0000, level: 1, attrs: RW_ATTRS, source });
    const dpa = editor.unmap(ROOT, 0x200)!.leaf.descriptorPa;
    const t = core.leafTemplate(fuzzBackend, RW_ATTRS)!;
    for (const [lo, hi] of [
      [0, 0x8000_0000], // only the high word: a swap entry or software bits up there
      [0x1000, 0],
      [0, 1],
    ] as const) {
      editor.writeRaw(dpa, lo, hi);
      expect(editor.fillAbsent(dpa, 0x4003_0000, t)).toBe(false);
      expect(editor.readRaw(dpa)).toEqual([lo, hi]);
    }
    editor.writeRaw(dpa, 0, 0);
    expect(editor.fillAbsent(dpa, 0x4003_0000, t)).toBe(true);
    expect(editor.readRaw(dpa)).not.toEqual([0, 0]);
  });
});

describe('public API fuzz: garbage names the argument (regressions)', () => {
  const editor = () => new core.PageTableEditor(fuzzBackend, newMemory());
  it('backends, descriptions and options are checked field by field', () => {
    expect(() => core.deriveGeometry({ ...fuzzDescription, levels: null } as never)).toThrow(
      'architecture description.levels: null is invalid; expected an array of 1 to 8 level descriptions',
    );
    expect(() => new core.PageTableCursor(null as never, newMemory())).toThrow(/backend: null is invalid/);
    expect(() => editor().map(null as never)).toThrow(/map options: null is invalid/);
    expect(() => editor().map({ root: ROOT, vpn: 1, pa: 0, level: 1, attrs: RW_ATTRS } as never)).toThrow(
      /map options.source: undefined is invalid; expected a frame source/,
    );
    expect(() =>
      editor().map({ root: ROOT, vpn: 1, pa: 0, level: 1, attrs: { ...RW_ATTRS, user: null } } as never),
    ).toThrow(/map options.attrs.user: null is invalid/);
    expect(() => editor().lookup(ROOT, Symbol('v') as never)).toThrow(/vpn: Symbol\(v\) is invalid/);
    expect(() => editor().forEachLeaf({ root: ROOT }, null as never)).toThrow(/forEachLeaf visit: null/);
    const hostile = {
      get root(): number {
        throw new Error('hostile getter');
      },
    };
    expect(() => editor().tableFrames(hostile)).toThrow(/tableFrames range.root: "\(a getter that throws\)"/);
    expect(() => new core.PageTableCursor(fuzzBackend, newMemory()).begin(hostile)).toThrow(
      core.InvalidArgumentError,
    );
  });
  it('the hot paths that validate elsewhere still report garbage as MmErrors', () => {
    const e = editor();
    expect(() => e.fillAbsent(ROOT, 0x4000_1000, null as never)).toThrow(/leaf template: null is invalid/);
    expect(() => e.fillAbsent(ROOT, 4096n as never, core.leafTemplate(fuzzBackend, RW_ATTRS)!)).toThrow(
      /physical address: 0x1000 \(bigint\) is invalid/,
    );
    const f = new core.FlushObligation(1, false);
    f.addPage(Symbol('p') as never);
    expect(() => f.need()).toThrow(/FlushObligation.addPage vpn: Symbol\(p\) is invalid/);
    expect(f.describe()).toContain('Symbol(p)');
    expect(() => new core.FlushObligation(-1, false)).toThrow(/flush obligation asid: -1 is invalid/);
    expect(() => core.permsOf(64)).toThrow(/permission mask: 64 is invalid/);
    expect(() => core.isCanonicalVa(fuzzDescription, 'x' as never)).toThrow(/virtual address: "x"/);
    expect(core.isCanonicalVa(fuzzDescription, 2 ** 38)).toBe(true);
    expect(() => new core.UndischargedFlushError(1, 0, [], null as never)).not.toThrow();
  });
});
