/**
 * Process creation and program loading: fork (= {@link AddressSpace.clone}), exec (build a new
 * address space, then swap it in), spawn of a simple program image, and static ELF64 executables
 * with the ABI's initial stack. Which executables run is the backend's declaration
 * (`description.elf`: e_machine, class, AT_PLATFORM), never an architecture name.
 *
 * Every operation is atomic: on failure the half-built space (or process) is freed completely and
 * the caller sees an errno.
 */
import { hex, isMmError } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import { newAnonVmaId } from './anon-vma.js';
import { linuxAuxv } from './auxv.js';
import type { KernelContext } from './context.js';
import { parseElf64 } from './elf.js';
import { elfPageBytes, planElfLoad } from './elf-load-plan.js';
import { buildInitialStack } from './initial-stack.js';
import type { Process } from './process.js';
import { allocSlowPath } from './slow-path.js';
import { fail, invalidArgument, ok, PROT, type SysResult } from './syscalls.js';
import { anonVma, stackVma, type VmaValue, vmaWith } from './vma.js';

/** A program for {@link Kernel.spawn}: text and data images. */
export interface ProgramImage {
  readonly text: Uint8Array;
  readonly data?: Uint8Array;
}

/** Arguments of an ELF program. */
export interface SpawnArgs {
  readonly argv?: readonly string[];
  readonly envp?: readonly string[];
  /** AT_EXECFN (default: argv[0], else `a.out`). */
  readonly execfn?: string;
}

/** What exec runs: a simple image or an ELF file with its arguments. */
export type ExecProgram = ProgramImage | (SpawnArgs & { readonly elf: Uint8Array });

/**
 * Spawns a process from a simple program image; ENOMEM leaves nothing behind (the OOM killer may
 * have killed other processes, or the new one, for it: see {@link exec}).
 */
export function spawn(
  k: KernelContext,
  image: ProgramImage,
): { ok: true; process: Process } | { ok: false; errno: 'ENOMEM' } {
  checkImage(image);
  const proc = k.createProcess();
  if (!exec(k, proc, image).ok) {
    k.forget(proc);
    return { ok: false, errno: 'ENOMEM' };
  }
  return { ok: true, process: proc };
}

/**
 * Spawns a process from a static ELF64 executable: each PT_LOAD is mapped with its own
 * permissions (file bytes copied, the tail of the last file page and the bss zeroed), the heap
 * starts at the page-aligned end of the image, and the stack holds argc, argv, envp and the
 * auxiliary vector as the ABI and Linux lay them out. ENOEXEC for a file the backend cannot run,
 * E2BIG for arguments that do not fit, ENOMEM when out of memory — nothing is left behind.
 */
export function spawnElf(k: KernelContext, elf: Uint8Array, args: SpawnArgs = {}): SysResult<Process> {
  if (!(elf instanceof Uint8Array)) throw invalidArgument('elf', elf, 'the executable as a Uint8Array');
  checkSpawnArgs(args); // before the process exists: a refused call leaves nothing behind
  const proc = k.createProcess();
  const r = exec(k, proc, { elf, ...args });
  if (!r.ok) {
    k.forget(proc);
    return r;
  }
  return ok(proc);
}

/**
 * fork: the child's address space is a clone of the parent's (same layout, break, entry point and
 * VMAs; device pages shared; none of a MAP_SHARED anonymous mapping's pages mapped — the child
 * maps them on its first touch, Linux `vma_needs_copy`; private pages shared copy-on-write, or copied eagerly
 * with the kernel option `fork: 'eager'`), its name and `oom_score_adj`. ENOMEM leaves nothing.
 *
 * Out of memory runs the allocator's slow path (slow-path.ts: direct reclaim, then the OOM killer)
 * and the clone is retried: Linux's `dup_mmap` allocates with GFP_KERNEL, which may reclaim and
 * OOM-kill (`__alloc_pages_slowpath`). When nothing can be reclaimed and the victim is the parent
 * itself, or nobody is eligible, or the kernel option `oomKiller` is false, fork fails with ENOMEM.
 */
