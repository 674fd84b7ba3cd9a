/**
 * The playground's engine: boots a kernel for a `@mmkit/scenario` scenario, runs its steps with
 * that package's stepper (the same runner as `mmkit run`) while recording their events, and
 * answers the views' questions (frame map, address spaces, page tables, walks, TLBs, exports).
 * Deterministic: the same scenario and position always give the same kernel, which is how the
 * timeline travels back in time (re-run to step N).
 */
import { createAarch64Arch } from '@mmkit/arch-aarch64';
import { createX86Arch } from '@mmkit/arch-x86';
import { type Board, createBoard, pcFlavourForArch } from '@mmkit/boards';
import {
  type AccessKind,
  type ArchBackend,
  FAULT_KINDS,
  type Field,
  formatPerms,
  MEMORY_TYPES,
  type MmEvent,
  type PrivilegeLevel,
  permBit,
  WalkResult,
  type WalkStep,
} from '@mmkit/core';
import {
  dumpPageTable,
  exportTranslationState,
  FrameState,
  type Kernel,
  type Process,
  type TranslationState,
  type VmStat,
  type Watermarks,
} from '@mmkit/kernel';
import { type Scenario, type ScenarioStepper, start, type TlbCheck } from '@mmkit/scenario';
import { loadScenario, optionsOf, resolveAddress, type ScenarioRef } from './scenario.js';

/** Frame map codes (one byte per frame). */
export const FRAME_CODES = {
  free: 0,
  reserved: 1,
  pageTable: 2,
  user: 3,
  kernel: 4,
  shared: 5,
  unmanaged: 6,
  /** Free, its last contents swapped out (a `swap-out` event) and not reused since. */
  swapped: 7,
} as const;
/** Names of {@link FRAME_CODES}, by code. */
export const FRAME_CODE_NAMES = [
  'free',
  'reserved',
  'page table',
  'user',
  'kernel',
  'shared',
  'not managed',
  'just swapped out',
];

/** The view a step changes most (the UI brings it into focus). */
export type Focus = 'machine' | 'spaces' | 'tables' | 'walk' | 'tlb';

/** What one step did. */
export interface StepRecord {
  readonly index: number;
  readonly op: string;
  readonly title: string;
  readonly outcome: string;
  /** False if the step faulted fatally or failed with an errno. */
  readonly ok: boolean;
  /** True if the step took a page fault (resolved or not). */
  readonly faulted: boolean;
  readonly focus: Focus;
  readonly events: readonly string[];
  /** The VA the step accessed, hex, for the walk explainer. */
  readonly va?: string;
  readonly pid?: number;
  /** The strict TLB checker's verdict (absent when the scenario runs without `strictTlb`). */
  readonly tlbCheck?: TlbCheck;
}

/** A field of a descriptor or syndrome, as text. */
export interface FieldView {
  readonly name: string;
  readonly bits: string;
  readonly value: string;
  readonly meaning: string;
}

/** One level of a walk. */
export interface WalkLevelView {
  readonly levelName: string;
  /** VA bits this level indexes, `[hi:lo]`. */
  readonly bits: string;
  readonly hi: number;
  readonly lo: number;
  readonly index: number;
  readonly tablePa: string;
  readonly descriptorPa: string;
  readonly raw: string;
  readonly kind: string;
  readonly fields: readonly FieldView[];
}

/** A walk, explained. */
export interface WalkView {
  readonly va: string;
  readonly access: 'read' | 'write' | 'fetch';
  readonly privilege: 'user' | 'kernel';
  /** The VA in binary, most significant bit first, `vaBits` long. */
  readonly binary: string;
  readonly levels: readonly WalkLevelView[];
  readonly ok: boolean;
  /**
   * The permission check, when the VA translates for some access: what the access needs, what the
   * walk grants (all levels folded, regime controls applied) and the verdict.
   */
  readonly check?: { readonly needs: string; readonly grants: string; readonly allowed: boolean };
  readonly pa?: string;
  readonly perms?: string;
  readonly memoryType?: string;
  readonly fault?: {
    readonly kind: string;
    readonly level: string;
    readonly exception: string;
    readonly syndromeRegister: string;
    readonly syndrome: string;
    readonly addressRegister: string;
    readonly address: string;
    readonly fields: readonly FieldView[];
  };
}

/** A page-table entry in the tree view. */
export interface TableEntryView {
  readonly depth: number;
  readonly levelName: string;
  readonly index: number;
  readonly va: string;
  readonly descriptorPa: string;
  readonly raw: string;
  readonly kind: string;
  readonly target?: string;
  readonly effective?: string;
  readonly fields: readonly FieldView[];
}

/** A process as the address-space view shows it. */
export interface ProcessView {
  readonly pid: number;
  /** The name the scenario gave it (`as`). */
  readonly name: string;
  readonly asid: number;
  readonly state: string;
  readonly maps: string;
  readonly brk: string;
  readonly heapBase: string;
  readonly stackTop: string;
  readonly stackLow: string;
  readonly residentPages: number;
  readonly tablePages: number;
  readonly killReason?: string;
}

/** A TLB entry. */
export interface TlbEntryView {
  readonly va: string;
  readonly pa: string;
  readonly asid: number;
  readonly global: boolean;
  readonly perms: string;
  readonly level: number;
}

/** One CPU's TLB. */
export interface TlbView {
  readonly cpu: number;
  readonly current: number | null;
  readonly asidName: string;
  readonly entries: readonly TlbEntryView[];
  readonly hits: number;
  readonly misses: number;
  readonly fills: number;
  readonly invalidations: number;
}

/** The physical frame map: one code per RAM frame, RAM ranges concatenated in address order. */
export interface FrameMap {
  readonly codes: Uint8Array;
  /** RAM ranges `[startPa, endPa, firstIndex]`. */
  readonly ranges: readonly (readonly [number, number, number])[];
  readonly counts: readonly number[];
}

