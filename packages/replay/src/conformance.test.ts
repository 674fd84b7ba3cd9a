import { describe, expect, it } from 'vitest';
import { checkPolicyConformance } from './conformance.js';
import { computeNextUseSync } from './next-use.js';
import { createPolicy, POLICY_NAMES } from './policies.js';
import type { ReplacementPolicy } from './policy.js';

// OPT needs a future: give it one from a fixed pseudo-random string.
const future = computeNextUseSync(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 11));

describe('every policy passes the conformance suite', () => {
  for (const name of POLICY_NAMES) {
    it(name, () => {
      checkPolicyConformance({ create: (c) => createPolicy(name, c, { nextUse: future, tau: 3 }) });
    });
  }
  it('two-list with a tiny GiB (ratio > 1 in inactive_is_low)', () => {
    checkPolicyConformance({
      create: (c) => createPolicy('two-list', c, { pagesPerGiB: 1 }),
      capacities: [4, 8, 16],
    });
  });
});

describe('the conformance suite catches broken policies', () => {
  // A FIFO that forgets to evict: exceeds its capacity.
  function leaky(capacity: number): ReplacementPolicy {
    const p = createPolicy('fifo', capacity + 1);
    return {
      name: 'leaky',
      capacity,
      get size() {
        return p.size;
      },
      has: (k) => p.has(k),
      access: (k) => p.access(k),
      insert: (k) => p.insert(k),
      referenced: (k) => p.referenced(k),
      remove: (k) => p.remove(k),
      selectVictim: () => p.selectVictim(),
      state: () => p.state(),
      reset: () => p.reset(),
    };
  }
  it('reports a policy that exceeds its capacity', () => {
    expect(() => checkPolicyConformance({ create: leaky, capacities: [2] })).toThrow(
      /exceeds the capacity|did not throw/,
    );
  });
  // A policy whose access() lies about hits.
  it('reports a wrong hit answer', () => {
    const create = (c: number): ReplacementPolicy => {
      const p = createPolicy('lru', c);
      const access = p.access.bind(p);
      return Object.assign(Object.create(Object.getPrototypeOf(p)), p, {
        access: (k: number) => access(k) && k !== 0,
      }) as ReplacementPolicy;
    };
    expect(() => checkPolicyConformance({ create, capacities: [3] })).toThrow(
      /returned false but the key was resident/,
    );
  });
  // A CLOCK-like policy that clears bits it never asked about.
  it('reports clearReferenced without isReferenced', () => {
    const create = (c: number): ReplacementPolicy => {
      const p = createPolicy('clock', c);
      const select = p.selectVictim.bind(p);
      return Object.assign(Object.create(Object.getPrototypeOf(p)), p, {
        selectVictim: (isRef?: (k: number) => boolean, clear?: (k: number) => void) => {
          const state = p.state();
          if (clear && state.resident.length > 0) clear(state.resident[0]!);
          return select(isRef, clear);
        },
      }) as ReplacementPolicy;
    };
    expect(() => checkPolicyConformance({ create, capacities: [3] })).toThrow(/clearReferenced/);
  });
});