export function fork(
  k: KernelContext,
  parent: Process,
): { ok: true; process: Process } | { ok: false; errno: 'ENOMEM' } {
  k.live(parent);
  let cowPages = 0;
  const build = (pid: number, asid: number) => {
    const c = parent.space.clone(pid, asid);
    cowPages = c?.cowPages ?? 0;
    return c?.space;
  };
  let child = k.createProcess(parent.pid, build);
  while (child === undefined) {
    // The half-built child is gone (clone frees it); the child is not yet in the task list.
    // Direct reclaim, then the OOM killer (slow-path.ts), then the clone again.
    if (!allocSlowPath(k, parent, 'fork')) return { ok: false, errno: 'ENOMEM' };
    child = k.createProcess(parent.pid, build);
  }
  child.comm = parent.comm;
  child.oomAdj = parent.oomAdj;
  const space = child.space;
  k.events.emit({
    type: 'process',
    action: 'fork',
    pid: child.pid,
    detail:
      k.forkMode === 'cow'
        ? `from pid ${parent.pid}, ${cowPages} pages shared copy-on-write`
        : `from pid ${parent.pid}, ${space.residentPages} pages copied`,
  });
  return { ok: true, process: child };
}

/**
 * exec: replaces the user address space of `proc` with a program, keeping its pid, ASID and the
 * kernel half. The new space is built first; only when that succeeded is the old one freed (one
 * ASID-wide invalidation), so a failed exec leaves the process exactly as it was. Out of memory
 * runs direct reclaim, then the OOM killer (slow-path.ts), and the build is retried; when the victim is `proc` itself (it is killed)
 * or nobody is eligible, exec fails with ENOMEM.
 */
export function exec(k: KernelContext, proc: Process, program: ExecProgram): SysResult<0> {
  k.live(proc);
  if (program === null || typeof program !== 'object')
    throw invalidArgument('program', program, 'a program image { text, data? } or { elf, argv?, envp? }');
  if ('elf' in program) checkSpawnArgs(program);
  else checkImage(program);
  const load = (s: AddressSpace) =>
    'elf' in program ? loadElf(k, s, program) : loadImage(k, s, checkImage(program));
  let fresh = k.newSpaceFor(proc);
  let built = load(fresh);
  // Out of memory: the OOM killer, then the new program is built again from scratch (Linux's
  // exec allocates with GFP_KERNEL, which may OOM-kill). The half-built space is freed first.
  while (!built.ok && built.errno === 'ENOMEM') {
    fresh.clear();
    // Direct reclaim, then the OOM killer (slow-path.ts); ENOMEM when neither helps.
    if (!allocSlowPath(k, proc, 'exec')) return built;
    fresh = k.newSpaceFor(proc);
    built = load(fresh);
  }
  if (!built.ok) {
    fresh.clear();
    return built;
  }
  const old = proc.space;
  old.clear(); // every translation of this ASID is invalidated here
  proc.space = fresh;
  // Linux's exec sets comm to the file name's last component (`__set_task_comm`, at most
  // TASK_COMM_LEN - 1 = 15 bytes); a simple image has no file name.
  proc.comm = 'elf' in program ? commOf(program.execfn ?? program.argv?.[0] ?? 'a.out') : undefined;
  for (const cpu of k.cpus) cpu.refreshRoot(fresh);
  k.events.emit({
    type: 'process',
    action: 'exec',
    pid: proc.pid,
    detail: `exec: ${fresh.residentPages} pages, entry ${hex(fresh.entry)}`,
  });
  return ok(0);
}

/** The last path component, cut to 15 characters (Linux `kbasename` into `comm`). */
function commOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).slice(0, 15);
}

const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * Checks the argument types of an ELF program before anything is built (a wrong type is a thrown
 * error; arguments that do not fit are E2BIG). @throws InvalidArgumentError
 */
function checkSpawnArgs(args: unknown): SpawnArgs {
  const a = args as SpawnArgs | null;
  if (a === null || typeof a !== 'object')
    throw invalidArgument('args', args, 'an object { argv?, envp?, execfn? }');
  if (a.argv !== undefined && !isStrings(a.argv))
    throw invalidArgument('argv', a.argv, 'an array of strings');
  if (a.envp !== undefined && !isStrings(a.envp))
    throw invalidArgument('envp', a.envp, 'an array of strings');
  if (a.execfn !== undefined && typeof a.execfn !== 'string')
    throw invalidArgument('execfn', a.execfn, 'a string');
  return a;
}

