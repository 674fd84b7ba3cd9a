/**
 * Conformance checks of a backend's MMU walker on hand-built tables: every leaf
 * level, every representable permission set, both halves of the address space,
 * unmapped and non-canonical addresses, hardware accessed/dirty updates, and the
 * agreement between walk faults and the syndrome codec.
 */
import {
  ACCESS_NAMES,
  type AccessKind,
  type ArchBackend,
  FAULT_KINDS,
  Fault,
  formatPerms,
  join64,
  type LeafAttributes,
  MEMORY_TYPES,
  type MmuOptions,
  Perm,
  PRIVILEGE_NAMES,
  type PrivilegeLevel,
  permBit,
  permMask,
  split64,
  syndromeMismatches,
  type TableAttributes,
  WalkResult,
  type WalkStep,
} from '@mmkit/core';
import { findLeafAttributes, levelLabel } from './codec-checks.js';
import { permissionPairs } from './combinations.js';
import { attempt, capProblems, sameEntry, stableStringify } from './compare.js';
import { createWalkHarness, type WalkHarness } from './fixtures.js';

/** Options of the walker checks. */
export interface WalkerCheckOptions {
  /** RAM for the tables (default: 16 MiB at 0x4000_0000). */
  readonly ram?: { readonly start: number; readonly end: number };
  /** Options passed to createMmu. The checks assume they add no regime restriction (no PAN/SMAP/WXN …). */
  readonly mmuOptions?: MmuOptions;
}

const ACCESSES: readonly AccessKind[] = [0, 1, 2];
const PRIVILEGES: readonly PrivilegeLevel[] = [0, 1];

function describeResult(out: WalkResult): string {
  if (out.ok) return `ok pfn ${out.pfn} level ${out.leafLevel} perms ${formatPerms(out.perms)}`;
  return `${FAULT_KINDS[out.faultKind] ?? out.faultKind} fault at level ${out.faultLevel}, syndrome 0x${join64(out.syndrome, out.syndromeHi).toString(16)}`;
}

/**
 * The syndrome of a faulted walk is what `syndromes.encode` gives for the walk's fault, and it
 * decodes to something compatible with the walk's fault under the declared
 * `syndromes.precision`: the kind when `precision.kind`; a level of 0 ("not reported") or the
 * walk's level; the access (a fetch may decode as a read unless `precision.access` is `exact`;
 * anything goes with `none`); the privilege. That the precision itself is true is
 * {@link checkSyndromePrecision}'s job.
 */
export function checkFaultSyndrome(
  backend: ArchBackend,
  out: WalkResult,
  access: AccessKind,
  privilege: PrivilegeLevel,
  label: string,
): string[] {
  const p: string[] = [];
  const raw = join64(out.syndrome, out.syndromeHi);
  const kind = FAULT_KINDS[out.faultKind];
  const decoded = attempt(() => backend.syndromes.decode(raw));
  if (!decoded.ok) return [`${label}: syndrome 0x${raw.toString(16)} does not decode: ${decoded.message}`];
  const d = decoded.value;
  const precision = backend.syndromes.precision;
  if (precision.kind && d.kind !== kind)
    p.push(`${label}: syndrome decodes to kind ${d.kind}, walk says ${kind}`);
  if (d.level !== 0 && d.level !== out.faultLevel)
    p.push(`${label}: syndrome level ${d.level}, walk level ${out.faultLevel}`);
  const accessUnreported =
    precision.access === 'none' || (precision.access === 'no-fetch' && access === 2 && d.access === 0);
  if (d.access !== access && !accessUnreported)
    p.push(`${label}: syndrome access ${ACCESS_NAMES[d.access]}, expected ${ACCESS_NAMES[access]}`);
  if (d.privilege !== privilege) {
    p.push(
      `${label}: syndrome privilege ${PRIVILEGE_NAMES[d.privilege]}, expected ${PRIVILEGE_NAMES[privilege]}`,
    );
  }
  if (kind) {
    const enc = attempt(() => backend.syndromes.encode({ kind, level: out.faultLevel, access, privilege }));
    if (!enc.ok) p.push(`${label}: syndromes.encode refused the walk's fault: ${enc.message}`);
    else if (enc.value !== raw)
      p.push(`${label}: syndromes.encode gives 0x${enc.value.toString(16)}, the walk 0x${raw.toString(16)}`);
  }
  return p;
}

