/**
 * The playground's scenario format: a board, a paging format and a list of steps in the step
 * vocabulary of `@mmkit/scenario` (spawn, mmap, munmap, mprotect, brk, touch, read, write, fetch,
 * fork, exec, exit). Parsing checks every field and names the bad value; nothing here runs a kernel.
 *
 * Addresses are numbers or strings: a hex or decimal number (`0x4000`), or a base with an optional
 * offset (`heap+0x2000`, `stackTop-0x3010`, `buf+4096`). Bases: `text`, `heap`, `stackTop`,
 * `stackLow`, `wild` (an address no process maps) and the `name` of an earlier `mmap` step.
 */

/** Boards the playground can boot. */
export const BOARDS = ['virt', 'rpi4b', 'pc'] as const;
/** A board id. */
export type BoardChoice = (typeof BOARDS)[number];
/** Paging formats, by backend id. */
export const ARCHS = ['aarch64', 'x86_64', 'x86_64-la57', 'x86-pae', 'x86-32'] as const;
/** A paging format. */
export type ArchChoice = (typeof ARCHS)[number];
/** Step operations. */
export const OPS = [
  'spawn',
  'mmap',
  'munmap',
  'mprotect',
  'brk',
  'touch',
  'read',
  'write',
  'fetch',
  'fork',
  'exec',
  'exit',
] as const;
/** A step operation. */
export type Op = (typeof OPS)[number];

/** An address: a number or an expression such as `heap+0x1000`. */
export type AddressExpr = string | number;

/** One step. `pid` names the process (default: the lowest live pid); `cpu` the CPU that runs it. */
export interface Step {
  readonly op: Op;
  readonly pid?: number;
  readonly cpu?: number;
  readonly addr?: AddressExpr;
  readonly length?: number;
  /** `r`, `w`, `x` letters, e.g. `rw` (mmap, mprotect). */
  readonly prot?: string;
  /** A name for an mmap'd region, usable as an address base later. */
  readonly name?: string;
  /** Value written by `write`. */
  readonly value?: number;
  /** A note shown in the timeline. */
  readonly title?: string;
}

/** A scenario: where it runs and what it does. */
export interface Scenario {
  readonly name?: string;
  readonly board: BoardChoice;
  readonly arch: ArchChoice;
  /** RAM size such as `1G`, `512M`, or bytes; default: the board's. */
  readonly ram?: string | number;
  /** CPUs (1 … 8), default 2. */
  readonly cpus?: number;
  readonly steps: readonly Step[];
}

/** A scenario that does not parse: `path` says where, `message` what was expected. */
export class ScenarioError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ScenarioError';
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

function oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ScenarioError(path, `got ${show(value)}, expected one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function int(path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ScenarioError(path, `got ${show(value)}, expected an integer from ${min} to ${max}`);
  }
  return value;
}

const ADDRESS_RE = /^\s*([A-Za-z_][\w]*|0x[0-9a-fA-F_]+|\d+)\s*(?:([+-])\s*(0x[0-9a-fA-F_]+|\d+))?\s*$/;

/** Splits an address expression into base and signed offset, or throws a ScenarioError. */
export function parseAddressExpr(path: string, value: unknown): { base: string | bigint; offset: bigint } {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new ScenarioError(path, `got ${value}, expected a non-negative integer address`);
    return { base: BigInt(value), offset: 0n };
  }
  const m = typeof value === 'string' ? ADDRESS_RE.exec(value) : null;
  if (!m) {
    throw new ScenarioError(
      path,
      `got ${show(value)}, expected an address such as 0x4000, heap+0x1000 or stackTop-8`,
    );
  }
  const [, base = '', sign, off] = m;
  const num = (s: string) => BigInt(s.replaceAll('_', ''));
  const offset = off === undefined ? 0n : sign === '-' ? -num(off) : num(off);
  return { base: /^(0x|\d)/.test(base) ? num(base) : base, offset };
}

const PROT_RE = /^[rwx-]{0,3}$/;

/** Checks one step; returns it typed. */
export function parseStep(value: unknown, path: string): Step {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ScenarioError(path, `got ${show(value)}, expected a step object { op, … }`);
  const s = value as Record<string, unknown>;
  const op = oneOf(`${path}.op`, s.op, OPS);
  const out: Record<string, unknown> = { op };
  if (s.pid !== undefined) out.pid = int(`${path}.pid`, s.pid, 1, 1 << 20);
  if (s.cpu !== undefined) out.cpu = int(`${path}.cpu`, s.cpu, 0, 7);
  if (s.title !== undefined) {
    if (typeof s.title !== 'string') throw new ScenarioError(`${path}.title`, 'expected a string');
    out.title = s.title;
  }
  const needsAddr = ['munmap', 'mprotect', 'brk', 'touch', 'read', 'write', 'fetch'].includes(op);
  if (s.addr !== undefined || needsAddr) {
    parseAddressExpr(`${path}.addr`, s.addr);
    out.addr = s.addr;
  }
  const needsLength = ['mmap', 'munmap', 'mprotect'].includes(op);
  if (s.length !== undefined || needsLength) out.length = int(`${path}.length`, s.length, 1, 2 ** 40);
  if (op === 'mmap' || op === 'mprotect') {
    const prot = s.prot ?? (op === 'mmap' ? 'rw' : undefined);
    if (typeof prot !== 'string' || !PROT_RE.test(prot))
      throw new ScenarioError(`${path}.prot`, `got ${show(prot)}, expected letters r, w, x (e.g. "rw")`);
    out.prot = prot;
  }
  if (s.name !== undefined) {
    if (typeof s.name !== 'string' || !/^[A-Za-z_]\w*$/.test(s.name))
      throw new ScenarioError(`${path}.name`, `got ${show(s.name)}, expected an identifier such as buf`);
    out.name = s.name;
  }
  if (s.value !== undefined) out.value = int(`${path}.value`, s.value, 0, Number.MAX_SAFE_INTEGER);
  return out as unknown as Step;
}

/** Checks a scenario object (from JSON); throws ScenarioError naming the first bad field. */
export function parseScenarioObject(value: unknown): Scenario {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ScenarioError('scenario', `got ${show(value)}, expected { board, arch, steps }`);
  const s = value as Record<string, unknown>;
  const board = oneOf('board', s.board, BOARDS);
  const arch = oneOf('arch', s.arch, ARCHS);
  if (!Array.isArray(s.steps)) throw new ScenarioError('steps', `got ${show(s.steps)}, expected an array`);
  const out: Record<string, unknown> = {
    board,
    arch,
    steps: s.steps.map((st, i) => parseStep(st, `steps[${i}]`)),
  };
  if (s.name !== undefined) out.name = String(s.name);
  if (s.ram !== undefined) {
    if (typeof s.ram === 'number') out.ram = int('ram', s.ram, 1 << 21, 2 ** 40);
    else if (typeof s.ram === 'string' && /^\d+[MG]$/.test(s.ram)) out.ram = s.ram;
    else throw new ScenarioError('ram', `got ${show(s.ram)}, expected a size such as 512M or 8G`);
  }
  if (s.cpus !== undefined) out.cpus = int('cpus', s.cpus, 1, 8);
  return out as unknown as Scenario;
}

/** Parses scenario JSON text. */
export function parseScenario(text: string): Scenario {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError('scenario', `not JSON: ${(e as Error).message}`);
  }
  return parseScenarioObject(value);
}

/** RAM in bytes for a `ram` field, or undefined for the board's default. */
export function ramBytesOf(ram: string | number | undefined): number | undefined {
  if (ram === undefined) return undefined;
  if (typeof ram === 'number') return ram;
  const n = Number(ram.slice(0, -1));
  return ram.endsWith('G') ? n * 2 ** 30 : n * 2 ** 20;
}

/**
 * The demo: the life of `mmkit demo` as steps — heap growth by demand faults, stack growth, fork
 * isolation on a second CPU, a brk shrink (TLB invalidation on both CPUs), an mmap split by
 * mprotect, a stack overflow into the guard page, a wild pointer, a write to text, exit.
 */
export const DEMO_STEPS: readonly Step[] = [
  { op: 'spawn', title: 'spawn init: text mapped r-x, top stack page mapped' },
  { op: 'brk', pid: 1, addr: 'heap+0x3000', title: 'brk grows the heap by 3 pages' },
  {
    op: 'write',
    pid: 1,
    addr: 'heap',
    value: 0x6c6c6568,
    title: 'first touch of the heap: demand-zero fault',
  },
  { op: 'write', pid: 1, addr: 'heap+0x2000', value: 0x55667788 },
  { op: 'write', pid: 1, addr: 'stackTop-0x3010', value: 7, title: 'the stack grows down on demand' },
  { op: 'fork', pid: 1, title: 'fork: the child shares every page copy-on-write' },
  {
    op: 'write',
    pid: 2,
    cpu: 1,
    addr: 'heap',
    value: 0x4c4c4548,
    title: 'the child writes on CPU 1: a copy-on-write fault copies the page',
  },
  { op: 'read', pid: 1, addr: 'heap', title: 'the parent still reads its own data' },
  { op: 'brk', pid: 1, addr: 'heap+0x1000', title: 'brk shrinks: PTEs cleared, TLBs invalidated' },
  { op: 'mmap', pid: 1, length: 3 * 4096, prot: 'rw', name: 'buf', title: 'mmap three pages' },
  { op: 'write', pid: 1, addr: 'buf+0x1000', value: 1 },
  { op: 'mprotect', pid: 1, addr: 'buf+0x1000', length: 4096, prot: 'r', title: 'mprotect splits the VMA' },
  { op: 'write', pid: 2, cpu: 1, addr: 'stackLow-8', value: 0, title: 'the child overflows its stack' },
  { op: 'spawn', title: 'a new process…' },
  { op: 'read', pid: 3, addr: 'wild', title: '…follows a wild pointer' },
  { op: 'exit', pid: 1, title: 'init exits' },
];

/** The demo on a board and paging format (default: QEMU virt, AArch64). */
export function demoScenario(board: BoardChoice = 'virt', arch: ArchChoice = 'aarch64'): Scenario {
  return { name: 'demo', board, arch, cpus: 2, steps: DEMO_STEPS };
}
