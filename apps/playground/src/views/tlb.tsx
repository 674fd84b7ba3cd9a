/**
 * TLBs per CPU, tagged with their ASID (AArch64) or PCID (x86), and the strict TLB checker's
 * verdict on every step: were the flush obligations discharged, did an access use a stale entry.
 */
import type { Snapshot } from '../worker/protocol.js';
import type { ScenarioRef } from '../worker/scenario.js';

/**
 * A scenario with a kernel bug on purpose (`drop-flushes`): CPU 1 caches a translation, the kernel
 * stops doing TLB maintenance, and the strict checker catches the munmap and the stale read.
 */
export const BROKEN_TLB_SCENARIO = `name: a kernel that skips TLB maintenance
board: virt
steps:
  - { op: spawn, as: app }
  - { op: mmap, process: app, length: 1 page, prot: rw-, as: a }
  - { op: mmap, process: app, length: 1 page, prot: rw-, as: b }
  - { op: write, process: app, addr: a, value: 1, cpu: 1, title: CPU 1 writes a (its TLB caches the translation) }
  - { op: write, process: app, addr: b, value: 2, cpu: 1, title: CPU 1 writes b (cached too) }
  - { op: munmap, process: app, addr: a, length: 1 page, title: munmap a - the kernel invalidates CPU 1's entry }
  - { op: drop-flushes, title: the kernel bug - TLB maintenance is skipped from here on }
  - { op: munmap, process: app, addr: b, length: 1 page, title: munmap b - no invalidation }
  - { op: read, process: app, addr: b, cpu: 1, title: CPU 1 reads b through its stale entry }
`;

const VERDICT_TEXT = {
  discharged: 'discharged',
  undischarged: 'FAILED: obligations not discharged',
  stale: 'FAILED: stale TLB entry used',
} as const;

/** The TLB view; `onOpen` opens another scenario (the broken-kernel one). */
export function TlbView({ snap, onOpen }: { snap: Snapshot; onOpen: (r: ScenarioRef) => void }) {
  const current = snap.records[snap.position - 1];
  const checked = snap.records.filter((r) => r.tlbCheck);
  return (
    <section aria-labelledby="tlb-h" class="view">
      <h2 id="tlb-h">TLBs</h2>
      <section aria-labelledby="strict-h">
        <h3 id="strict-h">Strict TLB checker</h3>
        <p data-testid="tlb-verdict">
          {!current
            ? 'No step has run yet.'
            : !current.tlbCheck
              ? `Step ${current.index + 1}: not checked (the scenario runs with strictTlb: false).`
              : current.tlbCheck.verdict === 'discharged'
                ? `Step ${current.index + 1}: every flush obligation discharged (${current.tlbCheck.maintenance} TLB maintenance operations), no stale entry used.`
                : `Step ${current.index + 1}: ${VERDICT_TEXT[current.tlbCheck.verdict]} — ${current.tlbCheck.detail ?? ''}`}
        </p>
        {checked.length > 0 ? (
          <table class="tlb-checks" aria-label="Strict TLB checker, step by step">
            <thead>
              <tr>
                <th scope="col">step</th>
                <th scope="col">what</th>
                <th scope="col">TLB maintenance</th>
                <th scope="col">verdict</th>
              </tr>
            </thead>
            <tbody>
              {checked.map((r) => (
                <tr
                  key={r.index}
                  class={`${r.tlbCheck!.verdict === 'discharged' ? 'verdict-ok' : 'verdict-fail'}${r.index + 1 === snap.position ? ' current' : ''}`}
                >
                  <td>{r.index + 1}</td>
                  <td>{r.title}</td>
                  <td>{r.tlbCheck!.maintenance}</td>
                  <td>{VERDICT_TEXT[r.tlbCheck!.verdict]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <p>
          <button type="button" onClick={() => onOpen({ text: BROKEN_TLB_SCENARIO })}>
            Load a kernel that skips TLB maintenance
          </button>{' '}
          (a <code>drop-flushes</code> step: the checker must catch it)
        </p>
      </section>
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
