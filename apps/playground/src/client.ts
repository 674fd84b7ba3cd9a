/** The UI side of the worker protocol: one promise per request. */
import type { Envelope, Reply, Request, Responses } from './worker/protocol.js';

/** Something that can carry envelopes to a worker (a Worker, or a fake in tests). */
export interface Port {
  postMessage(message: Envelope): void;
  onmessage: ((ev: MessageEvent<Reply>) => void) | null;
}

/** Sends requests to the kernel worker. */
export class Client {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly port: Port) {
    port.onmessage = (ev) => {
      const r = ev.data;
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.ok) w.resolve(r.value);
      else w.reject(new Error(r.error));
    };
  }

  /** Sends `req`; resolves with the answer or rejects with the worker's message. */
  call<R extends Request>(req: R): Promise<Responses[R['type']]> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ ...req, id });
    });
  }
}

/** Starts the kernel worker. */
export function startWorker(): Client {
  const w = new Worker(new URL('./worker/worker.ts', import.meta.url), {
    type: 'module',
    name: 'mmkit-kernel',
  });
  return new Client(w as unknown as Port);
}
