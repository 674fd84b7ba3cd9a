/**
 * Argument checks shared by the public entry points of the page-table modules (the contract
 * helpers, the cursor, the editor, flush obligations, break-before-make plans). Internal: not
 * exported from the package index.
 *
 * Every check throws an {@link InvalidArgumentError} naming the argument (`what`), the value (as
 * {@link describeValue} renders it) and what was expected, and never anything else: a property
 * read through a getter that throws is reported the same way. None of them runs on a hot path;
 * descriptions and backends are checked once per object (remembered in a WeakSet).
 */
import type { Range } from './address.js';
import type {
  ArchBackend,
  ArchDescription,
  LeafAttributes,
  MemoryType,
  NeutralEntry,
  Permissions,
  TableAttributes,
} from './arch.js';
import { InvalidArgumentError } from './errors.js';
import type { PhysicalMemory } from './physical-memory.js';

const MEMORY_TYPE_NAMES: readonly MemoryType[] = ['normal-wb', 'normal-nc', 'normal-wt', 'device'];

/** `value` as an object (not null, not a function), or InvalidArgumentError. */
export function checkObject(what: string, value: unknown, expected = 'an object'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError(what, value, expected);
  return value as Record<string, unknown>;
}

/** Reads `obj[key]`; a getter that throws is reported as an InvalidArgumentError for `what.key`. */
export function field(obj: Record<string, unknown>, key: string, what: string): unknown {
  try {
    return obj[key];
  } catch {
    throw new InvalidArgumentError(`${what}.${key}`, '(a getter that throws)', 'a readable property');
  }
}

/** A safe integer in [min, max]. */
export function checkInt(what: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(what, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** A boolean. */
export function checkBool(what: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(what, value, 'true or false');
  return value;
}

/** A boolean or undefined. */
export function checkOptionalBool(what: string, value: unknown): boolean | undefined {
  return value === undefined ? undefined : checkBool(what, value);
}

/** A string. */
export function checkString(what: string, value: unknown): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(what, value, 'a string');
  return value;
}

/** A function. */
export function checkFunction<F>(what: string, value: unknown): F {
  if (typeof value !== 'function') throw new InvalidArgumentError(what, value, 'a function');
  return value as F;
}

/** A page number: a safe non-negative integer. */
export function checkVpn(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(what, value, 'a page number (a safe non-negative integer)');
  }
  return value;
}

/** A physical address (a safe non-negative integer) aligned to `align` bytes. */
export function checkPa(what: string, value: unknown, align = 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value % align !== 0) {
    throw new InvalidArgumentError(
      what,
      value,
      `a physical address (a safe non-negative integer)${align > 1 ? ` aligned to ${align} bytes` : ''}`,
    );
  }
  return value;
}

/** A {@link Permissions} object: booleans `read`, `write`, `execute`. */
export function checkPermissions(what: string, value: unknown): Permissions {
  const o = checkObject(what, value, 'permissions { read, write, execute } (booleans)');
  for (const k of ['read', 'write', 'execute']) checkBool(`${what}.${k}`, field(o, k, what));
  return o as unknown as Permissions;
}

/** A neutral memory type name. */
export function checkMemoryType(what: string, value: unknown): MemoryType {
  if (!MEMORY_TYPE_NAMES.includes(value as MemoryType)) {
    throw new InvalidArgumentError(what, value, `one of ${MEMORY_TYPE_NAMES.join(', ')}`);
  }
  return value as MemoryType;
}

/** {@link LeafAttributes}: every field of the right type (the codec judges what it can express). */
export function checkLeafAttributes(what: string, value: unknown): LeafAttributes {
  const o = checkObject(what, value, 'leaf attributes { user, kernel, global, memoryType, … }');
  checkPermissions(`${what}.user`, field(o, 'user', what));
  checkPermissions(`${what}.kernel`, field(o, 'kernel', what));
  for (const k of ['global', 'accessed', 'dirty']) checkBool(`${what}.${k}`, field(o, k, what));
  checkMemoryType(`${what}.memoryType`, field(o, 'memoryType', what));
  checkInt(`${what}.software`, field(o, 'software', what), 0, 2 ** 32 - 1);
  checkOptionalBool(`${what}.contiguous`, field(o, 'contiguous', what));
  return o as unknown as LeafAttributes;
}

