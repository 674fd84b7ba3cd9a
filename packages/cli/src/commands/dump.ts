/**
 * `mmkit dump --from SOURCE [filters] [--check] [--json]`: every mapping of the source's tables
 * as Linux's ptdump shows them (neighbouring leaves with identical attributes and contiguous
 * output addresses merged), with filters and security checks.
 */

import { formatPerms, hex, MEMORY_TYPES, Perm } from '@mmkit/core';
import type { Command } from 'commander';
import { formatTable, groupedHex } from '../format.js';
import type { Output } from '../io.js';
import { parseU64 } from '../parse.js';
import {
  CHECKS,
  type CheckName,
  collectLeaves,
  type Finding,
  type MappedRange,
  mergeRanges,
  runChecks,
  shortSize,
  type TableLoop,
} from '../sources/ranges.js';
import type { LoadedState } from '../sources/tables.js';
import {
  addKernelSplitOption,
  addSourceOptions,
  FROM_HELP,
  parseVaRange,
  type SourceCommandOptions,
  withSource,
} from '../sources/use-source.js';
import { invalidValue } from '../usage-error.js';

interface DumpOptions extends SourceCommandOptions {
  readonly from: string;
  readonly va?: string;
  readonly half?: string;
  readonly userAccessible?: boolean;
  readonly writable?: boolean;
  readonly executable?: boolean;
  readonly type?: string;
  readonly global?: boolean;
  readonly nonGlobal?: boolean;
  readonly where?: string;
  readonly check?: boolean;
  readonly maxEntries?: string;
  readonly json?: boolean;
}

/** A range as JSON and as `--where` sees it. */
function rangeJson(r: MappedRange) {
  const perms = formatPerms(r.perms).split(' ');
  return {
    half: r.half,
    start: r.start,
    end: r.end,
    size: r.end - r.start,
    pa: r.pa,
    level: r.level,
    leafBytes: r.leafBytes,
    user: perms[1]!,
    kernel: perms[3]!,
    memoryType: r.memoryType,
    global: r.global,
    accessed: r.accessed,
    dirty: r.dirty,
    software: r.software,
    contiguous: r.contiguous,
    fault: r.fault,
  };
}
const WHERE_KEYS = [
  'half',
  'level',
  'user',
  'kernel',
  'memoryType',
  'global',
  'accessed',
  'dirty',
  'software',
  'contiguous',
  'fault',
] as const;

/** `--max-entries`: a positive count. */
export function maxEntriesOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = parseU64(text, '--max-entries');
  if (v < 1n || v > 1n << 28n)
    throw invalidValue('--max-entries', text, 'is out of range', 'a count from 1 to 2^28');
  return Number(v);
}

/** Builds the filter the options describe. @throws UsageError for a malformed filter. */
function filterOf(opts: DumpOptions): (r: MappedRange) => boolean {
  const tests: ((r: MappedRange) => boolean)[] = [];
  if (opts.va !== undefined) {
    const { start, end } = parseVaRange(opts.va, '--va');
    tests.push((r) => r.start < end && start < r.end);
  }
  if (opts.half !== undefined) {
    if (opts.half !== 'user' && opts.half !== 'kernel')
      throw invalidValue('--half', opts.half, 'is not a half', 'user or kernel');
    tests.push((r) => r.half === opts.half);
  }
  if (opts.userAccessible) tests.push((r) => (r.perms & (Perm.UR | Perm.UW | Perm.UX)) !== 0);
  if (opts.writable) tests.push((r) => (r.perms & (Perm.UW | Perm.KW)) !== 0);
  if (opts.executable) tests.push((r) => (r.perms & (Perm.UX | Perm.KX)) !== 0);
  if (opts.type !== undefined) {
    if (!(MEMORY_TYPES as readonly string[]).includes(opts.type)) {
      throw invalidValue('--type', opts.type, 'is not a memory type', MEMORY_TYPES.join(', '));
    }
    tests.push((r) => r.memoryType === opts.type);
  }
  if (opts.global) tests.push((r) => r.global);
  if (opts.nonGlobal) tests.push((r) => !r.global);
  if (opts.where !== undefined) {
    for (const cond of opts.where.split(',')) {
      const m = /^\s*([A-Za-z]+)\s*=\s*(.*?)\s*$/.exec(cond);
      const key = m?.[1] as (typeof WHERE_KEYS)[number] | undefined;
      if (!m || key === undefined || !WHERE_KEYS.includes(key)) {
        throw invalidValue(
          '--where',
          cond,
          'is not a condition',
          `KEY=VALUE[,…] with KEY one of ${WHERE_KEYS.join(', ')}`,
        );
      }
      const want = m[2]!;
      tests.push((r) => String(rangeJson(r)[key]) === want);
    }
  }
  return (r) => tests.every((t) => t(r));
}

/**
 * The flags column. `swDirty` is the backend's `capabilities.softwareDirty` (0 for none): the
 * software bit Linux keeps a write-protected page's dirtiness in (arm64 `PTE_DIRTY`, bit 55;
 * `pte_dirty` = hardware dirty or that bit). A leaf with it is dirty, named as `mmkit decode`
 * names the bit. `swSpecial` is `capabilities.softwareSpecial` (0 for none): a leaf with that
 * bit is `special` (Linux `pte_special`: arm64 `PTE_SPECIAL`, bit 56; x86 `_PAGE_SPECIAL`, bit
 * 9 — the zero page, PFN maps). The other software bits are shown as `sw=`.
 */
