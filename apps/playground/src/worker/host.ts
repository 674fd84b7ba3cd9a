/**
 * The worker side of the protocol, independent of `self` so tests can drive it directly: holds the
 * engine, re-runs from boot to travel back in time, and answers requests.
 */
import { compare, Engine, ImportedState } from './engine.js';
import type { Request, Responses, Snapshot } from './protocol.js';
import { parseScenarioObject, type Scenario } from './scenario.js';

/** Handles requests; one instance per worker. */
export class Host {
  private engine: Engine | undefined;
  private imported: ImportedState | undefined;

  private need(): Engine {
    if (!this.engine) throw new Error('no scenario is open');
    return this.engine;
  }

  private snapshot(started: number): Snapshot {
    const e = this.need();
    return {
      scenario: e.scenario,
      position: e.position,
      records: e.records,
      machine: e.machine(),
      processes: e.processes(),
      frames: e.frameMap(),
      tlbs: e.tlbs(),
      elapsedMs: Math.round((performance.now() - started) * 10) / 10,
    };
  }

  private goto(scenario: Scenario, position: number): void {
    if (!this.engine || this.engine.scenario !== scenario || position < this.engine.position) {
      this.engine = new Engine(scenario);
    }
    this.engine.runTo(position);
  }

  /** Answers one request; throws with a readable message on bad input. */
  handle<R extends Request>(req: R): Responses[R['type']] {
    const t0 = performance.now();
    const out = ((): unknown => {
      switch (req.type) {
        case 'open': {
          const s = parseScenarioObject(req.scenario);
          this.engine = undefined;
          this.goto(s, Math.max(0, req.position));
          return this.snapshot(t0);
        }
        case 'goto':
          this.goto(
            this.need().scenario,
            Math.max(0, Math.min(req.position, this.need().scenario.steps.length)),
          );
          return this.snapshot(t0);
        case 'append': {
          const e = this.need();
          const s: Scenario = { ...e.scenario, steps: [...e.scenario.steps.slice(0, e.position), req.step] };
          parseScenarioObject(s);
          // The kernel after the kept steps is the same on every run (deterministic): re-run them, then the new one.
          this.engine = new Engine(s);
          this.engine.runTo(s.steps.length);
          return this.snapshot(t0);
        }
        case 'nextFault': {
          const e = this.need();
          const total = e.scenario.steps.length;
          while (e.position < total) {
            const r = e.apply(e.scenario.steps[e.position]!);
            if (r.faulted) break;
          }
          return this.snapshot(t0);
        }
        case 'walk':
          return this.need().walk(req.pid, req.va, req.access, req.privilege);
        case 'frame':
          return this.need().frameInfo(req.index) ?? null;
        case 'tables':
          return this.need().pageTables(req.pid);
        case 'compare':
          return compare(parseScenarioObject(req.a), parseScenarioObject(req.b));
        case 'export':
          return JSON.stringify(this.need().exportState(req.pid ?? undefined), null, 2);
        case 'import':
          this.imported = new ImportedState(req.text);
          return this.imported.view;
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
