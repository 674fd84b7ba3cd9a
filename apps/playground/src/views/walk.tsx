/** Walk explainer: a VA, an access and a privilege → index bits per level, each descriptor, PA or the exact fault. */
import type { AccessKind, PrivilegeLevel } from '@mmkit/core';
import { useState } from 'preact/hooks';
import type { WalkView } from '../worker/engine.js';
import { Fields } from './fields.js';

/** A walk request. */
export interface WalkQuery {
  readonly pid: number;
  readonly va: string;
  readonly access: AccessKind;
  readonly privilege: PrivilegeLevel;
}

const LEVEL_COLOURS = ['lv0', 'lv1', 'lv2', 'lv3', 'lv4'];

/** The VA in binary with each level's index bits coloured. */
function Bits({ w }: { w: WalkView }) {
  const width = w.binary.length;
  const spans: preact.JSX.Element[] = [];
  let pos = width - 1;
  const cls = (bit: number) => {
    const i = w.levels.findIndex((l) => bit <= l.hi && bit >= l.lo);
    return i < 0 ? (bit < (w.levels.at(-1)?.lo ?? 12) ? 'off' : 'top') : (LEVEL_COLOURS[i] ?? 'lv4');
  };
  while (pos >= 0) {
    const c = cls(pos);
    let end = pos;
    while (end - 1 >= 0 && cls(end - 1) === c) end--;
    spans.push(
      <span key={pos} class={`bits ${c}`} title={`bits [${pos}:${end}]`}>
        {w.binary.slice(width - 1 - pos, width - end)}
      </span>,
    );
    pos = end - 1;
  }
  return (
    <p class="binary" title="Virtual address bits, coloured by level">
      {spans}
    </p>
  );
}

/** The outcome of a walk. */
export function WalkOutcome({ w }: { w: WalkView }) {
  return (
    <div data-testid="walk-result">
      <Bits w={w} />
      <ol class="walk-levels">
        {w.levels.map((l, i) => (
          <li key={l.descriptorPa} class={LEVEL_COLOURS[i]}>
            <strong>{l.levelName}</strong> index VA{l.bits} = {l.index}: table <code>{l.tablePa}</code>,
            descriptor at <code>{l.descriptorPa}</code> = <code>{l.raw}</code> ({l.kind})
            <details>
              <summary>bits</summary>
              <Fields fields={l.fields} label={`${l.levelName} descriptor bits`} />
            </details>
          </li>
        ))}
      </ol>
      {w.check ? (
        <p data-testid="walk-check">
          Permission check: a {w.check.needs.replace(/ [rwx]$/, '')} {w.access} needs{' '}
          <code>{w.check.needs}</code>; the walk grants <code>{w.check.grants}</code> →{' '}
          <strong>{w.check.allowed ? 'allowed' : 'denied'}</strong>
        </p>
      ) : (
        <p data-testid="walk-check">No translation for any access: nothing to check permissions against.</p>
      )}
      {w.ok ? (
        <p class="ok" role="status">
          {w.privilege} {w.access} of <code>{w.va}</code> → PA <code data-testid="walk-pa">{w.pa}</code>
          {'; effective'} <code>{w.perms}</code> {w.memoryType}
        </p>
      ) : (
        <div class="fault" role="status">
          <p>
            <strong data-testid="walk-fault">
              {w.fault!.exception || 'fault'}: {w.fault!.kind} fault
              {w.fault!.level !== '—' ? ` at ${w.fault!.level}` : ''}
            </strong>{' '}
            — {w.fault!.syndromeRegister} = <code data-testid="walk-syndrome">{w.fault!.syndrome}</code>,{' '}
            {w.fault!.addressRegister} = <code>{w.fault!.address}</code>
          </p>
          <Fields fields={w.fault!.fields} label={`${w.fault!.syndromeRegister} fields`} />
        </div>
      )}
    </div>
  );
}

/** The walk form. */
export function WalkForm({
  pids,
  initial,
  onWalk,
}: {
  pids: readonly number[] | null;
  initial: WalkQuery;
  onWalk: (q: WalkQuery) => void;
}) {
  const [q, setQ] = useState(initial);
  return (
    <form
      class="walk-form"
      aria-label="Walk a virtual address"
      onSubmit={(e) => {
        e.preventDefault();
        onWalk(q);
      }}
    >
      {pids ? (
        <label>
          Process{' '}
          <select
            value={q.pid}
            onChange={(e) => setQ({ ...q, pid: Number((e.target as HTMLSelectElement).value) })}
          >
            {pids.map((p) => (
              <option key={p} value={p}>
                pid {p}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      <label>
        VA{' '}
        <input
          name="va"
          value={q.va}
          size={22}
          onInput={(e) => setQ({ ...q, va: (e.target as HTMLInputElement).value })}
        />
      </label>
      <label>
        Access{' '}
        <select
          name="access"
          value={q.access}
          onChange={(e) =>
            setQ({ ...q, access: Number((e.target as HTMLSelectElement).value) as AccessKind })
          }
        >
          <option value={0}>read</option>
          <option value={1}>write</option>
          <option value={2}>fetch</option>
        </select>
      </label>
      <label>
        Privilege{' '}
        <select
          name="privilege"
          value={q.privilege}
          onChange={(e) =>
            setQ({ ...q, privilege: Number((e.target as HTMLSelectElement).value) as PrivilegeLevel })
          }
        >
          <option value={0}>user</option>
          <option value={1}>kernel</option>
        </select>
      </label>
      <button type="submit">Walk</button>
    </form>
  );
}
