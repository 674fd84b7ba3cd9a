/**
 * The kernel address space, built once at boot: the linear map of every RAM range and MMIO window
 * (global, kernel-only, no execute), the optional low identity map of seed `003_…` and its
 * recursive root slot.
 *
 * ```
 *  linearMapBase + PA   every RAM range, Normal write-back, kernel RW, no execute, global
 *  linearMapBase + PA   every MMIO window, Device (or the backend's fallback), kernel RW, global
 * ```
 * The linear map ends where the kernel half ends (or at the recursive slot): on 32-bit x86 that is
 * 1 GiB − 4 MiB of RAM; the rest is listed in `unmappedPhysical` (highmem).
 *
 * Ownership: the kernel root and every table below it belong to the kernel (owner -1). No CPU runs
 * while they are built, so the edits leave nothing to invalidate.
 */
import {
  type ArchBackend,
  type FrameSource,
  hex,
  type MemoryType,
  memoryTypeFallback,
  NoMemoryError,
  type PageTableEditor,
  type PhysicalMemory,
  vaOf,
} from '@mmkit/core';
import type { AttributeChooser, MappingRequest } from './attributes.js';
import type { MachineDescription } from './machine.js';
import { checkArch, checkedAddress, invalidArgument } from './syscalls.js';

/** What building the kernel space needs. */
export interface KernelSpaceBuild {
  readonly arch: ArchBackend;
  readonly machine: MachineDescription;
  readonly memory: PhysicalMemory;
  readonly editor: PageTableEditor;
  readonly attrs: AttributeChooser;
  readonly source: FrameSource;
  readonly kernelRoot: number;
  readonly linearMapBase: bigint;
  readonly recursiveSlot: number;
  /** Page number that index 0 of the kernel root maps. */
  readonly kernelBaseVpn: number;
}

/** A physical range left out of the linear map, and why. */
export interface UnmappedRange {
  readonly start: number;
  readonly end: number;
  readonly what: string;
}

/**
 * The memory type MMIO is mapped with: `device` when the backend declares it, else the closest it
 * declares (uncached normal memory, then write-through, then write-back: core's
 * `memoryTypeFallback`), as Linux's ioremap falls back on hardware without device types.
 */
export function deviceMemoryType(arch: ArchBackend): MemoryType {
  checkArch(arch);
  return memoryTypeFallback(arch.description, 'device');
}

const NONE = { read: false, write: false, execute: false };
const RW = { read: true, write: true, execute: false };

/**
 * Validates the linear-map base: page aligned, in the kernel half, and leaving room for at least
 * one page. @throws InvalidArgumentError naming the value.
 */
export function checkLinearMapBase(arch: ArchBackend, value: unknown): bigint {
  const d = arch.description;
  const base = checkedAddress(value as bigint, 'linearMapBase');
  const page = BigInt(2 ** d.pageShift);
  if (base < d.kernelRange.start || base >= d.kernelRange.end) {
    throw invalidArgument(
      'linearMapBase',
      hex(base),
      `an address in the kernel half ${hex(d.kernelRange.start)}..${hex(d.kernelRange.end)}`,
    );
  }
  if (base % page !== 0n) {
    throw invalidArgument('linearMapBase', hex(base), `an address aligned to ${page} bytes`);
  }
  return base;
}

/** Validates a recursive root slot (see `KernelOptions.recursiveSlot`); -1 for none. */
export function checkRecursiveSlot(arch: ArchBackend, editor: PageTableEditor, slot: unknown): number {
  if (slot === undefined) return -1;
  const d = arch.description;
  const n = d.rootTableBytes / d.descriptorBytes;
  const root = d.levels[d.levels.length - 1]!;
  const below = d.levels[d.levels.length - 2]!;
  const sameFormat =
    root.indexBits === below.indexBits && d.rootTableBytes === 2 ** below.indexBits * d.descriptorBytes;
  if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= n) {
    throw invalidArgument('recursiveSlot', slot, `a root index 0..${n - 1}`);
  }
  if (d.splitRoots || !sameFormat) {
    throw invalidArgument(
      'recursiveSlot',
      slot,
      `a single-root format whose root has the format of ${below.name} (${d.id} has not)`,
    );
  }
  if (vaOf(editor.rootEntryVpn(slot, 0)) < d.kernelRange.start) {
    throw invalidArgument(
      'recursiveSlot',
      slot,
      `an index in the kernel half (≥ ${hex(d.kernelRange.start)})`,
    );
  }
  return slot;
}

