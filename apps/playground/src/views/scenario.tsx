/**
 * Scenarios: the shipped `@mmkit/scenario` examples on any board and paging format, a scenario file
 * (YAML or JSON, as `mmkit run` takes it) pasted or dropped, and steps added by hand.
 */
import { EXAMPLE_SCENARIOS, type Scenario, type ScenarioStep, STEP_OPS } from '@mmkit/scenario';
import { useState } from 'preact/hooks';
import type { ArchChoice, ProcessView } from '../worker/engine.js';
import { EXAMPLE_IDS, type ScenarioRef } from '../worker/scenario.js';

/** Boards, in picker order. */
export const BOARDS = ['virt', 'rpi4b', 'pc'] as const;
/** A board id. */
export type BoardChoice = (typeof BOARDS)[number];
/** Paging formats, in picker order. */
export const ARCHS: readonly ArchChoice[] = ['aarch64', 'x86_64', 'x86_64-la57', 'x86-pae', 'x86-32'];

/** Boards and the paging formats each runs. */
export const BOARD_ARCHS: Record<BoardChoice, readonly ArchChoice[]> = {
  virt: ['aarch64'],
  rpi4b: ['aarch64'],
  pc: ['x86_64', 'x86_64-la57', 'x86-pae', 'x86-32'],
};