/** A trace has one step per descriptor read, from the root down, each decoded as the codec decodes it. */
function checkTrace(
  backend: ArchBackend,
  trace: readonly WalkStep[],
  out: WalkResult,
  lastLevel: number,
  label: string,
): string[] {
  const p: string[] = [];
  if (trace.length !== out.reads) p.push(`${label}: trace has ${trace.length} steps, reads = ${out.reads}`);
  if (trace[0]?.level !== backend.geometry.rootLevel)
    p.push(`${label}: trace does not start at the root level`);
  if (trace.at(-1)?.level !== lastLevel)
    p.push(`${label}: trace ends at level ${trace.at(-1)?.level}, expected ${lastLevel}`);
  for (const s of trace) {
    const [lo, hi] = split64(s.raw);
    if (!sameEntry(s.entry, backend.codec.decode(lo, hi, s.level)))
      p.push(`${label}: trace step at level ${s.level} mis-decoded`);
  }
  return p;
}

/**
 * The permission bits a table entry with `t` leaves to the leaves below it (a {@link Perm} mask):
 * noUser removes every user right, readOnly every write, noExecuteUser / noExecuteKernel the
 * execute rights. Backends whose leaves set every execute-never bit they do not grant (as the
 * mmkit codecs do) combine table and leaf rights this way.
 */
export function tableRestriction(t: TableAttributes): number {
  let mask = Perm.UR | Perm.UW | Perm.UX | Perm.KR | Perm.KW | Perm.KX;
  if (t.noUser) mask &= ~(Perm.UR | Perm.UW | Perm.UX);
  if (t.readOnly) mask &= ~(Perm.UW | Perm.KW);
  if (t.noExecuteUser) mask &= ~Perm.UX;
  if (t.noExecuteKernel) mask &= ~Perm.KX;
  return mask;
}

/** Page-number bases of an aligned slot of `sizeBytes` in the user half and in the kernel half (if it fits). */
export function sampleSlots(
  backend: ArchBackend,
  sizeBytes: number,
): { half: 'user' | 'kernel'; vpn: number }[] {
  const d = backend.description;
  const s = BigInt(sizeBytes);
  const out: { half: 'user' | 'kernel'; vpn: number }[] = [];
  if (3n * s <= d.userRange.end) out.push({ half: 'user', vpn: Number((2n * s) >> 12n) });
  const kStart = ((d.kernelRange.start + s - 1n) / s) * s;
  if (kStart + 3n * s <= d.kernelRange.end)
    out.push({ half: 'kernel', vpn: Number((kStart + 2n * s) >> 12n) });
  return out;
}

function leafEntry(h: WalkHarness, vpn: number, level: number): LeafAttributes | undefined {
  const ref = h.editor.lookup(h.rootFor(vpn), vpn);
  return ref.level === level && ref.entry.kind === 'leaf' ? ref.entry.attrs : undefined;
}

/**
 * For one leaf level: every representable user × kernel permission set is mapped (user half
 * non-global, kernel half global) and walked at the first and last page for read/write/fetch ×
 * user/kernel; results (ok, pfn, level, perms, memory type, global, trace) must agree with the
 * attributes, and permission faults with the syndrome codec. After unmapping, the same page
 * takes a translation fault at that level.
 */
