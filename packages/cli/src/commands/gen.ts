/**
 * `mmkit gen <spec> -o <prefix>`: boot page tables from a memory-map spec, for every paging format
 * mmkit has (AArch64 4 KiB granule 48-bit VA; x86-32, PAE, 4-level, 5-level).
 *
 * The spec (JSON or YAML) names the paging format, where the tables go (`tables`: a physical
 * address), and the regions to map — each with a VA, a PA, a size and attributes — and/or a board
 * preset (`board` + `preset: kernel`: RAM identity-mapped as normal memory, MMIO windows
 * identity-mapped as device memory, the kernel image again at a higher-half VA).
 *
 * Every translation is built with the core `PageTableEditor` through the backend's codec (no
 * descriptor bits are packed here): each region is covered with the largest leaf the level
 * structure allows where VA, PA and the remaining size are aligned to it (AArch64 1 GiB and 2 MiB
 * blocks, x86 1 GiB / 2 MiB / 4 MiB pages), and on AArch64 runs of 16 aligned, physically
 * contiguous leaves of 4 KiB or 2 MiB get the Contiguous hint (arch-facts A1: 16 × 4K = 64 KiB,
 * 16 × 2M = 32 MiB; A11: every entry of the aligned group, identical attributes, consecutive
 * group-aligned output addresses). Tables are allocated one after the other from `tables`, the
 * root (AArch64: the TTBR0_EL1 root, then the TTBR1_EL1 root) first. Leaves are written with the
 * Access flag (and, when writable, dirty) set, so neither an Access-flag fault (AArch64 without
 * hardware AF, A6) nor an A/D update (x86, B7) happens on first use.
 *
 * Outputs `<prefix>.bin` (the tables as the bytes at `tables`), `<prefix>.S` (the same as GNU as
 * data plus `.equ` register values) and `<prefix>.h` (C macros: table address and size, the
 * register values to load — TTBR0_EL1/TTBR1_EL1/TCR_EL1/MAIR_EL1/SCTLR_EL1, or CR0/CR3/CR4/EFER/
 * IA32_PAT — from the backend's MMU register model).
 */
import { rmSync, writeFileSync } from 'node:fs';
import type { Board } from '@mmkit/boards';
import { BOARD_IDS, createBoard, isBoardId } from '@mmkit/boards';
import {
  type ArchBackend,
  type FrameSource,
  isMmError,
  type LeafAttributes,
  MEMORY_TYPES,
  type MemoryType,
  PageTableEditor,
  PhysicalMemory,
  permsOf,
  WalkResult,
} from '@mmkit/core';
import { ARCH_IDS, type ArchId, createBackend, isArchId } from '@mmkit/scenario';
import type { Command } from 'commander';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { formatBytes, formatTable, groupedHex } from '../format.js';
import type { Output } from '../io.js';
import { parseSize, parseU64 } from '../parse.js';
import { invalidValue, UsageError } from '../usage-error.js';
import { readText } from './text-input.js';

/** One region of a spec, validated. */
export interface GenRegion {
  readonly name: string;
  readonly va: bigint;
  readonly pa: number;
  readonly sizeBytes: number;
  readonly attrs: LeafAttributes;
}

/** A validated spec. */
export interface GenSpec {
  readonly arch: ArchId;
  /** Physical address of the first table. */
  readonly tablesPa: number;
  /** Most tables the generator may allocate. */
  readonly maxTables: number;
  /** Use the AArch64 Contiguous hint where alignment allows (default true). */
  readonly contiguous: boolean;
  readonly regions: readonly GenRegion[];
}

/** One leaf the generator wrote. */
export interface GenLeaf {
  readonly region: string;
  readonly va: bigint;
  readonly pa: number;
  /** Internal level (1 = smallest page). */
  readonly level: number;
  readonly sizeBytes: number;
  readonly contiguous: boolean;
}

/** Generated tables. */
export interface GenResult {
  readonly spec: GenSpec;
  readonly backend: ArchBackend;
  /** Memory holding only the tables (at `spec.tablesPa`). */
  readonly memory: PhysicalMemory;
  /** Every table in allocation order (= position in the image). */
  readonly tables: readonly { readonly pa: number; readonly level: number; readonly role: string }[];
  /** Root of the low half (TTBR0_EL1; the only root, CR3, on x86). */
  readonly userRoot: number;
  /** Root of the high half (TTBR1_EL1; equal to `userRoot` on x86). */
  readonly kernelRoot: number;
  readonly leaves: readonly GenLeaf[];
  /** The tables as bytes, from `spec.tablesPa`. */
  readonly image: Uint8Array;
  /** Register values to load, from the backend's MMU model. */
  readonly registers: Readonly<Record<string, bigint>>;
}

