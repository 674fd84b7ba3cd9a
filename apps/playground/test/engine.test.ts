import { describe, expect, it } from 'vitest';
import { slotText } from '../src/views/swap.js';
import {
  compare,
  Engine,
  FRAME_CODES,
  ImportedState,
  SLOT_CODES,
  SLOTS_SHOWN,
} from '../src/worker/engine.js';
import type { ScenarioRef } from '../src/worker/scenario.js';

/** The shipped demo, optionally on another board and paging format. */
const demoScenario = (board?: string, arch?: string): ScenarioRef => ({
  example: 'demo',
  ...(board ? { board } : {}),
  ...(arch ? { arch } : {}),
});
const ALL = 99;

const at = (s: ScenarioRef, n: number) => {
  const e = new Engine(s);
  e.runTo(n);
  return e;
};

describe('engine: the demo scenario', () => {
  it('runs every step on virt/AArch64 with the outcomes the demo shows, and frees everything at the end', () => {
    const e = at(demoScenario(), ALL);
    expect(e.records).toHaveLength(e.scenario.steps.length);
    expect(e.records[0]!.outcome).toMatch(/^init is pid 1 \(ASID 1\)/);
    // The first heap store is a demand-zero fault.
    expect(e.records[2]!.faulted).toBe(true);
    expect(e.records[2]!.events.some((x) => x.includes('demand-zero'))).toBe(true);
    // The parent reads its own data after the child wrote its copy.
    expect(e.records[10]!.outcome).toContain('wrote "HELLO FROM THE KID!"');
    expect(e.records[11]!.outcome).toBe('reads "hello from the heap"');
    // copy_to_user with a wild pointer is EFAULT, not a kill.
    expect(e.records[7]).toMatchObject({ ok: false, outcome: 'EFAULT (the process lives on)' });
    // The child's first write to the shared heap page copies it (copy-on-write fork).
    expect(
      e.records.some((r) => r.events.some((x) => /^cow pid \d+ 0x[0-9a-f]+: copy 0x[0-9a-f]+ → 0x/.test(x))),
    ).toBe(true);
    const overflow = e.records.find((r) => r.title.includes('overflows'))!;
    expect(overflow.ok).toBe(false);
    expect(overflow.outcome).toContain('stack overflow');
    const wild = e.records[22]!; // the read through a wild pointer
    expect(wild.outcome).toContain('invalid address');
    // init exited, the others were killed: every frame is back.
    expect(e.machine().freeFrames).toBe(e.machine().baselineFree);
  });

  it('is deterministic: running to step N twice gives the same frames, processes and TLBs', () => {
    for (const n of [3, 8, 12]) {
      const a = at(demoScenario(), n);
      const b = at(demoScenario(), n);
      expect(Buffer.compare(a.frameMap().codes, b.frameMap().codes)).toBe(0);
      expect(a.processes()).toEqual(b.processes());
      expect(a.tlbs()).toEqual(b.tlbs());
    }
  });

  it('runs on every x86 paging mode of the pc too', () => {
    for (const arch of ['x86_64', 'x86_64-la57', 'x86-pae', 'x86-32'] as const) {
      const e = at(demoScenario('pc', arch), ALL);
      expect(e.records.filter((r) => r.outcome.startsWith('error'))).toEqual([]);
      expect(e.machine().freeFrames).toBe(e.machine().baselineFree);
    }
  });

  it('records a step the kernel refuses as failed, naming the problem, and runs the rest', () => {
    const text = [
      'board: virt',
      'steps:',
      '  - { op: spawn, as: a }',
      '  - { op: spawn, as: b }',
      '  - { op: exit, process: a }',
      '  - { op: write, process: a, addr: heap, value: 1 }',
      '  - { op: brk, process: b, to: heap+0x1000 }',
    ].join('\n');
    const e = at({ text }, ALL);
    expect(e.records[3]).toMatchObject({ ok: false, pid: 1 });
    expect(e.records[3]!.outcome).toMatch(/^error: /);
    expect(e.records[4]).toMatchObject({ ok: true, pid: 2 });
  });

  it('throws the ScenarioError of a scenario that does not parse, or of a bad override', () => {
    expect(() => new Engine({ text: 'board: virt\nsteps:\n  - { op: jump }\n' })).toThrow(
      /^scenario:3: step 1: op "jump" is not a step/,
    );
    expect(() => new Engine({ example: 'nope' })).toThrow(
      'example "nope" does not exist; expected one of: demo,',
    );
    expect(() => new Engine({ example: 'demo', board: 'vax' })).toThrow(/board/);
  });
});

