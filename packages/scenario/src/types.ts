/**
 * The scenario format: a board, a paging format and a list of steps that a process-level workload
 * performs. The same objects come from JSON, from YAML and from code.
 *
 * Values in steps:
 * - An address (`addr`, `to`) is a number, or text: a number (`0x7FFF_0000`, `4096`), a name
 *   (`buf`, `heap`) or a name plus or minus a number (`heap+0x2000`, `stack-top-0x3010`). Names are
 *   the results of earlier `mmap`/`mremap` steps (their `as`) and the layout symbols
 *   {@link LAYOUT_SYMBOLS}.
 * - A size (`length`, `newLength`) is a number or text: `0x3000`, `12288`, `12K`, `2M` (binary
 *   units), or `3 pages`.
 * - Permissions (`prot`) are as in /proc/PID/maps: `rw-`, `r-x`, `r--`, `---` (also `none`).
 */
import type { ReclaimPolicyName, Watermarks, WorkingSetOptions } from '@mmkit/kernel';

/** Paging formats (backend ids) a scenario can name; see `ARCH_IDS`. */
export type ScenarioArch = 'aarch64' | 'x86-32' | 'x86-pae' | 'x86_64' | 'x86_64-la57';

/** An address: a number, or `0x…`, `name`, `name+0x…`, `name-0x…` (see the module doc). */
export type AddressExpr = string | number | bigint;
/** A byte count: a number, or `0x3000`, `12K`, `2M`, `3 pages`. */
export type SizeExpr = string | number | bigint;

/** What a step expects: `ok`, an errno (`EFAULT`, `ENOMEM` …), `killed`, or `killed: <reason>`. */
export type Expectation = string;

/** Fields every step may have. */
export interface StepCommon {
  /** A heading shown before the step (groups the steps after it in a log). */
  readonly title?: string;
  /** The outcome the step must have; a different one is a problem of the run (`mmkit run` exits 1). */
  readonly expect?: Expectation;
}

/** Starts a process from a small program image (text r-x, one stack page). */
export interface SpawnStep extends StepCommon {
  readonly op: 'spawn';
  /** The process's name in later steps. */
  readonly as: string;
  /** Text bytes as hex (`d2800540d65f03c0` …); default: `mov x0, #42; ret` (8 bytes, only fetched, never run). */
  readonly text?: string;
}

/** mmap(2) of anonymous memory. */
export interface MmapStep extends StepCommon {
  readonly op: 'mmap';
  readonly process: string;
  /** Name of the result, for later addresses. */
  readonly as?: string;
  /** Hint or (with `fixed`) the exact address; default 0 (the kernel chooses). */
  readonly addr?: AddressExpr;
  readonly length: SizeExpr;
  readonly prot: string;
  /** Extra MAP_* flags besides MAP_PRIVATE|MAP_ANONYMOUS (`shared` replaces private). */
  readonly flags?: readonly ('shared' | 'fixed' | 'fixed-noreplace' | 'populate' | 'growsdown')[];
  /** The name /proc/PID/maps shows (`[anon:name]`); default: `as`. */
  readonly name?: string;
}

/** munmap(2). */
export interface MunmapStep extends StepCommon {
  readonly op: 'munmap';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly length: SizeExpr;
}

/** mprotect(2). */
export interface MprotectStep extends StepCommon {
  readonly op: 'mprotect';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly length: SizeExpr;
  readonly prot: string;
}

/** mremap(2). */
export interface MremapStep extends StepCommon {
  readonly op: 'mremap';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly length: SizeExpr;
  readonly newLength: SizeExpr;
  /** MREMAP_MAYMOVE. */
  readonly mayMove?: boolean;
  /** Name of the (possibly moved) result. */
  readonly as?: string;
}

/** madvise(2) advice names a `madvise` step takes (Linux's MADV_* without the prefix, lower case). */
export type MadviseAdvice =
  | 'normal'
  | 'random'
  | 'sequential'
  | 'willneed'
  | 'dontneed'
  | 'free'
  | 'cold'
  | 'pageout'
  | 'dontneed-locked';

/** madvise(2). */
export interface MadviseStep extends StepCommon {
  readonly op: 'madvise';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly length: SizeExpr;
  readonly advice: MadviseAdvice;
}