const PAGE = 4096;
const DEFAULT_MAX_TABLES = 4096;
/** Linux x86-64 `__START_KERNEL_map`: the kernel text mapping, PA 0 at this VA (arch-facts C). */
const X86_64_KERNEL_MAP = 0xffff_ffff_8000_0000n;

const SPEC_FIELDS = ['arch', 'tables', 'maxTables', 'contiguous', 'board', 'ram', 'preset', 'regions'];
const REGION_FIELDS = ['name', 'va', 'pa', 'size', 'perms', 'user', 'memory', 'global'];
const PERMS_EXPECTED = 'permissions as rwx, rw-, r-x, r--, --- (read, write, execute)';

function perms(text: unknown): { read: boolean; write: boolean; execute: boolean } | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^([r-])([w-])([x-])$/.exec(text.trim().toLowerCase());
  return m ? { read: m[1] === 'r', write: m[2] === 'w', execute: m[3] === 'x' } : undefined;
}

/** A number or a numeric string from a spec, as text for the CLI's parsers. */
function numText(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return v;
  return undefined;
}

/**
 * Parses and validates a spec (JSON or YAML).
 * @throws UsageError naming the file, the line, the region and the field, the value and what
 *   was expected.
 */
export function parseGenSpec(text: string, source: string): GenSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    intAsBigInt: true,
  });
  const where = (path: readonly (string | number)[]) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range)
        return `${source}:${lines.linePos(node.range[0]).line}`;
    }
    return source;
  };
  if (doc.errors[0]) {
    const e = doc.errors[0];
    throw new UsageError(
      `${source}:${e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line}: not valid JSON or YAML: ${e.message.split('\n')[0]}; expected a memory-map spec`,
    );
  }
  if (!isMap(doc.contents))
    throw new UsageError(`${source}: the spec is not an object; expected fields ${SPEC_FIELDS.join(', ')}`);
  let raw: Record<string, unknown>;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(
      `${source}: not valid YAML: ${(e as Error).message.split('\n')[0]}; expected a memory-map spec (every *alias needs its &anchor earlier)`,
    );
  }
  const bad = (path: (string | number)[], what: string, value: unknown, problem: string, expected: string) =>
    new UsageError(
      `${where(path)}: ${what} ${typeof value === 'string' ? JSON.stringify(value) : String(value)} ${problem}; expected ${expected}`,
    );
  for (const k of Object.keys(raw))
    if (!SPEC_FIELDS.includes(k))
      throw bad([k], 'field', k, 'is unknown', `one of: ${SPEC_FIELDS.join(', ')}`);
  const arch = raw.arch;
  if (typeof arch !== 'string' || !isArchId(arch))
    throw bad(['arch'], 'arch', arch, 'is not a paging format', `one of: ${ARCH_IDS.join(', ')}`);
  const backend = createBackend(arch);
  const num = (path: (string | number)[], what: string, v: unknown): bigint => {
    const t = numText(v);
    if (t === undefined) throw bad(path, what, v, 'is not a number', 'hex (0x…) or decimal');
    try {
      return parseU64(t, what);
    } catch (e) {
      if (e instanceof UsageError) throw new UsageError(`${where(path)}: ${e.message}`);
      throw e;
    }
  };
  const size = (path: (string | number)[], what: string, v: unknown): number => {
    const t = numText(v);
    if (t === undefined) throw bad(path, what, v, 'is not a size', 'a size such as 4K, 2M, 1G');
    try {
      if (/^0[xb]/i.test(t.trim())) {
        // Hex or binary byte counts (0x2_3000), with the same page rule as parseSize.
        const v = parseU64(t, what);
        if (v === 0n || v % BigInt(PAGE) !== 0n || v >= 1n << 52n)
          throw invalidValue(what, t, 'is not a size', 'a positive multiple of 4 KiB below 2^52');
        return Number(v);
      }
      return parseSize(t, what);
    } catch (e) {
      if (e instanceof UsageError) throw new UsageError(`${where(path)}: ${e.message}`);
      throw e;
    }
  };
  const paLimit = 2 ** backend.description.paBits;
  const physical = (path: (string | number)[], what: string, v: unknown): number => {
    const pa = num(path, what, v);
    if (pa >= BigInt(paLimit))
      throw bad(
        path,
        what,
        groupedHex(pa),
        `is beyond the ${backend.description.paBits}-bit physical address space of ${arch}`,
        `a PA below ${groupedHex(paLimit)}`,
      );
    return Number(pa);
  };
  const regions: GenRegion[] = [];
  let board: Board | undefined;
  if (raw.board !== undefined || raw.preset !== undefined) {
    if (raw.preset !== 'kernel')
      throw bad(
        ['preset'],
        'preset',
        raw.preset,
        'is not a preset',
        '"kernel" (with board: identity-mapped RAM and devices, the kernel image at a higher-half VA)',
      );
    if (typeof raw.board !== 'string' || !isBoardId(raw.board))
      throw bad(['board'], 'board', raw.board, 'is not a known board', `one of: ${BOARD_IDS.join(', ')}`);
    const ram = raw.ram === undefined ? undefined : size(['ram'], 'ram', raw.ram);
    const flavour =
      raw.board === 'pc' ? (arch === 'x86_64' || arch === 'x86_64-la57' ? '64' : '32') : undefined;
    try {
      board = createBoard(raw.board, {
        ...(ram === undefined
          ? {}
          : raw.board === 'rpi4b'
            ? { ramGiB: (ram / 2 ** 30) as 1 }
            : { ramBytes: ram }),
        ...(flavour ? { flavour } : {}),
      });
    } catch (e) {
      if (isMmError(e))
        throw bad(['ram'], 'ram', raw.ram, `is not a RAM size of board ${raw.board}`, e.message);
      throw e;
    }
    if (!board.archs.includes(arch as never))
      throw bad(
        ['arch'],
        'arch',
        arch,
        `does not run on board ${board.id}`,
        `one of: ${board.archs.join(', ')}`,
      );
    regions.push(...presetRegions(board, backend));
  }
  if (raw.regions !== undefined && !Array.isArray(raw.regions))
    throw bad(
      ['regions'],
      'regions',
      raw.regions,
      'is not a list',
      'a list of { name, va, pa, size, perms, user, memory, global }',
    );
  const list = (raw.regions ?? []) as unknown[];
  list.forEach((r, i) => {
    const at = (f?: string) => (f === undefined ? ['regions', i] : ['regions', i, f]);
    if (typeof r !== 'object' || r === null || Array.isArray(r))
      throw bad(
        at(),
        `region ${i + 1}`,
        JSON.stringify(r),
        'is not an object',
        'an object { name, va, pa, size, perms, … }',
      );
    const o = r as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!REGION_FIELDS.includes(k))
        throw bad(at(k), `region ${i + 1} field`, k, 'is unknown', `one of: ${REGION_FIELDS.join(', ')}`);
    const name = o.name === undefined ? `region ${i + 1}` : String(o.name);
    const label = `region ${JSON.stringify(name)}`;
    for (const f of ['va', 'pa', 'size'])
      if (o[f] === undefined)
        throw new UsageError(`${where(at())}: ${label} has no ${f}; expected ${f}: a number`);
    const va = num(at('va'), `${label} va`, o.va);
    const pa = physical(at('pa'), `${label} pa`, o.pa);
    const sizeBytes = size(at('size'), `${label} size`, o.size);
    if (va % BigInt(PAGE) !== 0n || pa % PAGE !== 0)
      throw bad(
        at(va % BigInt(PAGE) !== 0n ? 'va' : 'pa'),
        `${label} ${va % BigInt(PAGE) !== 0n ? 'va' : 'pa'}`,
        groupedHex(va % BigInt(PAGE) !== 0n ? va : pa),
        'is not page aligned',
        'a multiple of 4 KiB',
      );
    const kernel = perms(o.perms ?? 'rw-');
    if (!kernel) throw bad(at('perms'), `${label} perms`, o.perms, 'is not valid', PERMS_EXPECTED);
    const user = perms(o.user ?? '---');
    if (!user) throw bad(at('user'), `${label} user`, o.user, 'is not valid', PERMS_EXPECTED);
    const memoryType = (o.memory ?? 'normal-wb') as MemoryType;
    if (!backend.description.memoryTypes.includes(memoryType))
      throw bad(
        at('memory'),
        `${label} memory`,
        o.memory,
        `is not a memory type of ${arch}`,
        `one of: ${backend.description.memoryTypes.join(', ')}`,
      );
    if (o.global !== undefined && typeof o.global !== 'boolean')
      throw bad(at('global'), `${label} global`, o.global, 'is not a boolean', 'true or false');
    regions.push({
      name,
      va,
      pa,
      sizeBytes,
      attrs: leafAttrs(kernel, user, memoryType, o.global !== false),
    });
  });
  if (regions.length === 0)
    throw new UsageError(`${source}: the spec maps nothing; expected regions, or board with preset: kernel`);
  let tablesPa: number;
  if (raw.tables !== undefined) tablesPa = physical(['tables'], 'tables', raw.tables);
  else if (board) tablesPa = Math.ceil(board.kernelImage.end / PAGE) * PAGE;
  else
    throw new UsageError(
      `${source}: tables is missing; expected tables: the physical address of the first table`,
    );
  if (tablesPa % PAGE !== 0)
    throw bad(['tables'], 'tables', groupedHex(tablesPa), 'is not page aligned', 'a multiple of 4 KiB');
  let maxTables = DEFAULT_MAX_TABLES;
  if (raw.maxTables !== undefined) {
    const n = raw.maxTables;
    const v = typeof n === 'bigint' ? Number(n) : n;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > 1 << 20)
      throw bad(['maxTables'], 'maxTables', n, 'is not a table count', 'an integer from 1 to 1048576');
    maxTables = v;
  }
  if (tablesPa + maxTables * PAGE > paLimit)
    throw bad(
      ['tables'],
      'tables',
      groupedHex(tablesPa),
      `leaves no room for ${maxTables} tables below the ${backend.description.paBits}-bit PA limit`,
      'a lower address or a smaller maxTables',
    );
  if (raw.contiguous !== undefined && typeof raw.contiguous !== 'boolean')
    throw bad(['contiguous'], 'contiguous', raw.contiguous, 'is not a boolean', 'true or false');
  checkOverlaps(regions, source);
  return { arch, tablesPa, maxTables, contiguous: raw.contiguous !== false, regions };
}

