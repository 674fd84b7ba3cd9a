/**
 * The 2 MiB regions of a machine replay (`machine-replay.ts`, "The process and its layout"): each
 * is mapped on its first access and widened when an access needs more, and a direct-mapped cache
 * of typed arrays (region index → page shift and allowed access kinds) sits in front of the Map
 * for the replay's hot loop, which reads {@link RegionMap.tag}, {@link RegionMap.delta} and
 * {@link RegionMap.allow} directly.
 */
import { type AccessKind, InvalidArgumentError } from '@mmkit/core';
import { type Kernel, MAP, PROT, type Process, protString } from '@mmkit/kernel';
import type { MachineReplayRegion } from './machine-replay-types.js';

/** Pages per region (2 MiB of 4 KiB pages); see the module documentation of `machine-replay.ts`. */
export const MACHINE_REPLAY_REGION_PAGES = 512;
/** Entries of the region cache (a power of two). */
export const REGION_CACHE = 256;
const REGION_BYTES = MACHINE_REPLAY_REGION_PAGES * 4096;

interface Region {
  readonly tracePage: number;
  readonly page: number;
  prot: number;
}

/** See the module documentation. */
export class RegionMap {
  /** Region index cached in each slot (-1: none). */
  readonly tag = new Float64Array(REGION_CACHE).fill(-1);
  /** Page shift of the cached region (mapped page − trace page). */
  readonly delta = new Float64Array(REGION_CACHE);
  /** Access kinds the cached region allows: bit 1 << kind (read 1, write 2, fetch 4). */
  readonly allow = new Uint8Array(REGION_CACHE);
  private readonly regions = new Map<number, Region>();

  constructor(private readonly kernel: Kernel) {}

  /**
   * Maps the region of `page` in `proc` (or widens its permissions for `kind`) and caches it in
   * slot `ci`. Returns undefined, or why it failed (the replay stops there; nothing changed).
   * @throws InvalidArgumentError for a page that is not an integer in [0, 2^52) or a kind other
   *   than 0, 1, 2, named by `position` in the trace.
   */
  miss(proc: Process, page: number, kind: AccessKind, ci: number, position: number): string | undefined {
    if (!(Number.isInteger(page) && page >= 0 && page < 2 ** 52)) {
      throw new InvalidArgumentError(
        `trace[${position}]`,
        page,
        'a 4 KiB page number: an integer in [0, 2^52)',
      );
    }
    if (kind !== 0 && kind !== 1 && kind !== 2) {
      throw new InvalidArgumentError(`kinds[${position}]`, kind, '0 (read), 1 (write) or 2 (fetch)');
    }
    const index = Math.floor(page / MACHINE_REPLAY_REGION_PAGES);
    const want = kind === 2 ? PROT.READ | PROT.EXEC : PROT.READ | PROT.WRITE;
    let r = this.regions.get(index);
    const k = this.kernel;
    if (r === undefined) {
      const tracePage = index * MACHINE_REPLAY_REGION_PAGES;
      const flags = MAP.PRIVATE | MAP.ANONYMOUS;
      // Region 0 holds address 0, below mmap_min_addr: Linux refuses a fixed mapping there
      // (security_mmap_addr → EPERM), so it is always placed by mmap.
      let got =
        index === 0
          ? undefined
          : k.mmap(proc, BigInt(tracePage) * 4096n, REGION_BYTES, want, flags | MAP.FIXED_NOREPLACE);
      if (!got?.ok) got = k.mmap(proc, 0, REGION_BYTES, want, flags);
      if (!got.ok) {
        return `no room for the 2 MiB region at 0x${(tracePage * 4096).toString(16)}: mmap ${got.errno}`;
      }
      r = { tracePage, page: Number(got.value / 4096n), prot: want };
      this.regions.set(index, r);
    } else if ((r.prot & want) !== want) {
      const prot = r.prot | want;
      const res = k.mprotect(proc, BigInt(r.page) * 4096n, REGION_BYTES, prot);
      if (!res.ok) {
        return `mprotect of the region at 0x${(r.page * 4096).toString(16)} to ${protString(prot)} failed: ${res.errno}`;
      }
      r.prot = prot;
    }
    this.tag[ci] = index;
    this.delta[ci] = r.page - r.tracePage;
    this.allow[ci] =
      ((r.prot & PROT.READ) !== 0 ? 1 : 0) |
      ((r.prot & PROT.WRITE) !== 0 ? 2 : 0) |
      ((r.prot & PROT.EXEC) !== 0 ? 4 : 0);
    return undefined;
  }

  /** The regions mapped so far, by trace address. */
  list(): MachineReplayRegion[] {
    return [...this.regions.values()]
      .sort((a, b) => a.tracePage - b.tracePage)
      .map((r) => ({ tracePage: r.tracePage, page: r.page, prot: protString(r.prot) }));
  }
}
