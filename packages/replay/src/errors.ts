/**
 * Errors of `@mmkit/replay`. Misuse of a policy (a negative key, inserting a resident page) throws
 * core's `InvalidArgumentError`; a trace that does not follow its format throws
 * {@link TraceFormatError}.
 */
import { describeValue, MmError } from '@mmkit/core';

/** Where in a trace file a problem is: a 1-based line (text formats) or a byte offset (binary). */
export type TracePosition = { readonly line: number } | { readonly byteOffset: number };

/**
 * A trace file that does not follow its format: a malformed line, a truncated binary record, a
 * value out of range. The message is one line: `file:line: found "text"; expected …` (or
 * `file@byte N: …` for binary formats). Byte offsets count bytes of the decompressed stream.
 */
export class TraceFormatError extends MmError {
  /** 1-based line number for text formats, `undefined` for binary ones. */
  readonly line: number | undefined;
  /** Byte offset (of the decompressed stream) for binary formats, `undefined` for text ones. */
  readonly byteOffset: number | undefined;

  constructor(
    readonly file: string,
    position: TracePosition,
    /** The offending text (a line, or a rendering of the bytes found). */
    readonly found: string,
    /** What the reader expected there. */
    readonly expected: string,
  ) {
    const where = 'line' in position ? `${file}:${position.line}` : `${file}@byte ${position.byteOffset}`;
    super('E_TRACE_FORMAT', `${where}: found ${describeValue(found)}; expected ${expected}`);
    this.line = 'line' in position ? position.line : undefined;
    this.byteOffset = 'byteOffset' in position ? position.byteOffset : undefined;
  }
}
