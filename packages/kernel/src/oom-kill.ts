/**
 * The OOM killer (Linux mm/oom_kill.c): when an allocation the kernel must make cannot be
 * satisfied from memory or swap, {@link outOfMemory} chooses the process whose death frees the
 * most memory — `oom_badness()`: resident pages + swap entries + page-table pages, plus
 * `oom_score_adj` scaled to the machine — kills it with SIGKILL, frees everything it held, and
 * the caller retries the allocation.
 *
 * Where the kernel calls it (each an allocation Linux makes with a gfp mask that may OOM-kill:
 * `__alloc_pages_slowpath` → `__alloc_pages_may_oom` → `out_of_memory`):
 * - page faults (`fault.ts`): the page, the page tables for it, and copy-on-write copies
 *   (`GFP_HIGHUSER_MOVABLE` and `GFP_PGTABLE_USER`; also on the copy-to/from-user path, where
 *   the allocation is the same and only the delivery of the failure differs);
 * - fork (`fork-exec.ts`): the child's page tables and, with `fork: 'eager'`, its copies
 *   (`dup_mmap` allocates with GFP_KERNEL);
 * - exec and spawn (`fork-exec.ts`): the new program's pages and tables (GFP_KERNEL /
 *   GFP_HIGHUSER in Linux's exec); the half-built space is freed and built again.
 * - MAP_POPULATE and mlock population, per page, and mremap's page tables;
 * each after direct reclaim freed nothing (`slow-path.ts`).
 * Huge-page allocations never do (Linux allocates THP and hugetlb pages with __GFP_NORETRY /
 * from a reserved pool): a failed huge page falls back to small pages, which may. brk allocates
 * nothing.
 *
 * Ownership: the module holds no state. A process's `oom_score_adj` lives on the
 * {@link Process}; swap entries are counted by its {@link AddressSpace} (`swapEntries`).
 *
 * Never chosen (Linux `oom_unkillable_task`): pid 1, the global init (`is_global_init`), and
 * kernel threads (mmkit has none); nor a process with oom_score_adj −1000.
 *
 * Choices where mmkit differs from Linux (documented, tested):
 * - no eligible victim (only pid 1 and processes with oom_score_adj −1000 are alive): Linux
 *   prints "Out of memory and no killable processes..." and panics ("System is deadlocked on
 *   memory"); mmkit emits the `oom-kill` event without a victim (that line as its detail) and
 *   fails the allocation instead: a fault kills the faulting process (SIGSEGV SEGV_OOM, as without
 *   the killer — pid 1 included: the simulation goes on where Linux would have stopped), a soft
 *   access gets EFAULT, a system call (fork, exec, mmap with MAP_POPULATE, mlock, mremap) ENOMEM;
 * - the victim's memory is freed at once (Linux's oom_reaper does it asynchronously);
 * - page tables are counted as they exist: PAE's PMDs are allocated on demand here, where Linux
 *   preallocates (and counts) them with the PGD.
 */
import type { OomKillEvent, OomTask, OomVictim } from '@mmkit/core';
import type { AddressSpace } from './address-space.js';
import type { KernelContext } from './context.js';
import { FrameState } from './page-allocator.js';
import type { KillSignal, Process } from './process.js';
import { swapTotalPages } from './swap.js';
import { fail, invalidArgument, ok, type SysResult } from './syscalls.js';

/** Lowest `oom_score_adj`: the process is never chosen (Linux OOM_SCORE_ADJ_MIN). */
export const OOM_SCORE_ADJ_MIN = -1000;
/** Highest `oom_score_adj` (Linux OOM_SCORE_ADJ_MAX). */
export const OOM_SCORE_ADJ_MAX = 1000;

/** The OOM killer's signal: SIGKILL from the kernel (`SEND_SIG_PRIV` → si_code SI_KERNEL). */
const OOM_SIGKILL: KillSignal = { signal: 'SIGKILL', code: 'SI_KERNEL' };

/** Resident pages of an address space by Linux's rss counters (MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES). */
export interface RssPages {
  readonly anon: number;
  readonly file: number;
  readonly shmem: number;
}

/**
 * Resident pages of `space` as Linux counts them: every leaf page that maps a frame the
 * allocator handed out for user data. A frame shared copy-on-write counts in every space that
 * maps it (as MM_ANONPAGES does); the shared zero page and device pages count nowhere (Linux maps
 * them as special PTEs, never counted). Pages of a shared anonymous mapping are shmem
 * (MAP_SHARED|MAP_ANONYMOUS is shmem-backed), pages of an ELF segment are file pages (page-cache
 * pages in Linux; mmkit copies the bytes at exec and does not track which were written since),
 * the rest anonymous.
 */
