/**
 * libCacheSim-style csv traces (`traceReader/generalReader/csv.c`): one request per row, the
 * object id in column `objIdColumn` (1-based, libCacheSim's `obj-id-col`), parsed like `strtoull(s,
 * 0)`: `0x` hex, a leading `0` octal, otherwise decimal. A header row is detected with
 * libCacheSim's rule unless `hasHeader` is given: the first line is data if it has more digits
 * than letters, a header if it has fewer digits than letters other than a–f, and a header when
 * undecided. Surrounding spaces and double quotes of a field are removed; quoted delimiters are not
 * supported. Blank lines are skipped.
 *
 * Differences from libCacheSim: an id that is not a number, or ≥ 2^53, is an error here
 * (libCacheSim warns and uses 0, or hashes string ids when told so).
 */
import { InvalidArgumentError } from '@mmkit/core';
import { checkCallback, checkCapacity } from './checks.js';
import { decimalNumber, hexNumber, type LineContext, lineError, textBatches } from './text-trace.js';
import { DEFAULT_BATCH_SIZE, TraceReader } from './trace-reader.js';

/** Options of {@link readCsvTrace}. */
export interface CsvTraceOptions {
  /** 1-based column of the object id (libCacheSim's `obj-id-col`). */
  readonly objIdColumn: number;
  /** Whether the first line is a header; default: detected as libCacheSim does. */
  readonly hasHeader?: boolean;
  /** Field delimiter (one character; default `,`). */
  readonly delimiter?: string;
  /** Keys per batch (default 65536). */
  readonly batchSize?: number;
  /**
   * Called as bytes of the file are read (compressed bytes for gzip), adding up to the file size
   * on each pass: for a progress display.
   */
  readonly onFileBytes?: (bytes: number) => void;
}

/** libCacheSim's `csv_detect_header` applied to one line. */
export function looksLikeCsvHeader(line: string): boolean {
  let digits = 0;
  let letters = 0;
  for (const ch of line) {
    if (ch >= '0' && ch <= '9') digits++;
    else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) letters++;
  }
  // "fewer digits than letters other than a-f" and the undecided case both leave libCacheSim's
  // initial answer (a header), so only "more digits than letters" means data.
  return digits <= letters;
}

function octalNumber(buf: Uint8Array, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x37) return -1;
    v = v * 8 + (c - 0x30);
    if (v > Number.MAX_SAFE_INTEGER) return -1;
  }
  return v;
}

const decoder = new TextDecoder();

/**
 * Reads a csv trace (plain or gzip).
 * @throws InvalidArgumentError for bad options; while iterating, TraceFormatError for a row
 *   without that column or with an id that is not a number below 2^53.
 */
export function readCsvTrace(path: string, options: CsvTraceOptions): TraceReader {
  if (typeof path !== 'string') throw new InvalidArgumentError('csv path', path, 'a file path');
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('csv options', options, '{ objIdColumn, hasHeader?, delimiter? }');
  }
  const column = options.objIdColumn;
  checkCapacity('csv objIdColumn', column);
  const delimiterText = options.delimiter ?? ',';
  if (typeof delimiterText !== 'string' || delimiterText.length !== 1 || delimiterText.charCodeAt(0) > 0x7f) {
    throw new InvalidArgumentError('csv delimiter', delimiterText, 'one ASCII character');
  }
  const delimiter = delimiterText.charCodeAt(0);
  if (options.hasHeader !== undefined && typeof options.hasHeader !== 'boolean') {
    throw new InvalidArgumentError('csv hasHeader', options.hasHeader, 'a boolean (or omit it to detect)');
  }
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  checkCapacity('csv batchSize', batchSize);
  const expected = `a row whose column ${column} is an object id below 2^53 (decimal, 0x hex or 0-prefixed octal)`;
  const parse = (buf: Uint8Array, start: number, end: number, ctx: LineContext): number => {
    if (ctx.line === 1) {
      const header = options.hasHeader ?? looksLikeCsvHeader(decoder.decode(buf.subarray(start, end)));
      if (header) return -1;
    }
    if (start === end) return -1;
    let s = start;
    for (let col = 1; col < column; col++) {
      while (s < end && buf[s] !== delimiter) s++;
      if (s === end) throw lineError(buf, start, end, ctx, expected);
      s++;
    }
    let e = s;
    while (e < end && buf[e] !== delimiter) e++;
    while (s < e && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
    while (e > s && (buf[e - 1] === 0x20 || buf[e - 1] === 0x09)) e--;
    if (e - s >= 2 && buf[s] === 0x22 && buf[e - 1] === 0x22) {
      s++;
      e--;
    }
    let v: number;
    if (e - s > 2 && buf[s] === 0x30 && (buf[s + 1] === 0x78 || buf[s + 1] === 0x58))
      v = hexNumber(buf, s + 2, e);
    else if (e - s > 1 && buf[s] === 0x30) v = octalNumber(buf, s + 1, e);
    else v = decimalNumber(buf, s, e);
    if (v < 0) throw lineError(buf, start, end, ctx, expected);
    return v;
  };
  const onFileBytes = checkCallback('csv onFileBytes', options.onFileBytes);
  return new TraceReader(path, 'csv', () => textBatches(path, parse, batchSize, onFileBytes));
}