/** What the frame-map hover shows for one frame. */
export interface FrameInfo {
  readonly index: number;
  readonly pa: string;
  readonly state: string;
  readonly refCount: number;
  readonly owner: string;
  readonly reason?: string;
  /** PTEs (user leaves) that map the frame, and tables that hold it as a table. */
  readonly mappedBy: readonly string[];
  /**
   * For a frame swapped out and not reused since: where its contents went, e.g. `slot 0:3 of
   * swap0 at step 7 (pid 1 0x…, pid 2 0x…)`.
   */
  readonly swappedTo?: string;
}

/** Where a frame's contents went when it was swapped out (see {@link FRAME_CODES.swapped}). */
interface Eviction {
  readonly type: number;
  readonly offset: number;
  /** The step (1-based) that swapped it out. */
  readonly step: number;
  /** The PTEs that became swap entries: `pid N 0x…`. */
  readonly ptes: string[];
}

/** A machine summary (board memory map, arch). */
export interface MachineView {
  readonly board: string;
  readonly boardName: string;
  readonly arch: string;
  readonly archName: string;
  readonly ramBytes: number;
  readonly memoryMap: readonly { readonly start: string; readonly end: string; readonly what: string }[];
  readonly levelNames: readonly string[];
  readonly vaBits: number;
  readonly cpus: number;
  readonly freeFrames: number;
  readonly totalFrames: number;
  readonly baselineFree: number;
}

const ACCESS = ['read', 'write', 'fetch'] as const;
const PRIV = ['user', 'kernel'] as const;

/** Slot codes of {@link SwapDeviceView.slots} (one byte per slot). */
export const SLOT_CODES = { header: 0, free: 1, used: 2, cached: 3 } as const;
/** Names of {@link SLOT_CODES}, by code. */
export const SLOT_CODE_NAMES = ['header', 'free', 'used', 'cached'];
/** Slots per device the Swap panel draws and describes (a larger device shows its first ones). */
export const SLOTS_SHOWN = 1024;
/** Entries of the policy's eviction order sent to the UI (the rest is counted, not listed). */
export const POLICY_LIST_LIMIT = 128;

/** A slot in use, as `kernel.swapSlots(type)` describes it. */
export interface SlotDetail {
  readonly offset: number;
  /** Swap PTEs naming the slot (Linux `swap_count`). */
  readonly count: number;
  readonly cached: boolean;
  /** The swap-cache frame (hex), when cached. */
  readonly frame?: string;
  /** The swap PTEs naming the slot: `pid N (name) 0x…`. */
  readonly ptes: readonly string[];
}

/** One swap device: its slots and counts. */
export interface SwapDeviceView {
  /** Linux's `swp_type`. */
  readonly type: number;
  readonly name: string;
  readonly priority: number;
  /** Per slot a {@link SLOT_CODES} code: `used` = named by swap PTEs only, `cached` = also in memory. */
  readonly slots: Uint8Array;
  /** The slots in use among the first {@link SLOTS_SHOWN}, by offset (`kernel.swapSlots`). */
  readonly details: readonly SlotDetail[];
  readonly used: number;
  readonly cached: number;
  readonly usable: number;
}

/** The reclaim policy's state, frames as physical addresses (hex). */
export interface PolicyView {
  readonly name: string;
  /** Resident frames tracked. */
  readonly size: number;
  /** The first {@link POLICY_LIST_LIMIT} frames in eviction order (for a clock: from the hand). */
  readonly order: readonly string[];
  /** Position of the clock hand in `order`, or -1. */
  readonly hand: number;
  /** Frames of `order` whose reference bit (the policy's or the hardware accessed bit) is set. */
  readonly referenced: readonly string[];
  /** The policy's lists: name and length. */
  readonly lists: readonly { readonly name: string; readonly length: number }[];
  /** Scalar state (ARC's `p`, …), per-frame counts left out. */
  readonly values: readonly { readonly name: string; readonly value: number }[];
}

/** Swap and reclaim after a step: devices, swap cache, counters, watermarks, policy. */
export interface SwapView {
  readonly devices: readonly SwapDeviceView[];
  /** Frames in the swap cache (slots whose page is also in memory). */
  readonly swapCache: number;
  readonly vmstat: VmStat;
  readonly watermarks: Watermarks;
  readonly freeFrames: number;
  /** Undefined before the first swapon. */
  readonly policy?: PolicyView;
}

const hx = (v: bigint | number): string => `0x${v.toString(16)}`;
const PAGE_BYTES = 4096;

/** The paging formats the playground knows. */
export type ArchChoice = 'aarch64' | 'x86_64' | 'x86_64-la57' | 'x86-pae' | 'x86-32';

/** Builds the backend for a paging format. */
export function createBackend(arch: ArchChoice): ArchBackend {
  return arch === 'aarch64' ? createAarch64Arch() : createX86Arch({ mode: arch });
}

function fieldViews(fields: readonly Field[]): FieldView[] {
  return fields.map((f) => ({ name: f.name, bits: f.bits, value: hx(f.value), meaning: f.meaning }));
}

