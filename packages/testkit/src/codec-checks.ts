/**
 * Conformance checks of a backend's description, geometry and descriptor codec.
 * Each check returns the problems it found (empty = conformant), so the suite
 * can report all of them at once and the checks can be tested on broken
 * backends.
 */
import {
  type ArchBackend,
  CONTRACT_VERSION,
  type LeafAttributes,
  MEMORY_TYPES,
  type NeutralEntry,
  OPEN_TABLE,
  type SyndromePrecision,
  split64,
  type TableAttributes,
} from '@mmkit/core';
import fc from 'fast-check';
import { leafAttributeCombinations, permissionPairs, tableAttributeCombinations } from './combinations.js';
import { attempt, capProblems, formatRaw, sameEntry, stableStringify } from './compare.js';

/** A level's name for messages: `L3 (level 1)`. */
export function levelLabel(backend: ArchBackend, level: number): string {
  return `${backend.description.levels[level - 1]?.name ?? '?'} (level ${level})`;
}

/** Levels that can hold table descriptors (every level above the leaf table). */
export function tableLevels(backend: ArchBackend): number[] {
  return backend.description.levels.filter((l) => l.level > 1).map((l) => l.level);
}

function checkRaw(backend: ArchBackend, lo: number, hi: number, what: string): string[] {
  const problems: string[] = [];
  const ok32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
  if (!ok32(lo) || !ok32(hi))
    problems.push(`${what}: raw halves ${lo}/${hi} are not unsigned 32-bit integers`);
  if (backend.description.descriptorBytes === 4 && hi !== 0)
    problems.push(`${what}: 4-byte descriptor with hi = ${hi}`);
  return problems;
}

/**
 * The most permissive leaf attributes the backend encodes at `level` that satisfy `accept`,
 * trying every user × kernel pair (most permissive first) and memory type, or undefined.
 */
export function findLeafAttributes(
  backend: ArchBackend,
  level: number,
  base: Partial<LeafAttributes> = {},
  accept: (a: LeafAttributes) => boolean = () => true,
): LeafAttributes | undefined {
  const size = backend.geometry.entrySizeBytes[level]!;
  for (const { user, kernel } of permissionPairs()) {
    for (const memoryType of MEMORY_TYPES) {
      const writable = user.write || kernel.write;
      const attrs: LeafAttributes = {
        user,
        kernel,
        global: false,
        memoryType,
        accessed: true,
        dirty: writable,
        software: 0,
        contiguous: false,
        ...base,
      };
      if (!accept(attrs)) continue;
      if (attempt(() => backend.codec.encode({ kind: 'leaf', pa: size, attrs }, level)).ok) return attrs;
    }
  }
  return undefined;
}

/** The backend implements the current contract: `contractVersion` equals {@link CONTRACT_VERSION}. */
export function checkContractVersion(backend: ArchBackend): string[] {
  if (backend.contractVersion === CONTRACT_VERSION) return [];
  return [`contractVersion ${String(backend.contractVersion)} is not CONTRACT_VERSION ${CONTRACT_VERSION}`];
}

/**
 * Description and geometry are consistent: levels chain, sizes, geometry (incl. pageShift,
 * pageBytes, hugeLeafLevels), root table size, ranges vs vaBits / signExtended / splitRoots,
 * capabilities in range, fault registers, syndrome precision, memory types and ELF identity
 * well formed.
 */
