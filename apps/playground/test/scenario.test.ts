import { EXAMPLE_SCENARIOS, parseScenario, ScenarioError } from '@mmkit/scenario';
import { describe, expect, it } from 'vitest';
import { FORM_OPS, formToStep } from '../src/views/scenario.js';
import { EXAMPLE_IDS, loadScenario, resolveAddress, scenarioText } from '../src/worker/scenario.js';

describe('scenarios of @mmkit/scenario in the playground', () => {
  it('lists every shipped example, the demo first', () => {
    expect(EXAMPLE_IDS[0]).toBe('demo');
    expect([...EXAMPLE_IDS].sort()).toEqual(EXAMPLE_SCENARIOS.map((s) => s.id).sort());
  });

  it('loads an example or a file text, and throws the ScenarioError of a bad one', () => {
    expect(loadScenario({ example: 'fork-exec' }).name).toBe('fork-exec');
    expect(loadScenario({ text: '{"board": "pc", "steps": [{"op": "spawn", "as": "a"}]}' }).board).toBe('pc');
    expect(() => loadScenario({ text: 'board: virt\nsteps:\n  - { op: exit, process: q }\n' })).toThrow(
      ScenarioError,
    );
    expect(() => loadScenario({ example: 'nope' })).toThrow(ScenarioError);
  });

  it('writes a scenario back as JSON text that parses to the same scenario', () => {
    const s = loadScenario({ example: 'demo' });
    expect(parseScenario(scenarioText(s))).toEqual(s);
  });

  it('maps the add-a-step form onto step objects the validator accepts', () => {
    const form = {
      op: 'brk',
      process: 'init',
      addr: 'heap+0x2000',
      length: '9',
      prot: 'rw-',
      as: '',
      value: '',
    };
    expect(formToStep(form)).toEqual({ op: 'brk', process: 'init', to: 'heap+0x2000' });
    expect(formToStep({ ...form, op: 'write', value: '42' })).toEqual({
      op: 'write',
      process: 'init',
      addr: 'heap+0x2000',
      value: 42,
    });
    expect(formToStep({ ...form, op: 'copy-to-user', value: 'hi' })).toMatchObject({ text: 'hi' });
    expect(formToStep({ op: 'spawn', as: 'app' })).toEqual({ op: 'spawn', as: 'app' });
    expect(FORM_OPS).not.toContain('mremap');
    for (const op of FORM_OPS) {
      const steps = [
        { op: 'spawn', as: 'init' },
        formToStep({ ...form, op, as: op === 'spawn' || op === 'fork' ? 'x' : '', value: '1' }),
      ];
      expect(() => parseScenario(JSON.stringify({ board: 'virt', steps }))).not.toThrow();
    }
  });

  it('resolves walk addresses: numbers, symbols plus or minus an offset, the old camelCase names', () => {
    const sym = new Map([
      ['heap', 0x1000_0000n],
      ['stack-top', 0x8000n],
    ]);
    expect(resolveAddress('0xdead_beef_000', sym)).toBe(0xdeadbeef000n);
    expect(resolveAddress('4096', sym)).toBe(4096n);
    expect(resolveAddress('heap+0x10', sym)).toBe(0x1000_0010n);
    expect(resolveAddress('stack-top-8', sym)).toBe(0x7ff8n);
    expect(resolveAddress('stackTop - 8', sym)).toBe(0x7ff8n);
    expect(() => resolveAddress('nowhere+4', sym)).toThrow(
      '"nowhere" is not a name; expected 0x… or one of: heap, stack-top',
    );
    expect(() => resolveAddress('heap+-1', sym)).toThrow('expected 0x…, a name or name±offset');
    expect(() => resolveAddress('stack-top-0x9000', sym)).toThrow('is below 0');
  });
});
