/**
 * valgrind lackey `--trace-mem=yes` output: `I  addr,size` (instruction fetch), ` L addr,size`
 * (load), ` S addr,size` (store), ` M addr,size` (modify), address in hex, size in decimal.
 * One reference per line, to the page of its first byte (`addr >> 12` for 4 KiB pages; a line that
 * crosses a page boundary still counts once); `M` counts once; `I` lines are kept unless
 * `dataOnly`. valgrind's own `==pid==` lines and blank lines are skipped.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { checkCallback, checkCapacity } from './checks.js';
import {
  decimalNumber,
  hexAddressToPage,
  type LineContext,
  lineError,
  skipSpaces,
  textBatches,
} from './text-trace.js';
import { DEFAULT_BATCH_SIZE, TraceReader } from './trace-reader.js';

/** Options of {@link readLackeyTrace}. */
export interface LackeyOptions {
  /** Skip `I` (instruction) lines (default false). */
  readonly dataOnly?: boolean;
  /**
   * Attach each reference's access kind to the batches (`TraceBatch.kinds`): `L` read (0), `S` and
   * `M` write (1: a modify is a load and a store to the same bytes; the store is what the MMU must
   * allow, and it sets the dirty state), `I` fetch (2). Default false.
   */
  readonly accessKinds?: boolean;
  /** log2 of the page size (default 12, 4 KiB); from 12 to 32. */
  readonly pageShift?: number;
  /** Keys per batch (default 65536). */
  readonly batchSize?: number;
  /**
   * Called as bytes of the file are read (compressed bytes for gzip), adding up to the file size
   * on each pass: for a progress display.
   */
  readonly onFileBytes?: (bytes: number) => void;
}

const EXPECTED =
  'a lackey line: "I  addr,size", " L addr,size", " S addr,size" or " M addr,size" (hex address of 1-16 digits, decimal size), or a "==pid==" line';

/**
 * Reads a lackey trace (plain or gzip) as page numbers.
 * @throws InvalidArgumentError for bad options; while iterating, TraceFormatError for a malformed
 *   line (file, 1-based line, the text, what was expected).
 */
export function readLackeyTrace(path: string, options: LackeyOptions = {}): TraceReader {
  if (typeof path !== 'string') throw new InvalidArgumentError('lackey path', path, 'a file path');
  const dataOnly = options.dataOnly ?? false;
  const shift = options.pageShift ?? 12;
  if (!Number.isInteger(shift) || shift < 12 || shift > 32) {
    throw new InvalidArgumentError('lackey pageShift', shift, 'an integer from 12 to 32');
  }
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  checkCapacity('lackey batchSize', batchSize);
  const parse = (buf: Uint8Array, start: number, end: number, ctx: LineContext): number => {
    const s = skipSpaces(buf, start, end);
    if (s === end) return -1;
    const type = buf[s];
    if (type === 0x3d && buf[s + 1] === 0x3d) return -1; // "==pid== …"
    if (type !== 0x49 && type !== 0x4c && type !== 0x53 && type !== 0x4d) {
      throw lineError(buf, start, end, ctx, EXPECTED);
    }
    const a = skipSpaces(buf, s + 1, end);
    if (a === s + 1) throw lineError(buf, start, end, ctx, EXPECTED);
    let comma = a;
    while (comma < end && buf[comma] !== 0x2c) comma++;
    let sizeEnd = end;
    while (sizeEnd > comma + 1 && (buf[sizeEnd - 1] === 0x20 || buf[sizeEnd - 1] === 0x09)) sizeEnd--;
    const page = hexAddressToPage(buf, a, comma, shift);
    if (page < 0 || comma === end || decimalNumber(buf, comma + 1, sizeEnd) < 0) {
      throw lineError(buf, start, end, ctx, EXPECTED);
    }
    if (dataOnly && type === 0x49) return -1;
    ctx.kind = type === 0x4c ? 0 : type === 0x49 ? 2 : 1;
    return page;
  };
  const onFileBytes = checkCallback('lackey onFileBytes', options.onFileBytes);
  const accessKinds = options.accessKinds ?? false;
  if (typeof accessKinds !== 'boolean') {
    throw new InvalidArgumentError('lackey accessKinds', accessKinds, 'a boolean');
  }
  return new TraceReader(path, 'lackey', () => textBatches(path, parse, batchSize, onFileBytes, accessKinds));
}
