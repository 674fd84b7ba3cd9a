/**
 * Inspection: the translation-state export (tables as raw bytes with their
 * physical addresses plus the registers that select them, as JSON an
 * emulator or debugger can load) and a per-level page-table dump with
 * effective permissions (as the walker computes them, table restrictions
 * and regime controls included).
 */
import {
  type AccessKind,
  formatPerms,
  hex,
  isLeafDirty,
  MEMORY_TYPES,
  type NeutralEntry,
  PAGE_SIZE,
  type PrivilegeLevel,
  permBit,
  vaOf,
  WalkResult,
} from '@mmkit/core';
import type { Kernel } from './kernel.js';
import type { Process } from './process.js';
import { checkKernel, invalidArgument } from './syscalls.js';

/** One table frame in an export. */
export interface ExportedTable {
  /** Physical address, hex. */
  readonly pa: string;
  /** The architecture's level name. */
  readonly level: string;
  /** `kernel` or `pid N`. */
  readonly owner: string;
  /** The table's bytes, lower-case hex, little-endian as in memory. */
  readonly bytes: string;
}

/** The translation state of a process (with the kernel half) or of the kernel alone. */
export interface TranslationState {
  readonly format: 'mmkit-translation-state/1';
  readonly arch: string;
  readonly machine: string;
  readonly pid: number | null;
  readonly asid: number;
  /** Register values that select these tables (e.g. TTBR0_EL1 with the ASID, TTBR1_EL1, TCR_EL1, MAIR_EL1, SCTLR_EL1). */
  readonly registers: Readonly<Record<string, string>>;
  /** Every table reachable from the loaded roots, each once (user tables first, then the kernel's). */
  readonly tables: readonly ExportedTable[];
  /**
   * Table descriptors whose next-table address is not RAM (a corrupted or foreign table): what a
   * walk through them would read is not there. The export keeps everything else.
   */
  readonly unreadable: readonly { readonly pa: string; readonly level: string; readonly from: string }[];
}

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Builds an MMU loaded with a process's (or only the kernel's) tables, for registers and probes. */
function mmuFor(kernel: Kernel, proc: Process | undefined) {
  const mmu = kernel.arch.createMmu(kernel.memory);
  mmu.setKernelRoot(kernel.kernelRoot);
  mmu.setUserRoot(proc && proc.root !== 0 ? proc.root : kernel.emptyUserRoot, proc?.asid ?? 0);
  return mmu;
}

/**
 * Exports the translation state of `proc` (its tables plus the kernel's), or of the kernel alone
 * (the root loaded while no process runs — with the identity map below it, if any — and the
 * kernel tables): every table reachable from the roots the registers select, so the export loaded
 * alone into an emulator translates exactly as the kernel does. Tables are read tolerantly: a
 * descriptor pointing outside RAM is listed in `unreadable`, never a thrown BusError, and a table
 * reachable twice (or through a loop) is exported once.
 */