export function checkDescription(backend: ArchBackend): string[] {
  const p: string[] = [];
  const d = backend.description;
  const g = backend.geometry;
  if (d.pageShift !== 12) p.push(`pageShift ${d.pageShift} is not 12 (mmkit uses a 4 KiB base granule)`);
  if (d.descriptorBytes !== 4 && d.descriptorBytes !== 8)
    p.push(`descriptorBytes ${d.descriptorBytes} is not 4 or 8`);
  if (d.levels.length === 0) return [...p, 'no levels'];
  if (g.pageShift !== d.pageShift) p.push(`geometry.pageShift ${g.pageShift} ≠ pageShift ${d.pageShift}`);
  if (g.pageBytes !== 2 ** d.pageShift) p.push(`geometry.pageBytes ${g.pageBytes} ≠ 2^pageShift`);
  if (g.rootLevel !== d.levels.length)
    p.push(`geometry.rootLevel ${g.rootLevel} ≠ number of levels ${d.levels.length}`);
  const names = new Set<string>();
  d.levels.forEach((l, i) => {
    if (l.level !== i + 1) p.push(`levels[${i}].level is ${l.level}, expected ${i + 1} (index 0 = level 1)`);
    if (!l.name || names.has(l.name))
      p.push(`level ${l.level} name ${JSON.stringify(l.name)} is empty or repeated`);
    names.add(l.name);
    if (!Number.isInteger(l.indexBits) || l.indexBits < 1)
      p.push(`level ${l.level} indexBits ${l.indexBits}`);
    if (g.entries[l.level] !== 2 ** l.indexBits) p.push(`geometry.entries[${l.level}] ≠ 2^indexBits`);
    if (g.entrySizeBytes[l.level] !== 2 ** l.shift) p.push(`geometry.entrySizeBytes[${l.level}] ≠ 2^shift`);
    if (g.entryPages[l.level] !== 2 ** (l.shift - d.pageShift))
      p.push(`geometry.entryPages[${l.level}] ≠ 2^(shift - pageShift)`);
    const above = d.levels[i + 1];
    if (above) {
      if (above.shift !== l.shift + l.indexBits) {
        p.push(
          `level ${above.level} shift ${above.shift} ≠ level ${l.level} shift ${l.shift} + indexBits ${l.indexBits}`,
        );
      }
      if (g.entries[l.level]! * g.entrySizeBytes[l.level]! !== g.entrySizeBytes[above.level]) {
        p.push(`entries × entry size of level ${l.level} ≠ entry size of level ${above.level}`);
      }
    }
  });
  if (d.levels[0]!.shift !== d.pageShift)
    p.push(`level 1 shift ${d.levels[0]!.shift} ≠ pageShift ${d.pageShift}`);
  const leafLevels = d.levels.filter((l) => l.leafAllowed).map((l) => l.level);
  if (stableStringify(leafLevels) !== stableStringify(g.leafLevels))
    p.push('geometry.leafLevels disagrees with the levels');
  if (stableStringify(leafLevels.filter((l) => l > 1)) !== stableStringify(g.hugeLeafLevels))
    p.push('geometry.hugeLeafLevels disagrees with the levels');
  if (!leafLevels.includes(1)) p.push('level 1 does not allow leaves');
  const root = g.rootLevel;
  const rootEntries = g.entries[root]!;
  if (d.rootTableBytes !== rootEntries * d.descriptorBytes) {
    p.push(`rootTableBytes ${d.rootTableBytes} ≠ ${rootEntries} root entries × ${d.descriptorBytes} bytes`);
  }
  if (d.rootTableBytes > 4096) p.push(`rootTableBytes ${d.rootTableBytes} exceeds a page`);
  // Address ranges (contract v2: a root translates exactly vaBits bits; see ArchDescription.signExtended).
  const two64 = 1n << 64n;
  const u = d.userRange;
  const k = d.kernelRange;
  if (!(Number.isInteger(d.vaBits) && d.vaBits >= 12 && d.vaBits <= 64)) p.push(`vaBits ${d.vaBits}`);
  if (typeof d.signExtended !== 'boolean') p.push(`signExtended ${String(d.signExtended)} is not a boolean`);
  const span = 1n << BigInt(d.vaBits);
  const coverage = BigInt(g.entrySizeBytes[root]!) * BigInt(rootEntries);
  if (coverage !== span) p.push(`the root covers ${coverage} bytes, expected 2^vaBits = ${span}`);
  if (u.start !== 0n) p.push(`userRange starts at ${u.start}, expected 0`);
  if (!(u.start < u.end && k.start < k.end && k.end <= two64))
    p.push('userRange / kernelRange are empty or exceed 2^64');
  if (u.start < k.end && k.start < u.end) p.push('userRange and kernelRange overlap');
  if (d.signExtended) {
    // Each half: 2^vaBits with split roots (one root per half), 2^(vaBits-1) with one root.
    const half = d.splitRoots ? span : span / 2n;
    const what = d.splitRoots ? '2^vaBits (split roots)' : '2^(vaBits-1) (one root)';
    if (u.end > half) p.push(`userRange end ${u.end} exceeds the lower half ${what}`);
    if (k.start < two64 - half) p.push(`kernelRange starts below the upper half 2^64 - ${what}`);
    if (d.splitRoots && (u.end !== half || k.start !== two64 - half || k.end !== two64))
      p.push('split roots: userRange ≠ [0, 2^vaBits) or kernelRange ≠ [2^64 - 2^vaBits, 2^64)');
  } else {
    if (u.end > span) p.push(`userRange end ${u.end} exceeds 2^vaBits (not sign-extended)`);
    if (k.end > span) p.push(`kernelRange end ${k.end} exceeds 2^vaBits (not sign-extended)`);
  }
  if (!(d.paBits >= 32 && d.paBits <= 52)) p.push(`paBits ${d.paBits} outside 32 … 52`);
  const c = d.capabilities;
  if (!(Number.isInteger(c.asidBits) && c.asidBits >= 0 && c.asidBits <= 16))
    p.push(`asidBits ${c.asidBits}`);
  if (!(Number.isInteger(c.softwareBits) && c.softwareBits >= 0 && c.softwareBits <= 16))
    p.push(`softwareBits ${c.softwareBits}`);
  if (
    !(Number.isInteger(c.softwarePayloadBits) && c.softwarePayloadBits >= 0 && c.softwarePayloadBits <= 52)
  ) {
    p.push(`softwarePayloadBits ${c.softwarePayloadBits} outside 0 … 52`);
  }
  if (
    c.contiguousEntries !== 0 &&
    !(c.contiguousEntries > 1 && (c.contiguousEntries & (c.contiguousEntries - 1)) === 0)
  ) {
    p.push(`contiguousEntries ${c.contiguousEntries} is neither 0 nor a power of two`);
  }
  if (c.separateExecuteNever && !c.noExecute) p.push('separateExecuteNever without noExecute');
  if (
    d.faultRegisters[0] !== backend.syndromes.syndromeRegister ||
    d.faultRegisters[1] !== backend.syndromes.addressRegister
  ) {
    p.push(`faultRegisters ${d.faultRegisters.join('/')} disagree with the syndrome codec`);
  }
  const precision = backend.syndromes.precision as Partial<SyndromePrecision> | undefined;
  if (
    !precision ||
    typeof precision.kind !== 'boolean' ||
    typeof precision.level !== 'boolean' ||
    !['exact', 'no-fetch', 'none'].includes(precision.access as string)
  ) {
    p.push(`syndromes.precision ${stableStringify(precision)} is not { kind, level: boolean, access }`);
  }
  const types = d.memoryTypes as readonly unknown[] | undefined;
  if (!Array.isArray(types) || types.length === 0) p.push('memoryTypes is empty');
  else {
    const known = MEMORY_TYPES.filter((t) => types.includes(t));
    if (known.length !== types.length || stableStringify(known) !== stableStringify(types))
      p.push(`memoryTypes ${stableStringify(types)} are not distinct neutral types in MEMORY_TYPES order`);
  }
  if (d.elf !== undefined) {
    const { machine, class: elfClass, platform } = d.elf;
    if (!(Number.isInteger(machine) && machine > 0 && machine <= 0xffff))
      p.push(`elf.machine ${machine} is not a 16-bit e_machine`);
    if (elfClass !== 32 && elfClass !== 64) p.push(`elf.class ${String(elfClass)} is not 32 or 64`);
    if (typeof platform !== 'string' || platform === '') p.push('elf.platform is empty');
    if (elfClass === 32 && d.vaBits > 32) p.push(`elf.class 32 with vaBits ${d.vaBits}`);
  }
  for (const vpn of [0, 1, 0x1234_5678, 2 ** 36 + 77]) {
    for (const l of d.levels) {
      const expected = Math.floor(vpn / g.entryPages[l.level]!) % g.entries[l.level]!;
      if (g.indexOf(vpn, l.level) !== expected) p.push(`indexOf(${vpn}, ${l.level}) ≠ ${expected}`);
    }
  }
  return p;
}

