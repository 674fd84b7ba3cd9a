/**
 * Swap panel of the machine view: per swap device its slots (header, free, used, cached) as a
 * compact grid — the slot in focus named with its count and the swap PTEs that name it (which
 * process, which page; `kernel.swapSlots`) —, the swap cache, the reclaim counters
 * (/proc/vmstat), the watermarks against the free frames, and the kernel's reclaim policy
 * (eviction order, clock hand, referenced frames).
 */
import { useState } from 'preact/hooks';
import {
  SLOT_CODE_NAMES,
  SLOTS_SHOWN,
  type SlotDetail,
  type SwapDeviceView,
  type SwapView,
} from '../worker/engine.js';

/** Slot colours by code (header, free, used, cached). */
const SLOT_COLOURS = ['rgb(120,120,120)', 'rgb(198,222,200)', 'rgb(52,120,219)', 'rgb(231,76,60)'];

/** The swap panel. */
export function SwapPanel({ swap }: { swap: SwapView }) {
  const s = swap.vmstat;
  const w = swap.watermarks;
  const p = swap.policy;
  return (
    <section aria-labelledby="swap-h" class="swap" data-testid="swap-panel">
      <h3 id="swap-h">Swap and reclaim</h3>
      {swap.devices.length === 0 ? (
        <p data-testid="swap-none">No swap device (a scenario's swapon step adds one).</p>
      ) : (
        swap.devices.map((d) => (
          <div key={d.type} class="swap-device">
            <p>
              <strong>{d.name}</strong> (type {d.type}, priority {d.priority}):{' '}
              <span data-testid={`swap-used-${d.type}`}>{d.used}</span> of {d.usable} slots used,{' '}
              <span data-testid={`swap-cached-${d.type}`}>{d.cached}</span> also in the swap cache
            </p>
            <ul class="legend" aria-label="Slot colours">
              {SLOT_CODE_NAMES.map((name, i) => (
                <li key={name}>
                  <span class="swatch" style={{ background: SLOT_COLOURS[i] }} />
                  {name}
                </li>
              ))}
            </ul>
            <SlotGrid device={d} />
            {d.slots.length > SLOTS_SHOWN ? (
              <p>
                (first {SLOTS_SHOWN} of {d.slots.length} slots)
              </p>
            ) : null}
          </div>
        ))
      )}
      <dl class="swap-stats" data-testid="swap-stats">
        <dt>swap cache</dt>
        <dd>{swap.swapCache} frames</dd>
        <dt>pswpin / pswpout</dt>
        <dd data-testid="swap-pswp">
          {s.pswpin} / {s.pswpout}
        </dd>
        <dt>pgscan kswapd / direct</dt>
        <dd>
          {s.pgscanKswapd} / {s.pgscanDirect}
        </dd>
        <dt>pgsteal kswapd / direct</dt>
        <dd>
          {s.pgstealKswapd} / {s.pgstealDirect}
        </dd>
        <dt>allocstall / pageoutrun</dt>
        <dd>
          {s.allocstall} / {s.pageoutrun}
        </dd>
        <dt>free frames</dt>
        <dd data-testid="swap-watermarks">
          {swap.freeFrames} — watermarks min {w.min}, low {w.low}, high {w.high} (
          {swap.freeFrames <= w.min
            ? 'at or below min: faults reclaim directly'
            : swap.freeFrames < w.low
              ? 'below low: kswapd wakes'
              : swap.freeFrames < w.high
                ? 'between low and high'
                : 'above high'}
          )
        </dd>
      </dl>
      {p ? (
        <div data-testid="swap-policy">
          <p>
            Reclaim policy <strong>{p.name}</strong>: {p.size} frames tracked
            {p.lists.length > 1 ? ` (${p.lists.map((l) => `${l.name} ${l.length}`).join(', ')})` : ''}
            {p.values.length > 0 ? `; ${p.values.map((v) => `${v.name} = ${v.value}`).join(', ')}` : ''}.
            {p.hand >= 0 ? ' The clock hand is marked.' : ''} Eviction order
            {p.order.length < p.size ? ` (first ${p.order.length})` : ''}; referenced frames in bold:
          </p>
          <ol class="policy-order" aria-label={`${p.name} eviction order`}>
            {p.order.map((pa, i) => (
              <li key={pa}>
                {p.referenced.includes(pa) ? (
                  <strong>
                    <code>{pa}</code> (referenced)
                  </strong>
                ) : (
                  <code>{pa}</code>
                )}
                {i === p.hand ? ' ← hand' : ''}
              </li>
            ))}
          </ol>
        </div>
      ) : null}
    </section>
  );
}

/**
 * A device's slots as a compact grid: a listbox, so the keyboard reaches it (arrow keys, Home,
 * End) and a screen reader names the slot in focus.
 */
function SlotGrid({ device: d }: { device: SwapDeviceView }) {
  const [at, setAt] = useState(0);
  const shown = Math.min(SLOTS_SHOWN, d.slots.length);
  const cur = Math.min(at, shown - 1);
  const id = (i: number) => `swap-${d.type}-slot-${i}`;
  const byOffset = new Map(d.details.map((x) => [x.offset, x]));
  const describe = (i: number) => slotText(i, SLOT_CODE_NAMES[d.slots[i]!]!, byOffset.get(i));
  const onKey = (ev: KeyboardEvent) => {
    const next = {
      ArrowRight: cur + 1,
      ArrowDown: cur + 32,
      ArrowLeft: cur - 1,
      ArrowUp: cur - 32,
      Home: 0,
      End: shown - 1,
    }[ev.key];
    if (next === undefined) return;
    ev.preventDefault();
    setAt(Math.max(0, Math.min(shown - 1, next)));
  };
  return (
    <>
      <div
        class="slot-grid"
        role="listbox"
        tabIndex={0}
        data-testid={`swap-slots-${d.type}`}
        aria-activedescendant={id(cur)}
        aria-label={`Slots of ${d.name}: ${d.used} used, ${d.cached} cached, ${d.usable - d.used} free of ${d.usable} (slot 0 is the header)`}
        onKeyDown={onKey}
      >
        {Array.from(d.slots.subarray(0, shown), (code, i) => (
          <span
            key={i}
            id={id(i)}
            role="option"
            tabIndex={-1}
            aria-selected={i === cur}
            aria-label={describe(i)}
            class={i === cur ? 'slot current' : 'slot'}
            data-code={code}
            title={describe(i)}
            style={{ background: SLOT_COLOURS[code] }}
          />
        ))}
      </div>
      <p aria-live="polite" data-testid={`swap-slot-${d.type}`}>
        {describe(cur)}
      </p>
    </>
  );
}

/**
 * A slot as text: `slot 3: free` for a free slot or the header; for one in use, also its count of
 * swap PTEs, whose they are, and its swap-cache frame.
 */
export function slotText(offset: number, name: string, d: SlotDetail | undefined): string {
  if (d === undefined) return `slot ${offset}: ${name}`;
  const ptes =
    d.count === 0
      ? 'no swap PTE'
      : `${d.count} swap PTE${d.count === 1 ? '' : 's'}${d.ptes.length ? ` (${d.ptes.join(', ')})` : ''}`;
  return `slot ${offset}: ${name}, ${ptes}${d.frame ? `, in the swap cache at ${d.frame}` : ''}`;
}
