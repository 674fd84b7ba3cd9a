/**
 * The playground app: a tab per view, a timeline bar (step back and forth = re-run to step N, play,
 * jump to the next fault), the shareable URL kept in the hash. The kernel runs in a worker; the UI
 * only draws snapshots.
 */

import type { ScenarioStep } from '@mmkit/scenario';
import type { ComponentType } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Client } from './client.js';
import { decodeHash, encodeHash, type ReplacementState, VIEWS, type ViewId } from './url-state.js';
import { CompareView } from './views/compare.js';
import { ImportView } from './views/import.js';
import { MachineView } from './views/machine.js';
import { ScenarioView } from './views/scenario.js';
import { SpacesView } from './views/spaces.js';
import { TablesView } from './views/tables.js';
import { TimelineView } from './views/timeline.js';
import { TlbView } from './views/tlb.js';
import { WalkForm, WalkOutcome, type WalkQuery } from './views/walk.js';
import type { WalkView } from './worker/engine.js';
import type { Snapshot } from './worker/protocol.js';
import type { ScenarioRef } from './worker/scenario.js';

const VIEW_NAMES: Record<ViewId, string> = {
  machine: 'Machine',
  spaces: 'Address spaces',
  tables: 'Page tables',
  walk: 'Walk',
  tlb: 'TLBs',
  timeline: 'Timeline',
  scenario: 'Scenarios',
  compare: 'Compare',
  import: 'Import/export',
  replacement: 'Replacement',
};

