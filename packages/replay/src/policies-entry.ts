/**
 * `@mmkit/replay/policies` — the replacement policies alone, without the trace readers and
 * parallel replay (which use Node's `fs`, `zlib` and `worker_threads`): what a kernel's reclaim
 * and a browser need, with OPT's next-use pass over an in-memory string ({@link computeNextUseSync}). Everything here is also exported by the package's main entry.
 *
 * @module @mmkit/replay/policies
 */
export { computeNextUseSync } from './next-use.js';
export {
  type CreatePolicyOptions,
  createPolicy,
  isPolicyName,
  POLICY_NAMES,
  type PolicyName,
} from './policies.js';
export {
  type ClearReferenced,
  type IsReferenced,
  NEVER_REFERENCED,
  NO_CLEAR,
  type PolicyState,
  type ReplacementPolicy,
} from './policy.js';
