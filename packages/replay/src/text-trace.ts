/**
 * The driver shared by the text readers: splits a byte stream into lines (LF or CRLF) without
 * decoding them, hands each line to a parser, and fills a reused batch of keys.
 */
import { readBytes } from './byte-stream.js';
import { TraceFormatError } from './errors.js';
import type { TraceBatch } from './trace-source.js';

/** Where the parser is: for error messages. */
export interface LineContext {
  readonly file: string;
  line: number;
  /** Set by a parser that knows the line's access kind (0 read, 1 write, 2 fetch). */
  kind: number;
}

/**
 * Parses one line `buf[start, end)` (no line terminator): returns a key (≥ 0) or -1 to skip the
 * line; throws {@link TraceFormatError} (see {@link lineError}) for a malformed one.
 */
export type LineParser = (buf: Uint8Array, start: number, end: number, ctx: LineContext) => number;

const decoder = new TextDecoder();

/** A {@link TraceFormatError} for the current line. */
export function lineError(
  buf: Uint8Array,
  start: number,
  end: number,
  ctx: LineContext,
  expected: string,
): TraceFormatError {
  return new TraceFormatError(
    ctx.file,
    { line: ctx.line },
    decoder.decode(buf.subarray(start, end)),
    expected,
  );
}

/**
 * Batches of the keys `parse` finds in the lines of `path`; with `withKinds`, each batch also
 * carries the `ctx.kind` the parser set for each key.
 */
export async function* textBatches(
  path: string,
  parse: LineParser,
  batchSize: number,
  onFileBytes?: (bytes: number) => void,
  withKinds = false,
): AsyncGenerator<TraceBatch> {
  const keys = new Float64Array(batchSize);
  const kinds = withKinds ? new Uint8Array(batchSize) : undefined;
  const batch: { keys: Float64Array; length: number; kinds?: Uint8Array } =
    kinds === undefined ? { keys, length: 0 } : { keys, length: 0, kinds };
  const ctx: LineContext = { file: path, line: 0, kind: 0 };
  let carry: Uint8Array | null = null;
  const handle = (buf: Uint8Array, start: number, end: number): void => {
    ctx.line++;
    if (end > start && buf[end - 1] === 0x0d) end--;
    const key = parse(buf, start, end, ctx);
    if (key >= 0) {
      if (kinds !== undefined) kinds[batch.length] = ctx.kind;
      keys[batch.length++] = key;
    }
  };
  for await (const chunk of readBytes(path, onFileBytes)) {
    let start = 0;
    if (carry !== null) {
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) {
        const joined: Uint8Array = new Uint8Array(carry.length + chunk.length);
        joined.set(carry);
        joined.set(chunk, carry.length);
        carry = joined;
        continue;
      }
      const line = new Uint8Array(carry.length + nl);
      line.set(carry);
      line.set(chunk.subarray(0, nl), carry.length);
      carry = null;
      handle(line, 0, line.length);
      start = nl + 1;
      if (batch.length === batchSize) {
        yield batch;
        batch.length = 0;
      }
    }
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      handle(chunk, start, nl);
      start = nl + 1;
      if (batch.length === batchSize) {
        yield batch;
        batch.length = 0;
      }
    }
    if (start < chunk.length) carry = chunk.slice(start);
  }
  if (carry !== null && carry.length > 0) handle(carry, 0, carry.length);
  if (batch.length > 0) yield batch;
}

/** Index of the first byte in `[start, end)` that is not a space or tab. */
export function skipSpaces(buf: Uint8Array, start: number, end: number): number {
  while (start < end && (buf[start] === 0x20 || buf[start] === 0x09)) start++;
  return start;
}

/** Value of a hex digit byte, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * The page number `address >> shift` of the hex address `buf[start, end)` (digits only, at most
 * 16), exact for every 64-bit address when `shift` ≥ 12; -1 if the text is not 1–16 hex digits.
 */
export function hexAddressToPage(buf: Uint8Array, start: number, end: number, shift: number): number {
  const n = end - start;
  if (n < 1 || n > 16) return -1;
  // hi = all but the last 8 digits, lo = the last 8 digits (32 bits).
  let hi = 0;
  let lo = 0;
  const split = end - Math.min(n, 8);
  for (let i = start; i < split; i++) {
    const v = hexValue(buf[i]!);
    if (v < 0) return -1;
    hi = hi * 16 + v;
  }
  for (let i = split; i < end; i++) {
    const v = hexValue(buf[i]!);
    if (v < 0) return -1;
    lo = lo * 16 + v;
  }
  return hi * 2 ** (32 - shift) + Math.floor(lo / 2 ** shift);
}

/** The value of hex digits `buf[start, end)` if it is below 2^53, else -1. */
export function hexNumber(buf: Uint8Array, start: number, end: number): number {
  if (end <= start) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = hexValue(buf[i]!);
    if (d < 0) return -1;
    v = v * 16 + d;
    if (v > Number.MAX_SAFE_INTEGER) return -1;
  }
  return v;
}

/** The value of decimal digits `buf[start, end)` if it is below 2^53, else -1. */
export function decimalNumber(buf: Uint8Array, start: number, end: number): number {
  if (end <= start) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
    if (v > Number.MAX_SAFE_INTEGER) return -1;
  }
  return v;
}