/** mincore(2): which pages of the range are resident (the outcome shows one digit per page). */
export interface MincoreStep extends StepCommon {
  readonly op: 'mincore';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly length: SizeExpr;
  /** The residency the call must report, one `0`/`1` per page (e.g. `"1101"`). */
  readonly equals?: string;
}

/** mlock(2), or mlock2(2) with MLOCK_ONFAULT (`onFault: true`). */
export interface MlockStep extends StepCommon {
  readonly op: 'mlock';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly length: SizeExpr;
  readonly onFault?: boolean;
}

/** munlock(2). */
export interface MunlockStep extends StepCommon {
  readonly op: 'munlock';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly length: SizeExpr;
}

/** brk(2): sets the program break. */
export interface BrkStep extends StepCommon {
  readonly op: 'brk';
  readonly process: string;
  readonly to: AddressExpr;
}

/** Accesses every page of a range once, as the process (a read, or with `write` a read and a write-back of the same byte). */
export interface TouchStep extends StepCommon {
  readonly op: 'touch';
  readonly process: string;
  readonly addr: AddressExpr;
  /** Bytes from `addr` (default one page). */
  readonly length?: SizeExpr;
  readonly write?: boolean;
  /** CPU index (default 0). */
  readonly cpu?: number;
}

/** A user load: an integer of `size` bytes, or `length` bytes read as text. */
export interface ReadStep extends StepCommon {
  readonly op: 'read';
  readonly process: string;
  readonly addr: AddressExpr;
  /** 1, 2, 4 or 8 (default 8) for an integer load. */
  readonly size?: 1 | 2 | 4 | 8;
  /** Read this many bytes instead, shown as text. */
  readonly length?: SizeExpr;
  /** The value (number, `0x…`) or text the read must return. */
  readonly equals?: string | number;
  readonly cpu?: number;
}

/** A user store: an integer `value` of `size` bytes, or `text` as bytes. */
export interface WriteStep extends StepCommon {
  readonly op: 'write';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly size?: 1 | 2 | 4 | 8;
  readonly value?: string | number;
  readonly text?: string;
  readonly cpu?: number;
}

/** A user instruction fetch of 4 bytes (or `size`). */
export interface FetchStep extends StepCommon {
  readonly op: 'fetch';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly size?: 1 | 2 | 4 | 8;
  readonly cpu?: number;
}

/** copy_to_user: the kernel writes `text` to the process's memory (EFAULT for a bad pointer, never a kill). */
export interface CopyToUserStep extends StepCommon {
  readonly op: 'copy-to-user';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly text: string;
  readonly cpu?: number;
}

/** copy_from_user: the kernel reads `length` bytes of the process's memory. */
export interface CopyFromUserStep extends StepCommon {
  readonly op: 'copy-from-user';
  readonly process: string;
  readonly addr: AddressExpr;
  readonly length: SizeExpr;
  readonly cpu?: number;
}

/** fork(2): the child gets a copy of the parent's address space. */
export interface ForkStep extends StepCommon {
  readonly op: 'fork';
  readonly process: string;
  /** The child's name. */
  readonly as: string;
}

/** exec: replaces the process's address space with a new program image. */
export interface ExecStep extends StepCommon {
  readonly op: 'exec';
  readonly process: string;
  /** Text bytes as hex (default as in spawn). */
  readonly text?: string;
}

/** exit(2). */
export interface ExitStep extends StepCommon {
  readonly op: 'exit';
  readonly process: string;
}

/**
 * Writes `/proc/PID/oom_score_adj`: −1000 (the OOM killer never chooses the process) to 1000
 * (chosen first); EINVAL outside. Fork copies it.
 */
export interface OomScoreAdjStep extends StepCommon {
  readonly op: 'oomScoreAdj';
  readonly process: string;
  /** An integer from −1000 to 1000. */
  readonly value: number;
}

/** Records /proc/PID/maps of a process. */
export interface MapsStep extends StepCommon {
  readonly op: 'maps';
  readonly process: string;
}

/** Records the page-table dump (effective permissions from real walks) and the registers that select it. */
export interface DumpStep extends StepCommon {
  readonly op: 'dump';
  readonly process: string;
}

/**
 * A kernel bug on purpose, to show the strict TLB checker at work: from this step on, the
 * kernel drops every flush obligation without any TLB maintenance (no TLBI, no INVLPG, no
 * shootdown). With `strictTlb` (the default) the next step that removes or downgrades a
 * translation fails with `UndischargedFlushError`, and an access through the stale TLB entry
 * with `StaleTlbError`; the step records show the verdicts ({@link StepRecord.tlbCheck}).
 */
