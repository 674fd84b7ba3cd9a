/// <reference lib="webworker" />
/** The kernel worker: runs the engine off the UI thread and answers {@link Envelope}s. */
import { Host } from './host.js';
import type { Envelope, Reply } from './protocol.js';

const host = new Host();
const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = async (ev: MessageEvent<Envelope>) => {
  const { id } = ev.data;
  let reply: Reply;
  try {
    reply = { id, ok: true, value: await host.answer(ev.data) };
  } catch (e) {
    reply = { id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  // The frame map's bytes move to the UI instead of being copied.
  const value = reply.ok ? (reply.value as { frames?: { codes?: Uint8Array } } | null) : null;
  const codes = value?.frames?.codes;
  scope.postMessage(reply, codes ? [codes.buffer] : []);
};