describe('engine: frame map', () => {
  it('has one code per RAM frame and marks the frames a spawn allocated', () => {
    const s = demoScenario();
    const before = at(s, 0).frameMap();
    const after = at(s, 1).frameMap();
    const e = at(s, 1);
    const ramFrames = e.board.ram.reduce((n, r) => n + (r.end - r.start) / 4096, 0);
    expect(before.codes).toHaveLength(ramFrames);
    expect(after.counts[FRAME_CODES.pageTable]! - before.counts[FRAME_CODES.pageTable]!).toBe(
      e.processes()[0]!.tablePages,
    );
    expect(after.counts[FRAME_CODES.user]).toBe(e.processes()[0]!.residentPages);
    // Each changed frame is one the spawn took, and its info names pid 1's PTE or table.
    const changed = [...after.codes.keys()].filter((i) => after.codes[i] !== before.codes[i]);
    expect(changed.length).toBe(after.counts[FRAME_CODES.user]! + e.processes()[0]!.tablePages);
    for (const i of changed) {
      const info = e.frameInfo(i)!;
      expect(info.mappedBy.some((m) => m.startsWith('pid 1'))).toBe(true);
    }
  });

  it('shows a frame shared by copy-on-write... or, with eager fork, a user frame with refcount 1', () => {
    const e = at(demoScenario(), 9); // after the copy-on-write fork
    const f = e.frameMap();
    const user = [...f.codes.keys()].filter(
      (i) => f.codes[i] === FRAME_CODES.user || f.codes[i] === FRAME_CODES.shared,
    );
    for (const i of user) {
      const info = e.frameInfo(i)!;
      expect(info.refCount).toBe(f.codes[i] === FRAME_CODES.shared ? 2 : 1);
    }
  });

  it('answers for frames outside the allocator pool and out of range', () => {
    const e = new Engine({ ...demoScenario('rpi4b'), ram: '8G' });
    const f = e.frameMap();
    // 8 GiB, minus what the board keeps out of RAM (the firmware's and the VideoCore's carve-outs).
    expect(f.codes).toHaveLength(e.board.ram.reduce((n, r) => n + (r.end - r.start) / 4096, 0));
    expect(f.codes.length).toBeGreaterThan(0.98 * 2 * 2 ** 20);
    expect(f.counts[FRAME_CODES.unmanaged]).toBeGreaterThan(0);
    const i = f.codes.indexOf(FRAME_CODES.unmanaged);
    expect(e.frameInfo(i)).toMatchObject({ state: 'not managed by the allocator', refCount: 0 });
    expect(e.frameInfo(f.codes.length)).toBeUndefined();
  });
});

