/**
 * Import/export: drop a mmkit-translation-state/1 export, or a raw memory image (or ELF core) with
 * its registers, to browse and walk its tables; export the current state. A file dropped anywhere
 * on the view is told apart by its first bytes ({@link classifyDrop}) and imported the way its
 * kind needs.
 */
import { useEffect, useState } from 'preact/hooks';
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
  // A memory image dropped on the view goes to the image form (its base and registers apply).
  const [dropped, setDropped] = useState<{ readonly file: File } | null>(null);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const file = e.dataTransfer?.files[0];
    if (!file) return;
    classifyDrop(file)
      .then((kind) => (kind === 'state' ? file.text().then(load) : setDropped({ file })))
      .catch((err: Error) => setError(`${file.name}: ${err.message}`));
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
    // Dropping a file is a mouse shortcut; the file inputs and the text box are the keyboard way.
    <section
      aria-labelledby="import-h"
      class="view"
      data-testid="import-view"
      onDragOver={(e) => {
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
      }}
      onDrop={onDrop}
    >
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
      <p class="hint">
        Drop a file anywhere here: a translation-state export is imported at once, a memory image or ELF core
        goes to the image form below and loads with its base address and registers.
      </p>
      <div class="drop">
        <label for="import-file">A mmkit-translation-state/1 file: </label>
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
      <ImageForm
        dropped={dropped}
        onLoad={(req) =>
          client
            .call({ type: 'importImage', ...req })
            .then((v) => {
              setView(v);
              setWalk(null);
              setError('');
            })
            .catch((e: Error) => setError(e.message))
        }
      />
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
          {view.notes && view.notes.length > 0 ? (
            <ul aria-label="Notes on the import">
              {view.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          ) : null}
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

/** Register fields of the image form, per architecture (architectural names; the CLI's short names work too). */
const IMAGE_REGISTERS = {
  aarch64: ['TTBR0_EL1', 'TTBR1_EL1', 'TCR_EL1', 'MAIR_EL1', 'SCTLR_EL1'],
  x86: ['CR0', 'CR3', 'CR4', 'EFER'],
} as const;

/** What the image form sends to the worker. */
interface ImageFields {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly base: string;
  readonly registers: Record<string, string>;
}

/**
 * A raw physical-memory image (QEMU `pmemsave`, or `mmkit`'s own) loaded at a base address, or an
 * ELF core from `dump-guest-memory`, with the registers that select its tables: the architecture
 * and paging mode come from them (x86: CR4.PAE, EFER.LMA, CR4.LA57), as `mmkit walk --from
 * image:FILE@BASE --regs …` reads them.
 */
function ImageForm({
  onLoad,
  dropped,
}: {
  onLoad: (req: ImageFields) => void;
  /** A file dropped on the view: it becomes the image and is loaded at once. */
  dropped: { readonly file: File } | null;
}) {
  const [family, setFamily] = useState<'aarch64' | 'x86'>('aarch64');
  const [file, setFile] = useState<File | null>(null);
  const [base, setBase] = useState('0x40000000');
  const [regs, setRegs] = useState<Record<string, string>>({});
  const send = (file: File | null) => {
    const registers: Record<string, string> = {};
    for (const r of IMAGE_REGISTERS[family]) registers[r] = regs[r] ?? '';
    if (!file) {
      onLoad({ name: '', bytes: new Uint8Array(0), base, registers });
      return;
    }
    file.arrayBuffer().then((b) => onLoad({ name: file.name, bytes: new Uint8Array(b), base, registers }));
  };
  const submit = (e: Event) => {
    e.preventDefault();
    send(file);
  };
  // A drop loads once, with the fields as they are then.
  useEffect(() => {
    if (!dropped) return;
    setFile(dropped.file);
    send(dropped.file);
  }, [dropped]);
  return (
    <form class="image-form" aria-label="Import a memory image" onSubmit={submit}>
      <fieldset>
        <legend>Memory image with its registers</legend>
        <p>
          <label for="image-file">Image (raw, or an ELF core): </label>
          <input
            id="image-file"
            type="file"
            onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)}
          />{' '}
          <span data-testid="image-file-name">
            {file ? `${file.name} (${file.size} bytes)` : 'or drop one on this view'}
          </span>
        </p>
        <p>
          <label>
            Base address{' '}
            <input
              name="base"
              value={base}
              spellcheck={false}
              onInput={(e) => setBase((e.target as HTMLInputElement).value)}
            />
          </label>{' '}
          <label>
            Architecture{' '}
            <select
              value={family}
              onChange={(e) => setFamily((e.target as HTMLSelectElement).value as 'aarch64' | 'x86')}
            >
              <option value="aarch64">AArch64 (TTBRn_EL1, TCR_EL1)</option>
              <option value="x86">x86 (CR0, CR3, CR4, EFER)</option>
            </select>
          </label>
        </p>
        <p class="regs">
          {IMAGE_REGISTERS[family].map((r) => (
            <label key={r}>
              {r}{' '}
              <input
                name={r}
                value={regs[r] ?? ''}
                placeholder="0x…"
                spellcheck={false}
                onInput={(e) => setRegs({ ...regs, [r]: (e.target as HTMLInputElement).value })}
              />
            </label>
          ))}
        </p>
        <button type="submit">Load image</button>
      </fieldset>
    </form>
  );
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
/** Bytes a JSON text may start with before its `{`: blanks and a UTF-8 byte-order mark. */
const JSON_LEAD = new Set([0x20, 0x09, 0x0a, 0x0d, 0xef, 0xbb, 0xbf]);

/**
 * What a dropped file is, from its first bytes: an ELF core (`\x7fELF`) or anything that is not
 * JSON text is a memory image (`image`); a file whose first non-blank byte is `{` is a
 * translation-state export (`state`).
 */
export async function classifyDrop(file: Blob): Promise<'state' | 'image'> {
  const head = new Uint8Array(await file.slice(0, 64).arrayBuffer());
  if (ELF_MAGIC.every((b, i) => head[i] === b)) return 'image';
  const first = head.findIndex((b) => !JSON_LEAD.has(b));
  return first >= 0 && head[first] === 0x7b ? 'state' : 'image';
}
