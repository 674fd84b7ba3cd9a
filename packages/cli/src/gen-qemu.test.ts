/**
 * QEMU in the loop: generated tables loaded into a real emulator, switched on by a tiny
 * hand-assembled guest stub, and asked back through QEMU's monitor (QMP `human-monitor-command`:
 * `gva2gpa`, `info registers`). Each check compares QEMU's own walk with the spec.
 *
 * - AArch64 (`qemu-system-aarch64 -M virt`, the CPU starts at EL1h at the loader's address): the
 *   stub loads MAIR_EL1, TCR_EL1, TTBR0_EL1, TTBR1_EL1 from a literal pool, ISB, TLBI VMALLE1,
 *   DSB SY, ISB, then SCTLR_EL1 (M = 1) and spins.
 * - x86 (`qemu-system-x86_64 -cpu max`): the stub is the BIOS (`-bios`, 64 KiB at 0xFFFF_0000):
 *   the reset vector jumps to real-mode code that loads a flat GDT, enters protected mode, loads
 *   CR4 (without PCIDE: it needs EFER.LMA), CR3, EFER (wrmsr), CR0 (PG: paging, and long mode when
 *   EFER.LME), then the full CR4, and spins. The ROM is identity-mapped by the spec so the stub
 *   keeps running when paging turns on.
 *
 * On x86 QEMU's `info mem` is compared too: every region lies in ranges with the region's user
 * and write attributes (not for LA57, see the test).
 *
 * Skipped with a message when the QEMU binary is missing. QEMU is killed in `finally`.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type GenResult, generateTables, parseGenSpec } from './commands/gen.js';
import { mmkit } from './sources/test-states.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-qemu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function have(bin: string): boolean {
  return spawnSync(bin, ['--version'], { encoding: 'utf8' }).status === 0;
}

/** A QMP session over stdio. */
class Qmp {
  private buf = '';
  private waiting: ((line: string) => void) | undefined;
  private readonly lines: string[] = [];

  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      this.buf += chunk;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = undefined;
          w(line);
        } else this.lines.push(line);
      }
    });
  }

  private next(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(JSON.parse(l));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('QMP timed out')), timeoutMs);
      this.waiting = (line) => {
        clearTimeout(t);
        resolve(JSON.parse(line));
      };
    });
  }

  /** Sends a command and returns its `return` (skipping events). */
  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    this.proc.stdin.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
    for (;;) {
      const m = await this.next();
      if ('event' in m) continue;
      if ('error' in m) throw new Error(`QMP ${command}: ${JSON.stringify(m.error)}`);
      if ('return' in m) return m.return;
    }
  }

  async hmp(line: string): Promise<string> {
    return String(await this.execute('human-monitor-command', { 'command-line': line }));
  }

  async start(): Promise<void> {
    const greeting = await this.next();
    if (!('QMP' in greeting)) throw new Error(`no QMP greeting: ${JSON.stringify(greeting)}`);
    await this.execute('qmp_capabilities');
  }
}

async function withQemu(bin: string, args: string[], body: (q: Qmp) => Promise<void>): Promise<void> {
  const proc = spawn(bin, [
    '-display',
    'none',
    '-serial',
    'none',
    '-monitor',
    'none',
    '-qmp',
    'stdio',
    ...args,
  ]);
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (s: string) => {
    stderr += s;
  });
  try {
    const q = new Qmp(proc);
    await q.start();
    await body(q);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nQEMU stderr: ${stderr}`);
  } finally {
    proc.kill('SIGKILL');
  }
}

/** Polls `info registers` until the program counter is `pc` (the stub's spin loop). */
async function waitForPc(q: Qmp, pc: number): Promise<void> {
  const want = pc.toString(16).padStart(8, '0');
  for (let i = 0; i < 100; i++) {
    const regs = (await q.hmp('info registers')).toLowerCase();
    if (new RegExp(`(?:pc|eip|rip)=0*${want}\\b`).test(regs)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the stub did not reach its spin loop at 0x${want}: ${await q.hmp('info registers')}`);
}

