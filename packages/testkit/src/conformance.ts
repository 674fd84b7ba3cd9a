/**
 * The conformance suite every mmkit page-table backend runs. It knows nothing
 * about any architecture: every expectation is derived from the backend's own
 * description and the neutral contract in `@mmkit/core`.
 */
import type { ArchBackend } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import {
  checkContractVersion,
  checkDescribe,
  checkDescription,
  checkLeafAddresses,
  checkLeafRoundTrip,
  checkMemoryTypes,
  checkNextTable,
  checkRefusals,
  checkSoftwarePayloads,
  checkTableRoundTrip,
  checkZeroAbsent,
  levelLabel,
} from './codec-checks.js';
import { checkSwapEntries } from './swap-checks.js';
import { checkTlbOperations } from './tlb-checks.js';
import {
  checkAccessedFlag,
  checkDirtyState,
  checkNonCanonical,
  checkRegisters,
  checkSyndromePrecision,
  checkUnmapped,
  checkWalkerLeafLevel,
  type WalkerCheckOptions,
} from './walker-checks.js';

/** Options of {@link describeConformance}. */
export interface ConformanceOptions extends WalkerCheckOptions {
  /** fast-check runs per property (default 1000). */
  readonly numRuns?: number;
  /** Per-test timeout in milliseconds (default 60 000; the exhaustive loops take a few seconds). */
  readonly timeoutMs?: number;
}

/**
 * Registers the conformance suite as a vitest `describe` block named `name`. `make` is called
 * once per test, so tests never share state. Each test collects every problem it finds and
 * fails with the whole list.
 *
 * Checked: contract version; description and geometry; zero = absent; exhaustive leaf and
 * table round trips (or E_UNREPRESENTABLE refusals); software payloads; typed refusals;
 * nextTable ⇄ decode; describe(); declared memory types; walks on hand-built tables for every
 * leaf level and permission set, unmapped and non-canonical addresses, hardware accessed/dirty
 * updates, syndrome agreement and the declared syndrome precision; TLB operations; and, for a
 * backend that declares a swap-entry codec (`swap`), its round trip, refusals and that the walker
 * never sees a swap PTE as present.
 */
export function describeConformance(
  name: string,
  make: () => ArchBackend,
  options: ConformanceOptions = {},
): void {
  const numRuns = options.numRuns ?? 1000;
  const timeout = options.timeoutMs ?? 60_000;
  const walker: WalkerCheckOptions = { ram: options.ram, mmuOptions: options.mmuOptions };
  const probe = make();
  const leafLevels = [...probe.geometry.leafLevels];

  describe(`${name} conformance`, () => {
    it('implements the current contract version', () => {
      expect(checkContractVersion(make())).toEqual([]);
    });
    it('has a description consistent with its geometry and address ranges', () => {
      expect(checkDescription(make())).toEqual([]);
    });
    it('decodes a zero descriptor as absent at every level', () => {
      expect(checkZeroAbsent(make())).toEqual([]);
    });
    describe('leaf round trip for every neutral attribute combination', () => {
      for (const level of leafLevels) {
        it(`at ${levelLabel(probe, level)}`, { timeout }, () => {
          const r = checkLeafRoundTrip(make(), level);
          expect(r.problems).toEqual([]);
          expect(r.encoded).toBeGreaterThan(0);
        });
      }
    });
    it('round-trips table entries for every TableAttributes combination or refuses them', { timeout }, () => {
      expect(checkTableRoundTrip(make())).toEqual([]);
    });
    it('round-trips software payloads and refuses out-of-range ones', () => {
      expect(checkSoftwarePayloads(make())).toEqual([]);
    });
    it('refuses unrepresentable requests with a typed error', () => {
      expect(checkRefusals(make())).toEqual([]);
    });
    it('agrees between nextTable and decode, and decode never throws', { timeout }, () => {
      expect(checkNextTable(make(), numRuns)).toEqual([]);
    });
    it('round-trips random aligned output addresses', { timeout }, () => {
      expect(checkLeafAddresses(make(), Math.max(50, numRuns / 4))).toEqual([]);
    });
    it('describes sample descriptors field by field', () => {
      expect(checkDescribe(make())).toEqual([]);
    });
    it('encodes exactly the memory types it declares', () => {
      expect(checkMemoryTypes(make())).toEqual([]);
    });
    describe('walker on hand-built tables', () => {
      for (const level of leafLevels) {
        it(`translates and faults as the attributes say at ${levelLabel(probe, level)}`, { timeout }, () => {
          expect(checkWalkerLeafLevel(make(), level, walker)).toEqual([]);
        });
      }
      it('takes a translation fault at the root for unmapped addresses, with a matching syndrome', () => {
        expect(checkUnmapped(make(), walker)).toEqual([]);
      });
      it('never translates an address outside both halves', () => {
        expect(checkNonCanonical(make(), walker)).toEqual([]);
      });
      it('handles the accessed flag as the capabilities say', () => {
        expect(checkAccessedFlag(make(), walker)).toEqual([]);
      });
      it('records the dirty state on the first write only (hardware dirty management)', () => {
        expect(checkDirtyState(make(), walker)).toEqual([]);
      });
      it('decodes walk syndromes as precisely as it declares (syndromes.precision)', () => {
        expect(checkSyndromePrecision(make(), walker)).toEqual([]);
      });
      it('exposes its registers as bigints', () => {
        expect(checkRegisters(make(), walker)).toEqual([]);
      });
    });
    it('turns every TLB invalidation need into operations that drop the covered entries', () => {
      expect(checkTlbOperations(make())).toEqual([]);
    });
    if (probe.swap) {
      it(`encodes swap entries as non-present PTEs that round-trip (${probe.swap.name})`, { timeout }, () => {
        expect(checkSwapEntries(make(), { ...walker, numRuns })).toEqual([]);
      });
    }
  });
}
