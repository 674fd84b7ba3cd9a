/**
 * `mmkit decode <arch> <entry> [--level L] [--json]`, `mmkit decode aarch64 --esr <value>` and
 * `mmkit decode x86 --pf-error <code>`: a page-table entry or a fault syndrome explained field by
 * field, plus mmkit's neutral decoding.
 */
import type { Field } from '@mmkit/core';
import type { Command } from 'commander';
import { ARCH_DECODERS, type ArchDecoder, archDecoder } from '../decoders/arch-decoders.js';
import type { DescriptorReport, SwapReport, SyndromeReport } from '../decoders/report.js';
import { reportDescriptor, reportSyndrome } from '../decoders/report.js';
import { formatBytes, formatPairs, formatTable, groupedHex } from '../format.js';
import type { Output, Styles } from '../io.js';
import { parseU64 } from '../parse.js';
import { ExitCode, invalidValue, UsageError } from '../usage-error.js';
import { readText } from './text-input.js';

/** Parsed options of `decode`. */
export interface DecodeOptions {
  readonly level?: string;
  readonly esr?: string;
  readonly pfError?: string;
  readonly mair?: string;
  readonly json?: boolean;
  /** Batch mode: a file (or `-`) with one value per line. */
  readonly batch?: string;
  /** Batch mode: the lines are syndromes (`ESR_EL1`, `#PF` error codes), not entries. */
  readonly syndromes?: boolean;
}

const X86_MODES_TEXT = 'x86_64, x86_64-la57, x86-pae or x86-32';

/** `a descriptor`, `an entry`. */
const withArticle = (word: string) => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;

/** Rejects options that belong to another architecture. */
function checkArchOptions(d: ArchDecoder, opts: DecodeOptions): void {
  if (d.syndromeOption !== '--esr' && opts.esr !== undefined) {
    throw new UsageError(
      `--esr ${JSON.stringify(opts.esr)} is AArch64's ESR_EL1 and does not apply to ${d.id}; expected --pf-error <code> for an x86 #PF error code`,
      opts.esr,
    );
  }
  if (d.syndromeOption !== '--pf-error' && opts.pfError !== undefined) {
    throw new UsageError(
      `--pf-error ${JSON.stringify(opts.pfError)} is the x86 #PF error code and does not apply to ${d.id}; expected --esr <value> for an ESR_EL1 syndrome`,
      opts.pfError,
    );
  }
  if (opts.mair !== undefined && !d.extraOptions.includes('--mair')) {
    throw new UsageError(
      `--mair ${JSON.stringify(opts.mair)} does not apply to ${d.id} (x86 memory types come from PWT, PCD and PAT); expected --mair only with aarch64`,
      opts.mair,
    );
  }
}

/** Parses a value that must fit in `bits` bits (64 is already checked by parseU64). */
function parseBits(text: string, what: string, bits: 32 | 64, expected: string): bigint {
  const value = parseU64(text, what);
  if (bits === 32 && value >= 1n << 32n) {
    throw invalidValue(what, text, 'does not fit in 32 bits', `${expected} at most 0xFFFF_FFFF`);
  }
  return value;
}

/**
 * Runs `decode` for already-split arguments.
 * @throws UsageError for an unknown architecture or level, a malformed or too large
 *   number, an option of another architecture, or anything but exactly one of `entry` and the
 *   architecture's syndrome option (`--esr`, `--pf-error`).
 */
export function runDecode(arch: string, entry: string | undefined, opts: DecodeOptions, out: Output): void {
  const decoder = archDecoder(arch);
  checkArchOptions(decoder, opts);
  const synOpt = decoder.syndromeOption;
  const synArg = synOpt === '--esr' ? '<value>' : '<code>';
  const anEntry = withArticle(decoder.entryWord);
  const syndrome = synOpt === '--esr' ? opts.esr : opts.pfError;
  if (!decoder.decodesEntries && entry !== undefined) {
    throw new UsageError(
      `decode ${decoder.id} names no paging mode, so it cannot decode the entry ${JSON.stringify(entry)}; ` +
        `expected --pf-error <code>, or an entry with a mode: ${X86_MODES_TEXT}`,
      entry,
    );
  }
  if ((entry === undefined) === (syndrome === undefined)) {
    throw new UsageError(
      entry === undefined
        ? decoder.decodesEntries
          ? `decode ${arch} needs something to decode; expected ${anEntry} argument or ${synOpt} ${synArg}`
          : `decode ${arch} needs something to decode; expected --pf-error <code>`
        : `decode ${arch} got both ${anEntry} (${JSON.stringify(entry)}) and ${synOpt} (${JSON.stringify(syndrome)}); expected exactly one of them`,
    );
  }
  if (syndrome !== undefined && opts.level !== undefined) {
    throw new UsageError(
      `--level ${JSON.stringify(opts.level)} does not apply to ${synOpt} (${decoder.syndromeLevelNote}); expected --level only with ${anEntry}`,
      opts.level,
    );
  }
  const mair = opts.mair === undefined ? undefined : parseU64(opts.mair, '--mair');
  const backend = decoder.createBackend(mair === undefined ? {} : { mair });

  if (syndrome !== undefined) {
    const value = parseBits(syndrome, synOpt, decoder.syndromeBits, 'an error code');
    const report = reportSyndrome(backend, value);
    if (opts.json) out.json(report);
    else renderSyndrome(report, decoder, out);
    return;
  }
  const value = parseBits(entry!, decoder.entryWord, decoder.entryBits, `a 4-byte ${decoder.id} entry`);
  const level = decoder.parseLevel(opts.level ?? decoder.defaultLevel, backend);
  const report = reportDescriptor(backend, value, level);
  if (opts.json) out.json(report);
  else renderDescriptor(report, decoder, backend.description.descriptorBytes, out);
}

