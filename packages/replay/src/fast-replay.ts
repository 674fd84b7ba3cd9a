/**
 * Replay of a {@link CompactTrace}: one {@link Replayer} per policy and size.
 *
 * FIFO, CLOCK, LRU, SIEVE, ARC, 2Q, LFU and OPT have specialised loops: the whole policy is a
 * few typed arrays indexed by id (no hashing, no call per reference, no allocation), with exactly
 * the conventions of the generic policies (`fifo.ts`, `clock.ts`, `lru.ts`, `sieve.ts`, and
 * `fast-arc-2q.ts`, `fast-lfu-opt.ts` for the others; property tests check equal hits on random
 * traces). Two-list and WSClock run their generic `ReplacementPolicy` over the ids. A replayer can be run in pieces (`run(ids, 0, a)`, `run(ids, a, b)`, …): its state carries
 * over, so callers can count only after a warm-up and report progress between pieces.
 *
 * The FIFO, CLOCK, LRU, SIEVE, ARC and OPT replayers are also {@link RunReplayer}s: they replay a compact trace's
 * `runs` (consecutive repeats collapsed, see `compact-trace.ts`) one step per run, which is exact
 * for these six policies only (each `runMisses` says why).
 */
import { InvalidArgumentError } from '@mmkit/core';
import { checkCapacity } from './checks.js';
import type { CompactTrace } from './compact-trace.js';
import { ArcReplayer, TwoQReplayer } from './fast-arc-2q.js';
import { LfuReplayer, OptReplayer } from './fast-lfu-opt.js';
import { computeNextUseSync } from './next-use.js';
import { createPolicy, isPolicyName, POLICY_NAMES, type PolicyName } from './policies.js';
import type { ReplacementPolicy } from './policy.js';

/** Replays a compact trace through one policy at one size, in pieces. */
export interface Replayer {
  /** The policy's name. */
  readonly policy: string;
  /** Cache size in pages. */
  readonly capacity: number;
  /** Replays `ids[start … end)` and returns the hits among them. */
  run(ids: Int32Array, start: number, end: number): number;
}

/**
 * A replayer that also replays the collapsed form of a trace ({@link CompactTrace.runs}): one step
 * per run of consecutive references to one page. Only for FIFO, CLOCK, LRU, SIEVE, ARC and OPT,
 * where a repeat of the page just referenced is provably a hit that changes nothing but CLOCK's
 * reference bit, SIEVE's visited bit and ARC's move to T2 (which the run's flag carries), or OPT's
 * next use (which the run's next run of the page gives; see each loop).
 */
export interface RunReplayer extends Replayer {
  /**
   * Replays `runs[start … end)` (each `id`, or `~id` for a run of two or more references) and
   * returns the misses among them: every reference of a run but the first is a hit.
   */
  runMisses(runs: Int32Array, start: number, end: number): number;
}

/** The policies with a specialised loop over ids. */
export const FAST_POLICY_NAMES = ['fifo', 'clock', 'lru', 'sieve', 'arc', '2q', 'lfu', 'opt'] as const;

/** A policy with a specialised loop over ids. */
export type FastPolicyName = (typeof FAST_POLICY_NAMES)[number];

/** True if `name` has a specialised replay loop over ids. */
export function isFastPolicy(name: unknown): name is FastPolicyName {
  return typeof name === 'string' && (FAST_POLICY_NAMES as readonly string[]).includes(name);
}

/** The policies that also replay a trace's runs ({@link createRunReplayer}). */
export const RUN_POLICY_NAMES = ['fifo', 'clock', 'lru', 'sieve', 'arc', 'opt'] as const;

/** A policy that also replays a trace's runs. */
export type RunPolicyName = (typeof RUN_POLICY_NAMES)[number];

/** True if `name` has a loop over runs ({@link createRunReplayer}). */
export function isRunPolicy(name: unknown): name is RunPolicyName {
  return typeof name === 'string' && (RUN_POLICY_NAMES as readonly string[]).includes(name);
}

/** FIFO: a ring of ids and one resident byte per id; a hit changes nothing. */
class FifoReplayer implements RunReplayer {
  readonly policy = 'fifo';
  private readonly resident: Uint8Array;
  private readonly ring: Int32Array;
  private size = 0;
  private hand = 0;

  constructor(
    readonly capacity: number,
    distinct: number,
  ) {
    this.resident = new Uint8Array(distinct);
    this.ring = new Int32Array(Math.min(capacity, distinct));
  }

