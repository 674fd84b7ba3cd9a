import { describe, expect, it } from 'vitest';
import { BROKEN_TLB_SCENARIO } from '../src/views/tlb.js';
import { Engine } from '../src/worker/engine.js';

describe('the strict TLB checker in the playground', () => {
  it('records a verdict per step: discharged for a correct kernel, failing ones after drop-flushes', () => {
    const e = new Engine({ text: BROKEN_TLB_SCENARIO });
    e.runTo(e.length);
    const v = e.records.map((r) => r.tlbCheck?.verdict);
    expect(v).toEqual([
      'discharged',
      'discharged',
      'discharged',
      'discharged',
      'discharged',
      'discharged',
      'discharged',
      'undischarged',
      'stale',
    ]);
    // The correct munmap invalidated CPU 1's entry; the broken one did nothing.
    expect(e.records[5]!.tlbCheck!.maintenance).toBeGreaterThan(0);
    expect(e.records[7]!.tlbCheck).toMatchObject({ maintenance: 0 });
    expect(e.records[7]!.ok).toBe(false);
    expect(e.records[8]!.tlbCheck!.detail).toBeTruthy();
  });

  it('the same scenario with strictTlb off has no verdicts', () => {
    const e = new Engine({
      text: BROKEN_TLB_SCENARIO.replace('board: virt', 'board: virt\noptions: { strictTlb: false }'),
    });
    e.runTo(e.length);
    expect(e.records.every((r) => r.tlbCheck === undefined)).toBe(true);
  });
});