/** A zero descriptor decodes as absent at every level and nextTable says -1. */
export function checkZeroAbsent(backend: ArchBackend): string[] {
  const p: string[] = [];
  for (const l of backend.description.levels) {
    const e = attempt(() => backend.codec.decode(0, 0, l.level));
    if (!e.ok || e.value.kind !== 'absent')
      p.push(`${levelLabel(backend, l.level)}: zero does not decode as absent`);
    if (backend.codec.nextTable(0, 0, l.level) !== -1)
      p.push(`${levelLabel(backend, l.level)}: nextTable(0, 0) ≠ -1`);
  }
  return p;
}

/** Output addresses tried for a leaf or table of `sizeBytes`: the size itself and the highest aligned address. */
export function samplePhysicalAddresses(backend: ArchBackend, sizeBytes: number): number[] {
  const limit = 2 ** backend.description.paBits;
  return [...new Set([sizeBytes < limit ? sizeBytes : 0, limit - sizeBytes])];
}

/**
 * Every neutral leaf-attribute combination at `level` either round-trips exactly or is refused
 * with an `E_UNREPRESENTABLE` MmError; at least one combination round-trips.
 */
export function checkLeafRoundTrip(
  backend: ArchBackend,
  level: number,
): { problems: string[]; encoded: number } {
  const p: string[] = [];
  const label = levelLabel(backend, level);
  const pas = samplePhysicalAddresses(backend, backend.geometry.entrySizeBytes[level]!);
  let encoded = 0;
  let i = 0;
  for (const attrs of leafAttributeCombinations(backend.description)) {
    const pa = pas[i++ % pas.length]!;
    const entry: NeutralEntry = { kind: 'leaf', pa, attrs };
    const raw = attempt(() => backend.codec.encode(entry, level));
    if (!raw.ok) {
      if (!raw.typed || raw.code !== 'E_UNREPRESENTABLE') {
        p.push(
          `${label}: encode ${stableStringify(entry)} threw ${raw.code || 'an untyped error'}: ${raw.message}`,
        );
      }
      continue;
    }
    encoded++;
    const { lo, hi } = raw.value;
    p.push(...checkRaw(backend, lo, hi, label));
    const back = attempt(() => backend.codec.decode(lo, hi, level));
    const rawText = formatRaw(lo, hi, backend.description.descriptorBytes);
    if (!back.ok) p.push(`${label}: decode(${rawText}) threw ${back.message}`);
    else if (!sameEntry(back.value, entry)) {
      p.push(`${label}: ${stableStringify(entry)} → ${rawText} → ${stableStringify(back.value)}`);
    }
    if (backend.codec.nextTable(lo, hi, level) !== -2) p.push(`${label}: nextTable of leaf ${rawText} ≠ -2`);
  }
  if (encoded === 0) p.push(`${label}: no leaf attribute combination could be encoded`);
  return { problems: capProblems(p), encoded };
}

