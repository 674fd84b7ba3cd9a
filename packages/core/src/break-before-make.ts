/**
 * Break-before-make as explicit phases, so the editor never calls back into its caller in the
 * middle of an operation.
 *
 * Changing the size of a live translation (a block split into a table of smaller leaves, a table
 * collapsed into a block) or its Contiguous hint needs break-before-make on AArch64 (arch-facts
 * A11): write an invalid descriptor, invalidate the TLB (`DSB; TLBI; DSB`), and only then write
 * the new descriptor; skipping the middle step may leave two overlapping TLB entries (a TLB
 * conflict abort, fault status 0x30). Other formats (x86) do not require the sequence; it is
 * correct there too.
 *
 * `PageTableEditor.prepareSplit`, `prepareCollapse` and `prepareContiguousRun` check everything,
 * encode every new descriptor and allocate what is needed, off to the side, and return a
 * {@link BreakBeforeMakePlan}. The caller then runs the phases:
 *
 * ```
 * prepare…()    checks, encodes, allocates a fresh table        ← may fail: nothing changed
 * plan.break()  writes invalid descriptors over the old ones     → FlushObligation
 *               the caller runs TLBI on every CPU (or ignores the obligation, with a reason,
 *               for tables no CPU has loaded) and settles the obligation
 * plan.make()   writes the new descriptors, frees what became unused
 *               (refused while the obligation is unsettled)
 * plan.abort()  instead of make (or of break): writes the old descriptors back, frees the
 *               fresh table: nothing changed
 * ```
 *
 * Every call out of order (break twice, make before break or after abort, anything after make or
 * abort) throws {@link BreakBeforeMakeError} and changes nothing. `break()` also refuses a stale
 * plan: one whose descriptors changed since it was prepared. After `make()` there is nothing left
 * to invalidate (the slots were invalid and flushed), so make returns no obligation.
 */
import {
  checkBool,
  checkFunction,
  checkMemory,
  checkObject,
  checkPa,
  checkString,
  field,
} from './arg-checks.js';
import { describeValue, InvalidArgumentError, MmError } from './errors.js';
import { FlushObligation } from './flush.js';
import type { PhysicalMemory } from './physical-memory.js';

/** Where a {@link BreakBeforeMakePlan} stands. */
export type PlanPhase = 'prepared' | 'broken' | 'made' | 'aborted';

function text(v: unknown): string {
  return typeof v === 'string' ? v : describeValue(v);
}

/** A break-before-make phase called out of order, or on a stale plan. Nothing was changed. */
export class BreakBeforeMakeError extends MmError {
  constructor(
    /** The operation of the plan (`split`, `collapse`, `contiguous`). */
    readonly operation: string,
    /** The phase the plan was in. */
    readonly phase: PlanPhase,
    /** What was attempted (`make`, …). */
    readonly attempted: string,
    /** What was expected instead. */
    readonly expected: string,
  ) {
    super(
      'E_BREAK_BEFORE_MAKE',
      `${text(operation)} plan: ${text(attempted)} in phase '${text(phase)}' refused; expected ${text(expected)}`,
    );
  }
}

/** What the editor hands to a plan (see `PageTableEditor.prepareSplit`). */
export interface PlanSpec<R> {
  readonly operation: string;
  readonly memory: PhysicalMemory;
  /** Descriptors are 8 bytes (else 4). */
  readonly wide: boolean;
  /** Descriptor addresses that change. */
  readonly dpas: readonly number[];
  /** Their values when prepared: lo, hi pairs. */
  readonly old: readonly number[];
  /** Their new values: lo, hi pairs. */
  readonly made: readonly number[];
  /** Creates the obligation of the break step. */
  readonly flush: () => FlushObligation;
  /** Runs after the new descriptors are written (frees a collapsed table). */
  readonly onMake?: () => void;
  /** Runs on abort (frees the fresh table). */
  readonly onAbort?: () => void;
  /** What `make()` returns. */
  readonly result: R;
}

/** A prepared break-before-make change; see the module documentation. */
export class BreakBeforeMakePlan<R> {
  private state: PlanPhase = 'prepared';
  private obligation: FlushObligation | undefined;

  /**
   * A plan over `spec` (normally made by the editor's `prepare…` methods).
   * @throws InvalidArgumentError naming the field unless `spec` is a {@link PlanSpec}: an
   *   operation name, a PhysicalMemory, `wide` a boolean, descriptor addresses aligned to the
   *   descriptor size, `old` and `made` two 32-bit words per descriptor, `flush` (and the
   *   optional `onMake`, `onAbort`) functions.
   */
  constructor(spec: PlanSpec<R>) {
    this.spec = checkPlanSpec(spec);
  }

  private readonly spec: PlanSpec<R>;

  /** The current phase. */
  get phase(): PlanPhase {
    return this.state;
  }

  /** `split`, `collapse` or `contiguous`. */
  get operation(): string {
    return this.spec.operation;
  }

  /** Number of descriptors the plan rewrites. */
  get entries(): number {
    return this.spec.dpas.length;
  }

  /** The obligation returned by {@link break}, once broken. */
  get flush(): FlushObligation | undefined {
    return this.obligation;
  }

