/** The scenario in this app's README runs, with the outcome the README describes. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/worker/engine.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('its scenario parses and ends with the protection fault it describes (#PF error code=0x7, SEGV_ACCERR)', () => {
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(1);
    const e = new Engine({ text: blocks[0]! });
    e.runTo(e.length);
    expect(e.records.slice(0, -1).every((r) => r.ok)).toBe(true);
    const last = e.records.at(-1)!;
    expect(last.ok).toBe(false);
    expect(last.events.find((x) => x.startsWith('fault'))).toMatch(/#PF error code=0x7\b/);
    expect(last.outcome).toBe('pid 1 killed: permission fault (SIGSEGV)');
    expect(e.machine().boardName).toContain('512 MiB');
  });

  it('its swap topic: four frames just swapped out at step 7, one named as the README names it', async () => {
    const { FRAME_CODES } = await import('../src/worker/engine.js');
    const e = new Engine({ example: 'swap' });
    e.runTo(7);
    const f = e.frameMap();
    expect(f.counts[FRAME_CODES.swapped]).toBe(4);
    const named = [...f.codes.keys()]
      .filter((i) => f.codes[i] === FRAME_CODES.swapped)
      .map((i) => e.frameInfo(i)!.swappedTo);
    const quoted = /"(slot 0:2 of swap0 at step 7 \(pid 1 0x100000000, pid 2 0x100000000\))"/.exec(
      readme,
    )![1];
    expect(named).toContain(quoted);
    const slot = e.swap().devices[0]!.details.find((d) => d.offset === 2)!;
    expect(slot).toMatchObject({ count: 2, cached: false });
    e.runTo(8);
    expect(e.frameMap().counts[FRAME_CODES.swapped]).toBe(3);
    expect(e.swap().devices[0]!.details.find((d) => d.offset === 2)).toMatchObject({
      count: 1,
      cached: true,
    });
  });

  it('its example link opens what it says', async () => {
    const { decodeHash } = await import('../src/url-state.js');
    const link = /`(#scenario=demo[^`]*)`/.exec(readme)![1]!;
    expect(decodeHash(link)).toMatchObject({
      position: 6,
      view: 'walk',
      ref: { example: 'demo', board: 'pc', arch: 'x86-pae' },
    });
  });

  it('its Replacement link opens Belady’s anomaly at the end', async () => {
    const { decodeHash } = await import('../src/url-state.js');
    const link = /`(#view=replacement[^`]*)`/.exec(readme)![1]!;
    expect(decodeHash(link)).toMatchObject({
      view: 'replacement',
      replacement: { refs: '1 2 3 4 1 2 5 1 2 3 4 5', frames: '3,4', policies: 'fifo', at: 12 },
    });
  });
});