/**
 * Table entries for every TableAttributes combination round-trip or are refused with
 * E_UNREPRESENTABLE, at every level above the leaf table; the backend's default table
 * attributes and OPEN_TABLE always encode.
 */
export function checkTableRoundTrip(backend: ArchBackend): string[] {
  const p: string[] = [];
  const combos: TableAttributes[] = [
    ...tableAttributeCombinations(),
    OPEN_TABLE,
    backend.defaults.userTable,
    backend.defaults.kernelTable,
  ];
  for (const level of tableLevels(backend)) {
    const label = levelLabel(backend, level);
    for (const [n, attrs] of combos.entries()) {
      const mustEncode = n >= combos.length - 3;
      for (const pa of samplePhysicalAddresses(backend, 4096)) {
        const entry: NeutralEntry = { kind: 'table', pa, attrs };
        const raw = attempt(() => backend.codec.encode(entry, level));
        if (!raw.ok) {
          if (mustEncode)
            p.push(
              `${label}: table ${stableStringify(entry)} must encode (open or default attributes): ${raw.message}`,
            );
          else if (!raw.typed || raw.code !== 'E_UNREPRESENTABLE') {
            p.push(
              `${label}: encode ${stableStringify(entry)} threw ${raw.code || 'an untyped error'}: ${raw.message}`,
            );
          }
          continue;
        }
        const { lo, hi } = raw.value;
        p.push(...checkRaw(backend, lo, hi, label));
        const rawText = formatRaw(lo, hi, backend.description.descriptorBytes);
        const back = attempt(() => backend.codec.decode(lo, hi, level));
        if (!back.ok || !sameEntry(back.value, entry)) {
          p.push(
            `${label}: ${stableStringify(entry)} → ${rawText} → ${back.ok ? stableStringify(back.value) : back.message}`,
          );
        }
        const next = backend.codec.nextTable(lo, hi, level);
        if (next !== pa) p.push(`${label}: nextTable(${rawText}) = ${next}, expected ${pa}`);
      }
    }
  }
  return capProblems(p);
}