/** {@link TableAttributes}: four booleans and an optional `accessed`. */
export function checkTableAttributes(what: string, value: unknown): TableAttributes {
  const o = checkObject(what, value, 'table attributes { noUser, readOnly, noExecuteUser, noExecuteKernel }');
  for (const k of ['noUser', 'readOnly', 'noExecuteUser', 'noExecuteKernel'])
    checkBool(`${what}.${k}`, field(o, k, what));
  checkOptionalBool(`${what}.accessed`, field(o, 'accessed', what));
  return o as unknown as TableAttributes;
}

/** A {@link NeutralEntry} of one of the five kinds with fields of the right types. */
export function checkNeutralEntry(what: string, value: unknown): NeutralEntry {
  const o = checkObject(what, value, 'a neutral entry { kind, … }');
  const kind = field(o, 'kind', what);
  switch (kind) {
    case 'absent':
      break;
    case 'table':
      checkPa(`${what}.pa`, field(o, 'pa', what));
      checkTableAttributes(`${what}.attrs`, field(o, 'attrs', what));
      break;
    case 'leaf':
      checkPa(`${what}.pa`, field(o, 'pa', what));
      checkLeafAttributes(`${what}.attrs`, field(o, 'attrs', what));
      break;
    case 'software':
      checkInt(`${what}.payload`, field(o, 'payload', what), 0);
      break;
    case 'invalid':
      checkString(`${what}.reason`, field(o, 'reason', what));
      break;
    default:
      throw new InvalidArgumentError(`${what}.kind`, kind, 'absent, table, leaf, software or invalid');
  }
  return o as unknown as NeutralEntry;
}

function checkRangeField(what: string, value: unknown): Range {
  const o = checkObject(what, value, 'a range { start, end } of bigints');
  const start = field(o, 'start', what);
  const end = field(o, 'end', what);
  if (typeof start !== 'bigint' || typeof end !== 'bigint' || start < 0n || end < start || end > 1n << 64n) {
    throw new InvalidArgumentError(what, value, 'a range { start, end } of bigints, 0 ≤ start ≤ end ≤ 2^64');
  }
  return o as unknown as Range;
}

const checkedDescriptions = new WeakSet<object>();
const checkedBackends = new WeakSet<object>();

/**
 * An {@link ArchDescription} whose fields have the types and ranges the core relies on (levels
 * numbered 1… from the leaf table, shifts and widths within 64 bits). Consistency beyond that
 * is the conformance suite's business (`checkDescription`).
 */
export function checkDescription(what: string, value: unknown): ArchDescription {
  if (typeof value === 'object' && value !== null && checkedDescriptions.has(value)) {
    return value as ArchDescription;
  }
  const d = checkObject(what, value, 'an architecture description (ArchDescription)');
  checkString(`${what}.id`, field(d, 'id', what));
  const pageShift = checkInt(`${what}.pageShift`, field(d, 'pageShift', what), 1, 52);
  const bytes = field(d, 'descriptorBytes', what);
  if (bytes !== 4 && bytes !== 8) throw new InvalidArgumentError(`${what}.descriptorBytes`, bytes, '4 or 8');
  const levels = field(d, 'levels', what);
  if (!Array.isArray(levels) || levels.length < 1 || levels.length > 8) {
    throw new InvalidArgumentError(`${what}.levels`, levels, 'an array of 1 to 8 level descriptions');
  }
  levels.forEach((l: unknown, i) => {
    const lw = `${what}.levels[${i}]`;
    const lo = checkObject(lw, l, 'a level description { level, name, shift, indexBits, leafAllowed }');
    checkInt(`${lw}.level`, field(lo, 'level', lw), i + 1, i + 1);
    checkString(`${lw}.name`, field(lo, 'name', lw));
    checkInt(`${lw}.shift`, field(lo, 'shift', lw), pageShift, 63);
    checkInt(`${lw}.indexBits`, field(lo, 'indexBits', lw), 1, 20);
    checkBool(`${lw}.leafAllowed`, field(lo, 'leafAllowed', lw));
  });
  checkInt(`${what}.vaBits`, field(d, 'vaBits', what), 1, 64);
  checkBool(`${what}.signExtended`, field(d, 'signExtended', what));
  checkInt(`${what}.paBits`, field(d, 'paBits', what), 1, 53);
  checkBool(`${what}.splitRoots`, field(d, 'splitRoots', what));
  checkRangeField(`${what}.userRange`, field(d, 'userRange', what));
  checkRangeField(`${what}.kernelRange`, field(d, 'kernelRange', what));
  const caps = checkObject(`${what}.capabilities`, field(d, 'capabilities', what));
  checkInt(`${what}.capabilities.contiguousEntries`, field(caps, 'contiguousEntries', what), 0, 2 ** 20);
  for (const name of ['softwareDirty', 'softwareSpecial'] as const) {
    const bit = field(caps, name, what);
    if (bit === undefined) continue;
    // One bit of the packed software value (LeafAttributes.software), or 0 for none.
    const m = checkInt(`${what}.capabilities.${name}`, bit, 0, 2 ** 31);
    if ((m & (m - 1)) !== 0)
      throw new InvalidArgumentError(`${what}.capabilities.${name}`, m, 'one bit (a power of two) or 0');
  }
  checkInt(`${what}.rootTableBytes`, field(d, 'rootTableBytes', what), bytes, 2 ** 20);
  const types = field(d, 'memoryTypes', what);
  if (!Array.isArray(types))
    throw new InvalidArgumentError(`${what}.memoryTypes`, types, 'an array of memory types');
  types.forEach((t: unknown, i) => {
    checkMemoryType(`${what}.memoryTypes[${i}]`, t);
  });
  checkedDescriptions.add(d);
  return d as unknown as ArchDescription;
}