export function checkWalkerLeafLevel(
  backend: ArchBackend,
  level: number,
  options: WalkerCheckOptions = {},
): string[] {
  const p: string[] = [];
  const h = createWalkHarness(backend, options);
  const size = backend.geometry.entrySizeBytes[level]!;
  const pages = backend.geometry.entryPages[level]!;
  const pa = size * 4 <= 2 ** backend.description.paBits ? size * 3 : 0;
  const label0 = levelLabel(backend, level);
  const out = new WalkResult();
  let mapped = 0;
  for (const slot of sampleSlots(backend, size)) {
    const root = h.rootFor(slot.vpn);
    const tableAttrs = slot.half === 'user' ? backend.defaults.userTable : backend.defaults.kernelTable;
    for (const { user, kernel } of permissionPairs()) {
      const global = slot.half === 'kernel';
      const attrs = findLeafAttributes(
        backend,
        level,
        { global },
        (a) => a.user === user && a.kernel === kernel,
      );
      if (!attrs) continue;
      const mask = permMask(attrs.user, attrs.kernel) & tableRestriction(tableAttrs);
      const label = `${label0} ${slot.half} half, ${formatPerms(mask)}`;
      const map = attempt(() =>
        h.editor.map({ root, vpn: slot.vpn, pa, level, attrs, tableAttrs, source: h.frames }),
      );
      if (!map.ok || !map.value.ok) {
        p.push(`${label}: map failed: ${map.ok ? stableStringify(map.value) : map.message}`);
        continue;
      }
      mapped++;
      for (const vpn of new Set([slot.vpn, slot.vpn + pages - 1])) {
        for (const access of ACCESSES) {
          for (const privilege of PRIVILEGES) {
            const what = `${label}, ${ACCESS_NAMES[access]} by ${PRIVILEGE_NAMES[privilege]} at vpn ${vpn}`;
            const trace: WalkStep[] = [];
            const ok = h.mmu.walk(vpn, access, privilege, out, trace);
            const allowed = (mask & permBit(access, privilege)) !== 0;
            if (ok !== out.ok) p.push(`${what}: walk returned ${ok} but out.ok = ${out.ok}`);
            if (ok !== allowed) {
              p.push(
                `${what}: expected ${allowed ? 'success' : 'a permission fault'}, got ${describeResult(out)}`,
              );
              continue;
            }
            p.push(...checkTrace(backend, trace, out, level, what));
            if (ok) {
              const pfn = pa / 4096 + (vpn - slot.vpn);
              if (out.pfn !== pfn) p.push(`${what}: pfn ${out.pfn}, expected ${pfn}`);
              if (out.leafLevel !== level) p.push(`${what}: leafLevel ${out.leafLevel}`);
              if (out.perms !== mask)
                p.push(`${what}: perms ${formatPerms(out.perms)}, expected ${formatPerms(mask)}`);
              const type = MEMORY_TYPES.indexOf(attrs.memoryType);
              if (out.memoryType !== type) p.push(`${what}: memoryType ${out.memoryType}, expected ${type}`);
              if (out.global !== attrs.global) p.push(`${what}: global ${out.global}`);
            } else {
              if (out.faultKind !== Fault.Permission)
                p.push(`${what}: fault kind ${FAULT_KINDS[out.faultKind]}, expected permission`);
              if (out.faultLevel !== level)
                p.push(`${what}: fault level ${out.faultLevel}, expected ${level}`);
              p.push(...checkFaultSyndrome(backend, out, access, privilege, what));
            }
          }
        }
      }
      const removed = h.editor.unmap(root, slot.vpn, h.asid);
      if (!removed) p.push(`${label}: unmap found no leaf`);
      for (const access of ACCESSES) {
        for (const privilege of PRIVILEGES) {
          const what = `${label0} ${slot.half} half after unmap, ${ACCESS_NAMES[access]} by ${PRIVILEGE_NAMES[privilege]}`;
          if (h.mmu.walk(slot.vpn, access, privilege, out)) {
            p.push(`${what}: still translates`);
            continue;
          }
          if (out.faultKind !== Fault.Translation)
            p.push(`${what}: fault kind ${FAULT_KINDS[out.faultKind]}`);
          if (out.faultLevel !== level) p.push(`${what}: fault level ${out.faultLevel}, expected ${level}`);
          p.push(...checkFaultSyndrome(backend, out, access, privilege, what));
        }
      }
    }
  }
  if (mapped === 0) p.push(`${label0}: no permission set could be mapped`);
  return capProblems(p);
}

/**
 * With empty roots every address of both halves takes a translation fault at the root level,
 * after reading exactly one descriptor, the root entry (`reads` = 1 and `descriptorPa` = its
 * address, where a kernel would install a table), with a consistent syndrome.
 */
