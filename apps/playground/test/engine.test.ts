import { describe, expect, it } from 'vitest';
import { Engine, FRAME_CODES } from '../src/worker/engine.js';
import { demoScenario } from '../src/worker/scenario.js';

describe('engine', () => {
  it('runs the demo on virt/aarch64', () => {
    const e = new Engine(demoScenario());
    e.runTo(100);
    for (const r of e.records) console.log(r.index, r.ok, r.focus, r.title, '|', r.outcome);
    console.log(e.processes());
    expect(e.records.length).toBe(e.scenario.steps.length);
  });
});