/** Software payloads 1 and 2^bits - 1 round-trip at every level; 0 and 2^bits are refused with a typed error. */
export function checkSoftwarePayloads(backend: ArchBackend): string[] {
  const p: string[] = [];
  const bits = backend.description.capabilities.softwarePayloadBits;
  for (const l of backend.description.levels) {
    const label = levelLabel(backend, l.level);
    const payloads = bits === 0 ? [] : [...new Set([1, 2 ** bits - 1, bits >= 2 ? 2 ** (bits - 1) + 1 : 1])];
    for (const payload of payloads) {
      const entry: NeutralEntry = { kind: 'software', payload };
      const raw = attempt(() => backend.codec.encode(entry, l.level));
      if (!raw.ok) {
        p.push(`${label}: software payload ${payload} refused: ${raw.message}`);
        continue;
      }
      const { lo, hi } = raw.value;
      p.push(...checkRaw(backend, lo, hi, label));
      const back = attempt(() => backend.codec.decode(lo, hi, l.level));
      if (!back.ok || !sameEntry(back.value, entry)) {
        p.push(
          `${label}: payload ${payload} → ${formatRaw(lo, hi, 8)} → ${back.ok ? stableStringify(back.value) : back.message}`,
        );
      }
      if (backend.codec.nextTable(lo, hi, l.level) !== -2)
        p.push(`${label}: nextTable of a software entry ≠ -2`);
    }
    for (const payload of [0, 2 ** bits, -1, 1.5]) {
      const r = attempt(() => backend.codec.encode({ kind: 'software', payload }, l.level));
      if (r.ok || !r.typed)
        p.push(`${label}: software payload ${payload} was not refused with a typed error`);
    }
  }
  return p;
}

/**
 * Unrepresentable requests are refused with a typed error: a leaf at a level without leaves
 * (E_UNREPRESENTABLE), a misaligned output address, an output address ≥ 2^paBits, a table at
 * level 1, a misaligned next-table address, contiguous without a contiguous hint, software bits
 * beyond softwareBits.
 */
