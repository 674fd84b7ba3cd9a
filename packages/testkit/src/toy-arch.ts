/**
 * `toy32`: a minimal, fictional two-level paging format used to test the
 * conformance suite itself (and as the smallest example of a backend). It is
 * shaped like 32-bit x86 but is no real architecture.
 *
 * ```
 * VA: [31:22] PD index  [21:12] PT index  [11:0] offset      one root, 4-byte descriptors
 * descriptor: 31 ........ 12  11:10  9:8  7   6  5  4  3  2  1  0
 *             address          SW     MT   PS  G  D  A  X  U  W  P
 * ```
 * P = 0 and non-zero: software payload in bits [31:1]. PS = 1 in the PD: 4 MiB leaf.
 * Swap PTE (a Linux-style layout, `swap`): type in bits 5:1, exclusive in bit 7, offset in bits
 * 31:12, P = 0.
 * Permissions AND across levels (W, U, X); the kernel can always read.
 *
 * `bug` switches on one deliberate defect, so tests can show that each check fails.
 * Every check whose subject is the backend has one defect that it reports (see
 * {@link TOY_DEFECT_FOR_CHECK} and the suite's self-test); the editor checks that test the core
 * editor itself are proven by defective editors instead (editor-defects.ts).
 */
import {
  type AccessKind,
  type ArchBackend,
  type ArchDescription,
  CONTRACT_VERSION,
  createSwapEntryCodec,
  type DescriptorCodec,
  DescriptorError,
  deriveGeometry,
  FAULT_KINDS,
  Fault,
  type FaultKind,
  type Field,
  InvalidArgumentError,
  type LeafAttributes,
  type LinuxSwapLayout,
  MEMORY_TYPES,
  type Mmu,
  type NeutralEntry,
  OPEN_TABLE,
  Perm,
  type PhysicalMemory,
  type PrivilegeLevel,
  type RawDescriptor,
  type SyndromeCodec,
  type Tlb,
  type TlbInvalidation,
  type TlbOperation,
  UnrepresentableError,
  type WalkResult,
  type WalkStep,
} from '@mmkit/core';

/**
 * Deliberate defects of {@link createToyArch}. Each entry of {@link TOY_DEFECT_FOR_CHECK} is
 * caught by exactly its check; the others are caught by the check named in their comment (and
 * possibly by others too).
 */
