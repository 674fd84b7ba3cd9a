/** Scenarios: the demo on any board and paging format, JSON scenarios, and steps added by hand. */
import { useState } from 'preact/hooks';
import {
  ARCHS,
  type ArchChoice,
  BOARDS,
  type BoardChoice,
  demoScenario,
  OPS,
  parseScenario,
  parseStep,
  type Scenario,
  type Step,
} from '../worker/scenario.js';

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

/** The scenario view. */
export function ScenarioView({
  scenario,
  pids,
  onOpen,
  onAppend,
}: {
  scenario: Scenario;
  pids: readonly number[];
  onOpen: (s: Scenario) => void;
  onAppend: (s: Step) => void;
}) {
  const [cfg, setCfg] = useState({
    board: scenario.board,
    arch: scenario.arch,
    ram: String(scenario.ram ?? ''),
  });
  const [json, setJson] = useState(() => JSON.stringify(scenario, null, 2));
  const [error, setError] = useState('');
  const [step, setStep] = useState<Record<string, string>>({
    op: 'mmap',
    pid: String(pids[0] ?? 1),
    length: '8192',
    prot: 'rw',
    addr: '',
    name: '',
  });
  const withCfg = (s: Scenario): Scenario => ({
    ...s,
    board: cfg.board,
    arch: cfg.arch,
    ...(cfg.ram ? { ram: cfg.ram } : { ram: undefined }),
  });
  const add = () => {
    const raw: Record<string, unknown> = { op: step.op };
    if (step.pid) raw.pid = Number(step.pid);
    if (step.addr) raw.addr = /^\d+$/.test(step.addr) ? Number(step.addr) : step.addr;
    if (step.length && ['mmap', 'munmap', 'mprotect', 'touch'].includes(step.op!))
      raw.length = Number(step.length);
    if (step.prot && ['mmap', 'mprotect'].includes(step.op!)) raw.prot = step.prot;
    if (step.name && step.op === 'mmap') raw.name = step.name;
    try {
      onAppend(parseStep(raw, 'step'));
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const field = (name: string, label: string, size = 10) => (
    <label>
      {label}{' '}
      <input
        name={name}
        size={size}
        value={step[name] ?? ''}
        onInput={(e) => setStep({ ...step, [name]: (e.target as HTMLInputElement).value })}
      />
    </label>
  );
  return (
    <section aria-labelledby="scenario-h" class="view">
      <h2 id="scenario-h">Scenarios</h2>
      <ConfigPicker value={cfg} onChange={setCfg} label="Machine" />
      <p>
        <button type="button" onClick={() => onOpen(withCfg(demoScenario()))}>
          Load the demo
        </button>
      </p>
      <form
        aria-label="Add a step"
        onSubmit={(e) => {
          e.preventDefault();
          add();
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
              {OPS.map((o) => (
                <option key={o}>{o}</option>
              ))}
            </select>
          </label>{' '}
          {field('pid', 'pid', 4)} {field('addr', 'address', 16)} {field('length', 'length', 8)}{' '}
          {field('prot', 'prot', 4)} {field('name', 'name', 8)} <button type="submit">Add step</button>
        </fieldset>
        <p class="hint">
          Addresses: <code>0x4000</code>, <code>heap+0x1000</code>, <code>stackTop-8</code>,{' '}
          <code>stackLow</code>, <code>text</code>, <code>wild</code> or the name of an earlier mmap.
        </p>
      </form>
      <form
        aria-label="Scenario JSON"
        onSubmit={(e) => {
          e.preventDefault();
          try {
            onOpen(parseScenario(json));
            setError('');
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        <label for="scenario-json">Scenario JSON</label>
        <textarea
          id="scenario-json"
          rows={10}
          value={json}
          onInput={(e) => setJson((e.target as HTMLTextAreaElement).value)}
        />
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
