/** Every policy by name, and a factory that creates one from its name. */
import { InvalidArgumentError } from '@mmkit/core';
import { createArcPolicy } from './arc.js';
import { createClockPolicy } from './clock.js';
import { createFifoPolicy } from './fifo.js';
import { createLfuPolicy } from './lfu.js';
import { createLruPolicy } from './lru.js';
import { createOptPolicy } from './opt.js';
import type { ReplacementPolicy } from './policy.js';
import { createSievePolicy } from './sieve.js';
import { createTwoListPolicy } from './two-list.js';
import { createTwoQPolicy } from './two-q.js';
import { createWsClockPolicy } from './ws-clock.js';

/** The names {@link createPolicy} accepts. */
export const POLICY_NAMES = [
  'fifo',
  'clock',
  'lru',
  'opt',
  'lfu',
  'arc',
  '2q',
  'sieve',
  'two-list',
  'wsclock',
] as const;

/** A policy name. */
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Options of {@link createPolicy}. */
export interface CreatePolicyOptions {
  /** OPT only (required): the next-use array of the trace to replay. */
  readonly nextUse?: Float64Array;
  /** WSClock only: τ (default 4 × capacity). */
  readonly tau?: number;
  /** Two-list only: pages per GiB for `inactive_is_low` (default 2^18). */
  readonly pagesPerGiB?: number;
}

/** True if `name` is a policy name. */
export function isPolicyName(name: unknown): name is PolicyName {
  return typeof name === 'string' && (POLICY_NAMES as readonly string[]).includes(name);
}

/**
 * Creates the policy called `name` with room for `capacity` pages.
 * @throws InvalidArgumentError for an unknown name, a bad capacity, or OPT without `nextUse`.
 */
export function createPolicy(
  name: PolicyName,
  capacity: number,
  options: CreatePolicyOptions = {},
): ReplacementPolicy {
  switch (name) {
    case 'fifo':
      return createFifoPolicy(capacity);
    case 'clock':
      return createClockPolicy(capacity);
    case 'lru':
      return createLruPolicy(capacity);
    case 'opt':
      if (!(options.nextUse instanceof Float64Array)) {
        throw new InvalidArgumentError(
          'opt nextUse',
          options.nextUse,
          'the Float64Array from computeNextUse(trace)',
        );
      }
      return createOptPolicy(capacity, options.nextUse);
    case 'lfu':
      return createLfuPolicy(capacity);
    case 'arc':
      return createArcPolicy(capacity);
    case '2q':
      return createTwoQPolicy(capacity);
    case 'sieve':
      return createSievePolicy(capacity);
    case 'two-list':
      return createTwoListPolicy(
        capacity,
        options.pagesPerGiB === undefined ? {} : { pagesPerGiB: options.pagesPerGiB },
      );
    case 'wsclock':
      return createWsClockPolicy(capacity, options.tau === undefined ? {} : { tau: options.tau });
    default:
      throw new InvalidArgumentError('policy name', name, `one of ${POLICY_NAMES.join(', ')}`);
  }
}