/** The app. `client` talks to the kernel worker. */
export function App({ client }: { client: Client }) {
  const [snap, setSnap] = useState<Snapshot | null>(null);
  const [view, setView] = useState<ViewId>('machine');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(600);
  const [follow, setFollow] = useState(true);
  const [walkQuery, setWalkQuery] = useState<WalkQuery>({ pid: 1, va: 'heap', access: 0, privilege: 0 });
  const [walk, setWalk] = useState<WalkView | null>(null);
  const lastHash = useRef('');
  // Where the timeline is going: clicks and keys while the worker is busy step from here, not from
  // the last snapshot drawn, so five quick presses of ▶ are five steps.
  const target = useRef(0);
  const inflight = useRef(0);
  // Steps in the open scenario (a ref, so handlers registered before the last render see it).
  const steps = useRef(0);
  const tabRefs = useRef<(HTMLButtonElement | null)[]>([]);
  // The Replacement view (with @mmkit/replay) is not on the first screen: fetched when first opened.
  const [Replacement, setReplacement] = useState<ComponentType<{
    initial: ReplacementState | undefined;
    onChange: (s: ReplacementState) => void;
  }> | null>(null);
  // What the Replacement view shows (for the link); set from the link and by the view.
  const [replacement, setReplacementState] = useState<ReplacementState | undefined>(undefined);
  useEffect(() => {
    if (view !== 'replacement' || Replacement) return;
    import('./views/replacement.js').then(
      (m) => setReplacement(() => m.ReplacementView),
      (e: Error) => setError(`the Replacement view did not load: ${e.message}`),
    );
  }, [view, Replacement]);

  const runWalk = useCallback(
    (q: WalkQuery) => {
      setWalkQuery(q);
      client
        .call({ type: 'walk', ...q })
        .then((w) => {
          setWalk(w);
          setError('');
        })
        .catch((e: Error) => {
          setWalk(null);
          setError(e.message);
        });
    },
    [client],
  );

  const show = useCallback(
    (s: Snapshot, followStep: boolean) => {
      setSnap(s);
      steps.current = s.scenario.steps.length;
      setError('');
      const r = s.records[s.position - 1];
      if (r) {
        if (followStep) setView(r.focus);
        // The walk explainer always starts at the address the current step touched.
        if (r.va !== undefined && r.pid !== undefined) {
          const q: WalkQuery = {
            pid: r.pid,
            va: r.va,
            access: r.op === 'write' || r.op === 'touch' ? 1 : r.op === 'fetch' ? 2 : 0,
            privilege: 0,
          };
          if (s.processes.some((p) => p.pid === r.pid && p.state === 'running')) runWalk(q);
          else {
            setWalkQuery(q);
            setWalk(null);
          }
        }
      }
    },
    [runWalk],
  );

  const request = useCallback(
    (p: Promise<Snapshot>, followStep: boolean, reportErrors = true) => {
      setBusy(true);
      inflight.current++;
      const settle = () => {
        inflight.current--;
        setBusy(inflight.current > 0);
      };
      return p.then(
        (s) => {
          settle();
          // Once every request has been answered, the timeline is where the last answer says.
          if (inflight.current === 0) target.current = s.position;
          show(s, followStep);
        },
        (e: Error) => {
          settle();
          // A view that asked shows the error itself (next to the form that caused it).
          if (reportErrors) setError(e.message);
        },
      );
    },
    [show],
  );

  const openFromHash = useCallback(() => {
    const st = decodeHash(location.hash);
    setView(st.view);
    setReplacementState(st.replacement);
    target.current = st.position;
    request(client.call({ type: 'open', ref: st.ref, position: st.position }), false).then(() => {
      if (st.error) setError(st.error);
      document.body.dataset.ready = 'true';
    });
  }, [client, request]);

  useEffect(() => {
    openFromHash();
    const onHash = () => {
      if (location.hash !== lastHash.current) openFromHash();
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, [openFromHash]);

  useEffect(() => {
    if (!snap) return;
    const h = encodeHash({
      ref: snap.ref,
      position: snap.position,
      view,
      ...(replacement ? { replacement } : {}),
    });
    if (h !== location.hash) {
      lastHash.current = h;
      history.replaceState(null, '', h);
    }
  }, [snap, view, replacement]);

  const total = snap?.scenario.steps.length ?? 0;
  const pos = snap?.position ?? 0;
  const goto = useCallback(
    (p: number) => {
      target.current = Math.max(0, Math.min(p, steps.current));
      return request(client.call({ type: 'goto', position: target.current }), follow);
    },
    [client, request, follow],
  );
  const stepBy = useCallback((d: number) => goto(target.current + d), [goto]);

  useEffect(() => {
    if (!playing) return;
    if (pos >= total) {
      setPlaying(false);
      return;
    }
    const t = setTimeout(() => goto(pos + 1), speed);
    return () => clearTimeout(t);
  }, [playing, pos, total, speed, goto]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest('input, textarea, select, [contenteditable]') || e.ctrlKey || e.metaKey || e.altKey)
        return;
      if (e.key === ']') stepBy(1);
      else if (e.key === '[') stepBy(-1);
      else if (e.key === 'f') request(client.call({ type: 'nextFault' }), follow);
      else if (e.key === 'p') setPlaying((x) => !x);
      else return;
      e.preventDefault();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [stepBy, request, client, follow]);

  const onTabKey = (e: KeyboardEvent, i: number) => {
    const n = VIEWS.length;
    const j =
      e.key === 'ArrowRight'
        ? (i + 1) % n
        : e.key === 'ArrowLeft'
          ? (i + n - 1) % n
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? n - 1
              : -1;
    if (j < 0) return;
    e.preventDefault();
    setView(VIEWS[j]!);
    tabRefs.current[j]?.focus();
  };

  const live = snap ? snap.processes.filter((p) => p.state === 'running').map((p) => p.pid) : [];
  const current = snap?.records[pos - 1];

  return (
    <>
      <header>
        <h1>mmkit playground</h1>
        {snap ? (
          <p class="machine-line">
            {snap.machine.boardName} · {snap.machine.archName}
          </p>
        ) : null}
      </header>
      <nav class="timebar" aria-label="Timeline controls">
        <button type="button" onClick={() => goto(0)} disabled={!snap || pos === 0} aria-label="Back to boot">
          boot
        </button>
        <button
          type="button"
          onClick={() => stepBy(-1)}
          disabled={!snap || pos === 0}
          aria-label="Step back ([)"
        >
          ◀
        </button>
        <span class="pos" role="status" aria-live="polite" data-testid="position">
          step {pos} / {total}
        </span>
        <button
          type="button"
          onClick={() => stepBy(1)}
          disabled={!snap || pos >= total}
          aria-label="Step forward (])"
        >
          ▶
        </button>
        <button
          type="button"
          onClick={() => setPlaying(!playing)}
          disabled={!snap}
          aria-pressed={playing}
          aria-label="Play (p)"
        >
          {playing ? 'pause' : 'play'}
        </button>
        <label>
          speed{' '}
          <select value={speed} onChange={(e) => setSpeed(Number((e.target as HTMLSelectElement).value))}>
            <option value={1200}>slow</option>
            <option value={600}>normal</option>
            <option value={150}>fast</option>
          </select>
        </label>
        <button
          type="button"
          onClick={() => request(client.call({ type: 'nextFault' }), follow)}
          disabled={!snap || pos >= total}
          aria-label="Jump to the next fault (f)"
        >
          next fault
        </button>
        <label>
          <input type="checkbox" checked={follow} onChange={() => setFollow(!follow)} /> follow the step
        </label>
        {busy ? <span aria-live="polite">running…</span> : null}
      </nav>
      {current ? (
        <p class={`current-step ${current.ok ? '' : 'failed'}`} data-testid="current-step">
          <strong>
            {current.index + 1}. {current.title}
          </strong>{' '}
          — {current.outcome}
        </p>
      ) : (
        <p class="current-step">Booted; no step run yet. Press ▶ or ] to run the first step.</p>
      )}
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
      <div role="tablist" aria-label="Views" class="tabs">
        {VIEWS.map((v, i) => (
          <button
            key={v}
            type="button"
            role="tab"
            id={`tab-${v}`}
            aria-selected={view === v}
            aria-controls="panel"
            tabIndex={view === v ? 0 : -1}
            ref={(el) => {
              tabRefs.current[i] = el;
            }}
            onClick={() => setView(v)}
            onKeyDown={(e) => onTabKey(e, i)}
          >
            {VIEW_NAMES[v]}
          </button>
        ))}
      </div>
      <main id="panel" role="tabpanel" aria-labelledby={`tab-${view}`}>
        {view === 'replacement' ? (
          Replacement ? (
            <Replacement initial={replacement} onChange={setReplacementState} />
          ) : (
            <p>Loading the replacement policies…</p>
          )
        ) : !snap ? (
          <p>Booting the kernel…</p>
        ) : view === 'machine' ? (
          <MachineView snap={snap} client={client} />
        ) : view === 'spaces' ? (
          <SpacesView snap={snap} />
        ) : view === 'tables' ? (
          <TablesView snap={snap} client={client} />
        ) : view === 'walk' ? (
          <section aria-labelledby="walk-h" class="view">
            <h2 id="walk-h">Walk explainer</h2>
            {live.length === 0 ? <p>No live process to walk: step back, or spawn one.</p> : null}
            <WalkForm key={JSON.stringify(walkQuery)} pids={live} initial={walkQuery} onWalk={runWalk} />
            {walk ? <WalkOutcome w={walk} /> : null}
          </section>
        ) : view === 'tlb' ? (
          <TlbView
            snap={snap}
            onOpen={(r: ScenarioRef) => {
              void request(client.call({ type: 'open', ref: r, position: 0 }), false, false);
            }}
          />
        ) : view === 'timeline' ? (
          <TimelineView snap={snap} onGoto={goto} />
        ) : view === 'scenario' ? (
          <ScenarioView
            scenario={snap.scenario}
            current={snap.ref}
            processes={snap.processes}
            onOpen={(r: ScenarioRef) => {
              const p = client.call({ type: 'open', ref: r, position: 0 });
              void request(p, false, false);
              return p;
            }}
            onAppend={(st: ScenarioStep) => {
              const p = client.call({ type: 'append', step: st });
              void request(p, false, false);
              return p;
            }}
          />
        ) : view === 'compare' ? (
          <CompareView scenario={snap.scenario} current={snap.ref} client={client} />
        ) : (
          <ImportView client={client} pids={live} />
        )}
      </main>
      <footer>
        Keys: <kbd>[</kbd> back, <kbd>]</kbd> forward, <kbd>p</kbd> play, <kbd>f</kbd> next fault; arrow keys
        move between tabs. {snap ? `Worker: ${snap.elapsedMs} ms for the last step.` : ''}
      </footer>
    </>
  );
}
