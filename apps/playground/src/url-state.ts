/**
 * The shareable URL: the hash encodes the scenario (`demo`, or the scenario as base64url JSON),
 * board, paging format, RAM, timeline position and view, e.g.
 * `#scenario=demo&board=pc&arch=x86-pae&p=6&view=walk`.
 */
import {
  ARCHS,
  BOARDS,
  DEMO_STEPS,
  demoScenario,
  parseScenarioObject,
  type Scenario,
} from './worker/scenario.js';

/** Views of the app, in tab order. */
export const VIEWS = [
  'machine',
  'spaces',
  'tables',
  'walk',
  'tlb',
  'timeline',
  'scenario',
  'compare',
  'import',
] as const;
/** A view id. */
export type ViewId = (typeof VIEWS)[number];

/** What the hash holds. */
export interface UrlState {
  readonly scenario: Scenario;
  readonly position: number;
  readonly view: ViewId;
}

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const bin = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** JSON of steps with sorted keys, so a parsed copy of the demo compares equal to it. */
function canonical(steps: Scenario['steps']): string {
  return JSON.stringify(
    steps.map((st) => Object.fromEntries(Object.entries(st).sort(([x], [y]) => (x < y ? -1 : 1)))),
  );
}

const DEMO_CANONICAL = canonical(DEMO_STEPS);

function isDemo(s: Scenario): boolean {
  return s.steps === DEMO_STEPS || canonical(s.steps) === DEMO_CANONICAL;
}

/** Encodes the state as a hash (with the leading `#`). */
export function encodeHash(st: UrlState): string {
  const q = new URLSearchParams();
  const s = st.scenario;
  if (isDemo(s)) q.set('scenario', 'demo');
  else
    q.set(
      'scenario',
      toBase64Url(JSON.stringify({ ...s, board: undefined, arch: undefined, ram: undefined })),
    );
  q.set('board', s.board);
  q.set('arch', s.arch);
  if (s.ram !== undefined) q.set('ram', String(s.ram));
  q.set('p', String(st.position));
  q.set('view', st.view);
  return `#${q.toString()}`;
}

/**
 * Decodes a hash; anything missing or malformed falls back to the demo on QEMU virt / AArch64 at
 * step 0, and `error` says what was ignored.
 */
export function decodeHash(hash: string): UrlState & { error?: string } {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const fallback: UrlState = { scenario: demoScenario(), position: 0, view: 'machine' };
  if (!q.has('scenario')) return fallback;
  try {
    const board = q.get('board') ?? 'virt';
    const arch = q.get('arch') ?? (board === 'pc' ? 'x86_64' : 'aarch64');
    const ramText = q.get('ram');
    const ram = ramText === null ? undefined : /^\d+$/.test(ramText) ? Number(ramText) : ramText;
    const name = q.get('scenario')!;
    const body =
      name === 'demo'
        ? { name: 'demo', cpus: 2, steps: DEMO_STEPS }
        : (JSON.parse(fromBase64Url(name)) as Record<string, unknown>);
    const scenario = parseScenarioObject({ ...body, board, arch, ...(ram === undefined ? {} : { ram }) });
    const p = Number(q.get('p') ?? 0);
    const view = (VIEWS as readonly string[]).includes(q.get('view') ?? '')
      ? (q.get('view') as ViewId)
      : 'machine';
    return { scenario, position: Number.isSafeInteger(p) && p >= 0 ? p : 0, view };
  } catch (e) {
    return { ...fallback, error: `the link's scenario was ignored: ${(e as Error).message}` };
  }
}

export { ARCHS, BOARDS };
