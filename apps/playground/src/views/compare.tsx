/** Compare: one scenario on two configurations side by side, differences highlighted. */

import type { Scenario } from '@mmkit/scenario';
import { useState } from 'preact/hooks';
import type { Client } from '../client.js';
import type { ArchChoice, CompareRow } from '../worker/engine.js';
import type { ScenarioRef } from '../worker/scenario.js';
import { type BoardChoice, ConfigPicker } from './scenario.js';

/** The compare view. */
export function CompareView({
  scenario,
  current,
  client,
}: {
  scenario: Scenario;
  current: ScenarioRef;
  client: Client;
}) {
  const [a, setA] = useState({
    board: scenario.board as BoardChoice,
    arch: (scenario.arch ?? 'aarch64') as ArchChoice,
    ram: String(scenario.ram ?? ''),
  });
  const [b, setB] = useState({ board: 'pc' as const, arch: 'x86_64' as const, ram: '' } as typeof a);
  const [result, setResult] = useState<{ a: string; b: string; rows: CompareRow[] } | null>(null);
  const [error, setError] = useState('');
  const cfg = (c: typeof a): ScenarioRef => {
    const { board: _b, arch: _a, ram: _r, ...which } = current;
    return { ...which, board: c.board, arch: c.arch, ...(c.ram ? { ram: c.ram } : {}) };
  };
  const run = () => {
    client
      .call({ type: 'compare', a: cfg(a), b: cfg(b) })
      .then((r) => {
        setResult(r);
        setError('');
      })
      .catch((e: Error) => setError(e.message));
  };
  return (
    <section aria-labelledby="compare-h" class="view">
      <h2 id="compare-h">Compare</h2>
      <div class="cols">
        <ConfigPicker value={a} onChange={setA} label="Left" />
        <ConfigPicker value={b} onChange={setB} label="Right" />
      </div>
      <button type="button" onClick={run}>
        Compare
      </button>
      {error ? <p role="alert">{error}</p> : null}
      {result ? (
        <table class="compare" aria-label="Comparison">
          <thead>
            <tr>
              <th scope="col">what</th>
              <th scope="col">{result.a}</th>
              <th scope="col">{result.b}</th>
            </tr>
          </thead>
          <tbody>
            {result.rows.map((r) => (
              <tr key={r.what} class={r.differs ? 'differs' : ''}>
                <th scope="row">
                  {r.what}
                  {r.differs ? <span class="sr-only"> (differs)</span> : null}
                </th>
                <td>{r.a}</td>
                <td>{r.b}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