  run(ids: Int32Array, start: number, end: number): number {
    const resident = this.resident;
    const ring = this.ring;
    const cap = this.capacity;
    let size = this.size;
    let hand = this.hand;
    let hits = 0;
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      if (resident[id] !== 0) {
        hits++;
        continue;
      }
      if (size < cap) {
        ring[size++] = id;
      } else {
        // The ring is full: its hand is the oldest page.
        resident[ring[hand]!] = 0;
        ring[hand] = id;
        hand = hand + 1 === cap ? 0 : hand + 1;
      }
      resident[id] = 1;
    }
    this.size = size;
    this.hand = hand;
    return hits;
  }

  /**
   * FIFO over runs: a hit changes nothing at all, so a repeat (always a hit: the page was just
   * referenced and nothing was loaded since) is skipped.
   */
  runMisses(runs: Int32Array, start: number, end: number): number {
    const resident = this.resident;
    const ring = this.ring;
    const cap = this.capacity;
    let size = this.size;
    let hand = this.hand;
    let misses = 0;
    // Hits skip in an inner loop (V8 compiles the two loops tighter than one loop with `continue`).
    let i = start;
    outer: while (i < end) {
      let v = runs[i++]!;
      let id = v ^ (v >> 31); // ~id → id
      while (resident[id] !== 0) {
        if (i === end) break outer;
        v = runs[i++]!;
        id = v ^ (v >> 31);
      }
      misses++;
      if (size < cap) {
        ring[size++] = id;
      } else {
        resident[ring[hand]!] = 0;
        ring[hand] = id;
        hand = hand + 1 === cap ? 0 : hand + 1;
      }
      resident[id] = 1;
    }
    this.size = size;
    this.hand = hand;
    return misses;
  }
}

/**
 * CLOCK: a ring of ids with the hand at the oldest page, and one state byte per id (0 absent,
 * 1 resident, 2 resident with the reference bit set). The generic policy moves a spared page to
 * the newest end; on a full ring that is the same as advancing the hand past it, so the ring order
 * is the queue order.
 */
class ClockReplayer implements RunReplayer {
  readonly policy = 'clock';
  private readonly state: Uint8Array;
  private readonly ring: Int32Array;
  private size = 0;
  private hand = 0;

  constructor(
    readonly capacity: number,
    distinct: number,
  ) {
    this.state = new Uint8Array(distinct);
    this.ring = new Int32Array(Math.min(capacity, distinct));
  }

  run(ids: Int32Array, start: number, end: number): number {
    const state = this.state;
    const ring = this.ring;
    const cap = this.capacity;
    let size = this.size;
    let hand = this.hand;
    let hits = 0;
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      const st = state[id]!;
      if (st !== 0) {
        hits++;
        if (st === 1) state[id] = 2;
        continue;
      }
      if (size < cap) {
        ring[size++] = id;
      } else {
        let victim = ring[hand]!;
        while (state[victim] === 2) {
          state[victim] = 1;
          hand = hand + 1 === cap ? 0 : hand + 1;
          victim = ring[hand]!;
        }
        state[victim] = 0;
        ring[hand] = id;
        hand = hand + 1 === cap ? 0 : hand + 1;
      }
      state[id] = 1;
    }
    this.size = size;
    this.hand = hand;
    return hits;
  }

  /**
   * CLOCK over runs: the first repeat of a run is a hit on a resident page and sets its bit; later
   * repeats find the bit set and change nothing. So a run is its first reference, then "bit set"
   * if it has two or more (the sign of `runs[i]`). On a hit the first reference sets the bit
   * already. Residency and the bit live in one byte per id (`state`), so a hit reads one byte.
   */
  runMisses(runs: Int32Array, start: number, end: number): number {
    const state = this.state;
    const ring = this.ring;
    const cap = this.capacity;
    let size = this.size;
    let hand = this.hand;
    let misses = 0;
    let i = start;
    outer: while (i < end) {
      let v = runs[i++]!;
      let id = v ^ (v >> 31);
      let st = state[id]!;
      while (st !== 0) {
        if (st === 1) state[id] = 2;
        if (i === end) break outer;
        v = runs[i++]!;
        id = v ^ (v >> 31);
        st = state[id]!;
      }
      misses++;
      if (size < cap) {
        ring[size++] = id;
      } else {
        let victim = ring[hand]!;
        while (state[victim] === 2) {
          state[victim] = 1;
          hand = hand + 1 === cap ? 0 : hand + 1;
          victim = ring[hand]!;
        }
        state[victim] = 0;
        ring[hand] = id;
        hand = hand + 1 === cap ? 0 : hand + 1;
      }
      state[id] = 1 + (v >>> 31); // loaded with the bit clear; a repeat sets it
    }
    this.size = size;
    this.hand = hand;
    return misses;
  }
}

/**
 * Exact LRU: a circular doubly linked list over ids with a sentinel (`distinct`), MRU first;
 * `prev[id]` is -1 for a page that is not resident (so the hit test reads the link it needs).
 */
class LruReplayer implements RunReplayer {
  readonly policy = 'lru';
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private size = 0;

