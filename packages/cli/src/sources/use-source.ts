/**
 * Shared plumbing of `walk`, `dump` and `diff`: the source options every one of them takes, and
 * opening, loading and closing a source around a piece of work.
 */

import type { Field } from '@mmkit/core';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { formatTable, groupedHex } from '../format.js';
import type { CliStream, Styles } from '../io.js';
import { parseU64 } from '../parse.js';
import { invalidValue } from '../usage-error.js';
import { openSource, SOURCE_FORMS } from './open.js';
import type { PageTableSource } from './source.js';
import { type LoadedState, loadTables } from './tables.js';

/** Options of a command that reads sources. */
export interface SourceCommandOptions {
  readonly regs?: string;
  readonly timeout?: string;
  readonly pan?: string;
  readonly ac?: string;
  readonly kernelSplit?: string;
  /** Where a progress bar of the table reads may go (drawn only on a terminal). Not a command-line option. */
  readonly progress?: CliStream;
}

/**
 * A progress bar of the tables read from a source, on `stream` when it is a terminal (nothing in
 * a pipe): a live guest answers one frame per round trip, a large image holds many tables. The
 * total grows as table descriptors are found. No bar for a load that ends before its first report.
 */
function tableProgress(
  stream: CliStream | undefined,
  name: string,
): { onProgress?: (done: number, total: number) => void; stop(): void } {
  if (stream?.isTTY !== true) return { stop: () => {} };
  let bar: SingleBar | undefined;
  return {
    onProgress: (done, total) => {
      if (bar === undefined) {
        if (done === total) return;
        bar = new SingleBar({
          stream: stream as unknown as NodeJS.WritableStream,
          format: `mmkit read tables [{bar}] {value}/{total} · ${name}`,
          clearOnComplete: true,
          hideCursor: true,
          barsize: 30,
        });
        bar.start(total, done);
      } else {
        bar.setTotal(total);
        bar.update(done);
        bar.render();
      }
    },
    stop: () => bar?.stop(),
  };
}

/**
 * Adds `--kernel-split` (x86-32 and PAE: where the kernel half starts) to a command that sorts
 * mappings into user and kernel halves (`dump`, `diff`).
 */
export function addKernelSplitOption(cmd: Command): Command {
  return cmd.option(
    '--kernel-split <addr>',
    "x86-32 / PAE: the first kernel VA (Linux's PAGE_OFFSET) for the user/kernel halves, filters and checks; default 0xC000_0000 (3G/1G)",
  );
}

function kernelSplitOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = parseU64(text, '--kernel-split');
  if (v === 0n || v >= 1n << 32n)
    throw invalidValue(
      '--kernel-split',
      text,
      'is outside the 32-bit address space',
      'an address between 0 and 0x1_0000_0000, exclusive',
    );
  return Number(v);
}

/** Adds `--regs`, `--timeout`, `--pan` and `--ac` to a command. */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option(
      '--regs <list>',
      'registers for image:/core: sources, NAME=VALUE,… (TTBR0_EL1, TTBR1_EL1, TCR_EL1, MAIR_EL1, SCTLR_EL1, PSTATE, or CR0, CR3, CR4, EFER, IA32_PAT, EFLAGS)',
    )
    .option('--timeout <ms>', 'gdb: sources: milliseconds to wait for the target (default 5000)')
    .option(
      '--pan <0|1>',
      'AArch64 PSTATE.PAN for the walk (bit 22 of PSTATE): 1 makes EL1 data accesses to EL0-accessible pages fault; overrides the source (a live target reports its own)',
    )
    .option(
      '--ac <0|1>',
      'x86 EFLAGS.AC for the walk (bit 18 of EFLAGS): with CR4.SMAP, 0 makes supervisor data accesses to user pages fault; overrides the source',
    );
}

/** PSTATE.PAN (arch-facts A6) and EFLAGS.AC (arch-facts B5): bits 22 and 18. */
const PAN = 1n << 22n;
const AC = 1n << 18n;

function flagOf(option: string, text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  const t = text.trim().toLowerCase();
  if (t === '1' || t === 'on') return true;
  if (t === '0' || t === 'off') return false;
  throw invalidValue(option, text, 'is not a flag value', '0 or 1 (or off, on)');
}

/**
 * The source with `--pan` / `--ac` folded into its registers (PSTATE bit 22, EFLAGS bit 18; the
 * other bits as the source gives them), or the source itself without them.
 */