function checkImage(image: unknown): ProgramImage {
  const i = image as ProgramImage | null;
  if (
    i === null ||
    typeof i !== 'object' ||
    !(i.text instanceof Uint8Array) ||
    (i.data !== undefined && !(i.data instanceof Uint8Array))
  )
    throw invalidArgument('program image', image, '{ text: Uint8Array, data?: Uint8Array }');
  return i;
}

/**
 * A VMA value for memory the loader fills (text, data, the initial stack): its pages are
 * anonymous pages here, so it gets an anon_vma now (Linux: the stack's from `copy_strings`' write
 * faults; a file segment's text would stay in the page cache, which mmkit does not model).
 */
function loadedVma(v: VmaValue): VmaValue {
  return vmaWith(v, { anonVmaId: newAnonVmaId() });
}

/** Copies `bytes` into freshly allocated pages from page `firstVpn`. False when out of memory. */
function loadPages(
  k: KernelContext,
  space: AddressSpace,
  firstVpn: number,
  bytes: Uint8Array,
  attrs: Parameters<AddressSpace['allocPage']>[1],
): boolean {
  const pageBytes = k.bounds.pageBytes;
  const pages = Math.ceil(bytes.length / pageBytes);
  for (let i = 0; i < pages; i++) {
    const pa = space.allocPage(firstVpn + i, attrs);
    if (pa === 0) return false;
    k.memory.writeBytes(pa, bytes.subarray(i * pageBytes, (i + 1) * pageBytes));
  }
  return true;
}

/** A simple program image: text r-x at the text base, data rw- at the data base, the top stack page. */
function loadImage(k: KernelContext, space: AddressSpace, image: ProgramImage): SysResult<0> {
  const pageBytes = k.bounds.pageBytes;
  const v = space.vpn;
  // Every VMA the loader fills holds anonymous pages (mmkit has no page cache), so it has an
  // anon_vma from the start (anon-vma.ts); exec's fresh mm has no other.
  space.vmas.insert(v.stackTop - 1, v.stackTop, loadedVma(stackVma()));
  const textPages = Math.ceil(image.text.length / pageBytes);
  const dataPages = Math.ceil((image.data?.length ?? 0) / pageBytes);
  if (textPages > 0)
    space.vmas.insert(v.text, v.text + textPages, loadedVma(anonVma(PROT.READ | PROT.EXEC, 'text')));
  if (dataPages > 0)
    space.vmas.insert(v.data, v.data + dataPages, loadedVma(anonVma(PROT.READ | PROT.WRITE, 'data')));
  const text = k.leafAttributes({
    user: { read: true, write: false, execute: true },
    memoryType: 'normal-wb',
    global: false,
  });
  const loaded =
    loadPages(k, space, v.text, image.text, text) &&
    loadPages(k, space, v.data, image.data ?? new Uint8Array(0), k.anonAttrs) &&
    space.allocPage(v.stackTop - 1, k.anonAttrs) !== 0;
  space.entry = space.layout.textBase;
  space.initialSp = space.layout.stackTop;
  return loaded ? ok(0) : fail('ENOMEM', 'out of memory loading the program');
}

