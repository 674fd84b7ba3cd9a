/**
 * The conformance check every {@link ReplacementPolicy} must pass — the built-in ones and any
 * future one. It drives random operation sequences (a seeded generator, so a failure replays) and
 * throws an `Error` describing the first broken rule:
 *
 * 1. A new policy is empty; `capacity` and `name` are as created; `selectVictim()` on an empty
 *    policy returns -1.
 * 2. `access`: a hit iff the key was resident before; the key is resident afterwards (unless the
 *    policy declines to admit, which only 2Q with Kin = 0 does); `size ≤ capacity` always; only
 *    keys that were resident disappear, and at most two per miss (2Q's ghost promotion).
 * 3. Kernel operations: `insert` of a resident key or into a full policy throws
 *    `InvalidArgumentError`; `insert` returns -1 or a key that is then not resident; `remove`
 *    returns whether the key was resident and leaves it non-resident; `selectVictim` returns a key
 *    that was resident and is not any more; `referenced` returns residency and changes no residency.
 * 4. Callbacks: `isReferenced` and `clearReferenced` are only called with resident keys, and
 *    `clearReferenced(k, activated)` only after `isReferenced(k)` returned true in the same call,
 *    with a boolean `activated`.
 * 5. `state()` agrees with `size`, and its `resident` list holds exactly the resident keys.
 * 6. `access` behaves exactly like the kernel sequence `has → referenced`, or `while full:
 *    selectVictim(…, key)` then `insert(key)` (plus the extra key `insert` returns): two instances
 *    driven the two ways on the same random string give the same hits and resident sets.
 * 7. `reset()` empties the policy.
 */
import { isMmError } from '@mmkit/core';
import type { ReplacementPolicy } from './policy.js';

/** Options of {@link checkPolicyConformance}. */
export interface ConformanceOptions {
  /** Creates a fresh policy with room for `capacity` pages. */
  readonly create: (capacity: number) => ReplacementPolicy;
  /** Sizes to check (default 1, 2, 3, 4, 5, 8). */
  readonly capacities?: readonly number[];
  /** Random operations per size and seed (default 400). */
  readonly steps?: number;
  /** Seeds (default 1, 2, 3). */
  readonly seeds?: readonly number[];
}

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fail(policy: ReplacementPolicy, context: string, message: string): never {
  throw new Error(`${policy.name} (capacity ${policy.capacity}) ${context}: ${message}`);
}

function throwsInvalidArgument(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    return isMmError(e) && e.code === 'E_INVALID_ARGUMENT';
  }
}

/**
 * Runs the conformance rules against the policy `options.create` makes.
 * @throws Error naming the policy, the size, the seed, the step and the broken rule.
 */
export function checkPolicyConformance(options: ConformanceOptions): void {
  const capacities = options.capacities ?? [1, 2, 3, 4, 5, 8];
  const steps = options.steps ?? 400;
  const seeds = options.seeds ?? [1, 2, 3];
  for (const capacity of capacities) {
    for (const seed of seeds) {
      checkOne(options.create, capacity, steps, seed);
      checkEquivalence(options.create, capacity, steps, seed);
    }
  }
}

