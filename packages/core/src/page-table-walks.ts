/**
 * The walks of {@link PageTableEditor} that build or enumerate whole paths: `map` (with the
 * rollback that makes a failed map leave no table behind), and the leaf and table enumerations
 * (`forEachLeaf`, `tableFrames`). The editor's public methods carry the documentation and
 * delegate here with its {@link EditorHost}.
 */
import { OPEN_TABLE, type TableAttributes } from './arch.js';
import {
  checkFrameSource,
  checkFunction,
  checkInt,
  checkLeafAttributes,
  checkTableAttributes,
  fields,
} from './arg-checks.js';
import type { EditorHost } from './editor-host.js';
import { InvalidArgumentError, UnrepresentableError } from './errors.js';
import type { PageTableCursor, PageTableRange } from './page-table-cursor.js';
import type {
  EnsureTableOptions,
  EnsureTableResult,
  FrameSource,
  LeafRef,
  MapOptions,
  MapResult,
  TableFrame,
} from './page-table-editor-types.js';

/** @internal {@link PageTableEditor.map}'s body (see there). */
export function map(h: EditorHost, options: MapOptions): MapResult {
  const o = fields('map options', options, [
    'root',
    'vpn',
    'pa',
    'level',
    'attrs',
    'tableAttrs',
    'source',
    'baseVpn',
  ]);
  const { root, vpn, pa } = o;
  const level = h.level('map options.level', o.level);
  const attrs = checkLeafAttributes('map options.attrs', o.attrs);
  const tableAttrs =
    o.tableAttrs === undefined ? OPEN_TABLE : checkTableAttributes('map options.tableAttrs', o.tableAttrs);
  const source = checkFrameSource<FrameSource>('map options.source', o.source);
  const d = h.backend.description;
  const g = h.backend.geometry;
  if (!g.leafLevels.includes(level)) {
    throw new UnrepresentableError(d.id, level, `no leaves at level ${level} (${h.levelName(level)})`);
  }
  const size = g.entrySizeBytes[level]!;
  if (typeof pa !== 'number' || !Number.isSafeInteger(pa) || pa < 0 || pa % size !== 0) {
    throw new InvalidArgumentError('physical address', pa, `alignment to ${size} bytes`);
  }
  // Encode first: an unrepresentable request must fail before anything is written.
  const leafRaw = h.backend.codec.encode({ kind: 'leaf', pa, attrs }, level);
  const c = h.seekPage(root, vpn, o.baseVpn);
  const created = descend(h, c, level, tableAttrs, source);
  if (typeof created === 'string') return { ok: false, reason: created };
  if (!c.absent) {
    rollback(h, created, source);
    return { ok: false, reason: 'already-mapped' };
  }
  c.write(leafRaw.lo, leafRaw.hi);
  return { ok: true, tablesCreated: created === undefined ? 0 : created.length / 3 };
}

/**
 * Moves the cursor `c` down to `level`, creating each missing table on the way (from `source`,
 * entries encoded with `tableAttrs`). Returns the created tables as (pa, level, parent descriptor
 * pa) triples (undefined: none), or the reason it stopped — everything it created already rolled
 * back then.
 */
function descend(
  h: EditorHost,
  c: PageTableCursor,
  level: number,
  tableAttrs: TableAttributes,
  source: FrameSource,
): number[] | undefined | 'no-memory' | 'already-mapped' | 'blocked-by-leaf' {
  let created: number[] | undefined;
  while (c.level > level) {
    const next = h.backend.codec.nextTable(c.lo, c.hi, c.level);
    if (next >= 0) {
      c.down(next);
      continue;
    }
    if (next === -2 || !c.absent) {
      rollback(h, created, source);
      return next === -2 ? 'blocked-by-leaf' : 'already-mapped';
    }
    let fresh: number;
    try {
      fresh = h.allocTable(source, c.level - 1);
    } catch (e) {
      rollback(h, created, source);
      throw e;
    }
    if (fresh < 0) {
      rollback(h, created, source);
      return 'no-memory';
    }
    if (created === undefined) created = [];
    created.push(fresh, c.level - 1, c.descriptorPa);
    let raw: { lo: number; hi: number };
    try {
      raw = h.backend.codec.encode({ kind: 'table', pa: fresh, attrs: tableAttrs }, c.level);
    } catch (e) {
      rollback(h, created, source);
      throw e;
    }
    c.write(raw.lo, raw.hi);
    c.down(fresh);
  }
  return created;
}

/** @internal {@link PageTableEditor.ensureTable}'s body (see there). */
export function ensureTable(h: EditorHost, options: EnsureTableOptions): EnsureTableResult {
  const o = fields('ensureTable options', options, [
    'root',
    'vpn',
    'level',
    'tableAttrs',
    'source',
    'baseVpn',
  ]);
  const level = checkInt('ensureTable options.level', o.level, 1, h.backend.geometry.rootLevel - 1);
  const tableAttrs =
    o.tableAttrs === undefined
      ? OPEN_TABLE
      : checkTableAttributes('ensureTable options.tableAttrs', o.tableAttrs);
  const source = checkFrameSource<FrameSource>('ensureTable options.source', o.source);
  const c = h.seekPage(o.root, o.vpn, o.baseVpn);
  // Down to `level`: the cursor then stands in the wanted table.
  const created = descend(h, c, level, tableAttrs, source);
  if (typeof created === 'string')
    return { ok: false, reason: created === 'no-memory' ? 'no-memory' : 'blocked' };
  return { ok: true, tablePa: c.tablePa, tablesCreated: created === undefined ? 0 : created.length / 3 };
}

/** @internal {@link PageTableEditor.forEachLeaf}'s body (see there). */
export function forEachLeaf(h: EditorHost, range: PageTableRange, visit: (leaf: LeafRef) => void): void {
  checkFunction('forEachLeaf visit', visit);
  const codec = h.backend.codec;
  const c = h.acquire();
  try {
    let more = c.begin(range);
    while (more) {
      if (!c.absent) {
        const next = c.nextTable();
        if (next >= 0) {
          c.down(next);
          continue;
        }
        const e = codec.decode(c.lo, c.hi, c.level);
        if (e.kind === 'leaf')
          visit({ vpn: c.vpn, level: c.level, descriptorPa: c.descriptorPa, pa: e.pa, attrs: e.attrs });
      }
      more = c.next();
    }
  } finally {
    h.release(c);
  }
}

/** @internal {@link PageTableEditor.tableFrames}'s body (see there). */
export function tableFrames(h: EditorHost, range: PageTableRange): TableFrame[] {
  const { root } = fields('tableFrames range', range, ['root']);
  const c = h.acquire();
  try {
    let more = c.begin(range);
    // (begin validated the root)
    const out: TableFrame[] = [{ pa: root as number, level: h.backend.geometry.rootLevel }];
    while (more) {
      const next = c.nextTable();
      if (next >= 0) {
        out.push({ pa: next, level: c.level - 1 });
        c.down(next);
        continue;
      }
      more = c.next();
    }
    return out;
  } finally {
    h.release(c);
  }
}

/** Undoes the tables a failed map created (deepest first): clears each parent entry, frees the frame. */
function rollback(h: EditorHost, created: number[] | undefined, source: FrameSource): void {
  if (!created) return;
  for (let i = created.length - 3; i >= 0; i -= 3) {
    h.writeRaw(created[i + 2]!, 0, 0);
    source.freeTable(created[i]!, created[i + 1]!);
  }
}
