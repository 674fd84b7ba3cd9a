import { describe, expect, it } from 'vitest';
import { Host } from '../src/worker/host.js';
import { DEMO_REF } from '../src/worker/scenario.js';

const DEMO_LENGTH = 26;

describe('worker host', () => {
  it('travels back in time by re-running from boot: step N is the same whichever way you get there', () => {
    const h = new Host();
    h.handle({ type: 'open', ref: DEMO_REF, position: 10 });
    const back = h.handle({ type: 'goto', position: 4 });
    const fresh = new Host().handle({ type: 'open', ref: DEMO_REF, position: 4 });
    expect(back.position).toBe(4);
    expect(back.records).toEqual(fresh.records);
    expect(back.processes).toEqual(fresh.processes);
    expect(Buffer.compare(back.frames.codes, fresh.frames.codes)).toBe(0);
    expect(h.handle({ type: 'goto', position: 99 }).position).toBe(DEMO_LENGTH);
  });

  it('jumps to the next step that faults', () => {
    const h = new Host();
    h.handle({ type: 'open', ref: DEMO_REF, position: 3 });
    const s = h.handle({ type: 'nextFault' });
    const faulting = Array.from({ length: DEMO_LENGTH }).findIndex((_, i) => i >= 3 && s.records[i]?.faulted);
    expect(s.position).toBe(faulting + 1);
    expect(s.records.slice(3, faulting).every((r) => !r.faulted)).toBe(true);
  });

  it('appends a step at the current position, dropping the later ones', () => {
    const h = new Host();
    h.handle({ type: 'open', ref: DEMO_REF, position: 2 });
    const s = h.handle({
      type: 'append',
      step: { op: 'mmap', process: 'init', length: '2 pages', prot: 'r--', as: 'ro' },
    });
    expect(s.position).toBe(3);
    expect(s.scenario.steps).toHaveLength(3);
    expect(s.processes[0]!.maps).toContain('r--p');
    // The scenario is now a custom one: its text, which parses back to the same steps.
    expect(s.ref.example).toBeUndefined();
    expect(s.ref.text).toContain('"as": "ro"');
    expect(() =>
      h.handle({ type: 'append', step: { op: 'mmap', process: 'nobody', length: 1, prot: 'r--' } }),
    ).toThrow(/step 4 \(mmap\): process "nobody" is not defined by an earlier step/);
    // A refused step leaves the open scenario as it was.
    expect(h.handle({ type: 'goto', position: 3 }).scenario.steps).toHaveLength(3);
  });

  it('says what is wrong instead of failing silently', () => {
    const h = new Host();
    expect(() => h.handle({ type: 'goto', position: 1 })).toThrow('no scenario is open');
    expect(() => h.handle({ type: 'walkImported', va: '0', access: 0, privilege: 0 })).toThrow(
      'import a translation-state export first',
    );
    expect(() => h.handle({ type: 'open', ref: { text: 'board: vax\nsteps: []\n' }, position: 0 })).toThrow(
      /board/,
    );
  });

  it('exports JSON that imports back', () => {
    const h = new Host();
    h.handle({ type: 'open', ref: { example: 'demo', board: 'pc', arch: 'x86_64' }, position: 4 });
    const text = h.handle({ type: 'export', pid: 1 });
    expect(h.handle({ type: 'import', text })).toMatchObject({ arch: 'x86_64', machine: 'pc', pid: 1 });
    const live = h.handle({ type: 'walk', pid: 1, va: 'heap', access: 1, privilege: 0 });
    expect(h.handle({ type: 'walkImported', va: live.va, access: 1, privilege: 0 })).toEqual(live);
    // Browsing: the root table's present entries, decoded, match the walk's first descriptor.
    const root = JSON.parse(text).tables[0];
    const entries = h.handle({ type: 'importedTable', pa: root.pa });
    const first = live.levels[0]!;
    expect(entries.find((x) => x.index === first.index)).toMatchObject({
      raw: first.raw,
      kind: 'table',
      fields: first.fields,
    });
    expect(() => h.handle({ type: 'importedTable', pa: '0x1' })).toThrow('no table at 0x1 in this export');
  });
});