describe('engine: walks, tables, TLBs', () => {
  it('walks the heap to the PA the page tables hold, level by level in AArch64 names', () => {
    const e = at(demoScenario(), 4);
    const w = e.walk(1, 'heap+0x10', 0, 0);
    const p = e.kernel.liveProcesses[0]!;
    const leaf = e.kernel.lookup(p, p.layout.heapBase)!;
    expect(leaf.entry.kind).toBe('leaf');
    expect(w.ok).toBe(true);
    expect(w.pa).toBe(`0x${((leaf.entry as { pa: number }).pa + 0x10).toString(16)}`);
    expect(w.levels.map((l) => l.levelName)).toEqual(['L0', 'L1', 'L2', 'L3']);
    expect(w.levels.map((l) => l.bits)).toEqual(['[47:39]', '[38:30]', '[29:21]', '[20:12]']);
    expect(w.levels.at(-1)!.fields.some((f) => f.name.startsWith('AP'))).toBe(true);
    expect(w.perms).toMatch(/r/);
    expect(w.check).toEqual({ needs: 'user r', grants: w.perms, allowed: true });
  });

  it('shows the permission check that denies a write to a read-only page (and none for an unmapped VA)', () => {
    const e = at(demoScenario('pc', 'x86_64'), 18); // after mprotect made buf+0x1000 read-only
    const w = e.walk(1, 'buf+0x1000', 1, 0);
    // CR0.WP = 1: the kernel may not write a read-only page either; NX: no fetch.
    expect(w.check).toEqual({ needs: 'user w', grants: 'user r-- kernel r--', allowed: false });
    // #PF error code: P = 1 (present), W/R = 1, U/S = 1 → 0x7.
    expect(w.fault).toMatchObject({ kind: 'permission', syndrome: '0x7' });
    expect(e.walk(1, 'wild', 0, 0).check).toBeUndefined();
  });

  it('explains a wild pointer as the exact fault: ESR_EL1 on AArch64, #PF error code and CR2 on x86-64', () => {
    const a = at(demoScenario(), 1).walk(1, '0xdeadbeef000', 0, 0);
    // EC 0x24 data abort from EL0, IL = 1, WnR = 0, DFSC 0b000100 translation fault level 0.
    expect(a.fault).toMatchObject({
      kind: 'translation',
      level: 'L0',
      syndrome: '0x92000004',
      syndromeRegister: 'ESR_EL1',
      addressRegister: 'FAR_EL1',
      address: '0xdeadbeef000',
    });
    const w = at(demoScenario(), 1).walk(1, '0xdeadbeef000', 1, 0);
    expect(w.fault!.syndrome).toBe('0x92000044'); // WnR = 1
    const x = at(demoScenario('pc', 'x86_64'), 1).walk(1, '0xdeadbeef000', 1, 0);
    // #PF error code: P = 0 (not present), W/R = 1, U/S = 1 → 0x6.
    expect(x.fault).toMatchObject({
      exception: '#PF',
      syndrome: '0x6',
      syndromeRegister: '#PF error code',
      addressRegister: 'CR2',
    });
    expect(x.levels[0]!.levelName).toBe('PML4');
  });

  it('lists page-table entries with decoded bits and the effective permissions of leaves', () => {
    const e = at(demoScenario('pc', 'x86-pae'), 4);
    const rows = e.pageTables(1);
    expect(new Set(rows.map((r) => r.levelName))).toEqual(new Set(['PDPT', 'PD', 'PT']));
    const leaves = rows.filter((r) => r.kind === 'leaf');
    expect(leaves.length).toBe(e.processes()[0]!.residentPages);
    for (const l of leaves) {
      expect(l.effective).toBeDefined();
      expect(l.fields.find((f) => f.name === 'P')?.value).toBe('0x1');
    }
    expect(() => e.pageTables(7)).toThrow('pid 7 is not a live process');
  });

  it('lists the kernel tables: the TTBR1 half on AArch64, the kernel half of the root on x86', () => {
    for (const [board, arch, rootName, firstIndex] of [
      ['virt', 'aarch64', 'L0', 0],
      ['pc', 'x86_64', 'PML4', 256],
      ['pc', 'x86_64-la57', 'PML5', 256],
      ['pc', 'x86-pae', 'PDPT', 3],
      ['pc', 'x86-32', 'PD', 768],
    ] as const) {
      const e = at(demoScenario(board, arch), 1);
      const rows = e.kernelTables();
      const roots = rows.filter((r) => r.depth === 0);
      expect(roots.length, arch).toBeGreaterThan(0);
      expect(roots.every((r) => r.levelName === rootName && r.index >= firstIndex)).toBe(true);
      const leaves = rows.filter((r) => r.kind === 'leaf');
      expect(leaves.length, arch).toBeGreaterThan(0);
      const kernelStart = e.arch.description.kernelRange.start;
      for (const l of leaves) {
        expect(BigInt(l.va) >= kernelStart, `${arch} ${l.va}`).toBe(true);
        // No kernel mapping is reachable from user mode.
        expect(l.effective, `${arch} ${l.va}`).toMatch(/^user --- /);
      }
      // A kernel walk of a leaf's VA reaches the PA the leaf holds.
      const mid = leaves[Math.floor(leaves.length / 2)]!;
      const w = e.walk(1, mid.va, 0, 1);
      expect(w.ok, `${arch} ${mid.va}`).toBe(true);
      expect(w.pa).toBe(mid.target);
      // The user tables list none of these entries.
      const user = new Set(e.pageTables(1).map((r) => r.descriptorPa));
      expect(roots.some((r) => user.has(r.descriptorPa))).toBe(false);
    }
  });

  it('shows TLB entries tagged with the running process ASID', () => {
    const e = at(demoScenario(), 4);
    const [cpu0] = e.tlbs();
    expect(cpu0!.asidName).toBe('ASID');
    expect(cpu0!.current).toBe(1);
    expect(cpu0!.entries.some((x) => x.asid === 1 && !x.global)).toBe(true);
    expect(at(demoScenario('pc', 'x86_64'), 4).tlbs()[0]!.asidName).toBe('PCID');
  });
});

