// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../src/app.js';
import { Client, type Port } from '../src/client.js';
import { Host } from '../src/worker/host.js';
import type { Envelope, Reply } from '../src/worker/protocol.js';

/** A port that answers through a Host in this thread, asynchronously like a worker. */
function fakeWorker(): Port & { sent: Envelope[] } {
  const host = new Host();
  const port: Port & { sent: Envelope[] } = {
    sent: [],
    onmessage: null,
    postMessage(m: Envelope) {
      port.sent.push(m);
      let reply: Reply;
      try {
        reply = { id: m.id, ok: true, value: host.handle(m) };
      } catch (e) {
        reply = { id: m.id, ok: false, error: (e as Error).message };
      }
      setTimeout(() => port.onmessage?.({ data: reply } as MessageEvent<Reply>), 0);
    },
  };
  return port;
}

afterEach(() => {
  cleanup();
  location.hash = '';
});

describe('App', () => {
  it('boots the demo from the hash, steps forward, follows the step into its view and updates the hash', async () => {
    location.hash = '#scenario=demo&board=pc&arch=x86_64&p=2&view=machine';
    const port = fakeWorker();
    render(<App client={new Client(port)} />);
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 2 / 16'));
    expect(port.sent[0]).toMatchObject({ type: 'open', position: 2 });
    expect(screen.getByRole('tab', { name: 'Machine' }).getAttribute('aria-selected')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: 'Step forward (])' }));
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 3 / 16'));
    // Step 3 is the first heap store: a demand-zero fault, so the walk explainer comes into focus.
    expect(screen.getByRole('tab', { name: 'Walk' }).getAttribute('aria-selected')).toBe('true');
    await waitFor(() => expect(screen.getByTestId('walk-pa').textContent).toMatch(/^0x/));
    expect(location.hash).toBe('#scenario=demo&board=pc&arch=x86_64&p=3&view=walk');
  });

  it('moves between tabs with the arrow keys and steps with [ and ]', async () => {
    const port = fakeWorker();
    render(<App client={new Client(port)} />);
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 16'));
    fireEvent.keyDown(document.body, { key: ']' });
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 1 / 16'));
    fireEvent.keyDown(document.body, { key: '[' });
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 16'));
    const machine = screen.getByRole('tab', { name: 'Machine' });
    fireEvent.keyDown(machine, { key: 'ArrowLeft' });
    expect(screen.getByRole('tab', { name: 'Import/export' }).getAttribute('aria-selected')).toBe('true');
    fireEvent.keyDown(screen.getByRole('tab', { name: 'Import/export' }), { key: 'Home' });
    expect(machine.getAttribute('aria-selected')).toBe('true');
    // Keys typed into a form field are not shortcuts.
    fireEvent.click(screen.getByRole('tab', { name: 'Scenarios' }));
    fireEvent.keyDown(screen.getByLabelText('address'), { key: ']' });
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.getByTestId('position').textContent).toBe('step 0 / 16');
  });

  it('shows the worker error when a step cannot be added', async () => {
    const port = fakeWorker();
    render(<App client={new Client(port)} />);
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 16'));
    fireEvent.click(screen.getByRole('tab', { name: 'Scenarios' }));
    fireEvent.input(screen.getByLabelText('length'), { target: { value: '0' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add step' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toBe(
        'step.length: got 0, expected an integer from 1 to 1099511627776',
      ),
    );
    fireEvent.input(screen.getByLabelText('length'), { target: { value: '8192' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add step' }));
    // No process yet: the step runs and is recorded as failed with the reason.
    await waitFor(() =>
      expect(screen.getByTestId('current-step').textContent).toContain('pid 1 does not exist'),
    );
  });
});