  /**
   * The break step: writes invalid descriptors over the old ones and returns the obligation the
   * caller must settle before {@link make}.
   * @throws BreakBeforeMakeError unless the plan is `prepared`, or if a descriptor changed since
   *   the plan was prepared (a stale plan: abort it). Nothing is written then.
   */
  break(): FlushObligation {
    this.expect('prepared', 'break', 'prepare → break → discharge → make (or abort)');
    const { memory, dpas, old, wide } = this.spec;
    for (let k = 0; k < dpas.length; k++) {
      const dpa = dpas[k]!;
      if (memory.read32(dpa) !== old[2 * k] || (wide && memory.read32(dpa + 4) !== old[2 * k + 1])) {
        throw new BreakBeforeMakeError(
          this.spec.operation,
          this.state,
          `break of a stale plan (descriptor at physical 0x${dpa.toString(16)} changed since it was prepared)`,
          'a plan prepared after the last change to its entries (abort this one)',
        );
      }
    }
    const obligation: unknown = this.spec.flush();
    if (!(obligation instanceof FlushObligation)) {
      throw new InvalidArgumentError(`${this.spec.operation} plan flush()`, obligation, 'a FlushObligation');
    }
    for (const dpa of dpas) this.writeRaw(dpa, 0, 0);
    this.obligation = obligation;
    this.state = 'broken';
    return this.obligation;
  }

  /**
   * The make step: writes the new descriptors, frees what became unused, and returns the result.
   * @throws BreakBeforeMakeError unless the plan is `broken` and its obligation settled
   *   (discharged or ignored). Nothing is written then.
   */
  make(): R {
    this.expect('broken', 'make', 'break() first, then make()');
    if (!this.obligation!.settledState) {
      throw new BreakBeforeMakeError(
        this.spec.operation,
        this.state,
        `make with the flush obligation unsettled (${this.obligation!.describe()})`,
        'the obligation returned by break() discharged (or ignored) first',
      );
    }
    const { dpas, made } = this.spec;
    for (let k = 0; k < dpas.length; k++) this.writeRaw(dpas[k]!, made[2 * k]!, made[2 * k + 1]!);
    this.spec.onMake?.();
    this.state = 'made';
    return this.spec.result;
  }

  /**
   * Gives the change up: after {@link break}, writes the old descriptors back (the obligation is
   * then ignored: every translation is as before); frees the fresh table. Nothing changed.
   * @throws BreakBeforeMakeError once made or aborted.
   */
  abort(): void {
    if (this.state !== 'prepared' && this.state !== 'broken') {
      throw new BreakBeforeMakeError(this.spec.operation, this.state, 'abort', 'a prepared or broken plan');
    }
    if (this.state === 'broken') {
      const { dpas, old } = this.spec;
      for (let k = 0; k < dpas.length; k++) this.writeRaw(dpas[k]!, old[2 * k]!, old[2 * k + 1]!);
      const f = this.obligation!;
      if (!f.settledState) f.ignore('break-before-make aborted: the old descriptors are back');
    }
    this.spec.onAbort?.();
    this.state = 'aborted';
  }

  private expect(phase: PlanPhase, attempted: string, expected: string): void {
    if (this.state !== phase)
      throw new BreakBeforeMakeError(this.spec.operation, this.state, attempted, expected);
  }

  private writeRaw(dpa: number, lo: number, hi: number): void {
    this.spec.memory.write32(dpa, lo);
    if (this.spec.wide) this.spec.memory.write32(dpa + 4, hi);
  }
}

function checkWords(what: string, value: unknown, count: number): readonly number[] {
  if (!Array.isArray(value) || value.length !== count) {
    throw new InvalidArgumentError(what, value, `an array of ${count} 32-bit words (lo, hi per descriptor)`);
  }
  value.forEach((w: unknown, i) => {
    if (typeof w !== 'number' || (w >>> 0 !== w && (w | 0) !== w)) {
      throw new InvalidArgumentError(`${what}[${i}]`, w, 'a 32-bit word');
    }
  });
  return value as readonly number[];
}

/** Validates a {@link PlanSpec}; see the {@link BreakBeforeMakePlan} constructor. */
function checkPlanSpec<R>(spec: unknown): PlanSpec<R> {
  const what = 'break-before-make plan spec';
  const o = checkObject(what, spec, 'a PlanSpec { operation, memory, wide, dpas, old, made, flush, result }');
  checkString(`${what}.operation`, field(o, 'operation', what));
  checkMemory(`${what}.memory`, field(o, 'memory', what));
  const wide = checkBool(`${what}.wide`, field(o, 'wide', what));
  const dpas = field(o, 'dpas', what);
  if (!Array.isArray(dpas))
    throw new InvalidArgumentError(`${what}.dpas`, dpas, 'an array of descriptor addresses');
  dpas.forEach((d: unknown, i) => {
    checkPa(`${what}.dpas[${i}]`, d, wide ? 8 : 4);
  });
  checkWords(`${what}.old`, field(o, 'old', what), 2 * dpas.length);
  checkWords(`${what}.made`, field(o, 'made', what), 2 * dpas.length);
  checkFunction(`${what}.flush`, field(o, 'flush', what));
  for (const k of ['onMake', 'onAbort']) {
    const f = field(o, k, what);
    if (f !== undefined) checkFunction(`${what}.${k}`, f);
  }
  return o as unknown as PlanSpec<R>;
}