export function rssOf(k: KernelContext, space: AddressSpace): RssPages {
  let anon = 0;
  let file = 0;
  let shmem = 0;
  if (space.root === 0) return { anon, file, shmem };
  const { editor, allocator, arch, bounds } = k;
  const entryPages = arch.geometry.entryPages;
  const pageBytes = bounds.pageBytes;
  space.vmas.forEach((vma) => {
    const v = vma.value;
    if (v.kind === 'device') return;
    editor.forEachLeaf({ root: space.root, startVpn: vma.startVpn, endVpn: vma.endVpn }, (l) => {
      const pages = entryPages[l.level]!;
      let n = 0;
      for (let i = 0; i < pages; i++) if (allocator.stateOf(l.pa + i * pageBytes) === FrameState.USER) n++;
      if (v.shm !== undefined) shmem += n;
      else if (v.file) file += n;
      else anon += n;
    });
  });
  return { anon, file, shmem };
}

/**
 * Page-table pages as Linux's `mm_pgtables_bytes() / PAGE_SIZE` counts them: the PTE, PMD and PUD
 * tables (`mm_inc_nr_ptes/pmds/puds`), not the PGD (allocated and freed with the mm) and not a
 * P4D. In mmkit's numbering (1 = leaf table) those are the tables below the root at levels 1..3:
 * all but the root on AArch64 4-level, x86-64 4-level, PAE and 32-bit x86; on LA57 also not the
 * PML4 (the P4D).
 */
export function pgtablesPages(k: KernelContext, space: AddressSpace): number {
  if (space.root === 0) return 0;
  const rootLevel = k.arch.geometry.rootLevel;
  const { userStartVpn, userEndVpn } = k.bounds;
  let n = 0;
  for (const t of k.editor.tableFrames({ root: space.root, startVpn: userStartVpn, endVpn: userEndVpn }))
    if (t.level < rootLevel && t.level <= 3) n++;
  return n;
}

/**
 * `totalpages` of an unconstrained OOM (`constrained_alloc`: `totalram_pages() +
 * total_swap_pages`): the frames the allocator manages plus the pages of swap space (none on a
 * kernel without swap devices).
 */
export function oomTotalPages(k: KernelContext): number {
  return k.allocator.totalCount + swapTotalPages(k);
}

/** The global init's pid (Linux `is_global_init`: the first process of the initial pid namespace). */
export const INIT_PID = 1;

/**
 * Linux `oom_unkillable_task`: the global init (pid 1, `is_global_init`) and kernel threads
 * (`PF_KTHREAD`) are never the OOM killer's victims. mmkit has no kernel threads (every process
 * has a user address space), so only pid 1 is unkillable.
 */
export function oomUnkillable(proc: Process): boolean {
  return proc.pid === INIT_PID;
}

/**
 * Linux `oom_badness(p, totalpages)`: undefined (Linux's LONG_MIN: never chosen) for a process
 * with oom_score_adj −1000, that has ended, or that is unkillable ({@link oomUnkillable}: pid 1);
 * otherwise rss + swap entries + page-table pages,
 * plus `oom_score_adj * (totalpages / 1000)` — Linux divides first (`adj *= totalpages / 1000`),
 * with C's integer division.
 */
export function oomBadness(k: KernelContext, proc: Process, totalPages: number): number | undefined {
  if (!proc.alive || proc.oomAdj === OOM_SCORE_ADJ_MIN || oomUnkillable(proc)) return undefined;
  const space = proc.space;
  const rss = rssOf(k, space);
  const points = rss.anon + rss.file + rss.shmem + space.swapEntries + pgtablesPages(k, space);
  return points + proc.oomAdj * Math.trunc(totalPages / 1000);
}

/**
 * `/proc/PID/oom_score` (Linux `proc_oom_score`): 0 for an unkillable process (oom_score_adj −1000,
 * or pid 1: `oom_badness` returns LONG_MIN for it), otherwise the
 * badness scaled into [0, 2000] as `(1000 + badness * 1000 / totalpages) * 2 / 3`, every division
 * truncating as C's does.
 */
export function oomScore(k: KernelContext, proc: Process): number {
  k.live(proc);
  const total = oomTotalPages(k);
  const badness = oomBadness(k, proc, total);
  if (badness === undefined) return 0;
  return Math.trunc(((1000 + Math.trunc((badness * 1000) / total)) * 2) / 3);
}

/**
 * Writes `/proc/PID/oom_score_adj`: an integer −1000..1000, else EINVAL (Linux
 * `oom_score_adj_write` → `__set_oom_adj`), nothing changed.
 * @throws InvalidArgumentError unless `value` is a number; NoProcessError for an ended process.
 */
