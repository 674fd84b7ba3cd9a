/**
 * Turns board data into an immutable {@link Board}: checks the memory map
 * (sorted, page-aligned RAM; MMIO windows that overlap neither RAM nor each
 * other) and adds `createMemory` and `describe`.
 */
import type { MmioWindow, PhysicalRegion } from '@mmkit/core';
import { groupedHex, InvalidArgumentError, PAGE_SIZE, PhysicalMemory } from '@mmkit/core';
import { formatPa, formatRange, formatSize } from './format.js';
import type { AllocatorPoolPlan, Board, BoardArch, BoardDevices, BoardId, KernelImage } from './types.js';

/** The data a board factory provides. */
export interface BoardSpec {
  readonly id: BoardId;
  readonly name: string;
  readonly ram: readonly PhysicalRegion[];
  readonly mmio: readonly MmioWindow[];
  readonly consoleWindow: string;
  readonly kernelImage: KernelImage;
  readonly pool: AllocatorPoolPlan;
  /** Paging formats the board runs, the default first. Default `['aarch64']`. */
  readonly archs?: readonly [BoardArch, ...BoardArch[]];
  /** Extra lines `describe()` prints after the pool plan (e.g. the pc's e820 map). */
  readonly describeExtra?: readonly string[];
}

/**
 * Builds a frozen {@link Board} from its data.
 * @throws InvalidArgumentError if the memory map is inconsistent (a bug in the board data).
 */
export function defineBoard(spec: BoardSpec): Board {
  const ram = Object.freeze(
    [...spec.ram]
      .sort((a, b) => a.start - b.start)
      .map((r) => Object.freeze({ name: r.name, start: r.start, end: r.end })),
  );
  const mmio = Object.freeze(
    [...spec.mmio]
      .sort((a, b) => a.start - b.start)
      .map((w) => Object.freeze({ name: w.name, start: w.start, end: w.end })),
  );
  checkMap(spec.id, ram, mmio);
  if (!mmio.some((w) => w.name === spec.consoleWindow)) {
    throw new InvalidArgumentError(
      `${spec.id} console window`,
      spec.consoleWindow,
      'the name of an MMIO window',
    );
  }
  const windowNames = new Set(mmio.map((w) => w.name));
  const kernelImage: KernelImage = Object.freeze(
    spec.kernelImage.virtualBase === undefined
      ? { start: spec.kernelImage.start, end: spec.kernelImage.end }
      : {
          start: spec.kernelImage.start,
          end: spec.kernelImage.end,
          virtualBase: spec.kernelImage.virtualBase,
        },
  );
  const archs = Object.freeze([...(spec.archs ?? (['aarch64'] as const))]);
  const describeExtra = Object.freeze([...(spec.describeExtra ?? [])]);

  const board: Board = {
    id: spec.id,
    name: spec.name,
    ram,
    mmio,
    consoleWindow: spec.consoleWindow,
    kernelImage,
    defaultArch: archs[0]!,
    archs,
    pool: spec.pool,
    createMemory(devices?: BoardDevices): PhysicalMemory {
      const attach = devices ?? {};
      for (const name of Object.keys(attach)) {
        if (!windowNames.has(name)) {
          throw new InvalidArgumentError(
            `${spec.id} device window`,
            name,
            `the name of an MMIO window of ${spec.name} (e.g. ${[...windowNames].slice(0, 12).join(', ')}, …)`,
          );
        }
      }
      const windows = mmio.map((w) => {
        const device = attach[w.name];
        return device ? { ...w, device } : w;
      });
      return new PhysicalMemory({ ram, mmio: windows });
    },
    describe(): string {
      return [describeBoard(spec.name, ram, mmio, kernelImage, spec.pool), ...describeExtra].join('\n');
    },
  };
  return Object.freeze(board);
}

function checkMap(id: BoardId, ram: readonly PhysicalRegion[], mmio: readonly MmioWindow[]): void {
  let prev = -1;
  for (const r of ram) {
    if (r.start % PAGE_SIZE !== 0 || r.end % PAGE_SIZE !== 0 || r.end <= r.start || r.start < prev) {
      throw new InvalidArgumentError(
        `${id} RAM ${r.name}`,
        formatRange(r.start, r.end),
        'page-aligned, sorted, disjoint',
      );
    }
    prev = r.end;
  }
  let prevWindow: MmioWindow | undefined;
  for (const w of mmio) {
    if (w.end <= w.start || (prevWindow !== undefined && w.start < prevWindow.end)) {
      throw new InvalidArgumentError(
        `${id} MMIO window ${w.name}`,
        formatRange(w.start, w.end),
        'non-empty, disjoint windows',
      );
    }
    if (ram.some((r) => w.start < r.end && r.start < w.end)) {
      throw new InvalidArgumentError(
        `${id} MMIO window ${w.name}`,
        formatRange(w.start, w.end),
        'a window outside RAM',
      );
    }
    prevWindow = w;
  }
}

/** Collapses runs of windows named `prefix.N` (N consecutive) into one line. */
function describeLines(ram: readonly PhysicalRegion[], mmio: readonly MmioWindow[]): string[] {
  const entries = [
    ...ram.map((r) => ({ start: r.start, end: r.end, kind: 'RAM ', name: r.name })),
    ...mmio.map((w) => ({ start: w.start, end: w.end, kind: 'MMIO', name: w.name })),
  ].sort((a, b) => a.start - b.start);
  const rows: [string, string, string, string][] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const m = /^(.*)\.(\d+)$/.exec(e.name);
    let j = i;
    if (m) {
      while (j + 1 < entries.length) {
        const next = entries[j + 1]!;
        if (next.name !== `${m[1]}.${Number(m[2]) + (j + 1 - i)}` || next.start !== entries[j]!.end) break;
        j++;
      }
    }
    const last = entries[j]!;
    const name = j > i ? `${e.name} … ${last.name} (${j - i + 1} × ${formatSize(e.end - e.start)})` : e.name;
    rows.push([formatRange(e.start, last.end), formatSize(last.end - e.start), e.kind, name]);
    i = j;
  }
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const lines = rows.map((r) => `  ${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}  ${r[3]}`);
  return lines;
}

function describeBoard(
  name: string,
  ram: readonly PhysicalRegion[],
  mmio: readonly MmioWindow[],
  kernelImage: KernelImage,
  pool: AllocatorPoolPlan,
): string {
  const ramBytes = ram.reduce((n, r) => n + r.end - r.start, 0);
  const poolFrames = pool.ranges.reduce((n, r) => n + (r.end - r.start) / PAGE_SIZE, 0);
  const out = [
    `${name}`,
    `RAM ${formatSize(ramBytes)} in ${ram.length} range(s); kernel image ${formatRange(kernelImage.start, kernelImage.end)} ` +
      `(${formatSize(kernelImage.end - kernelImage.start)}), loaded at ${formatPa(kernelImage.start)}` +
      (kernelImage.virtualBase === undefined
        ? ''
        : `, linked at virtual ${groupedHex(kernelImage.virtualBase, 8)}`),
    'Physical memory map:',
    ...describeLines(ram, mmio),
    `Page allocator pool (${pool.mode}): ${pool.ranges.map((r) => formatRange(r.start, r.end)).join(', ')} = ${poolFrames} frames`,
    ...pool.reservations.map(
      (r) => `  reserved ${formatRange(r.start, r.end)} (${formatSize(r.end - r.start)}): ${r.reason}`,
    ),
    ...pool.notes.map((n) => `  note: ${n}`),
  ];
  return out.join('\n');
}