function flags(r: MappedRange, swDirty: number, swSpecial: number): string {
  const sw = r.software & swDirty;
  const dirty = sw !== 0 ? 'dirty (PTE_DIRTY)' : r.dirty ? 'dirty' : 'clean';
  const f = [r.global ? 'G' : 'nG', r.accessed ? 'AF' : 'no-AF', dirty];
  if ((r.software & swSpecial) !== 0) f.push('special');
  const rest = r.software & ~swDirty & ~swSpecial;
  if (rest) f.push(`sw=${rest}`);
  if (r.contiguous) f.push('contiguous');
  if (r.fault) f.push(`faults: ${r.fault}`);
  return f.join(' ');
}

function render(
  state: LoadedState,
  ranges: readonly MappedRange[],
  loops: readonly TableLoop[],
  findings: Finding[] | undefined,
  out: Output,
): void {
  const { style } = out;
  const d = state.backend.description;
  const digits = d.vaBits > 32 || d.signExtended ? 16 : 8;
  out.line(
    style.bold(
      `dump of ${state.source.name} (${d.id}): ${ranges.length} range${ranges.length === 1 ? '' : 's'}`,
    ),
  );
  for (const n of [...state.source.notes, ...state.notes]) out.line(style.dim(`note: ${n}`));
  const lines = formatTable(
    [
      { header: 'virtual range' },
      { header: 'size' },
      { header: 'level' },
      { header: 'physical', style: style.yellow },
      { header: 'permissions', style: style.cyan },
      { header: 'type' },
      { header: 'flags' },
    ],
    ranges.map((r) => [
      `${groupedHex(r.start, digits)}-${groupedHex(r.end, digits)}`,
      shortSize(r.end - r.start),
      r.level,
      groupedHex(r.pa),
      formatPerms(r.perms),
      r.memoryType,
      flags(r, d.capabilities.softwareDirty ?? 0, d.capabilities.softwareSpecial ?? 0),
    ]),
    style,
  );
  out.line(lines[0]);
  let half: string | undefined;
  ranges.forEach((r, i) => {
    if (r.half !== half) {
      half = r.half;
      out.line(style.dim(`---[ ${half} half ]---`));
    }
    out.line(lines[i + 1]);
  });
  for (const u of state.unreadable) {
    out.line(
      style.red(
        `unreadable: ${state.levelName(u.level)} table at ${groupedHex(u.pa)} (from ${u.from}) is outside the source's memory`,
      ),
    );
  }
  for (const l of loops) {
    out.line(
      style.dim(
        `loop: ${l.entry} (VA ${groupedHex(l.va, digits)}) points back to the table at ${groupedHex(l.table)} on its own path; not descended`,
      ),
    );
  }
  if (findings === undefined) return;
  out.line();
  for (const name of Object.keys(CHECKS) as CheckName[]) {
    const list = findings.filter((f) => f.check === name);
    const head = `check ${name} (${CHECKS[name]}): `;
    out.line(
      list.length === 0 ? `${head}${style.green('ok')}` : `${head}${style.red(`${list.length} found`)}`,
    );
    for (const f of list)
      out.line(`  ${groupedHex(f.start, digits)}-${groupedHex(f.end, digits)}  ${f.detail}`);
  }
}

/** Runs `mmkit dump`; returns the exit code (1 when `--check` finds something). */
export async function runDump(opts: DumpOptions, out: Output): Promise<number> {
  const keep = filterOf(opts);
  const maxEntries = maxEntriesOf(opts.maxEntries);
  return withSource(opts.from, { ...opts, progress: out.io.stderr }, (state) => {
    const loops: TableLoop[] = [];
    const ranges = mergeRanges(collectLeaves(state, { maxEntries, loops })).filter(keep);
    const findings = opts.check ? runChecks(state, ranges) : undefined;
    if (opts.json) {
      out.json({
        source: state.source.name,
        arch: state.backend.description.id,
        notes: [...state.source.notes, ...state.notes],
        ranges: ranges.map(rangeJson),
        unreadable: state.unreadable.map((u) => ({
          pa: hex(u.pa),
          level: state.levelName(u.level),
          from: u.from,
        })),
        ...(findings ? { findings } : {}),
      });
    } else render(state, ranges, loops, findings, out);
    return findings !== undefined && findings.length > 0 ? 1 : 0;
  });
}

/** Registers `mmkit dump`. */
export function registerDump(program: Command, out: () => Output, setExit: (code: number) => void): Command {
  const cmd = program
    .command('dump')
    .summary('list every mapping of a set of page tables, ptdump style, with security checks')
    .description(
      'List the mappings of page tables from an export, a memory image or core with registers, or a live QEMU ' +
        '(neighbouring leaves with identical attributes and contiguous physical addresses merged), filter them, ' +
        'and with --check look for writable+executable mappings, user-accessible kernel pages, executable device ' +
        'memory and page tables reachable from EL0 / CPL 3 (exit code 1 when one is found).',
    )
    .requiredOption('--from <source>', FROM_HELP)
    .option('--va <range>', 'only ranges overlapping START..END (END exclusive)')
    .option('--half <half>', 'only the user or the kernel half')
    .option('--user-accessible', 'only ranges user code (EL0 / CPL 3) can access')
    .option('--writable', 'only writable ranges')
    .option('--executable', 'only executable ranges')
    .option('--type <type>', `only one memory type: ${MEMORY_TYPES.join(', ')}`)
    .option('--global', 'only global ranges')
    .option('--non-global', 'only non-global (per-ASID / per-PCID) ranges')
    .option('--where <conditions>', `KEY=VALUE,… on decoded attributes (${WHERE_KEYS.join(', ')})`)
    .option('--check', 'run the security checks; exit code 1 when one finds something')
    .option('--max-entries <count>', 'give up after this many present entries (default 1048576)')
    .option('--json', 'print one JSON document');
  addSourceOptions(cmd);
  addKernelSplitOption(cmd);
  return cmd.action(async (opts: DumpOptions) => {
    setExit(await runDump(opts, out()));
  });
}
