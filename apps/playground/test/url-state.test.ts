import { describe, expect, it } from 'vitest';
import { decodeHash, encodeHash } from '../src/url-state.js';
import { demoScenario } from '../src/worker/scenario.js';

describe('shareable URL', () => {
  it('encodes the demo by name with board, arch, RAM, position and view', () => {
    const h = encodeHash({
      scenario: { ...demoScenario('pc', 'x86-pae'), ram: '512M' },
      position: 6,
      view: 'walk',
    });
    expect(h).toBe('#scenario=demo&board=pc&arch=x86-pae&ram=512M&p=6&view=walk');
    expect(decodeHash(h)).toEqual({
      scenario: { ...demoScenario('pc', 'x86-pae'), ram: '512M' },
      position: 6,
      view: 'walk',
    });
  });

  it('round-trips a custom scenario through base64url JSON', () => {
    const scenario = {
      name: 'mine',
      board: 'rpi4b' as const,
      arch: 'aarch64' as const,
      steps: [
        { op: 'spawn' as const },
        { op: 'mmap' as const, pid: 1, length: 8192, prot: 'rw', name: 'büf' },
      ],
    };
    // 'büf' is not an identifier: the link is refused and the demo shown, with the reason.
    const bad = decodeHash(encodeHash({ scenario, position: 1, view: 'tables' }));
    expect(bad.error).toContain('steps[1].name');
    expect(bad.scenario).toEqual(demoScenario());
    const good = { ...scenario, steps: [scenario.steps[0]!, { ...scenario.steps[1]!, name: 'buf' }] };
    const h = encodeHash({ scenario: good, position: 1, view: 'tables' });
    expect(h).not.toContain('{');
    expect(decodeHash(h)).toEqual({ scenario: good, position: 1, view: 'tables' });
  });

  it('falls back to the demo at step 0 for an empty or broken hash', () => {
    expect(decodeHash('')).toEqual({ scenario: demoScenario(), position: 0, view: 'machine' });
    const broken = decodeHash('#scenario=%%%&board=virt');
    expect(broken.position).toBe(0);
    expect(broken.error).toMatch(/^the link's scenario was ignored/);
    expect(decodeHash('#scenario=demo&p=-3&view=nope')).toMatchObject({ position: 0, view: 'machine' });
  });
});