function withFlags(
  source: PageTableSource,
  pan: boolean | undefined,
  ac: boolean | undefined,
): PageTableSource {
  if (pan === undefined && ac === undefined) return source;
  const registers: Record<string, bigint> = { ...source.registers };
  const set = (name: string, mask: bigint, on: boolean) => {
    registers[name] = on ? (registers[name] ?? 0n) | mask : (registers[name] ?? 0n) & ~mask;
  };
  if (pan !== undefined) set('PSTATE', PAN, pan);
  if (ac !== undefined) set('EFLAGS', AC, ac);
  return {
    name: source.name,
    registers,
    ...(source.declaredArch === undefined ? {} : { declaredArch: source.declaredArch }),
    notes: source.notes,
    regions: source.regions,
    readFrame: (pfn) => source.readFrame(pfn),
    close: () => source.close(),
  };
}

/** The help line that lists the source forms. */
export const FROM_HELP = `where the tables come from: ${SOURCE_FORMS}`;

function timeoutOf(opts: SourceCommandOptions): number {
  if (opts.timeout === undefined) return 5000;
  const v = parseU64(opts.timeout, '--timeout');
  if (v < 1n || v > 600_000n)
    throw invalidValue('--timeout', opts.timeout, 'is out of range', 'milliseconds from 1 to 600000');
  return Number(v);
}

/**
 * Opens `spec`, loads its tables, runs `work`, and closes the source (a live guest is resumed)
 * whatever happens.
 */
export async function withSource<T>(
  spec: string,
  opts: SourceCommandOptions,
  work: (state: LoadedState) => T | Promise<T>,
  regsApply = true,
): Promise<T> {
  const isImage = /^(image|core|elf):/.test(spec);
  const pan = flagOf('--pan', opts.pan);
  const ac = flagOf('--ac', opts.ac);
  const kernelSplit = kernelSplitOf(opts.kernelSplit);
  const source = await openSource(spec, {
    ...(opts.regs !== undefined && (regsApply || isImage) ? { regs: opts.regs } : {}),
    timeoutMs: timeoutOf(opts),
  });
  try {
    const bar = tableProgress(opts.progress, source.name);
    let state: LoadedState;
    try {
      state = await loadTables(withFlags(source, pan, ac), {
        ...(kernelSplit === undefined ? {} : { kernelSplit }),
        ...(bar.onProgress === undefined ? {} : { onProgress: bar.onProgress }),
      });
    } finally {
      bar.stop();
    }
    const arch = state.backend.description.id;
    if (pan !== undefined && arch !== 'aarch64')
      throw invalidValue(
        '--pan',
        opts.pan!,
        `does not apply to ${arch} (${source.name})`,
        '--ac for x86 (EFLAGS.AC with CR4.SMAP)',
      );
    if (ac !== undefined && arch === 'aarch64')
      throw invalidValue(
        '--ac',
        opts.ac!,
        `does not apply to aarch64 (${source.name})`,
        '--pan for AArch64 (PSTATE.PAN)',
      );
    return await work(state);
  } finally {
    await source.close();
  }
}

/** Parses a VA range `START..END` (END exclusive). */
export function parseVaRange(text: string, what: string): { start: bigint; end: bigint } {
  const m = /^(.+?)\.\.(.+)$/.exec(text.trim());
  if (!m)
    throw invalidValue(what, text, 'is not a range', 'START..END, e.g. 0x40_0000..0x50_0000 (END exclusive)');
  const start = parseU64(m[1]!, `${what} start`);
  const end = parseU64(m[2]!, `${what} end`);
  if (end <= start) throw invalidValue(what, text, 'is empty', 'START..END with END above START');
  return { start, end };
}

/** Shows a field value: one bit as 0/1, 2–4 bits in binary, wider fields in hex (as `decode`). */
export function fieldValue(f: Field): string {
  const m = /^\[(\d+)(?::(\d+))?\]$/.exec(f.bits);
  const width = m ? (m[2] === undefined ? 1 : Number(m[1]) - Number(m[2]) + 1) : 64;
  if (width === 1) return f.value.toString();
  if (width <= 4) return `0b${f.value.toString(2).padStart(width, '0')}`;
  return groupedHex(f.value);
}

/** A field table, indented by `indent` spaces. */
export function fieldLines(fields: readonly Field[], style: Styles, indent = 4): string[] {
  const pad = ' '.repeat(indent);
  return formatTable(
    [
      { header: 'field', style: style.cyan },
      { header: 'bits' },
      { header: 'value', style: style.yellow },
      { header: 'meaning' },
    ],
    fields.map((f) => [f.name, f.bits, fieldValue(f), f.meaning]),
    style,
  ).map((l) => pad + l);
}