/** Shows a field value: one bit as 0/1, 2–4 bits in binary, wider fields in hex. */
function fieldValue(f: Field): string {
  const m = /^\[(\d+)(?::(\d+))?\]$/.exec(f.bits);
  const width = m ? (m[2] === undefined ? 1 : Number(m[1]) - Number(m[2]) + 1) : 64;
  if (width === 1) return f.value.toString();
  if (width <= 4) return `0b${f.value.toString(2).padStart(width, '0')}`;
  return groupedHex(f.value);
}

function fieldTable(fields: readonly Field[], style: Styles): string[] {
  return formatTable(
    [
      { header: 'field', style: style.cyan },
      { header: 'bits' },
      { header: 'value', style: style.yellow },
      { header: 'meaning' },
    ],
    fields.map((f) => [f.name, f.bits, fieldValue(f), f.meaning]),
    style,
  );
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

function renderDescriptor(r: DescriptorReport, d: ArchDecoder, bytes: number, out: Output): void {
  const { style } = out;
  const size = r.kind === 'page' || r.kind === 'block' ? ` (${formatBytes(r.entrySizeBytes)})` : '';
  // x86 calls a leaf above the PT a (large) page; AArch64 calls it a block.
  const kind = r.kind === 'block' && d.entryWord === 'entry' ? 'page' : r.kind;
  out.line(
    style.bold(
      `${r.arch} ${d.entryWord} ${groupedHex(r.descriptor, bytes * 2)} at ${r.level.name}: ${r.swap ? 'swap entry' : `${kind}${size}`}`,
    ),
  );
  out.line();
  if (r.swap) renderSwap(r.swap, out);
  for (const l of fieldTable(r.fields, style)) out.line(l);
  out.line();
  out.line(style.bold('neutral decoding'));
  const n = r.neutral;
  let pairs: [string, string][];
  switch (n.kind) {
    case 'leaf':
      pairs = [
        ['entry', `leaf, maps ${formatBytes(n.sizeBytes)}`],
        ['output address', groupedHex(n.outputAddress, 8)],
        ['permissions', n.permissions],
        ['memory type', n.memoryType],
        ['global', yesNo(n.global)],
        ['accessed', yesNo(n.accessed)],
        ['dirty', yesNo(n.dirty)],
        ['software bits', String(n.software)],
        ['contiguous', yesNo(n.contiguous)],
      ];
      break;
    case 'table':
      pairs = [
        ['entry', 'table'],
        ['next table', groupedHex(n.nextTable, 8)],
        ['no user access below', yesNo(n.noUser)],
        ['read-only below', yesNo(n.readOnly)],
        ['no user execute below', yesNo(n.noExecuteUser)],
        ['no kernel execute below', yesNo(n.noExecuteKernel)],
      ];
      break;
    case 'absent':
      pairs = [['entry', 'absent (not valid, no software payload)']];
      break;
    case 'software':
      pairs = [
        ['entry', 'not valid, carries a software payload'],
        ['payload', `${n.payload} (${groupedHex(n.payload)})`],
      ];
      break;
    case 'invalid':
      pairs = [
        ['entry', 'invalid at this level (a walk faults on it)'],
        ['reason', n.reason],
      ];
      break;
  }
  for (const l of formatPairs(pairs, style)) out.line(l);
}

function renderSwap(s: SwapReport, out: Output): void {
  const { style } = out;
  const flags = [s.exclusive && 'exclusive', s.softDirty && 'soft-dirty', s.uffdWp && 'uffd-wp'].filter(
    Boolean,
  );
  out.line(
    `swap entry: type ${s.type}, offset ${s.offset} (slot at byte ${s.offset} × ${s.pageBytes} = ${groupedHex(s.slotByte)} of swap device ${s.type})`,
  );
  out.line();
  out.line(style.bold(s.format));
  for (const l of fieldTable(s.fields, style)) out.line(l);
  out.line();
  for (const l of formatPairs(
    [
      ['type', s.typeMeaning],
      ['flags', flags.length > 0 ? flags.join(', ') : 'none'],
    ],
    style,
  ))
    out.line(l);
  out.line();
  out.line(style.bold('hardware view (not present: every access faults)'));
}

function renderSyndrome(r: SyndromeReport, d: ArchDecoder, out: Output): void {
  const { style } = out;
  const digits = r.syndrome >> 32n === 0n ? 8 : 16;
  out.line(style.bold(`${d.id} ${r.register} ${groupedHex(r.syndrome, digits)}`));
  out.line();
  for (const l of fieldTable(r.fields, style)) out.line(l);
  out.line();
  out.line(style.bold('neutral decoding'));
  const n = r.neutral;
  if (!n) {
    for (const l of formatPairs([['fault', r.note ?? 'none']], style)) out.line(l);
    return;
  }
  const pairs: [string, string][] = [
    ['exception', n.exception],
    ['fault', n.fault],
    ['level', n.level ?? '-'],
    ['access', n.access],
    ['privilege', n.privilege],
  ];
  for (const l of formatPairs(pairs, style)) out.line(l);
}

/** Registers `decode` on `program`; `out` is created per run. */
export function registerDecode(
  program: Command,
  out: () => Output,
  setExitCode: (code: number) => void = () => {},
): Command {
  return program
    .command('decode')
    .summary('explain a page-table entry or a fault syndrome field by field')
    .description(
      'Explain a page-table entry (a descriptor, at a translation level) or a fault syndrome (--esr on AArch64, ' +
        '--pf-error on x86) field by field, followed by the architecture-neutral decoding mmkit uses. Numbers are ' +
        'hex (0x…, underscores allowed), binary (0b…) or decimal.',
    )
    .argument('<arch>', `architecture or x86 paging mode: ${Object.keys(ARCH_DECODERS).join(', ')}`)
    .argument('[entry]', 'entry value, e.g. 0x0040_0000_4000_0705 (64-bit; 32-bit for x86-32)')
    .option(
      '--level <level>',
      'level of the entry: aarch64 L0..L3 or 0..3 (default L3); x86 PML5, PML4, PDPT, PD, PT as the mode has them (default PT)',
    )
    .option('--esr <value>', 'aarch64: decode this ESR_EL1 syndrome instead of an entry')
    .option('--pf-error <code>', 'x86 (any mode, or x86): decode this #PF error code instead of an entry')
    .option(
      '--mair <value>',
      'aarch64: MAIR_EL1 used to name memory types (default: Linux MAIR_EL1_SET 0x4_0044_FFFF)',
    )
    .option(
      '--batch <file>',
      'decode every value in a file (- for stdin), one per line, optionally followed by a level',
    )
    .option('--syndromes', 'with --batch: the values are syndromes (--esr / --pf-error values), not entries')
    .option('--json', 'print one JSON document (numbers that are addresses or raw values as "0x…" strings)')
    .action(async (arch: string, entry: string | undefined, opts: DecodeOptions) => {
      const o = out();
      if (opts.batch !== undefined || opts.syndromes) setExitCode(await runDecodeBatch(arch, entry, opts, o));
      else runDecode(arch, entry, opts, o);
    });
}

/** One line of a batch: its 1-based number, the text, and the report or the error. */
export interface BatchLine {
  readonly line: number;
  readonly input: string;
  readonly report?: DescriptorReport | SyndromeReport;
  readonly error?: string;
}

/**
 * `decode <arch> --batch <file>`: decodes every value of a file (or stdin), one per line. Blank
 * lines and `#` comments are skipped; an entry may be followed by its level (`0x…  L2`), which
 * overrides `--level`. With `--syndromes` the values are `ESR_EL1` / `#PF` error codes. A malformed
 * line does not stop the batch: it is reported (stderr, or an `error` in the JSON) and the exit code
 * is 2; otherwise 0.
 * @throws UsageError for options that do not fit batch mode (an entry operand, --esr/--pf-error,
 *   --syndromes without --batch, --level with --syndromes) or an unreadable file.
 */
export async function runDecodeBatch(
  arch: string,
  entry: string | undefined,
  opts: DecodeOptions,
  out: Output,
): Promise<number> {
  const decoder = archDecoder(arch);
  checkArchOptions(decoder, opts);
  if (opts.batch === undefined)
    throw new UsageError('--syndromes only applies to a batch; expected --batch <file> with it');
  if (entry !== undefined)
    throw new UsageError(
      `decode ${arch} got both ${withArticle(decoder.entryWord)} (${JSON.stringify(entry)}) and --batch (${JSON.stringify(opts.batch)}); expected exactly one of them`,
      entry,
    );
  const single = opts.esr ?? opts.pfError;
  if (single !== undefined)
    throw new UsageError(
      `${opts.esr !== undefined ? '--esr' : '--pf-error'} ${JSON.stringify(single)} decodes one value; expected --batch <file> --syndromes for a batch of syndromes`,
      single,
    );
  if (opts.syndromes && opts.level !== undefined)
    throw new UsageError(
      `--level ${JSON.stringify(opts.level)} does not apply to --syndromes (${decoder.syndromeLevelNote}); expected --level only for entries`,
      opts.level,
    );
  if (!opts.syndromes && !decoder.decodesEntries)
    throw new UsageError(
      `decode ${decoder.id} names no paging mode, so it cannot decode entries; expected --syndromes, or a mode: ${X86_MODES_TEXT}`,
    );
  const mair = opts.mair === undefined ? undefined : parseU64(opts.mair, '--mair');
  const backend = decoder.createBackend(mair === undefined ? {} : { mair });
  const text = await readText(opts.batch, out.io, 'batch file');
  const name = opts.batch === '-' ? '<stdin>' : opts.batch;
  const results: BatchLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const input = raw.replace(/#.*$/, '').trim();
    if (input === '') return;
    const line = i + 1;
    try {
      const [value, level, ...rest] = input.split(/\s+/);
      if (rest.length > 0 || (opts.syndromes && level !== undefined))
        throw new UsageError(
          `${JSON.stringify(input)} has ${rest.length + (level === undefined ? 0 : 1)} extra word(s); expected ${opts.syndromes ? 'one syndrome' : 'one entry and optionally its level'} per line`,
        );
      if (opts.syndromes) {
        const v = parseBits(value!, decoder.syndromeOption, decoder.syndromeBits, 'an error code');
        results.push({ line, input, report: reportSyndrome(backend, v) });
      } else {
        const v = parseBits(value!, decoder.entryWord, decoder.entryBits, `a 4-byte ${decoder.id} entry`);
        const lv = decoder.parseLevel(level ?? opts.level ?? decoder.defaultLevel, backend);
        results.push({ line, input, report: reportDescriptor(backend, v, lv) });
      }
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      results.push({ line, input, error: e.message });
    }
  });
  const bad = results.filter((r) => r.error !== undefined);
  if (opts.json) out.json(results);
  else {
    const rows = results
      .filter((r) => r.report)
      .map((r) =>
        opts.syndromes
          ? syndromeRow(r.report as SyndromeReport)
          : entryRow(r.report as DescriptorReport, decoder),
      );
    const header = opts.syndromes
      ? ['syndrome', 'exception', 'fault', 'level', 'access']
      : [decoder.entryWord, 'level', 'kind', 'output', 'permissions', 'memory'];
    if (rows.length > 0)
      for (const l of formatTable(
        header.map((h) => ({ header: h })),
        rows,
        out.style,
      ))
        out.line(l);
    for (const r of bad) out.io.stderr.write(`mmkit: error: ${name}:${r.line}: ${r.error}\n`);
  }
  return bad.length > 0 ? ExitCode.Usage : ExitCode.Ok;
}

