import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createRpi4bBoard, createVirtBoard } from '@mmkit/boards';
import { isMmError, type MmEvent, StaleTlbError, vpnOf, WalkResult } from '@mmkit/core';
import { describe, expect, it } from 'vitest';
import { assertAudit, audit } from './audit.js';
import { dumpPageTable, exportTranslationState, formatDump } from './inspect.js';
import { bootKernel, type Kernel } from './kernel.js';
import { MAP, PROT } from './syscalls.js';
import { leaveFree, tinyMachine } from './test-fixtures.js';

const arch = createAarch64Arch();
const LINEAR = 0xffff_0000_0000_0000n;

function virt(
  opts: { cpus?: number; strictTlb?: boolean; zeroPage?: boolean; fork?: 'cow' | 'eager' } = {},
): { k: Kernel; events: MmEvent[] } {
  const k = bootKernel({ arch, machine: createVirtBoard(), ...opts });
  const events: MmEvent[] = [];
  k.events.on((e) => events.push(e));
  return { k, events };
}

const faults = (events: MmEvent[]) =>
  events.filter((e): e is Extract<MmEvent, { type: 'fault' }> => e.type === 'fault');

describe('boot and the kernel address space', () => {
  it('maps all RAM at LINEAR_MAP_BASE (0xFFFF_0000_0000_0000) as kernel-only Normal memory', () => {
    const { k } = virt();
    const mmu = k.cpus[0]!.mmu;
    const r = new WalkResult();
    expect(mmu.walk(vpnOf(LINEAR + 0x4000_0000n), 0, 1, r)).toBe(true);
    expect(r.pfn).toBe(0x4000_0000 / 4096);
    expect(mmu.walk(vpnOf(LINEAR + 0x7fff_f000n), 1, 1, r)).toBe(true);
    expect(r.pfn).toBe(0x7fff_f000 / 4096);
    // EL0 may not touch the linear map; EL1 may not execute it.
    expect(mmu.walk(vpnOf(LINEAR + 0x4000_0000n), 0, 0, r)).toBe(false);
    expect(mmu.walk(vpnOf(LINEAR + 0x4000_0000n), 2, 1, r)).toBe(false);
    expect(k.paToKva(0x4000_1000)).toBe(LINEAR + 0x4000_1000n);
    expect(k.kvaToPa(LINEAR + 0x4000_1000n)).toBe(0x4000_1000);
  });

  it('maps the PL011 UART window as Device memory', () => {
    const { k } = virt();
    const r = new WalkResult();
    expect(k.cpus[0]!.mmu.walk(vpnOf(LINEAR + 0x0900_0000n), 1, 1, r)).toBe(true);
    expect(r.memoryType).toBe(3); // device
    expect(r.pfn).toBe(0x0900_0000 / 4096);
  });

  it('boots an 8 GiB rpi4b with all RAM managed and audits clean', () => {
    const k = bootKernel({ arch, machine: createRpi4bBoard({ ramGiB: 8, pool: 'all-ram' }) });
    const r = assertAudit(k);
    expect(r.freeFrames).toBe(k.baselineFree);
    const w = new WalkResult();
    expect(k.cpus[0]!.mmu.walk(vpnOf(LINEAR + 0x1_8000_0000n), 0, 1, w)).toBe(true);
    expect(w.pfn).toBe(0x1_8000_0000 / 4096);
  });

  it('audit is clean after boot and counts the kernel tables', () => {
    const { k } = virt();
    const r = assertAudit(k);
    expect(r.tableFrames).toBeGreaterThanOrEqual(3);
    // Exactly the kernel's tables (TTBR1 tree) plus the empty TTBR0 root, and nothing else.
    const kernelTables = k.editor.tableFrames({
      root: k.kernelRoot,
      baseVpn: k.kernelRootBaseVpn,
      skipRootIndex: k.recursiveSlot,
    });
    expect(r.tableFrames).toBe(kernelTables.length + 1);
    expect(r.tableFrames).toBe(k.allocator.countByState().pageTable);
    expect(r.userFrames).toBe(0);
    expect(r.freeFrames).toBe(k.baselineFree);
  });
});