/** Board, paging format and RAM pickers. */
export function ConfigPicker({
  value,
  onChange,
  label,
}: {
  value: { board: BoardChoice; arch: ArchChoice; ram: string };
  onChange: (v: { board: BoardChoice; arch: ArchChoice; ram: string }) => void;
  label: string;
}) {
  return (
    <fieldset>
      <legend>{label}</legend>
      <label>
        Board{' '}
        <select
          aria-label={`${label} board`}
          value={value.board}
          onChange={(e) => {
            const board = (e.target as HTMLSelectElement).value as BoardChoice;
            onChange({ ...value, board, arch: BOARD_ARCHS[board][0]!, ram: '' });
          }}
        >
          {BOARDS.map((b) => (
            <option key={b}>{b}</option>
          ))}
        </select>
      </label>{' '}
      <label>
        Paging{' '}
        <select
          aria-label={`${label} paging format`}
          value={value.arch}
          onChange={(e) => onChange({ ...value, arch: (e.target as HTMLSelectElement).value as ArchChoice })}
        >
          {ARCHS.filter((a) => BOARD_ARCHS[value.board].includes(a)).map((a) => (
            <option key={a}>{a}</option>
          ))}
        </select>
      </label>{' '}
      <label>
        RAM{' '}
        <select
          aria-label={`${label} RAM`}
          value={value.ram}
          onChange={(e) => onChange({ ...value, ram: (e.target as HTMLSelectElement).value })}
        >
          <option value="">board default</option>
          {(value.board === 'rpi4b' ? ['1G', '2G', '4G', '8G'] : ['128M', '512M', '2G', '8G']).map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </label>
    </fieldset>
  );
}

/** The fields of the add-a-step form each op takes (`addr` is `to` for brk, `value` is `text` for copy-to-user). */
const FORM_FIELDS: Readonly<Record<string, readonly string[]>> = {
  spawn: ['as'],
  mmap: ['process', 'length', 'prot', 'as', 'addr'],
  munmap: ['process', 'addr', 'length'],
  mprotect: ['process', 'addr', 'length', 'prot'],
  brk: ['process', 'addr'],
  touch: ['process', 'addr', 'length'],
  read: ['process', 'addr'],
  write: ['process', 'addr', 'value'],
  fetch: ['process', 'addr'],
  'copy-to-user': ['process', 'addr', 'value'],
  'copy-from-user': ['process', 'addr', 'length'],
  fork: ['process', 'as'],
  exec: ['process'],
  exit: ['process'],
  maps: ['process'],
  dump: ['process'],
};

/** Ops the form offers (mremap needs two lengths: write it in a scenario file). */
export const FORM_OPS = STEP_OPS.filter((op) => op in FORM_FIELDS);

/**
 * Maps the add-a-step form onto a `@mmkit/scenario` step: only the fields `op` takes, non-empty,
 * numbers as numbers. The worker validates the result like a scenario file's step.
 */
export function formToStep(form: Readonly<Record<string, string>>): ScenarioStep {
  const op = form.op ?? '';
  const out: Record<string, unknown> = { op };
  for (const f of FORM_FIELDS[op] ?? []) {
    const v = (form[f] ?? '').trim();
    if (v === '') continue;
    const key = f === 'addr' && op === 'brk' ? 'to' : f === 'value' && op === 'copy-to-user' ? 'text' : f;
    out[key] = f === 'value' && op === 'write' && /^\d+$/.test(v) ? Number(v) : v;
  }
  return out as unknown as ScenarioStep;
}

/** The scenario view. */
export function ScenarioView({
  scenario,
  current,
  processes,
  onOpen,
  onAppend,
}: {
  scenario: Scenario;
  current: ScenarioRef;
  processes: readonly ProcessView[];
  /** Opens a scenario; the promise rejects with the worker's message (a ScenarioError's). */
  onOpen: (r: ScenarioRef) => Promise<unknown>;
  onAppend: (s: ScenarioStep) => Promise<unknown>;
}) {
  const [cfg, setCfg] = useState({
    board: scenario.board as BoardChoice,
    arch: (scenario.arch ?? 'aarch64') as ArchChoice,
    ram: String(scenario.ram ?? ''),
  });
  const [own, setOwn] = useState(!current.board);
  const [text, setText] = useState(() => (current.text !== undefined ? current.text : ''));
  const [error, setError] = useState('');
  const live = processes.filter((p) => p.state === 'running');
  const [step, setStep] = useState<Record<string, string>>({
    op: 'mmap',
    process: live[0]?.name ?? '',
    length: '2 pages',
    prot: 'rw-',
    addr: '',
    as: '',
    value: '',
  });
  const overrides = (): Omit<ScenarioRef, 'example' | 'text'> =>
    own ? {} : { board: cfg.board, arch: cfg.arch, ...(cfg.ram ? { ram: cfg.ram } : {}) };
  const open = (r: ScenarioRef) =>
    onOpen(r).then(
      () => setError(''),
      (e: Error) => setError(e.message),
    );
  const add = () =>
    onAppend(formToStep(step)).then(
      () => setError(''),
      (e: Error) => setError(e.message),
    );
  const readFile = (f: File | undefined) => {
    if (!f) return;
    void f.text().then((t) => {
      setText(t);
      return open({ text: t, ...overrides() });
    });
  };
  const field = (name: string, label: string, size = 10) =>
    (FORM_FIELDS[step.op ?? ''] ?? []).includes(name) ? (
      <>
        <label>
          {label}{' '}
          <input
            name={name}
            size={size}
            value={step[name] ?? ''}
            onInput={(e) => setStep({ ...step, [name]: (e.target as HTMLInputElement).value })}
          />
        </label>{' '}
      </>
    ) : null;
  return (
    <section aria-labelledby="scenario-h" class="view">
      <h2 id="scenario-h">Scenarios</h2>
      <label>
        <input type="checkbox" checked={own} onChange={() => setOwn(!own)} /> run on the scenario's own
        machine
      </label>
      {own ? null : <ConfigPicker value={cfg} onChange={setCfg} label="Machine" />}
      <ul class="examples" aria-label="Example scenarios">
        {EXAMPLE_IDS.map((id) => {
          const ex = EXAMPLE_SCENARIOS.find((e) => e.id === id)!;
          return (
            <li key={id}>
              <button type="button" onClick={() => void open({ example: id, ...overrides() })}>
                Run {id}
              </button>{' '}
              {ex.summary}
            </li>
          );
        })}
      </ul>
      <form
        aria-label="Add a step"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <fieldset>
          <legend>Add a step at the current position (later steps are dropped)</legend>
          <label>
            Operation{' '}
            <select
              name="op"
              value={step.op}
              onChange={(e) => setStep({ ...step, op: (e.target as HTMLSelectElement).value })}
            >
              {FORM_OPS.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>{' '}
          {field('process', 'process', 8)}
          {field('addr', step.op === 'brk' ? 'to' : 'address', 16)}
          {field('length', 'length', 8)}
          {field('prot', 'prot', 4)}
          {field('value', step.op === 'copy-to-user' ? 'text' : 'value', 10)}
          {field('as', 'as', 8)}
          <button type="submit">Add step</button>
        </fieldset>
        <p class="hint">
          Processes: {live.map((p) => p.name).join(', ') || 'none yet (spawn one, as: init)'}. Addresses:{' '}
          <code>0x4000</code>, <code>heap+0x1000</code>, <code>stack-top-8</code>, <code>stack-low</code>,{' '}
          <code>text</code>, <code>wild</code> or the <code>as</code> of an earlier mmap. Sizes:{' '}
          <code>4096</code>, <code>12K</code>, <code>3 pages</code>. Permissions: <code>rw-</code>,{' '}
          <code>r-x</code>.
        </p>
      </form>
      <form
        aria-label="Run a scenario file"
        onSubmit={(e) => {
          e.preventDefault();
          void open({ text, ...overrides() });
        }}
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          e.preventDefault();
          readFile(e.dataTransfer?.files[0]);
        }}
      >
        <label for="scenario-text">
          Scenario file (YAML or JSON, as mmkit run takes it): paste or drop it here
        </label>
        <textarea
          id="scenario-text"
          rows={10}
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
        <input
          type="file"
          aria-label="Open a scenario file"
          accept=".yaml,.yml,.json"
          onChange={(e) => readFile((e.target as HTMLInputElement).files?.[0])}
        />{' '}
        <button type="submit">Run this scenario</button>
      </form>
      {error ? (
        <p role="alert" class="error">
          {error}
        </p>
      ) : null}
    </section>
  );
}
