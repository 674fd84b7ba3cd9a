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
  readonly tables: readonly ExportedTable[];
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

/** Exports the translation state of `proc` (its tables plus the kernel's), or of the kernel alone. */
export function exportTranslationState(kernel: Kernel, proc?: Process): TranslationState {
  const { editor, arch } = kernel;
  const d = arch.description;
  const tables: ExportedTable[] = [];
  const seen = new Set<number>();
  const add = (pa: number, level: number, owner: string) => {
    if (seen.has(pa)) return;
    seen.add(pa);
    const size = level === arch.geometry.rootLevel ? d.rootTableBytes : PAGE_SIZE;
    tables.push({
      pa: hex(pa),
      level: editor.levelName(level),
      owner,
      bytes: toHex(kernel.memory.readBytes(pa, size)),
    });
  };
  if (proc && proc.root !== 0) {
    const { start, end } = kernel.userVpnRange;
    for (const t of editor.tableFrames({ root: proc.root, startVpn: start, endVpn: end }))
      add(t.pa, t.level, `pid ${proc.pid}`);
  } else if (d.splitRoots) {
    add(kernel.emptyUserRoot, arch.geometry.rootLevel, 'kernel');
  }
  const kStart = d.splitRoots ? 0 : Number(d.kernelRange.start >> 12n);
  const slot = kernel.recursiveSlot;
  for (const t of editor.tableFrames({
    root: kernel.kernelRoot,
    // On split-root formats the kernel root's own space starts at its baseVpn.
    startVpn: d.splitRoots ? undefined : kStart,
    baseVpn: kernel.kernelRootBaseVpn,
    skipRootIndex: slot,
  })) {
    add(t.pa, t.level, 'kernel');
  }
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
}

/**
 * Dumps the user tables of `proc` level by level: every present entry with its index, the
 * VA it covers, the raw descriptor and, for leaves, the effective permissions the walker
 * grants (a side-effect-free probe for each access kind and privilege).
 */
export function dumpPageTable(kernel: Kernel, proc: Process): DumpLine[] {
  const lines: DumpLine[] = [];
  if (proc.root === 0) return lines;
  const { editor, arch } = kernel;
  const g = arch.geometry;
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
      });
      if (entry.kind === 'table') visit(entry.pa, level - 1, vpn, depth + 1, PAGE_SIZE);
    }
  };
  visit(proc.root, g.rootLevel, 0, 0, arch.description.rootTableBytes);
  return lines;
}

/** Formats a dump as indented text lines. */
export function formatDump(lines: readonly DumpLine[]): string[] {
  return lines.map((l) => {
    const pad = '  '.repeat(l.depth);
    const head = `${pad}${l.level}[${l.index}] va ${hex(l.va, 12)} ${hex(l.raw, 16)}`;
    const e = l.entry;
    if (e.kind === 'table') return `${head} → table at ${hex(e.pa)}`;
    if (e.kind === 'leaf')
      return `${head} → ${hex(e.pa)} ${l.effective ?? ''}${e.attrs.accessed ? ' AF' : ''}${e.attrs.dirty ? ' dirty' : ''}${e.attrs.global ? ' global' : ' nG'}`;
    if (e.kind === 'software') return `${head} software payload ${e.payload}`;
    return `${head} ${e.kind}`;
  });
}
