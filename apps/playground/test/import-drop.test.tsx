// @vitest-environment happy-dom
/**
 * Dropping a file on the Import/export view: a translation-state export is imported as one, a
 * memory image (raw or an ELF core) goes to the image form and loads with its base and registers.
 */
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type Port } from '../src/client.js';
import { classifyDrop, ImportView } from '../src/views/import.js';
import type { Envelope, Reply } from '../src/worker/protocol.js';

afterEach(cleanup);

/** A worker that records each request and refuses it with a message naming its type. */
function recorder(): { client: Client; sent: Envelope[] } {
  const sent: Envelope[] = [];
  const port: Port = {
    onmessage: null,
    postMessage(m) {
      sent.push(m);
      const reply: Reply = { id: m.id, ok: false, error: `no worker here (${m.type})` };
      setTimeout(() => port.onmessage?.({ data: reply } as MessageEvent<Reply>), 0);
    },
  };
  return { client: new Client(port), sent };
}

const drop = (target: Element, file: File) =>
  fireEvent.drop(target, { dataTransfer: { files: [file], dropEffect: 'none' } });

describe('classifyDrop', () => {
  it('tells a translation-state export from a memory image by the first bytes', async () => {
    const of = (...parts: BlobPart[]) => classifyDrop(new Blob(parts));
    expect(await of('{"format":"mmkit-translation-state/1"}')).toBe('state');
    expect(await of('\ufeff \n\t{"format":1}')).toBe('state'); // a BOM and blanks first
    expect(await of(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]))).toBe('image'); // ELF core
    expect(await of(new Uint8Array(4096))).toBe('image'); // raw RAM, zeros
    expect(await of('not json')).toBe('image');
    expect(await of('')).toBe('image');
  });
});

describe('dropping a file on the Import/export view', () => {
  it('imports a translation-state export as one (the text box shows it)', async () => {
    const { client, sent } = recorder();
    render(<ImportView client={client} pids={[1]} />);
    const text = '{"format":"mmkit-translation-state/1","arch":"x86_64"}';
    drop(screen.getByTestId('import-view'), new File([text], 'state.json', { type: 'application/json' }));
    await waitFor(() => expect(sent.map((m) => m.type)).toEqual(['import']));
    expect(sent[0]).toMatchObject({ type: 'import', text });
    expect((document.getElementById('import-text') as HTMLTextAreaElement).value).toBe(text);
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('no worker here (import)'));
  });

  it('loads a memory image dropped on the view with the image form’s base and registers', async () => {
    const { client, sent } = recorder();
    render(<ImportView client={client} pids={[1]} />);
    fireEvent.input(screen.getByLabelText('TTBR0_EL1'), { target: { value: '0x40001000' } });
    const bytes = new Uint8Array(8192).fill(3);
    // happy-dom delivers no event dispatched inside a <form>: the drop onto the form itself is the
    // e2e test's (Chromium); here it lands on the view.
    drop(screen.getByTestId('import-view'), new File([bytes], 'ram.bin'));
    await waitFor(() => expect(sent.map((m) => m.type)).toEqual(['importImage']));
    const req = sent[0] as Extract<Envelope, { type: 'importImage' }>;
    expect(req).toMatchObject({ name: 'ram.bin', base: '0x40000000' });
    expect(req.registers.TTBR0_EL1).toBe('0x40001000');
    expect(req.bytes).toEqual(bytes);
    expect(screen.getByTestId('image-file-name').textContent).toBe('ram.bin (8192 bytes)');
    // The file stays chosen: "Load image" sends it again.
    fireEvent.click(screen.getByRole('button', { name: 'Load image' }));
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]).toMatchObject({ type: 'importImage', name: 'ram.bin' });
  });

  it('does nothing for a drop without a file', async () => {
    const { client, sent } = recorder();
    render(<ImportView client={client} pids={[]} />);
    fireEvent.drop(screen.getByTestId('import-view'), { dataTransfer: { files: [] } });
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual([]);
  });
});
