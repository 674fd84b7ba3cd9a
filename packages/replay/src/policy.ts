/**
 * The one replacement-policy interface that the kernel's reclaim and offline trace replay both
 * drive.
 *
 * ## Contract
 *
 * Keys are page numbers: non-negative safe integers (< 2^53). A policy tracks at most `capacity`
 * resident keys (plus, for ARC and 2Q, non-resident "ghost" keys that remember recent
 * evictions). Every operation is O(1) (FIFO, CLOCK, LRU, SIEVE, 2Q, ARC; CLOCK-like scans are
 * amortised O(1)) or O(log n) (LFU, OPT), and none allocates: state lives in typed arrays sized
 * once by the capacity. Only {@link ReplacementPolicy.state} allocates.
 *
 * Two ways to drive a policy:
 *
 * - **Offline replay** calls {@link ReplacementPolicy.access} once per reference. It is exactly
 *   `if (has(key)) { referenced(key); return true } while (size === capacity) selectVictim();
 *   insert(key); return false` — with the one-step libCacheSim semantics of each policy (a ghost
 *   hit in ARC/2Q is seen by the eviction that follows it).
 * - **A kernel** owns residency: it calls {@link ReplacementPolicy.insert} when a page is
 *   loaded, {@link ReplacementPolicy.referenced} when software sees a use (a fault on a
 *   resident page, `mark_page_accessed`), {@link ReplacementPolicy.remove} when a page is freed,
 *   unmapped or mlocked, and {@link ReplacementPolicy.selectVictim} when it needs a frame. The
 *   hardware accessed bit (AArch64 AF, x86 A) is not seen by the policy on every access; policies
 *   that scan reference bits (CLOCK, SIEVE, two-list, WSClock) ask the kernel through the
 *   `isReferenced` callback and clear it through `clearReferenced` (which must do the TLB
 *   invalidation the architecture requires, and after which `isReferenced(key)` must be false).
 *   For those policies "referenced" means the policy's own bit OR the hardware bit. Policies that
 *   need every reference (LRU, LFU, ARC, 2Q, OPT) see only what `referenced()` reports and never
 *   call the callbacks.
 *
 * Misuse (inserting a resident key, inserting into a full policy, a key that is not a
 * non-negative safe integer in `insert`/`remove`/`referenced`) throws core's
 * `InvalidArgumentError`. `access` does not validate its key (it is the replay hot path): pass
 * only non-negative safe integers.
 */

/** Asks the kernel whether the hardware accessed bit of a resident page is set. */
export type IsReferenced = (key: number) => boolean;
/**
 * Asks the kernel to clear the hardware accessed bit of a resident page (with its TLB flush).
 * `activated` tells the kernel why: true when the policy keeps the page *because* it was
 * referenced — two-list activates it (Linux `folio_check_references` → `FOLIOREF_ACTIVATE`),
 * CLOCK, SIEVE and WSClock give it its second chance — and false when the bit is only aged: the
 * two-list's demotion of an active page (`shrink_active_list`) or its first reference of an
 * inactive one, which rotates it (`FOLIOREF_KEEP`). A kernel frees a kept swap-cache page's slot
 * on activation when swap is short (Linux `shrink_folio_list`'s `activate_locked`).
 */
export type ClearReferenced = (key: number, activated: boolean) => void;

/** A snapshot of a policy for teaching and debugging (the playground draws it). */
export interface PolicyState {
  readonly name: string;
  readonly capacity: number;
  readonly size: number;
  /**
   * Resident keys in the order the policy considers them for eviction: for list policies oldest
   * (or least recently used) first; for a clock, starting at the hand.
   */
  readonly resident: readonly number[];
  /** Position of the clock hand in `resident` (0 for CLOCK, whose hand is the oldest page), or -1. */
  readonly hand: number;
  /** Resident keys whose policy-side reference (or visited) bit is set. */
  readonly referenced: readonly number[];
  /** The policy's lists by name (ARC's T1/T2/B1/B2, 2Q's A1in/A1out/Am, …), oldest first. */
  readonly lists: Readonly<Record<string, readonly number[]>>;
  /** Scalar state by name (ARC's `p`, WSClock's virtual time, per-key counts as `count:<key>`). */
  readonly values: Readonly<Record<string, number>>;
}

/** A page-replacement policy. See the module documentation for the contract. */
export interface ReplacementPolicy {
  /** Short lower-case name: `fifo`, `clock`, `lru`, `opt`, `lfu`, `arc`, `2q`, `sieve`, `two-list`, `wsclock`. */
  readonly name: string;
  /** Maximum number of resident pages. */
  readonly capacity: number;
  /** Number of resident pages (ghost entries not counted). */
  readonly size: number;
  /** Whether `key` is resident (ghost entries are not). */
  has(key: number): boolean;
  /**
   * One reference in offline replay: true on a hit. On a miss the policy evicts as it needs and
   * loads `key` (except 2Q with Kin = 0, which never admits). Never throws.
   */
  access(key: number): boolean;
  /**
   * A kernel loaded `key`. Precondition: not resident and `size < capacity`.
   * @returns -1, or a key that is no longer resident because of this insertion — the kernel must
   *   evict it too. Only 2Q does this: a page promoted from its ghost queue into a full Am pushes
   *   out Am's LRU page; with Kin = 0 it returns `key` itself (not admitted).
   * @throws InvalidArgumentError if `key` is invalid or resident, or the policy is full.
   */
  insert(key: number): number;
  /**
   * Software saw a use of `key` (what `access` does on a hit). Returns false (and does nothing)
   * if `key` is not resident.
   * @throws InvalidArgumentError if `key` is not a non-negative safe integer.
   */
  referenced(key: number): boolean;
  /**
   * The page was freed, unmapped or pinned: forget it without counting an eviction (ghost entries
   * for it are dropped too). Returns whether it was resident.
   * @throws InvalidArgumentError if `key` is not a non-negative safe integer.
   */
  remove(key: number): boolean;
  /**
   * Chooses a victim, takes it out of the resident set and returns its key (-1 if nothing is
   * resident). Reference-bit policies consult `isReferenced` and call `clearReferenced` on the
   * pages they give a second chance. `incoming`, when known, is the key about to be loaded: ARC
   * uses it to recognise a ghost hit (adapting `p` as `access` would); other policies ignore it.
   */
  selectVictim(isReferenced?: IsReferenced, clearReferenced?: ClearReferenced, incoming?: number): number;
  /**
   * Policies with ghost entries (ARC's B1/B2, 2Q's A1out) only: renames the ghost entry of
   * `from` to `to`, keeping its place in its ghost list, so that a later `insert(to)` (or
   * `access(to)`) is the ghost hit `from` would have been. A kernel whose keys are frames, which
   * it reuses for unrelated pages, moves the ghost of an evicted frame to a key naming where the
   * page went (Linux keeps a shadow entry in the swap slot, mm/workingset.c `workingset_eviction`)
   * and back to the frame the page is read into (`workingset_refault`). Returns false, changing
   * nothing, when `from` is not a ghost entry or `to` is resident or a ghost entry. O(1).
   * @throws InvalidArgumentError if `from` or `to` is not a non-negative safe integer.
   */
  renameGhost?(from: number, to: number): boolean;
  /** A snapshot for teaching (allocates). */
  state(): PolicyState;
  /** Forgets everything: empty, as just created. */
  reset(): void;
}

/** The callback a replay passes: no hardware bits. */
export const NEVER_REFERENCED: IsReferenced = () => false;
/** The callback a replay passes: nothing to clear. */
export const NO_CLEAR: ClearReferenced = () => {};
