import { describe, expect, it } from 'vitest';
import {
  DEMO_STEPS,
  demoScenario,
  parseAddressExpr,
  parseScenario,
  ScenarioError,
} from '../src/worker/scenario.js';

describe('scenario format', () => {
  it('parses the demo back from its JSON', () => {
    expect(parseScenario(JSON.stringify(demoScenario('pc', 'x86-32')))).toEqual({
      name: 'demo',
      board: 'pc',
      arch: 'x86-32',
      cpus: 2,
      steps: DEMO_STEPS,
    });
  });

  it('names the bad field and what was expected', () => {
    const base = { board: 'virt', arch: 'aarch64', steps: [] };
    const cases: [unknown, string][] = [
      [{ ...base, board: 'vax' }, 'board: got "vax", expected one of virt, rpi4b, pc'],
      [
        { ...base, arch: 'riscv' },
        'arch: got "riscv", expected one of aarch64, x86_64, x86_64-la57, x86-pae, x86-32',
      ],
      [{ ...base, steps: 3 }, 'steps: got 3, expected an array'],
      [{ ...base, steps: [{ op: 'jump' }] }, 'steps[0].op: got "jump", expected one of spawn, mmap'],
      [{ ...base, steps: [{ op: 'read' }] }, 'steps[0].addr: got undefined, expected an address'],
      [{ ...base, steps: [{ op: 'mmap', length: 0 }] }, 'steps[0].length: got 0, expected an integer from 1'],
      [
        { ...base, steps: [{ op: 'mmap', length: 4096, prot: 'rwz' }] },
        'steps[0].prot: got "rwz", expected letters r, w, x',
      ],
      [{ ...base, steps: [{ op: 'spawn', pid: -1 }] }, 'steps[0].pid: got -1, expected an integer from 1'],
      [{ ...base, ram: '3T' }, 'ram: got "3T", expected a size such as 512M or 8G'],
      [{ ...base, cpus: 9 }, 'cpus: got 9, expected an integer from 1 to 8'],
    ];
    for (const [value, message] of cases) {
      const err = (() => {
        try {
          parseScenario(JSON.stringify(value));
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ScenarioError);
      expect((err as Error).message).toContain(message);
    }
    expect(() => parseScenario('{')).toThrow(/^scenario: not JSON/);
  });

  it('reads address expressions', () => {
    expect(parseAddressExpr('a', 'heap+0x1000')).toEqual({ base: 'heap', offset: 0x1000n });
    expect(parseAddressExpr('a', 'stackTop - 8')).toEqual({ base: 'stackTop', offset: -8n });
    expect(parseAddressExpr('a', '0xdead_beef_000')).toEqual({ base: 0xdeadbeef000n, offset: 0n });
    expect(parseAddressExpr('a', 4096)).toEqual({ base: 4096n, offset: 0n });
    expect(() => parseAddressExpr('a', 'heap+-1')).toThrow('a: got "heap+-1", expected an address');
    expect(() => parseAddressExpr('a', 1.5)).toThrow('a: got 1.5, expected a non-negative integer address');
  });
});
