/**
 * Replacement: a reference string and a frame count (or several, side by side) through the page
 * replacement policies of `@mmkit/replay` — FIFO, CLOCK, LRU, OPT, LFU, ARC, 2Q, SIEVE, two-list,
 * WSClock — one reference at a time, with each policy's own state (`policy.state()`: eviction
 * order, clock hand, referenced bits, lists such as ARC's T1/T2/B1/B2 and scalars such as ARC's p),
 * hits and faults. "Belady's anomaly" loads FIFO on 1 2 3 4 1 2 5 1 2 3 4 5 with 3 and 4 frames.
 * Lazily loaded: this module and `@mmkit/replay` are fetched when the tab is first opened.
 */
import { Fragment } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  BELADY,
  faultsAt,
  POLICY_NAMES,
  type PolicyName,
  type PolicyRun,
  parseFrames,
  parseReferences,
  runAll,
} from '../replacement.js';

const LABELS: Record<PolicyName, string> = {
  fifo: 'FIFO',
  clock: 'CLOCK',
  lru: 'LRU',
  opt: 'OPT',
  lfu: 'LFU',
  arc: 'ARC',
  '2q': '2Q',
  sieve: 'SIEVE',
  'two-list': 'two-list',
  wsclock: 'WSClock',
};

/** What the view shows, as the link carries it. */
export interface ReplacementLinkState {
  readonly refs: string;
  readonly frames: string;
  readonly policies: string;
  readonly at: number;
}

/**
 * The Replacement view: `initial` comes from the link; `onChange` hears every change, so the
 * address bar links to exactly what is on screen.
 */