function leafAttrs(
  kernel: { read: boolean; write: boolean; execute: boolean },
  user: { read: boolean; write: boolean; execute: boolean },
  memoryType: MemoryType,
  global: boolean,
): LeafAttributes {
  return {
    user,
    kernel,
    global,
    memoryType,
    accessed: true,
    dirty: kernel.write || user.write,
    software: 0,
  };
}

/** The `kernel` preset: RAM identity rwx normal-wb, MMIO identity rw- device, the kernel image at a higher-half VA. */
function presetRegions(board: Board, backend: ArchBackend): GenRegion[] {
  const d = backend.description;
  const vaEnd = d.signExtended || d.splitRoots ? d.userRange.end : d.kernelRange.end;
  const out: GenRegion[] = [];
  const device: MemoryType = d.memoryTypes.includes('device') ? 'device' : 'normal-nc';
  const rwx = { read: true, write: true, execute: true };
  const rw = { read: true, write: true, execute: false };
  const none = { read: false, write: false, execute: false };
  const k = board.kernelImage;
  const kStart = Math.floor(k.start / PAGE) * PAGE;
  const kEnd = Math.ceil(k.end / PAGE) * PAGE;
  // The higher-half VA of the kernel image: the board's (32-bit PC: 0xC010_0000), else Linux
  // x86-64 __START_KERNEL_map + PA, else the start of the AArch64 TTBR1 half + PA.
  const kva =
    k.virtualBase ??
    (d.id === 'aarch64' ? d.kernelRange.start + BigInt(kStart) : X86_64_KERNEL_MAP + BigInt(kStart));
  const high = { start: kva, end: kva + BigInt(kEnd - kStart) };
  const clip = (name: string, start: number, end: number, attrs: LeafAttributes) => {
    // Identity mappings stop at the end of the low VA space and below the kernel's window.
    let e = BigInt(end);
    if (e > vaEnd) e = vaEnd;
    if (BigInt(start) < high.end && e > high.start) e = high.start;
    if (e > BigInt(start))
      out.push({ name, va: BigInt(start), pa: start, sizeBytes: Number(e) - start, attrs });
  };
  for (const r of board.ram) clip(`ram ${r.name}`, r.start, r.end, leafAttrs(rwx, none, 'normal-wb', true));
  // MMIO windows rounded out to pages; windows that then touch or overlap (virt's 0x200-byte
  // virtio-mmio transports) become one region named after the first.
  const windows: { name: string; start: number; end: number; count: number }[] = [];
  for (const w of [...board.mmio].sort((a, b) => a.start - b.start)) {
    const s = Math.floor(w.start / PAGE) * PAGE;
    const e = Math.ceil(w.end / PAGE) * PAGE;
    const last = windows.at(-1);
    if (last && s <= last.end) {
      last.end = Math.max(last.end, e);
      last.count++;
    } else windows.push({ name: w.name, start: s, end: e, count: 1 });
  }
  // Without any no-execute control (32-bit paging) every page is executable (arch-facts B1).
  const dev = d.capabilities.noExecute ? rw : rwx;
  for (const w of windows) {
    const name = w.count > 1 ? `mmio ${w.name} (+${w.count - 1} more)` : `mmio ${w.name}`;
    if (w.end <= 2 ** d.paBits) clip(name, w.start, w.end, leafAttrs(dev, none, device, true));
  }
  out.push({
    name: 'kernel image',
    va: high.start,
    pa: kStart,
    sizeBytes: kEnd - kStart,
    attrs: leafAttrs(rwx, none, 'normal-wb', true),
  });
  return out;
}

