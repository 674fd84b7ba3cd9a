/**
 * The worker side of the protocol, independent of `self` so tests can drive it directly: holds the
 * engine, re-runs from boot to travel back in time, and answers requests.
 */
import { compare, Engine, ImportedState } from './engine.js';
import { ImportedImage } from './image.js';
import type { Request, Responses, Snapshot } from './protocol.js';
import { loadScenario, type ScenarioRef, scenarioText } from './scenario.js';

/** Handles requests; one instance per worker. */
export class Host {
  private engine: Engine | undefined;
  private imported: ImportedState | ImportedImage | undefined;

  private need(): Engine {
    if (!this.engine) throw new Error('no scenario is open');
    return this.engine;
  }

  private snapshot(started: number): Snapshot {
    const e = this.need();
    return {
      ref: e.ref,
      scenario: e.scenario,
      position: e.position,
      records: e.records,
      machine: e.machine(),
      processes: e.processes(),
      frames: e.frameMap(),
      swap: e.swap(),
      tlbs: e.tlbs(),
      elapsedMs: Math.round((performance.now() - started) * 10) / 10,
    };
  }

  private goto(ref: ScenarioRef, position: number): void {
    if (!this.engine || this.engine.ref !== ref || position < this.engine.position) {
      this.engine = new Engine(ref);
    }
    this.engine.runTo(position);
  }

  /**
   * Answers any request, also those answered asynchronously (`importImage`); rejects with a
   * readable message on bad input. A failed import leaves the previous one in place.
   */
  async answer<R extends Request>(req: R): Promise<Responses[R['type']]> {
    if (req.type === 'importImage') {
      const { type: _type, ...image } = req as Extract<Request, { type: 'importImage' }>;
      const loaded = await ImportedImage.load(image);
      this.imported = loaded;
      return loaded.view as Responses[R['type']];
    }
    return this.handle(req);
  }

  /** Answers one request; throws with a readable message on bad input. */
  handle<R extends Request>(req: R): Responses[R['type']] {
    const t0 = performance.now();
    const out = ((): unknown => {
      switch (req.type) {
        case 'open': {
          // A scenario that does not parse or boot leaves the open one as it was.
          const e = new Engine(req.ref);
          e.runTo(Math.max(0, req.position));
          this.engine = e;
          return this.snapshot(t0);
        }
        case 'goto':
          this.goto(this.need().ref, Math.max(0, Math.min(req.position, this.need().length)));
          return this.snapshot(t0);
        case 'append': {
          const e = this.need();
          const parsed = loadScenario(e.ref);
          const text = scenarioText({ ...parsed, steps: [...parsed.steps.slice(0, e.position), req.step] });
          const { example: _example, text: _text, ...overrides } = e.ref;
          // The kernel after the kept steps is the same on every run (deterministic): re-run them, then the new one.
          const next = new Engine({ ...overrides, text });
          next.runTo(next.length);
          this.engine = next;
          return this.snapshot(t0);
        }
        case 'nextFault': {
          const e = this.need();
          while (e.position < e.length) {
            const r = e.stepOnce();
            if (!r || r.faulted) break;
          }
          return this.snapshot(t0);
        }
        case 'walk':
          return this.need().walk(req.pid, req.va, req.access, req.privilege);
        case 'frame':
          return this.need().frameInfo(req.index) ?? null;
        case 'tables':
          return this.need().pageTables(req.pid);
        case 'kernelTables':
          return this.need().kernelTables();
        case 'compare':
          return compare(req.a, req.b);
        case 'export':
          return JSON.stringify(this.need().exportState(req.pid ?? undefined), null, 2);
        case 'import':
          this.imported = new ImportedState(req.text);
          return this.imported.view;
        case 'importImage':
          throw new Error('importImage is answered asynchronously: use answer()');
        case 'importedTable':
          if (!this.imported) throw new Error('import a translation-state export first');
          return this.imported.table(req.pa);
        case 'walkImported':
          if (!this.imported) throw new Error('import a translation-state export first');
          return this.imported.walk(req.va, req.access, req.privilege);
      }
    })();
    return out as Responses[R['type']];
  }
}
