/**
 * A running QEMU as a page-table source, through its gdbstub (`-s` = `-gdb tcp::1234`).
 *
 * Read only: registers come from `p` reads of the registers the target description
 * (`qXfer:features:read:target.xml`) lists — AArch64 TTBR0_EL1, TTBR1_EL1, TCR_EL1, MAIR_EL1,
 * SCTLR_EL1 from QEMU's system-register feature and `cpsr` (PSTATE, for PAN); x86 cr0, cr3, cr4,
 * efer and eflags (AC, for SMAP) — and memory from `m`
 * reads in physical mode: QEMU's gdbstub reads *virtual* memory through the current CPU's MMU
 * unless `Qqemu.PhyMemMode:1` is set, which this source sets on open and clears on close.
 *
 * QEMU stops the guest when a debugger connects; `close()` detaches (`D`), after which QEMU
 * resumes it. Nothing is ever written to the guest.
 */

import { RspClient } from './rsp-client.js';
import { type PageTableSource, SourceError } from './source.js';

/** Register names as QEMU's target descriptions spell them → the source's names. */
const WANTED: Readonly<Record<string, string>> = {
  ttbr0_el1: 'TTBR0_EL1',
  ttbr1_el1: 'TTBR1_EL1',
  tcr_el1: 'TCR_EL1',
  mair_el1: 'MAIR_EL1',
  sctlr_el1: 'SCTLR_EL1',
  // QEMU names the AArch64 SCTLR_EL1 / AArch32 SCTLR register pair `SCTLR` (ARM_CP_STATE_BOTH).
  sctlr: 'SCTLR_EL1',
  cr0: 'CR0',
  cr3: 'CR3',
  cr4: 'CR4',
  efer: 'EFER',
  // PSTATE as GDB's AArch64 core feature shows it (`cpsr`, 32 bits): PAN is bit 22. x86 `eflags`:
  // AC is bit 18. They decide PAN and SMAP permission faults of a kernel-mode walk.
  cpsr: 'PSTATE',
  eflags: 'EFLAGS',
};

/** Parses little-endian hex register bytes. */
function leHex(text: string): bigint {
  let v = 0n;
  for (let i = text.length - 2; i >= 0; i -= 2)
    v = (v << 8n) | BigInt(Number.parseInt(text.slice(i, i + 2), 16));
  return v;
}

/** Registers of a target description: name → regnum (numbering as GDB assigns it). */
export function registersOfDescription(
  xmls: readonly string[],
): Map<string, { regnum: number; bits: number }> {
  const out = new Map<string, { regnum: number; bits: number }>();
  let next = 0;
  for (const xml of xmls) {
    for (const m of xml.matchAll(/<reg\b([^>]*)\/?>/g)) {
      const attrs = m[1]!;
      const attr = (n: string) => new RegExp(`\\b${n}\\s*=\\s*"([^"]*)"`).exec(attrs)?.[1];
      const name = attr('name');
      const regnum = attr('regnum');
      const n = regnum === undefined ? next : Number(regnum);
      next = n + 1;
      if (name !== undefined && !out.has(name.toLowerCase()))
        out.set(name.toLowerCase(), { regnum: n, bits: Number(attr('bitsize') ?? 64) });
    }
  }
  return out;
}

async function readXml(client: RspClient, annex: string): Promise<string> {
  let text = '';
  for (let guard = 0; guard < 4096; guard++) {
    const reply = await client.request(`qXfer:features:read:${annex}:${text.length.toString(16)},ffb`);
    if (reply === '' || reply.startsWith('E')) {
      throw new SourceError(
        `${client.target}: cannot read the target description ${annex} (reply ${JSON.stringify(reply)})`,
      );
    }
    text += reply.slice(1);
    if (reply[0] === 'l') return text;
  }
  throw new SourceError(`${client.target}: the target description ${annex} does not end`);
}

/**
 * Connects to a gdbstub and reads the translation registers.
 * @throws SourceError (one line) on connection failure, timeout, or a target without the registers
 *   or without physical-memory mode.
 */