describe('user accesses, demand paging and the seed region dispatch', () => {
  it('heap demand-zero: first touch faults at L0 (ESR 0x92000004), later pages at L3 (0x92000047 for a write)', () => {
    const { k, events } = virt();
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 0x10_000n);
    expect(k.load(p, k.layout.heapBase, 8)).toEqual({ ok: true, value: 0n });
    expect(k.store(p, k.layout.heapBase + 0x1000n, 4, 0xdeadbeef)).toEqual({ ok: true, value: 0 });
    expect(k.load(p, k.layout.heapBase + 0x1000n, 4)).toEqual({ ok: true, value: 0xdeadbeef });
    const f = faults(events);
    expect(f.map((e) => e.syndrome)).toEqual([0x92000004n, 0x92000047n]);
    // The read maps the shared zero page (Linux do_anonymous_page); the write a fresh frame.
    expect(f.map((e) => e.resolution)).toEqual(['zero page mapped (read-only)', 'demand-zero heap page']);
    expect(p.residentPages).toBe(2);
    assertAudit(k);
  });

  it('the first write to a clean demand page sets the dirty state (DBM, AP[2] cleared by hardware)', () => {
    const { k } = virt();
    const p = k.createProcess();
    // A read fault on MAP_SHARED anonymous memory maps the page writable and clean (Linux
    // finish_fault: pte_mkdirty only for a write fault); a private page is dirty from its fault.
    const m = k.mmap(p, 0, 4096, PROT.READ | PROT.WRITE, MAP.SHARED | MAP.ANONYMOUS);
    if (!m.ok) throw new Error(m.detail);
    const va = m.value;
    k.load(p, va, 1);
    const before = k.lookup(p, va)!;
    expect(before.entry.kind === 'leaf' && before.entry.attrs.dirty).toBe(false);
    const AP2 = 1 << 7; // AP[2] (read-only), descriptor bit 7
    const DBM = 1 << (51 - 32); // DBM, descriptor bit 51
    const [lo0, hi0] = k.editor.readRaw(before.descriptorPa);
    expect([lo0 & AP2, hi0 & DBM]).toEqual([AP2, DBM]); // clean: read-only with DBM
    k.store(p, va, 1, 7);
    const after = k.lookup(p, va)!;
    expect(after.entry.kind === 'leaf' && after.entry.attrs.dirty).toBe(true);
    const [lo1, hi1] = k.editor.readRaw(after.descriptorPa);
    // The hardware cleared AP[2] and nothing else: no software PTE_DIRTY (bit 55), no fault.
    expect([lo1 & AP2, hi1 & DBM]).toEqual([0, DBM]);
    expect([lo1 ^ lo0, hi1 ^ hi0]).toEqual([AP2, 0]);
    expect(k.load(p, va, 1)).toEqual({ ok: true, value: 7 });
  });

  it('stack grows on demand below the eagerly mapped top page', () => {
    const { k } = virt();
    const s = k.spawn({ text: new Uint8Array([0x1f, 0x20, 0x03, 0xd5]) });
    if (!s.ok) throw new Error('spawn');
    const p = s.process;
    expect(p.residentPages).toBe(2); // one text page, the top stack page
    expect(k.store(p, k.layout.stackTop - 0x3008n, 8, 42n).ok).toBe(true);
    expect(k.load(p, k.layout.stackTop - 0x3008n, 8)).toEqual({ ok: true, value: 42n });
    expect(p.residentPages).toBe(3);
  });

  it.each([
    ['stack overflow', (k: Kernel) => k.layout.stackLow - 8n],
    ['invalid address', () => 0xdeadbeef000n],
    ['text fault', (k: Kernel) => k.layout.textBase + 0x10_0000n],
    ['invalid address', (k: Kernel) => k.layout.dataBase + 0x5000n],
  ] as const)('kills with "%s" and frees everything', (reason, addr) => {
    const { k } = virt();
    const s = k.spawn({ text: new Uint8Array(4096), data: new Uint8Array(100) });
    if (!s.ok) throw new Error('spawn');
    expect(k.store(s.process, addr(k), 8, 1n)).toEqual({
      ok: false,
      killed: reason,
      signal: 'SIGSEGV',
      code: 'SEGV_MAPERR',
    });
    expect(s.process.state).toBe('killed');
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    assertAudit(k);
  });

  it('a write to text is a permission fault at L3 (ESR 0x9200004F) and kills', () => {
    const { k, events } = virt();
    const s = k.spawn({ text: new Uint8Array(4096) });
    if (!s.ok) throw new Error('spawn');
    expect(k.store(s.process, k.layout.textBase, 4, 0)).toEqual({
      ok: false,
      killed: 'permission fault',
      signal: 'SIGSEGV',
      code: 'SEGV_ACCERR', // a VMA exists (text, r-x) but does not allow writes
    });
    expect(faults(events).at(-1)!.syndrome).toBe(0x9200004fn);
  });

  it('a fetch from the heap is an instruction abort (ESR 0x8200000F, permission L3) and kills with "exec fault"', () => {
    const { k, events } = virt();
    const s = k.spawn({ text: new Uint8Array(4096) });
    if (!s.ok) throw new Error('spawn');
    const p = s.process;
    k.brk(p, k.layout.heapBase + 0x1000n);
    k.store(p, k.layout.heapBase, 4, 0xd65f03c0);
    expect(k.fetch(p, k.layout.heapBase)).toMatchObject({ ok: false, killed: 'exec fault' });
    expect(faults(events).at(-1)!.syndrome).toBe(0x8200000fn);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it('text can be fetched and read but user data pages cannot be executed', () => {
    const { k, events } = virt();
    const s = k.spawn({
      text: new Uint8Array([0xc0, 0x03, 0x5f, 0xd6]),
      data: new Uint8Array([0xc0, 0x03, 0x5f, 0xd6]),
    });
    if (!s.ok) throw new Error('spawn');
    expect(k.fetch(s.process, k.layout.textBase)).toEqual({ ok: true, value: 0xd65f03c0 });
    expect(k.load(s.process, k.layout.textBase, 4)).toEqual({ ok: true, value: 0xd65f03c0 });
    // The data page holds the same bytes and can be read, but not executed.
    expect(k.load(s.process, k.layout.dataBase, 4)).toEqual({ ok: true, value: 0xd65f03c0 });
    expect(k.fetch(s.process, k.layout.dataBase)).toMatchObject({ ok: false, killed: 'exec fault' });
    expect(faults(events).at(-1)!.syndrome).toBe(0x8200000fn); // instruction abort, permission L3
    expect(s.process.state).toBe('killed');
  });

  it('fetches of 1, 2 and 8 bytes read the text little-endian', () => {
    const { k } = virt();
    const s = k.spawn({ text: new Uint8Array([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]) });
    if (!s.ok) throw new Error('spawn');
    expect(k.fetch(s.process, k.layout.textBase, 1)).toEqual({ ok: true, value: 0x01 });
    expect(k.fetch(s.process, k.layout.textBase + 2n, 2)).toEqual({ ok: true, value: 0x0403 });
    expect(k.fetch(s.process, k.layout.textBase, 8)).toEqual({ ok: true, value: 0x0807060504030201n });
  });

  it('an access that crosses a page boundary translates both pages', () => {
    const { k } = virt();
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 0x2000n);
    expect(k.store(p, k.layout.heapBase + 0xffcn, 8, 0x1122334455667788n).ok).toBe(true);
    expect(p.residentPages).toBe(2);
    expect(k.load(p, k.layout.heapBase + 0xffcn, 8)).toEqual({ ok: true, value: 0x1122334455667788n });
    expect(k.load(p, k.layout.heapBase + 0x1000n, 4)).toEqual({ ok: true, value: 0x11223344 });
  });

  it('maps far more pages than the seed’s fixed slot arrays allowed', () => {
    const { k } = virt();
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 3000n * 4096n);
    for (let i = 0n; i < 3000n; i++) expect(k.store(p, k.layout.heapBase + i * 4096n, 8, i).ok).toBe(true);
    expect(p.residentPages).toBe(3000);
    expect(k.load(p, k.layout.heapBase + 2999n * 4096n, 8)).toEqual({ ok: true, value: 2999n });
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });
});

