/**
 * Import of a raw physical-memory image (or an ELF core from QEMU `dump-guest-memory`) with its
 * registers: the bytes become a page-table source of `@mmkit/scenario` (the same parser as
 * `mmkit walk --from image:FILE@BASE --regs …` and `core:FILE`), the registers select the paging
 * backend and mode (x86: CR4.PAE, EFER.LMA, CR4.LA57; AArch64: TCR_EL1), and every table reachable
 * from the roots is loaded, so the tables can be browsed and any VA walked exactly as the MMU
 * would walk the image.
 */
import type { AccessKind, ArchBackend, PrivilegeLevel } from '@mmkit/core';
import {
  bytesReader,
  elfCoreSource,
  type LoadedState,
  loadTables,
  PageTableSourceError,
  parseRegisterValue,
  rawImageSource,
  registerName,
} from '@mmkit/scenario';
import {
  decodeTable,
  explainWalk,
  type ImportedEntryView,
  type ImportedView,
  type WalkView,
} from './engine.js';
import { resolveAddress } from './scenario.js';

/** What the import form sends: the file's bytes, the base address and the register fields as typed. */
export interface ImageRequest {
  /** The file name, for messages. */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Physical address of the image's first byte (ignored for an ELF core: its segments say). */
  readonly base: string;
  /** Register fields by name (`TTBR0_EL1`, `CR3`, …); empty ones are left out. */
  readonly registers: Readonly<Record<string, string>>;
}

const hx = (v: bigint | number): string => `0x${v.toString(16)}`;
const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** A memory image loaded for browsing and walking. */
export class ImportedImage {
  private constructor(
    private readonly state: LoadedState,
    readonly view: ImportedView,
  ) {}

  get arch(): ArchBackend {
    return this.state.backend;
  }

  /**
   * Parses the fields and loads the image's tables.
   * @throws PageTableSourceError naming the field, the value and what was expected.
   */
  static async load(req: ImageRequest): Promise<ImportedImage> {
    const registers: Record<string, bigint> = {};
    for (const [field, text] of Object.entries(req.registers)) {
      if (text.trim() === '') continue;
      const name = registerName(field);
      if (name === undefined)
        throw new PageTableSourceError(`register ${JSON.stringify(field)} is not known`, field);
      registers[name] = parseRegisterValue(text, name);
    }
    if (req.name === '')
      throw new PageTableSourceError('no image file chosen; expected a raw memory image or an ELF core');
    if (req.bytes.length === 0)
      throw new PageTableSourceError(`${req.name}: the file is empty; expected a memory image`);
    const isCore = ELF_MAGIC.every((b, i) => req.bytes[i] === b);
    let source: ReturnType<typeof rawImageSource>;
    if (isCore) {
      source = elfCoreSource(`core ${req.name}`, bytesReader(req.bytes), registers);
    } else {
      if (req.base.trim() === '')
        throw new PageTableSourceError(
          'base address is empty; expected the physical address of the image\u2019s first byte, e.g. 0x40000000',
        );
      const base = parseRegisterValue(req.base, 'base address');
      if (base >= 1n << 52n)
        throw new PageTableSourceError(
          `base address ${req.base} is above 2^52; expected a physical address`,
          req.base,
        );
      source = rawImageSource(
        `image ${req.name} @ ${hx(base)}`,
        bytesReader(req.bytes),
        Number(base),
        registers,
      );
    }
    try {
      const state = await loadTables(source);
      const d = state.backend.description;
      const tables = state.tables.map((t) => {
        const bytes = state.memory.readBytes(
          t.pa,
          t.level === state.backend.geometry.rootLevel ? d.rootTableBytes : 4096,
        );
        let present = 0;
        for (let j = 0; j < bytes.length; j += d.descriptorBytes)
          if (bytes.subarray(j, j + d.descriptorBytes).some((b) => b !== 0)) present++;
        const root = state.roots.find((r) => r.pa === t.pa && t.level === state.backend.geometry.rootLevel);
        return { pa: hx(t.pa), level: state.levelName(t.level), owner: root ? root.name : 'image', present };
      });
      const notes = [
        ...source.notes,
        ...state.notes,
        ...state.unreadable.map(
          (u) => `${state.levelName(u.level)} table at ${hx(u.pa)} (from ${u.from}) is outside the image`,
        ),
      ];
      return new ImportedImage(state, {
        arch: d.id,
        machine: source.name,
        pid: null,
        registers: Object.fromEntries(Object.entries(registers).map(([k, v]) => [k, hx(v)])),
        tables,
        notes,
      });
    } finally {
      await source.close();
    }
  }

  /** The present entries of the table at `pa` (as the view spells it), decoded by the backend. */
  table(pa: string): ImportedEntryView[] {
    const t = this.state.tables.find((x) => hx(x.pa) === pa);
    if (!t) throw new PageTableSourceError(`no table at ${pa} in this image`, pa);
    const g = this.state.backend.geometry;
    const bytes = this.state.memory.readBytes(
      t.pa,
      t.level === g.rootLevel ? this.state.backend.description.rootTableBytes : 4096,
    );
    return decodeTable(this.state.backend, bytes, t.level);
  }

  /** Walks `va` through the image's tables. */
  walk(vaText: string, access: AccessKind, privilege: PrivilegeLevel): WalkView {
    let va: bigint;
    try {
      va = resolveAddress(vaText, new Map());
    } catch {
      throw new PageTableSourceError(
        `va ${JSON.stringify(vaText)} is not a number; expected 0x… or decimal`,
        vaText,
      );
    }
    return explainWalk(this.state.backend, this.state.mmu, va, access, privilege);
  }
}
