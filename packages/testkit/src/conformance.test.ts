/**
 * Self-test of the suite: the toy backend passes it, and each deliberate defect
 * of the toy backend is caught by the check meant to catch it — for every
 * check, one defect that exactly that check (and no other) reports.
 */
import { type ArchBackend, WalkResult } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { describeConformance } from './conformance.js';
import * as testkit from './index.js';
import {
  checkAccessedFlag,
  checkContractVersion,
  checkDescribe,
  checkDescription,
  checkDirtyState,
  checkFaultSyndrome,
  checkLeafAddresses,
  checkLeafRoundTrip,
  checkMemoryTypes,
  checkNextTable,
  checkNonCanonical,
  checkRefusals,
  checkRegisters,
  checkSoftwarePayloads,
  checkSyndromePrecision,
  checkTableRoundTrip,
  checkTlbOperations,
  checkUnmapped,
  checkWalkerLeafLevel,
  checkZeroAbsent,
  createWalkHarness,
} from './index.js';
import { createToyArch, TOY_DEFECT_FOR_CHECK, type ToyBug } from './toy-arch.js';

describeConformance('toy32', () => createToyArch());

type Check = (b: ArchBackend) => string[];
const everyLeafLevel =
  (check: (b: ArchBackend, level: number) => string[]): Check =>
  (b) =>
    b.geometry.leafLevels.flatMap((level) => check(b, level));

/** Every check of the suite as the suite runs it (per-level checks over every leaf level). */
const CHECKS: Readonly<Record<keyof typeof TOY_DEFECT_FOR_CHECK, Check>> = {
  checkContractVersion,
  checkDescription,
  checkZeroAbsent,
  checkLeafRoundTrip: everyLeafLevel((b, level) => checkLeafRoundTrip(b, level).problems),
  checkTableRoundTrip,
  checkSoftwarePayloads,
  checkRefusals,
  checkNextTable: (b) => checkNextTable(b, 1000),
  checkLeafAddresses: (b) => checkLeafAddresses(b, 300),
  checkDescribe,
  checkMemoryTypes,
  checkWalkerLeafLevel: everyLeafLevel((b, level) => checkWalkerLeafLevel(b, level)),
  checkUnmapped: (b) => checkUnmapped(b),
  checkNonCanonical: (b) => checkNonCanonical(b),
  checkAccessedFlag: (b) => checkAccessedFlag(b),
  checkDirtyState: (b) => checkDirtyState(b),
  checkRegisters: (b) => checkRegisters(b),
  checkSyndromePrecision: (b) => checkSyndromePrecision(b),
  checkTlbOperations,
};

/**
 * Exported `check*` functions that are building blocks of other checks rather than suite tests,
 * each with the defect that proves it can fail and how to run it on a backend.
 */
const BUILDING_BLOCKS: Readonly<Record<string, { bug: ToyBug; run: Check }>> = {
  checkFaultSyndrome: {
    bug: 'syndrome-drops-user',
    run: (b) => {
      // A user read of an unmapped page: a translation fault whose syndrome must say "user".
      const h = createWalkHarness(b);
      const out = new WalkResult();
      if (h.mmu.walk(2, 0, 0, out)) return ['an unmapped page translates'];
      return checkFaultSyndrome(b, out, 0, 0, 'unmapped user read');
    },
  },
};

function failingChecks(backend: ArchBackend): string[] {
  return Object.entries(CHECKS)
    .filter(([, check]) => check(backend).length > 0)
    .map(([name]) => name);
}