export type ToyBug =
  /** `contractVersion` is 1 (checkContractVersion). */
  | 'old-contract-version'
  /** `rootTableBytes` is 2048 for a 1024-entry root of 4-byte descriptors (checkDescription). */
  | 'wrong-root-table-bytes'
  /** A zero PT entry decodes as software payload 0, nextTable -2 (consistently) (checkZeroAbsent). */
  | 'zero-is-software'
  /** Leaf decode keeps only software bit 10 of the two software bits (checkLeafRoundTrip). */
  | 'decode-drops-software-bit'
  /** Leaf decode reports every leaf global (checkLeafRoundTrip, checkLeafAddresses). */
  | 'decode-drops-global'
  /** Refusals throw a plain Error (checkLeafRoundTrip, checkRefusals). */
  | 'untyped-refusal'
  /** Table decode drops the A bit (checkTableRoundTrip). */
  | 'table-drops-accessed'
  /** Software payload 2^31 is accepted (and encodes as 0 = absent) (checkSoftwarePayloads). */
  | 'accepts-wide-payload'
  /** A misaligned output address is accepted (checkRefusals). */
  | 'accepts-misaligned'
  /** nextTable gives an address for some non-present (software) PD entries (checkNextTable). */
  | 'next-table-for-software'
  /** nextTable gives an address for 4 MiB leaves (checkNextTable, checkLeafRoundTrip). */
  | 'next-table-for-leaves'
  /** Leaf encode loses PA bit 20 when bit 21 is clear (checkLeafAddresses). */
  | 'drops-address-bit'
  /** describe() gives field values as numbers, not bigints (checkDescribe). */
  | 'describe-number-values'
  /** User accesses get the kernel's permissions (checkWalkerLeafLevel). */
  | 'user-gets-kernel-perms'
  /** A fault does not record the descriptor it read (`descriptorPa` stays 0) (checkUnmapped). */
  | 'fault-without-descriptor-pa'
  /** The walker ignores VA bits above 31 (checkNonCanonical). */
  | 'ignores-high-va-bits'
  /** probe() of a read sets the accessed flag (checkAccessedFlag). */
  | 'probe-sets-accessed'
  /** A clean leaf reports write permission (checkDirtyState). */
  | 'clean-page-writable'
  /** registers() gives numbers, not bigints (checkRegisters). */
  | 'registers-not-bigints'
  /** TLB operations drop nothing (checkTlbOperations). */
  | 'tlb-ops-do-nothing'
  /** The walker reports user faults as kernel faults in the syndrome (checkFaultSyndrome, and the walker checks using it). */
  | 'syndrome-drops-user'
  /** The syndrome codec claims to report the level but decodes every level as 0 (checkSyndromePrecision). */
  | 'precision-claims-level'
  /** `memoryTypes` omits `device`, which the codec encodes (checkMemoryTypes). */
  | 'declares-no-device'
  /**
   * A 4 KiB leaf whose output address lies in [1 GiB, 2 GiB) is encoded with bit 7 (PS, ignored
   * in a PT entry) set: it round-trips and walks as before, but the encoding is no longer
   * "template | PA", at addresses that `leafTemplate`'s samples miss, so `fillAbsent` installs
   * something other than what `map` installs (checkLeafTemplate).
   */
  | 'leaf-bit-from-address'
  /**
   * The swap codec puts the offset in bits 19:0, over P: an odd offset makes a present PTE that
   * the walker translates, though the codec round-trips it (checkSwapEntries).
   */
  | 'swap-offset-overlaps-present';

/**
 * For each check of the suite proven by a backend defect, the defect of the toy backend that this
 * check, and no other, reports. The self-test (`conformance.test.ts`) runs every check (the editor
 * checks included) on every one of them; the two defects that a second check legitimately reports
 * too (`wrong-root-table-bytes`, `drops-address-bit`) are listed there with the reason and what
 * that check must say.
 */
export const TOY_DEFECT_FOR_CHECK = Object.freeze({
  checkContractVersion: 'old-contract-version',
  checkDescription: 'wrong-root-table-bytes',
  checkZeroAbsent: 'zero-is-software',
  checkLeafRoundTrip: 'decode-drops-software-bit',
  checkTableRoundTrip: 'table-drops-accessed',
  checkSoftwarePayloads: 'accepts-wide-payload',
  checkRefusals: 'accepts-misaligned',
  checkNextTable: 'next-table-for-software',
  checkLeafAddresses: 'drops-address-bit',
  checkDescribe: 'describe-number-values',
  checkMemoryTypes: 'declares-no-device',
  checkWalkerLeafLevel: 'user-gets-kernel-perms',
  checkUnmapped: 'fault-without-descriptor-pa',
  checkNonCanonical: 'ignores-high-va-bits',
  checkAccessedFlag: 'probe-sets-accessed',
  checkDirtyState: 'clean-page-writable',
  checkRegisters: 'registers-not-bigints',
  checkSyndromePrecision: 'precision-claims-level',
  checkTlbOperations: 'tlb-ops-do-nothing',
  checkLeafTemplate: 'leaf-bit-from-address',
  checkSwapEntries: 'swap-offset-overlaps-present',
} as const satisfies Record<string, ToyBug>);

const P = 1;
const W = 2;
const U = 4;
const X = 8;
const A = 16;
const D = 32;
const G = 64;
const PS = 128;
const ADDR = 0xffff_f000;
const ADDR_4M = 0xffc0_0000;

