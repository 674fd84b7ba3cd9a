/** TLBs per CPU, tagged with their ASID (AArch64) or PCID (x86). */
import type { Snapshot } from '../worker/protocol.js';

/** The TLB view. */
export function TlbView({ snap }: { snap: Snapshot }) {
  return (
    <section aria-labelledby="tlb-h" class="view">
      <h2 id="tlb-h">TLBs</h2>
      <div class="cols">
        {snap.tlbs.map((t) => (
          <article key={t.cpu} aria-label={`TLB of CPU ${t.cpu}`}>
            <h3>
              CPU {t.cpu} — running {t.current === null ? 'no process' : `pid ${t.current}`}
            </h3>
            <p>
              {t.entries.length} entries; {t.hits} hits, {t.misses} misses, {t.fills} fills, {t.invalidations}{' '}
              invalidations
            </p>
            <table>
              <thead>
                <tr>
                  <th scope="col">VA</th>
                  <th scope="col">PA</th>
                  <th scope="col">{t.asidName}</th>
                  <th scope="col">perms</th>
                  <th scope="col">level</th>
                </tr>
              </thead>
              <tbody>
                {t.entries.map((e) => (
                  <tr key={`${e.va}-${e.asid}`}>
                    <td>
                      <code>{e.va}</code>
                    </td>
                    <td>
                      <code>{e.pa}</code>
                    </td>
                    <td>{e.global ? 'global' : e.asid}</td>
                    <td>
                      <code>{e.perms}</code>
                    </td>
                    <td>{e.level}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </article>
        ))}
      </div>
    </section>
  );
}