describe('engine: import of an export, compare', () => {
  it('walks an imported export to the same PA and fault as the live kernel, on every format', () => {
    for (const [board, arch] of [
      ['virt', 'aarch64'],
      ['pc', 'x86_64'],
      ['pc', 'x86_64-la57'],
      ['pc', 'x86-pae'],
      ['pc', 'x86-32'],
    ] as const) {
      const e = at(demoScenario(board, arch), 5);
      const imported = new ImportedState(JSON.stringify(e.exportState(1)));
      expect(imported.view).toMatchObject({ arch, machine: board, pid: 1 });
      for (const va of ['heap', 'stackTop-8', 'text', 'wild']) {
        const live = e.walk(1, va, 0, 0);
        const hexVa = live.va;
        expect(imported.walk(hexVa, 0, 0), `${arch} ${va}`).toEqual(live);
      }
    }
  });

  it('refuses a bad export with a message naming the field', () => {
    const good = JSON.parse(JSON.stringify(at(demoScenario(), 1).exportState(1)));
    expect(() => new ImportedState('{')).toThrow(/^not JSON/);
    expect(() => new ImportedState(JSON.stringify({ ...good, format: 'x' }))).toThrow(
      'format: got "x", expected "mmkit-translation-state/1"',
    );
    expect(() => new ImportedState(JSON.stringify({ ...good, arch: 'riscv' }))).toThrow(/^arch: got "riscv"/);
    const far = { ...good, tables: [{ ...good.tables[0], pa: '0x1' }] };
    expect(() => new ImportedState(JSON.stringify(far))).toThrow(
      'tables[0].pa: 0x1 is not RAM of board virt',
    );
    const badLevel = { ...good, tables: [{ ...good.tables[0], level: 'PML4' }] };
    expect(() => new ImportedState(JSON.stringify(badLevel))).toThrow(
      'tables[0].level: got "PML4", expected one of L0, L1, L2, L3',
    );
    expect(() => new ImportedState(JSON.stringify({ ...good, registers: { TTBR0_EL1: 'zz' } }))).toThrow(
      'registers.TTBR0_EL1: got "zz", expected a hex string',
    );
  });

  it('compares one scenario on two configurations and flags what differs', () => {
    const same = compare(demoScenario(), demoScenario());
    expect(same.rows.every((r) => !r.differs)).toBe(true);
    const diff = compare(demoScenario(), demoScenario('pc', 'x86-pae'));
    const levels = diff.rows.find((r) => r.what === 'levels')!;
    expect(levels).toMatchObject({ a: 'L0 → L1 → L2 → L3', b: 'PDPT → PD → PT', differs: true });
  });
});

