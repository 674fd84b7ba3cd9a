/**
 * Self-test of the suite: the toy backend passes it, and each deliberate defect
 * of the toy backend is caught by the check meant to catch it — for every
 * check, one defect that exactly that check (and no other) reports. The editor
 * checks whose subject is the core editor are proven the same way by defective
 * editors (editor-defects.ts) instead of toy defects.
 */
import { type ArchBackend, WalkResult } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { describeConformance } from './conformance.js';
import * as editorChecks from './editor-checks.js';
import { createDefectiveEditor, EDITOR_DEFECT_FOR_CHECK, type EditorDefect } from './editor-defects.js';
import * as testkit from './index.js';
import {
  checkAccessedFlag,
  checkBreakBeforeMakePhases,
  checkClearAndPrune,
  checkContractVersion,
  checkDescribe,
  checkDescription,
  checkDirtyState,
  checkEditorMapUnmap,
  checkEditorOutOfMemory,
  checkEditorSplitCollapse,
  checkFaultSyndrome,
  checkFlushLedger,
  checkFreeSubtables,
  checkLeafAddresses,
  checkLeafRoundTrip,
  checkLeafTemplate,
  checkMemoryTypes,
  checkNextTable,
  checkNonCanonical,
  checkRangeValidation,
  checkRefusals,
  checkRegisters,
  checkSoftwarePayloads,
  checkSwapEntries,
  checkSyndromePrecision,
  checkTableRoundTrip,
  checkTlbOperations,
  checkUnmapped,
  checkWalkerLeafLevel,
  checkZeroAbsent,
  createWalkHarness,
  type EditorCheckOptions,
} from './index.js';
import { createToyArch, TOY_DEFECT_FOR_CHECK, type ToyBug } from './toy-arch.js';

describeConformance('toy32', () => createToyArch());

type Check = (b: ArchBackend) => string[];
const everyLeafLevel =
  (check: (b: ArchBackend, level: number) => string[]): Check =>
  (b) =>
    b.geometry.leafLevels.flatMap((level) => check(b, level));

type EditorCheck = (b: ArchBackend, options?: EditorCheckOptions) => string[];

/** The editor checks (describeEditorConformance), which can run with a defective editor. */
const EDITOR_CHECKS = {
  checkEditorMapUnmap,
  checkEditorOutOfMemory,
  checkEditorSplitCollapse,
  checkBreakBeforeMakePhases,
  checkFlushLedger,
  checkRangeValidation,
  checkClearAndPrune,
  checkFreeSubtables,
  checkLeafTemplate,
} as const satisfies Record<string, EditorCheck>;

/**
 * Every check of the suite as the suite runs it (per-level checks over every leaf level), the
 * editor checks with the real editor: every toy defect is run through all of them.
 */
const CHECKS: Readonly<
  Record<keyof typeof TOY_DEFECT_FOR_CHECK | keyof typeof EDITOR_DEFECT_FOR_CHECK, Check>
