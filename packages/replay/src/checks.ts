/** Argument checks shared by the policies and readers (thrown errors name the value). */
import { InvalidArgumentError } from '@mmkit/core';

/** Largest page key (keys are safe integers). */
export const MAX_KEY = Number.MAX_SAFE_INTEGER;

/** @throws InvalidArgumentError unless `key` is a non-negative safe integer. */
export function checkKey(what: string, key: unknown): asserts key is number {
  if (typeof key !== 'number' || !Number.isSafeInteger(key) || key < 0) {
    throw new InvalidArgumentError(what, key, 'a page number: a non-negative safe integer (< 2^53)');
  }
}

/** @throws InvalidArgumentError unless `capacity` is an integer from `min` to 2^30. */
export function checkCapacity(what: string, capacity: unknown, min = 1): asserts capacity is number {
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < min || capacity > 2 ** 30) {
    throw new InvalidArgumentError(what, capacity, `a number of pages, an integer from ${min} to 2^30`);
  }
}

/**
 * The precondition of `insert`: a valid key, not resident, and room for it.
 * @throws InvalidArgumentError otherwise.
 */
export function checkInsert(
  policy: {
    readonly name: string;
    readonly size: number;
    readonly capacity: number;
    has(key: number): boolean;
  },
  key: unknown,
): asserts key is number {
  checkKey(`${policy.name}.insert key`, key);
  if (policy.has(key))
    throw new InvalidArgumentError(`${policy.name}.insert key`, key, 'a key that is not resident');
  if (policy.size >= policy.capacity) {
    throw new InvalidArgumentError(
      `${policy.name}.insert key`,
      key,
      `room for it: the policy is full (${policy.capacity} pages); call selectVictim first`,
    );
  }
}

/** @throws InvalidArgumentError unless `fn` is undefined or a function; returns it. */
export function checkCallback<T extends (...args: never[]) => unknown>(
  what: string,
  fn: T | undefined,
): T | undefined {
  if (fn !== undefined && typeof fn !== 'function') {
    throw new InvalidArgumentError(what, fn, 'a function or undefined');
  }
  return fn;
}
