/**
 * Issue 4 features the scenario/property suites do not cover: ELF spawn and exec, huge pages,
 * page-table pages freed by munmap, shared memory across fork, device mappings with the AArch64
 * Contiguous hint, /proc smaps, and out-of-memory atomicity of the facade.
 */
import { readFileSync } from 'node:fs';
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createX86Arch } from '@mmkit/arch-x86';
import { createPcBoard, createVirtBoard } from '@mmkit/boards';
import { describe, expect, it } from 'vitest';
import { assertAudit } from './audit.js';
import { readInitialStack } from './initial-stack.js';
import { bootKernel } from './kernel.js';
import { MAP, PROT } from './syscalls.js';
import { leaveFree } from './test-fixtures.js';

const MiB = 2 ** 20;
const RW = PROT.READ | PROT.WRITE;
const fixture = (name: string) => readFileSync(new URL(`../fixtures/elf/${name}`, import.meta.url));
const virt = (ramBytes = 256 * MiB, oomKiller = true) =>
  bootKernel({
    arch: createAarch64Arch(),
    machine: createVirtBoard({ ramBytes, pool: 'all-ram' }),
    cpus: 2,
    strictTlb: true,
    oomKiller,
  });
const pc64 = () =>
  bootKernel({
    arch: createX86Arch({ mode: 'x86_64' }),
    machine: createPcBoard({ ramBytes: 256 * MiB }),
    strictTlb: true,
  });

function must<T>(r: { ok: true; value: T } | { ok: false; errno: string; detail: string }): T {
  if (!r.ok) throw new Error(`${r.errno}: ${r.detail}`);
  return r.value;
}

describe('static ELF64 programs', () => {
  it.each([
    ['x86_64', pc64, 'data-bss-x86_64'],
    ['aarch64', () => virt(), 'data-bss-aarch64'],
  ] as const)(
    '%s: PT_LOADs mapped with their permissions, bss zero, argv/envp/auxv on the stack as the ABI says',
    (_n, boot, file) => {
      const k = boot();
      const p = must(
        k.spawnElf(fixture(file), { argv: ['/bin/prog', 'one', 'two'], envp: ['HOME=/', 'LANG=C'] }),
      );
      // The stack as the program sees it at its entry point.
      const top = k.layout.stackTop;
      const img = must({
        ...k.copyFromUser(p, p.initialSp, Number(top - p.initialSp)),
        detail: '',
      } as never) as Uint8Array;
      const st = readInitialStack(img, p.initialSp);
      expect(st.argc).toBe(3);
      expect(st.argv).toEqual(['/bin/prog', 'one', 'two']);
      expect(st.envp).toEqual(['HOME=/', 'LANG=C']);
      expect(p.initialSp % 16n).toBe(0n);
      expect(st.auxv.find((a) => a.type === 9)?.value).toBe(p.entry); // AT_ENTRY
      // Text is executable and read-only; the first instruction bytes come from the file.
      expect(k.fetch(p, p.entry, 4).ok).toBe(true);
      const vmas = k.vmas(p);
      const textVma = vmas.find((v) => v.start <= p.entry && p.entry < v.end)!;
      expect(textVma.prot & PROT.WRITE).toBe(0);
      expect(textVma.prot & PROT.EXEC).toBe(PROT.EXEC);
      // bss: anonymous, readable and writable, zero.
      const bss = vmas.find((v) => v.name === '' && v.prot === RW)!;
      expect(k.load(p, bss.start, 8)).toEqual({ ok: true, value: 0n });
      expect(k.store(p, bss.end - 8n, 8, 7n).ok).toBe(true);
      assertAudit(k);
      k.exit(p);
      expect(k.allocator.freeCount).toBe(k.baselineFree);
    },
  );

  it('an executable for the other architecture, or garbage, is ENOEXEC and leaves nothing behind', () => {
    const k = virt();
    const before = k.allocator.freeCount;
    expect(k.spawnElf(fixture('hello-x86_64'))).toMatchObject({ ok: false, errno: 'ENOEXEC' });
    expect(k.spawnElf(new Uint8Array(64))).toMatchObject({ ok: false, errno: 'ENOEXEC' });
    expect(k.allocator.freeCount).toBe(before);
    expect(k.liveProcesses).toEqual([]);
  });

  it('exec replaces the user space (same pid and ASID, no frame or table leaked) and keeps the kernel half', () => {
    const k = virt();
    const s = k.spawn({ text: new Uint8Array(8192), data: new Uint8Array(100) });
    if (!s.ok) throw new Error('spawn');
    const p = s.process;
    k.brk(p, k.layout.heapBase + 0x4000n);
    for (let i = 0n; i < 4n; i++) k.store(p, k.layout.heapBase + i * 4096n, 8, i);
    const sh = must(k.mmap(p, 0, 8192, RW, MAP.SHARED | MAP.ANONYMOUS));
    k.store(p, sh, 8, 1n);
    const { pid, asid } = p;
    must(k.exec(p, { elf: fixture('hello-aarch64'), argv: ['hello'] }));
    expect([p.pid, p.asid, p.alive]).toEqual([pid, asid, true]);
    expect(k.vmas(p).some((v) => v.name === '[heap]' && v.end > k.layout.heapBase + 0x1000n)).toBe(false);
    expect(k.load(p, sh, 8)).toMatchObject({ ok: false, code: 'SEGV_MAPERR' });
    assertAudit(k);
    const q = k.process(pid);
    expect(q).toBe(p);
  });

  it('exec that runs out of memory fails with ENOMEM and leaves the old program intact', () => {
    // The failure path itself: without the OOM killer (which would kill the only process).
    const k = virt(64 * MiB, false);
    const s = k.spawn({ text: new Uint8Array(4096) });
    if (!s.ok) throw new Error('spawn');
    const p = s.process;
    k.brk(p, k.layout.heapBase + 0x1000n);
    k.store(p, k.layout.heapBase, 8, 42n);
    const release = leaveFree(k, 2);
    const maps = k.procMaps(p);
    expect(k.exec(p, { elf: fixture('data-bss-aarch64') })).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(k.procMaps(p)).toBe(maps);
    release();
    expect(k.load(p, k.layout.heapBase, 8)).toEqual({ ok: true, value: 42n });
    assertAudit(k);
  });
});

