import { MEMORY_TYPES } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import {
  leafAttributeCombinations,
  permissionPairs,
  softwareValues,
  tableAttributeCombinations,
} from './combinations.js';
import { BumpFrameSource, createTestMemory, createWalkHarness } from './fixtures.js';
import { createToyArch } from './toy-arch.js';
import { tableRestriction } from './walker-checks.js';

describe('BumpFrameSource', () => {
  it('hands out zeroed frames in order, reuses freed ones, honours the limit and refuses double frees', () => {
    const memory = createTestMemory({ start: 0x4000_0000, end: 0x4000_4000 });
    const frames = new BumpFrameSource(memory, 0x4000_0000, 0x4000_3000);
    const a = frames.allocTable();
    memory.write32(a, 0xdead_beef);
    expect([a, frames.allocTable(), frames.allocTable(), frames.allocTable()]).toEqual([
      0x4000_0000, 0x4000_1000, 0x4000_2000, -1,
    ]);
    frames.freeTable(a);
    expect(memory.read32(a)).toBe(0);
    expect(() => frames.freeTable(a)).toThrow(/frame to free/);
    frames.limit = 0;
    expect(frames.allocTable()).toBe(-1);
    frames.limit = 1;
    expect(frames.allocTable()).toBe(a);
    expect(frames.liveFrames).toBe(3);
    expect(() => new BumpFrameSource(memory, 1, 4096)).toThrow(/frame range/);
  });
});

describe('walk harness', () => {
  it('loads the roots and ASID into the MMU', () => {
    const h = createWalkHarness(createToyArch());
    expect(h.userRoot).toBe(h.kernelRoot);
    expect(h.mmu.userRoot).toBe(h.userRoot);
    expect(h.asid).toBe(0);
    expect(h.rootFor(0xc_0000)).toBe(h.userRoot);
  });
});

describe('attribute spaces', () => {
  it('enumerates every combination exactly once', () => {
    const d = createToyArch().description;
    const all = [...leafAttributeCombinations(d)];
    expect(all).toHaveLength(64 * 2 * MEMORY_TYPES.length * 2 * 2 * softwareValues(d).length);
    expect(new Set(all.map((a) => JSON.stringify(a))).size).toBe(all.length);
    expect(softwareValues(d)).toEqual([0, 1, 3]);
    expect(tableAttributeCombinations()).toHaveLength(32);
    const pairs = permissionPairs();
    expect(pairs).toHaveLength(64);
    expect(pairs[0]).toEqual({
      user: { read: true, write: true, execute: true },
      kernel: { read: true, write: true, execute: true },
    });
  });
});

describe('tableRestriction', () => {
  it('removes user rights, writes and execute rights as the table attributes say', () => {
    const all = 0x3f;
    expect(
      tableRestriction({ noUser: false, readOnly: false, noExecuteUser: false, noExecuteKernel: false }),
    ).toBe(all);
    expect(
      tableRestriction({ noUser: true, readOnly: false, noExecuteUser: false, noExecuteKernel: false }),
    ).toBe(0b111_000);
    expect(
      tableRestriction({ noUser: false, readOnly: true, noExecuteUser: true, noExecuteKernel: true }),
    ).toBe(0b001_001);
  });
});