export function checkRefusals(backend: ArchBackend): string[] {
  const p: string[] = [];
  const d = backend.description;
  const g = backend.geometry;
  const limit = 2 ** d.paBits;
  const anyLeaf = findLeafAttributes(backend, 1);
  if (!anyLeaf) return ['no leaf attributes encode at level 1'];
  const refused = (what: string, fn: () => unknown, code?: string) => {
    const r = attempt(fn);
    if (r.ok) p.push(`${what}: not refused`);
    else if (!r.typed) p.push(`${what}: refused with an untyped error (${r.message})`);
    else if (code && r.code !== code) p.push(`${what}: refused with ${r.code}, expected ${code}`);
  };
  for (const l of d.levels) {
    const label = levelLabel(backend, l.level);
    if (!l.leafAllowed) {
      refused(
        `${label}: leaf at a level without leaves`,
        () => backend.codec.encode({ kind: 'leaf', pa: 0, attrs: anyLeaf }, l.level),
        'E_UNREPRESENTABLE',
      );
      continue;
    }
    const size = g.entrySizeBytes[l.level]!;
    const attrs = findLeafAttributes(backend, l.level) ?? anyLeaf;
    const misaligned = l.level === 1 ? 2048 : size / 2;
    refused(`${label}: misaligned output address ${misaligned}`, () =>
      backend.codec.encode({ kind: 'leaf', pa: misaligned, attrs }, l.level),
    );
    refused(`${label}: output address 2^${d.paBits}`, () =>
      backend.codec.encode({ kind: 'leaf', pa: limit, attrs }, l.level),
    );
    refused(`${label}: negative output address`, () =>
      backend.codec.encode({ kind: 'leaf', pa: -size, attrs }, l.level),
    );
    if (d.capabilities.contiguousEntries === 0) {
      refused(
        `${label}: contiguous without a contiguous hint`,
        () =>
          backend.codec.encode({ kind: 'leaf', pa: size, attrs: { ...attrs, contiguous: true } }, l.level),
        'E_UNREPRESENTABLE',
      );
    }
    const sw = 2 ** d.capabilities.softwareBits;
    refused(`${label}: software value ${sw}`, () =>
      backend.codec.encode({ kind: 'leaf', pa: size, attrs: { ...attrs, software: sw } }, l.level),
    );
  }
  refused('level 1: table descriptor in the leaf table', () =>
    backend.codec.encode({ kind: 'table', pa: 4096, attrs: OPEN_TABLE }, 1),
  );
  for (const level of tableLevels(backend)) {
    const label = levelLabel(backend, level);
    refused(`${label}: misaligned next-table address 2048`, () =>
      backend.codec.encode({ kind: 'table', pa: 2048, attrs: OPEN_TABLE }, level),
    );
    refused(`${label}: next-table address 2^${d.paBits}`, () =>
      backend.codec.encode({ kind: 'table', pa: limit, attrs: OPEN_TABLE }, level),
    );
  }
  return p;
}

/**
 * nextTable agrees with decode: the table address for tables, -1 for absent, -2 for anything
 * else; checked on random 64-bit values (decode never throws) and on encoded entries.
 */
export function checkNextTable(backend: ArchBackend, numRuns = 1000): string[] {
  const p: string[] = [];
  const d = backend.description;
  const word = fc.integer({ min: 0, max: 0xffff_ffff });
  const level = fc.integer({ min: 1, max: d.levels.length });
  // Bias towards valid-looking values: low bits 0b01 / 0b11 are where formats differ.
  const lowBits = fc.constantFrom(0, 1, 2, 3);
  const r = fc.check(
    fc.property(
      word,
      d.descriptorBytes === 8 ? word : fc.constant(0),
      level,
      lowBits,
      (lo0, hi, lvl, low) => {
        const lo = ((lo0 & ~3) | low) >>> 0;
        const e = backend.codec.decode(lo, hi, lvl);
        const next = backend.codec.nextTable(lo, hi, lvl);
        const expected = e.kind === 'table' ? e.pa : e.kind === 'absent' ? -1 : -2;
        if (next !== expected) {
          throw new Error(
            `nextTable(${formatRaw(lo, hi, d.descriptorBytes)}, ${lvl}) = ${next}, decode says ${stableStringify(e)}`,
          );
        }
      },
    ),
    { numRuns, seed: 0x6d6d6b74 },
  );
  if (r.failed) p.push(`nextTable/decode property failed: ${String(r.errorInstance ?? r.counterexample)}`);
  return p;
}

/** Random aligned output addresses below 2^paBits round-trip at every leaf level. */
export function checkLeafAddresses(backend: ArchBackend, numRuns = 300): string[] {
  const p: string[] = [];
  for (const level of backend.geometry.leafLevels) {
    const attrs = findLeafAttributes(backend, level);
    if (!attrs) continue;
    const size = backend.geometry.entrySizeBytes[level]!;
    const slots = 2 ** backend.description.paBits / size;
    const r = fc.check(
      fc.property(fc.integer({ min: 0, max: slots - 1 }), (slot) => {
        const entry: NeutralEntry = { kind: 'leaf', pa: slot * size, attrs };
        const raw = backend.codec.encode(entry, level);
        const back = backend.codec.decode(raw.lo, raw.hi, level);
        if (!sameEntry(back, entry)) throw new Error(`${stableStringify(entry)} → ${stableStringify(back)}`);
      }),
      { numRuns, seed: 0x70616464 },
    );
    if (r.failed)
      p.push(`${levelLabel(backend, level)}: output-address round trip failed: ${String(r.errorInstance)}`);
  }
  return p;
}