/** One line of text for an event. */
export function formatEvent(e: MmEvent): string {
  switch (e.type) {
    case 'frame-alloc':
      return `alloc frame ${hx(e.pa)} for ${e.purpose}`;
    case 'frame-free':
      return `free frame ${hx(e.pa)} (${e.purpose})`;
    case 'map':
      return `map ${e.space} ${hx(e.va)} → ${hx(e.pa)} ${e.sizeBytes / 1024} KiB ${e.perms}`;
    case 'unmap':
      return `unmap ${e.space} ${hx(e.va)} (${hx(e.pa)}, ${e.sizeBytes / 1024} KiB)`;
    case 'protect':
      return `protect ${e.space} ${hx(e.va)} ${e.perms}`;
    case 'fault':
      return `fault pid ${e.pid} ${e.privilege} ${e.access} ${hx(e.va)}: ${e.detail} → ${e.resolution}`;
    case 'tlb':
      return `tlb cpu ${e.cpu}: ${e.op}${e.operand === undefined ? '' : ` ${hx(e.operand)}`}`;
    case 'process':
      return `process ${e.action} pid ${e.pid}${e.detail ? `: ${e.detail}` : ''}`;
    case 'working-set':
      return `working set pid ${e.pid}: W(t, τ=${e.tau}) ≈ ${e.sizePages} pages${e.exactPages === undefined ? '' : ` (exact ${e.exactPages})`} of ${e.residentPages} resident`;
    case 'thrashing':
      return `thrashing pid ${e.pid}: ${e.faults} faults in ${e.window} accesses > ${e.threshold}`;
    case 'reclaim':
      return `reclaim ${e.action}: free ${e.free}${e.action === 'kswapd-sleep' || e.action === 'direct-end' ? `, scanned ${e.scanned}, reclaimed ${e.reclaimed}` : ''} (${e.detail})`;
    case 'cow':
      return e.action === 'zero-page'
        ? `cow pid ${e.pid} ${hx(e.va)}: zero page ${hx(e.pa)} mapped read-only`
        : e.action === 'reuse'
          ? `cow pid ${e.pid} ${hx(e.va)}: reuse ${hx(e.pa)} (only reference), now writable`
          : `cow pid ${e.pid} ${hx(e.va)}: ${e.action} ${hx(e.fromPa)} → ${hx(e.pa)} ${e.sizeBytes / 1024} KiB`;
    case 'oom-kill':
      return `oom-kill: ${e.trigger.name} invoked oom-killer (${e.trigger.allocation}); ${e.detail}`;
    case 'swap':
      return e.action === 'swap-out'
        ? `swap-out pid ${e.pid} ${hx(e.va)}: ${hx(e.pa)} → slot ${e.swapType}:${e.offset}`
        : e.action === 'swap-in'
          ? `swap-in ${e.pid === 0 ? 'readahead' : `pid ${e.pid} ${hx(e.va)}`}: slot ${e.swapType}:${e.offset} → ${hx(e.pa)} (${e.major ? 'major' : 'minor'})`
          : e.action === 'swap-free'
            ? `swap-free slot ${e.swapType}:${e.offset}`
            : `${e.action} type ${e.swapType}: ${e.detail}`;
  }
}

/** A booted kernel running one scenario, step by step. */
export class Engine {
  readonly kernel: Kernel;
  readonly board: Board;
  readonly arch: ArchBackend;
  /** The scenario as parsed and validated (its board and arch are the ones it runs on). */
  readonly scenario: Scenario;
  readonly records: StepRecord[] = [];
  private readonly stepper: ScenarioStepper;
  /** Frames swapped out and not allocated since, by physical address. */
  private readonly evicted = new Map<number, Eviction>();

  /** Parses and boots the scenario `ref` names; throws its ScenarioError for a bad file or machine. */
  constructor(readonly ref: ScenarioRef) {
    const parsed = loadScenario(ref);
    this.stepper = start(parsed, optionsOf(ref));
    this.board = this.stepper.board;
    this.arch = this.stepper.arch;
    this.kernel = this.stepper.kernel;
    const m = this.stepper.machine;
    this.scenario = {
      ...parsed,
      board: m.board.id,
      arch: m.arch.id,
      ...(ref.ram ? { ram: ref.ram } : {}),
      ...(ref.board && ref.board !== parsed.board && !ref.ram ? { ram: undefined } : {}),
    };
  }

  /** Steps run so far. */
  get position(): number {
    return this.records.length;
  }

  /** Steps in the scenario. */
  get length(): number {
    return this.scenario.steps.length;
  }

  /** Runs steps until `position` is `n` (clamped to the scenario). */
  runTo(n: number): void {
    while (this.records.length < Math.min(n, this.length)) this.stepOnce();
  }

  /** Runs the next step (if any) and returns its record. */
  stepOnce(): StepRecord | undefined {
    const r = this.stepper.step();
    if (!r) return undefined;
    const events = r.events;
    for (const e of events) {
      if (e.type === 'frame-alloc') this.evicted.delete(e.pa);
      else if (e.type === 'swap' && e.action === 'swap-out') {
        // A page shared by several processes goes out once: one event per PTE, the same slot.
        const pte = `pid ${e.pid} ${hx(e.va)}`;
        const was = this.evicted.get(e.pa);
        if (was && was.type === e.swapType && was.offset === e.offset && was.step === r.index + 1)
          was.ptes.push(pte);
        else this.evicted.set(e.pa, { type: e.swapType, offset: e.offset, step: r.index + 1, ptes: [pte] });
      }
    }
    const faulted = events.some((e) => e.type === 'fault');
    const op = r.step.op;
    const focus: Focus = faulted
      ? 'walk'
      : events.some((e) => e.type === 'tlb')
        ? 'tlb'
        : op === 'read' || op === 'write' || op === 'fetch' || op === 'touch'
          ? 'tables'
          : 'spaces';
    const name = 'process' in r.step ? r.step.process : op === 'spawn' ? r.step.as : undefined;
    const pid = name === undefined ? undefined : this.stepper.processes.get(name)?.pid;
    const fault = events.find((e) => e.type === 'fault');
    let va: bigint | undefined = fault?.type === 'fault' ? fault.va : undefined;
    if (va === undefined && 'addr' in r.step && r.step.addr !== undefined) {
      try {
        va = resolveAddress(String(r.step.addr), this.stepper.symbols);
      } catch {
        va = undefined;
      }
    }
    if (va === undefined && op === 'mmap' && typeof r.value === 'bigint') va = r.value;
    const rec: StepRecord = {
      index: r.index,
      op,
      title: r.title ?? r.summary,
      outcome: r.status === 'ok' || r.outcome.includes(r.status) ? r.outcome : `${r.status}: ${r.outcome}`,
      ok: r.status === 'ok',
      faulted,
      focus,
      events: events.map(formatEvent),
      ...(va === undefined ? {} : { va: hx(va) }),
      ...(pid === undefined ? {} : { pid }),
      ...(r.tlbCheck === undefined ? {} : { tlbCheck: r.tlbCheck }),
    };
    this.records.push(rec);
    return rec;
  }

