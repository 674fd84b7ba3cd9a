/**
 * Property test: random sequences of brk / store / load / fork / exit / copy_to_user on
 * random processes, with memory exhaustion injected, compared against a reference model
 * of what each process can observe (the value of every heap word it wrote; zero for pages
 * never written or released by a brk shrink), with audit() after every step.
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createVirtBoard } from '@mmkit/boards';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { audit } from './audit.js';
import { bootKernel } from './kernel.js';
import type { Process } from './process.js';
import { leaveFree } from './test-fixtures.js';

const HEAP_PAGES = 24;

type Op =
  | { op: 'brk'; who: number; pages: number }
  | { op: 'store'; who: number; page: number; value: number }
  | { op: 'load'; who: number; page: number }
  | { op: 'fork'; who: number }
  | { op: 'exit'; who: number }
  | { op: 'copy'; who: number; page: number; value: number }
  | { op: 'squeeze'; keep: number };

const who = fc.nat({ max: 3 });
const page = fc.nat({ max: HEAP_PAGES - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('brk' as const), who, pages: fc.nat({ max: HEAP_PAGES }) }),
  fc.record({ op: fc.constant('store' as const), who, page, value: fc.nat() }),
  fc.record({ op: fc.constant('load' as const), who, page }),
  fc.record({ op: fc.constant('fork' as const), who }),
  fc.record({ op: fc.constant('exit' as const), who }),
  fc.record({ op: fc.constant('copy' as const), who, page, value: fc.nat() }),
  fc.record({ op: fc.constant('squeeze' as const), keep: fc.nat({ max: 6 }) }),
);

describe('kernel property: observable memory matches a reference model, audit clean after every step', () => {
  it('holds for random operation sequences with memory exhaustion injected', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const k = bootKernel({
          arch: createAarch64Arch(),
          machine: createVirtBoard({ ramBytes: 32 * 2 ** 20, pool: 'all-ram' }),
          cpus: 2,
          strictTlb: true,
          // The model: out of memory kills the faulting process, never on copy_to_user (no OOM killer).
          oomKiller: false,
        });
        const base = k.layout.heapBase;
        type Model = { proc: Process; brkPages: number; words: Map<number, number> };
        const procs: Model[] = [{ proc: k.createProcess(), brkPages: 0, words: new Map() }];
        let release: (() => void) | undefined;
        const pick = (i: number) => procs[i % procs.length];
        for (const o of ops) {
          if (o.op === 'squeeze') {
            release?.();
            release = leaveFree(k, o.keep);
            continue;
          }
          const m = pick(o.who);
          if (!m) break;
          const cpu = o.who % 2;
          switch (o.op) {
            case 'brk': {
              k.brk(m.proc, base + BigInt(o.pages) * 4096n);
              if (o.pages < m.brkPages)
                for (const p of [...m.words.keys()]) if (p >= o.pages) m.words.delete(p);
              m.brkPages = o.pages;
              break;
            }
            case 'store':
            case 'copy': {
              const va = base + BigInt(o.page) * 4096n;
              if (o.op === 'store') {
                const r = k.store(m.proc, va, 4, o.value, cpu);
                if (o.page >= m.brkPages) expect(r).toMatchObject({ ok: false, killed: 'invalid address' });
                else if (r.ok) m.words.set(o.page, o.value);
                else expect(r.killed).toBe('out of memory');
              } else {
                const bytes = new Uint8Array(4);
                new DataView(bytes.buffer).setUint32(0, o.value, true);
                const r = k.copyToUser(m.proc, va, bytes, cpu);
                if (r.ok) m.words.set(o.page, o.value);
                else expect(r.errno).toBe('EFAULT');
                expect(m.proc.alive).toBe(true);
              }
              break;
            }
            case 'load': {
              const r = k.load(m.proc, base + BigInt(o.page) * 4096n, 4, cpu);
              if (o.page >= m.brkPages) expect(r).toMatchObject({ ok: false, killed: 'invalid address' });
              else if (r.ok) expect(r.value).toBe(m.words.get(o.page) ?? 0);
              else expect(r.killed).toBe('out of memory');
              break;
            }
            case 'fork': {
              const f = k.fork(m.proc);
              if (f.ok) procs.push({ proc: f.process, brkPages: m.brkPages, words: new Map(m.words) });
              break;
            }
            case 'exit':
              k.exit(m.proc);
              break;
          }
          // Killed or exited processes leave the model.
          for (let i = procs.length - 1; i >= 0; i--) if (!procs[i]!.proc.alive) procs.splice(i, 1);
          const report = audit(k);
          expect(report.problems).toEqual([]);
        }
        release?.();
        for (const m of procs) k.exit(m.proc);
        expect(k.allocator.freeCount).toBe(k.baselineFree);
        expect(audit(k).problems).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
