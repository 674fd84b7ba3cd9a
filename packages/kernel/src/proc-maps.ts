/**
 * `/proc/PID/maps` and `/proc/PID/smaps` in Linux's formats (fs/proc/task_mmu.c):
 *
 * ```
 * 00400000-00401000 r-xp 00000000 00:00 0                                  text
 * ```
 * start-end (at least 8 lower-case hex digits), permissions with `p`rivate/`s`hared, offset
 * (file offset; here: page offset into a shared object, or the physical address of a device
 * mapping), device `00:00`, inode (the shared object's id, else 0), then the name from
 * column 73 (checked against a real /proc/self/maps recorded in fixtures/elf).
 */
import { isLeafDirty, vaOf } from '@mmkit/core';
import type { KernelContext } from './context.js';
import type { Process } from './process.js';
import { forEachSwapPte } from './swap.js';
import { checkKernel } from './syscalls.js';
import { mapsPerms, type VmaValue } from './vma.js';

const hex8 = (v: bigint | number) => BigInt(v).toString(16).padStart(8, '0');

function line(
  start: number,
  end: number,
  perms: string,
  offset: bigint,
  inode: number,
  name: string,
): string {
  const head = `${hex8(BigInt(start) << 12n)}-${hex8(BigInt(end) << 12n)} ${perms} ${hex8(offset)} 00:00 ${inode}`;
  // Linux pads to column 73 (seq_pad), or writes one space when the line is already that long.
  if (!name) return head;
  return head.length >= 73 ? `${head} ${name}` : `${head.padEnd(73)}${name}`;
}