  constructor(
    readonly capacity: number,
    private readonly distinct: number,
  ) {
    this.prev = new Int32Array(distinct + 1).fill(-1);
    this.next = new Int32Array(distinct + 1);
    this.prev[distinct] = distinct;
    this.next[distinct] = distinct;
  }

  run(ids: Int32Array, start: number, end: number): number {
    const prev = this.prev;
    const next = this.next;
    const head = this.distinct;
    const cap = this.capacity;
    let size = this.size;
    let first = next[head]!; // the MRU page (the sentinel when empty)
    let hits = 0;
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      const p = prev[id]!;
      if (p >= 0) {
        hits++;
        if (first === id) continue;
        // Unlink, then push at the MRU end.
        const n = next[id]!;
        next[p] = n;
        prev[n] = p;
        next[id] = first;
        prev[first] = id;
        prev[id] = head;
        next[head] = id;
        first = id;
        continue;
      }
      if (size < cap) {
        size++;
      } else {
        const victim = prev[head]!;
        const v = prev[victim]!;
        next[v] = head;
        prev[head] = v;
        prev[victim] = -1;
        if (victim === first) first = head; // capacity 1: the list is empty now
      }
      next[id] = first;
      prev[first] = id;
      prev[id] = head;
      next[head] = id;
      first = id;
    }
    this.size = size;
    return hits;
  }

  /**
   * LRU over runs: a repeat hits the most recently used page and leaves the order as it is.
   */
  runMisses(runs: Int32Array, start: number, end: number): number {
    const prev = this.prev;
    const next = this.next;
    const head = this.distinct;
    const cap = this.capacity;
    let size = this.size;
    let first = next[head]!;
    let misses = 0;
    for (let i = start; i < end; i++) {
      const v = runs[i]!;
      const id = v ^ (v >> 31);
      const p = prev[id]!;
      if (p >= 0) {
        // Consecutive runs differ, but runs built by hand may repeat the MRU page.
        if (first === id) continue;
        const n = next[id]!;
        next[p] = n;
        prev[n] = p;
        next[id] = first;
        prev[first] = id;
        prev[id] = head;
        first = id; // next[head] is written once, at the end (nothing reads it in the loop)
        continue;
      }
      misses++;
      if (size < cap) {
        size++;
      } else {
        const victim = prev[head]!;
        const pv = prev[victim]!;
        next[pv] = head;
        prev[head] = pv;
        prev[victim] = -1;
        if (victim === first) first = head;
      }
      next[id] = first;
      prev[first] = id;
      prev[id] = head;
      first = id;
    }
    next[head] = first;
    this.size = size;
    return misses;
  }
}

/**
 * SIEVE: a queue (doubly linked over ids, `newer`/`older`, sentinel `distinct`) where pages never
 * move, a visited bit per id, and a hand that resumes where it stopped (at the oldest page at
 * first or after running off the newest end).
 */
class SieveReplayer implements RunReplayer {
  readonly policy = 'sieve';
  private readonly newer: Int32Array;
  private readonly older: Int32Array;
  private readonly state: Uint8Array; // 0 absent, 1 resident, 2 resident and visited
  private size = 0;
  private hand: number;

  constructor(
    readonly capacity: number,
    private readonly distinct: number,
  ) {
    this.newer = new Int32Array(distinct + 1);
    this.older = new Int32Array(distinct + 1);
    this.newer[distinct] = distinct;
    this.older[distinct] = distinct;
    this.state = new Uint8Array(distinct);
    this.hand = distinct;
  }

  run(ids: Int32Array, start: number, end: number): number {
    const newer = this.newer;
    const older = this.older;
    const state = this.state;
    const head = this.distinct; // newer[head] = oldest page, older[head] = newest page
    const cap = this.capacity;
    let size = this.size;
    let hand = this.hand;
    let hits = 0;
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      const st = state[id]!;
      if (st !== 0) {
        hits++;
        if (st === 1) state[id] = 2;
        continue;
      }
      if (size < cap) {
        size++;
      } else {
        let n = hand === head ? newer[head]! : hand;
        while (state[n] === 2) {
          state[n] = 1;
          n = newer[n]!;
          if (n === head) n = newer[head]!;
        }
        hand = newer[n]!; // may be the sentinel: "start at the oldest" next time
        const o = older[n]!;
        newer[o] = hand;
        older[hand] = o;
        state[n] = 0;
      }
      state[id] = 1;
      const last = older[head]!;
      newer[last] = id;
      older[id] = last;
      newer[id] = head;
      older[head] = id;
    }
    this.size = size;
    this.hand = hand;
    return hits;
  }

  /**
   * SIEVE over runs: the first repeat marks the page visited, later repeats change nothing; pages
   * never move on a hit. So a run is its first reference, loaded visited if it has two or more.
   */
  runMisses(runs: Int32Array, start: number, end: number): number {
    const newer = this.newer;
    const older = this.older;
    const state = this.state;
    const head = this.distinct;
    const cap = this.capacity;
    let size = this.size;
    let hand = this.hand;
    let misses = 0;
    let i = start;
    outer: while (i < end) {
      let v = runs[i++]!;
      let id = v ^ (v >> 31);
      let st = state[id]!;
      while (st !== 0) {
        if (st === 1) state[id] = 2;
        if (i === end) break outer;
        v = runs[i++]!;
        id = v ^ (v >> 31);
        st = state[id]!;
      }
      misses++;
      if (size < cap) {
        size++;
      } else {
        let n = hand === head ? newer[head]! : hand;
        while (state[n] === 2) {
          state[n] = 1;
          n = newer[n]!;
          if (n === head) n = newer[head]!;
        }
        hand = newer[n]!;
        const o = older[n]!;
        newer[o] = hand;
        older[hand] = o;
        state[n] = 0;
      }
      state[id] = 1 + (v >>> 31);
      const last = older[head]!;
      newer[last] = id;
      older[id] = last;
      newer[id] = head;
      older[head] = id;
    }
    this.size = size;
    this.hand = hand;
    return misses;
  }
}

