/**
 * A `mmkit-translation-state/1` export (`exportTranslationState` in `@mmkit/kernel`, `mmkit
 * export`) as a page-table source: the tables' bytes at their physical addresses (every other
 * byte of memory is absent), the registers that select them, and the paging format it names.
 */
import { readFileSync } from 'node:fs';
import { parseU64 } from '../parse.js';
import { registerName } from './regime.js';
import { mergeRegions, type PageTableSource, SourceError } from './source.js';

const HEX_BYTES = /^(?:[0-9a-f]{2})*$/i;

/** Parses an export document (already JSON-decoded) as a source named `name`. */
export function exportSource(name: string, doc: unknown): PageTableSource {
  const bad = (what: string, expected: string): never => {
    throw new SourceError(`${name}: ${what}; expected ${expected}`);
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    bad('not a JSON object', 'a mmkit-translation-state/1 document');
  const o = doc as Record<string, unknown>;
  if (o.format !== 'mmkit-translation-state/1') {
    bad(`format is ${JSON.stringify(o.format) ?? 'missing'}`, '"mmkit-translation-state/1"');
  }
  if (typeof o.arch !== 'string') bad('arch is missing', 'a paging format such as "aarch64" or "x86_64"');
  const regsIn = o.registers;
  if (typeof regsIn !== 'object' || regsIn === null || Array.isArray(regsIn))
    bad('registers is missing', 'an object of "0x…" strings');
  const registers: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(regsIn as Record<string, unknown>)) {
    const n = registerName(k);
    if (n === undefined) continue; // other registers are informational
    if (typeof v !== 'string') bad(`registers.${k} is ${JSON.stringify(v)}`, 'a "0x…" string');
    try {
      registers[n] = parseU64(v as string, `registers.${k}`);
    } catch (e) {
      bad(e instanceof Error ? e.message : String(e), 'a 64-bit hex value');
    }
  }
  if (!Array.isArray(o.tables)) bad('tables is missing', 'an array of { pa, level, bytes }');
  const frames = new Map<number, Uint8Array>();
  (o.tables as unknown[]).forEach((t, i) => {
    const where = `tables[${i}]`;
    if (typeof t !== 'object' || t === null) bad(`${where} is not an object`, '{ pa, level, owner, bytes }');
    const { pa: paText, bytes } = t as Record<string, unknown>;
    if (typeof paText !== 'string') bad(`${where}.pa is ${JSON.stringify(paText)}`, 'a "0x…" string');
    let pa = 0;
    try {
      const v = parseU64(paText as string, `${where}.pa`);
      if (v >= 1n << 52n) bad(`${where}.pa ${paText} is above 2^52`, 'a physical address');
      pa = Number(v);
    } catch (e) {
      if (e instanceof SourceError) throw e;
      bad(e instanceof Error ? e.message : String(e), 'a physical address');
    }
    if (typeof bytes !== 'string' || !HEX_BYTES.test(bytes) || bytes.length === 0) {
      bad(`${where}.bytes is not hex bytes`, 'lower-case hex, two digits a byte');
    }
    const data = Buffer.from(bytes as string, 'hex');
    if ((pa % 4096) + data.length > 4096) {
      bad(`${where} (${data.length} bytes at ${paText}) crosses a 4 KiB frame`, 'a table inside one frame');
    }
    const pfn = Math.floor(pa / 4096);
    let frame = frames.get(pfn);
    if (frame === undefined) {
      frame = new Uint8Array(4096);
      frames.set(pfn, frame);
    }
    frame.set(data, pa % 4096);
  });
  const regions = mergeRegions(
    [...frames.keys()].map((pfn) => ({ start: pfn * 4096, end: pfn * 4096 + 4096 })),
  );
  return {
    name,
    registers,
    declaredArch: o.arch as string,
    notes: [],
    regions,
    readFrame: async (pfn) => frames.get(pfn),
    close: async () => {},
  };
}

/** Reads an export file. @throws SourceError for an unreadable file or malformed JSON. */
export function readExportFile(file: string): PageTableSource {
  const name = `export ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SourceError(`${name}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SourceError(`${name}: not JSON: ${e instanceof Error ? e.message : String(e)}`, file);
  }
  return exportSource(name, doc);
}
