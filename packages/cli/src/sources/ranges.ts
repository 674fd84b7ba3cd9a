/**
 * Every leaf of a loaded source, as Linux's ptdump shows them: neighbouring leaves with identical
 * attributes (and contiguous output addresses) merged into ranges; the checks `dump --check`
 * runs; and the difference between two sources as ranges.
 *
 * Effective permissions come from the backend's MMU (`probe` for each access and privilege, so
 * table restrictions and the regime's controls are folded in exactly as the hardware does);
 * accessed, dirty, global, software bits and the contiguous hint from the backend's codec.
 */
import {
  type AccessKind,
  BusError,
  FAULT_KINDS,
  formatPerms,
  formatSize,
  hex,
  MEMORY_TYPES,
  Perm,
  type PrivilegeLevel,
  signExtend,
  WalkResult,
} from '@mmkit/core';
import { SourceError } from './source.js';
import type { LoadedState } from './tables.js';

/**
 * Most present entries a dump visits by default before it gives up: tables shared along many
 * paths multiply them (a 4 GiB linear map in 4 KiB pages is 2^20 entries). `--max-entries`
 * raises it.
 */
export const MAX_ENTRIES = 1 << 20;

/** A table entry that points back to a table on its own path (a loop, or a recursive mapping). */
export interface TableLoop {
  /** `PML4[510] of 0x1000`. */
  readonly entry: string;
  /** The table it points back to. */
  readonly table: number;
  readonly va: bigint;
}

/** One leaf (page or block), or a merged run of them. */
export interface MappedRange {
  /** `user` or `kernel`: the half of the address space the range lies in. */
  readonly half: 'user' | 'kernel';
  readonly start: bigint;
  readonly end: bigint;
  /** Output address of `start`. */
  readonly pa: bigint;
  /** Level name of the leaves (`L3`, `PD`). */
  readonly level: string;
  /** Bytes one leaf maps. */
  readonly leafBytes: number;
  /** Effective permissions, {@link Perm} mask. */
  readonly perms: number;
  readonly memoryType: string;
  readonly global: boolean;
  readonly accessed: boolean;
  readonly dirty: boolean;
  readonly software: number;
  readonly contiguous: boolean;
  /** A fault every access takes (reserved bit, access flag, address size), or null. */
  readonly fault: string | null;
}

function attrKey(r: MappedRange, ignoreAd = false): string {
  return [
    r.level,
    r.perms,
    r.memoryType,
    r.global,
    ignoreAd ? '' : r.accessed,
    ignoreAd ? '' : r.dirty,
    r.software,
    r.contiguous,
    r.fault,
  ].join('|');
}

/**
 * Every leaf reachable from the roots, in VA order (TTBR0 then TTBR1 on AArch64).
 * @throws SourceError if the tables hold more than {@link MAX_ENTRIES} present entries.
 */
