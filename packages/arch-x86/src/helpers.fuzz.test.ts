/**
 * Fuzz test of the exported helpers of @mmkit/arch-x86 (PAT, control registers, recursive
 * mappings, options): plain-JS garbage in, a normal return or an MmError out. The index's exports
 * are enumerated so that a new export must be classified here.
 */
import { fuzzCall } from '@mmkit/testkit';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';

type AnyFn = (...args: unknown[]) => unknown;

/** Helpers validated and fuzzed here. */
const HELPERS = [
  'checkPcid',
  'checkRoot',
  'computeCr0',
  'computeCr3',
  'computeCr4',
  'computeEfer',
  'patIndexBits',
  'patIndexOf',
  'patTypeMeaning',
  'patTypeMemoryType',
  'patTypeName',
  'recursive32',
  'recursive4Level',
  'resolveX86Options',
  'x86SwapCodec',
  'x86SwapLayout',
] as const;

/** Exports outside this part of Kernel v2 (backend, codecs, MMU, modes, TLB operations) or data. */
const NOT_HERE = [
  'X86_32_SWAP_LAYOUT',
  'X86_64_SWAP_LAYOUT',
  'X86_PAE_SWAP_LAYOUT',
  'CR0_BITS',
  'CR4_BITS',
  'EFER_BITS',
  'PAT_MEMORY_TYPES',
  'PF_ERROR_BITS',
  'X86DescriptorCodec',
  'X86Mmu',
  'X86SyndromeCodec',
  'X86_ELF',
  'X86_ELF_MACHINE',
  'X86_ENTRY_BITS',
  'X86_LEVEL_NAMES',
  'X86_LINUX_PAT',
  'X86_MODES',
  'X86_MSR',
  'X86_PAT_RESET',
  'createX86Arch',
  'describeEntry',
  'invpcidDescriptor',
  'isX86Mode',
  'parseX86Level',
  'protectionKeyOf',
  'withProtectionKey',
  'x86LevelName',
  'x86TlbOperations',
];

describe('arch-x86 exported helpers: garbage in, MmError out', () => {
  it('every export is classified', () => {
    expect(Object.keys(api).sort()).toEqual([...HELPERS, 'PatMap', ...NOT_HERE].sort());
  });
  it('the ELF constants are data: frozen records', () => {
    for (const v of [api.X86_ELF, api.X86_ELF['64'], api.X86_ELF['32'], api.X86_ELF_MACHINE])
      expect(Object.isFrozen(v)).toBe(true);
    expect(api.X86_ELF['64'].machine).toBe(api.X86_ELF_MACHINE.EM_X86_64);
    expect(api.X86_ELF['32'].machine).toBe(api.X86_ELF_MACHINE.EM_386);
  });
  const fns = api as unknown as Record<string, AnyFn>;
  for (const name of HELPERS) it(`${name}()`, () => fuzzCall(name, (a) => fns[name]!(...a)));
  it('new PatMap() and its methods', () => {
    fuzzCall('new PatMap', (a) => new api.PatMap(...(a as [bigint])));
    const p = new api.PatMap(api.X86_LINUX_PAT);
    fuzzCall('PatMap.indexFor', (a) => p.indexFor(...(a as [never])));
    fuzzCall('PatMap.memoryTypeOf', (a) => p.memoryTypeOf(...(a as [number])));
  });
  it('recursive mapping helpers', () => {
    const r32 = api.recursive32();
    const r4 = api.recursive4Level();
    fuzzCall('recursive32().ptVa', (a) => r32.ptVa(...(a as [number])));
    fuzzCall('recursive32().pteVa', (a) => r32.pteVa(...(a as [number])));
    fuzzCall('recursive32().pdeVa', (a) => r32.pdeVa(...(a as [number])));
    fuzzCall('recursive4Level().pteVa', (a) => r4.pteVa(...(a as [number])));
    fuzzCall('recursive4Level().pml4eVa', (a) => r4.pml4eVa(...(a as [number])));
  });
  it('regressions: garbage names the argument instead of "Cannot read properties of null"', () => {
    expect(() => api.recursive32(null as never)).toThrow(/recursive32 options: null is invalid/);
    expect(() => api.computeCr0(null as never)).toThrow(/CR0 state: null is invalid/);
    expect(() => api.computeCr4({ mode: 'x86_64' } as never)).toThrow(/CR4 state.pse: undefined is invalid/);
    expect(() => api.checkRoot(Symbol('m') as never, 0, 40)).toThrow(
      /x86 paging mode: Symbol\(m\) is invalid/,
    );
    expect(() => api.checkRoot('x86_64', 0, 40n as never)).toThrow(/MAXPHYADDR/);
    expect(() => api.patTypeName(Symbol('t') as never)).toThrow(/PAT memory type/);
    expect(() => new api.PatMap(api.X86_LINUX_PAT).indexFor('constructor' as never)).not.toThrow();
    expect(new api.PatMap(api.X86_LINUX_PAT).indexFor('constructor' as never)).toBe(-1);
    expect(() => new api.PatMap(api.X86_LINUX_PAT).memoryTypeOf(8)).toThrow(/PAT index/);
    expect(() => api.patIndexOf(1.5, false)).toThrow(/entry low word/);
  });
});
