/**
 * What the browser build gets for the Node built-ins that `@mmkit/replay`'s file readers and
 * worker pool import (`node:fs`, `node:zlib`, `node:worker_threads`, …). The playground uses only
 * the policies (pure code); the readers and the pool are tree-shaken away, and anything that did
 * reach one of these would fail with this message instead of a missing-export error at build time.
 */
function unavailable(name: string): never {
  throw new Error(`${name} is a Node built-in; the playground runs in a browser`);
}

/** node:fs */
export const createReadStream = (): never => unavailable('fs.createReadStream');
/** node:fs/promises */
export const open = (): never => unavailable('fs.open');
/** node:zlib */
export const createGunzip = (): never => unavailable('zlib.createGunzip');
/** node:module */
export const createRequire = (): never => unavailable('module.createRequire');
/** node:os */
export const availableParallelism = (): never => unavailable('os.availableParallelism');
/** node:url */
export const pathToFileURL = (): never => unavailable('url.pathToFileURL');
/** node:worker_threads */
export class Worker {
  constructor() {
    unavailable('worker_threads.Worker');
  }
}
/** node:worker_threads */
export const parentPort = null;
