/**
 * {@link replayOnMachine}: a machine replay (`machine-replay.ts`) of a whole trace source — an
 * array, `{ pages, kinds }`, an iterable of page numbers or a reader's stream of batches.
 */
import { InvalidArgumentError } from '@mmkit/core';
import type { TraceBatch, TraceSource } from '@mmkit/replay';
import { MachineReplay } from './machine-replay.js';
import {
  check,
  type MachineReplayOptions,
  type MachineReplayResult,
  type MachineTrace,
} from './machine-replay-types.js';

const CHUNK = 65536;

function isMachineTrace(s: unknown): s is MachineTrace {
  return typeof s === 'object' && s !== null && 'pages' in s && !ArrayBuffer.isView(s) && !Array.isArray(s);
}

function isArrayLike(value: unknown): value is ArrayLike<number> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/**
 * Replays `source` on a booted machine (a {@link MachineReplay}: the layout rule and what is
 * counted are in the documentation of `machine-replay.ts` and the package README) and returns what
 * the machine did. `source` is an in-memory trace (an array of page numbers, or `{ pages, kinds }`),
 * an iterable of page numbers, or a stream of batches (`@mmkit/replay`'s readers; with their
 * `kinds`, e.g. `readLackeyTrace(file, { accessKinds: true })`).
 * @throws ScenarioError for a machine that does not exist; InvalidArgumentError for another bad
 *   option, a source of the wrong type, a bad page number or access kind (naming its position);
 *   whatever the reader throws (TraceFormatError for a malformed file).
 */
export async function replayOnMachine(
  source: TraceSource | MachineTrace,
  options: MachineReplayOptions,
): Promise<MachineReplayResult> {
  const m = new MachineReplay(options);
  if (isMachineTrace(source)) {
    const { pages, kinds } = source;
    check(isArrayLike(pages), 'trace pages', pages, 'an array of page numbers');
    check(kinds === undefined || isArrayLike(kinds), 'trace kinds', kinds, 'an array of access kinds');
    check(
      kinds === undefined || kinds.length === pages.length,
      'trace kinds length',
      kinds?.length,
      `${pages.length} (one kind per page)`,
    );
    feedArray(m, pages, kinds);
  } else if (isArrayLike(source)) {
    feedArray(m, source, undefined);
  } else if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) {
    for await (const b of source as AsyncIterable<TraceBatch>) {
      if (!m.feed(b.keys, b.kinds, 0, b.length)) break;
    }
  } else if (source !== null && typeof source === 'object' && Symbol.iterator in source) {
    const buf = new Float64Array(CHUNK);
    let n = 0;
    for (const k of source as Iterable<number>) {
      buf[n++] = typeof k === 'number' ? k : Number.NaN;
      if (n === CHUNK) {
        if (!m.feed(buf, undefined, 0, n)) break;
        n = 0;
      }
    }
    if (n > 0) m.feed(buf, undefined, 0, n);
  } else {
    throw new InvalidArgumentError(
      'trace',
      source,
      'an array of page numbers, { pages, kinds }, an iterable of page numbers, or an async iterable of batches (a trace reader)',
    );
  }
  return m.result();
}

function feedArray(m: MachineReplay, pages: ArrayLike<number>, kinds: ArrayLike<number> | undefined): void {
  for (let s = 0; s < pages.length; s += CHUNK) {
    if (!m.feed(pages, kinds, s, Math.min(pages.length, s + CHUNK))) return;
  }
}
