import { describe, expect, it } from 'vitest';
import type { CliIo } from './io.js';
import { runCli } from './run-cli.js';

async function mmkit(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s), isTTY: false },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

describe('mmkit demo', () => {
  it('runs on virt: demand faults with real ESR values, every kill reason, frees back to baseline', async () => {
    const r = await mmkit(['demo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain('QEMU virt');
    expect(out).toContain('ESR_EL1=0x92000045'); // first heap touch: translation fault at L1, EL0 write
    expect(out).toContain('ESR_EL1=0x92000047'); // later pages: translation fault at L3, EL0 write
    expect(out).toContain('ESR_EL1=0x9200004F'); // write to text: permission fault at L3
    expect(out).toContain('wild pointer 0xDEADBEEF000: EFAULT');
    expect(out).toContain('parent still reads "hello from the heap"');
    expect(out).toContain('TLBI VALE1IS');
    expect(out).toContain('TLBI ASIDE1IS');
    expect(out).toContain('killed: stack overflow');
    expect(out).toContain('killed: invalid address');
    expect(out).toContain('killed: permission fault');
    expect(out).toMatch(
      /L3\[0\] va 0x000000400000 0x0020000040[0-9A-F]{3}FC3 → 0x40[0-9A-F]{6} user r-x kernel r-- normal-wb/,
    );
    expect(out).toMatch(/TTBR0_EL1 +0x0001/); // ASID 1 in bits [63:48]
    expect(out).toMatch(/Free frames: (\d+) at the end, baseline \1 — audit clean OK/);
  });

  it('runs on an 8 GiB rpi4b and reports JSON with frames back at the baseline', async () => {
    const r = await mmkit(['demo', '--board', 'rpi4b', '--ram', '8G', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.board.id).toBe('rpi4b');
    expect(j.arch.id).toBe('aarch64');
    expect(j.frames.final).toBe(j.frames.baseline);
    expect(j.audit).toEqual({ ok: true, problems: [] });
    expect(j.steps.length).toBe(11);
    const faults = j.steps
      .flatMap((s: { events: { type: string }[] }) => s.events)
      .filter((e: { type: string }) => e.type === 'fault');
    expect(faults.length).toBeGreaterThan(5);
    expect(typeof faults[0].syndrome).toBe('string'); // bigints as hex strings
    expect(j.registers.TCR_EL1).toBe('0x00000195B5103510');
  });
});
