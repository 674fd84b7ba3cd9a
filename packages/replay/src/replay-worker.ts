/**
 * The worker-thread side of `missRatios`: receives the shared trace once, then runs the jobs it
 * is given one at a time, reporting progress and results (messages: `replay-jobs.ts`).
 */
import { parentPort } from 'node:worker_threads';
import type { CompactTrace } from './compact-trace.js';
import { type ReplayJobSettings, runReplayJob, type WorkerReply, type WorkerRequest } from './replay-jobs.js';

const port = parentPort;
if (port === null) throw new Error('replay-worker.js runs only as a worker thread');

let trace: CompactTrace | undefined;
let settings: ReplayJobSettings = {};
const reply = (m: WorkerReply) => port.postMessage(m);

port.on('message', (m: WorkerRequest) => {
  try {
    if (m.type === 'init') {
      trace = {
        ids: m.ids,
        length: m.length,
        distinct: m.distinct,
        keys: new Float64Array(0),
        ...(m.runs === undefined ? {} : { runs: m.runs }),
      };
      settings = m.settings;
      return;
    }
    if (trace === undefined) throw new Error('job before init');
    const results = runReplayJob(trace, m.spec, settings, (refs) => reply({ type: 'progress', refs }));
    reply({ type: 'result', job: m.job, results });
  } catch (e) {
    reply({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
});