describe('copy_from_user / copy_to_user (soft path)', () => {
  it('copies to and from demand-faulted heap', () => {
    const { k } = virt();
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 0x3000n);
    const data = new TextEncoder().encode('hello, user space');
    expect(k.copyToUser(p, k.layout.heapBase + 0xff8n, data).ok).toBe(true);
    const back = k.copyFromUser(p, k.layout.heapBase + 0xff8n, data.length);
    expect(back.ok && new TextDecoder().decode(back.value)).toBe('hello, user space');
  });

  it.each([
    ['a wild pointer', 0xdeadbeef000n, 8],
    ['the stack guard', 0x0fff_ffff_0000n, 8],
    ['a range that overflows 2^64', 0xffff_ffff_ffff_fff8n, 16],
    ['a range past STACK_TOP', 0x1000_0080_0000n - 4n, 8],
  ] as const)('returns EFAULT for %s without killing', (_what, va, len) => {
    const { k } = virt();
    const p = k.createProcess();
    expect(k.copyToUser(p, va, new Uint8Array(len))).toEqual({ ok: false, errno: 'EFAULT' });
    expect(k.copyFromUser(p, va, len)).toEqual({ ok: false, errno: 'EFAULT' });
    expect(p.alive).toBe(true);
    expect(p.residentPages).toBe(0);
  });

  it('copy_to_user into read-only text is EFAULT, not a kill', () => {
    const { k } = virt();
    const s = k.spawn({ text: new Uint8Array(4096) });
    if (!s.ok) throw new Error('spawn');
    expect(k.copyToUser(s.process, k.layout.textBase, new Uint8Array([1]))).toEqual({
      ok: false,
      errno: 'EFAULT',
    });
    expect(s.process.alive).toBe(true);
  });
});

