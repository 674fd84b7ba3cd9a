/**
 * An open-addressing hash map from page keys (non-negative safe integers) to small non-negative
 * integers (node ids), in typed arrays: no allocation per operation, no boxing of keys above
 * 2^31 (a `Map` would allocate a heap number for each). Linear probing with backward-shift
 * deletion, so there are no tombstones and lookups stay short at any churn.
 *
 * Invariant: the table is at most half full; `set` beyond that grows it (amortised O(1), the only
 * allocation, and never happens in a policy, whose size is fixed by its capacity).
 */
export class KeyIndex {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  /** @param expected the number of entries the map should hold without growing. */
  constructor(expected: number) {
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.keys = new Float64Array(size).fill(-1);
    this.values = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  private slot(key: number): number {
    // Mix the low 32 bits and the bits above them (keys are < 2^53).
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The value stored for `key`, or -1. */
  get(key: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let i = this.slot(key);
    for (;;) {
      const k = keys[i]!;
      if (k === key) return this.values[i]!;
      if (k === -1) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Stores `value` (≥ 0) for `key`, replacing an old value. */
  set(key: number, value: number): void {
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    const mask = this.mask;
    let i = this.slot(key);
    for (;;) {
      const k = keys[i]!;
      if (k === key) {
        this.values[i] = value;
        return;
      }
      if (k === -1) {
        keys[i] = key;
        this.values[i] = value;
        this.count++;
        return;
      }
      i = (i + 1) & mask;
    }
  }

  /** Removes `key`; returns its value, or -1 if it was absent. */
  delete(key: number): number {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = this.slot(key);
    for (;;) {
      const k = keys[i]!;
      if (k === -1) return -1;
      if (k === key) break;
      i = (i + 1) & mask;
    }
    const removed = values[i]!;
    // Backward-shift deletion: move later entries of the probe run into the hole.
    let hole = i;
    let j = (i + 1) & mask;
    for (;;) {
      const k = keys[j]!;
      if (k === -1) break;
      const home = this.slot(k);
      // Move k into the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = k;
        values[hole] = values[j]!;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    keys[hole] = -1;
    this.count--;
    return removed;
  }

  /** Removes every entry. */
  clear(): void {
    this.keys.fill(-1);
    this.count = 0;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Float64Array(oldKeys.length * 2).fill(-1);
    this.values = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k !== -1) this.set(k, oldValues[i]!);
    }
  }
}
