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
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 2 / 26'));
    expect(port.sent[0]).toMatchObject({ type: 'open', position: 2 });
    expect(screen.getByRole('tab', { name: 'Machine' }).getAttribute('aria-selected')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: 'Step forward (])' }));
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 3 / 26'));
    // Step 3 is the first heap store: a demand-zero fault, so the walk explainer comes into focus.
    expect(screen.getByRole('tab', { name: 'Walk' }).getAttribute('aria-selected')).toBe('true');
    await waitFor(() => expect(screen.getByTestId('walk-pa').textContent).toMatch(/^0x/));
    expect(location.hash).toBe('#scenario=demo&board=pc&arch=x86_64&p=3&view=walk');
  });

  it('moves between tabs with the arrow keys and steps with [ and ]', async () => {
    const port = fakeWorker();
    render(<App client={new Client(port)} />);
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 26'));
    fireEvent.keyDown(document.body, { key: ']' });
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 1 / 26'));
    fireEvent.keyDown(document.body, { key: '[' });
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 26'));
    const machine = screen.getByRole('tab', { name: 'Machine' });
    fireEvent.keyDown(machine, { key: 'ArrowLeft' });
    expect(screen.getByRole('tab', { name: 'Replacement' }).getAttribute('aria-selected')).toBe('true');
    // The last tab's view is loaded on demand.
    await waitFor(() => expect(screen.getByRole('heading', { name: 'Page replacement' })).toBeTruthy());
    fireEvent.keyDown(screen.getByRole('tab', { name: 'Replacement' }), { key: 'Home' });
    expect(machine.getAttribute('aria-selected')).toBe('true');
    // Keys typed into a form field are not shortcuts.
    fireEvent.click(screen.getByRole('tab', { name: 'Scenarios' }));
    fireEvent.keyDown(screen.getByLabelText('address'), { key: ']' });
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.getByTestId('position').textContent).toBe('step 0 / 26');
  });

  it('shows the ScenarioError when a step cannot be added, and adds a good one', async () => {
    const port = fakeWorker();
    render(<App client={new Client(port)} />);
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 26'));
    fireEvent.click(screen.getByRole('tab', { name: 'Scenarios' }));
    expect(screen.getAllByRole('button', { name: /^Run / })[0]!.textContent).toBe('Run demo');
    fireEvent.input(screen.getByLabelText('process'), { target: { value: 'nobody' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add step' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toMatch(
        /step 1 \(mmap\): process "nobody" is not defined by an earlier step/,
      ),
    );
    fireEvent.change(screen.getByLabelText('Operation'), { target: { value: 'spawn' } });
    fireEvent.input(screen.getByLabelText('as'), { target: { value: 'app' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add step' }));
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 1 / 1'));
    expect(screen.queryByRole('alert')).toBeNull();
    await waitFor(() => expect(location.hash).toMatch(/^#src=[\w-]+&p=1&view=/));
  });

  it('runs a pasted YAML scenario, and shows the ScenarioError of a broken one', async () => {
    const port = fakeWorker();
    render(<App client={new Client(port)} />);
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 26'));
    fireEvent.click(screen.getByRole('tab', { name: 'Scenarios' }));
    const box = screen.getByLabelText(/^Scenario file/);
    fireEvent.input(box, { target: { value: 'board: virt\nsteps:\n  - { op: jump }\n' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run this scenario' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toMatch(/^scenario:3: step 1: op "jump" is not a step/),
    );
    fireEvent.input(box, {
      target: { value: 'board: pc\nsteps:\n  - { op: spawn, as: a }\n  - { op: exit, process: a }\n' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Run this scenario' }));
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 2'));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('runs a scenario file opened from disk or dropped on the box', async () => {
    const port = fakeWorker();
    render(<App client={new Client(port)} />);
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 26'));
    fireEvent.click(screen.getByRole('tab', { name: 'Scenarios' }));
    const yaml =
      'board: virt\nsteps:\n  - { op: spawn, as: a }\n  - { op: spawn, as: b }\n  - { op: exit, process: a }\n';
    const input = screen.getByLabelText('Open a scenario file') as HTMLInputElement;
    Object.defineProperty(input, 'files', { value: [new File([yaml], 'two.yaml')] });
    fireEvent.change(input);
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 3'));
    expect((screen.getByLabelText(/^Scenario file/) as HTMLTextAreaElement).value).toBe(yaml);
    const form = screen.getByRole('form', { name: 'Run a scenario file' });
    const dropped = 'board: pc\nsteps:\n  - { op: spawn, as: a }\n';
    fireEvent.drop(form, { dataTransfer: { files: [new File([dropped], 'one.yaml')] } });
    await waitFor(() => expect(screen.getByTestId('position').textContent).toBe('step 0 / 1'));
  });
});