describe('fork, brk, exit', () => {
  it('eager fork copies pages, inherits brk and isolates parent and child', () => {
    const { k } = virt({ fork: 'eager' });
    const s = k.spawn({ text: new Uint8Array(4096) });
    if (!s.ok) throw new Error('spawn');
    const parent = s.process;
    k.brk(parent, k.layout.heapBase + 0x2000n);
    k.store(parent, k.layout.heapBase, 8, 111n);
    const f = k.fork(parent);
    if (!f.ok) throw new Error('fork');
    const child = f.process;
    expect(child.brk).toBe(parent.brk);
    expect(child.residentPages).toBe(parent.residentPages);
    expect(k.load(child, k.layout.heapBase, 8)).toEqual({ ok: true, value: 111n });
    k.store(child, k.layout.heapBase, 8, 222n);
    expect(k.load(parent, k.layout.heapBase, 8)).toEqual({ ok: true, value: 111n });
    expect(child.asid).not.toBe(parent.asid);
    k.exit(child);
    k.exit(parent);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
    assertAudit(k);
  });

  it('brk shrink frees the pages and clears the PTEs, so a re-grow faults in zero pages (no stale PTE, seed 000 bug)', () => {
    const { k, events } = virt();
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 0x4000n);
    for (let i = 0n; i < 4n; i++) k.store(p, k.layout.heapBase + i * 0x1000n, 8, 0x55n);
    const free = k.allocator.freeCount;
    expect(k.brk(p, k.layout.heapBase + 0x1000n)).toBe(k.layout.heapBase + 0x1000n);
    expect(k.allocator.freeCount).toBe(free + 3);
    expect(events.filter((e) => e.type === 'tlb').map((e) => (e as { op: string }).op)).toContain(
      'TLBI VALE1IS',
    );
    k.brk(p, k.layout.heapBase + 0x4000n);
    expect(k.load(p, k.layout.heapBase + 0x2000n, 8)).toEqual({ ok: true, value: 0n });
    expect(k.load(p, k.layout.heapBase, 8)).toEqual({ ok: true, value: 0x55n });
    assertAudit(k);
  });

  it('brk outside [heap base, stack guard) is refused and returns the current break', () => {
    const { k } = virt();
    const p = k.createProcess();
    expect(k.brk(p, 0x1000n)).toBe(k.layout.heapBase);
    expect(k.brk(p, k.layout.stackLow)).toBe(k.layout.heapBase);
  });

  it('operations on an ended process throw a typed error', () => {
    const { k } = virt();
    const p = k.createProcess();
    k.exit(p);
    try {
      k.load(p, k.layout.heapBase, 8);
      expect.unreachable();
    } catch (e) {
      expect(isMmError(e) && e.code).toBe('E_NO_PROCESS');
    }
  });
});

