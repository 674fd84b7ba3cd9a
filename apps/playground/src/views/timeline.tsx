/** Timeline: every step and its events; the current position is marked. */
import type { Snapshot } from '../worker/protocol.js';

/** The timeline view; `onGoto` travels to a position. */
export function TimelineView({ snap, onGoto }: { snap: Snapshot; onGoto: (p: number) => void }) {
  const steps = snap.scenario.steps;
  return (
    <section aria-labelledby="timeline-h" class="view">
      <h2 id="timeline-h">Timeline</h2>
      <ol class="timeline">
        {steps.map((s, i) => {
          const r = snap.records[i];
          const cls = r ? (r.ok ? (r.faulted ? 'fault' : 'done') : 'failed') : 'future';
          return (
            <li key={`${i}-${s.op}`} class={`${cls}${i + 1 === snap.position ? ' current' : ''}`}>
              <button type="button" onClick={() => onGoto(i + 1)} aria-label={`Go to step ${i + 1}`}>
                {i + 1}
              </button>{' '}
              <strong>{r?.title ?? s.title ?? s.op}</strong>
              {r ? (
                <>
                  {' '}
                  — {r.outcome}
                  {r.events.length ? (
                    <details>
                      <summary>{r.events.length} events</summary>
                      <ul class="events">
                        {r.events.map((e, j) => (
                          <li key={j}>
                            <code>{e}</code>
                          </li>
                        ))}
                      </ul>
                    </details>
                  ) : null}
                </>
              ) : null}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
