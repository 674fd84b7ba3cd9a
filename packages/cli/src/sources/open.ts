/**
 * Source specifications → sources (see `source.ts` for the table of forms).
 */
import { parseU64 } from '../parse.js';
import { readExportFile } from './export-source.js';
import { gdbSource } from './gdb-source.js';
import { elfCoreSource, rawImageSource } from './image-source.js';
import { parseRegisterList } from './regime.js';
import { type PageTableSource, SourceError } from './source.js';

/** The forms a source specification takes, for messages. */
export const SOURCE_FORMS = 'FILE.json or export:FILE, image:FILE@BASE, core:FILE, gdb:HOST:PORT';

/** Options that apply to the sources of one command. */
export interface SourceOptions {
  /** `--regs NAME=VALUE,…`: registers for images and cores (override a core's note). */
  readonly regs?: string;
  /** Timeout of a live connection, in milliseconds (default 5000). */
  readonly timeoutMs?: number;
}

/**
 * Opens the source `spec` names.
 * @throws SourceError (exit 2) for a malformed spec, an unreadable or malformed file, or a failed connection.
 */
export async function openSource(spec: string, options: SourceOptions = {}): Promise<PageTableSource> {
  const regs = options.regs === undefined ? {} : parseRegisterList(options.regs, '--regs');
  const colon = spec.indexOf(':');
  const kind = colon > 0 ? spec.slice(0, colon) : '';
  const rest = spec.slice(colon + 1);
  const noRegs = (what: string) => {
    if (options.regs !== undefined) {
      throw new SourceError(
        `--regs does not apply to ${what} ${JSON.stringify(spec)}: it carries its own registers`,
      );
    }
  };
  if (kind === 'export' || (kind === '' && spec.endsWith('.json'))) {
    noRegs('the export');
    return readExportFile(kind === 'export' ? rest : spec);
  }
  if (kind === 'image') {
    const at = rest.lastIndexOf('@');
    if (at <= 0) {
      throw new SourceError(
        `source ${JSON.stringify(spec)} has no base address; expected image:FILE@BASE, e.g. image:ram.bin@0x4000_0000`,
        spec,
      );
    }
    const base = parseU64(rest.slice(at + 1), `base address of ${JSON.stringify(spec)}`);
    if (base >= 1n << 52n)
      throw new SourceError(`base address ${rest.slice(at + 1)} is above 2^52; expected a physical address`);
    return rawImageSource(rest.slice(0, at), Number(base), regs);
  }
  if (kind === 'core' || kind === 'elf') return elfCoreSource(rest, regs);
  if (kind === 'gdb') {
    noRegs('the live target');
    const c = rest.lastIndexOf(':');
    const host = c < 0 ? 'localhost' : rest.slice(0, c) || 'localhost';
    const portText = c < 0 ? rest : rest.slice(c + 1);
    const port = Number(portText);
    if (!/^[0-9]+$/.test(portText) || port < 1 || port > 65535) {
      throw new SourceError(
        `source ${JSON.stringify(spec)} has no valid port; expected gdb:HOST:PORT, e.g. gdb:localhost:1234`,
        spec,
      );
    }
    return gdbSource(host, port, options.timeoutMs ?? 5000);
  }
  throw new SourceError(`source ${JSON.stringify(spec)} is not a known form; expected ${SOURCE_FORMS}`, spec);
}