function checkOverlaps(regions: readonly GenRegion[], source: string): void {
  const sorted = [...regions].sort((a, b) => (a.va < b.va ? -1 : a.va > b.va ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.va < a.va + BigInt(a.sizeBytes))
      throw new UsageError(
        `${source}: region ${JSON.stringify(b.name)} at VA ${groupedHex(b.va)} overlaps region ${JSON.stringify(a.name)} [${groupedHex(a.va)}, ${groupedHex(a.va + BigInt(a.sizeBytes))}); expected regions with disjoint VA ranges`,
      );
  }
}

/** Contiguous hint levels for the 4 KiB granule: L3 pages and L2 blocks (arch-facts A1). */
const CONTIGUOUS_LEVELS = [1, 2];

/**
 * Builds the tables of a spec.
 * @throws UsageError for a region the format cannot map (a VA outside its address space, a PA
 *   it cannot express, permissions it cannot encode) or more tables than `maxTables`.
 */
export function generateTables(spec: GenSpec): GenResult {
  const backend = createBackend(spec.arch);
  const d = backend.description;
  const g = backend.geometry;
  const memory = new PhysicalMemory({
    ram: [{ name: 'tables', start: spec.tablesPa, end: spec.tablesPa + spec.maxTables * PAGE }],
  });
  const editor = new PageTableEditor(backend, memory);
  const tables: { pa: number; level: number; role: string }[] = [];
  let next = spec.tablesPa;
  const freed: number[] = [];
  let role = '';
  const source: FrameSource = {
    allocTable: (level) => {
      const pa = freed.pop() ?? (next < spec.tablesPa + spec.maxTables * PAGE ? next : -1);
      if (pa < 0) return -1;
      if (pa === next) next += PAGE;
      tables.push({ pa, level, role: role || editor.levelName(level) });
      return pa;
    },
    freeTable: (pa) => {
      memory.fill(pa, PAGE, 0);
      const i = tables.findIndex((t) => t.pa === pa);
      if (i >= 0) tables.splice(i, 1);
      freed.push(pa);
    },
  };
  const tooMany = () =>
    new UsageError(
      `the spec needs more than maxTables = ${spec.maxTables} tables; expected a larger maxTables (see 'mmkit plan')`,
    );
  role = d.splitRoots ? 'TTBR0_EL1 root' : 'root';
  const userRoot = source.allocTable(g.rootLevel);
  role = 'TTBR1_EL1 root';
  const kernelRoot = d.splitRoots ? source.allocTable(g.rootLevel) : userRoot;
  role = '';
  if (userRoot < 0 || kernelRoot < 0) throw tooMany();
  const group = spec.contiguous ? d.capabilities.contiguousEntries : 0;
  const leaves: GenLeaf[] = [];
  const vaLimit = d.splitRoots || d.signExtended ? undefined : d.kernelRange.end;
  for (const r of spec.regions) {
    const end = r.va + BigInt(r.sizeBytes);
    const inLow = r.va >= d.userRange.start && end <= d.userRange.end;
    const inHigh = r.va >= d.kernelRange.start && end <= d.kernelRange.end;
    const whole = vaLimit !== undefined && end <= vaLimit;
    if (!inLow && !inHigh && !whole) {
      throw new UsageError(
        `region ${JSON.stringify(r.name)} [${groupedHex(r.va)}, ${groupedHex(end)}) is not inside one half of the ${d.name} address space; expected VAs in [${groupedHex(d.userRange.start)}, ${groupedHex(d.userRange.end)}) or [${groupedHex(d.kernelRange.start)}, ${groupedHex(d.kernelRange.end)})`,
      );
    }
    const root = d.splitRoots && inHigh ? kernelRoot : userRoot;
    let off = 0;
    while (off < r.sizeBytes) {
      const va = r.va + BigInt(off);
      const pa = r.pa + off;
      const left = r.sizeBytes - off;
      let level = 1;
      for (const l of [...g.leafLevels].sort((a, b) => b - a)) {
        const s = g.entrySizeBytes[l]!;
        if (va % BigInt(s) === 0n && pa % s === 0 && left >= s) {
          level = l;
          break;
        }
      }
      const s = g.entrySizeBytes[level]!;
      const run = group > 0 && CONTIGUOUS_LEVELS.includes(level) ? group * s : 0;
      const contiguous = run > 0 && va % BigInt(run) === 0n && pa % run === 0 && left >= run;
      const count = contiguous ? group : 1;
      for (let j = 0; j < count; j++) {
        const v = va + BigInt(j * s);
        const attrs = contiguous ? { ...r.attrs, contiguous: true } : r.attrs;
        let res: ReturnType<PageTableEditor['map']>;
        try {
          res = editor.map({ root, vpn: Number(v / BigInt(PAGE)), pa: pa + j * s, level, attrs, source });
        } catch (e) {
          if (isMmError(e))
            throw new UsageError(
              `region ${JSON.stringify(r.name)} at VA ${groupedHex(v)}: ${d.id} cannot map it (${e.message}); expected a region the format can express`,
            );
          throw e;
        }
        if (!res.ok) {
          if (res.reason === 'no-memory') throw tooMany();
          throw new UsageError(
            `region ${JSON.stringify(r.name)} at VA ${groupedHex(v)} is already mapped (${res.reason}); expected regions with disjoint VA ranges`,
          );
        }
        leaves.push({ region: r.name, va: v, pa: pa + j * s, level, sizeBytes: s, contiguous });
      }
      off += count * s;
    }
  }
  const image = memory.readBytes(spec.tablesPa, next - spec.tablesPa);
  const mmu = backend.createMmu(memory);
  mmu.setKernelRoot(kernelRoot);
  mmu.setUserRoot(userRoot, 0);
  return { spec, backend, memory, tables, userRoot, kernelRoot, leaves, image, registers: mmu.registers() };
}

