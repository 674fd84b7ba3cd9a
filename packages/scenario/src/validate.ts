/**
 * Checks that a scenario object is one mmkit can run: known top-level fields, a step table entry
 * for every `op`, every required field present and well-formed, no unknown field, and every
 * process and address name defined by an earlier step. `parseScenario` runs it with line numbers;
 * `start` runs it on objects built in code.
 */
import { isMmError } from '@mmkit/core';
import { checkWatermarks, RECLAIM_POLICY_NAMES, resolveWorkingSetOptions } from '@mmkit/kernel';
import { ScenarioError, show } from './errors.js';
import type { Scenario, ScenarioStep, StepOp } from './types.js';
import {
  ADDRESS_SYNTAX,
  isName,
  NAME_SYNTAX,
  PROT_SYNTAX,
  parseAddress,
  parseHexBytes,
  parseNumber,
  parseProt,
  parseSizeExpr,
  SIZE_SYNTAX,
} from './values.js';

/** The layout symbols an address may use, with what they are. */
export const LAYOUT_SYMBOLS: Readonly<Record<string, string>> = {
  text: 'start of the program text',
  data: 'start of the data segment',
  heap: 'start of the heap (the initial program break)',
  'stack-top': 'top of the user stack (exclusive)',
  'stack-low': 'lowest address the stack may grow down to',
  'stack-guard': 'bottom of the guard gap below the stack',
  wild: 'an address nothing maps: 0xDEAD_BEEF_000, or on a 32-bit address space the middle of the heap–stack gap',
};

type FieldKind =
  | 'define'
  | 'process'
  | 'addr'
  | 'size'
  | 'prot'
  | 'flags'
  | 'advice'
  | 'residency'
  | 'access-size'
  | 'cpu'
  | 'bool'
  | 'text'
  | 'hex'
  | 'value'
  | 'integer'
  | 'count'
  | 'expect';

interface StepSpec {
  readonly required: Readonly<Record<string, FieldKind>>;
  readonly optional: Readonly<Record<string, FieldKind>>;
  /** Only one of these fields may be given. */
  readonly exclusive?: readonly string[];
}

const P = { process: 'process' } as const;
const CPU = { cpu: 'cpu' } as const;

/** The step table: the fields of every op. A new step kind is one entry here and one in `run.ts`. */
export const STEP_SPECS: Readonly<Record<StepOp, StepSpec>> = {
  spawn: { required: { as: 'define' }, optional: { text: 'hex' } },
  mmap: {
    required: { ...P, length: 'size', prot: 'prot' },
    optional: { as: 'define', addr: 'addr', flags: 'flags', name: 'text' },
  },
  munmap: { required: { ...P, addr: 'addr', length: 'size' }, optional: {} },
  mprotect: { required: { ...P, addr: 'addr', length: 'size', prot: 'prot' }, optional: {} },
  mremap: {
    required: { ...P, addr: 'addr', length: 'size', newLength: 'size' },
    optional: { mayMove: 'bool', as: 'define' },
  },
  madvise: { required: { ...P, addr: 'addr', length: 'size', advice: 'advice' }, optional: {} },
  mincore: { required: { ...P, addr: 'addr', length: 'size' }, optional: { equals: 'residency' } },
  mlock: { required: { ...P, addr: 'addr', length: 'size' }, optional: { onFault: 'bool' } },
  munlock: { required: { ...P, addr: 'addr', length: 'size' }, optional: {} },
  brk: { required: { ...P, to: 'addr' }, optional: {} },
  touch: { required: { ...P, addr: 'addr' }, optional: { length: 'size', write: 'bool', ...CPU } },
  read: {
    required: { ...P, addr: 'addr' },
    optional: { size: 'access-size', length: 'size', equals: 'value', ...CPU },
    exclusive: ['size', 'length'],
  },
  write: {
    required: { ...P, addr: 'addr' },
    optional: { size: 'access-size', value: 'value', text: 'text', ...CPU },
    exclusive: ['value', 'text'],
  },
  fetch: { required: { ...P, addr: 'addr' }, optional: { size: 'access-size', ...CPU } },
  'copy-to-user': { required: { ...P, addr: 'addr', text: 'text' }, optional: { ...CPU } },
  'copy-from-user': { required: { ...P, addr: 'addr', length: 'size' }, optional: { ...CPU } },
  fork: { required: { ...P, as: 'define' }, optional: {} },
  exec: { required: { ...P }, optional: { text: 'hex' } },
  exit: { required: { ...P }, optional: {} },
  oomScoreAdj: { required: { ...P, value: 'integer' }, optional: {} },
  maps: { required: { ...P }, optional: {} },
  dump: { required: { ...P }, optional: {} },
  'drop-flushes': { required: {}, optional: {} },
  swapon: { required: { size: 'size' }, optional: { priority: 'count', name: 'text' } },
  swapoff: { required: { type: 'count' }, optional: {} },
  reclaim: { required: { pages: 'count' }, optional: {} },
};