  /** The machine summary. */
  machine(): MachineView {
    const b = this.board;
    const d = this.arch.description;
    const map = [
      ...b.ram.map((r) => ({ start: r.start, end: r.end, what: 'RAM' })),
      ...b.mmio.map((w) => ({ start: w.start, end: w.end, what: `MMIO ${w.name}` })),
      { start: b.kernelImage.start, end: b.kernelImage.end, what: 'kernel image' },
    ].sort((x, y) => x.start - y.start);
    return {
      board: b.id,
      boardName: b.name,
      arch: d.id,
      archName: d.name,
      ramBytes: b.ram.reduce((n, r) => n + (r.end - r.start), 0),
      memoryMap: map.map((m) => ({ start: hx(m.start), end: hx(m.end), what: m.what })),
      levelNames: [...d.levels].sort((x, y) => y.level - x.level).map((l) => l.name),
      vaBits: d.vaBits,
      cpus: this.kernel.cpus.length,
      freeFrames: this.kernel.allocator.freeCount,
      totalFrames: this.kernel.allocator.totalCount,
      baselineFree: this.kernel.baselineFree,
    };
  }

  /** Swap and reclaim state (the Swap panel of the machine view). */
  swap(): SwapView {
    const k = this.kernel;
    const devices: SwapDeviceView[] = [];
    let swapCache = 0;
    const names = this.processNames();
    // kernel.swapSlots: per slot in use its count (Linux swap_map), the swap-cache flag and frame,
    // and the swap PTEs naming it.
    for (const info of k.swapDevices) {
      const d = k.swapSlots(info.type)!;
      const slots = new Uint8Array(d.pages).fill(SLOT_CODES.free);
      slots[0] = SLOT_CODES.header;
      const details: SlotDetail[] = [];
      for (const s of d.slots) {
        slots[s.offset] = s.cached ? SLOT_CODES.cached : SLOT_CODES.used;
        if (s.offset >= SLOTS_SHOWN) continue;
        details.push({
          offset: s.offset,
          count: s.count,
          cached: s.cached,
          ...(s.frame === undefined ? {} : { frame: hx(s.frame) }),
          ptes: s.ptes.map((p) => `pid ${p.pid} (${names.get(p.pid) ?? '?'}) ${hx(p.va)}`),
        });
      }
      swapCache += d.cachedPages;
      devices.push({
        type: d.type,
        name: d.name,
        priority: d.priority,
        slots,
        details,
        used: d.usedPages,
        cached: d.cachedPages,
        usable: d.pages - 1,
      });
    }
    const st = k.reclaimPolicyState();
    let policy: PolicyView | undefined;
    if (st !== undefined) {
      const order = st.resident.slice(0, POLICY_LIST_LIMIT);
      const shown = new Set(order);
      policy = {
        name: st.name,
        size: st.size,
        order: order.map(hx),
        hand: st.hand < order.length ? st.hand : -1,
        referenced: st.referenced.filter((pa) => shown.has(pa)).map(hx),
        lists: Object.entries(st.lists).map(([name, l]) => ({ name, length: l.length })),
        values: Object.entries(st.values)
          .filter(([name]) => !name.startsWith('count:'))
          .map(([name, value]) => ({ name, value })),
      };
    }
    return {
      devices,
      swapCache,
      vmstat: k.vmstat,
      watermarks: k.watermarks,
      freeFrames: k.allocator.freeCount,
      ...(policy === undefined ? {} : { policy }),
    };
  }

  /** The frame map (one byte per RAM frame). */
  frameMap(): FrameMap {
    const ranges: [number, number, number][] = [];
    let n = 0;
    for (const r of this.board.ram) {
      ranges.push([r.start, r.end, n]);
      n += (r.end - r.start) / 4096;
    }
    const codes = new Uint8Array(n).fill(FRAME_CODES.unmanaged);
    let ri = 0;
    this.kernel.allocator.forEachFrame((pa, state, refCount) => {
      while (ri < ranges.length && pa >= ranges[ri]![1]) ri++;
      const r = ranges[ri];
      if (r === undefined || pa < r[0]) return; // pool frame that is not RAM (a hole in the seed pool)
      codes[r[2] + (pa - r[0]) / 4096] =
        state === FrameState.USER && refCount > 1
          ? FRAME_CODES.shared
          : state === FrameState.FREE && this.evicted.has(pa)
            ? FRAME_CODES.swapped
            : STATE_TO_CODE[state]!;
    });
    const counts = new Array<number>(FRAME_CODE_NAMES.length).fill(0);
    for (let i = 0; i < codes.length; i++) counts[codes[i]!]!++;
    return { codes, ranges, counts };
  }