export function collectLeaves(
  state: LoadedState,
  options: { readonly maxEntries?: number; readonly loops?: TableLoop[] } = {},
): MappedRange[] {
  const maxEntries = options.maxEntries ?? MAX_ENTRIES;
  const path = new Set<number>();
  const { backend, memory, mmu } = state;
  const d = backend.description;
  const g = backend.geometry;
  const out: MappedRange[] = [];
  const r = new WalkResult();
  let visited = 0;
  const half = (va: bigint): 'user' | 'kernel' =>
    va >= d.kernelRange.start && va < d.kernelRange.end ? 'kernel' : 'user';
  const visit = (tablePa: number, level: number, base: bigint, isRoot: boolean) => {
    const n = isRoot ? d.rootTableBytes / d.descriptorBytes : g.entries[level]!;
    const size = BigInt(g.entrySizeBytes[level]!);
    for (let i = 0; i < n; i++) {
      const dpa = tablePa + i * d.descriptorBytes;
      let lo: number;
      let hi: number;
      try {
        lo = memory.read32(dpa);
        hi = d.descriptorBytes === 8 ? memory.read32(dpa + 4) : 0;
      } catch (e) {
        if (e instanceof BusError) return; // an unreadable table: listed by loadTables
        throw e;
      }
      if (lo === 0 && hi === 0) continue;
      if (++visited > maxEntries) {
        throw new SourceError(
          `${state.source.name}: more than ${maxEntries} present entries (tables shared along many paths, or corrupt); expected at most --max-entries ${maxEntries}`,
        );
      }
      let va = base + BigInt(i) * size;
      if (isRoot && d.signExtended && !d.splitRoots) va = signExtend(va, d.vaBits);
      const entry = backend.codec.decode(lo, hi, level);
      if (entry.kind === 'table') {
        if (path.has(entry.pa)) {
          // Descending would repeat the path forever (or, for a recursive slot, list the tables as pages).
          options.loops?.push({
            entry: `${state.levelName(level)}[${i}] of ${hex(tablePa)}`,
            table: entry.pa,
            va,
          });
          continue;
        }
        if (state.tableFrames.has(Math.floor(entry.pa / 4096))) {
          path.add(entry.pa);
          visit(entry.pa, level - 1, va, false);
          path.delete(entry.pa);
        }
        continue;
      }
      if (entry.kind !== 'leaf') continue;
      const vpn = Number(va >> 12n);
      let mask = 0;
      let fault: string | null = null;
      // The memory type the walk resolves (MAIR_EL1 / IA32_PAT), from the first access that
      // succeeds; the codec's when every access faults.
      let memoryType = entry.attrs.memoryType as string;
      for (let k = 0; k < 6; k++) {
        if (mmu.probe(vpn, (k % 3) as AccessKind, (k >= 3 ? 1 : 0) as PrivilegeLevel, r)) {
          if (mask === 0) memoryType = MEMORY_TYPES[r.memoryType] ?? memoryType;
          mask |= 1 << k;
        } else if (FAULT_KINDS[r.faultKind] !== 'permission') fault = FAULT_KINDS[r.faultKind]!;
      }
      if (mask !== 0) fault = null;
      const a = entry.attrs;
      out.push({
        half: half(va),
        start: va,
        end: va + size,
        pa: BigInt(entry.pa),
        level: state.levelName(level),
        leafBytes: Number(size),
        perms: mask,
        memoryType,
        global: a.global,
        accessed: a.accessed,
        dirty: a.dirty,
        software: a.software,
        contiguous: a.contiguous ?? false,
        fault,
      });
    }
  };
  const g0 = g.rootLevel;
  const root = (pa: number, base: bigint) => {
    path.add(pa);
    visit(pa, g0, base, true);
    path.delete(pa);
  };
  if (d.splitRoots) {
    root(state.roots[0]!.pa, d.userRange.start);
    root(state.roots[1]!.pa, d.kernelRange.start);
  } else {
    root(state.roots[0]!.pa, 0n);
  }
  // The single root of x86-64 lists its upper (sign-extended) half after the lower one already.
  return out;
}

/** Merges neighbouring leaves with identical attributes and contiguous output addresses. */
export function mergeRanges(leaves: readonly MappedRange[], ignoreAd = false): MappedRange[] {
  const out: MappedRange[] = [];
  let last: MappedRange | undefined;
  let lastKey = '';
  let lastEnd = 0n;
  const flush = () => {
    if (last) out.push(last.end === lastEnd ? last : { ...last, end: lastEnd });
  };
  for (const l of leaves) {
    const key = attrKey(l, ignoreAd);
    if (
      last &&
      lastEnd === l.start &&
      last.pa + (lastEnd - last.start) === l.pa &&
      last.half === l.half &&
      key === lastKey
    ) {
      lastEnd = l.end;
      continue;
    }
    flush();
    last = l;
    lastKey = key;
    lastEnd = l.end;
  }
  flush();
  return out;
}

/** The checks of `dump --check`. */
export const CHECKS = {
  'writable-executable': 'a mapping that one privilege can both write and execute',
  'user-kernel': 'a kernel-half page that user code (EL0 / CPL 3) can access',
  'executable-device': 'device memory that can be executed',
  'el0-page-tables': 'a page table mapped where user code (EL0 / CPL 3) can reach it',
} as const;
/** A check name. */
export type CheckName = keyof typeof CHECKS;

/** One finding of a check. */
export interface Finding {
  readonly check: CheckName;
  readonly start: bigint;
  readonly end: bigint;
  readonly detail: string;
}

const USER_ANY = Perm.UR | Perm.UW | Perm.UX;