/** Every step op, in documentation order. */
export const STEP_OPS = Object.keys(STEP_SPECS) as StepOp[];

const COMMON: Readonly<Record<string, FieldKind>> = { op: 'text', title: 'text', expect: 'expect' };
const TOP_FIELDS = ['name', 'description', 'board', 'arch', 'ram', 'cpus', 'options', 'steps'];
const OPTION_FIELDS = [
  'strictTlb',
  'tlbEntries',
  'flushThreshold',
  'fork',
  'zeroPage',
  'oomKiller',
  'workingSet',
  'swapReadahead',
  'reclaimPolicy',
  'watermarks',
  'autoReclaim',
];
const BOOL_OPTIONS = ['strictTlb', 'zeroPage', 'oomKiller', 'autoReclaim'];
const MMAP_FLAGS = ['shared', 'fixed', 'fixed-noreplace', 'populate', 'growsdown'];
/** The advice a madvise step takes (Linux MADV_* names, lower case, `_` as `-`). */
export const MADVISE_ADVICE = [
  'normal',
  'random',
  'sequential',
  'willneed',
  'dontneed',
  'free',
  'cold',
  'pageout',
  'dontneed-locked',
];
const EXPECT_SYNTAX =
  'ok, an errno (EFAULT, ENOMEM, EINVAL, EEXIST, EACCES …), killed, or "killed: <reason>"';

/** Where things are in the source text (from the YAML parser), for error messages. */
export interface SourceLocator {
  readonly source?: string | undefined;
  /** The 1-based line of a path such as `['steps', 3, 'length']`, if known. */
  line(path: readonly (string | number)[]): number | undefined;
}

const NO_LINES: SourceLocator = { line: () => undefined };

const EXPECTED: Readonly<Record<FieldKind, string>> = {
  define: NAME_SYNTAX,
  process: 'the name of a process an earlier spawn or fork step created (its "as")',
  addr: ADDRESS_SYNTAX,
  size: SIZE_SYNTAX,
  prot: PROT_SYNTAX,
  flags: `a list of MAP flags from: ${MMAP_FLAGS.join(', ')}`,
  advice: `one of ${MADVISE_ADVICE.join(', ')}`,
  residency: 'one 0 or 1 per page, such as "1101"',
  'access-size': '1, 2, 4 or 8 (bytes)',
  cpu: 'a CPU index (0, 1, …)',
  bool: 'true or false',
  text: 'a string',
  hex: 'hex bytes such as "40 05 80 d2 c0 03 5f d6"',
  value: 'a number (0x…, decimal) or a string',
  integer: 'an integer such as -1000 or 500',
  count: 'a non-negative integer',
  expect: EXPECT_SYNTAX,
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fieldOk(kind: FieldKind, v: unknown): boolean {
  switch (kind) {
    case 'define':
    case 'process':
      return isName(v);
    case 'addr':
      return parseAddress(v) !== undefined;
    case 'size':
      return parseSizeExpr(v) !== undefined;
    case 'prot':
      return parseProt(v) !== undefined;
    case 'flags':
      return Array.isArray(v) && v.every((f) => typeof f === 'string' && MMAP_FLAGS.includes(f));
    case 'advice':
      return typeof v === 'string' && MADVISE_ADVICE.includes(v);
    case 'residency':
      return typeof v === 'string' && /^[01]+$/.test(v);
    case 'access-size':
      return v === 1 || v === 2 || v === 4 || v === 8;
    case 'cpu':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'bool':
      return typeof v === 'boolean';
    case 'text':
      return typeof v === 'string';
    case 'hex':
      return parseHexBytes(v) !== undefined;
    case 'value':
      return typeof v === 'string' || parseNumber(v) !== undefined;
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v);
    case 'count':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'expect':
      return typeof v === 'string' && /^(ok|E[A-Z0-9]+|killed(:\s*\S.*)?)$/.test(v.trim());
  }
}

