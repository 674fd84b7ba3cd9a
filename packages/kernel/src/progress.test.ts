/**
 * Progress reports of boot and audit: phases in order, `done` never past `total`, the audit
 * throttled to once per 2^20 frames (never per frame), bad callbacks refused, and the report
 * identical with and without a callback.
 */

import { createX86Arch } from '@mmkit/arch-x86';
import { createPcBoard } from '@mmkit/boards';
import { describe, expect, it } from 'vitest';
import { type AuditOptions, audit } from './audit.js';
import { bootKernel } from './kernel.js';
import { AUDIT_PROGRESS_FRAMES, BOOT_PHASES } from './progress.js';
import { fiveConfigs } from './test-fixtures.js';

type Call = [string, number, number];

describe('boot progress (KernelOptions.onProgress)', () => {
  for (const c of fiveConfigs(64 * 1024 * 1024)) {
    it(`reports each boot phase once, in order, then done (${c.name})`, () => {
      const calls: Call[] = [];
      const k = bootKernel({
        arch: c.arch(),
        machine: c.machine(),
        onProgress: (phase, done, total) => calls.push([phase, done, total]),
      });
      expect(calls).toEqual([
        ...BOOT_PHASES.map((p, i): Call => [p, i, BOOT_PHASES.length]),
        ['boot', BOOT_PHASES.length, BOOT_PHASES.length],
      ]);
      expect(audit(k).ok).toBe(true);
    });
  }

  it('refuses a callback that is not a function, before anything is built', () => {
    const c = fiveConfigs(16 * 1024 * 1024)[0]!;
    expect(() =>
      bootKernel({ arch: c.arch(), machine: c.machine(), onProgress: 42 as unknown as () => void }),
    ).toThrow(/onProgress.*42.*a function \(phase, done, total\)/);
  });
});

describe('audit progress (audit(kernel, { onProgress }))', () => {
  it('reports the start, every 2^20 frames and the end, never per frame (a 12 GiB pc)', () => {
    const k = bootKernel({
      arch: createX86Arch({ mode: 'x86_64' }),
      machine: createPcBoard({ ramBytes: 12 * 2 ** 30 }),
    });
    const calls: Call[] = [];
    const withBar = audit(k, { onProgress: (phase, done, total) => calls.push([phase, done, total]) });
    const total = k.allocator.frameIndexCount;
    expect(total).toBeGreaterThan(2 * AUDIT_PROGRESS_FRAMES);
    const expected: Call[] = [['audit', 0, total]];
    for (let d = AUDIT_PROGRESS_FRAMES; d < total; d += AUDIT_PROGRESS_FRAMES)
      expected.push(['audit', d, total]);
    expected.push(['audit', total, total]);
    expect(calls).toEqual(expected);
    expect(calls.length).toBeLessThan(total / 100_000);
    // The same report as without a callback.
    expect(withBar).toEqual(audit(k));
    expect(withBar.ok).toBe(true);
  });

  it('refuses bad options', () => {
    const c = fiveConfigs(16 * 1024 * 1024)[0]!;
    const k = bootKernel({ arch: c.arch(), machine: c.machine() });
    expect(() => audit(k, { onProgress: 'x' as unknown as () => void })).toThrow(/onProgress/);
    expect(() => audit(k, null as unknown as AuditOptions)).toThrow(/audit options/);
  });
});
