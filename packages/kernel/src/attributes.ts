/**
 * Choosing neutral leaf attributes the backend can express, without knowing
 * the architecture: the kernel states what it needs (user permissions, memory
 * type, global) and tries candidate kernel-side permissions from the most to
 * the least restrictive until the codec accepts one. Results are cached.
 * E.g. user text r-x: AArch64 accepts kernel r-- (PXN set); x86 has one NX bit
 * for both, so kernel r-x is what it can express.
 */
import {
  type ArchBackend,
  leafTemplate as coreLeafTemplate,
  isMmError,
  type LeafAttributes,
  type LeafTemplate,
  MEMORY_TYPES,
  type MemoryType,
  type Permissions,
  UnrepresentableError,
} from '@mmkit/core';
import { checkArch, checkLeafAttributes, invalidArgument, isPermissions } from './syscalls.js';

/** What a mapping needs. */
export interface MappingRequest {
  readonly user: Permissions;
  /** Kernel permissions wanted when user permissions are none (kernel mappings). */
  readonly kernel?: Permissions;
  readonly memoryType: MemoryType;
  readonly global: boolean;
}

const NONE: Permissions = { read: false, write: false, execute: false };
const fmt = (p: Permissions) => `${p.read ? 'r' : '-'}${p.write ? 'w' : '-'}${p.execute ? 'x' : '-'}`;

/** See the module documentation. */
export class AttributeChooser {
  private readonly cache = new Map<string, LeafAttributes>();
  /**
   * Requests that could only be met by granting more than asked, one line each (e.g. execute
   * on a backend without execute-never). Empty when every mapping is exact.
   */
  readonly widened: string[] = [];

  constructor(private readonly backend: ArchBackend) {
    checkArch(backend);
  }

  /**
   * Leaf attributes for a mapping, as mapped fresh by a fault (accessed; dirty
   * only where the hardware cannot track dirtiness).
   * @throws UnrepresentableError if no candidate can be expressed at `level`.
   */
  leaf(req: MappingRequest, level = 1): LeafAttributes {
    if (
      req === null ||
      typeof req !== 'object' ||
      !isPermissions(req.user) ||
      (req.kernel !== undefined && !isPermissions(req.kernel)) ||
      !MEMORY_TYPES.includes(req.memoryType) ||
      typeof req.global !== 'boolean'
    )
      throw invalidArgument(
        'mapping request',
        req,
        '{ user: { read, write, execute }, kernel?, memoryType, global }',
      );
    if (typeof level !== 'number' || !Number.isInteger(level) || level < 1 || level > 7)
      throw invalidArgument('level', level, 'a page-table level (1 = the last level)');
    const key = `${+req.user.read}${+req.user.write}${+req.user.execute}${req.kernel ? `${+req.kernel.read}${+req.kernel.write}${+req.kernel.execute}` : '-'}${req.memoryType}${+req.global}@${level}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const u = req.user;
    const userAny = u.read || u.write || u.execute;
    const kernelCandidates: Permissions[] = req.kernel
      ? [req.kernel]
      : userAny
        ? [
            { read: true, write: u.write, execute: false },
            { read: true, write: u.write, execute: u.execute },
            { read: true, write: true, execute: false },
            { read: true, write: true, execute: u.execute },
          ]
        : // No user access at all (PROT_NONE): a kernel-only leaf keeps the frame mapped (AArch64
          // always grants EL1 read; x86 U/S=0), so mprotect back to rw- finds the data again.
          [NONE, { read: true, write: false, execute: false }, { read: true, write: true, execute: false }];
    // Without any execute-never control, readable memory is executable: widen, and say so.
    const noNx = !this.backend.description.capabilities.noExecute;
    const widen = (p: Permissions): Permissions => (noNx && p.read ? { ...p, execute: true } : p);
    const exact = kernelCandidates.map((k) => ({ user: u, kernel: k }));
    // Where user write or execute cannot exist without user read (x86: U/S=1 always grants read).
    const readable = { ...u, read: u.read || u.write || u.execute };
    const widened = [
      ...(readable.read !== u.read ? kernelCandidates.map((k) => ({ user: readable, kernel: k })) : []),
      ...(noNx ? kernelCandidates.map((k) => ({ user: widen(readable), kernel: widen(k) })) : []),
    ];
    const hwDirty = this.backend.description.capabilities.hardwareDirty;
    for (const cand of [...exact, ...widened]) {
      const { kernel } = cand;
      const writable = u.write || kernel.write;
      const attrs: LeafAttributes = {
        user: { ...cand.user },
        kernel: { ...kernel },
        global: req.global,
        memoryType: req.memoryType,
        accessed: true,
        dirty: writable && (!hwDirty || req.global),
        software: 0,
      };
      try {
        // Canonical form: exactly what the tables will decode to (e.g. contiguous: false).
        const raw = this.backend.codec.encode({ kind: 'leaf', pa: 0, attrs }, level);
        const decoded = this.backend.codec.decode(raw.lo, raw.hi, level);
        const canonical = decoded.kind === 'leaf' ? decoded.attrs : attrs;
        this.cache.set(key, canonical);
        if (cand.user !== u || !exact.includes(cand)) {
          const asked = `user ${fmt(u)}${req.kernel ? ` kernel ${fmt(req.kernel)}` : ''} ${req.memoryType}${req.global ? ' global' : ''}`;
          this.widened.push(
            `${asked} at level ${level}: ${this.backend.description.id} cannot express it exactly${noNx ? ' (no execute-never: readable memory is executable)' : ' (user access implies read)'}; mapped user ${fmt(canonical.user)}, kernel ${fmt(canonical.kernel)}`,
          );
        }
        return canonical;
      } catch (e) {
        if (!isMmError(e) || e.code !== 'E_UNREPRESENTABLE') throw e;
      }
    }
    throw new UnrepresentableError(this.backend.description.id, level, `no encoding for mapping ${key}`);
  }
}

export type { LeafTemplate } from '@mmkit/core';

/**
 * Leaf templates moved to `@mmkit/core` (`leafTemplate`, `LeafTemplate`, used with
 * `PageTableEditor.fillAbsent`); this is core's, with the arguments checked first for existing
 * importers from plain JavaScript.
 * @throws InvalidArgumentError for a non-backend, attributes that are not LeafAttributes or a bad
 *   level; UnrepresentableError (from the codec) if `attrs` cannot be encoded at `level`.
 */
export function leafTemplate(
  backend: ArchBackend,
  attrs: LeafAttributes,
  level = 1,
): LeafTemplate | undefined {
  checkArch(backend);
  checkLeafAttributes('attrs', attrs);
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 1 || level > 7)
    throw invalidArgument('level', level, 'a page-table level (1 = the last level)');
  return coreLeafTemplate(backend, attrs, level);
}

/** Permissions helper: `perms('rw-')`. */
export function perms(spec: string): Permissions {
  if (typeof spec !== 'string' || !/^[r-][w-][x-]$/.test(spec))
    throw invalidArgument('permission spec', spec, 'three characters like "rw-" (r or -, w or -, x or -)');
  return { read: spec[0] === 'r', write: spec[1] === 'w', execute: spec[2] === 'x' };
}
