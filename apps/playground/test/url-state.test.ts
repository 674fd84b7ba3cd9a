import { describe, expect, it } from 'vitest';
import { decodeHash, encodeHash } from '../src/url-state.js';
import { DEMO_REF } from '../src/worker/scenario.js';

describe('shareable URL', () => {
  it('encodes an example by id with board, arch, RAM, position and view', () => {
    const ref = { example: 'demo', board: 'pc', arch: 'x86-pae', ram: '512M' };
    const h = encodeHash({ ref, position: 6, view: 'walk' });
    expect(h).toBe('#scenario=demo&board=pc&arch=x86-pae&ram=512M&p=6&view=walk');
    expect(decodeHash(h)).toEqual({ ref, position: 6, view: 'walk' });
    expect(encodeHash({ ref: { example: 'fork-exec' }, position: 0, view: 'machine' })).toBe(
      '#scenario=fork-exec&p=0&view=machine',
    );
  });

  it('round-trips a custom scenario file as base64url UTF-8 text', () => {
    const text = 'name: mine — ü\nboard: rpi4b\nsteps:\n  - { op: spawn, as: app }\n';
    const h = encodeHash({ ref: { text, board: 'virt' }, position: 1, view: 'tables' });
    expect(h).toMatch(/^#src=[\w-]+&board=virt&p=1&view=tables$/);
    expect(decodeHash(h)).toEqual({ ref: { text, board: 'virt' }, position: 1, view: 'tables' });
  });

  it('falls back to the demo at step 0 for an empty or broken hash, saying why', () => {
    expect(decodeHash('')).toEqual({ ref: DEMO_REF, position: 0, view: 'machine' });
    const broken = decodeHash('#src=%%%&board=virt&p=3');
    expect(broken).toMatchObject({ ref: DEMO_REF, position: 0 });
    expect(broken.error).toMatch(/^the link's scenario was ignored: src is not base64url/);
    // Bytes that are not UTF-8 are refused too (0xff 0xfe).
    expect(decodeHash('#src=__4').error).toMatch(/^the link's scenario was ignored/);
    expect(decodeHash('#scenario=demo&p=-3&view=nope')).toMatchObject({ position: 0, view: 'machine' });
  });

  it('carries the Replacement view’s reference string, frames, policies and position', () => {
    const replacement = { refs: '1 2 3 4 1 2 5 1 2 3 4 5', frames: '3, 4', policies: 'fifo', at: 12 };
    const h = encodeHash({ ref: { example: 'demo' }, position: 0, view: 'replacement', replacement });
    expect(h).toBe('#scenario=demo&p=0&view=replacement&rr=1+2+3+4+1+2+5+1+2+3+4+5&rf=3%2C+4&rp=fifo&ri=12');
    expect(decodeHash(h)).toEqual({
      ref: { example: 'demo' },
      position: 0,
      view: 'replacement',
      replacement,
    });
    // Another view leaves it out of the link.
    expect(encodeHash({ ref: { example: 'demo' }, position: 0, view: 'tlb', replacement })).toBe(
      '#scenario=demo&p=0&view=tlb',
    );
    expect(decodeHash('#view=replacement&rr=1+2&ri=-1')).toMatchObject({
      view: 'replacement',
      replacement: { refs: '1 2', frames: '3', policies: 'fifo', at: 0 },
    });
  });
});
