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
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { toJson } from '../json.js';
import { registersOfDescription } from './gdb-source.js';
import { RspClient } from './rsp-client.js';
import { buildStates, CONFIGS, mmkit, rawImageOf } from './test-states.js';

const QEMU_AARCH64 = 'qemu-system-aarch64';
const QEMU_X86 = 'qemu-system-x86_64';
const haveAarch64 = spawnSync(QEMU_AARCH64, ['--version']).status === 0;
const haveX86 = spawnSync(QEMU_X86, ['--version']).status === 0;
if (!haveAarch64) {
  console.warn(`QEMU tests skipped: ${QEMU_AARCH64} is not installed (apt-get install qemu-system-arm)`);
}
if (!haveX86)
  console.warn(`QEMU tests skipped: ${QEMU_X86} is not installed (apt-get install qemu-system-x86)`);

const dir = mkdtempSync(join(tmpdir(), 'mmkit-qemu-'));
let qemu: ChildProcess | undefined;
afterEach(() => {
  qemu?.kill('SIGKILL');
  qemu = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
/**
 * `mmkit walk VA --from gdb:…` for each VA agrees with QEMU's own `gva2gpa`: the same PA, or a
 * fault of one of `faults` where QEMU finds no mapping. Returns how many VAs were mapped.
 */
async function walkLiveAgainstQemu(
  mon: Monitor,
  gdbPort: number,
  vas: readonly bigint[],
  arch: string,
  faults: readonly string[],
): Promise<number> {
  let mapped = 0;
  for (const va of vas) {
    const r = await mmkit(['walk', `0x${va.toString(16)}`, '--from', `gdb:127.0.0.1:${gdbPort}`, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      arch: string;
      outcome: { ok: boolean; pa?: string; fault?: string };
    };
    expect(report.arch).toBe(arch);
    const qemuPa = await gva2gpa(mon, va);
    if (report.outcome.ok) {
      mapped++;
      expect(BigInt(report.outcome.pa!), `VA 0x${va.toString(16)}`).toBe(qemuPa);
    } else {
      expect(faults).toContain(report.outcome.fault);
      expect(qemuPa, `VA 0x${va.toString(16)}`).toBeUndefined();
    }
  }
  return mapped;
}

/**
 * `mmkit diff EXPORT gdb:…` reports no differences: every table read live from the guest equals
 * the export it was built from (A/D bits aside: the guest's walks set them).
 */
async function expectLiveEqualsExport(
  state: ReturnType<typeof exportTranslationState>,
  dir: string,
  gdbPort: number,
): Promise<void> {
  const exported = join(dir, `${state.arch}-state.json`);
  writeFileSync(exported, toJson(state));
  const diff = await mmkit(['diff', exported, `gdb:127.0.0.1:${gdbPort}`, '--ignore-ad', '--exit-code']);
  expect(diff.stderr).toBe('');
  expect(diff.stdout).toMatch(/: no differences\n$/);
  expect(diff.code).toBe(0);
}

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
        const mapped = await walkLiveAgainstQemu(mon, gdbPort, vas, 'aarch64', ['translation']);
        expect(mapped).toBe(6);
        // The whole tree read live equals the export the guest was built from.
        await expectLiveEqualsExport(state, dir, gdbPort);
        // The guest was resumed after each walk (gdb detach): it is still running.
        expect(await mon.cmd('info status')).toMatch(/running/);
        // PSTATE.PAN read live (gdb `cpsr`, bit 22): the harness sets it through the gdbstub and
        // leaves the CPU stopped; an EL1 read of the user heap then takes the permission fault
        // (ESR_EL1 0x9600000F: Data Abort from the current EL, permission fault at L3; arch-facts A6).
        const heap = `0x${(states.heap + 0x123n).toString(16)}`;
        const walkHeap = async () => {
          const r = await mmkit(['walk', heap, '--from', `gdb:127.0.0.1:${gdbPort}`, '--json']);
          expect(r.stderr).toBe('');
          return JSON.parse(r.stdout) as {
            notes: string[];
            outcome: { ok: boolean; syndrome?: string; cause?: string };
          };
        };
        const clear = await walkHeap();
        expect(clear.notes).toContain('PSTATE.PAN = 0 (PSTATE bit 22)');
        expect(clear.outcome.ok).toBe(true);
        const setup = await RspClient.connect('127.0.0.1', gdbPort, 5000);
        await setup.request('qSupported:xmlRegisters=aarch64');
        await setup.request('?');
        // QEMU answers `p` only after the debugger has read the target description.
        const xmls: string[] = [];
        for (const annex of ['target.xml', 'aarch64-core.xml']) {
          let xml = '';
          for (;;) {
            const r = await setup.request(`qXfer:features:read:${annex}:${xml.length.toString(16)},ffb`);
            xml += r.slice(1);
            if (r[0] !== 'm') break;
          }
          xmls.push(xml);
        }
        const cpsrNum = registersOfDescription(xmls).get('cpsr')!.regnum.toString(16);
        const reply = await setup.request(`p${cpsrNum}`);
        expect(reply, 'p21 (cpsr)').toMatch(/^[0-9a-f]{8}$/);
        const cpsr = BigInt(`0x${reply.match(/../g)!.reverse().join('')}`);
        expect(await setup.request(`P${cpsrNum}=${leHexOf(cpsr | (1n << 22n), 4)}`)).toBe('OK');
        await setup.close();
        const pan = await walkHeap();
        expect(pan.notes).toContain('PSTATE.PAN = 1 (PSTATE bit 22)');
        expect(pan.outcome).toMatchObject({
          ok: false,
          syndrome: '0x9600000F',
          cause: 'PSTATE.PAN = 1: EL1 data access to EL0-accessible memory (PAN)',
        });
        // --pan 0 overrides the live value.
        const r = await mmkit(['walk', heap, '--from', `gdb:127.0.0.1:${gdbPort}`, '--json', '--pan', '0']);
        expect(JSON.parse(r.stdout).outcome.ok).toBe(true);
      } finally {
        mon.close();
      }
    }, 20_000);
  },
);

