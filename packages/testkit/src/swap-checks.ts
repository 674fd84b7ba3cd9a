/**
 * Conformance of a backend's swap-entry codec ({@link ArchBackend.swap}): what a kernel relies on
 * when it swaps a page out and back in, derived from the codec's own declaration and the
 * backend's walker, never from knowledge of the architecture.
 */
import {
  ACCESS_NAMES,
  type AccessKind,
  type ArchBackend,
  FAULT_KINDS,
  Fault,
  PRIVILEGE_NAMES,
  type PrivilegeLevel,
  type SwapEntry,
  WalkResult,
} from '@mmkit/core';
import fc from 'fast-check';
import { findLeafAttributes } from './codec-checks.js';
import { attempt, capProblems, formatRaw, stableStringify } from './compare.js';
import { createWalkHarness } from './fixtures.js';
import type { WalkerCheckOptions } from './walker-checks.js';

/** Options of {@link checkSwapEntries}. */
export interface SwapCheckOptions extends WalkerCheckOptions {
  /** fast-check runs of the round-trip property (default 1000). */
  readonly numRuns?: number;
}

type Flag = 'exclusive' | 'softDirty' | 'uffdWp';
const FLAGS: readonly Flag[] = ['exclusive', 'softDirty', 'uffdWp'];

/** Edge entries: the corners of the type × offset range, each declared flag alone and all together. */
function edgeEntries(maxType: number, maxOffset: number, flags: readonly Flag[]): SwapEntry[] {
  const offsets = [...new Set([1, 2, 0x155, Math.floor(maxOffset / 2), maxOffset - 1, maxOffset])];
  const types = [...new Set([0, 1, maxType >>> 1, maxType])];
  const out: SwapEntry[] = [];
  for (const type of types) for (const offset of offsets) out.push({ type, offset });
  for (const f of flags) out.push({ type: 1, offset: 1, [f]: true });
  if (flags.length > 0)
    out.push({ type: maxType, offset: maxOffset, ...Object.fromEntries(flags.map((f) => [f, true])) });
  return out.filter((e) => e.offset >= 0 && e.offset <= maxOffset);
}

const show = (e: SwapEntry) => stableStringify(e);

/**
 * The swap-entry codec is sound:
 * - its declaration (name, `maxType` ≥ 31, `maxOffset` a safe integer ≤ 2^53 − 1, flag bits
 *   inside the descriptor);
 * - encode → decode at level 1 gives back type, offset and flags, for the edge entries and random
 *   ones (fast-check); encode's only refusal of an in-range entry is a typed E_UNREPRESENTABLE
 *   (the entry whose encoding is all zeros, `pte_none`); 4-byte formats leave `hi` 0;
 * - decode is undefined for zero, at every level above 1, and for present leaves;
 * - every swap PTE is not present to the hardware: installed as a leaf PTE, every access by
 *   every privilege takes a translation fault at level 1, and the descriptor codec never decodes
 *   it as a leaf or a table;
 * - out-of-range types and offsets (and non-integers) are refused with E_RANGE, and a flag the
 *   format has no bit for with E_UNREPRESENTABLE.
 * A backend without a codec is reported (the suite runs this check only for backends that
 * declare one).
 */