describe('TLB maintenance across CPUs', () => {
  it('brk shrink invalidates both CPUs, and strict mode finds no stale use', () => {
    const { k } = virt({ cpus: 2, strictTlb: true });
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 0x1000n);
    k.store(p, k.layout.heapBase, 8, 1n, 0);
    k.load(p, k.layout.heapBase, 8, 1);
    const vpn = vpnOf(k.layout.heapBase);
    expect(k.cpus[0]!.tlb.lookup(vpn, p.asid)).toBeGreaterThanOrEqual(0);
    expect(k.cpus[1]!.tlb.lookup(vpn, p.asid)).toBeGreaterThanOrEqual(0);
    k.brk(p, k.layout.heapBase);
    expect(k.cpus[0]!.tlb.lookup(vpn, p.asid)).toBe(-1);
    expect(k.cpus[1]!.tlb.lookup(vpn, p.asid)).toBe(-1);
    k.brk(p, k.layout.heapBase + 0x1000n);
    expect(k.load(p, k.layout.heapBase, 8, 1)).toEqual({ ok: true, value: 0n });
  });

  it('strict TLB mode reports a translation removed without invalidation', () => {
    const { k } = virt({ strictTlb: true });
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 0x1000n);
    k.store(p, k.layout.heapBase, 8, 1n);
    const ref = k.lookup(p, k.layout.heapBase)!;
    k.editor.writeRaw(ref.descriptorPa, 0, 0); // a buggy kernel: PTE cleared, no TLBI
    expect(() => k.load(p, k.layout.heapBase, 8)).toThrow(StaleTlbError);
  });
});

describe('nothing is lost: out of memory at every allocation point', () => {
  it('demand faults, spawn and fork fail cleanly for every amount of free memory', () => {
    // The failure paths themselves: without the OOM killer (which would kill and retry).
    const k = bootKernel({
      arch,
      machine: createVirtBoard({ ramBytes: 64 * 2 ** 20, pool: 'all-ram' }),
      oomKiller: false,
    });
    const s = k.spawn({ text: new Uint8Array(8192), data: new Uint8Array(5000) });
    if (!s.ok) throw new Error('spawn');
    const parent = s.process;
    k.brk(parent, k.layout.heapBase + 0x2000n);
    k.store(parent, k.layout.heapBase, 8, 9n);
    const outcomes = { fork: [] as boolean[], spawn: [] as boolean[], store: [] as boolean[] };
    for (let keep = 0; keep <= 16; keep++) {
      const release = leaveFree(k, keep);
      const before = k.allocator.freeCount;
      expect(before).toBe(keep);
      const f = k.fork(parent);
      outcomes.fork.push(f.ok);
      if (f.ok) k.exit(f.process);
      else expect(f).toEqual({ ok: false, errno: 'ENOMEM' });
      expect(k.allocator.freeCount).toBe(before);
      const sp = k.spawn({ text: new Uint8Array(8192), data: new Uint8Array(5000) });
      outcomes.spawn.push(sp.ok);
      if (sp.ok) k.exit(sp.process);
      else expect(sp).toEqual({ ok: false, errno: 'ENOMEM' });
      expect(k.allocator.freeCount).toBe(before);
      const q = k.createProcess();
      k.brk(q, k.layout.heapBase + 0x1000n);
      const r = k.store(q, k.layout.heapBase, 8, 1n);
      outcomes.store.push(r.ok);
      if (r.ok) {
        expect(k.load(q, k.layout.heapBase, 8)).toEqual({ ok: true, value: 1n });
        k.exit(q);
      } else {
        expect(r).toEqual({ ok: false, killed: 'out of memory', signal: 'SIGSEGV', code: 'SEGV_OOM' });
        expect(q.state).toBe('killed');
      }
      expect(k.allocator.freeCount).toBe(before);
      expect(audit(k).problems).toEqual([]);
      release();
    }
    // Each operation fails with too little memory and succeeds from some amount on, never
    // failing again: no amount of free memory leaves it half done.
    for (const [what, ok] of Object.entries(outcomes)) {
      const first = ok.indexOf(true);
      expect(first, what).toBeGreaterThan(0);
      expect(ok.slice(first).every(Boolean), what).toBe(true);
    }
    // A first demand fault needs its page, the root and the three tables below it (L1, L2, L3).
    expect(outcomes.store.indexOf(true)).toBe(5);
  });

  it('tiny machine: every map_page allocation point rolls back', () => {
    const k = bootKernel({ arch, machine: tinyMachine(64) });
    for (let keep = 0; keep <= 5; keep++) {
      const p = k.createProcess();
      const target = k.allocator.alloc('user', p.pid);
      const release = leaveFree(k, keep);
      const before = k.allocator.freeCount;
      const r = k.mapPage(
        p,
        0x40_0000,
        target,
        k.userAttributes({ read: true, write: false, execute: true }),
      );
      // The root and three tables below it (L1, L2, L3): four allocation points.
      if (keep < 4) {
        expect(r).toEqual({ ok: false, reason: 'no-memory' });
        expect(k.allocator.freeCount).toBe(before);
        expect(p.root).toBe(0);
        expect(p.tablePages).toBe(0);
        k.allocator.free(target);
      } else {
        expect(r).toEqual({ ok: true });
        expect(k.allocator.freeCount).toBe(before - 4);
        expect(p.tablePages).toBe(4);
        expect(k.lookup(p, 0x40_0000)!.entry).toMatchObject({ kind: 'leaf', pa: target });
      }
      release();
      k.exit(p); // drops the mapping's reference: the target frame is freed with the process
      expect(audit(k).problems).toEqual([]);
    }
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });
});

