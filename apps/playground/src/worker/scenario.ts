/**
 * What the playground runs: a `@mmkit/scenario` scenario (one of its shipped examples, or the text
 * of a YAML/JSON file as `mmkit run` takes it) with optional board, paging-format and RAM
 * overrides. The worker parses and runs it; the UI and the URL only carry this reference.
 */
import {
  EXAMPLE_SCENARIOS,
  exampleScenario,
  parseScenario,
  type Scenario,
  ScenarioError,
  type ScenarioOptions,
} from '@mmkit/scenario';

/** A scenario to open: an example's id or a scenario file's text, plus machine overrides. */
export interface ScenarioRef {
  /** An id of `EXAMPLE_SCENARIOS` (`demo`, `fork-exec` …). */
  readonly example?: string;
  /** The text of a scenario file (YAML or JSON), when `example` is not given. */
  readonly text?: string;
  /** Run on this board instead of the scenario's. */
  readonly board?: string;
  /** Run with this paging format instead of the scenario's. */
  readonly arch?: string;
  /** Run with this RAM size instead of the scenario's (`512M`, `8G`). */
  readonly ram?: string;
}

/** The demo (the first shipped example), with no overrides. */
export const DEMO_REF: ScenarioRef = { example: 'demo' };

/** Ids of the shipped examples, `demo` first. */
export const EXAMPLE_IDS: readonly string[] = [
  'demo',
  ...EXAMPLE_SCENARIOS.map((s) => s.id).filter((id) => id !== 'demo'),
];

/**
 * Parses the scenario a reference names.
 * @throws ScenarioError for an unknown example or a scenario file that does not validate.
 */
export function loadScenario(ref: ScenarioRef): Scenario {
  if (ref.example !== undefined) {
    const ex = exampleScenario(ref.example);
    if (!ex)
      throw new ScenarioError(`example "${ref.example}" does not exist`, {
        field: 'example',
        value: ref.example,
        expected: `one of: ${EXAMPLE_IDS.join(', ')}`,
      });
    return parseScenario(ex.yaml, `${ex.id}.yaml`);
  }
  return parseScenario(ref.text ?? '', 'scenario');
}

/** The run options (overrides) of a reference. */
export function optionsOf(ref: ScenarioRef): ScenarioOptions {
  return {
    ...(ref.board ? { board: ref.board } : {}),
    ...(ref.arch ? { arch: ref.arch } : {}),
    ...(ref.ram ? { ram: ref.ram } : {}),
  };
}

/** A scenario as JSON text (bigints as hex strings, which every address and size field accepts). */
export function scenarioText(s: Scenario): string {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2);
}

const NUM_RE = /^(0x[0-9a-f_]+|\d[\d_]*)$/i;

/**
 * An address for the walk explainer: a number (`0x…`), or a name of `symbols` (layout symbols such
 * as `heap`, `stack-top`, `wild`, and mmap results) plus or minus a number. `stackTop`/`stackLow`
 * are accepted for `stack-top`/`stack-low`.
 * @throws Error naming the text and what was expected.
 */
export function resolveAddress(text: string, symbols: ReadonlyMap<string, bigint>): bigint {
  const t = text.trim();
  const m = /^([A-Za-z_][\w-]*?)?\s*(?:([+-])\s*(0x[0-9a-f_]+|\d[\d_]*))?$/i.exec(t);
  const num = (s: string) => BigInt(s.replaceAll('_', ''));
  if (NUM_RE.test(t)) return num(t);
  if (!m || m[1] === undefined)
    throw new Error(`va: got ${JSON.stringify(text)}, expected 0x…, a name or name±offset`);
  const name = m[1] === 'stackTop' ? 'stack-top' : m[1] === 'stackLow' ? 'stack-low' : m[1];
  const base = symbols.get(name);
  if (base === undefined)
    throw new Error(
      `va: got ${JSON.stringify(text)}: "${name}" is not a name; expected 0x… or one of: ${[...symbols.keys()].join(', ')}`,
    );
  const off = m[3] === undefined ? 0n : num(m[3]);
  const va = m[2] === '-' ? base - off : base + off;
  if (va < 0n) throw new Error(`va: ${JSON.stringify(text)} is below 0`);
  return va;
}