export function checkUnmapped(backend: ArchBackend, options: WalkerCheckOptions = {}): string[] {
  const p: string[] = [];
  const h = createWalkHarness(backend, options);
  const out = new WalkResult();
  const root = backend.geometry.rootLevel;
  for (const slot of sampleSlots(backend, 4096)) {
    for (const access of ACCESSES) {
      for (const privilege of PRIVILEGES) {
        const what = `unmapped ${slot.half}-half vpn ${slot.vpn}, ${ACCESS_NAMES[access]} by ${PRIVILEGE_NAMES[privilege]}`;
        if (h.mmu.walk(slot.vpn, access, privilege, out)) {
          p.push(`${what}: translates`);
          continue;
        }
        if (out.faultKind !== Fault.Translation)
          p.push(`${what}: fault kind ${FAULT_KINDS[out.faultKind]}, expected translation`);
        if (out.faultLevel !== root)
          p.push(`${what}: fault level ${out.faultLevel}, expected the root level ${root}`);
        if (out.reads !== 1) p.push(`${what}: ${out.reads} descriptors read, expected 1 (the root entry)`);
        const entryPa =
          h.rootFor(slot.vpn) +
          backend.geometry.indexOf(slot.vpn, root) * backend.description.descriptorBytes;
        if (out.descriptorPa !== entryPa)
          p.push(`${what}: descriptorPa ${out.descriptorPa}, expected the root entry at ${entryPa}`);
        p.push(...checkFaultSyndrome(backend, out, access, privilege, what));
      }
    }
  }
  return p;
}

/** Addresses outside both halves (in the 64-bit space) never translate, whatever is mapped. */
export function checkNonCanonical(backend: ArchBackend, options: WalkerCheckOptions = {}): string[] {
  const p: string[] = [];
  const d = backend.description;
  const h = createWalkHarness(backend, options);
  const out = new WalkResult();
  // Map the first page of each half so that a walker ignoring the top bits would translate.
  const attrs = findLeafAttributes(backend, 1);
  if (attrs) {
    for (const [start, tables] of [
      [d.userRange.start, backend.defaults.userTable],
      [d.kernelRange.start, backend.defaults.kernelTable],
    ] as const) {
      const vpn = Number(start >> 12n);
      // Without these pages the check proves less, so a page that cannot be mapped is a problem
      // (e.g. a root smaller than its description says: the editor refuses the pages beyond it).
      const m = attempt(() =>
        h.editor.map({
          root: h.rootFor(vpn),
          vpn,
          pa: 0x1000,
          level: 1,
          attrs,
          tableAttrs: tables,
          source: h.frames,
        }),
      );
      if (!m.ok) p.push(`cannot map the first page of a half (vpn ${vpn}): ${m.message}`);
      else if (!m.value.ok) p.push(`cannot map the first page of a half (vpn ${vpn}): ${m.value.reason}`);
    }
  }
  const inside = (va: bigint) =>
    (va >= d.userRange.start && va < d.userRange.end) ||
    (va >= d.kernelRange.start && va < d.kernelRange.end);
  const candidates = [
    d.userRange.end,
    d.userRange.end + 0x1000n,
    d.kernelRange.start - 0x1000n,
    d.kernelRange.end,
    1n << 63n,
    (1n << 63n) + 0x1000n,
    0x5555_5555_5555_5000n,
  ].filter((va) => va >= 0n && va < 1n << 64n && !inside(va));
  for (const va of new Set(candidates)) {
    const vpn = Number(va >> 12n);
    for (const access of ACCESSES) {
      for (const privilege of PRIVILEGES) {
        if (h.mmu.walk(vpn, access, privilege, out)) {
          p.push(
            `address 0x${va.toString(16)} outside both halves translates (${ACCESS_NAMES[access]} by ${PRIVILEGE_NAMES[privilege]})`,
          );
        }
      }
    }
  }
  return p;
}

/**
 * A leaf mapped with `accessed = false`: with hardware accessed-flag management a walk succeeds
 * and sets it (a probe does not); without, the walk takes an access-flag fault at the leaf level.
 */