> = {
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
  checkSwapEntries: (b) => checkSwapEntries(b, { numRuns: 200 }),
  ...EDITOR_CHECKS,
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

/**
 * A check that throws is listed as `<name> threw …`, so it fails every comparison below: a check
 * reports what it finds as problems, whatever the backend does.
 */
function failing(checks: Readonly<Record<string, Check>>, backend: ArchBackend): string[] {
  return Object.entries(checks).flatMap(([name, check]) => {
    try {
      return check(backend).length > 0 ? [name] : [];
    } catch (e) {
      return [`${name} threw ${e instanceof Error ? e.message : String(e)}`];
    }
  });
}

function failingChecks(backend: ArchBackend): string[] {
  return failing(CHECKS, backend);
}

/** The editor checks that report something on the correct toy backend edited by `defect`'s editor. */
function failingEditorChecks(defect: EditorDefect): string[] {
  const options: EditorCheckOptions = { createEditor: createDefectiveEditor(defect) };
  const bound = Object.fromEntries(
    Object.entries(EDITOR_CHECKS).map(([name, check]) => [name, (b: ArchBackend) => check(b, options)]),
  );
  return failing(bound, createToyArch());
}

/** What the cursor says when it refuses a page of the toy's upper half beyond a 2048-byte root. */
const BEYOND_SHORT_ROOT =
  /startVpn: \d+ is out of range; expected a page of the root's address space \[0, 524288\]/;

/**
 * Toy defects that checks other than their own report too, legitimately, each with what every one
 * of that check's problems must say.
 *
 * `wrong-root-table-bytes` (a 2048-byte root for 1024 declared entries): the page-table cursor in
 * core never touches a root entry beyond `rootTableBytes` (on a real kernel those bytes belong to
 * something else, and the kernel counts root entries from `rootTableBytes` too), so it refuses
 * every page of the toy's upper half (root entries 512 to 1023, vpn 524288 and up, the kernel
 * half) with a typed OutOfRangeError. The checks that need pages mapped there cannot test what
 * they test and say why, rather than pass without having tested: the walker checks of both halves
 * and of non-canonical addresses, and the editor's map/unmap check in both halves. The other
 * checks never map in the upper half and stay clean.
 *
 * `drops-address-bit` (leaf encode loses PA bit 20 when bit 21 is clear): a split re-encodes the
 * 4 MiB block at 0x4000_0000 as 1024 pages, and the 256 at offsets [1 MiB, 2 MiB) lose bit 20, so
 * the split really moves them (from vpn 2304 on) and the collapse then finds a table that is not
 * contiguous. The split/collapse check is the one editor check that re-encodes a block as pages
 * across that range; the others map pages at addresses with bit 20 clear.
 */
const ALSO_REPORTED_BY: Readonly<Partial<Record<ToyBug, Readonly<Record<string, RegExp>>>>> = {
  'wrong-root-table-bytes': {
    checkWalkerLeafLevel: BEYOND_SHORT_ROOT,
    checkNonCanonical: BEYOND_SHORT_ROOT,
    checkEditorMapUnmap: BEYOND_SHORT_ROOT,
  },
  'drops-address-bit': {
    checkEditorSplitCollapse:
      /^level 2: (split changed a translation \(vpn 2304: |collapse refused: not-contiguous$)/,
  },
};

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
      const also = ALSO_REPORTED_BY[bug] ?? {};
      expect(failingChecks(createToyArch({ bug })).sort()).toEqual([check, ...Object.keys(also)].sort());
      for (const [other, message] of Object.entries(also)) {
        const problems = CHECKS[other as keyof typeof CHECKS](createToyArch({ bug }));
        expect(problems.length, other).toBeGreaterThan(0);
        for (const problem of problems) expect(problem, other).toMatch(message);
      }
    },
  );

  it.each(Object.entries(EDITOR_DEFECT_FOR_CHECK))(
    '%s catches the editor defect %s, and no other editor check does',
    (check, defect) => {
      expect(failingEditorChecks(defect)).toEqual([check]);
    },
  );

  it.each(Object.entries(BUILDING_BLOCKS))('building block %s catches its defect', (_name, { bug, run }) => {
    expect(run(createToyArch({ bug })).length).toBeGreaterThan(0);
    expect(run(createToyArch())).toEqual([]);
  });

  it('every exported check function has a proving defect (enumerates the exports)', () => {
    const exported = Object.keys(testkit).filter((name) => /^check[A-Z]/.test(name));
    expect(exported.length).toBeGreaterThanOrEqual(20);
    const proven = [
      ...Object.keys(TOY_DEFECT_FOR_CHECK),
      ...Object.keys(EDITOR_DEFECT_FOR_CHECK),
      ...Object.keys(BUILDING_BLOCKS),
    ];
    expect(exported.filter((name) => !proven.includes(name))).toEqual([]);
    expect(Object.keys(CHECKS).sort()).toEqual(
      [...Object.keys(TOY_DEFECT_FOR_CHECK), ...Object.keys(EDITOR_DEFECT_FOR_CHECK)].sort(),
    );
    // Every editor check runs in the editor-defect matrix.
    expect(Object.keys(EDITOR_CHECKS).sort()).toEqual(
      Object.keys(editorChecks)
        .filter((name) => /^check[A-Z]/.test(name))
        .sort(),
    );
    // A check is proven by a toy defect or by an editor defect, not both.
    const both = Object.keys(EDITOR_DEFECT_FOR_CHECK).filter((name) => name in TOY_DEFECT_FOR_CHECK);
    expect(both).toEqual([]);
    // One defect per check: no defect proves two checks.
    const bugs = Object.values(TOY_DEFECT_FOR_CHECK);
    expect(new Set(bugs).size).toBe(bugs.length);
    const defects = Object.values(EDITOR_DEFECT_FOR_CHECK);
    expect(new Set(defects).size).toBe(defects.length);
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
    [
      'swap-offset-overlaps-present',
      (b) => checkSwapEntries(b, { numRuns: 200 }),
      /swap PTE 0x00000001 \(\{"offset":1,"type":0\}\), read by kernel: present to the walker/,
    ],
    [
      'leaf-bit-from-address',
      (b) => checkLeafTemplate(b),
      /fillAbsent at PA 1073741824 wrote 1073741879,0, map wrote 1073742007,0/,
    ],
  ];
  it.each(cases)('%s', (bug, check, message) => {
    const problems = check(createToyArch({ bug }));
    expect(problems.join('\n')).toMatch(message);
    // The same check passes on the correct backend.
    expect(check(createToyArch())).toEqual([]);
  });
});

describe('each editor check catches the editor defect it is meant to catch', () => {
  const cases: [EditorDefect, EditorCheck, RegExp][] = [
    ['for-each-leaf-skips-blocks', checkEditorMapUnmap, /level 2 user half vpn 2048: forEachLeaf saw \[\]/],
    ['split-breaks-before-alloc', checkEditorOutOfMemory, /budget 0: a failed split changed memory/],
    [
      'collapse-leaks-table',
      checkEditorSplitCollapse,
      /level 2: split \+ collapse did not restore the tables/,
    ],
    ['make-skips-settled-check', checkBreakBeforeMakePhases, /make with the obligation unsettled: no error/],
    ['ledger-not-told', checkFlushLedger, /a dropped unmap obligation is not counted \(0\)/],
    ['cursor-clamps-end', checkRangeValidation, /end past the address space: accepted/],
    ['clear-end-inclusive', checkClearAndPrune, /clearLeaves removed \[2049,3074,4095\] \(count 3\)/],
    ['free-subtables-drops-leaves', checkFreeSubtables, /with a leaf left in the range did not throw/],
  ];
  it('covers every editor defect', () => {
    expect(cases.map(([defect]) => defect).sort()).toEqual(Object.values(EDITOR_DEFECT_FOR_CHECK).sort());
  });
  it.each(cases)('%s', (defect, check, message) => {
    const problems = check(createToyArch(), { createEditor: createDefectiveEditor(defect) });
    expect(problems.join('\n')).toMatch(message);
    // The same check passes with the real editor.
    expect(check(createToyArch())).toEqual([]);
  });
});
