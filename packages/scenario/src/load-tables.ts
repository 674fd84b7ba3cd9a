/**
 * Loads the translation tables of a {@link PageTableSource} into a simulated {@link PhysicalMemory}
 * (its RAM = the source's regions, sparse), so the backend's own MMU walks them synchronously.
 *
 * Starting at the roots the registers select, every table reachable through table descriptors
 * (the backend's `codec.nextTable`) is read once; a table frame the source cannot read (outside
 * its memory) is listed in `unreadable`, never followed. Loops are harmless (each table is read
 * once) and the number of tables is capped ({@link MAX_TABLES}) so a hostile image cannot make
 * the load run forever.
 */
import { hex, PhysicalMemory } from '@mmkit/core';
import { inRegions, type PageTableSource, PageTableSourceError } from './page-table-source.js';
import { loadRegime, type Regime, type RegimeOptions } from './regime.js';

/** Most distinct table frames a source may have (a 64 GiB machine mapped with 4 KiB pages needs ~32 Ki). */
export const MAX_TABLES = 1 << 18;

/** A table frame that was loaded. */
export interface LoadedTable {
  /** Physical address of the table (a PAE PDPT is 32-byte aligned, every other table 4 KiB). */
  readonly pa: number;
  /** Internal level (1 = leaf table). */
  readonly level: number;
}

/** A table descriptor whose next table could not be read. */
export interface UnreadableTable {
  /** Physical address the table descriptor (or root register) names. */
  readonly pa: number;
  /** Internal level the table would have. */
  readonly level: number;
  /** `L1[3] of 0x4028_B000`. */
  readonly from: string;
}

/** Tables of a source, loaded and ready to walk. */
export interface LoadedState extends Regime {
  /** The source the tables came from (still open: the caller closes it). */
  readonly source: PageTableSource;
  /** Simulated memory with the source's regions as RAM and every loaded table written in. */
  readonly memory: PhysicalMemory;
  /** Every reachable table, roots first (breadth first). */
  readonly tables: readonly LoadedTable[];
  /** Tables that descriptors name but the source cannot read. */
  readonly unreadable: readonly UnreadableTable[];
  /** Frames (pfn) holding a loaded table. */
  readonly tableFrames: ReadonlySet<number>;
  /** Name of internal level `level` (`L2`, `PDPT`). */
  levelName(level: number): string;
}

/** Options of {@link loadTables}. */
export interface LoadTablesOptions extends RegimeOptions {
  /**
   * Told how the load advances, for a progress bar (a live guest answers a frame per round trip;
   * a large image has tens of thousands of tables): `done` tables read of `total` known so far
   * (read plus queued: it grows as table descriptors are found). Called every
   * 16 tables and once at the end, never per descriptor.
   */
  readonly onProgress?: (done: number, total: number) => void;
}

/** {@link LoadTablesOptions.onProgress} is called once per this many tables read. */
export const LOAD_PROGRESS_TABLES = 16;

/**
 * Reads every reachable table of `source`.
 * @throws PageTableSourceError for registers that select no supported regime or more than MAX_TABLES tables.
 */
export async function loadTables(
  source: PageTableSource,
  options: LoadTablesOptions = {},
): Promise<LoadedState> {
  const onProgress = options?.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw new PageTableSourceError(`${source.name}: onProgress is not a function`);
  const ram = source.regions.map((r, i) => ({ name: `region ${i}`, start: r.start, end: r.end }));
  if (ram.length === 0) throw new PageTableSourceError(`${source.name}: holds no memory`);
  let memory: PhysicalMemory;
  try {
    memory = new PhysicalMemory({ ram, maxHostBytes: 2 ** 31 });
  } catch (e) {
    throw new PageTableSourceError(`${source.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const regime = loadRegime(
    source.name,
    source.registers,
    memory,
    options?.kernelSplit === undefined ? {} : { kernelSplit: options.kernelSplit },
  );
  const { backend } = regime;
  const d = backend.description;
  if (source.declaredArch !== undefined && source.declaredArch !== d.id) {
    throw new PageTableSourceError(
      `${source.name}: arch ${JSON.stringify(source.declaredArch)} disagrees with its registers, which select ${d.id}`,
    );
  }
  const g = backend.geometry;
  const levelName = (level: number) => d.levels[level - 1]?.name ?? `level ${level}`;
  const loadedFrames = new Set<number>();
  const tables: LoadedTable[] = [];
  const unreadable: UnreadableTable[] = [];
  const seen = new Set<string>();
  const bytes = d.descriptorBytes;
  let reads = 0;
  let lastDone = -1;
  let lastTotal = -1;
  const queue: { pa: number; level: number; from: string }[] = regime.roots.map((r) => ({
    pa: r.pa,
    level: g.rootLevel,
    from: r.name,
  }));
  while (queue.length > 0) {
    const { pa, level, from } = queue.shift()!;
    const key = `${pa}:${level}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (tables.length >= MAX_TABLES) {
      throw new PageTableSourceError(
        `${source.name}: more than ${MAX_TABLES} page tables are reachable; the tables look corrupt`,
      );
    }
    const pfn = Math.floor(pa / 4096);
    const frame = inRegions(source.regions, pfn) ? await source.readFrame(pfn) : undefined;
    if (onProgress !== undefined && ++reads % LOAD_PROGRESS_TABLES === 0) {
      lastDone = reads;
      lastTotal = reads + queue.length;
      onProgress(reads, lastTotal);
    }
    if (frame === undefined) {
      unreadable.push({ pa, level, from });
      continue;
    }
    if (!loadedFrames.has(pfn)) {
      memory.writeBytes(pfn * 4096, frame);
      loadedFrames.add(pfn);
    }
    tables.push({ pa, level });
    if (level === 1) continue;
    const count = level === g.rootLevel ? d.rootTableBytes / bytes : g.entries[level]!;
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const base = pa % 4096;
    for (let i = 0; i < count; i++) {
      const off = base + i * bytes;
      const lo = view.getUint32(off, true);
      const hi = bytes === 8 ? view.getUint32(off + 4, true) : 0;
      const next = backend.codec.nextTable(lo, hi, level);
      if (next >= 0)
        queue.push({ pa: next, level: level - 1, from: `${levelName(level)}[${i}] of ${hex(pa)}` });
    }
  }
  // The end (done = total = every table read), unless the last report already said exactly that.
  if (lastDone !== reads || lastTotal !== reads) onProgress?.(reads, reads);
  return { ...regime, source, memory, tables, unreadable, tableFrames: loadedFrames, levelName };
}