function checkOne(
  create: (capacity: number) => ReplacementPolicy,
  capacity: number,
  steps: number,
  seed: number,
): void {
  const policy = create(capacity);
  const random = rng(seed);
  // Keys: a small universe plus keys above 2^32 and near 2^53 (heap numbers, hashing).
  const universe: number[] = [];
  for (let k = 0; k < 2 * capacity + 3; k++) universe.push(k);
  universe.push(2 ** 32 + 5, 2 ** 52 + 7, Number.MAX_SAFE_INTEGER);
  const resident = new Set<number>();
  const pick = () => universe[Math.floor(random() * universe.length)]!;
  const where = (step: number, op: string) => `seed ${seed} step ${step} ${op}`;

  if (policy.capacity !== capacity) fail(policy, 'new', `capacity is ${policy.capacity}`);
  if (policy.size !== 0) fail(policy, 'new', `size is ${policy.size}, expected 0`);
  if (policy.selectVictim() !== -1)
    fail(policy, 'new', 'selectVictim() on an empty policy did not return -1');

  const sync = (context: string, allowedGone: number, mustStay: number) => {
    let gone = 0;
    for (const k of universe) {
      const has = policy.has(k);
      if (has && !resident.has(k) && k !== mustStay)
        fail(policy, context, `key ${k} became resident unasked`);
      if (!has && resident.has(k)) {
        gone++;
        resident.delete(k);
      }
      if (has) resident.add(k);
    }
    if (gone > allowedGone) fail(policy, context, `${gone} keys left, at most ${allowedGone} may`);
    if (policy.size !== resident.size)
      fail(policy, context, `size ${policy.size} but ${resident.size} keys resident`);
    if (policy.size > policy.capacity) fail(policy, context, `size ${policy.size} exceeds the capacity`);
  };

  for (let step = 0; step < steps; step++) {
    const r = random();
    const key = pick();
    if (r < 0.45) {
      const before = resident.has(key);
      const hit = policy.access(key);
      const context = where(step, `access(${key})`);
      if (hit !== before)
        fail(policy, context, `returned ${hit} but the key was ${before ? '' : 'not '}resident`);
      if (!hit) resident.add(key);
      sync(context, before ? 0 : 2, key);
      if (!policy.has(key) && policy.name !== '2q')
        fail(policy, context, 'the key is not resident after access');
    } else if (r < 0.6) {
      const context = where(step, `insert(${key})`);
      if (resident.has(key)) {
        if (!throwsInvalidArgument(() => policy.insert(key)))
          fail(policy, context, 'inserting a resident key did not throw');
      } else if (policy.size >= policy.capacity) {
        if (!throwsInvalidArgument(() => policy.insert(key)))
          fail(policy, context, 'inserting into a full policy did not throw');
      } else {
        const dropped = policy.insert(key);
        resident.add(key);
        if (dropped !== -1 && policy.has(dropped))
          fail(policy, context, `returned ${dropped}, which is still resident`);
        if (dropped !== -1 && !resident.has(dropped))
          fail(policy, context, `returned ${dropped}, which was not resident`);
        sync(context, dropped === -1 ? 0 : 1, key);
      }
    } else if (r < 0.7) {
      const context = where(step, `remove(${key})`);
      const was = resident.has(key);
      if (policy.remove(key) !== was) fail(policy, context, `did not return ${was}`);
      if (policy.has(key)) fail(policy, context, 'the key is still resident');
      resident.delete(key);
      sync(context, 0, -1);
    } else if (r < 0.8) {
      const context = where(step, `referenced(${key})`);
      if (policy.referenced(key) !== resident.has(key))
        fail(policy, context, `did not return ${resident.has(key)}`);
      sync(context, 0, -1);
    } else if (r < 0.95) {
      const context = where(step, 'selectVictim');
      const hardware = new Set<number>();
      for (const k of resident) if (random() < 0.5) hardware.add(k);
      const asked = new Set<number>();
      const isReferenced = (k: number) => {
        if (!resident.has(k)) fail(policy, context, `isReferenced(${k}) for a non-resident key`);
        const set = hardware.has(k);
        if (set) asked.add(k);
        return set;
      };
      const clearReferenced = (k: number, activated: boolean) => {
        if (!asked.has(k)) fail(policy, context, `clearReferenced(${k}) without isReferenced(${k}) = true`);
        if (typeof activated !== 'boolean')
          fail(policy, context, `clearReferenced(${k}, ${String(activated)}): activated is not a boolean`);
        hardware.delete(k);
        asked.delete(k);
      };
      const size: number = policy.size;
      const victim = policy.selectVictim(isReferenced, clearReferenced, random() < 0.5 ? key : undefined);
      if (size === 0) {
        if (victim !== -1) fail(policy, context, `returned ${victim} from an empty policy`);
      } else {
        if (!resident.has(victim)) fail(policy, context, `returned ${victim}, which was not resident`);
        if (policy.has(victim)) fail(policy, context, `returned ${victim}, which is still resident`);
        if (policy.size !== size - 1) fail(policy, context, `size went from ${size} to ${policy.size}`);
      }
      sync(context, size === 0 ? 0 : 1, -1);
    } else {
      const context = where(step, 'state()');
      const state = policy.state();
      if (state.size !== policy.size)
        fail(policy, context, `state().size ${state.size} ≠ size ${policy.size}`);
      const listed = [...state.resident].sort((a, b) => a - b).join(',');
      const expected = [...resident].sort((a, b) => a - b).join(',');
      if (listed !== expected)
        fail(policy, context, `state().resident is [${listed}], expected [${expected}]`);
    }
  }
  policy.reset();
  if (policy.size !== 0) fail(policy, 'reset()', `size is ${policy.size}`);
  for (const k of universe) if (policy.has(k)) fail(policy, 'reset()', `key ${k} still resident`);
}

function checkEquivalence(
  create: (capacity: number) => ReplacementPolicy,
  capacity: number,
  steps: number,
  seed: number,
): void {
  const a = create(capacity);
  const b = create(capacity);
  const random = rng(seed * 7919 + 1);
  const keys = 2 * capacity + 2;
  for (let step = 0; step < steps; step++) {
    const key = Math.floor(random() * keys);
    const hitA = a.access(key);
    let hitB: boolean;
    if (b.has(key)) {
      b.referenced(key);
      hitB = true;
    } else {
      while (b.size >= b.capacity) b.selectVictim(undefined, undefined, key);
      b.insert(key);
      hitB = false;
    }
    const context = `seed ${seed} step ${step} key ${key}`;
    if (hitA !== hitB) fail(a, context, `access() said ${hitA} but the kernel sequence said ${hitB}`);
    for (let k = 0; k < keys; k++) {
      if (a.has(k) !== b.has(k))
        fail(
          a,
          context,
          `key ${k} resident ${a.has(k)} via access() but ${b.has(k)} via insert/selectVictim`,
        );
    }
  }
}