  /** Everything known about frame `index` of the frame map. */
  frameInfo(index: number): FrameInfo | undefined {
    let pa = -1;
    let base = 0;
    for (const r of this.board.ram) {
      const frames = (r.end - r.start) / 4096;
      if (index < base + frames) {
        pa = r.start + (index - base) * 4096;
        break;
      }
      base += frames;
    }
    if (pa < 0) return undefined;
    const a = this.kernel.allocator;
    const managed = a.owns(pa);
    const st = managed ? a.stateOf(pa) : undefined;
    const mappedBy: string[] = [];
    for (const p of this.kernel.liveProcesses) {
      if (p.root === 0) continue;
      if (p.root === pa) mappedBy.push(`pid ${p.pid} root table`);
      for (const line of dumpPageTable(this.kernel, p)) {
        const e = line.entry;
        if (e.kind === 'table' && e.pa === pa)
          mappedBy.push(`pid ${p.pid} ${line.level}[${line.index}] → table`);
        if (e.kind === 'leaf') {
          const size = this.arch.geometry.entrySizeBytes[this.levelOf(line.depth)]!;
          if (pa >= e.pa && pa < e.pa + size)
            mappedBy.push(`pid ${p.pid} ${line.level}[${line.index}] VA ${hx(line.va + BigInt(pa - e.pa))}`);
        }
      }
    }
    if (pa === this.kernel.kernelRoot) mappedBy.push('kernel root table');
    const owner = st === undefined ? -1 : a.ownerOf(pa);
    const reason = managed ? a.reservationReason(pa) : undefined;
    const ev = st === FrameState.FREE ? this.evicted.get(pa) : undefined;
    const dev = ev && this.kernel.swapDevices.find((d) => d.type === ev.type);
    const swappedTo =
      ev &&
      `slot ${ev.type}:${ev.offset}${dev ? ` of ${dev.name}` : ''} at step ${ev.step} (${[...ev.ptes].sort(byPid).join(', ')})`;
    return {
      index,
      pa: hx(pa),
      state:
        st === undefined
          ? 'not managed by the allocator'
          : ev
            ? 'free, just swapped out'
            : (FRAME_STATE_NAMES_LOCAL[st] ?? '?'),
      refCount: st === undefined ? 0 : a.refCount(pa),
      owner:
        owner < 0
          ? st === FrameState.PAGE_TABLE || st === FrameState.KERNEL
            ? 'kernel'
            : 'none'
          : `pid ${owner}`,
      ...(reason === undefined ? {} : { reason }),
      mappedBy,
      ...(swappedTo === undefined ? {} : { swappedTo }),
    };
  }

  private levelOf(depth: number): number {
    return this.arch.geometry.rootLevel - depth;
  }

  /** The names the scenario gave its processes, by pid. */
  private processNames(): Map<number, string> {
    const names = new Map<number, string>();
    for (const [n, p] of this.stepper.processes) names.set(p.pid, n);
    return names;
  }

  /** Live and dead processes. */
  processes(): ProcessView[] {
    const names = this.processNames();
    return this.kernel.allProcesses.map((p) => ({
      pid: p.pid,
      name: names.get(p.pid) ?? `pid ${p.pid}`,
      asid: p.alive ? p.asid : -1,
      state: p.state,
      maps: p.alive ? this.kernel.procMaps(p) : '',
      brk: hx(p.alive ? p.brk : 0n),
      heapBase: hx(p.layout.heapBase),
      stackTop: hx(p.layout.stackTop),
      stackLow: hx(p.layout.stackLow),
      residentPages: p.alive ? p.residentPages : 0,
      tablePages: p.alive ? p.tablePages : 0,
      ...(p.killReason === undefined ? {} : { killReason: String(p.killReason) }),
    }));
  }

  private live(pid: number): Process {
    const p = this.kernel.liveProcesses.find((q) => q.pid === pid);
    if (!p) throw new Error(`pid ${pid} is not a live process`);
    return p;
  }

  /** The user page tables of `pid`, level by level, each entry decoded by the backend. */
  pageTables(pid: number): TableEntryView[] {
    const p = this.live(pid);
    return dumpPageTable(this.kernel, p).map((l) => {
      const level = this.levelOf(l.depth);
      const e = l.entry;
      return {
        depth: l.depth,
        levelName: l.level,
        index: l.index,
        va: hx(l.va),
        descriptorPa: hx(l.descriptorPa),
        raw: `0x${l.raw.toString(16).padStart(this.arch.description.descriptorBytes * 2, '0')}`,
        kind: e.kind,
        ...(e.kind === 'table' || e.kind === 'leaf' ? { target: hx(e.pa) } : {}),
        ...(l.effective === undefined ? {} : { effective: l.effective }),
        fields: fieldViews(this.arch.codec.describe(l.raw, level)),
      };
    });
  }

  /**
   * The kernel's own tables: the kernel half of the translation (AArch64: the tree under
   * TTBR1_EL1, which translates VAs with bits [63:48] all ones; x86: the entries of the shared root
   * at and above the kernel's first index — the upper half of the PML4/PML5, PDPT entry 3 under
   * PAE, PD entries 768–1023 on 32-bit — which every process root points to as well), level by
   * level, each entry decoded by the backend. A table already shown (a recursive slot) is not
   * entered twice.
   */
  kernelTables(): TableEntryView[] {
    const k = this.kernel;
    const d = this.arch.description;
    const g = this.arch.geometry;
    const editor = k.editor;
    const rootEntries = d.rootTableBytes / d.descriptorBytes;
    const per = g.entryPages[g.rootLevel]!;
    const kernelVpn = Number(d.kernelRange.start >> BigInt(d.pageShift));
    const first = Math.floor(kernelVpn / per) % rootEntries;
    const baseVpn = kernelVpn - first * per;
    const mmu = this.arch.createMmu(k.memory);
    mmu.setKernelRoot(k.kernelRoot);
    mmu.setUserRoot(k.emptyUserRoot, 0);
    const r = new WalkResult();
    const out: TableEntryView[] = [];
    const seen = new Set<number>([k.kernelRoot]);
    const visit = (table: number, level: number, vpn0: number, depth: number, from: number, to: number) => {
      const each = g.entryPages[level]!;
      for (let i = from; i < to; i++) {
        const dpa = editor.entryPa(table, i);
        const [lo, hi] = editor.readRaw(dpa);
        if (lo === 0 && hi === 0) continue;
        const vpn = vpn0 + i * each;
        const raw = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
        const e = this.arch.codec.decode(lo, hi, level);
        let effective: string | undefined;
        if (e.kind === 'leaf') {
          let mask = 0;
          for (let p = 0 as PrivilegeLevel; p <= 1; p = (p + 1) as PrivilegeLevel)
            for (let a = 0 as AccessKind; a <= 2; a = (a + 1) as AccessKind)
              if (mmu.probe(vpn, a, p, r)) mask |= permBit(a, p);
          effective = `${formatPerms(mask)} ${MEMORY_TYPES[r.memoryType] ?? ''}`.trim();
        }
        const again = e.kind === 'table' && seen.has(e.pa);
        out.push({
          depth,
          levelName: editor.levelName(level),
          index: i,
          va: hx(BigInt(vpn) << BigInt(d.pageShift)),
          descriptorPa: hx(dpa),
          raw: `0x${raw.toString(16).padStart(d.descriptorBytes * 2, '0')}`,
          kind: e.kind,
          ...(e.kind === 'table' || e.kind === 'leaf'
            ? { target: `${hx(e.pa)}${again ? ' (already shown: not entered again)' : ''}` }
            : {}),
          ...(effective === undefined ? {} : { effective }),
          fields: fieldViews(this.arch.codec.describe(raw, level)),
        });
        if (e.kind === 'table' && !again) {
          seen.add(e.pa);
          visit(e.pa, level - 1, vpn, depth + 1, 0, PAGE_BYTES / d.descriptorBytes);
        }
      }
    };
    visit(k.kernelRoot, g.rootLevel, baseVpn, 0, first, rootEntries);
    return out;
  }

