/**
 * #PF error codes (arch-facts B6): the values Linux prints in "#PF: error_code(0x0006)
 * - not-present page" messages, decoded and re-encoded exactly.
 */
import { DescriptorError, type FaultKind, InvalidArgumentError } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { createX86Arch } from './backend.js';

const x64 = createX86Arch({ mode: 'x86_64' }).syndromes;
const qemu = createX86Arch({ mode: 'x86_64', rsvdSetsP: false }).syndromes;
const x32 = createX86Arch({ mode: 'x86-32' }).syndromes;
const x32Smep = createX86Arch({ mode: 'x86-32', smep: true }).syndromes;

describe('#PF error codes (arch-facts B6)', () => {
  const golden: [number, string, FaultKind, 0 | 1 | 2, 0 | 1][] = [
    [0x0, 'kernel read, not present', 'translation', 0, 1],
    [0x2, 'kernel write, not present', 'translation', 1, 1],
    [0x4, 'user read, not present', 'translation', 0, 0],
    [0x5, 'user read, protection', 'permission', 0, 0],
    [0x6, 'user write, not present', 'translation', 1, 0],
    [0x7, 'user write, protection', 'permission', 1, 0],
    [0x9, 'kernel read, reserved bit (SDM: P | RSVD)', 'reserved-bit', 0, 1],
    [0xb, 'kernel write, reserved bit', 'reserved-bit', 1, 1],
    [0x10, 'kernel fetch, not present', 'translation', 2, 1],
    [0x11, 'kernel fetch from an NX or SMEP page', 'permission', 2, 1],
    [0x14, 'user fetch, not present', 'translation', 2, 0],
    [0x15, 'user fetch from an NX page', 'permission', 2, 0],
  ];
  it.each(golden)('B6: 0x%s (%s) decodes exactly and re-encodes', (code, _, kind, access, privilege) => {
    expect(x64.decode(BigInt(code))).toEqual({ exception: '#PF', kind, level: 0, access, privilege });
    expect(x64.encode({ kind, level: 0, access, privilege })).toBe(BigInt(code));
  });

  it('B6/D1: current QEMU reports RSVD without P: 0x8 with rsvdSetsP false, and both decode as reserved-bit', () => {
    expect(qemu.encode({ kind: 'reserved-bit', level: 1, access: 0, privilege: 1 })).toBe(0x8n);
    expect(qemu.encode({ kind: 'reserved-bit', level: 1, access: 1, privilege: 0 })).toBe(0xen);
    expect(x64.decode(0x8n).kind).toBe('reserved-bit');
    expect(x64.decode(0xdn)).toMatchObject({ kind: 'reserved-bit', access: 0, privilege: 0 });
  });

  it('B6: without SMEP and NXE (32-bit paging) a fetch has no I/D bit: user fetch not present = 0x4', () => {
    expect(x32.encode({ kind: 'translation', level: 0, access: 2, privilege: 0 })).toBe(0x4n);
    expect(x32.decode(0x4n).access).toBe(0);
    expect(x32Smep.encode({ kind: 'translation', level: 0, access: 2, privilege: 0 })).toBe(0x14n);
  });

  it('B6: PK, SGX and RMP violations are permission faults; SS is a data access', () => {
    expect(x64.decode(0x25n)).toMatchObject({ kind: 'permission', access: 0, privilege: 0 });
    expect(x64.decode(0x8000_0005n)).toMatchObject({ kind: 'permission' });
    expect(x64.decode(0x8007n)).toMatchObject({ kind: 'permission', access: 1 });
    expect(x64.decode(0x47n)).toMatchObject({ kind: 'permission', access: 1 });
  });

  it('B1: a non-canonical address is a #GP(0): encodes as 0; x86 has no access-flag/address-size/alignment #PF', () => {
    expect(x64.encode({ kind: 'non-canonical', level: 0, access: 2, privilege: 0 })).toBe(0n);
    for (const kind of ['access-flag', 'address-size', 'alignment'] as const) {
      expect(() => x64.encode({ kind, level: 1, access: 0, privilege: 0 })).toThrow(InvalidArgumentError);
    }
    expect(() => x64.encode({ kind: 'translation', level: 1, access: 3 as 0, privilege: 0 })).toThrow(
      /access/,
    );
  });

  it('names the registers #PF error code / CR2', () => {
    expect([x64.syndromeRegister, x64.addressRegister]).toEqual(['#PF error code', 'CR2']);
  });

  it('B6: describe names every field of the error code', () => {
    const fields = x64.describe(0x8000_8035n);
    expect(fields.map((f) => `${f.name}${f.bits}=${f.value}`)).toEqual([
      'P[0]=1',
      'W/R[1]=0',
      'U/S[2]=1',
      'RSVD[3]=0',
      'I/D[4]=1',
      'PK[5]=1',
      'SS[6]=0',
      'reserved[14:7]=0',
      'SGX[15]=1',
      'reserved[30:16]=0',
      'RMP[31]=1',
    ]);
    expect(fields[0]!.meaning).toMatch(/protection/);
    expect(x32.describe(0x4n)[4]!.meaning).toMatch(/a fetch looks like a read/);
  });

  it('refuses values that are not #PF error codes', () => {
    expect(() => x64.decode(1n << 32n)).toThrow(DescriptorError);
    expect(() => x64.decode(-1n)).toThrow(InvalidArgumentError);
    expect(() => x64.describe(1n << 64n)).toThrow(InvalidArgumentError);
  });
});