export function setOomScoreAdj(k: KernelContext, proc: Process, value: number): SysResult<0> {
  k.live(proc);
  if (typeof value !== 'number') throw invalidArgument('oom_score_adj', value, 'a number');
  if (!Number.isInteger(value) || value < OOM_SCORE_ADJ_MIN || value > OOM_SCORE_ADJ_MAX)
    return fail('EINVAL', `oom_score_adj ${value} is not an integer from -1000 to 1000`);
  proc.oomAdj = value;
  return ok(0);
}

/** The name Linux prints (`comm`), or `pid N`. */
export function processName(proc: Process): string {
  return proc.comm ?? `pid ${proc.pid}`;
}

/** A failed allocation that may invoke the OOM killer. */
export interface OomRequest {
  /** The process on whose behalf the kernel allocates. */
  readonly proc: Process;
  /** What it allocates, for the report (`page fault at 0x…`, `fork`). */
  readonly allocation: string;
}

/**
 * Linux `out_of_memory` for an unconstrained allocation: `select_bad_process` walks the live
 * processes in task-list order (creation order) and keeps the one with the highest badness —
 * `oom_evaluate_task` skips a task only when its points are lower than the chosen one's, so of
 * equal scores the last one found wins — then `oom_kill_process` kills it (SIGKILL, reason
 * `out of memory`) and its memory is freed. Emits an `oom-kill` event (the report and the
 * `dump_tasks` table, taken before the kill) and returns the victim, or undefined when no process
 * is eligible (nothing is killed then; the caller decides, see the module documentation).
 */
export function outOfMemory(k: KernelContext, request: OomRequest): Process | undefined {
  const total = oomTotalPages(k);
  const emit = k.events.active;
  const tasks: OomTask[] = [];
  let chosen: Process | undefined;
  let chosenPoints = 0;
  for (const p of k.allProcesses) {
    if (!p.alive) continue;
    const points = oomBadness(k, p, total);
    if (points !== undefined && (chosen === undefined || points >= chosenPoints)) {
      chosen = p;
      chosenPoints = points;
    }
    if (emit) tasks.push(taskRow(k, p));
  }
  if (emit) k.events.emit(oomEvent(k, request, total, tasks, chosen, chosenPoints));
  if (chosen !== undefined) k.kill(chosen, 'out of memory', OOM_SIGKILL);
  return chosen;
}

function taskRow(k: KernelContext, p: Process): OomTask {
  const space = p.space;
  const rss = rssOf(k, space);
  return {
    pid: p.pid,
    uid: 0,
    tgid: p.pid,
    totalVmPages: space.vmas.mappedPages,
    rssPages: rss.anon + rss.file + rss.shmem,
    pgtablesBytes: pgtablesPages(k, space) * k.bounds.pageBytes,
    swapEntries: space.swapEntries,
    oomScoreAdj: p.oomAdj,
    name: processName(p),
  };
}

function oomEvent(
  k: KernelContext,
  request: OomRequest,
  totalPages: number,
  tasks: readonly OomTask[],
  chosen: Process | undefined,
  points: number,
): OomKillEvent {
  const trigger = {
    pid: request.proc.pid,
    name: processName(request.proc),
    oomScoreAdj: request.proc.oomAdj,
    allocation: request.allocation,
  };
  if (chosen === undefined) {
    return {
      type: 'oom-kill',
      trigger,
      constraint: 'CONSTRAINT_NONE',
      totalPages,
      victim: undefined,
      tasks,
      detail: 'Out of memory and no killable processes...',
    };
  }
  const kb = k.bounds.pageBytes / 1024; // Linux K(x): pages << (PAGE_SHIFT - 10)
  const rss = rssOf(k, chosen.space);
  const victim: OomVictim = {
    pid: chosen.pid,
    name: processName(chosen),
    totalVmKb: chosen.space.vmas.mappedPages * kb,
    anonRssKb: rss.anon * kb,
    fileRssKb: rss.file * kb,
    shmemRssKb: rss.shmem * kb,
    uid: 0,
    pgtablesKb: pgtablesPages(k, chosen.space) * kb,
    oomScoreAdj: chosen.oomAdj,
    points,
  };
  return {
    type: 'oom-kill',
    trigger,
    constraint: 'CONSTRAINT_NONE',
    totalPages,
    victim,
    tasks,
    detail: reportLine(victim),
  };
}

/** Linux's report line (`__oom_kill_process`), field for field. */
export function reportLine(v: OomVictim): string {
  return (
    `Out of memory: Killed process ${v.pid} (${v.name}) total-vm:${v.totalVmKb}kB, ` +
    `anon-rss:${v.anonRssKb}kB, file-rss:${v.fileRssKb}kB, shmem-rss:${v.shmemRssKb}kB, ` +
    `UID:${v.uid} pgtables:${v.pgtablesKb}kB oom_score_adj:${v.oomScoreAdj}`
  );
}
