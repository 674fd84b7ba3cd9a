import { describe, expect, it } from 'vitest';
import { runScenario, validateScenario } from './index.js';

const CONFIGS = [
  ['virt', 'aarch64'],
  ['pc', 'x86_64'],
  ['pc', 'x86_64-la57'],
  ['pc', 'x86-pae'],
  ['pc', 'x86-32'],
] as const;

/** A page written on CPU 1 (its TLB holds the translation), then unmapped on CPU 0 and read again on CPU 1. */
const steps = (broken: boolean) => [
  { op: 'spawn', as: 'app' },
  { op: 'mmap', process: 'app', length: '1 page', prot: 'rw-', as: 'buf' },
  { op: 'write', process: 'app', addr: 'buf', value: 1, cpu: 1 },
  ...(broken ? [{ op: 'drop-flushes' }] : []),
  { op: 'munmap', process: 'app', addr: 'buf', length: '1 page' },
  { op: 'read', process: 'app', addr: 'buf', cpu: 1 },
];

describe('the strict TLB checker’s verdict per step', () => {
  it('a correct kernel discharges every obligation: the munmap shoots down CPU 1’s entry and the read faults', () => {
    for (const [board, arch] of CONFIGS) {
      const run = runScenario(validateScenario({ board, arch, steps: steps(false) }));
      const [, , , munmap, read] = run.steps;
      expect(
        run.steps.every((s) => s.tlbCheck?.verdict === 'discharged'),
        arch,
      ).toBe(true);
      expect(munmap!.tlbCheck!.maintenance).toBeGreaterThan(0);
      expect(munmap!.tlbCheck!.detail).toBeUndefined();
      expect(read!.status).toBe('killed: invalid address');
    }
  });

  it('drop-flushes (a kernel bug on purpose): the munmap fails as undischarged, the read on CPU 1 as stale', () => {
    for (const [board, arch] of CONFIGS) {
      const run = runScenario(validateScenario({ board, arch, steps: steps(true) }));
      const [, , , drop, munmap, read] = run.steps;
      expect(drop!.outcome).toContain('the strict TLB checker will report it');
      expect(munmap!.status, arch).toBe('error');
      expect(munmap!.tlbCheck).toMatchObject({ verdict: 'undischarged', maintenance: 0 });
      expect(munmap!.tlbCheck!.detail).toMatch(/flush obligation\(s\) neither discharged nor ignored/);
      expect(read!.tlbCheck).toMatchObject({ verdict: 'stale' });
      expect(read!.tlbCheck!.detail).toMatch(/stale|no longer map/i);
    }
  });

  it('without strictTlb there is no verdict, and the broken kernel goes unnoticed', () => {
    const run = runScenario(
      validateScenario({ board: 'virt', options: { strictTlb: false }, steps: steps(true) }),
    );
    expect(run.steps.every((s) => s.tlbCheck === undefined)).toBe(true);
    expect(run.steps[3]!.outcome).toContain('strictTlb is off');
    expect(run.steps[4]!.status).toBe('ok');
    // The read on CPU 1 goes through the stale entry to the freed frame.
    expect(run.steps[5]!.status).toBe('ok');
  });

  it('drop-flushes takes no fields', () => {
    expect(() => validateScenario({ board: 'virt', steps: [{ op: 'drop-flushes', process: 'x' }] })).toThrow(
      /step 1 \(drop-flushes\): .*process/,
    );
  });
});