  /**
   * Walks `va` in `pid`'s address space as the MMU would (a side-effect-free probe: no A/D update,
   * no TLB), with every descriptor read and the exact fault syndrome.
   */
  walk(pid: number, vaText: string, access: AccessKind, privilege: PrivilegeLevel): WalkView {
    const p = this.live(pid);
    const va = resolveAddress(vaText, this.stepper.symbols);
    const k = this.kernel;
    const mmu = this.arch.createMmu(k.memory);
    mmu.setKernelRoot(k.kernelRoot);
    mmu.setUserRoot(p.root !== 0 ? p.root : k.emptyUserRoot, p.asid);
    return explainWalk(this.arch, mmu, va, access, privilege);
  }

  /** Each CPU's TLB contents. */
  tlbs(): TlbView[] {
    const asidName = this.arch.description.id === 'aarch64' ? 'ASID' : 'PCID';
    return this.kernel.cpus.map((c) => {
      const t = c.tlb;
      const entries: TlbEntryView[] = [];
      for (let i = 0; i < t.size; i++) {
        const vpn = t.vpn[i]!;
        if (vpn < 0) continue;
        entries.push({
          va: hx(vpn * 4096),
          pa: hx(t.pfn[i]! * 4096),
          asid: t.asid[i]!,
          global: t.global[i] === 1,
          perms: formatPerms(t.perms[i]!),
          level: t.level[i]!,
        });
      }
      return {
        cpu: c.id,
        current: c.current?.pid ?? null,
        asidName,
        entries,
        hits: t.hits,
        misses: t.misses,
        fills: t.fills,
        invalidations: t.invalidations,
      };
    });
  }

  /** The `mmkit-translation-state/1` export of `pid` (or of the kernel alone). */
  exportState(pid?: number): TranslationState {
    return exportTranslationState(this.kernel, pid === undefined ? undefined : this.live(pid));
  }
}

/** Orders `pid N …` texts by pid (numerically), then address. */
const byPid = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

const FRAME_STATE_NAMES_LOCAL = ['free', 'reserved', 'page table', 'user', 'kernel'];
const STATE_TO_CODE = [
  FRAME_CODES.free,
  FRAME_CODES.reserved,
  FRAME_CODES.pageTable,
  FRAME_CODES.user,
  FRAME_CODES.kernel,
];

/** Explains a probe of `va` through `mmu`: per level the index bits and descriptor, then PA or fault. */
export function explainWalk(
  arch: ArchBackend,
  mmu: ReturnType<ArchBackend['createMmu']>,
  va: bigint,
  access: AccessKind,
  privilege: PrivilegeLevel,
): WalkView {
  const d = arch.description;
  const trace: WalkStep[] = [];
  const out = new WalkResult();
  const vpn = Number(va >> BigInt(d.pageShift));
  mmu.probe(vpn, access, privilege, out, trace);
  const levels = trace.map((s) => {
    const ld = d.levels.find((l) => l.level === s.level)!;
    const hi = ld.shift + ld.indexBits - 1;
    return {
      levelName: s.levelName,
      bits: `[${hi}:${ld.shift}]`,
      hi,
      lo: ld.shift,
      index: s.index,
      tablePa: hx(s.tablePa),
      descriptorPa: hx(s.descriptorPa),
      raw: `0x${s.raw.toString(16).padStart(d.descriptorBytes * 2, '0')}`,
      kind: s.entry.kind,
      fields: fieldViews(arch.codec.describe(s.raw, s.level)),
    };
  });
  // The effective permissions: one side-effect-free probe per access kind and privilege.
  const probe = new WalkResult();
  let mask = 0;
  for (let p = 0 as PrivilegeLevel; p <= 1; p = (p + 1) as PrivilegeLevel) {
    for (let a = 0 as AccessKind; a <= 2; a = (a + 1) as AccessKind) {
      if (mmu.probe(vpn, a, p, probe)) mask |= permBit(a, p);
    }
  }
  const check =
    mask === 0
      ? undefined
      : {
          needs: `${PRIV[privilege]} ${'rwx'[access]}`,
          grants: formatPerms(mask),
          allowed: (mask & permBit(access, privilege)) !== 0,
        };
  const width = d.vaBits > 32 ? 64 : 32;
  const binary = (va & ((1n << BigInt(width)) - 1n)).toString(2).padStart(width, '0');
  const base = {
    va: hx(va),
    access: ACCESS[access],
    privilege: PRIV[privilege],
    binary,
    levels,
    ...(check === undefined ? {} : { check }),
  };
  if (out.ok) {
    const pa = out.pfn * 2 ** d.pageShift + Number(va & BigInt(2 ** d.pageShift - 1));
    return {
      ...base,
      ok: true,
      pa: hx(pa),
      perms: formatPerms(out.perms),
      memoryType: MEMORY_TYPES[out.memoryType] ?? '?',
    };
  }
  const syndrome = (BigInt(out.syndromeHi >>> 0) << 32n) | BigInt(out.syndrome >>> 0);
  const kind = FAULT_KINDS[out.faultKind] ?? 'other';
  let exception = kind === 'non-canonical' ? '#GP' : '';
  let fields: FieldView[] = [];
  try {
    exception = arch.syndromes.decode(syndrome).exception;
    fields = fieldViews(arch.syndromes.describe(syndrome));
  } catch {
    // A #GP for a non-canonical address has no #PF error code to decode.
  }
  const levelName = d.levels.find((l) => l.level === out.faultLevel)?.name ?? '—';
  return {
    ...base,
    ok: false,
    fault: {
      kind,
      level: levelName,
      exception,
      syndromeRegister: arch.syndromes.syndromeRegister,
      syndrome: hx(syndrome),
      addressRegister: arch.syndromes.addressRegister,
      address: hx(va),
      fields,
    },
  };
}

