/**
 * The `workingSet` scenario option on all five configurations: a scenario that thrashes (a new
 * page on every access) and one that does not (a loop over resident pages); the run exposes the
 * statistics and the event log has the `working-set` and `thrashing` events.
 */
import type { MmEvent } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { parseScenario, runScenario, ScenarioError } from './index.js';

const MACHINES = [
  ['virt', 'aarch64'],
  ['pc', 'x86_64'],
  ['pc', 'x86_64-la57'],
  ['pc', 'x86-pae'],
  ['pc', 'x86-32'],
] as const;

const THRASHES = `
name: thrash
board: virt
options:
  workingSet: { thrashWindow: 100, pffWindow: 100, sampleInterval: 50, tau: 100 }
steps:
  - { op: spawn, as: p }
  - { op: mmap, process: p, length: 300 pages, prot: rw-, as: buf }
  - { op: touch, process: p, addr: buf, length: 300 pages }
`;

const LOOPS = `
name: loop
board: virt
options:
  workingSet: { thrashWindow: 50, pffWindow: 50, sampleInterval: 16, tau: 64, exact: true }
steps:
  - { op: spawn, as: p }
  - { op: mmap, process: p, length: 16 pages, prot: rw-, as: buf }
${'  - { op: touch, process: p, addr: buf, length: 16 pages }\n'.repeat(10)}`;

const mm = (run: ReturnType<typeof runScenario>): MmEvent[] =>
  run.events.flatMap((e) => (e.type === 'mm' ? [e.event] : []));

describe.each(MACHINES)('scenario working sets on %s / %s', (board, arch) => {
  it('a scenario that faults on every access thrashes: thrashing events, PFF advises grow', () => {
    const run = runScenario(parseScenario(THRASHES), { board, arch });
    expect(run.ok).toBe(true);
    const thrash = mm(run).filter((e) => e.type === 'thrashing');
    expect(thrash.map((e) => (e.type === 'thrashing' ? e.faults : 0))).toEqual([99, 100, 100]);
    const s = run.stats.p!;
    expect(s.faults).toMatchObject({ accesses: 300, faults: 300 });
    expect(s.faults.thrashing).toMatchObject({ detections: 3, thrashing: true });
    expect(s.faults.pff).toMatchObject({ advice: 'grow' });
    expect(s.workingSet).toMatchObject({ tau: 100, samples: 6 });
  });

  it('a loop over resident pages does not thrash; the working set is the loop', () => {
    const run = runScenario(parseScenario(LOOPS), { board, arch });
    expect(run.ok).toBe(true);
    const events = mm(run);
    expect(events.filter((e) => e.type === 'thrashing')).toEqual([]);
    const samples = events.filter((e) => e.type === 'working-set');
    expect(samples).toHaveLength(10);
    // Resident: the 16 pages and the program's text and stack pages (not referenced in the window).
    expect(samples.at(-1)).toMatchObject({ sizePages: 16, exactPages: 16, tau: 64, residentPages: 18 });
    const s = run.stats.p!;
    expect(s.faults.thrashing).toMatchObject({ detections: 0 });
    expect(s.faults.pff).toMatchObject({ advice: 'shrink' });
    expect(s.workingSet).toMatchObject({ estimatedPages: 16, exactPages: 16, virtualTime: 160 });
  });
});

describe('scenario workingSet option', () => {
  it('is off by default: no tracking, the counters still count', () => {
    const run = runScenario(
      parseScenario(
        'board: virt\nsteps:\n  - { op: spawn, as: p }\n  - { op: touch, process: p, addr: heap }\n',
      ),
    );
    expect(run.stats.p!.workingSet).toBeUndefined();
    expect(run.stats.p!.faults.pff).toBeUndefined();
    expect(run.stats.p!.faults.accesses).toBe(1);
  });

  it('a bad value is a scenario error naming the option and the field', () => {
    const bad = (v: string) => () =>
      parseScenario(`board: virt\noptions:\n  workingSet: ${v}\nsteps: []\n`, 'w.yaml');
    expect(bad('{ tau: 0 }')).toThrow(ScenarioError);
    expect(bad('{ tau: 0 }')).toThrow(/w\.yaml:3: option workingSet: .*workingSet\.tau/);
    expect(bad('{ bogus: 1 }')).toThrow(/bogus/);
    expect(bad('yes please')).toThrow(/workingSet/);
  });
});
