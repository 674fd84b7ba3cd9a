/**
 * Page tables: each process's tree, or the kernel's own (the TTBR1 half on AArch64, the kernel half
 * of the root on x86), level by level in the architecture's names, every entry decoded.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Client } from '../client.js';
import type { TableEntryView } from '../worker/engine.js';
import type { Snapshot } from '../worker/protocol.js';
import { Fields } from './fields.js';

/** The page-table view. */
export function TablesView({ snap, client }: { snap: Snapshot; client: Client }) {
  const live = snap.processes.filter((p) => p.state === 'running');
  const [pid, setPid] = useState<number | 'kernel' | undefined>(live[0]?.pid);
  const chosen: number | 'kernel' =
    pid === 'kernel' || live.some((p) => p.pid === pid) ? pid! : (live[0]?.pid ?? 'kernel');
  const kernelLabel =
    snap.machine.arch === 'aarch64'
      ? 'kernel (TTBR1_EL1 half)'
      : `kernel (kernel half of the ${snap.machine.levelNames[0]})`;
  const [rows, setRows] = useState<TableEntryView[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    let on = true;
    setRows([]);
    (chosen === 'kernel'
      ? client.call({ type: 'kernelTables' })
      : client.call({ type: 'tables', pid: chosen })
    )
      .then((r) => {
        if (!on) return;
        setRows(r);
        setError('');
      })
      .catch((e: Error) => on && setError(e.message));
    return () => {
      on = false;
    };
  }, [chosen, snap, client]);
  return (
    <section aria-labelledby="tables-h" class="view">
      <h2 id="tables-h">Page tables</h2>
      <label>
        Tables of{' '}
        <select
          value={String(chosen)}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            setPid(v === 'kernel' ? 'kernel' : Number(v));
          }}
        >
          {live.map((p) => (
            <option key={p.pid} value={p.pid}>
              pid {p.pid} ({p.name})
            </option>
          ))}
          <option value="kernel">{kernelLabel}</option>
        </select>
      </label>
      <p>
        Levels: {snap.machine.levelNames.join(' → ')}. {rows.length} present entries. Open an entry for its
        bits.
      </p>
      {error ? <p role="alert">{error}</p> : null}
      <ul
        class="tree"
        aria-label={chosen === 'kernel' ? 'Kernel page tables' : `Page tables of pid ${chosen}`}
      >
        {rows.map((r) => (
          <li key={`${r.descriptorPa}`} style={{ marginLeft: `${r.depth * 1.2}em` }} class={r.kind}>
            <details>
              <summary>
                <span class="lvl">{r.levelName}</span>[{r.index}] <code>{r.va}</code> <code>{r.raw}</code>{' '}
                {r.kind}
                {r.target ? ` → ${r.target}` : ''}
                {r.effective ? <span class="eff"> {r.effective}</span> : null}
              </summary>
              <p>
                descriptor at PA <code>{r.descriptorPa}</code>
              </p>
              <Fields fields={r.fields} label={`Bits of ${r.levelName}[${r.index}]`} />
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}
