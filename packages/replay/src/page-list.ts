/**
 * Plain page-number lists: one number per line, decimal or `0x`-prefixed hex, either a page number
 * (`unit: 'page'`, the default) or a byte address (`unit: 'address'`, reduced to its page with
 * `pageShift`). Blank lines and lines starting with `#` are skipped; spaces around the number are
 * allowed.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { checkCallback, checkCapacity } from './checks.js';
import {
  decimalNumber,
  hexAddressToPage,
  hexNumber,
  type LineContext,
  lineError,
  skipSpaces,
  textBatches,
} from './text-trace.js';
import { DEFAULT_BATCH_SIZE, TraceReader } from './trace-reader.js';

/** Options of {@link readPageListTrace}. */
export interface PageListOptions {
  /** What the numbers are: page numbers (default) or byte addresses. */
  readonly unit?: 'page' | 'address';
  /** log2 of the page size for addresses (default 12); from 12 to 32. */
  readonly pageShift?: number;
  /** Keys per batch (default 65536). */
  readonly batchSize?: number;
  /**
   * Called as bytes of the file are read (compressed bytes for gzip), adding up to the file size
   * on each pass: for a progress display.
   */
  readonly onFileBytes?: (bytes: number) => void;
}

/**
 * Reads a page-number list (plain or gzip).
 * @throws InvalidArgumentError for bad options; while iterating, TraceFormatError for a malformed
 *   line.
 */
export function readPageListTrace(path: string, options: PageListOptions = {}): TraceReader {
  if (typeof path !== 'string') throw new InvalidArgumentError('page list path', path, 'a file path');
  const unit = options.unit ?? 'page';
  if (unit !== 'page' && unit !== 'address') {
    throw new InvalidArgumentError('page list unit', unit, '"page" or "address"');
  }
  const shift = options.pageShift ?? 12;
  if (!Number.isInteger(shift) || shift < 12 || shift > 32) {
    throw new InvalidArgumentError('page list pageShift', shift, 'an integer from 12 to 32');
  }
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  checkCapacity('page list batchSize', batchSize);
  const expected =
    unit === 'page'
      ? 'a page number below 2^53 (decimal, or hex with 0x), a blank line or a # comment'
      : 'an address (decimal below 2^53, or hex with 0x up to 16 digits), a blank line or a # comment';
  const parse = (buf: Uint8Array, start: number, end: number, ctx: LineContext): number => {
    const s = skipSpaces(buf, start, end);
    let e = end;
    while (e > s && (buf[e - 1] === 0x20 || buf[e - 1] === 0x09)) e--;
    if (s === e || buf[s] === 0x23) return -1;
    const hex = e - s > 2 && buf[s] === 0x30 && (buf[s + 1] === 0x78 || buf[s + 1] === 0x58);
    let v: number;
    if (unit === 'page') {
      v = hex ? hexNumber(buf, s + 2, e) : decimalNumber(buf, s, e);
    } else if (hex) {
      v = hexAddressToPage(buf, s + 2, e, shift);
    } else {
      const a = decimalNumber(buf, s, e);
      v = a < 0 ? -1 : Math.floor(a / 2 ** shift);
    }
    if (v < 0) throw lineError(buf, start, end, ctx, expected);
    return v;
  };
  const onFileBytes = checkCallback('pages onFileBytes', options.onFileBytes);
  return new TraceReader(path, 'pages', () => textBatches(path, parse, batchSize, onFileBytes));
}