/** `/proc/PID/maps` of a process. */
export function procMaps(kernel: KernelContext, proc: Process): string {
  checkKernel(kernel);
  kernel.live(proc);
  const out: string[] = [];
  proc.vmas.forEach((v) => {
    const val = v.value;
    const offset = mapsOffset(val, kernel.bounds.pageBytes);
    out.push(line(v.startVpn, v.endVpn, mapsPerms(val), offset, val.shm?.id ?? 0, shownName(val)));
  });
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * The offset column: Linux prints the file offset for file, shmem and device mappings and 0 for
 * anonymous memory (whatever the VMA's internal page offset).
 */
function mapsOffset(v: VmaValue, pageBytes: number): bigint {
  if (v.kind === 'device') return BigInt(v.pa);
  return v.file || v.shm ? BigInt(v.offsetPages) * BigInt(pageBytes) : 0n;
}

/** The name column: `[anon:name]` for named anonymous memory, as Linux shows it. */
function shownName(v: { name: string; anonName?: boolean }): string {
  return v.anonName && v.name ? `[anon:${v.name}]` : v.name;
}

/** `/proc/PID/smaps` of a process: per VMA its sizes (kB), residency, dirtiness and VmFlags. */
export function procSmaps(kernel: KernelContext, proc: Process): string {
  checkKernel(kernel);
  kernel.live(proc);
  const out: string[] = [];
  const g = kernel.arch.geometry;
  const pageKb = kernel.bounds.pageBytes / 1024;
  const kb = (pages: number) => `${pages * pageKb} kB`;
  const field = (name: string, value: string) => `${`${name}:`.padEnd(16)}${value.padStart(12)}`;
  // Linux smaps `Swap`: the VMA's pages whose PTE holds a swap entry.
  const swapped = (start: number, end: number) => {
    let n = 0;
    forEachSwapPte(kernel, proc.space, start, end, () => {
      n++;
    });
    return n;
  };
  proc.vmas.forEach((v) => {
    const val = v.value;
    let rss = 0;
    let pss = 0;
    let sharedClean = 0;
    let sharedDirty = 0;
    let privateClean = 0;
    let privateDirty = 0;
    let huge = 0;
    // Linux walk_page_test: a VM_PFNMAP VMA (device memory) has no struct pages and is not walked
    // — every count 0, Swap included.
    if (proc.root !== 0 && val.kind !== 'device') {
      kernel.editor.forEachLeaf({ root: proc.root, startVpn: v.startVpn, endVpn: v.endVpn }, (leaf) => {
        // Linux smaps_pte_entry: the zero page is no normal page (vm_normal_page is NULL), so it
        // counts nowhere (Rss, Pss, Anonymous).
        if (leaf.pa === kernel.zeroPage) return;
        const pages = g.entryPages[leaf.level]!;
        const n = Math.min(leaf.vpn + pages, v.endVpn) - Math.max(leaf.vpn, v.startVpn);
        rss += n;
        if (leaf.level > 1) huge += n;
        // Mappings of a frame: its refcount, minus the shared object's own reference.
        const refs = Math.max(1, kernel.allocator.refCount(leaf.pa) - (val.shm ? 1 : 0));
        pss += n / refs;
        // Linux smaps_pte_entry: pte_dirty (arm64: hardware dirty or PTE_DIRTY).
        const dirty = isLeafDirty(kernel.arch.description, leaf.attrs);
        if (refs > 1) {
          if (dirty) sharedDirty += n;
          else sharedClean += n;
        } else if (dirty) privateDirty += n;
        else privateClean += n;
      });
    }
    const offset = mapsOffset(val, kernel.bounds.pageBytes);
    out.push(line(v.startVpn, v.endVpn, mapsPerms(val), offset, val.shm?.id ?? 0, shownName(val)));
    const flags = [
      val.prot & 1 ? 'rd' : '',
      val.prot & 2 ? 'wr' : '',
      val.prot & 4 ? 'ex' : '',
      val.shared ? 'sh' : '',
      'mr',
      'mw',
      'me',
      val.shared ? 'ms' : '',
      val.growsDown ? 'gd' : '',
      val.lock !== 'none' ? 'lo' : '',
      val.kind === 'device' ? 'io pf dd' : '',
      val.advice === 'sequential' ? 'sr' : val.advice === 'random' ? 'rr' : '',
      val.huge ? 'ht' : '',
      val.kind === 'anon' ? 'ac' : '',
    ].filter(Boolean);
    out.push(
      field('Size', kb(v.endVpn - v.startVpn)),
      field('KernelPageSize', `${pageKb} kB`),
      field('MMUPageSize', `${pageKb} kB`),
      field('Rss', kb(rss)),
      field('Pss', `${Math.round(pss * pageKb)} kB`),
      field('Shared_Clean', kb(sharedClean)),
      field('Shared_Dirty', kb(sharedDirty)),
      field('Private_Clean', kb(privateClean)),
      field('Private_Dirty', kb(privateDirty)),
      field('Anonymous', kb(val.kind === 'anon' && !val.shared ? rss : 0)),
      field('AnonHugePages', kb(val.kind === 'anon' ? huge : 0)),
      field('Swap', kb(swapped(v.startVpn, v.endVpn))),
      `VmFlags: ${flags.join(' ')} `,
    );
  });
  return out.length ? `${out.join('\n')}\n` : '';
}

/** One VMA as {@link Kernel.vmas} reports it. */
export interface VmaSummary {
  readonly start: bigint;
  readonly end: bigint;
  readonly prot: number;
  readonly shared: boolean;
  readonly name: string;
  readonly kind: 'anon' | 'device';
  /**
   * The VMA's resident pages as smaps `Rss` counts them: not the shared zero page, and none of a
   * device mapping (special PTEs, `vm_normal_page` NULL; `walk_page_test` skips VM_PFNMAP).
   */
  readonly residentPages: number;
}

/** The VMAs of a process in address order, with their resident pages (smaps `Rss`). */
export function vmaSummaries(kernel: KernelContext, proc: Process): VmaSummary[] {
  const out: VmaSummary[] = [];
  const entryPages = kernel.arch.geometry.entryPages;
  const zeroPage = kernel.zeroPage;
  proc.vmas.forEach((v) => {
    let rss = 0;
    if (proc.root !== 0 && v.value.kind !== 'device')
      kernel.editor.forEachLeaf({ root: proc.root, startVpn: v.startVpn, endVpn: v.endVpn }, (l) => {
        if (l.pa !== zeroPage)
          rss += Math.min(l.vpn + entryPages[l.level]!, v.endVpn) - Math.max(l.vpn, v.startVpn);
      });
    out.push({
      start: vaOf(v.startVpn),
      end: vaOf(v.endVpn),
      prot: v.value.prot,
      shared: v.value.shared,
      name: v.value.name,
      kind: v.value.kind,
      residentPages: rss,
    });
  });
  return out;
}