export function checkSwapEntries(backend: ArchBackend, options: SwapCheckOptions = {}): string[] {
  const swap = backend.swap;
  if (!swap) return ['the backend declares no swap codec (ArchBackend.swap is undefined)'];
  const p: string[] = [];
  const d = backend.description;
  const width = d.descriptorBytes * 8;
  const bytes = d.descriptorBytes;

  // Declaration.
  if (typeof swap.name !== 'string' || swap.name.trim() === '') p.push('swap.name is empty');
  if (!Number.isInteger(swap.maxType) || swap.maxType < 31)
    p.push(`swap.maxType ${swap.maxType}: expected an integer ≥ 31 (MAX_SWAPFILES_SHIFT = 5 bits)`);
  if (!Number.isSafeInteger(swap.maxOffset) || swap.maxOffset < 1)
    p.push(`swap.maxOffset ${swap.maxOffset}: expected a safe integer ≥ 1`);
  const flags = FLAGS.filter((f) => swap.flagBits[f] !== undefined);
  for (const f of flags) {
    const bit = swap.flagBits[f]!;
    if (!Number.isInteger(bit) || bit < 0 || bit >= width)
      p.push(`swap.flagBits.${f} ${bit}: expected a bit number from 0 to ${width - 1}`);
  }
  if (p.length > 0) return p;

  // Round trip.
  const roundTrip = (e: SwapEntry): string | undefined => {
    const r = attempt(() => swap.encode(e));
    if (!r.ok) {
      if (!r.typed) return `encode(${show(e)}) threw an untyped error: ${r.message}`;
      if (r.code !== 'E_UNREPRESENTABLE') return `encode(${show(e)}) refused an in-range entry: ${r.message}`;
      return undefined;
    }
    const { lo, hi } = r.value;
    if (lo !== lo >>> 0 || hi !== hi >>> 0) return `encode(${show(e)}) gave halves ${lo}, ${hi}: not 32-bit`;
    if (bytes === 4 && hi !== 0) return `encode(${show(e)}) set the high half of a 4-byte descriptor`;
    if (lo === 0 && hi === 0) return `encode(${show(e)}) gave an all-zero PTE (pte_none)`;
    const back = swap.decode(lo, hi, 1);
    const want = {
      type: e.type,
      offset: e.offset,
      exclusive: !!e.exclusive,
      softDirty: !!e.softDirty,
      uffdWp: !!e.uffdWp,
    };
    const got = back && {
      type: back.type,
      offset: back.offset,
      exclusive: back.exclusive,
      softDirty: back.softDirty,
      uffdWp: back.uffdWp,
    };
    if (stableStringify(got) !== stableStringify(want))
      return `${show(e)} → ${formatRaw(lo, hi, bytes)} decodes as ${stableStringify(got)}`;
    for (let level = 2; level <= backend.geometry.rootLevel; level++) {
      if (swap.decode(lo, hi, level) !== undefined)
        return `${formatRaw(lo, hi, bytes)} decodes as a swap entry at level ${level}; swap entries live in leaf PTEs (level 1)`;
    }
    return undefined;
  };
  const edges = edgeEntries(swap.maxType, swap.maxOffset, flags);
  const rt: string[] = [];
  let refused = 0;
  for (const e of edges) {
    const problem = roundTrip(e);
    if (problem) rt.push(problem);
    if (!attempt(() => swap.encode(e)).ok) refused++;
  }
  if (refused > 1) rt.push(`${refused} edge entries were refused; only the all-zero encoding may be`);
  p.push(...capProblems(rt, 10));
  const r = fc.check(
    fc.property(
      fc.integer({ min: 0, max: swap.maxType }),
      fc.integer({ min: 0, max: swap.maxOffset }),
      fc.subarray([...flags]),
      (type, offset, set) => {
        const problem = roundTrip({ type, offset, ...Object.fromEntries(set.map((f) => [f, true])) });
        if (problem) throw new Error(problem);
      },
    ),
    { numRuns: options.numRuns ?? 1000, seed: 0x73776170 },
  );
  if (r.failed) p.push(`swap round-trip property failed: ${String(r.errorInstance ?? r.counterexample)}`);

  // Not swap entries: zero, present leaves.
  if (swap.decode(0, 0, 1) !== undefined) p.push('decode(0) is a swap entry; zero is pte_none');
  const attrs = findLeafAttributes(backend, 1);
  if (attrs) {
    for (const pa of [0, 0x1000, 0x20_0000, 0x7fff_f000]) {
      if (pa >= 2 ** d.paBits) continue;
      const enc = attempt(() => backend.codec.encode({ kind: 'leaf', pa, attrs }, 1));
      if (!enc.ok) continue;
      const got = swap.decode(enc.value.lo, enc.value.hi, 1);
      if (got !== undefined)
        p.push(
          `the present leaf ${formatRaw(enc.value.lo, enc.value.hi, bytes)} (pa ${pa}) decodes as swap entry ${show(got)}`,
        );
    }
  }

  // Never present to the walker.
  p.push(...capProblems(checkSwapNotPresent(backend, edges, options), 10));

  // Refusals.
  const refusals: [SwapEntry, string][] = [
    [{ type: swap.maxType + 1, offset: 1 }, 'E_RANGE'],
    [{ type: -1, offset: 1 }, 'E_RANGE'],
    [{ type: 1.5, offset: 1 }, 'E_RANGE'],
    [{ type: 1, offset: swap.maxOffset + 1 }, 'E_RANGE'],
    [{ type: 1, offset: -1 }, 'E_RANGE'],
    [{ type: 1, offset: 0.5 }, 'E_RANGE'],
    [{ type: 1, offset: Number.NaN }, 'E_RANGE'],
    ...FLAGS.filter((f) => swap.flagBits[f] === undefined).map((f): [SwapEntry, string] => [
      { type: 1, offset: 1, [f]: true },
      'E_UNREPRESENTABLE',
    ]),
  ];
  for (const [e, code] of refusals) {
    const r2 = attempt(() => swap.encode(e));
    if (r2.ok)
      p.push(`encode(${show(e)}) was not refused (gave ${formatRaw(r2.value.lo, r2.value.hi, bytes)})`);
    else if (!r2.typed || r2.code !== code)
      p.push(`encode(${show(e)}) refused with ${r2.typed ? r2.code : 'an untyped error'}, expected ${code}`);
  }
  return p;
}