/**
 * An {@link ArchBackend} as the cursor and the editor use it: a valid description, a geometry
 * object whose root level matches it, and a codec with `decode`, `encode`, `describe` and
 * `nextTable` functions.
 */
export function checkBackend(what: string, value: unknown): ArchBackend {
  if (typeof value === 'object' && value !== null && checkedBackends.has(value)) return value as ArchBackend;
  const b = checkObject(what, value, 'a page-table backend (ArchBackend)');
  const d = checkDescription(`${what}.description`, field(b, 'description', what));
  const g = checkObject(`${what}.geometry`, field(b, 'geometry', what), 'the geometry (deriveGeometry)');
  checkInt(
    `${what}.geometry.rootLevel`,
    field(g, 'rootLevel', `${what}.geometry`),
    d.levels.length,
    d.levels.length,
  );
  for (const k of ['entrySizeBytes', 'entryPages', 'entries', 'leafLevels', 'hugeLeafLevels']) {
    const v = field(g, k, `${what}.geometry`);
    if (!Array.isArray(v)) throw new InvalidArgumentError(`${what}.geometry.${k}`, v, 'an array of numbers');
  }
  const codec = checkObject(`${what}.codec`, field(b, 'codec', what), 'a descriptor codec');
  for (const k of ['decode', 'encode', 'describe', 'nextTable'])
    checkFunction(`${what}.codec.${k}`, field(codec, k, `${what}.codec`));
  checkedBackends.add(b);
  return b as unknown as ArchBackend;
}

/** Simulated physical memory (duck-typed, so that another copy of the core's works too). */
export function checkMemory(what: string, value: unknown): PhysicalMemory {
  const m = checkObject(what, value, 'a PhysicalMemory');
  for (const k of ['read32', 'write32', 'fill']) {
    if (typeof field(m, k, what) !== 'function')
      throw new InvalidArgumentError(what, value, 'a PhysicalMemory');
  }
  return m as unknown as PhysicalMemory;
}

/**
 * The named fields of an options object, read once each (a getter that throws is reported as an
 * InvalidArgumentError): the caller validates the copy, so a getter cannot change its answer.
 */
export function fields<K extends string>(
  what: string,
  value: unknown,
  keys: readonly K[],
  expected = 'an options object',
): Record<K, unknown> {
  const o = checkObject(what, value, expected);
  const out = {} as Record<K, unknown>;
  for (const k of keys) out[k] = field(o, k, what);
  return out;
}

/** A {@link FrameSource}-like object: functions `allocTable` and `freeTable`. */
export function checkFrameSource<S>(what: string, value: unknown): S {
  const o = checkObject(what, value, 'a frame source { allocTable, freeTable }');
  checkFunction(`${what}.allocTable`, field(o, 'allocTable', what));
  checkFunction(`${what}.freeTable`, field(o, 'freeTable', what));
  return o as S;
}