export function checkAccessedFlag(backend: ArchBackend, options: WalkerCheckOptions = {}): string[] {
  const p: string[] = [];
  for (const level of backend.geometry.leafLevels) {
    const label = `${levelLabel(backend, level)} accessed flag`;
    const attrs = findLeafAttributes(
      backend,
      level,
      { accessed: false },
      (a) => !a.user.write && !a.kernel.write && (a.user.read || a.kernel.read),
    );
    if (!attrs) continue;
    const h = createWalkHarness(backend, options);
    const slot = sampleSlots(backend, backend.geometry.entrySizeBytes[level]!)[0];
    if (!slot) continue;
    const allowed = permMask(attrs.user, attrs.kernel) & tableRestriction(backend.defaults.userTable);
    if (!(allowed & (Perm.UR | Perm.KR))) continue;
    const privilege: PrivilegeLevel = allowed & Perm.KR ? 1 : 0;
    h.editor.map({
      root: h.rootFor(slot.vpn),
      vpn: slot.vpn,
      pa: 0,
      level,
      attrs,
      tableAttrs: backend.defaults.userTable,
      source: h.frames,
    });
    const out = new WalkResult();
    const hw = options.mmuOptions?.hardwareAccessFlag ?? backend.description.capabilities.hardwareAccessFlag;
    if (hw) {
      if (!h.mmu.probe(slot.vpn, 0, privilege, out)) p.push(`${label}: probe faults: ${describeResult(out)}`);
      if (leafEntry(h, slot.vpn, level)?.accessed !== false) p.push(`${label}: probe changed the leaf`);
      if (!h.mmu.walk(slot.vpn, 0, privilege, out)) p.push(`${label}: walk faults: ${describeResult(out)}`);
      if (leafEntry(h, slot.vpn, level)?.accessed !== true)
        p.push(`${label}: walk did not set the accessed flag`);
    } else {
      if (h.mmu.walk(slot.vpn, 0, privilege, out))
        p.push(`${label}: walk succeeded without hardware accessed-flag management`);
      else {
        if (out.faultKind !== Fault.AccessFlag)
          p.push(`${label}: fault kind ${FAULT_KINDS[out.faultKind]}, expected access-flag`);
        if (out.faultLevel !== level) p.push(`${label}: fault level ${out.faultLevel}, expected ${level}`);
        p.push(...checkFaultSyndrome(backend, out, 0, privilege, label));
      }
      if (leafEntry(h, slot.vpn, level)?.accessed !== false)
        p.push(`${label}: a faulting walk changed the leaf`);
    }
  }
  return p;
}

/**
 * With hardware dirty management, a writable clean leaf: a read walk succeeds without write
 * permission in `perms` and leaves it clean; a write probe leaves it clean; a write walk
 * succeeds, reports write permission and makes the leaf dirty.
 */
export function checkDirtyState(backend: ArchBackend, options: WalkerCheckOptions = {}): string[] {
  const p: string[] = [];
  const caps = backend.description.capabilities;
  const hwAccessed = options.mmuOptions?.hardwareAccessFlag ?? caps.hardwareAccessFlag;
  const hwDirty = options.mmuOptions?.hardwareDirty ?? caps.hardwareDirty;
  // The codec encodes clean writable leaves for the backend's own setting; skip when the MMU differs.
  if (!caps.hardwareDirty || !hwDirty || !hwAccessed) return p;
  for (const level of backend.geometry.leafLevels) {
    const label = `${levelLabel(backend, level)} dirty state`;
    const attrs = findLeafAttributes(backend, level, { dirty: false }, (a) => a.user.write || a.kernel.write);
    if (!attrs) continue;
    const h = createWalkHarness(backend, options);
    const slot = sampleSlots(backend, backend.geometry.entrySizeBytes[level]!)[0];
    if (!slot) continue;
    const allowed = permMask(attrs.user, attrs.kernel) & tableRestriction(backend.defaults.userTable);
    if (!(allowed & (Perm.UW | Perm.KW))) continue;
    const privilege: PrivilegeLevel = allowed & Perm.KW ? 1 : 0;
    const canRead = (allowed & permBit(0, privilege)) !== 0;
    const writeBit = permBit(1, privilege);
    h.editor.map({
      root: h.rootFor(slot.vpn),
      vpn: slot.vpn,
      pa: 0,
      level,
      attrs,
      tableAttrs: backend.defaults.userTable,
      source: h.frames,
    });
    const out = new WalkResult();
    if (canRead) {
      if (!h.mmu.walk(slot.vpn, 0, privilege, out))
        p.push(`${label}: read walk faults: ${describeResult(out)}`);
      else {
        if (out.perms & writeBit)
          p.push(`${label}: a clean leaf reports write permission (${formatPerms(out.perms)})`);
        if (out.dirty) p.push(`${label}: a read walk reports the leaf dirty`);
      }
      if (leafEntry(h, slot.vpn, level)?.dirty !== false) p.push(`${label}: a read walk made the leaf dirty`);
    }
    if (!h.mmu.probe(slot.vpn, 1, privilege, out))
      p.push(`${label}: write probe faults: ${describeResult(out)}`);
    if (leafEntry(h, slot.vpn, level)?.dirty !== false) p.push(`${label}: a probe made the leaf dirty`);
    if (!h.mmu.walk(slot.vpn, 1, privilege, out))
      p.push(`${label}: write walk faults: ${describeResult(out)}`);
    else {
      if (!(out.perms & writeBit))
        p.push(`${label}: after the write, perms lack write (${formatPerms(out.perms)})`);
      if (!out.dirty) p.push(`${label}: after the write, out.dirty is false`);
    }
    if (leafEntry(h, slot.vpn, level)?.dirty !== true)
      p.push(`${label}: the write walk did not make the leaf dirty`);
  }
  return p;
}