/** Every leaf's first and last page, and the page after each region, with what QEMU must say. */
function samples(r: GenResult): { va: bigint; pa: number | undefined }[] {
  const out: { va: bigint; pa: number | undefined }[] = [];
  const covered = (va: bigint) => r.spec.regions.some((x) => va >= x.va && va < x.va + BigInt(x.sizeBytes));
  for (const l of r.leaves) {
    out.push({ va: l.va, pa: l.pa });
    out.push({ va: l.va + BigInt(l.sizeBytes - 4096), pa: l.pa + l.sizeBytes - 4096 });
  }
  const d = r.backend.description;
  // 32-bit formats: the address after the last page wraps to 0 (a 32-bit VA); not a sample.
  const limit = d.signExtended || d.splitRoots ? 1n << 64n : d.kernelRange.end;
  for (const x of r.spec.regions) {
    const after = x.va + BigInt(x.sizeBytes);
    if (after < limit && !covered(after)) out.push({ va: after, pa: undefined });
  }
  // At most 400 queries: the ends of the list are the region edges, keep them all.
  return out.length <= 400 ? out : [...out.slice(0, 300), ...out.slice(-100)];
}

async function compare(q: Qmp, r: GenResult): Promise<string[]> {
  const wrong: string[] = [];
  for (const s of samples(r)) {
    const reply = (await q.hmp(`gva2gpa 0x${s.va.toString(16)}`)).trim();
    // QEMU prints the GPA with printf's %#x ("gpa: 0" for zero, "gpa: 0x1000" otherwise).
    const m = /^gpa: (0x[0-9a-f]+|0)$/.exec(reply);
    const got = m ? Number(m[1]) : reply;
    const want = s.pa === undefined ? 'Unmapped' : s.pa;
    if (got !== want)
      wrong.push(`VA 0x${s.va.toString(16)}: QEMU says ${JSON.stringify(reply)}, spec ${want}`);
  }
  return wrong;
}

/**
 * QEMU's `info mem` (x86): merged VA ranges with their effective attributes, `u`/`-` (user),
 * `r`, `w`/`-` (writable). Every spec region must lie inside ranges whose attributes are the
 * region's: user-accessible when the spec gives the user any access, writable when the kernel may
 * write (x86 has one R/W bit for both, arch-facts B3).
 */
async function compareInfoMem(q: Qmp, r: GenResult): Promise<string[]> {
  const ranges: { start: bigint; end: bigint; attrs: string }[] = [];
  for (const line of (await q.hmp('info mem')).split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) [0-9a-f]+ ([-u][-r][-w])/.exec(line.trim());
    if (m) ranges.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), attrs: m[3]! });
  }
  const wrong: string[] = [];
  for (const x of r.spec.regions) {
    const want = `${x.attrs.user.read ? 'u' : '-'}r${x.attrs.kernel.write ? 'w' : '-'}`;
    let va = x.va;
    const end = x.va + BigInt(x.sizeBytes);
    while (va < end) {
      const hit = ranges.find((g) => va >= g.start && va < g.end);
      if (!hit) {
        wrong.push(`${x.name}: VA 0x${va.toString(16)} is not in QEMU's info mem`);
        break;
      }
      if (hit.attrs !== want) {
        wrong.push(`${x.name}: QEMU says ${hit.attrs} at 0x${va.toString(16)}, spec ${want}`);
        break;
      }
      va = hit.end;
    }
  }
  if (ranges.length === 0) wrong.push(`no ranges in info mem: ${await q.hmp('info mem')}`);
  return wrong;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** What `mmkit walk --json` says about one VA. */
interface LiveWalk {
  arch: string;
  notes: string[];
  outcome: { ok: boolean; pa?: string; fault?: string; syndrome?: string; cause?: string };
}