/** One mismatch found by {@link verifyImage}. */
export interface VerifyProblem {
  readonly region: string;
  readonly va: bigint;
  readonly problem: string;
}

/**
 * Walks a table image back through a fresh backend MMU (the image as the only RAM, the roots the
 * registers name) and checks, at every leaf's first and last page and at each region's edges,
 * that the translation is exactly the spec's: PA, permissions for both privileges, memory type,
 * global; and that the page before and after each region is not mapped unless another region
 * covers it. Returns the problems (none when the image is right).
 */
export function verifyImage(
  spec: GenSpec,
  image: Uint8Array,
  roots: { user: number; kernel: number },
  leaves: readonly GenLeaf[],
): VerifyProblem[] {
  const backend = createBackend(spec.arch);
  const memory = new PhysicalMemory({
    ram: [{ name: 'image', start: spec.tablesPa, end: spec.tablesPa + Math.max(PAGE, image.length) }],
  });
  memory.writeBytes(spec.tablesPa, image);
  const mmu = backend.createMmu(memory);
  mmu.setKernelRoot(roots.kernel);
  mmu.setUserRoot(roots.user, 0);
  const w = new WalkResult();
  const problems: VerifyProblem[] = [];
  const check = (r: GenRegion, va: bigint) => {
    const vpn = Number(va / BigInt(PAGE));
    // Probe with the access and privilege the region allows, to read the translation itself.
    const ok = mmu.probe(vpn, 0, r.attrs.kernel.read ? 1 : 0, w);
    if (!ok) {
      problems.push({
        region: r.name,
        va,
        problem: `not mapped (fault kind ${w.faultKind} at level ${w.faultLevel})`,
      });
      return;
    }
    const pa = r.pa + Number(va - r.va);
    if (w.pfn * PAGE !== pa)
      problems.push({
        region: r.name,
        va,
        problem: `maps PA ${groupedHex(w.pfn * PAGE)}, expected ${groupedHex(pa)}`,
      });
    const got = permsOf(w.perms);
    const same = (a: { read: boolean; write: boolean; execute: boolean }, b: typeof a) =>
      a.read === b.read && a.write === b.write && a.execute === b.execute;
    if (!same(got.kernel, r.attrs.kernel) || !same(got.user, r.attrs.user))
      problems.push({
        region: r.name,
        va,
        problem: `permissions ${JSON.stringify(got)}, expected kernel ${JSON.stringify(r.attrs.kernel)} user ${JSON.stringify(r.attrs.user)}`,
      });
    if (MEMORY_TYPES[w.memoryType] !== r.attrs.memoryType)
      problems.push({
        region: r.name,
        va,
        problem: `memory type ${MEMORY_TYPES[w.memoryType]}, expected ${r.attrs.memoryType}`,
      });
    if (w.global !== r.attrs.global)
      problems.push({ region: r.name, va, problem: `global ${w.global}, expected ${r.attrs.global}` });
  };
  const covered = (va: bigint) => spec.regions.some((r) => va >= r.va && va < r.va + BigInt(r.sizeBytes));
  const byName = new Map(spec.regions.map((r) => [r.name, r]));
  for (const l of leaves) {
    const r = byName.get(l.region)!;
    check(r, l.va);
    check(r, l.va + BigInt(l.sizeBytes - PAGE));
  }
  const top = 1n << 64n;
  for (const r of spec.regions) {
    for (const va of [r.va - BigInt(PAGE), r.va + BigInt(r.sizeBytes)]) {
      if (va < 0n || va >= top || covered(va)) continue;
      const canonical =
        (va >= backend.description.userRange.start && va < backend.description.userRange.end) ||
        (va >= backend.description.kernelRange.start && va < backend.description.kernelRange.end);
      if (!canonical) continue;
      if (mmu.probe(Number(va / BigInt(PAGE)), 0, 1, w) || mmu.probe(Number(va / BigInt(PAGE)), 0, 0, w))
        problems.push({
          region: r.name,
          va,
          problem: `the page next to the region is mapped (to ${groupedHex(w.pfn * PAGE)})`,
        });
    }
  }
  return problems;
}

