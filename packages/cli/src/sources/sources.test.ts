/**
 * Sources agree with each other (export → raw image + registers → the same dump and walks;
 * export → ELF core as QEMU writes it → the same), each `dump --check` catches exactly what it
 * checks, and malformed sources are one-line usage errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalkResult, type WalkStep } from '@mmkit/core';
import type { Kernel } from '@mmkit/kernel';
import { exportTranslationState } from '@mmkit/kernel';
import { afterAll, describe, expect, it } from 'vitest';
import { toJson } from '../json.js';
import { buildStates, CONFIGS, elfCoreOf, mmkit, rawImageOf, regsArg } from './test-states.js';

const dir = mkdtempSync(join(tmpdir(), 'mmkit-sources-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, data: string | Uint8Array) => {
  const file = join(dir, name);
  writeFileSync(file, data);
  return file;
};
const rangesOf = (stdout: string) => (JSON.parse(stdout) as { ranges: unknown[] }).ranges;

describe.each(CONFIGS)('round trip on $name: export → image / core → same dump', (config) => {
  const states = buildStates(config);
  const exportFile = write(`${config.name}.json`, toJson(states.a));
  const { base, bytes } = rawImageOf(states.a);
  const image = write(`${config.name}.bin`, bytes);
  const regs = regsArg(states.a);

  it('a raw image at its base with the registers dumps and walks as the export', async () => {
    const fromExport = await mmkit(['dump', '--from', exportFile, '--json']);
    const fromImage = await mmkit([
      'dump',
      '--from',
      `image:${image}@0x${base.toString(16)}`,
      '--regs',
      regs,
      '--json',
    ]);
    expect(fromImage.stderr).toBe('');
    expect(rangesOf(fromImage.stdout)).toEqual(rangesOf(fromExport.stdout));
    expect(rangesOf(fromExport.stdout).length).toBeGreaterThan(5);
    for (const va of [states.text, states.buffer, states.kernelVa + 0x5000n, 0x7000n]) {
      const args = ['walk', `0x${va.toString(16)}`, '--el0', '--access', 'write', '--json'];
      const a = JSON.parse((await mmkit([...args, '--from', exportFile])).stdout);
      const b = JSON.parse(
        (await mmkit([...args, '--from', `image:${image}@0x${base.toString(16)}`, '--regs', regs])).stdout,
      );
      expect(b.outcome).toEqual(a.outcome);
      expect(b.steps).toEqual(a.steps);
    }
  });

  it('an ELF core (PT_LOAD per frame; x86 registers from the QEMU note) dumps as the export', async () => {
    const x86 = config.arch !== 'aarch64';
    // QEMU writes ELF32 for an x86 guest without EFER.LMA, ELF64 otherwise.
    const elf32 = config.arch === 'x86-32' || config.arch === 'x86-pae';
    const core = write(`${config.name}.core`, elfCoreOf(states.a, x86, elf32));
    const args = [
      'dump',
      '--from',
      `core:${core}`,
      '--json',
      ...(x86 ? ['--regs', `IA32_PAT=${states.a.registers.IA32_PAT}`] : ['--regs', regs]),
    ];
    const fromCore = await mmkit(args);
    expect(fromCore.stderr).toBe('');
    const fromExport = await mmkit(['dump', '--from', exportFile, '--json']);
    expect(rangesOf(fromCore.stdout)).toEqual(rangesOf(fromExport.stdout));
    if (x86) expect(JSON.parse(fromCore.stdout).notes.join(' ')).toMatch(/QEMU note/);
  });

  it('without registers an image is a one-line usage error', async () => {
    const r = await mmkit(['dump', '--from', `image:${image}@0x${base.toString(16)}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^mmkit: error: image .* no root registers; expected TTBR0_EL1, TTBR1_EL1 and TCR_EL1 .* or CR3 .*\n$/,
    );
  });
});

/** Changes the descriptor that maps `va` in the kernel's real tables (the leaf, or a level up). */
function patchLeaf(k: Kernel, rootPa: number, va: bigint, change: (raw: bigint) => bigint): void {
  const mmu = k.arch.createMmu(k.memory);
  mmu.setKernelRoot(k.kernelRoot);
  mmu.setUserRoot(rootPa, 1);
  const trace: WalkStep[] = [];
  mmu.probe(Number(va >> 12n), 0, 1, new WalkResult(), trace);
  const leaf = trace[trace.length - 1]!;
  expect(leaf.entry.kind).toBe('leaf');
  k.memory.write64(leaf.descriptorPa, change(leaf.raw));
}