export function ReplacementView({
  initial,
  onChange,
}: {
  initial?: ReplacementLinkState | undefined;
  onChange?: (s: ReplacementLinkState) => void;
}) {
  const [refsText, setRefsText] = useState(initial?.refs ?? '7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1');
  const [framesText, setFramesText] = useState(initial?.frames ?? '3');
  const [policies, setPolicies] = useState<PolicyName[]>(() => {
    const named = (initial?.policies ?? '').split(',');
    const known = POLICY_NAMES.filter((p) => named.includes(p));
    return known.length > 0 ? known : ['fifo', 'clock', 'lru', 'opt'];
  });
  const [position, setPosition] = useState(initial?.at ?? 0);
  const model = useMemo(() => {
    try {
      const refs = parseReferences(refsText);
      const frames = parseFrames(framesText);
      if (policies.length === 0) throw new Error('no policy is chosen; expected at least one');
      return { refs, runs: runAll(policies, frames, refs), error: '' };
    } catch (e) {
      return { refs: [] as number[], runs: [] as PolicyRun[], error: (e as Error).message };
    }
  }, [refsText, framesText, policies]);
  const n = model.refs.length;
  const pos = Math.min(position, n);
  useEffect(() => {
    onChange?.({ refs: refsText, frames: framesText, policies: policies.join(','), at: pos });
  }, [refsText, framesText, policies, pos, onChange]);
  const go = (p: number) => setPosition(Math.max(0, Math.min(n, p)));
  const onKey = (e: KeyboardEvent) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
    if (e.key === 'ArrowRight') go(pos + 1);
    else if (e.key === 'ArrowLeft') go(pos - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(n);
    else return;
    e.preventDefault();
  };
  return (
    <section aria-labelledby="replacement-h" class="view" onKeyDown={onKey}>
      <h2 id="replacement-h">Page replacement</h2>
      <form class="replacement-form" aria-label="Reference string" onSubmit={(e) => e.preventDefault()}>
        <p>
          <label>
            References{' '}
            <input
              name="refs"
              size={40}
              value={refsText}
              spellcheck={false}
              onInput={(e) => {
                setRefsText((e.target as HTMLInputElement).value);
                setPosition(0);
              }}
            />
          </label>{' '}
          <label>
            Frames{' '}
            <input
              name="frames"
              size={6}
              value={framesText}
              onInput={(e) => {
                setFramesText((e.target as HTMLInputElement).value);
                setPosition(0);
              }}
            />
          </label>{' '}
          <button
            type="button"
            onClick={() => {
              setRefsText(BELADY.references);
              setFramesText(BELADY.frames);
              setPolicies([...BELADY.policies]);
              setPosition(0);
            }}
          >
            Belady's anomaly
          </button>
        </p>
        <fieldset class="policies">
          <legend>Policies</legend>
          {POLICY_NAMES.map((p) => (
            <label key={p}>
              <input
                type="checkbox"
                checked={policies.includes(p)}
                onChange={(e) => {
                  const on = (e.target as HTMLInputElement).checked;
                  setPolicies(POLICY_NAMES.filter((q) => (q === p ? on : policies.includes(q))));
                }}
              />{' '}
              {LABELS[p]}
            </label>
          ))}
        </fieldset>
      </form>
      {model.error ? (
        <p role="alert" class="error">
          {model.error}
        </p>
      ) : (
        <>
          <nav class="timebar" aria-label="Reference steps">
            <button type="button" onClick={() => go(0)} aria-label="First reference (Home)">
              ⏮
            </button>
            <button type="button" onClick={() => go(pos - 1)} aria-label="Previous reference (←)">
              ◀
            </button>
            <span data-testid="replacement-position">
              reference {pos} / {n}
            </span>
            <button type="button" onClick={() => go(pos + 1)} aria-label="Next reference (→)">
              ▶
            </button>
            <button type="button" onClick={() => go(n)} aria-label="Last reference (End)">
              ⏭
            </button>
          </nav>
          <ol class="refs" aria-label="The reference string">
            {model.refs.map((r, i) => (
              <li key={i} class={i === pos - 1 ? 'ref current' : i < pos ? 'ref done' : 'ref'}>
                {r}
              </li>
            ))}
          </ol>
          <div class="cols">
            {model.runs.map((run) => (
              <PolicyCard key={`${run.policy}-${run.frames}`} run={run} pos={pos} refs={model.refs} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

function PolicyCard({ run, pos, refs }: { run: PolicyRun; pos: number; refs: readonly number[] }) {
  const s = run.states[pos]!;
  const faults = faultsAt(run, pos);
  const name = `${LABELS[run.policy]}, ${run.frames} frames`;
  const ref = new Set(s.referenced);
  const last =
    pos > 0 ? { key: refs[pos - 1]!, hit: run.hits[pos - 1]!, evicted: run.evicted[pos - 1]! } : null;
  return (
    <article aria-label={name} class="policy">
      <h3>{name}</h3>
      <p>
        <span data-testid="faults">{faults}</span> faults, {pos - faults} hits
        {pos > 0 ? ` (fault ratio ${((faults / pos) * 100).toFixed(0)} %)` : ''}
      </p>
      <p data-testid="last-reference">
        {last
          ? `${last.key}: ${last.hit ? 'hit' : last.evicted >= 0 ? `fault, evicts ${last.evicted}` : 'fault'}`
          : 'no reference yet'}
      </p>
      <ol aria-label={`${name}: hits and faults`} class="marks">
        {run.hits.slice(0, pos).map((h, i) => (
          <li key={i} class={h ? 'hit' : 'miss'} title={`${refs[i]}: ${h ? 'hit' : 'fault'}`}>
            {h ? '·' : 'F'}
          </li>
        ))}
      </ol>
      <dl class="policy-state">
        <dt>resident, in eviction order</dt>
        <dd>
          {s.resident.length === 0
            ? 'empty'
            : s.resident.map((k, i) => (
                <span key={k} class="frame">
                  {i === s.hand ? '▸' : ''}
                  {k}
                  {ref.has(k) ? '*' : ''}
                </span>
              ))}
        </dd>
        {Object.entries(s.lists)
          .filter(([, keys]) => keys !== s.resident)
          .map(([list, keys]) => (
            <Fragment key={list}>
              <dt>{list}</dt>
              <dd>{keys.length ? keys.join(' ') : '—'}</dd>
            </Fragment>
          ))}
        {Object.entries(s.values).map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
      </dl>
      {s.hand >= 0 || s.referenced.length > 0 ? (
        <p class="hint">▸ the clock hand; * referenced bit set</p>
      ) : null}
    </article>
  );
}