describe('engine: the swap view', () => {
  const swapAt = (n: number) => at({ example: 'swap' }, n).swap();

  it('no device and no policy before swapon; then the slots, counters and policy step by step', () => {
    const before = swapAt(5);
    expect(before.devices).toEqual([]);
    expect(before.policy).toBeUndefined();
    expect(before.vmstat.pswpout).toBe(0);
    const on = swapAt(6); // swapon 64 pages
    expect(on.devices).toHaveLength(1);
    const d0 = on.devices[0]!;
    expect(d0).toMatchObject({ type: 0, used: 0, cached: 0, usable: 63 });
    expect(d0.slots).toHaveLength(64);
    expect(d0.slots[0]).toBe(SLOT_CODES.header);
    expect(d0.slots.subarray(1).every((c) => c === SLOT_CODES.free)).toBe(true);
    // The policy tracks the resident user frames: the parent's and the child's (shared) pages.
    expect(on.policy!.name).toBe('two-list');
    expect(on.policy!.size).toBeGreaterThan(0);
    expect(on.policy!.order).toHaveLength(on.policy!.size);
    expect(on.policy!.order.every((pa) => /^0x[0-9a-f]+000$/.test(pa))).toBe(true);
    expect(on.watermarks.min).toBeLessThanOrEqual(on.watermarks.low);
    expect(on.freeFrames).toBeGreaterThan(on.watermarks.high);

    const out = swapAt(7); // reclaim: everything goes out
    const d1 = out.devices[0]!;
    expect(d1.used).toBeGreaterThan(0);
    expect(d1.cached).toBe(0);
    expect(d1.slots.filter((c) => c === SLOT_CODES.used)).toHaveLength(d1.used);
    expect(out.vmstat.pswpout).toBe(d1.used);
    expect(out.policy!.size).toBe(0);
    expect(out.freeFrames).toBeGreaterThan(on.freeFrames);

    const major = swapAt(8); // the parent's read: major fault, the page stays in the swap cache
    const d2 = major.devices[0]!;
    expect(major.vmstat.pswpin).toBeGreaterThan(0);
    expect(d2.cached).toBeGreaterThan(0);
    expect(major.swapCache).toBe(d2.cached);
    expect(d2.slots.filter((c) => c === SLOT_CODES.cached)).toHaveLength(d2.cached);
    expect(major.policy!.size).toBeGreaterThan(0);

    // The child's read finds it in the cache: no read from the device; the slot stays with the
    // swap cache (do_swap_page keeps it after a read swap-in), now named by no swap PTE.
    const minor = swapAt(9);
    expect(minor.devices[0]!.used).toBe(d2.used);
    expect(minor.devices[0]!.cached).toBe(d2.cached);
    expect(minor.vmstat.pswpin).toBe(major.vmstat.pswpin);
  });

  it('clock: the hand and the referenced frames (hardware accessed bits)', () => {
    const text =
      'board: virt\nram: 64M\noptions: { reclaimPolicy: clock, autoReclaim: false }\nsteps:\n' +
      '  - { op: spawn, as: a }\n  - { op: brk, process: a, to: heap+0x3000 }\n' +
      '  - { op: swapon, size: 16 pages }\n' +
      '  - { op: write, process: a, addr: heap, value: 1 }\n' +
      '  - { op: write, process: a, addr: heap+0x1000, value: 2 }\n' +
      '  - { op: write, process: a, addr: heap+0x2000, value: 3 }\n' +
      '  - { op: reclaim, pages: 1 }\n';
    const three = at({ text }, 6).swap().policy!;
    expect(three.name).toBe('clock');
    // The spawned program's two pages (inserted at swapon), then the three heap pages.
    expect(three.order).toHaveLength(5);
    expect(three.hand).toBe(0);
    expect(three.referenced).toEqual(three.order); // all just written
    // One reclaim sweeps the clock once (clearing every bit) and evicts the first page.
    const after = at({ text }, 7).swap().policy!;
    expect(after.order).toEqual(three.order.slice(1));
    expect(after.hand).toBe(0);
    expect(after.referenced).toEqual([]);
  });
});