export function exportTranslationState(kernel: Kernel, proc?: Process): TranslationState {
  checkKernel(kernel);
  if (proc !== undefined) kernel.live(proc);
  const { editor, arch, memory } = kernel;
  const d = arch.description;
  const g = arch.geometry;
  const tables: ExportedTable[] = [];
  const unreadable: { pa: string; level: string; from: string }[] = [];
  const seen = new Set<number>();
  const slot = kernel.recursiveSlot;
  const visit = (pa: number, level: number, owner: string, skipUserHalf: boolean) => {
    if (seen.has(pa)) return;
    seen.add(pa);
    const isRoot = level === g.rootLevel;
    const size = isRoot ? d.rootTableBytes : PAGE_SIZE;
    tables.push({
      pa: hex(pa),
      level: editor.levelName(level),
      owner,
      bytes: toHex(memory.readBytes(pa, size)),
    });
    if (level === 1) return;
    const n = size / d.descriptorBytes;
    // Single-root formats: start at the kernel half of the root when asked to.
    const first = isRoot && skipUserHalf ? kernelFirst : 0;
    for (let i = first; i < n; i++) {
      if (isRoot && i === slot) continue;
      const [lo, hi] = editor.readRaw(editor.entryPa(pa, i));
      const next = arch.codec.nextTable(lo, hi, level);
      if (next < 0) continue;
      if (!memory.isRam(next) || !memory.isRam(next + PAGE_SIZE - 1)) {
        unreadable.push({
          pa: hex(next),
          level: editor.levelName(level - 1),
          from: `${editor.levelName(level)}[${i}] of ${hex(pa)}`,
        });
        continue;
      }
      visit(next, level - 1, owner, false);
    }
  };
  const rootEntries = d.rootTableBytes / d.descriptorBytes;
  const kernelFirst =
    Math.floor(Number(d.kernelRange.start >> BigInt(d.pageShift)) / g.entryPages[g.rootLevel]!) % rootEntries;
  const running = proc !== undefined && proc.root !== 0;
  // Kernel tables first (so tables shared with a process root are labelled as the kernel's),
  // then the process's; the result lists the process's tables first.
  if (d.splitRoots) {
    visit(kernel.kernelRoot, g.rootLevel, 'kernel', false);
    // While no process runs, TTBR0 holds the empty user root (and the identity map below it).
    if (!running) visit(kernel.emptyUserRoot, g.rootLevel, 'kernel', false);
  } else {
    // One root covers both halves; while no process runs its user half holds the identity map.
    visit(kernel.kernelRoot, g.rootLevel, 'kernel', running);
  }
  const kernelCount = tables.length;
  if (running) visit(proc.root, g.rootLevel, `pid ${proc.pid}`, false);
  const ordered = [...tables.slice(kernelCount), ...tables.slice(0, kernelCount)];
  tables.length = 0;
  tables.push(...ordered);
  const regs: Record<string, string> = {};
  for (const [k, v] of Object.entries(mmuFor(kernel, proc).registers())) regs[k] = hex(v, 16);
  return {
    format: 'mmkit-translation-state/1',
    arch: d.id,
    machine: kernel.machine.id,
    pid: proc?.pid ?? null,
    asid: proc?.asid ?? 0,
    registers: regs,
    tables,
    unreadable,
  };
}

/** One line of a page-table dump. */
export interface DumpLine {
  readonly depth: number;
  readonly level: string;
  readonly index: number;
  readonly va: bigint;
  readonly descriptorPa: number;
  readonly raw: bigint;
  readonly entry: NeutralEntry;
  /** Effective permissions from a real walk (leaves only). */
  readonly effective?: string;
  /**
   * The swap entry a non-present leaf-level PTE holds (a swapped-out page), as `arch.swap`
   * decodes it: type, offset and the SWP_EXCLUSIVE bit.
   */
  readonly swap?: { readonly type: number; readonly offset: number; readonly exclusive: boolean };
  /**
   * Leaves only: whether Linux's `pte_dirty` holds — the hardware dirty state or, on arm64, the
   * software `PTE_DIRTY` of a write-protected dirty page (core `isLeafDirty`).
   */
  readonly dirty?: boolean;
  /**
   * Leaves only: whether the leaf is special (Linux `pte_special`: the backend's
   * `capabilities.softwareSpecial` bit — the zero page, device memory).
   */
  readonly special?: boolean;
}

/**
 * Dumps the user tables of `proc` level by level: every present entry with its index, the
 * VA it covers, the raw descriptor and, for leaves, the effective permissions the walker
 * grants (a side-effect-free probe for each access kind and privilege).
 */