async function liveWalk(gdbPort: number, va: bigint, ...extra: string[]): Promise<LiveWalk> {
  const r = await mmkit([
    'walk',
    `0x${va.toString(16)}`,
    '--from',
    `gdb:127.0.0.1:${gdbPort}`,
    '--json',
    ...extra,
  ]);
  if (r.code !== 0 || r.stderr !== '')
    throw new Error(`walk 0x${va.toString(16)}: exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as LiveWalk;
}

/**
 * `mmkit walk VA --from gdb:…` against QEMU's own `gva2gpa` for the leaf edges of the spec (the
 * first and last 12 samples: a live walk connects, reads the registers and detaches each time):
 * the same physical address, or a translation fault where QEMU finds nothing. Checks the paging
 * mode the live source chose from CR0.PG, CR4.PAE and EFER.LMA. One known difference, counted in
 * `pdpteA`: QEMU sets A (bit 5, reserved) in the PAE PDPTEs its walks use, which a CPU never does
 * (arch-facts B3, B7); mmkit walks the tables in memory, so there it reports the reserved-bit #PF
 * (error code 0x9: P | RSVD) and says why in a note.
 */
async function compareLive(
  q: Qmp,
  r: GenResult,
  gdbPort: number,
  arch: string,
): Promise<{ wrong: string[]; pdpteA: number }> {
  const all = samples(r);
  const picked = all.length <= 24 ? all : [...all.slice(0, 12), ...all.slice(-12)];
  const wrong: string[] = [];
  let pdpteA = 0;
  for (const s of picked) {
    const w = await liveWalk(gdbPort, s.va);
    const at = `VA 0x${s.va.toString(16)}`;
    if (w.arch !== arch) wrong.push(`${at}: walked as ${w.arch}, expected ${arch}`);
    const reply = (await q.hmp(`gva2gpa 0x${s.va.toString(16)}`)).trim();
    const m = /^gpa: (0x[0-9a-f]+|0)$/.exec(reply);
    const qemu = m ? Number(m[1]) : undefined;
    if (qemu !== s.pa) wrong.push(`${at}: QEMU ${JSON.stringify(reply)}, spec ${s.pa}`);
    if (w.notes.some((n) => /has A \(bit 5\) set, a reserved bit of a PAE PDPTE/.test(n))) {
      pdpteA++;
      if (w.outcome.fault !== 'reserved-bit' || w.outcome.syndrome !== '0x9')
        wrong.push(`${at}: PDPTE with A set, but ${JSON.stringify(w.outcome)}`);
      continue;
    }
    const mine = w.outcome.ok ? Number(w.outcome.pa) : undefined;
    if (mine !== s.pa)
      wrong.push(`${at}: mmkit ${w.outcome.ok ? w.outcome.pa : `${w.outcome.fault} fault`}, spec ${s.pa}`);
    else if (!w.outcome.ok && w.outcome.fault !== 'translation')
      wrong.push(`${at}: ${w.outcome.fault} fault, expected a translation fault`);
  }
  return { wrong, pdpteA };
}

/**
 * The live checks of a 32-bit guest: {@link compareLive}, with QEMU's PDPTE A bit where the guest
 * ran (the ROM, PDPT[3]) on PAE and nowhere else; a fault the guest would take read live.
 */
async function checkLive32(q: Qmp, r: GenResult, gdbPort: number, arch: string): Promise<void> {
  const live = await compareLive(q, r, gdbPort, arch);
  expect(live.wrong.join('\n')).toBe('');
  const romWalk = await liveWalk(gdbPort, 0xffff_0000n);
  if (arch === 'x86-pae') {
    expect(live.pdpteA).toBeGreaterThan(0);
    expect(romWalk.outcome).toMatchObject({ ok: false, fault: 'reserved-bit', syndrome: '0x9' });
    // Below PDPT[3] nothing was touched by the guest: a user read of the low region (PDPT[0],
    // supervisor-only) is the protection #PF P | U/S = 0x5 (arch-facts B6).
    const user = await liveWalk(gdbPort, 0x1000n, '--user');
    expect(user.outcome).toMatchObject({ ok: false, fault: 'permission', syndrome: '0x5' });
  } else {
    expect(live.pdpteA).toBe(0);
    expect(romWalk.outcome).toMatchObject({ ok: true, pa: '0xFFFF0000' });
    // The kernel region is supervisor-only: a user read is #PF P | U/S = 0x5 (arch-facts B6).
    const user = await liveWalk(gdbPort, 0xc000_0000n, '--user');
    expect(user.outcome).toMatchObject({ ok: false, fault: 'permission', syndrome: '0x5' });
  }
}

const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const u64 = (v: bigint) => [...u32(Number(v & 0xffff_ffffn)), ...u32(Number(v >> 32n))];

/** The AArch64 stub (A64 encodings: LDR (literal) 0x58000000, MSR, ISB, DSB SY, TLBI VMALLE1, B .). */
function aarch64Stub(regs: Readonly<Record<string, bigint>>): { bytes: Uint8Array; spinOffset: number } {
  const MSR: Record<string, number> = {
    MAIR_EL1: 0xd518_a200,
    TCR_EL1: 0xd518_2040,
    TTBR0_EL1: 0xd518_2000,
    TTBR1_EL1: 0xd518_2020,
    SCTLR_EL1: 0xd518_1000,
  };
  const ISB = 0xd503_3fdf;
  const order = ['MAIR_EL1', 'TCR_EL1', 'TTBR0_EL1', 'TTBR1_EL1'];
  const prog: (number | ['ldr', string])[] = [];
  for (const r of order) prog.push(['ldr', r], MSR[r]!);
  prog.push(
    ISB,
    0xd508_871f /* TLBI VMALLE1 */,
    0xd503_3f9f /* DSB SY */,
    ISB,
    ['ldr', 'SCTLR_EL1'],
    MSR.SCTLR_EL1!,
    ISB,
    0x1400_0000 /* B . */,
  );
  const pool = [...order, 'SCTLR_EL1'];
  const poolAt = prog.length * 4;
  const words = prog.map((p, i) =>
    typeof p === 'number'
      ? p
      : (0x5800_0000 | ((((poolAt + 8 * pool.indexOf(p[1]) - i * 4) / 4) & 0x7ffff) << 5)) >>> 0,
  );
  const bytes = [...words.flatMap(u32), ...pool.flatMap((r) => u64(regs[r]!))];
  return { bytes: new Uint8Array(bytes), spinOffset: (prog.length - 1) * 4 };
}

/** The x86 BIOS stub: 64 KiB mapped at 0xFFFF_0000, entered at the reset vector 0xFFFF_FFF0. */
function x86Bios(regs: Readonly<Record<string, bigint>>): { bytes: Uint8Array; spin: number } {
  const ROM = 0xffff_0000;
  const rom = new Uint8Array(0x1_0000);
  const code: number[] = [];
  const at = () => ROM + code.length;
  const gdtAt = 0x100; // offset of the GDT in the ROM
  const gdtrAt = 0x120;
  const CR4_PCIDE = 1n << 17n;
  // Real mode (16-bit): cli; o32 lgdt cs:[gdtr]; mov eax,cr0; or eax,1; mov cr0,eax; jmp far 0x08:pm32
  code.push(0xfa, 0x66, 0x2e, 0x0f, 0x01, 0x16, gdtrAt & 0xff, gdtrAt >> 8);
  code.push(0x0f, 0x20, 0xc0, 0x66, 0x83, 0xc8, 0x01, 0x0f, 0x22, 0xc0);
  const far = code.length;
  code.push(0x66, 0xea, 0, 0, 0, 0, 0x08, 0x00);
  const pm32 = at();
  code.splice(far + 2, 4, ...u32(pm32));
  // 32-bit: mov ax,0x10; mov ds/es/ss,ax
  code.push(0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0);
  const movEax = (v: number) => code.push(0xb8, ...u32(v));
  movEax(Number(regs.CR4! & ~CR4_PCIDE & 0xffff_ffffn));
  code.push(0x0f, 0x22, 0xe0); // mov cr4, eax
  movEax(Number(regs.CR3! & 0xffff_f000n));
  code.push(0x0f, 0x22, 0xd8); // mov cr3, eax
  code.push(0xb9, ...u32(0xc000_0080)); // mov ecx, IA32_EFER
  movEax(Number(regs.EFER! & 0xffff_ffffn));
  code.push(0xba, ...u32(Number(regs.EFER! >> 32n))); // mov edx, EFER[63:32]
  code.push(0x0f, 0x30); // wrmsr
  movEax(Number(regs.CR0! & 0xffff_ffffn));
  code.push(0x0f, 0x22, 0xc0); // mov cr0, eax (paging on)
  movEax(Number(regs.CR4! & 0xffff_ffffn));
  code.push(0x0f, 0x22, 0xe0); // the full CR4 (PCIDE allowed now that EFER.LMA = 1, CR3[11:0] = 0)
  const spin = at();
  code.push(0xeb, 0xfe); // jmp $
  rom.set(code, 0);
  // Flat GDT: null, 32-bit code (0x08), data (0x10).
  rom.set([...u64(0n), ...u64(0x00cf_9a00_0000_ffffn), ...u64(0x00cf_9200_0000_ffffn)], gdtAt);
  rom.set([23, 0, ...u32(ROM + gdtAt)], gdtrAt);
  // Reset vector at 0xFFFF_FFF0: jmp near (rel16) to offset 0 of the segment F000 (base 0xFFFF_0000).
  const rel = (0 - (0xfff0 + 3)) & 0xffff;
  rom.set([0xe9, rel & 0xff, rel >> 8], 0xfff0);
  return { bytes: rom, spin };
}

const AARCH64 = `arch: aarch64
tables: 0x4800_0000
regions:
  - { name: ram, va: 0x4000_0000, pa: 0x4000_0000, size: 1G, perms: rwx }
  - { name: uart, va: 0x0900_0000, pa: 0x0900_0000, size: 4K, memory: device }
  - { name: odd, va: 0x1_0001_0000, pa: 0x4020_0000, size: 0x2_3000, perms: r--, user: r-- }
  - { name: user, va: 0x40_0000, pa: 0x4100_0000, size: 2M, perms: rw-, user: rw-, global: false }
  - { name: kernel, va: 0xFFFF_0000_4000_0000, pa: 0x4000_0000, size: 64M, perms: r-x }
  - { name: tail, va: 0xFFFF_FFFF_FFE0_0000, pa: 0x4060_0000, size: 0x1F_F000, perms: rw- }
`;

const X86: Record<string, string> = {
  x86_64: `arch: x86_64
tables: 0x20_0000
regions:
  - { name: low, va: 0, pa: 0, size: 0x3FF000, perms: rw- }
  - { name: rom, va: 0xFFFF_0000, pa: 0xFFFF_0000, size: 64K, perms: rwx }
  - { name: big, va: 0x4000_0000, pa: 0x0, size: 1G, perms: rw-, user: rw- }
  - { name: ro, va: 0x8000_0000, pa: 0x0, size: 2M, perms: r--, user: r-- }
  - { name: kernel, va: 0xFFFF_FFFF_8000_0000, pa: 0x10_0000, size: 8M, perms: r-x }
`,
  'x86_64-la57': `arch: x86_64-la57
tables: 0x20_0000
regions:
  - { name: low, va: 0x1000, pa: 0x1000, size: 0x3FF000 }
  - { name: rom, va: 0xFFFF_0000, pa: 0xFFFF_0000, size: 64K, perms: rwx }
  - { name: high57, va: 0xFF00_0000_0000_0000, pa: 0x10_0000, size: 4M, perms: rwx }
`,
  'x86-pae': `arch: x86-pae
tables: 0x20_0000
regions:
  - { name: low, va: 0, pa: 0, size: 6M, perms: rw- }
  - { name: kernel, va: 0xC000_0000, pa: 0x10_0000, size: 8M, perms: r-x }
  - { name: rom, va: 0xFFFF_0000, pa: 0xFFFF_0000, size: 64K, perms: rwx }
`,
  'x86-32': `arch: x86-32
tables: 0x20_0000
regions:
  - { name: low, va: 0, pa: 0, size: 6M, perms: rwx }
  - { name: kernel, va: 0xC000_0000, pa: 0x10_0000, size: 12M, perms: rwx }
  - { name: user, va: 0x8000_0000, pa: 0x10_0000, size: 4M, perms: r-x, user: r-x }
  - { name: rom, va: 0xFFFF_0000, pa: 0xFFFF_0000, size: 64K, perms: rwx }
`,
};

const haveArm = have('qemu-system-aarch64');
const haveX86 = have('qemu-system-x86_64');
if (!haveArm) console.warn('gen-qemu.test: qemu-system-aarch64 not found: skipping the AArch64 QEMU check');
if (!haveX86) console.warn('gen-qemu.test: qemu-system-x86_64 not found: skipping the x86 QEMU checks');

describe('generated tables in QEMU: its own walks agree with the spec', () => {
  it.skipIf(!haveArm)('aarch64 on qemu-system-aarch64 -M virt', { timeout: 60_000 }, async () => {
    const r = generateTables(parseGenSpec(AARCH64, 'aarch64.yaml'));
    const stub = aarch64Stub(r.registers);
    const tables = join(dir, 'a64-tables.bin');
    const code = join(dir, 'a64-stub.bin');
    writeFileSync(tables, r.image);
    writeFileSync(code, stub.bytes);
    // The stub at 0x4020_0000: QEMU puts the DTB at the start of RAM when there is no -kernel.
    const stubPa = 0x4020_0000;
    await withQemu(
      'qemu-system-aarch64',
      [
        ...['-M', 'virt', '-cpu', 'cortex-a57', '-m', '1G'],
        ...['-device', `loader,file=${tables},addr=0x${r.spec.tablesPa.toString(16)},force-raw=on`],
        ...['-device', `loader,file=${code},addr=0x${stubPa.toString(16)},cpu-num=0,force-raw=on`],
      ],
      async (q) => {
        await waitForPc(q, stubPa + stub.spinOffset);
        expect((await compare(q, r)).join('\n')).toBe('');
      },
    );
  });

  it.skipIf(!haveArm)(
    'the comparison catches a wrong table (one block pointed elsewhere)',
    { timeout: 60_000 },
    async () => {
      const r = generateTables(parseGenSpec(AARCH64, 'aarch64.yaml'));
      const stub = aarch64Stub(r.registers);
      const image = r.image.slice();
      // The 1 GiB block of `ram` (entry 1 of the first L1 table): output address + 1 GiB.
      const l1 = r.tables.findIndex((t) => t.level === 3);
      image[l1 * 4096 + 8 + 3] = (image[l1 * 4096 + 8 + 3]! + 0x40) & 0xff;
      const tables = join(dir, 'a64-bad.bin');
      const code = join(dir, 'a64-stub2.bin');
      writeFileSync(tables, image);
      writeFileSync(code, stub.bytes);
      // The broken block maps the stub's VA to RAM 1 GiB higher: a second copy of the stub there
      // keeps the CPU running once the MMU is on.
      const stubPa = 0x4020_0000;
      await withQemu(
        'qemu-system-aarch64',
        [
          ...['-M', 'virt', '-cpu', 'cortex-a57', '-m', '3G'],
          ...['-device', `loader,file=${tables},addr=0x${r.spec.tablesPa.toString(16)},force-raw=on`],
          ...['-device', `loader,file=${code},addr=0x${stubPa.toString(16)},cpu-num=0,force-raw=on`],
          ...['-device', `loader,file=${code},addr=0x${(stubPa + 0x4000_0000).toString(16)},force-raw=on`],
        ],
        async (q) => {
          await waitForPc(q, stubPa + stub.spinOffset);
          const wrong = await compare(q, r);
          // The block's first and last page, each 1 GiB off.
          expect(wrong).toEqual([
            'VA 0x40000000: QEMU says "gpa: 0x80000000", spec 1073741824',
            'VA 0x7ffff000: QEMU says "gpa: 0xbffff000", spec 2147479552',
          ]);
        },
      );
    },
  );

  it.skipIf(!haveX86).each(Object.keys(X86))(
    '%s on qemu-system-x86_64 -cpu max',
    { timeout: 90_000 },
    async (arch) => {
      const r = generateTables(parseGenSpec(X86[arch]!, `${arch}.yaml`));
      const bios = x86Bios(r.registers);
      const tables = join(dir, `${arch}-tables.bin`);
      const rom = join(dir, `${arch}-bios.bin`);
      writeFileSync(tables, r.image);
      writeFileSync(rom, bios.bytes);
      const gdbPort = await freePort();
      await withQemu(
        'qemu-system-x86_64',
        [
          ...['-M', 'q35', '-cpu', 'max', '-m', '2G', '-bios', rom],
          ...['-device', `loader,file=${tables},addr=0x${r.spec.tablesPa.toString(16)},force-raw=on`],
          ...['-gdb', `tcp:127.0.0.1:${gdbPort}`],
        ],
        async (q) => {
          await waitForPc(q, bios.spin);
          expect((await compare(q, r)).join('\n')).toBe('');
          // QEMU 7.2's `info mem` on a 5-level walk does not answer within the QMP timeout
          // here; gva2gpa above covers LA57's translations.
          if (arch !== 'x86_64-la57') expect((await compareInfoMem(q, r)).join('\n')).toBe('');
          if (arch === 'x86_64') {
            // The info-mem check can fail: a spec that denies the user what the tables grant.
            const none = { read: false, write: false, execute: false };
            const denied = r.spec.regions.map((x) =>
              x.name === 'big' ? { ...x, attrs: { ...x.attrs, user: none } } : x,
            );
            expect(await compareInfoMem(q, { ...r, spec: { ...r.spec, regions: denied } })).toEqual([
              'big: QEMU says urw at 0x40000000, spec -rw',
            ]);
          }
          // The 32-bit formats live: the guest stopped in its spin loop with 32-bit paging or PAE on.
          // qemu-system-x86_64's gdbstub describes the 64-bit register file (i386-64bit.xml) even
          // for a 32-bit guest; the live source reads CR0/CR3/CR4/EFER from `info registers` and
          // picks the mode from CR0.PG, CR4.PAE and EFER.LMA (regime.ts).
          if (arch === 'x86-32' || arch === 'x86-pae') {
            await checkLive32(q, r, gdbPort, arch);
            // mmkit detached after each walk: the guest runs its spin loop again.
            await waitForPc(q, bios.spin);
          }
        },
      );
    },
  );

  const haveI386 = have('qemu-system-i386');
  if (!haveI386) console.warn('gen-qemu.test: qemu-system-i386 not found: skipping its live walks');
  it.skipIf(!haveI386).each(['x86-32', 'x86-pae'])(
    '%s live on qemu-system-i386: walk --from gdb agrees with QEMU, and the mode comes from CR0/CR4/EFER',
    { timeout: 90_000 },
    async (arch) => {
      const r = generateTables(parseGenSpec(X86[arch]!, `${arch}.yaml`));
      const bios = x86Bios(r.registers);
      const tables = join(dir, `${arch}-i386-tables.bin`);
      const rom = join(dir, `${arch}-i386-bios.bin`);
      writeFileSync(tables, r.image);
      writeFileSync(rom, bios.bytes);
      const gdbPort = await freePort();
      await withQemu(
        'qemu-system-i386',
        [
          ...['-M', 'q35', '-cpu', 'max', '-m', '2G', '-bios', rom],
          ...['-device', `loader,file=${tables},addr=0x${r.spec.tablesPa.toString(16)},force-raw=on`],
          ...['-gdb', `tcp:127.0.0.1:${gdbPort}`],
        ],
        async (q) => {
          await waitForPc(q, bios.spin);
          await checkLive32(q, r, gdbPort, arch);
          // The registers came from QEMU itself: the walk's notes say so.
          const w = await liveWalk(gdbPort, 0n);
          expect(w.notes.join('\n')).toMatch(/CR0\/CR3\/CR4\/EFER from QEMU's 'info registers'/);
          await waitForPc(q, bios.spin);
        },
      );
    },
  );
});
