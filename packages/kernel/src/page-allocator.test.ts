import { createRpi4bBoard, createVirtBoard } from '@mmkit/boards';
import {
  AddressError,
  DoubleFreeError,
  EventStream,
  type FramePurpose,
  InvalidArgumentError,
  isMmError,
  type MmEvent,
  NotOwnedError,
  OutOfRangeError,
  PhysicalMemory,
} from '@mmkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_STATE_NAMES, FrameState, type FrameStateCode, PageAllocator } from './page-allocator.js';

const P = 4096;

/** RAM [0x10_0000, 0x10_0000 + frames pages), pool = RAM. */
function small(frames = 16, events?: EventStream) {
  const memory = new PhysicalMemory({
    ram: [{ name: 'ram', start: 0x10_0000, end: 0x10_0000 + frames * P }],
  });
  const alloc = new PageAllocator(memory, [{ start: 0x10_0000, end: 0x10_0000 + frames * P }], { events });
  return { memory, alloc };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

function snapshot(a: PageAllocator) {
  const frames: [number, number, number, number][] = [];
  a.forEachFrame((pa, s, r, o) => frames.push([pa, s, r, o]));
  return { free: a.freeCount, total: a.totalCount, counts: a.countByState(), frames };
}

describe('PageAllocator construction', () => {
  it('covers the pool ranges; frames that are not RAM start RESERVED ("not RAM")', () => {
    const memory = new PhysicalMemory({ ram: [{ name: 'ram', start: 0x2000, end: 0x6000 }] });
    const a = new PageAllocator(memory, [{ start: 0x1000, end: 0x8000 }]);
    expect(a.poolFrames).toBe(7);
    expect(a.totalCount).toBe(4);
    expect(a.freeCount).toBe(4);
    expect(a.reservedCount).toBe(3);
    expect(a.stateOf(0x1000)).toBe(FrameState.RESERVED);
    expect(a.stateOf(0x2fff)).toBe(FrameState.FREE);
    expect(a.stateOf(0x7000)).toBe(FrameState.RESERVED);
    expect(a.reservationReason(0x7000)).toBe('not RAM');
    expect(a.reservationReason(0x2000)).toBeUndefined();
    expect(a.alloc('kernel')).toBe(0x2000);
  });

  it('rejects empty, unaligned, empty-range, overlapping and non-integer pools', () => {
    const memory = new PhysicalMemory({ ram: [{ name: 'ram', start: 0, end: 0x10000 }] });
    expect(() => new PageAllocator(memory, [])).toThrow(/at least one pool range/);
    expect(() => new PageAllocator(memory, [{ start: 0x800, end: 0x2000 }])).toThrow(InvalidArgumentError);
    expect(() => new PageAllocator(memory, [{ start: 0x2000, end: 0x2000 }])).toThrow(
      /page allocator range: "8192..8192"/,
    );
    expect(
      () =>
        new PageAllocator(memory, [
          { start: 0x1000, end: 0x4000 },
          { start: 0x3000, end: 0x5000 },
        ]),
    ).toThrow(/not overlapping/);
    expect(() => new PageAllocator(memory, [{ start: 0.5, end: 0x2000 }])).toThrow(InvalidArgumentError);
  });

  it('never hands out PA 0: a pool starting at 0 reserves frame 0 at construction', () => {
    const memory = new PhysicalMemory({ ram: [{ name: 'ram', start: 0, end: 4 * P }] });
    const a = new PageAllocator(memory, [{ start: 0, end: 4 * P }]);
    expect(a.stateOf(0)).toBe(FrameState.RESERVED);
    expect(a.reservationReason(0)).toBe('PA 0 is the allocation failure sentinel and is never handed out');
    expect(a.totalCount).toBe(3);
    expect([a.alloc('kernel'), a.alloc('user'), a.alloc('page-table'), a.alloc('kernel')]).toEqual([
      P,
      2 * P,
      3 * P,
      0,
    ]);
    expect(() => a.free(0)).toThrow(NotOwnedError);
  });

  it('supports several ranges: ascending allocation across them, holes between them are not owned', () => {
    const memory = new PhysicalMemory({
      ram: [
        { name: 'a', start: 0x1_0000, end: 0x1_2000 },
        { name: 'b', start: 0x1_0000_0000, end: 0x1_0000_2000 },
      ],
    });
    const a = new PageAllocator(memory, [
      { start: 0x1_0000_0000, end: 0x1_0000_2000 },
      { start: 0x1_0000, end: 0x1_2000 },
    ]);
    expect(a.poolRanges).toEqual([
      { start: 0x1_0000, end: 0x1_2000 },
      { start: 0x1_0000_0000, end: 0x1_0000_2000 },
    ]);
    const got = [
      a.alloc('kernel'),
      a.alloc('kernel'),
      a.alloc('kernel'),
      a.alloc('kernel'),
      a.alloc('kernel'),
    ];
    expect(got).toEqual([0x1_0000, 0x1_1000, 0x1_0000_0000, 0x1_0000_1000, 0]);
    a.free(0x1_0000_1000);
    expect(a.alloc('user')).toBe(0x1_0000_1000);
    expect(a.owns(0x2_0000)).toBe(false);
    expect(a.stateOf(0x2_0000)).toBeUndefined();
    expect(() => a.free(0x2_0000)).toThrow(NotOwnedError);
    const pas: number[] = [];
    a.forEachFrame((pa) => pas.push(pa));
    expect(pas).toEqual([0x1_0000, 0x1_1000, 0x1_0000_0000, 0x1_0000_1000]);
  });
});

describe('PageAllocator free: typed errors, nothing changes on error', () => {
  it('a double free is a DoubleFreeError naming the address', () => {
    const { alloc } = small();
    const pa = alloc.alloc('kernel');
    alloc.free(pa);
    const before = snapshot(alloc);
    const e = thrown(() => alloc.free(pa));
    expect(e).toBeInstanceOf(DoubleFreeError);
    expect(isMmError(e) && e.code).toBe('E_DOUBLE_FREE');
    expect((e as Error).message).toBe('double free of frame at physical 0x100000');
    expect(snapshot(alloc)).toEqual(before);
  });

  it('freeing a frame that was never allocated is a double free too (the seed ignored it)', () => {
    const { alloc } = small();
    expect(() => alloc.free(0x10_3000)).toThrow(DoubleFreeError);
    expect(alloc.freeCount).toBe(16);
  });

  it('unaligned, outside the pool, reserved: NotOwnedError with the reason', () => {
    const { alloc } = small();
    const pa = alloc.alloc('kernel');
    alloc.reserveRange(0x10_8000, 0x10_9000, 'firmware table');
    const before = snapshot(alloc);
    expect(() => alloc.free(pa + 8)).toThrow(
      'free of frame at physical 0x100008 that the allocator does not own: not aligned to a 4 KiB frame',
    );
    expect(() => alloc.free(0x20_0000)).toThrow(
      /0x200000 that the allocator does not own: outside the allocator's pool/,
    );
    expect(() => alloc.free(0x10_8000)).toThrow(
      'free of frame at physical 0x108000 that the allocator does not own: the frame is reserved (firmware table)',
    );
    expect(thrown(() => alloc.free(0x10_8000))).toBeInstanceOf(NotOwnedError);
    expect(snapshot(alloc)).toEqual(before);
  });

  it('a non-address is an AddressError', () => {
    const { alloc } = small();
    expect(() => alloc.free(-4096)).toThrow(AddressError);
    expect(() => alloc.free(1.5)).toThrow(AddressError);
    expect(() => alloc.free(2 ** 53)).toThrow(AddressError);
    expect(() => alloc.free('0x100000' as never)).toThrow(AddressError);
  });
});

describe('PageAllocator reservations', () => {
  it('reserveRange takes every overlapping pool frame out of the free stack and the total', () => {
    const { alloc } = small();
    expect(alloc.reserveRange(0x10_1800, 0x10_3001, 'dtb')).toBe(3); // frames 1, 2, 3
    expect(alloc.totalCount).toBe(13);
    expect(alloc.freeCount).toBe(13);
    expect([alloc.alloc('kernel'), alloc.alloc('kernel')]).toEqual([0x10_0000, 0x10_4000]);
    expect(alloc.reservationReason(0x10_2000)).toBe('dtb');
    expect(alloc.reservations).toEqual([{ start: 0x10_1000, end: 0x10_4000, reason: 'dtb', frames: 3 }]);
  });

  it('overlapping reservations are counted once; ranges outside the pool are no-ops', () => {
    const { alloc } = small();
    expect(alloc.reserveRange(0x10_0000, 0x10_4000, 'a')).toBe(4);
    expect(alloc.reserveRange(0x10_2000, 0x10_6000, 'b')).toBe(2);
    expect(alloc.reserveRange(0, 0x1000, 'c')).toBe(0);
    expect(alloc.reserveBelow(0x10_0000)).toBe(0);
    expect(alloc.reserveAbove(0x11_0000)).toBe(0);
    expect(alloc.totalCount).toBe(10);
    expect(alloc.countByState().reserved).toBe(6);
    // The first reservation that covered a frame is its reason.
    expect(alloc.reservationReason(0x10_3000)).toBe('a');
    expect(alloc.reservationReason(0x10_5000)).toBe('b');
  });

  it('reserveAbove takes the frame containing an unaligned start and everything above', () => {
    const { alloc } = small();
    expect(alloc.reserveAbove(0x10_e800)).toBe(2);
    expect(alloc.stateOf(0x10_e000)).toBe(FrameState.RESERVED);
    expect(alloc.stateOf(0x10_d000)).toBe(FrameState.FREE);
  });

  it('keeps the order of the remaining free stack (LIFO reuse survives a reservation)', () => {
    const { alloc } = small();
    const a = alloc.alloc('kernel');
    const b = alloc.alloc('kernel');
    alloc.free(a);
    alloc.free(b); // stack: b, a, 0x10_2000, …
    alloc.reserveRange(a, a + P, 'late');
    expect(alloc.alloc('kernel')).toBe(b);
    expect(alloc.alloc('kernel')).toBe(0x10_2000);
  });

  it('refuses to reserve an allocated frame (boot-only API); nothing changes', () => {
    const { alloc } = small();
    alloc.alloc('kernel');
    const pa = alloc.alloc('user', 3);
    const before = snapshot(alloc);
    const e = thrown(() => alloc.reserveRange(0x10_0000, 0x10_8000, 'too late'));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as Error).message).toContain('the frame at 0x100000 is kernel');
    expect(() => alloc.reserveAbove(pa)).toThrow(/reserveAbove: "\[0x101000, 0x110000\)" is invalid/);
    expect(snapshot(alloc)).toEqual(before);
  });

  it('rejects bad reservation arguments', () => {
    const { alloc } = small();
    expect(() => alloc.reserveRange(0x10_2000, 0x10_1000, 'x')).toThrow(
      /reserveRange end: 1052672 is invalid/,
    );
    expect(() => alloc.reserveBelow(-1)).toThrow(AddressError);
    expect(() => alloc.reserveRange(0, 0x1000, 5 as never)).toThrow(/reserveRange reason/);
  });
});