/**
 * Validates `value` as a scenario and returns it typed.
 * @throws ScenarioError naming the source, line, step and field, the value and what was expected.
 */
export function validateScenario(value: unknown, where: SourceLocator = NO_LINES): Scenario {
  const source = where.source;
  const err = (
    path: readonly (string | number)[],
    problem: string,
    expected: string,
    extra: { stepIndex?: number; op?: string; field?: string; value?: unknown } = {},
  ) => new ScenarioError(problem, { source, line: where.line(path), expected, ...extra });
  if (!isRecord(value)) {
    throw err(
      [],
      `the scenario is ${show(value)}`,
      'an object with board, steps and optional arch, ram, cpus',
    );
  }
  for (const key of Object.keys(value)) {
    if (!TOP_FIELDS.includes(key))
      throw err([key], `unknown field ${show(key)}`, `one of: ${TOP_FIELDS.join(', ')}`, { field: key });
  }
  for (const key of ['name', 'description', 'board', 'arch'] as const) {
    const v = value[key];
    if (v !== undefined && typeof v !== 'string')
      throw err([key], `${key} ${show(v)} is not a string`, 'a string', { field: key, value: v });
  }
  if (value.board === undefined)
    throw err([], 'board is missing', 'board: virt, rpi4b or pc', { field: 'board' });
  if (value.ram !== undefined && parseSizeExpr(value.ram) === undefined)
    throw err(['ram'], `ram ${show(value.ram)} is not a size`, 'a size such as 512M, 1G or 2GiB', {
      field: 'ram',
      value: value.ram,
    });
  if (
    value.cpus !== undefined &&
    !(
      typeof value.cpus === 'number' &&
      Number.isSafeInteger(value.cpus) &&
      value.cpus >= 1 &&
      value.cpus <= 64
    )
  )
    throw err(['cpus'], `cpus ${show(value.cpus)} is not a CPU count`, 'an integer from 1 to 64', {
      field: 'cpus',
      value: value.cpus,
    });
  if (value.options !== undefined) {
    if (!isRecord(value.options))
      throw err(['options'], `options ${show(value.options)} is not an object`, OPTION_FIELDS.join(', '));
    for (const [k, v] of Object.entries(value.options)) {
      if (!OPTION_FIELDS.includes(k))
        throw err(['options', k], `unknown option ${show(k)}`, `one of: ${OPTION_FIELDS.join(', ')}`, {
          field: k,
        });
      if (k === 'watermarks') {
        // The kernel's own check (integers, min ≤ low ≤ high); the bound by RAM is checked at boot.
        try {
          checkWatermarks(v, Number.MAX_SAFE_INTEGER);
        } catch (e) {
          if (!isMmError(e)) throw e;
          throw err(
            ['options', k],
            `option watermarks: ${e.message}`,
            '{ min, low, high } in pages, min ≤ low ≤ high',
            {
              field: k,
              value: v,
            },
          );
        }
        continue;
      }
      if (k === 'workingSet') {
        // The kernel's own check (ranges, unknown fields), reported as a scenario error.
        try {
          resolveWorkingSetOptions(v);
        } catch (e) {
          if (!isMmError(e)) throw e;
          const expected = (e as { expected?: unknown }).expected;
          throw err(
            ['options', k],
            `option workingSet: ${e.message}`,
            typeof expected === 'string' ? expected : 'valid working-set options',
            { field: k, value: v },
          );
        }
        continue;
      }
      const good = BOOL_OPTIONS.includes(k)
        ? typeof v === 'boolean'
        : k === 'reclaimPolicy'
          ? (RECLAIM_POLICY_NAMES as readonly unknown[]).includes(v)
          : k === 'fork'
            ? v === 'cow' || v === 'eager'
            : k === 'swapReadahead'
              ? typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1024 && (v & (v - 1)) === 0
              : typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
      if (!good)
        throw err(
          ['options', k],
          `option ${k} ${show(v)} is not valid`,
          BOOL_OPTIONS.includes(k)
            ? 'true or false'
            : k === 'reclaimPolicy'
              ? `one of ${RECLAIM_POLICY_NAMES.join(', ')}`
              : k === 'fork'
                ? '"cow" or "eager"'
                : k === 'swapReadahead'
                  ? '0 (off) or a power of two up to 1024 (pages)'
                  : 'a positive integer',
          {
            field: k,
            value: v,
          },
        );
    }
  }
  const steps = value.steps;
  if (!Array.isArray(steps))
    throw err(['steps'], `steps ${show(steps)} is not a list`, 'a list of steps, each an object with an op', {
      field: 'steps',
      value: steps,
    });
  const processes = new Set<string>();
  const symbols = new Set<string>(Object.keys(LAYOUT_SYMBOLS));
  for (const [i, raw] of (steps as unknown[]).entries()) checkStep(raw, i);
  return value as unknown as Scenario;

  function checkStep(raw: unknown, i: number): void {
    const at = (field?: string) => (field === undefined ? ['steps', i] : ['steps', i, field]);
    if (!isRecord(raw))
      throw err(at(), `the step is ${show(raw)}`, `an object with an op: ${STEP_OPS.join(', ')}`, {
        stepIndex: i,
      });
    const op = raw.op;
    if (typeof op !== 'string' || !(op in STEP_SPECS))
      throw err(at('op'), `op ${show(op)} is not a step`, `one of: ${STEP_OPS.join(', ')}`, {
        stepIndex: i,
        field: 'op',
        value: op,
      });
    const spec = STEP_SPECS[op as StepOp];
    const x = { stepIndex: i, op };
    for (const [field, v] of Object.entries(raw)) {
      const kind = spec.required[field] ?? spec.optional[field] ?? COMMON[field];
      if (kind === undefined) {
        const known = [...Object.keys(spec.required), ...Object.keys(spec.optional), 'title', 'expect'];
        throw err(at(field), `unknown field ${show(field)}`, `one of: ${known.join(', ')}`, { ...x, field });
      }
      if (!fieldOk(kind, v))
        throw err(at(field), `${field} ${show(v)} is not valid`, EXPECTED[kind], { ...x, field, value: v });
    }
    for (const field of Object.keys(spec.required)) {
      if (raw[field] === undefined)
        throw err(at(), `${field} is missing`, `${field}: ${EXPECTED[spec.required[field]!]}`, {
          ...x,
          field,
        });
    }
    const given = (spec.exclusive ?? []).filter((f) => raw[f] !== undefined);
    if (given.length > 1)
      throw err(at(given[1]), `${given.join(' and ')} are both given`, `only one of ${given.join(', ')}`, {
        ...x,
        field: given[1]!,
      });
    // Names: processes and symbols must exist before they are used.
    if (typeof raw.process === 'string' && !processes.has(raw.process))
      throw err(
        at('process'),
        `process ${show(raw.process)} is not defined by an earlier step`,
        processList(),
        {
          ...x,
          field: 'process',
          value: raw.process,
        },
      );
    for (const field of ['addr', 'to']) {
      const a = raw[field] === undefined ? undefined : parseAddress(raw[field]);
      if (a?.base !== undefined && !symbols.has(a.base))
        throw err(
          at(field),
          `name ${show(a.base)} in ${field} is not defined by an earlier step`,
          symbolList(),
          {
            ...x,
            field,
            value: raw[field],
          },
        );
    }
    if (op === 'write' && raw.value === undefined && raw.text === undefined)
      throw err(at(), 'value or text is missing', 'value: a number, or text: a string', {
        ...x,
        field: 'value',
      });
    if (op === 'spawn' || op === 'fork') processes.add(raw.as as string);
    else if ((op === 'mmap' || op === 'mremap') && typeof raw.as === 'string') symbols.add(raw.as);
  }

  function processList(): string {
    return processes.size === 0
      ? 'a process created by an earlier spawn (none yet)'
      : `one of: ${[...processes].join(', ')}`;
  }
  function symbolList(): string {
    return `a layout symbol (${Object.keys(LAYOUT_SYMBOLS).join(', ')}) or an earlier mmap/mremap "as"${
      symbols.size > Object.keys(LAYOUT_SYMBOLS).length
        ? ` (${[...symbols].slice(Object.keys(LAYOUT_SYMBOLS).length).join(', ')})`
        : ''
    }`;
  }
}

/** Re-export for step typing in run.ts. */
export type { ScenarioStep };