/** Any policy through the generic interface, with the ids as keys. */
class PolicyReplayer implements Replayer {
  readonly policy: string;
  readonly capacity: number;

  constructor(private readonly p: ReplacementPolicy) {
    this.policy = p.name;
    this.capacity = p.capacity;
  }

  run(ids: Int32Array, start: number, end: number): number {
    const p = this.p;
    let hits = 0;
    for (let i = start; i < end; i++) if (p.access(ids[i]!)) hits++;
    return hits;
  }
}

/** Options of {@link createReplayer}. */
export interface ReplayerOptions {
  /** WSClock's τ. */
  readonly tau?: number;
  /** OPT: next-use positions of `trace.ids` (computed from the trace if absent). */
  readonly nextUse?: Float64Array;
  /** Use the generic policy even where a specialised loop exists (tests compare the two). */
  readonly generic?: boolean;
}

function nextUseOf(trace: CompactTrace, options: ReplayerOptions): Float64Array {
  return options.nextUse ?? computeNextUseSync(trace.ids.subarray(0, trace.length));
}

/**
 * A replayer for `policy` at `capacity` pages over `trace`.
 * @throws InvalidArgumentError for an unknown policy or a bad capacity.
 */
export function createReplayer(
  policy: PolicyName,
  capacity: number,
  trace: CompactTrace,
  options: ReplayerOptions = {},
): Replayer {
  if (!isPolicyName(policy)) {
    throw new InvalidArgumentError('replay policy', policy, `one of ${POLICY_NAMES.join(', ')}`);
  }
  checkCapacity(`${policy} capacity`, capacity);
  if (options.generic !== true) {
    switch (policy) {
      case 'fifo':
        return new FifoReplayer(capacity, trace.distinct);
      case 'clock':
        return new ClockReplayer(capacity, trace.distinct);
      case 'lru':
        return new LruReplayer(capacity, trace.distinct);
      case 'sieve':
        return new SieveReplayer(capacity, trace.distinct);
      case 'arc':
        return new ArcReplayer(capacity, trace.distinct);
      case '2q':
        return new TwoQReplayer(capacity, trace.distinct);
      case 'lfu':
        return new LfuReplayer(capacity, trace.distinct);
      case 'opt':
        // Next uses are computed on the first `run` (replay over runs does not need them).
        return new OptReplayer(
          capacity,
          trace.distinct,
          options.nextUse ?? (() => nextUseOf(trace, options)),
        );
      default:
        break;
    }
  }
  const nextUse = policy === 'opt' ? nextUseOf(trace, options) : undefined;
  return new PolicyReplayer(
    createPolicy(policy, capacity, {
      ...(nextUse === undefined ? {} : { nextUse }),
      ...(options.tau === undefined ? {} : { tau: options.tau }),
    }),
  );
}

/**
 * A replayer for FIFO, CLOCK, LRU, SIEVE, ARC or OPT at `capacity` pages over `trace` that can
 * also replay its runs ({@link RunReplayer.runMisses}).
 * @throws InvalidArgumentError for another policy (LFU counts every repeat, 2Q with fewer than 4 pages caches nothing so a repeat misses, …) or a bad capacity.
 */
export function createRunReplayer(policy: RunPolicyName, capacity: number, trace: CompactTrace): RunReplayer {
  if (!isRunPolicy(policy)) {
    throw new InvalidArgumentError('run replay policy', policy, `one of ${RUN_POLICY_NAMES.join(', ')}`);
  }
  return createReplayer(policy, capacity, trace) as RunReplayer;
}