describe('engine: frames just swapped out, and kernel.swapSlots in the swap view', () => {
  const swapped = (e: Engine) => {
    const f = e.frameMap();
    const out: number[] = [];
    for (let i = 0; i < f.codes.length; i++) if (f.codes[i] === FRAME_CODES.swapped) out.push(i);
    expect(f.counts[FRAME_CODES.swapped]).toBe(out.length);
    return out;
  };

  it('marks each frame a swap-out freed, names the slot and the PTEs, until the frame is reused', () => {
    expect(swapped(at({ example: 'swap' }, 6))).toEqual([]); // swapon: nothing out yet
    const e = at({ example: 'swap' }, 7); // reclaim
    const outs = e.records[6]!.events.filter((x) => x.startsWith('swap-out '));
    const pas = new Set(outs.map((x) => /: (0x[0-9a-f]+) → slot/.exec(x)![1]));
    const marked = swapped(e);
    expect(marked).toHaveLength(pas.size);
    for (const i of marked) {
      const info = e.frameInfo(i)!;
      expect(pas.has(info.pa)).toBe(true);
      expect(info.state).toBe('free, just swapped out');
      expect(info.refCount).toBe(0);
      expect(info.mappedBy).toEqual([]);
      const ptes = outs.filter((x) => x.includes(`: ${info.pa} → slot`));
      const slot = /slot (\d+:\d+)$/.exec(ptes[0]!)![1];
      expect(info.swappedTo).toBe(
        `slot ${slot} of swap0 at step 7 (${ptes
          .map((x) => /^swap-out (pid \d+ 0x[0-9a-f]+)/.exec(x)![1]!)
          .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
          .join(', ')})`,
      );
    }
    // A heap page the fork shared went out once, for both processes.
    expect(
      marked.some((i) => /\(pid 1 0x[0-9a-f]+, pid 2 0x[0-9a-f]+\)$/.test(e.frameInfo(i)!.swappedTo!)),
    ).toBe(true);
    // The parent's major fault allocates a frame: a reused one is no longer marked; the rest stay.
    const next = at({ example: 'swap' }, 8);
    const still = swapped(next);
    const reused = marked.filter((i) => !still.includes(i));
    expect(reused.length).toBeGreaterThan(0);
    for (const i of reused) expect(next.frameInfo(i)!.state).not.toMatch(/^free/);
    for (const i of still) expect(marked).toContain(i);
    // Time travel: back to step 7 the marks are the same (the engine re-runs from boot).
    expect(swapped(at({ example: 'swap' }, 7))).toEqual(marked);
  });

  it('lists each slot in use with its swap PTEs and swap-cache frame (kernel.swapSlots)', () => {
    const out = at({ example: 'swap' }, 7).swap().devices[0]!;
    expect(out.details).toHaveLength(out.used);
    expect(out.details.map((d) => d.offset)).toEqual(
      [...out.slots].flatMap((c, i) => (c === SLOT_CODES.used ? [i] : [])),
    );
    const shared = out.details.filter((d) => d.count === 2);
    expect(shared.length).toBeGreaterThan(0);
    for (const d of shared) {
      expect(d.cached).toBe(false);
      expect(d.ptes).toHaveLength(2);
      expect(d.ptes[0]).toMatch(/^pid 1 \(parent\) 0x[0-9a-f]+$/);
      expect(d.ptes[1]).toBe(d.ptes[0]!.replace('pid 1 (parent)', 'pid 2 (child)'));
    }
    // The parent's read: the slot stays for the child, its page in the swap cache.
    const e = at({ example: 'swap' }, 8);
    const major = e.swap().devices[0]!;
    const cached = major.details.filter((d) => d.cached);
    expect(cached).toHaveLength(major.cached);
    const c = cached[0]!;
    expect(c.count).toBe(1);
    expect(c.ptes).toEqual([expect.stringMatching(/^pid 2 \(child\) 0x/)]);
    expect(e.frameInfo(e.frameMap().ranges.length ? indexOf(e, c.frame!) : -1)!.mappedBy).toEqual([
      expect.stringMatching(/^pid 1 L3\[\d+\] VA 0x/),
    ]);
    expect(slotText(c.offset, 'cached', c)).toBe(
      `slot ${c.offset}: cached, 1 swap PTE (${c.ptes[0]}), in the swap cache at ${c.frame}`,
    );
    expect(slotText(0, 'header', undefined)).toBe('slot 0: header');
  });
});

describe('engine: a large swap device', () => {
  it('describes only the slots the panel draws (the first SLOTS_SHOWN), counts all', () => {
    const text =
      'board: virt\nram: 64M\noptions: { autoReclaim: false }\nsteps:\n' +
      '  - { op: spawn, as: a }\n  - { op: brk, process: a, to: heap+0x480000 }\n' +
      '  - { op: touch, process: a, addr: heap, length: 1152 pages, write: true }\n' +
      '  - { op: swapon, size: 2048 pages }\n  - { op: reclaim, pages: 1200 }\n';
    const d = at({ text }, 5).swap().devices[0]!;
    expect(d.used).toBeGreaterThan(SLOTS_SHOWN);
    expect(d.slots.filter((c) => c === SLOT_CODES.used)).toHaveLength(d.used);
    expect(d.details).toHaveLength(SLOTS_SHOWN - 1); // slots 1 … 1023: slot 0 is the header
    expect(d.details.every((x) => x.offset < SLOTS_SHOWN && x.count === 1 && x.ptes.length === 1)).toBe(true);
  });
});

/** The frame-map index of physical address `pa` (hex). */
function indexOf(e: Engine, pa: string): number {
  const n = Number(BigInt(pa));
  for (const [start, end, first] of e.frameMap().ranges)
    if (n >= start && n < end) return first + (n - start) / 4096;
  return -1;
}