describe('PageAllocator reference counts and owners', () => {
  it('USER frames start at 1; ref/unref count; free refuses a shared frame; the last unref frees', () => {
    const { alloc } = small();
    const pa = alloc.alloc('user', 7);
    expect(alloc.refCount(pa)).toBe(1);
    expect(alloc.ownerOf(pa)).toBe(7);
    expect(alloc.ref(pa)).toBe(2);
    expect(() => alloc.free(pa)).toThrow(/this USER frame has 2 references \(use unref\)/);
    expect(alloc.unref(pa)).toBe(false);
    expect(alloc.refCount(pa)).toBe(1);
    expect(alloc.unref(pa)).toBe(true);
    expect(alloc.stateOf(pa)).toBe(FrameState.FREE);
    expect(alloc.refCount(pa)).toBe(0);
    expect(alloc.ownerOf(pa)).toBe(-1);
    expect(() => alloc.unref(pa)).toThrow(DoubleFreeError);
  });

  it('PAGE_TABLE and KERNEL frames are not reference counted', () => {
    const { alloc } = small();
    const table = alloc.alloc('page-table', 2);
    const kernel = alloc.alloc('kernel');
    expect(alloc.refCount(table)).toBe(0);
    expect(() => alloc.ref(table)).toThrow(/a USER frame; this frame is page-table/);
    expect(() => alloc.unref(kernel)).toThrow(/this frame is kernel \(use free\)/);
    expect(() => alloc.ref(0x10_f000)).toThrow(/this frame is free/);
  });

  it('setOwner changes an allocated frame only; owners must be int32 ≥ -1', () => {
    const { alloc } = small();
    const pa = alloc.alloc('page-table');
    expect(alloc.ownerOf(pa)).toBe(-1);
    alloc.setOwner(pa, 42);
    expect(alloc.ownerOf(pa)).toBe(42);
    expect(() => alloc.setOwner(0x10_5000, 1)).toThrow(/an allocated frame; this frame is free/);
    expect(() => alloc.setOwner(pa, -2)).toThrow(InvalidArgumentError);
    expect(() => alloc.alloc('user', 1.5)).toThrow(/frame owner: 1.5 \(not an integer\)/);
    expect(() => alloc.alloc('dma' as FramePurpose)).toThrow(/frame purpose: "dma" is invalid/);
  });

  it('queries outside the pool: stateOf is undefined, the others throw OutOfRangeError', () => {
    const { alloc } = small();
    expect(alloc.stateOf(0x0900_0000)).toBeUndefined();
    expect(() => alloc.refCount(0x0900_0000)).toThrow(OutOfRangeError);
    expect(() => alloc.ownerOf(0x0900_0000)).toThrow(/ownerOf: "0x9000000" is out of range/);
    expect(() => alloc.ref(0x0900_0000)).toThrow(OutOfRangeError);
    expect(() => alloc.stateOf(-1)).toThrow(AddressError);
  });
});

