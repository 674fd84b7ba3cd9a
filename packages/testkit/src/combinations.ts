/**
 * Exhaustive neutral-attribute spaces, derived only from a backend's description.
 */
import {
  type ArchDescription,
  type LeafAttributes,
  MEMORY_TYPES,
  type Permissions,
  type TableAttributes,
} from '@mmkit/core';

/** The 8 read/write/execute combinations, index = r | w << 1 | x << 2. */
export const PERMISSION_SETS: readonly Permissions[] = Array.from({ length: 8 }, (_, i) =>
  Object.freeze({ read: (i & 1) !== 0, write: (i & 2) !== 0, execute: (i & 4) !== 0 }),
);

/** Number of permissions granted by a user/kernel pair. */
export function permissionCount(user: Permissions, kernel: Permissions): number {
  let n = 0;
  for (const p of [user, kernel]) n += (p.read ? 1 : 0) + (p.write ? 1 : 0) + (p.execute ? 1 : 0);
  return n;
}

/** Every user × kernel permission pair (64), most permissive first (stable within a count). */
export function permissionPairs(): { user: Permissions; kernel: Permissions }[] {
  const out: { user: Permissions; kernel: Permissions }[] = [];
  for (const user of PERMISSION_SETS) for (const kernel of PERMISSION_SETS) out.push({ user, kernel });
  return out.sort((a, b) => permissionCount(b.user, b.kernel) - permissionCount(a.user, a.kernel));
}

/** Software values the suite tries: 0, 1 and the maximum (deduplicated). */
export function softwareValues(description: ArchDescription): number[] {
  const max = 2 ** description.capabilities.softwareBits - 1;
  return [...new Set([0, Math.min(1, max), max])];
}

/**
 * Every combination of neutral leaf attributes: user r/w/x × kernel r/w/x × global ×
 * memory type × accessed × dirty × software {0, 1, max} × contiguous {false, true if the
 * backend has a contiguous hint}. `contiguous` is always present (false when unused).
 */
export function* leafAttributeCombinations(description: ArchDescription): Generator<LeafAttributes> {
  const contiguous = description.capabilities.contiguousEntries > 0 ? [false, true] : [false];
  const software = softwareValues(description);
  for (const user of PERMISSION_SETS) {
    for (const kernel of PERMISSION_SETS) {
      for (const global of [false, true]) {
        for (const memoryType of MEMORY_TYPES) {
          for (const accessed of [false, true]) {
            for (const dirty of [false, true]) {
              for (const sw of software) {
                for (const c of contiguous) {
                  yield { user, kernel, global, memoryType, accessed, dirty, software: sw, contiguous: c };
                }
              }
            }
          }
        }
      }
    }
  }
}

/** Every combination of table attributes (noUser × readOnly × noExecuteUser × noExecuteKernel × accessed). */
export function tableAttributeCombinations(): TableAttributes[] {
  const out: TableAttributes[] = [];
  for (let i = 0; i < 32; i++) {
    out.push({
      noUser: (i & 1) !== 0,
      readOnly: (i & 2) !== 0,
      noExecuteUser: (i & 4) !== 0,
      noExecuteKernel: (i & 8) !== 0,
      accessed: (i & 16) !== 0,
    });
  }
  return out;
}
