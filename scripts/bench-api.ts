/**
 * The contract between `scripts/bench.ts` and the `packages/<pkg>/bench/*.bench.ts` files.
 *
 * A bench file imports only types from here (`import type`), so it has no runtime
 * dependency on the harness; the harness hands it a {@link BenchContext}.
 * See the doc comment of `scripts/bench.ts` for the file format and an example.
 */

/**
 * A pass/fail target. `min`: the value must be ≥ min (throughput); `max`: the
 * value must be ≤ max (memory, latency). Give exactly one.
 */
export type BenchTarget =
  | { readonly min: number; readonly max?: never }
  | { readonly max: number; readonly min?: never };

/** Throughput of a small function, measured with tinybench. */
export interface ThroughputSpec {
  /** Row name, unique within the file, e.g. `Tlb.lookup (hit)`. */
  readonly name: string;
  /** Human description of the input, e.g. `4096-entry working set`. */
  readonly inputSize: string;
  /**
   * Operations one call of {@link fn} performs (a call should take ≥ 10 µs so the
   * timer's own cost does not count: loop inside `fn`). ops/s = opsPerCall / time per call.
   */
  readonly opsPerCall: number;
  /**
   * The measured function. Return something computed from every operation (a sum)
   * so the JIT cannot drop the work; the harness keeps it.
   */
  readonly fn: () => unknown;
  /** Target in operations per second. */
  readonly target?: BenchTarget;
  /** Time budget in ms (default 1000, 200 with `--quick`). */
  readonly timeMs?: number;
}

/**
 * A value measured by a whole run (drain a pool, touch N frames and read the memory
 * counters). The harness calls {@link run} `repeat` times and reports the best (or median) value.
 */
export interface MeasureSpec {
  readonly name: string;
  readonly inputSize: string;
  /** Unit of the returned value, e.g. `ops/s`, `KiB/frame`, `ms`. */
  readonly unit: string;
  /** One complete measurement; returns the value in {@link unit}. Use `performance.now()` for timing. */
  readonly run: () => number | Promise<number>;
  /** Which value is best across repeats. */
  readonly better: 'higher' | 'lower';
  /**
   * Which repeat to report: `best` (default; right for timings, where noise only slows a run down)
   * or `median` (right for memory counters, where noise goes both ways).
   */
  readonly report?: 'best' | 'median';
  /** Runs (default 3; 1 with `--quick`). */
  readonly repeat?: number;
  readonly target?: BenchTarget;
}

/** Handed to a bench file's default export. */
export interface BenchContext {
  /** True with `--quick`: shrink time budgets and repeats (inputs should keep their sizes). */
  readonly quick: boolean;
  /** Measures throughput with tinybench and records a row (unit `ops/s`); resolves to the recorded value. */
  throughput(spec: ThroughputSpec): Promise<number>;
  /** Runs a whole-run measurement `repeat` times and records the best value; resolves to the recorded value. */
  measure(spec: MeasureSpec): Promise<number>;
  /** Runs a full garbage collection if the process has `--expose-gc` (the harness sets it); returns whether it did. */
  gc(): boolean;
}

/** What a bench file exports as `default`. */
export type BenchFile = (bench: BenchContext) => Promise<void> | void;

/** One row of the results. */
export interface BenchResult {
  /** Bench file relative to the repository root, e.g. `packages/core/bench/core.bench.ts`. */
  readonly file: string;
  /** Package directory name, e.g. `core`. */
  readonly package: string;
  readonly name: string;
  readonly inputSize: string;
  readonly kind: 'throughput' | 'measure';
  readonly value: number;
  readonly unit: string;
  readonly target: BenchTarget | null;
  /** null when there is no target. */
  readonly pass: boolean | null;
  /** Extra numbers: relative margin of error, samples, every repeat's value, whether gc was exposed. */
  readonly detail: Readonly<Record<string, number | string | boolean | readonly number[]>>;
}
