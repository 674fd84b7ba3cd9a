import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyIndex } from './key-index.js';

describe('KeyIndex', () => {
  it('behaves like a Map under random set/delete (backward-shift deletion, growth, big keys)', () => {
    const key = fc.oneof(
      fc.integer({ min: 0, max: 40 }),
      fc.constantFrom(2 ** 32, 2 ** 32 + 16, 2 ** 52, Number.MAX_SAFE_INTEGER),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), key, fc.nat(1000)), { maxLength: 400 }), (ops) => {
        const index = new KeyIndex(4);
        const map = new Map<number, number>();
        for (const [isSet, k, v] of ops) {
          if (isSet) {
            index.set(k, v);
            map.set(k, v);
          } else {
            expect(index.delete(k)).toBe(map.get(k) ?? -1);
            map.delete(k);
          }
          expect(index.size).toBe(map.size);
        }
        for (let k = 0; k <= 40; k++) expect(index.get(k)).toBe(map.get(k) ?? -1);
        for (const [k, v] of map) expect(index.get(k)).toBe(v);
      }),
    );
  });
});