describe('PageAllocator zeroing, LIFO reuse, events', () => {
  it('a freed frame reads as zero and holds no host memory; allocated again it still reads zero', () => {
    const { memory, alloc } = small();
    const pa = alloc.alloc('user');
    memory.write32(pa + 0x10, 0xdead_beef);
    memory.write64(pa + 0xff8, 0x0123_4567_89ab_cdefn);
    expect(memory.isTouched(pa / P)).toBe(true);
    alloc.unref(pa);
    expect(memory.isTouched(pa / P)).toBe(false);
    expect(memory.read32(pa + 0x10)).toBe(0);
    expect(alloc.alloc('kernel')).toBe(pa);
    expect(memory.read64(pa + 0xff8)).toBe(0n);
    expect(memory.touchedFrames).toBe(0);
  });

  it('alloc zeroes a frame even if someone wrote to it while it was free', () => {
    const { memory, alloc } = small();
    memory.write8(0x10_0000, 0x5a); // a stray write into a free frame
    expect(alloc.alloc('page-table')).toBe(0x10_0000);
    expect(memory.read8(0x10_0000)).toBe(0);
  });

  it('reuses the most recently freed frame first (LIFO), then fresh frames in address order', () => {
    const { alloc } = small();
    const [a, b, c] = [alloc.alloc('kernel'), alloc.alloc('kernel'), alloc.alloc('kernel')];
    alloc.free(a);
    alloc.free(c);
    expect(alloc.alloc('kernel')).toBe(c);
    expect(alloc.alloc('kernel')).toBe(a);
    expect(alloc.alloc('kernel')).toBe(0x10_3000);
    expect(b).toBe(0x10_1000);
  });

  it('emits frame-alloc and frame-free events while someone listens', () => {
    const events = new EventStream();
    const { alloc } = small(16, events);
    const seen: MmEvent[] = [];
    alloc.alloc('kernel'); // nobody listens yet
    const off = events.on((e) => seen.push(e));
    const u = alloc.alloc('user', 1);
    const t = alloc.alloc('page-table', 1);
    alloc.ref(u);
    alloc.unref(u);
    alloc.unref(u);
    alloc.free(t);
    off();
    alloc.alloc('kernel');
    expect(seen).toEqual([
      { type: 'frame-alloc', pa: 0x10_1000, purpose: 'user' },
      { type: 'frame-alloc', pa: 0x10_2000, purpose: 'page-table' },
      { type: 'frame-free', pa: 0x10_1000, purpose: 'user' },
      { type: 'frame-free', pa: 0x10_2000, purpose: 'page-table' },
    ]);
  });

  it('countByState matches a scan of the frame table', () => {
    const { alloc } = small();
    alloc.reserveRange(0x10_e000, 0x11_0000, 'top');
    alloc.alloc('user');
    alloc.alloc('user');
    alloc.alloc('page-table');
    alloc.alloc('kernel');
    expect(alloc.countByState()).toEqual({ free: 10, reserved: 2, pageTable: 1, user: 2, kernel: 1 });
    expect(alloc.usedCount).toBe(4);
    expect(FRAME_STATE_NAMES[FrameState.PAGE_TABLE]).toBe('page-table');
  });
});

