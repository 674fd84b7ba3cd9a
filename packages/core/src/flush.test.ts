import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import {
  DEFAULT_FLUSH_PAGE_THRESHOLD,
  FlushLedger,
  FlushObligation,
  UndischargedFlushError,
} from './flush.js';

describe('FlushObligation', () => {
  it('starts empty: nothing to invalidate, not settled', () => {
    const f = new FlushObligation(3, false);
    expect(f.empty).toBe(true);
    expect(f.need()).toBeUndefined();
    expect(f.settledState).toBe(false);
  });

  it('lists pages up to the threshold (32 by default)', () => {
    expect(DEFAULT_FLUSH_PAGE_THRESHOLD).toBe(32);
    const f = new FlushObligation(7, false);
    for (let i = 0; i < 32; i++) f.addPage(0x400 + i);
    const need = f.need()!;
    expect(need.scope).toBe('page');
    expect(need.asid).toBe(7);
    expect(need.vpns).toHaveLength(32);
    expect(need.vpns[31]).toBe(0x41f);
    expect(need.global).toBe(false);
    expect(need.leafOnly).toBe(true);
  });

  it('one page past the threshold turns into an ASID-wide invalidation', () => {
    const f = new FlushObligation(7, false);
    for (let i = 0; i < 33; i++) f.addPage(i);
    expect(f.need()).toEqual({ scope: 'asid', asid: 7, vpns: [], global: false, leafOnly: true });
    f.addPage(99); // stays wide
    expect(f.need()!.scope).toBe('asid');
  });

  it('for global (kernel) pages past the threshold it becomes an invalidate-all', () => {
    const f = new FlushObligation(0, true, 2);
    f.addPage(1);
    f.addPage(2);
    expect(f.need()).toEqual({ scope: 'page', asid: 0, vpns: [1, 2], global: true, leafOnly: true });
    f.addPage(3);
    expect(f.need()).toEqual({ scope: 'all', asid: 0, vpns: [], global: true, leafOnly: true });
  });

  it('a table change clears leafOnly (walk caches must go too)', () => {
    const f = new FlushObligation(1, false);
    f.addPage(5);
    f.addTableChange();
    expect(f.need()!.leafOnly).toBe(false);
  });

  it('need() returns a copy of the page list', () => {
    const f = new FlushObligation(1, false);
    f.addPage(5);
    const need = f.need()!;
    f.addPage(6);
    expect(need.vpns).toEqual([5]);
  });

  it('merge folds pages, width and table changes, and settles the merged one', () => {
    const a = new FlushObligation(4, false, 3);
    const b = new FlushObligation(4, false, 3);
    a.addPage(1);
    b.addPage(2);
    b.addTableChange();
    a.merge(b);
    expect(b.settledState).toBe(true);
    expect(a.need()).toEqual({ scope: 'page', asid: 4, vpns: [1, 2], global: false, leafOnly: false });
    const c = new FlushObligation(4, false, 3);
    for (let i = 0; i < 4; i++) c.addPage(10 + i);
    a.merge(c);
    expect(a.need()!.scope).toBe('asid');
    const d = new FlushObligation(4, false, 3);
    d.addPage(1);
    d.addPage(2);
    d.addPage(3);
    d.addPage(4);
    const e = new FlushObligation(4, false, 3);
    e.addPage(1);
    e.merge(d);
    expect(e.need()!.scope).toBe('asid');
  });

  it('merging pages can itself cross the threshold', () => {
    const a = new FlushObligation(2, false, 3);
    const b = new FlushObligation(2, false, 3);
    a.addPage(1);
    a.addPage(2);
    b.addPage(3);
    b.addPage(4);
    a.merge(b);
    expect(a.need()!.scope).toBe('asid');
  });

  it('markDischarged and ignore settle the obligation', () => {
    const a = new FlushObligation(1, false);
    a.addPage(1);
    a.markDischarged();
    expect(a.settledState).toBe(true);
    const b = new FlushObligation(1, false);
    b.ignore('nothing cached');
    expect(b.settledState).toBe(true);
  });
});

describe('FlushLedger (strict mode)', () => {
  it('a dropped obligation is reported with its ASID and pages, once', () => {
    const ledger = new FlushLedger();
    const f = ledger.create(9);
    f.addPage(0x400);
    expect(ledger.outstanding).toBe(1);
    expect(() => ledger.assertSettled()).toThrow(UndischargedFlushError);
    expect(ledger.outstanding).toBe(0);
    const g = ledger.create(9);
    g.addPage(0x401);
    try {
      ledger.assertSettled();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UndischargedFlushError);
      const u = e as UndischargedFlushError;
      expect([u.code, u.outstanding, u.asid, u.vpns]).toEqual(['E_UNDISCHARGED_FLUSH', 1, 9, [0x401]]);
      expect(u.message).toBe('1 flush obligation(s) neither discharged nor ignored: asid 9: vpn 0x401');
    }
  });

  it('discharging, ignoring (with a reason) and merging settle an obligation', () => {
    const ledger = new FlushLedger();
    ledger.create(1).markDischarged();
    const i = ledger.create(1);
    i.ignore('tables not loaded on any CPU');
    expect(i.ignoredBecause).toBe('tables not loaded on any CPU');
    const into = ledger.create(1);
    into.merge(ledger.create(1));
    expect(ledger.outstanding).toBe(1);
    into.markDischarged();
    expect(() => ledger.assertSettled()).not.toThrow();
  });

  it('ignore() needs a reason; tracking by two ledgers is refused', () => {
    const f = new FlushObligation(1, false);
    expect(() => f.ignore('')).toThrow(InvalidArgumentError);
    expect(() => (f.ignore as (r?: string) => void)()).toThrow(InvalidArgumentError);
    expect(f.settledState).toBe(false);
    const a = new FlushLedger();
    a.track(f);
    expect(() => new FlushLedger().track(f)).toThrow(InvalidArgumentError);
    f.ignore('test');
    expect(a.outstanding).toBe(0);
  });
});