describe('dump --check catches exactly what each check checks (aarch64 on virt)', () => {
  const bit = (n: number) => 1n << BigInt(n);
  // VMSAv8-64 stage-1 leaf bits (arch-facts A5): AP[1] 6 (EL0 access), AP[2] 7 (read-only), DBM 51, PXN 53, UXN 54.
  const cases: { check: string; patch: (s: ReturnType<typeof buildStates>) => void }[] = [
    {
      check: 'writable-executable',
      patch: (s) => patchLeaf(s.kernel, s.proc.root, s.heap, (raw) => raw & ~bit(54)),
    },
    {
      check: 'user-kernel',
      // The first 2 MiB block of the linear map over RAM (no page table lives there).
      patch: (s) => patchLeaf(s.kernel, s.proc.root, s.kernelVa + 0x4000_0000n, (raw) => raw | bit(6)),
    },
    {
      check: 'executable-device',
      // The UART page (device memory at 0x900_0000), made read-only (AP[2] = 1 and DBM 51 = 0:
      // with TCR_EL1.HD a DBM page is writable-clean) and EL1-executable.
      patch: (s) =>
        patchLeaf(
          s.kernel,
          s.proc.root,
          s.kernelVa + 0x900_0000n,
          (raw) => (raw | bit(7)) & ~bit(53) & ~bit(51),
        ),
    },
    {
      check: 'el0-page-tables',
      // The heap page's output address pointed at the process's own root table.
      patch: (s) =>
        patchLeaf(
          s.kernel,
          s.proc.root,
          s.heap,
          (raw) => (raw & ~0x0000_ffff_ffff_f000n) | BigInt(s.proc.root),
        ),
    },
  ];
  const config = CONFIGS[0];

  it('a clean state: every check ok, exit 0', async () => {
    const s = buildStates(config);
    const r = await mmkit(['dump', '--from', write('clean.json', toJson(s.a)), '--check', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).findings).toEqual([]);
  });

  it.each(cases)('$check: exactly that finding, exit 1', async ({ check, patch }) => {
    const s = buildStates(config);
    patch(s);
    const file = write(`${check}.json`, toJson(exportTranslationState(s.kernel, s.proc)));
    const r = await mmkit(['dump', '--from', file, '--check', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const findings = JSON.parse(r.stdout).findings as { check: string }[];
    expect(findings.map((f) => f.check)).toEqual([check]);
    const text = await mmkit(['dump', '--from', file, '--check']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`check ${check} \\(.*\\): 1 found`));
  });
});

describe('dump names the software dirty bit as Linux pte_dirty sees it', () => {
  const bit = (n: number) => 1n << BigInt(n);
  const heapLine = async (s: ReturnType<typeof buildStates>, name: string) => {
    const r = await mmkit(['dump', '--from', write(name, toJson(exportTranslationState(s.kernel, s.proc)))]);
    expect(r.code).toBe(0);
    const start = s.heap.toString(16).toUpperCase().padStart(16, '0');
    return r.stdout.split('\n').find((l) => l.replaceAll('_', '').startsWith(`0x${start}`));
  };

  it('aarch64: bit 55 (PTE_DIRTY) is "dirty (PTE_DIRTY)", other software bits stay sw=N', async () => {
    const s = buildStates(CONFIGS[0]);
    // The written heap page: hardware-dirty (AP[2] clear) with PTE_DIRTY, as a write fault installs it.
    expect(await heapLine(s, 'a64-fault.json')).toMatch(/user rw- .* nG AF dirty \(PTE_DIRTY\)$/);
    // Write-protected (AP[2] set, DBM clear) with PTE_DIRTY and software bit 57 (value 4): still dirty.
    patchLeaf(s.kernel, s.proc.root, s.heap, (raw) => (raw | bit(7) | bit(55) | bit(57)) & ~bit(51));
    expect(await heapLine(s, 'a64-ro.json')).toMatch(/user r-- .* nG AF dirty \(PTE_DIRTY\) sw=4$/);
    // Without PTE_DIRTY the read-only page is clean, and a lone software bit is only sw=N.
    patchLeaf(s.kernel, s.proc.root, s.heap, (raw) => raw & ~bit(55));
    expect(await heapLine(s, 'a64-clean.json')).toMatch(/user r-- .* nG AF clean sw=4$/);
    // Bit 56 is Linux PTE_SPECIAL (the zero page, PFN maps): named "special".
    patchLeaf(s.kernel, s.proc.root, s.heap, (raw) => raw | bit(56));
    expect(await heapLine(s, 'a64-special.json')).toMatch(/user r-- .* nG AF clean special sw=4$/);
  });

  it('x86_64 (no software dirty bit): D is the dirty state; bit 9 is special, other software bits sw=N', async () => {
    const s = buildStates(CONFIGS[3]);
    expect(await heapLine(s, 'x86-fault.json')).toMatch(/user rw- .* nG AF dirty$/);
    // x86 D bit 6 clear, software bit 9 set (arch-facts B3; Linux _PAGE_SPECIAL): clean special.
    patchLeaf(s.kernel, s.proc.root, s.heap, (raw) => (raw & ~bit(6)) | bit(9));
    expect(await heapLine(s, 'x86-sw.json')).toMatch(/user rw- .* nG AF clean special$/);
    // Bit 10 (software bit 1) has no Linux meaning here: sw=2.
    patchLeaf(s.kernel, s.proc.root, s.heap, (raw) => (raw & ~bit(9)) | bit(10));
    expect(await heapLine(s, 'x86-sw2.json')).toMatch(/user rw- .* nG AF clean sw=2$/);
  });
});