export async function gdbSource(host: string, port: number, timeoutMs: number): Promise<PageTableSource> {
  const client = await RspClient.connect(host, port, timeoutMs);
  let phys = false;
  // QEMU keeps a guest stopped while a debugger that went away without detaching: on ^C, leave
  // physical mode and detach (the guest resumes) before the process ends.
  const onInterrupt = () => {
    client.abandon([...(phys ? ['Qqemu.PhyMemMode:0'] : []), 'D'], () => process.kill(process.pid, 'SIGINT'));
  };
  process.once('SIGINT', onInterrupt);
  const finish = async () => {
    process.removeListener('SIGINT', onInterrupt);
    try {
      if (phys) await client.request('Qqemu.PhyMemMode:0');
      // Detach: QEMU removes the debugger and resumes the guest.
      await client.request('D');
    } finally {
      await client.close();
    }
  };
  try {
    const supported = await client.request('qSupported:xmlRegisters=i386,aarch64');
    const size = /PacketSize=([0-9a-f]+)/i.exec(supported);
    const packetSize = size ? Number.parseInt(size[1]!, 16) : 1024;
    // Each byte is two hex digits in an `m` reply; keep well inside the packet size.
    const chunk = Math.max(64, Math.min(4096, Math.floor((packetSize - 32) / 2) & ~63));
    await client.request('?');
    const main = await readXml(client, 'target.xml');
    const xmls = [main];
    for (const m of main.matchAll(/<xi:include\s+href="([^"]+)"/g)) xmls.push(await readXml(client, m[1]!));
    const arch = /<architecture>([^<]*)<\/architecture>/.exec(main)?.[1] ?? 'unknown';
    const regs = registersOfDescription(xmls);
    const registers: Record<string, bigint> = {};
    const notes = [`registers and physical memory read live from QEMU (${arch}) in gdbstub physical mode`];
    for (const [lower, name] of Object.entries(WANTED)) {
      const r = regs.get(lower);
      if (r === undefined || name in registers) continue;
      const reply = await client.request(`p${r.regnum.toString(16)}`);
      // QEMU's x86 stub sends some control registers with trailing bytes; keep the register's width.
      const text = reply.slice(0, Math.max(2, r.bits / 4));
      if (/^[0-9a-f]+$/i.test(text) && text.length % 2 === 0) registers[name] = leHex(text);
    }
    if (/i386/.test(arch)) {
      // x86: take the control registers from QEMU's own `info registers` (qRcmd) when it answers.
      // QEMU 7.2's i386-64bit.xml lists ss_base/ds_base/es_base that its stub does not implement,
      // so `p` numbers from the description are off by three for fs_base … efer there.
      const info = await client.monitor('info registers');
      const grab = (re: RegExp) => {
        const m = re.exec(info ?? '');
        return m ? BigInt(`0x${m[1]}`) : undefined;
      };
      const cr0 = grab(/\bCR0=([0-9a-f]+)/i);
      const cr3 = grab(/\bCR3=([0-9a-f]+)/i);
      const cr4 = grab(/\bCR4=([0-9a-f]+)/i);
      const efer = grab(/\bEFER=([0-9a-f]+)/i);
      const eflags = grab(/\bEFL=([0-9a-f]+)/i);
      if (eflags !== undefined) registers.EFLAGS = eflags;
      if (cr0 !== undefined && cr3 !== undefined && cr4 !== undefined && efer !== undefined) {
        Object.assign(registers, { CR0: cr0, CR3: cr3, CR4: cr4, EFER: efer });
        notes.push("CR0/CR3/CR4/EFER from QEMU's 'info registers' (monitor command over the gdbstub)");
      }
    }
    if (!('CR3' in registers) && !('TTBR0_EL1' in registers || 'TTBR1_EL1' in registers)) {
      throw new SourceError(
        `${client.target}: the target (${arch}) exposes no translation registers (TTBRn_EL1/TCR_EL1 or cr3); expected QEMU's system-register description`,
      );
    }
    const ok = await client.request('Qqemu.PhyMemMode:1');
    if (ok !== 'OK') {
      throw new SourceError(
        `${client.target}: the gdbstub refuses Qqemu.PhyMemMode:1 (reply ${JSON.stringify(ok)}); physical reads need QEMU's gdbstub`,
      );
    }
    phys = true;
    const cache = new Map<number, Uint8Array | undefined>();
    return {
      name: client.target,
      registers,
      notes,
      regions: [{ start: 0, end: 2 ** 52 }],
      async readFrame(pfn) {
        if (cache.has(pfn)) return cache.get(pfn);
        const frame = new Uint8Array(4096);
        let result: Uint8Array | undefined = frame;
        for (let off = 0; off < 4096; off += chunk) {
          const n = Math.min(chunk, 4096 - off);
          const reply = await client.request(`m${(pfn * 4096 + off).toString(16)},${n.toString(16)}`);
          if (!/^[0-9a-f]*$/i.test(reply) || reply.length !== n * 2) {
            result = undefined; // E14 and the like: no memory there
            break;
          }
          frame.set(Buffer.from(reply, 'hex'), off);
        }
        cache.set(pfn, result);
        return result;
      },
      close: finish,
    };
  } catch (e) {
    await finish().catch(() => {});
    throw e;
  }
}
