/** Machine view: the board's memory map and the physical frame map (canvas), with frame details. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Client } from '../client.js';
import { FRAME_COLOURS, frameAt, mapSize, paintFrames } from '../frame-map.js';
import type { FrameInfo } from '../worker/engine.js';
import { FRAME_CODE_NAMES } from '../worker/engine.js';
import type { Snapshot } from '../worker/protocol.js';

/** The machine view. */
export function MachineView({ snap, client }: { snap: Snapshot; client: Client }) {
  const m = snap.machine;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [selected, setSelected] = useState(-1);
  const [info, setInfo] = useState<FrameInfo | null>(null);
  const frames = snap.frames.codes.length;
  const size = mapSize(frames);

  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const t0 = performance.now();
    const img = ctx.createImageData(size.width, size.height);
    paintFrames(snap.frames.codes, img.data);
    ctx.putImageData(img, 0, 0);
    c.dataset.paintMs = (performance.now() - t0).toFixed(2);
  }, [snap, size.width, size.height]);

  // Hovering sweeps over thousands of frames a second: ask the worker about one frame at a time,
  // always the latest one pointed at (frames passed over meanwhile are never asked about).
  const asking = useRef(false);
  const wanted = useRef(-1);
  // Set when the state changed under the frame being asked about (a new snapshot).
  const stale = useRef(false);
  const ask = useCallback(() => {
    if (asking.current) return;
    const index = wanted.current;
    stale.current = false;
    if (index < 0) {
      setInfo(null);
      return;
    }
    asking.current = true;
    client
      .call({ type: 'frame', index })
      .then((v) => {
        if (wanted.current === index && !stale.current) setInfo(v);
      })
      .finally(() => {
        asking.current = false;
        if (wanted.current !== index || stale.current) ask();
      });
  }, [client]);
  useEffect(() => {
    wanted.current = selected;
    stale.current = true;
    ask();
  }, [selected, snap, ask]);

  const pick = (ev: MouseEvent) => {
    const c = canvas.current!;
    const r = c.getBoundingClientRect();
    setSelected(
      frameAt(ev.clientX - r.left, ev.clientY - r.top, r.width, r.height, size.width, size.height, frames),
    );
  };
  const onKey = (ev: KeyboardEvent) => {
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: size.width, ArrowUp: -size.width }[ev.key];
    if (step === undefined) return;
    ev.preventDefault();
    // The first key selects frame 0; later ones move by a frame or a row.
    setSelected((s) => (s < 0 ? 0 : Math.max(0, Math.min(frames - 1, s + step))));
  };

  return (
    <section aria-labelledby="machine-h" class="view">
      <h2 id="machine-h">Machine</h2>
      <p>
        <strong>{m.boardName}</strong> — {m.archName}; {m.cpus} CPUs; {m.freeFrames} of {m.totalFrames} frames
        free (after boot: {m.baselineFree}).
      </p>
      <div class="cols">
        <div>
          <h3>Frame map</h3>
          <ul class="legend" aria-label="Frame colours">
            {FRAME_CODE_NAMES.map((name, i) => (
              <li key={name}>
                <span class="swatch" style={{ background: `rgb(${FRAME_COLOURS[i]!.join(',')})` }} />
                {name}: {snap.frames.counts[i]}
              </li>
            ))}
          </ul>
          <canvas
            ref={canvas}
            id="frame-map"
            width={size.width}
            height={size.height}
            tabIndex={0}
            role="img"
            aria-label={`Physical frame map, ${frames} frames, one pixel each; arrow keys select a frame`}
            onMouseMove={pick}
            onClick={pick}
            onKeyDown={onKey}
          />
          <div aria-live="polite" class="frame-info" data-testid="frame-info">
            {info ? (
              <dl>
                <dt>frame</dt>
                <dd>
                  #{info.index} at PA {info.pa}
                </dd>
                <dt>state</dt>
                <dd>{info.state}</dd>
                <dt>owner</dt>
                <dd>{info.owner}</dd>
                <dt>refcount</dt>
                <dd>{info.refCount}</dd>
                {info.reason ? (
                  <>
                    <dt>reserved for</dt>
                    <dd>{info.reason}</dd>
                  </>
                ) : null}
                <dt>mapped by</dt>
                <dd>{info.mappedBy.length ? info.mappedBy.join('; ') : 'no PTE'}</dd>
              </dl>
            ) : (
              <p>Point at a frame (or focus the map and use the arrow keys).</p>
            )}
          </div>
        </div>
        <div>
          <h3>Memory map</h3>
          <table>
            <thead>
              <tr>
                <th scope="col">start</th>
                <th scope="col">end</th>
                <th scope="col">what</th>
              </tr>
            </thead>
            <tbody>
              {m.memoryMap.map((r) => (
                <tr key={`${r.start}-${r.what}`}>
                  <td>
                    <code>{r.start}</code>
                  </td>
                  <td>
                    <code>{r.end}</code>
                  </td>
                  <td>{r.what}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}
