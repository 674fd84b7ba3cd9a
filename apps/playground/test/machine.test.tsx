// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type Port } from '../src/client.js';
import { MachineView } from '../src/views/machine.js';
import { Host } from '../src/worker/host.js';
import type { Envelope, Reply } from '../src/worker/protocol.js';
import { DEMO_REF } from '../src/worker/scenario.js';

afterEach(cleanup);

describe('MachineView', () => {
  it('selects frames with the arrow keys and asks the worker only about the latest one', async () => {
    const host = new Host();
    const snap = host.handle({ type: 'open', ref: DEMO_REF, position: 1 });
    const asked: number[] = [];
    const port: Port = {
      onmessage: null,
      postMessage(m: Envelope) {
        if (m.type === 'frame') asked.push(m.index);
        const reply: Reply = { id: m.id, ok: true, value: host.handle(m) };
        setTimeout(() => port.onmessage?.({ data: reply } as MessageEvent<Reply>), 5);
      },
    };
    render(<MachineView snap={snap} client={new Client(port)} />);
    const map = screen.getByRole('img', { name: /Physical frame map, 262144 frames/ });
    expect(screen.getByText(/page table: \d+/).textContent).toBe(`page table: ${snap.frames.counts[2]}`);
    for (let i = 0; i < 40; i++) fireEvent.keyDown(map, { key: 'ArrowRight' });
    await waitFor(() =>
      expect(screen.getByTestId('frame-info').textContent).toContain('#39 at PA 0x40027000'),
    );
    // One question in flight at a time: far fewer than 40, and the last one is the frame shown.
    expect(asked.length).toBeLessThan(10);
    expect(asked.at(-1)).toBe(39);
    fireEvent.keyDown(map, { key: 'ArrowDown' });
    await waitFor(() => expect(screen.getByTestId('frame-info').textContent).toContain(`#${39 + 512} at PA`));
  });

  it('names the frames just swapped out: legend, map label, the `s` key and the button, the slot in the live region', async () => {
    const host = new Host();
    const snap = host.handle({ type: 'open', ref: { example: 'swap' }, position: 7 });
    const port: Port = {
      onmessage: null,
      postMessage(m: Envelope) {
        const reply: Reply = { id: m.id, ok: true, value: host.handle(m) };
        setTimeout(() => port.onmessage?.({ data: reply } as MessageEvent<Reply>), 0);
      },
    };
    render(<MachineView snap={snap} client={new Client(port)} />);
    const codes = snap.frames.codes;
    const out = [...codes.keys()].filter((i) => codes[i] === 7);
    expect(out).toHaveLength(4);
    expect(screen.getByText(/just swapped out: \d+/).textContent).toBe('just swapped out: 4');
    const map = screen.getByRole('img', { name: /, 4 just swapped out; .*s the next swapped-out one/ });
    const info = screen.getByTestId('frame-info');
    fireEvent.keyDown(map, { key: 's' });
    await waitFor(() => expect(info.textContent).toContain(`#${out[0]} at PA`));
    expect(info.textContent).toContain('free, just swapped out');
    expect(screen.getByTestId('frame-swapped-to').textContent).toMatch(
      /^slot 0:\d+ of swap0 at step 7 \(pid 1 /,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Next swapped-out frame (s)' }));
    await waitFor(() => expect(info.textContent).toContain(`#${out[1]} at PA`));
    // Before the reclaim there is none: the button is off, the label says nothing of swap.
    cleanup();
    const before = host.handle({ type: 'open', ref: { example: 'swap' }, position: 6 });
    render(<MachineView snap={before} client={new Client(port)} />);
    expect(
      (screen.getByRole('button', { name: 'Next swapped-out frame (s)' }) as HTMLButtonElement).disabled,
    ).toBe(true);
    expect(screen.getByRole('img').getAttribute('aria-label')).not.toContain('swapped');
  });
});