/** Tables per level (architecture names, root first) and leaves per size. */
export function countTables(result: GenResult) {
  const g = result.backend.geometry;
  const levels: { level: string; tables: number; leaves: number; contiguous: number; leafBytes: number }[] =
    [];
  for (let l = g.rootLevel; l >= 1; l--) {
    const name = new PageTableEditor(result.backend, result.memory).levelName(l);
    const leaves = result.leaves.filter((x) => x.level === l);
    levels.push({
      level: name,
      tables: result.tables.filter((t) => t.level === l).length,
      leaves: leaves.length,
      contiguous: leaves.filter((x) => x.contiguous).length,
      leafBytes: g.entrySizeBytes[l]!,
    });
  }
  const roots = result.userRoot === result.kernelRoot ? 1 : 2;
  return { levels, total: result.tables.length, roots, belowRoots: result.tables.length - roots };
}

function regHex(v: bigint): string {
  return `0x${v.toString(16).toUpperCase().padStart(16, '0')}`;
}

/** The `.S` include: register values as `.equ`, the tables as data. */
export function assemblerText(r: GenResult, source: string): string {
  const d = r.backend.description;
  const word = d.descriptorBytes;
  const out: string[] = [
    `/* Generated by mmkit gen from ${source}: ${d.name} page tables, ${r.tables.length} tables at PA ${groupedHex(r.spec.tablesPa)}. */`,
    `\t.equ MMKIT_TABLES_PA, ${groupedHex(r.spec.tablesPa).replace(/_/g, '')}`,
    `\t.equ MMKIT_TABLES_SIZE, 0x${r.image.length.toString(16).toUpperCase()}`,
    ...Object.entries(r.registers).map(([k, v]) => `\t.equ MMKIT_${k}, ${regHex(v)}`),
    '',
    '\t.section .rodata.mmkit_page_tables, "a"',
    '\t.balign 4096',
    '\t.globl mmkit_page_tables',
    'mmkit_page_tables:',
  ];
  const dv = new DataView(r.image.buffer, r.image.byteOffset, r.image.byteLength);
  for (const t of r.tables.slice().sort((a, b) => a.pa - b.pa)) {
    out.push(`\t/* ${t.role} at PA ${groupedHex(t.pa)} */`);
    const base = t.pa - r.spec.tablesPa;
    let zeros = 0;
    const flush = () => {
      if (zeros) out.push(`\t.fill ${zeros}, ${word}, 0`);
      zeros = 0;
    };
    for (let off = 0; off < PAGE; off += word) {
      const v = word === 8 ? dv.getBigUint64(base + off, true) : BigInt(dv.getUint32(base + off, true));
      if (v === 0n) {
        zeros++;
        continue;
      }
      flush();
      out.push(
        `\t${word === 8 ? '.quad' : '.long'} 0x${v
          .toString(16)
          .toUpperCase()
          .padStart(word * 2, '0')}`,
      );
    }
    flush();
  }
  return `${out.join('\n')}\n`;
}

