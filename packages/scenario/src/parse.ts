/**
 * `parseScenario`: JSON or YAML text → a validated {@link Scenario}. JSON is read by the YAML
 * parser too (YAML 1.2 is a superset), so both get line numbers in errors.
 */
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { ScenarioError } from './errors.js';
import type { Scenario } from './types.js';
import { validateScenario } from './validate.js';

/**
 * Parses a scenario from JSON or YAML text and validates it.
 * @param text the file's contents
 * @param source the file name (or another label) for error messages
 * @throws ScenarioError for text that is not JSON/YAML (with the parser's line), or a scenario that
 *   does not validate (naming the line, the step, the field, the value and what was expected).
 */
export function parseScenario(text: string, source?: string): Scenario {
  if (typeof text !== 'string')
    throw new ScenarioError(`the scenario text is ${typeof text}`, {
      source,
      expected: 'a string of JSON or YAML',
    });
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, intAsBigInt: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line ?? lineCounter.linePos(first.pos[0]).line;
    throw new ScenarioError(`not valid JSON or YAML: ${first.message.split('\n')[0]}`, {
      source,
      line,
      expected: 'a JSON or YAML document',
    });
  }
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias without its anchor (`*a`), or too many alias expansions: the parser's words.
    throw new ScenarioError(`not valid YAML: ${(e as Error).message.split('\n')[0]}`, {
      source,
      expected: 'a JSON or YAML document (every *alias needs its &anchor earlier)',
    });
  }
  const value = bigintsToNumbers(js);
  return validateScenario(value, {
    source,
    line: (path) => {
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        const range = node && typeof node === 'object' ? node.range : undefined;
        if (range) return lineCounter.linePos(range[0]).line;
        // A map item's key: look the key up in the parent map.
        if (n > 0) {
          const parent = doc.getIn(path.slice(0, n - 1), true);
          if (isMap(parent)) {
            const pair = parent.items.find((p) => (p.key as { value?: unknown })?.value === path[n - 1]);
            const r = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
            if (r) return lineCounter.linePos(r[0]).line;
          } else if (isSeq(parent)) {
          }
        }
      }
      return undefined;
    },
  });
}

/** Integers come out of the parser as bigints (no silent rounding); safe ones become numbers. */
function bigintsToNumbers(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(bigintsToNumbers);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bigintsToNumbers(x)]));
  }
  return v;
}