/** registers() returns at least one register, every value a bigint. */
export function checkRegisters(backend: ArchBackend, options: WalkerCheckOptions = {}): string[] {
  const h = createWalkHarness(backend, options);
  const regs = h.mmu.registers();
  const names = Object.keys(regs);
  const p: string[] = [];
  if (names.length === 0) p.push('registers() is empty');
  for (const n of names) if (typeof regs[n] !== 'bigint') p.push(`register ${n} is not a bigint`);
  return p;
}

/**
 * The declared `syndromes.precision` is true, on faults the walker really takes (translation
 * faults at the root and, after unmapping, at every leaf level; permission faults at every leaf
 * level): each walk syndrome decodes as {@link syndromeMismatches} requires — the kind when
 * `precision.kind`; the walk's level when `precision.level`, else 0; a fetch as a fetch with
 * `exact`, as a read with `no-fetch`, every access as a read with `none`; the privilege.
 */
export function checkSyndromePrecision(backend: ArchBackend, options: WalkerCheckOptions = {}): string[] {
  const p: string[] = [];
  const precision = backend.syndromes.precision;
  const h = createWalkHarness(backend, options);
  const out = new WalkResult();
  let faults = 0;
  const judge = (vpn: number, access: AccessKind, privilege: PrivilegeLevel, what: string) => {
    if (h.mmu.walk(vpn, access, privilege, out)) return;
    const kind = FAULT_KINDS[out.faultKind];
    if (!kind) return;
    faults++;
    const raw = join64(out.syndrome, out.syndromeHi);
    const decoded = attempt(() => backend.syndromes.decode(raw));
    if (!decoded.ok) {
      p.push(`${what}: syndrome 0x${raw.toString(16)} does not decode: ${decoded.message}`);
      return;
    }
    const expected = { kind, level: out.faultLevel, access, privilege };
    for (const m of syndromeMismatches(precision, decoded.value, expected))
      p.push(
        `${what} (${kind} fault at level ${out.faultLevel}): syndrome 0x${raw.toString(16)} decodes to ${m}`,
      );
  };
  const everyAccess = (vpn: number, what: string) => {
    for (const access of ACCESSES)
      for (const privilege of PRIVILEGES)
        judge(vpn, access, privilege, `${what}, ${ACCESS_NAMES[access]} by ${PRIVILEGE_NAMES[privilege]}`);
  };
  for (const slot of sampleSlots(backend, 4096))
    everyAccess(slot.vpn, `unmapped ${slot.half}-half vpn ${slot.vpn}`);
  for (const level of backend.geometry.leafLevels) {
    const size = backend.geometry.entrySizeBytes[level]!;
    // The least permissive readable leaf: the other accesses take permission faults.
    const attrs = [...permissionPairs()]
      .reverse()
      .map(({ user, kernel }) =>
        findLeafAttributes(backend, level, {}, (a) => a.user === user && a.kernel === kernel),
      )
      .find((a) => a !== undefined && (a.user.read || a.kernel.read));
    const slot = sampleSlots(backend, size)[0];
    if (!attrs || !slot) continue;
    const root = h.rootFor(slot.vpn);
    const map = attempt(() =>
      h.editor.map({
        root,
        vpn: slot.vpn,
        pa: 0,
        level,
        attrs,
        tableAttrs: backend.defaults.userTable,
        source: h.frames,
      }),
    );
    if (!map.ok || !map.value.ok) {
      p.push(`${levelLabel(backend, level)}: map failed`);
      continue;
    }
    everyAccess(
      slot.vpn,
      `${levelLabel(backend, level)} leaf ${formatPerms(permMask(attrs.user, attrs.kernel))}`,
    );
    h.editor.unmap(root, slot.vpn, h.asid);
    everyAccess(slot.vpn, `${levelLabel(backend, level)} after unmap`);
  }
  if (faults === 0) p.push('no walk faulted: nothing to judge the precision by');
  return capProblems(p);
}