describe('translation-state export and page-table dump', () => {
  it('exports the tables and TTBR0_EL1 with the ASID in bits [63:48]', () => {
    const { k } = virt();
    const p = k.createProcess();
    k.brk(p, k.layout.heapBase + 0x1000n);
    k.store(p, k.layout.heapBase, 8, 0x1234n);
    const st = exportTranslationState(k, p);
    expect(st.format).toBe('mmkit-translation-state/1');
    expect(BigInt(st.registers.TTBR0_EL1!)).toBe((BigInt(p.asid) << 48n) | BigInt(p.root));
    expect(BigInt(st.registers.TTBR1_EL1!) & 0xffff_ffff_f000n).toBe(BigInt(k.kernelRoot));
    const user = st.tables.filter((t) => t.owner === `pid ${p.pid}`);
    expect(user.map((t) => t.level)).toEqual(['L0', 'L1', 'L2', 'L3']);
    expect(user.every((t) => t.bytes.length === 8192)).toBe(true);
    expect(st.tables.some((t) => t.owner === 'kernel')).toBe(true);
    // The root's bytes are the real descriptors: re-reading them from the export finds the L1 table.
    const root = user[0]!;
    expect(BigInt(root.pa)).toBe(BigInt(p.root));
    const index = k.arch.geometry.indexOf(vpnOf(k.layout.heapBase), k.arch.geometry.rootLevel);
    const hex8 = root.bytes.slice(index * 16, index * 16 + 16); // one descriptor, little-endian hex
    const le = (h: string) => Number.parseInt(h.match(/../g)!.reverse().join(''), 16);
    const next = k.arch.codec.nextTable(le(hex8.slice(0, 8)), le(hex8.slice(8)), k.arch.geometry.rootLevel);
    expect(BigInt(next)).toBe(BigInt(user[1]!.pa));
    // The export is plain JSON: it survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(st))).toEqual(st);
  });

  it('dumps every level with effective permissions', () => {
    const { k } = virt();
    const s = k.spawn({ text: new Uint8Array(4096) });
    if (!s.ok) throw new Error('spawn');
    const lines = dumpPageTable(k, s.process);
    expect(new Set(lines.map((l) => l.level))).toEqual(new Set(['L0', 'L1', 'L2', 'L3']));
    expect(lines.map((l) => l.level)).toContain('L3');
    const text = lines.find((l) => l.entry.kind === 'leaf' && l.va === k.layout.textBase)!;
    expect(text.effective).toBe('user r-x kernel r-- normal-wb');
    const stack = lines.find((l) => l.entry.kind === 'leaf' && l.va === k.layout.stackTop - 0x1000n)!;
    expect(stack.effective).toBe('user rw- kernel rw- normal-wb');
    expect(formatDump(lines).length).toBe(lines.length);
  });
});
