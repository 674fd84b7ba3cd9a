/** The event log's lines for the kernel's `reclaim` events (kswapd and direct reclaim). */
import pc from 'picocolors';
import { describe, expect, it } from 'vitest';
import { formatEvent } from './commands/run.js';

const plain = pc.createColors(false);

describe('mmkit run: reclaim event lines', () => {
  it('shows wake/begin with the free frames, sleep/end with what was scanned and reclaimed', () => {
    expect(
      formatEvent(
        {
          type: 'reclaim',
          action: 'kswapd-wake',
          free: 15,
          scanned: 0,
          reclaimed: 0,
          detail: 'free 15 < low watermark 16',
        },
        plain,
      ),
    ).toBe('reclaim kswapd-wake free 15: free 15 < low watermark 16');
    expect(
      formatEvent(
        {
          type: 'reclaim',
          action: 'kswapd-sleep',
          free: 48,
          scanned: 40,
          reclaimed: 33,
          detail: 'free 48 ≥ high watermark 48',
        },
        plain,
      ),
    ).toBe('reclaim kswapd-sleep free 48 (scanned 40, reclaimed 33): free 48 ≥ high watermark 48');
    expect(
      formatEvent(
        {
          type: 'reclaim',
          action: 'direct-end',
          free: 32,
          scanned: 32,
          reclaimed: 32,
          detail: '32 of 32 frames reclaimed',
        },
        plain,
      ),
    ).toBe('reclaim direct-end free 32 (scanned 32, reclaimed 32): 32 of 32 frames reclaimed');
  });
});