/** Runs every check over `ranges`. */
export function runChecks(state: LoadedState, ranges: readonly MappedRange[]): Finding[] {
  const out: Finding[] = [];
  const tables = [...state.tableFrames].sort((a, b) => a - b);
  const firstTableAtOrAfter = (pfn: number) => {
    let lo = 0;
    let hi = tables.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tables[mid]! < pfn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (const r of ranges) {
    const p = r.perms;
    const perms = formatPerms(p);
    if ((p & Perm.UW && p & Perm.UX) || (p & Perm.KW && p & Perm.KX)) {
      out.push({ check: 'writable-executable', start: r.start, end: r.end, detail: perms });
    }
    if (r.half === 'kernel' && p & USER_ANY) {
      out.push({ check: 'user-kernel', start: r.start, end: r.end, detail: perms });
    }
    if (r.memoryType === 'device' && p & (Perm.UX | Perm.KX)) {
      out.push({
        check: 'executable-device',
        start: r.start,
        end: r.end,
        detail: `${perms} ${r.memoryType}`,
      });
    }
    if (p & USER_ANY) {
      const startPfn = Number(r.pa / 4096n);
      const endPfn = Number((r.pa + (r.end - r.start)) / 4096n);
      const i = firstTableAtOrAfter(startPfn);
      const t = tables[i];
      if (t !== undefined && t < endPfn) {
        const va = r.start + BigInt(t - startPfn) * 4096n;
        out.push({
          check: 'el0-page-tables',
          start: va,
          end: va + 4096n,
          detail: `page table at ${hex(t * 4096)} is mapped ${perms}`,
        });
      }
    }
  }
  return out;
}

/** One range of a diff. */
export interface DiffRange {
  readonly change: 'mapped' | 'unmapped' | 'changed';
  readonly start: bigint;
  readonly end: bigint;
  /** The range in A (absent for `mapped`). */
  readonly before?: DiffSide;
  /** The range in B (absent for `unmapped`). */
  readonly after?: DiffSide;
}

/** What one side of a diff maps. */
export interface DiffSide {
  readonly pa: bigint;
  readonly level: string;
  readonly attributes: string;
}

/** `user rw- kernel rw- normal-wb nG AF dirty` — the attributes a diff compares. */
export function describeAttributes(r: MappedRange, ignoreAd = false): string {
  const parts = [formatPerms(r.perms), r.memoryType, r.global ? 'G' : 'nG'];
  if (!ignoreAd) parts.push(r.accessed ? 'AF' : 'no-AF', r.dirty ? 'dirty' : 'clean');
  if (r.software) parts.push(`sw=${r.software}`);
  if (r.contiguous) parts.push('contiguous');
  if (r.fault) parts.push(`faults: ${r.fault}`);
  return parts.join(' ');
}

/**
 * What changed from leaves `a` to leaves `b` (both in VA order): ranges newly mapped, unmapped,
 * or mapped to another output address or with other attributes. Blocks and pages are compared
 * byte range by byte range, so a block split into identical pages is no change.
 */
export function diffLeaves(
  a: readonly MappedRange[],
  b: readonly MappedRange[],
  ignoreAd = false,
): DiffRange[] {
  const points = new Set<bigint>();
  for (const l of a) points.add(l.start).add(l.end);
  for (const l of b) points.add(l.start).add(l.end);
  const cuts = [...points].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const out: DiffRange[] = [];
  let ia = 0;
  let ib = 0;
  const side = (l: MappedRange, at: bigint): DiffSide => ({
    pa: l.pa + (at - l.start),
    level: l.level,
    attributes: describeAttributes(l, ignoreAd),
  });
  for (let k = 0; k + 1 < cuts.length; k++) {
    const s = cuts[k]!;
    const e = cuts[k + 1]!;
    while (ia < a.length && a[ia]!.end <= s) ia++;
    while (ib < b.length && b[ib]!.end <= s) ib++;
    const la = a[ia] && a[ia]!.start <= s ? a[ia] : undefined;
    const lb = b[ib] && b[ib]!.start <= s ? b[ib] : undefined;
    let item: DiffRange | undefined;
    if (la && !lb) item = { change: 'unmapped', start: s, end: e, before: side(la, s) };
    else if (!la && lb) item = { change: 'mapped', start: s, end: e, after: side(lb, s) };
    else if (la && lb) {
      const x = side(la, s);
      const y = side(lb, s);
      if (x.pa !== y.pa || x.attributes !== y.attributes)
        item = { change: 'changed', start: s, end: e, before: x, after: y };
    }
    if (item === undefined) continue;
    const last = out[out.length - 1];
    const cont = (p?: DiffSide, q?: DiffSide) =>
      p === undefined
        ? q === undefined
        : q !== undefined &&
          p.pa + (item!.start - last!.start) === q.pa &&
          p.attributes === q.attributes &&
          p.level === q.level;
    if (
      last &&
      last.end === item.start &&
      last.change === item.change &&
      cont(last.before, item.before) &&
      cont(last.after, item.after)
    ) {
      out[out.length - 1] = { ...last, end: item.end };
    } else out.push(item);
  }
  return out;
}

/** `4K`, `2M`, `1G` as ptdump writes sizes. */
export function shortSize(bytes: bigint): string {
  return formatSize(bytes)
    .replace(/ KiB$/, 'K')
    .replace(/ MiB$/, 'M')
    .replace(/ GiB$/, 'G')
    .replace(/ TiB$/, 'T')
    .replace(/ B$/, 'B');
}
