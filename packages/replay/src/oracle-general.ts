/**
 * libCacheSim's `oracleGeneral` binary traces (`traceReader/customizedReader/oracle/
 * oracleGeneralBin.h`): packed little-endian 24-byte records
 *
 * ```
 *  offset 0   uint32 clock_time
 *  offset 4   uint64 obj_id
 *  offset 12  uint32 obj_size
 *  offset 16  int64  next_access_vtime   (-1 or INT64_MAX: never again)
 * ```
 *
 * The key is `obj_id` (it must be below 2^53). Records with `obj_size` 0 are skipped, as
 * libCacheSim's readers do by default (`ignore_size_zero_req`), unless `keepZeroSize`. Object
 * sizes are otherwise ignored: every object is one page, as with libCacheSim's
 * `--ignore-obj-size`. Gzip-compressed files are accepted; offsets count decompressed bytes.
 */
import { InvalidArgumentError } from '@mmkit/core';
import { readBytes } from './byte-stream.js';
import { checkCallback, checkCapacity } from './checks.js';
import { TraceFormatError } from './errors.js';
import { DEFAULT_BATCH_SIZE, TraceReader } from './trace-reader.js';

/** Size of one oracleGeneral record in bytes. */
export const ORACLE_GENERAL_RECORD_BYTES = 24;

/** Options of {@link readOracleGeneralTrace}. */
export interface OracleGeneralOptions {
  /** Keep records whose `obj_size` is 0 (default false: skipped like libCacheSim). */
  readonly keepZeroSize?: boolean;
  /** Keys per batch (default 65536). */
  readonly batchSize?: number;
  /**
   * Called as bytes of the file are read (compressed bytes for gzip), adding up to the file size
   * on each pass: for a progress display.
   */
  readonly onFileBytes?: (bytes: number) => void;
}

const RECORD = ORACLE_GENERAL_RECORD_BYTES;

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Reads an oracleGeneral binary trace (plain or gzip).
 * @throws InvalidArgumentError for bad options; while iterating, TraceFormatError for a truncated
 *   final record or an `obj_id` ≥ 2^53 (file and byte offset of the record).
 */
export function readOracleGeneralTrace(path: string, options: OracleGeneralOptions = {}): TraceReader {
  if (typeof path !== 'string') throw new InvalidArgumentError('oracleGeneral path', path, 'a file path');
  const keepZero = options.keepZeroSize ?? false;
  const onFileBytes = checkCallback('oracleGeneral onFileBytes', options.onFileBytes);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  checkCapacity('oracleGeneral batchSize', batchSize);
  async function* batches() {
    const keys = new Float64Array(batchSize);
    const batch = { keys, length: 0 };
    const pending = new Uint8Array(RECORD);
    let pendingLength = 0;
    let offset = 0; // byte offset of the next record
    const record = (view: DataView, at: number, bytes: Uint8Array): void => {
      const lo = view.getUint32(at + 4, true);
      const hi = view.getUint32(at + 8, true);
      const size = view.getUint32(at + 12, true);
      if (hi >= 0x200000) {
        throw new TraceFormatError(
          path,
          { byteOffset: offset },
          `record ${hexBytes(bytes.subarray(at, at + RECORD))}`,
          'an obj_id below 2^53 (uint64 at record offset 4)',
        );
      }
      offset += RECORD;
      if (size === 0 && !keepZero) return;
      keys[batch.length++] = hi * 4294967296 + lo;
    };
    for await (const chunk of readBytes(path, onFileBytes)) {
      let at = 0;
      if (pendingLength > 0) {
        const take = Math.min(RECORD - pendingLength, chunk.length);
        pending.set(chunk.subarray(0, take), pendingLength);
        pendingLength += take;
        at = take;
        if (pendingLength < RECORD) continue;
        record(new DataView(pending.buffer), 0, pending);
        pendingLength = 0;
        if (batch.length === batchSize) {
          yield batch;
          batch.length = 0;
        }
      }
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      while (at + RECORD <= chunk.length) {
        record(view, at, chunk);
        at += RECORD;
        if (batch.length === batchSize) {
          yield batch;
          batch.length = 0;
        }
      }
      if (at < chunk.length) {
        pending.set(chunk.subarray(at), 0);
        pendingLength = chunk.length - at;
      }
    }
    if (pendingLength > 0) {
      throw new TraceFormatError(
        path,
        { byteOffset: offset },
        `${pendingLength} trailing byte(s): ${hexBytes(pending.subarray(0, pendingLength))}`,
        'a complete 24-byte oracleGeneral record (uint32 time, uint64 obj_id, uint32 obj_size, int64 next_access_vtime)',
      );
    }
    if (batch.length > 0) yield batch;
  }
  return new TraceReader(path, 'oracle-general', batches);
}