describe('PageAllocator over board pool plans (@mmkit/boards)', () => {
  const boot = (board: ReturnType<typeof createVirtBoard>) => {
    const alloc = new PageAllocator(board.createMemory(), board.pool.ranges);
    for (const r of board.pool.reservations) alloc.reserveRange(r.start, r.end, r.reason);
    return alloc;
  };

  it('virt -m 1G seed: 262144 RAM frames minus the 640 below the image end', () => {
    const alloc = boot(createVirtBoard());
    expect(alloc.poolFrames).toBe(770048);
    expect(alloc.totalCount).toBe(261504);
    expect(alloc.alloc('kernel')).toBe(0x4028_0000);
    expect(alloc.reservationReason(0x9000_0000)).toBe('not RAM');
  });

  it('virt -m 1G all-ram: same frames, RAM-sized table', () => {
    const alloc = boot(createVirtBoard({ pool: 'all-ram' }));
    expect(alloc.poolFrames).toBe(262144);
    expect(alloc.totalCount).toBe(261504);
    expect(alloc.reservationReason(0x4000_0000)).toBe(
      'RAM base up to the kernel image: QEMU boot stub, and the DTB for ELF kernels',
    );
  });

  it('rpi4b 8 GiB all-ram: three ranges, page 0 to the image end reserved, first frame after the image', () => {
    const alloc = boot(createRpi4bBoard({ ramGiB: 8, pool: 'all-ram' }));
    expect(alloc.poolFrames).toBe(2061312);
    expect(alloc.totalCount).toBe(2061312 - 640);
    expect(alloc.alloc('kernel')).toBe(0x28_0000);
    // The allocator reserved PA 0 itself at construction, before the board's armstub reservation.
    expect(alloc.reservationReason(0)).toBe(
      'PA 0 is the allocation failure sentinel and is never handed out',
    );
    expect(alloc.reservationReason(0x1000)).toBe('below the kernel image: firmware and boot area');
    expect(alloc.reservations[1]).toEqual({
      start: 0,
      end: 0x1000,
      reason: 'armstub spin tables (page 0; also keeps PA 0 out of the pool)',
      frames: 0,
    });
  });
});