/** The C header: table address, size and count, and the register values to load. */
export function headerText(r: GenResult, source: string): string {
  const d = r.backend.description;
  const guard = 'MMKIT_PAGE_TABLES_H';
  return `${[
    `/* Generated by mmkit gen from ${source}: ${d.name} page tables. */`,
    `#ifndef ${guard}`,
    `#define ${guard}`,
    '',
    `/* ${r.tables.length} tables of 4 KiB at PA ${groupedHex(r.spec.tablesPa)} (the .bin image / mmkit_page_tables in the .S). */`,
    `#define MMKIT_TABLES_PA 0x${r.spec.tablesPa.toString(16).toUpperCase()}ULL`,
    `#define MMKIT_TABLES_SIZE 0x${r.image.length.toString(16).toUpperCase()}ULL`,
    `#define MMKIT_TABLES_COUNT ${r.tables.length}`,
    '',
    '/* Register values to load (mmkit backend MMU model). */',
    ...Object.entries(r.registers).map(([k, v]) => `#define MMKIT_${k} ${regHex(v)}ULL`),
    '',
    `extern const unsigned char mmkit_page_tables[];`,
    '',
    `#endif /* ${guard} */`,
  ].join('\n')}\n`;
}

/** Options of `gen`. */
export interface GenCliOptions {
  readonly output?: string;
  readonly json?: boolean;
}

function writeOut(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw invalidValue(
      'output file',
      path,
      `cannot be written (${(e as NodeJS.ErrnoException).code ?? 'unwritable'})`,
      'a writable path',
    );
  }
}

/** Reads and parses a spec file (`-`: stdin). */
export async function readGenSpec(file: string, out: Output): Promise<GenSpec> {
  return parseGenSpec(await readText(file, out.io, 'spec file'), file === '-' ? '<stdin>' : file);
}

/** The body of `gen`: builds, verifies against the spec by walking the image, writes the three files. */
export async function genCommand(file: string, opts: GenCliOptions, out: Output): Promise<void> {
  const spec = await readGenSpec(file, out);
  const r = generateTables(spec);
  const problems = verifyImage(spec, r.image, { user: r.userRoot, kernel: r.kernelRoot }, r.leaves);
  if (problems.length > 0) {
    const p = problems[0]!;
    throw new Error(
      `generated tables do not walk back to the spec: region ${p.region} at ${groupedHex(p.va)}: ${p.problem}`,
    );
  }
  const prefix = opts.output!;
  const files = [`${prefix}.bin`, `${prefix}.S`, `${prefix}.h`];
  const contents = [r.image, assemblerText(r, file), headerText(r, file)];
  // All three or none: a failed write removes the files this run already wrote.
  const written: string[] = [];
  try {
    files.forEach((f, i) => {
      writeOut(f, contents[i]!);
      written.push(f);
    });
  } catch (e) {
    for (const f of written) rmSync(f, { force: true });
    throw e;
  }
  const counts = countTables(r);
  if (opts.json) {
    out.json({
      arch: spec.arch,
      tablesPa: BigInt(spec.tablesPa),
      tables: counts.total,
      imageBytes: r.image.length,
      files,
      registers: r.registers,
      levels: counts.levels,
    });
    return;
  }
  const s = out.style;
  out.line(
    s.bold(
      `${r.backend.description.name}: ${counts.total} tables (${formatBytes(r.image.length)}) at PA ${groupedHex(spec.tablesPa)}`,
    ),
  );
  out.line(
    `${r.leaves.length} leaves for ${spec.regions.length} regions; walked back through the MMU: every leaf translates as the spec says`,
  );
  out.line();
  for (const [k, v] of Object.entries(r.registers)) out.line(`  ${k.padEnd(10)} ${regHex(v)}`);
  out.line();
  for (const f of files) out.line(`wrote ${f}`);
}

/** Registers `gen` on `program`. */
export function registerGen(program: Command, out: () => Output): Command {
  return program
    .command('gen')
    .summary('generate boot page tables from a memory-map spec (.bin, .S, .h)')
    .description(
      'Generate boot page tables from a memory-map spec (JSON or YAML: arch, tables PA, regions with va, pa, size, ' +
        'perms, user, memory, global; or board + preset: kernel): the largest blocks and the AArch64 Contiguous hint ' +
        'where alignment allows, tables placed at the PA you choose. Writes <prefix>.bin, <prefix>.S and <prefix>.h ' +
        '(with the register values to load).',
    )
    .argument('<spec>', 'memory-map spec (.json, .yaml), or - for standard input')
    .requiredOption('-o, --output <prefix>', 'output prefix: writes <prefix>.bin, <prefix>.S, <prefix>.h')
    .option('--json', 'print a JSON summary')
    .action(async (file: string, opts: GenCliOptions) => {
      await genCommand(file, opts, out());
    });
}

/** Renders `plan`'s table. */
export function planLines(r: GenResult, out: Output): string[] {
  const c = countTables(r);
  const rows = c.levels.map((l) => [
    l.level,
    String(l.tables),
    l.leaves === 0
      ? '-'
      : `${l.leaves} × ${formatBytes(l.leafBytes)}${l.contiguous ? ` (${l.contiguous} in contiguous groups)` : ''}`,
  ]);
  return [
    out.style.bold(`${r.backend.description.name}: ${r.spec.regions.length} regions`),
    '',
    ...formatTable([{ header: 'level' }, { header: 'tables' }, { header: 'leaves' }], rows, out.style),
    '',
    `total ${c.total} tables (${formatBytes(c.total * PAGE)}): ${c.roots === 1 ? 'the root' : `${c.roots} roots (TTBR0_EL1, TTBR1_EL1)`} and ${c.belowRoots} below`,
    `TF-A: MAX_XLAT_TABLES must be at least ${c.belowRoots} (its base table is separate; one translation regime)`,
  ];
}