describe('huge pages', () => {
  it('MAP_HUGETLB faults in 2 MiB leaves; a partial munmap splits exactly; a partial mprotect splits too', () => {
    const k = virt();
    const p = k.createProcess();
    const base = must(k.mmap(p, 0, 4 * MiB, RW, MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB));
    expect(base % BigInt(2 * MiB)).toBe(0n);
    k.store(p, base + 0x1234n, 4, 5);
    expect(k.lookup(p, base)!.level).toBe(2); // an L2 block
    expect(p.residentPages).toBe(512);
    expect(must(k.munmap(p, base + 0x10_0000n, 4096))).toBe(0);
    expect(p.residentPages).toBe(511);
    expect(k.lookup(p, base)!.level).toBe(1);
    expect(k.load(p, base + 0x1234n, 4)).toEqual({ ok: true, value: 5 });
    expect(k.load(p, base + 0x10_0000n, 4)).toMatchObject({ ok: false, code: 'SEGV_MAPERR' });
    const q = k.createProcess();
    const b2 = must(k.mmap(q, 0, 2 * MiB, RW, MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB));
    k.store(q, b2, 1, 1);
    must(k.mprotect(q, b2 + 0x8000n, 4096, PROT.READ));
    expect(k.store(q, b2 + 0x8000n, 1, 1)).toMatchObject({
      ok: false,
      killed: 'permission fault',
      code: 'SEGV_ACCERR',
    });
    assertAudit(k);
  });

  it('fork copies a huge page as a huge page', () => {
    const k = virt();
    const p = k.createProcess();
    const base = must(k.mmap(p, 0, 2 * MiB, RW, MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB));
    k.store(p, base + 8n, 8, 99n);
    const f = k.fork(p);
    if (!f.ok) throw new Error('fork');
    expect(k.lookup(f.process, base)!.level).toBe(2);
    expect(k.load(f.process, base + 8n, 8)).toEqual({ ok: true, value: 99n });
    k.store(f.process, base + 8n, 8, 1n);
    expect(k.load(p, base + 8n, 8)).toEqual({ ok: true, value: 99n });
    assertAudit(k);
  });

  it('a 1 GiB-aligned MAP_HUGETLB range gets a 1 GiB block (AArch64 L1) when a 1 GiB run of frames is free', () => {
    const k = virt(2048 * MiB);
    const p = k.createProcess();
    const at = 0x40_0000_0000n; // 1 GiB aligned
    expect(must(k.mmap(p, at, 1024 * MiB, RW, MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB | MAP.FIXED))).toBe(
      at,
    );
    k.store(p, at + 0x1234_5678n, 4, 9);
    expect(k.lookup(p, at)!.level).toBe(3); // an L1 block
    expect(p.residentPages).toBe(262_144);
    expect(k.load(p, at + 0x1234_5678n, 4)).toEqual({ ok: true, value: 9 });
    must(k.munmap(p, at + 0x2000_0000n, 4096)); // splits 1 GiB → 2 MiB blocks → pages, exactly
    expect(p.residentPages).toBe(262_143);
    assertAudit(k);
    k.exit(p);
    expect(k.allocator.freeCount).toBe(k.baselineFree);
  });

  it('x86-32 uses 4 MiB leaves', () => {
    const k = bootKernel({
      arch: createX86Arch({ mode: 'x86-32' }),
      machine: createPcBoard({ ramBytes: 256 * MiB, flavour: '32' }),
    });
    const p = k.createProcess();
    const base = must(k.mmap(p, 0, 8 * MiB, RW, MAP.PRIVATE | MAP.ANONYMOUS | MAP.HUGETLB));
    k.store(p, base + 4n * BigInt(MiB) + 16n, 4, 3);
    expect(k.lookup(p, base + 4n * BigInt(MiB))!.level).toBe(2);
    expect(p.residentPages).toBe(1024);
    assertAudit(k);
  });
});