/** A `mmkit-translation-state/1` export loaded into a fresh memory, to browse and walk. */
export interface ImportedView {
  readonly arch: string;
  readonly machine: string;
  readonly pid: number | null;
  readonly registers: Readonly<Record<string, string>>;
  readonly tables: readonly {
    readonly pa: string;
    readonly level: string;
    readonly owner: string;
    readonly present: number;
  }[];
  /** What was assumed for registers not given, and tables outside the image (images only). */
  readonly notes?: readonly string[];
}

/** A present entry of an imported table. */
export interface ImportedEntryView {
  readonly index: number;
  readonly raw: string;
  readonly kind: string;
  readonly target?: string;
  readonly fields: readonly FieldView[];
}

/** An export that cannot be loaded: `message` names the field and what was expected. */
export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

const HEX_RE = /^0x[0-9a-fA-F]+$/;

/**
 * Loads a translation-state export: its tables are written at their physical addresses into the
 * RAM of the board it names, and an MMU is loaded from its registers, so walks read exactly the
 * exported bytes.
 */
export class ImportedState {
  readonly arch: ArchBackend;
  readonly view: ImportedView;
  private readonly mmu: ReturnType<ArchBackend['createMmu']>;
  private readonly raw = new Map<string, { bytes: Uint8Array; level: number }>();

  constructor(text: string) {
    let v: Partial<TranslationState>;
    try {
      v = JSON.parse(text) as Partial<TranslationState>;
    } catch (e) {
      throw new ImportError(`not JSON: ${(e as Error).message}`);
    }
    if (v === null || typeof v !== 'object' || v.format !== 'mmkit-translation-state/1')
      throw new ImportError(
        `format: got ${JSON.stringify((v as { format?: unknown } | null)?.format)}, expected "mmkit-translation-state/1"`,
      );
    const archId = v.arch;
    if (!(ARCH_IDS_LOCAL as readonly unknown[]).includes(archId))
      throw new ImportError(
        `arch: got ${JSON.stringify(archId)}, expected one of ${ARCH_IDS_LOCAL.join(', ')}`,
      );
    const machine = v.machine;
    if (machine !== 'virt' && machine !== 'rpi4b' && machine !== 'pc')
      throw new ImportError(`machine: got ${JSON.stringify(machine)}, expected virt, rpi4b or pc`);
    if (!Array.isArray(v.tables)) throw new ImportError('tables: expected an array');
    const regs = v.registers ?? {};
    for (const [name, value] of Object.entries(regs))
      if (typeof value !== 'string' || !HEX_RE.test(value))
        throw new ImportError(`registers.${name}: got ${JSON.stringify(value)}, expected a hex string`);
    this.arch = createBackend(archId as ArchChoice);
    // The largest RAM of the board, so that any table address the export names is RAM.
    const flavour = machine === 'pc' ? pcFlavourForArch(archId as ArchChoice) : undefined;
    const board = createBoard(
      machine as 'virt' | 'rpi4b' | 'pc',
      machine === 'rpi4b'
        ? { ramGiB: 8 }
        : machine === 'pc'
          ? flavour === undefined
            ? {}
            : { flavour }
          : { ramBytes: 8 * 2 ** 30 },
    );
    const memory = board.createMemory();
    const d = this.arch.description;
    const tables = v.tables.map((t, i) => {
      if (!t || typeof t.pa !== 'string' || !HEX_RE.test(t.pa))
        throw new ImportError(`tables[${i}].pa: got ${JSON.stringify(t?.pa)}, expected a hex address`);
      if (typeof t.bytes !== 'string' || !/^([0-9a-f]{2})*$/.test(t.bytes))
        throw new ImportError(`tables[${i}].bytes: expected lower-case hex bytes`);
      const pa = Number(BigInt(t.pa));
      const bytes = new Uint8Array(t.bytes.length / 2);
      for (let j = 0; j < bytes.length; j++) bytes[j] = Number.parseInt(t.bytes.slice(j * 2, j * 2 + 2), 16);
      if (!memory.isRam(pa) || !memory.isRam(pa + bytes.length - 1))
        throw new ImportError(`tables[${i}].pa: ${t.pa} is not RAM of board ${machine}`);
      memory.writeBytes(pa, bytes);
      let present = 0;
      for (let j = 0; j < bytes.length; j += d.descriptorBytes) {
        if (bytes.subarray(j, j + d.descriptorBytes).some((b) => b !== 0)) present++;
      }
      const level = d.levels.find((l) => l.name === t.level)?.level;
      if (level === undefined)
        throw new ImportError(
          `tables[${i}].level: got ${JSON.stringify(t.level)}, expected one of ${[...d.levels]
            .sort((x, y) => y.level - x.level)
            .map((l) => l.name)
            .join(', ')}`,
        );
      this.raw.set(t.pa, { bytes, level });
      return { pa: t.pa, level: String(t.level), owner: String(t.owner), present };
    });
    this.mmu = this.arch.createMmu(memory);
    const reg = (name: string): bigint => {
      const r = regs[name];
      if (r === undefined) throw new ImportError(`registers.${name}: missing`);
      return BigInt(r);
    };
    if (archId === 'aarch64') {
      // TTBRn_EL1: BADDR in bits [47:1] (bit 0 is CnP), ASID in bits [63:48] (arch-facts A2).
      const ttbr0 = reg('TTBR0_EL1');
      this.mmu.setKernelRoot(Number(reg('TTBR1_EL1') & 0xffff_ffff_fffen));
      this.mmu.setUserRoot(Number(ttbr0 & 0xffff_ffff_fffen), Number(ttbr0 >> 48n));
    } else {
      // CR3: the PDPT address in bits [31:5] under PAE; otherwise the root in bits [51:12] with
      // the PCID in bits [11:0] (64-bit modes with CR4.PCIDE) (arch-facts B1).
      const cr3 = reg('CR3');
      const root = archId === 'x86-pae' ? Number(cr3 & 0xffff_ffe0n) : Number(cr3 & ~0xfffn);
      const pcid = archId === 'x86_64' || archId === 'x86_64-la57' ? Number(cr3 & 0xfffn) : 0;
      this.mmu.setKernelRoot(root);
      this.mmu.setUserRoot(root, pcid);
    }
    this.view = {
      arch: archId as string,
      machine,
      pid: typeof v.pid === 'number' ? v.pid : null,
      registers: regs,
      tables,
    };
  }