/** Points root entry `slot` of `root` at `root` itself (kernel-only, no execute where expressible). */
export function installRecursive(
  arch: ArchBackend,
  editor: PageTableEditor,
  root: number,
  slot: number,
): void {
  editor.writeEntry(
    editor.entryPa(root, slot),
    { kind: 'table', pa: root, attrs: arch.defaults.kernelTable },
    arch.geometry.rootLevel,
  );
}

/** Builds the linear map of RAM and MMIO; returns the physical ranges the kernel half cannot hold. */
export function buildLinearMap(b: KernelSpaceBuild): UnmappedRange[] {
  const d = b.arch.description;
  const pageBytes = 2 ** d.pageShift;
  const kernelRw: MappingRequest = { user: NONE, kernel: RW, memoryType: 'normal-wb', global: true };
  const deviceRw: MappingRequest = {
    user: NONE,
    kernel: RW,
    memoryType: deviceMemoryType(b.arch),
    global: true,
  };
  let vaEnd = d.kernelRange.end;
  if (b.recursiveSlot >= 0) vaEnd = vaOf(b.editor.rootEntryVpn(b.recursiveSlot, b.kernelBaseVpn));
  const limit = vaEnd - b.linearMapBase;
  const unmapped: UnmappedRange[] = [];
  const mapCapped = (start: number, end: number, req: MappingRequest, what: string) => {
    const cap = limit < BigInt(end) ? Number(limit > 0n ? limit : 0n) : end;
    if (cap < end) unmapped.push({ start: Math.max(start, cap), end, what });
    if (start < cap) mapKernelRange(b, start, cap, req, what);
  };
  for (const r of b.machine.ram) mapCapped(r.start, r.end, kernelRw, 'linear map');
  for (const w of b.machine.mmio) {
    const start = Math.floor(w.start / pageBytes) * pageBytes;
    const end = Math.ceil(w.end / pageBytes) * pageBytes;
    mapCapped(start, end, deviceRw, `device ${w.name}`);
  }
  return unmapped;
}

/** Maps [startPa, endPa) at linearMapBase + pa with the largest leaves that fit. */
function mapKernelRange(
  b: KernelSpaceBuild,
  startPa: number,
  endPa: number,
  req: MappingRequest,
  what: string,
) {
  const g = b.arch.geometry;
  const pageBytes = 2 ** b.arch.description.pageShift;
  const leafLevels = [...g.leafLevels].sort((x, y) => y - x);
  const baseVpn = Number(b.linearMapBase / BigInt(pageBytes));
  let pa = startPa;
  while (pa < endPa) {
    let mapped = false;
    for (const level of leafLevels) {
      const size = g.entrySizeBytes[level]!;
      if (pa % size !== 0 || pa + size > endPa) continue;
      const vpn = baseVpn + pa / pageBytes;
      // The VA must be aligned to the leaf too (a linear map base aligned only to a page).
      if (vpn % g.entryPages[level]! !== 0) continue;
      const res = b.editor.map({
        root: b.kernelRoot,
        vpn,
        pa,
        level,
        attrs: b.attrs.leaf(req, level),
        tableAttrs: b.arch.defaults.kernelTable,
        source: b.source,
      });
      if (!res.ok && res.reason === 'no-memory') throw new NoMemoryError(`kernel tables (${what})`);
      pa += size;
      mapped = true;
      break;
    }
    if (!mapped) throw invalidArgument(what, hex(pa), 'a page-aligned range');
  }
}

/**
 * The low identity map (VA = PA, kernel RWX, not global) in `root` — the root used while no
 * process runs; the null page stays unmapped (seed `003_…`).
 */
export function buildIdentityMap(b: KernelSpaceBuild, root: number, bytes: unknown): void {
  const d = b.arch.description;
  const pageBytes = 2 ** d.pageShift;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0 || bytes % pageBytes !== 0) {
    throw invalidArgument('identityMapBytes', bytes, `a non-negative multiple of ${pageBytes}`);
  }
  // Pages past the end of RAM are never mapped: stop there, so a huge request is not walked page
  // by page through address space that has no memory.
  const ramEnd = b.memory.ram.reduce((m, r) => Math.max(m, r.end), 0);
  const end = Math.min(bytes, Number(d.userRange.end), ramEnd);
  const attrs = b.attrs.leaf({
    user: NONE,
    kernel: { read: true, write: true, execute: true },
    memoryType: 'normal-wb',
    global: false,
  });
  for (let pa = pageBytes; pa < end; pa += pageBytes) {
    if (!b.memory.isRam(pa)) continue;
    const res = b.editor.map({
      root,
      vpn: pa / pageBytes,
      pa,
      level: 1,
      attrs,
      tableAttrs: b.arch.defaults.kernelTable,
      source: b.source,
    });
    if (!res.ok && res.reason === 'no-memory') throw new NoMemoryError('the identity map');
  }
}
