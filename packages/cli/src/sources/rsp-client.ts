/**
 * A client of the GDB remote serial protocol (RSP) over TCP, as QEMU's gdbstub speaks it
 * (https://sourceware.org/gdb/current/onlinedocs/gdb.html/Remote-Protocol.html):
 * packets `$payload#cs` (cs = the payload's byte sum modulo 256, two hex digits), `+`/`-`
 * acknowledgements (a `-` makes the sender retransmit), run-length encoding in replies
 * (`X*n`: X repeated n − 29 more times) and `}` escapes (next byte XOR 0x20).
 *
 * One request at a time; every request has a timeout. Errors are {@link SourceError}s with one
 * line naming the target.
 */
import { createConnection, type Socket } from 'node:net';
import { SourceError } from './source.js';

/** Checksum of a packet payload: byte sum modulo 256. */
export function rspChecksum(payload: string): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) sum = (sum + payload.charCodeAt(i)) & 0xff;
  return sum;
}

/** Frames a payload: `$payload#cs`, escaping `$ # } *` as the protocol requires. */
export function rspFrame(payload: string): string {
  const escaped = payload.replace(/[$#}*]/g, (c) => `}${String.fromCharCode(c.charCodeAt(0) ^ 0x20)}`);
  return `$${escaped}#${rspChecksum(escaped).toString(16).padStart(2, '0')}`;
}

/** Expands run-length encoding and `}` escapes of a received payload. */
export function rspDecode(data: string): string {
  let out = '';
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === '}' && i + 1 < data.length) {
      out += String.fromCharCode(data.charCodeAt(++i) ^ 0x20);
    } else if (c === '*' && i + 1 < data.length && out.length > 0) {
      const n = data.charCodeAt(++i) - 29;
      out += out[out.length - 1]!.repeat(Math.max(0, n));
    } else out += c;
  }
  return out;
}

/**
 * Takes the first complete packet out of `buffer`: returns the raw payload (still encoded), the
 * rest of the buffer, and whether its checksum was right; undefined while incomplete. Bytes
 * before the `$` (acks, noise) are skipped.
 */
export function rspTakePacket(
  buffer: string,
): { payload: string; rest: string; checksumOk: boolean } | undefined {
  const start = buffer.indexOf('$');
  if (start < 0) return undefined;
  const hash = buffer.indexOf('#', start + 1);
  if (hash < 0 || hash + 3 > buffer.length) return undefined;
  const payload = buffer.slice(start + 1, hash);
  const cs = Number.parseInt(buffer.slice(hash + 1, hash + 3), 16);
  return { payload, rest: buffer.slice(hash + 3), checksumOk: cs === rspChecksum(payload) };
}

/** A connected RSP client. */
export class RspClient {
  private rx = '';
  private waiting: (() => void) | undefined;
  private closed: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly target: string,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => {
      this.rx += chunk;
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = new Error('connection closed');
      this.waiting?.();
    });
    socket.on('error', (e) => {
      this.closed = e;
      this.waiting?.();
    });
  }

  /**
   * Connects to `host:port`.
   * @throws SourceError when the connection is refused or does not open within `timeoutMs`.
   */
  static connect(host: string, port: number, timeoutMs: number): Promise<RspClient> {
    const target = `gdb ${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new SourceError(
            `${target}: no connection within ${timeoutMs} ms; expected QEMU started with -s or -gdb tcp::${port}`,
          ),
        );
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RspClient(socket, target, timeoutMs));
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(
          new SourceError(
            `${target}: cannot connect: ${e.code ?? e.message}; expected QEMU started with -s (port 1234) or -gdb tcp::PORT`,
          ),
        );
      });
    });
  }

  private async waitFor<T>(what: string, take: () => T | undefined, deadline: number): Promise<T> {
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
      if (this.closed) throw new SourceError(`${this.target}: ${what}: ${this.closed.message}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new SourceError(`${this.target}: no answer to ${what} within ${this.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiting = () => {
          clearTimeout(t);
          this.waiting = undefined;
          resolve();
        };
      });
    }
  }

  /**
   * Sends `payload` and returns the decoded reply (`''` = not supported). With `output`,
   * console-output packets (`O…`) before the reply are decoded into it.
   * @throws SourceError on timeout, a closed connection, or a packet refused three times.
   */
  async request(payload: string, output?: string[]): Promise<string> {
    const what = JSON.stringify(payload.length > 40 ? `${payload.slice(0, 40)}…` : payload);
    const deadline = Date.now() + this.timeoutMs;
    const frame = rspFrame(payload);
    for (let attempt = 0; ; attempt++) {
      if (attempt === 3) throw new SourceError(`${this.target}: ${what} was refused (NAK) three times`);
      this.socket.write(frame, 'latin1');
      const ack = await this.waitFor(
        what,
        () => {
          const i = this.rx.search(/[+\-$]/);
          if (i < 0) return undefined;
          const c = this.rx[i]!;
          if (c === '$') return '+'; // no-ack mode or the ack was lost: the reply is here
          this.rx = this.rx.slice(i + 1);
          return c;
        },
        deadline,
      );
      if (ack === '+') break;
    }
    for (;;) {
      const packet = await this.waitFor(what, () => rspTakePacket(this.rx), deadline);
      this.rx = packet.rest;
      if (!packet.checksumOk) {
        this.socket.write('-', 'latin1');
        continue;
      }
      this.socket.write('+', 'latin1');
      const reply = rspDecode(packet.payload);
      // QEMU stops the guest when a debugger connects and reports it with an unsolicited stop
      // reply (`T02thread:01;`); only `?` and resumption packets expect one. Skip it.
      if (payload !== '?' && /^[TS][0-9a-f]{2}/i.test(reply)) continue;
      // Console output (`O` + hex) precedes the final reply of a monitor command (qRcmd).
      if (output !== undefined && reply.startsWith('O') && reply !== 'OK') {
        output.push(Buffer.from(reply.slice(1), 'hex').toString('latin1'));
        continue;
      }
      return reply;
    }
  }

  /**
   * Runs a monitor command (`qRcmd`, GDB's `monitor …`) and returns what it printed, or
   * undefined when the stub does not support it or refuses the command.
   */
  async monitor(command: string): Promise<string | undefined> {
    const output: string[] = [];
    const reply = await this.request(`qRcmd,${Buffer.from(command, 'latin1').toString('hex')}`, output);
    return reply === 'OK' ? output.join('') : undefined;
  }

  /**
   * Last words on an interrupt: writes `payloads` as packets without waiting for replies, ends
   * the connection and calls `done` once the bytes are out (or after 300 ms).
   */
  abandon(payloads: readonly string[], done: () => void): void {
    const timer = setTimeout(done, 300);
    if (this.socket.destroyed) return;
    this.socket.end(payloads.map(rspFrame).join(''), 'latin1', () => {
      clearTimeout(timer);
      done();
    });
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.end(() => resolve());
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 500).unref();
    });
  }
}
