/**
 * Machine view: the board's memory map and the physical frame map (canvas, zoomable with the wheel,
 * a pinch, the +/− buttons or the + − 0 keys), with frame details.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Client } from '../client.js';
import {
  clampView,
  ensureVisible,
  FRAME_COLOURS,
  FULL_VIEW,
  frameAtView,
  MAX_ZOOM,
  type MapView,
  mapSize,
  paintFrames,
  zoomAt,
} from '../frame-map.js';
import type { FrameInfo } from '../worker/engine.js';
import { FRAME_CODE_NAMES, FRAME_CODES } from '../worker/engine.js';
import type { Snapshot } from '../worker/protocol.js';
import { SwapPanel } from './swap.js';

/** The machine view. */
export function MachineView({ snap, client }: { snap: Snapshot; client: Client }) {
  const m = snap.machine;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [selected, setSelected] = useState(-1);
  const [info, setInfo] = useState<FrameInfo | null>(null);
  const frames = snap.frames.codes.length;
  const size = mapSize(frames);
  const [view, setView] = useState<MapView>(FULL_VIEW);
  // The whole map at one pixel per frame, off screen; the canvas shows a window of it, scaled up.
  const full = useRef<HTMLCanvasElement | null>(null);

  // A board of another size starts unzoomed.
  useEffect(() => setView(FULL_VIEW), [size.width, size.height]);

  const draw = useCallback((v: MapView) => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx || !full.current) return;
    if (v.zoom === 1) {
      ctx.drawImage(full.current, 0, 0);
      return;
    }
    // Nearest-neighbour scaling: each frame is a sharp square of `zoom` canvas pixels.
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = 'rgb(30,30,30)';
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.drawImage(full.current, v.x, v.y, c.width / v.zoom, c.height / v.zoom, 0, 0, c.width, c.height);
  }, []);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    full.current ??= document.createElement('canvas');
    const off = full.current;
    off.width = size.width;
    off.height = size.height;
    const octx = off.getContext('2d');
    if (!octx) return;
    const t0 = performance.now();
    const img = octx.createImageData(size.width, size.height);
    paintFrames(snap.frames.codes, img.data);
    octx.putImageData(img, 0, 0);
    draw(viewNow.current);
    c.dataset.paintMs = (performance.now() - t0).toFixed(2);
  }, [snap, size.width, size.height, draw]);

  const viewNow = useRef(view);
  viewNow.current = view;
  useEffect(() => {
    draw(view);
    if (canvas.current) canvas.current.dataset.zoom = String(view.zoom);
  }, [view, draw]);

  /** Canvas pixel coordinates of a client point. */
  const canvasPoint = (clientX: number, clientY: number): [number, number] => {
    const r = canvas.current!.getBoundingClientRect();
    return [((clientX - r.left) * size.width) / r.width, ((clientY - r.top) * size.height) / r.height];
  };
  const zoomBy = (factor: number, cx = size.width / 2, cy = size.height / 2) =>
    setView((v) => zoomAt(v, factor, cx, cy, size.width, size.height));
  const onWheel = (ev: WheelEvent) => {
    ev.preventDefault();
    // A trackpad pinch arrives as a wheel event with ctrlKey and small deltas.
    const factor = 2 ** (-ev.deltaY / (ev.ctrlKey ? 50 : 250));
    zoomBy(factor, ...canvasPoint(ev.clientX, ev.clientY));
  };
  // Touch pinch: the zoom follows the distance between two pointers.
  const touches = useRef(new Map<number, [number, number]>());
  const pinch = useRef(0);
  const onPointerDown = (ev: PointerEvent) => {
    if (ev.pointerType !== 'touch') return;
    touches.current.set(ev.pointerId, [ev.clientX, ev.clientY]);
    pinch.current = 0;
  };
  const onPointerMove = (ev: PointerEvent) => {
    if (ev.pointerType !== 'touch' || !touches.current.has(ev.pointerId)) return;
    touches.current.set(ev.pointerId, [ev.clientX, ev.clientY]);
    if (touches.current.size !== 2) return;
    const [[ax, ay], [bx, by]] = [...touches.current.values()] as [[number, number], [number, number]];
    const d = Math.hypot(ax - bx, ay - by);
    if (pinch.current > 0 && d > 0) zoomBy(d / pinch.current, ...canvasPoint((ax + bx) / 2, (ay + by) / 2));
    pinch.current = d;
  };
  const onPointerUp = (ev: PointerEvent) => {
    touches.current.delete(ev.pointerId);
    pinch.current = 0;
  };

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
      frameAtView(
        ev.clientX - r.left,
        ev.clientY - r.top,
        r.width,
        r.height,
        size.width,
        size.height,
        frames,
        clampView(view, size.width, size.height),
      ),
    );
  };
  const swapped = snap.frames.counts[FRAME_CODES.swapped] ?? 0;
  /** Selects the next frame just swapped out after the selected one (wrapping), and shows it. */
  const nextSwapped = () => {
    const codes = snap.frames.codes;
    let i = codes.indexOf(FRAME_CODES.swapped, selected + 1);
    if (i < 0) i = codes.indexOf(FRAME_CODES.swapped);
    if (i < 0) return;
    setSelected(i);
    setView((v) => ensureVisible(v, i, size.width, size.height));
  };
  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === 's') {
      ev.preventDefault();
      nextSwapped();
      return;
    }
    if (ev.key === '+' || ev.key === '=' || ev.key === '-' || ev.key === '0') {
      ev.preventDefault();
      if (ev.key === '0') setView(FULL_VIEW);
      else zoomBy(ev.key === '-' ? 0.5 : 2);
      return;
    }
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: size.width, ArrowUp: -size.width }[ev.key];
    if (step === undefined) return;
    ev.preventDefault();
    // The first key selects frame 0; later ones move by a frame or a row; the view follows.
    const next = selected < 0 ? 0 : Math.max(0, Math.min(frames - 1, selected + step));
    setSelected(next);
    setView((v) => ensureVisible(v, next, size.width, size.height));
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
          <fieldset class="zoom">
            <legend class="sr-only">Frame map zoom</legend>
            <button
              type="button"
              aria-label="Zoom in (+)"
              onClick={() => zoomBy(2)}
              disabled={view.zoom >= MAX_ZOOM}
            >
              +
            </button>
            <button
              type="button"
              aria-label="Zoom out (-)"
              onClick={() => zoomBy(0.5)}
              disabled={view.zoom <= 1}
            >
              −
            </button>
            <button
              type="button"
              aria-label="Whole map (0)"
              onClick={() => setView(FULL_VIEW)}
              disabled={view.zoom <= 1}
            >
              0
            </button>{' '}
            <span data-testid="zoom">
              {view.zoom === 1 ? 'whole map' : `×${Math.round(view.zoom * 10) / 10}`}
            </span>
          </fieldset>{' '}
          <button type="button" onClick={nextSwapped} disabled={swapped === 0}>
            Next swapped-out frame (s)
          </button>
          <canvas
            ref={canvas}
            id="frame-map"
            width={size.width}
            height={size.height}
            tabIndex={0}
            role="img"
            style={{ touchAction: 'none' }}
            aria-label={`Physical frame map, ${frames} frames${swapped > 0 ? `, ${swapped} just swapped out` : ''}; arrow keys select a frame${swapped > 0 ? ', s the next swapped-out one' : ''}, + and - zoom, 0 shows the whole map`}
            onMouseMove={pick}
            onClick={pick}
            onKeyDown={onKey}
            onWheel={onWheel}
            onPointerDown={onPointerDown}
            onPointerMove={onPointerMove}
            onPointerUp={onPointerUp}
            onPointerCancel={onPointerUp}
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
                {info.swappedTo ? (
                  <>
                    <dt>swapped out to</dt>
                    <dd data-testid="frame-swapped-to">{info.swappedTo}</dd>
                  </>
                ) : null}
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
      <SwapPanel swap={snap.swap} />
    </section>
  );
}