/** An ELF64 executable into a fresh space. */
function loadElf(
  k: KernelContext,
  space: AddressSpace,
  p: SpawnArgs & { readonly elf: Uint8Array },
): SysResult<0> {
  if (!(p.elf instanceof Uint8Array)) throw invalidArgument('elf', p.elf, 'the executable as a Uint8Array');
  const d = k.arch.description;
  const id = d.elf;
  if (id === undefined || id.class !== 64) return fail('ENOEXEC', `${d.id} runs no ELF64 executables`);
  const pageBytes = k.bounds.pageBytes;
  let image: ReturnType<typeof parseElf64>;
  let plan: ReturnType<typeof planElfLoad>;
  try {
    image = parseElf64(p.elf, { machines: [id.machine] });
    plan = planElfLoad(image, p.elf, pageBytes, { userEnd: BigInt(k.bounds.userEndVpn) * BigInt(pageBytes) });
  } catch (e) {
    if (isMmError(e)) return fail('ENOEXEC', e.message);
    throw e;
  }
  const base = k.layout;
  const firstWritable = plan.segments.find((sg) => sg.permissions.write);
  space.setLayout({
    textBase: plan.imageStart,
    dataBase: firstWritable ? firstWritable.start : plan.imageEnd,
    heapBase: plan.brk,
    stackGuardLow: base.stackGuardLow,
    stackLow: base.stackLow,
    stackTop: base.stackTop,
  });
  if (plan.imageEnd > base.stackGuardLow)
    return fail('ENOEXEC', `the image ends at ${hex(plan.imageEnd)}, inside the stack area`);
  const name = p.execfn ?? p.argv?.[0] ?? 'a.out';
  const protOf = (q: { read: boolean; write: boolean; execute: boolean }) =>
    (q.read ? PROT.READ : 0) | (q.write ? PROT.WRITE : 0) | (q.execute ? PROT.EXEC : 0);
  const shift = BigInt(d.pageShift);
  for (const sg of plan.segments) {
    const startVpn = Number(sg.start >> shift);
    const fileEndVpn = startVpn + sg.filePages.length;
    if (fileEndVpn > startVpn) {
      // The file offset of the first page, shown in /proc/PID/maps as Linux shows it.
      const offsetPages = Math.floor((sg.filePages[0]?.fileOffset ?? 0) / pageBytes);
      space.vmas.insert(
        startVpn,
        fileEndVpn,
        anonVma(protOf(sg.permissions), name, { offsetPages, file: true, anonVmaId: newAnonVmaId() }),
      );
    }
    const attrs = k.attrsFor(anonVma(protOf(sg.permissions), name));
    for (const page of sg.filePages) {
      const pa = space.allocPage(Number(page.va >> shift), attrs);
      if (pa === 0) return fail('ENOMEM', 'out of memory loading the program');
      k.memory.writeBytes(pa, elfPageBytes(p.elf, page, pageBytes));
    }
    if (sg.bss) {
      space.vmas.insert(
        Number(sg.bss.start >> shift),
        Number(sg.bss.end >> shift),
        anonVma(protOf(sg.bss.permissions), ''),
      );
    }
  }
  space.entry = plan.entry;
  // The initial stack: argc, argv, envp, auxv (Linux create_elf_tables), at most a few pages.
  let stack: ReturnType<typeof buildInitialStack>;
  try {
    stack = buildInitialStack({
      argv: p.argv ?? [name],
      envp: p.envp ?? [],
      auxv: linuxAuxv({
        phdr: plan.phdrAddress ?? 0n,
        phnum: plan.phnum,
        phent: plan.phent,
        entry: plan.entry,
      }),
      stackTop: base.stackTop,
      wordBytes: id.class === 64 ? 8 : 4,
      execfn: name,
      platform: id.platform,
      randomSeed: space.pid,
    });
  } catch (e) {
    if (isMmError(e)) return fail('E2BIG', e.message);
    throw e;
  }
  const spVpn = Number(stack.sp >> shift);
  const topVpn = space.vpn.stackTop;
  space.vmas.insert(spVpn, topVpn, loadedVma(stackVma()));
  for (let vpn = spVpn; vpn < topVpn; vpn++) {
    if (space.allocPage(vpn, k.anonAttrs) === 0) return fail('ENOMEM', 'out of memory building the stack');
  }
  const bytes = stack.bytes;
  const page = BigInt(pageBytes);
  for (let off = 0; off < bytes.length; ) {
    const va = stack.sp + BigInt(off);
    const ref = space.lookup(Number(va >> shift));
    if (ref?.entry.kind !== 'leaf') throw new Error('kernel bug: stack page not mapped');
    const inPage = Number(va % page);
    const n = Math.min(bytes.length - off, pageBytes - inPage);
    k.memory.writeBytes(ref.entry.pa + inPage, bytes.subarray(off, off + n));
    off += n;
  }
  space.initialSp = stack.sp;
  return ok(0);
}
