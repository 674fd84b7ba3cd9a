/**
 * The RSP client against a scripted fake gdbstub: framing, checksums, acknowledgements and
 * retransmission, run-length decoding, QEMU's unsolicited stop reply, monitor output, and the
 * one-line errors for a refused connection and a silent target.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RspClient, rspChecksum, rspDecode, rspFrame, rspTakePacket } from './rsp-client.js';
import { mmkit } from './test-states.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/**
 * A fake stub: `reply(payload, socket)` answers each well-formed packet it receives; `nak(socket)`
 * runs for each `-` the client sends.
 */
function fakeStub(
  reply: (payload: string, socket: Socket) => void,
  nak?: (socket: Socket) => void,
): Promise<number> {
  return new Promise((resolve) => {
    server = createServer((socket) => {
      socket.setEncoding('latin1');
      let buf = '';
      socket.on('data', (d: string) => {
        buf += d;
        for (;;) {
          const ack = /^[+-]/.exec(buf);
          if (ack) {
            if (ack[0] === '-') nak?.(socket);
            buf = buf.slice(1);
            continue;
          }
          const p = rspTakePacket(buf);
          if (!p) break;
          buf = p.rest;
          reply(rspDecode(p.payload), socket);
        }
      });
    });
    server.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port));
  });
}

describe('RSP framing', () => {
  it('checksums, escapes and run-length decoding follow the protocol', () => {
    expect(rspChecksum('OK')).toBe(0x9a);
    expect(rspFrame('OK')).toBe('$OK#9a');
    expect(rspFrame('m0,4')).toBe(`$m0,4#${rspChecksum('m0,4').toString(16).padStart(2, '0')}`);
    expect(rspFrame('a#b')).toBe(`$a}\x03b#${rspChecksum('a}\x03b').toString(16)}`);
    // "0* " = '0' then ' ' (32) − 29 = 3 more: "0000".
    expect(rspDecode('0* ')).toBe('0000');
    expect(rspDecode('}\x03')).toBe('#');
    expect(rspTakePacket('+$OK#9a rest')).toEqual({ payload: 'OK', rest: ' rest', checksumOk: true });
    expect(rspTakePacket('$OK#00')?.checksumOk).toBe(false);
    expect(rspTakePacket('$OK#9')).toBeUndefined();
  });
});

describe('RSP client', () => {
  it('acks, retransmits after a NAK, asks again after a bad checksum, skips a stop reply, decodes RLE', async () => {
    let refused = false;
    let corrupted = false;
    const seen: string[] = [];
    // QEMU's stop reply after an attach, then the register data with run-length encoding:
    // "12* " is '1', '2' and three more '2's.
    const good = `${rspFrame('T02thread:01;')}$12* #${rspChecksum('12* ').toString(16)}`;
    const port = await fakeStub(
      (payload, socket) => {
        seen.push(payload);
        if (!refused) {
          refused = true;
          socket.write('-'); // the first packet is refused: the client must send it again
          return;
        }
        socket.write('+');
        if (payload !== 'g') socket.write(rspFrame('OK'));
        else if (!corrupted) {
          corrupted = true;
          socket.write('$12* #00'); // a bad checksum: the client answers '-' and waits
        } else socket.write(good);
      },
      (socket) => socket.write(good), // retransmission after the client's '-'
    );
    const c = await RspClient.connect('127.0.0.1', port, 2000);
    expect(await c.request('QStartNoAckMode')).toBe('OK');
    expect(seen).toEqual(['QStartNoAckMode', 'QStartNoAckMode']);
    expect(await c.request('g')).toBe('12222');
    expect(corrupted).toBe(true);
    await c.close();
  });

  it('collects monitor output (O packets) before OK', async () => {
    const port = await fakeStub((payload, socket) => {
      socket.write('+');
      if (payload.startsWith('qRcmd,')) {
        const text = Buffer.from(payload.slice(6), 'hex').toString();
        socket.write(rspFrame(`O${Buffer.from(`you said ${text}\n`).toString('hex')}`));
        socket.write(rspFrame('OK'));
      }
    });
    const c = await RspClient.connect('127.0.0.1', port, 2000);
    expect(await c.monitor('info registers')).toBe('you said info registers\n');
    await c.close();
  });

  it('a silent target times out with one line; a refused connection too (exit 2)', async () => {
    const port = await fakeStub(() => {});
    const silent = await mmkit(['walk', '0x1000', '--from', `gdb:127.0.0.1:${port}`, '--timeout', '200']);
    expect(silent.code).toBe(2);
    expect(silent.stderr).toBe(
      `mmkit: error: gdb 127.0.0.1:${port}: no answer to "qSupported:xmlRegisters=i386,aarch64" within 200 ms\n`,
    );
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    const refused = await mmkit(['dump', '--from', `gdb:127.0.0.1:${port}`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^mmkit: error: gdb 127\.0\.0\.1:\d+: cannot connect: ECONNREFUSED; expected QEMU started with -s/,
    );
  });
});

describe('interrupting a live read', () => {
  it('^C detaches (D) so QEMU resumes the guest, then the process ends (built binary)', async () => {
    const seen: string[] = [];
    // A stub that answers the opening packets and then goes silent on the target description.
    const port = await fakeStub((payload, socket) => {
      seen.push(payload);
      socket.write('+');
      if (payload.startsWith('qSupported')) socket.write(rspFrame('PacketSize=1000;qXfer:features:read+'));
      else if (payload === '?') socket.write(rspFrame('T05thread:01;'));
      else if (payload === 'D') socket.write(rspFrame('OK'));
    });
    const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'walk', '0x1000', '--from', `gdb:127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 200 && !seen.some((p) => p.startsWith('qXfer')); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(seen.some((p) => p.startsWith('qXfer'))).toBe(true);
    child.kill('SIGINT');
    const signal = await new Promise<NodeJS.Signals | null>((r) =>
      child.once('exit', (_code, sig) => r(sig)),
    );
    expect(signal).toBe('SIGINT');
    expect(seen[seen.length - 1]).toBe('D');
  });
});
