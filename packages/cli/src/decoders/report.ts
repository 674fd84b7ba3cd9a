/**
 * Architecture-independent reports of a decoded descriptor or syndrome: the
 * data behind both the text and the `--json` output of `mmkit decode`.
 * Addresses are bigints (hex strings in JSON).
 */
import type { ArchBackend, DecodedSyndrome, Field, NeutralEntry, Permissions } from '@mmkit/core';
import {
  ACCESS_NAMES,
  DescriptorError,
  formatPerms,
  isMmError,
  linuxSwapTypeMeaning,
  PRIVILEGE_NAMES,
  permMask,
} from '@mmkit/core';

/** What a descriptor is, in words people use: a page or a block is a leaf at the leaf table or above it. */
export type DescriptorKind = 'page' | 'block' | 'table' | 'absent' | 'software' | 'invalid';

/** The neutral decoding of a descriptor. */
export type NeutralReport =
  | {
      readonly kind: 'leaf';
      readonly outputAddress: bigint;
      readonly sizeBytes: number;
      readonly user: Permissions;
      readonly kernel: Permissions;
      /** `user --- kernel rw-`. */
      readonly permissions: string;
      readonly memoryType: string;
      readonly global: boolean;
      readonly accessed: boolean;
      readonly dirty: boolean;
      readonly software: number;
      readonly contiguous: boolean;
    }
  | {
      readonly kind: 'table';
      readonly nextTable: bigint;
      readonly noUser: boolean;
      readonly readOnly: boolean;
      readonly noExecuteUser: boolean;
      readonly noExecuteKernel: boolean;
    }
  | { readonly kind: 'absent' }
  | { readonly kind: 'software'; readonly payload: number }
  | { readonly kind: 'invalid'; readonly reason: string };

/** A swap PTE: the swap entry Linux encoded in a non-present leaf PTE (`ArchBackend.swap`). */
export interface SwapReport {
  /** The encoding, e.g. `Linux x86-64 swap entry (L1TF-inverted offset)`. */
  readonly format: string;
  readonly type: number;
  readonly offset: number;
  /** What the type means in Linux's default configuration (a swap device or a special entry). */
  readonly typeMeaning: string;
  /** Bytes of a page (and of a swap slot). */
  readonly pageBytes: number;
  /** Byte address of the slot in the swap device: offset × page size. */
  readonly slotByte: bigint;
  readonly exclusive: boolean;
  readonly softDirty: boolean;
  readonly uffdWp: boolean;
  /** The swap PTE field by field. */
  readonly fields: readonly Field[];
}

/** A descriptor explained field by field plus its neutral decoding. */
export interface DescriptorReport {
  readonly arch: string;
  readonly descriptor: bigint;
  readonly level: { readonly name: string; readonly internal: number };
  readonly kind: DescriptorKind;
  /** Bytes one entry at this level maps. */
  readonly entrySizeBytes: number;
  readonly fields: readonly Field[];
  readonly neutral: NeutralReport;
  /** Present when the descriptor is a swap PTE of the backend's swap encoding. */
  readonly swap?: SwapReport;
}

/** A syndrome explained field by field plus its neutral decoding (null when it is not a memory fault). */
export interface SyndromeReport {
  readonly arch: string;
  readonly register: string;
  readonly syndrome: bigint;
  readonly fields: readonly Field[];
  readonly neutral: {
    readonly exception: string;
    readonly fault: string;
    /** The architecture's level name (`L3`), or null when the fault has no level. */
    readonly level: string | null;
    readonly internalLevel: number;
    readonly access: string;
    readonly privilege: string;
  } | null;
  /** Why there is no neutral decoding. */
  readonly note?: string;
}

function kindOf(entry: NeutralEntry, level: number): DescriptorKind {
  if (entry.kind === 'leaf') return level === 1 ? 'page' : 'block';
  return entry.kind;
}

function neutralOf(entry: NeutralEntry, sizeBytes: number): NeutralReport {
  switch (entry.kind) {
    case 'leaf': {
      const a = entry.attrs;
      return {
        kind: 'leaf',
        outputAddress: BigInt(entry.pa),
        sizeBytes,
        user: a.user,
        kernel: a.kernel,
        permissions: formatPerms(permMask(a.user, a.kernel)),
        memoryType: a.memoryType,
        global: a.global,
        accessed: a.accessed,
        dirty: a.dirty,
        software: a.software,
        contiguous: a.contiguous ?? false,
      };
    }
    case 'table':
      return {
        kind: 'table',
        nextTable: BigInt(entry.pa),
        noUser: entry.attrs.noUser,
        readOnly: entry.attrs.readOnly,
        noExecuteUser: entry.attrs.noExecuteUser,
        noExecuteKernel: entry.attrs.noExecuteKernel,
      };
    default:
      return entry;
  }
}

/**
 * Explains `value` as a descriptor found at internal `level` of `backend`.
 * Never throws for a 64-bit value at a level the backend has.
 */
export function reportDescriptor(backend: ArchBackend, value: bigint, level: number): DescriptorReport {
  const lo = Number(value & 0xffff_ffffn);
  const hi = Number(value >> 32n);
  const entry = backend.codec.decode(lo, hi, level);
  const name = backend.description.levels.find((l) => l.level === level)?.name ?? String(level);
  const entrySizeBytes = backend.geometry.entrySizeBytes[level] ?? 0;
  const report: DescriptorReport = {
    arch: backend.description.id,
    descriptor: value,
    level: { name, internal: level },
    kind: kindOf(entry, level),
    entrySizeBytes,
    fields: backend.codec.describe(value, level),
    neutral: neutralOf(entry, entrySizeBytes),
  };
  const swap = backend.swap;
  const s = swap?.decode(lo, hi, level);
  if (!swap || !s) return report;
  return {
    ...report,
    swap: {
      format: swap.name,
      type: s.type,
      offset: s.offset,
      typeMeaning: linuxSwapTypeMeaning(s.type),
      pageBytes: backend.geometry.pageBytes,
      slotByte: BigInt(s.offset) * BigInt(backend.geometry.pageBytes),
      exclusive: s.exclusive,
      softDirty: s.softDirty,
      uffdWp: s.uffdWp,
      fields: swap.describe(value),
    },
  };
}

function neutralSyndrome(backend: ArchBackend, d: DecodedSyndrome): NonNullable<SyndromeReport['neutral']> {
  return {
    exception: d.exception,
    fault: d.kind,
    level: d.level === 0 ? null : (backend.description.levels.find((l) => l.level === d.level)?.name ?? null),
    internalLevel: d.level,
    access: ACCESS_NAMES[d.access],
    privilege: PRIVILEGE_NAMES[d.privilege],
  };
}

/**
 * Explains a raw syndrome. A syndrome that is not a memory fault (an SVC, say)
 * still gets its fields; `neutral` is then null and `note` says why.
 * @throws whatever the backend throws other than a DescriptorError.
 */
export function reportSyndrome(backend: ArchBackend, syndrome: bigint): SyndromeReport {
  const base = {
    arch: backend.description.id,
    register: backend.syndromes.syndromeRegister,
    syndrome,
    fields: backend.syndromes.describe(syndrome),
  };
  try {
    return { ...base, neutral: neutralSyndrome(backend, backend.syndromes.decode(syndrome)) };
  } catch (e) {
    if (!isMmError(e) || e.code !== 'E_DESCRIPTOR') throw e;
    const reason = e instanceof DescriptorError ? e.reason : e.message;
    return { ...base, neutral: null, note: `no neutral decoding: ${reason}` };
  }
}