export interface DropFlushesStep extends StepCommon {
  readonly op: 'drop-flushes';
}

/** swapon: adds a swap device (slot 0 is its header). */
export interface SwaponStep extends StepCommon {
  readonly op: 'swapon';
  /** Its size (`64 pages`, `256K`): whole pages, header included. */
  readonly size: SizeExpr;
  /** 0 … 32767, higher used first; default: -2, -3, … in swapon order (as Linux). */
  readonly priority?: number;
  /** Its name (default `swapN`). */
  readonly name?: string;
}

/** swapoff: brings every page of the device back into memory and removes it. */
export interface SwapoffStep extends StepCommon {
  readonly op: 'swapoff';
  /** The device's type (its index, as swapon reported it: 0 for the first). */
  readonly type: number;
}

/** Reclaim: swaps out up to `pages` frames of private anonymous memory (see `Kernel.reclaim`). */
export interface ReclaimStep extends StepCommon {
  readonly op: 'reclaim';
  readonly pages: number;
}

/** Every step a scenario can have. New kinds (swap, copy-on-write) are new members plus one entry in the step table. */
export type ScenarioStep =
  | SpawnStep
  | MmapStep
  | MunmapStep
  | MprotectStep
  | MremapStep
  | MadviseStep
  | MincoreStep
  | MlockStep
  | MunlockStep
  | BrkStep
  | TouchStep
  | ReadStep
  | WriteStep
  | FetchStep
  | CopyToUserStep
  | CopyFromUserStep
  | ForkStep
  | ExecStep
  | ExitStep
  | OomScoreAdjStep
  | MapsStep
  | DumpStep
  | DropFlushesStep
  | SwaponStep
  | SwapoffStep
  | ReclaimStep;

/** A step's `op`. */
export type StepOp = ScenarioStep['op'];

/** Kernel options a scenario may set. */
export interface ScenarioKernelOptions {
  /** Report any use of a stale TLB entry as an error (default true). */
  readonly strictTlb?: boolean;
  /** TLB entries per CPU. */
  readonly tlbEntries?: number;
  /** Pages above which a range invalidation becomes a full flush. */
  readonly flushThreshold?: number;
  /** `fork` shares private pages copy-on-write (`cow`, default) or copies them at once (`eager`, seed 000). */
  readonly fork?: 'cow' | 'eager';
  /** Read faults on private anonymous memory map the shared zero page (default true). */
  readonly zeroPage?: boolean;
  /** Out of memory runs the OOM killer (default true); false kills the faulting process. */
  readonly oomKiller?: boolean;
  /**
   * Working-set, page-fault-frequency and thrash tracking (the kernel's `workingSet` option):
   * `true` for the defaults or an object `{ tau, sampleInterval, exact, pffWindow, pffUpper,
   * pffLower, thrashWindow, thrashThreshold }`. Off by default.
   */
  readonly workingSet?: boolean | WorkingSetOptions;
  /** Swap readahead: a major swap-in reads the aligned cluster of this many slots (a power of two; default off). */
  readonly swapReadahead?: number;
  /**
   * The kernel's replacement policy for reclaim (`two-list` by default; `fifo`, `clock`,
   * `wsclock`, `sieve`, `lru`, `lfu`, `arc`, `2q`). Reclaim runs only with a swap device.
   */
  readonly reclaimPolicy?: ReclaimPolicyName;
  /** The page allocator's watermarks in pages `{ min, low, high }` (default: Linux's). */
  readonly watermarks?: Watermarks;
  /** kswapd and direct reclaim run by themselves (default true). */
  readonly autoReclaim?: boolean;
}

/** A scenario: where it runs and what it does. */
export interface Scenario {
  readonly name?: string;
  readonly description?: string;
  /** `virt`, `rpi4b` or `pc`. */
  readonly board: 'virt' | 'rpi4b' | 'pc' | (string & {});
  /** Paging format; default: the board's default. */
  readonly arch?: ScenarioArch | (string & {});
  /** RAM size (`512M`, `1G`, or bytes); default: the board's default. */
  readonly ram?: SizeExpr;
  /** CPUs (default 2). */
  readonly cpus?: number;
  readonly options?: ScenarioKernelOptions;
  readonly steps: readonly ScenarioStep[];
}
