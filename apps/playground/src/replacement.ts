/**
 * The Replacement view's model: a reference string run through `@mmkit/replay` policies (the same
 * objects the kernel's reclaim and `mmkit replay` use), one reference at a time, keeping each
 * policy's `state()` after every reference so the view can step back and forth. Loaded lazily with
 * the view (it is not part of the first screen).
 */
import {
  computeNextUseSync,
  createPolicy,
  POLICY_NAMES,
  type PolicyName,
  type PolicyState,
} from '@mmkit/replay/policies';

/** Most references the view runs (a lecture's string is a few dozen). */
export const MAX_REFERENCES = 500;
/** Most frames a run may have. */
export const MAX_FRAMES = 64;

/** Belady's anomaly: FIFO takes 9 faults with 3 frames and 10 with 4 on this string. */
export const BELADY = { references: '1 2 3 4 1 2 5 1 2 3 4 5', frames: '3, 4', policies: ['fifo'] } as const;

/** One policy with one frame count, run over the whole string. */
export interface PolicyRun {
  readonly policy: PolicyName;
  readonly frames: number;
  /** Per reference: true on a hit. */
  readonly hits: readonly boolean[];
  /** Per reference: the page evicted by it (or -1). */
  readonly evicted: readonly number[];
  /** `states[i]`: the policy after `i` references (`states[0]` is empty). */
  readonly states: readonly PolicyState[];
}

/** A reference string, frame counts or policy list that cannot be run: the message says which and why. */
export class ReplacementInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplacementInputError';
  }
}

/**
 * Parses a reference string: page numbers (decimal, or 0x… hex) separated by spaces or commas.
 * @throws ReplacementInputError naming the first bad item.
 */
export function parseReferences(text: string): number[] {
  const items = text.split(/[\s,]+/).filter((s) => s !== '');
  if (items.length === 0)
    throw new ReplacementInputError(
      'the reference string is empty; expected page numbers such as 1 2 3 4 1 2 5',
    );
  if (items.length > MAX_REFERENCES)
    throw new ReplacementInputError(
      `the reference string has ${items.length} references; expected at most ${MAX_REFERENCES}`,
    );
  return items.map((s, i) => {
    if (!/^(?:0x[0-9a-f]+|[0-9]+)$/i.test(s))
      throw new ReplacementInputError(
        `reference ${i + 1} "${s}" is not a page number; expected a decimal or 0x… hex number`,
      );
    const v = Number(s);
    if (!Number.isSafeInteger(v))
      throw new ReplacementInputError(`reference ${i + 1} "${s}" is too large; expected a number below 2^53`);
    return v;
  });
}

/**
 * Parses one or more frame counts (`3` or `3, 4`: one run per count, side by side).
 * @throws ReplacementInputError naming the bad count.
 */
export function parseFrames(text: string): number[] {
  const items = text.split(/[\s,]+/).filter((s) => s !== '');
  if (items.length === 0)
    throw new ReplacementInputError('frames is empty; expected a count such as 3, or 3, 4');
  if (items.length > 4)
    throw new ReplacementInputError(`frames lists ${items.length} counts; expected at most 4`);
  return items.map((s) => {
    const v = /^[0-9]+$/.test(s) ? Number(s) : Number.NaN;
    if (!(v >= 1 && v <= MAX_FRAMES))
      throw new ReplacementInputError(`frames "${s}" is not a count from 1 to ${MAX_FRAMES}`);
    return v;
  });
}

/** Runs `policy` with `frames` frames over `refs`, keeping its state after every reference. */
export function runPolicy(policy: PolicyName, frames: number, refs: readonly number[]): PolicyRun {
  const p = createPolicy(policy, frames, policy === 'opt' ? { nextUse: computeNextUseSync(refs) } : {});
  const hits: boolean[] = [];
  const evicted: number[] = [];
  const states: PolicyState[] = [p.state()];
  let before = new Set<number>();
  for (const key of refs) {
    hits.push(p.access(key));
    const s = p.state();
    const now = new Set<number>(s.resident);
    evicted.push([...before].find((k) => !now.has(k)) ?? -1);
    before = now;
    states.push(s);
  }
  return { policy, frames, hits, evicted, states };
}

/** Every (policy, frame count) pair, in the order given. */
export function runAll(
  policies: readonly PolicyName[],
  frames: readonly number[],
  refs: readonly number[],
): PolicyRun[] {
  return policies.flatMap((p) => frames.map((f) => runPolicy(p, f, refs)));
}

/** Faults of a run after its first `position` references. */
export function faultsAt(run: PolicyRun, position: number): number {
  let n = 0;
  for (let i = 0; i < position && i < run.hits.length; i++) if (!run.hits[i]) n++;
  return n;
}

export { POLICY_NAMES, type PolicyName };
