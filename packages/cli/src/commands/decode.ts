/**
 * `mmkit decode <arch> <descriptor> [--level L] [--json]` and
 * `mmkit decode <arch> --esr <value> [--json]`: a descriptor or a fault
 * syndrome explained field by field, plus mmkit's neutral decoding.
 */
import type { Field } from '@mmkit/core';
import type { Command } from 'commander';
import { archDecoder } from '../decoders/arch-decoders.js';
import type { DescriptorReport, SyndromeReport } from '../decoders/report.js';
import { reportDescriptor, reportSyndrome } from '../decoders/report.js';
import { formatBytes, formatPairs, formatTable, groupedHex } from '../format.js';
import type { Output, Styles } from '../io.js';
import { parseU64 } from '../parse.js';
import { UsageError } from '../usage-error.js';

/** Parsed options of `decode`. */
export interface DecodeOptions {
  readonly level?: string;
  readonly esr?: string;
  readonly mair?: string;
  readonly json?: boolean;
}

/**
 * Runs `decode` for already-split arguments.
 * @throws UsageError for an unknown architecture or level, a malformed or too large
 *   number, or anything but exactly one of `descriptor` and `--esr`.
 */
export function runDecode(
  arch: string,
  descriptor: string | undefined,
  opts: DecodeOptions,
  out: Output,
): void {
  const decoder = archDecoder(arch);
  if ((descriptor === undefined) === (opts.esr === undefined)) {
    throw new UsageError(
      descriptor === undefined
        ? `decode ${arch} needs something to decode; expected a descriptor argument or --esr <value>`
        : `decode ${arch} got both a descriptor (${JSON.stringify(descriptor)}) and --esr (${JSON.stringify(opts.esr)}); expected exactly one of them`,
    );
  }
  if (opts.esr !== undefined && opts.level !== undefined) {
    throw new UsageError(
      `--level ${JSON.stringify(opts.level)} does not apply to --esr (the syndrome names its own level); expected --level only with a descriptor`,
      opts.level,
    );
  }
  const mair = opts.mair === undefined ? undefined : parseU64(opts.mair, '--mair');
  const backend = decoder.createBackend(mair === undefined ? {} : { mair });

  if (opts.esr !== undefined) {
    const esr = parseU64(opts.esr, '--esr');
    const report = reportSyndrome(backend, esr);
    if (opts.json) out.json(report);
    else renderSyndrome(report, out);
    return;
  }
  const value = parseU64(descriptor!, 'descriptor');
  const level = decoder.parseLevel(opts.level ?? decoder.defaultLevel, backend);
  const report = reportDescriptor(backend, value, level);
  if (opts.json) out.json(report);
  else renderDescriptor(report, out);
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

function renderDescriptor(r: DescriptorReport, out: Output): void {
  const { style } = out;
  const size = r.kind === 'page' || r.kind === 'block' ? ` (${formatBytes(r.entrySizeBytes)})` : '';
  out.line(
    style.bold(`${r.arch} descriptor ${groupedHex(r.descriptor, 16)} at ${r.level.name}: ${r.kind}${size}`),
  );
  out.line();
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

function renderSyndrome(r: SyndromeReport, out: Output): void {
  const { style } = out;
  const digits = r.syndrome >> 32n === 0n ? 8 : 16;
  out.line(style.bold(`${r.arch} ${r.register} ${groupedHex(r.syndrome, digits)}`));
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
export function registerDecode(program: Command, out: () => Output): Command {
  return program
    .command('decode')
    .summary('explain a page-table descriptor or a fault syndrome field by field')
    .description(
      'Explain a page-table descriptor (at a translation level) or a fault syndrome (--esr) field by field, ' +
        'followed by the architecture-neutral decoding mmkit uses. Numbers are hex (0x…, underscores allowed), ' +
        'binary (0b…) or decimal.',
    )
    .argument('<arch>', 'architecture: aarch64')
    .argument('[descriptor]', '64-bit descriptor value, e.g. 0x0040_0000_4000_0705')
    .option('--level <level>', 'translation level of the descriptor: L0, L1, L2, L3 or 0..3 (default L3)')
    .option('--esr <value>', 'decode this ESR_EL1 syndrome instead of a descriptor')
    .option(
      '--mair <value>',
      'MAIR_EL1 used to name memory types (default: Linux MAIR_EL1_SET 0x4_0044_FFFF)',
    )
    .option('--json', 'print one JSON document (numbers that are addresses or raw values as "0x…" strings)')
    .action((arch: string, descriptor: string | undefined, opts: DecodeOptions) => {
      runDecode(arch, descriptor, opts, out());
    });
}
