/**
 * Fuzz test of the exported helpers of @mmkit/arch-aarch64 (ESR names, MAIR, system-register
 * values): plain-JS garbage in, a normal return or an MmError out. The index's exports are
 * enumerated so that a new export must be classified here.
 */
import { fuzzCall } from '@mmkit/testkit';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';

type AnyFn = (...args: unknown[]) => unknown;

/** Helpers validated and fuzzed here. */
const HELPERS = [
  'classifyMairAttribute',
  'computeSctlrEl1',
  'computeTcrEl1',
  'computeTtbr',
  'exceptionClassName',
  'faultStatusName',
  'mairAttributeMeaning',
] as const;

/** Exports outside this part of Kernel v2 (backend, codecs, MMU, levels, TLB operations) or data. */
const NOT_HERE = [
  'AARCH64_SWAP_CODEC',
  'AARCH64_SWAP_LAYOUT',
  'AARCH64_ELF',
  'AARCH64_LEVEL_NAMES',
  'AARCH64_LINUX_MAIR',
  'AARCH64_PA_BITS',
  'AARCH64_VA_BITS',
  'Aarch64DescriptorCodec',
  'Aarch64Mmu',
  'Aarch64SyndromeCodec',
  'DESCRIPTOR_BITS',
  'EM_AARCH64',
  'ESR_EL1_BITS',
  'EXCEPTION_CLASS',
  'FAULT_STATUS',
  'SCTLR_EL1_BITS',
  'SCTLR_EL1_RES1',
  'TCR_EL1_BITS',
  'aarch64LevelName',
  'aarch64TlbOperations',
  'createAarch64Arch',
  'describeDescriptor',
  'parseAarch64Level',
  'tlbiVaOperand',
];

describe('arch-aarch64 exported helpers: garbage in, MmError out', () => {
  it('every export is classified', () => {
    expect(Object.keys(api).sort()).toEqual([...HELPERS, 'MairMap', ...NOT_HERE].sort());
  });
  it('the ELF constants are data: a frozen record and a number', () => {
    expect(Object.isFrozen(api.AARCH64_ELF)).toBe(true);
    expect(api.AARCH64_ELF).toEqual({ machine: api.EM_AARCH64, class: 64, platform: 'aarch64' });
    expect(api.EM_AARCH64).toBe(183);
  });
  const fns = api as unknown as Record<string, AnyFn>;
  for (const name of HELPERS) it(`${name}()`, () => fuzzCall(name, (a) => fns[name]!(...a)));
  it('new MairMap()', () => fuzzCall('new MairMap', (a) => new api.MairMap(...(a as [bigint]))));
  it('MairMap methods', () => {
    const m = new api.MairMap(api.AARCH64_LINUX_MAIR);
    fuzzCall('MairMap.indexFor', (a) => m.indexFor(...(a as [never])));
    fuzzCall('MairMap.attribute', (a) => m.attribute(...(a as [number])));
  });
  it('regressions: exceptionClassName(1.5) and friends throw InvalidArgumentError naming the field', () => {
    expect(() => api.exceptionClassName(1.5)).toThrow(
      'exception class (ESR_EL1.EC): 1.5 (not an integer) is invalid; expected an integer from 0 to 63 (a 6-bit ESR_EL1 field)',
    );
    expect(() => api.exceptionClassName(64)).toThrow(/ESR_EL1.EC/);
    expect(() => api.faultStatusName(Number.NaN)).toThrow(/DFSC\/IFSC/);
    expect(() => api.classifyMairAttribute(256)).toThrow(/MAIR attribute byte/);
    expect(() => new api.MairMap(api.AARCH64_LINUX_MAIR).attribute(8)).toThrow(/AttrIndx/);
    expect(() => api.computeTcrEl1(null as never)).toThrow(/TCR_EL1 options/);
    expect(() => api.computeSctlrEl1({ wxn: 1, pan: false } as never)).toThrow(/SCTLR_EL1 options.wxn/);
    expect(api.exceptionClassName(0x24)).toBe('Data Abort from a lower Exception level (EL0)');
    expect(api.exceptionClassName(2)).toBe('unallocated exception class 0x02');
  });
});
