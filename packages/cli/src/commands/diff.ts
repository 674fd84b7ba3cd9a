/**
 * `mmkit diff A B`: what was mapped, unmapped or changed (output address or attributes) between
 * the page tables of two sources, as ranges.
 */
import type { Command } from 'commander';
import { formatTable, groupedHex } from '../format.js';
import type { Output } from '../io.js';
import { collectLeaves, type DiffRange, diffLeaves, type MappedRange, shortSize } from '../sources/ranges.js';
import { SourceError } from '../sources/source.js';
import {
  addKernelSplitOption,
  addSourceOptions,
  parseVaRange,
  type SourceCommandOptions,
  withSource,
} from '../sources/use-source.js';

interface DiffOptions extends SourceCommandOptions {
  readonly va?: string;
  readonly ignoreAd?: boolean;
  readonly exitCode?: boolean;
  readonly maxEntries?: string;
  readonly json?: boolean;
}

/** Runs `mmkit diff`; returns the exit code. */
export async function runDiff(a: string, b: string, opts: DiffOptions, out: Output): Promise<number> {
  const range = opts.va === undefined ? undefined : parseVaRange(opts.va, '--va');
  const side = (spec: string) =>
    withSource(
      spec,
      { ...opts, progress: out.io.stderr },
      (s) => ({
        name: s.source.name,
        arch: s.backend.description.id,
        leaves: collectLeaves(s),
        vaBits: s.backend.description.vaBits,
      }),
      false,
    );
  const A = await side(a);
  const B = await side(b);
  if (A.arch !== B.arch)
    throw new SourceError(`cannot compare ${A.arch} tables (${A.name}) with ${B.arch} tables (${B.name})`);
  const clip = (l: MappedRange[]) =>
    range ? l.filter((r) => r.start < range.end && range.start < r.end) : l;
  const diff = diffLeaves(clip(A.leaves), clip(B.leaves), opts.ignoreAd === true);
  if (opts.json) {
    out.json({
      a: A.name,
      b: B.name,
      arch: A.arch,
      changes: diff.map((d) => ({ ...d, size: d.end - d.start })),
    });
  } else render(A.name, B.name, A.arch, A.vaBits, diff, out);
  return opts.exitCode && diff.length > 0 ? 1 : 0;
}

function render(
  a: string,
  b: string,
  arch: string,
  vaBits: number,
  diff: readonly DiffRange[],
  out: Output,
): void {
  const { style } = out;
  const digits = vaBits > 32 || arch === 'aarch64' ? 16 : 8;
  out.line(
    style.bold(
      `diff ${a} → ${b} (${arch}): ${diff.length === 0 ? 'no differences' : `${diff.length} range${diff.length === 1 ? '' : 's'}`}`,
    ),
  );
  if (diff.length === 0) return;
  const mark = { mapped: '+', unmapped: '-', changed: '~' } as const;
  const paOf = (d: DiffRange) =>
    d.before && d.after && d.before.pa !== d.after.pa
      ? `${groupedHex(d.before.pa)} → ${groupedHex(d.after.pa)}`
      : groupedHex((d.after ?? d.before)!.pa);
  const attrsOf = (d: DiffRange) =>
    d.before && d.after && d.before.attributes !== d.after.attributes
      ? `${d.before.attributes} → ${d.after.attributes}`
      : (d.after ?? d.before)!.attributes;
  const levelOf = (d: DiffRange) =>
    d.before && d.after && d.before.level !== d.after.level
      ? `${d.before.level} → ${d.after.level}`
      : (d.after ?? d.before)!.level;
  const colour = { mapped: style.green, unmapped: style.red, changed: style.yellow } as const;
  const lines = formatTable(
    [
      { header: ' ' },
      { header: 'virtual range' },
      { header: 'size' },
      { header: 'change' },
      { header: 'level' },
      { header: 'physical' },
      { header: 'attributes' },
    ],
    diff.map((d) => [
      mark[d.change],
      `${groupedHex(d.start, digits)}-${groupedHex(d.end, digits)}`,
      shortSize(d.end - d.start),
      d.change,
      levelOf(d),
      paOf(d),
      attrsOf(d),
    ]),
    style,
  );
  out.line(lines[0]!);
  diff.forEach((d, i) => {
    out.line(colour[d.change](lines[i + 1]!));
  });
}

/** Registers `mmkit diff`. */
export function registerDiff(program: Command, out: () => Output, setExit: (code: number) => void): Command {
  const cmd = program
    .command('diff')
    .summary('compare the mappings of two sets of page tables')
    .description(
      'Show what was mapped (+), unmapped (-) or changed (~, another physical address or other attributes) ' +
        'from source A to source B, as ranges. Sources as for walk --from; --regs applies to image: and core: sources.',
    )
    .argument('<a>', 'the first source (before)')
    .argument('<b>', 'the second source (after)')
    .option('--va <range>', 'only compare START..END (END exclusive)')
    .option('--ignore-ad', 'ignore accessed and dirty bits')
    .option('--max-entries <count>', 'give up after this many present entries per source (default 1048576)')
    .option('--exit-code', 'exit with 1 when there are differences (as git diff --exit-code)')
    .option('--json', 'print one JSON document');
  addSourceOptions(cmd);
  addKernelSplitOption(cmd);
  return cmd.action(async (a: string, b: string, opts: DiffOptions) => {
    setExit(await runDiff(a, b, opts, out()));
  });
}