describe('every check is proven by a defect of the toy backend that only it reports', () => {
  it('the correct toy backend passes every check', { timeout: 60_000 }, () => {
    expect(failingChecks(createToyArch())).toEqual([]);
    for (const [name, block] of Object.entries(BUILDING_BLOCKS))
      expect(block.run(createToyArch()), name).toEqual([]);
  });

  it.each(Object.entries(TOY_DEFECT_FOR_CHECK))(
    '%s catches the toy defect %s, and no other check does',
    { timeout: 60_000 },
    (check, bug) => {
      expect(failingChecks(createToyArch({ bug }))).toEqual([check]);
    },
  );

  it.each(Object.entries(BUILDING_BLOCKS))('building block %s catches its defect', (_name, { bug, run }) => {
    expect(run(createToyArch({ bug })).length).toBeGreaterThan(0);
    expect(run(createToyArch())).toEqual([]);
  });

  it('every exported check function has a proving defect (enumerates the exports)', () => {
    const exported = Object.keys(testkit).filter((name) => /^check[A-Z]/.test(name));
    expect(exported.length).toBeGreaterThanOrEqual(20);
    const proven = [...Object.keys(TOY_DEFECT_FOR_CHECK), ...Object.keys(BUILDING_BLOCKS)];
    expect(exported.filter((name) => !proven.includes(name))).toEqual([]);
    expect(Object.keys(CHECKS).sort()).toEqual(Object.keys(TOY_DEFECT_FOR_CHECK).sort());
    // One defect per check: no defect proves two checks.
    const bugs = Object.values(TOY_DEFECT_FOR_CHECK);
    expect(new Set(bugs).size).toBe(bugs.length);
  });
});

describe('each check catches the defect it is meant to catch', () => {
  const cases: [ToyBug, (b: ReturnType<typeof createToyArch>) => string[], RegExp][] = [
    ['decode-drops-global', (b) => checkLeafRoundTrip(b, 1).problems, /"global":false.*"global":true/],
    ['untyped-refusal', (b) => checkLeafRoundTrip(b, 1).problems, /untyped error/],
    ['accepts-misaligned', (b) => checkRefusals(b), /misaligned output address 2048: not refused/],
    ['user-gets-kernel-perms', (b) => checkWalkerLeafLevel(b, 1), /by user.*expected a permission fault/],
    ['next-table-for-leaves', (b) => checkNextTable(b, 2000), /nextTable\/decode property failed/],
    ['ignores-high-va-bits', (b) => checkNonCanonical(b), /outside both halves translates/],
    ['tlb-ops-do-nothing', (b) => checkTlbOperations(b), /left vpn/],
    ['wrong-root-table-bytes', (b) => checkDescription(b), /rootTableBytes 2048/],
    ['probe-sets-accessed', (b) => checkAccessedFlag(b), /probe changed the leaf/],
    ['clean-page-writable', (b) => checkDirtyState(b), /clean leaf reports write permission/],
    ['syndrome-drops-user', (b) => checkWalkerLeafLevel(b, 2), /syndromes.encode gives/],
    ['old-contract-version', (b) => checkContractVersion(b), /contractVersion 1 is not CONTRACT_VERSION 2/],
    ['zero-is-software', (b) => checkZeroAbsent(b), /PT \(level 1\): zero does not decode as absent/],
    ['decode-drops-software-bit', (b) => checkLeafRoundTrip(b, 1).problems, /"software":3.*"software":1/],
    ['table-drops-accessed', (b) => checkTableRoundTrip(b), /"accessed":true.*"accessed":false/],
    ['accepts-wide-payload', (b) => checkSoftwarePayloads(b), /payload 2147483648 was not refused/],
    ['next-table-for-software', (b) => checkNextTable(b, 1000), /decode says \{"kind":"software"/],
    ['drops-address-bit', (b) => checkLeafAddresses(b, 300), /output-address round trip failed/],
    ['describe-number-values', (b) => checkDescribe(b), /malformed field/],
    [
      'declares-no-device',
      (b) => checkMemoryTypes(b),
      /memory type device encodes but is not in memoryTypes/,
    ],
    ['fault-without-descriptor-pa', (b) => checkUnmapped(b), /descriptorPa 0, expected the root entry/],
    ['registers-not-bigints', (b) => checkRegisters(b), /register TOYROOT is not a bigint/],
    ['precision-claims-level', (b) => checkSyndromePrecision(b), /decodes to level 0, expected 2/],
  ];
  it.each(cases)('%s', (bug, check, message) => {
    const problems = check(createToyArch({ bug }));
    expect(problems.join('\n')).toMatch(message);
    // The same check passes on the correct backend.
    expect(check(createToyArch())).toEqual([]);
  });
});