const ACCESSES: readonly AccessKind[] = [0, 1, 2];
const PRIVILEGES: readonly PrivilegeLevel[] = [0, 1];

/** Installs each entry's PTE as the leaf of a mapped user page and walks it. */
function checkSwapNotPresent(
  backend: ArchBackend,
  entries: readonly SwapEntry[],
  options: WalkerCheckOptions,
): string[] {
  const p: string[] = [];
  const swap = backend.swap!;
  const d = backend.description;
  const attrs = findLeafAttributes(backend, 1, {}, (a) => a.user.read && a.kernel.read);
  if (!attrs) return ['no readable level-1 leaf to replace by a swap PTE'];
  const h = createWalkHarness(backend, options);
  const vpn = Number(d.userRange.start >> 12n) + 5;
  const m = attempt(() =>
    h.editor.map({
      root: h.rootFor(vpn),
      vpn,
      pa: 0x1000,
      level: 1,
      attrs,
      tableAttrs: backend.defaults.userTable,
      source: h.frames,
    }),
  );
  if (!m.ok || !m.value.ok) return [`cannot map a user page at vpn ${vpn} to replace its PTE`];
  const out = new WalkResult();
  if (!h.mmu.probe(vpn, 0, 1, out)) return [`the page mapped at vpn ${vpn} does not translate`];
  const pte = out.descriptorPa;
  for (const e of entries) {
    const enc = attempt(() => swap.encode(e));
    if (!enc.ok) continue;
    const { lo, hi } = enc.value;
    const raw = formatRaw(lo, hi, d.descriptorBytes);
    const neutral = backend.codec.decode(lo, hi, 1);
    if (neutral.kind === 'leaf' || neutral.kind === 'table')
      p.push(`swap PTE ${raw} (${show(e)}) decodes as a ${neutral.kind} descriptor`);
    h.memory.write32(pte, lo);
    if (d.descriptorBytes === 8) h.memory.write32(pte + 4, hi);
    for (const access of ACCESSES) {
      for (const privilege of PRIVILEGES) {
        const what = `swap PTE ${raw} (${show(e)}), ${ACCESS_NAMES[access]} by ${PRIVILEGE_NAMES[privilege]}`;
        if (h.mmu.walk(vpn, access, privilege, out)) {
          p.push(`${what}: present to the walker (translates to pfn ${out.pfn})`);
          continue;
        }
        if (out.faultKind !== Fault.Translation || out.faultLevel !== 1)
          p.push(
            `${what}: ${FAULT_KINDS[out.faultKind]} fault at level ${out.faultLevel}, expected a translation fault at level 1`,
          );
      }
    }
  }
  return p;
}