function entryRow(r: DescriptorReport, d: ArchDecoder): string[] {
  const n = r.neutral;
  const kind = r.swap
    ? 'swap entry'
    : `${r.kind === 'block' && d.entryWord === 'entry' ? 'page' : r.kind}${r.kind === 'page' || r.kind === 'block' ? ` ${formatBytes(r.entrySizeBytes)}` : ''}`;
  const output =
    n.kind === 'leaf'
      ? groupedHex(n.outputAddress, 8)
      : n.kind === 'table'
        ? `table ${groupedHex(n.nextTable, 8)}`
        : '-';
  const perms = n.kind === 'leaf' ? n.permissions : '-';
  const memory = n.kind === 'leaf' ? n.memoryType : '-';
  return [groupedHex(r.descriptor, d.entryBits / 4), r.level.name, kind, output, perms, memory];
}

function syndromeRow(r: SyndromeReport): string[] {
  const n = r.neutral;
  // Not a memory fault (an SVC, say): `mmkit decode <arch> --esr <value>` explains it field by field.
  if (!n) return [groupedHex(r.syndrome, 8), 'not a memory fault', '-', '-', '-'];
  return [groupedHex(r.syndrome, 8), n.exception, n.fault, n.level ?? '-', `${n.access} by ${n.privilege}`];
}
