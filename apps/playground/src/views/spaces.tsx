/** Address spaces: every process's VMAs as /proc/PID/maps, heap break and stack. */
import type { Snapshot } from '../worker/protocol.js';

/** The address-space view. */
export function SpacesView({ snap }: { snap: Snapshot }) {
  if (snap.processes.length === 0)
    return (
      <section class="view">
        <h2>Address spaces</h2>
        <p>No process yet: step forward or spawn one.</p>
      </section>
    );
  return (
    <section aria-labelledby="spaces-h" class="view">
      <h2 id="spaces-h">Address spaces</h2>
      {snap.processes.map((p) => (
        <article key={p.pid} class={`proc ${p.state}`} aria-label={`Process ${p.pid}`}>
          <h3>
            pid {p.pid} — {p.state}
            {p.killReason ? ` (${p.killReason})` : ''}
          </h3>
          {p.state === 'running' ? (
            <>
              <p>
                ASID/PCID {p.asid}; heap {p.heapBase} … brk {p.brk}; stack {p.stackLow} … {p.stackTop};{' '}
                {p.residentPages} pages resident, {p.tablePages} page-table pages
              </p>
              <pre title={`/proc/${p.pid}/maps`}>{p.maps}</pre>
            </>
          ) : null}
        </article>
      ))}
    </section>
  );
}