export function dumpPageTable(kernel: Kernel, proc: Process): DumpLine[] {
  checkKernel(kernel);
  kernel.live(proc);
  const lines: DumpLine[] = [];
  if (proc.root === 0) return lines;
  const { editor, arch } = kernel;
  const g = arch.geometry;
  const specialBit = arch.description.capabilities.softwareSpecial ?? 0;
  const mmu = mmuFor(kernel, proc);
  const r = new WalkResult();
  const { start, end } = kernel.userVpnRange;
  const visit = (table: number, level: number, baseVpn: number, depth: number, bytes: number) => {
    const per = g.entryPages[level]!;
    const n = bytes / arch.description.descriptorBytes;
    for (let i = 0; i < n; i++) {
      const vpn = baseVpn + i * per;
      if (vpn + per <= start || vpn >= end) continue;
      const dpa = editor.entryPa(table, i);
      const [lo, hi] = editor.readRaw(dpa);
      if (lo === 0 && hi === 0) continue;
      const entry = arch.codec.decode(lo, hi, level);
      const swapEntry = entry.kind === 'leaf' ? undefined : arch.swap?.decode(lo, hi, level);
      let effective: string | undefined;
      if (entry.kind === 'leaf') {
        let mask = 0;
        for (let p = 0 as PrivilegeLevel; p <= 1; p = (p + 1) as PrivilegeLevel) {
          for (let a = 0 as AccessKind; a <= 2; a = (a + 1) as AccessKind) {
            if (mmu.probe(vpn, a, p, r)) mask |= permBit(a, p);
          }
        }
        effective = `${formatPerms(mask)} ${MEMORY_TYPES[r.memoryType] ?? ''}`.trim();
      }
      lines.push({
        depth,
        level: editor.levelName(level),
        index: i,
        va: vaOf(vpn),
        descriptorPa: dpa,
        raw: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0),
        entry,
        ...(effective ? { effective } : {}),
        ...(entry.kind === 'leaf'
          ? {
              dirty: isLeafDirty(arch.description, entry.attrs),
              special: (entry.attrs.software & specialBit) !== 0,
            }
          : {}),
        ...(swapEntry
          ? { swap: { type: swapEntry.type, offset: swapEntry.offset, exclusive: swapEntry.exclusive } }
          : {}),
      });
      if (entry.kind === 'table') visit(entry.pa, level - 1, vpn, depth + 1, PAGE_SIZE);
    }
  };
  visit(proc.root, g.rootLevel, 0, 0, arch.description.rootTableBytes);
  return lines;
}

/**
 * Formats a dump as indented text lines: a leaf shows its output address, effective permissions,
 * `AF`, `dirty` (Linux `pte_dirty`, {@link DumpLine.dirty}), `special` and `global` / `nG`.
 */
export function formatDump(lines: readonly DumpLine[]): string[] {
  if (!Array.isArray(lines)) throw invalidArgument('lines', lines, 'the DumpLine[] dumpPageTable returned');
  return lines.map((l, i) => {
    if (
      l === null ||
      typeof l !== 'object' ||
      typeof l.va !== 'bigint' ||
      typeof l.raw !== 'bigint' ||
      l.entry === null ||
      typeof l.entry !== 'object'
    )
      throw invalidArgument(`lines[${i}]`, l, 'a DumpLine (dumpPageTable)');
    const entry = l.entry as { kind?: unknown; pa?: unknown; attrs?: unknown };
    if (
      (entry.kind === 'table' || entry.kind === 'leaf') &&
      (!Number.isSafeInteger(entry.pa) || entry.attrs === null || typeof entry.attrs !== 'object')
    )
      throw invalidArgument(`lines[${i}].entry`, l.entry, 'a NeutralEntry (dumpPageTable)');
    const pad = '  '.repeat(l.depth);
    const head = `${pad}${l.level}[${l.index}] va ${hex(l.va, 12)} ${hex(l.raw, 16)}`;
    const e = l.entry;
    if (e.kind === 'table') return `${head} → table at ${hex(e.pa)}`;
    if (e.kind === 'leaf')
      return `${head} → ${hex(e.pa)} ${l.effective ?? ''}${e.attrs.accessed ? ' AF' : ''}${(l.dirty ?? e.attrs.dirty) ? ' dirty' : ''}${l.special === true ? ' special' : ''}${e.attrs.global ? ' global' : ' nG'}`;
    const sw = l.swap as { type?: unknown; offset?: unknown; exclusive?: unknown } | undefined;
    if (sw !== undefined && typeof sw === 'object' && sw !== null)
      return `${head} swap entry (type ${String(sw.type)}, offset ${String(sw.offset)}, ${sw.exclusive === true ? 'exclusive' : 'not exclusive'})`;
    if (e.kind === 'software') return `${head} software payload ${e.payload}`;
    return `${head} ${e.kind}`;
  });
}