/** describe() returns at least one well-formed field for sample descriptors at every level. */
export function checkDescribe(backend: ArchBackend): string[] {
  const p: string[] = [];
  const bytes = backend.description.descriptorBytes;
  for (const l of backend.description.levels) {
    const samples: bigint[] = [0n];
    const add = (entry: NeutralEntry) => {
      const r = attempt(() => backend.codec.encode(entry, l.level));
      if (r.ok) samples.push((BigInt(r.value.hi) << 32n) | BigInt(r.value.lo));
    };
    const leaf = l.leafAllowed ? findLeafAttributes(backend, l.level) : undefined;
    if (leaf) add({ kind: 'leaf', pa: backend.geometry.entrySizeBytes[l.level]!, attrs: leaf });
    if (l.level > 1) add({ kind: 'table', pa: 4096, attrs: OPEN_TABLE });
    if (backend.description.capabilities.softwarePayloadBits > 0) add({ kind: 'software', payload: 1 });
    samples.push(bytes === 8 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn);
    for (const value of samples) {
      const r = attempt(() => backend.codec.describe(value, l.level));
      const label = `${levelLabel(backend, l.level)}: describe(${formatRaw(...split64(value), bytes)})`;
      if (!r.ok) {
        p.push(`${label} threw ${r.message}`);
        continue;
      }
      if (r.value.length === 0) p.push(`${label} returned no field`);
      for (const f of r.value) {
        if (!f.name || !f.bits || typeof f.value !== 'bigint' || typeof f.meaning !== 'string') {
          p.push(`${label}: malformed field ${stableStringify(f)}`);
        }
      }
    }
  }
  return p;
}

/**
 * `memoryTypes` is true: at every leaf level each declared type encodes (with some permission
 * set) and decodes back to itself, and each other neutral type is refused with
 * E_UNREPRESENTABLE.
 */
export function checkMemoryTypes(backend: ArchBackend): string[] {
  const p: string[] = [];
  const declared = backend.description.memoryTypes;
  for (const level of backend.geometry.leafLevels) {
    const label = levelLabel(backend, level);
    const pa = backend.geometry.entrySizeBytes[level]!;
    const base = findLeafAttributes(backend, level);
    if (!base) {
      p.push(`${label}: no leaf attributes encode`);
      continue;
    }
    for (const memoryType of MEMORY_TYPES) {
      if (declared.includes(memoryType)) {
        const attrs = findLeafAttributes(backend, level, {}, (a) => a.memoryType === memoryType);
        if (!attrs) {
          p.push(`${label}: declared memory type ${memoryType} does not encode with any permissions`);
          continue;
        }
        const raw = backend.codec.encode({ kind: 'leaf', pa, attrs }, level);
        const back = attempt(() => backend.codec.decode(raw.lo, raw.hi, level));
        if (!back.ok || back.value.kind !== 'leaf' || back.value.attrs.memoryType !== memoryType)
          p.push(`${label}: memory type ${memoryType} does not decode back`);
        continue;
      }
      if (findLeafAttributes(backend, level, {}, (a) => a.memoryType === memoryType))
        p.push(`${label}: memory type ${memoryType} encodes but is not in memoryTypes`);
      const raw = attempt(() =>
        backend.codec.encode({ kind: 'leaf', pa, attrs: { ...base, memoryType } }, level),
      );
      if (!raw.ok && (!raw.typed || raw.code !== 'E_UNREPRESENTABLE'))
        p.push(`${label}: memory type ${memoryType} refused with ${raw.code || 'an untyped error'}`);
    }
  }
  return p;
}
