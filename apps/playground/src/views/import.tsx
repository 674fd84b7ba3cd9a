/** Import/export: drop a mmkit-translation-state/1 export to browse and walk it; export the current state. */
import { useState } from 'preact/hooks';
import type { Client } from '../client.js';
import type { ImportedEntryView, ImportedView, WalkView } from '../worker/engine.js';
import { Fields } from './fields.js';
import { WalkForm, WalkOutcome, type WalkQuery } from './walk.js';

/** The import/export view. */
export function ImportView({ client, pids }: { client: Client; pids: readonly number[] }) {
  const [text, setText] = useState('');
  const [view, setView] = useState<ImportedView | null>(null);
  const [walk, setWalk] = useState<WalkView | null>(null);
  const [error, setError] = useState('');
  const [exportPid, setExportPid] = useState<number | null>(pids[0] ?? null);
  const load = (t: string) => {
    setText(t);
    client
      .call({ type: 'import', text: t })
      .then((v) => {
        setView(v);
        setWalk(null);
        setError('');
      })
      .catch((e: Error) => setError(e.message));
  };
  const doExport = () => {
    client
      .call({ type: 'export', pid: exportPid })
      .then((t) => {
        setText(t);
        const a = document.createElement('a');
        a.href = URL.createObjectURL(new Blob([t], { type: 'application/json' }));
        a.download = `mmkit-state-${exportPid ?? 'kernel'}.json`;
        a.click();
        URL.revokeObjectURL(a.href);
      })
      .catch((e: Error) => setError(e.message));
  };
  const onWalk = (q: WalkQuery) =>
    client
      .call({ type: 'walkImported', va: q.va, access: q.access, privilege: q.privilege })
      .then((w) => {
        setWalk(w);
        setError('');
      })
      .catch((e: Error) => setError(e.message));
  return (
    <section aria-labelledby="import-h" class="view">
      <h2 id="import-h">Import / export</h2>
      <p>
        <label>
          Export{' '}
          <select
            aria-label="Process to export"
            value={exportPid ?? ''}
            onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              setExportPid(v === '' ? null : Number(v));
            }}
          >
            <option value="">kernel only</option>
            {pids.map((p) => (
              <option key={p} value={p}>
                pid {p}
              </option>
            ))}
          </select>
        </label>{' '}
        <button type="button" onClick={doExport}>
          Export translation state
        </button>
      </p>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: dropping a file is a mouse shortcut; the file input and the text box inside are the keyboard way */}
      <div
        class="drop"
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          e.preventDefault();
          e.dataTransfer?.files[0]?.text().then(load);
        }}
      >
        <label for="import-file">Drop a mmkit-translation-state/1 file here, or choose one: </label>
        <input
          id="import-file"
          type="file"
          accept=".json,application/json"
          onChange={(e) => (e.target as HTMLInputElement).files?.[0]?.text().then(load)}
        />
        <label for="import-text">…or paste it:</label>
        <textarea
          id="import-text"
          rows={6}
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
        <button type="button" onClick={() => load(text)}>
          Import
        </button>
      </div>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
      {view ? (
        <div data-testid="imported">
          <h3>
            {view.arch} on {view.machine}
            {view.pid === null ? ', kernel only' : `, pid ${view.pid}`}: {view.tables.length} tables
          </h3>
          <p>
            {Object.entries(view.registers)
              .map(([k, v]) => `${k}=${v}`)
              .join('  ')}
          </p>
          <ul class="tree" aria-label="Imported tables">
            {view.tables.map((t) => (
              <li key={t.pa}>
                <ImportedTable
                  client={client}
                  pa={t.pa}
                  title={`${t.level} ${t.pa} (${t.owner}, ${t.present} entries)`}
                />
              </li>
            ))}
          </ul>
          <WalkForm pids={null} initial={{ pid: 0, va: '0x0', access: 0, privilege: 0 }} onWalk={onWalk} />
          {walk ? <WalkOutcome w={walk} /> : null}
        </div>
      ) : null}
    </section>
  );
}

/** One imported table: its entries are fetched and decoded when it is opened. */
function ImportedTable({ client, pa, title }: { client: Client; pa: string; title: string }) {
  const [entries, setEntries] = useState<ImportedEntryView[] | null>(null);
  const [error, setError] = useState('');
  return (
    <details
      onToggle={(e) => {
        if (!(e.currentTarget as HTMLDetailsElement).open || entries) return;
        client
          .call({ type: 'importedTable', pa })
          .then(setEntries)
          .catch((err: Error) => setError(err.message));
      }}
    >
      <summary>{title}</summary>
      {error ? <p role="alert">{error}</p> : null}
      {entries ? (
        <ul class="tree">
          {entries.map((x) => (
            <li key={x.index}>
              <details>
                <summary>
                  [{x.index}] <code>{x.raw}</code> {x.kind}
                  {x.target ? ` → ${x.target}` : ''}
                </summary>
                <Fields fields={x.fields} label={`Bits of entry ${x.index} of ${pa}`} />
              </details>
            </li>
          ))}
        </ul>
      ) : null}
    </details>
  );
}
