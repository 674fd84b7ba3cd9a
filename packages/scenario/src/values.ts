/**
 * The value syntax of scenario steps: addresses with symbols, sizes, permissions, integers.
 * Each parser returns the value or `undefined` for text it does not accept (the caller knows the
 * field and says what was expected).
 */

const NUM = '(?:0x[0-9a-f]+(?:_[0-9a-f]+)*|0b[01]+(?:_[01]+)*|[0-9]+(?:_[0-9]+)*)';
const NAME = '[a-z_][a-z0-9_.]*(?:-[a-z_][a-z0-9_.]*)*';
const NUM_RE = new RegExp(`^${NUM}$`, 'i');
const NAME_RE = new RegExp(`^${NAME}$`, 'i');
const ADDR_RE = new RegExp(`^\\s*(?:(${NAME})\\s*(?:([+-])\\s*(${NUM}))?|(${NUM}))\\s*$`, 'i');
const SIZE_RE = new RegExp(`^\\s*(${NUM})\\s*(?:([KMGT])(?:i?B)?|(B)|(pages?))?\\s*$`, 'i');
const UNIT_SHIFT: Readonly<Record<string, bigint>> = { K: 10n, M: 20n, G: 30n, T: 40n };
const U64 = 1n << 64n;

/** What an address field accepts, for error messages. */
export const ADDRESS_SYNTAX =
  'an address: a number (0x…, decimal), a name defined by an earlier step or a layout symbol, or name+0x… / name-0x…';
/** What a size field accepts, for error messages. */
export const SIZE_SYNTAX =
  'a byte count: a number (0x3000, 12288), 12K / 2M / 1G (powers of 1024) or "3 pages"';
/** What a name (`as`) accepts. */
export const NAME_SYNTAX =
  'a name: letters, digits, _, . and - between words, starting with a letter or _ (e.g. buf, stack-copy)';
/** What `prot` accepts. */
export const PROT_SYNTAX = 'permissions as /proc/PID/maps shows them: rw-, r-x, r--, rwx, --- (or none)';

/** An address expression: a symbol plus an offset, or an absolute value (`base` undefined). */
export interface ParsedAddress {
  readonly base: string | undefined;
  readonly offset: bigint;
}

/** Parses a number (`0x…`, `0b…`, decimal, `_` between digits) below 2^64. */
export function parseNumber(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n && value < U64 ? value : undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const t = value.trim();
  if (!NUM_RE.test(t)) return undefined;
  const v = BigInt(t.replace(/_/g, ''));
  return v < U64 ? v : undefined;
}

/** True if `text` is a valid name for `as`. */
export function isName(text: unknown): text is string {
  return typeof text === 'string' && NAME_RE.test(text);
}

/** Parses an address expression. */
export function parseAddress(value: unknown): ParsedAddress | undefined {
  if (typeof value !== 'string') {
    const n = parseNumber(value);
    return n === undefined ? undefined : { base: undefined, offset: n };
  }
  const m = ADDR_RE.exec(value);
  if (!m) return undefined;
  if (m[4] !== undefined) {
    const n = parseNumber(m[4]);
    return n === undefined ? undefined : { base: undefined, offset: n };
  }
  const off = m[3] === undefined ? 0n : parseNumber(m[3]);
  if (off === undefined) return undefined;
  return { base: m[1], offset: m[2] === '-' ? -off : off };
}

/** Parses a size (bytes); `pageBytes` converts `N pages` (4096 for every mmkit format). */
export function parseSizeExpr(value: unknown, pageBytes = 4096): bigint | undefined {
  if (typeof value !== 'string') return parseNumber(value);
  const m = SIZE_RE.exec(value);
  if (!m) return undefined;
  const n = parseNumber(m[1]);
  if (n === undefined) return undefined;
  const v = m[4] ? n * BigInt(pageBytes) : n << (m[2] ? UNIT_SHIFT[m[2].toUpperCase()]! : 0n);
  return v < U64 ? v : undefined;
}

/** Parses `rw-`-style permissions into PROT_* bits (READ 1, WRITE 2, EXEC 4). */
export function parseProt(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = value.trim().toLowerCase();
  if (t === 'none') return 0;
  const m = /^([r-])([w-])([x-])$/.exec(t);
  if (!m) return undefined;
  return (m[1] === 'r' ? 1 : 0) | (m[2] === 'w' ? 2 : 0) | (m[3] === 'x' ? 4 : 0);
}

/** Parses hex bytes (`d2800540 d65f03c0`, spaces and `_` allowed). */
export function parseHexBytes(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined;
  const t = value.replace(/[\s_]/g, '').replace(/^0x/i, '');
  if (t.length === 0 || t.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(t)) return undefined;
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}