/** Little-endian hex of `value` in `bytes` bytes, as a gdbstub `P` packet carries it. */
function leHexOf(value: bigint, bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++)
    out += Number((value >> BigInt(8 * i)) & 0xffn)
      .toString(16)
      .padStart(2, '0');
  return out;
}

describe.skipIf(!haveX86)(
  'QEMU in the loop: walk --from gdb agrees with QEMU (qemu-system-x86_64, 4-level paging)',
  () => {
    it('every probed address translates as QEMU translates it', async () => {
      const states = buildStates(CONFIGS[3]);
      const k = states.kernel;
      // A 2 MiB identity page at PD[0] (VA 0 → PA 0, supervisor rwx) for the guest's `jmp $` at 0x8000.
      const mmu = k.arch.createMmu(k.memory);
      mmu.setUserRoot(states.proc.root, states.proc.asid);
      const trace: WalkStep[] = [];
      mmu.probe(Number(states.text >> 12n), 0, 1, new WalkResult(), trace);
      const pd = trace[2]!;
      expect(pd.levelName).toBe('PD');
      const big = k.arch.codec.encode(
        {
          kind: 'leaf',
          pa: 0,
          attrs: {
            user: { read: false, write: false, execute: false },
            kernel: { read: true, write: true, execute: true },
            global: false,
            memoryType: 'normal-wb',
            accessed: true,
            dirty: true,
            software: 0,
          },
        },
        2,
      );
      k.memory.write32(pd.tablePa, big.lo);
      k.memory.write32(pd.tablePa + 4, big.hi);
      const state = exportTranslationState(k, states.proc);
      const { base, bytes } = rawImageOf(state);
      const tables = join(dir, 'x86-tables.bin');
      const loop = join(dir, 'x86-loop.bin');
      writeFileSync(tables, bytes);
      writeFileSync(loop, new Uint8Array([0xeb, 0xfe])); // jmp $
      const gdbPort = await freePort();
      const monPort = await freePort();
      qemu = spawn(
        QEMU_X86,
        [
          '-M',
          'q35',
          // SMAP in CPUID: QEMU drops CR4.SMAP on a CPU without it (used by the SMAP check below).
          '-cpu',
          'qemu64,+smap',
          '-m',
          '128M',
          '-nographic',
          '-nodefaults',
          '-serial',
          'none',
          '-S',
          '-monitor',
          `tcp:127.0.0.1:${monPort},server=on,wait=off`,
          '-gdb',
          `tcp:127.0.0.1:${gdbPort}`,
          '-device',
          `loader,file=${tables},addr=0x${base.toString(16)},force-raw=on`,
          '-device',
          `loader,file=${loop},addr=0x8000,force-raw=on`,
        ],
        { stdio: 'ignore' },
      );
      const mon = await Monitor.open(monPort);
      try {
        // The harness (not mmkit) puts the stopped CPU into 4-level paging through the gdbstub:
        // CS = 0 (a real-mode load: base 0) and RIP = 0x8000 first, then EFER.LME|NXE, CR4, CR3,
        // CR0.PE|PG|WP, and EFER again with LMA (a real CPU sets it when PG turns on with LME). It then drops the
        // connection without detaching, so the CPU stays stopped until mmkit detaches.
        const setup = await RspClient.connect('127.0.0.1', gdbPort, 5000);
        await setup.request('qSupported');
        let xml = '';
        for (;;) {
          const r = await setup.request(`qXfer:features:read:i386-64bit.xml:${xml.length.toString(16)},ffb`);
          xml += r.slice(1);
          if (r[0] !== 'm') break;
        }
        const regs = registersOfDescription([xml]);
        // QEMU 7.2's x86_64 stub numbers registers (`p` and `P`) without the three ss/ds/es_base
        // entries its target description lists before fs_base: a control register is at its
        // described number minus 3 (mmkit reads them with `info registers` instead). Checked below.
        const putOn = async (client: RspClient, name: string, value: bigint) => {
          const r = regs.get(name)!;
          const n = r.regnum >= regs.get('fs_base')!.regnum ? r.regnum - 3 : r.regnum;
          expect(await client.request(`P${n.toString(16)}=${leHexOf(value, r.bits / 8)}`), name).toBe('OK');
        };
        const put = (name: string, value: bigint) => putOn(setup, name, value);
        await put('cs', 0n);
        await put('rip', 0x8000n);
        await put('efer', 0x900n);
        await put('cr4', BigInt(state.registers.CR4!));
        await put('cr3', BigInt(state.registers.CR3!));
        await put('cr0', 0x8001_0001n);
        // QEMU 7.2's gdbstub stores CR0 without the LMA update; load EFER with LME|LMA|NXE itself.
        await put('efer', 0xd00n);
        await setup.close();
        const info = await mon.cmd('info registers');
        expect(info).toMatch(/CR0=800100[01]1 /); // QEMU keeps CR0.ET (bit 4) set
        expect(info).toMatch(/EFER=0+d00\b/);
        const vas = [
          states.text,
          states.heap + 0x123n,
          states.buffer,
          0x8000n,
          0x60_0000n,
          states.kernelVa + 0x1234n,
          states.kernelVa + 0x30_0008n,
          0xffff_9000_0000_0000n,
          0x0000_8000_0000_0000n,
        ];
        const mapped = await walkLiveAgainstQemu(mon, gdbPort, vas, 'x86_64', [
          'translation',
          'non-canonical',
        ]);
        expect(mapped).toBe(6);
        // The whole tree read live equals the export the guest was built from.
        await expectLiveEqualsExport(state, dir, gdbPort);
        // mmkit detached after each walk: the guest runs (its `jmp $`), with paging still on.
        expect(await mon.cmd('info status')).toMatch(/running/);
        expect(await gva2gpa(mon, 0x8000n)).toBe(0x8000n);
        // CR4.SMAP and EFLAGS.AC read live (`info registers`: CR4=, EFL= bit 18): the harness sets
        // SMAP and then AC through the gdbstub, leaving the CPU stopped. A supervisor read of the
        // user heap is #PF error code 0x1 (P, supervisor read) with AC = 0, and translates with
        // AC = 1 (STAC) (arch-facts B5, B6).
        const heap = `0x${(states.heap + 0x123n).toString(16)}`;
        const walkHeap = async () => {
          const r = await mmkit(['walk', heap, '--from', `gdb:127.0.0.1:${gdbPort}`, '--json']);
          expect(r.stderr).toBe('');
          return JSON.parse(r.stdout) as {
            notes: string[];
            outcome: { ok: boolean; syndrome?: string; cause?: string };
          };
        };
        const smapOn = async (eflags: bigint) => {
          const c = await RspClient.connect('127.0.0.1', gdbPort, 5000);
          await c.request('qSupported');
          for (let x = ''; ; ) {
            const r = await c.request(`qXfer:features:read:i386-64bit.xml:${x.length.toString(16)},ffb`);
            x += r.slice(1);
            if (r[0] !== 'm') break;
          }
          await putOn(c, 'cr4', BigInt(state.registers.CR4!) | (1n << 21n));
          await putOn(c, 'eflags', eflags);
          await c.close();
        };
        await smapOn(0x2n);
        const smap = await walkHeap();
        expect(smap.notes).toContain('EFLAGS.AC = 0 (EFLAGS bit 18) with CR4.SMAP = 1');
        expect(smap.outcome).toMatchObject({
          ok: false,
          syndrome: '0x1',
          cause: 'CR4.SMAP = 1 and EFLAGS.AC = 0: supervisor data access to a user page (SMAP)',
        });
        await smapOn(0x4_0002n);
        const stac = await walkHeap();
        expect(stac.notes).toContain('EFLAGS.AC = 1 (EFLAGS bit 18) with CR4.SMAP = 1');
        expect(stac.outcome.ok).toBe(true);
      } finally {
        mon.close();
      }
    }, 20_000);
  },
);
