/**
 * Self-test of the suite: the toy backend passes it, and each deliberate defect
 * of the toy backend is caught by the check meant to catch it.
 */
import { describe, expect, it } from 'vitest';
import { describeConformance } from './conformance.js';
import {
  checkAccessedFlag,
  checkDescription,
  checkDirtyState,
  checkLeafRoundTrip,
  checkNextTable,
  checkNonCanonical,
  checkRefusals,
  checkTlbOperations,
  checkWalkerLeafLevel,
} from './index.js';
import { createToyArch, type ToyBug } from './toy-arch.js';

describeConformance('toy32', () => createToyArch());

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
  ];
  it.each(cases)('%s', (bug, check, message) => {
    const problems = check(createToyArch({ bug }));
    expect(problems.join('\n')).toMatch(message);
    // The same check passes on the correct backend.
    expect(check(createToyArch())).toEqual([]);
  });
});
