/**
 * Specialised replay loops for ARC and 2Q over compact ids (see `fast-replay.ts`): every list is
 * an intrusive circular doubly linked list over ids in two `Int32Array`s (`older`/`newer`) with
 * one sentinel per list (ids `distinct`, `distinct + 1`, …; `newer[sentinel]` is the list's
 * oldest page, `older[sentinel]` its newest), one byte per id says which list holds it, and list
 * lengths live in locals. No hashing, no call and no allocation per reference.
 *
 * The generic objects (`arc.ts`, `two-q.ts`) stay the reference: these loops make exactly the
 * same decisions in the same order (`fast-arc-2q.test.ts` compares them hit by hit on random
 * traces and shows the comparison catches a planted bug).
 */
import type { Replayer, RunReplayer } from './fast-replay.js';

// ARC's lists (the byte per id; 0 = not in the directory). Sentinel of list l: distinct + l - 1.
const T1 = 1;
const T2 = 2;
const B1 = 3;
const B2 = 4;

/**
 * ARC exactly as `arc.ts` (libCacheSim `ARC.c`): real-valued target `p`, ghost hits adapt `p`
 * with the list sizes before the ghost is removed, REPLACE takes T1's oldest when `|T1| > p` (or
 * `|T1| = p` on a B2 hit), eviction only when the cache is full.
 */
export class ArcReplayer implements RunReplayer {
  readonly policy = 'arc';
  private readonly list: Uint8Array;
  private readonly older: Int32Array;
  private readonly newer: Int32Array;
  private t1 = 0;
  private t2 = 0;
  private b1 = 0;
  private b2 = 0;
  /** The target size of T1 (real-valued, 0 ≤ p ≤ C). */
  private p = 0;

  constructor(
    readonly capacity: number,
    private readonly distinct: number,
  ) {
    this.list = new Uint8Array(distinct);
    this.older = new Int32Array(distinct + 4);
    this.newer = new Int32Array(distinct + 4);
    for (let s = distinct; s < distinct + 4; s++) {
      this.older[s] = s;
      this.newer[s] = s;
    }
  }

  /** The current target size of T1 (tests compare it with `ArcPolicy.target`). */
  get target(): number {
    return this.p;
  }

