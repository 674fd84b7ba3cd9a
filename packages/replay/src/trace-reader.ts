/** A re-iterable streaming trace: every `for await` reopens the file and reads it again. */
import type { TraceBatch } from './trace-source.js';

/** The formats the readers understand. */
export type TraceFormat = 'lackey' | 'pages' | 'oracle-general' | 'csv';

/**
 * A trace file read in batches (`{ keys: Float64Array, length }`, one object reused for every
 * batch). Iterating it again reads the file again, so OPT's two passes work on a file.
 */
export class TraceReader implements AsyncIterable<TraceBatch> {
  constructor(
    /** The file path (as given). */
    readonly file: string,
    readonly format: TraceFormat,
    private readonly open: () => AsyncGenerator<TraceBatch>,
  ) {}

  /** Reads the file again from the start: each `for await` is a fresh pass (OPT needs two). */
  [Symbol.asyncIterator](): AsyncIterator<TraceBatch> {
    return this.open();
  }
}

/** Default number of keys per batch. */
export const DEFAULT_BATCH_SIZE = 65536;
