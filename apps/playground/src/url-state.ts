/**
 * The shareable URL: the hash encodes the scenario (a shipped example by id, `scenario=demo`, or a
 * custom scenario's YAML/JSON text as base64url UTF-8, `src=…`), the board, paging-format and RAM
 * overrides, the timeline position and the view, e.g.
 * `#scenario=demo&board=pc&arch=x86-pae&p=6&view=walk`.
 */
import { DEMO_REF, type ScenarioRef } from './worker/scenario.js';

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
  'replacement',
] as const;
/** A view id. */
export type ViewId = (typeof VIEWS)[number];

/** The Replacement view's inputs as typed, and the reference it shows. */
export interface ReplacementState {
  /** The reference string (`1 2 3 4 1 2 5`). */
  readonly refs: string;
  /** The frame count or counts (`3` or `3, 4`). */
  readonly frames: string;
  /** The policies, comma-separated (`fifo,lru`). */
  readonly policies: string;
  /** References run so far. */
  readonly at: number;
}

/** What the hash holds. */
export interface UrlState {
  readonly ref: ScenarioRef;
  readonly position: number;
  readonly view: ViewId;
  /** The Replacement view's state (`rr`, `rf`, `rp`, `ri`), when the link shows that view. */
  readonly replacement?: ReplacementState;
}

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const bin = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** Encodes the state as a hash (with the leading `#`). */
export function encodeHash(st: UrlState): string {
  const q = new URLSearchParams();
  const r = st.ref;
  if (r.example !== undefined) q.set('scenario', r.example);
  else q.set('src', toBase64Url(r.text ?? ''));
  if (r.board) q.set('board', r.board);
  if (r.arch) q.set('arch', r.arch);
  if (r.ram) q.set('ram', r.ram);
  q.set('p', String(st.position));
  q.set('view', st.view);
  const rs = st.replacement;
  if (st.view === 'replacement' && rs) {
    q.set('rr', rs.refs);
    q.set('rf', rs.frames);
    q.set('rp', rs.policies);
    q.set('ri', String(rs.at));
  }
  return `#${q.toString()}`;
}

/**
 * Decodes a hash; a missing scenario means the demo at step 0 on its own machine, and `error` says
 * what was ignored (the worker checks the scenario itself and reports its ScenarioError).
 */
export function decodeHash(hash: string): UrlState & { error?: string } {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const p = Number(q.get('p') ?? 0);
  const view = (VIEWS as readonly string[]).includes(q.get('view') ?? '')
    ? (q.get('view') as ViewId)
    : 'machine';
  const position = Number.isSafeInteger(p) && p >= 0 ? p : 0;
  const overrides = {
    ...(q.get('board') ? { board: q.get('board')! } : {}),
    ...(q.get('arch') ? { arch: q.get('arch')! } : {}),
    ...(q.get('ram') ? { ram: q.get('ram')! } : {}),
  };
  const example = q.get('scenario');
  const src = q.get('src');
  const ri = Number(q.get('ri') ?? 0);
  // The view checks the texts (its inputs show them, with the message for a bad one).
  const extra =
    q.get('rr') !== null
      ? {
          replacement: {
            refs: q.get('rr')!,
            frames: q.get('rf') ?? '3',
            policies: q.get('rp') ?? 'fifo',
            at: Number.isSafeInteger(ri) && ri >= 0 ? ri : 0,
          },
        }
      : {};
  if (example !== null) return { ref: { example, ...overrides }, position, view, ...extra };
  if (src !== null) {
    try {
      return { ref: { text: fromBase64Url(src), ...overrides }, position, view, ...extra };
    } catch (e) {
      return {
        ref: DEMO_REF,
        position: 0,
        view,
        error: `the link's scenario was ignored: src is not base64url UTF-8 (${(e as Error).message})`,
      };
    }
  }
  return { ref: DEMO_REF, position: 0, view: view === 'replacement' ? view : 'machine', ...extra };
}