/** Creates the toy backend (optionally with one deliberate defect). */
export function createToyArch(options: { readonly bug?: ToyBug } = {}): ArchBackend {
  const bug = options.bug;
  const description: ArchDescription = {
    id: 'toy32',
    name: 'toy 32-bit two-level paging (fictional)',
    pageShift: 12,
    descriptorBytes: 4,
    levels: [
      { level: 1, name: 'PT', shift: 12, indexBits: 10, leafAllowed: true },
      { level: 2, name: 'PD', shift: 22, indexBits: 10, leafAllowed: true },
    ],
    vaBits: 32,
    signExtended: false,
    paBits: 32,
    splitRoots: false,
    userRange: { start: 0n, end: 0xc000_0000n },
    kernelRange: { start: 0xc000_0000n, end: 0x1_0000_0000n },
    capabilities: {
      noExecute: true,
      separateExecuteNever: false,
      hardwareAccessFlag: true,
      hardwareDirty: true,
      asidBits: 0,
      globalPages: true,
      softwareBits: 2,
      softwarePayloadBits: 31,
      contiguousEntries: 0,
    },
    rootTableBytes: bug === 'wrong-root-table-bytes' ? 2048 : 4096,
    faultRegisters: ['TOYFSR', 'TOYFAR'],
    memoryTypes: bug === 'declares-no-device' ? MEMORY_TYPES.filter((t) => t !== 'device') : MEMORY_TYPES,
    elf: undefined,
  };

  const refuse = (level: number, reason: string): never => {
    if (bug === 'untyped-refusal') throw new Error(reason);
    throw new UnrepresentableError('toy32', level, reason);
  };

  const codec: DescriptorCodec = {
    decode(lo: number, _hi: number, level: number): NeutralEntry {
      lo >>>= 0;
      if (lo === 0)
        return bug === 'zero-is-software' && level === 1
          ? { kind: 'software', payload: 0 }
          : { kind: 'absent' };
      if (level !== 1 && level !== 2) return { kind: 'invalid', reason: `no level ${level}` };
      if (!(lo & P)) return { kind: 'software', payload: lo >>> 1 };
      if (level === 2 && !(lo & PS)) {
        return {
          kind: 'table',
          pa: (lo & ADDR) >>> 0,
          attrs: {
            noUser: !(lo & U),
            readOnly: !(lo & W),
            noExecuteUser: !(lo & X),
            noExecuteKernel: !(lo & X),
            accessed: bug === 'table-drops-accessed' ? false : (lo & A) !== 0,
          },
        };
      }
      const u = (lo & U) !== 0;
      const w = (lo & W) !== 0;
      const x = (lo & X) !== 0;
      const attrs: LeafAttributes = {
        user: { read: u, write: u && w, execute: u && x },
        kernel: { read: true, write: w, execute: x },
        global: bug === 'decode-drops-global' ? true : (lo & G) !== 0,
        memoryType: MEMORY_TYPES[(lo >>> 8) & 3]!,
        accessed: (lo & A) !== 0,
        dirty: (lo & D) !== 0,
        software: (lo >>> 10) & (bug === 'decode-drops-software-bit' ? 1 : 3),
      };
      return { kind: 'leaf', pa: (lo & (level === 2 ? ADDR_4M : ADDR)) >>> 0, attrs };
    },
    encode(entry: NeutralEntry, level: number): RawDescriptor {
      if (level !== 1 && level !== 2) return refuse(level, 'no such level');
      const checkPa = (pa: number, align: number) => {
        if (!Number.isSafeInteger(pa) || pa < 0 || pa >= 2 ** 32)
          refuse(level, `address ${pa} outside 32 bits`);
        if (pa % align !== 0 && bug !== 'accepts-misaligned')
          refuse(level, `address ${pa} not aligned to ${align}`);
      };
      switch (entry.kind) {
        case 'absent':
          return { lo: 0, hi: 0 };
        case 'software':
          if (
            !Number.isInteger(entry.payload) ||
            entry.payload < 1 ||
            entry.payload >= 2 ** (bug === 'accepts-wide-payload' ? 32 : 31)
          ) {
            return refuse(level, `payload ${entry.payload}`);
          }
          return { lo: (entry.payload * 2) >>> 0, hi: 0 };
        case 'invalid':
          return refuse(level, 'invalid entry');
        case 'table': {
          if (level !== 2) return refuse(level, 'tables only in the PD');
          checkPa(entry.pa, 4096);
          const t = entry.attrs;
          if (t.noExecuteUser !== t.noExecuteKernel) return refuse(level, 'one X bit for both privileges');
          const lo =
            entry.pa |
            P |
            (t.readOnly ? 0 : W) |
            (t.noUser ? 0 : U) |
            (t.noExecuteUser ? 0 : X) |
            (t.accessed ? A : 0);
          return { lo: lo >>> 0, hi: 0 };
        }
        case 'leaf': {
          checkPa(entry.pa, level === 2 ? 0x40_0000 : 0x1000);
          const a = entry.attrs;
          const { user, kernel } = a;
          if (!kernel.read) refuse(level, 'kernel always reads');
          if (!user.read && (user.write || user.execute)) refuse(level, 'user access needs U');
          if (user.read && (user.write !== kernel.write || user.execute !== kernel.execute)) {
            refuse(level, 'user and kernel share W and X');
          }
          if (a.dirty && !kernel.write) refuse(level, 'dirty read-only');
          if (a.contiguous) refuse(level, 'no contiguous hint');
          if (!Number.isInteger(a.software) || a.software < 0 || a.software > 3)
            refuse(level, `software ${a.software}`);
          const pa =
            bug === 'drops-address-bit' && entry.pa & 0x10_0000 && !(entry.pa & 0x20_0000)
              ? entry.pa - 0x10_0000
              : entry.pa;
          const lo =
            pa |
            P |
            (kernel.write ? W : 0) |
            (user.read ? U : 0) |
            (kernel.execute ? X : 0) |
            (a.accessed ? A : 0) |
            (a.dirty ? D : 0) |
            (a.global ? G : 0) |
            (level === 2 || (bug === 'leaf-bit-from-address' && pa >= 0x4000_0000 && pa < 0x8000_0000)
              ? PS
              : 0) |
            (MEMORY_TYPES.indexOf(a.memoryType) << 8) |
            (a.software << 10);
          return { lo: lo >>> 0, hi: 0 };
        }
      }
    },
    describe(value: bigint, level: number): readonly Field[] {
      const bit = (n: number) => (value >> BigInt(n)) & 1n;
      const names = ['P', 'W', 'U', 'X', 'A', 'D', 'G', 'PS'];
      const fields: Field[] = names.map((name, i) => ({
        name,
        bits: `[${i}]`,
        value: bug === 'describe-number-values' ? (Number(bit(i)) as unknown as bigint) : bit(i),
        meaning: `${name} flag`,
      }));
      fields.push({
        name: 'address',
        bits: '[31:12]',
        value: value & 0xffff_f000n,
        meaning: `level ${level}`,
      });
      return fields;
    },
    nextTable(lo: number, _hi: number, level: number): number {
      if (lo === 0) return bug === 'zero-is-software' && level === 1 ? -2 : -1;
      if (bug === 'next-table-for-software' && level === 2 && !(lo & P) && (lo & 0xf00) === 0x500)
        return (lo & ADDR) >>> 0;
      if (level === 2 && lo & P && (bug === 'next-table-for-leaves' || !(lo & PS))) return (lo & ADDR) >>> 0;
      return -2;
    },
  };

  const syndromes: SyndromeCodec = {
    syndromeRegister: 'TOYFSR',
    addressRegister: 'TOYFAR',
    // The toy syndrome has kind, access (fetch bit 4) and privilege but no level.
    precision: { kind: true, level: bug === 'precision-claims-level', access: 'exact' },
    decode(syndrome: bigint) {
      if (syndrome < 0n || syndrome > 0xffffn)
        throw new DescriptorError('toy32', syndrome, 'not a fault syndrome');
      const s = Number(syndrome);
      const kind: FaultKind = s & 0x8000 ? 'non-canonical' : s & 1 ? 'permission' : 'translation';
      const access: AccessKind = s & 16 ? 2 : s & 2 ? 1 : 0;
      const privilege: PrivilegeLevel = s & 4 ? 0 : 1;
      return { exception: '#TOY', kind, level: 0, access, privilege };
    },
    describe(syndrome: bigint): readonly Field[] {
      return [{ name: 'FSR', bits: '[15:0]', value: syndrome & 0xffffn, meaning: 'toy fault status' }];
    },
    encode(fault): bigint {
      const base =
        fault.kind === 'translation'
          ? 0
          : fault.kind === 'permission'
            ? 1
            : fault.kind === 'non-canonical'
              ? 0x8000
              : -1;
      if (base < 0)
        throw new InvalidArgumentError(
          'toy fault kind',
          fault.kind,
          'translation, permission or non-canonical',
        );
      return BigInt(
        base |
          (fault.access === 1 ? 2 : 0) |
          (fault.privilege === 0 && bug !== 'syndrome-drops-user' ? 4 : 0) |
          (fault.access === 2 ? 16 : 0),
      );
    },
  };

  const createMmu = (memory: PhysicalMemory): Mmu => {
    let root = 0;
    const fault = (
      out: WalkResult,
      kind: number,
      level: number,
      access: AccessKind,
      privilege: PrivilegeLevel,
    ) => {
      if (bug === 'fault-without-descriptor-pa') out.descriptorPa = 0;
      out.ok = false;
      out.faultKind = kind;
      out.faultLevel = level;
      out.syndrome = Number(
        syndromes.encode({ kind: FAULT_KINDS[kind]!, level, access, privilege }) |
          (bug === 'syndrome-drops-user' && privilege === 0 ? 4n : 0n),
      );
      out.syndromeHi = 0;
      out.pfn = 0;
      out.perms = 0;
      out.leafLevel = 0;
      return false;
    };
    const translate = (
      vpn: number,
      access: AccessKind,
      privilege: PrivilegeLevel,
      out: WalkResult,
      trace: WalkStep[] | undefined,
      update: boolean,
    ): boolean => {
      out.reads = 0;
      out.descriptorPa = 0;
      if (bug === 'ignores-high-va-bits') vpn %= 2 ** 20;
      if (!Number.isInteger(vpn) || vpn < 0 || vpn >= 2 ** 20)
        return fault(out, Fault.NonCanonical, 0, access, privilege);
      let acc = W | U | X;
      let table = root;
      for (let level = 2; level >= 1; level--) {
        const index = level === 2 ? vpn >>> 10 : vpn & 1023;
        const dpa = table + index * 4;
        const e = memory.read32(dpa);
        out.reads++;
        out.descriptorPa = dpa;
        trace?.push({
          level,
          levelName: level === 2 ? 'PD' : 'PT',
          tablePa: table,
          index,
          descriptorPa: dpa,
          raw: BigInt(e),
          entry: codec.decode(e, 0, level),
        });
        if (!(e & P)) return fault(out, Fault.Translation, level, access, privilege);
        acc &= e;
        if (level === 2 && !(e & PS)) {
          table = (e & ADDR) >>> 0;
          continue;
        }
        const user = (acc & U) !== 0;
        let perms = Perm.KR | (acc & W ? Perm.KW : 0) | (acc & X ? Perm.KX : 0);
        if (user) perms |= Perm.UR | (acc & W ? Perm.UW : 0) | (acc & X ? Perm.UX : 0);
        if (bug === 'user-gets-kernel-perms') perms |= (perms & (Perm.KR | Perm.KW | Perm.KX)) >>> 3;
        if (!(perms & (1 << (access + 3 * privilege))))
          return fault(out, Fault.Permission, level, access, privilege);
        const next = e | A | (access === 1 ? D : 0);
        if (update && next !== e) memory.write32(dpa, next >>> 0);
        else if (!update && bug === 'probe-sets-accessed' && access === 0 && !(e & A))
          memory.write32(dpa, (e | A) >>> 0);
        if (!(next & D) && bug !== 'clean-page-writable') perms &= ~(Perm.UW | Perm.KW);
        out.ok = true;
        out.pfn = level === 2 ? ((e & ADDR_4M) >>> 12) + (vpn & 1023) : (e & ADDR) >>> 12;
        out.leafLevel = level;
        out.perms = perms;
        out.memoryType = (e >>> 8) & 3;
        out.global = (e & G) !== 0;
        out.dirty = (next & D) !== 0;
        out.faultKind = 0;
        out.faultLevel = 0;
        out.syndrome = 0;
        out.syndromeHi = 0;
        return true;
      }
      return fault(out, Fault.Translation, 1, access, privilege);
    };
    return {
      arch: description,
      memory,
      asid: 0,
      get userRoot() {
        return root;
      },
      get kernelRoot() {
        return root;
      },
      setUserRoot(rootPa: number) {
        root = rootPa;
      },
      setKernelRoot(rootPa: number) {
        root = rootPa;
      },
      walk: (vpn, access, privilege, out, trace) => translate(vpn, access, privilege, out, trace, true),
      probe: (vpn, access, privilege, out, trace) => translate(vpn, access, privilege, out, trace, false),
      registers: () =>
        bug === 'registers-not-bigints'
          ? ({ TOYROOT: root } as unknown as Record<string, bigint>)
          : { TOYROOT: BigInt(root) },
    };
  };

  const tlbOperations = (need: TlbInvalidation): readonly TlbOperation[] => {
    const nothing = bug === 'tlb-ops-do-nothing';
    if (need.scope === 'page') {
      return need.vpns.map((vpn) => ({
        name: 'INVLPG',
        operand: BigInt(vpn) << 12n,
        apply: (tlb: Tlb) => {
          if (!nothing) tlb.invalidatePage(vpn, need.asid, true, true);
        },
      }));
    }
    if (need.scope === 'asid' && !need.global) {
      return [
        { name: 'RELOAD ROOT', apply: (tlb: Tlb) => (nothing ? undefined : tlb.invalidateNonGlobal()) },
      ];
    }
    return [{ name: 'FLUSH ALL', apply: (tlb: Tlb) => (nothing ? undefined : tlb.invalidateAll()) }];
  };

  return {
    contractVersion: bug === 'old-contract-version' ? 1 : CONTRACT_VERSION,
    description,
    geometry: deriveGeometry(description),
    codec,
    syndromes,
    createMmu,
    tlbOperations,
    defaults: { userTable: OPEN_TABLE, kernelTable: OPEN_TABLE },
    swap: createSwapEntryCodec(bug === 'swap-offset-overlaps-present' ? TOY_SWAP_OVER_P : TOY_SWAP),
  };
}

/** The toy's swap PTE: type 5:1, exclusive 7, offset 31:12, P (bit 0) clear. */
const TOY_SWAP: LinuxSwapLayout = {
  name: 'toy32 swap entry',
  descriptorBytes: 4,
  typeShift: 1,
  typeBits: 5,
  offsetShift: 12,
  offsetBits: 20,
  maxOffset: 2 ** 20 - 1,
  invertOffset: false,
  flagBits: { exclusive: 7, softDirty: undefined, uffdWp: undefined },
  zeroBits: [{ name: 'P', bit: 0, meaning: 'not present' }],
};

/** The defect `swap-offset-overlaps-present`: offset in bits 19:0 (over P), type in 31:27. */
const TOY_SWAP_OVER_P: LinuxSwapLayout = {
  ...TOY_SWAP,
  typeShift: 27,
  offsetShift: 0,
  flagBits: { exclusive: 21, softDirty: undefined, uffdWp: undefined },
};