  run(ids: Int32Array, start: number, end: number): number {
    // Hits (the common case) in a tight loop; a miss is one call to `miss` (T1 and T2's lengths
    // go through the fields around it).
    const list = this.list;
    const older = this.older;
    const newer = this.newer;
    const sT2 = this.distinct + 1;
    let t1 = this.t1;
    let t2 = this.t2;
    let hits = 0;
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      const l = list[id]!;
      if (l === T2) {
        // Move to the newest end of T2 (nothing to do if it is there already).
        hits++;
        const last = older[sT2]!;
        if (last === id) continue;
        const o = older[id]!;
        const n = newer[id]!;
        newer[o] = n;
        older[n] = o;
        newer[last] = id;
        older[id] = last;
        newer[id] = sT2;
        older[sT2] = id;
        continue;
      }
      if (l === T1) {
        hits++;
        const o = older[id]!;
        const n = newer[id]!;
        newer[o] = n;
        older[n] = o;
        const last = older[sT2]!;
        newer[last] = id;
        older[id] = last;
        newer[id] = sT2;
        older[sT2] = id;
        list[id] = T2;
        t1--;
        t2++;
        continue;
      }
      this.t1 = t1;
      this.t2 = t2;
      this.miss(id, l);
      t1 = this.t1;
      t2 = this.t2;
    }
    this.t1 = t1;
    this.t2 = t2;
    return hits;
  }

  /**
   * ARC over runs: the first reference of a run is a hit (the page moves to T2's newest end) or a
   * miss (loaded into T1, or into T2 after a ghost hit); a second reference is then a hit that
   * moves it to T2's newest end, and later ones find it there and change nothing. So a run is its
   * first reference, then "to T2's newest end" if it has two or more (the sign of `runs[i]`).
   */
  runMisses(runs: Int32Array, start: number, end: number): number {
    const list = this.list;
    const older = this.older;
    const newer = this.newer;
    const sT2 = this.distinct + 1;
    let t1 = this.t1;
    let t2 = this.t2;
    let misses = 0;
    for (let i = start; i < end; i++) {
      const v = runs[i]!;
      const id = v ^ (v >> 31);
      let l = list[id]!;
      if (l !== T1 && l !== T2) {
        misses++;
        this.t1 = t1;
        this.t2 = t2;
        this.miss(id, l);
        t1 = this.t1;
        t2 = this.t2;
        if (v >= 0) continue;
        l = list[id]!; // T1, or T2 (at its newest end) after a ghost hit
      }
      const last = older[sT2]!;
      if (last === id) continue;
      const o = older[id]!;
      const n = newer[id]!;
      newer[o] = n;
      older[n] = o;
      newer[last] = id;
      older[id] = last;
      newer[id] = sT2;
      older[sT2] = id;
      if (l === T1) {
        list[id] = T2;
        t1--;
        t2++;
      }
    }
    this.t1 = t1;
    this.t2 = t2;
    return misses;
  }

  /** A reference to `id`, not resident, in list `l` (0, B1 or B2). */
  private miss(id: number, l: number): void {
    const list = this.list;
    const older = this.older;
    const newer = this.newer;
    const c = this.capacity;
    const sT1 = this.distinct;
    const sT2 = sT1 + 1;
    const sB1 = sT1 + 2;
    const sB2 = sT1 + 3;
    let t1 = this.t1;
    let t2 = this.t2;
    let b1 = this.b1;
    let b2 = this.b2;
    let p = this.p;
    let ghost = 0;
    if (l !== 0) {
      // Ghost hit: adapt p with the sizes before the ghost leaves (arc.ts takeGhost), drop it.
      if (l === B1) {
        p = Math.min(p + Math.max(b2 / b1, 1), c);
        b1--;
      } else {
        p = Math.max(p - Math.max(b1 / b2, 1), 0);
        b2--;
      }
      const o = older[id]!;
      const n = newer[id]!;
      newer[o] = n;
      older[n] = o;
      list[id] = 0;
      ghost = l;
    }
    if (t1 + t2 >= c) {
      // One eviction (libCacheSim ARC_evict; arc.ts evictStep): the cache holds at most C pages.
      let replace = true;
      if (ghost === 0) {
        if (t1 + b1 + 1 > c) {
          if (b1 > 0) {
            const v = newer[sB1]!;
            const n = newer[v]!;
            newer[sB1] = n;
            older[n] = sB1;
            list[v] = 0;
            b1--;
          } else {
            // T1's oldest leaves with no ghost.
            const v = newer[sT1]!;
            const n = newer[v]!;
            newer[sT1] = n;
            older[n] = sT1;
            list[v] = 0;
            t1--;
            replace = false;
          }
        } else if (t1 + b1 + t2 + b2 >= 2 * c && b2 > 0) {
          const v = newer[sB2]!;
          const n = newer[v]!;
          newer[sB2] = n;
          older[n] = sB2;
          list[v] = 0;
          b2--;
        }
      }
      if (replace) {
        // REPLACE: T1's or T2's oldest page becomes the newest ghost of B1 or B2.
        const fromT1 = (t1 > 0 && (t1 > p || (t1 === p && ghost === B2))) || t2 === 0;
        const from = fromT1 ? sT1 : sT2;
        const to = fromT1 ? sB1 : sB2;
        const v = newer[from]!;
        const n = newer[v]!;
        newer[from] = n;
        older[n] = from;
        const o = older[to]!;
        newer[o] = v;
        older[v] = o;
        newer[v] = to;
        older[to] = v;
        if (fromT1) {
          t1--;
          b1++;
          list[v] = B1;
        } else {
          t2--;
          b2++;
          list[v] = B2;
        }
      }
    }
    if (t1 + t2 + b1 + b2 === 2 * c + 2) {
      // The generic policy's node pool (2C + 2 entries, arc.ts `load`) is full: it drops the
      // oldest ghost (B1 first) to make room.
      const fromB1 = b1 > 0;
      const s = fromB1 ? sB1 : sB2;
      const v = newer[s]!;
      const n = newer[v]!;
      newer[s] = n;
      older[n] = s;
      list[v] = 0;
      if (fromB1) b1--;
      else b2--;
    }
    // Load: a ghost hit goes to T2, anything else to T1.
    const s = ghost !== 0 ? sT2 : sT1;
    const o = older[s]!;
    newer[o] = id;
    older[id] = o;
    newer[id] = s;
    older[s] = id;
    if (ghost !== 0) {
      list[id] = T2;
      t2++;
    } else {
      list[id] = T1;
      t1++;
    }
    this.t1 = t1;
    this.t2 = t2;
    this.b1 = b1;
    this.b2 = b2;
    this.p = p;
  }
}

