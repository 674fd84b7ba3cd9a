/**
 * `mmkit walk <va> --from SOURCE [--access read|write|fetch] [--el0|--user] [--json]`: one
 * translation, level by level, as the CPU performs it on the source's tables.
 */

import { type AccessKind, formatSize, type PrivilegeLevel } from '@mmkit/core';
import type { Command } from 'commander';
import { groupedHex } from '../format.js';
import type { Output } from '../io.js';
import { parseU64 } from '../parse.js';
import {
  addSourceOptions,
  FROM_HELP,
  fieldLines,
  type SourceCommandOptions,
  withSource,
} from '../sources/use-source.js';
import { type Accumulated, type WalkReport, walkVa } from '../sources/walk.js';
import { invalidValue } from '../usage-error.js';

interface WalkOptions extends SourceCommandOptions {
  readonly from: string;
  readonly access?: string;
  readonly el0?: boolean;
  readonly user?: boolean;
  readonly brief?: boolean;
  readonly json?: boolean;
}

const ACCESS: Readonly<Record<string, AccessKind>> = { read: 0, write: 1, fetch: 2, execute: 2 };

function restrictions(a: Accumulated, arch: string): string {
  const on: string[] = [];
  const arm = arch === 'aarch64';
  if (a.noUser) on.push(arm ? 'no EL0 access (APTable[0])' : 'supervisor-only (U/S = 0)');
  if (a.readOnly) on.push(arm ? 'read-only (APTable[1])' : 'read-only (R/W = 0)');
  if (a.noExecuteUser && a.noExecuteKernel && !arm) on.push('execute-disable (XD)');
  else {
    if (a.noExecuteUser) on.push(arm ? 'EL0 execute-never (UXNTable)' : 'execute-disable (XD)');
    if (a.noExecuteKernel) on.push(arm ? 'EL1 execute-never (PXNTable)' : 'execute-disable (XD)');
  }
  return on.length === 0 ? 'none' : on.join(', ');
}

function render(r: WalkReport, brief: boolean, out: Output): void {
  const { style } = out;
  const who =
    r.privilege === 'user'
      ? r.arch === 'aarch64'
        ? 'EL0'
        : 'CPL 3'
      : r.arch === 'aarch64'
        ? 'EL1'
        : 'CPL 0';
  out.line(
    style.bold(
      `walk ${groupedHex(r.va, 16)}: ${r.access} at ${who} (${r.privilege}), ${r.arch}, from ${r.source}`,
    ),
  );
  for (const n of r.notes) out.line(style.dim(`note: ${n}`));
  out.line(`root: ${r.root.register} → table at ${groupedHex(r.root.pa)}`);
  for (const s of r.steps) {
    out.line();
    const what =
      s.neutral.kind === 'table'
        ? `table → ${groupedHex(s.neutral.nextTable)}`
        : s.neutral.kind === 'leaf'
          ? `${s.kind} → ${groupedHex(s.neutral.outputAddress)} (${formatSize(s.neutral.sizeBytes)})`
          : s.kind;
    out.line(
      `${style.bold(`${s.level}[${s.index}]`)} at ${groupedHex(s.descriptorPa)} = ${style.yellow(groupedHex(s.descriptor, r.arch === 'x86-32' ? 8 : 16))}: ${what}`,
    );
    if (!brief) for (const l of fieldLines(s.fields, style)) out.line(l);
    if (s.neutral.kind === 'table')
      out.line(`    table restrictions so far: ${restrictions(s.accumulated, r.arch)}`);
    if (s.neutral.kind === 'leaf')
      out.line(`    this entry alone: ${s.neutral.permissions}, ${s.neutral.memoryType}`);
  }
  out.line();
  const o = r.outcome;
  if (o.ok) {
    out.line(
      style.green(
        `result: ${groupedHex(r.va, 16)} → physical ${groupedHex(o.pa)} (${o.leafLevel}, ${formatSize(o.leafBytes)} leaf)`,
      ),
    );
    out.line(`  effective permissions  ${o.permissions}`);
    out.line(`  memory type            ${o.memoryType}`);
    out.line(`  global                 ${o.global ? 'yes' : 'no'}`);
    return;
  }
  out.line(style.red(`result: ${o.fault} fault${o.level ? ` at ${o.level}` : ''}: ${o.exception}`));
  out.line(`  cause  ${o.cause}`);
  out.line(`  ${o.syndromeRegister.padEnd(8)} ${groupedHex(o.syndrome)}`);
  if (o.addressRegister !== null && o.address !== null)
    out.line(`  ${o.addressRegister.padEnd(8)} ${groupedHex(o.address, 16)}`);
  if (!brief && o.syndromeFields.length > 0) for (const l of fieldLines(o.syndromeFields, style)) out.line(l);
}

/** Runs `mmkit walk`. */
export async function runWalk(vaText: string, opts: WalkOptions, out: Output): Promise<void> {
  const va = parseU64(vaText, 'virtual address');
  const accessText = (opts.access ?? 'read').toLowerCase();
  const access = ACCESS[accessText];
  if (access === undefined)
    throw invalidValue('--access', opts.access ?? '', 'is not an access', 'read, write or fetch');
  const privilege: PrivilegeLevel = opts.el0 || opts.user ? 0 : 1;
  const report = await withSource(opts.from, { ...opts, progress: out.io.stderr }, (state) =>
    walkVa(state, va, access, privilege),
  );
  if (opts.json) out.json(report);
  else render(report, opts.brief === true, out);
}

/** Registers `mmkit walk`. */
export function registerWalk(program: Command, out: () => Output): Command {
  const cmd = program
    .command('walk')
    .summary('walk one virtual address through real page tables, level by level')
    .description(
      'Translate a virtual address as the CPU would, on tables from an export, a memory image or core with ' +
        'registers, or a live QEMU: each level (descriptor address, raw value, fields, table restrictions so far), ' +
        'then the physical address or the exact fault (ESR_EL1 + FAR_EL1, #PF error code + CR2, #GP) and its cause. ' +
        'Nothing is written (accessed/dirty bits are not set).',
    )
    .argument('<va>', 'virtual address, e.g. 0x40_0000 or 0xFFFF_0000_0000_1000')
    .requiredOption('--from <source>', FROM_HELP)
    .option('--access <kind>', 'read, write or fetch (default read)')
    .option('--el0', 'an EL0 (user) access; default EL1 / CPL 0 (kernel)')
    .option('--user', 'same as --el0 (CPL 3 on x86)')
    .option('--brief', 'one line per level: no field tables')
    .option('--json', 'print one JSON document');
  addSourceOptions(cmd);
  return cmd.action(async (va: string, opts: WalkOptions) => {
    await runWalk(va, opts, out());
  });
}
