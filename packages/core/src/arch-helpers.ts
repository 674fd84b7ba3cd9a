/**
 * Pure helpers over the contract-v2 fields of a backend (see `arch.ts`): the
 * memory-type fallback, precision-aware syndrome comparison, and the canonical
 * form of a VA. None of them is on a hot path; none allocates per access.
 */
import {
  ACCESS_NAMES,
  type ArchDescription,
  type DecodedSyndrome,
  type ExpectedFault,
  FAULT_KINDS,
  type FaultKind,
  type LeafAttributes,
  MEMORY_TYPES,
  type MemoryType,
  PRIVILEGE_NAMES,
  type SyndromePrecision,
} from './arch.js';
import {
  checkBool,
  checkDescription,
  checkInt,
  checkLeafAttributes,
  checkObject,
  field,
  fields,
} from './arg-checks.js';
import { InvalidArgumentError } from './errors.js';
import { leafAttributesEqual } from './leaf-equality.js';

function checkPrecision(value: unknown): SyndromePrecision {
  const what = 'syndrome precision';
  const o = checkObject(what, value, 'a SyndromePrecision { kind, level, access }');
  for (const k of ['kind', 'level']) {
    const v = field(o, k, what);
    if (typeof v !== 'boolean') throw new InvalidArgumentError(`${what}.${k}`, v, 'true or false');
  }
  const access = field(o, 'access', what);
  if (access !== 'exact' && access !== 'no-fetch' && access !== 'none') {
    throw new InvalidArgumentError(`${what}.access`, access, "'exact', 'no-fetch' or 'none'");
  }
  return o as unknown as SyndromePrecision;
}

/** A decoded or expected fault: kind (a fault kind, or `'other'` when decoded), level, access, privilege. */
function checkFault<T>(what: string, value: unknown, decoded: boolean): T {
  const o = checkObject(what, value, 'a fault { kind, level, access, privilege }');
  const kind = field(o, 'kind', what);
  if (!FAULT_KINDS.includes(kind as FaultKind) && !(decoded && kind === 'other')) {
    throw new InvalidArgumentError(
      `${what}.kind`,
      kind,
      `one of ${FAULT_KINDS.join(', ')}${decoded ? ", 'other'" : ''}`,
    );
  }
  checkInt(`${what}.level`, field(o, 'level', what), 0, 8);
  checkInt(`${what}.access`, field(o, 'access', what), 0, 2);
  checkInt(`${what}.privilege`, field(o, 'privilege', what), 0, 1);
  return o as unknown as T;
}

/**
 * The order in which {@link memoryTypeFallback} tries memory types: from the most restrictive
 * (device) to the least (normal write-back). Linux does the same for `ioremap` on hardware
 * without device types: it maps MMIO uncached, the most restrictive type it has.
 */
export const MEMORY_TYPE_FALLBACK_ORDER: readonly MemoryType[] = Object.freeze([
  'device',
  'normal-nc',
  'normal-wt',
  'normal-wb',
]);

/**
 * The memory type to use for `wanted` on `description`: `wanted` itself if the codec can
 * express it ({@link ArchDescription.memoryTypes}), else the next type that it can express in
 * the order device → normal-nc → normal-wt → normal-wb, starting at `wanted` (a request is never
 * made more restrictive than asked, only less). A kernel maps MMIO with
 * `memoryTypeFallback(d, 'device')`.
 * @throws InvalidArgumentError if `description` is not a well-typed description, `wanted` is not
 *   a neutral memory type, or the description expresses no type at or after `wanted` in that
 *   order (a description without `normal-wb`).
 */
export function memoryTypeFallback(description: ArchDescription, wanted: MemoryType): MemoryType {
  checkDescription('architecture description', description);
  const start = MEMORY_TYPE_FALLBACK_ORDER.indexOf(wanted);
  if (start < 0) {
    throw new InvalidArgumentError('memory type', wanted, `one of ${MEMORY_TYPES.join(', ')}`);
  }
  for (let i = start; i < MEMORY_TYPE_FALLBACK_ORDER.length; i++) {
    const type = MEMORY_TYPE_FALLBACK_ORDER[i]!;
    if (description.memoryTypes.includes(type)) return type;
  }
  throw new InvalidArgumentError(
    `${description.id} memory types`,
    description.memoryTypes.join(', ') || '(none)',
    `a type at or after ${wanted} in the fallback order ${MEMORY_TYPE_FALLBACK_ORDER.join(' → ')}`,
  );
}

/**
 * The ways `decoded` disagrees with the fault a walk reported, judged by what `precision`
 * declares (empty = it matches):
 *
 * - kind: compared when `precision.kind` is true (then `'other'` does not match);
 * - level: equal to `expected.level` when `precision.level` is true, else 0 ("not reported");
 * - access: equal when `'exact'`; with `'no-fetch'` reads and writes equal and a fetch decoded
 *   as a read; with `'none'` always a read;
 * - privilege: always equal.
 *
 * @throws InvalidArgumentError naming the field unless `precision` is a {@link SyndromePrecision},
 *   `decoded` a {@link DecodedSyndrome} (kind a fault kind or `'other'`) and `expected` an
 *   {@link ExpectedFault} (levels 0–8, access 0–2, privilege 0–1).
 */