// 2Q's lists (the byte per id; 0 = not in the directory). Sentinel of list l: distinct + l - 1.
const AIN = 1;
const AOUT = 2;
const AM = 3;

/**
 * 2Q exactly as `two-q.ts` (libCacheSim `TwoQ.c` with its default ratios): Kin = ⌊0.25 C⌋ (A1in,
 * FIFO), Kout = ⌊0.5 C⌋ (A1out, ghost FIFO), Am LRU with its own limit C − Kin; with Kin = 0
 * nothing is cached.
 */
export class TwoQReplayer implements Replayer {
  readonly policy = '2q';
  readonly kin: number;
  readonly kout: number;
  private readonly list: Uint8Array;
  private readonly older: Int32Array;
  private readonly newer: Int32Array;
  private ain = 0;
  private aout = 0;
  private am = 0;

  constructor(
    readonly capacity: number,
    private readonly distinct: number,
  ) {
    this.kin = Math.floor(capacity * 0.25);
    this.kout = Math.floor(capacity * 0.5);
    this.list = new Uint8Array(distinct);
    this.older = new Int32Array(distinct + 3);
    this.newer = new Int32Array(distinct + 3);
    for (let s = distinct; s < distinct + 3; s++) {
      this.older[s] = s;
      this.newer[s] = s;
    }
  }

  run(ids: Int32Array, start: number, end: number): number {
    const list = this.list;
    const older = this.older;
    const newer = this.newer;
    const c = this.capacity;
    const kin = this.kin;
    const kout = this.kout;
    const amCapacity = c - kin;
    const sIn = this.distinct;
    const sOut = sIn + 1;
    const sAm = sIn + 2;
    let ain = this.ain;
    let aout = this.aout;
    let am = this.am;
    let hits = 0;
    if (kin === 0) {
      // libCacheSim refuses every object (A1in has no room): nothing is cached, nothing is a hit.
      return 0;
    }
    for (let i = start; i < end; i++) {
      const id = ids[i]!;
      const l = list[id]!;
      if (l === AIN) {
        hits++;
        continue;
      }
      if (l === AM) {
        hits++;
        if (older[sAm] === id) continue;
        let o = older[id]!;
        const n = newer[id]!;
        newer[o] = n;
        older[n] = o;
        o = older[sAm]!;
        newer[o] = id;
        older[id] = o;
        newer[id] = sAm;
        older[sAm] = id;
        continue;
      }
      const ghost = l === AOUT;
      if (ghost) {
        const o = older[id]!;
        const n = newer[id]!;
        newer[o] = n;
        older[n] = o;
        list[id] = 0;
        aout--;
      }
      if (ain + am >= c) {
        // One eviction (two-q.ts evictStep): A1in's oldest to A1out, or Am's LRU page out.
        if (ain > kin || am === 0) {
          const v = newer[sIn]!;
          const n = newer[v]!;
          newer[sIn] = n;
          older[n] = sIn;
          ain--;
          if (kout === 0) {
            list[v] = 0;
          } else {
            if (aout >= kout) {
              const g = newer[sOut]!;
              const gn = newer[g]!;
              newer[sOut] = gn;
              older[gn] = sOut;
              list[g] = 0;
              aout--;
            }
            const o = older[sOut]!;
            newer[o] = v;
            older[v] = o;
            newer[v] = sOut;
            older[sOut] = v;
            list[v] = AOUT;
            aout++;
          }
        } else {
          const v = newer[sAm]!;
          const n = newer[v]!;
          newer[sAm] = n;
          older[n] = sAm;
          list[v] = 0;
          am--;
        }
      }
      let s = sIn;
      if (ghost) {
        // A page back from A1out goes to Am, first evicting Am's LRU page if Am is at C − Kin
        // (as two-q.ts `admit`; in replay the cache is full here, so the eviction above already
        // took Am's page and this never fires — kept so both stay the same algorithm).
        if (am >= amCapacity) {
          const v = newer[sAm]!;
          const n = newer[v]!;
          newer[sAm] = n;
          older[n] = sAm;
          list[v] = 0;
          am--;
        }
        s = sAm;
        list[id] = AM;
        am++;
      } else {
        list[id] = AIN;
        ain++;
      }
      const o = older[s]!;
      newer[o] = id;
      older[id] = o;
      newer[id] = s;
      older[s] = id;
    }
    this.ain = ain;
    this.aout = aout;
    this.am = am;
    return hits;
  }
}
