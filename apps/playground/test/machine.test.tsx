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
});
