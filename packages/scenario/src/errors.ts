/**
 * {@link ScenarioError}: a scenario file or object that does not say what mmkit can run. Thrown by
 * `parseScenario` and `start`/`runScenario` (never for what the kernel does while a step runs:
 * that is the step's result).
 */
import { MmError } from '@mmkit/core';

/** Where in a scenario a problem is and what was wrong, as fields. */
export interface ScenarioErrorDetails {
  /** The file (or other source name) the scenario came from, if known. */
  readonly source?: string | undefined;
  /** 1-based line in the source text, when the scenario was parsed from text. */
  readonly line?: number | undefined;
  /** 0-based index of the step, for a problem inside `steps`. */
  readonly stepIndex?: number | undefined;
  /** The field that is wrong (`board`, `length`, `op` …). */
  readonly field?: string | undefined;
  /** The offending value. */
  readonly value?: unknown;
  /** What was expected instead. */
  readonly expected: string;
}

/**
 * A scenario that cannot be run: malformed JSON/YAML, an unknown board, paging format or step op,
 * a missing or malformed field, a name used before a step defines it. The message is one line:
 * `<source>:<line>: step <n> (<op>): <field> <value> <problem>; expected <expected>`; the parts
 * are also fields. Code `E_INVALID_ARGUMENT`.
 */
export class ScenarioError extends MmError {
  /** The source name, if known. */
  readonly source: string | undefined;
  /** 1-based line, if known. */
  readonly line: number | undefined;
  /** 0-based step index, if the problem is in a step. */
  readonly stepIndex: number | undefined;
  /** The field at fault, if any. */
  readonly field: string | undefined;
  /** The offending value. */
  readonly value: unknown;
  /** What was expected. */
  readonly expected: string;

  constructor(problem: string, details: ScenarioErrorDetails & { readonly op?: string | undefined }) {
    const where = details.source ? `${details.source}${details.line ? `:${details.line}` : ''}: ` : '';
    const line = !details.source && details.line ? `line ${details.line}: ` : '';
    const step =
      details.stepIndex === undefined
        ? ''
        : `step ${details.stepIndex + 1}${details.op ? ` (${details.op})` : ''}: `;
    super(
      'E_INVALID_ARGUMENT',
      `${where}${line}${step}${problem}; expected ${details.expected}`.replace(/\s*\n\s*/g, ' '),
    );
    this.source = details.source;
    this.line = details.line;
    this.stepIndex = details.stepIndex;
    this.field = details.field;
    this.value = details.value;
    this.expected = details.expected;
  }
}

/** Shows a value in an error message: strings quoted, numbers and bigints as written. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}`;
  if (value === undefined) return 'missing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