  /** The present entries of the imported table at `pa` (as the export spells it), each decoded by the backend. */
  table(pa: string): ImportedEntryView[] {
    const t = this.raw.get(pa);
    if (!t) throw new ImportError(`no table at ${pa} in this export`);
    return decodeTable(this.arch, t.bytes, t.level);
  }

  /** Walks `va` through the imported tables. */
  walk(vaText: string, access: AccessKind, privilege: PrivilegeLevel): WalkView {
    let va: bigint;
    try {
      va = resolveAddress(vaText, new Map());
    } catch {
      throw new ImportError(`va: got ${JSON.stringify(vaText)}, expected a number`);
    }
    return explainWalk(this.arch, this.mmu, va, access, privilege);
  }
}

/** The present entries of a table's bytes at internal `level`, each decoded by the backend. */
export function decodeTable(arch: ArchBackend, bytes: Uint8Array, level: number): ImportedEntryView[] {
  const n = arch.description.descriptorBytes;
  const out: ImportedEntryView[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i * n < bytes.length; i++) {
    const lo = view.getUint32(i * n, true);
    const hi = n === 8 ? view.getUint32(i * n + 4, true) : 0;
    if (lo === 0 && hi === 0) continue;
    const raw = (BigInt(hi) << 32n) | BigInt(lo);
    const e = arch.codec.decode(lo, hi, level);
    out.push({
      index: i,
      raw: `0x${raw.toString(16).padStart(n * 2, '0')}`,
      kind: e.kind,
      ...(e.kind === 'table' || e.kind === 'leaf' ? { target: hx(e.pa) } : {}),
      fields: fieldViews(arch.codec.describe(raw, level)),
    });
  }
  return out;
}

const ARCH_IDS_LOCAL = ['aarch64', 'x86_64', 'x86_64-la57', 'x86-pae', 'x86-32'] as const;

/** One row of a comparison: a measure on two configurations. */
export interface CompareRow {
  readonly what: string;
  readonly a: string;
  readonly b: string;
  readonly differs: boolean;
}

/** Runs one scenario's steps on two configurations and lists what a person could observe. */
export function compare(a: ScenarioRef, b: ScenarioRef): { a: string; b: string; rows: CompareRow[] } {
  const ea = new Engine(a);
  const eb = new Engine(b);
  ea.runTo(ea.length);
  eb.runTo(eb.length);
  const rows: CompareRow[] = [];
  const row = (what: string, x: unknown, y: unknown) =>
    rows.push({ what, a: String(x), b: String(y), differs: String(x) !== String(y) });
  const ma = ea.machine();
  const mb = eb.machine();
  row('paging', ma.archName, mb.archName);
  row('levels', ma.levelNames.join(' → '), mb.levelNames.join(' → '));
  row('RAM frames managed', ma.totalFrames, mb.totalFrames);
  row('free frames after boot', ma.baselineFree, mb.baselineFree);
  row('free frames at the end', ma.freeFrames, mb.freeFrames);
  const n = Math.max(ea.records.length, eb.records.length);
  for (let i = 0; i < n; i++) {
    const ra = ea.records[i];
    const rb = eb.records[i];
    row(`step ${i + 1}: ${(ra ?? rb)!.title}`, ra?.outcome ?? '—', rb?.outcome ?? '—');
    const fa = ra
      ? ra.events.filter((e) => e.startsWith('alloc frame ') && e.endsWith('page-table')).length
      : 0;
    const fb = rb
      ? rb.events.filter((e) => e.startsWith('alloc frame ') && e.endsWith('page-table')).length
      : 0;
    if (fa || fb) row(`step ${i + 1}: page-table frames allocated`, fa, fb);
  }
  const desc = (e: Engine) =>
    `${e.scenario.board} ${e.scenario.arch}${e.scenario.ram === undefined ? '' : ` ${e.scenario.ram}`}`;
  return { a: desc(ea), b: desc(eb), rows };
}
