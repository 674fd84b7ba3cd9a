/**
 * QEMU in the loop: a tiny guest built at test time (the mmkit kernel's tables for one process,
 * loaded at their physical addresses with `-device loader`, and a few instructions that program
 * the translation registers, enable the MMU and loop), then `mmkit walk --from gdb:…` against
 * QEMU's own answer (HMP `gva2gpa`). Skipped, with a message, when QEMU is not installed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalkResult, type WalkStep } from '@mmkit/core';
import { exportTranslationState } from '@mmkit/kernel';
import { afterEach, describe, expect, it } from 'vitest';
import { buildStates, CONFIGS, mmkit, rawImageOf } from './test-states.js';

const QEMU_AARCH64 = 'qemu-system-aarch64';
const haveAarch64 = spawnSync(QEMU_AARCH64, ['--version']).status === 0;
if (!haveAarch64)
  console.warn(`QEMU tests skipped: ${QEMU_AARCH64} is not installed (apt-get install qemu-system-arm)`);

const dir = mkdtempSync(join(tmpdir(), 'mmkit-qemu-'));
let qemu: ChildProcess | undefined;
afterEach(() => {
  qemu?.kill('SIGKILL');
  qemu = undefined;
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** QEMU's human monitor over TCP: one command at a time, output up to the next prompt. */
class Monitor {
  private buf = '';
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
    });
  }
  static async open(port: number): Promise<Monitor> {
    for (let i = 0; i < 100; i++) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const c = tcpConnect(port, '127.0.0.1', () => resolve(c));
          c.once('error', reject);
        });
        const m = new Monitor(s);
        await m.until();
        return m;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error('QEMU monitor did not open');
  }
  private async until(): Promise<string> {
    for (let i = 0; i < 200; i++) {
      const at = this.buf.indexOf('(qemu) ');
      if (at >= 0) {
        const out = this.buf.slice(0, at);
        this.buf = this.buf.slice(at + 7);
        return out;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no monitor prompt; got ${JSON.stringify(this.buf)}`);
  }
  async cmd(text: string): Promise<string> {
    this.socket.write(`${text}\n`);
    // HMP over a socket echoes the line with terminal escape sequences (ESC [ … letter).
    return (await this.until()).replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g'), '');
  }
  close(): void {
    this.socket.destroy();
  }
}

/** QEMU's translation of `va` on the current CPU: the physical address, or undefined if unmapped. */
async function gva2gpa(mon: Monitor, va: bigint): Promise<bigint | undefined> {
  const out = await mon.cmd(`gva2gpa 0x${va.toString(16)}`);
  const m = /gpa: (0x[0-9a-f]+)/i.exec(out);
  if (m) return BigInt(m[1]!);
  if (/Unmapped/i.test(out)) return undefined;
  throw new Error(`gva2gpa: ${out}`);
}

const u32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};

/**
 * AArch64 code at `base`: for each (register, value) `ldr x0, =value; msr <reg>, x0`, with ISBs
 * around the SCTLR_EL1 write, then `b .`. Encodings (Arm ARM C6): LDR (literal) 0x58000000 |
 * imm19 << 5 | Rt; MSR <sysreg>, X0 = 0xD5180000 | CRn << 12 | CRm << 8 | op2 << 5 (op0 = 3, op1 = 0);
 * ISB 0xD5033FDF; B . 0x14000000.
 */
function aarch64Guest(regs: Readonly<Record<string, string>>): Uint8Array {
  const MSR: Readonly<Record<string, number>> = {
    MAIR_EL1: 0xd518a200,
    TCR_EL1: 0xd5182040,
    TTBR0_EL1: 0xd5182000,
    TTBR1_EL1: 0xd5182020,
    SCTLR_EL1: 0xd5181000,
  };
  const order = ['MAIR_EL1', 'TCR_EL1', 'TTBR0_EL1', 'TTBR1_EL1', 'SCTLR_EL1'];
  const code: number[] = [];
  const literalsAt = 0x40;
  order.forEach((name, i) => {
    if (name === 'SCTLR_EL1') code.push(0xd5033fdf);
    const pc = code.length * 4;
    code.push(0x58000000 | (((literalsAt + i * 8 - pc) / 4) << 5));
    code.push(MSR[name]!);
  });
  code.push(0xd5033fdf, 0x14000000);
  const out = new Uint8Array(literalsAt + order.length * 8);
  code.forEach((w, i) => {
    out.set(u32(w), i * 4);
  });
  const v = new DataView(out.buffer);
  order.forEach((name, i) => {
    v.setBigUint64(literalsAt + i * 8, BigInt(regs[name]!), true);
  });
  return out;
}

describe.skipIf(!haveAarch64)(
  'QEMU in the loop: walk --from gdb agrees with QEMU (qemu-system-aarch64 -M virt)',
  () => {
    it('every probed address translates as QEMU translates it', async () => {
      const states = buildStates(CONFIGS[0]);
      const k = states.kernel;
      // Identity-map the RAM the guest code runs from (L1[1]: a 1 GiB block at 0x4000_0000, EL1 rwx)
      // in the process's TTBR0 tables, so the code keeps running once the MMU is on.
      const mmu = k.arch.createMmu(k.memory);
      mmu.setKernelRoot(k.kernelRoot);
      mmu.setUserRoot(states.proc.root, states.proc.asid);
      const trace: WalkStep[] = [];
      mmu.probe(0x4_0000, 0, 1, new WalkResult(), trace);
      const l1 = trace[0]!.entry;
      expect(l1.kind).toBe('table');
      const block = k.arch.codec.encode(
        {
          kind: 'leaf',
          pa: 0x4000_0000,
          attrs: {
            user: { read: false, write: false, execute: false },
            kernel: { read: true, write: true, execute: true },
            global: true,
            memoryType: 'normal-wb',
            accessed: true,
            dirty: true,
            software: 0,
          },
        },
        3,
      );
      const l1Pa = l1.kind === 'table' ? l1.pa : 0;
      k.memory.write32(l1Pa + 8, block.lo);
      k.memory.write32(l1Pa + 12, block.hi);
      const state = exportTranslationState(k, states.proc);
      const { base, bytes } = rawImageOf(state);
      const tables = join(dir, 'tables.bin');
      const code = join(dir, 'guest.bin');
      writeFileSync(tables, bytes);
      const codeAt = 0x4100_0000;
      writeFileSync(code, aarch64Guest(state.registers));
      const gdbPort = await freePort();
      const monPort = await freePort();
      qemu = spawn(
        QEMU_AARCH64,
        [
          '-M',
          'virt',
          '-cpu',
          'max',
          '-m',
          '128M',
          '-nographic',
          '-nodefaults',
          '-serial',
          'none',
          '-monitor',
          `tcp:127.0.0.1:${monPort},server=on,wait=off`,
          '-gdb',
          `tcp:127.0.0.1:${gdbPort}`,
          '-device',
          `loader,file=${tables},addr=0x${base.toString(16)},force-raw=on`,
          '-device',
          `loader,file=${code},addr=0x${codeAt.toString(16)},cpu-num=0,force-raw=on`,
        ],
        { stdio: 'ignore' },
      );
      const mon = await Monitor.open(monPort);
      try {
        // Wait until the guest has turned its MMU on (the identity block then translates).
        let on = false;
        for (let i = 0; i < 100 && !on; i++) {
          on = (await gva2gpa(mon, BigInt(codeAt)).catch(() => undefined)) === BigInt(codeAt);
          if (!on) await new Promise((r) => setTimeout(r, 20));
        }
        expect(on).toBe(true);
        const vas = [
          states.text,
          states.heap + 0x123n,
          states.buffer,
          0x7000n,
          BigInt(codeAt) + 0x10n,
          states.kernelVa + 0x1234n,
          states.kernelVa + 0x4028_0008n,
          0xffff_7000_0000_0000n,
          0x0080_0000_0000_0000n,
        ];
        let mapped = 0;
        for (const va of vas) {
          const r = await mmkit([
            'walk',
            `0x${va.toString(16)}`,
            '--from',
            `gdb:127.0.0.1:${gdbPort}`,
            '--json',
          ]);
          expect(r.stderr).toBe('');
          expect(r.code).toBe(0);
          const report = JSON.parse(r.stdout) as { outcome: { ok: boolean; pa?: string; fault?: string } };
          const qemuPa = await gva2gpa(mon, va);
          if (report.outcome.ok) {
            mapped++;
            expect(BigInt(report.outcome.pa!), `VA 0x${va.toString(16)}`).toBe(qemuPa);
          } else {
            expect(report.outcome.fault).toBe('translation');
            expect(qemuPa, `VA 0x${va.toString(16)}`).toBeUndefined();
          }
        }
        expect(mapped).toBe(6);
        // The guest was resumed after each walk (gdb detach): it is still running.
        expect(await mon.cmd('info status')).toMatch(/running/);
      } finally {
        mon.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 20_000);
  },
);