describe('PageAllocator properties (fast-check)', () => {
  type Op =
    | { kind: 'alloc'; purpose: FramePurpose; owner: number }
    | { kind: 'free'; pick: number }
    | { kind: 'ref'; pick: number }
    | { kind: 'unref'; pick: number }
    | { kind: 'bad-free'; pick: number };

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('alloc' as const),
      purpose: fc.constantFrom<FramePurpose>('user', 'page-table', 'kernel'),
      owner: fc.integer({ min: -1, max: 5 }),
    }),
    fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('ref' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('unref' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('bad-free' as const), pick: fc.nat() }),
  );

  it('random alloc/free/ref/unref sequences keep free + used = total and every state consistent', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 120 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0x50 }), fc.integer({ min: 0, max: 8 })), {
          maxLength: 3,
        }),
        (ops, reservations) => {
          // Two ranges; the second has 4 frames that are not RAM.
          const memory = new PhysicalMemory({
            ram: [
              { name: 'a', start: 0x1_0000, end: 0x3_0000 },
              { name: 'b', start: 0x4_0000, end: 0x4_8000 },
            ],
          });
          const alloc = new PageAllocator(memory, [
            { start: 0x1_0000, end: 0x3_0000 },
            { start: 0x3_c000, end: 0x4_8000 },
          ]);
          for (const [first, n] of reservations) alloc.reserveRange(first * P, (first + n) * P, 'boot');
          const total = alloc.totalCount;
          const model = new Map<number, { state: FrameStateCode; refs: number; owner: number }>();
          const pick = (k: number) => [...model.keys()][k % Math.max(1, model.size)];

          for (const o of ops) {
            if (o.kind === 'alloc') {
              const pa = alloc.alloc(o.purpose, o.owner);
              if (pa === 0) {
                expect(alloc.freeCount).toBe(0);
                continue;
              }
              expect(model.has(pa)).toBe(false);
              const state =
                o.purpose === 'user'
                  ? FrameState.USER
                  : o.purpose === 'page-table'
                    ? FrameState.PAGE_TABLE
                    : FrameState.KERNEL;
              model.set(pa, { state, refs: o.purpose === 'user' ? 1 : 0, owner: o.owner });
              expect(memory.read32(pa)).toBe(0);
              memory.write32(pa, pa); // dirty it so zeroing is observable next time
            } else if (o.kind === 'bad-free') {
              const pa = 0x1_0000 + (o.pick % 0x40) * P;
              if (!model.has(pa)) {
                const before = alloc.freeCount;
                expect(() => alloc.free(pa)).toThrow();
                expect(alloc.freeCount).toBe(before);
              }
            } else {
              const pa = pick(o.pick);
              if (pa === undefined) continue;
              const m = model.get(pa)!;
              if (o.kind === 'ref') {
                if (m.state === FrameState.USER) {
                  expect(alloc.ref(pa)).toBe(++m.refs);
                } else expect(() => alloc.ref(pa)).toThrow(InvalidArgumentError);
              } else if (o.kind === 'unref') {
                if (m.state !== FrameState.USER) {
                  expect(() => alloc.unref(pa)).toThrow(InvalidArgumentError);
                } else {
                  m.refs--;
                  expect(alloc.unref(pa)).toBe(m.refs === 0);
                  if (m.refs === 0) model.delete(pa);
                }
              } else if (m.state === FrameState.USER && m.refs > 1) {
                expect(() => alloc.free(pa)).toThrow(InvalidArgumentError);
              } else {
                alloc.free(pa);
                model.delete(pa);
                expect(memory.isTouched(pa / P)).toBe(false);
              }
            }
            // Invariants after every step.
            expect(alloc.totalCount).toBe(total);
            expect(alloc.freeCount + alloc.usedCount).toBe(total);
            expect(alloc.usedCount).toBe(model.size);
          }

          const counts = { free: 0, reserved: 0, pageTable: 0, user: 0, kernel: 0 };
          const keys = ['free', 'reserved', 'pageTable', 'user', 'kernel'] as const;
          alloc.forEachFrame((pa, state, refs, owner) => {
            counts[keys[state]]++;
            const m = model.get(pa);
            if (m) {
              expect([state, refs, owner]).toEqual([m.state, m.refs, m.owner]);
            } else {
              expect(state === FrameState.FREE || state === FrameState.RESERVED).toBe(true);
              expect([refs, owner]).toEqual([0, -1]);
            }
          });
          expect(alloc.countByState()).toEqual(counts);
          expect(counts.free).toBe(alloc.freeCount);
          // Draining yields exactly the free frames, each once, never a reserved or used one.
          const drained = new Set<number>();
          for (let pa = alloc.alloc('kernel'); pa !== 0; pa = alloc.alloc('kernel')) {
            expect(model.has(pa) || drained.has(pa)).toBe(false);
            drained.add(pa);
          }
          expect(drained.size).toBe(counts.free);
          expect(alloc.freeCount).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