describe('page tables, shared memory, devices, introspection', () => {
  it('munmap frees the page-table pages that no longer cover any mapping', () => {
    const k = virt();
    const p = k.createProcess();
    const base = must(k.mmap(p, 0x40_0000_0000, 3 * 4096, RW, MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED));
    for (let i = 0n; i < 3n; i++) k.store(p, base + i * 4096n, 1, 1);
    const tables = p.tablePages;
    must(k.munmap(p, base, 3 * 4096));
    expect(p.tablePages).toBe(tables - 3); // the L1, L2 and L3 tables of that region (the root stays)
    assertAudit(k);
  });

  it('MAP_SHARED survives munmap in one process while another still maps it, and is freed by the last', () => {
    const k = virt();
    const p = k.createProcess();
    const sh = must(k.mmap(p, 0, 4096, RW, MAP.SHARED | MAP.ANONYMOUS));
    k.store(p, sh, 4, 0xabc);
    const f = k.fork(p);
    if (!f.ok) throw new Error('fork');
    must(k.munmap(p, sh, 4096));
    expect(k.load(f.process, sh, 4)).toEqual({ ok: true, value: 0xabc });
    assertAudit(k);
    const ref = k.lookup(f.process, sh)!;
    const pa = ref.entry.kind === 'leaf' ? ref.entry.pa : -1;
    expect(k.allocator.refCount(pa)).toBe(2); // the object's own reference + the child's PTE
    must(k.munmap(f.process, sh, 4096));
    expect(k.allocator.stateOf(pa)).toBe(0); // FREE: the last mapping is gone, so is the object
    assertAudit(k);
  });

  it('a physical mapping (a framebuffer window) is Device memory with the Contiguous hint on aligned groups of 16', () => {
    const k = virt();
    const p = k.createProcess();
    const fb = must(k.mmap(p, 0, 64 * 4096, RW, MAP.SHARED, { physical: 0x1000_0000, name: 'fb' }));
    const ref = k.lookup(p, fb)!;
    expect(
      ref.entry.kind === 'leaf' && [ref.entry.attrs.memoryType, ref.entry.attrs.contiguous, ref.entry.pa],
    ).toEqual(['device', true, 0x1000_0000]);
    // Changing one page of a group clears the hint on the whole group first (break-before-make).
    must(k.mprotect(p, fb + 4096n, 4096, PROT.READ));
    const a = k.lookup(p, fb)!;
    expect(a.entry.kind === 'leaf' && a.entry.attrs.contiguous).toBe(false);
    const b = k.lookup(p, fb + 16n * 4096n)!;
    expect(b.entry.kind === 'leaf' && b.entry.attrs.contiguous).toBe(true);
    expect(
      k.mmap(p, 0, 4096, RW, MAP.SHARED, { physical: 0x4800_0000 } /* RAM the allocator manages */),
    ).toMatchObject({
      ok: false,
      errno: 'EACCES',
    });
    assertAudit(k);
  });

  it('/proc/PID/maps offsets: 0 for anonymous memory (even split), the file offset for ELF segments', () => {
    const k = pc64();
    const p = must(k.spawnElf(fixture('data-bss-x86_64')));
    const a = must(k.mmap(p, 0, 3 * 4096, RW, MAP.PRIVATE | MAP.ANONYMOUS, { name: 'buf' }));
    must(k.mprotect(p, a + 4096n, 4096, PROT.READ));
    const lines = k.procMaps(p).trimEnd().split('\n');
    expect(lines.filter((l) => l.endsWith('[anon:buf]')).map((l) => l.split(' ')[2])).toEqual([
      '00000000',
      '00000000',
      '00000000',
    ]);
    // The text segment of this fixture starts at file offset 0x1000 (readelf -lW).
    expect(lines.find((l) => l.startsWith('00401000-'))).toMatch(
      /^00401000-00402000 r-xp 00001000 00:00 0 +a\.out$/,
    );
  });

  it('smaps reports sizes, RSS, PSS of shared pages, dirty state and VmFlags', () => {
    const k = virt();
    const p = k.createProcess();
    const sh = must(k.mmap(p, 0, 2 * 4096, RW, MAP.SHARED | MAP.ANONYMOUS, { name: 'shm' }));
    k.store(p, sh, 1, 1);
    const f = k.fork(p);
    if (!f.ok) throw new Error('fork');
    // fork copies no PTE of a shared mapping (Linux vma_needs_copy): the child maps the page on
    // its first touch (a minor fault), and then two processes map it.
    expect(k.procSmaps(f.process)).toMatch(/\[anon:shm\]\n(?:.*\n){3}Rss:\s+0 kB\n/);
    expect(k.load(f.process, sh, 1)).toEqual({ ok: true, value: 1 });
    const smaps = k.procSmaps(p);
    const block = smaps.split('\n').slice(smaps.split('\n').findIndex((l) => l.endsWith('[anon:shm]')));
    expect(block[1]).toMatch(/^Size:\s+8 kB$/);
    expect(block[4]).toMatch(/^Rss:\s+4 kB$/);
    expect(block[5]).toMatch(/^Pss:\s+2 kB$/); // one page mapped by two processes
    expect(block[7]).toMatch(/^Shared_Dirty:\s+4 kB$/);
    expect(block.find((l) => l.startsWith('VmFlags:'))).toContain('sh');
    expect(k.memoryStats(p)).toMatchObject({ rssPages: p.residentPages, pageTablePages: p.tablePages });
  });

  it('MAP_POPULATE that cannot be satisfied still maps (Linux ignores mm_populate); mremap moves keep the data', () => {
    const k = virt(64 * MiB);
    const p = k.createProcess();
    const release = leaveFree(k, 10);
    const before = k.procMaps(p);
    const free0 = k.allocator.freeCount;
    const m = must(k.mmap(p, 0, 64 * 4096, RW, MAP.PRIVATE | MAP.ANONYMOUS | MAP.POPULATE));
    expect(p.residentPages).toBeGreaterThan(0); // as far as the 10 frames went (pid 1: nobody to kill)
    expect(p.residentPages).toBeLessThan(10);
    assertAudit(k);
    must(k.munmap(p, m, 64 * 4096));
    expect(k.procMaps(p)).toBe(before);
    // Every frame back but the root table the populate built (a space keeps its root).
    expect(k.allocator.freeCount + k.memoryStats(p).pageTablePages).toBe(free0);
    release();
    const a = must(k.mmap(p, 0, 2 * 4096, RW, MAP.PRIVATE | MAP.ANONYMOUS));
    must(k.mmap(p, a + 8192n, 4096, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED)); // blocks growth in place
    k.store(p, a + 4096n, 8, 77n);
    const moved = must(k.mremap(p, a, 8192, 5 * 4096, 1));
    expect(moved).not.toBe(a);
    expect(k.load(p, moved + 4096n, 8)).toEqual({ ok: true, value: 77n });
    expect(k.load(p, a, 8)).toMatchObject({ ok: false, code: 'SEGV_MAPERR' });
    assertAudit(k);
  });
});