export function syndromeMismatches(
  precision: SyndromePrecision,
  decoded: DecodedSyndrome,
  expected: ExpectedFault,
): string[] {
  checkPrecision(precision);
  checkFault<DecodedSyndrome>('decoded syndrome', decoded, true);
  checkFault<ExpectedFault>('expected fault', expected, false);
  const out: string[] = [];
  if (precision.kind && decoded.kind !== expected.kind) {
    out.push(`kind ${decoded.kind}, expected ${expected.kind}`);
  }
  const level = precision.level ? expected.level : 0;
  if (decoded.level !== level) {
    out.push(
      `level ${decoded.level}, expected ${level}${precision.level ? '' : ' (precision.level is false: 0 = not reported)'}`,
    );
  }
  const access =
    precision.access === 'exact'
      ? expected.access
      : precision.access === 'no-fetch'
        ? expected.access === 2
          ? 0
          : expected.access
        : 0;
  if (decoded.access !== access) {
    const note = access !== expected.access ? ` (precision.access is ${precision.access})` : '';
    out.push(`access ${ACCESS_NAMES[decoded.access]}, expected ${ACCESS_NAMES[access]}${note}`);
  }
  if (decoded.privilege !== expected.privilege) {
    out.push(
      `privilege ${PRIVILEGE_NAMES[decoded.privilege]}, expected ${PRIVILEGE_NAMES[expected.privilege]}`,
    );
  }
  return out;
}

/**
 * True if `decoded` says what a syndrome with `precision` must say for the fault `expected`
 * (see {@link syndromeMismatches} for the rules).
 * @throws InvalidArgumentError as {@link syndromeMismatches} does.
 */
export function syndromeMatches(
  precision: SyndromePrecision,
  decoded: DecodedSyndrome,
  expected: ExpectedFault,
): boolean {
  return syndromeMismatches(precision, decoded, expected).length === 0;
}

/**
 * The bit that selects the half of a sign-extended address space (every bit above it must equal
 * it): vaBits − 1 with one root (x86-64: 47, LA57: 56), vaBits with split roots (AArch64: 48).
 * -1 when the description is not sign-extended (its VAs are `[0, 2^vaBits)`).
 * @throws InvalidArgumentError if `description` is not a well-typed description.
 */
export function vaSignBit(description: ArchDescription): number {
  checkDescription('architecture description', description);
  if (!description.signExtended) return -1;
  return description.splitRoots ? description.vaBits : description.vaBits - 1;
}

/**
 * True if the 64-bit `va` is canonical for `description`: for a sign-extended format every bit
 * above {@link vaSignBit} equals it; otherwise `va < 2^vaBits`. (Being canonical does not mean
 * being inside userRange or kernelRange.) Not a hot-path function (BigInt). `va` may also be a
 * safe-integer number; a negative value or one of 2^64 or more is not canonical.
 * @throws InvalidArgumentError if `description` is not a well-typed description, or `va` is
 *   neither a bigint nor a safe-integer number.
 */
export function isCanonicalVa(description: ArchDescription, va: bigint | number): boolean {
  checkDescription('architecture description', description);
  if (typeof va === 'number' && Number.isSafeInteger(va)) va = BigInt(va);
  if (typeof va !== 'bigint') {
    throw new InvalidArgumentError('virtual address', va, 'a bigint or a safe-integer number');
  }
  if (va < 0n || va >= 1n << 64n) return false;
  const bit = vaSignBit(description);
  if (bit < 0) return va < 1n << BigInt(description.vaBits);
  const top = va >> BigInt(bit);
  return top === 0n || top === (1n << BigInt(64 - bit)) - 1n;
}

/** What {@link sameLeafAttributes} leaves out of the comparison. */
export interface LeafComparison {
  /** Ignore the accessed and dirty state (default false). */
  readonly ignoreAccessDirty?: boolean;
  /** Ignore the contiguous hint (default false). */
  readonly ignoreContiguous?: boolean;
}

/**
 * True if `a` and `b` encode the same leaf field by field: user and kernel permissions, memory
 * type, global, software bits, accessed/dirty and the contiguous hint (an absent hint is false),
 * less what `options` ignores.
 * @throws InvalidArgumentError unless `a` and `b` are leaf attributes and `options` an object of
 *   booleans (or undefined).
 */
export function sameLeafAttributes(
  a: LeafAttributes,
  b: LeafAttributes,
  options: LeafComparison = {},
): boolean {
  const x = checkLeafAttributes('sameLeafAttributes a', a);
  const y = checkLeafAttributes('sameLeafAttributes b', b);
  const o = fields('sameLeafAttributes options', options, ['ignoreAccessDirty', 'ignoreContiguous']);
  const ad =
    o.ignoreAccessDirty === undefined ? false : checkBool('options.ignoreAccessDirty', o.ignoreAccessDirty);
  const cont =
    o.ignoreContiguous === undefined ? false : checkBool('options.ignoreContiguous', o.ignoreContiguous);
  return leafAttributesEqual(x, y, ad, cont);
}
