/**
 * Shared pieces of the property tests under memory pressure (`swap.property.test.ts`,
 * `reclaim.property.test.ts`): the operations both generate, their arbitraries, the model's
 * per-process record and a side-effect-free read of a page (from its frame or its swap slot).
 * Test support only: not exported from the package index.
 */
import fc from 'fast-check';
import type { Kernel } from './kernel.js';
import type { Process } from './process.js';

/** The operations both property tests generate (each test adds its own). */
export type PressureOp =
  | { op: 'fork'; who: number }
  | { op: 'write'; who: number; page: number; value: number }
  | { op: 'touch'; who: number; page: number }
  | { op: 'exit'; who: number }
  | { op: 'munmap'; who: number; page: number; pages: number }
  | { op: 'pageout'; who: number; page: number; pages: number };

/** Weights and sizes of {@link pressureOps}. */
export interface PressureOpOptions {
  /** Pages of each process's mapping. */
  readonly pages: number;
  readonly writeWeight: number;
  /** Largest MADV_PAGEOUT range in pages. */
  readonly pageoutMax: number;
  readonly pageoutWeight: number;
}

/** The weighted arbitraries of {@link PressureOp}, for `fc.oneof(...pressureOps(o), ...own)`. */
export function pressureOps(o: PressureOpOptions): fc.WeightedArbitrary<PressureOp>[] {
  const who = fc.nat(7);
  const page = fc.nat(o.pages - 1);
  return [
    { arbitrary: fc.record({ op: fc.constant('fork' as const), who }), weight: 2 },
    {
      arbitrary: fc.record({
        op: fc.constant('write' as const),
        who,
        page,
        value: fc.integer({ min: 1, max: 2 ** 31 }),
      }),
      weight: o.writeWeight,
    },
    { arbitrary: fc.record({ op: fc.constant('touch' as const), who, page }), weight: 4 },
    { arbitrary: fc.record({ op: fc.constant('exit' as const), who }), weight: 1 },
    {
      arbitrary: fc.record({
        op: fc.constant('munmap' as const),
        who,
        page,
        pages: fc.integer({ min: 1, max: 3 }),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('pageout' as const),
        who,
        page,
        pages: fc.integer({ min: 1, max: o.pageoutMax }),
      }),
      weight: o.pageoutWeight,
    },
  ];
}

/** The model: per process, each page's value (undefined = unmapped; 0 = never written). */
export interface ModelProcess {
  readonly proc: Process;
  readonly pages: (number | undefined)[];
}

/** What the page at `va` of `p` holds, read without side effects: its frame, or its swap slot. */
export function peekPage(k: Kernel, p: Process, va: bigint): number | undefined {
  const ref = k.lookup(p, va);
  if (ref === undefined || ref.level !== 1) return 0; // no table: never touched
  if (ref.entry.kind === 'leaf') return Number(k.memory.readN(ref.entry.pa, 4));
  if (ref.entry.kind === 'absent') return 0;
  const [lo, hi] = k.editor.readRaw(ref.descriptorPa);
  const e = k.arch.swap!.decode(lo, hi, 1);
  if (e === undefined) return undefined;
  const bytes = k.swap.slotBytes(e.type, e.offset)!;
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
}
